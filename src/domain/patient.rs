//! Who a request is for, and how urgent it is: `Patient`, `Sex` and `Priority`, each stored as a
//! stable word.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;

use super::nhs_number::NhsNumber;

/// How urgent a request is, most urgent first. Stored as [`Priority::word`].
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    Emergency,
    Urgent,
    Routine,
}

pub const ALL_PRIORITIES: [Priority; 3] =
    [Priority::Emergency, Priority::Urgent, Priority::Routine];

impl Priority {
    pub fn word(self) -> &'static str {
        match self {
            Priority::Emergency => "emergency",
            Priority::Urgent => "urgent",
            Priority::Routine => "routine",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Priority::Emergency => "EMERGENCY",
            Priority::Urgent => "Urgent",
            Priority::Routine => "Routine",
        }
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown priority '{0}': use emergency, urgent or routine")]
pub struct UnknownPriority(pub String);

impl FromStr for Priority {
    type Err = UnknownPriority;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ALL_PRIORITIES
            .into_iter()
            .find(|p| p.word() == s.trim().to_ascii_lowercase())
            .ok_or_else(|| UnknownPriority(s.to_owned()))
    }
}

/// Sex as recorded on the request form.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Sex {
    Female,
    Male,
    Other,
    #[default]
    Unknown,
}

pub const ALL_SEXES: [Sex; 4] = [Sex::Female, Sex::Male, Sex::Other, Sex::Unknown];

impl Sex {
    pub fn word(self) -> &'static str {
        match self {
            Sex::Female => "female",
            Sex::Male => "male",
            Sex::Other => "other",
            Sex::Unknown => "unknown",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Sex::Female => "Female",
            Sex::Male => "Male",
            Sex::Other => "Other",
            Sex::Unknown => "Unknown",
        }
    }
}

/// A checked patient identity.
///
/// Invariant: either a known patient (surname, date of birth, and at least one of NHS number and
/// MRN) or an unidentified emergency patient (`emergency_number` set, surname "UNKNOWN",
/// forename "Male" or "Female", date of birth optional).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Patient {
    pub surname: String,
    pub forename: String,
    pub dob: Option<NaiveDate>,
    pub sex: Sex,
    pub nhs_number: Option<NhsNumber>,
    pub mrn: Option<String>,
    /// A&E or major-incident number of an unidentified patient.
    pub emergency_number: Option<String>,
}

impl Patient {
    pub fn is_unidentified(&self) -> bool {
        self.emergency_number.is_some()
    }

    /// "SURNAME, Forename", as on wristbands.
    pub fn display_name(&self) -> String {
        if self.forename.is_empty() {
            self.surname.to_uppercase()
        } else {
            format!("{}, {}", self.surname.to_uppercase(), self.forename)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priority_words_round_trip() {
        for p in ALL_PRIORITIES {
            assert_eq!(p.word().parse::<Priority>(), Ok(p));
        }
        assert!("stat".parse::<Priority>().is_err());
    }
}
