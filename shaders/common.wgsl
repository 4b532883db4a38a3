// Helpers shared by every kernel family; the launchers prepend this file to each shader.

// The fused activations, by the code `tessera_kernels::Activation::code` gives:
// 0 identity, 1 ReLU, 2 sigmoid, 3 tanh.
fn apply_activation(v: f32, act: u32) -> f32 {
    switch act {
        case 1u: { return max(v, 0.0); }
        case 2u: { return 1.0 / (1.0 + exp(-v)); }
        case 3u: { return tanh(v); }
        default: { return v; }
    }
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
            common_red[l] = select(common_red[l] + common_red[l + w], max(common_red[l], common_red[l + w]), is_max);
        }
        workgroupBarrier();
    }
    let r = common_red[0];
    workgroupBarrier();
    return r;
}
