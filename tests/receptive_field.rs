//! Receptive fields (TensorFlow's receptive-field tool: size, effective stride, effective
//! padding) and multiply-adds per layer, for Sequential and functional models, checked against
//! values computed by hand from the layer definitions.

use tessera::nn::analysis::{LayerStats, ReceptiveField};
use tessera::nn::layers::{self, Layer};
use tessera::nn::models::Sequential;
use tessera::prelude::*;

/// A square field: `size`×`size`, stride and padding the same along both axes.
fn square(size: usize, stride: usize, padding: usize) -> Option<ReceptiveField> {
    Some(ReceptiveField { size: [size, size], stride: [stride, stride], padding: [padding, padding] })
}

fn stats_of(rows: &[LayerStats], name: &str) -> LayerStats {
    rows.iter().find(|r| r.name == name).unwrap_or_else(|| panic!("no layer '{name}'")).clone()
}

fn built(mut m: Sequential, input: &[usize]) -> Sequential {
    m.build(input, &Device::Cpu, 0).unwrap();
    m
}

fn conv3() -> layers::Conv2D {
    layers::Conv2D::new(8, 3).padding(Padding::Same)
}

#[test]
fn stacked_3x3_convolutions_see_5x5_then_7x7() {
    let m = built(Sequential::new().with(conv3()).with(conv3()).with(conv3()), &[32, 32, 3]);
    let fields: Vec<_> = m.layer_stats().iter().map(|r| r.receptive_field).collect();
    assert_eq!(fields, vec![square(3, 1, 1), square(5, 1, 2), square(7, 1, 3)]);
    // VALID 3×3 convs see the same windows, without padding.
    let valid = || layers::Conv2D::new(4, 3);
    let m = built(Sequential::new().with(valid()).with(valid()).with(valid()), &[16, 16, 1]);
    assert_eq!(m.layer_stats()[2].receptive_field, square(7, 1, 0));
}

#[test]
fn lenet5_fields_and_multiply_adds() {
    let m = built(tessera::zoo::lenet5(), &[28, 28, 1]);
    let rows = m.layer_stats();
    let want: [(&str, Option<ReceptiveField>, usize); 10] = [
        ("conv2d", square(3, 1, 0), 26 * 26 * 6 * 3 * 3),
        ("max_pooling2d", square(4, 2, 0), 0),
        ("re_lu", square(4, 2, 0), 0),
        ("conv2d_1", square(8, 2, 0), 11 * 11 * 16 * 3 * 3 * 6),
        ("max_pooling2d_1", square(10, 4, 0), 0),
        ("re_lu_1", square(10, 4, 0), 0),
        ("flatten", None, 0),
        ("dense", None, 400 * 120),
        ("dense_1", None, 120 * 84),
        ("dense_2", None, 84 * 10),
    ];
    for (name, field, macs) in want {
        let r = stats_of(&rows, name);
        assert_eq!((r.receptive_field, r.macs), (field, macs), "{name}");
    }
    let table = m.analysis();
    assert!(table.contains("10×10 /4 pad 0"), "{table}");
    assert!(table.contains("Total mult-adds: 199,968"), "{table}");
}

/// VGG16's feature layers (Keras's `applications.VGG16` names): each 3×3 SAME ReLU conv with
/// its filters, or a 2×2 max pool (`None`).
fn vgg16_plan() -> Vec<(String, Option<usize>)> {
    let mut out = Vec::new();
    for (b, (filters, convs)) in [(64, 2), (128, 2), (256, 3), (512, 3), (512, 3)].into_iter().enumerate() {
        out.extend((1..=convs).map(|c| (format!("block{}_conv{c}", b + 1), Some(filters))));
        out.push((format!("block{}_pool", b + 1), None));
    }
    out
}

/// Calls `conv` or `pool` for each VGG16 feature layer, named.
fn vgg16_layers(mut conv: impl FnMut(layers::Conv2D), mut pool: impl FnMut(layers::MaxPool2D)) {
    for (name, filters) in vgg16_plan() {
        match filters {
            Some(f) => conv(layers::Conv2D::new(f, 3).padding(Padding::Same).activation(Activation::Relu).name(&name)),
            None => {
                let mut p = layers::MaxPool2D::new(2);
                p.set_name(name);
                pool(p)
            }
        }
    }
}

/// Hand-computed: block5_conv3 sees 196×196 (stride 16, padding 90); block5_pool, the last
/// conv block's output, sees 212×212 (stride 32, padding 90), as TF's receptive-field tool
/// reports for vgg_16.
const VGG_LAST: [(&str, Option<ReceptiveField>); 4] = [
    ("block1_conv2", Some(ReceptiveField { size: [5, 5], stride: [1, 1], padding: [2, 2] })),
    ("block4_pool", Some(ReceptiveField { size: [100, 100], stride: [16, 16], padding: [42, 42] })),
    ("block5_conv3", Some(ReceptiveField { size: [196, 196], stride: [16, 16], padding: [90, 90] })),
    ("block5_pool", Some(ReceptiveField { size: [212, 212], stride: [32, 32], padding: [90, 90] })),
];

