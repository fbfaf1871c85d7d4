//! The real `stopgap` binary, run as a user would.

use std::path::Path;
use std::process::{Command, Output};

/// Runs `stopgap --db DB ARGS…` and returns what it printed and its exit status.
pub fn stopgap(db: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stopgap"))
        .arg("--db")
        .arg(db)
        .args(args)
        .output()
        .unwrap()
}

/// Printed bytes as text (lossy, for messages and `contains` checks).
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
