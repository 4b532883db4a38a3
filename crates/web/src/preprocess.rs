//! MNIST-style preprocessing of a drawing: crop the ink's bounding box, scale its longer side
//! to 20 pixels (area averaging), and paste it into a 28×28 image with its centre of mass at
//! the centre — white digit on black, values in [0, 1], like the MNIST training images.

/// Side of an MNIST image.
pub const SIDE: usize = 28;
/// Side of the box the digit's longer edge is scaled to (MNIST's 20×20 box).
const BOX: f32 = 20.0;
/// Ink below this level does not count towards the bounding box.
const INK_THRESHOLD: f32 = 0.05;

/// Ink in [0, 1] per pixel of an RGBA image: dark, opaque pixels are ink; transparent is paper.
pub fn ink_from_rgba(rgba: &[u8], width: usize, height: usize) -> Vec<f32> {
    (0..width * height)
        .map(|i| {
            let p = rgba.get(i * 4..i * 4 + 4).unwrap_or(&[255, 255, 255, 255]);
            let lum = (0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32) / 255.0;
            (1.0 - lum) * p[3] as f32 / 255.0
        })
        .collect()
}

/// The inclusive bounding box `(x0, y0, x1, y1)` of pixels above the ink threshold.
fn bounding_box(ink: &[f32], width: usize, height: usize) -> Option<(usize, usize, usize, usize)> {
    let mut bb: Option<(usize, usize, usize, usize)> = None;
    for y in 0..height {
        for x in 0..width {
            if ink[y * width + x] > INK_THRESHOLD {
                bb = Some(match bb {
                    None => (x, y, x, y),
                    Some((x0, y0, x1, y1)) => (x0.min(x), y0.min(y), x1.max(x), y1.max(y)),
                });
            }
        }
    }
    bb
}

/// Resamples the `bw`×`bh` region at (`x0`, `y0`) to `tw`×`th` by averaging a grid of
/// samples inside each target pixel's footprint.
fn resample(ink: &[f32], width: usize, region: (usize, usize, usize, usize), tw: usize, th: usize) -> Vec<f32> {
    let (x0, y0, bw, bh) = region;
    let (sx, sy) = (bw as f32 / tw as f32, bh as f32 / th as f32);
    let n = (sx.max(sy).ceil() as usize).clamp(2, 16);
    let mut out = vec![0.0; tw * th];
    for ty in 0..th {
        for tx in 0..tw {
            let mut sum = 0.0;
            for j in 0..n {
                for i in 0..n {
                    let fx = (tx as f32 + (i as f32 + 0.5) / n as f32) * sx;
                    let fy = (ty as f32 + (j as f32 + 0.5) / n as f32) * sy;
                    let (px, py) = ((fx as usize).min(bw - 1), (fy as usize).min(bh - 1));
                    sum += ink[(y0 + py) * width + x0 + px];
                }
            }
            out[ty * tw + tx] = sum / (n * n) as f32;
        }
    }
    out
}

/// The centre of mass `(cx, cy)` of a `w`×`h` image, in pixel units (pixel centres at +0.5).
fn centre_of_mass(img: &[f32], w: usize, h: usize) -> (f32, f32) {
    let (mut m, mut mx, mut my) = (0.0f32, 0.0f32, 0.0f32);
    for y in 0..h {
        for x in 0..w {
            let v = img[y * w + x];
            m += v;
            mx += v * (x as f32 + 0.5);
            my += v * (y as f32 + 0.5);
        }
    }
    if m > 0.0 {
        (mx / m, my / m)
    } else {
        (w as f32 / 2.0, h as f32 / 2.0)
    }
}

/// Where to paste an image of length `len` whose centre of mass is at `c` so that the centre
/// lands on the middle of the 28-pixel side, kept inside the image.
fn offset(c: f32, len: usize) -> usize {
    let want = (SIDE as f32 / 2.0 - c).round();
    want.clamp(0.0, (SIDE - len) as f32) as usize
}

/// Turns an ink map (`width`×`height`, values in [0, 1]) into a 28×28 MNIST-style image.
pub fn mnist_from_ink(ink: &[f32], width: usize, height: usize) -> Vec<f32> {
    let mut out = vec![0.0; SIDE * SIDE];
    let Some((x0, y0, x1, y1)) = bounding_box(ink, width, height) else {
        return out;
    };
    let (bw, bh) = (x1 - x0 + 1, y1 - y0 + 1);
    let scale = BOX / bw.max(bh) as f32;
    let tw = ((bw as f32 * scale).round() as usize).clamp(1, SIDE);
    let th = ((bh as f32 * scale).round() as usize).clamp(1, SIDE);
    let small = resample(ink, width, (x0, y0, bw, bh), tw, th);
    let (cx, cy) = centre_of_mass(&small, tw, th);
    let (ox, oy) = (offset(cx, tw), offset(cy, th));
    for y in 0..th {
        for x in 0..tw {
            out[(oy + y) * SIDE + ox + x] = small[y * tw + x].clamp(0.0, 1.0);
        }
    }
    out
}

/// Turns a canvas's RGBA pixels (dark ink on light paper) into a 28×28 MNIST-style image.
pub fn mnist_from_rgba(rgba: &[u8], width: usize, height: usize) -> Vec<f32> {
    mnist_from_ink(&ink_from_rgba(rgba, width, height), width, height)
}
