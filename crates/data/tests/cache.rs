//! Checksums, the data directory, atomic writes and the fetch-verify-rename cache protocol.

use std::cell::Cell;
use std::path::Path;
use std::time::Duration;

use tessera_data::cache::{self, CachedFile};
use tessera_data::{fashion_mnist, DataError, Split};

mod common;
use common::temp_dir;

/// The names of everything in `dir`, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

const GOOD: &[u8] = b"the real content";

/// The cache entry for [`GOOD`].
fn good_file(sha: &str) -> [CachedFile<'_>; 1] {
    [CachedFile { name: "data.bin", sha256: sha }]
}

#[test]
fn sha256_known_vector_and_mismatch_error() {
    let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    assert_eq!(cache::sha256_hex(b"abc"), abc);
    let dir = temp_dir("sha");
    let path = dir.join("abc.txt");
    std::fs::write(&path, b"abc").unwrap();
    assert_eq!(cache::sha256_file(&path).unwrap(), abc);
    cache::verify_sha256(&path, &abc.to_uppercase()).unwrap();
    let wrong = "00".repeat(32);
    let e = cache::verify_sha256(&path, &wrong).unwrap_err();
    match &e {
        DataError::Checksum { path: p, expected, actual } => {
            assert_eq!((p, expected, actual), (&path, &wrong, &abc.to_string()));
        }
        other => panic!("expected a checksum error, got {other}"),
    }
    let msg = e.to_string();
    assert!(msg.contains("abc.txt") && msg.contains(&wrong) && msg.contains(abc), "{msg}");
}

#[test]
fn write_atomic_leaves_no_temporaries() {
    let dir = temp_dir("atomic");
    let path = dir.join("out.bin");
    cache::write_atomic(&path, b"first").unwrap();
    cache::write_atomic(&path, b"second").unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"second");
    assert_eq!(listing(&dir), ["out.bin"]);
    let e = cache::write_atomic(&dir.join("no-such-dir").join("x"), b"x").unwrap_err();
    assert!(matches!(e, DataError::Io { .. }) && e.to_string().contains("no-such-dir"), "{e}");
}

#[test]
fn ensure_cached_fetches_once_then_uses_the_cache() {
    let dir = temp_dir("once");
    let sha = cache::sha256_hex(GOOD);
    let calls = Cell::new(0);
    let fetch = |staging: &Path| {
        calls.set(calls.get() + 1);
        std::fs::write(staging.join("data.bin"), GOOD).unwrap();
        Ok(())
    };
    let paths = cache::ensure_cached(&dir, &good_file(&sha), fetch).unwrap();
    assert_eq!(paths, [dir.join("data.bin")]);
    cache::ensure_cached(&dir, &good_file(&sha), fetch).unwrap();
    assert_eq!(calls.get(), 1, "second call must use the cache");
    assert_eq!(listing(&dir), ["data.bin"], "staging directory removed");

    std::fs::write(dir.join("data.bin"), b"bit rot").unwrap();
    cache::ensure_cached(&dir, &good_file(&sha), fetch).unwrap();
    assert_eq!(calls.get(), 2, "a corrupted cache entry is fetched again");
    assert_eq!(std::fs::read(dir.join("data.bin")).unwrap(), GOOD);
}

#[test]
fn a_failed_refetch_of_a_corrupt_cache_says_why_it_refetched() {
    let dir = temp_dir("refetch-why");
    let sha = cache::sha256_hex(GOOD);
    std::fs::write(dir.join("data.bin"), b"bit rot").unwrap();
    let offline = |_: &Path| Err(DataError::MissingTool { tool: "npm".into(), hint: "install npm".into() });
    let e = cache::ensure_cached(&dir, &good_file(&sha), offline).unwrap_err().to_string();
    assert!(e.contains("checksum mismatch") && e.contains("data.bin") && e.contains("npm"), "{e}");
}

#[test]
fn ensure_cached_rejects_bad_downloads_without_installing_them() {
    let dir = temp_dir("bad");
    let sha = cache::sha256_hex(GOOD);
    let wrong = |staging: &Path| {
        std::fs::write(staging.join("data.bin"), b"tampered").unwrap();
        Ok(())
    };
    let e = cache::ensure_cached(&dir, &good_file(&sha), wrong).unwrap_err();
    match &e {
        DataError::Checksum { path, expected, actual } => {
            assert_eq!(path, &dir.join("data.bin"));
            assert_eq!(expected, &sha);
            assert_eq!(actual, &cache::sha256_hex(b"tampered"));
        }
        other => panic!("expected a checksum error, got {other}"),
    }
    assert!(listing(&dir).is_empty(), "nothing installed, staging removed: {:?}", listing(&dir));

    // A fetch that dies half-way (partial file, then an error) leaves nothing behind.
    let crash = |staging: &Path| {
        std::fs::write(staging.join("data.bin"), &GOOD[..4]).unwrap();
        Err(DataError::InvalidArgument("simulated network failure".into()))
    };
    let e = cache::ensure_cached(&dir, &good_file(&sha), crash).unwrap_err();
    assert!(e.to_string().contains("simulated network failure"), "{e}");
    assert!(listing(&dir).is_empty(), "{:?}", listing(&dir));

    let nothing = |_: &Path| Ok(());
    let e = cache::ensure_cached(&dir, &good_file(&sha), nothing).unwrap_err();
    assert!(matches!(e, DataError::MissingSource { .. }), "{e}");
}

