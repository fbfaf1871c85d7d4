//! The lab screens driven by their labels over a real SQLite file: reconcile by scan, export in
//! the background, close-out.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on purpose"
)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use egui::{Key, Modifiers};
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT as _, Queryable as _};
use stopgap::domain::downtime_id::DowntimeId;
use stopgap::domain::status::Status;
use stopgap::store::Store;
use stopgap::ui::StopgapApp;

fn harness<'a>(app: StopgapApp) -> Harness<'a, StopgapApp> {
    let mut h = Harness::builder()
        .with_size(egui::vec2(1920.0, 1080.0))
        // Background threads' reports each ask for a frame: see tests/common/ui.rs.
        .with_max_steps(12)
        .build_ui_state(|ui, app: &mut StopgapApp| app.show(ui), app);
    h.run();
    h
}

/// A set-up store with `n` logged requests; returns their downtime IDs.
fn db_with_requests(n: u32) -> (tempfile::TempDir, PathBuf, Vec<DowntimeId>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stopgap.db");
    let mut store = Store::open_or_create(&path).unwrap();
    store.configure(&crate::common::setup()).unwrap();
    let ids = (0..n)
        .map(|i| {
            store
                .save_request(
                    &crate::common::request(i),
                    "Nurse Bloggs",
                    crate::common::now(),
                )
                .unwrap()
                .downtime_id
        })
        .collect();
    (dir, path, ids)
}

fn type_into(h: &mut Harness<'_, StopgapApp>, label: &str, text: &str) {
    h.get_by_label(label).focus();
    h.run();
    h.get_by_label(label).type_text(text);
    h.run();
}

/// Replaces what a field holds (select all, then type).
fn replace_text(h: &mut Harness<'_, StopgapApp>, label: &str, text: &str) {
    h.get_by_label(label).focus();
    h.run();
    h.key_press_modifiers(Modifiers::COMMAND, Key::A);
    h.run();
    h.get_by_label(label).type_text(text);
    h.run();
}

fn click(h: &mut Harness<'_, StopgapApp>, label: &str) {
    h.get_by_label(label).click();
    h.run();
}

fn open_lab(h: &mut Harness<'_, StopgapApp>, view: &str) {
    let path = h.state().db_path().to_owned();
    crate::common::ui::add_account(&path, "Lab Lead", stopgap::domain::access::Role::Manager);
    type_into(h, "Staff ID", "LABLEAD");
    type_into(h, "Password", crate::common::ui::TEST_PASSWORD);
    h.key_press(egui::Key::Enter);
    h.run();
    click(h, "Lab export");
    click(h, view);
}

fn status_of(path: &Path, id: &DowntimeId) -> (Status, Option<String>) {
    let found = Store::open_or_create(path)
        .unwrap()
        .find_by_downtime_id(id)
        .unwrap()
        .unwrap();
    (found.state.status, found.state.accession)
}

/// The same ID with another check character.
fn with_wrong_check(id: &DowntimeId) -> String {
    let text = id.grouped();
    let last = text.chars().last().unwrap();
    let wrong = if last == 'A' { 'B' } else { 'A' };
    format!("{}{wrong}", &text[..text.len() - 1])
}

#[test]
fn reconcile_records_a_scanned_accession_and_refuses_a_wrong_check_character() {
    let (_dir, path, ids) = db_with_requests(20);
    let mut h = harness(StopgapApp::from_path(&path));
    open_lab(&mut h, "Reconcile accessions");

    type_into(&mut h, "Downtime ID", &ids[3].grouped());
    type_into(&mut h, "LIMS accession", "L26.0001234");
    h.key_press(Key::Enter);
    h.run();

    let expected = format!("{} re-entered as L26.0001234", ids[3].grouped());
    // The result line, and the line in the session's list.
    assert_eq!(h.query_all_by_label(&expected).count(), 2);
    assert_eq!(
        status_of(&path, &ids[3]),
        (Status::Reentered, Some("L26.0001234".into()))
    );

    // Cleared for the next scan.
    type_into(&mut h, "Downtime ID", &with_wrong_check(&ids[4]));
    type_into(&mut h, "LIMS accession", "L26.0001235");
    click(&mut h, "Record");
    h.get_by_label_contains("fails its check character");
    assert_eq!(status_of(&path, &ids[4]), (Status::Logged, None));
}

#[test]
fn export_writes_a_csv_in_the_background_and_records_the_batch() {
    let (dir, path, _ids) = db_with_requests(20);
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let mut h = harness(StopgapApp::from_path(&path));
    open_lab(&mut h, "Export backlog");
    h.get_by_label("20 requests will be exported");
    replace_text(&mut h, "Output folder", &out.display().to_string());
    // Not without saying how the file leaves the PC.
    assert!(h.get_by_label("Export").accesskit_node().is_disabled());
    h.get_by_label_contains("Write unencrypted").click();
    h.run();
    // The spinner keeps repainting while the export runs, so step frame by frame.
    h.get_by_label("Export").click();
    h.step();
    let deadline = Instant::now() + Duration::from_secs(5);
    while h.state().exporting() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
        h.step();
    }
    h.run();
    assert!(!h.state().exporting(), "the export finished within 5 s");
    h.get_by_label_contains("Exported batch RXX-W07-B000001 (20 requests)");
    h.get_by_label("0 requests will be exported");

    let files: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let mut reader = csv::Reader::from_path(&files[0]).unwrap();
    assert_eq!(reader.records().map(Result::unwrap).count(), 20);

    let batches = Store::open_or_create(&path).unwrap().batches().unwrap();
    assert_eq!(batches.len(), 1);
    assert_eq!(batches[0].request_count, 20);
    assert_eq!(batches[0].user, "Lab Lead (LABLEAD)");
    assert_eq!(batches[0].format, "csv");
}

