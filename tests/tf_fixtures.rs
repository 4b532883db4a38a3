//! TensorFlow 2 reference cases (tests/fixtures/tf_ops.safetensors, written by
//! tools/gen_tf_fixtures.py): every case runs on the CPU device and on the GPU device and both
//! must match TensorFlow's output within 1e-4 relative.

mod common;
use std::collections::HashMap;

use common::*;
use safetensors::{Dtype, SafeTensors};
use tessera::prelude::*;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/tf_ops.safetensors");
const TF_RTOL: f32 = 1e-4;

/// A parsed JSON value (the per-case metadata is small, flat JSON).
#[derive(Debug, Clone)]
enum Json {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    fn parse(text: &str) -> Json {
        let mut p = Parser { s: text.as_bytes(), i: 0 };
        let v = p.value();
        p.ws();
        assert_eq!(p.i, p.s.len(), "trailing characters in metadata {text}");
        v
    }

    fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Obj(kv) => kv.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn str(&self) -> &str {
        match self {
            Json::Str(s) => s,
            v => panic!("expected a string, got {v:?}"),
        }
    }

    fn usize(&self) -> usize {
        match self {
            Json::Num(n) => *n as usize,
            v => panic!("expected a number, got {v:?}"),
        }
    }

    fn isize(&self) -> isize {
        match self {
            Json::Num(n) => *n as isize,
            v => panic!("expected a number, got {v:?}"),
        }
    }

    fn isizes(&self) -> Vec<isize> {
        match self {
            Json::Arr(a) => a.iter().map(Json::isize).collect(),
            v => panic!("expected an array, got {v:?}"),
        }
    }

    fn usizes(&self) -> Vec<usize> {
        match self {
            Json::Arr(a) => a.iter().map(Json::usize).collect(),
            v => panic!("expected an array, got {v:?}"),
        }
    }
}

/// A tiny recursive-descent JSON parser (no escapes beyond `\"` and `\\` are needed here).
struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        self.ws();
        let hit = self.s.get(self.i) == Some(&c);
        self.i += hit as usize;
        hit
    }

    fn value(&mut self) -> Json {
        self.ws();
        match self.s[self.i] {
            b'{' => self
                .seq(b'{', b'}', |p| {
                    let k = p.string();
                    assert!(p.eat(b':'), "expected ':'");
                    (k, p.value())
                })
                .map(Json::Obj)
                .unwrap(),
            b'[' => self.seq(b'[', b']', Parser::value).map(Json::Arr).unwrap(),
            b'"' => Json::Str(self.string()),
            _ => self.word(),
        }
    }

    fn seq<T>(&mut self, open: u8, close: u8, mut item: impl FnMut(&mut Self) -> T) -> Option<Vec<T>> {
        assert!(self.eat(open));
        let mut out = Vec::new();
        if self.eat(close) {
            return Some(out);
        }
        loop {
            out.push(item(self));
            if self.eat(close) {
                return Some(out);
            }
            assert!(self.eat(b','), "expected ',' at byte {}", self.i);
        }
    }

    fn string(&mut self) -> String {
        assert!(self.eat(b'"'));
        let mut out = Vec::new();
        while self.s[self.i] != b'"' {
            if self.s[self.i] == b'\\' {
                self.i += 1;
            }
            out.push(self.s[self.i]);
            self.i += 1;
        }
        self.i += 1;
        String::from_utf8(out).unwrap()
    }

    fn word(&mut self) -> Json {
        let start = self.i;
        while self.i < self.s.len() && !b",]} \n".contains(&self.s[self.i]) {
            self.i += 1;
        }
        match std::str::from_utf8(&self.s[start..self.i]).unwrap() {
            "null" => Json::Null,
            "true" => Json::Bool(true),
            "false" => Json::Bool(false),
            n => Json::Num(n.parse().unwrap_or_else(|_| panic!("bad JSON number {n:?}"))),
        }
    }
}

/// One fixture case: options and its float32 tensors by short name (`x`, `w`, `out`, ...).
struct Case {
    name: String,
    meta: Json,
    tensors: HashMap<String, (Vec<f32>, Vec<usize>)>,
}

impl Case {
    /// Operand `key` as a tensor on `dev`.
    fn t(&self, key: &str, dev: &Device) -> Tensor {
        let (v, s) = self.tensors.get(key).unwrap_or_else(|| panic!("{}: no tensor {key}", self.name));
        Tensor::from_slice(v, s, dev).unwrap()
    }

