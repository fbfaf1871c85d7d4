//! Each request's timeline for the turnaround figures (`domain::turnaround`): its row's columns
//! and the times of its receipt, first phoned result and final change, read in two passes over
//! the file, never a query per request.
//!
//! At a million requests the second pass is most of the cost, so it reads only the four columns
//! it needs, of the two event kinds it needs, and decodes as few payloads as it can: a receipt or
//! a "sent" is the same stored bytes for every request (same JSON, same packing), so those bytes
//! are decoded once and recognised after that; only the payloads that carry text of their own (an
//! accession number, a reason, a phoned result) are unpacked one by one.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use rusqlite::types::ValueRef;
use uuid::Uuid;

use super::rows;
use super::{Store, StoreError, packed};
use crate::domain::downtime_id::DowntimeId;
use crate::domain::event::EventKind;
use crate::domain::request::ALL_PRIORITIES;
use crate::domain::status::{ALL_STATUSES, Transition};
use crate::domain::turnaround::Timeline;
use crate::error::error_chain;

/// What a status change does to a timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Sent,
    Received,
    Final,
}

impl Store {
    /// How many rows this connection has written since it opened: a screen that computes on
    /// another connection (the dashboard) knows from it that this PC has changed something.
    pub fn changes_made(&self) -> u64 {
        self.conn.total_changes()
    }

    /// Every request's timeline, optionally of one ward only. Receipt is the earliest receipt
    /// recorded; final, the earliest re-entry, cancellation or rejection; phoned, the earliest
    /// phoned-at of the results phoned.
    pub fn timelines(&self, ward: Option<&str>) -> Result<Vec<Timeline>, StoreError> {
        let (mut out, by_uuid) = self.request_rows(ward)?;
        // Sent and received carry nothing of their own: their stored bytes repeat.
        let mut known: HashMap<Vec<u8>, Step> = HashMap::new();
        let mut st = self.conn.prepare(
            "SELECT request_uuid, at_ms, kind, payload, packed FROM events
             WHERE kind IN ('status_changed', 'result_phoned')",
        )?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            let uuid = match r.get_ref(0)? {
                ValueRef::Text(b) => Uuid::try_parse_ascii(b).ok(),
                _ => None,
            };
            // Another ward's request (or an event whose request this PC has not got).
            let Some(&i) = uuid.as_ref().and_then(|u| by_uuid.get(u)) else {
                continue;
            };
            let at = match r.get_ref(1)? {
                ValueRef::Integer(ms) => rows::ms_to_time(ms)?,
                _ => return Err(damaged(uuid, "an event's time is missing")),
            };
            let stored = match (r.get_ref(3)?, r.get_ref(4)?) {
                (ValueRef::Text(json), ValueRef::Null) if !json.is_empty() => Stored::Json(json),
                (ValueRef::Text(b"") | ValueRef::Null, ValueRef::Blob(p)) => Stored::Packed(p),
                _ => return Err(damaged(uuid, "an event's payload is missing or doubled")),
            };
            let t = &mut out[i];
            if r.get_ref(2)?.as_bytes().ok() == Some(b"result_phoned") {
                if let EventKind::ResultPhoned { phoned } = stored.decode(uuid)? {
                    earliest(&mut t.phoned_at, phoned.phoned_at);
                }
                continue;
            }
            let step = match known.get(stored.bytes()) {
                Some(&step) => step,
                None => {
                    let EventKind::StatusChanged { transition } = stored.decode(uuid)? else {
                        return Err(damaged(uuid, "a status change's payload is another kind"));
                    };
                    let step = match transition {
                        Transition::Sent => Step::Sent,
                        Transition::Received => Step::Received,
                        Transition::Reentered { .. }
                        | Transition::Cancelled { .. }
                        | Transition::Rejected { .. } => Step::Final,
                    };
                    if step != Step::Final {
                        known.insert(stored.bytes().to_vec(), step);
                    }
                    step
                }
            };
            match step {
                Step::Received => earliest(&mut t.received_at, at),
                Step::Final => earliest(&mut t.final_at, at),
                Step::Sent => {}
            }
        }
        Ok(out)
    }

    /// The requests' own columns, and where each request's timeline is by its UUID.
    fn request_rows(
        &self,
        ward: Option<&str>,
    ) -> Result<(Vec<Timeline>, HashMap<Uuid, usize>), StoreError> {
        const COLUMNS: &str = "SELECT uuid, downtime_id, priority, ward, status, collected_ms,
            created_ms FROM requests";
        let mut st = match ward {
            // One ward's rows through its index; every row in the order they lie in the file.
            Some(_) => self.conn.prepare(&format!("{COLUMNS} WHERE ward = ?1"))?,
            None => self.conn.prepare(COLUMNS)?,
        };
        let mut rows = match ward {
            Some(w) => st.query([w])?,
            None => st.query([])?,
        };
        let mut wards: HashMap<String, Arc<str>> = HashMap::new();
        let mut by_uuid = HashMap::new();
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let text = |i: usize, what: &str| -> Result<&str, StoreError> {
                r.get_ref(i)?.as_str().map_err(|_| {
                    StoreError::Corrupt(format!("a request's stored {what} is damaged"))
                })
            };
            let uuid = rows::parse_uuid(text(0, "UUID")?)?;
            let corrupt = |what: &str, v: &str| {
                StoreError::Corrupt(format!("request {uuid}: stored {what} '{v}'"))
            };
            let id = text(1, "downtime ID")?;
            let priority = text(2, "priority")?;
            let status = text(4, "status")?;
            let ward = text(3, "ward")?;
            let ward = match wards.get(ward) {
                Some(w) => Arc::clone(w),
                None => {
                    let w: Arc<str> = Arc::from(ward);
                    wards.insert(ward.to_owned(), Arc::clone(&w));
                    w
                }
            };
            out.push(Timeline {
                uuid,
                downtime_id: DowntimeId::parse(id).map_err(|_| corrupt("downtime ID", id))?,
                priority: ALL_PRIORITIES
                    .into_iter()
                    .find(|p| p.word() == priority)
                    .ok_or_else(|| corrupt("priority", priority))?,
                ward,
                status: ALL_STATUSES
                    .into_iter()
                    .find(|s| s.word() == status)
                    .ok_or_else(|| corrupt("status", status))?,
                collected_at: rows::ms_to_time(r.get(5)?)?,
                created_at: rows::ms_to_time(r.get(6)?)?,
                received_at: None,
                phoned_at: None,
                final_at: None,
            });
            by_uuid.insert(uuid, out.len() - 1);
        }
        Ok((out, by_uuid))
    }
}

