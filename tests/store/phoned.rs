//! Results phoned to the ward, on a real SQLite file: recorded once the lab has the sample and
//! refused before with the reason, checked again by the store, listed in the log newest first
//! with its filters, carried to another PC by a handover bundle, recorded and listed by the
//! `stopgap phone` and `stopgap phoned` commands, and `verify` still finds the file sound.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on purpose"
)]

use chrono::{DateTime, Duration, Local, Utc};
use uuid::Uuid;

use crate::common::cli::{stopgap, text};
use crate::common::{now, request, setup, temp_store};
use stopgap::domain::downtime_id::Code3;
use stopgap::domain::event::EventKind;
use stopgap::domain::phoned::PhonedResult;
use stopgap::domain::status::{Status, Transition};
use stopgap::files::Overwrite;
use stopgap::store::{PhonedFilter, PhonedRefused, Setup, Store, StoreError};

/// Saves synthetic request `n` (collected 10:20) on `ward`, moved on through `steps`; returns
/// its UUID and downtime ID (grouped).
fn saved(store: &mut Store, n: u32, ward: &str, steps: &[Transition]) -> (Uuid, String) {
    let mut r = request(n);
    r.ward = ward.to_owned();
    let id = store
        .save_request(&r, "Nurse A", now())
        .unwrap()
        .downtime_id;
    for t in steps {
        store.change_status(r.uuid, t, "BMS C", now()).unwrap();
    }
    (r.uuid, id.grouped())
}

fn received(store: &mut Store, n: u32, ward: &str) -> (Uuid, String) {
    saved(store, n, ward, &[Transition::Sent, Transition::Received])
}

/// An FBC result phoned `minutes` after 10:30.
fn phoned(minutes: i64, read_back: bool) -> PhonedResult {
    PhonedResult {
        test: "FBC".into(),
        summary: format!("Hb {} g/L", 60 + minutes),
        phoned_at: now() + Duration::minutes(minutes),
        phoned_by: "BMS C".into(),
        received_by: "Nurse Ade".into(),
        read_back,
    }
}

/// An hour after the sample came in: every result of [`phoned`] is in the past.
fn later() -> DateTime<Utc> {
    now() + Duration::hours(1)
}

/// `n` minutes after [`later`]: each write of a test at its own time, as a person's are (two
/// events of one request in the same millisecond are put in the merged order by kind and
/// UUID, not by which came first).
fn later_by(n: i64) -> DateTime<Utc> {
    later() + Duration::minutes(n)
}

#[test]
fn a_phoned_result_is_recorded_once_received_as_an_event_that_changes_no_status() {
    let (_dir, mut store) = temp_store();
    let (uuid, _) = received(&mut store, 1, "Ward 7");
    let state = store
        .record_phoned(uuid, &phoned(10, true), "BMS C", later())
        .unwrap();
    assert_eq!(state.status, Status::Received);
    let d = store.request_detail(uuid).unwrap().unwrap();
    let last = d.events.last().unwrap();
    assert_eq!(last.actor.user, "BMS C");
    assert_eq!(
        last.kind,
        EventKind::ResultPhoned {
            phoned: Box::new(phoned(10, true))
        }
    );
    assert_eq!(d.state.last_event, last.id);
    // Still possible after re-entry: the LIMS may be back before the call is logged.
    store
        .change_status(
            uuid,
            &Transition::Reentered {
                accession: "L1".into(),
            },
            "BMS C",
            later_by(1),
        )
        .unwrap();
    store
        .record_phoned(uuid, &phoned(20, false), "BMS C", later_by(2))
        .unwrap();
    assert_eq!(
        store
            .phoned_results(&PhonedFilter::default())
            .unwrap()
            .len(),
        2
    );
    let report = store.verify().unwrap();
    assert!(report.is_sound(), "{:?}", report.problems);
}

#[test]
fn a_result_before_the_lab_has_the_sample_is_refused_saying_why_and_nothing_is_written() {
    let (_dir, mut store) = temp_store();
    let cases = [
        (vec![], "has not received its sample yet (it is logged)"),
        (vec![Transition::Sent], "(it is sent to lab)"),
        (
            vec![Transition::Cancelled {
                reason: "not needed".into(),
            }],
            "the request was cancelled",
        ),
        (
            vec![Transition::Rejected {
                reason: "Haemolysed".into(),
            }],
            "the lab rejected its sample",
        ),
    ];
    for (n, (steps, words)) in (1..).zip(cases) {
        let (uuid, id) = saved(&mut store, n, "Ward 7", &steps);
        let before = store.request_detail(uuid).unwrap().unwrap();
        let e = store
            .record_phoned(uuid, &phoned(10, true), "BMS C", later())
            .unwrap_err();
        assert!(matches!(e, StoreError::Phoned(_)), "{e:?}");
        let message = e.to_string();
        assert!(message.contains(&id), "{message}");
        assert!(message.contains(words), "{message}");
        assert_eq!(store.request_detail(uuid).unwrap().unwrap(), before);
    }
    assert!(
        store
            .phoned_results(&PhonedFilter::default())
            .unwrap()
            .is_empty()
    );
}

