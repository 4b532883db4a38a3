//! What the fuzz targets share: the model whose checkpoints `checkpoint` loads, and the seed
//! inputs (`cargo run --example write_seeds` writes them to `fuzz/seeds/`).

use tessera_nn::layers::Dense;
use tessera_nn::models::Sequential;
use tessera_nn::ops::reduce_sum;
use tessera_nn::optimizers::{Adam, Optimizer};
use tessera_nn::{Device, Tensor};

/// Dense(3) → Dense(2) on 4 inputs, built on the CPU with seed 0 (the same names and shapes in
/// every fresh process).
pub fn model() -> Sequential {
    let mut m = Sequential::new().with(Dense::new(3)).with(Dense::new(2));
    m.build(&[4], &Device::Cpu, 0).expect("a fixed, valid model builds"); // constant shapes
    m
}

/// A valid checkpoint of [`model`] with Adam slots after one step.
pub fn checkpoint_seed() -> Vec<u8> {
    let m = model();
    let mut opt = Adam::default();
    // Constant, valid shapes: none of these can fail.
    let x = Tensor::ones(&[2, 4], &Device::Cpu).expect("ones");
    let loss = reduce_sum(&m.call(&x, true).expect("call"), None, false).expect("sum");
    opt.apply_gradients(&loss.backward().expect("backward"), &m.trainable_variables()).expect("step");
    tessera_nn::checkpoint::to_bytes(&m.variables(), Some(&opt as &dyn Optimizer), &[]).expect("to_bytes")
}

/// IDX seeds: images `[3, 4, 5]`, labels `[6]`, each plain and gzip'd, as `(name, bytes)`.
pub fn idx_seeds() -> Vec<(&'static str, Vec<u8>)> {
    let images = tessera_data::idx::encode(&[3, 4, 5], &(0..60).collect::<Vec<u8>>()).expect("fits");
    let labels = tessera_data::idx::encode(&[6], &[0, 1, 2, 3, 4, 9]).expect("fits");
    let (images_gz, labels_gz) = (tessera_data::idx::gzip(&images), tessera_data::idx::gzip(&labels));
    vec![("images", images), ("labels", labels), ("images.gz", images_gz), ("labels.gz", labels_gz)]
}

/// CIFAR seeds: two CIFAR-10 records and two CIFAR-100 records.
pub fn cifar_seeds() -> Vec<(&'static str, Vec<u8>)> {
    let rec = |first: &[u8]| -> Vec<u8> {
        let pixels = (0..tessera_data::cifar::PIXELS).map(|i| (i % 251) as u8);
        first.iter().copied().chain(pixels).collect()
    };
    vec![("cifar10", [rec(&[3]), rec(&[9])].concat()), ("cifar100", [rec(&[4, 42]), rec(&[19, 99])].concat())]
}
