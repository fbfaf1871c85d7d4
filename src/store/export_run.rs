//! One export, in three short steps, so that a large file never holds the write lock that ward
//! saves need:
//!
//! 1. [`Store::export_snapshot`] reads the selected requests in one read transaction (a WAL
//!    snapshot: ward saves carry on meanwhile, and every request is read as of one instant).
//! 2. [`Store::reserve_export`] takes the batch number in a tiny write transaction, recording the
//!    file's final path, its temporary file (already created and locked by the shell), and
//!    everything the batch record needs: spec, selection, and each claimed request's place and
//!    the event it is exported at. The number has to be known before the file is written (it is
//!    inside the file and its name); reserving it means two exports at once never share a
//!    number, and a file left by an interrupted export is never named like a later batch. The
//!    same transaction claims the snapshot's requests: if another export in progress has
//!    claimed any of them, or a batch recorded since the snapshot holds any, the reservation is
//!    refused ([`ExportClaimed`]) and nothing is written, so two exports at once never both send
//!    a request.
//! 3. The shell writes the temporary file and flushes it, records its SHA-256 and size in the
//!    reservation ([`Store::stage_file`], a tiny write transaction), renames it into place, then
//!    [`Store::record_batch`] records the batch, its requests with the event each was exported
//!    at (its `last_event` in the snapshot, even if a ward changed it since), the path and the
//!    log, and removes the reservation, in one short write transaction.
//!
//! If the export fails cleanly (nothing under the final name), the shell calls
//! [`Store::release_reservation`]: the number is taken again by the next export and the claims
//! are freed. A crash (or power cut) at any point leaves a reservation that says how far the
//! export got: [`Store::unrecorded_exports`] lists them, and recovery (`backlog::recover`) either
//! records the batch from its reservation ([`Store::adopt_reservation`], when the file under its
//! final name has the staged SHA-256) or releases it, so that after any crash either the batch is
//! recorded and its file is in place, or neither.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};

use super::batches::{WRITER_VERSION, insert_batch, log_export};
use super::export_read::read_selected;
use super::rows::ms_to_time;
use super::{Store, StoreError};
use crate::domain::audit::{AuditAction, AuditEntry};
use crate::domain::event::RequestState;
use crate::store::{
    BatchFile, BatchHeader, BatchRecord, BatchSpec, BatchTruncation, ExportSelection, batch_id_text,
};

/// The requests an export read, as of one instant, and how far the export log had got then (so
/// a batch recorded after it is recognised when the export reserves its number).
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// In file order.
    pub states: Vec<RequestState>,
    /// The last `export_log` row when the requests were read.
    seen_log: i64,
    /// What chose them (recorded with the reservation, so recovery can record the batch).
    selection: ExportSelection,
}

/// Why an export may not take its requests: another export has some of them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExportClaimed {
    #[error(
        "another export ({batch_id}, started {} by {user} on {workstation}) is exporting {count} \
         of these requests; wait for it and export again (nothing was written)",
        local_time(*started)
    )]
    InProgress {
        batch_id: String,
        started: DateTime<Utc>,
        user: String,
        workstation: String,
        count: u64,
    },
    #[error(
        "another export ({batch_id}, by {user} on {workstation}) took {count} of these requests \
         while this one was reading them; export again (nothing was written)"
    )]
    Recorded {
        batch_id: String,
        user: String,
        workstation: String,
        count: u64,
    },
}

/// `10:02`, or `04/06/2026 10:02` on another day, in the workstation's time zone.
fn local_time(t: DateTime<Utc>) -> String {
    t.with_timezone(&chrono::Local)
        .format("%d/%m/%Y %H:%M")
        .to_string()
}

/// A batch number taken by an export whose batch is not recorded (yet).
#[derive(Debug, Clone, PartialEq)]
pub struct Reservation {
    pub header: BatchHeader,
    /// Where the file was to be written (its final name).
    pub target: PathBuf,
    pub reserved_at: DateTime<Utc>,
    pub workstation: String,
    pub user: String,
    /// The temporary file the export writes (locked while it is alive); `None` for a
    /// reservation that recorded none (made by [`Store::reserve_batch`], or by an older Stopgap).
    pub temp: Option<PathBuf>,
    /// The complete file's name, SHA-256 and size, recorded just before it was renamed into
    /// place: `None` until then.
    pub staged: Option<BatchFile>,
}

/// The next free batch number: after every recorded batch and every reserved one.
fn next_number(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn.query_row(
        "SELECT max(coalesce((SELECT max(number) FROM export_batches), 0),
                    coalesce((SELECT max(number) FROM export_reservations), 0)) + 1",
        [],
        |r| r.get(0),
    )?)
}

