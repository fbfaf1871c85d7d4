//! Handover import, against a baseline measured in the same run:
//!
//! - baseline: a raw rusqlite insert of the same event rows (their JSON as text) into a fresh
//!   Stopgap database's `events` table, one transaction, the same pragmas;
//! - import: `Store::import_events` of the same bundle into a fresh PC (union by event UUID,
//!   each event packed, every touched request folded and its row written), one transaction;
//! - read: reading and checking the bundle file (`handover::read_bundle_file`).
//!
//! Aim (issue 10): import ≤ 2× the raw insert. About 100,000 events (42,000 requests with their
//! demo histories); `STOPGAP_BENCH_REQUESTS` changes it. Medians of 3, a fresh database each.
//!
//! Run: `cargo bench --bench handover`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a bench fails loudly on purpose"
)]

use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use rusqlite::params;
use stopgap::domain::downtime_id::Code3;
use stopgap::files::Overwrite;
use stopgap::handover::{Bundle, export_bundle, read_bundle_file};
use stopgap::store::{Setup, Store};

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 4, 12, 0, 0)
        .single()
        .unwrap_or_default()
}

fn pc(path: &Path, workstation: &str) -> Store {
    let mut store = Store::open_or_create(path).unwrap();
    store
        .configure(&Setup {
            site: Code3::site("RXX").unwrap(),
            workstation: Code3::workstation(workstation).unwrap(),
            wards: vec![],
        })
        .unwrap();
    store
}

/// A ward PC's bundle of `requests` live requests with their histories.
fn bundle(dir: &Path, requests: usize) -> Bundle {
    let mut ward = pc(&dir.join("ward.db"), "W01");
    let catalogue = ward.catalogue().unwrap();
    for start in (0..requests).step_by(10_000) {
        let count = 10_000.min(requests - start);
        let demo =
            stopgap::demo::synthetic_requests(count, start as u64, now(), &catalogue).unwrap();
        ward.in_transaction(|s| {
            for d in &demo {
                s.save_request(&d.request, &d.user, d.created_at)?;
                for (t, at) in &d.transitions {
                    s.change_status(d.request.uuid, t, &d.user, *at)?;
                }
            }
            Ok(())
        })
        .unwrap();
    }
    let file = dir.join("ward.bundle");
    export_bundle(&ward, &file, None, Overwrite::Replace, now()).unwrap();
    read_bundle_file(&file).unwrap()
}

fn median(mut f: impl FnMut() -> Duration) -> Duration {
    let mut times: Vec<Duration> = (0..3).map(|_| f()).collect();
    times.sort();
    times[1]
}

fn main() {
    let requests: usize = std::env::var("STOPGAP_BENCH_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(42_000);
    let dir = tempfile::tempdir().unwrap();
    let b = bundle(dir.path(), requests);
    let file = dir.path().join("ward.bundle");
    let bytes = std::fs::metadata(&file).unwrap().len();
    let mut run = 0;
    let mut fresh = |name: &str| {
        run += 1;
        let path = dir.path().join(format!("{name}-{run}.db"));
        pc(&path, "L01");
        path
    };

    let raw = median(|| {
        let path = fresh("raw");
        let mut conn = stopgap::store::raw_connection(&path).unwrap();
        conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        conn.pragma_update(None, "synchronous", "FULL").unwrap();
        let start = Instant::now();
        let tx = conn.transaction().unwrap();
        {
            let mut st = tx
                .prepare(
                    "INSERT INTO events(id, request_uuid, workstation, user_name, at_ms, kind,
                        payload) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )
                .unwrap();
            for e in &b.events {
                st.execute(params![
                    e.id.to_string(),
                    e.request_uuid.to_string(),
                    e.actor.workstation.as_str(),
                    e.actor.user,
                    e.at.timestamp_millis(),
                    e.kind.word(),
                    serde_json::to_string(&e.kind).unwrap(),
                ])
                .unwrap();
            }
        }
        tx.commit().unwrap();
        start.elapsed()
    });

    let import = median(|| {
        let path = fresh("import");
        let mut lab = Store::open(&path).unwrap();
        let start = Instant::now();
        let report = lab.import_events(&b.incoming(), "Porter A", now()).unwrap();
        let took = start.elapsed();
        assert_eq!(report.new_events, b.events.len() as u64);
        took
    });

    let read = median(|| {
        let start = Instant::now();
        let again = read_bundle_file(&file).unwrap();
        assert_eq!(again.events.len(), b.events.len());
        start.elapsed()
    });

    println!(
        "\nHandover import of {} events ({} requests, bundle {} MB):",
        b.events.len(),
        requests,
        bytes / 1_000_000
    );
    println!(
        "  raw insert of the same rows (baseline): {:>8.0} ms",
        raw.as_secs_f64() * 1e3
    );
    println!(
        "  Store::import_events:                   {:>8.0} ms, ratio {:.2}× (aim ≤ 2×: {})",
        import.as_secs_f64() * 1e3,
        import.as_secs_f64() / raw.as_secs_f64(),
        if import.as_secs_f64() <= 2.0 * raw.as_secs_f64() {
            "met"
        } else {
            "MISSED"
        }
    );
    println!(
        "  reading and checking the bundle file:   {:>8.0} ms",
        read.as_secs_f64() * 1e3
    );
}
