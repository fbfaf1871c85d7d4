//! Crash-proof exports (issue 9): after an export is interrupted at any point, recovery leaves
//! either its batch recorded with its file in place, or neither; leftover temporary files are
//! removed; a live export (its file locked) is left alone; `--force` never replaces a file a
//! batch wrote. The last test kills a real exporting process at random moments: 30 kills by
//! default, `STOPGAP_EXPORT_KILLS=1000` for the long run.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on purpose"
)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::common::cli::{stopgap, text};
use crate::common::{now, request, temp_store};
use stopgap::backlog::{
    BacklogError, ExportJob, Recovered, export_file_name, export_to, recover_exports,
};
use stopgap::export::{Format, Profile};
use stopgap::files::{Overwrite, Staging, sha256_hex};
use stopgap::store::{BatchFile, BatchSpec, ExportOptions, ExportSelection, Store, StoreError};

fn save(store: &mut Store, from: u32, n: u32) {
    for i in from..from + n {
        store
            .save_request(&request(i), "Nurse Bloggs", now())
            .unwrap();
    }
}

fn job(out: &Path, overwrite: Overwrite) -> ExportJob {
    ExportJob {
        selection: ExportSelection::default(),
        format: Format::Csv,
        profile: Profile::default_profile(),
        options: ExportOptions::default(),
        user: "Lab Clerk".into(),
        out: out.to_owned(),
        overwrite,
        sealing: stopgap::files::Sealing::plaintext_confirmed(),
    }
}

/// How far an export got before its process died.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Stop {
    /// Number reserved, the temporary file empty.
    Reserved,
    /// The file complete and its SHA-256 staged, not yet renamed.
    Staged,
    /// The hard link to the final name made, the temporary name not yet removed.
    Linked,
    /// Renamed into place, the batch not recorded.
    Placed,
}

/// Runs the steps of an export (as `backlog::export_with_progress` does) up to `stop` and
/// returns the still-locked temporary file (drop it to "kill" the export) and the final path.
fn interrupted(store: &mut Store, out: &Path, stop: Stop) -> (Staging, PathBuf) {
    let selection = ExportSelection::default();
    let snapshot = store
        .export_snapshot(&selection, |_, _| Ok::<(), StoreError>(()))
        .unwrap();
    let spec = BatchSpec {
        format: "csv".into(),
        profile_name: "default".into(),
        profile_toml: Profile::default_profile().to_toml(),
        options: ExportOptions::default(),
        generated_at: now(),
        user: "Lab Clerk".into(),
    };
    let mut staging = Staging::create(out, "stopgap-export").unwrap();
    let r = store
        .reserve_export(&spec, &snapshot, Some(staging.path()), |h| {
            Ok::<_, StoreError>(out.join(export_file_name(&h.batch_id, Format::Csv)))
        })
        .unwrap();
    if stop == Stop::Reserved {
        staging.keep();
        return (staging, r.target);
    }
    let (bytes, sha256) = staging
        .fill(|w| w.write_all(format!("{} requests", snapshot.states.len()).as_bytes()))
        .unwrap();
    let file = BatchFile {
        file_name: stopgap::backlog::file_name_of(&r.target),
        sha256,
        bytes,
    };
    store.stage_file(r.header.number, &file, &[]).unwrap();
    match stop {
        Stop::Linked => std::fs::hard_link(staging.path(), &r.target).unwrap(),
        Stop::Placed => staging.place(&r.target, Overwrite::Refuse).unwrap(),
        _ => {}
    }
    // A dead process's temporary file stays where it was.
    staging.keep();
    (staging, r.target)
}

fn temps(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect()
}

fn out_folder(dir: &Path) -> PathBuf {
    let out = dir.join("out");
    std::fs::create_dir_all(&out).unwrap();
    out
}

