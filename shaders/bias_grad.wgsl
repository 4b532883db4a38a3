// Bias gradients of a layer `y = act(x·w + bias)` whose output `y` is `[rows, cols]`
// (channels last), one dispatch each:
// `bias_grad` (no activation): db[j] = Σ_r g[r, j]; the gradient itself passes through
// unchanged, so only `db` is written.
// `bias_act_grad`: gz[r, j] = act'(y[r, j])·g[r, j] and db[j] = Σ_r gz[r, j]. act' from the
// output: relu (op 1: g where y > 0), sigmoid (op 2: g·y·(1−y)), tanh (op 3: g·(1−y²)), as
// the binary ops relu_grad/sigmoid_grad/tanh_grad of elementwise.wgsl.
// Layout (tall inputs stay parallel and read memory in order): one workgroup of 256 lanes per
// block of `bw = min(cols, 16)` columns; lane t reads column `t % bw` of the block at rows
// `t / bw`, `t / bw + lanes / bw`, ... (`lanes = 256 / bw · bw`), so each step reads whole
// row segments; then lane j < bw adds the partial sums of its column from workgroup memory.
// Few rows (a dense layer's batch): `bias_grad_cols` / `bias_act_grad_cols`, one lane per
// column summing it down every row, without workgroup memory or a barrier — software adapters
// pay dearly for a barrier (SwiftShader ran `bias_act_grad` on LeNet's [32, 120] in 1.1 ms,
// the column form in 0.1). Same sums, in row order.
// The CPU twins are `bias_grad_cpu` and `bias_act_grad_cpu` in
// crates/kernels/src/bias_grad.rs.

struct Params {
    rows: u32, cols: u32, op: u32, _p: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read_write> db: array<f32>;
@group(0) @binding(3) var<storage, read> y: array<f32>;
@group(0) @binding(4) var<storage, read_write> gz: array<f32>;

const WG: u32 = 256u;
const BLOCK: u32 = 16u;

var<workgroup> part: array<f32, 256>;

// A lane's place: its column (`col`, in cols only when `on`), first row and row step.
struct Lane {
    col: u32, row0: u32, step: u32, on: bool,
}

fn lane_of(block: u32, t: u32) -> Lane {
    let bw = min(p.cols, BLOCK);
    let step = WG / bw;
    let col = block * BLOCK + t % bw;
    return Lane(col, t / bw, step, t < step * bw && col < p.cols);
}

// The activation's op (as `p.op`), fixed at pipeline creation: a switch on a uniform would
// run every case on CPU adapters.
override OP: u32 = 1u;

fn act_grad(x: f32, up: f32) -> f32 {
    switch OP {
        case 1u: { return select(0.0, up, x > 0.0); }
        case 2u: { return up * x * (1.0 - x); }
        case 3u: { return up * (1.0 - x * x); }
        default: { return up; }
    }
}

// Stores this lane's partial sum, then lane j < bw writes db of column j of the block.
fn finish(block: u32, t: u32, s: f32) {
    part[t] = s;
    workgroupBarrier();
    let bw = min(p.cols, BLOCK);
    let col = block * BLOCK + t;
    if t < bw && col < p.cols {
        var total = 0.0;
        for (var k = t; k < (WG / bw) * bw; k += bw) {
            total += part[k];
        }
        db[col] = total;
    }
}

@compute @workgroup_size(256)
fn bias_grad(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let block = wid.x + wid.y * nwg.x;
    let l = lane_of(block, lid.x);
    var s = 0.0;
    if l.on {
        for (var r = l.row0; r < p.rows; r += l.step) {
            s += g[r * p.cols + l.col];
        }
    }
    finish(block, lid.x, s);
}

@compute @workgroup_size(256)
fn bias_act_grad(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let block = wid.x + wid.y * nwg.x;
    let l = lane_of(block, lid.x);
    var s = 0.0;
    if l.on {
        for (var r = l.row0; r < p.rows; r += l.step) {
            let i = r * p.cols + l.col;
            let v = act_grad(y[i], g[i]);
            gz[i] = v;
            s += v;
        }
    }
    finish(block, lid.x, s);
}

// The column of lane `gid` for the `_cols` kernels (past `cols` for the grid's spare lanes).
fn column(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return gid.x + gid.y * nwg.x * 64u;
}

@compute @workgroup_size(64)
fn bias_grad_cols(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let col = column(gid, nwg);
    if col >= p.cols { return; }
    var s = 0.0;
    for (var r = 0u; r < p.rows; r++) {
        s += g[r * p.cols + col];
    }
    db[col] = s;
}

@compute @workgroup_size(64)
fn bias_act_grad_cols(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let col = column(gid, nwg);
    if col >= p.cols { return; }
    var s = 0.0;
    for (var r = 0u; r < p.rows; r++) {
        let i = r * p.cols + col;
        let v = act_grad(y[i], g[i]);
        gz[i] = v;
        s += v;
    }
    db[col] = s;
}
