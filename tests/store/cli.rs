//! The `stopgap` binary's commands, run as a user would.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on purpose"
)]

use crate::common::cli::{stopgap, text};

use stopgap::domain::downtime_id::DowntimeId;
use stopgap::domain::nhs_number::NhsNumber;

#[test]
fn demo_then_list_json_then_verify() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let out = stopgap(&db, &["demo", "--count", "1000"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("Added 1000 training requests"));

    let out = stopgap(&db, &["list", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let items: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(items.len(), 1000);
    let mut ids = std::collections::HashSet::new();
    let mut statuses = std::collections::HashSet::new();
    for item in &items {
        let id = item["downtime_id"].as_str().unwrap();
        DowntimeId::parse(id).unwrap();
        assert!(ids.insert(id.to_owned()), "duplicate {id}");
        uuid::Uuid::parse_str(item["uuid"].as_str().unwrap()).unwrap();
        let status = item["status"].as_str().unwrap();
        assert!(
            [
                "logged",
                "sent",
                "received",
                "reentered",
                "cancelled",
                "rejected"
            ]
            .contains(&status)
        );
        statuses.insert(status.to_owned());
        assert!(["emergency", "urgent", "routine"].contains(&item["priority"].as_str().unwrap()));
        assert!(item["surname"].as_str().is_some());
        assert!(item["forename"].as_str().is_some());
        assert!(item["ward"].as_str().is_some_and(|w| !w.is_empty()));
        if let Some(n) = item["nhs_number"].as_str() {
            let n = NhsNumber::parse(n).unwrap();
            assert!(
                n.is_test_range(),
                "demo data must use test-range NHS numbers"
            );
        }
        let identified = item["nhs_number"].is_string()
            || item["mrn"].is_string()
            || item["emergency_number"].is_string();
        assert!(identified);
        if item["emergency_number"].is_null() {
            assert!(item["dob"].is_string());
        }
        assert!(item.get("mrn").is_some() && item.get("dob").is_some());
        let tests = item["tests"].as_array().unwrap();
        assert!(!tests.is_empty() && tests.iter().all(|t| t.is_string()));
        chrono::DateTime::parse_from_rfc3339(item["collected_at"].as_str().unwrap()).unwrap();
    }
    assert_eq!(
        statuses.len(),
        6,
        "demo data covers every status: {statuses:?}"
    );

    let out = stopgap(&db, &["list", "--status", "cancelled", "--json"]);
    let cancelled: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert!(!cancelled.is_empty());
    assert!(
        cancelled
            .iter()
            .all(|i| i["status"] == "cancelled" && i["reason"].is_string())
    );

    let out = stopgap(&db, &["list"]);
    assert!(out.status.success());
    assert!(text(&out.stdout).contains("1000 request(s)."));

    let out = stopgap(&db, &["verify"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("Sound"));
}

#[test]
fn verify_reports_problems_with_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    assert!(stopgap(&db, &["demo", "--count", "20"]).status.success());
    let c = crate::common::raw(&db);
    c.execute_batch("UPDATE id_sequence SET last = last + 5")
        .unwrap();
    drop(c);
    let out = stopgap(&db, &["verify"]);
    assert_eq!(out.status.code(), Some(1));
    let report = text(&out.stdout);
    assert!(report.contains("PROBLEMS FOUND"), "{report}");
    assert!(report.contains("issued but have no request"), "{report}");
}

#[test]
fn bad_arguments_get_clear_messages_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let out = stopgap(&db, &["list", "--status", "done"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("unknown status 'done'"),
        "{}",
        text(&out.stderr)
    );

    let out = stopgap(&db, &["demo", "--count", "0"]);
    assert!(!out.status.success());
    assert!(
        !db.exists(),
        "a refused command must not create the database"
    );

    let out = stopgap(&db, &["setup", "--site", "TOOLONG", "--workstation", "W01"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("Site code must be exactly 3"),
        "{}",
        text(&out.stderr)
    );

    let out = stopgap(&dir.path().join("missing").join("t.db"), &["list"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("does not exist"),
        "{}",
        text(&out.stderr)
    );

    let out = stopgap(dir.path(), &["list"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("is a folder"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_damaged_database_is_refused_with_an_explanation() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("junk.db");
    // A database with its key file, then damaged: the password opens its key slot, and the key
    // does not open the file.
    assert!(stopgap(&db, &["demo", "--count", "1"]).status.success());
    std::fs::write(&db, vec![0x42u8; 8192]).unwrap();
    let out = stopgap(&db, &["list"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("damaged"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        std::fs::read(&db).unwrap(),
        vec![0x42u8; 8192],
        "the file was left as it was"
    );
}
