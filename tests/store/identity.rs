//! Identity-mismatch check on a real SQLite file: a request whose NHS number or MRN is on file
//! for someone with other details is refused, unless saved with a reason, which the history keeps.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on purpose"
)]

use crate::common::{draft, now, temp_store};
use chrono::Utc;
use stopgap::domain::catalogue::Catalogue;
use stopgap::domain::event::EventKind;
use stopgap::domain::identity::{Identifier, patient_line};
use stopgap::domain::nhs_number::NhsNumber;
use stopgap::domain::request::{IdentityOverride, NewRequest, RequestDraft, Sex};
use stopgap::domain::status::Transition;
use stopgap::export::{CsvOptions, ExportContext, Format, Profile, write_export};
use stopgap::import::{ImportError, import_requests};
use stopgap::store::{QueueFilter, Store, StoreError};
use uuid::Uuid;

const NHS: &str = "999 000 0018";

fn validate(d: &RequestDraft) -> NewRequest {
    d.validate(now(), &Utc, &Catalogue::default_uk().unwrap())
        .unwrap()
}

/// SMITH, Jane, female, born 12/03/1957, under NHS 999 000 0018 and MRN K1234567.
fn jane() -> RequestDraft {
    RequestDraft {
        nhs_number: NHS.into(),
        mrn: "K1234567".into(),
        surname: "Smith".into(),
        forename: "Jane".into(),
        dob: "12/03/1957".into(),
        sex: Sex::Female,
        ..draft(1)
    }
}

/// BLOGGS, Fred, male, born 01/01/1980, typed with Jane's NHS number.
fn fred() -> RequestDraft {
    RequestDraft {
        nhs_number: NHS.into(),
        surname: "Bloggs".into(),
        forename: "Fred".into(),
        dob: "01/01/1980".into(),
        sex: Sex::Male,
        ..draft(2)
    }
}

fn mismatch_messages(result: Result<stopgap::store::Saved, StoreError>) -> Vec<String> {
    match result {
        Err(StoreError::IdentityMismatch(messages)) => messages,
        other => panic!("expected an identity mismatch, got {other:?}"),
    }
}

fn count(store: &Store) -> u64 {
    store.queue_count(&QueueFilter::default()).unwrap()
}

#[test]
fn a_different_person_under_an_nhs_number_on_file_is_refused_naming_both() {
    let (_d, mut store) = temp_store();
    store
        .save_request(&validate(&jane()), "Nurse A", now())
        .unwrap();
    let refused = store.save_request(&validate(&fred()), "Nurse A", now());
    let messages = mismatch_messages(refused);
    assert_eq!(
        messages,
        [
            "NHS number 999 000 0018 is on file for SMITH, Jane, female, born 12/03/1957 — this form says BLOGGS, Fred, male, born 01/01/1980 (surname, forename, sex, date of birth differ)"
        ]
    );
    assert_eq!(count(&store), 1, "nothing was saved");
    let err = store
        .save_request(&validate(&fred()), "Nurse A", now())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("SMITH, Jane") && err.contains("BLOGGS, Fred"),
        "{err}"
    );
    assert!(err.contains("reason"), "says what to do next: {err}");
}

#[test]
fn a_different_person_under_an_mrn_on_file_is_refused() {
    let (_d, mut store) = temp_store();
    store
        .save_request(&validate(&jane()), "Nurse A", now())
        .unwrap();
    let mut typed = fred();
    typed.nhs_number.clear();
    typed.mrn = "k1234567".into();
    let messages = mismatch_messages(store.save_request(&validate(&typed), "Nurse A", now()));
    assert_eq!(messages.len(), 1);
    assert!(
        messages[0].starts_with("MRN K1234567 is on file for SMITH, Jane, female, born 12/03/1957"),
        "{messages:?}"
    );
    assert!(messages[0].contains("this form says BLOGGS, Fred"));
    assert_eq!(count(&store), 1);
}

