//! Look-ups that save typing on the request form: the workstation's last ward, and the last
//! request for a patient's identifier (its ward, consultant, requester and bleep are offered when
//! the patient is filled in). Read-only.

use rusqlite::OptionalExtension;

use super::{Store, StoreError};
use crate::domain::nhs_number::NhsNumber;
use crate::domain::request::NewRequest;

impl Store {
    /// The ward of the most recent request saved on this workstation, to start the next form with.
    pub fn last_ward(&self) -> Result<Option<String>, StoreError> {
        let setup = self.require_setup()?;
        Ok(self
            .conn
            .query_row(
                "SELECT ward FROM requests WHERE workstation = ?1 ORDER BY created_ms DESC LIMIT 1",
                [setup.workstation.as_str()],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// The most recent request (any workstation, cancelled ones included) for this NHS number,
    /// else this MRN.
    pub fn latest_request_for(
        &self,
        nhs_number: Option<&NhsNumber>,
        mrn: Option<&str>,
    ) -> Result<Option<NewRequest>, StoreError> {
        let (col, value) = match (nhs_number, mrn) {
            (Some(n), _) => ("nhs_number", n.digits()),
            (None, Some(m)) if !m.trim().is_empty() => ("mrn", m.trim().to_uppercase()),
            _ => return Ok(None),
        };
        let condition = format!("r.{col} = ?1 ORDER BY r.created_ms DESC");
        Ok(super::rows::state_where(&self.conn, &condition, [value])?.map(|s| s.request))
    }
}
