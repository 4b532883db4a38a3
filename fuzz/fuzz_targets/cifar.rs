//! `cargo +nightly fuzz run cifar`: arbitrary bytes through the CIFAR-10 and CIFAR-100 record
//! parsers. Ok (with labels in range and NHWC pixels in [0, 1]) or a typed error.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use tessera_data::cifar;

fuzz_target!(|data: &[u8]| {
    let p = Path::new("fuzz");
    let parsed = [
        cifar::parse_cifar10(data, p),
        cifar::parse_cifar100(data, p, cifar::Cifar100Label::Coarse),
        cifar::parse_cifar100(data, p, cifar::Cifar100Label::Fine),
    ];
    for d in parsed.into_iter().flatten() {
        assert!(!d.is_empty(), "an Ok dataset has records");
        assert_eq!(d.images().len(), d.len() * cifar::PIXELS, "one image per label");
        assert!(d.images().iter().all(|v| (0.0..=1.0).contains(v)), "pixels in [0, 1]");
    }
});
