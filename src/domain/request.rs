//! Patients and requests: what was typed (`RequestDraft`, strings, in [`super::draft`]), and what
//! it becomes once every field has been checked (`NewRequest`). Parse, don't validate: a
//! `NewRequest` is always valid. The patient and priority types live in [`super::patient`]; they
//! are re-exported here so that `domain::request::*` names the whole request model.

use std::fmt;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::catalogue::RequestedTest;
pub use super::dates::{CLOCK_SKEW_MINUTES, parse_date, parse_time};
pub use super::draft::{IDENTITY_REASON_MAX, LONG_MAX, NAME_MAX, RequestDraft, SHORT_MAX};
pub use super::patient::{ALL_PRIORITIES, ALL_SEXES, Patient, Priority, Sex, UnknownPriority};

/// A checked request, ready to store. The downtime ID is issued by the store when it commits.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NewRequest {
    /// Made when the form opens, so saving the same form twice is recognised.
    pub uuid: Uuid,
    pub patient: Patient,
    pub ward: String,
    pub consultant: String,
    pub requester: String,
    /// Bleep or phone number for the lab to call with results.
    pub requester_contact: String,
    pub tests: Vec<RequestedTest>,
    pub priority: Priority,
    pub collected_at: DateTime<Utc>,
    pub collected_by: String,
    pub clinical_details: String,
    pub notes: String,
    /// Set when the user saved despite an identity mismatch: their reason and what was on file.
    /// Kept in the `Created` event, so the history says who the request conflicted with; never
    /// exported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_override: Option<IdentityOverride>,
}

/// Why a request was saved although its NHS number or MRN is on file for someone with other
/// details (see [`crate::domain::identity`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IdentityOverride {
    /// As the user gave it, cleaned; never empty.
    pub reason: String,
    /// `patient_line` of each conflicting record on file, filled by the store when it saves.
    #[serde(default)]
    pub on_file: Vec<String>,
}

impl NewRequest {
    pub fn has_transfusion_test(&self) -> bool {
        self.tests.iter().any(|t| t.transfusion)
    }

    pub fn test_codes(&self) -> Vec<String> {
        self.tests.iter().map(|t| t.code.clone()).collect()
    }
}

/// How long before now a collection time may be: a downtime lasts days or weeks, and paper
/// forms may be typed in weeks later, but a sample from over a year ago (or from 1970, a clock
/// reset or a mistyped year) is not a request to act on.
pub const COLLECTED_MAX_AGE_DAYS: i64 = 366;

/// Why a collection time cannot be right.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CollectionTimeError {
    #[error("Collection time is in the future: check the date and time")]
    Future,
    #[error(
        "Collection time is more than {COLLECTED_MAX_AGE_DAYS} days ago: check the date and year"
    )]
    TooOld,
}

/// The rule for a collection time, wherever one comes from (the form, an import): not after
/// `now` plus [`CLOCK_SKEW_MINUTES`], not more than [`COLLECTED_MAX_AGE_DAYS`] before `now`.
pub fn check_collection_time(
    at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), CollectionTimeError> {
    if at > now + chrono::Duration::minutes(CLOCK_SKEW_MINUTES) {
        Err(CollectionTimeError::Future)
    } else if at < now - chrono::Duration::days(COLLECTED_MAX_AGE_DAYS) {
        Err(CollectionTimeError::TooOld)
    } else {
        Ok(())
    }
}

/// The request form's fields, in the order they appear (and errors are reported).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum Field {
    NhsNumber,
    Mrn,
    EmergencyNumber,
    Surname,
    Forename,
    Dob,
    Sex,
    /// The reason given for saving despite an identity mismatch.
    IdentityReason,
    Ward,
    Consultant,
    Requester,
    RequesterContact,
    Priority,
    Tests,
    CollectedDate,
    CollectedTime,
    CollectedBy,
    ClinicalDetails,
    Notes,
}

impl Field {
    pub fn label(self) -> &'static str {
        match self {
            Field::NhsNumber => "NHS number",
            Field::Mrn => "Hospital number (MRN)",
            Field::EmergencyNumber => "A&E / major incident number",
            Field::Surname => "Surname",
            Field::Forename => "Forename",
            Field::Dob => "Date of birth",
            Field::Sex => "Sex",
            Field::IdentityReason => "Reason for saving despite the identity mismatch",
            Field::Ward => "Ward / location",
            Field::Consultant => "Responsible consultant",
            Field::Requester => "Requesting clinician",
            Field::RequesterContact => "Bleep / phone",
            Field::Priority => "Priority",
            Field::Tests => "Tests",
            Field::CollectedDate => "Collected on",
            Field::CollectedTime => "Collected at",
            Field::CollectedBy => "Collected by",
            Field::ClinicalDetails => "Clinical details",
            Field::Notes => "Notes",
        }
    }
}

/// One problem with one field, worded for the person at the keyboard.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FieldError {
    pub field: Field,
    pub message: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field.label(), self.message)
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn refuses_a_collection_time_in_1970_or_over_a_year_ago() {
        let now = Utc.with_ymd_and_hms(2026, 11, 30, 9, 0, 0).unwrap();
        let at = |y, m, d| Utc.with_ymd_and_hms(y, m, d, 9, 0, 0).unwrap();
        assert_eq!(
            check_collection_time(at(1970, 1, 1), now),
            Err(CollectionTimeError::TooOld)
        );
        assert_eq!(
            check_collection_time(at(2025, 11, 28), now),
            Err(CollectionTimeError::TooOld)
        );
        assert_eq!(check_collection_time(at(2026, 1, 5), now), Ok(()));
        assert_eq!(check_collection_time(now, now), Ok(()));
        assert_eq!(
            check_collection_time(now + chrono::Duration::minutes(CLOCK_SKEW_MINUTES), now),
            Ok(())
        );
        assert_eq!(
            check_collection_time(now + chrono::Duration::minutes(CLOCK_SKEW_MINUTES + 1), now),
            Err(CollectionTimeError::Future)
        );
    }
}
