//! Keras-style layers. A layer is built once for an input shape (without the batch
//! dimension), creating its variables as [`Param`]s, and then called on batches. Layers
//! compose into [`crate::models::Sequential`] or into custom blocks that implement [`Layer`].

/// The `name`, `set_name` and `kind` methods of a layer with a `name: String` field.
macro_rules! named {
    ($kind:literal) => {
        fn name(&self) -> &str {
            &self.name
        }
        fn set_name(&mut self, name: String) {
            self.name = name;
        }
        fn kind(&self) -> &'static str {
            $kind
        }
    };
}

mod activations;
mod conv;
mod core;
mod merge;
mod normalization;
mod pooling;
mod reshaping;

pub use self::core::{Activation, ChannelShuffle, Dense, Dropout, Flatten, Softmax};
pub use activations::{LeakyReLU, ReLU, ELU};
pub use conv::{Conv2D, Conv2DTranspose, DepthwiseConv2D, SeparableConv2D};
pub use merge::{Add, Average, Concatenate, Maximum, Minimum, Multiply, Subtract};
pub use normalization::{BatchNormalization, GroupNormalization, InstanceNormalization, LayerNormalization};
pub use pooling::{
    AveragePooling2D, GlobalAveragePooling2D, GlobalMaxPooling2D, Interpolation, MaxPool2D, UpSampling2D,
};
pub use reshaping::{Cropping2D, Reshape, ZeroPadding2D};

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::analysis::ReceptiveField;
use crate::autodiff::MaybeSendSync;
use crate::random::Rng;
use crate::{shape_err, Device, Result, Tensor};

/// A model variable: a named, shared, replaceable tensor (trainable or not).
#[derive(Clone)]
pub struct Param {
    inner: Arc<ParamInner>,
}

struct ParamInner {
    id: u64,
    name: String,
    trainable: bool,
    value: Mutex<Tensor>,
}

impl Param {
    /// A new variable; trainable ones are marked so gradients flow to them.
    pub fn new(name: impl Into<String>, value: Tensor, trainable: bool) -> Self {
        let value = if trainable { value.variable() } else { value };
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        Self { inner: Arc::new(ParamInner { id, name: name.into(), trainable, value: Mutex::new(value) }) }
    }

    /// The variable's identity: unique per variable, shared by clones (optimizer state is keyed
    /// by it; two variables may share a name).
    pub fn id(&self) -> u64 {
        self.inner.id
    }

    /// The current value (its identity is what [`crate::Gradients::get`] looks up).
    pub fn value(&self) -> Tensor {
        self.inner.value.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Replaces the value (same shape required).
    pub fn assign(&self, t: Tensor) -> Result<()> {
        let mut v = self.inner.value.lock().unwrap_or_else(|p| p.into_inner());
        if t.shape() != v.shape() {
            return Err(shape_err(
                "assign",
                format!(
                    "variable '{}' has shape {:?}; cannot assign a tensor of shape {:?}",
                    self.inner.name,
                    v.shape(),
                    t.shape()
                ),
            ));
        }
        *v = if self.inner.trainable { t.detach().variable() } else { t.detach() };
        Ok(())
    }

    /// The variable's path, e.g. `conv2d/kernel`.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// True for variables the optimizer updates.
    pub fn trainable(&self) -> bool {
        self.inner.trainable
    }

    /// The variable's shape.
    pub fn shape(&self) -> Vec<usize> {
        self.value().shape().to_vec()
    }

    /// Number of scalars.
    pub fn numel(&self) -> usize {
        self.value().numel()
    }
}

impl std::fmt::Debug for Param {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Param({}, {:?}, trainable={})", self.name(), self.shape(), self.trainable())
    }
}

/// What `build` needs: where variables live and the seeded generator for initializers.
pub struct BuildCtx<'a> {
    /// Device for the variables.
    pub device: &'a Device,
    /// Seeded generator for initializers.
    pub rng: &'a mut Rng,
}

