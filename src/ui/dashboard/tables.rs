//! The dashboard's lists and tables: the overdue requests (each a button that opens its request,
//! as the queue's Enter does), open requests by status and priority, and each priority's median
//! and 90th percentile over the whole downtime.

use chrono::{DateTime, Duration, Local};
use egui::{Color32, RichText, Ui};

use crate::domain::overdue::age_words;
use crate::domain::request::{ALL_PRIORITIES, Priority};
use crate::domain::status::Status;
use crate::domain::turnaround::{Figures, OverdueRequest, Spread};
use crate::ui::action::{Action, Tab};
use crate::ui::{fonts, widgets};

/// Height of one overdue row.
const ROW_HEIGHT: f32 = 31.0;
/// Overdue rows in view before the list scrolls: the charts stay within reach on a 768-pixel
/// screen.
const ROWS_IN_VIEW: usize = 3;
/// The statuses that count as open, in the table's order.
const OPEN: [Status; 3] = [Status::Logged, Status::Sent, Status::Received];

/// The overdue emergencies and urgents, oldest first; each row opens the request's detail.
pub(super) fn overdue_ui(
    ui: &mut Ui,
    f: &Figures,
    now: DateTime<Local>,
    actions: &mut Vec<Action>,
) {
    if f.overdue.is_empty() {
        ui.label(
            RichText::new("No emergency or urgent request is overdue.")
                .color(widgets::OK_GREEN)
                .strong()
                .size(17.0),
        );
        return;
    }
    ui.label(
        RichText::new(format!(
            "OVERDUE: {} EMERGENCY, {} Urgent (oldest first; Enter or click opens the request)",
            f.overdue_emergency, f.overdue_urgent
        ))
        .color(widgets::ERROR_RED)
        .strong()
        .size(17.0),
    );
    ui.add_space(2.0);
    let rows = f.overdue.len();
    egui::ScrollArea::vertical()
        .id_salt("dashboard_overdue")
        .max_height(ROW_HEIGHT * ROWS_IN_VIEW.min(rows) as f32 + 4.0)
        .auto_shrink([false, true])
        .show_rows(ui, ROW_HEIGHT, rows, |ui, range| {
            for o in &f.overdue[range] {
                overdue_row(ui, o, now, actions);
            }
        });
}

/// One overdue request as a button in its priority's colours, named by all it says.
fn overdue_row(ui: &mut Ui, o: &OverdueRequest, now: DateTime<Local>, actions: &mut Vec<Action>) {
    let (fill, text) = widgets::priority_colours(o.priority);
    let collected = o.collected_at.with_timezone(&Local);
    let when = if collected.date_naive() == now.date_naive() {
        collected.format("%H:%M").to_string()
    } else {
        collected.format("%d/%m %H:%M").to_string()
    };
    let id = o.downtime_id.grouped();
    let words = format!(
        "{}  ·  {}  ·  {}  ·  collected {when}  ·  {} over",
        o.priority.label(),
        fonts::display_text(&o.ward),
        o.status.label(),
        age_words(Duration::seconds(o.overdue_by_seconds)),
    );
    let mut job = egui::text::LayoutJob::default();
    let size = 16.0;
    job.append(
        &id,
        0.0,
        egui::TextFormat::simple(egui::FontId::new(size, fonts::downtime_id_family()), text),
    );
    job.append(
        &words,
        16.0,
        egui::TextFormat::simple(egui::FontId::proportional(size), text),
    );
    let button = egui::Button::new(job)
        .fill(fill)
        .stroke(egui::Stroke::new(1.0, Color32::from_gray(60)))
        .min_size(egui::vec2(ui.available_width(), ROW_HEIGHT - 4.0));
    let r = ui
        .add(button)
        .on_hover_text("Open this request in the queue's detail panel");
    widgets::keep_in_view(&r);
    if r.clicked() {
        actions.push(Action::SelectRequest(o.uuid));
        actions.push(Action::ShowTab(Tab::Queue));
    }
}

