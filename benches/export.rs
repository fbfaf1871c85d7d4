//! Export benchmark: 100,000 requests read from the store and written in each format, against
//! `sqlite3 -csv` dumping the same rows of the same database in the same run.
//!
//! Aims: CSV ≤ 1.2× the sqlite3 dump, HL7 ≤ 2×, FHIR ≤ 2.5×, xlsx ≤ 3×. The set-up installs
//! sqlite3 with apt-get when it is missing; if it cannot, the baseline is skipped with a note.
//! Ratios are printed at the end, then one whole export (file and batch record) runs while
//! another connection saves ward requests, to show that saves go on during it. Run:
//! `cargo bench --bench export` (`STOPGAP_BENCH_ROWS` to change the count, `STOPGAP_BENCH_FORMATS`
//! to measure only some formats, e.g. `csv,fhir`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on purpose"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use criterion::{Criterion, criterion_group};
use stopgap::backlog::ExportJob;
use stopgap::domain::downtime_id::Code3;
use stopgap::domain::status::ALL_STATUSES;
use stopgap::export::{ALL_FORMATS, CsvOptions, ExportContext, Format, Profile, write_export};
use stopgap::files::Overwrite;
use stopgap::store::{ExportOptions, ExportSelection, Setup, Store};

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 4, 12, 0, 0)
        .single()
        .unwrap_or_default()
}

fn rows() -> usize {
    std::env::var("STOPGAP_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000)
}

/// The formats to measure: `STOPGAP_BENCH_FORMATS` (words, comma-separated) or all of them.
fn formats() -> Vec<Format> {
    match std::env::var("STOPGAP_BENCH_FORMATS") {
        Ok(list) => list.split(',').map(|w| w.parse().unwrap()).collect(),
        Err(_) => ALL_FORMATS.to_vec(),
    }
}

/// A demo database of `n` requests, made once and kept under target/.
fn database(n: usize) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-export");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("export-{n}.db"));
    if path.exists() {
        return path;
    }
    let tmp = dir.join(format!("export-{n}.db.part"));
    let _ = std::fs::remove_file(&tmp);
    let mut store = Store::open_or_create(&tmp).unwrap();
    store
        .configure(&Setup {
            site: Code3::site("RXX").unwrap(),
            workstation: Code3::workstation("B01").unwrap(),
            wards: vec![],
        })
        .unwrap();
    let catalogue = store.catalogue().unwrap();
    let demo = stopgap::demo::synthetic_requests(n, 7, now(), &catalogue).unwrap();
    store
        .in_transaction(|s| {
            for d in &demo {
                s.save_training_request(&d.request, &d.user, d.created_at)?;
                for (t, at) in &d.transitions {
                    s.change_status(d.request.uuid, t, &d.user, *at)?;
                }
            }
            Ok(())
        })
        .unwrap();
    drop(store);
    std::fs::rename(&tmp, &path).unwrap();
    path
}

fn every_request() -> ExportSelection {
    ExportSelection {
        statuses: ALL_STATUSES.to_vec(),
        include_exported: true,
        ..ExportSelection::default()
    }
}

fn export(store: &Store, format: Format) -> u64 {
    let states = store.export_candidates(&every_request()).unwrap();
    let ctx = ExportContext {
        profile: Profile::default_profile(),
        generated_at: now(),
        batch_id: "B000001".into(),
        csv: CsvOptions::default(),
        mllp: false,
        training: false,
        wards: Vec::new(),
    };
    let mut sink = CountingSink(0);
    write_export(format, &states, &ctx, &mut sink).unwrap();
    sink.0
}

struct CountingSink(u64);

