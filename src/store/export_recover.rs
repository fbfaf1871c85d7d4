//! What recovery after an interrupted export needs from the store: the staged file recorded in
//! a reservation just before its rename, the batch recorded later from the reservation alone,
//! and which recorded batch wrote a given file (so `--force` never replaces one). The files
//! themselves are the shell's (`backlog::recover`).

use std::path::Path;

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::batches::WRITER_VERSION;
use super::export_run::{ExportLog, record_reserved};
use super::rows::ms_to_time;
use super::{Store, StoreError};
use crate::store::{BatchFile, BatchRecord, BatchTruncation, ExportOptions, ExportSelection};

/// The values a file holds shortened, as JSON kept in the reservation until the batch is
/// recorded.
fn truncations_json(truncations: &[BatchTruncation]) -> String {
    serde_json::Value::Array(
        truncations
            .iter()
            .map(|t| {
                serde_json::json!({
                    "downtime_id": t.downtime_id,
                    "field": t.field,
                    "length": t.length,
                    "limit": t.limit,
                })
            })
            .collect(),
    )
    .to_string()
}

fn truncations_from_json(text: &str) -> Result<Vec<BatchTruncation>, StoreError> {
    let bad = || StoreError::Corrupt("a reservation's truncations could not be read".into());
    let value: serde_json::Value = serde_json::from_str(text)?;
    value
        .as_array()
        .ok_or_else(bad)?
        .iter()
        .map(|t| {
            Ok(BatchTruncation {
                downtime_id: t["downtime_id"].as_str().ok_or_else(bad)?.to_owned(),
                field: t["field"].as_str().ok_or_else(bad)?.to_owned(),
                length: t["length"].as_u64().ok_or_else(bad)?,
                limit: t["limit"].as_u64().ok_or_else(bad)?,
            })
        })
        .collect()
}