#[test]
fn the_store_refuses_a_result_for_a_test_not_requested_or_timed_impossibly() {
    let (_dir, mut store) = temp_store();
    let (uuid, _) = received(&mut store, 1, "Ward 7");
    let trop = PhonedResult {
        test: "TROP".into(),
        ..phoned(10, true)
    };
    match store.record_phoned(uuid, &trop, "BMS C", later()) {
        Err(StoreError::Phoned(PhonedRefused::Invalid { problems, .. })) => {
            assert_eq!(problems.len(), 1);
            assert!(
                problems[0].contains("'TROP' was not requested"),
                "{problems:?}"
            );
        }
        other => panic!("not refused: {other:?}"),
    }
    let before_collection = PhonedResult {
        phoned_at: now() - Duration::minutes(11),
        ..phoned(0, true)
    };
    let e = store
        .record_phoned(uuid, &before_collection, "BMS C", later())
        .unwrap_err();
    assert!(
        e.to_string().contains("before the sample was collected"),
        "{e}"
    );
    let future = phoned(70, true);
    let e = store
        .record_phoned(uuid, &future, "BMS C", later())
        .unwrap_err();
    assert!(e.to_string().contains("in the future"), "{e}");
    assert_eq!(store.request_detail(uuid).unwrap().unwrap().events.len(), 3);
}

#[test]
fn the_log_lists_every_result_newest_first_with_its_request_and_filters_by_ward_and_read_back() {
    let (_dir, mut store) = temp_store();
    let (ward7, id7) = received(&mut store, 1, "Ward 7");
    let (amu, id_amu) = received(&mut store, 2, "AMU");
    let (_, _) = received(&mut store, 3, "AMU");
    for (n, (uuid, minutes, read_back)) in
        (0..).zip([(ward7, 5, true), (amu, 15, false), (ward7, 10, false)])
    {
        store
            .record_phoned(uuid, &phoned(minutes, read_back), "BMS C", later_by(n))
            .unwrap();
    }
    let all = store.phoned_results(&PhonedFilter::default()).unwrap();
    let order: Vec<(&str, i64)> = all
        .iter()
        .map(|r| (r.ward.as_str(), (r.phoned.phoned_at - now()).num_minutes()))
        .collect();
    assert_eq!(order, [("AMU", 15), ("Ward 7", 10), ("Ward 7", 5)]);
    let first = &all[0];
    assert_eq!(first.downtime_id.grouped(), id_amu);
    assert_eq!(first.request_uuid, amu);
    assert_eq!(first.status, Status::Received);
    assert!(
        first.patient.starts_with("TESTPATIENT") && first.patient.contains("NHS 999"),
        "{}",
        first.patient
    );
    assert_eq!(first.workstation, "W07");
    assert_eq!(first.phoned.received_by, "Nurse Ade");

    let ward = |w: &str| PhonedFilter {
        ward: Some(w.into()),
        not_read_back: false,
    };
    let w7 = store.phoned_results(&ward("Ward 7")).unwrap();
    assert_eq!(w7.len(), 2);
    assert!(w7.iter().all(|r| r.downtime_id.grouped() == id7));
    let not_read_back = store
        .phoned_results(&PhonedFilter {
            ward: None,
            not_read_back: true,
        })
        .unwrap();
    assert_eq!(not_read_back.len(), 2);
    assert!(not_read_back.iter().all(|r| !r.phoned.read_back));
    let both = store
        .phoned_results(&PhonedFilter {
            ward: Some("Ward 7".into()),
            not_read_back: true,
        })
        .unwrap();
    assert_eq!(both.len(), 1);
    assert_eq!((both[0].phoned.phoned_at - now()).num_minutes(), 10);
    assert!(store.phoned_results(&ward("Ward 9")).unwrap().is_empty());
    let report = store.verify().unwrap();
    assert!(report.is_sound(), "{:?}", report.problems);
}

