//! Numbers that explain a model: each layer's receptive field (size, effective stride and
//! effective padding, as TensorFlow's receptive-field tool defines them) and its multiply-adds,
//! for any [`crate::models::Sequential`] or functional [`crate::functional::Model`].
//!
//! A layer reports its own window on its input through [`crate::layers::Layer::receptive_field`]
//! (`None`: it keeps every pixel where it is) and its work through
//! [`crate::layers::Layer::macs`]; a stack composes them: with `r`, `j`, `p` the size, stride
//! and padding seen so far and a window `k`, `s`, `q`, the next layer sees
//! `r + (k − 1)·j`, `j·s` and `p + q·j` input pixels.

use tessera_kernels::Window2d;

use crate::functional::batch_shape;
use crate::models::thousands;

/// TensorFlow's receptive-field parameters along height and width: a layer (or a stack) whose
/// output pixel `i` sees input pixels `i·stride − padding .. i·stride − padding + size`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceptiveField {
    /// Input pixels one output pixel sees, (height, width).
    pub size: [usize; 2],
    /// Input pixels between neighbouring output pixels, (height, width).
    pub stride: [usize; 2],
    /// Input pixels of padding before the first window, (top, left).
    pub padding: [usize; 2],
}

impl ReceptiveField {
    /// The field of the input itself: one pixel, stride 1, no padding.
    pub const IDENTITY: Self = Self { size: [1, 1], stride: [1, 1], padding: [0, 0] };

    /// The field of a sliding window (conv or pooling), with dilation and TF's padding.
    pub fn from_window(w: &Window2d) -> Self {
        Self {
            size: [(w.kh - 1) * w.dh + 1, (w.kw - 1) * w.dw + 1],
            stride: [w.sh, w.sw],
            padding: [w.pad_top, w.pad_left],
        }
    }

    /// This field followed by a layer with field `next`.
    pub fn then(&self, next: &Self) -> Self {
        let f = |a: usize| {
            (
                self.size[a] + (next.size[a] - 1) * self.stride[a],
                self.stride[a] * next.stride[a],
                self.padding[a] + next.padding[a] * self.stride[a],
            )
        };
        let (h, w) = (f(0), f(1));
        Self { size: [h.0, w.0], stride: [h.1, w.1], padding: [h.2, w.2] }
    }

    /// Where two paths meet (a residual add, a concatenation): per axis, the larger field
    /// (TF's tool keeps the largest size over the paths).
    pub fn merge(&self, other: &Self) -> Self {
        let pick = |a: usize| {
            let key = |r: &Self| (r.size[a], r.padding[a], r.stride[a]);
            if key(other) > key(self) {
                other
            } else {
                self
            }
        };
        let (h, w) = (pick(0), pick(1));
        Self { size: [h.size[0], w.size[1]], stride: [h.stride[0], w.stride[1]], padding: [h.padding[0], w.padding[1]] }
    }

    /// A stack of fields applied in order (`None` entries keep pixels in place).
    pub fn chain<'a>(steps: impl IntoIterator<Item = &'a Option<Self>>) -> Self {
        steps.into_iter().flatten().fold(Self::IDENTITY, |acc, s| acc.then(s))
    }

    /// `212×212 /32 pad 90` (one number when height and width agree).
    pub fn describe(&self) -> String {
        let two = |v: [usize; 2], sep: &str| match v[0] == v[1] {
            true => v[0].to_string(),
            false => format!("{}{sep}{}", v[0], v[1]),
        };
        format!("{}×{} /{} pad {}", self.size[0], self.size[1], two(self.stride, ","), two(self.padding, ","))
    }
}

/// One layer's row in [`analysis_table`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerStats {
    /// The layer's name.
    pub name: String,
    /// The layer's Keras class name.
    pub kind: String,
    /// Its output shape, no batch dimension.
    pub output_shape: Vec<usize>,
    /// What one output pixel sees of the model's input; `None` once the output is no longer an
    /// image (after Flatten, Dense or global pooling).
    pub receptive_field: Option<ReceptiveField>,
    /// Multiply-adds for one example.
    pub macs: usize,
}

