//! Optimizers with Keras's defaults and formulas: `Sgd` (momentum, Nesterov) and `Adam`.
//! Updates run on the variables' device — one fused kernel per variable on the GPU.

use std::collections::HashMap;

use tessera_kernels::optimizer as k;
pub use tessera_kernels::optimizer::Update;

use crate::layers::Param;
use crate::{shape_err, Device, Gradients, Result, Tensor};

/// Per-variable optimizer state: slot tensors keyed by the variable's name.
#[derive(Default)]
pub struct Slots {
    slots: HashMap<String, (Tensor, Option<Tensor>)>,
}

impl Slots {
    /// The named slots as (`<slot>/<variable>`, tensor) pairs, for checkpoints.
    pub fn tensors(&self, names: [&str; 2]) -> Vec<(String, Tensor)> {
        let mut out = Vec::new();
        for (var, (a, b)) in &self.slots {
            out.push((format!("{}/{var}", names[0]), a.clone()));
            if let Some(b) = b {
                out.push((format!("{}/{var}", names[1]), b.clone()));
            }
        }
        out.sort_by(|x, y| x.0.cmp(&y.0));
        out
    }

    /// Restores a slot from a checkpoint.
    pub fn set(&mut self, var: &str, first: Tensor, second: Option<Tensor>) {
        self.slots.insert(var.to_string(), (first, second));
    }
}

/// A gradient-descent optimizer.
pub trait Optimizer {
    /// Applies one update to every trainable variable that has a gradient.
    fn apply_gradients(&mut self, grads: &Gradients, vars: &[Param]) -> Result<()>;
    /// Steps taken so far.
    fn iterations(&self) -> u64;
    /// The optimizer's state tensors (slot name/variable name → tensor), for checkpoints.
    fn state(&self) -> Vec<(String, Tensor)>;
    /// Restores state saved by [`Optimizer::state`] (`vars` gives the devices and shapes).
    fn load_state(&mut self, iterations: u64, state: &HashMap<String, Tensor>, vars: &[Param]) -> Result<()>;
    /// Keras's class name (`SGD`, `Adam`).
    fn kind(&self) -> &'static str;
    /// The learning rate the next step will use.
    fn learning_rate(&self) -> f32;
    /// Sets the learning rate (callbacks such as a scheduler or reduce-on-plateau use this).
    fn set_learning_rate(&mut self, lr: f32);
}

/// Runs `rule` on one variable: updates it and returns its new slots.
fn step(rule: &Update, var: &Param, g: &Tensor, s1: &Tensor, s2: Option<&Tensor>) -> Result<(Tensor, Option<Tensor>)> {
    let p = var.value();
    if g.shape() != p.shape() {
        return Err(shape_err(
            "optimizer",
            format!("gradient of shape {:?} for variable '{}' of shape {:?}", g.shape(), var.name(), p.shape()),
        ));
    }
    let (np, ns1, ns2) = match p.device() {
        Device::Cpu => {
            let (pv, gv, av) = (p.cpu_data(), g.cpu_data(), s1.cpu_data());
            let bv = s2.map(Tensor::cpu_data);
            let mut out = (Vec::with_capacity(pv.len()), Vec::with_capacity(pv.len()), Vec::new());
            for i in 0..pv.len() {
                let (a, b, c) = rule.apply(pv[i], gv[i], av[i], bv.as_ref().map_or(0.0, |b| b[i]));
                out.0.push(a);
                out.1.push(b);
                out.2.push(c);
            }
            let shape = p.shape().to_vec();
            let s2 = bv.map(|_| Tensor::from_cpu(out.2, shape.clone()));
            (Tensor::from_cpu(out.0, shape.clone()), Tensor::from_cpu(out.1, shape), s2)
        }
        Device::Gpu(gpu) => {
            let bufs = [p.gpu_buf(), g.gpu_buf(), s1.gpu_buf()];
            let (a, b, c) = k::update(gpu, rule, bufs, s2.map(Tensor::gpu_buf), p.numel())?;
            let dev = p.device();
            let s2 = s2.map(|_| Tensor::from_gpu(c, p.shape().to_vec(), dev));
            (Tensor::from_gpu(a, p.shape().to_vec(), dev), Tensor::from_gpu(b, p.shape().to_vec(), dev), s2)
        }
    };
    var.assign(np)?;
    Ok((ns1, ns2))
}

/// `keras.optimizers.SGD(learning_rate=0.01, momentum=0.0, nesterov=False)`.
pub struct Sgd {
    /// Learning rate.
    pub learning_rate: f32,
    /// Momentum.
    pub momentum: f32,
    /// Nesterov momentum.
    pub nesterov: bool,
    iterations: u64,
    slots: Slots,
}

impl Sgd {
    /// SGD with Keras's defaults for the other settings.
    pub fn new(learning_rate: f32) -> Self {
        Self { learning_rate, momentum: 0.0, nesterov: false, iterations: 0, slots: Slots::default() }
    }

