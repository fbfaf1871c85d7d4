//! FHIR R4 export: one transaction Bundle per export, holding for each request a Patient, a
//! Specimen per tube (in order of draw) and a ServiceRequest per test.
//!
//! - fullUrls are `urn:uuid:` UUID v5s named by the request's UUID and `Kind/index`, so a
//!   re-export gives the same bytes; every reference points at a fullUrl in the same Bundle.
//! - Patient: NHS number (`https://fhir.nhs.uk/Id/nhs-number`), hospital number and A&E number
//!   with the profile's systems; created conditionally (`ifNoneExist`) on the NHS number, or on
//!   the hospital number when there is none; an unidentified patient is created plainly. Requests
//!   for the same patient with identical details share one Patient entry (two conditional creates
//!   of one patient in one transaction would make two patients).
//! - ServiceRequest: placer identifier (PLAC) = per-test placer number as in HL7 ORC-2, filler
//!   identifier (FILL) = LIMS accession when known, requisition = canonical downtime ID.
//!   Status: `active` while the order stands (logged, sent, received, and re-entered: the lab
//!   work is not finished just because the LIMS has it), `revoked` once cancelled or rejected
//!   (the reason is in a note). Clinical details are `reasonCode.text` exactly as typed and the
//!   first note; notes, consultant and the requester's contact follow as notes.

use serde_json::{Value, json};
use uuid::Uuid;

use crate::domain::catalogue::tubes_in_draw_order;
use crate::domain::event::RequestState;
use crate::domain::request::{Patient, Sex};
use crate::domain::status::Status;

use super::hl7::{placer_number, specimen_snomed, tube_description};
use super::profile::Profile;
use super::{ExportContext, ExportError, rfc3339};

/// The NHS number identifier system (NHS England).
pub const NHS_NUMBER_SYSTEM: &str = "https://fhir.nhs.uk/Id/nhs-number";
const V2_0203: &str = "http://terminology.hl7.org/CodeSystem/v2-0203";
const SNOMED: &str = "http://snomed.info/sct";

/// `urn:uuid:` of the `index`-th resource of `kind` made for a request.
pub fn full_url(request_uuid: &Uuid, kind: &str, index: usize) -> String {
    let name = format!("{kind}/{index}");
    format!("urn:uuid:{}", Uuid::new_v5(request_uuid, name.as_bytes()))
}

fn gender(s: Sex) -> &'static str {
    match s {
        Sex::Female => "female",
        Sex::Male => "male",
        Sex::Other => "other",
        Sex::Unknown => "unknown",
    }
}

fn service_request_status(s: Status) -> &'static str {
    match s {
        Status::Logged | Status::Sent | Status::Received | Status::Reentered => "active",
        Status::Cancelled | Status::Rejected => "revoked",
    }
}

fn specimen_status(s: Status) -> &'static str {
    match s {
        Status::Logged | Status::Sent | Status::Received | Status::Reentered => "available",
        Status::Cancelled => "unavailable",
        Status::Rejected => "unsatisfactory",
    }
}

fn patient_entry(p: &Patient, url: &str, profile: &Profile) -> Value {
    let f = &profile.fhir;
    let mut identifiers = Vec::new();
    if let Some(nhs) = p.nhs_number {
        identifiers.push(json!({"system": NHS_NUMBER_SYSTEM, "value": nhs.digits()}));
    }
    if let Some(mrn) = &p.mrn {
        identifiers.push(json!({"system": f.hospital_number_system, "value": mrn}));
    }
    if let Some(ae) = &p.emergency_number {
        identifiers.push(json!({"system": f.emergency_number_system, "value": ae}));
    }
    let mut name = json!({"use": "official", "family": p.surname});
    if !p.forename.is_empty() {
        name["given"] = json!([p.forename]);
    }
    let mut patient = json!({
        "resourceType": "Patient",
        "identifier": identifiers,
        "name": [name],
        "gender": gender(p.sex),
    });
    if let Some(dob) = p.dob {
        patient["birthDate"] = json!(dob.format("%Y-%m-%d").to_string());
    }
    let mut request = json!({"method": "POST", "url": "Patient"});
    if let Some(nhs) = p.nhs_number {
        request["ifNoneExist"] = json!(format!("identifier={NHS_NUMBER_SYSTEM}|{}", nhs.digits()));
    } else if let Some(mrn) = &p.mrn {
        request["ifNoneExist"] = json!(format!("identifier={}|{mrn}", f.hospital_number_system));
    }
    json!({"fullUrl": url, "resource": patient, "request": request})
}

