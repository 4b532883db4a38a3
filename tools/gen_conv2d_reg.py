#!/usr/bin/env python3
"""Generates the register-blocked implicit-GEMM entry point of shaders/conv2d.wgsl: each
invocation computes TM output pixels x 4V output channels, looping over kernel taps and
input channels 4 at a time (vec4 loads); and the register-blocked filter-gradient entry point.
Usage: gen_conv2d_reg.py [TM V] (rewrites shaders/conv2d.wgsl in place)"""
import sys

from gen_region import args, splice

def gen(tm, v):
    """The forward entry point for at most TM pixels x 4V channels per invocation; the block
    actually computed is REG_TM pixels x 4*REG_TV channels, pipeline-overridable constants
    (defaults 8 x 16): the guards on them are constant once the pipeline is created, so the
    driver's compiler drops the unused accumulators (autotuning picks the block per adapter)."""
    L = []
    w = L.append
    w(f"// Implicit GEMM: REG_TM pixels x 4*REG_TV channels per invocation (at most {tm} x {4*v});")
    w("// cin, cout % 4 == 0.")
    w("override REG_TM: u32 = 8u;")
    w("override REG_TV: u32 = 4u;")
    w("@compute @workgroup_size(64)")
    w("fn conv2d_reg(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {")
    w("    let id = gid.x + gid.y * nwg.x * 64u;")
    w("    let ncb = (p.cout + 4u * REG_TV - 1u) / (4u * REG_TV);")
    w("    let rows = p.n * p.oh * p.ow;")
    w("    if id >= ncb * ((rows + REG_TM - 1u) / REG_TM) { return; }")
    w("    let col0 = (id % ncb) * 4u * REG_TV;")
    w("    let row0 = (id / ncb) * REG_TM;")
    w("    let co4 = p.cout / 4u;")
    w("    let ci4 = p.cin / 4u;")
    for j in range(v):
        w(f"    let c{j} = min(col0 / 4u + {j}u, co4 - 1u);")

    def b_loads(w, indent):
        for t in range(4):
            for j in range(v):
                w(f"{indent}let b{t}_{j} = f4[fr + {t}u * co4 + c{j}];")

    body(w, tm, v, b_loads)
    w("}")
    return "\n".join(L)


def body(w, tm, v, b_loads):
    """The implicit GEMM after the invocation's block is known (`row0`, `col0`, `rows`, `co4`,
    `ci4`): pixels, accumulators, the tap and input-channel loops (`b_loads(w, indent)` writes
    the step's filter vec4s b{t}_{j}) and the stores. Shared with the subgroup twin
    (tools/gen_subgroup_reg.py)."""
    for r in range(tm):
        w(f"    let px{r} = pixel(min(row0 + {r}u, rows - 1u));")
    for r in range(tm):
        for j in range(v):
            w(f"    var acc{r}_{j} = vec4<f32>(0.0);")
    w("    for (var ky = 0u; ky < p.kh; ky++) {")
    w("        for (var kx = 0u; kx < p.kw; kx++) {")
    for r in range(tm):
        w(f"            let t{r} = tap(px{r}, ky, kx);")
        w(f"            let m{r} = t{r}.y != 0u;")
    w("            let fbase = (ky * p.kw + kx) * p.cin * co4;")
    w("            for (var ci = 0u; ci < ci4; ci++) {")
    w("                let fr = fbase + ci * 4u * co4;")
    b_loads(w, "                ")
    for r in range(tm):
        w(f"                if {r}u < REG_TM {{")
        w(f"                    let av{r} = select(vec4<f32>(0.0), x4[t{r}.x + ci], m{r});")
        for j in range(v):
            e = f"acc{r}_{j}"
            w(f"                    if {j}u < REG_TV {{ {e} = fma(vec4(av{r}.x), b0_{j}, {e}); {e} = fma(vec4(av{r}.y), b1_{j}, {e}); {e} = fma(vec4(av{r}.z), b2_{j}, {e}); {e} = fma(vec4(av{r}.w), b3_{j}, {e}); }}")
        w("                }")
    w("            }")
    w("        }")
    w("    }")
    for r in range(tm):
        for j in range(v):
            w(f"    if {r}u < REG_TM && {j}u < REG_TV {{ store4(row0 + {r}u, col0 / 4u + {j}u, rows, acc{r}_{j}); }}")