impl std::io::Write for CountingSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// sqlite3 on the PATH, installing it if it is missing and we may.
fn sqlite3() -> Option<&'static str> {
    let found = || {
        Command::new("which")
            .arg("sqlite3")
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if found() {
        return Some("sqlite3");
    }
    eprintln!("sqlite3 is missing: trying apt-get install -y sqlite3");
    let _ = Command::new("apt-get")
        .args(["install", "-y", "sqlite3"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if found() {
        Some("sqlite3")
    } else {
        eprintln!("NOTE: sqlite3 could not be installed: the baseline is skipped");
        None
    }
}

/// The baseline: sqlite3 dumping every request row (all columns, including the state JSON).
fn dump(bin: &str, db: &Path) {
    let st = Command::new(bin)
        .arg("-csv")
        .arg("-readonly")
        .arg(db)
        .arg("SELECT * FROM requests ORDER BY downtime_id")
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success());
}

fn median(mut f: impl FnMut(), runs: usize) -> Duration {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    times.sort();
    times[runs / 2]
}

fn bench_export(c: &mut Criterion) {
    let n = rows();
    let db = database(n);
    let store = Store::open_or_create(&db).unwrap();
    let sqlite = sqlite3();
    let mut group = c.benchmark_group(format!("export_{n}"));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    if let Some(bin) = sqlite {
        group.bench_function("sqlite3_csv_baseline", |b| b.iter(|| dump(bin, &db)));
    }
    for &format in &formats() {
        group.bench_function(format.word(), |b| b.iter(|| export(&store, format)));
    }
    group.finish();

    println!("\nExport of {n} requests (median of 3, same run):");
    let base = sqlite.map(|bin| median(|| dump(bin, &db), 3));
    if let Some(b) = base {
        println!("  sqlite3 -csv baseline: {:.2} s", b.as_secs_f64());
    }
    // The read alone (every format starts with it), so a ratio can be split into read and write.
    let read = median(
        || {
            store.export_candidates(&every_request()).unwrap();
        },
        3,
    );
    println!("  read of the selection alone: {:.2} s", read.as_secs_f64());
    for &format in &formats() {
        let mut bytes = 0;
        let t = median(|| bytes = export(&store, format), 3);
        let aim = match format {
            Format::Csv => 1.2,
            Format::Hl7Oml | Format::Hl7Orm => 2.0,
            Format::Fhir => 2.5,
            Format::Xlsx => 3.0,
        };
        match base {
            Some(b) => println!(
                "  {:<8} {:.2} s, {:.1} MB, {:.2}x baseline (aim <= {aim}x)",
                format.word(),
                t.as_secs_f64(),
                bytes as f64 / 1e6,
                t.as_secs_f64() / b.as_secs_f64()
            ),
            None => println!(
                "  {:<8} {:.2} s, {:.1} MB (no baseline)",
                format.word(),
                t.as_secs_f64(),
                bytes as f64 / 1e6
            ),
        }
    }
    export_beside_ward_saves(&db, n);
}

/// One whole export (read, file, record) of a copy of the database, while a ward connection
/// saves requests as fast as it can: how many saves completed, and the slowest.
fn export_beside_ward_saves(db: &Path, n: usize) {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("stopgap.db");
    std::fs::copy(db, &copy).unwrap();
    let finished = Arc::new(AtomicBool::new(false));
    let progress = Arc::new(stopgap::backlog::ExportProgress::default());
    let ward = {
        let (copy, finished, progress) = (copy.clone(), finished.clone(), progress.clone());
        std::thread::spawn(move || {
            let mut store = Store::open_or_create(&copy).unwrap();
            let catalogue = store.catalogue().unwrap();
            let (mut saves, mut slowest) = (0u32, Duration::ZERO);
            // Saves start once the export has counted its selection inside its read
            // transaction: a save before that is in the export's snapshot, and so in its batch
            // (which made the batch 100,045 requests, not 100,000).
            while progress.get().2 == 0 && !finished.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(1));
            }
            while !finished.load(Ordering::Relaxed) {
                saves += 1;
                let mut d = stopgap::demo::synthetic_requests(
                    1,
                    1_000_000 + u64::from(saves),
                    now(),
                    &catalogue,
                )
                .unwrap()
                .remove(0);
                // An MRN no demo patient has, so no identity check refuses the save.
                d.request.patient.nhs_number = None;
                d.request.patient.mrn = Some(format!("BENCH{saves:06}"));
                d.request.uuid = uuid::Uuid::new_v4();
                let t = Instant::now();
                store.save_request(&d.request, &d.user, now()).unwrap();
                slowest = slowest.max(t.elapsed());
            }
            (saves, slowest)
        })
    };
    let mut store = Store::open_or_create(&copy).unwrap();
    let job = ExportJob {
        selection: every_request(),
        format: Format::Csv,
        profile: Profile::default_profile(),
        options: ExportOptions::default(),
        user: "Bench".into(),
        out: dir.path().to_owned(),
        overwrite: Overwrite::Refuse,
        sealing: stopgap::files::Sealing::plaintext_confirmed(),
    };
    let t = Instant::now();
    let exported =
        stopgap::backlog::export_with_progress(&mut store, &job, now(), &progress).unwrap();
    let took = t.elapsed();
    finished.store(true, Ordering::Relaxed);
    let (saves, slowest) = ward.join().unwrap();
    assert_eq!(exported.record.request_count, n as u64);
    println!(
        "  whole CSV export to a file and recorded: {:.2} s, while {saves} ward saves completed \
         (slowest {} ms; busy timeout 5000 ms)",
        took.as_secs_f64(),
        slowest.as_millis()
    );
}

criterion_group!(benches, bench_export);

fn main() {
    benches();
    criterion::Criterion::default()
        .configure_from_args()
        .final_summary();
}