    fn opt(&self, key: &str) -> &Json {
        self.meta.get(key).unwrap_or_else(|| panic!("{}: no option {key}", self.name))
    }

    fn hw(&self, key: &str) -> [usize; 2] {
        let v = self.opt(key).usizes();
        [v[0], v[1]]
    }

    fn padding(&self) -> Padding {
        match self.opt("padding") {
            Json::Str(s) if s == "VALID" => Padding::Valid,
            Json::Str(s) if s == "SAME" => Padding::Same,
            Json::Arr(a) => {
                let (h, w) = (a[0].usizes(), a[1].usizes());
                Padding::Explicit([[h[0], h[1]], [w[0], w[1]]])
            }
            v => panic!("{}: bad padding {v:?}", self.name),
        }
    }

    fn conv(&self) -> Conv2dOptions {
        Conv2dOptions::default().strides(self.hw("strides")).dilations(self.hw("dilations")).padding(self.padding())
    }

    fn pool(&self) -> PoolOptions {
        PoolOptions::new(self.hw("ksize")).strides(self.hw("strides")).padding(self.padding())
    }

    fn axes(&self) -> Option<Vec<usize>> {
        match self.opt("axes") {
            Json::Null => None,
            v => Some(v.usizes()),
        }
    }

    fn keepdims(&self) -> bool {
        self.flag("keepdims")
    }

    fn flag(&self, key: &str) -> bool {
        matches!(self.opt(key), Json::Bool(true))
    }

    fn num(&self, key: &str) -> f32 {
        match self.opt(key) {
            Json::Num(n) => *n as f32,
            v => panic!("{}: option {key} is not a number: {v:?}", self.name),
        }
    }

    /// A number option (`None` for JSON null).
    fn f32(&self, key: &str) -> Option<f32> {
        match self.opt(key) {
            Json::Null => None,
            Json::Num(n) => Some(*n as f32),
            v => panic!("{}: {key} is not a number: {v:?}", self.name),
        }
    }

    /// A `[[a, b], [c, d]]` option.
    fn sides(&self, key: &str) -> [[usize; 2]; 2] {
        match self.opt(key) {
            Json::Arr(a) => {
                let (h, w) = (a[0].usizes(), a[1].usizes());
                [[h[0], h[1]], [w[0], w[1]]]
            }
            v => panic!("{}: bad {key} {v:?}", self.name),
        }
    }
}

/// The one-input ops whose fixtures carry gradients (`dy` → `dx`) that [`check`] compares.
const ACT_PAD_OPS: [&str; 6] = ["relu6", "leaky_relu", "elu", "keras_relu", "pad2d", "crop2d"];

/// The Keras losses and metrics the fixtures hold (`x` is y_pred, `y` is y_true).
const LOSS_METRIC_OPS: [&str; 8] = [
    "sigmoid_cross_entropy_with_logits",
    "binary_crossentropy",
    "categorical_crossentropy",
    "sparse_categorical_crossentropy",
    "sparse_top_k_categorical_accuracy",
    "top_k_categorical_accuracy",
    "binary_accuracy",
    "categorical_accuracy",
];

/// One of [`ACT_PAD_OPS`], applied to `x`.
fn act_pad(c: &Case, x: &Tensor) -> Result<Tensor> {
    match c.opt("op").str() {
        "relu6" => relu6(x),
        "leaky_relu" => leaky_relu(x, c.num("alpha")),
        "elu" => elu_alpha(x, c.num("alpha")),
        "keras_relu" => relu_ext(x, c.f32("max_value"), c.num("negative_slope"), c.num("threshold")),
        "pad2d" => pad2d(x, c.sides("pads")),
        "crop2d" => crop2d(x, c.sides("crops")),
        other => panic!("{}: unknown op {other}", c.name),
    }
}

