//! On the detail panel: the request's times as one strip, the results phoned so far, and the
//! keyboard-first form that logs one. Tab goes Test, Result, Phoned on, Phoned at, Phoned by,
//! Taken by, Read back, Save; Enter in any of them saves; Escape (taken by the panel) closes it.

use chrono::{DateTime, Local, Utc};
use egui::{Key, Modifiers, RichText, Ui};
use uuid::Uuid;

use crate::domain::phoned::{
    PhonedDraft, PhonedField, PhonedFieldError, RequestTimes, phoned_results, requested_test,
};
use crate::domain::request::NewRequest;
use crate::domain::status::Status;
use crate::store::RequestDetail;
use crate::ui::action::Action;
use crate::ui::fonts;
use crate::ui::widgets::{self, Choice};

/// The detail panel's button that opens the form (Ctrl+L does too).
pub const LOG_BUTTON: &str = "Log a phoned result… (Ctrl+L)";
/// Width of the form's fields in the detail panel.
const FIELD_WIDTH: f32 = 250.0;

/// The form logging one phoned result, open on the detail panel.
#[derive(Debug, Clone, PartialEq)]
pub struct PhoneForm {
    pub draft: PhonedDraft,
    /// Why the last save was refused, at the fields.
    pub errors: Vec<PhonedFieldError>,
    /// Why the store refused it (the sample not in the lab, a read-only file).
    pub refused: Option<String>,
    /// The field to put the cursor in, and for how many more frames (the click that opened the
    /// form takes the focus back for a frame).
    focus: Option<(PhonedField, u8)>,
}

impl PhoneForm {
    /// A fresh form for `request`: phoned now, by the signed-in user; the test chosen when the
    /// request has only one. The cursor starts in the first field still to fill.
    pub fn open(request: &NewRequest, user: Option<&str>, now: DateTime<Utc>) -> Self {
        let draft = PhonedDraft::new(request, user.unwrap_or_default(), now, &Local);
        let first = if draft.test.is_empty() {
            PhonedField::Test
        } else {
            PhonedField::Summary
        };
        Self {
            draft,
            errors: Vec::new(),
            refused: None,
            focus: Some((first, 3)),
        }
    }

    /// Shows why the save was refused, with the cursor in the first field named.
    pub fn refuse(&mut self, errors: Vec<PhonedFieldError>) {
        self.focus = errors.first().map(|e| (e.field, 2));
        self.errors = errors;
        self.refused = None;
    }

    fn error(&self, field: PhonedField) -> Option<String> {
        let messages: Vec<&str> = self
            .errors
            .iter()
            .filter(|e| e.field == field)
            .map(|e| e.message.as_str())
            .collect();
        (!messages.is_empty()).then(|| messages.join("; "))
    }

    /// Puts the cursor in `field`'s widget while a focus is asked for it.
    fn take_focus(&mut self, ui: &Ui, field: PhonedField, response: &egui::Response) {
        if let Some((wanted, frames)) = &mut self.focus
            && *wanted == field
        {
            response.request_focus();
            *frames = frames.saturating_sub(1);
            if *frames == 0 {
                self.focus = None;
            }
            ui.ctx().request_repaint();
        }
    }
}

/// The form. Returns whether it stays open (Cancel closes it).
pub fn phone_form_ui(
    ui: &mut Ui,
    form: &mut PhoneForm,
    request: &NewRequest,
    uuid: Uuid,
    actions: &mut Vec<Action>,
) -> bool {
    let mut keep_open = true;
    let enter = ui.input(|i| i.key_pressed(Key::Enter));
    let mut save = false;
    egui::Frame::new()
        .fill(egui::Color32::from_rgb(0xF3, 0xF7, 0xFB))
        .stroke(egui::Stroke::new(1.0, widgets::FOCUS_BLUE))
        .inner_margin(egui::Margin::same(10))
        .show(ui, |ui| {
            ui.label(RichText::new("Log a phoned result").strong().size(17.0));
            let test = test_choice(ui, form, request);
            form.take_focus(ui, PhonedField::Test, &test);
            if enter && test.has_focus() {
                save = true;
            }
            ui.add_space(4.0);
            egui::Grid::new("phoned_form")
                .num_columns(2)
                .spacing([10.0, 6.0])
                .show(ui, |ui| {
                    // Enter saves from any field: a text field loses the focus to it, a choice
                    // keeps it.
                    let mut in_form = |r: &egui::Response| {
                        if enter && (r.lost_focus() || r.has_focus()) {
                            save = true;
                        }
                    };
                    for field in [
                        PhonedField::Summary,
                        PhonedField::Date,
                        PhonedField::Time,
                        PhonedField::PhonedBy,
                        PhonedField::ReceivedBy,
                    ] {
                        let error = form.error(field);
                        let (value, hint, width) = match field {
                            PhonedField::Summary => {
                                (&mut form.draft.summary, "e.g. K+ 6.8 mmol/L", FIELD_WIDTH)
                            }
                            PhonedField::Date => (&mut form.draft.date, "DD/MM/YYYY", 110.0),
                            PhonedField::Time => (&mut form.draft.time, "HH:MM", 70.0),
                            PhonedField::PhonedBy => {
                                (&mut form.draft.phoned_by, "name or staff ID", FIELD_WIDTH)
                            }
                            _ => (
                                &mut form.draft.received_by,
                                "who took the call",
                                FIELD_WIDTH,
                            ),
                        };
                        let r = widgets::text_field(
                            ui,
                            field.label(),
                            value,
                            hint,
                            width,
                            error.as_deref(),
                        );
                        form.take_focus(ui, field, &r);
                        in_form(&r);
                    }
                    let read_back = read_back_choice(ui, form);
                    form.take_focus(ui, PhonedField::ReadBack, &read_back);
                    in_form(&read_back);
                });
            ui.horizontal(|ui| {
                let button = ui.button(RichText::new("Save phoned result (Enter)").strong());
                widgets::keep_in_view(&button);
                if button.clicked() {
                    save = true;
                }
                if ui.button("Cancel (Escape)").clicked() {
                    keep_open = false;
                }
            });
            if let Some(refused) = &form.refused {
                widgets::error_text(ui, &format!("Not recorded: {refused}"));
            } else if !form.errors.is_empty() {
                widgets::error_text(ui, "Not recorded: correct the fields marked above.");
            }
        });
    if save && keep_open {
        actions.push(Action::RecordPhoned(uuid, form.draft.clone()));
    }
    keep_open
}

