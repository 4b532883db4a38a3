//! The zoo's `keras.applications` twins against Keras itself: every layer's name, class,
//! output shape, parameter count and trainable parameter count, and the model totals, from
//! `tests/fixtures/keras_zoo.json` (written by `tools/gen_keras_zoo_fixtures.py`).

use serde_json::Value;
use tessera::functional::Model;
use tessera::layers::{clear_session, Param};
use tessera::zoo;

/// The fixture of Keras model `key`.
fn fixture(key: &str) -> Value {
    let text = include_str!("fixtures/keras_zoo.json");
    let all: Value = serde_json::from_str(text).expect("keras_zoo.json parses");
    all[key].clone()
}

/// The fixture's `input_shape` argument, or Keras's default `size`×`size`×3.
fn input_shape(f: &Value, size: usize) -> Vec<usize> {
    match f["args"]["input_shape"].as_array() {
        Some(a) => a.iter().map(|v| v.as_u64().unwrap() as usize).collect(),
        None => vec![size, size, 3],
    }
}

/// The fixture's `classes` argument (Keras's default 1000).
fn classes(f: &Value) -> usize {
    f["args"]["classes"].as_u64().unwrap_or(1000) as usize
}

fn count(vars: &[Param], trainable_only: bool) -> usize {
    vars.iter().filter(|v| v.trainable() || !trainable_only).map(Param::numel).sum()
}

/// Asserts `model` has Keras's layers (in Keras's order) and totals.
fn assert_matches(model: &Model, f: &Value) {
    let want = f["layers"].as_array().unwrap();
    let (inputs, layers): (Vec<&Value>, Vec<&Value>) = want.iter().partition(|l| l["class"] == "InputLayer");
    assert_eq!(inputs.len(), model.inputs().len(), "inputs");
    for (w, got) in inputs.iter().zip(model.inputs()) {
        assert_eq!(w["name"], got.producer(), "input name");
        assert_eq!(w["shape"], serde_json::json!(got.shape()), "input shape");
    }
    let got = model.layers();
    let names: Vec<String> = got.iter().map(|l| l.name()).collect();
    assert_eq!(layers.len(), got.len(), "number of layers; ours: {names:?}");
    for (i, (w, l)) in layers.iter().zip(got).enumerate() {
        let vars = l.variables();
        let ours = serde_json::json!({
            "name": l.name(),
            "class": l.kind(),
            "shape": l.output_shape().unwrap(),
            "params": count(&vars, false),
            "trainable": count(&vars, true),
        });
        assert_eq!(&ours, *w, "layer {i} differs from Keras's");
    }
    let vars = model.variables();
    assert_eq!(count(&vars, false), f["total"].as_u64().unwrap() as usize, "total parameters");
    assert_eq!(count(&vars, true), f["trainable"].as_u64().unwrap() as usize, "trainable parameters");
}

/// Builds the zoo twin with `make(input shape, classes)` in a fresh session and compares it
/// with fixture `key` (default input `size`).
fn check(key: &str, size: usize, make: impl Fn(&[usize], usize) -> tessera::Result<Model>) {
    let f = fixture(key);
    assert!(f.is_object(), "fixture {key} missing");
    clear_session();
    let model = make(&input_shape(&f, size), classes(&f)).unwrap();
    assert_matches(&model, &f);
}

#[test]
fn resnet50_is_keras_resnet50() {
    check("resnet50", 224, zoo::resnet50);
}

#[test]
fn resnet50_64x64_10_classes_is_keras_resnet50() {
    check("resnet50_64_c10", 224, zoo::resnet50);
}

#[test]
fn resnet101_is_keras_resnet101() {
    check("resnet101", 224, zoo::resnet101);
}

#[test]
fn vgg16_is_keras_vgg16() {
    check("vgg16", 224, zoo::vgg16);
}

#[test]
fn vgg19_is_keras_vgg19() {
    check("vgg19", 224, zoo::vgg19);
}

#[test]
fn mobilenet_v2_is_keras_mobilenet_v2() {
    check("mobilenet_v2", 224, |s, c| zoo::mobilenet_v2(s, c, 1.0));
}

#[test]
fn mobilenet_v2_alpha_half_96x96_is_keras_mobilenet_v2() {
    check("mobilenet_v2_a0.5_96_c10", 224, |s, c| zoo::mobilenet_v2(s, c, 0.5));
}

#[test]
fn densenet121_is_keras_densenet121() {
    check("densenet121", 224, zoo::densenet121);
}

#[test]
fn xception_is_keras_xception() {
    check("xception", 299, zoo::xception);
}

#[test]
fn inception_v3_is_keras_inception_v3() {
    check("inception_v3", 299, zoo::inception_v3);
}
