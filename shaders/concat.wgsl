// Concat family: copies one input, viewed as [outer, chunk], into columns
// [offset, offset + chunk) of the output viewed as [outer, out_chunk] (one dispatch per input).

struct Params {
    n: u32, chunk: u32, out_chunk: u32, offset: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

// Each invocation copies 4 consecutive input elements (one division for all four).
@compute @workgroup_size(256)
fn concat_copy(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t0 = (gid.x + gid.y * nwg.x * 256u) * 4u;
    if t0 >= p.n { return; }
    var o = t0 / p.chunk;
    var r = t0 - o * p.chunk;
    for (var t = t0; t < min(t0 + 4u, p.n); t++) {
        out[o * p.out_chunk + p.offset + r] = x[t];
        r += 1u;
        if r == p.chunk {
            r = 0u;
            o += 1u;
        }
    }
}
