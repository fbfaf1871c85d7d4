//! Fuzz target: the body is `stopgap::fuzzing::import_csv`, which `cargo test` also replays.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| stopgap::fuzzing::import_csv(data));
