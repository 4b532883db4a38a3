//! Normalization layers with Keras's names, defaults and variables (`<layer>/gamma`,
//! `<layer>/beta`, BatchNormalization's non-trainable moving statistics):
//! `BatchNormalization` (any channel axis), `LayerNormalization` (adjacent axes),
//! `GroupNormalization` and `InstanceNormalization` (groups = channels).

use super::{built, BuildCtx, Layer, Param};
use crate::ops;
use crate::{no_grad, shape_err, Device, Result, Tensor};

/// The `epsilon`, `center` and `scale` builders of a normalization layer with `epsilon: f32`
/// and `affine: Affine` fields.
macro_rules! affine_builders {
    () => {
        /// Sets epsilon (added to the variance).
        pub fn epsilon(mut self, e: f32) -> Self {
            self.epsilon = e;
            self
        }

        /// Adds beta (default) or not.
        pub fn center(mut self, c: bool) -> Self {
            self.affine.center = c;
            self
        }

        /// Adds gamma (default) or not.
        pub fn scale(mut self, s: bool) -> Self {
            self.affine.scale = s;
            self
        }
    };
}

/// Which of gamma (`scale`) and beta (`center`) a normalization layer has; Keras: both.
#[derive(Debug, Clone, Copy)]
struct Affine {
    center: bool,
    scale: bool,
}

impl Default for Affine {
    fn default() -> Self {
        Self { center: true, scale: true }
    }
}

/// A layer's gamma (ones) and beta (zeros), each present when enabled.
struct AffineVars {
    gamma: Option<Param>,
    beta: Option<Param>,
}

impl AffineVars {
    /// Creates `<layer>/gamma` and `<layer>/beta` of `shape` (trainable) as `a` asks.
    fn new(layer: &str, shape: &[usize], a: Affine, device: &Device) -> Result<Self> {
        let p = |n: &str, v: f32| Tensor::full(v, shape, device).map(|t| Param::new(format!("{layer}/{n}"), t, true));
        Ok(Self {
            gamma: a.scale.then(|| p("gamma", 1.0)).transpose()?,
            beta: a.center.then(|| p("beta", 0.0)).transpose()?,
        })
    }

    /// The current (gamma, beta) values.
    fn values(&self) -> (Option<Tensor>, Option<Tensor>) {
        (self.gamma.as_ref().map(Param::value), self.beta.as_ref().map(Param::value))
    }

    /// gamma then beta (Keras's order), those present.
    fn params(&self) -> Vec<Param> {
        self.gamma.iter().chain(&self.beta).cloned().collect()
    }
}

/// Keras's shape notation for a layer input without its batch axis: `(None, 4, 5, 3)`.
fn keras_shape(input_shape: &[usize]) -> String {
    let dims: Vec<String> = input_shape.iter().map(|d| d.to_string()).collect();
    format!("(None, {})", dims.join(", "))
}

/// A Keras axis (negative counts from the end; 0 is the batch axis) of an input of `rank`
/// axes including the batch, as a non-negative index ≥ 1.
fn resolve_axis(layer: &'static str, axis: isize, input_shape: &[usize]) -> Result<usize> {
    let rank = input_shape.len() as isize + 1;
    let a = if axis < 0 { axis + rank } else { axis };
    if a < 1 || a >= rank {
        let msg = format!("axis {axis} is out of range (or the batch axis) for inputs {}", keras_shape(input_shape));
        return Err(shape_err(layer, msg));
    }
    Ok(a as usize)
}

/// `keras.layers.BatchNormalization(axis=-1, momentum=0.99, epsilon=1e-3, center=True,
/// scale=True)`: statistics over every axis but `axis` (training) or the moving statistics
/// (inference). A channel axis other than the last is brought last by a transpose.
pub struct BatchNormalization {
    name: String,
    axis: isize,
    momentum: f32,
    epsilon: f32,
    affine: Affine,
    synchronized: bool,
    built: Option<BnBuilt>,
}

/// A built BatchNormalization: its resolved axis, input rank (with batch) and variables.
struct BnBuilt {
    axis: usize,
    rank: usize,
    affine: AffineVars,
    moving_mean: Param,
    moving_variance: Param,
}

impl Default for BatchNormalization {
    fn default() -> Self {
        Self::new()
    }
}

