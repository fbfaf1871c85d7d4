//! One row of the queue table: the downtime ID in its own font, the patient in reading order,
//! the priority, how long ago the sample was taken (or that it is overdue), ward and status.

use chrono::{DateTime, Local, Utc};
use egui::{RichText, Ui};
use egui_extras::TableRow;

use super::{ID_SIZE, ROW_HEIGHT};
use crate::domain::nhs_number::NhsNumber;
use crate::domain::overdue::{OverdueThresholds, age_words};
use crate::store::QueueRow;
use crate::ui::{fonts, widgets};

pub(super) fn row_cells(
    row: &mut TableRow<'_, '_>,
    r: &QueueRow,
    opened: bool,
    now: DateTime<Utc>,
    thresholds: &OverdueThresholds,
) {
    row.col(|ui| {
        if opened {
            // A bar at the left edge marks the request shown in the detail panel.
            let cell = ui.max_rect();
            ui.painter().rect_filled(
                egui::Rect::from_min_size(cell.left_top(), egui::vec2(4.0, cell.height())),
                0.0,
                widgets::FOCUS_BLUE,
            );
        }
        ui.add_space(6.0);
        ui.label(
            fonts::downtime_id_text(r.downtime_id.grouped(), ID_SIZE)
                .color(ui.visuals().strong_text_color()),
        );
    });
    row.col(|ui| {
        ui.vertical(|ui| {
            ui.spacing_mut().item_spacing.y = 2.0;
            ui.add_space(3.0);
            ui.label(RichText::new(fonts::display_text(&patient_name(r))).strong());
            if r.damaged {
                // Shown, not hidden: the ward must know this record cannot be trusted.
                ui.label(
                    RichText::new("DAMAGED RECORD — check the paper form")
                        .color(widgets::ERROR_RED)
                        .strong(),
                );
            } else {
                ui.label(RichText::new(identifier(r)).color(widgets::MUTED));
            }
        });
    });
    row.col(|ui| {
        ui.label(r.tests.join(", "));
    });
    row.col(|ui| {
        ui.vertical(|ui| {
            ui.add_space((ROW_HEIGHT - 26.0) / 2.0);
            widgets::priority_badge(ui, r.priority);
        });
    });
    row.col(|ui| {
        collected_cell(ui, r, now, thresholds);
    });
    row.col(|ui| {
        ui.label(fonts::display_text(&r.ward));
    });
    row.col(|ui| {
        ui.vertical(|ui| {
            ui.add_space(3.0);
            ui.add(egui::Label::new(widgets::status_text(r.status)).wrap());
        });
    });
}

/// The collection time, and how long ago it was: in dark text at the normal size, or, once the
/// request is overdue, as a red "OVERDUE 1 h 12 min" (the sample's age).
fn collected_cell(ui: &mut Ui, r: &QueueRow, now: DateTime<Utc>, thresholds: &OverdueThresholds) {
    let local = r.collected_at.with_timezone(&Local);
    let age = age_words(now - r.collected_at);
    ui.vertical(|ui| {
        ui.spacing_mut().item_spacing.y = 2.0;
        ui.add_space(3.0);
        ui.label(local.format("%H:%M %d/%m").to_string());
        match r.overdue_by(now, thresholds) {
            Some(over) => {
                let limit = thresholds
                    .threshold(r.priority)
                    .map_or(0, |d| d.num_minutes());
                widgets::overdue_badge(ui, &format!("OVERDUE {age}")).on_hover_text(format!(
                    "{} requests are overdue {limit} min after collection: this one by {}.",
                    r.priority.label(),
                    age_words(over)
                ));
            }
            None => {
                ui.label(
                    RichText::new(format!("{age} ago")).color(ui.visuals().strong_text_color()),
                );
            }
        }
    });
}

fn patient_name(r: &QueueRow) -> String {
    if r.forename.is_empty() {
        r.surname.to_uppercase()
    } else {
        format!("{}, {}", r.surname.to_uppercase(), r.forename)
    }
}

/// NHS number as 3-3-4, else MRN, else the A&E number.
fn identifier(r: &QueueRow) -> String {
    if let Some(n) = &r.nhs_number {
        return match NhsNumber::parse(n) {
            Ok(n) => format!("NHS {n}"),
            Err(_) => format!("NHS {n}"),
        };
    }
    if let Some(m) = &r.mrn {
        return format!("MRN {m}");
    }
    r.emergency_number
        .as_ref()
        .map(|e| format!("A&E {e}"))
        .unwrap_or_default()
}
