//! The handover tab (F6) through the real app over real SQLite files, keyboard only: a ward PC
//! types the USB stick's folder and presses Enter, its bundle lands there; the lab's bundle put
//! in the folder comes in on the next Enter and the ward's queue shows the receipt; a watched
//! folder is visited by itself and its settings are kept.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on purpose"
)]

use std::time::{Duration, Instant};

use egui::Key;
use stopgap::domain::downtime_id::Code3;
use stopgap::domain::status::{Status, Transition};
use stopgap::handover::{Seen, receive, send};
use stopgap::store::Store;
use stopgap::ui::handover::FOLDER_LABEL;

use crate::common::ui::{App, configured_db};

/// Runs frames until the handover thread has reported `n` visits in all.
fn wait_for_visits(app: &mut App<'_>, n: usize) {
    let started = Instant::now();
    while app.state().handover().visits.len() < n {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no handover report: {:?}",
            app.state().handover()
        );
        std::thread::sleep(Duration::from_millis(30));
        app.h.run();
    }
}

#[test]
fn a_ward_sends_to_the_lab_and_receives_its_receipts_with_enter() {
    let (dir, db) = configured_db();
    let stick = dir.path().join("stick");
    std::fs::create_dir(&stick).unwrap();
    let request = crate::common::request(1);
    Store::open(&db)
        .unwrap()
        .save_request(&request, "Ward Nurse", crate::common::now())
        .unwrap();

    let mut app = App::open(&db);
    app.sign_in("Nurse Bloggs");
    app.press(Key::F6);
    // The folder field has the cursor on a PC with no folder set yet.
    app.keys(stick.to_str().unwrap());
    app.press(Key::Enter);
    wait_for_visits(&mut app, 1);
    let visit = &app.state().handover().visits[0];
    assert!(visit.failed.is_none(), "{visit:?}");
    let sent = visit.sent.as_ref().unwrap();
    assert!(sent.ok, "{sent:?}");
    assert_eq!(sent.name, "stopgap-RXX-W07.bundle");
    assert!(stick.join("stopgap-RXX-W07.bundle").is_file());
    // The folder was kept as this PC's handover folder, under the signed-in user.
    let settings = Store::open(&db).unwrap().handover_settings().unwrap();
    assert_eq!(settings.folder.as_deref(), Some(stick.as_path()));

    // The lab takes the bundle in, receives the sample and leaves its own bundle.
    let lab_db = dir.path().join("lab.db");
    let mut lab = Store::open_or_create(&lab_db).unwrap();
    let mut setup = crate::common::setup();
    setup.workstation = Code3::workstation("L01").unwrap();
    lab.configure(&setup).unwrap();
    let mut seen = Seen::default();
    receive(&mut lab, &stick, "Lab A", &mut seen, crate::common::now()).unwrap();
    lab.change_status(
        request.uuid,
        &Transition::Received,
        "Lab A",
        crate::common::now(),
    )
    .unwrap();
    send(&lab, &stick, &mut seen, crate::common::now()).unwrap();

    app.press(Key::Enter);
    wait_for_visits(&mut app, 2);
    let visit = &app.state().handover().visits[0];
    assert_eq!(visit.received.len(), 1, "{visit:?}");
    assert!(
        visit.received[0].text.starts_with("1 new event"),
        "{visit:?}"
    );
    assert_eq!(
        app.state()
            .store()
            .unwrap()
            .request_detail(request.uuid)
            .unwrap()
            .unwrap()
            .state
            .status,
        Status::Received
    );
    // Typing the folder, then two presses of Enter: one visit each.
    assert_eq!(app.presses as usize, 1 + stick.to_str().unwrap().len() + 2);
}

#[test]
fn a_missing_folder_is_said_and_nothing_is_saved() {
    let (dir, db) = configured_db();
    let mut app = App::open(&db);
    app.sign_in("Nurse Bloggs");
    app.press(Key::F6);
    app.keys(dir.path().join("no-stick").to_str().unwrap());
    app.press(Key::Enter);
    let message = app.state().handover().message.clone();
    assert!(
        matches!(&message, Some(Err(why)) if why.contains("plug in the USB stick")),
        "{message:?}"
    );
    assert!(app.state().handover().visits.is_empty());
    assert_eq!(
        Store::open(&db)
            .unwrap()
            .handover_settings()
            .unwrap()
            .folder,
        None
    );
}

#[test]
fn a_watched_folder_is_visited_by_itself() {
    let (dir, db) = configured_db();
    let stick = dir.path().join("share");
    std::fs::create_dir(&stick).unwrap();
    let mut app = App::open(&db);
    app.sign_in("Nurse Bloggs");
    app.press(Key::F6);
    app.type_into(FOLDER_LABEL, stick.to_str().unwrap());
    app.click("Watch this folder: every");
    app.click("Save folder settings");
    // Watching starts with a visit at once, made by the app, not by the user.
    wait_for_visits(&mut app, 1);
    let visit = &app.state().handover().visits[0];
    assert!(visit.automatic, "{visit:?}");
    assert!(stick.join("stopgap-RXX-W07.bundle").is_file());
    let settings = Store::open(&db).unwrap().handover_settings().unwrap();
    assert!(settings.watch);
    assert_eq!(settings.interval_minutes, 5);
}
