// conv2d family (tf.nn.conv2d on NHWC input, [kh, kw, cin, cout] filter), with fused bias and
// activation. Variants, picked per adapter and shape by crates/kernels/src/conv2d.rs:
//   conv2d_direct  one output per invocation; any sizes;
//   conv2d_reg     register-blocked implicit GEMM (8 pixels x 16 channels per invocation,
//                  vec4 loads, no shared memory): fastest on lavapipe and on an NVIDIA H200;
//   im2col         writes the [pixels, kh*kw*cin] patch matrix, which matmul_tiled then
//                  multiplies with shared-memory tiles (a candidate autotuning times).

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

// The fused activation (common.wgsl's codes), fixed at pipeline creation (`p.act` holds the
// same code): a switch on a uniform would run every case on CPU adapters.
override ACT: u32 = 0u;

fn activate(v: f32) -> f32 {
    return apply_activation(v, ACT);
}

// The direct kernels read the filter as a transposed conv's (see conv2d_direct) with FLIP,
// fixed at pipeline creation.
override FLIP: bool = false;

// The direct kernels' window slides along output rows (stride and dilation 1 across), fixed at
// pipeline creation: only the path the geometry takes is compiled. SwiftShader runs every
// statement of a kernel, masked, even where no lane takes it (the strided path cost conv 1's
// direct kernel 1.7 → 1.1 ms when no lane ran anything).
override SLIDE: bool = false;

// Channels an 8-channel block of the direct kernels can hold, min(cout, 8), fixed at pipeline
// creation: a conv with fewer than 8 output channels loads and stores only those (SwiftShader
// pays for every statement, and LeNet's first conv has 6).
override NCO: u32 = 8u;

// The direct kernels' taps along a window row, unrolled where the window slides (SLIDE), fixed
// at pipeline creation: kw when it is 1 to 3, else 0 (a loop over them). SwiftShader pays for
// each loop iteration, masking every variable the body writes (conv 2's forward: 3.1 → 2.2 ms).
override KX: u32 = 0u;

// The direct kernels' input has one channel (LeNet's first conv), fixed at pipeline creation:
// their sliding path then runs no loop over input channels (SwiftShader: 2.3 → 1.6 ms).
override CIN1: bool = false;

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

// 4 consecutive output pixels of one output row x 8 consecutive output channels per invocation;
// any sizes (pixel and channel tails are clamped and not stored). Each filter value is loaded
// once for the 4 pixels and each input value once for the 8 channels; with stride and dilation
// 1 across, also once for the kw taps of a window row (it slides along the row: 3 + kw loads
// per window row and input channel instead of 4 kw). With FLIP the filter is given as a
// transposed conv's `[kh, kw, cout, cin]` filter and read flipped in both spatial axes and
// transposed (what flip_filter would write), so a stride-1 transposed conv (an input gradient)
// needs no flipped copy.
@compute @workgroup_size(64)
fn conv2d_direct(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = gid.x + gid.y * nwg.x * 64u;
    let ncb = (p.cout + 7u) / 8u;
    if id >= direct_blocks() * ncb { return; }
    let co0 = (id % ncb) * 8u;
    let q = block_pixels(id / ncb);
    let flip = FLIP;
    let ci_step = select(p.cout, 1u, flip);
    let cs = select(1u, p.cin, flip);
    let last = p.cout - 1u;
    let o0 = min(co0, last) * cs;
    let o1 = min(co0 + 1u, last) * cs;
    let o2 = min(co0 + 2u, last) * cs;
    let o3 = min(co0 + 3u, last) * cs;
    let o4 = min(co0 + 4u, last) * cs;
    let o5 = min(co0 + 5u, last) * cs;
    let o6 = min(co0 + 6u, last) * cs;
    let o7 = min(co0 + 7u, last) * cs;
    var a: Acc8;
    if SLIDE {
        let off = Off8(vec4(o0, o1, o2, o3), vec4(o4, o5, o6, o7));
        let px = pixel(q.x * p.ow + q.y);
        for (var ky = 0u; ky < p.kh; ky++) {
            let r = window_row(px, ky);
            // A padding row adds only zeros (a stride-1 input gradient's first and last rows).
            if r.y == 0u { continue; }
            if CIN1 {
                slide_row(&a, r, px.z, vec3(ky, 0u, ci_step), off);
            } else {
                for (var ci = 0u; ci < p.cin; ci++) {
                    slide_row(&a, r, px.z, vec3(ky, ci, ci_step), off);
                }
            }
        }
    } else {
        let px = block_taps(q);
        for (var ky = 0u; ky < p.kh; ky++) {
            for (var kx = 0u; kx < p.kw; kx++) {
                let t0 = tap1(px[0], ky, kx);
                let t1 = tap1(px[1], ky, kx);
                let t2 = tap1(px[2], ky, kx);
                let t3 = tap1(px[3], ky, kx);
                for (var ci = 0u; ci < p.cin; ci++) {
                    let fr = tap_filter(ky, kx, ci, flip, ci_step);
                    let fl = vec4(fat(fr + o0, 0u), fat(fr + o1, 1u), fat(fr + o2, 2u), fat(fr + o3, 3u));
                    let fh = vec4(fat(fr + o4, 4u), fat(fr + o5, 5u), fat(fr + o6, 6u), fat(fr + o7, 7u));
                    let xv = vec4(tapv(t0, ci), tapv(t1, ci), tapv(t2, ci), tapv(t3, ci));
                    mac8(&a, xv, fl, fh);
                }
            }
        }
    }
    if p.has_bias != 0u {
        let bl = vec4(bias[min(co0, last)], bias[min(co0 + 1u, last)], bias[min(co0 + 2u, last)], bias[min(co0 + 3u, last)]);
        let bh = vec4(bias[min(co0 + 4u, last)], bias[min(co0 + 5u, last)], bias[min(co0 + 6u, last)], bias[min(co0 + 7u, last)]);
        add_bias8(&a, bl, bh);
    }
    put_block(q, co0, a);
}

// Adds window row `r` (`window_row`) of input channel t.y at kernel row t.x (t.z: the filter's
// input-channel stride, see `tap_filter`) for the 4 pixels from column `col`, sliding along it.
fn slide_row(a: ptr<function, Acc8>, r: vec2<u32>, col: i32, t: vec3<u32>, off: Off8) {
    let ky = t.x;
    let ci = t.y;
    var xv = vec4(0.0, xat(r, col, ci), xat(r, col + 1, ci), xat(r, col + 2, ci));
    if KX == 0u {
        for (var kx = 0u; kx < p.kw; kx++) {
            xv = vec4(xv.yzw, xat(r, col + 3 + i32(kx), ci));
            slide_tap(a, xv, tap_filter(ky, kx, ci, FLIP, t.z), off);
        }
    } else {
        xv = vec4(xv.yzw, xat(r, col + 3, ci));
        slide_tap(a, xv, tap_filter(ky, 0u, ci, FLIP, t.z), off);
        if 1u < KX {
            xv = vec4(xv.yzw, xat(r, col + 4, ci));
            slide_tap(a, xv, tap_filter(ky, 1u, ci, FLIP, t.z), off);
        }
        if 2u < KX {
            xv = vec4(xv.yzw, xat(r, col + 5, ci));
            slide_tap(a, xv, tap_filter(ky, 2u, ci, FLIP, t.z), off);
        }
    }
}

// Filter offsets of an 8-channel block's channels (conv2d_direct's o0..o7).
struct Off8 {
    lo: vec4<u32>,
    hi: vec4<u32>,
}

// Adds one tap of a sliding window row: the 4 pixels' inputs `xv` times the 8 channels'
// filter values at `fr` (`tap_filter`) plus each channel's offset.
fn slide_tap(a: ptr<function, Acc8>, xv: vec4<f32>, fr: u32, o: Off8) {
    let fl = vec4(fat(fr + o.lo.x, 0u), fat(fr + o.lo.y, 1u), fat(fr + o.lo.z, 2u), fat(fr + o.lo.w, 3u));
    let fh = vec4(fat(fr + o.hi.x, 4u), fat(fr + o.hi.y, 5u), fat(fr + o.hi.z, 6u), fat(fr + o.hi.w, 7u));
    mac8(a, xv, fl, fh);
}

// The accumulators of the direct kernels: 4 pixels x 8 channels (lo: channels 0-3, hi: 4-7).
struct Acc8 {
    lo0: vec4<f32>, lo1: vec4<f32>, lo2: vec4<f32>, lo3: vec4<f32>,
    hi0: vec4<f32>, hi1: vec4<f32>, hi2: vec4<f32>, hi3: vec4<f32>,
}

// Adds the 4 pixels' input values `xv` times the 8 channels' filter values (fl, fh).
fn mac8(a: ptr<function, Acc8>, xv: vec4<f32>, fl: vec4<f32>, fh: vec4<f32>) {
    (*a).lo0 = fma(vec4(xv.x), fl, (*a).lo0);
    (*a).lo1 = fma(vec4(xv.y), fl, (*a).lo1);
    (*a).lo2 = fma(vec4(xv.z), fl, (*a).lo2);
    (*a).lo3 = fma(vec4(xv.w), fl, (*a).lo3);
    (*a).hi0 = mac_hi((*a).hi0, xv.x, fh);
    (*a).hi1 = mac_hi((*a).hi1, xv.y, fh);
    (*a).hi2 = mac_hi((*a).hi2, xv.z, fh);
    (*a).hi3 = mac_hi((*a).hi3, xv.w, fh);
}

// `acc + x * fh` in the channels 4-7 that exist (NCO): the others are never stored, and on
// CPU adapters each component is its own register (LeNet's 6-channel convs: ~4% faster).
fn mac_hi(acc: vec4<f32>, x: f32, fh: vec4<f32>) -> vec4<f32> {
    var r = acc;
    if NCO > 4u { r.x = fma(x, fh.x, r.x); }
    if NCO > 5u { r.y = fma(x, fh.y, r.y); }
    if NCO > 6u { r.z = fma(x, fh.z, r.z); }
    if NCO > 7u { r.w = fma(x, fh.w, r.w); }
    return r;
}

// Adds the 8 channels' bias (bl, bh) to every pixel.
fn add_bias8(a: ptr<function, Acc8>, bl: vec4<f32>, bh: vec4<f32>) {
    (*a).lo0 += bl;
    (*a).hi0 += bh;
    (*a).lo1 += bl;
    (*a).hi1 += bh;
    (*a).lo2 += bl;
    (*a).hi2 += bh;
    (*a).lo3 += bl;
    (*a).hi3 += bh;
}

// The direct kernels' 4-pixel blocks: ceil(ow / 4) per output row, so a block never wraps.
fn direct_blocks() -> u32 {
    return p.n * p.oh * ((p.ow + 3u) / 4u);
}

// Block `blk` as (output row b * oh + oy, first output column).
fn block_pixels(blk: u32) -> vec2<u32> {
    let nq = (p.ow + 3u) / 4u;
    return vec2(blk / nq, (blk % nq) * 4u);
}

// The windows of block `q`'s 4 pixels (`pixel`), the columns past the row clamped to its last.
fn block_taps(q: vec2<u32>) -> array<vec3<i32>, 4> {
    let last = p.ow - 1u;
    let row = q.x * p.ow;
    return array(pixel(row + q.y), pixel(row + min(q.y + 1u, last)), pixel(row + min(q.y + 2u, last)),
                 pixel(row + min(q.y + 3u, last)));
}

// Input row ky of window `px`: (first element of the row, 1 if the row is inside, else 0).
fn window_row(px: vec3<i32>, ky: u32) -> vec2<u32> {
    let iy = px.y + i32(ky * p.dh);
    let inside = iy >= 0 && iy < i32(p.h);
    return vec2(select(0u, (u32(px.x) * p.h + u32(iy)) * p.w, inside), select(0u, 1u, inside));
}

// Input value at column `col`, channel `ci` of window row `r` (`window_row`); 0 outside.
fn xat(r: vec2<u32>, col: i32, ci: u32) -> f32 {
    let inside = r.y != 0u && col >= 0 && col < i32(p.w);
    return select(0.0, x[select(0u, (r.x + u32(col)) * p.cin + ci, inside)], inside);
}

// Input value of tap `t` (`tap1`) at channel ci; 0 in the padding.
fn tapv(t: Tap, ci: u32) -> f32 {
    return select(0.0, x[t.off + ci], t.m != 0.0);
}

// Filter offset of tap (ky, kx), input channel ci, output channel 0 (see conv2d_direct's flip).
fn tap_filter(ky: u32, kx: u32, ci: u32, flip: bool, ci_step: u32) -> u32 {
    let ft = select(ky * p.kw + kx, (p.kh - 1u - ky) * p.kw + (p.kw - 1u - kx), flip);
    return ft * p.cin * p.cout + ci * ci_step;
}

// Applies the activation to block `q`'s 8 channels from co0 (bias already added) and stores
// the pixels and channels that exist.
fn put_block(q: vec2<u32>, co0: u32, a: Acc8) {
    let pix = q.x * p.ow + q.y;
    if q.y < p.ow { put8(pix, co0, a.lo0, a.hi0); }
    if q.y + 1u < p.ow { put8(pix + 1u, co0, a.lo1, a.hi1); }
    if q.y + 2u < p.ow { put8(pix + 2u, co0, a.lo2, a.hi2); }
    if q.y + 3u < p.ow { put8(pix + 3u, co0, a.lo3, a.hi3); }
}

// Applies the activation to 8 channels (lo, hi) of pixel `pix` and stores those that exist.
fn put8(pix: u32, co0: u32, lo: vec4<f32>, hi: vec4<f32>) {
    put1(pix, co0, lo.x);
    if 1u < NCO { put1(pix, co0 + 1u, lo.y); }
    if 2u < NCO { put1(pix, co0 + 2u, lo.z); }
    if 3u < NCO { put1(pix, co0 + 3u, lo.w); }
    if 4u < NCO { put1(pix, co0 + 4u, hi.x); }
    if 5u < NCO { put1(pix, co0 + 5u, hi.y); }
    if 6u < NCO { put1(pix, co0 + 6u, hi.z); }
    if 7u < NCO { put1(pix, co0 + 7u, hi.w); }
}

// Filter value `i` for channel `j` of an 8-channel block, 0 past NCO (never loaded).
fn fat(i: u32, j: u32) -> f32 {
    if j < NCO { return f[i]; }
    return 0.0;
}

