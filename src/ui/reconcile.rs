//! The lab's reconcile and close-out screens: record each downtime ID's LIMS accession (scanned or
//! typed, one after another, or a whole file), then see whether every issued ID is accounted for
//! and save the close-out report.

use egui::{Key, RichText, Ui};

use super::action::Action;
use super::{fonts, widgets};
use crate::report::{ReportFormat, summary_line, verdict};
use crate::store::{CloseOut, ReconcileReport};

/// The reconcile screen's view state.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReconcileState {
    pub downtime_id: String,
    pub accession: String,
    /// Put the cursor in the Downtime ID field on the next frame.
    pub focus_id: bool,
    /// The outcome of the last scan.
    pub last: Option<ScanOutcome>,
    /// What was recorded this session, newest first.
    pub recorded: Vec<String>,
    pub file_path: String,
    pub skip_invalid: bool,
    /// The outcome of the last file.
    pub file_result: Option<FileOutcome>,
}

/// What one scan (downtime ID + accession) did. Each line names the downtime ID.
#[derive(Debug, Clone, PartialEq)]
pub enum ScanOutcome {
    Recorded(String),
    AlreadyRecorded(String),
    Refused(String),
}

/// What reconciling a whole file did.
#[derive(Debug, Clone, PartialEq)]
pub enum FileOutcome {
    /// The file could not be opened or read as a reconciliation CSV.
    Unreadable(String),
    /// Some rows had problems, so nothing was recorded; one line per refused row.
    Refused {
        invalid: usize,
        rows: usize,
        problems: Vec<String>,
    },
    /// The valid rows were recorded; `skipped` invalid rows (with their problems) were not.
    Recorded {
        applied: usize,
        already: usize,
        skipped: usize,
        problems: Vec<String>,
    },
}

impl FileOutcome {
    /// The outcome of reconciling `rows` rows, as the store reported it.
    pub fn of(report: &ReconcileReport, rows: usize) -> Self {
        let invalid = report.invalid_count();
        if report.written {
            FileOutcome::Recorded {
                applied: report.applied_count(),
                already: report.already_done_count(),
                skipped: invalid,
                problems: report.problem_lines(),
            }
        } else {
            FileOutcome::Refused {
                invalid,
                rows,
                problems: report.problem_lines(),
            }
        }
    }
}

/// Size of downtime IDs, and of lines that hold them, on these screens.
const ID_SIZE: f32 = 15.0;

fn outcome_ui(ui: &mut Ui, outcome: &Result<String, String>) {
    match outcome {
        Ok(text) => {
            ui.label(RichText::new(text).color(widgets::OK_GREEN).strong());
        }
        Err(text) => {
            widgets::error_text(ui, text);
        }
    }
}

/// The outcome of one scan, which names the downtime ID: in the ID font, so that it can be
/// checked against the label character by character.
fn scan_outcome_ui(ui: &mut Ui, outcome: &ScanOutcome) {
    let (text, colour) = match outcome {
        ScanOutcome::Recorded(text) | ScanOutcome::AlreadyRecorded(text) => {
            (text, widgets::OK_GREEN)
        }
        ScanOutcome::Refused(text) => (text, widgets::ERROR_RED),
    };
    ui.add(
        egui::Label::new(
            fonts::downtime_id_text(text, ID_SIZE)
                .color(colour)
                .strong(),
        )
        .wrap(),
    );
}

pub fn reconcile_ui(ui: &mut Ui, state: &mut ReconcileState, actions: &mut Vec<Action>) {
    ui.heading("Reconcile: record the LIMS accession for each downtime ID");
    ui.label(
        RichText::new(
            "Scan or type the downtime ID, then the accession the LIMS gave; Enter records it.",
        )
        .color(widgets::MUTED),
    );
    ui.horizontal(|ui| {
        let l = ui.label(RichText::new("Downtime ID").strong());
        let id = ui
            .add(
                egui::TextEdit::singleline(&mut state.downtime_id)
                    .font(egui::FontId::new(16.0, fonts::downtime_id_family()))
                    .hint_text(fonts::downtime_id_text("RXX-W07-000123-K", 16.0))
                    .desired_width(240.0),
            )
            .labelled_by(l.id);
        if std::mem::take(&mut state.focus_id) {
            id.request_focus();
        }
        let l = ui.label(RichText::new("LIMS accession").strong());
        let acc = ui
            .add(
                egui::TextEdit::singleline(&mut state.accession)
                    .hint_text("L26.0001234")
                    .desired_width(200.0),
            )
            .labelled_by(l.id);
        if id.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter)) {
            acc.request_focus();
        }
        let enter = acc.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter));
        let ready = !state.downtime_id.trim().is_empty() && !state.accession.trim().is_empty();
        let clicked = ui
            .add_enabled(ready, egui::Button::new(RichText::new("Record").strong()))
            .clicked();
        if ready && (clicked || enter) {
            actions.push(Action::ReconcileOne);
        }
    });
    if let Some(last) = &state.last {
        scan_outcome_ui(ui, last);
    }
    if !state.recorded.is_empty() {
        ui.label(
            RichText::new(format!("Recorded this session ({})", state.recorded.len())).strong(),
        );
        egui::ScrollArea::vertical()
            .id_salt("recorded")
            .max_height(160.0)
            .show(ui, |ui| {
                for line in &state.recorded {
                    ui.label(fonts::downtime_id_text(line, ID_SIZE));
                }
            });
    }

    ui.add_space(12.0);
    ui.heading("Reconcile from a file");
    ui.label(
        RichText::new(
            "A CSV with a header row downtime_id,accession[,entered_by,entered_at]. A file with any invalid row is refused as a whole unless invalid rows are skipped.",
        )
        .color(widgets::MUTED),
    );
    ui.horizontal(|ui| {
        let l = ui.label("Reconciliation file");
        ui.add(
            egui::TextEdit::singleline(&mut state.file_path)
                .hint_text("e.g. C:\\Lab\\reentered.csv")
                .desired_width(420.0),
        )
        .labelled_by(l.id);
        ui.checkbox(&mut state.skip_invalid, "Skip invalid rows");
        let ready = !state.file_path.trim().is_empty();
        if ui
            .add_enabled(ready, egui::Button::new("Reconcile file"))
            .clicked()
        {
            actions.push(Action::ReconcileFile);
        }
    });
    if let Some(outcome) = &state.file_result {
        let lines = file_outcome_ui(ui, outcome);
        if !lines.is_empty() {
            egui::ScrollArea::vertical()
                .id_salt("file_problems")
                .max_height(200.0)
                .show(ui, |ui| {
                    for line in lines {
                        ui.label(fonts::downtime_id_text(line, ID_SIZE).color(widgets::ERROR_RED));
                    }
                });
        }
    }
}

