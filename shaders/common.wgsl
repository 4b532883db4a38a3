// Helpers shared by every kernel family; the launchers prepend this file to each shader.

// The fused activations, by the code `tessera_kernels::Activation::code` gives:
// 0 identity, 1 ReLU, 2 sigmoid, 3 tanh.
fn apply_activation(v: f32, act: u32) -> f32 {
    switch act {
        case 1u: { return relu_nan(v); }
        case 2u: { return 1.0 / (1.0 + exp(-v)); }
        case 3u: { return tanh(v); }
        default: { return v; }
    }
}

// The upstream gradient `up` through a fused activation, from the activation's output `y`
// (as the binary ops relu_grad / sigmoid_grad / tanh_grad of elementwise.wgsl); same codes.
fn activation_grad(y: f32, up: f32, act: u32) -> f32 {
    switch act {
        case 1u: { return select(0.0, up, y > 0.0); }
        case 2u: { return up * y * (1.0 - y); }
        case 3u: { return up * (1.0 - y * y); }
        default: { return up; }
    }
}

fn activation_grad4(y: vec4<f32>, up: vec4<f32>, act: u32) -> vec4<f32> {
    let g0 = activation_grad(y.x, up.x, act);
    let g1 = activation_grad(y.y, up.y, act);
    let g2 = activation_grad(y.z, up.z, act);
    return vec4<f32>(g0, g1, g2, activation_grad(y.w, up.w, act));
}

// NaN and ±Inf follow TensorFlow: relu, maximum, minimum and max-reductions propagate NaN.
// NaN is tested on the bits (integer ops), so no float optimisation can fold the test away.
fn is_nan(v: f32) -> bool {
    return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u;
}

// max(v, 0) that keeps NaN (tf.nn.relu).
fn relu_nan(v: f32) -> f32 {
    return select(max(v, 0.0), v, is_nan(v));
}

// max(a, b), NaN when either is NaN (tf.maximum, tf.reduce_max).
fn max_nan(a: f32, b: f32) -> f32 {
    return select(max(a, b), a + b, is_nan(a) || is_nan(b));
}

// min(a, b), NaN when either is NaN (tf.minimum, tf.reduce_min).
fn min_nan(a: f32, b: f32) -> f32 {
    return select(min(a, b), a + b, is_nan(a) || is_nan(b));
}

// The linear invocation index of a 1-D grid that spills into y (see `launch::grid_1d`).
fn linear_index(gid: vec3<u32>, nwg: vec3<u32>, wg: u32) -> u32 {
    return gid.x + gid.y * nwg.x * wg;
}


// Shared memory of `workgroup_reduce` (64-wide workgroups).
var<workgroup> common_red: array<f32, 64>;

// Tree-reduces one value per invocation of a 64-wide workgroup (max when `is_max`, else sum);
// every invocation gets the result. Call from uniform control flow (it has barriers).
fn workgroup_reduce(l: u32, v: f32, is_max: bool) -> f32 {
    common_red[l] = v;
    workgroupBarrier();
    for (var w = 32u; w > 0u; w /= 2u) {
        if l < w {
            common_red[l] = select(common_red[l] + common_red[l + w], max_nan(common_red[l], common_red[l + w]), is_max);
        }
        workgroupBarrier();
    }
    let r = common_red[0];
    workgroupBarrier();
    return r;
}
