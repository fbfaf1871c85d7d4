//! The detail panel: one request in full, its history, and the status changes it allows.

use chrono::{DateTime, Local};
use egui::{RichText, Ui};

use super::action::Action;
use crate::domain::identity::patient_line;
use super::widgets;
use crate::domain::catalogue::tubes_in_draw_order;
use crate::domain::event::EventKind;
use crate::domain::status::{Status, Transition};
use crate::store::RequestDetail;

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
}

pub fn detail_ui(
    ui: &mut Ui,
    state: &mut DetailState,
    detail: &RequestDetail,
    now: DateTime<Local>,
    actions: &mut Vec<Action>,
) {
    let s = &detail.state;
    let r = &s.request;
    ui.horizontal(|ui| {
        ui.label(
            RichText::new(s.downtime_id.grouped())
                .size(24.0)
                .monospace()
                .strong(),
        );
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            if ui.button("Close").clicked() {
                actions.push(Action::CloseDetail);
            }
        });
    });
    ui.horizontal(|ui| {
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
    if let Some(accession) = &s.accession {
        ui.label(format!("LIMS accession: {accession}"));
    }
    if let Some(reason) = &s.reason {
        ui.label(RichText::new(format!("Reason: {reason}")).color(widgets::ERROR_RED));
    }
    actions_ui(ui, state, detail, actions);
    ui.separator();
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show(ui, |ui| {
            let value_width = (ui.available_width() - 140.0).max(150.0);
            egui::Grid::new("detail_grid")
                .num_columns(2)
                .max_col_width(value_width)
                .spacing([12.0, 6.0])
                .show(ui, |ui| {
                    let local = r.collected_at.with_timezone(&Local);
                    let minutes = (now.with_timezone(&chrono::Utc) - r.collected_at).num_minutes();
                    for (name, value) in [
                        ("Patient", patient_line(&r.patient)),
                        ("Sex", r.patient.sex.label().to_owned()),
                        ("Ward", r.ward.clone()),
                        ("Consultant", r.consultant.clone()),
                        (
                            "Requested by",
                            format!("{} ({})", r.requester, r.requester_contact),
                        ),
                        (
                            "Collected",
                            format!(
                                "{} ({} ago) by {}",
                                local.format("%H:%M %d/%m/%Y"),
                                widgets::age(minutes),
                                r.collected_by
                            ),
                        ),
                        ("Clinical details", r.clinical_details.clone()),
                        ("Notes", r.notes.clone()),
                    ] {
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
            for e in &detail.events {
                let when = e.at.with_timezone(&Local).format("%H:%M %d/%m/%Y");
                let what = match &e.kind {
                    EventKind::Created { .. } => "Logged (request saved)".to_owned(),
                    EventKind::StatusChanged { transition } => describe(transition),
                };
                ui.label(format!(
                    "{when} · {} · {}: {what}",
                    e.actor.workstation.as_str(),
                    e.actor.user
                ));
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

fn actions_ui(
    ui: &mut Ui,
    state: &mut DetailState,
    detail: &RequestDetail,
    actions: &mut Vec<Action>,
) {
    let status = detail.state.status;
    let uuid = detail.state.request.uuid;
    if status.is_final() {
        ui.label(RichText::new("Nothing more can happen to this request.").color(widgets::MUTED));
    }
    ui.horizontal_wrapped(|ui| {
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
                state.text.clear();
                state.error = None;
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
        ui.add(
            egui::TextEdit::singleline(&mut state.text)
                .hint_text(hint)
                .desired_width(f32::INFINITY),
        )
        .labelled_by(label_response.id);
        ui.horizontal(|ui| {
            let typed = !state.text.trim().is_empty();
            let clicked = ui
                .add_enabled(typed, egui::Button::new(confirm))
                .on_disabled_hover_text("Type it first")
                .clicked();
            if clicked {
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
}
