//! The request form as typed (`RequestDraft`: every field a string) and its validation into a
//! `NewRequest`, reporting every problem at once in form order.

use std::fmt;

use chrono::{DateTime, TimeZone, Utc};
use uuid::Uuid;

use super::catalogue::{Catalogue, RequestedTest};
use super::dates::{check_collected, check_dob, parse_date};
use super::nhs_number::NhsNumber;
use super::patient::{Patient, Priority, Sex};
use super::request::{Field, FieldError, IdentityOverride, NewRequest};
use super::text::{TextError, clean};

/// The request form as typed: every field a string, so nothing typed is ever lost, and the form
/// survives a restart as a draft.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct RequestDraft {
    pub uuid: Uuid,
    /// Unidentified emergency patient: "Unknown male/female" plus an A&E or major-incident number.
    pub unidentified: bool,
    pub nhs_number: String,
    pub mrn: String,
    pub emergency_number: String,
    pub surname: String,
    pub forename: String,
    /// DD/MM/YYYY (also DD-MM-YYYY, DDMMYYYY, YYYY-MM-DD).
    pub dob: String,
    pub sex: Sex,
    pub ward: String,
    pub consultant: String,
    pub requester: String,
    pub requester_contact: String,
    pub priority: Option<Priority>,
    /// Catalogue codes, in the order picked.
    pub tests: Vec<String>,
    /// DD/MM/YYYY, local time.
    pub collected_date: String,
    /// HH:MM, local time.
    pub collected_time: String,
    pub collected_by: String,
    pub clinical_details: String,
    pub notes: String,
    /// Typed in the identity-mismatch dialog: why the request is saved anyway. Left out of the
    /// JSON when empty, so drafts (and the UUIDs the import derives from them) are unchanged.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub identity_reason: String,
}

/// Limits on field lengths, in characters.
pub const NAME_MAX: usize = 35;
pub const SHORT_MAX: usize = 60;
pub const LONG_MAX: usize = 1000;
pub const IDENTITY_REASON_MAX: usize = 200;

impl RequestDraft {
    /// A fresh form: a new UUID, collection time set to `now` in `tz`.
    pub fn new<Tz: TimeZone>(now: DateTime<Utc>, tz: &Tz) -> Self
    where
        Tz::Offset: fmt::Display,
    {
        let local = now.with_timezone(tz);
        Self {
            uuid: Uuid::new_v4(),
            collected_date: local.format("%d/%m/%Y").to_string(),
            collected_time: local.format("%H:%M").to_string(),
            ..Self::default()
        }
    }

    /// The form as it would look with `request` typed into it (times in `tz`, to the minute, as
    /// the form holds them): for a copy of a request, and for tests and the kill test that go
    /// through the same validation the form uses.
    pub fn from_request<Tz: TimeZone>(request: &NewRequest, tz: &Tz) -> Self
    where
        Tz::Offset: fmt::Display,
    {
        let p = &request.patient;
        let collected = request.collected_at.with_timezone(tz);
        Self {
            uuid: request.uuid,
            unidentified: p.is_unidentified(),
            nhs_number: p.nhs_number.map(|n| n.to_string()).unwrap_or_default(),
            mrn: p.mrn.clone().unwrap_or_default(),
            emergency_number: p.emergency_number.clone().unwrap_or_default(),
            surname: p.surname.clone(),
            forename: p.forename.clone(),
            dob: p
                .dob
                .map(|d| d.format("%d/%m/%Y").to_string())
                .unwrap_or_default(),
            sex: p.sex,
            ward: request.ward.clone(),
            consultant: request.consultant.clone(),
            requester: request.requester.clone(),
            requester_contact: request.requester_contact.clone(),
            priority: Some(request.priority),
            tests: request.test_codes(),
            collected_date: collected.format("%d/%m/%Y").to_string(),
            collected_time: collected.format("%H:%M").to_string(),
            collected_by: request.collected_by.clone(),
            clinical_details: request.clinical_details.clone(),
            notes: request.notes.clone(),
            identity_reason: request
                .identity_override
                .as_ref()
                .map(|o| o.reason.clone())
                .unwrap_or_default(),
        }
    }

    /// Checks every field at once. Returns the request, or every problem in form order.
    pub fn validate<Tz: TimeZone>(
        &self,
        now: DateTime<Utc>,
        tz: &Tz,
        catalogue: &Catalogue,
    ) -> Result<NewRequest, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut err = |field: Field, message: String| errors.push(FieldError { field, message });

        let text = |field: Field,
                    value: &str,
                    max: usize,
                    multiline: bool,
                    errs: &mut dyn FnMut(Field, String)|
         -> String {
            match clean(value, max, multiline) {
                Ok(s) => s,
                Err(e) => {
                    errs(field, format!("{} {}", field.label(), describe(&e)));
                    String::new()
                }
            }
        };

