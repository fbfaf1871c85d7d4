//! The whole-file check (`verify`: SQLite's integrity check, then every request against its
//! history), run on its own thread as the window opens, so the first
//! frame never waits for every page of a large file to be read (seconds after a reboot).
//!
//! What may be written meanwhile: everything. Ward saves go on during the check, as they would
//! during the minutes before it ran; a save is a transaction SQLite either completes or rolls
//! back, whatever the check will find. If the check finds damage, the app switches to the
//! damaged-file screen at once, which says to copy the file aside (saves made meanwhile included)
//! and to go back to paper; nothing is written after that.

use std::path::Path;
use std::sync::mpsc::{self, Receiver, TryRecvError};

use crate::store::{Store, StoreError, VerifyReport};

/// A check under way, or none.
#[derive(Default)]
pub(super) struct IntegrityCheck {
    answer: Option<Receiver<Result<VerifyReport, StoreError>>>,
}

impl IntegrityCheck {
    /// Starts checking the database at `path` on a thread of its own.
    pub(super) fn start(path: &Path) -> Self {
        let (tx, rx) = mpsc::channel();
        let path = path.to_owned();
        std::thread::spawn(move || {
            // The window may have closed first; nobody is left to tell.
            let _ = tx.send(Store::check_integrity(&path));
        });
        Self { answer: Some(rx) }
    }

    /// Whether the check is still running.
    pub(super) fn is_running(&self) -> bool {
        self.answer.is_some()
    }

    /// The check's answer once it has one (given once).
    pub(super) fn poll(&mut self) -> Option<Result<VerifyReport, StoreError>> {
        let rx = self.answer.as_ref()?;
        let answer = match rx.try_recv() {
            Ok(answer) => answer,
            Err(TryRecvError::Empty) => return None,
            Err(TryRecvError::Disconnected) => Err(StoreError::Corrupt(
                "the integrity check stopped without an answer".into(),
            )),
        };
        self.answer = None;
        Some(answer)
    }
}
