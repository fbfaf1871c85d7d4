//! Fuzz target: the body is `stopgap::fuzzing::nhs_number`, which `cargo test` also replays.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| stopgap::fuzzing::nhs_number(data));
