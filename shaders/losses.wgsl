// Loss family over rows of k logits (one invocation per row, numerically stable: the row max
// is subtracted first). Labels are dense [rows, k] rows, or (sparse = 1) one f32 class id per
// row; an id that is not an integer in [0, k) gives `nan` (NaN) as that row's loss and
// gradient (tessera-nn checks labels on the host first where it can, and reports an error).
// `xent_rows`: out[r] = Σ_j labels[r, j] · (lse(x[r]) − x[r, j]) (dense) or lse − x[r, id].
// `xent_mean`: out[0] = the mean over rows of xent_rows (one workgroup, a tree sum): a
// Keras cross-entropy loss in one dispatch.
// `xent_grad_rows`: out[r, j] = g[r·g_stride] · g_scale · (softmax(x[r])_j − labels[r, j])
// for the upstream gradient g (bound as `aux`)
// (g_stride 0 and g_scale 1/rows: the gradient of xent_mean from its scalar gradient).
// `one_hot`: out[i, j] = 1 when labels[i] == j, else 0 (labels viewed as `rows` ids).
// `correct_rows`: out[r] = 1 when the first argmax of x[r] equals labels[r], else 0.
// `correct_mean`: out[0] = the mean over rows of correct_rows (one workgroup): sparse
// categorical accuracy in one dispatch.
// `xent_mean_accuracy`: xent_mean's out[0] and correct_mean's value in aux[0], one pass over
// the rows (sparse labels): a training step's loss and accuracy in one dispatch.
// `xent_mean_accuracy_grad`: the same, and in dx what xent_grad_rows writes for an upstream
// gradient of 1 (g_scale 1/rows; `xent_row_grad`, the same arithmetic): a training step's
// loss, accuracy and logits gradient in one dispatch.

struct Params {
    rows: u32, k: u32, sparse: u32, _p0: u32,
    nan: f32, g_stride: u32, g_scale: f32, _p3: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> labels: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<storage, read> x: array<f32>;
// xent_grad_rows: the upstream gradient (read); xent_mean_accuracy: the accuracy (written).
@group(0) @binding(4) var<storage, read_write> aux: array<f32>;
// xent_mean_accuracy_grad: the logits gradient for an upstream gradient of 1 (written).
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;

fn lin(gid: vec3<u32>, nwg: vec3<u32>, wg: u32) -> u32 { return linear_index(gid, nwg, wg); }

fn row_max(base: u32) -> f32 {
    var m = x[base];
    for (var j = 1u; j < p.k; j++) { m = max_nan(m, x[base + j]); }
    return m;
}

fn row_sum_exp(base: u32, m: f32) -> f32 {
    var s = 0.0;
    for (var j = 0u; j < p.k; j++) { s += exp(x[base + j] - m); }
    return s;
}

// True when the sparse label of row r is an integer class id in [0, k).
fn valid_id(r: u32) -> bool {
    let l = labels[r];
    return l >= 0.0 && l < f32(p.k) && fract(l) == 0.0;
}

fn row_loss(r: u32) -> f32 {
    let base = r * p.k;
    let m = row_max(base);
    let ls = log(row_sum_exp(base, m));
    if p.sparse != 0u {
        let ok = valid_id(r);
        let c = select(0u, u32(labels[r]), ok);
        return select(p.nan, (m - x[base + c]) + ls, ok);
    }
    var loss = 0.0;
    for (var j = 0u; j < p.k; j++) { loss += labels[base + j] * ((m - x[base + j]) + ls); }
    return loss;
}

@compute @workgroup_size(64)
fn xent_rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let r = lin(gid, nwg, 64u);
    if r >= p.rows { return; }
    out[r] = row_loss(r);
}

// The first argmax of row r (as argmax_axis: NaN never wins, TensorFlow's rule).
fn row_argmax(r: u32) -> u32 {
    let base = r * p.k;
    var best = -0x1.fffffep+127f;
    var arg = 0u;
    for (var j = 0u; j < p.k; j++) {
        let v = x[base + j];
        if v > best {
            best = v;
            arg = j;
        }
    }
    return arg;
}

// 1 when row r's first argmax equals its label, else 0.
fn row_correct(r: u32) -> f32 {
    return select(0.0, 1.0, labels[r] == f32(row_argmax(r)));
}

