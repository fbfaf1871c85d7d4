//! `stopgap verify`: the file's integrity, that every cached state and every column copied from
//! it (all that is shown, sorted or searched) is the fold of its events, and that every issued
//! downtime ID is accounted for.

use std::collections::BTreeMap;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, Row};
use uuid::Uuid;

use super::rows::{COPIED_COLUMNS, copied_values, events_of, parse_uuid, stored_as};
use super::{Store, StoreError};
use crate::domain::downtime_id::{Code3, DowntimeId};
use crate::domain::merge::fold_merged;
use crate::error::error_chain;

/// What `verify` found. Sound when `problems` is empty.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VerifyReport {
    pub requests: u64,
    pub events: u64,
    /// Sequence numbers never issued by rule (their check character would be `*`).
    pub skipped_by_rule: u64,
    pub problems: Vec<String>,
    /// Requests whose stored record is damaged or differs from its history (each also has a
    /// line in `problems`): the app names them in a banner.
    pub damaged: Vec<DowntimeId>,
    /// Whether SQLite itself found the file damaged (`integrity:` lines in `problems`).
    pub file_damaged: bool,
    /// Clashes between PCs' records that need a person (`stopgap conflicts` lists them): not
    /// damage, the file is sound with them.
    pub conflicts: u64,
    /// Events from other PCs waiting for their request (its creation has not arrived, or
    /// another request holds its downtime ID): not damage either.
    pub waiting_events: u64,
}

impl VerifyReport {
    pub fn is_sound(&self) -> bool {
        self.problems.is_empty()
    }
}

impl Store {
    /// Checks the whole database. Reads everything: minutes at a million requests.
    pub fn verify(&self) -> Result<VerifyReport, StoreError> {
        verify(&self.conn)
    }
}

/// [`Store::verify`] on any connection to a Stopgap database, one that only reads included
/// (the app's background check, [`Store::check_integrity`]).
pub(super) fn verify(conn: &Connection) -> Result<VerifyReport, StoreError> {
    let mut report = VerifyReport::default();
    let integrity: Vec<String> = conn
        .prepare("PRAGMA integrity_check")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    if integrity != ["ok"] {
        report.file_damaged = true;
        report
            .problems
            .extend(integrity.into_iter().map(|p| format!("integrity: {p}")));
    }
    let fk: i64 = conn.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
        r.get(0)
    })?;
    if fk > 0 {
        report
            .problems
            .push(format!("{fk} rows break foreign keys"));
    }

    // Every column copied from a request's history (what the queue, `list`, search
    // and the exports show), equals the fold of the request's events. Values are read raw,
    // so one damaged byte is reported against its request and the check goes on.
    let select = format!(
        "SELECT rowid, {} FROM requests ORDER BY rowid",
        COPIED_COLUMNS.join(", ")
    );
    let mut st = conn.prepare(&select)?;
    let mut rows = st.query([])?;
    let mut issued: BTreeMap<(String, String), Vec<u32>> = BTreeMap::new();
    while let Some(r) = rows.next()? {
        report.requests += 1;
        let rowid: i64 = r.get("rowid")?;
        let Some(id_text) = raw_text(r, "downtime_id") else {
            report.problems.push(format!(
                "request in row {rowid}: its stored downtime ID is damaged (not text)"
            ));
            continue;
        };
        let uuid = match raw_text(r, "uuid").map(|u| parse_uuid(&u)) {
            Some(Ok(u)) => u,
            Some(Err(e)) => {
                report.problems.push(format!("request {id_text}: {e}"));
                continue;
            }
            None => {
                report
                    .problems
                    .push(format!("request {id_text}: its stored UUID is damaged"));
                continue;
            }
        };
        let id = match DowntimeId::parse(&id_text) {
            Ok(id) => id,
            Err(e) => {
                report
                    .problems
                    .push(format!("request {uuid}: stored downtime ID {id_text}: {e}"));
                continue;
            }
        };
        issued
            .entry((id.site().to_string(), id.workstation().to_string()))
            .or_default()
            .push(id.sequence());
        let before = report.problems.len();
        verify_request(conn, &mut report, r, &id, uuid)?;
        if report.problems.len() > before {
            report.damaged.push(id);
        }
    }

    // Events that belong to no request: imported, and waiting for their creation, or for a
    // duplicate downtime ID to be settled (each is a conflict). Any other request with events
    // but no row lost its row: damage.
    let mut st = conn.prepare(
        "SELECT DISTINCT request_uuid FROM events
         WHERE request_uuid NOT IN (SELECT uuid FROM requests)",
    )?;
    let waiting = st
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    drop(st);
    for uuid in waiting {
        let parsed = match parse_uuid(&uuid) {
            Ok(u) => u,
            Err(e) => {
                report
                    .problems
                    .push(format!("events of request {uuid}: {e}"));
                continue;
            }
        };
        let events = match events_of(conn, parsed) {
            Ok(e) => e,
            Err(e) => {
                report.problems.push(format!(
                    "events of request {uuid} unreadable: {}",
                    error_chain(&e)
                ));
                continue;
            }
        };
        report.waiting_events += events.len() as u64;
        if let Some(state) = fold_merged(parsed, &events).state {
            let held_by_another: bool = conn.query_row(
                "SELECT EXISTS(SELECT 1 FROM requests WHERE downtime_id = ?1)",
                [state.downtime_id.canonical()],
                |r| r.get(0),
            )?;
            if !held_by_another {
                report.problems.push(format!(
                    "request {}: its history is here but its record is missing",
                    state.downtime_id
                ));
            }
        }
    }

    // No gaps: every issuable sequence number up to the last issued has a request.
    let mut last_issued: BTreeMap<(String, String), u32> = BTreeMap::new();
    let mut st = conn.prepare("SELECT site, workstation, last FROM id_sequence")?;
    let mut seqs = st.query([])?;
    while let Some(r) = seqs.next()? {
        let site: String = r.get("site")?;
        let ws: String = r.get("workstation")?;
        let last: u32 = r.get("last")?;
        last_issued.insert((site.clone(), ws.clone()), last);
        issued.entry((site, ws)).or_default();
    }
    for ((site, ws), mut numbers) in issued {
        // Another PC's numbers arrive by handover, some not yet: the close-out names those.
        // Only the numbers this PC issued must all have their request here.
        if !last_issued.contains_key(&(site.clone(), ws.clone())) {
            continue;
        }
        let (Ok(s), Ok(w)) = (Code3::site(&site), Code3::workstation(&ws)) else {
            report
                .problems
                .push(format!("bad site/workstation code {site}/{ws}"));
            continue;
        };
        numbers.sort_unstable();
        numbers.dedup();
        let recorded = last_issued
            .get(&(site.clone(), ws.clone()))
            .copied()
            .unwrap_or(0);
        let last = numbers.last().copied().unwrap_or(0).max(recorded);
        let mut missing = Vec::new();
        for n in 1..=last {
            if !DowntimeId::is_issuable(&s, &w, n) {
                report.skipped_by_rule += 1;
            } else if numbers.binary_search(&n).is_err() {
                missing.push(n);
            }
        }
        if !missing.is_empty() {
            let shown: Vec<String> = missing
                .iter()
                .take(20)
                .filter_map(|&n| DowntimeId::new(s.clone(), w.clone(), n).ok())
                .map(|id| id.to_string())
                .collect();
            report.problems.push(format!(
                "{} downtime IDs of {site}/{ws} were issued but have no request: {}{}",
                missing.len(),
                shown.join(", "),
                if missing.len() > 20 { ", …" } else { "" }
            ));
        }
    }
    Ok(report)
}

