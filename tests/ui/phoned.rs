//! Phoned results (issue 10) through the real app over a real SQLite file, keyboard only: from
//! the queue a received request's detail opens, Ctrl+L opens the form, the test is chosen by its
//! number, the fields are reached by Tab, read-back is said with Y or N, and Enter saves; the
//! result shows on the detail and in the F9 log; one NOT read back is shown as such and found by
//! the log's filter. The store is asked what was recorded.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on purpose"
)]

use chrono::{DateTime, Duration, DurationRound, Local, Utc};
use egui::{Key, Modifiers};
use egui_kittest::kittest::Queryable as _;
use stopgap::domain::catalogue::Catalogue;
use stopgap::domain::event::EventKind;
use stopgap::domain::phoned::PhonedResult;
use stopgap::domain::status::Transition;
use stopgap::store::{PhonedFilter, Store};
use stopgap::ui::phoned::{LOG_BUTTON, LOG_TABLE_LABEL, NOT_READ_BACK_FILTER};
use stopgap::ui::queue::{SEARCH_LABEL, TABLE_LABEL};
use uuid::Uuid;

use crate::common::ui::{App, configured_db};

const SAVE: &str = "Save phoned result (Enter)";

/// Synthetic request `n` (FBC and U&E) collected `minutes_ago` before `now`, moved through
/// `steps` by another connection (as the lab PC's own process would); its UUID and grouped
/// downtime ID.
fn saved(
    path: &std::path::Path,
    now: DateTime<Utc>,
    n: u32,
    minutes_ago: i64,
    steps: &[Transition],
) -> (Uuid, String) {
    let collected = (now.duration_trunc(Duration::minutes(1)).unwrap()
        - Duration::minutes(minutes_ago))
    .with_timezone(&Local);
    let mut draft = crate::common::draft(n);
    draft.collected_date = collected.format("%d/%m/%Y").to_string();
    draft.collected_time = collected.format("%H:%M").to_string();
    let request = draft
        .validate(now, &Local, &Catalogue::default_uk().unwrap())
        .unwrap();
    let mut store = Store::open_or_create(path).unwrap();
    let id = store
        .save_request(&request, "Nurse A", now)
        .unwrap()
        .downtime_id;
    for t in steps {
        store.change_status(request.uuid, t, "BMS C", now).unwrap();
    }
    (request.uuid, id.grouped())
}

fn received(path: &std::path::Path, now: DateTime<Utc>, n: u32) -> (Uuid, String) {
    saved(
        path,
        now,
        n,
        40 - i64::from(n) * 10,
        &[Transition::Sent, Transition::Received],
    )
}

/// The app signed in as `user` with the queue read again after `fill` saved requests.
fn lab_app<'a>(path: &std::path::Path, user: &str, fill: impl FnOnce(DateTime<Utc>)) -> App<'a> {
    let mut app = App::open(path);
    app.sign_in(user);
    fill(app.now());
    app.press(Key::F3);
    app.click("Refresh");
    app
}

/// From the queue's search box: Tab to the table, Down to the first row, Enter opens it.
fn open_first_request(app: &mut App<'_>) {
    app.h.get_by_label(SEARCH_LABEL).focus();
    app.h.run();
    app.press(Key::Tab);
    assert!(app.h.get_by_label(TABLE_LABEL).is_focused());
    app.press(Key::ArrowDown);
    app.press(Key::Enter);
    app.h.get_by_label("Close");
}

/// How many texts on screen contain `text`.
fn shows(app: &App<'_>, text: &str) -> usize {
    app.h.query_all_by_label_contains(text).count()
}

/// How many texts on screen are exactly `text`.
fn exactly(app: &App<'_>, text: &str) -> usize {
    app.h.query_all_by_label(text).count()
}

