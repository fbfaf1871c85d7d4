//! The backlog after recovery: exporting requests to a file for re-entry into the LIMS (recording
//! the batch), reproducing a recorded batch, and writing the close-out report. The command line
//! and the app both call these, so a file is always named, written and recorded the same way.
//!
//! Pure of egui and of the clock: `now` is a parameter. Files are written atomically and never
//! over an existing file unless [`Overwrite::Replace`] is given.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};

use chrono::{DateTime, Days, NaiveDate, TimeZone, Utc};

use crate::domain::event::RequestState;
use crate::domain::ward::Ward;
use crate::error::error_chain;
use crate::export::check::Truncation;
use crate::export::{
    CsvOptions, ExportContext, ExportError, Format, Profile, UnknownFormat, check_mappings,
    write_export, write_export_listing_truncations,
};
use crate::files::{Overwrite, RecordCounter, WatchedWriter, WriteError, Written, write_atomic};
use crate::report::{ReportFormat, close_out_pdf, write_close_out_csv};
use crate::store::{
    BatchFile, BatchRecord, BatchSpec, BatchTruncation, CloseOut, ExportOptions, ExportSelection,
    Reservation, Store, StoreError,
};

/// Why an export, re-run or report was not written.
#[derive(Debug, thiserror::Error)]
pub enum BacklogError {
    #[error(
        "no requests match (already-exported requests are left out unless asked for): nothing was exported"
    )]
    NothingToExport,
    #[error("{out}: the folder {folder} does not exist")]
    NoFolder { out: PathBuf, folder: PathBuf },
    #[error("could not read the export profile {path}")]
    ProfileUnreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("could not load {path}")]
    BadProfile { path: PathBuf, source: ExportError },
    #[error("batch {batch}: {message}")]
    BadBatch { batch: String, message: String },
    #[error("{0}")]
    BadDay(String),
    #[error("the export was cancelled: no file was written and nothing was recorded")]
    Cancelled,
    #[error("{0}: the report file must end .pdf or .csv")]
    NotAReportName(PathBuf),
    #[error(transparent)]
    Export(#[from] ExportError),
    #[error(transparent)]
    Write(#[from] WriteError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Two failures at once: neither caused the other, so both are in the message, each with
    /// its own causes, and there is no `source`.
    #[error(
        "{}; and the unrecorded export {path} could not be removed ({}): delete it",
        error_chain(&**.error),
        error_chain(.removal)
    )]
    Unremoved {
        error: Box<BacklogError>,
        path: PathBuf,
        removal: std::io::Error,
    },
}

/// Everything an export needs besides the store and the time.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportJob {
    pub selection: ExportSelection,
    pub format: Format,
    pub profile: Profile,
    pub options: ExportOptions,
    /// Who exported (recorded with the batch).
    pub user: String,
    /// A folder (the file gets the automatic name) or the file path itself.
    pub out: PathBuf,
    pub overwrite: Overwrite,
}

/// A recorded export and the file it wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct Exported {
    pub record: BatchRecord,
    pub path: PathBuf,
}

/// `(collected_from, collected_before)`: an open end is `None`.
pub type CollectedWindow = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// The collection-time window for export filters typed as whole local days: from the start of
/// `from` to the start of the day after `to`, in `tz` (the shell passes `chrono::Local`).
pub fn collected_window<Tz: TimeZone>(
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    tz: &Tz,
) -> Result<CollectedWindow, BacklogError> {
    let start = |d: NaiveDate| {
        tz.from_local_datetime(&d.and_time(chrono::NaiveTime::MIN))
            .earliest()
            .map(|t| t.with_timezone(&Utc))
            .ok_or_else(|| BacklogError::BadDay(format!("{d} has no midnight in this time zone")))
    };
    let from = from.map(start).transpose()?;
    let before = match to {
        Some(d) => Some(start(d.checked_add_days(Days::new(1)).ok_or_else(
            || BacklogError::BadDay(format!("the day {d} is out of range")),
        )?)?),
        None => None,
    };
    Ok((from, before))
}