#[test]
fn vgg16_sequential_last_conv_block_sees_212() {
    let m = std::cell::RefCell::new(Sequential::new().named("vgg16"));
    vgg16_layers(|c| m.borrow_mut().add(c), |p| m.borrow_mut().add(p));
    let mut m = m.into_inner();
    m.add(layers::Flatten::new());
    for units in [4096, 4096, 1000] {
        m.add(layers::Dense::new(units));
    }
    let m = built(m, &[224, 224, 3]);
    let rows = m.layer_stats();
    for (name, field) in VGG_LAST {
        assert_eq!(stats_of(&rows, name).receptive_field, field, "{name}");
    }
    assert_eq!(stats_of(&rows, "block1_conv1").macs, 224 * 224 * 3 * 3 * 3 * 64);
    // 15,346,630,656 in the convolutions + 123,633,664 in the classifier.
    assert_eq!(rows.iter().map(|r| r.macs).sum::<usize>(), 15_470_264_320);
}

#[test]
fn vgg16_functional_conv_base_matches() {
    let x = input_named(&[224, 224, 3], "image");
    let h = std::cell::RefCell::new(x.clone());
    let apply = |l: LayerRef| {
        let next = l.apply(&h.borrow()).unwrap();
        *h.borrow_mut() = next;
    };
    vgg16_layers(|c| apply(LayerRef::new(c)), |p| apply(LayerRef::new(p)));
    let h = h.into_inner();
    let m = Model::new(&[&x], &[&h]).unwrap();
    let rows = m.layer_stats();
    for (name, field) in VGG_LAST {
        assert_eq!(stats_of(&rows, name).receptive_field, field, "{name}");
    }
    assert_eq!(m.receptive_field(&[224, 224, 3]), VGG_LAST[3].1);
    assert_eq!(rows.iter().map(|r| r.macs).sum::<usize>(), 15_346_630_656);
}

#[test]
fn resnet18_blocks_fields_by_hand() {
    let m = built(tessera::zoo::resnet18_cifar(10), &[32, 32, 3]);
    let rows = m.layer_stats();
    // Stem 3×3 SAME; each block adds two 3×3 convs at its stride. A stride-2 SAME 3×3 conv on
    // an even input pads 0 above (1 below), so it adds no padding; the 1×1 shortcut's field
    // is smaller and the main path's is kept.
    let fields: Vec<_> = rows.iter().map(|r| r.receptive_field).collect();
    let want = vec![
        square(3, 1, 1),
        square(3, 1, 1),
        square(3, 1, 1),
        square(7, 1, 3),
        square(11, 1, 5),
        square(17, 2, 7),
        square(25, 2, 11),
        square(37, 4, 15),
        square(53, 4, 23),
        square(77, 8, 31),
        square(109, 8, 47),
        None,
        None,
    ];
    assert_eq!(fields, want);
    assert_eq!(rows[0].macs, 32 * 32 * 3 * 3 * 3 * 64);
    assert_eq!(rows[5].macs, 16 * 16 * 9 * 64 * 128 + 16 * 16 * 9 * 128 * 128 + 16 * 16 * 64 * 128);
    assert_eq!(rows.iter().map(|r| r.macs).sum::<usize>(), 555_422_720);
}

#[test]
fn functional_branches_keep_the_larger_field() {
    let x = input(&[9, 9, 2]);
    let a = layers::Conv2D::new(4, 3).padding(Padding::Same).apply(&x).unwrap();
    let a = layers::Conv2D::new(4, 3).padding(Padding::Same).apply(&a).unwrap();
    let b = layers::Conv2D::new(4, 1).apply(&x).unwrap();
    let s = layers::Add::new().apply_many(&[&a, &b]).unwrap();
    let p = layers::MaxPool2D::new(3).apply(&s).unwrap();
    let out = layers::Dense::new(3).apply(&layers::Flatten::new().apply(&p).unwrap()).unwrap();
    let m = Model::new(&[&x], &[&out]).unwrap();
    let rows = m.layer_stats();
    let add = rows.iter().find(|r| r.kind == "Add").unwrap();
    assert_eq!(add.receptive_field, square(5, 1, 2));
    let pool = rows.iter().find(|r| r.kind == "MaxPooling2D").unwrap();
    assert_eq!(pool.receptive_field, square(7, 3, 2));
    assert_eq!(rows.iter().map(|r| r.macs).sum::<usize>(), 81 * 9 * 2 * 4 + 81 * 9 * 4 * 4 + 81 * 2 * 4 + 36 * 3);
}

#[test]
fn every_zoo_model_has_an_analysis() {
    for e in tessera::zoo::MODELS {
        let net = tessera::zoo::built(e.name).unwrap().unwrap();
        let table = net.analysis();
        assert!(table.contains("Total mult-adds"), "{}: {table}", e.name);
        assert!(net.layer_stats().iter().any(|r| r.macs > 0), "{}", e.name);
    }
}
