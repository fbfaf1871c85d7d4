//! The detail panel: one request in full, its history, and the status changes it allows. Laid
//! out to fit the panel's width (470 px by default, at a 1366 px wide screen): long values wrap,
//! and the history is a table whose columns share the width and wrap.
//!
//! Under the heading, the request's times (collected, sent, received, phoned, re-entered) as one
//! strip; once the lab has the sample, "Log a phoned result" (Ctrl+L) opens the phoned-result
//! form (`ui::phoned`), and the results phoned so far are listed above the tubes.
//!
//! Escape steps back: out of the phoned-result form or a status change being typed, else it
//! closes the panel.

use chrono::{DateTime, Local, Utc};
use egui::{Key, Modifiers, RichText, Ui};

use super::action::Action;
use super::phoned::{self, PhoneForm};
use super::{fonts, widgets};
use crate::domain::catalogue::tubes_in_draw_order;
use crate::domain::event::{Event, EventKind};
use crate::domain::overdue::age_words;
use crate::domain::status::{Status, Transition};
use crate::store::RequestDetail;

/// Size of the downtime ID at the top of the panel.
const HEADING_ID_SIZE: f32 = 24.0;
/// Width of the history's "When" column: the time and, wrapped below it, the date.
const WHEN_WIDTH: f32 = 92.0;

/// A status change that needs text typed first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Pending {
    #[default]
    Nothing,
    Cancel,
    Reject,
    Reenter,
}

/// The detail panel's view state.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DetailState {
    pub pending: Pending,
    /// The reason (cancel, reject) or accession number (re-entered) being typed.
    pub text: String,
    /// Why the last change was refused.
    pub error: Option<String>,
    /// Frames for which to put the cursor in the reason / accession field (the click on the
    /// button that opened it takes the focus back for a frame).
    pub focus_text: u8,
    /// The phoned-result form, while open.
    pub phone: Option<PhoneForm>,
    /// Scroll the results phoned into sight on the next frame (one was just recorded).
    pub reveal_results: bool,
}

pub fn detail_ui(
    ui: &mut Ui,
    state: &mut DetailState,
    detail: &RequestDetail,
    now: DateTime<Local>,
    actions: &mut Vec<Action>,
) {
    escape_ui(ui, state, actions);
    let s = &detail.state;
    let r = &s.request;
    ui.horizontal(|ui| {
        ui.label(fonts::downtime_id_text(s.downtime_id.grouped(), HEADING_ID_SIZE).strong());
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            if ui.button("Close").on_hover_text("Close (Escape)").clicked() {
                actions.push(Action::CloseDetail);
            }
        });
    });
    ui.horizontal_wrapped(|ui| {
        widgets::priority_badge(ui, r.priority);
        ui.label(widgets::status_text(s.status).strong().size(18.0));
        if detail.training {
            ui.label(
                RichText::new("TRAINING")
                    .strong()
                    .color(widgets::WARNING_TEXT),
            );
        }
    });
    phoned::times_ui(ui, detail);
    if let Some(accession) = &s.accession {
        ui.add(egui::Label::new(format!("LIMS accession: {accession}")).wrap());
    }
    if let Some(reason) = &s.reason {
        ui.add(
            egui::Label::new(
                RichText::new(format!("Reason: {}", fonts::display_text(reason)))
                    .color(widgets::ERROR_RED),
            )
            .wrap(),
        );
    }
    let log_phoned = actions_ui(ui, state, detail, actions);
    phone_keys(ui, state, detail, log_phoned, actions);
    ui.separator();
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show(ui, |ui| {
            // The form first, where the panel's own scroll keeps each field in sight.
            if let Some(form) = &mut state.phone
                && !phoned::phone_form_ui(ui, form, r, r.uuid, actions)
            {
                state.phone = None;
            }
            fields_ui(ui, detail, now.with_timezone(&Utc));
            ui.add_space(6.0);
            let results = phoned::results_ui(ui, detail);
            if std::mem::take(&mut state.reveal_results) {
                results.scroll_to_me(Some(egui::Align::TOP));
            }
            ui.add_space(6.0);
            ui.label(RichText::new("Tests and tubes (order of draw)").strong());
            for tube in tubes_in_draw_order(&r.tests) {
                ui.horizontal_wrapped(|ui| {
                    widgets::tube_swatch(ui, &tube.colour_hex);
                    ui.label(format!(
                        "{} ({}), {} ml: {}",
                        tube.tube,
                        tube.colour,
                        tube.volume_ml,
                        tube.tests.join(", ")
                    ));
                    if tube.transfusion {
                        ui.label(
                            RichText::new("HAND-LABEL AT BEDSIDE")
                                .color(widgets::EMERGENCY_RED)
                                .strong(),
                        );
                    }
                });
            }
            ui.add_space(6.0);
            ui.label(RichText::new("History").strong());
            history_ui(ui, &detail.events);
        });
}

