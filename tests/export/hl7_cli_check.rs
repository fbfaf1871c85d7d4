//! `stopgap export --check` run as a user would: the demo set passes for every HL7 and FHIR
//! format with no finding and nothing written; a request a strict receiver would refuse is
//! listed by downtime ID and field, with exit code 1.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on purpose"
)]

use crate::common::cli::{stopgap, text};

#[test]
fn export_check_passes_the_demo_set_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let o = stopgap(&db, &["demo", "--count", "120"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    for format in ["hl7-oml", "hl7-orm", "fhir"] {
        let o = stopgap(&db, &["export", "--check", "--format", format, "--all"]);
        let said = text(&o.stdout);
        assert!(o.status.success(), "{format}: {said}{}", text(&o.stderr));
        assert!(said.contains("no finding"), "{said}");
    }
    let o = stopgap(&db, &["batches"]);
    assert!(o.status.success());
    assert!(
        !text(&o.stdout).contains("B000001"),
        "a check records no batch: {}",
        text(&o.stdout)
    );
    let files: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with("t.db"))
        .collect();
    assert!(files.is_empty(), "nothing written: {files:?}");
}

#[test]
fn export_check_lists_a_mapping_the_receiver_would_refuse() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let o = stopgap(&db, &["demo", "--count", "20"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    // A profile whose ward code is longer than PL.1 allows (20).
    let profile = stopgap::export::Profile::default_profile();
    let mut toml = profile.to_toml();
    for ward in stopgap::demo::ward_names() {
        toml.push_str(&format!(
            "\n[[hl7.ward]]\nname = \"{ward}\"\ncode = \"{}\"\n",
            "W".repeat(21)
        ));
    }
    let path = dir.path().join("profile.toml");
    std::fs::write(&path, toml).unwrap();
    let o = stopgap(
        &db,
        &[
            "export",
            "--check",
            "--format",
            "hl7-orm",
            "--all",
            "--profile",
            path.to_str().unwrap(),
        ],
    );
    let said = text(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{said}{}", text(&o.stderr));
    assert!(said.contains("PV1-3.1"), "{said}");
    assert!(said.contains("request TRN-DEM-"), "{said}");
}
