//! Settling a conflict: a person decides what a clash between PCs' events means, and the decision
//! is itself an event, so it travels in bundles and every PC stops listing the conflict.

use uuid::Uuid;

/// A person's decision on one conflict of a request.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Settlement {
    /// The event the conflict is about (for two requests sharing a downtime ID, this request's
    /// creation event).
    pub event: Uuid,
    /// What was decided, in words.
    pub decision: String,
}

impl Settlement {
    /// One line for a history.
    pub fn line(&self) -> String {
        format!("conflict settled: {}", self.decision.trim())
    }
}
