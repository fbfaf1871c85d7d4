//! Child process for the crash test (`tests/crash.rs`): saves synthetic requests one after
//! another into the database given as the first argument and prints `SAVED <downtime id> <uuid>
//! <seed>` for each, only after its transaction has committed. The test kills it at random
//! moments and checks that every printed save survived.
//!
//! Usage: crash_writer DB_PATH FIRST_SEED

use std::io::Write;

use anyhow::{Context, Result};
use chrono::{TimeZone, Utc};
use stopgap::domain::downtime_id::Code3;
use stopgap::store::{Setup, Store};

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let db = args
        .next()
        .context("usage: crash_writer DB_PATH FIRST_SEED")?;
    let first: u64 = args.next().context("missing FIRST_SEED")?.parse()?;
    let mut store = Store::open_or_create(std::path::Path::new(&db))?;
    if store.setup()?.is_none() {
        store.configure(&Setup {
            site: Code3::site("RXX")?,
            workstation: Code3::workstation("CRT")?,
            wards: vec![],
        })?;
    }
    let catalogue = store.catalogue()?;
    let now = stopgap_crash_now();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    writeln!(out, "READY")?;
    out.flush()?;
    for seed in first.. {
        let batch = stopgap::demo::synthetic_requests(1, seed, now, &catalogue)?;
        for d in batch {
            let saved = store.save_request(&d.request, &d.user, d.created_at)?;
            writeln!(
                out,
                "SAVED {} {} {seed}",
                saved.downtime_id.canonical(),
                d.request.uuid
            )?;
            out.flush()?;
        }
    }
    Ok(())
}

/// A fixed clock, so the parent can regenerate exactly the same requests from the seeds.
pub fn stopgap_crash_now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 4, 12, 0, 0)
        .single()
        .unwrap_or_default()
}
