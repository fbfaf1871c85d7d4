//! The conflicts tab (F7) driven through the real app over a real SQLite file, keyboard only:
//! Up/Down chooses a conflict, a number key a decision, Enter records it; the list empties and
//! the top bar's "N conflicts" follows. The conflicts are made as PCs make them: a ward PC
//! cancels two requests the lab (the app's PC) had received, not having seen the receipts.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on purpose"
)]

use chrono::Duration;
use egui::Key;
use egui_kittest::kittest::Queryable as _;
use stopgap::domain::downtime_id::Code3;
use stopgap::domain::settle::Decision;
use stopgap::domain::status::Transition;
use stopgap::files::Overwrite;
use stopgap::handover::{export_bundle, import_bundle};
use stopgap::store::{Setup, Store};
use stopgap::ui::conflicts::NOTE_LABEL;

use crate::common::ui::{App, configured_db};
use crate::common::{now, request, setup};

/// The app's database (the lab, RXX/W07) after two requests of ward PC W01 were received here
/// and then cancelled on the ward: two conflicts, "cancelled after the lab received it".
fn two_conflicts(dir: &std::path::Path, lab: &std::path::Path) {
    let mut ward = Store::open_or_create(&dir.join("ward.db")).unwrap();
    ward.configure(&Setup {
        workstation: Code3::workstation("W01").unwrap(),
        ..setup()
    })
    .unwrap();
    let mut here = Store::open(lab).unwrap();
    let (a, b) = (request(1), request(2));
    for r in [&a, &b] {
        ward.save_request(r, "Nurse A", now()).unwrap();
    }
    let carry = |from: &Store, to: &mut Store, name: &str| {
        let file = dir.join(name);
        export_bundle(from, &file, None, Overwrite::Replace, now()).unwrap();
        import_bundle(to, &file, "Porter A", now()).unwrap();
    };
    carry(&ward, &mut here, "first.bundle");
    let cancel = Transition::Cancelled {
        reason: "patient discharged".into(),
    };
    for r in [&a, &b] {
        let later = now() + Duration::minutes(10);
        here.change_status(r.uuid, &Transition::Received, "BMS B", later)
            .unwrap();
        ward.change_status(r.uuid, &cancel, "Nurse A", later + Duration::minutes(5))
            .unwrap();
    }
    carry(&ward, &mut here, "second.bundle");
    assert_eq!(here.conflicts().unwrap().len(), 2);
}

/// Draws frames until the conflicts list read on its own thread is in.
fn read(app: &mut App<'_>) {
    for _ in 0..1000 {
        app.h.run();
        if !app.state().conflicts().unwrap().0.reading() {
            app.h.run();
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    panic!("the conflicts list never came back");
}

fn shows(app: &App<'_>, text: &str) -> bool {
    app.h.query_all_by_label_contains(text).next().is_some()
}

fn open_count(app: &App<'_>) -> usize {
    app.state().conflicts().unwrap().0.open_count()
}

/// The app signed in, its conflicts read.
fn app_with_conflicts<'a>() -> (tempfile::TempDir, std::path::PathBuf, App<'a>) {
    let (dir, path) = configured_db();
    two_conflicts(dir.path(), &path);
    let mut app = App::open(&path);
    app.sign_in("Lab Manager");
    read(&mut app);
    (dir, path, app)
}

#[test]
fn f7_lists_both_sides_and_number_keys_settle_each_conflict_until_the_list_is_empty() {
    let (_dir, path, mut app) = app_with_conflicts();
    assert!(shows(&app, "2 conflicts"), "the top bar counts them");
    app.presses = 0;
    app.press(Key::F7);
    assert!(shows(&app, "Conflicts between PCs' records"));
    let keys: Vec<_> = app
        .state()
        .conflicts()
        .unwrap()
        .0
        .open()
        .map(|c| c.key)
        .collect();
    assert_eq!(app.state().conflicts().unwrap().1.selected, Some(keys[0]));
    // Both sides, side by side, and the decisions with their numbers.
    assert!(shows(&app, "cancelled (patient discharged)"));
    assert!(shows(&app, "received in lab"));
    assert!(shows(
        &app,
        "1   Lab told: stop testing, discard the sample"
    ));
    assert!(shows(&app, "2   Ward confirms: test it"));

    app.press(Key::ArrowDown);
    assert_eq!(app.state().conflicts().unwrap().1.selected, Some(keys[1]));
    app.press(Key::Num1);
    app.press(Key::Enter);
    assert_eq!(open_count(&app), 1, "shown settled at once");
    read(&mut app);
    assert!(shows(&app, "1 conflict"));
    assert!(shows(&app, "Settled on"));

    // The one left is chosen by itself: 2 and Enter.
    app.press(Key::Num2);
    app.press(Key::Enter);
    read(&mut app);
    assert_eq!(open_count(&app), 0);
    assert!(shows(&app, "No conflicts need a person."));
    assert!(
        !shows(&app, "1 conflict"),
        "the top bar says nothing once none is open"
    );
    assert_eq!(app.presses, 6, "F7, Down, then a number and Enter for each");

    let store = Store::open(&path).unwrap();
    assert!(store.conflicts().unwrap().is_empty());
    let decided: Vec<_> = store
        .conflicts_with_settled()
        .unwrap()
        .into_iter()
        .map(|c| {
            let by = c.settled.unwrap();
            (c.key, by.decision, by.user)
        })
        .collect();
    let user = "Lab Manager (LABMANAGER)".to_owned();
    assert!(decided.contains(&(keys[1], Decision::Discard, user.clone())));
    assert!(decided.contains(&(keys[0], Decision::Test, user)));
}

#[test]
fn the_top_bar_count_opens_the_tab_and_enter_without_a_decision_records_nothing() {
    let (_dir, path, mut app) = app_with_conflicts();
    app.click("2 conflicts (F7)");
    assert!(shows(&app, "Conflicts between PCs' records"));
    app.press(Key::Enter);
    assert!(shows(&app, "Choose a decision first"));
    assert_eq!(open_count(&app), 2);
    // A number typed into the note stays in the note; Enter there records the chosen decision.
    app.press(Key::Num2);
    app.h.get_by_label(NOTE_LABEL).focus();
    app.h.run();
    app.keys("rang ward 7, bed 12");
    assert_eq!(app.value(NOTE_LABEL), "rang ward 7, bed 12");
    let state = app.state().conflicts().unwrap().1;
    assert_eq!(state.decision, Some(1), "the digits typed chose nothing");
    app.press(Key::Enter);
    read(&mut app);
    assert_eq!(open_count(&app), 1);
    let store = Store::open(&path).unwrap();
    let settled: Vec<_> = store
        .conflicts_with_settled()
        .unwrap()
        .into_iter()
        .filter_map(|c| c.settled)
        .collect();
    let [by] = settled.as_slice() else {
        panic!("{settled:?}")
    };
    assert_eq!(
        (by.decision, by.note.as_str()),
        (Decision::Test, "rang ward 7, bed 12")
    );
}
