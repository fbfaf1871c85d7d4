//! The tamper-evident audit log on a real store: what is recorded, the triggers, and tampering by
//! raw SQL (after dropping the triggers, as an attacker with the file would) found and named.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on purpose"
)]

use chrono::Duration;
use rusqlite::Connection;

use crate::common::cli::{stopgap, text};
use crate::common::{now, request, temp_store};
use stopgap::domain::audit::{AuditAction, ChainHead, LinkProblem};
use stopgap::export::{Format, Profile};
use stopgap::report::{close_out_pdf, write_audit_csv, write_close_out_csv};
use stopgap::store::{
    AuditFilter, BackupSettings, BatchFile, BatchRecord, BatchSpec, ExportOptions, ExportSelection,
    Store, StoreError,
};

/// Five records by two users, a minute apart.
fn five_records(store: &mut Store) -> Vec<ChainHead> {
    (0..5)
        .map(|i| {
            let user = if i % 2 == 0 { "Sister Ada" } else { "Dr Bea" };
            store
                .audit(
                    AuditAction::Printed,
                    "",
                    user,
                    &format!("RXX-W07-00000{i}"),
                    "request form",
                    now() + Duration::minutes(i),
                )
                .unwrap()
        })
        .collect()
}

/// A raw connection to the store's file with the audit triggers dropped.
fn attacker(store: &Store) -> Connection {
    let c = crate::common::raw(store.path());
    c.execute_batch(
        "DROP TRIGGER audit_log_is_never_changed; DROP TRIGGER audit_log_is_never_deleted;",
    )
    .unwrap();
    c
}

/// Exports every request as a batch (the file itself is the shell's: only its record matters).
fn export(store: &mut Store) -> BatchRecord {
    let profile = Profile::default_profile();
    let spec = BatchSpec {
        format: Format::Csv.word().into(),
        profile_name: profile.name().into(),
        profile_toml: profile.to_toml(),
        options: ExportOptions::default(),
        generated_at: now() + Duration::hours(1),
        user: "Exporter".into(),
    };
    store
        .export_batch(&ExportSelection::default(), &spec, |h, _| {
            Ok::<_, StoreError>(BatchFile {
                file_name: format!("{}.csv", h.batch_id),
                sha256: "ab".repeat(32),
                bytes: 10,
            })
        })
        .unwrap()
}

#[test]
fn records_are_chained_and_a_sound_log_verifies_to_its_head() {
    let (_d, mut store) = temp_store();
    assert_eq!(store.verify_audit().unwrap(), Ok(ChainHead::empty()));
    let heads = five_records(&mut store);
    assert_eq!(heads[4].seq, 5);
    assert_eq!(store.audit_head().unwrap(), heads[4]);
    assert_eq!(store.verify_audit().unwrap(), Ok(heads[4].clone()));
    let records = store.audit_records(&AuditFilter::default()).unwrap();
    assert_eq!(records.len(), 5);
    assert_eq!(records[1].prev_hash, records[0].hash);
    assert_eq!(records[0].workstation, "W07");
}

#[test]
fn the_log_refuses_changes_and_deletions() {
    let (_d, mut store) = temp_store();
    five_records(&mut store);
    let c = crate::common::raw(store.path());
    let changed = c.execute("UPDATE audit_log SET detail = 'x' WHERE seq = 2", []);
    assert!(changed.unwrap_err().to_string().contains("never changed"));
    let deleted = c.execute("DELETE FROM audit_log WHERE seq = 2", []);
    assert!(deleted.unwrap_err().to_string().contains("never deleted"));
}

#[test]
fn verify_names_a_record_changed_by_raw_sql() {
    let (_d, mut store) = temp_store();
    five_records(&mut store);
    attacker(&store)
        .execute(
            "UPDATE audit_log SET user_name = 'Nobody' WHERE seq = 3",
            [],
        )
        .unwrap();
    let broken = store.verify_audit().unwrap().unwrap_err();
    assert_eq!(broken.seq, 3);
    assert_eq!(broken.problem, LinkProblem::Changed);
    assert!(broken.words().contains("#3 (printed by Nobody"), "{broken}");
}

