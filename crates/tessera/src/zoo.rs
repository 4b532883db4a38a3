//! Ready-made models from the tutorials Tessera's users know, and the `keras.applications`
//! networks with Keras's exact structure ([`keras_apps`]); every entry is in [`catalog`].
//! Classifier heads output logits (no softmax).

pub mod keras_apps;
pub mod tutorial;

pub use keras_apps::{densenet121, inception_v3, mobilenet_v2, resnet101, resnet50, vgg, vgg16, vgg19, xception};
#[cfg(not(target_arch = "wasm32"))]
pub use tessera_nn::checkpoint::load_keras_weights;
pub use tutorial::{
    alexnet, googlenet, resnet18, resnet18_cifar, resnet34, resnet34_cifar, shufflenet, shufflenet_unit, vgg13_cifar,
};

use tessera_nn::analysis::{LayerStats, ReceptiveField};
use tessera_nn::functional::{Apply, Model, SymbolicTensor};
use tessera_nn::layers::{self, Layer, Param};
use tessera_nn::models::Sequential;
use tessera_nn::ops::{add_activation, relu};
use tessera_nn::{shape_err, Activation, Device, Padding, Result, Tensor};

/// A zoo network, ready to build: a `Sequential` stack (with its input shape) or a
/// functional `Model`.
pub enum ZooModel {
    /// A layer stack and the input shape it is built for (no batch dimension).
    Sequential(Sequential, Vec<usize>),
    /// A functional graph (its inputs carry their shapes).
    Functional(Model),
}

impl ZooModel {
    /// Every layer's output shape, receptive field and multiply-adds.
    pub fn layer_stats(&self) -> Vec<LayerStats> {
        match self {
            ZooModel::Sequential(m, _) => m.layer_stats(),
            ZooModel::Functional(m) => m.layer_stats(),
        }
    }

    /// The receptive-field and multiply-add table.
    pub fn analysis(&self) -> String {
        match self {
            ZooModel::Sequential(m, _) => m.analysis(),
            ZooModel::Functional(m) => m.analysis(),
        }
    }

    /// Creates the variables on `device` from `seed`.
    pub fn build(&mut self, device: &Device, seed: u64) -> Result<()> {
        match self {
            ZooModel::Sequential(m, shape) => m.build(shape, device, seed),
            ZooModel::Functional(m) => m.build(device, seed),
        }
    }

    /// The model as a layer (call it, list its variables).
    pub fn layer(&self) -> &dyn Layer {
        match self {
            ZooModel::Sequential(m, _) => m,
            ZooModel::Functional(m) => m,
        }
    }

    /// The model as a mutable layer.
    pub fn layer_mut(&mut self) -> &mut dyn Layer {
        match self {
            ZooModel::Sequential(m, _) => m,
            ZooModel::Functional(m) => m,
        }
    }

    /// Keras's `model.summary()`.
    pub fn summary(&self) -> String {
        match self {
            ZooModel::Sequential(m, _) => m.summary(),
            ZooModel::Functional(m) => m.summary(),
        }
    }

    /// Every variable.
    pub fn variables(&self) -> Vec<Param> {
        self.layer().variables()
    }

    /// Total number of scalars in every variable.
    pub fn count_params(&self) -> usize {
        self.variables().iter().map(Param::numel).sum()
    }
}

/// A zoo entry: its CLI name, what it follows, its usual input and batch, and its constructor.
pub struct ZooSpec {
    /// The name `tessera train <name>` takes.
    pub name: &'static str,
    /// The paper or tutorial it follows.
    pub about: &'static str,
    /// The usual input shape (h, w, c).
    pub input: [usize; 3],
    /// The usual number of classes.
    pub classes: usize,
    /// The usual training batch size.
    pub batch: usize,
    /// Builds the (unbuilt) model for an input shape and a number of classes.
    pub make: fn(&[usize], usize) -> Result<ZooModel>,
}

