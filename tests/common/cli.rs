//! The real `stopgap` binary, run as a user would: signed in as the test manager.

use std::path::Path;
use std::process::{Command, Output};

/// The staff ID every run signs in with: the demo manager, so a database made by `stopgap demo`,
/// by `stopgap setup` (with this ID and password) or by [`super::temp_store`] opens alike.
pub const USER: &str = stopgap::cli::DEMO_STAFF_ID;
/// The test manager's password (the demo account's, which passes the password rules).
pub const PASSWORD: &str = stopgap::cli::DEMO_PASSWORD;
/// The test manager's name, as events record it: "Demo Manager (DEMO)".
pub const NAME: &str = stopgap::cli::DEMO_NAME;

/// `stopgap --db DB` signed in as the test manager (`STOPGAP_USER`, `STOPGAP_PASSWORD`), with
/// key slots made at the test-only low cost (`STOPGAP_TEST_FAST_KDF`). Change the environment
/// on the returned command to run as someone else, or as nobody.
pub fn command(db: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_stopgap"));
    c.arg("--db")
        .arg(db)
        .env("STOPGAP_USER", USER)
        .env("STOPGAP_PASSWORD", PASSWORD)
        .env("STOPGAP_TEST_FAST_KDF", "1")
        .env_remove("STOPGAP_NEW_PASSWORD");
    c
}

/// Runs `stopgap --db DB ARGS…` as the test manager and returns what it printed and its exit
/// status.
pub fn stopgap(db: &Path, args: &[&str]) -> Output {
    command(db).args(args).output().unwrap()
}

/// Runs `stopgap --db DB ARGS…` signed in as `user` with `password`.
pub fn stopgap_as(db: &Path, user: &str, password: &str, args: &[&str]) -> Output {
    command(db)
        .env("STOPGAP_USER", user)
        .env("STOPGAP_PASSWORD", password)
        .args(args)
        .output()
        .unwrap()
}

/// Printed bytes as text (lossy, for messages and `contains` checks).
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