#[test]
fn saved_with_a_reason_the_created_event_keeps_the_reason_and_who_was_on_file() {
    let (_d, mut store) = temp_store();
    let on_file = validate(&jane());
    store.save_request(&on_file, "Nurse A", now()).unwrap();
    let mut typed = fred();
    typed.identity_reason = "  Wristband checked twice; PAS shows this number for Fred  ".into();
    let request = validate(&typed);
    let saved = store.save_request(&request, "Nurse B", now()).unwrap();
    assert!(!saved.already_saved);

    let detail = store.request_detail(request.uuid).unwrap().unwrap();
    let EventKind::Created {
        request: stored, ..
    } = &detail.events[0].kind
    else {
        panic!("first event is not the creation: {:?}", detail.events[0]);
    };
    let expected = IdentityOverride {
        reason: "Wristband checked twice; PAS shows this number for Fred".into(),
        on_file: vec![patient_line(&on_file.patient)],
    };
    assert_eq!(stored.identity_override.as_ref(), Some(&expected));
    assert_eq!(
        expected.on_file,
        ["SMITH, Jane, born 12/03/1957, NHS 999 000 0018, MRN K1234567"]
    );
    assert_eq!(detail.state.request.identity_override, Some(expected));
    assert!(store.verify().unwrap().is_sound());

    // Saving the same form again is recognised, not refused and not duplicated.
    let again = store.save_request(&request, "Nurse B", now()).unwrap();
    assert!(again.already_saved);
    assert_eq!(again.downtime_id, saved.downtime_id);
    assert_eq!(count(&store), 2);
}

#[test]
fn a_blank_reason_is_no_reason() {
    let (_d, mut store) = temp_store();
    store
        .save_request(&validate(&jane()), "Nurse A", now())
        .unwrap();
    let mut typed = fred();
    typed.identity_reason = "   ".into();
    let request = validate(&typed);
    assert_eq!(request.identity_override, None);
    let mut forced = request.clone();
    forced.identity_override = Some(IdentityOverride {
        reason: " ".into(),
        on_file: Vec::new(),
    });
    mismatch_messages(store.save_request(&forced, "Nurse A", now()));
    assert_eq!(count(&store), 1);
}

#[test]
fn the_same_person_typed_in_another_case_or_unicode_form_is_no_mismatch() {
    let (_d, mut store) = temp_store();
    let mut zoe = jane();
    zoe.forename = "Zo\u{eb}".into();
    store
        .save_request(&validate(&zoe), "Nurse A", now())
        .unwrap();
    let mut again = zoe.clone();
    again.uuid = Uuid::new_v4();
    again.surname = "SMITH".into();
    // "e" and a combining diaeresis: cleaned to NFC by validation, and compared as such anyway.
    again.forename = "ZOE\u{308}".into();
    let saved = store
        .save_request(&validate(&again), "Nurse A", now())
        .unwrap();
    assert!(!saved.already_saved);
    let typed = again.typed_patient().unwrap();
    assert_eq!(typed.forename, "ZOE\u{308}", "as typed, not yet cleaned");
    let on_file = store
        .patients_on_file(typed.nhs_number.as_ref(), typed.mrn.as_deref())
        .unwrap();
    assert!(stopgap::domain::identity::mismatches(&typed, &on_file).is_empty());
}

#[test]
fn an_empty_forename_or_unknown_sex_on_the_form_is_not_a_difference() {
    let (_d, mut store) = temp_store();
    store
        .save_request(&validate(&jane()), "Nurse A", now())
        .unwrap();
    let mut sparse = jane();
    sparse.uuid = Uuid::new_v4();
    sparse.forename.clear();
    sparse.sex = Sex::Unknown;
    store
        .save_request(&validate(&sparse), "Nurse A", now())
        .unwrap();
    // And the other way round: Jane typed in full against the sparse record now on file.
    let mut full = jane();
    full.uuid = Uuid::new_v4();
    store
        .save_request(&validate(&full), "Nurse A", now())
        .unwrap();
    assert_eq!(count(&store), 3);
}

