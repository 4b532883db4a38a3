//! Keras initializers (`glorot_uniform`, `he_normal`, `zeros`, ...), seeded and reproducible.

use crate::random::Rng;
use crate::{Device, Result, Tensor};

/// How to fill a new variable, with Keras's names and formulas.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Initializer {
    /// Uniform in ±√(6 / (fan_in + fan_out)) — Keras's default for kernels.
    GlorotUniform,
    /// Normal with std √(2 / (fan_in + fan_out)), truncated at two standard deviations.
    GlorotNormal,
    /// Uniform in ±√(6 / fan_in).
    HeUniform,
    /// Normal with std √(2 / fan_in), truncated at two standard deviations.
    HeNormal,
    /// All zeros — Keras's default for biases.
    Zeros,
    /// All ones.
    Ones,
    /// Every element equal to the value.
    Constant(f32),
    /// Normal with the given mean and standard deviation.
    RandomNormal(f32, f32),
    /// Uniform in [low, high).
    RandomUniform(f32, f32),
}

/// Keras's fans: the receptive field is the product of all but the last two dimensions.
pub fn fans(shape: &[usize]) -> (f64, f64) {
    match shape.len() {
        0 => (1.0, 1.0),
        1 => (shape[0] as f64, shape[0] as f64),
        n => {
            // In f64: a huge user shape must not overflow usize here (the tensor is refused later).
            let rf: f64 = shape[..n - 2].iter().map(|&d| d as f64).product();
            (shape[n - 2] as f64 * rf, shape[n - 1] as f64 * rf)
        }
    }
}

impl Initializer {
    /// The initial values for a variable of `shape`; a typed error (naming the shape) when `shape` holds more than
    /// [`tessera_kernels::MAX_ELEMENTS`] elements or its product overflows.
    pub fn values(&self, shape: &[usize], rng: &mut Rng) -> Result<Vec<f32>> {
        let n = tessera_kernels::checked_numel("initializer", shape)?;
        let (fan_in, fan_out) = fans(shape);
        let uniform = |rng: &mut Rng, lo: f64, hi: f64| (lo + (hi - lo) * rng.uniform()) as f32;
        let truncated = |rng: &mut Rng, std: f64| loop {
            let z = rng.normal();
            if z.abs() <= 2.0 {
                // Keras rescales so the truncated distribution keeps the requested variance.
                break (z * std / 0.879_625_8) as f32;
            }
        };
        Ok(match *self {
            Initializer::GlorotUniform => {
                let l = (6.0 / (fan_in + fan_out)).sqrt();
                (0..n).map(|_| uniform(rng, -l, l)).collect()
            }
            Initializer::GlorotNormal => (0..n).map(|_| truncated(rng, (2.0 / (fan_in + fan_out)).sqrt())).collect(),
            Initializer::HeUniform => {
                let l = (6.0 / fan_in).sqrt();
                (0..n).map(|_| uniform(rng, -l, l)).collect()
            }
            Initializer::HeNormal => (0..n).map(|_| truncated(rng, (2.0 / fan_in).sqrt())).collect(),
            Initializer::Zeros => vec![0.0; n],
            Initializer::Ones => vec![1.0; n],
            Initializer::Constant(c) => vec![c; n],
            Initializer::RandomNormal(mean, std) => (0..n).map(|_| mean + std * rng.normal() as f32).collect(),
            Initializer::RandomUniform(lo, hi) => (0..n).map(|_| uniform(rng, lo as f64, hi as f64)).collect(),
        })
    }

    /// A new tensor of `shape` on `device`.
    pub fn tensor(&self, shape: &[usize], rng: &mut Rng, device: &Device) -> Result<Tensor> {
        Tensor::from_vec(self.values(shape, rng)?, shape, device)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glorot_uniform_stays_within_its_limit_and_fills_it() {
        let mut rng = Rng::new(3);
        let v = Initializer::GlorotUniform.values(&[3, 3, 6, 16], &mut rng).unwrap();
        let limit = (6.0f32 / (54.0 + 144.0)).sqrt();
        assert!(v.iter().all(|x| x.abs() <= limit));
        assert!(v.iter().any(|x| x.abs() > 0.9 * limit));
        assert_eq!(fans(&[3, 3, 6, 16]), (54.0, 144.0));
        assert_eq!(fans(&[400, 120]), (400.0, 120.0));
    }

    #[test]
    fn he_normal_has_the_requested_spread() {
        let mut rng = Rng::new(5);
        let v = Initializer::HeNormal.values(&[200, 100], &mut rng).unwrap();
        let var = v.iter().map(|x| (x * x) as f64).sum::<f64>() / v.len() as f64;
        assert!((var - 2.0 / 200.0).abs() < 0.1 * 2.0 / 200.0, "{var}");
    }
}
