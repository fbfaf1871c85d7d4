//! Reading a reconciliation CSV file: the header, the columns in any order, row numbers as in
//! the file.

use std::io::Read;

/// One row of a reconciliation file, as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReconcileRow {
    /// The row number in the file; the header is row 1.
    pub row: usize,
    pub downtime_id: String,
    pub accession: String,
    /// Who typed it into the LIMS; blank means the user running the reconciliation.
    pub entered_by: String,
    /// When it was typed into the LIMS (RFC 3339 with an offset); blank means now.
    pub entered_at: String,
    /// Why this accession may also belong to another request (one LIMS order for two forms).
    /// Blank: an accession already on another request, or on another row, refuses the row.
    pub shared_accession: String,
}

/// Why a reconciliation file could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileFileError {
    #[error(
        "the file is empty: it needs a header row downtime_id,accession[,entered_by,entered_at]"
    )]
    Empty,
    #[error(
        "row 1 must be the header downtime_id,accession[,entered_by,entered_at]; it has no '{0}' column"
    )]
    MissingColumn(&'static str),
    #[error("row {row}: {message}")]
    Csv { row: u64, message: String },
    /// The csv crate's own message for this says "invalid utf-8" twice and counts from 0.
    #[error("row {row} is not UTF-8 text: save the file as \"CSV UTF-8\" and try again")]
    NotUtf8 { row: u64 },
}

/// Reads a reconciliation CSV: a header row naming `downtime_id` and `accession` (and optionally
/// `entered_by`, `entered_at`), in any order, then one row per request. Rows whose cells are all
/// blank are skipped; row numbers are those of the file (header = row 1).
pub fn read_reconcile_csv(input: impl Read) -> Result<Vec<ReconcileRow>, ReconcileFileError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(input);
    let mut records = reader.records();
    let csv_err = |e: csv::Error| {
        let row = e.position().map_or(0, csv::Position::line);
        match e.kind() {
            csv::ErrorKind::Utf8 { .. } => ReconcileFileError::NotUtf8 { row },
            _ => ReconcileFileError::Csv {
                row,
                message: e.to_string(),
            },
        }
    };
    let header = match records.next() {
        None => return Err(ReconcileFileError::Empty),
        Some(h) => h.map_err(csv_err)?,
    };
    let col = |name: &'static str| {
        header.iter().position(|h| {
            h.trim()
                .trim_start_matches('\u{feff}')
                .eq_ignore_ascii_case(name)
        })
    };
    let id_col = col("downtime_id").ok_or(ReconcileFileError::MissingColumn("downtime_id"))?;
    let acc_col = col("accession").ok_or(ReconcileFileError::MissingColumn("accession"))?;
    let by_col = col("entered_by");
    let at_col = col("entered_at");
    let shared_col = col("shared_accession");
    let mut out = Vec::new();
    for (i, rec) in records.enumerate() {
        let rec = rec.map_err(csv_err)?;
        if rec.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let cell = |c: Option<usize>| {
            c.and_then(|c| rec.get(c))
                .map(|s| s.trim().to_owned())
                .unwrap_or_default()
        };
        out.push(ReconcileRow {
            row: i + 2,
            downtime_id: cell(Some(id_col)),
            accession: cell(Some(acc_col)),
            entered_by: cell(by_col),
            entered_at: cell(at_col),
            shared_accession: cell(shared_col),
        });
    }
    Ok(out)
}
