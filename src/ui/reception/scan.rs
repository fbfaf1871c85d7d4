//! What a scan and a receive or reject do against the store, and the words the bench reads for
//! each. Run by the shell's dispatcher after the frame; the screen only draws what is kept here.

use chrono::{DateTime, Local, Utc};
use uuid::Uuid;

use super::{Logged, Outcome, ReceptionState};
use crate::domain::downtime_id::{DowntimeId, DowntimeIdError};
use crate::domain::early::EarlyDraft;
use crate::domain::event::EventKind;
use crate::domain::status::{Status, Transition};
use crate::error::error_chain;
use crate::store::{EarlyOutcome, EarlyReceipt, RequestDetail, Store, StoreError};
use crate::ui::fonts;

/// Looks up what was scanned or typed. A misread or unknown ID, or a request that can no longer
/// be received, is said at once and counted; a request that can be received is shown and waits
/// for Receive or Reject. Nothing is recorded here.
pub fn look_up(store: &Store, state: &mut ReceptionState, typed: &str) -> Result<(), StoreError> {
    state.input.clear();
    state.reject = None;
    state.focus_input = true;
    state.unknown = None;
    state.early = None;
    state.waiting = store.early_receipts()?;
    if let Some(waiting) = state.shown.take().filter(|s| s.receivable) {
        // The next scan came before Receive: the sample on screen is left as it was.
        state.push(
            Outcome::Skipped,
            format!(
                "{} left unreceived (next scan came first)",
                waiting.detail.state.downtime_id.grouped()
            ),
        );
    }
    let id = match DowntimeId::parse(typed) {
        Ok(id) => id,
        Err(DowntimeIdError::Empty) => return Ok(()),
        Err(DowntimeIdError::WrongCheck(_)) => {
            state.push(
                Outcome::NotFound,
                format!(
                    "{}: wrong check character (a misread label or a typing slip). Scan again, \
                     or type it from the paper form.",
                    typed.trim()
                ),
            );
            return Ok(());
        }
        Err(e) => {
            state.push(Outcome::NotFound, format!("{}: {e}", typed.trim()));
            return Ok(());
        }
    };
    let Some(detail) = store.find_by_downtime_id(&id)? else {
        if let Some(early) = store.early_receipt(&id)? {
            state.push(Outcome::Already, early_words(&early));
            return Ok(());
        }
        state.push(
            Outcome::NotFound,
            format!(
                "{} is not on this PC: its request has not reached the lab. Ctrl+R receives \
                 it from its paper form (linked when the request arrives), or keep it with its \
                 form and scan it again after the next handover.",
                id.grouped()
            ),
        );
        state.unknown = Some(id);
        return Ok(());
    };
    let receivable = detail.state.status.can_become(Status::Received);
    if !receivable {
        let text = already_words(&detail);
        state.push(Outcome::Already, format!("{text}: nothing recorded"));
    } else {
        state.last = None;
    }
    state.shown = Some(super::Shown { detail, receivable });
    Ok(())
}

/// Records `transition` (received or rejected) for the request on screen, under `user`. A
/// change the store refuses (another PC's handover changed it meanwhile, a read-only file) is
/// said on the screen, where it was asked for, and the request stays shown.
pub fn record(
    store: &mut Store,
    state: &mut ReceptionState,
    uuid: Uuid,
    transition: &Transition,
    user: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    state.focus_input = true;
    state.reject = None;
    match store.change_status(uuid, transition, user, now) {
        Ok(done) => {
            let at = now.with_timezone(&Local).format("%H:%M");
            let id = done.downtime_id.grouped();
            let who = fonts::display_text(user);
            let (outcome, text) = match transition {
                Transition::Rejected { reason } => (
                    Outcome::Rejected,
                    format!(
                        "{id} rejected {at} by {who}: {}",
                        fonts::display_text(reason)
                    ),
                ),
                _ => (Outcome::Received, format!("{id} received {at} by {who}")),
            };
            state.push(outcome, text);
            state.shown = store.request_detail(uuid)?.map(|detail| super::Shown {
                detail,
                receivable: false,
            });
        }
        Err(e) => {
            state.last = Some(Logged {
                outcome: Outcome::Refused,
                text: format!("Not recorded: {}", error_chain(&e)),
            });
            // What the store now holds, so the screen shows why.
            if let Some(detail) = store.request_detail(uuid)? {
                let receivable = detail.state.status.can_become(Status::Received);
                state.shown = Some(super::Shown { detail, receivable });
            }
        }
    }
    Ok(())
}