/// Every case in the fixture file (keys starting with `__` are file-level notes).
fn load_cases() -> Vec<Case> {
    let bytes = std::fs::read(FIXTURES).expect("tests/fixtures/tf_ops.safetensors (run tools/gen_tf_fixtures.py)");
    let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let meta = header.metadata().clone().expect("fixture metadata");
    let mut cases: Vec<Case> = meta
        .iter()
        .filter(|(k, _)| !k.starts_with("__"))
        .map(|(name, json)| Case { name: name.clone(), meta: Json::parse(json), tensors: HashMap::new() })
        .collect();
    cases.sort_by(|a, b| a.name.cmp(&b.name));
    for (full, view) in st.tensors() {
        let (case, key) = full.split_once('/').expect("tensor names are <case>/<name>");
        assert_eq!(view.dtype(), Dtype::F32, "{full}");
        let data = bytemuck_f32(view.data());
        let c = cases.iter_mut().find(|c| c.name == case).unwrap_or_else(|| panic!("{full}: no metadata"));
        c.tensors.insert(key.to_string(), (data, view.shape().to_vec()));
    }
    cases
}

fn bytemuck_f32(bytes: &[u8]) -> Vec<f32> {
    bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
}

/// Runs the case's op on `dev`; returns the outputs to compare with `out` (and `out_var`).
fn run(c: &Case, dev: &Device) -> Result<Vec<Tensor>> {
    let x = || c.t("x", dev);
    let w = || c.t("w", dev);
    let one = |t: Result<Tensor>| t.map(|t| vec![t]);
    let op = c.opt("op").str();
    match op {
        "conv2d" => one(conv2d(&x(), &w(), &c.conv())),
        "depthwise_conv2d" => one(depthwise_conv2d(&x(), &w(), &c.conv())),
        "separable_conv2d" => one(separable_conv2d(&x(), &w(), &c.t("pw", dev), Some(&c.t("b", dev)), &c.conv())),
        "conv2d_transpose" => one(conv2d_transpose(&x(), &w(), &c.opt("output_shape").usizes(), &c.conv())),
        "max_pool2d" => one(max_pool2d(&x(), &c.pool())),
        "avg_pool2d" => one(avg_pool2d(&x(), &c.pool())),
        "global_avg_pool2d" => one(global_avg_pool2d(&x())),
        "global_max_pool2d" => one(global_max_pool2d(&x())),
        "upsample_nearest2d" => one(upsample_nearest2d(&x(), c.hw("size"))),
        "resize_bilinear" => one(resize_bilinear(&x(), c.hw("size"))),
        "channel_shuffle" => one(channel_shuffle(&x(), c.opt("groups").usize())),
        "moments" => moments(&x(), &c.axes().unwrap(), c.keepdims()).map(|(m, v)| vec![m, v]),
        "batch_normalization" => {
            let (m, v, o, s) = (c.t("mean", dev), c.t("var", dev), c.t("offset", dev), c.t("scale", dev));
            let eps = match c.opt("eps") {
                Json::Num(e) => *e as f32,
                e => panic!("bad eps {e:?}"),
            };
            one(batch_normalization(&x(), &m, &v, Some(&o), Some(&s), eps))
        }
        "matmul" => one(matmul(&x(), &w())),
        "softmax" => one(softmax(&x())),
        "log_softmax" => one(log_softmax(&x())),
        "relu" => one(relu(&x())),
        "sigmoid" => one(sigmoid(&x())),
        "tanh" => one(tanh(&x())),
        "add" => one(add(&x(), &c.t("y", dev))),
        "mul" => one(mul(&x(), &c.t("y", dev))),
        "reduce_sum" => one(reduce_sum(&x(), c.axes().as_deref(), c.keepdims())),
        "reduce_mean" => one(reduce_mean(&x(), c.axes().as_deref(), c.keepdims())),
        "reduce_max" => one(reduce_max(&x(), c.axes().as_deref(), c.keepdims())),
        "argmax" => one(argmax(&x(), c.opt("axis").usize())),
        "concat" => {
            let parts: Vec<Tensor> =
                ["x", "y", "z"].iter().filter(|k| c.tensors.contains_key(**k)).map(|k| c.t(k, dev)).collect();
            one(concat(&parts.iter().collect::<Vec<_>>(), c.opt("axis").usize()))
        }
        "sigmoid_cross_entropy_with_logits" => one(sigmoid_cross_entropy_with_logits(&c.t("y", dev), &x())),
        "binary_crossentropy" => one(binary_crossentropy(&c.t("y", dev), &x(), c.flag("from_logits"))),
        "categorical_crossentropy" => one(categorical_crossentropy(&c.t("y", dev), &x(), c.flag("from_logits"))),
        "sparse_categorical_crossentropy" => {
            one(sparse_categorical_crossentropy(&c.t("y", dev), &x(), c.flag("from_logits")))
        }
        "sparse_top_k_categorical_accuracy" => {
            one(sparse_top_k_categorical_accuracy(&c.t("y", dev), &x(), c.opt("k").usize()))
        }
        "top_k_categorical_accuracy" => one(top_k_categorical_accuracy(&c.t("y", dev), &x(), c.opt("k").usize())),
        "binary_accuracy" => one(binary_accuracy(&c.t("y", dev), &x(), 0.5)),
        "categorical_accuracy" => one(categorical_accuracy(&c.t("y", dev), &x())),
        _ => one(act_pad(c, &x())),
    }
}

