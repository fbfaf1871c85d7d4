//! Row mapping: the only place that knows column names. Rows are read by column name.

use chrono::{DateTime, NaiveDate, Utc};
use std::sync::OnceLock;

use rusqlite::types::{Value, ValueRef};
use rusqlite::{Connection, Row, params, params_from_iter};
use uuid::Uuid;

use super::StoreError;
use super::queries::QueueRow;
use crate::domain::downtime_id::{Code3, DowntimeId};
use crate::domain::event::{Actor, Event, EventKind, RequestState};

pub(crate) fn parse_uuid(s: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(s).map_err(|e| StoreError::Corrupt(format!("bad UUID '{s}': {e}")))
}

pub(crate) fn ms_to_time(ms: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_millis(ms)
        .ok_or_else(|| StoreError::Corrupt(format!("bad timestamp {ms}")))
}

pub(crate) fn insert_event(conn: &Connection, e: &Event) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO events(id, request_uuid, workstation, user_name, at_ms, kind, payload)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            e.id.to_string(),
            e.request_uuid.to_string(),
            e.actor.workstation.as_str(),
            e.actor.user,
            e.at.timestamp_millis(),
            e.kind.word(),
            serde_json::to_string(&e.kind)?,
        ],
    )?;
    Ok(())
}

fn event_from_row(r: &Row<'_>) -> Result<Event, StoreError> {
    let id: String = r.get("id")?;
    let request_uuid: String = r.get("request_uuid")?;
    let workstation: String = r.get("workstation")?;
    let payload: String = r.get("payload")?;
    let kind: EventKind = serde_json::from_str(&payload)?;
    let word: String = r.get("kind")?;
    if word != kind.word() {
        return Err(StoreError::Corrupt(format!(
            "event {id}: kind '{word}' does not match its payload"
        )));
    }
    Ok(Event {
        id: parse_uuid(&id)?,
        request_uuid: parse_uuid(&request_uuid)?,
        actor: Actor {
            workstation: Code3::workstation(&workstation)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            user: r.get("user_name")?,
        },
        at: ms_to_time(r.get("at_ms")?)?,
        kind,
    })
}

/// A request's events in the order they were recorded.
pub(crate) fn events_of(conn: &Connection, uuid: Uuid) -> Result<Vec<Event>, StoreError> {
    let mut st = conn.prepare_cached(
        "SELECT id, request_uuid, workstation, user_name, at_ms, kind, payload
         FROM events WHERE request_uuid = ?1 ORDER BY seq",
    )?;
    let mut rows = st.query([uuid.to_string()])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(event_from_row(r)?);
    }
    Ok(out)
}

/// The columns of `requests` that copy something its history says, in the order
/// [`copied_values`] gives them: what [`insert_request`] writes, and what `verify` compares with
/// the fold of the events (every column shown, sorted or searched is one of them). Not here:
/// `state` (compared decoded), `training` (not in the history) and the generated
/// `sequence_tail`.
pub(crate) const COPIED_COLUMNS: [&str; 24] = [
    "uuid",
    "downtime_id",
    "site",
    "workstation",
    "sequence",
    "status",
    "priority",
    "priority_rank",
    "surname",
    "surname_key",
    "forename",
    "forename_key",
    "dob",
    "nhs_number",
    "mrn",
    "emergency_number",
    "ward",
    "tests",
    "collected_ms",
    "created_ms",
    "updated_ms",
    "accession",
    "reason",
    "last_event",
];

/// The value each of [`COPIED_COLUMNS`] must hold for state `s`.
pub(crate) fn copied_values(s: &RequestState) -> [Value; 24] {
    let r = &s.request;
    let p = &r.patient;
    let text = |t: &str| Value::Text(t.to_owned());
    let opt = |t: &Option<String>| t.as_deref().map_or(Value::Null, text);
    [
        Value::Text(r.uuid.to_string()),
        Value::Text(s.downtime_id.canonical()),
        text(s.downtime_id.site().as_str()),
        text(s.downtime_id.workstation().as_str()),
        Value::Integer(i64::from(s.downtime_id.sequence())),
        text(s.status.word()),
        text(r.priority.word()),
        Value::Integer(r.priority as i64),
        text(&p.surname),
        Value::Text(p.surname.to_lowercase()),
        text(&p.forename),
        Value::Text(p.forename.to_lowercase()),
        p.dob.map_or(Value::Null, |d| {
            Value::Text(d.format("%Y-%m-%d").to_string())
        }),
        p.nhs_number
            .map_or(Value::Null, |n| Value::Text(n.digits())),
        opt(&p.mrn),
        opt(&p.emergency_number),
        text(&r.ward),
        Value::Text(r.test_codes().join(" ")),
        Value::Integer(r.collected_at.timestamp_millis()),
        Value::Integer(s.created_at.timestamp_millis()),
        Value::Integer(s.updated_at.timestamp_millis()),
        opt(&s.accession),
        opt(&s.reason),
        Value::Text(s.last_event.to_string()),
    ]
}

/// Whether a stored value is exactly `expected` (text compared byte for byte, so a stored
/// value that is not valid UTF-8 is simply different, never an error).
pub(crate) fn stored_as(stored: ValueRef<'_>, expected: &Value) -> bool {
    match (stored, expected) {
        (ValueRef::Null, Value::Null) => true,
        (ValueRef::Integer(a), Value::Integer(b)) => a == *b,
        (ValueRef::Text(a), Value::Text(b)) => a == b.as_bytes(),
        _ => false,
    }
}

