// Dense-layer backward in one dispatch: for `y = act(x·w + bias)` with input x [batch, inputs],
// kernel w [inputs, units] and upstream gradient g [batch, units], with gz = act'(y)·g formed
// where it is read (common.wgsl's `activation_grad`, from the layer's output y):
//   dx[b, i] = Σ_u gz[b, u]·w[i, u]    dw[i, u] = Σ_b x[b, i]·gz[b, u]    db[u] = Σ_b gz[b, u]
// the work of `bias_act_grad_cols` and two matmuls (three dispatches) for layers small enough
// to be launch-bound (LeNet's: 32 x 400 x 120 at most).
// Layout: invocations run along `inputs` (lane i of a block of WG), and a workgroup owns a
// block of RB rows of gz that all its lanes share: units u0..u0+RB for dw, batch rows for dx.
// A step loads one value per lane (x[b, i] or w[i, u]) and the RB gz values at addresses
// uniform across the workgroup, which CPU adapters load once instead of lane by lane. db is
// lane `inputs` of the dw blocks, whose x reads as 1. Workgroups [0, p.dw_groups) compute dw
// and db, the rest dx. Rows and columns past the ends read clamped indices and are not stored.
// The CPU twin is `dense_grad_cpu` in crates/kernels/src/dense_grad.rs.

struct Params {
    batch: u32, inputs: u32, units: u32, act: u32,
    // lane blocks of WG covering inputs + 1 lanes (the last lane of dw is db), and workgroups
    // of the dw part (lane blocks x unit blocks of RB)
    lane_blocks: u32, dw_groups: u32, _p0: u32, _p1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
// The layer's output, read only with an activation (the launcher binds g here without one).
@group(0) @binding(3) var<storage, read> y: array<f32>;
@group(0) @binding(4) var<storage, read> g: array<f32>;
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;
@group(0) @binding(6) var<storage, read_write> dw: array<f32>;
@group(0) @binding(7) var<storage, read_write> db: array<f32>;

const WG: u32 = 64u;

// The activation (common.wgsl's codes, as `p.act`), fixed at pipeline creation.
override ACT: u32 = 0u;

fn gz(idx: u32) -> f32 {
    if ACT == 0u { return g[idx]; }
    return activation_grad(y[idx], g[idx], ACT);
}

// gz at element offsets o + d of its buffer (d a lane-uniform stride pattern).
fn gz4(o: vec4<u32>) -> vec4<f32> {
    return vec4<f32>(gz(o.x), gz(o.y), gz(o.z), gz(o.w));
}

@compute @workgroup_size(64)
fn dense_grad(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
) {
    let t = wid.x + wid.y * nwg.x;
    if t < p.dw_groups {
        weight_block(t % p.lane_blocks, t / p.lane_blocks, lid.x);
    } else if t < p.dw_groups + p.lane_blocks * ((p.batch + 15u) / 16u) {
        let s = t - p.dw_groups;
        input_block(s % p.lane_blocks, s / p.lane_blocks, lid.x);
    }
}

// Column offsets u0 + 4q + (0..3), clamped to the last unit.
fn cols4(u0: u32, q: u32) -> vec4<u32> {
    return min(vec4<u32>(u0 + 4u * q) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(p.units - 1u));
}

// dw[i, u0..u0+16) (lane i < inputs) or db[u0..u0+16) (lane i == inputs).
fn weight_block(lb: u32, ub: u32, l: u32) {
    let i = lb * WG + l;
    let u0 = ub * 16u;
    let ic = min(i, p.inputs - 1u);
    let one = i == p.inputs;
    let c0 = cols4(u0, 0u);
    let c1 = cols4(u0, 1u);
    let c2 = cols4(u0, 2u);
    let c3 = cols4(u0, 3u);
    var a0 = vec4<f32>(0.0);
    var a1 = vec4<f32>(0.0);
    var a2 = vec4<f32>(0.0);
    var a3 = vec4<f32>(0.0);
    for (var b = 0u; b < p.batch; b++) {
        let xv = vec4<f32>(select(x[b * p.inputs + ic], 1.0, one));
        let r = vec4<u32>(b * p.units);
        a0 = fma(xv, gz4(r + c0), a0);
        a1 = fma(xv, gz4(r + c1), a1);
        a2 = fma(xv, gz4(r + c2), a2);
        a3 = fma(xv, gz4(r + c3), a3);
    }
    if i > p.inputs { return; }
    let acc = array<vec4<f32>, 4>(a0, a1, a2, a3);
    for (var j = 0u; j < 16u; j++) {
        let u = u0 + j;
        if u >= p.units { break; }
        let v = acc[j / 4u][j % 4u];
        if one { db[u] = v; } else { dw[i * p.units + u] = v; }
    }
}

// Row offsets (b0 + 4q + (0..3)) · units, rows clamped to the last.
fn rows4(b0: u32, q: u32) -> vec4<u32> {
    let r = min(vec4<u32>(b0 + 4u * q) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(p.batch - 1u));
    return r * p.units;
}

// dx[b0..b0+16, i] (lane i < inputs).
fn input_block(lb: u32, bb: u32, l: u32) {
    let i = lb * WG + l;
    let b0 = bb * 16u;
    let ic = min(i, p.inputs - 1u);
    let r0 = rows4(b0, 0u);
    let r1 = rows4(b0, 1u);
    let r2 = rows4(b0, 2u);
    let r3 = rows4(b0, 3u);
    var a0 = vec4<f32>(0.0);
    var a1 = vec4<f32>(0.0);
    var a2 = vec4<f32>(0.0);
    var a3 = vec4<f32>(0.0);
    let wr = ic * p.units;
    for (var u = 0u; u < p.units; u++) {
        let wv = vec4<f32>(w[wr + u]);
        let c = vec4<u32>(u);
        a0 = fma(gz4(r0 + c), wv, a0);
        a1 = fma(gz4(r1 + c), wv, a1);
        a2 = fma(gz4(r2 + c), wv, a2);
        a3 = fma(gz4(r3 + c), wv, a3);
    }
    if i >= p.inputs { return; }
    let acc = array<vec4<f32>, 4>(a0, a1, a2, a3);
    for (var j = 0u; j < 16u; j++) {
        let b = b0 + j;
        if b >= p.batch { break; }
        dx[b * p.inputs + i] = acc[j / 4u][j % 4u];
    }
}
