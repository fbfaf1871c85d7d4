//! Turnaround and backlog figures: what a lab manager watches during a downtime. Pure: given each
//! request's timeline (from its events) and the clock, the same figures in the app's dashboard
//! and `stopgap stats`.
//!
//! - open requests by status and priority, and the overdue emergencies and urgents (thresholds
//!   from the settings, as the queue's overdue block);
//! - collection-to-receipt times per priority: count, median and 90th percentile, overall and
//!   per hour of collection;
//! - the backlog (requests logged but not yet final) at each hour.
//!
//! Percentiles are by nearest rank on whole seconds: the median of 1, 2, 3, 4 minutes is 2
//! minutes, the 90th percentile of ten values the ninth; no interpolation, so every figure is a
//! time some sample really took.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, DurationRound, Utc};

use super::overdue::{OverdueThresholds, overdue_by};
use super::request::Priority;
use super::status::Status;

/// One request's times, from its events.
#[derive(Debug, Clone, PartialEq)]
pub struct Timeline {
    pub priority: Priority,
    pub ward: String,
    pub status: Status,
    pub collected_at: DateTime<Utc>,
    /// When it was saved (logged).
    pub created_at: DateTime<Utc>,
    pub received_at: Option<DateTime<Utc>>,
    /// When it became final (re-entered, cancelled or rejected), if it has.
    pub final_at: Option<DateTime<Utc>>,
}

/// Count, median and 90th percentile of a set of durations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Spread {
    pub count: u64,
    pub median_seconds: i64,
    pub p90_seconds: i64,
}

impl Spread {
    /// `None` for no durations.
    pub fn of(mut seconds: Vec<i64>) -> Option<Self> {
        if seconds.is_empty() {
            return None;
        }
        seconds.sort_unstable();
        let rank = |p: usize| {
            // Nearest rank: the smallest value with at least p% of the values at or below it.
            let n = seconds.len();
            let r = (p * n).div_ceil(100).max(1);
            seconds[r - 1]
        };
        Some(Self {
            count: seconds.len() as u64,
            median_seconds: rank(50),
            p90_seconds: rank(90),
        })
    }
}

/// Collection-to-receipt of one priority in one hour of collection.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct HourSpread {
    pub hour: DateTime<Utc>,
    pub priority: Priority,
    pub spread: Spread,
}

/// The figures.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Figures {
    pub at: DateTime<Utc>,
    /// Open (logged, sent, received) requests, by status then priority.
    pub open: BTreeMap<Status, BTreeMap<Priority, u64>>,
    /// Open emergencies and urgents past their threshold.
    pub overdue_emergency: u64,
    pub overdue_urgent: u64,
    /// Collection to receipt, per priority, over every received request.
    pub to_receipt: BTreeMap<Priority, Spread>,
    /// The same per hour of collection (UTC hours), oldest first.
    pub to_receipt_by_hour: Vec<HourSpread>,
    /// Requests logged and not yet final at the end of each hour, from the first request's
    /// hour to now.
    pub backlog_by_hour: Vec<(DateTime<Utc>, u64)>,
}

fn hour_of(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(Duration::hours(1)).unwrap_or(t)
}

/// The figures for `timelines` at `now`.
pub fn figures(
    timelines: &[Timeline],
    now: DateTime<Utc>,
    thresholds: &OverdueThresholds,
) -> Figures {
    let mut open: BTreeMap<Status, BTreeMap<Priority, u64>> = BTreeMap::new();
    let (mut overdue_emergency, mut overdue_urgent) = (0, 0);
    let mut to_receipt: BTreeMap<Priority, Vec<i64>> = BTreeMap::new();
    let mut by_hour: BTreeMap<(DateTime<Utc>, Priority), Vec<i64>> = BTreeMap::new();
    for t in timelines {
        if matches!(t.status, Status::Logged | Status::Sent | Status::Received) {
            *open
                .entry(t.status)
                .or_default()
                .entry(t.priority)
                .or_default() += 1;
        }
        if overdue_by(t.priority, t.status, t.collected_at, now, thresholds).is_some() {
            match t.priority {
                Priority::Emergency => overdue_emergency += 1,
                Priority::Urgent => overdue_urgent += 1,
                Priority::Routine => {}
            }
        }
        if let Some(received) = t.received_at {
            let seconds = (received - t.collected_at).num_seconds();
            to_receipt.entry(t.priority).or_default().push(seconds);
            by_hour
                .entry((hour_of(t.collected_at), t.priority))
                .or_default()
                .push(seconds);
        }
    }
    Figures {
        at: now,
        open,
        overdue_emergency,
        overdue_urgent,
        to_receipt: to_receipt
            .into_iter()
            .filter_map(|(p, s)| Spread::of(s).map(|s| (p, s)))
            .collect(),
        to_receipt_by_hour: by_hour
            .into_iter()
            .filter_map(|((hour, priority), s)| {
                Spread::of(s).map(|spread| HourSpread {
                    hour,
                    priority,
                    spread,
                })
            })
            .collect(),
        backlog_by_hour: backlog(timelines, now),
    }
}

