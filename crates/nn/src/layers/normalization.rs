//! `BatchNormalization` with Keras's defaults: momentum 0.99, epsilon 1e-3, trainable gamma and
//! beta, non-trainable moving mean and variance (updated with the biased batch variance).

use super::{built, BuildCtx, Layer, Param};
use crate::ops;
use crate::{no_grad, shape_err, Result, Tensor};

/// `keras.layers.BatchNormalization(momentum=0.99, epsilon=1e-3)` over the last axis.
pub struct BatchNormalization {
    name: String,
    momentum: f32,
    epsilon: f32,
    synchronized: bool,
    vars: Option<[Param; 4]>,
}

impl Default for BatchNormalization {
    fn default() -> Self {
        Self::new()
    }
}

impl BatchNormalization {
    /// Keras's defaults: momentum 0.99, epsilon 1e-3.
    pub fn new() -> Self {
        Self { name: String::new(), momentum: 0.99, epsilon: 1e-3, synchronized: false, vars: None }
    }

    /// Sets the moving-average momentum.
    pub fn momentum(mut self, m: f32) -> Self {
        self.momentum = m;
        self
    }

    /// Sets epsilon (added to the variance).
    pub fn epsilon(mut self, e: f32) -> Self {
        self.epsilon = e;
        self
    }

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
}

impl Layer for BatchNormalization {
    named!("BatchNormalization");
    fn build(&mut self, input_shape: &[usize], ctx: &mut BuildCtx) -> Result<Vec<usize>> {
        let Some(&c) = input_shape.last() else {
            return Err(shape_err("BatchNormalization", "needs inputs with a channel axis, got (None,)"));
        };
        let p = |n: &str, v: f32, trainable| -> Result<Param> {
            Ok(Param::new(format!("{}/{n}", self.name), Tensor::full(v, &[c], ctx.device)?, trainable))
        };
        self.vars = Some([
            p("gamma", 1.0, true)?,
            p("beta", 0.0, true)?,
            p("moving_mean", 0.0, false)?,
            p("moving_variance", 1.0, false)?,
        ]);
        Ok(input_shape.to_vec())
    }
    fn call(&self, x: &Tensor, training: bool) -> Result<Tensor> {
        let [gamma, beta, mm, mv] = built(&self.vars, &self.name)?;
        let (g, b) = (gamma.value(), beta.value());
        if !training {
            return ops::batch_normalization(x, &mm.value(), &mv.value(), Some(&b), Some(&g), self.epsilon);
        }
        let group = self.synchronized.then(crate::replica::replica_group).flatten();
        let (y, mean, var) = match group {
            Some(group) => crate::replica::sync_batch_norm_training(x, &g, &b, self.epsilon, &group)?,
            None => ops::batch_norm_training(x, &g, &b, self.epsilon)?,
        };
        self.update(mm, &mean.detach())?;
        self.update(mv, &var.detach())?;
        Ok(y)
    }
    fn variables(&self) -> Vec<Param> {
        self.vars.iter().flatten().cloned().collect()
    }
}
