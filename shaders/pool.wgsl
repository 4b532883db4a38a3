// Pooling family (tf.nn.max_pool2d / avg_pool2d on NHWC input). The window is clipped to the
// real input, so padded cells never take part: max pooling behaves as padding with -inf, and
// average pooling divides by the number of real cells (TensorFlow's SAME behaviour; VALID
// windows are never clipped, so they divide by kh * kw). Launchers make sure every window
// holds at least one real cell (padding < window size).
//   pool   one output per invocation (any channel count);
//   pool4  four channels per invocation with vec4 loads (c % 4 == 0);
//   pool2  two channels per invocation with vec2 loads (c % 2 == 0: LeNet's 6 channels).
// MODE: 0 = max, 1 = average. `act` fuses an activation (common.wgsl's codes: 0 none, 1 ReLU,
// 2 sigmoid, 3 tanh) applied to the pooled value, e.g. Keras's MaxPool2D followed by ReLU; the
// backward kernels then mask the upstream gradient by the saved output (`activation_grad`) before
// routing it, so the pair costs one dispatch each way.

// -3.4028235e38, the lowest finite f32 (-FLT_MAX).
const LOWEST_F32: f32 = -0x1.fffffep+127f;

override MODE: u32 = 0u;
// The fused activation (common.wgsl's codes), fixed at pipeline creation (`p.act` holds the
// same code): a switch on a uniform would run every case on CPU adapters.
override ACT: u32 = 0u;

// Every window is a full 2x2 (kh = kw = 2, none clipped by the input's edges), fixed at
// pipeline creation: the window loops then run as straight-line code, which CPU adapters run
// without masking each step (LeNet's pooling).
override FULL2: bool = false;

// Every tile of the tiled max backward is exactly its full 2x2 window (FULL2, strides 2, the
// input 2 oh x 2 ow), fixed at pipeline creation: the 4 cells are written as straight-line code
// (SwiftShader pays for each loop iteration; LeNet's first pooling).
override TILE2: bool = false;

// The 4 cells of a full 2x2 window, row-major (the window loops' order).
fn cells2x2(win: Win) -> vec4<u32> {
    let r0 = (win.b * p.h + win.y0) * p.w + win.x0;
    return vec4(r0, r0 + 1u, r0 + p.w, r0 + p.w + 1u);
}

// One window cell `v` into the pooled value `acc` (MODE: max skipping NaN, or the sum), for
// 1, 2 and 4 channels.
fn take1(acc: f32, v: f32) -> f32 {
    if MODE == 0u { return select(acc, v, v > acc); }
    return acc + v;
}

fn take2(acc: vec2<f32>, v: vec2<f32>) -> vec2<f32> {
    if MODE == 0u { return select(acc, v, v > acc); }
    return acc + v;
}

fn take4(acc: vec4<f32>, v: vec4<f32>) -> vec4<f32> {
    if MODE == 0u { return select(acc, v, v > acc); }
    return acc + v;
}

// One window cell `v` (at `cell`) into the running first maximum: strict `>`, so ties keep
// the earliest cell (TensorFlow's rule) and NaN never wins; for 1, 2 and 4 channels.
fn argmax_step(best: ptr<function, f32>, at: ptr<function, u32>, v: f32, cell: u32) {
    let gt = v > *best;
    *best = select(*best, v, gt);
    *at = select(*at, cell, gt);
}

fn argmax_step2(best: ptr<function, vec2<f32>>, at: ptr<function, vec2<u32>>, v: vec2<f32>, cell: u32) {
    let gt = v > *best;
    *best = select(*best, v, gt);
    *at = select(*at, vec2(cell), gt);
}

fn argmax_step4(best: ptr<function, vec4<f32>>, at: ptr<function, vec4<u32>>, v: vec4<f32>, cell: u32) {
    let gt = v > *best;
    *best = select(*best, v, gt);
    *at = select(*at, vec4(cell), gt);
}

