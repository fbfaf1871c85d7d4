//! Export batches: which requests left the workstation in which file, recorded so that the same
//! file can be made again byte for byte, and every export is audited.
//!
//! The store does not know the export formats: it records the format word, the profile TOML and
//! the options as the shell gives them. How one export reads, numbers, writes and records its
//! batch without holding the write lock while the file is written is in `store::export_run`.

use chrono::{DateTime, Utc};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Row, params, params_from_iter};
use uuid::Uuid;

use super::rows::{events_of, ms_to_time, parse_uuid};
use super::{Store, StoreError};
use crate::domain::audit::{AuditAction, AuditEntry, ChainHead};
use crate::domain::event::RequestState;
use crate::domain::request::Priority;
use crate::domain::status::Status;

/// Which requests an export takes. The default: every request not yet in any batch whose status
/// still needs re-entry (logged, sent or received).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ExportSelection {
    /// Empty: logged, sent and received (cancelled, rejected and re-entered requests need no
    /// re-entry), and requests cancelled or rejected since a batch sent them whose cancel has
    /// not been exported yet (HL7 sends it as ORC-1 `CA`). Give statuses to choose exactly.
    pub statuses: Vec<Status>,
    pub ward: Option<String>,
    /// Empty: any priority.
    pub priorities: Vec<Priority>,
    /// Collected at or after this instant.
    pub collected_from: Option<DateTime<Utc>>,
    /// Collected before this instant.
    pub collected_before: Option<DateTime<Utc>>,
    /// Include requests already in an earlier batch.
    pub include_exported: bool,
}

/// The statuses exported when none is chosen: requests that still have to be typed in.
pub const DEFAULT_EXPORT_STATUSES: [Status; 3] = [Status::Logged, Status::Sent, Status::Received];

/// The writer options of a batch, stored with it so a re-run writes the same bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ExportOptions {
    /// CSV: one row per test instead of one per request.
    pub per_test: bool,
    /// CSV: start with a UTF-8 byte-order mark so Excel reads accents.
    pub excel_bom: bool,
    /// HL7: wrap each message in MLLP framing.
    pub mllp: bool,
    /// How the file was sealed (the writers ignore it); `None` for batches written before
    /// files were encrypted, and left out of their JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed: Option<crate::files::Sealed>,
}

/// What the shell tells the store about an export it is about to write.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchSpec {
    /// The format's stable word (`csv`, `hl7-oml`, `hl7-orm`, `fhir`).
    pub format: String,
    pub profile_name: String,
    /// The whole profile, so a re-run uses exactly the same mappings.
    pub profile_toml: String,
    pub options: ExportOptions,
    /// The time written into the file.
    pub generated_at: DateTime<Utc>,
    pub user: String,
}

/// The number and identifier given to a batch before its file is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchHeader {
    pub number: i64,
    /// `SITE-WS-B000012`: unique across workstations, written into the file and its name.
    pub batch_id: String,
}

/// The file a batch was written to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchFile {
    /// The name only (no folder): it never holds patient data.
    pub file_name: String,
    /// SHA-256 of the bytes, lowercase hex.
    pub sha256: String,
    pub bytes: u64,
}

/// A recorded batch.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchRecord {
    pub number: i64,
    pub batch_id: String,
    pub format: String,
    pub profile_name: String,
    pub profile_toml: String,
    pub options: ExportOptions,
    pub selection: ExportSelection,
    pub generated_at: DateTime<Utc>,
    pub workstation: String,
    pub user: String,
    pub file_name: String,
    pub sha256: String,
    pub bytes: u64,
    pub request_count: u64,
    /// The Stopgap version that wrote the file (`None`: a batch from before versions were
    /// recorded), so a re-run can say when another version wrote the original.
    pub writer_version: Option<String>,
    /// Values shortened to the receiver's limits, in the order the writer met them (only when
    /// the profile says to truncate rather than refuse).
    pub truncations: Vec<BatchTruncation>,
    /// The audit chain's head once this batch's own `exported` record was appended (`None`: a
    /// batch from before the audit log), so a later rewrite of the log is found against it.
    pub audit_head: Option<ChainHead>,
}

impl BatchRecord {
    /// When another Stopgap version wrote this batch's file, a sentence saying so: a re-run by
    /// this version may differ from the original for that reason alone. `None` when this
    /// version wrote it.
    pub fn other_writer(&self) -> Option<String> {
        match self.writer_version.as_deref() {
            Some(v) if v == WRITER_VERSION => None,
            Some(v) => Some(format!(
                "batch {} was written by Stopgap {v}, this is Stopgap {WRITER_VERSION}",
                self.batch_id
            )),
            None => Some(format!(
                "batch {} was written by a Stopgap that did not record its version, this is \
                 Stopgap {WRITER_VERSION}",
                self.batch_id
            )),
        }
    }
}

