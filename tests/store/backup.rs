//! Backups and restore: checked copies in a second folder, pruned to the newest K, and a
//! restore that refuses bad files and a database another process is using.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on purpose"
)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use chrono::{Duration, TimeZone, Utc};
use stopgap::domain::downtime_id::Code3;
use stopgap::store::{BackupError, BackupSettings, QueueFilter, Store, StoreError};

use crate::common::cli::{stopgap, text};
use crate::common::fs::Tmpfs;
#[cfg(unix)]
use crate::common::fs::mode;
use crate::common::{now, request, setup};

fn count(store: &Store) -> u64 {
    store.queue_count(&QueueFilter::default()).unwrap()
}

/// A set-up database at `dir/stopgap.db` with `n` requests, its key held by this process only.
fn store_with(dir: &Path, n: u32) -> Store {
    let mut store = Store::open_or_create(&dir.join("stopgap.db")).unwrap();
    store.configure(&setup()).unwrap();
    add_requests(store, n)
}

/// [`store_with`] made as `stopgap setup` makes a database, so another process (the command
/// line, the crash writer) signs in to it as the test manager.
fn protected_with(dir: &Path, n: u32) -> Store {
    add_requests(
        crate::common::protected_store(&dir.join("stopgap.db"), &setup()),
        n,
    )
}

fn add_requests(mut store: Store, n: u32) -> Store {
    for i in 0..n {
        store
            .save_request(&request(i + 1), "Nurse A", now())
            .unwrap();
    }
    store
}

fn files_in(folder: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(folder)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn bytes_of(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

#[test]
fn a_backup_is_checked_private_named_for_the_workstation_and_pruned_to_the_newest_k() {
    let dir = tempfile::tempdir().unwrap();
    let usb = tempfile::tempdir().unwrap();
    let mut store = store_with(dir.path(), 3);
    assert_eq!(store.last_backup().unwrap(), None);
    // Someone else's file in the folder is never pruned.
    std::fs::write(usb.path().join("stopgap-RXX-W08-20260101T000000.db"), b"x").unwrap();
    store
        .set_backup_settings(
            &BackupSettings {
                folder: Some(usb.path().to_owned()),
                interval_minutes: 10,
                keep: 3,
            },
            "Nurse A",
            now(),
        )
        .unwrap();

    let mut made = Vec::new();
    for i in 0..5 {
        made.push(
            store
                .backup_to(usb.path(), now() + Duration::minutes(10 * i))
                .unwrap(),
        );
    }
    let first = &made[0];
    assert_eq!(
        first.path.file_name().unwrap().to_string_lossy(),
        "stopgap-RXX-W07-20260604T103000.db"
    );
    assert_eq!(first.requests, 3);
    #[cfg(unix)]
    assert_eq!(mode(&made[4].path), 0o600);
    assert_eq!(
        files_in(usb.path()),
        [
            "stopgap-RXX-W07-20260604T105000.db",
            "stopgap-RXX-W07-20260604T110000.db",
            "stopgap-RXX-W07-20260604T111000.db",
            "stopgap-RXX-W08-20260101T000000.db",
        ],
        "the newest 3 of ours are kept, no temporary file is left, and no -wal beside them"
    );
    let last = store.last_backup().unwrap().unwrap();
    assert_eq!(last.path, made[4].path);
    assert_eq!(last.at, now() + Duration::minutes(40));
    assert_eq!(
        store.backups().unwrap().len(),
        5,
        "records stay after pruning"
    );

    let copy = crate::common::open_copy(store.path(), &made[4].path);
    assert_eq!(count(&copy), 3);
    assert!(copy.verify().unwrap().is_sound());
}

#[test]
fn a_backup_taken_while_another_handle_saves_is_a_sound_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let usb = tempfile::tempdir().unwrap();
    let mut store = store_with(dir.path(), 1);
    let db = dir.path().join("stopgap.db");
    let writer = std::thread::spawn(move || {
        let mut other = Store::open(&db).unwrap();
        for i in 100..400 {
            other.save_request(&request(i), "Nurse B", now()).unwrap();
        }
    });
    let mut seen = Vec::new();
    for i in 0..6 {
        let made = store
            .backup_to(usb.path(), now() + Duration::seconds(i))
            .unwrap();
        let copy = crate::common::open_copy(store.path(), &made.path);
        assert_eq!(count(&copy), made.requests);
        assert!(copy.verify().unwrap().is_sound(), "backup {i}");
        seen.push(made.requests);
    }
    writer.join().unwrap();
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");
}

#[test]
fn a_missing_or_unusable_backup_folder_is_said_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = store_with(dir.path(), 1);
    let missing = dir.path().join("no-stick");
    let e = store.backup_to(&missing, now()).unwrap_err();
    assert!(
        matches!(e, StoreError::Backup(BackupError::FolderMissing { .. })),
        "{e:?}"
    );
    let e = store.backup_to(dir.path(), now()).unwrap_err();
    assert!(
        matches!(e, StoreError::Backup(BackupError::SameFolder { .. })),
        "{e:?}"
    );

    let Some(stick) = Tmpfs::mount("128k", "a_full_backup_folder") else {
        return;
    };
    for i in 2..60 {
        store.save_request(&request(i), "Nurse A", now()).unwrap();
    }
    let e = store.backup_to(stick.path(), now()).unwrap_err();
    let said = stopgap::error::error_chain(&e);
    assert!(
        matches!(e, StoreError::Backup(BackupError::FolderFull { .. })),
        "{said}"
    );
    assert!(
        files_in(stick.path()).is_empty(),
        "nothing half-made is left"
    );
    stick.remount("ro");
    let e = store.backup_to(stick.path(), now()).unwrap_err();
    assert!(
        matches!(e, StoreError::Backup(BackupError::FolderReadOnly { .. })),
        "{e:?}"
    );
    assert!(store.verify().unwrap().is_sound());
}

