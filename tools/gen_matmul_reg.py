#!/usr/bin/env python3
"""Generates the register-blocked entry points of shaders/matmul.wgsl (fully unrolled, so
every accumulator stays in a register on CPU adapters). Usage: gen_matmul_reg.py TM V
rewrites shaders/matmul.wgsl in place for TM rows x 4V columns per invocation."""
import sys

from gen_region import args, splice

def gen(name, tm, v, a_expr):
    L = []
    w = L.append
    w(f"// Register-blocked: {tm}x{4*v} outputs per invocation, vec4 loads, no shared memory.")
    w(f"@compute @workgroup_size(64)")
    w(f"fn {name}(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {{")
    w(f"    let id = linear_id(gid, nwg, 64u);")
    w(f"    let ncb = (p.n + {4*v-1}u) / {4*v}u;")
    w(f"    let nrb = (p.m + {tm-1}u) / {tm}u;")
    w(f"    let bi = gid.z;")
    w(f"    if id >= ncb * nrb || bi >= p.batch {{ return; }}")
    w(f"    let col0 = (id % ncb) * {4*v}u;")
    w(f"    let row0 = (id / ncb) * {tm}u;")
    w(f"    let n4 = p.n / 4u;")
    for j in range(v):
        w(f"    let c{j} = min(col0 / 4u + {j}u, n4 - 1u);")
    for r in range(tm):
        w(f"    let r{r} = {a_expr.format(r=r)};")
    for r in range(tm):
        for j in range(v):
            w(f"    var acc{r}_{j} = vec4<f32>(0.0);")
    w(f"    let bb = bi * p.b_bs / 4u;")
    w(f"    for (var kk = 0u; kk < p.k; kk += 4u) {{")
    w(f"        let br = bb + kk * n4;")
    for t in range(4):
        for j in range(v):
            w(f"        let b{t}_{j} = b4[br + {t}u * n4 + c{j}];")
    for r in range(tm):
        w(f"        let av{r} = a4[r{r} + kk / 4u];")
        for j in range(v):
            e = f"acc{r}_{j}"
            w(f"        {e} = fma(vec4(av{r}.x), b0_{j}, {e}); {e} = fma(vec4(av{r}.y), b1_{j}, {e}); {e} = fma(vec4(av{r}.z), b2_{j}, {e}); {e} = fma(vec4(av{r}.w), b3_{j}, {e});")
    w(f"    }}")
    w(f"    let ob = bi * p.m * n4;")
    for r in range(tm):
        for j in range(v):
            w(f"    store4(row0 + {r}u, col0 / 4u + {j}u, ob, acc{r}_{j});")
    w(f"}}")
    return "\n".join(L)

if __name__ == "__main__":
    # Usage: tools/gen_matmul_reg.py [TM V] [--check]  — rewrites (or, with --check, verifies)
    # the generated region of shaders/matmul.wgsl.
    tm, v, check = args("8", "4")
    splice("matmul.wgsl", "gen_matmul_reg.py", tm, v, gen("matmul_reg", int(tm), int(v), "(bi * p.a_bs + min(row0 + {r}u, p.m - 1u) * p.k) / 4u"), check)
