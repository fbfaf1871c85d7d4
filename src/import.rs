//! Importing requests typed elsewhere (paper forms typed into a spreadsheet during the outage),
//! in the columns of the CSV export ([`CSV_COLUMNS`]).
//!
//! Every row becomes a [`RequestDraft`] and is validated exactly as the form validates it (in
//! UTC: `collected_at` carries its offset). Any bad row refuses the whole file, with every problem
//! of every row; a good file is saved in one transaction, each request getting a new downtime ID
//! from this workstation.
//!
//! Columns (header row required, any order, names as in the export):
//! - required: `surname`, `dob` (YYYY-MM-DD or DD/MM/YYYY), `ward`, `consultant`, `requester`,
//!   `requester_contact`, `priority` (emergency, urgent, routine), `tests` (catalogue codes joined
//!   by `;`), `collected_at` (RFC 3339 with offset, e.g. 2026-11-30T09:15:00Z; seconds are
//!   dropped, as the form records minutes), `collected_by`, and at least one of `nhs_number`,
//!   `mrn`, `emergency_number` (an emergency number marks an unidentified patient, whose `sex`
//!   must be male or female);
//! - optional: `forename`, `sex` (female, male, other, unknown; blank = unknown),
//!   `clinical_details`, `notes`, `uuid` (kept, so importing the same file twice is recognised;
//!   when blank a UUID is derived from the row, with the same effect);
//! - ignored (the new request gets its own): `downtime_id`, `status`, `created_at`, `created_by`,
//!   `workstation`, `accession`, `reason`.
//!
//! A one-row-per-test export (`test_name` column) cannot be imported.

use std::io::Read;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::domain::audit::AuditAction;
use crate::domain::catalogue::Catalogue;
use crate::domain::downtime_id::DowntimeId;
use crate::domain::request::{ALL_SEXES, NewRequest, RequestDraft, Sex};
use crate::export::{CSV_COLUMNS, unneutralise};
use crate::store::{Store, StoreError};

/// Columns a file must have.
pub const REQUIRED_COLUMNS: &[&str] = &[
    "surname",
    "dob",
    "ward",
    "consultant",
    "requester",
    "requester_contact",
    "priority",
    "tests",
    "collected_at",
    "collected_by",
];

/// At least one of these identifies the patient.
pub const IDENTIFIER_COLUMNS: &[&str] = &["nhs_number", "mrn", "emergency_number"];

/// Namespace for UUIDs derived from an imported row without one.
const IMPORT_NAMESPACE: Uuid = Uuid::from_u128(0x5d6f_1c0e_8a3b_4e57_9c2d_7b41_a0e3_6f18);

