//! The command line: the same library calls as the app, for scripting, training and checks.

mod audit;
mod auth;
mod backup;
mod check;
mod commands;
mod handover;
mod phoned;
mod seal;
mod setup;
mod users;

pub use auth::{DEMO_NAME, DEMO_PASSWORD, DEMO_STAFF_ID, SignInError};
pub use handover::HandoverAction;

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Result, bail};
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use clap::{Parser, Subcommand};

use crate::domain::downtime_id::Code3;
use crate::domain::event::RequestState;
use crate::domain::request::Priority;
use crate::domain::status::{Status, Transition};
use crate::domain::text::visible;
use crate::domain::ward::{Ward, WardError};
use crate::export::Format;
use crate::store::{QueueFilter, Setup, SortColumn, SortOrder, Store};

#[derive(Debug, Parser)]
#[command(
    name = "stopgap",
    version,
    about = "Log urgent blood-sample requests while the LIMS is down",
    long_about = "Stopgap records urgent blood-sample requests in a structured, checked form while \
                  the laboratory information system (LIMS) is down. With no command it opens the app."
)]
pub struct Cli {
    /// The database file (default: this user's local data directory).
    #[arg(long, global = true, value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// Your staff ID: commands sign in as you (password from STOPGAP_PASSWORD, or asked).
    #[arg(long, global = true, env = "STOPGAP_USER", value_name = "STAFF_ID", value_parser = auth::parse_staff)]
    pub user: Option<String>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Add synthetic training requests (test-range NHS numbers; the app shows a TRAINING banner).
    Demo {
        /// How many requests to add.
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
        count: u32,
        /// Seed for the synthetic data (the same seed gives the same patients and tests).
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// List requests.
    List {
        /// Only requests with this status: logged, sent, received, reentered, cancelled, rejected.
        #[arg(long, value_parser = parse_status)]
        status: Option<Status>,
        /// Print a JSON array instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Check the database: file integrity, every state equals the fold of its events, every
    /// issued ID has a record, the audit chain is unbroken. Exit 0 when sound, 1 otherwise.
    Verify,
    /// Set this workstation's site and workstation codes and wards (as the first-run screen does).
    Setup {
        /// Site code: exactly 3 letters or digits (e.g. the trust's ODS code).
        #[arg(long)]
        site: String,
        /// Workstation code: exactly 3 letters or digits, unique on the site.
        #[arg(long)]
        workstation: String,
        /// A ward or location offered on the form (repeat for several): `CODE=Name`
        /// (e.g. "W7=Ward 7"; the code, 1 to 20 of A-Z, 0-9, - or _, goes in HL7 PV1-3.1), or a
        /// bare name ("AMU") whose code is its letters and digits upper-cased.
        #[arg(long = "ward", value_name = "CODE=NAME", value_parser = parse_ward)]
        wards: Vec<Ward>,
        /// A new database: the full name of its first manager (you, --user).
        #[arg(long, value_name = "FULL NAME")]
        name: Option<String>,
    },
    /// Export requests for re-entry into the LIMS as one recorded batch (who, when, format,
    /// profile, which requests, SHA-256 of the file). By default: every request not yet exported
    /// that still needs re-entry (logged, sent or received). Or reproduce a batch with --rerun.
    Export(ExportArgs),
    /// List the export batches, newest first.
    Batches,
    /// Record the LIMS accession numbers requests were re-entered under, from a CSV file with a
    /// header row `downtime_id,accession[,entered_by,entered_at]`. Every row is checked first; a
    /// file with a bad row is refused whole (exit 1) unless --skip-invalid.
    Reconcile {
        /// The CSV file.
        file: PathBuf,
        /// Apply the valid rows and skip the invalid ones (they are listed; exit 1).
        #[arg(long)]
        skip_invalid: bool,
    },
    /// Write the close-out report (.pdf or .csv): every downtime ID issued and its final state.
    /// Exit 0 when the downtime is complete, 1 when not.
    #[command(name = "close-out")]
    CloseOut {
        /// The report file, ending .pdf or .csv.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Replace the file if it exists.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        seal: seal::SealArgs,
    },
    /// Import requests typed elsewhere (e.g. paper forms typed into a spreadsheet), in the
    /// columns of the CSV export. Every row is validated as the form does; any bad row refuses
    /// the whole file. Imported requests get new downtime IDs from this workstation.
    Import {
        /// The file format (only csv).
        #[arg(long, default_value = "csv", value_parser = ["csv"])]
        format: String,
        /// The file.
        file: PathBuf,
    },
    /// Make a checked backup of the database now (into the backup folder set in Settings, or
    /// --to), keeping the newest backups as the settings say.
    Backup {
        /// The folder to back up into (e.g. a USB stick) instead of the one in the settings.
        #[arg(long, value_name = "FOLDER")]
        to: Option<PathBuf>,
    },
    /// List the backups made, newest first.
    Backups,
    /// Hand requests over between PCs with no network: write this PC's events to a bundle file
    /// (for a USB stick or a shared folder), or import other PCs' bundles. Importing is a union
    /// of events, so bundles may come in any order, twice, or relayed through another PC.
    Handover {
        #[command(subcommand)]
        action: HandoverAction,
    },
    /// List the clashes between PCs' records that need a person (a receipt after a
    /// cancellation, one downtime ID on two requests, ...). Exit 0 when there are none, 1 when
    /// there are. `conflicts settle KEY --decision WORD` records a decision.
    Conflicts(handover::ConflictsArgs),
    /// Turnaround and backlog: open requests by status and priority, the overdue emergencies and
    /// urgents (listed, oldest first), collection-to-receipt and receipt-to-phoned times (median
    /// and 90th percentile) per priority, overall and per hour, and the backlog at each hour.
    Stats {
        /// Only this ward's requests.
        #[arg(long)]
        ward: Option<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    #[command(flatten)]
    Phoned(phoned::PhonedCommand),
    Audit(audit::AuditArgs),
    #[command(flatten)]
    Accounts(users::AccountCommand),
    /// Replace the database with a backup. The file is checked first; the current database is
    /// kept aside as <db>.before-restore-<time>. Refused while Stopgap has the database open.
    Restore {
        /// The backup file.
        file: PathBuf,
        /// Restore a backup of another workstation, or over a database that cannot be read.
        #[arg(long)]
        force: bool,
    },
}

/// `stopgap export`.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// csv, hl7-oml (HL7 v2.5.1 OML^O21), hl7-orm (HL7 v2.4 ORM^O01), fhir (R4 Bundle) or xlsx
    /// (spreadsheet with the CSV's columns).
    #[arg(long, value_parser = parse_format, required_unless_present = "rerun")]
    pub format: Option<Format>,
    /// The receiving LIMS's export profile (TOML); default: the built-in profile.
    #[arg(long, value_name = "FILE")]
    pub profile: Option<PathBuf>,
    /// A folder (the file is named stopgap-SITE-WS-BNNNNNN-FORMAT.EXT, no patient data) or a
    /// file path.
    #[arg(long, value_name = "PATH", required_unless_present = "check")]
    pub out: Option<PathBuf>,
    /// Only requests with this status (repeat for several). Default: logged, sent, received.
    #[arg(long = "status", value_parser = parse_status)]
    pub statuses: Vec<Status>,
    /// Only requests from this ward.
    #[arg(long)]
    pub ward: Option<String>,
    /// Only requests of this priority: emergency, urgent or routine (repeat for several).
    #[arg(long = "priority", value_parser = parse_priority)]
    pub priorities: Vec<Priority>,
    /// Only requests collected on or after this day (YYYY-MM-DD, local time).
    #[arg(long, value_parser = parse_day)]
    pub from: Option<NaiveDate>,
    /// Only requests collected on or before this day (YYYY-MM-DD, local time).
    #[arg(long, value_parser = parse_day)]
    pub to: Option<NaiveDate>,
    /// Include requests already exported in an earlier batch.
    #[arg(long)]
    pub all: bool,
    /// CSV and xlsx: one row per test.
    #[arg(long)]
    pub per_test: bool,
    /// CSV: add a byte-order mark so Excel reads accents correctly.
    #[arg(long)]
    pub excel: bool,
    /// HL7: frame each message for MLLP.
    #[arg(long)]
    pub mllp: bool,
    /// Replace the output file if it exists.
    #[arg(long)]
    pub force: bool,
    /// Write an earlier batch again, byte for byte (its number, e.g. 12, or B000012).
    #[arg(
        long,
        value_name = "BATCH_ID",
        conflicts_with_all = ["format", "profile", "statuses", "ward", "priorities", "from", "to", "all", "per_test", "excel", "mllp"]
    )]
    pub rerun: Option<String>,
    /// Check what would be exported, writing nothing: the pre-flight (field limits, identity
    /// conflicts) and the format's conformance check (HL7 v2 structure, lengths, datatypes and
    /// tables; FHIR R4 schema). Lists every finding; exit 1 if there is one.
    #[arg(long, conflicts_with_all = ["rerun", "out", "force"])]
    pub check: bool,
    #[command(flatten)]
    pub seal: seal::SealArgs,
}

