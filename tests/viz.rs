//! `tessera::viz`: the PNGs decode with the expected sizes and tile counts and are not
//! constant; a filter grid keeps its filter bank's value order; Grad-CAM and the gradient map
//! light the quadrant a model's answer depends on; the training history writes CSV and PNG.

use tessera::nn::layers;
use tessera::nn::models::Sequential;
use tessera::prelude::*;
use tessera::viz::{self, canvas::Grid, EpochRecord};

/// Encodes to PNG and decodes again, as a file reader would see the picture.
fn round_trip(img: &image::RgbImage) -> image::RgbImage {
    let bytes = viz::png_bytes(img).unwrap();
    assert_eq!(&bytes[1..4], b"PNG");
    image::load_from_memory(&bytes).unwrap().to_rgb8()
}

fn distinct_colours(img: &image::RgbImage) -> usize {
    img.pixels().map(|p| p.0).collect::<std::collections::HashSet<_>>().len()
}

/// The pixel at the centre of source pixel (y, x) of tile `t`.
fn tile_pixel(img: &image::RgbImage, g: &Grid, t: usize, y: usize, x: usize) -> [u8; 3] {
    let (ox, oy) = g.origin(t, (0, 0));
    let s = g.scale as u32;
    img.get_pixel(ox + x as u32 * s + s / 2, oy + y as u32 * s + s / 2).0
}

/// Indices of `v` sorted by value.
fn order<T: PartialOrd + Copy>(v: &[T]) -> Vec<usize> {
    let mut i: Vec<usize> = (0..v.len()).collect();
    i.sort_by(|&a, &b| v[a].partial_cmp(&v[b]).unwrap());
    i
}

#[test]
fn filter_grid_keeps_each_filters_value_order() {
    // A bank [3, 3, 2, 4] of distinct values in a scrambled order.
    let (kh, kw, cin, cout) = (3, 3, 2, 4);
    let n = kh * kw * cin * cout;
    let vals: Vec<f32> = (0..n).map(|i| ((i * 37) % n) as f32 * 0.1 - 3.0).collect();
    let kernel = Tensor::from_vec(vals.clone(), &[kh, kw, cin, cout], &Device::Cpu).unwrap();
    let img = round_trip(&viz::filter_grid(&kernel).unwrap());
    let g = Grid::new(cout * cin, cin, [kh, kw], 48);
    assert_eq!(img.dimensions(), g.size());
    assert_eq!((g.rows(), g.cols), (cout, cin), "one row per filter, one tile per input channel");
    for o in 0..cout {
        let mut want = Vec::new();
        let mut got = Vec::new();
        for c in 0..cin {
            for y in 0..kh {
                for x in 0..kw {
                    want.push(vals[((y * kw + x) * cin + c) * cout + o]);
                    let p = tile_pixel(&img, &g, o * cin + c, y, x);
                    assert!(p[0] == p[1] && p[1] == p[2], "grey tiles");
                    got.push(p[0]);
                }
            }
        }
        assert_eq!(order(&got), order(&want), "filter {o}");
        // Normalised per filter: its smallest value is black and its largest white.
        assert_eq!((got.iter().min(), got.iter().max()), (Some(&0), Some(&255)), "filter {o}");
    }
}

#[test]
fn rgb_filters_are_one_colour_tile_each() {
    // Distinct values far enough apart to stay distinct as 8-bit colours.
    let vals: Vec<f32> = (0..450).map(|i| ((i * 97) % 450) as f32 * 0.01).collect();
    let kernel = Tensor::from_vec(vals, &[5, 5, 3, 6], &Device::Cpu).unwrap();
    let img = round_trip(&viz::filter_grid(&kernel).unwrap());
    let g = Grid::new(6, 3, [5, 5], 48);
    assert_eq!(img.dimensions(), g.size());
    let v = kernel.to_vec().unwrap();
    for o in 0..6 {
        let want: Vec<f32> = (0..75).map(|i| v[i * 6 + o]).collect();
        let got: Vec<u8> = (0..75).map(|i| tile_pixel(&img, &g, o, i / 15, i / 3 % 5)[i % 3]).collect();
        assert_eq!(order(&got), order(&want), "filter {o}");
    }
    assert!(distinct_colours(&img) > 25, "not constant");
}

