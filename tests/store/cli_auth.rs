//! The command line signs in: `--user STAFF_ID` (or `STOPGAP_USER`) with the password from
//! `STOPGAP_PASSWORD`, the store's roles applied to every command, a plain database refused
//! until `stopgap encrypt`, accounts managed with `stopgap users`, and `stopgap demo`'s
//! documented demo manager.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on purpose"
)]

use std::path::{Path, PathBuf};
use std::process::Output;

use stopgap::store::{FileKind, Store, file_kind, schema};

use crate::common::cli::{NAME, PASSWORD, USER, command, stopgap, stopgap_as, text};
use crate::common::{now, request, setup};

const NURSE_PASSWORD: &str = "copper kettle under moss";

/// A training database made by `stopgap demo` (the demo manager is the test manager).
fn demo_db(dir: &Path) -> PathBuf {
    let db = dir.join("t.db");
    let out = stopgap(&db, &["demo", "--count", "3"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    db
}

/// The error line of a command that must fail with exit code 2.
fn refused(out: &Output) -> String {
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}{}", text(&out.stdout));
    assert_eq!(stderr.matches("stopgap: error:").count(), 1, "{stderr}");
    stderr
}

/// `users add N1001 --name "Ann Nurse" --role ROLE`, the password given as automation gives it.
fn add_nurse(db: &Path, role: &str) -> Output {
    command(db)
        .env("STOPGAP_NEW_PASSWORD", NURSE_PASSWORD)
        .args([
            "users",
            "add",
            "n1001",
            "--name",
            "Ann Nurse",
            "--role",
            role,
        ])
        .output()
        .unwrap()
}

#[test]
fn a_wrong_password_is_refused_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo_db(dir.path());
    let said = refused(&stopgap_as(&db, USER, "not the password at all", &["list"]));
    assert!(said.contains("wrong password for DEMO"), "{said}");
}

#[test]
fn an_unknown_staff_id_is_refused_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo_db(dir.path());
    let said = refused(&stopgap_as(&db, "Z9999", PASSWORD, &["list"]));
    assert!(said.contains("there is no account Z9999"), "{said}");
}

#[test]
fn without_user_a_command_says_to_give_user_or_stopgap_user() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo_db(dir.path());
    let out = command(&db)
        .env_remove("STOPGAP_USER")
        .arg("list")
        .output()
        .unwrap();
    let said = refused(&out);
    assert!(
        said.contains("--user STAFF_ID") && said.contains("STOPGAP_USER"),
        "{said}"
    );
    assert!(!text(&out.stdout).contains("request(s)"));
}

#[test]
fn a_password_is_never_taken_as_an_argument() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo_db(dir.path());
    let out = stopgap(&db, &["--password", PASSWORD, "list"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--password"),
        "{}",
        text(&out.stderr)
    );
}

/// A plain database as an older Stopgap left it, with one request.
fn plain_db(dir: &Path) -> PathBuf {
    let path = dir.join("old.db");
    let mut c = rusqlite::Connection::open(&path).unwrap();
    schema::migrate_to(&mut c, schema::latest_version()).unwrap();
    drop(c);
    let mut store = Store::open_or_create(&path).unwrap();
    store.configure(&setup()).unwrap();
    store.save_request(&request(1), "Nurse A", now()).unwrap();
    drop(store);
    assert_eq!(file_kind(&path).unwrap(), FileKind::Plaintext);
    path
}

#[test]
fn a_plain_database_is_refused_with_the_way_to_encrypt_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = plain_db(dir.path());
    let before = std::fs::read(&db).unwrap();
    let said = refused(&stopgap(&db, &["list"]));
    assert!(said.contains("not encrypted"), "{said}");
    assert!(said.contains("stopgap encrypt --user STAFF_ID"), "{said}");
    assert_eq!(
        std::fs::read(&db).unwrap(),
        before,
        "the file was left alone"
    );
}

