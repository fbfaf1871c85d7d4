//! Spreadsheet export (.xlsx, Office Open XML) for lab staff: the CSV's columns, one row per
//! request or per test, with every cell typed so that a spreadsheet changes nothing.
//!
//! - Identifiers, codes and free text are text cells (inline strings) with the Text number
//!   format `@`: NHS numbers, phone numbers, MRNs and downtime IDs keep their leading zeros,
//!   nothing is ever a formula (no cell is written with one), and a cell the clerk edits stays
//!   text. Nothing is prefixed with `'`, unlike CSV: a typed cell needs no neutralising.
//! - Dates of birth are dates (`yyyy-mm-dd`); collection and creation times are date-times in
//!   UTC, as in the CSV, shown as `yyyy-mm-dd hh:mm:ss "UTC"` so nobody reads them as local
//!   time. A date a spreadsheet cannot hold (before 1900) is written as the CSV's text.
//! - The header row is bold and frozen, columns have fixed widths for their content, and the
//!   header carries an autofilter.
//!
//! Rows are streamed (the worksheet's "constant memory" mode keeps one row in memory; the sheet
//! XML goes to an unnamed temporary file that the operating system removes when it is closed).
//! The zip's entry times are fixed by the writer and the document's creation time is
//! `generated_at`, so the same requests and context give the same bytes.

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format as CellFormat, Workbook, Worksheet};

use crate::domain::event::RequestState;

use super::csv::{Column, ColumnKind, Row, Value, columns, joined_codes};
use super::{ExportContext, ExportError};

/// The name of the one worksheet.
pub const SHEET_NAME: &str = "Requests";

/// The cell formats of the sheet.
struct Formats {
    header: CellFormat,
    text: CellFormat,
    date: CellFormat,
    date_time: CellFormat,
}

impl Formats {
    fn new() -> Self {
        let text = CellFormat::new().set_num_format("@");
        Self {
            header: text.clone().set_bold(),
            text,
            date: CellFormat::new().set_num_format("yyyy-mm-dd"),
            date_time: CellFormat::new().set_num_format("yyyy-mm-dd hh:mm:ss \"UTC\""),
        }
    }

    fn of(&self, kind: ColumnKind) -> &CellFormat {
        match kind {
            ColumnKind::Text => &self.text,
            ColumnKind::Date => &self.date,
            ColumnKind::DateTime => &self.date_time,
        }
    }
}

/// Column width in characters: wide enough for the usual content, so the sheet reads without
/// resizing (the rows are streamed, so widths cannot be fitted to the data).
fn width(c: Column) -> f64 {
    match c {
        Column::DowntimeId => 16.0,
        Column::Status | Column::Priority | Column::Sex | Column::Workstation => 11.0,
        Column::NhsNumber | Column::Mrn | Column::EmergencyNumber | Column::Dob => 13.0,
        Column::Surname | Column::Forename | Column::Tests => 18.0,
        Column::Ward | Column::Consultant | Column::Requester | Column::CollectedBy => 20.0,
        Column::RequesterContact | Column::CreatedBy | Column::Accession => 18.0,
        Column::TestName => 28.0,
        Column::CollectedAt | Column::CreatedAt => 24.0,
        Column::ClinicalDetails | Column::Notes | Column::Reason => 40.0,
        Column::Uuid => 38.0,
    }
}

/// Writes the .xlsx for `requests` (`ctx.csv.per_test` chooses the layout, as for CSV).
pub(crate) fn write(
    requests: &[RequestState],
    ctx: &ExportContext,
    out: &mut dyn std::io::Write,
) -> Result<(), ExportError> {
    let columns = columns(ctx.csv.per_test);
    let rows = if ctx.csv.per_test {
        requests.iter().map(|r| r.request.tests.len()).sum()
    } else {
        requests.len()
    };
    let mut workbook = Workbook::new();
    // Deflate is most of the writing time; the fastest level is about twice as quick as the
    // default for a somewhat larger file.
    workbook.set_zip_compression_level(1);
    workbook.set_properties(
        &DocProperties::new()
            .set_title("Stopgap downtime requests")
            .set_creation_datetime(&excel_date_time(ctx.generated_at).unwrap_or_default()),
    );
    let formats = Formats::new();
    let sheet = workbook.add_worksheet_with_constant_memory()?;
    sheet.set_name(SHEET_NAME)?;
    lay_out(sheet, columns, rows, &formats)?;

    let mut row_number = 0;
    let mut codes = String::new();
    for r in requests {
        let row = Row::of(r);
        if ctx.csv.per_test {
            for t in &r.request.tests {
                row_number += 1;
                write_row(sheet, row_number, columns, &row, &t.code, &t.name, &formats)?;
            }
        } else {
            joined_codes(r, &mut codes);
            row_number += 1;
            write_row(sheet, row_number, columns, &row, &codes, "", &formats)?;
        }
    }
    out.write_all(&workbook.save_to_buffer()?)?;
    Ok(())
}

