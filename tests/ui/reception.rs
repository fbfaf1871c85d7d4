//! Lab reception by scan (issue 10), driven through the real app over a real SQLite file, keyboard
//! only: the scanner types the downtime ID and Enter, Enter receives, F8 and a number reject;
//! a second scan records nothing; a misread ID is refused at once. The store is asked what was
//! recorded.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on purpose"
)]

use egui::Key;
use egui_kittest::kittest::Queryable as _;
use stopgap::domain::downtime_id::DowntimeId;
use stopgap::domain::event::EventKind;
use stopgap::domain::status::{Status, Transition};
use stopgap::store::{RequestDetail, Store};
use stopgap::ui::reception::{SCAN_LABEL, Tally};
use uuid::Uuid;

use crate::common::ui::{App, configured_db};

/// Saves synthetic request `n` as a ward PC would, and returns its UUID and downtime ID (grouped).
fn saved(path: &std::path::Path, n: u32) -> (Uuid, String) {
    let mut store = Store::open_or_create(path).unwrap();
    let request = crate::common::request(n);
    let saved = store
        .save_request(&request, "Ward Nurse", crate::common::now())
        .unwrap();
    (request.uuid, saved.downtime_id.grouped())
}

fn detail(path: &std::path::Path, uuid: Uuid) -> RequestDetail {
    Store::open(path)
        .unwrap()
        .request_detail(uuid)
        .unwrap()
        .unwrap()
}

/// The app signed in as `user` on the reception tab, opened by its key.
fn reception<'a>(path: &std::path::Path, user: &str) -> App<'a> {
    let mut app = App::open(path);
    app.sign_in(user);
    app.press(Key::F4);
    app.presses = 0;
    app
}

/// Whether some text on screen contains `text` (the latest line is also the log's first).
fn shows(app: &App<'_>, text: &str) -> bool {
    app.h.query_all_by_label_contains(text).next().is_some()
}

/// What a barcode scanner sends: the ID's characters, then Enter.
fn scan(app: &mut App<'_>, id: &str) {
    app.keys(id);
    app.press(Key::Enter);
}

#[test]
fn a_scanned_id_shows_the_request_and_enter_receives_it_under_the_signed_in_user() {
    let (_dir, path) = configured_db();
    let (uuid, id) = saved(&path, 1);
    let mut app = reception(&path, "J Smith");
    // The scan field has the cursor as the screen opens: nothing is clicked first.
    scan(&mut app, &id);
    let shown = app.state().reception().shown.as_ref().unwrap();
    assert_eq!(shown.detail.state.request.uuid, uuid);
    assert!(shown.receivable);
    app.h.get_by_label(&id);
    assert!(shows(&app, "TESTPATIENT"));
    app.h.get_by_label("Receive (Enter)");
    assert_eq!(detail(&path, uuid).state.status, Status::Logged);

    let before = app.presses;
    app.press(Key::Enter);
    assert_eq!(app.presses - before, 1, "one key press receives");
    let d = detail(&path, uuid);
    assert_eq!(d.state.status, Status::Received);
    let last = d.events.last().unwrap();
    assert_eq!(last.actor.user, "J Smith (JSMITH)");
    assert_eq!(
        last.kind,
        EventKind::StatusChanged {
            transition: Transition::Received
        }
    );
    assert!(shows(&app, &format!("{id} received")));
    assert!(shows(&app, "by J Smith"));
    // The field is empty and ready for the next scan.
    assert_eq!(app.value(SCAN_LABEL), "");
    assert_eq!(app.state().reception().tally.received, 1);
}

#[test]
fn a_second_scan_of_a_received_sample_says_already_received_and_records_nothing() {
    let (_dir, path) = configured_db();
    let (uuid, id) = saved(&path, 1);
    let mut app = reception(&path, "J Smith");
    scan(&mut app, &id);
    app.press(Key::Enter);
    let events = detail(&path, uuid).events.len();

    // Typed by hand this time: lower case, no dashes.
    scan(&mut app, &id.replace('-', "").to_lowercase());
    assert!(shows(&app, &format!("{id} already received")));
    assert!(shows(&app, "nothing recorded"));
    assert!(!app.state().reception().shown.as_ref().unwrap().receivable);
    assert!(app.h.query_by_label("Receive (Enter)").is_none());
    // Enter again does not receive it twice.
    app.press(Key::Enter);
    assert_eq!(detail(&path, uuid).events.len(), events);
    assert_eq!(
        app.state().reception().tally,
        Tally {
            received: 1,
            already: 1,
            ..Tally::default()
        }
    );
}

#[test]
fn a_wrong_check_character_is_refused_at_once_and_nothing_is_recorded() {
    let (_dir, path) = configured_db();
    let (uuid, id) = saved(&path, 1);
    let mut app = reception(&path, "J Smith");
    let last = id.chars().last().unwrap();
    let wrong = if last == 'A' { 'B' } else { 'A' };
    let misread = format!("{}{wrong}", &id[..id.len() - 1]);
    scan(&mut app, &misread);
    assert!(shows(&app, "wrong check character"));
    assert!(app.state().reception().shown.is_none());
    assert_eq!(app.value(SCAN_LABEL), "", "cleared for the next scan");
    app.press(Key::Enter);
    let d = detail(&path, uuid);
    assert_eq!(d.state.status, Status::Logged);
    assert_eq!(d.events.len(), 1);
    assert_eq!(app.state().reception().tally.not_found, 1);

    // The field is still ready: the right ID scanned next is found.
    scan(&mut app, &id);
    assert!(app.state().reception().shown.is_some());
}

