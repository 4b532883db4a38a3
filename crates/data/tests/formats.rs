//! IDX and CIFAR readers on generated files: round trips (plain and gzip) and every corruption
//! case returning the right typed error naming the file.

use std::path::{Path, PathBuf};

use tessera_data::cifar::{self, Cifar100Label};
use tessera_data::idx::{self, IdxArray};
use tessera_data::{DataError, Dataset};

mod common;
use common::temp_dir;

/// Deterministic pseudo-random bytes.
fn bytes(n: usize, seed: u64) -> Vec<u8> {
    let mut rng = tessera_data::rng::SplitMix64::new(seed);
    (0..n).map(|_| rng.next_u64() as u8).collect()
}

/// Writes raw bytes to `dir/name`.
fn put(dir: &Path, name: &str, data: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, data).unwrap();
    path
}

/// Asserts the error's message names the file.
fn names(err: &DataError, path: &Path) {
    let msg = err.to_string();
    assert!(msg.contains(&path.display().to_string()), "message {msg:?} does not name {}", path.display());
}

#[test]
fn idx_round_trip_plain_and_gzip() {
    let dir = temp_dir("round_trip");
    let pixels = bytes(3 * 4 * 5, 1);
    let labels = vec![2u8, 0, 9];
    for gz in [false, true] {
        let img_path = dir.join(format!("images-{gz}"));
        let lab_path = dir.join(format!("labels-{gz}"));
        idx::write(&img_path, &[3, 4, 5], &pixels, gz).unwrap();
        idx::write(&lab_path, &[3], &labels, gz).unwrap();
        let head = std::fs::read(&img_path).unwrap();
        assert_eq!(head[..2] == [0x1f, 0x8b], gz, "gzip magic iff compressed");
        assert_eq!(idx::read_images(&img_path).unwrap(), IdxArray { dims: vec![3, 4, 5], data: pixels.clone() });
        assert_eq!(idx::read_labels(&lab_path).unwrap(), IdxArray { dims: vec![3], data: labels.clone() });
        let ds = Dataset::from_idx(&img_path, &lab_path, 10).unwrap();
        assert_eq!(ds.shape(), [3, 4, 5, 1]);
        assert_eq!(ds.labels(), &labels[..]);
        assert_eq!(ds.images()[7], f32::from(pixels[7]) / 255.0);
    }
    let rank2 = dir.join("rank2");
    idx::write(&rank2, &[2, 3], &[1, 2, 3, 4, 5, 6], false).unwrap();
    assert_eq!(idx::read(&rank2).unwrap().dims, vec![2, 3]);
    assert_eq!(idx::encode(&[2, 2], &[1, 2, 3, 4]).unwrap(), vec![0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 2, 1, 2, 3, 4]);
    assert!(matches!(idx::encode(&[2, 2], &[1, 2, 3]), Err(DataError::InvalidArgument(_))));
}

/// A valid 2×3×2 image file's bytes.
fn valid_images() -> Vec<u8> {
    idx::encode(&[2, 3, 2], &bytes(12, 2)).unwrap()
}

