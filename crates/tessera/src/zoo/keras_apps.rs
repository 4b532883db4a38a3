//! The `keras.applications` networks, layer for layer: the same layer names, classes, output
//! shapes and parameter counts as Keras builds for the same arguments (checked against
//! `tests/fixtures/keras_zoo.json`), so Keras weights load by name. Heads output logits
//! (Keras's `classifier_activation=None`); apply a softmax for probabilities.

use tessera_nn::functional::{input, Apply, Model, SymbolicTensor as Sym};
use tessera_nn::layers::{
    Add, AveragePooling2D, BatchNormalization, Concatenate, Conv2D, Dense, DepthwiseConv2D, Flatten,
    GlobalAveragePooling2D, MaxPool2D, ReLU, SeparableConv2D, ZeroPadding2D,
};
use tessera_nn::{shape_err, Activation, Padding, Result};

use super::{bn, call, call_many, classifier, relu_layer as relu};

/// Keras's ResNet v1 stem and bottleneck stages for `blocks` per stage.
fn resnet_v1(name: &str, blocks: [usize; 4], shape: &[usize], classes: usize) -> Result<Model> {
    let inp = input(shape);
    let mut x = resnet_stem(&inp, true)?;
    for (stage, (filters, n)) in [64, 128, 256, 512].into_iter().zip(blocks).enumerate() {
        let stride = if stage == 0 { 1 } else { 2 };
        for b in 1..=n {
            let block = format!("conv{}_block{b}", stage + 2);
            x = bottleneck(&x, filters, if b == 1 { stride } else { 1 }, b == 1, &block)?;
        }
    }
    x = call(GlobalAveragePooling2D::new(), "avg_pool", &x)?;
    classifier(&inp, &x, classes, name)
}

/// Keras's ResNet stem: 7×7 stride-2 conv (64, with or without bias) after 3 pixels of zero
/// padding, BN, ReLU, 3×3 stride-2 max-pool after 1 pixel of padding.
pub(super) fn resnet_stem(inp: &Sym, use_bias: bool) -> Result<Sym> {
    let mut x = call(ZeroPadding2D::new(3), "conv1_pad", inp)?;
    x = call(Conv2D::new(64, 7).strides(2).use_bias(use_bias), "conv1_conv", &x)?;
    x = call(bn(1.001e-5), "conv1_bn", &x)?;
    x = call(relu(), "conv1_relu", &x)?;
    x = call(ZeroPadding2D::new(1), "pool1_pad", &x)?;
    call(MaxPool2D::new(3).strides(2), "pool1_pool", &x)
}

/// Keras's `residual_block_v1`: 1×1 (stride) → 3×3 → 1×1 (4·filters) with BN and ReLU, plus a
/// 1×1 conv + BN shortcut (`conv_shortcut`) or the identity; add, ReLU.
fn bottleneck(x: &Sym, filters: usize, stride: usize, conv_shortcut: bool, name: &str) -> Result<Sym> {
    let shortcut = if conv_shortcut {
        let s = call(Conv2D::new(4 * filters, 1).strides(stride), &format!("{name}_0_conv"), x)?;
        call(bn(1.001e-5), &format!("{name}_0_bn"), &s)?
    } else {
        x.clone()
    };
    let mut y = x.clone();
    let convs = [(filters, 1, stride), (filters, 3, 1), (4 * filters, 1, 1)];
    for (i, (f, k, s)) in convs.into_iter().enumerate() {
        let n = format!("{name}_{}", i + 1);
        let conv = Conv2D::new(f, k).strides(s).padding(if k == 3 { Padding::Same } else { Padding::Valid });
        y = call(conv, &format!("{n}_conv"), &y)?;
        y = call(bn(1.001e-5), &format!("{n}_bn"), &y)?;
        if i < 2 {
            y = call(relu(), &format!("{n}_relu"), &y)?;
        }
    }
    let y = call_many(Add::new(), &format!("{name}_add"), &[&shortcut, &y])?;
    call(relu(), &format!("{name}_out"), &y)
}

/// `keras.applications.ResNet50` (He et al. 2016, "Deep Residual Learning for Image
/// Recognition"): 25,636,712 parameters at 224×224×3 with 1000 classes.
pub fn resnet50(shape: &[usize], classes: usize) -> Result<Model> {
    resnet_v1("resnet50", [3, 4, 6, 3], shape, classes)
}

