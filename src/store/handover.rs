//! Handover between PCs, on the store's side: every event this PC holds for an outbox, and the
//! import of another PC's events as a union by event UUID, each touched request re-folded in the
//! one canonical order every PC uses (`domain::merge`), so bundles may arrive in any order, twice,
//! or relayed, and every PC ends with the same states.
//!
//! Nothing a bundle carries is dropped: an event already held is counted, a new one is stored,
//! and one that shares its UUID with a different event held here is kept aside in
//! `handover_rejects` and listed as a conflict. A request whose events clash, or whose downtime
//! ID another request already has, is listed by [`Store::conflicts`] (`settle.rs`, which also
//! records their settling); the clash itself is a function of the events, so every PC lists the
//! same.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use super::rows::{self, EVENT_COLUMNS, RawEvent};
use super::{Store, StoreError};
use crate::domain::audit::{AuditAction, AuditEntry};
use crate::domain::downtime_id::{Code3, DowntimeId};
use crate::domain::event::{Event, RequestState};
use crate::domain::merge::fold_merged;

/// What a bundle brings, as read and checked by `crate::handover`.
#[derive(Debug, Clone, Copy)]
pub struct Incoming<'a> {
    /// The bundle's SHA-256, from its trailer: recorded with the import.
    pub sha256: &'a str,
    pub site: &'a Code3,
    pub workstation: &'a Code3,
    pub written_at: DateTime<Utc>,
    /// The sending PC holds training requests.
    pub training: bool,
    pub events: &'a [Event],
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Imported {
    /// Events in the bundle.
    pub events: u64,
    /// Of them, not held here before (now stored).
    pub new_events: u64,
    /// Of them, already held (exact copies).
    pub already_held: u64,
    /// Of them, under a UUID held here with other content: kept aside, listed as conflicts.
    pub kept_aside: u64,
    /// Requests this PC had not seen.
    pub requests_added: u64,
    /// Requests whose state changed.
    pub requests_changed: u64,
    /// The conflicts needing a person among the requests this import touched, in words.
    pub conflicts: Vec<String>,
}

