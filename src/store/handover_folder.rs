//! The app's handover folder on the store's side: where this PC leaves its outbox and picks up
//! other PCs' bundles (a USB stick or a share that is still up), whether it watches that folder,
//! and what it needs to know to skip work already done.

use std::path::PathBuf;

use chrono::{DateTime, Utc};

use super::{Store, StoreError};

/// Minutes between the app's visits to a watched folder until someone changes it.
pub const DEFAULT_HANDOVER_INTERVAL_MINUTES: u32 = 5;
const SETTINGS_KEY: &str = "handover_folder";

/// Where the app exchanges bundles, and whether it does so by itself.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HandoverSettings {
    /// No folder: handover only when someone asks, to a folder typed then.
    pub folder: Option<PathBuf>,
    /// Every `interval_minutes`: write this PC's outbox there and import the bundles that are
    /// new or changed.
    pub watch: bool,
    pub interval_minutes: u32,
}

impl Default for HandoverSettings {
    fn default() -> Self {
        Self {
            folder: None,
            watch: false,
            interval_minutes: DEFAULT_HANDOVER_INTERVAL_MINUTES,
        }
    }
}

/// A handover setting that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandoverSettingsError {
    #[error("the handover interval must be 1 to 120 minutes")]
    Interval,
    #[error(
        "the handover folder must be a full path (such as E:\\handover or /media/usb/handover)"
    )]
    RelativeFolder,
    #[error("choose a handover folder before watching it")]
    WatchWithoutFolder,
}

impl HandoverSettings {
    /// Refuses values the app could not work with.
    pub fn check(&self) -> Result<(), HandoverSettingsError> {
        if !(1..=120).contains(&self.interval_minutes) {
            return Err(HandoverSettingsError::Interval);
        }
        match &self.folder {
            Some(f) if !f.is_absolute() => Err(HandoverSettingsError::RelativeFolder),
            None if self.watch => Err(HandoverSettingsError::WatchWithoutFolder),
            _ => Ok(()),
        }
    }
}

impl Store {
    /// The handover folder settings: as last set, or the defaults (no folder, not watched,
    /// every 5 minutes).
    pub fn handover_settings(&self) -> Result<HandoverSettings, StoreError> {
        match self.setting(SETTINGS_KEY)? {
            None => Ok(HandoverSettings::default()),
            Some(json) => Ok(serde_json::from_str(&json)?),
        }
    }

    /// Sets the handover folder settings after checking them, recording who and when in the
    /// settings log, in one transaction.
    pub fn set_handover_settings(
        &mut self,
        settings: &HandoverSettings,
        user: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        settings.check()?;
        let setup = self.require_setup()?;
        let value = serde_json::to_string(settings)?;
        self.write(|tx| {
            super::settings::set_logged(tx, SETTINGS_KEY, &value, &setup.workstation, user, now)
        })
    }

    /// Whether a bundle with this content SHA-256 was imported here before (a bundle is
    /// imported whole or not at all, so it brings nothing new a second time).
    pub fn bundle_imported(&self, sha256: &str) -> Result<bool, StoreError> {
        Ok(self.conn.query_row(
            "SELECT EXISTS(SELECT 1 FROM handover_imports WHERE sha256 = ?1)",
            [sha256.to_ascii_lowercase()],
            |r| r.get(0),
        )?)
    }

    /// A number that grows whenever this PC stores an event (its own or imported): an outbox
    /// written at the same number holds everything there is.
    pub fn events_high_water(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT coalesce(max(seq), 0) FROM events", [], |r| r.get(0))?)
    }
}
