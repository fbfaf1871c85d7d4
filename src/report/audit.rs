//! The audit log as CSV, for a manager's spreadsheet. Text cells a spreadsheet would run as a
//! formula are neutralised as in the export, so a cell may differ from the stored text by its
//! leading apostrophe: check the chain with `stopgap verify`, never from this file.

use std::io::{self, Write};

use chrono::DateTime;

use super::shown_time;
use crate::domain::audit::AuditRecord;
use crate::export::csv::neutralise;

/// Columns of the audit CSV.
pub const AUDIT_COLUMNS: &[&str] = &[
    "seq",
    "at",
    "workstation",
    "staff_id",
    "user_name",
    "action",
    "subject",
    "detail",
    "prev_hash",
    "hash",
];

/// Writes `records` as CSV (times in UTC, RFC 3339), one row each, in the order given.
pub fn write_audit_csv<'a>(
    records: impl IntoIterator<Item = &'a AuditRecord>,
    out: &mut dyn Write,
) -> io::Result<()> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(out);
    let to_io = |e: csv::Error| io::Error::other(e.to_string());
    w.write_record(AUDIT_COLUMNS).map_err(to_io)?;
    for r in records {
        let at = DateTime::from_timestamp_millis(r.at_ms)
            .map(shown_time)
            .unwrap_or_default();
        w.write_record([
            r.seq.to_string().as_str(),
            &at,
            &neutralise(&r.workstation),
            &neutralise(&r.staff_id),
            &neutralise(&r.user_name),
            r.action.word(),
            &neutralise(&r.subject),
            &neutralise(&r.detail),
            &r.prev_hash,
            &r.hash,
        ])
        .map_err(to_io)?;
    }
    w.flush()
}
