//! Settings: the catalogue in use (and its export and import by file path), the wards offered on
//! the form, and where the database lives.

use std::path::{Path, PathBuf};

use egui::{RichText, Ui};

use super::action::Action;
use super::wards::{WardTable, ward_table_ui};
use super::widgets;
use crate::domain::catalogue::Catalogue;
use crate::domain::overdue::OverdueThresholds;
use crate::store::Setup;

/// The settings screen's view state.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SettingsState {
    pub export_path: String,
    pub import_path: String,
    /// The wards, each a code beside a name.
    pub wards: WardTable,
    /// The outcome of the last export or import: a confirmation, or what went wrong.
    pub message: Option<Result<String, String>>,
    /// Minutes after collection at which open requests are overdue, as typed.
    pub overdue_emergency: String,
    pub overdue_urgent: String,
    pub overdue_message: Option<Result<String, String>>,
    /// The backup folder (empty: backups off), minutes between backups and how many are kept.
    pub backup_folder: String,
    pub backup_interval: String,
    pub backup_keep: String,
    pub backup_message: Option<Result<String, String>>,
    /// Whether a backup folder is stored (not what is being typed: the nudge must not come and
    /// go with each key, which moved the field and took the cursor out of it).
    pub backup_stored: bool,
}

impl SettingsState {
    /// Fills the fields from what is stored.
    pub fn load(&mut self, setup: &Setup, thresholds: &OverdueThresholds) {
        self.wards = WardTable::of(&setup.wards);
        self.overdue_emergency = thresholds.emergency_minutes.to_string();
        self.overdue_urgent = thresholds.urgent_minutes.to_string();
    }

    /// Fills the backup fields from what is stored.
    pub fn load_backup(&mut self, backup: &crate::store::BackupSettings) {
        self.backup_folder = backup
            .folder
            .as_ref()
            .map(|f| f.display().to_string())
            .unwrap_or_default();
        self.backup_interval = backup.interval_minutes.to_string();
        self.backup_keep = backup.keep.to_string();
        self.backup_stored = backup.folder.is_some();
    }
}

/// The overdue thresholds as typed in minutes, checked.
pub fn parse_thresholds(emergency: &str, urgent: &str) -> Result<OverdueThresholds, String> {
    let minutes = |label: &str, typed: &str| {
        typed.trim().parse::<u32>().map_err(|_| {
            format!(
                "{label} overdue time '{}' is not a whole number of minutes",
                typed.trim()
            )
        })
    };
    let e = minutes("EMERGENCY", emergency)?;
    let u = minutes("Urgent", urgent)?;
    OverdueThresholds::new(e, u).map_err(|e| e.to_string())
}

