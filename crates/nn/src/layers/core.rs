//! Core layers: Dense, Flatten, Dropout, Activation, Softmax, ChannelShuffle.

use std::sync::atomic::{AtomicU32, Ordering};

use super::{built, check_input, BuildCtx, Layer, Param};
use crate::initializers::Initializer;
use crate::ops;
use crate::{shape_err, Result, Tensor};

/// `keras.layers.Dense(units, activation, use_bias)`: `act(x @ kernel + bias)` on `[batch, in]`.
pub struct Dense {
    name: String,
    units: usize,
    activation: crate::Activation,
    use_bias: bool,
    kernel_initializer: Initializer,
    bias_initializer: Initializer,
    input: Option<Vec<usize>>,
    kernel: Option<Param>,
    bias: Option<Param>,
}

impl Dense {
    /// A dense layer with `units` outputs, no activation, a bias, glorot_uniform kernel.
    pub fn new(units: usize) -> Self {
        Self {
            name: String::new(),
            units,
            activation: crate::Activation::None,
            use_bias: true,
            kernel_initializer: Initializer::GlorotUniform,
            bias_initializer: Initializer::Zeros,
            input: None,
            kernel: None,
            bias: None,
        }
    }

    /// Sets the fused activation.
    pub fn activation(mut self, a: crate::Activation) -> Self {
        self.activation = a;
        self
    }

    /// Adds (default) or removes the bias.
    pub fn use_bias(mut self, b: bool) -> Self {
        self.use_bias = b;
        self
    }

    /// Sets the kernel initializer.
    pub fn kernel_initializer(mut self, i: Initializer) -> Self {
        self.kernel_initializer = i;
        self
    }

    /// Sets the layer name.
    pub fn name(mut self, n: &str) -> Self {
        self.name = n.to_string();
        self
    }
}

impl Layer for Dense {
    named!("Dense");
    fn build(&mut self, input_shape: &[usize], ctx: &mut BuildCtx) -> Result<Vec<usize>> {
        let [features] = input_shape else {
            return Err(shape_err(
                "Dense",
                format!(
                    "layer '{}' needs inputs (None, features), got (None, {input_shape:?}); add a Flatten first",
                    self.name
                ),
            ));
        };
        if self.units == 0 {
            return Err(shape_err("Dense", format!("layer '{}': units must be positive, got 0 (as Keras)", self.name)));
        }
        let k = self.kernel_initializer.tensor(&[*features, self.units], ctx.rng, ctx.device)?;
        self.kernel = Some(Param::new(format!("{}/kernel", self.name), k, true));
        if self.use_bias {
            let b = self.bias_initializer.tensor(&[self.units], ctx.rng, ctx.device)?;
            self.bias = Some(Param::new(format!("{}/bias", self.name), b, true));
        }
        self.input = Some(input_shape.to_vec());
        Ok(vec![self.units])
    }
    fn call(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        check_input(&self.name, x, built(&self.input, &self.name)?)?;
        let kernel = built(&self.kernel, &self.name)?.value();
        let bias = self.bias.as_ref().map(Param::value);
        ops::dense(x, &kernel, bias.as_ref(), self.activation)
    }
    fn call_sparse_xent(&self, x: &Tensor, labels: &Tensor, _training: bool) -> Option<Result<(Tensor, Tensor)>> {
        if self.activation != crate::Activation::None {
            return None;
        }
        let bias = self.bias.as_ref()?.value();
        let head = || {
            check_input(&self.name, x, built(&self.input, &self.name)?)?;
            let kernel = built(&self.kernel, &self.name)?.value();
            ops::dense_sparse_categorical_crossentropy_with_accuracy(labels, x, &kernel, &bias)
        };
        Some(head())
    }
    fn variables(&self) -> Vec<Param> {
        self.kernel.iter().chain(&self.bias).cloned().collect()
    }
    fn macs(&self, input_shape: &[usize]) -> usize {
        // Saturating: a summary of a huge input shape must not overflow.
        input_shape.iter().fold(self.units, |a, &d| a.saturating_mul(d))
    }
}

/// `keras.layers.Flatten()`: `[batch, ...]` → `[batch, product]`.
#[derive(Default)]
pub struct Flatten {
    name: String,
}

