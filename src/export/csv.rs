//! CSV export (RFC 4180, UTF-8, CRLF, header row): one row per request, or one row per test.
//!
//! The columns are also the import format for requests typed elsewhere, so they cover every
//! request field and are named plainly ([`CSV_COLUMNS`], [`CSV_COLUMNS_PER_TEST`]).
//!
//! Formula injection: a cell that a spreadsheet would run (one starting with `=`, `+`, `-`, `@`,
//! their full-width forms `＝ ＋ － ＠`, tab, CR or NUL) is written with a `'` in front. So that
//! this is reversible, a cell made of leading `'`s followed by such a character gets one more `'`
//! too. An importer strips exactly one leading `'` when what follows the leading quotes starts
//! with a trigger: [`unneutralise`].
//!
//! The columns are defined once, as [`Column`]s in [`COLUMNS_PER_TEST`] order; the CSV header
//! lists and the .xlsx export ([`super::xlsx`]) are all made from that one list.

use chrono::{DateTime, NaiveDate, Utc};

use crate::domain::event::RequestState;

use super::{ExportContext, ExportError, four_digit_year, push_date, rfc3339};

/// One column of the request exports (CSV and .xlsx). Values: `downtime_id` canonical (13
/// characters, no dashes); `status`, `priority`, `sex` as their stable lowercase words;
/// `nhs_number` 10 digits; `dob` YYYY-MM-DD; `tests` catalogue codes joined by `;` (one code per
/// row, with `test_name` after it, in the per-test layout); `collected_at` and `created_at`
/// RFC 3339 in UTC; `created_by` the user's name or staff ID; `workstation` the 3-character code;
/// `uuid` the request's UUID. Empty cell = no value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Column {
    DowntimeId,
    Status,
    Priority,
    NhsNumber,
    Mrn,
    EmergencyNumber,
    Surname,
    Forename,
    Dob,
    Sex,
    Ward,
    Consultant,
    Requester,
    RequesterContact,
    Tests,
    TestName,
    CollectedAt,
    CollectedBy,
    ClinicalDetails,
    Notes,
    CreatedAt,
    CreatedBy,
    Workstation,
    Accession,
    Reason,
    Uuid,
}

/// What a column's cells hold: the .xlsx export types its cells by this; CSV writes all as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    /// Identifiers, codes and free text: always text, never a number or a formula.
    Text,
    /// A calendar date (date of birth).
    Date,
    /// An instant, in UTC.
    DateTime,
}

impl Column {
    /// The header of the column (also the import format's column name).
    pub const fn name(self) -> &'static str {
        match self {
            Column::DowntimeId => "downtime_id",
            Column::Status => "status",
            Column::Priority => "priority",
            Column::NhsNumber => "nhs_number",
            Column::Mrn => "mrn",
            Column::EmergencyNumber => "emergency_number",
            Column::Surname => "surname",
            Column::Forename => "forename",
            Column::Dob => "dob",
            Column::Sex => "sex",
            Column::Ward => "ward",
            Column::Consultant => "consultant",
            Column::Requester => "requester",
            Column::RequesterContact => "requester_contact",
            Column::Tests => "tests",
            Column::TestName => "test_name",
            Column::CollectedAt => "collected_at",
            Column::CollectedBy => "collected_by",
            Column::ClinicalDetails => "clinical_details",
            Column::Notes => "notes",
            Column::CreatedAt => "created_at",
            Column::CreatedBy => "created_by",
            Column::Workstation => "workstation",
            Column::Accession => "accession",
            Column::Reason => "reason",
            Column::Uuid => "uuid",
        }
    }

    pub const fn kind(self) -> ColumnKind {
        match self {
            Column::Dob => ColumnKind::Date,
            Column::CollectedAt | Column::CreatedAt => ColumnKind::DateTime,
            Column::DowntimeId
            | Column::Status
            | Column::Priority
            | Column::NhsNumber
            | Column::Mrn
            | Column::EmergencyNumber
            | Column::Surname
            | Column::Forename
            | Column::Sex
            | Column::Ward
            | Column::Consultant
            | Column::Requester
            | Column::RequesterContact
            | Column::Tests
            | Column::TestName
            | Column::CollectedBy
            | Column::ClinicalDetails
            | Column::Notes
            | Column::CreatedBy
            | Column::Workstation
            | Column::Accession
            | Column::Reason
            | Column::Uuid => ColumnKind::Text,
        }
    }
}

