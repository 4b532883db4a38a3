// Grouped convolution (tf.nn.conv2d with a [kh, kw, cin / groups, cout] filter) and its
// gradients, on NHWC tensors. Group j reads input channels j*cpg.. (cpg = cin / groups) and
// writes output channels j*opg.. (opg = cout / groups). Gathers only (no atomics). Entry
// points, picked by crates/kernels/src/conv2d.rs (groups == 1 runs the conv2d.wgsl kernels):
//   grouped_conv2d       forward with fused bias and activation, one output per invocation;
//   grouped_input_grad   dx [n, h, w, cin] from dy and the filter, one input element each;
//   grouped_filter_grad  dW [kh, kw, cpg, cout] over one chunk of `chunk_rows` output rows
//                        (n*oh of them) per invocation; conv2d.wgsl's sum_chunks adds chunks.

struct Params {
    n: u32, h: u32, w: u32, cin: u32,
    oh: u32, ow: u32, cout: u32, kh: u32,
    kw: u32, sh: u32, sw: u32, dh: u32,
    dw: u32, pad_top: u32, pad_left: u32, has_bias: u32,
    act: u32, groups: u32, chunk_rows: u32, _p0: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
// Forward: [x, filter, bias, out]; input gradient: [dy, filter, -, dx]; filter gradient:
// [x, dy, -, partial dW].
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

// Input row (or column) of window offset `k` for output row `o`, as a signed index.
fn in_pos(o: u32, k: u32, s: u32, d: u32, pad: u32) -> i32 {
    return i32(o * s + k * d) - i32(pad);
}

@compute @workgroup_size(64)
fn grouped_conv2d(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = linear_index(gid, nwg, 64u);
    if id >= p.n * p.oh * p.ow * p.cout { return; }
    let co = id % p.cout;
    let ox = (id / p.cout) % p.ow;
    let oy = (id / (p.cout * p.ow)) % p.oh;
    let bi = id / (p.cout * p.ow * p.oh);
    let cpg = p.cin / p.groups;
    let c0 = (co / (p.cout / p.groups)) * cpg;
    var acc = 0.0;
    for (var ky = 0u; ky < p.kh; ky++) {
        let iy = in_pos(oy, ky, p.sh, p.dh, p.pad_top);
        if iy < 0 || iy >= i32(p.h) { continue; }
        for (var kx = 0u; kx < p.kw; kx++) {
            let ix = in_pos(ox, kx, p.sw, p.dw, p.pad_left);
            if ix < 0 || ix >= i32(p.w) { continue; }
            let xo = ((bi * p.h + u32(iy)) * p.w + u32(ix)) * p.cin + c0;
            let fo = (ky * p.kw + kx) * cpg * p.cout + co;
            for (var cl = 0u; cl < cpg; cl++) {
                acc = fma(a[xo + cl], b[fo + cl * p.cout], acc);
            }
        }
    }
    if p.has_bias != 0u { acc += bias[co]; }
    out[id] = apply_activation(acc, p.act);
}

// The output index along one axis whose window tap `k` lands on input position `i`, or -1.
fn out_pos(i: u32, k: u32, s: u32, d: u32, pad: u32, n_out: u32) -> i32 {
    let t = i32(i + pad) - i32(k * d);
    if t < 0 || t % i32(s) != 0 || t / i32(s) >= i32(n_out) { return -1; }
    return t / i32(s);
}

@compute @workgroup_size(64)
fn grouped_input_grad(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = linear_index(gid, nwg, 64u);
    if id >= p.n * p.h * p.w * p.cin { return; }
    let ci = id % p.cin;
    let ix = (id / p.cin) % p.w;
    let iy = (id / (p.cin * p.w)) % p.h;
    let bi = id / (p.cin * p.w * p.h);
    let cpg = p.cin / p.groups;
    let opg = p.cout / p.groups;
    let co0 = (ci / cpg) * opg;
    let cl = ci % cpg;
    var acc = 0.0;
    for (var ky = 0u; ky < p.kh; ky++) {
        let oy = out_pos(iy, ky, p.sh, p.dh, p.pad_top, p.oh);
        if oy < 0 { continue; }
        for (var kx = 0u; kx < p.kw; kx++) {
            let ox = out_pos(ix, kx, p.sw, p.dw, p.pad_left, p.ow);
            if ox < 0 { continue; }
            let go = ((bi * p.oh + u32(oy)) * p.ow + u32(ox)) * p.cout + co0;
            let fo = ((ky * p.kw + kx) * cpg + cl) * p.cout + co0;
            for (var j = 0u; j < opg; j++) {
                acc = fma(a[go + j], b[fo + j], acc);
            }
        }
    }
    out[id] = acc + 0.0 * bias[0];
}

@compute @workgroup_size(64)
fn grouped_filter_grad(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = linear_index(gid, nwg, 64u);
    let cpg = p.cin / p.groups;
    let elems = p.kh * p.kw * cpg * p.cout;
    let rows = p.n * p.oh;
    let chunks = (rows + p.chunk_rows - 1u) / p.chunk_rows;
    if id >= elems * chunks { return; }
    let e = id % elems;
    let chunk = id / elems;
    let co = e % p.cout;
    let cl = (e / p.cout) % cpg;
    let kx = (e / (p.cout * cpg)) % p.kw;
    let ky = e / (p.cout * cpg * p.kw);
    let ci = (co / (p.cout / p.groups)) * cpg + cl;
    var acc = 0.0;
    let r1 = min(rows, (chunk + 1u) * p.chunk_rows);
    for (var r = chunk * p.chunk_rows; r < r1; r++) {
        let oy = r % p.oh;
        let iy = in_pos(oy, ky, p.sh, p.dh, p.pad_top);
        if iy < 0 || iy >= i32(p.h) { continue; }
        let xrow = ((r / p.oh) * p.h + u32(iy)) * p.w;
        for (var ox = 0u; ox < p.ow; ox++) {
            let ix = in_pos(ox, kx, p.sw, p.dw, p.pad_left);
            if ix >= 0 && ix < i32(p.w) {
                acc = fma(a[(xrow + u32(ix)) * p.cin + ci], b[(r * p.ow + ox) * p.cout + co], acc);
            }
        }
    }
    out[id] = acc + 0.0 * bias[0];
}
