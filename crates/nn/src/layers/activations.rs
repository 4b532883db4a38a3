//! Activation layers with options: ReLU (Keras's general form), LeakyReLU, ELU.

use super::{BuildCtx, Layer};
use crate::ops;
use crate::{shape_err, Result, Tensor};

/// `keras.layers.ReLU(max_value, negative_slope, threshold)` (`keras.activations.relu`);
/// ReLU6 is `ReLU::new().max_value(6.0)`.
#[derive(Default)]
pub struct ReLU {
    name: String,
    max_value: Option<f32>,
    negative_slope: f32,
    threshold: f32,
}

impl ReLU {
    /// A plain ReLU: no maximum, slope 0, threshold 0 (Keras's defaults).
    pub fn new() -> Self {
        Self::default()
    }

    /// Clips outputs at `m` (must be ≥ 0).
    pub fn max_value(mut self, m: f32) -> Self {
        self.max_value = Some(m);
        self
    }

    /// Slope below the threshold (must be ≥ 0).
    pub fn negative_slope(mut self, s: f32) -> Self {
        self.negative_slope = s;
        self
    }

    /// Where the linear part starts (must be ≥ 0).
    pub fn threshold(mut self, t: f32) -> Self {
        self.threshold = t;
        self
    }
}

/// Keras's check that a layer option is a non-negative number.
fn non_negative(layer: &'static str, what: &str, v: f32) -> Result<()> {
    if v >= 0.0 {
        Ok(())
    } else {
        Err(shape_err(layer, format!("{what} of a {layer} layer cannot be a negative value, got {what}={v}")))
    }
}

impl Layer for ReLU {
    named!("ReLU");
    fn build(&mut self, input_shape: &[usize], _ctx: &mut BuildCtx) -> Result<Vec<usize>> {
        non_negative("ReLU", "max_value", self.max_value.unwrap_or(0.0))?;
        non_negative("ReLU", "negative_slope", self.negative_slope)?;
        non_negative("ReLU", "threshold", self.threshold)?;
        Ok(input_shape.to_vec())
    }
    fn call(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        ops::relu_ext(x, self.max_value, self.negative_slope, self.threshold)
    }
    fn fusable_activation(&self) -> Option<crate::Activation> {
        let plain = self.max_value.is_none() && self.negative_slope == 0.0 && self.threshold == 0.0;
        plain.then_some(crate::Activation::Relu)
    }
}

/// `keras.layers.LeakyReLU(negative_slope=0.3)`: `x` if `x > 0`, else `negative_slope · x`.
pub struct LeakyReLU {
    name: String,
    negative_slope: f32,
}

impl Default for LeakyReLU {
    fn default() -> Self {
        Self { name: String::new(), negative_slope: 0.3 }
    }
}

impl LeakyReLU {
    /// A leaky ReLU with Keras 3's default slope 0.3.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the slope for negative inputs (must be ≥ 0).
    pub fn negative_slope(mut self, s: f32) -> Self {
        self.negative_slope = s;
        self
    }
}

impl Layer for LeakyReLU {
    named!("LeakyReLU");
    fn build(&mut self, input_shape: &[usize], _ctx: &mut BuildCtx) -> Result<Vec<usize>> {
        non_negative("LeakyReLU", "negative_slope", self.negative_slope)?;
        Ok(input_shape.to_vec())
    }
    fn call(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        ops::leaky_relu(x, self.negative_slope)
    }
}

/// `keras.layers.ELU(alpha=1.0)`: `x` if `x > 0`, else `alpha · (e^x − 1)`.
pub struct ELU {
    name: String,
    alpha: f32,
}

impl Default for ELU {
    fn default() -> Self {
        Self { name: String::new(), alpha: 1.0 }
    }
}

impl ELU {
    /// An ELU with alpha 1.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the scale of the negative part.
    pub fn alpha(mut self, a: f32) -> Self {
        self.alpha = a;
        self
    }
}

impl Layer for ELU {
    named!("ELU");
    fn build(&mut self, input_shape: &[usize], _ctx: &mut BuildCtx) -> Result<Vec<usize>> {
        Ok(input_shape.to_vec())
    }
    fn call(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        ops::elu_alpha(x, self.alpha)
    }
}
