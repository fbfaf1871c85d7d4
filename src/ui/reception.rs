//! The lab's reception screen: a sample arrives, its label is scanned (a barcode scanner types the
//! downtime ID and Enter), the request shows with its priority and the tubes to expect, and Enter
//! receives it; F8 rejects it with a reason chosen by its number. The scan field has the cursor
//! whenever no reason is being chosen, so many samples go through with no mouse: each scan leaves
//! one line, newest first, and the session's tally.
//!
//! A sample whose request has not reached this PC yet is reported as not found; Ctrl+R then
//! receives it from its paper form (`early.rs`), and it is linked when its request arrives.

mod early;
mod scan;
mod show;

use chrono::{DateTime, Local, Utc};
use egui::{Key, Modifiers, RichText, Ui};

pub use early::{EARLY_DOB_LABEL, EARLY_NHS_LABEL, EARLY_SURNAME_LABEL, EarlyForm};
pub use scan::{already_words, look_up, record, record_early};

use super::action::Action;
use super::{fonts, widgets};
use crate::domain::downtime_id::DowntimeId;
use crate::domain::status::Transition;
use crate::store::{EarlyReceipt, RequestDetail};

/// The scan field's accessible name (tests find it by this).
pub const SCAN_LABEL: &str = "Scan or type downtime ID";
/// The reason typed when "Other" is chosen.
pub const OTHER_LABEL: &str = "Other reason";
/// The reject reasons, in the order of their number keys (1 to 9); the last asks for text.
pub const REJECT_REASONS: [&str; 9] = [
    "Unlabelled",
    "Label mismatch",
    "Haemolysed",
    "Clotted",
    "Insufficient",
    "Wrong tube",
    "Leaked",
    "Too old",
    "Other",
];
const OTHER: usize = REJECT_REASONS.len() - 1;
/// Lines of the session's log kept on screen (the tally counts them all).
const LOG_KEPT: usize = 200;

/// What one scan, receive or reject came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Received,
    Rejected,
    /// Misread (bad check character, wrong length) or not on this PC.
    NotFound,
    /// Received, rejected, cancelled or re-entered before: nothing recorded.
    Already,
    /// A request on screen was left when the next scan came.
    Skipped,
    /// The store refused the change.
    Refused,
}

/// One line of the session's log.
#[derive(Debug, Clone, PartialEq)]
pub struct Logged {
    pub outcome: Outcome,
    pub text: String,
}

/// The session's counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tally {
    pub received: u32,
    pub rejected: u32,
    pub not_found: u32,
    pub already: u32,
}

/// The request found by the last scan.
#[derive(Debug, Clone, PartialEq)]
pub struct Shown {
    pub detail: RequestDetail,
    /// It can still be received (or rejected) here.
    pub receivable: bool,
}

/// The reason list, open after F8.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Rejecting {
    /// The highlighted reason (index into [`REJECT_REASONS`]).
    pub chosen: usize,
    pub other: String,
    /// Why Enter did not record (Other with nothing typed).
    pub problem: Option<String>,
    /// The number key pressed in the last frame: its text may come a frame after the key, and
    /// must not land in the Other field.
    number_text: Option<String>,
    /// The list was last scrolled into sight with (true) or without the Other field: scrolled
    /// again only when that changes (every frame would keep the window repainting).
    scrolled_with_other: Option<bool>,
}

/// The reception screen's view state.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReceptionState {
    pub input: String,
    /// Put the cursor in the scan field on the next frame.
    pub focus_input: bool,
    pub shown: Option<Shown>,
    pub reject: Option<Rejecting>,
    /// The last outcome, shown large under the scan field.
    pub last: Option<Logged>,
    /// This session's lines, newest first.
    pub log: Vec<Logged>,
    pub tally: Tally,
    /// The last scan: a valid ID whose request is not on this PC (Ctrl+R receives it from its
    /// paper form).
    pub unknown: Option<DowntimeId>,
    /// The paper-form box, while open.
    pub early: Option<EarlyForm>,
    /// Samples received from paper forms, as last read.
    pub waiting: Vec<EarlyReceipt>,
}