impl BatchNormalization {
    /// Keras's defaults: axis -1, momentum 0.99, epsilon 1e-3, center and scale.
    pub fn new() -> Self {
        Self {
            name: String::new(),
            axis: -1,
            momentum: 0.99,
            epsilon: 1e-3,
            affine: Affine::default(),
            synchronized: false,
            built: None,
        }
    }

    /// Sets the channel axis (Keras numbering: negative from the end, 0 is the batch axis).
    pub fn axis(mut self, a: isize) -> Self {
        self.axis = a;
        self
    }

    /// Sets the moving-average momentum.
    pub fn momentum(mut self, m: f32) -> Self {
        self.momentum = m;
        self
    }

    affine_builders!();

    /// Keras's `synchronized=True`: in training, the batch statistics cover the global batch
    /// of every data-parallel replica (the group installed with
    /// [`crate::replica::set_replica_group`]; with none installed, the local batch).
    pub fn synchronized(mut self, s: bool) -> Self {
        self.synchronized = s;
        self
    }

    /// moving = moving · momentum + batch · (1 − momentum), outside the gradient tape.
    fn update(&self, moving: &Param, batch: &Tensor) -> Result<()> {
        let m = self.momentum;
        let new = no_grad(|| ops::lerp(&moving.value(), batch, 1.0 - m))?;
        moving.assign(new)
    }

    /// Channels-last batch norm of `x` (`[..., c]`) in training or inference mode.
    fn normalize(&self, b: &BnBuilt, x: &Tensor, training: bool) -> Result<Tensor> {
        if !training {
            let (gamma, beta) = b.affine.values();
            let (mm, mv) = (b.moving_mean.value(), b.moving_variance.value());
            return ops::batch_normalization(x, &mm, &mv, beta.as_ref(), gamma.as_ref(), self.epsilon);
        }
        match self.synchronized.then(crate::replica::replica_group).flatten() {
            Some(group) => {
                let (gamma, beta) = self.gamma_beta(b, x)?;
                let (y, mean, var) = crate::replica::sync_batch_norm_training(x, &gamma, &beta, self.epsilon, &group)?;
                self.update_moving(b, &mean, &var)?;
                Ok(y)
            }
            None => self.train_fused(b, x, crate::Activation::None),
        }
    }

    /// γ and β, ones and zeros where the layer has none.
    fn gamma_beta(&self, b: &BnBuilt, x: &Tensor) -> Result<(Tensor, Tensor)> {
        let (gamma, beta) = b.affine.values();
        let c = [b.moving_mean.numel()];
        let gamma = gamma.map_or_else(|| Tensor::ones(&c, x.device()), Ok)?;
        Ok((gamma, beta.map_or_else(|| Tensor::zeros(&c, x.device()), Ok)?))
    }

    /// Training-mode batch norm of channels-last `x` on this replica's batch, followed by `act`
    /// in the same kernels ([`ops::batch_norm_training_with`]); updates the moving statistics.
    fn train_fused(&self, b: &BnBuilt, x: &Tensor, act: crate::Activation) -> Result<Tensor> {
        let (gamma, beta) = self.gamma_beta(b, x)?;
        let (y, mean, var) = ops::batch_norm_training_with(x, &gamma, &beta, self.epsilon, act)?;
        self.update_moving(b, &mean, &var)?;
        Ok(y)
    }

    /// Moves the moving mean and variance toward a batch's statistics.
    fn update_moving(&self, b: &BnBuilt, mean: &Tensor, var: &Tensor) -> Result<()> {
        self.update(&b.moving_mean, &mean.detach())?;
        self.update(&b.moving_variance, &var.detach())
    }
}

