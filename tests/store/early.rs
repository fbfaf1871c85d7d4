//! A sample received before its request reached the lab (issue 10), on real stores exchanging
//! real bundles: received by its downtime ID with details typed from its paper form, linked when
//! the ward's bundle brings the request if the details agree (a receipt under the lab's user, at
//! the time it was received), never linked when they do not, and never received twice.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on purpose"
)]

use chrono::Duration;
use stopgap::domain::downtime_id::{Code3, DowntimeId};
use stopgap::domain::early::EarlyDraft;
use stopgap::domain::event::EventKind;
use stopgap::domain::status::{Status, Transition};
use stopgap::handover::{ReceivedOutcome, Seen, receive, send};
use stopgap::store::{EarlyOutcome, EarlyRefused, Store, StoreError};

use crate::common::{now, pc, request};

/// The paper form's details of synthetic patient 1 (see `common::draft`), as the lab types them.
fn paper_form(dob: &str) -> stopgap::domain::early::EarlyDetails {
    let r = request(1);
    EarlyDraft {
        nhs_number: r.patient.nhs_number.unwrap().to_string(),
        surname: r.patient.surname.to_lowercase(),
        dob: dob.into(),
    }
    .validate(now(), &chrono::Utc)
    .unwrap()
}

struct World {
    _dir: tempfile::TempDir,
    stick: std::path::PathBuf,
    ward: Store,
    lab: Store,
    uuid: uuid::Uuid,
    id: DowntimeId,
}

/// A ward PC that saved request 1, a lab PC, and a stick between them (nothing carried yet).
fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let stick = dir.path().join("stick");
    std::fs::create_dir(&stick).unwrap();
    let mut ward = pc(dir.path(), "W07");
    let lab = pc(dir.path(), "L01");
    let r = request(1);
    let saved = ward.save_request(&r, "Nurse Bloggs", now()).unwrap();
    World {
        _dir: dir,
        stick,
        ward,
        lab,
        uuid: r.uuid,
        id: saved.downtime_id,
    }
}