impl Store {
    /// Every event this PC holds, its own and those it imported (so a lab PC relays the wards'
    /// events and every PC ends with all of them), recorded at or after `since` when given, in
    /// the order this PC stored them.
    pub fn handover_events(&self, since: Option<DateTime<Utc>>) -> Result<Vec<Event>, StoreError> {
        let mut st = self.conn.prepare(&format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE at_ms >= ?1 ORDER BY seq"
        ))?;
        let from = since.map_or(i64::MIN, |t| t.timestamp_millis());
        let mut rows = st.query([from])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(RawEvent::read(r)?.decode()?);
        }
        Ok(out)
    }

    /// Imports another PC's events in one transaction: all of them or, on any error, none.
    pub fn import_events(
        &mut self,
        incoming: &Incoming<'_>,
        user: &str,
        now: DateTime<Utc>,
    ) -> Result<Imported, StoreError> {
        let setup = self.require_setup()?;
        if incoming.site != &setup.site {
            return Err(StoreError::HandoverRefused(format!(
                "the bundle is from site {}, but this PC is set up for site {}: import only \
                 bundles of this hospital site",
                incoming.site, setup.site
            )));
        }
        let training_here = self.has_training_data()?;
        if incoming.training && !training_here {
            return Err(StoreError::HandoverRefused(format!(
                "the bundle is from {}, a PC holding training requests, and this PC holds live \
                 patients' requests: practice data never goes into a live database",
                incoming.workstation
            )));
        }
        // Packing every payload is most of an import's work: done on every core before the
        // write transaction, which then only inserts.
        let packed = pack_all(incoming.events)?;
        self.write(|tx| {
            let mut report = Imported {
                events: incoming.events.len() as u64,
                ..Imported::default()
            };
            // Which requests this PC already knew: those are folded again from everything held;
            // a request new here is folded from the bundle's own events, without reading back.
            let mut known = BTreeSet::new();
            let mut seen = BTreeSet::new();
            for e in incoming.events {
                if seen.insert(e.request_uuid) && has_events(tx, e.request_uuid)? {
                    known.insert(e.request_uuid);
                }
            }
            let mut fresh: BTreeMap<Uuid, Vec<&Event>> = BTreeMap::new();
            let mut touched_known = BTreeSet::new();
            let mut aside = Vec::new();
            for (e, packed) in incoming.events.iter().zip(&packed) {
                if rows::insert_packed_if_new(tx, e, packed)? {
                    report.new_events += 1;
                    if known.contains(&e.request_uuid) {
                        touched_known.insert(e.request_uuid);
                    } else {
                        fresh.entry(e.request_uuid).or_default().push(e);
                    }
                    continue;
                }
                match held(tx, e.id)? {
                    Some(h) if h == *e => report.already_held += 1,
                    _ => {
                        aside.push(e);
                        if known.contains(&e.request_uuid) {
                            touched_known.insert(e.request_uuid);
                        }
                    }
                }
            }
            report.kept_aside = aside.len() as u64;
            tx.execute(
                "INSERT INTO handover_imports(sha256, source_site, source_workstation, written_ms,
                    events, new_events, at_ms, workstation, user_name)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    incoming.sha256,
                    incoming.site.as_str(),
                    incoming.workstation.as_str(),
                    incoming.written_at.timestamp_millis(),
                    report.events as i64,
                    report.new_events as i64,
                    now.timestamp_millis(),
                    setup.workstation.as_str(),
                    user.trim(),
                ],
            )?;
            let import = tx.last_insert_rowid();
            let entry = AuditEntry {
                action: AuditAction::Imported,
                staff_id: String::new(),
                user_name: user.to_owned(),
                subject: format!(
                    "handover bundle from {}/{}",
                    incoming.site, incoming.workstation
                ),
                detail: format!(
                    "{} events, {} new, {} kept aside; SHA-256 {}",
                    report.events,
                    report.new_events,
                    aside.len(),
                    incoming.sha256
                ),
            };
            super::audit::append_in(tx, &entry, now)?;
            for e in aside {
                tx.execute(
                    "INSERT INTO handover_rejects(import, event_id, request_uuid, event_json)
                     VALUES (?1, ?2, ?3, ?4)",
                    params![
                        import,
                        e.id.to_string(),
                        e.request_uuid.to_string(),
                        serde_json::to_string(e)?
                    ],
                )?;
            }
            let arrived: Vec<Uuid> = fresh.keys().copied().collect();
            for (uuid, events) in fresh {
                let merged = fold_merged(uuid, events);
                settle(tx, merged, None, incoming.training, &mut report)?;
            }
            // Samples received from their paper forms before these requests came.
            super::early::link_arrivals(tx, &arrived, incoming.training, now, &mut report)?;
            for uuid in touched_known {
                let events = rows::events_of(tx, uuid)?;
                let merged = fold_merged(uuid, &events);
                let stored = rows::state_where(tx, "r.uuid = ?1", [uuid.to_string()])?;
                settle(tx, merged, stored, incoming.training, &mut report)?;
            }
            Ok(report)
        })
    }
}

/// Every event's payload packed, in order, on as many threads as there are cores.
fn pack_all(events: &[Event]) -> Result<Vec<Vec<u8>>, StoreError> {
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let chunk = events.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let workers: Vec<_> = events
            .chunks(chunk)
            .map(|part| {
                s.spawn(|| {
                    part.iter()
                        .map(rows::pack_event)
                        .collect::<Result<Vec<_>, _>>()
                })
            })
            .collect();
        let mut out = Vec::with_capacity(events.len());
        for w in workers {
            let part = w.join().map_err(|_| {
                StoreError::Corrupt("a packing thread stopped unexpectedly".to_owned())
            })??;
            out.extend(part);
        }
        Ok(out)
    })
}

