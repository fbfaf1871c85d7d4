//! The backlog after recovery: exporting requests to a file for re-entry into the LIMS (recording
//! the batch), reproducing a recorded batch, and writing the close-out report. The command line
//! and the app both call these, so a file is always named, written and recorded the same way.
//!
//! Pure of egui and of the clock: `now` is a parameter. Files are written atomically and never
//! over an existing file unless [`Overwrite::Replace`] is given.

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Days, NaiveDate, TimeZone, Utc};

use crate::domain::event::RequestState;
use crate::error::error_chain;
use crate::export::{
    CsvOptions, ExportContext, ExportError, Format, Profile, UnknownFormat, check_mappings,
    write_export,
};
use crate::files::{Overwrite, WriteError, Written, write_atomic};
use crate::report::{ReportFormat, close_out_pdf, write_close_out_csv};
use crate::store::{
    BatchFile, BatchRecord, BatchSpec, CloseOut, ExportOptions, ExportSelection, Store, StoreError,
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

/// The writer context for a batch.
pub fn export_context(
    profile: Profile,
    options: ExportOptions,
    generated_at: DateTime<Utc>,
    batch_number: i64,
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
    }
}

/// What the next export of `requests` would look like (as batch number 0), for a preview.
pub fn preview(
    format: Format,
    requests: &[RequestState],
    profile: &Profile,
    options: ExportOptions,
    now: DateTime<Utc>,
) -> Result<Vec<u8>, ExportError> {
    let ctx = export_context(profile.clone(), options, now, 0);
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

/// Exports the requests `job.selection` takes now into one file and records the batch, in one
/// store transaction. Every test must be mapped before a file is written; if the batch cannot be
/// recorded the written file is removed, so nothing leaves the workstation without its record.
pub fn export_to(
    store: &mut Store,
    job: &ExportJob,
    now: DateTime<Utc>,
) -> Result<Exported, BacklogError> {
    let spec = BatchSpec {
        format: job.format.word().to_owned(),
        profile_name: job.profile.name().to_owned(),
        profile_toml: job.profile.to_toml(),
        options: job.options,
        generated_at: now,
        user: job.user.clone(),
    };
    let written: RefCell<Option<Written>> = RefCell::new(None);
    let result = store.export_batch(
        &job.selection,
        &spec,
        |header, states| -> Result<BatchFile, BacklogError> {
            if states.is_empty() {
                return Err(BacklogError::NothingToExport);
            }
            check_mappings(job.format, states, &job.profile)?;
            let ctx = export_context(job.profile.clone(), job.options, now, header.number);
            let target = target_path(&job.out, &export_file_name(&header.batch_id, job.format))?;
            let w = write_atomic(&target, job.overwrite, |w| {
                write_export(job.format, states, &ctx, w)
            })?;
            let file = BatchFile {
                file_name: file_name_of(&w.path),
                sha256: w.sha256.clone(),
                bytes: w.bytes,
            };
            *written.borrow_mut() = Some(w);
            Ok(file)
        },
    );
    let written = written.into_inner();
    match (result, written) {
        (Ok(record), Some(w)) => Ok(Exported {
            record,
            path: w.path,
        }),
        (Ok(record), None) => Err(BacklogError::BadBatch {
            batch: record.batch_id,
            message: "recorded without a file".into(),
        }),
        (Err(error), Some(w)) => match std::fs::remove_file(&w.path) {
            Ok(()) => Err(error),
            Err(removal) => Err(BacklogError::Unremoved {
                error: Box::new(error),
                path: w.path,
                removal,
            }),
        },
        (Err(error), None) => Err(error),
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
    let ctx = export_context(profile, record.options, record.generated_at, record.number);
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
