//! Conflicts settled by a new event, on real stores in temporary directories exchanging handover
//! bundles: each kind of conflict made as PCs make it, settled on one PC, and settled on every PC
//! that imports the settlement; two PCs settling one conflict differently; the refusals; and
//! `stopgap conflicts settle` through the real binary.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on purpose"
)]

use std::path::Path;

use chrono::{DateTime, Duration, Utc};
use stopgap::domain::downtime_id::Code3;
use stopgap::domain::settle::{Clash, Decision};
use stopgap::domain::status::{Status, Transition};
use stopgap::files::Overwrite;
use stopgap::handover::{export_bundle, import_bundle};
use stopgap::store::{ConflictScan, ListedConflict, SettleError, Setup, Store};
use uuid::Uuid;

use crate::common::cli::{stopgap, text};
use crate::common::{now, pc, request, setup};

fn at(minutes: i64) -> DateTime<Utc> {
    now() + Duration::minutes(minutes)
}

/// Everything `from` holds, carried to `to` in a bundle file.
fn carry(dir: &Path, from: &Store, to: &mut Store, when: DateTime<Utc>) {
    let file = dir.join(format!("{}.bundle", Uuid::new_v4().simple()));
    export_bundle(from, &file, None, Overwrite::Refuse, when).unwrap();
    import_bundle(to, &file, "Porter A", when).unwrap();
}

fn cancel() -> Transition {
    Transition::Cancelled {
        reason: "patient discharged".into(),
    }
}

/// The one open conflict of a store.
fn only(store: &Store) -> ListedConflict {
    let open = store.conflicts().unwrap();
    let [c] = open.as_slice() else {
        panic!("{open:#?}")
    };
    c.clone()
}

fn assert_sound(store: &Store) {
    let report = store.verify().unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

/// A ward PC and a lab PC: the lab receives the ward's request while the ward, not having seen
/// the receipt, cancels it. Returns (dir, ward, lab, request UUID), after both exchanged.
fn cancelled_after_receipt() -> (tempfile::TempDir, Store, Store, Uuid) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (mut ward, mut lab) = (pc(d, "W01"), pc(d, "L01"));
    let r = request(1);
    ward.save_request(&r, "Nurse A", at(0)).unwrap();
    carry(d, &ward, &mut lab, at(1));
    lab.change_status(r.uuid, &Transition::Received, "BMS B", at(10))
        .unwrap();
    ward.change_status(r.uuid, &cancel(), "Nurse A", at(15))
        .unwrap();
    carry(d, &ward, &mut lab, at(20));
    carry(d, &lab, &mut ward, at(20));
    (dir, ward, lab, r.uuid)
}

#[test]
fn a_cancellation_after_receipt_settled_on_the_lab_is_settled_on_the_ward_that_imports_it() {
    let (dir, mut ward, mut lab, uuid) = cancelled_after_receipt();
    let on_lab = only(&lab);
    assert_eq!(only(&ward), on_lab, "both PCs list the same conflict");
    assert_eq!(on_lab.clash, Clash::CancelledAfterReceipt);
    assert_eq!(on_lab.decisions, [Decision::Discard, Decision::Test]);
    assert_eq!(on_lab.this.workstation.as_str(), "W01");
    assert!(on_lab.this.what.starts_with("cancelled"));
    let other = on_lab.other.as_ref().unwrap();
    assert_eq!(
        (other.workstation.as_str(), other.what.as_str()),
        ("L01", "received in lab")
    );
    assert_eq!(on_lab.short_key.len(), 8);

    let (scan, before) = lab.rescan_conflicts(ConflictScan::default()).unwrap();
    assert_eq!(before, lab.conflicts_with_settled().unwrap());
    let done = lab
        .settle_conflict(
            &on_lab.short_key,
            Decision::Discard,
            "rang BMS B",
            "Lab Manager",
            at(30),
        )
        .unwrap();
    assert_eq!((done.settled, done.cancelled), (1, false));
    assert!(lab.conflicts().unwrap().is_empty());
    let history = lab.conflicts_with_settled().unwrap();
    // Read again from the last reading: the request changed, so it is folded again.
    assert_eq!(lab.rescan_conflicts(scan).unwrap().1, history);
    let by = history[0].settled.as_ref().unwrap();
    assert_eq!(
        (by.decision, by.note.as_str(), by.user.as_str()),
        (Decision::Discard, "rang BMS B", "Lab Manager")
    );
    // The request stays cancelled; the decision is its last change.
    let detail = lab.request_detail(uuid).unwrap().unwrap();
    assert_eq!(detail.state.status, Status::Cancelled);
    assert_eq!(detail.events.len(), 4);

    assert_eq!(
        ward.conflicts().unwrap().len(),
        1,
        "not before the bundle comes"
    );
    carry(dir.path(), &lab, &mut ward, at(40));
    assert!(ward.conflicts().unwrap().is_empty());
    assert_eq!(ward.conflicts_with_settled().unwrap(), history);
    assert_sound(&ward);
    assert_sound(&lab);
}