#[test]
fn idx_corruption_gives_typed_errors_naming_the_file() {
    let dir = temp_dir("corrupt");
    for gz in [false, true] {
        let wrap = |b: Vec<u8>| if gz { idx::gzip(&b) } else { b };
        let tag = if gz { "gz" } else { "plain" };

        let mut bad = valid_images();
        bad[0] = 1;
        let p = put(&dir, &format!("badmagic-{tag}"), &wrap(bad));
        let e = idx::read_images(&p).unwrap_err();
        assert!(matches!(e, DataError::BadMagic { found: [1, 0, 8, 3], .. }), "{e}");
        names(&e, &p);

        let p = put(&dir, &format!("as-labels-{tag}"), &wrap(valid_images()));
        let e = idx::read_labels(&p).unwrap_err();
        assert!(matches!(e, DataError::WrongType { expected: 0x801, found: 0x803, .. }), "{e}");
        names(&e, &p);

        let mut float = valid_images();
        float[2] = 0x0D;
        let p = put(&dir, &format!("float-{tag}"), &wrap(float));
        for e in [idx::read_images(&p).unwrap_err(), idx::read(&p).unwrap_err()] {
            assert!(matches!(e, DataError::WrongType { found: 0x0D03, .. }), "{e}");
            names(&e, &p);
        }

        let full = valid_images();
        let p = put(&dir, &format!("short-{tag}"), &wrap(full[..full.len() - 1].to_vec()));
        let e = idx::read_images(&p).unwrap_err();
        assert!(matches!(e, DataError::Truncated { expected: 28, actual: 27, .. }), "{e}");
        names(&e, &p);

        let p = put(&dir, &format!("header-{tag}"), &wrap(full[..9].to_vec()));
        let e = idx::read_images(&p).unwrap_err();
        assert!(matches!(e, DataError::Truncated { expected: 16, actual: 9, .. }), "{e}");

        for len in [0, 3] {
            let p = put(&dir, &format!("tiny{len}-{tag}"), &wrap(full[..len].to_vec()));
            let e = idx::read_images(&p).unwrap_err();
            assert!(matches!(e, DataError::Truncated { expected: 4, .. }), "{e}");
            names(&e, &p);
        }

        let mut long = valid_images();
        long.extend_from_slice(b"junk");
        let p = put(&dir, &format!("trailing-{tag}"), &wrap(long));
        let e = idx::read_images(&p).unwrap_err();
        assert!(matches!(e, DataError::TrailingBytes { expected: 28, extra: 4, .. }), "{e}");
        names(&e, &p);

        let huge = [0, 0, 8, 3, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255].to_vec();
        let p = put(&dir, &format!("overflow-{tag}"), &wrap(huge));
        let e = idx::read_images(&p).unwrap_err();
        assert!(matches!(e, DataError::Invalid { .. }) && e.to_string().contains("overflow"), "{e}");
        names(&e, &p);
    }
}

#[test]
fn gzip_damage_is_a_gzip_error() {
    let dir = temp_dir("gzip");
    let gz = idx::gzip(&valid_images());
    let p = put(&dir, "cut.gz", &gz[..gz.len() - 6]);
    let e = idx::read_images(&p).unwrap_err();
    assert!(matches!(e, DataError::Gzip { .. }), "{e}");
    names(&e, &p);

    let mut crc = gz.clone();
    let n = crc.len();
    crc[n - 6] ^= 0xff; // damage the CRC-32 trailer
    let p = put(&dir, "crc.gz", &crc);
    let e = idx::read_images(&p).unwrap_err();
    assert!(matches!(e, DataError::Gzip { .. }), "{e}");
    names(&e, &p);

    let mut tail = gz.clone();
    tail.extend_from_slice(b"trailing garbage after the gzip stream");
    let p = put(&dir, "tail.gz", &tail);
    let e = idx::read_images(&p).unwrap_err();
    assert!(matches!(e, DataError::Gzip { .. }), "{e}");
    names(&e, &p);

    let missing = dir.join("does-not-exist");
    let e = idx::read_images(&missing).unwrap_err();
    assert!(matches!(e, DataError::Io { .. }), "{e}");
    names(&e, &missing);
}

#[test]
fn idx_never_panics_on_damaged_input() {
    let dir = temp_dir("fuzz");
    let good = valid_images();
    let p = Path::new("fuzz.idx");
    for len in 0..good.len() + 3 {
        let mut b = good.clone();
        b.resize(len, 7);
        assert_eq!(idx::parse(&b, p, None).is_ok(), len == good.len());
    }
    let gz = idx::gzip(&good);
    for i in 0..gz.len() {
        for flip in [0x01u8, 0x80, 0xff] {
            let mut b = gz.clone();
            b[i] ^= flip;
            let f = put(&dir, "flip.gz", &b);
            let _ = idx::read_images(&f); // Ok or Err, never a panic
            let _ = idx::parse(&b, p, None);
        }
    }
}

#[test]
fn idx_pair_mismatches_name_the_labels_file() {
    let dir = temp_dir("pair");
    let img = dir.join("img");
    idx::write(&img, &[2, 3, 2], &bytes(12, 3), false).unwrap();
    let three = dir.join("three-labels");
    idx::write(&three, &[3], &[1, 2, 3], false).unwrap();
    let e = Dataset::from_idx(&img, &three, 10).unwrap_err();
    assert!(matches!(e, DataError::Invalid { .. }), "{e}");
    names(&e, &three);
    let big = dir.join("big-label");
    idx::write(&big, &[2], &[1, 10], false).unwrap();
    let e = Dataset::from_idx(&img, &big, 10).unwrap_err();
    assert!(e.to_string().contains("label 10 at index 1"), "{e}");
    names(&e, &big);
}

