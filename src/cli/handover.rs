//! `stopgap handover export`, `stopgap handover import` and `stopgap conflicts` (in
//! `conflicts.rs`).

mod conflicts;

pub use conflicts::ConflictsArgs;

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Result;
use chrono::{DateTime, Utc};

use super::Outcome;
use super::seal::SealArgs;
use crate::domain::text::visible;
use crate::domain::turnaround::{HourSpread, Spread};
use crate::files::{Overwrite, Sealing, Unsealing, size_in_words};
use crate::store::Store;

/// `stopgap handover ...`.
#[derive(Debug, clap::Subcommand)]
pub enum HandoverAction {
    /// Write every event this PC holds (its own and those it imported) to a new bundle file.
    Export {
        /// The bundle file to write (e.g. on the USB stick); refused if it exists, unless
        /// --force.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Only events recorded at or after this time (RFC 3339, e.g. 2026-06-04T08:00:00Z).
        #[arg(long, value_name = "TIME")]
        since: Option<DateTime<Utc>>,
        /// Replace the file if it exists.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        seal: SealArgs,
    },
    /// Import bundles written by other PCs. Each is checked whole first and imported all or
    /// nothing; a refused bundle is named and the others still go in (exit 1). An encrypted
    /// bundle (.age) is opened with --identity, or with the passphrase (asked for, or from
    /// STOPGAP_EXPORT_PASSPHRASE).
    Import {
        /// The bundle files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The age identity file (AGE-SECRET-KEY-1…) that opens encrypted bundles.
        #[arg(long, value_name = "FILE")]
        identity: Option<PathBuf>,
    },
}

/// `stopgap handover export|import`.
pub(super) fn run(
    store: &mut Store,
    action: HandoverAction,
    who: &str,
    now: DateTime<Utc>,
    out: &mut dyn Write,
) -> Result<Outcome> {
    match action {
        HandoverAction::Export {
            out: file,
            since,
            force,
            seal,
        } => {
            let sealing = seal.sealing(None, "the handover bundle")?;
            export(store, &file, since, force, &sealing, now, out)
        }
        HandoverAction::Import { files, identity } => {
            let key = super::seal::unsealing(identity.as_deref(), &files)?;
            import(store, &files, who, key.as_ref(), now, out)
        }
    }
}

fn export(
    store: &Store,
    file: &Path,
    since: Option<DateTime<Utc>>,
    force: bool,
    sealing: &Sealing,
    now: DateTime<Utc>,
    out: &mut dyn Write,
) -> Result<Outcome> {
    let overwrite = if force {
        Overwrite::Replace
    } else {
        Overwrite::Refuse
    };
    let made = crate::handover::export_bundle_sealed(store, file, since, overwrite, now, sealing)?;
    writeln!(
        out,
        "Wrote {} events of {} requests to {} ({}, {}; content SHA-256 {}).",
        made.events,
        made.requests,
        made.path.display(),
        size_in_words(made.bytes),
        sealing.describe(),
        made.content_sha256
    )?;
    Ok(Outcome::Success)
}

fn import(
    store: &mut Store,
    files: &[PathBuf],
    user: &str,
    key: Option<&Unsealing>,
    now: DateTime<Utc>,
    out: &mut dyn Write,
) -> Result<Outcome> {
    let mut outcome = Outcome::Success;
    for file in files {
        match crate::handover::import_bundle_opened(store, file, user, now, key) {
            Ok(i) => {
                writeln!(
                    out,
                    "{}: {} events, {} new, {} already here{}; {} requests added, {} changed.",
                    file.display(),
                    i.events,
                    i.new_events,
                    i.already_held,
                    if i.kept_aside > 0 {
                        format!(", {} kept aside (same ID, other content)", i.kept_aside)
                    } else {
                        String::new()
                    },
                    i.requests_added,
                    i.requests_changed
                )?;
                for c in &i.conflicts {
                    writeln!(out, "  CONFLICT: {}", visible(c))?;
                }
                if !i.conflicts.is_empty() {
                    outcome = Outcome::Problems;
                }
            }
            Err(e) => {
                // One refused bundle does not stop the others: each is all or nothing.
                writeln!(
                    out,
                    "{}: NOT IMPORTED: {}",
                    file.display(),
                    crate::error::error_chain(&e)
                )?;
                outcome = Outcome::Problems;
            }
        }
    }
    Ok(outcome)
}