#[test]
fn a_restore_puts_the_backup_back_and_keeps_the_current_database_aside() {
    let dir = tempfile::tempdir().unwrap();
    let usb = tempfile::tempdir().unwrap();
    let mut store = store_with(dir.path(), 3);
    let made = store.backup_to(usb.path(), now()).unwrap();
    for i in 10..12 {
        store.save_request(&request(i), "Nurse A", now()).unwrap();
    }
    drop(store);
    let db = dir.path().join("stopgap.db");
    let later = now() + Duration::hours(1);

    let restored = Store::restore(&db, &made.path, false, later).unwrap();
    assert_eq!(restored.requests, 3);
    assert_eq!(restored.workstation, "RXX/W07");
    let store = Store::open(&db).unwrap();
    assert_eq!(count(&store), 3);
    assert!(store.verify().unwrap().is_sound());
    drop(store);

    let aside = restored.aside.unwrap();
    assert_eq!(
        aside.file_name().unwrap().to_string_lossy(),
        "stopgap.db.before-restore-20260604T113000"
    );
    #[cfg(unix)]
    assert_eq!(mode(&aside), 0o600);
    let before = crate::common::open_copy(&db, &aside);
    assert_eq!(count(&before), 5, "the database as it was, with its log");
}

#[test]
fn a_restore_refuses_a_bad_file_and_leaves_the_current_database_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let other = tempfile::tempdir().unwrap();
    let db = dir.path().join("stopgap.db");
    let store = store_with(dir.path(), 2);
    drop(store);
    let original = bytes_of(&db);

    let junk = other.path().join("junk.db");
    std::fs::write(&junk, vec![b'x'; 8192]).unwrap();
    let empty = other.path().join("empty.db");
    std::fs::write(&empty, b"").unwrap();
    // A SQLite file that is not Stopgap's (with the database's key, as a backup would be).
    let plain = other.path().join("plain.db");
    crate::common::keyed_like(&db, &plain);
    crate::common::raw(&plain)
        .execute_batch("CREATE TABLE t(x); INSERT INTO t VALUES (1);")
        .unwrap();
    // The other candidates are encrypted with the database's key, as its backups are: what
    // refuses them is what they hold.
    let newer = other.path().join("newer.db");
    crate::common::keyed_like(&db, &newer);
    drop(add_requests(
        {
            let mut s = Store::open_or_create(&newer).unwrap();
            s.configure(&setup()).unwrap();
            s
        },
        1,
    ));
    crate::common::raw(&newer)
        .pragma_update(None, "user_version", 999)
        .unwrap();
    let elsewhere = other.path().join("elsewhere.db");
    crate::common::keyed_like(&db, &elsewhere);
    {
        let mut s = Store::open_or_create(&elsewhere).unwrap();
        s.configure(&stopgap::store::Setup {
            workstation: Code3::workstation("W99").unwrap(),
            ..setup()
        })
        .unwrap();
    }
    let damaged = other.path().join("damaged.db");
    crate::common::keyed_like(&db, &damaged);
    {
        let mut s = Store::open_or_create(&damaged).unwrap();
        s.configure(&setup()).unwrap();
        for i in 0..40 {
            s.save_request(&request(i + 1), "Nurse A", now()).unwrap();
        }
    }
    crate::common::raw(&damaged)
        .execute_batch("PRAGMA journal_mode=DELETE")
        .unwrap();
    let mut bytes = bytes_of(&damaged);
    // Page 3 onwards overwritten: the header is intact, the tree is not.
    for b in &mut bytes[2 * 4096..4 * 4096] {
        *b = 0x5a;
    }
    std::fs::write(&damaged, &bytes).unwrap();

    let cases: [(&Path, Expected); 6] = [
        (&junk, |e| matches!(e, BackupError::NotSqlite { .. })),
        (&empty, |e| matches!(e, BackupError::NotSqlite { .. })),
        (&plain, |e| matches!(e, BackupError::NotStopgap { .. })),
        (&newer, |e| matches!(e, BackupError::Newer { .. })),
        (&elsewhere, |e| {
            matches!(e, BackupError::OtherWorkstation { .. })
        }),
        (&damaged, |e| matches!(e, BackupError::Damaged { .. })),
    ];
    for (file, expected) in cases {
        let e = Store::restore(&db, file, false, now()).unwrap_err();
        match &e {
            StoreError::Backup(b) if expected(b) => {}
            other => panic!("{}: {other:?}", file.display()),
        }
        assert_eq!(bytes_of(&db), original, "{}", file.display());
        assert_eq!(
            files_in(dir.path()),
            ["stopgap.db"],
            "nothing set aside or left behind for {}",
            file.display()
        );
    }
    // Another workstation's backup only when asked for.
    let restored = Store::restore(&db, &elsewhere, true, now()).unwrap();
    assert_eq!(restored.workstation, "RXX/W99");
}

