//! The workstation's settings: its set-up (site, workstation, wards) and the test catalogue in
//! use, whose every version is kept.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::{Store, StoreError};
use crate::domain::audit::{AuditAction, AuditEntry};
use crate::domain::catalogue::Catalogue;
use crate::domain::downtime_id::Code3;
use crate::domain::ward::{Ward, check_list};

/// What identifies this workstation, chosen on the first-run screen.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Setup {
    pub site: Code3,
    pub workstation: Code3,
    /// Wards and locations offered on the form, each with its code for export. A set-up stored
    /// by an older Stopgap holds names only; they read back with derived codes.
    pub wards: Vec<Ward>,
}

impl Store {
    pub(super) fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()?)
    }

    /// The workstation's set-up, or `None` before the first-run screen has been completed.
    pub fn setup(&self) -> Result<Option<Setup>, StoreError> {
        match self.setting("setup")? {
            None => Ok(None),
            Some(json) => Ok(Some(serde_json::from_str(&json)?)),
        }
    }

    /// The workstation's wards (none before set-up), for export to look codes up by name.
    pub fn wards(&self) -> Result<Vec<Ward>, StoreError> {
        Ok(self.setup()?.map(|s| s.wards).unwrap_or_default())
    }

    /// Saves the workstation's set-up, refusing a ward list with a code or a name twice (and
    /// then keeping the set-up as it was).
    pub fn configure(&mut self, setup: &Setup) -> Result<(), StoreError> {
        self.require(crate::domain::access::Permission::Settings)?;
        check_list(&setup.wards)?;
        self.conn.execute(
            "INSERT INTO settings(key, value) VALUES ('setup', ?1)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [serde_json::to_string(setup)?],
        )?;
        Ok(())
    }

    pub(super) fn require_setup(&self) -> Result<Setup, StoreError> {
        self.setup()?.ok_or(StoreError::NotSetUp)
    }

    // ---- Catalogue ------------------------------------------------------------------------

    /// The catalogue in use: the newest stored one, or the shipped default.
    pub fn catalogue(&self) -> Result<Catalogue, StoreError> {
        let stored: Option<String> = self
            .conn
            .query_row(
                "SELECT toml FROM catalogue_versions ORDER BY id DESC LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()?;
        match stored {
            Some(text) => Ok(Catalogue::from_toml(&text)?),
            None => Ok(Catalogue::default_uk()?),
        }
    }

    /// Replaces the catalogue in use after checking it; earlier versions are kept.
    pub fn set_catalogue(
        &mut self,
        catalogue: &Catalogue,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        catalogue.check()?;
        self.write(|tx| {
            tx.execute(
                "INSERT INTO catalogue_versions(toml, set_ms, set_by) VALUES (?1, ?2, ?3)",
                params![catalogue.to_toml(), now.timestamp_millis(), by],
            )?;
            let entry = AuditEntry {
                action: AuditAction::SettingsChanged,
                staff_id: String::new(),
                user_name: by.to_owned(),
                subject: "test catalogue".into(),
                detail: format!("version {}", tx.last_insert_rowid()),
            };
            super::audit::append_in(tx, &entry, now)?;
            Ok(())
        })
    }
}

/// Writes one workstation setting and records it in the settings log (who, when, the new value),
/// and in the audit log, inside the caller's write transaction: a setting never changes without
/// its records.
pub(super) fn set_logged(
    tx: &rusqlite::Connection,
    key: &str,
    value: &str,
    workstation: &Code3,
    user: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO settings(key, value) VALUES (?1, ?2)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    tx.execute(
        "INSERT INTO settings_log(key, value, at_ms, workstation, user_name)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            key,
            value,
            now.timestamp_millis(),
            workstation.as_str(),
            user.trim()
        ],
    )?;
    let entry = AuditEntry {
        action: AuditAction::SettingsChanged,
        staff_id: String::new(),
        user_name: user.to_owned(),
        subject: key.to_owned(),
        detail: value.to_owned(),
    };
    super::audit::append_in(tx, &entry, now)?;
    Ok(())
}
