//! Reconciliation: recording the LIMS accession number each downtime request was re-entered
//! under, one at a time from the app or in bulk from a CSV file the lab keeps.
//!
//! Every row of a file is checked before anything is written. A file with a bad row is refused
//! whole, with a report per row, unless the caller asks to skip invalid rows; then the valid rows
//! are applied, all in one transaction. Re-running the same file changes nothing: a request
//! already re-entered under the same accession is "already done", not an error.

use std::collections::HashMap;
use std::io::Read;

use chrono::{DateTime, SubsecRound, Utc};
use rusqlite::{Connection, OptionalExtension};

use super::{Store, StoreError};
use crate::domain::downtime_id::{DowntimeId, DowntimeIdError};
use crate::domain::event::RequestState;
use crate::domain::request::CLOCK_SKEW_MINUTES;
use crate::domain::status::{Status, Transition, TransitionError};

/// One row of a reconciliation file, as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReconcileRow {
    /// The row number in the file; the header is row 1.
    pub row: usize,
    pub downtime_id: String,
    pub accession: String,
    /// Who typed it into the LIMS; blank means the user running the reconciliation.
    pub entered_by: String,
    /// When it was typed into the LIMS (RFC 3339 with an offset); blank means now.
    pub entered_at: String,
}

/// What is wrong with one row.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RowProblem {
    #[error("{0}")]
    BadId(DowntimeIdError),
    #[error(
        "no request with downtime ID {0} in this database: check the ID, or merge the workstation that issued it first"
    )]
    UnknownId(String),
    #[error("{0}")]
    BadAccession(TransitionError),
    #[error(
        "request {id} was already re-entered under accession {existing}, not {given}: check which is right"
    )]
    DifferentAccession {
        id: String,
        existing: String,
        given: String,
    },
    #[error("request {id} was {status} ({reason}): it is final and is not re-entered")]
    NotReenterable {
        id: String,
        status: &'static str,
        reason: String,
    },
    #[error(
        "downtime ID {id} is also in row {other_row} with a different accession ({other_accession}): keep the right one"
    )]
    DuplicateInFile {
        id: String,
        other_row: usize,
        other_accession: String,
    },
    #[error(
        "entered_at '{0}' is not a date and time with an offset: write it like 2026-11-30T14:05:00Z or 2026-11-30T14:05:00+00:00"
    )]
    BadEnteredAt(String),
    #[error("entered_at {0} is in the future")]
    FutureEnteredAt(String),
    #[error("entered_at {0} is before the request was logged")]
    EnteredBeforeCreated(String),
}

/// What happens (or happened) to one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowOutcome {
    /// Valid: the request is (or would be) marked re-entered.
    Apply { id: DowntimeId, accession: String },
    /// The request is already re-entered under this accession: nothing to do.
    AlreadyDone { id: DowntimeId },
    /// The same ID and accession appear in an earlier row: nothing more to do.
    RepeatOfRow { id: DowntimeId, row: usize },
    /// Refused, with every reason.
    Invalid(Vec<RowProblem>),
}

/// One row's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowReport {
    pub row: usize,
    /// As typed.
    pub downtime_id: String,
    pub outcome: RowOutcome,
}

/// The result of reconciling a file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReconcileReport {
    pub rows: Vec<RowReport>,
    /// Whether the valid rows were written (false when the file was refused).
    pub written: bool,
}

impl ReconcileReport {
    pub fn invalid(&self) -> impl Iterator<Item = (&RowReport, &[RowProblem])> {
        self.rows.iter().filter_map(|r| match &r.outcome {
            RowOutcome::Invalid(p) => Some((r, p.as_slice())),
            _ => None,
        })
    }

    pub fn invalid_count(&self) -> usize {
        self.invalid().count()
    }

    /// Rows that re-entered a request (or would have, had the file not been refused).
    pub fn to_apply_count(&self) -> usize {
        self.rows
            .iter()
            .filter(|r| matches!(r.outcome, RowOutcome::Apply { .. }))
            .count()
    }

