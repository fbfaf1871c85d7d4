//! Hostile inputs (issue 9): files too big or endless, one accession for two requests, user names
//! with terminal escapes, a closed pipe, `demo` twice, extra CSV fields, repeated rows, a
//! collection time in 1970 and an unknown time zone.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on purpose"
)]

use std::path::{Path, PathBuf};
use std::process::Stdio;

use crate::common::cli::{stopgap, text};
use crate::common::{now, request, temp_store};
use chrono::Duration;
use stopgap::import::{ImportError, import_requests};
use stopgap::store::{ReconcileRow, RowOutcome, RowProblem, Store};

fn demo_db(dir: &Path, count: &str) -> PathBuf {
    let db = dir.join("t.db");
    let out = stopgap(&db, &["demo", "--count", count]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    db
}

/// A file that says it holds 3.2 GB but uses no disk (sparse).
fn huge_sparse_file(dir: &Path) -> PathBuf {
    let p = dir.join("huge.csv");
    std::fs::File::create(&p)
        .unwrap()
        .set_len(3_435_973_837)
        .unwrap();
    p
}

#[test]
fn import_and_reconcile_refuse_a_file_over_their_size_limit() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo_db(dir.path(), "2");
    let huge = huge_sparse_file(dir.path());
    let huge = huge.to_str().unwrap();
    for (args, what) in [
        (vec!["import", huge], "an import file may be at most 64 MB"),
        (
            vec!["reconcile", huge],
            "a reconciliation file may be at most 64 MB",
        ),
        (
            vec!["export", "--check", "--format", "csv", "--profile", huge],
            "an export profile may be at most 4 MB",
        ),
    ] {
        let out = stopgap(&db, &args);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains(&format!("huge.csv is 3.2 GB; {what}")),
            "{err}"
        );
    }
}

#[cfg(unix)]
#[test]
fn import_and_reconcile_refuse_dev_zero_as_not_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo_db(dir.path(), "2");
    for command in ["import", "reconcile"] {
        let out = stopgap(&db, &[command, "/dev/zero"]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{command}: {err}");
        assert!(
            err.contains("/dev/zero is not a regular file (a device, pipe or socket)"),
            "{err}"
        );
    }
}

/// Saves `n` requests; returns their grouped downtime IDs.
fn saved(store: &mut Store, n: u32) -> Vec<String> {
    (1..=n)
        .map(|i| {
            store
                .save_request(&request(i), "Nurse", now())
                .unwrap()
                .downtime_id
                .grouped()
        })
        .collect()
}

fn row(n: usize, id: &str, accession: &str) -> ReconcileRow {
    ReconcileRow {
        row: n,
        downtime_id: id.into(),
        accession: accession.into(),
        ..ReconcileRow::default()
    }
}

fn problems(outcome: &RowOutcome) -> Vec<String> {
    match outcome {
        RowOutcome::Invalid(p) => p.iter().map(ToString::to_string).collect(),
        other => panic!("not refused: {other:?}"),
    }
}

#[test]
fn one_accession_for_two_requests_in_one_file_is_refused_naming_both() {
    let (_d, mut store) = temp_store();
    let ids = saved(&mut store, 2);
    let rows = [row(2, &ids[0], "L26.7"), row(3, &ids[1], "l26.7")];
    let report = store
        .reconcile(&rows, false, "R", now() + Duration::hours(1))
        .unwrap();
    assert!(!report.written);
    let first = problems(&report.rows[0].outcome).join("; ");
    assert!(
        first.contains(&format!("also in row 3 for request {}", ids[1])),
        "{first}"
    );
    assert!(
        first.contains(&format!("cannot also be {}'s", ids[0])),
        "{first}"
    );
    let second = problems(&report.rows[1].outcome).join("; ");
    assert!(
        second.contains(&format!("also in row 2 for request {}", ids[0])),
        "{second}"
    );
}

#[test]
fn an_accession_already_on_another_request_is_refused_naming_both() {
    let (_d, mut store) = temp_store();
    let ids = saved(&mut store, 2);
    let at = now() + Duration::hours(1);
    store.reconcile_one(&ids[0], "L26.7", "R", at).unwrap();
    let report = store
        .reconcile(&[row(2, &ids[1], "L26.7")], false, "R", at)
        .unwrap();
    assert!(!report.written);
    let p = problems(&report.rows[0].outcome).join("; ");
    assert!(
        p.contains(&format!(
            "accession L26.7 is already recorded for request {}, so it cannot also be {}'s",
            ids[0], ids[1]
        )),
        "{p}"
    );
    // The app's one-at-a-time path refuses it too.
    assert!(store.reconcile_one(&ids[1], "L26.7", "R", at).is_err());
}

