//! Overdue requests: open emergency and urgent samples collected longer ago than the lab's
//! threshold for their priority. The queue flags them and shows them first.
//!
//! The thresholds are workstation settings (defaults 30 minutes for emergency, 60 for urgent),
//! counted from collection, because the sample starts ageing when it is taken, not when it is
//! logged. Routine requests are never overdue: downtime accepts them only exceptionally and the
//! lab does not chase them.

use chrono::{DateTime, Duration, Utc};

use super::request::Priority;
use super::status::Status;

/// The longest threshold that may be set: a day. Anything longer would never flag a request
/// during a shift.
pub const MAX_THRESHOLD_MINUTES: u32 = 24 * 60;

/// How long after collection an open request of each priority becomes overdue, in minutes.
///
/// Checked by [`OverdueThresholds::check`]: each is from 1 to [`MAX_THRESHOLD_MINUTES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OverdueThresholds {
    pub emergency_minutes: u32,
    pub urgent_minutes: u32,
}

impl Default for OverdueThresholds {
    fn default() -> Self {
        Self {
            emergency_minutes: 30,
            urgent_minutes: 60,
        }
    }
}

/// A threshold outside 1 to [`MAX_THRESHOLD_MINUTES`] minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "the {priority} overdue time must be from 1 to {MAX_THRESHOLD_MINUTES} minutes (24 hours); {minutes} is not: enter a number of minutes in that range"
)]
pub struct OverdueThresholdError {
    pub priority: Priority,
    pub minutes: u32,
}

impl OverdueThresholds {
    /// Checked thresholds.
    pub fn new(emergency_minutes: u32, urgent_minutes: u32) -> Result<Self, OverdueThresholdError> {
        let t = Self {
            emergency_minutes,
            urgent_minutes,
        };
        t.check()?;
        Ok(t)
    }

    /// Refuses a threshold of 0 (everything would be overdue at once) or over a day; the first
    /// problem in priority order is reported.
    pub fn check(&self) -> Result<(), OverdueThresholdError> {
        for (priority, minutes) in [
            (Priority::Emergency, self.emergency_minutes),
            (Priority::Urgent, self.urgent_minutes),
        ] {
            if !(1..=MAX_THRESHOLD_MINUTES).contains(&minutes) {
                return Err(OverdueThresholdError { priority, minutes });
            }
        }
        Ok(())
    }

    /// The time after collection at which an open request of `priority` becomes overdue, or
    /// `None` for a priority that is never overdue.
    pub fn threshold(&self, priority: Priority) -> Option<Duration> {
        let minutes = match priority {
            Priority::Emergency => self.emergency_minutes,
            Priority::Urgent => self.urgent_minutes,
            Priority::Routine => return None,
        };
        Some(Duration::minutes(i64::from(minutes)))
    }
}

/// Whether a request is still open for the lab, that is, not yet resulted.
///
/// Stopgap records no results: a request's work ends when it reaches a final state (re-entered in
/// the LIMS, cancelled or rejected; see [`Status::is_final`]). So logged, sent **and received**
/// requests are open: a sample received in the lab but not yet dealt with is exactly what a lab
/// manager chases. The top bar's open counts use the same rule.
pub fn is_open(status: Status) -> bool {
    !status.is_final()
}

/// How long past its threshold an open emergency or urgent request is, or `None` when it is not
/// overdue (final, routine, or collected no longer ago than the threshold).
///
/// Counted to the millisecond, the precision times are stored with, so that this agrees exactly
/// with the store's query for the overdue block: overdue when `now - collected_at` is strictly
/// more than the threshold.
pub fn overdue_by(
    priority: Priority,
    status: Status,
    collected_at: DateTime<Utc>,
    now: DateTime<Utc>,
    thresholds: &OverdueThresholds,
) -> Option<Duration> {
    if !is_open(status) {
        return None;
    }
    let limit = thresholds.threshold(priority)?;
    let age_ms = now.timestamp_millis() - collected_at.timestamp_millis();
    let over_ms = age_ms - limit.num_milliseconds();
    (over_ms > 0).then(|| Duration::milliseconds(over_ms))
}

