//! Optimizers and learning-rate schedules against Keras 3 (tests/fixtures/keras_optimizers.safetensors,
//! written by tools/gen_keras_optimizer_fixtures.py), on the CPU and GPU devices; optimizer state
//! keyed by variable identity; `apply` on arbitrary pairs; `backward_with`.

mod common;
use std::collections::HashMap;

use common::*;
use safetensors::SafeTensors;
use tessera::checkpoint;
use tessera::layers::Param;
use tessera::optimizers::schedules::{CosineDecay, ExponentialDecay, LearningRateSchedule, PiecewiseConstantDecay};
use tessera::prelude::*;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/keras_optimizers.safetensors");
/// Keras and Tessera both compute in float32; they differ only by rounding (`pow`, fused ops).
const KERAS_RTOL: f32 = 2e-5;
const STEPS: usize = 5;

/// The fixture file: tensors by name and the metadata (case → Keras constructor).
struct Fixtures {
    tensors: HashMap<String, (Vec<f32>, Vec<usize>)>,
    meta: HashMap<String, String>,
}

fn fixtures() -> Fixtures {
    let bytes = std::fs::read(FIXTURES).expect("tests/fixtures/keras_optimizers.safetensors");
    let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let tensors = st.tensors().into_iter().map(|(n, v)| (n, (f32s(v.data()), v.shape().to_vec()))).collect();
    Fixtures { tensors, meta: header.metadata().clone().expect("fixture metadata") }
}

/// Little-endian float32 bytes as values.
fn f32s(bytes: &[u8]) -> Vec<f32> {
    bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
}

impl Fixtures {
    fn get(&self, name: &str) -> &(Vec<f32>, Vec<usize>) {
        self.tensors.get(name).unwrap_or_else(|| panic!("fixture tensor {name}"))
    }

    fn tensor(&self, name: &str, dev: &Device) -> Tensor {
        let (v, s) = self.get(name);
        Tensor::from_slice(v, s, dev).unwrap()
    }

    /// Optimizer case names (everything that is not a schedule or a version tag).
    fn optimizer_cases(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .meta
            .keys()
            .map(String::as_str)
            .filter(|k| !k.starts_with("__") && !k.starts_with("schedules/"))
            .collect();
        names.sort();
        names
    }
}

/// The Tessera configuration for each Keras case of the generator (same names).
fn optimizer(case: &str) -> Box<dyn Optimizer> {
    match case {
        "sgd" => Box::new(Sgd::new(0.1)),
        "sgd_default" => Box::new(Sgd::default()),
        "sgd_momentum" => Box::new(Sgd::new(0.1).momentum(0.9)),
        "sgd_nesterov" => Box::new(Sgd::new(0.1).momentum(0.9).nesterov(true)),
        "adam" => Box::new(Adam::default()),
        "adam_options" => Box::new(Adam::new(0.01).beta_1(0.8).beta_2(0.99).epsilon(1e-5)),
        "adam_amsgrad" => Box::new(Adam::new(0.01).amsgrad(true)),
        "adamw" => Box::new(AdamW::default()),
        "adamw_options" => Box::new(AdamW::new(0.01).weight_decay(0.1).amsgrad(true)),
        "rmsprop" => Box::new(RmsProp::default()),
        "rmsprop_momentum" => Box::new(RmsProp::new(0.01).momentum(0.9)),
        "rmsprop_centered" => Box::new(RmsProp::new(0.01).rho(0.8).centered(true)),
        "rmsprop_centered_momentum" => Box::new(RmsProp::new(0.01).momentum(0.5).centered(true).epsilon(1e-4)),
        "sgd_clipnorm" => Box::new(Sgd::new(0.1).clipnorm(1.0)),
        "adam_clipnorm" => Box::new(Adam::new(0.01).clipnorm(0.5)),
        "sgd_global_clipnorm" => Box::new(Sgd::new(0.1).momentum(0.5).global_clipnorm(2.0)),
        "sgd_clipvalue" => Box::new(Sgd::new(0.1).clipvalue(0.5)),
        "sgd_weight_decay" => Box::new(Sgd::new(0.1).momentum(0.9).weight_decay(0.05)),
        "rmsprop_weight_decay" => Box::new(RmsProp::new(0.01).weight_decay(0.1)),
        "sgd_exponential_decay" => {
            Box::new(Sgd::default().learning_rate_schedule(ExponentialDecay::new(0.1, 2, 0.5).staircase(true)))
        }
        "adamw_cosine_warmup" => {
            Box::new(AdamW::default().learning_rate_schedule(CosineDecay::new(0.001, 3).alpha(0.1).warmup(0.01, 2)))
        }
        "adam_piecewise" => Box::new(
            Adam::default()
                .learning_rate_schedule(PiecewiseConstantDecay::new(vec![1, 3], vec![0.01, 0.005, 0.001]).unwrap()),
        ),
        _ => panic!("no Tessera configuration for the Keras case {case}"),
    }
}