impl ZooSpec {
    /// The model for `input` (h, w, c) and `classes` (the usual ones where `None`), with its
    /// shapes inferred (a Sequential entry is built on the CPU to know them).
    pub fn instantiate(&self, input: Option<&[usize]>, classes: Option<usize>) -> Result<ZooModel> {
        let shape = input.unwrap_or(&self.input);
        let mut m = (self.make)(shape, classes.unwrap_or(self.classes))?;
        if let ZooModel::Sequential(..) = m {
            m.build(&Device::Cpu, 0)?;
        }
        Ok(m)
    }
}

/// Parses an input shape written `H,W,C` (e.g. `32,32,3`).
pub fn parse_shape(text: &str) -> Result<Vec<usize>> {
    let dims: Option<Vec<usize>> = text.split(',').map(|d| d.trim().parse().ok().filter(|&d| d > 0)).collect();
    match dims {
        Some(d) if d.len() == 3 => Ok(d),
        _ => Err(shape_err("zoo", format!("input shape '{text}' is not H,W,C (three positive integers)"))),
    }
}

/// A catalog entry for a functional constructor `make(shape, classes)`.
macro_rules! entry {
    ($name:literal, $about:literal, $input:expr, $classes:literal, $batch:literal, $make:expr) => {
        ZooSpec {
            name: $name,
            about: $about,
            input: $input,
            classes: $classes,
            batch: $batch,
            make: |shape, classes| functional($make(shape, classes)),
        }
    };
}

/// Every zoo model, in the order `tessera` lists them.
pub fn catalog() -> &'static [ZooSpec] {
    &[
        ZooSpec {
            name: "lenet5",
            about: "LeNet-5 as in the TensorFlow tutorial (LeCun et al. 1998)",
            input: [28, 28, 1],
            classes: 10,
            batch: 32,
            make: |shape, classes| Ok(ZooModel::Sequential(lenet5_for(classes), shape.to_vec())),
        },
        ZooSpec {
            name: "mlp",
            about: "a 784-256-256-256-10 dense network",
            input: [28, 28, 1],
            classes: 10,
            batch: 32,
            make: |shape, classes| Ok(ZooModel::Sequential(mlp_for(classes), shape.to_vec())),
        },
        ZooSpec {
            name: "resnet18_cifar_bn_shortcut",
            about: "ResNet-18 for CIFAR with bias-free convs and a BatchNorm shortcut (He et al. 2016)",
            input: [32, 32, 3],
            classes: 10,
            batch: 8,
            make: |shape, classes| Ok(ZooModel::Sequential(resnet18_cifar_bn_shortcut(classes), shape.to_vec())),
        },
        entry!(
            "alexnet",
            "AlexNet (Krizhevsky et al. 2012), with dropout",
            [224, 224, 3],
            1000,
            128,
            tutorial::alexnet
        ),
        entry!("vgg11", "VGG-11 (Simonyan & Zisserman 2015)", [224, 224, 3], 1000, 32, |s, c| vgg(11, false, s, c)),
        entry!("vgg11_bn", "VGG-11 with BatchNorm", [224, 224, 3], 1000, 32, |s, c| vgg(11, true, s, c)),
        entry!("vgg13", "VGG-13 (Simonyan & Zisserman 2015)", [224, 224, 3], 1000, 32, |s, c| vgg(13, false, s, c)),
        entry!("vgg13_bn", "VGG-13 with BatchNorm", [224, 224, 3], 1000, 32, |s, c| vgg(13, true, s, c)),
        entry!("vgg16", "keras.applications.VGG16 (Simonyan & Zisserman 2015)", [224, 224, 3], 1000, 32, vgg16),
        entry!("vgg16_bn", "VGG-16 with BatchNorm", [224, 224, 3], 1000, 32, |s, c| vgg(16, true, s, c)),
        entry!("vgg19", "keras.applications.VGG19 (Simonyan & Zisserman 2015)", [224, 224, 3], 1000, 32, vgg19),
        entry!("vgg19_bn", "VGG-19 with BatchNorm", [224, 224, 3], 1000, 32, |s, c| vgg(19, true, s, c)),
        entry!("vgg13_cifar", "the tutorial's VGG-13 for CIFAR-100", [32, 32, 3], 100, 128, tutorial::vgg13_cifar),
        entry!("resnet18", "ResNet-18, basic blocks (He et al. 2016)", [224, 224, 3], 1000, 32, tutorial::resnet18),
        entry!("resnet34", "ResNet-34, basic blocks (He et al. 2016)", [224, 224, 3], 1000, 32, tutorial::resnet34),
        entry!(
            "resnet18_cifar",
            "the tutorial's ResNet-18 for CIFAR-100",
            [32, 32, 3],
            100,
            128,
            tutorial::resnet18_cifar
        ),
        entry!(
            "resnet34_cifar",
            "the tutorial's ResNet-34 for CIFAR-100",
            [32, 32, 3],
            100,
            128,
            tutorial::resnet34_cifar
        ),
        entry!("resnet50", "keras.applications.ResNet50 (He et al. 2016)", [224, 224, 3], 1000, 32, resnet50),
        entry!("resnet101", "keras.applications.ResNet101 (He et al. 2016)", [224, 224, 3], 1000, 32, resnet101),
        entry!(
            "googlenet",
            "GoogLeNet / Inception-v1 (Szegedy et al. 2015)",
            [224, 224, 3],
            1000,
            32,
            tutorial::googlenet
        ),
        entry!(
            "shufflenet",
            "ShuffleNet g=3 for CIFAR (Zhang et al. 2018): grouped 1x1 convs and channel shuffle",
            [32, 32, 3],
            100,
            128,
            shufflenet
        ),
        entry!(
            "densenet121",
            "keras.applications.DenseNet121 (Huang et al. 2017)",
            [224, 224, 3],
            1000,
            32,
            densenet121
        ),
        entry!(
            "mobilenet_v2",
            "keras.applications.MobileNetV2, alpha 1 (Sandler et al. 2018)",
            [224, 224, 3],
            1000,
            32,
            |s, c| mobilenet_v2(s, c, 1.0)
        ),
        entry!("mobilenet_v2_0.35", "keras.applications.MobileNetV2, alpha 0.35", [224, 224, 3], 1000, 32, |s, c| {
            mobilenet_v2(s, c, 0.35)
        }),
        entry!(
            "inception_v3",
            "keras.applications.InceptionV3 (Szegedy et al. 2016)",
            [299, 299, 3],
            1000,
            32,
            inception_v3
        ),
        entry!("xception", "keras.applications.Xception (Chollet 2017)", [299, 299, 3], 1000, 32, xception),
    ]
}

