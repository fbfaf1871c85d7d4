//! Row mapping: the only place that knows column names (with `rows/queue.rs`, the queue's).
//! Rows are read by column name.

mod queue;

pub(crate) use queue::{QUEUE_COLUMNS, queue_row};

use chrono::{DateTime, Utc};
use std::sync::OnceLock;

use rusqlite::types::{Value, ValueRef};
use rusqlite::{Connection, Row, params, params_from_iter};
use uuid::Uuid;

use super::{StoreError, packed};
use crate::domain::downtime_id::{Code3, DowntimeId};
use crate::domain::event::{Actor, Event, EventKind, RequestState};
use crate::error::error_chain;

pub(crate) fn parse_uuid(s: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(s).map_err(|e| StoreError::Corrupt(format!("bad UUID '{s}': {e}")))
}

pub(crate) fn ms_to_time(ms: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_millis(ms)
        .ok_or_else(|| StoreError::Corrupt(format!("bad timestamp {ms}")))
}

pub(crate) fn insert_event(conn: &Connection, e: &Event) -> Result<(), StoreError> {
    insert_event_with(conn, e, "INSERT")?;
    Ok(())
}

/// Inserts `e` unless an event with its UUID is already held; whether it was inserted.
pub(crate) fn insert_event_if_new(conn: &Connection, e: &Event) -> Result<bool, StoreError> {
    Ok(insert_event_with(conn, e, "INSERT OR IGNORE")? == 1)
}

/// [`insert_event_if_new`] with its payload already packed by [`pack_event`] (an import packs
/// on every core before its write transaction).
pub(crate) fn insert_packed_if_new(
    conn: &Connection,
    e: &Event,
    packed: &[u8],
) -> Result<bool, StoreError> {
    Ok(insert_packed_with(conn, e, packed, "INSERT OR IGNORE")? == 1)
}

/// An event's payload as stored: its JSON, packed.
pub(crate) fn pack_event(e: &Event) -> Result<Vec<u8>, StoreError> {
    let json = serde_json::to_string(&e.kind)?;
    packed::pack(&json)
        .map_err(|err| StoreError::Corrupt(format!("event {} could not be packed: {err}", e.id)))
}

fn insert_event_with(conn: &Connection, e: &Event, verb: &str) -> Result<usize, StoreError> {
    insert_packed_with(conn, e, &pack_event(e)?, verb)
}

fn insert_packed_with(
    conn: &Connection,
    e: &Event,
    packed: &[u8],
    verb: &str,
) -> Result<usize, StoreError> {
    Ok(conn
        .prepare_cached(&format!(
            "{verb} INTO events(id, request_uuid, workstation, user_name, at_ms, kind, payload,
                packed)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, '', ?7)"
        ))?
        .execute(params![
            e.id.to_string(),
            e.request_uuid.to_string(),
            e.actor.workstation.as_str(),
            e.actor.user,
            e.at.timestamp_millis(),
            e.kind.word(),
            packed,
        ])?)
}

/// The columns [`RawEvent::read`] takes, from `events` or under these names from a join.
pub(crate) const EVENT_COLUMNS: &str =
    "id, request_uuid, workstation, user_name, at_ms, kind, payload, packed";

/// One event's columns as stored, copied out of SQLite without decoding anything, so a reading
/// thread can hand it to another to unpack and decode. A damaged value (not text, not valid
/// UTF-8) is kept as it is and reported by [`RawEvent::decode`].
pub(crate) struct RawEvent {
    id: Vec<u8>,
    request_uuid: Vec<u8>,
    workstation: Vec<u8>,
    user_name: Vec<u8>,
    at_ms: Option<i64>,
    kind: Vec<u8>,
    payload: Vec<u8>,
    packed: Option<Vec<u8>>,
}

fn raw(r: &Row<'_>, column: usize) -> Result<Vec<u8>, StoreError> {
    Ok(match r.get_ref(column)? {
        ValueRef::Text(b) | ValueRef::Blob(b) => b.to_vec(),
        ValueRef::Null | ValueRef::Integer(_) | ValueRef::Real(_) => Vec::new(),
    })
}

fn text(bytes: Vec<u8>, what: &str) -> Result<String, StoreError> {
    String::from_utf8(bytes)
        .map_err(|_| StoreError::Corrupt(format!("stored {what} is damaged (not valid text)")))
}

impl RawEvent {
    /// Reads the [`EVENT_COLUMNS`] of a row that has them first (by position: a column looked
    /// up by name costs a search of every name, per value, per row).
    pub(crate) fn read(r: &Row<'_>) -> Result<Self, StoreError> {
        Self::read_from(r, 0)
    }