/// Open requests by status and priority beside each priority's times over the downtime.
pub(super) fn summary_ui(ui: &mut Ui, f: &Figures) {
    ui.horizontal_top(|ui| {
        ui.vertical(|ui| {
            let total: u64 = f.open.values().flat_map(|by| by.values()).sum();
            cell(
                ui,
                RichText::new(format!("Open requests: {total}"))
                    .strong()
                    .size(17.0),
                format!("All open: {total}"),
            );
            open_table(ui, f);
        });
        ui.add_space(40.0);
        ui.vertical(|ui| {
            ui.label(
                RichText::new("Times over the downtime: median / 90th percentile (samples)")
                    .strong()
                    .size(17.0),
            );
            spread_table(ui, f);
        });
    });
}

/// A label whose accessible name says which cell it is: "Received in lab, EMERGENCY: 3".
fn cell(ui: &mut Ui, text: RichText, name: String) {
    let r = ui.label(text);
    r.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Label, true, &name));
}

fn open_table(ui: &mut Ui, f: &Figures) {
    let count = |s: Status, p: Priority| {
        f.open
            .get(&s)
            .and_then(|by| by.get(&p))
            .copied()
            .unwrap_or(0)
    };
    egui::Grid::new("dashboard_open")
        .striped(true)
        .min_col_width(90.0)
        .spacing(egui::vec2(18.0, 3.0))
        .show(ui, |ui| {
            ui.label("");
            for p in ALL_PRIORITIES {
                widgets::priority_badge(ui, p);
            }
            ui.label(RichText::new("All").strong());
            ui.end_row();
            for s in OPEN {
                ui.label(widgets::status_text(s).strong());
                for p in ALL_PRIORITIES {
                    let n = count(s, p);
                    cell(
                        ui,
                        RichText::new(n.to_string()).size(17.0),
                        format!("{}, {}: {n}", s.label(), p.label()),
                    );
                }
                let all: u64 = ALL_PRIORITIES.into_iter().map(|p| count(s, p)).sum();
                cell(
                    ui,
                    RichText::new(all.to_string()).size(17.0).strong(),
                    format!("{}, all: {all}", s.label()),
                );
                ui.end_row();
            }
        });
}

/// "40 min / 2 h 5 min (12)", or a dash for none.
fn spread_words(s: Option<&Spread>) -> String {
    match s {
        None => "—".to_owned(),
        Some(s) => format!(
            "{} / {}  ({})",
            minutes_words(s.median_seconds),
            minutes_words(s.p90_seconds),
            s.count
        ),
    }
}

/// A duration in the words the queue uses for ages ("under 1 min", "40 min", "2 h 5 min").
pub(super) fn minutes_words(seconds: i64) -> String {
    age_words(Duration::seconds(seconds))
}

fn spread_table(ui: &mut Ui, f: &Figures) {
    egui::Grid::new("dashboard_spreads")
        .striped(true)
        .spacing(egui::vec2(18.0, 3.0))
        .show(ui, |ui| {
            ui.label("");
            ui.label(RichText::new("Collection to receipt").strong());
            ui.label(RichText::new("Receipt to first phoned result").strong());
            ui.end_row();
            for p in ALL_PRIORITIES {
                widgets::priority_badge(ui, p);
                let receipt = spread_words(f.to_receipt.get(&p));
                cell(
                    ui,
                    RichText::new(&receipt).size(16.0),
                    format!("{} collection to receipt: {receipt}", p.label()),
                );
                let phoned = spread_words(f.receipt_to_phoned.get(&p));
                cell(
                    ui,
                    RichText::new(&phoned).size(16.0),
                    format!("{} receipt to phoned: {phoned}", p.label()),
                );
                ui.end_row();
            }
        });
    super::charts::key_ui(ui);
}