/// Why nothing was imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{0}")]
    File(String),
    #[error("{} row(s) have problems; nothing was imported:\n{}", .0.len(), .0.join("\n"))]
    Rows(Vec<String>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What was imported.
#[derive(Debug, Clone, PartialEq)]
pub struct Imported {
    /// The downtime ID of each row's request, in file order.
    pub ids: Vec<DowntimeId>,
    /// Rows whose request had already been imported (same UUID): not saved again.
    pub already_saved: usize,
}

/// Reads and validates every row. Returns each row's number (header = row 1) and request, or
/// one line per problem (`row 5: NHS number ...`).
pub fn parse_requests(
    input: impl Read,
    now: DateTime<Utc>,
    catalogue: &Catalogue,
) -> Result<Vec<(usize, NewRequest)>, ImportError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(input);
    let mut records = reader.records();
    let csv_err = |e: csv::Error| {
        let row = e.position().map_or(0, csv::Position::line);
        // The csv crate's own message for this says "invalid utf-8" twice and counts from 0.
        ImportError::File(match e.kind() {
            csv::ErrorKind::Utf8 { .. } => {
                format!("row {row} is not UTF-8 text: save the file as \"CSV UTF-8\" and try again")
            }
            _ => format!("row {row}: {e}"),
        })
    };
    let header: Vec<String> = match records.next() {
        None => return Err(ImportError::File("the file is empty".into())),
        Some(h) => h
            .map_err(csv_err)?
            .iter()
            .map(|h| h.trim().trim_start_matches('\u{feff}').to_ascii_lowercase())
            .collect(),
    };
    if header.iter().any(|h| h == "test_name") {
        return Err(ImportError::File(
            "this is a one-row-per-test export: import a one-row-per-request CSV instead".into(),
        ));
    }
    let mut file_problems = Vec::new();
    for h in &header {
        if !CSV_COLUMNS.contains(&h.as_str()) {
            file_problems.push(format!(
                "column '{h}' is not an import column (expected names: {})",
                CSV_COLUMNS.join(", ")
            ));
        }
    }
    for r in REQUIRED_COLUMNS {
        if !header.iter().any(|h| h == r) {
            file_problems.push(format!("the required column '{r}' is missing"));
        }
    }
    if !IDENTIFIER_COLUMNS
        .iter()
        .any(|c| header.iter().any(|h| h == c))
    {
        file_problems.push("a column nhs_number, mrn or emergency_number is needed".into());
    }
    if !file_problems.is_empty() {
        return Err(ImportError::File(format!(
            "row 1 (the header): {}",
            file_problems.join("; ")
        )));
    }

    let mut out = Vec::new();
    let mut problems = Vec::new();
    for (i, rec) in records.enumerate() {
        let row = i + 2;
        let rec = rec.map_err(csv_err)?;
        if rec.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        // A field past the header's last column has no name: importing the row without it would
        // drop what was typed there without a word.
        if rec.len() > header.len() {
            let extra: Vec<&str> = rec.iter().skip(header.len()).collect();
            problems.push(format!(
                "row {row} has {} fields but the header names {} columns; the extra field(s) {} \
                 have no column: remove them, or add their column to the header",
                rec.len(),
                header.len(),
                extra
                    .iter()
                    .map(|c| format!("'{}'", crate::domain::text::visible(c)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            continue;
        }
        let cell = |name: &str| -> String {
            header
                .iter()
                .position(|h| h == name)
                .and_then(|i| rec.get(i))
                .map(|c| unneutralise(c).trim().to_owned())
                .unwrap_or_default()
        };
        match row_to_request(&cell, now, catalogue) {
            Ok(r) => out.push((row, r)),
            Err(errs) => problems.extend(errs.into_iter().map(|e| format!("row {row}: {e}"))),
        }
    }
    problems.extend(repeated_rows(&out));
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(ImportError::Rows(problems))
    }
}

/// Rows that are the same request as an earlier row of the file (identical rows, or the same
/// `uuid`): without this they would collapse into one, reported as "already imported".
fn repeated_rows(rows: &[(usize, NewRequest)]) -> Vec<String> {
    let mut first: std::collections::HashMap<Uuid, usize> = std::collections::HashMap::new();
    let mut problems = Vec::new();
    for (row, r) in rows {
        match first.get(&r.uuid) {
            Some(earlier) => problems.push(format!(
                "row {row} is the same request as row {earlier} (identical rows, or the same uuid): \
                 remove the repeat, or give each request its own uuid"
            )),
            None => {
                first.insert(r.uuid, *row);
            }
        }
    }
    problems
}

fn row_to_request(
    cell: &dyn Fn(&str) -> String,
    now: DateTime<Utc>,
    catalogue: &Catalogue,
) -> Result<NewRequest, Vec<String>> {
    let mut errors = Vec::new();
    let sex_text = cell("sex").to_ascii_lowercase();
    let sex = if sex_text.is_empty() {
        Sex::Unknown
    } else {
        ALL_SEXES
            .into_iter()
            .find(|s| s.word() == sex_text)
            .unwrap_or_else(|| {
                errors.push(format!(
                    "Sex '{sex_text}' is not one of female, male, other, unknown"
                ));
                Sex::Unknown
            })
    };
    let priority_text = cell("priority");
    let priority = if priority_text.is_empty() {
        None
    } else {
        match priority_text.parse() {
            Ok(p) => Some(p),
            Err(e) => {
                errors.push(format!("Priority: {e}"));
                None
            }
        }
    };
    let collected = cell("collected_at");
    let (collected_date, collected_time) = if collected.is_empty() {
        (String::new(), String::new())
    } else {
        match DateTime::parse_from_rfc3339(&collected) {
            Ok(t) => {
                let t = t.with_timezone(&Utc);
                (
                    t.format("%d/%m/%Y").to_string(),
                    t.format("%H:%M").to_string(),
                )
            }
            Err(_) => {
                errors.push(format!(
                    "Collected at '{collected}' is not a date and time with an offset: write it like 2026-11-30T09:15:00Z"
                ));
                // A placeholder, so the form's own checks do not report the same cell again.
                (
                    now.format("%d/%m/%Y").to_string(),
                    now.format("%H:%M").to_string(),
                )
            }
        }
    };
    let uuid_text = cell("uuid");
    let typed_uuid = if uuid_text.is_empty() {
        None
    } else {
        match Uuid::parse_str(&uuid_text) {
            Ok(u) => Some(u),
            Err(_) => {
                errors.push(format!("uuid '{uuid_text}' is not a UUID (leave it blank)"));
                None
            }
        }
    };
    let emergency_number = cell("emergency_number");
    let mut draft = RequestDraft {
        uuid: Uuid::nil(),
        unidentified: !emergency_number.is_empty(),
        nhs_number: cell("nhs_number"),
        mrn: cell("mrn"),
        emergency_number,
        surname: cell("surname"),
        forename: cell("forename"),
        dob: cell("dob"),
        sex,
        ward: cell("ward"),
        consultant: cell("consultant"),
        requester: cell("requester"),
        requester_contact: cell("requester_contact"),
        priority,
        tests: cell("tests")
            .split(';')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect(),
        collected_date,
        collected_time,
        collected_by: cell("collected_by"),
        clinical_details: cell("clinical_details"),
        notes: cell("notes"),
        // A file has no identity-mismatch dialog: a row that conflicts with a patient on file
        // is refused by the store, and the whole file with it.
        identity_reason: String::new(),
    };
    draft.uuid = match typed_uuid {
        Some(u) => u,
        None => {
            // The same row always gets the same UUID, so importing a file twice saves nothing
            // the second time.
            let key = serde_json::to_string(&draft).unwrap_or_default();
            Uuid::new_v5(&IMPORT_NAMESPACE, key.as_bytes())
        }
    };
    match draft.validate(now, &Utc, catalogue) {
        Ok(r) if errors.is_empty() => Ok(r),
        Ok(_) => Err(errors),
        Err(field_errors) => {
            errors.extend(field_errors.iter().map(ToString::to_string));
            Err(errors)
        }
    }
}

/// Validates every row of `input` and, if all are good, saves them in one transaction.
pub fn import_requests(
    store: &mut Store,
    input: impl Read,
    user: &str,
    now: DateTime<Utc>,
) -> Result<Imported, ImportError> {
    let catalogue = store.catalogue()?;
    let requests = parse_requests(input, now, &catalogue)?;
    let saved = store.in_transaction(|s| {
        let mut ids = Vec::with_capacity(requests.len());
        let mut already = 0;
        for (_, r) in &requests {
            let saved = s.save_request(r, user, now)?;
            already += usize::from(saved.already_saved);
            ids.push(saved.downtime_id);
        }
        let detail = format!("{} requests, {} of them saved before", ids.len(), already);
        s.audit(AuditAction::Imported, "", user, "CSV file", &detail, now)?;
        Ok(Imported {
            ids,
            already_saved: already,
        })
    })?;
    Ok(saved)
}
