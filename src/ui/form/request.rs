//! The request half of the form: priority and tests first (what matters most under pressure),
//! then who asked, then the fields that usually keep their defaults (ward, collection time and
//! collector) last, so the common path needs the fewest key presses.

use egui::{Key, Modifiers, RichText, Ui};

use super::FormState;
use super::patient::{form_grid, section_heading};
use crate::domain::catalogue::{Catalogue, PickItem, requested_tests, tubes_in_draw_order};
use crate::domain::request::{ALL_PRIORITIES, Field, Priority};
use crate::ui::widgets;

/// Most matches listed under the test search box.
const MAX_MATCHES: usize = 8;

fn priority_key(p: Priority) -> Key {
    match p {
        Priority::Emergency => Key::E,
        Priority::Urgent => Key::U,
        Priority::Routine => Key::R,
    }
}

pub(super) fn request_ui(ui: &mut Ui, state: &mut FormState, data: &super::FormData<'_>) {
    section_heading(ui, "Request");
    form_grid("request_grid").show(ui, |ui| {
        ui.label(RichText::new(Field::Priority.label()).strong());
        ui.vertical(|ui| {
            let options: Vec<widgets::Choice<'_, Priority>> = ALL_PRIORITIES
                .into_iter()
                .map(|p| widgets::Choice {
                    value: p,
                    label: p.label(),
                    key: priority_key(p),
                    colours: Some(widgets::priority_colours(p)),
                })
                .collect();
            let r = widgets::choice_group(
                ui,
                "priority_choice",
                "Priority",
                &options,
                &mut state.draft.priority,
            );
            state.focus_if(Field::Priority, &r);
            ui.label(
                RichText::new("Tab here, then E, U or R (or arrows)")
                    .small()
                    .color(widgets::MUTED),
            );
            if let Some(e) = state.error(Field::Priority) {
                widgets::error_text(ui, &e);
            }
        });
        ui.end_row();

        tests_ui(ui, state, data.catalogue);

        for (field, hint) in [
            (Field::Consultant, "e.g. Dr A Example"),
            (Field::Requester, "who asked for the tests"),
            (Field::RequesterContact, "for the lab to call with results"),
        ] {
            let error = state.error(field);
            let value = match field {
                Field::Consultant => &mut state.draft.consultant,
                Field::Requester => &mut state.draft.requester,
                _ => &mut state.draft.requester_contact,
            };
            let r = widgets::text_field(ui, field.label(), value, hint, 280.0, error.as_deref());
            state.focus_if(field, &r);
        }

        ward_ui(ui, state, data.wards);
        collection_ui(ui, state);

        for field in [Field::ClinicalDetails, Field::Notes] {
            let error = state.error(field);
            let value = match field {
                Field::ClinicalDetails => &mut state.draft.clinical_details,
                _ => &mut state.draft.notes,
            };
            let r = widgets::text_area(ui, field.label(), value, 360.0, error.as_deref());
            state.focus_if(field, &r);
        }
    });
}

/// Ward: typed, or picked from the workstation's list (the list button is not a Tab stop).
fn ward_ui(ui: &mut Ui, state: &mut FormState, wards: &[crate::domain::ward::Ward]) {
    let label = ui.label(RichText::new(Field::Ward.label()).strong());
    ui.vertical(|ui| {
        ui.horizontal(|ui| {
            let r = ui
                .add(
                    egui::TextEdit::singleline(&mut state.draft.ward)
                        .hint_text("type or pick")
                        .desired_width(240.0),
                )
                .labelled_by(label.id);
            widgets::keep_in_view(&r);
            state.focus_if(Field::Ward, &r);
            let pick = egui::Button::new("Pick ward").sense(egui::Sense::CLICK);
            egui::containers::menu::MenuButton::from_button(pick).ui(ui, |ui| {
                for ward in wards {
                    if ui.button(ward.name()).clicked() {
                        state.draft.ward = ward.name().to_owned();
                        ui.close();
                    }
                }
            });
        });
        if let Some(e) = state.error(Field::Ward) {
            widgets::error_text(ui, &e);
        }
    });
    ui.end_row();
}