    /// Sets the momentum.
    pub fn momentum(mut self, m: f32) -> Self {
        self.momentum = m;
        self
    }

    /// Uses Nesterov momentum.
    pub fn nesterov(mut self, n: bool) -> Self {
        self.nesterov = n;
        self
    }
}

impl Default for Sgd {
    fn default() -> Self {
        Self::new(0.01)
    }
}

impl Optimizer for Sgd {
    fn apply_gradients(&mut self, grads: &Gradients, vars: &[Param]) -> Result<()> {
        let rule = Update::Sgd { lr: self.learning_rate, momentum: self.momentum, nesterov: self.nesterov };
        for var in vars.iter().filter(|v| v.trainable()) {
            let Some(g) = grads.get(&var.value()) else { continue };
            let v = match self.slots.slots.get(var.name()) {
                Some((v, _)) => v.clone(),
                None => Tensor::zeros(&var.shape(), var.value().device())?,
            };
            let (nv, _) = step(&rule, var, g, &v, None)?;
            self.slots.set(var.name(), nv, None);
        }
        self.iterations += 1;
        Ok(())
    }
    fn iterations(&self) -> u64 {
        self.iterations
    }
    fn state(&self) -> Vec<(String, Tensor)> {
        self.slots.tensors(["momentum", "unused"])
    }
    fn load_state(&mut self, iterations: u64, state: &HashMap<String, Tensor>, vars: &[Param]) -> Result<()> {
        self.iterations = iterations;
        for var in vars {
            if let Some(v) = state.get(&format!("momentum/{}", var.name())) {
                self.slots.set(var.name(), v.to_device(var.value().device())?, None);
            }
        }
        Ok(())
    }
    fn kind(&self) -> &'static str {
        "SGD"
    }
    fn learning_rate(&self) -> f32 {
        self.learning_rate
    }
    fn set_learning_rate(&mut self, lr: f32) {
        self.learning_rate = lr;
    }
}

/// `keras.optimizers.Adam(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7)`.
pub struct Adam {
    /// Learning rate.
    pub learning_rate: f32,
    /// β1.
    pub beta_1: f32,
    /// β2.
    pub beta_2: f32,
    /// ε.
    pub epsilon: f32,
    iterations: u64,
    slots: Slots,
}

impl Adam {
    /// Adam with Keras's defaults for β1, β2 and ε.
    pub fn new(learning_rate: f32) -> Self {
        Self { learning_rate, beta_1: 0.9, beta_2: 0.999, epsilon: 1e-7, iterations: 0, slots: Slots::default() }
    }
}

impl Default for Adam {
    fn default() -> Self {
        Self::new(1e-3)
    }
}

impl Optimizer for Adam {
    fn apply_gradients(&mut self, grads: &Gradients, vars: &[Param]) -> Result<()> {
        let t = (self.iterations + 1) as f64;
        let (b1, b2) = (self.beta_1 as f64, self.beta_2 as f64);
        let lr_t = (self.learning_rate as f64 * (1.0 - b2.powf(t)).sqrt() / (1.0 - b1.powf(t))) as f32;
        let rule = Update::Adam { lr_t, beta1: self.beta_1, beta2: self.beta_2, epsilon: self.epsilon };
        for var in vars.iter().filter(|v| v.trainable()) {
            let Some(g) = grads.get(&var.value()) else { continue };
            let (m, v) = match self.slots.slots.get(var.name()) {
                Some((m, Some(v))) => (m.clone(), v.clone()),
                _ => {
                    let z = Tensor::zeros(&var.shape(), var.value().device())?;
                    (z.clone(), z)
                }
            };
            let (nm, nv) = step(&rule, var, g, &m, Some(&v))?;
            self.slots.set(var.name(), nm, nv);
        }
        self.iterations += 1;
        Ok(())
    }
    fn iterations(&self) -> u64 {
        self.iterations
    }
    fn state(&self) -> Vec<(String, Tensor)> {
        self.slots.tensors(["m", "v"])
    }
    fn load_state(&mut self, iterations: u64, state: &HashMap<String, Tensor>, vars: &[Param]) -> Result<()> {
        self.iterations = iterations;
        for var in vars {
            let dev = var.value().device().clone();
            let (m, v) = (state.get(&format!("m/{}", var.name())), state.get(&format!("v/{}", var.name())));
            if let (Some(m), Some(v)) = (m, v) {
                self.slots.set(var.name(), m.to_device(&dev)?, Some(v.to_device(&dev)?));
            }
        }
        Ok(())
    }
    fn kind(&self) -> &'static str {
        "Adam"
    }
    fn learning_rate(&self) -> f32 {
        self.learning_rate
    }
    fn set_learning_rate(&mut self, lr: f32) {
        self.learning_rate = lr;
    }
}