fn parse_format(s: &str) -> Result<Format, String> {
    s.parse()
        .map_err(|e: crate::export::UnknownFormat| e.to_string())
}

fn parse_priority(s: &str) -> Result<Priority, String> {
    s.parse()
        .map_err(|e: crate::domain::request::UnknownPriority| e.to_string())
}

fn parse_day(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| format!("'{s}' is not a date: write it as YYYY-MM-DD"))
}

fn parse_ward(s: &str) -> Result<Ward, WardError> {
    Ward::parse(s)
}

fn parse_status(s: &str) -> Result<Status, String> {
    s.parse()
        .map_err(|e: crate::domain::status::UnknownStatus| e.to_string())
}

/// Site and workstation codes used when `demo` runs on a database that was never set up.
const TRAINING_SITE: &str = "TRN";
const TRAINING_WORKSTATION: &str = "DEM";

/// What a command asks the shell to do when it returns.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Success,
    /// The command ran but found a problem (e.g. `verify` found inconsistencies): exit 1.
    Problems,
}

/// Runs one command against the store at `db`, signed in as `user` (`--user`). `now` is the
/// shell's clock reading.
pub fn run(
    command: Command,
    db: &std::path::Path,
    user: Option<&str>,
    now: DateTime<Utc>,
    out: &mut dyn Write,
) -> Result<Outcome> {
    // Only `setup` and `demo` may make a database: any other command on a mistyped path says so
    // instead of making a new, empty database there. A restore needs the database to itself.
    let command = match command {
        Command::Restore { file, force } => {
            return backup::restore(db, user, &file, force, now, out);
        }
        Command::Accounts(c) => return users::run(c, db, user, now, out),
        Command::Setup {
            site,
            workstation,
            wards,
            name,
        } => {
            return setup::setup(
                db,
                user,
                name.as_deref(),
                &site,
                &workstation,
                wards,
                now,
                out,
            );
        }
        other => other,
    };
    let mut store = match command {
        Command::Demo { .. } => setup::demo_store(db, user, now, out)?,
        _ => auth::open(db, user, now)?,
    };
    let who = auth::who(&store);
    match command {
        Command::Demo { count, seed } => demo(&mut store, count, seed, now, out),
        Command::List { status, json } => list(&store, status, json, out),
        Command::Verify => commands::verify(&store, out),
        Command::Export(args) => match args.rerun.clone() {
            Some(batch) => commands::rerun(&mut store, &batch, &args, now, out),
            None if args.check => check::export_check(&store, &args, now, out),
            None => commands::export(&mut store, &args, now, out),
        },
        Command::Batches => commands::batches(&mut store, now, out),
        Command::Reconcile { file, skip_invalid } => {
            commands::reconcile(&mut store, &file, skip_invalid, &who, now, out)
        }
        Command::CloseOut {
            out: file,
            force,
            seal,
        } => commands::close_out(&mut store, &file, force, &seal, now, out),
        Command::Import { format: _, file } => commands::import(&mut store, &file, &who, now, out),
        Command::Backup { to } => backup::backup(&mut store, to.as_deref(), now, out),
        Command::Backups => backup::backups(&store, out),
        Command::Handover { action } => handover::run(&mut store, action, &who, now, out),
        Command::Conflicts(args) => handover::conflicts(&mut store, args, now, out),
        Command::Stats { ward, json } => handover::stats(&store, ward.as_deref(), json, now, out),
        Command::Phoned(c) => phoned::run(&mut store, c, now, out),
        Command::Audit(args) => audit::run(&store, &args, out),
        // Handled above, before the store is opened.
        Command::Restore { .. } | Command::Setup { .. } | Command::Accounts(_) => {
            Ok(Outcome::Success)
        }
    }
}