struct Params {
    n: u32, h: u32, w: u32, c: u32,
    oh: u32, ow: u32, kh: u32, kw: u32,
    sh: u32, sw: u32, pad_top: u32, pad_left: u32,
    total: u32, act: u32, _p1: u32, _p2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

// Vec4 views of the same bindings, used by pool4.
@group(0) @binding(1) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> out4: array<vec4<f32>>;

// Vec2 views, used by pool2.
@group(0) @binding(1) var<storage, read> x2: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read_write> out2: array<vec2<f32>>;

// The window of output pixel `pix` clipped to the input: (batch, y0, y1, x0, x1) as
// [y0, y1) x [x0, x1) rows and columns, plus the batch index.
struct Win { b: u32, y0: u32, y1: u32, x0: u32, x1: u32 }

fn window(pix: u32) -> Win {
    let ox = pix % p.ow;
    let t = pix / p.ow;
    let oy = t % p.oh;
    let b = t / p.oh;
    let ys = i32(oy * p.sh) - i32(p.pad_top);
    let xs = i32(ox * p.sw) - i32(p.pad_left);
    let y0 = u32(max(ys, 0));
    let x0 = u32(max(xs, 0));
    let y1 = u32(min(ys + i32(p.kh), i32(p.h)));
    let x1 = u32(min(xs + i32(p.kw), i32(p.w)));
    return Win(b, y0, y1, x0, x1);
}

// The fused activation of a pooled value, and of four.
fn activate(v: f32) -> f32 {
    return apply_activation(v, ACT);
}

fn activate4(v: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(activate(v.x), activate(v.y), activate(v.z), activate(v.w));
}

fn activate2(v: vec2<f32>) -> vec2<f32> {
    return vec2<f32>(activate(v.x), activate(v.y));
}

// The number of real (non-padding) input cells in a window: average pooling's divisor.
fn cells(win: Win) -> f32 {
    return f32((win.y1 - win.y0) * (win.x1 - win.x0));
}

@compute @workgroup_size(64)
fn pool(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = gid.x + gid.y * nwg.x * 64u;
    if id >= p.total { return; }
    let ch = id % p.c;
    let win = window(id / p.c);
    // Max pooling starts from the lowest f32 and only a strictly larger value wins, so NaN is
    // skipped and an all-NaN or all -inf window gives the lowest f32, as TensorFlow's MaxPool.
    // (Written as bits: the literal -3.4028235e38 is past f32's range for strict WGSL compilers
    // such as Chromium's, which reject it.)
    var acc = LOWEST_F32;
    if MODE == 1u { acc = 0.0; }
    if FULL2 {
        let q = cells2x2(win);
        acc = take1(take1(take1(take1(acc, x[q.x * p.c + ch]), x[q.y * p.c + ch]), x[q.z * p.c + ch]), x[q.w * p.c + ch]);
    }
    for (var y = win.y0; !FULL2 && y < win.y1; y++) {
        let row = (win.b * p.h + y) * p.w;
        for (var xx = win.x0; xx < win.x1; xx++) {
            acc = take1(acc, x[(row + xx) * p.c + ch]);
        }
    }
    if MODE == 1u { acc = acc / cells(win); }
    out[id] = activate(acc);
}

@compute @workgroup_size(64)
fn pool4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = gid.x + gid.y * nwg.x * 64u;
    if id >= p.total { return; }
    let c4 = p.c / 4u;
    let ch = id % c4;
    let win = window(id / c4);
    var acc = vec4(LOWEST_F32);
    if MODE == 1u { acc = vec4(0.0); }
    if FULL2 {
        let q = cells2x2(win);
        acc = take4(take4(take4(take4(acc, x4[q.x * c4 + ch]), x4[q.y * c4 + ch]), x4[q.z * c4 + ch]), x4[q.w * c4 + ch]);
    }
    for (var y = win.y0; !FULL2 && y < win.y1; y++) {
        let row = (win.b * p.h + y) * p.w;
        for (var xx = win.x0; xx < win.x1; xx++) {
            acc = take4(acc, x4[(row + xx) * c4 + ch]);
        }
    }
    if MODE == 1u { acc = acc / cells(win); }
    out4[id] = activate4(acc);
}

@compute @workgroup_size(64)
fn pool2(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = gid.x + gid.y * nwg.x * 64u;
    if id >= p.total { return; }
    let c2 = p.c / 2u;
    let ch = id % c2;
    let win = window(id / c2);
    var acc = vec2(LOWEST_F32);
    if MODE == 1u { acc = vec2(0.0); }
    if FULL2 {
        let q = cells2x2(win);
        acc = take2(take2(take2(take2(acc, x2[q.x * c2 + ch]), x2[q.y * c2 + ch]), x2[q.z * c2 + ch]), x2[q.w * c2 + ch]);
    }
    for (var y = win.y0; !FULL2 && y < win.y1; y++) {
        let row = (win.b * p.h + y) * p.w;
        for (var xx = win.x0; xx < win.x1; xx++) {
            acc = take2(acc, x2[(row + xx) * c2 + ch]);
        }
    }
    if MODE == 1u { acc = acc / cells(win); }
    out2[id] = activate2(acc);
}

// ---- Backward (gathers: one input element per invocation, no atomics) ----
// Each input cell visits the output windows that contain it: rows oy in
// [ceil((y + pad_top + 1 - kh) / sh), (y + pad_top) / sh] and likewise for columns.
//   avg_pool_grad / avg_pool_grad4: dx = Σ dy[o] / count(o); `x` holds dy, `out` dx.
//   max_pool_grad / max_pool_grad4: recomputes each window's first maximum (row-major, strict
//   `>` so ties keep the earliest cell, TensorFlow's rule) and adds dy[o] where it is this cell.
// Params: n, h, w, c, oh, ow, ... describe the forward; `total` counts dx invocations.
// With a fused activation (`act` != 0) the upstream gradient of output o is first masked by
// the saved output: activation_grad(y[o], dy[o], act). The saved output is bound after the other buffers
// (a 4-element placeholder when `act` is 0): `ym` for max pooling (x, gy, gx, ym), `ya` for
// average pooling (dy in `x`, dx in `out`, ya).

