//! The queue's rows: the columns a page reads, each text read even when damaged.

use chrono::NaiveDate;
use rusqlite::Row;
use rusqlite::types::ValueRef;

use super::super::StoreError;
use super::super::queries::QueueRow;
use super::{ms_to_time, parse_uuid};
use crate::domain::downtime_id::DowntimeId;

/// The columns [`queue_row`] reads.
pub(crate) const QUEUE_COLUMNS: &str = "uuid, downtime_id, surname, forename, dob, nhs_number, mrn,
    emergency_number, tests, priority, collected_ms, status, ward, accession, training";

/// A text column read even when damaged: bytes that are not UTF-8 are shown with U+FFFD and
/// `damaged` is set, so one bad byte marks its request instead of failing the whole page.
fn lossy_text(r: &Row<'_>, column: &str, damaged: &mut bool) -> Result<Option<String>, StoreError> {
    Ok(match r.get_ref(column)? {
        ValueRef::Null => None,
        ValueRef::Text(bytes) => Some(match std::str::from_utf8(bytes) {
            Ok(text) => text.to_owned(),
            Err(_) => {
                *damaged = true;
                String::from_utf8_lossy(bytes).into_owned()
            }
        }),
        _ => {
            *damaged = true;
            Some(String::new())
        }
    })
}

pub(crate) fn queue_row(r: &Row<'_>) -> Result<QueueRow, StoreError> {
    let mut damaged = false;
    let uuid: String = r.get("uuid")?;
    let id: String = r.get("downtime_id")?;
    let downtime_id = DowntimeId::parse(&id)
        .map_err(|_| StoreError::Corrupt(format!("request {uuid}: downtime ID '{id}'")))?;
    let corrupt = |what: &str, v: &str| {
        StoreError::Corrupt(format!(
            "request {downtime_id}: stored {what} '{v}'; run stopgap verify"
        ))
    };
    let priority: String = r.get("priority")?;
    let status: String = r.get("status")?;
    let mut text = |column: &str| lossy_text(r, column, &mut damaged);
    let surname = text("surname")?.unwrap_or_default();
    let forename = text("forename")?.unwrap_or_default();
    let dob = text("dob")?;
    let nhs_number = text("nhs_number")?;
    let mrn = text("mrn")?;
    let emergency_number = text("emergency_number")?;
    let tests = text("tests")?.unwrap_or_default();
    let ward = text("ward")?.unwrap_or_default();
    let accession = text("accession")?;
    let dob = match dob {
        None => None,
        Some(d) => {
            let parsed = NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok();
            damaged |= parsed.is_none();
            parsed
        }
    };
    Ok(QueueRow {
        uuid: parse_uuid(&uuid)?,
        surname,
        forename,
        dob,
        nhs_number,
        mrn,
        emergency_number,
        tests: tests.split_whitespace().map(str::to_owned).collect(),
        priority: priority
            .parse()
            .map_err(|_| corrupt("priority", &priority))?,
        collected_at: ms_to_time(r.get("collected_ms")?)?,
        status: status.parse().map_err(|_| corrupt("status", &status))?,
        ward,
        accession,
        training: r.get::<_, i64>("training")? != 0,
        damaged,
        downtime_id,
    })
}
