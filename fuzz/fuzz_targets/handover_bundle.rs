//! Fuzz target: the body is `stopgap::fuzzing::handover_bundle`, which `cargo test` also replays.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| stopgap::fuzzing::handover_bundle(data));
