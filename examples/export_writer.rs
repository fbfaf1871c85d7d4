//! Child process for the export kill test (`tests/export/recovery.rs`): over and over, saves a
//! few synthetic requests into the database given as the first argument and exports the
//! backlog into the folder given as the second, printing `EXPORTED <batch id> <sha256>` after
//! each batch is recorded. The test kills it at random moments, runs recovery and checks that
//! every batch is recorded with its file in place, or neither.
//!
//! Usage: export_writer DB_PATH OUT_FOLDER FIRST_SEED

use std::io::Write;

use anyhow::{Context, Result};
use chrono::{TimeZone, Utc};
use stopgap::backlog::{BacklogError, ExportJob, export_to};
use stopgap::export::{Format, Profile};
use stopgap::files::Overwrite;
use stopgap::store::{ExportOptions, ExportSelection, Store};

fn main() -> Result<()> {
    let usage = "usage: export_writer DB_PATH OUT_FOLDER FIRST_SEED";
    let mut args = std::env::args().skip(1);
    let db = args.next().context(usage)?;
    let out = args.next().context(usage)?;
    let first: u64 = args.next().context(usage)?.parse()?;
    // A fixed clock: the files' contents do not matter, only that each is recorded or not.
    let now = Utc
        .with_ymd_and_hms(2026, 6, 4, 12, 0, 0)
        .single()
        .unwrap_or_default();
    // Signed in as the test suite's manager (tests/common makes the database with it).
    let mut store = Store::unlock(
        std::path::Path::new(&db),
        stopgap::cli::DEMO_STAFF_ID,
        stopgap::cli::DEMO_PASSWORD,
        now,
    )?;
    let catalogue = store.catalogue()?;
    let stdout = std::io::stdout();
    let mut printed = stdout.lock();
    writeln!(printed, "READY")?;
    printed.flush()?;
    for (round, seed) in (first..).enumerate() {
        for d in stopgap::demo::synthetic_requests(3, seed, now, &catalogue)? {
            store.save_training_request(&d.request, &d.user, d.created_at)?;
        }
        // Every format in turn, each writing and renaming its own kind of file.
        let format = [Format::Csv, Format::Hl7Oml, Format::Fhir][round % 3];
        let job = ExportJob {
            selection: ExportSelection::default(),
            format,
            profile: Profile::default_profile(),
            options: ExportOptions::default(),
            user: "Kill Test".into(),
            out: out.clone().into(),
            overwrite: Overwrite::Refuse,
            // The kill test checks recovery of plain files against their recorded SHA-256.
            sealing: stopgap::files::Sealing::plaintext_confirmed(),
        };
        match export_to(&mut store, &job, now) {
            Ok(e) => writeln!(
                printed,
                "EXPORTED {} {}",
                e.record.batch_id, e.record.sha256
            )?,
            Err(BacklogError::NothingToExport) => {}
            Err(e) => return Err(e.into()),
        }
        printed.flush()?;
    }
    Ok(())
}