#[test]
fn a_receipt_refused_because_the_ward_had_cancelled_is_settled_as_test_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (mut ward, mut lab) = (pc(d, "W01"), pc(d, "L01"));
    let r = request(2);
    ward.save_request(&r, "Nurse A", at(0)).unwrap();
    carry(d, &ward, &mut lab, at(1));
    ward.change_status(r.uuid, &cancel(), "Nurse A", at(5))
        .unwrap();
    lab.change_status(r.uuid, &Transition::Received, "BMS B", at(10))
        .unwrap();
    carry(d, &lab, &mut ward, at(20));
    let c = only(&ward);
    assert_eq!(c.clash, Clash::Refused);
    assert_eq!(c.this.workstation.as_str(), "L01");
    assert_eq!(c.decisions, [Decision::Discard, Decision::Test]);
    ward.settle_conflict(&c.short_key, Decision::Test, "", "Dr Jones", at(25))
        .unwrap();
    carry(d, &ward, &mut lab, at(30));
    assert!(lab.conflicts().unwrap().is_empty());
    let settled = lab.conflicts_with_settled().unwrap();
    assert_eq!(
        settled[0].settled.as_ref().unwrap().decision,
        Decision::Test
    );
    assert_sound(&lab);
    assert_sound(&ward);
}

#[test]
fn an_orphan_closed_before_its_creation_came_makes_no_new_orphan_and_applies_when_it_comes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (mut ward, mut lab, mut third) = (pc(d, "W01"), pc(d, "L01"), pc(d, "X01"));
    let r = request(3);
    ward.save_request(&r, "Nurse A", at(0)).unwrap();
    ward.change_status(r.uuid, &Transition::Sent, "Nurse A", at(5))
        .unwrap();
    ward.change_status(r.uuid, &cancel(), "Nurse A", at(6))
        .unwrap();
    // A bundle of the changes since the creation only: the lab gets status changes of a
    // request it has never seen.
    let part = d.join("since.bundle");
    export_bundle(&ward, &part, Some(at(4)), Overwrite::Refuse, at(7)).unwrap();
    import_bundle(&mut lab, &part, "Porter A", at(8)).unwrap();
    let c = only(&lab);
    assert_eq!(c.clash, Clash::Orphan);
    assert_eq!(c.decisions, [Decision::Close]);
    assert_eq!(
        c.with.len(),
        1,
        "one item for the request's two status changes"
    );
    let done = lab
        .settle_conflict(
            &c.short_key,
            Decision::Close,
            "ward says it was never sent",
            "Lab Manager",
            at(9),
        )
        .unwrap();
    assert_eq!(done.settled, 2);
    assert!(
        lab.conflicts().unwrap().is_empty(),
        "the settlements are no orphans"
    );
    assert_sound(&lab);
    carry(d, &lab, &mut third, at(10));
    assert!(third.conflicts().unwrap().is_empty());
    // The creation comes after all: the request is there, cancelled, with nothing to settle.
    carry(d, &ward, &mut lab, at(11));
    assert!(lab.conflicts_with_settled().unwrap().is_empty());
    let detail = lab.request_detail(r.uuid).unwrap().unwrap();
    assert_eq!(detail.state.status, Status::Cancelled);
    assert_eq!(detail.events.len(), 5);
    assert_sound(&lab);
}

/// Two PCs set up with one workstation code (W01), each with a request: both are
/// RXX-W01-000001. The lab took the first ward's bundle first.
fn duplicate_ids() -> (tempfile::TempDir, Store, Store, Store, Uuid, Uuid) {
    duplicate_ids_of(request(5))
}

