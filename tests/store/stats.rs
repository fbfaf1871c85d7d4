//! Turnaround figures from a real store, through the library and `stopgap stats --json`, on a
//! set whose answers are known.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on purpose"
)]

use chrono::{Duration, TimeZone, Utc};

use crate::common::cli::{stopgap, text};
use crate::common::{request, temp_store};
use stopgap::domain::overdue::OverdueThresholds;
use stopgap::domain::request::Priority;
use stopgap::domain::status::Transition;
use stopgap::domain::turnaround::figures;

#[test]
fn stats_give_the_known_median_and_90th_percentile_collection_to_receipt() {
    let (_dir, mut store) = temp_store();
    // Four urgents collected 10:20, received after 20, 40, 60 and 120 minutes.
    let collected = Utc.with_ymd_and_hms(2026, 6, 4, 10, 20, 0).unwrap();
    for (n, minutes) in [(1, 20), (2, 40), (3, 60), (4, 120)] {
        let saved = store
            .save_request(&request(n), "Nurse A", collected + Duration::minutes(5))
            .unwrap();
        let uuid = store
            .find_by_downtime_id(&saved.downtime_id)
            .unwrap()
            .unwrap()
            .state
            .request
            .uuid;
        let at = collected + Duration::minutes(minutes);
        store
            .change_status(uuid, &Transition::Sent, "Porter B", at)
            .unwrap();
        store
            .change_status(uuid, &Transition::Received, "BMS C", at)
            .unwrap();
    }
    let now = Utc.with_ymd_and_hms(2026, 6, 4, 13, 0, 0).unwrap();
    let f = figures(
        &store.timelines(None).unwrap(),
        now,
        &OverdueThresholds::default(),
    );
    let u = f.to_receipt[&Priority::Urgent];
    assert_eq!(
        (u.count, u.median_seconds, u.p90_seconds),
        (4, 40 * 60, 120 * 60)
    );
    assert_eq!(
        f.overdue_urgent, 4,
        "received but not resulted, all past 60 minutes"
    );
    assert!(store.timelines(Some("AMU")).unwrap().is_empty());

    let path = store.path().to_owned();
    drop(store);
    let out = stopgap(&path, &["stats", "--json", "--ward", "Ward 7"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["to_receipt"]["urgent"]["median_seconds"], 2400);
    assert_eq!(json["to_receipt"]["urgent"]["p90_seconds"], 7200);
    assert_eq!(json["open"]["received"]["urgent"], 4);
    let out = stopgap(&path, &["stats"]);
    let said = text(&out.stdout);
    assert!(
        said.contains("urgent    40 min / 120 min  (4 received)"),
        "{said}"
    );
}
