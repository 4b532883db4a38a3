//! The demo's engine, the same on every target: LeNet-5 classifying 28×28 digits, a small
//! in-browser trainer, and a CPU-versus-GPU parity report. Work is *recorded* synchronously
//! (GPU dispatches queue up without waiting) and *read back* with `to_vec_async`, so nothing
//! blocks the browser's thread.

use tessera::checkpoint;
use tessera::prelude::*;
use tessera::viz;

/// Pixels in one 28×28×1 image.
pub const PIXELS: usize = 28 * 28;
/// Digit classes.
pub const CLASSES: usize = 10;
/// Images per forward pass when evaluating.
const EVAL_BATCH: usize = 100;

/// An `Error::Shape` for the demo's input checks.
fn bad_input(op: &'static str, msg: String) -> Error {
    tessera::nn::shape_err(op, msg)
}

/// Images as an NHWC tensor `[n, 28, 28, 1]`; `pixels.len()` must be a multiple of 784.
pub fn images_tensor(pixels: &[f32], device: &Device) -> Result<Tensor> {
    if pixels.is_empty() || !pixels.len().is_multiple_of(PIXELS) {
        return Err(bad_input("images", format!("{} values is not a whole number of 28x28 images", pixels.len())));
    }
    Tensor::from_slice(pixels, &[pixels.len() / PIXELS, 28, 28, 1], device)
}

/// A LeNet-5 on one device.
pub struct Net {
    model: Sequential,
    device: Device,
}

impl Net {
    /// A freshly initialised `tessera::zoo::lenet5()` on `device`.
    pub fn lenet5(device: &Device, seed: u64) -> Result<Self> {
        let mut model = tessera::zoo::lenet5();
        model.build(&[28, 28, 1], device, seed)?;
        Ok(Self { model, device: device.clone() })
    }

    /// The device the weights live on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The underlying model.
    pub fn model(&self) -> &Sequential {
        &self.model
    }

    /// Loads weights from a Tessera checkpoint (safetensors bytes, e.g. from `tessera train`).
    pub fn load_weights(&self, bytes: &[u8], origin: &str) -> Result<()> {
        checkpoint::from_bytes(bytes, origin, &self.model.variables(), None).map(|_| ())
    }

    /// Records the forward pass; returns the `[n, 10]` class probabilities, still on the device.
    pub fn record_probabilities(&self, pixels: &[f32]) -> Result<Tensor> {
        let x = images_tensor(pixels, &self.device)?;
        no_grad(|| softmax(&self.model.call(&x, false)?))
    }

    /// The class probabilities of each 28×28 image in `pixels` (`n × 10` values).
    pub async fn probabilities(&self, pixels: &[f32]) -> Result<Vec<f32>> {
        self.record_probabilities(pixels)?.to_vec_async().await
    }

    /// Records the number of correct predictions on u8 images (0–255) with their labels.
    pub fn record_correct(&self, images: &[u8], labels: &[u8]) -> Result<Tensor> {
        check_dataset(images, labels)?;
        let mut correct = Tensor::zeros(&[], &self.device)?;
        for (imgs, labs) in images.chunks(EVAL_BATCH * PIXELS).zip(labels.chunks(EVAL_BATCH)) {
            let x = images_tensor(&to_unit(imgs), &self.device)?;
            let y = Tensor::from_vec(labs.iter().map(|&l| l as f32).collect(), &[labs.len()], &self.device)?;
            let acc = no_grad(|| accuracy(&y, &self.model.call(&x, false)?))?;
            correct = add(&correct, &affine(&acc, labs.len() as f32, 0.0)?)?;
        }
        Ok(correct)
    }

    /// Records the mean cross-entropy loss (inference mode) on u8 images with their labels.
    pub fn record_loss(&self, images: &[u8], labels: &[u8]) -> Result<Tensor> {
        check_dataset(images, labels)?;
        let mut total = Tensor::zeros(&[], &self.device)?;
        for (imgs, labs) in images.chunks(EVAL_BATCH * PIXELS).zip(labels.chunks(EVAL_BATCH)) {
            let x = images_tensor(&to_unit(imgs), &self.device)?;
            let y = Tensor::from_vec(labs.iter().map(|&l| l as f32).collect(), &[labs.len()], &self.device)?;
            let loss = no_grad(|| sparse_categorical_crossentropy(&y, &self.model.call(&x, false)?, true))?;
            total = add(&total, &affine(&loss, labs.len() as f32 / labels.len() as f32, 0.0)?)?;
        }
        Ok(total)
    }