// Applies the activation to channel `co` of pixel `pix` and stores it when the channel exists.
fn put1(pix: u32, co: u32, v: f32) {
    if co < p.cout { out[pix * p.cout + co] = activate(v); }
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
@group(0) @binding(2) var<storage, read> gy2: array<vec2<f32>>;

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

// BEGIN GENERATED by tools/gen_conv2d_reg.py 24 8
// Implicit GEMM: REG_TM pixels x 4*REG_TV channels per invocation (at most 24 x 32);
// cin, cout % 4 == 0.
override REG_TM: u32 = 8u;
override REG_TV: u32 = 4u;
@compute @workgroup_size(64)
fn conv2d_reg(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = gid.x + gid.y * nwg.x * 64u;
    let ncb = (p.cout + 4u * REG_TV - 1u) / (4u * REG_TV);
    let rows = p.n * p.oh * p.ow;
    if id >= ncb * ((rows + REG_TM - 1u) / REG_TM) { return; }
    let col0 = (id % ncb) * 4u * REG_TV;
    let row0 = (id / ncb) * REG_TM;
    let co4 = p.cout / 4u;
    let ci4 = p.cin / 4u;
    let c0 = min(col0 / 4u + 0u, co4 - 1u);
    let c1 = min(col0 / 4u + 1u, co4 - 1u);
    let c2 = min(col0 / 4u + 2u, co4 - 1u);
    let c3 = min(col0 / 4u + 3u, co4 - 1u);
    let c4 = min(col0 / 4u + 4u, co4 - 1u);
    let c5 = min(col0 / 4u + 5u, co4 - 1u);
    let c6 = min(col0 / 4u + 6u, co4 - 1u);
    let c7 = min(col0 / 4u + 7u, co4 - 1u);
    let px0 = pixel(min(row0 + 0u, rows - 1u));
    let px1 = pixel(min(row0 + 1u, rows - 1u));
    let px2 = pixel(min(row0 + 2u, rows - 1u));
    let px3 = pixel(min(row0 + 3u, rows - 1u));
    let px4 = pixel(min(row0 + 4u, rows - 1u));
    let px5 = pixel(min(row0 + 5u, rows - 1u));
    let px6 = pixel(min(row0 + 6u, rows - 1u));
    let px7 = pixel(min(row0 + 7u, rows - 1u));
    let px8 = pixel(min(row0 + 8u, rows - 1u));
    let px9 = pixel(min(row0 + 9u, rows - 1u));
    let px10 = pixel(min(row0 + 10u, rows - 1u));
    let px11 = pixel(min(row0 + 11u, rows - 1u));
    let px12 = pixel(min(row0 + 12u, rows - 1u));
    let px13 = pixel(min(row0 + 13u, rows - 1u));
    let px14 = pixel(min(row0 + 14u, rows - 1u));
    let px15 = pixel(min(row0 + 15u, rows - 1u));
    let px16 = pixel(min(row0 + 16u, rows - 1u));
    let px17 = pixel(min(row0 + 17u, rows - 1u));
    let px18 = pixel(min(row0 + 18u, rows - 1u));
    let px19 = pixel(min(row0 + 19u, rows - 1u));
    let px20 = pixel(min(row0 + 20u, rows - 1u));
    let px21 = pixel(min(row0 + 21u, rows - 1u));
    let px22 = pixel(min(row0 + 22u, rows - 1u));
    let px23 = pixel(min(row0 + 23u, rows - 1u));
    var acc0_0 = vec4<f32>(0.0);
    var acc0_1 = vec4<f32>(0.0);
    var acc0_2 = vec4<f32>(0.0);
    var acc0_3 = vec4<f32>(0.0);
    var acc0_4 = vec4<f32>(0.0);
    var acc0_5 = vec4<f32>(0.0);
    var acc0_6 = vec4<f32>(0.0);
    var acc0_7 = vec4<f32>(0.0);
    var acc1_0 = vec4<f32>(0.0);
    var acc1_1 = vec4<f32>(0.0);
    var acc1_2 = vec4<f32>(0.0);
    var acc1_3 = vec4<f32>(0.0);
    var acc1_4 = vec4<f32>(0.0);
    var acc1_5 = vec4<f32>(0.0);
    var acc1_6 = vec4<f32>(0.0);
    var acc1_7 = vec4<f32>(0.0);
    var acc2_0 = vec4<f32>(0.0);
    var acc2_1 = vec4<f32>(0.0);
    var acc2_2 = vec4<f32>(0.0);
    var acc2_3 = vec4<f32>(0.0);
    var acc2_4 = vec4<f32>(0.0);
    var acc2_5 = vec4<f32>(0.0);
    var acc2_6 = vec4<f32>(0.0);
    var acc2_7 = vec4<f32>(0.0);
    var acc3_0 = vec4<f32>(0.0);
    var acc3_1 = vec4<f32>(0.0);
    var acc3_2 = vec4<f32>(0.0);
    var acc3_3 = vec4<f32>(0.0);
    var acc3_4 = vec4<f32>(0.0);
    var acc3_5 = vec4<f32>(0.0);
    var acc3_6 = vec4<f32>(0.0);
    var acc3_7 = vec4<f32>(0.0);
    var acc4_0 = vec4<f32>(0.0);
    var acc4_1 = vec4<f32>(0.0);
    var acc4_2 = vec4<f32>(0.0);
    var acc4_3 = vec4<f32>(0.0);
    var acc4_4 = vec4<f32>(0.0);
    var acc4_5 = vec4<f32>(0.0);
    var acc4_6 = vec4<f32>(0.0);
    var acc4_7 = vec4<f32>(0.0);
    var acc5_0 = vec4<f32>(0.0);
    var acc5_1 = vec4<f32>(0.0);
    var acc5_2 = vec4<f32>(0.0);
    var acc5_3 = vec4<f32>(0.0);
    var acc5_4 = vec4<f32>(0.0);
    var acc5_5 = vec4<f32>(0.0);
    var acc5_6 = vec4<f32>(0.0);
    var acc5_7 = vec4<f32>(0.0);
    var acc6_0 = vec4<f32>(0.0);
    var acc6_1 = vec4<f32>(0.0);
    var acc6_2 = vec4<f32>(0.0);
    var acc6_3 = vec4<f32>(0.0);
    var acc6_4 = vec4<f32>(0.0);
    var acc6_5 = vec4<f32>(0.0);
    var acc6_6 = vec4<f32>(0.0);
    var acc6_7 = vec4<f32>(0.0);
    var acc7_0 = vec4<f32>(0.0);
    var acc7_1 = vec4<f32>(0.0);
    var acc7_2 = vec4<f32>(0.0);
    var acc7_3 = vec4<f32>(0.0);
    var acc7_4 = vec4<f32>(0.0);
    var acc7_5 = vec4<f32>(0.0);
    var acc7_6 = vec4<f32>(0.0);
    var acc7_7 = vec4<f32>(0.0);
    var acc8_0 = vec4<f32>(0.0);
    var acc8_1 = vec4<f32>(0.0);
    var acc8_2 = vec4<f32>(0.0);
    var acc8_3 = vec4<f32>(0.0);
    var acc8_4 = vec4<f32>(0.0);
    var acc8_5 = vec4<f32>(0.0);
    var acc8_6 = vec4<f32>(0.0);
    var acc8_7 = vec4<f32>(0.0);
    var acc9_0 = vec4<f32>(0.0);
    var acc9_1 = vec4<f32>(0.0);
    var acc9_2 = vec4<f32>(0.0);
    var acc9_3 = vec4<f32>(0.0);
    var acc9_4 = vec4<f32>(0.0);
    var acc9_5 = vec4<f32>(0.0);
    var acc9_6 = vec4<f32>(0.0);
    var acc9_7 = vec4<f32>(0.0);
    var acc10_0 = vec4<f32>(0.0);
    var acc10_1 = vec4<f32>(0.0);
    var acc10_2 = vec4<f32>(0.0);
    var acc10_3 = vec4<f32>(0.0);
    var acc10_4 = vec4<f32>(0.0);
    var acc10_5 = vec4<f32>(0.0);
    var acc10_6 = vec4<f32>(0.0);
    var acc10_7 = vec4<f32>(0.0);
    var acc11_0 = vec4<f32>(0.0);
    var acc11_1 = vec4<f32>(0.0);
    var acc11_2 = vec4<f32>(0.0);
    var acc11_3 = vec4<f32>(0.0);
    var acc11_4 = vec4<f32>(0.0);
    var acc11_5 = vec4<f32>(0.0);
    var acc11_6 = vec4<f32>(0.0);
    var acc11_7 = vec4<f32>(0.0);
    var acc12_0 = vec4<f32>(0.0);
    var acc12_1 = vec4<f32>(0.0);
    var acc12_2 = vec4<f32>(0.0);
    var acc12_3 = vec4<f32>(0.0);
    var acc12_4 = vec4<f32>(0.0);
    var acc12_5 = vec4<f32>(0.0);
    var acc12_6 = vec4<f32>(0.0);
    var acc12_7 = vec4<f32>(0.0);
    var acc13_0 = vec4<f32>(0.0);
    var acc13_1 = vec4<f32>(0.0);
    var acc13_2 = vec4<f32>(0.0);
    var acc13_3 = vec4<f32>(0.0);
    var acc13_4 = vec4<f32>(0.0);
    var acc13_5 = vec4<f32>(0.0);
    var acc13_6 = vec4<f32>(0.0);
    var acc13_7 = vec4<f32>(0.0);
    var acc14_0 = vec4<f32>(0.0);
    var acc14_1 = vec4<f32>(0.0);
    var acc14_2 = vec4<f32>(0.0);
    var acc14_3 = vec4<f32>(0.0);
    var acc14_4 = vec4<f32>(0.0);
    var acc14_5 = vec4<f32>(0.0);
    var acc14_6 = vec4<f32>(0.0);
    var acc14_7 = vec4<f32>(0.0);
    var acc15_0 = vec4<f32>(0.0);
    var acc15_1 = vec4<f32>(0.0);
    var acc15_2 = vec4<f32>(0.0);
    var acc15_3 = vec4<f32>(0.0);
    var acc15_4 = vec4<f32>(0.0);
    var acc15_5 = vec4<f32>(0.0);
    var acc15_6 = vec4<f32>(0.0);
    var acc15_7 = vec4<f32>(0.0);
    var acc16_0 = vec4<f32>(0.0);
    var acc16_1 = vec4<f32>(0.0);
    var acc16_2 = vec4<f32>(0.0);
    var acc16_3 = vec4<f32>(0.0);
    var acc16_4 = vec4<f32>(0.0);
    var acc16_5 = vec4<f32>(0.0);
    var acc16_6 = vec4<f32>(0.0);
    var acc16_7 = vec4<f32>(0.0);
    var acc17_0 = vec4<f32>(0.0);
    var acc17_1 = vec4<f32>(0.0);
    var acc17_2 = vec4<f32>(0.0);
    var acc17_3 = vec4<f32>(0.0);
    var acc17_4 = vec4<f32>(0.0);
    var acc17_5 = vec4<f32>(0.0);
    var acc17_6 = vec4<f32>(0.0);
    var acc17_7 = vec4<f32>(0.0);
    var acc18_0 = vec4<f32>(0.0);
    var acc18_1 = vec4<f32>(0.0);
    var acc18_2 = vec4<f32>(0.0);
    var acc18_3 = vec4<f32>(0.0);
    var acc18_4 = vec4<f32>(0.0);
    var acc18_5 = vec4<f32>(0.0);
    var acc18_6 = vec4<f32>(0.0);
    var acc18_7 = vec4<f32>(0.0);
    var acc19_0 = vec4<f32>(0.0);
    var acc19_1 = vec4<f32>(0.0);
    var acc19_2 = vec4<f32>(0.0);
    var acc19_3 = vec4<f32>(0.0);
    var acc19_4 = vec4<f32>(0.0);
    var acc19_5 = vec4<f32>(0.0);
    var acc19_6 = vec4<f32>(0.0);
    var acc19_7 = vec4<f32>(0.0);
    var acc20_0 = vec4<f32>(0.0);
    var acc20_1 = vec4<f32>(0.0);
    var acc20_2 = vec4<f32>(0.0);
    var acc20_3 = vec4<f32>(0.0);
    var acc20_4 = vec4<f32>(0.0);
    var acc20_5 = vec4<f32>(0.0);
    var acc20_6 = vec4<f32>(0.0);
    var acc20_7 = vec4<f32>(0.0);
    var acc21_0 = vec4<f32>(0.0);
    var acc21_1 = vec4<f32>(0.0);
    var acc21_2 = vec4<f32>(0.0);
    var acc21_3 = vec4<f32>(0.0);
    var acc21_4 = vec4<f32>(0.0);
    var acc21_5 = vec4<f32>(0.0);
    var acc21_6 = vec4<f32>(0.0);
    var acc21_7 = vec4<f32>(0.0);
    var acc22_0 = vec4<f32>(0.0);
    var acc22_1 = vec4<f32>(0.0);
    var acc22_2 = vec4<f32>(0.0);
    var acc22_3 = vec4<f32>(0.0);
    var acc22_4 = vec4<f32>(0.0);
    var acc22_5 = vec4<f32>(0.0);
    var acc22_6 = vec4<f32>(0.0);
    var acc22_7 = vec4<f32>(0.0);
    var acc23_0 = vec4<f32>(0.0);
    var acc23_1 = vec4<f32>(0.0);
    var acc23_2 = vec4<f32>(0.0);
    var acc23_3 = vec4<f32>(0.0);
    var acc23_4 = vec4<f32>(0.0);
    var acc23_5 = vec4<f32>(0.0);
    var acc23_6 = vec4<f32>(0.0);
    var acc23_7 = vec4<f32>(0.0);
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
            let t8 = tap(px8, ky, kx);
            let m8 = t8.y != 0u;
            let t9 = tap(px9, ky, kx);
            let m9 = t9.y != 0u;
            let t10 = tap(px10, ky, kx);
            let m10 = t10.y != 0u;
            let t11 = tap(px11, ky, kx);
            let m11 = t11.y != 0u;
            let t12 = tap(px12, ky, kx);
            let m12 = t12.y != 0u;
            let t13 = tap(px13, ky, kx);
            let m13 = t13.y != 0u;
            let t14 = tap(px14, ky, kx);
            let m14 = t14.y != 0u;
            let t15 = tap(px15, ky, kx);
            let m15 = t15.y != 0u;
            let t16 = tap(px16, ky, kx);
            let m16 = t16.y != 0u;
            let t17 = tap(px17, ky, kx);
            let m17 = t17.y != 0u;
            let t18 = tap(px18, ky, kx);
            let m18 = t18.y != 0u;
            let t19 = tap(px19, ky, kx);
            let m19 = t19.y != 0u;
            let t20 = tap(px20, ky, kx);
            let m20 = t20.y != 0u;
            let t21 = tap(px21, ky, kx);
            let m21 = t21.y != 0u;
            let t22 = tap(px22, ky, kx);
            let m22 = t22.y != 0u;
            let t23 = tap(px23, ky, kx);
            let m23 = t23.y != 0u;
            let fbase = (ky * p.kw + kx) * p.cin * co4;
            for (var ci = 0u; ci < ci4; ci++) {
                let fr = fbase + ci * 4u * co4;
                let b0_0 = f4[fr + 0u * co4 + c0];
                let b0_1 = f4[fr + 0u * co4 + c1];
                let b0_2 = f4[fr + 0u * co4 + c2];
                let b0_3 = f4[fr + 0u * co4 + c3];
                let b0_4 = f4[fr + 0u * co4 + c4];
                let b0_5 = f4[fr + 0u * co4 + c5];
                let b0_6 = f4[fr + 0u * co4 + c6];
                let b0_7 = f4[fr + 0u * co4 + c7];
                let b1_0 = f4[fr + 1u * co4 + c0];
                let b1_1 = f4[fr + 1u * co4 + c1];
                let b1_2 = f4[fr + 1u * co4 + c2];
                let b1_3 = f4[fr + 1u * co4 + c3];
                let b1_4 = f4[fr + 1u * co4 + c4];
                let b1_5 = f4[fr + 1u * co4 + c5];
                let b1_6 = f4[fr + 1u * co4 + c6];
                let b1_7 = f4[fr + 1u * co4 + c7];
                let b2_0 = f4[fr + 2u * co4 + c0];
                let b2_1 = f4[fr + 2u * co4 + c1];
                let b2_2 = f4[fr + 2u * co4 + c2];
                let b2_3 = f4[fr + 2u * co4 + c3];
                let b2_4 = f4[fr + 2u * co4 + c4];
                let b2_5 = f4[fr + 2u * co4 + c5];
                let b2_6 = f4[fr + 2u * co4 + c6];
                let b2_7 = f4[fr + 2u * co4 + c7];
                let b3_0 = f4[fr + 3u * co4 + c0];
                let b3_1 = f4[fr + 3u * co4 + c1];
                let b3_2 = f4[fr + 3u * co4 + c2];
                let b3_3 = f4[fr + 3u * co4 + c3];
                let b3_4 = f4[fr + 3u * co4 + c4];
                let b3_5 = f4[fr + 3u * co4 + c5];
                let b3_6 = f4[fr + 3u * co4 + c6];
                let b3_7 = f4[fr + 3u * co4 + c7];
                if 0u < REG_TM {
                    let av0 = select(vec4<f32>(0.0), x4[t0.x + ci], m0);
                    if 0u < REG_TV { acc0_0 = fma(vec4(av0.x), b0_0, acc0_0); acc0_0 = fma(vec4(av0.y), b1_0, acc0_0); acc0_0 = fma(vec4(av0.z), b2_0, acc0_0); acc0_0 = fma(vec4(av0.w), b3_0, acc0_0); }
                    if 1u < REG_TV { acc0_1 = fma(vec4(av0.x), b0_1, acc0_1); acc0_1 = fma(vec4(av0.y), b1_1, acc0_1); acc0_1 = fma(vec4(av0.z), b2_1, acc0_1); acc0_1 = fma(vec4(av0.w), b3_1, acc0_1); }
                    if 2u < REG_TV { acc0_2 = fma(vec4(av0.x), b0_2, acc0_2); acc0_2 = fma(vec4(av0.y), b1_2, acc0_2); acc0_2 = fma(vec4(av0.z), b2_2, acc0_2); acc0_2 = fma(vec4(av0.w), b3_2, acc0_2); }
                    if 3u < REG_TV { acc0_3 = fma(vec4(av0.x), b0_3, acc0_3); acc0_3 = fma(vec4(av0.y), b1_3, acc0_3); acc0_3 = fma(vec4(av0.z), b2_3, acc0_3); acc0_3 = fma(vec4(av0.w), b3_3, acc0_3); }
                    if 4u < REG_TV { acc0_4 = fma(vec4(av0.x), b0_4, acc0_4); acc0_4 = fma(vec4(av0.y), b1_4, acc0_4); acc0_4 = fma(vec4(av0.z), b2_4, acc0_4); acc0_4 = fma(vec4(av0.w), b3_4, acc0_4); }
                    if 5u < REG_TV { acc0_5 = fma(vec4(av0.x), b0_5, acc0_5); acc0_5 = fma(vec4(av0.y), b1_5, acc0_5); acc0_5 = fma(vec4(av0.z), b2_5, acc0_5); acc0_5 = fma(vec4(av0.w), b3_5, acc0_5); }
                    if 6u < REG_TV { acc0_6 = fma(vec4(av0.x), b0_6, acc0_6); acc0_6 = fma(vec4(av0.y), b1_6, acc0_6); acc0_6 = fma(vec4(av0.z), b2_6, acc0_6); acc0_6 = fma(vec4(av0.w), b3_6, acc0_6); }
                    if 7u < REG_TV { acc0_7 = fma(vec4(av0.x), b0_7, acc0_7); acc0_7 = fma(vec4(av0.y), b1_7, acc0_7); acc0_7 = fma(vec4(av0.z), b2_7, acc0_7); acc0_7 = fma(vec4(av0.w), b3_7, acc0_7); }
                }
                if 1u < REG_TM {
                    let av1 = select(vec4<f32>(0.0), x4[t1.x + ci], m1);
                    if 0u < REG_TV { acc1_0 = fma(vec4(av1.x), b0_0, acc1_0); acc1_0 = fma(vec4(av1.y), b1_0, acc1_0); acc1_0 = fma(vec4(av1.z), b2_0, acc1_0); acc1_0 = fma(vec4(av1.w), b3_0, acc1_0); }
                    if 1u < REG_TV { acc1_1 = fma(vec4(av1.x), b0_1, acc1_1); acc1_1 = fma(vec4(av1.y), b1_1, acc1_1); acc1_1 = fma(vec4(av1.z), b2_1, acc1_1); acc1_1 = fma(vec4(av1.w), b3_1, acc1_1); }
                    if 2u < REG_TV { acc1_2 = fma(vec4(av1.x), b0_2, acc1_2); acc1_2 = fma(vec4(av1.y), b1_2, acc1_2); acc1_2 = fma(vec4(av1.z), b2_2, acc1_2); acc1_2 = fma(vec4(av1.w), b3_2, acc1_2); }
                    if 3u < REG_TV { acc1_3 = fma(vec4(av1.x), b0_3, acc1_3); acc1_3 = fma(vec4(av1.y), b1_3, acc1_3); acc1_3 = fma(vec4(av1.z), b2_3, acc1_3); acc1_3 = fma(vec4(av1.w), b3_3, acc1_3); }
                    if 4u < REG_TV { acc1_4 = fma(vec4(av1.x), b0_4, acc1_4); acc1_4 = fma(vec4(av1.y), b1_4, acc1_4); acc1_4 = fma(vec4(av1.z), b2_4, acc1_4); acc1_4 = fma(vec4(av1.w), b3_4, acc1_4); }
                    if 5u < REG_TV { acc1_5 = fma(vec4(av1.x), b0_5, acc1_5); acc1_5 = fma(vec4(av1.y), b1_5, acc1_5); acc1_5 = fma(vec4(av1.z), b2_5, acc1_5); acc1_5 = fma(vec4(av1.w), b3_5, acc1_5); }
                    if 6u < REG_TV { acc1_6 = fma(vec4(av1.x), b0_6, acc1_6); acc1_6 = fma(vec4(av1.y), b1_6, acc1_6); acc1_6 = fma(vec4(av1.z), b2_6, acc1_6); acc1_6 = fma(vec4(av1.w), b3_6, acc1_6); }
                    if 7u < REG_TV { acc1_7 = fma(vec4(av1.x), b0_7, acc1_7); acc1_7 = fma(vec4(av1.y), b1_7, acc1_7); acc1_7 = fma(vec4(av1.z), b2_7, acc1_7); acc1_7 = fma(vec4(av1.w), b3_7, acc1_7); }
                }
                if 2u < REG_TM {
                    let av2 = select(vec4<f32>(0.0), x4[t2.x + ci], m2);
                    if 0u < REG_TV { acc2_0 = fma(vec4(av2.x), b0_0, acc2_0); acc2_0 = fma(vec4(av2.y), b1_0, acc2_0); acc2_0 = fma(vec4(av2.z), b2_0, acc2_0); acc2_0 = fma(vec4(av2.w), b3_0, acc2_0); }
                    if 1u < REG_TV { acc2_1 = fma(vec4(av2.x), b0_1, acc2_1); acc2_1 = fma(vec4(av2.y), b1_1, acc2_1); acc2_1 = fma(vec4(av2.z), b2_1, acc2_1); acc2_1 = fma(vec4(av2.w), b3_1, acc2_1); }
                    if 2u < REG_TV { acc2_2 = fma(vec4(av2.x), b0_2, acc2_2); acc2_2 = fma(vec4(av2.y), b1_2, acc2_2); acc2_2 = fma(vec4(av2.z), b2_2, acc2_2); acc2_2 = fma(vec4(av2.w), b3_2, acc2_2); }
                    if 3u < REG_TV { acc2_3 = fma(vec4(av2.x), b0_3, acc2_3); acc2_3 = fma(vec4(av2.y), b1_3, acc2_3); acc2_3 = fma(vec4(av2.z), b2_3, acc2_3); acc2_3 = fma(vec4(av2.w), b3_3, acc2_3); }
                    if 4u < REG_TV { acc2_4 = fma(vec4(av2.x), b0_4, acc2_4); acc2_4 = fma(vec4(av2.y), b1_4, acc2_4); acc2_4 = fma(vec4(av2.z), b2_4, acc2_4); acc2_4 = fma(vec4(av2.w), b3_4, acc2_4); }
                    if 5u < REG_TV { acc2_5 = fma(vec4(av2.x), b0_5, acc2_5); acc2_5 = fma(vec4(av2.y), b1_5, acc2_5); acc2_5 = fma(vec4(av2.z), b2_5, acc2_5); acc2_5 = fma(vec4(av2.w), b3_5, acc2_5); }
                    if 6u < REG_TV { acc2_6 = fma(vec4(av2.x), b0_6, acc2_6); acc2_6 = fma(vec4(av2.y), b1_6, acc2_6); acc2_6 = fma(vec4(av2.z), b2_6, acc2_6); acc2_6 = fma(vec4(av2.w), b3_6, acc2_6); }
                    if 7u < REG_TV { acc2_7 = fma(vec4(av2.x), b0_7, acc2_7); acc2_7 = fma(vec4(av2.y), b1_7, acc2_7); acc2_7 = fma(vec4(av2.z), b2_7, acc2_7); acc2_7 = fma(vec4(av2.w), b3_7, acc2_7); }
                }
                if 3u < REG_TM {
                    let av3 = select(vec4<f32>(0.0), x4[t3.x + ci], m3);
                    if 0u < REG_TV { acc3_0 = fma(vec4(av3.x), b0_0, acc3_0); acc3_0 = fma(vec4(av3.y), b1_0, acc3_0); acc3_0 = fma(vec4(av3.z), b2_0, acc3_0); acc3_0 = fma(vec4(av3.w), b3_0, acc3_0); }
                    if 1u < REG_TV { acc3_1 = fma(vec4(av3.x), b0_1, acc3_1); acc3_1 = fma(vec4(av3.y), b1_1, acc3_1); acc3_1 = fma(vec4(av3.z), b2_1, acc3_1); acc3_1 = fma(vec4(av3.w), b3_1, acc3_1); }
                    if 2u < REG_TV { acc3_2 = fma(vec4(av3.x), b0_2, acc3_2); acc3_2 = fma(vec4(av3.y), b1_2, acc3_2); acc3_2 = fma(vec4(av3.z), b2_2, acc3_2); acc3_2 = fma(vec4(av3.w), b3_2, acc3_2); }
                    if 3u < REG_TV { acc3_3 = fma(vec4(av3.x), b0_3, acc3_3); acc3_3 = fma(vec4(av3.y), b1_3, acc3_3); acc3_3 = fma(vec4(av3.z), b2_3, acc3_3); acc3_3 = fma(vec4(av3.w), b3_3, acc3_3); }
                    if 4u < REG_TV { acc3_4 = fma(vec4(av3.x), b0_4, acc3_4); acc3_4 = fma(vec4(av3.y), b1_4, acc3_4); acc3_4 = fma(vec4(av3.z), b2_4, acc3_4); acc3_4 = fma(vec4(av3.w), b3_4, acc3_4); }
                    if 5u < REG_TV { acc3_5 = fma(vec4(av3.x), b0_5, acc3_5); acc3_5 = fma(vec4(av3.y), b1_5, acc3_5); acc3_5 = fma(vec4(av3.z), b2_5, acc3_5); acc3_5 = fma(vec4(av3.w), b3_5, acc3_5); }
                    if 6u < REG_TV { acc3_6 = fma(vec4(av3.x), b0_6, acc3_6); acc3_6 = fma(vec4(av3.y), b1_6, acc3_6); acc3_6 = fma(vec4(av3.z), b2_6, acc3_6); acc3_6 = fma(vec4(av3.w), b3_6, acc3_6); }
                    if 7u < REG_TV { acc3_7 = fma(vec4(av3.x), b0_7, acc3_7); acc3_7 = fma(vec4(av3.y), b1_7, acc3_7); acc3_7 = fma(vec4(av3.z), b2_7, acc3_7); acc3_7 = fma(vec4(av3.w), b3_7, acc3_7); }
                }
                if 4u < REG_TM {
                    let av4 = select(vec4<f32>(0.0), x4[t4.x + ci], m4);
                    if 0u < REG_TV { acc4_0 = fma(vec4(av4.x), b0_0, acc4_0); acc4_0 = fma(vec4(av4.y), b1_0, acc4_0); acc4_0 = fma(vec4(av4.z), b2_0, acc4_0); acc4_0 = fma(vec4(av4.w), b3_0, acc4_0); }
                    if 1u < REG_TV { acc4_1 = fma(vec4(av4.x), b0_1, acc4_1); acc4_1 = fma(vec4(av4.y), b1_1, acc4_1); acc4_1 = fma(vec4(av4.z), b2_1, acc4_1); acc4_1 = fma(vec4(av4.w), b3_1, acc4_1); }
                    if 2u < REG_TV { acc4_2 = fma(vec4(av4.x), b0_2, acc4_2); acc4_2 = fma(vec4(av4.y), b1_2, acc4_2); acc4_2 = fma(vec4(av4.z), b2_2, acc4_2); acc4_2 = fma(vec4(av4.w), b3_2, acc4_2); }
                    if 3u < REG_TV { acc4_3 = fma(vec4(av4.x), b0_3, acc4_3); acc4_3 = fma(vec4(av4.y), b1_3, acc4_3); acc4_3 = fma(vec4(av4.z), b2_3, acc4_3); acc4_3 = fma(vec4(av4.w), b3_3, acc4_3); }
                    if 4u < REG_TV { acc4_4 = fma(vec4(av4.x), b0_4, acc4_4); acc4_4 = fma(vec4(av4.y), b1_4, acc4_4); acc4_4 = fma(vec4(av4.z), b2_4, acc4_4); acc4_4 = fma(vec4(av4.w), b3_4, acc4_4); }
                    if 5u < REG_TV { acc4_5 = fma(vec4(av4.x), b0_5, acc4_5); acc4_5 = fma(vec4(av4.y), b1_5, acc4_5); acc4_5 = fma(vec4(av4.z), b2_5, acc4_5); acc4_5 = fma(vec4(av4.w), b3_5, acc4_5); }
                    if 6u < REG_TV { acc4_6 = fma(vec4(av4.x), b0_6, acc4_6); acc4_6 = fma(vec4(av4.y), b1_6, acc4_6); acc4_6 = fma(vec4(av4.z), b2_6, acc4_6); acc4_6 = fma(vec4(av4.w), b3_6, acc4_6); }
                    if 7u < REG_TV { acc4_7 = fma(vec4(av4.x), b0_7, acc4_7); acc4_7 = fma(vec4(av4.y), b1_7, acc4_7); acc4_7 = fma(vec4(av4.z), b2_7, acc4_7); acc4_7 = fma(vec4(av4.w), b3_7, acc4_7); }
                }
                if 5u < REG_TM {
                    let av5 = select(vec4<f32>(0.0), x4[t5.x + ci], m5);
                    if 0u < REG_TV { acc5_0 = fma(vec4(av5.x), b0_0, acc5_0); acc5_0 = fma(vec4(av5.y), b1_0, acc5_0); acc5_0 = fma(vec4(av5.z), b2_0, acc5_0); acc5_0 = fma(vec4(av5.w), b3_0, acc5_0); }
                    if 1u < REG_TV { acc5_1 = fma(vec4(av5.x), b0_1, acc5_1); acc5_1 = fma(vec4(av5.y), b1_1, acc5_1); acc5_1 = fma(vec4(av5.z), b2_1, acc5_1); acc5_1 = fma(vec4(av5.w), b3_1, acc5_1); }
                    if 2u < REG_TV { acc5_2 = fma(vec4(av5.x), b0_2, acc5_2); acc5_2 = fma(vec4(av5.y), b1_2, acc5_2); acc5_2 = fma(vec4(av5.z), b2_2, acc5_2); acc5_2 = fma(vec4(av5.w), b3_2, acc5_2); }
                    if 3u < REG_TV { acc5_3 = fma(vec4(av5.x), b0_3, acc5_3); acc5_3 = fma(vec4(av5.y), b1_3, acc5_3); acc5_3 = fma(vec4(av5.z), b2_3, acc5_3); acc5_3 = fma(vec4(av5.w), b3_3, acc5_3); }
                    if 4u < REG_TV { acc5_4 = fma(vec4(av5.x), b0_4, acc5_4); acc5_4 = fma(vec4(av5.y), b1_4, acc5_4); acc5_4 = fma(vec4(av5.z), b2_4, acc5_4); acc5_4 = fma(vec4(av5.w), b3_4, acc5_4); }
                    if 5u < REG_TV { acc5_5 = fma(vec4(av5.x), b0_5, acc5_5); acc5_5 = fma(vec4(av5.y), b1_5, acc5_5); acc5_5 = fma(vec4(av5.z), b2_5, acc5_5); acc5_5 = fma(vec4(av5.w), b3_5, acc5_5); }
                    if 6u < REG_TV { acc5_6 = fma(vec4(av5.x), b0_6, acc5_6); acc5_6 = fma(vec4(av5.y), b1_6, acc5_6); acc5_6 = fma(vec4(av5.z), b2_6, acc5_6); acc5_6 = fma(vec4(av5.w), b3_6, acc5_6); }
                    if 7u < REG_TV { acc5_7 = fma(vec4(av5.x), b0_7, acc5_7); acc5_7 = fma(vec4(av5.y), b1_7, acc5_7); acc5_7 = fma(vec4(av5.z), b2_7, acc5_7); acc5_7 = fma(vec4(av5.w), b3_7, acc5_7); }
                }
                if 6u < REG_TM {
                    let av6 = select(vec4<f32>(0.0), x4[t6.x + ci], m6);
                    if 0u < REG_TV { acc6_0 = fma(vec4(av6.x), b0_0, acc6_0); acc6_0 = fma(vec4(av6.y), b1_0, acc6_0); acc6_0 = fma(vec4(av6.z), b2_0, acc6_0); acc6_0 = fma(vec4(av6.w), b3_0, acc6_0); }
                    if 1u < REG_TV { acc6_1 = fma(vec4(av6.x), b0_1, acc6_1); acc6_1 = fma(vec4(av6.y), b1_1, acc6_1); acc6_1 = fma(vec4(av6.z), b2_1, acc6_1); acc6_1 = fma(vec4(av6.w), b3_1, acc6_1); }
                    if 2u < REG_TV { acc6_2 = fma(vec4(av6.x), b0_2, acc6_2); acc6_2 = fma(vec4(av6.y), b1_2, acc6_2); acc6_2 = fma(vec4(av6.z), b2_2, acc6_2); acc6_2 = fma(vec4(av6.w), b3_2, acc6_2); }
                    if 3u < REG_TV { acc6_3 = fma(vec4(av6.x), b0_3, acc6_3); acc6_3 = fma(vec4(av6.y), b1_3, acc6_3); acc6_3 = fma(vec4(av6.z), b2_3, acc6_3); acc6_3 = fma(vec4(av6.w), b3_3, acc6_3); }
                    if 4u < REG_TV { acc6_4 = fma(vec4(av6.x), b0_4, acc6_4); acc6_4 = fma(vec4(av6.y), b1_4, acc6_4); acc6_4 = fma(vec4(av6.z), b2_4, acc6_4); acc6_4 = fma(vec4(av6.w), b3_4, acc6_4); }
                    if 5u < REG_TV { acc6_5 = fma(vec4(av6.x), b0_5, acc6_5); acc6_5 = fma(vec4(av6.y), b1_5, acc6_5); acc6_5 = fma(vec4(av6.z), b2_5, acc6_5); acc6_5 = fma(vec4(av6.w), b3_5, acc6_5); }
                    if 6u < REG_TV { acc6_6 = fma(vec4(av6.x), b0_6, acc6_6); acc6_6 = fma(vec4(av6.y), b1_6, acc6_6); acc6_6 = fma(vec4(av6.z), b2_6, acc6_6); acc6_6 = fma(vec4(av6.w), b3_6, acc6_6); }
                    if 7u < REG_TV { acc6_7 = fma(vec4(av6.x), b0_7, acc6_7); acc6_7 = fma(vec4(av6.y), b1_7, acc6_7); acc6_7 = fma(vec4(av6.z), b2_7, acc6_7); acc6_7 = fma(vec4(av6.w), b3_7, acc6_7); }
                }
                if 7u < REG_TM {
                    let av7 = select(vec4<f32>(0.0), x4[t7.x + ci], m7);
                    if 0u < REG_TV { acc7_0 = fma(vec4(av7.x), b0_0, acc7_0); acc7_0 = fma(vec4(av7.y), b1_0, acc7_0); acc7_0 = fma(vec4(av7.z), b2_0, acc7_0); acc7_0 = fma(vec4(av7.w), b3_0, acc7_0); }
                    if 1u < REG_TV { acc7_1 = fma(vec4(av7.x), b0_1, acc7_1); acc7_1 = fma(vec4(av7.y), b1_1, acc7_1); acc7_1 = fma(vec4(av7.z), b2_1, acc7_1); acc7_1 = fma(vec4(av7.w), b3_1, acc7_1); }
                    if 2u < REG_TV { acc7_2 = fma(vec4(av7.x), b0_2, acc7_2); acc7_2 = fma(vec4(av7.y), b1_2, acc7_2); acc7_2 = fma(vec4(av7.z), b2_2, acc7_2); acc7_2 = fma(vec4(av7.w), b3_2, acc7_2); }
                    if 3u < REG_TV { acc7_3 = fma(vec4(av7.x), b0_3, acc7_3); acc7_3 = fma(vec4(av7.y), b1_3, acc7_3); acc7_3 = fma(vec4(av7.z), b2_3, acc7_3); acc7_3 = fma(vec4(av7.w), b3_3, acc7_3); }
                    if 4u < REG_TV { acc7_4 = fma(vec4(av7.x), b0_4, acc7_4); acc7_4 = fma(vec4(av7.y), b1_4, acc7_4); acc7_4 = fma(vec4(av7.z), b2_4, acc7_4); acc7_4 = fma(vec4(av7.w), b3_4, acc7_4); }
                    if 5u < REG_TV { acc7_5 = fma(vec4(av7.x), b0_5, acc7_5); acc7_5 = fma(vec4(av7.y), b1_5, acc7_5); acc7_5 = fma(vec4(av7.z), b2_5, acc7_5); acc7_5 = fma(vec4(av7.w), b3_5, acc7_5); }
                    if 6u < REG_TV { acc7_6 = fma(vec4(av7.x), b0_6, acc7_6); acc7_6 = fma(vec4(av7.y), b1_6, acc7_6); acc7_6 = fma(vec4(av7.z), b2_6, acc7_6); acc7_6 = fma(vec4(av7.w), b3_6, acc7_6); }
                    if 7u < REG_TV { acc7_7 = fma(vec4(av7.x), b0_7, acc7_7); acc7_7 = fma(vec4(av7.y), b1_7, acc7_7); acc7_7 = fma(vec4(av7.z), b2_7, acc7_7); acc7_7 = fma(vec4(av7.w), b3_7, acc7_7); }
                }
                if 8u < REG_TM {
                    let av8 = select(vec4<f32>(0.0), x4[t8.x + ci], m8);
                    if 0u < REG_TV { acc8_0 = fma(vec4(av8.x), b0_0, acc8_0); acc8_0 = fma(vec4(av8.y), b1_0, acc8_0); acc8_0 = fma(vec4(av8.z), b2_0, acc8_0); acc8_0 = fma(vec4(av8.w), b3_0, acc8_0); }
                    if 1u < REG_TV { acc8_1 = fma(vec4(av8.x), b0_1, acc8_1); acc8_1 = fma(vec4(av8.y), b1_1, acc8_1); acc8_1 = fma(vec4(av8.z), b2_1, acc8_1); acc8_1 = fma(vec4(av8.w), b3_1, acc8_1); }
                    if 2u < REG_TV { acc8_2 = fma(vec4(av8.x), b0_2, acc8_2); acc8_2 = fma(vec4(av8.y), b1_2, acc8_2); acc8_2 = fma(vec4(av8.z), b2_2, acc8_2); acc8_2 = fma(vec4(av8.w), b3_2, acc8_2); }
                    if 3u < REG_TV { acc8_3 = fma(vec4(av8.x), b0_3, acc8_3); acc8_3 = fma(vec4(av8.y), b1_3, acc8_3); acc8_3 = fma(vec4(av8.z), b2_3, acc8_3); acc8_3 = fma(vec4(av8.w), b3_3, acc8_3); }
                    if 4u < REG_TV { acc8_4 = fma(vec4(av8.x), b0_4, acc8_4); acc8_4 = fma(vec4(av8.y), b1_4, acc8_4); acc8_4 = fma(vec4(av8.z), b2_4, acc8_4); acc8_4 = fma(vec4(av8.w), b3_4, acc8_4); }
                    if 5u < REG_TV { acc8_5 = fma(vec4(av8.x), b0_5, acc8_5); acc8_5 = fma(vec4(av8.y), b1_5, acc8_5); acc8_5 = fma(vec4(av8.z), b2_5, acc8_5); acc8_5 = fma(vec4(av8.w), b3_5, acc8_5); }
                    if 6u < REG_TV { acc8_6 = fma(vec4(av8.x), b0_6, acc8_6); acc8_6 = fma(vec4(av8.y), b1_6, acc8_6); acc8_6 = fma(vec4(av8.z), b2_6, acc8_6); acc8_6 = fma(vec4(av8.w), b3_6, acc8_6); }
                    if 7u < REG_TV { acc8_7 = fma(vec4(av8.x), b0_7, acc8_7); acc8_7 = fma(vec4(av8.y), b1_7, acc8_7); acc8_7 = fma(vec4(av8.z), b2_7, acc8_7); acc8_7 = fma(vec4(av8.w), b3_7, acc8_7); }
                }
                if 9u < REG_TM {
                    let av9 = select(vec4<f32>(0.0), x4[t9.x + ci], m9);
                    if 0u < REG_TV { acc9_0 = fma(vec4(av9.x), b0_0, acc9_0); acc9_0 = fma(vec4(av9.y), b1_0, acc9_0); acc9_0 = fma(vec4(av9.z), b2_0, acc9_0); acc9_0 = fma(vec4(av9.w), b3_0, acc9_0); }
                    if 1u < REG_TV { acc9_1 = fma(vec4(av9.x), b0_1, acc9_1); acc9_1 = fma(vec4(av9.y), b1_1, acc9_1); acc9_1 = fma(vec4(av9.z), b2_1, acc9_1); acc9_1 = fma(vec4(av9.w), b3_1, acc9_1); }
                    if 2u < REG_TV { acc9_2 = fma(vec4(av9.x), b0_2, acc9_2); acc9_2 = fma(vec4(av9.y), b1_2, acc9_2); acc9_2 = fma(vec4(av9.z), b2_2, acc9_2); acc9_2 = fma(vec4(av9.w), b3_2, acc9_2); }
                    if 3u < REG_TV { acc9_3 = fma(vec4(av9.x), b0_3, acc9_3); acc9_3 = fma(vec4(av9.y), b1_3, acc9_3); acc9_3 = fma(vec4(av9.z), b2_3, acc9_3); acc9_3 = fma(vec4(av9.w), b3_3, acc9_3); }
                    if 4u < REG_TV { acc9_4 = fma(vec4(av9.x), b0_4, acc9_4); acc9_4 = fma(vec4(av9.y), b1_4, acc9_4); acc9_4 = fma(vec4(av9.z), b2_4, acc9_4); acc9_4 = fma(vec4(av9.w), b3_4, acc9_4); }
                    if 5u < REG_TV { acc9_5 = fma(vec4(av9.x), b0_5, acc9_5); acc9_5 = fma(vec4(av9.y), b1_5, acc9_5); acc9_5 = fma(vec4(av9.z), b2_5, acc9_5); acc9_5 = fma(vec4(av9.w), b3_5, acc9_5); }
                    if 6u < REG_TV { acc9_6 = fma(vec4(av9.x), b0_6, acc9_6); acc9_6 = fma(vec4(av9.y), b1_6, acc9_6); acc9_6 = fma(vec4(av9.z), b2_6, acc9_6); acc9_6 = fma(vec4(av9.w), b3_6, acc9_6); }
                    if 7u < REG_TV { acc9_7 = fma(vec4(av9.x), b0_7, acc9_7); acc9_7 = fma(vec4(av9.y), b1_7, acc9_7); acc9_7 = fma(vec4(av9.z), b2_7, acc9_7); acc9_7 = fma(vec4(av9.w), b3_7, acc9_7); }
                }
                if 10u < REG_TM {
                    let av10 = select(vec4<f32>(0.0), x4[t10.x + ci], m10);
                    if 0u < REG_TV { acc10_0 = fma(vec4(av10.x), b0_0, acc10_0); acc10_0 = fma(vec4(av10.y), b1_0, acc10_0); acc10_0 = fma(vec4(av10.z), b2_0, acc10_0); acc10_0 = fma(vec4(av10.w), b3_0, acc10_0); }
                    if 1u < REG_TV { acc10_1 = fma(vec4(av10.x), b0_1, acc10_1); acc10_1 = fma(vec4(av10.y), b1_1, acc10_1); acc10_1 = fma(vec4(av10.z), b2_1, acc10_1); acc10_1 = fma(vec4(av10.w), b3_1, acc10_1); }
                    if 2u < REG_TV { acc10_2 = fma(vec4(av10.x), b0_2, acc10_2); acc10_2 = fma(vec4(av10.y), b1_2, acc10_2); acc10_2 = fma(vec4(av10.z), b2_2, acc10_2); acc10_2 = fma(vec4(av10.w), b3_2, acc10_2); }
                    if 3u < REG_TV { acc10_3 = fma(vec4(av10.x), b0_3, acc10_3); acc10_3 = fma(vec4(av10.y), b1_3, acc10_3); acc10_3 = fma(vec4(av10.z), b2_3, acc10_3); acc10_3 = fma(vec4(av10.w), b3_3, acc10_3); }
                    if 4u < REG_TV { acc10_4 = fma(vec4(av10.x), b0_4, acc10_4); acc10_4 = fma(vec4(av10.y), b1_4, acc10_4); acc10_4 = fma(vec4(av10.z), b2_4, acc10_4); acc10_4 = fma(vec4(av10.w), b3_4, acc10_4); }
                    if 5u < REG_TV { acc10_5 = fma(vec4(av10.x), b0_5, acc10_5); acc10_5 = fma(vec4(av10.y), b1_5, acc10_5); acc10_5 = fma(vec4(av10.z), b2_5, acc10_5); acc10_5 = fma(vec4(av10.w), b3_5, acc10_5); }
                    if 6u < REG_TV { acc10_6 = fma(vec4(av10.x), b0_6, acc10_6); acc10_6 = fma(vec4(av10.y), b1_6, acc10_6); acc10_6 = fma(vec4(av10.z), b2_6, acc10_6); acc10_6 = fma(vec4(av10.w), b3_6, acc10_6); }
                    if 7u < REG_TV { acc10_7 = fma(vec4(av10.x), b0_7, acc10_7); acc10_7 = fma(vec4(av10.y), b1_7, acc10_7); acc10_7 = fma(vec4(av10.z), b2_7, acc10_7); acc10_7 = fma(vec4(av10.w), b3_7, acc10_7); }
                }
                if 11u < REG_TM {
                    let av11 = select(vec4<f32>(0.0), x4[t11.x + ci], m11);
                    if 0u < REG_TV { acc11_0 = fma(vec4(av11.x), b0_0, acc11_0); acc11_0 = fma(vec4(av11.y), b1_0, acc11_0); acc11_0 = fma(vec4(av11.z), b2_0, acc11_0); acc11_0 = fma(vec4(av11.w), b3_0, acc11_0); }
                    if 1u < REG_TV { acc11_1 = fma(vec4(av11.x), b0_1, acc11_1); acc11_1 = fma(vec4(av11.y), b1_1, acc11_1); acc11_1 = fma(vec4(av11.z), b2_1, acc11_1); acc11_1 = fma(vec4(av11.w), b3_1, acc11_1); }
                    if 2u < REG_TV { acc11_2 = fma(vec4(av11.x), b0_2, acc11_2); acc11_2 = fma(vec4(av11.y), b1_2, acc11_2); acc11_2 = fma(vec4(av11.z), b2_2, acc11_2); acc11_2 = fma(vec4(av11.w), b3_2, acc11_2); }
                    if 3u < REG_TV { acc11_3 = fma(vec4(av11.x), b0_3, acc11_3); acc11_3 = fma(vec4(av11.y), b1_3, acc11_3); acc11_3 = fma(vec4(av11.z), b2_3, acc11_3); acc11_3 = fma(vec4(av11.w), b3_3, acc11_3); }
                    if 4u < REG_TV { acc11_4 = fma(vec4(av11.x), b0_4, acc11_4); acc11_4 = fma(vec4(av11.y), b1_4, acc11_4); acc11_4 = fma(vec4(av11.z), b2_4, acc11_4); acc11_4 = fma(vec4(av11.w), b3_4, acc11_4); }
                    if 5u < REG_TV { acc11_5 = fma(vec4(av11.x), b0_5, acc11_5); acc11_5 = fma(vec4(av11.y), b1_5, acc11_5); acc11_5 = fma(vec4(av11.z), b2_5, acc11_5); acc11_5 = fma(vec4(av11.w), b3_5, acc11_5); }
                    if 6u < REG_TV { acc11_6 = fma(vec4(av11.x), b0_6, acc11_6); acc11_6 = fma(vec4(av11.y), b1_6, acc11_6); acc11_6 = fma(vec4(av11.z), b2_6, acc11_6); acc11_6 = fma(vec4(av11.w), b3_6, acc11_6); }
                    if 7u < REG_TV { acc11_7 = fma(vec4(av11.x), b0_7, acc11_7); acc11_7 = fma(vec4(av11.y), b1_7, acc11_7); acc11_7 = fma(vec4(av11.z), b2_7, acc11_7); acc11_7 = fma(vec4(av11.w), b3_7, acc11_7); }
                }
                if 12u < REG_TM {
                    let av12 = select(vec4<f32>(0.0), x4[t12.x + ci], m12);
                    if 0u < REG_TV { acc12_0 = fma(vec4(av12.x), b0_0, acc12_0); acc12_0 = fma(vec4(av12.y), b1_0, acc12_0); acc12_0 = fma(vec4(av12.z), b2_0, acc12_0); acc12_0 = fma(vec4(av12.w), b3_0, acc12_0); }
                    if 1u < REG_TV { acc12_1 = fma(vec4(av12.x), b0_1, acc12_1); acc12_1 = fma(vec4(av12.y), b1_1, acc12_1); acc12_1 = fma(vec4(av12.z), b2_1, acc12_1); acc12_1 = fma(vec4(av12.w), b3_1, acc12_1); }
                    if 2u < REG_TV { acc12_2 = fma(vec4(av12.x), b0_2, acc12_2); acc12_2 = fma(vec4(av12.y), b1_2, acc12_2); acc12_2 = fma(vec4(av12.z), b2_2, acc12_2); acc12_2 = fma(vec4(av12.w), b3_2, acc12_2); }
                    if 3u < REG_TV { acc12_3 = fma(vec4(av12.x), b0_3, acc12_3); acc12_3 = fma(vec4(av12.y), b1_3, acc12_3); acc12_3 = fma(vec4(av12.z), b2_3, acc12_3); acc12_3 = fma(vec4(av12.w), b3_3, acc12_3); }
                    if 4u < REG_TV { acc12_4 = fma(vec4(av12.x), b0_4, acc12_4); acc12_4 = fma(vec4(av12.y), b1_4, acc12_4); acc12_4 = fma(vec4(av12.z), b2_4, acc12_4); acc12_4 = fma(vec4(av12.w), b3_4, acc12_4); }
                    if 5u < REG_TV { acc12_5 = fma(vec4(av12.x), b0_5, acc12_5); acc12_5 = fma(vec4(av12.y), b1_5, acc12_5); acc12_5 = fma(vec4(av12.z), b2_5, acc12_5); acc12_5 = fma(vec4(av12.w), b3_5, acc12_5); }
                    if 6u < REG_TV { acc12_6 = fma(vec4(av12.x), b0_6, acc12_6); acc12_6 = fma(vec4(av12.y), b1_6, acc12_6); acc12_6 = fma(vec4(av12.z), b2_6, acc12_6); acc12_6 = fma(vec4(av12.w), b3_6, acc12_6); }
                    if 7u < REG_TV { acc12_7 = fma(vec4(av12.x), b0_7, acc12_7); acc12_7 = fma(vec4(av12.y), b1_7, acc12_7); acc12_7 = fma(vec4(av12.z), b2_7, acc12_7); acc12_7 = fma(vec4(av12.w), b3_7, acc12_7); }
                }
                if 13u < REG_TM {
                    let av13 = select(vec4<f32>(0.0), x4[t13.x + ci], m13);
                    if 0u < REG_TV { acc13_0 = fma(vec4(av13.x), b0_0, acc13_0); acc13_0 = fma(vec4(av13.y), b1_0, acc13_0); acc13_0 = fma(vec4(av13.z), b2_0, acc13_0); acc13_0 = fma(vec4(av13.w), b3_0, acc13_0); }
                    if 1u < REG_TV { acc13_1 = fma(vec4(av13.x), b0_1, acc13_1); acc13_1 = fma(vec4(av13.y), b1_1, acc13_1); acc13_1 = fma(vec4(av13.z), b2_1, acc13_1); acc13_1 = fma(vec4(av13.w), b3_1, acc13_1); }
                    if 2u < REG_TV { acc13_2 = fma(vec4(av13.x), b0_2, acc13_2); acc13_2 = fma(vec4(av13.y), b1_2, acc13_2); acc13_2 = fma(vec4(av13.z), b2_2, acc13_2); acc13_2 = fma(vec4(av13.w), b3_2, acc13_2); }
                    if 3u < REG_TV { acc13_3 = fma(vec4(av13.x), b0_3, acc13_3); acc13_3 = fma(vec4(av13.y), b1_3, acc13_3); acc13_3 = fma(vec4(av13.z), b2_3, acc13_3); acc13_3 = fma(vec4(av13.w), b3_3, acc13_3); }
                    if 4u < REG_TV { acc13_4 = fma(vec4(av13.x), b0_4, acc13_4); acc13_4 = fma(vec4(av13.y), b1_4, acc13_4); acc13_4 = fma(vec4(av13.z), b2_4, acc13_4); acc13_4 = fma(vec4(av13.w), b3_4, acc13_4); }
                    if 5u < REG_TV { acc13_5 = fma(vec4(av13.x), b0_5, acc13_5); acc13_5 = fma(vec4(av13.y), b1_5, acc13_5); acc13_5 = fma(vec4(av13.z), b2_5, acc13_5); acc13_5 = fma(vec4(av13.w), b3_5, acc13_5); }
                    if 6u < REG_TV { acc13_6 = fma(vec4(av13.x), b0_6, acc13_6); acc13_6 = fma(vec4(av13.y), b1_6, acc13_6); acc13_6 = fma(vec4(av13.z), b2_6, acc13_6); acc13_6 = fma(vec4(av13.w), b3_6, acc13_6); }
                    if 7u < REG_TV { acc13_7 = fma(vec4(av13.x), b0_7, acc13_7); acc13_7 = fma(vec4(av13.y), b1_7, acc13_7); acc13_7 = fma(vec4(av13.z), b2_7, acc13_7); acc13_7 = fma(vec4(av13.w), b3_7, acc13_7); }
                }
                if 14u < REG_TM {
                    let av14 = select(vec4<f32>(0.0), x4[t14.x + ci], m14);
                    if 0u < REG_TV { acc14_0 = fma(vec4(av14.x), b0_0, acc14_0); acc14_0 = fma(vec4(av14.y), b1_0, acc14_0); acc14_0 = fma(vec4(av14.z), b2_0, acc14_0); acc14_0 = fma(vec4(av14.w), b3_0, acc14_0); }
                    if 1u < REG_TV { acc14_1 = fma(vec4(av14.x), b0_1, acc14_1); acc14_1 = fma(vec4(av14.y), b1_1, acc14_1); acc14_1 = fma(vec4(av14.z), b2_1, acc14_1); acc14_1 = fma(vec4(av14.w), b3_1, acc14_1); }
                    if 2u < REG_TV { acc14_2 = fma(vec4(av14.x), b0_2, acc14_2); acc14_2 = fma(vec4(av14.y), b1_2, acc14_2); acc14_2 = fma(vec4(av14.z), b2_2, acc14_2); acc14_2 = fma(vec4(av14.w), b3_2, acc14_2); }
                    if 3u < REG_TV { acc14_3 = fma(vec4(av14.x), b0_3, acc14_3); acc14_3 = fma(vec4(av14.y), b1_3, acc14_3); acc14_3 = fma(vec4(av14.z), b2_3, acc14_3); acc14_3 = fma(vec4(av14.w), b3_3, acc14_3); }
                    if 4u < REG_TV { acc14_4 = fma(vec4(av14.x), b0_4, acc14_4); acc14_4 = fma(vec4(av14.y), b1_4, acc14_4); acc14_4 = fma(vec4(av14.z), b2_4, acc14_4); acc14_4 = fma(vec4(av14.w), b3_4, acc14_4); }
                    if 5u < REG_TV { acc14_5 = fma(vec4(av14.x), b0_5, acc14_5); acc14_5 = fma(vec4(av14.y), b1_5, acc14_5); acc14_5 = fma(vec4(av14.z), b2_5, acc14_5); acc14_5 = fma(vec4(av14.w), b3_5, acc14_5); }
                    if 6u < REG_TV { acc14_6 = fma(vec4(av14.x), b0_6, acc14_6); acc14_6 = fma(vec4(av14.y), b1_6, acc14_6); acc14_6 = fma(vec4(av14.z), b2_6, acc14_6); acc14_6 = fma(vec4(av14.w), b3_6, acc14_6); }
                    if 7u < REG_TV { acc14_7 = fma(vec4(av14.x), b0_7, acc14_7); acc14_7 = fma(vec4(av14.y), b1_7, acc14_7); acc14_7 = fma(vec4(av14.z), b2_7, acc14_7); acc14_7 = fma(vec4(av14.w), b3_7, acc14_7); }
                }
                if 15u < REG_TM {
                    let av15 = select(vec4<f32>(0.0), x4[t15.x + ci], m15);
                    if 0u < REG_TV { acc15_0 = fma(vec4(av15.x), b0_0, acc15_0); acc15_0 = fma(vec4(av15.y), b1_0, acc15_0); acc15_0 = fma(vec4(av15.z), b2_0, acc15_0); acc15_0 = fma(vec4(av15.w), b3_0, acc15_0); }
                    if 1u < REG_TV { acc15_1 = fma(vec4(av15.x), b0_1, acc15_1); acc15_1 = fma(vec4(av15.y), b1_1, acc15_1); acc15_1 = fma(vec4(av15.z), b2_1, acc15_1); acc15_1 = fma(vec4(av15.w), b3_1, acc15_1); }
                    if 2u < REG_TV { acc15_2 = fma(vec4(av15.x), b0_2, acc15_2); acc15_2 = fma(vec4(av15.y), b1_2, acc15_2); acc15_2 = fma(vec4(av15.z), b2_2, acc15_2); acc15_2 = fma(vec4(av15.w), b3_2, acc15_2); }
                    if 3u < REG_TV { acc15_3 = fma(vec4(av15.x), b0_3, acc15_3); acc15_3 = fma(vec4(av15.y), b1_3, acc15_3); acc15_3 = fma(vec4(av15.z), b2_3, acc15_3); acc15_3 = fma(vec4(av15.w), b3_3, acc15_3); }
                    if 4u < REG_TV { acc15_4 = fma(vec4(av15.x), b0_4, acc15_4); acc15_4 = fma(vec4(av15.y), b1_4, acc15_4); acc15_4 = fma(vec4(av15.z), b2_4, acc15_4); acc15_4 = fma(vec4(av15.w), b3_4, acc15_4); }
                    if 5u < REG_TV { acc15_5 = fma(vec4(av15.x), b0_5, acc15_5); acc15_5 = fma(vec4(av15.y), b1_5, acc15_5); acc15_5 = fma(vec4(av15.z), b2_5, acc15_5); acc15_5 = fma(vec4(av15.w), b3_5, acc15_5); }
                    if 6u < REG_TV { acc15_6 = fma(vec4(av15.x), b0_6, acc15_6); acc15_6 = fma(vec4(av15.y), b1_6, acc15_6); acc15_6 = fma(vec4(av15.z), b2_6, acc15_6); acc15_6 = fma(vec4(av15.w), b3_6, acc15_6); }
                    if 7u < REG_TV { acc15_7 = fma(vec4(av15.x), b0_7, acc15_7); acc15_7 = fma(vec4(av15.y), b1_7, acc15_7); acc15_7 = fma(vec4(av15.z), b2_7, acc15_7); acc15_7 = fma(vec4(av15.w), b3_7, acc15_7); }
                }
                if 16u < REG_TM {
                    let av16 = select(vec4<f32>(0.0), x4[t16.x + ci], m16);
                    if 0u < REG_TV { acc16_0 = fma(vec4(av16.x), b0_0, acc16_0); acc16_0 = fma(vec4(av16.y), b1_0, acc16_0); acc16_0 = fma(vec4(av16.z), b2_0, acc16_0); acc16_0 = fma(vec4(av16.w), b3_0, acc16_0); }
                    if 1u < REG_TV { acc16_1 = fma(vec4(av16.x), b0_1, acc16_1); acc16_1 = fma(vec4(av16.y), b1_1, acc16_1); acc16_1 = fma(vec4(av16.z), b2_1, acc16_1); acc16_1 = fma(vec4(av16.w), b3_1, acc16_1); }
                    if 2u < REG_TV { acc16_2 = fma(vec4(av16.x), b0_2, acc16_2); acc16_2 = fma(vec4(av16.y), b1_2, acc16_2); acc16_2 = fma(vec4(av16.z), b2_2, acc16_2); acc16_2 = fma(vec4(av16.w), b3_2, acc16_2); }
                    if 3u < REG_TV { acc16_3 = fma(vec4(av16.x), b0_3, acc16_3); acc16_3 = fma(vec4(av16.y), b1_3, acc16_3); acc16_3 = fma(vec4(av16.z), b2_3, acc16_3); acc16_3 = fma(vec4(av16.w), b3_3, acc16_3); }
                    if 4u < REG_TV { acc16_4 = fma(vec4(av16.x), b0_4, acc16_4); acc16_4 = fma(vec4(av16.y), b1_4, acc16_4); acc16_4 = fma(vec4(av16.z), b2_4, acc16_4); acc16_4 = fma(vec4(av16.w), b3_4, acc16_4); }
                    if 5u < REG_TV { acc16_5 = fma(vec4(av16.x), b0_5, acc16_5); acc16_5 = fma(vec4(av16.y), b1_5, acc16_5); acc16_5 = fma(vec4(av16.z), b2_5, acc16_5); acc16_5 = fma(vec4(av16.w), b3_5, acc16_5); }
                    if 6u < REG_TV { acc16_6 = fma(vec4(av16.x), b0_6, acc16_6); acc16_6 = fma(vec4(av16.y), b1_6, acc16_6); acc16_6 = fma(vec4(av16.z), b2_6, acc16_6); acc16_6 = fma(vec4(av16.w), b3_6, acc16_6); }
                    if 7u < REG_TV { acc16_7 = fma(vec4(av16.x), b0_7, acc16_7); acc16_7 = fma(vec4(av16.y), b1_7, acc16_7); acc16_7 = fma(vec4(av16.z), b2_7, acc16_7); acc16_7 = fma(vec4(av16.w), b3_7, acc16_7); }
                }
                if 17u < REG_TM {
                    let av17 = select(vec4<f32>(0.0), x4[t17.x + ci], m17);
                    if 0u < REG_TV { acc17_0 = fma(vec4(av17.x), b0_0, acc17_0); acc17_0 = fma(vec4(av17.y), b1_0, acc17_0); acc17_0 = fma(vec4(av17.z), b2_0, acc17_0); acc17_0 = fma(vec4(av17.w), b3_0, acc17_0); }
                    if 1u < REG_TV { acc17_1 = fma(vec4(av17.x), b0_1, acc17_1); acc17_1 = fma(vec4(av17.y), b1_1, acc17_1); acc17_1 = fma(vec4(av17.z), b2_1, acc17_1); acc17_1 = fma(vec4(av17.w), b3_1, acc17_1); }
                    if 2u < REG_TV { acc17_2 = fma(vec4(av17.x), b0_2, acc17_2); acc17_2 = fma(vec4(av17.y), b1_2, acc17_2); acc17_2 = fma(vec4(av17.z), b2_2, acc17_2); acc17_2 = fma(vec4(av17.w), b3_2, acc17_2); }
                    if 3u < REG_TV { acc17_3 = fma(vec4(av17.x), b0_3, acc17_3); acc17_3 = fma(vec4(av17.y), b1_3, acc17_3); acc17_3 = fma(vec4(av17.z), b2_3, acc17_3); acc17_3 = fma(vec4(av17.w), b3_3, acc17_3); }
                    if 4u < REG_TV { acc17_4 = fma(vec4(av17.x), b0_4, acc17_4); acc17_4 = fma(vec4(av17.y), b1_4, acc17_4); acc17_4 = fma(vec4(av17.z), b2_4, acc17_4); acc17_4 = fma(vec4(av17.w), b3_4, acc17_4); }
                    if 5u < REG_TV { acc17_5 = fma(vec4(av17.x), b0_5, acc17_5); acc17_5 = fma(vec4(av17.y), b1_5, acc17_5); acc17_5 = fma(vec4(av17.z), b2_5, acc17_5); acc17_5 = fma(vec4(av17.w), b3_5, acc17_5); }
                    if 6u < REG_TV { acc17_6 = fma(vec4(av17.x), b0_6, acc17_6); acc17_6 = fma(vec4(av17.y), b1_6, acc17_6); acc17_6 = fma(vec4(av17.z), b2_6, acc17_6); acc17_6 = fma(vec4(av17.w), b3_6, acc17_6); }
                    if 7u < REG_TV { acc17_7 = fma(vec4(av17.x), b0_7, acc17_7); acc17_7 = fma(vec4(av17.y), b1_7, acc17_7); acc17_7 = fma(vec4(av17.z), b2_7, acc17_7); acc17_7 = fma(vec4(av17.w), b3_7, acc17_7); }
                }
                if 18u < REG_TM {
                    let av18 = select(vec4<f32>(0.0), x4[t18.x + ci], m18);
                    if 0u < REG_TV { acc18_0 = fma(vec4(av18.x), b0_0, acc18_0); acc18_0 = fma(vec4(av18.y), b1_0, acc18_0); acc18_0 = fma(vec4(av18.z), b2_0, acc18_0); acc18_0 = fma(vec4(av18.w), b3_0, acc18_0); }
                    if 1u < REG_TV { acc18_1 = fma(vec4(av18.x), b0_1, acc18_1); acc18_1 = fma(vec4(av18.y), b1_1, acc18_1); acc18_1 = fma(vec4(av18.z), b2_1, acc18_1); acc18_1 = fma(vec4(av18.w), b3_1, acc18_1); }
                    if 2u < REG_TV { acc18_2 = fma(vec4(av18.x), b0_2, acc18_2); acc18_2 = fma(vec4(av18.y), b1_2, acc18_2); acc18_2 = fma(vec4(av18.z), b2_2, acc18_2); acc18_2 = fma(vec4(av18.w), b3_2, acc18_2); }
                    if 3u < REG_TV { acc18_3 = fma(vec4(av18.x), b0_3, acc18_3); acc18_3 = fma(vec4(av18.y), b1_3, acc18_3); acc18_3 = fma(vec4(av18.z), b2_3, acc18_3); acc18_3 = fma(vec4(av18.w), b3_3, acc18_3); }
                    if 4u < REG_TV { acc18_4 = fma(vec4(av18.x), b0_4, acc18_4); acc18_4 = fma(vec4(av18.y), b1_4, acc18_4); acc18_4 = fma(vec4(av18.z), b2_4, acc18_4); acc18_4 = fma(vec4(av18.w), b3_4, acc18_4); }
                    if 5u < REG_TV { acc18_5 = fma(vec4(av18.x), b0_5, acc18_5); acc18_5 = fma(vec4(av18.y), b1_5, acc18_5); acc18_5 = fma(vec4(av18.z), b2_5, acc18_5); acc18_5 = fma(vec4(av18.w), b3_5, acc18_5); }
                    if 6u < REG_TV { acc18_6 = fma(vec4(av18.x), b0_6, acc18_6); acc18_6 = fma(vec4(av18.y), b1_6, acc18_6); acc18_6 = fma(vec4(av18.z), b2_6, acc18_6); acc18_6 = fma(vec4(av18.w), b3_6, acc18_6); }
                    if 7u < REG_TV { acc18_7 = fma(vec4(av18.x), b0_7, acc18_7); acc18_7 = fma(vec4(av18.y), b1_7, acc18_7); acc18_7 = fma(vec4(av18.z), b2_7, acc18_7); acc18_7 = fma(vec4(av18.w), b3_7, acc18_7); }
                }
                if 19u < REG_TM {
                    let av19 = select(vec4<f32>(0.0), x4[t19.x + ci], m19);
                    if 0u < REG_TV { acc19_0 = fma(vec4(av19.x), b0_0, acc19_0); acc19_0 = fma(vec4(av19.y), b1_0, acc19_0); acc19_0 = fma(vec4(av19.z), b2_0, acc19_0); acc19_0 = fma(vec4(av19.w), b3_0, acc19_0); }
                    if 1u < REG_TV { acc19_1 = fma(vec4(av19.x), b0_1, acc19_1); acc19_1 = fma(vec4(av19.y), b1_1, acc19_1); acc19_1 = fma(vec4(av19.z), b2_1, acc19_1); acc19_1 = fma(vec4(av19.w), b3_1, acc19_1); }
                    if 2u < REG_TV { acc19_2 = fma(vec4(av19.x), b0_2, acc19_2); acc19_2 = fma(vec4(av19.y), b1_2, acc19_2); acc19_2 = fma(vec4(av19.z), b2_2, acc19_2); acc19_2 = fma(vec4(av19.w), b3_2, acc19_2); }
                    if 3u < REG_TV { acc19_3 = fma(vec4(av19.x), b0_3, acc19_3); acc19_3 = fma(vec4(av19.y), b1_3, acc19_3); acc19_3 = fma(vec4(av19.z), b2_3, acc19_3); acc19_3 = fma(vec4(av19.w), b3_3, acc19_3); }
                    if 4u < REG_TV { acc19_4 = fma(vec4(av19.x), b0_4, acc19_4); acc19_4 = fma(vec4(av19.y), b1_4, acc19_4); acc19_4 = fma(vec4(av19.z), b2_4, acc19_4); acc19_4 = fma(vec4(av19.w), b3_4, acc19_4); }
                    if 5u < REG_TV { acc19_5 = fma(vec4(av19.x), b0_5, acc19_5); acc19_5 = fma(vec4(av19.y), b1_5, acc19_5); acc19_5 = fma(vec4(av19.z), b2_5, acc19_5); acc19_5 = fma(vec4(av19.w), b3_5, acc19_5); }
                    if 6u < REG_TV { acc19_6 = fma(vec4(av19.x), b0_6, acc19_6); acc19_6 = fma(vec4(av19.y), b1_6, acc19_6); acc19_6 = fma(vec4(av19.z), b2_6, acc19_6); acc19_6 = fma(vec4(av19.w), b3_6, acc19_6); }
                    if 7u < REG_TV { acc19_7 = fma(vec4(av19.x), b0_7, acc19_7); acc19_7 = fma(vec4(av19.y), b1_7, acc19_7); acc19_7 = fma(vec4(av19.z), b2_7, acc19_7); acc19_7 = fma(vec4(av19.w), b3_7, acc19_7); }
                }
                if 20u < REG_TM {
                    let av20 = select(vec4<f32>(0.0), x4[t20.x + ci], m20);
                    if 0u < REG_TV { acc20_0 = fma(vec4(av20.x), b0_0, acc20_0); acc20_0 = fma(vec4(av20.y), b1_0, acc20_0); acc20_0 = fma(vec4(av20.z), b2_0, acc20_0); acc20_0 = fma(vec4(av20.w), b3_0, acc20_0); }
                    if 1u < REG_TV { acc20_1 = fma(vec4(av20.x), b0_1, acc20_1); acc20_1 = fma(vec4(av20.y), b1_1, acc20_1); acc20_1 = fma(vec4(av20.z), b2_1, acc20_1); acc20_1 = fma(vec4(av20.w), b3_1, acc20_1); }
                    if 2u < REG_TV { acc20_2 = fma(vec4(av20.x), b0_2, acc20_2); acc20_2 = fma(vec4(av20.y), b1_2, acc20_2); acc20_2 = fma(vec4(av20.z), b2_2, acc20_2); acc20_2 = fma(vec4(av20.w), b3_2, acc20_2); }
                    if 3u < REG_TV { acc20_3 = fma(vec4(av20.x), b0_3, acc20_3); acc20_3 = fma(vec4(av20.y), b1_3, acc20_3); acc20_3 = fma(vec4(av20.z), b2_3, acc20_3); acc20_3 = fma(vec4(av20.w), b3_3, acc20_3); }
                    if 4u < REG_TV { acc20_4 = fma(vec4(av20.x), b0_4, acc20_4); acc20_4 = fma(vec4(av20.y), b1_4, acc20_4); acc20_4 = fma(vec4(av20.z), b2_4, acc20_4); acc20_4 = fma(vec4(av20.w), b3_4, acc20_4); }
                    if 5u < REG_TV { acc20_5 = fma(vec4(av20.x), b0_5, acc20_5); acc20_5 = fma(vec4(av20.y), b1_5, acc20_5); acc20_5 = fma(vec4(av20.z), b2_5, acc20_5); acc20_5 = fma(vec4(av20.w), b3_5, acc20_5); }
                    if 6u < REG_TV { acc20_6 = fma(vec4(av20.x), b0_6, acc20_6); acc20_6 = fma(vec4(av20.y), b1_6, acc20_6); acc20_6 = fma(vec4(av20.z), b2_6, acc20_6); acc20_6 = fma(vec4(av20.w), b3_6, acc20_6); }
                    if 7u < REG_TV { acc20_7 = fma(vec4(av20.x), b0_7, acc20_7); acc20_7 = fma(vec4(av20.y), b1_7, acc20_7); acc20_7 = fma(vec4(av20.z), b2_7, acc20_7); acc20_7 = fma(vec4(av20.w), b3_7, acc20_7); }
                }
                if 21u < REG_TM {
                    let av21 = select(vec4<f32>(0.0), x4[t21.x + ci], m21);
                    if 0u < REG_TV { acc21_0 = fma(vec4(av21.x), b0_0, acc21_0); acc21_0 = fma(vec4(av21.y), b1_0, acc21_0); acc21_0 = fma(vec4(av21.z), b2_0, acc21_0); acc21_0 = fma(vec4(av21.w), b3_0, acc21_0); }
                    if 1u < REG_TV { acc21_1 = fma(vec4(av21.x), b0_1, acc21_1); acc21_1 = fma(vec4(av21.y), b1_1, acc21_1); acc21_1 = fma(vec4(av21.z), b2_1, acc21_1); acc21_1 = fma(vec4(av21.w), b3_1, acc21_1); }
                    if 2u < REG_TV { acc21_2 = fma(vec4(av21.x), b0_2, acc21_2); acc21_2 = fma(vec4(av21.y), b1_2, acc21_2); acc21_2 = fma(vec4(av21.z), b2_2, acc21_2); acc21_2 = fma(vec4(av21.w), b3_2, acc21_2); }
                    if 3u < REG_TV { acc21_3 = fma(vec4(av21.x), b0_3, acc21_3); acc21_3 = fma(vec4(av21.y), b1_3, acc21_3); acc21_3 = fma(vec4(av21.z), b2_3, acc21_3); acc21_3 = fma(vec4(av21.w), b3_3, acc21_3); }
                    if 4u < REG_TV { acc21_4 = fma(vec4(av21.x), b0_4, acc21_4); acc21_4 = fma(vec4(av21.y), b1_4, acc21_4); acc21_4 = fma(vec4(av21.z), b2_4, acc21_4); acc21_4 = fma(vec4(av21.w), b3_4, acc21_4); }
                    if 5u < REG_TV { acc21_5 = fma(vec4(av21.x), b0_5, acc21_5); acc21_5 = fma(vec4(av21.y), b1_5, acc21_5); acc21_5 = fma(vec4(av21.z), b2_5, acc21_5); acc21_5 = fma(vec4(av21.w), b3_5, acc21_5); }
                    if 6u < REG_TV { acc21_6 = fma(vec4(av21.x), b0_6, acc21_6); acc21_6 = fma(vec4(av21.y), b1_6, acc21_6); acc21_6 = fma(vec4(av21.z), b2_6, acc21_6); acc21_6 = fma(vec4(av21.w), b3_6, acc21_6); }
                    if 7u < REG_TV { acc21_7 = fma(vec4(av21.x), b0_7, acc21_7); acc21_7 = fma(vec4(av21.y), b1_7, acc21_7); acc21_7 = fma(vec4(av21.z), b2_7, acc21_7); acc21_7 = fma(vec4(av21.w), b3_7, acc21_7); }
                }
                if 22u < REG_TM {
                    let av22 = select(vec4<f32>(0.0), x4[t22.x + ci], m22);
                    if 0u < REG_TV { acc22_0 = fma(vec4(av22.x), b0_0, acc22_0); acc22_0 = fma(vec4(av22.y), b1_0, acc22_0); acc22_0 = fma(vec4(av22.z), b2_0, acc22_0); acc22_0 = fma(vec4(av22.w), b3_0, acc22_0); }
                    if 1u < REG_TV { acc22_1 = fma(vec4(av22.x), b0_1, acc22_1); acc22_1 = fma(vec4(av22.y), b1_1, acc22_1); acc22_1 = fma(vec4(av22.z), b2_1, acc22_1); acc22_1 = fma(vec4(av22.w), b3_1, acc22_1); }
                    if 2u < REG_TV { acc22_2 = fma(vec4(av22.x), b0_2, acc22_2); acc22_2 = fma(vec4(av22.y), b1_2, acc22_2); acc22_2 = fma(vec4(av22.z), b2_2, acc22_2); acc22_2 = fma(vec4(av22.w), b3_2, acc22_2); }
                    if 3u < REG_TV { acc22_3 = fma(vec4(av22.x), b0_3, acc22_3); acc22_3 = fma(vec4(av22.y), b1_3, acc22_3); acc22_3 = fma(vec4(av22.z), b2_3, acc22_3); acc22_3 = fma(vec4(av22.w), b3_3, acc22_3); }
                    if 4u < REG_TV { acc22_4 = fma(vec4(av22.x), b0_4, acc22_4); acc22_4 = fma(vec4(av22.y), b1_4, acc22_4); acc22_4 = fma(vec4(av22.z), b2_4, acc22_4); acc22_4 = fma(vec4(av22.w), b3_4, acc22_4); }
                    if 5u < REG_TV { acc22_5 = fma(vec4(av22.x), b0_5, acc22_5); acc22_5 = fma(vec4(av22.y), b1_5, acc22_5); acc22_5 = fma(vec4(av22.z), b2_5, acc22_5); acc22_5 = fma(vec4(av22.w), b3_5, acc22_5); }
                    if 6u < REG_TV { acc22_6 = fma(vec4(av22.x), b0_6, acc22_6); acc22_6 = fma(vec4(av22.y), b1_6, acc22_6); acc22_6 = fma(vec4(av22.z), b2_6, acc22_6); acc22_6 = fma(vec4(av22.w), b3_6, acc22_6); }
                    if 7u < REG_TV { acc22_7 = fma(vec4(av22.x), b0_7, acc22_7); acc22_7 = fma(vec4(av22.y), b1_7, acc22_7); acc22_7 = fma(vec4(av22.z), b2_7, acc22_7); acc22_7 = fma(vec4(av22.w), b3_7, acc22_7); }
                }
                if 23u < REG_TM {
                    let av23 = select(vec4<f32>(0.0), x4[t23.x + ci], m23);
                    if 0u < REG_TV { acc23_0 = fma(vec4(av23.x), b0_0, acc23_0); acc23_0 = fma(vec4(av23.y), b1_0, acc23_0); acc23_0 = fma(vec4(av23.z), b2_0, acc23_0); acc23_0 = fma(vec4(av23.w), b3_0, acc23_0); }
                    if 1u < REG_TV { acc23_1 = fma(vec4(av23.x), b0_1, acc23_1); acc23_1 = fma(vec4(av23.y), b1_1, acc23_1); acc23_1 = fma(vec4(av23.z), b2_1, acc23_1); acc23_1 = fma(vec4(av23.w), b3_1, acc23_1); }
                    if 2u < REG_TV { acc23_2 = fma(vec4(av23.x), b0_2, acc23_2); acc23_2 = fma(vec4(av23.y), b1_2, acc23_2); acc23_2 = fma(vec4(av23.z), b2_2, acc23_2); acc23_2 = fma(vec4(av23.w), b3_2, acc23_2); }
                    if 3u < REG_TV { acc23_3 = fma(vec4(av23.x), b0_3, acc23_3); acc23_3 = fma(vec4(av23.y), b1_3, acc23_3); acc23_3 = fma(vec4(av23.z), b2_3, acc23_3); acc23_3 = fma(vec4(av23.w), b3_3, acc23_3); }
                    if 4u < REG_TV { acc23_4 = fma(vec4(av23.x), b0_4, acc23_4); acc23_4 = fma(vec4(av23.y), b1_4, acc23_4); acc23_4 = fma(vec4(av23.z), b2_4, acc23_4); acc23_4 = fma(vec4(av23.w), b3_4, acc23_4); }
                    if 5u < REG_TV { acc23_5 = fma(vec4(av23.x), b0_5, acc23_5); acc23_5 = fma(vec4(av23.y), b1_5, acc23_5); acc23_5 = fma(vec4(av23.z), b2_5, acc23_5); acc23_5 = fma(vec4(av23.w), b3_5, acc23_5); }
                    if 6u < REG_TV { acc23_6 = fma(vec4(av23.x), b0_6, acc23_6); acc23_6 = fma(vec4(av23.y), b1_6, acc23_6); acc23_6 = fma(vec4(av23.z), b2_6, acc23_6); acc23_6 = fma(vec4(av23.w), b3_6, acc23_6); }
                    if 7u < REG_TV { acc23_7 = fma(vec4(av23.x), b0_7, acc23_7); acc23_7 = fma(vec4(av23.y), b1_7, acc23_7); acc23_7 = fma(vec4(av23.z), b2_7, acc23_7); acc23_7 = fma(vec4(av23.w), b3_7, acc23_7); }
                }
            }
        }
    }
    if 0u < REG_TM && 0u < REG_TV { store4(row0 + 0u, col0 / 4u + 0u, rows, acc0_0); }
    if 0u < REG_TM && 1u < REG_TV { store4(row0 + 0u, col0 / 4u + 1u, rows, acc0_1); }
    if 0u < REG_TM && 2u < REG_TV { store4(row0 + 0u, col0 / 4u + 2u, rows, acc0_2); }
    if 0u < REG_TM && 3u < REG_TV { store4(row0 + 0u, col0 / 4u + 3u, rows, acc0_3); }
    if 0u < REG_TM && 4u < REG_TV { store4(row0 + 0u, col0 / 4u + 4u, rows, acc0_4); }
    if 0u < REG_TM && 5u < REG_TV { store4(row0 + 0u, col0 / 4u + 5u, rows, acc0_5); }
    if 0u < REG_TM && 6u < REG_TV { store4(row0 + 0u, col0 / 4u + 6u, rows, acc0_6); }
    if 0u < REG_TM && 7u < REG_TV { store4(row0 + 0u, col0 / 4u + 7u, rows, acc0_7); }
    if 1u < REG_TM && 0u < REG_TV { store4(row0 + 1u, col0 / 4u + 0u, rows, acc1_0); }
    if 1u < REG_TM && 1u < REG_TV { store4(row0 + 1u, col0 / 4u + 1u, rows, acc1_1); }
    if 1u < REG_TM && 2u < REG_TV { store4(row0 + 1u, col0 / 4u + 2u, rows, acc1_2); }
    if 1u < REG_TM && 3u < REG_TV { store4(row0 + 1u, col0 / 4u + 3u, rows, acc1_3); }
    if 1u < REG_TM && 4u < REG_TV { store4(row0 + 1u, col0 / 4u + 4u, rows, acc1_4); }
    if 1u < REG_TM && 5u < REG_TV { store4(row0 + 1u, col0 / 4u + 5u, rows, acc1_5); }
    if 1u < REG_TM && 6u < REG_TV { store4(row0 + 1u, col0 / 4u + 6u, rows, acc1_6); }
    if 1u < REG_TM && 7u < REG_TV { store4(row0 + 1u, col0 / 4u + 7u, rows, acc1_7); }
    if 2u < REG_TM && 0u < REG_TV { store4(row0 + 2u, col0 / 4u + 0u, rows, acc2_0); }
    if 2u < REG_TM && 1u < REG_TV { store4(row0 + 2u, col0 / 4u + 1u, rows, acc2_1); }
    if 2u < REG_TM && 2u < REG_TV { store4(row0 + 2u, col0 / 4u + 2u, rows, acc2_2); }
    if 2u < REG_TM && 3u < REG_TV { store4(row0 + 2u, col0 / 4u + 3u, rows, acc2_3); }
    if 2u < REG_TM && 4u < REG_TV { store4(row0 + 2u, col0 / 4u + 4u, rows, acc2_4); }
    if 2u < REG_TM && 5u < REG_TV { store4(row0 + 2u, col0 / 4u + 5u, rows, acc2_5); }
    if 2u < REG_TM && 6u < REG_TV { store4(row0 + 2u, col0 / 4u + 6u, rows, acc2_6); }
    if 2u < REG_TM && 7u < REG_TV { store4(row0 + 2u, col0 / 4u + 7u, rows, acc2_7); }
    if 3u < REG_TM && 0u < REG_TV { store4(row0 + 3u, col0 / 4u + 0u, rows, acc3_0); }
    if 3u < REG_TM && 1u < REG_TV { store4(row0 + 3u, col0 / 4u + 1u, rows, acc3_1); }
    if 3u < REG_TM && 2u < REG_TV { store4(row0 + 3u, col0 / 4u + 2u, rows, acc3_2); }
    if 3u < REG_TM && 3u < REG_TV { store4(row0 + 3u, col0 / 4u + 3u, rows, acc3_3); }
    if 3u < REG_TM && 4u < REG_TV { store4(row0 + 3u, col0 / 4u + 4u, rows, acc3_4); }
    if 3u < REG_TM && 5u < REG_TV { store4(row0 + 3u, col0 / 4u + 5u, rows, acc3_5); }
    if 3u < REG_TM && 6u < REG_TV { store4(row0 + 3u, col0 / 4u + 6u, rows, acc3_6); }
    if 3u < REG_TM && 7u < REG_TV { store4(row0 + 3u, col0 / 4u + 7u, rows, acc3_7); }
    if 4u < REG_TM && 0u < REG_TV { store4(row0 + 4u, col0 / 4u + 0u, rows, acc4_0); }
    if 4u < REG_TM && 1u < REG_TV { store4(row0 + 4u, col0 / 4u + 1u, rows, acc4_1); }
    if 4u < REG_TM && 2u < REG_TV { store4(row0 + 4u, col0 / 4u + 2u, rows, acc4_2); }
    if 4u < REG_TM && 3u < REG_TV { store4(row0 + 4u, col0 / 4u + 3u, rows, acc4_3); }
    if 4u < REG_TM && 4u < REG_TV { store4(row0 + 4u, col0 / 4u + 4u, rows, acc4_4); }
    if 4u < REG_TM && 5u < REG_TV { store4(row0 + 4u, col0 / 4u + 5u, rows, acc4_5); }
    if 4u < REG_TM && 6u < REG_TV { store4(row0 + 4u, col0 / 4u + 6u, rows, acc4_6); }
    if 4u < REG_TM && 7u < REG_TV { store4(row0 + 4u, col0 / 4u + 7u, rows, acc4_7); }
    if 5u < REG_TM && 0u < REG_TV { store4(row0 + 5u, col0 / 4u + 0u, rows, acc5_0); }
    if 5u < REG_TM && 1u < REG_TV { store4(row0 + 5u, col0 / 4u + 1u, rows, acc5_1); }
    if 5u < REG_TM && 2u < REG_TV { store4(row0 + 5u, col0 / 4u + 2u, rows, acc5_2); }
    if 5u < REG_TM && 3u < REG_TV { store4(row0 + 5u, col0 / 4u + 3u, rows, acc5_3); }
    if 5u < REG_TM && 4u < REG_TV { store4(row0 + 5u, col0 / 4u + 4u, rows, acc5_4); }
    if 5u < REG_TM && 5u < REG_TV { store4(row0 + 5u, col0 / 4u + 5u, rows, acc5_5); }
    if 5u < REG_TM && 6u < REG_TV { store4(row0 + 5u, col0 / 4u + 6u, rows, acc5_6); }
    if 5u < REG_TM && 7u < REG_TV { store4(row0 + 5u, col0 / 4u + 7u, rows, acc5_7); }
    if 6u < REG_TM && 0u < REG_TV { store4(row0 + 6u, col0 / 4u + 0u, rows, acc6_0); }
    if 6u < REG_TM && 1u < REG_TV { store4(row0 + 6u, col0 / 4u + 1u, rows, acc6_1); }
    if 6u < REG_TM && 2u < REG_TV { store4(row0 + 6u, col0 / 4u + 2u, rows, acc6_2); }
    if 6u < REG_TM && 3u < REG_TV { store4(row0 + 6u, col0 / 4u + 3u, rows, acc6_3); }
    if 6u < REG_TM && 4u < REG_TV { store4(row0 + 6u, col0 / 4u + 4u, rows, acc6_4); }
    if 6u < REG_TM && 5u < REG_TV { store4(row0 + 6u, col0 / 4u + 5u, rows, acc6_5); }
    if 6u < REG_TM && 6u < REG_TV { store4(row0 + 6u, col0 / 4u + 6u, rows, acc6_6); }
    if 6u < REG_TM && 7u < REG_TV { store4(row0 + 6u, col0 / 4u + 7u, rows, acc6_7); }
    if 7u < REG_TM && 0u < REG_TV { store4(row0 + 7u, col0 / 4u + 0u, rows, acc7_0); }
    if 7u < REG_TM && 1u < REG_TV { store4(row0 + 7u, col0 / 4u + 1u, rows, acc7_1); }
    if 7u < REG_TM && 2u < REG_TV { store4(row0 + 7u, col0 / 4u + 2u, rows, acc7_2); }
    if 7u < REG_TM && 3u < REG_TV { store4(row0 + 7u, col0 / 4u + 3u, rows, acc7_3); }
    if 7u < REG_TM && 4u < REG_TV { store4(row0 + 7u, col0 / 4u + 4u, rows, acc7_4); }
    if 7u < REG_TM && 5u < REG_TV { store4(row0 + 7u, col0 / 4u + 5u, rows, acc7_5); }
    if 7u < REG_TM && 6u < REG_TV { store4(row0 + 7u, col0 / 4u + 6u, rows, acc7_6); }
    if 7u < REG_TM && 7u < REG_TV { store4(row0 + 7u, col0 / 4u + 7u, rows, acc7_7); }
    if 8u < REG_TM && 0u < REG_TV { store4(row0 + 8u, col0 / 4u + 0u, rows, acc8_0); }
    if 8u < REG_TM && 1u < REG_TV { store4(row0 + 8u, col0 / 4u + 1u, rows, acc8_1); }
    if 8u < REG_TM && 2u < REG_TV { store4(row0 + 8u, col0 / 4u + 2u, rows, acc8_2); }
    if 8u < REG_TM && 3u < REG_TV { store4(row0 + 8u, col0 / 4u + 3u, rows, acc8_3); }
    if 8u < REG_TM && 4u < REG_TV { store4(row0 + 8u, col0 / 4u + 4u, rows, acc8_4); }
    if 8u < REG_TM && 5u < REG_TV { store4(row0 + 8u, col0 / 4u + 5u, rows, acc8_5); }
    if 8u < REG_TM && 6u < REG_TV { store4(row0 + 8u, col0 / 4u + 6u, rows, acc8_6); }
    if 8u < REG_TM && 7u < REG_TV { store4(row0 + 8u, col0 / 4u + 7u, rows, acc8_7); }
    if 9u < REG_TM && 0u < REG_TV { store4(row0 + 9u, col0 / 4u + 0u, rows, acc9_0); }
    if 9u < REG_TM && 1u < REG_TV { store4(row0 + 9u, col0 / 4u + 1u, rows, acc9_1); }
    if 9u < REG_TM && 2u < REG_TV { store4(row0 + 9u, col0 / 4u + 2u, rows, acc9_2); }
    if 9u < REG_TM && 3u < REG_TV { store4(row0 + 9u, col0 / 4u + 3u, rows, acc9_3); }
    if 9u < REG_TM && 4u < REG_TV { store4(row0 + 9u, col0 / 4u + 4u, rows, acc9_4); }
    if 9u < REG_TM && 5u < REG_TV { store4(row0 + 9u, col0 / 4u + 5u, rows, acc9_5); }
    if 9u < REG_TM && 6u < REG_TV { store4(row0 + 9u, col0 / 4u + 6u, rows, acc9_6); }
    if 9u < REG_TM && 7u < REG_TV { store4(row0 + 9u, col0 / 4u + 7u, rows, acc9_7); }
    if 10u < REG_TM && 0u < REG_TV { store4(row0 + 10u, col0 / 4u + 0u, rows, acc10_0); }
    if 10u < REG_TM && 1u < REG_TV { store4(row0 + 10u, col0 / 4u + 1u, rows, acc10_1); }
    if 10u < REG_TM && 2u < REG_TV { store4(row0 + 10u, col0 / 4u + 2u, rows, acc10_2); }
    if 10u < REG_TM && 3u < REG_TV { store4(row0 + 10u, col0 / 4u + 3u, rows, acc10_3); }
    if 10u < REG_TM && 4u < REG_TV { store4(row0 + 10u, col0 / 4u + 4u, rows, acc10_4); }
    if 10u < REG_TM && 5u < REG_TV { store4(row0 + 10u, col0 / 4u + 5u, rows, acc10_5); }
    if 10u < REG_TM && 6u < REG_TV { store4(row0 + 10u, col0 / 4u + 6u, rows, acc10_6); }
    if 10u < REG_TM && 7u < REG_TV { store4(row0 + 10u, col0 / 4u + 7u, rows, acc10_7); }
    if 11u < REG_TM && 0u < REG_TV { store4(row0 + 11u, col0 / 4u + 0u, rows, acc11_0); }
    if 11u < REG_TM && 1u < REG_TV { store4(row0 + 11u, col0 / 4u + 1u, rows, acc11_1); }
    if 11u < REG_TM && 2u < REG_TV { store4(row0 + 11u, col0 / 4u + 2u, rows, acc11_2); }
    if 11u < REG_TM && 3u < REG_TV { store4(row0 + 11u, col0 / 4u + 3u, rows, acc11_3); }
    if 11u < REG_TM && 4u < REG_TV { store4(row0 + 11u, col0 / 4u + 4u, rows, acc11_4); }
    if 11u < REG_TM && 5u < REG_TV { store4(row0 + 11u, col0 / 4u + 5u, rows, acc11_5); }
    if 11u < REG_TM && 6u < REG_TV { store4(row0 + 11u, col0 / 4u + 6u, rows, acc11_6); }
    if 11u < REG_TM && 7u < REG_TV { store4(row0 + 11u, col0 / 4u + 7u, rows, acc11_7); }
    if 12u < REG_TM && 0u < REG_TV { store4(row0 + 12u, col0 / 4u + 0u, rows, acc12_0); }
    if 12u < REG_TM && 1u < REG_TV { store4(row0 + 12u, col0 / 4u + 1u, rows, acc12_1); }
    if 12u < REG_TM && 2u < REG_TV { store4(row0 + 12u, col0 / 4u + 2u, rows, acc12_2); }
    if 12u < REG_TM && 3u < REG_TV { store4(row0 + 12u, col0 / 4u + 3u, rows, acc12_3); }
    if 12u < REG_TM && 4u < REG_TV { store4(row0 + 12u, col0 / 4u + 4u, rows, acc12_4); }
    if 12u < REG_TM && 5u < REG_TV { store4(row0 + 12u, col0 / 4u + 5u, rows, acc12_5); }
    if 12u < REG_TM && 6u < REG_TV { store4(row0 + 12u, col0 / 4u + 6u, rows, acc12_6); }
    if 12u < REG_TM && 7u < REG_TV { store4(row0 + 12u, col0 / 4u + 7u, rows, acc12_7); }
    if 13u < REG_TM && 0u < REG_TV { store4(row0 + 13u, col0 / 4u + 0u, rows, acc13_0); }
    if 13u < REG_TM && 1u < REG_TV { store4(row0 + 13u, col0 / 4u + 1u, rows, acc13_1); }
    if 13u < REG_TM && 2u < REG_TV { store4(row0 + 13u, col0 / 4u + 2u, rows, acc13_2); }
    if 13u < REG_TM && 3u < REG_TV { store4(row0 + 13u, col0 / 4u + 3u, rows, acc13_3); }
    if 13u < REG_TM && 4u < REG_TV { store4(row0 + 13u, col0 / 4u + 4u, rows, acc13_4); }
    if 13u < REG_TM && 5u < REG_TV { store4(row0 + 13u, col0 / 4u + 5u, rows, acc13_5); }
    if 13u < REG_TM && 6u < REG_TV { store4(row0 + 13u, col0 / 4u + 6u, rows, acc13_6); }
    if 13u < REG_TM && 7u < REG_TV { store4(row0 + 13u, col0 / 4u + 7u, rows, acc13_7); }
    if 14u < REG_TM && 0u < REG_TV { store4(row0 + 14u, col0 / 4u + 0u, rows, acc14_0); }
    if 14u < REG_TM && 1u < REG_TV { store4(row0 + 14u, col0 / 4u + 1u, rows, acc14_1); }
    if 14u < REG_TM && 2u < REG_TV { store4(row0 + 14u, col0 / 4u + 2u, rows, acc14_2); }
    if 14u < REG_TM && 3u < REG_TV { store4(row0 + 14u, col0 / 4u + 3u, rows, acc14_3); }
    if 14u < REG_TM && 4u < REG_TV { store4(row0 + 14u, col0 / 4u + 4u, rows, acc14_4); }
    if 14u < REG_TM && 5u < REG_TV { store4(row0 + 14u, col0 / 4u + 5u, rows, acc14_5); }
    if 14u < REG_TM && 6u < REG_TV { store4(row0 + 14u, col0 / 4u + 6u, rows, acc14_6); }
    if 14u < REG_TM && 7u < REG_TV { store4(row0 + 14u, col0 / 4u + 7u, rows, acc14_7); }
    if 15u < REG_TM && 0u < REG_TV { store4(row0 + 15u, col0 / 4u + 0u, rows, acc15_0); }
    if 15u < REG_TM && 1u < REG_TV { store4(row0 + 15u, col0 / 4u + 1u, rows, acc15_1); }
    if 15u < REG_TM && 2u < REG_TV { store4(row0 + 15u, col0 / 4u + 2u, rows, acc15_2); }
    if 15u < REG_TM && 3u < REG_TV { store4(row0 + 15u, col0 / 4u + 3u, rows, acc15_3); }
    if 15u < REG_TM && 4u < REG_TV { store4(row0 + 15u, col0 / 4u + 4u, rows, acc15_4); }
    if 15u < REG_TM && 5u < REG_TV { store4(row0 + 15u, col0 / 4u + 5u, rows, acc15_5); }
    if 15u < REG_TM && 6u < REG_TV { store4(row0 + 15u, col0 / 4u + 6u, rows, acc15_6); }
    if 15u < REG_TM && 7u < REG_TV { store4(row0 + 15u, col0 / 4u + 7u, rows, acc15_7); }
    if 16u < REG_TM && 0u < REG_TV { store4(row0 + 16u, col0 / 4u + 0u, rows, acc16_0); }
    if 16u < REG_TM && 1u < REG_TV { store4(row0 + 16u, col0 / 4u + 1u, rows, acc16_1); }
    if 16u < REG_TM && 2u < REG_TV { store4(row0 + 16u, col0 / 4u + 2u, rows, acc16_2); }
    if 16u < REG_TM && 3u < REG_TV { store4(row0 + 16u, col0 / 4u + 3u, rows, acc16_3); }
    if 16u < REG_TM && 4u < REG_TV { store4(row0 + 16u, col0 / 4u + 4u, rows, acc16_4); }
    if 16u < REG_TM && 5u < REG_TV { store4(row0 + 16u, col0 / 4u + 5u, rows, acc16_5); }
    if 16u < REG_TM && 6u < REG_TV { store4(row0 + 16u, col0 / 4u + 6u, rows, acc16_6); }
    if 16u < REG_TM && 7u < REG_TV { store4(row0 + 16u, col0 / 4u + 7u, rows, acc16_7); }
    if 17u < REG_TM && 0u < REG_TV { store4(row0 + 17u, col0 / 4u + 0u, rows, acc17_0); }
    if 17u < REG_TM && 1u < REG_TV { store4(row0 + 17u, col0 / 4u + 1u, rows, acc17_1); }
    if 17u < REG_TM && 2u < REG_TV { store4(row0 + 17u, col0 / 4u + 2u, rows, acc17_2); }
    if 17u < REG_TM && 3u < REG_TV { store4(row0 + 17u, col0 / 4u + 3u, rows, acc17_3); }
    if 17u < REG_TM && 4u < REG_TV { store4(row0 + 17u, col0 / 4u + 4u, rows, acc17_4); }
    if 17u < REG_TM && 5u < REG_TV { store4(row0 + 17u, col0 / 4u + 5u, rows, acc17_5); }
    if 17u < REG_TM && 6u < REG_TV { store4(row0 + 17u, col0 / 4u + 6u, rows, acc17_6); }
    if 17u < REG_TM && 7u < REG_TV { store4(row0 + 17u, col0 / 4u + 7u, rows, acc17_7); }
    if 18u < REG_TM && 0u < REG_TV { store4(row0 + 18u, col0 / 4u + 0u, rows, acc18_0); }
    if 18u < REG_TM && 1u < REG_TV { store4(row0 + 18u, col0 / 4u + 1u, rows, acc18_1); }
    if 18u < REG_TM && 2u < REG_TV { store4(row0 + 18u, col0 / 4u + 2u, rows, acc18_2); }
    if 18u < REG_TM && 3u < REG_TV { store4(row0 + 18u, col0 / 4u + 3u, rows, acc18_3); }
    if 18u < REG_TM && 4u < REG_TV { store4(row0 + 18u, col0 / 4u + 4u, rows, acc18_4); }
    if 18u < REG_TM && 5u < REG_TV { store4(row0 + 18u, col0 / 4u + 5u, rows, acc18_5); }
    if 18u < REG_TM && 6u < REG_TV { store4(row0 + 18u, col0 / 4u + 6u, rows, acc18_6); }
    if 18u < REG_TM && 7u < REG_TV { store4(row0 + 18u, col0 / 4u + 7u, rows, acc18_7); }
    if 19u < REG_TM && 0u < REG_TV { store4(row0 + 19u, col0 / 4u + 0u, rows, acc19_0); }
    if 19u < REG_TM && 1u < REG_TV { store4(row0 + 19u, col0 / 4u + 1u, rows, acc19_1); }
    if 19u < REG_TM && 2u < REG_TV { store4(row0 + 19u, col0 / 4u + 2u, rows, acc19_2); }
    if 19u < REG_TM && 3u < REG_TV { store4(row0 + 19u, col0 / 4u + 3u, rows, acc19_3); }
    if 19u < REG_TM && 4u < REG_TV { store4(row0 + 19u, col0 / 4u + 4u, rows, acc19_4); }
    if 19u < REG_TM && 5u < REG_TV { store4(row0 + 19u, col0 / 4u + 5u, rows, acc19_5); }
    if 19u < REG_TM && 6u < REG_TV { store4(row0 + 19u, col0 / 4u + 6u, rows, acc19_6); }
    if 19u < REG_TM && 7u < REG_TV { store4(row0 + 19u, col0 / 4u + 7u, rows, acc19_7); }
    if 20u < REG_TM && 0u < REG_TV { store4(row0 + 20u, col0 / 4u + 0u, rows, acc20_0); }
    if 20u < REG_TM && 1u < REG_TV { store4(row0 + 20u, col0 / 4u + 1u, rows, acc20_1); }
    if 20u < REG_TM && 2u < REG_TV { store4(row0 + 20u, col0 / 4u + 2u, rows, acc20_2); }
    if 20u < REG_TM && 3u < REG_TV { store4(row0 + 20u, col0 / 4u + 3u, rows, acc20_3); }
    if 20u < REG_TM && 4u < REG_TV { store4(row0 + 20u, col0 / 4u + 4u, rows, acc20_4); }
    if 20u < REG_TM && 5u < REG_TV { store4(row0 + 20u, col0 / 4u + 5u, rows, acc20_5); }
    if 20u < REG_TM && 6u < REG_TV { store4(row0 + 20u, col0 / 4u + 6u, rows, acc20_6); }
    if 20u < REG_TM && 7u < REG_TV { store4(row0 + 20u, col0 / 4u + 7u, rows, acc20_7); }
    if 21u < REG_TM && 0u < REG_TV { store4(row0 + 21u, col0 / 4u + 0u, rows, acc21_0); }
    if 21u < REG_TM && 1u < REG_TV { store4(row0 + 21u, col0 / 4u + 1u, rows, acc21_1); }
    if 21u < REG_TM && 2u < REG_TV { store4(row0 + 21u, col0 / 4u + 2u, rows, acc21_2); }
    if 21u < REG_TM && 3u < REG_TV { store4(row0 + 21u, col0 / 4u + 3u, rows, acc21_3); }
    if 21u < REG_TM && 4u < REG_TV { store4(row0 + 21u, col0 / 4u + 4u, rows, acc21_4); }
    if 21u < REG_TM && 5u < REG_TV { store4(row0 + 21u, col0 / 4u + 5u, rows, acc21_5); }
    if 21u < REG_TM && 6u < REG_TV { store4(row0 + 21u, col0 / 4u + 6u, rows, acc21_6); }
    if 21u < REG_TM && 7u < REG_TV { store4(row0 + 21u, col0 / 4u + 7u, rows, acc21_7); }
    if 22u < REG_TM && 0u < REG_TV { store4(row0 + 22u, col0 / 4u + 0u, rows, acc22_0); }
    if 22u < REG_TM && 1u < REG_TV { store4(row0 + 22u, col0 / 4u + 1u, rows, acc22_1); }
    if 22u < REG_TM && 2u < REG_TV { store4(row0 + 22u, col0 / 4u + 2u, rows, acc22_2); }
    if 22u < REG_TM && 3u < REG_TV { store4(row0 + 22u, col0 / 4u + 3u, rows, acc22_3); }
    if 22u < REG_TM && 4u < REG_TV { store4(row0 + 22u, col0 / 4u + 4u, rows, acc22_4); }
    if 22u < REG_TM && 5u < REG_TV { store4(row0 + 22u, col0 / 4u + 5u, rows, acc22_5); }
    if 22u < REG_TM && 6u < REG_TV { store4(row0 + 22u, col0 / 4u + 6u, rows, acc22_6); }
    if 22u < REG_TM && 7u < REG_TV { store4(row0 + 22u, col0 / 4u + 7u, rows, acc22_7); }
    if 23u < REG_TM && 0u < REG_TV { store4(row0 + 23u, col0 / 4u + 0u, rows, acc23_0); }
    if 23u < REG_TM && 1u < REG_TV { store4(row0 + 23u, col0 / 4u + 1u, rows, acc23_1); }
    if 23u < REG_TM && 2u < REG_TV { store4(row0 + 23u, col0 / 4u + 2u, rows, acc23_2); }
    if 23u < REG_TM && 3u < REG_TV { store4(row0 + 23u, col0 / 4u + 3u, rows, acc23_3); }
    if 23u < REG_TM && 4u < REG_TV { store4(row0 + 23u, col0 / 4u + 4u, rows, acc23_4); }
    if 23u < REG_TM && 5u < REG_TV { store4(row0 + 23u, col0 / 4u + 5u, rows, acc23_5); }
    if 23u < REG_TM && 6u < REG_TV { store4(row0 + 23u, col0 / 4u + 6u, rows, acc23_6); }
    if 23u < REG_TM && 7u < REG_TV { store4(row0 + 23u, col0 / 4u + 7u, rows, acc23_7); }
}

