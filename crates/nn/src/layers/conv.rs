//! Convolution layers: Conv2D, Conv2DTranspose, DepthwiseConv2D, SeparableConv2D.

use super::{built, check_input, BuildCtx, Layer, Param};
use crate::analysis::ReceptiveField;
use crate::initializers::Initializer;
use crate::ops::{self, Conv2dOptions, Hw};
use crate::{shape_err, Activation, Padding, Result, Tensor};
use tessera_kernels::{Conv2dGeometry, DepthwiseGeometry, Window2d};

/// Options every conv layer shares (Keras's constructor arguments).
#[derive(Debug, Clone, Copy)]
struct ConvCommon {
    kernel_size: [usize; 2],
    opts: Conv2dOptions,
    use_bias: bool,
    kernel_initializer: Initializer,
    bias_initializer: Initializer,
}

impl ConvCommon {
    fn new(kernel_size: Hw) -> Self {
        Self {
            kernel_size: kernel_size.0,
            opts: Conv2dOptions::default(),
            use_bias: true,
            kernel_initializer: Initializer::GlorotUniform,
            bias_initializer: Initializer::Zeros,
        }
    }

    /// Creates `name/kernel` of `shape` and (if used) `name/bias` of `[units]`.
    fn make(&self, name: &str, shape: &[usize], units: usize, ctx: &mut BuildCtx) -> Result<(Param, Option<Param>)> {
        let k = self.kernel_initializer.tensor(shape, ctx.rng, ctx.device)?;
        let kernel = Param::new(format!("{name}/kernel"), k, true);
        let bias = match self.use_bias {
            true => Some(Param::new(
                format!("{name}/bias"),
                self.bias_initializer.tensor(&[units], ctx.rng, ctx.device)?,
                true,
            )),
            false => None,
        };
        Ok((kernel, bias))
    }

    /// The sliding window over an input of `shape` (no batch), if it fits.
    fn window(&self, kind: &'static str, shape: &[usize]) -> Option<Window2d> {
        let o = &self.opts;
        Window2d::new(kind, &batch1(shape), self.kernel_size, o.strides, o.dilations, &o.padding).ok()
    }

    /// The receptive field of the window over an input of `shape`.
    fn field(&self, kind: &'static str, shape: &[usize]) -> Option<ReceptiveField> {
        self.window(kind, shape).map(|w| ReceptiveField::from_window(&w))
    }

    /// Multiply-adds of the window over `shape` with `per_pixel` of them per output pixel and
    /// window tap.
    fn macs(&self, kind: &'static str, shape: &[usize], per_pixel: usize) -> usize {
        // Saturating: a summary of a huge input shape must not overflow.
        self.window(kind, shape).map_or(0, |w| mul_all(&[w.oh, w.ow, w.kh, w.kw, per_pixel]))
    }
}

/// Builder methods shared by the conv layers.
macro_rules! conv_builders {
    () => {
        /// Sets the strides (one number or (h, w)).
        pub fn strides(mut self, s: impl Into<Hw>) -> Self {
            self.c.opts = self.c.opts.strides(s);
            self
        }
        /// Sets the padding (`Padding::Valid` is Keras's default).
        pub fn padding(mut self, p: Padding) -> Self {
            self.c.opts = self.c.opts.padding(p);
            self
        }
        /// Sets the dilation rate (one number or (h, w)).
        pub fn dilation_rate(mut self, d: impl Into<Hw>) -> Self {
            self.c.opts = self.c.opts.dilations(d);
            self
        }
        /// Sets the fused activation.
        pub fn activation(mut self, a: Activation) -> Self {
            self.c.opts = self.c.opts.activation(a);
            self
        }
        /// Adds (default) or removes the bias.
        pub fn use_bias(mut self, b: bool) -> Self {
            self.c.use_bias = b;
            self
        }
        /// Sets the kernel initializer.
        pub fn kernel_initializer(mut self, i: Initializer) -> Self {
            self.c.kernel_initializer = i;
            self
        }
        /// Sets the layer name.
        pub fn name(mut self, n: &str) -> Self {
            self.name = n.to_string();
            self
        }
    };
}

/// The input's shape as (h, w, c), or an error naming the layer.
fn hwc(layer: &str, kind: &str, shape: &[usize]) -> Result<[usize; 3]> {
    <[usize; 3]>::try_from(shape).map_err(|_| {
        shape_err("layer", format!("{kind} '{layer}' needs inputs (None, h, w, c), got (None, {shape:?})"))
    })
}

/// The input with a batch of one, for the shape rules in `tessera_kernels::geometry`.
fn batch1(shape: &[usize]) -> Vec<usize> {
    [&[1], shape].concat()
}

