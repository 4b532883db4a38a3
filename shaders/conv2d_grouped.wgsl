// Grouped convolution (tf.nn.conv2d with a [kh, kw, cin / groups, cout] filter) and its
// gradients, on NHWC tensors. Group j reads input channels j*cpg.. (cpg = cin / groups) and
// writes output channels j*opg.. (opg = cout / groups). Gathers only (no atomics). Entry
// points, picked by crates/kernels/src/conv2d.rs (groups == 1 runs the conv2d.wgsl kernels):
//   grouped_conv2d       forward with fused bias and activation, 4 pixels x 8 channels of
//                        one group per invocation;
//   grouped_input_grad   dx [n, h, w, cin] from dy and the filter, one input element each;
//   grouped_flip_filter  the filter for stride-1 input gradients as a grouped conv of dy;
//   grouped_filter_grad  dW [kh, kw, cpg, cout], 4 input x 4 output channels of one tap per
//                        invocation, over one chunk of `chunk_rows` output rows (n*oh of
//                        them); conv2d.wgsl's sum_chunks adds the chunks' partial sums.

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

// Element offset of window tap (ky, kx)'s pixel for output pixel `pix` (row-major over
// [n, oh, ow]), and 1.0 when the tap is inside the input (0.0 in the padding, offset 0).
struct Tap {
    off: u32,
    m: f32,
}

fn tap(pix: u32, ky: u32, kx: u32) -> Tap {
    let ox = pix % p.ow;
    let oy = (pix / p.ow) % p.oh;
    let bi = pix / (p.ow * p.oh);
    let iy = in_pos(oy, ky, p.sh, p.dh, p.pad_top);
    let ix = in_pos(ox, kx, p.sw, p.dw, p.pad_left);
    let inside = iy >= 0 && iy < i32(p.h) && ix >= 0 && ix < i32(p.w);
    let off = select(0u, ((bi * p.h + u32(iy)) * p.w + u32(ix)) * p.cin, inside);
    return Tap(off, select(0.0, 1.0, inside));
}

// Adds the bias, applies the activation and stores channel `co` of pixel `pix` when both exist
// (`last` is the block's group's last channel).
fn store1(pix: u32, pixels: u32, co: u32, last: u32, acc: f32) {
    if pix >= pixels || co > last { return; }
    var v = acc;
    if p.has_bias != 0u { v += bias[co]; }
    out[pix * p.cout + co] = apply_activation(v, p.act);
}

fn store8(pix: u32, pixels: u32, co0: u32, last: u32, lo: vec4<f32>, hi: vec4<f32>) {
    for (var j = 0u; j < 4u; j++) {
        store1(pix, pixels, co0 + j, last, lo[j]);
        store1(pix, pixels, co0 + 4u + j, last, hi[j]);
    }
}

