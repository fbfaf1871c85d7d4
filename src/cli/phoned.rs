//! `stopgap phone` (record a result phoned to the ward) and `stopgap phoned` (the log).

use std::io::Write;

use anyhow::{Result, anyhow, bail};
use chrono::{DateTime, Local, Utc};

use super::{Outcome, rfc3339};
use crate::domain::downtime_id::DowntimeId;
use crate::domain::phoned::{PhonedDraft, PhonedField};
use crate::domain::text::visible;
use crate::store::{PhonedFilter, PhonedRow, Store};

/// The phoned-results commands, flattened into the top level (`stopgap phone`, `stopgap
/// phoned`).
#[derive(Debug, clap::Subcommand)]
pub enum PhonedCommand {
    /// Record a result phoned to the ward (test, result, who took the call, whether it was read
    /// back). Allowed once the lab has received the sample. Every problem is named; nothing is
    /// recorded unless all is right.
    Phone(PhoneArgs),
    /// The log of phoned results, newest first (times in local time).
    Phoned {
        /// Only this ward's requests (its name as on the request).
        #[arg(long)]
        ward: Option<String>,
        /// Only results whose read-back was not confirmed.
        #[arg(long)]
        not_read_back: bool,
        /// Print a JSON array instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// `stopgap phone`.
#[derive(Debug, clap::Args)]
#[command(group(
    clap::ArgGroup::new("read_back_said")
        .required(true)
        .args(["read_back", "not_read_back"])
))]
pub struct PhoneArgs {
    /// The request's downtime ID (dashes and case do not matter).
    pub downtime_id: String,
    /// The test the result is of: one of the request's tests, by code or name (e.g. FBC).
    #[arg(long)]
    pub test: String,
    /// The result as said on the phone, e.g. "K+ 6.8 mmol/L".
    #[arg(long = "result", value_name = "TEXT")]
    pub summary: String,
    /// Who took the call on the ward.
    #[arg(long = "to", value_name = "NAME")]
    pub received_by: String,
    /// When it was phoned, local time: "DD/MM/YYYY HH:MM", or HH:MM for today (default: now).
    #[arg(long = "at", value_name = "WHEN")]
    pub at: Option<String>,
    /// The ward read the result back and the caller confirmed it.
    #[arg(long)]
    pub read_back: bool,
    /// The result was NOT read back (recorded, and shown as such everywhere).
    #[arg(long)]
    pub not_read_back: bool,
}

pub(super) fn run(
    store: &mut Store,
    command: PhonedCommand,
    now: DateTime<Utc>,
    out: &mut dyn Write,
) -> Result<Outcome> {
    match command {
        PhonedCommand::Phone(args) => phone(store, &args, now, out),
        PhonedCommand::Phoned {
            ward,
            not_read_back,
            json,
        } => log(
            store,
            &PhonedFilter {
                ward,
                not_read_back,
            },
            json,
            out,
        ),
    }
}

/// The option a field is given by.
fn option(field: PhonedField) -> &'static str {
    match field {
        PhonedField::Test => "--test",
        PhonedField::Summary => "--result",
        PhonedField::Date | PhonedField::Time => "--at",
        // Who phoned is the signed-in account.
        PhonedField::PhonedBy => "--user",
        PhonedField::ReceivedBy => "--to",
        PhonedField::ReadBack => "--read-back or --not-read-back",
    }
}

