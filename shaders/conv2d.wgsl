// conv2d family (tf.nn.conv2d on NHWC input, [kh, kw, cin, cout] filter), with fused bias and
// activation. Variants, picked per adapter and shape by crates/kernels/src/conv2d.rs:
//   conv2d_direct  one output per invocation; any sizes;
//   conv2d_reg     register-blocked implicit GEMM (8 pixels x 16 channels per invocation,
//                  vec4 loads, no shared memory): fastest on CPU adapters such as lavapipe;
//   im2col         writes the [pixels, kh*kw*cin] patch matrix, which matmul_tiled then
//                  multiplies with shared-memory tiles: the path for discrete/integrated GPUs.

struct Params {
    n: u32, h: u32, w: u32, cin: u32,
    oh: u32, ow: u32, cout: u32, kh: u32,
    kw: u32, sh: u32, sw: u32, dh: u32,
    dw: u32, pad_top: u32, pad_left: u32, has_bias: u32,
    act: u32, _p0: u32, _p1: u32, _p2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> f: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

fn activate(v: f32) -> f32 {
    return apply_activation(v, p.act);
}

// Output pixel `row` as (batch, top input row, left input column) of its window.
fn pixel(row: u32) -> vec3<i32> {
    let ox = row % p.ow;
    let t = row / p.ow;
    let oy = t % p.oh;
    let b = t / p.oh;
    return vec3(i32(b), i32(oy * p.sh) - i32(p.pad_top), i32(ox * p.sw) - i32(p.pad_left));
}

// Input offset (in vec4s) of kernel tap (ky, kx) for a pixel, and 1 if inside, else 0 (callers
// select 0 for the padding: multiplying x[0] by 0 would turn an inf there into NaN).
fn tap(px: vec3<i32>, ky: u32, kx: u32) -> vec2<u32> {
    let iy = px.y + i32(ky * p.dh);
    let ix = px.z + i32(kx * p.dw);
    let inside = iy >= 0 && iy < i32(p.h) && ix >= 0 && ix < i32(p.w);
    let off = select(0u, ((u32(px.x) * p.h + u32(iy)) * p.w + u32(ix)) * (p.cin / 4u), inside);
    return vec2(off, select(0u, 1u, inside));
}

// 4 consecutive output pixels x 8 consecutive output channels per invocation; any sizes
// (pixel and channel tails are clamped and not stored). Each filter value is loaded once for
// the 4 pixels and each input value once for the 8 channels.
@compute @workgroup_size(64)
fn conv2d_direct(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = gid.x + gid.y * nwg.x * 64u;
    let ncb = (p.cout + 7u) / 8u;
    let pixels = p.n * p.oh * p.ow;
    if id >= ((pixels + 3u) / 4u) * ncb { return; }
    let co0 = (id % ncb) * 8u;
    let pix0 = (id / ncb) * 4u;
    let last = p.cout - 1u;
    let c0 = min(co0, last);
    let c1 = min(co0 + 1u, last);
    let c2 = min(co0 + 2u, last);
    let c3 = min(co0 + 3u, last);
    let c4 = min(co0 + 4u, last);
    let c5 = min(co0 + 5u, last);
    let c6 = min(co0 + 6u, last);
    let c7 = min(co0 + 7u, last);
    let px0 = pixel(min(pix0, pixels - 1u));
    let px1 = pixel(min(pix0 + 1u, pixels - 1u));
    let px2 = pixel(min(pix0 + 2u, pixels - 1u));
    let px3 = pixel(min(pix0 + 3u, pixels - 1u));
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
            let t0 = tap1(px0, ky, kx);
            let t1 = tap1(px1, ky, kx);
            let t2 = tap1(px2, ky, kx);
            let t3 = tap1(px3, ky, kx);
            var fr = (ky * p.kw + kx) * p.cin * p.cout;
            for (var ci = 0u; ci < p.cin; ci++) {
                let fl = vec4(f[fr + c0], f[fr + c1], f[fr + c2], f[fr + c3]);
                let fh = vec4(f[fr + c4], f[fr + c5], f[fr + c6], f[fr + c7]);
                let x0 = vec4(select(0.0, x[t0.off + ci], t0.m != 0.0));
                let x1 = vec4(select(0.0, x[t1.off + ci], t1.m != 0.0));
                let x2 = vec4(select(0.0, x[t2.off + ci], t2.m != 0.0));
                let x3 = vec4(select(0.0, x[t3.off + ci], t3.m != 0.0));
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
    store8(pix0, pixels, co0, lo0, hi0);
    store8(pix0 + 1u, pixels, co0, lo1, hi1);
    store8(pix0 + 2u, pixels, co0, lo2, hi2);
    store8(pix0 + 3u, pixels, co0, lo3, hi3);
}

// Element offset of kernel tap (ky, kx)'s first input channel for a pixel, and 1.0 when the
// tap is inside the input (0.0 in the padding, where the offset is 0).
struct Tap {
    off: u32,
    m: f32,
}

fn tap1(px: vec3<i32>, ky: u32, kx: u32) -> Tap {
    let iy = px.y + i32(ky * p.dh);
    let ix = px.z + i32(kx * p.dw);
    let inside = iy >= 0 && iy < i32(p.h) && ix >= 0 && ix < i32(p.w);
    let off = select(0u, ((u32(px.x) * p.h + u32(iy)) * p.w + u32(ix)) * p.cin, inside);
    return Tap(off, select(0.0, 1.0, inside));
}

// Stores 8 channels (lo, hi) of pixel `pix` when the pixel exists.
fn store8(pix: u32, pixels: u32, co0: u32, lo: vec4<f32>, hi: vec4<f32>) {
    if pix >= pixels { return; }
    store1(pix, co0, lo.x);
    store1(pix, co0 + 1u, lo.y);
    store1(pix, co0 + 2u, lo.z);
    store1(pix, co0 + 3u, lo.w);
    store1(pix, co0 + 4u, hi.x);
    store1(pix, co0 + 5u, hi.y);
    store1(pix, co0 + 6u, hi.z);
    store1(pix, co0 + 7u, hi.w);
}

// Adds the bias, applies the activation and stores channel `co` of pixel `pix` (if it exists).
fn store1(pix: u32, co: u32, acc: f32) {
    if co >= p.cout { return; }
    var v = acc;
    if p.has_bias != 0u { v += bias[co]; }
    out[pix * p.cout + co] = activate(v);
}

// Patch matrix for the im2col + matmul path: out[pixel, (ky * kw + kx) * cin + ci].
@compute @workgroup_size(64)
fn im2col(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = gid.x + gid.y * nwg.x * 64u;
    let kdim = p.kh * p.kw * p.cin;
    if id >= p.n * p.oh * p.ow * kdim { return; }
    let col = id % kdim;
    let px = pixel(id / kdim);
    let ci = col % p.cin;
    let kx = (col / p.cin) % p.kw;
    let ky = col / (p.cin * p.kw);
    let iy = px.y + i32(ky * p.dh);
    let ix = px.z + i32(kx * p.dw);
    var v = 0.0;
    if iy >= 0 && iy < i32(p.h) && ix >= 0 && ix < i32(p.w) {
        v = x[((u32(px.x) * p.h + u32(iy)) * p.w + u32(ix)) * p.cin + ci];
    }
    out[id] = v + 0.0 * (f[0] + bias[0]);
}

// Flipped, transposed filter for stride-1 transposed convolution as a plain conv:
// out[kh-1-ky, kw-1-kx, co, ci] = f[ky, kx, ci, co] (x = the filter, shape [kh, kw, cin, cout]).
@compute @workgroup_size(64)
fn flip_filter(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = gid.x + gid.y * nwg.x * 64u;
    if id >= p.kh * p.kw * p.cin * p.cout { return; }
    let co = id % p.cout;
    let ci = (id / p.cout) % p.cin;
    let tap = id / (p.cout * p.cin);
    let kx = tap % p.kw;
    let ky = tap / p.kw;
    let dst = (((p.kh - 1u - ky) * p.kw + (p.kw - 1u - kx)) * p.cout + co) * p.cin + ci;
    out[dst] = x[id] + 0.0 * (f[0] + bias[0]);
}

// Vec4 views of the same bindings, used by the register-blocked variant.
@group(0) @binding(1) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> f4: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> out4: array<vec4<f32>>;

fn store4(row: u32, c4: u32, rows: u32, v: vec4<f32>) {
    let co4 = p.cout / 4u;
    if row >= rows || c4 >= co4 { return; }
    var r = v;
    if p.has_bias != 0u {
        let c = c4 * 4u;
        r = r + vec4(bias[c], bias[c + 1u], bias[c + 2u], bias[c + 3u]);
    }
    out4[row * co4 + c4] = vec4(activate(r.x), activate(r.y), activate(r.z), activate(r.w));
}

// The upstream gradient dY [n, oh, ow, cout] at binding 2, for the filter-gradient entries.
@group(0) @binding(2) var<storage, read> gy: array<f32>;
@group(0) @binding(2) var<storage, read> gy4: array<vec4<f32>>;

// Filter gradient, dW[ky, kx, ci, co0..co0+4] per invocation over one chunk of `p._p0`
// batch-rows (n*oh rows of output pixels); partial sums land at out[chunk * K + e] and
// `sum_chunks` adds them. Any sizes (the channel tail is clamped and not stored).
@compute @workgroup_size(64)
fn conv2d_filter_grad(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = gid.x + gid.y * nwg.x * 64u;
    let elems = p.kh * p.kw * p.cin * p.cout;
    let ncb = (p.cout + 3u) / 4u;
    let blocks = p.kh * p.kw * p.cin * ncb;
    let rows = p.n * p.oh;
    let nchunks = (rows + p._p0 - 1u) / p._p0;
    if id >= blocks * nchunks { return; }
    let blk = id % blocks;
    let chunk = id / blocks;
    let co0 = (blk % ncb) * 4u;
    let ci = (blk / ncb) % p.cin;
    let kx = (blk / (ncb * p.cin)) % p.kw;
    let ky = blk / (ncb * p.cin * p.kw);
    let c1 = min(co0 + 1u, p.cout - 1u);
    let c2 = min(co0 + 2u, p.cout - 1u);
    let c3 = min(co0 + 3u, p.cout - 1u);
    var acc = vec4<f32>(0.0);
    let r1 = min(rows, (chunk + 1u) * p._p0);
    for (var r = chunk * p._p0; r < r1; r++) {
        let b = r / p.oh;
        let oy = r % p.oh;
        let iy = i32(oy * p.sh + ky * p.dh) - i32(p.pad_top);
        if iy < 0 || iy >= i32(p.h) { continue; }
        let xrow = (b * p.h + u32(iy)) * p.w;
        var g = r * p.ow * p.cout;
        for (var ox = 0u; ox < p.ow; ox++) {
            let ix = i32(ox * p.sw + kx * p.dw) - i32(p.pad_left);
            if ix >= 0 && ix < i32(p.w) {
                let xv = vec4(x[(xrow + u32(ix)) * p.cin + ci]);
                acc = fma(xv, vec4(gy[g + co0], gy[g + c1], gy[g + c2], gy[g + c3]), acc);
            }
            g += p.cout;
        }
    }
    let e0 = chunk * elems + ((ky * p.kw + kx) * p.cin + ci) * p.cout;
    for (var j = 0u; j < 4u; j++) {
        if co0 + j < p.cout { out[e0 + co0 + j] = acc[j] + 0.0 * bias[0]; }
    }
}

// out[e] = sum over chunks of partial[chunk * K + e], K = p._p1 elements, p._p2 chunks.
@group(0) @binding(1) var<storage, read> partial: array<f32>;

@compute @workgroup_size(64)
fn sum_chunks(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let e = gid.x + gid.y * nwg.x * 64u;
    if e >= p._p1 { return; }
    var acc = 0.0;
    for (var c = 0u; c < p._p2; c++) { acc += partial[c * p._p1 + e]; }
    out[e] = acc + 0.0 * (gy[0] + bias[0]);
}

// BEGIN GENERATED by tools/gen_conv2d_reg.py 8 4
// Implicit GEMM: 8 pixels x 16 channels per invocation; cin, cout % 4 == 0.
@compute @workgroup_size(64)
fn conv2d_reg(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = gid.x + gid.y * nwg.x * 64u;
    let ncb = (p.cout + 15u) / 16u;
    let rows = p.n * p.oh * p.ow;
    if id >= ncb * ((rows + 7u) / 8u) { return; }
    let col0 = (id % ncb) * 16u;
    let row0 = (id / ncb) * 8u;
    let co4 = p.cout / 4u;
    let ci4 = p.cin / 4u;
    let c0 = min(col0 / 4u + 0u, co4 - 1u);
    let c1 = min(col0 / 4u + 1u, co4 - 1u);
    let c2 = min(col0 / 4u + 2u, co4 - 1u);
    let c3 = min(col0 / 4u + 3u, co4 - 1u);
    let px0 = pixel(min(row0 + 0u, rows - 1u));
    let px1 = pixel(min(row0 + 1u, rows - 1u));
    let px2 = pixel(min(row0 + 2u, rows - 1u));
    let px3 = pixel(min(row0 + 3u, rows - 1u));
    let px4 = pixel(min(row0 + 4u, rows - 1u));
    let px5 = pixel(min(row0 + 5u, rows - 1u));
    let px6 = pixel(min(row0 + 6u, rows - 1u));
    let px7 = pixel(min(row0 + 7u, rows - 1u));
    var acc0_0 = vec4<f32>(0.0);
    var acc0_1 = vec4<f32>(0.0);
    var acc0_2 = vec4<f32>(0.0);
    var acc0_3 = vec4<f32>(0.0);
    var acc1_0 = vec4<f32>(0.0);
    var acc1_1 = vec4<f32>(0.0);
    var acc1_2 = vec4<f32>(0.0);
    var acc1_3 = vec4<f32>(0.0);
    var acc2_0 = vec4<f32>(0.0);
    var acc2_1 = vec4<f32>(0.0);
    var acc2_2 = vec4<f32>(0.0);
    var acc2_3 = vec4<f32>(0.0);
    var acc3_0 = vec4<f32>(0.0);
    var acc3_1 = vec4<f32>(0.0);
    var acc3_2 = vec4<f32>(0.0);
    var acc3_3 = vec4<f32>(0.0);
    var acc4_0 = vec4<f32>(0.0);
    var acc4_1 = vec4<f32>(0.0);
    var acc4_2 = vec4<f32>(0.0);
    var acc4_3 = vec4<f32>(0.0);
    var acc5_0 = vec4<f32>(0.0);
    var acc5_1 = vec4<f32>(0.0);
    var acc5_2 = vec4<f32>(0.0);
    var acc5_3 = vec4<f32>(0.0);
    var acc6_0 = vec4<f32>(0.0);
    var acc6_1 = vec4<f32>(0.0);
    var acc6_2 = vec4<f32>(0.0);
    var acc6_3 = vec4<f32>(0.0);
    var acc7_0 = vec4<f32>(0.0);
    var acc7_1 = vec4<f32>(0.0);
    var acc7_2 = vec4<f32>(0.0);
    var acc7_3 = vec4<f32>(0.0);
    for (var ky = 0u; ky < p.kh; ky++) {
        for (var kx = 0u; kx < p.kw; kx++) {
            let t0 = tap(px0, ky, kx);
            let m0 = t0.y != 0u;
            let t1 = tap(px1, ky, kx);
            let m1 = t1.y != 0u;
            let t2 = tap(px2, ky, kx);
            let m2 = t2.y != 0u;
            let t3 = tap(px3, ky, kx);
            let m3 = t3.y != 0u;
            let t4 = tap(px4, ky, kx);
            let m4 = t4.y != 0u;
            let t5 = tap(px5, ky, kx);
            let m5 = t5.y != 0u;
            let t6 = tap(px6, ky, kx);
            let m6 = t6.y != 0u;
            let t7 = tap(px7, ky, kx);
            let m7 = t7.y != 0u;
            let fbase = (ky * p.kw + kx) * p.cin * co4;
            for (var ci = 0u; ci < ci4; ci++) {
                let fr = fbase + ci * 4u * co4;
                let b0_0 = f4[fr + 0u * co4 + c0];
                let b0_1 = f4[fr + 0u * co4 + c1];
                let b0_2 = f4[fr + 0u * co4 + c2];
                let b0_3 = f4[fr + 0u * co4 + c3];
                let b1_0 = f4[fr + 1u * co4 + c0];
                let b1_1 = f4[fr + 1u * co4 + c1];
                let b1_2 = f4[fr + 1u * co4 + c2];
                let b1_3 = f4[fr + 1u * co4 + c3];
                let b2_0 = f4[fr + 2u * co4 + c0];
                let b2_1 = f4[fr + 2u * co4 + c1];
                let b2_2 = f4[fr + 2u * co4 + c2];
                let b2_3 = f4[fr + 2u * co4 + c3];
                let b3_0 = f4[fr + 3u * co4 + c0];
                let b3_1 = f4[fr + 3u * co4 + c1];
                let b3_2 = f4[fr + 3u * co4 + c2];
                let b3_3 = f4[fr + 3u * co4 + c3];
                let av0 = select(vec4<f32>(0.0), x4[t0.x + ci], m0);
                acc0_0 = fma(vec4(av0.x), b0_0, acc0_0); acc0_0 = fma(vec4(av0.y), b1_0, acc0_0); acc0_0 = fma(vec4(av0.z), b2_0, acc0_0); acc0_0 = fma(vec4(av0.w), b3_0, acc0_0);
                acc0_1 = fma(vec4(av0.x), b0_1, acc0_1); acc0_1 = fma(vec4(av0.y), b1_1, acc0_1); acc0_1 = fma(vec4(av0.z), b2_1, acc0_1); acc0_1 = fma(vec4(av0.w), b3_1, acc0_1);
                acc0_2 = fma(vec4(av0.x), b0_2, acc0_2); acc0_2 = fma(vec4(av0.y), b1_2, acc0_2); acc0_2 = fma(vec4(av0.z), b2_2, acc0_2); acc0_2 = fma(vec4(av0.w), b3_2, acc0_2);
                acc0_3 = fma(vec4(av0.x), b0_3, acc0_3); acc0_3 = fma(vec4(av0.y), b1_3, acc0_3); acc0_3 = fma(vec4(av0.z), b2_3, acc0_3); acc0_3 = fma(vec4(av0.w), b3_3, acc0_3);
                let av1 = select(vec4<f32>(0.0), x4[t1.x + ci], m1);
                acc1_0 = fma(vec4(av1.x), b0_0, acc1_0); acc1_0 = fma(vec4(av1.y), b1_0, acc1_0); acc1_0 = fma(vec4(av1.z), b2_0, acc1_0); acc1_0 = fma(vec4(av1.w), b3_0, acc1_0);
                acc1_1 = fma(vec4(av1.x), b0_1, acc1_1); acc1_1 = fma(vec4(av1.y), b1_1, acc1_1); acc1_1 = fma(vec4(av1.z), b2_1, acc1_1); acc1_1 = fma(vec4(av1.w), b3_1, acc1_1);
                acc1_2 = fma(vec4(av1.x), b0_2, acc1_2); acc1_2 = fma(vec4(av1.y), b1_2, acc1_2); acc1_2 = fma(vec4(av1.z), b2_2, acc1_2); acc1_2 = fma(vec4(av1.w), b3_2, acc1_2);
                acc1_3 = fma(vec4(av1.x), b0_3, acc1_3); acc1_3 = fma(vec4(av1.y), b1_3, acc1_3); acc1_3 = fma(vec4(av1.z), b2_3, acc1_3); acc1_3 = fma(vec4(av1.w), b3_3, acc1_3);
                let av2 = select(vec4<f32>(0.0), x4[t2.x + ci], m2);
                acc2_0 = fma(vec4(av2.x), b0_0, acc2_0); acc2_0 = fma(vec4(av2.y), b1_0, acc2_0); acc2_0 = fma(vec4(av2.z), b2_0, acc2_0); acc2_0 = fma(vec4(av2.w), b3_0, acc2_0);
                acc2_1 = fma(vec4(av2.x), b0_1, acc2_1); acc2_1 = fma(vec4(av2.y), b1_1, acc2_1); acc2_1 = fma(vec4(av2.z), b2_1, acc2_1); acc2_1 = fma(vec4(av2.w), b3_1, acc2_1);
                acc2_2 = fma(vec4(av2.x), b0_2, acc2_2); acc2_2 = fma(vec4(av2.y), b1_2, acc2_2); acc2_2 = fma(vec4(av2.z), b2_2, acc2_2); acc2_2 = fma(vec4(av2.w), b3_2, acc2_2);
                acc2_3 = fma(vec4(av2.x), b0_3, acc2_3); acc2_3 = fma(vec4(av2.y), b1_3, acc2_3); acc2_3 = fma(vec4(av2.z), b2_3, acc2_3); acc2_3 = fma(vec4(av2.w), b3_3, acc2_3);
                let av3 = select(vec4<f32>(0.0), x4[t3.x + ci], m3);
                acc3_0 = fma(vec4(av3.x), b0_0, acc3_0); acc3_0 = fma(vec4(av3.y), b1_0, acc3_0); acc3_0 = fma(vec4(av3.z), b2_0, acc3_0); acc3_0 = fma(vec4(av3.w), b3_0, acc3_0);
                acc3_1 = fma(vec4(av3.x), b0_1, acc3_1); acc3_1 = fma(vec4(av3.y), b1_1, acc3_1); acc3_1 = fma(vec4(av3.z), b2_1, acc3_1); acc3_1 = fma(vec4(av3.w), b3_1, acc3_1);
                acc3_2 = fma(vec4(av3.x), b0_2, acc3_2); acc3_2 = fma(vec4(av3.y), b1_2, acc3_2); acc3_2 = fma(vec4(av3.z), b2_2, acc3_2); acc3_2 = fma(vec4(av3.w), b3_2, acc3_2);
                acc3_3 = fma(vec4(av3.x), b0_3, acc3_3); acc3_3 = fma(vec4(av3.y), b1_3, acc3_3); acc3_3 = fma(vec4(av3.z), b2_3, acc3_3); acc3_3 = fma(vec4(av3.w), b3_3, acc3_3);
                let av4 = select(vec4<f32>(0.0), x4[t4.x + ci], m4);
                acc4_0 = fma(vec4(av4.x), b0_0, acc4_0); acc4_0 = fma(vec4(av4.y), b1_0, acc4_0); acc4_0 = fma(vec4(av4.z), b2_0, acc4_0); acc4_0 = fma(vec4(av4.w), b3_0, acc4_0);
                acc4_1 = fma(vec4(av4.x), b0_1, acc4_1); acc4_1 = fma(vec4(av4.y), b1_1, acc4_1); acc4_1 = fma(vec4(av4.z), b2_1, acc4_1); acc4_1 = fma(vec4(av4.w), b3_1, acc4_1);
                acc4_2 = fma(vec4(av4.x), b0_2, acc4_2); acc4_2 = fma(vec4(av4.y), b1_2, acc4_2); acc4_2 = fma(vec4(av4.z), b2_2, acc4_2); acc4_2 = fma(vec4(av4.w), b3_2, acc4_2);
                acc4_3 = fma(vec4(av4.x), b0_3, acc4_3); acc4_3 = fma(vec4(av4.y), b1_3, acc4_3); acc4_3 = fma(vec4(av4.z), b2_3, acc4_3); acc4_3 = fma(vec4(av4.w), b3_3, acc4_3);
                let av5 = select(vec4<f32>(0.0), x4[t5.x + ci], m5);
                acc5_0 = fma(vec4(av5.x), b0_0, acc5_0); acc5_0 = fma(vec4(av5.y), b1_0, acc5_0); acc5_0 = fma(vec4(av5.z), b2_0, acc5_0); acc5_0 = fma(vec4(av5.w), b3_0, acc5_0);
                acc5_1 = fma(vec4(av5.x), b0_1, acc5_1); acc5_1 = fma(vec4(av5.y), b1_1, acc5_1); acc5_1 = fma(vec4(av5.z), b2_1, acc5_1); acc5_1 = fma(vec4(av5.w), b3_1, acc5_1);
                acc5_2 = fma(vec4(av5.x), b0_2, acc5_2); acc5_2 = fma(vec4(av5.y), b1_2, acc5_2); acc5_2 = fma(vec4(av5.z), b2_2, acc5_2); acc5_2 = fma(vec4(av5.w), b3_2, acc5_2);
                acc5_3 = fma(vec4(av5.x), b0_3, acc5_3); acc5_3 = fma(vec4(av5.y), b1_3, acc5_3); acc5_3 = fma(vec4(av5.z), b2_3, acc5_3); acc5_3 = fma(vec4(av5.w), b3_3, acc5_3);
                let av6 = select(vec4<f32>(0.0), x4[t6.x + ci], m6);
                acc6_0 = fma(vec4(av6.x), b0_0, acc6_0); acc6_0 = fma(vec4(av6.y), b1_0, acc6_0); acc6_0 = fma(vec4(av6.z), b2_0, acc6_0); acc6_0 = fma(vec4(av6.w), b3_0, acc6_0);
                acc6_1 = fma(vec4(av6.x), b0_1, acc6_1); acc6_1 = fma(vec4(av6.y), b1_1, acc6_1); acc6_1 = fma(vec4(av6.z), b2_1, acc6_1); acc6_1 = fma(vec4(av6.w), b3_1, acc6_1);
                acc6_2 = fma(vec4(av6.x), b0_2, acc6_2); acc6_2 = fma(vec4(av6.y), b1_2, acc6_2); acc6_2 = fma(vec4(av6.z), b2_2, acc6_2); acc6_2 = fma(vec4(av6.w), b3_2, acc6_2);
                acc6_3 = fma(vec4(av6.x), b0_3, acc6_3); acc6_3 = fma(vec4(av6.y), b1_3, acc6_3); acc6_3 = fma(vec4(av6.z), b2_3, acc6_3); acc6_3 = fma(vec4(av6.w), b3_3, acc6_3);
                let av7 = select(vec4<f32>(0.0), x4[t7.x + ci], m7);
                acc7_0 = fma(vec4(av7.x), b0_0, acc7_0); acc7_0 = fma(vec4(av7.y), b1_0, acc7_0); acc7_0 = fma(vec4(av7.z), b2_0, acc7_0); acc7_0 = fma(vec4(av7.w), b3_0, acc7_0);
                acc7_1 = fma(vec4(av7.x), b0_1, acc7_1); acc7_1 = fma(vec4(av7.y), b1_1, acc7_1); acc7_1 = fma(vec4(av7.z), b2_1, acc7_1); acc7_1 = fma(vec4(av7.w), b3_1, acc7_1);
                acc7_2 = fma(vec4(av7.x), b0_2, acc7_2); acc7_2 = fma(vec4(av7.y), b1_2, acc7_2); acc7_2 = fma(vec4(av7.z), b2_2, acc7_2); acc7_2 = fma(vec4(av7.w), b3_2, acc7_2);
                acc7_3 = fma(vec4(av7.x), b0_3, acc7_3); acc7_3 = fma(vec4(av7.y), b1_3, acc7_3); acc7_3 = fma(vec4(av7.z), b2_3, acc7_3); acc7_3 = fma(vec4(av7.w), b3_3, acc7_3);
            }
        }
    }
    store4(row0 + 0u, col0 / 4u + 0u, rows, acc0_0);
    store4(row0 + 0u, col0 / 4u + 1u, rows, acc0_1);
    store4(row0 + 0u, col0 / 4u + 2u, rows, acc0_2);
    store4(row0 + 0u, col0 / 4u + 3u, rows, acc0_3);
    store4(row0 + 1u, col0 / 4u + 0u, rows, acc1_0);
    store4(row0 + 1u, col0 / 4u + 1u, rows, acc1_1);
    store4(row0 + 1u, col0 / 4u + 2u, rows, acc1_2);
    store4(row0 + 1u, col0 / 4u + 3u, rows, acc1_3);
    store4(row0 + 2u, col0 / 4u + 0u, rows, acc2_0);
    store4(row0 + 2u, col0 / 4u + 1u, rows, acc2_1);
    store4(row0 + 2u, col0 / 4u + 2u, rows, acc2_2);
    store4(row0 + 2u, col0 / 4u + 3u, rows, acc2_3);
    store4(row0 + 3u, col0 / 4u + 0u, rows, acc3_0);
    store4(row0 + 3u, col0 / 4u + 1u, rows, acc3_1);
    store4(row0 + 3u, col0 / 4u + 2u, rows, acc3_2);
    store4(row0 + 3u, col0 / 4u + 3u, rows, acc3_3);
    store4(row0 + 4u, col0 / 4u + 0u, rows, acc4_0);
    store4(row0 + 4u, col0 / 4u + 1u, rows, acc4_1);
    store4(row0 + 4u, col0 / 4u + 2u, rows, acc4_2);
    store4(row0 + 4u, col0 / 4u + 3u, rows, acc4_3);
    store4(row0 + 5u, col0 / 4u + 0u, rows, acc5_0);
    store4(row0 + 5u, col0 / 4u + 1u, rows, acc5_1);
    store4(row0 + 5u, col0 / 4u + 2u, rows, acc5_2);
    store4(row0 + 5u, col0 / 4u + 3u, rows, acc5_3);
    store4(row0 + 6u, col0 / 4u + 0u, rows, acc6_0);
    store4(row0 + 6u, col0 / 4u + 1u, rows, acc6_1);
    store4(row0 + 6u, col0 / 4u + 2u, rows, acc6_2);
    store4(row0 + 6u, col0 / 4u + 3u, rows, acc6_3);
    store4(row0 + 7u, col0 / 4u + 0u, rows, acc7_0);
    store4(row0 + 7u, col0 / 4u + 1u, rows, acc7_1);
    store4(row0 + 7u, col0 / 4u + 2u, rows, acc7_2);
    store4(row0 + 7u, col0 / 4u + 3u, rows, acc7_3);
}

// Filter gradient, register-blocked: one tap x 4 cin x 16 cout per invocation.
@compute @workgroup_size(64)
fn conv2d_filter_grad_reg(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = gid.x + gid.y * nwg.x * 64u;
    let co4 = p.cout / 4u;
    let ci4 = p.cin / 4u;
    let ncb = (p.cout + 15u) / 16u;
    let blocks = ncb * ci4 * p.kh * p.kw;
    let rows = p.n * p.oh;
    let nchunks = (rows + p._p0 - 1u) / p._p0;
    if id >= blocks * nchunks { return; }
    let chunk = id / blocks;
    let blk = id % blocks;
    let cb = blk % ncb;
    let ci = (blk / ncb) % ci4;
    let tap_i = blk / (ncb * ci4);
    let kx = tap_i % p.kw;
    let ky = tap_i / p.kw;
    let c0 = min(cb * 4u + 0u, co4 - 1u);
    let c1 = min(cb * 4u + 1u, co4 - 1u);
    let c2 = min(cb * 4u + 2u, co4 - 1u);
    let c3 = min(cb * 4u + 3u, co4 - 1u);
    var acc0_0 = vec4<f32>(0.0);
    var acc0_1 = vec4<f32>(0.0);
    var acc0_2 = vec4<f32>(0.0);
    var acc0_3 = vec4<f32>(0.0);
    var acc1_0 = vec4<f32>(0.0);
    var acc1_1 = vec4<f32>(0.0);
    var acc1_2 = vec4<f32>(0.0);
    var acc1_3 = vec4<f32>(0.0);
    var acc2_0 = vec4<f32>(0.0);
    var acc2_1 = vec4<f32>(0.0);
    var acc2_2 = vec4<f32>(0.0);
    var acc2_3 = vec4<f32>(0.0);
    var acc3_0 = vec4<f32>(0.0);
    var acc3_1 = vec4<f32>(0.0);
    var acc3_2 = vec4<f32>(0.0);
    var acc3_3 = vec4<f32>(0.0);
    let r1 = min(rows, (chunk + 1u) * p._p0);
    for (var r = chunk * p._p0; r < r1; r++) {
        let b = r / p.oh;
        let oy = r % p.oh;
        {
            let iy = i32(oy * p.sh + ky * p.dh) - i32(p.pad_top);
            if iy < 0 || iy >= i32(p.h) { continue; }
            let xrow = (b * p.h + u32(iy)) * p.w;
            let grow = (b * p.oh + oy) * p.ow;
            for (var ox = 0u; ox < p.ow; ox++) {
                let ix = i32(ox * p.sw + kx * p.dw) - i32(p.pad_left);
                if ix < 0 || ix >= i32(p.w) { continue; }
                let xv = x4[(xrow + u32(ix)) * ci4 + ci];
                let gb = (grow + ox) * co4;
                let g0 = gy4[gb + c0];
                let g1 = gy4[gb + c1];
                let g2 = gy4[gb + c2];
                let g3 = gy4[gb + c3];
                acc0_0 = fma(vec4(xv.x), g0, acc0_0);
                acc0_1 = fma(vec4(xv.x), g1, acc0_1);
                acc0_2 = fma(vec4(xv.x), g2, acc0_2);
                acc0_3 = fma(vec4(xv.x), g3, acc0_3);
                acc1_0 = fma(vec4(xv.y), g0, acc1_0);
                acc1_1 = fma(vec4(xv.y), g1, acc1_1);
                acc1_2 = fma(vec4(xv.y), g2, acc1_2);
                acc1_3 = fma(vec4(xv.y), g3, acc1_3);
                acc2_0 = fma(vec4(xv.z), g0, acc2_0);
                acc2_1 = fma(vec4(xv.z), g1, acc2_1);
                acc2_2 = fma(vec4(xv.z), g2, acc2_2);
                acc2_3 = fma(vec4(xv.z), g3, acc2_3);
                acc3_0 = fma(vec4(xv.w), g0, acc3_0);
                acc3_1 = fma(vec4(xv.w), g1, acc3_1);
                acc3_2 = fma(vec4(xv.w), g2, acc3_2);
                acc3_3 = fma(vec4(xv.w), g3, acc3_3);
            }
        }
    }
    let base = chunk * p.kh * p.kw * p.cin * co4 + (tap_i * p.cin + ci * 4u) * co4;
    if bias[0] == 12345.678 { return; } // keeps binding 3 in the layout
    if cb * 4u + 0u < co4 { out4[base + 0u * co4 + cb * 4u + 0u] = acc0_0; }
    if cb * 4u + 1u < co4 { out4[base + 0u * co4 + cb * 4u + 1u] = acc0_1; }
    if cb * 4u + 2u < co4 { out4[base + 0u * co4 + cb * 4u + 2u] = acc0_2; }
    if cb * 4u + 3u < co4 { out4[base + 0u * co4 + cb * 4u + 3u] = acc0_3; }
    if cb * 4u + 0u < co4 { out4[base + 1u * co4 + cb * 4u + 0u] = acc1_0; }
    if cb * 4u + 1u < co4 { out4[base + 1u * co4 + cb * 4u + 1u] = acc1_1; }
    if cb * 4u + 2u < co4 { out4[base + 1u * co4 + cb * 4u + 2u] = acc1_2; }
    if cb * 4u + 3u < co4 { out4[base + 1u * co4 + cb * 4u + 3u] = acc1_3; }
    if cb * 4u + 0u < co4 { out4[base + 2u * co4 + cb * 4u + 0u] = acc2_0; }
    if cb * 4u + 1u < co4 { out4[base + 2u * co4 + cb * 4u + 1u] = acc2_1; }
    if cb * 4u + 2u < co4 { out4[base + 2u * co4 + cb * 4u + 2u] = acc2_2; }
    if cb * 4u + 3u < co4 { out4[base + 2u * co4 + cb * 4u + 3u] = acc2_3; }
    if cb * 4u + 0u < co4 { out4[base + 3u * co4 + cb * 4u + 0u] = acc3_0; }
    if cb * 4u + 1u < co4 { out4[base + 3u * co4 + cb * 4u + 1u] = acc3_1; }
    if cb * 4u + 2u < co4 { out4[base + 3u * co4 + cb * 4u + 2u] = acc3_2; }
    if cb * 4u + 3u < co4 { out4[base + 3u * co4 + cb * 4u + 3u] = acc3_3; }
}

// Filter gradient, all taps (kh*kw <= 9) x 1 cin x 4 cout per invocation over a chunk of rows.
@compute @workgroup_size(64)
fn conv2d_filter_grad_taps(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = gid.x + gid.y * nwg.x * 64u;
    let ncb = (p.cout + 3u) / 4u;
    let blocks = p.cin * ncb;
    let rows = p.n * p.oh;
    let nchunks = (rows + p._p0 - 1u) / p._p0;
    if id >= blocks * nchunks { return; }
    let chunk = id / blocks;
    let blk = id % blocks;
    let co0 = (blk % ncb) * 4u;
    let ci = blk / ncb;
    let last = p.cout - 1u;
    let c1 = min(co0 + 1u, last);
    let c2 = min(co0 + 2u, last);
    let c3 = min(co0 + 3u, last);
    let ntaps = p.kh * p.kw;
    // Taps past the kernel read row -h (outside the input), so they contribute zero.
    let ty0 = select(-i32(p.h), i32((0u / p.kw) * p.dh) - i32(p.pad_top), 0u < ntaps);
    let tx0 = i32((0u % p.kw) * p.dw) - i32(p.pad_left);
    var acc0 = vec4<f32>(0.0);
    let ty1 = select(-i32(p.h), i32((1u / p.kw) * p.dh) - i32(p.pad_top), 1u < ntaps);
    let tx1 = i32((1u % p.kw) * p.dw) - i32(p.pad_left);
    var acc1 = vec4<f32>(0.0);
    let ty2 = select(-i32(p.h), i32((2u / p.kw) * p.dh) - i32(p.pad_top), 2u < ntaps);
    let tx2 = i32((2u % p.kw) * p.dw) - i32(p.pad_left);
    var acc2 = vec4<f32>(0.0);
    let ty3 = select(-i32(p.h), i32((3u / p.kw) * p.dh) - i32(p.pad_top), 3u < ntaps);
    let tx3 = i32((3u % p.kw) * p.dw) - i32(p.pad_left);
    var acc3 = vec4<f32>(0.0);
    let ty4 = select(-i32(p.h), i32((4u / p.kw) * p.dh) - i32(p.pad_top), 4u < ntaps);
    let tx4 = i32((4u % p.kw) * p.dw) - i32(p.pad_left);
    var acc4 = vec4<f32>(0.0);
    let ty5 = select(-i32(p.h), i32((5u / p.kw) * p.dh) - i32(p.pad_top), 5u < ntaps);
    let tx5 = i32((5u % p.kw) * p.dw) - i32(p.pad_left);
    var acc5 = vec4<f32>(0.0);
    let ty6 = select(-i32(p.h), i32((6u / p.kw) * p.dh) - i32(p.pad_top), 6u < ntaps);
    let tx6 = i32((6u % p.kw) * p.dw) - i32(p.pad_left);
    var acc6 = vec4<f32>(0.0);
    let ty7 = select(-i32(p.h), i32((7u / p.kw) * p.dh) - i32(p.pad_top), 7u < ntaps);
    let tx7 = i32((7u % p.kw) * p.dw) - i32(p.pad_left);
    var acc7 = vec4<f32>(0.0);
    let ty8 = select(-i32(p.h), i32((8u / p.kw) * p.dh) - i32(p.pad_top), 8u < ntaps);
    let tx8 = i32((8u % p.kw) * p.dw) - i32(p.pad_left);
    var acc8 = vec4<f32>(0.0);
    let r1 = min(rows, (chunk + 1u) * p._p0);
    for (var r = chunk * p._p0; r < r1; r++) {
        let b = r / p.oh;
        let oy = r % p.oh;
        let xb = b * p.h;
        for (var ox = 0u; ox < p.ow; ox++) {
            let g = (r * p.ow + ox) * p.cout;
            let gv = vec4(gy[g + co0], gy[g + c1], gy[g + c2], gy[g + c3]);
            let y0 = i32(oy * p.sh);
            let x0 = i32(ox * p.sw);
            acc0 = fma(vec4(tapx(xb, y0 + ty0, x0 + tx0, ci)), gv, acc0);
            acc1 = fma(vec4(tapx(xb, y0 + ty1, x0 + tx1, ci)), gv, acc1);
            acc2 = fma(vec4(tapx(xb, y0 + ty2, x0 + tx2, ci)), gv, acc2);
            acc3 = fma(vec4(tapx(xb, y0 + ty3, x0 + tx3, ci)), gv, acc3);
            acc4 = fma(vec4(tapx(xb, y0 + ty4, x0 + tx4, ci)), gv, acc4);
            acc5 = fma(vec4(tapx(xb, y0 + ty5, x0 + tx5, ci)), gv, acc5);
            acc6 = fma(vec4(tapx(xb, y0 + ty6, x0 + tx6, ci)), gv, acc6);
            acc7 = fma(vec4(tapx(xb, y0 + ty7, x0 + tx7, ci)), gv, acc7);
            acc8 = fma(vec4(tapx(xb, y0 + ty8, x0 + tx8, ci)), gv, acc8);
        }
    }
    let e0 = chunk * p.kh * p.kw * p.cin * p.cout + ci * p.cout;
    if bias[0] == 12345.678 { return; } // keeps binding 3 in the layout
    if 0u < ntaps { store_dw(e0 + 0u * p.cin * p.cout, co0, acc0); }
    if 1u < ntaps { store_dw(e0 + 1u * p.cin * p.cout, co0, acc1); }
    if 2u < ntaps { store_dw(e0 + 2u * p.cin * p.cout, co0, acc2); }
    if 3u < ntaps { store_dw(e0 + 3u * p.cin * p.cout, co0, acc3); }
    if 4u < ntaps { store_dw(e0 + 4u * p.cin * p.cout, co0, acc4); }
    if 5u < ntaps { store_dw(e0 + 5u * p.cin * p.cout, co0, acc5); }
    if 6u < ntaps { store_dw(e0 + 6u * p.cin * p.cout, co0, acc6); }
    if 7u < ntaps { store_dw(e0 + 7u * p.cin * p.cout, co0, acc7); }
    if 8u < ntaps { store_dw(e0 + 8u * p.cin * p.cout, co0, acc8); }
}

// x[b, iy, ix, ci], or 0 outside the input.
fn tapx(xb: u32, iy: i32, ix: i32, ci: u32) -> f32 {
    let inside = iy >= 0 && iy < i32(p.h) && ix >= 0 && ix < i32(p.w);
    let off = select(0u, ((xb + u32(max(iy, 0))) * p.w + u32(max(ix, 0))) * p.cin + ci, inside);
    return select(0.0, x[off], inside);
}

// Stores 4 output channels of one filter-gradient row (the channel tail is skipped).
fn store_dw(base: u32, co0: u32, v: vec4<f32>) {
    if co0 < p.cout { out[base + co0] = v.x; }
    if co0 + 1u < p.cout { out[base + co0 + 1u] = v.y; }
    if co0 + 2u < p.cout { out[base + co0 + 2u] = v.z; }
    if co0 + 3u < p.cout { out[base + co0 + 3u] = v.w; }
}
// END GENERATED
