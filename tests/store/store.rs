//! The store on a real SQLite file in a temporary directory.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on purpose"
)]

use crate::common::{now, request, setup, temp_store};
use rusqlite::Connection;
use stopgap::domain::downtime_id::DowntimeId;
use stopgap::domain::overdue::OverdueThresholds;
use stopgap::domain::request::Priority;
use stopgap::domain::status::{Status, Transition, TransitionError};
use stopgap::store::{OverdueFirst, QueueFilter, SortColumn, SortOrder, Store, StoreError, schema};

fn raw(store: &Store) -> Connection {
    crate::common::raw(store.path())
}

#[test]
fn opens_with_durable_pragmas() {
    let (_dir, store) = temp_store();
    let c = raw(&store);
    let mode: String = c
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let v: i64 = c
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, schema::latest_version());
}

#[test]
fn migrates_from_empty_and_from_every_earlier_version() {
    for start in 0..=schema::latest_version() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        {
            let mut c = Connection::open(&path).unwrap();
            schema::migrate_to(&mut c, start).unwrap();
        }
        let mut store = Store::open_or_create(&path).unwrap();
        store.configure(&setup()).unwrap();
        let saved = store.save_request(&request(1), "Nurse A", now()).unwrap();
        assert_eq!(saved.downtime_id.sequence(), 1, "from version {start}");
    }
}

#[test]
fn refuses_a_newer_schema() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.db");
    Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", 999)
        .unwrap();
    assert!(matches!(
        Store::open_or_create(&path),
        Err(StoreError::NewerSchema { found: 999, .. })
    ));
}

#[test]
fn a_damaged_file_gets_a_clear_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("junk.db");
    // Its key held, as after a sign-in: the key does not open what the file became.
    drop(crate::common::protected_store(&path, &setup()));
    std::fs::write(
        &path,
        b"this is not a database, it is a shopping list ".repeat(200),
    )
    .unwrap();
    let err = Store::open_or_create(&path).err().unwrap();
    assert!(
        matches!(
            err,
            StoreError::Damaged { .. } | StoreError::Undecryptable { .. }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("damaged"));
}

#[test]
fn a_truncated_database_is_reported_damaged() {
    let (dir, mut store) = temp_store();
    for n in 0..200 {
        store.save_request(&request(n), "Nurse A", now()).unwrap();
    }
    let path = store.path().to_owned();
    drop(store);
    // Keep the header but scribble over the middle of the file.
    let mut broken = std::fs::read(&path).unwrap();
    let mid = broken.len() / 2;
    let end = (mid + 4096).min(broken.len());
    for b in &mut broken[mid..end] {
        *b = 0xA5;
    }
    std::fs::write(&path, &broken).unwrap();
    let _ = std::fs::remove_file(dir.path().join("stopgap.db-wal"));
    match Store::open_or_create(&path) {
        Err(StoreError::Damaged { .. }) => {}
        Err(other) => panic!("expected Damaged, got {other:?}"),
        Ok(s) => assert!(!s.verify().unwrap().is_sound()),
    }
}

#[test]
fn save_issues_sequential_ids_and_survives_reopen() {
    let (dir, mut store) = temp_store();
    let a = store.save_request(&request(1), "Nurse A", now()).unwrap();
    let b = store.save_request(&request(2), "Nurse A", now()).unwrap();
    assert_eq!(a.downtime_id.canonical().len(), 13);
    assert!(a.downtime_id.canonical().starts_with("RXXW07"));
    assert!(b.downtime_id.sequence() > a.downtime_id.sequence());
    drop(store);
    let store = Store::open_or_create(&dir.path().join("stopgap.db")).unwrap();
    let found = store.find_by_downtime_id(&a.downtime_id).unwrap().unwrap();
    assert_eq!(found.state.request, request_with_uuid(&found));
    assert_eq!(found.events.len(), 1);
    assert_eq!(found.state.created_by.user, "Nurse A");
}

fn request_with_uuid(d: &stopgap::store::RequestDetail) -> stopgap::domain::request::NewRequest {
    d.state.request.clone()
}

