//! Replays the committed fuzz corpora (`fuzz/corpus/<target>/`) through the same functions the
//! fuzz targets run (`stopgap::fuzzing`), so every input the fuzzer kept, including each crash
//! it found and that was fixed, is checked again by `cargo test` without libFuzzer.

#![allow(clippy::unwrap_used, reason = "a test fails loudly on purpose")]

use std::path::PathBuf;

use stopgap::fuzzing;

/// Runs `body` on every file of one target's corpus; returns how many there were.
fn replay(target: &str, body: fn(&[u8])) -> usize {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    for file in &files {
        let data = std::fs::read(file).unwrap();
        // A panic names the input, so it can be run again with `cargo fuzz run TARGET FILE`.
        let outcome = std::panic::catch_unwind(|| body(&data));
        assert!(outcome.is_ok(), "{target}: {} panicked", file.display());
    }
    files.len()
}

fn check(target: &str, body: fn(&[u8])) {
    let n = replay(target, body);
    assert!(n > 0, "the corpus of {target} is empty");
}

#[test]
fn request_csv_import_corpus_parses_without_a_panic() {
    check("import_csv", fuzzing::import_csv);
}

#[test]
fn reconciliation_csv_corpus_parses_without_a_panic() {
    check("reconcile_csv", fuzzing::reconcile_csv);
}

#[test]
fn catalogue_toml_corpus_parses_without_a_panic_and_round_trips() {
    check("catalogue_toml", fuzzing::catalogue_toml);
}

#[test]
fn profile_toml_corpus_parses_without_a_panic_and_round_trips() {
    check("profile_toml", fuzzing::profile_toml);
}

#[test]
fn downtime_id_corpus_parses_without_a_panic_and_reparses_to_itself() {
    check("downtime_id", fuzzing::downtime_id);
}

#[test]
fn nhs_number_corpus_parses_without_a_panic_and_passes_mod_11() {
    check("nhs_number", fuzzing::nhs_number);
}

#[test]
fn handover_bundle_corpus_reads_without_a_panic_and_writes_back_the_same_events() {
    check("handover_bundle", stopgap::fuzzing::handover_bundle);
}