/// Collection date, time and collector. Until edited, the date and time follow the clock and
/// say so; "collected by" starts as the signed-in user.
fn collection_ui(ui: &mut Ui, state: &mut FormState) {
    let before = (
        state.draft.collected_date.clone(),
        state.draft.collected_time.clone(),
    );
    for (field, hint, width) in [
        (Field::CollectedDate, "DD/MM/YYYY", 140.0),
        (Field::CollectedTime, "HH:MM", 90.0),
    ] {
        let error = state.error(field);
        let value = match field {
            Field::CollectedDate => &mut state.draft.collected_date,
            _ => &mut state.draft.collected_time,
        };
        let r = widgets::text_field(ui, field.label(), value, hint, width, error.as_deref());
        state.focus_if(field, &r);
    }
    if (
        state.draft.collected_date.clone(),
        state.draft.collected_time.clone(),
    ) != before
    {
        state.collected_auto = false;
    }
    ui.label("");
    if state.collected_auto {
        ui.label(
            RichText::new("Now — follows the clock until you change it; fixed when saved")
                .small()
                .color(widgets::MUTED),
        );
    } else {
        ui.horizontal(|ui| {
            ui.label(
                RichText::new("Typed time: check it is when the sample was taken")
                    .small()
                    .color(widgets::WARNING_TEXT),
            );
            let now = egui::Button::new("Use now").sense(egui::Sense::CLICK);
            if ui.add(now).clicked() {
                state.collected_auto = true;
            }
        });
    }
    ui.end_row();
    let error = state.error(Field::CollectedBy);
    let r = widgets::text_field(
        ui,
        Field::CollectedBy.label(),
        &mut state.draft.collected_by,
        "name or staff ID",
        280.0,
        error.as_deref(),
    );
    state.focus_if(Field::CollectedBy, &r);
}

/// The picked tests (one Tab stop before the search: arrows move along them, Delete removes one),
/// then the search box (Enter adds the highlighted match, which is the only one when only one
/// matches; arrows move the highlight).
fn tests_ui(ui: &mut Ui, state: &mut FormState, catalogue: &Catalogue) {
    ui.label(RichText::new(Field::Tests.label()).strong());
    ui.vertical(|ui| {
        if state.draft.tests.is_empty() {
            ui.label(RichText::new("None yet").color(widgets::MUTED));
        } else {
            chips_ui(ui, state, catalogue);
        }
        if let Some(e) = state.error(Field::Tests) {
            widgets::error_text(ui, &e);
        }
    });
    ui.end_row();

    let label = ui.label(RichText::new("Find test").strong());
    ui.vertical(|ui| {
        let search = ui
            .add(
                egui::TextEdit::singleline(&mut state.test_query)
                    .hint_text("type a name or code, Enter adds")
                    .desired_width(280.0),
            )
            .labelled_by(label.id);
        widgets::keep_in_view(&search);
        state.focus_if(Field::Tests, &search);
        let matches: Vec<PickItem<'_>> = catalogue
            .search(&state.test_query)
            .into_iter()
            .take(MAX_MATCHES)
            .collect();
        if search.changed() {
            state.test_highlight = 0;
        }
        if search.has_focus() && !matches.is_empty() {
            // Up and Down move the highlight instead of the focus.
            widgets::keep_arrows(ui, search.id, true);
            ui.input_mut(|i| {
                if i.consume_key(Modifiers::NONE, Key::ArrowDown) {
                    state.test_highlight = (state.test_highlight + 1).min(matches.len() - 1);
                }
                if i.consume_key(Modifiers::NONE, Key::ArrowUp) {
                    state.test_highlight = state.test_highlight.saturating_sub(1);
                }
            });
        }
        let entered = search.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter));
        let mut picked = None;
        if entered && !matches.is_empty() {
            picked = matches.get(state.test_highlight).copied();
            // Stay in the box so the next test can be typed straight away.
            search.request_focus();
        }
        for (i, item) in matches.iter().enumerate() {
            let text = match item {
                PickItem::Test(t) => {
                    format!("{} — {} ({}, {})", t.code, t.name, t.tube, t.tube_colour)
                }
                PickItem::Panel(p) => {
                    format!("{} — {} (panel: {})", p.code, p.name, p.tests.join(", "))
                }
            };
            let row =
                egui::Button::selectable(i == state.test_highlight, text).sense(egui::Sense::CLICK);
            if ui.add(row).clicked() {
                picked = Some(*item);
            }
        }
        if matches.len() > 1 {
            ui.label(
                RichText::new("Up/Down to choose, Enter to add")
                    .small()
                    .color(widgets::MUTED),
            );
        }
        if !state.test_query.trim().is_empty() && matches.is_empty() {
            ui.label(
                RichText::new("No test matches: try the code or another word")
                    .color(widgets::MUTED),
            );
        }
        if let Some(item) = picked {
            let codes: Vec<String> = match item {
                PickItem::Test(t) => vec![t.code.clone()],
                PickItem::Panel(p) => p.tests.clone(),
            };
            for code in codes {
                if !state.draft.tests.contains(&code) {
                    state.draft.tests.push(code);
                }
            }
            state.test_query.clear();
            state.test_highlight = 0;
        }
    });
    ui.end_row();
}

