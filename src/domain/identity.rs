//! Identity checks: does the patient typed on a form agree with the one already on file under the
//! same NHS number or hospital number (MRN)?
//!
//! A wrong-patient request is the hazard here: a form for "BLOGGS, Fred" saved under a number
//! that belongs to "SMITH, Jane" would send Jane's number to the lab with Fred's blood. The
//! domain gives the answer (a list of [`IdentityMismatch`]es); the UI only shows it and the store
//! refuses to save a mismatch nobody has acknowledged. Nothing here fills in or merges details.

use std::fmt;

use unicode_normalization::UnicodeNormalization;

use super::nhs_number::NhsNumber;
use super::request::{Field, Patient, Sex};

/// A number that identifies a patient across requests.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Identifier {
    Nhs(NhsNumber),
    /// Uppercase, as stored.
    Mrn(String),
}

impl Identifier {
    /// Whether `p` carries this identifier.
    pub fn is_held_by(&self, p: &Patient) -> bool {
        match self {
            Identifier::Nhs(n) => p.nhs_number.as_ref() == Some(n),
            Identifier::Mrn(m) => p
                .mrn
                .as_deref()
                .is_some_and(|pm| pm.eq_ignore_ascii_case(m)),
        }
    }
}

impl fmt::Display for Identifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Identifier::Nhs(n) => write!(f, "NHS number {n}"),
            Identifier::Mrn(m) => write!(f, "MRN {m}"),
        }
    }
}

/// One detail on which two records of a patient disagree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Difference {
    Surname,
    Forename,
    Dob,
    Sex,
}

impl Difference {
    /// The word used inside a sentence: "surname", "date of birth".
    pub fn word(self) -> &'static str {
        match self {
            Difference::Surname => "surname",
            Difference::Forename => "forename",
            Difference::Dob => "date of birth",
            Difference::Sex => "sex",
        }
    }

    /// The form's label for the detail: "Surname", "Date of birth".
    pub fn label(self) -> &'static str {
        self.field().label()
    }

    /// The form field holding the detail, so the UI can point at it.
    pub fn field(self) -> Field {
        match self {
            Difference::Surname => Field::Surname,
            Difference::Forename => Field::Forename,
            Difference::Dob => Field::Dob,
            Difference::Sex => Field::Sex,
        }
    }
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }
}

/// A patient on file under one of the typed patient's identifiers who is not the typed patient.
#[derive(Debug, Clone, PartialEq)]
pub struct IdentityMismatch {
    /// The identifier both records carry.
    pub identifier: Identifier,
    /// The patient as on file (the most recent request with these details).
    pub on_file: Patient,
    /// What differs, in the order the details are written: surname, forename, sex, date of birth.
    pub differences: Vec<Difference>,
}

impl IdentityMismatch {
    /// One sentence naming both people, e.g. "NHS number 999 000 0018 is on file for SMITH, Jane,
    /// female, born 12/03/1957 — this form says BLOGGS, Fred, male, born 01/01/1980 (surname,
    /// forename, sex, date of birth differ)".
    pub fn message(&self, typed: &Patient) -> String {
        let words: Vec<&str> = self.differences.iter().map(|d| d.word()).collect();
        let verb = if words.len() == 1 {
            "differs"
        } else {
            "differ"
        };
        format!(
            "{} is on file for {} — this form says {} ({} {verb})",
            self.identifier,
            describe(&self.on_file),
            describe(typed),
            words.join(", "),
        )
    }
}

/// The typed patient against the distinct identities on file for its identifiers (from the
/// store), one [`IdentityMismatch`] per on-file identity that disagrees.
///
/// A field differs only when both sides have a value (an empty forename or surname, a `None`
/// date of birth and [`Sex::Unknown`] are "not given") and the values differ; names compare after
/// trimming, NFC and case folding, so "Smith" = "SMITH" and "Zoë" typed precomposed = decomposed.
/// Unidentified (emergency) patients are never compared, on either side. Entries whose identifier
/// the typed patient does not carry (a look-up made before the number was retyped) are ignored,
/// and an identity listed twice is reported once.
pub fn mismatches(typed: &Patient, on_file: &[(Identifier, Patient)]) -> Vec<IdentityMismatch> {
    if typed.is_unidentified() {
        return Vec::new();
    }
    let mut seen: Vec<IdentityKey> = Vec::new();
    let mut out = Vec::new();
    for (identifier, p) in on_file {
        if p.is_unidentified() || !identifier.is_held_by(typed) {
            continue;
        }
        let key = IdentityKey::of(p);
        if seen.contains(&key) {
            continue;
        }
        seen.push(key);
        let differences = differences(typed, p);
        if !differences.is_empty() {
            out.push(IdentityMismatch {
                identifier: identifier.clone(),
                on_file: p.clone(),
                differences,
            });
        }
    }
    out
}

