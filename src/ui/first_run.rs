//! First-run set-up: which site and workstation this is, and the wards offered on the form.

use std::path::Path;

use egui::{RichText, Ui};

use super::action::Action;
use super::wards::{WardTable, ward_table_ui};
use super::widgets;
use crate::domain::downtime_id::Code3;
use crate::store::Setup;

/// The first-run screen's view state.
#[derive(Debug, Clone, PartialEq)]
pub struct FirstRunState {
    pub site: String,
    pub workstation: String,
    /// The wards, each a code beside a name.
    pub wards: WardTable,
    pub site_error: Option<String>,
    pub workstation_error: Option<String>,
    /// Put the cursor in the first field on the first frame.
    pub focus: bool,
}

impl Default for FirstRunState {
    /// Empty codes: every PC must be given its own (a pre-filled code that each PC accepts by
    /// pressing Continue would give two PCs the same downtime IDs).
    fn default() -> Self {
        Self {
            site: String::new(),
            workstation: String::new(),
            wards: WardTable::default(),
            site_error: None,
            workstation_error: None,
            focus: true,
        }
    }
}

pub fn first_run_ui(
    ui: &mut Ui,
    state: &mut FirstRunState,
    db_path: &Path,
    actions: &mut Vec<Action>,
) {
    ui.add_space(24.0);
    ui.vertical_centered(|ui| {
        ui.set_max_width(640.0);
        ui.label(RichText::new("Set up this workstation").size(28.0).strong());
        ui.label(
            "Stopgap records blood-sample requests while the lab system (LIMS) is down. Each request gets a downtime ID made from the site and workstation codes, so they must be right.",
        );
        ui.add_space(12.0);
    });
    ui.vertical_centered(|ui| {
        ui.set_max_width(640.0);
        egui::Grid::new("first_run_grid")
            .num_columns(2)
            .spacing([14.0, 10.0])
            .show(ui, |ui| {
                let site = widgets::text_field(
                    ui,
                    "Site code",
                    &mut state.site,
                    "3 letters or digits, e.g. RXX",
                    120.0,
                    state.site_error.as_deref(),
                );
                if state.focus {
                    site.request_focus();
                    state.focus = false;
                }
                widgets::text_field(
                    ui,
                    "Workstation code",
                    &mut state.workstation,
                    "3 letters or digits, e.g. W07",
                    120.0,
                    state.workstation_error.as_deref(),
                );
            });
        ui.add_space(10.0);
        ui.label(
            RichText::new("Wards and locations offered on the form")
                .size(17.0)
                .strong(),
        );
        ward_table_ui(ui, &mut state.wards, 220.0);
        ui.add_space(8.0);
        ui.label(RichText::new(format!("Database: {}", db_path.display())).color(widgets::MUTED));
        ui.add_space(8.0);
        let go = egui::Button::new(RichText::new("Continue").size(18.0).strong())
            .min_size(egui::vec2(160.0, 40.0));
        if ui.add(go).clicked() {
            let site = Code3::site(&state.site);
            let workstation = Code3::workstation(&state.workstation);
            state.site_error = site.as_ref().err().map(ToString::to_string);
            state.workstation_error = workstation.as_ref().err().map(ToString::to_string);
            // Checked even when a code is wrong, so every problem shows at once.
            let wards = state.wards.wards();
            if let (Ok(site), Ok(workstation), Some(wards)) = (site, workstation, wards) {
                actions.push(Action::Configure(Setup {
                    site,
                    workstation,
                    wards,
                }));
            }
        }
    });
}
