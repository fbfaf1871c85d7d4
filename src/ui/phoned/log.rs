//! The "Phoned results (F9)" tab: every result phoned to the wards that this PC holds (its own
//! and those bundles brought), newest first, filtered by ward and to those NOT read back. The
//! table is one Tab stop: Up/Down (Home/End) move the highlight, Enter or a click opens the
//! request in the detail panel beside it, Escape (taken by the panel) closes that again.

use chrono::{DateTime, Local};
use egui::{Key, Modifiers, RichText, Sense, Ui};
use egui_extras::{Column, TableBuilder};
use uuid::Uuid;

use crate::store::{PhonedFilter, PhonedRow, RequestDetail};
use crate::ui::action::Action;
use crate::ui::detail::{self, DetailState};
use crate::ui::{fonts, widgets};

/// The table's accessible name (tests find it by this).
pub const LOG_TABLE_LABEL: &str = "Phoned results (Up/Down to move, Enter to open)";
/// The filter's words.
pub const NOT_READ_BACK_FILTER: &str = "Only NOT read back";
const ROW_HEIGHT: f32 = 52.0;

/// The log's view state, with the rows last read for its filter.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PhonedLogState {
    pub ward: Option<String>,
    pub not_read_back: bool,
    /// The results read for the filter; `None` until read (the screen then asks for them).
    pub rows: Option<Vec<PhonedRow>>,
    /// Why the last read failed.
    pub failed: Option<String>,
    /// The highlighted result (its event) and its place in `rows`.
    highlighted: Option<Uuid>,
    highlighted_at: Option<usize>,
    /// Give the table the keyboard on the next frame.
    pub focus_table: bool,
    /// A detail panel was open in the last frame: when it closes, the table takes the keyboard.
    detail_was_open: bool,
}

impl PhonedLogState {
    pub fn filter(&self) -> PhonedFilter {
        PhonedFilter {
            ward: self.ward.clone(),
            not_read_back: self.not_read_back,
        }
    }

    /// Finds the highlighted result again after the rows were read (it may have moved, or
    /// gone with a new filter).
    pub(in crate::ui::phoned) fn locate_highlight(&mut self) {
        let rows = self.rows.as_deref().unwrap_or_default();
        self.highlighted_at = self
            .highlighted
            .and_then(|id| rows.iter().position(|r| r.event == id));
        if self.highlighted_at.is_none() {
            self.highlighted = None;
        }
    }

    fn highlight(&mut self, index: usize) {
        let row = self.rows.as_deref().unwrap_or_default().get(index);
        self.highlighted = row.map(|r| r.event);
        self.highlighted_at = row.map(|_| index);
    }
}

/// What the tab draws from besides its own state.
struct PhonedData<'a> {
    /// The wards requests have come from (the filter's choices).
    wards: &'a [String],
    /// The request open in the detail panel.
    detail: Option<&'a RequestDetail>,
}

/// The tab: the detail panel on the right when a request is open (`detail`, with its state), the
/// log beside it; `wards` are those requests have come from (the filter's choices).
pub fn phoned_tab(
    ui: &mut Ui,
    (log, detail_state): (&mut PhonedLogState, &mut DetailState),
    (wards, detail): (&[String], Option<&RequestDetail>),
    now: DateTime<Local>,
    actions: &mut Vec<Action>,
) {
    let data = PhonedData { wards, detail };
    if let Some(d) = data.detail {
        egui::Panel::right("detail")
            .default_size(470.0)
            .size_range(380.0..=620.0)
            .frame(
                egui::Frame::new()
                    .fill(egui::Color32::WHITE)
                    .inner_margin(egui::Margin::same(14)),
            )
            .show(ui, |ui| {
                detail::detail_ui(ui, detail_state, d, now, actions);
            });
    }
    if log.detail_was_open && data.detail.is_none() {
        log.focus_table = true;
    }
    log.detail_was_open = data.detail.is_some();
    egui::CentralPanel::default().show(ui, |ui| log_ui(ui, log, &data, actions));
}

