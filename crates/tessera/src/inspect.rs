//! The commands that look inside a model: `tessera summary <model>` (Keras's table plus the
//! receptive fields and multiply-adds) and `tessera viz filters|features|saliency
//! <checkpoint>` (PNG pictures written next to the checkpoint or into `--out`).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use tessera_nn::layers::Layer;
use tessera_nn::models::Sequential;
use tessera_nn::{checkpoint, Device, Tensor};

use crate::viz;
use crate::zoo::{self, Net};

/// `tessera summary <model>`: the zoo model's summary and its receptive-field table.
pub fn summary(model: &str) -> anyhow::Result<()> {
    let net = zoo::built(model).with_context(|| unknown(model))??;
    println!("{}", net.summary());
    println!("{}", net.analysis());
    Ok(())
}

/// The error text for a model name not in the zoo.
fn unknown(model: &str) -> String {
    let names: Vec<&str> = zoo::MODELS.iter().map(|m| m.name).collect();
    format!("unknown model '{model}' (try: {})", names.join(", "))
}

/// What `tessera viz` draws.
#[derive(Debug, Clone)]
pub enum VizJob {
    /// A conv layer's filters (default: the first conv layer).
    Filters {
        /// The layer's name.
        layer: Option<String>,
    },
    /// The feature maps of every conv layer (or of `layer`) for `image`.
    Features {
        /// The input picture.
        image: PathBuf,
        /// Only this layer.
        layer: Option<String>,
        /// Flip dark and light (black digits on white).
        invert: bool,
    },
    /// Grad-CAM and the gradient saliency map for `image`.
    Saliency {
        /// The input picture.
        image: PathBuf,
        /// The class to explain (default: the predicted one).
        class: Option<usize>,
        /// The layer Grad-CAM weighs (default: the last image-shaped one).
        layer: Option<String>,
        /// Flip dark and light (black digits on white).
        invert: bool,
    },
}

/// `tessera viz`: loads `checkpoint` into the zoo model `model`, draws `job`, writes PNGs into
/// `out` (default: the checkpoint's folder) and returns their paths.
pub fn viz(checkpoint_path: &Path, model: &str, job: &VizJob, out: Option<&Path>) -> anyhow::Result<Vec<PathBuf>> {
    let entry = zoo::entry(model).with_context(|| unknown(model))?;
    let Net::Sequential(net) = zoo::built(model).with_context(|| unknown(model))?? else {
        bail!("tessera viz draws Sequential zoo models; '{model}' is functional");
    };
    checkpoint::load(checkpoint_path, &net.variables(), None)?;
    let stem = checkpoint_path.file_stem().map_or("model".into(), |s| s.to_string_lossy().into_owned());
    let dir = out.map(Path::to_path_buf).unwrap_or_else(|| checkpoint_path.parent().unwrap_or(Path::new("")).into());
    if !dir.as_os_str().is_empty() {
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let file = |what: &str| dir.join(format!("{stem}.{what}.png"));
    let load = |p: &Path, invert: bool| read_image(p, entry.input_shape, invert);
    let mut written = Vec::new();
    let mut save = |img: image::RgbImage, path: PathBuf| -> anyhow::Result<()> {
        img.save(&path).with_context(|| format!("cannot write {}", path.display()))?;
        println!("wrote {} ({}×{})", path.display(), img.width(), img.height());
        written.push(path);
        Ok(())
    };
    match job {
        VizJob::Filters { layer } => {
            let (name, kernel) = viz::conv_kernel(&net, layer.as_deref())?;
            save(viz::filter_grid(&kernel)?, file(&format!("filters.{name}")))?;
        }
        VizJob::Features { image, layer, invert } => {
            for (name, maps) in viz::feature_maps(&net, &load(image, *invert)?, layer.as_deref())? {
                save(viz::feature_grid(&maps)?, file(&format!("features.{name}")))?;
            }
        }
        VizJob::Saliency { image, class, layer, invert } => {
            let x = load(image, *invert)?;
            let s = viz::saliency(&net, &x, layer.as_deref(), *class)?;
            print_scores(&net, &s);
            save(viz::saliency_image(&x, &s)?, file("saliency"))?;
        }
    }
    Ok(written)
}

/// Prints the explained class and the model's scores.
fn print_scores(net: &Sequential, s: &viz::Saliency) {
    let scores: Vec<String> = s.scores.iter().map(|v| format!("{v:.2}")).collect();
    println!("{}: class {} explained at layer '{}'; scores [{}]", net.name(), s.class, s.layer, scores.join(", "));
}

/// Reads a picture as the model's input batch of one.
fn read_image(path: &Path, shape: [usize; 3], invert: bool) -> anyhow::Result<Tensor> {
    let img = image::open(path).with_context(|| format!("cannot read image {}", path.display()))?;
    Ok(viz::image_tensor(&img, shape, invert, &Device::Cpu)?)
}
