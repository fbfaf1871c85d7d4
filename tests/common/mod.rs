//! Helpers shared by the integration tests: synthetic patients only (NHS numbers from the 999
//! test range).
#![allow(dead_code, reason = "each test binary uses a different subset")]
#![allow(clippy::unwrap_used, reason = "a test fails loudly on purpose")]

use chrono::{DateTime, TimeZone, Utc};
use stopgap::domain::access::Role;
use stopgap::domain::catalogue::Catalogue;
use stopgap::domain::downtime_id::Code3;
use stopgap::domain::nhs_number::NhsNumber;
use stopgap::domain::request::{NewRequest, Priority, RequestDraft, Sex};
use stopgap::domain::ward::Ward;
use stopgap::store::{KdfParams, NewAccount, Setup, Store};
use uuid::Uuid;

pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 4, 10, 30, 0).unwrap()
}

pub fn setup() -> Setup {
    Setup {
        site: Code3::site("RXX").unwrap(),
        workstation: Code3::workstation("W07").unwrap(),
        // One ward with a code set up, one with the code derived from its name.
        wards: vec![
            Ward::new("W7", "Ward 7").unwrap(),
            Ward::named("AMU").unwrap(),
        ],
    }
}

/// The test manager ([`cli::USER`], [`cli::PASSWORD`]): the account every test database is made
/// with, so the `stopgap` binary (run by [`cli::stopgap`]) opens it as it opens a user's.
pub fn test_manager() -> NewAccount {
    NewAccount::checked(cli::USER, cli::NAME, Role::Manager, cli::PASSWORD).unwrap()
}

/// A new encrypted database at `path` made as `setup` makes one, with the test manager signed in
/// (key slots at the test-only low cost, so this stays fast), set up as `setup`.
pub fn protected_store(path: &std::path::Path, setup: &Setup) -> Store {
    let (mut store, _code) = Store::create_protected(
        path,
        &test_manager(),
        cli::PASSWORD,
        KdfParams::FAST_FOR_TESTS,
        now(),
    )
    .unwrap();
    store.configure(setup).unwrap();
    store
}

/// A new store in a temporary directory, set up as RXX/W07.
pub fn temp_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = protected_store(&dir.path().join("stopgap.db"), &setup());
    (dir, store)
}

/// A new store in `dir` set up as RXX/`workstation` (a file of its own even when two PCs share
/// a workstation code, as two mis-set-up PCs would).
pub fn pc(dir: &std::path::Path, workstation: &str) -> Store {
    let path = dir.join(format!("{workstation}-{}.db", Uuid::new_v4().simple()));
    protected_store(
        &path,
        &Setup {
            workstation: Code3::workstation(workstation).unwrap(),
            ..setup()
        },
    )
}

/// Opens a database the `stopgap` binary made (this process does not hold its key yet), signed
/// in as the test manager.
pub fn unlock(path: &std::path::Path) -> Store {
    Store::unlock(path, cli::USER, cli::PASSWORD, now()).unwrap()
}

/// A raw SQLite connection to the database at `path` (an attacker with the key, or a damaged
/// disk, played by raw SQL), with the key: the one this process holds, or else the test
/// manager's sign-in gets it (a database the `stopgap` binary made).
pub fn raw(path: &std::path::Path) -> rusqlite::Connection {
    hold_key(path);
    stopgap::store::raw_connection(path).unwrap()
}

/// `Store::open` of a database the `stopgap` binary may have made: the test manager signs in
/// first when this process does not hold its key.
pub fn open(path: &std::path::Path) -> Result<Store, stopgap::store::StoreError> {
    hold_key(path);
    Store::open(path)
}

/// Opens `copy` (a backup of the database at `db`, or the file a restore set aside), which is
/// encrypted with `db`'s key: this process is told the key is the same.
pub fn open_copy(db: &std::path::Path, copy: &std::path::Path) -> Store {
    keyed_like(db, copy);
    Store::open(copy).unwrap()
}

/// Makes a new file at `path` take the key of the database at `db` when it is made (as a backup
/// of `db` would have): for files a restore of `db` must be able to read.
pub fn keyed_like(db: &std::path::Path, path: &std::path::Path) {
    hold_key(db);
    let key = stopgap::store::keys::remembered(db).unwrap();
    stopgap::store::keys::remember(path, key);
}

/// Makes this process hold the key of the encrypted database at `path` (the test manager's
/// sign-in), as a process that made it does.
fn hold_key(path: &std::path::Path) {
    if stopgap::store::keys::remembered(path).is_none()
        && stopgap::store::file_kind(path).unwrap() == stopgap::store::FileKind::Encrypted
    {
        drop(unlock(path));
    }
}

/// A valid draft for synthetic patient number `n`.
pub fn draft(n: u32) -> RequestDraft {
    // Serials without a valid check digit take the next number: the name follows the number
    // used, so two patients never share an NHS number (the store refuses that).
    let (serial, nhs) = (n..)
        .find_map(|s| NhsNumber::test_number(s).map(|nhs| (s, nhs)))
        .unwrap();
    RequestDraft {
        uuid: Uuid::new_v4(),
        nhs_number: nhs.to_string(),
        surname: format!("Testpatient{}", char::from(b'a' + (serial % 26) as u8)),
        forename: "Alice".into(),
        dob: "01/01/1980".into(),
        sex: Sex::Female,
        ward: "Ward 7".into(),
        consultant: "Dr Example".into(),
        requester: "Dr Jones".into(),
        requester_contact: "Bleep 1234".into(),
        priority: Some(Priority::Urgent),
        tests: vec!["FBC".into(), "UE".into()],
        collected_date: "04/06/2026".into(),
        collected_time: "10:20".into(),
        collected_by: "Nurse Bloggs".into(),
        ..RequestDraft::default()
    }
}

pub fn request(n: u32) -> NewRequest {
    draft(n)
        .validate(now(), &Utc, &Catalogue::default_uk().unwrap())
        .unwrap()
}

pub mod cli;
pub mod fs;
pub mod golden;
pub mod ui;
