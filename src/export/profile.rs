//! Export profiles: what one receiving LIMS is sent, and in whose codes.
//!
//! Real feeds bend the standards (local priority codes, local test codes), so everything a LIMS
//! may differ on lives here, in a TOML file, with a built-in default
//! (`assets/profile-default.toml`). Values per priority are struct fields, not a map, so a new
//! [`Priority`] breaks the build until every profile type can say what it becomes.

use std::collections::BTreeSet;

use crate::domain::request::Priority;

use super::{ExportError, Format};

/// The default profile, compiled in so export works on a first run with no files.
pub const DEFAULT_PROFILE_TOML: &str = include_str!("../../assets/profile-default.toml");

/// One receiving LIMS's export settings.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Shown to the user and named in errors.
    pub name: String,
    /// The lab's age public key (`age1…`): exports with this profile are encrypted for it
    /// unless the user chooses otherwise. Left out of the TOML when absent, so profiles stored
    /// with earlier batches read back the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age_recipient: Option<String>,
    pub hl7: Hl7Settings,
    pub fhir: FhirSettings,
    /// Catalogue code → the LIMS's code, in file order.
    #[serde(rename = "test", default)]
    pub tests: Vec<TestMapping>,
}

/// HL7 v2 message settings.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hl7Settings {
    /// The message type used when the user asks for "HL7" without choosing one.
    pub version: Hl7Version,
    /// MSH-11.
    pub processing_id: ProcessingId,
    /// MSH-3.
    pub sending_application: String,
    /// MSH-4.
    pub sending_facility: String,
    /// MSH-5.
    pub receiving_application: String,
    /// MSH-6.
    pub receiving_facility: String,
    /// PID-3.4 of the hospital number (MRN) and the A&E number.
    pub mrn_assigning_authority: String,
    /// PV1-2 (HL7 table 0004).
    pub patient_class: String,
    pub send_pv1: bool,
    pub send_nte: bool,
    pub send_spm: bool,
    pub priority: Hl7Priorities,
    /// EI.2 namespace of the placer numbers (ORC-2, ORC-4, OBR-2, SPM-2): short, because an EI
    /// with its namespace may hold 22 characters; left out of a number it would not fit.
    #[serde(default = "default_placer_namespace")]
    pub placer_namespace: String,
    /// PV1-3.1 for a ward, when the LIMS codes it differently from the code derived from its name.
    #[serde(default, rename = "ward", skip_serializing_if = "Vec::is_empty")]
    pub wards: Vec<WardMapping>,
    /// What to do with a value over the receiver's limits: refuse the export (the default) or
    /// write it shortened to the limit, recording every shortening in the batch. Left out of the
    /// TOML when it is the default, so profiles stored with earlier batches read back the same.
    #[serde(default, skip_serializing_if = "OverLimit::is_refuse")]
    pub over_limit: OverLimit,
}

/// `[hl7] over_limit`: what an export does with a value longer than the receiver accepts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OverLimit {
    /// Nothing is written: every request and field over a limit is listed for correction.
    #[default]
    Refuse,
    /// Each listed value is shortened to its limit (as the receiver counts it, escapes
    /// included) and the batch records each shortening; the request keeps the whole value.
    Truncate,
}

impl OverLimit {
    pub fn is_refuse(&self) -> bool {
        *self == OverLimit::Refuse
    }
}

fn default_placer_namespace() -> String {
    "SGAP".into()
}

/// A ward as the LIMS codes it (PV1-3.1 point of care, at most 20 characters).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WardMapping {
    /// The ward's name as set up on the workstation.
    pub name: String,
    pub code: String,
}

/// The HL7 version a profile prefers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Hl7Version {
    /// v2.5.1 OML^O21.
    #[serde(rename = "2.5.1")]
    V2_5_1,
    /// v2.4 ORM^O01.
    #[serde(rename = "2.4")]
    V2_4,
}

/// MSH-11 processing ID (HL7 table 0103).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ProcessingId {
    /// Production.
    P,
    /// Training or test.
    T,
}

impl ProcessingId {
    pub fn code(self) -> &'static str {
        match self {
            ProcessingId::P => "P",
            ProcessingId::T => "T",
        }
    }
}

/// A coded value as the receiving system knows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Coding {
    pub code: String,
    pub display: String,
    /// HL7 coding system, e.g. `HL70485` or `L` (local).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
}

/// HL7 priority code for each internal priority.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hl7Priorities {
    pub emergency: Coding,
    pub urgent: Coding,
    pub routine: Coding,
}