/// The field of a layer's output given its input's field: `None` unless the output is an
/// image (`[h, w, c]`).
pub(crate) fn next_field(
    input: Option<ReceptiveField>,
    step: Option<ReceptiveField>,
    output_shape: &[usize],
) -> Option<ReceptiveField> {
    let input = input?;
    (output_shape.len() == 3).then(|| step.map_or(input, |s| input.then(&s)))
}

/// The field at a model input of `shape`: the identity for images, none otherwise.
pub(crate) fn input_field(shape: &[usize]) -> Option<ReceptiveField> {
    (shape.len() == 3).then_some(ReceptiveField::IDENTITY)
}

/// A table of every layer's output shape, receptive field and multiply-adds, with the total.
pub fn analysis_table(model: &str, rows: &[LayerStats]) -> String {
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                format!("{} ({})", r.name, r.kind),
                batch_shape(&r.output_shape),
                r.receptive_field.map_or("-".into(), |f| f.describe()),
                thousands(r.macs),
            ]
        })
        .collect();
    let head = ["Layer (type)", "Output Shape", "Receptive field", "Mult-adds"];
    let mut w: Vec<usize> = head.iter().map(|h| h.chars().count()).collect();
    for r in &cells {
        for (i, c) in r.iter().enumerate() {
            w[i] = w[i].max(c.chars().count());
        }
    }
    let line = |r: &[String]| {
        let last = r.len() - 1;
        let parts: Vec<String> = r
            .iter()
            .enumerate()
            .map(|(i, c)| match i == last {
                true => format!("{c:>n$}", n = w[i]),
                false => format!("{c:<n$}", n = w[i]),
            })
            .collect();
        parts.join("  ").trim_end().to_string() + "\n"
    };
    let rule = "─".repeat(w.iter().sum::<usize>() + 2 * (w.len() - 1)) + "\n";
    let mut out = format!("Model: \"{model}\" — receptive fields and multiply-adds\n{rule}");
    out += &line(&head.map(String::from));
    out += &rule;
    for r in &cells {
        out += &line(r);
    }
    out += &rule;
    out + &format!(" Total mult-adds: {}\n", thousands(rows.iter().map(|r| r.macs).fold(0, usize::saturating_add)))
}

#[cfg(test)]
mod tests {
    use super::ReceptiveField;

    fn rf(k: usize, s: usize, p: usize) -> ReceptiveField {
        ReceptiveField { size: [k, k], stride: [s, s], padding: [p, p] }
    }

    #[test]
    fn composition_follows_tf_formulas() {
        // Two 3×3 stride-1 convs see 5×5; a 2×2 pool then doubles the stride.
        let two = rf(3, 1, 1).then(&rf(3, 1, 1));
        assert_eq!(two, rf(5, 1, 2));
        assert_eq!(two.then(&rf(2, 2, 0)), rf(6, 2, 2));
        assert_eq!(rf(6, 2, 2).then(&rf(3, 1, 1)), rf(10, 2, 4));
        assert_eq!(ReceptiveField::chain(&[Some(rf(3, 1, 1)), None, Some(rf(3, 1, 1))]), rf(5, 1, 2));
    }

    #[test]
    fn merge_keeps_the_larger_field_per_axis() {
        let a = ReceptiveField { size: [7, 3], stride: [2, 2], padding: [3, 1] };
        let b = ReceptiveField { size: [5, 9], stride: [2, 2], padding: [2, 4] };
        assert_eq!(a.merge(&b), ReceptiveField { size: [7, 9], stride: [2, 2], padding: [3, 4] });
        assert_eq!(rf(212, 32, 90).describe(), "212×212 /32 pad 90");
    }
}
