//! `tf.nn`-style ops on the GPU, checked against the CPU reference: conv2d with SAME padding
//! and strides, depthwise and transposed convolution, pooling, batch norm, softmax.
//!
//! ```sh
//! cargo run --release --example tf_nn_ops
//! ```

use tessera::prelude::*;

fn main() -> tessera::Result<()> {
    let gpu = Device::gpu()?;
    let x = Tensor::randn(&[2, 9, 9, 4], 0.0, 1.0, 1, &Device::Cpu)?;
    let w = Tensor::randn(&[3, 3, 4, 8], 0.0, 0.2, 2, &Device::Cpu)?;
    let opts = Conv2dOptions::default().padding(Padding::Same).strides(2);
    let run = |dev: &Device| -> tessera::Result<Vec<Tensor>> {
        let (x, w) = (x.to_device(dev)?, w.to_device(dev)?);
        let y = conv2d(&x, &w, &opts)?; // [2, 5, 5, 8]
        let up = conv2d_transpose(&y, &w, x.shape(), &opts)?; // back to [2, 9, 9, 4]
        let dw = depthwise_conv2d(&x, &Tensor::ones(&[3, 3, 4, 2], dev)?, &Conv2dOptions::default())?;
        let pooled = max_pool2d(&y, &PoolOptions::new(2).padding(Padding::Same))?;
        let (mean, var) = moments(&y, &[0, 1, 2], false)?;
        let normed = batch_normalization(&y, &mean, &var, None, None, 1e-3)?;
        let probs = softmax(&global_avg_pool2d(&normed)?)?;
        Ok(vec![y, up, dw, pooled, probs])
    };
    let names = ["conv2d", "conv2d_transpose", "depthwise_conv2d", "max_pool2d", "softmax"];
    for ((name, g), c) in names.iter().zip(run(&gpu)?).zip(run(&Device::Cpu)?) {
        let (g, c) = (g.to_vec()?, c.to_vec()?);
        let err = g.iter().zip(&c).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        println!("{name:<18} {:?} max |gpu - cpu| = {err:.2e}", c.len());
    }
    Ok(())
}
