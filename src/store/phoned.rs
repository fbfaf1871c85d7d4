//! Results phoned to the ward, on the store's side: recording one as an event of its request
//! (only once the lab has the sample), and the log of every phoned result this PC holds, its own
//! and those other PCs' bundles brought.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::queries::QueueRow;
use super::rows::{self, EVENT_COLUMNS, QUEUE_COLUMNS, RawEvent};
use super::{Store, StoreError};
use crate::domain::downtime_id::DowntimeId;
use crate::domain::event::{EventKind, RequestState};
use crate::domain::identity::patient_line;
use crate::domain::nhs_number::NhsNumber;
use crate::domain::patient::{Patient, Priority, Sex};
use crate::domain::phoned::PhonedResult;
use crate::domain::status::Status;

/// Why a phoned result was not recorded. Nothing was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhonedRefused {
    #[error(
        "no result was recorded for {downtime_id}: the lab has not received its sample yet (it is {}). Receive the sample first, then log the phoned result",
        .status.label().to_lowercase()
    )]
    NotReceived {
        downtime_id: DowntimeId,
        status: Status,
    },
    #[error(
        "no result was recorded for {downtime_id}: the request was cancelled, so its sample was never tested"
    )]
    Cancelled { downtime_id: DowntimeId },
    #[error(
        "no result was recorded for {downtime_id}: the lab rejected its sample, so there is no result (a new sample needs a new request)"
    )]
    Rejected { downtime_id: DowntimeId },
    #[error("no result was recorded for {downtime_id}: {}", .problems.join("; "))]
    Invalid {
        downtime_id: DowntimeId,
        problems: Vec<String>,
    },
}

/// Which phoned results the log shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PhonedFilter {
    /// Only requests from this ward (its name as on the request).
    pub ward: Option<String>,
    /// Only results whose read-back was not confirmed.
    pub not_read_back: bool,
}

/// One phoned result in the log, with the request it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct PhonedRow {
    pub request_uuid: Uuid,
    pub downtime_id: DowntimeId,
    pub ward: String,
    pub priority: Priority,
    pub status: Status,
    /// "SURNAME, Forename, born 01/01/1980, NHS 999 000 0018".
    pub patient: String,
    /// "SURNAME, Forename": the start of `patient`.
    pub patient_name: String,
    pub phoned: PhonedResult,
    /// The event that recorded it.
    pub event: Uuid,
    /// When it was typed in (the event's time, on the PC that recorded it).
    pub recorded_at: DateTime<Utc>,
    /// The workstation that recorded it.
    pub workstation: String,
}

impl Store {
    /// Records a result phoned to the ward as an event of request `uuid`, under `user`. Allowed
    /// once the lab has the sample (received or re-entered); the result must meet the same rules
    /// as the form's (`PhonedResult::problems`), checked against the request inside the write.
    pub fn record_phoned(
        &mut self,
        uuid: Uuid,
        phoned: &PhonedResult,
        user: &str,
        now: DateTime<Utc>,
    ) -> Result<RequestState, StoreError> {
        self.require(crate::domain::access::Permission::LabWork)?;
        let kind = EventKind::ResultPhoned {
            phoned: Box::new(phoned.clone()),
        };
        self.append_event(uuid, kind, user, now, |state| {
            let downtime_id = state.downtime_id.clone();
            match state.status {
                Status::Received | Status::Reentered => {}
                Status::Logged | Status::Sent => {
                    return Err(PhonedRefused::NotReceived {
                        downtime_id,
                        status: state.status,
                    }
                    .into());
                }
                Status::Cancelled => return Err(PhonedRefused::Cancelled { downtime_id }.into()),
                Status::Rejected => return Err(PhonedRefused::Rejected { downtime_id }.into()),
            }
            let problems = phoned.problems(&state.request, now, &Utc);
            if problems.is_empty() {
                Ok(())
            } else {
                Err(PhonedRefused::Invalid {
                    downtime_id,
                    problems: problems.iter().map(ToString::to_string).collect(),
                }
                .into())
            }
        })
    }

    /// Every phoned result this PC holds that `filter` picks, newest phoned first (then newest
    /// typed first), each with its request's downtime ID, ward, priority and patient.
    pub fn phoned_results(&self, filter: &PhonedFilter) -> Result<Vec<PhonedRow>, StoreError> {
        let mut st = self.conn.prepare(&format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE kind = 'result_phoned'"
        ))?;
        let mut found = Vec::new();
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            let e = RawEvent::read(r)?.decode()?;
            if let EventKind::ResultPhoned { phoned } = e.kind
                && (!filter.not_read_back || !phoned.read_back)
            {
                found.push((e.id, e.request_uuid, e.at, e.actor.workstation, *phoned));
            }
        }
        drop(rows);
        drop(st);
        let mut requests: HashMap<Uuid, Option<QueueRow>> = HashMap::new();
        let mut st = self.conn.prepare_cached(&format!(
            "SELECT {QUEUE_COLUMNS} FROM requests WHERE uuid = ?1"
        ))?;
        let mut out = Vec::new();
        for (event, request_uuid, recorded_at, workstation, phoned) in found {
            if let std::collections::hash_map::Entry::Vacant(slot) = requests.entry(request_uuid) {
                let row = st
                    .query([request_uuid.to_string()])?
                    .next()?
                    .map(rows::queue_row)
                    .transpose()?;
                slot.insert(row);
            }
            // A result for a request whose creation has not reached this PC yet waits with its
            // event (listed by `conflicts`); the log shows it once the request arrives.
            let Some(Some(q)) = requests.get(&request_uuid) else {
                continue;
            };
            if filter.ward.as_ref().is_some_and(|w| *w != q.ward) {
                continue;
            }
            let patient = patient_of(q);
            out.push(PhonedRow {
                request_uuid,
                downtime_id: q.downtime_id.clone(),
                ward: q.ward.clone(),
                priority: q.priority,
                status: q.status,
                patient: patient_line(&patient),
                patient_name: patient.display_name(),
                phoned,
                event,
                recorded_at,
                workstation: workstation.as_str().to_owned(),
            });
        }
        out.sort_by(|a, b| {
            (b.phoned.phoned_at, b.recorded_at, b.event).cmp(&(
                a.phoned.phoned_at,
                a.recorded_at,
                a.event,
            ))
        });
        Ok(out)
    }
}

/// The patient as the queue row holds it (enough for a patient line; sex is not shown there).
fn patient_of(q: &QueueRow) -> Patient {
    Patient {
        surname: q.surname.clone(),
        forename: q.forename.clone(),
        dob: q.dob,
        sex: Sex::Unknown,
        nhs_number: q
            .nhs_number
            .as_deref()
            .and_then(|n| NhsNumber::parse(n).ok()),
        mrn: q.mrn.clone(),
        emergency_number: q.emergency_number.clone(),
    }
}
