//! The dashboard's figures, against a baseline measured in the same run on the same file:
//!
//! - baseline: the least any reader of the same rows must do, in SQL alone: `count(*)` and
//!   `sum(length(...))` over the request columns `Store::timelines` reads and over the events of
//!   the two kinds it reads (status changes and phoned results);
//! - figures: what the dashboard's thread does, `Store::timelines(None)` (every request's row,
//!   then those events, each receipt or "sent" recognised by its stored bytes, the rest unpacked)
//!   and `turnaround::figures` over them; and the same for one ward.
//!
//! At 100,000 requests with their demo histories (sent, received, re-entered, ...) and a phoned
//! result on every fourth received one; `STOPGAP_BENCH_DASHBOARD_ROWS=100000,1000000` adds a
//! million (its file takes a long while to build). Criterion reports each; the ratios against
//! the baseline, from the medians of the same samples, are printed at the end.
//! Run: `cargo bench --bench dashboard`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a bench fails loudly on purpose"
)]

use std::cell::RefCell;
use std::path::Path;
use std::rc::Rc;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use criterion::Criterion;
use rusqlite::Connection;
use stopgap::domain::downtime_id::Code3;
use stopgap::domain::phoned::PhonedResult;
use stopgap::domain::status::{Status, Transition};
use stopgap::domain::turnaround::figures;
use stopgap::store::{Setup, Store};

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 4, 12, 0, 0)
        .single()
        .unwrap_or_default()
}

/// A lab PC's file of `rows` requests with their histories; the ward of the first request.
fn build(path: &Path, rows: usize) -> String {
    let mut store = Store::open_or_create(path).unwrap();
    store
        .configure(&Setup {
            site: Code3::site("RXX").unwrap(),
            workstation: Code3::workstation("L01").unwrap(),
            wards: vec![],
        })
        .unwrap();
    let cat = store.catalogue().unwrap();
    let mut ward = String::new();
    for start in (0..rows).step_by(10_000) {
        let count = 10_000.min(rows - start);
        let reqs = stopgap::demo::synthetic_requests(count, start as u64, now(), &cat).unwrap();
        if ward.is_empty() {
            ward = reqs[0].request.ward.clone();
        }
        store
            .in_transaction(|s| {
                for (n, d) in reqs.iter().enumerate() {
                    s.save_training_request(&d.request, &d.user, d.created_at)?;
                    let mut received = None;
                    for (t, at) in &d.transitions {
                        s.change_status(d.request.uuid, t, &d.user, *at)?;
                        if *t == Transition::Received {
                            received = Some(*at);
                        }
                    }
                    let can_phone = matches!(d.status(), Status::Received | Status::Reentered);
                    if let Some(r) = received.filter(|_| can_phone && n % 4 == 0) {
                        let phoned = PhonedResult {
                            test: d.request.tests[0].code.clone(),
                            summary: "K+ 6.8 mmol/L".into(),
                            phoned_at: (r + chrono::Duration::minutes(15)).min(now()),
                            phoned_by: "BMS Chen".into(),
                            received_by: "Nurse Ade".into(),
                            read_back: true,
                        };
                        s.record_phoned(d.request.uuid, &phoned, "BMS Chen", now())?;
                    }
                }
                Ok(())
            })
            .unwrap();
    }
    ward
}

/// The baseline: the same rows and columns read by SQLite and summed, nothing decoded.
fn baseline(conn: &Connection) -> (i64, i64) {
    let requests: (i64, i64) = conn
        .query_row(
            "SELECT count(*), sum(length(uuid) + length(downtime_id) + length(priority)
                 + length(ward) + length(status) + (collected_ms & 1) + (created_ms & 1))
             FROM requests",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let events: (i64, i64) = conn
        .query_row(
            "SELECT count(*), sum(length(request_uuid) + (at_ms & 1) + length(kind)
                 + length(payload) + coalesce(length(packed), 0))
             FROM events WHERE kind IN ('status_changed', 'result_phoned')",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    (requests.0 + events.0, requests.1 + events.1)
}

fn median(times: &[Duration]) -> Duration {
    let mut t = times.to_vec();
    t.sort();
    t.get(t.len() / 2).copied().unwrap_or_default()
}

/// Runs `f` under criterion as `name`, keeping each sample's time per iteration.
fn timed(
    c: &mut Criterion,
    name: &str,
    mut f: impl FnMut() -> usize,
) -> Rc<RefCell<Vec<Duration>>> {
    let kept = Rc::new(RefCell::new(Vec::new()));
    let into = Rc::clone(&kept);
    c.bench_function(name, |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                std::hint::black_box(f());
            }
            let took = start.elapsed();
            into.borrow_mut()
                .push(took / u32::try_from(iters.max(1)).unwrap_or(u32::MAX));
            took
        });
    });
    kept
}

fn main() {
    let sizes: Vec<usize> = std::env::var("STOPGAP_BENCH_DASHBOARD_ROWS")
        .ok()
        .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![100_000]);
    let mut c = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(10))
        .configure_from_args();
    let mut lines = Vec::new();
    for rows in sizes {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stopgap.db");
        let started = Instant::now();
        let ward = build(&path, rows);
        let built = started.elapsed();
        let store = Store::open(&path).unwrap();
        let thresholds = store.overdue_thresholds().unwrap();
        let conn = stopgap::store::raw_connection(&path).unwrap();
        let base = timed(
            &mut c,
            &format!("baseline SQL sums, {rows} requests"),
            || baseline(&conn).0 as usize,
        );
        let all = timed(
            &mut c,
            &format!("timelines + figures, {rows} requests"),
            || {
                let t = store.timelines(None).unwrap();
                figures(&t, now(), &thresholds).overdue.len() + t.len()
            },
        );
        let one = timed(&mut c, &format!("one ward, {rows} requests"), || {
            let t = store.timelines(Some(&ward)).unwrap();
            figures(&t, now(), &thresholds).overdue.len() + t.len()
        });
        let (b, a, o) = (
            median(&base.borrow()),
            median(&all.borrow()),
            median(&one.borrow()),
        );
        let (read, _) = baseline(&conn);
        let in_ward = store.timelines(Some(&ward)).unwrap().len();
        lines.push(format!(
            "{rows:>8} requests ({read} rows read; file {} MB, built in {:.0} s): baseline \
             {:.1} ms; timelines + figures {:.1} ms, ratio {:.2}×; one ward ({in_ward} \
             requests) {:.1} ms, ratio {:.2}×",
            std::fs::metadata(&path).unwrap().len() / 1_000_000,
            built.as_secs_f64(),
            b.as_secs_f64() * 1e3,
            a.as_secs_f64() * 1e3,
            a.as_secs_f64() / b.as_secs_f64(),
            o.as_secs_f64() * 1e3,
            o.as_secs_f64() / b.as_secs_f64(),
        ));
    }
    c.final_summary();
    println!("\nDashboard figures against the baseline (medians of the same samples):");
    for line in lines {
        println!("  {line}");
    }
}
