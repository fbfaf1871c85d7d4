//! What outlives one run of the app: the form being typed (kept as a draft so it survives the
//! app closing) and the sessions (so an unclean exit is noticed at the next start).

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::{QueueRow, Store, StoreError, rows};
use crate::domain::request::RequestDraft;

impl Store {
    // ---- Drafts ---------------------------------------------------------------------------

    /// Keeps the form being typed, so it survives the app closing.
    pub fn save_draft(
        &mut self,
        draft: &RequestDraft,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO drafts(slot, payload, saved_ms) VALUES ('form', ?1, ?2)
             ON CONFLICT(slot) DO UPDATE SET payload = excluded.payload, saved_ms = excluded.saved_ms",
            params![serde_json::to_string(draft)?, now.timestamp_millis()],
        )?;
        Ok(())
    }

    pub fn load_draft(&self) -> Result<Option<RequestDraft>, StoreError> {
        Ok(self.load_draft_at()?.map(|(draft, _)| draft))
    }

    /// The kept draft and when it was last written (the form says "Draft from 07:58 restored").
    pub fn load_draft_at(&self) -> Result<Option<(RequestDraft, DateTime<Utc>)>, StoreError> {
        let row: Option<(String, i64)> = self
            .conn
            .query_row(
                "SELECT payload, saved_ms FROM drafts WHERE slot = 'form'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        match row {
            None => Ok(None),
            Some((j, ms)) => Ok(Some((serde_json::from_str(&j)?, rows::ms_to_time(ms)?))),
        }
    }

    /// Forgets the draft (after it was saved as a request, or the user cleared the form).
    pub fn clear_draft(&mut self) -> Result<(), StoreError> {
        self.conn
            .execute("DELETE FROM drafts WHERE slot = 'form'", [])?;
        Ok(())
    }

    // ---- Sessions -------------------------------------------------------------------------

    /// Records that the app started. Returns the requests this workstation saved during the
    /// previous session if that session did not end cleanly (the app was killed or crashed), so
    /// the user can check them.
    pub fn begin_session(
        &mut self,
        now: DateTime<Utc>,
    ) -> Result<(i64, Vec<QueueRow>), StoreError> {
        let setup = self.require_setup()?;
        let ws = setup.workstation.as_str();
        let previous: Option<(i64, Option<i64>)> = self
            .conn
            .query_row(
                "SELECT started_ms, ended_ms FROM sessions WHERE workstation = ?1 ORDER BY id DESC LIMIT 1",
                [ws],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let unclean_saves = match previous {
            Some((started, None)) => self.saved_since(ws, started, 20)?,
            _ => Vec::new(),
        };
        self.conn.execute(
            "INSERT INTO sessions(workstation, started_ms) VALUES (?1, ?2)",
            params![ws, now.timestamp_millis()],
        )?;
        Ok((self.conn.last_insert_rowid(), unclean_saves))
    }

    /// Records a clean exit.
    pub fn end_session(&mut self, session: i64, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE sessions SET ended_ms = ?1 WHERE id = ?2",
            params![now.timestamp_millis(), session],
        )?;
        Ok(())
    }
}
