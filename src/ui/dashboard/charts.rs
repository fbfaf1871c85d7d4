//! The dashboard's charts (egui_plot): median and 90th-percentile collection-to-receipt and
//! receipt-to-phoned times per priority per hour, and the backlog at each hour's end. Times on the
//! x axis are local wall-clock hours; a chart with nothing to draw says so in words instead.
//!
//! The charts only show: no zoom, drag or scroll (the page scrolls under the mouse wheel), no
//! Tab stop; hovering a point says its figures. Their key (a colour per priority, solid median,
//! dashed 90th percentile) is drawn once, beside the table of the same figures ([`key_ui`]).

use std::ops::RangeInclusive;

use chrono::{DateTime, Local, Utc};
use egui::{Color32, RichText, Ui};
use egui_plot::{
    GridInput, GridMark, HoverPosition, Line, LineStyle, MarkerShape, Plot, PlotPoints, Points,
};

use super::tables::minutes_words;
use crate::domain::request::{ALL_PRIORITIES, Priority};
use crate::domain::turnaround::{Figures, HourSpread};
use crate::ui::widgets;

/// The headings of the three charts (tests and screen readers find the charts by them).
pub const RECEIPT_CHART: &str = "Collection to receipt (by hour collected)";
pub const PHONED_CHART: &str = "Receipt to first phoned result (by hour received)";
pub const BACKLOG_CHART: &str = "Backlog: open requests at each hour's end";

/// The charts take the height left on screen, but never less than this (the page scrolls).
const MIN_CHART_HEIGHT: f32 = 150.0;
/// Room kept under the charts for their x-axis labels.
const BELOW_CHARTS: f32 = 8.0;
const SECONDS_PER_HOUR: f64 = 3600.0;

/// A priority's line colour: its badge colour, with amber darkened enough to see on white.
fn colour(p: Priority) -> Color32 {
    match p {
        Priority::Urgent => Color32::from_rgb(0xE0, 0x8E, 0x00),
        Priority::Emergency | Priority::Routine => widgets::priority_colours(p).0,
    }
}

/// An hour as the chart's x: hours since 1970 on the local wall clock, so grid lines fall on
/// local hours and days.
fn x_of(hour: DateTime<Utc>) -> f64 {
    hour.with_timezone(&Local)
        .naive_local()
        .and_utc()
        .timestamp() as f64
        / SECONDS_PER_HOUR
}

/// The local wall-clock time of an x, as "14:00", or "04/06 14:00" when the chart spans days.
fn x_words(x: f64, range: &RangeInclusive<f64>) -> String {
    let seconds = (x * SECONDS_PER_HOUR).round() as i64;
    let Some(t) = DateTime::from_timestamp(seconds, 0).map(|t| t.naive_utc()) else {
        return String::new();
    };
    if range.end() - range.start() > 24.0 {
        t.format("%d/%m %H:%M").to_string()
    } else {
        t.format("%H:%M").to_string()
    }
}

/// Grid lines on whole hours: every 1, 2, 3, 6 or 12 hours or every day, as far apart as the
/// chart's width allows.
fn hour_marks(input: GridInput) -> Vec<GridMark> {
    const STEPS: [f64; 8] = [1.0, 2.0, 3.0, 6.0, 12.0, 24.0, 48.0, 168.0];
    // `base_step_size` is about 8 pixels; a "04/06 14:00" label needs about twelve times that.
    let wanted = input.base_step_size * 12.0;
    let first = STEPS
        .iter()
        .position(|&s| s >= wanted)
        .unwrap_or(STEPS.len() - 1);
    let step = STEPS[first];
    let (min, max) = input.bounds;
    let mut marks = Vec::new();
    let mut x = (min / step).ceil() * step;
    while x <= max && marks.len() < 200 {
        marks.push(GridMark {
            value: x,
            step_size: step,
        });
        x += step;
    }
    marks
}

