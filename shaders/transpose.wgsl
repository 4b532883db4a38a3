// Batched 2-D transpose: out[b, c, r] = x[b, r, c] for x of shape [batch, rows, cols].

struct Params {
    batch: u32, rows: u32, cols: u32, _p: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn transpose2d(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 64u;
    let per = p.rows * p.cols;
    if i >= p.batch * per { return; }
    let b = i / per;
    let k = i % per;
    let r = k % p.rows;
    let c = k / p.rows;
    out[i] = x[b * per + r * p.cols + c];
}
