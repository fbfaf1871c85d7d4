//! The app driven as a person would, by the labels on screen, over a real SQLite file.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on purpose"
)]

use egui::{Key, Modifiers};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use stopgap::domain::downtime_id::DowntimeId;
use stopgap::store::{QueueFilter, Store};
use stopgap::ui::StopgapApp;

fn harness<'a>(app: StopgapApp) -> Harness<'a, StopgapApp> {
    let mut h = Harness::builder()
        .with_size(egui::vec2(1500.0, 1400.0))
        // Background threads' reports each ask for a frame: see tests/common/ui.rs.
        .with_max_steps(12)
        .build_ui_state(|ui, app: &mut StopgapApp| app.show(ui), app);
    h.run();
    h
}

/// Signs in through the box that opens when the app starts.
fn sign_in(h: &mut Harness<'_, StopgapApp>, name: &str) {
    let path = h.state().db_path().to_owned();
    crate::common::ui::add_account(&path, name, stopgap::domain::access::Role::Manager);
    type_into(h, "Staff ID", &crate::common::ui::staff_id_of(name));
    type_into(h, "Password", crate::common::ui::TEST_PASSWORD);
    h.key_press(Key::Enter);
    h.run();
}

/// A set-up store file in a temporary directory.
fn configured_db() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stopgap.db");
    let mut store = Store::open_or_create(&path).unwrap();
    store.configure(&crate::common::setup()).unwrap();
    (dir, path)
}

fn type_into(h: &mut Harness<'_, StopgapApp>, label: &str, text: &str) {
    h.get_by_label(label).focus();
    h.run();
    h.get_by_label(label).type_text(text);
    h.run();
}

fn click(h: &mut Harness<'_, StopgapApp>, label: &str) {
    h.get_by_label(label).click();
    h.run();
}

/// Fills every required field for a synthetic patient, except the NHS number.
fn fill_rest_of_form(h: &mut Harness<'_, StopgapApp>) {
    type_into(h, "Surname", "Testpatient");
    type_into(h, "Forename", "Alice");
    type_into(h, "Date of birth", "01/01/1980");
    click(h, "Female");
    type_into(h, "Ward / location", "AMU");
    type_into(h, "Responsible consultant", "Dr Example");
    type_into(h, "Requesting clinician", "Dr Jones");
    type_into(h, "Bleep / phone", "Bleep 1234");
    click(h, "Urgent");
    type_into(h, "Find test", "FBC");
    h.key_press(Key::Enter);
    h.run();
    type_into(h, "Collected by", "Nurse Bloggs");
}

fn request_count(path: &std::path::Path) -> u64 {
    Store::open_or_create(path)
        .unwrap()
        .queue_count(&QueueFilter::default())
        .unwrap()
}

#[test]
fn a_filled_form_is_saved_confirmed_and_queued() {
    let (_dir, path) = configured_db();
    let mut h = harness(StopgapApp::from_path(&path));
    sign_in(&mut h, "N Bloggs");
    type_into(&mut h, "NHS number", "999 000 0018");
    fill_rest_of_form(&mut h);
    assert!(h.state().confirmed_id().is_none());
    h.key_press_modifiers(Modifiers::COMMAND, Key::Enter);
    h.run();

    let id = h
        .state()
        .confirmed_id()
        .expect("a confirmation after saving")
        .to_owned();
    h.get_by_label(&id);
    h.get_by_label("Write this ID on the request form and sample bag");
    let store = Store::open_or_create(&path).unwrap();
    let saved = store
        .find_by_downtime_id(&DowntimeId::parse(&id).unwrap())
        .unwrap()
        .expect("the request is in the store");
    assert_eq!(saved.state.request.patient.surname, "Testpatient");
    assert_eq!(saved.state.request.test_codes(), ["FBC"]);
    assert_eq!(saved.state.created_by.user, "N Bloggs (NBLOGGS)");
    // The fresh form is empty and the draft is gone.
    assert!(h.state().store().unwrap().load_draft().unwrap().is_none());

    click(&mut h, "Queue (F3)");
    h.get_by_label(&id);
    h.get_by_label("TESTPATIENT, Alice");
}

#[test]
fn an_nhs_number_failing_its_check_digit_is_shown_and_nothing_is_stored() {
    let (_dir, path) = configured_db();
    let mut h = harness(StopgapApp::from_path(&path));
    sign_in(&mut h, "N Bloggs");
    type_into(&mut h, "NHS number", "943 476 5918");
    fill_rest_of_form(&mut h);
    click(&mut h, "Save request (Ctrl+Enter)");

    // At the field, and beside Save.
    assert_eq!(
        h.query_all_by_label_contains("fails its check digit")
            .count(),
        2
    );
    h.get_by_label("1 problem — nothing was saved");
    assert!(h.state().confirmed_id().is_none());
    assert_eq!(request_count(&path), 0);
}

