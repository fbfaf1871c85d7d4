//! The merged fold: a request's state from every event any workstation recorded, the same on
//! every PC whatever order the handover bundles arrived in, with every clash kept as a
//! [`Conflict`] rather than dropped.
//!
//! ## One order for every PC
//! A PC's knowledge of a request is a *set* of events (import is a union by event UUID). The
//! state is the fold of that set in its canonical order ([`canonical_cmp`]):
//! 1. creations first, whatever their time: a creation's time is on the ward PC's clock and a
//!    status change on the lab's, and a lab clock a few minutes behind must not turn the lab's
//!    receipt into an event "before the request existed";
//! 2. then by event time `at`: the wall clock is the only notion of "when" PCs without a network
//!    share, and it puts a cancellation before a receipt that really came later;
//! 3. events at the same instant by their place in the lifecycle (sent, received, re-entered,
//!    cancelled, rejected): a receipt and a re-entry typed in the same millisecond are read in the
//!    order they must have happened, instead of by the chance of their UUIDs;
//! 4. then by event UUID, which no two different events share;
//! 5. two different events that do share a UUID (a damaged copy or a faulty writer) by their JSON
//!    encoding, so even then the choice of which one counts depends on nothing but the events.
//!
//! This is a total order on events, so the fold of a set is a function of the set alone:
//! merging is commutative, associative and idempotent (proved by the property tests).
//!
//! ## What happens to each event
//! Every event given is either applied or named by a conflict, never both unless the conflict
//! says so ([`Conflict::applied`]), and never neither. A clash is decided the same way on every
//! PC, and the conflict keeps both sides so a person can settle it with a new event:
//! - an exact copy of an event already held is the same event (bundles overlap; that is normal);
//! - a different event under a UUID already held: [`ConflictKind::SameIdDiffers`], the first in
//!   the order counts;
//! - a status change with no creation in the set: [`ConflictKind::Orphan`]; it is applied on its
//!   own as soon as the creation arrives, because the fold is always of the whole set;
//! - a second creation: [`ConflictKind::CreatedTwice`], the first one counts;
//! - a change the lifecycle refuses at its place in the order: a step the request had already
//!   passed is [`ConflictKind::Overtaken`] (two PCs both marked it sent, or a skewed clock put a
//!   "sent" after the receipt) and needs nothing doing; anything else (a receipt after the ward
//!   cancelled, a second re-entry under another accession) is [`ConflictKind::Refused`];
//! - a cancellation on one PC after another PC had received the sample is allowed by the
//!   lifecycle and applied, but the lab may already be testing it: it is also reported, as
//!   [`ConflictKind::CancelledAfterReceipt`].
//!
//! Across requests, two different requests carrying one downtime ID are found by
//! [`duplicate_downtime_ids`].
//!
//! ## Settled conflicts
//! A person settles a conflict with a new event on its request (`EventKind::ConflictSettled`,
//! see [`super::settle`]): it changes no status and folds like any other event, and each conflict
//! keeps every settlement that names its [`ConflictKey`], in the canonical order; the first
//! counts ([`Conflict::settlement`]) and a settled conflict needs nobody. A settlement on a
//! request whose creation has not arrived is held as applied, never as a new orphan.

use std::cmp::Ordering;
use std::collections::{BTreeMap, btree_map};
use std::fmt;

use uuid::Uuid;

use super::event::{Event, EventKind, FoldError, RequestState};
use super::settle::{Clash, ConflictKey, Decision, Settlement};
use super::status::{Status, Transition, TransitionError};

/// The canonical order of events (see the module doc): creations first, then by time, then by
/// place in the lifecycle, then by UUID, then by encoding.
pub fn canonical_cmp(a: &Event, b: &Event) -> Ordering {
    let key = |e: &Event| (!is_creation(e), e.at, lifecycle_rank(&e.kind), e.id);
    key(a).cmp(&key(b)).then_with(|| {
        if a == b {
            Ordering::Equal
        } else {
            encoded(a).cmp(&encoded(b))
        }
    })
}

