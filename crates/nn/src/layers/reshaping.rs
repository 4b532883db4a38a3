//! Reshaping layers: ZeroPadding2D, Cropping2D, Reshape.

use super::{BuildCtx, Layer};
use crate::ops::{self, Pads2d};
use crate::{shape_err, Result, Tensor};

/// The `(h, w, c)` of a layer input, or an error naming it.
fn hwc(layer: &'static str, name: &str, input: &[usize]) -> Result<[usize; 3]> {
    <[usize; 3]>::try_from(input)
        .map_err(|_| shape_err(layer, format!("layer '{name}' needs inputs (None, h, w, c), got (None, {input:?})")))
}

/// `keras.layers.ZeroPadding2D(padding)`: zero rows and columns around each image; `padding`
/// is one number, `(h, w)` or `((top, bottom), (left, right))`.
pub struct ZeroPadding2D {
    name: String,
    pads: Pads2d,
}

impl ZeroPadding2D {
    /// Pads by `padding` (Keras's default is 1 on every side).
    pub fn new(padding: impl Into<Pads2d>) -> Self {
        Self { name: String::new(), pads: padding.into() }
    }
}

impl Layer for ZeroPadding2D {
    named!("ZeroPadding2D");
    fn build(&mut self, input_shape: &[usize], _ctx: &mut BuildCtx) -> Result<Vec<usize>> {
        let [h, w, c] = hwc("ZeroPadding2D", &self.name, input_shape)?;
        let [[t, b], [l, r]] = self.pads.0;
        match (h.checked_add(t).and_then(|v| v.checked_add(b)), w.checked_add(l).and_then(|v| v.checked_add(r))) {
            (Some(oh), Some(ow)) => Ok(vec![oh, ow, c]),
            _ => Err(shape_err(
                "ZeroPadding2D",
                format!("padding {:?} overflows input (None, {h}, {w}, {c})", self.pads.0),
            )),
        }
    }
    fn call(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        ops::pad2d(x, self.pads)
    }
}

/// `keras.layers.Cropping2D(cropping)`: drops rows and columns at the edges; `cropping` is
/// one number, `(h, w)` or `((top, bottom), (left, right))`.
pub struct Cropping2D {
    name: String,
    crops: Pads2d,
}

impl Cropping2D {
    /// Crops by `cropping`.
    pub fn new(cropping: impl Into<Pads2d>) -> Self {
        Self { name: String::new(), crops: cropping.into() }
    }
}

impl Layer for Cropping2D {
    named!("Cropping2D");
    fn build(&mut self, input_shape: &[usize], _ctx: &mut BuildCtx) -> Result<Vec<usize>> {
        let [h, w, c] = hwc("Cropping2D", &self.name, input_shape)?;
        let [[t, b], [l, r]] = self.crops.0;
        if t.saturating_add(b) >= h || l.saturating_add(r) >= w {
            return Err(shape_err(
                "Cropping2D",
                format!(
                    "Values in `cropping` argument should be smaller than the corresponding spatial \
                     dimension of the input. Received: input_shape=(None, {h}, {w}, {c}), \
                     cropping=(({t}, {b}), ({l}, {r}))"
                ),
            ));
        }
        Ok(vec![h - t - b, w - l - r, c])
    }
    fn call(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        ops::crop2d(x, self.crops)
    }
}

/// `keras.layers.Reshape(target_shape)`: each example viewed with `target_shape` (no batch
/// axis; one dimension may be `usize::MAX`, Keras's −1, to be inferred).
pub struct Reshape {
    name: String,
    target: Vec<usize>,
    resolved: Option<Vec<usize>>,
}

impl Reshape {
    /// Reshapes each example to `target_shape`.
    pub fn new(target_shape: &[usize]) -> Self {
        Self { name: String::new(), target: target_shape.to_vec(), resolved: None }
    }
}

/// `shape` as Python prints a tuple, `usize::MAX` as −1: `(3, 5)`, `(-1,)`.
fn py_tuple(shape: &[usize]) -> String {
    let dims: Vec<String> = shape.iter().map(|&d| if d == usize::MAX { "-1".into() } else { d.to_string() }).collect();
    match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    }
}

impl Layer for Reshape {
    named!("Reshape");
    fn build(&mut self, input_shape: &[usize], _ctx: &mut BuildCtx) -> Result<Vec<usize>> {
        // Checked: both shapes come from the user (a product past MAX_ELEMENTS is an error).
        let n = tessera_kernels::checked_numel("Reshape", input_shape)?;
        let unknown = self.target.iter().filter(|&&d| d == usize::MAX).count();
        let known_dims: Vec<usize> = self.target.iter().copied().filter(|&d| d != usize::MAX).collect();
        let known = tessera_kernels::checked_numel("Reshape", &known_dims)?;
        let bad = |why: &str| {
            let (i, t) = (py_tuple(input_shape), py_tuple(&self.target));
            shape_err("Reshape", format!("{why}. Received: input_shape={i}, target_shape={t}"))
        };
        let out = match unknown {
            0 if known == n => self.target.clone(),
            0 => return Err(bad("The total size of the tensor must be unchanged")),
            1 if known > 0 && n.is_multiple_of(known) => {
                self.target.iter().map(|&d| if d == usize::MAX { n / known } else { d }).collect()
            }
            1 => return Err(bad("The total size of the tensor must be unchanged: the input size is not divisible by the known dimensions")),
            _ => return Err(bad("There must be at most one unknown dimension (-1) in target_shape")),
        };
        self.resolved = Some(out.clone());
        Ok(out)
    }
    fn call(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        let target = super::built(&self.resolved, &self.name)?;
        let Some(&n) = x.shape().first() else {
            return Err(shape_err("Reshape", format!("layer '{}' needs a batch axis, got shape []", self.name)));
        };
        x.reshape(&[&[n][..], target].concat())
    }
}