/// A base plot: labelled axes, local hours along x, nothing that moves it.
fn plot<'a>(id: &'a str, y_label: &'a str, x_label: &'a str, height: f32) -> Plot<'a> {
    Plot::new(id)
        .height(height)
        .x_axis_label(x_label)
        .y_axis_label(y_label)
        .x_axis_formatter(|mark, range| x_words(mark.value, range))
        .x_grid_spacer(hour_marks)
        .include_y(0.0)
        .allow_zoom(false)
        .allow_drag(false)
        .allow_scroll(false)
        .allow_boxed_zoom(false)
        .allow_double_click_reset(false)
        .show_crosshair(false)
        .sense(egui::Sense::hover())
}

/// A chart's heading and the sentence said instead of an empty chart.
fn heading(ui: &mut Ui, text: &str) {
    ui.add(egui::Label::new(RichText::new(text).strong().size(16.0)).truncate());
}

fn nothing(ui: &mut Ui, words: &str) {
    egui::Frame::new()
        .fill(Color32::from_gray(245))
        .stroke(egui::Stroke::new(1.0, Color32::from_gray(200)))
        .inner_margin(egui::Margin::symmetric(12, 10))
        .show(ui, |ui| {
            ui.set_min_width(ui.available_width());
            ui.label(RichText::new(words).color(widgets::MUTED).size(16.0));
        });
}

/// The key, then the three charts side by side in the height left on screen.
pub(super) fn charts_ui(ui: &mut Ui, f: &Figures) {
    const GAP: f32 = 14.0;
    // Two gaps, and the spacing egui puts either side of each gap.
    let spacing = ui.spacing().item_spacing.x;
    let width = ((ui.available_width() - 2.0 * GAP - 4.0 * spacing) / 3.0).max(280.0);
    // The heading's line, then the chart.
    let height = (ui.available_height() - 28.0 - BELOW_CHARTS).max(MIN_CHART_HEIGHT);
    ui.horizontal_top(|ui| {
        ui.vertical(|ui| {
            ui.set_width(width);
            heading(ui, RECEIPT_CHART);
            spread_chart(
                ui,
                ("dashboard_receipt_chart", height),
                &f.to_receipt_by_hour,
                "hour collected (local time)",
                "No sample has been received yet: no collection-to-receipt times to chart.",
            );
        });
        ui.add_space(GAP);
        ui.vertical(|ui| {
            ui.set_width(width);
            heading(ui, PHONED_CHART);
            spread_chart(
                ui,
                ("dashboard_phoned_chart", height),
                &f.receipt_to_phoned_by_hour,
                "hour received (local time)",
                "No result has been phoned for a received sample yet: no receipt-to-phoned times \
                 to chart.",
            );
        });
        ui.add_space(GAP);
        ui.vertical(|ui| {
            ui.set_width(width);
            heading(ui, BACKLOG_CHART);
            backlog_chart(ui, &f.backlog_by_hour, height);
        });
    });
    ui.add_space(BELOW_CHARTS);
}

/// The timing charts' key on one line: each priority's line colour, and what solid and dashed
/// mean.
pub(super) fn key_ui(ui: &mut Ui) {
    ui.horizontal_wrapped(|ui| {
        ui.label(RichText::new("Charts:").strong());
        for p in ALL_PRIORITIES {
            let (rect, _) = ui.allocate_exact_size(egui::vec2(24.0, 14.0), egui::Sense::hover());
            ui.painter().line_segment(
                [rect.left_center(), rect.right_center()],
                egui::Stroke::new(3.0, colour(p)),
            );
            ui.label(RichText::new(p.label()).strong().color(colour(p)));
        }
        ui.label("· solid line: median · dashed: 90th percentile");
    });
}

