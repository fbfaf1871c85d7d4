//! Recording a decision on a conflict: the `ConflictSettled` event, and the cancellation and
//! re-registration a duplicate downtime ID's decision implies, in one transaction.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{ConflictScan, ListedConflict, listing, settlement};
use crate::domain::downtime_id::DowntimeId;
use crate::domain::event::{Actor, Event, EventKind};
use crate::domain::identity::{patient_line, same_patient};
use crate::domain::merge::fold_merged;
use crate::domain::request::NewRequest;
use crate::domain::settle::{Clash, ConflictKey, Decision};
use crate::domain::status::Transition;
use crate::domain::text::{TextError, clean};
use crate::store::{Store, StoreError, next_event_at, rows};

/// The longest note kept with a decision.
pub const NOTE_MAX: usize = 500;

/// Why a decision was not recorded. Nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum SettleError {
    #[error(
        "no conflict has the key {0}: list them (stopgap conflicts, or the Conflicts tab) and \
         copy its key"
    )]
    UnknownKey(String),
    #[error(
        "the key {typed} fits {} conflicts ({}): type more of the key",
        .matches.len(),
        .matches.join(", ")
    )]
    AmbiguousKey { typed: String, matches: Vec<String> },
    #[error(
        "\"{}\" is not a decision for this conflict ({}): choose {}",
        .decision.word(),
        .clash.title().to_lowercase(),
        allowed_words(.allowed)
    )]
    DecisionNotAllowed {
        decision: Decision,
        clash: Clash,
        allowed: Vec<Decision>,
    },
    #[error(
        "conflict {key} was already settled on {workstation} by {user} at {}: {}; nothing was \
         recorded",
        .at.format("%Y-%m-%d %H:%M UTC"),
        .decision.label()
    )]
    AlreadySettled {
        key: String,
        decision: Decision,
        workstation: String,
        user: String,
        at: DateTime<Utc>,
    },
    #[error(
        "the two requests under {id} are for different patients ({this} and {other}), so they \
         cannot be the same sample: check both paper forms and the tube, and choose \"different\" \
         if they are two samples"
    )]
    NotTheSamePatient {
        id: String,
        this: String,
        other: String,
    },
    #[error("the note {0}")]
    Note(TextError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// "Same sample" for a duplicate downtime ID is refused when the request that keeps the ID is
/// for another patient: one tube cannot belong to two people, and cancelling one of them as a
/// copy would lose a real request.
fn not_the_same_patient(
    conn: &rusqlite::Connection,
    c: &ListedConflict,
) -> Result<Option<SettleError>, StoreError> {
    let events = rows::events_of(conn, c.request_uuid)?;
    let Some(this) = fold_merged(c.request_uuid, &events).state else {
        return Ok(None);
    };
    let Some(kept) = rows::state_where(
        conn,
        "r.downtime_id = ?1 AND r.uuid <> ?2",
        [this.downtime_id.canonical(), c.request_uuid.to_string()],
    )?
    else {
        return Ok(None);
    };
    if same_patient(&this.request.patient, &kept.request.patient) {
        return Ok(None);
    }
    Ok(Some(SettleError::NotTheSamePatient {
        id: this.downtime_id.grouped(),
        this: patient_line(&this.request.patient),
        other: patient_line(&kept.request.patient),
    }))
}

fn allowed_words(allowed: &[Decision]) -> String {
    let words: Vec<String> = allowed
        .iter()
        .map(|d| format!("{} ({})", d.word(), d.label()))
        .collect();
    words.join(" or ")
}

/// What a settlement recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct SettleOutcome {
    pub key: ConflictKey,
    pub request_uuid: Uuid,
    pub downtime_id: Option<DowntimeId>,
    pub decision: Decision,
    /// Conflicts settled: more than one for a request whose creation never came.
    pub settled: usize,
    /// The duplicate of a shared downtime ID was cancelled.
    pub cancelled: bool,
    /// The duplicate's new downtime ID, when it was re-registered.
    pub reregistered_as: Option<DowntimeId>,
}

impl Store {
    /// Records `decision` (with `note`) on the conflict whose key starts with `typed`, under
    /// `user`, with any change the decision implies, all in one transaction. Refused, with
    /// nothing written, for a key that fits no conflict or several, a decision not offered for
    /// its kind, or a conflict already settled (here or on a PC whose bundle was imported).
    pub fn settle_conflict(
        &mut self,
        typed: &str,
        decision: Decision,
        note: &str,
        user: &str,
        now: DateTime<Utc>,
    ) -> Result<SettleOutcome, SettleError> {
        self.require(crate::domain::access::Permission::LabWork)?;
        let note = clean(note, NOTE_MAX, true).map_err(SettleError::Note)?;
        self.in_transaction(|s| {
            // Listed inside the write transaction: what is checked is what is settled.
            let found = match find(
                listing(&s.conn, ConflictScan::default())?.1,
                typed,
                decision,
            ) {
                Ok(found) => found,
                Err(refused) => return Ok(Err(refused)),
            };
            if found.clash == Clash::DuplicateId
                && decision == Decision::Same
                && let Some(refused) = not_the_same_patient(&s.conn, &found)?
            {
                return Ok(Err(refused));
            }
            s.record(&found, decision, &note, user, now).map(Ok)
        })?
    }

    fn record(
        &mut self,
        c: &ListedConflict,
        decision: Decision,
        note: &str,
        user: &str,
        now: DateTime<Utc>,
    ) -> Result<SettleOutcome, StoreError> {
        let mut outcome = SettleOutcome {
            key: c.key,
            request_uuid: c.request_uuid,
            downtime_id: c.downtime_id.clone(),
            decision,
            settled: 1 + c.with.len(),
            cancelled: false,
            reregistered_as: None,
        };
        if c.clash == Clash::DuplicateId {
            self.settle_duplicate(c, decision, &mut outcome, user, now)?;
        }
        for key in std::iter::once(c.key).chain(c.with.iter().copied()) {
            self.append_anywhere(c.request_uuid, settlement(key, decision, note), user, now)?;
        }
        Ok(outcome)
    }

