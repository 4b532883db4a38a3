//! CPU twins of `shaders/losses.wgsl`: softmax cross-entropy and its gradient (dense or
//! sparse labels), one-hot encoding and per-row argmax correctness. Sparse labels here are
//! already validated (integers in `[0, k)`).

/// Row max and `ln Σ exp(x − max)` of one row.
fn max_and_log_sum(row: &[f32]) -> (f32, f32) {
    let m = row.iter().fold(f32::NEG_INFINITY, |m, &v| tessera_kernels::elementwise::max_nan(m, v));
    let s: f32 = row.iter().map(|&v| (v - m).exp()).sum();
    (m, s.ln())
}

/// The dense label row: `labels[r]` itself, or one-hot of the id when `sparse`.
fn label_row(labels: &[f32], r: usize, k: usize, sparse: bool) -> Vec<f32> {
    match sparse {
        true => (0..k).map(|j| if labels[r] as usize == j { 1.0 } else { 0.0 }).collect(),
        false => labels[r * k..(r + 1) * k].to_vec(),
    }
}

/// Per-row `Σ_j labels[r, j] · (logsumexp(x[r]) − x[r, j])` over rows of `k` logits.
pub fn softmax_xent(labels: &[f32], logits: &[f32], k: usize, sparse: bool) -> Vec<f32> {
    let rows = logits.len().checked_div(k).unwrap_or(0);
    let mut out = Vec::with_capacity(rows);
    for r in 0..rows {
        let row = &logits[r * k..(r + 1) * k];
        let (m, ls) = max_and_log_sum(row);
        let lab = label_row(labels, r, k, sparse);
        out.push(row.iter().zip(&lab).map(|(&x, &l)| l * ((m - x) + ls)).sum());
    }
    out
}

/// The logits gradient `g[r] · (softmax(x[r]) − labels[r])` over rows of `k` logits.
pub fn softmax_xent_grad(labels: &[f32], logits: &[f32], g: &[f32], k: usize, sparse: bool) -> Vec<f32> {
    let rows = logits.len().checked_div(k).unwrap_or(0);
    let mut out = Vec::with_capacity(logits.len());
    for r in 0..rows {
        let row = &logits[r * k..(r + 1) * k];
        let (m, ls) = max_and_log_sum(row);
        let lab = label_row(labels, r, k, sparse);
        out.extend(row.iter().zip(&lab).map(|(&x, &l)| g[r] * ((x - m - ls).exp() - l)));
    }
    out
}

/// `tf.one_hot`: row i has a 1 at column `labels[i]` (none when it is not an id in
/// `[0, depth)`).
pub fn one_hot(labels: &[f32], depth: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(labels.len() * depth);
    for &l in labels {
        out.extend((0..depth).map(|j| if l == j as f32 { 1.0 } else { 0.0 }));
    }
    out
}

/// 1.0 for each row whose first argmax of `logits` (rows of `k`) equals its label, else 0.0.
pub fn correct(labels: &[f32], logits: &[f32], k: usize) -> Vec<f32> {
    let rows = logits.len().checked_div(k).unwrap_or(0);
    let mut out = Vec::with_capacity(rows);
    for r in 0..rows {
        let row = &logits[r * k..(r + 1) * k];
        let (mut arg, mut best) = (0, f32::MIN);
        for (j, &v) in row.iter().enumerate() {
            if v > best {
                (arg, best) = (j, v);
            }
        }
        out.push(if labels[r] == arg as f32 { 1.0 } else { 0.0 });
    }
    out
}