/// CIFAR test pixel value for record `i`, channel `c`, row `y`, column `x`.
fn px(i: usize, c: usize, y: usize, x: usize) -> u8 {
    ((c * 31 + y * 7 + x * 3 + i * 11) % 256) as u8
}

/// `n` CIFAR records with the given label bytes per record (CHW pixels from [`px`]).
fn cifar_records(labels: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, l) in labels.iter().enumerate() {
        out.extend_from_slice(l);
        for c in 0..3 {
            for y in 0..32 {
                for x in 0..32 {
                    out.push(px(i, c, y, x));
                }
            }
        }
    }
    out
}

/// Checks that `ds` holds the [`px`] images in NHWC order.
fn check_nhwc(ds: &Dataset, first_record: usize) {
    for i in 0..ds.len() {
        let img = ds.image(i).unwrap();
        for (y, x, c) in [(0, 0, 0), (0, 0, 2), (5, 17, 1), (31, 31, 2), (31, 0, 0)] {
            assert_eq!(img[(y * 32 + x) * 3 + c], f32::from(px(first_record + i, c, y, x)) / 255.0);
        }
    }
}

#[test]
fn cifar10_parses_to_nhwc() {
    let dir = temp_dir("cifar10");
    let a = put(&dir, "data_batch_1.bin", &cifar_records(&[vec![3], vec![9]]));
    let mut second = cifar_records(&[vec![0], vec![0], vec![7]]);
    second.drain(..2 * cifar::CIFAR10_RECORD); // keep only record index 2 (label 7)
    let b = put(&dir, "data_batch_2.bin.gz", &idx::gzip(&second));
    let ds = cifar::read_cifar10(&[&a, &b]).unwrap();
    assert_eq!(ds.shape(), [3, 32, 32, 3]);
    assert_eq!(ds.labels(), &[3, 9, 7]);
    assert_eq!(ds.num_classes(), 10);
    check_nhwc(&ds.subset(0..2).unwrap(), 0);
    assert_eq!(ds.image(2).unwrap()[(5 * 32 + 17) * 3 + 1], f32::from(px(2, 1, 5, 17)) / 255.0);
}

#[test]
fn cifar100_coarse_and_fine_labels() {
    let dir = temp_dir("cifar100");
    let p = put(&dir, "train.bin", &cifar_records(&[vec![19, 99], vec![4, 42]]));
    let fine = cifar::read_cifar100(&p, Cifar100Label::Fine).unwrap();
    let coarse = cifar::read_cifar100(&p, Cifar100Label::Coarse).unwrap();
    assert_eq!((fine.labels(), fine.num_classes()), (&[99u8, 42][..], 100));
    assert_eq!((coarse.labels(), coarse.num_classes()), (&[19u8, 4][..], 20));
    check_nhwc(&fine, 0);
    assert_eq!(fine.images(), coarse.images());
}

#[test]
fn cifar_truncated_and_bad_labels_are_errors() {
    let dir = temp_dir("cifar_bad");
    let full = cifar_records(&[vec![1], vec![2]]);
    let p = put(&dir, "short.bin", &full[..full.len() - 1]);
    let e = cifar::read_cifar10(&[&p]).unwrap_err();
    assert!(matches!(e, DataError::Truncated { expected: 6146, actual: 6145, .. }), "{e}");
    names(&e, &p);
    let p = put(&dir, "empty.bin", &[]);
    let e = cifar::read_cifar10(&[&p]).unwrap_err();
    assert!(matches!(e, DataError::Truncated { expected: 3073, actual: 0, .. }), "{e}");
    names(&e, &p);
    // A CIFAR-10 file read as CIFAR-100 does not end on a 3074-byte boundary.
    let p = put(&dir, "ten.bin", &full);
    let e = cifar::read_cifar100(&p, Cifar100Label::Fine).unwrap_err();
    assert!(matches!(e, DataError::Truncated { .. }), "{e}");
    let p = put(&dir, "label.bin", &cifar_records(&[vec![1], vec![10]]));
    let e = cifar::read_cifar10(&[&p]).unwrap_err();
    assert!(matches!(e, DataError::Invalid { .. }) && e.to_string().contains("record 1 has label 10"), "{e}");
    names(&e, &p);
    let p = put(&dir, "coarse.bin", &cifar_records(&[vec![20, 5]]));
    assert!(cifar::read_cifar100(&p, Cifar100Label::Coarse).is_err());
    assert!(cifar::read_cifar100(&p, Cifar100Label::Fine).is_ok());
}

