//! The handover folder: one place (a USB stick carried with the samples, or a share that is
//! still up) where each PC leaves its outbox and picks up everyone else's, by hand ("Send to
//! lab", "Receive from wards") or every few minutes when the app watches the folder.
//!
//! - A PC's outbox is one file, `stopgap-SITE-WORKSTATION.bundle`, holding every event the PC
//!   knows (its own and those it imported, so the lab relays the wards' events to each other).
//!   It is replaced atomically, and only if the file there is this PC's own earlier outbox: a
//!   file under that name written by any other PC is left alone and reported (two PCs set up
//!   with one workstation code would otherwise wipe each other's bundles).
//! - Receiving reads every other `*.bundle` in the folder, each whole and all or nothing, and
//!   skips a bundle already imported (by its content SHA-256) or a file unchanged since the last
//!   visit (by size and modification time), so a watched folder costs almost nothing while
//!   nothing changes. A refused file is reported once and remembered until it changes.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use chrono::{DateTime, Utc};

use super::exchange::{ExchangeError, Exported, export_bundle};
use super::read::{read_bundle_file, read_source_file};
use crate::domain::downtime_id::Code3;
use crate::files::Overwrite;
use crate::store::{Imported, Store};

/// The file-name extension of a bundle in a handover folder.
pub const BUNDLE_EXTENSION: &str = "bundle";

/// The name of a PC's outbox in the handover folder.
pub fn outbox_name(site: &Code3, workstation: &Code3) -> String {
    format!(
        "stopgap-{}-{}.{BUNDLE_EXTENSION}",
        site.as_str(),
        workstation.as_str()
    )
}

/// What sending did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    /// The outbox was written (or replaced).
    Written(Exported),
    /// The outbox there already holds every event this PC has: not written again.
    UpToDate { path: PathBuf },
}

/// One bundle of the folder, as received.
#[derive(Debug)]
pub struct Received {
    pub path: PathBuf,
    pub outcome: Result<ReceivedOutcome, ExchangeError>,
}

/// A bundle taken in.
#[derive(Debug, Clone, PartialEq)]
pub enum ReceivedOutcome {
    Imported(Imported),
    /// This very bundle (same content SHA-256) was imported before: nothing new in it.
    AlreadyImported,
}

/// A file's size and modification time: unchanged, it is not read again.
type Stamp = (u64, Option<SystemTime>);

/// What a PC remembers between visits to its handover folder (for the app's session).
#[derive(Debug, Default)]
pub struct Seen {
    /// Each file taken in or refused, by size and modification time.
    files: HashMap<PathBuf, Stamp>,
    /// Files refused and unchanged since, with why, in words.
    refused: BTreeMap<PathBuf, String>,
    /// The store's event high-water mark when the outbox was last written, and where.
    outbox: Option<(PathBuf, i64)>,
}

impl Seen {
    /// Files in the folder refused and not changed since, with the reason in words.
    pub fn refused(&self) -> &BTreeMap<PathBuf, String> {
        &self.refused
    }
}

/// What one visit to the folder did.
#[derive(Debug)]
pub struct Visited {
    /// The bundles taken in or refused, or why the folder could not be read; `None` when only
    /// sending.
    pub received: Option<Result<Vec<Received>, ExchangeError>>,
    /// The outbox, or why it was not written; `None` when only receiving, or when the folder
    /// could not be read.
    pub sent: Option<Result<Sent, ExchangeError>>,
}

/// One visit to `folder`: the bundles there taken in first (`receive`), then this PC's outbox
/// written (`send`), so that it carries what just came in: a lab relays the wards' events to
/// each other in one visit.
pub fn visit(
    store: &mut Store,
    folder: &Path,
    user: &str,
    seen: &mut Seen,
    (send_out, take_in): (bool, bool),
    now: DateTime<Utc>,
) -> Visited {
    let received = take_in.then(|| receive(store, folder, user, seen, now));
    let folder_failed = matches!(received, Some(Err(_)));
    let sent = (send_out && !folder_failed).then(|| send(store, folder, seen, now));
    Visited { received, sent }
}

