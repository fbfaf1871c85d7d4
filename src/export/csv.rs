//! CSV export (RFC 4180, UTF-8, CRLF, header row): one row per request, or one row per test.
//!
//! The columns are also the import format for requests typed elsewhere, so they cover every
//! request field and are named plainly ([`CSV_COLUMNS`], [`CSV_COLUMNS_PER_TEST`]).
//!
//! Formula injection: a cell that a spreadsheet would run (one starting with `=`, `+`, `-`, `@`,
//! tab, CR or NUL) is written with a `'` in front. So that this is reversible, a cell made of
//! leading `'`s followed by such a character gets one more `'` too. An importer strips exactly one
//! leading `'` when what follows the leading quotes starts with a trigger: [`unneutralise`].

use crate::domain::event::RequestState;

use super::{ExportContext, ExportError, four_digit_year, push_date, rfc3339};

/// Columns of the one-row-per-request CSV, in order. Values:
/// `downtime_id` canonical (13 characters, no dashes); `status`, `priority`, `sex` as their stable
/// lowercase words; `nhs_number` 10 digits; `dob` YYYY-MM-DD; `tests` catalogue codes joined by
/// `;`; `collected_at` and `created_at` RFC 3339 in UTC; `created_by` the user's name or staff ID;
/// `workstation` the 3-character code; `uuid` the request's UUID. Empty cell = no value.
pub const CSV_COLUMNS: &[&str] = &[
    "downtime_id",
    "status",
    "priority",
    "nhs_number",
    "mrn",
    "emergency_number",
    "surname",
    "forename",
    "dob",
    "sex",
    "ward",
    "consultant",
    "requester",
    "requester_contact",
    "tests",
    "collected_at",
    "collected_by",
    "clinical_details",
    "notes",
    "created_at",
    "created_by",
    "workstation",
    "accession",
    "reason",
    "uuid",
];

/// Columns of the one-row-per-test CSV: as [`CSV_COLUMNS`], but `tests` holds one catalogue code
/// and `test_name` follows it.
pub const CSV_COLUMNS_PER_TEST: &[&str] = &[
    "downtime_id",
    "status",
    "priority",
    "nhs_number",
    "mrn",
    "emergency_number",
    "surname",
    "forename",
    "dob",
    "sex",
    "ward",
    "consultant",
    "requester",
    "requester_contact",
    "tests",
    "test_name",
    "collected_at",
    "collected_by",
    "clinical_details",
    "notes",
    "created_at",
    "created_by",
    "workstation",
    "accession",
    "reason",
    "uuid",
];

/// Characters that make a spreadsheet treat a cell as a formula (or mangle it).
const TRIGGERS: [char; 7] = ['=', '+', '-', '@', '\t', '\r', '\0'];

fn starts_with_trigger(s: &str) -> bool {
    s.starts_with(TRIGGERS)
}

/// The cell as written: `'` prefixed when a spreadsheet would run it (see the module doc).
pub fn neutralise(cell: &str) -> std::borrow::Cow<'_, str> {
    if starts_with_trigger(cell.trim_start_matches('\'')) {
        std::borrow::Cow::Owned(format!("'{cell}"))
    } else {
        std::borrow::Cow::Borrowed(cell)
    }
}

/// The cell as typed, from the cell as exported: strips one leading `'` when the text after the
/// leading quotes starts with `=`, `+`, `-`, `@`, tab, CR or NUL. Importers must call this on
/// every cell.
pub fn unneutralise(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if starts_with_trigger(cell.trim_start_matches('\'')) => rest,
        _ => cell,
    }
}