/// Escape: back out of a status change being typed, else close the panel. Left alone while a
/// box (sign-in) is in front or a drop-down list is open, which Escape closes instead.
fn escape_ui(ui: &mut Ui, state: &mut DetailState, actions: &mut Vec<Action>) {
    let in_front = ui.ctx().memory(|m| m.is_above_modal_layer(ui.layer_id()));
    if !in_front || egui::Popup::is_any_open(ui.ctx()) {
        return;
    }
    if !ui.input_mut(|i| i.consume_key(Modifiers::NONE, Key::Escape)) {
        return;
    }
    if state.phone.is_some() {
        state.phone = None;
    } else if state.pending == Pending::Nothing {
        actions.push(Action::CloseDetail);
    } else {
        state.pending = Pending::Nothing;
        state.text.clear();
        state.error = None;
    }
}

/// Whether a phoned result can be logged: once the lab has the sample.
fn can_phone(status: Status) -> bool {
    matches!(status, Status::Received | Status::Reentered)
}

/// Asks for the phoned-result form on "Log a phoned result" (`clicked`) or Ctrl+L, when the
/// status allows it (the shell opens it with the signed-in user as who phoned); closes it when
/// the status no longer does (another PC's change came in).
fn phone_keys(
    ui: &mut Ui,
    state: &mut DetailState,
    detail: &RequestDetail,
    clicked: bool,
    actions: &mut Vec<Action>,
) {
    if !can_phone(detail.state.status) {
        state.phone = None;
        return;
    }
    let in_front = ui.ctx().memory(|m| m.is_above_modal_layer(ui.layer_id()));
    let shortcut = in_front && ui.input_mut(|i| i.consume_key(Modifiers::COMMAND, Key::L));
    if state.phone.is_none() && (clicked || shortcut) {
        actions.push(Action::OpenPhoneForm(detail.state.request.uuid));
    }
}

/// The request's fields as a two-column grid: names on the left, values wrapped to the rest of
/// the panel. Names and other typed text are shown in reading order ([`fonts::display_text`]).
fn fields_ui(ui: &mut Ui, detail: &RequestDetail, now: DateTime<Utc>) {
    let r = &detail.state.request;
    let p = &r.patient;
    let local = r.collected_at.with_timezone(&Local);
    let text = |s: &str| fonts::display_text(s).into_owned();
    let mut rows: Vec<(&str, String)> = vec![("Patient", text(&p.display_name()))];
    if let Some(dob) = p.dob {
        rows.push(("Born", dob.format("%d/%m/%Y").to_string()));
    }
    rows.push(("Sex", p.sex.label().to_owned()));
    if let Some(n) = &p.nhs_number {
        rows.push(("NHS number", n.to_string()));
    }
    if let Some(m) = &p.mrn {
        rows.push(("MRN", m.clone()));
    }
    if let Some(e) = &p.emergency_number {
        rows.push(("A&E number", e.clone()));
    }
    rows.extend([
        ("Ward", text(&r.ward)),
        ("Consultant", text(&r.consultant)),
        (
            "Requested by",
            format!(
                "{} ({})",
                fonts::display_text(&r.requester),
                r.requester_contact
            ),
        ),
        (
            "Collected",
            format!(
                "{} ({} ago) by {}",
                local.format("%H:%M %d/%m/%Y"),
                age_words(now - r.collected_at),
                fonts::display_text(&r.collected_by)
            ),
        ),
        ("Clinical details", text(&r.clinical_details)),
        ("Notes", text(&r.notes)),
    ]);
    // The names column takes what its longest name needs; the values get the rest.
    let value_width = (ui.available_width() - 130.0).max(150.0);
    egui::Grid::new("detail_grid")
        .num_columns(2)
        .max_col_width(value_width)
        .spacing([12.0, 6.0])
        .show(ui, |ui| {
            for (name, value) in rows {
                ui.label(RichText::new(name).color(widgets::MUTED));
                let value = if value.is_empty() {
                    "—".into()
                } else {
                    value
                };
                ui.add(egui::Label::new(value).wrap());
                ui.end_row();
            }
        });
}

/// The history as a table that fits the panel: "When" (time, then date), "By" (workstation
/// and who) and "What", each wrapping within its column.
fn history_ui(ui: &mut Ui, events: &[Event]) {
    let gap = ui.spacing().item_spacing.x;
    let rest = (ui.available_width() - WHEN_WIDTH - 2.0 * gap).max(160.0);
    let widths = [WHEN_WIDTH, (rest * 0.35).floor(), (rest * 0.65).floor()];
    history_row(
        ui,
        widths,
        ["When", "By", "What"].map(|h| RichText::new(h).color(widgets::MUTED)),
    );
    for e in events {
        let at = e.at.with_timezone(&Local);
        let what = match &e.kind {
            EventKind::Created { .. } => "Logged (request saved)".to_owned(),
            EventKind::StatusChanged { transition } => describe(transition),
            EventKind::ResultPhoned { phoned } => capitalised(&phoned.line()),
            EventKind::ConflictSettled { settled } => capitalised(&settled.line()),
        };
        history_row(
            ui,
            widths,
            [
                RichText::new(format!("{} {}", at.format("%H:%M"), at.format("%d/%m/%Y"))),
                RichText::new(format!(
                    "{} {}",
                    e.actor.workstation.as_str(),
                    fonts::display_text(&e.actor.user)
                )),
                RichText::new(fonts::display_text(&what)),
            ],
        );
    }
}

