//! A database written before a migration reads the same after it, its history kept as written.
use chrono::{TimeZone, Utc};
use rusqlite::params_from_iter;
use rusqlite::types::Value;
use uuid::Uuid;

use super::*;
use crate::domain::catalogue::Catalogue;
use crate::domain::downtime_id::{Code3, DowntimeId};
use crate::domain::event::{Actor, Event, EventKind, RequestState};
use crate::store::Store;
use crate::store::rows::{COPIED_COLUMNS, copied_values};

/// Writes a request and its status changes as Stopgap did before version 8: each event's
/// JSON in `payload`, the whole state's JSON in `requests.state`.
fn save_the_old_way(c: &Connection, n: u32, d: &crate::demo::DemoRequest) -> Uuid {
    let actor = Actor {
        workstation: Code3::workstation("W07").unwrap(),
        user: d.user.clone(),
    };
    let event = |kind: EventKind, at| Event {
        id: Uuid::new_v4(),
        request_uuid: d.request.uuid,
        actor: actor.clone(),
        at,
        kind,
    };
    let insert = |e: &Event| {
        c.execute(
            "INSERT INTO events(id, request_uuid, workstation, user_name, at_ms, kind, payload)
             VALUES (?1, ?2, 'W07', ?3, ?4, ?5, ?6)",
            rusqlite::params![
                e.id.to_string(),
                e.request_uuid.to_string(),
                e.actor.user,
                e.at.timestamp_millis(),
                e.kind.word(),
                serde_json::to_string(&e.kind).unwrap(),
            ],
        )
        .unwrap();
    };
    let id = DowntimeId::new(Code3::site("RXX").unwrap(), actor.workstation.clone(), n).unwrap();
    let created = event(
        EventKind::Created {
            downtime_id: id,
            request: Box::new(d.request.clone()),
        },
        d.created_at,
    );
    insert(&created);
    let mut state = RequestState::created(&created).unwrap();
    for (t, at) in &d.transitions {
        let e = event(
            EventKind::StatusChanged {
                transition: t.clone(),
            },
            *at,
        );
        insert(&e);
        state.apply(&e).unwrap();
    }
    let marks: Vec<String> = (1..=COPIED_COLUMNS.len() + 2)
        .map(|i| format!("?{i}"))
        .collect();
    let values = copied_values(&state).into_iter().chain([
        Value::Integer(0),
        Value::Text(serde_json::to_string(&state).unwrap()),
    ]);
    c.execute(
        &format!(
            "INSERT INTO requests({}, training, state) VALUES ({})",
            COPIED_COLUMNS.join(", "),
            marks.join(", ")
        ),
        params_from_iter(values),
    )
    .unwrap();
    d.request.uuid
}

#[test]
fn a_database_from_before_packed_payloads_reads_the_same_and_keeps_its_history_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stopgap.db");
    let now = Utc.with_ymd_and_hms(2026, 6, 4, 12, 0, 0).unwrap();
    let demo =
        crate::demo::synthetic_requests(40, 3, now, &Catalogue::default_uk().unwrap()).unwrap();
    let old_events: Vec<(String, String)>;
    let mut uuids = Vec::new();
    {
        let mut c = Connection::open(&path).unwrap();
        migrate_to(&mut c, 7).unwrap();
        let (site, ws) = (
            Code3::site("RXX").unwrap(),
            Code3::workstation("W07").unwrap(),
        );
        let mut last = 0;
        for d in &demo {
            last = DowntimeId::next_issuable(&site, &ws, last).unwrap();
            uuids.push(save_the_old_way(&c, last, d));
        }
        c.execute(
            "INSERT INTO id_sequence(site, workstation, last) VALUES ('RXX', 'W07', ?1)",
            [last],
        )
        .unwrap();
        let mut st = c
            .prepare("SELECT id, payload FROM events ORDER BY seq")
            .unwrap();
        old_events = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
    }

    let mut store = Store::open(&path).unwrap();
    let report = store.verify().unwrap();
    assert!(report.is_sound(), "{:?}", report.problems);
    assert_eq!(report.requests, 40);
    for uuid in &uuids {
        let detail = store.request_detail(*uuid).unwrap().unwrap();
        assert_eq!(detail.state, RequestState::fold(&detail.events).unwrap());
    }
    // History is never rewritten: every old event keeps the JSON it was written with.
    let mut st = store
        .conn
        .prepare("SELECT id, payload, packed FROM events ORDER BY seq")
        .unwrap();
    let now_stored: Vec<(String, String, Option<Vec<u8>>)> = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    drop(st);
    assert_eq!(now_stored.len(), old_events.len());
    for ((id, payload, packed), (old_id, old_payload)) in now_stored.iter().zip(&old_events) {
        assert_eq!((id, payload), (old_id, old_payload));
        assert!(packed.is_none());
    }
    // A change made now is packed, and the request still equals its history.
    store
        .configure(&crate::store::Setup {
            site: Code3::site("RXX").unwrap(),
            workstation: Code3::workstation("W07").unwrap(),
            wards: vec![],
        })
        .unwrap();
    let open = demo
        .iter()
        .position(|d| d.transitions.is_empty())
        .expect("some demo request is still logged");
    store
        .change_status(
            uuids[open],
            &crate::domain::status::Transition::Sent,
            "Nurse A",
            now,
        )
        .unwrap();
    let packed: i64 = store
        .conn
        .query_row(
            "SELECT count(*) FROM events WHERE payload = '' AND packed IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(packed, 1);
    assert!(store.verify().unwrap().is_sound());
}
