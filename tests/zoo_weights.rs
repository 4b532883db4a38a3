//! Keras weights in zoo models: files written by `tools/keras_to_safetensors.py` (fixtures
//! from `tools/gen_keras_weights_fixtures.py`) load by Keras variable path, and the Keras
//! model and its Tessera twin give the same inference outputs on the CPU and the GPU; files
//! that do not fit are rejected with an error naming every problem.

mod common;

use std::path::PathBuf;

use common::{assert_close_vec, gpu};
use safetensors::SafeTensors;
use tessera::functional::{input_named, Apply, Model};
use tessera::layers::{self, clear_session, Layer};
use tessera::prelude::{Device, Padding, Tensor};
use tessera::zoo::{self, load_keras_weights};

/// Little-endian float32 values.
fn f32s(bytes: &[u8]) -> Vec<f32> {
    bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures").join(name)
}

/// Keras's input batch and inference output for model `key`.
fn keras_io(key: &str) -> ((Vec<f32>, Vec<usize>), Vec<f32>) {
    let bytes = std::fs::read(fixture("keras_weights_io.safetensors")).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let read = |n: &str| {
        let v = st.tensor(n).unwrap();
        (f32s(v.data()), v.shape().to_vec())
    };
    (read(&format!("{key}/x")), read(&format!("{key}/y")).0)
}

/// The model of `tools/gen_keras_weights_fixtures.py`'s `small_functional`, layer for layer.
fn small_functional() -> Model {
    fn named<L: Layer>(mut l: L, n: &str) -> L {
        l.set_name(n.into());
        l
    }
    let inp = input_named(&[12, 10, 3], "image");
    let a = named(layers::Conv2D::new(8, 3).padding(Padding::Same), "conv_a").apply(&inp).unwrap();
    let a = named(layers::BatchNormalization::new(), "bn_a").apply(&a).unwrap();
    let a = named(layers::ReLU::new(), "relu_a").apply(&a).unwrap();
    let b = named(layers::DepthwiseConv2D::new(3).padding(Padding::Same), "dw_b").apply(&inp).unwrap();
    let b = named(layers::Conv2D::new(8, 1), "pw_b").apply(&b).unwrap();
    let s = layers::Add::new().name("add").apply_many(&[&a, &b]).unwrap();
    let p = named(layers::MaxPool2D::new(2), "pool").apply(&s).unwrap();
    let q = named(layers::SeparableConv2D::new(6, 3).strides(2).padding(Padding::Same), "sep").apply(&s).unwrap();
    let c = layers::Concatenate::new().name("concat").apply_many(&[&p, &q]).unwrap();
    let g = named(layers::GlobalAveragePooling2D::new(), "gap").apply(&c).unwrap();
    let out = layers::Dense::new(5).name("logits").apply(&g).unwrap();
    Model::new(&[&inp], &[&out]).unwrap().named("small_functional")
}

/// Loads `file` into `model` built on `device` and compares its inference output on
/// Keras's input with Keras's output.
fn check_parity(mut model: Model, file: &str, key: &str, device: &Device) {
    model.build(device, 7).unwrap();
    load_keras_weights(&model, &fixture(file)).unwrap();
    let ((x, shape), want) = keras_io(key);
    let y = model.call(&Tensor::from_vec(x, &shape, device).unwrap(), false).unwrap();
    assert_close_vec(&y.to_vec().unwrap(), &want, 1e-4, &format!("{key} on {device:?}"));
}

fn mobilenet() -> Model {
    clear_session();
    zoo::mobilenet_v2(&[32, 32, 3], 10, 0.35).unwrap()
}

#[test]
fn keras_mobilenet_v2_weights_give_keras_outputs_on_cpu() {
    check_parity(mobilenet(), "keras_mobilenet_v2.safetensors", "mobilenet_v2", &Device::Cpu);
}

#[test]
fn keras_mobilenet_v2_weights_give_keras_outputs_on_gpu() {
    check_parity(mobilenet(), "keras_mobilenet_v2.safetensors", "mobilenet_v2", &gpu());
}

