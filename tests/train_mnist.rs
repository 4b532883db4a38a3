//! End-to-end training on the GPU: LeNet-5 on an MNIST subset reaches far-above-chance test
//! accuracy in one epoch, checkpoints are written each epoch, and training resumes from one.

mod common;
use common::*;
use tessera::train::{train_lenet5, TrainConfig};

#[test]
fn lenet5_learns_mnist_in_one_short_epoch_and_resumes_from_its_checkpoint() {
    let _ = gpu(); // fail, never skip, without an adapter
    let dir = std::env::temp_dir().join(format!("tessera-train-{}", std::process::id()));
    let cfg = TrainConfig {
        epochs: 1,
        train_limit: Some(3000),
        test_limit: Some(1000),
        checkpoint: dir.join("lenet5.safetensors"),
        progress: false,
        ..TrainConfig::default()
    };
    let report = train_lenet5(&cfg).unwrap();
    let acc = report.test_accuracy[0];
    assert!(acc > 0.75, "test accuracy after one short epoch: {acc} (chance is 0.10)");
    assert!(report.train_loss[0] < 1.5, "mean loss {}", report.train_loss[0]);
    assert!(cfg.checkpoint.exists());

    // Resuming runs only the remaining epoch, from the saved weights and optimizer state.
    let more = TrainConfig { epochs: 2, resume: true, ..cfg.clone() };
    let resumed = train_lenet5(&more).unwrap();
    assert_eq!(resumed.test_accuracy.len(), 1);
    assert!(resumed.test_accuracy[0] >= acc - 0.03, "{} after resuming vs {acc}", resumed.test_accuracy[0]);
    let _ = std::fs::remove_dir_all(&dir);
}
