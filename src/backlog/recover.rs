//! Recovery of exports a crash (or power cut) interrupted, run at the app's start and at the
//! start of the command line's `export` and `batches`: after it, either a batch is recorded and
//! its file is in place, or neither is.
//!
//! An export creates its temporary file and takes an OS lock on it before it reserves its
//! number, and keeps the lock (on the same file, renamed into place) until its batch is
//! recorded or given back. So a reservation whose file is locked belongs to a live export (in
//! another process or thread) and is left alone; any other reservation is dead, and:
//!
//! - its file is under its final name with the SHA-256 staged in the reservation: the batch is
//!   recorded from the reservation (logged as recovered, by whom and when);
//! - its file never reached its final name: the temporary file is removed and the number and
//!   the requests are given back;
//! - a different file is under its name: nothing is touched, the reservation keeps its
//!   requests, and the user is told to check that file;
//! - its file was staged and renamed but is gone now (moved or deleted after the crash): the
//!   batch is recorded, as its file may have reached the LIMS, and the user is told to re-run it
//!   if it did not.
//!
//! Temporary files of our naming pattern left in these folders by no live writer are removed:
//! they hold patient data. A writer creates its file a moment before it locks it; a recovery
//! falling in that moment removes the file and that write fails cleanly at its rename.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::BacklogError;
use crate::error::error_chain;
use crate::files::{folder_of, is_locked, is_temp_name, sha256_of_file};
use crate::store::{Reservation, Store};

/// What recovery did with one leftover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recovered {
    /// The batch was recorded from its reservation: its file is in place, as the export wrote it.
    Adopted { batch_id: String, path: PathBuf },
    /// The batch was recorded, but its file is no longer where it was written.
    AdoptedFileGone { batch_id: String, path: PathBuf },
    /// The file never reached its name: the number and requests were given back.
    Released { batch_id: String },
    /// A different file is under the batch's name: left alone, the requests kept.
    Differs { batch_id: String, path: PathBuf },
    /// The export's folder cannot be read now (a stick taken out?): checked next time.
    Unreachable { batch_id: String, folder: PathBuf },
    /// A temporary file no live export owns, removed.
    TempRemoved { path: PathBuf, bytes: u64 },
    /// Something could not be done (a file could not be removed or read): what and why.
    Failed(String),
}

impl std::fmt::Display for Recovered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = |p: &Path| super::file_name_of(p);
        match self {
            Recovered::Adopted { batch_id, path } => write!(
                f,
                "{batch_id}: recorded after an interrupted export; its file {} is in place and \
                 is exactly what the export wrote",
                path.display()
            ),
            Recovered::AdoptedFileGone { batch_id, path } => write!(
                f,
                "{batch_id}: recorded after an interrupted export, but its file {} is no longer \
                 there (moved or deleted since); if it did not reach the LIMS, make it again \
                 with `stopgap export --rerun {batch_id} --out FOLDER`",
                path.display()
            ),
            Recovered::Released { batch_id } => write!(
                f,
                "{batch_id}: an interrupted export left no file; nothing was recorded and its \
                 requests are free to export again"
            ),
            Recovered::Differs { batch_id, path } => write!(
                f,
                "{batch_id}: {} differs from what the export wrote; it was not recorded: check \
                 it before sending it, then move it out of {} and its requests are given back \
                 for export at the next start (until then they stay held)",
                name(path),
                folder_of(path).display()
            ),
            Recovered::Unreachable { batch_id, folder } => write!(
                f,
                "{batch_id}: an interrupted export's folder {} cannot be reached now (is the \
                 stick or drive in?); it is checked again at the next start",
                folder.display()
            ),
            Recovered::TempRemoved { path, bytes } => write!(
                f,
                "removed {} ({bytes} bytes), a temporary file an interrupted write left",
                path.display()
            ),
            Recovered::Failed(what) => f.write_str(what),
        }
    }
}

/// What one recovery did, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recovery {
    pub done: Vec<Recovered>,
}

impl Recovery {
    /// Whether there was nothing to recover.
    pub fn is_empty(&self) -> bool {
        self.done.is_empty()
    }

    /// One sentence per thing done, for the command line and the app's notice.
    pub fn lines(&self) -> Vec<String> {
        self.done.iter().map(ToString::to_string).collect()
    }

    /// Whether anything needs the user (a differing file, an unreachable folder, a failure).
    pub fn needs_attention(&self) -> bool {
        self.done.iter().any(|d| {
            matches!(
                d,
                Recovered::AdoptedFileGone { .. }
                    | Recovered::Differs { .. }
                    | Recovered::Unreachable { .. }
                    | Recovered::Failed(_)
            )
        })
    }
}

