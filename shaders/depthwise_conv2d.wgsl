// Depthwise conv family (tf.nn.depthwise_conv2d): NHWC input [n, h, w, c], filter
// [kh, kw, c, m], output [n, oh, ow, c * m] whose channel c * m + mi comes from input channel c;
// fused bias and activation. Variants, picked by crates/kernels/src/depthwise_conv2d.rs:
//   dw_vec4    multiplier 1 and c % 4 == 0: 4 channels x 4 consecutive output columns per
//              invocation with vec4 loads (each filter vec4 is reused by the 4 columns);
//   dw_vec4_s1 the same at width stride and dilation 1 with 8 columns per invocation, sliding
//              the loaded input columns along the taps (each input vec4 is loaded once per row);
//   dw_scalar  any shape: 4 consecutive output channels of one pixel per invocation.

struct Params {
    n: u32, h: u32, w: u32, c: u32,
    oh: u32, ow: u32, m: u32, kh: u32,
    kw: u32, sh: u32, sw: u32, dh: u32,
    dw: u32, pad_top: u32, pad_left: u32, has_bias: u32,
    act: u32, _p0: u32, _p1: u32, _p2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> f: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

// Vec4 views of the same bindings, used by dw_vec4.
@group(0) @binding(1) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> f4: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> out4: array<vec4<f32>>;

fn activate(v: f32) -> f32 {
    return apply_activation(v, p.act);
}

fn activate4(v: vec4<f32>) -> vec4<f32> {
    return vec4(activate(v.x), activate(v.y), activate(v.z), activate(v.w));
}

// Any shape: output channels oc0..oc0+3 (clamped for loads, guarded for stores) of one pixel.
@compute @workgroup_size(64)
fn dw_scalar(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = gid.x + gid.y * nwg.x * 64u;
    let cm = p.c * p.m;
    let groups = (cm + 3u) / 4u;
    if id >= p.n * p.oh * p.ow * groups { return; }
    let oc0 = (id % groups) * 4u;
    let pix = id / groups;
    let ox = pix % p.ow;
    let oy = (pix / p.ow) % p.oh;
    let b = pix / (p.ow * p.oh);
    let last = cm - 1u;
    let o = vec4(min(oc0, last), min(oc0 + 1u, last), min(oc0 + 2u, last), min(oc0 + 3u, last));
    let ci = o / vec4(p.m);
    let y0 = i32(oy * p.sh) - i32(p.pad_top);
    let x0 = i32(ox * p.sw) - i32(p.pad_left);
    var acc = vec4<f32>(0.0);
    for (var ky = 0u; ky < p.kh; ky++) {
        let iy = y0 + i32(ky * p.dh);
        if iy < 0 || iy >= i32(p.h) { continue; }
        for (var kx = 0u; kx < p.kw; kx++) {
            let ix = x0 + i32(kx * p.dw);
            if ix < 0 || ix >= i32(p.w) { continue; }
            let xb = ((b * p.h + u32(iy)) * p.w + u32(ix)) * p.c;
            let fb = (ky * p.kw + kx) * cm;
            let xv = vec4(x[xb + ci.x], x[xb + ci.y], x[xb + ci.z], x[xb + ci.w]);
            let fv = vec4(f[fb + o.x], f[fb + o.y], f[fb + o.z], f[fb + o.w]);
            acc = fma(xv, fv, acc);
        }
    }
    if p.has_bias != 0u {
        acc += vec4(bias[o.x], bias[o.y], bias[o.z], bias[o.w]);
    }
    let r = activate4(acc);
    let ob = pix * cm + oc0;
    for (var j = 0u; j < 4u; j++) {
        if oc0 + j < cm { out[ob + j] = r[j]; }
    }
}

// Input vec4 (row base `rowb`, column `ix`, channel group `cc`), zero outside the image.
fn load4(rowb: u32, ix: i32, cc: u32) -> vec4<f32> {
    let inside = ix >= 0 && ix < i32(p.w);
    let v = x4[(rowb + u32(select(0, ix, inside))) * (p.c / 4u) + cc];
    return select(vec4(0.0), v, inside);
}

fn store4(pix: u32, cc: u32, v: vec4<f32>) {
    var r = v;
    if p.has_bias != 0u {
        let c = cc * 4u;
        r += vec4(bias[c], bias[c + 1u], bias[c + 2u], bias[c + 3u]);
    }
    out4[pix * (p.c / 4u) + cc] = activate4(r);
}

// Multiplier 1, c % 4 == 0: channel group cc of output columns ox0..ox0+3 in one row.
@compute @workgroup_size(64)
fn dw_vec4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = gid.x + gid.y * nwg.x * 64u;
    let c4 = p.c / 4u;
    let owb = (p.ow + 3u) / 4u;
    if id >= p.n * p.oh * owb * c4 { return; }
    let cc = id % c4;
    let t = id / c4;
    let ox0 = (t % owb) * 4u;
    let row = t / owb;
    let oy = row % p.oh;
    let b = row / p.oh;
    let y0 = i32(oy * p.sh) - i32(p.pad_top);
    let xs = i32(ox0 * p.sw) - i32(p.pad_left);
    let sw = i32(p.sw);
    var a0 = vec4<f32>(0.0);
    var a1 = vec4<f32>(0.0);
    var a2 = vec4<f32>(0.0);
    var a3 = vec4<f32>(0.0);
    for (var ky = 0u; ky < p.kh; ky++) {
        let iy = y0 + i32(ky * p.dh);
        if iy < 0 || iy >= i32(p.h) { continue; }
        let rowb = (b * p.h + u32(iy)) * p.w;
        for (var kx = 0u; kx < p.kw; kx++) {
            let fv = f4[(ky * p.kw + kx) * c4 + cc];
            let ix = xs + i32(kx * p.dw);
            a0 = fma(load4(rowb, ix, cc), fv, a0);
            a1 = fma(load4(rowb, ix + sw, cc), fv, a1);
            a2 = fma(load4(rowb, ix + 2 * sw, cc), fv, a2);
            a3 = fma(load4(rowb, ix + 3 * sw, cc), fv, a3);
        }
    }
    let pix0 = row * p.ow + ox0;
    store4(pix0, cc, a0);
    if ox0 + 1u < p.ow { store4(pix0 + 1u, cc, a1); }
    if ox0 + 2u < p.ow { store4(pix0 + 2u, cc, a2); }
    if ox0 + 3u < p.ow { store4(pix0 + 3u, cc, a3); }
}