/// The Tessera schedule for each Keras schedule case of the generator.
fn schedule(case: &str) -> Box<dyn LearningRateSchedule> {
    match case {
        "exponential" => Box::new(ExponentialDecay::new(0.1, 3, 0.5)),
        "exponential_staircase" => Box::new(ExponentialDecay::new(0.1, 3, 0.5).staircase(true)),
        "cosine" => Box::new(CosineDecay::new(0.1, 10)),
        "cosine_alpha" => Box::new(CosineDecay::new(0.1, 10).alpha(0.2)),
        "cosine_warmup" => Box::new(CosineDecay::new(0.0, 8).alpha(0.1).warmup(0.1, 4)),
        "cosine_warmup_from" => Box::new(CosineDecay::new(0.02, 6).warmup(0.2, 3)),
        "piecewise" => Box::new(PiecewiseConstantDecay::new(vec![3, 7], vec![0.1, 0.05, 0.01]).unwrap()),
        _ => panic!("no Tessera schedule for the Keras case {case}"),
    }
}

#[test]
fn optimizers_match_keras_step_by_step_on_cpu_and_gpu() {
    let fx = fixtures();
    let cases = fx.optimizer_cases();
    assert_eq!(cases.len(), 22, "every generator case is checked: {cases:?}");
    for dev in [Device::Cpu, gpu()] {
        for case in &cases {
            let mut opt = optimizer(case);
            let vars: Vec<Param> = (0..2)
                .map(|j| Param::new(format!("var{j}"), fx.tensor(&format!("{case}/var{j}/init"), &dev), true))
                .collect();
            for s in 0..STEPS {
                let grads: Vec<Tensor> = (0..2).map(|j| fx.tensor(&format!("{case}/var{j}/grad{s}"), &dev)).collect();
                let pairs: Vec<(&Tensor, &Param)> = grads.iter().zip(&vars).collect();
                opt.apply(&pairs).unwrap();
                for (j, var) in vars.iter().enumerate() {
                    let want = &fx.get(&format!("{case}/var{j}/step{s}")).0;
                    let what = format!("{case} ({}) on {dev}: var{j} after step {}", fx.meta[*case], s + 1);
                    assert_close_vec(&var.value().to_vec().unwrap(), want, KERAS_RTOL, &what);
                }
            }
            assert_eq!(opt.iterations(), STEPS as u64, "{case}");
            // The slot variables equal Keras's, under the checkpoint names.
            let state = opt.state().unwrap();
            let keras_slots: Vec<&String> = fx
                .tensors
                .keys()
                .filter(|k| k.starts_with(&format!("{case}/var")))
                .filter(|k| k.contains("/slot/"))
                .collect();
            assert_eq!(
                state.len(),
                keras_slots.len(),
                "{case}: slots {:?}",
                state.iter().map(|s| &s.0).collect::<Vec<_>>()
            );
            for (name, t) in &state {
                let (slot, var) = name.split_once('/').unwrap();
                let want = &fx.get(&format!("{case}/{var}/slot/{slot}")).0;
                assert_close_vec(&t.to_vec().unwrap(), want, KERAS_RTOL, &format!("{case} on {dev}: slot {name}"));
            }
        }
    }
}

#[test]
fn schedules_match_keras() {
    let fx = fixtures();
    let steps = &fx.get("schedules/steps").0;
    let mut names: Vec<&str> = fx.meta.keys().filter_map(|k| k.strip_prefix("schedules/")).collect();
    names.sort();
    assert_eq!(names.len(), 7, "{names:?}");
    for name in names {
        let s = schedule(name);
        let want = &fx.get(&format!("schedules/{name}")).0;
        let got: Vec<f32> = steps.iter().map(|&t| s.at(t as u64)).collect();
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert!((g - w).abs() <= 1e-6 * w.abs().max(1e-3), "{name} at step {i}: got {g}, Keras {w}");
        }
    }
}