    /// Accuracy on u8 images (0–255) with their labels.
    pub async fn evaluate(&self, images: &[u8], labels: &[u8]) -> Result<f32> {
        let correct = self.record_correct(images, labels)?.to_vec_async().await?;
        Ok(correct[0] / labels.len() as f32)
    }
}

/// A picture for a canvas's `ImageData`: RGBA bytes, row-major.
#[derive(Debug, Clone)]
pub struct Picture {
    /// The layer it shows.
    pub name: String,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width × height × 4` bytes.
    pub rgba: Vec<u8>,
}

impl Picture {
    /// `img` (RGB) with an opaque alpha channel.
    fn new(name: &str, img: &viz::image::RgbImage) -> Self {
        let rgba = img.pixels().flat_map(|p| [p.0[0], p.0[1], p.0[2], 255]).collect();
        Self { name: name.to_string(), width: img.width(), height: img.height(), rgba }
    }
}

/// Reads `t` back (asynchronously) into a CPU tensor.
async fn to_cpu(t: &Tensor) -> Result<Tensor> {
    Tensor::from_vec(t.to_vec_async().await?, t.shape(), &Device::Cpu)
}

impl Net {
    /// Records the outputs of the first `n` conv layers for one 28×28 image (on the device).
    pub fn record_feature_maps(&self, pixels: &[f32], n: usize) -> Result<Vec<(String, Tensor)>> {
        if pixels.len() != PIXELS {
            return Err(bad_input("feature_maps", format!("{} values is not one 28x28 image", pixels.len())));
        }
        let outs = viz::layer_outputs(&self.model, &images_tensor(pixels, &self.device)?)?;
        let convs = outs.into_iter().zip(self.model.layers()).filter(|(_, l)| viz::is_conv(l.as_ref()));
        Ok(convs.map(|(o, _)| o).take(n).collect())
    }

    /// The first conv layer's name and kernel.
    pub fn first_kernel(&self) -> Result<(String, Tensor)> {
        viz::conv_kernel(&self.model, None)
    }

    /// The first two conv layers' feature maps for one image, one tile per channel.
    pub async fn feature_pictures(&self, pixels: &[f32]) -> Result<Vec<Picture>> {
        pictures(self.record_feature_maps(pixels, 2)?, viz::feature_grid).await
    }

    /// The first conv layer's filters, one tile each.
    pub async fn filter_picture(&self) -> Result<Picture> {
        let mut p = pictures(vec![self.first_kernel()?], viz::filter_grid).await?;
        Ok(p.remove(0))
    }
}

/// Reads recorded `(name, tensor)` pairs back and draws each with `draw`.
pub async fn pictures(
    tensors: Vec<(String, Tensor)>,
    draw: fn(&Tensor) -> Result<viz::image::RgbImage>,
) -> Result<Vec<Picture>> {
    let mut out = Vec::new();
    for (name, t) in tensors {
        out.push(Picture::new(&name, &draw(&to_cpu(&t).await?)?));
    }
    Ok(out)
}

/// Checks that `images` holds one 28×28 image per label, every label a digit.
fn check_dataset(images: &[u8], labels: &[u8]) -> Result<()> {
    if labels.is_empty() || images.len() != labels.len() * PIXELS {
        return Err(bad_input(
            "dataset",
            format!("{} pixels for {} labels; expected 784 per label", images.len(), labels.len()),
        ));
    }
    if let Some(l) = labels.iter().find(|&&l| l as usize >= CLASSES) {
        return Err(bad_input("dataset", format!("label {l} is not a digit 0-9")));
    }
    Ok(())
}

/// u8 pixels (0–255) as floats in [0, 1].
pub fn to_unit(pixels: &[u8]) -> Vec<f32> {
    pixels.iter().map(|&p| p as f32 / 255.0).collect()
}

/// A small deterministic generator (SplitMix64) for shuffling.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// `0..n` shuffled (Fisher–Yates) with `seed`.
fn permutation(n: usize, seed: u64) -> Vec<usize> {
    let mut rng = SplitMix(seed);
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        order.swap(i, (rng.next() % (i as u64 + 1)) as usize);
    }
    order
}

/// Trains a LeNet-5 with Adam on a small in-memory dataset, one shuffled mini-batch a step.
pub struct Trainer {
    net: Net,
    opt: Adam,
    images: Vec<u8>,
    labels: Vec<u8>,
    batch_size: usize,
    order: Vec<usize>,
    cursor: usize,
    epoch: u64,
    seed: u64,
    steps: u64,
}

impl Trainer {
    /// A fresh LeNet-5 on `device` and the training set (u8 pixels 0–255, one label each).
    pub fn new(
        device: &Device,
        images: Vec<u8>,
        labels: Vec<u8>,
        batch_size: usize,
        learning_rate: f32,
        seed: u64,
    ) -> Result<Self> {
        check_dataset(&images, &labels)?;
        if batch_size == 0 {
            return Err(bad_input("trainer", "batch size must be at least 1".into()));
        }
        let order = permutation(labels.len(), seed);
        let net = Net::lenet5(device, seed)?;
        let opt = Adam::new(learning_rate);
        Ok(Self { net, opt, images, labels, batch_size, order, cursor: 0, epoch: 0, seed, steps: 0 })
    }

    /// The model being trained.
    pub fn net(&self) -> &Net {
        &self.net
    }

    /// Optimisation steps taken so far.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// The next mini-batch's images and labels (reshuffling after each pass).
    fn next_batch(&mut self) -> Result<(Tensor, Tensor)> {
        let n = self.batch_size.min(self.labels.len());
        if self.cursor + n > self.order.len() {
            self.epoch += 1;
            self.order = permutation(self.labels.len(), self.seed ^ (self.epoch << 32));
            self.cursor = 0;
        }
        let idx = &self.order[self.cursor..self.cursor + n];
        self.cursor += n;
        let mut px = Vec::with_capacity(n * PIXELS);
        for &i in idx {
            px.extend(self.images[i * PIXELS..(i + 1) * PIXELS].iter().map(|&p| p as f32 / 255.0));
        }
        let y: Vec<f32> = idx.iter().map(|&i| self.labels[i] as f32).collect();
        Ok((images_tensor(&px, self.net.device())?, Tensor::from_vec(y, &[n], self.net.device())?))
    }

    /// Records `steps` optimisation steps (at least one) and starts reading back their mean
    /// loss as soon as the last step's forward pass is recorded: the read is submitted ahead of
    /// that step's backward pass and update, which are submitted right after it, so the loss
    /// comes back while the GPU is still busy with them (the page awaits each step; the next
    /// step's work queues behind the update, so it still sees the new weights).
    pub fn record_steps(&mut self, steps: usize) -> Result<impl std::future::Future<Output = Result<f32>> + 'static> {
        let steps = steps.max(1);
        let mut sum: Option<Tensor> = None;
        for _ in 1..steps {
            let loss = self.record_forward()?;
            sum = Some(add_loss(sum, &loss)?);
            self.record_update(&loss)?;
        }
        let loss = self.record_forward()?;
        let total = add_loss(sum, &loss)?;
        let mean = if steps == 1 { total } else { no_grad(|| affine(&total, 1.0 / steps as f32, 0.0))? };
        let read = mean.to_vec_async();
        self.record_update(&loss)?;
        self.net.device().flush()?;
        Ok(async move { Ok(read.await?[0]) })
    }

    /// Records the forward pass and loss of one step on the next mini-batch.
    fn record_forward(&mut self) -> Result<Tensor> {
        let (x, y) = self.next_batch()?;
        Ok(layers::sparse_xent_with_accuracy(&self.net.model, &x, &y, true)?.0)
    }

    /// Records the backward pass of `loss` and the optimiser's update: one step taken.
    fn record_update(&mut self, loss: &Tensor) -> Result<()> {
        let grads = loss.backward()?;
        self.opt.apply_gradients(&grads, &self.net.model.trainable_variables())?;
        self.steps += 1;
        Ok(())
    }

    /// Takes `steps` optimisation steps and returns their mean loss.
    pub async fn train(&mut self, steps: usize) -> Result<f32> {
        self.record_steps(steps)?.await
    }
}

/// `sum + loss` (detached), or `loss` alone for the first step.
fn add_loss(sum: Option<Tensor>, loss: &Tensor) -> Result<Tensor> {
    match sum {
        None => Ok(loss.detach()),
        Some(s) => no_grad(|| add(&s, &loss.detach())),
    }
}

/// One line of a parity report: what was compared and how far apart the two devices were.
#[derive(Debug, Clone)]
pub struct ParityLine {
    /// What was computed.
    pub name: String,
    /// Largest |gpu − cpu| over all elements.
    pub max_abs_diff: f32,
    /// Largest |cpu| (to judge the difference against).
    pub max_abs: f32,
    /// Elements compared.
    pub len: usize,
}

/// Compares two tensors computed on the CPU and another device (read back asynchronously).
async fn compare(name: &str, cpu: &Tensor, other: &Tensor) -> Result<ParityLine> {
    let (a, b) = (cpu.to_vec_async().await?, other.to_vec_async().await?);
    if a.len() != b.len() {
        return Err(bad_input("parity", format!("{name}: {} vs {} values", a.len(), b.len())));
    }
    let max_abs_diff = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max);
    let max_abs = a.iter().map(|x| x.abs()).fold(0.0, f32::max);
    Ok(ParityLine { name: name.to_string(), max_abs_diff, max_abs, len: a.len() })
}

/// The same random tensor on the CPU and on `dev`.
async fn pair(shape: &[usize], seed: u64, dev: &Device) -> Result<(Tensor, Tensor)> {
    let c = Tensor::randn(shape, 0.0, 1.0, seed, &Device::Cpu)?;
    let g = c.to_device_async(dev).await?;
    Ok((c, g))
}

/// Runs a convolution, a matmul, the LeNet-5 forward pass and one Adam training step on the
/// CPU reference and on `dev`, and reports how far apart the results are.
pub async fn parity_report(dev: &Device) -> Result<Vec<ParityLine>> {
    let mut out = Vec::new();
    let (xc, xg) = pair(&[2, 9, 7, 3], 1, dev).await?;
    let (wc, wg) = pair(&[3, 2, 3, 5], 2, dev).await?;
    let opts = Conv2dOptions::default().padding(Padding::Same).strides((2, 1));
    out.push(compare("conv2d SAME stride (2,1)", &conv2d(&xc, &wc, &opts)?, &conv2d(&xg, &wg, &opts)?).await?);
    let (ac, ag) = pair(&[5, 13], 3, dev).await?;
    let (bc, bg) = pair(&[13, 7], 4, dev).await?;
    out.push(compare("matmul 5x13 @ 13x7", &matmul(&ac, &bc)?, &matmul(&ag, &bg)?).await?);
    let (cpu, gpu) = (Net::lenet5(&Device::Cpu, 7)?, Net::lenet5(dev, 99)?);
    gpu.load_weights(&checkpoint::to_bytes(&cpu.model.variables(), None, &[])?, "parity")?;
    let (ic, ig) = pair(&[4, 28, 28, 1], 5, dev).await?;
    let (lc, lg) = no_grad(|| Ok::<_, Error>((cpu.model.call(&ic, false)?, gpu.model.call(&ig, false)?)))?;
    out.push(compare("lenet5 forward logits", &lc, &lg).await?);
    out.extend(step_parity(cpu, gpu, &ic, &ig).await?);
    Ok(out)
}

/// One Adam step on both nets with the same batch: compares the loss and every variable.
async fn step_parity(cpu: Net, gpu: Net, ic: &Tensor, ig: &Tensor) -> Result<Vec<ParityLine>> {
    let labels = vec![3.0, 1.0, 4.0, 1.0];
    let mut out = Vec::new();
    let mut losses = Vec::new();
    for (net, x) in [(&cpu, ic), (&gpu, ig)] {
        let y = Tensor::from_slice(&labels, &[4], net.device())?;
        // The model's head and the loss as the training step runs them (one kernel on the GPU).
        let (loss, _) = layers::sparse_xent_with_accuracy(&net.model, x, &y, true)?;
        let grads = loss.backward()?;
        Adam::new(0.01).apply_gradients(&grads, &net.model.trainable_variables())?;
        losses.push(loss.detach());
    }
    out.push(compare("lenet5 training loss", &losses[0], &losses[1]).await?);
    for (vc, vg) in cpu.model.variables().iter().zip(gpu.model.variables()) {
        out.push(compare(&format!("after one Adam step: {}", vc.name()), &vc.value(), &vg.value()).await?);
    }
    Ok(out)
}

/// A parity report as JSON: `[{"name":…,"max_abs_diff":…,"max_abs":…,"len":…}, …]`.
pub fn parity_json(lines: &[ParityLine]) -> String {
    let items: Vec<String> = lines
        .iter()
        .map(|l| {
            format!(
                "{{\"name\":{:?},\"max_abs_diff\":{},\"max_abs\":{},\"len\":{}}}",
                l.name,
                json_number(l.max_abs_diff),
                json_number(l.max_abs),
                l.len
            )
        })
        .collect();
    format!("[{}]", items.join(","))
}

/// A float as a JSON number (`null` for NaN or infinity, which JSON cannot spell).
fn json_number(v: f32) -> String {
    if v.is_finite() {
        format!("{v:e}")
    } else {
        "null".into()
    }
}
