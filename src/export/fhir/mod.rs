//! FHIR R4 export: one transaction Bundle per export, holding for each request a Patient, a
//! Specimen per tube (in order of draw) and a ServiceRequest per test.
//!
//! - fullUrls are `urn:uuid:` UUID v5s named by the request's UUID and `Kind/index`, so a
//!   re-export gives the same bytes; every reference points at a fullUrl in the same Bundle.
//! - Patient: NHS number (`https://fhir.nhs.uk/Id/nhs-number`), hospital number and A&E number
//!   with the profile's systems; created conditionally (`ifNoneExist`) on the NHS number, or on
//!   the hospital number when there is none; an unidentified patient is created plainly. One
//!   Patient entry per identifier (`patients.rs`): requests sharing an NHS number or hospital
//!   number share one entry, and if their details differ [`preflight`] lists the conflict and
//!   the export is refused.
//! - ServiceRequest: placer identifier (PLAC) = per-test placer number as in HL7 ORC-2, filler
//!   identifier (FILL) = LIMS accession when known, requisition = canonical downtime ID.
//!   Status: `active` while the order stands (logged, sent, received, and re-entered: the lab
//!   work is not finished just because the LIMS has it), `revoked` once cancelled or rejected
//!   (the reason is in a note). Clinical details are `reasonCode.text` exactly as typed and the
//!   first note; notes, consultant and the requester's contact follow as notes.

//!
//! The Bundle is streamed: each entry is serialised on its own and written straight out, so memory
//! stays that of one request however many are exported. The resources are typed structs whose
//! fields are declared in alphabetical order, the order the Bundle has always been written in
//! (`resources.rs`); `stream.rs` holds the formatter that writes each entry.

mod patients;
mod resources;
mod stream;

use std::borrow::Cow;
use std::io::Write;

use serde::Serialize;
use uuid::Uuid;

use crate::domain::catalogue::tubes_in_draw_order;
use crate::domain::event::RequestState;
use crate::domain::nhs_number::NhsNumber;
use crate::domain::request::{Patient, Sex};
use crate::domain::status::Status;
use crate::export::check::Finding;

use self::resources::{
    AnyEntry, Coding, Collection, Concept, Container, Display, Entry, EntryRequest, HumanName,
    Identifier, Meta, PatientResource, Reference, ServiceRequestResource, SpecimenResource,
    SpecimenType, TestCode, Text, TypedIdentifier,
};
use self::stream::EntryFormatter;
use super::hl7::{specimen_snomed, tube_description};
use super::profile::Profile;
use super::{ExportContext, ExportError, Mappings, four_digit_year, push_date, rfc3339};

/// The NHS number identifier system (NHS England).
pub const NHS_NUMBER_SYSTEM: &str = "https://fhir.nhs.uk/Id/nhs-number";
const V2_0203: &str = "http://terminology.hl7.org/CodeSystem/v2-0203";
const SNOMED: &str = "http://snomed.info/sct";

/// The security label of synthetic training data: `HTEST` ("test health data") from
/// v3-ActReason. It is on the Bundle and on each resource, because a server keeps the resources
/// of a transaction, not the Bundle's own metadata.
const TRAINING: Meta = Meta {
    security: [Coding {
        code: "HTEST",
        display: "test health data",
        system: "http://terminology.hl7.org/CodeSystem/v3-ActReason",
    }],
};

/// [`TRAINING`] as the Bundle's pretty-printed `meta`, one level deep, after its `identifier`.
const TRAINING_BUNDLE_META: &[u8] = b",\n  \"meta\": {\n    \"security\": [\n      {\n        \
\"code\": \"HTEST\",\n        \"display\": \"test health data\",\n        \"system\": \
\"http://terminology.hl7.org/CodeSystem/v3-ActReason\"\n      }\n    ]\n  }";