impl Flatten {
    /// A flatten layer.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Layer for Flatten {
    named!("Flatten");
    fn build(&mut self, input_shape: &[usize], _ctx: &mut BuildCtx) -> Result<Vec<usize>> {
        Ok(vec![tessera_kernels::checked_numel("Flatten", input_shape)?])
    }
    fn call(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        x.flatten()
    }
}

/// `keras.layers.Dropout(rate, seed)`: inverted dropout while training, identity otherwise.
pub struct Dropout {
    name: String,
    rate: f32,
    seed: u32,
    calls: AtomicU32,
}

impl Dropout {
    /// Drops each element with probability `rate` during training.
    pub fn new(rate: f32) -> Self {
        Self { name: String::new(), rate, seed: 0, calls: AtomicU32::new(0) }
    }

    /// Sets the seed of the mask sequence.
    pub fn seed(mut self, seed: u32) -> Self {
        self.seed = seed;
        self
    }
}

impl Layer for Dropout {
    named!("Dropout");
    fn build(&mut self, input_shape: &[usize], _ctx: &mut BuildCtx) -> Result<Vec<usize>> {
        if !(0.0..1.0).contains(&self.rate) {
            return Err(shape_err("Dropout", format!("rate {} must be in [0, 1)", self.rate)));
        }
        Ok(input_shape.to_vec())
    }
    fn call(&self, x: &Tensor, training: bool) -> Result<Tensor> {
        if !training || self.rate == 0.0 {
            return Ok(x.clone());
        }
        let call = self.calls.fetch_add(1, Ordering::Relaxed);
        let seed = crate::random::Rng::new(((self.seed as u64) << 32) | call as u64).next_u64() as u32;
        ops::dropout(x, self.rate, seed)
    }
}

/// `keras.layers.Activation(...)`: applies an elementwise activation.
pub struct Activation {
    name: String,
    act: crate::Activation,
}

impl Activation {
    /// An activation layer.
    pub fn new(act: crate::Activation) -> Self {
        Self { name: String::new(), act }
    }
}

/// Applies `act` as a standalone op.
fn apply(act: crate::Activation, x: &Tensor) -> Result<Tensor> {
    match act {
        crate::Activation::None => Ok(x.clone()),
        crate::Activation::Relu => ops::relu(x),
        crate::Activation::Sigmoid => ops::sigmoid(x),
        crate::Activation::Tanh => ops::tanh(x),
    }
}

impl Layer for Activation {
    named!("Activation");
    fn build(&mut self, input_shape: &[usize], _ctx: &mut BuildCtx) -> Result<Vec<usize>> {
        Ok(input_shape.to_vec())
    }
    fn call(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        apply(self.act, x)
    }
    fn fusable_activation(&self) -> Option<crate::Activation> {
        // ReLU only: a fused ReLU is exactly `ops::relu`, values and gradients.
        (self.act == crate::Activation::Relu).then_some(self.act)
    }
}

/// `keras.layers.Softmax()` over the last axis.
#[derive(Default)]
pub struct Softmax {
    name: String,
}

impl Softmax {
    /// A softmax layer.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Layer for Softmax {
    named!("Softmax");
    fn build(&mut self, input_shape: &[usize], _ctx: &mut BuildCtx) -> Result<Vec<usize>> {
        Ok(input_shape.to_vec())
    }
    fn call(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        ops::softmax(x)
    }
}

/// ShuffleNet's channel shuffle as a layer (no Keras built-in; kind `ChannelShuffle`): see
/// [`ops::channel_shuffle`].
pub struct ChannelShuffle {
    name: String,
    groups: usize,
}

impl ChannelShuffle {
    /// Shuffles the channels across `groups` groups.
    pub fn new(groups: usize) -> Self {
        Self { name: String::new(), groups }
    }
}

impl Layer for ChannelShuffle {
    named!("ChannelShuffle");
    fn build(&mut self, input_shape: &[usize], _ctx: &mut BuildCtx) -> Result<Vec<usize>> {
        let c = input_shape.last().copied().unwrap_or(0);
        if self.groups == 0 || !c.is_multiple_of(self.groups) {
            return Err(shape_err(
                "ChannelShuffle",
                format!(
                    "layer '{}': channels {c} of inputs (None, {input_shape:?}) are not divisible by groups {}",
                    self.name, self.groups
                ),
            ));
        }
        Ok(input_shape.to_vec())
    }
    fn call(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        ops::channel_shuffle(x, self.groups)
    }
}