fn demo(
    store: &mut Store,
    count: u32,
    seed: u64,
    now: DateTime<Utc>,
    out: &mut dyn Write,
) -> Result<Outcome> {
    if store.setup()?.is_none() {
        store.configure(&Setup {
            site: Code3::site(TRAINING_SITE)?,
            workstation: Code3::workstation(TRAINING_WORKSTATION)?,
            wards: crate::demo::wards()?,
        })?;
        writeln!(
            out,
            "This database was not set up: it is now training workstation {TRAINING_SITE}/{TRAINING_WORKSTATION}."
        )?;
    }
    let catalogue = store.catalogue()?;
    let mut requests = crate::demo::synthetic_requests(count as usize, seed, now, &catalogue)?;
    // A trainer running `demo` again (the same seed is the default) expects more requests to
    // work on: the same patients and tests, as new requests with their own UUIDs and accessions.
    let existing = store.queue_count(&QueueFilter::default())?;
    if existing > 0 {
        for d in &mut requests {
            d.request.uuid = uuid::Uuid::new_v5(&d.request.uuid, &existing.to_le_bytes());
            for (t, _) in &mut d.transitions {
                if let Transition::Reentered { accession } = t {
                    accession.push_str(&format!("-{existing}"));
                }
            }
        }
    }
    let (first, last) = store.in_transaction(|s| {
        let mut first = None;
        let mut last = None;
        for d in &requests {
            let saved = s.save_training_request(&d.request, &d.user, d.created_at)?;
            for (t, at) in &d.transitions {
                s.change_status(d.request.uuid, t, &d.user, *at)?;
            }
            first.get_or_insert(saved.downtime_id.clone());
            last = Some(saved.downtime_id);
        }
        Ok((first, last))
    })?;
    match (first, last) {
        (Some(a), Some(b)) => writeln!(out, "Added {count} training requests: {a} to {b}.")?,
        _ => writeln!(out, "Added no requests.")?,
    }
    Ok(Outcome::Success)
}

