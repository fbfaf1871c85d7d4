//! The conflicts tab (F7): every clash between PCs' records that needs a person, with both sides
//! side by side and the decisions allowed for its kind. Up/Down chooses a conflict, a number key
//! chooses a decision, a note may be typed, Enter (or Record decision) records it as a new event
//! that travels in the next handover bundle. Settled conflicts are listed below, with who
//! decided what.
//!
//! The list is read on a thread of its own, on its own connection (`Store::open_beside`):
//! when the app starts, and whenever the app's cached rows are refreshed after a save, a status
//! change, an import or a settlement ([`ConflictsCache::mark_stale`]). A frame never waits for
//! it; the top bar's "N conflicts" counts the last list read.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, TryRecvError};

use chrono::{DateTime, Local};
use egui::{Key, Modifiers, RichText, Ui};

use super::action::Action;
use super::{fonts, widgets};
use crate::domain::settle::{Clash, ConflictKey};
use crate::error::error_chain;
use crate::store::{ConflictScan, ListedConflict, Side, Store, StoreError};

/// The note field's accessible name (tests find it by this).
pub const NOTE_LABEL: &str = "Note (optional)";
/// The confirm button's text.
pub const CONFIRM: &str = "Record decision (Enter)";

/// What a reading on the conflicts thread answers.
type Reading = Result<(ConflictScan, Vec<ListedConflict>), StoreError>;

/// The conflicts as last read, and the reading under way.
#[derive(Default)]
pub struct ConflictsCache {
    /// Open and settled, in downtime-ID order.
    list: Vec<ListedConflict>,
    job: Option<Receiver<Reading>>,
    /// What the last reading folded: the next folds again only what changed since.
    scan: Option<ConflictScan>,
    /// The list is older than the last change: read it again (a reading under way may have
    /// started before the change).
    stale: bool,
    /// Read at least once.
    read: bool,
    error: Option<String>,
    /// Settled here since the reading under way started: still shown settled when a reading
    /// that began before them comes back.
    settled_since: Vec<(ConflictKey, crate::store::SettledBy)>,
}

impl ConflictsCache {
    /// Asks for the list to be read again (after a save, a status change, an import).
    pub fn mark_stale(&mut self) {
        self.stale = true;
    }

    /// The conflicts that need a person.
    pub fn open(&self) -> impl Iterator<Item = &ListedConflict> {
        self.list.iter().filter(|c| c.is_open())
    }

    /// How many need a person (the top bar's count).
    pub fn open_count(&self) -> usize {
        self.open().count()
    }

    /// The settled ones, with who decided what.
    pub fn settled(&self) -> impl Iterator<Item = &ListedConflict> {
        self.list.iter().filter(|c| !c.is_open())
    }

    /// Whether a reading is under way.
    pub fn reading(&self) -> bool {
        self.job.is_some()
    }

    /// Called every frame: takes a finished reading and starts the next when the list is stale
    /// (or was never read); while one runs, the window is drawn again soon to take its answer.
    pub fn tick(&mut self, ctx: &egui::Context, db_path: &Path) {
        self.poll();
        if self.job.is_none() && (self.stale || !self.read) && !db_path.as_os_str().is_empty() {
            self.start(db_path.to_owned());
        }
        if self.job.is_some() {
            // Longer than a test harness's dozen frames: kittest settles between answers.
            ctx.request_repaint_after(std::time::Duration::from_millis(300));
        }
    }

    fn start(&mut self, db_path: PathBuf) {
        let (tx, rx) = mpsc::channel();
        let previous = self.scan.take().unwrap_or_default();
        self.stale = false;
        self.read = true;
        self.settled_since.clear();
        let spawned = std::thread::Builder::new()
            .name("conflicts".into())
            .spawn(move || {
                let list = Store::open_beside(&db_path).and_then(|s| s.rescan_conflicts(previous));
                // The window may have closed first; nobody is left to tell.
                let _ = tx.send(list);
            });
        match spawned {
            Ok(_) => self.job = Some(rx),
            Err(e) => self.error = Some(format!("The conflicts could not be read: {e}")),
        }
    }

    fn poll(&mut self) {
        let Some(rx) = &self.job else {
            return;
        };
        let answer = match rx.try_recv() {
            Err(TryRecvError::Empty) => return,
            Ok(answer) => answer,
            Err(TryRecvError::Disconnected) => Err(StoreError::Corrupt(
                "the reading of the conflicts stopped without an answer".into(),
            )),
        };
        self.job = None;
        match answer {
            Ok((scan, list)) => {
                self.error = None;
                self.scan = Some(scan);
                self.list = list;
                for (key, by) in std::mem::take(&mut self.settled_since) {
                    self.settled_here(key, by);
                }
            }
            Err(e) => {
                self.error = Some(format!(
                    "The conflicts could not be read: {}",
                    error_chain(&e)
                ));
            }
        }
    }

