//! The re-entry commands: export, batches, reconcile, close-out, import.

use std::cell::RefCell;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use chrono::{DateTime, Days, Local, NaiveDate, TimeZone, Utc};

use super::{ExportArgs, Outcome, rfc3339};
use crate::export::{CsvOptions, ExportContext, Format, Profile, check_mappings, write_export};
use crate::files::{Overwrite, Written, write_atomic};
use crate::report::{ReportFormat, close_out_pdf, summary_line, verdict, write_close_out_csv};
use crate::store::{
    BatchFile, BatchRecord, BatchSpec, ExportOptions, ExportSelection, Store, read_reconcile_csv,
};

fn overwrite(force: bool) -> Overwrite {
    if force {
        Overwrite::Replace
    } else {
        Overwrite::Refuse
    }
}

/// The start of a local day, in UTC.
fn local_day_start(d: NaiveDate) -> Result<DateTime<Utc>> {
    Local
        .from_local_datetime(&d.and_time(chrono::NaiveTime::MIN))
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| anyhow!("{d} has no midnight in this time zone"))
}

/// `--out`: a folder gets the automatic name; anything else is the file path itself.
fn target_path(out: &Path, automatic_name: &str) -> Result<PathBuf> {
    if out.is_dir() {
        return Ok(out.join(automatic_name));
    }
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty())
        && !parent.is_dir()
    {
        bail!(
            "--out {}: the folder {} does not exist",
            out.display(),
            parent.display()
        );
    }
    Ok(out.to_owned())
}

fn file_name_of(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The automatic file name: no patient data, only the batch and the format.
pub fn export_file_name(batch_id: &str, format: Format) -> String {
    format!(
        "stopgap-{batch_id}-{}.{}",
        format.word(),
        format.file_extension()
    )
}

fn load_profile(path: Option<&Path>) -> Result<Profile> {
    match path {
        None => Ok(Profile::default_profile()),
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("reading the export profile {}", p.display()))?;
            Profile::from_toml(&text).with_context(|| format!("export profile {}", p.display()))
        }
    }
}

pub(super) fn export(
    store: &mut Store,
    args: &ExportArgs,
    now: DateTime<Utc>,
    out: &mut dyn Write,
) -> Result<Outcome> {
    let format = args
        .format
        .ok_or_else(|| anyhow!("--format is required: csv, hl7-oml, hl7-orm or fhir"))?;
    let profile = load_profile(args.profile.as_deref())?;
    let user = args.user.clone().unwrap_or_else(super::default_user);
    let selection = ExportSelection {
        statuses: args.statuses.clone(),
        ward: args.ward.clone(),
        priorities: args.priorities.clone(),
        collected_from: args.from.map(local_day_start).transpose()?,
        collected_before: match args.to {
            Some(d) => Some(local_day_start(
                d.checked_add_days(Days::new(1))
                    .ok_or_else(|| anyhow!("--to {d} is out of range"))?,
            )?),
            None => None,
        },
        include_exported: args.all,
    };
    let options = ExportOptions {
        per_test: args.per_test,
        excel_bom: args.excel,
        mllp: args.mllp,
    };
    let spec = BatchSpec {
        format: format.word().to_owned(),
        profile_name: profile.name().to_owned(),
        profile_toml: profile.to_toml(),
        options,
        generated_at: now,
        user: user.clone(),
    };
    let written: RefCell<Option<Written>> = RefCell::new(None);
    let nothing = RefCell::new(false);
    let result = store.export_batch(&selection, &spec, |header, states| -> Result<BatchFile> {
        if states.is_empty() {
            *nothing.borrow_mut() = true;
            bail!("nothing to export");
        }
        // Every test must be mapped before a file is written.
        check_mappings(format, states, &profile)?;
        let ctx = ExportContext {
            profile: profile.clone(),
            generated_at: now,
            batch_id: short_batch_id(header.number),
            csv: CsvOptions {
                per_test: options.per_test,
                excel_bom: options.excel_bom,
            },
            mllp: options.mllp,
        };
        let target = target_path(&args.out, &export_file_name(&header.batch_id, format))?;
        let w = write_atomic(&target, overwrite(args.force), |w| {
            write_export(format, states, &ctx, w)
        })?;
        let file = BatchFile {
            file_name: file_name_of(&w.path),
            sha256: w.sha256.clone(),
            bytes: w.bytes,
        };
        *written.borrow_mut() = Some(w);
        Ok(file)
    });
    let record = match result {
        Ok(r) => r,
        Err(_) if *nothing.borrow() => {
            writeln!(
                out,
                "No requests match (already-exported requests are left out unless --all): nothing was exported."
            )?;
            return Ok(Outcome::Success);
        }
        Err(e) => {
            // The file was written but the batch could not be recorded: remove the file, so
            // nothing leaves the workstation without its audit record.
            if let Some(w) = written.borrow().as_ref() {
                std::fs::remove_file(&w.path).with_context(|| {
                    format!(
                        "{e:#}; and the unrecorded export {} could not be removed: delete it",
                        w.path.display()
                    )
                })?;
            }
            return Err(e);
        }
    };
    let path = written
        .borrow()
        .as_ref()
        .map(|w| w.path.display().to_string())
        .unwrap_or_default();
    writeln!(
        out,
        "Exported batch {} ({} requests, {}) to {path}\n  {} bytes, SHA-256 {}",
        record.batch_id, record.request_count, record.format, record.bytes, record.sha256
    )?;
    Ok(Outcome::Success)
}

