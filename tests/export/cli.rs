//! The re-entry commands run as a user would: export, batches, re-run, reconcile, close-out.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on purpose"
)]

use std::path::Path;

use crate::common::cli::{stopgap, text};

fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn export_every_format_reconcile_and_close_out() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let o = stopgap(&db, &["demo", "--count", "200"]);
    assert!(o.status.success(), "{}", text(&o.stderr));

    for (i, format) in ["csv", "hl7-oml", "hl7-orm", "fhir"].iter().enumerate() {
        let mut args = vec!["export", "--plaintext", "--format", format, "--out"];
        let out = out_dir.to_str().unwrap();
        args.push(out);
        args.push("--all");
        let o = stopgap(&db, &args);
        assert!(o.status.success(), "{format}: {}", text(&o.stderr));
        assert!(text(&o.stdout).contains(&format!("TRN-DEM-B00000{}", i + 1)));
    }
    assert_eq!(
        files_in(&out_dir),
        [
            "stopgap-TRN-DEM-B000001-csv.csv",
            "stopgap-TRN-DEM-B000002-hl7-oml.hl7",
            "stopgap-TRN-DEM-B000003-hl7-orm.hl7",
            "stopgap-TRN-DEM-B000004-fhir.json",
        ],
        "automatic names, no patient data, no temporary files left"
    );
    let o = stopgap(&db, &["batches"]);
    assert!(
        text(&o.stdout).contains("4 batch(es)."),
        "{}",
        text(&o.stdout)
    );

    // A second export with nothing left to export writes nothing.
    let o = stopgap(
        &db,
        &[
            "export",
            "--plaintext",
            "--format",
            "csv",
            "--out",
            out_dir.to_str().unwrap(),
        ],
    );
    assert!(o.status.success());
    assert!(text(&o.stdout).contains("nothing was exported"));

    // An existing file is never overwritten silently.
    let csv_path = out_dir.join("stopgap-TRN-DEM-B000001-csv.csv");
    let before = std::fs::read(&csv_path).unwrap();
    let o = stopgap(
        &db,
        &[
            "export",
            "--plaintext",
            "--rerun",
            "1",
            "--out",
            out_dir.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("already exists"));
    assert_eq!(std::fs::read(&csv_path).unwrap(), before);
    assert_eq!(files_in(&out_dir).len(), 4);

    // A re-run elsewhere reproduces the bytes.
    let again = dir.path().join("again.csv");
    let o = stopgap(
        &db,
        &[
            "export",
            "--plaintext",
            "--rerun",
            "B000001",
            "--out",
            again.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(std::fs::read(&again).unwrap(), before);

    // The lab's accessions for every open request, from the exported CSV.
    let mut reader = csv::Reader::from_path(&csv_path).unwrap();
    let headers = reader.headers().unwrap().clone();
    let id_col = headers.iter().position(|h| h == "downtime_id").unwrap();
    let status_col = headers.iter().position(|h| h == "status").unwrap();
    let mut rec = String::from("downtime_id,accession\n");
    for (i, r) in reader.records().enumerate() {
        let r = r.unwrap();
        if ["logged", "sent", "received"].contains(&&r[status_col]) {
            rec.push_str(&format!("{},L26.{i:06}\n", &r[id_col]));
        }
    }
    let o = stopgap(
        &db,
        &[
            "close-out",
            "--plaintext",
            "--out",
            dir.path().join("before.pdf").to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(text(&o.stdout).starts_with("NOT COMPLETE"));

    // A bad file is refused with its row numbers, and changes nothing.
    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        "downtime_id,accession\nTRN-DEM-000001-A,L1\nTRN-DEM-000002-Y,bad|acc\n",
    )
    .unwrap();
    let o = stopgap(&db, &["reconcile", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let said = text(&o.stdout);
    assert!(
        said.contains("Refused") && said.contains("row 2:") && said.contains("row 3:"),
        "{said}"
    );

    let good = dir.path().join("good.csv");
    std::fs::write(&good, &rec).unwrap();
    let o = stopgap(&db, &["reconcile", good.to_str().unwrap()]);
    assert!(o.status.success(), "{}{}", text(&o.stdout), text(&o.stderr));
    let o = stopgap(&db, &["reconcile", good.to_str().unwrap()]);
    assert!(text(&o.stdout).contains("Recorded 0 re-entries"));

    let report = dir.path().join("closeout.csv");
    let o = stopgap(
        &db,
        &[
            "close-out",
            "--plaintext",
            "--out",
            report.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stdout));
    assert!(text(&o.stdout).starts_with("COMPLETE"));
    assert!(
        std::fs::read_to_string(&report)
            .unwrap()
            .contains(",cancelled,yes,")
    );
    let o = stopgap(&db, &["verify"]);
    assert!(o.status.success(), "{}", text(&o.stdout));
}

#[test]
fn a_test_without_a_mapping_stops_the_export_before_any_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let o = stopgap(&db, &["demo", "--count", "50"]);
    assert!(o.status.success());
    let profile = stopgap::export::Profile::default_profile().to_toml();
    // Drop every mapping but the first.
    let mut kept = String::new();
    for (i, block) in profile.split("[[test]]").take(2).enumerate() {
        if i > 0 {
            kept.push_str("[[test]]");
        }
        kept.push_str(block);
    }
    let profile_path = dir.path().join("lims.toml");
    std::fs::write(&profile_path, kept).unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let o = stopgap(
        &db,
        &[
            "export",
            "--plaintext",
            "--format",
            "hl7-oml",
            "--profile",
            profile_path.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("has no LIMS code"),
        "{}",
        text(&o.stderr)
    );
    assert!(files_in(&out).is_empty());
    let o = stopgap(&db, &["batches"]);
    assert!(text(&o.stdout).contains("0 batch(es)."));
}