/// Writes this PC's outbox into `folder`, unless the one there already holds everything.
pub fn send(
    store: &Store,
    folder: &Path,
    seen: &mut Seen,
    now: DateTime<Utc>,
) -> Result<Sent, ExchangeError> {
    check_folder(folder)?;
    let setup = store.setup()?.ok_or(ExchangeError::NotSetUp)?;
    let path = folder.join(outbox_name(&setup.site, &setup.workstation));
    let high_water = store.events_high_water()?;
    let exists = path.exists();
    if exists {
        // Only this PC's own earlier outbox is replaced.
        let found = match read_source_file(&path) {
            Ok(s) if s.site == setup.site && s.workstation == setup.workstation => None,
            Ok(s) => Some(format!(
                "it was written by workstation {} of site {}",
                s.workstation, s.site
            )),
            Err(e) => Some(format!(
                "it is not a readable bundle: {}",
                crate::error::error_chain(&e)
            )),
        };
        if let Some(found) = found {
            return Err(ExchangeError::NotOurOutbox { path, found });
        }
        if seen.outbox.as_ref() == Some(&(path.clone(), high_water)) {
            return Ok(Sent::UpToDate { path });
        }
    }
    let overwrite = if exists {
        Overwrite::Replace
    } else {
        Overwrite::Refuse
    };
    let made = export_bundle(store, &path, None, overwrite, now)?;
    seen.outbox = Some((path, high_water));
    Ok(Sent::Written(made))
}

/// Imports every bundle in `folder` other than this PC's outbox that is new or changed since
/// the last visit, each whole or not at all, in file-name order; `user` is recorded with each
/// import. A refused bundle does not stop the others.
pub fn receive(
    store: &mut Store,
    folder: &Path,
    user: &str,
    seen: &mut Seen,
    now: DateTime<Utc>,
) -> Result<Vec<Received>, ExchangeError> {
    check_folder(folder)?;
    let setup = store.setup()?.ok_or(ExchangeError::NotSetUp)?;
    let own = outbox_name(&setup.site, &setup.workstation);
    let files = bundles_in(folder, &own)?;
    // A file gone from the folder is no longer refused.
    seen.refused
        .retain(|p, _| files.iter().any(|(f, _)| f == p));
    let mut out = Vec::new();
    for (path, stamp) in files {
        if seen.files.get(&path) == Some(&stamp) {
            continue;
        }
        let outcome = receive_one(store, &path, user, now);
        match &outcome {
            Ok(_) => {
                seen.refused.remove(&path);
            }
            Err(e) => {
                seen.refused
                    .insert(path.clone(), crate::error::error_chain(e));
            }
        }
        seen.files.insert(path.clone(), stamp);
        out.push(Received { path, outcome });
    }
    Ok(out)
}

fn receive_one(
    store: &mut Store,
    path: &Path,
    user: &str,
    now: DateTime<Utc>,
) -> Result<ReceivedOutcome, ExchangeError> {
    let bundle = read_bundle_file(path)?;
    if store.bundle_imported(&bundle.summary.sha256)? {
        return Ok(ReceivedOutcome::AlreadyImported);
    }
    Ok(ReceivedOutcome::Imported(store.import_events(
        &bundle.incoming(),
        user,
        now,
    )?))
}

fn check_folder(folder: &Path) -> Result<(), ExchangeError> {
    match std::fs::metadata(folder) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(ExchangeError::Folder {
            path: folder.to_owned(),
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "it is a file, not a folder",
            ),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(ExchangeError::NoFolder {
            path: folder.to_owned(),
        }),
        Err(source) => Err(ExchangeError::Folder {
            path: folder.to_owned(),
            source,
        }),
    }
}

/// The bundles in `folder` (regular files named `*.bundle`, not hidden, not `own`), by name,
/// each with its size and modification time.
fn bundles_in(folder: &Path, own: &str) -> Result<Vec<(PathBuf, Stamp)>, ExchangeError> {
    let folder_err = |source| ExchangeError::Folder {
        path: folder.to_owned(),
        source,
    };
    let mut out = Vec::new();
    for entry in std::fs::read_dir(folder).map_err(folder_err)? {
        let entry = entry.map_err(folder_err)?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            continue;
        };
        let is_bundle = Path::new(name)
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case(BUNDLE_EXTENSION));
        // Hidden names are temporary files of a bundle still being written.
        if !is_bundle || name.starts_with('.') || name.eq_ignore_ascii_case(own) {
            continue;
        }
        // A file that vanished between listing and reading is simply not there.
        let Ok(meta) = std::fs::metadata(entry.path()) else {
            continue;
        };
        if meta.is_file() {
            out.push((entry.path(), (meta.len(), meta.modified().ok())));
        }
    }
    out.sort();
    Ok(out)
}