@group(0) @binding(2) var<storage, read> gy: array<f32>;
@group(0) @binding(3) var<storage, read_write> gx: array<f32>;
@group(0) @binding(2) var<storage, read> gy4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> gx4: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> ym: array<f32>;
@group(0) @binding(4) var<storage, read> ym4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> ya: array<f32>;
@group(0) @binding(3) var<storage, read> ya4: array<vec4<f32>>;

@group(0) @binding(2) var<storage, read> gy2: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read_write> gx2: array<vec2<f32>>;
@group(0) @binding(4) var<storage, read> ym2: array<vec2<f32>>;

// Max pooling's upstream gradient at output element `i` (one scalar, vec2 or vec4), masked.
fn max_up(i: u32) -> f32 {
    if ACT == 0u { return gy[i]; }
    return activation_grad(ym[i], gy[i], ACT);
}

fn max_up4(i: u32) -> vec4<f32> {
    if ACT == 0u { return gy4[i]; }
    return activation_grad4(ym4[i], gy4[i], ACT);
}

fn max_up2(i: u32) -> vec2<f32> {
    if ACT == 0u { return gy2[i]; }
    let y = ym2[i];
    let g = gy2[i];
    return vec2(activation_grad(y.x, g.x, ACT), activation_grad(y.y, g.y, ACT));
}

// Average pooling's upstream gradient at output element `i` (dy is bound as `x`), masked.
fn avg_up(i: u32) -> f32 {
    if ACT == 0u { return x[i]; }
    return activation_grad(ya[i], x[i], ACT);
}

fn avg_up4(i: u32) -> vec4<f32> {
    if ACT == 0u { return x4[i]; }
    return activation_grad4(ya4[i], x4[i], ACT);
}

// The output rows or columns [lo, hi) whose windows contain input coordinate `i`.
fn covering(i: u32, pad: u32, k: u32, s: u32, n: u32) -> vec2<u32> {
    let a = i + pad + 1u;
    var lo = 0u;
    if a > k { lo = (a - k + s - 1u) / s; }
    let hi = min((i + pad) / s + 1u, n);
    return vec2(lo, hi);
}

// Input cell of the pixel index `pix` over [n, h, w]: (batch, row, column).
fn cell(pix: u32) -> vec3<u32> {
    let xx = pix % p.w;
    let t = pix / p.w;
    return vec3(t / p.h, t % p.h, xx);
}

@compute @workgroup_size(64)
fn avg_pool_grad(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = gid.x + gid.y * nwg.x * 64u;
    if id >= p.total { return; }
    let ch = id % p.c;
    let q = cell(id / p.c);
    let rows = covering(q.y, p.pad_top, p.kh, p.sh, p.oh);
    let cols = covering(q.z, p.pad_left, p.kw, p.sw, p.ow);
    var acc = 0.0;
    for (var oy = rows.x; oy < rows.y; oy++) {
        for (var ox = cols.x; ox < cols.y; ox++) {
            let o = (q.x * p.oh + oy) * p.ow + ox;
            let win = window(o);
            acc += avg_up(o * p.c + ch) / cells(win);
        }
    }
    out[id] = acc;
}

@compute @workgroup_size(64)
fn avg_pool_grad4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = gid.x + gid.y * nwg.x * 64u;
    if id >= p.total { return; }
    let c4 = p.c / 4u;
    let ch = id % c4;
    let q = cell(id / c4);
    let rows = covering(q.y, p.pad_top, p.kh, p.sh, p.oh);
    let cols = covering(q.z, p.pad_left, p.kw, p.sw, p.ow);
    var acc = vec4(0.0);
    for (var oy = rows.x; oy < rows.y; oy++) {
        for (var ox = cols.x; ox < cols.y; ox++) {
            let o = (q.x * p.oh + oy) * p.ow + ox;
            let win = window(o);
            acc += avg_up4(o * c4 + ch) / cells(win);
        }
    }
    out4[id] = acc;
}

// The input cell (b, y, x flattened) holding the first maximum of channel `ch` in a window
// (strict `>`: ties go to the first cell in row-major order, as in TensorFlow).
fn window_argmax(win: Win, ch: u32) -> u32 {
    var at = (win.b * p.h + win.y0) * p.w + win.x0;
    var best = x[at * p.c + ch];
    if FULL2 {
        let q = cells2x2(win);
        argmax_step(&best, &at, x[q.y * p.c + ch], q.y);
        argmax_step(&best, &at, x[q.z * p.c + ch], q.z);
        argmax_step(&best, &at, x[q.w * p.c + ch], q.w);
        return at;
    }
    for (var y = win.y0; y < win.y1; y++) {
        let row = (win.b * p.h + y) * p.w;
        for (var xx = win.x0; xx < win.x1; xx++) {
            argmax_step(&best, &at, x[(row + xx) * p.c + ch], row + xx);
        }
    }
    return at;
}