/// Names a layer (Keras's `name=` argument).
fn named<L: Layer>(mut layer: L, name: &str) -> L {
    layer.set_name(name.to_string());
    layer
}

/// Calls `layer`, named `name`, on `x`.
fn call<L: Layer + 'static>(layer: L, name: &str, x: &SymbolicTensor) -> Result<SymbolicTensor> {
    named(layer, name).apply(x)
}

/// Calls the merge `layer`, named `name`, on `xs`.
fn call_many<L: Layer + 'static>(layer: L, name: &str, xs: &[&SymbolicTensor]) -> Result<SymbolicTensor> {
    named(layer, name).apply_many(xs)
}

/// A BatchNormalization with `epsilon` (Keras's applications use 1.001e-5 or 1e-3).
fn bn(epsilon: f32) -> layers::BatchNormalization {
    layers::BatchNormalization::new().epsilon(epsilon)
}

/// `layers.Activation("relu")`.
fn relu_layer() -> layers::Activation {
    layers::Activation::new(Activation::Relu)
}

/// The classifier head `Dense(classes, name="predictions")` (logits) and the model from
/// `inp` to it, named `name`.
fn classifier(inp: &SymbolicTensor, x: &SymbolicTensor, classes: usize, name: &str) -> Result<Model> {
    let out = call(layers::Dense::new(classes), "predictions", x)?;
    Ok(Model::new(&[inp], &[&out])?.named(name))
}

