//! The export pipeline's guarantees (issue 8): a value over the receiver's limits is refused or,
//! when the profile says so, written shortened with every shortening recorded in the batch; each
//! batch records the Stopgap version that wrote it; two exports at once never both take a
//! request. Real SQLite files in temporary folders, two `Store` handles where two processes
//! would be.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on purpose"
)]

use std::path::Path;

use crate::common::cli::{stopgap, text};
use crate::common::{draft, now, temp_store};
use stopgap::backlog::{BacklogError, ExportJob, export_to, reproduce};
use stopgap::domain::catalogue::Catalogue;
use stopgap::export::check::check_hl7;
use stopgap::export::profile::OverLimit;
use stopgap::export::{Format, Profile};
use stopgap::files::{Overwrite, sha256_hex};
use stopgap::store::{
    BatchSpec, BatchTruncation, ExportClaimed, ExportOptions, ExportSelection, Store, StoreError,
    WRITER_VERSION,
};

fn job(format: Format, profile: Profile, out: &Path) -> ExportJob {
    ExportJob {
        selection: ExportSelection::default(),
        format,
        profile,
        options: ExportOptions::default(),
        user: "Lab Clerk".into(),
        out: out.to_owned(),
        overwrite: Overwrite::Refuse,
        sealing: stopgap::files::Sealing::plaintext_confirmed(),
    }
}

fn truncating() -> Profile {
    let mut p = Profile::default_profile();
    p.hl7.over_limit = OverLimit::Truncate;
    p
}

fn spec(user: &str) -> BatchSpec {
    BatchSpec {
        format: "csv".into(),
        profile_name: "default".into(),
        profile_toml: Profile::default_profile().to_toml(),
        options: ExportOptions::default(),
        generated_at: now(),
        user: user.into(),
    }
}

fn no_target(_: &stopgap::store::BatchHeader) -> Result<std::path::PathBuf, StoreError> {
    Ok(std::path::PathBuf::new())
}

fn snapshot(store: &Store) -> stopgap::store::Snapshot {
    store
        .export_snapshot(&ExportSelection::default(), |_, _| Ok::<(), StoreError>(()))
        .unwrap()
}

