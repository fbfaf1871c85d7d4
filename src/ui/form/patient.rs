//! The patient half of the form: identifiers first (the wristband is read first), then name, date
//! of birth and sex; the offer to fill a known patient; identity mismatches in red.

use egui::{Key, Modifiers, RichText, Ui};

use super::FormState;
use crate::domain::request::{ALL_SEXES, Field, Sex};
use crate::ui::action::Action;
use crate::ui::{fonts, widgets};

pub(super) fn section_heading(ui: &mut Ui, text: &str) {
    ui.label(RichText::new(text).size(19.0).strong());
    ui.add_space(2.0);
}

pub(super) fn form_grid(id: &str) -> egui::Grid {
    egui::Grid::new(id)
        .num_columns(2)
        .spacing([14.0, 10.0])
        .min_col_width(150.0)
}

/// The letter that picks each sex in the sex choice.
fn sex_key(sex: Sex) -> Key {
    match sex {
        Sex::Female => Key::F,
        Sex::Male => Key::M,
        Sex::Other => Key::O,
        Sex::Unknown => Key::U,
    }
}

pub(super) fn patient_ui(ui: &mut Ui, state: &mut FormState, actions: &mut Vec<Action>) {
    // Alt+U: the unidentified-patient switch, without a Tab stop of its own in the common path.
    if ui.input_mut(|i| i.consume_key(Modifiers::ALT, Key::U)) {
        state.draft.unidentified = !state.draft.unidentified;
        state.focus = Some(state.first_focus());
    }
    ui.horizontal(|ui| {
        section_heading(ui, "Patient");
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            let words = if state.draft.unidentified {
                "Unidentified patient: ON (Alt+U)"
            } else {
                "Unidentified patient (Alt+U)"
            };
            let toggle =
                egui::Button::selectable(state.draft.unidentified, words).sense(egui::Sense::CLICK);
            if ui.add(toggle).clicked() {
                state.draft.unidentified = !state.draft.unidentified;
                state.focus = Some(state.first_focus());
            }
        });
    });
    let mut entered_on_identifier = false;
    form_grid("patient_grid").show(ui, |ui| {
        if state.draft.unidentified {
            let error = state.error(Field::EmergencyNumber);
            let r = widgets::text_field(
                ui,
                Field::EmergencyNumber.label(),
                &mut state.draft.emergency_number,
                "e.g. AE-2026-0042",
                220.0,
                error.as_deref(),
            );
            state.focus_if(Field::EmergencyNumber, &r);
            ui.label("");
            ui.label(
                RichText::new("Recorded as UNKNOWN, Male or Female: choose the sex below.")
                    .color(widgets::MUTED),
            );
            ui.end_row();
        } else {
            let error = state.error(Field::NhsNumber);
            let r = widgets::text_field(
                ui,
                Field::NhsNumber.label(),
                &mut state.draft.nhs_number,
                "999 000 0018, then Enter",
                220.0,
                error.as_deref(),
            );
            entered_on_identifier |= r.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter));
            state.focus_if(Field::NhsNumber, &r);
            let error = state.error(Field::Mrn);
            let r = widgets::text_field(
                ui,
                Field::Mrn.label(),
                &mut state.draft.mrn,
                "from the wristband",
                220.0,
                error.as_deref(),
            );
            entered_on_identifier |= r.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter));
            state.focus_if(Field::Mrn, &r);
            for field in [Field::Surname, Field::Forename] {
                let error = state.error(field);
                let value = match field {
                    Field::Surname => &mut state.draft.surname,
                    _ => &mut state.draft.forename,
                };
                let label = ui.label(RichText::new(field.label()).strong());
                let r = ui
                    .vertical(|ui| {
                        let r = ui
                            .add(egui::TextEdit::singleline(value).desired_width(260.0))
                            .labelled_by(label.id);
                        widgets::keep_in_view(&r);
                        fonts::rtl_preview_ui(ui, value);
                        if let Some(e) = &error {
                            widgets::error_text(ui, e);
                        }
                        r
                    })
                    .inner;
                ui.end_row();
                state.focus_if(field, &r);
            }
        }
        let error = state.error(Field::Dob);
        let r = widgets::text_field(
            ui,
            Field::Dob.label(),
            &mut state.draft.dob,
            "DD/MM/YYYY",
            140.0,
            error.as_deref(),
        );
        state.focus_if(Field::Dob, &r);

        ui.label(RichText::new(Field::Sex.label()).strong());
        ui.vertical(|ui| {
            let options: Vec<widgets::Choice<'_, Sex>> = ALL_SEXES
                .into_iter()
                .map(|s| widgets::Choice {
                    value: s,
                    label: s.label(),
                    key: sex_key(s),
                    colours: None,
                })
                .collect();
            let mut chosen = (state.draft.sex != Sex::Unknown).then_some(state.draft.sex);
            let r = widgets::choice_group(ui, "sex_choice", "Sex", &options, &mut chosen);
            if let Some(sex) = chosen {
                state.draft.sex = sex;
            }
            state.focus_if(Field::Sex, &r);
            ui.label(
                RichText::new("Tab here, then F, M, O or U (or arrows)")
                    .small()
                    .color(widgets::MUTED),
            );
            if let Some(e) = state.error(Field::Sex) {
                widgets::error_text(ui, &e);
            }
        });
        ui.end_row();
    });
    if let Some(s) = &state.suggestion {
        ui.add_space(4.0);
        let p = &s.patient;
        let dob = p
            .dob
            .map(|d| d.format("%d/%m/%Y").to_string())
            .unwrap_or_else(|| "no date of birth".into());
        let text = format!(
            "Known patient: {}, {dob} — press Enter to fill (with {}, {})",
            fonts::display_text(&p.display_name()),
            s.request.ward,
            s.request.consultant
        );
        let button = ui
            .add(egui::Button::new(RichText::new(text).strong()).fill(widgets::OK_FILL))
            .on_hover_text(
                "Copies the name, date of birth, sex and identifiers from the most recent request \
                 with this NHS number or MRN, and its ward, consultant, requester and bleep where \
                 those are blank",
            );
        widgets::keep_in_view(&button);
        if button.clicked() || entered_on_identifier {
            actions.push(Action::FillPatient);
        }
    } else if entered_on_identifier {
        // Enter on an identifier of a patient not on file: on to the name.
        state.focus = Some(Field::Surname);
    }
    for m in &state.mismatches {
        ui.add_space(4.0);
        widgets::mismatch_box(ui, m);
    }
}