    /// Reads the [`EVENT_COLUMNS`], in their order, from column `first` on.
    fn read_from(r: &Row<'_>, first: usize) -> Result<Self, StoreError> {
        Ok(Self {
            id: raw(r, first)?,
            request_uuid: raw(r, first + 1)?,
            workstation: raw(r, first + 2)?,
            user_name: raw(r, first + 3)?,
            at_ms: match r.get_ref(first + 4)? {
                ValueRef::Integer(ms) => Some(ms),
                _ => None,
            },
            kind: raw(r, first + 5)?,
            payload: raw(r, first + 6)?,
            packed: match r.get_ref(first + 7)? {
                ValueRef::Blob(b) => Some(b.to_vec()),
                _ => None,
            },
        })
    }

    /// The event: its payload unpacked (or, for an event stored before payloads were packed,
    /// read as the JSON it is) and decoded, every column checked.
    pub(crate) fn decode(self) -> Result<Event, StoreError> {
        let id = parse_uuid(&text(self.id, "event ID")?)?;
        let damaged = |what: String| StoreError::Corrupt(format!("event {id}: {what}"));
        let json = match (self.payload.is_empty(), self.packed) {
            (false, None) => text(self.payload, "payload").map_err(|e| damaged(e.to_string()))?,
            (true, Some(packed)) => {
                packed::unpack(&packed).map_err(|e| damaged(error_chain(&e)))?
            }
            (false, Some(_)) => {
                return Err(damaged("it has two payloads (JSON and packed)".into()));
            }
            (true, None) => return Err(damaged("it has no payload".into())),
        };
        let word = text(self.kind, "event kind")?;
        let unreadable = |e: serde_json::Error| damaged(format!("its payload is unreadable: {e}"));
        let kind = if word == "created" {
            // Most of what an export reads: decoded straight into its fields. The tagged
            // enum's decoder would first copy the whole payload into an intermediate tree.
            let c: CreatedPayload = serde_json::from_str(&json).map_err(unreadable)?;
            if c.kind != word {
                return Err(damaged(format!("kind '{word}' does not match its payload")));
            }
            EventKind::Created {
                downtime_id: c.downtime_id,
                request: Box::new(c.request),
            }
        } else {
            let kind: EventKind = serde_json::from_str(&json).map_err(unreadable)?;
            if word != kind.word() {
                return Err(damaged(format!("kind '{word}' does not match its payload")));
            }
            kind
        };
        let workstation = text(self.workstation, "workstation")?;
        Ok(Event {
            id,
            request_uuid: parse_uuid(&text(self.request_uuid, "request UUID")?)?,
            actor: Actor {
                workstation: Code3::workstation(&workstation)
                    .map_err(|e| damaged(format!("workstation: {e}")))?,
                user: text(self.user_name, "user name")?,
            },
            at: ms_to_time(
                self.at_ms
                    .ok_or_else(|| damaged("its time is missing".into()))?,
            )?,
            kind,
        })
    }
}

/// The payload of a creation event (`EventKind::Created` with its tag), for the fast decode.
#[derive(serde::Deserialize)]
struct CreatedPayload {
    kind: String,
    downtime_id: DowntimeId,
    request: crate::domain::request::NewRequest,
}

/// A request's events in the order they were recorded.
pub(crate) fn events_of(conn: &Connection, uuid: Uuid) -> Result<Vec<Event>, StoreError> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {EVENT_COLUMNS} FROM events WHERE request_uuid = ?1 ORDER BY seq"
    ))?;
    let mut rows = st.query([uuid.to_string()])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(RawEvent::read(r)?.decode()?);
    }
    Ok(out)
}

/// What a request's state is read from: the columns of its row that its status changes write
/// and its creation event (everything else a state holds), under the names [`RawState::read`]
/// takes, by position: the row's seven, then the creation event's [`EVENT_COLUMNS`]. Add
/// `WHERE r.…`. A request whose creation event is missing
/// still has its row (the event's columns are NULL), so it is reported, never skipped.
pub(crate) const STATE_SELECT: &str = "SELECT r.uuid AS r_uuid, r.downtime_id AS r_downtime_id,
        r.status AS r_status, r.accession AS r_accession, r.reason AS r_reason,
        r.updated_ms AS r_updated_ms, r.last_event AS r_last_event,
        c.id AS id, c.request_uuid AS request_uuid, c.workstation AS workstation,
        c.user_name AS user_name, c.at_ms AS at_ms, c.kind AS kind, c.payload AS payload,
        c.packed AS packed
    FROM requests r LEFT JOIN events c ON c.request_uuid = r.uuid AND c.kind = 'created'";

