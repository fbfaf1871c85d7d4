//! The backlog after recovery: exporting requests to a file for re-entry into the LIMS (recording
//! the batch), reproducing a recorded batch, and writing the close-out report. The command line
//! and the app both call these, so a file is always named, written and recorded the same way.
//!
//! Pure of egui and of the clock: `now` is a parameter. Files are written atomically and never
//! over an existing file unless [`Overwrite::Replace`] is given.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};

use chrono::{DateTime, Days, NaiveDate, TimeZone, Utc};

use crate::domain::audit::AuditAction;
use crate::domain::event::RequestState;
use crate::domain::ward::Ward;
use crate::error::error_chain;
use crate::export::{
    CsvOptions, ExportContext, ExportError, Format, Profile, UnknownFormat, check_mappings,
    write_export,
};
use crate::files::{AGE_SUFFIX, Overwrite, Sealing, WriteError, Written, write_atomic_sealed};
use crate::report::{ReportFormat, close_out_pdf, write_close_out_csv};
use crate::store::{BatchRecord, CloseOut, ExportOptions, ExportSelection, Store, StoreError};

mod recover;
mod run;

pub use recover::{Recovered, Recovery, recover_exports};
pub use run::{export_to, export_with_progress};

/// Why an export, re-run or report was not written.
#[derive(Debug, thiserror::Error)]
pub enum BacklogError {
    #[error(
        "no requests match (already-exported requests are left out unless asked for): nothing was exported"
    )]
    NothingToExport,
    #[error("{out}: the folder {folder} does not exist")]
    NoFolder { out: PathBuf, folder: PathBuf },
    /// The file names itself (and its size, if too big).
    #[error("could not read the export profile")]
    ProfileUnreadable(#[source] crate::files::ReadError),
    #[error("could not load {path}")]
    BadProfile { path: PathBuf, source: ExportError },
    #[error("batch {batch}: {message}")]
    BadBatch { batch: String, message: String },
    #[error("{0}")]
    BadDay(String),
    #[error("the export was cancelled: no file was written and nothing was recorded")]
    Cancelled,
    /// `--force` never replaces a file a batch wrote: it may already be in the LIMS.
    #[error(
        "{path} was written by export batch {batch_id} and may already have gone to the LIMS: it \
         is never replaced, even with --force; choose another name or folder (nothing was \
         exported)"
    )]
    BatchFile { path: PathBuf, batch_id: String },
    /// A file an interrupted export left, not yet recovered, is never replaced either.
    #[error(
        "{path} is the file of the interrupted export {batch_id}, which is not recovered yet: it \
         is never replaced; choose another name or folder (nothing was exported)"
    )]
    UnrecoveredFile { path: PathBuf, batch_id: String },
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
        "{}; and the unrecorded export {path} could not be removed ({}): leave it there, it is \
         recorded as its batch when Stopgap next starts",
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
#[derive(Debug, Clone)]
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
    /// Encrypted for the lab (or to a passphrase), or plain text as confirmed; recorded in the
    /// batch's options.
    pub sealing: Sealing,
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
    let text =
        crate::files::read_limited_text(p, crate::files::TOML_MAX_BYTES, "an export profile")
            .map_err(BacklogError::ProfileUnreadable)?;
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

/// Writes a recorded batch again, from the requests as they were at export time, through
/// `sealing` (its name ends `.age` when encrypted, whatever the original's did).
pub fn reproduce(
    store: &Store,
    record: &BatchRecord,
    out: &Path,
    overwrite: Overwrite,
    sealing: &Sealing,
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
    // The recorded profile holds the ward codes the export used (`with_ward_codes`), ahead of
    // the workstation's current ones.
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
    let plain_name = record
        .file_name
        .strip_suffix(AGE_SUFFIX)
        .unwrap_or(&record.file_name);
    let target = target_path(out, &sealing.file_name(plain_name))?;
    let w = write_atomic_sealed(&target, overwrite, sealing, |w| {
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

/// Writes the close-out report to `file` (PDF or CSV, by its extension; `.age` appended when
/// `sealing` encrypts) and returns what it reported and what was written. Once the file is in
/// place the audit log records it, by `user`, with the chain head the report shows.
pub fn close_out_to(
    store: &mut Store,
    file: &Path,
    user: &str,
    now: DateTime<Utc>,
    overwrite: Overwrite,
    sealing: &Sealing,
) -> Result<(CloseOut, Written), BacklogError> {
    let name = file_name_of(file);
    let plain = file.with_file_name(name.strip_suffix(AGE_SUFFIX).unwrap_or(&name));
    let format =
        ReportFormat::from_path(&plain).ok_or_else(|| BacklogError::NotAReportName(file.into()))?;
    let file = &plain.with_file_name(sealing.file_name(&file_name_of(&plain)));
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
        ReportFormat::Csv => {
            write_atomic_sealed(file, overwrite, sealing, |w| write_close_out_csv(&c, w))?
        }
        ReportFormat::Pdf => {
            let bytes = close_out_pdf(&c, now);
            write_atomic_sealed(file, overwrite, sealing, |w| w.write_all(&bytes))?
        }
    };
    let s = &c.summary;
    let detail = format!(
        "{} downtime IDs issued, {} final, {} not final, {} missing; the report shows {}",
        s.issued,
        s.final_count(),
        s.open,
        s.missing,
        c.audit_head
            .as_ref()
            .map_or_else(|| "no audit head".to_owned(), ToString::to_string)
    );
    store.audit(
        AuditAction::ClosedOut,
        "",
        user,
        &file_name_of(file),
        &detail,
        now,
    )?;
    Ok((c, w))
}

#[cfg(test)]
mod tests {
    use super::run::records;
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
                sealed: None,
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