/// Receives the sample `id` from the details typed from its paper form, under `user`. Problems
/// with the details stay in the box beside their fields; a refusal is said on the screen.
pub fn record_early(
    store: &mut Store,
    state: &mut ReceptionState,
    id: &DowntimeId,
    draft: &EarlyDraft,
    user: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let details = match draft.validate(now, &Local) {
        Ok(d) => d,
        Err(errors) => {
            if let Some(form) = &mut state.early {
                form.errors = errors;
            }
            return Ok(());
        }
    };
    state.early = None;
    state.unknown = None;
    state.focus_input = true;
    match store.receive_early(id, &details, user, now) {
        Ok(_) => {
            let at = now.with_timezone(&Local).format("%H:%M");
            state.push(
                Outcome::Received,
                format!(
                    "{} received {at} by {} from its paper form ({}): linked when its request \
                     arrives",
                    id.grouped(),
                    fonts::display_text(user),
                    fonts::display_text(&details.line())
                ),
            );
        }
        Err(e) => {
            state.last = Some(Logged {
                outcome: Outcome::Refused,
                text: format!("Not recorded: {}", error_chain(&e)),
            });
        }
    }
    state.waiting = store.early_receipts()?;
    Ok(())
}

/// What became of a sample received from its paper form, for a second scan of it.
fn early_words(early: &EarlyReceipt) -> String {
    let id = early.downtime_id.grouped();
    let when = format!(
        "{} by {}",
        early
            .received_at
            .with_timezone(&Local)
            .format("%H:%M %d/%m"),
        fonts::display_text(&early.received_by.user)
    );
    match &early.outcome {
        EarlyOutcome::Waiting => format!(
            "{id} already received from its paper form {when}; waiting for its request: nothing \
             recorded"
        ),
        EarlyOutcome::Linked { .. } => format!("{id} already received {when}: nothing recorded"),
        EarlyOutcome::Mismatch { why, .. } => format!(
            "{id} was received from its paper form {when} but does NOT match its request ({why}): \
             nothing recorded; check the tube and the forms"
        ),
    }
}

/// "RXX-W07-000123-K already received 10:42 by J Smith": what has already happened to a request
/// that can no longer be received, from its last status change.
pub fn already_words(detail: &RequestDetail) -> String {
    let s = &detail.state;
    let id = s.downtime_id.grouped();
    let last = detail.events.iter().rev().find(|e| {
        matches!(&e.kind, EventKind::StatusChanged { transition } if transition.target() == s.status)
    });
    let when = last
        .map(|e| {
            format!(
                " {} by {}",
                e.at.with_timezone(&Local).format("%H:%M %d/%m"),
                fonts::display_text(&e.actor.user)
            )
        })
        .unwrap_or_default();
    let why = s
        .reason
        .as_deref()
        .map(|r| format!(" ({})", fonts::display_text(r)))
        .unwrap_or_default();
    match s.status {
        Status::Received => format!("{id} already received{when}"),
        Status::Rejected => format!("{id} already rejected{when}{why}"),
        Status::Cancelled => format!("{id} was cancelled{when}{why}"),
        Status::Reentered => format!(
            "{id} already re-entered in the LIMS{when} ({})",
            s.accession.as_deref().unwrap_or("no accession")
        ),
        Status::Logged | Status::Sent => format!("{id} can be received"),
    }
}
