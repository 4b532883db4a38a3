//! CPU twins of `shaders/softmax.wgsl`: softmax and log-softmax over rows of `len` values, and
//! their gradients from the output.

/// `exp(x - max) / sum(exp(x - max))` for each row of `len` values.
pub fn softmax(x: &[f32], len: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(x.len());
    for row in x.chunks(len.max(1)) {
        let m = row.iter().fold(f32::NEG_INFINITY, |m, &v| tessera_kernels::elementwise::max_nan(m, v));
        let s: f32 = row.iter().map(|&v| (v - m).exp()).sum();
        out.extend(row.iter().map(|&v| (v - m).exp() / s));
    }
    out
}

/// `x - max - ln(sum(exp(x - max)))` for each row of `len` values.
pub fn log_softmax(x: &[f32], len: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(x.len());
    for row in x.chunks(len.max(1)) {
        let m = row.iter().fold(f32::NEG_INFINITY, |m, &v| tessera_kernels::elementwise::max_nan(m, v));
        let s: f32 = row.iter().map(|&v| (v - m).exp()).sum();
        out.extend(row.iter().map(|&v| v - m - s.ln()));
    }
    out
}

/// Softmax's gradient from its output `y`: `y · (g − Σ g·y)` per row of `len` values.
pub fn softmax_grad(y: &[f32], g: &[f32], len: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(y.len());
    for (yr, gr) in y.chunks(len.max(1)).zip(g.chunks(len.max(1))) {
        let s: f32 = yr.iter().zip(gr).map(|(y, g)| y * g).sum();
        out.extend(yr.iter().zip(gr).map(|(y, g)| y * (g - s)));
    }
    out
}

/// Log-softmax's gradient from its output `y`: `g − exp(y) · Σ g` per row of `len` values.
pub fn log_softmax_grad(y: &[f32], g: &[f32], len: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(y.len());
    for (yr, gr) in y.chunks(len.max(1)).zip(g.chunks(len.max(1))) {
        let s: f32 = gr.iter().sum();
        out.extend(yr.iter().zip(gr).map(|(y, g)| g - y.exp() * s));
    }
    out
}
