use std::sync::atomic::{AtomicU32, Ordering};

use chrono::TimeZone;

use super::*;
use crate::domain::downtime_id::Code3;

fn at(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 4, h, m, 0).unwrap()
}

/// A new downtime ID for each timeline.
fn id() -> DowntimeId {
    static NEXT: AtomicU32 = AtomicU32::new(1);
    let sequence = NEXT.fetch_add(3, Ordering::Relaxed);
    let site = Code3::site("RXX").unwrap();
    let workstation = Code3::workstation("W07").unwrap();
    let sequence = DowntimeId::next_issuable(&site, &workstation, sequence).unwrap();
    DowntimeId::new(site, workstation, sequence).unwrap()
}

fn timeline(priority: Priority, collected: DateTime<Utc>, received: Option<u32>) -> Timeline {
    Timeline {
        uuid: Uuid::new_v4(),
        downtime_id: id(),
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
        phoned_at: None,
        final_at: None,
    }
}

/// `t` with its first result phoned `minutes` after its receipt.
fn phoned(mut t: Timeline, minutes: i64) -> Timeline {
    t.phoned_at = t.received_at.map(|r| r + Duration::minutes(minutes));
    t
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
    assert!(f.receipt_to_phoned.is_empty(), "nothing phoned yet");
}

#[test]
fn the_overdue_emergencies_and_urgents_are_listed_oldest_first_with_how_far_over() {
    let now = at(12, 0);
    let mut routine = timeline(Priority::Routine, at(6, 0), None);
    routine.ward = "Ward 7".into();
    let mut done = timeline(Priority::Emergency, at(7, 0), Some(10));
    done.status = Status::Reentered;
    let set = vec![
        timeline(Priority::Urgent, at(10, 30), None),
        timeline(Priority::Emergency, at(11, 0), Some(20)),
        timeline(Priority::Urgent, at(9, 15), Some(90)),
        // Not overdue: routine work has no threshold, a final request is done, an urgent
        // collected 11:30 is 30 minutes old.
        routine,
        done,
        timeline(Priority::Urgent, at(11, 30), None),
    ];
    let f = figures(&set, now, &OverdueThresholds::default());
    let listed: Vec<_> = f
        .overdue
        .iter()
        .map(|o| (o.collected_at, o.priority, o.status, o.overdue_by_seconds))
        .collect();
    assert_eq!(
        listed,
        [
            // 09:15 urgent: 165 minutes old, 60 allowed.
            (at(9, 15), Priority::Urgent, Status::Received, 105 * 60),
            // 10:30 urgent: 90 minutes old.
            (at(10, 30), Priority::Urgent, Status::Logged, 30 * 60),
            // 11:00 emergency: 60 minutes old, 30 allowed.
            (at(11, 0), Priority::Emergency, Status::Received, 30 * 60),
        ]
    );
    assert_eq!(f.overdue[0].downtime_id, set[2].downtime_id);
    assert_eq!(f.overdue[0].uuid, set[2].uuid);
    assert_eq!(f.overdue[0].ward, "AMU");
    assert_eq!((f.overdue_emergency, f.overdue_urgent), (1, 2));

    // The thresholds are the settings', not fixed: at 120 minutes for urgents, only the 09:15
    // one is over, by 45 minutes.
    let f = figures(&set, now, &OverdueThresholds::new(30, 120).unwrap());
    let urgent: Vec<_> = f
        .overdue
        .iter()
        .filter(|o| o.priority == Priority::Urgent)
        .map(|o| o.overdue_by_seconds)
        .collect();
    assert_eq!(urgent, [45 * 60]);
}

