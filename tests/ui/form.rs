//! The ward form as a nurse uses it at 3 a.m., driven through the real UI on a 1366×768 window:
//! the faults found in use (wrong user, wrong patient, stale time, previous ID on screen), and the
//! key presses needed for the two reference requests.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on purpose"
)]

use crate::common::ui::{App, configured_db};
use chrono::{Duration, Local, Timelike as _};
use egui::{Key, Modifiers};
use egui_kittest::kittest::Queryable as _;
use stopgap::domain::downtime_id::DowntimeId;
use stopgap::domain::event::EventKind;
use stopgap::domain::request::{Priority, RequestDraft, Sex};
use stopgap::store::{QueueFilter, Store};

fn request_count(path: &std::path::Path) -> u64 {
    Store::open_or_create(path)
        .unwrap()
        .queue_count(&QueueFilter::default())
        .unwrap()
}

/// Saves a request for a synthetic patient straight into the store (earlier work on this PC).
fn save_earlier(path: &std::path::Path, draft: RequestDraft) -> DowntimeId {
    let mut store = Store::open_or_create(path).unwrap();
    let catalogue = store.catalogue().unwrap();
    let now = crate::common::ui::real_now() - Duration::hours(2);
    let request = draft.validate(now, &Local, &catalogue).unwrap();
    store
        .save_request(&request, "Earlier Nurse", now)
        .unwrap()
        .downtime_id
}

fn smith_jane() -> RequestDraft {
    RequestDraft {
        uuid: uuid::Uuid::new_v4(),
        nhs_number: "999 000 0018".into(),
        mrn: "K123456".into(),
        surname: "Smith".into(),
        forename: "Jane".into(),
        dob: "12/03/1957".into(),
        sex: Sex::Female,
        ward: "Ward 7".into(),
        consultant: "Dr Example".into(),
        requester: "Dr Jones".into(),
        requester_contact: "Bleep 1234".into(),
        priority: Some(Priority::Urgent),
        tests: vec!["FBC".into()],
        collected_date: (crate::common::ui::real_now() - Duration::hours(2))
            .with_timezone(&Local)
            .format("%d/%m/%Y")
            .to_string(),
        collected_time: (crate::common::ui::real_now() - Duration::hours(2))
            .with_timezone(&Local)
            .format("%H:%M")
            .to_string(),
        collected_by: "Earlier Nurse".into(),
        ..RequestDraft::default()
    }
}

/// Fills every required field (but the identifiers) by label, as a mouse user would.
pub fn fill_bloggs(app: &mut App<'_>) {
    app.type_into("Surname", "Bloggs");
    app.type_into("Forename", "Fred");
    app.type_into("Date of birth", "01/01/1980");
    app.click("Male");
    app.click("Urgent");
    app.type_into("Find test", "CRP");
    app.h.key_press(Key::Enter);
    app.h.run();
    app.type_into("Responsible consultant", "Dr Example");
    app.type_into("Requesting clinician", "Dr Jones");
    app.type_into("Bleep / phone", "Bleep 1234");
    if app.value("Ward / location").is_empty() {
        app.type_into("Ward / location", "AMU");
    }
}

/// The downtime ID on the confirmation, or why the save did not happen.
fn saved_id(app: &App<'_>) -> String {
    app.state()
        .confirmed_id()
        .unwrap_or_else(|| panic!("not saved: {:?}", app.state().form_problems()))
        .to_owned()
}

fn created_event(path: &std::path::Path, id: &str) -> (String, Option<String>) {
    let store = Store::open_or_create(path).unwrap();
    let found = store
        .find_by_downtime_id(&DowntimeId::parse(id).unwrap())
        .unwrap()
        .unwrap();
    let detail = store
        .request_detail(found.state.request.uuid)
        .unwrap()
        .unwrap();
    let created = &detail.events[0];
    let EventKind::Created { request, .. } = &created.kind else {
        panic!("first event is not the creation");
    };
    (
        created.actor.user.clone(),
        request.identity_override.as_ref().map(|o| o.reason.clone()),
    )
}