/// `stopgap conflicts [settle ...]`: the code is in `conflicts.rs`.
pub(super) fn conflicts(
    store: &mut Store,
    args: ConflictsArgs,
    now: DateTime<Utc>,
    out: &mut dyn Write,
) -> Result<Outcome> {
    conflicts::run(store, args, now, out)
}

/// `stopgap stats`.
/// Whole minutes of `seconds`, as the stats text shows them.
fn minutes(seconds: i64) -> String {
    format!("{} min", seconds / 60)
}

/// One turnaround time as text: per priority, then per hour. `words` are the title, what the
/// count counts, and what the hour is of.
fn spreads_text(
    out: &mut dyn Write,
    [title, counted, hour_of]: [&str; 3],
    by_priority: &std::collections::BTreeMap<crate::domain::request::Priority, Spread>,
    by_hour: &[HourSpread],
) -> Result<()> {
    writeln!(out, "{title} (median / 90th percentile):")?;
    for (p, s) in by_priority {
        writeln!(
            out,
            "  {:<9} {:>6} / {:>6}  ({} {counted})",
            p.word(),
            minutes(s.median_seconds),
            minutes(s.p90_seconds),
            s.count
        )?;
    }
    writeln!(out, "Per hour of {hour_of} (UTC):")?;
    for h in by_hour {
        writeln!(
            out,
            "  {}  {:<9} {:>6} / {:>6}  ({})",
            h.hour.format("%d/%m %H:00"),
            h.priority.word(),
            minutes(h.spread.median_seconds),
            minutes(h.spread.p90_seconds),
            h.spread.count
        )?;
    }
    Ok(())
}

pub(super) fn stats(
    store: &Store,
    ward: Option<&str>,
    json: bool,
    now: DateTime<Utc>,
    out: &mut dyn Write,
) -> Result<Outcome> {
    let timelines = store.timelines(ward)?;
    let f = crate::domain::turnaround::figures(&timelines, now, &store.overdue_thresholds()?);
    if json {
        // Encoded first, so a closed pipe is an I/O error (`stats --json | head` ends quietly).
        writeln!(out, "{}", serde_json::to_string_pretty(&f)?)?;
        return Ok(Outcome::Success);
    }
    writeln!(
        out,
        "{} requests{}; at {}.",
        timelines.len(),
        ward.map(|w| format!(" of ward {}", visible(w)))
            .unwrap_or_default(),
        f.at.format("%Y-%m-%d %H:%M UTC")
    )?;
    writeln!(
        out,
        "Overdue: {} emergency, {} urgent{}",
        f.overdue_emergency,
        f.overdue_urgent,
        if f.overdue.is_empty() {
            "."
        } else {
            " (oldest first):"
        }
    )?;
    for o in &f.overdue {
        writeln!(
            out,
            "  {}  {:<9} {:<9} {:<20} collected {}, {} over",
            o.downtime_id.grouped(),
            o.priority.word(),
            o.status.word(),
            visible(&o.ward),
            o.collected_at.format("%d/%m %H:%M UTC"),
            crate::domain::overdue::age_words(chrono::Duration::seconds(o.overdue_by_seconds))
        )?;
    }
    writeln!(out, "Open:")?;
    for (status, by_priority) in &f.open {
        let parts: Vec<String> = by_priority
            .iter()
            .map(|(p, n)| format!("{n} {}", p.word()))
            .collect();
        writeln!(out, "  {:<9} {}", status.word(), parts.join(", "))?;
    }
    spreads_text(
        out,
        ["Collection to receipt", "received", "collection"],
        &f.to_receipt,
        &f.to_receipt_by_hour,
    )?;
    spreads_text(
        out,
        ["Receipt to first phoned result", "phoned", "receipt"],
        &f.receipt_to_phoned,
        &f.receipt_to_phoned_by_hour,
    )?;
    writeln!(out, "Backlog (logged, not yet final) at each hour's end:")?;
    for (hour, n) in &f.backlog_by_hour {
        writeln!(out, "  {}  {n}", hour.format("%d/%m %H:00"))?;
    }
    Ok(Outcome::Success)
}
