//! Backups of the database to a second folder (a USB stick, another disk), and restoring one.
//!
//! A backup is SQLite's online backup of one read snapshot (saves carry on meanwhile) into a
//! temporary file in the backup folder, flushed to disk, opened again and checked (`quick_check`,
//! schema version, same workstation, as many requests as the snapshot had), and only then
//! renamed to `stopgap-<site>-<ws>-<UTC yyyymmddThhmmss>.db` (0600). The newest K of this
//! workstation's backups are kept. A damaged write-ahead log can silently drop committed saves,
//! so a recent checked backup is the way back from a damaged file.
//!
//! A restore (`store::restore`) refuses a file that fails the same checks.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension, params};

use super::{ReadOnlyReason, Setup, Store, StoreError, schema};
use crate::domain::audit::{AuditAction, AuditEntry};

/// Minutes between the app's backups until someone changes it.
pub const DEFAULT_BACKUP_INTERVAL_MINUTES: u32 = 10;
/// Backups of this workstation kept in the folder until someone changes it.
pub const DEFAULT_BACKUP_KEEP: u32 = 10;
const SETTINGS_KEY: &str = "backup";

/// Where and how often the app backs up. No folder means backups are off (the app says so).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BackupSettings {
    pub folder: Option<PathBuf>,
    pub interval_minutes: u32,
    pub keep: u32,
}

impl Default for BackupSettings {
    fn default() -> Self {
        Self {
            folder: None,
            interval_minutes: DEFAULT_BACKUP_INTERVAL_MINUTES,
            keep: DEFAULT_BACKUP_KEEP,
        }
    }
}

/// A backup setting that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackupSettingsError {
    #[error("the backup interval must be 1 to 1440 minutes")]
    Interval,
    #[error("the number of backups kept must be 1 to 1000")]
    Keep,
    #[error("the backup folder must be a full path (such as E:\\stopgap or /media/usb/stopgap)")]
    RelativeFolder,
}

impl BackupSettings {
    /// Refuses values the app could not work with.
    pub fn check(&self) -> Result<(), BackupSettingsError> {
        if !(1..=1440).contains(&self.interval_minutes) {
            return Err(BackupSettingsError::Interval);
        }
        if !(1..=1000).contains(&self.keep) {
            return Err(BackupSettingsError::Keep);
        }
        if self.folder.as_ref().is_some_and(|f| !f.is_absolute()) {
            return Err(BackupSettingsError::RelativeFolder);
        }
        Ok(())
    }
}

/// Why a backup or a restore was not made. Nothing was changed in the database either way.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(transparent)]
    Settings(BackupSettingsError),
    #[error("no backup folder is set: choose one in Settings, or pass --to FOLDER")]
    NoFolder,
    #[error("the backup folder {folder} does not exist: plug in the USB stick or choose another")]
    FolderMissing { folder: PathBuf },
    #[error("{folder} is not a folder")]
    NotAFolder { folder: PathBuf },
    #[error(
        "the backup folder {folder} is the database's own folder: choose one on another disk or a USB stick, so a backup survives the disk"
    )]
    SameFolder { folder: PathBuf },
    #[error("cannot write in {folder} ({}): choose a folder this user can write", why.words())]
    FolderReadOnly {
        folder: PathBuf,
        why: ReadOnlyReason,
    },
    #[error(
        "the disk of {folder} is full: no backup was made. Free some space there (old backups) or choose another folder"
    )]
    FolderFull { folder: PathBuf },
    #[error("could not write in {folder}")]
    Io { folder: PathBuf, source: io::Error },
    #[error("the backup copy failed its check ({details}) and was removed: try again")]
    CopyFailed { details: String },
    #[error("there is no file {path}")]
    NoSuchFile { path: PathBuf },
    #[error("{path} is not a SQLite database, so it cannot be a Stopgap backup")]
    NotSqlite { path: PathBuf },
    #[error("{path} is not a Stopgap database ({why})")]
    NotStopgap { path: PathBuf, why: &'static str },
    #[error("{path} is damaged ({details}): choose an older backup")]
    Damaged { path: PathBuf, details: String },
    #[error(
        "{path} was written by a newer Stopgap (schema {found}, this program knows up to {latest}): restore it with the newer program"
    )]
    Newer {
        path: PathBuf,
        found: i64,
        latest: i64,
    },
    #[error(
        "{path} is the database of workstation {backup}, not of this one ({current}): check the file, or pass --force to replace this workstation's database with it"
    )]
    OtherWorkstation {
        path: PathBuf,
        backup: String,
        current: String,
    },
    #[error(
        "the current database {db} cannot be read to check which workstation it belongs to: pass --force to replace it (it is kept aside)"
    )]
    CurrentUnreadable { db: PathBuf },
    #[error(
        "{db} is open in another Stopgap (the app or a command): close it first, then restore. Nothing was changed"
    )]
    InUse { db: PathBuf },
}

