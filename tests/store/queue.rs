//! The queue's overdue block, its thresholds and the wider search, on a real SQLite file.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on purpose"
)]

use std::collections::HashSet;

use crate::common::{now, request, setup, temp_store};
use chrono::Duration;
use rusqlite::Connection;
use stopgap::domain::downtime_id::{Code3, DowntimeId};
use stopgap::domain::nhs_number::NhsNumber;
use stopgap::domain::overdue::{OverdueThresholds, age_words};
use stopgap::domain::request::{NewRequest, Priority};
use stopgap::domain::status::{Status, Transition};
use stopgap::store::{
    OverdueFirst, QueueFilter, QueueRow, SortColumn, SortOrder, Store, StoreError, schema,
};
use uuid::Uuid;

fn at_now(thresholds: OverdueThresholds) -> OverdueFirst {
    OverdueFirst {
        now: now(),
        thresholds,
    }
}

/// A request of `priority` collected `minutes` before `now()`.
fn collected(n: u32, priority: Priority, minutes: i64) -> NewRequest {
    let mut r = request(n);
    r.priority = priority;
    r.collected_at = now() - Duration::minutes(minutes);
    r
}

fn to_status(store: &mut Store, uuid: Uuid, status: Status) {
    let steps: &[Transition] = match status {
        Status::Logged => &[],
        Status::Sent => &[Transition::Sent],
        Status::Received => &[Transition::Received],
        Status::Reentered => &[Transition::Reentered {
            accession: "L26.0000001".into(),
        }],
        Status::Cancelled => &[Transition::Cancelled {
            reason: "duplicate".into(),
        }],
        Status::Rejected => &[Transition::Rejected {
            reason: "haemolysed".into(),
        }],
    };
    for t in steps {
        store.change_status(uuid, t, "BMS C", now()).unwrap();
    }
}

fn whole_queue(
    store: &Store,
    filter: &QueueFilter,
    sort: SortColumn,
    order: SortOrder,
    overdue: Option<&OverdueFirst>,
) -> Vec<QueueRow> {
    store
        .queue_page_with_overdue(filter, sort, order, overdue, 0, 100_000)
        .unwrap()
}

fn uuids(rows: &[QueueRow]) -> Vec<Uuid> {
    rows.iter().map(|r| r.uuid).collect()
}

