//! The JSON shapes of the Bundle's resources, serialised entry by entry. Every struct declares
//! its fields in alphabetical order: that is the order the Bundle has always been written in (a
//! `serde_json::Map` sorts its keys), and a re-export of an old batch must reproduce its bytes.

use std::borrow::Cow;

use serde::Serialize;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Entry<'a, R> {
    pub(super) full_url: &'a str,
    pub(super) request: EntryRequest,
    pub(super) resource: R,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct EntryRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) if_none_exist: Option<String>,
    pub(super) method: &'static str,
    pub(super) url: &'static str,
}

impl EntryRequest {
    pub(super) fn post(url: &'static str) -> Self {
        Self {
            if_none_exist: None,
            method: "POST",
            url,
        }
    }
}

#[derive(Serialize)]
pub(super) struct Identifier<'a> {
    pub(super) system: &'a str,
    pub(super) value: Cow<'a, str>,
}

#[derive(Serialize)]
pub(super) struct TypedIdentifier<'a> {
    pub(super) system: &'a str,
    pub(super) r#type: Concept<'a>,
    pub(super) value: &'a str,
}

#[derive(Serialize)]
pub(super) struct Coding<'a> {
    pub(super) code: &'a str,
    pub(super) display: &'a str,
    pub(super) system: &'a str,
}

/// Resource metadata: only the security label of training data.
#[derive(Serialize)]
pub(super) struct Meta {
    pub(super) security: [Coding<'static>; 1],
}

/// A CodeableConcept with one coding and no text.
#[derive(Serialize)]
pub(super) struct Concept<'a> {
    pub(super) coding: [Coding<'a>; 1],
}

#[derive(Serialize)]
pub(super) struct Text<'a> {
    pub(super) text: Cow<'a, str>,
}

#[derive(Serialize)]
pub(super) struct Reference<'a> {
    pub(super) reference: &'a str,
}

#[derive(Serialize)]
pub(super) struct Display<'a> {
    pub(super) display: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct PatientResource<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) birth_date: Option<String>,
    pub(super) gender: &'static str,
    pub(super) identifier: Vec<Identifier<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) meta: Option<&'static Meta>,
    pub(super) name: [HumanName<'a>; 1],
    pub(super) resource_type: &'static str,
}

#[derive(Serialize)]
pub(super) struct HumanName<'a> {
    pub(super) family: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) given: Option<[&'a str; 1]>,
    pub(super) r#use: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct SpecimenResource<'a> {
    pub(super) collection: Collection<'a>,
    pub(super) container: [Container; 1],
    pub(super) identifier: [Identifier<'a>; 1],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) meta: Option<&'static Meta>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) note: Option<[Text<'static>; 1]>,
    pub(super) request: Vec<Reference<'a>>,
    pub(super) resource_type: &'static str,
    pub(super) status: &'static str,
    pub(super) subject: Reference<'a>,
    pub(super) r#type: SpecimenType<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Collection<'a> {
    pub(super) collected_date_time: &'a str,
    pub(super) collector: Display<'a>,
}

#[derive(Serialize)]
pub(super) struct Container {
    pub(super) r#type: Text<'static>,
}

#[derive(Serialize)]
pub(super) struct SpecimenType<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) coding: Option<[Coding<'a>; 1]>,
    pub(super) text: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ServiceRequestResource<'a> {
    pub(super) authored_on: &'a str,
    pub(super) category: [Concept<'a>; 1],
    pub(super) code: TestCode<'a>,
    pub(super) identifier: Vec<TypedIdentifier<'a>>,
    pub(super) intent: &'static str,
    pub(super) location_code: [Text<'a>; 1],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) meta: Option<&'static Meta>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) note: Option<&'a [Text<'a>]>,
    pub(super) priority: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) reason_code: Option<[Text<'a>; 1]>,
    pub(super) requester: Display<'a>,
    pub(super) requisition: Identifier<'a>,
    pub(super) resource_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) specimen: Option<[Reference<'a>; 1]>,
    pub(super) status: &'static str,
    pub(super) subject: Reference<'a>,
}

#[derive(Serialize)]
pub(super) struct TestCode<'a> {
    pub(super) coding: [Coding<'a>; 1],
    pub(super) text: &'a str,
}

/// One entry of the Bundle, whichever resource it holds.
#[derive(Serialize)]
#[serde(untagged)]
pub(super) enum AnyEntry<'a> {
    Patient(Entry<'a, PatientResource<'a>>),
    Specimen(Entry<'a, SpecimenResource<'a>>),
    ServiceRequest(Entry<'a, ServiceRequestResource<'a>>),
}
