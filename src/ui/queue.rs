//! The queue: every request, filtered and sorted by the store, drawn as a virtualised table that
//! only ever asks for the rows on screen (a page at a time). Overdue requests (open emergency and
//! urgent samples older than the lab's thresholds) are flagged in colour and words and, unless
//! the lab turns it off, pinned to the top.
//!
//! Keyboard: Tab or Down from the search box reaches the table; there Up/Down (Page Up/Down, Home/End)
//! move the highlighted row and keep it in view, Enter opens it in the detail panel, and Escape
//! (handled by the panel) closes it and gives the table the focus back.

mod cache;
mod row;

use chrono::{DateTime, Duration, Utc};
use egui::{Align, Key, Modifiers, RichText, Sense, Ui};
use egui_extras::{Column, TableBuilder};
use uuid::Uuid;

pub use cache::{PAGE_SIZE, QueueCache};

use super::action::Action;
use super::widgets;
use crate::domain::overdue::OverdueThresholds;
use crate::domain::request::{ALL_PRIORITIES, Priority};
use crate::domain::status::{ALL_STATUSES, Status};
use crate::store::{QueueFilter, SortColumn, SortOrder};

const ROW_HEIGHT: f32 = 52.0;
/// Size of the downtime IDs in the table.
const ID_SIZE: f32 = 15.0;
/// The search box's label: what a query matches (the rules are in `store::search`).
pub const SEARCH_LABEL: &str = "Search: ID or part of one, NHS number, MRN, surname, forename";
/// The table's accessible name (it takes the keyboard focus as one widget).
pub const TABLE_LABEL: &str = "Requests (Up/Down to move, Enter to open)";
/// The listing is read again at least this often, so that a request that has become overdue
/// moves to the top even when its row is not on screen.
const RELIST_AFTER: Duration = Duration::seconds(60);

/// Which statuses the queue shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StatusChoice {
    /// Logged, sent or received: still needs something doing.
    #[default]
    Open,
    All,
    Only(Status),
}

impl StatusChoice {
    fn label(self) -> &'static str {
        match self {
            StatusChoice::Open => "Open (logged, sent, received)",
            StatusChoice::All => "All",
            StatusChoice::Only(s) => s.label(),
        }
    }
}

/// A scroll asked for in one frame and made in the next, once the rows it needs have been read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scroll {
    /// A new search or filter: the first rows.
    Top,
    /// A new order: wherever the highlighted row now is.
    Highlighted,
}

/// The queue's view state: filters, sort, selection and the keyboard cursor.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueState {
    pub status: StatusChoice,
    pub priority: Option<Priority>,
    pub ward: Option<String>,
    pub search: String,
    pub sort: SortColumn,
    pub order: SortOrder,
    /// Overdue requests first (most overdue at the top), then the rest in the chosen order.
    pub overdue_first: bool,
    /// The request open in the detail panel (set by the shell).
    pub selected: Option<Uuid>,
    /// Give the table the keyboard focus on the next frame (after the detail panel closes).
    pub focus_table: bool,
    /// Give the search box the keyboard focus on the next frame (the tab was just opened, F3):
    /// type to search, Down goes into the table.
    pub focus_search: bool,
    /// The highlighted row's request, once its row has been read.
    highlighted: Option<Uuid>,
    /// Where the highlighted row was last seen in the listing.
    highlighted_at: Option<u64>,
    scroll: Option<Scroll>,
}

impl Default for QueueState {
    fn default() -> Self {
        Self {
            status: StatusChoice::default(),
            priority: None,
            ward: None,
            search: String::new(),
            sort: SortColumn::default(),
            order: SortOrder::default(),
            overdue_first: true,
            selected: None,
            focus_table: false,
            focus_search: false,
            highlighted: None,
            highlighted_at: None,
            scroll: None,
        }
    }
}

/// What the rows were read for: pages of one listing never mix with another's.
#[derive(Debug, Clone, PartialEq)]
struct Listing {
    filter: QueueFilter,
    sort: SortColumn,
    order: SortOrder,
    overdue_first: bool,
}

impl Listing {
    fn of(state: &QueueState) -> Self {
        Self {
            filter: state.filter(),
            sort: state.sort,
            order: state.order,
            overdue_first: state.overdue_first,
        }
    }
}

