//! The lab's export screen: choose a format, profile and selection, see how many requests will go
//! and a preview of the first ones, then export them to a file in the background. Earlier batches
//! are listed below.

use std::path::{Path, PathBuf};

use chrono::{Local, NaiveDate};
use egui::{RichText, Ui};

use super::action::Action;
use super::{fonts, widgets};
use crate::backlog::ExportPhase;
use crate::domain::request::{ALL_PRIORITIES, Priority};
use crate::domain::status::{ALL_STATUSES, Status};
use crate::export::{ALL_FORMATS, Format};
use crate::files::{Recipient, Sealed, Sealing, SecretString};
use crate::store::{BatchRecord, ExportOptions, ExportSelection};

/// A finished export, as shown.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportDone {
    pub path: PathBuf,
    pub batch_id: String,
    pub request_count: u64,
    pub sha256: String,
    /// Each value written shortened to the receiver's limits (the profile truncates), as a line.
    pub truncations: Vec<String>,
    /// How the file was written ("age recipient", "age passphrase", "plaintext").
    pub sealed: Option<Sealed>,
}

/// A passphrase as typed, never shown by `Debug` (the screen state is logged in tests).
#[derive(Clone, Default, PartialEq)]
pub struct TypedSecret(String);

impl std::fmt::Debug for TypedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TypedSecret([hidden])")
    }
}

impl TypedSecret {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The export screen's view state: what was chosen, as typed.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportState {
    pub format: Format,
    /// Blank: the built-in profile.
    pub profile_path: String,
    pub include_exported: bool,
    /// Ticked statuses; none ticked means "still needing re-entry".
    pub statuses: Vec<Status>,
    pub priorities: Vec<Priority>,
    /// Blank: any ward.
    pub ward: String,
    /// YYYY-MM-DD, local days; blank: no limit.
    pub from: String,
    pub to: String,
    pub options: ExportOptions,
    pub out_folder: String,
    /// Replace a file of the same name (never done silently).
    pub replace: bool,
    /// Encrypt to this passphrase (when the profile has no key for the lab), typed twice.
    pub passphrase: TypedSecret,
    pub passphrase_again: TypedSecret,
    /// "Write unencrypted" ticked: the confirmation a plain-text file needs.
    pub plaintext: bool,
    /// An export is running in the background.
    pub running: bool,
    /// How far it has got, as last read from its thread.
    pub progress: Option<(ExportPhase, u64, u64)>,
    /// Cancel was pressed and the export has not stopped yet.
    pub cancelling: bool,
    pub result: Option<Result<ExportDone, String>>,
}

impl Default for ExportState {
    fn default() -> Self {
        Self {
            format: Format::Csv,
            profile_path: String::new(),
            include_exported: false,
            statuses: Vec::new(),
            priorities: Vec::new(),
            ward: String::new(),
            from: String::new(),
            to: String::new(),
            options: ExportOptions::default(),
            out_folder: default_folder().display().to_string(),
            replace: false,
            passphrase: TypedSecret::default(),
            passphrase_again: TypedSecret::default(),
            plaintext: false,
            running: false,
            progress: None,
            cancelling: false,
            result: None,
        }
    }
}

/// The user's Documents folder, else their home folder, else the current folder.
pub fn default_folder() -> PathBuf {
    directories::UserDirs::new()
        .and_then(|u| {
            u.document_dir()
                .map(Path::to_owned)
                .or_else(|| Some(u.home_dir().to_owned()))
        })
        .unwrap_or_else(|| PathBuf::from("."))
}

fn parse_day(label: &str, text: &str) -> Result<Option<NaiveDate>, String> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(t, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| format!("{label} '{t}' is not a date: write it like 2026-11-30"))
}

impl ExportState {
    /// The selection as the store takes it, or what is wrong with the dates.
    pub fn selection(&self) -> Result<ExportSelection, String> {
        let from = parse_day("From", &self.from)?;
        let to = parse_day("To", &self.to)?;
        let (collected_from, collected_before) = crate::backlog::collected_window(from, to, &Local)
            .map_err(|e| crate::error::error_chain(&e))?;
        let ward = self.ward.trim();
        Ok(ExportSelection {
            statuses: self.statuses.clone(),
            ward: (!ward.is_empty()).then(|| ward.to_owned()),
            priorities: self.priorities.clone(),
            collected_from,
            collected_before,
            include_exported: self.include_exported,
        })
    }