def gen_filter_grad(vj=16):
    """Filter gradient dW[ky, kx, ci, co] = sum over pixels of x[tap] * dY[pixel]: each
    invocation owns one tap, 4 input channels and 4*FG_TV output channels (FG_TV a
    pipeline-overridable constant, at most VJ; 4*FG_TV vec4 accumulators)."""
    L = []
    w = L.append
    w(f"// Filter gradient, register-blocked: one tap x 4 cin x 4*FG_TV cout per invocation (FG_TV <= {vj}).")
    w("override FG_TV: u32 = 4u;")
    w("@compute @workgroup_size(64)")
    w("fn conv2d_filter_grad_reg(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {")
    w("    let id = gid.x + gid.y * nwg.x * 64u;")
    w("    let co4 = p.cout / 4u;")
    w("    let ci4 = p.cin / 4u;")
    w("    let ncb = (p.cout + 4u * FG_TV - 1u) / (4u * FG_TV);")
    w("    let blocks = ncb * ci4 * p.kh * p.kw;")
    w("    let rows = p.n * p.oh;")
    w("    let nchunks = (rows + p._p0 - 1u) / p._p0;")
    w("    if id >= blocks * nchunks { return; }")
    w("    let chunk = id / blocks;")
    w("    let blk = id % blocks;")
    w("    let cb = blk % ncb;")
    w("    let ci = (blk / ncb) % ci4;")
    w("    let tap_i = blk / (ncb * ci4);")
    w("    let kx = tap_i % p.kw;")
    w("    let ky = tap_i / p.kw;")
    for j in range(vj):
        w(f"    let c{j} = min(cb * FG_TV + {j}u, co4 - 1u);")
    for e in range(4):
        for j in range(vj):
            w(f"    var acc{e}_{j} = vec4<f32>(0.0);")
    w("    let r1 = min(rows, (chunk + 1u) * p._p0);")
    w("    for (var r = chunk * p._p0; r < r1; r++) {")
    w("        let b = r / p.oh;")
    w("        let oy = r % p.oh;")
    w("        {")
    w("            let iy = i32(oy * p.sh + ky * p.dh) - i32(p.pad_top);")
    w("            if iy < 0 || iy >= i32(p.h) { continue; }")
    w("            let xrow = (b * p.h + u32(iy)) * p.w;")
    w("            let grow = (b * p.oh + oy) * p.ow;")
    w("            for (var ox = 0u; ox < p.ow; ox++) {")
    w("                let ix = i32(ox * p.sw + kx * p.dw) - i32(p.pad_left);")
    w("                if ix < 0 || ix >= i32(p.w) { continue; }")
    w("                let xv = x4[(xrow + u32(ix)) * ci4 + ci];")
    w("                let gb = (grow + ox) * co4;")
    for j in range(vj):
        w(f"                if {j}u < FG_TV {{")
        w(f"                    let g{j} = gy4[gb + c{j}];")
        for e, comp in enumerate("xyzw"):
            w(f"                    acc{e}_{j} = fma(vec4(xv.{comp}), g{j}, acc{e}_{j});")
        w("                }")
    w("            }")
    w("        }")
    w("    }")
    w("    let base = chunk * p.kh * p.kw * p.cin * co4 + (tap_i * p.cin + ci * 4u) * co4;")
    w("    if bias[0] == 12345.678 { return; } // keeps binding 3 in the layout")
    for e in range(4):
        for j in range(vj):
            w(f"    if {j}u < FG_TV && cb * FG_TV + {j}u < co4 {{ out4[base + {e}u * co4 + cb * FG_TV + {j}u] = acc{e}_{j}; }}")
    w("}")
    return "\n".join(L)


