//! Pooling and resizing layers: MaxPool2D, AveragePooling2D, the global poolings, UpSampling2D.

use super::{BuildCtx, Layer};
use crate::analysis::ReceptiveField;
use crate::ops::{self, Hw, PoolOptions};
use crate::{shape_err, Padding, Result, Tensor};
use tessera_kernels::Window2d;

/// A pooling window layer (`MaxPooling2D` or `AveragePooling2D`).
struct Pool2d {
    name: String,
    opts: PoolOptions,
}

impl Pool2d {
    fn out_shape(&self, op: &'static str, input: &[usize]) -> Result<Vec<usize>> {
        let [h, w, c] = <[usize; 3]>::try_from(input).map_err(|_| {
            shape_err(op, format!("layer '{}' needs inputs (None, h, w, c), got (None, {input:?})", self.name))
        })?;
        let o = &self.opts;
        let g = Window2d::new(op, &[1, h, w, c], o.ksize, o.strides, [1, 1], &o.padding)?;
        Ok(vec![g.oh, g.ow, c])
    }
}

/// Builder methods of the window pooling layers.
macro_rules! pool_layer {
    ($ty:ident, $kind:literal, $op:ident, $max:literal, $doc:literal) => {
        #[doc = $doc]
        pub struct $ty(Pool2d);

        impl $ty {
            /// A `pool_size` window with strides equal to it and VALID padding (Keras's defaults).
            pub fn new(pool_size: impl Into<Hw>) -> Self {
                Self(Pool2d { name: String::new(), opts: PoolOptions::new(pool_size) })
            }
            /// Sets the strides (one number or (h, w)).
            pub fn strides(mut self, s: impl Into<Hw>) -> Self {
                self.0.opts = self.0.opts.strides(s);
                self
            }
            /// Sets the padding.
            pub fn padding(mut self, p: Padding) -> Self {
                self.0.opts = self.0.opts.padding(p);
                self
            }
        }

        impl Layer for $ty {
            fn name(&self) -> &str {
                &self.0.name
            }
            fn set_name(&mut self, name: String) {
                self.0.name = name;
            }
            fn kind(&self) -> &'static str {
                $kind
            }
            fn build(&mut self, input_shape: &[usize], _ctx: &mut BuildCtx) -> Result<Vec<usize>> {
                self.0.out_shape(stringify!($op), input_shape)
            }
            fn call(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
                ops::$op(x, &self.0.opts)
            }
            fn call_fused(&self, x: &Tensor, act: crate::Activation, _training: bool) -> Option<Result<Tensor>> {
                Some(ops::$op(x, &self.0.opts.activation(act)))
            }
            fn fusable_max_pool(&self) -> Option<PoolOptions> {
                $max.then_some(self.0.opts)
            }
            fn receptive_field(&self, input_shape: &[usize]) -> Option<ReceptiveField> {
                let o = &self.0.opts;
                let x = [&[1], input_shape].concat();
                let w = Window2d::new(stringify!($op), &x, o.ksize, o.strides, [1, 1], &o.padding).ok()?;
                Some(ReceptiveField::from_window(&w))
            }
        }
    };
}

pool_layer!(MaxPool2D, "MaxPooling2D", max_pool2d, true, "`keras.layers.MaxPool2D(pool_size, strides, padding)`.");
pool_layer!(
    AveragePooling2D,
    "AveragePooling2D",
    avg_pool2d,
    false,
    "`keras.layers.AveragePooling2D(pool_size, strides, padding)`."
);

/// Global pooling over height and width: `[batch, h, w, c]` → `[batch, c]`.
macro_rules! global_pool_layer {
    ($ty:ident, $kind:literal, $op:ident, $doc:literal) => {
        #[doc = $doc]
        #[derive(Default)]
        pub struct $ty {
            name: String,
        }

        impl $ty {
            /// A global pooling layer.
            pub fn new() -> Self {
                Self::default()
            }
        }

        impl Layer for $ty {
            named!($kind);
            fn build(&mut self, input_shape: &[usize], _ctx: &mut BuildCtx) -> Result<Vec<usize>> {
                match input_shape {
                    [_, _, c] => Ok(vec![*c]),
                    _ => Err(shape_err($kind, format!("needs inputs (None, h, w, c), got (None, {input_shape:?})"))),
                }
            }
            fn call(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
                ops::$op(x)
            }
        }
    };
}

global_pool_layer!(
    GlobalAveragePooling2D,
    "GlobalAveragePooling2D",
    global_avg_pool2d,
    "`keras.layers.GlobalAveragePooling2D()`."
);
global_pool_layer!(GlobalMaxPooling2D, "GlobalMaxPooling2D", global_max_pool2d, "`keras.layers.GlobalMaxPooling2D()`.");

/// How `UpSampling2D` fills the new pixels (Keras's `interpolation` argument).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Interpolation {
    /// Repeats each pixel (`"nearest"`, Keras's default).
    #[default]
    Nearest,
    /// `tf.image.resize(..., "bilinear")` to `(h·sh, w·sw)` (`"bilinear"`).
    Bilinear,
}

/// `keras.layers.UpSampling2D(size, interpolation)`: nearest-neighbour (default) or bilinear.
pub struct UpSampling2D {
    name: String,
    size: Hw,
    interpolation: Interpolation,
}

impl UpSampling2D {
    /// Scales rows and columns by `size` (one number or (h, w)), nearest-neighbour.
    pub fn new(size: impl Into<Hw>) -> Self {
        Self { name: String::new(), size: size.into(), interpolation: Interpolation::Nearest }
    }

    /// Sets the interpolation (Keras `interpolation="nearest"` or `"bilinear"`).
    pub fn interpolation(mut self, i: Interpolation) -> Self {
        self.interpolation = i;
        self
    }
}

impl Layer for UpSampling2D {
    named!("UpSampling2D");
    fn build(&mut self, input_shape: &[usize], _ctx: &mut BuildCtx) -> Result<Vec<usize>> {
        match input_shape {
            [h, w, c] => match (h.checked_mul(self.size.0[0]), w.checked_mul(self.size.0[1])) {
                (Some(oh), Some(ow)) => Ok(vec![oh, ow, *c]),
                _ => Err(shape_err(
                    "UpSampling2D",
                    format!("size {:?} overflows input (None, {h}, {w}, {c})", self.size.0),
                )),
            },
            _ => Err(shape_err("UpSampling2D", format!("needs inputs (None, h, w, c), got (None, {input_shape:?})"))),
        }
    }
    fn call(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        match self.interpolation {
            Interpolation::Nearest => ops::upsample_nearest2d(x, self.size),
            Interpolation::Bilinear => match x.shape() {
                &[_, h, w, _] => match (h.checked_mul(self.size.0[0]), w.checked_mul(self.size.0[1])) {
                    (Some(oh), Some(ow)) => ops::resize_bilinear(x, (oh, ow)),
                    _ => Err(shape_err(
                        "UpSampling2D",
                        format!("size {:?} overflows input {:?}", self.size.0, x.shape()),
                    )),
                },
                s => Err(shape_err("UpSampling2D", format!("needs inputs (batch, h, w, c), got {s:?}"))),
            },
        }
    }
}