// `window_argmax` for 4 channels at once (channel block `ch` of `c4`).
fn window_argmax4(win: Win, ch: u32, c4: u32) -> vec4<u32> {
    let first = (win.b * p.h + win.y0) * p.w + win.x0;
    var best = x4[first * c4 + ch];
    var at = vec4(first);
    if FULL2 {
        let q = cells2x2(win);
        argmax_step4(&best, &at, x4[q.y * c4 + ch], q.y);
        argmax_step4(&best, &at, x4[q.z * c4 + ch], q.z);
        argmax_step4(&best, &at, x4[q.w * c4 + ch], q.w);
        return at;
    }
    for (var y = win.y0; y < win.y1; y++) {
        let row = (win.b * p.h + y) * p.w;
        for (var xx = win.x0; xx < win.x1; xx++) {
            argmax_step4(&best, &at, x4[(row + xx) * c4 + ch], row + xx);
        }
    }
    return at;
}

@compute @workgroup_size(64)
fn max_pool_grad(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = gid.x + gid.y * nwg.x * 64u;
    if id >= p.total { return; }
    let ch = id % p.c;
    let pix = id / p.c;
    let q = cell(pix);
    let rows = covering(q.y, p.pad_top, p.kh, p.sh, p.oh);
    let cols = covering(q.z, p.pad_left, p.kw, p.sw, p.ow);
    var acc = 0.0;
    for (var oy = rows.x; oy < rows.y; oy++) {
        for (var ox = cols.x; ox < cols.y; ox++) {
            let o = (q.x * p.oh + oy) * p.ow + ox;
            let win = window(o);
            if window_argmax(win, ch) == pix { acc += max_up(o * p.c + ch); }
        }
    }
    gx[id] = acc;
}

@compute @workgroup_size(64)
fn max_pool_grad4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = gid.x + gid.y * nwg.x * 64u;
    if id >= p.total { return; }
    let c4 = p.c / 4u;
    let ch = id % c4;
    let pix = id / c4;
    let q = cell(pix);
    let rows = covering(q.y, p.pad_top, p.kh, p.sh, p.oh);
    let cols = covering(q.z, p.pad_left, p.kw, p.sw, p.ow);
    var acc = vec4(0.0);
    for (var oy = rows.x; oy < rows.y; oy++) {
        for (var ox = cols.x; ox < cols.y; ox++) {
            let o = (q.x * p.oh + oy) * p.ow + ox;
            let win = window(o);
            acc += select(vec4(0.0), max_up4(o * c4 + ch), window_argmax4(win, ch, c4) == vec4(pix));
        }
    }
    gx4[id] = acc;
}

// Max-pool backward for non-overlapping windows (sh >= kh, sw >= kw), one output pixel per
// invocation: each output owns the input tile from its window's start to the next window's
// start (the first tile stretched to row/column 0, the last to the input's end), so every
// input cell is written exactly once: dy at the window's first maximum, 0 elsewhere.
//   max_pool_grad_tiled / _tiled4 (c % 4 == 0) / _tiled2 (c % 2 == 0); `total` counts outputs here.

// Rows or columns [lo, hi) of output `o`'s tile along an axis of input size n, out size on.
fn tile(o: u32, pad: u32, s: u32, n: u32, on: u32) -> vec2<u32> {
    var lo = 0u;
    if o * s > pad { lo = o * s - pad; }
    var hi = n;
    if o + 1u < on { hi = min((o + 1u) * s - pad, n); }
    return vec2(lo, hi);
}

@compute @workgroup_size(64)
fn max_pool_grad_tiled(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = gid.x + gid.y * nwg.x * 64u;
    if id >= p.total { return; }
    let ch = id % p.c;
    let o = id / p.c;
    let win = window(o);
    let at = window_argmax(win, ch);
    let g = max_up(id);
    if TILE2 {
        let q = cells2x2(win);
        gx[q.x * p.c + ch] = select(0.0, g, q.x == at);
        gx[q.y * p.c + ch] = select(0.0, g, q.y == at);
        gx[q.z * p.c + ch] = select(0.0, g, q.z == at);
        gx[q.w * p.c + ch] = select(0.0, g, q.w == at);
        return;
    }
    let rows = tile((o / p.ow) % p.oh, p.pad_top, p.sh, p.h, p.oh);
    let cols = tile(o % p.ow, p.pad_left, p.sw, p.w, p.ow);
    for (var y = rows.x; y < rows.y; y++) {
        let row = (win.b * p.h + y) * p.w;
        for (var xx = cols.x; xx < cols.y; xx++) {
            gx[(row + xx) * p.c + ch] = select(0.0, g, row + xx == at);
        }
    }
}

// `window_argmax` for 2 channels at once (channel pair `ch` of `c2`).
fn window_argmax2(win: Win, ch: u32, c2: u32) -> vec2<u32> {
    let first = (win.b * p.h + win.y0) * p.w + win.x0;
    var best = x2[first * c2 + ch];
    var at = vec2(first);
    if FULL2 {
        let q = cells2x2(win);
        argmax_step2(&best, &at, x2[q.y * c2 + ch], q.y);
        argmax_step2(&best, &at, x2[q.z * c2 + ch], q.z);
        argmax_step2(&best, &at, x2[q.w * c2 + ch], q.w);
        return at;
    }
    for (var y = win.y0; y < win.y1; y++) {
        let row = (win.b * p.h + y) * p.w;
        for (var xx = win.x0; xx < win.x1; xx++) {
            argmax_step2(&best, &at, x2[(row + xx) * c2 + ch], row + xx);
        }
    }
    return at;
}

