//! The tutorials' networks that Keras does not ship: AlexNet, the CIFAR VGG-13 and ResNets,
//! ResNet-18/34 for ImageNet, GoogLeNet and ShuffleNet. Heads output logits.

use tessera_nn::functional::{input, Apply, Model, SymbolicTensor as Sym};
use tessera_nn::layers::{
    Add, AveragePooling2D, ChannelShuffle, Concatenate, Conv2D, Dense, DepthwiseConv2D, Dropout, Flatten,
    GlobalAveragePooling2D, MaxPool2D,
};
use tessera_nn::{Activation, Padding, Result};

use super::keras_apps::resnet_stem;
use super::{bn, call, call_many, classifier, relu_layer as relu};

/// A ReLU conv with `filters`, a `k`×`k` window, `stride` and `padding`.
fn conv_relu(filters: usize, k: usize, stride: usize, padding: Padding) -> Conv2D {
    Conv2D::new(filters, k).strides(stride).padding(padding).activation(Activation::Relu)
}

/// AlexNet (Krizhevsky, Sutskever & Hinton 2012, "ImageNet Classification with Deep
/// Convolutional Neural Networks"), single-tower as in the tutorials: 11×11/4 conv 96, 3×3/2
/// max-pool, 5×5 conv 256, max-pool, 3×3 convs 384, 384, 256, max-pool, two Dense 4096 ReLU
/// each with Dropout 0.5, the classifier. 50,844,008 parameters at 224×224×3, 1000 classes.
pub fn alexnet(shape: &[usize], classes: usize) -> Result<Model> {
    let inp = input(shape);
    let pool = || MaxPool2D::new(3).strides(2);
    let mut x = conv_relu(96, 11, 4, Padding::Valid).apply(&inp)?;
    x = pool().apply(&x)?;
    x = conv_relu(256, 5, 1, Padding::Same).apply(&x)?;
    x = pool().apply(&x)?;
    for f in [384, 384, 256] {
        x = conv_relu(f, 3, 1, Padding::Same).apply(&x)?;
    }
    x = pool().apply(&x)?;
    x = Flatten::new().apply(&x)?;
    for _ in 0..2 {
        x = Dense::new(4096).activation(Activation::Relu).apply(&x)?;
        x = Dropout::new(0.5).apply(&x)?;
    }
    let out = Dense::new(classes).apply(&x)?;
    Ok(Model::new(&[&inp], &[&out])?.named("alexnet"))
}

/// The tutorial's VGG-13 for CIFAR-100: five units of two 3×3 SAME ReLU convs (64, 128, 256,
/// 512, 512 filters) each followed by a 2×2 stride-2 SAME max-pool (32×32 → 1×1), flatten,
/// Dense 256 ReLU, Dense 128 ReLU, the classifier; trained with Adam 1e-4, batch 128.
/// 9,582,116 parameters at 32×32×3 with 100 classes.
pub fn vgg13_cifar(shape: &[usize], classes: usize) -> Result<Model> {
    let inp = input(shape);
    let mut x = inp.clone();
    for filters in [64, 128, 256, 512, 512] {
        for _ in 0..2 {
            x = conv_relu(filters, 3, 1, Padding::Same).apply(&x)?;
        }
        x = MaxPool2D::new(2).strides(2).padding(Padding::Same).apply(&x)?;
    }
    x = Flatten::new().apply(&x)?;
    for units in [256, 128] {
        x = Dense::new(units).activation(Activation::Relu).apply(&x)?;
    }
    let out = Dense::new(classes).apply(&x)?;
    Ok(Model::new(&[&inp], &[&out])?.named("vgg13_cifar"))
}

/// How a ResNet basic block is built.
#[derive(Clone, Copy)]
struct BasicStyle {
    /// Convs carry a bias.
    bias: bool,
    /// The projection shortcut has a BatchNormalization after its 1×1 conv.
    shortcut_bn: bool,
}

