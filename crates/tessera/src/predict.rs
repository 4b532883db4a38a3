//! `tessera predict <model> --weights <checkpoint> <images…>`: the top classes a trained zoo
//! model gives PNG/JPEG files. Each image is decoded to 8-bit RGB, scaled to `[0, 1]` and
//! adapted to the model's input exactly as `tessera train` adapts dataset images (channels,
//! padding or TensorFlow's bilinear resize); the class names come from the dataset named in
//! the checkpoint.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use tessera_data::{adapt, catalog};
use tessera_nn::ops::softmax;
use tessera_nn::{checkpoint, no_grad, Device, Tensor};

use crate::zoo::{self, ZooModel};

/// A trained zoo model ready to classify image files.
pub struct Predictor {
    model: ZooModel,
    input: [usize; 3],
    names: Vec<String>,
    device: Device,
}

impl Predictor {
    /// Builds the zoo model `name` for the checkpoint's classes and loads its weights; the
    /// checkpoint must have been trained for that model.
    pub fn load(name: &str, weights: &Path, device: &Device) -> anyhow::Result<Self> {
        let spec = zoo::by_name(name)?;
        let meta = checkpoint::read_metadata(weights)?;
        if let Some(trained) = meta.get("model").filter(|m| *m != name) {
            anyhow::bail!("{} holds weights of {trained}, not {name}", weights.display());
        }
        let classes = meta_usize(&meta, "classes")?.unwrap_or(spec.classes);
        let model = crate::train::build_model(spec, spec.input, classes, device, 0)?;
        checkpoint::load(weights, &model.variables(), None)?;
        let dataset = meta.get("dataset").map(String::as_str).unwrap_or("");
        let names = catalog::class_names(dataset)
            .filter(|n| n.len() == classes)
            .unwrap_or_else(|| (0..classes).map(|c| format!("class {c}")).collect());
        Ok(Self { model, input: spec.input, names, device: device.clone() })
    }

    /// The class names, indexed by class.
    pub fn class_names(&self) -> &[String] {
        &self.names
    }

    /// The model's input shape `[h, w, c]`.
    pub fn input_shape(&self) -> [usize; 3] {
        self.input
    }

    /// Class probabilities (softmax of the logits) of each image file, in order.
    pub fn probabilities(&self, images: &[PathBuf]) -> anyhow::Result<Vec<Vec<f32>>> {
        let mut pixels = Vec::new();
        for path in images {
            pixels.extend(load_image(path, self.input)?);
        }
        let [h, w, c] = self.input;
        let x = Tensor::from_vec(pixels, &[images.len(), h, w, c], &self.device)?;
        let probs = no_grad(|| softmax(&self.model.layer().call(&x, false)?))?.to_vec()?;
        Ok(probs.chunks(self.names.len()).map(<[f32]>::to_vec).collect())
    }
}

/// A checkpoint metadata entry parsed as a number, if present.
fn meta_usize(meta: &HashMap<String, String>, key: &str) -> anyhow::Result<Option<usize>> {
    meta.get(key).map(|v| v.parse().with_context(|| format!("checkpoint metadata {key}={v:?}"))).transpose()
}

/// Decodes a PNG/JPEG file to RGB in `[0, 1]` and adapts it to `input` (as training does).
pub fn load_image(path: &Path, input: [usize; 3]) -> anyhow::Result<Vec<f32>> {
    let img = image::open(path).with_context(|| format!("{}: cannot read the image", path.display()))?.to_rgb8();
    let (w, h) = (img.width() as usize, img.height() as usize);
    let rgb: Vec<f32> = img.into_raw().into_iter().map(|p| f32::from(p) / 255.0).collect();
    Ok(adapt::adapt_images(&rgb, [h, w, 3], input)?)
}

/// The `k` most probable classes, most probable first (ties: the lower class first).
pub fn top_k(probs: &[f32], k: usize) -> Vec<(usize, f32)> {
    let mut order: Vec<(usize, f32)> = probs.iter().copied().enumerate().collect();
    order.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    order.truncate(k);
    order
}

/// The line `path: name 93.1%, name 5.2%, …` with the `top` classes of `probs`.
pub fn describe(path: &Path, probs: &[f32], names: &[String], top: usize) -> String {
    let best: Vec<String> = top_k(probs, top)
        .iter()
        .map(|&(c, pr)| format!("{} {:.1}%", names.get(c).map_or("?", String::as_str), pr * 100.0))
        .collect();
    format!("{}: {}", path.display(), best.join(", "))
}

/// Prints [`describe`]'s line for every image.
pub fn run(model: &str, weights: &Path, images: &[PathBuf], top: usize, cpu: bool) -> anyhow::Result<()> {
    let dev = crate::train::pick_device(cpu);
    let p = Predictor::load(model, weights, &dev)?;
    for (path, probs) in images.iter().zip(p.probabilities(images)?) {
        println!("{}", describe(path, &probs, &p.names, top));
    }
    Ok(())
}