@compute @workgroup_size(64)
fn max_pool_grad_tiled2(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = gid.x + gid.y * nwg.x * 64u;
    if id >= p.total { return; }
    let c2 = p.c / 2u;
    let ch = id % c2;
    let o = id / c2;
    let win = window(o);
    let at = window_argmax2(win, ch, c2);
    let g = max_up2(id);
    if TILE2 {
        let q = cells2x2(win);
        gx2[q.x * c2 + ch] = select(vec2(0.0), g, at == vec2(q.x));
        gx2[q.y * c2 + ch] = select(vec2(0.0), g, at == vec2(q.y));
        gx2[q.z * c2 + ch] = select(vec2(0.0), g, at == vec2(q.z));
        gx2[q.w * c2 + ch] = select(vec2(0.0), g, at == vec2(q.w));
        return;
    }
    let rows = tile((o / p.ow) % p.oh, p.pad_top, p.sh, p.h, p.oh);
    let cols = tile(o % p.ow, p.pad_left, p.sw, p.w, p.ow);
    for (var y = rows.x; y < rows.y; y++) {
        let row = (win.b * p.h + y) * p.w;
        for (var xx = cols.x; xx < cols.y; xx++) {
            gx2[(row + xx) * c2 + ch] = select(vec2(0.0), g, at == vec2(row + xx));
        }
    }
}

@compute @workgroup_size(64)
fn max_pool_grad_tiled4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = gid.x + gid.y * nwg.x * 64u;
    if id >= p.total { return; }
    let c4 = p.c / 4u;
    let ch = id % c4;
    let o = id / c4;
    let win = window(o);
    let at = window_argmax4(win, ch, c4);
    let g = max_up4(id);
    if TILE2 {
        let q = cells2x2(win);
        gx4[q.x * c4 + ch] = select(vec4(0.0), g, at == vec4(q.x));
        gx4[q.y * c4 + ch] = select(vec4(0.0), g, at == vec4(q.y));
        gx4[q.z * c4 + ch] = select(vec4(0.0), g, at == vec4(q.z));
        gx4[q.w * c4 + ch] = select(vec4(0.0), g, at == vec4(q.w));
        return;
    }
    let rows = tile((o / p.ow) % p.oh, p.pad_top, p.sh, p.h, p.oh);
    let cols = tile(o % p.ow, p.pad_left, p.sw, p.w, p.ow);
    for (var y = rows.x; y < rows.y; y++) {
        let row = (win.b * p.h + y) * p.w;
        for (var xx = cols.x; xx < cols.y; xx++) {
            gx4[(row + xx) * c4 + ch] = select(vec4(0.0), g, at == vec4(row + xx));
        }
    }
}

// Average-pool backward for non-overlapping windows, tiled like max_pool_grad_tiled: dy / count
// on the window's real cells, 0 on the rest of the tile (`x` holds dy, `out` dx).
@compute @workgroup_size(64)
fn avg_pool_grad_tiled(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = gid.x + gid.y * nwg.x * 64u;
    if id >= p.total { return; }
    let ch = id % p.c;
    let o = id / p.c;
    let win = window(o);
    let g = avg_up(id) / cells(win);
    let rows = tile((o / p.ow) % p.oh, p.pad_top, p.sh, p.h, p.oh);
    let cols = tile(o % p.ow, p.pad_left, p.sw, p.w, p.ow);
    for (var y = rows.x; y < rows.y; y++) {
        let row = (win.b * p.h + y) * p.w;
        let in_y = y >= win.y0 && y < win.y1;
        for (var xx = cols.x; xx < cols.y; xx++) {
            out[(row + xx) * p.c + ch] = select(0.0, g, in_y && xx >= win.x0 && xx < win.x1);
        }
    }
}

@compute @workgroup_size(64)
fn avg_pool_grad_tiled4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = gid.x + gid.y * nwg.x * 64u;
    if id >= p.total { return; }
    let c4 = p.c / 4u;
    let ch = id % c4;
    let o = id / c4;
    let win = window(o);
    let g = avg_up4(id) / cells(win);
    let rows = tile((o / p.ow) % p.oh, p.pad_top, p.sh, p.h, p.oh);
    let cols = tile(o % p.ow, p.pad_left, p.sw, p.w, p.ow);
    for (var y = rows.x; y < rows.y; y++) {
        let row = (win.b * p.h + y) * p.w;
        let in_y = y >= win.y0 && y < win.y1;
        for (var xx = cols.x; xx < cols.y; xx++) {
            out4[(row + xx) * c4 + ch] = select(vec4(0.0), g, in_y && xx >= win.x0 && xx < win.x1);
        }
    }
}

