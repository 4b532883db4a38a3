//! Optimizers with Keras 3's formulas and defaults: [`Sgd`] (momentum, Nesterov), [`Adam`]
//! (AMSGrad), [`AdamW`] and [`RmsProp`] (momentum, centered), all with the base optimizer's
//! options (learning-rate [`schedules`], `clipnorm`, `global_clipnorm`, `clipvalue`,
//! `weight_decay`). Updates run on the variables' device: on the GPU one dispatch updates all
//! the variables of a step (a multi-tensor update: `tessera_kernels::optimizer::update_many`).
//! State is keyed by the variable's identity ([`Param::id`]); names are used only for
//! checkpoints.

pub mod schedules;

use std::collections::HashMap;

use tessera_kernels::optimizer as k;
pub use tessera_kernels::optimizer::{Rule, Update};

use crate::autodiff::MaybeSendSync;
use crate::layers::Param;
use crate::ops::{add, concat, div, maximum, minimum, mul, reduce_sum, slice, sqrt, square};
use crate::tensor::common_device;
use crate::{no_grad, shape_err, Device, Gradients, Result, Tensor};
use schedules::LearningRateSchedule;

/// A gradient-descent optimizer.
pub trait Optimizer {
    /// Applies one update from arbitrary (gradient, variable) pairs, as Keras's
    /// `optimizer.apply_gradients(zip(grads, vars))`; every gradient must have its variable's
    /// shape and device. An empty list is a no-op (the step count does not move).
    fn apply(&mut self, grads_and_vars: &[(&Tensor, &Param)]) -> Result<()>;
    /// Applies one update to every trainable variable in `vars` that has a gradient in `grads`.
    fn apply_gradients(&mut self, grads: &Gradients, vars: &[Param]) -> Result<()> {
        let pairs: Vec<(&Tensor, &Param)> =
            vars.iter().filter(|v| v.trainable()).filter_map(|v| Some((grads.get(&v.value())?, v))).collect();
        self.apply(&pairs)
    }
    /// Steps taken so far.
    fn iterations(&self) -> u64;
    /// The optimizer's state tensors (`<slot>/<variable name>` → tensor), for checkpoints; an
    /// error when two variables with state share a name.
    fn state(&self) -> Result<Vec<(String, Tensor)>>;
    /// Restores state saved by [`Optimizer::state`], matching variables by name (`vars` gives
    /// the devices and shapes).
    fn load_state(&mut self, iterations: u64, state: &HashMap<String, Tensor>, vars: &[Param]) -> Result<()>;
    /// Keras's class name (`SGD`, `Adam`, `AdamW`, `RMSprop`).
    fn kind(&self) -> &'static str;
    /// The learning rate the next step will use (a schedule's value at [`Optimizer::iterations`]).
    fn learning_rate(&self) -> f32;
    /// Sets a constant learning rate, replacing any schedule (callbacks such as
    /// reduce-on-plateau use this).
    fn set_learning_rate(&mut self, lr: f32);
}

/// A learning rate: a constant or a schedule evaluated at the optimizer's iterations.
pub enum LearningRate {
    /// The same rate at every step.
    Constant(f32),
    /// A rate that depends on the step.
    Schedule(Box<dyn LearningRateSchedule>),
}

impl LearningRate {
    /// The rate at `step`.
    pub fn at(&self, step: u64) -> f32 {
        match self {
            LearningRate::Constant(lr) => *lr,
            LearningRate::Schedule(s) => s.at(step),
        }
    }
}

/// Gradient clipping before the update (Keras allows one kind at a time).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Clip {
    None,
    Norm(f32),
    GlobalNorm(f32),
    Value(f32),
}

/// The per-algorithm settings of a [`KerasOptimizer`].
pub trait Config: MaybeSendSync {
    /// Keras's class name.
    const KIND: &'static str;
    /// The update rule for step `t` (1-based) at learning rate `lr`.
    fn rule(&self, lr: f32, t: u64) -> Rule;
}

/// One variable's state: its name (for checkpoints), shape and its slots packed `[k, n]`.
struct VarSlots {
    name: String,
    shape: Vec<usize>,
    /// `[k, n]`; `None` while they live in the optimizer's [`Group`].
    packed: Option<Tensor>,
}