impl ReceptionState {
    /// Says `text` as the latest outcome, logs it and counts it.
    fn push(&mut self, outcome: Outcome, text: String) {
        match outcome {
            Outcome::Received => self.tally.received += 1,
            Outcome::Rejected => self.tally.rejected += 1,
            Outcome::NotFound => self.tally.not_found += 1,
            Outcome::Already => self.tally.already += 1,
            Outcome::Skipped | Outcome::Refused => {}
        }
        let line = Logged { outcome, text };
        self.log.insert(0, line.clone());
        self.log.truncate(LOG_KEPT);
        self.last = Some(line);
    }

    /// The request on screen that can still be received.
    fn receivable(&self) -> Option<&RequestDetail> {
        self.shown
            .as_ref()
            .filter(|s| s.receivable)
            .map(|s| &s.detail)
    }
}

fn outcome_colour(outcome: Outcome) -> egui::Color32 {
    match outcome {
        Outcome::Received => widgets::OK_GREEN,
        Outcome::Rejected | Outcome::Already | Outcome::Skipped => widgets::WARNING_TEXT,
        Outcome::NotFound | Outcome::Refused => widgets::ERROR_RED,
    }
}

pub fn reception_ui(
    ui: &mut Ui,
    state: &mut ReceptionState,
    now: DateTime<Local>,
    actions: &mut Vec<Action>,
) {
    // The reason list takes its keys before the scan field is drawn, so that a scan arriving
    // while it is open closes it and lands in the scan field in the same frame.
    reject_keys(ui, state, actions);
    early::keys(ui, state);
    let scan_id = egui::Id::unique("reception_scan");
    let in_front = ui.ctx().memory(|m| m.is_above_modal_layer(ui.layer_id()));
    if in_front && state.reject.is_none() && state.early.is_none() {
        let focused = ui.ctx().memory(|m| m.focused());
        if std::mem::take(&mut state.focus_input) || focused.is_none() {
            ui.ctx().memory_mut(|m| m.request_focus(scan_id));
        }
    }
    if state.reject.as_ref().is_some_and(|r| r.chosen != OTHER) {
        // The number keys choose a reason: they must not also type into the scan field.
        ui.ctx().memory_mut(|m| m.surrender_focus(scan_id));
    }
    let width = ui.available_width();
    let height = ui.available_height();
    let left_width = (width * 0.6).floor();
    ui.horizontal_top(|ui| {
        ui.allocate_ui_with_layout(
            egui::vec2(left_width, height),
            egui::Layout::top_down(egui::Align::Min),
            |left| {
                left.set_min_width(left_width);
                scan_column(left, state, scan_id, now, actions);
            },
        );
        ui.separator();
        ui.allocate_ui_with_layout(
            ui.available_size(),
            egui::Layout::top_down(egui::Align::Min),
            |right| show::tally_ui(right, state),
        );
    });
}

/// The scan field, the last outcome and the request found, with Receive and Reject.
fn scan_column(
    left: &mut Ui,
    state: &mut ReceptionState,
    scan_id: egui::Id,
    now: DateTime<Local>,
    actions: &mut Vec<Action>,
) {
    left.horizontal(|ui| {
        let l = ui.label(RichText::new(SCAN_LABEL).strong().size(18.0));
        let field = ui
            .add(
                egui::TextEdit::singleline(&mut state.input)
                    .id(scan_id)
                    .font(egui::FontId::new(22.0, fonts::downtime_id_family()))
                    .hint_text(fonts::downtime_id_text("RXX-W07-000123-K", 22.0))
                    .desired_width(300.0),
            )
            .labelled_by(l.id);
        let entered = field.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter));
        if entered {
            scan_entered(state, actions);
        }
    });
    left.label(
        RichText::new(
            "Scan the label (the scanner presses Enter), then Enter receives; F8 rejects.",
        )
        .color(widgets::MUTED),
    );
    left.add_space(6.0);
    if let Some(last) = &state.last {
        left.add(
            egui::Label::new(
                fonts::downtime_id_text(&last.text, 18.0)
                    .color(outcome_colour(last.outcome))
                    .strong(),
            )
            .wrap(),
        );
        left.add_space(6.0);
    }
    early::form_ui(left, state, actions);
    // Below the scan field all scrolls, so the reason list is never cut off on a short screen.
    egui::ScrollArea::vertical()
        .id_salt("reception_request")
        .auto_shrink([false, false])
        .show(left, |left| {
            if let Some(shown) = &state.shown {
                show::request_ui(left, shown, now.with_timezone(&Utc));
                left.add_space(8.0);
                if shown.receivable {
                    buttons_ui(left, state, actions);
                }
            }
        });
}

