//! The app's handover folder (a USB stick or a share) on real stores in temporary folders: a
//! ward's outbox reaches the lab and the lab's statuses come back; a second visit takes nothing
//! again; another PC's file under this PC's outbox name is never replaced; a bundle cut short
//! while being copied is refused, remembered, and taken once it is whole.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on purpose"
)]

use stopgap::domain::status::{Status, Transition};
use stopgap::handover::{ExchangeError, ReceivedOutcome, Seen, Sent, outbox_name, receive, send};

use crate::common::{now, pc, request, setup};

#[test]
fn a_wards_requests_reach_the_lab_and_its_receipts_come_back_through_one_folder() {
    let dir = tempfile::tempdir().unwrap();
    let stick = dir.path().join("stick");
    std::fs::create_dir(&stick).unwrap();
    let mut ward = pc(dir.path(), "W07");
    let mut lab = pc(dir.path(), "L01");
    let (mut ward_seen, mut lab_seen) = (Seen::default(), Seen::default());
    let first = request(1);
    ward.save_request(&first, "Nurse Bloggs", now()).unwrap();
    ward.save_request(&request(2), "Nurse Bloggs", now())
        .unwrap();

    let Sent::Written(made) = send(&ward, &stick, &mut ward_seen, now()).unwrap() else {
        panic!("the first send must write the outbox");
    };
    assert_eq!(made.path, stick.join("stopgap-RXX-W07.bundle"));
    assert_eq!((made.events, made.requests), (2, 2));
    // Nothing new: the outbox is not written again.
    assert!(matches!(
        send(&ward, &stick, &mut ward_seen, now()).unwrap(),
        Sent::UpToDate { .. }
    ));

    let got = receive(&mut lab, &stick, "Lab A", &mut lab_seen, now()).unwrap();
    assert_eq!(got.len(), 1, "only the ward's bundle, not the lab's own");
    let Ok(ReceivedOutcome::Imported(imported)) = &got[0].outcome else {
        panic!("{:?}", got[0].outcome);
    };
    assert_eq!((imported.new_events, imported.requests_added), (2, 2));
    // The same folder again: the unchanged bundle is not even read.
    assert!(
        receive(&mut lab, &stick, "Lab A", &mut lab_seen, now())
            .unwrap()
            .is_empty()
    );
    // A new session (nothing remembered) reads it and knows it was imported already.
    let again = receive(&mut lab, &stick, "Lab A", &mut Seen::default(), now()).unwrap();
    assert!(matches!(
        again[0].outcome,
        Ok(ReceivedOutcome::AlreadyImported)
    ));

    lab.change_status(first.uuid, &Transition::Received, "Lab A", now())
        .unwrap();
    assert!(matches!(
        send(&lab, &stick, &mut lab_seen, now()).unwrap(),
        Sent::Written(_)
    ));
    let back = receive(&mut ward, &stick, "Nurse Bloggs", &mut ward_seen, now()).unwrap();
    assert_eq!(back.len(), 1, "the lab's outbox only");
    assert_eq!(
        ward.request_detail(first.uuid)
            .unwrap()
            .unwrap()
            .state
            .status,
        Status::Received
    );
    // The ward's outbox now holds the lab's receipt too, so it is written again.
    assert!(matches!(
        send(&ward, &stick, &mut ward_seen, now()).unwrap(),
        Sent::Written(_)
    ));
    assert!(ward.verify().unwrap().is_sound());
    assert!(lab.verify().unwrap().is_sound());
}

#[test]
fn another_pcs_file_under_this_pcs_outbox_name_is_never_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let stick = dir.path().join("stick");
    std::fs::create_dir(&stick).unwrap();
    let mut ward = pc(dir.path(), "W07");
    ward.save_request(&request(1), "Nurse Bloggs", now())
        .unwrap();
    let other = pc(dir.path(), "W08");
    // W08's bundle copied onto the stick under W07's outbox name.
    let Sent::Written(theirs) = send(&other, &stick, &mut Seen::default(), now()).unwrap() else {
        panic!("first send writes");
    };
    let ours = stick.join(outbox_name(&setup().site, &setup().workstation));
    std::fs::rename(&theirs.path, &ours).unwrap();
    let before = std::fs::read(&ours).unwrap();
    let err = send(&ward, &stick, &mut Seen::default(), now()).unwrap_err();
    assert!(matches!(err, ExchangeError::NotOurOutbox { .. }), "{err:?}");
    assert!(err.to_string().contains("workstation W08"), "{err}");
    assert_eq!(std::fs::read(&ours).unwrap(), before, "left as it was");
    // Not a bundle at all: also left alone.
    std::fs::write(&ours, b"holiday photos").unwrap();
    let err = send(&ward, &stick, &mut Seen::default(), now()).unwrap_err();
    assert!(matches!(err, ExchangeError::NotOurOutbox { .. }), "{err:?}");
    assert_eq!(std::fs::read(&ours).unwrap(), b"holiday photos");
}

