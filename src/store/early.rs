//! Samples received before their request reached this PC (see `domain::early`): recorded by
//! downtime ID with the details typed from the paper form, and linked when a handover bundle
//! brings the request: a receipt event (under the UUID chosen when the sample was received, at
//! the time it was received, by whoever received it) if the details agree with the request's
//! patient and the request can still be received; otherwise the receipt is marked as not
//! matching, with why, and listed as a conflict for a person. Nothing is ever linked by the ID
//! alone.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use super::rows;
use super::{Store, StoreError, stored_time};
use crate::domain::downtime_id::DowntimeId;
use crate::domain::early::EarlyDetails;
use crate::domain::event::{Actor, Event, EventKind, RequestState};
use crate::domain::merge::fold_merged;
use crate::domain::status::{Status, Transition};

/// What became of an early receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EarlyOutcome {
    /// The request has not reached this PC yet.
    Waiting,
    /// Linked to the request: received (or found received already, said in the note).
    Linked {
        request_uuid: Uuid,
        note: Option<String>,
    },
    /// The request that came does not match, or can no longer be received: not linked.
    Mismatch { request_uuid: Uuid, why: String },
}

/// One sample received before its request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EarlyReceipt {
    pub downtime_id: DowntimeId,
    pub details: EarlyDetails,
    pub received_at: DateTime<Utc>,
    pub received_by: Actor,
    pub outcome: EarlyOutcome,
}

/// Why an early receipt was not recorded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EarlyRefused {
    #[error("{0} is on this PC already: scan it again to receive it as usual")]
    RequestHere(String),
    #[error("{id} was received from its paper form already, at {at} by {by}: nothing recorded")]
    Already { id: String, at: String, by: String },
    #[error("{id} belongs to site {site}, and this PC is set up for site {here}: check the label")]
    OtherSite {
        id: String,
        site: String,
        here: String,
    },
}

impl Store {
    /// Records a sample received by its downtime ID before its request reached this PC.
    pub fn receive_early(
        &mut self,
        id: &DowntimeId,
        details: &EarlyDetails,
        user: &str,
        now: DateTime<Utc>,
    ) -> Result<EarlyReceipt, StoreError> {
        let setup = self.require_setup()?;
        if id.site() != &setup.site {
            return Err(EarlyRefused::OtherSite {
                id: id.grouped(),
                site: id.site().to_string(),
                here: setup.site.to_string(),
            }
            .into());
        }
        let at = stored_time(now);
        let actor = Actor {
            workstation: setup.workstation,
            user: user.trim().to_owned(),
        };
        self.write(|tx| {
            let here: bool = tx.query_row(
                "SELECT EXISTS(SELECT 1 FROM requests WHERE downtime_id = ?1)",
                [id.canonical()],
                |r| r.get(0),
            )?;
            if here {
                return Err(EarlyRefused::RequestHere(id.grouped()).into());
            }
            if let Some(before) = early_of(tx, id)? {
                return Err(EarlyRefused::Already {
                    id: id.grouped(),
                    at: before
                        .receipt
                        .received_at
                        .format("%Y-%m-%d %H:%M UTC")
                        .to_string(),
                    by: before.receipt.received_by.user,
                }
                .into());
            }
            tx.execute(
                "INSERT INTO early_receipts(downtime_id, details, received_ms, workstation,
                    user_name, event_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    id.canonical(),
                    serde_json::to_string(details)?,
                    at.timestamp_millis(),
                    actor.workstation.as_str(),
                    actor.user,
                    Uuid::new_v4().to_string(),
                ],
            )?;
            Ok(EarlyReceipt {
                downtime_id: id.clone(),
                details: details.clone(),
                received_at: at,
                received_by: actor,
                outcome: EarlyOutcome::Waiting,
            })
        })
    }

    /// The early receipt of `id`, if there is one.
    pub fn early_receipt(&self, id: &DowntimeId) -> Result<Option<EarlyReceipt>, StoreError> {
        Ok(early_of(&self.conn, id)?.map(|e| e.receipt))
    }

    /// Every early receipt: those still waiting and those that did not match first, then the
    /// linked ones; newest first within each.
    pub fn early_receipts(&self) -> Result<Vec<EarlyReceipt>, StoreError> {
        let mut st = self.conn.prepare(&format!(
            "SELECT {EARLY_COLUMNS} FROM early_receipts
             ORDER BY outcome = 'linked', received_ms DESC, id DESC"
        ))?;
        let mut rows = st.query([])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(read_early(r)?.receipt);
        }
        Ok(out)
    }
}

const EARLY_COLUMNS: &str = "id, downtime_id, details, received_ms, workstation, user_name, event_id, outcome, \
     request_uuid, note";

struct Stored {
    row: i64,
    event_id: Uuid,
    receipt: EarlyReceipt,
}

