// Fused activation gradient and bias gradient of a layer `y = act(x·w + bias)` whose output
// `y` is `[rows, cols]` (channels last): gz[r, j] = act'(y[r, j])·g[r, j] and
// db[j] = Σ_r gz[r, j], one dispatch instead of an activation-gradient dispatch and a
// reduction. act' from the output: relu (op 1: g where y > 0), sigmoid (op 2: g·y·(1−y)),
// tanh (op 3: g·(1−y²)), as the binary ops relu_grad/sigmoid_grad/tanh_grad of
// elementwise.wgsl. One workgroup per column (2-D grid when cols exceeds one dimension),
// 64 threads striding over the rows, a tree sum in workgroup memory. The CPU twin is
// `bias_act_grad_cpu` in crates/kernels/src/bias_grad.rs.

struct Params {
    rows: u32, cols: u32, op: u32, _p: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read_write> gz: array<f32>;
@group(0) @binding(4) var<storage, read_write> db: array<f32>;

var<workgroup> part: array<f32, 64>;

fn act_grad(x: f32, up: f32) -> f32 {
    switch p.op {
        case 1u: { return select(0.0, up, x > 0.0); }
        case 2u: { return up * x * (1.0 - x); }
        case 3u: { return up * (1.0 - x * x); }
        default: { return up; }
    }
}

@compute @workgroup_size(64)
fn bias_act_grad(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let j = wid.x + wid.y * nwg.x;
    var s = 0.0;
    if j < p.cols {
        for (var r = lid.x; r < p.rows; r += 64u) {
            let i = r * p.cols + j;
            let v = act_grad(y[i], g[i]);
            gz[i] = v;
            s += v;
        }
    }
    part[lid.x] = s;
    workgroupBarrier();
    for (var w = 32u; w > 0u; w = w >> 1u) {
        if lid.x < w {
            part[lid.x] += part[lid.x + w];
        }
        workgroupBarrier();
    }
    if lid.x == 0u && j < p.cols {
        db[j] = part[0];
    }
}