/// The batch identifier written inside files: `B000012`.
fn short_batch_id(number: i64) -> String {
    format!("B{number:06}")
}

pub(super) fn rerun(
    store: &mut Store,
    batch: &str,
    args: &ExportArgs,
    now: DateTime<Utc>,
    out: &mut dyn Write,
) -> Result<Outcome> {
    let record = store
        .find_batch(batch)?
        .ok_or_else(|| anyhow!("no export batch '{batch}': see `stopgap batches`"))?;
    let user = args.user.clone().unwrap_or_else(super::default_user);
    let (target, w) = reproduce(store, &record, &args.out, overwrite(args.force))?;
    store.record_rerun(
        record.number,
        &BatchFile {
            file_name: file_name_of(&target),
            sha256: w.sha256.clone(),
            bytes: w.bytes,
        },
        &user,
        now,
    )?;
    if w.sha256 == record.sha256 {
        writeln!(
            out,
            "Re-exported batch {} to {}: identical to the original (SHA-256 {}).",
            record.batch_id,
            target.display(),
            w.sha256
        )?;
        Ok(Outcome::Success)
    } else {
        writeln!(
            out,
            "Re-exported batch {} to {}, but it DIFFERS from the original: SHA-256 {} instead of {}. Use the original file if you still have it.",
            record.batch_id,
            target.display(),
            w.sha256,
            record.sha256
        )?;
        Ok(Outcome::Problems)
    }
}

/// Writes a recorded batch again, from the requests as they were at export time.
pub fn reproduce(
    store: &Store,
    record: &BatchRecord,
    out: &Path,
    overwrite: Overwrite,
) -> Result<(PathBuf, Written)> {
    let format: Format = record
        .format
        .parse()
        .map_err(|e: crate::export::UnknownFormat| anyhow!("batch {}: {e}", record.batch_id))?;
    let profile = Profile::from_toml(&record.profile_toml)
        .with_context(|| format!("the profile stored with batch {}", record.batch_id))?;
    let states = store.batch_requests(record.number)?;
    let ctx = ExportContext {
        profile,
        generated_at: record.generated_at,
        batch_id: short_batch_id(record.number),
        csv: CsvOptions {
            per_test: record.options.per_test,
            excel_bom: record.options.excel_bom,
        },
        mllp: record.options.mllp,
    };
    check_mappings(format, &states, &ctx.profile)?;
    let target = target_path(out, &record.file_name)?;
    let w = write_atomic(&target, overwrite, |w| {
        write_export(format, &states, &ctx, w)
    })?;
    Ok((target, w))
}

