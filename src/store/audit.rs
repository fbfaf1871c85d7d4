//! The audit log on the store's side (schema 11): records appended inside the write
//! transaction of what they record, the chain checked by streaming its rows, and the heads
//! export batches carry checked against it. The chain rules are `domain::audit`'s.

use chrono::{DateTime, Utc};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Row, params, params_from_iter};

use super::{Setup, Store, StoreError};
use crate::domain::audit::{
    AuditAction, AuditEntry, AuditRecord, BrokenLink, ChainCheck, ChainHead, check_anchor,
};

/// Which records to list; `None` or empty: any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Who: a staff ID or a user name (records made before accounts have no staff ID), in any
    /// case.
    pub staff_id: Option<String>,
    pub action: Option<AuditAction>,
    /// At or after this time (Unix ms, UTC).
    pub from_ms: Option<i64>,
    /// Before this time (Unix ms, UTC).
    pub to_ms: Option<i64>,
}

const COLUMNS: &str =
    "seq, at_ms, workstation, staff_id, user_name, action, subject, detail, prev_hash, hash";

/// One stored row, its action still a word: a word this Stopgap does not know is a changed
/// record to the chain check, and an error to a listing.
struct RawRecord {
    action: String,
    record: AuditRecord,
}

impl RawRecord {
    fn read(r: &Row<'_>) -> rusqlite::Result<Self> {
        let action: String = r.get("action")?;
        Ok(RawRecord {
            record: AuditRecord {
                seq: r.get("seq")?,
                at_ms: r.get("at_ms")?,
                workstation: r.get("workstation")?,
                staff_id: r.get("staff_id")?,
                user_name: r.get("user_name")?,
                action: action.parse().unwrap_or(AuditAction::SettingsChanged),
                subject: r.get("subject")?,
                detail: r.get("detail")?,
                prev_hash: r.get("prev_hash")?,
                hash: r.get("hash")?,
            },
            action,
        })
    }

    fn known(self) -> Result<AuditRecord, StoreError> {
        match self.action.parse::<AuditAction>() {
            Ok(_) => Ok(self.record),
            Err(e) => Err(StoreError::Corrupt(format!(
                "audit record #{}: {e}",
                self.record.seq
            ))),
        }
    }
}

/// The last record's head and time, inside the caller's transaction.
fn last_record(conn: &Connection) -> Result<Option<(ChainHead, i64)>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT seq, hash, at_ms FROM audit_log ORDER BY seq DESC LIMIT 1",
            [],
            |r| {
                Ok((
                    ChainHead {
                        seq: r.get(0)?,
                        hash: r.get(1)?,
                    },
                    r.get(2)?,
                ))
            },
        )
        .optional()?)
}

/// Appends one chained record inside the caller's write transaction, so the record and what
/// it records commit together (or neither). Its time is `now`, or the last record's if the
/// clock has gone back since (a corrected PC clock), so the chain's times never go backwards.
pub(crate) fn append_in(
    tx: &Connection,
    entry: &AuditEntry,
    now: DateTime<Utc>,
) -> Result<ChainHead, StoreError> {
    let workstation = tx
        .query_row("SELECT value FROM settings WHERE key = 'setup'", [], |r| {
            r.get::<_, String>(0)
        })
        .optional()?
        .map(|json| serde_json::from_str::<Setup>(&json))
        .transpose()?
        .map(|s| s.workstation.to_string())
        .unwrap_or_default();
    let last = last_record(tx)?;
    let at_ms = last.as_ref().map_or(now.timestamp_millis(), |(_, at)| {
        now.timestamp_millis().max(*at)
    });
    let entry = AuditEntry {
        user_name: entry.user_name.trim().to_owned(),
        staff_id: entry.staff_id.trim().to_owned(),
        ..entry.clone()
    };
    let r = AuditRecord::seal(last.as_ref().map(|(h, _)| h), at_ms, &workstation, &entry);
    tx.execute(
        &format!(
            "INSERT INTO audit_log({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
        ),
        params![
            r.seq,
            r.at_ms,
            r.workstation,
            r.staff_id,
            r.user_name,
            r.action.word(),
            r.subject,
            r.detail,
            r.prev_hash,
            r.hash
        ],
    )?;
    Ok(r.head())
}