// Filter gradient, register-blocked: one tap x 4 cin x 4*FG_TV cout per invocation (FG_TV <= 16).
override FG_TV: u32 = 4u;
@compute @workgroup_size(64)
fn conv2d_filter_grad_reg(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = gid.x + gid.y * nwg.x * 64u;
    let co4 = p.cout / 4u;
    let ci4 = p.cin / 4u;
    let ncb = (p.cout + 4u * FG_TV - 1u) / (4u * FG_TV);
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
    let c0 = min(cb * FG_TV + 0u, co4 - 1u);
    let c1 = min(cb * FG_TV + 1u, co4 - 1u);
    let c2 = min(cb * FG_TV + 2u, co4 - 1u);
    let c3 = min(cb * FG_TV + 3u, co4 - 1u);
    let c4 = min(cb * FG_TV + 4u, co4 - 1u);
    let c5 = min(cb * FG_TV + 5u, co4 - 1u);
    let c6 = min(cb * FG_TV + 6u, co4 - 1u);
    let c7 = min(cb * FG_TV + 7u, co4 - 1u);
    let c8 = min(cb * FG_TV + 8u, co4 - 1u);
    let c9 = min(cb * FG_TV + 9u, co4 - 1u);
    let c10 = min(cb * FG_TV + 10u, co4 - 1u);
    let c11 = min(cb * FG_TV + 11u, co4 - 1u);
    let c12 = min(cb * FG_TV + 12u, co4 - 1u);
    let c13 = min(cb * FG_TV + 13u, co4 - 1u);
    let c14 = min(cb * FG_TV + 14u, co4 - 1u);
    let c15 = min(cb * FG_TV + 15u, co4 - 1u);
    var acc0_0 = vec4<f32>(0.0);
    var acc0_1 = vec4<f32>(0.0);
    var acc0_2 = vec4<f32>(0.0);
    var acc0_3 = vec4<f32>(0.0);
    var acc0_4 = vec4<f32>(0.0);
    var acc0_5 = vec4<f32>(0.0);
    var acc0_6 = vec4<f32>(0.0);
    var acc0_7 = vec4<f32>(0.0);
    var acc0_8 = vec4<f32>(0.0);
    var acc0_9 = vec4<f32>(0.0);
    var acc0_10 = vec4<f32>(0.0);
    var acc0_11 = vec4<f32>(0.0);
    var acc0_12 = vec4<f32>(0.0);
    var acc0_13 = vec4<f32>(0.0);
    var acc0_14 = vec4<f32>(0.0);
    var acc0_15 = vec4<f32>(0.0);
    var acc1_0 = vec4<f32>(0.0);
    var acc1_1 = vec4<f32>(0.0);
    var acc1_2 = vec4<f32>(0.0);
    var acc1_3 = vec4<f32>(0.0);
    var acc1_4 = vec4<f32>(0.0);
    var acc1_5 = vec4<f32>(0.0);
    var acc1_6 = vec4<f32>(0.0);
    var acc1_7 = vec4<f32>(0.0);
    var acc1_8 = vec4<f32>(0.0);
    var acc1_9 = vec4<f32>(0.0);
    var acc1_10 = vec4<f32>(0.0);
    var acc1_11 = vec4<f32>(0.0);
    var acc1_12 = vec4<f32>(0.0);
    var acc1_13 = vec4<f32>(0.0);
    var acc1_14 = vec4<f32>(0.0);
    var acc1_15 = vec4<f32>(0.0);
    var acc2_0 = vec4<f32>(0.0);
    var acc2_1 = vec4<f32>(0.0);
    var acc2_2 = vec4<f32>(0.0);
    var acc2_3 = vec4<f32>(0.0);
    var acc2_4 = vec4<f32>(0.0);
    var acc2_5 = vec4<f32>(0.0);
    var acc2_6 = vec4<f32>(0.0);
    var acc2_7 = vec4<f32>(0.0);
    var acc2_8 = vec4<f32>(0.0);
    var acc2_9 = vec4<f32>(0.0);
    var acc2_10 = vec4<f32>(0.0);
    var acc2_11 = vec4<f32>(0.0);
    var acc2_12 = vec4<f32>(0.0);
    var acc2_13 = vec4<f32>(0.0);
    var acc2_14 = vec4<f32>(0.0);
    var acc2_15 = vec4<f32>(0.0);
    var acc3_0 = vec4<f32>(0.0);
    var acc3_1 = vec4<f32>(0.0);
    var acc3_2 = vec4<f32>(0.0);
    var acc3_3 = vec4<f32>(0.0);
    var acc3_4 = vec4<f32>(0.0);
    var acc3_5 = vec4<f32>(0.0);
    var acc3_6 = vec4<f32>(0.0);
    var acc3_7 = vec4<f32>(0.0);
    var acc3_8 = vec4<f32>(0.0);
    var acc3_9 = vec4<f32>(0.0);
    var acc3_10 = vec4<f32>(0.0);
    var acc3_11 = vec4<f32>(0.0);
    var acc3_12 = vec4<f32>(0.0);
    var acc3_13 = vec4<f32>(0.0);
    var acc3_14 = vec4<f32>(0.0);
    var acc3_15 = vec4<f32>(0.0);
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
                if 0u < FG_TV {
                    let g0 = gy4[gb + c0];
                    acc0_0 = fma(vec4(xv.x), g0, acc0_0);
                    acc1_0 = fma(vec4(xv.y), g0, acc1_0);
                    acc2_0 = fma(vec4(xv.z), g0, acc2_0);
                    acc3_0 = fma(vec4(xv.w), g0, acc3_0);
                }
                if 1u < FG_TV {
                    let g1 = gy4[gb + c1];
                    acc0_1 = fma(vec4(xv.x), g1, acc0_1);
                    acc1_1 = fma(vec4(xv.y), g1, acc1_1);
                    acc2_1 = fma(vec4(xv.z), g1, acc2_1);
                    acc3_1 = fma(vec4(xv.w), g1, acc3_1);
                }
                if 2u < FG_TV {
                    let g2 = gy4[gb + c2];
                    acc0_2 = fma(vec4(xv.x), g2, acc0_2);
                    acc1_2 = fma(vec4(xv.y), g2, acc1_2);
                    acc2_2 = fma(vec4(xv.z), g2, acc2_2);
                    acc3_2 = fma(vec4(xv.w), g2, acc3_2);
                }
                if 3u < FG_TV {
                    let g3 = gy4[gb + c3];
                    acc0_3 = fma(vec4(xv.x), g3, acc0_3);
                    acc1_3 = fma(vec4(xv.y), g3, acc1_3);
                    acc2_3 = fma(vec4(xv.z), g3, acc2_3);
                    acc3_3 = fma(vec4(xv.w), g3, acc3_3);
                }
                if 4u < FG_TV {
                    let g4 = gy4[gb + c4];
                    acc0_4 = fma(vec4(xv.x), g4, acc0_4);
                    acc1_4 = fma(vec4(xv.y), g4, acc1_4);
                    acc2_4 = fma(vec4(xv.z), g4, acc2_4);
                    acc3_4 = fma(vec4(xv.w), g4, acc3_4);
                }
                if 5u < FG_TV {
                    let g5 = gy4[gb + c5];
                    acc0_5 = fma(vec4(xv.x), g5, acc0_5);
                    acc1_5 = fma(vec4(xv.y), g5, acc1_5);
                    acc2_5 = fma(vec4(xv.z), g5, acc2_5);
                    acc3_5 = fma(vec4(xv.w), g5, acc3_5);
                }
                if 6u < FG_TV {
                    let g6 = gy4[gb + c6];
                    acc0_6 = fma(vec4(xv.x), g6, acc0_6);
                    acc1_6 = fma(vec4(xv.y), g6, acc1_6);
                    acc2_6 = fma(vec4(xv.z), g6, acc2_6);
                    acc3_6 = fma(vec4(xv.w), g6, acc3_6);
                }
                if 7u < FG_TV {
                    let g7 = gy4[gb + c7];
                    acc0_7 = fma(vec4(xv.x), g7, acc0_7);
                    acc1_7 = fma(vec4(xv.y), g7, acc1_7);
                    acc2_7 = fma(vec4(xv.z), g7, acc2_7);
                    acc3_7 = fma(vec4(xv.w), g7, acc3_7);
                }
                if 8u < FG_TV {
                    let g8 = gy4[gb + c8];
                    acc0_8 = fma(vec4(xv.x), g8, acc0_8);
                    acc1_8 = fma(vec4(xv.y), g8, acc1_8);
                    acc2_8 = fma(vec4(xv.z), g8, acc2_8);
                    acc3_8 = fma(vec4(xv.w), g8, acc3_8);
                }
                if 9u < FG_TV {
                    let g9 = gy4[gb + c9];
                    acc0_9 = fma(vec4(xv.x), g9, acc0_9);
                    acc1_9 = fma(vec4(xv.y), g9, acc1_9);
                    acc2_9 = fma(vec4(xv.z), g9, acc2_9);
                    acc3_9 = fma(vec4(xv.w), g9, acc3_9);
                }
                if 10u < FG_TV {
                    let g10 = gy4[gb + c10];
                    acc0_10 = fma(vec4(xv.x), g10, acc0_10);
                    acc1_10 = fma(vec4(xv.y), g10, acc1_10);
                    acc2_10 = fma(vec4(xv.z), g10, acc2_10);
                    acc3_10 = fma(vec4(xv.w), g10, acc3_10);
                }
                if 11u < FG_TV {
                    let g11 = gy4[gb + c11];
                    acc0_11 = fma(vec4(xv.x), g11, acc0_11);
                    acc1_11 = fma(vec4(xv.y), g11, acc1_11);
                    acc2_11 = fma(vec4(xv.z), g11, acc2_11);
                    acc3_11 = fma(vec4(xv.w), g11, acc3_11);
                }
                if 12u < FG_TV {
                    let g12 = gy4[gb + c12];
                    acc0_12 = fma(vec4(xv.x), g12, acc0_12);
                    acc1_12 = fma(vec4(xv.y), g12, acc1_12);
                    acc2_12 = fma(vec4(xv.z), g12, acc2_12);
                    acc3_12 = fma(vec4(xv.w), g12, acc3_12);
                }
                if 13u < FG_TV {
                    let g13 = gy4[gb + c13];
                    acc0_13 = fma(vec4(xv.x), g13, acc0_13);
                    acc1_13 = fma(vec4(xv.y), g13, acc1_13);
                    acc2_13 = fma(vec4(xv.z), g13, acc2_13);
                    acc3_13 = fma(vec4(xv.w), g13, acc3_13);
                }
                if 14u < FG_TV {
                    let g14 = gy4[gb + c14];
                    acc0_14 = fma(vec4(xv.x), g14, acc0_14);
                    acc1_14 = fma(vec4(xv.y), g14, acc1_14);
                    acc2_14 = fma(vec4(xv.z), g14, acc2_14);
                    acc3_14 = fma(vec4(xv.w), g14, acc3_14);
                }
                if 15u < FG_TV {
                    let g15 = gy4[gb + c15];
                    acc0_15 = fma(vec4(xv.x), g15, acc0_15);
                    acc1_15 = fma(vec4(xv.y), g15, acc1_15);
                    acc2_15 = fma(vec4(xv.z), g15, acc2_15);
                    acc3_15 = fma(vec4(xv.w), g15, acc3_15);
                }
            }
        }
    }
    let base = chunk * p.kh * p.kw * p.cin * co4 + (tap_i * p.cin + ci * 4u) * co4;
    if bias[0] == 12345.678 { return; } // keeps binding 3 in the layout
    if 0u < FG_TV && cb * FG_TV + 0u < co4 { out4[base + 0u * co4 + cb * FG_TV + 0u] = acc0_0; }
    if 1u < FG_TV && cb * FG_TV + 1u < co4 { out4[base + 0u * co4 + cb * FG_TV + 1u] = acc0_1; }
    if 2u < FG_TV && cb * FG_TV + 2u < co4 { out4[base + 0u * co4 + cb * FG_TV + 2u] = acc0_2; }
    if 3u < FG_TV && cb * FG_TV + 3u < co4 { out4[base + 0u * co4 + cb * FG_TV + 3u] = acc0_3; }
    if 4u < FG_TV && cb * FG_TV + 4u < co4 { out4[base + 0u * co4 + cb * FG_TV + 4u] = acc0_4; }
    if 5u < FG_TV && cb * FG_TV + 5u < co4 { out4[base + 0u * co4 + cb * FG_TV + 5u] = acc0_5; }
    if 6u < FG_TV && cb * FG_TV + 6u < co4 { out4[base + 0u * co4 + cb * FG_TV + 6u] = acc0_6; }
    if 7u < FG_TV && cb * FG_TV + 7u < co4 { out4[base + 0u * co4 + cb * FG_TV + 7u] = acc0_7; }
    if 8u < FG_TV && cb * FG_TV + 8u < co4 { out4[base + 0u * co4 + cb * FG_TV + 8u] = acc0_8; }
    if 9u < FG_TV && cb * FG_TV + 9u < co4 { out4[base + 0u * co4 + cb * FG_TV + 9u] = acc0_9; }
    if 10u < FG_TV && cb * FG_TV + 10u < co4 { out4[base + 0u * co4 + cb * FG_TV + 10u] = acc0_10; }
    if 11u < FG_TV && cb * FG_TV + 11u < co4 { out4[base + 0u * co4 + cb * FG_TV + 11u] = acc0_11; }
    if 12u < FG_TV && cb * FG_TV + 12u < co4 { out4[base + 0u * co4 + cb * FG_TV + 12u] = acc0_12; }
    if 13u < FG_TV && cb * FG_TV + 13u < co4 { out4[base + 0u * co4 + cb * FG_TV + 13u] = acc0_13; }
    if 14u < FG_TV && cb * FG_TV + 14u < co4 { out4[base + 0u * co4 + cb * FG_TV + 14u] = acc0_14; }
    if 15u < FG_TV && cb * FG_TV + 15u < co4 { out4[base + 0u * co4 + cb * FG_TV + 15u] = acc0_15; }
    if 0u < FG_TV && cb * FG_TV + 0u < co4 { out4[base + 1u * co4 + cb * FG_TV + 0u] = acc1_0; }
    if 1u < FG_TV && cb * FG_TV + 1u < co4 { out4[base + 1u * co4 + cb * FG_TV + 1u] = acc1_1; }
    if 2u < FG_TV && cb * FG_TV + 2u < co4 { out4[base + 1u * co4 + cb * FG_TV + 2u] = acc1_2; }
    if 3u < FG_TV && cb * FG_TV + 3u < co4 { out4[base + 1u * co4 + cb * FG_TV + 3u] = acc1_3; }
    if 4u < FG_TV && cb * FG_TV + 4u < co4 { out4[base + 1u * co4 + cb * FG_TV + 4u] = acc1_4; }
    if 5u < FG_TV && cb * FG_TV + 5u < co4 { out4[base + 1u * co4 + cb * FG_TV + 5u] = acc1_5; }
    if 6u < FG_TV && cb * FG_TV + 6u < co4 { out4[base + 1u * co4 + cb * FG_TV + 6u] = acc1_6; }
    if 7u < FG_TV && cb * FG_TV + 7u < co4 { out4[base + 1u * co4 + cb * FG_TV + 7u] = acc1_7; }
    if 8u < FG_TV && cb * FG_TV + 8u < co4 { out4[base + 1u * co4 + cb * FG_TV + 8u] = acc1_8; }
    if 9u < FG_TV && cb * FG_TV + 9u < co4 { out4[base + 1u * co4 + cb * FG_TV + 9u] = acc1_9; }
    if 10u < FG_TV && cb * FG_TV + 10u < co4 { out4[base + 1u * co4 + cb * FG_TV + 10u] = acc1_10; }
    if 11u < FG_TV && cb * FG_TV + 11u < co4 { out4[base + 1u * co4 + cb * FG_TV + 11u] = acc1_11; }
    if 12u < FG_TV && cb * FG_TV + 12u < co4 { out4[base + 1u * co4 + cb * FG_TV + 12u] = acc1_12; }
    if 13u < FG_TV && cb * FG_TV + 13u < co4 { out4[base + 1u * co4 + cb * FG_TV + 13u] = acc1_13; }
    if 14u < FG_TV && cb * FG_TV + 14u < co4 { out4[base + 1u * co4 + cb * FG_TV + 14u] = acc1_14; }
    if 15u < FG_TV && cb * FG_TV + 15u < co4 { out4[base + 1u * co4 + cb * FG_TV + 15u] = acc1_15; }
    if 0u < FG_TV && cb * FG_TV + 0u < co4 { out4[base + 2u * co4 + cb * FG_TV + 0u] = acc2_0; }
    if 1u < FG_TV && cb * FG_TV + 1u < co4 { out4[base + 2u * co4 + cb * FG_TV + 1u] = acc2_1; }
    if 2u < FG_TV && cb * FG_TV + 2u < co4 { out4[base + 2u * co4 + cb * FG_TV + 2u] = acc2_2; }
    if 3u < FG_TV && cb * FG_TV + 3u < co4 { out4[base + 2u * co4 + cb * FG_TV + 3u] = acc2_3; }
    if 4u < FG_TV && cb * FG_TV + 4u < co4 { out4[base + 2u * co4 + cb * FG_TV + 4u] = acc2_4; }
    if 5u < FG_TV && cb * FG_TV + 5u < co4 { out4[base + 2u * co4 + cb * FG_TV + 5u] = acc2_5; }
    if 6u < FG_TV && cb * FG_TV + 6u < co4 { out4[base + 2u * co4 + cb * FG_TV + 6u] = acc2_6; }
    if 7u < FG_TV && cb * FG_TV + 7u < co4 { out4[base + 2u * co4 + cb * FG_TV + 7u] = acc2_7; }
    if 8u < FG_TV && cb * FG_TV + 8u < co4 { out4[base + 2u * co4 + cb * FG_TV + 8u] = acc2_8; }
    if 9u < FG_TV && cb * FG_TV + 9u < co4 { out4[base + 2u * co4 + cb * FG_TV + 9u] = acc2_9; }
    if 10u < FG_TV && cb * FG_TV + 10u < co4 { out4[base + 2u * co4 + cb * FG_TV + 10u] = acc2_10; }
    if 11u < FG_TV && cb * FG_TV + 11u < co4 { out4[base + 2u * co4 + cb * FG_TV + 11u] = acc2_11; }
    if 12u < FG_TV && cb * FG_TV + 12u < co4 { out4[base + 2u * co4 + cb * FG_TV + 12u] = acc2_12; }
    if 13u < FG_TV && cb * FG_TV + 13u < co4 { out4[base + 2u * co4 + cb * FG_TV + 13u] = acc2_13; }
    if 14u < FG_TV && cb * FG_TV + 14u < co4 { out4[base + 2u * co4 + cb * FG_TV + 14u] = acc2_14; }
    if 15u < FG_TV && cb * FG_TV + 15u < co4 { out4[base + 2u * co4 + cb * FG_TV + 15u] = acc2_15; }
    if 0u < FG_TV && cb * FG_TV + 0u < co4 { out4[base + 3u * co4 + cb * FG_TV + 0u] = acc3_0; }
    if 1u < FG_TV && cb * FG_TV + 1u < co4 { out4[base + 3u * co4 + cb * FG_TV + 1u] = acc3_1; }
    if 2u < FG_TV && cb * FG_TV + 2u < co4 { out4[base + 3u * co4 + cb * FG_TV + 2u] = acc3_2; }
    if 3u < FG_TV && cb * FG_TV + 3u < co4 { out4[base + 3u * co4 + cb * FG_TV + 3u] = acc3_3; }
    if 4u < FG_TV && cb * FG_TV + 4u < co4 { out4[base + 3u * co4 + cb * FG_TV + 4u] = acc3_4; }
    if 5u < FG_TV && cb * FG_TV + 5u < co4 { out4[base + 3u * co4 + cb * FG_TV + 5u] = acc3_5; }
    if 6u < FG_TV && cb * FG_TV + 6u < co4 { out4[base + 3u * co4 + cb * FG_TV + 6u] = acc3_6; }
    if 7u < FG_TV && cb * FG_TV + 7u < co4 { out4[base + 3u * co4 + cb * FG_TV + 7u] = acc3_7; }
    if 8u < FG_TV && cb * FG_TV + 8u < co4 { out4[base + 3u * co4 + cb * FG_TV + 8u] = acc3_8; }
    if 9u < FG_TV && cb * FG_TV + 9u < co4 { out4[base + 3u * co4 + cb * FG_TV + 9u] = acc3_9; }
    if 10u < FG_TV && cb * FG_TV + 10u < co4 { out4[base + 3u * co4 + cb * FG_TV + 10u] = acc3_10; }
    if 11u < FG_TV && cb * FG_TV + 11u < co4 { out4[base + 3u * co4 + cb * FG_TV + 11u] = acc3_11; }
    if 12u < FG_TV && cb * FG_TV + 12u < co4 { out4[base + 3u * co4 + cb * FG_TV + 12u] = acc3_12; }
    if 13u < FG_TV && cb * FG_TV + 13u < co4 { out4[base + 3u * co4 + cb * FG_TV + 13u] = acc3_13; }
    if 14u < FG_TV && cb * FG_TV + 14u < co4 { out4[base + 3u * co4 + cb * FG_TV + 14u] = acc3_14; }
    if 15u < FG_TV && cb * FG_TV + 15u < co4 { out4[base + 3u * co4 + cb * FG_TV + 15u] = acc3_15; }
}