/// The summary of a file's outcome; returns the per-row problem lines to list under it.
fn file_outcome_ui<'a>(ui: &mut Ui, outcome: &'a FileOutcome) -> &'a [String] {
    match outcome {
        FileOutcome::Unreadable(e) => {
            widgets::error_text(ui, e);
            &[]
        }
        FileOutcome::Refused {
            invalid,
            rows,
            problems,
        } => {
            widgets::error_text(
                ui,
                &format!(
                    "Refused: {invalid} of {rows} rows have problems, so nothing was recorded. \
                     Correct them, or tick \"Skip invalid rows\" to record the valid rows only."
                ),
            );
            problems
        }
        FileOutcome::Recorded {
            applied,
            already,
            skipped,
            problems,
        } => {
            let text = format!(
                "Recorded {applied} re-entries; {already} were already recorded; {skipped} rows \
                 skipped as invalid."
            );
            if *skipped == 0 {
                ui.label(RichText::new(text).color(widgets::OK_GREEN).strong());
            } else {
                // Recorded, but not everything: the skipped rows still need doing.
                widgets::error_text(ui, &text);
            }
            problems
        }
    }
}

/// The close-out screen's view state.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CloseOutState {
    /// Replace a report file of the same name.
    pub replace: bool,
    /// The outcome of the last save.
    pub saved: Option<Result<String, String>>,
}

pub fn close_out_ui(
    ui: &mut Ui,
    state: &mut CloseOutState,
    close_out: Option<&Result<CloseOut, String>>,
    out_folder: &str,
    actions: &mut Vec<Action>,
) {
    ui.horizontal(|ui| {
        ui.heading("Close-out: is every downtime ID accounted for?");
        if ui.button("Refresh").clicked() {
            actions.push(Action::RefreshLab);
        }
    });
    let c = match close_out {
        None => {
            ui.label("Not checked yet.");
            return;
        }
        Some(Err(e)) => {
            widgets::error_text(ui, e);
            return;
        }
        Some(Ok(c)) => c,
    };
    let colour = if c.is_complete() {
        widgets::OK_GREEN
    } else {
        widgets::ERROR_RED
    };
    ui.label(RichText::new(verdict(c)).color(colour).strong().size(20.0));
    ui.label(format!("{}.", summary_line(c)));
    let s = &c.summary;
    egui::Grid::new("close_out_counts")
        .num_columns(7)
        .spacing([18.0, 4.0])
        .show(ui, |ui| {
            for h in [
                "Issued",
                "Re-entered",
                "Cancelled",
                "Rejected",
                "Not final",
                "Missing",
                "Skipped by rule",
            ] {
                ui.label(RichText::new(h).strong());
            }
            ui.end_row();
            for n in [
                s.issued,
                s.reentered,
                s.cancelled,
                s.rejected,
                s.open,
                s.missing,
                s.skipped_by_rule,
            ] {
                ui.label(n.to_string());
            }
            ui.end_row();
        });

    ui.add_space(6.0);
    ui.horizontal(|ui| {
        ui.label(format!("Save the report into {out_folder}:"));
        if ui.button("Save report as PDF").clicked() {
            actions.push(Action::SaveCloseOut(ReportFormat::Pdf));
        }
        if ui.button("Save report as CSV").clicked() {
            actions.push(Action::SaveCloseOut(ReportFormat::Csv));
        }
        ui.checkbox(&mut state.replace, "Replace a report of the same name");
    });
    if let Some(saved) = &state.saved {
        outcome_ui(ui, saved);
    }

    let attention: Vec<_> = c.attention().collect();
    ui.add_space(6.0);
    ui.label(RichText::new(format!("Needing attention ({})", attention.len())).strong());
    egui::ScrollArea::vertical()
        .id_salt("attention")
        .max_height(320.0)
        .show(ui, |ui| {
            egui::Grid::new("attention_list")
                .striped(true)
                .num_columns(3)
                .show(ui, |ui| {
                    for r in attention {
                        ui.label(fonts::downtime_id_text(r.downtime_id.grouped(), ID_SIZE));
                        ui.label(r.state.label());
                        ui.label(r.state.action());
                        ui.end_row();
                    }
                });
        });
}
