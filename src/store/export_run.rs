//! One export, in three short steps, so that a large file never holds the write lock that ward
//! saves need:
//!
//! 1. [`Store::export_snapshot`] reads the selected requests in one read transaction (a WAL
//!    snapshot: ward saves carry on meanwhile, and every request is read as of one instant).
//! 2. [`Store::reserve_batch`] takes the batch number in a tiny write transaction, recording the
//!    file's final path. The number has to be known before the file is written (it is inside the
//!    file and its name); reserving it means two exports at once never share a number, and a
//!    file left by an interrupted export is never named like a later batch.
//! 3. The shell writes the file (temporary file, fsync, rename) outside any transaction, then
//!    [`Store::record_batch`] records the batch, its requests with the event each was exported
//!    at (its `last_event` in the snapshot, even if a ward changed it since) and the log, and
//!    removes the reservation, in one short write transaction.
//!
//! If the export fails cleanly (nothing under the final name), the shell calls
//! [`Store::release_reservation`] and the number is taken again by the next export. A crash (or
//! power cut) after the rename and before the record leaves the file and its reservation:
//! [`Store::unrecorded_exports`] lists those, the hook for the recovery of leftovers (issue 9).
//! The next export takes a later number, so the leftover file keeps a name no batch will have.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use rusqlite::{Connection, params, params_from_iter};

use super::batches::{insert_batch, log_export};
use super::rows::ms_to_time;
use super::{Store, StoreError};
use crate::domain::event::RequestState;
use crate::store::{
    BatchFile, BatchHeader, BatchRecord, BatchSpec, ExportSelection, batch_id_text,
};

