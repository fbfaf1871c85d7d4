//! The shell's own promises, driven through the real UI over a real file: a failing draft
//! autosave is reported once, not every second; the lab screen re-reads its count when typing
//! pauses, not on every key; a page of the queue that failed is not asked for every frame.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on purpose"
)]

use crate::common::ui::{App, configured_db};
use chrono::Duration;
use egui_kittest::kittest::Queryable as _;
use stopgap::domain::overdue::OverdueThresholds;
use stopgap::store::Store;
use stopgap::ui::queue::{QueueCache, QueueState};

/// Makes every write of the draft fail, as a full disk would, through a second connection.
fn break_draft_writes(path: &std::path::Path) {
    let conn = stopgap::store::raw_connection(path).unwrap();
    conn.execute_batch(
        "CREATE TRIGGER test_no_draft_insert BEFORE INSERT ON drafts
             BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;
         CREATE TRIGGER test_no_draft_update BEFORE UPDATE ON drafts
             BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;",
    )
    .unwrap();
}

#[test]
fn a_failed_draft_autosave_is_reported_once_and_not_again_after_dismiss() {
    let (_dir, path) = configured_db();
    break_draft_writes(&path);
    let mut app = App::open(&path);
    app.sign_in("N Bloggs");
    app.type_into("Surname", "Khan");
    app.advance(Duration::seconds(2));
    app.h
        .get_by_label_contains("The form could not be kept as a draft");
    app.click("Dismiss");
    assert!(
        app.h
            .query_by_label_contains("The form could not be kept as a draft")
            .is_none()
    );
    // Typing on, and seconds passing, do not bring the same notice back every second.
    for _ in 0..5 {
        app.type_into("Forename", "A");
        app.advance(Duration::seconds(2));
        assert!(
            app.h
                .query_by_label_contains("The form could not be kept as a draft")
                .is_none()
        );
    }
    // The form itself is intact on screen.
    assert_eq!(app.value("Surname"), "Khan");
}

#[test]
fn the_export_count_is_read_again_when_typing_pauses_not_on_every_key() {
    let (_dir, path) = configured_db();
    {
        let mut store = Store::open_or_create(&path).unwrap();
        for n in 1..=3 {
            store
                .save_request(&crate::common::request(n), "Tester", crate::common::now())
                .unwrap();
        }
    }
    let mut app = App::open(&path);
    app.sign_in("Lab Lead");
    app.click("Lab export");
    app.h.get_by_label("3 requests will be exported");
    // A ward no request has: while the name is being typed, the count stands.
    app.type_into("Ward (blank = any)", "ITU");
    app.h.get_by_label("3 requests will be exported");
    app.advance(Duration::milliseconds(500));
    assert!(
        app.h
            .query_by_label("3 requests will be exported")
            .is_none()
    );
}

#[test]
fn a_queue_page_that_failed_is_not_asked_for_again() {
    let (_dir, path) = configured_db();
    let store = Store::open_or_create(&path).unwrap();
    let state = QueueState::default();
    let now = crate::common::now();
    let mut cache = QueueCache::default();
    cache
        .reload(&store, &state, now, &OverdueThresholds::default())
        .unwrap();
    cache.failed = Some((100, "disk I/O error".into()));
    cache.load_page(&store, &state, 100, now, &OverdueThresholds::default());
    assert!(!cache.pages.contains_key(&100), "not read again");
    cache.pages.clear();
    cache.load_page(&store, &state, 0, now, &OverdueThresholds::default());
    assert!(cache.pages.contains_key(&0), "other pages still load");
    // A reload (new filter, refresh) forgets the failure.
    cache
        .reload(&store, &state, now, &OverdueThresholds::default())
        .unwrap();
    assert_eq!(cache.failed, None);
}
