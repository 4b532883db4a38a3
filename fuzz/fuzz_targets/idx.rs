//! `cargo +nightly fuzz run idx`: arbitrary bytes through `idx::parse` (plain IDX, each magic
//! expectation) and `idx::parse_file_bytes` (what `idx::read` does with a file: gzip inflated
//! no further than the header says). Ok or a typed error; a panic, abort or OOM is a finding.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use tessera_data::idx;

fuzz_target!(|data: &[u8]| {
    let p = Path::new("fuzz");
    for expect in [None, Some(idx::IMAGES_MAGIC), Some(idx::LABELS_MAGIC)] {
        if let Ok(a) = idx::parse(data, p, expect) {
            assert_eq!(a.data.len(), a.dims.iter().product::<usize>(), "parse: dims and data agree");
        }
    }
    if let Ok(a) = idx::parse_file_bytes(data, p, None) {
        assert_eq!(a.data.len(), a.dims.iter().product::<usize>(), "parse_file_bytes: dims and data agree");
    }
});