    /// How the file is written: for the lab's key when the profile has one, else to the typed
    /// passphrase, else in plain text if "Write unencrypted" is ticked; else what to do.
    pub fn sealing(&self, profile_key: Option<Recipient>) -> Result<Sealing, String> {
        if let Some(key) = profile_key {
            return Sealing::recipients(vec![key]).map_err(|e| e.to_string());
        }
        if !self.passphrase.is_empty() {
            if self.passphrase != self.passphrase_again {
                return Err("the two passphrases differ: type the same one twice".to_owned());
            }
            return Sealing::passphrase(SecretString::from(self.passphrase.0.clone()))
                .map_err(|e| e.to_string());
        }
        if self.plaintext {
            return Ok(Sealing::plaintext_confirmed());
        }
        Err(NO_SEALING.to_owned())
    }

    /// The profile file, if one was typed.
    pub fn profile_file(&self) -> Option<PathBuf> {
        let p = self.profile_path.trim();
        (!p.is_empty()).then(|| PathBuf::from(p))
    }
}

/// What the export screen shows from the store, computed when the choices change.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ExportCache {
    /// How many requests the export would take, or why that is unknown.
    pub count: Option<Result<usize, String>>,
    /// The first requests as they would be written, or why they cannot be.
    pub preview: Option<Result<String, String>>,
    /// Earlier batches, newest first, or why they could not be read (`None` before the first
    /// read).
    pub batches: Option<Result<Vec<BatchRecord>, String>>,
    /// The chosen profile's key for the lab (`age1…`), when it has one.
    pub age_recipient: Option<String>,
}

/// What the screen says when no way of writing the file is chosen.
const NO_SEALING: &str = "the file holds patient data and leaves this PC: type a passphrase to \
    encrypt it (give it to the lab by telephone), or tick \"Write unencrypted\"; an export \
    profile with age_recipient encrypts it for the lab's key";

/// How the file will be written: the lab's key, or a passphrase, or the unencrypted box.
fn sealing_ui(ui: &mut Ui, state: &mut ExportState, cache: &ExportCache) {
    if let Some(key) = &cache.age_recipient {
        ui.label(
            RichText::new(format!("Encrypted for the lab ({key})"))
                .color(widgets::OK_GREEN)
                .strong(),
        );
        return;
    }
    ui.vertical(|ui| {
        ui.horizontal(|ui| {
            let l = ui.label("Passphrase to encrypt with");
            ui.add(
                egui::TextEdit::singleline(&mut state.passphrase.0)
                    .password(true)
                    .desired_width(200.0),
            )
            .labelled_by(l.id);
            let l = ui.label("Again");
            ui.add(
                egui::TextEdit::singleline(&mut state.passphrase_again.0)
                    .password(true)
                    .desired_width(200.0),
            )
            .labelled_by(l.id);
        });
        ui.add_enabled(
            state.passphrase.is_empty(),
            egui::Checkbox::new(
                &mut state.plaintext,
                "Write unencrypted (anyone who finds the file can read the patients' details)",
            ),
        );
    });
}

fn format_label(f: Format) -> &'static str {
    match f {
        Format::Csv => "CSV",
        Format::Hl7Oml => "HL7 v2.5.1 OML^O21",
        Format::Hl7Orm => "HL7 v2.4 ORM^O01",
        Format::Fhir => "FHIR R4 Bundle",
        Format::Xlsx => "Spreadsheet (.xlsx)",
    }
}

/// The running export: a bar with its counts, and Cancel until the file is in place.
fn progress_ui(ui: &mut Ui, state: &ExportState, actions: &mut Vec<Action>) {
    let (phase, done, total) = state.progress.unwrap_or((ExportPhase::Reading, 0, 0));
    let text = match phase {
        ExportPhase::Reading => format!("Reading requests: {done} of {total}"),
        ExportPhase::Writing => format!("Writing the file: {done} of {total} records"),
        ExportPhase::Recording => "Recording the batch…".to_owned(),
    };
    let fraction = if total == 0 {
        0.0
    } else {
        done as f32 / total as f32
    };
    ui.horizontal(|ui| {
        ui.add(
            egui::ProgressBar::new(fraction)
                .desired_width(420.0)
                .text(text),
        );
        if state.cancelling {
            ui.label("Cancelling…");
        } else if phase != ExportPhase::Recording && ui.button("Cancel export").clicked() {
            actions.push(Action::CancelExport);
        }
    });
}

