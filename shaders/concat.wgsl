// Concat family: copies one input, viewed as [outer, chunk], into columns
// [offset, offset + chunk) of the output viewed as [outer, out_chunk] (one dispatch per input).

struct Params {
    n: u32, chunk: u32, out_chunk: u32, offset: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn concat_copy(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = gid.x + gid.y * nwg.x * 256u;
    if t >= p.n { return; }
    let o = t / p.chunk;
    out[o * p.out_chunk + p.offset + (t - o * p.chunk)] = x[t];
}

// Slice: copies columns [offset, offset + chunk) of x viewed as [outer, out_chunk] into the
// output viewed as [outer, chunk] (here `out_chunk` is the input's row length).
@compute @workgroup_size(256)
fn slice_copy(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = gid.x + gid.y * nwg.x * 256u;
    if t >= p.n { return; }
    let o = t / p.chunk;
    out[t] = x[o * p.out_chunk + p.offset + (t - o * p.chunk)];
}