/// The event held under `id`, if any.
fn held(tx: &Connection, id: Uuid) -> Result<Option<Event>, StoreError> {
    let mut st = tx.prepare_cached(&format!("SELECT {EVENT_COLUMNS} FROM events WHERE id = ?1"))?;
    let mut rows = st.query([id.to_string()])?;
    match rows.next()? {
        Some(r) => Ok(Some(RawEvent::read(r)?.decode()?)),
        None => Ok(None),
    }
}

/// The request other than `uuid` that holds the row for `id`, if one does.
fn holder_of(
    conn: &Connection,
    id: &DowntimeId,
    uuid: Uuid,
) -> Result<Option<RequestState>, StoreError> {
    let other: Option<String> = conn
        .query_row(
            "SELECT uuid FROM requests WHERE downtime_id = ?1 AND uuid <> ?2",
            params![id.canonical(), uuid.to_string()],
            |r| r.get(0),
        )
        .optional()?;
    match other {
        Some(o) => rows::state_where(conn, "r.uuid = ?1", [o]),
        None => Ok(None),
    }
}

fn duplicate_id_text(this: &RequestState, other: &RequestState) -> String {
    format!(
        "downtime ID {} is on two different requests: one created on {} by {} at {} (shown in \
         the queue), the other created on {} by {} at {} (not shown until this is settled): two \
         PCs may have been set up with the same workstation code; check both paper forms",
        this.downtime_id,
        other.created_by.workstation,
        other.created_by.user,
        other.created_at.format("%Y-%m-%d %H:%M UTC"),
        this.created_by.workstation,
        this.created_by.user,
        this.created_at.format("%Y-%m-%d %H:%M UTC"),
    )
}

/// Whether this PC holds any event of request `uuid`.
fn has_events(tx: &Connection, uuid: Uuid) -> Result<bool, StoreError> {
    Ok(tx
        .prepare_cached("SELECT EXISTS(SELECT 1 FROM events WHERE request_uuid = ?1)")?
        .query_row([uuid.to_string()], |r| r.get(0))?)
}

/// Brings a request's row in line with its merged fold (`stored` is its row's state, `None`
/// when it has none): a new request is added, unless another request already holds its
/// downtime ID (a conflict: its events wait); a changed one is rewritten.
pub(super) fn settle(
    tx: &Connection,
    merged: crate::domain::merge::Merged,
    stored: Option<RequestState>,
    training: bool,
    report: &mut Imported,
) -> Result<(), StoreError> {
    report.conflicts.extend(
        merged
            .conflicts
            .iter()
            .filter(|c| c.needs_action())
            .map(ToString::to_string),
    );
    // A duplicate downtime ID already settled (the settlement came in the same bundle) is
    // not reported again.
    let settled_duplicate = crate::domain::merge::duplicate_settlement(&merged).is_some();
    let Some(state) = merged.state else {
        // Status changes whose creation has not arrived: held, applied when it comes.
        return Ok(());
    };
    match stored {
        None => {
            if rows::insert_request_if_free(tx, &state, training)? {
                report.requests_added += 1;
            } else if let Some(other) = holder_of(tx, &state.downtime_id, merged.request_uuid)? {
                if !settled_duplicate {
                    report.conflicts.push(duplicate_id_text(&state, &other));
                }
            } else {
                return Err(StoreError::Corrupt(format!(
                    "request {} could not be added and no other request holds its downtime \
                     ID; nothing was imported: run stopgap verify",
                    state.downtime_id
                )));
            }
        }
        Some(stored) if stored == state => {}
        Some(stored) => {
            if stored.last_event == state.last_event {
                return Err(StoreError::Corrupt(format!(
                    "request {}: the merged history changes it without a new last event; \
                     nothing was imported: report this",
                    state.downtime_id
                )));
            }
            rows::rewrite_request(tx, &state)?;
            report.requests_changed += 1;
        }
    }
    Ok(())
}