impl Layer for BatchNormalization {
    named!("BatchNormalization");
    fn build(&mut self, input_shape: &[usize], ctx: &mut BuildCtx) -> Result<Vec<usize>> {
        if input_shape.is_empty() {
            return Err(shape_err("BatchNormalization", "needs inputs with a channel axis, got (None,)"));
        }
        let axis = resolve_axis("BatchNormalization", self.axis, input_shape)?;
        let c = [input_shape[axis - 1]];
        let stat = |n: &str, v: f32| -> Result<Param> {
            Ok(Param::new(format!("{}/{n}", self.name), Tensor::full(v, &c, ctx.device)?, false))
        };
        self.built = Some(BnBuilt {
            axis,
            rank: input_shape.len() + 1,
            affine: AffineVars::new(&self.name, &c, self.affine, ctx.device)?,
            moving_mean: stat("moving_mean", 0.0)?,
            moving_variance: stat("moving_variance", 1.0)?,
        });
        Ok(input_shape.to_vec())
    }
    fn call(&self, x: &Tensor, training: bool) -> Result<Tensor> {
        let b = built(&self.built, &self.name)?;
        if x.rank() != b.rank {
            let msg = format!("layer '{}' was built for rank-{} inputs, got {:?}", self.name, b.rank, x.shape());
            return Err(shape_err("BatchNormalization", msg));
        }
        if b.axis + 1 == b.rank {
            return self.normalize(b, x, training);
        }
        // [outer, c, inner] → [outer, inner, c], normalize, and back.
        let s = x.shape();
        let (outer, c, inner) = (s[..b.axis].iter().product(), s[b.axis], s[b.axis + 1..].iter().product());
        let xt = ops::transpose2d(&x.reshape(&[outer, c, inner])?)?;
        let yt = self.normalize(b, &xt, training)?;
        ops::transpose2d(&yt)?.reshape(s)
    }
    /// Fuses `act` in training mode, for channels-last inputs without cross-replica
    /// statistics (inference and the other cases run unfused).
    fn call_fused(&self, x: &Tensor, act: crate::Activation, training: bool) -> Option<Result<Tensor>> {
        let b = self.built.as_ref()?;
        let synced = self.synchronized && crate::replica::replica_group().is_some();
        let plain = training && !synced && b.axis + 1 == b.rank && x.rank() == b.rank;
        plain.then(|| self.train_fused(b, x, act))
    }
    fn variables(&self) -> Vec<Param> {
        let Some(b) = &self.built else { return Vec::new() };
        let mut v = b.affine.params();
        v.extend([b.moving_mean.clone(), b.moving_variance.clone()]);
        v
    }
}

/// `keras.layers.LayerNormalization(axis=-1, epsilon=1e-3, center=True, scale=True)`:
/// statistics per example over `axis` (adjacent axes, e.g. `[1, 2, 3]` for NHWC, or `[1, 2]`
/// per example and channel); gamma and beta have the shape of those axes.
pub struct LayerNormalization {
    name: String,
    axis: Vec<isize>,
    epsilon: f32,
    affine: Affine,
    axes: Vec<usize>,
    vars: Option<AffineVars>,
}

impl Default for LayerNormalization {
    fn default() -> Self {
        Self::new()
    }
}

impl LayerNormalization {
    /// Keras's defaults: axis -1, epsilon 1e-3, center and scale.
    pub fn new() -> Self {
        Self {
            name: String::new(),
            axis: vec![-1],
            epsilon: 1e-3,
            affine: Affine::default(),
            axes: Vec::new(),
            vars: None,
        }
    }

    /// Sets the normalized axes (Keras numbering: negative from the end; they must be
    /// adjacent), e.g. `.axis([-1])`, `.axis([1, 2, 3])` or `.axis([1, 2])`.
    pub fn axis(mut self, axes: impl AsRef<[isize]>) -> Self {
        self.axis = axes.as_ref().to_vec();
        self
    }

    affine_builders!();
}

impl Layer for LayerNormalization {
    named!("LayerNormalization");
    fn build(&mut self, input_shape: &[usize], ctx: &mut BuildCtx) -> Result<Vec<usize>> {
        let mut axes = self
            .axis
            .iter()
            .map(|&a| resolve_axis("LayerNormalization", a, input_shape))
            .collect::<Result<Vec<_>>>()?;
        axes.sort_unstable();
        let adjacent = axes.windows(2).all(|w| w[1] == w[0] + 1);
        if axes.is_empty() || !adjacent {
            let msg = format!(
                "axis {:?} must be distinct, adjacent axes of inputs {} (e.g. [-1] or [1, 2, 3])",
                self.axis,
                keras_shape(input_shape)
            );
            return Err(shape_err("LayerNormalization", msg));
        }
        let shape: Vec<usize> = axes.iter().map(|&a| input_shape[a - 1]).collect();
        self.vars = Some(AffineVars::new(&self.name, &shape, self.affine, ctx.device)?);
        self.axes = axes;
        Ok(input_shape.to_vec())
    }
    fn call(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        let (gamma, beta) = built(&self.vars, &self.name)?.values();
        ops::layer_normalization(x, gamma.as_ref(), beta.as_ref(), &self.axes, self.epsilon)
    }
    fn variables(&self) -> Vec<Param> {
        self.vars.as_ref().map(AffineVars::params).unwrap_or_default()
    }
}

