//! Export batches: selection, recording, audit, and byte-for-byte re-runs.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on purpose"
)]

use std::path::Path;

use crate::common::{now, request, temp_store};
use chrono::Duration;
use stopgap::domain::request::Priority;
use stopgap::domain::status::{Status, Transition};
use stopgap::export::{CsvOptions, ExportContext, Format, Profile, write_export};
use stopgap::files::{Overwrite, sha256_hex, write_atomic};
use stopgap::store::{
    BatchFile, BatchRecord, BatchSpec, ExportOptions, ExportSelection, Store, StoreError,
};

fn spec(format: Format) -> BatchSpec {
    let profile = Profile::default_profile();
    BatchSpec {
        format: format.word().into(),
        profile_name: profile.name().into(),
        profile_toml: profile.to_toml(),
        options: ExportOptions::default(),
        generated_at: now(),
        user: "Exporter".into(),
    }
}

fn ctx(record_number: i64, generated_at: chrono::DateTime<chrono::Utc>) -> ExportContext {
    ExportContext {
        profile: Profile::default_profile(),
        generated_at,
        batch_id: format!("B{record_number:06}"),
        csv: CsvOptions::default(),
        mllp: false,
        training: false,
        wards: Vec::new(),
    }
}

/// Exports a batch into `dir` the way the command line does.
fn export(
    store: &mut Store,
    dir: &Path,
    format: Format,
    selection: &ExportSelection,
) -> BatchRecord {
    store
        .export_batch(selection, &spec(format), |header, states| {
            let target = dir.join(format!("{}.{}", header.batch_id, format.file_extension()));
            let c = ctx(header.number, now());
            let w = write_atomic(&target, Overwrite::Refuse, |w| {
                write_export(format, states, &c, w)
            })
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            Ok::<_, StoreError>(BatchFile {
                file_name: target.file_name().unwrap().to_string_lossy().into_owned(),
                sha256: w.sha256,
                bytes: w.bytes,
            })
        })
        .unwrap()
}

fn save(store: &mut Store, n: u32) -> uuid::Uuid {
    let r = request(n);
    store.save_request(&r, "Nurse Bloggs", now()).unwrap();
    r.uuid
}

/// Exports, changes two requests, re-runs: the same bytes and the same SHA-256.
fn check_rerun(format: Format) {
    let (dir, mut store) = temp_store();
    let uuids: Vec<_> = (1..=6).map(|n| save(&mut store, n)).collect();
    let record = export(&mut store, dir.path(), format, &ExportSelection::default());
    let original = std::fs::read(dir.path().join(&record.file_name)).unwrap();
    assert_eq!(sha256_hex(&original), record.sha256);
    assert_eq!(record.bytes, original.len() as u64);
    assert_eq!(record.request_count, 6);
    assert_eq!(record.format, format.word());
    assert_eq!(record.user, "Exporter");

    // The requests move on after the export...
    let later = now() + Duration::minutes(10);
    store
        .change_status(uuids[0], &Transition::Sent, "Porter", later)
        .unwrap();
    store
        .change_status(
            uuids[1],
            &Transition::Reentered {
                accession: "L26.1".into(),
            },
            "Lab",
            later,
        )
        .unwrap();

    // ...and the batch still comes out byte for byte, from the stored profile and options.
    let states = store.batch_requests(record.number).unwrap();
    assert!(states.iter().all(|s| s.status == Status::Logged));
    let stored = store.batch(record.number).unwrap().unwrap();
    let mut c = ctx(stored.number, stored.generated_at);
    c.profile = Profile::from_toml(&stored.profile_toml).unwrap();
    let mut again = Vec::new();
    write_export(format, &states, &c, &mut again).unwrap();
    assert_eq!(again, original, "{format}");
    assert_eq!(sha256_hex(&again), stored.sha256);
}

#[test]
fn rerun_reproduces_a_csv_batch() {
    check_rerun(Format::Csv);
}

#[test]
fn rerun_reproduces_an_hl7_oml_batch() {
    check_rerun(Format::Hl7Oml);
}

#[test]
fn rerun_reproduces_an_hl7_orm_batch() {
    check_rerun(Format::Hl7Orm);
}

#[test]
fn rerun_reproduces_a_fhir_batch() {
    check_rerun(Format::Fhir);
}

