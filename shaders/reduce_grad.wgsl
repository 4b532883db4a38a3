// Gradients of the reduction family. The input shape is given with size-1 dimensions dropped
// and neighbouring dimensions of the same kind (kept / reduced) merged, at most 8 left:
// `dims` the sizes, `xs` the strides in the input, `gs` the strides in the (keepdims) reduced
// output, 0 on reduced dimensions.
// `broadcast_back`: one invocation per input element, out[t] = scale * g[reduced index of t]
//   (the gradient of reduce_sum / reduce_mean).
// `max_grad`: one invocation per output element; finds the first maximum of its reduced
//   elements in row-major order and writes g there, zeros elsewhere (reduce_max's gradient).

struct Params {
    rank: u32, n: u32, red: u32, _p0: u32,
    scale: f32, _p1: u32, _p2: u32, _p3: u32,
    dims: array<vec4<u32>, 2>,
    xs: array<vec4<u32>, 2>,
    gs: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<storage, read> g: array<f32>;

fn lin(gid: vec3<u32>, nwg: vec3<u32>) -> u32 { return linear_index(gid, nwg, 256u); }
fn dim(d: u32) -> u32 { return p.dims[d / 4u][d % 4u]; }
fn xs(d: u32) -> u32 { return p.xs[d / 4u][d % 4u]; }
fn gs(d: u32) -> u32 { return p.gs[d / 4u][d % 4u]; }

// Here `x` holds the upstream gradient (reduced shape); `out` the input-shaped gradient.
@compute @workgroup_size(256)
fn broadcast_back(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = lin(gid, nwg);
    if t >= p.n { return; }
    var rem = t;
    var gi = 0u;
    for (var d = p.rank; d > 0u; d--) {
        let n = dim(d - 1u);
        gi += (rem % n) * gs(d - 1u);
        rem /= n;
    }
    out[t] = x[gi] * p.scale;
}

// Input offset of the r-th reduced element (row-major over the reduced dimensions).
fn red_offset(r: u32) -> u32 {
    var rem = r;
    var off = 0u;
    for (var d = p.rank; d > 0u; d--) {
        if gs(d - 1u) == 0u {
            let n = dim(d - 1u);
            off += (rem % n) * xs(d - 1u);
            rem /= n;
        }
    }
    return off;
}

@compute @workgroup_size(256)
fn max_grad(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let o = lin(gid, nwg);
    if o >= p.n { return; }
    var rem = o;
    var base = 0u;
    for (var d = p.rank; d > 0u; d--) {
        if gs(d - 1u) != 0u {
            let n = dim(d - 1u);
            base += (rem % n) * xs(d - 1u);
            rem /= n;
        }
    }
    var best = x[base];
    var arg = 0u;
    for (var r = 1u; r < p.red; r++) {
        let v = x[base + red_offset(r)];
        if v > best {
            best = v;
            arg = r;
        }
    }
    let gv = g[o];
    for (var r = 0u; r < p.red; r++) {
        out[base + red_offset(r)] = select(0.0, gv, r == arg);
    }
}