/// Wraps a functional constructor's result as a zoo model.
fn functional(m: Result<Model>) -> Result<ZooModel> {
    m.map(ZooModel::Functional)
}

/// The zoo entry called `name`, or an error listing the names there are.
pub fn by_name(name: &str) -> Result<&'static ZooSpec> {
    catalog().iter().find(|s| s.name == name).ok_or_else(|| {
        let names: Vec<&str> = catalog().iter().map(|s| s.name).collect();
        shape_err("zoo", format!("no model '{name}'; the zoo has {}", names.join(", ")))
    })
}

/// The TensorFlow tutorial's LeNet-5 variant for 28×28×1 inputs (60,074 parameters):
/// Conv2D(6,3) → MaxPool(2) → ReLU → Conv2D(16,3) → MaxPool(2) → ReLU → Flatten →
/// Dense(120, relu) → Dense(84, relu) → Dense(10) (logits).
pub fn lenet5() -> Sequential {
    lenet5_for(10)
}

/// LeNet-5 with `classes` outputs.
fn lenet5_for(classes: usize) -> Sequential {
    Sequential::new()
        .named("lenet5")
        .with(layers::Conv2D::new(6, 3))
        .with(layers::MaxPool2D::new(2))
        .with(layers::ReLU::new())
        .with(layers::Conv2D::new(16, 3))
        .with(layers::MaxPool2D::new(2))
        .with(layers::ReLU::new())
        .with(layers::Flatten::new())
        .with(layers::Dense::new(120).activation(Activation::Relu))
        .with(layers::Dense::new(84).activation(Activation::Relu))
        .with(layers::Dense::new(classes))
}

/// The dense network 784 → 256 → 256 → 256 → 10 (335,114 parameters).
pub fn mlp() -> Sequential {
    mlp_for(10)
}

/// The dense network with `classes` outputs.
fn mlp_for(classes: usize) -> Sequential {
    Sequential::new()
        .named("mlp")
        .with(layers::Flatten::new())
        .with(layers::Dense::new(256).activation(Activation::Relu))
        .with(layers::Dense::new(256).activation(Activation::Relu))
        .with(layers::Dense::new(256).activation(Activation::Relu))
        .with(layers::Dense::new(classes))
}

/// A ResNet basic block (a custom layer): conv3×3(stride) → BN → ReLU → conv3×3 → BN, plus a
/// shortcut that is the identity, or a strided 1×1 conv + BN when the shape changes; then ReLU.
pub struct BasicBlock {
    name: String,
    filters: usize,
    stride: usize,
    conv1: layers::Conv2D,
    bn1: layers::BatchNormalization,
    conv2: layers::Conv2D,
    bn2: layers::BatchNormalization,
    shortcut: Option<(layers::Conv2D, layers::BatchNormalization)>,
    /// The shape between the two convs (set by `build`).
    mid: Vec<usize>,
}

impl BasicBlock {
    /// A block with `filters` output channels whose first conv (and shortcut) use `stride`.
    pub fn new(filters: usize, stride: usize) -> Self {
        let conv = |s: usize| layers::Conv2D::new(filters, 3).strides(s).padding(Padding::Same).use_bias(false);
        Self {
            name: String::new(),
            filters,
            stride,
            conv1: conv(stride),
            bn1: layers::BatchNormalization::new(),
            conv2: conv(1),
            bn2: layers::BatchNormalization::new(),
            shortcut: None,
            mid: Vec::new(),
        }
    }
}

