#!/usr/bin/env python3
"""Generates the cell-pair pooling entry points of shaders/pool.wgsl (c % 4 == 2, full 2x2
windows with column stride 2 over an even-width input): `pool_pairs{V}` (the forward) and
`max_pool_grad_pairs{V}` (the exact-tile max backward) for each odd V = c / 2 from V0 to V1,
straight-line code over the V vec4s of each window row (loops over a local array of vec4s ran
2-3x slower on SwiftShader). Half h of a row (floats 2h, 2h + 1) is channel pair h % V of cell
h / V. Usage: gen_pool_pairs.py [V0 V1] [--check] rewrites shaders/pool.wgsl in place."""

from gen_region import args, splice


def half(row, h):
    """The vec2 half h of window row `row` (a or b), whose vec4s are row0 .. row{V-1}."""
    return f"{row}{h // 2}.{'xy' if h % 2 == 0 else 'zw'}"


def head(w, name, v):
    """An entry point's opening: one output pixel per invocation (`id`), its window's two rows
    loaded as V vec4s each (a: the first row, b: the second)."""
    w(f"@compute @workgroup_size(64)")
    w(f"fn {name}{v}(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {{")
    w(f"    let id = gid.x + gid.y * nwg.x * 64u;")
    w(f"    if id >= p.total {{ return; }}")
    w(f"    let s0 = pair_start(window(id));")
    w(f"    let s1 = s0 + p.w * p.c / 4u;")
    for row, s in (("a", "s0"), ("b", "s1")):
        w("    " + " ".join(f"let {row}{k} = x4[{s} + {k}u];" for k in range(v)))


def cells(m, v):
    """Channel pair m's 4 cells, row-major: halves m and v + m of both rows."""
    return ", ".join(half(r, h) for r in "ab" for h in (m, v + m))


def forward(w, v):
    """pool_pairs{v}: each channel pair pooled from its 4 cells."""
    head(w, "pool_pairs", v)
    for m in range(v):
        w(f"    out2[id * {v}u + {m}u] = pair_pool({cells(m, v)});")
    w(f"}}")


def backward(w, v):
    """max_pool_grad_pairs{v}: each channel pair's first maximum, then both rows written back."""
    head(w, "max_pool_grad_pairs", v)
    for m in range(v):
        w(f"    let at{m} = pair_argmax({cells(m, v)});")
        w(f"    let g{m} = max_up2(id * {v}u + {m}u);")

    def val(h, row):
        m, cell = h % v, h // v + 2 * row
        return f"pair_routed(g{m}, at{m}, {cell}u)"

    for row, s in ((0, "s0"), (1, "s1")):
        for k in range(v):
            w(f"    gx4[{s} + {k}u] = vec4({val(2 * k, row)}, {val(2 * k + 1, row)});")
    w(f"}}")


if __name__ == "__main__":
    # Usage: tools/gen_pool_pairs.py [V0 V1] [--check]
    v0, v1, check = args("1", "7")
    if int(v0) % 2 == 0 or int(v1) % 2 == 0 or int(v0) > int(v1):
        raise SystemExit("V0 <= V1 must be odd (V = c / 2 with c % 4 == 2)")
    L = []
    for v in range(int(v0), int(v1) + 1, 2):
        forward(L.append, v)
        L.append("")
        backward(L.append, v)
        L.append("")
    splice("pool.wgsl", "gen_pool_pairs.py", v0, v1, "\n".join(L[:-1]), check)
