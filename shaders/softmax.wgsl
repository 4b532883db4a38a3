// Softmax family over the last axis of a [rows, len] view, numerically stable (the row max is
// subtracted first). `log` selects log-softmax: x - max - ln(sum(exp(x - max))).
// `softmax_rows`: one invocation per row (many rows). `softmax_wg`: one 64-wide workgroup per
// row with shared-memory tree reductions (few, long rows).

struct Params {
    rows: u32, len: u32, log: u32, _p0: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<storage, read> g: array<f32>;

fn lin(gid: vec3<u32>, nwg: vec3<u32>) -> u32 { return linear_index(gid, nwg, 64u); }

fn write_row(base: u32, first: u32, stride: u32, m: f32, s: f32) {
    let ls = log(s);
    let inv = 1.0 / s;
    for (var j = first; j < p.len; j += stride) {
        let d = x[base + j] - m;
        out[base + j] = select(exp(d) * inv, d - ls, p.log != 0u);
    }
}

@compute @workgroup_size(64)
fn softmax_rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let r = lin(gid, nwg);
    if r >= p.rows { return; }
    let base = r * p.len;
    var m = x[base];
    for (var j = 1u; j < p.len; j++) { m = max(m, x[base + j]); }
    var s = 0.0;
    for (var j = 0u; j < p.len; j++) { s += exp(x[base + j] - m); }
    write_row(base, 0u, 1u, m, s);
}

@compute @workgroup_size(64)
fn softmax_wg(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,
              @builtin(num_workgroups) nwg: vec3<u32>) {
    let r = wid.x + wid.y * nwg.x;
    if r >= p.rows { return; }
    let l = lid.x;
    let base = r * p.len;
    var m = x[base];
    for (var j = l; j < p.len; j += 64u) { m = max(m, x[base + j]); }
    m = workgroup_reduce(l, m, true);
    var s = 0.0;
    for (var j = l; j < p.len; j += 64u) { s += exp(x[base + j] - m); }
    s = workgroup_reduce(l, s, false);
    write_row(base, l, 64u, m, s);
}

// Σ g·y (softmax) or Σ g (log-softmax) over the strided part of a row.
fn grad_dot(base: u32, first: u32, stride: u32) -> f32 {
    var s = 0.0;
    for (var j = first; j < p.len; j += stride) {
        s += select(g[base + j] * x[base + j], g[base + j], p.log != 0u);
    }
    return s;
}

fn grad_row(base: u32, first: u32, stride: u32, s: f32) {
    for (var j = first; j < p.len; j += stride) {
        let y = x[base + j];
        let gj = g[base + j];
        out[base + j] = select(y * (gj - s), gj - exp(y) * s, p.log != 0u);
    }
}

@compute @workgroup_size(64)
fn softmax_grad_rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let r = lin(gid, nwg);
    if r >= p.rows { return; }
    let base = r * p.len;
    grad_row(base, 0u, 1u, grad_dot(base, 0u, 1u));
}

@compute @workgroup_size(64)
fn softmax_grad_wg(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,
                   @builtin(num_workgroups) nwg: vec3<u32>) {
    let r = wid.x + wid.y * nwg.x;
    if r >= p.rows { return; }
    let base = r * p.len;
    let s = workgroup_reduce(lid.x, grad_dot(base, lid.x, 64u), false);
    grad_row(base, lid.x, 64u, s);
}
