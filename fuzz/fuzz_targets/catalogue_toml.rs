//! Fuzz target: the body is `stopgap::fuzzing::catalogue_toml`, which `cargo test` also replays.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| stopgap::fuzzing::catalogue_toml(data));
