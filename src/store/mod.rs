//! The only code that touches SQLite.
//!
//! Opening is careful: a network filesystem, a damaged file, a newer schema or pragmas that did
//! not take effect are refused with a clear error, never a panic. Every change to a request is an
//! event inserted in the same transaction as the cached current state it changes.

mod accounts;
mod audit;
mod backup;
mod batches;
mod closeout;
mod early;
mod encrypt;
mod export_read;
mod export_recover;
mod export_run;
mod form_lookups;
mod handover;
mod handover_folder;
pub mod keys;
mod open;
mod overdue;
mod packed;
mod phoned;
mod queries;
mod reconcile;
mod restore;
mod rows;
pub mod schema;
mod search;
mod sessions;
mod settings;
mod settle;
mod turnaround;
mod verify;

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use crate::domain::catalogue::CatalogueError;
use crate::domain::downtime_id::DowntimeId;
use crate::domain::event::{Actor, Event, EventKind, FoldError, RequestState};
use crate::domain::identity;
use crate::domain::request::NewRequest;
use crate::domain::status::{Transition, TransitionError};

pub use accounts::{Account, AccountError, LOCKOUT_FAILURES, LOCKOUT_MS, NewAccount};
pub use audit::AuditFilter;
pub use backup::{
    BackupError, BackupMade, BackupRecord, BackupSettings, BackupSettingsError,
    DEFAULT_BACKUP_INTERVAL_MINUTES, DEFAULT_BACKUP_KEEP, Restored,
};
pub use batches::{
    BatchFile, BatchHeader, BatchRecord, BatchSpec, BatchTruncation, DEFAULT_EXPORT_STATUSES,
    ExportOptions, ExportSelection, WRITER_VERSION, batch_id_text,
};
pub use closeout::{
    CloseOut, CloseOutRow, CloseOutSummary, IdState, SkippedSequence, WorkstationCloseOut,
};
pub use early::{EarlyOutcome, EarlyReceipt, EarlyRefused};
pub use encrypt::{Encrypted, recover_interrupted};
pub use export_run::{ExportClaimed, Reservation, Snapshot};
pub use handover::{Imported, Incoming};
pub use handover_folder::{
    DEFAULT_HANDOVER_INTERVAL_MINUTES, HandoverSettings, HandoverSettingsError,
};
pub use keys::{DbKey, KdfParams, KeyError, KeyFile, RecoveryCode};
pub use open::{FileKind, ReadOnlyReason, file_kind, raw_connection};
pub use overdue::OverdueFirst;
pub use phoned::{PhonedFilter, PhonedRefused, PhonedRow};
pub use queries::{QueueFilter, QueueRow, SortColumn, SortOrder};
pub use reconcile::{
    ReconcileError, ReconcileFileError, ReconcileReport, ReconcileRow, Reconciled, RowOutcome,
    RowProblem, RowReport, read_reconcile_csv,
};
pub use settings::Setup;
pub use settle::{ConflictScan, ListedConflict, SettleError, SettleOutcome, SettledBy, Side};
pub use verify::VerifyReport;

