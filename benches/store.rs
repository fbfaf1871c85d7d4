//! Store benchmarks, each reported against a baseline measured in the same run:
//!
//! - `save`: a durable `Store::save_request` (event + state + sequence, one transaction,
//!   `synchronous=FULL`) against a raw rusqlite insert of an equivalent row with the same pragmas.
//!   Aim: ratio ≤ 1.3×.
//! - `queue_page_100k`: the first queue page and a page half-way down, sorted by collection time,
//!   at 100,000 requests, against a raw `SELECT ... LIMIT 50` of the same columns.
//! - `lookup`: search by downtime ID, NHS number, MRN and surname prefix at 100,000 requests
//!   (1,000,000 with `STOPGAP_BENCH_ROWS=1000000`; aim < 10 ms each).
//!
//! Run: `cargo bench --bench store`. Ratios are printed at the end.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on purpose"
)]

use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use criterion::{Criterion, criterion_group};
use rusqlite::{Connection, params};
use stopgap::domain::downtime_id::Code3;
use stopgap::store::{QueueFilter, Setup, SortColumn, SortOrder, Store};

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 4, 12, 0, 0)
        .single()
        .unwrap_or_default()
}

fn setup(ws: &str) -> Setup {
    Setup {
        site: Code3::site("RXX").unwrap(),
        workstation: Code3::workstation(ws).unwrap(),
        wards: vec![],
    }
}

fn raw_connection(path: &std::path::Path) -> Connection {
    raw_connection_keyed(path, None)
}

/// The raw baseline, encrypted by SQLCipher with a raw 256-bit key when `key` is given (as the
/// store's file is), so the ratio measures Stopgap's own work, not the encryption's.
fn raw_connection_keyed(path: &std::path::Path, key: Option<&str>) -> Connection {
    let c = Connection::open(path).unwrap();
    if let Some(key) = key {
        c.execute_batch(&format!("PRAGMA key = \"x'{key}'\";"))
            .unwrap();
    }
    c.pragma_update(None, "journal_mode", "WAL").unwrap();
    c.pragma_update(None, "synchronous", "FULL").unwrap();
    c.pragma_update(None, "foreign_keys", "ON").unwrap();
    c.execute_batch(
        "CREATE TABLE IF NOT EXISTS plain (uuid TEXT PRIMARY KEY, downtime_id TEXT, surname TEXT,
         nhs_number TEXT, payload TEXT, event TEXT)",
    )
    .unwrap();
    c
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// Durable save against a raw insert, interleaved one for one so that both see the same disk and
/// the same background load; medians of each.
fn ratios() -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open_or_create(&dir.path().join("s.db")).unwrap();
    store.configure(&setup("W01")).unwrap();
    let cat = store.catalogue().unwrap();
    let reqs = stopgap::demo::synthetic_requests(400, 7, now(), &cat).unwrap();
    let key = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let plain_raw = raw_connection(&dir.path().join("raw.db"));
    let keyed_raw = raw_connection_keyed(&dir.path().join("raw-keyed.db"), Some(&key));
    let (mut saves, mut plains, mut keyeds) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..400 {
        let d = &reqs[i % reqs.len()];
        let mut r = d.request.clone();
        r.uuid = uuid::Uuid::new_v4();
        let t = Instant::now();
        store.save_request(&r, "bench", now()).unwrap();
        saves.push(t.elapsed());

        // The least a save must do: one transaction inserting the request's JSON and an event's
        // JSON, with the same pragmas; on a plain file and on an encrypted one.
        for (raw, times) in [(&plain_raw, &mut plains), (&keyed_raw, &mut keyeds)] {
            let t = Instant::now();
            let payload = serde_json::to_string(&d.request).unwrap();
            let tx = raw.unchecked_transaction().unwrap();
            tx.execute(
                "INSERT INTO plain VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    uuid::Uuid::new_v4().to_string(),
                    format!("RXXW01{i:06}K"),
                    d.request.patient.surname,
                    d.request.patient.nhs_number.map(|n| n.digits()),
                    payload,
                    payload
                ],
            )
            .unwrap();
            tx.commit().unwrap();
            times.push(t.elapsed());
        }
    }
    let (save, plain, keyed) = (median(saves), median(plains), median(keyeds));
    vec![
        format!(
            "save: durable Store::save_request (encrypted) {:?} vs raw insert into an encrypted file {:?} (medians of 400, interleaved) = {:.2}x (aim <= 1.5x)",
            save,
            keyed,
            save.as_secs_f64() / keyed.as_secs_f64()
        ),
        format!(
            "save: the same against a raw insert into a plain file {:?} = {:.2}x (encryption alone: {:.2}x)",
            plain,
            save.as_secs_f64() / plain.as_secs_f64(),
            keyed.as_secs_f64() / plain.as_secs_f64()
        ),
        sign_in_time(),
    ]
}

