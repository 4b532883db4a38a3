//! Native tests of the browser demo's engine and preprocessing: the code the page runs,
//! exercised on the CPU backend and (for parity) on the native GPU adapter.

use tessera::Device;
use tessera_web::engine::{parity_json, parity_report, Net, Trainer, PIXELS};
use tessera_web::preprocess::{ink_from_rgba, mnist_from_ink, mnist_from_rgba, SIDE};

/// A white `w`×`h` RGBA canvas with a black filled rectangle `[x0, x1) × [y0, y1)`.
fn canvas_with_rect(w: usize, h: usize, (x0, y0, x1, y1): (usize, usize, usize, usize)) -> Vec<u8> {
    let mut rgba = vec![255u8; w * h * 4];
    for y in y0..y1 {
        for x in x0..x1 {
            rgba[(y * w + x) * 4..(y * w + x) * 4 + 3].copy_from_slice(&[0, 0, 0]);
        }
    }
    rgba
}

#[test]
fn ink_is_dark_opaque_pixels() {
    let rgba = [0, 0, 0, 255, 255, 255, 255, 255, 0, 0, 0, 0, 51, 51, 51, 255];
    let ink = ink_from_rgba(&rgba, 4, 1);
    assert_eq!(ink[0], 1.0);
    assert_eq!(ink[1], 0.0);
    assert_eq!(ink[2], 0.0, "transparent pixels are paper");
    assert!((ink[3] - 0.8).abs() < 1e-6);
}

#[test]
fn blank_canvas_gives_black_image() {
    let img = mnist_from_rgba(&vec![255u8; 100 * 80 * 4], 100, 80);
    assert_eq!(img.len(), SIDE * SIDE);
    assert!(img.iter().all(|&v| v == 0.0));
}

#[test]
fn tall_stroke_is_scaled_to_20_pixels_and_centred() {
    // A 20-wide, 200-tall bar anywhere on a 280×280 canvas becomes a 2×20 bar in the middle.
    let img = mnist_from_rgba(&canvas_with_rect(280, 280, (30, 50, 50, 250)), 280, 280);
    let rows: Vec<usize> = (0..SIDE).filter(|&y| (0..SIDE).any(|x| img[y * SIDE + x] > 0.5)).collect();
    let cols: Vec<usize> = (0..SIDE).filter(|&x| (0..SIDE).any(|y| img[y * SIDE + x] > 0.5)).collect();
    assert_eq!(rows, (4..24).collect::<Vec<_>>());
    assert_eq!(cols, vec![13, 14]);
    assert!(img.iter().all(|&v| (0.0..=1.0).contains(&v)));
}

#[test]
fn centred_mnist_sized_digit_is_unchanged() {
    // A 20×20 block of ink already centred in a 28×28 image maps onto itself.
    let mut ink = vec![0.0; SIDE * SIDE];
    for y in 4..24 {
        for x in 4..24 {
            ink[y * SIDE + x] = 1.0;
        }
    }
    assert_eq!(mnist_from_ink(&ink, SIDE, SIDE), ink);
}

#[test]
fn classify_gives_probabilities_for_each_image() {
    let net = Net::lenet5(&Device::Cpu, 1).unwrap();
    let px: Vec<f32> = (0..2 * PIXELS).map(|i| (i % 7) as f32 / 7.0).collect();
    let p = pollster::block_on(net.probabilities(&px)).unwrap();
    assert_eq!(p.len(), 20);
    for row in p.chunks(10) {
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5);
    }
}

#[test]
fn bad_image_sizes_are_shape_errors() {
    let net = Net::lenet5(&Device::Cpu, 1).unwrap();
    let err = pollster::block_on(net.probabilities(&[0.0; 783])).unwrap_err();
    assert!(matches!(err, tessera::Error::Shape { .. }), "{err}");
    assert!(Trainer::new(&Device::Cpu, vec![0; 784], vec![10], 1, 1e-3, 0).is_err(), "label 10 accepted");
    assert!(Trainer::new(&Device::Cpu, vec![0; 780], vec![1], 1, 1e-3, 0).is_err(), "short image accepted");
}

#[test]
fn loading_weights_reproduces_the_model() {
    let (a, b) = (Net::lenet5(&Device::Cpu, 1).unwrap(), Net::lenet5(&Device::Cpu, 2).unwrap());
    let bytes = tessera::checkpoint::to_bytes(&a.model().variables(), None, &[]).unwrap();
    b.load_weights(&bytes, "test").unwrap();
    let px: Vec<f32> = (0..PIXELS).map(|i| (i % 5) as f32 / 5.0).collect();
    let (pa, pb) =
        pollster::block_on(async { (a.probabilities(&px).await.unwrap(), b.probabilities(&px).await.unwrap()) });
    assert_eq!(pa, pb);
    assert!(b.load_weights(b"not a checkpoint", "junk").is_err());
}

