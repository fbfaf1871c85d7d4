//! The new-request form: keyboard first, tab order in reading order (patient, then request),
//! errors beside their fields, warnings before saving, and a clear confirmation afterwards.

use egui::{Color32, Key, Response, RichText, Ui};

use super::app::{Action, requested_tests};
use super::widgets;
use crate::domain::catalogue::{Catalogue, PickItem, tubes_in_draw_order};
use crate::domain::request::{
    ALL_PRIORITIES, ALL_SEXES, Field, FieldError, Patient, Priority, RequestDraft,
};

/// Most matches listed under the test search box.
const MAX_MATCHES: usize = 8;
/// Height kept for the save bar under the scrolling form.
const SAVE_BAR_HEIGHT: f32 = 96.0;

/// What was just saved, shown until the next save or until dismissed.
#[derive(Debug, Clone, PartialEq)]
pub struct Confirmation {
    pub downtime_id: String,
    pub patient: String,
    pub tests: String,
    pub priority: Priority,
    pub already_saved: bool,
    pub transfusion: bool,
}

/// The form's view state.
#[derive(Debug, Clone, PartialEq)]
pub struct FormState {
    pub draft: RequestDraft,
    /// Problems from the last check; filled on a save attempt, then kept up to date.
    pub errors: Vec<FieldError>,
    pub tried_save: bool,
    /// Warnings for a complete form (computed when the draft changes).
    pub warnings: Vec<String>,
    /// An earlier patient with the typed NHS number or MRN whose details differ from the form.
    pub suggestion: Option<Patient>,
    pub confirmation: Option<Confirmation>,
    pub test_query: String,
    /// Which match Enter picks (moved with the arrow keys).
    pub test_highlight: usize,
    pub confirm_clear: bool,
    /// A field to move the keyboard focus to on the next frame.
    pub focus: Option<Field>,
}

impl FormState {
    pub fn new(draft: RequestDraft) -> Self {
        Self {
            draft,
            errors: Vec::new(),
            tried_save: false,
            warnings: Vec::new(),
            suggestion: None,
            confirmation: None,
            test_query: String::new(),
            test_highlight: 0,
            confirm_clear: false,
            focus: None,
        }
    }

    fn error(&self, field: Field) -> Option<String> {
        let messages: Vec<&str> = self
            .errors
            .iter()
            .filter(|e| e.field == field)
            .map(|e| e.message.as_str())
            .collect();
        (!messages.is_empty()).then(|| messages.join("; "))
    }

    /// Moves the focus to `response` if `field` asked for it.
    fn focus_if(&mut self, field: Field, response: &Response) {
        if self.focus == Some(field) {
            response.request_focus();
            self.focus = None;
        }
    }
}

/// What the form reads but does not change.
pub struct FormData<'a> {
    pub catalogue: &'a Catalogue,
    pub wards: &'a [String],
}

pub fn form_ui(ui: &mut Ui, state: &mut FormState, data: &FormData<'_>, actions: &mut Vec<Action>) {
    let before = state.draft.clone();
    if let Some(confirmation) = &state.confirmation {
        confirmation_ui(ui, confirmation, actions);
        ui.add_space(6.0);
    }
    let form_height = (ui.available_height() - SAVE_BAR_HEIGHT).max(200.0);
    egui::ScrollArea::vertical()
        .max_height(form_height)
        .auto_shrink([false, false])
        .show(ui, |ui| {
            ui.columns(2, |columns| {
                if let [left, right] = columns {
                    patient_ui(left, state, actions);
                    left.add_space(12.0);
                    tubes_ui(left, state, data.catalogue);
                    request_ui(right, state, data);
                }
            });
        });
    ui.separator();
    save_bar_ui(ui, state, actions);
    if state.draft != before {
        actions.push(Action::DraftChanged);
    }
}

fn section_heading(ui: &mut Ui, text: &str) {
    ui.label(RichText::new(text).size(19.0).strong());
    ui.add_space(2.0);
}