fn read_early(r: &rusqlite::Row<'_>) -> Result<Stored, StoreError> {
    let id: String = r.get(1)?;
    let corrupt = |what: &str| StoreError::Corrupt(format!("early receipt of {id}: {what}"));
    let downtime_id = DowntimeId::parse(&id).map_err(|_| corrupt("its downtime ID"))?;
    let details: EarlyDetails =
        serde_json::from_str(&r.get::<_, String>(2)?).map_err(|_| corrupt("its details"))?;
    let workstation: String = r.get(4)?;
    let outcome: String = r.get(7)?;
    let request: Option<String> = r.get(8)?;
    let note: Option<String> = r.get(9)?;
    let request_uuid = || -> Result<Uuid, StoreError> {
        rows::parse_uuid(request.as_deref().ok_or_else(|| corrupt("no request"))?)
    };
    let outcome = match outcome.as_str() {
        "waiting" => EarlyOutcome::Waiting,
        "linked" => EarlyOutcome::Linked {
            request_uuid: request_uuid()?,
            note,
        },
        "mismatch" => EarlyOutcome::Mismatch {
            request_uuid: request_uuid()?,
            why: note.unwrap_or_default(),
        },
        _ => return Err(corrupt("its outcome")),
    };
    Ok(Stored {
        row: r.get(0)?,
        event_id: rows::parse_uuid(&r.get::<_, String>(6)?)?,
        receipt: EarlyReceipt {
            downtime_id,
            details,
            received_at: rows::ms_to_time(r.get(3)?)?,
            received_by: Actor {
                workstation: crate::domain::downtime_id::Code3::workstation(&workstation)
                    .map_err(|_| corrupt("its workstation"))?,
                user: r.get(5)?,
            },
            outcome,
        },
    })
}

fn early_of(conn: &Connection, id: &DowntimeId) -> Result<Option<Stored>, StoreError> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {EARLY_COLUMNS} FROM early_receipts WHERE downtime_id = ?1"
    ))?;
    st.query_row([id.canonical()], |r| Ok(read_early(r)))
        .optional()?
        .transpose()
}

/// Links the early receipts waiting for any of `arrived` (requests an import just added): run
/// inside the import's transaction. Each link or mismatch is said in `conflicts` when it needs a
/// person; a linked receipt re-folds its request.
pub(super) fn link_arrivals(
    tx: &Connection,
    arrived: &[Uuid],
    training: bool,
    now: DateTime<Utc>,
    report: &mut super::Imported,
) -> Result<(), StoreError> {
    let waiting: i64 = tx.query_row(
        "SELECT count(*) FROM early_receipts WHERE outcome = 'waiting'",
        [],
        |r| r.get(0),
    )?;
    if waiting == 0 {
        return Ok(());
    }
    for &uuid in arrived {
        let Some(state) = rows::state_where(tx, "r.uuid = ?1", [uuid.to_string()])? else {
            // Not added (its downtime ID is another request's): nothing to link to yet.
            continue;
        };
        let Some(early) = early_of(tx, &state.downtime_id)? else {
            continue;
        };
        if early.receipt.outcome != EarlyOutcome::Waiting {
            continue;
        }
        link_one(tx, early, state, training, now, report)?;
    }
    Ok(())
}

fn link_one(
    tx: &Connection,
    early: Stored,
    state: RequestState,
    training: bool,
    now: DateTime<Utc>,
    report: &mut super::Imported,
) -> Result<(), StoreError> {
    let uuid = state.request.uuid;
    let id = state.downtime_id.grouped();
    let settle = |outcome: &str, note: Option<String>| -> Result<(), StoreError> {
        tx.execute(
            "UPDATE early_receipts SET outcome = ?1, request_uuid = ?2, note = ?3,
                settled_ms = ?4 WHERE id = ?5",
            params![
                outcome,
                uuid.to_string(),
                note,
                now.timestamp_millis(),
                early.row
            ],
        )?;
        Ok(())
    };
    if let Some(why) = early.receipt.details.disagreement(&state.request.patient) {
        report.conflicts.push(format!(
            "sample {id} was received from its paper form before its request came, but the \
             request's patient is not the one typed ({why}): not linked; check the tube, the \
             paper form and the ward's request"
        ));
        return settle("mismatch", Some(why));
    }
    match state.status {
        Status::Logged | Status::Sent => {
            let event = Event {
                id: early.event_id,
                request_uuid: uuid,
                actor: early.receipt.received_by.clone(),
                at: early.receipt.received_at,
                kind: EventKind::StatusChanged {
                    transition: Transition::Received,
                },
            };
            rows::insert_event_if_new(tx, &event)?;
            let events = rows::events_of(tx, uuid)?;
            let merged = fold_merged(uuid, &events);
            super::handover::settle(tx, merged, Some(state), training, report)?;
            settle("linked", None)
        }
        Status::Received | Status::Reentered => settle(
            "linked",
            Some("the request came already received on another PC: no second receipt".to_owned()),
        ),
        Status::Cancelled | Status::Rejected => {
            let why = format!(
                "the request came {} ({}): the sample was received from its paper form before \
                 that was known",
                state.status.label().to_lowercase(),
                state.reason.as_deref().unwrap_or("no reason given")
            );
            report
                .conflicts
                .push(format!("sample {id}: {why}; tell the ward and the lab"));
            settle("mismatch", Some(why))
        }
    }
}
