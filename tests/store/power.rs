//! Power loss: an acknowledged save must be on the device, not only in the OS's cache (a process
//! kill, which the crash test makes, loses nothing the kernel holds; a power cut loses what was
//! never synced). This test watches the writer's system calls with `strace`: before each "SAVED"
//! line the writer prints (the acknowledgement the form shows), every write to the database and
//! its write-ahead log since the last acknowledgement has been followed by an `fsync` or
//! `fdatasync` of that file.
//!
//! A filesystem that drops unsynced writes (LazyFS, or a dm-flakey / dm-log-writes device) would
//! test the device itself; this machine has neither (no device-mapper control device, LazyFS not
//! packaged), so the syscall order, which is what SQLite's `synchronous=FULL` promises, is what is
//! checked. Skipped, saying so, where `strace` is missing or may not trace.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on purpose"
)]

use std::collections::BTreeSet;
use std::process::Command;

/// What the trace shows: how many acknowledgements, and each one made while a write to the
/// database files was not yet synced (described).
fn unsynced_acknowledgements(trace: &str, db: &str) -> (usize, Vec<String>) {
    let mut unsynced: BTreeSet<String> = BTreeSet::new();
    let mut acknowledged = 0;
    let mut faults = Vec::new();
    for line in trace.lines() {
        let Some((call, rest)) = line.split_once('(') else {
            continue;
        };
        // `4</tmp/x/stopgap.db-wal>, ...`: the path strace -y shows for the descriptor.
        let path = rest
            .split_once('<')
            .and_then(|(_, p)| p.split_once('>'))
            .map(|(p, _)| p);
        let Some(path) = path else { continue };
        let ok = !line.contains("= -1");
        let ours = path == db || path == format!("{db}-wal") || path == format!("{db}-journal");
        match call {
            "write" | "pwrite64" | "pwritev" | "pwritev2" | "writev" if ours && ok => {
                unsynced.insert(path.to_owned());
            }
            "fsync" | "fdatasync" if ours && ok => {
                unsynced.remove(path);
            }
            "write" if rest.contains("\"SAVED ") => {
                acknowledged += 1;
                if !unsynced.is_empty() {
                    faults.push(format!(
                        "acknowledgement {acknowledged} while {unsynced:?} had unsynced writes"
                    ));
                }
            }
            _ => {}
        }
    }
    (acknowledged, faults)
}

#[test]
fn every_acknowledged_save_was_synced_to_the_device_before_it_was_acknowledged() {
    let bin = super::crash::writer_binary();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("power.db");
    let trace = dir.path().join("trace");
    let run = Command::new("strace")
        .args([
            "-y",
            "-s",
            "48",
            "-e",
            "trace=write,pwrite64,pwritev,writev,fsync,fdatasync",
        ])
        .arg("-o")
        .arg(&trace)
        .arg(&bin)
        .arg(&db)
        .args(["1", "40"])
        .output();
    let run = match run {
        Ok(out) if out.status.success() => out,
        Ok(out) => {
            eprintln!(
                "power-loss test skipped: strace could not trace the writer ({})",
                String::from_utf8_lossy(&out.stderr).trim()
            );
            return;
        }
        Err(e) => {
            eprintln!("power-loss test skipped: strace is not installed ({e})");
            return;
        }
    };
    let saved = String::from_utf8_lossy(&run.stdout)
        .matches("SAVED ")
        .count();
    assert_eq!(saved, 40, "the writer made its 40 saves");
    let trace = std::fs::read_to_string(&trace).unwrap();
    let (acknowledged, faults) = unsynced_acknowledgements(&trace, &db.display().to_string());
    assert_eq!(acknowledged, 40, "every acknowledgement is in the trace");
    assert_eq!(faults, Vec::<String>::new());
}

#[test]
fn the_trace_check_catches_an_acknowledgement_before_the_sync() {
    let db = "/d/s.db";
    let good = "pwrite64(4</d/s.db-wal>, \"x\", 1, 0) = 1\n\
                fdatasync(4</d/s.db-wal>) = 0\n\
                write(1<pipe:[9]>, \"SAVED A\", 7) = 7\n";
    assert_eq!(unsynced_acknowledgements(good, db), (1, vec![]));
    let early = "pwrite64(4</d/s.db-wal>, \"x\", 1, 0) = 1\n\
                 write(1<pipe:[9]>, \"SAVED A\", 7) = 7\n\
                 fdatasync(4</d/s.db-wal>) = 0\n";
    let (n, faults) = unsynced_acknowledgements(early, db);
    assert_eq!(n, 1);
    assert_eq!(faults.len(), 1, "{faults:?}");
}