def upstream(vec, hi=False):
    """The line loading the upstream gradient's channels co0..co0 + 3 at pixel offset g as gv
    (with `hi`, the next 4 as gw), `vec` channels a load: 4 through gy4 (cout % 4 == 0), 2
    through gy2 (cout % 2 == 0), past the last channel reloading the last 4 or 2; 1: scalar
    loads clamped to the last channel."""
    if vec == 4:
        return "            let gw = gy4[(g + c4) / 4u];" if hi else "            let gv = gy4[(g + co0) / 4u];"
    if vec == 2:
        lo, up = ("c4", "c6") if hi else ("co0", "c2")
        name = "gw" if hi else "gv"
        return f"            let {name} = vec4(gy2[(g + {lo}) / 2u], gy2[(g + {up}) / 2u]);"
    if hi:
        return "            let gw = vec4(gy[g + c4], gy[g + c5], gy[g + c6], gy[g + c7]);"
    return "            let gv = vec4(gy[g + co0], gy[g + c1], gy[g + c2], gy[g + c3]);"


def high_half(w, taps, dsum, vec, tap):
    """A taps loop body's second 4 output channels (TAPS_CO = 8): gw, and tap t's input `tap(t)`
    times it into hi{t} (dsum: and into dhi)."""
    w("            if TAPS_CO == 8u {")
    w("    " + upstream(vec, True))
    if dsum:
        w("                dhi += gw;")
    for t in range(taps):
        w(f"                hi{t} = fma(vec4({tap(t)}), gw, hi{t});")
    w("            }")


def taps_body(w, taps, r0, r1, step, dsum=False, vec=1):
    """The taps kernels' shared body: block `blk` -> (ci, co0), the tap offsets, and the
    accumulation over rows `r0`..`r1` (advancing by `step`) into lo0..lo{taps-1} (channels
    co0..co0 + 3) and, with TAPS_CO = 8, hi0.. (the next 4), and, with `dsum`, the upstream
    gradient's sums into dlo (and dhi); `vec`: see `upstream`."""
    w("    let co0 = (blk % ncb) * TAPS_CO;")
    w("    let ci = blk / ncb;")
    if vec == 4:
        w("    let c4 = min(co0 + 4u, p.cout - 4u);")
    elif vec == 2:
        for j in (2, 4, 6):
            w(f"    let c{j} = min(co0 + {j}u, p.cout - 2u);")
    else:
        w("    let last = p.cout - 1u;")
        for j in range(1, 8):
            w(f"    let c{j} = min(co0 + {j}u, last);")
    w("    let ntaps = p.kh * p.kw;")
    w("    // Taps past the kernel read row -h (outside the input), so they contribute zero.")
    for t in range(taps):
        w(f"    let ty{t} = select(-i32(p.h), i32(({t}u / p.kw) * p.dh) - i32(p.pad_top), {t}u < ntaps);")
        w(f"    let tx{t} = i32(({t}u % p.kw) * p.dw) - i32(p.pad_left);")
        w(f"    var lo{t} = vec4<f32>(0.0);")
        w(f"    var hi{t} = vec4<f32>(0.0);")
    if dsum:
        w("    var dlo = vec4<f32>(0.0);")
        w("    var dhi = vec4<f32>(0.0);")
    w(f"    let r1 = {r1};")
    if taps != 9:
        plain_rows(w, taps, (r0, step), dsum, vec)
        return
    w("    // A constant, not a branch on p: SwiftShader's compiler took 114 s over the kernel with both")
    w("    // loops, 16 s with one.")
    w("    if TAPS_SLIDE {")
    sliding_rows(lambda line: w("    " + line), taps, (r0, step), dsum, vec)
    w("    } else {")
    plain_rows(lambda line: w("    " + line), taps, (r0, step), dsum, vec)
    w("    }")