// 4 consecutive output pixels x 8 consecutive output channels of one group per invocation
// (channel blocks do not cross groups; pixel and channel tails are clamped and not stored).
// Each filter value is loaded once for the 4 pixels, each input value once for the 8 channels.
@compute @workgroup_size(64)
fn grouped_conv2d(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = linear_index(gid, nwg, 64u);
    let cpg = p.cin / p.groups;
    let opg = p.cout / p.groups;
    let nb = (opg + 7u) / 8u;
    let pixels = p.n * p.oh * p.ow;
    if id >= ((pixels + 3u) / 4u) * nb * p.groups { return; }
    let blk = id % (nb * p.groups);
    let pix0 = (id / (nb * p.groups)) * 4u;
    let q = blk / nb;
    let co0 = q * opg + (blk % nb) * 8u;
    let last = (q + 1u) * opg - 1u;
    let c0 = min(co0, last);
    let c1 = min(co0 + 1u, last);
    let c2 = min(co0 + 2u, last);
    let c3 = min(co0 + 3u, last);
    let c4 = min(co0 + 4u, last);
    let c5 = min(co0 + 5u, last);
    let c6 = min(co0 + 6u, last);
    let c7 = min(co0 + 7u, last);
    let pl = pixels - 1u;
    var lo0 = vec4<f32>(0.0);
    var hi0 = vec4<f32>(0.0);
    var lo1 = vec4<f32>(0.0);
    var hi1 = vec4<f32>(0.0);
    var lo2 = vec4<f32>(0.0);
    var hi2 = vec4<f32>(0.0);
    var lo3 = vec4<f32>(0.0);
    var hi3 = vec4<f32>(0.0);
    for (var ky = 0u; ky < p.kh; ky++) {
        for (var kx = 0u; kx < p.kw; kx++) {
            let t0 = tap(min(pix0, pl), ky, kx);
            let t1 = tap(min(pix0 + 1u, pl), ky, kx);
            let t2 = tap(min(pix0 + 2u, pl), ky, kx);
            let t3 = tap(min(pix0 + 3u, pl), ky, kx);
            let xg = q * cpg;
            var fr = (ky * p.kw + kx) * cpg * p.cout;
            for (var cl = 0u; cl < cpg; cl++) {
                let fl = vec4(b[fr + c0], b[fr + c1], b[fr + c2], b[fr + c3]);
                let fh = vec4(b[fr + c4], b[fr + c5], b[fr + c6], b[fr + c7]);
                let x0 = vec4(select(0.0, a[t0.off + xg + cl], t0.m != 0.0));
                let x1 = vec4(select(0.0, a[t1.off + xg + cl], t1.m != 0.0));
                let x2 = vec4(select(0.0, a[t2.off + xg + cl], t2.m != 0.0));
                let x3 = vec4(select(0.0, a[t3.off + xg + cl], t3.m != 0.0));
                lo0 = fma(x0, fl, lo0);
                hi0 = fma(x0, fh, hi0);
                lo1 = fma(x1, fl, lo1);
                hi1 = fma(x1, fh, hi1);
                lo2 = fma(x2, fl, lo2);
                hi2 = fma(x2, fh, hi2);
                lo3 = fma(x3, fl, lo3);
                hi3 = fma(x3, fh, hi3);
                fr += p.cout;
            }
        }
    }
    store8(pix0, pixels, co0, last, lo0, hi0);
    store8(pix0 + 1u, pixels, co0, last, lo1, hi1);
    store8(pix0 + 2u, pixels, co0, last, lo2, hi2);
    store8(pix0 + 3u, pixels, co0, last, lo3, hi3);
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

// dW for 4 consecutive local input channels x 4 consecutive output channels of one group and
// one tap per invocation, over one chunk of `chunk_rows` output rows (tails clamped, not
// stored): each pixel loads 4 x and 4 dy values for 16 FMAs.
// Flipped, per-group transposed filter [kh, kw, opg, cin] (a: the [kh, kw, cpg, cout] filter):
// out[kh-1-ky, kw-1-kx, j, q*cpg + cl] = f[ky, kx, cl, q*opg + j]. A stride-1 input gradient is
// the grouped conv of dy with it (padding eff - 1 - pad).
@compute @workgroup_size(64)
fn grouped_flip_filter(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = linear_index(gid, nwg, 64u);
    let cpg = p.cin / p.groups;
    let opg = p.cout / p.groups;
    if id >= p.kh * p.kw * opg * p.cin { return; }
    let ci = id % p.cin;
    let j = (id / p.cin) % opg;
    let t = id / (p.cin * opg);
    let ky = p.kh - 1u - t / p.kw;
    let kx = p.kw - 1u - t % p.kw;
    let co = (ci / cpg) * opg + j;
    out[id] = a[((ky * p.kw + kx) * cpg + ci % cpg) * p.cout + co] + 0.0 * (b[0] + bias[0]);
}

@compute @workgroup_size(64)
fn grouped_filter_grad(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = linear_index(gid, nwg, 64u);
    let cpg = p.cin / p.groups;
    let opg = p.cout / p.groups;
    let ncl = (cpg + 3u) / 4u;
    let nco = (opg + 3u) / 4u;
    let blocks = p.kh * p.kw * ncl * nco * p.groups;
    let rows = p.n * p.oh;
    let chunks = (rows + p.chunk_rows - 1u) / p.chunk_rows;
    if id >= blocks * chunks { return; }
    let blk = id % blocks;
    let chunk = id / blocks;
    let q = blk % p.groups;
    let co0 = q * opg + ((blk / p.groups) % nco) * 4u;
    let cl0 = ((blk / (p.groups * nco)) % ncl) * 4u;
    let t = blk / (p.groups * nco * ncl);
    let kx = t % p.kw;
    let ky = t / p.kw;
    let last = (q + 1u) * opg - 1u;
    let co = vec4(co0, min(co0 + 1u, last), min(co0 + 2u, last), min(co0 + 3u, last));
    let ci = q * cpg + vec4(cl0, min(cl0 + 1u, cpg - 1u), min(cl0 + 2u, cpg - 1u), min(cl0 + 3u, cpg - 1u));
    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);
    let r1 = min(rows, (chunk + 1u) * p.chunk_rows);
    for (var r = chunk * p.chunk_rows; r < r1; r++) {
        let iy = in_pos(r % p.oh, ky, p.sh, p.dh, p.pad_top);
        if iy < 0 || iy >= i32(p.h) { continue; }
        let xrow = ((r / p.oh) * p.h + u32(iy)) * p.w;
        for (var ox = 0u; ox < p.ow; ox++) {
            let ix = in_pos(ox, kx, p.sw, p.dw, p.pad_left);
            if ix < 0 || ix >= i32(p.w) { continue; }
            let xo = (xrow + u32(ix)) * p.cin;
            let go = (r * p.ow + ox) * p.cout;
            let g = vec4(b[go + co.x], b[go + co.y], b[go + co.z], b[go + co.w]);
            acc0 = fma(vec4(a[xo + ci.x]), g, acc0);
            acc1 = fma(vec4(a[xo + ci.y]), g, acc1);
            acc2 = fma(vec4(a[xo + ci.z]), g, acc2);
            acc3 = fma(vec4(a[xo + ci.w]), g, acc3);
        }
    }
    let base = chunk * p.kh * p.kw * cpg * p.cout + ((ky * p.kw + kx) * cpg + cl0) * p.cout;
    store_dw(base, co0, last, cl0, cpg, acc0, acc1, acc2, acc3);
}

// Stores the 4 x 4 block (rows: local input channels cl0.., columns: output channels co0..)
// of a partial filter gradient at `base` (the element of (cl0, channel 0)); tails skipped.
fn store_dw(base: u32, co0: u32, last: u32, cl0: u32, cpg: u32, a0: vec4<f32>, a1: vec4<f32>, a2: vec4<f32>, a3: vec4<f32>) {
    var rows = array<vec4<f32>, 4>(a0, a1, a2, a3);
    for (var i = 0u; i < 4u; i++) {
        if cl0 + i >= cpg { return; }
        for (var j = 0u; j < 4u; j++) {
            if co0 + j <= last { out[base + i * p.cout + co0 + j] = rows[i][j] + 0.0 * bias[0]; }
        }
    }
}