/// Widths, column formats, the bold frozen header and the autofilter over `rows` data rows.
/// All of it comes before the first data row, as streaming requires.
fn lay_out(
    sheet: &mut Worksheet,
    columns: &[Column],
    rows: usize,
    formats: &Formats,
) -> Result<(), ExportError> {
    for (i, &c) in (0u16..).zip(columns) {
        sheet.set_column_width(i, width(c))?;
        // Cells typed later into an empty column take the column's format (text stays text).
        sheet.set_column_format(i, formats.of(c.kind()))?;
        sheet.write_string_with_format(0, i, c.name(), &formats.header)?;
    }
    sheet.set_freeze_panes(1, 0)?;
    let last_column = u16::try_from(columns.len().saturating_sub(1)).unwrap_or(u16::MAX);
    // Too many rows for a sheet is refused by the writing of the row itself.
    let last_row = u32::try_from(rows).unwrap_or(u32::MAX);
    sheet.autofilter(0, 0, last_row, last_column)?;
    Ok(())
}

fn write_row(
    sheet: &mut Worksheet,
    row_number: u32,
    columns: &[Column],
    row: &Row<'_>,
    tests: &str,
    test_name: &str,
    formats: &Formats,
) -> Result<(), ExportError> {
    for (i, &c) in (0u16..).zip(columns) {
        match row.value(c, tests, test_name) {
            // An empty cell is left out: it has the column's text format already.
            Value::Text("") => {}
            Value::Text(s) => {
                sheet.write_string_with_format(row_number, i, s, &formats.text)?;
            }
            Value::Date(d) => match excel_date(d) {
                Some(x) => {
                    sheet.write_datetime_with_format(row_number, i, &x, &formats.date)?;
                }
                None => {
                    let s = row.text(c, tests, test_name);
                    sheet.write_string_with_format(row_number, i, s, &formats.text)?;
                }
            },
            Value::DateTime(t) => match excel_date_time(t) {
                Some(x) => {
                    sheet.write_datetime_with_format(row_number, i, &x, &formats.date_time)?;
                }
                None => {
                    let s = row.text(c, tests, test_name);
                    sheet.write_string_with_format(row_number, i, s, &formats.text)?;
                }
            },
        }
    }
    Ok(())
}

/// `d` as a spreadsheet date, when the spreadsheet can hold it (1900-01-01 to 9999-12-31).
fn excel_date(d: NaiveDate) -> Option<ExcelDateTime> {
    let year = u16::try_from(d.year()).ok().filter(|y| *y >= 1900)?;
    // Month and day always fit a u8.
    let month = u8::try_from(d.month()).ok()?;
    let day = u8::try_from(d.day()).ok()?;
    ExcelDateTime::from_ymd(year, month, day).ok()
}

/// `t` (UTC) as a spreadsheet date-time to the second; a leap second is shown as :59.
fn excel_date_time(t: DateTime<Utc>) -> Option<ExcelDateTime> {
    let minute = u8::try_from(t.minute()).ok()?;
    let hour = u16::try_from(t.hour()).ok()?;
    excel_date(t.date_naive())?
        .and_hms(hour, minute, t.second())
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn dates_outside_what_a_spreadsheet_holds_are_not_dates() {
        assert!(excel_date(NaiveDate::from_ymd_opt(1899, 12, 31).unwrap()).is_none());
        assert!(excel_date(NaiveDate::from_ymd_opt(1900, 1, 1).unwrap()).is_some());
        assert!(excel_date(NaiveDate::from_ymd_opt(10000, 1, 1).unwrap()).is_none());
        let t = Utc.with_ymd_and_hms(2026, 6, 4, 10, 20, 30).unwrap();
        let x = excel_date_time(t).unwrap();
        // 2026-06-04 is day 46177 counted from 1899-12-30; 10:20:30 is 37,230 s into it.
        let expected = 46177.0 + 37_230.0 / 86_400.0;
        assert!((x.to_excel() - expected).abs() < 1e-9, "{}", x.to_excel());
    }
}