/// Everything that can go wrong in the store, each with what the user should do.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the database {path} {reason}")]
    NetworkFilesystem { path: PathBuf, reason: String },
    #[error(
        "the database file {path} is damaged or is not a Stopgap database: {details}. Do not keep using it: copy it aside for IT, and use the paper procedure or another workstation"
    )]
    Damaged { path: PathBuf, details: String },
    #[error(
        "this database was written by a newer Stopgap (schema {found}, this program knows up to {latest}): use the newer program"
    )]
    NewerSchema { found: i64, latest: i64 },
    #[error(
        "the database could not be opened safely: PRAGMA {pragma} is '{actual}', Stopgap needs '{expected}'"
    )]
    UnsafePragma {
        pragma: &'static str,
        expected: String,
        actual: String,
    },
    #[error(
        "there is no Stopgap database at {path}: check the path (a new database is made only by the app's first run, `setup` or `demo`)"
    )]
    Missing { path: PathBuf },
    #[error("{path} is empty (0 bytes), so it is not a Stopgap database: check the path")]
    Empty { path: PathBuf },
    #[error("{path} is not a regular file (a device, pipe or folder), so it cannot be a database")]
    NotAFile { path: PathBuf },
    #[error("cannot read {path}")]
    CannotRead {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "cannot make a new database at {path}: {}; choose a folder this user can write",
        why.words().replace("it is on", "the folder is on").replace("its folder", "the folder")
    )]
    CannotCreate { path: PathBuf, why: ReadOnlyReason },
    #[error(
        "the disk is full: nothing was saved. The database is not damaged: free some space on this disk (old exports, downloads) and try again"
    )]
    DiskFull,
    #[error(
        "this database can only be read ({}): viewing only, nothing can be saved. To work on it, copy the file to a folder this user can write on the computer's own disk",
        .0.words()
    )]
    ReadOnly(ReadOnlyReason),
    #[error(
        "this database can only be read ({}) and was written by an older Stopgap, which needs to upgrade it first: copy it to a writable folder",
        .0.words()
    )]
    ReadOnlyNeedsUpgrade(ReadOnlyReason),
    #[error("could not open the database {path}")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("this workstation is not set up yet: choose its site and workstation codes first")]
    NotSetUp,
    #[error(transparent)]
    Transition(#[from] TransitionError),
    /// A phoned result not recorded: the sample is not in the lab, or the result breaks a rule.
    #[error(transparent)]
    Phoned(#[from] PhonedRefused),
    #[error("no request with ID {0}")]
    UnknownRequest(String),
    #[error("request {0} was already saved with different details; the form was not saved again")]
    UuidConflict(Uuid),
    #[error(
        "this workstation has used up its downtime ID numbers ({0}); set up a new workstation code"
    )]
    SequenceExhausted(String),
    #[error("stored data could not be read: {0}")]
    Corrupt(String),
    /// A handover bundle this PC does not take (another site, training data into a live
    /// database); nothing of it was imported.
    #[error("the handover bundle was not imported: {0}")]
    HandoverRefused(String),
    #[error("the ward list was not saved")]
    BadWard(#[from] crate::domain::ward::WardError),
    /// The patient's NHS number or MRN is on file for someone with other details, and no reason
    /// was given for saving anyway. One message per conflicting record.
    #[error(
        "not saved: {}. Check the wristband; if the details are right, save again giving a reason",
        .0.join("; ")
    )]
    IdentityMismatch(Vec<String>),
    #[error("history of request {uuid} is inconsistent")]
    Fold { uuid: Uuid, source: FoldError },
    #[error("the test catalogue is not usable")]
    Catalogue(#[from] CatalogueError),
    #[error(transparent)]
    Early(#[from] EarlyRefused),
    #[error(transparent)]
    HandoverSettings(#[from] HandoverSettingsError),
    #[error(transparent)]
    OverdueThreshold(#[from] crate::domain::overdue::OverdueThresholdError),
    /// Another export in progress, or one recorded since this one read its requests, has some
    /// of its requests.
    #[error(transparent)]
    Claimed(#[from] ExportClaimed),
    /// A backup or restore not made (the backup folder, or a refused file).
    #[error(transparent)]
    Backup(#[from] BackupError),
    /// A key slot not opened: wrong password, unknown or removed account, missing or damaged
    /// key file (each its own message).
    #[error(transparent)]
    Key(#[from] keys::KeyError),
    #[error(
        "the database {path} is encrypted and nobody has signed in to this program yet: sign in with your staff ID and password"
    )]
    Locked { path: PathBuf },
    #[error(
        "the database {path} did not open with its key, although the password was right: the file is damaged or was altered. Do not keep using it: copy it and its .keys file aside for IT, restore the last backup, or use the paper procedure"
    )]
    Undecryptable { path: PathBuf },
    #[error(
        "{staff_id} is locked for {seconds} s after {} wrong passwords in a row: wait, or ask a manager to reset the password",
        accounts::LOCKOUT_FAILURES
    )]
    AccountLocked { staff_id: String, seconds: i64 },
    #[error("nobody is signed in (the screen is locked): sign in first")]
    SignedOut,
    #[error(transparent)]
    Refused(#[from] crate::domain::access::Refused),
    #[error(transparent)]
    Account(#[from] AccountError),
    #[error("there is already a database at {path}: open it, or choose another file")]
    AlreadyExists { path: PathBuf },
    #[error("database error")]
    Sql(#[source] rusqlite::Error),
}

impl From<rusqlite::Error> for StoreError {
    /// A full disk is said plainly wherever it happens (a save, an export's record, a
    /// migration), never as a database error or damage.
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DiskFull) => StoreError::DiskFull,
            Some(rusqlite::ErrorCode::ReadOnly) => StoreError::ReadOnly(ReadOnlyReason::Medium),
            _ => StoreError::Sql(e),
        }
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError::Corrupt(e.to_string())
    }
}