    /// The cancellation (and, for different patients, the re-registration) of the duplicate of a
    /// shared downtime ID. A duplicate already re-entered, cancelled or rejected is left as it
    /// is: only the decision is recorded.
    fn settle_duplicate(
        &mut self,
        c: &ListedConflict,
        decision: Decision,
        outcome: &mut SettleOutcome,
        user: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let events = rows::events_of(&self.conn, c.request_uuid)?;
        let Some(state) = fold_merged(c.request_uuid, &events).state else {
            return Ok(());
        };
        let probe = Transition::Cancelled {
            reason: "duplicate downtime ID".to_owned(),
        };
        if probe.check(state.status).is_err() {
            return Ok(());
        }
        let reason = match decision {
            Decision::Different => {
                let copy = NewRequest {
                    uuid: Uuid::new_v4(),
                    ..state.request.clone()
                };
                let saved = if self.has_training_data()? {
                    self.save_training_request(&copy, user, now)?
                } else {
                    self.save_request(&copy, user, now)?
                };
                let reason = format!(
                    "duplicate downtime ID {}: re-registered as {}",
                    state.downtime_id, saved.downtime_id
                );
                outcome.reregistered_as = Some(saved.downtime_id);
                reason
            }
            Decision::Same
            | Decision::Discard
            | Decision::Test
            | Decision::Noted
            | Decision::Close => format!(
                "duplicate downtime ID {}: the same sample as the request that keeps the ID",
                state.downtime_id
            ),
        };
        let cancel = EventKind::StatusChanged {
            transition: Transition::Cancelled { reason },
        };
        let cancelled = self.append_anywhere(c.request_uuid, cancel, user, now)?;
        outcome.cancelled = true;
        // Cancelling a duplicate another PC had received is a cancellation after receipt, but
        // the person deciding knows it already, and the sample is tested under the ID that
        // counts: that clash is settled in the same transaction, not listed for someone else.
        let events = rows::events_of(&self.conn, c.request_uuid)?;
        let crossed = fold_merged(c.request_uuid, &events)
            .conflicts
            .into_iter()
            .find(|k| k.event.id == cancelled && k.needs_action());
        if let Some(k) = crossed {
            let kept = match &outcome.reregistered_as {
                Some(new) => format!("the sample is tested as {new}"),
                None => "the sample is tested under the request that keeps the ID".to_owned(),
            };
            let note = format!("cancelled as a duplicate downtime ID; {kept}");
            let settled = settlement(k.key(), Decision::Test, &note);
            self.append_anywhere(c.request_uuid, settled, user, now)?;
        }
        Ok(())
    }

    /// One more event of request `uuid`: through [`Store::append_event`] when the request has
    /// a row here, or held with its other events when it has none (its creation never came, or
    /// another request holds its downtime ID), dated after the request's last event.
    /// Returns the new event's UUID.
    fn append_anywhere(
        &mut self,
        uuid: Uuid,
        kind: EventKind,
        user: &str,
        now: DateTime<Utc>,
    ) -> Result<Uuid, StoreError> {
        if super::has_row(&self.conn, uuid)? {
            let check_status = match &kind {
                EventKind::StatusChanged { transition } => Some(transition.clone()),
                EventKind::Created { .. }
                | EventKind::ResultPhoned { .. }
                | EventKind::ConflictSettled { .. } => None,
            };
            let state = self.append_event(uuid, kind, user, now, |state| match &check_status {
                Some(t) => Ok(t.check(state.status)?),
                None => Ok(()),
            })?;
            return Ok(state.last_event);
        }
        let setup = self.require_setup()?;
        self.write(|tx| {
            let events = rows::events_of(tx, uuid)?;
            let last = events.iter().map(|e| e.at).max();
            let event = Event {
                id: Uuid::new_v4(),
                request_uuid: uuid,
                actor: Actor {
                    workstation: setup.workstation,
                    user: user.trim().to_owned(),
                },
                at: next_event_at(now, last),
                kind,
            };
            rows::insert_event(tx, &event)?;
            Ok(event.id)
        })
    }
}

/// The one conflict `typed` names, if `decision` may be taken on it.
fn find(
    all: Vec<ListedConflict>,
    typed: &str,
    decision: Decision,
) -> Result<ListedConflict, SettleError> {
    let mut fits: Vec<ListedConflict> = all.into_iter().filter(|c| c.key.matches(typed)).collect();
    // A whole key typed out names its conflict even when it is the prefix of no other.
    if fits.len() > 1
        && let Some(exact) = fits.iter().position(|c| c.key.full() == typed.trim())
    {
        fits = vec![fits.swap_remove(exact)];
    }
    let found = match fits.len() {
        0 => return Err(SettleError::UnknownKey(typed.trim().to_owned())),
        1 => fits.swap_remove(0),
        _ => {
            return Err(SettleError::AmbiguousKey {
                typed: typed.trim().to_owned(),
                matches: fits.iter().map(|c| c.key.full()).collect(),
            });
        }
    };
    if let Some(by) = &found.settled {
        return Err(SettleError::AlreadySettled {
            key: found.short_key.clone(),
            decision: by.decision,
            workstation: by.workstation.to_string(),
            user: by.user.clone(),
            at: by.at,
        });
    }
    if !found.decisions.contains(&decision) {
        return Err(SettleError::DecisionNotAllowed {
            decision,
            clash: found.clash,
            allowed: found.decisions,
        });
    }
    Ok(found)
}