/// The most elements (all variables together) updated by one multi-tensor dispatch: its flat
/// copies of the values and gradients and its new slots are transient memory proportional to
/// the model, which for large models (ResNet-18: 11 M parameters) costs more peak memory than
/// the saved launches are worth; larger sets of variables are updated one dispatch each.
pub const FUSED_MAX_ELEMENTS: usize = 1 << 22;

/// The slots of the variables of the last multi-tensor GPU update, packed slot-major over the
/// concatenation of the variables (`[k, total]`, `total` the [`k::packed_len`] of their
/// elements), so the next step with the same variables
/// is one dispatch with no repacking.
struct Group {
    ids: Vec<u64>,
    offsets: Vec<usize>,
    total: usize,
    packed: Tensor,
}

/// A Keras optimizer: the algorithm's settings `C` plus the base optimizer's options and state.
pub struct KerasOptimizer<C: Config> {
    config: C,
    lr: LearningRate,
    weight_decay: Option<f32>,
    clip: Clip,
    iterations: u64,
    slots: HashMap<u64, VarSlots>,
    group: Option<Group>,
}

impl<C: Config> KerasOptimizer<C> {
    fn with_config(config: C, learning_rate: f32) -> Self {
        let lr = LearningRate::Constant(learning_rate);
        Self { config, lr, weight_decay: None, clip: Clip::None, iterations: 0, slots: HashMap::new(), group: None }
    }

    /// Uses a learning-rate schedule evaluated at the optimizer's iterations.
    pub fn learning_rate_schedule(mut self, schedule: impl LearningRateSchedule + 'static) -> Self {
        self.lr = LearningRate::Schedule(Box::new(schedule));
        self
    }

    /// Uses a constant learning rate or a schedule.
    pub fn with_learning_rate(mut self, lr: LearningRate) -> Self {
        self.lr = lr;
        self
    }

    /// Keras's `clipnorm`: each gradient is rescaled so its L2 norm is at most `c` (0: off).
    pub fn clipnorm(self, c: f32) -> Self {
        self.clipping(Clip::Norm(c), c)
    }

    /// Keras's `global_clipnorm`: all gradients are rescaled together so their joint L2 norm
    /// is at most `c` (0: off).
    pub fn global_clipnorm(self, c: f32) -> Self {
        self.clipping(Clip::GlobalNorm(c), c)
    }

    /// Keras's `clipvalue`: every gradient element is clipped to `[-c, c]` (0: off).
    pub fn clipvalue(self, c: f32) -> Self {
        self.clipping(Clip::Value(c), c)
    }

    fn clipping(mut self, clip: Clip, c: f32) -> Self {
        self.clip = if c > 0.0 { clip } else { Clip::None };
        self
    }

    /// Keras's `weight_decay`: before each update, `p −= p · weight_decay · lr`.
    pub fn weight_decay(mut self, wd: f32) -> Self {
        self.weight_decay = Some(wd);
        self
    }

    /// The algorithm's settings.
    pub fn config(&self) -> &C {
        &self.config
    }

    /// Applies the configured clipping to the gradients (on their device).
    fn clip_gradients(&self, grads: Vec<Tensor>) -> Result<Vec<Tensor>> {
        let scalar = |v: f32, g: &Tensor| Tensor::full(v, &[], g.device());
        let norm = |g: &Tensor| reduce_sum(&square(g)?, None, false);
        match self.clip {
            Clip::None => Ok(grads),
            Clip::Norm(c) => grads
                .iter()
                .map(|g| {
                    let c = scalar(c, g)?;
                    div(&mul(g, &c)?, &maximum(&sqrt(&norm(g)?)?, &c)?)
                })
                .collect(),
            Clip::GlobalNorm(c) => {
                let Some(first) = grads.first() else { return Ok(grads) };
                let mut total = norm(first)?;
                for g in &grads[1..] {
                    total = add(&total, &norm(g)?)?;
                }
                let inv = div(&scalar(1.0, first)?, &sqrt(&total)?)?;
                let scale = mul(&scalar(c, first)?, &minimum(&inv, &scalar(1.0 / c, first)?)?)?;
                grads.iter().map(|g| mul(g, &scale)).collect()
            }
            Clip::Value(v) => grads.iter().map(|g| minimum(&maximum(g, &scalar(-v, g)?)?, &scalar(v, g)?)).collect(),
        }
    }

