// Depthwise conv gradients (tf.nn.depthwise_conv2d_backprop_input / _backprop_filter): input
// x [n, h, w, c], filter [kh, kw, c, m], upstream gradient dy [n, oh, ow, c * m] whose channel
// c * m + mi comes from input channel c. Gathers only (no atomics). Entry points, picked by
// crates/kernels/src/depthwise_conv2d.rs:
//   dwgx_scalar  input gradient, any shape: 4 consecutive input channels of one pixel;
//   dwgx_vec4    input gradient, m == 1 and c % 4 == 0: 4 channels x 4 consecutive columns;
//   dwgx_vec4_s1 the same at width stride and dilation 1 with 8 columns, sliding the loaded dy
//                columns along the (reversed) taps so each is loaded once per row;
//   dwgw_scalar  filter gradient, any shape: 4 consecutive flat channels c * m + mi of one tap
//                over one chunk of output rows (a partial sum when rows are split);
//   dwgw_vec4    the same with vec4 loads, m == 1 and c % 4 == 0;
//   dwgw_vec4_s1 the same at width stride and dilation 1 for 3 adjacent taps of one filter row,
//                sliding the loaded x columns so each x and dy vec4 is loaded once per row;
//   dwgw_sum     adds the per-chunk partial filter gradients.

struct Params {
    n: u32, h: u32, w: u32, c: u32,
    oh: u32, ow: u32, m: u32, kh: u32,
    kw: u32, sh: u32, sw: u32, dh: u32,
    dw: u32, pad_top: u32, pad_left: u32, splits: u32,
    rows_per_split: u32, _p0: u32, _p1: u32, _p2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;

// Input gradient: dispatched with [dy, filter, dx].
@group(0) @binding(1) var<storage, read> gy: array<f32>;
@group(0) @binding(1) var<storage, read> gy4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> f: array<f32>;
@group(0) @binding(2) var<storage, read> f4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx4: array<vec4<f32>>;

// Filter gradient: dispatched with [x, dy, dfilter (or partial sums)].
@group(0) @binding(1) var<storage, read> xs: array<f32>;
@group(0) @binding(1) var<storage, read> xs4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> gw: array<f32>;
@group(0) @binding(2) var<storage, read> gw4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> df: array<f32>;
@group(0) @binding(3) var<storage, read_write> df4: array<vec4<f32>>;

// Partial sums: dispatched with [partials, dfilter].
@group(0) @binding(1) var<storage, read> part: array<f32>;
@group(0) @binding(2) var<storage, read_write> sums: array<f32>;

// The output index along one axis that reads input position `i` through tap `k`, or -1.
fn dst(i: u32, pad: u32, k: u32, d: u32, s: u32, n: u32) -> i32 {
    let t = i32(i + pad) - i32(k * d);
    if t < 0 || u32(t) % s != 0u { return -1; }
    let o = u32(t) / s;
    return select(-1, i32(o), o < n);
}

@compute @workgroup_size(64)
fn dwgx_scalar(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = gid.x + gid.y * nwg.x * 64u;
    let groups = (p.c + 3u) / 4u;
    if id >= p.n * p.h * p.w * groups { return; }
    let c0 = (id % groups) * 4u;
    let pix = id / groups;
    let ix = pix % p.w;
    let iy = (pix / p.w) % p.h;
    let b = pix / (p.w * p.h);
    let last = p.c - 1u;
    let ci = vec4(min(c0, last), min(c0 + 1u, last), min(c0 + 2u, last), min(c0 + 3u, last));
    let cm = p.c * p.m;
    var acc = vec4<f32>(0.0);
    for (var ky = 0u; ky < p.kh; ky++) {
        let oy = dst(iy, p.pad_top, ky, p.dh, p.sh, p.oh);
        if oy < 0 { continue; }
        for (var kx = 0u; kx < p.kw; kx++) {
            let ox = dst(ix, p.pad_left, kx, p.dw, p.sw, p.ow);
            if ox < 0 { continue; }
            let gb = ((b * p.oh + u32(oy)) * p.ow + u32(ox)) * cm;
            let fb = (ky * p.kw + kx) * cm;
            for (var mi = 0u; mi < p.m; mi++) {
                let o = ci * p.m + vec4(mi);
                let gv = vec4(gy[gb + o.x], gy[gb + o.y], gy[gb + o.z], gy[gb + o.w]);
                let fv = vec4(f[fb + o.x], f[fb + o.y], f[fb + o.z], f[fb + o.w]);
                acc = fma(gv, fv, acc);
            }
        }
    }
    let ob = pix * p.c + c0;
    for (var j = 0u; j < 4u; j++) {
        if c0 + j < p.c { dx[ob + j] = acc[j]; }
    }
}

// dy vec4 at output row base `rowb` for input column `ix` through tap `kx`, zero when none.
fn gload4(rowb: u32, ix: u32, kx: u32, cc: u32) -> vec4<f32> {
    let ox = dst(ix, p.pad_left, kx, p.dw, p.sw, p.ow);
    let v = gy4[(rowb + u32(max(ox, 0))) * (p.c / 4u) + cc];
    return select(vec4(0.0), v, ox >= 0);
}

@compute @workgroup_size(64)
fn dwgx_vec4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = gid.x + gid.y * nwg.x * 64u;
    let c4 = p.c / 4u;
    let wb = (p.w + 3u) / 4u;
    if id >= p.n * p.h * wb * c4 { return; }
    let cc = id % c4;
    let t = id / c4;
    let ix0 = (t % wb) * 4u;
    let row = t / wb;
    let iy = row % p.h;
    let b = row / p.h;
    var a0 = vec4<f32>(0.0);
    var a1 = vec4<f32>(0.0);
    var a2 = vec4<f32>(0.0);
    var a3 = vec4<f32>(0.0);
    for (var ky = 0u; ky < p.kh; ky++) {
        let oy = dst(iy, p.pad_top, ky, p.dh, p.sh, p.oh);
        if oy < 0 { continue; }
        let rowb = (b * p.oh + u32(oy)) * p.ow;
        for (var kx = 0u; kx < p.kw; kx++) {
            let fv = f4[(ky * p.kw + kx) * c4 + cc];
            a0 = fma(gload4(rowb, ix0, kx, cc), fv, a0);
            a1 = fma(gload4(rowb, ix0 + 1u, kx, cc), fv, a1);
            a2 = fma(gload4(rowb, ix0 + 2u, kx, cc), fv, a2);
            a3 = fma(gload4(rowb, ix0 + 3u, kx, cc), fv, a3);
        }
    }
    let pix0 = row * p.w + ix0;
    dx4[pix0 * c4 + cc] = a0;
    if ix0 + 1u < p.w { dx4[(pix0 + 1u) * c4 + cc] = a1; }
    if ix0 + 2u < p.w { dx4[(pix0 + 2u) * c4 + cc] = a2; }
    if ix0 + 3u < p.w { dx4[(pix0 + 3u) * c4 + cc] = a3; }
}

