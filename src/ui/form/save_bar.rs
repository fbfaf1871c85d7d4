//! Around the form: the confirmation of the last save (greyed as the previous patient's once the
//! next form is touched), the restored-draft notice, the save bar (warnings, Save, what stopped a
//! save) and the box that asks why to save despite an identity mismatch.

use chrono::{DateTime, Local, Utc};
use egui::{Color32, Key, RichText, Ui};

use super::{FormData, FormState};
use crate::domain::identity::patient_line;
use crate::domain::request::{NewRequest, Priority};
use crate::store::Saved;
use crate::ui::action::Action;
use crate::ui::{fonts, widgets};

/// Most height the warnings may take in the save bar before they scroll.
const WARNINGS_MAX_HEIGHT: f32 = 150.0;

/// What was just saved.
#[derive(Debug, Clone, PartialEq)]
pub struct Confirmation {
    /// Grouped, e.g. `RXX-W07-000023-K`.
    pub downtime_id: String,
    pub patient: String,
    pub tests: String,
    pub priority: Priority,
    pub already_saved: bool,
    pub transfusion: bool,
    /// The next form has been touched: this is now the previous patient's, shown greyed.
    pub is_previous: bool,
}

impl Confirmation {
    pub fn new(saved: &Saved, request: &NewRequest) -> Self {
        Self {
            downtime_id: saved.downtime_id.grouped(),
            patient: patient_line(&request.patient),
            tests: request
                .tests
                .iter()
                .map(|t| t.name.clone())
                .collect::<Vec<_>>()
                .join(", "),
            priority: request.priority,
            already_saved: saved.already_saved,
            transfusion: request.has_transfusion_test(),
            is_previous: false,
        }
    }
}

/// The identity-mismatch box's state.
#[derive(Debug, Clone, PartialEq)]
pub struct IdentityPrompt {
    pub messages: Vec<String>,
    pub reason: String,
    pub error: Option<String>,
    focus: bool,
}

impl IdentityPrompt {
    pub fn new(messages: Vec<String>) -> Self {
        Self {
            messages,
            reason: String::new(),
            error: None,
            focus: true,
        }
    }
}

/// Above the form: the confirmation and the restored-draft notice.
pub(super) fn above_form_ui(ui: &mut Ui, state: &mut FormState, actions: &mut Vec<Action>) {
    if let Some(at) = state.restored_at {
        restored_ui(ui, at, actions);
        ui.add_space(4.0);
    }
    if let Some(c) = &state.confirmation {
        if c.is_previous {
            previous_ui(ui, c, actions);
        } else {
            confirmation_ui(ui, c, actions);
        }
        ui.add_space(6.0);
    }
}

fn restored_ui(ui: &mut Ui, at: DateTime<Utc>, actions: &mut Vec<Action>) {
    egui::Frame::new()
        .fill(widgets::WARNING_FILL)
        .stroke(egui::Stroke::new(1.0, widgets::URGENT_AMBER))
        .inner_margin(egui::Margin::symmetric(10, 6))
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.horizontal(|ui| {
                ui.label(
                    RichText::new(format!(
                        "Draft from {} restored — check the collection time",
                        at.with_timezone(&Local).format("%H:%M %d/%m")
                    ))
                    .color(widgets::WARNING_TEXT)
                    .strong(),
                );
                let ok = egui::Button::new("OK").sense(egui::Sense::CLICK);
                if ui.add(ok).clicked() {
                    actions.push(Action::DismissRestored);
                }
            });
        });
}