/// The request's tests as one Tab stop, wrapped to the panel's width (a request may ask for
/// many): Left/Right or a test's number chooses it, as a click does.
fn test_choice(ui: &mut Ui, form: &mut PhoneForm, request: &NewRequest) -> egui::Response {
    let mut chosen = requested_test(request, &form.draft.test)
        .ok()
        .and_then(|t| request.tests.iter().position(|x| x.code == t.code));
    let id = ui.make_persistent_id("phoned_test");
    if ui.memory(|m| m.has_focus(id)) {
        widgets::keep_arrows(ui, id, false);
        let last = request.tests.len().saturating_sub(1);
        ui.input_mut(|i| {
            if i.consume_key(Modifiers::NONE, Key::ArrowRight) {
                chosen = Some(chosen.map_or(0, |c| (c + 1).min(last)));
            }
            if i.consume_key(Modifiers::NONE, Key::ArrowLeft) {
                chosen = Some(chosen.map_or(0, |c| c.saturating_sub(1)));
            }
            for (n, key) in widgets::NUMBER_KEYS
                .iter()
                .enumerate()
                .take(request.tests.len())
            {
                if i.consume_key(Modifiers::NONE, *key) {
                    chosen = Some(n);
                }
            }
        });
    }
    ui.horizontal(|ui| {
        ui.label(RichText::new(PhonedField::Test.label()).strong());
        let words = match chosen.and_then(|n| request.tests.get(n)) {
            Some(t) => t.name.clone(),
            None => format!(
                "Left/Right or its number (1–{}) chooses",
                request.tests.len().min(widgets::NUMBER_KEYS.len())
            ),
        };
        ui.label(RichText::new(words).color(widgets::MUTED));
    });
    let inner = ui.horizontal_wrapped(|ui| {
        for (n, t) in request.tests.iter().enumerate() {
            let on = chosen == Some(n);
            let (fill, text) = if on {
                (
                    egui::Color32::from_rgb(0x1E, 0x5A, 0x96),
                    egui::Color32::WHITE,
                )
            } else {
                (egui::Color32::WHITE, egui::Color32::from_gray(40))
            };
            let mut words = RichText::new(&t.code).color(text);
            if on {
                words = words.strong();
            }
            // Not a Tab stop of its own: the group is.
            let button = egui::Button::new(words)
                .fill(fill)
                .stroke(egui::Stroke::new(
                    2.0,
                    if on {
                        egui::Color32::BLACK
                    } else {
                        egui::Color32::from_gray(150)
                    },
                ))
                .min_size(egui::vec2(64.0, 30.0))
                .sense(egui::Sense::CLICK);
            if ui.add(button).clicked() {
                chosen = Some(n);
            }
        }
    });
    let response = ui.interact(inner.response.rect, id, egui::Sense::FOCUSABLE);
    let name = chosen
        .and_then(|n| request.tests.get(n))
        .map_or("none chosen", |t| t.code.as_str());
    response.widget_info(|| {
        egui::WidgetInfo::labeled(egui::Role::RadioGroup, true, format!("Test: {name}"))
    });
    widgets::keep_in_view(&response);
    if let Some(message) = form.error(PhonedField::Test) {
        widgets::error_text(ui, &message);
    }
    if let Some(t) = chosen.and_then(|n| request.tests.get(n)) {
        form.draft.test = t.code.clone();
    }
    response
}