/// `keras.layers.Conv2D(filters, kernel_size, strides, padding, dilation_rate, groups,
/// activation, use_bias)`; with `groups` g the kernel is `[kh, kw, cin / g, filters]`.
pub struct Conv2D {
    name: String,
    filters: usize,
    groups: usize,
    c: ConvCommon,
    input: Option<Vec<usize>>,
    kernel: Option<Param>,
    bias: Option<Param>,
}

impl Conv2D {
    /// `filters` output channels, a `kernel_size` window (one number or (h, w)).
    pub fn new(filters: usize, kernel_size: impl Into<Hw>) -> Self {
        Self {
            name: String::new(),
            filters,
            groups: 1,
            c: ConvCommon::new(kernel_size.into()),
            input: None,
            kernel: None,
            bias: None,
        }
    }

    /// Splits the input channels and the filters into `groups` groups (Keras `groups`,
    /// default 1): a grouped convolution. Both counts must be divisible by `groups`.
    pub fn groups(mut self, groups: usize) -> Self {
        self.groups = groups;
        self
    }
    conv_builders!();

    /// Keras's checks of `groups` against the filters and the input channels.
    fn check_groups(&self, input_shape: &[usize], cin: usize) -> Result<()> {
        let (g, f) = (self.groups, self.filters);
        let msg = if g == 0 {
            format!("The number of groups must be a positive integer. Received: groups={g}.")
        } else if !f.is_multiple_of(g) {
            format!("The number of filters must be evenly divisible by the number of groups. Received: groups={g}, filters={f}.")
        } else if !cin.is_multiple_of(g) {
            format!(
                "The number of input channels must be evenly divisible by the number of groups. Received groups={g}, but the input has {cin} channels (full input shape is (None, {})).",
                input_shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")
            )
        } else {
            return Ok(());
        };
        Err(shape_err("Conv2D", format!("layer '{}': {msg}", self.name)))
    }
}

impl Layer for Conv2D {
    named!("Conv2D");
    fn build(&mut self, input_shape: &[usize], ctx: &mut BuildCtx) -> Result<Vec<usize>> {
        let [_, _, cin] = hwc(&self.name, "Conv2D", input_shape)?;
        self.check_groups(input_shape, cin)?;
        let [kh, kw] = self.c.kernel_size;
        let shape = [kh, kw, cin / self.groups, self.filters];
        let o = &self.c.opts;
        let g = Conv2dGeometry::new(&batch1(input_shape), &shape, o.strides, o.dilations, &o.padding)?;
        let out = g.out_shape()[1..].to_vec();
        (self.kernel, self.bias) = {
            let (k, b) = self.c.make(&self.name, &shape, self.filters, ctx)?;
            (Some(k), b)
        };
        self.input = Some(input_shape.to_vec());
        Ok(out)
    }
    fn call(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        check_input(&self.name, x, built(&self.input, &self.name)?)?;
        let bias = self.bias.as_ref().map(Param::value);
        ops::conv2d_with_bias(x, &built(&self.kernel, &self.name)?.value(), bias.as_ref(), &self.c.opts)
    }
    fn call_pooled(&self, x: &Tensor, pool: &ops::PoolOptions, _training: bool) -> Option<Result<Tensor>> {
        let run = || {
            check_input(&self.name, x, built(&self.input, &self.name)?)?;
            let bias = self.bias.as_ref().map(Param::value);
            let kernel = built(&self.kernel, &self.name)?.value();
            ops::conv2d_max_pool2d(x, &kernel, bias.as_ref(), &self.c.opts, pool)
        };
        Some(run())
    }
    fn variables(&self) -> Vec<Param> {
        self.kernel.iter().chain(&self.bias).cloned().collect()
    }
    fn receptive_field(&self, input_shape: &[usize]) -> Option<ReceptiveField> {
        self.c.field("Conv2D", input_shape)
    }
    fn macs(&self, input_shape: &[usize]) -> usize {
        self.c.macs("Conv2D", input_shape, input_shape.last().unwrap_or(&0).saturating_mul(self.filters))
    }
}

/// `keras.layers.Conv2DTranspose(filters, kernel_size, strides, padding)`; the output size is
/// Keras's: VALID `(i−1)s + k`, SAME `i·s` (with dilation `(k−1)d + 1` for k).
pub struct Conv2DTranspose {
    name: String,
    filters: usize,
    c: ConvCommon,
    input: Option<Vec<usize>>,
    out: Vec<usize>,
    kernel: Option<Param>,
    bias: Option<Param>,
}