/// Requests logged by the end of each hour and not yet final then.
fn backlog(timelines: &[Timeline], now: DateTime<Utc>) -> Vec<(DateTime<Utc>, u64)> {
    let Some(first) = timelines.iter().map(|t| t.created_at).min() else {
        return Vec::new();
    };
    // +1 at logging, -1 when final: a running sum at each hour's end.
    let mut changes: BTreeMap<DateTime<Utc>, i64> = BTreeMap::new();
    for t in timelines {
        *changes.entry(t.created_at).or_default() += 1;
        if let Some(f) = t.final_at {
            *changes.entry(f).or_default() -= 1;
        }
    }
    let mut out = Vec::new();
    let mut open = 0i64;
    let mut pending = changes.into_iter().peekable();
    let mut hour = hour_of(first);
    // At most a month of hours: a clock far off must not make millions of points.
    for _ in 0..24 * 31 {
        let end = hour + Duration::hours(1);
        while let Some((_, delta)) = pending.next_if(|(at, _)| *at < end) {
            open += delta;
        }
        out.push((hour, open.max(0).unsigned_abs()));
        if end > now {
            break;
        }
        hour = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, 4, h, m, 0).unwrap()
    }

    fn timeline(priority: Priority, collected: DateTime<Utc>, received: Option<u32>) -> Timeline {
        Timeline {
            priority,
            ward: "AMU".into(),
            status: if received.is_some() {
                Status::Received
            } else {
                Status::Logged
            },
            collected_at: collected,
            created_at: collected + Duration::minutes(5),
            received_at: received.map(|m| collected + Duration::minutes(i64::from(m))),
            final_at: None,
        }
    }

    #[test]
    fn median_and_90th_percentile_are_times_a_sample_really_took() {
        assert_eq!(Spread::of(vec![]), None);
        let s = Spread::of(vec![240, 60, 180, 120]).unwrap();
        assert_eq!((s.count, s.median_seconds, s.p90_seconds), (4, 120, 240));
        let ten: Vec<i64> = (1..=10).map(|m| m * 60).collect();
        let s = Spread::of(ten).unwrap();
        assert_eq!((s.median_seconds, s.p90_seconds), (300, 540));
        assert_eq!(Spread::of(vec![42]).unwrap().p90_seconds, 42);
    }

    #[test]
    fn figures_on_a_known_set() {
        let now = at(12, 0);
        let set = vec![
            // Emergencies collected 10:00-10:30, received after 20, 40 and 60 minutes.
            timeline(Priority::Emergency, at(10, 0), Some(20)),
            timeline(Priority::Emergency, at(10, 10), Some(40)),
            timeline(Priority::Emergency, at(10, 30), Some(60)),
            // An emergency not received, collected 11:00: 60 minutes old.
            timeline(Priority::Emergency, at(11, 0), None),
            // Urgents: one received after 90 minutes (09:00 hour), one open for 30 minutes.
            timeline(Priority::Urgent, at(9, 15), Some(90)),
            timeline(Priority::Urgent, at(11, 30), None),
        ];
        let f = figures(&set, now, &OverdueThresholds::default());
        let e = f.to_receipt[&Priority::Emergency];
        assert_eq!((e.count, e.median_seconds, e.p90_seconds), (3, 2400, 3600));
        assert_eq!(f.to_receipt[&Priority::Urgent].median_seconds, 5400);
        // Received is still open (no result yet): all four emergencies are past 30 minutes;
        // of the urgents, the one from 09:15 is, the one from 11:30 (30 minutes) is not.
        assert_eq!(f.overdue_emergency, 4);
        assert_eq!(f.overdue_urgent, 1);
        assert_eq!(f.open[&Status::Received][&Priority::Emergency], 3);
        assert_eq!(f.open[&Status::Logged][&Priority::Urgent], 1);
        let hours: Vec<_> = f
            .to_receipt_by_hour
            .iter()
            .map(|h| (h.hour, h.priority, h.spread.count))
            .collect();
        assert_eq!(
            hours,
            [
                (at(9, 0), Priority::Urgent, 1),
                (at(10, 0), Priority::Emergency, 3),
            ]
        );
        // Logged 09:20, 10:05, 10:15, 10:35, 11:05, 11:35; none final.
        assert_eq!(
            f.backlog_by_hour,
            [
                (at(9, 0), 1),
                (at(10, 0), 4),
                (at(11, 0), 6),
                (at(12, 0), 6)
            ]
        );
    }

    #[test]
    fn a_final_request_leaves_the_backlog_in_the_hour_it_became_final() {
        let mut t = timeline(Priority::Routine, at(8, 0), Some(30));
        t.status = Status::Reentered;
        t.final_at = Some(at(9, 45));
        let f = figures(&[t], at(10, 30), &OverdueThresholds::default());
        assert_eq!(
            f.backlog_by_hour,
            [(at(8, 0), 1), (at(9, 0), 0), (at(10, 0), 0)]
        );
        assert!(f.open.is_empty());
    }
}