fn lenet5() -> Sequential {
    let mut m = tessera::zoo::lenet5();
    m.build(&[28, 28, 1], &Device::Cpu, 7).unwrap();
    m
}

#[test]
fn feature_maps_of_every_conv_layer_tile_per_channel() {
    let m = lenet5();
    let x = Tensor::rand_uniform(&[1, 28, 28, 1], 0.0, 1.0, 5, &Device::Cpu).unwrap();
    let maps = viz::feature_maps(&m, &x, None).unwrap();
    let names: Vec<(&str, &[usize])> = maps.iter().map(|(n, t)| (n.as_str(), t.shape())).collect();
    assert_eq!(names, vec![("conv2d", &[1, 26, 26, 6][..]), ("conv2d_1", &[1, 11, 11, 16][..])]);
    for (_, t) in &maps {
        let [_, h, w, c] = t.shape().try_into().unwrap();
        let img = round_trip(&viz::feature_grid(t).unwrap());
        let g = Grid::new(c, (c as f32).sqrt().ceil() as usize, [h, w], 64);
        assert_eq!(img.width(), g.size().0.max(120));
        assert_eq!(img.height(), g.size().1 + 30, "grid plus the colour bar");
        // Each tile shows its channel on the shared scale: the brightest source pixel of the
        // layer sits in the tile of its channel and is yellow (viridis's top).
        let v = t.to_vec().unwrap();
        let (argmax, _) = v.iter().enumerate().fold((0, f32::MIN), |b, (i, &x)| if x > b.1 { (i, x) } else { b });
        let (p, ch) = (argmax / c, argmax % c);
        assert_eq!(tile_pixel(&img, &g, ch, p / w, p % w), [253, 231, 37]);
        assert!(distinct_colours(&img) > 20);
    }
    let one = viz::feature_maps(&m, &x, Some("re_lu_1")).unwrap();
    assert_eq!(one[0].1.shape(), &[1, 5, 5, 16]);
    assert!(viz::feature_maps(&m, &x, Some("dense")).is_err(), "not image-shaped");
}

/// A model whose class 0 sums the positive part of the image and class 1 the negative part:
/// a 1×1 conv with filters (+1, −1), ReLU, then a dense layer reading channel 0 for class 0
/// and channel 1 for class 1.
fn sign_model(h: usize, w: usize) -> Sequential {
    let mut m = Sequential::new()
        .with(layers::Conv2D::new(2, 1).use_bias(false))
        .with(layers::ReLU::new())
        .with(layers::Flatten::new())
        .with(layers::Dense::new(2).use_bias(false));
    m.build(&[h, w, 1], &Device::Cpu, 0).unwrap();
    let vars = m.variables();
    vars[0].assign(Tensor::from_vec(vec![1.0, -1.0], &[1, 1, 1, 2], &Device::Cpu).unwrap()).unwrap();
    let dense: Vec<f32> = (0..h * w * 2 * 2).map(|i| if (i / 2) % 2 == i % 2 { 1.0 } else { 0.0 }).collect();
    vars[1].assign(Tensor::from_vec(dense, &[h * w * 2, 2], &Device::Cpu).unwrap()).unwrap();
    m
}

fn in_top_left(p: usize, h: usize, w: usize) -> bool {
    p / w < h / 2 && p % w < w / 2
}

