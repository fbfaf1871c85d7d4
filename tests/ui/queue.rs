//! The queue as the lab and the ward use it (issue 7), driven through the real app over a real
//! SQLite file at a ward PC's size (1366×768): overdue requests flagged and first, the keyboard
//! (Tab, Up/Down, Enter, Escape), search by part of an ID or a forename, downtime IDs in their own
//! font, and a detail panel that fits.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on purpose"
)]

use std::sync::Arc;

use chrono::{DateTime, Duration, DurationRound, Local, Utc};
use egui::epaint::{Galley, Shape, TextShape};
use egui::{FontFamily, Key};
use egui_kittest::kittest::{NodeT as _, Queryable as _};
use stopgap::domain::catalogue::Catalogue;
use stopgap::domain::nhs_number::NhsNumber;
use stopgap::domain::request::Priority;
use stopgap::domain::status::Transition;
use stopgap::store::Store;
use stopgap::ui::fonts;
use stopgap::ui::queue::{SEARCH_LABEL, TABLE_LABEL};

use crate::common::ui::{App, configured_db};

/// The `k`-th valid synthetic NHS number (999 range), so that every patient has their own.
fn nhs(k: usize) -> NhsNumber {
    (0..).filter_map(NhsNumber::test_number).nth(k).unwrap()
}

/// A synthetic request saved into the store at `path`: patient `k` (forename as given), of
/// `priority`, collected `minutes_ago` whole minutes before the minute `now` falls in. Returns its
/// downtime ID as shown (grouped).
fn save(
    path: &std::path::Path,
    now: DateTime<Utc>,
    k: usize,
    forename: &str,
    priority: Priority,
    minutes_ago: i64,
) -> String {
    let collected = (now.duration_trunc(Duration::minutes(1)).unwrap()
        - Duration::minutes(minutes_ago))
    .with_timezone(&Local);
    let mut draft = crate::common::draft(1);
    draft.nhs_number = nhs(k).to_string();
    draft.surname = format!("Testpatient{k}");
    draft.forename = forename.to_owned();
    draft.priority = Some(priority);
    draft.collected_date = collected.format("%d/%m/%Y").to_string();
    draft.collected_time = collected.format("%H:%M").to_string();
    let request = draft
        .validate(now, &Local, &Catalogue::default_uk().unwrap())
        .unwrap();
    let mut store = Store::open_or_create(path).unwrap();
    store
        .save_request(&request, "Tester", now)
        .unwrap()
        .downtime_id
        .grouped()
}

/// The app on the queue tab, signed in, with the queue read again after `fill` saved requests
/// through another connection (as another workstation process would).
fn queue_app<'a>(path: &std::path::Path, fill: impl FnOnce(DateTime<Utc>)) -> App<'a> {
    let mut app = App::open(path);
    app.sign_in("Lab Manager");
    fill(app.now());
    app.click("Queue (F3)");
    app.click("Refresh");
    app
}

/// Top edge of the row showing `id` in the table.
fn row_top(app: &App<'_>, id: &str) -> f32 {
    app.h.get_by_label(id).rect().min.y
}