#[test]
fn overdue_requests_come_first_most_overdue_first_then_the_chosen_sort() {
    let (_dir, mut store) = temp_store();
    let cases = [
        // (priority, minutes since collection, status)
        (Priority::Urgent, 100, Status::Sent), // 40 min overdue
        (Priority::Emergency, 100, Status::Logged), // 70 min overdue
        (Priority::Emergency, 31, Status::Received), // 1 min overdue: received is still open
        (Priority::Emergency, 29, Status::Logged), // not yet
        (Priority::Urgent, 59, Status::Logged), // not yet
        (Priority::Routine, 600, Status::Logged), // routine is never overdue
        (Priority::Emergency, 300, Status::Reentered), // final
        (Priority::Urgent, 300, Status::Cancelled), // final
        (Priority::Emergency, 300, Status::Rejected), // final
    ];
    let mut ids = Vec::new();
    for (n, (priority, minutes, status)) in cases.into_iter().enumerate() {
        let r = collected(n as u32, priority, minutes);
        store.save_request(&r, "Nurse A", now()).unwrap();
        to_status(&mut store, r.uuid, status);
        ids.push(r.uuid);
    }
    let od = at_now(OverdueThresholds::default());
    let all = QueueFilter::default();
    let sort = (SortColumn::Collected, SortOrder::Descending);

    let rows = whole_queue(&store, &all, sort.0, sort.1, Some(&od));
    assert_eq!(uuids(&rows[..3]), [ids[1], ids[0], ids[2]]);
    let plain = whole_queue(&store, &all, sort.0, sort.1, None);
    let rest: Vec<Uuid> = uuids(&plain)
        .into_iter()
        .filter(|u| !ids[..3].contains(u))
        .collect();
    assert_eq!(uuids(&rows[3..]), rest);
    assert_eq!(store.queue_overdue_count(&all, &od).unwrap(), 3);
    assert_eq!(store.queue_count(&all).unwrap(), 9);

    let shown: Vec<Option<String>> = rows
        .iter()
        .map(|r| r.overdue_by(od.now, &od.thresholds).map(age_words))
        .collect();
    assert_eq!(
        shown[..4],
        [
            Some("1 h 10 min".to_owned()),
            Some("40 min".to_owned()),
            Some("1 min".to_owned()),
            None
        ]
    );
    assert!(shown[3..].iter().all(Option::is_none));

    // The filter applies to the block too.
    let urgent = QueueFilter {
        priorities: vec![Priority::Urgent],
        ..QueueFilter::default()
    };
    let rows = whole_queue(&store, &urgent, sort.0, sort.1, Some(&od));
    assert_eq!(rows[0].uuid, ids[0]);
    assert_eq!(rows.len(), 3);

    // Thresholds decide: with a 90-minute emergency threshold only the first two remain, and the
    // urgent one is now the most overdue.
    let relaxed = at_now(OverdueThresholds::new(90, 60).unwrap());
    let rows = whole_queue(&store, &all, sort.0, sort.1, Some(&relaxed));
    assert_eq!(uuids(&rows[..2]), [ids[0], ids[1]]);
    assert_eq!(rows[2].overdue_by(now(), &relaxed.thresholds), None);
}

/// Three hundred requests over a few hours, many collected in the same minute, in every status.
fn busy_store() -> (tempfile::TempDir, Store) {
    let (dir, mut store) = temp_store();
    let statuses = [
        Status::Logged,
        Status::Sent,
        Status::Received,
        Status::Logged,
        Status::Reentered,
        Status::Cancelled,
        Status::Rejected,
    ];
    store
        .in_transaction(|s| {
            for n in 0..300u32 {
                let priority = match n % 5 {
                    0 | 3 => Priority::Emergency,
                    1 | 4 => Priority::Urgent,
                    _ => Priority::Routine,
                };
                let mut r = collected(n, priority, i64::from(n * 7 % 240));
                if n % 4 == 0 {
                    r.ward = "AMU".into();
                }
                s.save_request(&r, "Nurse A", now())?;
                to_status(s, r.uuid, statuses[n as usize % statuses.len()]);
            }
            Ok(())
        })
        .unwrap();
    (dir, store)
}

#[test]
fn paging_across_the_overdue_block_returns_every_row_once() {
    let (_dir, store) = busy_store();
    let od = at_now(OverdueThresholds::default());
    let filters = [
        QueueFilter::default(),
        QueueFilter {
            ward: Some("AMU".into()),
            ..QueueFilter::default()
        },
        QueueFilter {
            search: "testpatientb".into(),
            ..QueueFilter::default()
        },
    ];
    let sorts = [
        (SortColumn::Collected, SortOrder::Descending),
        (SortColumn::Priority, SortOrder::Ascending),
        (SortColumn::Patient, SortOrder::Ascending),
        (SortColumn::DowntimeId, SortOrder::Descending),
        (SortColumn::Status, SortOrder::Ascending),
        (SortColumn::Ward, SortOrder::Descending),
    ];
    for filter in &filters {
        let count = store.queue_count(filter).unwrap();
        let block = store.queue_overdue_count(filter, &od).unwrap();
        assert!(
            block > 0 && block < count,
            "{block} of {count}: the test needs both parts"
        );
        if filter.search.is_empty() {
            assert!(block > 7, "{block}: the block should span pages");
        }
        for (sort, order) in sorts {
            let mut paged = Vec::new();
            for offset in (0..).step_by(7) {
                let page = store
                    .queue_page_with_overdue(filter, sort, order, Some(&od), offset, 7)
                    .unwrap();
                assert!(page.len() <= 7);
                if page.is_empty() {
                    break;
                }
                paged.extend(page);
            }
            let what = format!("{filter:?} {sort:?} {order:?}");
            assert_eq!(paged.len() as u64, count, "{what}");
            let unique: HashSet<Uuid> = paged.iter().map(|r| r.uuid).collect();
            assert_eq!(unique.len(), paged.len(), "a row twice: {what}");

            let (first, rest) = paged.split_at(block as usize);
            let by: Vec<Duration> = first
                .iter()
                .map(|r| r.overdue_by(od.now, &od.thresholds).unwrap())
                .collect();
            assert!(
                by.windows(2).all(|w| w[0] >= w[1]),
                "most overdue first: {what}"
            );
            let expected_rest: Vec<Uuid> = whole_queue(&store, filter, sort, order, None)
                .into_iter()
                .filter(|r| r.overdue_by(od.now, &od.thresholds).is_none())
                .map(|r| r.uuid)
                .collect();
            assert_eq!(uuids(rest), expected_rest, "{what}");
        }
    }
}

