//! Warnings shown before saving: not errors (the request can still be saved), but things a
//! careful colleague would point out.

use chrono::{DateTime, Duration, Utc};

use super::downtime_id::DowntimeId;
use super::request::NewRequest;

/// How far back a same-patient, same-test request counts as a possible duplicate.
pub const DUPLICATE_WINDOW_HOURS: i64 = 2;

/// What the store knows about the patient's earlier requests.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PatientHistory {
    /// Earlier open or completed (not cancelled) requests for this patient: ID, test codes,
    /// collection time.
    pub earlier: Vec<(DowntimeId, Vec<String>, DateTime<Utc>)>,
    /// Whether any earlier request for this patient carried a transfusion sample.
    pub has_transfusion_sample: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Warning {
    /// The same test for the same patient was requested within the window.
    PossibleDuplicate { test: String, earlier: DowntimeId },
    /// Transfusion tubes must be hand-labelled at the bedside.
    HandLabelTransfusion,
    /// First transfusion sample for this patient in the store: a second, separately taken sample
    /// is needed to confirm the ABO group.
    TwoSampleRule,
}

impl Warning {
    pub fn message(&self) -> String {
        match self {
            Warning::PossibleDuplicate { test, earlier } => format!(
                "{test} was already requested for this patient in the last {DUPLICATE_WINDOW_HOURS} hours ({earlier}): is this a duplicate?"
            ),
            Warning::HandLabelTransfusion => {
                "Transfusion sample: hand-label the tube at the bedside (no printed or addressograph labels)".into()
            }
            Warning::TwoSampleRule => {
                "No earlier transfusion sample for this patient: a second, separately taken sample is needed to confirm the blood group (two-sample rule)".into()
            }
        }
    }
}

/// The warnings for a checked request, given the patient's history.
pub fn warnings_for(request: &NewRequest, history: &PatientHistory) -> Vec<Warning> {
    let mut out = Vec::new();
    let since = request.collected_at - Duration::hours(DUPLICATE_WINDOW_HOURS);
    for t in &request.tests {
        let dup = history.earlier.iter().find(|(_, codes, at)| {
            *at >= since
                && *at <= request.collected_at + Duration::hours(DUPLICATE_WINDOW_HOURS)
                && codes.contains(&t.code)
        });
        if let Some((id, _, _)) = dup {
            out.push(Warning::PossibleDuplicate {
                test: t.name.clone(),
                earlier: id.clone(),
            });
        }
    }
    if request.has_transfusion_test() {
        out.push(Warning::HandLabelTransfusion);
        if !history.has_transfusion_sample {
            out.push(Warning::TwoSampleRule);
        }
    }
    out
}