impl Store {
    /// The requests `selection` takes now, in file order, read in one read transaction.
    /// `on_row(read, total)` is called after each request is read (and once with `0` first); an
    /// error from it (the user cancelled) stops the read and is returned.
    pub fn export_snapshot<E: From<StoreError>>(
        &self,
        selection: &ExportSelection,
        mut on_row: impl FnMut(u64, u64) -> Result<(), E>,
    ) -> Result<Snapshot, E> {
        self.require(crate::domain::access::Permission::Export)?;
        let own = self.conn.is_autocommit();
        if own {
            self.conn.execute_batch("BEGIN DEFERRED").map_err(sql)?;
        }
        // Read first, so the WAL snapshot the requests are read from is the one it saw.
        let seen_log = self
            .conn
            .query_row("SELECT coalesce(max(id), 0) FROM export_log", [], |r| {
                r.get(0)
            })
            .map_err(sql);
        let result = seen_log.and_then(|seen_log| {
            read_selected(&self.conn, selection, &mut on_row).map(|states| Snapshot {
                states,
                seen_log,
                selection: selection.clone(),
            })
        });
        if own {
            // A read transaction has nothing to keep: ending it cannot lose data.
            let end = self
                .conn
                .execute_batch(if result.is_ok() { "COMMIT" } else { "ROLLBACK" });
            if let (Ok(_), Err(e)) = (&result, end) {
                return Err(sql(e));
            }
        }
        result
    }

    /// Takes the next batch number for an export about to be written and claims the snapshot's
    /// requests, in one short write transaction. `target` names the file from the header (and
    /// may refuse, for example when the file already exists); its error takes nothing. Refused
    /// with [`ExportClaimed`] when another export has any of the requests. Records no temporary
    /// file: see [`Store::reserve_export`].
    pub fn reserve_batch<E: From<StoreError>>(
        &mut self,
        spec: &BatchSpec,
        snapshot: &Snapshot,
        target: impl FnOnce(&BatchHeader) -> Result<PathBuf, E>,
    ) -> Result<Reservation, E> {
        self.reserve_export(spec, snapshot, None, target)
    }