fn history_row(ui: &mut Ui, widths: [f32; 3], cells: [RichText; 3]) {
    ui.horizontal_top(|ui| {
        for (width, text) in widths.into_iter().zip(cells) {
            ui.allocate_ui_with_layout(
                egui::vec2(width, 0.0),
                egui::Layout::top_down(egui::Align::Min),
                |ui| {
                    ui.set_width(width);
                    ui.add(egui::Label::new(text).wrap());
                },
            );
        }
    });
}

fn describe(t: &Transition) -> String {
    match t {
        Transition::Sent => "Sent to lab".into(),
        Transition::Received => "Received in lab".into(),
        Transition::Reentered { accession } => format!("Re-entered in LIMS as {accession}"),
        Transition::Cancelled { reason } => format!("Cancelled: {reason}"),
        Transition::Rejected { reason } => format!("Rejected by lab: {reason}"),
    }
}

/// The changes the status allows, and "Log a phoned result" once the lab has the sample.
/// Returns whether that was clicked.
fn actions_ui(
    ui: &mut Ui,
    state: &mut DetailState,
    detail: &RequestDetail,
    actions: &mut Vec<Action>,
) -> bool {
    let status = detail.state.status;
    let uuid = detail.state.request.uuid;
    if status.is_final() {
        let words = if can_phone(status) {
            "Its status is final; a phoned result can still be logged."
        } else {
            "Nothing more can happen to this request."
        };
        ui.label(RichText::new(words).color(widgets::MUTED));
    }
    let mut log_phoned = false;
    ui.horizontal_wrapped(|ui| {
        if can_phone(status) && state.phone.is_none() {
            log_phoned = ui.button(phoned::LOG_BUTTON).clicked();
        }
        if status.can_become(Status::Sent) && ui.button("Mark sent to lab").clicked() {
            actions.push(Action::ChangeStatus(uuid, Transition::Sent));
        }
        if status.can_become(Status::Received) && ui.button("Mark received in lab").clicked() {
            actions.push(Action::ChangeStatus(uuid, Transition::Received));
        }
        for (target, pending, text) in [
            (
                Status::Reentered,
                Pending::Reenter,
                "Mark re-entered in LIMS…",
            ),
            (Status::Cancelled, Pending::Cancel, "Cancel request…"),
            (Status::Rejected, Pending::Reject, "Reject (lab)…"),
        ] {
            if status.can_become(target)
                && ui
                    .add(egui::Button::new(text).selected(state.pending == pending))
                    .clicked()
            {
                state.pending = pending;
                state.phone = None;
                state.text.clear();
                state.error = None;
                state.focus_text = 2;
            }
        }
    });
    let (label, confirm, hint) = match state.pending {
        Pending::Nothing => ("", "", ""),
        Pending::Cancel => (
            "Reason for cancelling",
            "Confirm cancel",
            "why is it no longer needed?",
        ),
        Pending::Reject => (
            "Reason for rejecting",
            "Confirm reject",
            "e.g. unlabelled tube, haemolysed",
        ),
        Pending::Reenter => (
            "LIMS accession number",
            "Confirm re-entered",
            "from the LIMS",
        ),
    };
    if state.pending != Pending::Nothing {
        let label_response = ui.label(RichText::new(label).strong());
        let field = ui
            .add(
                egui::TextEdit::singleline(&mut state.text)
                    .hint_text(hint)
                    .desired_width(f32::INFINITY),
            )
            .labelled_by(label_response.id);
        widgets::keep_in_view(&field);
        // The box takes the cursor when it opens, and Enter confirms what was typed.
        if state.focus_text > 0 {
            field.request_focus();
            state.focus_text -= 1;
            ui.ctx().request_repaint();
        }
        let entered = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        if entered && state.text.trim().is_empty() {
            // Enter on an empty box: stay in it, and say what is missing.
            field.request_focus();
            state.error = Some(format!("type the {} first", label.to_lowercase()));
        }
        ui.horizontal(|ui| {
            let typed = !state.text.trim().is_empty();
            let clicked = ui
                .add_enabled(typed, egui::Button::new(format!("{confirm} (Enter)")))
                .on_disabled_hover_text("Type it first")
                .clicked();
            if clicked || (entered && typed) {
                let text = state.text.trim().to_owned();
                let transition = match state.pending {
                    Pending::Cancel => Transition::Cancelled { reason: text },
                    Pending::Reject => Transition::Rejected { reason: text },
                    Pending::Reenter | Pending::Nothing => {
                        Transition::Reentered { accession: text }
                    }
                };
                actions.push(Action::ChangeStatus(uuid, transition));
            }
            if ui.button("Back").clicked() {
                state.pending = Pending::Nothing;
                state.text.clear();
                state.error = None;
            }
        });
    }
    if let Some(error) = &state.error {
        widgets::error_text(ui, &format!("Not changed: {error}"));
    }
    log_phoned
}

/// A history line starting with a capital, as the other lines do.
fn capitalised(line: &str) -> String {
    let mut chars = line.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}