fn form_grid(id: &str) -> egui::Grid {
    egui::Grid::new(id)
        .num_columns(2)
        .spacing([14.0, 10.0])
        .min_col_width(150.0)
}

fn patient_ui(ui: &mut Ui, state: &mut FormState, actions: &mut Vec<Action>) {
    section_heading(ui, "Patient");
    form_grid("patient_grid").show(ui, |ui| {
        let error = state.error(Field::NhsNumber);
        let r = widgets::text_field(
            ui,
            Field::NhsNumber.label(),
            &mut state.draft.nhs_number,
            "999 000 0018",
            220.0,
            error.as_deref(),
        );
        state.focus_if(Field::NhsNumber, &r);
        let error = state.error(Field::Mrn);
        let r = widgets::text_field(
            ui,
            Field::Mrn.label(),
            &mut state.draft.mrn,
            "from the wristband",
            220.0,
            error.as_deref(),
        );
        state.focus_if(Field::Mrn, &r);

        ui.label("");
        ui.checkbox(
            &mut state.draft.unidentified,
            "Unidentified patient (name not known)",
        );
        ui.end_row();

        if state.draft.unidentified {
            let error = state.error(Field::EmergencyNumber);
            let r = widgets::text_field(
                ui,
                Field::EmergencyNumber.label(),
                &mut state.draft.emergency_number,
                "e.g. AE-2026-0042",
                220.0,
                error.as_deref(),
            );
            state.focus_if(Field::EmergencyNumber, &r);
            ui.label("");
            ui.label(
                RichText::new("Recorded as UNKNOWN, Male or Female: choose the sex below.")
                    .color(widgets::MUTED),
            );
            ui.end_row();
        } else {
            let error = state.error(Field::Surname);
            let r = widgets::text_field(
                ui,
                Field::Surname.label(),
                &mut state.draft.surname,
                "",
                260.0,
                error.as_deref(),
            );
            state.focus_if(Field::Surname, &r);
            let error = state.error(Field::Forename);
            let r = widgets::text_field(
                ui,
                Field::Forename.label(),
                &mut state.draft.forename,
                "",
                260.0,
                error.as_deref(),
            );
            state.focus_if(Field::Forename, &r);
        }
        let error = state.error(Field::Dob);
        let r = widgets::text_field(
            ui,
            Field::Dob.label(),
            &mut state.draft.dob,
            "DD/MM/YYYY",
            140.0,
            error.as_deref(),
        );
        state.focus_if(Field::Dob, &r);

        ui.label(RichText::new(Field::Sex.label()).strong());
        ui.vertical(|ui| {
            ui.horizontal(|ui| {
                for (i, sex) in ALL_SEXES.into_iter().enumerate() {
                    let r = ui.radio_value(&mut state.draft.sex, sex, sex.label());
                    if i == 0 {
                        state.focus_if(Field::Sex, &r);
                    }
                }
            });
            if let Some(e) = state.error(Field::Sex) {
                widgets::error_text(ui, &e);
            }
        });
        ui.end_row();
    });
    if let Some(p) = &state.suggestion {
        ui.add_space(4.0);
        let dob = p
            .dob
            .map(|d| d.format("%d/%m/%Y").to_string())
            .unwrap_or_else(|| "no date of birth".into());
        let text = format!(
            "Fill patient from earlier request: {}, {dob}",
            p.display_name()
        );
        if ui
            .button(text)
            .on_hover_text("Copies the name, date of birth, sex and identifiers from the most recent request with this NHS number or MRN")
            .clicked()
        {
            actions.push(Action::FillPatient(Box::new(p.clone())));
        }
    }
}

