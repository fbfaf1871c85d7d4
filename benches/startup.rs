//! Start-up: from nothing to the window's first queue page, at 2,000 and 100,000 requests
//! (500,000 too with `STOPGAP_BENCH_STARTUP_ROWS=2000,100000,500000`), warm and, where this
//! process may drop the page cache (root on Linux), cold.
//!
//! - new: what the app does now, `Store::open_or_create_checking_later` + the first queue page
//!   (the whole-file check runs afterwards on its own thread);
//! - baseline: the old start, `Store::open` (which reads every page with `PRAGMA quick_check`)
//!   + the same page.
//!
//! Aim: new ≤ 0.3 s at every size, cold or warm. Ratios new/baseline are printed at the end.
//! Run: `cargo bench --bench startup`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a bench fails loudly on purpose"
)]

use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use stopgap::domain::downtime_id::Code3;
use stopgap::store::{QueueFilter, Setup, SortColumn, SortOrder, Store};

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 4, 12, 0, 0)
        .single()
        .unwrap_or_default()
}

fn build(path: &Path, rows: usize) {
    let mut store = Store::open_or_create(path).unwrap();
    store
        .configure(&Setup {
            site: Code3::site("RXX").unwrap(),
            workstation: Code3::workstation("W07").unwrap(),
            wards: vec![],
        })
        .unwrap();
    let cat = store.catalogue().unwrap();
    for start in (0..rows).step_by(10_000) {
        let count = 10_000.min(rows - start);
        let reqs = stopgap::demo::synthetic_requests(count, start as u64, now(), &cat).unwrap();
        store
            .in_transaction(|s| {
                // Each with its demo history (sent, received, re-entered...), so the size per
                // request on disk is that of a request that has been through the lab.
                for d in &reqs {
                    s.save_training_request(&d.request, &d.user, d.created_at)?;
                    for (t, at) in &d.transitions {
                        s.change_status(d.request.uuid, t, &d.user, *at)?;
                    }
                }
                Ok(())
            })
            .unwrap();
    }
}

fn first_page(store: &Store) -> usize {
    store
        .queue_page(
            &QueueFilter::default(),
            SortColumn::Collected,
            SortOrder::Descending,
            0,
            50,
        )
        .unwrap()
        .len()
}

/// Drops the page cache so the next open reads from the disk; false where not allowed.
fn drop_caches() -> bool {
    std::fs::write("/proc/sys/vm/drop_caches", b"3\n").is_ok()
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn time(path: &Path, cold: bool, open: fn(&Path) -> Store) -> Duration {
    let mut times = Vec::new();
    for _ in 0..5 {
        if cold {
            drop_caches();
        }
        let start = Instant::now();
        let store = open(path);
        assert_eq!(first_page(&store), 50);
        times.push(start.elapsed());
        drop(store);
    }
    median(times)
}

fn main() {
    let sizes: Vec<usize> = std::env::var("STOPGAP_BENCH_STARTUP_ROWS")
        .ok()
        .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![2_000, 100_000]);
    let can_go_cold = drop_caches();
    let mut lines = Vec::new();
    for rows in sizes {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stopgap.db");
        build(&path, rows);
        let bytes = std::fs::metadata(&path).unwrap().len();
        for cold in [false, true] {
            if cold && !can_go_cold {
                continue;
            }
            let new = time(&path, cold, |p| {
                Store::open_or_create_checking_later(p).unwrap()
            });
            let old = time(&path, cold, |p| Store::open(p).unwrap());
            lines.push(format!(
                "{rows:>7} requests ({:>4} MB, {}): window+queue {:>7.1} ms, old start \
                 {:>7.1} ms, ratio {:.3}×, aim ≤ 300 ms: {}",
                bytes / 1_000_000,
                if cold { "cold" } else { "warm" },
                new.as_secs_f64() * 1e3,
                old.as_secs_f64() * 1e3,
                new.as_secs_f64() / old.as_secs_f64(),
                if new <= Duration::from_millis(300) {
                    "met"
                } else {
                    "MISSED"
                }
            ));
        }
        lines.push(format!(
            "{rows:>7} requests: {:.2} KB per request on disk",
            bytes as f64 / rows as f64 / 1024.0
        ));
    }
    if !can_go_cold {
        lines
            .push("cold runs skipped: this process cannot drop the page cache (needs root)".into());
    }
    println!("\nStart-up (window and first queue page):");
    for line in lines {
        println!("  {line}");
    }
}