// The all-taps filter gradients slide each window row (3 taps wide, stride and dilation 1
// across: tap (ky, kx + 1) at pixel ox is tap (ky, kx) at ox + 1, one new load per row and
// pixel); false: the general loop. Fixed at pipeline creation, from the geometry.
override TAPS_SLIDE: bool = false;

// Output channels per invocation of the all-taps filter gradients: 4, or 8 where that still
// leaves enough workgroups (SwiftShader pays per loop iteration: LeNet's conv 2, 2.3 -> 1.6
// ms). Fixed at pipeline creation.
override TAPS_CO: u32 = 4u;

// Filter gradient, all taps (kh*kw <= 9) x 1 cin x TAPS_CO cout per invocation over a chunk of rows.
@compute @workgroup_size(64)
fn conv2d_filter_grad_taps(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = gid.x + gid.y * nwg.x * 64u;
    let ncb = (p.cout + TAPS_CO - 1u) / TAPS_CO;
    let blocks = p.cin * ncb;
    let rows = p.n * p.oh;
    let nchunks = (rows + p._p0 - 1u) / p._p0;
    if id >= blocks * nchunks { return; }
    let chunk = id / blocks;
    let blk = id % blocks;
    let co0 = (blk % ncb) * TAPS_CO;
    let ci = blk / ncb;
    let last = p.cout - 1u;
    let c1 = min(co0 + 1u, last);
    let c2 = min(co0 + 2u, last);
    let c3 = min(co0 + 3u, last);
    let c4 = min(co0 + 4u, last);
    let c5 = min(co0 + 5u, last);
    let c6 = min(co0 + 6u, last);
    let c7 = min(co0 + 7u, last);
    let ntaps = p.kh * p.kw;
    // Taps past the kernel read row -h (outside the input), so they contribute zero.
    let ty0 = select(-i32(p.h), i32((0u / p.kw) * p.dh) - i32(p.pad_top), 0u < ntaps);
    let tx0 = i32((0u % p.kw) * p.dw) - i32(p.pad_left);
    var lo0 = vec4<f32>(0.0);
    var hi0 = vec4<f32>(0.0);
    let ty1 = select(-i32(p.h), i32((1u / p.kw) * p.dh) - i32(p.pad_top), 1u < ntaps);
    let tx1 = i32((1u % p.kw) * p.dw) - i32(p.pad_left);
    var lo1 = vec4<f32>(0.0);
    var hi1 = vec4<f32>(0.0);
    let ty2 = select(-i32(p.h), i32((2u / p.kw) * p.dh) - i32(p.pad_top), 2u < ntaps);
    let tx2 = i32((2u % p.kw) * p.dw) - i32(p.pad_left);
    var lo2 = vec4<f32>(0.0);
    var hi2 = vec4<f32>(0.0);
    let ty3 = select(-i32(p.h), i32((3u / p.kw) * p.dh) - i32(p.pad_top), 3u < ntaps);
    let tx3 = i32((3u % p.kw) * p.dw) - i32(p.pad_left);
    var lo3 = vec4<f32>(0.0);
    var hi3 = vec4<f32>(0.0);
    let ty4 = select(-i32(p.h), i32((4u / p.kw) * p.dh) - i32(p.pad_top), 4u < ntaps);
    let tx4 = i32((4u % p.kw) * p.dw) - i32(p.pad_left);
    var lo4 = vec4<f32>(0.0);
    var hi4 = vec4<f32>(0.0);
    let ty5 = select(-i32(p.h), i32((5u / p.kw) * p.dh) - i32(p.pad_top), 5u < ntaps);
    let tx5 = i32((5u % p.kw) * p.dw) - i32(p.pad_left);
    var lo5 = vec4<f32>(0.0);
    var hi5 = vec4<f32>(0.0);
    let ty6 = select(-i32(p.h), i32((6u / p.kw) * p.dh) - i32(p.pad_top), 6u < ntaps);
    let tx6 = i32((6u % p.kw) * p.dw) - i32(p.pad_left);
    var lo6 = vec4<f32>(0.0);
    var hi6 = vec4<f32>(0.0);
    let ty7 = select(-i32(p.h), i32((7u / p.kw) * p.dh) - i32(p.pad_top), 7u < ntaps);
    let tx7 = i32((7u % p.kw) * p.dw) - i32(p.pad_left);
    var lo7 = vec4<f32>(0.0);
    var hi7 = vec4<f32>(0.0);
    let ty8 = select(-i32(p.h), i32((8u / p.kw) * p.dh) - i32(p.pad_top), 8u < ntaps);
    let tx8 = i32((8u % p.kw) * p.dw) - i32(p.pad_left);
    var lo8 = vec4<f32>(0.0);
    var hi8 = vec4<f32>(0.0);
    let r1 = min(rows, (chunk + 1u) * p._p0);
    // A constant, not a branch on p: SwiftShader's compiler took 114 s over the kernel with both
    // loops, 16 s with one.
    if TAPS_SLIDE {
        for (var r = chunk * p._p0; r < r1; r++) {
            let b = r / p.oh;
            let oy = r % p.oh;
            let xb = b * p.h;
            let y0 = i32(oy * p.sh);
            var w01 = tapx(xb, y0 + ty0, tx0, ci);
            var w02 = tapx(xb, y0 + ty0, tx1, ci);
            var w11 = tapx(xb, y0 + ty3, tx0, ci);
            var w12 = tapx(xb, y0 + ty3, tx1, ci);
            var w21 = tapx(xb, y0 + ty6, tx0, ci);
            var w22 = tapx(xb, y0 + ty6, tx1, ci);
            for (var ox = 0u; ox < p.ow; ox++) {
                let g = (r * p.ow + ox) * p.cout;
                let gv = vec4(gy[g + co0], gy[g + c1], gy[g + c2], gy[g + c3]);
                let w00 = w01;
                w01 = w02;
                w02 = tapx(xb, y0 + ty0, i32(ox) + tx2, ci);
                let w10 = w11;
                w11 = w12;
                w12 = tapx(xb, y0 + ty3, i32(ox) + tx2, ci);
                let w20 = w21;
                w21 = w22;
                w22 = tapx(xb, y0 + ty6, i32(ox) + tx2, ci);
                lo0 = fma(vec4(w00), gv, lo0);
                lo1 = fma(vec4(w01), gv, lo1);
                lo2 = fma(vec4(w02), gv, lo2);
                lo3 = fma(vec4(w10), gv, lo3);
                lo4 = fma(vec4(w11), gv, lo4);
                lo5 = fma(vec4(w12), gv, lo5);
                lo6 = fma(vec4(w20), gv, lo6);
                lo7 = fma(vec4(w21), gv, lo7);
                lo8 = fma(vec4(w22), gv, lo8);
                if TAPS_CO == 8u {
                    let gw = vec4(gy[g + c4], gy[g + c5], gy[g + c6], gy[g + c7]);
                    hi0 = fma(vec4(w00), gw, hi0);
                    hi1 = fma(vec4(w01), gw, hi1);
                    hi2 = fma(vec4(w02), gw, hi2);
                    hi3 = fma(vec4(w10), gw, hi3);
                    hi4 = fma(vec4(w11), gw, hi4);
                    hi5 = fma(vec4(w12), gw, hi5);
                    hi6 = fma(vec4(w20), gw, hi6);
                    hi7 = fma(vec4(w21), gw, hi7);
                    hi8 = fma(vec4(w22), gw, hi8);
                }
            }
        }
    } else {
        for (var r = chunk * p._p0; r < r1; r++) {
            let b = r / p.oh;
            let oy = r % p.oh;
            let xb = b * p.h;
            for (var ox = 0u; ox < p.ow; ox++) {
                let g = (r * p.ow + ox) * p.cout;
                let gv = vec4(gy[g + co0], gy[g + c1], gy[g + c2], gy[g + c3]);
                let y0 = i32(oy * p.sh);
                let x0 = i32(ox * p.sw);
                let v0 = tapx(xb, y0 + ty0, x0 + tx0, ci);
                lo0 = fma(vec4(v0), gv, lo0);
                let v1 = tapx(xb, y0 + ty1, x0 + tx1, ci);
                lo1 = fma(vec4(v1), gv, lo1);
                let v2 = tapx(xb, y0 + ty2, x0 + tx2, ci);
                lo2 = fma(vec4(v2), gv, lo2);
                let v3 = tapx(xb, y0 + ty3, x0 + tx3, ci);
                lo3 = fma(vec4(v3), gv, lo3);
                let v4 = tapx(xb, y0 + ty4, x0 + tx4, ci);
                lo4 = fma(vec4(v4), gv, lo4);
                let v5 = tapx(xb, y0 + ty5, x0 + tx5, ci);
                lo5 = fma(vec4(v5), gv, lo5);
                let v6 = tapx(xb, y0 + ty6, x0 + tx6, ci);
                lo6 = fma(vec4(v6), gv, lo6);
                let v7 = tapx(xb, y0 + ty7, x0 + tx7, ci);
                lo7 = fma(vec4(v7), gv, lo7);
                let v8 = tapx(xb, y0 + ty8, x0 + tx8, ci);
                lo8 = fma(vec4(v8), gv, lo8);
                if TAPS_CO == 8u {
                    let gw = vec4(gy[g + c4], gy[g + c5], gy[g + c6], gy[g + c7]);
                    hi0 = fma(vec4(v0), gw, hi0);
                    hi1 = fma(vec4(v1), gw, hi1);
                    hi2 = fma(vec4(v2), gw, hi2);
                    hi3 = fma(vec4(v3), gw, hi3);
                    hi4 = fma(vec4(v4), gw, hi4);
                    hi5 = fma(vec4(v5), gw, hi5);
                    hi6 = fma(vec4(v6), gw, hi6);
                    hi7 = fma(vec4(v7), gw, hi7);
                    hi8 = fma(vec4(v8), gw, hi8);
                }
            }
        }
    }
    let e0 = chunk * p.kh * p.kw * p.cin * p.cout + ci * p.cout;
    if bias[0] == 12345.678 { return; } // keeps binding 3 in the layout
    if 0u < ntaps {
        store_dw(e0 + 0u * p.cin * p.cout, co0, lo0);
        if TAPS_CO == 8u { store_dw(e0 + 0u * p.cin * p.cout, co0 + 4u, hi0); }
    }
    if 1u < ntaps {
        store_dw(e0 + 1u * p.cin * p.cout, co0, lo1);
        if TAPS_CO == 8u { store_dw(e0 + 1u * p.cin * p.cout, co0 + 4u, hi1); }
    }
    if 2u < ntaps {
        store_dw(e0 + 2u * p.cin * p.cout, co0, lo2);
        if TAPS_CO == 8u { store_dw(e0 + 2u * p.cin * p.cout, co0 + 4u, hi2); }
    }
    if 3u < ntaps {
        store_dw(e0 + 3u * p.cin * p.cout, co0, lo3);
        if TAPS_CO == 8u { store_dw(e0 + 3u * p.cin * p.cout, co0 + 4u, hi3); }
    }
    if 4u < ntaps {
        store_dw(e0 + 4u * p.cin * p.cout, co0, lo4);
        if TAPS_CO == 8u { store_dw(e0 + 4u * p.cin * p.cout, co0 + 4u, hi4); }
    }
    if 5u < ntaps {
        store_dw(e0 + 5u * p.cin * p.cout, co0, lo5);
        if TAPS_CO == 8u { store_dw(e0 + 5u * p.cin * p.cout, co0 + 4u, hi5); }
    }
    if 6u < ntaps {
        store_dw(e0 + 6u * p.cin * p.cout, co0, lo6);
        if TAPS_CO == 8u { store_dw(e0 + 6u * p.cin * p.cout, co0 + 4u, hi6); }
    }
    if 7u < ntaps {
        store_dw(e0 + 7u * p.cin * p.cout, co0, lo7);
        if TAPS_CO == 8u { store_dw(e0 + 7u * p.cin * p.cout, co0 + 4u, hi7); }
    }
    if 8u < ntaps {
        store_dw(e0 + 8u * p.cin * p.cout, co0, lo8);
        if TAPS_CO == 8u { store_dw(e0 + 8u * p.cin * p.cout, co0 + 4u, hi8); }
    }
}