/// The result of a save.
#[derive(Debug, Clone, PartialEq)]
pub struct Saved {
    pub downtime_id: DowntimeId,
    /// True when this form had already been saved (a repeated save is recognised, not duplicated).
    pub already_saved: bool,
}

/// A request and its whole history.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestDetail {
    pub state: RequestState,
    pub events: Vec<Event>,
    pub training: bool,
}

/// The store: one SQLite file per workstation.
pub struct Store {
    conn: Connection,
    path: PathBuf,
    /// Nesting of `write` calls; 0 outside any transaction.
    write_depth: u32,
    /// Set when the file can only be read (see [`Store::read_only`]).
    read_only: Option<ReadOnlyReason>,
    /// Whoever the store works for; `None` while the screen is locked (see `accounts`).
    principal: Option<crate::domain::access::Principal>,
}

/// Event times are stored as whole milliseconds (`at_ms`); an event is built with its time already
/// cut to that precision, so the cached state always equals the fold of the stored events.
fn stored_time(t: DateTime<Utc>) -> DateTime<Utc> {
    chrono::SubsecRound::trunc_subsecs(t, 3)
}

/// The time of a new local event of a request whose last change was at `last`: now, but at
/// least 1 ms after `last`, so the merged order (by time) folds it last, where it was made. At
/// the same millisecond events are ordered by kind, and a status change would fold before a
/// phoned result or a settlement recorded just ahead of it.
fn next_event_at(now: DateTime<Utc>, last: Option<DateTime<Utc>>) -> DateTime<Utc> {
    let now = stored_time(now);
    last.map_or(now, |l| now.max(l + chrono::Duration::milliseconds(1)))
}

/// Whether a repeated save is the form already saved: equal except for the conflicting records
/// the store wrote into the identity override the first time.
fn same_form(stored: &NewRequest, again: &NewRequest) -> bool {
    let forget_on_file = |r: &NewRequest| {
        let mut r = r.clone();
        if let Some(o) = &mut r.identity_override {
            o.on_file.clear();
        }
        r
    };
    forget_on_file(stored) == forget_on_file(again)
}

impl Store {
    /// The database file this store was opened on.
    pub fn path(&self) -> &Path {
        &self.path
    }

    // ---- Requests -------------------------------------------------------------------------

    /// Saves a checked request: issues its downtime ID and records the creation event, in one
    /// transaction. Saving the same form (same UUID) again returns the ID it already has.
    pub fn save_request(
        &mut self,
        request: &NewRequest,
        user: &str,
        now: DateTime<Utc>,
    ) -> Result<Saved, StoreError> {
        self.save_request_inner(request, user, now, false)
    }

    /// Saves a synthetic training request (marked so the app shows a TRAINING banner).
    pub fn save_training_request(
        &mut self,
        request: &NewRequest,
        user: &str,
        now: DateTime<Utc>,
    ) -> Result<Saved, StoreError> {
        self.save_request_inner(request, user, now, true)
    }

    fn save_request_inner(
        &mut self,
        request: &NewRequest,
        user: &str,
        now: DateTime<Utc>,
        training: bool,
    ) -> Result<Saved, StoreError> {
        self.require(crate::domain::access::Permission::CreateRequest)?;
        let setup = self.require_setup()?;
        self.write(|tx| Self::save_in(tx, &setup, request, user, now, training))
    }

