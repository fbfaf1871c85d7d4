#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on purpose"
)]
//! The FHIR export as a strict R4 server sees it: every Bundle passes the official R4 JSON schema
//! and the transaction checks of `check_fhir`, one Patient entry per identifier, and identity
//! conflicts refused before anything is written. Requests are saved in a real store (a SQLite
//! file in a temporary folder) and read back, as an export reads them.

mod common;

use common::{draft, now, temp_store};
use serde_json::Value;
use stopgap::domain::catalogue::Catalogue;
use stopgap::domain::event::RequestState;
use stopgap::domain::request::{NewRequest, RequestDraft};
use stopgap::export::check::Finding;
use stopgap::export::check_fhir::check_fhir;
use stopgap::export::{CsvOptions, ExportContext, ExportError, Format, Profile, write_export};
use stopgap::store::Store;

fn ctx() -> ExportContext {
    ExportContext {
        profile: Profile::default_profile(),
        generated_at: now(),
        batch_id: "B000012".into(),
        csv: CsvOptions::default(),
        mllp: false,
    }
}

fn validate(d: &RequestDraft) -> NewRequest {
    d.validate(now(), &chrono::Utc, &Catalogue::default_uk().unwrap())
        .unwrap_or_else(|e| panic!("{e:?}"))
}

fn states(store: &Store, uuids: &[uuid::Uuid]) -> Vec<RequestState> {
    uuids
        .iter()
        .map(|u| store.request_detail(*u).unwrap().unwrap().state)
        .collect()
}

/// Saves the drafts (acknowledging any identity mismatch, as a user may) and reads them back.
fn saved(store: &mut Store, drafts: &[RequestDraft]) -> Vec<RequestState> {
    let mut uuids = Vec::new();
    for d in drafts {
        let request = validate(d);
        store.save_request(&request, "Nurse A", now()).unwrap();
        uuids.push(request.uuid);
    }
    states(store, &uuids)
}

fn fhir(requests: &[RequestState]) -> Vec<u8> {
    let mut out = Vec::new();
    write_export(Format::Fhir, requests, &ctx(), &mut out).unwrap();
    out
}

fn bundle(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap()
}

fn patient_entries(b: &Value) -> Vec<&Value> {
    b["entry"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["resource"]["resourceType"] == "Patient")
        .collect()
}