#[test]
fn grad_cam_lights_the_quadrant_the_answer_depends_on() {
    let (h, w) = (8, 10);
    let m = sign_model(h, w);
    // Bright texture in the top-left quadrant, faint negative texture elsewhere: the score of
    // class 0 (the predicted one) depends only on the top-left quadrant.
    let noise = Tensor::rand_uniform(&[h * w], 0.5, 1.0, 11, &Device::Cpu).unwrap().to_vec().unwrap();
    let img: Vec<f32> = (0..h * w).map(|p| if in_top_left(p, h, w) { noise[p] } else { -0.1 * noise[p] }).collect();
    let x = Tensor::from_vec(img, &[1, h, w, 1], &Device::Cpu).unwrap();
    let s = viz::saliency(&m, &x, None, None).unwrap();
    assert_eq!((s.class, s.layer.as_str(), s.size), (0, "re_lu", [h, w]));
    let (inside, outside): (Vec<_>, Vec<_>) = (0..h * w).partition(|&p| in_top_left(p, h, w));
    assert!(inside.iter().all(|&p| s.cam[p] > 0.4), "{:?}", s.cam);
    assert!(outside.iter().all(|&p| s.cam[p] == 0.0), "{:?}", s.cam);
    // Explaining class 1 lights the other three quadrants instead.
    let s1 = viz::saliency(&m, &x, None, Some(1)).unwrap();
    assert!(inside.iter().all(|&p| s1.cam[p] == 0.0));
    assert!(outside.iter().all(|&p| s1.cam[p] > 0.04));
    let panels = round_trip(&viz::saliency_image(&x, &s).unwrap());
    let g = Grid::new(3, 3, [h, w], 128);
    assert_eq!(panels.dimensions(), (g.size().0, g.size().1 + 16));
    assert!(distinct_colours(&panels) > 20);
}

#[test]
fn gradient_saliency_is_zero_outside_the_quadrant_a_dense_layer_reads() {
    let (h, w) = (6, 6);
    let mut m = Sequential::new().with(layers::Flatten::new()).with(layers::Dense::new(3));
    m.build(&[h, w, 1], &Device::Cpu, 1).unwrap();
    let k = Tensor::randn(&[h * w, 3], 0.0, 1.0, 2, &Device::Cpu).unwrap().to_vec().unwrap();
    let masked: Vec<f32> = k.iter().enumerate().map(|(i, &v)| if in_top_left(i / 3, h, w) { v } else { 0.0 }).collect();
    m.variables()[0].assign(Tensor::from_vec(masked, &[h * w, 3], &Device::Cpu).unwrap()).unwrap();
    let x = Tensor::rand_uniform(&[1, h, w, 1], 0.0, 1.0, 4, &Device::Cpu).unwrap();
    // No image-shaped layer: Grad-CAM has nothing to weigh.
    assert!(viz::saliency(&m, &x, None, Some(2)).is_err());
    let mut conv_first = Sequential::new().with(layers::Conv2D::new(1, 1).use_bias(false));
    conv_first.add(layers::Flatten::new());
    conv_first.add(layers::Dense::new(3));
    conv_first.build(&[h, w, 1], &Device::Cpu, 1).unwrap();
    let vars = conv_first.variables();
    vars[0].assign(Tensor::ones(&[1, 1, 1, 1], &Device::Cpu).unwrap()).unwrap();
    vars[1].assign(m.variables()[0].value()).unwrap();
    let s = viz::saliency(&conv_first, &x, None, Some(2)).unwrap();
    for p in 0..h * w {
        let want = k[p * 3 + 2].abs();
        match in_top_left(p, h, w) {
            true => assert!(s.gradient[p] > 0.0 && (want > 0.0), "pixel {p}"),
            false => assert_eq!(s.gradient[p], 0.0, "pixel {p}"),
        }
    }
    let top = (0..h * w).filter(|&p| in_top_left(p, h, w)).map(|p| k[p * 3 + 2].abs()).fold(0.0, f32::max);
    let (p, _) = s.gradient.iter().enumerate().fold((0, 0.0), |b, (i, &g)| if g > b.1 { (i, g) } else { b });
    assert_eq!(k[p * 3 + 2].abs(), top, "the largest weight is the brightest pixel");
}