/// One value a batch's file holds shortened to the receiver's maximum. The whole value stays in
/// the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchTruncation {
    /// The request, grouped as on its form.
    pub downtime_id: String,
    /// Where in the file, e.g. `PID-5.2`.
    pub field: String,
    /// Characters before shortening, as the receiver counts them.
    pub length: u64,
    /// The receiver's maximum: the characters written.
    pub limit: u64,
}

impl std::fmt::Display for BatchTruncation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "request {}: {} shortened from {} to {} characters",
            self.downtime_id, self.field, self.length, self.limit
        )
    }
}

/// The Stopgap version recorded with each batch it writes.
pub const WRITER_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Builds a batch identifier from its parts.
pub fn batch_id_text(site: &str, workstation: &str, number: i64) -> String {
    format!("{site}-{workstation}-B{number:06}")
}

/// Whether a request is in any batch (SQL, on `requests`).
const EXPORTED: &str =
    "EXISTS (SELECT 1 FROM export_batch_requests b WHERE b.request_uuid = requests.uuid)";

impl ExportSelection {
    pub(super) fn to_sql(&self) -> (String, Vec<Value>) {
        let mut clauses: Vec<String> = Vec::new();
        let mut params: Vec<Value> = Vec::new();
        let statuses: &[Status] = if self.statuses.is_empty() {
            &DEFAULT_EXPORT_STATUSES
        } else {
            &self.statuses
        };
        let mut status = format!("status IN ({})", vec!["?"; statuses.len()].join(", "));
        if !self.include_exported {
            status.push_str(&format!(" AND NOT {EXPORTED}"));
        }
        if self.statuses.is_empty() {
            // A request sent to the LIMS and cancelled or rejected since goes out once more, as
            // a cancel, so the LIMS withdraws it; one never sent is never exported.
            status = format!(
                "(({status}) OR (status IN ('{}', '{}') AND {EXPORTED} AND NOT \
                 EXISTS (SELECT 1 FROM export_batch_requests b WHERE b.request_uuid = \
                 requests.uuid AND b.last_event = requests.last_event)))",
                Status::Cancelled.word(),
                Status::Rejected.word(),
            );
        }
        clauses.push(status);
        params.extend(statuses.iter().map(|s| Value::Text(s.word().into())));
        if !self.priorities.is_empty() {
            clauses.push(format!(
                "priority IN ({})",
                vec!["?"; self.priorities.len()].join(", ")
            ));
            params.extend(self.priorities.iter().map(|p| Value::Text(p.word().into())));
        }
        if let Some(w) = &self.ward {
            clauses.push("ward = ?".into());
            params.push(Value::Text(w.clone()));
        }
        if let Some(t) = self.collected_from {
            clauses.push("collected_ms >= ?".into());
            params.push(Value::Integer(t.timestamp_millis()));
        }
        if let Some(t) = self.collected_before {
            clauses.push("collected_ms < ?".into());
            params.push(Value::Integer(t.timestamp_millis()));
        }
        (format!("WHERE {}", clauses.join(" AND ")), params)
    }
}

fn batch_from_row(r: &Row<'_>) -> Result<BatchRecord, StoreError> {
    let options: String = r.get("options")?;
    let selection: String = r.get("selection")?;
    Ok(BatchRecord {
        number: r.get("number")?,
        batch_id: r.get("batch_id")?,
        format: r.get("format")?,
        profile_name: r.get("profile_name")?,
        profile_toml: r.get("profile_toml")?,
        options: serde_json::from_str(&options)?,
        selection: serde_json::from_str(&selection)?,
        generated_at: ms_to_time(r.get("generated_ms")?)?,
        workstation: r.get("workstation")?,
        user: r.get("user_name")?,
        file_name: r.get("file_name")?,
        sha256: r.get("sha256")?,
        bytes: r.get::<_, i64>("bytes")?.try_into().unwrap_or_default(),
        request_count: r
            .get::<_, i64>("request_count")?
            .try_into()
            .unwrap_or_default(),
        writer_version: r.get("writer_version")?,
        truncations: Vec::new(),
        audit_head: match (r.get("audit_seq")?, r.get("audit_hash")?) {
            (Some(seq), Some(hash)) => Some(ChainHead { seq, hash }),
            _ => None,
        },
    })
}

