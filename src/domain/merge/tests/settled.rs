//! Settlements in the merged fold, downtime IDs shared by two requests, and how conflicts read.

use super::*;
use crate::domain::settle::{Decision, Settlement};

fn settle(
    req: u128,
    id: u128,
    pc: &str,
    minute: i64,
    key: ConflictKey,
    decision: Decision,
) -> Event {
    Event {
        id: Uuid::from_u128(id),
        request_uuid: Uuid::from_u128(req),
        actor: actor(pc),
        at: at(minute),
        kind: EventKind::ConflictSettled {
            settled: Settlement {
                event: key.event,
                clash: key.clash,
                decision,
                note: String::new(),
            },
        },
    }
}

/// A receipt on the lab PC after the ward had cancelled: refused, one conflict.
fn receipt_after_cancel() -> (Vec<Event>, ConflictKey) {
    let receive = change(1, 12, "L01", 20, Transition::Received);
    let key = ConflictKey {
        event: receive.id,
        clash: Clash::Refused,
    };
    (
        vec![
            created(1, 10, "W01", 1, 0),
            change(1, 11, "W01", 5, cancelled()),
            receive,
        ],
        key,
    )
}

#[test]
fn a_settled_conflict_needs_nobody_and_the_first_settlement_counts() {
    let (mut events, key) = receipt_after_cancel();
    assert!(fold(&events).needs_action());
    // Two PCs decide differently before either sees the other's decision.
    let lab = settle(1, 30, "L01", 40, key, Decision::Test);
    let ward = settle(1, 31, "W01", 41, key, Decision::Discard);
    events.extend([ward.clone(), lab.clone()]);
    let m = fold(&events);
    let [c] = m.conflicts.as_slice() else {
        panic!("{:?}", m.conflicts)
    };
    assert_eq!(c.settlements, vec![lab.clone(), ward]);
    let (by, settled) = c.settlement().unwrap();
    assert_eq!((by, settled.decision), (&lab, Decision::Test));
    assert!(!c.needs_action() && !m.needs_action());
    // The request stays cancelled; both settlements are in its history.
    assert_eq!(status(&m), Some(Status::Cancelled));
    assert_eq!(m.applied.len(), 4);
    let reversed: Vec<Event> = events.iter().rev().cloned().collect();
    assert_eq!(fold(&reversed), m);
}

#[test]
fn a_settlement_of_another_clash_or_event_settles_nothing() {
    let (mut events, key) = receipt_after_cancel();
    let wrong_clash = ConflictKey {
        clash: Clash::CancelledAfterReceipt,
        ..key
    };
    let wrong_event = ConflictKey {
        event: Uuid::from_u128(11),
        ..key
    };
    events.push(settle(1, 30, "L01", 40, wrong_clash, Decision::Discard));
    events.push(settle(1, 31, "L01", 41, wrong_event, Decision::Discard));
    let m = fold(&events);
    assert!(m.needs_action());
    assert_eq!(m.settlements.len(), 2);
}

#[test]
fn a_settlement_on_a_request_never_created_is_held_and_is_no_orphan() {
    let sent = change(1, 11, "W01", 5, Transition::Sent);
    let received = change(1, 12, "L01", 20, Transition::Received);
    let close = settle(
        1,
        30,
        "L01",
        60,
        ConflictKey {
            event: sent.id,
            clash: Clash::Orphan,
        },
        Decision::Close,
    );
    let m = fold(&[sent.clone(), received.clone(), close.clone()]);
    assert_eq!(m.state, None);
    assert_eq!(m.applied, vec![close.id]);
    let orphans: Vec<(&Event, bool)> = m
        .conflicts
        .iter()
        .map(|c| (&c.event, c.needs_action()))
        .collect();
    assert_eq!(orphans, vec![(&sent, false), (&received, true)]);
    // The creation comes after all: every event applies, the settlement last, no conflict.
    let m = fold(&[close.clone(), created(1, 10, "W01", 1, 0), sent, received]);
    assert_eq!(status(&m), Some(Status::Received));
    assert!(m.conflicts.is_empty());
    assert_eq!(m.applied.last(), Some(&close.id));
}

#[test]
fn a_settlement_between_the_receipt_and_a_cancellation_does_not_hide_the_clash() {
    let receive = change(1, 12, "L01", 20, Transition::Received);
    let noted = settle(
        1,
        30,
        "W01",
        22,
        ConflictKey {
            event: Uuid::from_u128(99),
            clash: Clash::Refused,
        },
        Decision::Noted,
    );
    let cancel = change(1, 13, "W01", 25, cancelled());
    let m = fold(&[created(1, 10, "W01", 1, 0), receive.clone(), noted, cancel]);
    let [c] = m.conflicts.as_slice() else {
        panic!("{:?}", m.conflicts)
    };
    assert_eq!(c.kind, ConflictKind::CancelledAfterReceipt);
    assert_eq!(c.other.as_ref(), Some(&receive));
}

