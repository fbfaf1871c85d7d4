//! Crash test: a child process saves requests and prints each ID once committed; we kill it
//! (SIGKILL on Unix, TerminateProcess on Windows, via `Child::kill`) at random moments. After each
//! kill the file passes `quick_check`, every printed save is present and unchanged, and at most
//! one save that was never printed (committed, killed before printing) exists.
//!
//! The child saves through the ward form's path (session, autosaved draft, validation, save,
//! draft cleared). 100 kills by default; set `STOPGAP_CRASH_KILLS=1000` for the long run
//! (`cargo test --release --test store crash`, documented in the README).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on purpose"
)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use stopgap::domain::request::RequestDraft;
use stopgap::store::QueueFilter;
use uuid::Uuid;

pub(crate) fn writer_binary() -> PathBuf {
    // target/<profile>/deps/store-<hash>  →  target/<profile>/examples/crash_writer
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().unwrap().parent().unwrap();
    let bin = profile_dir
        .join("examples")
        .join(format!("crash_writer{}", std::env::consts::EXE_SUFFIX));
    // Always asked for, never only when missing: a stale writer from before a change to the
    // store would test the old code (a no-op when it is up to date).
    let status = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--example", "crash_writer"])
        .status()
        .unwrap();
    assert!(status.success(), "could not build the crash_writer example");
    assert!(bin.exists(), "{} was not built", bin.display());
    bin
}

struct Printed {
    id: String,
    uuid: Uuid,
    seed: u64,
}

#[test]
fn every_acknowledged_save_survives_being_killed() {
    let kills: usize = std::env::var("STOPGAP_CRASH_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let bin = writer_binary();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db");
    // Made as `stopgap setup` makes a database: the writer signs in as the test manager.
    drop(crate::common::protected_store(
        &db,
        &stopgap::store::Setup {
            workstation: stopgap::domain::downtime_id::Code3::workstation("CRT").unwrap(),
            wards: vec![],
            ..crate::common::setup()
        },
    ));
    let now = Utc.with_ymd_and_hms(2026, 6, 4, 12, 0, 0).unwrap();
    let mut rng = fastrand::Rng::with_seed(0x0570_96A9);
    let mut all_printed: Vec<Printed> = Vec::new();
    let mut stored_before = 0u64;
    let mut unprinted_total = 0u64;
    let mut killed_mid_save = 0usize;
    let started = Instant::now();

    for round in 0..kills {
        let first_seed = (round as u64 + 1) * 1_000_000;
        let mut child = Command::new(&bin)
            .arg(&db)
            .arg(first_seed.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel::<String>();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        // Kill at a random moment: sometimes while the file is being opened, mostly mid-save.
        let delay = Duration::from_millis(rng.u64(0..120));
        std::thread::sleep(delay);
        child.kill().unwrap();
        child.wait().unwrap();
        reader.join().unwrap();
        let mut printed_now = 0u64;
        for line in rx.try_iter() {
            if let Some(rest) = line.strip_prefix("SAVED ") {
                let mut parts = rest.split(' ');
                let id = parts.next().unwrap().to_owned();
                let uuid = Uuid::parse_str(parts.next().unwrap()).unwrap();
                let seed = parts.next().unwrap().parse().unwrap();
                all_printed.push(Printed { id, uuid, seed });
                printed_now += 1;
            }
        }
        if printed_now > 0 {
            killed_mid_save += 1;
        }

        // Store::open runs PRAGMA quick_check and refuses a damaged file.
        let store = crate::common::open(&db).unwrap_or_else(|e| panic!("round {round}: {e}"));
        let stored = store.queue_count(&QueueFilter::default()).unwrap();
        // A draft caught mid-write is either the whole draft or the one before: always readable.
        store
            .load_draft()
            .unwrap_or_else(|e| panic!("round {round}: the draft cannot be read: {e}"));
        let extra = stored - stored_before - printed_now;
        assert!(
            extra <= 1,
            "round {round}: {extra} saves exist that were never acknowledged"
        );
        unprinted_total += extra;
        stored_before = stored;
    }

    // Every acknowledged save is present and exactly what was generated from its seed.
    let store = crate::common::open(&db).unwrap();
    let catalogue = store.catalogue().unwrap();
    for p in &all_printed {
        let id = stopgap::domain::downtime_id::DowntimeId::parse(&p.id).unwrap();
        let detail = store
            .find_by_downtime_id(&id)
            .unwrap()
            .unwrap_or_else(|| panic!("{} was acknowledged but is missing", p.id));
        // Regenerated the way the writer made it: typed into the form, validated as the form does.
        let made = stopgap::demo::synthetic_requests(1, p.seed, now, &catalogue).unwrap();
        let expected = RequestDraft::from_request(&made[0].request, &Utc)
            .validate(now, &Utc, &catalogue)
            .unwrap();
        assert_eq!(detail.state.request.uuid, p.uuid);
        assert_eq!(detail.state.request, expected, "{} changed", p.id);
    }
    let report = store.verify().unwrap();
    assert!(report.is_sound(), "{:?}", report.problems);
    eprintln!(
        "crash test: {kills} kills in {:.1} s, {} acknowledged saves all present, {unprinted_total} committed-but-unacknowledged, {killed_mid_save} kills landed after saving had started",
        started.elapsed().as_secs_f64(),
        all_printed.len()
    );
    assert!(
        !all_printed.is_empty(),
        "no save was ever acknowledged: the test did not exercise anything"
    );
}