    /// Shows `key` as settled at once, before the next reading confirms it.
    pub fn settled_here(&mut self, key: ConflictKey, by: crate::store::SettledBy) {
        if let Some(c) = self
            .list
            .iter_mut()
            .find(|c| c.key == key && c.settled.is_none())
        {
            c.settled = Some(by.clone());
        }
        if self.job.is_some() {
            self.settled_since.push((key, by));
        }
        self.stale = true;
    }
}

/// The tab's view state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConflictsState {
    /// The conflict chosen (by key: the list may be read again under it).
    pub selected: Option<ConflictKey>,
    /// The decision chosen for it (index into its decisions).
    pub decision: Option<usize>,
    pub note: String,
    /// Why the last Enter recorded nothing, or what the last settlement did.
    pub message: Option<Result<String, String>>,
    /// Show the settled conflicts too.
    pub show_settled: bool,
    /// Put the cursor in the note on the next frame (a decision was just chosen by its key).
    focus_note: bool,
}

impl ConflictsState {
    /// Chooses another conflict: its decision and note start empty.
    fn select(&mut self, key: Option<ConflictKey>) {
        if self.selected != key {
            self.selected = key;
            self.decision = None;
            self.note.clear();
        }
    }
}

/// The tab in the window's central panel.
pub fn conflicts_tab(
    ui: &mut Ui,
    (state, cache): (&mut ConflictsState, &ConflictsCache),
    now: DateTime<Local>,
    actions: &mut Vec<Action>,
) {
    egui::CentralPanel::default().show(ui, |ui| conflicts_ui(ui, state, cache, now, actions));
}

pub fn conflicts_ui(
    ui: &mut Ui,
    state: &mut ConflictsState,
    cache: &ConflictsCache,
    now: DateTime<Local>,
    actions: &mut Vec<Action>,
) {
    let open: Vec<&ListedConflict> = cache.open().collect();
    if !open.iter().any(|c| Some(c.key) == state.selected) {
        state.select(open.first().map(|c| c.key));
    }
    let note_id = egui::Id::unique("conflict_note");
    keys(ui, state, &open, note_id, actions);
    ui.horizontal(|ui| {
        ui.heading(RichText::new("Conflicts between PCs' records").strong());
        if cache.reading() {
            ui.label(RichText::new("reading…").color(widgets::MUTED));
        }
    });
    ui.label(
        RichText::new(
            "Up/Down chooses a conflict and 1, 2 … its decision; type a note if you wish (Esc \
             leaves it), then Enter records it. The decision travels to the other PCs in this \
             PC's next handover bundle.",
        )
        .color(widgets::MUTED),
    );
    if let Some(e) = &cache.error {
        ui.colored_label(widgets::ERROR_RED, e);
    }
    if let Some(message) = &state.message {
        let (text, colour) = match message {
            Ok(t) => (t, widgets::OK_GREEN),
            Err(t) => (t, widgets::ERROR_RED),
        };
        ui.label(RichText::new(text).color(colour).strong());
    }
    ui.add_space(6.0);
    let settled: Vec<&ListedConflict> = cache.settled().collect();
    egui::ScrollArea::vertical()
        .id_salt("conflicts")
        .auto_shrink([false, false])
        .show(ui, |ui| {
            if open.is_empty() {
                ui.label(
                    RichText::new("No conflicts need a person.")
                        .color(widgets::OK_GREEN)
                        .strong()
                        .size(18.0),
                );
            }
            for c in &open {
                let chosen = Some(c.key) == state.selected;
                list_row(ui, state, c, chosen);
                if chosen {
                    chosen_ui(ui, state, c, note_id, now, actions);
                }
            }
            ui.add_space(10.0);
            ui.checkbox(
                &mut state.show_settled,
                format!("Show settled conflicts ({})", settled.len()),
            );
            if state.show_settled {
                for c in &settled {
                    settled_ui(ui, c, now);
                }
            }
        });
}