#[test]
fn a_gzip_bomb_is_rejected_after_its_header_not_after_inflating() {
    let dir = std::env::temp_dir().join(format!("tessera-bomb-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // A header declaring 4 data bytes, followed by 64 MiB of zeros (a ~64 KiB gzip).
    let mut bytes = idx::encode(&[4], &[1, 2, 3, 4]).unwrap();
    bytes.resize(bytes.len() + (64 << 20), 0);
    let p = dir.join("bomb.gz");
    std::fs::write(&p, idx::gzip(&bytes)).unwrap();
    let start = std::time::Instant::now();
    let e = idx::read(&p).unwrap_err();
    match e {
        // Only the declared size plus a 64 KiB slack was inflated.
        DataError::TrailingBytes { expected: 12, extra, .. } => assert!(extra <= 64 << 10, "extra {extra}"),
        other => panic!("expected trailing bytes, got {other}"),
    }
    assert!(start.elapsed().as_secs() < 5, "rejected quickly");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `n` CIFAR records whose labels cycle through `0..classes` (CIFAR-100: coarse = fine % 20).
fn official(n: usize, classes: usize, hundred: bool) -> Vec<u8> {
    let labels: Vec<Vec<u8>> = (0..n)
        .map(|i| {
            let l = (i % classes) as u8;
            if hundred {
                vec![l % 20, l]
            } else {
                vec![l]
            }
        })
        .collect();
    cifar_records(&labels)
}

#[test]
fn cifar_official_folders_and_archives_load_and_wrong_sizes_are_rejected() {
    let dir = temp_dir("cifar_official");
    // CIFAR-100 from its extracted folder.
    let c100 = dir.join(cifar::CIFAR100.folder);
    std::fs::create_dir_all(&c100).unwrap();
    put(&c100, "test.bin", &official(10_000, 100, true));
    let ds = cifar::load_cifar100(tessera_data::Split::Test, &dir, Cifar100Label::Fine).unwrap();
    assert_eq!(ds.shape(), [10_000, 32, 32, 3]);
    assert_eq!(ds.label_histogram(), vec![100; 100]);
    check_nhwc(&ds.subset(0..3).unwrap(), 0);
    // A test file of the wrong size names the file and the official size.
    let p = put(&c100, "test.bin", &official(9_999, 100, true));
    let e = cifar::load_cifar100(tessera_data::Split::Test, &dir, Cifar100Label::Fine).unwrap_err();
    assert!(matches!(e, DataError::Invalid { .. }), "{e}");
    assert!(e.to_string().contains("official file holds 10000 records of 3074 bytes"), "{e}");
    names(&e, &p);
    // CIFAR-10 from the .tar.gz archive only: extracted on first use.
    let staging = dir.join("staging");
    let c10 = staging.join(cifar::CIFAR10.folder);
    std::fs::create_dir_all(&c10).unwrap();
    put(&c10, "test_batch.bin", &official(10_000, 10, false));
    let status = std::process::Command::new("tar")
        .arg("-czf")
        .arg(dir.join(cifar::CIFAR10.archive))
        .arg("-C")
        .arg(&staging)
        .arg(cifar::CIFAR10.folder)
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::remove_dir_all(&staging).unwrap();
    let ds = cifar::load_cifar10(tessera_data::Split::Test, &dir).unwrap();
    assert_eq!((ds.shape(), ds.label_histogram()), ([10_000, 32, 32, 3], vec![1000; 10]));
    assert!(dir.join(cifar::CIFAR10.folder).join("test_batch.bin").is_file());
    // The training batches are missing: the error names the first one.
    let e = cifar::load_cifar10(tessera_data::Split::Train, &dir).unwrap_err();
    assert!(e.to_string().contains("data_batch_1.bin"), "{e}");
    // Nothing there at all: the error says what to download and where.
    let empty = temp_dir("cifar_none");
    let e = cifar::load_cifar10(tessera_data::Split::Test, &empty).unwrap_err();
    assert!(matches!(e, DataError::MissingSource { .. }) && e.to_string().contains("cifar-10-binary.tar.gz"), "{e}");
}
