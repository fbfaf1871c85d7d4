//! Who is at the keyboard. A ward PC is shared, and every saved request and status change is
//! recorded under the account signed in: staff ID and password, checked against the account's
//! own key slot. After a few minutes away the screen locks (every patient detail hidden, the
//! draft kept) until a password is typed, so nothing is seen or recorded under whoever used the
//! PC before. A nurse with no account can still log an urgent request (an emergency session).

use chrono::{DateTime, Duration, Utc};
use egui::{Key, RichText, Ui};
use zeroize::Zeroizing;

use super::action::Action;
use super::widgets;
use crate::domain::access::Principal;
pub use crate::domain::text::{USER_MAX, check_user};

/// Minutes without a key press or click after which the screen locks, unless set otherwise.
pub const DEFAULT_AUTO_LOCK_MINUTES: i64 = 5;
/// Hours after which a sign-in ends anyway (a long shift).
pub const SHIFT_HOURS: i64 = 13;

/// The person signed in.
#[derive(Debug, Clone, PartialEq)]
pub struct SignedIn {
    /// The name shown in the top bar ("N Bloggs").
    pub name: String,
    /// Who the store works for (recorded as "N Bloggs (N1001)" in every event).
    pub principal: Principal,
    pub since: DateTime<Utc>,
    pub last_active: DateTime<Utc>,
}

impl SignedIn {
    pub fn new(principal: Principal, now: DateTime<Utc>) -> Self {
        let name = match &principal {
            Principal::Account { name, .. } | Principal::Emergency { name, .. } => name.clone(),
            Principal::System => "Stopgap".to_owned(),
        };
        Self {
            name,
            principal,
            since: now,
            last_active: now,
        }
    }

    /// The name every event records.
    pub fn recorded(&self) -> String {
        self.principal.recorded_name()
    }

    pub fn is_emergency(&self) -> bool {
        matches!(self.principal, Principal::Emergency { .. })
    }

