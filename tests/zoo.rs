//! The zoo's catalog and its networks that Keras does not ship: every entry builds for its
//! usual input (shapes only), and the tutorial networks have the parameter counts of their
//! Keras equivalents (the published torchvision figures where there are some).

use tessera::functional::Model;
use tessera::layers::{clear_session, Param};
use tessera::zoo;

/// A zoo constructor: (input shape, classes) → model.
type Make = fn(&[usize], usize) -> tessera::Result<Model>;

fn counts(m: &Model) -> (usize, usize) {
    let vars = m.variables();
    let total = vars.iter().map(Param::numel).sum();
    (total, vars.iter().filter(|v| v.trainable()).map(Param::numel).sum())
}

#[test]
fn catalog_names_are_unique_and_found_by_name() {
    let names: Vec<&str> = zoo::catalog().iter().map(|s| s.name).collect();
    for (i, n) in names.iter().enumerate() {
        assert!(!names[..i].contains(n), "{n} listed twice");
        assert_eq!(zoo::by_name(n).unwrap().name, *n);
    }
    let err = zoo::by_name("resnet9000").err().unwrap().to_string();
    assert!(err.contains("no model 'resnet9000'") && err.contains("vgg13_cifar"), "{err}");
}

#[test]
fn tutorial_networks_have_their_keras_parameter_counts() {
    // (constructor, input, classes, total, trainable): totals of the same networks built in
    // Keras 3.15; resnet18/34's trainable counts are torchvision's published figures
    let cases: [(Make, [usize; 3], usize, usize, usize); 8] = [
        (zoo::alexnet, [224, 224, 3], 1000, 50_844_008, 50_844_008),
        (zoo::vgg13_cifar, [32, 32, 3], 100, 9_582_116, 9_582_116),
        (zoo::resnet18_cifar, [32, 32, 3], 100, 11_230_948, 11_223_140),
        (zoo::resnet34_cifar, [32, 32, 3], 100, 21_350_244, 21_335_012),
        (zoo::resnet18, [224, 224, 3], 1000, 11_699_112, 11_689_512),
        (zoo::resnet34, [224, 224, 3], 1000, 21_814_696, 21_797_672),
        (zoo::googlenet, [224, 224, 3], 1000, 6_998_552, 6_998_552),
        (zoo::shufflenet, [32, 32, 3], 100, 1_025_308, 1_000_828),
    ];
    for (make, input, classes, total, trainable) in cases {
        clear_session();
        let m = make(&input, classes).unwrap();
        assert_eq!(counts(&m), (total, trainable), "{}", m.name());
        assert_eq!(m.outputs()[0].shape(), &[classes], "{}", m.name());
    }
}

#[test]
fn vgg_variants_have_torchvision_parameter_counts() {
    // torchvision's vgg11, vgg13, vgg16_bn and vgg19_bn (trainable; BN adds as many moving
    // statistics as it has trainable scales and offsets)
    for (depth, bn, trainable, moving) in [
        (11, false, 132_863_336, 0),
        (13, false, 133_047_848, 0),
        (16, true, 138_365_992, 8_448),
        (19, true, 143_678_248, 11_008),
    ] {
        clear_session();
        let m = zoo::vgg(depth, bn, &[224, 224, 3], 1000).unwrap();
        assert_eq!(counts(&m), (trainable + moving, trainable), "vgg{depth} bn={bn}");
    }
    assert!(zoo::vgg(12, false, &[224, 224, 3], 10).is_err());
}