#[test]
fn saving_the_same_form_twice_is_recognised_not_duplicated() {
    let (_dir, mut store) = temp_store();
    let r = request(1);
    let first = store.save_request(&r, "Nurse A", now()).unwrap();
    let again = store.save_request(&r, "Nurse A", now()).unwrap();
    assert!(!first.already_saved);
    assert!(again.already_saved);
    assert_eq!(first.downtime_id, again.downtime_id);
    assert_eq!(store.queue_count(&QueueFilter::default()).unwrap(), 1);
    let mut changed = r.clone();
    changed.notes = "different".into();
    assert!(matches!(
        store.save_request(&changed, "Nurse A", now()),
        Err(StoreError::UuidConflict(_))
    ));
}

#[test]
fn refuses_to_save_before_set_up() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open_or_create(&dir.path().join("s.db")).unwrap();
    assert!(matches!(
        store.save_request(&request(1), "A", now()),
        Err(StoreError::NotSetUp)
    ));
}

#[test]
fn status_changes_follow_the_lifecycle_and_are_recorded() {
    let (_dir, mut store) = temp_store();
    let r = request(1);
    store.save_request(&r, "Nurse A", now()).unwrap();
    store
        .change_status(r.uuid, &Transition::Sent, "Porter B", now())
        .unwrap();
    store
        .change_status(r.uuid, &Transition::Received, "BMS C", now())
        .unwrap();
    let err = store
        .change_status(r.uuid, &Transition::Sent, "BMS C", now())
        .unwrap_err();
    assert!(matches!(
        err,
        StoreError::Transition(TransitionError::NotAllowed { .. })
    ));
    let s = store
        .change_status(
            r.uuid,
            &Transition::Reentered {
                accession: "L26.0000001".into(),
            },
            "BMS C",
            now(),
        )
        .unwrap();
    assert_eq!(s.status, Status::Reentered);
    let d = store.request_detail(r.uuid).unwrap().unwrap();
    assert_eq!(d.events.len(), 4);
    assert_eq!(d.events[1].actor.user, "Porter B");
    let cancel = Transition::Cancelled {
        reason: "late".into(),
    };
    assert!(store.change_status(r.uuid, &cancel, "A", now()).is_err());
    assert!(store.verify().unwrap().is_sound());
}

#[test]
fn cancel_needs_a_reason_and_keeps_the_record() {
    let (_dir, mut store) = temp_store();
    let r = request(1);
    let saved = store.save_request(&r, "Nurse A", now()).unwrap();
    let no_reason = Transition::Cancelled { reason: " ".into() };
    assert!(store.change_status(r.uuid, &no_reason, "A", now()).is_err());
    let cancel = Transition::Cancelled {
        reason: "Patient discharged".into(),
    };
    store.change_status(r.uuid, &cancel, "A", now()).unwrap();
    let d = store
        .find_by_downtime_id(&saved.downtime_id)
        .unwrap()
        .unwrap();
    assert_eq!(d.state.status, Status::Cancelled);
    assert_eq!(d.state.reason.as_deref(), Some("Patient discharged"));
    // The cancelled ID is not reused.
    let next = store.save_request(&request(2), "A", now()).unwrap();
    assert!(next.downtime_id.sequence() > saved.downtime_id.sequence());
}

#[test]
fn clinical_rows_cannot_be_deleted_or_changed_behind_the_history() {
    let (_dir, mut store) = temp_store();
    store.save_request(&request(1), "Nurse A", now()).unwrap();
    let c = raw(&store);
    for sql in [
        "DELETE FROM requests",
        "DELETE FROM events",
        "UPDATE events SET user_name = 'someone else'",
        "UPDATE requests SET status = 'cancelled'",
        "UPDATE id_sequence SET last = 0",
    ] {
        let err = c.execute(sql, []).unwrap_err().to_string();
        assert!(
            err.contains("never") || err.contains("only together"),
            "{sql}: {err}"
        );
    }
    assert_eq!(store.queue_count(&QueueFilter::default()).unwrap(), 1);
}