    fn save_in(
        tx: &Connection,
        setup: &Setup,
        request: &NewRequest,
        user: &str,
        now: DateTime<Utc>,
        training: bool,
    ) -> Result<Saved, StoreError> {
        let existing = rows::state_where(tx, "r.uuid = ?1", [request.uuid.to_string()])?;
        if let Some(state) = existing {
            if !same_form(&state.request, request) {
                return Err(StoreError::UuidConflict(request.uuid));
            }
            return Ok(Saved {
                downtime_id: state.downtime_id,
                already_saved: true,
            });
        }
        let request = &Self::check_identity(tx, request)?;
        let last: u32 = tx
            .query_row(
                "SELECT last FROM id_sequence WHERE site = ?1 AND workstation = ?2",
                [setup.site.as_str(), setup.workstation.as_str()],
                |r| r.get(0),
            )
            .optional()?
            .unwrap_or(0);
        let sequence = DowntimeId::next_issuable(&setup.site, &setup.workstation, last)
            .ok_or_else(|| StoreError::SequenceExhausted(setup.workstation.to_string()))?;
        let downtime_id = DowntimeId::new(setup.site.clone(), setup.workstation.clone(), sequence)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        tx.execute(
            "INSERT INTO id_sequence(site, workstation, last) VALUES (?1, ?2, ?3)
             ON CONFLICT(site, workstation) DO UPDATE SET last = excluded.last",
            params![setup.site.as_str(), setup.workstation.as_str(), sequence],
        )?;
        let event = Event {
            id: Uuid::new_v4(),
            request_uuid: request.uuid,
            actor: Actor {
                workstation: setup.workstation.clone(),
                user: user.trim().to_owned(),
            },
            at: stored_time(now),
            kind: EventKind::Created {
                downtime_id: downtime_id.clone(),
                request: Box::new(request.clone()),
            },
        };
        let state = RequestState::created(&event).map_err(|source| StoreError::Fold {
            uuid: request.uuid,
            source,
        })?;
        rows::insert_event(tx, &event)?;
        rows::insert_request(tx, &state, training)?;
        Ok(Saved {
            downtime_id,
            already_saved: false,
        })
    }

    /// Refuses a request whose patient disagrees with what is on file under the same NHS number
    /// or MRN, unless it carries a reason; with a reason, returns it with the conflicting records
    /// written into its override, so the `Created` event says who it conflicted with. Runs inside
    /// the save transaction, so it sees every request committed before this one.
    fn check_identity(tx: &Connection, request: &NewRequest) -> Result<NewRequest, StoreError> {
        let p = &request.patient;
        let on_file = queries::patients_on_file_in(tx, p.nhs_number.as_ref(), p.mrn.as_deref())?;
        let conflicts = identity::mismatches(p, &on_file);
        let mut checked = request.clone();
        match &mut checked.identity_override {
            Some(o) if !o.reason.trim().is_empty() => {
                o.on_file = conflicts
                    .iter()
                    .map(|m| identity::patient_line(&m.on_file))
                    .collect();
            }
            _ if !conflicts.is_empty() => {
                return Err(StoreError::IdentityMismatch(
                    conflicts.iter().map(|m| m.message(p)).collect(),
                ));
            }
            _ => {}
        }
        Ok(checked)
    }

    /// Changes a request's status, refusing a change the lifecycle does not allow.
    pub fn change_status(
        &mut self,
        uuid: Uuid,
        transition: &Transition,
        user: &str,
        now: DateTime<Utc>,
    ) -> Result<RequestState, StoreError> {
        use crate::domain::access::Permission;
        self.require(match transition {
            Transition::Sent => Permission::Print,
            Transition::Cancelled { .. } => Permission::Cancel,
            Transition::Received | Transition::Rejected { .. } => Permission::LabWork,
            Transition::Reentered { .. } => Permission::Reconcile,
        })?;
        let kind = EventKind::StatusChanged {
            transition: transition.clone(),
        };
        self.append_event(uuid, kind, user, now, |state| {
            Ok(transition.check(state.status)?)
        })
    }