/// Columns of the one-row-per-test layout, in order: the one definition every column list is
/// made from.
pub const COLUMNS_PER_TEST: &[Column] = &[
    Column::DowntimeId,
    Column::Status,
    Column::Priority,
    Column::NhsNumber,
    Column::Mrn,
    Column::EmergencyNumber,
    Column::Surname,
    Column::Forename,
    Column::Dob,
    Column::Sex,
    Column::Ward,
    Column::Consultant,
    Column::Requester,
    Column::RequesterContact,
    Column::Tests,
    Column::TestName,
    Column::CollectedAt,
    Column::CollectedBy,
    Column::ClinicalDetails,
    Column::Notes,
    Column::CreatedAt,
    Column::CreatedBy,
    Column::Workstation,
    Column::Accession,
    Column::Reason,
    Column::Uuid,
];

/// Columns of the one-row-per-request layout: [`COLUMNS_PER_TEST`] without `test_name`.
pub const COLUMNS: &[Column] = &without_test_name::<{ COLUMNS_PER_TEST.len() - 1 }>();

/// Headers of the one-row-per-request CSV, in order (see [`Column`] for the values).
pub const CSV_COLUMNS: &[&str] = &names::<{ COLUMNS.len() }>(COLUMNS);

/// Headers of the one-row-per-test CSV: as [`CSV_COLUMNS`], but `tests` holds one catalogue code
/// and `test_name` follows it.
pub const CSV_COLUMNS_PER_TEST: &[&str] = &names::<{ COLUMNS_PER_TEST.len() }>(COLUMNS_PER_TEST);

/// The columns of the chosen layout.
pub fn columns(per_test: bool) -> &'static [Column] {
    if per_test { COLUMNS_PER_TEST } else { COLUMNS }
}

const fn without_test_name<const N: usize>() -> [Column; N] {
    let mut out = [Column::DowntimeId; N];
    let (mut i, mut j) = (0, 0);
    while i < COLUMNS_PER_TEST.len() {
        if !matches!(COLUMNS_PER_TEST[i], Column::TestName) {
            out[j] = COLUMNS_PER_TEST[i];
            j += 1;
        }
        i += 1;
    }
    // Evaluated at compile time: a wrong length fails the build, not an export.
    assert!(j == N, "test_name must appear exactly once");
    out
}

const fn names<const N: usize>(columns: &[Column]) -> [&'static str; N] {
    let mut out = [""; N];
    let mut i = 0;
    while i < N {
        out[i] = columns[i].name();
        i += 1;
    }
    out
}

/// Characters that make a spreadsheet treat a cell as a formula (or mangle it). Spreadsheets
/// with East Asian input settings read the full-width forms as the ASCII ones.
const TRIGGERS: [char; 11] = [
    '=', '+', '-', '@', '\u{ff1d}', '\u{ff0b}', '\u{ff0d}', '\u{ff20}', '\t', '\r', '\0',
];

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
/// leading quotes starts with `=`, `+`, `-`, `@` (or their full-width forms), tab, CR or NUL.
/// Importers must call this on every cell.
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
    let columns = columns(ctx.csv.per_test);
    w.write_record(columns.iter().map(|c| c.name()))?;
    let mut codes = String::new();
    for r in requests {
        let row = Row::of(r);
        if ctx.csv.per_test {
            for t in &r.request.tests {
                write_row(&mut w, columns, &row, &t.code, &t.name)?;
            }
        } else {
            joined_codes(r, &mut codes);
            write_row(&mut w, columns, &row, &codes, "")?;
        }
    }
    w.flush()?;
    Ok(())
}