/// Recovers every export a dead process left (see the module doc), then removes stray
/// temporary files from the folders of those exports and from `folders` (the export folders
/// the caller knows). `user` is recorded as who recovered a batch, at `now`. A read-only
/// database is left as it is.
pub fn recover_exports(
    store: &mut Store,
    user: &str,
    now: DateTime<Utc>,
    folders: &[PathBuf],
) -> Result<Recovery, BacklogError> {
    let mut recovery = Recovery::default();
    if store.read_only().is_some() {
        return Ok(recovery);
    }
    let mut scan: Vec<PathBuf> = folders.to_vec();
    for reservation in store.unrecorded_exports()? {
        scan.push(folder_of(&reservation.target));
        if let Some(done) = recover_one(store, &reservation, user, now)? {
            recovery.done.push(done);
        }
    }
    scan.sort();
    scan.dedup();
    for folder in scan {
        remove_stray_temps(&folder, &mut recovery);
    }
    Ok(recovery)
}

/// Settles one reservation if its export is dead; `None` when it is alive.
fn recover_one(
    store: &mut Store,
    r: &Reservation,
    user: &str,
    now: DateTime<Utc>,
) -> Result<Option<Recovered>, BacklogError> {
    let batch_id = r.header.batch_id.clone();
    let folder = folder_of(&r.target);
    if r.target.as_os_str().is_empty() || !folder.is_dir() {
        return Ok(Some(Recovered::Unreachable { batch_id, folder }));
    }
    let temp = r.temp.as_deref().filter(|t| t.exists());
    let target = r.target.exists().then_some(r.target.as_path());
    // The lock is on the temporary file, which becomes the final file at the rename.
    let live = [temp, target]
        .into_iter()
        .flatten()
        .any(|p| is_locked(p) != Some(false));
    if live {
        return Ok(None);
    }
    let done = match (target, &r.staged) {
        (Some(path), Some(staged)) => match sha256_of_file(path) {
            Ok((sha, bytes)) if sha == staged.sha256 && bytes == staged.bytes => {
                store.adopt_reservation(r.header.number, user, now)?;
                Recovered::Adopted {
                    batch_id,
                    path: path.to_owned(),
                }
            }
            Ok(_) => Recovered::Differs {
                batch_id,
                path: path.to_owned(),
            },
            Err(e) => Recovered::Failed(format!(
                "{batch_id}: could not read {} to check it ({e}); it is checked again at the \
                 next start",
                path.display()
            )),
        },
        // Nothing of ours can be under the name before the SHA-256 is staged.
        (Some(path), None) => Recovered::Differs {
            batch_id,
            path: path.to_owned(),
        },
        // Staged, renamed (no temporary file is left) and gone since: it may be in the LIMS.
        (None, Some(_)) if temp.is_none() && r.temp.is_some() => {
            store.adopt_reservation(r.header.number, user, now)?;
            Recovered::AdoptedFileGone {
                batch_id,
                path: r.target.clone(),
            }
        }
        (None, _) => {
            // The temporary file goes first: if the release then fails, the next start finds
            // a reservation that never reached its name and releases it.
            if let Some(t) = temp
                && let Err(e) = std::fs::remove_file(t)
            {
                return Ok(Some(Recovered::Failed(format!(
                    "{batch_id}: could not remove its temporary file {} ({e}); it is tried \
                     again at the next start",
                    t.display()
                ))));
            }
            store.release_reservation(r.header.number)?;
            Recovered::Released { batch_id }
        }
    };
    // An export killed between linking its file into place and removing the temporary name
    // leaves both: once the batch is recorded, the temporary name is only a second copy.
    if matches!(done, Recovered::Adopted { .. })
        && let Some(t) = temp
        && let Err(e) = std::fs::remove_file(t)
    {
        return Ok(Some(Recovered::Failed(format!(
            "{done}; but its temporary copy {} could not be removed ({}): delete it",
            t.display(),
            error_chain(&e)
        ))));
    }
    Ok(Some(done))
}

/// Removes our temporary files in `folder` that no live writer holds.
fn remove_stray_temps(folder: &Path, recovery: &mut Recovery) {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !is_temp_name(&name) || !entry.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        let path = entry.path();
        if is_locked(&path) != Some(false) {
            continue;
        }
        let bytes = entry.metadata().map(|m| m.len()).unwrap_or_default();
        recovery.done.push(match std::fs::remove_file(&path) {
            Ok(()) => Recovered::TempRemoved { path, bytes },
            Err(e) => Recovered::Failed(format!(
                "could not remove {}, a temporary file an interrupted write left ({e}): delete it",
                path.display()
            )),
        });
    }
}