/// Enter in the scan field: what was typed is looked up; on an empty field Enter receives the
/// request on screen.
fn scan_entered(state: &mut ReceptionState, actions: &mut Vec<Action>) {
    state.focus_input = true;
    let typed = state.input.trim().to_owned();
    if !typed.is_empty() {
        actions.push(Action::ReceptionScan(typed));
    } else if let Some(detail) = state.receivable() {
        actions.push(Action::ReceptionRecord(
            detail.state.request.uuid,
            Transition::Received,
        ));
    }
}

/// F8 opens the reason list; in it a number key or Up/Down chooses, Enter records, Escape goes
/// back. Escape with no list open puts the request on screen aside (nothing recorded).
fn reject_keys(ui: &mut Ui, state: &mut ReceptionState, actions: &mut Vec<Action>) {
    let in_front = ui.ctx().memory(|m| m.is_above_modal_layer(ui.layer_id()));
    if !in_front {
        return;
    }
    let Some(uuid) = state.receivable().map(|d| d.state.request.uuid) else {
        return;
    };
    let Some(reject) = &mut state.reject else {
        ui.input_mut(|i| {
            if i.consume_key(Modifiers::NONE, Key::F8) {
                state.reject = Some(Rejecting::default());
            } else if i.consume_key(Modifiers::NONE, Key::Escape) {
                state.shown = None;
                state.last = None;
                state.input.clear();
            }
        });
        return;
    };
    let typing_other = reject.chosen == OTHER;
    if let Some(digit) = reject.number_text.clone() {
        // Held until the next text or key: its own text is dropped, anything else is kept.
        ui.input_mut(|i| {
            let text = i
                .events
                .iter()
                .position(|e| matches!(e, egui::Event::Text(_)));
            let key = i
                .events
                .iter()
                .any(|e| matches!(e, egui::Event::Key { pressed: true, .. }));
            if let Some(at) = text {
                if matches!(&i.events[at], egui::Event::Text(t) if *t == digit) {
                    i.events.remove(at);
                }
                reject.number_text = None;
            } else if key {
                reject.number_text = None;
            }
        });
    }
    // A scan (letters) arriving while a reason is being chosen: close the list unrecorded and
    // let the scan land in the scan field.
    let letters = ui.input(|i| {
        i.events.iter().any(
            |e| matches!(e, egui::Event::Text(t) if t.chars().any(|c| c.is_ascii_alphabetic())),
        )
    });
    if letters && !typing_other {
        state.reject = None;
        state.focus_input = true;
        return;
    }
    let mut confirm = false;
    let mut back = false;
    ui.input_mut(|i| {
        if i.consume_key(Modifiers::NONE, Key::Escape) {
            back = true;
            return;
        }
        if !typing_other {
            let text_came = i.events.iter().any(
                |e| matches!(e, egui::Event::Text(t) if t.chars().all(|c| c.is_ascii_digit())),
            );
            i.events.retain(
                |e| !matches!(e, egui::Event::Text(t) if t.chars().all(|c| c.is_ascii_digit())),
            );
            for (n, key) in widgets::NUMBER_KEYS.iter().enumerate() {
                if i.consume_key(Modifiers::NONE, *key) {
                    reject.chosen = n;
                    // Its text came with it (and was dropped above), or is still to come.
                    reject.number_text = (!text_came).then(|| (n + 1).to_string());
                }
            }
        }
        if i.consume_key(Modifiers::NONE, Key::ArrowDown) {
            reject.chosen = (reject.chosen + 1).min(OTHER);
        }
        if i.consume_key(Modifiers::NONE, Key::ArrowUp) {
            reject.chosen = reject.chosen.saturating_sub(1);
        }
        if i.consume_key(Modifiers::NONE, Key::Enter) {
            confirm = true;
        }
    });
    if back {
        state.reject = None;
        state.focus_input = true;
    } else if confirm {
        let reason = if reject.chosen == OTHER {
            let typed = reject.other.trim();
            if typed.is_empty() {
                reject.problem = Some("Type the other reason first".to_owned());
                return;
            }
            format!("Other: {typed}")
        } else {
            REJECT_REASONS[reject.chosen].to_owned()
        };
        actions.push(Action::ReceptionRecord(
            uuid,
            Transition::Rejected { reason },
        ));
    }
}

