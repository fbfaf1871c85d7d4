#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on purpose"
)]
//! The FHIR export pinned byte for byte: a fixed set of requests (fixed clock, fixed UUIDs,
//! every status, an A&E patient, one patient on two requests, a transfusion sample, awkward
//! text) is exported and compared with `tests/golden/fhir/bundle.json`.
//!
//! A change of the writer that changes the bytes must be deliberate: look at the difference,
//! then regenerate the file with `STOPGAP_BLESS=1 cargo test --test export golden` and commit it
//! with the change. A re-run of a batch made before the change no longer matches its SHA-256.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use stopgap::domain::catalogue::{Catalogue, RequestedTest};
use stopgap::domain::downtime_id::{Code3, DowntimeId};
use stopgap::domain::event::{Actor, RequestState};
use stopgap::domain::nhs_number::NhsNumber;
use stopgap::domain::request::{NewRequest, Patient, Priority, Sex};
use stopgap::domain::status::Status;
use stopgap::export::check_fhir::check_fhir;
use stopgap::export::{CsvOptions, ExportContext, Format, Profile, write_export};
use uuid::Uuid;

fn t(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 4, h, m, 0).unwrap()
}

fn patient(n: u32, surname: &str, forename: &str) -> Patient {
    Patient {
        surname: surname.into(),
        forename: forename.into(),
        dob: NaiveDate::from_ymd_opt(1980, 1, 1 + n % 28),
        sex: if n.is_multiple_of(2) {
            Sex::Female
        } else {
            Sex::Male
        },
        nhs_number: (n * 10..).find_map(NhsNumber::test_number),
        mrn: Some(format!("K{n:07}")),
        emergency_number: None,
    }
}

fn state(n: u32, patient: Patient, codes: &[&str], status: Status) -> RequestState {
    let catalogue = Catalogue::default_uk().unwrap();
    let site = Code3::site("RXX").unwrap();
    let ws = Code3::workstation("W07").unwrap();
    let seq = (n..)
        .find(|&s| DowntimeId::is_issuable(&site, &ws, s))
        .unwrap();
    RequestState {
        downtime_id: DowntimeId::new(site, ws.clone(), seq).unwrap(),
        request: NewRequest {
            uuid: Uuid::from_u128(0x9e1d_0000_0000_4000_8000_0000_0000_0000 + u128::from(n)),
            patient,
            ward: "Ward 7".into(),
            consultant: "Dr Example".into(),
            requester: "Dr Jones".into(),
            requester_contact: "Bleep 1234".into(),
            tests: codes
                .iter()
                .map(|c| RequestedTest::from(catalogue.test(c).unwrap()))
                .collect(),
            priority: [Priority::Emergency, Priority::Urgent, Priority::Routine][n as usize % 3],
            collected_at: t(10, 20),
            collected_by: "Nurse Bloggs".into(),
            clinical_details: String::new(),
            notes: String::new(),
            identity_override: None,
        },
        status,
        accession: matches!(status, Status::Reentered).then(|| format!("L26{n:06}")),
        reason: matches!(status, Status::Cancelled | Status::Rejected)
            .then(|| "Sample haemolysed".into()),
        created_at: t(10, 25),
        created_by: Actor {
            workstation: ws,
            user: "Nurse Bloggs".into(),
        },
        updated_at: t(10, 26),
        last_event: Uuid::nil(),
    }
}

fn requests() -> Vec<RequestState> {
    let mut awkward = state(
        4,
        patient(4, "O'Brien-Nguyễn", "Zoë"),
        &["COAG", "GLU"],
        Status::Received,
    );
    awkward.request.clinical_details = "Query sepsis\nline two | ^ ~ \\ & \"quoted\"".into();
    awkward.request.notes = "Fasting since 22:00".into();
    let mut unknown = Patient {
        surname: "Unknown".into(),
        forename: String::new(),
        dob: None,
        sex: Sex::Unknown,
        nhs_number: None,
        mrn: None,
        emergency_number: Some("AE000123".into()),
    };
    unknown.surname.push_str(" Male");
    vec![
        state(
            1,
            patient(1, "Testpatient", "Alice"),
            &["FBC", "UE"],
            Status::Logged,
        ),
        state(
            2,
            patient(2, "Testpatient", "Bob"),
            &["GS", "XM"],
            Status::Sent,
        ),
        // The same patient as request 1, again: one Patient entry for both.
        state(
            3,
            patient(1, "Testpatient", "Alice"),
            &["CRP"],
            Status::Reentered,
        ),
        awkward,
        state(5, unknown, &["TROP", "LAC"], Status::Cancelled),
        state(
            6,
            patient(6, "Testpatient", "Carol"),
            &["BC"],
            Status::Rejected,
        ),
    ]
}

fn ctx() -> ExportContext {
    ExportContext {
        profile: Profile::default_profile(),
        generated_at: t(10, 30),
        batch_id: "RXX-W07-B000012".into(),
        csv: CsvOptions::default(),
        mllp: false,
        training: false,
        wards: Vec::new(),
    }
}

#[test]
fn the_fhir_export_of_a_fixed_set_matches_its_golden_file_byte_for_byte() {
    let mut bytes = Vec::new();
    write_export(Format::Fhir, &requests(), &ctx(), &mut bytes).unwrap();
    let findings = check_fhir(&bytes);
    assert!(findings.is_empty(), "{findings:#?}");

    crate::common::golden::assert_matches("fhir/bundle.json", &bytes, '\n');
}
