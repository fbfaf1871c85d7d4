//! Backups from the app (issue 9): the top bar nudges when no folder is set, Settings takes the
//! folder with inline errors, and the backup thread makes a checked backup at once and says so.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on purpose"
)]

use std::time::{Duration, Instant};

use crate::common::ui::{App, configured_db};
use egui_kittest::kittest::Queryable as _;
use stopgap::store::Store;

#[test]
fn the_top_bar_says_when_the_last_good_backup_was_made_once_a_folder_is_set() {
    let (_dir, db) = configured_db();
    let usb = tempfile::tempdir().unwrap();
    // Tall enough that the backup section of Settings is on screen without scrolling.
    let mut app = App::sized(&db, egui::vec2(1366.0, 1600.0));
    assert_eq!(
        app.state().backup_status_text().as_deref(),
        Some("No backup folder set")
    );
    app.sign_in("N Bloggs");
    app.click("Settings");
    assert!(
        app.h
            .query_by_label_contains("No backup folder is set")
            .is_some()
    );

    let missing = usb.path().join("not-plugged-in");
    app.type_into("Backup folder", missing.to_str().unwrap());
    app.click("Save backup settings");
    assert!(
        app.h.query_by_label_contains("does not exist").is_some(),
        "a missing folder is refused beside the field"
    );
    assert_eq!(
        Store::open(&db).unwrap().backup_settings().unwrap().folder,
        None
    );

    app.h.get_by_label("Backup folder").focus();
    app.h.run();
    app.h
        .key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    app.h.run();
    app.h
        .get_by_label("Backup folder")
        .type_text(usb.path().to_str().unwrap());
    app.h.run();
    app.click("Save backup settings");
    let started = Instant::now();
    while !app
        .state()
        .backup_status_text()
        .is_some_and(|t| t.starts_with("Backup ") && !t.starts_with("Backup failed"))
    {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no backup: {:?}",
            app.state().backup_status_text()
        );
        std::thread::sleep(Duration::from_millis(50));
        app.h.run();
    }
    let mut files: Vec<String> = std::fs::read_dir(usb.path())
        .unwrap()
        .map(|f| f.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(
        files.len(),
        2,
        "one checked backup and its key file, no temporary file left: {files:?}"
    );
    assert_eq!(files[1], format!("{}.keys", files[0]));
    let last = Store::open(&db).unwrap().last_backup().unwrap().unwrap();
    assert!(last.path.starts_with(usb.path()));
}

#[test]
fn a_backup_folder_typed_key_by_key_arrives_whole() {
    // Found in use: the "no backup folder" line went away with the first key, moved the field
    // and took the cursor out of it, so only "/" was typed.
    let (_dir, db) = configured_db();
    let mut app = App::sized(&db, egui::vec2(1366.0, 1600.0));
    app.sign_in("N Bloggs");
    app.click("Settings");
    app.h.get_by_label("Backup folder").focus();
    app.h.run();
    app.keys("/media/usb");
    assert_eq!(app.value("Backup folder"), "/media/usb");
    assert!(
        app.h
            .query_by_label_contains("No backup folder is set")
            .is_some(),
        "the nudge stays until a folder is saved"
    );
}