impl Store {
    /// Appends one record to the audit log, chained to the last, in its own write transaction
    /// (or inside the caller's, see [`Store::in_transaction`]). Returns the new head.
    pub fn audit(
        &mut self,
        action: AuditAction,
        staff_id: &str,
        user_name: &str,
        subject: &str,
        detail: &str,
        now: DateTime<Utc>,
    ) -> Result<ChainHead, StoreError> {
        let entry = AuditEntry {
            action,
            staff_id: staff_id.to_owned(),
            user_name: user_name.to_owned(),
            subject: subject.to_owned(),
            detail: detail.to_owned(),
        };
        self.write(|tx| append_in(tx, &entry, now))
    }

    /// The log's last record (number and hash); seq 0 and 64 zeros when it is empty.
    pub fn audit_head(&self) -> Result<ChainHead, StoreError> {
        Ok(last_record(&self.conn)?.map_or_else(ChainHead::empty, |(h, _)| h))
    }

    /// The records `filter` picks, oldest first.
    pub fn audit_records(&self, filter: &AuditFilter) -> Result<Vec<AuditRecord>, StoreError> {
        let mut clauses: Vec<&str> = Vec::new();
        let mut values: Vec<Value> = Vec::new();
        if let Some(who) = filter.staff_id.as_deref().map(str::trim) {
            clauses.push("(staff_id = ? COLLATE NOCASE OR user_name = ? COLLATE NOCASE)");
            values.extend([Value::Text(who.into()), Value::Text(who.into())]);
        }
        if let Some(a) = filter.action {
            clauses.push("action = ?");
            values.push(Value::Text(a.word().into()));
        }
        if let Some(t) = filter.from_ms {
            clauses.push("at_ms >= ?");
            values.push(Value::Integer(t));
        }
        if let Some(t) = filter.to_ms {
            clauses.push("at_ms < ?");
            values.push(Value::Integer(t));
        }
        let where_sql = if clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", clauses.join(" AND "))
        };
        let mut st = self.conn.prepare(&format!(
            "SELECT {COLUMNS} FROM audit_log {where_sql} ORDER BY seq"
        ))?;
        let mut rows = st.query(params_from_iter(values))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(RawRecord::read(r)?.known()?);
        }
        Ok(out)
    }

    /// Checks the whole audit log, one row at a time (a long log is never held in memory),
    /// then every head an export batch carries against it (which finds records deleted from
    /// the end). The head, or the first broken link; `Err` only when the log cannot be read.
    pub fn verify_audit(&self) -> Result<Result<ChainHead, BrokenLink>, StoreError> {
        // One read transaction, so the batches are read as of the same instant as the log.
        let own = self.conn.is_autocommit();
        if own {
            self.conn.execute_batch("BEGIN DEFERRED")?;
        }
        let result = verify_in(&self.conn);
        if own {
            // A read transaction has nothing to keep: ending it cannot lose data.
            self.conn.execute_batch("COMMIT")?;
        }
        result
    }
}

fn verify_in(tx: &Connection) -> Result<Result<ChainHead, BrokenLink>, StoreError> {
    let mut check = ChainCheck::new();
    {
        let mut st = tx.prepare(&format!("SELECT {COLUMNS} FROM audit_log ORDER BY seq"))?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            // An action word this Stopgap does not know hashes as another word: found changed.
            if let Err(broken) = check.push(&RawRecord::read(r)?.record) {
                return Ok(Err(broken));
            }
        }
    }
    let head = check.head();
    let mut st = tx.prepare(
        "SELECT b.batch_id, b.audit_seq, b.audit_hash, a.hash
         FROM export_batches b LEFT JOIN audit_log a ON a.seq = b.audit_seq
         WHERE b.audit_seq IS NOT NULL ORDER BY b.number",
    )?;
    let mut rows = st.query([])?;
    while let Some(r) = rows.next()? {
        let anchor = format!("export batch {}", r.get::<_, String>(0)?);
        let anchored = ChainHead {
            seq: r.get(1)?,
            hash: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
        };
        let found: Option<String> = r.get(3)?;
        if let Err(broken) = check_anchor(&anchor, &anchored, found.as_deref(), &head) {
            return Ok(Err(broken));
        }
    }
    Ok(Ok(head))
}