/// `keras.applications.ResNet101` (He et al. 2016): 44,707,176 parameters at 224×224×3 with
/// 1000 classes.
pub fn resnet101(shape: &[usize], classes: usize) -> Result<Model> {
    resnet_v1("resnet101", [3, 4, 23, 3], shape, classes)
}

/// Convs per block of VGG-`depth` (11, 13, 16 or 19), or an error.
fn vgg_convs(depth: usize) -> Result<[usize; 5]> {
    Ok(match depth {
        11 => [1, 1, 2, 2, 2],
        13 => [2, 2, 2, 2, 2],
        16 => [2, 2, 3, 3, 3],
        19 => [2, 2, 4, 4, 4],
        _ => return Err(shape_err("vgg", format!("VGG has depth 11, 13, 16 or 19, not {depth}"))),
    })
}

/// VGG-`depth` (Simonyan & Zisserman 2015) with Keras's layer names: blocks of 3×3 SAME
/// convs (64, 128, 256, 512, 512 filters) with ReLU and 2×2 max-pools, flatten, two 4096 ReLU
/// dense layers, the classifier. With `batch_norm` every conv is followed by a
/// BatchNormalization (`blockB_bnI`) and a ReLU (`blockB_reluI`), as torchvision's `vggN_bn`.
/// VGG-11: 132,863,336 parameters at 224×224×3 with 1000 classes; VGG-13: 133,047,848
/// (BatchNorm adds 2 trainable and 2 moving values per conv channel).
pub fn vgg(depth: usize, batch_norm: bool, shape: &[usize], classes: usize) -> Result<Model> {
    let inp = input(shape);
    let mut x = inp.clone();
    for (b, (n, filters)) in vgg_convs(depth)?.into_iter().zip([64, 128, 256, 512, 512]).enumerate() {
        let b = b + 1;
        for i in 1..=n {
            let conv = Conv2D::new(filters, 3).padding(Padding::Same);
            if batch_norm {
                x = call(conv, &format!("block{b}_conv{i}"), &x)?;
                x = call(bn(1e-3), &format!("block{b}_bn{i}"), &x)?;
                x = call(relu(), &format!("block{b}_relu{i}"), &x)?;
            } else {
                x = call(conv.activation(Activation::Relu), &format!("block{b}_conv{i}"), &x)?;
            }
        }
        x = call(MaxPool2D::new(2).strides(2), &format!("block{b}_pool"), &x)?;
    }
    x = call(Flatten::new(), "flatten", &x)?;
    for fc in ["fc1", "fc2"] {
        x = call(Dense::new(4096).activation(Activation::Relu), fc, &x)?;
    }
    let name = format!("vgg{depth}{}", if batch_norm { "_bn" } else { "" });
    classifier(&inp, &x, classes, &name)
}

/// `keras.applications.VGG16` (Simonyan & Zisserman 2015, "Very Deep Convolutional Networks
/// for Large-Scale Image Recognition"): 138,357,544 parameters at 224×224×3, 1000 classes.
pub fn vgg16(shape: &[usize], classes: usize) -> Result<Model> {
    vgg(16, false, shape, classes)
}

/// `keras.applications.VGG19` (Simonyan & Zisserman 2015): 143,667,240 parameters at
/// 224×224×3 with 1000 classes.
pub fn vgg19(shape: &[usize], classes: usize) -> Result<Model> {
    vgg(19, false, shape, classes)
}

/// Keras's `_make_divisible`: `v` rounded to a multiple of `divisor` (at least `divisor`),
/// never more than 10% below `v`.
fn make_divisible(v: f64, divisor: usize) -> usize {
    let d = divisor as f64;
    let mut new_v = divisor.max(((v + d / 2.0) as usize) / divisor * divisor);
    if (new_v as f64) < 0.9 * v {
        new_v += divisor;
    }
    new_v
}

/// Keras's `imagenet_utils.correct_pad` for a 3×3 window: the zero padding before a stride-2
/// VALID conv that centres it like SAME.
fn correct_pad(shape: &[usize]) -> ((usize, usize), (usize, usize)) {
    let adjust = |d: usize| 1 - d % 2;
    ((1 - adjust(shape[0]), 1), (1 - adjust(shape[1]), 1))
}