    /// Requests actually marked re-entered by this run.
    pub fn applied_count(&self) -> usize {
        if self.written {
            self.to_apply_count()
        } else {
            0
        }
    }

    pub fn already_done_count(&self) -> usize {
        self.rows
            .iter()
            .filter(|r| {
                matches!(
                    r.outcome,
                    RowOutcome::AlreadyDone { .. } | RowOutcome::RepeatOfRow { .. }
                )
            })
            .count()
    }

    /// One line per refused row: `row 5: ...; ...`.
    pub fn problem_lines(&self) -> Vec<String> {
        self.invalid()
            .map(|(r, problems)| {
                let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
                format!("row {}: {}", r.row, text.join("; "))
            })
            .collect()
    }
}

/// The result of reconciling one request.
#[derive(Debug, Clone, PartialEq)]
pub enum Reconciled {
    /// Marked re-entered now.
    Reentered(RequestState),
    /// It already was, under the same accession; nothing was written.
    AlreadyDone(RequestState),
}

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Refused(Vec<RowProblem>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a reconciliation file could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileFileError {
    #[error(
        "the file is empty: it needs a header row downtime_id,accession[,entered_by,entered_at]"
    )]
    Empty,
    #[error(
        "row 1 must be the header downtime_id,accession[,entered_by,entered_at]; it has no '{0}' column"
    )]
    MissingColumn(&'static str),
    #[error("row {row}: {message}")]
    Csv { row: u64, message: String },
    /// The csv crate's own message for this says "invalid utf-8" twice and counts from 0.
    #[error("row {row} is not UTF-8 text: save the file as \"CSV UTF-8\" and try again")]
    NotUtf8 { row: u64 },
}

/// Reads a reconciliation CSV: a header row naming `downtime_id` and `accession` (and optionally
/// `entered_by`, `entered_at`), in any order, then one row per request. Rows whose cells are all
/// blank are skipped; row numbers are those of the file (header = row 1).
pub fn read_reconcile_csv(input: impl Read) -> Result<Vec<ReconcileRow>, ReconcileFileError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(input);
    let mut records = reader.records();
    let csv_err = |e: csv::Error| {
        let row = e.position().map_or(0, csv::Position::line);
        match e.kind() {
            csv::ErrorKind::Utf8 { .. } => ReconcileFileError::NotUtf8 { row },
            _ => ReconcileFileError::Csv {
                row,
                message: e.to_string(),
            },
        }
    };
    let header = match records.next() {
        None => return Err(ReconcileFileError::Empty),
        Some(h) => h.map_err(csv_err)?,
    };
    let col = |name: &'static str| {
        header.iter().position(|h| {
            h.trim()
                .trim_start_matches('\u{feff}')
                .eq_ignore_ascii_case(name)
        })
    };
    let id_col = col("downtime_id").ok_or(ReconcileFileError::MissingColumn("downtime_id"))?;
    let acc_col = col("accession").ok_or(ReconcileFileError::MissingColumn("accession"))?;
    let by_col = col("entered_by");
    let at_col = col("entered_at");
    let mut out = Vec::new();
    for (i, rec) in records.enumerate() {
        let rec = rec.map_err(csv_err)?;
        if rec.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let cell = |c: Option<usize>| {
            c.and_then(|c| rec.get(c))
                .map(|s| s.trim().to_owned())
                .unwrap_or_default()
        };
        out.push(ReconcileRow {
            row: i + 2,
            downtime_id: cell(Some(id_col)),
            accession: cell(Some(acc_col)),
            entered_by: cell(by_col),
            entered_at: cell(at_col),
        });
    }
    Ok(out)
}