/// A Keras-style layer.
pub trait Layer: MaybeSendSync {
    /// The layer's name (unique within a model; Sequential assigns Keras-style defaults).
    fn name(&self) -> &str;
    /// Renames the layer (before `build`, so variable paths use the new name).
    fn set_name(&mut self, name: String);
    /// The Keras class name shown by `summary()` (e.g. `Conv2D`).
    fn kind(&self) -> &'static str;
    /// Creates the variables for `input_shape` (no batch dimension); returns the output shape.
    fn build(&mut self, input_shape: &[usize], ctx: &mut BuildCtx) -> Result<Vec<usize>>;
    /// Runs the layer on a batch; `training` switches dropout and batch statistics.
    fn call(&self, x: &Tensor, training: bool) -> Result<Tensor>;
    /// Every variable, trainable or not, in Keras's order.
    fn variables(&self) -> Vec<Param> {
        Vec::new()
    }
    /// Builds for several inputs (merge layers override this; others take exactly one).
    fn build_multi(&mut self, input_shapes: &[Vec<usize>], ctx: &mut BuildCtx) -> Result<Vec<usize>> {
        match input_shapes {
            [one] => self.build(one, ctx),
            _ => Err(one_input_err(self.name(), self.kind(), input_shapes.len())),
        }
    }
    /// Runs on several inputs (merge layers override this; others take exactly one).
    fn call_multi(&self, xs: &[Tensor], training: bool) -> Result<Tensor> {
        match xs {
            [one] => self.call(one, training),
            _ => Err(one_input_err(self.name(), self.kind(), xs.len())),
        }
    }
    /// True once `build` has created the layer's state (layers without variables build for
    /// every input shape, so they count as unbuilt).
    fn is_built(&self) -> bool {
        !self.variables().is_empty()
    }
    /// The layer's window on an input of `input_shape` (no batch) as TensorFlow's
    /// receptive-field tool defines it; `None` (the default) for layers that keep every pixel
    /// where it is (activations, normalisation, dropout, merges).
    fn receptive_field(&self, _input_shape: &[usize]) -> Option<ReceptiveField> {
        None
    }
    /// Multiply-adds for one example of `input_shape` (no batch); 0 by default.
    fn macs(&self, _input_shape: &[usize]) -> usize {
        0
    }
    /// The activation this layer computes when it is exactly a fusable activation (a plain
    /// `ReLU` layer or `Activation(Relu)`: `Some(Relu)`), so the layer before it may fuse it
    /// ([`Layer::call_fused`]); `None` (the default) otherwise.
    fn fusable_activation(&self) -> Option<crate::Activation> {
        None
    }
    /// `act(self.call(x))` computed by one fused op, or `None` (the default) when the layer
    /// cannot fuse `act` (here). `Sequential` uses it through [`call_pair`], functional models
    /// directly.
    fn call_fused(&self, _x: &Tensor, _act: crate::Activation, _training: bool) -> Option<Result<Tensor>> {
        None
    }
    /// The pooling this layer computes when it is exactly a 2-D max pooling (`MaxPool2D`:
    /// `Some(its options)`), so the layer before it may fuse it ([`Layer::call_pooled`]);
    /// `None` (the default) otherwise.
    fn fusable_max_pool(&self) -> Option<crate::ops::PoolOptions> {
        None
    }
    /// `max_pool2d(self.call(x), pool)` (with `pool.activation` after it) computed by one fused
    /// op, or `None` (the default) when the layer cannot fuse that pooling (`Conv2D` can:
    /// [`crate::ops::conv2d_max_pool2d`]).
    fn call_pooled(&self, _x: &Tensor, _pool: &crate::ops::PoolOptions, _training: bool) -> Option<Result<Tensor>> {
        None
    }
    /// The sparse softmax cross-entropy (from logits) of this layer's output against class ids
    /// `labels`, with the accuracy, as one fused op, or `None` (the default) when the layer
    /// cannot fuse the loss (a Dense layer without activation can:
    /// [`crate::ops::dense_sparse_categorical_crossentropy_with_accuracy`]; a Sequential model
    /// runs its last layer so). Used through [`sparse_xent_with_accuracy`].
    fn call_sparse_xent(&self, _x: &Tensor, _labels: &Tensor, _training: bool) -> Option<Result<(Tensor, Tensor)>> {
        None
    }
    /// [`Layer::call_fused`] on several inputs (an `Add` fuses a ReLU); by default the
    /// single-input form for one input, `None` otherwise.
    fn call_multi_fused(&self, xs: &[Tensor], act: crate::Activation, training: bool) -> Option<Result<Tensor>> {
        match xs {
            [x] => self.call_fused(x, act, training),
            _ => None,
        }
    }
}