fn log_ui(ui: &mut Ui, log: &mut PhonedLogState, data: &PhonedData<'_>, actions: &mut Vec<Action>) {
    if log.rows.is_none() {
        actions.push(Action::LoadPhoned);
    }
    ui.horizontal(|ui| {
        ui.label(
            RichText::new("Results phoned to the wards")
                .strong()
                .size(18.0),
        );
        ui.label(RichText::new("newest first").color(widgets::MUTED));
    });
    filters_ui(ui, log, data.wards, actions);
    if let Some(e) = &log.failed {
        widgets::error_text(ui, &format!("The log could not be read: {e}"));
    }
    let rows = log.rows.as_deref().unwrap_or_default();
    let not_read_back = rows.iter().filter(|r| !r.phoned.read_back).count();
    ui.horizontal(|ui| {
        ui.label(format!("{} result(s)", rows.len()));
        if not_read_back > 0 {
            ui.label(
                RichText::new(format!("{not_read_back} NOT read back"))
                    .color(widgets::ERROR_RED)
                    .strong(),
            );
        }
    });
    if rows.is_empty() {
        ui.add_space(20.0);
        let words = if log.ward.is_some() || log.not_read_back {
            "No phoned results match. Change the filters."
        } else {
            "No results have been phoned yet. Log one from a received request's detail panel."
        };
        ui.label(RichText::new(words).color(widgets::MUTED));
        return;
    }
    table_ui(ui, log, data, actions);
}

fn filters_ui(ui: &mut Ui, log: &mut PhonedLogState, wards: &[String], actions: &mut Vec<Action>) {
    let before = (log.ward.clone(), log.not_read_back);
    ui.horizontal_wrapped(|ui| {
        let label = ui.label(RichText::new("Ward").strong());
        egui::ComboBox::from_id_salt("phoned_ward_filter")
            .selected_text(log.ward.as_deref().unwrap_or("All wards"))
            .width(200.0)
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut log.ward, None, "All wards");
                for w in wards {
                    ui.selectable_value(&mut log.ward, Some(w.clone()), w);
                }
            })
            .response
            .labelled_by(label.id);
        ui.add_space(8.0);
        ui.checkbox(
            &mut log.not_read_back,
            RichText::new(NOT_READ_BACK_FILTER).color(widgets::ERROR_RED),
        );
        ui.add_space(8.0);
        if ui
            .button("Refresh")
            .on_hover_text("Read the log again now (results bundles brought)")
            .clicked()
        {
            actions.push(Action::LoadPhoned);
        }
    });
    if (log.ward.clone(), log.not_read_back) != before {
        log.rows = None;
    }
}

/// A move of the highlight.
#[derive(Debug, Clone, Copy)]
enum Move {
    By(isize),
    First,
    Last,
}