/// Runs one case on `dev` and compares every output with TensorFlow's.
fn check(c: &Case, dev: &Device) {
    let outs = run(c, dev).unwrap_or_else(|e| panic!("{} on {dev}: {e}", c.name));
    for (got, key) in outs.iter().zip(["out", "out_var"]) {
        let (want, shape) = &c.tensors[key];
        let what = format!("{} ({key}) on {dev}", c.name);
        assert_eq!(got.shape(), &shape[..], "{what}: shape");
        assert_close_vec(&got.to_vec().unwrap(), want, TF_RTOL, &what);
    }
    if ACT_PAD_OPS.contains(&c.opt("op").str()) {
        let x = c.t("x", dev).variable();
        let loss = reduce_sum(&mul(&act_pad(c, &x).unwrap(), &c.t("dy", dev)).unwrap(), None, false).unwrap();
        let dx = loss.backward().unwrap().get(&x).unwrap().to_vec().unwrap();
        assert_close_vec(&dx, &c.tensors["dx"].0, TF_RTOL, &format!("{} (dx) on {dev}", c.name));
    }
}

#[test]
fn fixture_file_covers_every_op_family() {
    let cases = load_cases();
    let ops: Vec<&str> = cases.iter().map(|c| c.opt("op").str()).collect();
    for op in [
        "conv2d",
        "depthwise_conv2d",
        "separable_conv2d",
        "conv2d_transpose",
        "max_pool2d",
        "avg_pool2d",
        "global_avg_pool2d",
        "global_max_pool2d",
        "upsample_nearest2d",
        "moments",
        "LayerNormalization",
        "GroupNormalization",
        "BatchNormalization",
        "batch_normalization",
        "matmul",
        "softmax",
        "log_softmax",
        "reduce_sum",
        "reduce_mean",
        "reduce_max",
        "argmax",
        "concat",
        "resize_bilinear",
        "channel_shuffle",
        "relu",
        "sigmoid",
        "tanh",
        "add",
        "mul",
        "relu6",
        "leaky_relu",
        "elu",
        "keras_relu",
        "pad2d",
        "crop2d",
    ]
    .into_iter()
    .chain(LOSS_METRIC_OPS)
    {
        assert!(ops.contains(&op), "no fixture case for {op}");
    }
    for c in &cases {
        assert!(c.tensors.contains_key("x") && c.tensors.contains_key("out"), "{}: missing x/out", c.name);
    }
}

/// Runs every case whose op is in `ops` on the CPU and on the GPU.
fn check_ops(ops: &[&str]) {
    let cases = load_cases();
    let mut ran = 0;
    for c in cases.iter().filter(|c| ops.contains(&c.opt("op").str())) {
        check(c, &Device::Cpu);
        check(c, &gpu());
        ran += 1;
    }
    assert!(ran > 0, "no fixture cases for {ops:?}");
}

/// The one-layer model a Keras normalization-layer case describes (epsilon, center, scale and
/// its axis or groups).
fn norm_layer(c: &Case) -> Sequential {
    let (eps, center, scale) = (c.num("epsilon"), c.flag("center"), c.flag("scale"));
    let m = Sequential::new();
    match c.opt("op").str() {
        "LayerNormalization" => m.with(
            layers::LayerNormalization::new().axis(c.opt("axis").isizes()).epsilon(eps).center(center).scale(scale),
        ),
        "GroupNormalization" => {
            m.with(layers::GroupNormalization::new(c.opt("groups").usize()).epsilon(eps).center(center).scale(scale))
        }
        "BatchNormalization" => {
            let axis = c.meta.get("axis").map_or(-1, Json::isize);
            m.with(layers::BatchNormalization::new().axis(axis).epsilon(eps).center(center).scale(scale))
        }
        other => panic!("{}: not a normalization layer: {other}", c.name),
    }
}