fn state_by_id(conn: &Connection, id: &DowntimeId) -> Result<Option<RequestState>, StoreError> {
    let json: Option<String> = conn
        .query_row(
            "SELECT state FROM requests WHERE downtime_id = ?1",
            [id.canonical()],
            |r| r.get(0),
        )
        .optional()?;
    match json {
        None => Ok(None),
        Some(j) => Ok(Some(serde_json::from_str(&j)?)),
    }
}

/// A row checked against the database, before duplicates in the file are considered.
struct Checked {
    outcome: RowOutcome,
    state: Option<RequestState>,
    at: DateTime<Utc>,
}

fn check_row(
    conn: &Connection,
    row: &ReconcileRow,
    now: DateTime<Utc>,
) -> Result<Checked, StoreError> {
    let mut problems = Vec::new();
    let accession = row.accession.trim().to_owned();
    if let Err(e) = (Transition::Reentered {
        accession: accession.clone(),
    })
    .check(Status::Logged)
    {
        problems.push(RowProblem::BadAccession(e));
    }
    let mut at = now;
    let typed_at = row.entered_at.trim();
    if !typed_at.is_empty() {
        match DateTime::parse_from_rfc3339(typed_at) {
            Ok(t) => {
                // Stored times are whole milliseconds: keep the state equal to its history.
                at = t.with_timezone(&Utc).trunc_subsecs(3);
                if at > now + chrono::Duration::minutes(CLOCK_SKEW_MINUTES) {
                    problems.push(RowProblem::FutureEnteredAt(typed_at.to_owned()));
                }
            }
            Err(_) => problems.push(RowProblem::BadEnteredAt(typed_at.to_owned())),
        }
    }
    let mut state = None;
    let mut outcome = None;
    match DowntimeId::parse(&row.downtime_id) {
        Err(e) => problems.push(RowProblem::BadId(e)),
        Ok(id) => match state_by_id(conn, &id)? {
            None => problems.push(RowProblem::UnknownId(id.to_string())),
            Some(s) => {
                match s.status {
                    Status::Cancelled | Status::Rejected => {
                        problems.push(RowProblem::NotReenterable {
                            id: id.to_string(),
                            status: s.status.word(),
                            reason: s.reason.clone().unwrap_or_default(),
                        })
                    }
                    Status::Reentered => {
                        let existing = s.accession.clone().unwrap_or_default();
                        if existing == accession {
                            outcome = Some(RowOutcome::AlreadyDone { id: id.clone() });
                        } else {
                            problems.push(RowProblem::DifferentAccession {
                                id: id.to_string(),
                                existing,
                                given: accession.clone(),
                            });
                        }
                    }
                    Status::Logged | Status::Sent | Status::Received => {
                        if !typed_at.is_empty() && at < s.created_at {
                            problems.push(RowProblem::EnteredBeforeCreated(typed_at.to_owned()));
                        }
                    }
                }
                outcome.get_or_insert(RowOutcome::Apply {
                    id,
                    accession: accession.clone(),
                });
                state = Some(s);
            }
        },
    }
    let outcome = if problems.is_empty() {
        outcome.ok_or_else(|| StoreError::Corrupt("reconciliation row without outcome".into()))?
    } else {
        RowOutcome::Invalid(problems)
    };
    Ok(Checked { outcome, state, at })
}

impl Store {
    /// Marks one request re-entered in the LIMS under `accession` (the app's "re-entered"
    /// action by downtime ID). Refuses with the same checks as a file row; a request already
    /// re-entered under the same accession is [`Reconciled::AlreadyDone`] and nothing is written.
    pub fn reconcile_one(
        &mut self,
        downtime_id: &str,
        accession: &str,
        user: &str,
        at: DateTime<Utc>,
    ) -> Result<Reconciled, ReconcileError> {
        let row = ReconcileRow {
            row: 1,
            downtime_id: downtime_id.to_owned(),
            accession: accession.to_owned(),
            ..ReconcileRow::default()
        };
        let checked = check_row(&self.conn, &row, at)?;
        match (checked.outcome, checked.state) {
            (RowOutcome::Invalid(problems), _) => Err(ReconcileError::Refused(problems)),
            (RowOutcome::AlreadyDone { .. }, Some(s)) => Ok(Reconciled::AlreadyDone(s)),
            (RowOutcome::Apply { accession, .. }, Some(s)) => {
                let state = self.change_status(
                    s.request.uuid,
                    &Transition::Reentered { accession },
                    user,
                    at,
                )?;
                Ok(Reconciled::Reentered(state))
            }
            _ => Err(StoreError::Corrupt("reconciliation row without a request".into()).into()),
        }
    }