var<workgroup> taps_sum: array<vec4<f32>, 640>;

// Lanes of the all-taps filter-gradient workgroups (at most 64, taps_sum's stride), fixed at
// pipeline creation: 8 on software adapters, where workgroup memory costs (SwiftShader took
// 5.5 ms for LeNet's second filter gradient with 64 lanes, 2.4 with 8), 64 on GPUs.
override TAPS_WG: u32 = 64u;

// The all-taps filter gradients' last step: lane l adds up slot t = l, l + TAPS_WG, ... of
// taps_sum (tap t < ntaps, or the bias gradient in slot 9 when the workgroup owns input
// channel 0 and p._p1 asks for it) and stores it.
fn taps_finish(l: u32, ci: u32, co0: u32, ntaps: u32) {
    for (var t = l; t < 10u; t += TAPS_WG) {
        let bias = t == 9u;
        if t < ntaps || (bias && ci == 0u && p._p1 != 0u) {
            var s = vec4<f32>(0.0);
            for (var k = 0u; k < TAPS_WG; k++) { s += taps_sum[t * 64u + k]; }
            if bias {
                for (var j = 0u; j < 4u; j++) {
                    if co0 + j < p.cout { dbias[co0 + j] = s[j]; }
                }
            } else {
                store_dw((t * p.cin + ci) * p.cout, co0, s);
            }
        }
    }
}
@group(0) @binding(3) var<storage, read_write> dbias: array<f32>;

