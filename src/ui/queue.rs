//! The queue: every request, filtered and sorted by the store, drawn as a virtualised table that
//! only ever asks for the rows on screen (a page at a time).

use std::collections::BTreeMap;

use chrono::{DateTime, Local, Utc};
use egui::{RichText, Ui};
use egui_extras::{Column, TableBuilder};
use uuid::Uuid;

use super::action::Action;
use super::widgets;
use crate::domain::overdue::OverdueThresholds;
use crate::domain::nhs_number::NhsNumber;
use crate::domain::request::{ALL_PRIORITIES, Priority};
use crate::domain::status::{ALL_STATUSES, Status};
use crate::store::{QueueFilter, QueueRow, SortColumn, SortOrder, Store, StoreError};

/// Rows fetched from the store at a time for the queue.
pub const PAGE_SIZE: u64 = 100;
/// Pages kept in memory; the farthest from the last one asked for is dropped first.
const MAX_PAGES: usize = 8;

const ROW_HEIGHT: f32 = 46.0;

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

/// The queue's view state: filters, sort and selection.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct QueueState {
    pub status: StatusChoice,
    pub priority: Option<Priority>,
    pub ward: Option<String>,
    pub search: String,
    pub sort: SortColumn,
    pub order: SortOrder,
    pub selected: Option<Uuid>,
    /// Give the table the keyboard focus on the next frame (after the detail panel closes).
    pub focus_table: bool,
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
}

/// Rows read from the store: the matching count, and pages of [`PAGE_SIZE`] keyed by offset.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueueCache {
    pub count: u64,
    pub pages: BTreeMap<u64, Vec<QueueRow>>,
    /// A page that could not be read, and why: shown once, and not asked for again every frame
    /// (a change of filter or sort, or Refresh, tries again).
    pub failed: Option<(u64, String)>,
}

impl QueueCache {
    /// Forgets every page and reads the count and the first page again.
    pub fn reload(
        &mut self,
        store: &Store,
        state: &QueueState,
        now: DateTime<Utc>,
        thresholds: &OverdueThresholds,
    ) -> Result<(), StoreError> {
        let filter = state.filter();
        self.count = store.queue_count(&filter)?;
        self.pages.clear();
        self.failed = None;
        let first = fetch(store, state, 0, now, thresholds)?;
        self.pages.insert(0, first);
        Ok(())
    }

    /// Reads the page at `offset` unless it is cached or has already failed.
    pub fn load_page(
        &mut self,
        store: &Store,
        state: &QueueState,
        offset: u64,
        now: DateTime<Utc>,
        thresholds: &OverdueThresholds,
    ) {
        if self.pages.contains_key(&offset) || self.failed.as_ref().is_some_and(|f| f.0 == offset) {
            return;
        }
        match fetch(store, state, offset, now, thresholds) {
            Ok(rows) => {
                self.pages.insert(offset, rows);
                trim_pages(&mut self.pages, offset);
            }
            Err(e) => self.failed = Some((offset, crate::error::error_chain(&e))),
        }
    }

    fn row(&self, index: u64) -> Option<&QueueRow> {
        let offset = index - index % PAGE_SIZE;
        self.pages
            .get(&offset)
            .and_then(|page| page.get((index - offset) as usize))
    }
}

/// One page of rows as the queue is sorted now: overdue requests first.
fn fetch(
    store: &Store,
    state: &QueueState,
    offset: u64,
    _now: DateTime<Utc>,
    _thresholds: &OverdueThresholds,
) -> Result<Vec<QueueRow>, StoreError> {
    store.queue_page(&state.filter(), state.sort, state.order, offset, PAGE_SIZE)
}

