//! The screens before the database is open: sign in to an encrypted database, open it with the
//! recovery code, make the first manager of a new (or an older, plain) database, and show the
//! recovery code once. Nothing of any patient is on these screens.

use egui::{Key, RichText, Ui};
use zeroize::Zeroizing;

use super::action::Action;
use super::widgets;

/// Which gate screen, with what has been typed.
#[derive(Debug, Clone, PartialEq)]
pub enum Gate {
    /// An encrypted database: staff ID and password, or the recovery code.
    Unlock {
        staff_id: String,
        password: Zeroizing<String>,
        recovery: Option<Zeroizing<String>>,
        error: Option<String>,
        focus: bool,
    },
    /// A new database, or a plain one to encrypt: its first manager.
    FirstManager {
        encrypt: bool,
        staff_id: String,
        name: String,
        password: Zeroizing<String>,
        again: Zeroizing<String>,
        error: Option<String>,
        focus: bool,
    },
    /// The recovery code, shown once, until the manager says it is written down.
    RecoveryCode {
        code: Zeroizing<String>,
        written: bool,
        /// What the encryption of a plain database copied (rows), said under the code.
        note: Option<String>,
    },
}

impl Gate {
    pub fn unlock() -> Self {
        Gate::Unlock {
            staff_id: String::new(),
            password: Zeroizing::default(),
            recovery: None,
            error: None,
            focus: true,
        }
    }

    pub fn first_manager(encrypt: bool) -> Self {
        Gate::FirstManager {
            encrypt,
            staff_id: String::new(),
            name: String::new(),
            password: Zeroizing::default(),
            again: Zeroizing::default(),
            error: None,
            focus: true,
        }
    }

    /// A refused attempt: said on the screen, passwords cleared.
    pub fn refused(&mut self, why: String) {
        match self {
            Gate::Unlock {
                password,
                error,
                focus,
                ..
            } => {
                *password = Zeroizing::default();
                *error = Some(why);
                *focus = true;
            }
            Gate::FirstManager {
                password,
                again,
                error,
                focus,
                ..
            } => {
                *password = Zeroizing::default();
                *again = Zeroizing::default();
                *error = Some(why);
                *focus = true;
            }
            Gate::RecoveryCode { .. } => {}
        }
    }
}

fn field(
    ui: &mut Ui,
    label: &str,
    text: &mut String,
    secret: bool,
    focus: &mut bool,
) -> egui::Response {
    let l = ui.label(RichText::new(label).strong());
    let r = ui
        .add(
            egui::TextEdit::singleline(text)
                .password(secret)
                .desired_width(340.0),
        )
        .labelled_by(l.id);
    if *focus {
        r.request_focus();
        *focus = false;
    }
    r
}

fn enter(ui: &Ui, r: &egui::Response) -> bool {
    r.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter))
}

