//! Helpers shared by the integration tests: synthetic patients only (NHS numbers from the 999
//! test range).
#![allow(dead_code, reason = "each test binary uses a different subset")]
#![allow(clippy::unwrap_used, reason = "a test fails loudly on purpose")]

use chrono::{DateTime, TimeZone, Utc};
use stopgap::domain::catalogue::Catalogue;
use stopgap::domain::downtime_id::Code3;
use stopgap::domain::nhs_number::NhsNumber;
use stopgap::domain::request::{NewRequest, Priority, RequestDraft, Sex};
use stopgap::domain::ward::Ward;
use stopgap::store::{Setup, Store};
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

/// A new store in a temporary directory, set up as RXX/W07.
pub fn temp_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open_or_create(&dir.path().join("stopgap.db")).unwrap();
    store.configure(&setup()).unwrap();
    (dir, store)
}

/// A new store in `dir` set up as RXX/`workstation` (a file of its own even when two PCs share
/// a workstation code, as two mis-set-up PCs would).
pub fn pc(dir: &std::path::Path, workstation: &str) -> Store {
    let path = dir.join(format!("{workstation}-{}.db", Uuid::new_v4().simple()));
    let mut store = Store::open_or_create(&path).unwrap();
    store
        .configure(&Setup {
            workstation: Code3::workstation(workstation).unwrap(),
            ..setup()
        })
        .unwrap();
    store
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
