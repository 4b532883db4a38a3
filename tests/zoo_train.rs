//! Every zoo model trains: five Adam steps of `tessera::train::train_step` (learning rate 1e-4) on one fixed batch (on the GPU, at a small input
//! each model accepts) lower its sparse categorical cross-entropy.

mod common;

use common::gpu;
use tessera::layers::clear_session;
use tessera::prelude::*;
use tessera::zoo;

/// The smallest square input `name` accepts (the Keras minimum for InceptionV3/Xception,
/// AlexNet's 11×11/4 conv and three 3×3/2 pools) and its channels.
fn small_input(name: &str, usual: [usize; 3]) -> [usize; 3] {
    let side = match name {
        "lenet5" | "mlp" => usual[0],
        "alexnet" => 67,
        "inception_v3" => 75,
        "xception" => 71,
        _ => 32,
    };
    [side, side, usual[2]]
}

/// The training-mode loss of `model` on (`x`, `y`) and, with `opt`, one step on it through
/// the step `tessera train` takes.
fn step(model: &dyn Layer, opt: Option<&mut Adam>, x: &Tensor, y: &Tensor) -> f32 {
    let loss = match opt {
        Some(opt) => tessera::train::train_step(model, opt, x, y).unwrap().0,
        None => sparse_categorical_crossentropy(y, &model.call(x, true).unwrap(), true).unwrap(),
    };
    loss.item().unwrap()
}

/// The models CI trains: plain stacks, basic and bottleneck residual blocks, inverted
/// residuals, grouped convolutions with channel shuffle, dense and Inception blocks.
const DEFAULT: [&str; 7] =
    ["lenet5", "vgg13_cifar", "resnet18_cifar", "mobilenet_v2_0.35", "shufflenet", "densenet121", "googlenet"];

#[test]
fn a_few_adam_steps_lower_every_zoo_models_loss() {
    let dev = gpu();
    let mut report = Vec::new();
    // By default one model of each block family (CI's budget); TESSERA_ZOO_TRAIN=all runs every
    // entry (about 13 minutes on lavapipe), TESSERA_ZOO_TRAIN=vgg11,resnet50 only those.
    let only = std::env::var("TESSERA_ZOO_TRAIN").unwrap_or_else(|_| DEFAULT.join(","));
    let picked = |name: &str| only == "all" || only.split(',').any(|n| n == name);
    for spec in zoo::catalog().iter().filter(|s| picked(s.name)) {
        clear_session();
        let input = small_input(spec.name, spec.input);
        let mut model = spec.instantiate(Some(&input), Some(10)).unwrap();
        model.build(&dev, 1).unwrap();
        let x = Tensor::rand_uniform(&[4, input[0], input[1], input[2]], 0.0, 1.0, 3, &dev).unwrap();
        let y = Tensor::from_vec(vec![1.0, 7.0, 3.0, 9.0], &[4], &dev).unwrap();
        let mut opt = Adam::new(1e-4);
        let first = step(model.layer(), Some(&mut opt), &x, &y);
        for _ in 0..4 {
            step(model.layer(), Some(&mut opt), &x, &y);
        }
        let last = step(model.layer(), None, &x, &y);
        report.push(format!("{}: {first:.4} -> {last:.4}", spec.name));
        assert!(last.is_finite() && last < first, "{}", report.join("\n"));
    }
    assert!(!report.is_empty(), "no zoo model matched TESSERA_ZOO_TRAIN={only}");
    println!("{}", report.join("\n"));
}
