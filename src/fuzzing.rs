//! The bodies of the fuzz targets in `fuzz/`, one function per input read from outside.
//!
//! They live in the library so that the fuzz crate and the corpus replay in `cargo test`
//! (`tests/store/fuzz_corpus.rs`) run exactly the same code. Each takes raw bytes, feeds them to
//! the parser as the app would, and asserts an invariant that is cheap to check. A parser may
//! refuse any input; it must never panic, and what it accepts must keep the invariant. A panic
//! here (from the parser or from an assertion) is what the fuzzer reports as a crash.
//!
//! Not part of Stopgap's interface: hidden from the docs and used only by the fuzzing harness.

use std::sync::OnceLock;

use chrono::{DateTime, TimeZone, Utc};

use crate::domain::catalogue::Catalogue;
use crate::domain::downtime_id::DowntimeId;
use crate::domain::nhs_number::NhsNumber;
use crate::export::Profile;
use crate::handover::{read_bundle, write_bundle};
use crate::import::parse_requests;
use crate::store::read_reconcile_csv;

/// A fixed "now" for the import's date checks, so the same input always gives the same result.
fn fixed_now() -> Option<DateTime<Utc>> {
    Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).single()
}

/// The shipped catalogue, parsed once: parsing it on every input would dominate the run.
fn shipped_catalogue() -> Option<&'static Catalogue> {
    static CATALOGUE: OnceLock<Option<Catalogue>> = OnceLock::new();
    CATALOGUE
        .get_or_init(|| Catalogue::default_uk().ok())
        .as_ref()
}

/// A request CSV, as `stopgap import` reads it (validation included, nothing saved). Every
/// accepted row has a row number past the header, in file order, and carries at least one
/// patient identifier.
pub fn import_csv(data: &[u8]) {
    let (Some(now), Some(catalogue)) = (fixed_now(), shipped_catalogue()) else {
        return;
    };
    let Ok(rows) = parse_requests(data, now, catalogue) else {
        return;
    };
    let mut last = 1;
    for (row, request) in &rows {
        assert!(*row > last, "row numbers must increase past the header");
        last = *row;
        assert!(
            !request.tests.is_empty(),
            "an accepted request names at least one test"
        );
    }
}

/// A reconciliation CSV, as `stopgap reconcile` reads it before checking rows against the
/// store. Rows are numbered past the header in file order, cells are trimmed, and no row is
/// all blank.
pub fn reconcile_csv(data: &[u8]) {
    let Ok(rows) = read_reconcile_csv(data) else {
        return;
    };
    let mut last = 1;
    for row in &rows {
        assert!(row.row > last, "row numbers must increase past the header");
        last = row.row;
        let cells = [
            &row.downtime_id,
            &row.accession,
            &row.entered_by,
            &row.entered_at,
            &row.shared_accession,
        ];
        for cell in cells {
            assert_eq!(cell.trim(), cell.as_str(), "cells are trimmed");
        }
        // The store parses each row's ID next; whatever a row holds, that must not panic.
        if let Ok(id) = DowntimeId::parse(&row.downtime_id) {
            assert_eq!(DowntimeId::parse(&id.canonical()).ok(), Some(id));
        }
    }
}

/// A test catalogue TOML file, as the catalogue import reads it. What is accepted is written
/// back as TOML (how it is stored) and reads back as the same catalogue.
pub fn catalogue_toml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(catalogue) = Catalogue::from_toml(text) else {
        return;
    };
    let again = Catalogue::from_toml(&catalogue.to_toml());
    assert_eq!(again.as_ref().ok(), Some(&catalogue), "{again:?}");
    // Search runs on every keystroke of the form over the whole catalogue.
    for query in ["", "f", "FBC", "g&s", text.get(..4).unwrap_or("")] {
        let _hits = catalogue.search(query);
    }
}

/// An export profile TOML file. What is accepted is written back as TOML and reads back as the
/// same profile.
pub fn profile_toml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(profile) = Profile::from_toml(text) else {
        return;
    };
    let again = Profile::from_toml(&profile.to_toml());
    assert_eq!(again.as_ref().ok(), Some(&profile), "{again:?}");
}

/// A downtime ID as typed by a person. What is accepted re-parses to itself from its canonical
/// and its grouped forms, and the canonical form is 13 characters.
pub fn downtime_id(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(id) = DowntimeId::parse(text) else {
        return;
    };
    let canonical = id.canonical();
    assert_eq!(canonical.len(), 13);
    assert_eq!(DowntimeId::parse(&canonical).ok().as_ref(), Some(&id));
    assert_eq!(DowntimeId::parse(&id.grouped()).ok().as_ref(), Some(&id));
}

/// An NHS number as typed by a person. What is accepted has ten digits that pass the mod-11
/// check (NHS Data Dictionary) and are not all the same, and re-parses to itself.
pub fn nhs_number(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(number) = NhsNumber::parse(text) else {
        return;
    };
    let digits: Vec<u32> = number
        .digits()
        .chars()
        .filter_map(|c| c.to_digit(10))
        .collect();
    assert_eq!(digits.len(), 10);
    assert!(digits.iter().any(|&d| d != digits[0]), "all the same digit");
    let sum: u32 = digits[..9]
        .iter()
        .zip((2..=10).rev())
        .map(|(d, w)| d * w)
        .sum();
    let check = match 11 - sum % 11 {
        11 => 0,
        c => c,
    };
    assert_eq!(check, digits[9], "mod-11 check digit");
    assert_eq!(NhsNumber::parse(&number.digits()).ok(), Some(number));
}

/// A handover bundle, as `stopgap handover import` reads it (within a 1 MB limit here). What is
/// accepted has as many events as its trailer says, and written again from its source reads
/// back as the same events.
pub fn handover_bundle(data: &[u8]) {
    let Ok(bundle) = read_bundle(data, 1 << 20) else {
        return;
    };
    assert_eq!(bundle.summary.event_count, bundle.events.len() as u64);
    let mut again = Vec::new();
    let written = write_bundle(&mut again, &bundle.source, &bundle.events);
    assert!(written.is_ok(), "{written:?}");
    let read = read_bundle(again.as_slice(), 1 << 21);
    assert_eq!(read.ok().map(|b| b.events), Some(bundle.events));
}