    /// The slot names of this optimizer's rule.
    fn slot_names(&self) -> Vec<&'static str> {
        self.config.rule(1.0, 1).slot_names()
    }

    /// The `[k, n]` slots of variable `id`, from its own tensor or out of the group.
    fn var_slots(&self, id: u64) -> Result<Option<Tensor>> {
        let Some(v) = self.slots.get(&id) else { return Ok(None) };
        if let Some(t) = &v.packed {
            return Ok(Some(t.clone()));
        }
        let Some(g) = &self.group else { return Ok(None) };
        let Some(i) = g.ids.iter().position(|&x| x == id) else { return Ok(None) };
        let (k, n) = (self.slot_names().len(), v.shape.iter().product::<usize>());
        let dev = g.packed.device();
        let gpu = dev.as_gpu().expect("a group lives on the GPU");
        let buf = k::unpack_slots(gpu, k, g.packed.gpu_buf(), g.total, g.offsets[i], n)?;
        Ok(Some(Tensor::from_gpu(buf, vec![k, n], dev)))
    }

    /// Moves the group's slots back to their variables (before a per-variable update, a
    /// different set of variables, or loading state).
    fn dissolve_group(&mut self) -> Result<()> {
        let Some(g) = &self.group else { return Ok(()) };
        let mut own = Vec::new();
        for &id in &g.ids {
            if self.slots.get(&id).is_some_and(|v| v.packed.is_none()) {
                own.push((id, self.var_slots(id)?));
            }
        }
        for (id, t) in own {
            if let Some(v) = self.slots.get_mut(&id) {
                v.packed = t;
            }
        }
        self.group = None;
        Ok(())
    }

    /// One multi-tensor update of variables that all live on `gpu`: one dispatch for all of
    /// them (buffer copies gather and scatter the values).
    fn apply_fused(
        &mut self,
        gpu: &tessera_device::Gpu,
        upd: &Update,
        grads: &[Tensor],
        vars: &[&Param],
    ) -> Result<()> {
        let k_slots = upd.rule.slot_names().len();
        let ids: Vec<u64> = vars.iter().map(|v| v.id()).collect();
        let dev = vars[0].value().device().clone();
        let reuse = self.group.as_ref().is_some_and(|g| g.ids == ids && g.packed.device().same(&dev));
        if !reuse {
            self.dissolve_group()?;
        }
        let mut offsets = Vec::with_capacity(vars.len());
        let mut total = 0;
        for v in vars {
            offsets.push(total);
            total += v.numel();
        }
        let total = k::packed_len(total);
        let packed = match (reuse, &self.group) {
            (true, Some(g)) => g.packed.clone(),
            _ => {
                let mut own = Vec::with_capacity(vars.len());
                for v in vars {
                    let t = self.slots.get(&v.id()).and_then(|s| s.packed.clone());
                    own.push(t.map(|t| t.to_device(&dev)).transpose()?);
                }
                let parts: Vec<_> =
                    own.iter().zip(vars).map(|(t, v)| (t.as_ref().map(Tensor::gpu_buf), v.numel())).collect();
                Tensor::from_gpu(k::pack_slots(gpu, k_slots, &parts)?, vec![k_slots, total], &dev)
            }
        };
        let values: Vec<Tensor> = vars.iter().map(|v| v.value()).collect();
        let bufs: Vec<k::Var<'_>> =
            values.iter().zip(grads).map(|(p, g)| (p.gpu_buf(), g.gpu_buf(), p.numel())).collect();
        let (outs, new_slots) = k::update_many(gpu, upd, &bufs, packed.gpu_buf())?;
        for ((out, var), value) in outs.into_iter().zip(vars).zip(&values) {
            var.assign(Tensor::from_gpu(out, value.shape().to_vec(), &dev))?;
            self.slots.insert(var.id(), VarSlots { name: var.name().to_string(), shape: var.shape(), packed: None });
        }
        let packed = Tensor::from_gpu(new_slots, vec![k_slots, total], &dev);
        self.group = Some(Group { ids, offsets, total, packed });
        Ok(())
    }
}

/// Checks a (gradient, variable) pair: same shape and device.
fn check_pair(g: &Tensor, var: &Param) -> Result<()> {
    let p = var.value();
    if g.shape() != p.shape() {
        return Err(shape_err(
            "apply_gradients",
            format!("gradient of shape {:?} for variable '{}' of shape {:?}", g.shape(), var.name(), p.shape()),
        ));
    }
    common_device("apply_gradients", &[&p, g]).map(|_| ())
}