def sliding_rows(w, taps, rows, dsum, vec):
    """The taps kernels' accumulation where each window row slides (TAPS_SLIDE): tap (ky, kx + 1)
    at pixel ox is tap (ky, kx) at ox + 1, so a row and pixel need one new input load."""
    r0, step = rows
    w(f"    for (var r = {r0}; r < r1; {step}) {{")
    w("        let b = r / p.oh;")
    w("        let oy = r % p.oh;")
    w("        let xb = b * p.h;")
    w("        let y0 = i32(oy * p.sh);")
    for k in range(3):
        for j in (1, 2):
            w(f"        var w{k}{j} = tapx(xb, y0 + ty{3 * k}, tx{j - 1}, ci);")
    w("        for (var ox = 0u; ox < p.ow; ox++) {")
    w("            let g = (r * p.ow + ox) * p.cout;")
    w(upstream(vec))
    if dsum:
        w("            dlo += gv;")
    for k in range(3):
        w(f"            let w{k}0 = w{k}1;")
        w(f"            w{k}1 = w{k}2;")
        w(f"            w{k}2 = tapx(xb, y0 + ty{3 * k}, i32(ox) + tx2, ci);")
    for t in range(taps):
        w(f"            lo{t} = fma(vec4(w{t // 3}{t % 3}), gv, lo{t});")
    high_half(w, taps, dsum, vec, lambda t: f"w{t // 3}{t % 3}")
    w("        }")
    w("    }")


def plain_rows(w, taps, rows, dsum, vec):
    """The taps kernels' accumulation for any geometry: every tap's input load at every pixel."""
    r0, step = rows
    w(f"    for (var r = {r0}; r < r1; {step}) {{")
    w("        let b = r / p.oh;")
    w("        let oy = r % p.oh;")
    w("        let xb = b * p.h;")
    w("        for (var ox = 0u; ox < p.ow; ox++) {")
    w("            let g = (r * p.ow + ox) * p.cout;")
    w(upstream(vec))
    w("            let y0 = i32(oy * p.sh);")
    w("            let x0 = i32(ox * p.sw);")
    if dsum:
        w("            dlo += gv;")
    for t in range(taps):
        w(f"            let v{t} = tapx(xb, y0 + ty{t}, x0 + tx{t}, ci);")
        w(f"            lo{t} = fma(vec4(v{t}), gv, lo{t});")
    high_half(w, taps, dsum, vec, lambda t: f"v{t}")
    w("        }")
    w("    }")