/// Every piece of text painted in the last frame, with the font family of each section.
fn painted_text(app: &App<'_>) -> Vec<(String, FontFamily)> {
    painted_galleys(app)
        .into_iter()
        .flat_map(|(galley, _)| {
            galley
                .job
                .sections
                .iter()
                .map(|section| {
                    let range = section.byte_range.start.0..section.byte_range.end.0;
                    (
                        galley.job.text[range].to_owned(),
                        section.format.font_id.family.clone(),
                    )
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Every text painted in the last frame: what was laid out (`elided` when it was cut short, an
/// ellipsis in place of its end), and where.
fn painted_galleys(app: &App<'_>) -> Vec<(Arc<Galley>, egui::Pos2)> {
    fn walk(shape: &Shape, out: &mut Vec<(Arc<Galley>, egui::Pos2)>) {
        match shape {
            Shape::Text(TextShape { galley, pos, .. }) => out.push((galley.clone(), *pos)),
            Shape::Vec(shapes) => {
                for s in shapes {
                    walk(s, out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    for clipped in &app.h.output().shapes {
        walk(&clipped.shape, &mut out);
    }
    out
}

/// Whether `text` is a downtime ID in its grouped form, e.g. `RXX-W07-000023-K`.
fn is_grouped_id(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    parts.len() == 4
        && parts[0] == "RXX"
        && parts[1] == "W07"
        && parts[2].len() == 6
        && parts[2].chars().all(|c| c.is_ascii_digit())
        && parts[3].len() == 1
}

#[test]
fn an_urgent_request_past_its_threshold_is_flagged_overdue_above_a_newer_routine_one() {
    let (_dir, path) = configured_db();
    let mut ids = Vec::new();
    let mut app = queue_app(&path, |now| {
        ids.push(save(&path, now, 1, "Alice", Priority::Urgent, 72));
        ids.push(save(&path, now, 2, "Bob", Priority::Routine, 10));
        ids.push(save(&path, now, 3, "Carol", Priority::Urgent, 50));
    });
    let [overdue, routine, soon] = [&ids[0], &ids[1], &ids[2]];

    // Flagged in words (the sample's age), and first although the newest is the routine one.
    app.h.get_by_label("OVERDUE 1 h 12 min");
    assert!(app.h.query_by_label_contains("OVERDUE 50 min").is_none());
    app.h.get_by_label("10 min ago");
    app.h.get_by_label("50 min ago");
    assert!(row_top(&app, overdue) < row_top(&app, routine));
    assert!(
        row_top(&app, routine) < row_top(&app, soon),
        "then newest first"
    );
    app.h.get_by_label_contains(
        "1 overdue pinned first (most overdue at the top), then by collection time, newest first",
    );

    // Fifteen minutes on, the second urgent request is overdue too and moves up, below the one
    // that has been overdue longer. (The screen locked meanwhile: the lab signs in again.)
    app.advance(Duration::minutes(15));
    app.sign_in("Lab Manager");
    app.h.get_by_label("OVERDUE 1 h 27 min");
    app.h.get_by_label("OVERDUE 1 h 5 min");
    app.h.get_by_label("25 min ago");
    assert!(row_top(&app, overdue) < row_top(&app, soon));
    assert!(row_top(&app, soon) < row_top(&app, routine));
    app.h.get_by_label_contains("2 overdue pinned first");

    // A sort by a column header still works, and the screen says overdue stay pinned.
    app.click("Patient");
    app.h.get_by_label_contains(
        "2 overdue pinned first (most overdue at the top), then by patient name, A to Z",
    );
    assert!(row_top(&app, overdue) < row_top(&app, soon));
    assert!(row_top(&app, soon) < row_top(&app, routine));
    // Unpinned, the patient order alone: Testpatient1, 2, 3.
    app.click("Overdue first");
    app.h
        .get_by_label_contains("Overdue requests (2) are not pinned first");
    assert!(row_top(&app, overdue) < row_top(&app, routine));
    assert!(row_top(&app, routine) < row_top(&app, soon));
    // Still flagged when not pinned.
    app.h.get_by_label("OVERDUE 1 h 5 min");
}

#[test]
fn down_and_enter_open_a_request_and_escape_closes_it_back_to_the_table() {
    let (_dir, path) = configured_db();
    let mut ids = Vec::new();
    let mut app = queue_app(&path, |now| {
        for (k, minutes) in [(1, 10), (2, 20), (3, 30)] {
            ids.push(save(&path, now, k, "Alice", Priority::Routine, minutes));
        }
    });
    // The table is the next Tab stop after the search box.
    app.h.get_by_label(SEARCH_LABEL).focus();
    app.h.run();
    app.press(Key::Tab);
    assert!(app.h.get_by_label(TABLE_LABEL).is_focused());
    assert!(app.h.query_by_label("Close").is_none());

    // Down highlights the first row, Down again the second; Enter opens that one.
    app.press(Key::ArrowDown);
    app.press(Key::ArrowDown);
    assert!(
        app.h.query_by_label("Close").is_none(),
        "moving opens nothing"
    );
    app.press(Key::Enter);
    assert_eq!(
        app.h.get_all_by_label(&ids[1]).count(),
        2,
        "the second row's ID in the table and at the top of the detail panel"
    );
    assert_eq!(app.h.get_all_by_label(&ids[0]).count(), 1);
    app.h.get_by_label("Close");
    assert!(app.h.get_by_label(TABLE_LABEL).is_focused());

    // Up and Enter open the first row instead, without leaving the table.
    app.press(Key::ArrowUp);
    app.press(Key::Enter);
    assert_eq!(app.h.get_all_by_label(&ids[0]).count(), 2);
    assert_eq!(app.h.get_all_by_label(&ids[1]).count(), 1);

    // Escape closes the panel and the table keeps the keyboard.
    app.press(Key::Escape);
    assert!(app.h.query_by_label("Close").is_none());
    assert_eq!(app.h.get_all_by_label(&ids[0]).count(), 1);
    assert!(app.h.get_by_label(TABLE_LABEL).is_focused());
    app.press(Key::ArrowDown);
    app.press(Key::ArrowDown);
    app.press(Key::Enter);
    assert_eq!(
        app.h.get_all_by_label(&ids[2]).count(),
        2,
        "from where it was"
    );
}

#[test]
fn down_from_the_search_box_goes_into_the_table_and_highlights_a_row() {
    // Found in use: after typing a name, Down did nothing; only Tab reached the table.
    let (_dir, path) = configured_db();
    let mut ids = Vec::new();
    let mut app = queue_app(&path, |now| {
        for (k, minutes) in [(1, 10), (2, 20)] {
            ids.push(save(&path, now, k, "Alice", Priority::Routine, minutes));
        }
    });
    // F3 puts the cursor in the search box: type, then Down.
    app.press(Key::F2);
    app.press(Key::F3);
    assert!(app.h.get_by_label(SEARCH_LABEL).is_focused());
    app.keys("Alice");
    app.press(Key::ArrowDown);
    assert!(app.h.get_by_label(TABLE_LABEL).is_focused());
    assert_eq!(app.value(SEARCH_LABEL), "Alice", "the search is kept");
    app.press(Key::ArrowDown);
    app.press(Key::Enter);
    app.h.get_by_label("Close");
}

#[test]
fn a_partial_id_or_a_forename_finds_the_right_rows_and_a_new_search_starts_at_the_top() {
    let (_dir, path) = configured_db();
    let mut ids = Vec::new();
    let mut app = queue_app(&path, |now| {
        for k in 0..30 {
            let forename = if k % 10 == 4 { "Zainab" } else { "Alice" };
            // The first saved is the oldest, so the newest-first table ends with it.
            ids.push(save(
                &path,
                now,
                k,
                forename,
                Priority::Routine,
                300 - k as i64,
            ));
        }
    });
    let newest = ids.last().unwrap().clone();
    let oldest = ids[0].clone();
    app.h.get_by_label("30 requests");

    // Scrolled to the end, the newest row is out of view.
    app.h.get_by_label(SEARCH_LABEL).focus();
    app.h.run();
    app.press(Key::Tab);
    app.press(Key::End);
    app.h.get_by_label(&oldest);
    assert!(app.h.query_by_label(&newest).is_none());

    // Part of an ID: the trailing digits of the sequence, as read off a label.
    let second = ids
        .iter()
        .find(|id| id.contains("-000002-"))
        .expect("the second ID issued")
        .clone();
    app.type_into(SEARCH_LABEL, "000002");
    app.h.get_by_label("1 request");
    app.h.get_by_label(&second);
    for _ in 0.."000002".len() {
        app.press(Key::Backspace);
    }
    app.h.get_by_label("30 requests");

    // A forename prefix finds only that patient's rows.
    app.press(Key::Tab);
    app.press(Key::End);
    app.type_into(SEARCH_LABEL, "Zain");
    app.h.get_by_label("3 requests");
    for (k, id) in ids.iter().enumerate() {
        assert_eq!(app.h.query_by_label(id).is_some(), k % 10 == 4, "{id}");
    }
    assert_eq!(app.h.get_all_by_label("TESTPATIENT24, Zainab").count(), 1);

    // A search that still needs scrolling starts at its first row, not where the last one was.
    for _ in 0.."Zain".len() {
        app.press(Key::Backspace);
    }
    app.press(Key::Tab);
    app.press(Key::End);
    assert!(app.h.query_by_label(&newest).is_none());
    app.type_into(SEARCH_LABEL, "Ali");
    app.h.get_by_label("27 requests");
    app.h.get_by_label(&newest);
}

#[test]
fn every_downtime_id_in_the_queue_and_the_detail_panel_is_drawn_in_the_id_font() {
    let (_dir, path) = configured_db();
    let mut ids = Vec::new();
    let mut app = queue_app(&path, |now| {
        for k in 0..5 {
            ids.push(save(&path, now, k, "Alice", Priority::Urgent, 5 + k as i64));
        }
    });
    app.click(&ids[2]);
    let painted = painted_text(&app);
    let shown: Vec<&(String, FontFamily)> =
        painted.iter().filter(|(t, _)| is_grouped_id(t)).collect();
    for id in &ids {
        let n = shown.iter().filter(|(t, _)| t == id).count();
        let expected = if *id == ids[2] { 2 } else { 1 };
        assert_eq!(n, expected, "{id} painted {n} times: {shown:?}");
    }
    for (text, family) in shown {
        assert_eq!(*family, fonts::downtime_id_family(), "{text}");
    }
}

/// Someone whose name takes more than one line of the history's "By" column.
const LONG_NAME: &str = "Biomedical Scientist Okonkwo-Adeyemi";

#[test]
fn the_detail_panel_fits_a_ward_screen_with_long_values_wrapped() {
    let (_dir, path) = configured_db();
    let long = "Known sickle cell disease, on hydroxycarbamide; last transfusion 3 weeks ago at \
                another trust, antibodies unknown: please phone the ward before issuing any units";
    let mut app = App::open(&path);
    app.sign_in("Lab Manager");
    let id = {
        let now = app.now();
        let collected = (now.duration_trunc(Duration::minutes(1)).unwrap() - Duration::minutes(20))
            .with_timezone(&Local);
        let mut draft = crate::common::draft(1);
        draft.nhs_number = nhs(1).to_string();
        draft.consultant = "Dr Alexandra Montgomery-Fotheringham (Haematology)".into();
        draft.clinical_details = long.into();
        draft.notes = long.into();
        draft.collected_date = collected.format("%d/%m/%Y").to_string();
        draft.collected_time = collected.format("%H:%M").to_string();
        let request = draft
            .validate(now, &Local, &Catalogue::default_uk().unwrap())
            .unwrap();
        let mut store = Store::open_or_create(&path).unwrap();
        let saved = store.save_request(&request, "Nurse Bloggs", now).unwrap();
        for t in [Transition::Sent, Transition::Received] {
            store
                .change_status(request.uuid, &t, LONG_NAME, now)
                .unwrap();
        }
        saved.downtime_id.grouped()
    };
    app.click("Queue (F3)");
    app.click("Refresh");
    app.click(&id);

    let width = 1366.0;
    let heading = app
        .h
        .get_all_by_label(&id)
        .max_by(|a, b| a.rect().min.x.total_cmp(&b.rect().min.x))
        .unwrap()
        .rect();
    let panel_left = heading.min.x - 14.0;
    assert!(
        (width - panel_left - 470.0).abs() < 10.0,
        "the panel at its default width: left edge at {panel_left}"
    );
    // Nothing in the panel runs past its right margin.
    let mut checked = 0;
    for node in app.h.root().children_recursive() {
        let Some(b) = node.accesskit_node().bounding_box() else {
            continue;
        };
        let r = egui::Rect::from_min_max(
            egui::pos2(b.x0 as f32, b.y0 as f32),
            egui::pos2(b.x1 as f32, b.y1 as f32),
        );
        if r.min.x >= panel_left && r.width() > 0.0 && r.max.y <= 768.0 {
            let label = node.accesskit_node().label().unwrap_or_default();
            assert!(r.max.x <= width - 14.0 + 1.0, "{label:?} cut off: {r:?}");
            checked += 1;
        }
    }
    assert!(checked > 20, "only {checked} nodes in the panel");
    // Long values wrap onto several lines rather than being cut.
    let consultant = app
        .h
        .get_by_label("Dr Alexandra Montgomery-Fotheringham (Haematology)");
    assert!(consultant.rect().max.x <= width - 14.0 + 1.0);
    let by_name = format!("W07 {LONG_NAME}");
    let by = app.h.get_all_by_label(&by_name).collect::<Vec<_>>();
    assert_eq!(by.len(), 2, "sent and received, each by {LONG_NAME}");
    for node in by {
        let r = node.rect();
        assert!(r.height() > 40.0, "the history's By column wraps: {r:?}");
    }

    // The queue's columns still fit beside the panel.
    let status = app
        .h
        .get_all_by_label("Received in lab")
        .map(|n| n.rect())
        .min_by(|a, b| a.min.x.total_cmp(&b.min.x))
        .unwrap();
    assert!(
        status.max.x <= panel_left,
        "{status:?} under the panel at {panel_left}"
    );
    // The patient's NHS number is not cut short by the column beside it.
    let nhs_label = format!("NHS {}", nhs(1));
    let shown = painted_galleys(&app)
        .into_iter()
        .find(|(g, _)| g.job.text == nhs_label)
        .expect("the NHS number in the table");
    assert!(!shown.0.elided, "{nhs_label} cut short");
    // Nor is any text in the panel.
    for (galley, pos) in painted_galleys(&app) {
        if pos.x >= panel_left && pos.y < 768.0 {
            assert!(!galley.elided, "{:?} cut short", galley.job.text);
        }
    }
}

#[test]
fn the_reconcile_screen_shows_downtime_ids_in_the_id_font() {
    let (_dir, path) = configured_db();
    let mut app = App::open(&path);
    app.sign_in("Lab Manager");
    let id = save(&path, app.now(), 1, "Alice", Priority::Urgent, 30);
    app.click("Lab export");
    app.click("Reconcile accessions");
    app.type_into("Downtime ID", &id);
    app.type_into("LIMS accession", "L26.0001234");
    app.click("Record");
    let line = format!("{id} re-entered as L26.0001234");
    // The outcome, and the line in the session's list.
    assert_eq!(app.h.query_all_by_label(&line).count(), 2);
    let painted = painted_text(&app);
    let lines: Vec<_> = painted.iter().filter(|(t, _)| *t == line).collect();
    assert_eq!(lines.len(), 2, "{painted:?}");
    for (text, family) in lines {
        assert_eq!(*family, fonts::downtime_id_family(), "{text}");
    }
    // What is typed into the Downtime ID box is in that font too (it was cleared for the next).
    let typed = painted
        .iter()
        .find(|(t, _)| t == "RXX-W07-000123-K")
        .expect("the box's hint");
    assert_eq!(typed.1, fonts::downtime_id_family());
}

#[test]
fn the_highlighted_row_stays_in_view_when_the_order_changes() {
    let (_dir, path) = configured_db();
    let mut ids = Vec::new();
    let mut app = queue_app(&path, |now| {
        for k in 0..30 {
            ids.push(save(
                &path,
                now,
                k,
                "Alice",
                Priority::Routine,
                300 - k as i64,
            ));
        }
    });
    let (oldest, newest) = (ids[0].clone(), ids[29].clone());
    // Newest first: End highlights the oldest, at the bottom.
    app.h.get_by_label(SEARCH_LABEL).focus();
    app.h.run();
    app.press(Key::Tab);
    app.press(Key::End);
    assert!(app.h.query_by_label(&newest).is_none());

    // Oldest first puts it at the top: the table follows it there.
    app.click("Collected");
    app.h
        .get_by_label_contains("then by collection time, oldest first");
    app.h.get_by_label(&oldest);
    assert!(
        app.h.query_by_label(&ids[15]).is_none(),
        "the top of the list"
    );
    // And Enter still opens it.
    app.h.get_by_label(TABLE_LABEL).focus();
    app.h.run();
    app.press(Key::Enter);
    assert_eq!(app.h.get_all_by_label(&oldest).count(), 2);
}