impl Store {
    /// Records in reservation `number` the complete file's SHA-256 and size and the values it
    /// holds shortened, in one tiny write transaction, just before the file is renamed into
    /// place: from then on the batch can be recorded from the reservation alone.
    pub fn stage_file(
        &mut self,
        number: i64,
        file: &BatchFile,
        truncations: &[BatchTruncation],
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            let n = tx.execute(
                "UPDATE export_reservations SET sha256 = ?2, bytes = ?3, truncations = ?4
                 WHERE number = ?1",
                params![
                    number,
                    file.sha256,
                    i64::try_from(file.bytes).unwrap_or(i64::MAX),
                    truncations_json(truncations),
                ],
            )?;
            if n != 1 {
                return Err(StoreError::Corrupt(format!(
                    "batch {number} is not reserved (was it recovered meanwhile?)"
                )));
            }
            Ok(())
        })
    }

    /// Records reserved batch `number` from its reservation alone, after a crash left its file
    /// in place (the caller has checked the file's SHA-256 against the staged one). The batch
    /// keeps who exported it and when; the log says it was recovered, by `user` on this
    /// workstation at `now`. Refused when the reservation has no staged file or was written by
    /// a Stopgap that did not record enough to rebuild the batch.
    pub fn adopt_reservation(
        &mut self,
        number: i64,
        user: &str,
        now: DateTime<Utc>,
    ) -> Result<BatchRecord, StoreError> {
        let workstation = self.require_setup()?.workstation.to_string();
        self.write(|tx| {
            let unreadable = |what: &str| {
                StoreError::Corrupt(format!(
                    "batch {number}'s reservation has no {what}: it cannot be recorded"
                ))
            };
            let row = tx
                .query_row(
                    "SELECT batch_id, target, reserved_ms, workstation, user_name, format,
                        profile_name, profile_toml, options, selection, sha256, bytes,
                        truncations
                     FROM export_reservations WHERE number = ?1",
                    [number],
                    |r| {
                        Ok((
                            (
                                r.get::<_, String>(0)?,
                                r.get::<_, String>(1)?,
                                r.get::<_, i64>(2)?,
                                r.get::<_, String>(3)?,
                                r.get::<_, String>(4)?,
                            ),
                            (
                                r.get::<_, Option<String>>(5)?,
                                r.get::<_, Option<String>>(6)?,
                                r.get::<_, Option<String>>(7)?,
                                r.get::<_, Option<String>>(8)?,
                                r.get::<_, Option<String>>(9)?,
                            ),
                            (
                                r.get::<_, Option<String>>(10)?,
                                r.get::<_, Option<i64>>(11)?,
                                r.get::<_, Option<String>>(12)?,
                            ),
                        ))
                    },
                )
                .optional()?
                .ok_or_else(|| StoreError::Corrupt(format!("batch {number} is not reserved")))?;
            let ((batch_id, target, reserved_ms, reserved_on, exporter), spec, staged) = row;
            let (Some(format), Some(profile_name), Some(profile_toml), Some(options), Some(sel)) =
                spec
            else {
                return Err(unreadable("export settings (an older Stopgap reserved it)"));
            };
            let (Some(sha256), Some(bytes), truncations) = staged else {
                return Err(unreadable("complete file"));
            };
            let items: Vec<(String, String)> = {
                let mut st = tx.prepare(
                    "SELECT request_uuid, last_event FROM export_claims WHERE number = ?1
                     ORDER BY position",
                )?;
                let rows = st.query_map([number], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
                })?;
                let mut items = Vec::new();
                for row in rows {
                    let (uuid, last_event) = row?;
                    items.push((
                        uuid,
                        last_event.ok_or_else(|| unreadable("request events"))?,
                    ));
                }
                items
            };
            let target = Path::new(&target);
            let mut record = BatchRecord {
                number,
                batch_id,
                format,
                profile_name,
                profile_toml,
                options: serde_json::from_str::<ExportOptions>(&options)?,
                selection: serde_json::from_str::<ExportSelection>(&sel)?,
                generated_at: ms_to_time(reserved_ms)?,
                workstation: reserved_on,
                user: exporter,
                file_name: target
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                sha256,
                bytes: u64::try_from(bytes).unwrap_or_default(),
                request_count: items.len() as u64,
                writer_version: Some(WRITER_VERSION.to_owned()),
                truncations: match truncations {
                    Some(t) => truncations_from_json(&t)?,
                    None => Vec::new(),
                },
                audit_head: None,
            };
            let log = ExportLog {
                action: "recovered",
                at: now,
                workstation: &workstation,
                user: user.trim(),
            };
            record_reserved(tx, &mut record, target, &items, &log)?;
            Ok(record)
        })
    }

    /// The recorded batch whose file was written to `path`, or whose SHA-256 is `sha256` (a
    /// batch from before paths were recorded, or a file moved since), if any.
    pub fn batch_that_wrote(
        &self,
        path: &Path,
        sha256: Option<&str>,
    ) -> Result<Option<BatchRecord>, StoreError> {
        let by_path: Option<i64> = self
            .conn
            .query_row(
                "SELECT batch FROM export_batch_paths WHERE path = ?1 ORDER BY batch DESC",
                [path.to_string_lossy()],
                |r| r.get(0),
            )
            .optional()?;
        let number = match (by_path, sha256) {
            (Some(n), _) => Some(n),
            (None, Some(sha)) => self
                .conn
                .query_row(
                    "SELECT number FROM export_batches WHERE sha256 = ?1 ORDER BY number DESC",
                    [sha],
                    |r| r.get(0),
                )
                .optional()?,
            (None, None) => None,
        };
        match number {
            Some(n) => self.batch(n),
            None => Ok(None),
        }
    }

    /// When batches were recovered after a crash: `(batch_id, at, user)` for each, newest first.
    pub fn recovered_batches(&self) -> Result<Vec<(String, DateTime<Utc>, String)>, StoreError> {
        let mut st = self.conn.prepare(
            "SELECT b.batch_id, l.at_ms, l.user_name FROM export_log l
             JOIN export_batches b ON b.number = l.batch
             WHERE l.action = 'recovered' ORDER BY l.id DESC",
        )?;
        let mut rows = st.query([])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push((r.get(0)?, ms_to_time(r.get(1)?)?, r.get(2)?));
        }
        Ok(out)
    }
}
