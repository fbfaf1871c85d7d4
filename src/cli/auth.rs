//! Signing in on the command line: `--user STAFF_ID` (or `STOPGAP_USER`) and the password from
//! `STOPGAP_PASSWORD` (automation) or a prompt that does not echo. Never from an argument: the
//! process list shows every argument to every user of the PC, and shells keep them in history.
//!
//! Every command that opens an existing database signs in here first, so the store's role checks
//! apply to the command line as they do to the app.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use chrono::{DateTime, Utc};
use zeroize::Zeroizing;

use crate::domain::access::{PasswordProblem, Principal, parse_staff_id};
use crate::store::{FileKind, KdfParams, Store, StoreError, file_kind, recover_interrupted};

/// The demo manager of a training database made by `stopgap demo` on a new file. Documented in
/// the README: a training database holds only synthetic patients, so its password is public.
pub const DEMO_STAFF_ID: &str = "DEMO";
/// The demo manager's name, as events record it.
pub const DEMO_NAME: &str = "Demo Manager";
/// The demo manager's password (it passes the password rules, as any account's must).
pub const DEMO_PASSWORD: &str = "training only 2026";

/// The signed-in user's password, for automation (a script, the test suite).
const PASSWORD_ENV: &str = "STOPGAP_PASSWORD";
/// A new account's or a reset's password, for automation (`users add`, `users reset`).
pub(super) const NEW_PASSWORD_ENV: &str = "STOPGAP_NEW_PASSWORD";
/// TEST ONLY: `STOPGAP_TEST_FAST_KDF=1` makes new key slots with Argon2's smallest cost, so the
/// test suite's hundreds of runs of the binary do not each spend half a second per sign-in. A
/// slot made so is cheap to guess: never set it for a real database. Read here and nowhere else.
const FAST_KDF_ENV: &str = "STOPGAP_TEST_FAST_KDF";

/// Why the command line could not sign in, or would not open the file.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error(
        "the database {0} is encrypted: say who you are with --user STAFF_ID (or set STOPGAP_USER); the password is asked for, or read from STOPGAP_PASSWORD"
    )]
    NoUser(PathBuf),
    #[error(
        "a new database needs its first manager: give your staff ID with --user STAFF_ID (or set STOPGAP_USER)"
    )]
    NoFirstManager,
    #[error("a new database needs its first manager's full name: add --name \"Full Name\"")]
    NoName,
    #[error(
        "{0} is a plain database from an older Stopgap, not encrypted: encrypt it first with `stopgap encrypt --user STAFF_ID --name \"Full Name\"` (you become its first manager)"
    )]
    Plaintext(PathBuf),
    #[error("{0} is already encrypted: there is nothing to encrypt")]
    AlreadyEncrypted(PathBuf),
    #[error("could not read the password (no terminal to ask on: set {0} for automation)")]
    NoTerminal(&'static str, #[source] std::io::Error),
}

/// The key-derivation cost for new key slots: [`KdfParams::STANDARD`], or the test suite's.
pub(super) fn kdf() -> KdfParams {
    if std::env::var_os(FAST_KDF_ENV).is_some_and(|v| v == "1") {
        KdfParams::FAST_FOR_TESTS
    } else {
        KdfParams::STANDARD
    }
}

/// `--user`: a staff ID as on the badge (trimmed, upper-cased).
pub(super) fn parse_staff(s: &str) -> Result<String, String> {
    parse_staff_id(s).ok_or_else(|| {
        format!(
            "'{}' is not a staff ID: 2 to 20 letters, digits or dashes, as on the staff badge",
            crate::domain::text::visible(s.trim())
        )
    })
}

/// The password from `env`, or else asked for on the terminal without echo.
fn read_password(env: &'static str, prompt: &str) -> Result<Zeroizing<String>> {
    if let Some(p) = std::env::var_os(env) {
        return Ok(Zeroizing::new(p.to_string_lossy().into_owned()));
    }
    rpassword::prompt_password(prompt)
        .map(Zeroizing::new)
        .map_err(|e| SignInError::NoTerminal(env, e).into())
}

