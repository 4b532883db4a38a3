// Subgroup entry points of the softmax family, compiled after shaders/softmax.wgsl (whose
// bindings and row helpers they use) and only on adapters with subgroup operations (wgpu's
// SUBGROUP, see `Gpu::subgroup_sizes`). One subgroup per row: its invocations stride the row
// and reduce in registers with subgroupMax / subgroupAdd, with no workgroup memory and no
// barrier. A 64-wide workgroup holds `num_subgroups` rows; the launcher sizes the grid for the
// adapter's largest subgroup, so with smaller subgroups the surplus ones find no row. A
// subgroup wider than the workgroup is partly filled: the stride is min(size, 64).
// NaN: subgroupMax may ignore a NaN, but the sum of exponentials then carries it, as in the
// other variants (every output of a row holding NaN is NaN).

fn sg_row(wid: vec3<u32>, nwg: vec3<u32>, sg: u32, nsg: u32) -> u32 {
    return (wid.x + wid.y * nwg.x) * nsg + sg;
}

@compute @workgroup_size(64)
fn softmax_sg(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(subgroup_id) sg: u32, @builtin(num_subgroups) nsg: u32,
              @builtin(subgroup_invocation_id) l: u32, @builtin(subgroup_size) size: u32) {
    let r = sg_row(wid, nwg, sg, nsg);
    if r >= p.rows { return; }
    let stride = min(size, 64u);
    let base = r * p.len;
    var m = x[base];
    for (var j = l; j < p.len; j += stride) { m = max_nan(m, x[base + j]); }
    m = subgroupMax(m);
    var s = 0.0;
    for (var j = l; j < p.len; j += stride) { s += exp(x[base + j] - m); }
    s = subgroupAdd(s);
    write_row(base, l, stride, m, s);
}

@compute @workgroup_size(64)
fn softmax_grad_sg(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                   @builtin(subgroup_id) sg: u32, @builtin(num_subgroups) nsg: u32,
                   @builtin(subgroup_invocation_id) l: u32, @builtin(subgroup_size) size: u32) {
    let r = sg_row(wid, nwg, sg, nsg);
    if r >= p.rows { return; }
    let stride = min(size, 64u);
    let base = r * p.len;
    let s = subgroupAdd(grad_dot(base, l, stride));
    grad_row(base, l, stride, s);
}
