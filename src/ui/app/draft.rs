//! Keeping the form being typed as a draft, so it survives the app closing.

use chrono::{DateTime, Duration, Utc};

use super::{Notice, StopgapApp};

/// The draft is written at most this often while it is being typed.
const DRAFT_SAVE_INTERVAL_MS: i64 = 1000;

/// When the draft was last written, and whether the last write failed.
#[derive(Debug, Default)]
pub(super) struct DraftKeeper {
    dirty: bool,
    saved_at: Option<DateTime<Utc>>,
    /// The last write failed and the user was told; not told again until a write succeeds.
    failing: bool,
}

impl DraftKeeper {
    pub fn mark_dirty(&mut self) {
        self.dirty = true;
    }

    /// The form was saved or cleared: nothing left to keep.
    pub fn forget(&mut self) {
        self.dirty = false;
    }

    pub fn is_dirty(&self) -> bool {
        self.dirty
    }
}

impl StopgapApp {
    /// Writes the draft if it changed, at most once a second (or now, when `force`d). A failure
    /// is reported once, not every second: the notice comes back only after a write has worked.
    pub(super) fn autosave_draft(&mut self, now: DateTime<Utc>, force: bool) {
        let keeper = &mut self.draft;
        if !keeper.dirty {
            return;
        }
        let due = force
            || keeper
                .saved_at
                .is_none_or(|at| now - at >= Duration::milliseconds(DRAFT_SAVE_INTERVAL_MS));
        if !due {
            return;
        }
        let Ok(ready) = &mut self.ready else {
            return;
        };
        if ready.store.read_only().is_some() {
            return; // the banner says nothing can be saved; no notice every second
        }
        keeper.saved_at = Some(now);
        match ready.store.save_draft(&self.screens.form.draft, now) {
            Ok(()) => {
                keeper.dirty = false;
                keeper.failing = false;
            }
            Err(e) => {
                if !keeper.failing {
                    keeper.failing = true;
                    self.notice = Some(Notice::error(format!(
                        "The form could not be kept as a draft (it is still on screen): {}",
                        crate::error::error_chain(&e)
                    )));
                }
            }
        }
    }

    /// Saves the draft and records a clean exit.
    pub fn shutdown(&mut self) {
        let now = super::clock();
        self.autosave_draft(now, true);
        if let Ok(ready) = &mut self.ready
            && let Some(session) = ready.session.take()
            && let Err(e) = ready.store.end_session(session, now)
        {
            eprintln!(
                "stopgap: could not record a clean exit: {}",
                crate::error::error_chain(&e)
            );
        }
    }
}