#[test]
fn a_shared_accession_is_allowed_per_row_with_a_reason_and_the_reason_is_recorded() {
    let (dir, mut store) = temp_store();
    let ids = saved(&mut store, 2);
    let at = now() + Duration::hours(1);
    store.reconcile_one(&ids[0], "L26.7", "R", at).unwrap();
    let mut shared = row(2, &ids[1], "L26.7");
    shared.shared_accession = "one LIMS order for both forms".into();
    let report = store.reconcile(&[shared], false, "MLA Jones", at).unwrap();
    assert!(report.written, "{:?}", report.rows);
    assert_eq!(report.applied_count(), 1);
    drop(store);
    let conn = crate::common::raw(&dir.path().join("stopgap.db"));
    let (value, user): (String, String) = conn
        .query_row(
            "SELECT value, user_name FROM settings_log WHERE key = 'shared_accession'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(user, "MLA Jones");
    let value: serde_json::Value = serde_json::from_str(&value).unwrap();
    assert_eq!(value["accession"], "L26.7");
    assert_eq!(value["reason"], "one LIMS order for both forms");
    assert_eq!(value["shared_with"][0], ids[0].as_str());
}

#[test]
fn reconcile_refuses_entered_by_with_escapes_bells_bidi_or_10000_characters() {
    let (_d, mut store) = temp_store();
    let ids = saved(&mut store, 4);
    let long = "x".repeat(10_000);
    let names = ["N\u{1b}[2JBloggs", "Bloggs\u{7}", "Smith\u{202e}", &long];
    let rows: Vec<_> = ids
        .iter()
        .zip(names)
        .enumerate()
        .map(|(i, (id, name))| ReconcileRow {
            entered_by: name.to_owned(),
            ..row(i + 2, id, &format!("L26.{i}"))
        })
        .collect();
    let report = store
        .reconcile(&rows, false, "R", now() + Duration::hours(1))
        .unwrap();
    assert!(!report.written);
    for r in &report.rows {
        assert!(
            matches!(&r.outcome, RowOutcome::Invalid(p) if matches!(p[..], [RowProblem::BadEnteredBy(_)])),
            "{r:?}"
        );
    }
}

#[test]
fn the_command_line_refuses_a_staff_id_with_an_escape_or_10000_characters() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo_db(dir.path(), "2");
    let csv = dir.path().join("r.csv");
    std::fs::write(&csv, "downtime_id,accession\n").unwrap();
    let long = "x".repeat(10_000);
    for user in ["N\u{1b}[2JBloggs", "Bloggs\u{7}", "Smith\u{202e}", &long] {
        let out = stopgap(&db, &["reconcile", csv.to_str().unwrap(), "--user", user]);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
        assert!(
            text(&out.stderr).contains("--user"),
            "{}",
            text(&out.stderr)
        );
        let out = stopgap(&db, &["import", csv.to_str().unwrap(), "--user", user]);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    }
}

#[test]
fn batches_prints_a_stored_escape_as_text_not_as_a_terminal_command() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo_db(dir.path(), "3");
    let out = stopgap(
        &db,
        &[
            "export",
            "--plaintext",
            "--format",
            "csv",
            "--out",
            dir.path().to_str().unwrap(),
            "--all",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    // A name stored before names were checked (or by another tool): batches must not send the
    // escape to the terminal.
    let conn = crate::common::raw(&db);
    conn.execute_batch(
        "DROP TRIGGER IF EXISTS export_batches_are_never_changed;
         UPDATE export_batches SET user_name = 'Ev' || char(27) || '[2J' || char(7);",
    )
    .unwrap();
    drop(conn);
    let out = stopgap(&db, &["batches"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        !stdout.contains('\u{1b}') && !stdout.contains('\u{7}'),
        "{stdout:?}"
    );
    assert!(stdout.contains("Ev\\u{1b}[2J\\u{7}"), "{stdout}");
}

#[test]
fn list_into_a_pipe_closed_early_ends_normally() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo_db(dir.path(), "3000");
    let mut child = crate::common::cli::command(&db)
        .arg("list")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read nothing and close the pipe, as `head -0` would.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
}

#[test]
fn demo_twice_with_the_same_seed_adds_the_requests_again() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo_db(dir.path(), "20");
    let out = stopgap(&db, &["demo", "--count", "20"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("Added 20 training requests"));
    let out = stopgap(&db, &["list"]);
    assert!(
        text(&out.stdout).contains("40 request(s)."),
        "{}",
        text(&out.stdout)
    );
    let out = stopgap(&db, &["verify"]);
    assert!(out.status.success(), "{}", text(&out.stdout));
}

#[test]
fn an_unknown_time_zone_is_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo_db(dir.path(), "1");
    let out = crate::common::cli::command(&db)
        .env("TZ", "Nowhere/Bogus")
        .arg("list")
        .output()
        .unwrap();
    let err = text(&out.stderr);
    if cfg!(unix) {
        assert!(
            err.contains("TZ=Nowhere/Bogus is not a time zone this computer knows"),
            "{err}"
        );
    }
}

const HEADER: &str = "surname,forename,dob,nhs_number,ward,consultant,requester,requester_contact,priority,tests,collected_at,collected_by";
const ROW: &str = "Testpatient,Ann,1980-01-01,9990000018,Ward 7,Dr A,Dr B,1234,urgent,FBC;UE,2026-06-04T09:00:00Z,N";

fn import_problems(text: &str) -> Vec<String> {
    let (_d, mut store) = temp_store();
    match import_requests(&mut store, text.as_bytes(), "I", now()) {
        Err(ImportError::Rows(lines)) => lines,
        other => panic!("not refused row by row: {other:?}"),
    }
}

#[test]
fn import_refuses_a_row_with_fields_past_the_last_column() {
    let lines = import_problems(&format!("{HEADER}\n{ROW}\n{ROW},extra note\n"));
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert!(
        lines[0].starts_with("row 3 has 13 fields but the header names 12 columns"),
        "{lines:#?}"
    );
    assert!(lines[0].contains("'extra note'"), "{lines:#?}");
}

#[test]
fn import_reports_identical_rows_as_repeats_within_the_file() {
    let lines = import_problems(&format!("{HEADER}\n{ROW}\n{ROW}\n"));
    assert_eq!(
        lines,
        [
            "row 3 is the same request as row 2 (identical rows, or the same uuid): remove the repeat, or give each request its own uuid"
        ]
    );
}

#[test]
fn import_refuses_a_collection_time_in_1970() {
    let lines = import_problems(&format!(
        "{HEADER}\n{}\n",
        ROW.replace("2026-06-04T09:00:00Z", "1970-01-01T00:00:00Z")
    ));
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert!(
        lines[0].starts_with("row 2: ") && lines[0].contains("more than 366 days ago"),
        "{lines:#?}"
    );
}