impl Layer for BasicBlock {
    fn name(&self) -> &str {
        &self.name
    }
    fn set_name(&mut self, name: String) {
        self.name = name;
    }
    fn kind(&self) -> &'static str {
        "BasicBlock"
    }
    fn build(&mut self, input_shape: &[usize], ctx: &mut layers::BuildCtx) -> tessera_nn::Result<Vec<usize>> {
        let n = self.name.clone();
        let mut parts: Vec<(&mut dyn layers::Layer, &str)> = vec![
            (&mut self.conv1, "conv1"),
            (&mut self.bn1, "bn1"),
            (&mut self.conv2, "conv2"),
            (&mut self.bn2, "bn2"),
        ];
        let mut shape = input_shape.to_vec();
        for (layer, part) in parts.iter_mut() {
            layer.set_name(format!("{n}/{part}"));
            shape = layer.build(&shape, ctx)?;
            if *part == "conv1" {
                self.mid = shape.clone();
            }
        }
        if self.stride != 1 || input_shape.last() != Some(&self.filters) {
            let mut conv = layers::Conv2D::new(self.filters, 1).strides(self.stride).use_bias(false);
            let mut bn = layers::BatchNormalization::new();
            conv.set_name(format!("{n}/shortcut_conv"));
            bn.set_name(format!("{n}/shortcut_bn"));
            let s = conv.build(input_shape, ctx)?;
            bn.build(&s, ctx)?;
            self.shortcut = Some((conv, bn));
        }
        Ok(shape)
    }
    fn call(&self, x: &Tensor, training: bool) -> tessera_nn::Result<Tensor> {
        let z = self.conv1.call(x, training)?;
        // BN → ReLU as one fused op where the layer can fuse it (training mode).
        let h = match self.bn1.call_fused(&z, Activation::Relu, training) {
            Some(h) => h?,
            None => relu(&self.bn1.call(&z, training)?)?,
        };
        let h = self.bn2.call(&self.conv2.call(&h, training)?, training)?;
        let s = match &self.shortcut {
            Some((conv, bn)) => bn.call(&conv.call(x, training)?, training)?,
            None => x.clone(),
        };
        add_activation(&h, &s, Activation::Relu) // the shortcut's Add → ReLU in one kernel
    }
    fn variables(&self) -> Vec<layers::Param> {
        let mut v: Vec<layers::Param> = [&self.conv1 as &dyn layers::Layer, &self.bn1, &self.conv2, &self.bn2]
            .iter()
            .flat_map(|l| l.variables())
            .collect();
        if let Some((conv, bn)) = &self.shortcut {
            v.extend(conv.variables());
            v.extend(bn.variables());
        }
        v
    }
    fn receptive_field(&self, input_shape: &[usize]) -> Option<ReceptiveField> {
        let main =
            ReceptiveField::chain(&[self.conv1.receptive_field(input_shape), self.conv2.receptive_field(&self.mid)]);
        let shortcut = self.shortcut.as_ref().and_then(|(c, _)| c.receptive_field(input_shape));
        Some(main.merge(&shortcut.unwrap_or(ReceptiveField::IDENTITY)))
    }
    fn macs(&self, input_shape: &[usize]) -> usize {
        let shortcut = self.shortcut.as_ref().map_or(0, |(c, _)| c.macs(input_shape));
        self.conv1.macs(input_shape).saturating_add(self.conv2.macs(&self.mid)).saturating_add(shortcut)
    }
}

/// ResNet-18 for 32×32 CIFAR images with bias-free convs and BN shortcuts (3×3 SAME stem,
/// four stages of two [`BasicBlock`]s, global average pooling, a dense classifier over
/// `classes`): 11,173,962 trainable parameters with 10 classes.
pub fn resnet18_cifar_bn_shortcut(classes: usize) -> Sequential {
    let mut m = Sequential::new()
        .named("resnet18")
        .with(layers::Conv2D::new(64, 3).padding(Padding::Same).use_bias(false))
        .with(layers::BatchNormalization::new())
        .with(layers::ReLU::new());
    for (filters, stride) in [(64, 1), (128, 2), (256, 2), (512, 2)] {
        m.add(BasicBlock::new(filters, stride));
        m.add(BasicBlock::new(filters, 1));
    }
    m.with(layers::GlobalAveragePooling2D::new()).with(layers::Dense::new(classes))
}

/// The zoo model called `name` with its usual input and classes, its variables on the CPU
/// (seed 0) when it is a `Sequential` (a functional model's shapes are known without them).
pub fn built(name: &str) -> Result<ZooModel> {
    by_name(name)?.instantiate(None, None)
}
