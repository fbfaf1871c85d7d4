//! The turnaround dashboard (issue 10), driven through the real app over a real SQLite file: F5
//! opens it; the overdue emergencies and urgents are at the top with their IDs and open their
//! request; the open table counts; the charts are there (or say in words that there is nothing to
//! chart); the ward picker narrows every figure to one ward; the figures are read again on their
//! own thread as the clock moves on. The figures come from a background thread, so each test
//! waits for the answer (never for a time).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on purpose"
)]

use chrono::{DateTime, Duration, Utc};
use egui::Key;
use egui_kittest::kittest::Queryable as _;
use stopgap::domain::catalogue::Catalogue;
use stopgap::domain::phoned::PhonedResult;
use stopgap::domain::request::{NewRequest, Priority};
use stopgap::domain::status::Transition;
use stopgap::store::Store;
use stopgap::ui::dashboard::{ALL_WARDS, WARD_LABEL};
use uuid::Uuid;

use crate::common::ui::{App, configured_db, real_now};

/// Synthetic request `n` of `priority` for `ward`, collected at `collected` (typed in UTC).
fn request(n: u32, priority: Priority, ward: &str, collected: DateTime<Utc>) -> NewRequest {
    let mut d = crate::common::draft(n);
    d.priority = Some(priority);
    d.ward = ward.into();
    d.collected_date = collected.format("%d/%m/%Y").to_string();
    d.collected_time = collected.format("%H:%M").to_string();
    d.validate(real_now(), &Utc, &Catalogue::default_uk().unwrap())
        .unwrap()
}

/// What the known store holds, by name.
struct Known {
    /// EMERGENCY, Ward 7, collected 3 hours ago, only logged: overdue by 2 h 30 min.
    e_overdue: (Uuid, String),
    /// Urgent, AMU, collected 2 hours ago, received: overdue by 1 hour.
    u_overdue: (Uuid, String),
    /// Urgent, Ward 7, collected 30 minutes ago: not overdue yet.
    u_fresh: String,
}

/// Saves `r` as the ward would, a minute after collection; its UUID and grouped ID.
fn save(store: &mut Store, r: &NewRequest) -> (Uuid, String) {
    let saved = store
        .save_request(r, "Ward Nurse", r.collected_at + Duration::minutes(1))
        .unwrap();
    (r.uuid, saved.downtime_id.grouped())
}

fn receive(store: &mut Store, uuid: Uuid, at: DateTime<Utc>) {
    for t in [Transition::Sent, Transition::Received] {
        store.change_status(uuid, &t, "BMS Chen", at).unwrap();
    }
}

fn phone(store: &mut Store, uuid: Uuid, at: DateTime<Utc>) {
    let result = PhonedResult {
        test: "FBC".into(),
        summary: "Hb 62 g/L".into(),
        phoned_at: at,
        phoned_by: "BMS Chen".into(),
        received_by: "Nurse Ade".into(),
        read_back: true,
    };
    store.record_phoned(uuid, &result, "BMS Chen", at).unwrap();
}

/// Two overdue requests (an emergency and an urgent), one fresh urgent, a received routine with
/// a phoned result, and a re-entered emergency that was received and phoned.
fn known_store(path: &std::path::Path) -> Known {
    let now = real_now();
    let ago = |minutes: i64| now - Duration::minutes(minutes);
    let mut store = Store::open_or_create(path).unwrap();
    let e_overdue = save(
        &mut store,
        &request(1, Priority::Emergency, "Ward 7", ago(180)),
    );
    let u_overdue = save(&mut store, &request(2, Priority::Urgent, "AMU", ago(120)));
    receive(&mut store, u_overdue.0, ago(110));
    let (_, u_fresh) = save(&mut store, &request(3, Priority::Urgent, "Ward 7", ago(30)));
    let routine = save(&mut store, &request(4, Priority::Routine, "AMU", ago(240)));
    receive(&mut store, routine.0, ago(180));
    phone(&mut store, routine.0, ago(150));
    let done = save(&mut store, &request(5, Priority::Emergency, "AMU", ago(90)));
    receive(&mut store, done.0, ago(80));
    phone(&mut store, done.0, ago(60));
    let reentered = Transition::Reentered {
        accession: "LIMS-0042".into(),
    };
    store
        .change_status(done.0, &reentered, "Clerk Ames", ago(20))
        .unwrap();
    Known {
        e_overdue,
        u_overdue,
        u_fresh,
    }
}

