// Group-normalization family (LayerNormalization, GroupNormalization, InstanceNormalization).
// x is viewed as [n, s, g, cg] (c = g·cg channels per row of s rows per example); statistics
// (mean, biased variance: the mean of squared deviations, two passes) per (example, group)
// over its s·cg elements; y = (x − mean)/√(var + ε) · gamma[ch] + beta[ch] with ch = group·cg + k.
//   group_norm               one 64-wide workgroup per (example, group): y, mean and var.
//   gn_grad_dx               one workgroup per (example, group): the fused input gradient
//                            dx = r · (d − mean(d) − x̂ · mean(d · x̂)), d = dy · gamma, r = 1/√(var + ε).
//   gn_grad_param_partial    per (channel, chunk of rows): partial Σ dy and Σ dy · x̂.
//   gn_grad_param_final      per channel: d beta = Σ dy, d gamma = Σ dy · x̂.

struct GnParams {
    groups_total: u32, s: u32, c: u32, cg: u32,
    g: u32, flags: u32, eps: f32, count: f32,
    rows: u32, chunk: u32, nchunks: u32, _p0: u32,
}

@group(0) @binding(0) var<uniform> p: GnParams;

// The flat index of element k (of s·cg) of the group ng = example · g + group.
fn element(ng: u32, k: u32) -> u32 {
    let n = ng / p.g;
    let grp = ng % p.g;
    return (n * p.s + k / p.cg) * p.c + grp * p.cg + k % p.cg;
}

// The channel of element k of any group of example-group ng.
fn channel(ng: u32, k: u32) -> u32 { return (ng % p.g) * p.cg + k % p.cg; }

// The (example, group) a workgroup owns (uniform across it).
fn group_id(wid: vec3<u32>, nwg: vec3<u32>) -> u32 { return wid.x + wid.y * nwg.x; }

@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;

// gamma[ch], or 1 without gamma (flags: bit 0 = has beta, bit 1 = has gamma).
fn scale_at(ch: u32) -> f32 {
    if (p.flags & 2u) != 0u { return gamma[ch]; }
    return 1.0;
}

@group(0) @binding(3) var<storage, read> beta: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<storage, read_write> mean_out: array<f32>;
@group(0) @binding(6) var<storage, read_write> var_out: array<f32>;

@compute @workgroup_size(64)
fn group_norm(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,
              @builtin(num_workgroups) nwg: vec3<u32>) {
    let ng = group_id(wid, nwg);
    if ng >= p.groups_total { return; }
    let l = lid.x;
    let total = p.s * p.cg;
    var acc = 0.0;
    for (var k = l; k < total; k += 64u) { acc += x[element(ng, k)]; }
    let m = workgroup_reduce(l, acc, false) / p.count;
    acc = 0.0;
    for (var k = l; k < total; k += 64u) {
        let d = x[element(ng, k)] - m;
        acc += d * d;
    }
    let v = workgroup_reduce(l, acc, false) / p.count;
    if l == 0u {
        mean_out[ng] = m;
        var_out[ng] = v;
    }
    let r = 1.0 / sqrt(v + p.eps);
    for (var k = l; k < total; k += 64u) {
        let i = element(ng, k);
        let ch = channel(ng, k);
        var b = 0.0;
        if (p.flags & 1u) != 0u { b = beta[ch]; }
        out[i] = (x[i] - m) * r * scale_at(ch) + b;
    }
}

@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read> smean: array<f32>;
@group(0) @binding(5) var<storage, read> svar: array<f32>;
@group(0) @binding(6) var<storage, read_write> dst: array<f32>;

@compute @workgroup_size(64)
fn gn_grad_dx(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,
              @builtin(num_workgroups) nwg: vec3<u32>) {
    let ng = group_id(wid, nwg);
    if ng >= p.groups_total { return; }
    let l = lid.x;
    let total = p.s * p.cg;
    let m = smean[ng];
    let r = 1.0 / sqrt(svar[ng] + p.eps);
    var sd = 0.0;
    var sdx = 0.0;
    for (var k = l; k < total; k += 64u) {
        let i = element(ng, k);
        let d = dy[i] * scale_at(channel(ng, k));
        sd += d;
        sdx += d * (x[i] - m) * r;
    }
    let md = workgroup_reduce(l, sd, false) / p.count;
    let mdx = workgroup_reduce(l, sdx, false) / p.count;
    for (var k = l; k < total; k += 64u) {
        let i = element(ng, k);
        let d = dy[i] * scale_at(channel(ng, k));
        dst[i] = r * (d - md - (x[i] - m) * r * mdx);
    }
}

@group(0) @binding(2) var<storage, read> pdy: array<f32>;
@group(0) @binding(3) var<storage, read> pmean: array<f32>;
@group(0) @binding(4) var<storage, read> pvar: array<f32>;
@group(0) @binding(5) var<storage, read_write> pparts: array<f32>;

@compute @workgroup_size(64)
fn gn_grad_param_partial(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = linear_index(gid, nwg, 64u);
    if id >= p.c * p.nchunks { return; }
    let ch = id % p.c;
    let part = id / p.c;
    let r0 = part * p.chunk;
    let r1 = min(r0 + p.chunk, p.rows);
    let grp = ch / p.cg;
    var sg = 0.0;
    var sgx = 0.0;
    for (var row = r0; row < r1; row++) {
        let ng = (row / p.s) * p.g + grp;
        let i = row * p.c + ch;
        let g = pdy[i];
        sg += g;
        sgx += g * (x[i] - pmean[ng]) / sqrt(pvar[ng] + p.eps);
    }
    pparts[id] = sg;
    pparts[p.c * p.nchunks + id] = sgx;
}

@group(0) @binding(1) var<storage, read> fparts: array<f32>;
@group(0) @binding(2) var<storage, read_write> fdgamma: array<f32>;
@group(0) @binding(3) var<storage, read_write> fdbeta: array<f32>;

@compute @workgroup_size(64)
fn gn_grad_param_final(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let ch = linear_index(gid, nwg, 64u);
    if ch >= p.c { return; }
    var sg = 0.0;
    var sgx = 0.0;
    for (var j = 0u; j < p.nchunks; j++) {
        sg += fparts[j * p.c + ch];
        sgx += fparts[(p.nchunks + j) * p.c + ch];
    }
    fdbeta[ch] = sg;
    fdgamma[ch] = sgx;
}