/// A backup that was made, checked and put in place.
#[derive(Debug, Clone, PartialEq)]
pub struct BackupMade {
    pub path: PathBuf,
    /// The snapshot's time (the clock reading passed in).
    pub at: DateTime<Utc>,
    pub bytes: u64,
    pub requests: u64,
    /// Older backups of this workstation removed to keep the newest K.
    pub pruned: Vec<PathBuf>,
}

/// A recorded backup (the file may since have been pruned or removed).
#[derive(Debug, Clone, PartialEq)]
pub struct BackupRecord {
    pub at: DateTime<Utc>,
    pub path: PathBuf,
    pub bytes: u64,
    pub requests: u64,
}

/// What a restore did.
#[derive(Debug, Clone, PartialEq)]
pub struct Restored {
    /// The database as it was before, kept aside (`None` when there was none).
    pub aside: Option<PathBuf>,
    pub requests: u64,
    /// The restored file's site/workstation, e.g. `RXX/W07`.
    pub workstation: String,
}

/// What a candidate copy holds, read without changing it.
pub(super) struct Facts {
    pub(super) version: i64,
    pub(super) requests: u64,
    pub(super) setup: Setup,
}

impl Store {
    /// The backup settings: as last set, or the defaults (off, every 10 minutes, keep 10).
    pub fn backup_settings(&self) -> Result<BackupSettings, StoreError> {
        match self.setting(SETTINGS_KEY)? {
            None => Ok(BackupSettings::default()),
            Some(json) => Ok(serde_json::from_str(&json)?),
        }
    }

    /// Sets the backup settings after checking them, recording who and when in the settings
    /// log, in one transaction.
    pub fn set_backup_settings(
        &mut self,
        settings: &BackupSettings,
        user: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        settings.check().map_err(BackupError::Settings)?;
        let setup = self.require_setup()?;
        let value = serde_json::to_string(settings)?;
        self.write(|tx| {
            super::settings::set_logged(tx, SETTINGS_KEY, &value, &setup.workstation, user, now)
        })
    }

    /// The newest recorded backup, if any.
    pub fn last_backup(&self) -> Result<Option<BackupRecord>, StoreError> {
        Ok(self.backups()?.into_iter().next())
    }