/// A ResNet basic block named like Keras's ResNet blocks: 3×3 conv (stride) → BN → ReLU →
/// 3×3 conv → BN, plus the identity or (when the stride or width changes) a strided 1×1
/// conv shortcut; add, ReLU.
fn basic_block(x: &Sym, filters: usize, stride: usize, style: BasicStyle, name: &str) -> Result<Sym> {
    let conv = |k: usize, s: usize| Conv2D::new(filters, k).strides(s).use_bias(style.bias);
    let shortcut = if stride != 1 || x.shape()[2] != filters {
        let s = call(conv(1, stride), &format!("{name}_0_conv"), x)?;
        if style.shortcut_bn {
            call(bn(1.001e-5), &format!("{name}_0_bn"), &s)?
        } else {
            s
        }
    } else {
        x.clone()
    };
    let mut y = call(conv(3, stride).padding(Padding::Same), &format!("{name}_1_conv"), x)?;
    y = call(bn(1.001e-5), &format!("{name}_1_bn"), &y)?;
    y = call(relu(), &format!("{name}_1_relu"), &y)?;
    y = call(conv(3, 1).padding(Padding::Same), &format!("{name}_2_conv"), &y)?;
    y = call(bn(1.001e-5), &format!("{name}_2_bn"), &y)?;
    let y = call_many(Add::new(), &format!("{name}_add"), &[&shortcut, &y])?;
    call(relu(), &format!("{name}_out"), &y)
}

/// Four stages (64, 128, 256, 512 filters) of `blocks` basic blocks, the first block of
/// stages 2–4 with stride 2; global average pooling.
fn basic_stages(mut x: Sym, blocks: [usize; 4], style: BasicStyle) -> Result<Sym> {
    for (stage, (filters, n)) in [64, 128, 256, 512].into_iter().zip(blocks).enumerate() {
        for b in 1..=n {
            let stride = if stage > 0 && b == 1 { 2 } else { 1 };
            x = basic_block(&x, filters, stride, style, &format!("conv{}_block{b}", stage + 2))?;
        }
    }
    call(GlobalAveragePooling2D::new(), "avg_pool", &x)
}

/// ResNet with basic blocks for ImageNet (He et al. 2016): Keras's ResNet stem (bias-free),
/// bias-free convs, BN projection shortcuts.
fn resnet_basic(name: &str, blocks: [usize; 4], shape: &[usize], classes: usize) -> Result<Model> {
    let inp = input(shape);
    let x = resnet_stem(&inp, false)?;
    let x = basic_stages(x, blocks, BasicStyle { bias: false, shortcut_bn: true })?;
    classifier(&inp, &x, classes, name)
}

/// ResNet-18 (He et al. 2016, basic blocks [2, 2, 2, 2]) for ImageNet-sized inputs:
/// 11,689,512 trainable parameters at 224×224×3 with 1000 classes (+ 9,600 BN moving
/// statistics), torchvision's figure.
pub fn resnet18(shape: &[usize], classes: usize) -> Result<Model> {
    resnet_basic("resnet18", [2, 2, 2, 2], shape, classes)
}

/// ResNet-34 (He et al. 2016, basic blocks [3, 4, 6, 3]): 21,797,672 trainable parameters
/// at 224×224×3 with 1000 classes (+ 17,024 BN moving statistics).
pub fn resnet34(shape: &[usize], classes: usize) -> Result<Model> {
    resnet_basic("resnet34", [3, 4, 6, 3], shape, classes)
}

/// The tutorial's CIFAR ResNet: stem 3×3 conv 64 stride 1 VALID (with bias) + BN + ReLU +
/// 2×2 stride-1 SAME max-pool; basic blocks with biased convs and a plain 1×1 conv (with
/// bias, no BN) projection shortcut; global average pooling, the classifier.
fn resnet_cifar(name: &str, blocks: [usize; 4], shape: &[usize], classes: usize) -> Result<Model> {
    let inp = input(shape);
    let mut x = call(Conv2D::new(64, 3), "conv1_conv", &inp)?;
    x = call(bn(1.001e-5), "conv1_bn", &x)?;
    x = call(relu(), "conv1_relu", &x)?;
    x = call(MaxPool2D::new(2).strides(1).padding(Padding::Same), "pool1_pool", &x)?;
    let x = basic_stages(x, blocks, BasicStyle { bias: true, shortcut_bn: false })?;
    classifier(&inp, &x, classes, name)
}

