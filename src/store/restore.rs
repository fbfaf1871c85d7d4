//! Restoring the database from a backup (see `store::backup` for the checks a file must pass).
//!
//! Refused while any other process has the database open (a SQLite exclusive lock that cannot be
//! had): replacing the file under an app that is still saving would lose its saves without a
//! word. Holding that lock, the current database and its write-ahead log are copied aside byte
//! for byte, then the checked backup is written into the live database with SQLite's backup API,
//! which commits it as one transaction.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension};

use super::backup::{
    BackupError, Facts, Restored, TempFile, copy_all, finish_copy, folder_error, io_error,
    read_facts, side_file, sync_folder,
};
use super::{Setup, Store, StoreError, schema};
use crate::domain::audit::AuditAction;

/// How long a restore waits for another process to let go of the database before refusing.
const LOCK_WAIT_MS: u64 = 500;

impl Store {
    /// Restores the database at `db` from the backup `file` (see the module doc). Refuses a
    /// file that is not a sound Stopgap database of this schema or older, or one of another
    /// workstation unless `force`; refuses while another process has `db` open. Either way the
    /// current database is then unchanged.
    pub fn restore(
        db: &Path,
        file: &Path,
        force: bool,
        now: DateTime<Utc>,
    ) -> Result<Restored, StoreError> {
        match fs::metadata(file) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(BackupError::NoSuchFile { path: file.into() }.into());
            }
            Err(source) => {
                return Err(StoreError::CannotRead {
                    path: file.into(),
                    source,
                });
            }
            Ok(m) if !m.is_file() || m.len() == 0 => {
                return Err(BackupError::NotSqlite { path: file.into() }.into());
            }
            Ok(_) => {}
        }
        let folder = crate::files::folder_of(db);
        let tmp = TempFile::create(&folder, "stopgap-restore")?;
        copy_backup_file(file, tmp.path(), &folder, db)?;
        let facts = read_facts(tmp.path(), db).map_err(|e| refusal(file, e))?;
        let latest = schema::latest_version();
        if facts.version > latest {
            return Err(BackupError::Newer {
                path: file.into(),
                found: facts.version,
                latest,
            }
            .into());
        }
        let workstation = format!("{}/{}", facts.setup.site, facts.setup.workstation);
        let present = fs::metadata(db).is_ok_and(|m| m.len() > 0);
        let aside = if present {
            Some(replace_live(db, file, &tmp, &facts, force, now)?)
        } else {
            tmp.place(db)?;
            None
        };
        // Opened as every command opens it: checked, and brought up to this schema. The
        // restored log says so: its records after the backup's are in the file set aside.
        let mut restored = Store::open(db)?;
        let name = |p: &Path| {
            p.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        };
        let detail = match &aside {
            Some(a) => format!(
                "{} requests; the database before it is kept as {}",
                facts.requests,
                name(a)
            ),
            None => format!("{} requests", facts.requests),
        };
        if restored.read_only().is_none() {
            restored.audit(AuditAction::Restored, "", "", &name(file), &detail, now)?;
        }
        drop(restored);
        Ok(Restored {
            aside,
            requests: facts.requests,
            workstation,
        })
    }
}