/// The models' peephole fusion: runs `layer` on `x`, fusing the next layer into it when that
/// is a plain activation layer (`next_act`, its [`Layer::fusable_activation`]) that `layer`
/// can fuse (MaxPool2D / AveragePooling2D → ReLU; BatchNormalization → ReLU in training),
/// with the same values and gradients as the two calls. The caller makes sure `layer`'s own
/// output is needed by nothing but the next layer (not a model output, no other reader).
/// Returns the output and how many layers it covers (2 when fused: the next layer's output).
pub fn call_pair(
    layer: &dyn Layer,
    next_act: Option<crate::Activation>,
    x: &Tensor,
    training: bool,
) -> Result<(Tensor, usize)> {
    if let Some(y) = next_act.and_then(|act| layer.call_fused(x, act, training)) {
        return Ok((y?, 2));
    }
    Ok((layer.call(x, training)?, 1))
}

/// [`call_pair`] with a max pooling first: runs `layers[0]` on `x`, fusing `layers[1]` into it
/// when that is a max pooling ([`Layer::fusable_max_pool`]) the layer can fuse
/// ([`Layer::call_pooled`]: Conv2D → MaxPool2D), and then `layers[2]` too when it is a plain
/// activation the pooling takes (Conv2D → MaxPool2D → ReLU, LeNet-5's); else as
/// [`call_pair`]. The caller makes sure each fused layer's output is read by the next alone.
/// Returns the output and how many layers it covers (1 to 3).
pub fn call_run(layers: &[&dyn Layer], x: &Tensor, training: bool) -> Result<(Tensor, usize)> {
    let Some((first, rest)) = layers.split_first() else {
        return Err(shape_err("layer", "no layer to call"));
    };
    if let Some(pool) = rest.first().and_then(|l| l.fusable_max_pool()) {
        let act = rest.get(1).and_then(|l| l.fusable_activation());
        let opts = crate::ops::PoolOptions { activation: act.unwrap_or(crate::Activation::None), ..pool };
        if let Some(y) = first.call_pooled(x, &opts, training) {
            return Ok((y?, 2 + act.is_some() as usize));
        }
    }
    let next_act = rest.first().and_then(|l| l.fusable_activation());
    call_pair(*first, next_act, x, training)
}

/// A classifier's training loss: `model`'s output (logits) fed to
/// [`crate::ops::sparse_categorical_crossentropy_with_accuracy`] against class ids `labels`,
/// as `(loss, accuracy)`, with the model's last layer and the loss fused where the model can
/// ([`Layer::call_sparse_xent`]: the same values and gradients).
pub fn sparse_xent_with_accuracy(
    model: &dyn Layer,
    x: &Tensor,
    labels: &Tensor,
    training: bool,
) -> Result<(Tensor, Tensor)> {
    if let Some(fused) = model.call_sparse_xent(x, labels, training) {
        return fused;
    }
    crate::ops::sparse_categorical_crossentropy_with_accuracy(labels, &model.call(x, training)?, true)
}

/// The error of a single-input layer given `n` inputs.
fn one_input_err(name: &str, kind: &str, n: usize) -> crate::Error {
    shape_err("layer", format!("layer '{name}' ({kind}) takes one input, got {n}"))
}

