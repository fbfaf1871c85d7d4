//! The new-request form: keyboard first, one Tab stop per field (choices such as sex and
//! priority are one stop each, changed with arrows or their letter), errors beside their fields
//! and beside Save, identity checks against what is on file, and a clear confirmation afterwards.
//!
//! - `mod.rs` (here): the form's state and layout.
//! - `patient.rs`: the patient fields and the offer to fill a known patient.
//! - `request.rs`: priority, tests, requester, ward and collection.
//! - `save_bar.rs`: warnings, Save, the confirmation and the identity-mismatch box.

mod patient;
mod request;
mod save_bar;

use chrono::{DateTime, Local, Utc};
use egui::{Response, Ui};

pub use save_bar::{Confirmation, IdentityPrompt};

use super::action::Action;
use crate::domain::catalogue::Catalogue;
use crate::domain::request::{Field, FieldError, NewRequest, Patient, RequestDraft, Sex};

/// An earlier request found for the typed NHS number or MRN, offered to fill the form.
#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    pub patient: Patient,
    /// Its ward, consultant, requester and bleep fill those fields where they are blank.
    pub request: NewRequest,
}

/// The form's view state.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FormState {
    pub draft: RequestDraft,
    /// Problems from the last check; filled on a save attempt, then kept up to date.
    pub errors: Vec<FieldError>,
    pub tried_save: bool,
    /// Warnings for a complete form (computed when the draft changes).
    pub warnings: Vec<String>,
    /// Identity mismatches with what is on file for the typed NHS number or MRN, in words.
    pub mismatches: Vec<String>,
    /// The latest request for the typed NHS number or MRN, offered while the patient is blank.
    pub suggestion: Option<Suggestion>,
    pub confirmation: Option<Confirmation>,
    /// When the draft shown was kept (restored after the app closed), until dismissed.
    pub restored_at: Option<DateTime<Utc>>,
    /// The box asking why the request should be saved despite an identity mismatch.
    pub identity_prompt: Option<IdentityPrompt>,
    /// The mismatches the reason in the draft was given for (a reason never carries over to
    /// other details).
    pub reason_given_for: Vec<String>,
    pub test_query: String,
    /// Which match Enter picks (moved with the arrow keys).
    pub test_highlight: usize,
    /// Which picked test Delete removes (moved with the arrow keys).
    pub chip_highlight: usize,
    pub confirm_clear: bool,
    /// A field to move the keyboard focus to on the next frame.
    pub focus: Option<Field>,
    /// The collection date and time follow the clock until the user changes them; they are
    /// fixed when the request is saved.
    pub collected_auto: bool,
    /// The "collected by" name filled in from the signed-in user, while it is unchanged.
    pub collected_by_auto: Option<String>,
}

impl FormState {
    /// A blank form whose collection time follows the clock.
    pub fn fresh(now: DateTime<Utc>) -> Self {
        Self {
            draft: RequestDraft::new(now, &Local),
            collected_auto: true,
            ..Self::default()
        }
    }

    /// The form for the next request: the workstation's ward, collected now by the user, with
    /// the previous request's confirmation (if one was just saved) above it.
    pub fn next(
        now: DateTime<Utc>,
        ward: Option<String>,
        user: Option<&str>,
        confirmation: Option<Confirmation>,
    ) -> Self {
        let mut form = Self::fresh(now);
        form.draft.ward = ward.unwrap_or_default();
        form.set_user(user);
        form.confirmation = confirmation;
        form.focus = Some(Field::NhsNumber);
        form
    }

    /// A draft kept when the app last closed. Its collection time is kept as it was (it may be
    /// when the sample was really taken) and the form says it was restored.
    pub fn restored(draft: RequestDraft, saved_at: DateTime<Utc>) -> Self {
        Self {
            draft,
            restored_at: Some(saved_at),
            collected_auto: false,
            ..Self::default()
        }
    }

    /// The first field a new form starts in.
    pub fn first_focus(&self) -> Field {
        if self.draft.unidentified {
            Field::EmergencyNumber
        } else {
            Field::NhsNumber
        }
    }

    /// The signed-in user changed: "collected by" follows them unless it was typed by hand.
    pub fn set_user(&mut self, user: Option<&str>) {
        let untouched = self.draft.collected_by.trim().is_empty()
            || self.collected_by_auto.as_deref() == Some(self.draft.collected_by.as_str());
        if untouched {
            self.draft.collected_by = user.unwrap_or_default().to_owned();
            self.collected_by_auto = user.map(str::to_owned);
        }
    }

    /// Moves the collection date and time on to `now` while they follow the clock (called every
    /// frame, and at the moment of saving, so a saved time is the save time, never a stale one).
    pub fn follow_clock(&mut self, now: DateTime<Utc>) {
        if self.collected_auto {
            let local = now.with_timezone(&Local);
            let date = local.format("%d/%m/%Y").to_string();
            let time = local.format("%H:%M").to_string();
            if self.draft.collected_date != date {
                self.draft.collected_date = date;
            }
            if self.draft.collected_time != time {
                self.draft.collected_time = time;
            }
        }
    }