/// Under an exclusive lock on the live database: the workstation check, the copy aside, and the
/// backup written in as one transaction. Returns where the old database was put.
fn replace_live(
    db: &Path,
    file: &Path,
    tmp: &TempFile,
    facts: &Facts,
    force: bool,
    now: DateTime<Utc>,
) -> Result<PathBuf, StoreError> {
    let folder = crate::files::folder_of(db);
    let mut live = Connection::open(db).map_err(|e| folder_error(&folder, e))?;
    super::open::with_key_of(&live, db)?;
    live.busy_timeout(Duration::from_millis(LOCK_WAIT_MS))?;
    // Every connection to a WAL database holds a shared lock on the file while it is open, so
    // an exclusive lock is had only when no other connection (in any process) has it open; and
    // while it is held nobody can open it.
    live.pragma_update(None, "locking_mode", "EXCLUSIVE")?;
    let readable = match live.execute_batch("BEGIN EXCLUSIVE; COMMIT;") {
        Ok(()) => true,
        Err(e) => match e.sqlite_error_code() {
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
                return Err(BackupError::InUse { db: db.into() }.into());
            }
            Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => false,
            _ => return Err(e.into()),
        },
    };
    let current: Option<Setup> = if readable {
        live.query_row("SELECT value FROM settings WHERE key = 'setup'", [], |r| {
            r.get::<_, String>(0)
        })
        .optional()
        .ok()
        .flatten()
        .and_then(|json| serde_json::from_str(&json).ok())
    } else {
        None
    };
    if !force {
        match &current {
            None => return Err(BackupError::CurrentUnreadable { db: db.into() }.into()),
            Some(c) if c.site != facts.setup.site || c.workstation != facts.setup.workstation => {
                return Err(BackupError::OtherWorkstation {
                    path: file.into(),
                    backup: format!("{}/{}", facts.setup.site, facts.setup.workstation),
                    current: format!("{}/{}", c.site, c.workstation),
                }
                .into());
            }
            Some(_) => {}
        }
    }
    let aside = set_aside(db, now)?;
    if readable {
        let source = Connection::open_with_flags(tmp.path(), OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        super::open::with_key_of(&source, db)?;
        copy_all(&source, &mut live).map_err(|e| folder_error(&folder, e))?;
        live.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        live.close().map_err(|(_, e)| StoreError::from(e))?;
    } else {
        // Not a database SQLite can read, so nobody can be using it: the checked copy takes
        // its place, and the old log (which belongs to the old file) goes with it.
        drop(live);
        tmp.place(db)?;
        for suffix in ["-wal", "-shm"] {
            match fs::remove_file(side_file(db, suffix)) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => {
                    return Err(BackupError::Io { folder, source: e }.into());
                }
                _ => {}
            }
        }
    }
    Ok(aside)
}

/// Copies the database and its write-ahead log byte for byte beside it, as
/// `<db>.before-restore-<UTC time>` (and `…-wal`, the name SQLite looks for), 0600, flushed.
fn set_aside(db: &Path, now: DateTime<Utc>) -> Result<PathBuf, StoreError> {
    let folder = crate::files::folder_of(db);
    let mut name = db.as_os_str().to_owned();
    name.push(format!(".before-restore-{}", now.format("%Y%m%dT%H%M%S")));
    let aside = PathBuf::from(name);
    let io_err = |source: io::Error| StoreError::from(io_error(&folder, source));
    for (from, to) in [
        (db.to_owned(), aside.clone()),
        (side_file(db, "-wal"), side_file(&aside, "-wal")),
    ] {
        let mut src = match fs::File::open(&from) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io_err(e)),
        };
        let mut dst = crate::platform::create_private_file(&to).map_err(io_err)?;
        io::copy(&mut src, &mut dst).map_err(io_err)?;
        dst.sync_all().map_err(io_err)?;
    }
    sync_folder(&folder).map_err(io_err)?;
    Ok(aside)
}

/// Copies the backup `file` through SQLite into `dest` (so a file with its own write-ahead log
/// is read whole), refusing what SQLite cannot read.
fn copy_backup_file(file: &Path, dest: &Path, folder: &Path, db: &Path) -> Result<(), StoreError> {
    let not_sqlite = |e: rusqlite::Error| -> StoreError {
        match e.sqlite_error_code() {
            Some(ErrorCode::NotADatabase) => BackupError::NotSqlite { path: file.into() }.into(),
            Some(ErrorCode::DatabaseCorrupt) => BackupError::Damaged {
                path: file.into(),
                details: e.to_string(),
            }
            .into(),
            _ => e.into(),
        }
    };
    let source =
        Connection::open_with_flags(file, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(not_sqlite)?;
    super::open::with_key_of(&source, db).map_err(not_sqlite)?;
    let mut dst = Connection::open(dest).map_err(|e| folder_error(folder, e))?;
    super::open::with_key_of(&dst, db).map_err(|e| folder_error(folder, e))?;
    copy_all(&source, &mut dst).map_err(not_sqlite)?;
    // An encrypted page copied whole fails its check when the copy is first read here.
    finish_copy(dst).map_err(|e| match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => not_sqlite(e),
        _ => folder_error(folder, e),
    })
}

/// A refused restore file: what [`read_facts`] found, said of `file`.
fn refusal(file: &Path, e: StoreError) -> StoreError {
    match e {
        StoreError::Damaged { details, .. } => BackupError::Damaged {
            path: file.into(),
            details,
        }
        .into(),
        StoreError::Backup(BackupError::NotStopgap { why, .. }) => BackupError::NotStopgap {
            path: file.into(),
            why,
        }
        .into(),
        other => other,
    }
}