#[test]
fn learning_rate_is_the_schedule_at_the_current_iteration() {
    let sched = ExponentialDecay::new(0.1, 1, 0.5);
    let mut opt = Sgd::default().learning_rate_schedule(sched.clone());
    let var = Param::new("w", Tensor::zeros(&[2], &Device::Cpu).unwrap(), true);
    let g = Tensor::ones(&[2], &Device::Cpu).unwrap();
    let mut expected = 0.0;
    for step in 0..3 {
        assert_eq!(opt.learning_rate(), sched.at(step));
        expected -= sched.at(step);
        opt.apply(&[(&g, &var)]).unwrap();
    }
    assert_close_vec(&var.value().to_vec().unwrap(), &[expected; 2], 1e-6, "SGD under exponential decay");
    opt.set_learning_rate(0.25);
    assert_eq!(opt.learning_rate(), 0.25);
}

#[test]
fn update_kernels_match_the_cpu_rules_on_odd_sizes() {
    // Every configuration, a variable of 7·37 = 259 elements (more than one workgroup) and one
    // of 3, three steps from fresh random values: the GPU kernels against the CPU twin.
    for case in fixtures().optimizer_cases() {
        let mut results = Vec::new();
        for dev in [Device::Cpu, gpu()] {
            let mut opt = optimizer(case);
            let shapes: [&[usize]; 2] = [&[7, 37], &[3]];
            let vars: Vec<Param> = shapes
                .iter()
                .enumerate()
                .map(|(j, s)| {
                    Param::new(format!("v{j}"), Tensor::randn(s, 0.0, 1.0, 40 + j as u64, &dev).unwrap(), true)
                })
                .collect();
            for s in 0..3u64 {
                let grads: Vec<Tensor> = shapes
                    .iter()
                    .enumerate()
                    .map(|(j, sh)| Tensor::randn(sh, 0.0, 2.0, 100 * s + j as u64, &dev).unwrap())
                    .collect();
                opt.apply(&grads.iter().zip(&vars).collect::<Vec<_>>()).unwrap();
            }
            let state: Vec<Vec<f32>> = opt.state().unwrap().iter().map(|(_, t)| t.to_vec().unwrap()).collect();
            results.push((vars.iter().map(|v| v.value().to_vec().unwrap()).collect::<Vec<_>>(), state));
        }
        for (c, g) in results[0].0.iter().zip(&results[1].0).chain(results[0].1.iter().zip(&results[1].1)) {
            assert_close_vec(g, c, RTOL, &format!("{case}: GPU vs CPU after 3 steps"));
        }
    }
}

#[test]
fn same_named_variables_keep_separate_state() {
    for dev in [Device::Cpu, gpu()] {
        let init = Tensor::randn(&[4, 3], 0.0, 1.0, 1, &dev).unwrap();
        let grads =
            [Tensor::randn(&[4, 3], 0.0, 1.0, 2, &dev).unwrap(), Tensor::randn(&[4, 3], 0.0, 1.0, 3, &dev).unwrap()];
        let (a, b) = (Param::new("dense/kernel", init.clone(), true), Param::new("dense/kernel", init.clone(), true));
        let mut opt = Sgd::new(0.1).momentum(0.9);
        // Reference: each variable alone with its own optimizer.
        let refs = [Param::new("x", init.clone(), true), Param::new("x", init.clone(), true)];
        let mut ref_opts = [Sgd::new(0.1).momentum(0.9), Sgd::new(0.1).momentum(0.9)];
        for _ in 0..3 {
            opt.apply(&[(&grads[0], &a), (&grads[1], &b)]).unwrap();
            for ((o, r), g) in ref_opts.iter_mut().zip(&refs).zip(&grads) {
                o.apply(&[(g, r)]).unwrap();
            }
        }
        assert_close(&a.value(), &refs[0].value(), 1e-6, "first dense/kernel");
        assert_close(&b.value(), &refs[1].value(), 1e-6, "second dense/kernel");
        // Saving state for two variables with one name is a typed error, as is a checkpoint.
        let e = opt.state().unwrap_err();
        assert!(matches!(e, Error::Shape { .. }) && e.to_string().contains("dense/kernel"), "{e}");
        let e = checkpoint::to_bytes(&[a.clone(), b.clone()], None, &[]).unwrap_err();
        assert!(e.to_string().contains("unique"), "{e}");
    }
}