/// The bottom bar: warnings and mismatches (scrolling if many), Save, and what stopped a save.
pub(super) fn save_bar_ui(
    ui: &mut Ui,
    state: &mut FormState,
    data: &FormData<'_>,
    actions: &mut Vec<Action>,
) {
    if !state.warnings.is_empty() || !state.mismatches.is_empty() {
        egui::ScrollArea::vertical()
            .id_salt("warnings_scroll")
            .max_height(WARNINGS_MAX_HEIGHT)
            .auto_shrink([false, true])
            .show(ui, |ui| {
                for m in &state.mismatches {
                    widgets::mismatch_box(ui, m);
                }
                for warning in &state.warnings {
                    widgets::warning_box(ui, warning);
                }
            });
        ui.add_space(4.0);
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
        ui.vertical(|ui| {
            match data.user {
                Some(user) => ui.label(
                    RichText::new(format!("Saving as {}", fonts::display_text(user)))
                        .color(widgets::MUTED),
                ),
                None => ui.label(
                    RichText::new("Nobody signed in: Save asks for your name")
                        .color(widgets::WARNING_TEXT),
                ),
            };
            if state.tried_save && !state.errors.is_empty() {
                let n = state.errors.len();
                let noun = if n == 1 { "problem" } else { "problems" };
                ui.label(
                    RichText::new(format!("{n} {noun} — nothing was saved"))
                        .color(widgets::ERROR_RED)
                        .size(17.0)
                        .strong(),
                );
                // The first problem in words, beside Save as well as at its field.
                if let Some(first) = state.errors.first() {
                    widgets::error_text(ui, &first.to_string());
                }
            }
        });
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
            } else if ui
                .add(egui::Button::new("Clear form").sense(egui::Sense::CLICK))
                .clicked()
            {
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
                        fonts::downtime_id_text(c.downtime_id.clone(), 40.0).color(Color32::BLACK),
                    );
                    ui.label(
                        RichText::new("Write this ID on the request form and sample bag")
                            .size(18.0)
                            .strong(),
                    );
                });
                ui.add_space(24.0);
                ui.vertical(|ui| {
                    ui.label(fonts::display_text(&c.patient).into_owned());
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
                    ui.label(
                        RichText::new("A fresh form is ready below: typing in it greys this out.")
                            .color(widgets::MUTED),
                    );
                });
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Min), |ui| {
                    if ui.button("Dismiss").clicked() {
                        actions.push(Action::DismissConfirmation);
                    }
                });
            });
        });
}

/// The last save, once the next patient is being typed: one grey line naming whose it was.
fn previous_ui(ui: &mut Ui, c: &Confirmation, actions: &mut Vec<Action>) {
    egui::Frame::new()
        .fill(Color32::from_gray(236))
        .inner_margin(egui::Margin::symmetric(10, 4))
        .corner_radius(4.0)
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.horizontal(|ui| {
                ui.label(
                    RichText::new(format!(
                        "Previous patient ({}), not this form:",
                        fonts::display_text(&c.patient)
                    ))
                    .color(widgets::MUTED),
                );
                ui.label(
                    fonts::downtime_id_text(c.downtime_id.clone(), 15.0).color(widgets::MUTED),
                );
                let dismiss = egui::Button::new("Hide").sense(egui::Sense::CLICK);
                if ui.add(dismiss).clicked() {
                    actions.push(Action::DismissConfirmation);
                }
            });
        });
}

/// Asks why the request should be saved although its identifier is on file for someone with
/// other details. Enter saves with the reason; Escape goes back to correct the form.
pub(super) fn identity_prompt_ui(ui: &mut Ui, state: &mut FormState, actions: &mut Vec<Action>) {
    let Some(prompt) = &mut state.identity_prompt else {
        return;
    };
    let modal = egui::Modal::new(egui::Id::unique("identity_prompt")).show(ui.ctx(), |ui| {
        ui.set_width(620.0);
        ui.label(
            RichText::new("IDENTITY MISMATCH — check the wristband")
                .size(22.0)
                .strong()
                .color(widgets::ERROR_RED),
        );
        for m in &prompt.messages {
            widgets::mismatch_box(ui, m);
        }
        ui.label(
            "If the details on this form are right (for example a corrected name or date of \
             birth), say why; the reason is kept in the request's history. Otherwise go back \
             and correct the form.",
        );
        let label = ui.label(RichText::new("Reason for saving anyway").strong());
        let field = ui
            .add(
                egui::TextEdit::singleline(&mut prompt.reason)
                    .hint_text("e.g. name changed on marriage, checked with patient")
                    .desired_width(560.0),
            )
            .labelled_by(label.id);
        if prompt.focus {
            field.request_focus();
            prompt.focus = false;
        }
        if let Some(e) = &prompt.error {
            widgets::error_text(ui, e);
        }
        let entered = field.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter));
        ui.horizontal(|ui| {
            let save = ui.add(
                egui::Button::new(
                    RichText::new("Save anyway with this reason (Enter)")
                        .strong()
                        .color(Color32::WHITE),
                )
                .fill(widgets::ERROR_RED),
            );
            if save.clicked() || entered {
                match crate::domain::text::clean(&prompt.reason, 200, false) {
                    Ok(r) if !r.is_empty() => actions.push(Action::ConfirmIdentity(r)),
                    Ok(_) => {
                        prompt.error = Some("Type the reason first".into());
                        prompt.focus = true;
                    }
                    Err(e) => {
                        prompt.error = Some(format!("Reason {e}"));
                        prompt.focus = true;
                    }
                }
            }
            if ui.button("Go back and correct (Esc)").clicked() {
                actions.push(Action::CancelIdentity);
            }
        });
    });
    if modal.should_close() {
        actions.push(Action::CancelIdentity);
    }
}