/// Writes one row, its cells in column order and neutralised.
fn write_row<W: std::io::Write>(
    w: &mut ::csv::Writer<W>,
    columns: &[Column],
    row: &Row<'_>,
    tests: &str,
    test_name: &str,
) -> Result<(), ExportError> {
    for &c in columns {
        w.write_field(neutralise(row.text(c, tests, test_name)).as_bytes())?;
    }
    w.write_record(None::<&[u8]>)?;
    Ok(())
}

/// The request's catalogue codes joined by `;`, into `codes` (cleared first).
pub(crate) fn joined_codes(r: &RequestState, codes: &mut String) {
    codes.clear();
    for (i, t) in r.request.tests.iter().enumerate() {
        if i > 0 {
            codes.push(';');
        }
        codes.push_str(&t.code);
    }
}

/// A cell with its type, for writers that keep types (.xlsx).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Value<'a> {
    Text(&'a str),
    Date(NaiveDate),
    DateTime(DateTime<Utc>),
}

/// The cells of a request that are not text as typed, worked out once per request.
pub(crate) struct Row<'a> {
    r: &'a RequestState,
    downtime_id: String,
    nhs_number: String,
    dob: String,
    collected_at: String,
    created_at: String,
    uuid: String,
}

impl<'a> Row<'a> {
    pub(crate) fn of(r: &'a RequestState) -> Self {
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

    /// The cell of `column` as CSV text (before neutralising). `tests` is the `tests` cell (one
    /// code or the joined codes); `test_name` is used only by its own column.
    pub(crate) fn text<'s>(
        &'s self,
        column: Column,
        tests: &'s str,
        test_name: &'s str,
    ) -> &'s str {
        let r = self.r;
        let q = &r.request;
        let p = &q.patient;
        match column {
            Column::DowntimeId => &self.downtime_id,
            Column::Status => r.status.word(),
            Column::Priority => q.priority.word(),
            Column::NhsNumber => &self.nhs_number,
            Column::Mrn => p.mrn.as_deref().unwrap_or_default(),
            Column::EmergencyNumber => p.emergency_number.as_deref().unwrap_or_default(),
            Column::Surname => &p.surname,
            Column::Forename => &p.forename,
            Column::Dob => &self.dob,
            Column::Sex => p.sex.word(),
            Column::Ward => &q.ward,
            Column::Consultant => &q.consultant,
            Column::Requester => &q.requester,
            Column::RequesterContact => &q.requester_contact,
            Column::Tests => tests,
            Column::TestName => test_name,
            Column::CollectedAt => &self.collected_at,
            Column::CollectedBy => &q.collected_by,
            Column::ClinicalDetails => &q.clinical_details,
            Column::Notes => &q.notes,
            Column::CreatedAt => &self.created_at,
            Column::CreatedBy => &r.created_by.user,
            Column::Workstation => r.created_by.workstation.as_str(),
            Column::Accession => r.accession.as_deref().unwrap_or_default(),
            Column::Reason => r.reason.as_deref().unwrap_or_default(),
            Column::Uuid => &self.uuid,
        }
    }

    /// The cell of `column` with its type: dates and times as themselves, the rest as
    /// [`Row::text`] gives it (an unknown date of birth is empty text).
    pub(crate) fn value<'s>(
        &'s self,
        column: Column,
        tests: &'s str,
        test_name: &'s str,
    ) -> Value<'s> {
        let r = self.r;
        // Only the columns whose kind is not text are typed here (a unit test holds the two
        // in step).
        match column {
            Column::Dob => match r.request.patient.dob {
                Some(d) => Value::Date(d),
                None => Value::Text(""),
            },
            Column::CollectedAt => Value::DateTime(r.request.collected_at),
            Column::CreatedAt => Value::DateTime(r.created_at),
            _ => Value::Text(self.text(column, tests, test_name)),
        }
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
    fn full_width_formula_starts_are_neutralised_reversibly() {
        check("\u{ff1d}SUM(A1)", "'\u{ff1d}SUM(A1)");
        check("\u{ff0b}44 7700", "'\u{ff0b}44 7700");
        check("\u{ff0d}ve", "'\u{ff0d}ve");
        check("\u{ff20}cmd", "'\u{ff20}cmd");
        check("'\u{ff1d}x", "''\u{ff1d}x");
        check("a\u{ff1d}b", "a\u{ff1d}b");
    }

    #[test]
    fn both_column_lists_hold_every_field_once() {
        for cols in [CSV_COLUMNS, CSV_COLUMNS_PER_TEST] {
            let set: std::collections::BTreeSet<_> = cols.iter().collect();
            assert_eq!(set.len(), cols.len());
        }
        assert_eq!(CSV_COLUMNS_PER_TEST.len(), CSV_COLUMNS.len() + 1);
    }

    #[test]
    fn column_lists_are_one_definition() {
        let per_test: Vec<_> = COLUMNS_PER_TEST.iter().map(|c| c.name()).collect();
        assert_eq!(per_test, CSV_COLUMNS_PER_TEST);
        let without: Vec<_> = per_test.into_iter().filter(|n| *n != "test_name").collect();
        assert_eq!(without, CSV_COLUMNS);
        assert_eq!(columns(false), COLUMNS);
        assert_eq!(columns(true), COLUMNS_PER_TEST);
        let i = CSV_COLUMNS_PER_TEST.iter().position(|c| *c == "test_name");
        assert_eq!(
            i,
            Some(
                CSV_COLUMNS_PER_TEST
                    .iter()
                    .position(|c| *c == "tests")
                    .unwrap()
                    + 1
            )
        );
    }

    #[test]
    fn typed_values_follow_each_column_kind() {
        use crate::domain::catalogue::{Catalogue, RequestedTest};
        use crate::domain::downtime_id::{Code3, DowntimeId};
        use crate::domain::event::Actor;
        use crate::domain::request::{NewRequest, Patient, Priority, Sex};
        use chrono::TimeZone;

        let at = Utc.with_ymd_and_hms(2026, 6, 4, 10, 20, 0).unwrap();
        let cat = Catalogue::default_uk().unwrap();
        let ws = Code3::workstation("W07").unwrap();
        let r = RequestState {
            downtime_id: DowntimeId::new(Code3::site("RXX").unwrap(), ws.clone(), 1).unwrap(),
            request: NewRequest {
                uuid: uuid::Uuid::nil(),
                patient: Patient {
                    surname: "Testpatient".into(),
                    forename: "Alice".into(),
                    dob: NaiveDate::from_ymd_opt(1980, 1, 2),
                    sex: Sex::Female,
                    nhs_number: None,
                    mrn: None,
                    emergency_number: None,
                },
                ward: "Ward 7".into(),
                consultant: String::new(),
                requester: String::new(),
                requester_contact: String::new(),
                tests: vec![RequestedTest::from(cat.test("FBC").unwrap())],
                priority: Priority::Urgent,
                collected_at: at,
                collected_by: String::new(),
                clinical_details: String::new(),
                notes: String::new(),
                identity_override: None,
            },
            status: crate::domain::status::Status::Logged,
            accession: None,
            reason: None,
            created_at: at,
            created_by: Actor {
                workstation: ws,
                user: "Nurse".into(),
            },
            updated_at: at,
            last_event: uuid::Uuid::nil(),
        };
        let row = Row::of(&r);
        for &c in COLUMNS_PER_TEST {
            let kind = match row.value(c, "FBC", "Full blood count") {
                Value::Text(_) => ColumnKind::Text,
                Value::Date(_) => ColumnKind::Date,
                Value::DateTime(_) => ColumnKind::DateTime,
            };
            assert_eq!(kind, c.kind(), "{}", c.name());
        }
        assert_eq!(row.text(Column::Dob, "", ""), "1980-01-02");
        assert_eq!(
            row.text(Column::CollectedAt, "", ""),
            "2026-06-04T10:20:00Z"
        );
    }
}
