#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on purpose"
)]
//! The FHIR export as a strict R4 server sees it: every Bundle passes the official R4 JSON schema
//! and the transaction checks of `check_fhir`, one Patient entry per identifier, and identity
//! conflicts refused before anything is written. Requests are saved in a real store (a SQLite
//! file in a temporary folder) and read back, as an export reads them.

use crate::common::{draft, now, temp_store};
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
        training: false,
        wards: Vec::new(),
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
        .find(|e| e["resource"]["identifier"][0]["value"] == "AE123456")
        .unwrap_or_else(|| panic!("{b:#}"));
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

    // The schema: a gender outside its value set, a ServiceRequest without its subject, and
    // a field R4 does not have.
    let mut bad = good.clone();
    bad["entry"][0]["resource"]["gender"] = "femme".into();
    let sr = bad["entry"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|e| e["resource"]["resourceType"] == "ServiceRequest")
        .unwrap();
    let sr = sr["resource"].as_object_mut().unwrap();
    sr.remove("subject");
    sr.insert("colour".into(), "lavender".into());
    let findings = check_fhir(&serde_json::to_vec(&bad).unwrap());
    assert!(
        findings
            .iter()
            .any(|f| f.location == "/entry/0/resource/gender" && !f.problem.contains("femme")),
        "names the field, not the data: {findings:#?}"
    );
    let on_request: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.downtime_id == Some(requests[0].downtime_id.grouped()))
        .collect();
    assert!(
        on_request.iter().any(|f| f.problem.contains("subject"))
            && on_request.iter().any(|f| f.problem.contains("colour")),
        "{findings:#?}"
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

#[test]
fn a_training_export_labels_the_bundle_and_every_resource_htest() {
    let (_d, mut store) = temp_store();
    let requests = saved(&mut store, &[draft(1), draft(2)]);
    let htest = |v: &Value| {
        v["meta"]["security"].as_array().is_some_and(|s| {
            s.iter().any(|c| {
                c["code"] == "HTEST"
                    && c["system"] == "http://terminology.hl7.org/CodeSystem/v3-ActReason"
            })
        })
    };
    let training = ExportContext {
        training: true,
        ..ctx()
    };
    let mut bytes = Vec::new();
    write_export(Format::Fhir, &requests, &training, &mut bytes).unwrap();
    assert_conformant(&bytes);
    let b = bundle(&bytes);
    assert!(htest(&b), "the Bundle is labelled");
    let entries = b["entry"].as_array().unwrap();
    assert!(entries.iter().all(|e| htest(&e["resource"])), "{b:#}");

    let live = bundle(&fhir(&requests));
    assert!(!htest(&live));
    assert!(
        live["entry"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["resource"].get("meta").is_none())
    );
}

#[test]
fn bundle_identifiers_of_two_workstations_never_collide() {
    // Two PCs of one site, and two sites, each make their batch 12.
    let (_d, mut store) = temp_store();
    let requests = saved(&mut store, &[draft(1)]);
    let identifier = |site: &str, workstation: &str| {
        let c = ExportContext {
            batch_id: stopgap::store::batch_id_text(site, workstation, 12),
            ..ctx()
        };
        let mut bytes = Vec::new();
        write_export(Format::Fhir, &requests, &c, &mut bytes).unwrap();
        bundle(&bytes)["identifier"].clone()
    };
    let ids = [
        identifier("RXX", "W07"),
        identifier("RXX", "W08"),
        identifier("RYY", "W07"),
    ];
    assert_eq!(ids[0]["value"], "RXX-W07-B000012");
    assert_ne!(ids[0], ids[1]);
    assert_ne!(ids[0], ids[2]);
    assert_ne!(ids[1], ids[2]);
}

#[test]
fn an_export_from_a_training_database_and_its_rerun_are_labelled_htest() {
    let (dir, mut store) = temp_store();
    let request = validate(&draft(1));
    store
        .save_training_request(&request, "Trainer", now())
        .unwrap();
    let job = stopgap::backlog::ExportJob {
        selection: stopgap::store::ExportSelection::default(),
        format: Format::Fhir,
        profile: Profile::default_profile(),
        options: stopgap::store::ExportOptions::default(),
        user: "Trainer".into(),
        out: dir.path().to_owned(),
        overwrite: stopgap::files::Overwrite::Refuse,
        sealing: stopgap::files::Sealing::plaintext_confirmed(),
    };
    let exported = stopgap::backlog::export_to(&mut store, &job, now()).unwrap();
    let bytes = std::fs::read(&exported.path).unwrap();
    assert_conformant(&bytes);
    let b = bundle(&bytes);
    assert_eq!(b["meta"]["security"][0]["code"], "HTEST", "{b:#}");
    assert_eq!(b["identifier"]["value"], "RXX-W07-B000001");

    let again = dir.path().join("again.json");
    let (_, written) = stopgap::backlog::reproduce(
        &store,
        &exported.record,
        &again,
        stopgap::files::Overwrite::Refuse,
        &stopgap::files::Sealing::plaintext_confirmed(),
    )
    .unwrap();
    assert_eq!(
        written.sha256, exported.record.sha256,
        "byte-identical re-run"
    );
    assert_eq!(std::fs::read(&again).unwrap(), bytes);
}
