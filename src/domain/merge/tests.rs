use std::collections::BTreeSet;
use std::sync::OnceLock;

use chrono::{DateTime, Duration, TimeZone, Utc};
use proptest::prelude::*;

use super::*;
use crate::domain::catalogue::Catalogue;
use crate::domain::downtime_id::{Code3, DowntimeId};
use crate::domain::event::Actor;
use crate::domain::request::{NewRequest, Priority, RequestDraft};
use crate::domain::settle::Clash;

/// Workstations of the simulated hospital: two wards and the lab.
const PCS: [&str; 3] = ["W01", "W02", "L01"];

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 4, 10, 0, 0).unwrap()
}

fn at(minute: i64) -> DateTime<Utc> {
    t0() + Duration::minutes(minute)
}

/// One checked request, validated once and copied under other UUIDs.
fn request(uuid: Uuid) -> NewRequest {
    static TEMPLATE: OnceLock<NewRequest> = OnceLock::new();
    let template = TEMPLATE.get_or_init(|| {
        RequestDraft {
            uuid: Uuid::nil(),
            nhs_number: "9990000018".into(),
            surname: "Testpatient".into(),
            dob: "01/01/1980".into(),
            ward: "W7".into(),
            consultant: "Dr A".into(),
            requester: "Dr B".into(),
            requester_contact: "1234".into(),
            priority: Some(Priority::Urgent),
            tests: vec!["FBC".into()],
            collected_date: "04/06/2026".into(),
            collected_time: "09:30".into(),
            collected_by: "N".into(),
            ..Default::default()
        }
        .validate(t0(), &Utc, &Catalogue::default_uk().unwrap())
        .unwrap()
    });
    NewRequest {
        uuid,
        ..template.clone()
    }
}

fn actor(pc: &str) -> Actor {
    Actor {
        workstation: Code3::workstation(pc).unwrap(),
        user: format!("user on {pc}"),
    }
}

/// The `n`th issuable downtime ID of workstation `pc`.
fn downtime_id(pc: &str, n: u32) -> DowntimeId {
    let (site, ws) = (Code3::site("RXX").unwrap(), Code3::workstation(pc).unwrap());
    let mut seq = 0;
    for _ in 0..n {
        seq = DowntimeId::next_issuable(&site, &ws, seq).unwrap();
    }
    DowntimeId::new(site, ws, seq).unwrap()
}

fn created(req: u128, id: u128, pc: &str, n: u32, minute: i64) -> Event {
    Event {
        id: Uuid::from_u128(id),
        request_uuid: Uuid::from_u128(req),
        actor: actor(pc),
        at: at(minute),
        kind: EventKind::Created {
            downtime_id: downtime_id(pc, n),
            request: Box::new(request(Uuid::from_u128(req))),
        },
    }
}

fn change(req: u128, id: u128, pc: &str, minute: i64, transition: Transition) -> Event {
    Event {
        id: Uuid::from_u128(id),
        request_uuid: Uuid::from_u128(req),
        actor: actor(pc),
        at: at(minute),
        kind: EventKind::StatusChanged { transition },
    }
}

fn settled(
    req: u128,
    id: u128,
    pc: &str,
    minute: i64,
    named: Uuid,
    clash: u8,
    decision: u8,
) -> Event {
    use crate::domain::settle::{Decision, Settlement};
    let clash = [
        Clash::Refused,
        Clash::CancelledAfterReceipt,
        Clash::Orphan,
        Clash::CreatedTwice,
        Clash::SameIdDiffers,
        Clash::DuplicateId,
        Clash::OtherRequest,
    ][usize::from(clash) % 7];
    Event {
        id: Uuid::from_u128(id),
        request_uuid: Uuid::from_u128(req),
        actor: actor(pc),
        at: at(minute),
        kind: EventKind::ConflictSettled {
            settled: Settlement {
                event: named,
                clash,
                decision: Decision::ALL[usize::from(decision) % Decision::ALL.len()],
                note: String::new(),
            },
        },
    }
}

fn cancelled() -> Transition {
    Transition::Cancelled {
        reason: "patient discharged".into(),
    }
}

fn reentered(accession: &str) -> Transition {
    Transition::Reentered {
        accession: accession.into(),
    }
}

fn fold(events: &[Event]) -> Merged {
    fold_merged(Uuid::from_u128(1), events)
}

fn status(m: &Merged) -> Option<Status> {
    m.state.as_ref().map(|s| s.status)
}

