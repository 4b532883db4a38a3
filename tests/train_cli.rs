//! `tessera train` / `predict` / `bench train` plumbing (tests/zoo_train.rs trains every zoo
//! model through the same step): LeNet-5 trains on the real dogs-vs-cats images (fetched
//! with npm), writes a checkpoint with its metadata, resumes, refuses a foreign checkpoint,
//! and `tessera predict` classifies PNG/JPEG files exactly as the model does.

mod common;
use common::*;

use tessera::checkpoint;
use tessera::predict::{describe, load_image, top_k, Predictor};
use tessera::train::{build_model, evaluate, recipe, train, Feed, TrainConfig};
use tessera::zoo;
use tessera::{Device, Tensor};
use tessera_data::{adapt, synthetic, Split};

/// A fresh directory under the system temp dir.
fn temp(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("tessera-train-cli-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn recipes_follow_the_tutorials() {
    let lenet = zoo::by_name("lenet5").unwrap();
    let r = recipe(lenet);
    assert_eq!((r.learning_rate, r.lr_decay, r.batch_size), (1e-3, 0.75, lenet.batch));
    for spec in zoo::catalog() {
        let r = recipe(spec);
        assert_eq!(r.batch_size, spec.batch);
        let lr = if spec.name == "vgg13_cifar" { 1e-4 } else { 1e-3 };
        assert_eq!(r.learning_rate, lr, "{}", spec.name);
    }
}

#[test]
fn lenet5_on_dogs_vs_cats_checkpoints_resumes_and_predicts_image_files() {
    let dev = gpu();
    let dir = temp("dogs");
    let cfg = TrainConfig {
        model: "lenet5".into(),
        dataset: "dogs-vs-cats".into(),
        epochs: 2,
        batch_size: 32,
        lr_decay: 1.0,
        augment: true,
        data_dir: Some(dir.join("data")),
        checkpoint: dir.join("lenet5-dogs.safetensors"),
        progress: false,
        ..TrainConfig::default()
    };
    let report = train(&cfg).unwrap();
    assert_eq!(report.test_accuracy.len(), 2);
    assert!(report.train_loss.iter().all(|l| l.is_finite() && *l < 0.8), "{:?}", report.train_loss);
    assert!(report.test_accuracy.iter().all(|a| (0.0..=1.0).contains(a)));
    let meta = checkpoint::read_metadata(&cfg.checkpoint).unwrap();
    for (k, v) in [("model", "lenet5"), ("dataset", "dogs-vs-cats"), ("classes", "2"), ("epoch", "2")] {
        assert_eq!(meta.get(k).map(String::as_str), Some(v), "metadata {k}");
    }

    // Resuming runs only the missing epoch; another model's checkpoint is refused.
    let resumed = train(&TrainConfig { epochs: 3, resume: true, ..cfg.clone() }).unwrap();
    assert_eq!(resumed.test_accuracy.len(), 1);
    let wrong = TrainConfig { model: "mlp".into(), resume: true, ..cfg.clone() };
    let e = train(&wrong).unwrap_err().to_string();
    assert!(e.contains("lenet5 trained on dogs-vs-cats, not mlp"), "{e}");

    // predict: a validation image saved as PNG gives the model's own probabilities.
    let val = tessera::train::load("dogs-vs-cats", Split::Test, None, cfg.data_dir.as_deref()).unwrap();
    let spec = zoo::by_name("lenet5").unwrap();
    let model = build_model(spec, spec.input, 2, &dev, 9).unwrap();
    checkpoint::load(&cfg.checkpoint, &model.variables(), None).unwrap();
    let mut files = Vec::new();
    for (i, ext) in [(0, "png"), (399, "png"), (5, "jpg")] {
        let px: Vec<u8> = val.image(i).unwrap().iter().map(|v| (v * 255.0).round() as u8).collect();
        let path = dir.join(format!("img{i}.{ext}"));
        image::RgbImage::from_raw(32, 32, px).unwrap().save(&path).unwrap();
        files.push(path);
    }
    let p = Predictor::load("lenet5", &cfg.checkpoint, &dev).unwrap();
    assert_eq!(p.class_names(), ["dog", "cat"]);
    let probs = p.probabilities(&files).unwrap();
    for (k, i) in [(0, 0), (1, 399)] {
        let x = adapt::adapt_images(val.image(i).unwrap(), [32, 32, 3], spec.input).unwrap();
        let x = Tensor::from_vec(x, &[1, 28, 28, 1], &dev).unwrap();
        let want = tessera::nn::ops::softmax(&model.layer().call(&x, false).unwrap()).unwrap();
        assert_close_vec(&probs[k], &want.to_vec().unwrap(), 1e-4, "predict vs model on a PNG");
    }
    // The JPEG is lossy: a valid distribution, close to the original's.
    assert!((probs[2].iter().sum::<f32>() - 1.0).abs() < 1e-5);
    assert_eq!(load_image(&files[2], spec.input).unwrap().len(), 28 * 28);

    // The line printed per image: the top classes, most probable first.
    let best = top_k(&probs[0], 2);
    assert!(best[0].1 >= best[1].1 && best[0].0 != best[1].0);
    let names = ["dog".to_string(), "cat".to_string()];
    let line = describe(&files[0], &probs[0], &names, 2);
    let (a, b) = (best[0], best[1]);
    let want =
        format!("{}: {} {:.1}%, {} {:.1}%", files[0].display(), names[a.0], a.1 * 100.0, names[b.0], b.1 * 100.0);
    assert_eq!(line, want);
    // The command line runs the same (in-process), and rejects a missing --weights.
    let mut args = vec!["tessera".into(), "predict".into(), "lenet5".into(), "--weights".into()];
    args.push(cfg.checkpoint.clone().into_os_string());
    args.extend(files.iter().map(|f| f.clone().into_os_string()));
    tessera::cli::run_args(args).unwrap();
    let e = tessera::cli::run_args(["tessera", "predict", "lenet5", "x.png"]).unwrap_err().to_string();
    assert!(e.contains("--weights"), "{e}");

    // Wrong model for the weights, and unreadable images, are errors naming the file.
    let e = Predictor::load("mlp", &cfg.checkpoint, &dev).err().unwrap().to_string();
    assert!(e.contains("holds weights of lenet5, not mlp"), "{e}");
    let bad = dir.join("not-an-image.png");
    std::fs::write(&bad, b"hello").unwrap();
    let e = p.probabilities(std::slice::from_ref(&bad)).unwrap_err().to_string();
    assert!(e.contains("not-an-image.png"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn evaluation_adapts_inputs_and_never_augments() {
    let dev = Device::Cpu;
    let spec = zoo::by_name("lenet5").unwrap();
    let data = synthetic(10, [32, 32, 3], 2, 4).unwrap();
    let model = build_model(spec, spec.input, 2, &dev, 2).unwrap();
    let plain = Feed { input: spec.input, augment: false };
    let a = evaluate(model.layer(), &data, plain, &dev, 4).unwrap();
    let b = evaluate(model.layer(), &data, Feed { augment: true, ..plain }, &dev, 3).unwrap();
    assert!((a.0 - b.0).abs() < 1e-5 && (a.1 - b.1).abs() < 1e-6, "{a:?} vs {b:?}");
    // The same numbers from the model on the adapted images, one at a time.
    let (mut loss, mut hits) = (0.0, 0.0);
    for i in 0..10 {
        let x = adapt::adapt_images(data.image(i).unwrap(), [32, 32, 3], [28, 28, 1]).unwrap();
        let logits = model.layer().call(&Tensor::from_vec(x, &[1, 28, 28, 1], &dev).unwrap(), false).unwrap();
        let z = logits.to_vec().unwrap();
        let label = data.labels()[i] as usize;
        let lse = z.iter().map(|v| v.exp()).sum::<f32>().ln();
        loss += lse - z[label];
        hits += if z[label] >= z[1 - label] { 1.0 } else { 0.0 };
    }
    assert!((a.0 - loss / 10.0).abs() < 1e-4 && (a.1 - hits / 10.0).abs() < 1e-6, "{a:?} vs {loss} {hits}");
}

#[test]
fn bench_train_takes_any_zoo_name_and_lists_them_on_error() {
    let _ = gpu();
    let e = tessera::bench::run("train", Some("no-such-net"), 1, "", None).unwrap_err().to_string();
    for spec in zoo::catalog() {
        assert!(e.contains(spec.name), "{e} does not list {}", spec.name);
    }
    let e = tessera::bench::run("train", None, 1, "", None).unwrap_err().to_string();
    assert!(e.contains("lenet5"), "{e}");
    tessera::bench::run("train", Some("mlp"), 1, "", None).unwrap();
    // The parameter count that decides whether the CPU path is timed is the built model's.
    let mlp = zoo::by_name("mlp").unwrap();
    let built = build_model(mlp, mlp.input, mlp.classes, &Device::Cpu, 0).unwrap();
    assert_eq!(built.count_params(), 335_114);
    assert!(tessera::bench::peak_rss_kib().is_some_and(|k| k > 1024));
}
