//! What the reception screen shows: the request found, large enough to check against the label,
//! and the session's tally with its lines.

use chrono::{DateTime, Local, Utc};
use egui::{RichText, Ui};

use super::{ReceptionState, Shown, outcome_colour};
use crate::domain::catalogue::tubes_in_draw_order;
use crate::domain::identity::patient_line;
use crate::domain::overdue::age_words;
use crate::ui::{fonts, widgets};

/// Size of the downtime ID of the request on screen.
const ID_SIZE: f32 = 34.0;

/// The request found: downtime ID, patient, priority, status, age and the tubes to expect, large
/// enough to check against the label at arm's length.
pub(super) fn request_ui(ui: &mut Ui, shown: &Shown, now: DateTime<Utc>) {
    let s = &shown.detail.state;
    let r = &s.request;
    egui::Frame::new()
        .fill(egui::Color32::WHITE)
        .stroke(egui::Stroke::new(1.0, egui::Color32::from_gray(200)))
        .inner_margin(egui::Margin::same(12))
        .corner_radius(4.0)
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.label(fonts::downtime_id_text(s.downtime_id.grouped(), ID_SIZE).strong());
            ui.add(
                egui::Label::new(
                    RichText::new(fonts::display_text(&patient_line(&r.patient)))
                        .size(20.0)
                        .strong(),
                )
                .wrap(),
            );
            ui.horizontal_wrapped(|ui| {
                widgets::priority_badge(ui, r.priority);
                ui.label(widgets::status_text(s.status).strong().size(18.0));
                if shown.detail.training {
                    ui.label(
                        RichText::new("TRAINING")
                            .strong()
                            .color(widgets::WARNING_TEXT),
                    );
                }
            });
            let collected = r.collected_at.with_timezone(&Local);
            ui.label(
                RichText::new(format!(
                    "{} · collected {} ({} ago) by {}",
                    fonts::display_text(&r.ward),
                    collected.format("%H:%M %d/%m"),
                    age_words(now - r.collected_at),
                    fonts::display_text(&r.collected_by)
                ))
                .size(16.0),
            );
            ui.add_space(4.0);
            ui.label(RichText::new("Tubes to expect (order of draw)").strong());
            for tube in tubes_in_draw_order(&r.tests) {
                ui.horizontal_wrapped(|ui| {
                    widgets::tube_swatch(ui, &tube.colour_hex);
                    ui.label(
                        RichText::new(format!(
                            "{} ({}): {}",
                            tube.tube,
                            tube.colour,
                            tube.tests.join(", ")
                        ))
                        .size(16.0),
                    );
                    if tube.transfusion {
                        ui.label(
                            RichText::new("HAND-LABELLED: check label against form")
                                .color(widgets::EMERGENCY_RED)
                                .strong(),
                        );
                    }
                });
            }
        });
}

/// The session's tally and its lines, newest first.
pub(super) fn tally_ui(ui: &mut Ui, state: &ReceptionState) {
    ui.label(RichText::new("This session").strong().size(18.0));
    let t = state.tally;
    egui::Grid::new("reception_tally")
        .num_columns(4)
        .spacing([10.0, 4.0])
        .show(ui, |ui| {
            for (n, (text, count, colour)) in [
                ("Received", t.received, widgets::OK_GREEN),
                ("Rejected", t.rejected, widgets::WARNING_TEXT),
                ("Not found", t.not_found, widgets::ERROR_RED),
                ("Already done", t.already, widgets::MUTED),
            ]
            .into_iter()
            .enumerate()
            {
                ui.label(RichText::new(text).color(colour).size(17.0));
                ui.label(
                    RichText::new(count.to_string())
                        .color(colour)
                        .strong()
                        .size(24.0),
                );
                if n % 2 == 1 {
                    ui.end_row();
                }
            }
        });
    super::early::waiting_ui(ui, &state.waiting);
    ui.separator();
    egui::ScrollArea::vertical()
        .id_salt("reception_log")
        .auto_shrink([false, false])
        .show(ui, |ui| {
            for line in &state.log {
                ui.add(
                    egui::Label::new(
                        fonts::downtime_id_text(&line.text, 14.0)
                            .color(outcome_colour(line.outcome)),
                    )
                    .wrap(),
                );
            }
        });
}