/// The automatic file name: no patient data, only the batch and the format.
pub fn export_file_name(batch_id: &str, format: Format) -> String {
    format!(
        "stopgap-{batch_id}-{}.{}",
        format.word(),
        format.file_extension()
    )
}

/// The batch identifier written inside files: `B000012`.
pub fn short_batch_id(number: i64) -> String {
    format!("B{number:06}")
}

/// The built-in profile (`None`) or one read from a TOML file.
pub fn load_profile(path: Option<&Path>) -> Result<Profile, BacklogError> {
    let Some(p) = path else {
        return Ok(Profile::default_profile());
    };
    let text = std::fs::read_to_string(p).map_err(|source| BacklogError::ProfileUnreadable {
        path: p.to_owned(),
        source,
    })?;
    Profile::from_toml(&text).map_err(|source| BacklogError::BadProfile {
        path: p.to_owned(),
        source,
    })
}

/// `out`: a folder gets the automatic name; anything else is the file path itself, whose folder
/// must exist.
pub fn target_path(out: &Path, automatic_name: &str) -> Result<PathBuf, BacklogError> {
    if out.is_dir() {
        return Ok(out.join(automatic_name));
    }
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty())
        && !parent.is_dir()
    {
        return Err(BacklogError::NoFolder {
            out: out.to_owned(),
            folder: parent.to_owned(),
        });
    }
    Ok(out.to_owned())
}

/// The writer context for a batch; `wards` is the workstation's list (`Store::wards`).
pub fn export_context(
    profile: Profile,
    options: ExportOptions,
    generated_at: DateTime<Utc>,
    batch_number: i64,
    wards: Vec<Ward>,
) -> ExportContext {
    ExportContext {
        profile,
        generated_at,
        batch_id: short_batch_id(batch_number),
        csv: CsvOptions {
            per_test: options.per_test,
            excel_bom: options.excel_bom,
        },
        mllp: options.mllp,
        // The flows that hold the store set it from `Store::has_training_data`.
        training: false,
        wards,
    }
}

/// What the next export of `requests` would look like (as batch number 0), for a preview.
pub fn preview(
    format: Format,
    requests: &[RequestState],
    profile: &Profile,
    options: ExportOptions,
    now: DateTime<Utc>,
    wards: Vec<Ward>,
) -> Result<Vec<u8>, ExportError> {
    let ctx = export_context(profile.clone(), options, now, 0, wards);
    let mut bytes = Vec::new();
    write_export(format, requests, &ctx, &mut bytes)?;
    Ok(bytes)
}