/// MobileNetV2's BatchNormalization (epsilon 1e-3, momentum 0.999).
fn bn_m2() -> tessera_nn::layers::BatchNormalization {
    bn(1e-3).momentum(0.999)
}

/// Keras's `_inverted_res_block`: 1×1 expansion (not in block 0), 3×3 depthwise (stride),
/// linear 1×1 projection, each with BN (and ReLU6 but the last); a residual add when the
/// shape is kept.
fn inverted_res_block(x: &Sym, expansion: usize, stride: usize, alpha: f64, filters: usize, id: usize) -> Result<Sym> {
    let in_channels = x.shape()[2];
    let pointwise = make_divisible((filters as f64 * alpha).trunc(), 8);
    let prefix = if id == 0 { "expanded_conv_".to_string() } else { format!("block_{id}_") };
    let mut y = x.clone();
    if id > 0 {
        let conv = Conv2D::new(expansion * in_channels, 1).padding(Padding::Same).use_bias(false);
        y = call(conv, &format!("{prefix}expand"), &y)?;
        y = call(bn_m2(), &format!("{prefix}expand_BN"), &y)?;
        y = call(ReLU::new().max_value(6.0), &format!("{prefix}expand_relu"), &y)?;
    }
    let padding = if stride == 2 {
        y = call(ZeroPadding2D::new(correct_pad(y.shape())), &format!("{prefix}pad"), &y)?;
        Padding::Valid
    } else {
        Padding::Same
    };
    let dw = DepthwiseConv2D::new(3).strides(stride).padding(padding).use_bias(false);
    y = call(dw, &format!("{prefix}depthwise"), &y)?;
    y = call(bn_m2(), &format!("{prefix}depthwise_BN"), &y)?;
    y = call(ReLU::new().max_value(6.0), &format!("{prefix}depthwise_relu"), &y)?;
    let conv = Conv2D::new(pointwise, 1).padding(Padding::Same).use_bias(false);
    y = call(conv, &format!("{prefix}project"), &y)?;
    y = call(bn_m2(), &format!("{prefix}project_BN"), &y)?;
    if in_channels == pointwise && stride == 1 {
        return call_many(Add::new(), &format!("{prefix}add"), &[x, &y]);
    }
    Ok(y)
}

/// `keras.applications.MobileNetV2` with width multiplier `alpha` (Sandler et al. 2018,
/// "MobileNetV2: Inverted Residuals and Linear Bottlenecks"): 3,538,984 parameters at
/// 224×224×3, alpha 1, 1000 classes.
pub fn mobilenet_v2(shape: &[usize], classes: usize, alpha: f64) -> Result<Model> {
    let inp = input(shape);
    let first = Conv2D::new(make_divisible(32.0 * alpha, 8), 3).strides(2).padding(Padding::Same).use_bias(false);
    let mut x = call(first, "Conv1", &inp)?;
    x = call(bn_m2(), "bn_Conv1", &x)?;
    x = call(ReLU::new().max_value(6.0), "Conv1_relu", &x)?;
    // (filters, stride, expansion) of blocks 0..=16
    let blocks = [(16, 1, 1), (24, 2, 6), (24, 1, 6), (32, 2, 6), (32, 1, 6), (32, 1, 6), (64, 2, 6), (64, 1, 6)]
        .into_iter()
        .chain([(64, 1, 6), (64, 1, 6), (96, 1, 6), (96, 1, 6), (96, 1, 6), (160, 2, 6), (160, 1, 6)])
        .chain([(160, 1, 6), (320, 1, 6)]);
    for (id, (filters, stride, expansion)) in blocks.enumerate() {
        x = inverted_res_block(&x, expansion, stride, alpha, filters, id)?;
    }
    let last = if alpha > 1.0 { make_divisible(1280.0 * alpha, 8) } else { 1280 };
    x = call(Conv2D::new(last, 1).use_bias(false), "Conv_1", &x)?;
    x = call(bn_m2(), "Conv_1_bn", &x)?;
    x = call(ReLU::new().max_value(6.0), "out_relu", &x)?;
    x = GlobalAveragePooling2D::new().apply(&x)?;
    classifier(&inp, &x, classes, &format!("mobilenetv2_{alpha:.2}_{}", shape[0]))
}