fn is_creation(e: &Event) -> bool {
    matches!(e.kind, EventKind::Created { .. })
}

/// An event's place in the lifecycle, for events at the same instant.
fn lifecycle_rank(kind: &EventKind) -> u8 {
    match kind {
        EventKind::Created { .. } => 0,
        EventKind::StatusChanged { transition } => match transition {
            Transition::Sent => 1,
            Transition::Received => 2,
            Transition::Reentered { .. } => 3,
            Transition::Cancelled { .. } => 4,
            Transition::Rejected { .. } => 5,
        },
        EventKind::ResultPhoned { .. } => 6,
        EventKind::ConflictSettled { .. } => 7,
    }
}

/// The bytes that order two different events sharing a UUID.
fn encoded(e: &Event) -> Vec<u8> {
    // Encoding a plain struct into memory does not fail; the debug form keeps the order total
    // should it ever do so.
    serde_json::to_vec(e).unwrap_or_else(|_| format!("{e:?}").into_bytes())
}

/// What kind of clash a [`Conflict`] is.
#[derive(Debug, Clone, PartialEq)]
pub enum ConflictKind {
    /// Another event under the same UUID was kept (`other`); this one is not applied.
    SameIdDiffers,
    /// No creation of this request is known: not applied until its creation is imported.
    Orphan,
    /// The request was already created (`other`): this second creation is not applied.
    CreatedTwice,
    /// The event names another request than the one folded: not applied.
    OtherRequest,
    /// The request had already passed this step (`other` took it there): not applied, and
    /// nothing to do.
    Overtaken,
    /// The lifecycle refuses the change at its place in the order: not applied.
    Refused(TransitionError),
    /// Applied: the request was cancelled on one PC after another had received the sample
    /// (`other`), so the lab may be testing a cancelled request.
    CancelledAfterReceipt,
}

/// One clash, with both sides.
#[derive(Debug, Clone, PartialEq)]
pub struct Conflict {
    pub kind: ConflictKind,
    /// The event this conflict is about; not applied unless [`Conflict::applied`].
    pub event: Event,
    /// The other side: the kept version, the first creation, or the event that set the status
    /// `event` clashed with. `None` for an orphan and an event of another request.
    pub other: Option<Event>,
    /// The request's status at `event`'s place in the order; `None` before any creation.
    pub status_before: Option<Status>,
    /// The settlements naming this conflict, in the canonical order: the first counts, any
    /// other is history (another PC decided differently before it saw the first).
    pub settlements: Vec<Event>,
}

impl Conflict {
    /// Whether `event` was applied despite the clash.
    pub fn applied(&self) -> bool {
        match self.kind {
            ConflictKind::CancelledAfterReceipt => true,
            ConflictKind::SameIdDiffers
            | ConflictKind::Orphan
            | ConflictKind::CreatedTwice
            | ConflictKind::OtherRequest
            | ConflictKind::Overtaken
            | ConflictKind::Refused(_) => false,
        }
    }

    /// Whether a person has to look at it: not once settled. An overtaken step only says that
    /// two PCs recorded the same progress; it is kept for the history, not for the conflicts
    /// list.
    pub fn needs_action(&self) -> bool {
        self.is_listed() && self.settlements.is_empty()
    }

    /// Whether it belongs in the conflicts list (open or settled): every kind but an overtaken
    /// step.
    pub fn is_listed(&self) -> bool {
        !matches!(self.kind, ConflictKind::Overtaken)
    }

    /// What names this conflict in a settling event: the UUID of `event` and the kind of clash,
    /// the same on every PC.
    pub fn key(&self) -> ConflictKey {
        ConflictKey {
            event: self.event.id,
            clash: self.clash(),
        }
    }