// dy vec4 at output row base `rowb`, column `ox`, zero outside [0, ow).
fn gcol4(rowb: u32, ox: i32, cc: u32) -> vec4<f32> {
    let inside = ox >= 0 && ox < i32(p.ow);
    let v = gy4[(rowb + u32(select(0, ox, inside))) * (p.c / 4u) + cc];
    return select(vec4(0.0), v, inside);
}

@compute @workgroup_size(64)
fn dwgx_vec4_s1(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = gid.x + gid.y * nwg.x * 64u;
    let c4 = p.c / 4u;
    let wb = (p.w + 7u) / 8u;
    if id >= p.n * p.h * wb * c4 { return; }
    let cc = id % c4;
    let t = id / c4;
    let ix0 = (t % wb) * 8u;
    let row = t / wb;
    let iy = row % p.h;
    let b = row / p.h;
    // Column ix0 + j reads dy column os + j + r through tap kx = kw - 1 - r.
    let os = i32(ix0 + p.pad_left) - i32(p.kw - 1u);
    var a0 = vec4<f32>(0.0);
    var a1 = vec4<f32>(0.0);
    var a2 = vec4<f32>(0.0);
    var a3 = vec4<f32>(0.0);
    var a4 = vec4<f32>(0.0);
    var a5 = vec4<f32>(0.0);
    var a6 = vec4<f32>(0.0);
    var a7 = vec4<f32>(0.0);
    for (var ky = 0u; ky < p.kh; ky++) {
        let oy = dst(iy, p.pad_top, ky, p.dh, p.sh, p.oh);
        if oy < 0 { continue; }
        let rowb = (b * p.oh + u32(oy)) * p.ow;
        var v0 = gcol4(rowb, os, cc);
        var v1 = gcol4(rowb, os + 1, cc);
        var v2 = gcol4(rowb, os + 2, cc);
        var v3 = gcol4(rowb, os + 3, cc);
        var v4 = gcol4(rowb, os + 4, cc);
        var v5 = gcol4(rowb, os + 5, cc);
        var v6 = gcol4(rowb, os + 6, cc);
        let fb = ky * p.kw + p.kw - 1u;
        for (var r = 0u; r < p.kw; r++) {
            let v7 = gcol4(rowb, os + i32(r) + 7, cc);
            let fv = f4[(fb - r) * c4 + cc];
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
    let q = (row * p.w + ix0) * c4 + cc;
    dx4[q] = a0;
    if ix0 + 1u < p.w { dx4[q + c4] = a1; }
    if ix0 + 2u < p.w { dx4[q + 2u * c4] = a2; }
    if ix0 + 3u < p.w { dx4[q + 3u * c4] = a3; }
    if ix0 + 4u < p.w { dx4[q + 4u * c4] = a4; }
    if ix0 + 5u < p.w { dx4[q + 5u * c4] = a5; }
    if ix0 + 6u < p.w { dx4[q + 6u * c4] = a6; }
    if ix0 + 7u < p.w { dx4[q + 7u * c4] = a7; }
}

// One filter-gradient work item: tap (ky, kx), output rows [r0, r1), output columns [lo, hi)
// (those whose input column is inside the image), and the partial-sum slot base.
struct Item { ky: u32, kx: u32, r0: u32, r1: u32, lo: u32, hi: u32, slot: u32 }

fn item(t: u32) -> Item {
    let taps = p.kh * p.kw;
    let tap = t % taps;
    let split = t / taps;
    let kx = tap % p.kw;
    let r0 = split * p.rows_per_split;
    let r1 = min(r0 + p.rows_per_split, p.n * p.oh);
    // ix = ox * sw + kx * dw - pad_left must lie in [0, w).
    let off = i32(kx * p.dw) - i32(p.pad_left);
    let sw = i32(p.sw);
    let lo = select(0, (-off + sw - 1) / sw, off < 0);
    let hi = clamp((i32(p.w) - off + sw - 1) / sw, 0, i32(p.ow));
    return Item(tap / p.kw, kx, r0, r1, u32(lo), u32(max(hi, lo)), split * taps + tap);
}

// The input row that output row r (batch-major) reads through tap row ky, or -1.
fn src_row(r: u32, ky: u32) -> i32 {
    let oy = r % p.oh;
    let iy = i32(oy * p.sh + ky * p.dh) - i32(p.pad_top);
    if iy < 0 || iy >= i32(p.h) { return -1; }
    return i32((r / p.oh) * p.h + u32(iy));
}

@compute @workgroup_size(64)
fn dwgw_scalar(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = gid.x + gid.y * nwg.x * 64u;
    let cm = p.c * p.m;
    let groups = (cm + 3u) / 4u;
    if id >= p.kh * p.kw * groups * p.splits { return; }
    let oc0 = (id % groups) * 4u;
    let it = item(id / groups);
    let last = cm - 1u;
    let o = vec4(min(oc0, last), min(oc0 + 1u, last), min(oc0 + 2u, last), min(oc0 + 3u, last));
    let ci = o / vec4(p.m);
    let xoff = it.kx * p.dw;
    var acc = vec4<f32>(0.0);
    for (var r = it.r0; r < it.r1; r++) {
        let xr = src_row(r, it.ky);
        if xr < 0 { continue; }
        for (var ox = it.lo; ox < it.hi; ox++) {
            let xb = (u32(xr) * p.w + ox * p.sw + xoff - p.pad_left) * p.c;
            let gb = (r * p.ow + ox) * cm;
            let xv = vec4(xs[xb + ci.x], xs[xb + ci.y], xs[xb + ci.z], xs[xb + ci.w]);
            let gv = vec4(gw[gb + o.x], gw[gb + o.y], gw[gb + o.z], gw[gb + o.w]);
            acc = fma(xv, gv, acc);
        }
    }
    let ob = it.slot * cm + oc0;
    for (var j = 0u; j < 4u; j++) {
        if oc0 + j < cm { df[ob + j] = acc[j]; }
    }
}

@compute @workgroup_size(64)
fn dwgw_vec4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = gid.x + gid.y * nwg.x * 64u;
    let c4 = p.c / 4u;
    if id >= p.kh * p.kw * c4 * p.splits { return; }
    let cc = id % c4;
    let it = item(id / c4);
    let xoff = it.kx * p.dw;
    var a0 = vec4<f32>(0.0);
    var a1 = vec4<f32>(0.0);
    for (var r = it.r0; r < it.r1; r++) {
        let xr = src_row(r, it.ky);
        if xr < 0 { continue; }
        let xrow = u32(xr) * p.w + xoff - p.pad_left;
        let grow = r * p.ow;
        var ox = it.lo;
        for (; ox + 1u < it.hi; ox += 2u) {
            a0 = fma(xs4[(xrow + ox * p.sw) * c4 + cc], gw4[(grow + ox) * c4 + cc], a0);
            a1 = fma(xs4[(xrow + (ox + 1u) * p.sw) * c4 + cc], gw4[(grow + ox + 1u) * c4 + cc], a1);
        }
        if ox < it.hi {
            a0 = fma(xs4[(xrow + ox * p.sw) * c4 + cc], gw4[(grow + ox) * c4 + cc], a0);
        }
    }
    df4[it.slot * c4 + cc] = a0 + a1;
}

// x vec4 at input row base `rowb`, column `ix`, zero outside [0, w).
fn xcol4(rowb: u32, ix: i32, cc: u32) -> vec4<f32> {
    let inside = ix >= 0 && ix < i32(p.w);
    let v = xs4[(rowb + u32(select(0, ix, inside))) * (p.c / 4u) + cc];
    return select(vec4(0.0), v, inside);
}

@compute @workgroup_size(64)
fn dwgw_vec4_s1(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = gid.x + gid.y * nwg.x * 64u;
    let c4 = p.c / 4u;
    let kwb = (p.kw + 2u) / 3u;
    let taps = p.kh * p.kw;
    if id >= p.kh * kwb * c4 * p.splits { return; }
    let cc = id % c4;
    let t = id / c4;
    let kx0 = (t % kwb) * 3u;
    let ky = (t / kwb) % p.kh;
    let split = t / (kwb * p.kh);
    let r0 = split * p.rows_per_split;
    let r1 = min(r0 + p.rows_per_split, p.n * p.oh);
    let off = i32(kx0) - i32(p.pad_left);
    var a0 = vec4<f32>(0.0);
    var a1 = vec4<f32>(0.0);
    var a2 = vec4<f32>(0.0);
    for (var r = r0; r < r1; r++) {
        let xr = src_row(r, ky);
        if xr < 0 { continue; }
        let xrow = u32(xr) * p.w;
        let grow = r * p.ow;
        var v0 = xcol4(xrow, off, cc);
        var v1 = xcol4(xrow, off + 1, cc);
        for (var ox = 0u; ox < p.ow; ox++) {
            let gv = gw4[(grow + ox) * c4 + cc];
            let v2 = xcol4(xrow, off + i32(ox) + 2, cc);
            a0 = fma(v0, gv, a0);
            a1 = fma(v1, gv, a1);
            a2 = fma(v2, gv, a2);
            v0 = v1;
            v1 = v2;
        }
    }
    let q = (split * taps + ky * p.kw + kx0) * c4 + cc;
    df4[q] = a0;
    if kx0 + 1u < p.kw { df4[q + c4] = a1; }
    if kx0 + 2u < p.kw { df4[q + 2u * c4] = a2; }
}

@compute @workgroup_size(64)
fn dwgw_sum(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = gid.x + gid.y * nwg.x * 64u;
    let e = p.kh * p.kw * p.c * p.m;
    if id >= e { return; }
    var s = 0.0;
    for (var k = 0u; k < p.splits; k++) {
        s += part[k * e + id];
    }
    sums[id] = s;
}