#[test]
fn the_staff_id_and_password_typed_key_by_key_sign_in_and_the_save_is_theirs() {
    let (_dir, path) = configured_db();
    crate::common::ui::add_account(&path, "Nurse Bloggs", stopgap::domain::access::Role::Ward);
    let mut app = App::open(&path);
    assert_eq!(app.state().signed_in_user(), None);
    // The cursor starts in the staff ID; Enter moves on to the password, Enter signs in.
    app.keys("NURSEBLOGGS");
    app.press(Key::Enter);
    app.keys(crate::common::ui::TEST_PASSWORD);
    app.press(Key::Enter);
    assert_eq!(app.state().signed_in_user(), Some("Nurse Bloggs"));
    let sign_in_keys = app.presses;
    app.type_into("NHS number", "999 000 0026");
    fill_bloggs(&mut app);
    app.chord(Modifiers::COMMAND, Key::Enter);
    let id = saved_id(&app);
    let (user, _) = created_event(&path, &id);
    assert_eq!(user, "Nurse Bloggs (NURSEBLOGGS)");
    println!("sign-in: {sign_in_keys} key presses");
    assert!(sign_in_keys <= 40, "{sign_in_keys}");
}

#[test]
fn a_known_nhs_number_with_another_patient_blocks_the_save_until_a_reason_is_given() {
    let (_dir, path) = configured_db();
    save_earlier(&path, smith_jane());
    let mut app = App::open(&path);
    app.sign_in("N Bloggs");
    app.type_into("NHS number", "999 000 0018");
    // The fill offer names the patient on file; it is not taken.
    app.h.get_by_label_contains("Known patient: SMITH, Jane");
    fill_bloggs(&mut app);
    // SMITH had an FBC: BLOGGS's FBC is not "already requested for this patient".
    app.type_into("Find test", "FBC");
    app.h.key_press(Key::Enter);
    app.h.run();
    // Shown beside the patient and again beside Save, naming both people.
    let both = "IDENTITY MISMATCH: NHS number 999 000 0018 is on file for SMITH, Jane";
    assert_eq!(app.h.query_all_by_label_contains(both).count(), 2);
    assert!(
        app.h
            .query_all_by_label_contains("this form says BLOGGS, Fred")
            .count()
            >= 2
    );
    assert!(app.h.query_by_label_contains("this patient").is_none());

    app.chord(Modifiers::COMMAND, Key::Enter);
    assert_eq!(request_count(&path), 1, "refused: only SMITH is on file");
    app.h.get_by_label("Reason for saving anyway");
    app.press(Key::Escape);
    assert_eq!(request_count(&path), 1);

    app.chord(Modifiers::COMMAND, Key::Enter);
    app.keys("Wristband checked");
    app.press(Key::Enter);
    let id = app
        .state()
        .confirmed_id()
        .expect("saved with a reason")
        .to_owned();
    let (_, reason) = created_event(&path, &id);
    assert_eq!(reason.as_deref(), Some("Wristband checked"));
}

#[test]
fn a_known_mrn_with_another_patient_is_a_mismatch_too() {
    let (_dir, path) = configured_db();
    save_earlier(&path, smith_jane());
    let mut app = App::open(&path);
    app.sign_in("N Bloggs");
    app.type_into("Hospital number (MRN)", "k123456");
    fill_bloggs(&mut app);
    assert_eq!(
        app.h
            .query_all_by_label_contains(
                "IDENTITY MISMATCH: MRN K123456 is on file for SMITH, Jane"
            )
            .count(),
        2
    );
    app.chord(Modifiers::COMMAND, Key::Enter);
    assert_eq!(request_count(&path), 1);
    app.h.get_by_label("Reason for saving anyway");
}

#[test]
fn the_collection_time_follows_the_clock_until_saved() {
    let (_dir, path) = configured_db();
    let mut app = App::open(&path);
    app.sign_in("N Bloggs");
    app.type_into("NHS number", "999 000 0026");
    fill_bloggs(&mut app);
    // The nurse is interrupted for 19 minutes before saving: the screen locked meanwhile.
    app.advance(Duration::minutes(19));
    app.sign_in("N Bloggs");
    let shown = app.now().with_timezone(&Local).format("%H:%M").to_string();
    assert_eq!(app.value("Collected at"), shown);
    app.chord(Modifiers::COMMAND, Key::Enter);
    let id = saved_id(&app);
    let store = Store::open_or_create(&path).unwrap();
    let saved = store
        .find_by_downtime_id(&DowntimeId::parse(&id).unwrap())
        .unwrap()
        .unwrap();
    let expected = app
        .now()
        .with_second(0)
        .unwrap()
        .with_nanosecond(0)
        .unwrap();
    assert_eq!(saved.state.request.collected_at, expected);
}