/// One timing chart: per priority (in its colour), a solid median and a
/// dashed 90th-percentile line with a point at each hour that has samples. Hovering a point says
/// both figures of that priority and hour, and how many samples they are of.
fn spread_chart(
    ui: &mut Ui,
    (id, height): (&str, f32),
    hours: &[HourSpread],
    x_label: &str,
    empty: &str,
) {
    if hours.is_empty() {
        nothing(ui, empty);
        return;
    }
    plot(id, "minutes", x_label, height)
        .label_formatter(|pos| spread_hover(pos, hours))
        .show(ui, |plot| {
            for p in ALL_PRIORITIES {
                let of_p: Vec<&HourSpread> = hours.iter().filter(|h| h.priority == p).collect();
                if of_p.is_empty() {
                    continue;
                }
                let median = of_p.iter().map(|h| h.spread.median_seconds);
                let p90 = of_p.iter().map(|h| h.spread.p90_seconds);
                for (style, seconds) in [
                    (LineStyle::Solid, median.collect::<Vec<_>>()),
                    (LineStyle::dashed_loose(), p90.collect()),
                ] {
                    let points: Vec<[f64; 2]> = of_p
                        .iter()
                        .zip(seconds)
                        .map(|(h, s)| [x_of(h.hour), s as f64 / 60.0])
                        .collect();
                    // Both lines and their points under the priority's name: one legend entry.
                    plot.line(
                        Line::new(p.label(), PlotPoints::new(points.clone()))
                            .color(colour(p))
                            .width(2.5)
                            .style(style),
                    );
                    plot.points(
                        Points::new(p.label(), PlotPoints::new(points))
                            .color(colour(p))
                            .shape(MarkerShape::Circle)
                            .filled(style == LineStyle::Solid)
                            .radius(4.0),
                    );
                }
            }
        });
}

/// The figures of the priority and hour nearest the pointer.
fn spread_hover(pos: &HoverPosition<'_>, hours: &[HourSpread]) -> Option<String> {
    let HoverPosition::NearDataPoint {
        plot_name,
        position,
        ..
    } = pos
    else {
        return None;
    };
    let h = hours
        .iter()
        .filter(|h| h.priority.label() == *plot_name)
        .min_by(|a, b| {
            let d = |h: &HourSpread| (x_of(h.hour) - position.x).abs();
            d(a).total_cmp(&d(b))
        })?;
    Some(format!(
        "{plot_name}, hour from {}\nmedian {}, 90th percentile {}\n{} sample{}",
        x_words(x_of(h.hour), &(0.0..=48.0)),
        minutes_words(h.spread.median_seconds),
        minutes_words(h.spread.p90_seconds),
        h.spread.count,
        if h.spread.count == 1 { "" } else { "s" }
    ))
}

/// The backlog at each hour's end, one line.
fn backlog_chart(ui: &mut Ui, backlog: &[(DateTime<Utc>, u64)], height: f32) {
    if backlog.is_empty() {
        nothing(ui, "No request has been logged yet: no backlog to chart.");
        return;
    }
    let points: Vec<[f64; 2]> = backlog
        .iter()
        .map(|(hour, n)| [x_of(*hour) + 1.0, *n as f64])
        .collect();
    plot(
        "dashboard_backlog_chart",
        "open requests",
        "end of hour (local time)",
        height,
    )
    .label_formatter(backlog_hover)
    .show(ui, |plot| {
        plot.line(
            Line::new("Backlog", PlotPoints::new(points.clone()))
                .color(widgets::FOCUS_BLUE)
                .width(2.5)
                .fill(0.0),
        );
        plot.points(
            Points::new("Backlog", PlotPoints::new(points))
                .color(widgets::FOCUS_BLUE)
                .radius(3.0),
        );
    });
}

/// What hovering the backlog says: the hour and the count; nothing between points.
fn backlog_hover(pos: &HoverPosition<'_>) -> Option<String> {
    let HoverPosition::NearDataPoint { position, .. } = pos else {
        return None;
    };
    Some(format!(
        "{}: {} open",
        x_words(position.x, &(0.0..=48.0)),
        position.y.round()
    ))
}
