//! Where a classifier looks: Grad-CAM (Selvaraju et al.: the target layer's channels weighted
//! by the mean gradient of the class score, ReLU, upsampled to the image) and the plain
//! gradient saliency map (the largest |∂score/∂pixel| over channels).

use image::RgbImage;
use tessera_nn::layers::Layer;
use tessera_nn::models::Sequential;
use tessera_nn::ops::{mul, reduce_sum};
use tessera_nn::{no_grad, shape_err, Result, Tensor};

use super::canvas::{self, Grid};
use super::maps::host;

/// Grad-CAM and gradient saliency of one image, both at the image's resolution in [0, 1].
#[derive(Debug, Clone)]
pub struct Saliency {
    /// The class explained (the predicted one unless given).
    pub class: usize,
    /// The model's outputs (logits) for the image.
    pub scores: Vec<f32>,
    /// The layer Grad-CAM weighs.
    pub layer: String,
    /// Image size, [height, width].
    pub size: [usize; 2],
    /// Grad-CAM heat, row-major `height × width`, divided by its maximum.
    pub cam: Vec<f32>,
    /// Gradient saliency, row-major `height × width`, divided by its maximum.
    pub gradient: Vec<f32>,
}

/// The index of `model`'s layer `name`, or of its last layer with image-shaped output.
fn target_layer(model: &Sequential, name: Option<&str>) -> Result<usize> {
    let shapes = model.output_shapes();
    let layers = model.layers();
    let found = match name {
        Some(n) => layers.iter().position(|l| l.name() == n).filter(|&i| shapes.get(i).is_some_and(|s| s.len() == 3)),
        None => (0..layers.len()).rev().find(|&i| shapes.get(i).is_some_and(|s| s.len() == 3)),
    };
    found.ok_or_else(|| {
        let want = name.unwrap_or("with image-shaped output");
        shape_err("grad_cam", format!("model '{}' (built: {}) has no layer {want}", model.name(), !shapes.is_empty()))
    })
}

/// The score of `class` in logits `[1, n]`: `sum(logits · one_hot(class))`.
fn class_score(logits: &Tensor, class: usize) -> Result<Tensor> {
    let n = logits.numel();
    if logits.shape() != [1, n] || class >= n {
        let shape = logits.shape();
        return Err(shape_err(
            "saliency",
            format!("needs logits [1, n] and a class < n; got {shape:?}, class {class}"),
        ));
    }
    let hot: Vec<f32> = (0..n).map(|i| if i == class { 1.0 } else { 0.0 }).collect();
    reduce_sum(&mul(logits, &Tensor::from_vec(hot, &[1, n], logits.device())?)?, None, false)
}

/// The index of the largest value.
fn argmax(v: &[f32]) -> usize {
    v.iter().enumerate().fold(0, |best, (i, &x)| if x > v[best] { i } else { best })
}

/// `v / max(v)` (unchanged when the maximum is not positive).
fn by_max(mut v: Vec<f32>) -> Vec<f32> {
    let m = v.iter().copied().fold(0.0f32, f32::max);
    if m > 0.0 {
        v.iter_mut().for_each(|x| *x /= m);
    }
    v
}

/// Bilinear resize of a row-major `[h, w]` map to `[oh, ow]` with half-pixel centres
/// (`tf.image.resize`'s default).
pub fn resize_bilinear(v: &[f32], [h, w]: [usize; 2], [oh, ow]: [usize; 2]) -> Vec<f32> {
    let src = |o: usize, n: usize, on: usize| {
        let s = ((o as f32 + 0.5) * n as f32 / on as f32 - 0.5).clamp(0.0, (n - 1) as f32);
        let i = (s.floor() as usize).min(n.saturating_sub(2));
        (i, (s - i as f32).min(1.0))
    };
    let at = |y: usize, x: usize| v[y.min(h - 1) * w + x.min(w - 1)];
    let mut out = Vec::with_capacity(oh * ow);
    for oy in 0..oh {
        let (y, fy) = src(oy, h, oh);
        for ox in 0..ow {
            let (x, fx) = src(ox, w, ow);
            let top = at(y, x) * (1.0 - fx) + at(y, x + 1) * fx;
            let bottom = at(y + 1, x) * (1.0 - fx) + at(y + 1, x + 1) * fx;
            out.push(top * (1.0 - fy) + bottom * fy);
        }
    }
    out
}

