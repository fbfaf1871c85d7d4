//! The close-out report as an A4 PDF: title, site, generation time, a COMPLETE / NOT COMPLETE
//! banner, summary counts, then tables (IDs needing action first) that run onto new pages with
//! their headings repeated. Built-in Helvetica only, so no font file is needed.

use chrono::{DateTime, Utc};
use printpdf::{
    BuiltinFont, Color, Mm, Op, PaintMode, PdfDocument, PdfFontHandle, PdfPage, PdfSaveOptions,
    Point, Pt, Rect, Rgb, TextItem,
};

use super::{audit_head_line, note, shown_time, summary_line};
use crate::store::{CloseOut, CloseOutRow};

const PAGE_W: f32 = 210.0;
const PAGE_H: f32 = 297.0;
const LEFT: f32 = 15.0;
const TOP: f32 = 282.0;
const BOTTOM: f32 = 18.0;
const ROW: f32 = 4.6;

/// Table columns: x position (mm) and the most characters that fit.
const COLUMNS: [(f32, usize, &str); 4] = [
    (LEFT, 18, "Downtime ID"),
    (LEFT + 40.0, 18, "State"),
    (LEFT + 78.0, 22, "Accession"),
    (LEFT + 122.0, 40, "Reason / action"),
];

struct Writer {
    pages: Vec<Vec<Op>>,
    y: f32,
}

fn rgb(r: f32, g: f32, b: f32) -> Color {
    Color::Rgb(Rgb {
        r,
        g,
        b,
        icc_profile: None,
    })
}

/// The built-in fonts encode WinAnsi: keep Latin-1 and replace anything else.
fn printable(s: &str, max: usize) -> String {
    let mut out: String = s
        .chars()
        .map(|c| {
            if (' '..='~').contains(&c) || ('\u{a0}'..='\u{ff}').contains(&c) {
                c
            } else {
                '?'
            }
        })
        .collect();
    if out.chars().count() > max {
        out = out.chars().take(max.saturating_sub(3)).collect();
        out.push_str("...");
    }
    out
}

impl Writer {
    fn new() -> Self {
        Self {
            pages: vec![Vec::new()],
            y: TOP,
        }
    }

