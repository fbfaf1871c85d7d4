//! Row mapping: the only place that knows column names. Rows are read by column name.

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{Connection, Row, params};
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

pub(crate) fn insert_request(
    conn: &Connection,
    s: &RequestState,
    training: bool,
) -> Result<(), StoreError> {
    let r = &s.request;
    let p = &r.patient;
    conn.execute(
        "INSERT INTO requests(uuid, downtime_id, site, workstation, sequence, status, priority,
            priority_rank, surname, surname_key, forename, forename_key, dob, nhs_number, mrn,
            emergency_number, ward, tests, collected_ms, created_ms, updated_ms, accession, reason,
            training, state, last_event)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,
            ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26)",
        params![
            r.uuid.to_string(),
            s.downtime_id.canonical(),
            s.downtime_id.site().as_str(),
            s.downtime_id.workstation().as_str(),
            s.downtime_id.sequence(),
            s.status.word(),
            r.priority.word(),
            r.priority as i64,
            p.surname,
            p.surname.to_lowercase(),
            p.forename,
            p.forename.to_lowercase(),
            p.dob.map(|d| d.format("%Y-%m-%d").to_string()),
            p.nhs_number.map(|n| n.digits()),
            p.mrn,
            p.emergency_number,
            r.ward,
            r.test_codes().join(" "),
            r.collected_at.timestamp_millis(),
            s.created_at.timestamp_millis(),
            s.updated_at.timestamp_millis(),
            s.accession,
            s.reason,
            i64::from(training),
            serde_json::to_string(s)?,
            s.last_event.to_string(),
        ],
    )?;
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

/// The columns [`queue_row`] reads.
pub(crate) const QUEUE_COLUMNS: &str = "uuid, downtime_id, surname, forename, dob, nhs_number, mrn,
    emergency_number, tests, priority, collected_ms, status, ward, accession, training";

pub(crate) fn queue_row(r: &Row<'_>) -> Result<QueueRow, StoreError> {
    let corrupt = |what: &str, v: &str| StoreError::Corrupt(format!("{what} '{v}'"));
    let uuid: String = r.get("uuid")?;
    let id: String = r.get("downtime_id")?;
    let priority: String = r.get("priority")?;
    let status: String = r.get("status")?;
    let dob: Option<String> = r.get("dob")?;
    let tests: String = r.get("tests")?;
    Ok(QueueRow {
        uuid: parse_uuid(&uuid)?,
        downtime_id: DowntimeId::parse(&id).map_err(|_| corrupt("downtime ID", &id))?,
        surname: r.get("surname")?,
        forename: r.get("forename")?,
        dob: match dob {
            None => None,
            Some(d) => Some(
                NaiveDate::parse_from_str(&d, "%Y-%m-%d")
                    .map_err(|_| corrupt("date of birth", &d))?,
            ),
        },
        nhs_number: r.get("nhs_number")?,
        mrn: r.get("mrn")?,
        emergency_number: r.get("emergency_number")?,
        tests: tests.split_whitespace().map(str::to_owned).collect(),
        priority: priority
            .parse()
            .map_err(|_| corrupt("priority", &priority))?,
        collected_at: ms_to_time(r.get("collected_ms")?)?,
        status: status.parse().map_err(|_| corrupt("status", &status))?,
        ward: r.get("ward")?,
        accession: r.get("accession")?,
        training: r.get::<_, i64>("training")? != 0,
    })
}