    /// The kind of clash, as a settlement names it.
    pub fn clash(&self) -> Clash {
        match self.kind {
            ConflictKind::SameIdDiffers => Clash::SameIdDiffers,
            ConflictKind::Orphan => Clash::Orphan,
            ConflictKind::CreatedTwice => Clash::CreatedTwice,
            ConflictKind::OtherRequest => Clash::OtherRequest,
            // Never listed, so never settled; named as the refusal it is.
            ConflictKind::Overtaken | ConflictKind::Refused(_) => Clash::Refused,
            ConflictKind::CancelledAfterReceipt => Clash::CancelledAfterReceipt,
        }
    }

    /// The decisions a person may take (see [`super::settle`]): a receipt or re-entry refused
    /// because the ward had cancelled is decided as a cancellation after receipt is.
    pub fn decisions(&self) -> &'static [Decision] {
        const ON_CANCELLED: &[Decision] = &[Decision::Discard, Decision::Test];
        match &self.kind {
            ConflictKind::CancelledAfterReceipt => ON_CANCELLED,
            ConflictKind::Refused(_) => {
                let lab_work = matches!(
                    &self.event.kind,
                    EventKind::StatusChanged {
                        transition: Transition::Received | Transition::Reentered { .. }
                    }
                );
                if lab_work && self.status_before == Some(Status::Cancelled) {
                    ON_CANCELLED
                } else {
                    &[Decision::Noted]
                }
            }
            ConflictKind::Orphan => &[Decision::Close],
            ConflictKind::SameIdDiffers
            | ConflictKind::CreatedTwice
            | ConflictKind::OtherRequest => &[Decision::Noted],
            ConflictKind::Overtaken => &[],
        }
    }

    /// The settlement that counts, with its event, once there is one.
    pub fn settlement(&self) -> Option<(&Event, &Settlement)> {
        self.settlements.iter().find_map(|e| match &e.kind {
            EventKind::ConflictSettled { settled } => Some((e, settled)),
            EventKind::Created { .. }
            | EventKind::StatusChanged { .. }
            | EventKind::ResultPhoned { .. } => None,
        })
    }
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let this = describe(&self.event);
        let other = self.other.as_ref().map(describe).unwrap_or_default();
        match &self.kind {
            ConflictKind::SameIdDiffers => write!(
                f,
                "event {} arrived in two versions: {this}, and {other} (which counts); a copy was \
                 damaged or a faulty program wrote it: report it",
                self.event.id
            ),
            ConflictKind::Orphan => write!(
                f,
                "{this} is for a request this PC has no creation for: import the bundle of the PC \
                 that created the request, and it is applied"
            ),
            ConflictKind::CreatedTwice => write!(
                f,
                "{this} creates the request a second time; it was first {other}, which counts: \
                 check both paper forms"
            ),
            ConflictKind::OtherRequest => write!(
                f,
                "{this} names request {} but is filed under {}: the PC that wrote it is at fault; \
                 report it",
                inner_request(&self.event),
                self.event.request_uuid
            ),
            ConflictKind::Overtaken => write!(
                f,
                "{this} came after the request was already {} ({other}): nothing to do",
                status_words(self.status_before)
            ),
            ConflictKind::Refused(why) => write!(
                f,
                "{this} was not applied because {why}: the request was already {} ({other}); \
                 check with whoever recorded each and record what really happened",
                status_words(self.status_before)
            ),
            ConflictKind::CancelledAfterReceipt => write!(
                f,
                "{this} after the sample was {other}: tell the lab whether it should still be \
                 tested"
            ),
        }
    }
}

/// One side of a conflict as a person reads it: what, where, who and when.
fn describe(e: &Event) -> String {
    format!(
        "{} on {} by {} at {}",
        what(e),
        e.actor.workstation,
        e.actor.user,
        e.at.format("%Y-%m-%d %H:%M:%S UTC")
    )
}