    /// [`Store::reserve_batch`], recording also the temporary file `temp` the export writes
    /// (created and locked before this is called, so recovery can always tell whether the
    /// export is alive), and everything needed to record the batch from the reservation alone.
    pub fn reserve_export<E: From<StoreError>>(
        &mut self,
        spec: &BatchSpec,
        snapshot: &Snapshot,
        temp: Option<&Path>,
        target: impl FnOnce(&BatchHeader) -> Result<PathBuf, E>,
    ) -> Result<Reservation, E> {
        self.require(crate::domain::access::Permission::Export)?;
        let setup = self.require_setup()?;
        let mut failure: Option<E> = None;
        let result = self.write(|tx| {
            let number = next_number(tx)?;
            let header = BatchHeader {
                number,
                batch_id: batch_id_text(setup.site.as_str(), setup.workstation.as_str(), number),
            };
            let path = match target(&header) {
                Ok(p) => p,
                Err(e) => {
                    failure = Some(e);
                    return Err(StoreError::Corrupt("no batch number was taken".into()));
                }
            };
            tx.execute(
                "INSERT INTO export_reservations(number, batch_id, target, reserved_ms,
                    workstation, user_name, temp_path, format, profile_name, profile_toml,
                    options, selection)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                params![
                    number,
                    header.batch_id,
                    path.to_string_lossy(),
                    spec.generated_at.timestamp_millis(),
                    setup.workstation.as_str(),
                    spec.user.trim(),
                    temp.map(|t| t.to_string_lossy().into_owned()),
                    spec.format,
                    spec.profile_name,
                    spec.profile_toml,
                    serde_json::to_string(&spec.options)?,
                    serde_json::to_string(&snapshot.selection)?,
                ],
            )?;
            claim(tx, number, snapshot)?;
            Ok(Reservation {
                header,
                target: path,
                reserved_at: spec.generated_at,
                workstation: setup.workstation.to_string(),
                user: spec.user.trim().to_owned(),
                temp: temp.map(Path::to_owned),
                staged: None,
            })
        });
        match (result, failure) {
            (_, Some(e)) => Err(e),
            (Ok(r), None) => Ok(r),
            (Err(e), None) => Err(e.into()),
        }
    }

    /// Gives back a reserved number whose export wrote nothing under its final name, and frees
    /// the requests it claimed.
    pub fn release_reservation(&mut self, number: i64) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute("DELETE FROM export_claims WHERE number = ?1", [number])?;
            tx.execute(
                "DELETE FROM export_reservations WHERE number = ?1",
                [number],
            )?;
            Ok(())
        })
    }

    /// Records a reserved batch once its file is in place, in one short write transaction: the
    /// batch (with the Stopgap version that wrote it and the values its file holds shortened),
    /// its requests (each with the event it was exported at: the claims become the batch's
    /// items), the log, and the end of the reservation.
    pub fn record_batch(
        &mut self,
        reservation: &Reservation,
        spec: &BatchSpec,
        selection: &ExportSelection,
        states: &[RequestState],
        file: &BatchFile,
        truncations: &[BatchTruncation],
    ) -> Result<BatchRecord, StoreError> {
        let number = reservation.header.number;
        let mut record = BatchRecord {
            number,
            batch_id: reservation.header.batch_id.clone(),
            format: spec.format.clone(),
            profile_name: spec.profile_name.clone(),
            profile_toml: spec.profile_toml.clone(),
            options: spec.options,
            selection: selection.clone(),
            generated_at: spec.generated_at,
            workstation: reservation.workstation.clone(),
            user: spec.user.trim().to_owned(),
            file_name: file.file_name.clone(),
            sha256: file.sha256.clone(),
            bytes: file.bytes,
            request_count: states.len() as u64,
            writer_version: Some(WRITER_VERSION.to_owned()),
            truncations: truncations.to_vec(),
            audit_head: None,
        };
        let items: Vec<(String, String)> = states
            .iter()
            .map(|s| (s.request.uuid.to_string(), s.last_event.to_string()))
            .collect();
        let (workstation, user) = (record.workstation.clone(), record.user.clone());
        let log = ExportLog {
            action: "export",
            at: spec.generated_at,
            workstation: &workstation,
            user: &user,
        };
        self.write(|tx| record_reserved(tx, &mut record, &reservation.target, &items, &log))?;
        Ok(record)
    }

    /// Exports whose number was taken but whose batch was never recorded: each may have left
    /// its file at `target` (a crash between the file and the record). Recovery of these
    /// leftovers is issue 9's; this is what it starts from.
    pub fn unrecorded_exports(&self) -> Result<Vec<Reservation>, StoreError> {
        let mut st = self.conn.prepare(
            "SELECT number, batch_id, target, reserved_ms, workstation, user_name, temp_path,
                sha256, bytes
             FROM export_reservations ORDER BY number",
        )?;
        let mut rows = st.query([])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let target = PathBuf::from(r.get::<_, String>("target")?);
            let staged = match (
                r.get::<_, Option<String>>("sha256")?,
                r.get::<_, Option<i64>>("bytes")?,
            ) {
                (Some(sha256), Some(bytes)) => Some(BatchFile {
                    file_name: target
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                    sha256,
                    bytes: u64::try_from(bytes).unwrap_or_default(),
                }),
                _ => None,
            };
            out.push(Reservation {
                header: BatchHeader {
                    number: r.get("number")?,
                    batch_id: r.get("batch_id")?,
                },
                target,
                reserved_at: ms_to_time(r.get("reserved_ms")?)?,
                workstation: r.get("workstation")?,
                user: r.get("user_name")?,
                temp: r.get::<_, Option<String>>("temp_path")?.map(PathBuf::from),
                staged,
            });
        }
        Ok(out)
    }

    /// Exports one batch through the three steps above, with `write` writing the file outside
    /// any transaction. If `write` fails nothing is recorded and the number is given back; if
    /// no request matches, `write` is still called with none (the shell decides whether an
    /// empty file is useful). `write` names the file itself, so the reservation records no
    /// target: the shell's flow (`backlog::export_with_progress`) reserves with its path.
    pub fn export_batch<E: From<StoreError>>(
        &mut self,
        selection: &ExportSelection,
        spec: &BatchSpec,
        write: impl FnOnce(&BatchHeader, &[RequestState]) -> Result<BatchFile, E>,
    ) -> Result<BatchRecord, E> {
        let snapshot = self.export_snapshot(selection, |_, _| Ok::<(), E>(()))?;
        let reservation =
            self.reserve_batch(spec, &snapshot, |_| Ok::<_, E>(Path::new("").to_owned()))?;
        let file = match write(&reservation.header, &snapshot.states) {
            Ok(f) => f,
            Err(e) => {
                self.release_reservation(reservation.header.number)?;
                return Err(e);
            }
        };
        Ok(self.record_batch(&reservation, spec, selection, &snapshot.states, &file, &[])?)
    }
}