/// Runs a normalization-layer case on `dev` with training=True and the case's gamma and beta:
/// the output, the gradients of Σ y·dy for x, gamma and beta, and (BatchNormalization) the
/// moving statistics after the call must all match TensorFlow's, and every stored result is
/// compared.
fn check_layer(c: &Case, dev: &Device) {
    let x = c.t("x", dev).variable();
    let mut m = norm_layer(c);
    m.build(&x.shape()[1..], dev, 0).unwrap();
    let short = |v: &tessera::nn::layers::Param| v.name().rsplit('/').next().unwrap().to_string();
    for v in m.trainable_variables() {
        v.assign(c.t(&short(&v), dev)).unwrap();
    }
    let y = m.call(&x, true).unwrap_or_else(|e| panic!("{} on {dev}: {e}", c.name));
    let grads = reduce_sum(&mul(&y, &c.t("dy", dev)).unwrap(), None, false).unwrap().backward().unwrap();
    let mut got = vec![("out".to_string(), y.clone()), ("grad_x".to_string(), grads.get(&x).unwrap().clone())];
    for v in m.variables() {
        match v.trainable() {
            true => got.push((format!("grad_{}", short(&v)), grads.get(&v.value()).unwrap().clone())),
            false => got.push((short(&v), v.value())),
        }
    }
    let inputs = c.tensors.keys().filter(|k| ["x", "dy", "gamma", "beta"].contains(&k.as_str())).count();
    assert_eq!(got.len() + inputs, c.tensors.len(), "{}: every stored result is compared", c.name);
    for (key, t) in got {
        let (want, shape) = c.tensors.get(&key).unwrap_or_else(|| panic!("{}: TensorFlow has no {key}", c.name));
        let what = format!("{} ({key}) on {dev}", c.name);
        assert_eq!(t.shape(), &shape[..], "{what}: shape");
        assert_close_vec(&t.to_vec().unwrap(), want, TF_RTOL, &what);
    }
}

#[test]
fn normalization_layers_and_their_gradients_match_tensorflow() {
    let cases = load_cases();
    let kinds = ["LayerNormalization", "GroupNormalization", "BatchNormalization"];
    let mut ran = 0;
    for c in cases.iter().filter(|c| kinds.contains(&c.opt("op").str())) {
        check_layer(c, &Device::Cpu);
        check_layer(c, &gpu());
        ran += 1;
    }
    assert!(ran >= 10, "only {ran} normalization-layer cases");
}

#[test]
fn conv2d_matches_tensorflow() {
    check_ops(&["conv2d"]);
}

#[test]
fn depthwise_and_separable_conv2d_match_tensorflow() {
    check_ops(&["depthwise_conv2d", "separable_conv2d"]);
}

#[test]
fn conv2d_transpose_matches_tensorflow() {
    check_ops(&["conv2d_transpose"]);
}

#[test]
fn pooling_matches_tensorflow() {
    check_ops(&["max_pool2d", "avg_pool2d", "global_avg_pool2d", "global_max_pool2d"]);
}

#[test]
fn upsampling_and_normalization_match_tensorflow() {
    check_ops(&["upsample_nearest2d", "moments", "batch_normalization"]);
}

#[test]
fn matmul_softmax_and_elementwise_match_tensorflow() {
    check_ops(&["matmul", "softmax", "log_softmax", "relu", "sigmoid", "tanh", "add", "mul"]);
}

#[test]
fn reductions_argmax_and_concat_match_tensorflow() {
    check_ops(&["reduce_sum", "reduce_mean", "reduce_max", "argmax", "concat"]);
}

#[test]
fn activations_with_gradients_match_tensorflow() {
    check_ops(&["relu6", "leaky_relu", "elu", "keras_relu"]);
}

#[test]
fn pad_and_crop_with_gradients_match_tensorflow() {
    check_ops(&["pad2d", "crop2d"]);
}

#[test]
fn keras_losses_and_metrics_match_tensorflow() {
    check_ops(&LOSS_METRIC_OPS);
}

