//! Driving the real app through egui_kittest: by the labels on screen, and by key presses that
//! are counted (a chord such as Ctrl+Enter counts as one press). The clock is the test's.

use std::cell::Cell;
use std::rc::Rc;

use chrono::{DateTime, Duration, Utc};
use egui::{Key, Modifiers};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use stopgap::store::Store;
use stopgap::ui::StopgapApp;

/// The app in a test window as big as a ward PC's screen (1366×768).
pub struct App<'a> {
    pub h: Harness<'a, StopgapApp>,
    clock: Rc<Cell<DateTime<Utc>>>,
    /// Key presses sent through [`App::press`], [`App::chord`] and [`App::keys`].
    pub presses: u32,
    pub path: std::path::PathBuf,
}

/// Every test account's password (accounts are made with the fast key derivation).
pub const TEST_PASSWORD: &str = "test password for the ward";

/// The staff ID a test gives a person: the letters and digits of the name, upper case.
pub fn staff_id_of(name: &str) -> String {
    name.chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_uppercase()
}

/// Adds an account for `name` with `role` to the database at `path` (this test process holds
/// its key), unless there is one.
pub fn add_account(path: &std::path::Path, name: &str, role: stopgap::domain::access::Role) {
    let mut store = Store::open(path).unwrap();
    let staff_id = staff_id_of(name);
    if store
        .accounts()
        .unwrap()
        .iter()
        .any(|a| a.staff_id == staff_id && a.removed_ms.is_none())
    {
        return;
    }
    let account = stopgap::store::NewAccount {
        staff_id,
        name: name.to_owned(),
        role,
    };
    store
        .add_account(
            &account,
            TEST_PASSWORD,
            stopgap::store::KdfParams::FAST_FOR_TESTS,
            real_now(),
        )
        .unwrap();
}

/// A set-up store file (RXX/W07, wards "Ward 7" and "AMU") in a temporary directory.
pub fn configured_db() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stopgap.db");
    let mut store = Store::open_or_create(&path).unwrap();
    store.configure(&super::setup()).unwrap();
    (dir, path)
}

/// The clock the real app would read now (its session starts on the real clock).
#[expect(clippy::disallowed_methods, reason = "tests start on the real clock")]
pub fn real_now() -> DateTime<Utc> {
    Utc::now()
}

impl<'a> App<'a> {
    /// The app over `path`, at a ward PC's size, with the clock at the real time.
    pub fn open(path: &std::path::Path) -> Self {
        Self::sized(path, egui::vec2(1366.0, 768.0))
    }

    pub fn sized(path: &std::path::Path, size: egui::Vec2) -> Self {
        let clock = Rc::new(Cell::new(real_now()));
        let c = Rc::clone(&clock);
        // The app's own threads (the file check, backups, exports) report between frames, each
        // report asking for one more frame: a few more steps than egui's default 4 to settle.
        let mut h = Harness::builder()
            .with_size(size)
            .with_max_steps(12)
            .build_ui_state(
                move |ui, app: &mut StopgapApp| app.show_at(ui, c.get()),
                StopgapApp::from_path(path),
            );
        h.run();
        Self {
            h,
            clock,
            presses: 0,
            path: path.to_owned(),
        }
    }

    /// Moves the app's clock on.
    pub fn advance(&mut self, by: Duration) {
        self.clock.set(self.clock.get() + by);
        self.h.run();
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.get()
    }

    pub fn state(&self) -> &StopgapApp {
        self.h.state()
    }

    /// Signs in through the box that opens at start (not counted: once per shift), as a
    /// manager account made for `name` (every tab and action allowed).
    pub fn sign_in(&mut self, name: &str) {
        self.sign_in_as(name, stopgap::domain::access::Role::Manager);
    }

    /// Signs in as `name` with an account of `role` (made if missing).
    pub fn sign_in_as(&mut self, name: &str, role: stopgap::domain::access::Role) {
        add_account(&self.path.clone(), name, role);
        self.type_into("Staff ID", &staff_id_of(name));
        self.type_into("Password", TEST_PASSWORD);
        self.h.key_press(Key::Enter);
        self.h.run();
        assert_eq!(
            self.state().signed_in_user(),
            Some(name),
            "{:?}",
            self.state().form_problems()
        );
    }

    /// Focuses the field named `label` (as a click would) and types `text` into it. Not counted.
    pub fn type_into(&mut self, label: &str, text: &str) {
        self.h.get_by_label(label).focus();
        self.h.run();
        self.h.get_by_label(label).type_text(text);
        self.h.run();
    }

    pub fn click(&mut self, label: &str) {
        self.h.get_by_label(label).click();
        self.h.run();
    }

    /// One counted key press.
    pub fn press(&mut self, key: Key) {
        self.presses += 1;
        self.h.key_press(key);
        self.h.run();
    }

    /// One counted chord, e.g. Ctrl+Enter.
    pub fn chord(&mut self, modifiers: Modifiers, key: Key) {
        self.presses += 1;
        self.h.key_press_modifiers(modifiers, key);
        self.h.run();
    }

    /// Types `text` key by key into whatever has the focus, as a keyboard would: each character is
    /// a key event (so a focused choice takes its letter) and its text. Each character counts.
    pub fn keys(&mut self, text: &str) {
        for ch in text.chars() {
            self.presses += 1;
            let key = Key::from_name(&ch.to_ascii_uppercase().to_string());
            let shift = ch.is_ascii_uppercase();
            let modifiers = if shift {
                Modifiers::SHIFT
            } else {
                Modifiers::NONE
            };
            if let Some(key) = key {
                self.h.key_down_modifiers(modifiers, key);
            }
            self.h.event(egui::Event::Text(ch.to_string()));
            if let Some(key) = key {
                self.h.key_up_modifiers(modifiers, key);
            }
            self.h.run();
        }
    }

    /// `n` counted Tab presses.
    pub fn tab(&mut self, n: u32) {
        for _ in 0..n {
            self.press(Key::Tab);
        }
    }

    /// The value shown in the field named `label`.
    pub fn value(&self, label: &str) -> String {
        self.h.get_by_label(label).value().unwrap_or_default()
    }
}

/// The first manager typed on a new database's first screen, its recovery code acknowledged:
/// the app then shows the workstation set-up. Not counted (once per PC).
pub fn make_first_manager(h: &mut Harness<'_, StopgapApp>) {
    for (label, text) in [
        ("Staff ID", "M0001"),
        ("Full name", "Mina Manager"),
        ("Password", "copper kettle under moss"),
        ("Password again", "copper kettle under moss"),
    ] {
        h.get_by_label(label).focus();
        h.run();
        h.get_by_label(label).type_text(text);
        h.run();
    }
    h.key_press(Key::Enter);
    h.run();
    h.get_by_label("Write down the recovery code");
    h.key_press(Key::Space);
    h.run();
    h.key_press(Key::Enter);
    h.run();
    assert_eq!(h.state().signed_in_user(), Some("Mina Manager"));
}