/// Keras's DenseNet `conv_block`: BN-ReLU-1×1 (4·32) then BN-ReLU-3×3 (32), concatenated
/// onto the input.
fn dense_conv_block(x: &Sym, name: &str) -> Result<Sym> {
    let mut y = call(bn(1.001e-5), &format!("{name}_0_bn"), x)?;
    y = call(relu(), &format!("{name}_0_relu"), &y)?;
    y = call(Conv2D::new(128, 1).use_bias(false), &format!("{name}_1_conv"), &y)?;
    y = call(bn(1.001e-5), &format!("{name}_1_bn"), &y)?;
    y = call(relu(), &format!("{name}_1_relu"), &y)?;
    y = call(Conv2D::new(32, 3).padding(Padding::Same).use_bias(false), &format!("{name}_2_conv"), &y)?;
    call_many(Concatenate::new(), &format!("{name}_concat"), &[x, &y])
}

/// Keras's DenseNet `transition_block`: BN-ReLU, a 1×1 conv halving the channels, 2×2
/// average pooling.
fn transition_block(x: &Sym, name: &str) -> Result<Sym> {
    let mut y = call(bn(1.001e-5), &format!("{name}_bn"), x)?;
    y = call(relu(), &format!("{name}_relu"), &y)?;
    let half = y.shape()[2] / 2;
    y = call(Conv2D::new(half, 1).use_bias(false), &format!("{name}_conv"), &y)?;
    call(AveragePooling2D::new(2).strides(2), &format!("{name}_pool"), &y)
}

/// `keras.applications.DenseNet121` (Huang et al. 2017, "Densely Connected Convolutional
/// Networks"): 8,062,504 parameters at 224×224×3 with 1000 classes.
pub fn densenet121(shape: &[usize], classes: usize) -> Result<Model> {
    let inp = input(shape);
    let mut x = ZeroPadding2D::new(3).apply(&inp)?;
    x = call(Conv2D::new(64, 7).strides(2).use_bias(false), "conv1_conv", &x)?;
    x = call(bn(1.001e-5), "conv1_bn", &x)?;
    x = call(relu(), "conv1_relu", &x)?;
    x = ZeroPadding2D::new(1).apply(&x)?;
    x = call(MaxPool2D::new(3).strides(2), "pool1", &x)?;
    for (stage, blocks) in [6, 12, 24, 16].into_iter().enumerate() {
        for i in 1..=blocks {
            x = dense_conv_block(&x, &format!("conv{}_block{i}", stage + 2))?;
        }
        if stage < 3 {
            x = transition_block(&x, &format!("pool{}", stage + 2))?;
        }
    }
    x = call(bn(1.001e-5), "bn", &x)?;
    x = call(relu(), "relu", &x)?;
    x = call(GlobalAveragePooling2D::new(), "avg_pool", &x)?;
    classifier(&inp, &x, classes, "densenet121")
}

/// A SAME 3×3 separable conv without bias, as Xception's.
fn sep(filters: usize) -> SeparableConv2D {
    SeparableConv2D::new(filters, 3).padding(Padding::Same).use_bias(false)
}

/// One of Xception's downsampling blocks: a strided 1×1 conv + BN residual, then (ReLU,)
/// separable conv, BN, ReLU, separable conv, BN, 3×3 stride-2 max-pool, add.
fn xception_down(x: &Sym, block: usize, filters: [usize; 2], relu_first: bool) -> Result<Sym> {
    let r = Conv2D::new(filters[1], 1).strides(2).padding(Padding::Same).use_bias(false).apply(x)?;
    let r = bn(1e-3).apply(&r)?;
    let mut y = x.clone();
    for (i, f) in filters.into_iter().enumerate() {
        let p = format!("block{block}_sepconv{}", i + 1);
        if i > 0 || relu_first {
            y = call(relu(), &format!("{p}_act"), &y)?;
        }
        y = call(sep(f), &p, &y)?;
        y = call(bn(1e-3), &format!("{p}_bn"), &y)?;
    }
    y = call(MaxPool2D::new(3).strides(2).padding(Padding::Same), &format!("block{block}_pool"), &y)?;
    Add::new().apply_many(&[&y, &r])
}