fn trim_pages(pages: &mut BTreeMap<u64, Vec<QueueRow>>, around: u64) {
    while pages.len() > MAX_PAGES {
        let farthest = pages
            .keys()
            .copied()
            .max_by_key(|k| k.abs_diff(around))
            .unwrap_or(around);
        pages.remove(&farthest);
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
    let now = data.now.with_timezone(&Local);
    filters_ui(ui, state, cache.count, data.wards, actions);
    if let Some((_, e)) = &cache.failed {
        widgets::error_text(ui, &format!("Some rows could not be read: {e}"));
    }
    ui.add_space(6.0);
    if cache.count == 0 {
        ui.add_space(20.0);
        ui.label(
            RichText::new("No requests match. Change the filters, or choose Status: All.")
                .color(widgets::MUTED),
        );
        return;
    }
    table_ui(ui, state, cache, now, actions);
}

fn filters_ui(
    ui: &mut Ui,
    state: &mut QueueState,
    count: u64,
    wards: &[String],
    actions: &mut Vec<Action>,
) {
    let before = (
        state.status,
        state.priority,
        state.ward.clone(),
        state.search.clone(),
    );
    ui.horizontal(|ui| {
        let label = ui.label(RichText::new("Search ID / NHS / MRN / surname").strong());
        ui.add(
            egui::TextEdit::singleline(&mut state.search)
                .hint_text("e.g. RXX-W01-000123 or Smith")
                .desired_width(260.0),
        )
        .labelled_by(label.id);
        ui.label(
            RichText::new(format!(
                "{count} request{}",
                if count == 1 { "" } else { "s" }
            ))
            .strong(),
        );
    });
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
    });
    if (
        state.status,
        state.priority,
        state.ward.clone(),
        state.search.clone(),
    ) != before
    {
        actions.push(Action::QueueChanged);
    }
}

fn table_ui(
    ui: &mut Ui,
    state: &mut QueueState,
    cache: &QueueCache,
    now: DateTime<Local>,
    actions: &mut Vec<Action>,
) {
    let total = usize::try_from(cache.count).unwrap_or(usize::MAX);
    let mut wanted_pages: Vec<u64> = Vec::new();
    // A click anywhere on a row selects it (selectable text would take the click).
    ui.style_mut().interaction.selectable_labels = false;
    TableBuilder::new(ui)
        .id_salt("queue_table")
        .striped(true)
        .sense(egui::Sense::click())
        .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
        .column(Column::exact(160.0))
        .column(Column::remainder().at_least(150.0).clip(true))
        .column(Column::remainder().at_least(70.0).clip(true))
        .column(Column::exact(125.0))
        .column(Column::exact(115.0))
        .column(Column::remainder().at_least(70.0).clip(true))
        .column(Column::exact(130.0))
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
            body.rows(ROW_HEIGHT, total, |mut row| {
                let index = row.index() as u64;
                let Some(r) = cache.row(index) else {
                    let page = index - index % PAGE_SIZE;
                    if !wanted_pages.contains(&page) {
                        wanted_pages.push(page);
                    }
                    row.col(|ui| {
                        ui.label(RichText::new("loading…").color(widgets::MUTED));
                    });
                    return;
                };
                row.set_selected(state.selected == Some(r.uuid));
                row.col(|ui| {
                    ui.label(RichText::new(r.downtime_id.grouped()).monospace());
                });
                row.col(|ui| {
                    ui.vertical(|ui| {
                        ui.label(RichText::new(patient_name(r)).strong());
                        ui.label(RichText::new(identifier(r)).small().color(widgets::MUTED));
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
                    let local = r.collected_at.with_timezone(&Local);
                    let minutes = (now.with_timezone(&chrono::Utc) - r.collected_at).num_minutes();
                    ui.vertical(|ui| {
                        ui.label(local.format("%H:%M %d/%m").to_string());
                        ui.label(
                            RichText::new(format!("{} ago", widgets::age(minutes)))
                                .small()
                                .color(widgets::MUTED),
                        );
                    });
                });
                row.col(|ui| {
                    ui.label(&r.ward);
                });
                row.col(|ui| {
                    ui.label(widgets::status_text(r.status));
                });
                if row.response().clicked() {
                    actions.push(Action::SelectRequest(r.uuid));
                }
            });
        });
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
        Some(SortOrder::Ascending) => ", ascending".into(),
        Some(SortOrder::Descending) => ", descending".into(),
    };
    let clicked = ui
        .add(egui::Button::new(RichText::new(title).strong()).frame(false))
        .on_hover_text(format!("Sort by {}{order_words}", title.to_lowercase()))
        .clicked();
    if let Some(order) = sorted {
        // A painted triangle: the default fonts have no arrow glyphs.
        let (rect, _) = ui.allocate_exact_size(egui::vec2(12.0, 12.0), egui::Sense::hover());
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
        actions.push(Action::QueueChanged);
    }
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