/// Whether two patient records describe the same person by the rule of [`mismatches`]: every
/// detail given on both sides agrees. An unidentified patient is the same as another only when
/// both are unidentified under the same A&E or major-incident number.
pub fn same_patient(a: &Patient, b: &Patient) -> bool {
    match (&a.emergency_number, &b.emergency_number) {
        (None, None) => differences(a, b).is_empty(),
        (Some(x), Some(y)) => x.eq_ignore_ascii_case(y) && differences(a, b).is_empty(),
        _ => false,
    }
}

/// "SURNAME, Forename, born 01/01/1980, NHS 999 000 0018": a patient on one line, with every
/// identifier they carry.
pub fn patient_line(p: &Patient) -> String {
    let mut parts = vec![p.display_name()];
    if let Some(dob) = p.dob {
        parts.push(format!("born {}", dob.format("%d/%m/%Y")));
    }
    if let Some(n) = &p.nhs_number {
        parts.push(format!("NHS {n}"));
    }
    if let Some(m) = &p.mrn {
        parts.push(format!("MRN {m}"));
    }
    if let Some(e) = &p.emergency_number {
        parts.push(format!("A&E {e}"));
    }
    parts.join(", ")
}

/// The details compared, normalised: two records with equal keys are one identity.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct IdentityKey {
    surname: String,
    forename: String,
    dob: Option<chrono::NaiveDate>,
    sex: Sex,
}

impl IdentityKey {
    pub(crate) fn of(p: &Patient) -> Self {
        Self {
            surname: name_key(&p.surname),
            forename: name_key(&p.forename),
            dob: p.dob,
            sex: p.sex,
        }
    }
}

/// The details on which `typed` and `on_file` disagree, both sides having a value.
fn differences(typed: &Patient, on_file: &Patient) -> Vec<Difference> {
    let names_differ = |a: &str, b: &str| {
        let (a, b) = (name_key(a), name_key(b));
        !a.is_empty() && !b.is_empty() && a != b
    };
    let mut out = Vec::new();
    if names_differ(&typed.surname, &on_file.surname) {
        out.push(Difference::Surname);
    }
    if names_differ(&typed.forename, &on_file.forename) {
        out.push(Difference::Forename);
    }
    if typed.sex != Sex::Unknown && on_file.sex != Sex::Unknown && typed.sex != on_file.sex {
        out.push(Difference::Sex);
    }
    if let (Some(a), Some(b)) = (typed.dob, on_file.dob)
        && a != b
    {
        out.push(Difference::Dob);
    }
    out
}

/// A name as compared: trimmed, NFC, case-folded. Upper- then lower-casing folds what plain
/// lower-casing does not ("STRASSE" = "Straße"); NFC again afterwards because changing case can
/// leave a decomposed sequence.
fn name_key(name: &str) -> String {
    let nfc: String = name.trim().nfc().collect();
    nfc.to_uppercase().to_lowercase().nfc().collect()
}

