//! `stopgap audit`: the audit log listed or written as CSV; and the audit half of
//! `stopgap verify`.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use chrono::{DateTime, Local, NaiveDate, Utc};

use super::Outcome;
use crate::domain::audit::{AuditAction, AuditRecord};
use crate::domain::text::visible;
use crate::files::{Overwrite, write_atomic};
use crate::report::write_audit_csv;
use crate::store::{AuditFilter, Store};

/// List the audit log (sign-ins, exports, imports, reconciliation, close-out, settings,
/// backups ...), oldest first, or write it as CSV with --csv. The chain is checked by `verify`.
#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    /// Only records by this user: a staff ID or a name (any case). (`--user` is who you are.)
    #[arg(long, value_name = "STAFF_ID_OR_NAME")]
    pub by: Option<String>,
    /// Only records of this action (e.g. exported, imported, reconciled, closed_out,
    /// settings_changed, sign_in_failed).
    #[arg(long, value_parser = parse_action)]
    pub action: Option<AuditAction>,
    /// Only records on or after this day (YYYY-MM-DD, local time).
    #[arg(long, value_parser = super::parse_day)]
    pub from: Option<NaiveDate>,
    /// Only records on or before this day (YYYY-MM-DD, local time).
    #[arg(long, value_parser = super::parse_day)]
    pub to: Option<NaiveDate>,
    /// Write the records to this CSV file instead of listing them.
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,
    /// Replace the CSV file if it exists.
    #[arg(long, requires = "csv")]
    pub force: bool,
}

fn parse_action(s: &str) -> Result<AuditAction, String> {
    s.parse().map_err(|e: crate::domain::audit::UnknownAction| {
        let words: Vec<&str> = AuditAction::ALL.iter().map(|a| a.word()).collect();
        format!("{e}: use one of {}", words.join(", "))
    })
}

/// `stopgap audit`.
pub(super) fn run(store: &Store, args: &AuditArgs, out: &mut dyn Write) -> Result<Outcome> {
    let (from, before) = crate::backlog::collected_window(args.from, args.to, &Local)?;
    let filter = AuditFilter {
        staff_id: args.by.clone(),
        action: args.action,
        from_ms: from.map(|t| t.timestamp_millis()),
        to_ms: before.map(|t| t.timestamp_millis()),
    };
    let records = store.audit_records(&filter)?;
    if let Some(file) = &args.csv {
        let overwrite = if args.force {
            Overwrite::Replace
        } else {
            Overwrite::Refuse
        };
        let w = write_atomic(file, overwrite, |w| write_audit_csv(&records, w))?;
        writeln!(
            out,
            "Wrote {} audit records to {} ({} bytes).",
            records.len(),
            w.path.display(),
            w.bytes
        )?;
        return Ok(Outcome::Success);
    }
    for r in &records {
        writeln!(out, "{}", line(r))?;
    }
    writeln!(
        out,
        "{} record(s). The log's head: {}.",
        records.len(),
        store.audit_head()?
    )?;
    Ok(Outcome::Success)
}

/// One record on one line, stored text shown as seen (never as terminal commands).
fn line(r: &AuditRecord) -> String {
    let at = DateTime::<Utc>::from_timestamp_millis(r.at_ms)
        .map(|t| {
            t.with_timezone(&Local)
                .format("%Y-%m-%d %H:%M:%S")
                .to_string()
        })
        .unwrap_or_default();
    let who = match (r.staff_id.is_empty(), r.user_name.is_empty()) {
        (true, _) => r.user_name.clone(),
        (false, true) => r.staff_id.clone(),
        // A signed-in account's recorded name already says its staff ID: "Name (ID)".
        (false, false) if r.user_name.contains(&format!("({}", r.staff_id)) => r.user_name.clone(),
        (false, false) => format!("{} ({})", r.user_name, r.staff_id),
    };
    visible(&format!(
        "#{:<6} {at}  {:<3}  {:<20}  {:<16}  {}  {}",
        r.seq,
        r.workstation,
        who,
        r.action.word(),
        r.subject,
        r.detail
    ))
    .into_owned()
}

/// The audit chain's part of `stopgap verify`: whether the log is sound, and its head or the
/// first broken link.
pub(super) fn verify(store: &Store, out: &mut dyn Write) -> Result<Outcome> {
    match store.verify_audit()? {
        Ok(head) => {
            writeln!(
                out,
                "Audit log sound: every record is as written, in order, none missing; its head is {head}."
            )?;
            Ok(Outcome::Success)
        }
        Err(broken) => {
            writeln!(
                out,
                "AUDIT LOG TAMPERED WITH: {}.",
                visible(&broken.words())
            )?;
            writeln!(
                out,
                "The audit log cannot be trusted from that record on: keep this file as it is and \
                 tell the information governance lead."
            )?;
            Ok(Outcome::Problems)
        }
    }
}