pub(super) fn batches(store: &Store, out: &mut dyn Write) -> Result<Outcome> {
    let all = store.batches()?;
    writeln!(
        out,
        "{:<18}  {:<20}  {:<8}  {:>8}  {:<16}  {:<16}  FILE",
        "BATCH", "GENERATED (UTC)", "FORMAT", "REQUESTS", "BY", "SHA-256"
    )?;
    for b in &all {
        writeln!(
            out,
            "{:<18}  {:<20}  {:<8}  {:>8}  {:<16}  {:<16}  {}",
            b.batch_id,
            rfc3339(b.generated_at),
            b.format,
            b.request_count,
            super::truncate(&b.user, 16),
            &b.sha256[..b.sha256.len().min(16)],
            b.file_name
        )?;
    }
    writeln!(out, "{} batch(es).", all.len())?;
    Ok(Outcome::Success)
}

pub(super) fn reconcile(
    store: &mut Store,
    file: &Path,
    skip_invalid: bool,
    user: &str,
    now: DateTime<Utc>,
    out: &mut dyn Write,
) -> Result<Outcome> {
    let input = std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
    let rows = read_reconcile_csv(std::io::BufReader::new(input))
        .with_context(|| format!("reading {}", file.display()))?;
    let report = store.reconcile(&rows, skip_invalid, user, now)?;
    let invalid = report.invalid_count();
    if !report.written {
        writeln!(
            out,
            "Refused: {invalid} of {} rows have problems, so nothing was recorded. Correct them, or run again with --skip-invalid to record the valid rows only.",
            rows.len()
        )?;
    } else {
        writeln!(
            out,
            "Recorded {} re-entries; {} were already recorded; {invalid} rows skipped as invalid.",
            report.applied_count(),
            report.already_done_count()
        )?;
    }
    for line in report.problem_lines() {
        writeln!(out, "  {line}")?;
    }
    Ok(if invalid == 0 {
        Outcome::Success
    } else {
        Outcome::Problems
    })
}

pub(super) fn close_out(
    store: &Store,
    file: &Path,
    force: bool,
    now: DateTime<Utc>,
    out: &mut dyn Write,
) -> Result<Outcome> {
    let format = ReportFormat::from_path(file).ok_or_else(|| {
        anyhow!(
            "--out {}: the report file must end .pdf or .csv",
            file.display()
        )
    })?;
    if let Some(parent) = file.parent().filter(|p| !p.as_os_str().is_empty())
        && !parent.is_dir()
    {
        bail!("--out {}: the folder does not exist", file.display());
    }
    let c = store.close_out()?;
    let w = match format {
        ReportFormat::Csv => write_atomic(file, overwrite(force), |w| write_close_out_csv(&c, w))?,
        ReportFormat::Pdf => {
            let bytes = close_out_pdf(&c, now);
            write_atomic(file, overwrite(force), |w| w.write_all(&bytes))?
        }
    };
    writeln!(out, "{}", verdict(&c))?;
    writeln!(out, "{}.", summary_line(&c))?;
    for ws in &c.workstations {
        let s = &ws.summary;
        writeln!(
            out,
            "  {}/{}: {} issued, {} final, {} not final, {} missing",
            ws.site,
            ws.workstation,
            s.issued,
            s.final_count(),
            s.open,
            s.missing
        )?;
    }
    let attention: Vec<_> = c.attention().collect();
    for r in attention.iter().take(20) {
        writeln!(
            out,
            "  {}  {}: {}",
            r.downtime_id,
            r.state.label(),
            r.state.action()
        )?;
    }
    if attention.len() > 20 {
        writeln!(
            out,
            "  … and {} more (see the report)",
            attention.len() - 20
        )?;
    }
    writeln!(
        out,
        "Report written to {} ({} bytes).",
        w.path.display(),
        w.bytes
    )?;
    Ok(if c.is_complete() {
        Outcome::Success
    } else {
        Outcome::Problems
    })
}

pub(super) fn import(
    store: &mut Store,
    file: &Path,
    user: &str,
    now: DateTime<Utc>,
    out: &mut dyn Write,
) -> Result<Outcome> {
    let input = std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
    let imported = crate::import::import_requests(store, std::io::BufReader::new(input), user, now)
        .with_context(|| format!("importing {}", file.display()))?;
    let new = imported.ids.len() - imported.already_saved;
    match (imported.ids.first(), imported.ids.last()) {
        (Some(a), Some(b)) => writeln!(
            out,
            "Imported {new} requests ({} already imported before): {a} to {b}.",
            imported.already_saved
        )?,
        _ => writeln!(out, "The file has no requests: nothing imported.")?,
    }
    Ok(Outcome::Success)
}