/// `urn:uuid:` of the `index`-th resource of `kind` made for a request.
pub fn full_url(request_uuid: &Uuid, kind: &str, index: usize) -> String {
    // The name is made on the stack and the URL in one allocation: a Bundle has millions.
    let mut name = [0u8; 64];
    let free = {
        let mut rest = &mut name[..];
        // A kind and an index always fit in 64 bytes.
        let _ = write!(rest, "{kind}/{index}");
        rest.len()
    };
    let uuid = Uuid::new_v5(request_uuid, &name[..name.len() - free]);
    let mut url = String::with_capacity(45);
    url.push_str("urn:uuid:");
    url.push_str(uuid.hyphenated().encode_lower(&mut Uuid::encode_buffer()));
    url
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

/// The Patient entry of `p`, carrying the NHS number and hospital number that the requests of
/// this patient give between them (see `patients.rs`).
fn patient_entry<'a>(
    p: &'a Patient,
    (nhs_number, mrn): (Option<NhsNumber>, Option<&'a str>),
    url: &'a str,
    profile: &'a Profile,
    meta: Option<&'static Meta>,
) -> AnyEntry<'a> {
    let f = &profile.fhir;
    let mut identifier = Vec::new();
    if let Some(nhs) = nhs_number {
        identifier.push(Identifier {
            system: NHS_NUMBER_SYSTEM,
            value: Cow::Owned(nhs.digits()),
        });
    }
    if let Some(mrn) = mrn {
        identifier.push(Identifier {
            system: &f.hospital_number_system,
            value: Cow::Borrowed(mrn),
        });
    }
    if let Some(ae) = &p.emergency_number {
        identifier.push(Identifier {
            system: &f.emergency_number_system,
            value: Cow::Borrowed(ae),
        });
    }
    let if_none_exist = if let Some(nhs) = nhs_number {
        Some(format!("identifier={NHS_NUMBER_SYSTEM}|{}", nhs.digits()))
    } else {
        mrn.map(|mrn| format!("identifier={}|{mrn}", f.hospital_number_system))
    };
    AnyEntry::Patient(Entry {
        full_url: url,
        request: EntryRequest {
            if_none_exist,
            method: "POST",
            url: "Patient",
        },
        resource: PatientResource {
            birth_date: p.dob.map(|d| {
                if four_digit_year(d).is_some() {
                    let mut s = String::with_capacity(10);
                    push_date(&mut s, d, "-");
                    s
                } else {
                    d.format("%Y-%m-%d").to_string()
                }
            }),
            gender: gender(p.sex),
            identifier,
            meta,
            name: [HumanName {
                family: &p.surname,
                given: (!p.forename.is_empty()).then_some([p.forename.as_str()]),
                r#use: "official",
            }],
            resource_type: "Patient",
        },
    })
}

/// The pre-flight check of a FHIR export: every request whose patient disagrees with another
/// request under a shared NHS number or hospital number. [`super::write_export`] refuses the
/// export when there is any, before writing.
pub fn preflight(requests: &[RequestState]) -> Vec<Finding> {
    patients::group(requests).conflicts
}

