#!/usr/bin/env python3
"""Generates the register-blocked entry points of shaders/matmul.wgsl (fully unrolled, so
every accumulator stays in a register on CPU adapters), one per operand layout: matmul_reg
(A, B row-major), matmul_reg_tn (A transposed), matmul_reg_nt (B transposed), matmul_reg_tt
(both). A transposed operand is read directly, with vec4 loads along its contiguous direction
(A^T: the rows an invocation owns; B^T: the shared dimension), and the 4x4 blocks are
transposed in registers, so no transpose dispatch is needed for any layout. Every operand's
outer stride comes from the uniform (a_rs / a_cs, b_rs / b_cs, o_rs; multiples of 4), so a
launch may cover a block of larger matrices.
Usage: gen_matmul_reg.py [TM V] [--check] rewrites shaders/matmul.wgsl in place for TM rows x
4V columns per invocation (TM a multiple of 4)."""

from gen_region import args, splice

XYZW = "xyzw"


def lanes(names, c):
    """`vec4<f32>(n0.c, n1.c, n2.c, n3.c)`: lane `c` of four vec4 values, gathered."""
    return "vec4<f32>(" + ", ".join(f"{n}.{XYZW[c]}" for n in names) + ")"


def a_setup(w, tm, ta):
    """Per-invocation bases of A: one per owned row (row-major) or per 4 rows (transposed)."""
    if ta:
        w(f"    let m4 = p.m / 4u;")
        w(f"    let as4 = p.a_cs / 4u;")
        w(f"    let ab = bi * p.a_bs / 4u;")
        for q in range(tm // 4):
            w(f"    let q{q} = min(row0 / 4u + {q}u, m4 - 1u);")
    else:
        for r in range(tm):
            w(f"    let r{r} = (bi * p.a_bs + min(row0 + {r}u, p.m - 1u) * p.a_rs) / 4u;")


def b_setup(w, v, tb):
    """Per-invocation bases of B: one per 4 owned columns (row-major) or per column (transposed)."""
    if tb:
        for c in range(4 * v):
            w(f"    let cb{c} = (bi * p.b_bs + min(col0 + {c}u, p.n - 1u) * p.b_cs) / 4u;")
    else:
        for j in range(v):
            w(f"    let c{j} = min(col0 / 4u + {j}u, n4 - 1u);")


def b_loads(w, v, tb):
    """b{t}_{j}: B[kk + t, col0 + 4j .. col0 + 4j + 3] for the 4 k of this step."""
    if tb:
        for c in range(4 * v):
            w(f"        let bt{c} = b4[cb{c} + kk / 4u];")
        for t in range(4):
            for j in range(v):
                w(f"        let b{t}_{j} = {lanes([f'bt{4 * j + e}' for e in range(4)], t)};")
    else:
        w(f"        let br = bb + kk * bs4;")
        for t in range(4):
            for j in range(v):
                w(f"        let b{t}_{j} = b4[br + {t}u * bs4 + c{j}];")


def a_loads(w, tm, ta):
    """av{r} = A[row0 + r, kk .. kk + 3] for every owned row of a transposed A: 4 rows per
    vec4 load, transposed in registers (a row-major A loads each row next to its FMAs)."""
    w(f"        let ar = ab + kk * as4;")
    for t in range(4):
        for q in range(tm // 4):
            w(f"        let at{t}_{q} = a4[ar + {t}u * as4 + q{q}];")
    for r in range(tm):
        w(f"        let av{r} = {lanes([f'at{t}_{r // 4}' for t in range(4)], r % 4)};")


def gen(name, tm, v, ta, tb):
    L = []
    w = L.append
    layout = {(False, False): "A, B row-major", (True, False): "A transposed ([k, m] in memory)",
              (False, True): "B transposed ([n, k] in memory)", (True, True): "A and B transposed"}[(ta, tb)]
    w(f"// Register-blocked, {layout}: {tm}x{4*v} outputs per invocation, vec4 loads, no shared memory.")
    w(f"@compute @workgroup_size(WG)")
    w(f"fn {name}(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {{")
    w(f"    let id = linear_id(gid, nwg, WG);")
    w(f"    let ncb = (p.n + {4*v-1}u) / {4*v}u;")
    w(f"    let nrb = (p.m + {tm-1}u) / {tm}u;")
    w(f"    let bi = gid.z;")
    w(f"    if id >= ncb * nrb || bi >= p.batch {{ return; }}")
    w(f"    let col0 = (id % ncb) * {4*v}u;")
    w(f"    let row0 = (id / ncb) * {tm}u;")
    w(f"    let n4 = p.n / 4u;")
    b_setup(w, v, tb)
    a_setup(w, tm, ta)
    for r in range(tm):
        for j in range(v):
            w(f"    var acc{r}_{j} = vec4<f32>(0.0);")
    if not tb:
        w(f"    let bb = bi * p.b_bs / 4u;")
        w(f"    let bs4 = p.b_rs / 4u;")
    w(f"    for (var kk = 0u; kk < p.k; kk += 4u) {{")
    b_loads(w, v, tb)
    if ta:
        a_loads(w, tm, ta)
    for r in range(tm):
        if not ta:
            w(f"        let av{r} = a4[r{r} + kk / 4u];")
        for j in range(v):
            e = f"acc{r}_{j}"
            w(f"        {e} = fma(vec4(av{r}.x), b0_{j}, {e}); {e} = fma(vec4(av{r}.y), b1_{j}, {e}); {e} = fma(vec4(av{r}.z), b2_{j}, {e}); {e} = fma(vec4(av{r}.w), b3_{j}, {e});")
    w(f"    }}")
    w(f"    let ob = bi * p.m * (p.o_rs / 4u);")
    for r in range(tm):
        for j in range(v):
            w(f"    store4(row0 + {r}u, col0 / 4u + {j}u, ob, acc{r}_{j});")
    w(f"}}")
    return "\n".join(L)


# Entry-point suffix per (A transposed, B transposed); the launcher names them the same way.
LAYOUTS = [("", False, False), ("_tn", True, False), ("_nt", False, True), ("_tt", True, True)]

if __name__ == "__main__":
    # Usage: tools/gen_matmul_reg.py [TM V] [--check]  — rewrites (or, with --check, verifies)
    # the generated region of shaders/matmul.wgsl.
    tm, v, check = args("8", "4")
    if int(tm) % 4:
        raise SystemExit("TM must be a multiple of 4 (a transposed A is read 4 rows at a time)")
    text = "\n\n".join(gen("matmul_reg" + s, int(tm), int(v), ta, tb) for s, ta, tb in LAYOUTS)
    splice("matmul.wgsl", "gen_matmul_reg.py", tm, v, text, check)