/// Runs `upd` on one variable with its packed slots `[k, n]`; assigns the variable and returns
/// the new packed slots.
fn step(upd: &Update, var: &Param, g: &Tensor, packed: &Tensor) -> Result<Tensor> {
    let p = var.value();
    let (n, shape) = (p.numel(), p.shape().to_vec());
    let (np, ns) = match p.device() {
        Device::Cpu => {
            let (pv, gv) = (p.cpu_data(), g.cpu_data());
            let mut slots = packed.cpu_data().to_vec();
            let k = slots.len().checked_div(n).unwrap_or(0);
            let mut out = Vec::with_capacity(n);
            let mut s = vec![0.0; k];
            for i in 0..n {
                (0..k).for_each(|j| s[j] = slots[j * n + i]);
                out.push(upd.apply(pv[i], gv[i], &mut s));
                (0..k).for_each(|j| slots[j * n + i] = s[j]);
            }
            (Tensor::from_cpu(out, shape), Tensor::from_cpu(slots, packed.shape().to_vec()))
        }
        Device::Gpu(gpu) => {
            let (a, b) = k::update(gpu, upd, [p.gpu_buf(), g.gpu_buf(), packed.gpu_buf()], n)?;
            let dev = p.device();
            (Tensor::from_gpu(a, shape, dev), Tensor::from_gpu(b, packed.shape().to_vec(), dev))
        }
    };
    var.assign(np)?;
    Ok(ns)
}

impl<C: Config> Optimizer for KerasOptimizer<C> {
    fn apply(&mut self, grads_and_vars: &[(&Tensor, &Param)]) -> Result<()> {
        for (g, var) in grads_and_vars {
            check_pair(g, var)?;
        }
        if grads_and_vars.is_empty() {
            return Ok(());
        }
        no_grad(|| {
            let grads = self.clip_gradients(grads_and_vars.iter().map(|(g, _)| (*g).clone()).collect())?;
            let lr = self.learning_rate();
            let rule = self.config.rule(lr, self.iterations + 1);
            let upd = Update { lr, weight_decay: self.weight_decay.unwrap_or(0.0), rule };
            let k = rule.slot_names().len();
            let vars: Vec<&Param> = grads_and_vars.iter().map(|(_, v)| *v).collect();
            let dev = vars[0].value().device().clone();
            let one_gpu = vars.iter().all(|v| v.value().device().same(&dev));
            let total: usize = vars.iter().map(|v| v.numel()).sum();
            let fuse = one_gpu && vars.len() > 1 && total <= FUSED_MAX_ELEMENTS;
            if let (Some(gpu), true) = (dev.as_gpu(), fuse) {
                let gpu = gpu.clone();
                self.apply_fused(&gpu, &upd, &grads, &vars)?;
                self.iterations += 1;
                return Ok(());
            }
            self.dissolve_group()?;
            for (g, var) in grads.iter().zip(vars) {
                let dev = var.value().device().clone();
                let packed = match self.var_slots(var.id())? {
                    Some(s) => s.to_device(&dev)?,
                    None => Tensor::zeros(&[k, var.numel()], &dev)?,
                };
                let packed = Some(step(&upd, var, g, &packed)?);
                self.slots.insert(var.id(), VarSlots { name: var.name().to_string(), shape: var.shape(), packed });
            }
            self.iterations += 1;
            Ok(())
        })
    }

    fn iterations(&self) -> u64 {
        self.iterations
    }

    fn state(&self) -> Result<Vec<(String, Tensor)>> {
        let mut vars: Vec<(&u64, &VarSlots)> = self.slots.iter().collect();
        vars.sort_by(|a, b| a.1.name.cmp(&b.1.name));
        if let Some(w) = vars.windows(2).find(|w| w[0].1.name == w[1].1.name) {
            return Err(shape_err(
                "optimizer state",
                format!("two variables are named '{}'; names must be unique within a model to save state", w[0].1.name),
            ));
        }
        let mut out = Vec::new();
        for (&id, v) in vars {
            let Some(packed) = self.var_slots(id)? else { continue };
            for (j, slot) in self.slot_names().into_iter().enumerate() {
                out.push((format!("{slot}/{}", v.name), no_grad(|| slice(&packed, 0, j, 1))?.reshape(&v.shape)?));
            }
        }
        Ok(out)
    }

