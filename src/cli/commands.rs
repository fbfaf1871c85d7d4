//! The re-entry commands: export, batches, reconcile, close-out, import.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result, anyhow};
use chrono::{DateTime, Local, Utc};

use super::{ExportArgs, Outcome, rfc3339};
use crate::backlog::{
    BacklogError, ExportJob, close_out_to, export_to, file_name_of, load_profile, recover_exports,
    reproduce,
};
use crate::domain::text::visible;
use crate::files::{Overwrite, Sealed};
use crate::report::{audit_head_line, summary_line, verdict};
use crate::store::{
    BatchFile, BatchRecord, ExportOptions, ExportSelection, Store, read_reconcile_csv,
};

fn overwrite(force: bool) -> Overwrite {
    if force {
        Overwrite::Replace
    } else {
        Overwrite::Refuse
    }
}

/// The requests and writer options `args` choose: the same for `export` and `export --check`.
pub(super) fn selection_and_options(
    args: &ExportArgs,
) -> Result<(ExportSelection, ExportOptions), BacklogError> {
    let (collected_from, collected_before) =
        crate::backlog::collected_window(args.from, args.to, &Local)?;
    let selection = ExportSelection {
        statuses: args.statuses.clone(),
        ward: args.ward.clone(),
        priorities: args.priorities.clone(),
        collected_from,
        collected_before,
        include_exported: args.all,
    };
    let options = ExportOptions {
        per_test: args.per_test,
        excel_bom: args.excel,
        mllp: args.mllp,
        sealed: None,
    };
    Ok((selection, options))
}

/// The lines saying which values a batch's file holds shortened, if any.
fn write_truncations(out: &mut dyn Write, record: &BatchRecord, indent: &str) -> Result<()> {
    if record.truncations.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "{indent}Written with {} truncations (the profile's over_limit = \"truncate\"; the whole \
         values stay in the requests):",
        record.truncations.len()
    )?;
    for t in &record.truncations {
        writeln!(out, "{indent}  {}", visible(&t.to_string()))?;
    }
    Ok(())
}

/// Settles what exports killed earlier left (recorded, or undone) and says what was done, before
/// a command that exports or lists batches. `folders`: export folders to clear of temporary
/// files besides those of the interrupted exports.
pub(super) fn recover(
    store: &mut Store,
    user: &str,
    now: DateTime<Utc>,
    folders: &[std::path::PathBuf],
    out: &mut dyn Write,
) -> Result<()> {
    let recovery = recover_exports(store, user, now, folders)?;
    if recovery.is_empty() {
        return Ok(());
    }
    writeln!(out, "Recovery of interrupted exports:")?;
    for line in recovery.lines() {
        writeln!(out, "  {}", visible(&line))?;
    }
    Ok(())
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
    let user = super::auth::who(store);
    let (selection, options) = selection_and_options(args)?;
    let sealing = args.seal.sealing(profile.age_recipient(), "the export")?;
    let job = ExportJob {
        selection,
        format,
        profile,
        options,
        user,
        out: args
            .out
            .clone()
            .ok_or_else(|| anyhow!("--out is required"))?,
        overwrite: overwrite(args.force),
        sealing,
    };
    let folder = if job.out.is_dir() {
        job.out.clone()
    } else {
        crate::files::folder_of(&job.out)
    };
    recover(store, &job.user, now, &[folder], out)?;
    let exported = match export_to(store, &job, now) {
        Ok(e) => e,
        Err(BacklogError::NothingToExport) => {
            writeln!(
                out,
                "No requests match (already-exported requests are left out unless --all): nothing was exported."
            )?;
            return Ok(Outcome::Success);
        }
        Err(e) => return Err(e.into()),
    };
    let record = &exported.record;
    writeln!(
        out,
        "Exported batch {} ({} requests, {}) to {}\n  {}; {} bytes, SHA-256 {}",
        record.batch_id,
        record.request_count,
        record.format,
        exported.path.display(),
        job.sealing.describe(),
        record.bytes,
        record.sha256
    )?;
    if let Some(head) = &record.audit_head {
        writeln!(out, "  Recorded as {head}: note it with the batch.")?;
    }
    write_truncations(out, record, "  ")?;
    Ok(Outcome::Success)
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
    let user = super::auth::who(store);
    let target = args
        .out
        .as_deref()
        .ok_or_else(|| anyhow!("--out is required"))?;
    // The key the batch's own profile names, as it was exported.
    let profile_key = crate::export::Profile::from_toml(&record.profile_toml)
        .ok()
        .and_then(|p| p.age_recipient());
    let sealing = args.seal.sealing(profile_key, "the re-run")?;
    let (target, w) = reproduce(store, &record, target, overwrite(args.force), &sealing)?;
    let other = record.other_writer();
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
    let original_sealed = record
        .options
        .sealed
        .is_some_and(|k| k != Sealed::Plaintext);
    if sealing.is_encrypted() || original_sealed {
        // Each age file has its own random key: two encryptions of the same bytes never match.
        writeln!(
            out,
            "Re-exported batch {} to {} ({}; SHA-256 {}), from its requests as they were \
             exported. An encrypted file is never byte-identical to another, so it is not \
             compared with the original (SHA-256 {}).",
            record.batch_id,
            target.display(),
            sealing.describe(),
            w.sha256,
            record.sha256
        )?;
        Ok(Outcome::Success)
    } else if w.sha256 == record.sha256 {
        writeln!(
            out,
            "Re-exported batch {} to {}: identical to the original (SHA-256 {}).",
            record.batch_id,
            target.display(),
            w.sha256
        )?;
        if let Some(other) = other {
            writeln!(out, "  Note: {other}.")?;
        }
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
        if let Some(other) = other {
            writeln!(out, "  Note: {other}, which may explain the difference.")?;
        }
        Ok(Outcome::Problems)
    }
}

