//! Reconciliation: recording LIMS accessions, every bad-row kind, skipping, idempotent re-runs.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on purpose"
)]

use crate::common::{now, request, temp_store};
use chrono::Duration;
use stopgap::domain::downtime_id::DowntimeId;
use stopgap::domain::event::EventKind;
use stopgap::domain::status::{Status, Transition};
use stopgap::store::{
    ReconcileError, ReconcileRow, Reconciled, RowOutcome, Store, read_reconcile_csv,
};
use uuid::Uuid;

/// Saves `n` requests; returns their UUIDs and downtime IDs.
fn saved(store: &mut Store, n: u32) -> Vec<(Uuid, DowntimeId)> {
    (1..=n)
        .map(|i| {
            let r = request(i);
            let s = store.save_request(&r, "Nurse", now()).unwrap();
            (r.uuid, s.downtime_id)
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

fn status(store: &Store, uuid: Uuid) -> Status {
    store.request_detail(uuid).unwrap().unwrap().state.status
}

fn events(store: &Store, uuid: Uuid) -> usize {
    store.request_detail(uuid).unwrap().unwrap().events.len()
}

fn later() -> chrono::DateTime<chrono::Utc> {
    now() + Duration::hours(2)
}

#[test]
fn a_good_file_marks_every_request_reentered_with_an_event() {
    let (_d, mut store) = temp_store();
    let ids = saved(&mut store, 3);
    let mut rows: Vec<_> = ids
        .iter()
        .enumerate()
        .map(|(i, (_, id))| row(i + 2, &id.grouped(), &format!("L26.{i}")))
        .collect();
    rows[0].entered_by = "MLA Jones".into();
    rows[0].entered_at = "2026-06-04T12:00:00+01:00".into();
    let report = store
        .reconcile(&rows, false, "Reconciler", later())
        .unwrap();
    assert!(report.written);
    assert_eq!(report.applied_count(), 3);
    let detail = store.request_detail(ids[0].0).unwrap().unwrap();
    assert_eq!(detail.state.status, Status::Reentered);
    assert_eq!(detail.state.accession.as_deref(), Some("L26.0"));
    let last = detail.events.last().unwrap();
    assert_eq!(last.actor.user, "MLA Jones");
    assert_eq!(last.at.to_rfc3339(), "2026-06-04T11:00:00+00:00");
    assert!(matches!(
        &last.kind,
        EventKind::StatusChanged {
            transition: Transition::Reentered { accession }
        } if accession == "L26.0"
    ));
    let other = store.request_detail(ids[1].0).unwrap().unwrap();
    assert_eq!(other.events.last().unwrap().actor.user, "Reconciler");
    assert!(store.verify().unwrap().is_sound());
}

#[test]
fn running_the_same_file_again_changes_nothing() {
    let (_d, mut store) = temp_store();
    let ids = saved(&mut store, 2);
    let rows = vec![
        row(2, &ids[0].1.canonical(), "A1"),
        row(3, &ids[1].1.canonical(), "A2"),
        // The same pair twice in one file is a repeat, not a conflict.
        row(4, &ids[1].1.canonical(), "A2"),
    ];
    let first = store.reconcile(&rows, false, "R", later()).unwrap();
    assert_eq!(first.applied_count(), 2);
    assert!(matches!(
        first.rows[2].outcome,
        RowOutcome::RepeatOfRow { row: 3, .. }
    ));
    let before = events(&store, ids[0].0);
    let second = store.reconcile(&rows, false, "R", later()).unwrap();
    assert!(second.written);
    assert_eq!(second.applied_count(), 0);
    assert_eq!(second.already_done_count(), 3);
    assert_eq!(second.invalid_count(), 0);
    assert_eq!(events(&store, ids[0].0), before);
}

#[test]
fn every_kind_of_bad_row_is_refused_with_its_row_number() {
    let (_d, mut store) = temp_store();
    let ids = saved(&mut store, 7);
    store
        .change_status(
            ids[1].0,
            &Transition::Cancelled {
                reason: "wrong patient".into(),
            },
            "N",
            now(),
        )
        .unwrap();
    store
        .change_status(
            ids[2].0,
            &Transition::Rejected {
                reason: "haemolysed".into(),
            },
            "Lab",
            now(),
        )
        .unwrap();
    store
        .change_status(
            ids[3].0,
            &Transition::Reentered {
                accession: "OLD1".into(),
            },
            "Lab",
            now(),
        )
        .unwrap();
    let good = ids[0].1.canonical();
    let mut wrong_check = ids[0].1.canonical();
    let last = wrong_check.pop().unwrap();
    wrong_check.push(if last == 'A' { 'B' } else { 'A' });
    let unknown = DowntimeId::new(
        ids[0].1.site().clone(),
        ids[0].1.workstation().clone(),
        (500..)
            .find(|&n| DowntimeId::is_issuable(ids[0].1.site(), ids[0].1.workstation(), n))
            .unwrap(),
    )
    .unwrap();
    let mut bad_at = row(11, &ids[6].1.canonical(), "A7");
    bad_at.entered_at = "yesterday".into();
    let mut future = row(12, &ids[0].1.canonical(), "A1");
    future.entered_at = "2030-01-01T00:00:00Z".into();
    let rows = vec![
        row(2, &good, "A1"),
        row(3, &wrong_check, "A2"),
        row(4, &unknown.canonical(), "A3"),
        row(5, &ids[3].1.canonical(), "NEW1"),
        row(6, &ids[1].1.canonical(), "A4"),
        row(7, &ids[2].1.canonical(), "A5"),
        row(8, &ids[4].1.canonical(), "L26|1"),
        row(9, &ids[5].1.canonical(), "X1"),
        row(10, &ids[5].1.canonical(), "X2"),
        bad_at,
        future,
    ];
    let report = store.reconcile(&rows, false, "R", later()).unwrap();
    assert!(!report.written);
    let lines = report.problem_lines();
    let expect = [
        ("row 3:", "fails its check character"),
        ("row 4:", "no request with downtime ID"),
        (
            "row 5:",
            "already re-entered under accession OLD1, not NEW1",
        ),
        ("row 6:", "was cancelled (wrong patient)"),
        ("row 7:", "was rejected (haemolysed)"),
        ("row 8:", "may contain only letters, digits"),
        ("row 9:", "also in row 10 with a different accession (X2)"),
        ("row 10:", "also in row 9 with a different accession (X1)"),
        ("row 11:", "'yesterday' is not a date and time"),
        ("row 12:", "is in the future"),
    ];
    assert_eq!(lines.len(), expect.len(), "{lines:#?}");
    for (line, (prefix, text)) in lines.iter().zip(expect) {
        assert!(line.starts_with(prefix) && line.contains(text), "{line}");
    }
    // Nothing was written, not even the good row.
    assert_eq!(status(&store, ids[0].0), Status::Logged);
    assert_eq!(status(&store, ids[4].0), Status::Logged);
}

#[test]
fn skip_invalid_applies_only_the_valid_rows_in_one_go() {
    let (_d, mut store) = temp_store();
    let ids = saved(&mut store, 3);
    let rows = vec![
        row(2, &ids[0].1.canonical(), "A1"),
        row(3, "RXX-W07-000001-Z", "A2"),
        row(4, &ids[2].1.canonical(), ""),
        row(5, &ids[1].1.canonical(), "A3"),
    ];
    let report = store.reconcile(&rows, true, "R", later()).unwrap();
    assert!(report.written);
    assert_eq!(report.applied_count(), 2);
    assert_eq!(report.invalid_count(), 2);
    assert!(report.problem_lines()[1].contains("accession number is required"));
    assert_eq!(status(&store, ids[0].0), Status::Reentered);
    assert_eq!(status(&store, ids[1].0), Status::Reentered);
    assert_eq!(status(&store, ids[2].0), Status::Logged);
}

#[test]
fn reconcile_one_for_the_app() {
    let (_d, mut store) = temp_store();
    let ids = saved(&mut store, 1);
    let typed = ids[0].1.grouped().to_lowercase();
    let done = store.reconcile_one(&typed, "L1", "Lab", later()).unwrap();
    assert!(matches!(done, Reconciled::Reentered(ref s) if s.accession.as_deref() == Some("L1")));
    let n = events(&store, ids[0].0);
    let again = store.reconcile_one(&typed, " L1 ", "Lab", later()).unwrap();
    assert!(matches!(again, Reconciled::AlreadyDone(_)));
    assert_eq!(events(&store, ids[0].0), n);
    let e = store
        .reconcile_one(&typed, "L2", "Lab", later())
        .unwrap_err();
    assert!(matches!(e, ReconcileError::Refused(_)));
    assert!(
        e.to_string()
            .contains("already re-entered under accession L1")
    );
    // Times finer than a millisecond are not kept, so the state still equals its history.
    assert!(store.verify().unwrap().is_sound());
}

#[test]
fn reads_a_file_with_its_row_numbers() {
    let text = "\u{feff}Accession,Downtime_ID,entered_by\nL1,RXX-W07-000001-X,Ann\n,,\nL2,RXX-W07-000002-V\n";
    let rows = read_reconcile_csv(text.as_bytes()).unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].row, 2);
    assert_eq!(rows[0].accession, "L1");
    assert_eq!(rows[0].entered_by, "Ann");
    assert_eq!(rows[1].row, 4);
    assert_eq!(rows[1].downtime_id, "RXX-W07-000002-V");
    let e = read_reconcile_csv("id,acc\n".as_bytes()).unwrap_err();
    assert!(e.to_string().contains("no 'downtime_id' column"));
    assert!(read_reconcile_csv("".as_bytes()).is_err());
}
