//! `cargo +nightly fuzz run checkpoint`: arbitrary bytes through `checkpoint::from_bytes` into a
//! small model with Adam. Must return Ok or a typed error; a panic or abort is a finding.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use tessera_nn::models::Sequential;

/// The model, built once per process (fresh processes give it the same names).
fn model() -> &'static Sequential {
    static MODEL: OnceLock<Sequential> = OnceLock::new();
    MODEL.get_or_init(tessera_fuzz::model)
}

fuzz_target!(|data: &[u8]| {
    let mut adam = tessera_nn::optimizers::Adam::default();
    let _ = tessera_nn::checkpoint::from_bytes(data, "fuzz", &model().variables(), Some(&mut adam));
});