/// Two PCs set up as W01: the ward saves request 4, its twin `dup`; both reach the lab.
fn duplicate_ids_of(
    dup: stopgap::domain::request::NewRequest,
) -> (tempfile::TempDir, Store, Store, Store, Uuid, Uuid) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (mut ward, mut twin, mut lab) = (pc(d, "W01"), pc(d, "W01"), pc(d, "L01"));
    let kept = request(4);
    ward.save_request(&kept, "Nurse A", at(0)).unwrap();
    twin.save_request(&dup, "Nurse C", at(2)).unwrap();
    carry(d, &ward, &mut lab, at(3));
    carry(d, &twin, &mut lab, at(4));
    (dir, ward, twin, lab, kept.uuid, dup.uuid)
}

#[test]
fn a_duplicate_id_shows_both_forms_and_different_patients_reregister_the_hidden_one() {
    let (dir, mut ward, mut twin, mut lab, kept, dup) = duplicate_ids();
    let d = dir.path();
    let c = only(&lab);
    assert_eq!(c.clash, Clash::DuplicateId);
    assert_eq!(c.request_uuid, dup, "the one the queue cannot show");
    assert!(c.text.starts_with("DUPLICATE ID"), "{}", c.text);
    assert_eq!(c.decisions, [Decision::Different, Decision::Same]);
    let (this, other) = (
        c.this.request.clone().unwrap(),
        c.other.unwrap().request.unwrap(),
    );
    let surname = |r: &stopgap::domain::request::NewRequest| r.patient.surname.to_uppercase();
    let held = lab.request_detail(kept).unwrap().unwrap().state.request;
    assert!(other.to_uppercase().contains(&surname(&held)), "{other}");
    assert!(!this.to_uppercase().contains(&surname(&held)), "{this}");

    let (scan, _) = lab.rescan_conflicts(ConflictScan::default()).unwrap();
    let done = lab
        .settle_conflict(
            &c.short_key,
            Decision::Different,
            "two patients",
            "Lab Manager",
            at(10),
        )
        .unwrap();
    let new_id = done.reregistered_as.clone().unwrap();
    assert!(done.cancelled);
    assert!(new_id.to_string().starts_with("RXX-L01-"), "{new_id}");
    assert!(lab.conflicts().unwrap().is_empty());
    let (_, again) = lab.rescan_conflicts(scan).unwrap();
    assert_eq!(again, lab.conflicts_with_settled().unwrap());
    assert!(again.iter().all(|c| !c.is_open()));
    let copy = lab.find_by_downtime_id(&new_id).unwrap().unwrap();
    assert_eq!(copy.state.request.patient, request(5).patient);
    assert_eq!(copy.state.status, Status::Logged);
    assert_sound(&lab);

    // The twin's own request holds its row there: it reads as cancelled, re-registered.
    carry(d, &lab, &mut twin, at(20));
    assert!(
        twin.conflicts().unwrap().is_empty(),
        "{:#?}",
        twin.conflicts().unwrap()
    );
    let own = twin.request_detail(dup).unwrap().unwrap().state;
    assert_eq!(own.status, Status::Cancelled);
    assert!(own.reason.unwrap().contains(&new_id.to_string()));
    assert!(twin.find_by_downtime_id(&new_id).unwrap().is_some());
    carry(d, &lab, &mut ward, at(20));
    assert!(ward.conflicts().unwrap().is_empty());
    assert_eq!(
        ward.conflicts_with_settled().unwrap()[0]
            .settled
            .as_ref()
            .unwrap()
            .decision,
        Decision::Different
    );
    for store in [&ward, &twin, &lab] {
        assert_sound(store);
    }
}

#[test]
fn a_duplicate_id_that_is_the_same_sample_cancels_the_duplicate() {
    // The same patient's request typed on both PCs.
    let (dir, _ward, mut twin, mut lab, _kept, dup) =
        duplicate_ids_of(stopgap::domain::request::NewRequest {
            uuid: Uuid::new_v4(),
            ..request(4)
        });
    // The twin's sample had been received: the lab's cancellation of it is a cancellation after
    // receipt, which the decision settles with it.
    twin.change_status(dup, &Transition::Received, "Nurse C", at(5))
        .unwrap();
    carry(dir.path(), &twin, &mut lab, at(6));
    let c = only(&lab);
    let done = lab
        .settle_conflict(&c.short_key, Decision::Same, "", "Lab Manager", at(10))
        .unwrap();
    assert!(done.cancelled && done.reregistered_as.is_none());
    assert!(
        lab.conflicts().unwrap().is_empty(),
        "{:#?}",
        lab.conflicts().unwrap()
    );
    let history = lab.conflicts_with_settled().unwrap();
    let crossed = history
        .iter()
        .find(|c| c.clash == Clash::CancelledAfterReceipt)
        .unwrap();
    assert_eq!(crossed.settled.as_ref().unwrap().decision, Decision::Test);
    carry(dir.path(), &lab, &mut twin, at(20));
    let own = twin.request_detail(dup).unwrap().unwrap().state;
    assert_eq!(own.status, Status::Cancelled);
    assert!(own.reason.unwrap().starts_with("duplicate downtime ID"));
    assert!(twin.conflicts().unwrap().is_empty());
    assert_sound(&twin);
}