#[test]
fn verify_names_a_record_deleted_by_raw_sql() {
    let (_d, mut store) = temp_store();
    five_records(&mut store);
    attacker(&store)
        .execute("DELETE FROM audit_log WHERE seq = 2", [])
        .unwrap();
    let broken = store.verify_audit().unwrap().unwrap_err();
    assert_eq!(broken.seq, 2);
    assert_eq!(broken.problem, LinkProblem::Deleted { first: 2, last: 2 });
    assert!(broken.words().contains("#2 has been deleted"));
}

#[test]
fn verify_names_records_swapped_by_raw_sql() {
    let (_d, mut store) = temp_store();
    five_records(&mut store);
    attacker(&store)
        .execute_batch(
            "UPDATE audit_log SET seq = -1 WHERE seq = 2;
             UPDATE audit_log SET seq = 2 WHERE seq = 4;
             UPDATE audit_log SET seq = 4 WHERE seq = -1;",
        )
        .unwrap();
    let broken = store.verify_audit().unwrap().unwrap_err();
    assert_eq!(broken.seq, 2);
    assert!(
        matches!(broken.problem, LinkProblem::Reordered { .. }),
        "{broken:?}"
    );
    assert!(broken.words().contains("out of place"));
}

#[test]
fn an_export_batch_carries_the_chain_head_of_its_own_audit_record() {
    let (_d, mut store) = temp_store();
    five_records(&mut store);
    store.save_request(&request(1), "Nurse", now()).unwrap();
    let batch = export(&mut store);
    let head = batch.audit_head.clone().unwrap();
    assert_eq!(head, store.audit_head().unwrap());
    assert_eq!(
        store.batch(batch.number).unwrap().unwrap().audit_head,
        Some(head)
    );
    let exported = store
        .audit_records(&AuditFilter {
            action: Some(AuditAction::Exported),
            ..AuditFilter::default()
        })
        .unwrap();
    assert_eq!(exported.len(), 1);
    assert_eq!(exported[0].subject, batch.batch_id);
    assert_eq!(exported[0].user_name, "Exporter");
    assert!(exported[0].detail.contains("csv, 1 requests"));
}

#[test]
fn records_deleted_from_the_end_are_found_against_the_export_batch() {
    let (_d, mut store) = temp_store();
    five_records(&mut store);
    store.save_request(&request(1), "Nurse", now()).unwrap();
    let batch = export(&mut store);
    // The last record and the one before: the chain that is left is sound on its own.
    attacker(&store)
        .execute("DELETE FROM audit_log WHERE seq >= 5", [])
        .unwrap();
    let broken = store.verify_audit().unwrap().unwrap_err();
    assert_eq!(
        broken.problem,
        LinkProblem::Truncated {
            anchor: format!("export batch {}", batch.batch_id),
            anchored: 6,
        }
    );
    assert!(broken.words().contains("after #4 have been deleted"));
}

#[test]
fn the_close_out_report_shows_the_chain_head() {
    let (_d, mut store) = temp_store();
    let heads = five_records(&mut store);
    let c = store.close_out().unwrap();
    assert_eq!(c.audit_head, Some(heads[4].clone()));
    let mut csv = Vec::new();
    write_close_out_csv(&c, &mut csv).unwrap();
    let csv = String::from_utf8(csv).unwrap();
    let last = csv.lines().last().unwrap();
    assert!(last.contains("audit_chain_head"), "{last}");
    assert!(last.contains(&format!("audit record #5, SHA-256 {}", heads[4].hash)));
    // The PDF's text streams are compressed: read back through the PDF library's own parser.
    let pdf = close_out_pdf(&c, now());
    let parsed = printpdf::PdfDocument::parse(&pdf, &Default::default(), &mut Vec::new()).unwrap();
    let text = parsed.extract_text().concat().concat();
    assert!(text.contains(&heads[4].hash), "{text}");
}

