//! Turnaround and backlog figures: what a lab manager watches during a downtime. Pure: given each
//! request's timeline (from its events) and the clock, the same figures in the app's dashboard
//! and `stopgap stats`.
//!
//! - open requests by status and priority, and the overdue emergencies and urgents (thresholds
//!   from the settings, as the queue's overdue block), counted and listed oldest first;
//! - collection-to-receipt times per priority: count, median and 90th percentile, overall and
//!   per hour of collection;
//! - receipt-to-phoned times (receipt to the first result phoned to the ward) per priority, overall
//!   and per hour of receipt;
//! - the backlog (requests logged but not yet final) at each hour.
//!
//! Percentiles are by nearest rank on whole seconds: the median of 1, 2, 3, 4 minutes is 2
//! minutes, the 90th percentile of ten values the ninth; no interpolation, so every figure is a
//! time some sample really took. Hours are UTC hours; a screen shows them in local time.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, DurationRound, Utc};
use uuid::Uuid;

use super::downtime_id::DowntimeId;
use super::overdue::{OverdueThresholds, overdue_by};
use super::request::Priority;
use super::status::Status;

/// One request's times, from its events.
#[derive(Debug, Clone, PartialEq)]
pub struct Timeline {
    pub uuid: Uuid,
    pub downtime_id: DowntimeId,
    pub priority: Priority,
    /// Shared between the requests of one ward: a million requests name a few dozen wards.
    pub ward: Arc<str>,
    pub status: Status,
    pub collected_at: DateTime<Utc>,
    /// When it was saved (logged).
    pub created_at: DateTime<Utc>,
    pub received_at: Option<DateTime<Utc>>,
    /// When the first result was phoned to the ward, as the person who phoned it recorded.
    pub phoned_at: Option<DateTime<Utc>>,
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

/// The spread of one priority in one hour: of collection for collection-to-receipt, of receipt
/// for receipt-to-phoned.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct HourSpread {
    pub hour: DateTime<Utc>,
    pub priority: Priority,
    pub spread: Spread,
}

/// An open emergency or urgent past its threshold: what the lab chases first.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct OverdueRequest {
    pub uuid: Uuid,
    pub downtime_id: DowntimeId,
    pub ward: String,
    pub priority: Priority,
    pub status: Status,
    pub collected_at: DateTime<Utc>,
    /// How far past its threshold it is, in whole seconds.
    pub overdue_by_seconds: i64,
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
    /// The same requests, oldest collection first.
    pub overdue: Vec<OverdueRequest>,
    /// Collection to receipt, per priority, over every received request.
    pub to_receipt: BTreeMap<Priority, Spread>,
    /// The same per hour of collection (UTC hours), oldest first.
    pub to_receipt_by_hour: Vec<HourSpread>,
    /// Receipt to the first phoned result, per priority, over every request with both.
    pub receipt_to_phoned: BTreeMap<Priority, Spread>,
    /// The same per hour of receipt (UTC hours), oldest first.
    pub receipt_to_phoned_by_hour: Vec<HourSpread>,
    /// Requests logged and not yet final at the end of each hour, from the first request's
    /// hour to now.
    pub backlog_by_hour: Vec<(DateTime<Utc>, u64)>,
}

/// Whole seconds from `from` to `to`, to the nearest: an event the store dated a millisecond
/// after the one before it (to keep their order) must not lose a whole second.
fn seconds_between(from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
    ((to - from).num_milliseconds() + 500).div_euclid(1000)
}

fn hour_of(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(Duration::hours(1)).unwrap_or(t)
}

/// Durations gathered per priority and per (hour, priority), turned into spreads at the end.
#[derive(Default)]
struct Gathered {
    overall: BTreeMap<Priority, Vec<i64>>,
    by_hour: BTreeMap<(DateTime<Utc>, Priority), Vec<i64>>,
}

impl Gathered {
    fn add(&mut self, priority: Priority, hour: DateTime<Utc>, seconds: i64) {
        self.overall.entry(priority).or_default().push(seconds);
        self.by_hour
            .entry((hour_of(hour), priority))
            .or_default()
            .push(seconds);
    }

    fn spreads(self) -> (BTreeMap<Priority, Spread>, Vec<HourSpread>) {
        let overall = self
            .overall
            .into_iter()
            .filter_map(|(p, s)| Spread::of(s).map(|s| (p, s)))
            .collect();
        let by_hour = self
            .by_hour
            .into_iter()
            .filter_map(|((hour, priority), s)| {
                Spread::of(s).map(|spread| HourSpread {
                    hour,
                    priority,
                    spread,
                })
            })
            .collect();
        (overall, by_hour)
    }
}

/// The figures for `timelines` at `now`.
pub fn figures(
    timelines: &[Timeline],
    now: DateTime<Utc>,
    thresholds: &OverdueThresholds,
) -> Figures {
    let mut open: BTreeMap<Status, BTreeMap<Priority, u64>> = BTreeMap::new();
    let mut overdue = Vec::new();
    let mut to_receipt = Gathered::default();
    let mut to_phoned = Gathered::default();
    for t in timelines {
        if matches!(t.status, Status::Logged | Status::Sent | Status::Received) {
            *open
                .entry(t.status)
                .or_default()
                .entry(t.priority)
                .or_default() += 1;
        }
        if let Some(by) = overdue_by(t.priority, t.status, t.collected_at, now, thresholds) {
            overdue.push(OverdueRequest {
                uuid: t.uuid,
                downtime_id: t.downtime_id.clone(),
                ward: t.ward.to_string(),
                priority: t.priority,
                status: t.status,
                collected_at: t.collected_at,
                overdue_by_seconds: by.num_seconds(),
            });
        }
        if let Some(received) = t.received_at {
            let seconds = seconds_between(t.collected_at, received);
            to_receipt.add(t.priority, t.collected_at, seconds);
            if let Some(phoned) = t.phoned_at {
                // The phoned-at time is typed by hand and may be a minute before the scan was
                // recorded; that is "at once", not a negative wait.
                let seconds = seconds_between(received, phoned).max(0);
                to_phoned.add(t.priority, received, seconds);
            }
        }
    }
    overdue.sort_by(|a, b| (a.collected_at, &a.downtime_id).cmp(&(b.collected_at, &b.downtime_id)));
    let count = |p: Priority| overdue.iter().filter(|o| o.priority == p).count() as u64;
    let (to_receipt, to_receipt_by_hour) = to_receipt.spreads();
    let (receipt_to_phoned, receipt_to_phoned_by_hour) = to_phoned.spreads();
    Figures {
        at: now,
        open,
        overdue_emergency: count(Priority::Emergency),
        overdue_urgent: count(Priority::Urgent),
        overdue,
        to_receipt,
        to_receipt_by_hour,
        receipt_to_phoned,
        receipt_to_phoned_by_hour,
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
    // At most a month of hours, the latest: a clock far off, or one old request, must not make
    // millions of points or hide today behind last month.
    let earliest = hour_of(now) - Duration::hours(24 * 31 - 1);
    let mut hour = hour_of(first).max(earliest);
    while let Some((_, delta)) = pending.next_if(|(at, _)| *at < hour) {
        open += delta;
    }
    loop {
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
mod tests;
