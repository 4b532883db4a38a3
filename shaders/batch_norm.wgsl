// Batch-norm family: axis reductions for tf.nn.moments and global pooling, and the fused
// tf.nn.batch_normalization.
//
// Reductions view the input through merged axis groups: up to 4 kept groups (kdim, kstr) that
// index the outputs, and up to 4 reduced groups (rdim, rstr) whose last group is split into
// chunks. Pass 1 (reduce_partial) has one invocation per (output, leading reduced index,
// chunk) writing a partial; pass 2 (reduce_final) combines an output's partials and divides.
// Outputs are the fastest index, so neighbouring invocations read neighbouring channels.
// OP: 0 = mean, 1 = max, 2 = mean of squared deviations from aux[output] (the biased
// variance given the mean: never E[x^2] - E[x]^2).
//   batch_norm / batch_norm4: act((x - mean) * scale / sqrt(var + eps) + offset) per channel,
//   `act` an optional fused activation (e.g. Keras's BatchNormalization followed by ReLU).

override OP: u32 = 0u;

struct ReduceParams {
    outs: u32, nk: u32, nr: u32, chunk: u32,
    nchunks: u32, parts: u32, count: f32, _p0: u32,
    kdim: vec4<u32>, kstr: vec4<u32>, rdim: vec4<u32>, rstr: vec4<u32>,
}

@group(0) @binding(0) var<uniform> rp: ReduceParams;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read> aux: array<f32>;
@group(0) @binding(3) var<storage, read_write> dst: array<f32>;

// Input offset of output `o` plus leading reduced index `q`.
fn base_offset(o: u32, q: u32) -> u32 {
    var base = 0u;
    var r = o;
    for (var i = i32(rp.nk) - 1; i >= 0; i--) {
        base += (r % rp.kdim[i]) * rp.kstr[i];
        r = r / rp.kdim[i];
    }
    r = q;
    for (var i = i32(rp.nr) - 2; i >= 0; i--) {
        base += (r % rp.rdim[i]) * rp.rstr[i];
        r = r / rp.rdim[i];
    }
    return base;
}

@compute @workgroup_size(64)
fn reduce_partial(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = gid.x + gid.y * nwg.x * 64u;
    if id >= rp.outs * rp.parts { return; }
    let o = id % rp.outs;
    let j = id / rp.outs;
    let last = rp.nr - 1u;
    let len = rp.rdim[last];
    let st = rp.rstr[last];
    let base = base_offset(o, j / rp.nchunks);
    let t0 = (j % rp.nchunks) * rp.chunk;
    let t1 = min(t0 + rp.chunk, len);
    var m = 0.0;
    if OP == 2u { m = aux[o]; }
    var acc = 0.0;
    if OP == 1u { acc = src[base + t0 * st]; }
    for (var t = t0; t < t1; t++) {
        let v = src[base + t * st];
        if OP == 0u {
            acc += v;
        } else if OP == 1u {
            acc = max_nan(acc, v);
        } else {
            let d = v - m;
            acc += d * d;
        }
    }
    dst[id] = acc;
}

@compute @workgroup_size(64)
fn reduce_final(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let o = gid.x + gid.y * nwg.x * 64u;
    if o >= rp.outs { return; }
    var acc = src[o];
    for (var j = 1u; j < rp.parts; j++) {
        let v = src[j * rp.outs + o];
        if OP == 1u { acc = max_nan(acc, v); } else { acc += v; }
    }
    if OP != 1u { acc = acc / rp.count; }
    if o == 0xffffffffu { acc = aux[0]; } // keeps `aux` in this entry's layout
    dst[o] = acc;
}

struct BnParams {
    total: u32, c: u32, flags: u32, eps: f32,
}

@group(0) @binding(0) var<uniform> bp: BnParams;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> mean: array<f32>;
@group(0) @binding(3) var<storage, read> variance: array<f32>;
@group(0) @binding(4) var<storage, read> offset: array<f32>;
@group(0) @binding(5) var<storage, read> scale: array<f32>;
@group(0) @binding(6) var<storage, read_write> out: array<f32>;

// Vec4 views for batch_norm4 (c % 4 == 0).
@group(0) @binding(1) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> mean4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> variance4: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> offset4: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> scale4: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> out4: array<vec4<f32>>;

// flags: bit 0 = has offset, bit 1 = has scale; bits 2.. = the fused activation's code.
@compute @workgroup_size(256)
fn batch_norm(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = gid.x + gid.y * nwg.x * 256u;
    if id >= bp.total { return; }
    let ch = id % bp.c;
    var k = 1.0 / sqrt(variance[ch] + bp.eps);
    if (bp.flags & 2u) != 0u { k *= scale[ch]; }
    var b = 0.0;
    if (bp.flags & 1u) != 0u { b = offset[ch]; }
    out[id] = apply_activation((x[id] - mean[ch]) * k + b, bp.flags >> 2u);
}

@compute @workgroup_size(256)
fn batch_norm4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = gid.x + gid.y * nwg.x * 256u;
    if id >= bp.total { return; }
    let ch = id % (bp.c / 4u);
    var k = 1.0 / sqrt(variance4[ch] + bp.eps);
    if (bp.flags & 2u) != 0u { k *= scale4[ch]; }
    var b = vec4(0.0);
    if (bp.flags & 1u) != 0u { b = offset4[ch]; }
    let v = (x4[id] - mean4[ch]) * k + b;
    let act = bp.flags >> 2u;
    out4[id] = vec4<f32>(apply_activation(v.x, act), apply_activation(v.y, act), apply_activation(v.z, act), apply_activation(v.w, act));
}

