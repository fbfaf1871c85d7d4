//! Reconciliation: recording the LIMS accession number each downtime request was re-entered
//! under, one at a time from the app or in bulk from a CSV file the lab keeps.
//!
//! Every row of a file is checked before anything is written. A file with a bad row is refused
//! whole, with a report per row, unless the caller asks to skip invalid rows; then the valid rows
//! are applied, all in one transaction. Re-running the same file changes nothing: a request
//! already re-entered under the same accession is "already done", not an error.

mod file;
mod shared;

use std::collections::HashMap;

use chrono::{DateTime, SubsecRound, Utc};
use rusqlite::Connection;

use super::{Store, StoreError};
use crate::domain::audit::{AuditAction, AuditEntry};
use crate::domain::downtime_id::{DowntimeId, DowntimeIdError};
use crate::domain::event::RequestState;
use crate::domain::request::CLOCK_SKEW_MINUTES;
use crate::domain::status::{Status, Transition, TransitionError};
use crate::domain::text::{TextError, UserError, check_user, clean};
pub use file::{ReconcileFileError, ReconcileRow, read_reconcile_csv};
use shared::{accession_key, accessions_on_file, mark_shared_accessions, record_shared_accession};

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
    #[error("entered_by: {0}")]
    BadEnteredBy(UserError),
    #[error(
        "accession {accession} is already recorded for request {other_id}, so it cannot also be {id}'s: check the accession, or if one LIMS accession really covers both, give the reason in a shared_accession column"
    )]
    AccessionTaken {
        id: String,
        accession: String,
        other_id: String,
    },
    #[error(
        "accession {accession} is also in row {other_row} for request {other_id}, so it cannot also be {id}'s: check which is right, or if one LIMS accession really covers both, give the reason in a shared_accession column"
    )]
    AccessionInOtherRow {
        id: String,
        accession: String,
        other_row: usize,
        other_id: String,
    },
    #[error("shared_accession: {0}")]
    BadSharedReason(TextError),
}

/// Longest reason for sharing an accession.
pub const SHARED_REASON_MAX: usize = 500;

/// The `settings_log` key under which an accepted shared accession is recorded (who, when,
/// which requests, why): the log is append-only, like the history.
pub const SHARED_ACCESSION_LOG_KEY: &str = "shared_accession";

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

fn state_by_id(conn: &Connection, id: &DowntimeId) -> Result<Option<RequestState>, StoreError> {
    super::rows::state_where(conn, "r.downtime_id = ?1", [id.canonical()])
}

/// A row checked against the database, before duplicates in the file are considered.
struct Checked {
    outcome: RowOutcome,
    state: Option<RequestState>,
    at: DateTime<Utc>,
    /// `entered_by` as checked; `None` when blank.
    by: Option<String>,
    /// The reason given for sharing the accession, cleaned; `None` when blank.
    shared_reason: Option<String>,
    /// Other requests (grouped downtime IDs) this row's accession is shared with.
    shared_with: Vec<String>,
}

fn check_row(
    conn: &Connection,
    row: &ReconcileRow,
    taken: &HashMap<String, Vec<String>>,
    now: DateTime<Utc>,
) -> Result<Checked, StoreError> {
    let mut problems = Vec::new();
    let accession = row.accession.trim().to_owned();
    let by = match row.entered_by.trim() {
        "" => None,
        typed => match check_user(typed) {
            Ok(name) => Some(name),
            Err(e) => {
                problems.push(RowProblem::BadEnteredBy(e));
                None
            }
        },
    };
    let shared_reason = match clean(&row.shared_accession, SHARED_REASON_MAX, false) {
        Ok(r) if r.is_empty() => None,
        Ok(r) => Some(r),
        Err(e) => {
            problems.push(RowProblem::BadSharedReason(e));
            None
        }
    };
    let mut shared_with = Vec::new();
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
                        let others = taken
                            .get(&accession_key(&accession))
                            .into_iter()
                            .flatten()
                            .filter(|other| **other != id.canonical());
                        for other in others {
                            let other_id = DowntimeId::parse(other)
                                .map_or_else(|_| other.clone(), |o| o.to_string());
                            if shared_reason.is_some() {
                                shared_with.push(other_id);
                            } else {
                                problems.push(RowProblem::AccessionTaken {
                                    id: id.to_string(),
                                    accession: accession.clone(),
                                    other_id,
                                });
                            }
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
    Ok(Checked {
        outcome,
        state,
        at,
        by,
        shared_reason,
        shared_with,
    })
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
        self.require(crate::domain::access::Permission::Reconcile)?;
        let row = ReconcileRow {
            row: 1,
            downtime_id: downtime_id.to_owned(),
            accession: accession.to_owned(),
            ..ReconcileRow::default()
        };
        let taken = accessions_on_file(&self.conn)?;
        let checked = check_row(&self.conn, &row, &taken, at)?;
        match (checked.outcome, checked.state) {
            (RowOutcome::Invalid(problems), _) => Err(ReconcileError::Refused(problems)),
            (RowOutcome::AlreadyDone { .. }, Some(s)) => Ok(Reconciled::AlreadyDone(s)),
            (RowOutcome::Apply { accession, .. }, Some(s)) => {
                let state = self.in_transaction(|store| {
                    let entry = AuditEntry {
                        action: AuditAction::Reconciled,
                        staff_id: String::new(),
                        user_name: user.to_owned(),
                        subject: s.downtime_id.canonical(),
                        detail: format!("re-entered in the LIMS under accession {accession}"),
                    };
                    let state = store.change_status(
                        s.request.uuid,
                        &Transition::Reentered { accession },
                        user,
                        at,
                    )?;
                    super::audit::append_in(&store.conn, &entry, at)?;
                    Ok(state)
                })?;
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
        self.require(crate::domain::access::Permission::Reconcile)?;
        self.in_transaction(|store| {
            let taken = accessions_on_file(&store.conn)?;
            let mut checked = Vec::with_capacity(rows.len());
            for row in rows {
                checked.push(check_row(&store.conn, row, &taken, now)?);
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
            for c in checked {
                if let (RowOutcome::Apply { id, accession }, Some(s)) = (c.outcome, c.state) {
                    let by = c.by.as_deref().unwrap_or(user);
                    if let Some(reason) = &c.shared_reason {
                        record_shared_accession(
                            store,
                            &id,
                            &accession,
                            &c.shared_with,
                            reason,
                            by,
                            c.at,
                        )?;
                    }
                    store.change_status(
                        s.request.uuid,
                        &Transition::Reentered { accession },
                        by,
                        c.at,
                    )?;
                }
            }
            let entry = AuditEntry {
                action: AuditAction::Reconciled,
                staff_id: String::new(),
                user_name: user.to_owned(),
                subject: "reconciliation file".into(),
                detail: format!(
                    "{} rows: {} re-entered, {} already done, {} invalid rows skipped",
                    report.rows.len(),
                    report.applied_count(),
                    report.already_done_count(),
                    report.invalid_count()
                ),
            };
            super::audit::append_in(&store.conn, &entry, now)?;
            Ok(report)
        })
    }
}

/// The same downtime ID twice in one file: with the same accession the later row is a repeat
/// (nothing more to do); with a different accession both rows are refused.
fn mark_duplicates(rows: &[ReconcileRow], checked: &mut [Checked]) {
    mark_shared_accessions(rows, checked);
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