        // Identifiers.
        let nhs_number = match self.nhs_number.trim() {
            "" => None,
            typed => match NhsNumber::parse(typed) {
                Ok(n) => Some(n),
                Err(e) => {
                    err(Field::NhsNumber, e.to_string());
                    None
                }
            },
        };
        let mrn = text(Field::Mrn, &self.mrn, 20, false, &mut err).to_uppercase();
        if !mrn.is_empty() && !mrn.chars().all(|c| c.is_ascii_alphanumeric()) {
            err(
                Field::Mrn,
                format!("Hospital number '{mrn}' may contain only letters and digits"),
            );
        }
        let emergency = text(
            Field::EmergencyNumber,
            &self.emergency_number,
            20,
            false,
            &mut err,
        )
        .to_uppercase();

        let surname;
        let forename;
        let dob;
        let sex;
        if self.unidentified {
            if emergency.is_empty() {
                err(
                    Field::EmergencyNumber,
                    "An unidentified patient needs their A&E or major-incident number".into(),
                );
            } else if !emergency
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '/')
            {
                err(
                    Field::EmergencyNumber,
                    format!(
                        "A&E / major incident number '{emergency}' may contain only letters, digits, '-' and '/'"
                    ),
                );
            }
            sex = self.sex;
            forename = match sex {
                Sex::Female => "Female".to_owned(),
                Sex::Male => "Male".to_owned(),
                Sex::Other | Sex::Unknown => {
                    err(Field::Sex, "An unidentified patient is recorded as Unknown male or Unknown female: choose one".into());
                    String::new()
                }
            };
            surname = "UNKNOWN".to_owned();
            dob = match self.dob.trim() {
                "" => None,
                typed => check_dob(typed, now, tz, &mut err),
            };
        } else {
            if nhs_number.is_none() && mrn.is_empty() && self.nhs_number.trim().is_empty() {
                err(
                    Field::NhsNumber,
                    "Enter the NHS number or the hospital number (MRN) from the wristband".into(),
                );
            }
            surname = text(Field::Surname, &self.surname, NAME_MAX, false, &mut err);
            if surname.is_empty() && self.surname.trim().is_empty() {
                err(Field::Surname, "Surname is required".into());
            } else if !surname.is_empty() && !surname.chars().any(char::is_alphabetic) {
                err(Field::Surname, "Surname must contain letters".into());
            }
            forename = text(Field::Forename, &self.forename, NAME_MAX, false, &mut err);
            dob = match self.dob.trim() {
                "" => {
                    err(Field::Dob, "Date of birth is required (DD/MM/YYYY)".into());
                    None
                }
                typed => check_dob(typed, now, tz, &mut err),
            };
            sex = self.sex;
        }
        let identity_reason = text(
            Field::IdentityReason,
            &self.identity_reason,
            IDENTITY_REASON_MAX,
            true,
            &mut err,
        );

        // Request.
        let required = |field: Field,
                        value: &str,
                        max: usize,
                        errs: &mut dyn FnMut(Field, String)|
         -> String {
            let v = text(field, value, max, false, errs);
            if v.is_empty() && value.trim().is_empty() {
                errs(field, format!("{} is required", field.label()));
            }
            v
        };
        let ward = required(Field::Ward, &self.ward, SHORT_MAX, &mut err);
        let consultant = required(Field::Consultant, &self.consultant, SHORT_MAX, &mut err);
        let requester = required(Field::Requester, &self.requester, SHORT_MAX, &mut err);
        let requester_contact = required(
            Field::RequesterContact,
            &self.requester_contact,
            30,
            &mut err,
        );
        let priority = self.priority;
        if priority.is_none() {
            err(
                Field::Priority,
                "Choose a priority: emergency, urgent or routine".into(),
            );
        }
        let mut tests = Vec::new();
        if self.tests.is_empty() {
            err(Field::Tests, "Add at least one test".into());
        }
        for code in &self.tests {
            match catalogue.test(code) {
                Some(t) if tests.iter().any(|x: &RequestedTest| x.code == t.code) => {
                    err(Field::Tests, format!("{} is listed twice", t.name));
                }
                Some(t) => tests.push(RequestedTest::from(t)),
                None => err(
                    Field::Tests,
                    format!("Test code '{code}' is not in the catalogue in use"),
                ),
            }
        }
        let collected_at = check_collected(
            &self.collected_date,
            &self.collected_time,
            now,
            tz,
            dob,
            &mut err,
        );
        let collected_by = required(Field::CollectedBy, &self.collected_by, SHORT_MAX, &mut err);
        let clinical_details = text(
            Field::ClinicalDetails,
            &self.clinical_details,
            LONG_MAX,
            true,
            &mut err,
        );
        let notes = text(Field::Notes, &self.notes, LONG_MAX, true, &mut err);

        errors.sort_by_key(|e| e.field);
        match (priority, collected_at) {
            (Some(priority), Some(collected_at)) if errors.is_empty() => Ok(NewRequest {
                uuid: self.uuid,
                patient: Patient {
                    surname,
                    forename,
                    dob,
                    sex,
                    nhs_number,
                    mrn: (!mrn.is_empty()).then_some(mrn),
                    emergency_number: (self.unidentified && !emergency.is_empty())
                        .then_some(emergency),
                },
                ward,
                consultant,
                requester,
                requester_contact,
                tests,
                priority,
                collected_at,
                collected_by,
                clinical_details,
                notes,
                identity_override: (!identity_reason.is_empty()).then(|| IdentityOverride {
                    reason: identity_reason,
                    on_file: Vec::new(),
                }),
            }),
            _ => Err(errors),
        }
    }

    /// The patient as typed so far, for a live identity check before the form is complete:
    /// surname and forename trimmed, the date of birth if it parses, the sex, the NHS number if
    /// it is valid, the MRN uppercased if it is letters and digits. `None` when neither a valid
    /// NHS number nor an MRN is typed, and for an unidentified patient (never compared).
    pub fn typed_patient(&self) -> Option<Patient> {
        if self.unidentified {
            return None;
        }
        let nhs_number = NhsNumber::parse(self.nhs_number.trim()).ok();
        let mrn = Some(self.mrn.trim().to_uppercase())
            .filter(|m| !m.is_empty() && m.chars().all(|c| c.is_ascii_alphanumeric()));
        if nhs_number.is_none() && mrn.is_none() {
            return None;
        }
        Some(Patient {
            surname: self.surname.trim().to_owned(),
            forename: self.forename.trim().to_owned(),
            dob: parse_date(&self.dob),
            sex: self.sex,
            nhs_number,
            mrn,
            emergency_number: None,
        })
    }

    /// Fills the patient fields from an earlier request's patient.
    pub fn fill_patient(&mut self, p: &Patient) {
        self.unidentified = p.is_unidentified();
        self.surname = if p.is_unidentified() {
            String::new()
        } else {
            p.surname.clone()
        };
        self.forename = if p.is_unidentified() {
            String::new()
        } else {
            p.forename.clone()
        };
        self.dob = p
            .dob
            .map(|d| d.format("%d/%m/%Y").to_string())
            .unwrap_or_default();
        self.sex = p.sex;
        self.nhs_number = p.nhs_number.map(|n| n.to_string()).unwrap_or_default();
        self.mrn = p.mrn.clone().unwrap_or_default();
        self.emergency_number = p.emergency_number.clone().unwrap_or_default();
    }
}