/// Up/Down, the number keys and Enter, taken before the widgets see them (a number typed into
/// the note stays in the note).
fn keys(
    ui: &mut Ui,
    state: &mut ConflictsState,
    open: &[&ListedConflict],
    note_id: egui::Id,
    actions: &mut Vec<Action>,
) {
    let in_front = ui.ctx().memory(|m| m.is_above_modal_layer(ui.layer_id()));
    if !in_front {
        return;
    }
    let typing = ui.ctx().memory(|m| m.has_focus(note_id));
    let at = open.iter().position(|c| Some(c.key) == state.selected);
    let (up, down, number, enter) = ui.input_mut(|i| {
        let number = if typing {
            None
        } else {
            widgets::NUMBER_KEYS
                .iter()
                .position(|k| i.consume_key(Modifiers::NONE, *k))
        };
        (
            i.consume_key(Modifiers::NONE, Key::ArrowUp),
            i.consume_key(Modifiers::NONE, Key::ArrowDown),
            number,
            !typing && i.consume_key(Modifiers::NONE, Key::Enter),
        )
    });
    if up || down {
        let next = match at {
            Some(n) if up => n.saturating_sub(1),
            Some(n) => (n + 1).min(open.len().saturating_sub(1)),
            None => 0,
        };
        state.select(open.get(next).map(|c| c.key));
    }
    let chosen = open.iter().find(|c| Some(c.key) == state.selected);
    if let (Some(n), Some(c)) = (number, chosen)
        && n < c.decisions.len()
    {
        state.decision = Some(n);
        state.message = None;
        state.focus_note = true;
    }
    if enter && let Some(c) = chosen {
        confirm(state, c, actions);
    }
}

/// Records the chosen decision, or says what is missing.
fn confirm(state: &mut ConflictsState, c: &ListedConflict, actions: &mut Vec<Action>) {
    match state.decision.and_then(|n| c.decisions.get(n)) {
        Some(decision) => actions.push(Action::SettleConflict {
            key: c.key,
            decision: *decision,
            note: state.note.clone(),
        }),
        None => {
            state.message = Some(Err(format!(
                "Choose a decision first: press {} for one of those listed.",
                (1..=c.decisions.len())
                    .map(|n| n.to_string())
                    .collect::<Vec<_>>()
                    .join(" or ")
            )));
        }
    }
}

fn title(c: &ListedConflict) -> String {
    let on = c
        .downtime_id
        .as_ref()
        .map_or_else(|| format!("request {}", c.request_uuid), |id| id.grouped());
    format!("{on} · {}", c.clash.title())
}

fn list_row(ui: &mut Ui, state: &mut ConflictsState, c: &ListedConflict, chosen: bool) {
    let text = RichText::new(format!("[{}]  {}", c.short_key, title(c)))
        .size(16.0)
        .strong()
        .family(fonts::downtime_id_family());
    let text = if c.clash == Clash::DuplicateId {
        text.color(widgets::ERROR_RED)
    } else {
        text
    };
    let row = ui.add(
        egui::Button::selectable(chosen, text).min_size(egui::vec2(ui.available_width(), 28.0)),
    );
    if row.clicked() {
        state.select(Some(c.key));
    }
    if chosen && row.changed() {
        row.scroll_to_me(None);
    }
}

/// The chosen conflict: both sides, the decisions, the note and Record decision.
fn chosen_ui(
    ui: &mut Ui,
    state: &mut ConflictsState,
    c: &ListedConflict,
    note_id: egui::Id,
    now: DateTime<Local>,
    actions: &mut Vec<Action>,
) {
    egui::Frame::new()
        .fill(egui::Color32::WHITE)
        .stroke(egui::Stroke::new(1.0, widgets::FOCUS_BLUE))
        .inner_margin(egui::Margin::same(10))
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.add(egui::Label::new(fonts::display_text(&c.text).into_owned()).wrap());
            ui.add_space(6.0);
            sides_ui(ui, c, now);
            ui.add_space(8.0);
            ui.label(RichText::new("Decision").strong());
            for (n, d) in c.decisions.iter().enumerate() {
                let chosen = state.decision == Some(n);
                let b = egui::Button::selectable(
                    chosen,
                    RichText::new(format!("{}   {}", n + 1, d.label())).size(16.0),
                );
                if ui.add(b).clicked() {
                    state.decision = Some(n);
                    state.message = None;
                }
            }
            ui.add_space(6.0);
            ui.horizontal(|ui| {
                let l = ui.label(NOTE_LABEL);
                let r = ui
                    .add(
                        egui::TextEdit::singleline(&mut state.note)
                            .id(note_id)
                            .hint_text("who was told, which forms were checked")
                            .desired_width(420.0),
                    )
                    .labelled_by(l.id);
                if std::mem::take(&mut state.focus_note) {
                    r.request_focus();
                }
                let entered = r.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter));
                let confirm_button = ui.add_enabled(
                    state.decision.is_some(),
                    egui::Button::new(RichText::new(CONFIRM).strong()),
                );
                if entered || confirm_button.clicked() {
                    confirm(state, c, actions);
                }
            });
        });
}