// ---- Fused training-mode batch-norm backward (x viewed as [rows, c], statistics over rows) ----
// With N = rows, σ = √(var + ε), x̂ = (x − mean)/σ, Sg = Σg and Sgd = Σ g·(x − mean):
//   d beta = Sg, d gamma = Sgd / σ, dx = gamma/σ · (g − Sg/N − (x − mean) · Sgd / (N σ²)),
// which already includes the paths through the batch mean and variance.
//   bn_grad_partial  per (channel, chunk of rows): partial Sg and Sgd;
//   bn_grad_final    per channel: sums the partials, writes d beta, d gamma and the dx coefficients;
//   bn_grad_dx / bn_grad_dx4  the elementwise dx.
// With a fused activation (`act` != 0) g is the upstream gradient masked by the activation's
// gradient from the saved output y (bound last: `g_y` in the partial sums, `d_y` in dx; a
// 4-element placeholder when `act` is 0), in both passes that read it.

struct BnGradParams {
    rows: u32, c: u32, chunk: u32, nchunks: u32,
    count: f32, eps: f32, total: u32, act: u32,
}

@group(0) @binding(0) var<uniform> gp: BnGradParams;
@group(0) @binding(1) var<storage, read> gx_in: array<f32>;
@group(0) @binding(2) var<storage, read> g_mean: array<f32>;
@group(0) @binding(3) var<storage, read> g_dy: array<f32>;
@group(0) @binding(4) var<storage, read_write> g_parts: array<f32>;
@group(0) @binding(5) var<storage, read> g_y: array<f32>;

// The (masked) output gradient at element i, for bn_grad_partial.
fn partial_up(i: u32) -> f32 {
    if gp.act == 0u { return g_dy[i]; }
    return activation_grad(g_y[i], g_dy[i], gp.act);
}

@compute @workgroup_size(64)
fn bn_grad_partial(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = gid.x + gid.y * nwg.x * 64u;
    if id >= gp.c * gp.nchunks { return; }
    let ch = id % gp.c;
    let part = id / gp.c;
    let r0 = part * gp.chunk;
    let r1 = min(r0 + gp.chunk, gp.rows);
    let m = g_mean[ch];
    var sg = 0.0;
    var sgd = 0.0;
    for (var r = r0; r < r1; r++) {
        let i = r * gp.c + ch;
        let g = partial_up(i);
        sg += g;
        sgd += g * (gx_in[i] - m);
    }
    g_parts[id] = sg;
    g_parts[gp.c * gp.nchunks + id] = sgd;
}

@group(0) @binding(1) var<storage, read> f_parts: array<f32>;
@group(0) @binding(2) var<storage, read> f_var: array<f32>;
@group(0) @binding(3) var<storage, read> f_scale: array<f32>;
@group(0) @binding(4) var<storage, read_write> f_dbeta: array<f32>;
@group(0) @binding(5) var<storage, read_write> f_dgamma: array<f32>;
@group(0) @binding(6) var<storage, read_write> f_coef: array<f32>;

// coef holds [a | b | e] per channel so that dx = a · (g − b − (x − mean) · e).
@compute @workgroup_size(64)
fn bn_grad_final(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let ch = gid.x + gid.y * nwg.x * 64u;
    if ch >= gp.c { return; }
    var sg = 0.0;
    var sgd = 0.0;
    for (var j = 0u; j < gp.nchunks; j++) {
        sg += f_parts[j * gp.c + ch];
        sgd += f_parts[(gp.nchunks + j) * gp.c + ch];
    }
    let v = f_var[ch] + gp.eps;
    let inv = 1.0 / sqrt(v);
    f_dbeta[ch] = sg;
    f_dgamma[ch] = sgd * inv;
    f_coef[ch] = f_scale[ch] * inv;
    f_coef[gp.c + ch] = sg / gp.count;
    f_coef[2u * gp.c + ch] = sgd / (gp.count * v);
}

@group(0) @binding(4) var<storage, read> d_coef: array<f32>;
@group(0) @binding(5) var<storage, read_write> d_out: array<f32>;
@group(0) @binding(1) var<storage, read> d_x4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> d_mean4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> d_dy4: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> d_coef4: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> d_out4: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read> d_y: array<f32>;
@group(0) @binding(6) var<storage, read> d_y4: array<vec4<f32>>;

// The (masked) output gradient at element i (or vec4 i), for bn_grad_dx / bn_grad_dx4.
fn dx_up(i: u32) -> f32 {
    if gp.act == 0u { return g_dy[i]; }
    return activation_grad(d_y[i], g_dy[i], gp.act);
}

fn dx_up4(i: u32) -> vec4<f32> {
    if gp.act == 0u { return d_dy4[i]; }
    return activation_grad4(d_y4[i], d_dy4[i], gp.act);
}

@compute @workgroup_size(256)
fn bn_grad_dx(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = gid.x + gid.y * nwg.x * 256u;
    if id >= gp.total { return; }
    let ch = id % gp.c;
    let a = d_coef[ch];
    let b = d_coef[gp.c + ch];
    let e = d_coef[2u * gp.c + ch];
    d_out[id] = a * (dx_up(id) - b - (gx_in[id] - g_mean[ch]) * e);
}

@compute @workgroup_size(256)
fn bn_grad_dx4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = gid.x + gid.y * nwg.x * 256u;
    if id >= gp.total { return; }
    let c4 = gp.c / 4u;
    let ch = id % c4;
    let a = d_coef4[ch];
    let b = d_coef4[c4 + ch];
    let e = d_coef4[2u * c4 + ch];
    d_out4[id] = a * (dx_up4(id) - b - (d_x4[id] - d_mean4[ch]) * e);
}