impl World {
    /// The ward's bundle reaches the lab; returns the conflicts the import reported.
    fn ward_bundle_arrives(&mut self) -> Vec<String> {
        send(&self.ward, &self.stick, &mut Seen::default(), now()).unwrap();
        let got = receive(
            &mut self.lab,
            &self.stick,
            "Lab A",
            &mut Seen::default(),
            now(),
        )
        .unwrap();
        match &got[0].outcome {
            Ok(ReceivedOutcome::Imported(i)) => i.conflicts.clone(),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn a_sample_received_from_its_paper_form_is_linked_when_its_request_arrives() {
    let mut w = world();
    let at = now() + Duration::minutes(20);
    w.lab
        .receive_early(&w.id, &paper_form("01/01/1980"), "Lab A", at)
        .unwrap();
    assert_eq!(
        w.lab.early_receipt(&w.id).unwrap().unwrap().outcome,
        EarlyOutcome::Waiting
    );
    // Once only.
    let again = w
        .lab
        .receive_early(&w.id, &paper_form("01/01/1980"), "Lab B", at)
        .unwrap_err();
    assert!(
        matches!(again, StoreError::Early(EarlyRefused::Already { .. })),
        "{again:?}"
    );

    let conflicts = w.ward_bundle_arrives();
    assert!(conflicts.is_empty(), "{conflicts:?}");
    let detail = w.lab.request_detail(w.uuid).unwrap().unwrap();
    assert_eq!(detail.state.status, Status::Received);
    let receipt = detail.events.last().unwrap();
    assert!(matches!(
        &receipt.kind,
        EventKind::StatusChanged {
            transition: Transition::Received
        }
    ));
    assert_eq!(receipt.actor.user, "Lab A");
    assert_eq!(receipt.actor.workstation.as_str(), "L01");
    assert_eq!(
        receipt.at, at,
        "received when the sample came, not when linked"
    );
    assert!(matches!(
        w.lab.early_receipt(&w.id).unwrap().unwrap().outcome,
        EarlyOutcome::Linked { note: None, .. }
    ));
    // The same bundle again links nothing twice.
    let events = w.lab.handover_events(None).unwrap().len();
    receive(&mut w.lab, &w.stick, "Lab A", &mut Seen::default(), now()).unwrap();
    assert_eq!(w.lab.handover_events(None).unwrap().len(), events);

    // The receipt goes back to the ward with the lab's bundle.
    send(&w.lab, &w.stick, &mut Seen::default(), now()).unwrap();
    receive(
        &mut w.ward,
        &w.stick,
        "Nurse Bloggs",
        &mut Seen::default(),
        now(),
    )
    .unwrap();
    assert_eq!(
        w.ward.request_detail(w.uuid).unwrap().unwrap().state.status,
        Status::Received
    );
    assert!(w.lab.verify().unwrap().is_sound());
    assert!(w.ward.verify().unwrap().is_sound());
}

#[test]
fn a_paper_form_that_does_not_match_the_request_is_never_linked() {
    let mut w = world();
    w.lab
        .receive_early(&w.id, &paper_form("02/01/1980"), "Lab A", now())
        .unwrap();
    let conflicts = w.ward_bundle_arrives();
    assert_eq!(conflicts.len(), 1, "{conflicts:?}");
    assert!(conflicts[0].contains("not linked"), "{conflicts:?}");
    assert!(conflicts[0].contains("born 02/01/1980"), "{conflicts:?}");
    assert_eq!(
        w.lab.request_detail(w.uuid).unwrap().unwrap().state.status,
        Status::Logged,
        "the wrong-patient tube is not received against this request"
    );
    let EarlyOutcome::Mismatch { request_uuid, why } =
        w.lab.early_receipt(&w.id).unwrap().unwrap().outcome
    else {
        panic!("a mismatch");
    };
    assert_eq!(request_uuid, w.uuid);
    assert!(why.contains("on the paper form"), "{why}");
    // Settled once: a later import does not change it.
    receive(&mut w.lab, &w.stick, "Lab A", &mut Seen::default(), now()).unwrap();
    assert!(matches!(
        w.lab.early_receipt(&w.id).unwrap().unwrap().outcome,
        EarlyOutcome::Mismatch { .. }
    ));
}

#[test]
fn a_request_the_ward_cancelled_meanwhile_is_not_received() {
    let mut w = world();
    w.lab
        .receive_early(&w.id, &paper_form("01/01/1980"), "Lab A", now())
        .unwrap();
    w.ward
        .change_status(
            w.uuid,
            &Transition::Cancelled {
                reason: "Patient discharged".into(),
            },
            "Nurse Bloggs",
            now(),
        )
        .unwrap();
    let conflicts = w.ward_bundle_arrives();
    assert!(
        conflicts.iter().any(|c| c.contains("Patient discharged")),
        "{conflicts:?}"
    );
    assert_eq!(
        w.lab.request_detail(w.uuid).unwrap().unwrap().state.status,
        Status::Cancelled
    );
}

#[test]
fn a_request_already_here_or_of_another_site_is_not_received_early() {
    let mut w = world();
    w.ward_bundle_arrives();
    let err = w
        .lab
        .receive_early(&w.id, &paper_form("01/01/1980"), "Lab A", now())
        .unwrap_err();
    assert!(err.to_string().contains("scan it again"), "{err}");
    let other_site = DowntimeId::new(
        Code3::site("RYY").unwrap(),
        Code3::workstation("W07").unwrap(),
        1,
    )
    .unwrap();
    let err = w
        .lab
        .receive_early(&other_site, &paper_form("01/01/1980"), "Lab A", now())
        .unwrap_err();
    assert!(err.to_string().contains("site RYY"), "{err}");
    assert!(w.lab.early_receipts().unwrap().is_empty());
}
