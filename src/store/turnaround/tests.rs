//! `Store::timelines` on a real file: the fast read agrees with each request's history read and
//! folded the slow way, one request at a time.

use chrono::{Duration, TimeZone};

use super::*;
use crate::domain::downtime_id::Code3;
use crate::domain::phoned::PhonedResult;
use crate::domain::ward::Ward;
use crate::store::Setup;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 4, 12, 0, 0).unwrap()
}

fn store(dir: &tempfile::TempDir) -> Store {
    let mut store = Store::open_or_create(&dir.path().join("stopgap.db")).unwrap();
    store
        .configure(&Setup {
            site: Code3::site("RXX").unwrap(),
            workstation: Code3::workstation("L01").unwrap(),
            wards: vec![Ward::named("AMU").unwrap()],
        })
        .unwrap();
    store
}

fn phone(store: &mut Store, uuid: Uuid, at: DateTime<Utc>) {
    let phoned = PhonedResult {
        test: "FBC".into(),
        summary: "Hb 62 g/L".into(),
        phoned_at: at,
        phoned_by: "BMS Patel".into(),
        received_by: "Nurse Ade".into(),
        read_back: true,
    };
    let kind = EventKind::ResultPhoned {
        phoned: Box::new(phoned),
    };
    store
        .append_event(uuid, kind, "BMS Patel", at, |_| Ok(()))
        .unwrap();
}

/// The timeline of one request from its whole history, decoded event by event.
fn slow_timeline(store: &Store, uuid: Uuid) -> Timeline {
    let d = store.request_detail(uuid).unwrap().unwrap();
    let mut t = Timeline {
        uuid,
        downtime_id: d.state.downtime_id.clone(),
        priority: d.state.request.priority,
        ward: d.state.request.ward.as_str().into(),
        status: d.state.status,
        collected_at: d.state.request.collected_at,
        created_at: d.state.created_at,
        received_at: None,
        phoned_at: None,
        final_at: None,
    };
    for e in &d.events {
        match &e.kind {
            EventKind::StatusChanged {
                transition: Transition::Received,
            } => earliest(&mut t.received_at, e.at),
            EventKind::StatusChanged {
                transition: Transition::Sent,
            } => {}
            EventKind::StatusChanged { .. } => earliest(&mut t.final_at, e.at),
            EventKind::ResultPhoned { phoned } => earliest(&mut t.phoned_at, phoned.phoned_at),
            EventKind::Created { .. } | EventKind::ConflictSettled { .. } => {}
        }
    }
    t
}

#[test]
fn timelines_agree_with_every_requests_history_read_one_by_one() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = store(&dir);
    let catalogue = store.catalogue().unwrap();
    let demo = crate::demo::synthetic_requests(60, 7, now(), &catalogue).unwrap();
    let mut phoned = Vec::new();
    for (n, d) in demo.iter().enumerate() {
        store
            .save_request(&d.request, &d.user, d.created_at)
            .unwrap();
        let mut received = None;
        for (t, at) in &d.transitions {
            store
                .change_status(d.request.uuid, t, &d.user, *at)
                .unwrap();
            if *t == Transition::Received {
                received = Some(*at);
            }
        }
        // Every third received request has two results phoned, the earlier typed second.
        if let Some(r) = received
            && n % 3 == 0
        {
            phone(&mut store, d.request.uuid, r + Duration::minutes(40));
            phone(&mut store, d.request.uuid, r + Duration::minutes(15));
            phoned.push((d.request.uuid, r + Duration::minutes(15)));
        }
    }
    assert!(!phoned.is_empty(), "the demo set has received requests");
    let fast = store.timelines(None).unwrap();
    assert_eq!(fast.len(), demo.len());
    for t in &fast {
        assert_eq!(t, &slow_timeline(&store, t.uuid));
    }
    for (uuid, at) in phoned {
        let t = fast.iter().find(|t| t.uuid == uuid).unwrap();
        assert_eq!(
            t.phoned_at,
            Some(at),
            "the earliest phoned-at, not the last typed"
        );
    }
    // Each kind of history is there: received, final and not yet either.
    assert!(fast.iter().any(|t| t.final_at.is_some()));
    assert!(
        fast.iter()
            .any(|t| t.received_at.is_some() && t.final_at.is_none())
    );
    assert!(fast.iter().any(|t| t.received_at.is_none()));
}

#[test]
fn one_wards_timelines_are_that_wards_requests_only() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = store(&dir);
    let catalogue = store.catalogue().unwrap();
    let demo = crate::demo::synthetic_requests(40, 11, now(), &catalogue).unwrap();
    for d in &demo {
        store
            .save_request(&d.request, &d.user, d.created_at)
            .unwrap();
        for (t, at) in &d.transitions {
            store
                .change_status(d.request.uuid, t, &d.user, *at)
                .unwrap();
        }
    }
    let ward = demo[0].request.ward.clone();
    let expected = demo.iter().filter(|d| d.request.ward == ward).count();
    assert!(expected < demo.len(), "the demo set spans several wards");
    let one = store.timelines(Some(&ward)).unwrap();
    assert_eq!(one.len(), expected);
    assert!(one.iter().all(|t| *t.ward == *ward));
    for t in &one {
        assert_eq!(t, &slow_timeline(&store, t.uuid));
    }
    assert!(store.timelines(Some("No such ward")).unwrap().is_empty());
}