#[test]
fn a_clean_history_folds_as_the_local_fold_does() {
    let events = vec![
        created(1, 10, "W01", 1, 0),
        change(1, 11, "W01", 5, Transition::Sent),
        change(1, 12, "L01", 30, Transition::Received),
        change(1, 13, "L01", 90, reentered("L24.1")),
    ];
    let m = fold(&events);
    assert_eq!(m.state, Some(RequestState::fold(&events).unwrap()));
    assert_eq!(m.applied, events.iter().map(|e| e.id).collect::<Vec<_>>());
    assert!(m.conflicts.is_empty());
}

#[test]
fn order_of_arrival_and_copies_do_not_change_the_state() {
    let events = vec![
        created(1, 10, "W01", 1, 0),
        change(1, 11, "W01", 5, Transition::Sent),
        change(1, 12, "L01", 30, Transition::Received),
    ];
    let reversed: Vec<Event> = events.iter().rev().cloned().collect();
    let doubled: Vec<Event> = events.iter().chain(&events).cloned().collect();
    assert_eq!(fold(&reversed), fold(&events));
    assert_eq!(fold(&doubled), fold(&events));
    assert_eq!(status(&fold(&events)), Some(Status::Received));
}

#[test]
fn the_creation_counts_first_even_when_the_lab_clock_is_behind() {
    // The lab PC's clock is ten minutes behind the ward's.
    let events = [
        change(1, 12, "L01", -10, Transition::Received),
        created(1, 10, "W01", 1, 0),
    ];
    let m = fold(&events);
    assert_eq!(status(&m), Some(Status::Received));
    assert!(m.conflicts.is_empty(), "{:?}", m.conflicts);
}

#[test]
fn a_receipt_after_the_ward_cancelled_is_refused_and_names_the_cancellation() {
    let cancel = change(1, 11, "W01", 5, cancelled());
    let receive = change(1, 12, "L01", 20, Transition::Received);
    let m = fold(&[created(1, 10, "W01", 1, 0), receive.clone(), cancel.clone()]);
    assert_eq!(status(&m), Some(Status::Cancelled));
    assert_eq!(m.applied, vec![Uuid::from_u128(10), cancel.id]);
    let [c] = m.conflicts.as_slice() else {
        panic!("{:?}", m.conflicts)
    };
    assert!(matches!(
        c.kind,
        ConflictKind::Refused(TransitionError::NotAllowed { .. })
    ));
    assert_eq!((&c.event, c.other.as_ref()), (&receive, Some(&cancel)));
    assert_eq!(c.status_before, Some(Status::Cancelled));
    assert!(!c.applied() && c.needs_action());
    assert_eq!(c.key().event, receive.id);
    assert_eq!(c.key().clash, Clash::Refused);
}

#[test]
fn a_cancellation_after_another_pc_received_is_applied_and_reported() {
    let receive = change(1, 12, "L01", 20, Transition::Received);
    let cancel = change(1, 13, "W01", 25, cancelled());
    let m = fold(&[created(1, 10, "W01", 1, 0), receive.clone(), cancel.clone()]);
    assert_eq!(status(&m), Some(Status::Cancelled));
    assert!(m.applied.contains(&cancel.id));
    let [c] = m.conflicts.as_slice() else {
        panic!("{:?}", m.conflicts)
    };
    assert_eq!(c.kind, ConflictKind::CancelledAfterReceipt);
    assert_eq!((&c.event, c.other.as_ref()), (&cancel, Some(&receive)));
    assert!(c.applied() && c.needs_action());
}

#[test]
fn a_cancellation_on_the_pc_that_received_the_sample_is_no_conflict() {
    let m = fold(&[
        created(1, 10, "W01", 1, 0),
        change(1, 12, "L01", 20, Transition::Received),
        change(1, 13, "L01", 25, cancelled()),
    ]);
    assert_eq!(status(&m), Some(Status::Cancelled));
    assert!(m.conflicts.is_empty(), "{:?}", m.conflicts);
}

#[test]
fn a_sent_mark_after_the_receipt_is_overtaken_and_needs_nothing() {
    // The ward's clock is ahead: its "sent" sorts after the lab's receipt.
    let sent = change(1, 11, "W01", 35, Transition::Sent);
    let receive = change(1, 12, "L01", 30, Transition::Received);
    let m = fold(&[created(1, 10, "W01", 1, 0), sent.clone(), receive.clone()]);
    assert_eq!(status(&m), Some(Status::Received));
    let [c] = m.conflicts.as_slice() else {
        panic!("{:?}", m.conflicts)
    };
    assert_eq!(c.kind, ConflictKind::Overtaken);
    assert_eq!((&c.event, c.other.as_ref()), (&sent, Some(&receive)));
    assert!(!c.needs_action() && !m.needs_action());
}