#[test]
fn training_history_csv_and_plot() {
    let rows: Vec<EpochRecord> = (1..=4)
        .map(|e| EpochRecord {
            epoch: e,
            loss: 1.0 / e as f32,
            accuracy: 1.0 - 0.5 / e as f32,
            val_loss: 1.2 / e as f32,
            val_accuracy: 0.9 - 0.5 / e as f32,
            learning_rate: 1e-3 * 0.75f32.powi(e as i32 - 1),
            seconds: 2.0,
        })
        .collect();
    let dir = std::env::temp_dir().join(format!("tessera-viz-{}", std::process::id()));
    let ck = dir.join("run.safetensors");
    for n in 1..=rows.len() {
        viz::write_history(&ck, &rows[..n]).unwrap();
        assert_eq!(viz::read_history(&ck), rows[..n], "after epoch {n}");
    }
    let text = std::fs::read_to_string(dir.join("run.history.csv")).unwrap();
    assert_eq!(text.lines().next(), Some("epoch,loss,accuracy,val_loss,val_accuracy,learning_rate,seconds"));
    assert_eq!(text.lines().count(), 5);
    let png = image::open(dir.join("run.history.png")).unwrap().to_rgb8();
    assert_eq!(png.dimensions(), (720, 300));
    let blue = png.pixels().filter(|p| p.0 == [31, 119, 180]).count();
    let orange = png.pixels().filter(|p| p.0 == [255, 127, 14]).count();
    assert!(blue > 100 && orange > 100, "both curves drawn: {blue} {orange}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn viz_commands_write_pngs_from_a_checkpoint() {
    use tessera::inspect::{viz as run, VizJob};
    let dir = std::env::temp_dir().join(format!("tessera-viz-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ck = dir.join("lenet5.safetensors");
    let m = lenet5();
    tessera::nn::checkpoint::save(&ck, &m.variables(), None, &[]).unwrap();
    // A 40×30 picture of a bright bar; the command resizes it to 28×28.
    let digit =
        image::GrayImage::from_fn(40, 30, |x, y| image::Luma([if (16..24).contains(&x) && y > 3 { 255 } else { 0 }]));
    let pic = dir.join("digit.png");
    digit.save(&pic).unwrap();
    let out = dir.join("out");
    let files = run(&ck, "lenet5", &VizJob::Filters { layer: None }, Some(&out)).unwrap();
    assert_eq!(files, vec![out.join("lenet5.filters.conv2d.png")]);
    assert_eq!(image::open(&files[0]).unwrap().to_rgb8().dimensions(), Grid::new(6, 3, [3, 3], 48).size());
    let files = run(&ck, "lenet5", &VizJob::Filters { layer: Some("conv2d_1".into()) }, Some(&out)).unwrap();
    assert_eq!(image::open(&files[0]).unwrap().to_rgb8().dimensions(), Grid::new(96, 6, [3, 3], 48).size());
    let features = VizJob::Features { image: pic.clone(), layer: None, invert: false };
    let files = run(&ck, "lenet5", &features, None).unwrap();
    assert_eq!(files, vec![dir.join("lenet5.features.conv2d.png"), dir.join("lenet5.features.conv2d_1.png")]);
    for (f, (c, hw)) in files.iter().zip([(6, 26), (16, 11)]) {
        let g = Grid::new(c, (c as f32).sqrt().ceil() as usize, [hw, hw], 64);
        let img = image::open(f).unwrap().to_rgb8();
        assert_eq!(img.dimensions(), (g.size().0.max(120), g.size().1 + 30), "{f:?}");
        assert!(distinct_colours(&img) > 20);
    }
    let saliency = VizJob::Saliency { image: pic, class: Some(3), layer: None, invert: true };
    let files = run(&ck, "lenet5", &saliency, None).unwrap();
    let img = image::open(&files[0]).unwrap().to_rgb8();
    assert_eq!(
        img.dimensions(),
        (Grid::new(3, 3, [28, 28], 128).size().0, Grid::new(3, 3, [28, 28], 128).size().1 + 16)
    );
    assert!(run(&ck, "nope", &VizJob::Filters { layer: None }, None).is_err());
    assert!(run(&ck, "lenet5", &VizJob::Filters { layer: Some("dense".into()) }, None).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}