fn phoned_events(path: &std::path::Path, uuid: Uuid) -> Vec<(String, PhonedResult)> {
    let d = Store::open(path)
        .unwrap()
        .request_detail(uuid)
        .unwrap()
        .unwrap();
    d.events
        .into_iter()
        .filter_map(|e| match e.kind {
            EventKind::ResultPhoned { phoned } => Some((e.actor.user, *phoned)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_phoned_result_logged_by_keyboard_from_the_detail_shows_there_and_in_the_f9_log() {
    let (_dir, path) = configured_db();
    let mut request = None;
    let mut app = lab_app(&path, "Lab Scientist", |now| {
        request = Some(received(&path, now, 1));
    });
    let (uuid, id) = request.unwrap();
    open_first_request(&mut app);
    assert_eq!(shows(&app, "Results phoned (0)"), 1);
    app.presses = 0;

    app.chord(Modifiers::COMMAND, Key::L);
    // Two tests: none is assumed, and the cursor is on the choice.
    assert!(app.h.get_by_label("Test: none chosen").is_focused());
    assert_eq!(app.value("Phoned by"), "Lab Scientist (LABSCIENTIST)");
    app.keys("1");
    app.h.get_by_label("Test: FBC");
    app.press(Key::Tab);
    app.keys("Hb 62 g/L");
    app.tab(4); // phoned on, phoned at (now, kept), phoned by (kept), taken by
    app.keys("Nurse Ade");
    app.press(Key::Tab);
    assert!(app.h.get_by_label("Read back: none chosen").is_focused());
    app.keys("y");
    app.press(Key::Enter);

    let recorded = phoned_events(&path, uuid);
    assert_eq!(recorded.len(), 1, "one result, recorded once");
    let (user, p) = &recorded[0];
    assert_eq!(user, "Lab Scientist (LABSCIENTIST)");
    assert_eq!((p.test.as_str(), p.summary.as_str()), ("FBC", "Hb 62 g/L"));
    assert_eq!(
        (p.phoned_by.as_str(), p.received_by.as_str()),
        ("Lab Scientist (LABSCIENTIST)", "Nurse Ade")
    );
    assert!(p.read_back);
    assert!(
        (app.now() - p.phoned_at).num_minutes().abs() <= 1,
        "phoned now"
    );
    assert!(app.presses <= 30, "{} key presses", app.presses);

    // The form has closed; the detail lists the result and its time in the strip.
    assert!(app.h.query_by_label(SAVE).is_none());
    assert_eq!(shows(&app, "Results phoned (1)"), 1);
    assert_eq!(exactly(&app, "FBC: Hb 62 g/L"), 1);
    assert_eq!(
        shows(
            &app,
            "Result phoned: FBC: Hb 62 g/L to Nurse Ade (read back)"
        ),
        1
    );
    assert!(shows(&app, "phoned by Lab Scientist (LABSCIENTIST) to Nurse Ade") >= 1);

    // Escape closes the detail; F9 shows the log with the result, and Enter opens it again.
    app.press(Key::Escape);
    assert!(app.h.query_by_label("Close").is_none());
    app.press(Key::F9);
    assert!(app.h.get_by_label(LOG_TABLE_LABEL).is_focused());
    assert_eq!(exactly(&app, "FBC: Hb 62 g/L"), 1);
    assert_eq!(exactly(&app, &id), 1);
    assert_eq!(
        shows(&app, "by Lab Scientist (LABSCIENTIST) to Nurse Ade"),
        1
    );
    app.press(Key::ArrowDown);
    app.press(Key::Enter);
    app.h.get_by_label("Close");
    assert_eq!(
        exactly(&app, &id),
        2,
        "in the log and at the top of the detail"
    );
    assert_eq!(shows(&app, "Results phoned (1)"), 1);
}

#[test]
fn a_result_not_read_back_must_be_said_and_is_shown_in_the_detail_and_found_by_the_log_filter() {
    let (_dir, path) = configured_db();
    let mut ids = Vec::new();
    let mut app = lab_app(&path, "Lab Scientist", |now| {
        ids.push(received(&path, now, 1));
        ids.push(received(&path, now, 2));
    });
    // The first, read back, recorded by another PC's process.
    let mut store = Store::open(&path).unwrap();
    store
        .record_phoned(
            ids[0].0,
            &PhonedResult {
                test: "UE".into(),
                summary: "K+ 5.9 mmol/L".into(),
                phoned_at: app.now() - Duration::minutes(5),
                phoned_by: "BMS C".into(),
                received_by: "Nurse Ade".into(),
                read_back: true,
            },
            "BMS C",
            app.now(),
        )
        .unwrap();
    drop(store);

    // The second from the queue (newest first: it is the first row).
    open_first_request(&mut app);
    assert_eq!(exactly(&app, &ids[1].1), 2);
    app.chord(Modifiers::COMMAND, Key::L);
    app.keys("2");
    app.press(Key::Tab);
    app.keys("K+ 6.8 mmol/L");
    app.tab(4);
    app.keys("Dr Bee");
    // Enter before read-back is said: refused at the field, nothing recorded.
    app.press(Key::Enter);
    assert!(phoned_events(&path, ids[1].0).is_empty());
    assert!(shows(&app, "Say whether the ward read the result back") >= 1);
    assert!(app.h.get_by_label("Read back: none chosen").is_focused());
    app.keys("n");
    assert!(shows(&app, "It will be recorded as NOT read back.") >= 1);
    app.press(Key::Enter);
    let recorded = phoned_events(&path, ids[1].0);
    assert_eq!(recorded.len(), 1);
    assert!(!recorded[0].1.read_back);
    assert_eq!(recorded[0].1.test, "UE");
    // The detail says it loudly, in its list and its history.
    assert_eq!(exactly(&app, "NOT read back"), 1);
    assert_eq!(shows(&app, "(NOT read back)"), 1);

    // The log holds both; the filter leaves the one not read back.
    app.press(Key::Escape);
    app.press(Key::F9);
    assert_eq!(shows(&app, "K+ 5.9 mmol/L"), 1);
    assert_eq!(shows(&app, "K+ 6.8 mmol/L"), 1);
    assert_eq!(shows(&app, "1 NOT read back"), 1);
    app.click(NOT_READ_BACK_FILTER);
    assert_eq!(shows(&app, "K+ 5.9 mmol/L"), 0);
    assert_eq!(shows(&app, "K+ 6.8 mmol/L"), 1);
    assert_eq!(exactly(&app, &ids[0].1), 0);
    assert_eq!(exactly(&app, &ids[1].1), 1);
    assert_eq!(exactly(&app, "NOT read back"), 1);
    assert_eq!(
        Store::open(&path)
            .unwrap()
            .phoned_results(&PhonedFilter {
                ward: None,
                not_read_back: true
            })
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn before_the_lab_has_the_sample_no_result_can_be_logged_and_the_times_strip_says_so() {
    let (_dir, path) = configured_db();
    let mut request = None;
    let mut app = lab_app(&path, "Ward Nurse", |now| {
        request = Some(saved(&path, now, 1, 30, &[Transition::Sent]));
    });
    open_first_request(&mut app);
    assert!(app.h.query_by_label(LOG_BUTTON).is_none());
    app.chord(Modifiers::COMMAND, Key::L);
    assert!(app.h.query_by_label(SAVE).is_none());
    assert!(
        shows(
            &app,
            "a result is logged once the lab has received the sample"
        ) >= 1
    );
    for step in ["Collected", "Sent", "Received", "Phoned", "Re-entered"] {
        assert!(exactly(&app, step) >= 1, "{step}");
    }
    // Once received (here, on the panel), the form is offered.
    app.click("Mark received in lab");
    app.h.get_by_label(LOG_BUTTON);
    let (uuid, _) = request.unwrap();
    assert!(phoned_events(&path, uuid).is_empty());
}