#[test]
fn a_typed_collection_time_is_kept_and_a_restored_draft_says_so() {
    let (_dir, path) = configured_db();
    {
        let mut app = App::open(&path);
        app.sign_in("N Bloggs");
        app.type_into("NHS number", "999 000 0026");
        app.h.get_by_label("Collected at").focus();
        app.h.run();
        app.h.key_press_modifiers(Modifiers::COMMAND, Key::A);
        app.h.get_by_label("Collected at").type_text("07:58");
        app.h.run();
        app.advance(Duration::minutes(30));
        app.sign_in("N Bloggs");
        assert_eq!(app.value("Collected at"), "07:58");
        app.h.state_mut().shutdown();
    }
    let mut app = App::open(&path);
    app.sign_in("N Bloggs");
    app.h
        .get_by_label_contains("restored — check the collection time");
    assert_eq!(app.value("Collected at"), "07:58");
}

#[test]
fn the_previous_id_is_greyed_with_its_patient_once_the_next_form_is_touched() {
    let (_dir, path) = configured_db();
    let mut app = App::open(&path);
    app.sign_in("N Bloggs");
    app.type_into("NHS number", "999 000 0026");
    fill_bloggs(&mut app);
    app.chord(Modifiers::COMMAND, Key::Enter);
    let id = saved_id(&app);
    app.h
        .get_by_label("Write this ID on the request form and sample bag");
    // The cursor is back in the NHS number field of the fresh form.
    assert!(app.h.get_by_label("NHS number").is_focused());
    app.keys("9");
    assert_eq!(app.state().confirmed_id(), None);
    assert!(
        app.h
            .query_by_label("Write this ID on the request form and sample bag")
            .is_none()
    );
    app.h
        .get_by_label_contains("Previous patient (BLOGGS, Fred");
    app.h.get_by_label(&id);
}

#[test]
fn a_refused_save_says_so_beside_save_and_save_stays_on_screen_with_two_transfusion_warnings() {
    let (_dir, path) = configured_db();
    let mut app = App::open(&path);
    app.sign_in("N Bloggs");
    app.type_into("NHS number", "999 000 0026");
    app.chord(Modifiers::COMMAND, Key::Enter);
    app.h.get_by_label_contains("problems — nothing was saved");
    app.h.get_by_label_contains("Surname: Surname is required");
    assert_eq!(request_count(&path), 0);

    fill_bloggs(&mut app);
    // Group & save and crossmatch: hand-label and two-sample-rule warnings.
    app.type_into("Find test", "GS");
    app.h.key_press(Key::Enter);
    app.h.run();
    app.type_into("Find test", "XM");
    app.h.key_press(Key::Enter);
    app.h.run();
    let warnings = app.h.query_all_by_label_contains("Warning:").count();
    assert!(warnings >= 2, "{warnings} warnings");
    let save = app.h.get_by_label("Save request (Ctrl+Enter)").rect();
    assert!(save.max.y <= 768.0 && save.min.y >= 0.0, "Save at {save:?}");
}

#[test]
fn tab_reaches_the_priority_choice_as_one_stop_and_letters_choose() {
    let (_dir, path) = configured_db();
    let mut app = App::open(&path);
    app.sign_in("N Bloggs");
    // NHS, MRN, surname, forename, DOB, sex, then priority.
    app.tab(6);
    assert!(
        app.h
            .get_by_label_contains("Priority: none chosen")
            .is_focused()
    );
    app.keys("e");
    app.h.get_by_label("Priority: EMERGENCY");
    app.press(Key::ArrowRight);
    app.h.get_by_label("Priority: Urgent");
    assert_eq!(app.state().form_draft().priority, Some(Priority::Urgent));
}