fn files_in(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

/// A store with three ordinary requests and one whose forename (with a `&`, escaped `\T\`) is
/// over XPN.2's 30 and whose hospital number is over CX.1's 15 (v2.5.1).
fn store_with_long_values() -> (tempfile::TempDir, Store, String) {
    let (dir, mut store) = temp_store();
    let catalogue = Catalogue::default_uk().unwrap();
    for n in 1..=3 {
        let r = draft(n).validate(now(), &chrono::Utc, &catalogue).unwrap();
        store.save_request(&r, "Nurse Bloggs", now()).unwrap();
    }
    let mut d = draft(4);
    d.forename = format!("{}&B&C", "A".repeat(28));
    d.mrn = "K".repeat(16);
    let r = d.validate(now(), &chrono::Utc, &catalogue).unwrap();
    let saved = store.save_request(&r, "Nurse Bloggs", now()).unwrap();
    (dir, store, saved.downtime_id.grouped())
}

#[test]
fn a_value_over_the_limits_is_refused_by_default_and_nothing_is_written() {
    let (dir, mut store, id) = store_with_long_values();
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let e = export_to(
        &mut store,
        &job(Format::Hl7Oml, Profile::default_profile(), &out),
        now(),
    )
    .unwrap_err();
    let said = stopgap::error::error_chain(&e);
    assert!(said.contains(&format!("request {id}: PID-5.2")), "{said}");
    assert!(said.contains("over_limit"), "says how to truncate: {said}");
    assert_eq!(files_in(&out), Vec::<String>::new());
    assert!(store.batches().unwrap().is_empty());
    assert!(store.unrecorded_exports().unwrap().is_empty());
}

#[test]
fn a_truncating_profile_writes_each_listed_value_at_its_limit_and_the_batch_records_it() {
    let (dir, mut store, id) = store_with_long_values();
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let exported = export_to(&mut store, &job(Format::Hl7Oml, truncating(), &out), now()).unwrap();
    let bytes = std::fs::read(&exported.path).unwrap();
    assert_eq!(
        check_hl7(&bytes),
        Vec::new(),
        "a strict receiver accepts it"
    );
    let text = String::from_utf8(bytes.clone()).unwrap();
    // 30 characters as the receiver counts them: the escape `\T\` is whole, never cut.
    assert!(
        text.contains(&format!("^{}\\T\\B|", "A".repeat(28))),
        "{text}"
    );
    assert!(text.contains(&format!("~{}^^^", "K".repeat(15))), "{text}");
    let expected = vec![
        BatchTruncation {
            downtime_id: id.clone(),
            field: "PID-3(2).1".into(),
            length: 16,
            limit: 15,
        },
        BatchTruncation {
            downtime_id: id.clone(),
            field: "PID-5.2".into(),
            length: 32,
            limit: 30,
        },
    ];
    assert_eq!(exported.record.truncations, expected);
    assert_eq!(exported.record.request_count, 4);
    let stored = store.batch(exported.record.number).unwrap().unwrap();
    assert_eq!(stored.truncations, expected);
    assert_eq!(stored.writer_version.as_deref(), Some(WRITER_VERSION));
    // The request keeps its whole forename, and the batch re-runs to the same bytes.
    let again = dir.path().join("again");
    std::fs::create_dir(&again).unwrap();
    let (_, w) = reproduce(
        &store,
        &stored,
        &again,
        Overwrite::Refuse,
        &stopgap::files::Sealing::plaintext_confirmed(),
    )
    .unwrap();
    assert_eq!(w.sha256, sha256_hex(&bytes));
    let states = store.batch_requests(stored.number).unwrap();
    assert!(
        states
            .iter()
            .any(|s| s.request.patient.forename.ends_with("&B&C"))
    );
}

#[test]
fn two_exports_at_once_never_both_take_a_request() {
    let (dir, mut first, _) = store_with_long_values();
    let mut second = Store::open(&dir.path().join("stopgap.db")).unwrap();
    // Both read the backlog before either reserves.
    let a = snapshot(&first);
    let b = snapshot(&second);
    assert_eq!(a.states.len(), 4);
    let taken = first
        .reserve_batch(&spec("Lab One"), &a, no_target)
        .unwrap();
    let e = second
        .reserve_batch(&spec("Lab Two"), &b, no_target)
        .unwrap_err();
    let StoreError::Claimed(ExportClaimed::InProgress {
        batch_id,
        user,
        workstation,
        count,
        ..
    }) = &e
    else {
        panic!("{e:?}")
    };
    assert_eq!(
        (
            batch_id.as_str(),
            user.as_str(),
            workstation.as_str(),
            *count
        ),
        ("RXX-W07-B000001", "Lab One", "W07", 4)
    );
    let said = e.to_string();
    assert!(
        said.starts_with("another export (RXX-W07-B000001, started ")
            && said.contains("by Lab One on W07) is exporting 4 of these requests; wait for it"),
        "{said}"
    );
    // The refused export took nothing: no number, no claim.
    assert_eq!(second.unrecorded_exports().unwrap().len(), 1);
    // Once the first gives its number back, the requests are free again.
    first.release_reservation(taken.header.number).unwrap();
    let b = snapshot(&second);
    second
        .reserve_batch(&spec("Lab Two"), &b, no_target)
        .unwrap();
}

#[test]
fn an_export_whose_requests_were_recorded_by_another_since_it_read_them_is_refused() {
    let (dir, mut first, _) = store_with_long_values();
    let mut second = Store::open(&dir.path().join("stopgap.db")).unwrap();
    let late = snapshot(&first);
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let done = export_to(&mut second, &job(Format::Csv, truncating(), &out), now()).unwrap();
    assert_eq!(done.record.request_count, 4);
    let e = first
        .reserve_batch(&spec("Lab One"), &late, no_target)
        .unwrap_err();
    assert!(
        matches!(
            &e,
            StoreError::Claimed(ExportClaimed::Recorded { batch_id, count: 4, .. })
                if batch_id == "RXX-W07-B000001"
        ),
        "{e:?}"
    );
    assert!(first.unrecorded_exports().unwrap().is_empty());
}

#[test]
fn an_export_while_another_holds_its_requests_writes_no_file() {
    let (dir, mut first, _) = store_with_long_values();
    let mut second = Store::open(&dir.path().join("stopgap.db")).unwrap();
    let held = snapshot(&second);
    second
        .reserve_batch(&spec("Lab Two"), &held, no_target)
        .unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let e = export_to(&mut first, &job(Format::Csv, truncating(), &out), now()).unwrap_err();
    assert!(
        matches!(e, BacklogError::Store(StoreError::Claimed(_))),
        "{e:?}"
    );
    assert!(
        e.to_string().contains("wait for it and export again"),
        "{e}"
    );
    assert_eq!(files_in(&out), Vec::<String>::new());
    assert!(first.batches().unwrap().is_empty());
}

#[test]
fn the_command_line_lists_truncations_as_warnings_and_in_the_batch() {
    let (dir, store, id) = store_with_long_values();
    drop(store);
    let db = dir.path().join("stopgap.db");
    let profile = dir.path().join("truncate.toml");
    std::fs::write(&profile, truncating().to_toml()).unwrap();
    let profile = profile.to_str().unwrap();

    // Refused by the default profile: errors, exit 1.
    let o = stopgap(&db, &["export", "--check", "--format", "hl7-oml"]);
    let said = text(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{said}{}", text(&o.stderr));
    assert!(
        said.contains(&format!("error: request {id}: PID-5.2")),
        "{said}"
    );

    // Truncated by the profile: warnings, exit 0.
    let o = stopgap(
        &db,
        &[
            "export",
            "--check",
            "--format",
            "hl7-oml",
            "--profile",
            profile,
        ],
    );
    let said = text(&o.stdout);
    assert!(o.status.success(), "{said}{}", text(&o.stderr));
    assert!(said.contains("2 warnings"), "{said}");
    assert!(
        said.contains(&format!(
            "warning: request {id}: PID-5.2 shortened from 32 to 30 characters"
        )),
        "{said}"
    );

    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let o = stopgap(
        &db,
        &[
            "export",
            "--plaintext",
            "--format",
            "hl7-oml",
            "--profile",
            profile,
            "--out",
            out.to_str().unwrap(),
        ],
    );
    let said = text(&o.stdout);
    assert!(o.status.success(), "{said}{}", text(&o.stderr));
    assert!(said.contains("Written with 2 truncations"), "{said}");
    let o = stopgap(&db, &["batches"]);
    let said = text(&o.stdout);
    assert!(said.contains("Written with 2 truncations"), "{said}");
    assert!(
        said.contains(&format!("request {id}: PID-3(2).1 shortened from 16 to 15")),
        "{said}"
    );
    assert!(said.contains(WRITER_VERSION), "{said}");
}
