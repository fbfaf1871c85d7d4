//! Who sees what: the screen locks after minutes away and no patient is drawn; an emergency
//! session logs a request but never sees the queue; a ward account is refused an export by the
//! store, whatever the screen offers.
#![allow(clippy::unwrap_used, reason = "a test fails loudly on purpose")]

use chrono::Duration;
use egui::Key;
use egui_kittest::kittest::Queryable as _;
use stopgap::domain::access::Role;
use stopgap::domain::audit::AuditAction;
use stopgap::store::{AuditFilter, Store};

use crate::common::ui::{App, configured_db};

fn saved(path: &std::path::Path, n: u32) -> String {
    let mut store = Store::open(path).unwrap();
    let mut draft = crate::common::draft(n);
    draft.surname = "Quimby".into();
    draft.forename = "Zainab".into();
    let request = draft
        .validate(
            crate::common::now(),
            &chrono::Utc,
            &stopgap::domain::catalogue::Catalogue::default_uk().unwrap(),
        )
        .unwrap();
    store
        .save_request(&request, "Ward Nurse (W1)", crate::common::now())
        .unwrap()
        .downtime_id
        .grouped()
}

#[test]
fn after_five_minutes_away_the_queue_is_locked_and_no_patient_name_is_drawn() {
    let (_dir, path) = configured_db();
    saved(&path, 24);
    let mut app = App::open(&path);
    app.sign_in("Lab Manager");
    app.press(Key::F3);
    assert_eq!(
        app.h.get_all_by_label("QUIMBY, Zainab").count(),
        1,
        "shown while signed in"
    );
    app.advance(Duration::minutes(4));
    assert_eq!(
        app.h.get_all_by_label("QUIMBY, Zainab").count(),
        1,
        "not locked at 4 minutes"
    );
    app.advance(Duration::minutes(2));
    assert_eq!(app.state().signed_in_user(), None);
    assert!(
        app.h.query_by_label("QUIMBY, Zainab").is_none(),
        "hidden once locked"
    );
    app.h
        .get_by_label("Requests are hidden while Stopgap is locked");
    // Escape does not get past the lock.
    app.press(Key::Escape);
    assert!(app.h.query_by_label("QUIMBY, Zainab").is_none());
    let store = Store::open(&path).unwrap();
    let locks = store
        .audit_records(&AuditFilter {
            action: Some(AuditAction::Locked),
            ..AuditFilter::default()
        })
        .unwrap();
    assert_eq!(locks.len(), 1);
    assert!(locks[0].detail.contains("5 minutes away"), "{:?}", locks[0]);
    app.sign_in("Lab Manager");
    assert_eq!(
        app.h.get_all_by_label("QUIMBY, Zainab").count(),
        1,
        "back after the password"
    );
}

#[test]
fn an_emergency_session_logs_a_request_by_keyboard_but_never_sees_the_queue() {
    let (_dir, path) = configured_db();
    saved(&path, 24);
    let mut app = App::open(&path);
    // F12 from the locked screen: the emergency form, name then staff ID.
    app.press(Key::F12);
    app.h.get_by_label("Urgent request without an account");
    app.keys("Ola Agency");
    app.press(Key::Tab);
    app.keys("AG77");
    app.press(Key::Enter);
    assert_eq!(app.state().signed_in_user(), Some("Ola Agency"));
    app.h.get_by_label("emergency: requests only");
    // The queue is refused, and nothing of the other patient is drawn.
    app.press(Key::F3);
    app.h
        .get_by_label_contains("An emergency session can only log requests");
    assert!(app.h.query_by_label("QUIMBY, Zainab").is_none());
    app.type_into("NHS number", "999 000 0026");
    crate::form::fill_bloggs(&mut app);
    app.chord(egui::Modifiers::COMMAND, Key::Enter);
    let id = app
        .state()
        .confirmed_id()
        .expect("the confirmation is shown")
        .to_owned();
    app.h.get_by_label(&id);
    let store = Store::open(&path).unwrap();
    let found = store
        .find_by_downtime_id(&stopgap::domain::downtime_id::DowntimeId::parse(&id).unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(
        found.state.created_by.user,
        "Ola Agency (AG77, emergency, no account)"
    );
    let flagged = store
        .audit_records(&AuditFilter {
            action: Some(AuditAction::EmergencySession),
            ..AuditFilter::default()
        })
        .unwrap();
    assert_eq!(flagged.len(), 1);
    assert_eq!(flagged[0].staff_id, "AG77");
}

#[test]
fn a_ward_account_signed_in_at_the_app_is_refused_export_by_the_store() {
    let (_dir, path) = configured_db();
    saved(&path, 24);
    let mut app = App::open(&path);
    app.sign_in_as("Nia Nurse", Role::Ward);
    app.click("Lab export");
    app.click("Export backlog");
    app.h.get_by_label_contains("Write unencrypted").click();
    app.h.run();
    app.click("Export");
    // The export runs on its own thread: its refusal arrives a few frames later.
    let start = std::time::Instant::now();
    while app
        .h
        .query_by_label_contains("may not export the backlog")
        .is_none()
    {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(20),
            "no refusal shown"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
        app.h.run();
    }
    assert!(Store::open(&path).unwrap().batches().unwrap().is_empty());
}