/// Sign-in with the production Argon2id parameters: the median of 5 unlocks of a real key file.
fn sign_in_time() -> String {
    use stopgap::domain::access::Role;
    use stopgap::store::{KdfParams, NewAccount, keys};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let password = "copper kettle under moss";
    let manager = NewAccount::checked("M0001", "Mina Manager", Role::Manager, password).unwrap();
    drop(Store::create_protected(&path, &manager, password, KdfParams::STANDARD, now()).unwrap());
    let mut times = Vec::new();
    for _ in 0..5 {
        keys::forget(&path);
        let t = Instant::now();
        drop(Store::unlock(&path, "M0001", password, now()).unwrap());
        times.push(t.elapsed());
    }
    let p = KdfParams::STANDARD;
    format!(
        "sign-in: Store::unlock with Argon2id m={} MiB t={} p={} takes {:?} (median of 5; aim about 0.5 s)",
        p.m_kib / 1024,
        p.t,
        p.p,
        median(times)
    )
}

/// A store with `rows` training requests spread over several workstations, built once.
fn big_store(rows: usize) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open_or_create(&dir.path().join("big.db")).unwrap();
    let cat = store.catalogue().unwrap();
    let per_ws = 200_000usize;
    let mut made = 0usize;
    let mut ws_no = 0;
    while made < rows {
        ws_no += 1;
        store.configure(&setup(&format!("B{ws_no:02}"))).unwrap();
        let n = per_ws.min(rows - made);
        for chunk_start in (0..n).step_by(10_000) {
            let count = 10_000.min(n - chunk_start);
            let reqs =
                stopgap::demo::synthetic_requests(count, (made + chunk_start) as u64, now(), &cat)
                    .unwrap();
            store
                .in_transaction(|s| {
                    for d in &reqs {
                        s.save_training_request(&d.request, &d.user, d.created_at)?;
                    }
                    Ok(())
                })
                .unwrap();
        }
        made += n;
    }
    (dir, store)
}

fn bench_store(c: &mut Criterion) {
    let rows: usize = std::env::var("STOPGAP_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let (_dir, store) = big_store(rows);
    let raw = stopgap::store::raw_connection(store.path()).unwrap();
    let all = QueueFilter::default();
    let sample = store
        .queue_page(&all, SortColumn::Collected, SortOrder::Descending, 1234, 1)
        .unwrap()
        .remove(0);

    let mut g = c.benchmark_group(format!("queue_{rows}"));
    g.bench_function("first_page", |b| {
        b.iter(|| {
            store
                .queue_page(&all, SortColumn::Collected, SortOrder::Descending, 0, 50)
                .unwrap()
        })
    });
    g.bench_function("middle_page", |b| {
        b.iter(|| {
            store
                .queue_page(
                    &all,
                    SortColumn::Collected,
                    SortOrder::Descending,
                    rows as u64 / 2,
                    50,
                )
                .unwrap()
        })
    });
    g.bench_function("raw_first_page_baseline", |b| {
        b.iter(|| {
            let mut st = raw
                .prepare_cached(
                    "SELECT uuid, downtime_id, surname, forename, dob, nhs_number, mrn,
                     emergency_number, tests, priority, collected_ms, status, ward, accession,
                     training FROM requests ORDER BY collected_ms DESC, rowid DESC LIMIT 50",
                )
                .unwrap();
            // Read every column, as the store does, without building typed rows.
            let n = st
                .query_map([], |r| {
                    (0..15)
                        .map(|i| r.get::<_, rusqlite::types::Value>(i))
                        .collect::<Result<Vec<_>, _>>()
                })
                .unwrap()
                .count();
            assert_eq!(n, 50);
        })
    });
    g.finish();

    let mut g = c.benchmark_group(format!("lookup_{rows}"));
    let lookups = [
        ("downtime_id", sample.downtime_id.canonical()),
        ("nhs_number", sample.nhs_number.clone().unwrap_or_default()),
        (
            "mrn",
            sample.mrn.clone().unwrap_or_else(|| "K0000000".into()),
        ),
        ("surname_prefix", sample.surname.chars().take(3).collect()),
    ];
    for (name, q) in lookups {
        let f = QueueFilter {
            search: q,
            ..QueueFilter::default()
        };
        g.bench_function(name, |b| {
            b.iter(|| {
                store
                    .queue_page(&f, SortColumn::Collected, SortOrder::Descending, 0, 50)
                    .unwrap()
            })
        });
    }
    g.finish();
}

fn bench_save(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open_or_create(&dir.path().join("s.db")).unwrap();
    store.configure(&setup("W02")).unwrap();
    let cat = store.catalogue().unwrap();
    let reqs = stopgap::demo::synthetic_requests(100, 3, now(), &cat).unwrap();
    let mut g = c.benchmark_group("save");
    g.sample_size(50);
    let mut i = 0;
    g.bench_function("durable_save_request", |b| {
        b.iter(|| {
            let mut r = reqs[i % reqs.len()].request.clone();
            r.uuid = uuid::Uuid::new_v4();
            i += 1;
            store.save_request(&r, "bench", now()).unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, bench_save, bench_store);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    println!("\n== Ratios against baselines measured in this run ==");
    for line in ratios() {
        println!("{line}");
    }
}