var<workgroup> part: array<vec2<f32>, 64>;

// The mean over rows of the workgroup's 64 partial sums `s` (a tree sum), in every lane.
fn workgroup_mean(lane: u32, s: vec2<f32>) -> vec2<f32> {
    part[lane] = s;
    workgroupBarrier();
    for (var w = 32u; w > 0u; w = w >> 1u) {
        if lane < w { part[lane] += part[lane + w]; }
        workgroupBarrier();
    }
    return part[0] / f32(p.rows);
}

@compute @workgroup_size(64)
fn xent_mean(@builtin(local_invocation_id) lid: vec3<u32>) {
    var s = 0.0;
    for (var r = lid.x; r < p.rows; r += 64u) { s += row_loss(r); }
    let m = workgroup_mean(lid.x, vec2(s, 0.0));
    if lid.x == 0u { out[0] = m.x; }
}

@compute @workgroup_size(64)
fn correct_mean(@builtin(local_invocation_id) lid: vec3<u32>) {
    var s = 0.0;
    for (var r = lid.x; r < p.rows; r += 64u) { s += row_correct(r); }
    let m = workgroup_mean(lid.x, vec2(0.0, s));
    if lid.x == 0u { out[0] = m.y; }
}

@compute @workgroup_size(64)
fn xent_mean_accuracy_grad(@builtin(local_invocation_id) lid: vec3<u32>) {
    var s = vec2(0.0);
    for (var r = lid.x; r < p.rows; r += 64u) {
        s += vec2(row_loss(r), row_correct(r));
        let g = row_grad(r);
        for (var j = 0u; j < p.k; j++) {
            dx[r * p.k + j] = xent_row_grad(r, j, g, p.g_scale);
        }
    }
    let m = workgroup_mean(lid.x, s);
    if lid.x == 0u {
        out[0] = m.x;
        aux[0] = m.y;
    }
}

@compute @workgroup_size(64)
fn xent_mean_accuracy(@builtin(local_invocation_id) lid: vec3<u32>) {
    var s = vec2(0.0);
    for (var r = lid.x; r < p.rows; r += 64u) { s += vec2(row_loss(r), row_correct(r)); }
    let m = workgroup_mean(lid.x, s);
    if lid.x == 0u {
        out[0] = m.x;
        aux[0] = m.y;
    }
}

// Row r's softmax and label, as its gradient needs them: the row max `m`, 1 / Σ exp(x − m),
// and for sparse labels the class id (k, matching no column, when the id is not valid).
struct RowGrad { m: f32, inv: f32, c: u32 }

fn row_grad(r: u32) -> RowGrad {
    let base = r * p.k;
    let m = row_max(base);
    let c = select(p.k, u32(labels[r]), p.sparse != 0u && valid_id(r));
    return RowGrad(m, 1.0 / row_sum_exp(base, m), c);
}

// gr · (softmax(x[r])_j − labels[r, j]); NaN for a sparse row whose id is not valid.
fn xent_row_grad(r: u32, j: u32, g: RowGrad, gr: f32) -> f32 {
    let i = r * p.k + j;
    let sm = exp(x[i] - g.m) * g.inv;
    if p.sparse != 0u {
        return select(p.nan, gr * (sm - select(0.0, 1.0, j == g.c)), g.c < p.k);
    }
    return gr * (sm - labels[i]);
}

@compute @workgroup_size(64)
fn xent_grad_rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let r = lin(gid, nwg, 64u);
    if r >= p.rows { return; }
    let g = row_grad(r);
    let gr = aux[r * p.g_stride] * p.g_scale;
    for (var j = 0u; j < p.k; j++) {
        out[r * p.k + j] = xent_row_grad(r, j, g, gr);
    }
}

@compute @workgroup_size(256)
fn one_hot(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = lin(gid, nwg, 256u);
    if t >= p.rows * p.k { return; }
    let i = t / p.k;
    out[t] = select(0.0, 1.0, labels[i] == f32(t - i * p.k));
}

@compute @workgroup_size(64)
fn correct_rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let r = lin(gid, nwg, 64u);
    if r >= p.rows { return; }
    out[r] = row_correct(r);
}
