//! Multi-input layers for custom blocks: `Add` and `Concatenate` (Keras's merge layers).

use crate::{ops, shape_err, Result, Tensor};

/// `keras.layers.Add()`: the elementwise sum of its inputs (e.g. a residual shortcut).
#[derive(Debug, Default, Clone, Copy)]
pub struct Add;

impl Add {
    /// An add layer.
    pub fn new() -> Self {
        Self
    }

    /// Sums the inputs (at least one; shapes broadcast).
    pub fn call(&self, xs: &[&Tensor]) -> Result<Tensor> {
        let (first, rest) = xs.split_first().ok_or_else(|| shape_err("Add", "needs at least one input"))?;
        rest.iter().try_fold((*first).clone(), |acc, x| ops::add(&acc, x))
    }
}

/// `keras.layers.Concatenate(axis=-1)`: joins its inputs along the channel axis by default.
#[derive(Debug, Default, Clone, Copy)]
pub struct Concatenate {
    axis: Option<usize>,
}

impl Concatenate {
    /// Concatenates along the last axis.
    pub fn new() -> Self {
        Self { axis: None }
    }

    /// Concatenates along `axis` instead (0 is the batch axis).
    pub fn axis(axis: usize) -> Self {
        Self { axis: Some(axis) }
    }

    /// Joins the inputs.
    pub fn call(&self, xs: &[&Tensor]) -> Result<Tensor> {
        let first = xs.first().ok_or_else(|| shape_err("Concatenate", "needs at least one input"))?;
        ops::concat(xs, self.axis.unwrap_or(first.rank().saturating_sub(1)))
    }
}