#[test]
fn same_sample_is_refused_for_two_different_patients_and_nothing_is_recorded() {
    let (_dir, _ward, _twin, mut lab, _kept, dup) = duplicate_ids();
    let c = only(&lab);
    let events = lab.handover_events(None).unwrap().len();
    let err = lab
        .settle_conflict(&c.short_key, Decision::Same, "", "Lab Manager", at(10))
        .unwrap_err();
    assert!(err.to_string().contains("different patients"), "{err}");
    assert_eq!(
        lab.handover_events(None).unwrap().len(),
        events,
        "nothing written"
    );
    assert_eq!(lab.conflicts().unwrap().len(), 1, "still to settle");
    assert_eq!(lab.conflicts().unwrap()[0].request_uuid, dup);
}

#[test]
fn two_pcs_settling_one_conflict_differently_agree_which_counts() {
    let (dir, mut ward, mut lab, _) = cancelled_after_receipt();
    let key = only(&lab).short_key;
    lab.settle_conflict(&key, Decision::Discard, "", "Lab Manager", at(30))
        .unwrap();
    ward.settle_conflict(&key, Decision::Test, "", "Ward Sister", at(31))
        .unwrap();
    carry(dir.path(), &lab, &mut ward, at(40));
    carry(dir.path(), &ward, &mut lab, at(40));
    let (on_ward, on_lab) = (
        ward.conflicts_with_settled().unwrap(),
        lab.conflicts_with_settled().unwrap(),
    );
    assert_eq!(on_ward, on_lab);
    let [c] = on_lab.as_slice() else {
        panic!("{on_lab:#?}")
    };
    // The earlier decision counts; the later one is history.
    assert_eq!(c.settled.as_ref().unwrap().decision, Decision::Discard);
    assert_eq!(c.overruled.len(), 1);
    assert_eq!(c.overruled[0].decision, Decision::Test);
    assert!(ward.conflicts().unwrap().is_empty() && lab.conflicts().unwrap().is_empty());
    assert_sound(&ward);
    assert_sound(&lab);
}

#[test]
fn settling_refuses_an_unknown_or_ambiguous_key_a_wrong_decision_and_a_second_settling() {
    let (_dir, _ward, mut lab, _) = cancelled_after_receipt();
    let c = only(&lab);
    let refused = |r: Result<_, SettleError>| r.expect_err("refused");
    let unknown = refused(lab.settle_conflict("0000zzzz", Decision::Discard, "", "M", at(30)));
    assert!(matches!(unknown, SettleError::UnknownKey(_)), "{unknown}");
    let wrong = refused(lab.settle_conflict(&c.short_key, Decision::Close, "", "M", at(30)));
    assert!(
        matches!(wrong, SettleError::DecisionNotAllowed { .. }),
        "{wrong}"
    );
    assert!(wrong.to_string().contains("discard"), "{wrong}");
    // Fewer characters than listed name it while no other conflict shares them.
    let hex = &c.short_key[..3];
    lab.settle_conflict(hex, Decision::Discard, "", "M", at(30))
        .unwrap();
    let again = refused(lab.settle_conflict(&c.short_key, Decision::Test, "", "M", at(31)));
    assert!(
        matches!(again, SettleError::AlreadySettled { .. }),
        "{again}"
    );
    assert!(again.to_string().contains("already settled"), "{again}");
    assert_eq!(
        lab.request_detail(c.request_uuid)
            .unwrap()
            .unwrap()
            .events
            .len(),
        4
    );
}