/// Receive and Reject, each with its key; the reason list under them while it is open.
fn buttons_ui(ui: &mut Ui, state: &mut ReceptionState, actions: &mut Vec<Action>) {
    let Some((uuid, id)) = state
        .receivable()
        .map(|d| (d.state.request.uuid, d.state.downtime_id.grouped()))
    else {
        return;
    };
    ui.horizontal(|ui| {
        let receive = egui::Button::new(RichText::new("Receive (Enter)").strong().size(20.0))
            .fill(widgets::OK_FILL)
            .min_size(egui::vec2(200.0, 40.0));
        if ui.add(receive).clicked() {
            actions.push(Action::ReceptionRecord(uuid, Transition::Received));
        }
        let reject = egui::Button::new(RichText::new("Reject… (F8)").strong().size(20.0))
            .selected(state.reject.is_some())
            .min_size(egui::vec2(160.0, 40.0));
        if ui.add(reject).clicked() {
            state.reject = Some(Rejecting::default());
        }
        ui.label(RichText::new("Escape: put aside, nothing recorded").color(widgets::MUTED));
    });
    let Some(reject) = &mut state.reject else {
        return;
    };
    ui.add_space(4.0);
    let list = egui::Frame::new()
        .fill(widgets::WARNING_FILL)
        .stroke(egui::Stroke::new(1.0, widgets::URGENT_AMBER))
        .inner_margin(egui::Margin::same(10))
        .show(ui, |ui| {
            ui.label(
                // The ID may have scrolled away above: name it here.
                fonts::downtime_id_text(
                    format!("Reject {id}: press the reason's number (or Up/Down), then Enter"),
                    15.0,
                )
                .strong()
                .color(widgets::WARNING_TEXT),
            );
            egui::Grid::new("reject_reasons")
                .num_columns(3)
                .spacing([16.0, 4.0])
                .show(ui, |ui| {
                    for (n, reason) in REJECT_REASONS.iter().enumerate() {
                        let text = RichText::new(format!("{}  {reason}", n + 1)).size(17.0);
                        if ui.selectable_label(reject.chosen == n, text).clicked() {
                            reject.chosen = n;
                        }
                        if n % 3 == 2 {
                            ui.end_row();
                        }
                    }
                });
            if reject.chosen == OTHER {
                ui.horizontal(|ui| {
                    let l = ui.label(RichText::new(OTHER_LABEL).strong());
                    let field = ui
                        .add(
                            egui::TextEdit::singleline(&mut reject.other)
                                .hint_text("what is wrong with the sample")
                                .desired_width(360.0),
                        )
                        .labelled_by(l.id);
                    if !field.has_focus() {
                        field.request_focus();
                    }
                });
            }
            ui.horizontal(|ui| {
                let chosen = REJECT_REASONS[reject.chosen];
                if ui
                    .button(RichText::new(format!("Reject as “{chosen}” (Enter)")).strong())
                    .clicked()
                {
                    // Same as Enter: recorded by `reject_keys` on the next Enter; a click
                    // records now.
                    let reason = if reject.chosen == OTHER {
                        format!("Other: {}", reject.other.trim())
                    } else {
                        chosen.to_owned()
                    };
                    if reject.chosen != OTHER || !reject.other.trim().is_empty() {
                        actions.push(Action::ReceptionRecord(
                            uuid,
                            Transition::Rejected { reason },
                        ));
                    }
                }
                ui.label(RichText::new("Escape: back, nothing recorded").color(widgets::MUTED));
            });
            if let Some(problem) = &reject.problem {
                widgets::error_text(ui, problem);
            }
        });
    // The whole list in sight as it opens, and again when the Other field appears.
    let with_other = Some(reject.chosen == OTHER);
    if reject.scrolled_with_other != with_other {
        reject.scrolled_with_other = with_other;
        list.response.scroll_to_me(Some(egui::Align::Max));
    }
}