#[test]
fn encrypt_encrypts_a_plain_database_in_place_and_prints_the_recovery_code() {
    let dir = tempfile::tempdir().unwrap();
    let db = plain_db(dir.path());
    let out = stopgap(&db, &["encrypt", "--name", NAME]);
    let said = text(&out.stdout);
    assert!(out.status.success(), "{said}{}", text(&out.stderr));
    assert!(said.contains("rows in"), "{said}");
    assert!(said.contains("before,") && said.contains("after"), "{said}");
    assert!(said.contains("Recovery code: "), "{said}");
    assert!(said.contains("keep it offline"), "{said}");
    assert_eq!(file_kind(&db).unwrap(), FileKind::Encrypted);
    let raw = std::fs::read(&db).unwrap();
    assert!(!raw.windows(11).any(|w| w == b"Testpatient"));

    // The request is still there, and the first manager signs in.
    let out = stopgap(&db, &["list"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("1 request(s)."),
        "{}",
        text(&out.stdout)
    );
    let said = refused(&stopgap(&db, &["encrypt", "--name", NAME]));
    assert!(said.contains("already encrypted"), "{said}");
}

#[test]
fn a_ward_users_export_is_refused_by_the_store_with_a_non_zero_exit() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo_db(dir.path());
    let out = add_nurse(&db, "ward");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let folder = dir.path().join("out");
    std::fs::create_dir(&folder).unwrap();
    let out = stopgap_as(
        &db,
        "N1001",
        NURSE_PASSWORD,
        &[
            "export",
            "--plaintext",
            "--format",
            "csv",
            "--out",
            folder.to_str().unwrap(),
            "--all",
        ],
    );
    assert_ne!(out.status.code(), Some(0));
    let said = refused(&out);
    assert!(said.contains("may not export the backlog"), "{said}");
    assert!(
        std::fs::read_dir(&folder).unwrap().next().is_none(),
        "nothing written"
    );
    let said = refused(&stopgap_as(&db, "N1001", NURSE_PASSWORD, &["users"]));
    assert!(said.contains("may not manage accounts"), "{said}");
}

#[test]
fn users_add_makes_an_account_that_signs_in_and_is_listed() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo_db(dir.path());
    let out = add_nurse(&db, "lab");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("Added Ann Nurse (N1001) as a lab account"));

    let out = stopgap_as(&db, "n1001", NURSE_PASSWORD, &["list"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("3 request(s)."));

    let out = stopgap(&db, &["users"]);
    let said = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(said.contains("N1001") && said.contains("Ann Nurse") && said.contains("lab"));
    assert!(said.contains("DEMO") && said.contains("manager"), "{said}");
    assert!(said.contains("2 account(s)."), "{said}");

    // Recorded under the manager who added the account.
    let out = stopgap(&db, &["audit", "--action", "user_added"]);
    let said = text(&out.stdout);
    assert!(
        said.contains("Demo Manager (DEMO)") && said.contains("N1001"),
        "{said}"
    );

    // Removed: the password no longer opens the database.
    let out = stopgap(&db, &["users", "remove", "N1001"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = refused(&stopgap_as(&db, "N1001", NURSE_PASSWORD, &["list"]));
    assert!(said.contains("was removed"), "{said}");
}

#[test]
fn demo_on_a_new_file_prints_the_demo_manager_account() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("training.db");
    let out = command(&db)
        .env_remove("STOPGAP_USER")
        .env_remove("STOPGAP_PASSWORD")
        .args(["demo", "--count", "2"])
        .output()
        .unwrap();
    let said = text(&out.stdout);
    assert!(out.status.success(), "{said}{}", text(&out.stderr));
    assert!(
        said.contains(&format!("staff ID {}", stopgap::cli::DEMO_STAFF_ID)),
        "{said}"
    );
    assert!(said.contains(stopgap::cli::DEMO_PASSWORD), "{said}");
    assert!(said.contains("Added 2 training requests"), "{said}");
    // The printed account signs in.
    let out = stopgap_as(
        &db,
        stopgap::cli::DEMO_STAFF_ID,
        stopgap::cli::DEMO_PASSWORD,
        &["list"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("2 request(s)."));
}

#[test]
fn setup_on_a_new_file_makes_its_first_manager_and_prints_the_recovery_code_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ward.db");
    let base = ["setup", "--site", "RXX", "--workstation", "W07"];
    let said = refused(&stopgap(&db, &base));
    assert!(said.contains("--name"), "{said}");
    assert!(!db.exists(), "a refused set-up makes no file");

    let mut args = base.to_vec();
    args.extend(["--name", NAME]);
    let out = stopgap(&db, &args);
    let said = text(&out.stdout);
    assert!(out.status.success(), "{said}{}", text(&out.stderr));
    assert!(
        said.contains("Demo Manager (DEMO) as its first manager"),
        "{said}"
    );
    assert_eq!(said.matches("Recovery code: ").count(), 1, "{said}");
    // Set up again: signed in, no new code.
    let out = stopgap(&db, &args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!text(&out.stdout).contains("Recovery code"));
    // The recovery code opens the database.
    let code = said
        .lines()
        .find_map(|l| l.strip_prefix("Recovery code: "))
        .unwrap();
    stopgap::store::keys::forget(&db);
    let store = Store::unlock_with_recovery(&db, code).unwrap();
    assert_eq!(
        store.setup().unwrap().unwrap().workstation.to_string(),
        "W07"
    );
}
