#!/usr/bin/env python3
"""Generates the register-blocked entry point of shaders/dense_grad.wgsl, `dense_grad_reg`
(inputs and units multiples of 4): a lane owns a tile of dw (TI inputs x TR units), of db (TR
units) or of dx (TR batch rows x TI inputs), fully unrolled so the accumulators stay in
registers on CPU adapters, with vec4 loads; gz = act'(y)·g is formed as it is loaded (`gzv`).
dx reads w along its contiguous units and transposes 4x4 blocks in registers.
Usage: gen_dense_grad.py [TI TR] [--check] rewrites shaders/dense_grad.wgsl in place (TI and
TR multiples of 4)."""

from gen_region import args, splice

XYZW = "xyzw"


def weight_tile(w, ti, tr):
    """reg_dw: dw[i0 .. i0 + ti, u0 .. u0 + tr], summed over the batch."""
    w(f"// dw[i0 .. i0 + {ti}, u0 .. u0 + {tr}] (rows and columns past the ends are not stored).")
    w(f"fn reg_dw(i0: u32, u0: u32, in4: u32, un4: u32) {{")
    for q in range(ti // 4):
        w(f"    let xq{q} = min(i0 / 4u + {q}u, in4 - 1u);")
    for c in range(tr // 4):
        w(f"    let uq{c} = min(u0 / 4u + {c}u, un4 - 1u);")
    for r in range(ti):
        for c in range(tr // 4):
            w(f"    var acc{r}_{c} = vec4<f32>(0.0);")
    w(f"    for (var b = 0u; b < p.batch; b++) {{")
    for q in range(ti // 4):
        w(f"        let xv{q} = x4[b * in4 + xq{q}];")
    for c in range(tr // 4):
        w(f"        let gz{c} = gzv(b * un4 + uq{c});")
    for r in range(ti):
        w("        " + " ".join(
            f"acc{r}_{c} = fma(vec4(xv{r // 4}.{XYZW[r % 4]}), gz{c}, acc{r}_{c});" for c in range(tr // 4)))
    w(f"    }}")
    for r in range(ti):
        for c in range(tr // 4):
            w(f"    if i0 + {r}u < p.inputs && u0 / 4u + {c}u < un4 {{ dw4[(i0 + {r}u) * un4 + u0 / 4u + {c}u] = acc{r}_{c}; }}")
    w(f"}}")


def bias_tile(w, tr):
    """reg_db: db[u0 .. u0 + tr], the batch's sum of gz."""
    w(f"// db[u0 .. u0 + {tr}].")
    w(f"fn reg_db(u0: u32, un4: u32) {{")
    for c in range(tr // 4):
        w(f"    let uq{c} = min(u0 / 4u + {c}u, un4 - 1u);")
        w(f"    var d{c} = vec4<f32>(0.0);")
    w(f"    for (var b = 0u; b < p.batch; b++) {{")
    for c in range(tr // 4):
        w(f"        d{c} += gzv(b * un4 + uq{c});")
    w(f"    }}")
    for c in range(tr // 4):
        w(f"    if u0 / 4u + {c}u < un4 {{ db4[u0 / 4u + {c}u] = d{c}; }}")
    w(f"}}")


def input_tile(w, ti, tr):
    """reg_dx: dx[b0 .. b0 + tr, i0 .. i0 + ti], summed over the units 4 at a time."""
    w(f"// dx[b0 .. b0 + {tr}, i0 .. i0 + {ti}] (rows and columns past the ends are not stored).")
    w(f"fn reg_dx(b0: u32, i0: u32, in4: u32, un4: u32) {{")
    for r in range(tr):
        w(f"    let br{r} = min(b0 + {r}u, p.batch - 1u) * un4;")
    for k in range(ti):
        w(f"    let wr{k} = min(i0 + {k}u, p.inputs - 1u) * un4;")
    for r in range(tr):
        for c in range(ti // 4):
            w(f"    var acc{r}_{c} = vec4<f32>(0.0);")
    w(f"    for (var uq = 0u; uq < un4; uq++) {{")
    for k in range(ti):
        w(f"        let wt{k} = w4[wr{k} + uq];")
    for t in range(4):
        for c in range(ti // 4):
            names = ", ".join(f"wt{4 * c + e}.{XYZW[t]}" for e in range(4))
            w(f"        let w{t}_{c} = vec4<f32>({names});")
    for r in range(tr):
        w(f"        let gz{r} = gzv(br{r} + uq);")
        for c in range(ti // 4):
            e = f"acc{r}_{c}"
            w("        " + " ".join(f"{e} = fma(vec4(gz{r}.{XYZW[t]}), w{t}_{c}, {e});" for t in range(4)))
    w(f"    }}")
    for r in range(tr):
        for c in range(ti // 4):
            w(f"    if b0 + {r}u < p.batch && i0 / 4u + {c}u < in4 {{ dx4[(b0 + {r}u) * in4 + i0 / 4u + {c}u] = acc{r}_{c}; }}")
    w(f"}}")


def entry(w, ti, tr):
    """dense_grad_reg: a workgroup's tiles are all of one kind (dw, db or dx), and the dx
    workgroups are spread evenly among the others (every k-th), so that any contiguous run of
    workgroups (a CPU adapter hands each thread one) carries a fair share of both products."""
    w(f"// Register-blocked, inputs and units multiples of 4: a lane owns a tile of dw ({ti} x {tr}),")
    w(f"// of db ({tr}) or of dx ({tr} x {ti}); vec4 loads, no shared memory. A workgroup's lanes")
    w(f"// own tiles of one kind: dx workgroups are every k-th (k = workgroups / dx workgroups), the")
    w(f"// rest dw then db, so each contiguous run of workgroups (CPU adapters deal them out in")
    w(f"// runs, one per thread) holds its share of both products.")
    w(f"@compute @workgroup_size(WG_REG)")
    w(f"fn dense_grad_reg(")
    w(f"    @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,")
    w(f"    @builtin(local_invocation_index) lane: u32,")
    w(f") {{")
    w(f"    let g = wid.x + wid.y * nwg.x;")
    w(f"    let in4 = p.inputs / 4u;")
    w(f"    let un4 = p.units / 4u;")
    w(f"    let nub = (p.units + {tr - 1}u) / {tr}u;")
    w(f"    let nib = (p.inputs + {ti - 1}u) / {ti}u;")
    w(f"    let dx_tiles = nib * ((p.batch + {tr - 1}u) / {tr}u);")
    w(f"    let dw_groups = (p.dw_tiles + WG_REG - 1u) / WG_REG;")
    w(f"    let dx_groups = (dx_tiles + WG_REG - 1u) / WG_REG;")
    w(f"    let groups = dw_groups + (p.db_tiles + WG_REG - 1u) / WG_REG + dx_groups;")
    w(f"    let k = groups / max(dx_groups, 1u);")
    w(f"    let dx_before = min(g / k, dx_groups);")
    w(f"    if g % k == k - 1u && g / k < dx_groups {{")
    w(f"        let t = dx_before * WG_REG + lane;")
    w(f"        if t < dx_tiles {{ reg_dx((t / nib) * {tr}u, (t % nib) * {ti}u, in4, un4); }}")
    w(f"        return;")
    w(f"    }}")
    w(f"    let o = g - dx_before;")
    w(f"    if o < dw_groups {{")
    w(f"        let t = o * WG_REG + lane;")
    w(f"        if t < p.dw_tiles {{ reg_dw((t / nub) * {ti}u, (t % nub) * {tr}u, in4, un4); }}")
    w(f"    }} else {{")
    w(f"        let t = (o - dw_groups) * WG_REG + lane;")
    w(f"        if t < p.db_tiles {{ reg_db(t * {tr}u, un4); }}")
    w(f"    }}")
    w(f"}}")


if __name__ == "__main__":
    # Usage: tools/gen_dense_grad.py [TI TR] [--check]
    ti, tr, check = args("16", "8")
    if int(ti) % 4 or int(tr) % 4:
        raise SystemExit("TI and TR must be multiples of 4 (vec4 loads along both)")
    L = []
    entry(L.append, int(ti), int(tr))
    L.append("")
    weight_tile(L.append, int(ti), int(tr))
    L.append("")
    bias_tile(L.append, int(tr))
    L.append("")
    input_tile(L.append, int(ti), int(tr))
    splice("dense_grad.wgsl", "gen_dense_grad.py", ti, tr, "\n".join(L), check)
