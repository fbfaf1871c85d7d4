//! Results phoned to the ward: during a downtime the lab telephones urgent and critical results,
//! and who phoned, who took the call and whether it was read back is the record that the result
//! reached a clinician.

use chrono::{DateTime, Utc};

/// One result phoned to the ward, as recorded by the person who phoned it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PhonedResult {
    /// The test (catalogue code or name) the result is of.
    pub test: String,
    /// The result as said on the phone, e.g. "K+ 6.8 mmol/L".
    pub summary: String,
    pub phoned_at: DateTime<Utc>,
    /// Who phoned it (the lab's name or staff ID).
    pub phoned_by: String,
    /// Who took the call on the ward.
    pub received_by: String,
    /// The receiver read the result back and the caller confirmed it.
    pub read_back: bool,
}

impl PhonedResult {
    /// One line for a history: "phoned FBC: Hb 62 g/L to Nurse Ade (read back)".
    pub fn line(&self) -> String {
        format!(
            "result phoned: {} {} to {}{}",
            self.test.trim(),
            self.summary.trim(),
            self.received_by.trim(),
            if self.read_back {
                " (read back)"
            } else {
                " (NOT read back)"
            }
        )
    }
}