fn phone(
    store: &mut Store,
    args: &PhoneArgs,
    now: DateTime<Utc>,
    out: &mut dyn Write,
) -> Result<Outcome> {
    let id = DowntimeId::parse(&args.downtime_id).map_err(|e| {
        anyhow!(
            "'{}' is not a downtime ID: {e}",
            visible(args.downtime_id.trim())
        )
    })?;
    let detail = store.find_by_downtime_id(&id)?.ok_or_else(|| {
        anyhow!(
            "no request {id} on this PC: check the ID, or import the ward's handover bundle first"
        )
    })?;
    let local = now.with_timezone(&Local);
    let (date, time) = match args.at.as_deref().map(str::split_whitespace) {
        None => (
            local.format("%d/%m/%Y").to_string(),
            local.format("%H:%M").to_string(),
        ),
        Some(mut parts) => match (parts.next(), parts.next(), parts.next()) {
            (Some(time), None, None) => (local.format("%d/%m/%Y").to_string(), time.to_owned()),
            (Some(date), Some(time), None) => (date.to_owned(), time.to_owned()),
            _ => bail!("--at: give the time as \"DD/MM/YYYY HH:MM\" (or HH:MM for today)"),
        },
    };
    let phoned_by = super::auth::who(store);
    let draft = PhonedDraft {
        test: args.test.clone(),
        summary: args.summary.clone(),
        date,
        time,
        phoned_by: phoned_by.clone(),
        received_by: args.received_by.clone(),
        read_back: Some(args.read_back && !args.not_read_back),
    };
    let result = draft
        .validate(&detail.state.request, now, &Local)
        .map_err(|errors| {
            let lines: Vec<String> = errors
                .iter()
                .map(|e| format!("{}: {}", option(e.field), visible(&e.message)))
                .collect();
            anyhow!("nothing recorded for {id}: {}", lines.join("; "))
        })?;
    store.record_phoned(detail.state.request.uuid, &result, &phoned_by, now)?;
    writeln!(
        out,
        "Recorded for {id}: {} \"{}\", phoned {} by {} to {} ({}).",
        result.test,
        visible(&result.summary),
        result
            .phoned_at
            .with_timezone(&Local)
            .format("%H:%M %d/%m/%Y"),
        visible(&result.phoned_by),
        visible(&result.received_by),
        result.read_back_words()
    )?;
    if !result.read_back {
        writeln!(
            out,
            "NOT READ BACK: the result is recorded as not confirmed by the ward; call back to have it read back."
        )?;
    }
    Ok(Outcome::Success)
}

/// One phoned result as `phoned --json` prints it.
#[derive(Debug, serde::Serialize)]
struct LogItem<'a> {
    downtime_id: String,
    request_uuid: String,
    ward: &'a str,
    priority: &'static str,
    status: &'static str,
    patient: &'a str,
    test: &'a str,
    summary: &'a str,
    phoned_at: String,
    phoned_by: &'a str,
    received_by: &'a str,
    read_back: bool,
    recorded_at: String,
    workstation: &'a str,
}

impl<'a> LogItem<'a> {
    fn of(r: &'a PhonedRow) -> Self {
        let p = &r.phoned;
        Self {
            downtime_id: r.downtime_id.canonical(),
            request_uuid: r.request_uuid.to_string(),
            ward: &r.ward,
            priority: r.priority.word(),
            status: r.status.word(),
            patient: &r.patient,
            test: &p.test,
            summary: &p.summary,
            phoned_at: rfc3339(p.phoned_at),
            phoned_by: &p.phoned_by,
            received_by: &p.received_by,
            read_back: p.read_back,
            recorded_at: rfc3339(r.recorded_at),
            workstation: &r.workstation,
        }
    }
}

fn log(store: &Store, filter: &PhonedFilter, json: bool, out: &mut dyn Write) -> Result<Outcome> {
    let rows = store.phoned_results(filter)?;
    if json {
        let items: Vec<LogItem<'_>> = rows.iter().map(LogItem::of).collect();
        // Encoded first, so a closed pipe is an I/O error (`phoned --json | head` ends quietly).
        writeln!(out, "{}", serde_json::to_string_pretty(&items)?)?;
        return Ok(Outcome::Success);
    }
    for r in &rows {
        let p = &r.phoned;
        writeln!(
            out,
            "{}  {}  {}  {}  {}",
            p.phoned_at.with_timezone(&Local).format("%H:%M %d/%m/%Y"),
            r.downtime_id.grouped(),
            r.priority.word(),
            visible(&r.ward),
            visible(&r.patient)
        )?;
        writeln!(
            out,
            "    {}: {}  phoned by {} to {}  {}",
            visible(&p.test),
            visible(&p.summary),
            visible(&p.phoned_by),
            visible(&p.received_by),
            if p.read_back {
                "read back"
            } else {
                "NOT READ BACK"
            }
        )?;
    }
    let not_read_back = rows.iter().filter(|r| !r.phoned.read_back).count();
    writeln!(
        out,
        "{} phoned result(s){}{}.",
        rows.len(),
        filter
            .ward
            .as_deref()
            .map(|w| format!(" for {}", visible(w)))
            .unwrap_or_default(),
        if not_read_back > 0 {
            format!(", {not_read_back} NOT read back")
        } else {
            String::new()
        }
    )?;
    Ok(Outcome::Success)
}