def gen_filter_grad_taps(taps=9):
    """Filter gradient for small kernels (kh*kw <= TAPS) and any channel counts: each
    invocation owns one input channel and TAPS_CO output channels for every tap, so each upstream
    gradient value is loaded once per pixel and reused by all the taps. Two entry points:
    `conv2d_filter_grad_taps` sums one chunk of rows per invocation (partial sums that
    `sum_chunks` adds when there are several chunks); `conv2d_filter_grad_taps_wg` gives each
    (cin, TAPS_CO cout) block one workgroup whose TAPS_WG lanes split the rows and add their sums in
    workgroup memory, so small problems need one pass, and (p._p1 = 1) also writes the bias
    gradient, the sum of the upstream gradient it reads anyway."""
    L = []
    w = L.append
    w("// The all-taps filter gradients slide each window row (3 taps wide, stride and dilation 1")
    w("// across: tap (ky, kx + 1) at pixel ox is tap (ky, kx) at ox + 1, one new load per row and")
    w("// pixel); false: the general loop. Fixed at pipeline creation, from the geometry.")
    w("override TAPS_SLIDE: bool = false;")
    w("")
    w("// Output channels per invocation of the all-taps filter gradients: 4, or 8 where that still")
    w("// leaves enough workgroups (SwiftShader pays per loop iteration: LeNet's conv 2, 2.3 -> 1.6")
    w("// ms). Fixed at pipeline creation.")
    w("override TAPS_CO: u32 = 4u;")
    w("")
    w(f"// Filter gradient, all taps (kh*kw <= {taps}) x 1 cin x TAPS_CO cout per invocation over a chunk of rows.")
    w("@compute @workgroup_size(64)")
    w("fn conv2d_filter_grad_taps(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {")
    w("    let id = gid.x + gid.y * nwg.x * 64u;")
    w("    let ncb = (p.cout + TAPS_CO - 1u) / TAPS_CO;")
    w("    let blocks = p.cin * ncb;")
    w("    let rows = p.n * p.oh;")
    w("    let nchunks = (rows + p._p0 - 1u) / p._p0;")
    w("    if id >= blocks * nchunks { return; }")
    w("    let chunk = id / blocks;")
    w("    let blk = id % blocks;")
    taps_body(w, taps, "chunk * p._p0", "min(rows, (chunk + 1u) * p._p0)", "r++")
    w("    let e0 = chunk * p.kh * p.kw * p.cin * p.cout + ci * p.cout;")
    w("    if bias[0] == 12345.678 { return; } // keeps binding 3 in the layout")
    for t in range(taps):
        w(f"    if {t}u < ntaps {{")
        w(f"        store_dw(e0 + {t}u * p.cin * p.cout, co0, lo{t});")
        w(f"        if TAPS_CO == 8u {{ store_dw(e0 + {t}u * p.cin * p.cout, co0 + 4u, hi{t}); }}")
        w("    }")
    w("}")
    w("")
    w(f"var<workgroup> taps_sum: array<vec4<f32>, {(taps + 1) * 64}>;")
    w("")
    w("// Lanes of the all-taps filter-gradient workgroups (at most 64, taps_sum's stride), fixed at")
    w("// pipeline creation: 8 on software adapters, where workgroup memory costs (SwiftShader took")
    w("// 5.5 ms for LeNet's second filter gradient with 64 lanes, 2.4 with 8), 64 on GPUs.")
    w("override TAPS_WG: u32 = 64u;")
    w("")
    w("// The all-taps filter gradients' last step: lane l adds up slot t = l, l + TAPS_WG, ... of")
    w(f"// taps_sum (tap t < ntaps, or the bias gradient in slot {taps} when the workgroup owns input")
    w("// channel 0 and p._p1 asks for it) and stores it.")
    w("fn taps_finish(l: u32, ci: u32, co0: u32, ntaps: u32) {")
    w(f"    for (var t = l; t < {taps + 1}u; t += TAPS_WG) {{")
    w(f"        let bias = t == {taps}u;")
    w("        if t < ntaps || (bias && ci == 0u && p._p1 != 0u) {")
    w("            var s = vec4<f32>(0.0);")
    w("            for (var k = 0u; k < TAPS_WG; k++) { s += taps_sum[t * 64u + k]; }")
    w("            if bias {")
    w("                for (var j = 0u; j < 4u; j++) {")
    w("                    if co0 + j < p.cout { dbias[co0 + j] = s[j]; }")
    w("                }")
    w("            } else {")
    w("                store_dw((t * p.cin + ci) * p.cout, co0, s);")
    w("            }")
    w("        }")
    w("    }")
    w("}")
    w("@group(0) @binding(3) var<storage, read_write> dbias: array<f32>;")
    w("")
    w(f"// Filter gradient, all taps (kh*kw <= {taps}) x 1 cin x TAPS_CO cout per workgroup: its TAPS_WG lanes")
    w("// split the rows, then add up each tap's partial sums (`taps_finish`; one pass, no chunk")
    w("// buffer). With p._p1 = 1 the workgroups of input channel 0 also write the bias gradient")
    w(f"// dbias[co] = Σ dy[.., co] (slot {taps}).")
    taps_wg(w, taps, "conv2d_filter_grad_taps_wg", 1)
    w("")
    w("// conv2d_filter_grad_taps_wg for cout % 4 == 0: two vec4 loads of the upstream gradient per")
    w("// pixel instead of 8 (CPU adapters pay per load).")
    taps_wg(w, taps, "conv2d_filter_grad_taps_wg4", 4)
    w("")
    w("// conv2d_filter_grad_taps_wg for cout % 2 == 0: four vec2 loads of the upstream gradient per")
    w("// pixel instead of 8 (a texel fetch each where it is read from texels).")
    taps_wg(w, taps, "conv2d_filter_grad_taps_wg2", 2)
    w("")
    w("// x[b, iy, ix, ci], or 0 outside the input.")
    w("fn tapx(xb: u32, iy: i32, ix: i32, ci: u32) -> f32 {")
    w("    let inside = iy >= 0 && iy < i32(p.h) && ix >= 0 && ix < i32(p.w);")
    w("    let off = select(0u, ((xb + u32(max(iy, 0))) * p.w + u32(max(ix, 0))) * p.cin + ci, inside);")
    w("    return select(0.0, x[off], inside);")
    w("}")
    w("")
    w("// Stores 4 output channels of one filter-gradient row (the channel tail is skipped).")
    w("fn store_dw(base: u32, co0: u32, v: vec4<f32>) {")
    w("    if co0 < p.cout { out[base + co0] = v.x; }")
    w("    if co0 + 1u < p.cout { out[base + co0 + 1u] = v.y; }")
    w("    if co0 + 2u < p.cout { out[base + co0 + 2u] = v.z; }")
    w("    if co0 + 3u < p.cout { out[base + co0 + 3u] = v.w; }")
    w("}")
    return "\n".join(L)