#[test]
fn unidentified_patients_are_never_compared() {
    let (_d, mut store) = temp_store();
    store
        .save_request(&validate(&jane()), "Nurse A", now())
        .unwrap();
    let unknown = RequestDraft {
        unidentified: true,
        emergency_number: "AE-2026-0042".into(),
        sex: Sex::Male,
        surname: String::new(),
        forename: String::new(),
        dob: String::new(),
        // A number read off a document found with the patient, not yet confirmed.
        nhs_number: NHS.into(),
        mrn: String::new(),
        ..draft(3)
    };
    assert_eq!(unknown.typed_patient(), None);
    store
        .save_request(&validate(&unknown), "Nurse A", now())
        .unwrap();
    let mut jane_again = jane();
    jane_again.uuid = Uuid::new_v4();
    store
        .save_request(&validate(&jane_again), "Nurse A", now())
        .unwrap();
    assert_eq!(count(&store), 3);
}

#[test]
fn two_identities_already_on_file_are_both_listed() {
    let (_d, mut store) = temp_store();
    let jane = validate(&jane());
    store.save_request(&jane, "Nurse A", now()).unwrap();
    let mut fred = fred();
    fred.identity_reason = "Confirmed with the patient".into();
    let fred = validate(&fred);
    store.save_request(&fred, "Nurse A", now()).unwrap();

    let third = RequestDraft {
        nhs_number: NHS.into(),
        surname: "Jones".into(),
        forename: "Ann".into(),
        dob: "05/05/1990".into(),
        sex: Sex::Female,
        ..draft(4)
    };
    let messages = mismatch_messages(store.save_request(&validate(&third), "Nurse A", now()));
    assert_eq!(messages.len(), 2, "{messages:#?}");
    assert!(
        messages[0].contains("on file for BLOGGS, Fred"),
        "most recent first"
    );
    assert!(messages[1].contains("on file for SMITH, Jane"));

    let nhs = NhsNumber::parse(NHS).unwrap();
    let on_file = store
        .patients_on_file(Some(&nhs), Some("K1234567"))
        .unwrap();
    assert_eq!(
        on_file,
        [
            (Identifier::Nhs(nhs), fred.patient.clone()),
            (Identifier::Nhs(nhs), jane.patient.clone()),
        ]
    );
    // Fred saved with a reason is now on file too: Jane typed again is warned about him.
    let mut jane_again = self::jane();
    jane_again.uuid = Uuid::new_v4();
    let messages = mismatch_messages(store.save_request(&validate(&jane_again), "N", now()));
    assert_eq!(messages.len(), 1);
    assert!(messages[0].contains("on file for BLOGGS, Fred"));
}

#[test]
fn a_cancelled_request_still_records_who_holds_the_number() {
    let (_d, mut store) = temp_store();
    let jane = validate(&jane());
    store.save_request(&jane, "Nurse A", now()).unwrap();
    store
        .change_status(
            jane.uuid,
            &Transition::Cancelled {
                reason: "Wrong ward".into(),
            },
            "Nurse A",
            now(),
        )
        .unwrap();
    mismatch_messages(store.save_request(&validate(&fred()), "Nurse A", now()));
}

#[test]
fn patients_on_file_finds_each_identity_once_by_either_number() {
    let (_d, mut store) = temp_store();
    let nhs = NhsNumber::parse(NHS).unwrap();
    assert_eq!(store.patients_on_file(Some(&nhs), None).unwrap(), []);
    assert_eq!(store.patients_on_file(None, None).unwrap(), []);
    let jane = validate(&jane());
    store.save_request(&jane, "Nurse A", now()).unwrap();
    let mut shouty = self::jane();
    shouty.uuid = Uuid::new_v4();
    shouty.surname = "SMITH".into();
    store
        .save_request(&validate(&shouty), "Nurse A", now())
        .unwrap();
    // Under the MRN alone, typed in lower case.
    let by_mrn = store.patients_on_file(None, Some(" k1234567 ")).unwrap();
    assert_eq!(by_mrn.len(), 1, "{by_mrn:#?}");
    assert_eq!(by_mrn[0].0, Identifier::Mrn("K1234567".into()));
    // Under both numbers: still one identity.
    let both = store
        .patients_on_file(Some(&nhs), Some("K1234567"))
        .unwrap();
    assert_eq!(both.len(), 1, "{both:#?}");
    assert_eq!(both[0].1.surname.to_uppercase(), "SMITH");
}

