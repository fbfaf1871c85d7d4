//! Receiving a sample whose request has not reached the lab: after a scan says "not on this
//! PC", Ctrl+R opens a small paper-form box (NHS number, surname, date of birth); Enter records
//! the receipt, Escape goes back to the scan field. The sample is linked to its request when the
//! ward's bundle brings it, only if these details agree (`domain::early`).

use egui::{Key, Modifiers, RichText, Ui};

use super::ReceptionState;
use crate::domain::downtime_id::DowntimeId;
use crate::domain::early::{EarlyDraft, EarlyError};
use crate::domain::request::Field;
use crate::store::{EarlyOutcome, EarlyReceipt};
use crate::ui::action::Action;
use crate::ui::{fonts, widgets};

/// The paper form's fields' accessible names (tests find them by these).
pub const EARLY_NHS_LABEL: &str = "NHS number on the paper form";
pub const EARLY_SURNAME_LABEL: &str = "Surname on the paper form";
pub const EARLY_DOB_LABEL: &str = "Date of birth on the paper form";

/// The open paper-form box.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EarlyForm {
    pub downtime_id: Option<DowntimeId>,
    pub draft: EarlyDraft,
    pub errors: Vec<EarlyError>,
    focus_first: bool,
}

impl EarlyForm {
    fn open(id: DowntimeId) -> Self {
        Self {
            downtime_id: Some(id),
            focus_first: true,
            ..Self::default()
        }
    }
}

/// Ctrl+R (after a scan of a request not on this PC) opens the box; Escape closes it.
pub(super) fn keys(ui: &mut Ui, state: &mut ReceptionState) {
    if state.early.is_some() {
        if ui.input_mut(|i| i.consume_key(Modifiers::NONE, Key::Escape)) {
            state.early = None;
            state.focus_input = true;
        }
        return;
    }
    if let Some(id) = state.unknown.clone()
        && ui.input_mut(|i| i.consume_key(Modifiers::COMMAND, Key::R))
    {
        state.early = Some(EarlyForm::open(id));
    }
}

/// The box, when open.
pub(super) fn form_ui(ui: &mut Ui, state: &mut ReceptionState, actions: &mut Vec<Action>) {
    let Some(form) = &mut state.early else {
        return;
    };
    let Some(id) = form.downtime_id.clone() else {
        return;
    };
    egui::Frame::new()
        .fill(widgets::WARNING_FILL)
        .stroke(egui::Stroke::new(1.0, widgets::URGENT_AMBER))
        .inner_margin(egui::Margin::same(10))
        .show(ui, |ui| {
            ui.label(
                fonts::downtime_id_text(
                    format!("Receive {} from its paper form", id.grouped()),
                    17.0,
                )
                .strong()
                .color(widgets::WARNING_TEXT),
            );
            ui.label(
                RichText::new(
                    "Type the patient's details from the paper form that came with the tube. \
                     The sample is linked to its request when the ward's bundle arrives, only \
                     if these agree with it.",
                )
                .color(widgets::WARNING_TEXT),
            );
            let error = |field: Field| {
                form.errors
                    .iter()
                    .find(|e| e.field == field)
                    .map(|e| e.message.clone())
            };
            let (nhs_error, surname_error, dob_error) = (
                error(Field::NhsNumber),
                error(Field::Surname),
                error(Field::Dob),
            );
            let mut enter = false;
            let nhs = widgets::text_field(
                ui,
                EARLY_NHS_LABEL,
                &mut form.draft.nhs_number,
                "999 000 0018",
                200.0,
                nhs_error.as_deref(),
            );
            if std::mem::take(&mut form.focus_first) {
                nhs.request_focus();
            }
            enter |= nhs.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter));
            let surname = widgets::text_field(
                ui,
                EARLY_SURNAME_LABEL,
                &mut form.draft.surname,
                "",
                260.0,
                surname_error.as_deref(),
            );
            enter |= surname.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter));
            let dob = widgets::text_field(
                ui,
                EARLY_DOB_LABEL,
                &mut form.draft.dob,
                "DD/MM/YYYY",
                140.0,
                dob_error.as_deref(),
            );
            enter |= dob.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter));
            ui.horizontal(|ui| {
                let record = ui.button(RichText::new("Receive from paper form (Enter)").strong());
                if record.clicked() || enter {
                    actions.push(Action::ReceptionEarly(id.clone(), form.draft.clone()));
                }
                ui.label(RichText::new("Escape: back, nothing recorded").color(widgets::MUTED));
            });
        });
}

/// The samples received from paper forms and not linked yet (or not matching), for the
/// right-hand column.
pub(super) fn waiting_ui(ui: &mut Ui, waiting: &[EarlyReceipt]) {
    let open: Vec<&EarlyReceipt> = waiting
        .iter()
        .filter(|e| !matches!(e.outcome, EarlyOutcome::Linked { .. }))
        .collect();
    if open.is_empty() {
        return;
    }
    ui.add_space(10.0);
    ui.label(RichText::new("Received before their request").strong());
    for e in open {
        let at = e.received_at.with_timezone(&chrono::Local).format("%H:%M");
        match &e.outcome {
            EarlyOutcome::Mismatch { why, .. } => {
                ui.label(
                    fonts::downtime_id_text(
                        format!("{} NOT LINKED: {why}", e.downtime_id.grouped()),
                        14.0,
                    )
                    .color(widgets::ERROR_RED),
                );
            }
            _ => {
                ui.label(fonts::downtime_id_text(
                    format!(
                        "{} {at}: {} — waiting for the ward's request",
                        e.downtime_id.grouped(),
                        fonts::display_text(&e.details.line())
                    ),
                    14.0,
                ));
            }
        }
    }
}
