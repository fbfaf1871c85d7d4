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

#[test]
fn stats_list_the_overdue_requests_oldest_first_and_give_receipt_to_phoned_times() {
    let (_dir, mut store) = temp_store();
    let mut emergency = crate::common::draft(1);
    emergency.priority = Some(Priority::Emergency);
    let emergency = emergency
        .validate(
            crate::common::now(),
            &Utc,
            &stopgap::domain::catalogue::Catalogue::default_uk().unwrap(),
        )
        .unwrap();
    // Both collected 10:20 and still open: the emergency only logged, the urgent received at
    // 10:50 with its result phoned at 11:05.
    let collected = Utc.with_ymd_and_hms(2026, 6, 4, 10, 20, 0).unwrap();
    let e = store
        .save_request(&emergency, "Nurse A", collected + Duration::minutes(5))
        .unwrap();
    let urgent = request(2);
    let u = store
        .save_request(&urgent, "Nurse A", collected + Duration::minutes(5))
        .unwrap();
    let received = collected + Duration::minutes(30);
    for t in [Transition::Sent, Transition::Received] {
        store
            .change_status(urgent.uuid, &t, "BMS C", received)
            .unwrap();
    }
    let phoned = stopgap::domain::phoned::PhonedResult {
        test: "FBC".into(),
        summary: "Hb 62 g/L".into(),
        phoned_at: received + Duration::minutes(15),
        phoned_by: "BMS C".into(),
        received_by: "Nurse A".into(),
        read_back: true,
    };
    store
        .record_phoned(
            urgent.uuid,
            &phoned,
            "BMS C",
            received + Duration::minutes(16),
        )
        .unwrap();
    let path = store.path().to_owned();
    drop(store);

    let out = stopgap(&path, &["stats", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["receipt_to_phoned"]["urgent"]["median_seconds"], 900);
    assert_eq!(json["receipt_to_phoned"]["urgent"]["count"], 1);
    let overdue = json["overdue"].as_array().unwrap();
    let listed: Vec<_> = overdue
        .iter()
        .map(|o| (o["downtime_id"].clone(), o["priority"].clone()))
        .collect();
    assert_eq!(
        listed,
        [
            (
                serde_json::to_value(&e.downtime_id).unwrap(),
                "emergency".into()
            ),
            (
                serde_json::to_value(&u.downtime_id).unwrap(),
                "urgent".into()
            ),
        ]
    );
    assert_eq!(overdue[1]["status"], "received");
    assert_eq!(overdue[1]["ward"], "Ward 7");

    let said = text(&stopgap(&path, &["stats"]).stdout);
    assert!(
        said.contains("Overdue: 1 emergency, 1 urgent (oldest first):"),
        "{said}"
    );
    let e_line = said.find(&e.downtime_id.grouped()).unwrap();
    let u_line = said.find(&u.downtime_id.grouped()).unwrap();
    assert!(e_line < u_line, "oldest first, then by ID: {said}");
    assert!(
        said.contains("urgent    15 min / 15 min  (1 phoned)"),
        "{said}"
    );
}