fn request_ui(ui: &mut Ui, state: &mut FormState, data: &FormData<'_>) {
    section_heading(ui, "Request");
    form_grid("request_grid").show(ui, |ui| {
        // Ward: typed, or picked from the workstation's list.
        let label = ui.label(RichText::new(Field::Ward.label()).strong());
        ui.vertical(|ui| {
            ui.horizontal(|ui| {
                let r = ui
                    .add(
                        egui::TextEdit::singleline(&mut state.draft.ward)
                            .hint_text("type or pick")
                            .desired_width(240.0),
                    )
                    .labelled_by(label.id);
                state.focus_if(Field::Ward, &r);
                ui.menu_button("Pick ward", |ui| {
                    for ward in data.wards {
                        if ui.button(ward).clicked() {
                            state.draft.ward.clone_from(ward);
                            ui.close();
                        }
                    }
                });
            });
            if let Some(e) = state.error(Field::Ward) {
                widgets::error_text(ui, &e);
            }
        });
        ui.end_row();

        for (field, hint) in [
            (Field::Consultant, "e.g. Dr A Example"),
            (Field::Requester, "who asked for the tests"),
            (Field::RequesterContact, "for the lab to call with results"),
        ] {
            let error = state.error(field);
            let value = match field {
                Field::Consultant => &mut state.draft.consultant,
                Field::Requester => &mut state.draft.requester,
                _ => &mut state.draft.requester_contact,
            };
            let r = widgets::text_field(ui, field.label(), value, hint, 280.0, error.as_deref());
            state.focus_if(field, &r);
        }

        ui.label(RichText::new(Field::Priority.label()).strong());
        ui.vertical(|ui| {
            ui.horizontal(|ui| {
                for (i, p) in ALL_PRIORITIES.into_iter().enumerate() {
                    let r = priority_button(ui, p, state.draft.priority == Some(p));
                    if i == 0 {
                        state.focus_if(Field::Priority, &r);
                    }
                    if r.clicked() {
                        state.draft.priority = Some(p);
                    }
                }
            });
            if let Some(e) = state.error(Field::Priority) {
                widgets::error_text(ui, &e);
            }
        });
        ui.end_row();

        tests_ui(ui, state, data.catalogue);

        for (field, hint, width) in [
            (Field::CollectedDate, "DD/MM/YYYY", 140.0),
            (Field::CollectedTime, "HH:MM", 90.0),
            (Field::CollectedBy, "name or staff ID", 280.0),
        ] {
            let error = state.error(field);
            let value = match field {
                Field::CollectedDate => &mut state.draft.collected_date,
                Field::CollectedTime => &mut state.draft.collected_time,
                _ => &mut state.draft.collected_by,
            };
            let r = widgets::text_field(ui, field.label(), value, hint, width, error.as_deref());
            state.focus_if(field, &r);
        }
        for field in [Field::ClinicalDetails, Field::Notes] {
            let error = state.error(field);
            let value = match field {
                Field::ClinicalDetails => &mut state.draft.clinical_details,
                _ => &mut state.draft.notes,
            };
            let r = widgets::text_area(ui, field.label(), value, 360.0, error.as_deref());
            state.focus_if(field, &r);
        }
    });
}

/// A priority choice: its word on its colour when chosen, the word on white with a coloured
/// border when not.
fn priority_button(ui: &mut Ui, p: Priority, selected: bool) -> Response {
    let (fill, text) = widgets::priority_colours(p);
    let button = if selected {
        egui::Button::new(RichText::new(p.label()).color(text).strong())
            .fill(fill)
            .stroke(egui::Stroke::new(2.0, Color32::BLACK))
    } else {
        egui::Button::new(RichText::new(p.label()).color(Color32::from_gray(40)))
            .fill(Color32::WHITE)
            .stroke(egui::Stroke::new(2.0, fill))
    };
    ui.add(button.min_size(egui::vec2(110.0, 34.0)))
}