/// One request as `list --json` prints it.
#[derive(Debug, serde::Serialize)]
struct ListItem<'a> {
    downtime_id: String,
    uuid: String,
    status: &'static str,
    priority: &'static str,
    surname: &'a str,
    forename: &'a str,
    dob: Option<String>,
    nhs_number: Option<String>,
    mrn: Option<&'a str>,
    emergency_number: Option<&'a str>,
    ward: &'a str,
    tests: Vec<&'a str>,
    collected_at: String,
    collected_by: &'a str,
    accession: Option<&'a str>,
    reason: Option<&'a str>,
    created_at: String,
    updated_at: String,
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn list(store: &Store, status: Option<Status>, json: bool, out: &mut dyn Write) -> Result<Outcome> {
    let filter = QueueFilter {
        statuses: status.into_iter().collect(),
        ..QueueFilter::default()
    };
    if json {
        write!(out, "[")?;
        let mut first = true;
        store.each_state(&filter, |s: RequestState| -> Result<()> {
            let r = &s.request;
            let p = &r.patient;
            let item = ListItem {
                downtime_id: s.downtime_id.canonical(),
                uuid: r.uuid.to_string(),
                status: s.status.word(),
                priority: r.priority.word(),
                surname: &p.surname,
                forename: &p.forename,
                dob: p.dob.map(|d| d.format("%Y-%m-%d").to_string()),
                nhs_number: p.nhs_number.map(|n| n.digits()),
                mrn: p.mrn.as_deref(),
                emergency_number: p.emergency_number.as_deref(),
                ward: &r.ward,
                tests: r.tests.iter().map(|t| t.code.as_str()).collect(),
                collected_at: rfc3339(r.collected_at),
                collected_by: &r.collected_by,
                accession: s.accession.as_deref(),
                reason: s.reason.as_deref(),
                created_at: rfc3339(s.created_at),
                updated_at: rfc3339(s.updated_at),
            };
            let sep = if first { "\n  " } else { ",\n  " };
            first = false;
            write!(out, "{sep}{}", serde_json::to_string(&item)?)?;
            Ok(())
        })?;
        writeln!(out, "{}]", if first { "" } else { "\n" })?;
    } else {
        let total = store.queue_count(&filter)?;
        writeln!(
            out,
            "{:<16}  {:<9}  {:<10}  {:<28}  {:<12}  {:<24}  COLLECTED (UTC)",
            "DOWNTIME ID", "PRIORITY", "STATUS", "PATIENT", "NHS NUMBER", "TESTS"
        )?;
        store.each_request(
            &filter,
            SortColumn::Collected,
            SortOrder::Ascending,
            0,
            u64::MAX,
            |r| -> Result<()> {
                // Stored text is printed as it is seen, never as terminal commands.
                let patient =
                    visible(&format!("{}, {}", r.surname.to_uppercase(), r.forename)).into_owned();
                let nhs = r
                    .nhs_number
                    .as_deref()
                    .and_then(|n| crate::domain::nhs_number::NhsNumber::parse(n).ok())
                    .map(|n| n.to_string())
                    .or_else(|| r.mrn.as_deref().map(|m| visible(m).into_owned()))
                    .unwrap_or_default();
                writeln!(
                    out,
                    "{:<16}  {:<9}  {:<10}  {:<28}  {:<12}  {:<24}  {}",
                    r.downtime_id.grouped(),
                    r.priority.word(),
                    r.status.word(),
                    commands::truncate(&patient, 28),
                    nhs,
                    commands::truncate(&visible(&r.tests.join(" ")), 24),
                    r.collected_at.format("%Y-%m-%d %H:%M")
                )?;
                Ok(())
            },
        )?;
        writeln!(out, "{total} request(s).")?;
    }
    Ok(Outcome::Success)
}

