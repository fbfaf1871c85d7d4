//! Who is at the keyboard. A ward PC is shared, and every saved request and status change is
//! recorded under a person: the name is asked once per sign-in (not per request), shown on every
//! screen, and forgotten after a spell away from the keyboard or at the end of a shift, so a
//! change is never recorded under whoever used the PC before.

use chrono::{DateTime, Duration, Utc};
use egui::{Key, RichText, Ui};

use super::action::Action;
use super::widgets;
pub use crate::domain::text::{USER_MAX, check_user};

/// Minutes without a key press or click after which the user is signed out.
pub const IDLE_SIGN_OUT_MINUTES: i64 = 30;
/// Hours after which a sign-in ends anyway (a long shift).
pub const SHIFT_HOURS: i64 = 13;

/// The person signed in.
#[derive(Debug, Clone, PartialEq)]
pub struct SignedIn {
    pub name: String,
    pub since: DateTime<Utc>,
    pub last_active: DateTime<Utc>,
}

impl SignedIn {
    pub fn new(name: String, now: DateTime<Utc>) -> Self {
        Self {
            name,
            since: now,
            last_active: now,
        }
    }

    /// Why this sign-in has ended by `now`, if it has.
    pub fn expired(&self, now: DateTime<Utc>) -> Option<String> {
        if now - self.last_active >= Duration::minutes(IDLE_SIGN_OUT_MINUTES) {
            Some(format!(
                "{} was signed out after {IDLE_SIGN_OUT_MINUTES} minutes away from the keyboard.",
                self.name
            ))
        } else if now - self.since >= Duration::hours(SHIFT_HOURS) {
            Some(format!(
                "{} was signed out at the end of a {SHIFT_HOURS}-hour shift.",
                self.name
            ))
        } else {
            None
        }
    }
}

/// The sign-in box's view state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SignInState {
    open: bool,
    pub typed: String,
    pub error: Option<String>,
    /// Why the box opened by itself (signed out while away, or a save needing a name).
    pub reason: Option<String>,
    /// What to do once signed in (the save that asked for a name).
    pub then: Option<Box<Action>>,
    focus: bool,
}

impl SignInState {
    /// Opens the box (empty), to run `then` once someone has signed in.
    pub fn open(&mut self, then: Option<Action>) {
        self.open = true;
        self.typed.clear();
        self.error = None;
        self.reason = None;
        self.then = then.map(Box::new);
        self.focus = true;
    }

    pub fn close(&mut self) {
        *self = Self::default();
    }

    pub fn is_open(&self) -> bool {
        self.open
    }
}

/// The sign-in box, over everything else; Enter signs in, Escape closes it.
pub fn sign_in_ui(ui: &mut Ui, state: &mut SignInState, actions: &mut Vec<Action>) {
    if !state.open {
        return;
    }
    let modal = egui::Modal::new(egui::Id::unique("sign_in")).show(ui.ctx(), |ui| {
        ui.set_width(460.0);
        ui.label(RichText::new("Who is using this PC?").size(22.0).strong());
        if let Some(reason) = &state.reason {
            ui.label(RichText::new(reason).color(widgets::WARNING_TEXT));
        }
        ui.label(
            "Every request and change you make is recorded under this name until you sign out \
             or are away for a while.",
        );
        ui.add_space(6.0);
        let label = ui.label(RichText::new("Your name or staff ID").strong());
        let field = ui
            .add(
                egui::TextEdit::singleline(&mut state.typed)
                    .hint_text("e.g. J Smith / 123456")
                    .desired_width(300.0),
            )
            .labelled_by(label.id);
        widgets::keep_in_view(&field);
        if state.focus {
            field.request_focus();
            state.focus = false;
        }
        if let Some(e) = &state.error {
            widgets::error_text(ui, e);
        }
        let entered = field.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter));
        ui.add_space(6.0);
        ui.horizontal(|ui| {
            let go = ui.add(
                egui::Button::new(RichText::new("Sign in (Enter)").strong())
                    .min_size(egui::vec2(150.0, 34.0)),
            );
            if go.clicked() || entered {
                match check_user(&state.typed) {
                    Ok(name) => actions.push(Action::SignIn(name)),
                    Err(e) => {
                        state.error = Some(e.to_string());
                        state.focus = true;
                    }
                }
            }
            let later = ui.button("Not now (Esc)");
            if later.clicked() {
                actions.push(Action::CancelSignIn);
            }
        });
    });
    if modal.should_close() {
        actions.push(Action::CancelSignIn);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, 4, h, m, 0)
            .single()
            .unwrap_or_default()
    }

    #[test]
    fn a_sign_in_ends_after_time_away_and_after_a_shift() {
        let mut user = SignedIn::new("N Bloggs".into(), at(7, 0));
        assert_eq!(user.expired(at(7, 29)), None);
        assert!(user.expired(at(7, 30)).is_some());
        user.last_active = at(19, 50);
        assert_eq!(user.expired(at(19, 55)), None);
        assert!(user.expired(at(20, 0)).is_some());
    }

    #[test]
    fn user_names_get_the_same_hygiene_as_patient_names() {
        assert_eq!(check_user("  N Bloggs ").as_deref(), Ok("N Bloggs"));
        assert!(check_user("").is_err());
        assert!(check_user("--").is_err());
        assert!(check_user("N\u{1b}[31mBloggs").is_err());
        assert!(check_user("Bloggs\u{202e}").is_err());
        assert!(check_user(&"x".repeat(61)).is_err());
    }
}