/// A batch number taken by an export whose batch is not recorded (yet).
#[derive(Debug, Clone, PartialEq)]
pub struct Reservation {
    pub header: BatchHeader,
    /// Where the file was to be written (its final name).
    pub target: PathBuf,
    pub reserved_at: DateTime<Utc>,
    pub workstation: String,
    pub user: String,
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
    ) -> Result<Vec<RequestState>, E> {
        let own = self.conn.is_autocommit();
        if own {
            self.conn.execute_batch("BEGIN DEFERRED").map_err(sql)?;
        }
        let result = read_selected(&self.conn, selection, &mut on_row);
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

    /// Takes the next batch number for an export about to be written, in a tiny write
    /// transaction. `target` names the file from the header (and may refuse, for example when
    /// the file already exists); its error takes nothing.
    pub fn reserve_batch<E: From<StoreError>>(
        &mut self,
        spec: &BatchSpec,
        target: impl FnOnce(&BatchHeader) -> Result<PathBuf, E>,
    ) -> Result<Reservation, E> {
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
                    workstation, user_name)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    number,
                    header.batch_id,
                    path.to_string_lossy(),
                    spec.generated_at.timestamp_millis(),
                    setup.workstation.as_str(),
                    spec.user.trim(),
                ],
            )?;
            Ok(Reservation {
                header,
                target: path,
                reserved_at: spec.generated_at,
                workstation: setup.workstation.to_string(),
                user: spec.user.trim().to_owned(),
            })
        });
        match (result, failure) {
            (_, Some(e)) => Err(e),
            (Ok(r), None) => Ok(r),
            (Err(e), None) => Err(e.into()),
        }
    }

    /// Gives back a reserved number whose export wrote nothing under its final name.
    pub fn release_reservation(&mut self, number: i64) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute(
                "DELETE FROM export_reservations WHERE number = ?1",
                [number],
            )?;
            Ok(())
        })
    }

    /// Records a reserved batch once its file is in place, in one short write transaction: the
    /// batch, its requests (each with the event it was exported at), the log, and the end of
    /// the reservation.
    pub fn record_batch(
        &mut self,
        reservation: &Reservation,
        spec: &BatchSpec,
        selection: &ExportSelection,
        states: &[RequestState],
        file: &BatchFile,
    ) -> Result<BatchRecord, StoreError> {
        let number = reservation.header.number;
        let record = BatchRecord {
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
        };
        self.write(|tx| {
            let released = tx.execute(
                "DELETE FROM export_reservations WHERE number = ?1",
                [number],
            )?;
            if released != 1 {
                return Err(StoreError::Corrupt(format!(
                    "batch {number} was not reserved, or was recorded already"
                )));
            }
            insert_batch(tx, &record)?;
            let mut st = tx.prepare(
                "INSERT INTO export_batch_requests(batch, position, request_uuid, last_event)
                 VALUES (?1, ?2, ?3, ?4)",
            )?;
            for (i, s) in states.iter().enumerate() {
                st.execute(params![
                    number,
                    i as i64,
                    s.request.uuid.to_string(),
                    s.last_event.to_string()
                ])?;
            }
            log_export(
                tx,
                number,
                "export",
                spec.generated_at,
                &record.workstation,
                &record.user,
                file,
            )?;
            Ok(())
        })?;
        Ok(record)
    }

    /// Exports whose number was taken but whose batch was never recorded: each may have left
    /// its file at `target` (a crash between the file and the record). Recovery of these
    /// leftovers is issue 9's; this is what it starts from.
    pub fn unrecorded_exports(&self) -> Result<Vec<Reservation>, StoreError> {
        let mut st = self.conn.prepare(
            "SELECT number, batch_id, target, reserved_ms, workstation, user_name
             FROM export_reservations ORDER BY number",
        )?;
        let mut rows = st.query([])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(Reservation {
                header: BatchHeader {
                    number: r.get("number")?,
                    batch_id: r.get("batch_id")?,
                },
                target: PathBuf::from(r.get::<_, String>("target")?),
                reserved_at: ms_to_time(r.get("reserved_ms")?)?,
                workstation: r.get("workstation")?,
                user: r.get("user_name")?,
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
        let states = self.export_snapshot(selection, |_, _| Ok::<(), E>(()))?;
        let reservation = self.reserve_batch(spec, |_| Ok::<_, E>(Path::new("").to_owned()))?;
        let file = match write(&reservation.header, &states) {
            Ok(f) => f,
            Err(e) => {
                self.release_reservation(reservation.header.number)?;
                return Err(e);
            }
        };
        Ok(self.record_batch(&reservation, spec, selection, &states, &file)?)
    }
}

fn sql<E: From<StoreError>>(e: rusqlite::Error) -> E {
    E::from(StoreError::from(e))
}

fn read_selected<E: From<StoreError>>(
    conn: &Connection,
    selection: &ExportSelection,
    on_row: &mut impl FnMut(u64, u64) -> Result<(), E>,
) -> Result<Vec<RequestState>, E> {
    let (where_sql, params) = selection.to_sql();
    let count = format!("SELECT COUNT(*) FROM requests {where_sql}");
    let total: i64 = conn
        .query_row(&count, params_from_iter(params.iter()), |r| r.get(0))
        .map_err(sql)?;
    let total = u64::try_from(total).unwrap_or_default();
    on_row(0, total)?;
    // File order: by downtime ID, which is how the lab reads the paper forms back.
    let select = format!("SELECT state FROM requests {where_sql} ORDER BY downtime_id");
    let mut st = conn.prepare(&select).map_err(sql)?;
    let mut rows = st.query(params_from_iter(params.iter())).map_err(sql)?;
    let mut out = Vec::with_capacity(usize::try_from(total).unwrap_or_default());
    while let Some(r) = rows.next().map_err(sql)? {
        // Decoded straight from SQLite's buffer, without copying the JSON into a String first.
        let json = r
            .get_ref("state")
            .and_then(|v| v.as_str().map_err(Into::into))
            .map_err(sql)?;
        out.push(serde_json::from_str(json).map_err(|e| E::from(StoreError::from(e)))?);
        on_row(out.len() as u64, total)?;
    }
    Ok(out)
}