    /// Records one more event of request `uuid` under this workstation and `user`, after
    /// `check` accepts the request's current state, and updates the request's row, in one
    /// transaction. The event is dated after the request's last change (which may come from
    /// another PC's clock, or be this PC's own a moment ago; see [`next_event_at`]).
    pub(crate) fn append_event(
        &mut self,
        uuid: Uuid,
        kind: EventKind,
        user: &str,
        now: DateTime<Utc>,
        check: impl FnOnce(&RequestState) -> Result<(), StoreError>,
    ) -> Result<RequestState, StoreError> {
        let setup = self.require_setup()?;
        self.write(|tx| {
            let mut state = rows::state_where(tx, "r.uuid = ?1", [uuid.to_string()])?
                .ok_or_else(|| StoreError::UnknownRequest(uuid.to_string()))?;
            check(&state)?;
            let event = Event {
                id: Uuid::new_v4(),
                request_uuid: uuid,
                actor: Actor {
                    workstation: setup.workstation,
                    user: user.trim().to_owned(),
                },
                at: next_event_at(now, Some(state.updated_at)),
                kind,
            };
            state
                .apply(&event)
                .map_err(|source| StoreError::Fold { uuid, source })?;
            rows::insert_event(tx, &event)?;
            rows::update_request(tx, &state)?;
            Ok(state)
        })
    }

    /// A request and its history.
    pub fn request_detail(&self, uuid: Uuid) -> Result<Option<RequestDetail>, StoreError> {
        self.require(crate::domain::access::Permission::ViewQueue)?;
        let training: Option<i64> = self
            .conn
            .query_row(
                "SELECT training FROM requests WHERE uuid = ?1",
                [uuid.to_string()],
                |r| r.get(0),
            )
            .optional()?;
        let Some(training) = training else {
            return Ok(None);
        };
        let state = rows::state_where(&self.conn, "r.uuid = ?1", [uuid.to_string()])?
            .ok_or_else(|| StoreError::UnknownRequest(uuid.to_string()))?;
        Ok(Some(RequestDetail {
            state,
            events: rows::events_of(&self.conn, uuid)?,
            training: training != 0,
        }))
    }

    /// Finds a request by its downtime ID.
    pub fn find_by_downtime_id(
        &self,
        id: &DowntimeId,
    ) -> Result<Option<RequestDetail>, StoreError> {
        self.require(crate::domain::access::Permission::ViewQueue)?;
        let uuid: Option<String> = self
            .conn
            .query_row(
                "SELECT uuid FROM requests WHERE downtime_id = ?1",
                [id.canonical()],
                |r| r.get(0),
            )
            .optional()?;
        match uuid {
            None => Ok(None),
            Some(u) => self.request_detail(rows::parse_uuid(&u)?),
        }
    }

    /// Runs a closure in one transaction: for bulk writers such as the demo generator, so a
    /// failure part-way leaves nothing half-written.
    pub fn in_transaction<T>(
        &mut self,
        f: impl FnOnce(&mut Store) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.begin_write()?;
        let result = f(self);
        self.end_write(result)
    }

    /// Runs `f` as one write: a transaction taking the write lock at once (`BEGIN IMMEDIATE`, so
    /// two processes never deadlock upgrading a read), or a savepoint inside an outer one.
    fn write<T>(
        &mut self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.begin_write()?;
        let result = f(&self.conn);
        self.end_write(result)
    }

    fn begin_write(&mut self) -> Result<(), StoreError> {
        if let Some(reason) = self.read_only {
            return Err(StoreError::ReadOnly(reason));
        }
        let sql = if self.conn.is_autocommit() {
            "BEGIN IMMEDIATE"
        } else {
            "SAVEPOINT write"
        };
        self.conn.execute_batch(sql)?;
        self.write_depth += 1;
        Ok(())
    }

    fn end_write<T>(&mut self, result: Result<T, StoreError>) -> Result<T, StoreError> {
        self.write_depth -= 1;
        let outer = self.write_depth == 0;
        match result {
            Ok(v) => {
                let sql = if outer { "COMMIT" } else { "RELEASE write" };
                if let Err(e) = self.conn.execute_batch(sql) {
                    // A failed COMMIT (disk full, I/O error) leaves nothing half-written: roll back.
                    if !self.conn.is_autocommit() {
                        self.conn.execute_batch(if outer {
                            "ROLLBACK"
                        } else {
                            "ROLLBACK TO write; RELEASE write"
                        })?;
                    }
                    return Err(e.into());
                }
                Ok(v)
            }
            Err(e) => {
                if !self.conn.is_autocommit() {
                    self.conn.execute_batch(if outer {
                        "ROLLBACK"
                    } else {
                        "ROLLBACK TO write; RELEASE write"
                    })?;
                }
                Err(e)
            }
        }
    }
}
