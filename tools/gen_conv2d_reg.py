#!/usr/bin/env python3
"""Generates the register-blocked implicit-GEMM entry point of shaders/conv2d.wgsl: each
invocation computes TM output pixels x 4V output channels, looping over kernel taps and
input channels 4 at a time (vec4 loads). Usage: gen_conv2d_reg.py TM V"""
import sys

def gen(tm, v):
    L = []
    w = L.append
    w(f"// Implicit GEMM: {tm} pixels x {4*v} channels per invocation; cin, cout % 4 == 0.")
    w("@compute @workgroup_size(64)")
    w("fn conv2d_reg(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {")
    w("    let id = gid.x + gid.y * nwg.x * 64u;")
    w(f"    let ncb = (p.cout + {4*v-1}u) / {4*v}u;")
    w("    let rows = p.n * p.oh * p.ow;")
    w(f"    if id >= ncb * ((rows + {tm-1}u) / {tm}u) {{ return; }}")
    w(f"    let col0 = (id % ncb) * {4*v}u;")
    w(f"    let row0 = (id / ncb) * {tm}u;")
    w("    let co4 = p.cout / 4u;")
    w("    let ci4 = p.cin / 4u;")
    for j in range(v):
        w(f"    let c{j} = min(col0 / 4u + {j}u, co4 - 1u);")
    for r in range(tm):
        w(f"    let px{r} = pixel(min(row0 + {r}u, rows - 1u));")
    for r in range(tm):
        for j in range(v):
            w(f"    var acc{r}_{j} = vec4<f32>(0.0);")
    w("    for (var ky = 0u; ky < p.kh; ky++) {")
    w("        for (var kx = 0u; kx < p.kw; kx++) {")
    for r in range(tm):
        w(f"            let t{r} = tap(px{r}, ky, kx);")
        w(f"            let m{r} = f32(t{r}.y);")
    w("            let fbase = (ky * p.kw + kx) * p.cin * co4;")
    w("            for (var ci = 0u; ci < ci4; ci++) {")
    w("                let fr = fbase + ci * 4u * co4;")
    for t in range(4):
        for j in range(v):
            w(f"                let b{t}_{j} = f4[fr + {t}u * co4 + c{j}];")
    for r in range(tm):
        w(f"                let av{r} = x4[t{r}.x + ci] * m{r};")
        for j in range(v):
            e = f"acc{r}_{j}"
            w(f"                {e} = fma(vec4(av{r}.x), b0_{j}, {e}); {e} = fma(vec4(av{r}.y), b1_{j}, {e}); {e} = fma(vec4(av{r}.z), b2_{j}, {e}); {e} = fma(vec4(av{r}.w), b3_{j}, {e});")
    w("            }")
    w("        }")
    w("    }")
    for r in range(tm):
        for j in range(v):
            w(f"    store4(row0 + {r}u, col0 / 4u + {j}u, rows, acc{r}_{j});")
    w("}")
    return "\n".join(L)

if __name__ == "__main__":
    print(gen(int(sys.argv[1]), int(sys.argv[2])))