#[test]
fn a_request_exactly_at_its_threshold_is_not_yet_overdue() {
    let (_dir, mut store) = temp_store();
    let r = collected(1, Priority::Emergency, 30);
    store.save_request(&r, "Nurse A", now()).unwrap();
    let all = QueueFilter::default();
    let od = at_now(OverdueThresholds::default());
    assert_eq!(store.queue_overdue_count(&all, &od).unwrap(), 0);
    let later = OverdueFirst {
        now: now() + Duration::milliseconds(1),
        ..od
    };
    assert_eq!(store.queue_overdue_count(&all, &later).unwrap(), 1);
    let row = &store
        .queue_page(&all, SortColumn::Collected, SortOrder::Descending, 0, 1)
        .unwrap()[0];
    assert_eq!(row.overdue_by(od.now, &od.thresholds), None);
    assert_eq!(
        row.overdue_by(later.now, &od.thresholds),
        Some(Duration::milliseconds(1))
    );
}

#[test]
fn thresholds_default_to_30_and_60_and_a_change_is_kept_with_who_made_it() {
    let (dir, mut store) = temp_store();
    assert_eq!(
        store.overdue_thresholds().unwrap(),
        OverdueThresholds::default()
    );
    let set = OverdueThresholds::new(15, 45).unwrap();
    store
        .set_overdue_thresholds(&set, " Lab manager ", now())
        .unwrap();
    drop(store);
    let mut store = Store::open_or_create(&dir.path().join("stopgap.db")).unwrap();
    assert_eq!(store.overdue_thresholds().unwrap(), set);

    let refused = OverdueThresholds {
        emergency_minutes: 0,
        urgent_minutes: 60,
    };
    let err = store
        .set_overdue_thresholds(&refused, "Someone", now())
        .unwrap_err();
    assert!(matches!(err, StoreError::OverdueThreshold(_)), "{err:?}");
    assert!(err.to_string().contains("from 1 to 1440 minutes"), "{err}");
    assert_eq!(store.overdue_thresholds().unwrap(), set);

    let c = crate::common::raw(store.path());
    let log: Vec<(String, String, i64, String, String)> = c
        .prepare("SELECT key, value, at_ms, workstation, user_name FROM settings_log ORDER BY id")
        .unwrap()
        .query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        log,
        [(
            "overdue_thresholds".to_owned(),
            r#"{"emergency_minutes":15,"urgent_minutes":45}"#.to_owned(),
            now().timestamp_millis(),
            "W07".to_owned(),
            "Lab manager".to_owned()
        )]
    );
    for sql in [
        "DELETE FROM settings_log",
        "UPDATE settings_log SET user_name = 'x'",
    ] {
        let err = c.execute(sql, []).unwrap_err().to_string();
        assert!(err.contains("never"), "{sql}: {err}");
    }
}