pub(crate) fn insert_request(
    conn: &Connection,
    s: &RequestState,
    training: bool,
) -> Result<(), StoreError> {
    static SQL: OnceLock<String> = OnceLock::new();
    let sql = SQL.get_or_init(|| {
        let marks: Vec<String> = (1..=COPIED_COLUMNS.len() + 2)
            .map(|i| format!("?{i}"))
            .collect();
        format!(
            "INSERT INTO requests({}, training, state) VALUES ({})",
            COPIED_COLUMNS.join(", "),
            marks.join(", ")
        )
    });
    let values = copied_values(s);
    let extra = [
        Value::Integer(i64::from(training)),
        Value::Text(serde_json::to_string(s)?),
    ];
    conn.prepare_cached(sql)?
        .execute(params_from_iter(values.into_iter().chain(extra)))?;
    Ok(())
}

/// Writes a request's new state. Only status-related columns change; the trigger refuses the
/// update unless `last_event` moved to a new event.
pub(crate) fn update_request(conn: &Connection, s: &RequestState) -> Result<(), StoreError> {
    let n = conn.execute(
        "UPDATE requests SET status = ?2, updated_ms = ?3, accession = ?4, reason = ?5, state = ?6,
            last_event = ?7
         WHERE uuid = ?1",
        params![
            s.request.uuid.to_string(),
            s.status.word(),
            s.updated_at.timestamp_millis(),
            s.accession,
            s.reason,
            serde_json::to_string(s)?,
            s.last_event.to_string(),
        ],
    )?;
    if n != 1 {
        return Err(StoreError::UnknownRequest(s.request.uuid.to_string()));
    }
    Ok(())
}

/// A request's current state from its row (columns `uuid`, `downtime_id` and `state`): the
/// cached JSON, or, when that is damaged (not UTF-8, not decodable), the fold of its events,
/// which are the record the cache was made from. Only when both are unreadable is it an error,
/// naming the request.
pub(crate) fn state_of_row(conn: &Connection, r: &Row<'_>) -> Result<RequestState, StoreError> {
    if let ValueRef::Text(json) = r.get_ref("state")?
        && let Ok(state) = serde_json::from_slice::<RequestState>(json)
    {
        return Ok(state);
    }
    let mut damaged = false;
    let id = lossy_text(r, "downtime_id", &mut damaged)?.unwrap_or_default();
    let unreadable = |why: String| {
        StoreError::Corrupt(format!(
            "request {id}: its stored state and its history are both unreadable ({why}); run \
             stopgap verify and use the paper form for this request"
        ))
    };
    let uuid = lossy_text(r, "uuid", &mut damaged)?.unwrap_or_default();
    let uuid = parse_uuid(&uuid).map_err(|e| unreadable(e.to_string()))?;
    let events = events_of(conn, uuid).map_err(|e| unreadable(e.to_string()))?;
    RequestState::fold(&events).map_err(|e| unreadable(e.to_string()))
}

/// The columns [`queue_row`] reads.
pub(crate) const QUEUE_COLUMNS: &str = "uuid, downtime_id, surname, forename, dob, nhs_number, mrn,
    emergency_number, tests, priority, collected_ms, status, ward, accession, training";

/// A text column read even when damaged: bytes that are not UTF-8 are shown with U+FFFD and
/// `damaged` is set, so one bad byte marks its request instead of failing the whole page.
fn lossy_text(r: &Row<'_>, column: &str, damaged: &mut bool) -> Result<Option<String>, StoreError> {
    Ok(match r.get_ref(column)? {
        ValueRef::Null => None,
        ValueRef::Text(bytes) => Some(match std::str::from_utf8(bytes) {
            Ok(text) => text.to_owned(),
            Err(_) => {
                *damaged = true;
                String::from_utf8_lossy(bytes).into_owned()
            }
        }),
        _ => {
            *damaged = true;
            Some(String::new())
        }
    })
}

pub(crate) fn queue_row(r: &Row<'_>) -> Result<QueueRow, StoreError> {
    let mut damaged = false;
    let uuid: String = r.get("uuid")?;
    let id: String = r.get("downtime_id")?;
    let downtime_id = DowntimeId::parse(&id)
        .map_err(|_| StoreError::Corrupt(format!("request {uuid}: downtime ID '{id}'")))?;
    let corrupt = |what: &str, v: &str| {
        StoreError::Corrupt(format!(
            "request {downtime_id}: stored {what} '{v}'; run stopgap verify"
        ))
    };
    let priority: String = r.get("priority")?;
    let status: String = r.get("status")?;
    let mut text = |column: &str| lossy_text(r, column, &mut damaged);
    let surname = text("surname")?.unwrap_or_default();
    let forename = text("forename")?.unwrap_or_default();
    let dob = text("dob")?;
    let nhs_number = text("nhs_number")?;
    let mrn = text("mrn")?;
    let emergency_number = text("emergency_number")?;
    let tests = text("tests")?.unwrap_or_default();
    let ward = text("ward")?.unwrap_or_default();
    let accession = text("accession")?;
    let dob = match dob {
        None => None,
        Some(d) => {
            let parsed = NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok();
            damaged |= parsed.is_none();
            parsed
        }
    };
    Ok(QueueRow {
        uuid: parse_uuid(&uuid)?,
        surname,
        forename,
        dob,
        nhs_number,
        mrn,
        emergency_number,
        tests: tests.split_whitespace().map(str::to_owned).collect(),
        priority: priority
            .parse()
            .map_err(|_| corrupt("priority", &priority))?,
        collected_at: ms_to_time(r.get("collected_ms")?)?,
        status: status.parse().map_err(|_| corrupt("status", &status))?,
        ward,
        accession,
        training: r.get::<_, i64>("training")? != 0,
        damaged,
        downtime_id,
    })
}