#[test]
fn a_key_two_conflicts_share_is_refused_as_ambiguous() {
    let (_dir, _ward, mut lab, _) = cancelled_after_receipt();
    // A second, unrelated duplicate on the same event UUID: the cancellation arriving in a
    // damaged copy (kept aside), so two conflicts share the key's first 8 characters.
    let held = lab.handover_events(None).unwrap();
    let cancel = held
        .iter()
        .find(|e| e.actor.workstation.as_str() == "W01" && e.at == at(15))
        .unwrap();
    let mut damaged = cancel.clone();
    damaged.actor.user.push_str(" (damaged copy)");
    let setup = ward_setup();
    lab.import_events(
        &stopgap::store::Incoming {
            sha256: "0",
            site: &setup.site,
            workstation: &setup.workstation,
            written_at: at(21),
            training: false,
            events: std::slice::from_ref(&damaged),
        },
        "Porter A",
        at(21),
    )
    .unwrap();
    let open = lab.conflicts().unwrap();
    assert_eq!(open.len(), 2, "{open:#?}");
    let eight = &open[0].key.full()[..8];
    let err = lab
        .settle_conflict(eight, Decision::Noted, "", "M", at(30))
        .expect_err("refused");
    assert!(matches!(err, SettleError::AmbiguousKey { .. }), "{err}");
    // Each listed short key still names one.
    let same = open
        .iter()
        .find(|c| c.clash == Clash::SameIdDiffers)
        .unwrap();
    assert!(same.short_key.len() > 8);
    lab.settle_conflict(&same.short_key, Decision::Noted, "", "M", at(30))
        .unwrap();
    assert_eq!(only(&lab).clash, Clash::CancelledAfterReceipt);
}

fn ward_setup() -> Setup {
    Setup {
        workstation: Code3::workstation("W01").unwrap(),
        ..setup()
    }
}

#[test]
fn the_cli_lists_keys_sides_and_decisions_and_settles_by_key() {
    let (_dir, ward, lab, _) = cancelled_after_receipt();
    let db = lab.path().to_owned();
    drop((ward, lab));
    let out = stopgap(&db, &["conflicts"]);
    let said = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{said}");
    let key = said
        .split('[')
        .nth(1)
        .and_then(|rest| rest.split(']').next())
        .unwrap()
        .to_owned();
    for expected in [
        "1 conflicts need a person",
        "Cancelled after the lab received it",
        "this   cancelled (patient discharged) on W01 by Nurse A",
        "other  received in lab on L01 by BMS B",
        "discard    Lab told: stop testing, discard the sample",
        "test       Ward confirms: test it",
        &format!("stopgap conflicts settle {key} --decision WORD"),
    ] {
        assert!(said.contains(expected), "{expected:?} in\n{said}");
    }
    let wrong = stopgap(&db, &["conflicts", "settle", &key, "--decision", "close"]);
    assert_eq!(wrong.status.code(), Some(2));
    assert!(
        text(&wrong.stderr).contains("not a decision for this conflict"),
        "{}",
        text(&wrong.stderr)
    );
    let typo = stopgap(&db, &["conflicts", "settle", &key, "--decision", "maybe"]);
    assert_eq!(typo.status.code(), Some(2));
    assert!(
        text(&typo.stderr).contains("discard, test"),
        "{}",
        text(&typo.stderr)
    );
    let unknown = stopgap(
        &db,
        &["conflicts", "settle", "ffffffff", "--decision", "test"],
    );
    assert!(
        text(&unknown.stderr).contains("no conflict has the key ffffffff"),
        "{}",
        text(&unknown.stderr)
    );

    let settle = stopgap(
        &db,
        &[
            "conflicts",
            "settle",
            &key,
            "--decision",
            "discard",
            "--note",
            "rang the ward",
        ],
    );
    let said = text(&settle.stdout);
    assert!(settle.status.success(), "{said}{}", text(&settle.stderr));
    assert!(
        said.contains("Lab told: stop testing, discard the sample"),
        "{said}"
    );
    assert!(
        said.contains("Recorded under Demo Manager (DEMO)"),
        "{said}"
    );
    let again = stopgap(&db, &["conflicts", "settle", &key, "--decision", "test"]);
    assert!(
        text(&again.stderr).contains("already settled"),
        "{}",
        text(&again.stderr)
    );
    let out = stopgap(&db, &["conflicts"]);
    assert!(out.status.success(), "{}", text(&out.stdout));
    let out = stopgap(&db, &["conflicts", "--settled"]);
    let said = text(&out.stdout);
    assert!(said.contains("1 settled:"), "{said}");
    assert!(
        said.contains("SETTLED on L01 by Demo Manager (DEMO)"),
        "{said}"
    );
    assert!(said.contains("(rang the ward)"), "{said}");
}