fn tests_ui(ui: &mut Ui, state: &mut FormState, catalogue: &Catalogue) {
    let label = ui.label(RichText::new("Find test").strong());
    ui.vertical(|ui| {
        let search = ui
            .add(
                egui::TextEdit::singleline(&mut state.test_query)
                    .hint_text("type a name or code, Enter adds")
                    .desired_width(280.0),
            )
            .labelled_by(label.id);
        state.focus_if(Field::Tests, &search);
        let matches: Vec<PickItem<'_>> = catalogue
            .search(&state.test_query)
            .into_iter()
            .take(MAX_MATCHES)
            .collect();
        if search.changed() {
            state.test_highlight = 0;
        }
        if search.has_focus() && !matches.is_empty() {
            ui.input(|i| {
                if i.key_pressed(Key::ArrowDown) {
                    state.test_highlight = (state.test_highlight + 1).min(matches.len() - 1);
                }
                if i.key_pressed(Key::ArrowUp) {
                    state.test_highlight = state.test_highlight.saturating_sub(1);
                }
            });
        }
        let entered = search.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter));
        let mut picked = None;
        if entered {
            picked = matches.get(state.test_highlight).copied();
            // Stay in the box so the next test can be typed straight away.
            search.request_focus();
        }
        for (i, item) in matches.iter().enumerate() {
            let text = match item {
                PickItem::Test(t) => {
                    format!("{} — {} ({}, {})", t.code, t.name, t.tube, t.tube_colour)
                }
                PickItem::Panel(p) => {
                    format!("{} — {} (panel: {})", p.code, p.name, p.tests.join(", "))
                }
            };
            if ui
                .add(egui::Button::selectable(i == state.test_highlight, text))
                .clicked()
            {
                picked = Some(*item);
            }
        }
        if !state.test_query.trim().is_empty() && matches.is_empty() {
            ui.label(
                RichText::new("No test matches: try the code or another word")
                    .color(widgets::MUTED),
            );
        }
        if let Some(item) = picked {
            let codes: Vec<String> = match item {
                PickItem::Test(t) => vec![t.code.clone()],
                PickItem::Panel(p) => p.tests.clone(),
            };
            for code in codes {
                if !state.draft.tests.contains(&code) {
                    state.draft.tests.push(code);
                }
            }
            state.test_query.clear();
            state.test_highlight = 0;
        }
    });
    ui.end_row();

    ui.label(RichText::new(Field::Tests.label()).strong());
    ui.vertical(|ui| {
        if state.draft.tests.is_empty() {
            ui.label(RichText::new("None yet").color(widgets::MUTED));
        }
        let mut remove = None;
        ui.horizontal_wrapped(|ui| {
            for (i, code) in state.draft.tests.iter().enumerate() {
                let name = catalogue
                    .test(code)
                    .map_or("not in catalogue", |t| t.name.as_str());
                if ui
                    .button(format!("{code} {name}  ×"))
                    .on_hover_text("Remove this test")
                    .clicked()
                {
                    remove = Some(i);
                }
            }
        });
        if let Some(i) = remove {
            state.draft.tests.remove(i);
        }
        if let Some(e) = state.error(Field::Tests) {
            widgets::error_text(ui, &e);
        }
    });
    ui.end_row();
}

fn tubes_ui(ui: &mut Ui, state: &FormState, catalogue: &Catalogue) {
    section_heading(ui, "Tubes to draw (in order of draw)");
    let tests = requested_tests(catalogue, &state.draft.tests);
    if tests.is_empty() {
        ui.label(RichText::new("Add tests to see which tubes to take.").color(widgets::MUTED));
        return;
    }
    egui::Grid::new("tubes_grid")
        .num_columns(4)
        .spacing([10.0, 8.0])
        .striped(true)
        .show(ui, |ui| {
            for (n, tube) in tubes_in_draw_order(&tests).iter().enumerate() {
                ui.label(RichText::new(format!("{}.", n + 1)).strong());
                ui.horizontal(|ui| {
                    widgets::tube_swatch(ui, &tube.colour_hex);
                    ui.label(RichText::new(format!("{} ({})", tube.tube, tube.colour)).strong());
                });
                ui.label(format!("{} ml", tube.volume_ml));
                ui.vertical(|ui| {
                    ui.label(tube.tests.join(", "));
                    if tube.transfusion {
                        ui.label(
                            RichText::new("HAND-LABEL AT BEDSIDE")
                                .color(widgets::EMERGENCY_RED)
                                .strong(),
                        );
                    }
                });
                ui.end_row();
            }
        });
}