/// A batch's truncations, in the order they were recorded.
fn truncations_of(conn: &Connection, number: i64) -> Result<Vec<BatchTruncation>, StoreError> {
    let mut st = conn.prepare_cached(
        "SELECT downtime_id, field, length, \"limit\" FROM export_truncations WHERE batch = ?1
         ORDER BY position",
    )?;
    let mut rows = st.query([number])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(BatchTruncation {
            downtime_id: r.get("downtime_id")?,
            field: r.get("field")?,
            length: r.get::<_, i64>("length")?.try_into().unwrap_or_default(),
            limit: r.get::<_, i64>("limit")?.try_into().unwrap_or_default(),
        });
    }
    Ok(out)
}

/// A batch row with its truncations.
fn full_batch(conn: &Connection, r: &Row<'_>) -> Result<BatchRecord, StoreError> {
    let mut b = batch_from_row(r)?;
    b.truncations = truncations_of(conn, b.number)?;
    Ok(b)
}

const BATCH_COLUMNS: &str = "number, batch_id, format, profile_name, profile_toml, options,
    selection, generated_ms, workstation, user_name, file_name, sha256, bytes, request_count,
    writer_version, audit_seq, audit_hash";

impl Store {
    /// The requests an export with `selection` would take now, in file order.
    pub fn export_candidates(
        &self,
        selection: &ExportSelection,
    ) -> Result<Vec<RequestState>, StoreError> {
        self.export_snapshot(selection, |_, _| Ok::<(), StoreError>(()))
            .map(|s| s.states)
    }

    /// How many requests an export with `selection` would take now: a count, without reading
    /// the requests (the export screen asks while its choices are typed).
    pub fn export_candidate_count(&self, selection: &ExportSelection) -> Result<u64, StoreError> {
        let (where_sql, params) = selection.to_sql();
        let sql = format!("SELECT COUNT(*) FROM requests {where_sql}");
        let n: i64 = self
            .conn
            .query_row(&sql, params_from_iter(params), |r| r.get(0))?;
        Ok(u64::try_from(n).unwrap_or_default())
    }

    /// The first `limit` requests an export with `selection` would take, in file order (for the
    /// preview).
    pub fn export_candidates_first(
        &self,
        selection: &ExportSelection,
        limit: u64,
    ) -> Result<Vec<RequestState>, StoreError> {
        let (where_sql, mut params) = selection.to_sql();
        params.push(rusqlite::types::Value::Integer(
            i64::try_from(limit).unwrap_or(i64::MAX),
        ));
        super::rows::states_picked(
            &self.conn,
            &format!("{where_sql} ORDER BY downtime_id LIMIT ?"),
            &params,
        )
    }