// ---- Cell pairs (c % 4 == 2: LeNet's 6 channels) ----
// A full 2x2 window with column stride 2 over an even-width input starts at an even column, so
// its two cells in a row are 2c contiguous floats starting on a vec4 boundary: V = c / 2 vec4s.
// pool_pairs{V} (the forward) and max_pool_grad_pairs{V} (the max backward, exact 2x2 tiles)
// give one output pixel, all c channels, per invocation and read each window row as its V
// vec4s: 2 loads a row per c / 2 channels instead of the vec2 kernels' 4 loads per 2 channels
// (CPU adapters pay per load, whatever its width; SwiftShader per invocation). Half h of a row
// (floats 2h, 2h + 1) is channel pair h % V of cell h / V; the generated code is straight-line.

// The vec4 index of window `win`'s first row in x4.
fn pair_start(win: Win) -> u32 {
    return ((win.b * p.h + win.y0) * p.w + win.x0) * p.c / 4u;
}

// One channel pair's pooled and activated value from its 4 cells, row-major.
fn pair_pool(c0: vec2<f32>, c1: vec2<f32>, c2: vec2<f32>, c3: vec2<f32>) -> vec2<f32> {
    var acc = vec2(LOWEST_F32);
    if MODE == 1u { acc = vec2(0.0); }
    acc = take2(take2(take2(take2(acc, c0), c1), c2), c3);
    if MODE == 1u { acc = acc / 4.0; }
    return activate2(acc);
}

// One channel pair's first maximum among its 4 cells, row-major (0 to 3; TensorFlow's tie rule).
fn pair_argmax(c0: vec2<f32>, c1: vec2<f32>, c2: vec2<f32>, c3: vec2<f32>) -> vec2<u32> {
    var best = c0;
    var at = vec2(0u);
    argmax_step2(&best, &at, c1, 1u);
    argmax_step2(&best, &at, c2, 2u);
    argmax_step2(&best, &at, c3, 3u);
    return at;
}

// The gradient a channel pair routes to `cell`: g where that cell is its maximum, else 0.
fn pair_routed(g: vec2<f32>, at: vec2<u32>, cell: u32) -> vec2<f32> {
    return select(vec2(0.0), g, at == vec2(cell));
}

// BEGIN GENERATED by tools/gen_pool_pairs.py 1 7
@compute @workgroup_size(64)
fn pool_pairs1(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = gid.x + gid.y * nwg.x * 64u;
    if id >= p.total { return; }
    let s0 = pair_start(window(id));
    let s1 = s0 + p.w * p.c / 4u;
    let a0 = x4[s0 + 0u];
    let b0 = x4[s1 + 0u];
    out2[id * 1u + 0u] = pair_pool(a0.xy, a0.zw, b0.xy, b0.zw);
}

@compute @workgroup_size(64)
fn max_pool_grad_pairs1(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = gid.x + gid.y * nwg.x * 64u;
    if id >= p.total { return; }
    let s0 = pair_start(window(id));
    let s1 = s0 + p.w * p.c / 4u;
    let a0 = x4[s0 + 0u];
    let b0 = x4[s1 + 0u];
    let at0 = pair_argmax(a0.xy, a0.zw, b0.xy, b0.zw);
    let g0 = max_up2(id * 1u + 0u);
    gx4[s0 + 0u] = vec4(pair_routed(g0, at0, 0u), pair_routed(g0, at0, 1u));
    gx4[s1 + 0u] = vec4(pair_routed(g0, at0, 2u), pair_routed(g0, at0, 3u));
}

@compute @workgroup_size(64)
fn pool_pairs3(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = gid.x + gid.y * nwg.x * 64u;
    if id >= p.total { return; }
    let s0 = pair_start(window(id));
    let s1 = s0 + p.w * p.c / 4u;
    let a0 = x4[s0 + 0u]; let a1 = x4[s0 + 1u]; let a2 = x4[s0 + 2u];
    let b0 = x4[s1 + 0u]; let b1 = x4[s1 + 1u]; let b2 = x4[s1 + 2u];
    out2[id * 3u + 0u] = pair_pool(a0.xy, a1.zw, b0.xy, b1.zw);
    out2[id * 3u + 1u] = pair_pool(a0.zw, a2.xy, b0.zw, b2.xy);
    out2[id * 3u + 2u] = pair_pool(a1.xy, a2.zw, b1.xy, b2.zw);
}

@compute @workgroup_size(64)
fn max_pool_grad_pairs3(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = gid.x + gid.y * nwg.x * 64u;
    if id >= p.total { return; }
    let s0 = pair_start(window(id));
    let s1 = s0 + p.w * p.c / 4u;
    let a0 = x4[s0 + 0u]; let a1 = x4[s0 + 1u]; let a2 = x4[s0 + 2u];
    let b0 = x4[s1 + 0u]; let b1 = x4[s1 + 1u]; let b2 = x4[s1 + 2u];
    let at0 = pair_argmax(a0.xy, a1.zw, b0.xy, b1.zw);
    let g0 = max_up2(id * 3u + 0u);
    let at1 = pair_argmax(a0.zw, a2.xy, b0.zw, b2.xy);
    let g1 = max_up2(id * 3u + 1u);
    let at2 = pair_argmax(a1.xy, a2.zw, b1.xy, b2.zw);
    let g2 = max_up2(id * 3u + 2u);
    gx4[s0 + 0u] = vec4(pair_routed(g0, at0, 0u), pair_routed(g1, at1, 0u));
    gx4[s0 + 1u] = vec4(pair_routed(g2, at2, 0u), pair_routed(g0, at0, 1u));
    gx4[s0 + 2u] = vec4(pair_routed(g1, at1, 1u), pair_routed(g2, at2, 1u));
    gx4[s1 + 0u] = vec4(pair_routed(g0, at0, 2u), pair_routed(g1, at1, 2u));
    gx4[s1 + 1u] = vec4(pair_routed(g2, at2, 2u), pair_routed(g0, at0, 3u));
    gx4[s1 + 2u] = vec4(pair_routed(g1, at1, 3u), pair_routed(g2, at2, 3u));
}