impl QueueState {
    /// The store's filter for what is chosen on screen.
    pub fn filter(&self) -> QueueFilter {
        QueueFilter {
            statuses: match self.status {
                StatusChoice::Open => ALL_STATUSES.into_iter().filter(|s| !s.is_final()).collect(),
                StatusChoice::All => Vec::new(),
                StatusChoice::Only(s) => vec![s],
            },
            priorities: self.priority.into_iter().collect(),
            ward: self.ward.clone(),
            search: self.search.clone(),
        }
    }

    /// The request the next frame wants scrolled into view, for the cache to look for.
    fn wants_in_view(&self) -> Option<Uuid> {
        (self.scroll == Some(Scroll::Highlighted))
            .then_some(self.highlighted)
            .flatten()
    }

    /// Moves the cursor to `index`, taking the request from the row if it has been read.
    fn highlight(&mut self, index: u64, cache: &QueueCache) {
        self.highlighted_at = Some(index);
        self.highlighted = cache.row(index).map(|r| r.uuid);
    }

    /// Finds the highlighted row again after the rows were re-read (a new order, a refresh), or
    /// takes the request of a row moved to before it was read.
    fn locate_highlight(&mut self, cache: &QueueCache) {
        match (self.highlighted, self.highlighted_at) {
            (Some(uuid), at) => {
                if at.and_then(|i| cache.row(i)).map(|r| r.uuid) != Some(uuid) {
                    self.highlighted_at = cache.position(uuid);
                }
            }
            (None, Some(i)) => self.highlighted = cache.row(i).map(|r| r.uuid),
            (None, None) => {}
        }
    }
}

/// What the queue reads but does not change.
pub struct QueueData<'a> {
    pub wards: &'a [String],
    pub thresholds: &'a OverdueThresholds,
    pub now: DateTime<Utc>,
    pub detail_open: bool,
}

pub fn queue_ui(
    ui: &mut Ui,
    state: &mut QueueState,
    cache: &QueueCache,
    data: &QueueData<'_>,
    actions: &mut Vec<Action>,
) {
    let table_id = ui.make_persistent_id("queue_table_focus");
    // Asked for in the last frame, before its action re-read the rows.
    let scroll = state.scroll.take();
    if std::mem::take(&mut state.focus_table) {
        ui.memory_mut(|m| m.request_focus(table_id));
    }
    if listing_is_stale(cache, data) {
        actions.push(Action::RefreshQueue);
    }
    // Search last, right above the table: Tab goes from the box to the table, then its headers.
    filters_ui(ui, state, data.wards, actions);
    order_ui(ui, state, cache, actions);
    search_ui(ui, state, cache.count, actions);
    if let Some((_, e)) = &cache.failed {
        widgets::error_text(ui, &format!("Some rows could not be read: {e}"));
    }
    if cache.count == 0 {
        ui.add_space(20.0);
        ui.label(
            RichText::new("No requests match. Change the filters, or choose Status: All.")
                .color(widgets::MUTED),
        );
        return;
    }
    table_ui(ui, state, cache, data, table_id, scroll, actions);
}

/// Whether the rows should be read again: a minute has passed, or a row on hand has become
/// overdue (or stopped being so) since they were read, so that the overdue block and the flags
/// agree. A failed read is retried only by the minute.
fn listing_is_stale(cache: &QueueCache, data: &QueueData<'_>) -> bool {
    let Some(at) = cache.listed_at() else {
        return false;
    };
    if data.now - at >= RELIST_AFTER {
        return true;
    }
    cache.failed.is_none()
        && cache.rows().any(|r| {
            r.overdue_by(at, data.thresholds).is_some()
                != r.overdue_by(data.now, data.thresholds).is_some()
        })
}

