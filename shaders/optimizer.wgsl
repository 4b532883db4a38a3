// Optimizer updates, one dispatch per variable or per model (a multi-tensor update over the
// concatenated variables), Keras's formulas (the CPU twin is
// `Update::apply` in crates/kernels/src/optimizer.rs). Every rule first applies decoupled
// weight decay p ← p − p·wd·lr. A variable's k slots are packed slot-major: slots[j·n + i].
//   sgd      m' = m·momentum − g·lr;  p' = p + m'  (nesterov: p' = p + m'·momentum − g·lr)
//            without momentum p' = p − g·lr and no slot
//   adam     m' = m + (g − m)(1−β1);  v' = v + (g² − v)(1−β2);  (amsgrad: v̂' = max(v̂, v'))
//            p' = p − m'·α / (√v' + ε), α = lr·√(1−β2^t)/(1−β1^t) computed on the host
//   rmsprop  v' = ρv + (1−ρ)g²;  (centered: ḡ' = ρḡ + (1−ρ)g, denominator v' − ḡ'² + ε)
//            increment = lr·g / √(v' + ε);  p' = p − increment
//            (momentum: m' = momentum·m + increment; p' = p − m')

struct Params {
    n: u32, flag: u32, i_mom: u32, i_avg: u32,
    alpha: f32, momentum: f32, beta1: f32, beta2: f32,
    rho: f32, epsilon: f32, lr: f32, wd: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> param: array<f32>;
@group(0) @binding(2) var<storage, read> grad: array<f32>;
@group(0) @binding(3) var<storage, read> slots: array<f32>;
@group(0) @binding(4) var<storage, read_write> param_out: array<f32>;
@group(0) @binding(5) var<storage, read_write> slots_out: array<f32>;
// Vec4 views of the same bindings, for the `*4` entry points (n % 4 == 0): 4 elements per
// invocation, one load or store per 4 values (CPU adapters pay per load, whatever its width).
@group(0) @binding(1) var<storage, read> param4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> grad4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> slots4: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> param_out4: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> slots_out4: array<vec4<f32>>;

fn lin(gid: vec3<u32>, nwg: vec3<u32>) -> u32 { return linear_index(gid, nwg, 256u); }

// An element's slots (slot 0 in a, 1 in b, 2 in c), for 4 elements at a time.
struct Slots { a: vec4<f32>, b: vec4<f32>, c: vec4<f32> }

// Each rule once, on 4 elements (the scalar entry point uses lane x): the variable `x`, its
// gradient `g` and its slots `s` (updated in place); returns the new variable. Every rule
// first applies decoupled weight decay (`decay`).
fn decay(x: vec4<f32>) -> vec4<f32> {
    return x - x * p.wd * p.lr;
}

fn sgd_rule(x: vec4<f32>, g: vec4<f32>, s: ptr<function, Slots>) -> vec4<f32> {
    if p.momentum <= 0.0 { return decay(x) - g * p.lr; } // plain SGD: no slot
    let m = (*s).a * p.momentum - g * p.lr;
    (*s).a = m;
    var step = m;
    if p.flag != 0u { step = m * p.momentum - g * p.lr; }
    return decay(x) + step;
}

fn adam_rule(x: vec4<f32>, g: vec4<f32>, s: ptr<function, Slots>) -> vec4<f32> {
    let m = (*s).a + (g - (*s).a) * (1.0 - p.beta1);
    var v = (*s).b + (g * g - (*s).b) * (1.0 - p.beta2);
    (*s).a = m;
    (*s).b = v;
    if p.flag != 0u {
        v = max((*s).c, v);
        (*s).c = v;
    }
    return decay(x) - m * p.alpha / (sqrt(v) + p.epsilon);
}

// Slot 0 velocity; with momentum slot 1 (p.i_mom) the momentum; centered, the last slot
// (p.i_avg: 1 or 2) the average gradient.
fn rmsprop_rule(x: vec4<f32>, g: vec4<f32>, s: ptr<function, Slots>) -> vec4<f32> {
    let v = p.rho * (*s).a + (1.0 - p.rho) * (g * g);
    (*s).a = v;
    var denominator = v + p.epsilon;
    if p.flag != 0u {
        let last = p.i_avg == 2u;
        let a = p.rho * select((*s).b, (*s).c, last) + (1.0 - p.rho) * g;
        if last { (*s).c = a; } else { (*s).b = a; }
        denominator = v - a * a + p.epsilon;
    }
    var step = p.lr * g / sqrt(denominator);
    if p.momentum > 0.0 {
        step = p.momentum * (*s).b + step;
        (*s).b = step;
    }
    return decay(x) - step;
}

// The rule (0 sgd, 1 adam, 2 rmsprop), fixed at pipeline creation: a switch on a uniform would
// run every rule on CPU adapters.
override RULE: u32 = 0u;

// The slots per element (0 to 3), fixed at pipeline creation: CPU adapters run the
// loads and stores of absent slots too, masked, when the count is a uniform.
override SLOTS: u32 = 0u;

fn apply_rule(x: vec4<f32>, g: vec4<f32>, s: ptr<function, Slots>) -> vec4<f32> {
    switch RULE {
        case 1u: { return adam_rule(x, g, s); }
        case 2u: { return rmsprop_rule(x, g, s); }
        default: { return sgd_rule(x, g, s); }
    }
}

// One element per invocation; slots packed slot-major: slots[j·n + i].
@compute @workgroup_size(256)
fn update(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = lin(gid, nwg);
    if i >= p.n { return; }
    var s: Slots;
    if SLOTS > 0u { s.a = vec4(slots[i]); }
    if SLOTS > 1u { s.b = vec4(slots[p.n + i]); }
    if SLOTS > 2u { s.c = vec4(slots[2u * p.n + i]); }
    param_out[i] = apply_rule(vec4(param[i]), vec4(grad[i]), &s).x;
    if SLOTS > 0u { slots_out[i] = s.a.x; }
    if SLOTS > 1u { slots_out[p.n + i] = s.b.x; }
    if SLOTS > 2u { slots_out[2u * p.n + i] = s.c.x; }
}

// 4 elements per invocation (n % 4 == 0), vec4 loads and stores.
@compute @workgroup_size(256)
fn update4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = lin(gid, nwg);
    let n4 = p.n / 4u;
    if i >= n4 { return; }
    var s: Slots;
    if SLOTS > 0u { s.a = slots4[i]; }
    if SLOTS > 1u { s.b = slots4[n4 + i]; }
    if SLOTS > 2u { s.c = slots4[2u * n4 + i]; }
    param_out4[i] = apply_rule(param4[i], grad4[i], &s);
    if SLOTS > 0u { slots_out4[i] = s.a; }
    if SLOTS > 1u { slots_out4[n4 + i] = s.b; }
    if SLOTS > 2u { slots_out4[2u * n4 + i] = s.c; }
}
