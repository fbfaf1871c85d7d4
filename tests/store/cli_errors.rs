//! A failing command says what failed and why on one line, each cause once: the real binary on
//! damaged databases, bad reconciliation files and export profiles that cannot be used.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on purpose"
)]

use std::path::Path;
use std::process::Output;

use crate::common::cli::stopgap;

/// The error line of a command that failed (exit 2), without the "stopgap: error: " it starts
/// with, after checking that no sentence or clause in it is said twice.
fn error_said_once(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let message = stderr
        .strip_prefix("stopgap: error: ")
        .unwrap_or_else(|| panic!("no error line: {stderr}"))
        .trim_end();
    assert_eq!(stderr.matches("stopgap: error:").count(), 1, "{stderr}");
    // Clauses are what the chain joins with ": " and what messages join with "; " or ". ".
    // Short ones ("row 1") may well come back in another clause; longer ones must not.
    let clauses = message
        .split([':', ';', '.'])
        .map(str::trim)
        .filter(|c| c.len() >= 12);
    for clause in clauses {
        assert_eq!(
            message.matches(clause).count(),
            1,
            "{clause:?} is said more than once in: {message}"
        );
    }
    message.to_owned()
}

/// A database that has been through `demo`, so commands after it have requests to work on.
fn demo_db(dir: &Path) -> std::path::PathBuf {
    demo_db_named(dir, "t.db")
}

fn demo_db_named(dir: &Path, name: &str) -> std::path::PathBuf {
    let db = dir.join(name);
    let out = stopgap(&db, &["demo", "--count", "3"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    db
}

#[test]
fn verify_on_a_file_that_is_not_a_database_names_it_once() {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in [
        ("garbage.db", b"garbage, not a database\n".repeat(400)),
        ("zeros.db", vec![0u8; 8192]),
    ] {
        // A database whose file was then overwritten: its key file still opens a slot.
        let db = demo_db_named(dir.path(), name);
        std::fs::write(&db, &bytes).unwrap();
        let message = error_said_once(&stopgap(&db, &["verify"]));
        assert!(message.contains("is damaged or was altered"), "{message}");
        assert_eq!(
            message.matches(&db.display().to_string()).count(),
            1,
            "{message}"
        );
        assert_eq!(
            std::fs::read(&db).unwrap(),
            bytes,
            "the file was left alone"
        );
    }
}

#[test]
fn reconcile_with_a_bad_file_says_what_is_wrong_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo_db(dir.path());

    let missing = dir.path().join("missing.csv");
    let message = error_said_once(&stopgap(&db, &["reconcile", missing.to_str().unwrap()]));
    assert!(
        message.ends_with("missing.csv does not exist: check the path"),
        "{message}"
    );

    let no_header = dir.path().join("no-header.csv");
    std::fs::write(&no_header, "id,lims\nTRN-DEM-000001-Q,L1\n").unwrap();
    let message = error_said_once(&stopgap(&db, &["reconcile", no_header.to_str().unwrap()]));
    assert!(message.contains("no 'downtime_id' column"), "{message}");

    // Latin-1 "é", as a spreadsheet saving "CSV" rather than "CSV UTF-8" writes it.
    let latin1 = dir.path().join("latin1.csv");
    std::fs::write(
        &latin1,
        b"downtime_id,accession,entered_by\nX,L1,Ren\xe9e\n",
    )
    .unwrap();
    let message = error_said_once(&stopgap(&db, &["reconcile", latin1.to_str().unwrap()]));
    assert!(
        message.contains("row 2 is not UTF-8 text: save the file as \"CSV UTF-8\""),
        "{message}"
    );
}

#[test]
fn import_of_a_file_that_is_not_utf8_says_so_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo_db(dir.path());
    let file = dir.path().join("typed.csv");
    // Every column the header needs, then a row with a Latin-1 surname ("Lévêque").
    let mut columns = stopgap::import::REQUIRED_COLUMNS.to_vec();
    columns.push("nhs_number");
    let mut bytes = format!("{}\n", columns.join(",")).into_bytes();
    bytes.extend_from_slice(b"L\xe9v\xeaque\n");
    std::fs::write(&file, bytes).unwrap();
    let message = error_said_once(&stopgap(&db, &["import", file.to_str().unwrap()]));
    assert!(message.contains("row 2 is not UTF-8 text"), "{message}");
}

#[test]
fn export_with_a_profile_that_cannot_be_used_says_why_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo_db(dir.path());
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let export = |profile: &Path| {
        stopgap(
            &db,
            &[
                "export",
                "--plaintext",
                "--format",
                "hl7-oml",
                "--profile",
                profile.to_str().unwrap(),
                "--out",
                out_dir.to_str().unwrap(),
            ],
        )
    };

    let message = error_said_once(&export(&dir.path().join("no-such-profile.toml")));
    assert!(
        message.starts_with("could not read the export profile: ")
            && message.ends_with("no-such-profile.toml does not exist: check the path"),
        "{message}"
    );
    let not_toml = dir.path().join("not-toml.toml");
    std::fs::write(&not_toml, "name = \n").unwrap();
    let message = error_said_once(&export(&not_toml));
    assert!(message.contains("not valid profile TOML"), "{message}");
    assert_eq!(message.matches("export profile").count(), 1, "{message}");

    assert!(
        std::fs::read_dir(&out_dir).unwrap().next().is_none(),
        "nothing was exported"
    );
}

#[test]
fn export_to_a_name_windows_refuses_says_it_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo_db(dir.path());
    let target = dir.path().join("nul.csv");
    let out = stopgap(
        &db,
        &[
            "export",
            "--plaintext",
            "--format",
            "csv",
            "--out",
            target.to_str().unwrap(),
        ],
    );
    let message = error_said_once(&out);
    assert!(message.contains("reserved on Windows"), "{message}");
    assert!(!target.exists());
}