#[test]
fn verify_finds_tampering_and_gaps() {
    let (_dir, mut store) = temp_store();
    for n in 0..5 {
        store.save_request(&request(n), "Nurse A", now()).unwrap();
    }
    let report = store.verify().unwrap();
    assert!(report.is_sound(), "{:?}", report.problems);
    assert_eq!(report.requests, 5);
    assert_eq!(report.events, 5);
    let c = raw(&store);
    // Someone bypasses the store: drops the guard and edits a status without an event.
    c.execute_batch(
        "DROP TRIGGER requests_change_only_with_an_event;
         UPDATE requests SET status = 'received' WHERE sequence = 2;
         UPDATE id_sequence SET last = last + 3;",
    )
    .unwrap();
    let report = store.verify().unwrap();
    assert!(!report.is_sound());
    let text = report.problems.join("\n");
    assert!(
        text.contains("stored status differs from its history"),
        "{text}"
    );
    assert!(text.contains("issued but have no request"), "{text}");
}

#[test]
fn queue_filters_sorts_and_searches() {
    let (_dir, mut store) = temp_store();
    let mut ids = Vec::new();
    for n in 0..30 {
        let mut r = request(n);
        r.priority = match n % 3 {
            0 => Priority::Emergency,
            1 => Priority::Urgent,
            _ => Priority::Routine,
        };
        r.collected_at = now() - chrono::Duration::minutes(i64::from(n));
        if n == 7 {
            r.patient.mrn = Some("K7654321".into());
            r.patient.surname = "O'Brien".into();
            r.ward = "AMU".into();
        }
        ids.push((
            r.uuid,
            store.save_request(&r, "A", now()).unwrap().downtime_id,
        ));
    }
    store
        .change_status(ids[3].0, &Transition::Sent, "A", now())
        .unwrap();
    let all = QueueFilter::default();
    assert_eq!(store.queue_count(&all).unwrap(), 30);
    let page = store
        .queue_page(&all, SortColumn::Collected, SortOrder::Descending, 0, 10)
        .unwrap();
    assert_eq!(page.len(), 10);
    assert!(
        page.windows(2)
            .all(|w| w[0].collected_at >= w[1].collected_at)
    );
    let page2 = store
        .queue_page(&all, SortColumn::Collected, SortOrder::Descending, 10, 10)
        .unwrap();
    assert!(page2[0].collected_at <= page[9].collected_at);
    let by_priority = store
        .queue_page(&all, SortColumn::Priority, SortOrder::Ascending, 0, 30)
        .unwrap();
    assert_eq!(by_priority[0].priority, Priority::Emergency);
    assert_eq!(by_priority[29].priority, Priority::Routine);

    let search = |q: &str| QueueFilter {
        search: q.into(),
        ..QueueFilter::default()
    };
    let id = &ids[5].1;
    let found = store
        .queue_page(
            &search(&id.grouped().to_lowercase()),
            SortColumn::Collected,
            SortOrder::Descending,
            0,
            10,
        )
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(&found[0].downtime_id, id);
    let nhs = found[0].nhs_number.clone().unwrap();
    let spaced = format!("{} {} {}", &nhs[0..3], &nhs[3..6], &nhs[6..]);
    assert_eq!(store.queue_count(&search(&spaced)).unwrap(), 1);
    assert_eq!(store.queue_count(&search("k7654321")).unwrap(), 1);
    assert_eq!(store.queue_count(&search("o'bri")).unwrap(), 1);
    assert_eq!(store.queue_count(&search("testpatient")).unwrap(), 29);
    assert_eq!(store.queue_count(&search("nobody")).unwrap(), 0);

    let sent = QueueFilter {
        statuses: vec![Status::Sent],
        ..QueueFilter::default()
    };
    assert_eq!(store.queue_count(&sent).unwrap(), 1);
    let amu = QueueFilter {
        ward: Some("AMU".into()),
        ..QueueFilter::default()
    };
    assert_eq!(store.queue_count(&amu).unwrap(), 1);
    let emergencies = QueueFilter {
        priorities: vec![Priority::Emergency],
        ..QueueFilter::default()
    };
    assert_eq!(store.queue_count(&emergencies).unwrap(), 10);
    assert_eq!(store.open_counts().unwrap(), (10, 10));
    assert_eq!(store.wards_in_use().unwrap(), ["AMU", "Ward 7"]);
}