/// Whether a refusal is the one a case expects.
type Expected = fn(&BackupError) -> bool;

#[test]
fn a_restore_is_refused_while_another_process_writes_and_loses_none_of_its_saves() {
    let dir = tempfile::tempdir().unwrap();
    let usb = tempfile::tempdir().unwrap();
    let db = dir.path().join("stopgap.db");
    let mut store = protected_with(dir.path(), 2);
    let made = store.backup_to(usb.path(), now()).unwrap();
    drop(store);

    let mut child = Command::new(super::crash::writer_binary())
        .arg(&db)
        .arg("7000000")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut saved = 0u64;
    for line in lines.by_ref() {
        if line.unwrap().starts_with("SAVED") {
            saved += 1;
            if saved == 20 {
                break;
            }
        }
    }
    let mut refusals = 0;
    for _ in 0..5 {
        let e = Store::restore(&db, &made.path, false, now()).unwrap_err();
        assert!(
            matches!(e, StoreError::Backup(BackupError::InUse { .. })),
            "{e:?}"
        );
        refusals += 1;
    }
    for line in lines.by_ref() {
        if line.unwrap().starts_with("SAVED") {
            saved += 1;
            if saved == 60 {
                break;
            }
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(refusals, 5);
    let store = Store::open(&db).unwrap();
    assert!(
        count(&store) >= 2 + saved,
        "every save acknowledged during the refused restores is there"
    );
    assert!(store.verify().unwrap().is_sound());
    drop(store);
    assert_eq!(
        files_in(dir.path())
            .iter()
            .filter(|n| n.contains("before-restore"))
            .count(),
        0
    );

    // With the writer gone, the same restore goes ahead.
    let restored = Store::restore(&db, &made.path, false, now()).unwrap();
    assert_eq!(restored.requests, 2);
    assert_eq!(count(&Store::open(&db).unwrap()), 2);
}

#[test]
fn the_backup_commands_say_what_they_did() {
    let dir = tempfile::tempdir().unwrap();
    let usb = tempfile::tempdir().unwrap();
    let db = dir.path().join("stopgap.db");
    drop(protected_with(dir.path(), 2));

    let out = stopgap(&db, &["backup"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("no backup folder is set"),
        "{}",
        text(&out.stderr)
    );

    let out = stopgap(&db, &["backup", "--to", usb.path().to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(said.starts_with("Backup made and checked: "), "{said}");
    assert!(said.contains("(2 requests, "), "{said}");
    let file = usb.path().join(&files_in(usb.path())[0]);

    let out = stopgap(&db, &["backups"]);
    let said = text(&out.stdout);
    assert!(said.contains("No backup folder is set"), "{said}");
    assert!(said.contains(&file.display().to_string()), "{said}");

    let out = stopgap(&db, &["restore", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(said.contains("2 requests of workstation RXX/W07"), "{said}");
    assert!(said.contains(".before-restore-"), "{said}");

    let junk = usb.path().join("junk.db");
    std::fs::write(&junk, b"not a database at all, honestly").unwrap();
    let out = stopgap(&db, &["restore", junk.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("is not a SQLite database"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn backup_times_in_names_are_utc() {
    let t = Utc.with_ymd_and_hms(2026, 12, 31, 23, 59, 58).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let usb = tempfile::tempdir().unwrap();
    let made = store_with(dir.path(), 0).backup_to(usb.path(), t).unwrap();
    assert!(made.path.ends_with("stopgap-RXX-W07-20261231T235958.db"));
}