    /// Every batch, newest first.
    pub fn batches(&self) -> Result<Vec<BatchRecord>, StoreError> {
        let mut st = self.conn.prepare(&format!(
            "SELECT {BATCH_COLUMNS} FROM export_batches ORDER BY number DESC"
        ))?;
        let mut rows = st.query([])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(full_batch(&self.conn, r)?);
        }
        Ok(out)
    }

    /// One batch by number.
    pub fn batch(&self, number: i64) -> Result<Option<BatchRecord>, StoreError> {
        let mut st = self.conn.prepare(&format!(
            "SELECT {BATCH_COLUMNS} FROM export_batches WHERE number = ?1"
        ))?;
        let mut rows = st.query([number])?;
        match rows.next()? {
            Some(r) => Ok(Some(full_batch(&self.conn, r)?)),
            None => Ok(None),
        }
    }

    /// Finds a batch by what a person types: its number (`12`), `B000012` or the whole
    /// identifier (`RXX-W07-B000012`).
    pub fn find_batch(&self, typed: &str) -> Result<Option<BatchRecord>, StoreError> {
        let t = typed.trim();
        let by_id: Option<i64> = self
            .conn
            .query_row(
                "SELECT number FROM export_batches WHERE batch_id = ?1 COLLATE NOCASE",
                [t],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(n) = by_id {
            return self.batch(n);
        }
        let digits = t.trim_start_matches(['B', 'b']);
        match digits.parse::<i64>() {
            Ok(n) if !digits.is_empty() => self.batch(n),
            _ => Ok(None),
        }
    }

    /// The requests of a batch exactly as they were exported: each rebuilt by folding its
    /// events up to the one that was last at export time, in file order.
    pub fn batch_requests(&self, number: i64) -> Result<Vec<RequestState>, StoreError> {
        let mut st = self.conn.prepare(
            "SELECT request_uuid, last_event FROM export_batch_requests WHERE batch = ?1
             ORDER BY position",
        )?;
        let items = st
            .query_map([number], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let mut out = Vec::with_capacity(items.len());
        for (uuid, last) in items {
            let uuid = parse_uuid(&uuid)?;
            let last = parse_uuid(&last)?;
            let mut events = events_of(&self.conn, uuid)?;
            let Some(end) = events.iter().position(|e| e.id == last) else {
                return Err(StoreError::Corrupt(format!(
                    "batch {number}: event {last} of request {uuid} is missing"
                )));
            };
            events.truncate(end + 1);
            out.push(
                RequestState::fold(&events).map_err(|source| StoreError::Fold { uuid, source })?,
            );
        }
        Ok(out)
    }

    /// Records that a batch's file was written again (`export --rerun`).
    pub fn record_rerun(
        &mut self,
        number: i64,
        file: &BatchFile,
        user: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let setup = self.require_setup()?;
        self.write(|tx| {
            log_export(
                tx,
                number,
                "rerun",
                at,
                setup.workstation.as_str(),
                user.trim(),
                file,
            )?;
            let batch_id: String = tx.query_row(
                "SELECT batch_id FROM export_batches WHERE number = ?1",
                [number],
                |r| r.get(0),
            )?;
            let entry = AuditEntry {
                action: AuditAction::Rerun,
                staff_id: String::new(),
                user_name: user.to_owned(),
                subject: batch_id,
                detail: format!(
                    "written again to {}, SHA-256 {}",
                    file.file_name, file.sha256
                ),
            };
            super::audit::append_in(tx, &entry, at)?;
            Ok(())
        })
    }

    /// How many times files with patient data were written (exports and re-runs).
    pub fn export_log_count(&self) -> Result<u64, StoreError> {
        let n: i64 = self
            .conn
            .query_row("SELECT count(*) FROM export_log", [], |r| r.get(0))?;
        Ok(n as u64)
    }

    /// Whether a request is in any batch, and the numbers of those batches.
    pub fn batches_of(&self, uuid: Uuid) -> Result<Vec<i64>, StoreError> {
        let mut st = self.conn.prepare(
            "SELECT DISTINCT batch FROM export_batch_requests WHERE request_uuid = ?1 ORDER BY batch",
        )?;
        let v = st
            .query_map([uuid.to_string()], |r| r.get(0))?
            .collect::<Result<Vec<i64>, _>>()?;
        Ok(v)
    }
}

pub(super) fn insert_batch(conn: &Connection, b: &BatchRecord) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO export_batches(number, batch_id, format, profile_name, profile_toml, options,
            selection, generated_ms, workstation, user_name, file_name, sha256, bytes,
            request_count, writer_version, audit_seq, audit_hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
        params![
            b.number,
            b.batch_id,
            b.format,
            b.profile_name,
            b.profile_toml,
            serde_json::to_string(&b.options)?,
            serde_json::to_string(&b.selection)?,
            b.generated_at.timestamp_millis(),
            b.workstation,
            b.user,
            b.file_name,
            b.sha256,
            i64::try_from(b.bytes).unwrap_or(i64::MAX),
            i64::try_from(b.request_count).unwrap_or(i64::MAX),
            b.writer_version,
            b.audit_head.as_ref().map(|h| h.seq),
            b.audit_head.as_ref().map(|h| h.hash.as_str()),
        ],
    )?;
    let mut st = conn.prepare(
        "INSERT INTO export_truncations(batch, position, downtime_id, field, length, \"limit\")
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for (i, t) in b.truncations.iter().enumerate() {
        st.execute(params![
            b.number,
            i as i64,
            t.downtime_id,
            t.field,
            i64::try_from(t.length).unwrap_or(i64::MAX),
            i64::try_from(t.limit).unwrap_or(i64::MAX),
        ])?;
    }
    Ok(())
}

pub(super) fn log_export(
    conn: &Connection,
    number: i64,
    action: &str,
    at: DateTime<Utc>,
    workstation: &str,
    user: &str,
    file: &BatchFile,
) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO export_log(batch, action, at_ms, workstation, user_name, file_name, sha256)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            number,
            action,
            at.timestamp_millis(),
            workstation,
            user,
            file.file_name,
            file.sha256
        ],
    )?;
    Ok(())
}