/// One of Xception's middle-flow blocks: three ReLU, separable conv (728), BN; add the input.
fn xception_middle(x: &Sym, block: usize) -> Result<Sym> {
    let mut y = x.clone();
    for i in 1..=3 {
        let p = format!("block{block}_sepconv{i}");
        y = call(relu(), &format!("{p}_act"), &y)?;
        y = call(sep(728), &p, &y)?;
        y = call(bn(1e-3), &format!("{p}_bn"), &y)?;
    }
    Add::new().apply_many(&[&y, x])
}

/// `keras.applications.Xception` (Chollet 2017, "Xception: Deep Learning with Depthwise
/// Separable Convolutions"): 22,910,480 parameters at 299×299×3 with 1000 classes.
pub fn xception(shape: &[usize], classes: usize) -> Result<Model> {
    let inp = input(shape);
    let mut x = call(Conv2D::new(32, 3).strides(2).use_bias(false), "block1_conv1", &inp)?;
    x = call(bn(1e-3), "block1_conv1_bn", &x)?;
    x = call(relu(), "block1_conv1_act", &x)?;
    x = call(Conv2D::new(64, 3).use_bias(false), "block1_conv2", &x)?;
    x = call(bn(1e-3), "block1_conv2_bn", &x)?;
    x = call(relu(), "block1_conv2_act", &x)?;
    for (block, f) in [(2, 128), (3, 256), (4, 728)] {
        x = xception_down(&x, block, [f, f], block != 2)?;
    }
    for block in 5..13 {
        x = xception_middle(&x, block)?;
    }
    x = xception_down(&x, 13, [728, 1024], true)?;
    for (i, f) in [(1, 1536), (2, 2048)] {
        x = call(sep(f), &format!("block14_sepconv{i}"), &x)?;
        x = call(bn(1e-3), &format!("block14_sepconv{i}_bn"), &x)?;
        x = call(relu(), &format!("block14_sepconv{i}_act"), &x)?;
    }
    x = call(GlobalAveragePooling2D::new(), "avg_pool", &x)?;
    classifier(&inp, &x, classes, "xception")
}

/// Keras's InceptionV3 `conv2d_bn`: a bias-free `kh`×`kw` conv, BatchNormalization without
/// gamma (`scale=False`), ReLU; auto-named as Keras's.
fn conv_bn(x: &Sym, filters: usize, (kh, kw): (usize, usize), stride: usize, padding: Padding) -> Result<Sym> {
    let y = Conv2D::new(filters, (kh, kw)).strides(stride).padding(padding).use_bias(false).apply(x)?;
    let y = BatchNormalization::new().scale(false).apply(&y)?;
    relu().apply(&y)
}

/// A chain of SAME stride-1 `conv_bn`s (filters, window) from `x`.
fn conv_bn_chain(x: &Sym, chain: &[(usize, (usize, usize))]) -> Result<Sym> {
    let mut y = x.clone();
    for &(f, k) in chain {
        y = conv_bn(&y, f, k, 1, Padding::Same)?;
    }
    Ok(y)
}

/// The 3×3 stride-1 SAME average pool + 1×1 `conv_bn` branch of the Inception blocks.
fn avg_pool_branch(x: &Sym, filters: usize) -> Result<Sym> {
    let p = AveragePooling2D::new(3).strides(1).padding(Padding::Same).apply(x)?;
    conv_bn(&p, filters, (1, 1), 1, Padding::Same)
}

/// InceptionV3's 35×35 block (`mixed0`–`mixed2`): 1×1, 1×1→5×5, 1×1→3×3→3×3, pool→1×1.
fn inception_a(x: &Sym, pool_filters: usize, name: &str) -> Result<Sym> {
    let b1 = conv_bn_chain(x, &[(64, (1, 1))])?;
    let b5 = conv_bn_chain(x, &[(48, (1, 1)), (64, (5, 5))])?;
    let b3 = conv_bn_chain(x, &[(64, (1, 1)), (96, (3, 3)), (96, (3, 3))])?;
    let bp = avg_pool_branch(x, pool_filters)?;
    call_many(Concatenate::new(), name, &[&b1, &b5, &b3, &bp])
}