#[test]
fn the_decisions_offered_fit_the_clash() {
    let decided = |events: &[Event]| -> Vec<Vec<Decision>> {
        fold(events)
            .conflicts
            .iter()
            .map(|c| c.decisions().to_vec())
            .collect()
    };
    let on_cancelled = vec![Decision::Discard, Decision::Test];
    let (refused, _) = receipt_after_cancel();
    assert_eq!(decided(&refused), vec![on_cancelled.clone()]);
    let after_receipt = [
        created(1, 10, "W01", 1, 0),
        change(1, 12, "L01", 20, Transition::Received),
        change(1, 13, "W01", 25, cancelled()),
    ];
    assert_eq!(decided(&after_receipt), vec![on_cancelled]);
    let second_accession = [
        created(1, 10, "W01", 1, 0),
        change(1, 12, "L01", 20, Transition::Received),
        change(1, 13, "L01", 30, reentered("L24.1")),
        change(1, 14, "L02", 40, reentered("L24.2")),
    ];
    assert_eq!(decided(&second_accession), vec![vec![Decision::Noted]]);
    let twice = [created(1, 10, "W01", 1, 0), created(1, 11, "W02", 1, 3)];
    assert_eq!(decided(&twice), vec![vec![Decision::Noted]]);
    let orphan = [change(1, 11, "W01", 5, Transition::Sent)];
    assert_eq!(decided(&orphan), vec![vec![Decision::Close]]);
}

#[test]
fn two_requests_with_one_downtime_id_are_reported_the_same_request_twice_is_not() {
    let a = fold_merged(Uuid::from_u128(1), &[created(1, 10, "W01", 1, 0)]);
    let b = fold_merged(Uuid::from_u128(2), &[created(2, 20, "W01", 1, 4)]);
    let c = fold_merged(Uuid::from_u128(3), &[created(3, 30, "W01", 2, 4)]);
    let (a, b, c) = (a.state.unwrap(), b.state.unwrap(), c.state.unwrap());
    let dups = duplicate_downtime_ids([&c, &b, &a, &a]);
    let [d] = dups.as_slice() else {
        panic!("{dups:?}")
    };
    assert_eq!(d.downtime_id, downtime_id("W01", 1));
    let uuids: Vec<Uuid> = d.requests.iter().map(|r| r.request_uuid).collect();
    assert_eq!(uuids, vec![Uuid::from_u128(1), Uuid::from_u128(2)]);
    assert!(duplicate_downtime_ids([&a, &a, &c]).is_empty());
    let said = format!(
        "downtime ID {} is on 2 different requests",
        downtime_id("W01", 1)
    );
    assert!(d.to_string().starts_with(&said), "{d}");
}

#[test]
fn a_shared_downtime_id_is_settled_once_all_but_one_request_is_named_the_duplicate() {
    let keeper = [created(1, 10, "W01", 1, 0)];
    let duplicate = vec![created(2, 20, "W01", 1, 4)];
    let named = settle(
        2,
        21,
        "L01",
        30,
        ConflictKey {
            event: Uuid::from_u128(20),
            clash: Clash::DuplicateId,
        },
        Decision::Same,
    );
    let open = merge_all(keeper.iter().chain(&duplicate));
    let [d] = open.duplicate_ids.as_slice() else {
        panic!("{:?}", open.duplicate_ids)
    };
    assert!(d.needs_action(&open.requests));
    let settled = merge_all(keeper.iter().chain(&duplicate).chain([&named]));
    let [d] = settled.duplicate_ids.as_slice() else {
        panic!("{:?}", settled.duplicate_ids)
    };
    assert!(!d.needs_action(&settled.requests));
    assert_eq!(
        duplicate_settlement(&settled.requests[&Uuid::from_u128(2)]),
        Some(&named)
    );
    assert_eq!(
        duplicate_settlement(&settled.requests[&Uuid::from_u128(1)]),
        None
    );
}

#[test]
fn conflicts_read_as_sentences_naming_both_sides() {
    let m = fold(&[
        created(1, 10, "W01", 1, 0),
        change(1, 11, "W01", 5, cancelled()),
        change(1, 12, "L01", 20, Transition::Received),
    ]);
    assert_eq!(
        m.conflicts[0].to_string(),
        "received in lab on L01 by user on L01 at 2026-06-04 10:20:00 UTC was not applied \
         because a request that is cancelled cannot become received in lab: the request was \
         already cancelled (cancelled (patient discharged) on W01 by user on W01 at 2026-06-04 \
         10:05:00 UTC); check with whoever recorded each and record what really happened"
    );
}

#[test]
fn an_event_of_another_request_is_reported_not_folded() {
    let stray = change(2, 21, "W02", 5, Transition::Sent);
    let m = fold(&[created(1, 10, "W01", 1, 0), stray.clone()]);
    assert_eq!(status(&m), Some(Status::Logged));
    assert_eq!(m.conflicts.len(), 1);
    assert_eq!(m.conflicts[0].kind, ConflictKind::OtherRequest);
    assert_eq!(m.conflicts[0].event, stray);
}

proptest! {
    #[test]
    fn settlements_are_never_orphans_and_each_conflict_keeps_exactly_its_own(spec in spec()) {
        let events = events_of(&spec);
        let merged = merge_all(&events);
        for m in merged.requests.values() {
            for c in &m.conflicts {
                let settlement = matches!(c.event.kind, EventKind::ConflictSettled { .. });
                prop_assert!(!(settlement && c.kind == ConflictKind::Orphan));
                let mine: Vec<&Event> = m.settlements.iter().filter(|s| settles(s, c.key())).collect();
                prop_assert_eq!(c.settlements.iter().collect::<Vec<_>>(), mine);
                prop_assert_eq!(c.needs_action(), c.is_listed() && c.settlements.is_empty());
            }
            for s in &m.settlements {
                prop_assert!(m.applied.contains(&s.id));
            }
        }
    }
}
