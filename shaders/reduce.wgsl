// Reduction family. Every kernel views its input as [outer, len, inner] and reduces the
// middle axis. `reduce_axis` writes `parts` interleaved partial results per (outer, inner)
// pair (partial g covers a = g, g + parts, ...): with parts = 1 it is the whole reduction,
// with parts > 1 the launcher reduces the [outer, parts, inner] partials in a further pass,
// so a full reduction of a large tensor is spread over many invocations (no barriers).
// `argmax_axis` returns the first index of the maximum as f32 (TensorFlow's rule: NaN never
// wins, and a row with no number above the lowest f32 gives 0).

struct Params {
    outer: u32, len: u32, inner: u32, parts: u32,
    op: u32, _p0: u32, init: f32, scale: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

fn lin(gid: vec3<u32>, nwg: vec3<u32>) -> u32 { return linear_index(gid, nwg, 256u); }

// out[o, g, i] = scale * reduce_{a = g, g + parts, ...} x[o, a, i]; op 0 = sum, 1 = max.
@compute @workgroup_size(256)
fn reduce_axis(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = lin(gid, nwg);
    if t >= p.outer * p.parts * p.inner { return; }
    let i = t % p.inner;
    let g = (t / p.inner) % p.parts;
    let o = t / (p.inner * p.parts);
    let base = o * p.len * p.inner + i;
    let step = p.parts * p.inner;
    var a = g;
    var idx = base + g * p.inner;
    if p.op == 0u {
        // Two accumulators break the add dependency chain.
        var s0 = 0.0;
        var s1 = 0.0;
        for (; a + p.parts < p.len; a += 2u * p.parts) {
            s0 += x[idx];
            s1 += x[idx + step];
            idx += 2u * step;
        }
        if a < p.len { s0 += x[idx]; }
        out[t] = (s0 + s1) * p.scale;
    } else {
        var m = p.init;
        for (; a < p.len; a += p.parts) {
            m = max_nan(m, x[idx]);
            idx += step;
        }
        out[t] = m * p.scale;
    }
}

// out[o, i] = the first a maximising x[o, a, i] (len >= 1).
@compute @workgroup_size(256)
fn argmax_axis(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = lin(gid, nwg);
    if t >= p.outer * p.inner { return; }
    let i = t % p.inner;
    let o = t / p.inner;
    let base = o * p.len * p.inner + i;
    var best = -0x1.fffffep+127f; // TF's (Eigen's) start: the lowest f32, so NaN never wins
    var arg = 0u;
    for (var a = 0u; a < p.len; a++) {
        let v = x[base + a * p.inner];
        if v > best {
            best = v;
            arg = a;
        }
    }
    out[t] = f32(arg);
}
