//! Child process for the crash test (`tests/store/crash.rs`): saves synthetic requests one after
//! another into the database given as the first argument, through the path the ward form takes
//! (a session begun as the app begins one; each request typed into a draft that is autosaved,
//! validated as the form validates it, saved, and the draft cleared), and prints `SAVED <downtime
//! id> <uuid> <seed>` for each, only after its transaction has committed. The test kills it at
//! random moments and checks that every printed save survived.
//!
//! Usage: crash_writer DB_PATH FIRST_SEED [COUNT] (forever, or COUNT saves then exit)

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
    let count: Option<u64> = args.next().map(|c| c.parse()).transpose()?;
    let now = stopgap_crash_now();
    let mut store = open_as_test_manager(std::path::Path::new(&db), now)?;
    if store.setup()?.is_none() {
        store.configure(&Setup {
            site: Code3::site("RXX")?,
            workstation: Code3::workstation("CRT")?,
            wards: vec![],
        })?;
    }
    let catalogue = store.catalogue()?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    writeln!(out, "READY")?;
    out.flush()?;
    store.begin_session(now)?;
    for seed in first..count.map_or(u64::MAX, |c| first + c) {
        let (draft, user) = form_for(seed, now, &catalogue)?;
        // The form keeps the draft while it is typed, then validates and saves it.
        store.save_draft(&draft, now)?;
        let request = draft
            .validate(now, &Utc, &catalogue)
            .map_err(|e| anyhow::anyhow!("seed {seed}: the form refused its draft: {e:?}"))?;
        let saved = store.save_request(&request, &user, now)?;
        store.clear_draft()?;
        writeln!(
            out,
            "SAVED {} {} {seed}",
            saved.downtime_id.canonical(),
            request.uuid
        )?;
        out.flush()?;
    }
    Ok(())
}

/// The database at `path` signed in as the test suite's manager (the demo account, as
/// `tests/common` makes every test database): made with that manager if it is new, so the
/// parent test and later rounds open it with the same password.
pub fn open_as_test_manager(path: &std::path::Path, now: chrono::DateTime<Utc>) -> Result<Store> {
    use stopgap::cli::{DEMO_NAME, DEMO_PASSWORD, DEMO_STAFF_ID};
    use stopgap::store::{FileKind, KdfParams, NewAccount};
    Ok(match stopgap::store::file_kind(path)? {
        FileKind::New => {
            let manager = NewAccount::checked(
                DEMO_STAFF_ID,
                DEMO_NAME,
                stopgap::domain::access::Role::Manager,
                DEMO_PASSWORD,
            )?;
            // The test-only cost: every round signs in again.
            Store::create_protected(
                path,
                &manager,
                DEMO_PASSWORD,
                KdfParams::FAST_FOR_TESTS,
                now,
            )?
            .0
        }
        FileKind::Encrypted => Store::unlock(path, DEMO_STAFF_ID, DEMO_PASSWORD, now)?,
        FileKind::Plaintext => Store::open(path)?,
    })
}

/// The form a nurse would have typed for synthetic request `seed`, and who typed it: the parent
/// regenerates it to check what was stored.
pub fn form_for(
    seed: u64,
    now: chrono::DateTime<Utc>,
    catalogue: &stopgap::domain::catalogue::Catalogue,
) -> Result<(stopgap::domain::request::RequestDraft, String)> {
    let made = stopgap::demo::synthetic_requests(1, seed, now, catalogue)?;
    let d = made.into_iter().next().context("no synthetic request")?;
    Ok((
        stopgap::domain::request::RequestDraft::from_request(&d.request, &Utc),
        d.user,
    ))
}

/// A fixed clock, so the parent can regenerate exactly the same requests from the seeds.
pub fn stopgap_crash_now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 4, 12, 0, 0)
        .single()
        .unwrap_or_default()
}