/// Keras's lazy build for a layer used on its own: the first call builds it for the input's
/// shape and device (seeded from the session's layer counter), naming it if unnamed.
pub trait LayerExt: Layer {
    /// Calls the layer, building it first if needed.
    fn forward(&mut self, x: &Tensor, training: bool) -> Result<Tensor> {
        if !self.is_built() {
            if self.name().is_empty() {
                self.set_name(unique_name(&snake_name(self.kind())));
            }
            let mut rng = Rng::new(session_seed());
            let shape = x.shape().get(1..).unwrap_or(&[]).to_vec();
            self.build(&shape, &mut BuildCtx { device: x.device(), rng: &mut rng })?;
        }
        self.call(x, training)
    }
}

impl<L: Layer + ?Sized> LayerExt for L {}

thread_local! {
    static SESSION: std::cell::RefCell<(std::collections::HashMap<String, usize>, u64)> =
        std::cell::RefCell::new(Default::default());
}

/// A layer name unique in this thread's session, as Keras's: `dense`, `dense_1`, ...
pub fn unique_name(base: &str) -> String {
    SESSION.with(|s| {
        let mut s = s.borrow_mut();
        let n = s.0.entry(base.to_string()).or_insert(0);
        let name = if *n == 0 { base.to_string() } else { format!("{base}_{n}") };
        *n += 1;
        name
    })
}

/// A fresh seed for a lazily built layer (deterministic within a session).
fn session_seed() -> u64 {
    SESSION.with(|s| {
        let mut s = s.borrow_mut();
        s.1 += 1;
        s.1
    })
}

/// `keras.backend.clear_session()`: restarts automatic names (`dense`, `dense_1`, ...) and the
/// seeds of lazily built layers in this thread.
pub fn clear_session() {
    SESSION.with(|s| *s.borrow_mut() = Default::default());
}

/// The variables of `layer` that the optimizer updates.
pub fn trainable(layer: &dyn Layer) -> Vec<Param> {
    layer.variables().into_iter().filter(Param::trainable).collect()
}

/// Keras's default layer name for a class (its `to_snake_case`): `Conv2D` → `conv2d`,
/// `MaxPooling2D` → `max_pooling2d`, `ReLU` → `re_lu`.
pub fn snake_name(kind: &str) -> String {
    let c: Vec<char> = kind.chars().collect();
    let mut out = String::new();
    for i in 0..c.len() {
        let starts_word = c.get(i + 1).is_some_and(|n| n.is_ascii_lowercase() || n.is_ascii_digit());
        let after_lower = i > 0 && c[i - 1].is_ascii_lowercase();
        if i > 0 && c[i].is_uppercase() && (starts_word || after_lower) && !out.ends_with('_') {
            out.push('_');
        }
        out.extend(c[i].to_lowercase());
    }
    out
}

/// Errors unless the layer was built.
pub(crate) fn built<'a, T>(v: &'a Option<T>, layer: &str) -> Result<&'a T> {
    v.as_ref().ok_or_else(|| shape_err("layer", format!("layer '{layer}' was called before build()")))
}

/// Checks that a batch matches the shape the layer was built for.
pub(crate) fn check_input(layer: &str, x: &Tensor, built_for: &[usize]) -> Result<()> {
    if x.rank() != built_for.len() + 1 || &x.shape()[1..] != built_for {
        return Err(shape_err(
            "layer",
            format!(
                "layer '{layer}' was built for inputs (None, {}) but got {:?}",
                built_for.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", "),
                x.shape()
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::snake_name;

    #[test]
    fn keras_default_names() {
        assert_eq!(snake_name("Conv2D"), "conv2d");
        assert_eq!(snake_name("MaxPooling2D"), "max_pooling2d");
        assert_eq!(snake_name("BatchNormalization"), "batch_normalization");
        assert_eq!(snake_name("GlobalAveragePooling2D"), "global_average_pooling2d");
        assert_eq!(snake_name("Dense"), "dense");
        assert_eq!(snake_name("ReLU"), "re_lu");
        assert_eq!(snake_name("UpSampling2D"), "up_sampling2d");
        assert_eq!(snake_name("Conv2DTranspose"), "conv2d_transpose");
    }
}