#[test]
fn default_selection_is_what_still_needs_reentry_and_was_not_exported() {
    let (dir, mut store) = temp_store();
    let uuids: Vec<_> = (1..=4).map(|n| save(&mut store, n)).collect();
    store
        .change_status(
            uuids[3],
            &Transition::Cancelled {
                reason: "duplicate".into(),
            },
            "Nurse",
            now(),
        )
        .unwrap();
    let first = export(
        &mut store,
        dir.path(),
        Format::Csv,
        &ExportSelection::default(),
    );
    assert_eq!(first.request_count, 3);
    assert_eq!(first.batch_id, "RXX-W07-B000001");
    assert!(
        store
            .export_candidates(&ExportSelection::default())
            .unwrap()
            .is_empty()
    );
    let again = ExportSelection {
        include_exported: true,
        ..ExportSelection::default()
    };
    assert_eq!(store.export_candidates(&again).unwrap().len(), 3);
    let cancelled = ExportSelection {
        statuses: vec![Status::Cancelled],
        ..ExportSelection::default()
    };
    assert_eq!(store.export_candidates(&cancelled).unwrap().len(), 1);
    let second = export(&mut store, dir.path(), Format::Csv, &again);
    assert_eq!(second.number, 2);
    assert_eq!(store.batches_of(uuids[0]).unwrap(), vec![1, 2]);
    assert_eq!(store.export_log_count().unwrap(), 2);
    let listed: Vec<i64> = store.batches().unwrap().iter().map(|b| b.number).collect();
    assert_eq!(listed, vec![2, 1]);
    assert_eq!(store.find_batch("B000002").unwrap().unwrap().number, 2);
    assert_eq!(
        store.find_batch("rxx-w07-b000001").unwrap().unwrap().number,
        1
    );
    assert_eq!(store.find_batch("1").unwrap().unwrap().number, 1);
    assert!(store.find_batch("7").unwrap().is_none());
}

#[test]
fn filters_by_ward_priority_and_collection_time() {
    let (_dir, mut store) = temp_store();
    let mut emergency = request(1);
    emergency.priority = Priority::Emergency;
    emergency.ward = "AMU".into();
    store.save_request(&emergency, "N", now()).unwrap();
    save(&mut store, 2);
    let count = |s: &ExportSelection| store.export_candidates(s).unwrap().len();
    let by_ward = ExportSelection {
        ward: Some("AMU".into()),
        ..ExportSelection::default()
    };
    assert_eq!(count(&by_ward), 1);
    let by_priority = ExportSelection {
        priorities: vec![Priority::Urgent],
        ..ExportSelection::default()
    };
    assert_eq!(count(&by_priority), 1);
    let collected = request(2).collected_at;
    let after = ExportSelection {
        collected_from: Some(collected + Duration::minutes(1)),
        ..ExportSelection::default()
    };
    assert_eq!(count(&after), 0);
    let window = ExportSelection {
        collected_from: Some(collected),
        collected_before: Some(collected + Duration::minutes(1)),
        ..ExportSelection::default()
    };
    assert_eq!(count(&window), 2);
}

#[test]
fn a_failed_write_records_nothing() {
    let (_dir, mut store) = temp_store();
    save(&mut store, 1);
    let result = store.export_batch(&ExportSelection::default(), &spec(Format::Csv), |_, _| {
        Err::<BatchFile, _>(StoreError::Corrupt("disk full".into()))
    });
    assert!(result.is_err());
    assert!(store.batches().unwrap().is_empty());
    assert_eq!(store.export_log_count().unwrap(), 0);
    // The request is still waiting to be exported, and the number was not used up.
    assert_eq!(
        store
            .export_candidates(&ExportSelection::default())
            .unwrap()
            .len(),
        1
    );
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        export(
            &mut store,
            dir.path(),
            Format::Csv,
            &ExportSelection::default()
        )
        .number,
        1
    );
}

#[test]
fn a_rerun_is_audited() {
    let (dir, mut store) = temp_store();
    save(&mut store, 1);
    let record = export(
        &mut store,
        dir.path(),
        Format::Csv,
        &ExportSelection::default(),
    );
    let file = BatchFile {
        file_name: record.file_name.clone(),
        sha256: record.sha256.clone(),
        bytes: record.bytes,
    };
    store
        .record_rerun(record.number, &file, "Auditor", now())
        .unwrap();
    assert_eq!(store.export_log_count().unwrap(), 2);
}