#[test]
fn thresholds_changed_behind_the_store_are_reported_not_used() {
    let (_dir, store) = temp_store();
    crate::common::raw(store.path())
        .execute(
            "INSERT INTO settings(key, value)
             VALUES ('overdue_thresholds', '{\"emergency_minutes\":0,\"urgent_minutes\":60}')",
            [],
        )
        .unwrap();
    let err = store.overdue_thresholds().unwrap_err();
    assert!(matches!(err, StoreError::Corrupt(_)), "{err:?}");
}

/// 130 requests on RXX/W07 (so that two sequence numbers end in 23) and 3 on RXX/W08.
fn store_with_ids() -> (tempfile::TempDir, Store, Vec<DowntimeId>) {
    let (dir, mut store) = temp_store();
    let mut ids = Vec::new();
    store
        .in_transaction(|s| {
            for n in 0..130 {
                ids.push(s.save_request(&named(n), "Nurse A", now())?.downtime_id);
            }
            Ok(())
        })
        .unwrap();
    let mut other = setup();
    other.workstation = Code3::workstation("W08").unwrap();
    store.configure(&other).unwrap();
    for n in 200..203 {
        ids.push(
            store
                .save_request(&named(n), "Nurse B", now())
                .unwrap()
                .downtime_id,
        );
    }
    (dir, store, ids)
}

/// Request `n`, whose patient is Élodie (1), alicia (2) or Bob. Élodie and alicia get NHS numbers
/// of their own, so that no one else on file holds them under another name.
fn named(n: u32) -> NewRequest {
    let mut r = request(n);
    let own = |serial| (serial..).find_map(NhsNumber::test_number);
    match n {
        1 => {
            r.patient.forename = "Élodie".into();
            r.patient.nhs_number = own(500_000);
        }
        2 => {
            r.patient.forename = "alicia".into();
            r.patient.nhs_number = own(600_000);
        }
        _ => r.patient.forename = "Bob".into(),
    }
    r
}

fn found(store: &Store, q: &str) -> Vec<DowntimeId> {
    let filter = QueueFilter {
        search: q.into(),
        ..QueueFilter::default()
    };
    let mut ids: Vec<DowntimeId> = store
        .queue_page(
            &filter,
            SortColumn::DowntimeId,
            SortOrder::Ascending,
            0,
            1000,
        )
        .unwrap()
        .into_iter()
        .map(|r| r.downtime_id)
        .collect();
    ids.sort();
    assert_eq!(store.queue_count(&filter).unwrap(), ids.len() as u64, "{q}");
    ids
}

fn with(ids: &[DowntimeId], keep: impl Fn(&DowntimeId) -> bool) -> Vec<DowntimeId> {
    let mut v: Vec<DowntimeId> = ids.iter().filter(|id| keep(id)).cloned().collect();
    v.sort();
    v
}