/// The picked tests as one Tab stop: Left/Right move along them, Delete or Backspace removes the
/// highlighted one; each also has a × button for the mouse.
fn chips_ui(ui: &mut Ui, state: &mut FormState, catalogue: &Catalogue) {
    let id = ui.make_persistent_id("test_chips");
    let focused = ui.memory(|m| m.has_focus(id));
    let n = state.draft.tests.len();
    state.chip_highlight = state.chip_highlight.min(n.saturating_sub(1));
    let mut remove = None;
    if focused {
        widgets::keep_arrows(ui, id, false);
        ui.input_mut(|i| {
            if i.consume_key(Modifiers::NONE, Key::ArrowRight) {
                state.chip_highlight = (state.chip_highlight + 1).min(n.saturating_sub(1));
            }
            if i.consume_key(Modifiers::NONE, Key::ArrowLeft) {
                state.chip_highlight = state.chip_highlight.saturating_sub(1);
            }
            if i.consume_key(Modifiers::NONE, Key::Delete)
                || i.consume_key(Modifiers::NONE, Key::Backspace)
            {
                remove = Some(state.chip_highlight);
            }
        });
    }
    let inner = ui.horizontal_wrapped(|ui| {
        for (i, code) in state.draft.tests.iter().enumerate() {
            let name = catalogue
                .test(code)
                .map_or("not in catalogue", |t| t.name.as_str());
            let highlighted = focused && i == state.chip_highlight;
            let chip = egui::Button::selectable(highlighted, format!("{code} {name}  ×"))
                .sense(egui::Sense::CLICK);
            if ui.add(chip).on_hover_text("Remove this test").clicked() {
                remove = Some(i);
            }
        }
    });
    let response = ui.interact(inner.response.rect, id, egui::Sense::FOCUSABLE);
    response.widget_info(|| {
        egui::WidgetInfo::labeled(
            egui::Role::List,
            true,
            format!("Picked tests: {}", state.draft.tests.join(", ")),
        )
    });
    widgets::keep_in_view(&response);
    if focused {
        ui.label(
            RichText::new("Left/Right to choose, Delete to remove")
                .small()
                .color(widgets::MUTED),
        );
    }
    if let Some(i) = remove
        && i < state.draft.tests.len()
    {
        state.draft.tests.remove(i);
    }
}

pub(super) fn tubes_ui(ui: &mut Ui, state: &FormState, catalogue: &Catalogue) {
    section_heading(ui, "Tubes to draw (in order of draw)");
    let tests = requested_tests(catalogue, &state.draft.tests);
    if tests.is_empty() {
        ui.label(RichText::new("Add tests to see which tubes to take.").color(widgets::MUTED));
        return;
    }
    egui::Grid::new("tubes_grid")
        .num_columns(4)
        .spacing([10.0, 8.0])
        .striped(true)
        .show(ui, |ui| {
            for (n, tube) in tubes_in_draw_order(&tests).iter().enumerate() {
                ui.label(RichText::new(format!("{}.", n + 1)).strong());
                ui.horizontal(|ui| {
                    widgets::tube_swatch(ui, &tube.colour_hex);
                    ui.label(RichText::new(format!("{} ({})", tube.tube, tube.colour)).strong());
                });
                ui.label(format!("{} ml", tube.volume_ml));
                ui.vertical(|ui| {
                    ui.label(tube.tests.join(", "));
                    if tube.transfusion {
                        ui.label(
                            RichText::new("HAND-LABEL AT BEDSIDE")
                                .color(widgets::EMERGENCY_RED)
                                .strong(),
                        );
                    }
                });
                ui.end_row();
            }
        });
}