/// An event's payload as stored: JSON (written before payloads were packed) or packed.
enum Stored<'a> {
    Json(&'a [u8]),
    Packed(&'a [u8]),
}

impl Stored<'_> {
    fn bytes(&self) -> &[u8] {
        match self {
            Stored::Json(b) | Stored::Packed(b) => b,
        }
    }

    fn decode(&self, uuid: Option<Uuid>) -> Result<EventKind, StoreError> {
        let json = match self {
            Stored::Json(b) => std::str::from_utf8(b)
                .map_err(|_| damaged(uuid, "an event's payload is not text"))?
                .to_owned(),
            Stored::Packed(p) => packed::unpack(p).map_err(|e| damaged(uuid, &error_chain(&e)))?,
        };
        serde_json::from_str(&json)
            .map_err(|e| damaged(uuid, &format!("an event's payload is unreadable: {e}")))
    }
}

fn damaged(uuid: Option<Uuid>, what: &str) -> StoreError {
    let uuid = uuid.map(|u| u.to_string()).unwrap_or_default();
    StoreError::Corrupt(format!(
        "request {uuid}: {what}; run `stopgap verify` to find every damaged record"
    ))
}

fn earliest(slot: &mut Option<DateTime<Utc>>, at: DateTime<Utc>) {
    if slot.is_none_or(|t| at < t) {
        *slot = Some(at);
    }
}

#[cfg(test)]
mod tests;