#[test]
fn search_finds_a_partial_downtime_id_typed_any_way() {
    let (_dir, store, ids) = store_with_ids();
    let w07 = |id: &DowntimeId| id.workstation().as_str() == "W07";
    let target = ids.iter().find(|id| w07(id) && id.sequence() == 23);
    // Sequence 23 may be one of those never issued by rule; then 24 stands in for it.
    let target = target
        .or_else(|| ids.iter().find(|id| w07(id) && id.sequence() == 24))
        .unwrap()
        .clone();
    let seq = format!("{:06}", target.sequence());
    let only = vec![target.clone()];

    assert_eq!(found(&store, &seq), only, "six digits");
    assert_eq!(found(&store, &format!("rxx-w07-{seq}")), only);
    assert_eq!(found(&store, &format!("RXX W07 {seq}")), only);
    assert_eq!(found(&store, &format!("w07-{seq}")), only);
    let check = &target.canonical()[12..];
    assert_eq!(found(&store, &format!("W07-{seq}-{check}")), only);
    let wrong = if check == "A" { "B" } else { "A" };
    assert!(found(&store, &format!("W07-{seq}-{wrong}")).is_empty());

    // Trailing digits: "23" is also the end of 123.
    let tail = &seq[4..];
    assert_eq!(
        found(&store, tail),
        with(&ids, |id| id.sequence() % 100 == target.sequence() % 100)
    );
    assert!(found(&store, tail).len() >= 2);

    // A workstation and the leading digits of the sequence.
    assert_eq!(
        found(&store, "W07-0000"),
        with(&ids, |id| w07(id) && id.sequence() < 100)
    );
    assert_eq!(found(&store, "w08"), with(&ids, |id| !w07(id)));
    // A prefix of the whole ID.
    assert_eq!(
        found(&store, "RXX-W07-00001"),
        with(&ids, |id| w07(id) && (10..20).contains(&id.sequence()))
    );
    assert_eq!(found(&store, "rxx").len(), ids.len());
    assert!(found(&store, "W09-0000").is_empty());
}

#[test]
fn search_finds_a_forename_prefix_in_any_case() {
    let (_dir, store, ids) = store_with_ids();
    assert_eq!(found(&store, "ali"), [ids[2].clone()]);
    assert_eq!(found(&store, "ALICIA"), [ids[2].clone()]);
    assert_eq!(found(&store, "élo"), [ids[1].clone()]);
    assert_eq!(found(&store, "ÉLODIE"), [ids[1].clone()]);
    assert_eq!(found(&store, "bob").len(), ids.len() - 2);
    // Surnames as before.
    let all = store
        .queue_page(
            &QueueFilter::default(),
            SortColumn::DowntimeId,
            SortOrder::Ascending,
            0,
            1000,
        )
        .unwrap();
    let b: Vec<DowntimeId> = all
        .into_iter()
        .filter(|r| r.surname == "Testpatientb")
        .map(|r| r.downtime_id)
        .collect();
    assert!(!b.is_empty());
    assert_eq!(found(&store, "testpatientb"), b);
}

#[test]
fn requests_saved_before_forename_search_are_found_by_forename() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let id = DowntimeId::new(
        Code3::site("RXX").unwrap(),
        Code3::workstation("W07").unwrap(),
        1,
    )
    .unwrap();
    {
        let mut c = Connection::open(&path).unwrap();
        schema::migrate_to(&mut c, 2).unwrap();
        let event = Uuid::new_v4().to_string();
        let uuid = Uuid::new_v4().to_string();
        c.execute(
            "INSERT INTO events(id, request_uuid, workstation, user_name, at_ms, kind, payload)
             VALUES (?1, ?2, 'W07', 'Nurse A', 0, 'created', '{}')",
            [&event, &uuid],
        )
        .unwrap();
        c.execute(
            "INSERT INTO requests(uuid, downtime_id, site, workstation, sequence, status, priority,
                priority_rank, surname, surname_key, forename, ward, tests, collected_ms,
                created_ms, updated_ms, state, last_event)
             VALUES (?1, ?2, 'RXX', 'W07', 1, 'logged', 'urgent', 1, 'Testpatient', 'testpatient',
                'Margaret', 'Ward 7', 'FBC', 0, 0, 0, '{}', ?3)",
            [&uuid, &id.canonical(), &event],
        )
        .unwrap();
    }
    let store = Store::open_or_create(&path).unwrap();
    assert_eq!(found(&store, "marg"), std::slice::from_ref(&id));
    assert_eq!(found(&store, "000001"), [id]);
    // The guard the backfill went around is back.
    let err = Connection::open(&path)
        .unwrap()
        .execute("UPDATE requests SET status = 'cancelled'", [])
        .unwrap_err();
    assert!(
        err.to_string().contains("only together with a new event"),
        "{err}"
    );
}
