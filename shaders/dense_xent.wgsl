// A classifier's head in one dispatch: a Dense layer without activation, logits = x·w + bias
// (x [rows, inputs], w [inputs, k], bias [k]), the mean sparse softmax cross-entropy of the
// logits against class ids, the accuracy (first argmax == id), and every gradient of the
// loss (for an upstream gradient of 1): dl = (softmax(logits) − onehot(id)) / rows,
// dx = dl·wᵀ, dw = xᵀ·dl, db = Σ_rows dl. What three launches do otherwise (the dense
// product, `losses.wgsl`'s xent_mean_accuracy_grad, `dense_grad.wgsl`), for heads small
// enough to be launch-bound: each workgroup computes every logit (then dl, in place) in
// its workgroup memory, and the workgroups share the gradients' elements (one workgroup, or
// a few so that a CPU adapter's threads split the work; the launcher's `HeadFusion`). Same arithmetic as losses.wgsl (row max first; NaN never an argmax); an id that is
// not an integer in [0, k) makes its row's loss and gradient NaN. inputs % 4 == 0 (vec4
// loads of x and stores of dx); rows·k <= HEAD (the launcher checks both).
// The CPU twin is `dense_xent_cpu` in crates/kernels/src/dense_xent.rs.

struct Params {
    rows: u32, inputs: u32, k: u32, _p0: u32,
    nan: f32, scale: f32, _p1: u32, _p2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> labels: array<f32>;
@group(0) @binding(2) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> w: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;
// stats[0] = the mean loss, stats[1] = the accuracy.
@group(0) @binding(5) var<storage, read_write> stats: array<f32>;
@group(0) @binding(6) var<storage, read_write> dx4: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read_write> dw: array<f32>;
@group(0) @binding(8) var<storage, read_write> db: array<f32>;

const WG: u32 = 64u;
// Logits the workgroup holds (the launcher's HEAD_MAX_LOGITS).
const HEAD: u32 = 1024u;

var<workgroup> head: array<f32, HEAD>;
var<workgroup> part: array<vec2<f32>, WG>;

// w[i..i+4, u] (rows i, i+1, i+2, i+3 of column u).
fn w_col4(i: u32, u: u32) -> vec4<f32> {
    return vec4(w[i * p.k + u], w[(i + 1u) * p.k + u], w[(i + 2u) * p.k + u], w[(i + 3u) * p.k + u]);
}

// head[e] = logit e (row e / k, class e % k).
fn logits(l: u32, in4: u32) {
    for (var e = l; e < p.rows * p.k; e += WG) {
        let r = e / p.k;
        let u = e - r * p.k;
        var s = bias[u];
        for (var q = 0u; q < in4; q++) {
            s += dot(x4[r * in4 + q], w_col4(4u * q, u));
        }
        head[e] = s;
    }
}

// Row r's loss and correctness; its logits in head become its gradient dl.
fn row_loss_grad(r: u32) -> vec2<f32> {
    let base = r * p.k;
    var m = head[base];
    var best = -0x1.fffffep+127f;
    var arg = 0u;
    for (var j = 0u; j < p.k; j++) {
        let v = head[base + j];
        m = max_nan(m, v);
        if v > best {
            best = v;
            arg = j;
        }
    }
    var sum = 0.0;
    for (var j = 0u; j < p.k; j++) { sum += exp(head[base + j] - m); }
    let l = labels[r];
    let ok = l >= 0.0 && l < f32(p.k) && fract(l) == 0.0;
    let c = select(p.k, u32(l), ok);
    let loss = select(p.nan, (m - head[base + min(c, p.k - 1u)]) + log(sum), ok);
    let correct = select(0.0, 1.0, l == f32(arg));
    let inv = 1.0 / sum;
    for (var j = 0u; j < p.k; j++) {
        let sm = exp(head[base + j] - m) * inv;
        head[base + j] = select(p.nan, p.scale * (sm - select(0.0, 1.0, j == c)), ok);
    }
    return vec2(loss, correct);
}

// The mean over rows of the lanes' partial sums (a tree sum), in every lane.
fn workgroup_mean(l: u32, s: vec2<f32>) -> vec2<f32> {
    part[l] = s;
    workgroupBarrier();
    for (var h = WG / 2u; h > 0u; h = h >> 1u) {
        if l < h { part[l] += part[l + h]; }
        workgroupBarrier();
    }
    return part[0] / f32(p.rows);
}

// dw[4q..4q+4, u] = Σ_r x[r, 4q..4q+4]·dl[r, u] for q < inputs / 4; q = inputs / 4 gives
// db[u] = Σ_r dl[r, u] (x read as 1): element e < (inputs / 4 + 1)·k of the gradients.
fn weight_grad(e: u32, in4: u32) {
    let q = e / p.k;
    let u = e - q * p.k;
    let one = q == in4;
    let qc = min(q, in4 - 1u);
    var a = vec4(0.0);
    for (var r = 0u; r < p.rows; r++) {
        let xv = select(x4[r * in4 + qc], vec4(1.0), one);
        a = fma(xv, vec4(head[r * p.k + u]), a);
    }
    if one {
        db[u] = a.x;
    } else {
        let i = 4u * q;
        dw[i * p.k + u] = a.x;
        dw[(i + 1u) * p.k + u] = a.y;
        dw[(i + 2u) * p.k + u] = a.z;
        dw[(i + 3u) * p.k + u] = a.w;
    }
}

// dx[r, 4q..4q+4] = Σ_u dl[r, u]·w[4q..4q+4, u] for e = r·inputs / 4 + q.
fn input_grad(e: u32, in4: u32) {
    let r = e / in4;
    let q = e - r * in4;
    var a = vec4(0.0);
    for (var u = 0u; u < p.k; u++) { a = fma(w_col4(4u * q, u), vec4(head[r * p.k + u]), a); }
    dx4[e] = a;
}

@compute @workgroup_size(64)
fn dense_xent_grad(
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let l = lid.x;
    let in4 = p.inputs / 4u;
    logits(l, in4);
    workgroupBarrier();
    var s = vec2(0.0);
    for (var r = l; r < p.rows; r += WG) { s += row_loss_grad(r); }
    let m = workgroup_mean(l, s); // its barriers also publish dl
    if l == 0u && wid.x == 0u {
        stats[0] = m.x;
        stats[1] = m.y;
    }
    // The gradients' elements, weights then inputs, dealt out WG at a time to the workgroups.
    let n_w = (in4 + 1u) * p.k;
    let n = n_w + p.rows * in4;
    var e = wid.x * WG + l;
    for (; e < n_w; e += nwg.x * WG) { weight_grad(e, in4); }
    for (; e < n; e += nwg.x * WG) { input_grad(e - n_w, in4); }
}