#[test]
fn an_export_killed_after_its_rename_is_recorded_at_the_next_start() {
    for stop in [Stop::Placed, Stop::Linked] {
        let (dir, mut store) = temp_store();
        let out = out_folder(dir.path());
        save(&mut store, 1, 3);
        let (staging, target) = interrupted(&mut store, &out, stop);
        drop(staging);
        let bytes = std::fs::read(&target).unwrap();

        let recovery = recover_exports(&mut store, "Lab Two", now(), &[]).unwrap();
        assert_eq!(
            recovery.done,
            vec![Recovered::Adopted {
                batch_id: "RXX-W07-B000001".into(),
                path: target.clone()
            }],
            "{stop:?}"
        );
        assert!(recovery.lines()[0].contains("exactly what the export wrote"));
        let batch = store.batch(1).unwrap().unwrap();
        assert_eq!(batch.sha256, sha256_hex(&bytes));
        assert_eq!(batch.request_count, 3);
        assert_eq!(batch.user, "Lab Clerk");
        assert_eq!(
            store.recovered_batches().unwrap(),
            vec![("RXX-W07-B000001".into(), now(), "Lab Two".into())]
        );
        assert!(store.unrecorded_exports().unwrap().is_empty());
        assert!(temps(&out).is_empty(), "{stop:?}: {:?}", temps(&out));
        // The requests went out in that batch: the next export has none of them.
        let e = export_to(&mut store, &job(&out, Overwrite::Refuse), now()).unwrap_err();
        assert!(matches!(e, BacklogError::NothingToExport), "{e:?}");
        assert!(store.verify().unwrap().is_sound());
    }
}

#[test]
fn an_export_killed_before_its_rename_is_undone_at_the_next_start() {
    for stop in [Stop::Reserved, Stop::Staged] {
        let (dir, mut store) = temp_store();
        let out = out_folder(dir.path());
        save(&mut store, 1, 3);
        let (staging, target) = interrupted(&mut store, &out, stop);
        drop(staging);
        assert_eq!(temps(&out).len(), 1);

        let recovery = recover_exports(&mut store, "Lab Two", now(), &[]).unwrap();
        assert_eq!(
            recovery.done,
            vec![Recovered::Released {
                batch_id: "RXX-W07-B000001".into()
            }],
            "{stop:?}"
        );
        assert!(!target.exists());
        assert!(temps(&out).is_empty(), "{stop:?}");
        assert!(store.unrecorded_exports().unwrap().is_empty());
        assert!(store.batches().unwrap().is_empty());
        // The requests are free again, and the number is taken again.
        let next = export_to(&mut store, &job(&out, Overwrite::Refuse), now()).unwrap();
        assert_eq!(next.record.request_count, 3);
        assert_eq!(next.record.batch_id, "RXX-W07-B000001");
    }
}

#[test]
fn a_different_file_under_an_interrupted_exports_name_is_left_and_reported() {
    let (dir, mut store) = temp_store();
    let out = out_folder(dir.path());
    save(&mut store, 1, 3);
    let (staging, target) = interrupted(&mut store, &out, Stop::Placed);
    drop(staging);
    std::fs::write(&target, b"edited by hand").unwrap();

    let recovery = recover_exports(&mut store, "Lab Two", now(), &[]).unwrap();
    assert_eq!(
        recovery.done,
        vec![Recovered::Differs {
            batch_id: "RXX-W07-B000001".into(),
            path: target.clone()
        }]
    );
    assert!(recovery.needs_attention());
    let said = &recovery.lines()[0];
    assert!(
        said.starts_with(
            "RXX-W07-B000001: stopgap-RXX-W07-B000001-csv.csv differs from what the export \
             wrote; it was not recorded: check it before sending it"
        ),
        "{said}"
    );
    assert_eq!(std::fs::read(&target).unwrap(), b"edited by hand");
    assert!(store.batches().unwrap().is_empty());
    // The reservation keeps its requests until the file is dealt with.
    assert_eq!(store.unrecorded_exports().unwrap().len(), 1);
    let e = export_to(&mut store, &job(&out, Overwrite::Refuse), now()).unwrap_err();
    assert!(
        matches!(e, BacklogError::Store(StoreError::Claimed(_))),
        "{e:?}"
    );
    // Asked again, it says the same and changes nothing.
    let again = recover_exports(&mut store, "Lab Two", now(), &[]).unwrap();
    assert_eq!(again, recovery);
}

#[test]
fn a_live_export_is_left_alone_by_recovery() {
    let (dir, mut store) = temp_store();
    let out = out_folder(dir.path());
    save(&mut store, 1, 3);
    for stop in [Stop::Reserved, Stop::Staged, Stop::Placed] {
        // Another connection, as another process or thread would have.
        let mut other = Store::open(store.path()).unwrap();
        let (staging, target) = interrupted(&mut other, &out, stop);
        // Still locked: the export is alive.
        let recovery =
            recover_exports(&mut store, "Lab Two", now(), std::slice::from_ref(&out)).unwrap();
        assert!(recovery.is_empty(), "{stop:?}: {:?}", recovery.lines());
        assert_eq!(store.unrecorded_exports().unwrap().len(), 1, "{stop:?}");
        assert_eq!(temps(&out).len(), usize::from(stop != Stop::Placed));
        // Once its process is gone, the same leftover is settled.
        drop(staging);
        let recovery =
            recover_exports(&mut store, "Lab Two", now(), std::slice::from_ref(&out)).unwrap();
        assert_eq!(recovery.done.len(), 1, "{stop:?}");
        if stop == Stop::Placed {
            assert!(matches!(recovery.done[0], Recovered::Adopted { .. }));
            assert!(target.exists());
        } else {
            assert!(matches!(recovery.done[0], Recovered::Released { .. }));
        }
        assert!(temps(&out).is_empty());
    }
}

