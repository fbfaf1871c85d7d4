//! A sample that reaches the lab before its request: the porter brought the tube and its paper
//! form, but the ward's handover bundle has not come yet. The lab receives it by its downtime ID
//! with the minimum details typed from the paper form, and the receipt is linked to the request
//! when the ward's bundle brings it, only if those details agree with the request's patient: a
//! tube whose label, form and request disagree is exactly the wrong-patient sample the
//! labelling rules exist to stop, so it is never linked by ID alone.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};

use super::dates::check_dob;
use super::identity::same_patient;
use super::nhs_number::NhsNumber;
use super::patient::{Patient, Sex};
use super::request::Field;
use super::text::clean;

/// The details as typed from the paper form.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EarlyDraft {
    pub nhs_number: String,
    pub surname: String,
    pub dob: String,
}

/// The details, checked: a surname, and an NHS number or a date of birth (or both).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EarlyDetails {
    pub nhs_number: Option<NhsNumber>,
    pub surname: String,
    pub dob: Option<NaiveDate>,
}

/// One problem with the typed details, by field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", .field.label())]
pub struct EarlyError {
    pub field: Field,
    pub message: String,
}

impl EarlyDraft {
    /// Checks the typed details as at `now` (a date of birth is never in the future), returning
    /// every problem, in the order of the fields.
    pub fn validate<Tz: TimeZone>(
        &self,
        now: DateTime<Utc>,
        tz: &Tz,
    ) -> Result<EarlyDetails, Vec<EarlyError>> {
        let mut errors = Vec::new();
        let mut err = |field, message: String| errors.push(EarlyError { field, message });
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
        let surname = match clean(&self.surname, 100, false) {
            Ok(s) if !s.is_empty() => s,
            Ok(_) => {
                err(
                    Field::Surname,
                    "type the surname from the paper form".to_owned(),
                );
                String::new()
            }
            Err(e) => {
                err(Field::Surname, e.to_string());
                String::new()
            }
        };
        let dob = if self.dob.trim().is_empty() {
            None
        } else {
            check_dob(&self.dob, now, tz, &mut err)
        };
        if nhs_number.is_none() && self.nhs_number.trim().is_empty() && self.dob.trim().is_empty() {
            err(
                Field::NhsNumber,
                "type the NHS number or the date of birth from the paper form (or both)".to_owned(),
            );
        }
        if errors.is_empty() {
            Ok(EarlyDetails {
                nhs_number,
                surname,
                dob,
            })
        } else {
            Err(errors)
        }
    }
}

impl EarlyDetails {
    /// Why these details are not the request's patient, or `None` when every detail typed
    /// agrees (names compared as the identity checks compare them: trimmed, NFC, any case).
    pub fn disagreement(&self, patient: &Patient) -> Option<String> {
        if patient.is_unidentified() {
            return Some(
                "the ward's request is for an unidentified patient (emergency number): check the \
                 tube and the forms by hand"
                    .to_owned(),
            );
        }
        let mut differ = Vec::new();
        match (&self.nhs_number, &patient.nhs_number) {
            (Some(a), Some(b)) if a != b => differ.push(format!(
                "NHS number {a} on the paper form, {b} on the request"
            )),
            (Some(a), None) => differ.push(format!(
                "NHS number {a} on the paper form, none on the request"
            )),
            _ => {}
        }
        let typed = Patient {
            surname: self.surname.clone(),
            forename: String::new(),
            dob: self.dob,
            sex: Sex::Unknown,
            nhs_number: None,
            mrn: None,
            emergency_number: None,
        };
        let on_request = Patient {
            nhs_number: None,
            mrn: None,
            ..patient.clone()
        };
        let forename_free = Patient {
            forename: String::new(),
            sex: Sex::Unknown,
            ..on_request
        };
        if !same_patient(&typed, &forename_free) {
            differ.push(format!(
                "{} on the paper form, {} on the request",
                describe(&typed),
                describe(&forename_free)
            ));
        }
        (!differ.is_empty()).then(|| differ.join("; "))
    }

    /// The details on one line, for lists.
    pub fn line(&self) -> String {
        let mut parts = vec![self.surname.to_uppercase()];
        if let Some(d) = self.dob {
            parts.push(format!("born {}", d.format("%d/%m/%Y")));
        }
        if let Some(n) = &self.nhs_number {
            parts.push(format!("NHS {n}"));
        }
        parts.join(", ")
    }
}

fn describe(p: &Patient) -> String {
    match p.dob {
        Some(d) => format!("{} born {}", p.surname.to_uppercase(), d.format("%d/%m/%Y")),
        None => p.surname.to_uppercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, 4, 10, 30, 0).unwrap()
    }

    fn draft(nhs: &str, surname: &str, dob: &str) -> EarlyDraft {
        EarlyDraft {
            nhs_number: nhs.into(),
            surname: surname.into(),
            dob: dob.into(),
        }
    }

    fn patient() -> Patient {
        Patient {
            surname: "Testpatient".into(),
            forename: "Alice".into(),
            dob: NaiveDate::from_ymd_opt(1980, 1, 1),
            sex: Sex::Female,
            nhs_number: Some(NhsNumber::parse("9990000018").unwrap()),
            mrn: None,
            emergency_number: None,
        }
    }

    #[test]
    fn a_surname_and_an_nhs_number_or_a_birth_date_are_needed() {
        let errors = draft("", "", "").validate(now(), &Utc).unwrap_err();
        let fields: Vec<Field> = errors.iter().map(|e| e.field).collect();
        assert_eq!(fields, [Field::Surname, Field::NhsNumber]);
        assert!(
            draft("999 000 0018", "Testpatient", "")
                .validate(now(), &Utc)
                .is_ok()
        );
        assert!(
            draft("", "Testpatient", "01/01/1980")
                .validate(now(), &Utc)
                .is_ok()
        );
        let bad = draft("999 000 0019", "Testpatient", "01/01/2030")
            .validate(now(), &Utc)
            .unwrap_err();
        let fields: Vec<Field> = bad.iter().map(|e| e.field).collect();
        assert_eq!(fields, [Field::NhsNumber, Field::Dob], "{bad:?}");
    }

    #[test]
    fn details_that_agree_link_and_any_that_differ_do_not() {
        let ok = draft("9990000018", "TESTPATIENT", "01/01/1980")
            .validate(now(), &Utc)
            .unwrap();
        assert_eq!(ok.disagreement(&patient()), None);
        let surname_only = draft("", " testpatient ", "01/01/1980")
            .validate(now(), &Utc)
            .unwrap();
        assert_eq!(surname_only.disagreement(&patient()), None);
        let other_number = draft("9990000026", "Testpatient", "")
            .validate(now(), &Utc)
            .unwrap();
        assert!(
            other_number
                .disagreement(&patient())
                .unwrap()
                .contains("NHS number 999 000 0026 on the paper form")
        );
        let other_birth = draft("", "Testpatient", "02/01/1980")
            .validate(now(), &Utc)
            .unwrap();
        let why = other_birth.disagreement(&patient()).unwrap();
        assert!(why.contains("born 02/01/1980 on the paper form"), "{why}");
        let other_name = draft("9990000018", "Otherpatient", "")
            .validate(now(), &Utc)
            .unwrap();
        assert!(other_name.disagreement(&patient()).is_some());
        let unknown = Patient {
            emergency_number: Some("MI-001".into()),
            ..patient()
        };
        assert!(ok.disagreement(&unknown).is_some());
    }
}
