#!/usr/bin/env python3
"""Generates the subgroup register-blocked entry points: `matmul_reg_sg` in
shaders/matmul_subgroup.wgsl and `conv2d_reg_sg` in shaders/conv2d_subgroup.wgsl. They are
`matmul_reg` (A, B row-major) and `conv2d_reg` with the B operand (the matmul's B, the conv's
filter) shared by a subgroup instead of loaded by every invocation: the invocations of a
subgroup own the same output columns and consecutive row (pixel) blocks, each loads a few of
the block's B vec4s and every B vec4 reaches all of them through `subgroupShuffle`. On
lavapipe, where every storage load is a per-lane gather and a shuffle a register permute, that
cuts the loads per step from TM + 4V to TM + 4V / size. Needs one fixed subgroup size of at
least 8 (4V ≤ 32 items in at most 4 slots per invocation).
Usage: gen_subgroup_reg.py [--check] (rewrites, or verifies, both shaders' generated regions)"""

from gen_region import args, splice

def tile(w, n, rows, tm, tv, extra=""):
    """The subgroup's tile (column block, row group) and this invocation's first row."""
    w(f"    let t = (wid.x + wid.y * nwg.x) * nsg + sg;")
    w(f"    let ncb = ({n} + 4u * {tv} - 1u) / (4u * {tv});")
    w(f"    let nrg = (({rows} + {tm} - 1u) / {tm} + size - 1u) / size;")
    w(f"    if t >= ncb * nrg{extra} {{ return; }}")
    w(f"    let col0 = (t % ncb) * 4u * {tv};")
    w(f"    let row0 = ((t / ncb) * size + l) * {tm};")


def slots(w, indent, load, items):
    """Loads this invocation's share of the B block: item `l + k * size` into slot s{k}, for
    the slots the subgroup needs (item q = 4 j + t: row t of vec4 column j)."""
    w(f"{indent}let s0 = {load('o0')};")
    for k in range(1, 4):
        w(f"{indent}var s{k} = s0;")
        w(f"{indent}if {k}u * size < {items} {{ s{k} = {load(f'o{k}')}; }}")


def shuffled(w, indent, v, guard):
    """b{t}_{j}: item 4 j + t, from slot (4 j + t) / size of invocation (4 j + t) % size."""
    for j in range(v):
        for t in range(4):
            q = 4 * j + t
            pick = "select(select(s0, s1, k == 1u), select(s2, s3, k == 3u), k >= 2u)"
            body = f"let k = {q}u / size; b{t}_{j} = subgroupShuffle({pick}, {q}u % size);"
            w(f"{indent}var b{t}_{j} = vec4<f32>(0.0);")
            w(f"{indent}{'if ' + guard(j) + ' { ' if guard(j) else '{ '}{body} }}")


def offsets(w, items, col_expr, limit):
    """The offsets (within one B row block) of this invocation's items."""
    for k in range(4):
        w(f"    let q{k} = min(l + {k}u * size, {items} - 1u);")
        w(f"    let o{k} = (q{k} % 4u) * {limit[0]} + min({col_expr} + q{k} / 4u, {limit[1]});")


def fmas(w, indent, r, v, guard):
    for j in range(v):
        e = f"acc{r}_{j}"
        body = f"{e} = fma(vec4(av{r}.x), b0_{j}, {e}); {e} = fma(vec4(av{r}.y), b1_{j}, {e}); {e} = fma(vec4(av{r}.z), b2_{j}, {e}); {e} = fma(vec4(av{r}.w), b3_{j}, {e});"
        w(f"{indent}{'if ' + guard(j) + ' { ' + body + ' }' if guard(j) else body}")


BUILTINS = """@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(subgroup_id) sg: u32, @builtin(num_subgroups) nsg: u32,
    @builtin(subgroup_invocation_id) l: u32, @builtin(subgroup_size) size: u32,"""


def gen_matmul(tm=8, v=4):
    L = []
    w = L.append
    w(f"// matmul_reg with B shared by the subgroup: {tm}x{4 * v} outputs per invocation.")
    w("@compute @workgroup_size(64)")
    w(f"fn matmul_reg_sg(\n    {BUILTINS}\n) {{")
    w("    let bi = wid.z;")
    tile(w, "p.n", "p.m", f"{tm}u", f"{v}u", " || bi >= p.batch")
    w("    let n4 = p.n / 4u;")
    w("    let bs4 = p.b_rs / 4u;")
    offsets(w, f"{4 * v}u", "col0 / 4u", ("bs4", "n4 - 1u"))
    for r in range(tm):
        w(f"    let r{r} = (bi * p.a_bs + min(row0 + {r}u, p.m - 1u) * p.a_rs) / 4u;")
    for r in range(tm):
        for j in range(v):
            w(f"    var acc{r}_{j} = vec4<f32>(0.0);")
    w("    let bb = bi * p.b_bs / 4u;")
    w("    for (var kk = 0u; kk < p.k; kk += 4u) {")
    w("        let br = bb + kk * bs4;")
    slots(w, "        ", lambda o: f"b4[br + {o}]", f"{4 * v}u")
    shuffled(w, "        ", v, lambda j: "")
    for r in range(tm):
        w(f"        let av{r} = a4[r{r} + kk / 4u];")
        fmas(w, "        ", r, v, lambda j: "")
    w("    }")
    w("    let ob = bi * p.m * (p.o_rs / 4u);")
    for r in range(tm):
        for j in range(v):
            w(f"    store4(row0 + {r}u, col0 / 4u + {j}u, ob, acc{r}_{j});")
    w("}")
    return "\n".join(L)


def gen_conv(tm=24, v=8):
    L = []
    w = L.append
    w(f"// conv2d_reg with the filter shared by the subgroup: REG_TM pixels x 4*REG_TV channels per")
    w(f"// invocation (at most {tm} x {4 * v}, the constants of conv2d.wgsl); cin, cout % 4 == 0.")
    w("@compute @workgroup_size(64)")
    w(f"fn conv2d_reg_sg(\n    {BUILTINS}\n) {{")
    w("    let rows = p.n * p.oh * p.ow;")
    tile(w, "p.cout", "rows", "REG_TM", "REG_TV")
    w("    let co4 = p.cout / 4u;")
    w("    let ci4 = p.cin / 4u;")
    offsets(w, "4u * REG_TV", "col0 / 4u", ("co4", "co4 - 1u"))
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
    slots(w, "                ", lambda o: f"f4[fr + {o}]", "4u * REG_TV")
    shuffled(w, "                ", v, lambda j: f"{j}u < REG_TV")
    for r in range(tm):
        w(f"                if {r}u < REG_TM {{")
        w(f"                    let av{r} = select(vec4<f32>(0.0), x4[t{r}.x + ci], m{r});")
        fmas(w, "                    ", r, v, lambda j: f"{j}u < REG_TV")
        w("                }")
    w("            }")
    w("        }")
    w("    }")
    for r in range(tm):
        for j in range(v):
            w(f"    if {r}u < REG_TM && {j}u < REG_TV {{ store4(row0 + {r}u, col0 / 4u + {j}u, rows, acc{r}_{j}); }}")
    w("}")
    return "\n".join(L)


if __name__ == "__main__":
    _, _, check = args("-", "-")
    splice("matmul_subgroup.wgsl", "gen_subgroup_reg.py", "8", "4", gen_matmul(), check)
    splice("conv2d_subgroup.wgsl", "gen_subgroup_reg.py", "24", "8", gen_conv(), check)