/// The tutorial's ResNet-18 for CIFAR-100 (blocks [2, 2, 2, 2]; Adam 1e-3, batch 128):
/// 11,230,948 parameters (11,223,140 trainable) at 32×32×3 with 100 classes.
pub fn resnet18_cifar(shape: &[usize], classes: usize) -> Result<Model> {
    resnet_cifar("resnet18_cifar", [2, 2, 2, 2], shape, classes)
}

/// The tutorial's ResNet-34 for CIFAR-100 (blocks [3, 4, 6, 3]; Adam 1e-3, batch 128):
/// 21,350,244 parameters (21,335,012 trainable) at 32×32×3 with 100 classes.
pub fn resnet34_cifar(shape: &[usize], classes: usize) -> Result<Model> {
    resnet_cifar("resnet34_cifar", [3, 4, 6, 3], shape, classes)
}

/// GoogLeNet's Inception module: 1×1 (`f[0]`), 1×1 → 3×3 (`f[1]`, `f[2]`), 1×1 → 5×5
/// (`f[3]`, `f[4]`), 3×3 max-pool → 1×1 (`f[5]`), concatenated.
fn inception_v1(x: &Sym, f: [usize; 6], name: &str) -> Result<Sym> {
    let c = |filters, k| conv_relu(filters, k, 1, Padding::Same);
    let b1 = call(c(f[0], 1), &format!("{name}_1x1"), x)?;
    let b2 = call(c(f[1], 1), &format!("{name}_3x3_reduce"), x)?;
    let b2 = call(c(f[2], 3), &format!("{name}_3x3"), &b2)?;
    let b3 = call(c(f[3], 1), &format!("{name}_5x5_reduce"), x)?;
    let b3 = call(c(f[4], 5), &format!("{name}_5x5"), &b3)?;
    let b4 = call(MaxPool2D::new(3).strides(1).padding(Padding::Same), &format!("{name}_pool"), x)?;
    let b4 = call(c(f[5], 1), &format!("{name}_pool_proj"), &b4)?;
    call_many(Concatenate::new(), &format!("{name}_output"), &[&b1, &b2, &b3, &b4])
}

/// GoogLeNet (Szegedy et al. 2015, "Going Deeper with Convolutions"), without the auxiliary
/// classifiers and local response normalisation: 7×7/2 conv 64, 3×3/2 max-pool, 1×1 conv
/// 64, 3×3 conv 192, max-pool, Inception 3a–3b, max-pool, 4a–4e, max-pool, 5a–5b, global
/// average pooling, Dropout 0.4, the classifier. 6,998,552 parameters at 224×224×3, 1000
/// classes.
pub fn googlenet(shape: &[usize], classes: usize) -> Result<Model> {
    let inp = input(shape);
    let pool = |x: &Sym, name: &str| call(MaxPool2D::new(3).strides(2).padding(Padding::Same), name, x);
    let mut x = call(conv_relu(64, 7, 2, Padding::Same), "conv1_7x7", &inp)?;
    x = pool(&x, "pool1_3x3")?;
    x = call(conv_relu(64, 1, 1, Padding::Same), "conv2_3x3_reduce", &x)?;
    x = call(conv_relu(192, 3, 1, Padding::Same), "conv2_3x3", &x)?;
    x = pool(&x, "pool2_3x3")?;
    x = inception_v1(&x, [64, 96, 128, 16, 32, 32], "inception_3a")?;
    x = inception_v1(&x, [128, 128, 192, 32, 96, 64], "inception_3b")?;
    x = pool(&x, "pool3_3x3")?;
    x = inception_v1(&x, [192, 96, 208, 16, 48, 64], "inception_4a")?;
    x = inception_v1(&x, [160, 112, 224, 24, 64, 64], "inception_4b")?;
    x = inception_v1(&x, [128, 128, 256, 24, 64, 64], "inception_4c")?;
    x = inception_v1(&x, [112, 144, 288, 32, 64, 64], "inception_4d")?;
    x = inception_v1(&x, [256, 160, 320, 32, 128, 128], "inception_4e")?;
    x = pool(&x, "pool4_3x3")?;
    x = inception_v1(&x, [256, 160, 320, 32, 128, 128], "inception_5a")?;
    x = inception_v1(&x, [384, 192, 384, 48, 128, 128], "inception_5b")?;
    x = call(GlobalAveragePooling2D::new(), "pool5", &x)?;
    x = call(Dropout::new(0.4), "pool5_drop", &x)?;
    classifier(&inp, &x, classes, "googlenet")
}

