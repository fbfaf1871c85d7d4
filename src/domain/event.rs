//! History: every change to a request is an event. A request's current state is the fold of its
//! events, so workstations can later merge by exchanging events.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::downtime_id::{Code3, DowntimeId};
use super::phoned::PhonedResult;
use super::request::NewRequest;
use super::settle::Settlement;
use super::status::{Status, Transition, TransitionError};

/// Who made a change, and where.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Actor {
    pub workstation: Code3,
    /// The name or staff ID the user gave.
    pub user: String,
}

/// What changed.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventKind {
    /// The request was saved and given its downtime ID.
    Created {
        downtime_id: DowntimeId,
        request: Box<NewRequest>,
    },
    /// The status changed.
    StatusChanged { transition: Transition },
    /// A result was phoned to the ward. Changes no status: a fact recorded whatever the
    /// request's state.
    ResultPhoned { phoned: Box<PhonedResult> },
    /// A person settled a conflict on this request. Changes no status.
    ConflictSettled { settled: Settlement },
}

impl EventKind {
    /// The stable word stored beside the payload.
    pub fn word(&self) -> &'static str {
        match self {
            EventKind::Created { .. } => "created",
            EventKind::StatusChanged { .. } => "status_changed",
            EventKind::ResultPhoned { .. } => "result_phoned",
            EventKind::ConflictSettled { .. } => "conflict_settled",
        }
    }
}

/// One change to one request.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Event {
    pub id: Uuid,
    pub request_uuid: Uuid,
    pub actor: Actor,
    pub at: DateTime<Utc>,
    pub kind: EventKind,
}

/// A stored request as it stands now: the fold of its events.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RequestState {
    pub downtime_id: DowntimeId,
    pub request: NewRequest,
    pub status: Status,
    /// LIMS accession number, once re-entered.
    pub accession: Option<String>,
    /// Why it was cancelled or rejected.
    pub reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub created_by: Actor,
    pub updated_at: DateTime<Utc>,
    /// The last event folded in.
    pub last_event: Uuid,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FoldError {
    #[error("request has no events")]
    NoEvents,
    #[error("first event {0} is not a creation")]
    NotCreatedFirst(Uuid),
    #[error("event {0} creates the request a second time")]
    CreatedTwice(Uuid),
    #[error("event {0} belongs to request {1}, not this one")]
    WrongRequest(Uuid, Uuid),
    #[error("event {event}")]
    Transition {
        event: Uuid,
        source: TransitionError,
    },
}

impl RequestState {
    /// The state after the creation event.
    pub fn created(event: &Event) -> Result<Self, FoldError> {
        let EventKind::Created {
            downtime_id,
            request,
        } = &event.kind
        else {
            return Err(FoldError::NotCreatedFirst(event.id));
        };
        Ok(Self {
            downtime_id: downtime_id.clone(),
            request: (**request).clone(),
            status: Status::Logged,
            accession: None,
            reason: None,
            created_at: event.at,
            created_by: event.actor.clone(),
            updated_at: event.at,
            last_event: event.id,
        })
    }

    /// [`RequestState::created`], taking the event rather than copying its request.
    pub fn from_creation(event: Event) -> Result<Self, FoldError> {
        let EventKind::Created {
            downtime_id,
            request,
        } = event.kind
        else {
            return Err(FoldError::NotCreatedFirst(event.id));
        };
        Ok(Self {
            downtime_id,
            request: *request,
            status: Status::Logged,
            accession: None,
            reason: None,
            created_at: event.at,
            created_by: event.actor,
            updated_at: event.at,
            last_event: event.id,
        })
    }

    /// Applies one later event, refusing a change the lifecycle does not allow.
    pub fn apply(&mut self, event: &Event) -> Result<(), FoldError> {
        if event.request_uuid != self.request.uuid {
            return Err(FoldError::WrongRequest(event.id, event.request_uuid));
        }
        match &event.kind {
            EventKind::Created { .. } => return Err(FoldError::CreatedTwice(event.id)),
            EventKind::StatusChanged { transition } => {
                transition
                    .check(self.status)
                    .map_err(|source| FoldError::Transition {
                        event: event.id,
                        source,
                    })?;
                self.status = transition.target();
                match transition {
                    Transition::Reentered { accession } => {
                        self.accession = Some(accession.trim().to_owned())
                    }
                    Transition::Cancelled { reason } | Transition::Rejected { reason } => {
                        self.reason = Some(reason.trim().to_owned());
                    }
                    Transition::Sent | Transition::Received => {}
                }
            }
            EventKind::ResultPhoned { .. } | EventKind::ConflictSettled { .. } => {}
        }
        self.updated_at = event.at;
        self.last_event = event.id;
        Ok(())
    }

