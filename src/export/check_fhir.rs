//! Conformance check of a written FHIR export: the Bundle against the official FHIR R4 JSON
//! schema (`assets/fhir/fhir.schema.json`, compiled in), and what the schema cannot say but a
//! FHIR server refuses in a transaction: a reference that points outside the Bundle, two entries
//! with one fullUrl, two conditional creates with one `ifNoneExist`, an entry without a request.
//!
//! [`check_fhir`] takes the bytes as written, so `stopgap export --check` and the tests check
//! exactly what a receiver would get. Messages never quote the data (the schema's own messages
//! are masked), so a report can be shown or logged without patient details.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, OnceLock};

use jsonschema::Validator;
use serde_json::Value;

use crate::domain::downtime_id::DowntimeId;

use super::check::Finding;

/// The official FHIR R4 JSON schema (draft-06), as published with the specification.
const FHIR_R4_SCHEMA: &str = include_str!("../../assets/fhir/fhir.schema.json");

/// Every problem in the FHIR Bundle `bytes`, in Bundle order; empty when a strict R4 server
/// would accept it.
pub fn check_fhir(bytes: &[u8]) -> Vec<Finding> {
    let bundle: Value = match serde_json::from_slice(bytes) {
        Ok(v) => v,
        Err(e) => {
            return vec![finding(
                None,
                "/".into(),
                format!("not JSON ({e}): export the Bundle again"),
            )];
        }
    };
    let mut findings = schema_findings(&bundle);
    findings.extend(transaction_findings(&bundle));
    findings
}

fn finding(downtime_id: Option<String>, location: String, problem: String) -> Finding {
    Finding {
        downtime_id,
        location,
        problem,
    }
}

/// The schema compiled once, or why it could not be (which would be a build fault).
fn root_validator() -> &'static Result<Validator, String> {
    static ROOT: OnceLock<Result<Validator, String>> = OnceLock::new();
    ROOT.get_or_init(|| compile(None))
}

/// Compiles the schema, or with `resource` the schema of that one resource type (for findings
/// that name the field at fault rather than "matches none of the resource types").
fn compile(resource: Option<&str>) -> Result<Validator, String> {
    let mut schema: Value = serde_json::from_str(FHIR_R4_SCHEMA).map_err(|e| e.to_string())?;
    if let (Some(name), Some(root)) = (resource, schema.as_object_mut()) {
        // `allOf` of one schema reports that schema's own errors, where `oneOf` would only say
        // that none matched.
        root.remove("discriminator");
        root.remove("oneOf");
        root.insert(
            "allOf".into(),
            serde_json::json!([{ "$ref": format!("#/definitions/{name}") }]),
        );
    }
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft6)
        .build(&schema)
        .map_err(|e| e.to_string())
}

/// Runs `f` with the validator of one resource type, compiled on first use.
fn with_resource_validator<T>(name: &str, f: impl FnOnce(&Validator) -> T) -> Option<T> {
    static BY_TYPE: OnceLock<Mutex<HashMap<String, Validator>>> = OnceLock::new();
    let mut map = BY_TYPE.get_or_init(Mutex::default).lock().ok()?;
    if !map.contains_key(name) {
        // Only types the schema defines compile, so the map stays as small as the schema.
        let validator = compile(Some(name)).ok()?;
        map.insert(name.to_owned(), validator);
    }
    map.get(name).map(f)
}

fn schema_findings(bundle: &Value) -> Vec<Finding> {
    let validator = match root_validator() {
        Ok(v) => v,
        Err(e) => {
            return vec![finding(
                None,
                "/".into(),
                format!("the built-in FHIR R4 schema does not compile ({e}): report this fault"),
            )];
        }
    };
    if validator.is_valid(bundle) {
        return Vec::new();
    }
    let mut findings = Vec::new();
    resource_findings(bundle, "", None, &mut findings);
    if findings.is_empty() {
        // Checked as a whole it fails, yet no resource says why: report the whole's errors.
        findings.extend(validator.iter_errors(bundle).map(|e| {
            finding(
                None,
                e.instance_path().as_str().to_owned(),
                e.masked().to_string(),
            )
        }));
    }
    findings
}