/// Synthetic, learnable digits: class `c` lights up row band `c` of the image.
fn bands(n: usize) -> (Vec<u8>, Vec<u8>) {
    let mut images = vec![0u8; n * PIXELS];
    let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
    for (i, &l) in labels.iter().enumerate() {
        for y in (2 + 2 * l as usize)..(4 + 2 * l as usize) {
            for x in 4..24 {
                images[i * PIXELS + y * 28 + x] = 255 - (i % 3) as u8 * 40;
            }
        }
    }
    (images, labels)
}

#[test]
fn a_few_training_steps_lower_the_loss() {
    let (images, labels) = bands(200);
    let mut t = Trainer::new(&Device::Cpu, images.clone(), labels.clone(), 20, 3e-3, 0).unwrap();
    let first = pollster::block_on(t.train(1)).unwrap();
    let later = pollster::block_on(t.train(30)).unwrap();
    assert_eq!(t.steps(), 31);
    assert!(later < first * 0.5, "loss {first} -> {later}");
    let acc = pollster::block_on(t.net().evaluate(&images, &labels)).unwrap();
    assert!(acc > 0.8, "accuracy {acc}");
}

#[test]
fn several_steps_resolve_to_the_mean_of_their_losses() {
    let (images, labels) = bands(60);
    let trainer = || Trainer::new(&Device::Cpu, images.clone(), labels.clone(), 20, 3e-3, 5).unwrap();
    let mut one_by_one = trainer();
    let losses: Vec<f32> = (0..3).map(|_| pollster::block_on(one_by_one.train(1)).unwrap()).collect();
    let mut together = trainer();
    let mean = pollster::block_on(together.train(3)).unwrap();
    assert_eq!(together.steps(), 3);
    let expected = losses.iter().sum::<f32>() / 3.0;
    assert!((mean - expected).abs() <= 1e-6 * expected.abs().max(1.0), "{mean} vs mean of {losses:?}");
    assert!(losses[0] != losses[2], "the steps train: {losses:?}");
}

#[test]
fn gpu_steps_resolve_to_the_cpu_steps_losses_while_their_updates_run_on() {
    // The GPU trainer submits each step's loss read ahead of the step's backward pass and
    // update; every loss must still be that step's, and every step must see the last update.
    let (images, labels) = bands(60);
    let losses = |dev: &Device| {
        let mut t = Trainer::new(dev, images.clone(), labels.clone(), 20, 3e-3, 9).unwrap();
        let mut out: Vec<f32> = (0..4).map(|_| pollster::block_on(t.train(1)).unwrap()).collect();
        out.push(pollster::block_on(t.train(2)).unwrap());
        assert_eq!(t.steps(), 6);
        out
    };
    let (cpu, gpu) = (losses(&Device::Cpu), losses(&Device::gpu().unwrap()));
    for (c, g) in cpu.iter().zip(&gpu) {
        assert!((c - g).abs() <= 1e-4 * c.abs().max(1.0), "gpu {gpu:?} vs cpu {cpu:?}");
    }
    assert!(cpu[0] != cpu[3], "the steps train: {cpu:?}");
}

#[test]
fn gpu_matches_cpu_in_the_parity_report() {
    let lines = pollster::block_on(parity_report(&Device::gpu().unwrap())).unwrap();
    assert!(lines.len() > 4);
    for l in &lines {
        assert!(l.max_abs_diff <= 1e-4 * (1.0 + l.max_abs), "{l:?}");
    }
    assert!(parity_json(&lines).starts_with("[{\"name\":\"conv2d"));
}

#[test]
fn feature_map_and_filter_pictures_of_the_first_two_conv_layers() {
    let net = Net::lenet5(&Device::Cpu, 3).unwrap();
    let mut digit = vec![0.0f32; PIXELS];
    (6..22).for_each(|y| digit[y * 28 + 14] = 1.0);
    let pics = pollster::block_on(net.feature_pictures(&digit)).unwrap();
    let names: Vec<&str> = pics.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["conv2d", "conv2d_1"]);
    let grid =
        |c: usize, hw: usize| tessera::viz::canvas::Grid::new(c, (c as f32).sqrt().ceil() as usize, [hw, hw], 64);
    for (p, g) in pics.iter().zip([grid(6, 26), grid(16, 11)]) {
        assert_eq!((p.width, p.height), (g.size().0.max(120), g.size().1 + 30), "{}", p.name);
        assert_eq!(p.rgba.len(), (p.width * p.height * 4) as usize);
        assert!(p.rgba.chunks(4).all(|px| px[3] == 255));
        let colours: std::collections::HashSet<&[u8]> = p.rgba.chunks(4).collect();
        assert!(colours.len() > 20, "{}: not constant", p.name);
    }
    assert!(net.record_feature_maps(&digit[..100], 2).is_err());
    let f = pollster::block_on(net.filter_picture()).unwrap();
    assert_eq!((f.name.as_str(), f.width, f.height), ("conv2d", 3 * 50 + 2, 2 * 50 + 2));
}