fn save_bar_ui(ui: &mut Ui, state: &mut FormState, actions: &mut Vec<Action>) {
    for warning in &state.warnings {
        widgets::warning_box(ui, warning);
    }
    ui.horizontal(|ui| {
        let save = egui::Button::new(
            RichText::new("Save request (Ctrl+Enter)")
                .size(18.0)
                .strong()
                .color(Color32::WHITE),
        )
        .fill(Color32::from_rgb(0x1E, 0x5A, 0x96))
        .min_size(egui::vec2(260.0, 44.0));
        if ui.add(save).clicked() {
            actions.push(Action::SaveRequest);
        }
        if state.tried_save && !state.errors.is_empty() {
            let n = state.errors.len();
            let noun = if n == 1 { "problem" } else { "problems" };
            ui.label(
                RichText::new(format!("{n} {noun} — nothing was saved"))
                    .color(widgets::ERROR_RED)
                    .size(17.0)
                    .strong(),
            );
        }
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            if state.confirm_clear {
                if ui.button("Keep the form").clicked() {
                    state.confirm_clear = false;
                }
                if ui
                    .add(
                        egui::Button::new(
                            RichText::new("Yes, clear everything").color(Color32::WHITE),
                        )
                        .fill(widgets::ERROR_RED),
                    )
                    .clicked()
                {
                    actions.push(Action::ClearForm);
                }
                ui.label("Clear the whole form?");
            } else if ui.button("Clear form").clicked() {
                state.confirm_clear = true;
            }
        });
    });
}

fn confirmation_ui(ui: &mut Ui, c: &Confirmation, actions: &mut Vec<Action>) {
    egui::Frame::new()
        .fill(widgets::OK_FILL)
        .stroke(egui::Stroke::new(2.0, widgets::OK_GREEN))
        .corner_radius(6.0)
        .inner_margin(egui::Margin::same(12))
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.horizontal(|ui| {
                ui.vertical(|ui| {
                    let heading = if c.already_saved {
                        "This form had already been saved — its downtime ID is"
                    } else {
                        "Saved. Downtime ID"
                    };
                    ui.label(RichText::new(heading).color(widgets::OK_GREEN).strong());
                    ui.label(
                        RichText::new(&c.downtime_id)
                            .size(40.0)
                            .monospace()
                            .strong()
                            .color(Color32::BLACK),
                    );
                    ui.label(
                        RichText::new("Write this ID on the request form and sample bag")
                            .size(18.0)
                            .strong(),
                    );
                });
                ui.add_space(24.0);
                ui.vertical(|ui| {
                    ui.label(&c.patient);
                    ui.horizontal(|ui| {
                        widgets::priority_badge(ui, c.priority);
                        ui.label(&c.tests);
                    });
                    if c.transfusion {
                        ui.label(
                            RichText::new("Transfusion sample: HAND-LABEL the tube at the bedside")
                                .color(widgets::EMERGENCY_RED)
                                .strong(),
                        );
                    }
                    ui.label(RichText::new("A fresh form is ready below.").color(widgets::MUTED));
                });
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Min), |ui| {
                    if ui.button("Dismiss").clicked() {
                        actions.push(Action::DismissConfirmation);
                    }
                });
            });
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_for_one_field_are_joined() {
        let mut s = FormState::new(RequestDraft::default());
        s.errors = vec![
            FieldError {
                field: Field::Tests,
                message: "a".into(),
            },
            FieldError {
                field: Field::Tests,
                message: "b".into(),
            },
        ];
        assert_eq!(s.error(Field::Tests).as_deref(), Some("a; b"));
        assert_eq!(s.error(Field::Surname), None);
    }
}