#[test]
fn stray_temporary_files_are_removed_unless_a_live_writer_holds_them() {
    let (dir, mut store) = temp_store();
    let out = out_folder(dir.path());
    let stray = out.join(format!(
        ".stopgap-RXX-W07-B000009-csv.csv.{}.tmp",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::write(&stray, b"patient data").unwrap();
    // Not ours: a user's hidden file and a temporary file of another program.
    std::fs::write(out.join(".notes.tmp"), b"x").unwrap();
    std::fs::write(out.join("other.tmp"), b"x").unwrap();
    let live = Staging::create(&out, "stopgap-export").unwrap();

    let recovery =
        recover_exports(&mut store, "Lab Two", now(), std::slice::from_ref(&out)).unwrap();
    assert_eq!(
        recovery.done,
        vec![Recovered::TempRemoved {
            path: stray.clone(),
            bytes: 12
        }]
    );
    assert!(!stray.exists());
    assert!(live.path().exists());
    assert!(out.join(".notes.tmp").exists() && out.join("other.tmp").exists());
}

#[test]
fn force_never_replaces_a_file_a_batch_wrote() {
    let (dir, mut store) = temp_store();
    let out = out_folder(dir.path());
    let file = out.join("for-the-lims.csv");
    save(&mut store, 1, 2);
    let first = export_to(&mut store, &job(&file, Overwrite::Refuse), now()).unwrap();
    let sent = std::fs::read(&file).unwrap();
    save(&mut store, 10, 2);
    let e = export_to(&mut store, &job(&file, Overwrite::Replace), now()).unwrap_err();
    assert!(
        matches!(&e, BacklogError::BatchFile { batch_id, .. } if batch_id == &first.record.batch_id),
        "{e:?}"
    );
    assert!(
        e.to_string()
            .contains("was written by export batch RXX-W07-B000001 and may already have gone"),
        "{e}"
    );
    assert_eq!(std::fs::read(&file).unwrap(), sent);
    assert!(store.unrecorded_exports().unwrap().is_empty());
    assert!(temps(&out).is_empty());
    // Its copy elsewhere is known by its bytes.
    let copy = out.join("copy.csv");
    std::fs::copy(&file, &copy).unwrap();
    let e = export_to(&mut store, &job(&copy, Overwrite::Replace), now()).unwrap_err();
    assert!(matches!(e, BacklogError::BatchFile { .. }), "{e:?}");
    // Any other file may be replaced when asked.
    let other = out.join("scratch.csv");
    std::fs::write(&other, b"old").unwrap();
    let done = export_to(&mut store, &job(&other, Overwrite::Replace), now()).unwrap();
    assert_eq!(done.record.request_count, 2);
}

#[test]
fn the_command_line_recovers_before_listing_batches_and_refuses_force_over_a_batch() {
    let (dir, mut store) = temp_store();
    let out = out_folder(dir.path());
    save(&mut store, 1, 3);
    let (staging, _) = interrupted(&mut store, &out, Stop::Placed);
    drop(staging);
    let db = store.path().to_owned();
    drop(store);
    let listed = stopgap(&db, &["batches"]);
    let said = text(&listed.stdout);
    assert!(listed.status.success(), "{said}{}", text(&listed.stderr));
    assert!(said.starts_with("Recovery of interrupted exports:\n  RXX-W07-B000001: recorded after an interrupted export"), "{said}");
    assert!(said.contains("1 batch(es)."), "{said}");

    let file = out.join("stopgap-RXX-W07-B000001-csv.csv");
    let path = file.to_str().unwrap();
    let forced = stopgap(
        &db,
        &[
            "export",
            "--plaintext",
            "--format",
            "csv",
            "--all",
            "--out",
            path,
            "--force",
        ],
    );
    let err = text(&forced.stderr);
    assert!(!forced.status.success());
    assert!(
        err.contains("written by export batch RXX-W07-B000001"),
        "{err}"
    );
}

fn writer_binary() -> PathBuf {
    // target/<profile>/deps/export-<hash>  →  target/<profile>/examples/export_writer
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().unwrap().parent().unwrap();
    let bin = profile_dir
        .join("examples")
        .join(format!("export_writer{}", std::env::consts::EXE_SUFFIX));
    // Always asked for: a stale writer would test the old code (a no-op when up to date).
    let status = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--example", "export_writer"])
        .status()
        .unwrap();
    assert!(
        status.success(),
        "could not build the export_writer example"
    );
    bin
}

#[test]
fn an_export_killed_at_any_moment_leaves_its_batch_recorded_with_its_file_or_neither() {
    let kills: usize = std::env::var("STOPGAP_EXPORT_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    let bin = writer_binary();
    let (dir, mut store) = temp_store();
    let out = out_folder(dir.path());
    let db = store.path().to_owned();
    let mut rng = fastrand::Rng::with_seed(0x0E59_0127);
    let started = Instant::now();
    let (mut printed, mut recovered, mut released, mut temps_removed) = (0, 0, 0, 0);
    for round in 0..kills {
        drop(store);
        let mut child = Command::new(&bin)
            .arg(&db)
            .arg(&out)
            .arg(((round as u64 + 1) * 1_000).to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
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
        // Wait until it has opened the database, then kill it a random moment later.
        assert_eq!(rx.recv_timeout(Duration::from_secs(30)).unwrap(), "READY");
        std::thread::sleep(Duration::from_millis(rng.u64(0..100)));
        child.kill().unwrap();
        child.wait().unwrap();
        reader.join().unwrap();
        let acknowledged: Vec<(String, String)> = rx
            .try_iter()
            .filter_map(|l| {
                let mut p = l.strip_prefix("EXPORTED ")?.split(' ');
                Some((p.next()?.to_owned(), p.next()?.to_owned()))
            })
            .collect();
        printed += acknowledged.len();

        store = Store::open(&db).unwrap();
        let recovery =
            recover_exports(&mut store, "Kill Test", now(), std::slice::from_ref(&out)).unwrap();
        for d in &recovery.done {
            match d {
                Recovered::Adopted { .. } => recovered += 1,
                Recovered::Released { .. } => released += 1,
                Recovered::TempRemoved { .. } => temps_removed += 1,
                other => panic!("round {round}: {other}"),
            }
        }
        check_all_or_nothing(&store, &out, round);
        for (batch_id, sha) in acknowledged {
            let b = store.find_batch(&batch_id).unwrap().unwrap();
            assert_eq!(b.sha256, sha, "round {round}: {batch_id}");
        }
        // The next export works, and leaves everything settled.
        save(&mut store, 50_000 + round as u32 * 2, 1);
        export_to(&mut store, &job(&out, Overwrite::Refuse), now()).unwrap();
        check_all_or_nothing(&store, &out, round);
    }
    assert!(store.verify().unwrap().is_sound());
    eprintln!(
        "export kill test: {kills} kills in {:.1} s; {printed} batches acknowledged, \
         {recovered} recorded by recovery, {released} given back, {temps_removed} temporary \
         files removed; {} batches in all",
        started.elapsed().as_secs_f64(),
        store.batches().unwrap().len()
    );
    assert!(
        printed > 0,
        "no export ever finished: the test exercised nothing"
    );
}

/// Every recorded batch has its file with its SHA-256, every file has a recorded batch, no
/// temporary file is left, no reservation is left, and no request is in two batches.
fn check_all_or_nothing(store: &Store, out: &Path, round: usize) {
    let batches = store.batches().unwrap();
    for b in &batches {
        let bytes = std::fs::read(out.join(&b.file_name))
            .unwrap_or_else(|e| panic!("round {round}: {} has no file: {e}", b.batch_id));
        assert_eq!(
            sha256_hex(&bytes),
            b.sha256,
            "round {round}: {}",
            b.batch_id
        );
    }
    for entry in std::fs::read_dir(out).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            batches.iter().any(|b| b.file_name == name),
            "round {round}: {name} has no recorded batch"
        );
    }
    assert!(temps(out).is_empty(), "round {round}");
    assert!(
        store.unrecorded_exports().unwrap().is_empty(),
        "round {round}"
    );
    let mut seen = std::collections::HashSet::new();
    for b in &batches {
        for s in store.batch_requests(b.number).unwrap() {
            assert!(
                seen.insert(s.request.uuid),
                "round {round}: {} is in two batches",
                s.request.uuid
            );
        }
    }
}