/// A ShuffleNet unit (Zhang et al. 2018, "ShuffleNet: An Extremely Efficient Convolutional
/// Neural Network for Mobile Devices", Fig. 2): grouped 1×1 conv to `out / 4` channels (a
/// plain 1×1 when `group_first` is false) + BN + ReLU, channel shuffle, 3×3 depthwise conv
/// (`stride`) + BN, grouped 1×1 conv + BN; with stride 1 it is added to the input (`out`
/// must equal the input channels), with stride 2 it is concatenated with a 3×3 stride-2
/// average pool of the input (to `out` channels); then ReLU.
pub fn shufflenet_unit(
    x: &Sym,
    out: usize,
    groups: usize,
    stride: usize,
    group_first: bool,
    name: &str,
) -> Result<Sym> {
    let cin = x.shape()[2];
    let branch_out = if stride == 1 { out } else { out - cin };
    let mid = out / 4;
    let g1 = if group_first { groups } else { 1 };
    let mut y = call(Conv2D::new(mid, 1).groups(g1).use_bias(false), &format!("{name}_gconv1"), x)?;
    y = call(bn(1e-3), &format!("{name}_bn1"), &y)?;
    y = call(relu(), &format!("{name}_relu1"), &y)?;
    y = call(ChannelShuffle::new(groups), &format!("{name}_shuffle"), &y)?;
    let dw = DepthwiseConv2D::new(3).strides(stride).padding(Padding::Same).use_bias(false);
    y = call(dw, &format!("{name}_dwconv"), &y)?;
    y = call(bn(1e-3), &format!("{name}_bn2"), &y)?;
    y = call(Conv2D::new(branch_out, 1).groups(groups).use_bias(false), &format!("{name}_gconv2"), &y)?;
    y = call(bn(1e-3), &format!("{name}_bn3"), &y)?;
    let y = if stride == 1 {
        call_many(Add::new(), &format!("{name}_add"), &[x, &y])?
    } else {
        let p = call(AveragePooling2D::new(3).strides(2).padding(Padding::Same), &format!("{name}_pool"), x)?;
        call_many(Concatenate::new(), &format!("{name}_concat"), &[&p, &y])?
    };
    call(relu(), &format!("{name}_out"), &y)
}

/// A small ShuffleNet (g = 3) for CIFAR-sized inputs built from [`shufflenet_unit`]s: 3×3
/// conv 24 + BN + ReLU, stages of 4, 8 and 4 units (240, 480, 960 channels; the first unit
/// of each with stride 2, the very first without grouping its 1×1 conv), global average
/// pooling, the classifier. 1,025,308 parameters (1,000,828 trainable) at 32×32×3 with 100
/// classes.
pub fn shufflenet(shape: &[usize], classes: usize) -> Result<Model> {
    let inp = input(shape);
    let mut x = call(Conv2D::new(24, 3).padding(Padding::Same).use_bias(false), "conv1", &inp)?;
    x = call(bn(1e-3), "conv1_bn", &x)?;
    x = call(relu(), "conv1_relu", &x)?;
    for (stage, (out, units)) in [(240, 4), (480, 8), (960, 4)].into_iter().enumerate() {
        for u in 1..=units {
            let name = format!("stage{}_unit{u}", stage + 2);
            x = shufflenet_unit(&x, out, 3, if u == 1 { 2 } else { 1 }, stage > 0 || u > 1, &name)?;
        }
    }
    x = call(GlobalAveragePooling2D::new(), "avg_pool", &x)?;
    classifier(&inp, &x, classes, "shufflenet")
}