/// Reference request for a new patient: NHS number, surname, forename, DOB, sex, priority
/// urgent, panel "FBC + U&E + CRP", consultant, requester, bleep; ward (the workstation's last),
/// collected now by the signed-in user. Then the same patient again with one more test.
#[test]
fn reference_requests_need_at_most_60_and_25_key_presses() {
    let (_dir, path) = configured_db();
    let mut earlier = smith_jane();
    earlier.nhs_number = "999 000 0034".into();
    earlier.mrn.clear();
    save_earlier(&path, earlier);
    let mut app = App::open(&path);
    app.sign_in("N Bloggs");
    assert!(app.h.get_by_label("NHS number").is_focused());

    app.keys("9990000026");
    // Enter on the NHS number of a patient not on file goes on to the surname.
    app.press(Key::Enter);
    assert!(app.h.get_by_label("Surname").is_focused());
    app.keys("Khan");
    app.tab(1);
    app.keys("Amir");
    app.tab(1);
    app.keys("12031957");
    app.tab(1);
    app.keys("m");
    app.tab(1);
    app.keys("u");
    app.tab(1);
    app.keys("fbc");
    app.press(Key::ArrowDown);
    app.press(Key::Enter);
    app.tab(1);
    app.keys("Dr Shah");
    app.tab(1);
    app.keys("Dr Lee");
    app.tab(1);
    app.keys("4306");
    app.chord(Modifiers::COMMAND, Key::Enter);
    let first = app.presses;
    let id = app
        .state()
        .confirmed_id()
        .expect("the new patient is saved")
        .to_owned();
    let store = Store::open_or_create(&path).unwrap();
    let saved = store
        .find_by_downtime_id(&DowntimeId::parse(&id).unwrap())
        .unwrap()
        .unwrap()
        .state;
    drop(store);
    let r = &saved.request;
    assert_eq!(r.patient.surname, "Khan");
    assert_eq!(r.patient.sex, Sex::Male);
    assert_eq!(r.test_codes(), ["FBC", "UE", "CRP"]);
    assert_eq!(r.priority, Priority::Urgent);
    assert_eq!(r.ward, "Ward 7");
    assert_eq!(r.requester_contact, "4306");
    assert_eq!(r.collected_by, "N Bloggs");
    assert_eq!(saved.created_by.user, "N Bloggs (NBLOGGS)");

    app.presses = 0;
    app.keys("9990000026");
    app.press(Key::Enter);
    app.keys("u");
    app.tab(1);
    app.keys("lft");
    app.press(Key::Enter);
    app.chord(Modifiers::COMMAND, Key::Enter);
    let second = app.presses;
    let id2 = app
        .state()
        .confirmed_id()
        .expect("the same patient again")
        .to_owned();
    assert_ne!(id, id2);
    let store = Store::open_or_create(&path).unwrap();
    let again = store
        .find_by_downtime_id(&DowntimeId::parse(&id2).unwrap())
        .unwrap()
        .unwrap()
        .state
        .request;
    assert_eq!(again.patient, r.patient);
    assert_eq!(again.test_codes(), ["LFT"]);
    assert_eq!(
        (again.consultant.as_str(), again.requester.as_str()),
        ("Dr Shah", "Dr Lee")
    );
    println!("key presses: new patient {first}, same patient again {second}");
    assert!(first <= 60, "new patient took {first} key presses");
    assert!(second <= 25, "same patient again took {second} key presses");
}

#[test]
fn a_user_away_from_the_keyboard_is_locked_out_so_the_next_save_is_not_theirs() {
    let (_dir, path) = configured_db();
    let mut app = App::open(&path);
    app.sign_in("Nurse Day");
    app.type_into("Surname", "Zebedee");
    app.advance(Duration::minutes(4));
    assert_eq!(app.state().signed_in_user(), Some("Nurse Day"));
    app.advance(Duration::minutes(2));
    assert_eq!(app.state().signed_in_user(), None);
    app.h.get_by_label_contains(
        "Locked after 5 minutes away from the keyboard (Nurse Day was signed in)",
    );
    // While locked no patient detail is drawn: the surname typed is not on screen.
    assert!(app.h.query_by_label_contains("Zebedee").is_none());
    assert!(app.h.query_by_label("Surname").is_none());
    // The next person signs in: the draft is still there, and the save is recorded as theirs.
    app.sign_in("Nurse Night");
    assert_eq!(app.state().form_draft().surname, "Zebedee");
    app.type_into("NHS number", "999 000 0026");
    fill_bloggs(&mut app);
    app.chord(Modifiers::COMMAND, Key::Enter);
    let id = saved_id(&app);
    assert_eq!(created_event(&path, &id).0, "Nurse Night (NURSENIGHT)");
    assert_eq!(app.state().form_draft().collected_by, "Nurse Night");
}
