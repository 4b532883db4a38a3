// Optimizer updates, one dispatch per variable, Keras's formulas:
//   sgd   v' = momentum·v − lr·g;  p' = p + v'  (nesterov: p' = p + momentum·v' − lr·g)
//   adam  m' = β1·m + (1−β1)·g;  v' = β2·v + (1−β2)·g²;  p' = p − lr_t·m' / (√v' + ε)
//         with lr_t = lr·√(1−β2^t)/(1−β1^t) computed on the host.

struct Params {
    n: u32, nesterov: u32, _p0: u32, _p1: u32,
    lr: f32, momentum: f32, beta1: f32, beta2: f32,
    epsilon: f32, _q0: f32, _q1: f32, _q2: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> param: array<f32>;
@group(0) @binding(2) var<storage, read> grad: array<f32>;
@group(0) @binding(3) var<storage, read> slot1: array<f32>;
@group(0) @binding(4) var<storage, read> slot2: array<f32>;
@group(0) @binding(5) var<storage, read_write> param_out: array<f32>;
@group(0) @binding(6) var<storage, read_write> slot1_out: array<f32>;
@group(0) @binding(7) var<storage, read_write> slot2_out: array<f32>;

fn lin(gid: vec3<u32>, nwg: vec3<u32>) -> u32 { return linear_index(gid, nwg, 256u); }

@compute @workgroup_size(256)
fn sgd(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = lin(gid, nwg);
    if i >= p.n { return; }
    let g = grad[i];
    let v = p.momentum * slot1[i] - p.lr * g;
    slot1_out[i] = v;
    var step = v;
    if p.nesterov != 0u { step = p.momentum * v - p.lr * g; }
    param_out[i] = param[i] + step;
    if i == 0u { slot2_out[0] = slot2[0]; } // SGD has no second slot: 1-element placeholders
}

@compute @workgroup_size(256)
fn adam(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = lin(gid, nwg);
    if i >= p.n { return; }
    let g = grad[i];
    let m = p.beta1 * slot1[i] + (1.0 - p.beta1) * g;
    let v = p.beta2 * slot2[i] + (1.0 - p.beta2) * g * g;
    slot1_out[i] = m;
    slot2_out[i] = v;
    param_out[i] = param[i] - p.lr * m / (sqrt(v) + p.epsilon);
}