    /// Every recorded backup, newest first.
    pub fn backups(&self) -> Result<Vec<BackupRecord>, StoreError> {
        let mut st = self.conn.prepare(
            "SELECT at_ms, path, bytes, requests FROM backups ORDER BY at_ms DESC, id DESC",
        )?;
        let rows = st.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, i64>(3)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (at_ms, path, bytes, requests) = row?;
            out.push(BackupRecord {
                at: DateTime::from_timestamp_millis(at_ms)
                    .ok_or_else(|| StoreError::Corrupt(format!("backup time {at_ms}")))?,
                path: PathBuf::from(path),
                bytes: u64::try_from(bytes).unwrap_or_default(),
                requests: u64::try_from(requests).unwrap_or_default(),
            });
        }
        Ok(out)
    }

    /// Makes a checked backup in `folder` (see the module doc), keeps the newest K of this
    /// workstation's backups there (K from the settings) and records it. Saves by other
    /// connections go on meanwhile; the backup holds what was committed when it began.
    pub fn backup_to(
        &mut self,
        folder: &Path,
        now: DateTime<Utc>,
    ) -> Result<BackupMade, StoreError> {
        let setup = self.require_setup()?;
        let keep = self.backup_settings()?.keep;
        check_folder(folder, &self.path)?;
        let tmp = TempFile::create(folder, "stopgap-backup")?;
        let (version, requests) = self.copy_snapshot(tmp.path(), folder)?;
        let facts = read_facts(tmp.path(), &self.path).map_err(|e| BackupError::CopyFailed {
            details: crate::error::error_chain(&e),
        })?;
        if facts.version != version || facts.requests != requests || facts.setup != setup {
            return Err(BackupError::CopyFailed {
                details: format!(
                    "the copy has {} requests at schema {}, the database {requests} at schema {version}",
                    facts.requests, facts.version
                ),
            }
            .into());
        }
        let target = folder.join(backup_name(&setup, now));
        // The key file goes with the backup (its slots are sealed): without it, only the
        // recovery code would open the backup on another PC.
        if super::keys::KeyFile::exists(&self.path) {
            super::keys::KeyFile::read(&self.path)?.save_beside(&target)?;
        }
        let bytes = tmp.place(&target)?;
        let pruned = prune(folder, &setup, keep as usize)?;
        if self.read_only.is_none() {
            self.write(|tx| {
                tx.execute(
                    "INSERT INTO backups(at_ms, path, bytes, requests) VALUES (?1, ?2, ?3, ?4)",
                    params![
                        now.timestamp_millis(),
                        target.to_string_lossy(),
                        bytes as i64,
                        requests as i64
                    ],
                )?;
                let entry = AuditEntry {
                    action: AuditAction::BackupMade,
                    staff_id: String::new(),
                    user_name: String::new(),
                    subject: target
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                    detail: format!("{requests} requests, {bytes} bytes"),
                };
                super::audit::append_in(tx, &entry, now)?;
                Ok(())
            })?;
        }
        Ok(BackupMade {
            path: target,
            at: now,
            bytes,
            requests,
            pruned,
        })
    }

    /// Copies one read snapshot of the database into `dest` and returns its schema version and
    /// request count, read in that same snapshot.
    fn copy_snapshot(&self, dest: &Path, folder: &Path) -> Result<(i64, u64), StoreError> {
        // A deferred transaction: the snapshot is fixed by the first read, and the backup API
        // copies within the transaction already open on its source.
        let tx = self.conn.unchecked_transaction()?;
        let requests: i64 = tx.query_row("SELECT count(*) FROM requests", [], |r| r.get(0))?;
        let version = schema::user_version(&tx)?;
        let mut dst = Connection::open(dest).map_err(|e| folder_error(folder, e))?;
        super::open::with_key_of(&dst, &self.path).map_err(|e| folder_error(folder, e))?;
        copy_all(&self.conn, &mut dst).map_err(|e| folder_error(folder, e))?;
        finish_copy(dst).map_err(|e| folder_error(folder, e))?;
        tx.commit()?;
        Ok((version, requests as u64))
    }
}