/// `model.fit` against Keras: the same model, weights, batches and optimizer give the same
/// History (loss and accuracy weighted by batch size, validation after each epoch) and weights.
fn fit_like_keras(c: &Case, dev: &Device) {
    let mut model =
        Sequential::new().with(layers::Dense::new(5).activation(Activation::Relu)).with(layers::Dense::new(3));
    model.build(&[4], dev, 0).unwrap();
    for (var, key) in model.variables().iter().zip(["k1", "b1", "k2", "b2"]) {
        var.assign(c.t(key, dev)).unwrap();
    }
    let loss = Loss::SparseCategoricalCrossentropy { from_logits: true };
    let (x, y, vx, vy) = (c.t("x", dev), c.t("y", dev), c.t("vx", dev), c.t("vy", dev));
    let opts = FitOptions::default().epochs(3).batch_size(4).shuffle(false).validation_data(&vx, &vy).verbose(0);
    let (history, kernel) = match c.opt("optimizer").str() {
        "sgd" => {
            let mut m = model.compile(Sgd::new(0.1), loss, &[Metric::Accuracy]);
            (m.fit(&x, &y, opts).unwrap(), m.model().variables()[2].value())
        }
        _ => {
            let mut m = model.compile(Adam::new(0.01), loss, &[Metric::Accuracy]);
            (m.fit(&x, &y, opts).unwrap(), m.model().variables()[2].value())
        }
    };
    let (want, _) = &c.tensors["out"];
    for (i, key) in ["accuracy", "loss", "val_accuracy", "val_loss"].iter().enumerate() {
        let what = format!("{} {key} on {dev}", c.name);
        assert_close_vec(history.get(key).unwrap(), &want[i * 3..(i + 1) * 3], TF_RTOL, &what);
    }
    let what = format!("{} kernel after fit on {dev}", c.name);
    assert_close_vec(&kernel.to_vec().unwrap(), &c.tensors["kernel_after"].0, TF_RTOL, &what);
}

#[test]
fn fit_history_and_weights_match_keras() {
    let cases = load_cases();
    let fits: Vec<&Case> = cases.iter().filter(|c| c.opt("op").str() == "fit").collect();
    assert_eq!(fits.len(), 2, "the sgd and adam fit cases");
    for c in fits {
        fit_like_keras(c, &Device::Cpu);
        fit_like_keras(c, &gpu());
    }
}

#[test]
fn resize_bilinear_and_channel_shuffle_match_tensorflow() {
    check_ops(&["resize_bilinear", "channel_shuffle"]);
}

/// A gradient case's op on the variables `x` and (for convolutions) `w`.
fn forward(c: &Case, x: &Tensor, w: &Tensor) -> Result<Tensor> {
    match c.opt("op").str() {
        "conv2d" => conv2d(x, w, &c.conv()),
        "resize_bilinear" => resize_bilinear(x, c.hw("size")),
        "channel_shuffle" => channel_shuffle(x, c.opt("groups").usize()),
        other => panic!("{}: no gradient runner for {other}", c.name),
    }
}

/// Compares our gradients of `sum(out · dy)` with TensorFlow's stored `dx` (and `dw`) on `dev`.
fn check_grads(c: &Case, dev: &Device) {
    let x = c.t("x", dev).variable();
    let w = if c.tensors.contains_key("w") { c.t("w", dev).variable() } else { Tensor::zeros(&[1], dev).unwrap() };
    let loss = reduce_sum(&mul(&forward(c, &x, &w).unwrap(), &c.t("dy", dev)).unwrap(), None, false).unwrap();
    let grads = loss.backward().unwrap();
    let mut compared = 0;
    for (key, var) in [("dx", &x), ("dw", &w)] {
        let Some((want, shape)) = c.tensors.get(key) else { continue };
        let got = grads.get(var).unwrap_or_else(|| panic!("{}: no gradient for {key}", c.name));
        let what = format!("{} ({key}) on {dev}", c.name);
        assert_eq!(got.shape(), &shape[..], "{what}: shape");
        assert_close_vec(&got.to_vec().unwrap(), want, TF_RTOL, &what);
        compared += 1;
    }
    assert!(compared > 0, "{}: no stored gradients", c.name);
}

#[test]
fn grouped_conv2d_resize_bilinear_and_shuffle_gradients_match_tensorflow() {
    let cases = load_cases();
    let ops = ["conv2d", "resize_bilinear", "channel_shuffle"];
    let grad_cases: Vec<&Case> =
        cases.iter().filter(|c| c.tensors.contains_key("dy") && ops.contains(&c.opt("op").str())).collect();
    for op in ops {
        assert!(grad_cases.iter().any(|c| c.opt("op").str() == op), "no gradient fixture for {op}");
    }
    for c in grad_cases {
        check_grads(c, &Device::Cpu);
        check_grads(c, &gpu());
    }
}