impl Conv2DTranspose {
    /// `filters` output channels, a `kernel_size` window.
    pub fn new(filters: usize, kernel_size: impl Into<Hw>) -> Self {
        let c = ConvCommon::new(kernel_size.into());
        Self { name: String::new(), filters, c, input: None, out: Vec::new(), kernel: None, bias: None }
    }
    conv_builders!();
}

impl Layer for Conv2DTranspose {
    named!("Conv2DTranspose");
    fn build(&mut self, input_shape: &[usize], ctx: &mut BuildCtx) -> Result<Vec<usize>> {
        let [h, w, cin] = hwc(&self.name, "Conv2DTranspose", input_shape)?;
        let o = &self.c.opts;
        // Checked: kernel size, strides and dilations are the user's (an overflow is an error).
        let size = |i: usize, a: usize| -> Option<usize> {
            let k = self.c.kernel_size[a].checked_sub(1)?.checked_mul(o.dilations[a])?.checked_add(1)?;
            let grown = (i.max(1) - 1).checked_mul(o.strides[a])?.checked_add(k)?;
            Some(match o.padding {
                Padding::Same => i.checked_mul(o.strides[a])?,
                Padding::Valid => grown,
                Padding::Explicit(p) => grown.saturating_sub(p[a][0].saturating_add(p[a][1])),
            })
        };
        let (Some(oh), Some(ow)) = (size(h, 0), size(w, 1)) else {
            let msg = format!(
                "{}: kernel {:?}, strides {:?} and dilations {:?} on input {input_shape:?} overflow the output size",
                self.name, self.c.kernel_size, o.strides, o.dilations
            );
            return Err(crate::shape_err("Conv2DTranspose", msg));
        };
        self.out = vec![oh, ow, self.filters];
        let [kh, kw] = self.c.kernel_size;
        let shape = [kh, kw, self.filters, cin];
        let (k, b) = self.c.make(&self.name, &shape, self.filters, ctx)?;
        (self.kernel, self.bias) = (Some(k), b);
        self.input = Some(input_shape.to_vec());
        Ok(self.out.clone())
    }
    fn call(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        check_input(&self.name, x, built(&self.input, &self.name)?)?;
        let bias = self.bias.as_ref().map(Param::value);
        let out_shape = [x.shape()[0], self.out[0], self.out[1], self.out[2]];
        let kernel = built(&self.kernel, &self.name)?.value();
        ops::conv2d_transpose_with_bias(x, &kernel, bias.as_ref(), &out_shape, &self.c.opts)
    }
    fn variables(&self) -> Vec<Param> {
        self.kernel.iter().chain(&self.bias).cloned().collect()
    }
    fn macs(&self, input_shape: &[usize]) -> usize {
        let [kh, kw] = self.c.kernel_size;
        mul_all(input_shape).saturating_mul(mul_all(&[kh, kw, self.filters]))
    }
}

/// `keras.layers.DepthwiseConv2D(kernel_size, strides, padding, depth_multiplier)`.
pub struct DepthwiseConv2D {
    name: String,
    multiplier: usize,
    c: ConvCommon,
    input: Option<Vec<usize>>,
    kernel: Option<Param>,
    bias: Option<Param>,
}

impl DepthwiseConv2D {
    /// A depthwise conv with a `kernel_size` window and depth multiplier 1.
    pub fn new(kernel_size: impl Into<Hw>) -> Self {
        let c = ConvCommon::new(kernel_size.into());
        Self { name: String::new(), multiplier: 1, c, input: None, kernel: None, bias: None }
    }

    /// Sets the depth (channel) multiplier.
    pub fn depth_multiplier(mut self, m: usize) -> Self {
        self.multiplier = m;
        self
    }
    conv_builders!();
}

impl Layer for DepthwiseConv2D {
    named!("DepthwiseConv2D");
    fn build(&mut self, input_shape: &[usize], ctx: &mut BuildCtx) -> Result<Vec<usize>> {
        let [_, _, cin] = hwc(&self.name, "DepthwiseConv2D", input_shape)?;
        let [kh, kw] = self.c.kernel_size;
        let shape = [kh, kw, cin, self.multiplier];
        let o = &self.c.opts;
        let g = DepthwiseGeometry::new(&batch1(input_shape), &shape, o.strides, o.dilations, &o.padding)?;
        let out = g.out_shape()[1..].to_vec();
        let (k, b) = self.c.make(&self.name, &shape, cin * self.multiplier, ctx)?;
        (self.kernel, self.bias) = (Some(k), b);
        self.input = Some(input_shape.to_vec());
        Ok(out)
    }
    fn call(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        check_input(&self.name, x, built(&self.input, &self.name)?)?;
        let bias = self.bias.as_ref().map(Param::value);
        ops::depthwise_conv2d_with_bias(x, &built(&self.kernel, &self.name)?.value(), bias.as_ref(), &self.c.opts)
    }
    fn variables(&self) -> Vec<Param> {
        self.kernel.iter().chain(&self.bias).cloned().collect()
    }
    fn receptive_field(&self, input_shape: &[usize]) -> Option<ReceptiveField> {
        self.c.field("DepthwiseConv2D", input_shape)
    }
    fn macs(&self, input_shape: &[usize]) -> usize {
        self.c.macs("DepthwiseConv2D", input_shape, input_shape.last().unwrap_or(&0).saturating_mul(self.multiplier))
    }
}

