//! The real Fashion-MNIST from the Debian package `dataset-fashion-mnist`
//! (`apt-get install dataset-fashion-mnist`; `tools/test-all.sh` installs it). The test fails,
//! never skips, when the package is missing.

use std::path::Path;
use std::time::Instant;

use tessera_data::{fashion_mnist, Split};

#[test]
fn real_fashion_mnist_from_the_debian_package() {
    assert!(
        Path::new(fashion_mnist::SYSTEM_DIR).is_dir(),
        "{} is missing: apt-get install dataset-fashion-mnist",
        fashion_mnist::SYSTEM_DIR
    );
    let nowhere = std::env::temp_dir().join(format!("tessera-data-no-fashion-{}", std::process::id()));
    let t = Instant::now();
    let train = fashion_mnist::load(Split::Train, Some(&nowhere)).unwrap();
    let test = fashion_mnist::load(Split::Test, Some(&nowhere)).unwrap();
    eprintln!("Fashion-MNIST verify + gunzip + parse, both splits: {:.2} s", t.elapsed().as_secs_f64());
    for (ds, n) in [(&train, 60_000), (&test, 10_000)] {
        assert_eq!(ds.shape(), [n, 28, 28, 1]);
        assert_eq!(ds.label_histogram(), vec![n / 10; 10], "Fashion-MNIST is balanced");
        let (lo, hi) = ds.images().iter().fold((f32::MAX, f32::MIN), |(lo, hi), &x| (lo.min(x), hi.max(x)));
        assert_eq!((lo, hi), (0.0, 1.0));
    }
    let (mean, std) = train.mean_std();
    assert!((mean - 0.2860).abs() < 2e-3 && (std - 0.3530).abs() < 3e-3, "mean {mean} std {std}");
    assert_eq!(fashion_mnist::CLASS_NAMES[usize::from(train.labels()[0])], "Ankle boot");
}