/// Grad-CAM at layer `layer` (default: the last image-shaped layer) and gradient saliency for
/// a batch of one image `x` `[1, h, w, c]`, explaining `class` (default: the predicted one).
pub fn saliency(model: &Sequential, x: &Tensor, layer: Option<&str>, class: Option<usize>) -> Result<Saliency> {
    let &[1, h, w, c] = x.shape() else {
        return Err(shape_err("saliency", format!("needs one image [1, h, w, c], got {:?}", x.shape())));
    };
    let k = target_layer(model, layer)?;
    let layers = model.layers();
    let acts = no_grad(|| layers[..=k].iter().try_fold(x.clone(), |t, l| l.call(&t, false)))?.detach().variable();
    let logits = layers[k + 1..].iter().try_fold(acts.clone(), |t, l| l.call(&t, false))?;
    let scores = host(&logits)?;
    let class = class.unwrap_or_else(|| argmax(&scores));
    let grads = class_score(&logits, class)?.backward()?;
    let g = grads.get(&acts).ok_or_else(|| shape_err("grad_cam", "the class score does not depend on the layer"))?;
    let cam = grad_cam_map(&host(&acts)?, &host(g)?, &acts.shape()[1..]);
    let [ah, aw] = [acts.shape()[1], acts.shape()[2]];
    let xv = x.detach().variable();
    let grads = class_score(&model.call(&xv, false)?, class)?.backward()?;
    let gx = grads.get(&xv).ok_or_else(|| shape_err("saliency", "the class score does not depend on the image"))?;
    let gx = host(gx)?;
    let gradient = (0..h * w).map(|p| (0..c).map(|ch| gx[p * c + ch].abs()).fold(0.0, f32::max)).collect();
    Ok(Saliency {
        class,
        scores,
        layer: layers[k].name().to_string(),
        size: [h, w],
        cam: by_max(resize_bilinear(&cam, [ah, aw], [h, w])),
        gradient: by_max(gradient),
    }
    .clamped())
}

impl Saliency {
    /// Keeps both maps in [0, 1].
    fn clamped(mut self) -> Self {
        self.cam.iter_mut().chain(self.gradient.iter_mut()).for_each(|v| *v = v.clamp(0.0, 1.0));
        self
    }
}

/// `relu(Σ_c mean(grad_c) · act_c)` over a `[h, w, c]` layer, row-major `h × w`.
fn grad_cam_map(act: &[f32], grad: &[f32], shape: &[usize]) -> Vec<f32> {
    let (hw, c) = (shape[0] * shape[1], shape[2]);
    let weights: Vec<f32> = (0..c).map(|ch| (0..hw).map(|p| grad[p * c + ch]).sum::<f32>() / hw as f32).collect();
    (0..hw).map(|p| (0..c).map(|ch| weights[ch] * act[p * c + ch]).sum::<f32>().max(0.0)).collect()
}

/// Three panels: the image, its Grad-CAM heat (viridis) over it, and the gradient map.
pub fn saliency_image(x: &Tensor, s: &Saliency) -> Result<RgbImage> {
    let &[1, h, w, c] = x.shape() else {
        return Err(shape_err("saliency_image", format!("needs one image [1, h, w, c], got {:?}", x.shape())));
    };
    let v = host(x)?;
    let span = canvas::range(&v);
    let pixel = |y: usize, x: usize| {
        let p = |ch: usize| canvas::unit(v[(y * w + x) * c + ch.min(c - 1)], span);
        [p(0), p(1), p(2)]
    };
    let grid = Grid::new(3, 3, [h, w], 128);
    let label_h = 16;
    let (gw, gh) = grid.size();
    let mut img = canvas::blank(gw, gh + label_h, canvas::WHITE);
    let at = (0, label_h);
    grid.paint(&mut img, 0, at, |y, x| image::Rgb(pixel(y, x).map(|t| (t * 255.0).round() as u8)));
    grid.paint(&mut img, 1, at, |y, x| {
        let heat = canvas::viridis(s.cam[y * w + x]).0;
        let base = pixel(y, x);
        image::Rgb([0, 1, 2].map(|k| (0.6 * heat[k] as f32 + 0.4 * base[k] * 255.0).round() as u8))
    });
    grid.paint(&mut img, 2, at, |y, x| canvas::viridis(s.gradient[y * w + x]));
    let labels = ["input".to_string(), format!("grad-cam {}", s.class), "gradient".to_string()];
    for (i, l) in labels.iter().enumerate() {
        let (x0, _) = grid.origin(i, (0, 0));
        canvas::text(&mut img, (x0, 3), l, 2, canvas::BLACK);
    }
    Ok(img)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bilinear_resize_keeps_constants_and_corners() {
        let v = [1.0, 2.0, 3.0, 4.0];
        let up = resize_bilinear(&v, [2, 2], [4, 4]);
        // TensorFlow 2.21: tf.image.resize([[1, 2], [3, 4]] as [1, 2, 2, 1], (4, 4)).
        #[rustfmt::skip]
        let tf = [1.0, 1.25, 1.75, 2.0, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3.0, 3.25, 3.75, 4.0];
        assert_eq!(up, tf);
        assert!(resize_bilinear(&[5.0; 6], [2, 3], [5, 7]).iter().all(|&x| x == 5.0));
    }

    #[test]
    fn grad_cam_weights_channels_by_mean_gradient() {
        // Two pixels, two channels: weights (1, -1) → relu(a0 − a1).
        let act = [3.0, 1.0, 1.0, 2.0];
        let grad = [1.0, -2.0, 1.0, 0.0];
        assert_eq!(grad_cam_map(&act, &grad, &[1, 2, 2]), vec![2.0, 0.0]);
    }
}