#[test]
fn a_second_reentry_under_another_accession_is_refused_the_same_one_is_not() {
    let base = [
        created(1, 10, "W01", 1, 0),
        change(1, 12, "L01", 20, Transition::Received),
        change(1, 13, "L01", 30, reentered("L24.1")),
    ];
    let again = change(1, 14, "L02", 40, reentered(" L24.1 "));
    let other = change(1, 15, "L02", 40, reentered("L24.2"));
    let m = fold(&[base.as_slice(), &[again, other.clone()]].concat());
    assert_eq!(
        m.state.as_ref().unwrap().accession.as_deref(),
        Some("L24.1")
    );
    let kinds: Vec<&ConflictKind> = m.conflicts.iter().map(|c| &c.kind).collect();
    assert!(matches!(
        kinds.as_slice(),
        [ConflictKind::Overtaken, ConflictKind::Refused(_)]
    ));
    assert_eq!(m.conflicts[1].event, other);
}

#[test]
fn a_second_creation_is_a_conflict_and_the_first_counts() {
    let first = created(1, 20, "W01", 1, 0);
    let second = created(1, 10, "W02", 1, 3);
    let m = fold(&[second.clone(), first.clone()]);
    let state = m.state.as_ref().unwrap();
    assert_eq!(state.downtime_id, downtime_id("W01", 1));
    let [c] = m.conflicts.as_slice() else {
        panic!("{:?}", m.conflicts)
    };
    assert_eq!(c.kind, ConflictKind::CreatedTwice);
    assert_eq!((&c.event, c.other.as_ref()), (&second, Some(&first)));
}

#[test]
fn events_without_their_creation_are_orphans_until_it_arrives() {
    let later = [
        change(1, 11, "W01", 5, Transition::Sent),
        change(1, 12, "L01", 20, Transition::Received),
    ];
    let m = fold(&later);
    assert_eq!(m.state, None);
    assert!(m.applied.is_empty());
    assert_eq!(m.conflicts.len(), 2);
    assert!(
        m.conflicts.iter().all(|c| c.kind == ConflictKind::Orphan
            && c.other.is_none()
            && c.status_before.is_none())
    );

    let m = fold(&[later.as_slice(), &[created(1, 10, "W01", 1, 0)]].concat());
    assert_eq!(status(&m), Some(Status::Received));
    assert!(m.conflicts.is_empty());
}

#[test]
fn two_versions_of_one_event_are_a_conflict_decided_the_same_everywhere() {
    let mine = change(1, 11, "W01", 5, Transition::Sent);
    let damaged = Event {
        actor: actor("W02"),
        ..mine.clone()
    };
    let base = created(1, 10, "W01", 1, 0);
    let one = fold(&[base.clone(), mine.clone(), damaged.clone()]);
    let other = fold(&[damaged.clone(), base, mine.clone(), damaged]);
    assert_eq!(one, other);
    let [c] = one.conflicts.as_slice() else {
        panic!("{:?}", one.conflicts)
    };
    assert_eq!(c.kind, ConflictKind::SameIdDiffers);
    assert!(c.other.is_some() && c.other.as_ref() != Some(&c.event));
    assert!(one.applied.contains(&mine.id));
}

/// A random story of several requests, told by three PCs with skewed clocks: some creations
/// missing or doubled, downtime IDs reused, events in any order, one event sometimes in two
/// versions.
#[derive(Debug, Clone)]
struct Spec {
    requests: Vec<RequestSpec>,
}

#[derive(Debug, Clone)]
struct RequestSpec {
    creator: usize,
    /// Which of the creator's first three downtime IDs: small, so two requests share one.
    id_n: u32,
    minute: i64,
    /// 0 = no creation (orphans), 1 = one, 2 = created twice.
    creations: u8,
    changes: Vec<(usize, i64, u8)>,
    /// An event (by index) also sent in a second version.
    tampered: Option<usize>,
    /// Settlements: (PC, minute, the event named by index, clash, decision).
    settlements: Vec<(usize, i64, usize, u8, u8)>,
}

fn transition(n: u8) -> Transition {
    match n % 6 {
        0 => Transition::Sent,
        1 => Transition::Received,
        2 => reentered("L24.1"),
        3 => reentered("L24.2"),
        4 => cancelled(),
        _ => Transition::Rejected {
            reason: "haemolysed".into(),
        },
    }
}