/// The Bundle for `requests`.
pub fn bundle(requests: &[RequestState], ctx: &ExportContext) -> Value {
    let profile = &ctx.profile;
    let f = &profile.fhir;
    let mut entries = Vec::new();
    let mut patients: Vec<(&Patient, String)> = Vec::new();

    for r in requests {
        let q = &r.request;
        let canonical = r.downtime_id.canonical();
        let patient_url = match patients.iter().find(|(p, _)| *p == &q.patient) {
            Some((_, url)) => url.clone(),
            None => {
                let url = full_url(&q.uuid, "Patient", 0);
                entries.push(patient_entry(&q.patient, &url, profile));
                patients.push((&q.patient, url.clone()));
                url
            }
        };
        let subject = json!({"reference": patient_url});

        let tubes = tubes_in_draw_order(&q.tests);
        let tube_of = |code: &str| tubes.iter().position(|t| t.tests.iter().any(|c| c == code));
        let test_url = |code: &str| {
            q.tests
                .iter()
                .position(|t| t.code == code)
                .map(|i| full_url(&q.uuid, "ServiceRequest", i))
        };

        for (i, tube) in tubes.iter().enumerate() {
            let specimen_name = tube
                .tests
                .first()
                .and_then(|code| q.tests.iter().find(|t| &t.code == code))
                .map(|t| t.specimen.clone())
                .unwrap_or_default();
            let mut kind = json!({"text": specimen_name});
            if let Some((code, display)) = specimen_snomed(&specimen_name) {
                kind["coding"] = json!([{"system": SNOMED, "code": code, "display": display}]);
            }
            let requests: Vec<Value> = tube
                .tests
                .iter()
                .filter_map(|code| test_url(code))
                .map(|u| json!({"reference": u}))
                .collect();
            let mut specimen = json!({
                "resourceType": "Specimen",
                "identifier": [{"system": f.specimen_system, "value": format!("{canonical}-S{}", i + 1)}],
                "status": specimen_status(r.status),
                "type": kind,
                "subject": subject,
                "request": requests,
                "collection": {
                    "collector": {"display": q.collected_by},
                    "collectedDateTime": rfc3339(q.collected_at),
                },
                "container": [{"type": {"text": tube_description(&tube.tube, &tube.colour)}}],
            });
            if tube.transfusion {
                specimen["note"] =
                    json!([{"text": "Transfusion sample: tube hand-labelled at the bedside."}]);
            }
            entries.push(json!({
                "fullUrl": full_url(&q.uuid, "Specimen", i),
                "resource": specimen,
                "request": {"method": "POST", "url": "Specimen"},
            }));
        }

        let priority = f.priority.get(q.priority).code();
        let mut notes = Vec::new();
        for (label, text) in [
            ("Clinical details", q.clinical_details.as_str()),
            ("Notes", q.notes.as_str()),
            ("Responsible consultant", q.consultant.as_str()),
            ("Requester contact", q.requester_contact.as_str()),
            (
                "Reason cancelled or rejected",
                r.reason.as_deref().unwrap_or(""),
            ),
        ] {
            if !text.is_empty() {
                notes.push(json!({"text": format!("{label}: {text}")}));
            }
        }
        for (i, t) in q.tests.iter().enumerate() {
            let mut identifiers = vec![json!({
                "type": {"coding": [{"system": V2_0203, "code": "PLAC", "display": "Placer Identifier"}]},
                "system": f.placer_system,
                "value": placer_number(r, i),
            })];
            if let Some(acc) = &r.accession {
                identifiers.push(json!({
                    "type": {"coding": [{"system": V2_0203, "code": "FILL", "display": "Filler Identifier"}]},
                    "system": f.filler_system,
                    "value": acc,
                }));
            }
            // check_mappings has run, so the fallback to our own code is unreachable.
            let coding = match profile.mapping(&t.code) {
                Some(m) => json!({
                    "system": m.fhir_system.as_deref().unwrap_or(&f.test_code_system),
                    "code": m.lims_code,
                    "display": m.display,
                }),
                None => json!({"system": f.test_code_system, "code": t.code, "display": t.name}),
            };
            let mut sr = json!({
                "resourceType": "ServiceRequest",
                "identifier": identifiers,
                "requisition": {"system": f.requisition_system, "value": canonical},
                "status": service_request_status(r.status),
                "intent": "order",
                "category": [{"coding": [{"system": SNOMED, "code": "108252007", "display": "Laboratory procedure"}]}],
                "priority": priority,
                "code": {"coding": [coding], "text": t.name},
                "subject": subject,
                "authoredOn": rfc3339(r.created_at),
                "requester": {"display": q.requester},
                "locationCode": [{"text": q.ward}],
            });
            if let Some(tube) = tube_of(&t.code) {
                sr["specimen"] = json!([{"reference": full_url(&q.uuid, "Specimen", tube)}]);
            }
            if !q.clinical_details.is_empty() {
                sr["reasonCode"] = json!([{"text": q.clinical_details}]);
            }
            if !notes.is_empty() {
                sr["note"] = json!(notes);
            }
            entries.push(json!({
                "fullUrl": full_url(&q.uuid, "ServiceRequest", i),
                "resource": sr,
                "request": {"method": "POST", "url": "ServiceRequest"},
            }));
        }
    }

    json!({
        "resourceType": "Bundle",
        "identifier": {"system": f.batch_system, "value": ctx.batch_id},
        "type": "transaction",
        "timestamp": rfc3339(ctx.generated_at),
        "entry": entries,
    })
}

/// Writes the Bundle as pretty JSON with a final newline.
pub(crate) fn write(
    requests: &[RequestState],
    ctx: &ExportContext,
    out: &mut dyn std::io::Write,
) -> Result<(), ExportError> {
    let b = bundle(requests, ctx);
    serde_json::to_writer_pretty(&mut *out, &b)?;
    out.write_all(b"\n")?;
    out.flush()?;
    Ok(())
}