/// A new password: from `env`, or asked for twice (a typing slip would lock the account out).
/// The rules are checked by whoever makes the slot (`NewAccount::checked`, the store).
pub(super) fn new_password(env: &'static str, whose: &str) -> Result<Zeroizing<String>> {
    if std::env::var_os(env).is_some() {
        return read_password(env, "");
    }
    let first = read_password(env, &format!("New password for {whose}: "))?;
    let again = read_password(env, "Type it again: ")?;
    if *first != *again {
        return Err(PasswordProblem::Mismatch.into());
    }
    Ok(first)
}

/// The first manager's password for a new or newly encrypted database.
pub(super) fn first_password(staff_id: &str) -> Result<Zeroizing<String>> {
    new_password(PASSWORD_ENV, staff_id)
}

/// The error for a command on a file that is not there (or is empty): never made here.
pub(super) fn no_database(db: &Path) -> anyhow::Error {
    let e = if db.exists() {
        StoreError::Empty { path: db.into() }
    } else {
        StoreError::Missing { path: db.into() }
    };
    super::opening_error(e, db)
}

/// Opens the existing database at `db` signed in as `user`: an encrypted file with the user's
/// password; a plain one is refused with the way to encrypt it; a missing one is not made.
pub(super) fn open(db: &Path, user: Option<&str>, now: DateTime<Utc>) -> Result<Store> {
    // A crash during `stopgap encrypt` left a copy or the plain file aside: settle that first.
    recover_interrupted(db).map_err(|e| super::opening_error(e, db))?;
    match file_kind(db).map_err(|e| super::opening_error(e, db))? {
        FileKind::New => Err(no_database(db)),
        FileKind::Plaintext => Err(SignInError::Plaintext(db.into()).into()),
        FileKind::Encrypted => {
            let principal = unlock(db, user, now)?
                .map_err(|e| super::opening_error(e, db))?
                .principal()
                .cloned()
                .context("the sign-in gave no account")?;
            // Opened again as every command opened a database before encryption: the whole
            // file checked (`Store::unlock` reads no page beyond the schema), the schema brought
            // up to date. The key is held by this process now; the password was proven above.
            let mut store = Store::open(db).map_err(|e| super::opening_error(e, db))?;
            store.act_as(principal);
            Ok(store)
        }
    }
}

/// `user`'s key slot of the encrypted database at `db` opened with their password: the store's
/// answer (wrong password, unknown user, damaged file …) inside, for the caller to judge. Once a
/// slot has opened, this process holds the key even when the database itself then fails.
pub(super) fn unlock(
    db: &Path,
    user: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Result<Store, StoreError>> {
    let staff_id = user.ok_or_else(|| SignInError::NoUser(db.into()))?;
    let password = read_password(PASSWORD_ENV, &format!("Password for {staff_id}: "))?;
    Ok(Store::unlock(db, staff_id, &password, now))
}

/// The name events and records are made under: the signed-in account's "Name (STAFF ID)".
pub(super) fn who(store: &Store) -> String {
    store
        .principal()
        .map(Principal::recorded_name)
        .unwrap_or_default()
}

/// The signed-in staff ID and recorded name, for an audit record.
pub(super) fn audit_user(store: &Store) -> (String, String) {
    let p = store.principal();
    (
        p.map(|p| p.staff_id().to_owned()).unwrap_or_default(),
        p.map(Principal::recorded_name).unwrap_or_default(),
    )
}

/// Prints a new recovery code with what to do with it: it is shown this once.
pub(super) fn print_recovery_code(
    code: &crate::store::RecoveryCode,
    out: &mut dyn std::io::Write,
) -> Result<()> {
    writeln!(out, "Recovery code: {}", code.display().as_str())?;
    writeln!(
        out,
        "Write it down now and keep it offline, locked away (e.g. in the lab manager's safe): it is shown only this once, and it opens the database if every manager's password is lost."
    )?;
    Ok(())
}