    fn load_state(&mut self, iterations: u64, state: &HashMap<String, Tensor>, vars: &[Param]) -> Result<()> {
        let names = self.slot_names();
        let known: std::collections::HashSet<String> =
            vars.iter().flat_map(|v| names.iter().map(move |s| format!("{s}/{}", v.name()))).collect();
        let mut unknown: Vec<&String> = state.keys().filter(|k| !known.contains(*k)).collect();
        if !unknown.is_empty() {
            unknown.sort_unstable();
            return Err(shape_err(
                "load_state",
                format!("state {unknown:?} matches no slot ({names:?}) of any variable of {}", C::KIND),
            ));
        }
        let mut slots = HashMap::new();
        for var in vars {
            let found: Vec<&Tensor> = names.iter().filter_map(|s| state.get(&format!("{s}/{}", var.name()))).collect();
            if found.is_empty() {
                continue;
            }
            if found.len() != names.len() {
                return Err(shape_err(
                    "load_state",
                    format!("variable '{}' has {} of the slots {names:?}", var.name(), found.len()),
                ));
            }
            let (dev, n) = (var.value().device().clone(), var.numel());
            let mut rows = Vec::with_capacity(found.len());
            for t in found {
                if t.shape() != var.shape() {
                    return Err(shape_err(
                        "load_state",
                        format!(
                            "state of shape {:?} for variable '{}' of shape {:?}",
                            t.shape(),
                            var.name(),
                            var.shape()
                        ),
                    ));
                }
                rows.push(t.to_device(&dev)?.reshape(&[1, n])?);
            }
            let packed = Some(no_grad(|| concat(&rows.iter().collect::<Vec<_>>(), 0))?);
            slots.insert(var.id(), VarSlots { name: var.name().to_string(), shape: var.shape(), packed });
        }
        self.dissolve_group()?;
        self.iterations = iterations;
        self.slots.extend(slots);
        Ok(())
    }

    fn kind(&self) -> &'static str {
        C::KIND
    }

    fn learning_rate(&self) -> f32 {
        self.lr.at(self.iterations)
    }

    fn set_learning_rate(&mut self, lr: f32) {
        self.lr = LearningRate::Constant(lr);
    }
}

/// SGD's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct SgdConfig {
    /// Momentum (Keras default 0).
    pub momentum: f32,
    /// Nesterov momentum (default false).
    pub nesterov: bool,
}

impl Config for SgdConfig {
    const KIND: &'static str = "SGD";
    fn rule(&self, _lr: f32, _t: u64) -> Rule {
        Rule::Sgd { momentum: self.momentum, nesterov: self.nesterov }
    }
}

/// `keras.optimizers.SGD(learning_rate=0.01, momentum=0.0, nesterov=False)`.
pub type Sgd = KerasOptimizer<SgdConfig>;

impl Sgd {
    /// SGD with Keras's defaults for the other settings.
    pub fn new(learning_rate: f32) -> Self {
        Self::with_config(SgdConfig { momentum: 0.0, nesterov: false }, learning_rate)
    }

    /// Sets the momentum.
    pub fn momentum(mut self, m: f32) -> Self {
        self.config.momentum = m;
        self
    }

    /// Uses Nesterov momentum.
    pub fn nesterov(mut self, n: bool) -> Self {
        self.config.nesterov = n;
        self
    }
}

impl Default for Sgd {
    fn default() -> Self {
        Self::new(0.01)
    }
}

/// Adam's (and AdamW's) settings.
#[derive(Debug, Clone, PartialEq)]
pub struct AdamConfig {
    /// β1 (default 0.9).
    pub beta_1: f32,
    /// β2 (default 0.999).
    pub beta_2: f32,
    /// ε (default 1e-7).
    pub epsilon: f32,
    /// AMSGrad (default false).
    pub amsgrad: bool,
}

impl Default for AdamConfig {
    fn default() -> Self {
        Self { beta_1: 0.9, beta_2: 0.999, epsilon: 1e-7, amsgrad: false }
    }
}

impl AsMut<AdamConfig> for AdamConfig {
    fn as_mut(&mut self) -> &mut AdamConfig {
        self
    }
}