    /// The form was changed: the confirmation above it now belongs to the previous patient.
    pub fn touch_confirmation(&mut self) {
        if let Some(c) = &mut self.confirmation {
            c.is_previous = true;
        }
    }

    /// Whether no patient detail has been typed yet (only identifiers), so filling the patient
    /// from an earlier request overwrites nothing.
    pub fn patient_details_blank(&self) -> bool {
        let d = &self.draft;
        d.surname.trim().is_empty()
            && d.forename.trim().is_empty()
            && d.dob.trim().is_empty()
            && d.sex == Sex::Unknown
    }

    /// Fills the patient from the offered earlier request, and its ward, consultant, requester
    /// and bleep where those are blank; then moves to the first field still to fill.
    pub fn fill_from_suggestion(&mut self) {
        let Some(s) = self.suggestion.take() else {
            return;
        };
        self.draft.fill_patient(&s.patient);
        let d = &mut self.draft;
        for (field, earlier) in [
            (&mut d.ward, &s.request.ward),
            (&mut d.consultant, &s.request.consultant),
            (&mut d.requester, &s.request.requester),
            (&mut d.requester_contact, &s.request.requester_contact),
        ] {
            if field.trim().is_empty() {
                field.clone_from(earlier);
            }
        }
        self.focus = Some(self.first_blank());
    }

    /// The first required request field still blank (where the cursor goes after a fill).
    fn first_blank(&self) -> Field {
        let d = &self.draft;
        if d.priority.is_none() {
            Field::Priority
        } else if d.tests.is_empty() {
            Field::Tests
        } else if d.consultant.trim().is_empty() {
            Field::Consultant
        } else if d.requester.trim().is_empty() {
            Field::Requester
        } else if d.requester_contact.trim().is_empty() {
            Field::RequesterContact
        } else {
            Field::Ward
        }
    }

    /// Opens the box asking why to save despite the mismatches listed.
    pub fn ask_identity_reason(&mut self, messages: Vec<String>) {
        self.draft.identity_reason.clear();
        self.identity_prompt = Some(IdentityPrompt::new(messages));
    }

    fn error(&self, field: Field) -> Option<String> {
        let messages: Vec<&str> = self
            .errors
            .iter()
            .filter(|e| e.field == field)
            .map(|e| e.message.as_str())
            .collect();
        (!messages.is_empty()).then(|| messages.join("; "))
    }

    /// Moves the focus to `response` if `field` asked for it.
    fn focus_if(&mut self, field: Field, response: &Response) {
        if self.focus == Some(field) {
            response.request_focus();
            response.scroll_to_me(None);
            self.focus = None;
        }
    }
}

/// What the form reads but does not change.
pub struct FormData<'a> {
    pub catalogue: &'a Catalogue,
    pub wards: &'a [crate::domain::ward::Ward],
    pub user: Option<&'a str>,
    pub now: DateTime<Utc>,
}

pub fn form_ui(ui: &mut Ui, state: &mut FormState, data: &FormData<'_>, actions: &mut Vec<Action>) {
    state.follow_clock(data.now);
    let before = state.draft.clone();
    // The save bar (warnings and Save) is its own panel at the bottom, so no warning can push
    // Save off the screen; the form scrolls above it.
    egui::Panel::bottom("save_bar")
        .frame(
            egui::Frame::new()
                .fill(ui.visuals().panel_fill)
                .inner_margin(egui::Margin::symmetric(0, 6)),
        )
        .show(ui, |ui| {
            save_bar::save_bar_ui(ui, state, data, actions);
        });
    egui::CentralPanel::default()
        .frame(egui::Frame::new())
        .show(ui, |ui| {
            save_bar::above_form_ui(ui, state, actions);
            egui::ScrollArea::vertical()
                .id_salt("form_scroll")
                .auto_shrink([false, false])
                .show(ui, |ui| {
                    ui.columns(2, |columns| {
                        if let [left, right] = columns {
                            patient::patient_ui(left, state, actions);
                            left.add_space(12.0);
                            request::tubes_ui(left, state, data.catalogue);
                            request::request_ui(right, state, data);
                        }
                    });
                });
        });
    save_bar::identity_prompt_ui(ui, state, actions);
    if state.draft != before {
        actions.push(Action::DraftChanged);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_for_one_field_are_joined() {
        let s = FormState {
            errors: vec![
                FieldError {
                    field: Field::Tests,
                    message: "a".into(),
                },
                FieldError {
                    field: Field::Tests,
                    message: "b".into(),
                },
            ],
            ..FormState::default()
        };
        assert_eq!(s.error(Field::Tests).as_deref(), Some("a; b"));
        assert_eq!(s.error(Field::Surname), None);
    }

    #[test]
    fn collected_by_follows_the_user_until_typed_by_hand() {
        let mut s = FormState::default();
        s.set_user(Some("N Bloggs"));
        assert_eq!(s.draft.collected_by, "N Bloggs");
        s.set_user(Some("A Other"));
        assert_eq!(s.draft.collected_by, "A Other");
        s.draft.collected_by = "HCA Patel".into();
        s.set_user(Some("N Bloggs"));
        assert_eq!(s.draft.collected_by, "HCA Patel");
    }
}