    /// Folds a request's events, in the order they happened.
    pub fn fold(events: &[Event]) -> Result<Self, FoldError> {
        let (first, rest) = events.split_first().ok_or(FoldError::NoEvents)?;
        let mut state = Self::created(first)?;
        if first.request_uuid != state.request.uuid {
            return Err(FoldError::WrongRequest(first.id, first.request_uuid));
        }
        for e in rest {
            state.apply(e)?;
        }
        Ok(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::catalogue::Catalogue;
    use chrono::TimeZone;

    fn actor() -> Actor {
        Actor {
            workstation: Code3::workstation("W07").unwrap(),
            user: "Nurse Bloggs".into(),
        }
    }

    fn created() -> Event {
        let now = Utc.with_ymd_and_hms(2026, 6, 4, 10, 30, 0).unwrap();
        let draft = crate::domain::request::RequestDraft {
            uuid: Uuid::new_v4(),
            nhs_number: "9990000018".into(),
            surname: "Testpatient".into(),
            dob: "01/01/1980".into(),
            ward: "W7".into(),
            consultant: "Dr A".into(),
            requester: "Dr B".into(),
            requester_contact: "1234".into(),
            priority: Some(crate::domain::request::Priority::Urgent),
            tests: vec!["FBC".into()],
            collected_date: "04/06/2026".into(),
            collected_time: "10:00".into(),
            collected_by: "N".into(),
            ..Default::default()
        };
        let request = draft
            .validate(now, &Utc, &Catalogue::default_uk().unwrap())
            .unwrap();
        Event {
            id: Uuid::new_v4(),
            request_uuid: request.uuid,
            actor: actor(),
            at: now,
            kind: EventKind::Created {
                downtime_id: DowntimeId::new(
                    Code3::site("RXX").unwrap(),
                    Code3::workstation("W07").unwrap(),
                    1,
                )
                .unwrap(),
                request: Box::new(request),
            },
        }
    }

    fn change(of: &Event, t: Transition) -> Event {
        Event {
            id: Uuid::new_v4(),
            request_uuid: of.request_uuid,
            actor: actor(),
            at: of.at + chrono::Duration::minutes(5),
            kind: EventKind::StatusChanged { transition: t },
        }
    }

    #[test]
    fn folds_a_full_life() {
        let c = created();
        let events = vec![
            c.clone(),
            change(&c, Transition::Sent),
            change(&c, Transition::Received),
            change(
                &c,
                Transition::Reentered {
                    accession: " L24.1 ".into(),
                },
            ),
        ];
        let s = RequestState::fold(&events).unwrap();
        assert_eq!(s.status, Status::Reentered);
        assert_eq!(s.accession.as_deref(), Some("L24.1"));
        assert_eq!(s.last_event, events[3].id);
    }

    #[test]
    fn refuses_illegal_histories() {
        let c = created();
        let back = vec![
            c.clone(),
            change(&c, Transition::Received),
            change(&c, Transition::Sent),
        ];
        assert!(matches!(
            RequestState::fold(&back),
            Err(FoldError::Transition { .. })
        ));
        let twice = vec![c.clone(), c.clone()];
        assert!(matches!(
            RequestState::fold(&twice),
            Err(FoldError::CreatedTwice(_))
        ));
        let headless = vec![change(&c, Transition::Sent)];
        assert!(matches!(
            RequestState::fold(&headless),
            Err(FoldError::NotCreatedFirst(_))
        ));
        assert_eq!(RequestState::fold(&[]), Err(FoldError::NoEvents));
    }

    #[test]
    fn events_round_trip_as_json() {
        let c = created();
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(serde_json::from_str::<Event>(&json).unwrap(), c);
    }
}