fn spec() -> impl Strategy<Value = Spec> {
    let change = (0..PCS.len(), 0i64..20, 0u8..6);
    let request = (
        0..PCS.len(),
        1u32..4,
        0i64..10,
        prop_oneof![1 => Just(0u8), 8 => Just(1u8), 1 => Just(2u8)],
        proptest::collection::vec(change, 0..6),
        proptest::option::weighted(0.15, 0usize..8),
        proptest::collection::vec(
            (
                0..PCS.len(),
                0i64..25,
                0usize..4,
                prop_oneof![4 => 0u8..3, 1 => 0u8..7],
                0u8..6,
            ),
            0..3,
        ),
    )
        .prop_map(
            |(creator, id_n, minute, creations, changes, tampered, settlements)| RequestSpec {
                creator,
                id_n,
                minute,
                creations,
                changes,
                tampered,
                settlements,
            },
        );
    proptest::collection::vec(request, 1..6).prop_map(|requests| Spec { requests })
}

fn events_of(spec: &Spec) -> Vec<Event> {
    let mut out = Vec::new();
    for (r, rs) in spec.requests.iter().enumerate() {
        let req = 1 + r as u128;
        let id = |j: usize| (req << 32) | j as u128;
        let mut mine = Vec::new();
        for c in 0..rs.creations {
            let pc = PCS[(rs.creator + usize::from(c)) % PCS.len()];
            mine.push(created(req, id(usize::from(c)), pc, rs.id_n, rs.minute));
        }
        for (j, &(pc, minute, t)) in rs.changes.iter().enumerate() {
            mine.push(change(req, id(10 + j), PCS[pc], minute, transition(t)));
        }
        // Settlements name one of the request's events, with a clash it may or may not be in:
        // often enough the right one to settle real conflicts (see the coverage test).
        for (j, &(pc, minute, k, clash, decision)) in rs.settlements.iter().enumerate() {
            let Some(named) = mine.get(k % mine.len().max(1)).map(|e| e.id) else {
                continue;
            };
            mine.push(settled(
                req,
                id(30 + j),
                PCS[pc],
                minute,
                named,
                clash,
                decision,
            ));
        }
        if let Some(k) = rs.tampered.filter(|&k| k < mine.len()) {
            let mut other = mine[k].clone();
            other.actor.user.push_str(" (damaged copy)");
            mine.push(other);
        }
        out.extend(mine);
    }
    out
}

/// What a PC holds after importing `b` into `a`: a union by event UUID, copies dropped.
fn union(a: &[Event], b: &[Event]) -> Vec<Event> {
    let mut out = a.to_vec();
    out.extend(b.iter().filter(|e| !a.contains(e)).cloned());
    out
}

fn by_author(events: &[Event], pc: &str) -> Vec<Event> {
    events
        .iter()
        .filter(|e| e.actor.workstation.as_str() == pc)
        .cloned()
        .collect()
}