#[test]
fn leftover_temporaries_are_never_read_and_get_cleaned() {
    let dir = temp_dir("leftover");
    let sha = cache::sha256_hex(GOOD);
    // What a crash mid-write leaves: a temp file and a staging dir holding a partial file.
    let tmp_file = dir.join(format!("{}999-0-0-data.bin", cache::TEMP_PREFIX));
    std::fs::write(&tmp_file, &GOOD[..5]).unwrap();
    let staging = dir.join(format!("{}999-1-0-staging", cache::TEMP_PREFIX));
    std::fs::create_dir(&staging).unwrap();
    std::fs::write(staging.join("data.bin"), GOOD).unwrap();

    let calls = Cell::new(0);
    let fetch = |s: &Path| {
        calls.set(calls.get() + 1);
        std::fs::write(s.join("data.bin"), GOOD).unwrap();
        Ok(())
    };
    cache::ensure_cached(&dir, &good_file(&sha), fetch).unwrap();
    assert_eq!(calls.get(), 1, "leftovers are not taken as a valid cache");
    assert_eq!(std::fs::read(dir.join("data.bin")).unwrap(), GOOD);
    // Fresh leftovers may belong to a live process: kept until stale.
    assert_eq!(cache::clean_stale_temps(&dir, Duration::from_secs(3600)).unwrap(), 0);
    assert_eq!(cache::clean_stale_temps(&dir, Duration::ZERO).unwrap(), 2);
    assert_eq!(listing(&dir), ["data.bin"]);
    assert_eq!(cache::clean_stale_temps(&dir.join("absent"), Duration::ZERO).unwrap(), 0);
}

#[test]
fn data_dir_follows_the_environment() {
    // The only test in this binary that touches the environment.
    let saved: Vec<_> = ["TESSERA_DATA", "XDG_CACHE_HOME", "HOME"].map(|k| (k, std::env::var_os(k))).into();
    std::env::set_var("TESSERA_DATA", "/data/tessera-here");
    std::env::set_var("XDG_CACHE_HOME", "/xdg");
    std::env::set_var("HOME", "/home/someone");
    assert_eq!(cache::data_dir().unwrap(), Path::new("/data/tessera-here"));
    std::env::remove_var("TESSERA_DATA");
    assert_eq!(cache::data_dir().unwrap(), Path::new("/xdg/tessera"));
    std::env::set_var("XDG_CACHE_HOME", "");
    assert_eq!(cache::data_dir().unwrap(), Path::new("/home/someone/.cache/tessera"));
    std::env::remove_var("HOME");
    std::env::remove_var("XDG_CACHE_HOME");
    assert!(matches!(cache::data_dir(), Err(DataError::NoDataDir(_))));
    assert_eq!(cache::resolve_dir(Some(Path::new("/explicit"))).unwrap(), Path::new("/explicit"));
    for (k, v) in saved {
        match v {
            Some(v) => std::env::set_var(k, v),
            None => std::env::remove_var(k),
        }
    }
}

#[test]
fn fashion_mnist_missing_source_says_how_to_install() {
    let dir = temp_dir("fashion-missing");
    let e = fashion_mnist::load_from(Split::Test, &dir).unwrap_err();
    assert!(matches!(e, DataError::MissingSource { .. }), "{e}");
    let msg = e.to_string();
    assert!(msg.contains("apt-get install dataset-fashion-mnist") && msg.contains("t10k-images"), "{msg}");
    // Present but wrong bytes: a checksum error naming the file.
    std::fs::write(dir.join("t10k-images-idx3-ubyte.gz"), b"nope").unwrap();
    std::fs::write(dir.join("t10k-labels-idx1-ubyte.gz"), b"nope").unwrap();
    let e = fashion_mnist::load_from(Split::Test, &dir).unwrap_err();
    assert!(matches!(e, DataError::Checksum { .. }) && e.to_string().contains("t10k-images-idx3-ubyte.gz"), "{e}");
}