/// Draws the gate screen; what is typed becomes an action on Enter.
pub fn gate_ui(ui: &mut Ui, gate: &mut Gate, db_path: &std::path::Path, actions: &mut Vec<Action>) {
    ui.add_space(40.0);
    ui.vertical_centered(|ui| {
        ui.set_max_width(520.0);
        ui.with_layout(egui::Layout::top_down(egui::Align::Min), |ui| match gate {
            Gate::Unlock {
                staff_id,
                password,
                recovery,
                error,
                focus,
            } => {
                ui.label(RichText::new("Sign in to Stopgap").size(26.0).strong());
                ui.label(RichText::new(db_path.display().to_string()).color(widgets::MUTED));
                ui.label("The database is encrypted: your password opens it.");
                ui.add_space(8.0);
                match recovery {
                    None => {
                        let mut f = *focus && staff_id.is_empty();
                        let id = field(ui, "Staff ID", staff_id, false, &mut f);
                        let mut f2 = *focus && !f && !staff_id.is_empty();
                        let pw = field(ui, "Password", password, true, &mut f2);
                        *focus = false;
                        if enter(ui, &id) {
                            pw.request_focus();
                        }
                        if let Some(e) = error {
                            widgets::error_text(ui, e);
                        }
                        ui.add_space(6.0);
                        let go = ui.add(
                            egui::Button::new(RichText::new("Sign in (Enter)").strong())
                                .min_size(egui::vec2(150.0, 34.0)),
                        );
                        if (go.clicked() || enter(ui, &pw)) && !password.is_empty() {
                            actions.push(Action::Unlock {
                                staff_id: staff_id.trim().to_owned(),
                                password: std::mem::take(password),
                            });
                        }
                        ui.add_space(12.0);
                        if ui
                            .button("Every manager's password lost? Use the recovery code")
                            .clicked()
                        {
                            *recovery = Some(Zeroizing::default());
                            *error = None;
                            *focus = true;
                        }
                    }
                    Some(code) => {
                        let r = field(
                            ui,
                            "Recovery code (as printed at set-up)",
                            code,
                            false,
                            focus,
                        );
                        if let Some(e) = error {
                            widgets::error_text(ui, e);
                        }
                        let go = ui
                            .button(RichText::new("Open with the recovery code (Enter)").strong());
                        if go.clicked() || enter(ui, &r) {
                            actions.push(Action::UnlockWithRecovery(std::mem::take(code)));
                        }
                        if ui.button("Back to sign-in").clicked() {
                            *recovery = None;
                            *error = None;
                            *focus = true;
                        }
                    }
                }
            }
            Gate::FirstManager {
                encrypt,
                staff_id,
                name,
                password,
                again,
                error,
                focus,
            } => {
                let title = if *encrypt {
                    "Encrypt this database"
                } else {
                    "Set up Stopgap: the first manager"
                };
                ui.label(RichText::new(title).size(26.0).strong());
                ui.label(RichText::new(db_path.display().to_string()).color(widgets::MUTED));
                if *encrypt {
                    ui.label(
                        "This database was made by an older Stopgap and is not encrypted. \
                         Make its first manager account: the file is then encrypted in place \
                         (every request kept) and opens only with a password.",
                    );
                } else {
                    ui.label(
                        "The database will be encrypted. Its first account is a manager's, who \
                         adds everyone else. Passwords: at least 10 characters; a phrase of \
                         several words is best.",
                    );
                }
                ui.add_space(8.0);
                // At first the staff ID; after a refused password, the password again.
                let filled = !staff_id.trim().is_empty() && !name.trim().is_empty();
                let (mut to_id, mut to_pw) = (*focus && !filled, *focus && filled);
                *focus = false;
                let mut no = false;
                let id = field(ui, "Staff ID", staff_id, false, &mut to_id);
                let n = field(ui, "Full name", name, false, &mut no);
                let p = field(ui, "Password", password, true, &mut to_pw);
                let a = field(ui, "Password again", again, true, &mut no);
                for (from, to) in [(&id, &n), (&n, &p), (&p, &a)] {
                    if enter(ui, from) {
                        to.request_focus();
                    }
                }
                if let Some(e) = error {
                    widgets::error_text(ui, e);
                }
                ui.add_space(6.0);
                let label = if *encrypt {
                    "Encrypt (Enter)"
                } else {
                    "Create (Enter)"
                };
                let go = ui.add(
                    egui::Button::new(RichText::new(label).strong())
                        .min_size(egui::vec2(150.0, 34.0)),
                );
                if go.clicked() || enter(ui, &a) {
                    actions.push(Action::CreateFirstManager {
                        encrypt: *encrypt,
                        staff_id: staff_id.clone(),
                        name: name.clone(),
                        password: std::mem::take(password),
                        again: std::mem::take(again),
                    });
                }
            }
            Gate::RecoveryCode {
                code,
                written,
                note,
            } => {
                ui.label(
                    RichText::new("Write down the recovery code")
                        .size(26.0)
                        .strong(),
                );
                ui.label(
                    "It opens this database if every manager's password is lost. It is shown \
                     now and never again: write it on paper and keep it locked away, off this PC.",
                );
                if let Some(note) = note {
                    ui.label(RichText::new(note.as_str()).color(widgets::MUTED));
                }
                ui.add_space(10.0);
                ui.label(
                    RichText::new(code.as_str())
                        .family(egui::FontFamily::Monospace)
                        .size(21.0)
                        .strong(),
                );
                ui.add_space(10.0);
                let tick = ui.checkbox(
                    written,
                    "I have written it down and will keep it offline (Space)",
                );
                let go = ui.add_enabled(
                    *written,
                    egui::Button::new(RichText::new("Continue (Enter)").strong())
                        .min_size(egui::vec2(150.0, 34.0)),
                );
                // Space ticks the box, then the cursor is on Continue, where Enter goes on.
                if !*written {
                    tick.request_focus();
                } else if tick.has_focus() {
                    go.request_focus();
                }
                if go.clicked() {
                    actions.push(Action::GateContinue);
                }
            }
        });
    });
}
