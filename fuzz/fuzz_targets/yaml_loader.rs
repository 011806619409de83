//! cargo-fuzz target: see `blazes_fuzz::yaml`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| blazes_fuzz::yaml(data));