proptest! {
    #[test]
    fn merge_does_not_depend_on_arrival_order_or_copies(
        (events, shuffled) in spec().prop_map(|s| events_of(&s)).prop_flat_map(|v| (Just(v.clone()), Just(v).prop_shuffle())),
        copies in proptest::collection::vec(any::<prop::sample::Index>(), 0..10),
    ) {
        let mut arrived = shuffled.clone();
        if !shuffled.is_empty() {
            arrived.extend(copies.iter().map(|i| shuffled[i.index(shuffled.len())].clone()));
        }
        prop_assert_eq!(merge_all(&arrived), merge_all(&events));
        prop_assert_eq!(merge_all(&events.iter().chain(&events).cloned().collect::<Vec<_>>()), merge_all(&events));
    }

    #[test]
    fn merge_is_commutative_and_associative_over_workstation_bundles(spec in spec()) {
        let events = events_of(&spec);
        let [a, b, c] = PCS.map(|pc| by_author(&events, pc));
        prop_assert_eq!(merge_all(&union(&a, &b)), merge_all(&union(&b, &a)));
        prop_assert_eq!(
            merge_all(&union(&union(&a, &b), &c)),
            merge_all(&union(&a, &union(&b, &c)))
        );
        prop_assert_eq!(merge_all(&union(&union(&c, &a), &b)), merge_all(&events));
    }

    #[test]
    fn pcs_exchanging_bundles_in_any_order_end_with_one_state(
        spec in spec(),
        exchanges in proptest::collection::vec((0..PCS.len(), 0..PCS.len()), 0..12),
    ) {
        let events = events_of(&spec);
        let mut pcs: Vec<Vec<Event>> = PCS.iter().map(|pc| by_author(&events, pc)).collect();
        for (from, to) in exchanges {
            let bundle = pcs[from].clone();
            pcs[to] = union(&pcs[to], &bundle);
        }
        // Then every PC's outbox reaches every other PC, in whatever order.
        for from in 0..PCS.len() {
            for to in 0..PCS.len() {
                let bundle = pcs[from].clone();
                pcs[to] = union(&pcs[to], &bundle);
            }
        }
        let expected = merge_all(&events);
        for held in &pcs {
            prop_assert_eq!(&merge_all(held), &expected);
        }
    }

    #[test]
    fn no_event_is_ever_lost(spec in spec()) {
        let events = events_of(&spec);
        let merged = merge_all(&events);
        let mut distinct: Vec<&Event> = Vec::new();
        for e in &events {
            if !distinct.contains(&e) {
                distinct.push(e);
            }
        }
        let mut accounted = 0;
        for m in merged.requests.values() {
            let unapplied = m.conflicts.iter().filter(|c| !c.applied()).count();
            accounted += m.applied.len() + unapplied;
            for c in m.conflicts.iter().filter(|c| c.applied()) {
                prop_assert!(m.applied.contains(&c.event.id));
            }
        }
        prop_assert_eq!(accounted, distinct.len());
        for e in distinct {
            let m = &merged.requests[&e.request_uuid];
            let in_conflict = m.conflicts.iter().any(|c| &c.event == e && !c.applied());
            let applied = m.applied.contains(&e.id)
                && !m.conflicts.iter().any(|c| &c.event == e && c.kind == ConflictKind::SameIdDiffers);
            prop_assert!(in_conflict != applied, "{:?} applied {} in conflict {}", e, applied, in_conflict);
        }
    }

    #[test]
    fn a_downtime_id_on_two_requests_is_always_reported(spec in spec()) {
        let merged = merge_all(&events_of(&spec));
        let states: Vec<&RequestState> = merged.requests.values().filter_map(|m| m.state.as_ref()).collect();
        for a in &states {
            for b in &states {
                if a.request.uuid < b.request.uuid && a.downtime_id == b.downtime_id {
                    let reported = merged.duplicate_ids.iter().any(|d| {
                        let uuids: BTreeSet<Uuid> = d.requests.iter().map(|r| r.request_uuid).collect();
                        d.downtime_id == a.downtime_id && uuids.contains(&a.request.uuid) && uuids.contains(&b.request.uuid)
                    });
                    prop_assert!(reported, "{} on {} and {}", a.downtime_id, a.request.uuid, b.request.uuid);
                }
            }
        }
        for d in &merged.duplicate_ids {
            prop_assert!(d.requests.len() >= 2);
            for r in &d.requests {
                let s = merged.requests[&r.request_uuid].state.as_ref().unwrap();
                prop_assert_eq!(&s.downtime_id, &d.downtime_id);
            }
        }
    }
}

/// The properties above are only as strong as the stories: these reach every clash.
#[test]
fn the_random_stories_reach_every_kind_of_clash() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let mut seen = BTreeSet::new();
    let (mut duplicate_ids, mut settled, mut settled_twice, mut orphans_settled) = (0, 0, 0, 0);
    for _ in 0..300 {
        let spec = spec().new_tree(&mut runner).unwrap().current();
        let merged = merge_all(&events_of(&spec));
        duplicate_ids += merged.duplicate_ids.len();
        for c in merged.conflicts() {
            settled += usize::from(!c.settlements.is_empty());
            settled_twice += usize::from(c.settlements.len() > 1);
            orphans_settled +=
                usize::from(!c.settlements.is_empty() && c.kind == ConflictKind::Orphan);
            seen.insert(match c.kind {
                ConflictKind::SameIdDiffers => "same id differs",
                ConflictKind::Orphan => "orphan",
                ConflictKind::CreatedTwice => "created twice",
                ConflictKind::OtherRequest => "other request",
                ConflictKind::Overtaken => "overtaken",
                ConflictKind::Refused(_) => "refused",
                ConflictKind::CancelledAfterReceipt => "cancelled after receipt",
            });
        }
    }
    let expected = BTreeSet::from([
        "same id differs",
        "orphan",
        "created twice",
        "overtaken",
        "refused",
        "cancelled after receipt",
    ]);
    assert_eq!(seen, expected);
    assert!(duplicate_ids > 10, "{duplicate_ids}");
    assert!(
        settled > 20 && settled_twice > 0 && orphans_settled > 0,
        "{settled} {settled_twice} {orphans_settled}"
    );
}

mod settled;