@compute @workgroup_size(64)
fn pool_pairs5(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = gid.x + gid.y * nwg.x * 64u;
    if id >= p.total { return; }
    let s0 = pair_start(window(id));
    let s1 = s0 + p.w * p.c / 4u;
    let a0 = x4[s0 + 0u]; let a1 = x4[s0 + 1u]; let a2 = x4[s0 + 2u]; let a3 = x4[s0 + 3u]; let a4 = x4[s0 + 4u];
    let b0 = x4[s1 + 0u]; let b1 = x4[s1 + 1u]; let b2 = x4[s1 + 2u]; let b3 = x4[s1 + 3u]; let b4 = x4[s1 + 4u];
    out2[id * 5u + 0u] = pair_pool(a0.xy, a2.zw, b0.xy, b2.zw);
    out2[id * 5u + 1u] = pair_pool(a0.zw, a3.xy, b0.zw, b3.xy);
    out2[id * 5u + 2u] = pair_pool(a1.xy, a3.zw, b1.xy, b3.zw);
    out2[id * 5u + 3u] = pair_pool(a1.zw, a4.xy, b1.zw, b4.xy);
    out2[id * 5u + 4u] = pair_pool(a2.xy, a4.zw, b2.xy, b4.zw);
}

@compute @workgroup_size(64)
fn max_pool_grad_pairs5(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = gid.x + gid.y * nwg.x * 64u;
    if id >= p.total { return; }
    let s0 = pair_start(window(id));
    let s1 = s0 + p.w * p.c / 4u;
    let a0 = x4[s0 + 0u]; let a1 = x4[s0 + 1u]; let a2 = x4[s0 + 2u]; let a3 = x4[s0 + 3u]; let a4 = x4[s0 + 4u];
    let b0 = x4[s1 + 0u]; let b1 = x4[s1 + 1u]; let b2 = x4[s1 + 2u]; let b3 = x4[s1 + 3u]; let b4 = x4[s1 + 4u];
    let at0 = pair_argmax(a0.xy, a2.zw, b0.xy, b2.zw);
    let g0 = max_up2(id * 5u + 0u);
    let at1 = pair_argmax(a0.zw, a3.xy, b0.zw, b3.xy);
    let g1 = max_up2(id * 5u + 1u);
    let at2 = pair_argmax(a1.xy, a3.zw, b1.xy, b3.zw);
    let g2 = max_up2(id * 5u + 2u);
    let at3 = pair_argmax(a1.zw, a4.xy, b1.zw, b4.xy);
    let g3 = max_up2(id * 5u + 3u);
    let at4 = pair_argmax(a2.xy, a4.zw, b2.xy, b4.zw);
    let g4 = max_up2(id * 5u + 4u);
    gx4[s0 + 0u] = vec4(pair_routed(g0, at0, 0u), pair_routed(g1, at1, 0u));
    gx4[s0 + 1u] = vec4(pair_routed(g2, at2, 0u), pair_routed(g3, at3, 0u));
    gx4[s0 + 2u] = vec4(pair_routed(g4, at4, 0u), pair_routed(g0, at0, 1u));
    gx4[s0 + 3u] = vec4(pair_routed(g1, at1, 1u), pair_routed(g2, at2, 1u));
    gx4[s0 + 4u] = vec4(pair_routed(g3, at3, 1u), pair_routed(g4, at4, 1u));
    gx4[s1 + 0u] = vec4(pair_routed(g0, at0, 2u), pair_routed(g1, at1, 2u));
    gx4[s1 + 1u] = vec4(pair_routed(g2, at2, 2u), pair_routed(g3, at3, 2u));
    gx4[s1 + 2u] = vec4(pair_routed(g4, at4, 2u), pair_routed(g0, at0, 3u));
    gx4[s1 + 3u] = vec4(pair_routed(g1, at1, 3u), pair_routed(g2, at2, 3u));
    gx4[s1 + 4u] = vec4(pair_routed(g3, at3, 3u), pair_routed(g4, at4, 3u));
}

