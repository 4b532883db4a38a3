// Elementwise family: broadcasting binary ops (add, sub, mul, div, max, min, pow, gt-mask,
// the activation gradients relu'(x)·g, σ'(from y)·g, tanh'(from y)·g, Keras relu'(x)·g,
// elu'(x)·g, and lerp), unary ops (relu, sigmoid, tanh, exp, log, neg, sqrt, abs, square,
// affine, Keras's general relu, elu) and fill. Shapes up to rank 8; a stride of 0 broadcasts
// that axis. The Keras relu and elu branch on comparisons so that NaN falls through to x.
// The binary entry points apply `act` (common.wgsl's activation codes; 0 for none) to the
// result: e.g. a residual Add followed by ReLU in one dispatch.

struct Params {
    n: u32, op: u32, rank: u32, act: u32,
    alpha: f32, beta: f32, gamma: f32, _q1: u32,
    dims: array<vec4<u32>, 2>,
    sa: array<vec4<u32>, 2>,
    sb: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

fn lin(gid: vec3<u32>, nwg: vec3<u32>) -> u32 { return linear_index(gid, nwg, 256u); }

// The op code of `binop` / `unop` (the same as `p.op`) and the binary kernels' fused
// activation (common.wgsl's codes, the same as `p.act`), fixed at pipeline creation: a
// switch on a uniform would evaluate every op and every activation on CPU adapters.
override OP: u32 = 0u;
override ACT: u32 = 0u;

fn binop(x: f32, y: f32) -> f32 {
    switch OP {
        case 0u: { return x + y; }
        case 1u: { return x - y; }
        case 2u: { return x * y; }
        case 3u: { return x / y; }
        case 4u: { return max_nan(x, y); }
        case 5u: { return min_nan(x, y); }
        case 6u: { return pow(x, y); }
        case 7u: { return select(0.0, 1.0, x > y); }
        case 8u: { return select(0.0, y, x > 0.0); }
        case 9u: { return y * x * (1.0 - x); }
        case 10u: { return y * (1.0 - x * x); }
        case 11u: { return x + p.alpha * (y - x); }
        case 12u: { return y * relu_ext_grad(x, false); }
        case 13u: { return y * relu_ext_grad(x, true); }
        case 14u: { return y * elu_grad(x); }
        default: { return x * y; }
    }
}

fn unop(x: f32) -> f32 {
    switch OP {
        case 0u: { return relu_nan(x); }
        case 1u: { return 1.0 / (1.0 + exp(-x)); }
        case 2u: { return tanh(x); }
        case 3u: { return exp(x); }
        case 4u: { return log(x); }
        case 5u: { return -x; }
        case 6u: { return sqrt(x); }
        case 7u: { return abs(x); }
        case 8u: { return x * x; }
        case 9u: { return p.alpha * x + p.beta; }
        case 10u: { return relu_ext(x, false); }
        case 11u: { return relu_ext(x, true); }
        case 12u: { return elu(x); }
        default: { return x; }
    }
}

// keras.activations.relu (see `ReluSpec` in crates/kernels/src/elementwise.rs, the CPU twin):
// slope alpha, threshold beta, maximum gamma when `clip`.
fn relu_leaky(clip: bool) -> bool {
    return p.alpha != 0.0 && !clip && p.beta == 0.0;
}

fn relu_ext(x: f32, clip: bool) -> f32 {
    if relu_leaky(clip) {
        if x > 0.0 { return x; }
        return p.alpha * x;
    }
    if x > p.beta {
        if clip { return max(min(x, p.gamma), 0.0); }
        return x;
    }
    // No slope means 0 below the threshold, even at -inf (0 * -inf would be NaN).
    if x < p.beta { return select(p.alpha * (x - p.beta), 0.0, p.alpha == 0.0); }
    if x == p.beta { return 0.0; }
    // NaN: Keras selects 0 above a nonzero threshold (where(x > t, x, 0)) and, without a
    // slope, adds nothing; otherwise the NaN propagates.
    return select(x, 0.0, p.beta != 0.0 && p.alpha == 0.0);
}

fn relu_ext_grad(x: f32, clip: bool) -> f32 {
    if relu_leaky(clip) { return select(p.alpha, 1.0, x > 0.0); }
    var linear = x > p.beta;
    if clip && p.gamma == 6.0 && p.beta == 0.0 {
        linear = x > 0.0 && x < 6.0;
    } else if clip {
        linear = linear && x >= 0.0 && x <= p.gamma;
    }
    return select(0.0, 1.0, linear) + select(0.0, p.alpha, x < p.beta);
}

// e^x − 1, accurate near 0 (a Taylor polynomial for |x| < 0.5).
fn expm1(x: f32) -> f32 {
    if abs(x) >= 0.5 { return exp(x) - 1.0; }
    var term = x;
    var sum = x;
    for (var k = 2.0; k <= 9.0; k += 1.0) {
        term *= x / k;
        sum += term;
    }
    return sum;
}

// tf.nn.elu with Keras's alpha: x > 0 → x; x < 0 → alpha·expm1(x); 0 and NaN → alpha·x.
fn elu(x: f32) -> f32 {
    if x > 0.0 { return x; }
    if x < 0.0 { return p.alpha * expm1(x); }
    return p.alpha * x;
}

fn elu_grad(x: f32) -> f32 {
    if x > 0.0 { return 1.0; }
    if x < 0.0 { return p.alpha * exp(x); }
    return p.alpha;
}

// Broadcasting binary op: out[i] = binop(a[ia], b[ib]) with per-operand strides.
@compute @workgroup_size(256)
fn binary(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = lin(gid, nwg);
    if i >= p.n { return; }
    var rem = i;
    var ia = 0u;
    var ib = 0u;
    for (var d = i32(p.rank) - 1; d >= 0; d--) {
        let du = u32(d);
        let size = p.dims[du / 4u][du % 4u];
        let idx = rem % size;
        rem = rem / size;
        ia += idx * p.sa[du / 4u][du % 4u];
        ib += idx * p.sb[du / 4u][du % 4u];
    }
    out[i] = apply_activation(binop(a[ia], b[ib]), ACT);
}

// Broadcasting binary op over at most two (coalesced) axes: no loop over the rank.
@compute @workgroup_size(256)
fn binary2(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = lin(gid, nwg);
    if i >= p.n { return; }
    let d1 = select(1u, p.dims[0][1], p.rank == 2u);
    let i0 = i / d1;
    let i1 = i - i0 * d1;
    let ia = i0 * p.sa[0][0] + select(0u, i1 * p.sa[0][1], p.rank == 2u);
    let ib = i0 * p.sb[0][0] + select(0u, i1 * p.sb[0][1], p.rank == 2u);
    out[i] = apply_activation(binop(a[ia], b[ib]), ACT);
}

// Same-shape binary op on contiguous operands.
@compute @workgroup_size(256)
fn binary_same(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = lin(gid, nwg);
    if i >= p.n { return; }
    out[i] = apply_activation(binop(a[i], b[i]), ACT);
}

// Unary op; `b` is bound but unused by most ops (kept for one layout across the family).
@compute @workgroup_size(256)
fn unary(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = lin(gid, nwg);
    if i >= p.n { return; }
    out[i] = unop(a[i]) + 0.0 * b[0];
}

// out[i] = alpha.
@compute @workgroup_size(256)
fn fill(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = lin(gid, nwg);
    if i >= p.n { return; }
    out[i] = p.alpha + 0.0 * (a[0] + b[0]);
}

// PCG-style 32-bit hash (the CPU twin in crates/kernels/src/elementwise.rs is identical).
fn hash32(x: u32) -> u32 {
    let s = x * 747796405u + 2891336453u;
    let w = ((s >> ((s >> 28u) + 4u)) ^ s) * 277803737u;
    return (w >> 22u) ^ w;
}

// Inverted dropout: keep with probability 1 - alpha, scaled by 1 / (1 - alpha); seed in beta's
// bits, the first element's global index in gamma's (a window of a larger tensor).
@compute @workgroup_size(256)
fn dropout(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = lin(gid, nwg);
    if i >= p.n { return; }
    let h = hash32((i + bitcast<u32>(p.gamma)) ^ hash32(bitcast<u32>(p.beta)));
    let u = f32(h >> 8u) / 16777216.0;
    out[i] = select(0.0, a[i] / (1.0 - p.alpha), u >= p.alpha) + 0.0 * b[0];
}
