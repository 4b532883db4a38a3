// conv2d_transpose family (tf.nn.conv2d_transpose): input [n, ih, iw, cin], filter
// [kh, kw, cout, cin], output [n, oh, ow, cout]; fused bias and activation. A gather (no
// atomics): output (y, x) sums the taps (ky, kx) for which iy = (y + pad_top - ky * dh) / sh
// is integral and in range (same for x). Variants, picked by crates/kernels/src/conv2d_transpose.rs:
//   tconv_vec4    cin % 4 == 0: 4 consecutive output channels x 4 output columns of the same
//                 stride phase per invocation, vec4 loads along cin;
//   tconv_scalar  any shape: 4 consecutive output channels per invocation, scalar loads.

struct Params {
    n: u32, ih: u32, iw: u32, cin: u32,
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

// Vec4 views of the input and filter, used by tconv_vec4.
@group(0) @binding(1) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> f4: array<vec4<f32>>;

fn activate(v: f32) -> f32 {
    return apply_activation(v, p.act);
}

// The input index along one axis that output position `o` reads through tap `k`, or -1.
fn src(o: u32, pad: u32, k: u32, d: u32, s: u32, n: u32) -> i32 {
    let t = i32(o + pad) - i32(k * d);
    if t < 0 || u32(t) % s != 0u { return -1; }
    let i = u32(t) / s;
    return select(-1, i32(i), i < n);
}

// Output element block: (pixel, first channel co0) of invocation `id`, or none past the end.
struct Block { pix: u32, co0: u32, oy: u32, ox: u32, b: u32, co: vec4<u32> }

fn block(id: u32) -> Block {
    let groups = (p.cout + 3u) / 4u;
    let co0 = (id % groups) * 4u;
    let pix = id / groups;
    let last = p.cout - 1u;
    let co = vec4(min(co0, last), min(co0 + 1u, last), min(co0 + 2u, last), min(co0 + 3u, last));
    return Block(pix, co0, (pix / p.ow) % p.oh, pix % p.ow, pix / (p.ow * p.oh), co);
}

fn finish(bl: Block, v: vec4<f32>) {
    var acc = v;
    if p.has_bias != 0u {
        acc += vec4(bias[bl.co.x], bias[bl.co.y], bias[bl.co.z], bias[bl.co.w]);
    }
    let ob = bl.pix * p.cout + bl.co0;
    for (var j = 0u; j < 4u; j++) {
        if bl.co0 + j < p.cout { out[ob + j] = activate(acc[j]); }
    }
}

@compute @workgroup_size(64)
fn tconv_scalar(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = gid.x + gid.y * nwg.x * 64u;
    if id >= p.n * p.oh * p.ow * ((p.cout + 3u) / 4u) { return; }
    let bl = block(id);
    var acc = vec4<f32>(0.0);
    for (var ky = 0u; ky < p.kh; ky++) {
        let iy = src(bl.oy, p.pad_top, ky, p.dh, p.sh, p.ih);
        if iy < 0 { continue; }
        for (var kx = 0u; kx < p.kw; kx++) {
            let ix = src(bl.ox, p.pad_left, kx, p.dw, p.sw, p.iw);
            if ix < 0 { continue; }
            let xb = ((bl.b * p.ih + u32(iy)) * p.iw + u32(ix)) * p.cin;
            let fb = (vec4((ky * p.kw + kx) * p.cout) + bl.co) * p.cin;
            for (var ci = 0u; ci < p.cin; ci++) {
                let fv = vec4(f[fb.x + ci], f[fb.y + ci], f[fb.z + ci], f[fb.w + ci]);
                acc = fma(vec4(x[xb + ci]), fv, acc);
            }
        }
    }
    finish(bl, acc);
}

// Masked input vec4 at (row base, column ix, channel group c); zero outside the image.
fn xload(rowb: u32, ix: i32, c: u32, ci4: u32) -> vec4<f32> {
    let inside = ix >= 0 && ix < i32(p.iw);
    return select(vec4(0.0), x4[(rowb + u32(select(0, ix, inside))) * ci4 + c], inside);
}

// cin % 4 == 0: 4 output channels x 4 output columns of one phase (ox0 + j * sw, which read
// the consecutive input columns ix0 + j through the same taps) per invocation, vec4 loads.
@compute @workgroup_size(64)
fn tconv_vec4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = gid.x + gid.y * nwg.x * 64u;
    let groups = (p.cout + 3u) / 4u;
    let gpp = ((p.ow + p.sw - 1u) / p.sw + 3u) / 4u;
    let cols = p.sw * gpp;
    if id >= p.n * p.oh * cols * groups { return; }
    let co0 = (id % groups) * 4u;
    let t = id / groups;
    let cb = t % cols;
    let row = t / cols;
    let oy = row % p.oh;
    let b = row / p.oh;
    let ox0 = cb % p.sw + (cb / p.sw) * 4u * p.sw;
    let last = p.cout - 1u;
    let co = vec4(min(co0, last), min(co0 + 1u, last), min(co0 + 2u, last), min(co0 + 3u, last));
    let ci4 = p.cin / 4u;
    let s = i32(p.sw);
    var a0 = vec4<f32>(0.0);
    var a1 = vec4<f32>(0.0);
    var a2 = vec4<f32>(0.0);
    var a3 = vec4<f32>(0.0);
    for (var ky = 0u; ky < p.kh; ky++) {
        let iy = src(oy, p.pad_top, ky, p.dh, p.sh, p.ih);
        if iy < 0 { continue; }
        let rowb = (b * p.ih + u32(iy)) * p.iw;
        for (var kx = 0u; kx < p.kw; kx++) {
            let t0 = i32(ox0 + p.pad_left) - i32(kx * p.dw);
            if ((t0 % s) + s) % s != 0 { continue; }
            let ix0 = t0 / s;
            let fb = (vec4((ky * p.kw + kx) * p.cout) + co) * ci4;
            for (var c = 0u; c < ci4; c++) {
                let f0 = f4[fb.x + c];
                let f1 = f4[fb.y + c];
                let f2 = f4[fb.z + c];
                let f3 = f4[fb.w + c];
                let x0 = xload(rowb, ix0, c, ci4);
                let x1 = xload(rowb, ix0 + 1, c, ci4);
                let x2 = xload(rowb, ix0 + 2, c, ci4);
                let x3 = xload(rowb, ix0 + 3, c, ci4);
                a0 += vec4(dot(x0, f0), dot(x0, f1), dot(x0, f2), dot(x0, f3));
                a1 += vec4(dot(x1, f0), dot(x1, f1), dot(x1, f2), dot(x1, f3));
                a2 += vec4(dot(x2, f0), dot(x2, f1), dot(x2, f2), dot(x2, f3));
                a3 += vec4(dot(x3, f0), dot(x3, f1), dot(x3, f2), dot(x3, f3));
            }
        }
    }
    let pix0 = row * p.ow + ox0;
    let bl = Block(pix0, co0, oy, ox0, b, co);
    if ox0 < p.ow { finish(bl, a0); }
    if ox0 + p.sw < p.ow { finish(Block(pix0 + p.sw, co0, oy, ox0, b, co), a1); }
    if ox0 + 2u * p.sw < p.ow { finish(Block(pix0 + 2u * p.sw, co0, oy, ox0, b, co), a2); }
    if ox0 + 3u * p.sw < p.ow { finish(Block(pix0 + 3u * p.sw, co0, oy, ox0, b, co), a3); }
}