@compute @workgroup_size(64)
fn pool_pairs7(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = gid.x + gid.y * nwg.x * 64u;
    if id >= p.total { return; }
    let s0 = pair_start(window(id));
    let s1 = s0 + p.w * p.c / 4u;
    let a0 = x4[s0 + 0u]; let a1 = x4[s0 + 1u]; let a2 = x4[s0 + 2u]; let a3 = x4[s0 + 3u]; let a4 = x4[s0 + 4u]; let a5 = x4[s0 + 5u]; let a6 = x4[s0 + 6u];
    let b0 = x4[s1 + 0u]; let b1 = x4[s1 + 1u]; let b2 = x4[s1 + 2u]; let b3 = x4[s1 + 3u]; let b4 = x4[s1 + 4u]; let b5 = x4[s1 + 5u]; let b6 = x4[s1 + 6u];
    out2[id * 7u + 0u] = pair_pool(a0.xy, a3.zw, b0.xy, b3.zw);
    out2[id * 7u + 1u] = pair_pool(a0.zw, a4.xy, b0.zw, b4.xy);
    out2[id * 7u + 2u] = pair_pool(a1.xy, a4.zw, b1.xy, b4.zw);
    out2[id * 7u + 3u] = pair_pool(a1.zw, a5.xy, b1.zw, b5.xy);
    out2[id * 7u + 4u] = pair_pool(a2.xy, a5.zw, b2.xy, b5.zw);
    out2[id * 7u + 5u] = pair_pool(a2.zw, a6.xy, b2.zw, b6.xy);
    out2[id * 7u + 6u] = pair_pool(a3.xy, a6.zw, b3.xy, b6.zw);
}

@compute @workgroup_size(64)
fn max_pool_grad_pairs7(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = gid.x + gid.y * nwg.x * 64u;
    if id >= p.total { return; }
    let s0 = pair_start(window(id));
    let s1 = s0 + p.w * p.c / 4u;
    let a0 = x4[s0 + 0u]; let a1 = x4[s0 + 1u]; let a2 = x4[s0 + 2u]; let a3 = x4[s0 + 3u]; let a4 = x4[s0 + 4u]; let a5 = x4[s0 + 5u]; let a6 = x4[s0 + 6u];
    let b0 = x4[s1 + 0u]; let b1 = x4[s1 + 1u]; let b2 = x4[s1 + 2u]; let b3 = x4[s1 + 3u]; let b4 = x4[s1 + 4u]; let b5 = x4[s1 + 5u]; let b6 = x4[s1 + 6u];
    let at0 = pair_argmax(a0.xy, a3.zw, b0.xy, b3.zw);
    let g0 = max_up2(id * 7u + 0u);
    let at1 = pair_argmax(a0.zw, a4.xy, b0.zw, b4.xy);
    let g1 = max_up2(id * 7u + 1u);
    let at2 = pair_argmax(a1.xy, a4.zw, b1.xy, b4.zw);
    let g2 = max_up2(id * 7u + 2u);
    let at3 = pair_argmax(a1.zw, a5.xy, b1.zw, b5.xy);
    let g3 = max_up2(id * 7u + 3u);
    let at4 = pair_argmax(a2.xy, a5.zw, b2.xy, b5.zw);
    let g4 = max_up2(id * 7u + 4u);
    let at5 = pair_argmax(a2.zw, a6.xy, b2.zw, b6.xy);
    let g5 = max_up2(id * 7u + 5u);
    let at6 = pair_argmax(a3.xy, a6.zw, b3.xy, b6.zw);
    let g6 = max_up2(id * 7u + 6u);
    gx4[s0 + 0u] = vec4(pair_routed(g0, at0, 0u), pair_routed(g1, at1, 0u));
    gx4[s0 + 1u] = vec4(pair_routed(g2, at2, 0u), pair_routed(g3, at3, 0u));
    gx4[s0 + 2u] = vec4(pair_routed(g4, at4, 0u), pair_routed(g5, at5, 0u));
    gx4[s0 + 3u] = vec4(pair_routed(g6, at6, 0u), pair_routed(g0, at0, 1u));
    gx4[s0 + 4u] = vec4(pair_routed(g1, at1, 1u), pair_routed(g2, at2, 1u));
    gx4[s0 + 5u] = vec4(pair_routed(g3, at3, 1u), pair_routed(g4, at4, 1u));
    gx4[s0 + 6u] = vec4(pair_routed(g5, at5, 1u), pair_routed(g6, at6, 1u));
    gx4[s1 + 0u] = vec4(pair_routed(g0, at0, 2u), pair_routed(g1, at1, 2u));
    gx4[s1 + 1u] = vec4(pair_routed(g2, at2, 2u), pair_routed(g3, at3, 2u));
    gx4[s1 + 2u] = vec4(pair_routed(g4, at4, 2u), pair_routed(g5, at5, 2u));
    gx4[s1 + 3u] = vec4(pair_routed(g6, at6, 2u), pair_routed(g0, at0, 3u));
    gx4[s1 + 4u] = vec4(pair_routed(g1, at1, 3u), pair_routed(g2, at2, 3u));
    gx4[s1 + 5u] = vec4(pair_routed(g3, at3, 3u), pair_routed(g4, at4, 3u));
    gx4[s1 + 6u] = vec4(pair_routed(g5, at5, 3u), pair_routed(g6, at6, 3u));
}
// END GENERATED
