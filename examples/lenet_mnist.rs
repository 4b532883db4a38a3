//! LeNet-5 on MNIST, the TensorFlow tutorial in Rust: build, summarise, train with Adam and
//! sparse categorical cross-entropy, evaluate each epoch, save a checkpoint.
//!
//! ```sh
//! cargo run --release --example lenet_mnist -- 3     # 3 epochs (default 6)
//! ```

use tessera::prelude::*;
use tessera::train::{evaluate, mnist, pick_device, train_epoch, TrainConfig};

fn main() -> anyhow::Result<()> {
    let epochs = std::env::args().nth(1).map(|s| s.parse()).transpose()?.unwrap_or(6);
    let cfg = TrainConfig { epochs, ..TrainConfig::default() };
    let dev = pick_device(false);
    let train = mnist(tessera_data::Split::Train, None, None)?;
    let test = mnist(tessera_data::Split::Test, None, None)?;

    let mut model = Sequential::new()
        .with(layers::Conv2D::new(6, 3))
        .with(layers::MaxPool2D::new(2))
        .with(layers::ReLU::new())
        .with(layers::Conv2D::new(16, 3))
        .with(layers::MaxPool2D::new(2))
        .with(layers::ReLU::new())
        .with(layers::Flatten::new())
        .with(layers::Dense::new(120).activation(Activation::Relu))
        .with(layers::Dense::new(84).activation(Activation::Relu))
        .with(layers::Dense::new(10));
    model.build(&[28, 28, 1], &dev, 0)?;
    println!("{}", model.summary());

    let mut opt = Adam::default();
    for epoch in 0..epochs {
        let (loss, images_per_sec) = train_epoch(&model, &mut opt, &train, &dev, &cfg, epoch)?;
        let acc = evaluate(&model, &test, &dev, 1000)?;
        println!(
            "epoch {}: loss {loss:.4}, test accuracy {:.2}% ({images_per_sec:.0} images/s)",
            epoch + 1,
            acc * 100.0
        );
    }
    tessera::checkpoint::save(std::path::Path::new("lenet5.safetensors"), &model.variables(), Some(&opt), &[])?;
    Ok(())
}
