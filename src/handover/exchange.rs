//! A PC's side of the handover, shared by the command line and (later) the app: write this PC's
//! outbox bundle atomically, and import bundles from other PCs, each all or nothing.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::read::read_bundle_file_opened;
use super::{BundleError, Source, WriteError, write_bundle};
use crate::files::{Overwrite, Sealing, Unsealing, write_atomic_sealed};
use crate::store::{Imported, Incoming, Store, StoreError};

/// Why a handover could not be made; nothing half-done is left (no partial file, no partial
/// import).
#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    #[error(transparent)]
    Bundle(#[from] BundleError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the handover bundle was not written")]
    File(#[source] crate::files::WriteError),
    #[error(
        "this PC is not set up yet (site and workstation codes): run the app or stopgap setup first"
    )]
    NotSetUp,
    #[error(
        "the handover folder {} is not there: plug in the USB stick, or check that the shared \
         folder is still reachable",
        .path.display()
    )]
    NoFolder { path: PathBuf },
    #[error("the handover folder {} could not be read", .path.display())]
    Folder {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{} is not this PC's handover bundle ({found}), so it is not replaced: another PC may be \
         set up with this workstation code; move that file away or check both PCs' set-up",
        .path.display()
    )]
    NotOurOutbox { path: PathBuf, found: String },
}

/// A bundle written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exported {
    pub path: PathBuf,
    pub events: u64,
    pub requests: u64,
    /// The SHA-256 in the bundle's trailer (of its content before the trailer).
    pub content_sha256: String,
    pub bytes: u64,
}

/// Writes every event this PC holds (recorded at or after `since`, when given) into a new
/// bundle at `path`, unencrypted: the handover folder's own exchange between the hospital's
/// PCs (see `folder.rs`). A bundle for a USB stick goes through [`export_bundle_sealed`].
pub fn export_bundle(
    store: &Store,
    path: &Path,
    since: Option<DateTime<Utc>>,
    overwrite: Overwrite,
    now: DateTime<Utc>,
) -> Result<Exported, ExchangeError> {
    export_bundle_sealed(
        store,
        path,
        since,
        overwrite,
        now,
        &Sealing::plaintext_confirmed(),
    )
}

/// [`export_bundle`] through `sealing`: under a temporary name first, so a reader never sees
/// half a bundle, and encrypted before it reaches the disk (the name then ends `.age`).
pub fn export_bundle_sealed(
    store: &Store,
    path: &Path,
    since: Option<DateTime<Utc>>,
    overwrite: Overwrite,
    now: DateTime<Utc>,
    sealing: &Sealing,
) -> Result<Exported, ExchangeError> {
    let setup = store.setup()?.ok_or(ExchangeError::NotSetUp)?;
    let events = store.handover_events(since)?;
    let source = Source {
        site: setup.site,
        workstation: setup.workstation,
        written_at: now,
        training: store.has_training_data()?,
    };
    let name = crate::backlog::file_name_of(path);
    let path = &path.with_file_name(sealing.file_name(&name));
    let mut content_sha256 = String::new();
    let written = write_atomic_sealed(path, overwrite, sealing, |w| -> Result<(), WriteError> {
        content_sha256 = write_bundle(w, &source, &events)?.sha256;
        Ok(())
    })
    .map_err(ExchangeError::File)?;
    let requests: BTreeSet<_> = events.iter().map(|e| e.request_uuid).collect();
    Ok(Exported {
        path: written.path,
        events: events.len() as u64,
        requests: requests.len() as u64,
        content_sha256,
        bytes: written.bytes,
    })
}

/// Reads and checks the bundle at `path` whole, then imports its events in one transaction.
pub fn import_bundle(
    store: &mut Store,
    path: &Path,
    user: &str,
    now: DateTime<Utc>,
) -> Result<Imported, ExchangeError> {
    import_bundle_opened(store, path, user, now, None)
}

/// [`import_bundle`] of a bundle that may be encrypted with age, opened with `key`.
pub fn import_bundle_opened(
    store: &mut Store,
    path: &Path,
    user: &str,
    now: DateTime<Utc>,
    key: Option<&Unsealing>,
) -> Result<Imported, ExchangeError> {
    let bundle = read_bundle_file_opened(path, key)?;
    Ok(store.import_events(&bundle.incoming(), user, now)?)
}

impl super::Bundle {
    /// The bundle as the store's import takes it.
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming {
            sha256: &self.summary.sha256,
            site: &self.source.site,
            workstation: &self.source.workstation,
            written_at: self.source.written_at,
            training: self.source.training,
            events: &self.events,
        }
    }
}
