//! One damaged value is found and named, and never stops the rest: `verify` compares every
//! column that is shown, sorted or searched with the history, and a byte that is not UTF-8 is
//! reported against its request by downtime ID.
//!
//! Damage is made the way a bad disk sector or a stray tool would: the stored column is changed
//! under the store (its change-needs-an-event trigger dropped for the change and put back, as a
//! program writing the file directly could).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on purpose"
)]

use std::path::Path;

use crate::common::cli::{stopgap, text};
use crate::common::{now, request, temp_store};
use stopgap::domain::downtime_id::DowntimeId;

/// Changes one stored column of the request with downtime ID `id` behind the store's back.
fn damage(path: &Path, id: &DowntimeId, set: &str) {
    let conn = crate::common::raw(path);
    let trigger: String = conn
        .query_row(
            "SELECT sql FROM sqlite_master WHERE name = 'requests_change_only_with_an_event'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    // A stray tool checks no foreign keys either (a damaged `last_event` names no event).
    conn.execute_batch(
        "PRAGMA foreign_keys = OFF; DROP TRIGGER requests_change_only_with_an_event",
    )
    .unwrap();
    let n = conn
        .execute(
            &format!("UPDATE requests SET {set} WHERE downtime_id = ?1"),
            [id.canonical()],
        )
        .unwrap();
    assert_eq!(n, 1);
    conn.execute_batch(&trigger).unwrap();
}

/// Flips one byte in the middle of the packed creation event of the request with downtime ID
/// `id`, as a bad sector would (the history's never-changed trigger dropped and put back).
fn damage_creation(path: &Path, id: &DowntimeId) {
    let conn = crate::common::raw(path);
    let trigger: String = conn
        .query_row(
            "SELECT sql FROM sqlite_master WHERE name = 'events_are_never_changed'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    conn.execute_batch("DROP TRIGGER events_are_never_changed")
        .unwrap();
    let (seq, mut packed): (i64, Vec<u8>) = conn
        .query_row(
            "SELECT seq, packed FROM events WHERE kind = 'created' AND request_uuid =
                (SELECT uuid FROM requests WHERE downtime_id = ?1)",
            [id.canonical()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let middle = packed.len() / 2;
    packed[middle] ^= 0x5A;
    conn.execute(
        "UPDATE events SET packed = ?1 WHERE seq = ?2",
        rusqlite::params![packed, seq],
    )
    .unwrap();
    conn.execute_batch(&trigger).unwrap();
}

#[test]
fn verify_finds_a_changed_column_in_what_the_queue_shows() {
    for (set, column) in [
        ("surname = 'KHAM'", "surname"),
        ("surname_key = 'kham'", "surname_key"),
        ("tests = 'FBC'", "tests"),
        ("dob = '1961-02-03'", "dob"),
        ("nhs_number = '9999999999'", "nhs_number"),
        ("ward = 'AMU'", "ward"),
        (
            "priority = 'routine', priority_rank = 2",
            "priority, priority_rank",
        ),
        ("collected_ms = collected_ms + 60000", "collected_ms"),
    ] {
        let (_dir, mut store) = temp_store();
        let mut ids = Vec::new();
        for n in 1..=3 {
            ids.push(
                store
                    .save_request(&request(n), "Nurse A", now())
                    .unwrap()
                    .downtime_id,
            );
        }
        assert!(store.verify().unwrap().is_sound());
        let path = store.path().to_owned();
        damage(&path, &ids[1], set);
        let report = store.verify().unwrap();
        assert!(!report.is_sound(), "{set}: verify called it sound");
        assert_eq!(report.problems.len(), 1, "{set}: {:?}", report.problems);
        let problem = &report.problems[0];
        assert!(problem.contains(&ids[1].to_string()), "{problem}");
        assert!(
            problem.contains(&format!("stored {column} differ")),
            "{set}: {problem}"
        );
        assert_eq!(report.requests, 3);
    }
}

#[test]
fn a_stored_value_that_is_not_utf8_is_named_by_its_request_and_verify_goes_on() {
    let (_dir, mut store) = temp_store();
    let mut ids = Vec::new();
    for n in 1..=3 {
        ids.push(
            store
                .save_request(&request(n), "Nurse A", now())
                .unwrap()
                .downtime_id,
        );
    }
    let path = store.path().to_owned();
    damage(&path, &ids[0], "surname = CAST(X'4BFF48414E' AS TEXT)");
    damage_creation(&path, &ids[1]);
    damage(&path, &ids[2], "reason = CAST(X'7BFF7D' AS TEXT)");
    let report = store.verify().unwrap();
    assert_eq!(report.requests, 3);
    assert_eq!(report.problems.len(), 3, "{:?}", report.problems);
    assert!(
        report.problems[0].contains(&ids[0].to_string()),
        "{:?}",
        report.problems
    );
    assert!(
        report.problems[0].contains("stored surname"),
        "{:?}",
        report.problems
    );
    // The packed payload fails its checks: damage, said as such, never another request.
    assert!(
        report.problems[1].contains(&ids[1].to_string()),
        "{:?}",
        report.problems
    );
    assert!(
        report.problems[1].contains("payload is damaged"),
        "{:?}",
        report.problems
    );
    assert!(
        report.problems[2].contains(&ids[2].to_string()),
        "{:?}",
        report.problems
    );
    assert!(
        report.problems[2].contains("stored reason differs"),
        "{:?}",
        report.problems
    );
    assert_eq!(report.damaged, ids);

    // The CLI says which requests, not a raw "invalid utf-8 sequence".
    drop(store);
    let out = stopgap(&path, &["verify"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let said = text(&out.stdout) + &text(&out.stderr);
    assert!(said.contains(&ids[0].to_string()), "{said}");
    assert!(said.contains(&ids[1].to_string()), "{said}");
    assert!(said.contains(&ids[2].to_string()), "{said}");
    assert!(!said.contains("invalid utf-8"), "{said}");
}

#[test]
fn a_damaged_record_is_marked_and_the_rest_of_the_queue_list_and_json_keep_working() {
    let (_dir, mut store) = temp_store();
    let mut ids = Vec::new();
    for n in 1..=3 {
        ids.push(
            store
                .save_request(&request(n), "Nurse A", now())
                .unwrap()
                .downtime_id,
        );
    }
    let path = store.path().to_owned();
    damage(&path, &ids[0], "surname = CAST(X'4BFF48414E' AS TEXT)");
    damage(&path, &ids[1], "last_event = CAST(X'7BFF7D' AS TEXT)");

    let page = store
        .queue_page(
            &stopgap::store::QueueFilter::default(),
            stopgap::store::SortColumn::Collected,
            stopgap::store::SortOrder::Ascending,
            0,
            10,
        )
        .unwrap();
    assert_eq!(page.len(), 3, "one bad byte must not empty the queue");
    let damaged: Vec<_> = page
        .iter()
        .filter(|r| r.damaged)
        .map(|r| &r.downtime_id)
        .collect();
    assert_eq!(damaged, [&ids[0]]);
    let shown = page.iter().find(|r| r.damaged).unwrap();
    assert!(shown.surname.contains('\u{FFFD}'), "{}", shown.surname);

    // `list --json` reads each state from the creation event and the row's status columns;
    // where those are damaged it is rebuilt from the request's whole history, the record the
    // columns were made from.
    drop(store);
    let out = stopgap(&path, &["list", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let items: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(items.len(), 3);
    let second = items
        .iter()
        .find(|i| i["downtime_id"] == ids[1].canonical())
        .unwrap();
    assert_eq!(second["surname"], request(2).patient.surname);
    let out = stopgap(&path, &["list"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}