impl Hl7Priorities {
    pub fn get(&self, p: Priority) -> &Coding {
        match p {
            Priority::Emergency => &self.emergency,
            Priority::Urgent => &self.urgent,
            Priority::Routine => &self.routine,
        }
    }
}

/// FHIR identifier systems and priorities.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FhirSettings {
    pub hospital_number_system: String,
    pub emergency_number_system: String,
    pub placer_system: String,
    pub filler_system: String,
    pub requisition_system: String,
    pub specimen_system: String,
    pub batch_system: String,
    /// ServiceRequest.code system when a test mapping gives none.
    pub test_code_system: String,
    pub priority: FhirPriorities,
}

/// The FHIR request-priority value set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FhirPriority {
    Stat,
    Asap,
    Urgent,
    Routine,
}

impl FhirPriority {
    pub fn code(self) -> &'static str {
        match self {
            FhirPriority::Stat => "stat",
            FhirPriority::Asap => "asap",
            FhirPriority::Urgent => "urgent",
            FhirPriority::Routine => "routine",
        }
    }
}

/// FHIR priority for each internal priority.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FhirPriorities {
    pub emergency: FhirPriority,
    pub urgent: FhirPriority,
    pub routine: FhirPriority,
}

impl FhirPriorities {
    pub fn get(&self, p: Priority) -> FhirPriority {
        match p {
            Priority::Emergency => self.emergency,
            Priority::Urgent => self.urgent,
            Priority::Routine => self.routine,
        }
    }
}

/// One catalogue test as the LIMS codes it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestMapping {
    /// Stopgap's catalogue code.
    pub code: String,
    /// The LIMS's own code (OBR-4.1, ServiceRequest.code).
    pub lims_code: String,
    pub display: String,
    /// HL7 coding system (OBR-4.3), e.g. `L`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    /// FHIR coding system; `fhir.test_code_system` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fhir_system: Option<String>,
}

impl Profile {
    /// The built-in profile: every default catalogue code maps to itself.
    pub fn default_profile() -> Profile {
        match Self::from_toml(DEFAULT_PROFILE_TOML) {
            Ok(p) => p,
            // The default is compiled in and checked by a test, so this arm is unreachable in a
            // released build; an empty-mapping profile still makes export fail loudly, not blank.
            Err(e) => Profile {
                name: format!("broken built-in profile: {e}"),
                age_recipient: None,
                hl7: Hl7Settings {
                    version: Hl7Version::V2_5_1,
                    processing_id: ProcessingId::T,
                    sending_application: "STOPGAP".into(),
                    sending_facility: String::new(),
                    receiving_application: String::new(),
                    receiving_facility: String::new(),
                    mrn_assigning_authority: String::new(),
                    patient_class: "U".into(),
                    send_pv1: true,
                    send_nte: true,
                    send_spm: true,
                    priority: Hl7Priorities {
                        emergency: Coding {
                            code: "S".into(),
                            display: "Stat".into(),
                            system: Some("HL70485".into()),
                        },
                        urgent: Coding {
                            code: "A".into(),
                            display: "ASAP".into(),
                            system: Some("HL70485".into()),
                        },
                        routine: Coding {
                            code: "R".into(),
                            display: "Routine".into(),
                            system: Some("HL70485".into()),
                        },
                    },
                    placer_namespace: default_placer_namespace(),
                    wards: Vec::new(),
                    over_limit: OverLimit::Refuse,
                },
                fhir: FhirSettings {
                    hospital_number_system: "urn:stopgap:hospital-number".into(),
                    emergency_number_system: "urn:stopgap:emergency-number".into(),
                    placer_system: "urn:stopgap:placer-order".into(),
                    filler_system: "urn:stopgap:lims-accession".into(),
                    requisition_system: "urn:stopgap:requisition".into(),
                    specimen_system: "urn:stopgap:specimen".into(),
                    batch_system: "urn:stopgap:export-batch".into(),
                    test_code_system: "urn:stopgap:local-test-code".into(),
                    priority: FhirPriorities {
                        emergency: FhirPriority::Stat,
                        urgent: FhirPriority::Urgent,
                        routine: FhirPriority::Routine,
                    },
                },
                tests: Vec::new(),
            },
        }
    }

