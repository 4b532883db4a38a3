//! Learning-rate schedules as in `keras.optimizers.schedules`: functions of the optimizer's
//! step count (`iterations`), evaluated in float32 like Keras.

use crate::autodiff::MaybeSendSync;
use crate::{shape_err, Result};

/// A learning rate that depends on the step (Keras's `LearningRateSchedule.__call__`).
pub trait LearningRateSchedule: MaybeSendSync {
    /// The learning rate at `step` (the optimizer's iterations before the update).
    fn at(&self, step: u64) -> f32;
}

/// `keras.optimizers.schedules.ExponentialDecay(initial_learning_rate, decay_steps,
/// decay_rate, staircase=False)`: `initial · decay_rate^(step / decay_steps)`, with the exponent
/// floored when `staircase`.
#[derive(Debug, Clone, PartialEq)]
pub struct ExponentialDecay {
    initial: f32,
    decay_steps: f32,
    decay_rate: f32,
    staircase: bool,
}

impl ExponentialDecay {
    /// Continuous decay over `decay_steps` (0, which Keras rejects, is taken as 1).
    pub fn new(initial_learning_rate: f32, decay_steps: u64, decay_rate: f32) -> Self {
        Self { initial: initial_learning_rate, decay_steps: decay_steps.max(1) as f32, decay_rate, staircase: false }
    }

    /// Decays in discrete intervals (the exponent is floored).
    pub fn staircase(mut self, staircase: bool) -> Self {
        self.staircase = staircase;
        self
    }
}

impl LearningRateSchedule for ExponentialDecay {
    fn at(&self, step: u64) -> f32 {
        let mut p = step as f32 / self.decay_steps;
        if self.staircase {
            p = p.floor();
        }
        self.initial * self.decay_rate.powf(p)
    }
}

/// `keras.optimizers.schedules.CosineDecay(initial_learning_rate, decay_steps, alpha=0.0,
/// warmup_target=None, warmup_steps=0)`: an optional linear warm-up from the initial rate to
/// `warmup_target` over `warmup_steps`, then cosine decay to `alpha ·` the peak over
/// `decay_steps`, constant after.
#[derive(Debug, Clone, PartialEq)]
pub struct CosineDecay {
    initial: f32,
    decay_steps: f32,
    alpha: f32,
    warmup: Option<(f32, f32)>,
}

impl CosineDecay {
    /// Cosine decay from `initial_learning_rate` to 0 over `decay_steps` (0, which Keras
    /// rejects, is taken as 1).
    pub fn new(initial_learning_rate: f32, decay_steps: u64) -> Self {
        Self { initial: initial_learning_rate, decay_steps: decay_steps.max(1) as f32, alpha: 0.0, warmup: None }
    }

    /// The final rate as a fraction of the peak rate (default 0).
    pub fn alpha(mut self, alpha: f32) -> Self {
        self.alpha = alpha;
        self
    }

    /// Warms up linearly to `target` over `steps` steps before decaying from `target`.
    pub fn warmup(mut self, target: f32, steps: u64) -> Self {
        self.warmup = Some((target, steps as f32));
        self
    }

    fn decayed(&self, step: f32, from: f32) -> f32 {
        let fraction = step / self.decay_steps;
        let cosine = 0.5 * (1.0 + (std::f32::consts::PI * fraction).cos());
        from * ((1.0 - self.alpha) * cosine + self.alpha)
    }
}

impl LearningRateSchedule for CosineDecay {
    fn at(&self, step: u64) -> f32 {
        let step = step as f32;
        match self.warmup {
            None => self.decayed(step.min(self.decay_steps), self.initial),
            Some((target, steps)) => {
                let step = step.min(self.decay_steps + steps);
                if step < steps {
                    (target - self.initial) * (step / steps) + self.initial
                } else {
                    self.decayed(step - steps, target)
                }
            }
        }
    }
}

/// `keras.optimizers.schedules.PiecewiseConstantDecay(boundaries, values)`: `values[0]` while
/// `step ≤ boundaries[0]`, `values[i]` while `boundaries[i-1] < step ≤ boundaries[i]`, the last
/// value after the last boundary.
#[derive(Debug, Clone, PartialEq)]
pub struct PiecewiseConstantDecay {
    boundaries: Vec<u64>,
    values: Vec<f32>,
}

impl PiecewiseConstantDecay {
    /// Needs one more value than boundaries, and increasing boundaries.
    pub fn new(boundaries: Vec<u64>, values: Vec<f32>) -> Result<Self> {
        if values.len() != boundaries.len() + 1 {
            return Err(shape_err(
                "PiecewiseConstantDecay",
                format!(
                    "needs one more value than boundaries; got {} boundaries and {} values",
                    boundaries.len(),
                    values.len()
                ),
            ));
        }
        if boundaries.windows(2).any(|w| w[0] >= w[1]) {
            return Err(shape_err("PiecewiseConstantDecay", format!("boundaries {boundaries:?} must increase")));
        }
        Ok(Self { boundaries, values })
    }
}

impl LearningRateSchedule for PiecewiseConstantDecay {
    fn at(&self, step: u64) -> f32 {
        self.values[self.boundaries.iter().filter(|&&b| step > b).count()]
    }
}