fn describe(e: &TextError) -> String {
    e.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::FixedOffset;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, 4, 10, 30, 0).unwrap()
    }

    fn cat() -> Catalogue {
        Catalogue::default_uk().unwrap()
    }

    /// A complete, valid draft for a synthetic patient.
    pub(crate) fn good() -> RequestDraft {
        RequestDraft {
            uuid: Uuid::nil(),
            nhs_number: "999 000 0018".into(),
            surname: "Testpatient".into(),
            forename: "Alice".into(),
            dob: "01/01/1980".into(),
            sex: Sex::Female,
            ward: "Ward 7".into(),
            consultant: "Dr Example".into(),
            requester: "Dr Jones".into(),
            requester_contact: "Bleep 1234".into(),
            priority: Some(Priority::Urgent),
            tests: vec!["FBC".into(), "UE".into()],
            collected_date: "04/06/2026".into(),
            collected_time: "10:20".into(),
            collected_by: "Nurse Bloggs".into(),
            ..RequestDraft::default()
        }
    }

    fn fields(d: &RequestDraft) -> Vec<Field> {
        match d.validate(now(), &Utc, &cat()) {
            Ok(_) => vec![],
            Err(es) => es.into_iter().map(|e| e.field).collect(),
        }
    }

    fn message(d: &RequestDraft, f: Field) -> String {
        d.validate(now(), &Utc, &cat())
            .unwrap_err()
            .into_iter()
            .find(|e| e.field == f)
            .unwrap()
            .message
    }

    #[test]
    fn a_complete_draft_becomes_a_request() {
        let r = good().validate(now(), &Utc, &cat()).unwrap();
        assert_eq!(r.patient.nhs_number.unwrap().digits(), "9990000018");
        assert_eq!(r.tests.len(), 2);
        assert_eq!(
            r.collected_at,
            Utc.with_ymd_and_hms(2026, 6, 4, 10, 20, 0).unwrap()
        );
    }

    #[test]
    fn collection_time_is_local_time() {
        let bst = FixedOffset::east_opt(3600).unwrap();
        let r = good().validate(now(), &bst, &cat()).unwrap();
        assert_eq!(
            r.collected_at,
            Utc.with_ymd_and_hms(2026, 6, 4, 9, 20, 0).unwrap()
        );
    }

    #[test]
    fn an_empty_form_reports_every_required_field_in_order() {
        let d = RequestDraft::default();
        assert_eq!(
            fields(&d),
            [
                Field::NhsNumber,
                Field::Surname,
                Field::Dob,
                Field::Ward,
                Field::Consultant,
                Field::Requester,
                Field::RequesterContact,
                Field::Priority,
                Field::Tests,
                Field::CollectedDate,
                Field::CollectedTime,
                Field::CollectedBy,
            ]
        );
    }

    #[test]
    fn bad_nhs_number_has_its_specific_message() {
        let mut d = good();
        d.nhs_number = "943 476 5918".into();
        assert_eq!(
            message(&d, Field::NhsNumber),
            "NHS number 943 476 5918 fails its check digit: read it again from the wristband"
        );
    }

    #[test]
    fn mrn_alone_identifies_a_patient() {
        let mut d = good();
        d.nhs_number.clear();
        d.mrn = "k1234567".into();
        let r = d.validate(now(), &Utc, &cat()).unwrap();
        assert_eq!(r.patient.mrn.as_deref(), Some("K1234567"));
        d.mrn = "K12 34".into();
        assert_eq!(fields(&d), [Field::Mrn]);
    }

    #[test]
    fn unidentified_patient_path() {
        let mut d = good();
        d.unidentified = true;
        d.nhs_number.clear();
        d.surname.clear();
        d.dob.clear();
        d.sex = Sex::Male;
        assert_eq!(fields(&d), [Field::EmergencyNumber]);
        d.emergency_number = "ae-2026-0042".into();
        let r = d.validate(now(), &Utc, &cat()).unwrap();
        assert_eq!(r.patient.display_name(), "UNKNOWN, Male");
        assert_eq!(r.patient.emergency_number.as_deref(), Some("AE-2026-0042"));
        d.sex = Sex::Unknown;
        assert_eq!(fields(&d), [Field::Sex]);
    }

    #[test]
    fn dates_of_birth_are_checked() {
        let mut d = good();
        d.dob = "31/02/1980".into();
        assert_eq!(fields(&d), [Field::Dob]);
        d.dob = "05/06/2026".into();
        assert!(message(&d, Field::Dob).contains("in the future"));
        d.dob = "01/01/1899".into();
        assert!(message(&d, Field::Dob).contains("before 1900"));
        for ok in ["1980-01-01", "01-01-1980", "01011980", "1.1.1980"] {
            d.dob = ok.into();
            assert_eq!(fields(&d), [], "{ok}");
        }
    }

    #[test]
    fn collection_time_is_checked() {
        let mut d = good();
        d.collected_time = "10:34".into(); // 4 minutes ahead: clock skew allowed
        assert_eq!(fields(&d), []);
        d.collected_time = "10:36".into();
        assert_eq!(fields(&d), [Field::CollectedTime]);
        d.collected_time = "25:00".into();
        assert_eq!(fields(&d), [Field::CollectedTime]);
        d.collected_time = "10:00".into();
        d.dob = "04/06/2026".into();
        d.collected_date = "03/06/2026".into();
        assert_eq!(fields(&d), [Field::CollectedDate]);
    }

    #[test]
    fn names_are_cleaned_and_hidden_characters_refused() {
        let mut d = good();
        d.surname = "Ren\u{65}\u{301}e".into();
        let r = d.validate(now(), &Utc, &cat()).unwrap();
        assert_eq!(r.patient.surname, "Ren\u{e9}e");
        d.surname = "Smith\u{202E}".into();
        assert!(message(&d, Field::Surname).contains("text-direction"));
        d.surname = "1234".into();
        assert_eq!(fields(&d), [Field::Surname]);
        d.surname = "x".repeat(36);
        assert!(message(&d, Field::Surname).contains("too long"));
    }

    #[test]
    fn tests_must_be_known_and_not_repeated() {
        let mut d = good();
        d.tests = vec!["FBC".into(), "FBC".into()];
        assert!(message(&d, Field::Tests).contains("listed twice"));
        d.tests = vec!["NOPE".into()];
        assert!(message(&d, Field::Tests).contains("not in the catalogue"));
    }

    #[test]
    fn priority_must_be_chosen() {
        let mut d = good();
        d.priority = None;
        assert_eq!(fields(&d), [Field::Priority]);
    }

    #[test]
    fn fill_patient_round_trips() {
        let r = good().validate(now(), &Utc, &cat()).unwrap();
        let mut d = RequestDraft::default();
        d.fill_patient(&r.patient);
        assert_eq!(d.nhs_number, "999 000 0018");
        assert_eq!(d.dob, "01/01/1980");
        assert_eq!(d.surname, "Testpatient");
    }
}
