//! Receiving a sample before its request reached the lab, through the real app keyboard only:
//! the scan says "not on this PC", Ctrl+R opens the paper-form box, the details are typed and
//! Enter records the receipt; a second scan says it was received already; details missing are
//! named beside their fields and nothing is recorded.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on purpose"
)]

use egui::{Key, Modifiers};
use egui_kittest::kittest::Queryable as _;
use stopgap::domain::downtime_id::{Code3, DowntimeId};
use stopgap::store::{EarlyOutcome, Store};
use stopgap::ui::reception::{EARLY_NHS_LABEL, EarlyForm};

use crate::common::ui::{App, configured_db};

/// A ward's downtime ID this lab PC has not seen.
fn unseen_id() -> DowntimeId {
    DowntimeId::new(
        Code3::site("RXX").unwrap(),
        Code3::workstation("W01").unwrap(),
        12,
    )
    .unwrap()
}

fn shows(app: &App<'_>, text: &str) -> bool {
    app.h.query_all_by_label_contains(text).next().is_some()
}

fn reception<'a>(path: &std::path::Path) -> App<'a> {
    let mut app = App::open(path);
    app.sign_in("J Smith");
    app.press(Key::F4);
    app.presses = 0;
    app
}

#[test]
fn a_sample_whose_request_has_not_come_is_received_from_its_paper_form_by_keyboard() {
    let (_dir, path) = configured_db();
    let id = unseen_id();
    let mut app = reception(&path);
    app.keys(&id.grouped());
    app.press(Key::Enter);
    assert!(shows(&app, "is not on this PC"));
    assert!(shows(&app, "Ctrl+R"));

    let before = app.presses;
    app.chord(Modifiers::COMMAND, Key::R);
    assert!(app.state().reception().early.is_some());
    // The NHS number field has the cursor: type, Tab, surname, Tab, date of birth, Enter.
    app.keys("9990000018");
    app.press(Key::Tab);
    app.keys("Testpatient");
    app.press(Key::Tab);
    app.keys("01011980");
    app.press(Key::Enter);
    let typed = 10 + 11 + 8;
    assert_eq!(app.presses - before, typed + 4, "Ctrl+R, two Tabs, Enter");

    let early = Store::open(&path)
        .unwrap()
        .early_receipt(&id)
        .unwrap()
        .expect("recorded");
    assert_eq!(early.outcome, EarlyOutcome::Waiting);
    assert_eq!(early.received_by.user, "J Smith (JSMITH)");
    assert_eq!(early.details.surname, "Testpatient");
    assert!(app.state().reception().early.is_none(), "the box closed");
    assert!(shows(&app, "from its paper form"));
    assert!(shows(&app, "waiting for the ward's request"));
    assert_eq!(app.state().reception().tally.received, 1);

    // The scan field has the cursor again; a second scan records nothing.
    app.keys(&id.grouped());
    app.press(Key::Enter);
    assert!(shows(&app, "already received from its paper form"));
    assert_eq!(
        Store::open(&path).unwrap().early_receipts().unwrap().len(),
        1
    );
}

#[test]
fn missing_details_are_named_and_escape_records_nothing() {
    let (_dir, path) = configured_db();
    let id = unseen_id();
    let mut app = reception(&path);
    app.keys(&id.grouped());
    app.press(Key::Enter);
    app.chord(Modifiers::COMMAND, Key::R);
    app.press(Key::Enter);
    let form: &EarlyForm = app.state().reception().early.as_ref().unwrap();
    assert_eq!(form.errors.len(), 2, "{:?}", form.errors);
    assert!(shows(&app, "type the surname from the paper form"));
    app.h.get_by_label(EARLY_NHS_LABEL);
    app.press(Key::Escape);
    assert!(app.state().reception().early.is_none());
    assert!(
        Store::open(&path)
            .unwrap()
            .early_receipts()
            .unwrap()
            .is_empty()
    );
    // Back in the scan field: the next scan lands there.
    app.keys(&id.grouped());
    app.press(Key::Enter);
    assert!(shows(&app, "is not on this PC"));
}