/// The event and the other side, side by side.
fn sides_ui(ui: &mut Ui, c: &ListedConflict, now: DateTime<Local>) {
    let (this, other) = match c.clash {
        Clash::DuplicateId => (
            "Not shown in the queue (DUPLICATE ID)",
            "Shown in the queue",
        ),
        Clash::SameIdDiffers => ("Arrived", "Held here (counts)"),
        Clash::CreatedTwice => ("Second creation", "First creation (counts)"),
        Clash::Orphan | Clash::OtherRequest | Clash::Refused | Clash::CancelledAfterReceipt => {
            ("This", "The other side")
        }
    };
    ui.columns(2, |cols| {
        side_ui(&mut cols[0], this, Some(&c.this), now);
        side_ui(&mut cols[1], other, c.other.as_ref(), now);
    });
}

fn side_ui(ui: &mut Ui, heading: &str, side: Option<&Side>, now: DateTime<Local>) {
    egui::Frame::new()
        .fill(widgets::WARNING_FILL)
        .inner_margin(egui::Margin::same(8))
        .corner_radius(3.0)
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.label(RichText::new(heading).color(widgets::WARNING_TEXT).strong());
            let Some(s) = side else {
                ui.label("Nothing: its creation has not reached this PC.");
                return;
            };
            ui.add(egui::Label::new(RichText::new(fonts::display_text(&s.what)).strong()).wrap());
            let at = s.at.with_timezone(&Local);
            let day = if at.date_naive() == now.date_naive() {
                "today".to_owned()
            } else {
                at.format("%d/%m/%Y").to_string()
            };
            ui.label(format!(
                "on {} by {}, {} {day}",
                s.workstation,
                fonts::display_text(&s.user),
                at.format("%H:%M")
            ));
            if let Some(r) = &s.request {
                ui.add(egui::Label::new(fonts::display_text(r).into_owned()).wrap());
            }
        });
}

fn settled_ui(ui: &mut Ui, c: &ListedConflict, now: DateTime<Local>) {
    let Some(by) = &c.settled else {
        return;
    };
    let at = by.at.with_timezone(&Local);
    let when = if at.date_naive() == now.date_naive() {
        at.format("%H:%M today").to_string()
    } else {
        at.format("%H:%M %d/%m/%Y").to_string()
    };
    let note = if by.note.is_empty() {
        String::new()
    } else {
        format!(" ({})", fonts::display_text(&by.note))
    };
    ui.add(
        egui::Label::new(
            RichText::new(format!(
                "[{}]  {} — SETTLED on {} by {} at {when}: {}{note}",
                c.short_key,
                title(c),
                by.workstation,
                fonts::display_text(&by.user),
                by.decision.label()
            ))
            .color(widgets::MUTED),
        )
        .wrap(),
    );
    for o in &c.overruled {
        ui.label(
            RichText::new(format!(
                "      also settled on {} by {}: {} (the first decision counts)",
                o.workstation,
                fonts::display_text(&o.user),
                o.decision.label()
            ))
            .color(widgets::MUTED),
        );
    }
}

/// The words of the notice after a settlement.
pub fn settled_words(outcome: &crate::store::SettleOutcome) -> String {
    let on = outcome
        .downtime_id
        .as_ref()
        .map_or_else(|| "the request".to_owned(), |id| id.grouped());
    let mut text = format!("Settled on {on}: {}.", outcome.decision.label());
    if let Some(new) = &outcome.reregistered_as {
        text.push_str(&format!(
            " It is re-registered as {}: write it on its paper form and sample bag.",
            new.grouped()
        ));
    } else if outcome.cancelled {
        text.push_str(" The duplicate is cancelled.");
    }
    text
}

/// Records a decision the tab asked for (key, decision, note, user): the tab says what it did,
/// or why nothing was recorded. Returns whether it was recorded; a store failure is the
/// caller's to report.
pub fn settle(
    store: &mut Store,
    cache: &mut ConflictsCache,
    state: &mut ConflictsState,
    (key, decision, note, user): (ConflictKey, crate::domain::settle::Decision, &str, &str),
    now: chrono::DateTime<chrono::Utc>,
) -> Result<bool, StoreError> {
    match store.settle_conflict(&key.full(), decision, note, user, now) {
        Ok(done) => {
            state.message = Some(Ok(settled_words(&done)));
            state.select(None);
            let workstation = store.setup()?.map(|s| s.workstation);
            if let Some(workstation) = workstation {
                cache.settled_here(
                    key,
                    crate::store::SettledBy {
                        decision,
                        note: note.trim().to_owned(),
                        workstation,
                        user: user.to_owned(),
                        at: now,
                        other_request: None,
                    },
                );
            }
            Ok(true)
        }
        Err(crate::store::SettleError::Store(e)) => Err(e),
        Err(refused) => {
            state.message = Some(Err(format!("Not recorded: {}", error_chain(&refused))));
            Ok(false)
        }
    }
}
