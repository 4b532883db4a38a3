//! CPU twins of `shaders/concat.wgsl`: concatenation and slicing along one axis.

/// Concatenates `xs` (each with its shape) along `axis`; shapes are already checked.
pub fn concat(xs: &[(&[f32], &[usize])], axis: usize) -> Vec<f32> {
    let Some((_, first)) = xs.first() else { return Vec::new() };
    let outer: usize = first[..axis].iter().product();
    let inner: usize = first[axis + 1..].iter().product();
    let mut out = Vec::new();
    for o in 0..outer {
        for (x, s) in xs {
            let chunk = s[axis] * inner;
            out.extend_from_slice(&x[o * chunk..(o + 1) * chunk]);
        }
    }
    out
}

/// `len` entries of `x` (shape `shape`) from `start` along `axis`; arguments already checked.
pub fn slice(x: &[f32], shape: &[usize], axis: usize, start: usize, len: usize) -> Vec<f32> {
    let outer: usize = shape[..axis].iter().product();
    let inner: usize = shape[axis + 1..].iter().product();
    let mut out = Vec::with_capacity(outer * len * inner);
    for o in 0..outer {
        let row = o * shape[axis] * inner;
        out.extend_from_slice(&x[row + start * inner..row + (start + len) * inner]);
    }
    out
}
