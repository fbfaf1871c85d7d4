//! One LIMS accession for two requests: refused unless a row gives the reason, and then the
//! sharing is recorded.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rusqlite::Connection;

use super::{Checked, ReconcileRow, RowOutcome, RowProblem, SHARED_ACCESSION_LOG_KEY};
use crate::domain::downtime_id::DowntimeId;
use crate::store::{Store, StoreError};

/// Every accession already recorded, by [`accession_key`], with the downtime ID (canonical) of
/// the request it belongs to. One read for a whole file: `accession` has no index.
pub(super) fn accessions_on_file(
    conn: &Connection,
) -> Result<HashMap<String, Vec<String>>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT accession, downtime_id FROM requests WHERE accession IS NOT NULL AND accession != ''",
    )?;
    let mut rows = stmt.query([])?;
    let mut taken: HashMap<String, Vec<String>> = HashMap::new();
    while let Some(r) = rows.next()? {
        let accession: String = r.get(0)?;
        taken
            .entry(accession_key(&accession))
            .or_default()
            .push(r.get(1)?);
    }
    Ok(taken)
}

/// Accessions are compared ignoring case and surrounding spaces: `a123` and `A123` typed for two
/// requests are most likely one LIMS number.
pub(super) fn accession_key(accession: &str) -> String {
    accession.trim().to_uppercase()
}

/// Records, beside the re-entry itself, that `id` shares `accession` with other requests and why:
/// who, when and from which workstation, in the append-only settings log.
pub(super) fn record_shared_accession(
    store: &Store,
    id: &DowntimeId,
    accession: &str,
    shared_with: &[String],
    reason: &str,
    user: &str,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let setup = store.require_setup()?;
    let value = serde_json::json!({
        "downtime_id": id.canonical(),
        "accession": accession,
        "shared_with": shared_with,
        "reason": reason,
    });
    store.conn.execute(
        "INSERT INTO settings_log(key, value, at_ms, workstation, user_name)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        rusqlite::params![
            SHARED_ACCESSION_LOG_KEY,
            value.to_string(),
            at.timestamp_millis(),
            setup.workstation.as_str(),
            user
        ],
    )?;
    Ok(())
}

/// One accession on rows for different requests: each such row is refused, naming the other,
/// unless it gives a reason for sharing (then the sharing is recorded with it).
pub(super) fn mark_shared_accessions(rows: &[ReconcileRow], checked: &mut [Checked]) {
    let id_of = |i: usize| DowntimeId::parse(&rows[i].downtime_id).ok();
    let mut by_accession: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, row) in rows.iter().enumerate() {
        if !row.accession.trim().is_empty() && id_of(i).is_some() {
            by_accession
                .entry(accession_key(&row.accession))
                .or_default()
                .push(i);
        }
    }
    for group in by_accession.values() {
        for &i in group {
            let Some(id) = id_of(i) else { continue };
            // A row already done is not the one in conflict; the other row is refused against
            // the database instead.
            if matches!(checked[i].outcome, RowOutcome::AlreadyDone { .. }) {
                continue;
            }
            for &j in group {
                let Some(other) = id_of(j).filter(|o| *o != id) else {
                    continue;
                };
                if matches!(checked[j].outcome, RowOutcome::AlreadyDone { .. }) {
                    continue;
                }
                if checked[i].shared_reason.is_some() {
                    checked[i].shared_with.push(other.to_string());
                    continue;
                }
                let problem = RowProblem::AccessionInOtherRow {
                    id: id.to_string(),
                    accession: rows[i].accession.trim().to_owned(),
                    other_row: rows[j].row,
                    other_id: other.to_string(),
                };
                match &mut checked[i].outcome {
                    RowOutcome::Invalid(p) => p.push(problem),
                    outcome => *outcome = RowOutcome::Invalid(vec![problem]),
                }
            }
        }
    }
}
