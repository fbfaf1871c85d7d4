//! `stopgap backup`, `stopgap backups` and `stopgap restore`.

use std::io::Write;
use std::path::Path;

use anyhow::Result;
use chrono::{DateTime, Utc};

use super::Outcome;
use crate::store::{BackupError, Store, StoreError};

/// Makes a checked backup in `to`, or in the folder set in the settings.
pub(super) fn backup(
    store: &mut Store,
    to: Option<&Path>,
    now: DateTime<Utc>,
    out: &mut dyn Write,
) -> Result<Outcome> {
    let folder = match to {
        Some(f) => f.to_owned(),
        None => store
            .backup_settings()?
            .folder
            .ok_or(StoreError::Backup(BackupError::NoFolder))?,
    };
    let made = store.backup_to(&folder, now)?;
    writeln!(
        out,
        "Backup made and checked: {} ({} requests, {}).",
        made.path.display(),
        made.requests,
        crate::files::size_in_words(made.bytes)
    )?;
    for p in &made.pruned {
        writeln!(out, "Removed the older backup {}.", p.display())?;
    }
    Ok(Outcome::Success)
}

/// Lists the recorded backups, newest first, saying which files are no longer there.
pub(super) fn backups(store: &Store, out: &mut dyn Write) -> Result<Outcome> {
    let settings = store.backup_settings()?;
    match &settings.folder {
        Some(f) => writeln!(
            out,
            "Backups go to {} every {} minutes; the newest {} are kept.",
            f.display(),
            settings.interval_minutes,
            settings.keep
        )?,
        None => writeln!(
            out,
            "No backup folder is set: the app makes no backups. Set one in Settings, or run `stopgap backup --to FOLDER`."
        )?,
    }
    let all = store.backups()?;
    if all.is_empty() {
        writeln!(out, "No backup has been made.")?;
    }
    for b in &all {
        let gone = if b.path.exists() {
            ""
        } else {
            "  (file no longer there)"
        };
        writeln!(
            out,
            "{}  {:>7} requests  {:>9}  {}{gone}",
            b.at.format("%Y-%m-%d %H:%M:%S UTC"),
            b.requests,
            crate::files::size_in_words(b.bytes),
            b.path.display()
        )?;
    }
    Ok(Outcome::Success)
}

/// Restores the database at `db` from `file`; the store is not kept open here (a restore needs
/// the database to itself). Over an encrypted database a manager signs in first: a restore
/// replaces every record, and the backup is read with the database's key.
pub(super) fn restore(
    db: &Path,
    user: Option<&str>,
    file: &Path,
    force: bool,
    now: DateTime<Utc>,
    out: &mut dyn Write,
) -> Result<Outcome> {
    if crate::store::file_kind(db)? == crate::store::FileKind::Encrypted {
        match super::auth::unlock(db, user, now)? {
            Ok(store) => {
                if let Some(p) = store.principal() {
                    p.require(crate::domain::access::Permission::Settings)?;
                }
            }
            // The password opened its slot, so the key is held: a damaged database is what a
            // forced restore is for.
            Err(e @ (StoreError::Undecryptable { .. } | StoreError::Damaged { .. })) if force => {
                writeln!(out, "Restoring over a database that does not open: {e}.")?;
            }
            Err(e) => return Err(super::opening_error(e, db)),
        }
    }
    let restored = Store::restore(db, file, force, now)?;
    writeln!(
        out,
        "Restored {} from {}: {} requests of workstation {}.",
        db.display(),
        file.display(),
        restored.requests,
        restored.workstation
    )?;
    if let Some(aside) = &restored.aside {
        writeln!(
            out,
            "The database as it was is kept as {} (give it to IT if it was damaged).",
            aside.display()
        )?;
    }
    Ok(Outcome::Success)
}