/// Hands each entry of the Bundle for `requests` to `emit`, in Bundle order.
fn entries<E>(
    requests: &[RequestState],
    ctx: &ExportContext,
    mut emit: impl FnMut(&AnyEntry<'_>) -> Result<(), E>,
) -> Result<(), E> {
    let profile = &ctx.profile;
    let f = &profile.fhir;
    let mappings = Mappings::of(profile);
    // One Patient entry per identifier, written in the turn of the patient's first request.
    // Conflicting details were refused by the pre-flight; were it skipped, the first request's
    // details would be written.
    let groups = patients::group(requests);
    let meta = ctx.training.then_some(&TRAINING);
    for (i, r) in requests.iter().enumerate() {
        let q = &r.request;
        let canonical = r.downtime_id.canonical();
        let first = groups.first[i];
        let patient_url = full_url(&requests[first].request.uuid, "Patient", 0);
        if first == i {
            let identifiers = groups.identifiers.get(&i).copied().unwrap_or_default();
            emit(&patient_entry(
                &q.patient,
                identifiers,
                &patient_url,
                profile,
                meta,
            ))?;
        }
        let collected = rfc3339(q.collected_at);
        let authored = rfc3339(r.created_at);
        let test_urls: Vec<String> = (0..q.tests.len())
            .map(|i| full_url(&q.uuid, "ServiceRequest", i))
            .collect();
        let test_url = |code: &str| q.tests.iter().position(|t| t.code == code);

        let tubes = tubes_in_draw_order(&q.tests);
        let specimen_urls: Vec<String> = (0..tubes.len())
            .map(|i| full_url(&q.uuid, "Specimen", i))
            .collect();
        let tube_of = |code: &str| tubes.iter().position(|t| t.tests.iter().any(|c| c == code));
        for (i, tube) in tubes.iter().enumerate() {
            let specimen_name = tube
                .tests
                .first()
                .and_then(|code| q.tests.iter().find(|t| &t.code == code))
                .map_or("", |t| t.specimen.as_str());
            let coding = specimen_snomed(specimen_name).map(|(code, display)| {
                [Coding {
                    code,
                    display,
                    system: SNOMED,
                }]
            });
            let request = tube
                .tests
                .iter()
                .filter_map(|code| test_url(code))
                .map(|i| Reference {
                    reference: &test_urls[i],
                })
                .collect();
            emit(&AnyEntry::Specimen(Entry {
                full_url: &specimen_urls[i],
                request: EntryRequest::post("Specimen"),
                resource: SpecimenResource {
                    collection: Collection {
                        collected_date_time: &collected,
                        collector: Display {
                            display: &q.collected_by,
                        },
                    },
                    container: [Container {
                        r#type: Text {
                            text: Cow::Owned(tube_description(&tube.tube, &tube.colour)),
                        },
                    }],
                    identifier: [Identifier {
                        system: &f.specimen_system,
                        value: Cow::Owned(format!("{canonical}-S{}", i + 1)),
                    }],
                    meta,
                    note: tube.transfusion.then_some([Text {
                        text: Cow::Borrowed(
                            "Transfusion sample: tube hand-labelled at the bedside.",
                        ),
                    }]),
                    request,
                    resource_type: "Specimen",
                    status: specimen_status(r.status),
                    subject: Reference {
                        reference: &patient_url,
                    },
                    r#type: SpecimenType {
                        coding,
                        text: specimen_name,
                    },
                },
            }))?;
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
                notes.push(Text {
                    text: Cow::Owned(format!("{label}: {text}")),
                });
            }
        }
        for (i, t) in q.tests.iter().enumerate() {
            let placer = format!("{canonical}-{:02}", i + 1);
            let mut identifier = vec![TypedIdentifier {
                system: &f.placer_system,
                r#type: Concept {
                    coding: [Coding {
                        code: "PLAC",
                        display: "Placer Identifier",
                        system: V2_0203,
                    }],
                },
                value: &placer,
            }];
            if let Some(acc) = &r.accession {
                identifier.push(TypedIdentifier {
                    system: &f.filler_system,
                    r#type: Concept {
                        coding: [Coding {
                            code: "FILL",
                            display: "Filler Identifier",
                            system: V2_0203,
                        }],
                    },
                    value: acc,
                });
            }
            // check_mappings has run, so the fallback to our own code is unreachable.
            let coding = match mappings.get(&t.code) {
                Some(m) => Coding {
                    code: &m.lims_code,
                    display: &m.display,
                    system: m.fhir_system.as_deref().unwrap_or(&f.test_code_system),
                },
                None => Coding {
                    code: &t.code,
                    display: &t.name,
                    system: &f.test_code_system,
                },
            };
            emit(&AnyEntry::ServiceRequest(Entry {
                full_url: &test_urls[i],
                request: EntryRequest::post("ServiceRequest"),
                resource: ServiceRequestResource {
                    authored_on: &authored,
                    category: [Concept {
                        coding: [Coding {
                            code: "108252007",
                            display: "Laboratory procedure",
                            system: SNOMED,
                        }],
                    }],
                    code: TestCode {
                        coding: [coding],
                        text: &t.name,
                    },
                    identifier,
                    intent: "order",
                    location_code: [Text {
                        text: Cow::Borrowed(&q.ward),
                    }],
                    meta,
                    note: (!notes.is_empty()).then_some(notes.as_slice()),
                    priority,
                    reason_code: (!q.clinical_details.is_empty()).then_some([Text {
                        text: Cow::Borrowed(q.clinical_details.as_str()),
                    }]),
                    requester: Display {
                        display: &q.requester,
                    },
                    requisition: Identifier {
                        system: &f.requisition_system,
                        value: Cow::Borrowed(&canonical),
                    },
                    resource_type: "ServiceRequest",
                    specimen: tube_of(&t.code).map(|tube| {
                        [Reference {
                            reference: &specimen_urls[tube],
                        }]
                    }),
                    status: service_request_status(r.status),
                    subject: Reference {
                        reference: &patient_url,
                    },
                },
            }))?;
        }
    }
    Ok(())
}

