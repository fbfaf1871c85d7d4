//! Encryption at rest, key slots, the four open errors, roles and the emergency session, on real
//! files: what a thief of the PC or of a copied file would find.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on purpose"
)]

use std::path::{Path, PathBuf};

use stopgap::domain::access::{Permission, Principal, Role};
use stopgap::domain::status::Transition;
use stopgap::store::{
    AccountError, KdfParams, KeyError, NewAccount, QueueFilter, SortColumn, SortOrder, Store,
    StoreError, keys,
};

use crate::common::{self, now, request, setup};

const PASSWORD: &str = "copper kettle under moss";
const FAST: KdfParams = KdfParams::FAST_FOR_TESTS;

fn manager() -> NewAccount {
    NewAccount::checked("M0001", "Mina Manager", Role::Manager, PASSWORD).unwrap()
}

fn protected(dir: &Path) -> (PathBuf, Store, String) {
    let path = dir.join("stopgap.db");
    let (mut store, code) =
        Store::create_protected(&path, &manager(), PASSWORD, FAST, now()).unwrap();
    store.configure(&setup()).unwrap();
    (path, store, code.display().to_string())
}

/// Every file of the database and its backups, read raw.
fn raw_files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in walk(dir) {
        out.push((entry.clone(), std::fs::read(&entry).unwrap()));
    }
    out
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// The error of an open that must fail.
fn refused(opened: Result<Store, StoreError>) -> StoreError {
    match opened {
        Ok(_) => panic!("the database opened"),
        Err(e) => e,
    }
}

/// Forgets the key this test process holds, as a new process (or a thief) would start.
fn forget(path: &Path) {
    keys::forget(path);
}