pub fn settings_ui(
    ui: &mut Ui,
    state: &mut SettingsState,
    catalogue: &Catalogue,
    setup: &Setup,
    db_path: &Path,
    actions: &mut Vec<Action>,
) {
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show(ui, |ui| {
            ui.heading("Database");
            ui.label(RichText::new(db_path.display().to_string()).monospace());
            ui.add_space(12.0);

            ui.heading("Wards and locations offered on the form");
            ward_table_ui(ui, &mut state.wards, 300.0);
            if ui.button("Save wards").clicked()
                && let Some(wards) = state.wards.wards()
            {
                actions.push(Action::Configure(Setup {
                    wards,
                    ..setup.clone()
                }));
            }
            ui.add_space(12.0);

            ui.heading("When open requests are overdue");
            ui.label(
                RichText::new(
                    "Minutes after collection. Overdue requests are flagged in the queue and listed first.",
                )
                .color(widgets::MUTED),
            );
            egui::Grid::new("overdue_grid")
                .num_columns(2)
                .spacing([14.0, 8.0])
                .show(ui, |ui| {
                    widgets::text_field(
                        ui,
                        "EMERGENCY overdue after (minutes)",
                        &mut state.overdue_emergency,
                        "30",
                        80.0,
                        None,
                    );
                    widgets::text_field(
                        ui,
                        "Urgent overdue after (minutes)",
                        &mut state.overdue_urgent,
                        "60",
                        80.0,
                        None,
                    );
                });
            if ui.button("Save overdue times").clicked() {
                actions.push(Action::SetOverdue {
                    emergency: state.overdue_emergency.clone(),
                    urgent: state.overdue_urgent.clone(),
                });
            }
            match &state.overdue_message {
                Some(Ok(m)) => {
                    ui.label(RichText::new(m).color(widgets::OK_GREEN));
                }
                Some(Err(e)) => {
                    widgets::error_text(ui, e);
                }
                None => {}
            }
            ui.add_space(12.0);

            backup_ui(ui, state, actions);
            ui.add_space(12.0);

            ui.heading(format!("Test catalogue in use: version {}", catalogue.version));
            ui.label(
                RichText::new(
                    "Tube types and colours come from the lab's catalogue. Export it, edit the TOML file, and import it back.",
                )
                .color(widgets::MUTED),
            );
            ui.horizontal(|ui| {
                let label = ui.label("Export to file");
                ui.add(
                    egui::TextEdit::singleline(&mut state.export_path)
                        .hint_text("e.g. C:\\Users\\Public\\catalogue.toml")
                        .desired_width(380.0),
                )
                .labelled_by(label.id);
                let ready = !state.export_path.trim().is_empty();
                if ui
                    .add_enabled(ready, egui::Button::new("Export catalogue…"))
                    .clicked()
                {
                    actions.push(Action::ExportCatalogue(PathBuf::from(state.export_path.trim())));
                }
            });
            ui.horizontal(|ui| {
                let label = ui.label("Import from file");
                ui.add(
                    egui::TextEdit::singleline(&mut state.import_path)
                        .hint_text("path to a catalogue .toml")
                        .desired_width(380.0),
                )
                .labelled_by(label.id);
                let ready = !state.import_path.trim().is_empty();
                if ui
                    .add_enabled(ready, egui::Button::new("Import catalogue…"))
                    .clicked()
                {
                    actions.push(Action::ImportCatalogue(PathBuf::from(state.import_path.trim())));
                }
            });
            match &state.message {
                Some(Ok(text)) => {
                    ui.label(RichText::new(text).color(widgets::OK_GREEN));
                }
                Some(Err(text)) => {
                    widgets::error_text(ui, text);
                }
                None => {}
            }
            ui.add_space(8.0);
            egui::Grid::new("catalogue_grid")
                .num_columns(7)
                .striped(true)
                .spacing([14.0, 6.0])
                .show(ui, |ui| {
                    for title in ["Code", "Name", "Tube", "Colour", "Volume", "Transfusion", "Draw order"] {
                        ui.label(RichText::new(title).strong());
                    }
                    ui.end_row();
                    for t in &catalogue.tests {
                        ui.label(RichText::new(&t.code).monospace());
                        ui.label(&t.name);
                        ui.label(&t.tube);
                        ui.horizontal(|ui| {
                            widgets::tube_swatch(ui, &t.colour_hex);
                            ui.label(&t.tube_colour);
                        });
                        ui.label(format!("{} ml", t.volume_ml));
                        ui.label(if t.transfusion { "Yes: hand-label" } else { "" });
                        ui.label(t.draw_order.label());
                        ui.end_row();
                    }
                });
            if !catalogue.panels.is_empty() {
                ui.add_space(8.0);
                ui.label(RichText::new("Panels").strong());
                for p in &catalogue.panels {
                    ui.label(format!("{} — {}: {}", p.code, p.name, p.tests.join(", ")));
                }
            }
        });
}

/// The backup folder, interval and number kept, with the answer to the last save beside them.
fn backup_ui(ui: &mut Ui, state: &mut SettingsState, actions: &mut Vec<Action>) {
    ui.heading("Backups");
    ui.label(
        RichText::new(
            "A checked copy of the database every few minutes and when Stopgap closes, to a second folder such as a USB stick. A damaged file can lose saves without warning: the last good backup is the way back.",
        )
        .color(widgets::MUTED),
    );
    if !state.backup_stored {
        ui.label(
            RichText::new("No backup folder is set: no backups are made. Choose one below.")
                .color(widgets::WARNING_TEXT)
                .strong(),
        );
    }
    egui::Grid::new("backup_grid")
        .num_columns(2)
        .spacing([14.0, 8.0])
        .show(ui, |ui| {
            widgets::text_field(
                ui,
                "Backup folder",
                &mut state.backup_folder,
                "e.g. E:\\stopgap-backups",
                380.0,
                None,
            );
            widgets::text_field(
                ui,
                "Minutes between backups",
                &mut state.backup_interval,
                "10",
                80.0,
                None,
            );
            widgets::text_field(ui, "Backups kept", &mut state.backup_keep, "10", 80.0, None);
        });
    if ui.button("Save backup settings").clicked() {
        actions.push(Action::SetBackup([
            state.backup_folder.clone(),
            state.backup_interval.clone(),
            state.backup_keep.clone(),
        ]));
    }
    match &state.backup_message {
        Some(Ok(m)) => {
            ui.label(RichText::new(m).color(widgets::OK_GREEN));
        }
        Some(Err(e)) => {
            widgets::error_text(ui, e);
        }
        None => {}
    }
}