/// "SMITH, Jane, female, born 12/03/1957": the details compared, as a person would read them.
fn describe(p: &Patient) -> String {
    let mut parts = vec![p.display_name()];
    if p.sex != Sex::Unknown {
        parts.push(p.sex.word().to_owned());
    }
    if let Some(dob) = p.dob {
        parts.push(format!("born {}", dob.format("%d/%m/%Y")));
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::request::RequestDraft;
    use chrono::NaiveDate;

    fn nhs() -> NhsNumber {
        NhsNumber::parse("999 000 0018").unwrap()
    }

    fn patient(surname: &str, forename: &str, dob: Option<(i32, u32, u32)>, sex: Sex) -> Patient {
        Patient {
            surname: surname.into(),
            forename: forename.into(),
            dob: dob.and_then(|(y, m, d)| NaiveDate::from_ymd_opt(y, m, d)),
            sex,
            nhs_number: Some(nhs()),
            mrn: Some("K1234567".into()),
            emergency_number: None,
        }
    }

    fn jane() -> Patient {
        patient("Smith", "Jane", Some((1957, 3, 12)), Sex::Female)
    }

    fn fred() -> Patient {
        patient("Bloggs", "Fred", Some((1980, 1, 1)), Sex::Male)
    }

    fn on_file(p: Patient) -> Vec<(Identifier, Patient)> {
        vec![(Identifier::Nhs(nhs()), p)]
    }

    #[test]
    fn a_different_person_under_the_same_nhs_number_is_named_with_every_difference() {
        let found = mismatches(&fred(), &on_file(jane()));
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].differences,
            [
                Difference::Surname,
                Difference::Forename,
                Difference::Sex,
                Difference::Dob
            ]
        );
        assert_eq!(
            found[0].message(&fred()),
            "NHS number 999 000 0018 is on file for SMITH, Jane, female, born 12/03/1957 — this form says BLOGGS, Fred, male, born 01/01/1980 (surname, forename, sex, date of birth differ)"
        );
    }

    #[test]
    fn one_difference_reads_in_the_singular() {
        let mut typed = jane();
        typed.dob = NaiveDate::from_ymd_opt(1957, 12, 3);
        let found = mismatches(&typed, &[(Identifier::Mrn("K1234567".into()), jane())]);
        assert_eq!(
            found[0].message(&typed),
            "MRN K1234567 is on file for SMITH, Jane, female, born 12/03/1957 — this form says SMITH, Jane, female, born 03/12/1957 (date of birth differs)"
        );
    }

    #[test]
    fn names_compare_without_case_spaces_or_unicode_form() {
        let typed = patient(" SMITH ", "jane", Some((1957, 3, 12)), Sex::Female);
        assert!(mismatches(&typed, &on_file(jane())).is_empty());
        let nfc = patient("Zo\u{eb}", "Ren\u{e9}e", None, Sex::Female);
        let nfd = patient("ZOE\u{308}", "rene\u{301}e", None, Sex::Female);
        assert!(mismatches(&nfd, &on_file(nfc.clone())).is_empty());
        assert!(same_patient(&nfc, &nfd));
        let folded = patient("Stra\u{df}e", "Jane", None, Sex::Female);
        assert!(same_patient(
            &folded,
            &patient("STRASSE", "Jane", None, Sex::Female)
        ));
    }

    #[test]
    fn details_not_given_are_not_differences() {
        let typed = patient("Smith", "", None, Sex::Unknown);
        assert!(mismatches(&typed, &on_file(jane())).is_empty());
        let sparse_on_file = patient("Smith", "", None, Sex::Unknown);
        assert!(mismatches(&jane(), &on_file(sparse_on_file)).is_empty());
        let mut other_sex = jane();
        other_sex.sex = Sex::Other;
        assert_eq!(
            mismatches(&other_sex, &on_file(jane()))[0].differences,
            [Difference::Sex]
        );
    }

    #[test]
    fn unidentified_patients_are_never_compared() {
        let mut unknown = patient("UNKNOWN", "Male", None, Sex::Male);
        unknown.emergency_number = Some("AE-2026-0042".into());
        assert!(mismatches(&unknown, &on_file(jane())).is_empty());
        assert!(mismatches(&jane(), &on_file(unknown.clone())).is_empty());
        assert!(!same_patient(&unknown, &jane()));
        let mut other_unknown = unknown.clone();
        other_unknown.emergency_number = Some("AE-2026-0043".into());
        assert!(!same_patient(&unknown, &other_unknown));
        assert!(same_patient(&unknown, &unknown.clone()));
    }

    #[test]
    fn every_distinct_identity_on_file_is_listed_once() {
        let mut shouty_jane = jane();
        shouty_jane.surname = "SMITH".into();
        let ann = patient("Jones", "Ann", Some((1990, 5, 5)), Sex::Female);
        let listed = vec![
            (Identifier::Nhs(nhs()), jane()),
            (Identifier::Mrn("K1234567".into()), shouty_jane),
            (Identifier::Nhs(nhs()), ann.clone()),
        ];
        let found = mismatches(&fred(), &listed);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].on_file, jane());
        assert_eq!(found[1].on_file, ann);
    }

    #[test]
    fn an_identifier_the_form_no_longer_carries_is_ignored() {
        let mut typed = fred();
        typed.nhs_number = None;
        typed.mrn = Some("K7654321".into());
        assert!(mismatches(&typed, &on_file(jane())).is_empty());
        assert!(mismatches(&typed, &[(Identifier::Mrn("K1234567".into()), jane())]).is_empty());
        assert_eq!(
            mismatches(&typed, &[(Identifier::Mrn("k7654321".into()), jane())]).len(),
            1
        );
    }

    fn form() -> RequestDraft {
        RequestDraft {
            nhs_number: "9990000018".into(),
            surname: " Bloggs ".into(),
            forename: "Fred ".into(),
            dob: "1.1.1980".into(),
            sex: Sex::Male,
            ward: "Ward 7".into(),
            consultant: "Dr A".into(),
            requester: "Dr B".into(),
            requester_contact: "1234".into(),
            priority: Some(crate::domain::request::Priority::Urgent),
            tests: vec!["FBC".into()],
            collected_date: "04/06/2026".into(),
            collected_time: "10:00".into(),
            collected_by: "N".into(),
            ..RequestDraft::default()
        }
    }

    fn validated(d: &RequestDraft) -> Result<crate::domain::request::NewRequest, Vec<Field>> {
        let now = chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 6, 4, 10, 30, 0).unwrap();
        let cat = crate::domain::catalogue::Catalogue::default_uk().unwrap();
        d.validate(now, &chrono::Utc, &cat)
            .map_err(|es| es.into_iter().map(|e| e.field).collect())
    }

    #[test]
    fn the_typed_patient_is_what_the_form_holds_so_far() {
        let mut d = RequestDraft {
            nhs_number: "999 000 0018".into(),
            mrn: " k1234567 ".into(),
            surname: " Bloggs ".into(),
            dob: "1980".into(),
            ..RequestDraft::default()
        };
        let p = d.typed_patient().unwrap();
        assert_eq!(p.surname, "Bloggs");
        assert_eq!(p.forename, "");
        assert_eq!(p.dob, None, "a date not yet complete is not given");
        assert_eq!(p.nhs_number, Some(nhs()));
        assert_eq!(p.mrn.as_deref(), Some("K1234567"));
        d.dob = "01/01/1980".into();
        assert_eq!(
            d.typed_patient().unwrap().dob,
            NaiveDate::from_ymd_opt(1980, 1, 1)
        );
        d.nhs_number = "999 000 001".into();
        assert_eq!(d.typed_patient().unwrap().nhs_number, None);
        d.mrn = "K12 34".into();
        assert_eq!(d.typed_patient(), None, "no valid number typed yet");
        d.mrn.clear();
        d.nhs_number = "9990000018".into();
        d.unidentified = true;
        assert_eq!(d.typed_patient(), None);
    }

    #[test]
    fn a_reason_typed_in_the_dialog_becomes_the_requests_override() {
        let mut d = form();
        assert_eq!(validated(&d).unwrap().identity_override, None);
        d.identity_reason = "  Checked with PAS: the\r\nnumber is his ".into();
        let r = validated(&d).unwrap();
        let o = r.identity_override.unwrap();
        assert_eq!(o.reason, "Checked with PAS: the\nnumber is his");
        assert!(o.on_file.is_empty(), "the store fills what was on file");
        d.identity_reason = "x".repeat(201);
        assert_eq!(validated(&d).unwrap_err(), [Field::IdentityReason]);
        d.identity_reason = "Smith\u{202E}".into();
        assert_eq!(validated(&d).unwrap_err(), [Field::IdentityReason]);
    }

    #[test]
    fn an_empty_reason_leaves_the_draft_json_as_before() {
        let json = serde_json::to_string(&form()).unwrap();
        assert!(!json.contains("identity_reason"), "{json}");
        let r = validated(&form()).unwrap();
        assert!(
            !serde_json::to_string(&r)
                .unwrap()
                .contains("identity_override")
        );
    }

    #[test]
    fn a_patient_line_carries_every_identifier() {
        assert_eq!(
            patient_line(&jane()),
            "SMITH, Jane, born 12/03/1957, NHS 999 000 0018, MRN K1234567"
        );
        assert_eq!(Identifier::Mrn("K123456".into()).to_string(), "MRN K123456");
        assert_eq!(Difference::Dob.label(), "Date of birth");
    }
}
