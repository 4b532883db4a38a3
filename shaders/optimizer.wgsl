// Optimizer updates, one dispatch per variable, Keras's formulas (the CPU twin is
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

fn lin(gid: vec3<u32>, nwg: vec3<u32>) -> u32 { return linear_index(gid, nwg, 256u); }

// The variable after decoupled weight decay.
fn decayed(i: u32) -> f32 {
    let x = param[i];
    return x - x * p.wd * p.lr;
}

@compute @workgroup_size(256)
fn sgd(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = lin(gid, nwg);
    if i >= p.n { return; }
    let g = grad[i];
    if p.momentum <= 0.0 {
        param_out[i] = decayed(i) - g * p.lr; // plain SGD: no slot
        return;
    }
    let m = slots[i] * p.momentum - g * p.lr;
    slots_out[i] = m;
    var step = m;
    if p.flag != 0u { step = m * p.momentum - g * p.lr; }
    param_out[i] = decayed(i) + step;
}

@compute @workgroup_size(256)
fn adam(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = lin(gid, nwg);
    if i >= p.n { return; }
    let g = grad[i];
    let m = slots[i] + (g - slots[i]) * (1.0 - p.beta1);
    var v = slots[p.n + i] + (g * g - slots[p.n + i]) * (1.0 - p.beta2);
    slots_out[i] = m;
    slots_out[p.n + i] = v;
    if p.flag != 0u {
        v = max(slots[2u * p.n + i], v);
        slots_out[2u * p.n + i] = v;
    }
    param_out[i] = decayed(i) - m * p.alpha / (sqrt(v) + p.epsilon);
}

@compute @workgroup_size(256)
fn rmsprop(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = lin(gid, nwg);
    if i >= p.n { return; }
    let g = grad[i];
    let v = p.rho * slots[i] + (1.0 - p.rho) * (g * g);
    slots_out[i] = v;
    var denominator = v + p.epsilon;
    if p.flag != 0u {
        let j = p.i_avg * p.n + i;
        let a = p.rho * slots[j] + (1.0 - p.rho) * g;
        slots_out[j] = a;
        denominator = v - a * a + p.epsilon;
    }
    var step = p.lr * g / sqrt(denominator);
    if p.momentum > 0.0 {
        let j = p.i_mom * p.n + i;
        step = p.momentum * slots[j] + step;
        slots_out[j] = step;
    }
    param_out[i] = decayed(i) - step;
}