// Filter gradient, all taps (kh*kw <= 9) x 1 cin x TAPS_CO cout per workgroup: its TAPS_WG lanes
// split the rows, then add up each tap's partial sums (`taps_finish`; one pass, no chunk
// buffer). With p._p1 = 1 the workgroups of input channel 0 also write the bias gradient
// dbias[co] = Σ dy[.., co] (slot 9).
@compute @workgroup_size(TAPS_WG)
fn conv2d_filter_grad_taps_wg(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let ncb = (p.cout + TAPS_CO - 1u) / TAPS_CO;
    let blocks = p.cin * ncb;
    let rows = p.n * p.oh;
    let blk = wid.x + wid.y * nwg.x;
    if blk >= blocks { return; }
    let co0 = (blk % ncb) * TAPS_CO;
    let ci = blk / ncb;
    let last = p.cout - 1u;
    let c1 = min(co0 + 1u, last);
    let c2 = min(co0 + 2u, last);
    let c3 = min(co0 + 3u, last);
    let c4 = min(co0 + 4u, last);
    let c5 = min(co0 + 5u, last);
    let c6 = min(co0 + 6u, last);
    let c7 = min(co0 + 7u, last);
    let ntaps = p.kh * p.kw;
    // Taps past the kernel read row -h (outside the input), so they contribute zero.
    let ty0 = select(-i32(p.h), i32((0u / p.kw) * p.dh) - i32(p.pad_top), 0u < ntaps);
    let tx0 = i32((0u % p.kw) * p.dw) - i32(p.pad_left);
    var lo0 = vec4<f32>(0.0);
    var hi0 = vec4<f32>(0.0);
    let ty1 = select(-i32(p.h), i32((1u / p.kw) * p.dh) - i32(p.pad_top), 1u < ntaps);
    let tx1 = i32((1u % p.kw) * p.dw) - i32(p.pad_left);
    var lo1 = vec4<f32>(0.0);
    var hi1 = vec4<f32>(0.0);
    let ty2 = select(-i32(p.h), i32((2u / p.kw) * p.dh) - i32(p.pad_top), 2u < ntaps);
    let tx2 = i32((2u % p.kw) * p.dw) - i32(p.pad_left);
    var lo2 = vec4<f32>(0.0);
    var hi2 = vec4<f32>(0.0);
    let ty3 = select(-i32(p.h), i32((3u / p.kw) * p.dh) - i32(p.pad_top), 3u < ntaps);
    let tx3 = i32((3u % p.kw) * p.dw) - i32(p.pad_left);
    var lo3 = vec4<f32>(0.0);
    var hi3 = vec4<f32>(0.0);
    let ty4 = select(-i32(p.h), i32((4u / p.kw) * p.dh) - i32(p.pad_top), 4u < ntaps);
    let tx4 = i32((4u % p.kw) * p.dw) - i32(p.pad_left);
    var lo4 = vec4<f32>(0.0);
    var hi4 = vec4<f32>(0.0);
    let ty5 = select(-i32(p.h), i32((5u / p.kw) * p.dh) - i32(p.pad_top), 5u < ntaps);
    let tx5 = i32((5u % p.kw) * p.dw) - i32(p.pad_left);
    var lo5 = vec4<f32>(0.0);
    var hi5 = vec4<f32>(0.0);
    let ty6 = select(-i32(p.h), i32((6u / p.kw) * p.dh) - i32(p.pad_top), 6u < ntaps);
    let tx6 = i32((6u % p.kw) * p.dw) - i32(p.pad_left);
    var lo6 = vec4<f32>(0.0);
    var hi6 = vec4<f32>(0.0);
    let ty7 = select(-i32(p.h), i32((7u / p.kw) * p.dh) - i32(p.pad_top), 7u < ntaps);
    let tx7 = i32((7u % p.kw) * p.dw) - i32(p.pad_left);
    var lo7 = vec4<f32>(0.0);
    var hi7 = vec4<f32>(0.0);
    let ty8 = select(-i32(p.h), i32((8u / p.kw) * p.dh) - i32(p.pad_top), 8u < ntaps);
    let tx8 = i32((8u % p.kw) * p.dw) - i32(p.pad_left);
    var lo8 = vec4<f32>(0.0);
    var hi8 = vec4<f32>(0.0);
    var dlo = vec4<f32>(0.0);
    var dhi = vec4<f32>(0.0);
    let r1 = rows;
    // A constant, not a branch on p: SwiftShader's compiler took 114 s over the kernel with both
    // loops, 16 s with one.
    if TAPS_SLIDE {
        for (var r = lid.x; r < r1; r += TAPS_WG) {
            let b = r / p.oh;
            let oy = r % p.oh;
            let xb = b * p.h;
            let y0 = i32(oy * p.sh);
            var w01 = tapx(xb, y0 + ty0, tx0, ci);
            var w02 = tapx(xb, y0 + ty0, tx1, ci);
            var w11 = tapx(xb, y0 + ty3, tx0, ci);
            var w12 = tapx(xb, y0 + ty3, tx1, ci);
            var w21 = tapx(xb, y0 + ty6, tx0, ci);
            var w22 = tapx(xb, y0 + ty6, tx1, ci);
            for (var ox = 0u; ox < p.ow; ox++) {
                let g = (r * p.ow + ox) * p.cout;
                let gv = vec4(gy[g + co0], gy[g + c1], gy[g + c2], gy[g + c3]);
                dlo += gv;
                let w00 = w01;
                w01 = w02;
                w02 = tapx(xb, y0 + ty0, i32(ox) + tx2, ci);
                let w10 = w11;
                w11 = w12;
                w12 = tapx(xb, y0 + ty3, i32(ox) + tx2, ci);
                let w20 = w21;
                w21 = w22;
                w22 = tapx(xb, y0 + ty6, i32(ox) + tx2, ci);
                lo0 = fma(vec4(w00), gv, lo0);
                lo1 = fma(vec4(w01), gv, lo1);
                lo2 = fma(vec4(w02), gv, lo2);
                lo3 = fma(vec4(w10), gv, lo3);
                lo4 = fma(vec4(w11), gv, lo4);
                lo5 = fma(vec4(w12), gv, lo5);
                lo6 = fma(vec4(w20), gv, lo6);
                lo7 = fma(vec4(w21), gv, lo7);
                lo8 = fma(vec4(w22), gv, lo8);
                if TAPS_CO == 8u {
                    let gw = vec4(gy[g + c4], gy[g + c5], gy[g + c6], gy[g + c7]);
                    dhi += gw;
                    hi0 = fma(vec4(w00), gw, hi0);
                    hi1 = fma(vec4(w01), gw, hi1);
                    hi2 = fma(vec4(w02), gw, hi2);
                    hi3 = fma(vec4(w10), gw, hi3);
                    hi4 = fma(vec4(w11), gw, hi4);
                    hi5 = fma(vec4(w12), gw, hi5);
                    hi6 = fma(vec4(w20), gw, hi6);
                    hi7 = fma(vec4(w21), gw, hi7);
                    hi8 = fma(vec4(w22), gw, hi8);
                }
            }
        }
    } else {
        for (var r = lid.x; r < r1; r += TAPS_WG) {
            let b = r / p.oh;
            let oy = r % p.oh;
            let xb = b * p.h;
            for (var ox = 0u; ox < p.ow; ox++) {
                let g = (r * p.ow + ox) * p.cout;
                let gv = vec4(gy[g + co0], gy[g + c1], gy[g + c2], gy[g + c3]);
                let y0 = i32(oy * p.sh);
                let x0 = i32(ox * p.sw);
                dlo += gv;
                let v0 = tapx(xb, y0 + ty0, x0 + tx0, ci);
                lo0 = fma(vec4(v0), gv, lo0);
                let v1 = tapx(xb, y0 + ty1, x0 + tx1, ci);
                lo1 = fma(vec4(v1), gv, lo1);
                let v2 = tapx(xb, y0 + ty2, x0 + tx2, ci);
                lo2 = fma(vec4(v2), gv, lo2);
                let v3 = tapx(xb, y0 + ty3, x0 + tx3, ci);
                lo3 = fma(vec4(v3), gv, lo3);
                let v4 = tapx(xb, y0 + ty4, x0 + tx4, ci);
                lo4 = fma(vec4(v4), gv, lo4);
                let v5 = tapx(xb, y0 + ty5, x0 + tx5, ci);
                lo5 = fma(vec4(v5), gv, lo5);
                let v6 = tapx(xb, y0 + ty6, x0 + tx6, ci);
                lo6 = fma(vec4(v6), gv, lo6);
                let v7 = tapx(xb, y0 + ty7, x0 + tx7, ci);
                lo7 = fma(vec4(v7), gv, lo7);
                let v8 = tapx(xb, y0 + ty8, x0 + tx8, ci);
                lo8 = fma(vec4(v8), gv, lo8);
                if TAPS_CO == 8u {
                    let gw = vec4(gy[g + c4], gy[g + c5], gy[g + c6], gy[g + c7]);
                    dhi += gw;
                    hi0 = fma(vec4(v0), gw, hi0);
                    hi1 = fma(vec4(v1), gw, hi1);
                    hi2 = fma(vec4(v2), gw, hi2);
                    hi3 = fma(vec4(v3), gw, hi3);
                    hi4 = fma(vec4(v4), gw, hi4);
                    hi5 = fma(vec4(v5), gw, hi5);
                    hi6 = fma(vec4(v6), gw, hi6);
                    hi7 = fma(vec4(v7), gw, hi7);
                    hi8 = fma(vec4(v8), gw, hi8);
                }
            }
        }
    }
    taps_sum[0u * 64u + lid.x] = lo0;
    taps_sum[1u * 64u + lid.x] = lo1;
    taps_sum[2u * 64u + lid.x] = lo2;
    taps_sum[3u * 64u + lid.x] = lo3;
    taps_sum[4u * 64u + lid.x] = lo4;
    taps_sum[5u * 64u + lid.x] = lo5;
    taps_sum[6u * 64u + lid.x] = lo6;
    taps_sum[7u * 64u + lid.x] = lo7;
    taps_sum[8u * 64u + lid.x] = lo8;
    taps_sum[9u * 64u + lid.x] = dlo;
    workgroupBarrier();
    taps_finish(lid.x, ci, co0, ntaps);
    if TAPS_CO == 8u {
        workgroupBarrier();
        taps_sum[0u * 64u + lid.x] = hi0;
        taps_sum[1u * 64u + lid.x] = hi1;
        taps_sum[2u * 64u + lid.x] = hi2;
        taps_sum[3u * 64u + lid.x] = hi3;
        taps_sum[4u * 64u + lid.x] = hi4;
        taps_sum[5u * 64u + lid.x] = hi5;
        taps_sum[6u * 64u + lid.x] = hi6;
        taps_sum[7u * 64u + lid.x] = hi7;
        taps_sum[8u * 64u + lid.x] = hi8;
        taps_sum[9u * 64u + lid.x] = dhi;
        workgroupBarrier();
        taps_finish(lid.x, ci, co0 + 4u, ntaps);
    }
}