/// Read back or NOT read back: nothing chosen until the person says which (Y or N).
fn read_back_choice(ui: &mut Ui, form: &mut PhoneForm) -> egui::Response {
    ui.label(RichText::new(PhonedField::ReadBack.label()).strong());
    let options = [
        Choice {
            value: true,
            label: "Yes, read back",
            key: Key::Y,
            colours: Some((widgets::OK_GREEN, egui::Color32::WHITE)),
        },
        Choice {
            value: false,
            label: "NOT read back",
            key: Key::N,
            colours: Some((widgets::ERROR_RED, egui::Color32::WHITE)),
        },
    ];
    let response = ui
        .vertical(|ui| {
            let response = widgets::choice_group(
                ui,
                "phoned_read_back",
                "Read back",
                &options,
                &mut form.draft.read_back,
            );
            ui.label(
                RichText::new("Did the ward read the result back to you? Y or N")
                    .color(widgets::MUTED)
                    .small(),
            );
            if form.draft.read_back == Some(false) {
                ui.label(
                    RichText::new("It will be recorded as NOT read back.")
                        .color(widgets::ERROR_RED)
                        .strong(),
                );
            }
            if let Some(message) = form.error(PhonedField::ReadBack) {
                widgets::error_text(ui, &message);
            }
            response
        })
        .inner;
    ui.end_row();
    response
}

fn short(t: DateTime<Utc>) -> String {
    t.with_timezone(&Local).format("%H:%M %d/%m").to_string()
}

/// Collected, sent, received, phoned (first) and re-entered, side by side in five equal columns
/// that fit the panel at any width: each step's time, and its date below; "—" for a step not
/// reached yet.
pub fn times_ui(ui: &mut Ui, detail: &RequestDetail) {
    let t = RequestTimes::of(&detail.state.request, &detail.events);
    let cells = [
        ("Collected", Some(t.collected)),
        ("Sent", t.sent),
        ("Received", t.received),
        ("Phoned", t.phoned),
        ("Re-entered", t.reentered),
    ];
    egui::Frame::new()
        .fill(egui::Color32::from_gray(0xF2))
        .corner_radius(4.0)
        .inner_margin(egui::Margin::symmetric(8, 4))
        .show(ui, |ui| {
            ui.columns(cells.len(), |columns| {
                for (ui, (name, at)) in columns.iter_mut().zip(cells) {
                    ui.spacing_mut().item_spacing.y = 0.0;
                    ui.label(RichText::new(name).color(widgets::MUTED).small());
                    let local = at.map(|t| t.with_timezone(&Local));
                    ui.label(
                        RichText::new(
                            local.map_or("—".to_owned(), |t| t.format("%H:%M").to_string()),
                        )
                        .strong(),
                    );
                    ui.label(
                        RichText::new(
                            local.map_or(String::new(), |t| t.format("%d/%m").to_string()),
                        )
                        .color(widgets::MUTED)
                        .small(),
                    );
                }
            });
        });
}

/// The results phoned for this request, oldest first; one NOT read back is in white on red.
/// Returns the section's heading (to scroll it into sight).
pub fn results_ui(ui: &mut Ui, detail: &RequestDetail) -> egui::Response {
    let results: Vec<_> = phoned_results(&detail.events).collect();
    let heading = ui.label(RichText::new(format!("Results phoned ({})", results.len())).strong());
    if results.is_empty() {
        let words = match detail.state.status {
            Status::Logged | Status::Sent => {
                "None: a result is logged once the lab has received the sample."
            }
            Status::Received | Status::Reentered => "None yet.",
            Status::Cancelled | Status::Rejected => "None.",
        };
        ui.label(RichText::new(words).color(widgets::MUTED));
    }
    for (_, p) in results {
        ui.horizontal_wrapped(|ui| {
            ui.label(RichText::new(short(p.phoned_at)).color(widgets::MUTED));
            ui.label(
                RichText::new(format!(
                    "{}: {}",
                    fonts::display_text(&p.test),
                    fonts::display_text(&p.summary)
                ))
                .strong(),
            );
        });
        ui.horizontal_wrapped(|ui| {
            ui.add_space(12.0);
            ui.label(format!(
                "phoned by {} to {} —",
                fonts::display_text(&p.phoned_by),
                fonts::display_text(&p.received_by)
            ));
            read_back_badge(ui, p.read_back);
        });
    }
    heading
}

/// "read back" in green, or "NOT read back" in white on red: never missed on a busy screen.
pub fn read_back_badge(ui: &mut Ui, read_back: bool) -> egui::Response {
    let words = RichText::new(if read_back {
        "read back"
    } else {
        "NOT read back"
    })
    .strong();
    if read_back {
        return ui.label(words.color(widgets::OK_GREEN));
    }
    egui::Frame::new()
        .fill(widgets::ERROR_RED)
        .corner_radius(4.0)
        .inner_margin(egui::Margin::symmetric(6, 1))
        .show(ui, |ui| ui.label(words.color(egui::Color32::WHITE)))
        .inner
}