/// What an event did, in words.
pub fn what(e: &Event) -> String {
    match &e.kind {
        EventKind::Created { downtime_id, .. } => format!("created as {downtime_id}"),
        EventKind::StatusChanged { transition } => match transition {
            Transition::Sent => "sent to lab".to_owned(),
            Transition::Received => "received in lab".to_owned(),
            Transition::Reentered { accession } => format!("re-entered as {}", accession.trim()),
            Transition::Cancelled { reason } => format!("cancelled ({})", reason.trim()),
            Transition::Rejected { reason } => format!("rejected ({})", reason.trim()),
        },
        EventKind::ResultPhoned { phoned } => phoned.line(),
        EventKind::ConflictSettled { settled } => settled.line(),
    }
}

fn inner_request(e: &Event) -> Uuid {
    match &e.kind {
        EventKind::Created { request, .. } => request.uuid,
        EventKind::StatusChanged { .. }
        | EventKind::ResultPhoned { .. }
        | EventKind::ConflictSettled { .. } => e.request_uuid,
    }
}

fn status_words(status: Option<Status>) -> String {
    status.map_or_else(|| "unknown".to_owned(), |s| s.label().to_lowercase())
}

/// One request after the merged fold.
#[derive(Debug, Clone, PartialEq)]
pub struct Merged {
    pub request_uuid: Uuid,
    /// `None` while no creation of the request is known (every event is then an orphan).
    pub state: Option<RequestState>,
    /// The UUIDs of the events applied, in the canonical order: the merged history.
    pub applied: Vec<Uuid>,
    /// Every clash, in the canonical order of its event.
    pub conflicts: Vec<Conflict>,
    /// Every settlement applied (also held when no creation is known), in the canonical order.
    pub settlements: Vec<Event>,
}

impl Merged {
    /// Whether any conflict needs a person.
    pub fn needs_action(&self) -> bool {
        self.conflicts.iter().any(Conflict::needs_action)
    }
}

/// Folds every event known for request `request_uuid`, in the canonical order, whatever the
/// order and the repetitions of `events`. Nothing is dropped: each event is applied or in a
/// conflict (an event of another request among them is a [`ConflictKind::OtherRequest`]).
pub fn fold_merged<'a>(request_uuid: Uuid, events: impl IntoIterator<Item = &'a Event>) -> Merged {
    let mut sorted: Vec<&Event> = events.into_iter().collect();
    sorted.sort_by(|a, b| canonical_cmp(a, b));
    // Equal events are next to each other once sorted: copies from overlapping bundles go here.
    sorted.dedup_by(|a, b| a == b);

    let mut merged = Merged {
        request_uuid,
        state: None,
        applied: Vec::with_capacity(sorted.len()),
        conflicts: Vec::new(),
        settlements: Vec::new(),
    };
    let mut kept: BTreeMap<Uuid, &Event> = BTreeMap::new();
    let mut creation: Option<&Event> = None;
    let mut last: Option<&Event> = None;
    for e in sorted {
        match kept.entry(e.id) {
            btree_map::Entry::Occupied(first) => {
                let before = merged.state.as_ref().map(|s| s.status);
                merged.conflicts.push(conflict(
                    ConflictKind::SameIdDiffers,
                    e,
                    Some(first.get()),
                    before,
                ));
                continue;
            }
            btree_map::Entry::Vacant(slot) => {
                slot.insert(e);
            }
        }
        let settlement =
            matches!(e.kind, EventKind::ConflictSettled { .. }) && e.request_uuid == request_uuid;
        if settlement {
            merged.settlements.push(e.clone());
        }
        let Some(state) = &mut merged.state else {
            if settlement {
                // A settlement changes no status: it needs no creation to be held as applied
                // (an orphan closed before its creation came must not become a new orphan).
                merged.applied.push(e.id);
                continue;
            }
            // Creations sort first: a status change reaching here has no creation to follow.
            let kind = match RequestState::created(e) {
                Ok(s) if e.request_uuid == request_uuid && s.request.uuid == request_uuid => {
                    merged.state = Some(s);
                    merged.applied.push(e.id);
                    creation = Some(e);
                    last = Some(e);
                    continue;
                }
                Ok(_) => ConflictKind::OtherRequest,
                Err(_) if e.request_uuid != request_uuid => ConflictKind::OtherRequest,
                Err(_) => ConflictKind::Orphan,
            };
            merged.conflicts.push(conflict(kind, e, None, None));
            continue;
        };
        let before = state.status;
        let kind = match state.apply(e) {
            Ok(()) => {
                merged.applied.push(e.id);
                let crossed = last.filter(|l| cancelled_after_receipt(before, l, e));
                if let Some(received) = crossed {
                    merged.conflicts.push(conflict(
                        ConflictKind::CancelledAfterReceipt,
                        e,
                        Some(received),
                        Some(before),
                    ));
                }
                // The other side of a later clash is the event that set the status, never a
                // settlement or a phoned result in between.
                if matches!(e.kind, EventKind::StatusChanged { .. }) {
                    last = Some(e);
                }
                continue;
            }
            Err(FoldError::CreatedTwice(_)) => {
                merged.conflicts.push(conflict(
                    ConflictKind::CreatedTwice,
                    e,
                    creation,
                    Some(before),
                ));
                continue;
            }
            Err(FoldError::Transition { source, .. }) => refusal(state, e, source),
            // `apply` refuses only another request's event among these.
            Err(
                FoldError::WrongRequest(..) | FoldError::NoEvents | FoldError::NotCreatedFirst(_),
            ) => {
                merged
                    .conflicts
                    .push(conflict(ConflictKind::OtherRequest, e, None, Some(before)));
                continue;
            }
        };
        merged.conflicts.push(conflict(kind, e, last, Some(before)));
    }
    for c in &mut merged.conflicts {
        let key = c.key();
        c.settlements = merged
            .settlements
            .iter()
            .filter(|s| settles(s, key))
            .cloned()
            .collect();
    }
    merged
}