    /// Why this sign-in has ended by `now`, if it has: `lock_after` minutes away, or a shift.
    pub fn expired(&self, now: DateTime<Utc>, lock_after: i64) -> Option<String> {
        if now - self.last_active >= Duration::minutes(lock_after) {
            Some(format!(
                "Locked after {lock_after} minutes away from the keyboard ({} was signed in).",
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
    pub staff_id: String,
    pub password: Zeroizing<String>,
    /// The emergency form (no account) instead of the sign-in.
    pub emergency: bool,
    pub emergency_name: String,
    pub emergency_id: String,
    pub error: Option<String>,
    /// Why the box opened by itself (locked while away, or a save needing a sign-in).
    pub reason: Option<String>,
    /// What to do once signed in (the save that asked for a sign-in).
    pub then: Option<Box<Action>>,
    /// The screen is locked: the box cannot be closed without signing in.
    pub locked: bool,
    focus: bool,
}

impl SignInState {
    /// Opens the box (empty), to run `then` once someone has signed in.
    pub fn open(&mut self, then: Option<Action>) {
        let locked = self.locked;
        *self = Self::default();
        self.open = true;
        self.locked = locked;
        self.then = then.map(Box::new);
        self.focus = true;
    }

    /// Opens the box over a locked screen: only a sign-in (or an emergency request) gets past.
    pub fn open_locked(&mut self, reason: Option<String>) {
        self.locked = true;
        self.open(None);
        self.reason = reason;
    }

    pub fn close(&mut self) {
        *self = Self::default();
    }

    pub fn is_open(&self) -> bool {
        self.open
    }

    /// A refused sign-in: the password is cleared, the cursor goes back to it.
    pub fn refused(&mut self, why: String) {
        self.password = Zeroizing::new(String::new());
        self.error = Some(why);
        self.focus = true;
    }
}

/// The sign-in box, over everything else; Enter signs in, Escape closes it (unless locked).
pub fn sign_in_ui(ui: &mut Ui, state: &mut SignInState, actions: &mut Vec<Action>) {
    if !state.open {
        return;
    }
    let modal = egui::Modal::new(egui::Id::unique("sign_in")).show(ui.ctx(), |ui| {
        ui.set_width(480.0);
        if state.emergency {
            emergency_ui(ui, state, actions);
        } else {
            account_ui(ui, state, actions);
        }
    });
    if modal.should_close() && !state.locked {
        actions.push(Action::CancelSignIn);
    }
}

fn account_ui(ui: &mut Ui, state: &mut SignInState, actions: &mut Vec<Action>) {
    let title = if state.locked {
        "Stopgap is locked"
    } else {
        "Sign in"
    };
    ui.label(RichText::new(title).size(22.0).strong());
    if let Some(reason) = &state.reason {
        ui.label(RichText::new(reason).color(widgets::WARNING_TEXT));
    }
    ui.label("Every request and change you make is recorded under your account.");
    ui.add_space(6.0);
    let id_label = ui.label(RichText::new("Staff ID").strong());
    let id_field = ui
        .add(
            egui::TextEdit::singleline(&mut state.staff_id)
                .hint_text("as on your badge, e.g. N1001")
                .desired_width(300.0),
        )
        .labelled_by(id_label.id);
    if state.focus && state.staff_id.is_empty() {
        id_field.request_focus();
        state.focus = false;
    }
    let pw_label = ui.label(RichText::new("Password").strong());
    let pw_field = ui
        .add(
            egui::TextEdit::singleline(&mut *state.password)
                .password(true)
                .desired_width(300.0),
        )
        .labelled_by(pw_label.id);
    widgets::keep_in_view(&pw_field);
    if state.focus {
        pw_field.request_focus();
        state.focus = false;
    }
    if let Some(e) = &state.error {
        widgets::error_text(ui, e);
    }
    let enter = ui.input(|i| i.key_pressed(Key::Enter));
    let entered = enter && (pw_field.lost_focus() || id_field.lost_focus());
    if enter && id_field.lost_focus() && state.password.is_empty() {
        // Enter after the staff ID moves on to the password, as Tab does.
        pw_field.request_focus();
    }
    ui.add_space(6.0);
    ui.horizontal(|ui| {
        let go = ui.add(
            egui::Button::new(RichText::new("Sign in (Enter)").strong())
                .min_size(egui::vec2(150.0, 34.0)),
        );
        if go.clicked() || (entered && !state.password.is_empty()) {
            if state.staff_id.trim().is_empty() {
                state.refused("Type your staff ID.".to_owned());
            } else {
                actions.push(Action::SignIn {
                    staff_id: state.staff_id.trim().to_owned(),
                    password: std::mem::take(&mut state.password),
                });
            }
        }
        if !state.locked && ui.button("Not now (Esc)").clicked() {
            actions.push(Action::CancelSignIn);
        }
    });
    ui.add_space(10.0);
    ui.separator();
    let emergency = ui
        .button("No account on this PC? Log an urgent request (F12)")
        .on_hover_text("Name and staff ID only: you can log requests, nothing else");
    if emergency.clicked() || ui.input(|i| i.key_pressed(Key::F12)) {
        state.emergency = true;
        state.error = None;
        state.focus = true;
    }
}

fn emergency_ui(ui: &mut Ui, state: &mut SignInState, actions: &mut Vec<Action>) {
    ui.label(
        RichText::new("Urgent request without an account")
            .size(22.0)
            .strong(),
    );
    ui.label(
        "You can log requests and see their confirmations only: not the queue or any other \
         patient. A manager sees this session in the audit.",
    );
    ui.add_space(6.0);
    let name_label = ui.label(RichText::new("Your name").strong());
    let name = ui
        .add(egui::TextEdit::singleline(&mut state.emergency_name).desired_width(300.0))
        .labelled_by(name_label.id);
    if state.focus {
        name.request_focus();
        state.focus = false;
    }
    let id_label = ui.label(RichText::new("Your staff ID").strong());
    let id = ui
        .add(egui::TextEdit::singleline(&mut state.emergency_id).desired_width(300.0))
        .labelled_by(id_label.id);
    if let Some(e) = &state.error {
        widgets::error_text(ui, e);
    }
    let entered = id.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter));
    ui.add_space(6.0);
    ui.horizontal(|ui| {
        let go = ui.add(
            egui::Button::new(RichText::new("Start (Enter)").strong())
                .min_size(egui::vec2(150.0, 34.0)),
        );
        if go.clicked() || entered {
            actions.push(Action::StartEmergency {
                staff_id: state.emergency_id.clone(),
                name: state.emergency_name.clone(),
            });
        }
        if ui.button("Back to sign-in").clicked() {
            state.emergency = false;
            state.error = None;
            state.focus = true;
        }
    });
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

    fn nurse() -> Principal {
        Principal::Account {
            staff_id: "N1001".into(),
            name: "N Bloggs".into(),
            role: crate::domain::access::Role::Ward,
        }
    }

    #[test]
    fn a_sign_in_locks_after_time_away_and_ends_after_a_shift() {
        let mut user = SignedIn::new(nurse(), at(7, 0));
        assert_eq!(user.expired(at(7, 4), 5), None);
        assert!(user.expired(at(7, 5), 5).is_some());
        user.last_active = at(19, 50);
        assert_eq!(user.expired(at(19, 54), 5), None);
        assert!(user.expired(at(20, 0), 5).is_some());
        assert_eq!(user.recorded(), "N Bloggs (N1001)");
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