#[test]
fn reconciliation_settings_and_backups_are_audited_with_what_they_did() {
    let (dir, mut store) = temp_store();
    let saved = store.save_request(&request(1), "Nurse", now()).unwrap();
    store
        .reconcile_one(&saved.downtime_id.canonical(), "L123", "Lab Lee", now())
        .unwrap();
    let usb = dir.path().join("usb");
    std::fs::create_dir(&usb).unwrap();
    let settings = BackupSettings {
        folder: Some(usb.clone()),
        ..BackupSettings::default()
    };
    store
        .set_backup_settings(&settings, "Manager May", now())
        .unwrap();
    store.backup_to(&usb, now()).unwrap();
    let records = store.audit_records(&AuditFilter::default()).unwrap();
    let actions: Vec<AuditAction> = records.iter().map(|r| r.action).collect();
    assert_eq!(
        actions,
        [
            AuditAction::Reconciled,
            AuditAction::SettingsChanged,
            AuditAction::BackupMade
        ]
    );
    assert_eq!(records[0].subject, saved.downtime_id.canonical());
    assert!(records[0].detail.contains("L123"));
    assert_eq!(records[1].user_name, "Manager May");
    assert!(records[2].subject.starts_with("stopgap-"));
    // The log holds no patient data.
    let r = request(1);
    let all = format!("{records:?}");
    assert!(!all.contains(&r.patient.surname));
    assert!(!all.contains(&r.patient.nhs_number.unwrap().digits()));
    assert!(store.verify_audit().unwrap().is_ok());
}

#[test]
fn the_filter_picks_records_by_user_action_and_time() {
    let (_d, mut store) = temp_store();
    five_records(&mut store);
    store
        .audit(AuditAction::Exported, "S123", "Sister Ada", "B1", "", now())
        .unwrap();
    let pick = |f: AuditFilter| -> Vec<i64> {
        store
            .audit_records(&f)
            .unwrap()
            .iter()
            .map(|r| r.seq)
            .collect()
    };
    let who = |w: &str| AuditFilter {
        staff_id: Some(w.into()),
        ..AuditFilter::default()
    };
    assert_eq!(pick(who("sister ada")), [1, 3, 5, 6]);
    assert_eq!(pick(who("S123")), [6]);
    let action = AuditFilter {
        action: Some(AuditAction::Exported),
        ..AuditFilter::default()
    };
    assert_eq!(pick(action), [6]);
    let window = AuditFilter {
        from_ms: Some((now() + Duration::minutes(1)).timestamp_millis()),
        to_ms: Some((now() + Duration::minutes(3)).timestamp_millis()),
        ..AuditFilter::default()
    };
    // Record 6 was made at now(), but is dated at the last record's time: never earlier.
    assert_eq!(pick(window), [2, 3]);
    let mut csv = Vec::new();
    write_audit_csv(&store.audit_records(&who("S123")).unwrap(), &mut csv).unwrap();
    let csv = String::from_utf8(csv).unwrap();
    assert!(csv.starts_with("seq,at,workstation,staff_id,user_name,action,subject,detail"));
    assert!(csv.contains("6,2026-06-04T10:34:00Z,W07,S123,Sister Ada,exported,B1,,"));
}

#[test]
fn cli_verify_exits_non_zero_and_names_the_first_broken_link() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let out = stopgap(&db, &["demo", "--count", "3"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let folder = dir.path().to_string_lossy().into_owned();
    for _ in 0..2 {
        let out = stopgap(
            &db,
            &[
                "export",
                "--plaintext",
                "--format",
                "csv",
                "--out",
                &folder,
                "--all",
            ],
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(text(&out.stdout).contains("Recorded as audit record #"));
    }
    let out = stopgap(&db, &["verify"]);
    assert!(out.status.success(), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("Audit log sound"));
    // Every sign-in is recorded too, so the head is further on than the two exports.
    assert!(
        text(&out.stdout).contains(", SHA-256 "),
        "{}",
        text(&out.stdout)
    );

    let csv = dir.path().join("audit.csv");
    let out = stopgap(
        &db,
        &[
            "audit",
            "--action",
            "exported",
            "--csv",
            &csv.to_string_lossy(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(std::fs::read_to_string(&csv).unwrap().lines().count(), 3);

    let c = crate::common::raw(&db);
    c.execute_batch(
        "DROP TRIGGER audit_log_is_never_changed;
         UPDATE audit_log SET detail = 'nothing much' WHERE seq = 1;",
    )
    .unwrap();
    drop(c);
    let out = stopgap(&db, &["verify"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let said = text(&out.stdout);
    assert!(
        said.contains("AUDIT LOG TAMPERED WITH: audit record #1 (sign_in by Demo Manager (DEMO)"),
        "{said}"
    );
    assert!(said.contains("has been changed since it was written"));
}