#[test]
fn receipt_to_phoned_has_the_known_median_and_90th_percentile_per_priority_and_hour_of_receipt() {
    let now = at(14, 0);
    let set = vec![
        // Emergencies received 10:20, 10:50, 11:30 (the first two in the 10:00 hour), the first
        // result phoned 15, 5 and 25 minutes after receipt.
        phoned(timeline(Priority::Emergency, at(10, 0), Some(20)), 15),
        phoned(timeline(Priority::Emergency, at(10, 10), Some(40)), 5),
        phoned(timeline(Priority::Emergency, at(10, 30), Some(60)), 25),
        // Received, nothing phoned yet: in collection-to-receipt, not in receipt-to-phoned.
        timeline(Priority::Emergency, at(10, 40), Some(30)),
        // Urgents received in the 12:00 hour, phoned after 10, 20, 30, 40, 50, 60, 70, 80,
        // 90 and 100 minutes: median the 5th (50), 90th percentile the 9th (90).
        phoned(timeline(Priority::Urgent, at(11, 0), Some(70)), 10),
        phoned(timeline(Priority::Urgent, at(11, 0), Some(70)), 20),
        phoned(timeline(Priority::Urgent, at(11, 0), Some(70)), 30),
        phoned(timeline(Priority::Urgent, at(11, 0), Some(70)), 40),
        phoned(timeline(Priority::Urgent, at(11, 0), Some(70)), 50),
        phoned(timeline(Priority::Urgent, at(11, 0), Some(70)), 60),
        phoned(timeline(Priority::Urgent, at(11, 0), Some(70)), 70),
        phoned(timeline(Priority::Urgent, at(11, 0), Some(70)), 80),
        phoned(timeline(Priority::Urgent, at(11, 0), Some(70)), 90),
        phoned(timeline(Priority::Urgent, at(11, 0), Some(70)), 100),
        // Phoned (as typed) two minutes before the scan was recorded: counted as at once.
        phoned(timeline(Priority::Routine, at(9, 0), Some(30)), -2),
    ];
    let f = figures(&set, now, &OverdueThresholds::default());
    let e = f.receipt_to_phoned[&Priority::Emergency];
    // 5, 15, 25 minutes: median 15, 90th percentile 25.
    assert_eq!(
        (e.count, e.median_seconds, e.p90_seconds),
        (3, 15 * 60, 25 * 60)
    );
    let u = f.receipt_to_phoned[&Priority::Urgent];
    assert_eq!(
        (u.count, u.median_seconds, u.p90_seconds),
        (10, 50 * 60, 90 * 60)
    );
    assert_eq!(f.receipt_to_phoned[&Priority::Routine].p90_seconds, 0);
    // Collection to receipt still counts the emergency with nothing phoned.
    assert_eq!(f.to_receipt[&Priority::Emergency].count, 4);
    let hours: Vec<_> = f
        .receipt_to_phoned_by_hour
        .iter()
        .map(|h| {
            (
                h.hour,
                h.priority,
                h.spread.count,
                h.spread.median_seconds / 60,
                h.spread.p90_seconds / 60,
            )
        })
        .collect();
    assert_eq!(
        hours,
        [
            (at(9, 0), Priority::Routine, 1, 0, 0),
            // 15 and 5 minutes: nearest rank gives 5 as the median of two.
            (at(10, 0), Priority::Emergency, 2, 5, 15),
            (at(11, 0), Priority::Emergency, 1, 25, 25),
            (at(12, 0), Priority::Urgent, 10, 50, 90),
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
    assert!(f.overdue.is_empty());
}

#[test]
fn the_backlog_covers_at_most_the_last_month_counting_what_was_open_before_it() {
    let old = timeline(Priority::Routine, at(8, 0), None);
    let now = at(8, 0) + Duration::days(60);
    let f = figures(&[old], now, &OverdueThresholds::default());
    assert_eq!(f.backlog_by_hour.len(), 24 * 31);
    assert_eq!(f.backlog_by_hour.last(), Some(&(now, 1)));
    assert!(f.backlog_by_hour.iter().all(|(_, n)| *n == 1));
}

#[test]
fn no_requests_give_no_figures_rather_than_zeros() {
    let f = figures(&[], at(12, 0), &OverdueThresholds::default());
    assert!(f.open.is_empty() && f.overdue.is_empty() && f.backlog_by_hour.is_empty());
    assert!(f.to_receipt.is_empty() && f.receipt_to_phoned_by_hour.is_empty());
}

#[test]
fn a_time_the_store_moved_on_by_a_millisecond_keeps_its_whole_minutes() {
    // The store dates a change at least a millisecond after the one before it.
    let mut t = timeline(Priority::Urgent, at(10, 0), Some(20));
    t.received_at = t.received_at.map(|r| r + Duration::milliseconds(1));
    let t = phoned(t, 15);
    let mut early = timeline(Priority::Urgent, at(10, 0), Some(20));
    early.phoned_at = early.received_at.map(|r| r + Duration::minutes(15));
    early.received_at = early.received_at.map(|r| r + Duration::milliseconds(1));
    let f = figures(&[t, early], at(12, 0), &OverdueThresholds::default());
    let r = f.to_receipt[&Priority::Urgent];
    assert_eq!((r.median_seconds, r.p90_seconds), (20 * 60, 20 * 60));
    let p = f.receipt_to_phoned[&Priority::Urgent];
    assert_eq!((p.median_seconds, p.p90_seconds), (15 * 60, 15 * 60));
}
