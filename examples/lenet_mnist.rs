//! LeNet-5 on MNIST, the TensorFlow tutorial in Rust: build, summarise, train with Adam and
//! sparse categorical cross-entropy, evaluate each epoch, save a checkpoint.
//!
//! ```sh
//! cargo run --release --example lenet_mnist -- 3     # 3 epochs (default 6)
//! ```

use tessera::prelude::*;
use tessera::train::{evaluate, mnist, pick_device, train_epoch, Feed, TrainConfig};

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
    let feed = Feed { input: [28, 28, 1], augment: false };
    for epoch in 0..epochs {
        let stats = train_epoch(&model, &mut opt, &train, feed, &dev, &cfg, epoch)?;
        let (_, acc) = evaluate(&model, &test, feed, &dev, 1000)?;
        println!(
            "epoch {}: loss {:.4}, test accuracy {:.2}% ({:.0} images/s)",
            epoch + 1,
            stats.loss,
            acc * 100.0,
            stats.images_per_sec
        );
    }
    tessera::checkpoint::save(std::path::Path::new("lenet5.safetensors"), &model.variables(), Some(&opt), &[])?;
    Ok(())
}
