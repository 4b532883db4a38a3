//! Pictures of what a conv net holds and computes: a layer's filters as a grid of tiles and
//! the feature maps an image produces, one tile per channel with a colour scale.

use image::RgbImage;
use tessera_nn::layers::Layer;
use tessera_nn::models::Sequential;
use tessera_nn::{no_grad, shape_err, Result, Tensor};

use super::canvas::{self, Grid};

/// Screen pixels a tile is scaled to (about).
const TILE_PX: usize = 48;

/// A grid of a conv kernel `[kh, kw, cin, cout]`'s filters, each normalised to its own
/// min..max. With 3 input channels each filter is one RGB tile (`cout` tiles, in a square
/// grid); otherwise each filter is a row of grey tiles, one per input channel (`cout` rows of
/// `cin`; one input channel: a square grid of `cout` grey tiles).
pub fn filter_grid(kernel: &Tensor) -> Result<RgbImage> {
    let &[kh, kw, cin, cout] = kernel.shape() else {
        return Err(shape_err("filter_grid", format!("needs a kernel [kh, kw, cin, cout], got {:?}", kernel.shape())));
    };
    let v = host(kernel)?;
    let at = |y: usize, x: usize, c: usize, o: usize| v[((y * kw + x) * cin + c) * cout + o];
    let ranges: Vec<(f32, f32)> = (0..cout)
        .map(|o| {
            let vals: Vec<f32> = (0..kh * kw * cin).map(|i| at(i / (kw * cin), i / cin % kw, i % cin, o)).collect();
            canvas::range(&vals)
        })
        .collect();
    let rgb = cin == 3;
    let tiles = if rgb { 1 } else { cin };
    let cols = if tiles == 1 { (cout as f32).sqrt().ceil() as usize } else { cin };
    let count = cout * tiles;
    let grid = Grid::new(count, cols, [kh, kw], TILE_PX);
    let (w, h) = grid.size();
    let mut img = canvas::blank(w, h, canvas::SEPARATOR);
    for t in 0..count {
        let (o, c) = if rgb { (t, 0) } else { (t / cin, t % cin) };
        grid.paint(&mut img, t, (0, 0), |y, x| match rgb {
            true => image::Rgb([0, 1, 2].map(|k| (canvas::unit(at(y, x, k, o), ranges[o]) * 255.0).round() as u8)),
            false => canvas::grey(canvas::unit(at(y, x, c, o), ranges[o])),
        });
    }
    Ok(img)
}

/// One tile per channel of feature maps `[1, h, w, c]` (or `[h, w, c]`), on one shared scale
/// (viridis) so channels compare, with a colour bar labelled with its min and max.
pub fn feature_grid(maps: &Tensor) -> Result<RgbImage> {
    let (h, w, c) = match *maps.shape() {
        [1, h, w, c] | [h, w, c] => (h, w, c),
        _ => return Err(shape_err("feature_grid", format!("needs maps [1, h, w, c], got {:?}", maps.shape()))),
    };
    let v = host(maps)?;
    let span = canvas::range(&v);
    let grid = Grid::new(c, (c as f32).sqrt().ceil() as usize, [h, w], 64);
    let (gw, gh) = grid.size();
    let bar = 30;
    let mut img = canvas::blank(gw.max(120), gh + bar, canvas::WHITE);
    for ch in 0..c {
        grid.paint(&mut img, ch, (0, 0), |y, x| canvas::viridis(canvas::unit(v[(y * w + x) * c + ch], span)));
    }
    let bar_w = img.width() - 8;
    colour_bar(&mut img, (4, gh + 4), bar_w, span);
    Ok(img)
}

/// A viridis bar of `width` at `at` with `lo` and `hi` written under its ends.
fn colour_bar(img: &mut RgbImage, at: (u32, u32), width: u32, (lo, hi): (f32, f32)) {
    for x in 0..width {
        let t = x as f32 / (width.max(2) - 1) as f32;
        canvas::fill(img, (at.0 + x, at.1), (1, 10), canvas::viridis(t));
    }
    let (lo, hi) = (canvas::number(lo), canvas::number(hi));
    canvas::text(img, (at.0, at.1 + 13), &lo, 2, canvas::BLACK);
    let right = (at.0 + width).saturating_sub(canvas::text_width(&hi, 2));
    canvas::text(img, (right, at.1 + 13), &hi, 2, canvas::BLACK);
}