#[test]
fn known_patient_is_offered_and_history_drives_warnings() {
    let (_dir, mut store) = temp_store();
    let mut r = request(1);
    r.patient.mrn = Some("K1234567".into());
    store.save_request(&r, "A", now()).unwrap();
    let p = store
        .patient_by_identifier(r.patient.nhs_number.as_ref(), None)
        .unwrap()
        .unwrap();
    assert_eq!(p, r.patient);
    let by_mrn = store.patient_by_identifier(None, Some("k1234567")).unwrap();
    assert_eq!(by_mrn, Some(r.patient.clone()));

    let mut second = request(1);
    second.tests = vec![stopgap::domain::catalogue::RequestedTest::from(
        store.catalogue().unwrap().test("GS").unwrap(),
    )];
    let h = store.patient_history(&second.patient, second.uuid).unwrap();
    assert_eq!(h.earlier.len(), 1);
    assert!(!h.has_transfusion_sample);
    store.save_request(&second, "A", now()).unwrap();
    let third = request(1);
    let h = store.patient_history(&third.patient, third.uuid).unwrap();
    assert!(h.has_transfusion_sample);
}

#[test]
fn drafts_survive_reopen_and_can_be_cleared() {
    let (dir, mut store) = temp_store();
    let d = crate::common::draft(3);
    store.save_draft(&d, now()).unwrap();
    drop(store);
    let mut store = Store::open_or_create(&dir.path().join("stopgap.db")).unwrap();
    assert_eq!(store.load_draft().unwrap(), Some(d));
    store.clear_draft().unwrap();
    assert_eq!(store.load_draft().unwrap(), None);
}

#[test]
fn an_unclean_exit_lists_the_last_saves() {
    let (dir, mut store) = temp_store();
    let (session, crashed) = store.begin_session(now()).unwrap();
    assert!(crashed.is_empty());
    let saved = store.save_request(&request(1), "A", now()).unwrap();
    store.end_session(session, now()).unwrap();
    // Clean exit: nothing to check.
    let later = now() + chrono::Duration::seconds(1);
    let (_, crashed) = store.begin_session(later).unwrap();
    assert!(crashed.is_empty());
    let saved2 = store.save_request(&request(2), "A", later).unwrap();
    // The app is killed: the session never ends.
    drop(store);
    let mut store = Store::open_or_create(&dir.path().join("stopgap.db")).unwrap();
    let (_, crashed) = store
        .begin_session(later + chrono::Duration::seconds(5))
        .unwrap();
    let ids: Vec<DowntimeId> = crashed.into_iter().map(|r| r.downtime_id).collect();
    assert_eq!(ids, [saved2.downtime_id]);
    assert_ne!(ids[0], saved.downtime_id);
}

#[test]
fn catalogue_edits_are_kept_and_old_requests_keep_their_tests() {
    let (_dir, mut store) = temp_store();
    let r = request(1);
    store.save_request(&r, "A", now()).unwrap();
    let mut cat = store.catalogue().unwrap();
    cat.tests[0].name = "Full blood count (renamed)".into();
    store.set_catalogue(&cat, "Lab manager", now()).unwrap();
    assert_eq!(store.catalogue().unwrap(), cat);
    let d = store.request_detail(r.uuid).unwrap().unwrap();
    assert_eq!(d.state.request.tests[0].name, "Full blood count");
    let mut broken = cat.clone();
    broken.tests.clear();
    assert!(store.set_catalogue(&broken, "x", now()).is_err());
    assert_eq!(store.catalogue().unwrap(), cat);
}

#[test]
fn a_failed_bulk_write_leaves_nothing_behind() {
    let (_dir, mut store) = temp_store();
    let result: Result<(), StoreError> = store.in_transaction(|s| {
        s.save_request(&request(1), "A", now())?;
        s.save_request(&request(2), "A", now())?;
        Err(StoreError::NotSetUp)
    });
    assert!(result.is_err());
    assert_eq!(store.queue_count(&QueueFilter::default()).unwrap(), 0);
    // And the sequence was rolled back too: the next ID is the first.
    let s = store.save_request(&request(3), "A", now()).unwrap();
    assert_eq!(s.downtime_id.sequence(), 1);
}