#[test]
fn a_bundle_cut_short_is_refused_and_remembered_until_it_is_whole() {
    let dir = tempfile::tempdir().unwrap();
    let stick = dir.path().join("stick");
    let staging = dir.path().join("staging");
    std::fs::create_dir(&stick).unwrap();
    std::fs::create_dir(&staging).unwrap();
    let mut ward = pc(dir.path(), "W07");
    let mut lab = pc(dir.path(), "L01");
    ward.save_request(&request(1), "Nurse Bloggs", now())
        .unwrap();
    let Sent::Written(made) = send(&ward, &staging, &mut Seen::default(), now()).unwrap() else {
        panic!("first send writes");
    };
    let whole = std::fs::read(&made.path).unwrap();
    let on_stick = stick.join(made.path.file_name().unwrap());
    std::fs::write(&on_stick, &whole[..whole.len() / 2]).unwrap();

    let mut seen = Seen::default();
    let got = receive(&mut lab, &stick, "Lab A", &mut seen, now()).unwrap();
    assert!(got[0].outcome.is_err());
    assert!(
        seen.refused()[&on_stick].contains("cut short"),
        "{:?}",
        seen.refused()
    );
    assert_eq!(
        lab.handover_events(None).unwrap().len(),
        0,
        "nothing of it imported"
    );
    // Unchanged: not read again, still listed as refused.
    assert!(
        receive(&mut lab, &stick, "Lab A", &mut seen, now())
            .unwrap()
            .is_empty()
    );
    assert_eq!(seen.refused().len(), 1);

    std::fs::write(&on_stick, &whole).unwrap();
    let got = receive(&mut lab, &stick, "Lab A", &mut seen, now()).unwrap();
    assert!(matches!(got[0].outcome, Ok(ReceivedOutcome::Imported(_))));
    assert!(seen.refused().is_empty());
    assert_eq!(lab.handover_events(None).unwrap().len(), 1);
}

#[test]
fn a_missing_folder_says_to_plug_in_the_stick() {
    let dir = tempfile::tempdir().unwrap();
    let mut ward = pc(dir.path(), "W07");
    let gone = dir.path().join("E-drive");
    let err = send(&ward, &gone, &mut Seen::default(), now()).unwrap_err();
    assert!(err.to_string().contains("plug in the USB stick"), "{err}");
    let err = receive(&mut ward, &gone, "N", &mut Seen::default(), now()).unwrap_err();
    assert!(matches!(err, ExchangeError::NoFolder { .. }), "{err:?}");
}

#[test]
fn one_visit_takes_the_bundles_in_first_so_the_outbox_relays_them() {
    let dir = tempfile::tempdir().unwrap();
    let stick = dir.path().join("stick");
    std::fs::create_dir(&stick).unwrap();
    let mut ward = pc(dir.path(), "W07");
    let mut lab = pc(dir.path(), "L01");
    ward.save_request(&request(1), "Nurse Bloggs", now())
        .unwrap();
    send(&ward, &stick, &mut Seen::default(), now()).unwrap();

    let visited = stopgap::handover::visit(
        &mut lab,
        &stick,
        "Lab A",
        &mut Seen::default(),
        (true, true),
        now(),
    );
    assert_eq!(visited.received.unwrap().unwrap().len(), 1);
    let Some(Ok(Sent::Written(made))) = visited.sent else {
        panic!("the lab's outbox is written");
    };
    assert_eq!(made.events, 1, "the ward's event, relayed");

    // A folder that is not there: nothing is sent either.
    let gone = stopgap::handover::visit(
        &mut lab,
        &dir.path().join("gone"),
        "Lab A",
        &mut Seen::default(),
        (true, true),
        now(),
    );
    assert!(matches!(
        gone.received,
        Some(Err(ExchangeError::NoFolder { .. }))
    ));
    assert!(gone.sent.is_none());
}