/// `keras.layers.GroupNormalization(groups=32, axis=-1, epsilon=1e-3, center=True,
/// scale=True)`: statistics per example over every position and the channels of each group.
pub struct GroupNormalization {
    name: String,
    /// Groups, or `None` for one group per channel (instance normalization).
    groups: Option<usize>,
    epsilon: f32,
    affine: Affine,
    resolved: usize,
    vars: Option<AffineVars>,
}

impl Default for GroupNormalization {
    fn default() -> Self {
        Self::new(32)
    }
}

impl GroupNormalization {
    /// `groups` groups of channels (Keras's default is 32), epsilon 1e-3, center and scale.
    pub fn new(groups: usize) -> Self {
        Self {
            name: String::new(),
            groups: Some(groups),
            epsilon: 1e-3,
            affine: Affine::default(),
            resolved: 0,
            vars: None,
        }
    }

    affine_builders!();

    /// Builds for `input_shape` under the Keras class name `kind` (for error messages).
    fn build_as(&mut self, kind: &'static str, input_shape: &[usize], ctx: &mut BuildCtx) -> Result<Vec<usize>> {
        let Some(&c) = input_shape.last() else {
            return Err(shape_err(kind, "needs inputs with a channel axis, got (None,)"));
        };
        let groups = self.groups.unwrap_or(c);
        if groups == 0 || groups > c || !c.is_multiple_of(groups) {
            let msg = format!(
                "layer '{}': {c} channels (inputs {}) do not split into {groups} groups: the number of groups must divide the number of channels",
                self.name,
                keras_shape(input_shape)
            );
            return Err(shape_err(kind, msg));
        }
        self.resolved = groups;
        self.vars = Some(AffineVars::new(&self.name, &[c], self.affine, ctx.device)?);
        Ok(input_shape.to_vec())
    }
}

impl Layer for GroupNormalization {
    named!("GroupNormalization");
    fn build(&mut self, input_shape: &[usize], ctx: &mut BuildCtx) -> Result<Vec<usize>> {
        self.build_as("GroupNormalization", input_shape, ctx)
    }
    fn call(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        let (gamma, beta) = built(&self.vars, &self.name)?.values();
        ops::group_normalization(x, self.resolved, gamma.as_ref(), beta.as_ref(), self.epsilon)
    }
    fn variables(&self) -> Vec<Param> {
        self.vars.as_ref().map(AffineVars::params).unwrap_or_default()
    }
}

/// Instance normalization (tensorflow_addons' `InstanceNormalization`, epsilon 1e-3): a
/// GroupNormalization with one group per channel — statistics per example and channel.
pub struct InstanceNormalization(GroupNormalization);

impl Default for InstanceNormalization {
    fn default() -> Self {
        Self::new()
    }
}

impl InstanceNormalization {
    /// Epsilon 1e-3, center and scale.
    pub fn new() -> Self {
        Self(GroupNormalization { groups: None, ..GroupNormalization::new(1) })
    }

    /// Sets epsilon (added to the variance).
    pub fn epsilon(self, e: f32) -> Self {
        Self(self.0.epsilon(e))
    }

    /// Adds beta (default) or not.
    pub fn center(self, c: bool) -> Self {
        Self(self.0.center(c))
    }

    /// Adds gamma (default) or not.
    pub fn scale(self, s: bool) -> Self {
        Self(self.0.scale(s))
    }
}

impl Layer for InstanceNormalization {
    fn name(&self) -> &str {
        self.0.name()
    }
    fn set_name(&mut self, name: String) {
        self.0.set_name(name)
    }
    fn kind(&self) -> &'static str {
        "InstanceNormalization"
    }
    fn build(&mut self, input_shape: &[usize], ctx: &mut BuildCtx) -> Result<Vec<usize>> {
        self.0.build_as("InstanceNormalization", input_shape, ctx)
    }
    fn call(&self, x: &Tensor, training: bool) -> Result<Tensor> {
        self.0.call(x, training)
    }
    fn variables(&self) -> Vec<Param> {
        self.0.variables()
    }
}