// conv2d_filter_grad_taps_wg for cout % 4 == 0: two vec4 loads of the upstream gradient per
// pixel instead of 8 (CPU adapters pay per load).
@compute @workgroup_size(TAPS_WG)
fn conv2d_filter_grad_taps_wg4(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let ncb = (p.cout + TAPS_CO - 1u) / TAPS_CO;
    let blocks = p.cin * ncb;
    let rows = p.n * p.oh;
    let blk = wid.x + wid.y * nwg.x;
    if blk >= blocks { return; }
    let co0 = (blk % ncb) * TAPS_CO;
    let ci = blk / ncb;
    let c4 = min(co0 + 4u, p.cout - 4u);
    let ntaps = p.kh * p.kw;
    // Taps past the kernel read row -h (outside the input), so they contribute zero.
    let ty0 = select(-i32(p.h), i32((0u / p.kw) * p.dh) - i32(p.pad_top), 0u < ntaps);
    let tx0 = i32((0u % p.kw) * p.dw) - i32(p.pad_left);
    var lo0 = vec4<f32>(0.0);
    var hi0 = vec4<f32>(0.0);
    let ty1 = select(-i32(p.h), i32((1u / p.kw) * p.dh) - i32(p.pad_top), 1u < ntaps);
    let tx1 = i32((1u % p.kw) * p.dw) - i32(p.pad_left);
    var lo1 = vec4<f32>(0.0);
    var hi1 = vec4<f32>(0.0);
    let ty2 = select(-i32(p.h), i32((2u / p.kw) * p.dh) - i32(p.pad_top), 2u < ntaps);
    let tx2 = i32((2u % p.kw) * p.dw) - i32(p.pad_left);
    var lo2 = vec4<f32>(0.0);
    var hi2 = vec4<f32>(0.0);
    let ty3 = select(-i32(p.h), i32((3u / p.kw) * p.dh) - i32(p.pad_top), 3u < ntaps);
    let tx3 = i32((3u % p.kw) * p.dw) - i32(p.pad_left);
    var lo3 = vec4<f32>(0.0);
    var hi3 = vec4<f32>(0.0);
    let ty4 = select(-i32(p.h), i32((4u / p.kw) * p.dh) - i32(p.pad_top), 4u < ntaps);
    let tx4 = i32((4u % p.kw) * p.dw) - i32(p.pad_left);
    var lo4 = vec4<f32>(0.0);
    var hi4 = vec4<f32>(0.0);
    let ty5 = select(-i32(p.h), i32((5u / p.kw) * p.dh) - i32(p.pad_top), 5u < ntaps);
    let tx5 = i32((5u % p.kw) * p.dw) - i32(p.pad_left);
    var lo5 = vec4<f32>(0.0);
    var hi5 = vec4<f32>(0.0);
    let ty6 = select(-i32(p.h), i32((6u / p.kw) * p.dh) - i32(p.pad_top), 6u < ntaps);
    let tx6 = i32((6u % p.kw) * p.dw) - i32(p.pad_left);
    var lo6 = vec4<f32>(0.0);
    var hi6 = vec4<f32>(0.0);
    let ty7 = select(-i32(p.h), i32((7u / p.kw) * p.dh) - i32(p.pad_top), 7u < ntaps);
    let tx7 = i32((7u % p.kw) * p.dw) - i32(p.pad_left);
    var lo7 = vec4<f32>(0.0);
    var hi7 = vec4<f32>(0.0);
    let ty8 = select(-i32(p.h), i32((8u / p.kw) * p.dh) - i32(p.pad_top), 8u < ntaps);
    let tx8 = i32((8u % p.kw) * p.dw) - i32(p.pad_left);
    var lo8 = vec4<f32>(0.0);
    var hi8 = vec4<f32>(0.0);
    var dlo = vec4<f32>(0.0);
    var dhi = vec4<f32>(0.0);
    let r1 = rows;
    // A constant, not a branch on p: SwiftShader's compiler took 114 s over the kernel with both
    // loops, 16 s with one.
    if TAPS_SLIDE {
        for (var r = lid.x; r < r1; r += TAPS_WG) {
            let b = r / p.oh;
            let oy = r % p.oh;
            let xb = b * p.h;
            let y0 = i32(oy * p.sh);
            var w01 = tapx(xb, y0 + ty0, tx0, ci);
            var w02 = tapx(xb, y0 + ty0, tx1, ci);
            var w11 = tapx(xb, y0 + ty3, tx0, ci);
            var w12 = tapx(xb, y0 + ty3, tx1, ci);
            var w21 = tapx(xb, y0 + ty6, tx0, ci);
            var w22 = tapx(xb, y0 + ty6, tx1, ci);
            for (var ox = 0u; ox < p.ow; ox++) {
                let g = (r * p.ow + ox) * p.cout;
                let gv = gy4[(g + co0) / 4u];
                dlo += gv;
                let w00 = w01;
                w01 = w02;
                w02 = tapx(xb, y0 + ty0, i32(ox) + tx2, ci);
                let w10 = w11;
                w11 = w12;
                w12 = tapx(xb, y0 + ty3, i32(ox) + tx2, ci);
                let w20 = w21;
                w21 = w22;
                w22 = tapx(xb, y0 + ty6, i32(ox) + tx2, ci);
                lo0 = fma(vec4(w00), gv, lo0);
                lo1 = fma(vec4(w01), gv, lo1);
                lo2 = fma(vec4(w02), gv, lo2);
                lo3 = fma(vec4(w10), gv, lo3);
                lo4 = fma(vec4(w11), gv, lo4);
                lo5 = fma(vec4(w12), gv, lo5);
                lo6 = fma(vec4(w20), gv, lo6);
                lo7 = fma(vec4(w21), gv, lo7);
                lo8 = fma(vec4(w22), gv, lo8);
                if TAPS_CO == 8u {
                    let gw = gy4[(g + c4) / 4u];
                    dhi += gw;
                    hi0 = fma(vec4(w00), gw, hi0);
                    hi1 = fma(vec4(w01), gw, hi1);
                    hi2 = fma(vec4(w02), gw, hi2);
                    hi3 = fma(vec4(w10), gw, hi3);
                    hi4 = fma(vec4(w11), gw, hi4);
                    hi5 = fma(vec4(w12), gw, hi5);
                    hi6 = fma(vec4(w20), gw, hi6);
                    hi7 = fma(vec4(w21), gw, hi7);
                    hi8 = fma(vec4(w22), gw, hi8);
                }
            }
        }
    } else {
        for (var r = lid.x; r < r1; r += TAPS_WG) {
            let b = r / p.oh;
            let oy = r % p.oh;
            let xb = b * p.h;
            for (var ox = 0u; ox < p.ow; ox++) {
                let g = (r * p.ow + ox) * p.cout;
                let gv = gy4[(g + co0) / 4u];
                let y0 = i32(oy * p.sh);
                let x0 = i32(ox * p.sw);
                dlo += gv;
                let v0 = tapx(xb, y0 + ty0, x0 + tx0, ci);
                lo0 = fma(vec4(v0), gv, lo0);
                let v1 = tapx(xb, y0 + ty1, x0 + tx1, ci);
                lo1 = fma(vec4(v1), gv, lo1);
                let v2 = tapx(xb, y0 + ty2, x0 + tx2, ci);
                lo2 = fma(vec4(v2), gv, lo2);
                let v3 = tapx(xb, y0 + ty3, x0 + tx3, ci);
                lo3 = fma(vec4(v3), gv, lo3);
                let v4 = tapx(xb, y0 + ty4, x0 + tx4, ci);
                lo4 = fma(vec4(v4), gv, lo4);
                let v5 = tapx(xb, y0 + ty5, x0 + tx5, ci);
                lo5 = fma(vec4(v5), gv, lo5);
                let v6 = tapx(xb, y0 + ty6, x0 + tx6, ci);
                lo6 = fma(vec4(v6), gv, lo6);
                let v7 = tapx(xb, y0 + ty7, x0 + tx7, ci);
                lo7 = fma(vec4(v7), gv, lo7);
                let v8 = tapx(xb, y0 + ty8, x0 + tx8, ci);
                lo8 = fma(vec4(v8), gv, lo8);
                if TAPS_CO == 8u {
                    let gw = gy4[(g + c4) / 4u];
                    dhi += gw;
                    hi0 = fma(vec4(v0), gw, hi0);
                    hi1 = fma(vec4(v1), gw, hi1);
                    hi2 = fma(vec4(v2), gw, hi2);
                    hi3 = fma(vec4(v3), gw, hi3);
                    hi4 = fma(vec4(v4), gw, hi4);
                    hi5 = fma(vec4(v5), gw, hi5);
                    hi6 = fma(vec4(v6), gw, hi6);
                    hi7 = fma(vec4(v7), gw, hi7);
                    hi8 = fma(vec4(v8), gw, hi8);
                }
            }
        }
    }
    taps_sum[0u * 64u + lid.x] = lo0;
    taps_sum[1u * 64u + lid.x] = lo1;
    taps_sum[2u * 64u + lid.x] = lo2;
    taps_sum[3u * 64u + lid.x] = lo3;
    taps_sum[4u * 64u + lid.x] = lo4;
    taps_sum[5u * 64u + lid.x] = lo5;
    taps_sum[6u * 64u + lid.x] = lo6;
    taps_sum[7u * 64u + lid.x] = lo7;
    taps_sum[8u * 64u + lid.x] = lo8;
    taps_sum[9u * 64u + lid.x] = dlo;
    workgroupBarrier();
    taps_finish(lid.x, ci, co0, ntaps);
    if TAPS_CO == 8u {
        workgroupBarrier();
        taps_sum[0u * 64u + lid.x] = hi0;
        taps_sum[1u * 64u + lid.x] = hi1;
        taps_sum[2u * 64u + lid.x] = hi2;
        taps_sum[3u * 64u + lid.x] = hi3;
        taps_sum[4u * 64u + lid.x] = hi4;
        taps_sum[5u * 64u + lid.x] = hi5;
        taps_sum[6u * 64u + lid.x] = hi6;
        taps_sum[7u * 64u + lid.x] = hi7;
        taps_sum[8u * 64u + lid.x] = hi8;
        taps_sum[9u * 64u + lid.x] = dhi;
        workgroupBarrier();
        taps_finish(lid.x, ci, co0 + 4u, ntaps);
    }
}