/// The last part of `path`, as text.
pub fn file_name_of(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Which step an export is at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportPhase {
    /// Reading the selected requests: counts are requests.
    Reading,
    /// Writing the file: counts are the file's records (CSV rows, HL7 messages, FHIR
    /// ServiceRequests).
    Writing,
    /// The file is in place; the batch is being recorded (it can no longer be cancelled).
    Recording,
}

/// How far an export running on another thread has got, and whether its user asked it to
/// stop. Shared (in an `Arc`) between the export and whoever shows it.
#[derive(Debug, Default)]
pub struct ExportProgress {
    phase: AtomicU8,
    done: AtomicU64,
    total: AtomicU64,
    cancel: AtomicBool,
}

impl ExportProgress {
    /// Asks the export to stop: it stops at the next request read or piece written, removes its
    /// temporary file and records nothing. After the file is in place it is too late.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    /// The phase and `(done, total)` in that phase's unit.
    pub fn get(&self) -> (ExportPhase, u64, u64) {
        let phase = match self.phase.load(Ordering::Relaxed) {
            0 => ExportPhase::Reading,
            1 => ExportPhase::Writing,
            _ => ExportPhase::Recording,
        };
        (
            phase,
            self.done.load(Ordering::Relaxed),
            self.total.load(Ordering::Relaxed),
        )
    }

    fn set(&self, phase: ExportPhase, done: u64, total: u64) {
        self.total.store(total, Ordering::Relaxed);
        self.done.store(done, Ordering::Relaxed);
        self.phase.store(phase as u8, Ordering::Relaxed);
    }
}

/// The records a file of `format` holds for `states`, and a counter that finds them in its
/// bytes: the writers are handed all requests at once, so progress is read from what they
/// write. The markers occur only at a record's start: HL7 text escapes `|`, and JSON strings
/// escape `"`.
fn records(
    format: Format,
    options: ExportOptions,
    states: &[RequestState],
) -> (u64, RecordCounter) {
    let tests = || states.iter().map(|s| s.request.tests.len() as u64).sum();
    match format {
        Format::Csv if options.per_test => (tests(), RecordCounter::csv_records()),
        Format::Csv => (states.len() as u64, RecordCounter::csv_records()),
        Format::Hl7Oml | Format::Hl7Orm => (states.len() as u64, RecordCounter::marker(b"MSH|")),
        Format::Fhir => (
            tests(),
            RecordCounter::marker(br#""url": "ServiceRequest""#),
        ),
        // A zip is compressed and is written in one piece at the end: no record can be seen.
        Format::Xlsx => (states.len() as u64, RecordCounter::none()),
    }
}

/// Exports the requests `job.selection` takes now into one file and records the batch. Every
/// test must be mapped before a file is written; if the batch cannot be recorded the written
/// file is removed, so nothing leaves the workstation without its record.
pub fn export_to(
    store: &mut Store,
    job: &ExportJob,
    now: DateTime<Utc>,
) -> Result<Exported, BacklogError> {
    export_with_progress(store, job, now, &ExportProgress::default())
}

/// [`export_to`], reporting to `progress` and stopping when it is cancelled. The write lock is
/// held only to take the batch number and, after the file is in place, to record the batch
/// (see `store::export_run`), so ward saves go on during a long export.
pub fn export_with_progress(
    store: &mut Store,
    job: &ExportJob,
    now: DateTime<Utc>,
    progress: &ExportProgress,
) -> Result<Exported, BacklogError> {
    let snapshot = store.export_snapshot(&job.selection, |done, total| {
        if progress.is_cancelled() {
            return Err(BacklogError::Cancelled);
        }
        progress.set(ExportPhase::Reading, done, total);
        Ok(())
    })?;
    let states = snapshot.states.as_slice();
    if states.is_empty() {
        return Err(BacklogError::NothingToExport);
    }
    check_mappings(job.format, states, &job.profile)?;
    let spec = BatchSpec {
        format: job.format.word().to_owned(),
        profile_name: job.profile.name().to_owned(),
        profile_toml: job.profile.to_toml(),
        options: job.options,
        generated_at: now,
        user: job.user.clone(),
    };
    // Claims the requests too: refused, before a file is named, if another export has any.
    let reservation = store.reserve_batch(&spec, &snapshot, |header| {
        let target = target_path(&job.out, &export_file_name(&header.batch_id, job.format))?;
        // Refused before a number is taken; `write_atomic` checks again as it renames.
        if job.overwrite == Overwrite::Refuse && target.exists() {
            return Err(BacklogError::Write(WriteError::Exists(target)));
        }
        Ok(target)
    })?;
    let training = store.has_training_data()?;
    let wards = store.wards()?;
    let (written, truncations) =
        match write_file(job, states, &reservation, now, training, wards, progress) {
            Ok(w) => w,
            Err(error) => {
                // Nothing is under the final name, so the number can be taken again.
                give_back(store, &reservation);
                return Err(error);
            }
        };
    progress.set(ExportPhase::Recording, 0, 1);
    let file = BatchFile {
        file_name: file_name_of(&written.path),
        sha256: written.sha256.clone(),
        bytes: written.bytes,
    };
    let truncations: Vec<BatchTruncation> = truncations
        .into_iter()
        .map(|t| BatchTruncation {
            downtime_id: t.downtime_id,
            field: t.location,
            length: t.length as u64,
            limit: t.limit as u64,
        })
        .collect();
    match store.record_batch(
        &reservation,
        &spec,
        &job.selection,
        states,
        &file,
        &truncations,
    ) {
        Ok(record) => {
            progress.set(ExportPhase::Recording, 1, 1);
            Ok(Exported {
                record,
                path: written.path,
            })
        }
        Err(error) => unrecorded(store, &reservation, written.path, error.into()),
    }
}

/// Writes the reserved batch's file, counting its records into `progress`; returns it and the
/// values the profile had shortened to the receiver's limits.
fn write_file(
    job: &ExportJob,
    states: &[RequestState],
    reservation: &Reservation,
    now: DateTime<Utc>,
    training: bool,
    wards: Vec<Ward>,
    progress: &ExportProgress,
) -> Result<(Written, Vec<Truncation>), BacklogError> {
    let ctx = export_context(
        job.profile.clone(),
        job.options,
        now,
        reservation.header.number,
        wards,
    );
    // The whole batch ID (site, workstation, number), so MSH-10 and Bundle.identifier are unique
    // across workstations.
    let ctx = ExportContext {
        batch_id: reservation.header.batch_id.clone(),
        training,
        ..ctx
    };
    let (total, mut counter) = records(job.format, job.options, states);
    progress.set(ExportPhase::Writing, 0, total);
    let mut truncations = Vec::new();
    let result = write_atomic(&reservation.target, job.overwrite, |w| {
        let mut watched = WatchedWriter::new(w, &progress.cancel, |bytes| {
            counter.feed(bytes);
            progress
                .done
                .store(counter.count().min(total), Ordering::Relaxed);
        });
        truncations = write_export_listing_truncations(job.format, states, &ctx, &mut watched)?;
        Ok::<(), ExportError>(())
    });
    match result {
        Ok(w) => Ok((w, truncations)),
        Err(_) if progress.is_cancelled() => Err(BacklogError::Cancelled),
        Err(e) => Err(e.into()),
    }
}

/// Gives back the number of an export that left no file under its final name. If even that
/// fails (the database is failing too), the reservation stays: harmless, as the next export
/// takes a later number, and the export's own error is the one the user needs to see.
fn give_back(store: &mut Store, reservation: &Reservation) {
    let _kept = store.release_reservation(reservation.header.number);
}

/// The file is in place but its batch could not be recorded: removes the file (nothing leaves
/// without its record) and gives the number back; if the file cannot be removed, says so and
/// keeps the reservation, which names the file for recovery.
fn unrecorded(
    store: &mut Store,
    reservation: &Reservation,
    path: PathBuf,
    error: BacklogError,
) -> Result<Exported, BacklogError> {
    match std::fs::remove_file(&path) {
        Ok(()) => {
            give_back(store, reservation);
            Err(error)
        }
        Err(removal) => Err(BacklogError::Unremoved {
            error: Box::new(error),
            path,
            removal,
        }),
    }
}

/// Writes a recorded batch again, from the requests as they were at export time.
pub fn reproduce(
    store: &Store,
    record: &BatchRecord,
    out: &Path,
    overwrite: Overwrite,
) -> Result<(PathBuf, Written), BacklogError> {
    let bad = |message: String| BacklogError::BadBatch {
        batch: record.batch_id.clone(),
        message,
    };
    let format: Format = record
        .format
        .parse()
        .map_err(|e: UnknownFormat| bad(e.to_string()))?;
    let profile = Profile::from_toml(&record.profile_toml)
        .map_err(|e| bad(format!("the profile stored with it: {}", error_chain(&e))))?;
    let states = store.batch_requests(record.number)?;
    // TODO(ward codes are not recorded with the batch): a ward code changed since the export
    // changes PV1-3.1 here, and the re-run then differs from the recorded SHA-256.
    let ctx = export_context(
        profile,
        record.options,
        record.generated_at,
        record.number,
        store.wards()?,
    );
    // A training database stays one, so its re-run is labelled as its first run was.
    let ctx = ExportContext {
        batch_id: record.batch_id.clone(),
        training: store.has_training_data()?,
        ..ctx
    };
    check_mappings(format, &states, &ctx.profile)?;
    let target = target_path(out, &record.file_name)?;
    let w = write_atomic(&target, overwrite, |w| {
        write_export(format, &states, &ctx, w)
    })?;
    Ok((target, w))
}

/// The automatic close-out report name for `format`, with the date (UTC) it was made.
pub fn close_out_file_name(format: ReportFormat, now: DateTime<Utc>) -> String {
    let ext = match format {
        ReportFormat::Csv => "csv",
        ReportFormat::Pdf => "pdf",
    };
    format!("stopgap-close-out-{}.{ext}", now.format("%Y%m%d-%H%M%S"))
}

/// Writes the close-out report to `file` (PDF or CSV, by its extension) and returns what it
/// reported and what was written.
pub fn close_out_to(
    store: &Store,
    file: &Path,
    now: DateTime<Utc>,
    overwrite: Overwrite,
) -> Result<(CloseOut, Written), BacklogError> {
    let format =
        ReportFormat::from_path(file).ok_or_else(|| BacklogError::NotAReportName(file.into()))?;
    if let Some(parent) = file.parent().filter(|p| !p.as_os_str().is_empty())
        && !parent.is_dir()
    {
        return Err(BacklogError::NoFolder {
            out: file.to_owned(),
            folder: parent.to_owned(),
        });
    }
    let c = store.close_out()?;
    let w = match format {
        ReportFormat::Csv => write_atomic(file, overwrite, |w| write_close_out_csv(&c, w))?,
        ReportFormat::Pdf => {
            let bytes = close_out_pdf(&c, now);
            write_atomic(file, overwrite, |w| w.write_all(&bytes))?
        }
    };
    Ok((c, w))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::downtime_id::Code3;
    use crate::store::Setup;
    use chrono::TimeZone;

    /// Every format's counter finds exactly as many records in the written bytes as the
    /// progress bar's total, so a finished bar reads "n of n".
    #[test]
    fn the_record_count_of_a_written_file_is_its_progress_total() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open_or_create(&dir.path().join("stopgap.db")).unwrap();
        store
            .configure(&Setup {
                site: Code3::site("RXX").unwrap(),
                workstation: Code3::workstation("W07").unwrap(),
                wards: vec![],
            })
            .unwrap();
        let now = Utc.with_ymd_and_hms(2026, 6, 4, 12, 0, 0).unwrap();
        let catalogue = store.catalogue().unwrap();
        for d in crate::demo::synthetic_requests(300, 3, now, &catalogue).unwrap() {
            store
                .save_training_request(&d.request, &d.user, d.created_at)
                .unwrap();
        }
        let states = store
            .export_candidates(&ExportSelection::default())
            .unwrap();
        assert_eq!(states.len(), 300);
        for (format, per_test, mllp) in [
            (Format::Csv, false, false),
            (Format::Csv, true, false),
            (Format::Hl7Oml, false, false),
            (Format::Hl7Orm, false, true),
            (Format::Fhir, false, false),
        ] {
            let options = ExportOptions {
                per_test,
                excel_bom: false,
                mllp,
            };
            let ctx = export_context(Profile::default_profile(), options, now, 1, Vec::new());
            let mut bytes = Vec::new();
            write_export(format, &states, &ctx, &mut bytes).unwrap();
            let (total, mut counter) = records(format, options, &states);
            // Fed in small uneven pieces, as a buffered writer would pass them.
            for piece in bytes.chunks(997) {
                counter.feed(piece);
            }
            assert_eq!(counter.count(), total, "{format} per_test={per_test}");
        }
    }
}