#[test]
fn locking_hides_every_patient_keeps_the_draft_and_needs_a_password() {
    let (_dir, path) = configured_db();
    let mut h = harness(StopgapApp::from_path(&path));
    // Nothing but the sign-in at start: the form is not even drawn.
    h.get_by_label("Requests are hidden while Stopgap is locked");
    assert!(h.query_by_label("NHS number").is_none());
    sign_in(&mut h, "N Bloggs");
    type_into(&mut h, "Surname", "Zebedee");
    assert!(
        h.query_by_label_contains("Zebedee").is_some()
            || h.state().form_draft().surname == "Zebedee"
    );
    click(&mut h, "Lock");
    assert_eq!(h.state().signed_in_user(), None);
    h.get_by_label("Requests are hidden while Stopgap is locked");
    assert!(
        h.query_by_label("Surname").is_none(),
        "the form is hidden while locked"
    );
    // A wrong password is refused and said; the right one brings the draft back.
    type_into(&mut h, "Staff ID", "NBLOGGS");
    type_into(&mut h, "Password", "not the password");
    h.key_press(Key::Enter);
    h.run();
    h.get_by_label_contains("wrong password for NBLOGGS");
    assert_eq!(h.state().signed_in_user(), None);
    type_into(&mut h, "Password", crate::common::ui::TEST_PASSWORD);
    h.key_press(Key::Enter);
    h.run();
    assert_eq!(h.state().signed_in_user(), Some("N Bloggs"));
    assert_eq!(h.state().form_draft().surname, "Zebedee");
    assert_eq!(request_count(&path), 0);
}

#[test]
fn first_run_sets_up_the_workstation() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.db");
    let mut h = harness(StopgapApp::from_path(&path));
    crate::common::ui::make_first_manager(&mut h);
    h.get_by_label("Set up this workstation");
    // Nothing pre-filled that every PC would accept; the cursor starts in the first field.
    assert_eq!(
        h.get_by_label("Workstation code").value().as_deref(),
        Some("")
    );
    assert!(h.get_by_label("Site code").is_focused());
    h.get_by_label("Site code").type_text("RXX");
    h.run();
    type_into(&mut h, "Ward 1 name", "ED Majors");
    type_into(&mut h, "Ward 2 name", "AMU");
    click(&mut h, "Continue");
    h.get_by_label_contains("Workstation code must be exactly 3 letters or digits");

    h.get_by_label("Workstation code").focus();
    h.run();
    h.key_press_modifiers(Modifiers::COMMAND, Key::A);
    h.get_by_label("Workstation code").type_text("W!");
    h.run();
    click(&mut h, "Continue");
    h.get_by_label_contains("Workstation code must be exactly 3 letters or digits");
    assert!(
        Store::open_or_create(&path)
            .unwrap()
            .setup()
            .unwrap()
            .is_none()
    );

    h.get_by_label("Workstation code").focus();
    h.run();
    h.key_press_modifiers(Modifiers::COMMAND, Key::A);
    h.get_by_label("Workstation code").type_text("w09");
    h.run();
    click(&mut h, "Continue");

    let setup = Store::open_or_create(&path)
        .unwrap()
        .setup()
        .unwrap()
        .expect("set up");
    assert_eq!(setup.site.as_str(), "RXX");
    assert_eq!(setup.workstation.as_str(), "W09");
    assert!(setup.wards.iter().any(|w| w.name() == "ED Majors"));
    // The first manager stays signed in through the set-up.
    assert_eq!(h.state().signed_in_user(), Some("Mina Manager"));
    h.get_by_label("NHS number");
    h.get_by_label_contains("LIMS DOWNTIME");
}