#[test]
fn vgg13_cifar_and_resnet18_cifar_follow_the_tutorial_shapes() {
    clear_session();
    let m = zoo::vgg13_cifar(&[32, 32, 3], 100).unwrap();
    let shapes: Vec<Vec<usize>> = m.layers().iter().map(|l| l.output_shape().unwrap()).collect();
    assert!(shapes.contains(&vec![1, 1, 512]), "{shapes:?}");
    assert_eq!(shapes.last().unwrap(), &vec![100]);
    let m = zoo::resnet18_cifar(&[32, 32, 3], 100).unwrap();
    // stem: 3×3 VALID conv → 30×30, stride-1 pool keeps it; stages halve it to 4×4
    assert_eq!(m.get_layer("conv1_conv").unwrap().output_shape().unwrap(), vec![30, 30, 64]);
    assert_eq!(m.get_layer("pool1_pool").unwrap().output_shape().unwrap(), vec![30, 30, 64]);
    assert_eq!(m.get_layer("conv5_block2_out").unwrap().output_shape().unwrap(), vec![4, 4, 512]);
    // the projection shortcut is a biased 1×1 conv without BN
    assert_eq!(m.get_layer("conv3_block1_0_conv").unwrap().count_params(), 64 * 128 + 128);
    assert!(m.get_layer("conv3_block1_0_bn").is_none());
}

#[test]
fn every_catalog_entry_builds_its_graph_for_its_usual_input() {
    for spec in zoo::catalog() {
        clear_session();
        let mut m = (spec.make)(&spec.input, spec.classes).unwrap();
        if let zoo::ZooModel::Sequential(..) = m {
            m.build(&tessera::Device::Cpu, 0).unwrap();
        }
        assert!(m.count_params() > 0, "{}", spec.name);
        assert!(m.summary().contains("Total params"), "{}", spec.name);
    }
}

#[test]
fn tessera_summary_prints_keras_totals_and_rejects_bad_arguments() {
    let run = |args: &[&str]| std::process::Command::new(env!("CARGO_BIN_EXE_tessera")).args(args).output().unwrap();
    let out = run(&["summary", "resnet50"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    // keras.applications.ResNet50().summary()
    assert!(text.contains("Total params: 25,636,712"), "{text}");
    assert!(text.contains("Non-trainable params: 53,120"), "{text}");
    assert!(text.contains("conv5_block3_out (Activation)"), "{text}");
    let out = run(&["summary", "vgg13_cifar", "--input-shape", "64,48,3", "--classes", "7"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("(None, 64, 48, 3)") && text.contains("(None, 2, 2, 512)"), "{text}");
    assert!(text.contains("(None, 7)"), "{text}");
    let out = run(&["summary", "vgg13_cifar", "--input-shape", "64,48"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("'64,48' is not H,W,C"));
    let out = run(&["summary", "resnet9000"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no model 'resnet9000'"));
}

#[test]
fn shufflenet_units_group_shuffle_and_join_as_the_paper() {
    use tessera::functional::input;
    clear_session();
    let x = input(&[16, 16, 240]);
    let y = zoo::shufflenet_unit(&x, 240, 3, 1, true, "u").unwrap();
    let m = Model::new(&[&x], &[&y]).unwrap();
    // grouped 1×1 240 → 60 (3 groups): 240/3 · 60 weights; depthwise 3×3; grouped 60 → 240
    assert_eq!(m.get_layer("u_gconv1").unwrap().count_params(), 80 * 60);
    assert_eq!(m.get_layer("u_shuffle").unwrap().kind(), "ChannelShuffle");
    assert_eq!(m.get_layer("u_dwconv").unwrap().count_params(), 9 * 60);
    assert_eq!(m.get_layer("u_gconv2").unwrap().count_params(), 20 * 240);
    assert_eq!(m.get_layer("u_add").unwrap().output_shape().unwrap(), vec![16, 16, 240]);
    let y = zoo::shufflenet_unit(&x, 480, 3, 2, true, "d").unwrap();
    let m = Model::new(&[&x], &[&y]).unwrap();
    // stride 2: the branch makes 480 − 240 channels, concatenated with the pooled input
    assert_eq!(m.get_layer("d_gconv2").unwrap().output_shape().unwrap(), vec![8, 8, 240]);
    assert_eq!(m.get_layer("d_concat").unwrap().output_shape().unwrap(), vec![8, 8, 480]);
    assert!(zoo::shufflenet_unit(&x, 240, 7, 1, true, "bad").is_err(), "240 channels in 7 groups");
}