impl Config for AdamConfig {
    const KIND: &'static str = "Adam";
    fn rule(&self, lr: f32, t: u64) -> Rule {
        let t = t as f32;
        let (b1p, b2p) = (self.beta_1.powf(t), self.beta_2.powf(t));
        let alpha = lr * (1.0 - b2p).sqrt() / (1.0 - b1p);
        Rule::Adam { alpha, beta_1: self.beta_1, beta_2: self.beta_2, epsilon: self.epsilon, amsgrad: self.amsgrad }
    }
}

/// AdamW's settings: Adam's (its weight decay is the base optimizer's).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AdamWConfig(pub AdamConfig);

impl AsMut<AdamConfig> for AdamWConfig {
    fn as_mut(&mut self) -> &mut AdamConfig {
        &mut self.0
    }
}

impl Config for AdamWConfig {
    const KIND: &'static str = "AdamW";
    fn rule(&self, lr: f32, t: u64) -> Rule {
        self.0.rule(lr, t)
    }
}

/// `keras.optimizers.Adam(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
/// amsgrad=False)`.
pub type Adam = KerasOptimizer<AdamConfig>;

/// `keras.optimizers.AdamW(learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
/// epsilon=1e-7, amsgrad=False)`: Adam with decoupled weight decay.
pub type AdamW = KerasOptimizer<AdamWConfig>;

impl Adam {
    /// Adam with Keras's defaults for the other settings.
    pub fn new(learning_rate: f32) -> Self {
        Self::with_config(AdamConfig::default(), learning_rate)
    }
}

impl Default for Adam {
    fn default() -> Self {
        Self::new(1e-3)
    }
}

impl AdamW {
    /// AdamW with Keras's defaults (weight decay 0.004) for the other settings.
    pub fn new(learning_rate: f32) -> Self {
        Self::with_config(AdamWConfig::default(), learning_rate).weight_decay(0.004)
    }
}

impl Default for AdamW {
    fn default() -> Self {
        Self::new(1e-3)
    }
}

impl<C: Config + AsMut<AdamConfig>> KerasOptimizer<C> {
    /// Sets β1, the decay of the first moment.
    pub fn beta_1(mut self, b: f32) -> Self {
        self.config.as_mut().beta_1 = b;
        self
    }

    /// Sets β2, the decay of the second moment.
    pub fn beta_2(mut self, b: f32) -> Self {
        self.config.as_mut().beta_2 = b;
        self
    }

    /// Sets ε.
    pub fn epsilon(mut self, e: f32) -> Self {
        self.config.as_mut().epsilon = e;
        self
    }

    /// Uses AMSGrad (the running maximum of the second moment; a third slot `vhat`).
    pub fn amsgrad(mut self, a: bool) -> Self {
        self.config.as_mut().amsgrad = a;
        self
    }
}

/// RMSprop's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct RmsPropConfig {
    /// ρ (default 0.9).
    pub rho: f32,
    /// Momentum (default 0).
    pub momentum: f32,
    /// ε (default 1e-7).
    pub epsilon: f32,
    /// Centered (default false).
    pub centered: bool,
}

impl Config for RmsPropConfig {
    const KIND: &'static str = "RMSprop";
    fn rule(&self, _lr: f32, _t: u64) -> Rule {
        Rule::RmsProp { rho: self.rho, momentum: self.momentum, epsilon: self.epsilon, centered: self.centered }
    }
}

/// `keras.optimizers.RMSprop(learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7,
/// centered=False)`.
pub type RmsProp = KerasOptimizer<RmsPropConfig>;

impl RmsProp {
    /// RMSprop with Keras's defaults for the other settings.
    pub fn new(learning_rate: f32) -> Self {
        Self::with_config(RmsPropConfig { rho: 0.9, momentum: 0.0, epsilon: 1e-7, centered: false }, learning_rate)
    }

    /// Sets ρ.
    pub fn rho(mut self, rho: f32) -> Self {
        self.config.rho = rho;
        self
    }

    /// Sets the momentum (a `momentum` slot when positive).
    pub fn momentum(mut self, m: f32) -> Self {
        self.config.momentum = m;
        self
    }

    /// Sets ε.
    pub fn epsilon(mut self, e: f32) -> Self {
        self.config.epsilon = e;
        self
    }

    /// Centered RMSprop (an `average_gradient` slot).
    pub fn centered(mut self, c: bool) -> Self {
        self.config.centered = c;
        self
    }
}

impl Default for RmsProp {
    fn default() -> Self {
        Self::new(1e-3)
    }
}
