// Resize family on NHWC input: Keras UpSampling2D(size, interpolation='nearest'),
// out[b, y, x, c] = in[b, y / sh, x / sw, c], and tf.image.resize(method='bilinear') with
// half-pixel centres (any output size).
//   upsample_nearest   one output per invocation (any channel count);
//   upsample_nearest4  four channels per invocation with vec4 copies (c % 4 == 0);
//   resize_bilinear(4)       one output element (four channels, c % 4 == 0) per invocation;
//   resize_bilinear_grad(4)  one input element (four channels) per invocation, gathering the
//                            outputs that sample it.

struct Params {
    n: u32, h: u32, w: u32, c: u32,
    oh: u32, ow: u32, sh: u32, sw: u32,
    total: u32, scale_h: f32, scale_w: f32, _p2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

// Vec4 views of the same bindings, used by upsample_nearest4.
@group(0) @binding(1) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> out4: array<vec4<f32>>;

// Source pixel (row-major index over [n, h, w]) of output pixel `pix`.
fn source(pix: u32) -> u32 {
    let ox = pix % p.ow;
    let t = pix / p.ow;
    let oy = t % p.oh;
    let b = t / p.oh;
    return (b * p.h + oy / p.sh) * p.w + ox / p.sw;
}

@compute @workgroup_size(64)
fn upsample_nearest(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = gid.x + gid.y * nwg.x * 64u;
    if id >= p.total { return; }
    out[id] = x[source(id / p.c) * p.c + id % p.c];
}

@compute @workgroup_size(64)
fn upsample_nearest4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = gid.x + gid.y * nwg.x * 64u;
    if id >= p.total { return; }
    let c4 = p.c / 4u;
    out4[id] = x4[source(id / c4) * c4 + id % c4];
}

// Backward of nearest upsampling (a gather, no atomics): with n, h, w, c the forward input and
// `x` holding dy of shape [n, oh, ow, c], dx[b, y, x, c] = Σ_{i<sh, j<sw} dy[b, y·sh+i, x·sw+j, c].
//   upsample_nearest_grad   one input element per invocation;
//   upsample_nearest_grad4  four channels per invocation (c % 4 == 0).

// First dy pixel (row-major over [n, oh, ow]) of the block that input pixel `pix` fills.
fn block(pix: u32) -> u32 {
    let xx = pix % p.w;
    let t = pix / p.w;
    let y = t % p.h;
    let b = t / p.h;
    return (b * p.oh + y * p.sh) * p.ow + xx * p.sw;
}

@compute @workgroup_size(64)
fn upsample_nearest_grad(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = gid.x + gid.y * nwg.x * 64u;
    if id >= p.total { return; }
    let ch = id % p.c;
    let first = block(id / p.c);
    var acc = 0.0;
    for (var i = 0u; i < p.sh; i++) {
        for (var j = 0u; j < p.sw; j++) {
            acc += x[(first + i * p.ow + j) * p.c + ch];
        }
    }
    out[id] = acc;
}

@compute @workgroup_size(64)
fn upsample_nearest_grad4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = gid.x + gid.y * nwg.x * 64u;
    if id >= p.total { return; }
    let c4 = p.c / 4u;
    let ch = id % c4;
    let first = block(id / c4);
    var acc = vec4(0.0);
    for (var i = 0u; i < p.sh; i++) {
        for (var j = 0u; j < p.sw; j++) {
            acc += x4[(first + i * p.ow + j) * c4 + ch];
        }
    }
    out4[id] = acc;
}

// Bilinear resize (TensorFlow's ResizeBilinear with half_pixel_centers): along each axis,
// output o samples src = (o + 0.5) * in / out - 0.5 between rows lower = max(floor(src), 0)
// and upper = min(ceil(src), in - 1) with weight lerp = src - floor(src) on upper.
struct Taps {
    lower: u32,
    upper: u32,
    lerp: f32,
}

fn taps(o: u32, scale: f32, n_in: u32) -> Taps {
    let src = (f32(o) + 0.5) * scale - 0.5;
    let fl = floor(src);
    let lower = u32(max(fl, 0.0));
    let upper = min(u32(max(ceil(src), 0.0)), n_in - 1u);
    return Taps(lower, upper, src - fl);
}

// Output pixel `pix` (row-major over [n, oh, ow]) as its four input pixels (top-left,
// top-right, bottom-left, bottom-right, row-major over [n, h, w]) and its (x, y) lerps.
struct Bilinear {
    px: vec4<u32>,
    lerp: vec2<f32>,
}