/// The values of `t` on the host: read back (blocking) on native; in the browser, where
/// reading blocks nothing, only CPU tensors (read GPU ones with `to_device_async` first).
pub fn host(t: &Tensor) -> Result<Vec<f32>> {
    #[cfg(not(target_arch = "wasm32"))]
    return t.to_vec();
    #[cfg(target_arch = "wasm32")]
    {
        use std::future::Future;
        let cpu = t.to_device(&tessera_nn::Device::Cpu)?;
        let mut read = std::pin::pin!(cpu.to_vec_async());
        match read.as_mut().poll(&mut std::task::Context::from_waker(std::task::Waker::noop())) {
            std::task::Poll::Ready(v) => v,
            std::task::Poll::Pending => Err(shape_err("viz", "a CPU tensor's values were not ready")),
        }
    }
}

/// True for the convolution layers (`Conv2D`, `DepthwiseConv2D`, ...).
pub fn is_conv(layer: &dyn Layer) -> bool {
    layer.kind().contains("Conv")
}

/// The output of every layer of `model` for a batch `x`, in order, as `(name, output)`.
pub fn layer_outputs(model: &Sequential, x: &Tensor) -> Result<Vec<(String, Tensor)>> {
    let mut h = x.clone();
    let mut out = Vec::new();
    for l in model.layers() {
        h = no_grad(|| l.call(&h, false))?;
        out.push((l.name().to_string(), h.clone()));
    }
    Ok(out)
}

/// The feature maps of `model`'s conv layers for a batch of one image `x` (`layer`: only the
/// layer of that name, which may be any layer with image-shaped output).
pub fn feature_maps(model: &Sequential, x: &Tensor, layer: Option<&str>) -> Result<Vec<(String, Tensor)>> {
    let outs = layer_outputs(model, x)?;
    let keep: Vec<(String, Tensor)> = match layer {
        Some(name) => outs.into_iter().filter(|(n, t)| n == name && t.rank() == 4).collect(),
        None => outs.into_iter().zip(model.layers()).filter(|(_, l)| is_conv(l.as_ref())).map(|(o, _)| o).collect(),
    };
    if keep.is_empty() {
        let names: Vec<&str> = model.layers().iter().map(|l| l.name()).collect();
        let want = layer.unwrap_or("any conv layer");
        return Err(shape_err("feature_maps", format!("no image-shaped layer '{want}' among {names:?}")));
    }
    Ok(keep)
}

/// The kernel of `model`'s layer `name` (default: the first conv layer), as `(name, kernel)`.
pub fn conv_kernel(model: &Sequential, name: Option<&str>) -> Result<(String, Tensor)> {
    let found = model.layers().iter().find(|l| name.map_or(is_conv(l.as_ref()), |n| l.name() == n));
    let kernel = found.and_then(|l| {
        let v = l.variables();
        v.iter().find(|p| p.shape().len() == 4).map(|p| (l.name().to_string(), p.value()))
    });
    kernel.ok_or_else(|| {
        let want = name.unwrap_or("a conv layer");
        shape_err("conv_kernel", format!("model '{}' has no 4-D kernel in '{want}'", model.name()))
    })
}

/// The image as a batch of one `[1, h, w, c]` in [0, 1], resized to `[h, w]`, grey for one
/// channel and RGB for three; `invert` flips dark and light (for black-on-white digits).
pub fn image_tensor(
    img: &image::DynamicImage,
    shape: [usize; 3],
    invert: bool,
    dev: &tessera_nn::Device,
) -> Result<Tensor> {
    let [h, w, c] = shape;
    let resized = img.resize_exact(w as u32, h as u32, image::imageops::FilterType::Triangle);
    let bytes = match c {
        1 => resized.to_luma8().into_raw(),
        3 => resized.to_rgb8().into_raw(),
        _ => return Err(shape_err("image_tensor", format!("images have 1 or 3 channels, not {c} ({shape:?})"))),
    };
    let v = bytes.iter().map(|&b| if invert { 1.0 - b as f32 / 255.0 } else { b as f32 / 255.0 }).collect();
    Tensor::from_vec(v, &[1, h, w, c], dev)
}

/// `img` encoded as PNG bytes (for notebooks and the browser).
pub fn png_bytes(img: &RgbImage) -> Result<Vec<u8>> {
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .map_err(|e| tessera_nn::Error::File { path: "<png>".into(), msg: e.to_string() })?;
    Ok(out.into_inner())
}