/// The filters, and Refresh.
fn filters_ui(ui: &mut Ui, state: &mut QueueState, wards: &[String], actions: &mut Vec<Action>) {
    let before = (state.status, state.priority, state.ward.clone());
    ui.horizontal_wrapped(|ui| {
        let label = ui.label(RichText::new("Status").strong());
        egui::ComboBox::from_id_salt("status_filter")
            .selected_text(state.status.label())
            .width(230.0)
            .show_ui(ui, |ui| {
                let choices = [StatusChoice::Open, StatusChoice::All]
                    .into_iter()
                    .chain(ALL_STATUSES.into_iter().map(StatusChoice::Only));
                for choice in choices {
                    ui.selectable_value(&mut state.status, choice, choice.label());
                }
            })
            .response
            .labelled_by(label.id);
        ui.add_space(8.0);
        let label = ui.label(RichText::new("Priority").strong());
        egui::ComboBox::from_id_salt("priority_filter")
            .selected_text(state.priority.map_or("Any", Priority::label))
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut state.priority, None, "Any");
                for p in ALL_PRIORITIES {
                    ui.selectable_value(&mut state.priority, Some(p), p.label());
                }
            })
            .response
            .labelled_by(label.id);
        ui.add_space(8.0);
        let label = ui.label(RichText::new("Ward").strong());
        egui::ComboBox::from_id_salt("ward_filter")
            .selected_text(state.ward.as_deref().unwrap_or("Any"))
            .width(200.0)
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut state.ward, None, "Any");
                for w in wards {
                    ui.selectable_value(&mut state.ward, Some(w.clone()), w);
                }
            })
            .response
            .labelled_by(label.id);
        ui.add_space(8.0);
        if ui
            .button("Refresh")
            .on_hover_text("Read the queue again now")
            .clicked()
        {
            actions.push(Action::RefreshQueue);
        }
    });
    if (state.status, state.priority, state.ward.clone()) != before {
        state.scroll = Some(Scroll::Top);
        actions.push(Action::QueueChanged);
    }
}

/// The search box and the count, right above the table: Tab goes from the box to the table.
fn search_ui(ui: &mut Ui, state: &mut QueueState, count: u64, actions: &mut Vec<Action>) {
    let search_id = ui.make_persistent_id("queue_search");
    ui.horizontal_wrapped(|ui| {
        let label = ui.label(RichText::new(SEARCH_LABEL).strong());
        let search = ui
            .add(
                egui::TextEdit::singleline(&mut state.search)
                    // Its own id, so that the cursor stays in the box whatever is shown above it.
                    .id(search_id)
                    .hint_text("e.g. 000023 or Smith")
                    .desired_width(240.0),
            )
            .labelled_by(label.id);
        if std::mem::take(&mut state.focus_search) {
            search.request_focus();
        }
        ui.label(
            RichText::new(format!(
                "{count} request{}",
                if count == 1 { "" } else { "s" }
            ))
            .strong(),
        );
        if search.changed() {
            state.scroll = Some(Scroll::Top);
            actions.push(Action::QueueChanged);
        }
        // Down from the search box goes into the table, as Tab does: the first thing a hand
        // on the arrow keys tries after typing a name.
        if search.has_focus() && ui.input_mut(|i| i.consume_key(Modifiers::NONE, Key::ArrowDown)) {
            state.focus_table = true;
        }
    });
}

/// The "overdue first" switch and the order in words, so nobody has to guess why a row is on top.
fn order_ui(ui: &mut Ui, state: &mut QueueState, cache: &QueueCache, actions: &mut Vec<Action>) {
    ui.horizontal_wrapped(|ui| {
        if ui
            .checkbox(&mut state.overdue_first, "Overdue first")
            .changed()
        {
            state.scroll = Some(Scroll::Highlighted);
            actions.push(Action::QueueChanged);
        }
        ui.label(order_words(state, cache.overdue));
    });
}

/// "Order: 2 overdue first (most overdue at the top), then by collection time, newest first."
fn order_words(state: &QueueState, overdue: u64) -> String {
    let column = match state.sort {
        SortColumn::DowntimeId => "downtime ID",
        SortColumn::Patient => "patient name",
        SortColumn::Priority => "priority",
        SortColumn::Collected => "collection time",
        SortColumn::Ward => "ward",
        SortColumn::Status => "status",
    };
    let direction = direction_words(state.sort, state.order);
    if state.overdue_first {
        format!(
            "Order: {overdue} overdue pinned first (most overdue at the top), then by {column}, {direction}."
        )
    } else {
        format!(
            "Order: by {column}, {direction}. Overdue requests ({overdue}) are not pinned first."
        )
    }
}