#[test]
fn checkpointed_state_restores_by_name_into_new_variables() {
    for dev in [Device::Cpu, gpu()] {
        let make = || {
            ["conv/kernel", "conv/bias"]
                .iter()
                .enumerate()
                .map(|(j, n)| Param::new(*n, Tensor::randn(&[3, 2 + j], 0.0, 1.0, 7 + j as u64, &dev).unwrap(), true))
                .collect::<Vec<_>>()
        };
        let grad = |v: &Param, s: u64| Tensor::randn(&v.shape(), 0.0, 1.0, 50 + s, &dev).unwrap();
        let step = |opt: &mut dyn Optimizer, vars: &[Param], s: u64| {
            let gs: Vec<Tensor> = vars.iter().map(|v| grad(v, s)).collect();
            opt.apply(&gs.iter().zip(vars).collect::<Vec<_>>()).unwrap();
        };
        let vars = make();
        let mut opt = RmsProp::new(0.01).momentum(0.9).centered(true);
        step(&mut opt, &vars, 0);
        let bytes = checkpoint::to_bytes(&vars, Some(&opt), &[]).unwrap();
        let (vars2, mut opt2) = (make(), RmsProp::new(0.01).momentum(0.9).centered(true));
        checkpoint::from_bytes(&bytes, "memory", &vars2, Some(&mut opt2)).unwrap();
        assert_eq!(opt2.iterations(), 1);
        assert_eq!(opt2.state().unwrap().len(), 6, "velocity, momentum and average_gradient per variable");
        step(&mut opt, &vars, 1);
        step(&mut opt2, &vars2, 1);
        for (a, b) in vars.iter().zip(&vars2) {
            assert_close(&b.value(), &a.value(), 1e-6, &format!("{} after resuming", a.name()));
        }
    }
}

#[test]
fn apply_takes_any_pairs_and_rejects_mismatches_without_updating() {
    let dev = gpu();
    let w = Param::new("w", Tensor::ones(&[2, 3], &dev).unwrap(), true);
    let frozen = Param::new("frozen", Tensor::ones(&[2], &dev).unwrap(), false);
    let mut opt = Sgd::new(0.5);
    // A hand-made gradient for a variable that never took part in a backward pass.
    let g = Tensor::full(2.0, &[2], &dev).unwrap();
    opt.apply(&[(&g, &frozen)]).unwrap();
    assert_eq!(frozen.value().to_vec().unwrap(), vec![0.0, 0.0]);
    let bad = Tensor::ones(&[3, 2], &dev).unwrap();
    let e = opt.apply(&[(&g, &frozen), (&bad, &w)]).unwrap_err();
    assert!(matches!(e, Error::Shape { .. }) && e.to_string().contains("[3, 2]"), "{e}");
    let cpu = Tensor::ones(&[2, 3], &Device::Cpu).unwrap();
    assert!(matches!(opt.apply(&[(&cpu, &w)]).unwrap_err(), Error::DeviceMismatch { .. }));
    assert_eq!(frozen.value().to_vec().unwrap(), vec![0.0, 0.0], "nothing moves on error");
    assert_eq!(w.value().to_vec().unwrap(), vec![1.0; 6]);
    assert_eq!(opt.iterations(), 1);
    opt.apply(&[]).unwrap();
    assert_eq!(opt.iterations(), 1, "an empty list is a no-op, as in Keras");
}

#[test]
fn backward_with_equals_the_gradient_of_the_weighted_sum() {
    for dev in [Device::Cpu, gpu()] {
        let x = Tensor::randn(&[3, 4], 0.0, 1.0, 1, &dev).unwrap().variable();
        let w = Tensor::randn(&[4, 5], 0.0, 1.0, 2, &dev).unwrap().variable();
        let forward = || tanh(&matmul(&x, &w).unwrap()).unwrap();
        let y = forward();
        let u = Tensor::randn(&[3, 5], 0.0, 1.0, 3, &dev).unwrap();
        let got = y.backward_with(&u).unwrap();
        // A graph is differentiated once (its saved tensors are released): record it again.
        let e = y.backward_with(&u).unwrap_err();
        assert!(e.to_string().contains("second time"), "{e}");
        let want = reduce_sum(&mul(&forward(), &u).unwrap(), None, false).unwrap().backward().unwrap();
        for (t, name) in [(&x, "x"), (&w, "w")] {
            assert_close(got.get(t).unwrap(), want.get(t).unwrap(), 1e-5, &format!("d/d{name} on {dev}"));
        }
        let e = y.backward_with(&Tensor::ones(&[5, 3], &dev).unwrap()).unwrap_err();
        assert!(matches!(e, Error::Shape { .. }) && e.to_string().contains("[5, 3]"), "{e}");
        assert!(y.backward().unwrap_err().to_string().contains("backward_with"));
        // A variable's own upstream gradient is the gradient of sum(v · u) with respect to v.
        let v = Tensor::randn(&[2, 2], 0.0, 1.0, 4, &dev).unwrap().variable();
        let uv = Tensor::randn(&[2, 2], 0.0, 1.0, 5, &dev).unwrap();
        assert_eq!(v.backward_with(&uv).unwrap().get(&v).unwrap().to_vec().unwrap(), uv.to_vec().unwrap());
    }
}

