//! One Patient entry per patient identifier in a Bundle. Requests that share an NHS number or a
//! hospital number (MRN), directly or through another request, are one patient: two conditional
//! creates of one identifier in one transaction are refused by a FHIR server (or, in practice,
//! make duplicate patients). When such requests disagree on the patient's details, the Bundle
//! cannot be written without choosing one of them, so that is an identity conflict for the
//! export's pre-flight report, never a silent choice.

use std::borrow::Cow;
use std::collections::HashMap;

use crate::domain::event::RequestState;
use crate::domain::identity::{Difference, Identifier, mismatches, same_patient};
use crate::domain::nhs_number::NhsNumber;
use crate::domain::request::Patient;
use crate::export::check::Finding;

/// Which Patient entry each request refers to.
pub(super) struct PatientGroups<'a> {
    /// For each request, the index of the first request of its patient (its own index for the
    /// first): that request's turn writes the Patient entry, so it precedes every reference.
    pub(super) first: Vec<usize>,
    /// For each request that is the first of its patient, the identifiers the entry carries:
    /// every request of the patient adds the ones it has.
    pub(super) identifiers: HashMap<usize, (Option<NhsNumber>, Option<&'a str>)>,
    /// Requests whose patient details disagree with the first request under a shared identifier.
    pub(super) conflicts: Vec<Finding>,
}

/// What joins requests into one patient.
#[derive(PartialEq, Eq, Hash)]
enum Key<'a> {
    Nhs(NhsNumber),
    Mrn(Cow<'a, str>),
    /// An unidentified patient (A&E or major-incident number only) is created plainly, with no
    /// condition; requests for one with identical details share its entry.
    Unidentified(Details<'a>),
}

/// Every field of [`Patient`], as its `PartialEq` compares them.
type Details<'a> = (
    &'a str,
    &'a str,
    Option<chrono::NaiveDate>,
    crate::domain::request::Sex,
    Option<&'a str>,
);

fn details(p: &Patient) -> Details<'_> {
    (
        &p.surname,
        &p.forename,
        p.dob,
        p.sex,
        p.emergency_number.as_deref(),
    )
}

fn find(parent: &mut [usize], mut i: usize) -> usize {
    while parent[i] != i {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    i
}

/// Joins the sets of `a` and `b`, keeping the lower index as the set's representative.
fn union(parent: &mut [usize], a: usize, b: usize) {
    let (a, b) = (find(parent, a), find(parent, b));
    let (low, high) = if a < b { (a, b) } else { (b, a) };
    parent[high] = low;
}

/// Groups `requests` by patient identifier (see the module doc).
pub(super) fn group(requests: &[RequestState]) -> PatientGroups<'_> {
    let mut parent: Vec<usize> = (0..requests.len()).collect();
    let mut seen: HashMap<Key<'_>, usize> = HashMap::new();
    for (i, r) in requests.iter().enumerate() {
        let p = &r.request.patient;
        let mut keys = Vec::with_capacity(2);
        if let Some(nhs) = p.nhs_number {
            keys.push(Key::Nhs(nhs));
        }
        if let Some(mrn) = &p.mrn {
            // MRNs are stored uppercase; others compare as the identity rules do.
            keys.push(Key::Mrn(if mrn.bytes().any(|b| b.is_ascii_lowercase()) {
                Cow::Owned(mrn.to_ascii_uppercase())
            } else {
                Cow::Borrowed(mrn)
            }));
        }
        if keys.is_empty() {
            keys.push(Key::Unidentified(details(p)));
        }
        for key in keys {
            match seen.get(&key) {
                Some(&j) => union(&mut parent, i, j),
                None => {
                    seen.insert(key, i);
                }
            }
        }
    }

    let mut groups = PatientGroups {
        first: Vec::with_capacity(requests.len()),
        identifiers: HashMap::new(),
        conflicts: Vec::new(),
    };
    for (i, r) in requests.iter().enumerate() {
        let root = find(&mut parent, i);
        groups.first.push(root);
        let p = &r.request.patient;
        let first = &requests[root];
        let (nhs, mrn) = groups.identifiers.entry(root).or_insert((None, None));
        let mut differs = Vec::new();
        match (*nhs, p.nhs_number) {
            (Some(a), Some(b)) if a != b => differs.push("NHS number"),
            (None, Some(b)) => *nhs = Some(b),
            _ => {}
        }
        match (*mrn, p.mrn.as_deref()) {
            (Some(a), Some(b)) if !a.eq_ignore_ascii_case(b) => differs.push("hospital number"),
            (None, Some(b)) => *mrn = Some(b),
            _ => {}
        }
        if root != i && !same_patient(&first.request.patient, p) {
            differs.extend(details_differing(&first.request.patient, p));
        }
        if !differs.is_empty() {
            groups.conflicts.push(conflict(first, r, &differs));
        }
    }
    groups
}

/// The details on which two patients differ, as the identity rules compare them (called only
/// when [`same_patient`] says they do).
fn details_differing(a: &Patient, b: &Patient) -> Vec<&'static str> {
    let identifier = match (b.nhs_number, &b.mrn) {
        (Some(n), _) => Identifier::Nhs(n),
        (None, Some(m)) => Identifier::Mrn(m.clone()),
        (None, None) => return vec!["A&E number"],
    };
    let mut words: Vec<&str> = mismatches(b, &[(identifier, a.clone())])
        .into_iter()
        .flat_map(|m| m.differences)
        .map(Difference::word)
        .collect();
    // Names, date of birth and sex agree, so what differs is the A&E or major-incident number.
    if words.is_empty() {
        words.push("A&E number");
    }
    words
}

fn conflict(first: &RequestState, r: &RequestState, differs: &[&str]) -> Finding {
    let shared = match (
        first.request.patient.nhs_number,
        r.request.patient.nhs_number,
    ) {
        (Some(a), Some(b)) if a == b => "NHS number",
        _ => "hospital number",
    };
    Finding {
        downtime_id: Some(r.downtime_id.grouped()),
        location: "Patient".into(),
        problem: format!(
            "shares its {shared} with request {}, but its {} differs: a FHIR Bundle holds one \
             Patient per identifier, so correct the request with the wrong details",
            first.downtime_id.grouped(),
            differs.join(", "),
        ),
    }
}