/// A labelled single-line text field; `true` when its text changed.
fn text_field(ui: &mut Ui, label: &str, value: &mut String, hint: &str, width: f32) -> bool {
    let l = ui.label(label);
    ui.add(
        egui::TextEdit::singleline(value)
            .hint_text(hint)
            .desired_width(width),
    )
    .labelled_by(l.id)
    .changed()
}

fn toggle<T: PartialEq + Copy>(list: &mut Vec<T>, item: T, on: bool) {
    if on && !list.contains(&item) {
        list.push(item);
    } else if !on {
        list.retain(|x| *x != item);
    }
}

pub fn export_ui(
    ui: &mut Ui,
    state: &mut ExportState,
    cache: &ExportCache,
    actions: &mut Vec<Action>,
) {
    let mut changed = false;
    ui.heading("Export for re-entry into the LIMS");
    egui::Grid::new("export_choices")
        .num_columns(2)
        .spacing([16.0, 10.0])
        .show(ui, |ui| {
            ui.label(RichText::new("Format").strong());
            ui.horizontal(|ui| {
                for f in ALL_FORMATS {
                    changed |= ui
                        .radio_value(&mut state.format, f, format_label(f))
                        .changed();
                }
            });
            ui.end_row();

            ui.label(RichText::new("Profile").strong());
            ui.horizontal(|ui| {
                changed |= text_field(
                    ui,
                    "Profile file (blank = built-in default)",
                    &mut state.profile_path,
                    "e.g. C:\\Lab\\winpath.toml",
                    360.0,
                );
            });
            ui.end_row();

            ui.label(RichText::new("Which requests").strong());
            ui.vertical(|ui| {
                changed |= ui
                    .checkbox(
                        &mut state.include_exported,
                        "Include requests already exported",
                    )
                    .changed();
                ui.horizontal_wrapped(|ui| {
                    ui.label("Status (none ticked = still needing re-entry):");
                    for s in ALL_STATUSES {
                        let mut on = state.statuses.contains(&s);
                        if ui.checkbox(&mut on, s.label()).changed() {
                            toggle(&mut state.statuses, s, on);
                            changed = true;
                        }
                    }
                });
                ui.horizontal_wrapped(|ui| {
                    ui.label("Priority (none ticked = any):");
                    for p in ALL_PRIORITIES {
                        let mut on = state.priorities.contains(&p);
                        if ui.checkbox(&mut on, p.label()).changed() {
                            toggle(&mut state.priorities, p, on);
                            changed = true;
                        }
                    }
                });
                ui.horizontal(|ui| {
                    changed |= text_field(ui, "Ward (blank = any)", &mut state.ward, "", 160.0);
                    changed |=
                        text_field(ui, "Collected from", &mut state.from, "YYYY-MM-DD", 110.0);
                    changed |= text_field(ui, "Collected to", &mut state.to, "YYYY-MM-DD", 110.0);
                });
            });
            ui.end_row();

            ui.label(RichText::new("Options").strong());
            ui.horizontal(|ui| {
                changed |= ui
                    .checkbox(
                        &mut state.options.per_test,
                        "CSV and xlsx: one row per test",
                    )
                    .changed();
                changed |= ui
                    .checkbox(&mut state.options.excel_bom, "CSV: Excel byte-order mark")
                    .changed();
                changed |= ui
                    .checkbox(&mut state.options.mllp, "HL7: MLLP framing")
                    .changed();
            });
            ui.end_row();

            ui.label(RichText::new("Save to").strong());
            ui.horizontal(|ui| {
                text_field(ui, "Output folder", &mut state.out_folder, "", 420.0);
                ui.checkbox(&mut state.replace, "Replace a file of the same name");
            });
            ui.end_row();

            ui.label(RichText::new("Encryption").strong());
            sealing_ui(ui, state, cache);
            ui.end_row();
        });
    if changed {
        state.result = None;
        actions.push(Action::ExportChanged);
    }

    ui.add_space(6.0);
    ui.horizontal(|ui| {
        match &cache.count {
            None => {
                ui.label("Counting…");
            }
            Some(Ok(n)) => {
                ui.label(RichText::new(format!("{n} requests will be exported")).strong());
            }
            Some(Err(e)) => {
                widgets::error_text(ui, e);
            }
        }
        let sealed =
            cache.age_recipient.is_some() || !state.passphrase.is_empty() || state.plaintext;
        let ready = !state.running && sealed && matches!(cache.count, Some(Ok(n)) if n > 0);
        let button = egui::Button::new(RichText::new("Export").strong().size(17.0))
            .min_size(egui::vec2(120.0, 32.0));
        if ui.add_enabled(ready, button).clicked() {
            state.result = None;
            actions.push(Action::StartExport);
        }
    });
    if state.running {
        progress_ui(ui, state, actions);
    }
    match &state.result {
        None => {}
        Some(Err(e)) => {
            widgets::error_text(ui, &format!("Not exported: {e}"));
        }
        Some(Ok(done)) => {
            egui::Frame::new()
                .fill(widgets::OK_FILL)
                .inner_margin(egui::Margin::symmetric(10, 6))
                .show(ui, |ui| {
                    ui.label(
                        RichText::new(format!(
                            "Exported batch {} ({} requests) to {}",
                            done.batch_id,
                            done.request_count,
                            done.path.display()
                        ))
                        .color(widgets::OK_GREEN)
                        .strong(),
                    );
                    let how = match done.sealed {
                        Some(Sealed::Plaintext) => "NOT encrypted (confirmed)",
                        Some(Sealed::AgeRecipient) => "encrypted with age for the lab's key",
                        Some(Sealed::AgePassphrase) => "encrypted with age to the passphrase",
                        None => "",
                    };
                    ui.label(how);
                    ui.label(RichText::new(format!("SHA-256 {}", done.sha256)).monospace());
                    if !done.truncations.is_empty() {
                        // Never silent: every shortened value is listed, as the batch records it.
                        ui.label(
                            RichText::new(format!(
                                "Written with {} truncations (the profile shortens values over \
                                 the receiver's limits; the requests keep the whole values):",
                                done.truncations.len()
                            ))
                            .strong(),
                        );
                        for t in &done.truncations {
                            ui.label(t);
                        }
                    }
                    if ui.button("Open folder").clicked() {
                        actions.push(Action::OpenFolder(done.path.clone()));
                    }
                });
        }
    }

    ui.add_space(6.0);
    ui.label(RichText::new("Preview (first requests as they will be written)").strong());
    egui::Frame::new()
        .fill(egui::Color32::WHITE)
        .stroke(egui::Stroke::new(1.0, egui::Color32::from_gray(180)))
        .inner_margin(egui::Margin::same(6))
        .show(ui, |ui| {
            egui::ScrollArea::both()
                .id_salt("export_preview")
                .max_height(220.0)
                .auto_shrink([false, true])
                .show(ui, |ui| match &cache.preview {
                    None => {
                        ui.label("Nothing to preview.");
                    }
                    Some(Ok(text)) => {
                        ui.label(RichText::new(text).monospace());
                    }
                    Some(Err(e)) => {
                        widgets::error_text(ui, e);
                    }
                });
        });

    ui.add_space(6.0);
    match &cache.batches {
        None => {}
        Some(Ok(batches)) => batches_ui(ui, batches),
        Some(Err(e)) => {
            ui.colored_label(
                ui.visuals().error_fg_color,
                format!("The list of earlier batches could not be read: {e}"),
            );
        }
    }
}

fn batches_ui(ui: &mut Ui, batches: &[BatchRecord]) {
    ui.label(RichText::new(format!("Earlier batches ({})", batches.len())).strong());
    egui::ScrollArea::vertical()
        .id_salt("batches")
        .max_height(200.0)
        .show(ui, |ui| {
            egui::Grid::new("batch_list")
                .striped(true)
                .num_columns(6)
                .show(ui, |ui| {
                    for h in ["Batch", "When", "By", "Format", "Requests", "SHA-256"] {
                        ui.label(RichText::new(h).strong());
                    }
                    ui.end_row();
                    for b in batches {
                        // Batch IDs are read out and typed (`stopgap export --rerun`).
                        ui.label(fonts::downtime_id_text(&b.batch_id, 15.0));
                        ui.label(
                            b.generated_at
                                .with_timezone(&Local)
                                .format("%d/%m/%Y %H:%M")
                                .to_string(),
                        );
                        ui.label(&b.user);
                        ui.label(&b.format);
                        ui.label(b.request_count.to_string());
                        ui.label(RichText::new(&b.sha256[..b.sha256.len().min(12)]).monospace());
                        ui.end_row();
                    }
                });
        });
}