/// InceptionV3's 17×17 block (`mixed4`–`mixed7`) with `c` channels in its factorised 7×7s.
fn inception_c(x: &Sym, c: usize, name: &str) -> Result<Sym> {
    let b1 = conv_bn_chain(x, &[(192, (1, 1))])?;
    let b7 = conv_bn_chain(x, &[(c, (1, 1)), (c, (1, 7)), (192, (7, 1))])?;
    let chain = [(c, (1, 1)), (c, (7, 1)), (c, (1, 7)), (c, (7, 1)), (192, (1, 7))];
    let b7d = conv_bn_chain(x, &chain)?;
    let bp = avg_pool_branch(x, 192)?;
    call_many(Concatenate::new(), name, &[&b1, &b7, &b7d, &bp])
}

/// InceptionV3's 8×8 block (`mixed9`, `mixed10`, the `i`-th): expanded 1×3 / 3×1 branches.
fn inception_e(x: &Sym, i: usize) -> Result<Sym> {
    let b1 = conv_bn_chain(x, &[(320, (1, 1))])?;
    let b3 = conv_bn_chain(x, &[(384, (1, 1))])?;
    let (b3a, b3b) = (conv_bn_chain(&b3, &[(384, (1, 3))])?, conv_bn_chain(&b3, &[(384, (3, 1))])?);
    let b3 = call_many(Concatenate::new(), &format!("mixed9_{i}"), &[&b3a, &b3b])?;
    let bd = conv_bn_chain(x, &[(448, (1, 1)), (384, (3, 3))])?;
    let (bda, bdb) = (conv_bn_chain(&bd, &[(384, (1, 3))])?, conv_bn_chain(&bd, &[(384, (3, 1))])?);
    let bd = Concatenate::new().apply_many(&[&bda, &bdb])?;
    let bp = avg_pool_branch(x, 192)?;
    call_many(Concatenate::new(), &format!("mixed{}", 9 + i), &[&b1, &b3, &bd, &bp])
}

/// InceptionV3's grid reductions: a strided 3×3 branch after `pre` (1×1 convs or nothing),
/// a 1×1→…→strided 3×3 branch, and a 3×3 stride-2 max-pool (`mixed3`, `mixed8`).
fn reduction(
    x: &Sym,
    pre: &[(usize, (usize, usize))],
    f: usize,
    tower: &[(usize, (usize, usize))],
    name: &str,
) -> Result<Sym> {
    let a = conv_bn(&conv_bn_chain(x, pre)?, f, (3, 3), 2, Padding::Valid)?;
    let b = conv_bn_chain(x, tower)?;
    let b = conv_bn(&b, if pre.is_empty() { 96 } else { 192 }, (3, 3), 2, Padding::Valid)?;
    let p = MaxPool2D::new(3).strides(2).apply(x)?;
    call_many(Concatenate::new(), name, &[&a, &b, &p])
}

/// `keras.applications.InceptionV3` (Szegedy et al. 2016, "Rethinking the Inception
/// Architecture for Computer Vision"): 23,851,784 parameters at 299×299×3, 1000 classes.
pub fn inception_v3(shape: &[usize], classes: usize) -> Result<Model> {
    let inp = input(shape);
    let mut x = conv_bn(&inp, 32, (3, 3), 2, Padding::Valid)?;
    x = conv_bn(&x, 32, (3, 3), 1, Padding::Valid)?;
    x = conv_bn(&x, 64, (3, 3), 1, Padding::Same)?;
    x = MaxPool2D::new(3).strides(2).apply(&x)?;
    x = conv_bn(&x, 80, (1, 1), 1, Padding::Valid)?;
    x = conv_bn(&x, 192, (3, 3), 1, Padding::Valid)?;
    x = MaxPool2D::new(3).strides(2).apply(&x)?;
    for (i, pool) in [32, 64, 64].into_iter().enumerate() {
        x = inception_a(&x, pool, &format!("mixed{i}"))?;
    }
    x = reduction(&x, &[], 384, &[(64, (1, 1)), (96, (3, 3))], "mixed3")?;
    for (i, c) in [128, 160, 160, 192].into_iter().enumerate() {
        x = inception_c(&x, c, &format!("mixed{}", 4 + i))?;
    }
    x = reduction(&x, &[(192, (1, 1))], 320, &[(192, (1, 1)), (192, (1, 7)), (192, (7, 1))], "mixed8")?;
    for i in 0..2 {
        x = inception_e(&x, i)?;
    }
    x = call(GlobalAveragePooling2D::new(), "avg_pool", &x)?;
    classifier(&inp, &x, classes, "inception_v3")
}