/// The schema errors of one resource at `at`, checked against its own type's schema, so each
/// finding names the field at fault rather than "matches none of the resource types". The
/// resources of a Bundle's entries are checked the same way, each on its own.
fn resource_findings(
    resource: &Value,
    at: &str,
    downtime_id: Option<String>,
    findings: &mut Vec<Finding>,
) {
    let Some(name) = resource.get("resourceType").and_then(Value::as_str) else {
        findings.push(finding(
            downtime_id,
            at.to_owned(),
            "not a FHIR R4 resource (no resourceType)".into(),
        ));
        return;
    };
    let errors = with_resource_validator(name, |v| {
        v.iter_errors(resource)
            .map(|e| {
                (
                    e.instance_path().as_str().to_owned(),
                    e.masked().to_string(),
                )
            })
            .collect::<Vec<_>>()
    });
    let Some(errors) = errors else {
        findings.push(finding(
            downtime_id,
            at.to_owned(),
            format!("'{name}' is not a FHIR R4 resource type"),
        ));
        return;
    };
    let mut entries_seen = HashSet::new();
    for (path, problem) in errors {
        if let Some(index) = entry_index(&path)
            && let Some(inner) = resource.pointer(&format!("/entry/{index}/resource"))
        {
            if entries_seen.insert(index) {
                let id = downtime_id_of(inner);
                resource_findings(inner, &format!("{at}/entry/{index}/resource"), id, findings);
            }
            continue;
        }
        findings.push(finding(downtime_id.clone(), format!("{at}{path}"), problem));
    }
}

/// `N` of a path inside `/entry/N/resource`.
fn entry_index(path: &str) -> Option<usize> {
    let rest = path.strip_prefix("/entry/")?;
    let (index, rest) = rest.split_once('/')?;
    (rest == "resource" || rest.starts_with("resource/"))
        .then(|| index.parse().ok())
        .flatten()
}

/// The downtime ID a resource belongs to, grouped as on its form: a ServiceRequest's
/// requisition, or a Specimen's identifier without its `-S<n>` suffix. A Patient may belong to
/// several requests: none.
fn downtime_id_of(resource: &Value) -> Option<String> {
    let text = |p: &str| resource.pointer(p).and_then(Value::as_str);
    let id = match text("/resourceType")? {
        "ServiceRequest" => text("/requisition/value")?,
        "Specimen" => {
            let v = text("/identifier/0/value")?;
            v.rsplit_once("-S").map_or(v, |(id, _)| id)
        }
        _ => return None,
    };
    // What is not a downtime ID is shown as written.
    Some(DowntimeId::parse(id).map_or_else(|_| id.to_owned(), |d| d.grouped()))
}

/// What a FHIR server checks of a transaction beyond the schema.
fn transaction_findings(bundle: &Value) -> Vec<Finding> {
    let mut findings = Vec::new();
    let entries = bundle
        .get("entry")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    let mut full_urls = HashSet::new();
    for (i, entry) in entries.iter().enumerate() {
        if let Some(url) = entry.get("fullUrl").and_then(Value::as_str)
            && !full_urls.insert(url)
        {
            findings.push(finding(
                entry.get("resource").and_then(downtime_id_of),
                format!("/entry/{i}/fullUrl"),
                "two entries have this fullUrl: each resource needs its own".into(),
            ));
        }
    }
    let mut conditions: HashMap<&str, usize> = HashMap::new();
    for (i, entry) in entries.iter().enumerate() {
        let id = entry.get("resource").and_then(downtime_id_of);
        if entry
            .pointer("/request/method")
            .and_then(Value::as_str)
            .is_none()
        {
            findings.push(finding(
                id.clone(),
                format!("/entry/{i}/request"),
                "a transaction entry needs a request with a method".into(),
            ));
        }
        if let Some(condition) = entry
            .pointer("/request/ifNoneExist")
            .and_then(Value::as_str)
            && let Some(first) = conditions.insert(condition, i)
        {
            findings.push(finding(
                id.clone(),
                format!("/entry/{i}/request/ifNoneExist"),
                format!(
                    "the same conditional create as entry {first}: a server refuses the \
                     transaction (one Patient entry per identifier)"
                ),
            ));
        }
        if let Some(resource) = entry.get("resource") {
            let mut at = format!("/entry/{i}/resource");
            unresolved_references(resource, &full_urls, &mut at, &mut |path| {
                findings.push(finding(
                    id.clone(),
                    path.to_owned(),
                    "reference to no entry of this Bundle".into(),
                ));
            });
        }
    }
    findings
}

/// Calls `report` with the path of every `reference` under `value` that is no fullUrl in
/// `full_urls`. `at` is the path of `value`, extended and restored while walking.
fn unresolved_references(
    value: &Value,
    full_urls: &HashSet<&str>,
    at: &mut String,
    report: &mut dyn FnMut(&str),
) {
    let len = at.len();
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                at.push('/');
                at.push_str(key);
                if key == "reference"
                    && let Some(target) = v.as_str()
                    && !full_urls.contains(target)
                {
                    report(at);
                }
                unresolved_references(v, full_urls, at, report);
                at.truncate(len);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                at.push('/');
                at.push_str(&i.to_string());
                unresolved_references(v, full_urls, at, report);
                at.truncate(len);
            }
        }
        _ => {}
    }
}