/// A request's stored state, copied out undecoded (see [`RawEvent`]).
pub(crate) struct RawState {
    uuid: Vec<u8>,
    downtime_id: Vec<u8>,
    status: Vec<u8>,
    accession: Option<Vec<u8>>,
    reason: Option<Vec<u8>>,
    updated_ms: Option<i64>,
    last_event: Vec<u8>,
    created: RawEvent,
}

impl RawState {
    /// Reads a row of [`STATE_SELECT`].
    pub(crate) fn read(r: &Row<'_>) -> Result<Self, StoreError> {
        let optional = |column: usize| -> Result<Option<Vec<u8>>, StoreError> {
            Ok(match r.get_ref(column)? {
                ValueRef::Null => None,
                _ => Some(raw(r, column)?),
            })
        };
        Ok(Self {
            uuid: raw(r, 0)?,
            downtime_id: raw(r, 1)?,
            status: raw(r, 2)?,
            accession: optional(3)?,
            reason: optional(4)?,
            updated_ms: match r.get_ref(5)? {
                ValueRef::Integer(ms) => Some(ms),
                _ => None,
            },
            last_event: raw(r, 6)?,
            created: RawEvent::read_from(r, 7)?,
        })
    }

    /// The downtime ID as stored, for messages (damaged bytes shown as U+FFFD).
    pub(crate) fn downtime_id_lossy(&self) -> String {
        String::from_utf8_lossy(&self.downtime_id).into_owned()
    }

    /// The state: the creation event's, with what the row's status columns say since.
    pub(crate) fn decode(self) -> Result<RequestState, StoreError> {
        let event = self.created.decode()?;
        let uuid = event.request_uuid;
        let mut s = RequestState::from_creation(event)
            .map_err(|source| StoreError::Fold { uuid, source })?;
        if text(self.uuid, "request UUID")? != s.request.uuid.to_string() {
            return Err(StoreError::Corrupt(format!(
                "request {}: its row and its creation event name different requests",
                s.downtime_id
            )));
        }
        let status = text(self.status, "status")?;
        s.status = status.parse().map_err(|_| {
            StoreError::Corrupt(format!(
                "request {}: stored status '{status}'",
                s.downtime_id
            ))
        })?;
        s.accession = self.accession.map(|a| text(a, "accession")).transpose()?;
        s.reason = self.reason.map(|a| text(a, "reason")).transpose()?;
        s.updated_at = ms_to_time(self.updated_ms.ok_or_else(|| {
            StoreError::Corrupt(format!("request {}: no stored update time", s.downtime_id))
        })?)?;
        s.last_event = parse_uuid(&text(self.last_event, "last event")?)?;
        Ok(s)
    }
}

/// A request's current state from a row of [`STATE_SELECT`]: its creation event with the
/// row's status columns, or, when those are damaged, the fold of all its events (the record the
/// columns were made from). Only when its history is unreadable too is it an error, naming the
/// request.
pub(crate) fn state_of_row(conn: &Connection, r: &Row<'_>) -> Result<RequestState, StoreError> {
    let stored = RawState::read(r)?;
    let id = stored.downtime_id_lossy();
    let uuid = String::from_utf8_lossy(&stored.uuid).into_owned();
    match stored.decode() {
        Ok(state) => Ok(state),
        Err(first) => from_history(conn, &id, &uuid, &first),
    }
}

/// A request rebuilt from its events, after its stored state failed with `first`.
pub(crate) fn from_history(
    conn: &Connection,
    id: &str,
    uuid: &str,
    first: &StoreError,
) -> Result<RequestState, StoreError> {
    let unreadable = |why: String| {
        StoreError::Corrupt(format!(
            "request {id}: its stored state ({}) and its history ({why}) are both unreadable; \
             run stopgap verify and use the paper form for this request",
            error_chain(first)
        ))
    };
    let uuid = parse_uuid(uuid).map_err(|e| unreadable(e.to_string()))?;
    let events = events_of(conn, uuid).map_err(|e| unreadable(error_chain(&e)))?;
    crate::domain::merge::fold_merged(uuid, &events)
        .state
        .ok_or_else(|| unreadable("no creation event".into()))
}

/// The state of the request `condition` picks (on `r.`, e.g. `r.uuid = ?1`), if there is one.
pub(crate) fn state_where<P: rusqlite::Params>(
    conn: &Connection,
    condition: &str,
    params: P,
) -> Result<Option<RequestState>, StoreError> {
    let mut st = conn.prepare_cached(&format!("{STATE_SELECT} WHERE {condition} LIMIT 1"))?;
    let mut rows = st.query(params)?;
    match rows.next()? {
        Some(r) => state_of_row(conn, r).map(Some),
        None => Ok(None),
    }
}