#[test]
fn no_patient_surname_or_nhs_number_is_readable_in_the_database_wal_or_backup() {
    let dir = tempfile::tempdir().unwrap();
    let (path, mut store, _) = protected(dir.path());
    let r = request(1);
    let surname = r.patient.surname.clone();
    let nhs = r.patient.nhs_number.as_ref().unwrap().digits().to_owned();
    let who = store.principal().unwrap().recorded_name();
    store.save_request(&r, &who, now()).unwrap();
    // The WAL holds the save before any checkpoint: it is read too.
    assert!(std::fs::metadata(path.with_extension("db-wal")).is_ok_and(|m| m.len() > 0));
    let backups = dir.path().join("backups");
    std::fs::create_dir(&backups).unwrap();
    store.backup_to(&backups, now()).unwrap();
    let files = raw_files(dir.path());
    assert!(
        files.len() >= 4,
        "db, wal, keys, backup: {:?}",
        files.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    for (file, bytes) in &files {
        assert!(
            !contains(bytes, &surname),
            "{} holds the surname",
            file.display()
        );
        assert!(
            !contains(bytes, &nhs),
            "{} holds the NHS number",
            file.display()
        );
    }
}

#[test]
fn the_four_open_failures_are_four_different_messages() {
    let dir = tempfile::tempdir().unwrap();
    let (path, store, _) = protected(dir.path());
    drop(store);
    forget(&path);

    let wrong = refused(Store::unlock(
        &path,
        "M0001",
        "not the password at all",
        now(),
    ));
    assert!(
        matches!(wrong, StoreError::Key(KeyError::WrongPassword { .. })),
        "{wrong}"
    );
    let unknown = refused(Store::unlock(&path, "Z9999", PASSWORD, now()));
    assert!(
        matches!(unknown, StoreError::Key(KeyError::UnknownUser { .. })),
        "{unknown}"
    );
    assert!(matches!(Store::open(&path), Err(StoreError::Locked { .. })));

    let keys_file = keys::key_file_path(&path);
    let saved_keys = std::fs::read(&keys_file).unwrap();
    std::fs::rename(&keys_file, dir.path().join("aside.keys")).unwrap();
    let missing = refused(Store::unlock(&path, "M0001", PASSWORD, now()));
    assert!(
        matches!(missing, StoreError::Key(KeyError::MissingKeyFile { .. })),
        "{missing}"
    );
    std::fs::write(&keys_file, &saved_keys).unwrap();

    // One byte of the first page changed: its HMAC no longer matches.
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[100] ^= 0x55;
    std::fs::write(&path, &bytes).unwrap();
    let tampered = refused(Store::unlock(&path, "M0001", PASSWORD, now()));
    assert!(
        matches!(tampered, StoreError::Undecryptable { .. }),
        "{tampered}"
    );

    let messages: Vec<String> = [wrong, unknown, missing, tampered]
        .iter()
        .map(|e| e.to_string())
        .collect();
    for (i, a) in messages.iter().enumerate() {
        for b in &messages[i + 1..] {
            assert_ne!(a, b);
        }
    }
    assert!(messages[0].contains("wrong password"));
    assert!(messages[1].contains("no account Z9999"));
    assert!(messages[2].contains(".keys"));
    assert!(messages[3].contains("damaged or was altered"));
}

#[test]
fn a_damaged_key_file_is_said_damaged_not_a_wrong_password() {
    let dir = tempfile::tempdir().unwrap();
    let (path, store, _) = protected(dir.path());
    drop(store);
    forget(&path);
    std::fs::write(keys::key_file_path(&path), b"{\"format\":1,\"slots\":[").unwrap();
    let e = refused(Store::unlock(&path, "M0001", PASSWORD, now()));
    assert!(
        matches!(e, StoreError::Key(KeyError::Damaged { .. })),
        "{e}"
    );
}

#[test]
fn key_slots_added_user_opens_recovery_code_opens_removed_user_cannot() {
    let dir = tempfile::tempdir().unwrap();
    let (path, mut store, code) = protected(dir.path());
    let nurse =
        NewAccount::checked("N1001", "Nia Nurse", Role::Ward, "violet harbour lantern").unwrap();
    store
        .add_account(&nurse, "violet harbour lantern", FAST, now())
        .unwrap();
    drop(store);
    forget(&path);

    let as_nurse = Store::unlock(&path, "n1001", "violet harbour lantern", now()).unwrap();
    assert_eq!(as_nurse.principal().unwrap().role(), Some(Role::Ward));
    drop(as_nurse);
    forget(&path);

    let mut recovered = Store::unlock_with_recovery(&path, &code.to_lowercase()).unwrap();
    recovered.remove_account("N1001", now()).unwrap();
    drop(recovered);
    forget(&path);

    let removed = refused(Store::unlock(
        &path,
        "N1001",
        "violet harbour lantern",
        now(),
    ));
    assert!(
        matches!(removed, StoreError::Key(KeyError::Removed { .. })),
        "{removed}"
    );
    assert!(Store::unlock(&path, "M0001", PASSWORD, now()).is_ok());
}

#[test]
fn five_wrong_passwords_lock_the_account_for_a_minute() {
    let dir = tempfile::tempdir().unwrap();
    let (path, store, _) = protected(dir.path());
    drop(store);
    forget(&path);
    for _ in 0..5 {
        assert!(Store::unlock(&path, "M0001", "wrong wrong wrong", now()).is_err());
    }
    let locked = refused(Store::unlock(&path, "M0001", PASSWORD, now()));
    assert!(
        matches!(locked, StoreError::AccountLocked { seconds: 60, .. }),
        "{locked}"
    );
    let later = now() + chrono::Duration::seconds(61);
    assert!(Store::unlock(&path, "M0001", PASSWORD, later).is_ok());
}

#[test]
fn a_ward_account_is_refused_export_reconcile_and_lab_work_by_the_library() {
    let (_dir, mut store) = common::temp_store();
    let who = "Nia Nurse (N1001)";
    let saved = store.save_request(&request(2), who, now()).unwrap();
    let uuid = store
        .find_by_downtime_id(&saved.downtime_id)
        .unwrap()
        .unwrap()
        .state
        .request
        .uuid;
    store.act_as(Principal::Account {
        staff_id: "N1001".into(),
        name: "Nia Nurse".into(),
        role: Role::Ward,
    });
    let export = store
        .export_snapshot::<StoreError>(&Default::default(), |_, _| Ok(()))
        .unwrap_err();
    assert!(
        matches!(&export, StoreError::Refused(r) if r.what == Permission::Export.words()),
        "{export}"
    );
    assert!(matches!(
        store.change_status(uuid, &Transition::Received, who, now()),
        Err(StoreError::Refused(_))
    ));
    assert!(store.close_out().is_err());
    // What a ward may do, it does.
    store
        .change_status(
            uuid,
            &Transition::Cancelled {
                reason: "duplicate form".into(),
            },
            who,
            now(),
        )
        .unwrap();
}

#[test]
fn an_emergency_session_creates_requests_but_sees_no_queue_or_other_patient() {
    let (_dir, mut store) = common::temp_store();
    store.save_request(&request(3), "Someone", now()).unwrap();
    let e = store
        .start_emergency("agency-77", "Ola Agency", now())
        .unwrap();
    let saved = store
        .save_request(&request(4), &e.recorded_name(), now())
        .unwrap();
    assert!(!saved.already_saved);
    let queue = store.queue_page(
        &QueueFilter::default(),
        SortColumn::Collected,
        SortOrder::Descending,
        0,
        10,
    );
    assert!(matches!(queue, Err(StoreError::Refused(_))));
    assert!(matches!(
        store.find_by_downtime_id(&saved.downtime_id),
        Err(StoreError::Refused(_))
    ));
    assert!(matches!(
        store.start_emergency("x", "Ola", now()),
        Err(StoreError::Account(AccountError::BadStaffId(_)))
    ));
    store.sign_out();
    assert!(matches!(
        store.save_request(&request(5), "x", now()),
        Err(StoreError::SignedOut)
    ));
}

#[test]
fn a_plain_database_is_encrypted_in_place_with_nothing_lost() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stopgap.db");
    {
        // An older Stopgap's file: plain SQLite, made without a key.
        let mut conn = rusqlite::Connection::open(&path).unwrap();
        stopgap::store::schema::migrate_to(&mut conn, 10).unwrap();
    }
    let mut plain = Store::open(&path).unwrap();
    plain.configure(&setup()).unwrap();
    let r = request(6);
    let surname = r.patient.surname.clone();
    let saved = plain.save_request(&r, "Old User", now()).unwrap();
    drop(plain);
    assert!(
        contains(&std::fs::read(&path).unwrap(), &surname)
            || contains(
                &std::fs::read(path.with_extension("db-wal")).unwrap_or_default(),
                &surname
            ),
        "the control: a plain file shows the surname"
    );

    let (store, code, report) =
        Store::encrypt_in_place(&path, &manager(), PASSWORD, FAST, now()).unwrap();
    assert!(
        report.rows.iter().any(|(t, n)| t == "requests" && *n == 1),
        "{:?}",
        report.rows
    );
    assert!(!code.display().is_empty());
    let found = store
        .find_by_downtime_id(&saved.downtime_id)
        .unwrap()
        .unwrap();
    assert_eq!(found.state.request.patient.surname, surname);
    drop(store);
    forget(&path);
    for (file, bytes) in raw_files(dir.path()) {
        assert!(
            !contains(&bytes, &surname),
            "{} holds the surname",
            file.display()
        );
    }
    let leftovers: Vec<_> = walk(dir.path())
        .into_iter()
        .filter(|p| {
            p.to_string_lossy().contains("plaintext") || p.to_string_lossy().contains("encrypting")
        })
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let again = Store::unlock(&path, "M0001", PASSWORD, now()).unwrap();
    assert!(
        again
            .find_by_downtime_id(&saved.downtime_id)
            .unwrap()
            .is_some()
    );
    assert!(again.verify().unwrap().problems.is_empty());
}