#[test]
fn keras_small_functional_weights_give_keras_outputs_on_cpu_and_gpu() {
    for device in [Device::Cpu, gpu()] {
        check_parity(small_functional(), "keras_small_functional.safetensors", "small_functional", &device);
    }
}

#[test]
fn weights_that_do_not_fit_are_rejected_naming_every_problem() {
    // 11 classes instead of 10: the head is mis-shaped.
    clear_session();
    let mut m = zoo::mobilenet_v2(&[32, 32, 3], 11, 0.35).unwrap();
    m.build(&Device::Cpu, 0).unwrap();
    let before = m.get_layer("Conv1").unwrap().variables()[0].value().to_vec().unwrap();
    let err = load_keras_weights(&m, &fixture("keras_mobilenet_v2.safetensors")).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, tessera::Error::File { .. }), "{err:?}");
    assert!(msg.contains("'predictions/kernel' has shape [1280, 10] in the file but [1280, 11]"), "{msg}");
    assert!(msg.contains("'predictions/bias' has shape [10] in the file but [11]"), "{msg}");
    // nothing was loaded: all or nothing
    assert_eq!(m.get_layer("Conv1").unwrap().variables()[0].value().to_vec().unwrap(), before);

    // the small model's file in MobileNetV2: every MobileNetV2 variable missing, every file
    // variable unexpected
    let err = load_keras_weights(&m, &fixture("keras_small_functional.safetensors")).unwrap_err().to_string();
    assert!(err.contains("missing variable 'Conv1/kernel' [3, 3, 3, 16]"), "{err}");
    assert!(err.contains("unexpected variable 'conv_a/kernel'"), "{err}");

    let mut small = small_functional();
    small.build(&Device::Cpu, 0).unwrap();
    let err = load_keras_weights(&small, &fixture("no_such_file.safetensors")).unwrap_err();
    assert!(matches!(err, tessera::Error::File { .. }), "{err:?}");
    let err = load_keras_weights(&small, &fixture("keras_zoo.json")).unwrap_err().to_string();
    assert!(err.contains("not a valid safetensors file"), "{err}");
}

#[test]
fn sequential_model_paths_with_the_model_prefix_load() {
    // Keras saves a Sequential's variables as `sequential/dense/kernel`.
    let mut m = tessera::models::Sequential::new().named("sequential").with(layers::Dense::new(2).name("dense"));
    m.build(&[3], &Device::Cpu, 0).unwrap();
    let kernel: Vec<f32> = (0..6).map(|i| i as f32 * 0.5 - 1.0).collect();
    let bias = vec![0.25f32, -0.75];
    let le = |v: &[f32]| -> Vec<u8> { v.iter().flat_map(|f| f.to_le_bytes()).collect() };
    let (kb, bb) = (le(&kernel), le(&bias));
    let views = [("sequential/dense/kernel", &kb, vec![3, 2]), ("sequential/dense/bias", &bb, vec![2])];
    let data: Vec<(String, safetensors::tensor::TensorView)> = views
        .iter()
        .map(|(n, b, s)| {
            let view = safetensors::tensor::TensorView::new(safetensors::Dtype::F32, s.clone(), b);
            (n.to_string(), view.unwrap())
        })
        .collect();
    let bytes = safetensors::serialize(data, None).unwrap();
    tessera::checkpoint::keras_weights_from_bytes(&bytes, "mem", &m.variables(), m.name()).unwrap();
    let x = Tensor::from_vec(vec![1.0, 2.0, 3.0], &[1, 3], &Device::Cpu).unwrap();
    let y = m.call(&x, false).unwrap().to_vec().unwrap();
    // y = x · kernel + bias, by hand: kernel rows [-1, -0.5], [0, 0.5], [1, 1.5]
    assert_eq!(y, vec![-1.0 + 0.0 + 3.0 + 0.25, -0.5 + 1.0 + 4.5 - 0.75]);
}