#[test]
fn the_look_up_uses_the_identifier_indexes() {
    let (_d, mut store) = temp_store();
    for n in 0..50 {
        store
            .save_request(&validate(&draft(n)), "Nurse A", now())
            .unwrap();
    }
    let plan = store.patients_on_file_plan().unwrap();
    assert!(
        !plan.iter().any(|l| l.starts_with("SCAN requests")),
        "{plan:#?}"
    );
    assert!(
        plan.iter().any(|l| l.contains("requests_by_nhs")),
        "{plan:#?}"
    );
    assert!(
        plan.iter().any(|l| l.contains("requests_by_mrn")),
        "{plan:#?}"
    );
}

#[test]
fn the_reason_is_not_exported() {
    let (_d, mut store) = temp_store();
    store
        .save_request(&validate(&jane()), "Nurse A", now())
        .unwrap();
    let mut typed = fred();
    typed.identity_reason = "Zanzibar reason".into();
    let fred = validate(&typed);
    store.save_request(&fred, "Nurse A", now()).unwrap();
    let state = store.request_detail(fred.uuid).unwrap().unwrap().state;
    let ctx = ExportContext {
        profile: Profile::default_profile(),
        generated_at: now(),
        batch_id: "B000001".into(),
        csv: CsvOptions::default(),
        mllp: false,
        training: false,
        wards: Vec::new(),
    };
    for format in [Format::Csv, Format::Hl7Oml, Format::Hl7Orm, Format::Fhir] {
        let mut with = Vec::new();
        write_export(format, std::slice::from_ref(&state), &ctx, &mut with).unwrap();
        let mut plain_state = state.clone();
        plain_state.request.identity_override = None;
        let mut without = Vec::new();
        write_export(format, &[plain_state], &ctx, &mut without).unwrap();
        assert_eq!(with, without, "{format:?}");
    }
}

#[test]
fn an_import_row_for_another_person_under_a_number_on_file_refuses_the_file() {
    let (_d, mut store) = temp_store();
    store
        .save_request(&validate(&jane()), "Nurse A", now())
        .unwrap();
    let text = "\
surname,forename,dob,sex,nhs_number,ward,consultant,requester,requester_contact,priority,tests,collected_at,collected_by
Bloggs,Fred,1980-01-01,male,9990000018,Ward 7,Dr A,Dr B,1234,urgent,FBC,2026-06-04T09:00:00Z,N
";
    let e = import_requests(&mut store, text.as_bytes(), "Importer", now()).unwrap_err();
    assert!(
        matches!(&e, ImportError::Store(StoreError::IdentityMismatch(m)) if m.len() == 1),
        "{e:?}"
    );
    assert_eq!(count(&store), 1, "nothing imported");
}

#[test]
fn demo_data_from_many_seeds_never_puts_two_people_under_one_number() {
    let (_d, mut store) = temp_store();
    let catalogue = store.catalogue().unwrap();
    for seed in 0..25 {
        let requests = stopgap::demo::synthetic_requests(200, seed, now(), &catalogue).unwrap();
        store
            .in_transaction(|s| {
                for d in &requests {
                    s.save_training_request(&d.request, &d.user, d.created_at)?;
                }
                Ok(())
            })
            .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
    }
    assert_eq!(count(&store), 25 * 200);
}