/// Checks one request's row against the fold of its events, adding what differs.
fn verify_request(
    conn: &Connection,
    report: &mut VerifyReport,
    r: &Row<'_>,
    id: &DowntimeId,
    uuid: Uuid,
) -> Result<(), StoreError> {
    let events = match events_of(conn, uuid) {
        Ok(e) => e,
        Err(e) => {
            report.problems.push(format!(
                "request {id}: events unreadable: {}",
                error_chain(&e)
            ));
            return Ok(());
        }
    };
    report.events += events.len() as u64;
    // The canonical order of the merge, as every write uses: the same fold on every PC.
    let merged = fold_merged(uuid, &events);
    report.conflicts += merged.conflicts.iter().filter(|c| c.needs_action()).count() as u64;
    let Some(folded) = merged.state else {
        report
            .problems
            .push(format!("request {id}: its history has no creation event"));
        return Ok(());
    };
    let differing: Vec<&str> = COPIED_COLUMNS
        .iter()
        .zip(copied_values(&folded))
        .filter(|(column, expected)| !r.get_ref(**column).is_ok_and(|v| stored_as(v, expected)))
        .map(|(column, _)| *column)
        .collect();
    if !differing.is_empty() {
        report.problems.push(format!(
            "request {id}: stored {} differ{} from its history (the queue, list, search \
                     and exports would show the wrong value); its history is readable",
            differing.join(", "),
            if differing.len() == 1 { "s" } else { "" }
        ));
    }

    Ok(())
}

/// A text column as stored, or `None` when it is not valid UTF-8 text (damaged).
fn raw_text(r: &Row<'_>, column: &str) -> Option<String> {
    match r.get_ref(column).ok()? {
        ValueRef::Text(bytes) => std::str::from_utf8(bytes).ok().map(str::to_owned),
        _ => None,
    }
}