#[test]
fn close_out_is_not_complete_with_open_requests_and_saves_a_pdf() {
    let (dir, path, _ids) = db_with_requests(5);
    let mut h = harness(StopgapApp::from_path(&path));
    open_lab(&mut h, "Export backlog");
    replace_text(&mut h, "Output folder", &dir.path().display().to_string());
    // The report follows the export screen's choice of how files leave the PC.
    h.get_by_label_contains("Write unencrypted").click();
    h.run();
    click(&mut h, "Close-out report");

    h.get_by_label_contains("NOT COMPLETE");
    click(&mut h, "Save report as PDF");
    h.get_by_label_contains("Report saved to");
    let pdf = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "pdf"))
        .expect("a PDF in the folder");
    assert!(std::fs::read(pdf).unwrap().starts_with(b"%PDF"));
}

#[test]
fn an_export_with_a_passphrase_is_written_encrypted_and_opens_with_it() {
    let (dir, path, _ids) = db_with_requests(5);
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let mut h = harness(StopgapApp::from_path(&path));
    open_lab(&mut h, "Export backlog");
    h.get_by_label("5 requests will be exported");
    replace_text(&mut h, "Output folder", &out.display().to_string());
    type_into(
        &mut h,
        "Passphrase to encrypt with",
        "lab phone 4471 tuesday",
    );
    type_into(&mut h, "Again", "lab phone 4471 tuesday");
    h.get_by_label("Export").click();
    h.step();
    // Real scrypt: about a second to encrypt on this PC.
    let deadline = Instant::now() + Duration::from_secs(30);
    while h.state().exporting() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
        h.step();
    }
    h.run();
    h.get_by_label_contains("Exported batch RXX-W07-B000001 (5 requests)");
    h.get_by_label("encrypted with age to the passphrase");
    let files: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(
        files[0].to_string_lossy().ends_with(".csv.age"),
        "{files:?}"
    );
    let sealed = std::fs::read(&files[0]).unwrap();
    let key = stopgap::files::Unsealing::Passphrase("lab phone 4471 tuesday".into());
    let mut plain = String::new();
    std::io::Read::read_to_string(&mut key.open(&sealed).unwrap(), &mut plain).unwrap();
    assert_eq!(
        csv::Reader::from_reader(plain.as_bytes()).records().count(),
        5
    );
}

/// A set-up store with `n` demo requests saved in one transaction (fast, for a long export).
fn db_with_demo(n: usize) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stopgap.db");
    let mut store = Store::open_or_create(&path).unwrap();
    store.configure(&crate::common::setup()).unwrap();
    let catalogue = store.catalogue().unwrap();
    let demo = stopgap::demo::synthetic_requests(n, 11, crate::common::now(), &catalogue).unwrap();
    store
        .in_transaction(|s| {
            for d in &demo {
                s.save_training_request(&d.request, &d.user, d.created_at)?;
            }
            Ok(())
        })
        .unwrap();
    (dir, path)
}

#[test]
fn a_long_export_shows_its_counts_and_cancel_leaves_no_file_and_no_batch() {
    let (dir, path) = db_with_demo(3_000);
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let mut h = harness(StopgapApp::from_path(&path));
    open_lab(&mut h, "Export backlog");
    click(&mut h, "FHIR R4 Bundle");
    h.get_by_label("3000 requests will be exported");
    replace_text(&mut h, "Output folder", &out.display().to_string());
    h.get_by_label_contains("Write unencrypted").click();
    h.run();
    h.get_by_label("Export").click();
    h.step();
    // Step until the bar shows the file being written, with its counts.
    let deadline = Instant::now() + Duration::from_secs(30);
    while h.query_by_label_contains("Writing the file:").is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
        h.step();
    }
    let bar = h
        .get_by_label_contains("Writing the file:")
        .accesskit_node()
        .label()
        .unwrap_or_default();
    assert!(bar.ends_with(" records"), "{bar}");
    assert!(bar.contains(" of "), "{bar}");
    h.get_by_label("Cancel export").click();
    h.step();
    let deadline = Instant::now() + Duration::from_secs(30);
    while h.state().exporting() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
        h.step();
    }
    h.run();
    h.get_by_label_contains("Not exported: cancelled: no file was left under its name");
    let left: Vec<_> = std::fs::read_dir(&out).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
    let store = Store::open_or_create(&path).unwrap();
    assert!(store.batches().unwrap().is_empty());
    assert!(store.unrecorded_exports().unwrap().is_empty());
}