/// The app signed in, with the dashboard opened by its key and its first figures in.
fn dashboard<'a>(path: &std::path::Path) -> App<'a> {
    let mut app = App::open(path);
    app.sign_in("J Smith");
    app.press(Key::F5);
    settle(&mut app, None);
    app
}

/// Draws frames until the figures for `ward` have come back from their thread.
fn settle(app: &mut App<'_>, ward: Option<&str>) {
    for _ in 0..1000 {
        app.h.run();
        let d = app.state().dashboard();
        if !d.computing() && d.latest().is_some_and(|c| c.ward.as_deref() == ward) {
            app.h.run();
            return;
        }
        assert_eq!(d.error(), None);
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    panic!("the dashboard's figures never came back");
}

fn shows(app: &App<'_>, text: &str) -> bool {
    app.h.query_all_by_label_contains(text).next().is_some()
}

#[test]
fn f5_opens_the_dashboard_with_the_overdue_requests_at_the_top_oldest_first() {
    let (_dir, path) = configured_db();
    let known = known_store(&path);
    let app = dashboard(&path);
    assert!(shows(&app, "Turnaround dashboard"));
    assert!(shows(&app, "As of "));
    assert!(shows(&app, "OVERDUE: 1 EMERGENCY, 1 Urgent"));
    let e = app.h.get_by_label_contains(&known.e_overdue.1);
    let u = app.h.get_by_label_contains(&known.u_overdue.1);
    assert!(e.rect().top() < u.rect().top(), "oldest first");
    assert!(shows(&app, "2 h 30 min over"));
    // Above the tables and the charts.
    let open = app.h.get_by_label("All open: 4");
    assert!(u.rect().bottom() <= open.rect().top());
    // Not overdue yet, or done: not listed.
    assert!(!shows(&app, &known.u_fresh));
    let f = &app.state().dashboard().latest().unwrap().figures;
    let listed: Vec<Uuid> = f.overdue.iter().map(|o| o.uuid).collect();
    assert_eq!(listed, [known.e_overdue.0, known.u_overdue.0]);
}

#[test]
fn the_open_table_counts_open_requests_by_status_and_priority() {
    let (_dir, path) = configured_db();
    known_store(&path);
    let app = dashboard(&path);
    for cell in [
        "Logged, EMERGENCY: 1",
        "Logged, Urgent: 1",
        "Logged, Routine: 0",
        "Received in lab, Urgent: 1",
        "Received in lab, Routine: 1",
        "Received in lab, EMERGENCY: 0",
        "All open: 4",
    ] {
        app.h.get_by_label(cell);
    }
    // Median and 90th percentile of the one received emergency: 10 minutes to receipt, 20 to
    // its phoned result.
    app.h
        .get_by_label("EMERGENCY collection to receipt: 10 min / 10 min  (1)");
    app.h
        .get_by_label("EMERGENCY receipt to phoned: 20 min / 20 min  (1)");
}

#[test]
fn the_charts_are_shown_under_their_headings_with_nothing_said_missing() {
    let (_dir, path) = configured_db();
    known_store(&path);
    let app = dashboard(&path);
    for heading in [
        stopgap::ui::dashboard::RECEIPT_CHART,
        stopgap::ui::dashboard::PHONED_CHART,
        stopgap::ui::dashboard::BACKLOG_CHART,
    ] {
        app.h.get_by_label(heading);
    }
    assert!(shows(&app, "solid line: median · dashed: 90th percentile"));
    assert!(!shows(&app, "No sample has been received yet"));
    assert!(!shows(&app, "No result has been phoned"));
    assert!(!shows(&app, "No request has been logged yet"));
}

#[test]
fn with_no_requests_every_chart_says_so_in_words() {
    let (_dir, path) = configured_db();
    let app = dashboard(&path);
    assert!(shows(&app, "No emergency or urgent request is overdue."));
    app.h.get_by_label("All open: 0");
    assert!(shows(&app, "No sample has been received yet"));
    assert!(shows(
        &app,
        "No result has been phoned for a received sample yet"
    ));
    assert!(shows(&app, "No request has been logged yet"));
}

#[test]
fn the_ward_picker_narrows_every_figure_to_one_ward_and_is_kept_for_the_session() {
    let (_dir, path) = configured_db();
    let known = known_store(&path);
    let mut app = dashboard(&path);
    assert_eq!(app.state().dashboard().latest().unwrap().requests, 5);
    app.h.get_by_label(WARD_LABEL).click();
    app.h.run();
    app.click("AMU");
    settle(&mut app, Some("AMU"));
    let c = app.state().dashboard().latest().unwrap();
    assert_eq!(c.requests, 3);
    assert!(shows(&app, "3 requests"));
    // Ward 7's overdue emergency is gone; AMU's urgent stays.
    assert!(!shows(&app, &known.e_overdue.1));
    assert!(shows(&app, &known.u_overdue.1));
    assert!(shows(&app, "OVERDUE: 0 EMERGENCY, 1 Urgent"));
    app.h.get_by_label("Logged, EMERGENCY: 0");
    app.h.get_by_label("Received in lab, Routine: 1");
    app.h.get_by_label("All open: 2");

    // Away and back: still AMU.
    app.press(Key::F3);
    app.press(Key::F5);
    settle(&mut app, Some("AMU"));
    assert_eq!(app.state().dashboard().ward.as_deref(), Some("AMU"));
    app.h.get_by_label_contains(&known.u_overdue.1);

    app.h.get_by_label(WARD_LABEL).click();
    app.h.run();
    app.click(ALL_WARDS);
    settle(&mut app, None);
    assert!(shows(&app, &known.e_overdue.1));
}

#[test]
fn an_overdue_row_opens_its_request_in_the_queues_detail_panel() {
    let (_dir, path) = configured_db();
    let known = known_store(&path);
    let mut app = dashboard(&path);
    app.h.get_by_label_contains(&known.e_overdue.1).click();
    app.h.run();
    // The queue with the detail panel open on that request.
    app.h.get_by_label(stopgap::ui::queue::TABLE_LABEL);
    app.h.get_by_label("Close");
    assert!(
        app.h
            .query_all_by_label_contains(&known.e_overdue.1)
            .count()
            >= 2,
        "its ID in the queue and at the top of the detail panel"
    );
}

#[test]
fn the_figures_are_read_again_as_the_clock_moves_on() {
    let (_dir, path) = configured_db();
    known_store(&path);
    let mut app = dashboard(&path);
    assert_eq!(app.state().dashboard().latest().unwrap().requests, 5);
    // Another PC's request arrives (a handover import, another connection).
    let mut other = Store::open(&path).unwrap();
    let now = real_now();
    let r = request(6, Priority::Emergency, "AMU", now - Duration::minutes(45));
    save(&mut other, &r);
    drop(other);
    // Before the refresh is due nothing is read; after it, the figures have it.
    app.advance(Duration::seconds(5));
    settle(&mut app, None);
    assert_eq!(app.state().dashboard().latest().unwrap().requests, 5);
    app.advance(Duration::seconds(30));
    settle(&mut app, None);
    let c = app.state().dashboard().latest().unwrap();
    assert_eq!(c.requests, 6);
    assert_eq!(c.figures.overdue_emergency, 2);
}