def taps_wg(w, taps, name, vec):
    """The one-pass taps kernel `name` (see gen_filter_grad_taps); `vec`: see `upstream`."""
    w("@compute @workgroup_size(TAPS_WG)")
    w(f"fn {name}(")
    w("    @builtin(workgroup_id) wid: vec3<u32>,")
    w("    @builtin(local_invocation_id) lid: vec3<u32>,")
    w("    @builtin(num_workgroups) nwg: vec3<u32>,")
    w(") {")
    w("    let ncb = (p.cout + TAPS_CO - 1u) / TAPS_CO;")
    w("    let blocks = p.cin * ncb;")
    w("    let rows = p.n * p.oh;")
    w("    let blk = wid.x + wid.y * nwg.x;")
    w("    if blk >= blocks { return; }")
    taps_body(w, taps, "lid.x", "rows", "r += TAPS_WG", True, vec)
    for t in range(taps):
        w(f"    taps_sum[{t}u * 64u + lid.x] = lo{t};")
    w(f"    taps_sum[{taps}u * 64u + lid.x] = dlo;")
    w("    workgroupBarrier();")
    w("    taps_finish(lid.x, ci, co0, ntaps);")
    w("    if TAPS_CO == 8u {")
    w("        workgroupBarrier();")
    for t in range(taps):
        w(f"        taps_sum[{t}u * 64u + lid.x] = hi{t};")
    w(f"        taps_sum[{taps}u * 64u + lid.x] = dhi;")
    w("        workgroupBarrier();")
    w("        taps_finish(lid.x, ci, co0 + 4u, ntaps);")
    w("    }")
    w("}")


if __name__ == "__main__":
    # Usage: tools/gen_conv2d_reg.py [TM V] [--check]  — rewrites (or, with --check, verifies)
    # the generated region of shaders/conv2d.wgsl.
    tm, v, check = args("24", "8")
    splice("conv2d.wgsl", "gen_conv2d_reg.py", tm, v, gen(int(tm), int(v)) + "\n\n" + gen_filter_grad() + "\n\n" + gen_filter_grad_taps(), check)