/// Whether event `s` is a settlement of the conflict named `key`.
pub fn settles(s: &Event, key: ConflictKey) -> bool {
    matches!(&s.kind, EventKind::ConflictSettled { settled } if settled.key() == key)
}

fn conflict(
    kind: ConflictKind,
    event: &Event,
    other: Option<&Event>,
    status_before: Option<Status>,
) -> Conflict {
    Conflict {
        kind,
        event: event.clone(),
        other: other.cloned(),
        status_before,
        settlements: Vec::new(),
    }
}

/// A refused change: overtaken if the request had already gone at least as far along the same
/// path, refused otherwise.
fn refusal(state: &RequestState, e: &Event, why: TransitionError) -> ConflictKind {
    let EventKind::StatusChanged { transition } = &e.kind else {
        return ConflictKind::Refused(why);
    };
    let overtaken = match transition {
        Transition::Sent => matches!(
            state.status,
            Status::Sent | Status::Received | Status::Reentered
        ),
        Transition::Received => matches!(state.status, Status::Received | Status::Reentered),
        // The same accession recorded twice is one LIMS order; another accession is a second.
        Transition::Reentered { accession } => {
            state.status == Status::Reentered
                && state.accession.as_deref() == Some(accession.trim())
        }
        Transition::Cancelled { .. } | Transition::Rejected { .. } => false,
    };
    if overtaken {
        ConflictKind::Overtaken
    } else {
        ConflictKind::Refused(why)
    }
}

/// Whether `e`, just applied on a request that was `before` after `last`, cancels a sample
/// another PC had received.
fn cancelled_after_receipt(before: Status, last: &Event, e: &Event) -> bool {
    let cancels = matches!(
        e.kind,
        EventKind::StatusChanged {
            transition: Transition::Cancelled { .. }
        }
    );
    cancels && before == Status::Received && last.actor.workstation != e.actor.workstation
}

mod duplicates;

pub use duplicates::{
    DuplicateDowntimeId, MergedSet, RequestRef, duplicate_downtime_ids, duplicate_settlement,
    merge_all,
};

#[cfg(test)]
mod tests;
