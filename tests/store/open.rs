//! Opening the database tells the truth: a mistyped path, an empty file, a device, a full disk,
//! a read-only medium and a damaged file are different things, each said as what it is; and the
//! files holding patient data are readable by their owner only.
//!
//! The full-disk and read-only tests need a small filesystem of their own: they mount a tmpfs
//! (root in CI; elsewhere they say they were skipped and pass).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on purpose"
)]

use std::path::Path;

use crate::common::cli::{stopgap, text};
use crate::common::fs::Tmpfs;
#[cfg(unix)]
use crate::common::fs::mode;
use crate::common::{now, request, setup};
use stopgap::store::{QueueFilter, ReadOnlyReason, Store, StoreError};

fn saved_store(path: &Path, n: u32) -> Store {
    let mut store = crate::common::protected_store(path, &setup());
    for i in 1..=n {
        store.save_request(&request(i), "Nurse A", now()).unwrap();
    }
    store
}

#[test]
fn a_mistyped_path_is_refused_and_no_file_is_made() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("stopgp.db");
    assert!(matches!(
        Store::open(&missing),
        Err(StoreError::Missing { .. })
    ));
    for command in [&["list"][..], &["verify"], &["batches"]] {
        let out = stopgap(&missing, command);
        assert_eq!(out.status.code(), Some(2), "{command:?}");
        let err = text(&out.stderr);
        assert!(err.contains("there is no Stopgap database at"), "{err}");
        assert!(err.contains("stopgp.db"), "{err}");
    }
    assert!(
        !missing.exists(),
        "no empty database was made on the mistyped path"
    );
    // The commands that make a database still do.
    let out = stopgap(
        &missing,
        &[
            "setup",
            "--site",
            "RXX",
            "--workstation",
            "W07",
            "--name",
            crate::common::cli::NAME,
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(crate::common::open(&missing).is_ok());
}

#[test]
fn an_empty_file_is_not_a_sound_database() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("stopgap.db");
    std::fs::write(&empty, b"").unwrap();
    assert!(matches!(Store::open(&empty), Err(StoreError::Empty { .. })));
    let out = stopgap(&empty, &["verify"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("is empty (0 bytes)"),
        "{}",
        text(&out.stderr)
    );
    assert!(!text(&out.stdout).contains("Sound"));
    // The first run may make the database in an empty file (e.g. one made by `touch`).
    let store = saved_store(&empty, 1);
    assert_eq!(store.queue_count(&QueueFilter::default()).unwrap(), 1);
}

#[cfg(unix)]
#[test]
fn a_device_is_refused_before_sqlite_makes_files_beside_it() {
    let err = Store::open(Path::new("/dev/null")).err().unwrap();
    assert!(matches!(err, StoreError::NotAFile { .. }), "{err}");
    assert!(matches!(
        Store::open_or_create(Path::new("/dev/null")),
        Err(StoreError::NotAFile { .. })
    ));
    assert!(!Path::new("/dev/null-journal").exists());
    assert!(!Path::new("/dev/null-wal").exists());
    let dir = tempfile::tempdir().unwrap();
    let err = Store::open(dir.path()).err().unwrap();
    assert!(matches!(err, StoreError::NotAFile { .. }), "{err}");
}

#[cfg(unix)]
#[test]
fn patient_data_files_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt as _;

    let tmp = tempfile::tempdir().unwrap();
    let folder = tmp.path().join("new-folder");
    let db = folder.join("stopgap.db");
    let store = saved_store(&db, 2);
    assert_eq!(mode(&folder), 0o700, "a folder the database makes");
    assert_eq!(mode(&db), 0o600);
    let wal = std::path::PathBuf::from(format!("{}-wal", db.display()));
    assert!(
        wal.exists(),
        "the write-ahead log is there while the store is open"
    );
    assert_eq!(mode(&wal), 0o600);

    // An export of the backlog is patient data too.
    let export = tmp.path().join("backlog.csv");
    stopgap::files::write_atomic(&export, stopgap::files::Overwrite::Refuse, |w| {
        std::io::Write::write_all(w, b"x")
    })
    .unwrap();
    assert_eq!(mode(&export), 0o600);
    drop(store);

    // A database left world-readable by an older version is made private when opened.
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    drop(Store::open(&db).unwrap());
    assert_eq!(mode(&db), 0o600);
}

#[test]
fn a_full_disk_is_said_as_such_and_nothing_stored_is_lost() {
    let Some(fs) = Tmpfs::mount("4m", "a_full_disk_is_said_as_such") else {
        return;
    };
    let db = fs.path().join("stopgap.db");
    let mut store = saved_store(&db, 3);
    // Fill what is left of the disk.
    let filler = fs.path().join("filler");
    let mut f = std::fs::File::create(&filler).unwrap();
    let chunk = vec![0u8; 64 * 1024];
    while std::io::Write::write_all(&mut f, &chunk).is_ok() {}
    drop(f);

    let mut refused = None;
    for i in 4..2000 {
        if let Err(e) = store.save_request(&request(i), "Nurse A", now()) {
            refused = Some(e);
            break;
        }
    }
    let refused = refused.expect("a save on a full disk fails");
    assert!(matches!(refused, StoreError::DiskFull), "{refused:?}");
    let said = stopgap::error::error_chain(&refused);
    assert!(said.contains("the disk is full"), "{said}");
    assert!(!said.contains("is damaged"), "{said}");
    let stored = store.queue_count(&QueueFilter::default()).unwrap();
    drop(store);

    std::fs::remove_file(&filler).unwrap();
    let store = Store::open(&db).unwrap();
    assert_eq!(store.queue_count(&QueueFilter::default()).unwrap(), stored);
    assert!(stored >= 3);
    assert!(store.verify().unwrap().is_sound());
}

#[test]
fn a_read_only_medium_opens_for_viewing_and_refuses_changes() {
    let Some(fs) = Tmpfs::mount("8m", "a_read_only_medium_opens_for_viewing") else {
        return;
    };
    let db = fs.path().join("stopgap.db");
    drop(saved_store(&db, 3));
    fs.remount("ro");

    let mut store = Store::open(&db).unwrap();
    assert_eq!(store.read_only(), Some(ReadOnlyReason::Medium));
    assert_eq!(store.queue_count(&QueueFilter::default()).unwrap(), 3);
    assert!(store.verify().unwrap().is_sound());
    let refused = store
        .save_request(&request(9), "Nurse A", now())
        .err()
        .unwrap();
    assert!(
        matches!(refused, StoreError::ReadOnly(ReadOnlyReason::Medium)),
        "{refused:?}"
    );
    let said = stopgap::error::error_chain(&refused);
    assert!(said.contains("can only be read"), "{said}");
    assert!(!said.contains("is damaged"), "{said}");

    // The CLI lists it too, and says a change cannot be made, without calling it damaged.
    let out = stopgap(&db, &["list"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = stopgap(&db, &["demo", "--count", "1"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("can only be read") && !err.contains("damaged"),
        "{err}"
    );
    fs.remount("rw");
}
