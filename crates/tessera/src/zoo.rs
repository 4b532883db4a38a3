//! Ready-made models from the tutorials Tessera's users know.

use tessera_nn::layers;
use tessera_nn::models::Sequential;
use tessera_nn::Activation;

/// The TensorFlow tutorial's LeNet-5 variant for 28×28×1 inputs (60,074 parameters):
/// Conv2D(6,3) → MaxPool(2) → ReLU → Conv2D(16,3) → MaxPool(2) → ReLU → Flatten →
/// Dense(120, relu) → Dense(84, relu) → Dense(10) (logits).
pub fn lenet5() -> Sequential {
    Sequential::new()
        .named("lenet5")
        .with(layers::Conv2D::new(6, 3))
        .with(layers::MaxPool2D::new(2))
        .with(layers::ReLU::new())
        .with(layers::Conv2D::new(16, 3))
        .with(layers::MaxPool2D::new(2))
        .with(layers::ReLU::new())
        .with(layers::Flatten::new())
        .with(layers::Dense::new(120).activation(Activation::Relu))
        .with(layers::Dense::new(84).activation(Activation::Relu))
        .with(layers::Dense::new(10))
}

/// The dense network 784 → 256 → 256 → 256 → 10 (335,114 parameters).
pub fn mlp() -> Sequential {
    Sequential::new()
        .named("mlp")
        .with(layers::Flatten::new())
        .with(layers::Dense::new(256).activation(Activation::Relu))
        .with(layers::Dense::new(256).activation(Activation::Relu))
        .with(layers::Dense::new(256).activation(Activation::Relu))
        .with(layers::Dense::new(10))
}