fn assert_conformant(bytes: &[u8]) {
    let findings = check_fhir(bytes);
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn the_demo_set_passes_the_fhir_r4_schema_with_no_finding() {
    let (_d, mut store) = temp_store();
    let catalogue = store.catalogue().unwrap();
    let demo = stopgap::demo::synthetic_requests(60, 7, now(), &catalogue).unwrap();
    store
        .in_transaction(|s| {
            for d in &demo {
                s.save_training_request(&d.request, &d.user, d.created_at)?;
                for (t, at) in &d.transitions {
                    s.change_status(d.request.uuid, t, &d.user, *at)?;
                }
            }
            Ok(())
        })
        .unwrap();
    let uuids: Vec<_> = demo.iter().map(|d| d.request.uuid).collect();
    let requests = states(&store, &uuids);
    assert!(
        requests.iter().any(|r| r.accession.is_some()),
        "the set has filler numbers"
    );
    assert_conformant(&fhir(&requests));
}

fn awkward() -> Vec<RequestDraft> {
    let mut obrien = draft(1);
    obrien.surname = "O'Brien".into();
    obrien.forename = "Siobhán".into();
    let mut zoe = draft(2);
    zoe.surname = "Zoe\u{308}-Smith".into();
    zoe.forename = "Zoë".into();
    let mut nguyen = draft(3);
    nguyen.surname = "Nguyễn".into();
    nguyen.forename = "Thị Minh".into();
    let mut delimiters = draft(4);
    delimiters.surname = "Pipe|Caret^Tilde~".into();
    delimiters.forename = r"Back\slash&Amp".into();
    delimiters.requester = "Dr \"Quote\" <Angle>".into();
    let mut breaks = draft(5);
    breaks.clinical_details = "Line one\nLine two\r\nLine three\twith a tab".into();
    breaks.notes = "See {braces} and [brackets]".into();
    let mut long = draft(6);
    long.forename = "A".repeat(35);
    long.surname = "B".repeat(35);
    let mut unknown = draft(7);
    unknown.unidentified = true;
    unknown.nhs_number.clear();
    unknown.emergency_number = "AE123456".into();
    unknown.surname = "Unknown".into();
    unknown.forename = String::new();
    unknown.dob.clear();
    vec![obrien, zoe, nguyen, delimiters, breaks, long, unknown]
}

#[test]
fn awkward_names_and_text_pass_the_fhir_r4_schema_with_no_finding() {
    let (_d, mut store) = temp_store();
    let requests = saved(&mut store, &awkward());
    let bytes = fhir(&requests);
    assert_conformant(&bytes);
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(text.contains("Nguyễn"), "text is written as typed");
    let b = bundle(&bytes);
    let unknown = patient_entries(&b)
        .into_iter()
        .find(|e| e["resource"]["name"][0]["family"] == "Unknown")
        .unwrap();
    assert!(
        unknown["request"].get("ifNoneExist").is_none(),
        "an unidentified patient is created plainly"
    );
}

#[test]
fn a_broken_bundle_is_caught_by_the_check() {
    let (_d, mut store) = temp_store();
    let requests = saved(&mut store, &[draft(1)]);
    let good = bundle(&fhir(&requests));

    // The schema: a ServiceRequest status outside its value set and a Patient without a type.
    let mut bad = good.clone();
    let sr = bad["entry"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|e| e["resource"]["resourceType"] == "ServiceRequest")
        .unwrap();
    sr["resource"]["status"] = "sent-somewhere".into();
    let findings = check_fhir(&serde_json::to_vec(&bad).unwrap());
    assert!(
        findings
            .iter()
            .any(|f| f.location.ends_with("/resource/status")
                && f.downtime_id.is_some()
                && !f.problem.contains("sent-somewhere")),
        "names the field, not the data: {findings:#?}"
    );

    // The transaction: a reference to nothing in the Bundle, and a second conditional create.
    let mut bad = good.clone();
    let entries = bad["entry"].as_array_mut().unwrap();
    let mut patient = entries[0].clone();
    patient["fullUrl"] = "urn:uuid:00000000-0000-4000-8000-000000000001".into();
    entries[1]["resource"]["subject"]["reference"] =
        "urn:uuid:00000000-0000-4000-8000-00000000dead".into();
    entries.push(patient);
    let findings = check_fhir(&serde_json::to_vec(&bad).unwrap());
    let problems: Vec<&str> = findings.iter().map(|f| f.location.as_str()).collect();
    assert!(
        problems.contains(&"/entry/1/resource/subject/reference"),
        "{findings:#?}"
    );
    assert!(
        findings
            .iter()
            .any(|f| f.location.ends_with("/request/ifNoneExist")),
        "{findings:#?}"
    );

    assert_eq!(check_fhir(b"{not json").len(), 1);
}

#[test]
fn requests_sharing_an_nhs_number_or_mrn_give_one_patient_entry() {
    let (_d, mut store) = temp_store();
    let first = draft(1);
    // The same patient, typed in other letter cases, on a second request.
    let mut again = draft(1);
    again.surname = first.surname.to_uppercase();
    // The same patient by hospital number only, on a third, with the NHS number on the first.
    let mut by_mrn = draft(1);
    by_mrn.mrn = "K1234567".into();
    let mut mrn_only = draft(1);
    mrn_only.nhs_number.clear();
    mrn_only.mrn = "k1234567".into();
    let requests = saved(&mut store, &[first, again, by_mrn, mrn_only]);
    let bytes = fhir(&requests);
    assert_conformant(&bytes);
    let b = bundle(&bytes);
    let patients = patient_entries(&b);
    assert_eq!(patients.len(), 1, "{patients:#?}");
    let identifiers = &patients[0]["resource"]["identifier"];
    assert_eq!(
        identifiers.as_array().unwrap().len(),
        2,
        "NHS number and MRN"
    );
    let url = patients[0]["fullUrl"].as_str().unwrap();
    for e in b["entry"].as_array().unwrap() {
        if let Some(subject) = e["resource"].get("subject") {
            assert_eq!(subject["reference"], url);
        }
    }
}

#[test]
fn an_identity_conflict_under_one_identifier_refuses_the_fhir_export() {
    let (_d, mut store) = temp_store();
    let jane = draft(1);
    let mut fred = draft(1);
    fred.surname = "Bloggs".into();
    fred.forename = "Fred".into();
    // The user acknowledged the mismatch on the form, so the store holds both.
    fred.identity_reason = "Checked with the ward".into();
    let requests = saved(&mut store, &[jane, fred]);
    let mut out = Vec::new();
    let e = write_export(Format::Fhir, &requests, &ctx(), &mut out).unwrap_err();
    let ExportError::Refused { format, findings } = &e else {
        panic!("{e:?}");
    };
    assert_eq!(*format, Format::Fhir);
    assert!(out.is_empty(), "nothing was written");
    let expected_id = requests[1].downtime_id.grouped();
    assert!(
        matches!(findings.as_slice(), [Finding { downtime_id: Some(id), problem, .. }]
            if *id == expected_id
                && problem.contains(&requests[0].downtime_id.grouped())
                && problem.contains("surname")
                && problem.contains("forename")),
        "{findings:#?}"
    );
    assert!(e.to_string().contains("nothing was written"), "{e}");
    // Other formats carry one patient per message or row, so they are not refused for this.
    write_export(Format::Csv, &requests, &ctx(), &mut Vec::new()).unwrap();
}
