//! Ready-made models from the tutorials Tessera's users know.

use tessera_nn::analysis::{LayerStats, ReceptiveField};
use tessera_nn::functional::Model;
use tessera_nn::layers::{self, Layer, Param};
use tessera_nn::models::Sequential;
use tessera_nn::ops::{add, relu};
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
            make: |shape, classes| Ok(ZooModel::Sequential(resnet18_cifar(classes), shape.to_vec())),
        },
    ]
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
        let h = relu(&self.bn1.call(&self.conv1.call(x, training)?, training)?)?;
        let h = self.bn2.call(&self.conv2.call(&h, training)?, training)?;
        let s = match &self.shortcut {
            Some((conv, bn)) => bn.call(&conv.call(x, training)?, training)?,
            None => x.clone(),
        };
        relu(&add(&h, &s)?)
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
        self.conv1.macs(input_shape) + self.conv2.macs(&self.mid) + shortcut
    }
}

/// ResNet-18 for 32×32 CIFAR images (3×3 stem, four stages of two basic blocks, global
/// average pooling, a dense classifier over `classes`).
pub fn resnet18_cifar(classes: usize) -> Sequential {
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

/// A zoo network: a [`Sequential`] stack or a functional [`Model`].
pub enum Net {
    /// A `keras.Sequential` model.
    Sequential(Sequential),
    /// A functional `keras.Model`.
    Functional(Model),
}

impl From<Sequential> for Net {
    fn from(m: Sequential) -> Self {
        Net::Sequential(m)
    }
}

impl From<Model> for Net {
    fn from(m: Model) -> Self {
        Net::Functional(m)
    }
}

impl Net {
    /// The network as a layer (to build, call, or read its variables).
    pub fn layer(&self) -> &dyn Layer {
        match self {
            Net::Sequential(m) => m,
            Net::Functional(m) => m,
        }
    }

    /// Keras's `summary()` table.
    pub fn summary(&self) -> String {
        match self {
            Net::Sequential(m) => m.summary(),
            Net::Functional(m) => m.summary(),
        }
    }

    /// Every layer's output shape, receptive field and multiply-adds.
    pub fn layer_stats(&self) -> Vec<LayerStats> {
        match self {
            Net::Sequential(m) => m.layer_stats(),
            Net::Functional(m) => m.layer_stats(),
        }
    }

    /// The receptive-field and multiply-add table.
    pub fn analysis(&self) -> String {
        match self {
            Net::Sequential(m) => m.analysis(),
            Net::Functional(m) => m.analysis(),
        }
    }

    /// Creates the variables on `device` for the entry's input shape.
    pub fn build(&mut self, input_shape: &[usize], device: &tessera_nn::Device, seed: u64) -> tessera_nn::Result<()> {
        match self {
            Net::Sequential(m) => m.build(input_shape, device, seed),
            Net::Functional(m) => m.build(device, seed),
        }
    }
}

/// A named zoo entry: how to make the network and the input it takes.
pub struct ZooEntry {
    /// The name `tessera summary` and `tessera viz --model` take.
    pub name: &'static str,
    /// Makes a fresh, unbuilt network.
    pub make: fn() -> Net,
    /// Input shape without the batch dimension.
    pub input_shape: [usize; 3],
}

/// Every zoo model by name; adding one is one line.
pub const MODELS: &[ZooEntry] = &[
    ZooEntry { name: "lenet5", make: || lenet5().into(), input_shape: [28, 28, 1] },
    ZooEntry { name: "mlp", make: || mlp().into(), input_shape: [28, 28, 1] },
    ZooEntry { name: "resnet18_cifar", make: || resnet18_cifar(10).into(), input_shape: [32, 32, 3] },
];

/// The zoo entry called `name`.
pub fn entry(name: &str) -> Option<&'static ZooEntry> {
    MODELS.iter().find(|m| m.name == name)
}

/// The zoo model called `name`, built on the CPU for its input (seed 0).
pub fn built(name: &str) -> Option<tessera_nn::Result<Net>> {
    let e = entry(name)?;
    let mut net = (e.make)();
    Some(net.build(&e.input_shape, &tessera_nn::Device::Cpu, 0).map(|_| net))
}