#[test]
fn a_phoned_result_travels_to_another_pc_in_a_handover_bundle() {
    let (dir, mut lab) = temp_store();
    let (uuid, id) = received(&mut lab, 1, "Ward 7");
    lab.record_phoned(uuid, &phoned(10, false), "BMS C", later())
        .unwrap();
    let bundle = dir.path().join("lab.stopgap-bundle");
    stopgap::handover::export_bundle(&lab, &bundle, None, Overwrite::Refuse, later()).unwrap();

    let ward_dir = tempfile::tempdir().unwrap();
    let mut ward = Store::open_or_create(&ward_dir.path().join("ward.db")).unwrap();
    ward.configure(&Setup {
        workstation: Code3::workstation("W08").unwrap(),
        ..setup()
    })
    .unwrap();
    let imported =
        stopgap::handover::import_bundle(&mut ward, &bundle, "Porter A", later()).unwrap();
    assert!(imported.conflicts.is_empty(), "{:?}", imported.conflicts);

    let log = ward.phoned_results(&PhonedFilter::default()).unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].downtime_id.grouped(), id);
    assert_eq!(log[0].phoned, phoned(10, false));
    assert_eq!(log[0].workstation, "W07", "recorded on the lab PC");
    let d = ward.request_detail(uuid).unwrap().unwrap();
    assert_eq!(d.state.status, Status::Received);
    assert_eq!(d.state, lab.request_detail(uuid).unwrap().unwrap().state);
    assert!(ward.verify().unwrap().is_sound());
    assert!(lab.verify().unwrap().is_sound());
}

#[test]
fn stopgap_phone_records_a_result_and_stopgap_phoned_lists_it() {
    let (dir, mut store) = temp_store();
    // Collected 30 minutes before the real clock the command reads.
    let real_now = crate::common::ui::real_now();
    let collected = (real_now - Duration::minutes(30)).with_timezone(&Local);
    let mut draft = crate::common::draft(1);
    draft.collected_date = collected.format("%d/%m/%Y").to_string();
    draft.collected_time = collected.format("%H:%M").to_string();
    let r = draft
        .validate(
            real_now,
            &Local,
            &stopgap::domain::catalogue::Catalogue::default_uk().unwrap(),
        )
        .unwrap();
    let id = store
        .save_request(&r, "Nurse A", real_now)
        .unwrap()
        .downtime_id;
    let db = dir.path().join("stopgap.db");
    drop(store);
    let phone = |extra: &[&str]| {
        let mut args = vec![
            "phone",
            &id.grouped(),
            "--test",
            "fbc",
            "--result",
            "Hb 62 g/L",
            "--to",
            "Nurse Ade",
        ]
        .into_iter()
        .map(str::to_owned)
        .collect::<Vec<_>>();
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        stopgap(&db, &args)
    };

    // Not received yet: refused, saying why, exit 2.
    let out = phone(&["--read-back"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("has not received its sample yet"));
    let mut store = Store::open(&db).unwrap();
    store
        .change_status(r.uuid, &Transition::Received, "BMS C", real_now)
        .unwrap();
    drop(store);

    // Read-back must be said, one way or the other.
    let out = phone(&[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--read-back"),
        "{}",
        text(&out.stderr)
    );
    // A test not requested and a time in the future: both named, by option.
    let out = stopgap(
        &db,
        &[
            "phone",
            &id.canonical(),
            "--test",
            "TROP",
            "--result",
            "high",
            "--to",
            "Nurse Ade",
            "--at",
            "01/01/2099 10:00",
            "--read-back",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("--test: 'TROP' was not requested"), "{err}");
    assert!(err.contains("--at: "), "{err}");
    assert!(err.contains("in the future"), "{err}");

    let out = phone(&["--not-read-back"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(
        said.contains(&format!("Recorded for {id}: FBC \"Hb 62 g/L\"")),
        "{said}"
    );
    assert!(said.contains("NOT READ BACK"), "{said}");

    let out = stopgap(&db, &["phoned"]);
    assert!(out.status.success());
    let log = text(&out.stdout);
    assert!(log.contains(&id.grouped()), "{log}");
    assert!(
        log.contains("FBC: Hb 62 g/L  phoned by Demo Manager (DEMO) to Nurse Ade  NOT READ BACK"),
        "{log}"
    );
    assert!(
        log.contains("1 phoned result(s), 1 NOT read back."),
        "{log}"
    );

    let out = stopgap(&db, &["phoned", "--json", "--ward", "Ward 7"]);
    let items: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(items.as_array().unwrap().len(), 1);
    assert_eq!(items[0]["downtime_id"], id.canonical());
    assert_eq!(items[0]["test"], "FBC");
    assert_eq!(items[0]["read_back"], false);
    // Who phoned is the signed-in account.
    assert_eq!(items[0]["phoned_by"], "Demo Manager (DEMO)");
    let out = stopgap(&db, &["phoned", "--json", "--ward", "AMU"]);
    let items: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(items.as_array().unwrap().len(), 0);
    assert!(Store::open(&db).unwrap().verify().unwrap().is_sound());
}