/// Entries are gathered to about this many bytes before being written out.
const WRITE_CHUNK: usize = 1 << 16;

/// Writes the Bundle as pretty JSON with a final newline, one entry at a time: the same bytes as
/// `serde_json::to_writer_pretty` of the whole Bundle followed by a newline.
pub(crate) fn write(
    requests: &[RequestState],
    ctx: &ExportContext,
    out: &mut dyn Write,
) -> Result<(), ExportError> {
    out.write_all(b"{\n  \"entry\": [")?;
    let mut written = false;
    let mut buf = Vec::with_capacity(2 * WRITE_CHUNK);
    entries(requests, ctx, |e| {
        buf.extend_from_slice(if written { b",\n    " } else { b"\n    " });
        e.serialize(&mut serde_json::Serializer::with_formatter(
            &mut buf,
            EntryFormatter::new(),
        ))?;
        written = true;
        // Written in large pieces, which a buffered `out` passes straight through.
        if buf.len() >= WRITE_CHUNK {
            out.write_all(&buf)?;
            buf.clear();
        }
        Ok::<(), ExportError>(())
    })?;
    out.write_all(&buf)?;
    out.write_all(if written { b"\n  ]" } else { b"]" })?;
    out.write_all(b",\n  \"identifier\": {\n    \"system\": ")?;
    serde_json::to_writer(&mut *out, &ctx.profile.fhir.batch_system)?;
    out.write_all(b",\n    \"value\": ")?;
    serde_json::to_writer(&mut *out, &ctx.batch_id)?;
    out.write_all(b"\n  }")?;
    if ctx.training {
        out.write_all(TRAINING_BUNDLE_META)?;
    }
    out.write_all(b",\n  \"resourceType\": \"Bundle\",\n  \"timestamp\": ")?;
    serde_json::to_writer(&mut *out, &rfc3339(ctx.generated_at))?;
    out.write_all(b",\n  \"type\": \"transaction\"\n}\n")?;
    out.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streamed_bundle_is_the_pretty_printed_bundle() {
        let ctx = ExportContext {
            profile: Profile::default_profile(),
            generated_at: chrono::DateTime::UNIX_EPOCH,
            batch_id: "B\"1".into(),
            csv: super::super::CsvOptions::default(),
            mllp: false,
            training: false,
            wards: Vec::new(),
        };
        for training in [false, true] {
            let ctx = ExportContext {
                training,
                ..ctx.clone()
            };
            let mut streamed = Vec::new();
            write(&[], &ctx, &mut streamed).unwrap();
            let value: serde_json::Value = serde_json::from_slice(&streamed).unwrap();
            assert_eq!(value.get("meta").is_some(), training);
            let mut whole = serde_json::to_vec_pretty(&value).unwrap();
            whole.push(b'\n');
            assert_eq!(String::from_utf8(streamed), String::from_utf8(whole));
        }
    }
}