/// Writes the CSV for `requests`.
pub(crate) fn write(
    requests: &[RequestState],
    ctx: &ExportContext,
    out: &mut dyn std::io::Write,
) -> Result<(), ExportError> {
    if ctx.csv.excel_bom {
        out.write_all("\u{feff}".as_bytes())?;
    }
    let mut w = ::csv::WriterBuilder::new()
        .terminator(::csv::Terminator::CRLF)
        .from_writer(out);
    let header = if ctx.csv.per_test {
        CSV_COLUMNS_PER_TEST
    } else {
        CSV_COLUMNS
    };
    w.write_record(header)?;
    let mut codes = String::new();
    for r in requests {
        let cells = Cells::of(r);
        if ctx.csv.per_test {
            for t in &r.request.tests {
                cells.write(&mut w, &t.code, Some(&t.name))?;
            }
        } else {
            codes.clear();
            for (i, t) in r.request.tests.iter().enumerate() {
                if i > 0 {
                    codes.push(';');
                }
                codes.push_str(&t.code);
            }
            cells.write(&mut w, &codes, None)?;
        }
    }
    w.flush()?;
    Ok(())
}

/// The cells of a request that are not text as typed, worked out once per request.
struct Cells<'a> {
    r: &'a RequestState,
    downtime_id: String,
    nhs_number: String,
    dob: String,
    collected_at: String,
    created_at: String,
    uuid: String,
}

impl<'a> Cells<'a> {
    fn of(r: &'a RequestState) -> Self {
        let q = &r.request;
        let p = &q.patient;
        let mut dob = String::new();
        if let Some(d) = p.dob {
            if four_digit_year(d).is_some() {
                push_date(&mut dob, d, "-");
            } else {
                dob = d.format("%Y-%m-%d").to_string();
            }
        }
        Self {
            r,
            downtime_id: r.downtime_id.canonical(),
            nhs_number: p.nhs_number.map(|n| n.digits()).unwrap_or_default(),
            dob,
            collected_at: rfc3339(q.collected_at),
            created_at: rfc3339(r.created_at),
            uuid: q.uuid.to_string(),
        }
    }

    /// Writes one row, its cells in column order and neutralised; `test_name` only in per-test
    /// mode.
    fn write<W: std::io::Write>(
        &self,
        w: &mut ::csv::Writer<W>,
        tests: &str,
        test_name: Option<&str>,
    ) -> Result<(), ExportError> {
        let r = self.r;
        let q = &r.request;
        let p = &q.patient;
        let head = [
            self.downtime_id.as_str(),
            r.status.word(),
            q.priority.word(),
            &self.nhs_number,
            p.mrn.as_deref().unwrap_or_default(),
            p.emergency_number.as_deref().unwrap_or_default(),
            &p.surname,
            &p.forename,
            &self.dob,
            p.sex.word(),
            &q.ward,
            &q.consultant,
            &q.requester,
            &q.requester_contact,
            tests,
        ];
        let tail = [
            self.collected_at.as_str(),
            &q.collected_by,
            &q.clinical_details,
            &q.notes,
            &self.created_at,
            &r.created_by.user,
            r.created_by.workstation.as_str(),
            r.accession.as_deref().unwrap_or_default(),
            r.reason.as_deref().unwrap_or_default(),
            &self.uuid,
        ];
        for cell in head.into_iter().chain(test_name).chain(tail) {
            w.write_field(neutralise(cell).as_bytes())?;
        }
        w.write_record(None::<&[u8]>)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(typed: &str, written: &str) {
        assert_eq!(neutralise(typed), written, "neutralise {typed:?}");
        assert_eq!(unneutralise(written), typed, "unneutralise {written:?}");
    }

    #[test]
    fn formula_cells_are_neutralised_reversibly() {
        check("=SUM(A1)", "'=SUM(A1)");
        check("+44 7700", "'+44 7700");
        check("-", "'-");
        check("-1", "'-1");
        check("@cmd", "'@cmd");
        check("\tx", "'\tx");
        check("\rx", "'\rx");
        check("\0", "'\0");
        check("'=x", "''=x");
        check("''-", "'''-");
        check("'plain", "'plain");
        check("'", "'");
        check("", "");
        check("Smith", "Smith");
        check("a=b", "a=b");
    }

    #[test]
    fn both_column_lists_hold_every_field_once() {
        for cols in [CSV_COLUMNS, CSV_COLUMNS_PER_TEST] {
            let set: std::collections::BTreeSet<_> = cols.iter().collect();
            assert_eq!(set.len(), cols.len());
        }
        assert_eq!(CSV_COLUMNS_PER_TEST.len(), CSV_COLUMNS.len() + 1);
    }
}