/// `keras.layers.SeparableConv2D(filters, kernel_size, ...)`: depthwise then 1×1 pointwise; the
/// bias is added only after the pointwise step.
pub struct SeparableConv2D {
    name: String,
    filters: usize,
    multiplier: usize,
    c: ConvCommon,
    input: Option<Vec<usize>>,
    depthwise: Option<Param>,
    pointwise: Option<Param>,
    bias: Option<Param>,
}

impl SeparableConv2D {
    /// `filters` output channels, a `kernel_size` depthwise window, multiplier 1.
    pub fn new(filters: usize, kernel_size: impl Into<Hw>) -> Self {
        let c = ConvCommon::new(kernel_size.into());
        Self {
            name: String::new(),
            filters,
            multiplier: 1,
            c,
            input: None,
            depthwise: None,
            pointwise: None,
            bias: None,
        }
    }

    /// Sets the depth (channel) multiplier.
    pub fn depth_multiplier(mut self, m: usize) -> Self {
        self.multiplier = m;
        self
    }
    conv_builders!();
}

impl Layer for SeparableConv2D {
    named!("SeparableConv2D");
    fn build(&mut self, input_shape: &[usize], ctx: &mut BuildCtx) -> Result<Vec<usize>> {
        let [_, _, cin] = hwc(&self.name, "SeparableConv2D", input_shape)?;
        let [kh, kw] = self.c.kernel_size;
        let dshape = [kh, kw, cin, self.multiplier];
        let o = &self.c.opts;
        let g = DepthwiseGeometry::new(&batch1(input_shape), &dshape, o.strides, o.dilations, &o.padding)?;
        let mid = cin.checked_mul(self.multiplier).ok_or_else(|| {
            let msg = format!("{}: {cin} channels × depth_multiplier {} overflow", self.name, self.multiplier);
            crate::shape_err("SeparableConv2D", msg)
        })?;
        let pshape = [1, 1, mid, self.filters];
        let out = vec![g.win.oh, g.win.ow, self.filters];
        let init = self.c.kernel_initializer;
        let dw = init.tensor(&dshape, ctx.rng, ctx.device)?;
        let pw = init.tensor(&pshape, ctx.rng, ctx.device)?;
        self.depthwise = Some(Param::new(format!("{}/depthwise_kernel", self.name), dw, true));
        self.pointwise = Some(Param::new(format!("{}/pointwise_kernel", self.name), pw, true));
        if self.c.use_bias {
            let b = self.c.bias_initializer.tensor(&[self.filters], ctx.rng, ctx.device)?;
            self.bias = Some(Param::new(format!("{}/bias", self.name), b, true));
        }
        self.input = Some(input_shape.to_vec());
        Ok(out)
    }
    fn call(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        check_input(&self.name, x, built(&self.input, &self.name)?)?;
        let bias = self.bias.as_ref().map(Param::value);
        let (dw, pw) = (built(&self.depthwise, &self.name)?.value(), built(&self.pointwise, &self.name)?.value());
        ops::separable_conv2d(x, &dw, &pw, bias.as_ref(), &self.c.opts)
    }
    fn variables(&self) -> Vec<Param> {
        self.depthwise.iter().chain(&self.pointwise).chain(&self.bias).cloned().collect()
    }
    fn receptive_field(&self, input_shape: &[usize]) -> Option<ReceptiveField> {
        self.c.field("SeparableConv2D", input_shape)
    }
    fn macs(&self, input_shape: &[usize]) -> usize {
        let mid = input_shape.last().unwrap_or(&0).saturating_mul(self.multiplier);
        let depthwise = self.c.macs("SeparableConv2D", input_shape, mid);
        let pointwise =
            self.c.window("SeparableConv2D", input_shape).map_or(0, |w| mul_all(&[w.oh, w.ow, mid, self.filters]));
        depthwise.saturating_add(pointwise)
    }
}

/// The saturating product of `v` (multiply-add counts of huge shapes stop at `usize::MAX`).
fn mul_all(v: &[usize]) -> usize {
    v.iter().fold(1usize, |a, &d| a.saturating_mul(d))
}
