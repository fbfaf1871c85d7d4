//! Close-out: every issued downtime ID accounted for, gaps explained, reports without patient
//! identifiers.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on purpose"
)]

use crate::common::{now, request, setup, temp_store};
use stopgap::domain::downtime_id::DowntimeId;
use stopgap::domain::status::Transition;
use stopgap::report::{close_out_pdf, write_close_out_csv};
use stopgap::store::{IdState, Store};
use uuid::Uuid;

fn save_n(store: &mut Store, n: u32) -> Vec<Uuid> {
    (1..=n)
        .map(|i| {
            let r = request(i);
            store.save_request(&r, "Nurse", now()).unwrap();
            r.uuid
        })
        .collect()
}

/// How many saves reach past the first sequence number skipped by the check-character rule.
fn saves_past_first_skip() -> u32 {
    let s = setup();
    let skipped = (1..)
        .find(|&n| !DowntimeId::is_issuable(&s.site, &s.workstation, n))
        .unwrap();
    (1..=skipped + 1)
        .filter(|&n| DowntimeId::is_issuable(&s.site, &s.workstation, n))
        .count() as u32
}

fn finish(store: &mut Store, uuids: &[Uuid]) {
    for (i, u) in uuids.iter().enumerate() {
        let t = match i % 3 {
            0 => Transition::Reentered {
                accession: format!("L{i}"),
            },
            1 => Transition::Cancelled {
                reason: "not needed".into(),
            },
            _ => Transition::Rejected {
                reason: "clotted".into(),
            },
        };
        store.change_status(*u, &t, "Lab", now()).unwrap();
    }
}

#[test]
fn complete_when_every_id_is_final_and_gaps_are_explained_by_rule() {
    let (_d, mut store) = temp_store();
    let n = saves_past_first_skip();
    let uuids = save_n(&mut store, n);
    finish(&mut store, &uuids);
    let c = store.close_out().unwrap();
    assert!(c.is_complete(), "{:?}", c.summary);
    assert_eq!(c.summary.issued, u64::from(n));
    assert!(c.summary.skipped_by_rule >= 1);
    assert_eq!(c.skipped.len() as u64, c.summary.skipped_by_rule);
    assert!(c.summary.cancelled > 0 && c.summary.rejected > 0 && c.summary.reentered > 0);
    assert_eq!(c.workstations.len(), 1);
    assert_eq!(c.workstations[0].workstation.as_str(), "W07");
}

#[test]
fn open_requests_make_it_incomplete_and_come_first() {
    let (_d, mut store) = temp_store();
    let uuids = save_n(&mut store, 5);
    finish(&mut store, &uuids[..3]);
    store
        .change_status(uuids[4], &Transition::Sent, "Porter", now())
        .unwrap();
    let c = store.close_out().unwrap();
    assert!(!c.is_complete());
    assert_eq!(c.summary.open, 2);
    assert!(!c.rows[0].state.is_final() && !c.rows[1].state.is_final());
    assert!(c.rows[2..].iter().all(|r| r.state.is_final()));
    assert_eq!(c.attention().count(), 2);
    // Re-entering the rest completes it.
    for u in &uuids[3..] {
        store
            .change_status(
                *u,
                &Transition::Reentered {
                    accession: "L9".into(),
                },
                "Lab",
                now(),
            )
            .unwrap();
    }
    assert!(store.close_out().unwrap().is_complete());
}

#[test]
fn an_issued_id_without_a_record_must_be_investigated() {
    let (dir, mut store) = temp_store();
    let uuids = save_n(&mut store, 2);
    finish(&mut store, &uuids);
    drop(store);
    // Another process took sequence numbers and its requests never arrived.
    let conn = crate::common::raw(&dir.path().join("stopgap.db"));
    conn.execute("UPDATE id_sequence SET last = last + 3", [])
        .unwrap();
    drop(conn);
    let store = Store::open_or_create(&dir.path().join("stopgap.db")).unwrap();
    let c = store.close_out().unwrap();
    assert!(!c.is_complete());
    assert!(c.summary.missing >= 2);
    assert_eq!(c.rows[0].state, IdState::Missing);
    assert!(c.rows[0].state.action().contains("investigate"));
}

#[test]
fn reports_carry_ids_states_and_accessions_but_no_patient_identifiers() {
    let (_d, mut store) = temp_store();
    let uuids = save_n(&mut store, saves_past_first_skip());
    finish(&mut store, &uuids[1..]);
    let c = store.close_out().unwrap();
    let mut csv = Vec::new();
    write_close_out_csv(&c, &mut csv).unwrap();
    let csv = String::from_utf8(csv).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "site,workstation,sequence,downtime_id,state,final,accession,reason,note"
    );
    assert!(lines[1].contains(",logged,no,"), "{}", lines[1]);
    assert!(lines[1].contains("not final"));
    assert!(csv.contains(",skipped_by_rule,yes,"));
    assert!(csv.contains(",cancelled,yes,,not needed,"));
    let r = request(1);
    let nhs = r.patient.nhs_number.unwrap().digits();
    assert!(!csv.contains(&nhs) && !csv.contains(&r.patient.surname));

    let pdf = close_out_pdf(&c, now());
    assert!(pdf.starts_with(b"%PDF"));
    assert!(pdf.len() > 1000);
    let text = String::from_utf8_lossy(&pdf);
    assert!(!text.contains(&nhs) && !text.contains(&r.patient.surname));
}

#[test]
fn long_reports_run_onto_more_pages() {
    let (_d, mut store) = temp_store();
    save_n(&mut store, 150);
    let c = store.close_out().unwrap();
    let pdf = close_out_pdf(&c, now());
    let text = String::from_utf8_lossy(&pdf);
    let count: usize = text
        .split("/Count ")
        .nth(1)
        .and_then(|t| t.split(|ch: char| !ch.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(count >= 3, "150 rows need more than one page; got {count}");
}
