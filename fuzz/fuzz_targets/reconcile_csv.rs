//! Fuzz target: the body is `stopgap::fuzzing::reconcile_csv`, which `cargo test` also replays.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| stopgap::fuzzing::reconcile_csv(data));