    fn ops(&mut self) -> &mut Vec<Op> {
        if self.pages.is_empty() {
            self.pages.push(Vec::new());
        }
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    fn text_at(&mut self, x: f32, y: f32, size: f32, bold: bool, text: &str) {
        let font = if bold {
            BuiltinFont::HelveticaBold
        } else {
            BuiltinFont::Helvetica
        };
        self.ops().extend([
            Op::StartTextSection,
            Op::SetFont {
                font: PdfFontHandle::Builtin(font),
                size: Pt(size),
            },
            Op::SetTextCursor {
                pos: Point::new(Mm(x), Mm(y)),
            },
            Op::ShowText {
                items: vec![TextItem::Text(text.to_owned())],
            },
            Op::EndTextSection,
        ]);
    }

    /// A line of text at the cursor, moving it down.
    fn line(&mut self, size: f32, bold: bool, text: &str) {
        self.room(size * 0.5);
        let y = self.y;
        self.text_at(LEFT, y, size, bold, &printable(text, 110));
        self.y -= size * 0.5;
    }

    fn gap(&mut self, mm: f32) {
        self.y -= mm;
    }

    /// Starts a new page unless `mm` more fits on this one. Returns whether it did.
    fn room(&mut self, mm: f32) -> bool {
        if self.y - mm < BOTTOM {
            self.pages.push(Vec::new());
            self.y = TOP;
            true
        } else {
            false
        }
    }

    fn banner(&mut self, complete: bool, text: &str) {
        let (r, g, b) = if complete {
            (0.78, 0.92, 0.78)
        } else {
            (0.98, 0.78, 0.78)
        };
        let h = 11.0;
        let y = self.y - h;
        self.ops().extend([
            Op::SaveGraphicsState,
            Op::SetFillColor { col: rgb(r, g, b) },
            Op::DrawRectangle {
                rectangle: Rect {
                    mode: Some(PaintMode::Fill),
                    ..Rect::from_xywh(
                        Mm(LEFT).into_pt(),
                        Mm(y).into_pt(),
                        Mm(PAGE_W - 2.0 * LEFT).into_pt(),
                        Mm(h).into_pt(),
                    )
                },
            },
            Op::RestoreGraphicsState,
        ]);
        self.text_at(LEFT + 3.0, y + 3.5, 14.0, true, text);
        self.y = y - 5.0;
    }

    fn table_head(&mut self, title: &str) {
        self.room(ROW * 4.0);
        self.gap(2.0);
        self.line(11.0, true, title);
        self.column_heads();
    }

    fn column_heads(&mut self) {
        let y = self.y;
        for (x, _, head) in COLUMNS {
            self.text_at(x, y, 8.5, true, head);
        }
        self.y -= ROW;
    }

    fn table_row(&mut self, title: &str, row: &CloseOutRow) {
        if self.room(ROW) {
            self.line(9.0, true, &format!("{title} (continued)"));
            self.column_heads();
        }
        let cells = [
            row.downtime_id.grouped(),
            row.state.label().to_owned(),
            row.state.accession().to_owned(),
            if row.state.is_final() {
                row.state.reason().to_owned()
            } else {
                note(&row.state, row.training)
            },
        ];
        let y = self.y;
        for ((x, max, _), cell) in COLUMNS.iter().zip(cells) {
            self.text_at(*x, y, 8.5, false, &printable(&cell, *max));
        }
        self.y -= ROW;
    }
}

/// Renders the close-out as a PDF document.
pub fn close_out_pdf(c: &CloseOut, generated_at: DateTime<Utc>) -> Vec<u8> {
    let mut w = Writer::new();
    w.line(18.0, true, "Stopgap: LIMS downtime close-out");
    w.gap(1.0);
    let site = match (&c.site, &c.workstation) {
        (Some(s), Some(ws)) => format!("Site {s}, produced on workstation {ws}"),
        _ => "Site not set up".to_owned(),
    };
    w.line(10.0, false, &site);
    w.line(
        10.0,
        false,
        &format!("Generated {}", shown_time(generated_at)),
    );
    w.line(8.0, false, &audit_head_line(c));
    w.gap(3.0);
    let banner = if c.is_complete() {
        "COMPLETE: every downtime ID issued is accounted for"
    } else {
        "NOT COMPLETE: downtime IDs below still need action"
    };
    w.banner(c.is_complete(), banner);
    let s = &c.summary;
    for line in [
        format!("Downtime IDs issued: {}", s.issued),
        format!("Re-entered in the LIMS: {}", s.reentered),
        format!("Cancelled: {}", s.cancelled),
        format!("Rejected: {}", s.rejected),
        format!("Not final (logged, sent or received): {}", s.open),
        format!("Issued but no record found (investigate): {}", s.missing),
        format!(
            "Sequence numbers skipped by the check-character rule (explained): {}",
            s.skipped_by_rule
        ),
    ] {
        w.line(10.0, false, &line);
    }
    w.gap(2.0);
    w.line(11.0, true, "By workstation");
    for ws in &c.workstations {
        let t = &ws.summary;
        w.line(
            9.0,
            false,
            &format!(
                "{}/{}: last sequence {:06}; {} issued, {} final, {} not final, {} missing, {} skipped by rule",
                ws.site,
                ws.workstation,
                ws.last_sequence,
                t.issued,
                t.final_count(),
                t.open,
                t.missing,
                t.skipped_by_rule
            ),
        );
    }

    let attention: Vec<&CloseOutRow> = c.attention().collect();
    if !attention.is_empty() {
        let title = "Needs action (not final or missing)";
        w.table_head(title);
        for r in attention {
            w.table_row(title, r);
        }
    }
    if !c.skipped.is_empty() {
        w.room(ROW * 3.0);
        w.gap(2.0);
        w.line(
            11.0,
            true,
            "Gaps explained: sequence numbers never issued by rule",
        );
        let mut current = String::new();
        let mut text = String::new();
        for s in &c.skipped {
            let key = format!("{}/{}", s.site, s.workstation);
            if key != current {
                if !text.is_empty() {
                    wrap(&mut w, &text);
                }
                text = format!("{key}: ");
                current = key;
            } else {
                text.push_str(", ");
            }
            text.push_str(&format!("{:06}", s.sequence));
        }
        if !text.is_empty() {
            wrap(&mut w, &text);
        }
    }
    let title = "Final (re-entered, cancelled, rejected)";
    w.table_head(title);
    for r in c.rows.iter().filter(|r| r.state.is_final()) {
        w.table_row(title, r);
    }
    w.gap(3.0);
    w.line(8.0, false, &summary_line(c));
    w.line(8.0, false, &audit_head_line(c));

    let total = w.pages.len();
    let pages: Vec<PdfPage> = w
        .pages
        .into_iter()
        .enumerate()
        .map(|(i, mut ops)| {
            let footer = format!(
                "Stopgap close-out, generated {} - page {} of {}",
                shown_time(generated_at),
                i + 1,
                total
            );
            ops.extend([
                Op::StartTextSection,
                Op::SetFont {
                    font: PdfFontHandle::Builtin(BuiltinFont::Helvetica),
                    size: Pt(7.5),
                },
                Op::SetTextCursor {
                    pos: Point::new(Mm(LEFT), Mm(10.0)),
                },
                Op::ShowText {
                    items: vec![TextItem::Text(footer)],
                },
                Op::EndTextSection,
            ]);
            PdfPage::new(Mm(PAGE_W), Mm(PAGE_H), ops)
        })
        .collect();
    let mut doc = PdfDocument::new("Stopgap downtime close-out");
    doc.with_pages(pages)
        .save(&PdfSaveOptions::default(), &mut Vec::new())
}

/// Writes a long line as several, breaking after commas.
fn wrap(w: &mut Writer, text: &str) {
    let mut line = String::new();
    for part in text.split_inclusive(", ") {
        if line.len() + part.len() > 105 {
            w.line(8.5, false, &line);
            line.clear();
        }
        line.push_str(part);
    }
    if !line.is_empty() {
        w.line(8.5, false, &line);
    }
}