#[test]
fn multi_tensor_update_matches_the_cpu_across_regrouping_and_state_round_trips() {
    // Five variables of odd, non-square shapes updated in one GPU dispatch per step; the set of
    // variables changes between steps (one group dissolves into another, then a single-variable
    // step runs per variable), and the state is saved and loaded into a fresh optimizer midway.
    // Totals of 204 and 185 elements (slot rows padded to 188), single variables of 6 and 40.
    let shapes: [&[usize]; 5] = [&[3, 3, 1, 6], &[6], &[7, 13], &[13], &[2, 5, 4]];
    let makers: [fn() -> Box<dyn Optimizer>; 5] = [
        || Box::new(Sgd::new(0.1).momentum(0.9).nesterov(true)),
        || Box::new(Adam::new(0.01).amsgrad(true)),
        || Box::new(AdamW::new(0.01).weight_decay(0.1)),
        || Box::new(RmsProp::new(0.01).momentum(0.5).centered(true)),
        || Box::new(Sgd::new(0.1)),
    ];
    let subsets: [&[usize]; 6] = [&[0, 1, 2, 3, 4], &[0, 1, 2, 3, 4], &[4, 2, 0], &[1], &[4], &[0, 1, 2, 3, 4]];
    for (m, make) in makers.iter().enumerate() {
        let mut results = Vec::new();
        for dev in [Device::Cpu, gpu()] {
            let mut opt = make();
            let vars: Vec<Param> = shapes
                .iter()
                .enumerate()
                .map(|(j, s)| {
                    Param::new(format!("v{j}"), Tensor::randn(s, 0.0, 1.0, 60 + j as u64, &dev).unwrap(), true)
                })
                .collect();
            for (s, subset) in subsets.iter().enumerate() {
                let grads: Vec<Tensor> = subset
                    .iter()
                    .map(|&j| {
                        Tensor::randn(shapes[j], 0.0, 2.0, 1000 * m as u64 + 10 * s as u64 + j as u64, &dev).unwrap()
                    })
                    .collect();
                let pairs: Vec<(&Tensor, &Param)> = grads.iter().zip(subset.iter().map(|&j| &vars[j])).collect();
                opt.apply(&pairs).unwrap();
                if s == 1 {
                    // Save the state out of the packed group and continue with a fresh optimizer.
                    let state: HashMap<String, Tensor> = opt.state().unwrap().into_iter().collect();
                    let mut fresh = make();
                    fresh.load_state(opt.iterations(), &state, &vars).unwrap();
                    opt = fresh;
                }
            }
            let state: Vec<(String, Vec<f32>)> =
                opt.state().unwrap().iter().map(|(n, t)| (n.clone(), t.to_vec().unwrap())).collect();
            results.push((vars.iter().map(|v| v.value().to_vec().unwrap()).collect::<Vec<_>>(), state));
        }
        let (cpu, gpu) = (&results[0], &results[1]);
        for (j, (c, g)) in cpu.0.iter().zip(&gpu.0).enumerate() {
            assert_close_vec(g, c, RTOL, &format!("optimizer {m}: v{j} GPU vs CPU"));
        }
        assert_eq!(cpu.1.len(), gpu.1.len(), "optimizer {m}: slot count");
        for ((cn, c), (gn, g)) in cpu.1.iter().zip(&gpu.1) {
            assert_eq!(cn, gn);
            assert_close_vec(g, c, RTOL, &format!("optimizer {m}: slot {cn} GPU vs CPU"));
        }
    }
}

#[test]
fn multi_tensor_update_is_one_dispatch_per_step() {
    // A device of this test's own, so no other test's dispatches are counted.
    gpu();
    let dev = Device::gpu().unwrap();
    let g = dev.as_gpu().unwrap();
    let vars: Vec<Param> = (0..6)
        .map(|j| Param::new(format!("v{j}"), Tensor::randn(&[5 + j, 3], 0.0, 1.0, j as u64, &dev).unwrap(), true))
        .collect();
    let grads: Vec<Tensor> =
        (0..6).map(|j| Tensor::randn(&[5 + j, 3], 0.0, 1.0, 9 + j as u64, &dev).unwrap()).collect();
    let mut opt = Adam::default();
    let pairs: Vec<(&Tensor, &Param)> = grads.iter().zip(&vars).collect();
    opt.apply(&pairs).unwrap();
    dev.synchronize().unwrap();
    let before = g.stats().dispatches;
    opt.apply(&pairs).unwrap();
    dev.synchronize().unwrap();
    assert_eq!(g.stats().dispatches - before, 1, "a second step over the same variables");
}