#[test]
fn cancelling_from_the_detail_panel_needs_a_reason() {
    let (_dir, path) = configured_db();
    let id = {
        let mut store = Store::open_or_create(&path).unwrap();
        store
            .save_request(&crate::common::request(1), "Tester", crate::common::now())
            .unwrap()
            .downtime_id
            .grouped()
    };
    let mut h = harness(StopgapApp::from_path(&path));
    sign_in(&mut h, "Lab Manager");
    click(&mut h, "Queue (F3)");
    click(&mut h, &id);
    click(&mut h, "Cancel request…");

    // The reason box has the cursor as soon as it opens.
    assert!(h.get_by_label("Reason for cancelling").is_focused());
    h.get_by_label("Confirm cancel (Enter)").click();
    h.run();
    h.key_press(Key::Enter);
    h.run();
    let status = |path: &std::path::Path| {
        Store::open_or_create(path)
            .unwrap()
            .find_by_downtime_id(&DowntimeId::parse(&id).unwrap())
            .unwrap()
            .unwrap()
            .state
            .status
    };
    assert_eq!(status(&path).word(), "logged", "disabled without a reason");

    type_into(&mut h, "Reason for cancelling", "Duplicate of paper form");
    // Enter confirms, without reaching for the mouse.
    h.key_press(Key::Enter);
    h.run();
    assert_eq!(status(&path).word(), "cancelled");
    h.get_by_label_contains("Cancelled: Duplicate of paper form");
}

#[test]
fn a_damaged_database_shows_the_problem_screen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("damaged.db");
    std::fs::write(
        &path,
        b"this is not a database, just some bytes ".repeat(200),
    )
    .unwrap();
    let mut h = harness(StopgapApp::from_path(&path));
    h.get_by_label("Stopgap cannot open its database");
    h.get_by_label_contains("is damaged or is not a Stopgap database");
    h.get_by_label("What to do");
    assert!(h.state().store().is_none());
    h.run();
}

#[test]
fn the_form_being_typed_survives_a_restart_and_an_unclean_exit_is_flagged() {
    let (_dir, path) = configured_db();
    {
        let mut h = harness(StopgapApp::from_path(&path));
        sign_in(&mut h, "N Bloggs");
        type_into(&mut h, "NHS number", "999 000 0018");
        type_into(&mut h, "Surname", "Testpatient");
        // The app closes normally: the draft is kept, the session ends cleanly.
        h.state_mut().shutdown();
    }
    let mut h = harness(StopgapApp::from_path(&path));
    sign_in(&mut h, "N Bloggs");
    assert_eq!(
        h.get_by_label("NHS number").value().as_deref(),
        Some("999 000 0018")
    );
    assert_eq!(
        h.get_by_label("Surname").value().as_deref(),
        Some("Testpatient")
    );
    drop(h);

    // A save, then the app dies without shutting down: the next start lists that save.
    let mut store = Store::open_or_create(&path).unwrap();
    #[expect(
        clippy::disallowed_methods,
        reason = "the app's session started on the real clock; the save must come after it"
    )]
    let saved = store
        .save_request(&crate::common::request(5), "Nurse A", chrono::Utc::now())
        .unwrap();
    drop(store);
    let mut h = harness(StopgapApp::from_path(&path));
    sign_in(&mut h, "N Bloggs");
    h.get_by_label_contains("Saved just before the app closed");
    h.get_by_label_contains(&saved.downtime_id.grouped());
}

/// Runs frames until `label` is on screen (the integrity check answers from its own thread).
fn wait_for_label(h: &mut Harness<'_, StopgapApp>, label: &str) {
    let start = std::time::Instant::now();
    while h.query_by_label_contains(label).is_none() {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(20),
            "'{label}' never appeared"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
        h.run();
    }
}

#[test]
fn the_window_opens_before_the_file_check_and_damaged_records_are_named_when_it_ends() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stopgap.db");
    let mut store = Store::open_or_create(&path).unwrap();
    store.configure(&crate::common::setup()).unwrap();
    let mut ids = Vec::new();
    for n in 1..=3 {
        let saved = store
            .save_request(&crate::common::request(n), "Nurse A", crate::common::now())
            .unwrap();
        ids.push(saved.downtime_id);
    }
    drop(store);
    let conn = stopgap::store::raw_connection(&path).unwrap();
    let trigger: String = conn
        .query_row(
            "SELECT sql FROM sqlite_master WHERE name = 'requests_change_only_with_an_event'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    conn.execute_batch(&format!(
        "DROP TRIGGER requests_change_only_with_an_event;
         UPDATE requests SET surname = 'WRONG' WHERE downtime_id = '{}';
         {trigger};",
        ids[1].canonical()
    ))
    .unwrap();
    drop(conn);

    let mut h = harness(StopgapApp::from_path(&path));
    // The queue is usable at once; the banner comes when the check has read the whole file.
    assert!(h.state().store().is_some());
    wait_for_label(&mut h, "DAMAGED RECORDS");
    // Only the changed request is named.
    h.get_by_label_contains(&format!("DAMAGED RECORDS — {}:", ids[1]));
    assert!(
        h.query_by_label_contains("Checking the database file")
            .is_none()
    );
}
