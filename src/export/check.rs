//! The export's conformance checks: what a strict receiver would refuse in a written export, or
//! in the requests before one is written (the pre-flight report).

use std::fmt;

/// One problem a strict receiver would refuse, found in an export or in its requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The request concerned (grouped as on its form), when the problem belongs to one.
    pub downtime_id: Option<String>,
    /// Where in the export: an HL7 field such as `PID-5.2`, or a JSON path into the FHIR Bundle
    /// such as `/entry/3/resource/name`.
    pub location: String,
    /// What is wrong, in words a user can act on.
    pub problem: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(id) = &self.downtime_id {
            write!(f, "request {id}: ")?;
        }
        write!(f, "{}: {}", self.location, self.problem)
    }
}