fn direction_words(column: SortColumn, order: SortOrder) -> &'static str {
    match (column, order) {
        (SortColumn::Collected, SortOrder::Descending) => "newest first",
        (SortColumn::Collected, SortOrder::Ascending) => "oldest first",
        // The rank is the priority's position, most urgent first.
        (SortColumn::Priority, SortOrder::Ascending) => "most urgent first",
        (SortColumn::Priority, SortOrder::Descending) => "least urgent first",
        (SortColumn::Patient | SortColumn::Ward, SortOrder::Ascending) => "A to Z",
        (SortColumn::Patient | SortColumn::Ward, SortOrder::Descending) => "Z to A",
        (SortColumn::DowntimeId | SortColumn::Status, SortOrder::Ascending) => "ascending",
        (SortColumn::DowntimeId | SortColumn::Status, SortOrder::Descending) => "descending",
    }
}

/// A cursor move asked for by a key.
#[derive(Clone, Copy)]
enum Move {
    By(i64),
    First,
    Last,
}

/// The keys the focused table takes: cursor moves, and whether Enter was pressed.
fn table_keys(ui: &mut Ui, page_rows: i64) -> (Vec<Move>, bool) {
    ui.input_mut(|i| {
        let mut moves = Vec::new();
        for (key, step) in [
            (Key::ArrowDown, Move::By(1)),
            (Key::ArrowUp, Move::By(-1)),
            (Key::PageDown, Move::By(page_rows)),
            (Key::PageUp, Move::By(-page_rows)),
            (Key::Home, Move::First),
            (Key::End, Move::Last),
        ] {
            let presses = i.count_and_consume_key(Modifiers::NONE, key);
            moves.extend(std::iter::repeat_n(step, presses));
        }
        let enter = i.consume_key(Modifiers::NONE, Key::Enter);
        (moves, enter)
    })
}

fn table_ui(
    ui: &mut Ui,
    state: &mut QueueState,
    cache: &QueueCache,
    data: &QueueData<'_>,
    table_id: egui::Id,
    scroll: Option<Scroll>,
    actions: &mut Vec<Action>,
) {
    let total = cache.count;
    let last = total.saturating_sub(1);
    state.locate_highlight(cache);

    // One focus target for the whole table: rows are not Tab stops of their own.
    let area = ui.available_rect_before_wrap();
    let table = ui.interact(area, table_id, Sense::focusable_noninteractive());
    table.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Grid, true, TABLE_LABEL));
    let focused = table.has_focus();
    if focused {
        ui.memory_mut(|m| {
            m.set_focus_lock_filter(
                table_id,
                egui::EventFilter {
                    vertical_arrows: true,
                    escape: true,
                    ..Default::default()
                },
            );
        });
    }

    let mut scroll_to: Option<(u64, Option<Align>)> = None;
    let mut to_top = scroll == Some(Scroll::Top);
    if scroll == Some(Scroll::Highlighted) {
        match state.highlighted_at {
            Some(i) => scroll_to = Some((i, Some(Align::Center))),
            None => to_top = true,
        }
    }
    if focused {
        let page_rows = ((area.height() / ROW_HEIGHT) as i64 - 2).max(1);
        let (moves, enter) = table_keys(ui, page_rows);
        for m in moves {
            let from = state.highlighted_at;
            let index = match (m, from) {
                (Move::First, _) | (Move::By(_), None) => 0,
                (Move::Last, _) => last,
                (Move::By(step), Some(i)) => i.saturating_add_signed(step).min(last),
            };
            state.highlight(index, cache);
            scroll_to = Some((index, None));
        }
        if enter && let Some(uuid) = state.highlighted {
            actions.push(Action::SelectRequest(uuid));
        }
    }

    let total_rows = usize::try_from(total).unwrap_or(usize::MAX);
    let mut wanted_pages: Vec<u64> = Vec::new();
    let mut clicked: Option<Uuid> = None;
    let now = data.now;
    // A click anywhere on a row selects it (selectable text would take the click).
    ui.style_mut().interaction.selectable_labels = false;
    ui.spacing_mut().item_spacing.x = 6.0;
    let mut builder = TableBuilder::new(ui)
        .id_salt("queue_table")
        .striped(true)
        // Clicks only: the table as a whole is the one Tab stop.
        .sense(Sense::CLICK)
        .animate_scrolling(false)
        .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
        .column(Column::exact(152.0))
        .column(Column::remainder().at_least(140.0).clip(true))
        .column(Column::remainder().at_least(50.0).clip(true))
        .column(Column::exact(112.0))
        // Wide enough for the longest overdue badge ("OVERDUE 23 h 59 min").
        .column(Column::exact(196.0))
        .column(Column::remainder().at_least(50.0).clip(true))
        .column(Column::exact(118.0));
    if to_top {
        builder = builder.vertical_scroll_offset(0.0);
    } else if let Some((row, align)) = scroll_to {
        builder = builder.scroll_to_row(usize::try_from(row).unwrap_or(usize::MAX), align);
    }
    builder
        .header(30.0, |mut header| {
            for (title, column) in [
                ("Downtime ID", Some(SortColumn::DowntimeId)),
                ("Patient", Some(SortColumn::Patient)),
                ("Tests", None),
                ("Priority", Some(SortColumn::Priority)),
                ("Collected", Some(SortColumn::Collected)),
                ("Ward", Some(SortColumn::Ward)),
                ("Status", Some(SortColumn::Status)),
            ] {
                header.col(|ui| {
                    header_cell(ui, state, title, column, actions);
                });
            }
        })
        .body(|body| {
            body.rows(ROW_HEIGHT, total_rows, |mut row| {
                let index = row.index() as u64;
                let Some(r) = cache.row(index) else {
                    let page = index - index % PAGE_SIZE;
                    if !wanted_pages.contains(&page) && !cache.has_failed(page) {
                        wanted_pages.push(page);
                    }
                    row.col(|ui| {
                        ui.label(RichText::new("loading…").color(widgets::MUTED));
                    });
                    return;
                };
                let opened = data.detail_open && state.selected == Some(r.uuid);
                row.set_selected(state.highlighted == Some(r.uuid));
                row::row_cells(&mut row, r, opened, now, data.thresholds);
                if row.response().clicked() {
                    clicked = Some(r.uuid);
                }
            });
        });
    if let Some(uuid) = clicked {
        state.highlighted = Some(uuid);
        state.highlighted_at = cache.position(uuid);
        ui.memory_mut(|m| m.request_focus(table_id));
        actions.push(Action::SelectRequest(uuid));
    }
    actions.extend(wanted_pages.into_iter().map(Action::LoadPage));
}

