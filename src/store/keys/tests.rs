//! Key slots: seal, open, recover, remove, read back.

use super::*;

fn file() -> (tempfile::TempDir, KeyFile, DbKey) {
    let dir = tempfile::tempdir().unwrap();
    let mut kf = KeyFile::new(&dir.path().join("s.db"));
    let key = DbKey::random().unwrap();
    kf.set_account(
        "N1001",
        "correct horse battery",
        &key,
        KdfParams::FAST_FOR_TESTS,
        0,
        false,
    )
    .unwrap();
    (dir, kf, key)
}

#[test]
fn a_slot_opens_only_with_its_password_and_gives_the_key() {
    let (_d, kf, key) = file();
    let got = kf.unlock("N1001", "correct horse battery").unwrap();
    assert_eq!(got.0.as_slice(), key.0.as_slice());
    assert!(matches!(
        kf.unlock("N1001", "correct horse batterx"),
        Err(KeyError::WrongPassword { .. })
    ));
    assert!(matches!(
        kf.unlock("N9999", "x"),
        Err(KeyError::UnknownUser { .. })
    ));
}

#[test]
fn a_slot_copied_under_another_staff_id_does_not_open() {
    let (_d, mut kf, _key) = file();
    let mut stolen = kf.json.slots[0].clone();
    stolen.owner = SlotOwner::Account {
        staff_id: "M0001".into(),
    };
    kf.json.slots.push(stolen);
    assert!(matches!(
        kf.unlock("M0001", "correct horse battery"),
        Err(KeyError::WrongPassword { .. })
    ));
}

#[test]
fn the_recovery_code_opens_as_typed_in_any_case_and_grouping() {
    let (_d, mut kf, key) = file();
    let code = kf.new_recovery(&key, KdfParams::FAST_FOR_TESTS, 0).unwrap();
    let shown = code.display().to_string();
    assert_eq!(shown.len(), 32 + 7);
    let typed = shown.to_lowercase().replace('-', " ");
    assert_eq!(
        kf.unlock_with_recovery(&typed).unwrap().0.as_slice(),
        key.0.as_slice()
    );
    assert!(matches!(
        kf.unlock_with_recovery("0000-0000"),
        Err(KeyError::WrongRecoveryCode)
    ));
}

#[test]
fn a_removed_account_is_told_so_and_its_password_no_longer_opens() {
    let (_d, mut kf, _key) = file();
    assert!(kf.remove_account("N1001", 5));
    assert!(matches!(
        kf.unlock("N1001", "correct horse battery"),
        Err(KeyError::Removed { .. })
    ));
}

#[test]
fn a_saved_key_file_reads_back_and_a_damaged_one_is_said_damaged() {
    let (dir, kf, key) = file();
    kf.save().unwrap();
    let db = dir.path().join("s.db");
    let back = KeyFile::read(&db).unwrap();
    assert_eq!(
        back.unlock("N1001", "correct horse battery")
            .unwrap()
            .0
            .as_slice(),
        key.0.as_slice()
    );
    std::fs::write(key_file_path(&db), b"{ not json").unwrap();
    assert!(matches!(KeyFile::read(&db), Err(KeyError::Damaged { .. })));
    std::fs::remove_file(key_file_path(&db)).unwrap();
    assert!(matches!(
        KeyFile::read(&db),
        Err(KeyError::MissingKeyFile { .. })
    ));
}
