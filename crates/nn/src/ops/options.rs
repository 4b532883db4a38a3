//! Option structs shared by the windowed ops, with `tf.nn`'s defaults and Keras-like builders.

use crate::{Activation, Padding};

/// A (height, width) pair given as one number, a tuple or an array (`tf.nn`'s int-or-list).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hw(pub [usize; 2]);

impl From<usize> for Hw {
    fn from(v: usize) -> Self {
        Hw([v, v])
    }
}

impl From<(usize, usize)> for Hw {
    fn from((h, w): (usize, usize)) -> Self {
        Hw([h, w])
    }
}

impl From<[usize; 2]> for Hw {
    fn from(v: [usize; 2]) -> Self {
        Hw(v)
    }
}

/// Options of `conv2d`, `depthwise_conv2d`, `separable_conv2d` and `conv2d_transpose`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Conv2dOptions {
    /// Strides (height, width); default 1.
    pub strides: [usize; 2],
    /// Dilations (height, width); default 1.
    pub dilations: [usize; 2],
    /// Padding; default VALID.
    pub padding: Padding,
    /// Activation fused after the (optional) bias; default none.
    pub activation: Activation,
}

impl Default for Conv2dOptions {
    fn default() -> Self {
        Self { strides: [1, 1], dilations: [1, 1], padding: Padding::Valid, activation: Activation::None }
    }
}

impl Conv2dOptions {
    /// Sets the strides (one number or (h, w)).
    pub fn strides(mut self, s: impl Into<Hw>) -> Self {
        self.strides = s.into().0;
        self
    }

    /// Sets the dilations (one number or (h, w)).
    pub fn dilations(mut self, d: impl Into<Hw>) -> Self {
        self.dilations = d.into().0;
        self
    }

    /// Sets the padding.
    pub fn padding(mut self, p: Padding) -> Self {
        self.padding = p;
        self
    }

    /// Sets the fused activation.
    pub fn activation(mut self, a: Activation) -> Self {
        self.activation = a;
        self
    }
}

/// Options of `max_pool2d` and `avg_pool2d`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolOptions {
    /// Window (height, width).
    pub ksize: [usize; 2],
    /// Strides (height, width); `PoolOptions::new` sets them equal to the window, like Keras.
    pub strides: [usize; 2],
    /// Padding; default VALID.
    pub padding: Padding,
    /// Activation fused after the pooling (e.g. Keras's MaxPool2D → ReLU); default none.
    pub activation: Activation,
}

impl PoolOptions {
    /// A window of `ksize`, strides equal to the window, VALID padding (Keras's defaults).
    pub fn new(ksize: impl Into<Hw>) -> Self {
        let k = ksize.into().0;
        Self { ksize: k, strides: k, padding: Padding::Valid, activation: Activation::None }
    }

    /// Sets the strides (one number or (h, w)).
    pub fn strides(mut self, s: impl Into<Hw>) -> Self {
        self.strides = s.into().0;
        self
    }

    /// Sets the padding.
    pub fn padding(mut self, p: Padding) -> Self {
        self.padding = p;
        self
    }

    /// Sets the activation applied to each pooled value (one fused kernel each way).
    pub fn activation(mut self, a: Activation) -> Self {
        self.activation = a;
        self
    }
}