    /// Reconciles the rows of a file. Every row is checked first; with any invalid row nothing
    /// is written unless `skip_invalid`, and then only the valid rows are. All writes are one
    /// transaction. `user` is used for rows without `entered_by`, `now` for rows without
    /// `entered_at`.
    pub fn reconcile(
        &mut self,
        rows: &[ReconcileRow],
        skip_invalid: bool,
        user: &str,
        now: DateTime<Utc>,
    ) -> Result<ReconcileReport, StoreError> {
        self.in_transaction(|store| {
            let mut checked = Vec::with_capacity(rows.len());
            for row in rows {
                checked.push(check_row(&store.conn, row, now)?);
            }
            mark_duplicates(rows, &mut checked);
            let report = ReconcileReport {
                rows: rows
                    .iter()
                    .zip(&checked)
                    .map(|(r, c)| RowReport {
                        row: r.row,
                        downtime_id: r.downtime_id.clone(),
                        outcome: c.outcome.clone(),
                    })
                    .collect(),
                written: skip_invalid
                    || checked
                        .iter()
                        .all(|c| !matches!(c.outcome, RowOutcome::Invalid(_))),
            };
            if !report.written {
                return Ok(report);
            }
            for (row, c) in rows.iter().zip(checked) {
                if let (RowOutcome::Apply { accession, .. }, Some(s)) = (c.outcome, c.state) {
                    let by = if row.entered_by.trim().is_empty() {
                        user
                    } else {
                        row.entered_by.trim()
                    };
                    store.change_status(
                        s.request.uuid,
                        &Transition::Reentered { accession },
                        by,
                        c.at,
                    )?;
                }
            }
            Ok(report)
        })
    }
}

/// The same downtime ID twice in one file: with the same accession the later row is a repeat
/// (nothing more to do); with a different accession both rows are refused.
fn mark_duplicates(rows: &[ReconcileRow], checked: &mut [Checked]) {
    let mut first: HashMap<String, usize> = HashMap::new();
    for i in 0..rows.len() {
        let id = match &checked[i].outcome {
            RowOutcome::Apply { id, .. } | RowOutcome::AlreadyDone { id } => id.clone(),
            RowOutcome::Invalid(_) => match DowntimeId::parse(&rows[i].downtime_id) {
                Ok(id) => id,
                Err(_) => continue,
            },
            RowOutcome::RepeatOfRow { .. } => continue,
        };
        let Some(&j) = first.get(&id.canonical()) else {
            first.insert(id.canonical(), i);
            continue;
        };
        let (acc_i, acc_j) = (rows[i].accession.trim(), rows[j].accession.trim());
        if acc_i == acc_j {
            if !matches!(checked[i].outcome, RowOutcome::Invalid(_)) {
                checked[i].outcome = RowOutcome::RepeatOfRow {
                    id,
                    row: rows[j].row,
                };
            }
            continue;
        }
        for (a, b) in [(i, j), (j, i)] {
            let problem = RowProblem::DuplicateInFile {
                id: id.to_string(),
                other_row: rows[b].row,
                other_accession: rows[b].accession.trim().to_owned(),
            };
            match &mut checked[a].outcome {
                RowOutcome::Invalid(p) => p.push(problem),
                other => *other = RowOutcome::Invalid(vec![problem]),
            }
        }
    }
}