    /// Parses and checks a profile file.
    pub fn from_toml(text: &str) -> Result<Profile, ExportError> {
        let p: Profile = toml::from_str(text)
            .map_err(|e| ExportError::BadProfile(format!("not valid profile TOML: {e}")))?;
        p.check()?;
        Ok(p)
    }

    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self)
            .unwrap_or_else(|e| format!("# profile '{}' could not be written: {e}\n", self.name))
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The HL7 format this profile prefers.
    pub fn hl7_format(&self) -> Format {
        match self.hl7.version {
            Hl7Version::V2_5_1 => Format::Hl7Oml,
            Hl7Version::V2_4 => Format::Hl7Orm,
        }
    }

    /// The lab's age public key, when the profile names one (checked when it was read).
    pub fn age_recipient(&self) -> Option<crate::files::Recipient> {
        self.age_recipient
            .as_deref()
            .and_then(|k| crate::files::parse_recipient(k).ok())
    }

    /// The LIMS's code for a catalogue test code.
    pub fn mapping(&self, code: &str) -> Option<&TestMapping> {
        self.tests.iter().find(|t| t.code == code)
    }

    /// Checks the rules a usable profile keeps.
    pub fn check(&self) -> Result<(), ExportError> {
        let bad = |m: String| {
            Err(ExportError::BadProfile(format!(
                "profile '{}': {m}",
                self.name
            )))
        };
        if self.name.trim().is_empty() {
            return Err(ExportError::BadProfile("profile name is empty".into()));
        }
        if let Some(key) = &self.age_recipient
            && let Err(e) = crate::files::parse_recipient(key)
        {
            return bad(format!("age_recipient: {e}"));
        }
        for (value, what) in [
            (&self.hl7.sending_application, "hl7.sending_application"),
            (&self.hl7.receiving_application, "hl7.receiving_application"),
            (
                &self.fhir.hospital_number_system,
                "fhir.hospital_number_system",
            ),
            (
                &self.fhir.emergency_number_system,
                "fhir.emergency_number_system",
            ),
            (&self.fhir.placer_system, "fhir.placer_system"),
            (&self.fhir.filler_system, "fhir.filler_system"),
            (&self.fhir.requisition_system, "fhir.requisition_system"),
            (&self.fhir.specimen_system, "fhir.specimen_system"),
            (&self.fhir.batch_system, "fhir.batch_system"),
            (&self.fhir.test_code_system, "fhir.test_code_system"),
        ] {
            if value.trim().is_empty() {
                return bad(format!("{what} is empty"));
            }
        }
        for (p, c) in [
            ("emergency", &self.hl7.priority.emergency),
            ("urgent", &self.hl7.priority.urgent),
            ("routine", &self.hl7.priority.routine),
        ] {
            if c.code.trim().is_empty() {
                return bad(format!("hl7.priority.{p}.code is empty"));
            }
        }
        let mut seen = BTreeSet::new();
        for t in &self.tests {
            if !seen.insert(t.code.as_str()) {
                return bad(format!("test '{}' is mapped more than once", t.code));
            }
            if t.lims_code.trim().is_empty() {
                return bad(format!("test '{}' has an empty lims_code", t.code));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::catalogue::Catalogue;

    #[test]
    fn default_profile_maps_every_default_catalogue_test_to_itself() {
        let p = Profile::from_toml(DEFAULT_PROFILE_TOML).unwrap();
        let cat = Catalogue::default_uk().unwrap();
        for t in &cat.tests {
            let m = p.mapping(&t.code).unwrap();
            assert_eq!(m.lims_code, t.code);
            assert_eq!(m.system.as_deref(), Some("L"));
        }
        assert_eq!(p.tests.len(), cat.tests.len());
        assert_eq!(Profile::default_profile(), p);
        assert_eq!(p.hl7_format(), Format::Hl7Oml);
    }

    #[test]
    fn profile_toml_round_trips() {
        let p = Profile::default_profile();
        assert_eq!(Profile::from_toml(&p.to_toml()).unwrap(), p);
        assert!(
            !p.to_toml().contains("over_limit"),
            "the default is left out"
        );
        let mut t = p.clone();
        t.hl7.over_limit = OverLimit::Truncate;
        assert!(t.to_toml().contains("over_limit = \"truncate\""));
        assert_eq!(Profile::from_toml(&t.to_toml()).unwrap(), t);
    }

    #[test]
    fn refuses_broken_profiles() {
        let mut p = Profile::default_profile();
        p.tests.push(p.tests[0].clone());
        assert!(
            matches!(p.check(), Err(ExportError::BadProfile(m)) if m.contains("more than once"))
        );
        let bad_priority = DEFAULT_PROFILE_TOML.replace("urgent = \"urgent\"", "urgent = \"soon\"");
        assert!(matches!(
            Profile::from_toml(&bad_priority),
            Err(ExportError::BadProfile(_))
        ));
        assert!(matches!(
            Profile::from_toml("name = [oops"),
            Err(ExportError::BadProfile(_))
        ));
    }
}