/// A duration as staff say it, to the minute, rounded down: "45 min", "1 h 12 min", "2 d 3 h".
///
/// Past a day the minutes are left out; zero parts are left out ("2 h", "3 d"); less than a
/// minute (or a negative duration) is "under 1 min".
pub fn age_words(d: Duration) -> String {
    let minutes = d.num_minutes();
    if minutes < 1 {
        return "under 1 min".to_owned();
    }
    let (days, hours, mins) = (minutes / 1440, minutes % 1440 / 60, minutes % 60);
    match (days, hours, mins) {
        (0, 0, m) => format!("{m} min"),
        (0, h, 0) => format!("{h} h"),
        (0, h, m) => format!("{h} h {m} min"),
        (d, 0, _) => format!("{d} d"),
        (d, h, _) => format!("{d} d {h} h"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::status::ALL_STATUSES;
    use chrono::TimeZone;

    fn collected() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, 4, 10, 0, 0).unwrap()
    }

    fn after(minutes: i64) -> DateTime<Utc> {
        collected() + Duration::minutes(minutes)
    }

    #[test]
    fn defaults_are_30_minutes_for_emergency_and_60_for_urgent() {
        let t = OverdueThresholds::default();
        assert_eq!((t.emergency_minutes, t.urgent_minutes), (30, 60));
        assert_eq!(t.check(), Ok(()));
    }

    #[test]
    fn thresholds_outside_a_minute_to_a_day_are_refused() {
        assert_eq!(
            OverdueThresholds::new(0, 60),
            Err(OverdueThresholdError {
                priority: Priority::Emergency,
                minutes: 0
            })
        );
        assert_eq!(
            OverdueThresholds::new(30, 1441),
            Err(OverdueThresholdError {
                priority: Priority::Urgent,
                minutes: 1441
            })
        );
        assert!(OverdueThresholds::new(1, 1440).is_ok());
        let msg = OverdueThresholds::new(30, 0).unwrap_err().to_string();
        assert!(
            msg.contains("urgent overdue time must be from 1 to 1440 minutes"),
            "{msg}"
        );
    }

    #[test]
    fn an_open_emergency_is_overdue_only_after_its_threshold() {
        let t = OverdueThresholds::default();
        let od = |minutes| {
            overdue_by(
                Priority::Emergency,
                Status::Sent,
                collected(),
                after(minutes),
                &t,
            )
        };
        assert_eq!(od(29), None);
        assert_eq!(od(30), None, "exactly at the threshold is not yet overdue");
        assert_eq!(
            overdue_by(
                Priority::Emergency,
                Status::Sent,
                collected(),
                after(30) + Duration::milliseconds(1),
                &t
            ),
            Some(Duration::milliseconds(1))
        );
        assert_eq!(od(102), Some(Duration::minutes(72)));
    }

    #[test]
    fn urgent_uses_its_own_threshold_and_routine_is_never_overdue() {
        let t = OverdueThresholds::new(10, 45).unwrap();
        let od = |p| overdue_by(p, Status::Logged, collected(), after(50), &t);
        assert_eq!(od(Priority::Emergency), Some(Duration::minutes(40)));
        assert_eq!(od(Priority::Urgent), Some(Duration::minutes(5)));
        assert_eq!(od(Priority::Routine), None);
    }

    #[test]
    fn received_samples_stay_overdue_until_final() {
        let t = OverdueThresholds::default();
        for status in ALL_STATUSES {
            let od = overdue_by(Priority::Urgent, status, collected(), after(600), &t);
            assert_eq!(od.is_some(), is_open(status), "{status}");
        }
        assert!(is_open(Status::Received));
        assert!(!is_open(Status::Reentered));
    }

    #[test]
    fn a_collection_time_in_the_future_is_not_overdue() {
        let t = OverdueThresholds::default();
        let od = overdue_by(
            Priority::Emergency,
            Status::Logged,
            after(5),
            collected(),
            &t,
        );
        assert_eq!(od, None);
    }

    #[test]
    fn ages_read_as_staff_say_them() {
        let check = |d: Duration, expected: &str| assert_eq!(age_words(d), expected, "{d}");
        check(Duration::minutes(72), "1 h 12 min");
        check(Duration::minutes(45), "45 min");
        check(Duration::days(2) + Duration::hours(3), "2 d 3 h");
        check(
            Duration::days(2) + Duration::hours(3) + Duration::minutes(59),
            "2 d 3 h",
        );
        check(Duration::hours(2), "2 h");
        check(Duration::days(3) + Duration::minutes(20), "3 d");
        check(Duration::minutes(1), "1 min");
        check(Duration::seconds(119), "1 min");
        check(Duration::seconds(59), "under 1 min");
        check(Duration::zero(), "under 1 min");
        check(Duration::minutes(-5), "under 1 min");
    }
}