/// The whole source database in one step (one snapshot, one destination transaction).
pub(super) fn copy_all(source: &Connection, dest: &mut Connection) -> rusqlite::Result<()> {
    let backup = Backup::new(source, dest)?;
    loop {
        match backup.step(-1)? {
            StepResult::Done => return Ok(()),
            StepResult::More => {}
            // The destination is ours alone; the source is read in its own snapshot.
            StepResult::Busy | StepResult::Locked => std::thread::sleep(Duration::from_millis(20)),
            _ => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// A copy made by the backup API keeps the source's WAL flag; a backup file stands alone (no
/// `-wal` or `-shm` beside it on a stick), so it is switched to a rollback journal.
pub(super) fn finish_copy(dst: Connection) -> rusqlite::Result<()> {
    dst.pragma_update(None, "journal_mode", "DELETE")?;
    dst.close().map_err(|(_, e)| e)
}

/// Opens a copy read-only and reads what the checks need: sound (`quick_check`), a Stopgap
/// database (schema version, a set-up), how many requests.
/// `db` is the database the file is a backup of (its key opens it).
pub(super) fn read_facts(path: &Path, db: &Path) -> Result<Facts, StoreError> {
    let damaged = |details: String| StoreError::Damaged {
        path: path.into(),
        details,
    };
    let not_stopgap = |why| -> StoreError {
        BackupError::NotStopgap {
            path: path.into(),
            why,
        }
        .into()
    };
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    super::open::with_key_of(&conn, db)?;
    let check: Vec<String> = conn
        .prepare("PRAGMA quick_check")
        .and_then(|mut st| st.query_map([], |r| r.get(0))?.collect())
        .map_err(|e| damaged(e.to_string()))?;
    if check != ["ok"] {
        return Err(damaged(check.join("; ")));
    }
    let version = schema::user_version(&conn)?;
    if version == 0 {
        return Err(not_stopgap("it has no Stopgap schema"));
    }
    let setup: Option<String> = conn
        .query_row("SELECT value FROM settings WHERE key = 'setup'", [], |r| {
            r.get(0)
        })
        .optional()
        .map_err(|_| not_stopgap("it has no Stopgap settings"))?;
    let setup: Setup = setup
        .and_then(|json| serde_json::from_str(&json).ok())
        .ok_or_else(|| not_stopgap("it has no workstation set-up"))?;
    let requests: i64 = conn
        .query_row("SELECT count(*) FROM requests", [], |r| r.get(0))
        .map_err(|_| not_stopgap("it has no requests table"))?;
    Ok(Facts {
        version,
        requests: requests as u64,
        setup,
    })
}

/// `stopgap-<site>-<ws>-<UTC yyyymmddThhmmss>.db`: sorts by time, holds no patient data.
fn backup_name(setup: &Setup, now: DateTime<Utc>) -> String {
    format!(
        "stopgap-{}-{}-{}.db",
        setup.site,
        setup.workstation,
        now.format("%Y%m%dT%H%M%S")
    )
}

/// Whether `name` is one of this workstation's backups (the only files pruning may remove).
fn is_backup_of(name: &str, setup: &Setup) -> bool {
    let prefix = format!("stopgap-{}-{}-", setup.site, setup.workstation);
    let Some(stamp) = name
        .strip_prefix(&prefix)
        .and_then(|n| n.strip_suffix(".db"))
    else {
        return false;
    };
    stamp.len() == 15
        && stamp.bytes().enumerate().all(|(i, b)| match i {
            8 => b == b'T',
            _ => b.is_ascii_digit(),
        })
}

/// Removes all but the newest `keep` of this workstation's backups in `folder`.
fn prune(folder: &Path, setup: &Setup, keep: usize) -> Result<Vec<PathBuf>, StoreError> {
    let io_err = |source| StoreError::from(io_error(folder, source));
    let mut names: Vec<String> = Vec::new();
    for entry in fs::read_dir(folder).map_err(io_err)? {
        let name = entry
            .map_err(io_err)?
            .file_name()
            .to_string_lossy()
            .into_owned();
        if is_backup_of(&name, setup) {
            names.push(name);
        }
    }
    names.sort_unstable_by(|a, b| b.cmp(a));
    let mut pruned = Vec::new();
    for name in names.into_iter().skip(keep) {
        let path = folder.join(name);
        fs::remove_file(&path).map_err(io_err)?;
        // Its key file copy goes with it (none beside a backup from before encryption).
        let _ = fs::remove_file(super::keys::key_file_path(&path));
        pruned.push(path);
    }
    Ok(pruned)
}

/// Refuses a backup folder that is missing, not a folder, or the database's own folder.
fn check_folder(folder: &Path, db: &Path) -> Result<(), BackupError> {
    match fs::metadata(folder) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(BackupError::FolderMissing {
            folder: folder.into(),
        }),
        Err(e) => Err(io_error(folder, e)),
        Ok(m) if !m.is_dir() => Err(BackupError::NotAFolder {
            folder: folder.into(),
        }),
        Ok(_) => {
            let same = match (
                fs::canonicalize(folder),
                fs::canonicalize(crate::files::folder_of(db)),
            ) {
                (Ok(a), Ok(b)) => a == b,
                _ => false,
            };
            if same {
                return Err(BackupError::SameFolder {
                    folder: folder.into(),
                });
            }
            Ok(())
        }
    }
}

/// A file-system error in a backup folder, by its class: full, read-only, or other.
pub(super) fn io_error(folder: &Path, source: io::Error) -> BackupError {
    let folder = folder.to_owned();
    match source.kind() {
        io::ErrorKind::StorageFull => BackupError::FolderFull { folder },
        io::ErrorKind::ReadOnlyFilesystem => BackupError::FolderReadOnly {
            folder,
            why: ReadOnlyReason::Medium,
        },
        io::ErrorKind::PermissionDenied => BackupError::FolderReadOnly {
            folder,
            why: ReadOnlyReason::Folder,
        },
        _ => BackupError::Io { folder, source },
    }
}

/// A SQLite error while writing a copy in `folder`: a full or read-only disk there is the
/// folder's problem, not the database's.
pub(super) fn folder_error(folder: &Path, e: rusqlite::Error) -> StoreError {
    let folder = folder.to_owned();
    match e.sqlite_error_code() {
        Some(ErrorCode::DiskFull) => BackupError::FolderFull { folder }.into(),
        Some(ErrorCode::ReadOnly | ErrorCode::CannotOpen) => BackupError::FolderReadOnly {
            folder,
            why: ReadOnlyReason::Medium,
        }
        .into(),
        _ => e.into(),
    }
}

/// A private temporary file `.<label>.<uuid>.tmp` in a folder, removed (with any journal SQLite
/// left beside it) unless it was put in place.
pub(super) struct TempFile {
    path: PathBuf,
    folder: PathBuf,
    placed: std::cell::Cell<bool>,
}

impl TempFile {
    pub(super) fn create(folder: &Path, label: &str) -> Result<Self, BackupError> {
        let path = folder.join(format!(".{label}.{}.tmp", uuid::Uuid::new_v4().simple()));
        // 0600 before SQLite opens it: SQLite keeps the mode of an existing file.
        drop(crate::platform::create_private_file(&path).map_err(|e| io_error(folder, e))?);
        Ok(Self {
            path,
            folder: folder.to_owned(),
            placed: std::cell::Cell::new(false),
        })
    }

    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// Flushes the file, renames it to `target` and flushes the folder; returns its size.
    pub(super) fn place(&self, target: &Path) -> Result<u64, BackupError> {
        let io_err = |e| io_error(&self.folder, e);
        let file = fs::OpenOptions::new()
            .write(true)
            .open(&self.path)
            .map_err(io_err)?;
        file.sync_all().map_err(io_err)?;
        let bytes = file.metadata().map_err(io_err)?.len();
        drop(file);
        fs::rename(&self.path, target).map_err(io_err)?;
        self.placed.set(true);
        sync_folder(&self.folder).map_err(io_err)?;
        Ok(bytes)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.placed.get() {
            // Best effort: the copy already failed and that error is what the user sees.
            let _ignored = fs::remove_file(&self.path);
            let _ignored = fs::remove_file(side_file(&self.path, "-journal"));
        }
    }
}

pub(super) fn side_file(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Flushes a folder's entries so a rename survives a power cut (Unix; Windows makes renames
/// durable itself).
pub(super) fn sync_folder(folder: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        fs::File::open(folder)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _unused = folder;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::downtime_id::Code3;

    #[test]
    fn only_this_workstations_backup_names_are_ours() {
        let setup = Setup {
            site: Code3::site("RXX").unwrap(),
            workstation: Code3::workstation("W07").unwrap(),
            wards: vec![],
        };
        let now = DateTime::from_timestamp(1_780_000_000, 0).unwrap();
        assert!(is_backup_of(&backup_name(&setup, now), &setup));
        for other in [
            "stopgap-RXX-W08-20260604T103000.db",
            "stopgap-RXX-W07-20260604T103000.db.keep",
            "stopgap-RXX-W07-2026060XT103000.db",
            "stopgap-RXX-W07-latest.db",
            "notes.txt",
        ] {
            assert!(!is_backup_of(other, &setup), "{other}");
        }
    }
}