pub(super) fn batches(
    store: &mut Store,
    now: DateTime<Utc>,
    out: &mut dyn Write,
) -> Result<Outcome> {
    let user = super::auth::who(store);
    recover(store, &user, now, &[], out)?;
    let all = store.batches()?;
    writeln!(
        out,
        "{:<18}  {:<20}  {:<8}  {:>8}  {:<16}  {:<16}  {:<8}  FILE",
        "BATCH", "GENERATED (UTC)", "FORMAT", "REQUESTS", "BY", "SHA-256", "VERSION"
    )?;
    for b in &all {
        writeln!(
            out,
            "{:<18}  {:<20}  {:<8}  {:>8}  {:<16}  {:<16}  {:<8}  {}",
            b.batch_id,
            rfc3339(b.generated_at),
            b.format,
            b.request_count,
            // Stored text is printed as it is seen, never as terminal commands.
            truncate(&visible(&b.user), 16),
            &b.sha256[..b.sha256.len().min(16)],
            // Batches from before versions were recorded.
            b.writer_version.as_deref().unwrap_or("-"),
            visible(&b.file_name)
        )?;
        write_truncations(out, b, "    ")?;
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
    let bytes = crate::files::read_limited(
        file,
        crate::files::RECONCILE_MAX_BYTES,
        "a reconciliation file",
    )?;
    let rows = read_reconcile_csv(bytes.as_slice())
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
        writeln!(out, "  {}", visible(&line))?;
    }
    Ok(if invalid == 0 {
        Outcome::Success
    } else {
        Outcome::Problems
    })
}

pub(super) fn close_out(
    store: &mut Store,
    file: &Path,
    force: bool,
    seal: &super::seal::SealArgs,
    now: DateTime<Utc>,
    out: &mut dyn Write,
) -> Result<Outcome> {
    let user = super::auth::who(store);
    let sealing = seal.sealing(None, "the close-out report")?;
    let (c, w) = close_out_to(store, file, &user, now, overwrite(force), &sealing)?;
    writeln!(out, "{}", verdict(&c))?;
    writeln!(out, "{}.", summary_line(&c))?;
    writeln!(out, "{}.", audit_head_line(&c))?;
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
        "Report written to {} ({}; {} bytes).",
        w.path.display(),
        sealing.describe(),
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
    let bytes = crate::files::read_limited(file, crate::files::IMPORT_MAX_BYTES, "an import file")?;
    let imported = crate::import::import_requests(store, bytes.as_slice(), user, now)
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

/// `stopgap verify`.
/// `stopgap verify`: the requests and their history, then the audit chain.
pub(super) fn verify(store: &Store, out: &mut dyn Write) -> Result<Outcome> {
    let requests = verify_requests(store, out)?;
    let audit = super::audit::verify(store, out)?;
    Ok(
        if requests == Outcome::Success && audit == Outcome::Success {
            Outcome::Success
        } else {
            Outcome::Problems
        },
    )
}

fn verify_requests(store: &Store, out: &mut dyn Write) -> Result<Outcome> {
    let report = store.verify()?;
    writeln!(
        out,
        "Checked {} requests and {} events ({} sequence numbers skipped by the check-character rule).",
        report.requests, report.events, report.skipped_by_rule
    )?;
    if report.is_sound() {
        writeln!(
            out,
            "Sound: the file is intact, every request equals its history, no ID is missing."
        )?;
        Ok(Outcome::Success)
    } else {
        writeln!(out, "PROBLEMS FOUND ({}):", report.problems.len())?;
        for p in &report.problems {
            writeln!(out, "  - {}", visible(&p.to_string()))?;
        }
        writeln!(
            out,
            "Keep this file as it is and call IT; do not re-enter requests from it until checked."
        )?;
        Ok(Outcome::Problems)
    }
}

/// `s` cut to `n` characters, the last one an ellipsis when it was longer (`list`'s columns).
pub(super) fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(n - 1).collect();
        t.push('…');
        t
    }
}