fn bilinear(pix: u32) -> Bilinear {
    let ox = pix % p.ow;
    let oy = (pix / p.ow) % p.oh;
    let b = pix / (p.ow * p.oh);
    let ty = taps(oy, p.scale_h, p.h);
    let tx = taps(ox, p.scale_w, p.w);
    let top = (b * p.h + ty.lower) * p.w;
    let bot = (b * p.h + ty.upper) * p.w;
    return Bilinear(vec4(top + tx.lower, top + tx.upper, bot + tx.lower, bot + tx.upper), vec2(tx.lerp, ty.lerp));
}

@compute @workgroup_size(64)
fn resize_bilinear(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = linear_index(gid, nwg, 64u);
    if id >= p.total { return; }
    let ch = id % p.c;
    let s = bilinear(id / p.c);
    let tl = x[s.px.x * p.c + ch];
    let tr = x[s.px.y * p.c + ch];
    let bl = x[s.px.z * p.c + ch];
    let br = x[s.px.w * p.c + ch];
    let t = tl + (tr - tl) * s.lerp.x;
    let u = bl + (br - bl) * s.lerp.x;
    out[id] = t + (u - t) * s.lerp.y;
}

// The same with four channels per invocation (c % 4 == 0).
@compute @workgroup_size(64)
fn resize_bilinear4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = linear_index(gid, nwg, 64u);
    if id >= p.total { return; }
    let c4 = p.c / 4u;
    let ch = id % c4;
    let s = bilinear(id / c4);
    let tl = x4[s.px.x * c4 + ch];
    let tr = x4[s.px.y * c4 + ch];
    let bl = x4[s.px.z * c4 + ch];
    let br = x4[s.px.w * c4 + ch];
    let t = tl + (tr - tl) * s.lerp.x;
    let u = bl + (br - bl) * s.lerp.x;
    out4[id] = t + (u - t) * s.lerp.y;
}

// The weight with which output o (taps t) samples input index i along one axis.
fn weight(t: Taps, i: u32) -> f32 {
    return select(0.0, 1.0 - t.lerp, t.lower == i) + select(0.0, t.lerp, t.upper == i);
}

// The outputs [first, last] along one axis that can sample input index i: src within
// (i - 1, i + 1), widened by one for rounding (the weights decide exactly).
fn sampled_by(i: u32, scale: f32, n_out: u32) -> vec2<u32> {
    let lo = floor((f32(i) - 0.5) / scale - 0.5) - 1.0;
    let hi = ceil((f32(i) + 1.5) / scale - 0.5) + 1.0;
    return vec2(u32(max(lo, 0.0)), u32(clamp(hi, 0.0, f32(n_out - 1u))));
}

// With n, h, w, c the forward input and `x` holding dy [n, oh, ow, c]:
// dx[b, iy, ix, c] = Σ_{oy, ox} wy(oy, iy) · wx(ox, ix) · dy[b, oy, ox, c], over the outputs
// that can sample (iy, ix). `resize_bilinear_grad4` does four channels per invocation.
@compute @workgroup_size(64)
fn resize_bilinear_grad(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = linear_index(gid, nwg, 64u);
    if id >= p.total { return; }
    let ch = id % p.c;
    let pix = id / p.c;
    let ix = pix % p.w;
    let iy = (pix / p.w) % p.h;
    let b = pix / (p.w * p.h);
    let ry = sampled_by(iy, p.scale_h, p.oh);
    let rx = sampled_by(ix, p.scale_w, p.ow);
    var acc = 0.0;
    for (var oy = ry.x; oy <= ry.y; oy++) {
        let wy = weight(taps(oy, p.scale_h, p.h), iy);
        if wy == 0.0 { continue; }
        var row = 0.0;
        for (var ox = rx.x; ox <= rx.y; ox++) {
            let wx = weight(taps(ox, p.scale_w, p.w), ix);
            row += wx * x[((b * p.oh + oy) * p.ow + ox) * p.c + ch];
        }
        acc += wy * row;
    }
    out[id] = acc;
}

@compute @workgroup_size(64)
fn resize_bilinear_grad4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = linear_index(gid, nwg, 64u);
    if id >= p.total { return; }
    let c4 = p.c / 4u;
    let ch = id % c4;
    let pix = id / c4;
    let ix = pix % p.w;
    let iy = (pix / p.w) % p.h;
    let b = pix / (p.w * p.h);
    let ry = sampled_by(iy, p.scale_h, p.oh);
    let rx = sampled_by(ix, p.scale_w, p.ow);
    var acc = vec4(0.0);
    for (var oy = ry.x; oy <= ry.y; oy++) {
        let wy = weight(taps(oy, p.scale_h, p.h), iy);
        if wy == 0.0 { continue; }
        var row = vec4(0.0);
        for (var ox = rx.x; ox <= rx.y; ox++) {
            let wx = weight(taps(ox, p.scale_w, p.w), ix);
            row += wx * x4[((b * p.oh + oy) * p.ow + ox) * c4 + ch];
        }
        acc += wy * row;
    }
    out4[id] = acc;
}
