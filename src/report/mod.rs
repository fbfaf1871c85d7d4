//! The close-out report, rendered from [`CloseOut`] as CSV or as an A4 PDF; the audit log as
//! CSV (`audit.rs`).
//!
//! Pure: the generation time is a parameter; writers write into any `io::Write` or return bytes,
//! and the shell writes the file. Privacy: only downtime IDs, states, accessions and reasons
//! appear, never names or NHS numbers.

mod audit;
mod pdf;

use std::io::{self, Write};

use chrono::{DateTime, SecondsFormat, Utc};

use crate::export::csv::neutralise;
use crate::store::{CloseOut, IdState};

pub use audit::{AUDIT_COLUMNS, write_audit_csv};
pub use pdf::close_out_pdf;

/// Columns of the close-out CSV.
pub const CLOSE_OUT_COLUMNS: &[&str] = &[
    "site",
    "workstation",
    "sequence",
    "downtime_id",
    "state",
    "final",
    "accession",
    "reason",
    "note",
];

/// Which report file to write, from the file name's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    Csv,
    Pdf,
}

impl ReportFormat {
    /// `.csv` or `.pdf` (any case); anything else is `None`.
    pub fn from_path(path: &std::path::Path) -> Option<Self> {
        let ext = path.extension()?.to_string_lossy().to_ascii_lowercase();
        match ext.as_str() {
            "csv" => Some(Self::Csv),
            "pdf" => Some(Self::Pdf),
            _ => None,
        }
    }
}

/// The note beside one ID.
fn note(state: &IdState, training: bool) -> String {
    let mut n = state.action().to_owned();
    if training {
        if !n.is_empty() {
            n.push_str("; ");
        }
        n.push_str("training request");
    }
    n
}

/// One line of summary, as printed by the command line and at the top of the PDF.
pub fn summary_line(c: &CloseOut) -> String {
    let s = &c.summary;
    format!(
        "{} downtime IDs issued: {} re-entered, {} cancelled, {} rejected, {} not final, {} missing; {} sequence numbers skipped by the check-character rule",
        s.issued, s.reentered, s.cancelled, s.rejected, s.open, s.missing, s.skipped_by_rule
    )
}

/// The verdict in words.
pub fn verdict(c: &CloseOut) -> &'static str {
    if c.is_complete() {
        "COMPLETE: every downtime ID issued is accounted for"
    } else {
        "NOT COMPLETE: some downtime IDs are not final or are missing"
    }
}

/// The audit chain's head in words, as the reports print it.
pub fn audit_head_line(c: &CloseOut) -> String {
    match &c.audit_head {
        Some(h) => format!("Audit chain head: {h}"),
        None => "Audit chain head: not read".to_owned(),
    }
}

/// Writes the close-out as CSV: one row per issued ID (those needing action first), then one row
/// per sequence number skipped by rule, then one row with the audit chain's head. Cells a
/// spreadsheet would run are neutralised.
pub fn write_close_out_csv(c: &CloseOut, out: &mut dyn Write) -> io::Result<()> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(out);
    let to_io = |e: csv::Error| io::Error::other(e.to_string());
    w.write_record(CLOSE_OUT_COLUMNS).map_err(to_io)?;
    for r in &c.rows {
        let id = &r.downtime_id;
        let seq = format!("{:06}", id.sequence());
        let n = note(&r.state, r.training);
        w.write_record([
            id.site().as_str(),
            id.workstation().as_str(),
            seq.as_str(),
            id.canonical().as_str(),
            r.state.word(),
            if r.state.is_final() { "yes" } else { "no" },
            &neutralise(r.state.accession()),
            &neutralise(r.state.reason()),
            n.as_str(),
        ])
        .map_err(to_io)?;
    }
    for s in &c.skipped {
        let seq = format!("{:06}", s.sequence);
        w.write_record([
            s.site.as_str(),
            s.workstation.as_str(),
            seq.as_str(),
            "",
            "skipped_by_rule",
            "yes",
            "",
            "",
            "never issued: its check character would not be a letter or digit",
        ])
        .map_err(to_io)?;
    }
    let (site, ws) = (
        c.site.as_ref().map(|s| s.as_str()).unwrap_or_default(),
        c.workstation
            .as_ref()
            .map(|s| s.as_str())
            .unwrap_or_default(),
    );
    let head = audit_head_line(c);
    w.write_record([
        site,
        ws,
        "",
        "",
        "audit_chain_head",
        "",
        "",
        "",
        head.as_str(),
    ])
    .map_err(to_io)?;
    w.flush()
}

/// A time as shown in reports.
pub(crate) fn shown_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}
