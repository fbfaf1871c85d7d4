//! The commands that make a database's first manager: `setup` on a new file, `demo` on a new
//! file (a training database with the documented demo manager), and `encrypt` of an older
//! Stopgap's plain database.

use std::io::Write;
use std::path::Path;

use anyhow::{Context as _, Result};
use chrono::{DateTime, Utc};

use super::Outcome;
use super::auth::{self, SignInError};
use crate::domain::access::Role;
use crate::domain::downtime_id::Code3;
use crate::domain::ward::{Ward, check_list};
use crate::store::{FileKind, NewAccount, Setup, Store, file_kind, recover_interrupted};

/// `stopgap setup`: on a new file the database is made with the signed-in user as its first
/// manager (and the recovery code printed once); on an existing one the user signs in and the
/// set-up is changed (a manager's permission, checked by the store).
#[expect(
    clippy::too_many_arguments,
    reason = "the command's own options, passed as parsed"
)]
pub(super) fn setup(
    db: &Path,
    user: Option<&str>,
    name: Option<&str>,
    site: &str,
    workstation: &str,
    wards: Vec<Ward>,
    now: DateTime<Utc>,
    out: &mut dyn Write,
) -> Result<Outcome> {
    // Every option is checked before anything is made: a refused set-up leaves no file.
    let site = Code3::site(site).context("--site")?;
    let workstation = Code3::workstation(workstation).context("--workstation")?;
    check_list(&wards).context("--ward")?;
    let setup = Setup {
        site,
        workstation,
        wards,
    };
    let mut store = match kind(db)? {
        FileKind::New => {
            let staff_id = user.ok_or(SignInError::NoFirstManager)?;
            let name = name.ok_or(SignInError::NoName)?;
            let password = auth::first_password(staff_id)?;
            let first = NewAccount::checked(staff_id, name, Role::Manager, &password)?;
            let (store, code) = Store::create_protected(db, &first, &password, auth::kdf(), now)
                .map_err(|e| super::opening_error(e, db))?;
            writeln!(
                out,
                "Made the encrypted database {} with {} as its first manager.",
                db.display(),
                auth::who(&store)
            )?;
            auth::print_recovery_code(&code, out)?;
            store
        }
        _ => auth::open(db, user, now)?,
    };
    store.configure(&setup)?;
    writeln!(
        out,
        "This workstation is {}/{}.",
        setup.site, setup.workstation
    )?;
    for w in &setup.wards {
        writeln!(out, "Ward {}: code {}", w.name(), w.code())?;
    }
    Ok(Outcome::Success)
}

/// What is at `db`, after settling an encryption a crash interrupted.
fn kind(db: &Path) -> Result<FileKind> {
    recover_interrupted(db).map_err(|e| super::opening_error(e, db))?;
    file_kind(db).map_err(|e| super::opening_error(e, db))
}

/// The store `demo` adds to: a new training database with the demo manager signed in (the
/// account printed, to sign in with later), or the existing database signed in as usual.
pub(super) fn demo_store(
    db: &Path,
    user: Option<&str>,
    now: DateTime<Utc>,
    out: &mut dyn Write,
) -> Result<Store> {
    if kind(db)? != FileKind::New {
        return auth::open(db, user, now);
    }
    let demo = NewAccount::checked(
        auth::DEMO_STAFF_ID,
        auth::DEMO_NAME,
        Role::Manager,
        auth::DEMO_PASSWORD,
    )?;
    // No one keeps a training database's recovery code: the demo password is public.
    let (store, _code) = Store::create_protected(db, &demo, auth::DEMO_PASSWORD, auth::kdf(), now)
        .map_err(|e| super::opening_error(e, db))?;
    writeln!(
        out,
        "Made a training database. Its demo manager: staff ID {}, password \"{}\" (sign in with --user {}; for training only, never for real patients).",
        auth::DEMO_STAFF_ID,
        auth::DEMO_PASSWORD,
        auth::DEMO_STAFF_ID
    )?;
    Ok(store)
}

/// `stopgap encrypt`: an older Stopgap's plain database encrypted in place, with the user as its
/// first manager; every table's rows are counted in both files before the plain one is wiped.
pub(super) fn encrypt(
    db: &Path,
    user: Option<&str>,
    name: &str,
    now: DateTime<Utc>,
    out: &mut dyn Write,
) -> Result<Outcome> {
    match kind(db)? {
        FileKind::New => return Err(auth::no_database(db)),
        FileKind::Encrypted => return Err(SignInError::AlreadyEncrypted(db.into()).into()),
        FileKind::Plaintext => {}
    }
    let staff_id = user.ok_or(SignInError::NoFirstManager)?;
    let password = auth::first_password(staff_id)?;
    let first = NewAccount::checked(staff_id, name, Role::Manager, &password)?;
    let (store, code, done) = Store::encrypt_in_place(db, &first, &password, auth::kdf(), now)
        .map_err(|e| super::opening_error(e, db))?;
    let rows: i64 = done.rows.iter().map(|(_, n)| n).sum();
    writeln!(
        out,
        "Encrypted {} in place: {rows} rows in {} tables copied and checked; {} before, {} after. The plain file was overwritten and removed.",
        db.display(),
        done.rows.len(),
        crate::files::size_in_words(done.bytes_before),
        crate::files::size_in_words(done.bytes_after)
    )?;
    writeln!(out, "First manager: {}.", auth::who(&store))?;
    auth::print_recovery_code(&code, out)?;
    Ok(Outcome::Success)
}