/// A failure to open the database, naming it once: most open errors name the file themselves
/// ("the database file x.db is damaged ..."); the others (a newer schema, say) get it as context.
fn opening_error(e: crate::store::StoreError, db: &std::path::Path) -> anyhow::Error {
    let named = crate::error::error_chain(&e).contains(&db.display().to_string());
    let e = anyhow::Error::new(e);
    if named {
        e
    } else {
        e.context(format!("opening {}", db.display()))
    }
}

/// Whether `e` is a write to a closed pipe (`stopgap list | head` once `head` has its lines).
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// The database path to use: `--db`, or the default in the user's local data directory.
pub fn db_path(cli_db: Option<PathBuf>) -> Result<PathBuf> {
    match cli_db {
        Some(p) => {
            if p.as_os_str().is_empty() {
                bail!("--db needs a file path");
            }
            if let Some(parent) = p.parent().filter(|d| !d.as_os_str().is_empty())
                && !parent.is_dir()
            {
                bail!(
                    "--db {}: the folder {} does not exist",
                    p.display(),
                    parent.display()
                );
            }
            if p.is_dir() {
                bail!(
                    "--db {} is a folder: give a file path such as {}",
                    p.display(),
                    p.join("stopgap.db").display()
                );
            }
            Ok(p)
        }
        None => Ok(crate::platform::default_db_path()?),
    }
}