// conv2d_filter_grad_taps_wg for cout % 2 == 0: four vec2 loads of the upstream gradient per
// pixel instead of 8 (a texel fetch each where it is read from texels).
@compute @workgroup_size(TAPS_WG)
fn conv2d_filter_grad_taps_wg2(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let ncb = (p.cout + TAPS_CO - 1u) / TAPS_CO;
    let blocks = p.cin * ncb;
    let rows = p.n * p.oh;
    let blk = wid.x + wid.y * nwg.x;
    if blk >= blocks { return; }
    let co0 = (blk % ncb) * TAPS_CO;
    let ci = blk / ncb;
    let c2 = min(co0 + 2u, p.cout - 2u);
    let c4 = min(co0 + 4u, p.cout - 2u);
    let c6 = min(co0 + 6u, p.cout - 2u);
    let ntaps = p.kh * p.kw;
    // Taps past the kernel read row -h (outside the input), so they contribute zero.
    let ty0 = select(-i32(p.h), i32((0u / p.kw) * p.dh) - i32(p.pad_top), 0u < ntaps);
    let tx0 = i32((0u % p.kw) * p.dw) - i32(p.pad_left);
    var lo0 = vec4<f32>(0.0);
    var hi0 = vec4<f32>(0.0);
    let ty1 = select(-i32(p.h), i32((1u / p.kw) * p.dh) - i32(p.pad_top), 1u < ntaps);
    let tx1 = i32((1u % p.kw) * p.dw) - i32(p.pad_left);
    var lo1 = vec4<f32>(0.0);
    var hi1 = vec4<f32>(0.0);
    let ty2 = select(-i32(p.h), i32((2u / p.kw) * p.dh) - i32(p.pad_top), 2u < ntaps);
    let tx2 = i32((2u % p.kw) * p.dw) - i32(p.pad_left);
    var lo2 = vec4<f32>(0.0);
    var hi2 = vec4<f32>(0.0);
    let ty3 = select(-i32(p.h), i32((3u / p.kw) * p.dh) - i32(p.pad_top), 3u < ntaps);
    let tx3 = i32((3u % p.kw) * p.dw) - i32(p.pad_left);
    var lo3 = vec4<f32>(0.0);
    var hi3 = vec4<f32>(0.0);
    let ty4 = select(-i32(p.h), i32((4u / p.kw) * p.dh) - i32(p.pad_top), 4u < ntaps);
    let tx4 = i32((4u % p.kw) * p.dw) - i32(p.pad_left);
    var lo4 = vec4<f32>(0.0);
    var hi4 = vec4<f32>(0.0);
    let ty5 = select(-i32(p.h), i32((5u / p.kw) * p.dh) - i32(p.pad_top), 5u < ntaps);
    let tx5 = i32((5u % p.kw) * p.dw) - i32(p.pad_left);
    var lo5 = vec4<f32>(0.0);
    var hi5 = vec4<f32>(0.0);
    let ty6 = select(-i32(p.h), i32((6u / p.kw) * p.dh) - i32(p.pad_top), 6u < ntaps);
    let tx6 = i32((6u % p.kw) * p.dw) - i32(p.pad_left);
    var lo6 = vec4<f32>(0.0);
    var hi6 = vec4<f32>(0.0);
    let ty7 = select(-i32(p.h), i32((7u / p.kw) * p.dh) - i32(p.pad_top), 7u < ntaps);
    let tx7 = i32((7u % p.kw) * p.dw) - i32(p.pad_left);
    var lo7 = vec4<f32>(0.0);
    var hi7 = vec4<f32>(0.0);
    let ty8 = select(-i32(p.h), i32((8u / p.kw) * p.dh) - i32(p.pad_top), 8u < ntaps);
    let tx8 = i32((8u % p.kw) * p.dw) - i32(p.pad_left);
    var lo8 = vec4<f32>(0.0);
    var hi8 = vec4<f32>(0.0);
    var dlo = vec4<f32>(0.0);
    var dhi = vec4<f32>(0.0);
    let r1 = rows;
    // A constant, not a branch on p: SwiftShader's compiler took 114 s over the kernel with both
    // loops, 16 s with one.
    if TAPS_SLIDE {
        for (var r = lid.x; r < r1; r += TAPS_WG) {
            let b = r / p.oh;
            let oy = r % p.oh;
            let xb = b * p.h;
            let y0 = i32(oy * p.sh);
            var w01 = tapx(xb, y0 + ty0, tx0, ci);
            var w02 = tapx(xb, y0 + ty0, tx1, ci);
            var w11 = tapx(xb, y0 + ty3, tx0, ci);
            var w12 = tapx(xb, y0 + ty3, tx1, ci);
            var w21 = tapx(xb, y0 + ty6, tx0, ci);
            var w22 = tapx(xb, y0 + ty6, tx1, ci);
            for (var ox = 0u; ox < p.ow; ox++) {
                let g = (r * p.ow + ox) * p.cout;
                let gv = vec4(gy2[(g + co0) / 2u], gy2[(g + c2) / 2u]);
                dlo += gv;
                let w00 = w01;
                w01 = w02;
                w02 = tapx(xb, y0 + ty0, i32(ox) + tx2, ci);
                let w10 = w11;
                w11 = w12;
                w12 = tapx(xb, y0 + ty3, i32(ox) + tx2, ci);
                let w20 = w21;
                w21 = w22;
                w22 = tapx(xb, y0 + ty6, i32(ox) + tx2, ci);
                lo0 = fma(vec4(w00), gv, lo0);
                lo1 = fma(vec4(w01), gv, lo1);
                lo2 = fma(vec4(w02), gv, lo2);
                lo3 = fma(vec4(w10), gv, lo3);
                lo4 = fma(vec4(w11), gv, lo4);
                lo5 = fma(vec4(w12), gv, lo5);
                lo6 = fma(vec4(w20), gv, lo6);
                lo7 = fma(vec4(w21), gv, lo7);
                lo8 = fma(vec4(w22), gv, lo8);
                if TAPS_CO == 8u {
                    let gw = vec4(gy2[(g + c4) / 2u], gy2[(g + c6) / 2u]);
                    dhi += gw;
                    hi0 = fma(vec4(w00), gw, hi0);
                    hi1 = fma(vec4(w01), gw, hi1);
                    hi2 = fma(vec4(w02), gw, hi2);
                    hi3 = fma(vec4(w10), gw, hi3);
                    hi4 = fma(vec4(w11), gw, hi4);
                    hi5 = fma(vec4(w12), gw, hi5);
                    hi6 = fma(vec4(w20), gw, hi6);
                    hi7 = fma(vec4(w21), gw, hi7);
                    hi8 = fma(vec4(w22), gw, hi8);
                }
            }
        }
    } else {
        for (var r = lid.x; r < r1; r += TAPS_WG) {
            let b = r / p.oh;
            let oy = r % p.oh;
            let xb = b * p.h;
            for (var ox = 0u; ox < p.ow; ox++) {
                let g = (r * p.ow + ox) * p.cout;
                let gv = vec4(gy2[(g + co0) / 2u], gy2[(g + c2) / 2u]);
                let y0 = i32(oy * p.sh);
                let x0 = i32(ox * p.sw);
                dlo += gv;
                let v0 = tapx(xb, y0 + ty0, x0 + tx0, ci);
                lo0 = fma(vec4(v0), gv, lo0);
                let v1 = tapx(xb, y0 + ty1, x0 + tx1, ci);
                lo1 = fma(vec4(v1), gv, lo1);
                let v2 = tapx(xb, y0 + ty2, x0 + tx2, ci);
                lo2 = fma(vec4(v2), gv, lo2);
                let v3 = tapx(xb, y0 + ty3, x0 + tx3, ci);
                lo3 = fma(vec4(v3), gv, lo3);
                let v4 = tapx(xb, y0 + ty4, x0 + tx4, ci);
                lo4 = fma(vec4(v4), gv, lo4);
                let v5 = tapx(xb, y0 + ty5, x0 + tx5, ci);
                lo5 = fma(vec4(v5), gv, lo5);
                let v6 = tapx(xb, y0 + ty6, x0 + tx6, ci);
                lo6 = fma(vec4(v6), gv, lo6);
                let v7 = tapx(xb, y0 + ty7, x0 + tx7, ci);
                lo7 = fma(vec4(v7), gv, lo7);
                let v8 = tapx(xb, y0 + ty8, x0 + tx8, ci);
                lo8 = fma(vec4(v8), gv, lo8);
                if TAPS_CO == 8u {
                    let gw = vec4(gy2[(g + c4) / 2u], gy2[(g + c6) / 2u]);
                    dhi += gw;
                    hi0 = fma(vec4(v0), gw, hi0);
                    hi1 = fma(vec4(v1), gw, hi1);
                    hi2 = fma(vec4(v2), gw, hi2);
                    hi3 = fma(vec4(v3), gw, hi3);
                    hi4 = fma(vec4(v4), gw, hi4);
                    hi5 = fma(vec4(v5), gw, hi5);
                    hi6 = fma(vec4(v6), gw, hi6);
                    hi7 = fma(vec4(v7), gw, hi7);
                    hi8 = fma(vec4(v8), gw, hi8);
                }
            }
        }
    }
    taps_sum[0u * 64u + lid.x] = lo0;
    taps_sum[1u * 64u + lid.x] = lo1;
    taps_sum[2u * 64u + lid.x] = lo2;
    taps_sum[3u * 64u + lid.x] = lo3;
    taps_sum[4u * 64u + lid.x] = lo4;
    taps_sum[5u * 64u + lid.x] = lo5;
    taps_sum[6u * 64u + lid.x] = lo6;
    taps_sum[7u * 64u + lid.x] = lo7;
    taps_sum[8u * 64u + lid.x] = lo8;
    taps_sum[9u * 64u + lid.x] = dlo;
    workgroupBarrier();
    taps_finish(lid.x, ci, co0, ntaps);
    if TAPS_CO == 8u {
        workgroupBarrier();
        taps_sum[0u * 64u + lid.x] = hi0;
        taps_sum[1u * 64u + lid.x] = hi1;
        taps_sum[2u * 64u + lid.x] = hi2;
        taps_sum[3u * 64u + lid.x] = hi3;
        taps_sum[4u * 64u + lid.x] = hi4;
        taps_sum[5u * 64u + lid.x] = hi5;
        taps_sum[6u * 64u + lid.x] = hi6;
        taps_sum[7u * 64u + lid.x] = hi7;
        taps_sum[8u * 64u + lid.x] = hi8;
        taps_sum[9u * 64u + lid.x] = dhi;
        workgroupBarrier();
        taps_finish(lid.x, ci, co0 + 4u, ntaps);
    }
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