fn header_cell(
    ui: &mut Ui,
    state: &mut QueueState,
    title: &str,
    column: Option<SortColumn>,
    actions: &mut Vec<Action>,
) {
    let Some(column) = column else {
        ui.label(RichText::new(title).strong());
        return;
    };
    let sorted = (state.sort == column).then_some(state.order);
    let order_words = match sorted {
        None => String::new(),
        Some(order) => format!(", {}", direction_words(column, order)),
    };
    let clicked = ui
        .add(egui::Button::new(RichText::new(title).strong()).frame(false))
        .on_hover_text(format!("Sort by {}{order_words}", title.to_lowercase()))
        .clicked();
    if let Some(order) = sorted {
        // A painted triangle: the default fonts have no arrow glyphs.
        let (rect, _) = ui.allocate_exact_size(egui::vec2(12.0, 12.0), Sense::hover());
        let c = rect.center();
        let points = match order {
            SortOrder::Ascending => vec![
                c + egui::vec2(-5.0, 4.0),
                c + egui::vec2(5.0, 4.0),
                c + egui::vec2(0.0, -4.0),
            ],
            SortOrder::Descending => vec![
                c + egui::vec2(-5.0, -4.0),
                c + egui::vec2(5.0, -4.0),
                c + egui::vec2(0.0, 4.0),
            ],
        };
        ui.painter().add(egui::Shape::convex_polygon(
            points,
            ui.visuals().strong_text_color(),
            egui::Stroke::NONE,
        ));
    }
    if clicked {
        if state.sort == column {
            state.order = match state.order {
                SortOrder::Ascending => SortOrder::Descending,
                SortOrder::Descending => SortOrder::Ascending,
            };
        } else {
            state.sort = column;
            // Newest first for time; most urgent first for priority; A-Z otherwise.
            state.order = match column {
                SortColumn::Collected => SortOrder::Descending,
                _ => SortOrder::Ascending,
            };
        }
        // The highlighted request stays in view wherever the new order puts it.
        state.scroll = Some(Scroll::Highlighted);
        actions.push(Action::QueueChanged);
    }
}
