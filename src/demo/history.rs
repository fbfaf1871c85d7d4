//! Each synthetic request's story: where it ends (logged, sent, received, re-entered, cancelled,
//! rejected), the status changes leading there, and how far back its collection may lie.

use fastrand::Rng;

use super::Serials;
use super::pick_str;
use super::words::{CANCEL_REASONS, REJECT_REASONS};
use crate::domain::status::Transition;

/// How far back collection times reach, in minutes (72 hours).
const WINDOW_MINUTES: i64 = 72 * 60;

/// Where a request's story ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    Logged,
    Sent,
    Received,
    Reentered,
    Cancelled,
    Rejected,
}

pub(super) fn outcome(rng: &mut Rng) -> Outcome {
    match rng.u32(0..100) {
        0..25 => Outcome::Logged,
        25..45 => Outcome::Sent,
        45..70 => Outcome::Received,
        70..85 => Outcome::Reentered,
        85..95 => Outcome::Cancelled,
        _ => Outcome::Rejected,
    }
}

/// The status changes leading to `outcome`, each with the minutes since the step before. Details
/// (accession numbers, reasons) are filled in here; times are placed by the caller.
pub(super) fn steps(
    rng: &mut Rng,
    outcome: Outcome,
    serials: &mut Serials,
) -> Vec<(Transition, i64)> {
    let sent = |rng: &mut Rng| (Transition::Sent, rng.i64(5..=45));
    let received = |rng: &mut Rng| (Transition::Received, rng.i64(10..=90));
    let mut steps = Vec::new();
    match outcome {
        Outcome::Logged => {}
        Outcome::Sent => steps.push(sent(rng)),
        Outcome::Received => {
            steps.push(sent(rng));
            steps.push(received(rng));
        }
        Outcome::Reentered => {
            // Now and then the ward forgot to mark the sample as sent; the lab received it anyway.
            if rng.u32(0..10) > 0 {
                steps.push(sent(rng));
            }
            steps.push(received(rng));
            serials.accession += rng.u32(1..40);
            // The year is filled in by the caller once the time is known.
            steps.push((
                Transition::Reentered {
                    accession: format!("{:07}", serials.accession % 10_000_000),
                },
                rng.i64(30..=720),
            ));
        }
        Outcome::Cancelled => {
            if rng.bool() {
                steps.push(sent(rng));
            }
            steps.push((
                Transition::Cancelled {
                    reason: pick_str(rng, CANCEL_REASONS).to_owned(),
                },
                rng.i64(5..=360),
            ));
        }
        Outcome::Rejected => {
            if rng.u32(0..5) > 0 {
                steps.push(sent(rng));
            }
            steps.push(received(rng));
            steps.push((
                Transition::Rejected {
                    reason: pick_str(rng, REJECT_REASONS).to_owned(),
                },
                rng.i64(5..=60),
            ));
        }
    }
    steps
}

/// The earliest a request with this outcome was collected, in minutes before `now`: requests
/// still waiting are recent; the rest spread over the whole window. One minute is kept back
/// because dropping the seconds moves a collection time up to a minute earlier.
pub(super) fn window_minutes(outcome: Outcome) -> i64 {
    match outcome {
        Outcome::Logged => 12 * 60,
        Outcome::Sent => 24 * 60,
        Outcome::Received | Outcome::Reentered | Outcome::Cancelled | Outcome::Rejected => {
            WINDOW_MINUTES - 1
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::demo::synthetic_requests;
    use crate::demo::tests::{cat, now, share};
    use crate::domain::downtime_id::{Code3, DowntimeId};
    use crate::domain::event::{Actor, Event, EventKind, RequestState};
    use crate::domain::status::Status;
    use chrono::Duration;
    use std::collections::HashMap;

    #[test]
    fn transitions_are_legal_and_times_increase_up_to_now() {
        let n = now();
        for r in synthetic_requests(2000, 5, n, &cat()).unwrap() {
            let collected = r.request.collected_at;
            assert!(collected >= n - Duration::hours(72), "{collected}");
            assert!(collected < r.created_at, "{collected} {}", r.created_at);
            assert!(r.created_at < collected + Duration::minutes(16));
            let mut status = Status::Logged;
            let mut last = r.created_at;
            for (t, at) in &r.transitions {
                t.check(status).unwrap();
                status = t.target();
                assert!(*at > last, "{at} after {last}");
                last = *at;
            }
            assert!(last <= n, "{last} is after {n}");
            assert_eq!(status, r.status());
        }
    }

    #[test]
    fn histories_fold_into_the_expected_state() {
        let ws = Code3::workstation("W07").unwrap();
        for r in synthetic_requests(300, 6, now(), &cat()).unwrap() {
            let actor = Actor {
                workstation: ws.clone(),
                user: r.user.clone(),
            };
            let event = |n: u128, at, kind| Event {
                id: uuid::Uuid::from_u128(n),
                request_uuid: r.request.uuid,
                actor: actor.clone(),
                at,
                kind,
            };
            let id = DowntimeId::new(Code3::site("RXX").unwrap(), ws.clone(), 1);
            let mut events = vec![event(
                0,
                r.created_at,
                EventKind::Created {
                    downtime_id: id.unwrap(),
                    request: Box::new(r.request.clone()),
                },
            )];
            for (k, (t, at)) in r.transitions.iter().enumerate() {
                events.push(event(
                    k as u128 + 1,
                    *at,
                    EventKind::StatusChanged {
                        transition: t.clone(),
                    },
                ));
            }
            let state = RequestState::fold(&events).unwrap();
            assert_eq!(state.status, r.status());
            if state.status == Status::Reentered {
                let acc = state.accession.unwrap();
                assert!(acc.starts_with("L26.") && acc.len() == 11, "{acc}");
            }
            if matches!(state.status, Status::Cancelled | Status::Rejected) {
                assert!(!state.reason.unwrap().is_empty());
            }
        }
    }

    #[test]
    fn the_status_mix_is_roughly_as_planned() {
        let reqs = synthetic_requests(2000, 11, now(), &cat()).unwrap();
        let mut counts: HashMap<Status, usize> = HashMap::new();
        for r in &reqs {
            *counts.entry(r.status()).or_default() += 1;
        }
        for (status, expected) in [
            (Status::Logged, 0.25),
            (Status::Sent, 0.20),
            (Status::Received, 0.25),
            (Status::Reentered, 0.15),
            (Status::Cancelled, 0.10),
            (Status::Rejected, 0.05),
        ] {
            let got = share(counts.get(&status).copied().unwrap_or(0), reqs.len());
            assert!((got - expected).abs() < 0.04, "{status}: {got}");
        }
    }
}
