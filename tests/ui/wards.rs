//! Ward codes on the set-up screens (issue 8), driven through the real app over a real file:
//! each ward's code is shown and edited beside its name, a new ward's code is made from its name
//! until one is typed, and a bad or repeated code is shown beside its row with nothing saved.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on purpose"
)]

use crate::common::ui::{App, configured_db};
use egui::{Key, Modifiers};
use egui_kittest::kittest::Queryable as _;
use stopgap::domain::ward::Ward;
use stopgap::store::Store;

fn stored_wards(path: &std::path::Path) -> Vec<Ward> {
    Store::open_or_create(path)
        .unwrap()
        .setup()
        .unwrap()
        .expect("set up")
        .wards
}

fn settings(path: &std::path::Path) -> App<'static> {
    let mut app = App::open(path);
    app.sign_in("N Bloggs");
    app.click("Settings");
    app
}

/// Replaces the text of the field named `label` with `text`.
fn retype(app: &mut App<'_>, label: &str, text: &str) {
    app.h.get_by_label(label).focus();
    app.h.run();
    app.h.key_press_modifiers(Modifiers::COMMAND, Key::A);
    app.h.run();
    app.h.key_press(Key::Backspace);
    app.h.run();
    app.h.get_by_label(label).type_text(text);
    app.h.run();
}

#[test]
fn a_ward_code_typed_in_settings_is_stored_beside_its_name() {
    let (_dir, path) = configured_db();
    let mut app = settings(&path);
    assert_eq!(app.value("Ward 1 code"), "W7");
    assert_eq!(app.value("Ward 1 name"), "Ward 7");
    assert_eq!(app.value("Ward 2 code"), "AMU");

    // A new ward: its code follows its name until a code is typed.
    app.type_into("Ward 3 name", "ED Majors");
    assert_eq!(app.value("Ward 3 code"), "EDMAJORS");
    // Keyboard-first: Tab from a ward's name goes to the next row's code.
    app.press(Key::Tab);
    assert!(app.h.get_by_label("Ward 4 code").is_focused());
    retype(&mut app, "Ward 3 code", "edm");
    retype(&mut app, "Ward 1 code", "W7-ACU");
    app.click("Save wards");

    assert_eq!(
        stored_wards(&path),
        [
            Ward::new("W7-ACU", "Ward 7").unwrap(),
            Ward::new("AMU", "AMU").unwrap(),
            Ward::new("EDM", "ED Majors").unwrap(),
        ]
    );
    // The table shows what was stored; editing a name leaves a typed code alone.
    assert_eq!(app.value("Ward 3 code"), "EDM");
    app.type_into("Ward 3 name", " Resus");
    assert_eq!(app.value("Ward 3 code"), "EDM");
}

#[test]
fn a_bad_or_repeated_ward_code_is_shown_beside_its_row_and_nothing_is_saved() {
    let (_dir, path) = configured_db();
    let before = stored_wards(&path);
    let mut app = settings(&path);
    app.type_into("Ward 3 name", "Ward 8");
    retype(&mut app, "Ward 3 code", "W7");
    app.click("Save wards");
    app.h
        .get_by_label_contains("wards 'Ward 7' and 'Ward 8' both have the code W7");
    assert_eq!(stored_wards(&path), before);

    retype(&mut app, "Ward 3 code", "W 8");
    app.click("Save wards");
    app.h.get_by_label_contains("contains ' '");
    assert!(
        app.h
            .query_by_label_contains("both have the code")
            .is_none(),
        "the earlier problem is gone"
    );
    assert_eq!(stored_wards(&path), before);

    // Clearing a row (no mouse needed) removes the ward.
    retype(&mut app, "Ward 3 code", "W8");
    retype(&mut app, "Ward 2 name", "");
    assert_eq!(
        app.value("Ward 2 code"),
        "",
        "a derived code goes with its name"
    );
    app.click("Save wards");
    assert_eq!(
        stored_wards(&path),
        [
            Ward::new("W7", "Ward 7").unwrap(),
            Ward::new("W8", "Ward 8").unwrap(),
        ]
    );
}

#[test]
fn first_run_takes_each_wards_code_beside_its_name_and_refuses_a_bad_one_inline() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.db");
    let mut app = App::open(&path);
    crate::common::ui::make_first_manager(&mut app.h);
    app.type_into("Site code", "RXX");
    app.type_into("Workstation code", "W07");
    app.type_into("Ward 1 name", "ED Majors");
    assert_eq!(
        app.value("Ward 1 code"),
        "EDMAJORS",
        "the derived code is shown"
    );
    retype(&mut app, "Ward 1 code", "ED/MAJ");
    app.type_into("Ward 2 name", "AMU");
    app.click("Continue");
    app.h
        .get_by_label_contains("ward code \"ED/MAJ\" contains '/'");
    assert!(
        Store::open_or_create(&path)
            .unwrap()
            .setup()
            .unwrap()
            .is_none()
    );

    retype(&mut app, "Ward 1 code", "EDMAJ");
    app.click("Continue");
    assert_eq!(
        stored_wards(&path),
        [
            Ward::new("EDMAJ", "ED Majors").unwrap(),
            Ward::new("AMU", "AMU").unwrap(),
        ]
    );
}