/// Claims the snapshot's requests for reservation `number`, or refuses if another export has any
/// of them: claimed by a reservation not yet recorded, or in a batch recorded since the
/// snapshot was read.
fn claim(tx: &Connection, number: i64, snapshot: &Snapshot) -> Result<(), StoreError> {
    let later: Vec<i64> = {
        let mut st = tx.prepare(
            "SELECT batch FROM export_log WHERE id > ?1 AND action IN ('export', 'recovered')
             ORDER BY id",
        )?;
        st.query_map([snapshot.seen_log], |r| r.get(0))?
            .collect::<Result<_, _>>()?
    };
    if !later.is_empty() {
        let mut taken = tx.prepare_cached(
            "SELECT 1 FROM export_batch_requests WHERE batch = ?1 AND request_uuid = ?2",
        )?;
        for batch in later {
            let mut count = 0u64;
            for s in &snapshot.states {
                if taken.exists(params![batch, s.request.uuid.to_string()])? {
                    count += 1;
                }
            }
            if count > 0 {
                let (batch_id, user, workstation) = tx.query_row(
                    "SELECT batch_id, user_name, workstation FROM export_batches WHERE number = ?1",
                    [batch],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )?;
                return Err(ExportClaimed::Recorded {
                    batch_id,
                    user,
                    workstation,
                    count,
                }
                .into());
            }
        }
    }
    let mut insert = tx.prepare_cached(
        "INSERT OR IGNORE INTO export_claims(request_uuid, number, position, last_event)
         VALUES (?1, ?2, ?3, ?4)",
    )?;
    let mut refused: Vec<String> = Vec::new();
    for (i, s) in snapshot.states.iter().enumerate() {
        let uuid = s.request.uuid.to_string();
        if insert.execute(params![uuid, number, i as i64, s.last_event.to_string()])? == 0 {
            refused.push(uuid);
        }
    }
    let Some(first) = refused.first() else {
        return Ok(());
    };
    // Named by the export holding the first refused request; counted over all of them.
    let (batch_id, reserved_ms, user, workstation) = tx.query_row(
        "SELECT r.batch_id, r.reserved_ms, r.user_name, r.workstation
         FROM export_claims c JOIN export_reservations r ON r.number = c.number
         WHERE c.request_uuid = ?1",
        [first],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )?;
    Err(ExportClaimed::InProgress {
        batch_id,
        started: ms_to_time(reserved_ms)?,
        user,
        workstation,
        count: refused.len() as u64,
    }
    .into())
}

/// The export-log row a recorded batch gets.
pub(super) struct ExportLog<'a> {
    /// `export`, or `recovered` for a batch recorded after a crash from its reservation.
    pub action: &'static str,
    pub at: DateTime<Utc>,
    pub workstation: &'a str,
    pub user: &'a str,
}

/// Records reserved batch `record` (written to `path`; empty: not known) with its requests
/// `(uuid, last_event)` in file order, and the log, and ends the reservation and its claims.
/// Appends the batch's `exported` audit record first, in the same transaction, and records
/// the chain head it makes with the batch (and in `record`).
pub(super) fn record_reserved(
    tx: &Connection,
    record: &mut BatchRecord,
    path: &Path,
    items: &[(String, String)],
    log: &ExportLog<'_>,
) -> Result<(), StoreError> {
    let number = record.number;
    tx.execute("DELETE FROM export_claims WHERE number = ?1", [number])?;
    let released = tx.execute(
        "DELETE FROM export_reservations WHERE number = ?1",
        [number],
    )?;
    if released != 1 {
        return Err(StoreError::Corrupt(format!(
            "batch {number} was not reserved, or was recorded already"
        )));
    }
    let recovered = if log.action == "recovered" {
        format!(", recovered by {} after an interrupted export", log.user)
    } else {
        String::new()
    };
    let entry = AuditEntry {
        action: AuditAction::Exported,
        staff_id: String::new(),
        user_name: record.user.clone(),
        subject: record.batch_id.clone(),
        detail: format!(
            "{}, {} requests, file {}, SHA-256 {}{recovered}",
            record.format, record.request_count, record.file_name, record.sha256
        ),
    };
    record.audit_head = Some(super::audit::append_in(tx, &entry, log.at)?);
    insert_batch(tx, record)?;
    if !path.as_os_str().is_empty() {
        tx.execute(
            "INSERT INTO export_batch_paths(batch, path) VALUES (?1, ?2)",
            params![number, path.to_string_lossy()],
        )?;
    }
    let mut st = tx.prepare(
        "INSERT INTO export_batch_requests(batch, position, request_uuid, last_event)
         VALUES (?1, ?2, ?3, ?4)",
    )?;
    for (i, (uuid, last_event)) in items.iter().enumerate() {
        st.execute(params![number, i as i64, uuid, last_event])?;
    }
    log_export(
        tx,
        number,
        log.action,
        log.at,
        log.workstation,
        log.user,
        &BatchFile {
            file_name: record.file_name.clone(),
            sha256: record.sha256.clone(),
            bytes: record.bytes,
        },
    )?;
    Ok(())
}

fn sql<E: From<StoreError>>(e: rusqlite::Error) -> E {
    E::from(StoreError::from(e))
}