/// The states of the requests `tail` picks from `requests` (its `WHERE`, `ORDER BY` and `LIMIT`,
/// on unqualified columns, as the queue's and the exports' filters write them), in that order.
/// The row IDs are chosen first, so a sort carries row IDs, not states.
pub(crate) fn states_picked(
    conn: &Connection,
    tail: &str,
    params: &[Value],
) -> Result<Vec<RequestState>, StoreError> {
    let mut st = conn.prepare(&format!("SELECT rowid FROM requests {tail}"))?;
    let rowids = st
        .query_map(params_from_iter(params.iter()), |r| r.get::<_, i64>(0))?
        .collect::<Result<Vec<i64>, _>>()?;
    states_at(conn, &rowids)
}

/// The states of the requests with these row IDs, in the same order.
pub(crate) fn states_at(
    conn: &Connection,
    rowids: &[i64],
) -> Result<Vec<RequestState>, StoreError> {
    rowids
        .iter()
        .map(|&rowid| {
            state_where(conn, "r.rowid = ?1", [rowid])?.ok_or_else(|| {
                StoreError::Corrupt(format!("request row {rowid} vanished while being read"))
            })
        })
        .collect()
}

/// The columns of `requests` that copy something its history says, in the order
/// [`copied_values`] gives them: what [`insert_request`] writes, and what `verify` compares with
/// the fold of the events (every column shown, sorted or searched is one of them). Not here:
/// `training` (not in the history) and the generated `sequence_tail`.
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
    insert_request_with(conn, s, training, "INSERT")?;
    Ok(())
}

/// Inserts a request's row unless its downtime ID (or UUID) already has one; whether it did.
pub(crate) fn insert_request_if_free(
    conn: &Connection,
    s: &RequestState,
    training: bool,
) -> Result<bool, StoreError> {
    Ok(insert_request_with(conn, s, training, "INSERT OR IGNORE")? == 1)
}

fn insert_request_with(
    conn: &Connection,
    s: &RequestState,
    training: bool,
    verb: &str,
) -> Result<usize, StoreError> {
    static COLUMNS: OnceLock<(String, String)> = OnceLock::new();
    let (columns, marks) = COLUMNS.get_or_init(|| {
        let marks: Vec<String> = (1..=COPIED_COLUMNS.len() + 1)
            .map(|i| format!("?{i}"))
            .collect();
        (
            format!("{}, training", COPIED_COLUMNS.join(", ")),
            marks.join(", "),
        )
    });
    let values = copied_values(s);
    Ok(conn
        .prepare_cached(&format!("{verb} INTO requests({columns}) VALUES ({marks})"))?
        .execute(params_from_iter(
            values
                .into_iter()
                .chain([Value::Integer(i64::from(training))]),
        ))?)
}

/// Rewrites every copied column of a request's row from `s` (after a merge, which may change
/// more than the status: e.g. the creation that counts). The trigger refuses it unless
/// `last_event` moved to a new event.
pub(crate) fn rewrite_request(conn: &Connection, s: &RequestState) -> Result<(), StoreError> {
    static SQL: OnceLock<String> = OnceLock::new();
    let sql = SQL.get_or_init(|| {
        let sets: Vec<String> = COPIED_COLUMNS
            .iter()
            .enumerate()
            .skip(1)
            .map(|(i, c)| format!("{c} = ?{}", i + 1))
            .collect();
        format!("UPDATE requests SET {} WHERE uuid = ?1", sets.join(", "))
    });
    let n = conn
        .prepare_cached(sql)?
        .execute(params_from_iter(copied_values(s)))?;
    if n != 1 {
        return Err(StoreError::UnknownRequest(s.request.uuid.to_string()));
    }
    Ok(())
}

/// Writes a request's new state. Only status-related columns change; the trigger refuses the
/// update unless `last_event` moved to a new event.
pub(crate) fn update_request(conn: &Connection, s: &RequestState) -> Result<(), StoreError> {
    let n = conn.execute(
        "UPDATE requests SET status = ?2, updated_ms = ?3, accession = ?4, reason = ?5,
            last_event = ?6
         WHERE uuid = ?1",
        params![
            s.request.uuid.to_string(),
            s.status.word(),
            s.updated_at.timestamp_millis(),
            s.accession,
            s.reason,
            s.last_event.to_string(),
        ],
    )?;
    if n != 1 {
        return Err(StoreError::UnknownRequest(s.request.uuid.to_string()));
    }
    Ok(())
}