// Multiplier 1, c % 4 == 0, stride 1 and dilation 1 along the width: channel group cc of output
// columns ox0..ox0+7, sliding the 8 input columns one step per tap so each is loaded once.
@compute @workgroup_size(64)
fn dw_vec4_s1(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = gid.x + gid.y * nwg.x * 64u;
    let c4 = p.c / 4u;
    let owb = (p.ow + 7u) / 8u;
    if id >= p.n * p.oh * owb * c4 { return; }
    let cc = id % c4;
    let t = id / c4;
    let ox0 = (t % owb) * 8u;
    let row = t / owb;
    let oy = row % p.oh;
    let b = row / p.oh;
    let y0 = i32(oy * p.sh) - i32(p.pad_top);
    let xs = i32(ox0) - i32(p.pad_left);
    var a0 = vec4<f32>(0.0);
    var a1 = vec4<f32>(0.0);
    var a2 = vec4<f32>(0.0);
    var a3 = vec4<f32>(0.0);
    var a4 = vec4<f32>(0.0);
    var a5 = vec4<f32>(0.0);
    var a6 = vec4<f32>(0.0);
    var a7 = vec4<f32>(0.0);
    for (var ky = 0u; ky < p.kh; ky++) {
        let iy = y0 + i32(ky * p.dh);
        if iy < 0 || iy >= i32(p.h) { continue; }
        let rowb = (b * p.h + u32(iy)) * p.w;
        var v0 = load4(rowb, xs, cc);
        var v1 = load4(rowb, xs + 1, cc);
        var v2 = load4(rowb, xs + 2, cc);
        var v3 = load4(rowb, xs + 3, cc);
        var v4 = load4(rowb, xs + 4, cc);
        var v5 = load4(rowb, xs + 5, cc);
        var v6 = load4(rowb, xs + 6, cc);
        for (var kx = 0u; kx < p.kw; kx++) {
            let v7 = load4(rowb, xs + i32(kx) + 7, cc);
            let fv = f4[(ky * p.kw + kx) * c4 + cc];
            a0 = fma(v0, fv, a0);
            a1 = fma(v1, fv, a1);
            a2 = fma(v2, fv, a2);
            a3 = fma(v3, fv, a3);
            a4 = fma(v4, fv, a4);
            a5 = fma(v5, fv, a5);
            a6 = fma(v6, fv, a6);
            a7 = fma(v7, fv, a7);
            v0 = v1;
            v1 = v2;
            v2 = v3;
            v3 = v4;
            v4 = v5;
            v5 = v6;
            v6 = v7;
        }
    }
    let pix0 = row * p.ow + ox0;
    store4(pix0, cc, a0);
    if ox0 + 1u < p.ow { store4(pix0 + 1u, cc, a1); }
    if ox0 + 2u < p.ow { store4(pix0 + 2u, cc, a2); }
    if ox0 + 3u < p.ow { store4(pix0 + 3u, cc, a3); }
    if ox0 + 4u < p.ow { store4(pix0 + 4u, cc, a4); }
    if ox0 + 5u < p.ow { store4(pix0 + 5u, cc, a5); }
    if ox0 + 6u < p.ow { store4(pix0 + 6u, cc, a6); }
    if ox0 + 7u < p.ow { store4(pix0 + 7u, cc, a7); }
}