#[test]
fn look_ups_use_indexes_not_a_scan_of_every_request() {
    let (_dir, mut store) = temp_store();
    for n in 0..50 {
        store.save_request(&request(n), "A", now()).unwrap();
    }
    let id = store
        .queue_page(
            &QueueFilter::default(),
            SortColumn::Collected,
            SortOrder::Descending,
            0,
            1,
        )
        .unwrap()
        .remove(0)
        .downtime_id;
    let overdue = OverdueFirst {
        now: now(),
        thresholds: OverdueThresholds::default(),
    };
    for q in [
        id.grouped(),
        "999 000 0018".to_owned(),
        "K1234567".to_owned(),
        "testp".to_owned(),
        // A partial downtime ID: trailing sequence digits, without the site, a prefix.
        "000023".to_owned(),
        "23".to_owned(),
        "W07-0000".to_owned(),
        "w07-000023-k".to_owned(),
        "rxx-w07-00".to_owned(),
        // A forename.
        "ali".to_owned(),
    ] {
        let filter = QueueFilter {
            search: q.clone(),
            ..QueueFilter::default()
        };
        for sort in [
            SortColumn::Collected,
            SortColumn::Patient,
            SortColumn::Priority,
        ] {
            for overdue_first in [None, Some(&overdue)] {
                let plan = store
                    .queue_plan(&filter, sort, SortOrder::Descending, overdue_first)
                    .unwrap();
                assert!(
                    !plan.iter().any(|l| l.starts_with("SCAN requests")),
                    "search {q:?} sorted by {sort:?} (overdue first: {}) scans the table: {plan:?}",
                    overdue_first.is_some()
                );
            }
        }
    }
    // Paging the whole queue walks an index in order rather than sorting every row, with or
    // without the overdue block first; the block itself is a search of the open-requests index.
    for sort in [
        SortColumn::Collected,
        SortColumn::Priority,
        SortColumn::DowntimeId,
    ] {
        for overdue_first in [None, Some(&overdue)] {
            let plan = store
                .queue_plan(
                    &QueueFilter::default(),
                    sort,
                    SortOrder::Descending,
                    overdue_first,
                )
                .unwrap();
            assert!(
                plan.iter()
                    .any(|l| l.contains("USING INDEX") || l.contains("USING COVERING INDEX")),
                "{sort:?}: {plan:?}"
            );
            if overdue_first.is_some() {
                let block: Vec<&String> = plan
                    .iter()
                    .filter(|l| l.contains("requests_open_by_priority"))
                    .collect();
                assert!(block.iter().all(|l| l.starts_with("SEARCH")), "{plan:?}");
                // The count and the keys of each priority's part.
                assert_eq!(block.len(), 4, "{sort:?}: {plan:?}");
            }
        }
    }
    // The rest of the default queue still reads only the index it walks.
    let plan = store
        .queue_plan(
            &QueueFilter::default(),
            SortColumn::Collected,
            SortOrder::Descending,
            Some(&overdue),
        )
        .unwrap();
    assert!(
        plan.iter()
            .any(|l| l == "SCAN requests USING COVERING INDEX requests_by_collected"),
        "{plan:?}"
    );
}

#[test]
fn a_clock_finer_than_a_millisecond_keeps_state_equal_to_history() {
    let (_dir, mut store) = temp_store();
    let fine = now() + chrono::Duration::nanoseconds(123_456_789);
    let r = request(1);
    store.save_request(&r, "A", fine).unwrap();
    store
        .change_status(
            r.uuid,
            &Transition::Sent,
            "A",
            fine + chrono::Duration::nanoseconds(1),
        )
        .unwrap();
    let report = store.verify().unwrap();
    assert!(report.is_sound(), "{:?}", report.problems);
}

#[test]
fn a_ward_list_with_a_code_twice_is_refused_and_the_setup_kept() {
    let (_dir, mut store) = temp_store();
    let mut bad = setup();
    bad.wards
        .push(stopgap::domain::ward::Ward::new("w7", "Ward 7 Annexe").unwrap());
    let err = store.configure(&bad).unwrap_err();
    assert!(matches!(err, StoreError::BadWard(_)), "{err:?}");
    let said = stopgap::error::error_chain(&err);
    assert!(
        said.contains("'Ward 7' and 'Ward 7 Annexe' both have the code W7"),
        "{said}"
    );
    assert_eq!(store.setup().unwrap().unwrap().wards, setup().wards);
}