fn table_ui(
    ui: &mut Ui,
    log: &mut PhonedLogState,
    data: &PhonedData<'_>,
    actions: &mut Vec<Action>,
) {
    let table_id = ui.make_persistent_id("phoned_table_focus");
    if std::mem::take(&mut log.focus_table) {
        ui.memory_mut(|m| m.request_focus(table_id));
    }
    let area = ui.available_rect_before_wrap();
    let table = ui.interact(area, table_id, Sense::focusable_noninteractive());
    table.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Grid, true, LOG_TABLE_LABEL));
    let count = log.rows.as_ref().map_or(0, Vec::len);
    let last = count.saturating_sub(1);
    let mut scroll_to = None;
    if table.has_focus() {
        ui.memory_mut(|m| {
            m.set_focus_lock_filter(
                table_id,
                egui::EventFilter {
                    vertical_arrows: true,
                    ..Default::default()
                },
            );
        });
        let (moves, enter) = ui.input_mut(|i| {
            let mut moves = Vec::new();
            for (key, step) in [
                (Key::ArrowDown, Move::By(1)),
                (Key::ArrowUp, Move::By(-1)),
                (Key::Home, Move::First),
                (Key::End, Move::Last),
            ] {
                let n = i.count_and_consume_key(Modifiers::NONE, key);
                moves.extend(std::iter::repeat_n(step, n));
            }
            (moves, i.consume_key(Modifiers::NONE, Key::Enter))
        });
        for step in moves {
            let index = match (step, log.highlighted_at) {
                (Move::Last, _) => last,
                (Move::First, _) | (Move::By(_), None) => 0,
                (Move::By(s), Some(at)) => at.saturating_add_signed(s).min(last),
            };
            log.highlight(index);
            scroll_to = Some(index);
        }
        if enter && let Some(r) = log.highlighted_at.and_then(|i| log.rows.as_ref()?.get(i)) {
            actions.push(Action::SelectRequest(r.request_uuid));
        }
    }
    let open = data.detail.map(|d| d.state.request.uuid);
    let mut clicked = None;
    let rows = log.rows.as_deref().unwrap_or_default();
    ui.style_mut().interaction.selectable_labels = false;
    let mut builder = TableBuilder::new(ui)
        .id_salt("phoned_table")
        .striped(true)
        .sense(Sense::CLICK)
        .animate_scrolling(false)
        .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
        .column(Column::exact(96.0))
        .column(Column::exact(176.0))
        .column(Column::remainder().at_least(120.0).clip(true))
        .column(Column::remainder().at_least(160.0).clip(true))
        .column(Column::exact(140.0));
    if let Some(row) = scroll_to {
        builder = builder.scroll_to_row(row, None);
    }
    builder
        .header(28.0, |mut header| {
            for title in ["Phoned", "Request", "Patient", "Test: result", "Read back"] {
                header.col(|ui| {
                    ui.label(RichText::new(title).strong());
                });
            }
        })
        .body(|body| {
            body.rows(ROW_HEIGHT, rows.len(), |mut row| {
                let Some(r) = rows.get(row.index()) else {
                    return;
                };
                row.set_selected(log.highlighted == Some(r.event));
                row_cells(&mut row, r, open == Some(r.request_uuid));
                if row.response().clicked() {
                    clicked = Some((row.index(), r.request_uuid));
                }
            });
        });
    if let Some((index, uuid)) = clicked {
        log.highlight(index);
        ui.memory_mut(|m| m.request_focus(table_id));
        actions.push(Action::SelectRequest(uuid));
    }
}

fn two_lines(ui: &mut Ui, top: RichText, below: RichText) {
    ui.vertical(|ui| {
        ui.spacing_mut().item_spacing.y = 2.0;
        ui.add_space(3.0);
        // One line each, cut short with "…" rather than pushing the row taller.
        ui.add(egui::Label::new(top).truncate());
        ui.add(egui::Label::new(below).truncate());
    });
}

fn row_cells(row: &mut egui_extras::TableRow<'_, '_>, r: &PhonedRow, opened: bool) {
    let p = &r.phoned;
    let at = p.phoned_at.with_timezone(&Local);
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
        two_lines(
            ui,
            RichText::new(at.format("%H:%M").to_string()).strong(),
            RichText::new(at.format("%d/%m/%Y").to_string()).color(widgets::MUTED),
        );
    });
    row.col(|ui| {
        two_lines(
            ui,
            fonts::downtime_id_text(r.downtime_id.grouped(), 15.0)
                .color(ui.visuals().strong_text_color()),
            RichText::new(format!(
                "{} · {}",
                r.priority.label(),
                fonts::display_text(&r.ward)
            ))
            .color(widgets::MUTED),
        );
    });
    row.col(|ui| {
        let identifiers = r
            .patient
            .strip_prefix(r.patient_name.as_str())
            .unwrap_or(&r.patient)
            .trim_start_matches(", ");
        two_lines(
            ui,
            RichText::new(fonts::display_text(&r.patient_name)).strong(),
            RichText::new(fonts::display_text(identifiers)).color(widgets::MUTED),
        );
    });
    row.col(|ui| {
        two_lines(
            ui,
            RichText::new(format!(
                "{}: {}",
                fonts::display_text(&p.test),
                fonts::display_text(&p.summary)
            ))
            .strong(),
            RichText::new(format!(
                "by {} to {}",
                fonts::display_text(&p.phoned_by),
                fonts::display_text(&p.received_by)
            ))
            .color(widgets::MUTED),
        );
    });
    row.col(|ui| {
        super::read_back_badge(ui, p.read_back);
    });
}
