//! Fuzz target: the body is `stopgap::fuzzing::downtime_id`, which `cargo test` also replays.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| stopgap::fuzzing::downtime_id(data));