#[test]
fn an_id_not_on_this_pc_is_reported_as_not_found() {
    let (_dir, path) = configured_db();
    let (_, id) = saved(&path, 1);
    // The same workstation's next number, never saved here.
    let saved = DowntimeId::parse(&id).unwrap();
    let (site, workstation) = (saved.site().clone(), saved.workstation().clone());
    let sequence = DowntimeId::next_issuable(&site, &workstation, saved.sequence()).unwrap();
    let next = DowntimeId::new(site, workstation, sequence)
        .unwrap()
        .grouped();
    let mut app = reception(&path, "J Smith");
    scan(&mut app, &next);
    assert!(shows(&app, &format!("{next} is not on this PC")));
    assert_eq!(app.state().reception().tally.not_found, 1);
}

#[test]
fn reject_with_a_reason_chosen_by_keyboard_records_that_reason() {
    let (_dir, path) = configured_db();
    let (first, first_id) = saved(&path, 1);
    let (second, second_id) = saved(&path, 2);
    let mut app = reception(&path, "J Smith");

    scan(&mut app, &first_id);
    app.press(Key::F8);
    assert!(shows(&app, "3  Haemolysed"));
    // The number key chooses; it types nothing into the scan field.
    app.keys("3");
    assert_eq!(app.value(SCAN_LABEL), "");
    app.press(Key::Enter);
    let d = detail(&path, first);
    assert_eq!(d.state.status, Status::Rejected);
    assert_eq!(d.state.reason.as_deref(), Some("Haemolysed"));
    assert_eq!(d.events.last().unwrap().actor.user, "J Smith (JSMITH)");
    assert!(shows(&app, &format!("{first_id} rejected")));

    // "Other" asks for the reason in words; Enter records it.
    scan(&mut app, &second_id);
    app.press(Key::F8);
    app.keys("9");
    app.keys("cracked cap");
    app.press(Key::Enter);
    let d = detail(&path, second);
    assert_eq!(d.state.status, Status::Rejected);
    assert_eq!(d.state.reason.as_deref(), Some("Other: cracked cap"));
    assert_eq!(app.state().reception().tally.rejected, 2);
}

#[test]
fn escape_leaves_the_reason_list_and_nothing_is_rejected() {
    let (_dir, path) = configured_db();
    let (uuid, id) = saved(&path, 1);
    let mut app = reception(&path, "J Smith");
    scan(&mut app, &id);
    app.press(Key::F8);
    app.keys("2");
    app.press(Key::Escape);
    assert!(app.state().reception().reject.is_none());
    assert_eq!(detail(&path, uuid).state.status, Status::Logged);
    // Back in the scan field: Enter now receives.
    app.press(Key::Enter);
    assert_eq!(detail(&path, uuid).state.status, Status::Received);
}

#[test]
fn many_samples_in_a_row_take_one_key_press_each_beyond_the_scan() {
    let (_dir, path) = configured_db();
    let samples: Vec<(Uuid, String)> = (1..=3).map(|n| saved(&path, n)).collect();
    let mut app = reception(&path, "J Smith");
    let mut by_hand = 0;
    for (_, id) in &samples {
        scan(&mut app, id);
        let before = app.presses;
        app.press(Key::Enter);
        by_hand += app.presses - before;
    }
    assert_eq!(by_hand, 3);
    for (uuid, _) in &samples {
        assert_eq!(detail(&path, *uuid).state.status, Status::Received);
    }
    let r = app.state().reception();
    assert_eq!(r.tally.received, 3);
    // Newest first.
    assert!(r.log[0].text.starts_with(&samples[2].1));
    assert!(r.log[2].text.starts_with(&samples[0].1));
}

#[test]
fn nothing_is_received_while_locked_and_the_next_sign_in_is_who_receives() {
    let (_dir, path) = configured_db();
    let (uuid, id) = saved(&path, 1);
    let mut app = App::open(&path);
    app.sign_in("J Smith");
    app.press(Key::F4);
    app.click("Lock");
    // Locked, the box cannot be closed and the reception screen is not drawn.
    app.press(Key::Escape);
    assert_eq!(app.state().signed_in_user(), None);
    assert!(
        app.h
            .query_by_label(stopgap::ui::reception::SCAN_LABEL)
            .is_none()
    );
    assert_eq!(detail(&path, uuid).state.status, Status::Logged);
    app.sign_in("K Patel");
    assert!(
        app.h
            .get_by_label(stopgap::ui::reception::SCAN_LABEL)
            .is_focused(),
        "after the sign-in the cursor is back in the scan field"
    );
    scan(&mut app, &id);
    app.press(Key::Enter);
    let d = detail(&path, uuid);
    assert_eq!(d.state.status, Status::Received);
    assert_eq!(d.events.last().unwrap().actor.user, "K Patel (KPATEL)");
}
