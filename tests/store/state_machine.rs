//! State-machine property test: random sequences of create, status changes (send, receive,
//! re-enter, cancel, reject; with good and bad payloads), reconciliation, export and
//! crash/restart, run against the real store on a temporary file and against a model of what
//! each request should be.
//!
//! After every step: no request has disappeared, each request has exactly one event per change
//! it went through (one for its creation, one per accepted status change), every refused change
//! left everything as it was, and `verify` finds the database sound.
//!
//! 64 sequences of up to 30 steps by default; `STOPGAP_STATE_MACHINE_CASES=1000` runs more.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on purpose"
)]

use std::path::Path;

use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use stopgap::backlog::{BacklogError, ExportJob, export_to};
use stopgap::domain::downtime_id::DowntimeId;
use stopgap::domain::status::{Status, Transition};
use stopgap::export::{Format, Profile};
use stopgap::files::Overwrite;
use stopgap::store::{ExportOptions, ExportSelection, ReconcileRow, RowOutcome, Store};
use uuid::Uuid;

use crate::common::{now, request, setup};

/// Which status a change asks for.
#[derive(Debug, Clone, Copy)]
enum To {
    Sent,
    Received,
    Reentered,
    Cancelled,
    Rejected,
}

/// Which accession a reconciliation row gives.
#[derive(Debug, Clone, Copy)]
enum Accession {
    /// One no request has.
    Fresh,
    /// The one this request already has (a re-run of the same file), if any.
    Own,
    /// One another request already has, if any.
    Other(usize),
}

#[derive(Debug, Clone)]
enum Op {
    Create,
    /// A status change of the `pick`-th request (modulo the count); `good` false gives a blank
    /// reason or an impossible accession, which must be refused whatever the status.
    Change {
        pick: usize,
        to: To,
        good: bool,
    },
    /// A status change of a request that does not exist.
    ChangeUnknown,
    Reconcile {
        pick: usize,
        accession: Accession,
    },
    Export,
    /// The process dies: the store is dropped without any clean-up and opened again.
    Restart,
}

fn op() -> impl Strategy<Value = Op> {
    let to = prop_oneof![
        Just(To::Sent),
        Just(To::Received),
        Just(To::Reentered),
        Just(To::Cancelled),
        Just(To::Rejected),
    ];
    let accession = prop_oneof![
        2 => Just(Accession::Fresh),
        1 => Just(Accession::Own),
        1 => any::<usize>().prop_map(Accession::Other),
    ];
    prop_oneof![
        4 => Just(Op::Create),
        6 => (any::<usize>(), to, prop::bool::weighted(0.85))
            .prop_map(|(pick, to, good)| Op::Change { pick, to, good }),
        1 => Just(Op::ChangeUnknown),
        3 => (any::<usize>(), accession).prop_map(|(pick, accession)| Op::Reconcile { pick, accession }),
        1 => Just(Op::Export),
        1 => Just(Op::Restart),
    ]
}

/// What one request should be.
#[derive(Debug, Clone)]
struct Expected {
    uuid: Uuid,
    id: DowntimeId,
    status: Status,
    /// Events in its history: its creation and each accepted change.
    events: usize,
    accession: Option<String>,
}

struct Machine {
    path: std::path::PathBuf,
    out: std::path::PathBuf,
    store: Option<Store>,
    model: Vec<Expected>,
    batches: usize,
    /// Makes fresh accessions and synthetic patients unique within a run.
    counter: u32,
}

impl Machine {
    fn new(dir: &Path) -> Self {
        let path = dir.join("stopgap.db");
        let out = dir.join("exports");
        std::fs::create_dir(&out).unwrap();
        let mut store = Store::open_or_create(&path).unwrap();
        store.configure(&setup()).unwrap();
        Self {
            path,
            out,
            store: Some(store),
            model: Vec::new(),
            batches: 0,
            counter: 0,
        }
    }

    fn store(&mut self) -> &mut Store {
        self.store
            .as_mut()
            .expect("the store is open between steps")
    }

    fn fresh_accession(&mut self) -> String {
        self.counter += 1;
        format!("L26.{:05}", self.counter)
    }

    fn step(&mut self, op: &Op, at: DateTime<Utc>) {
        match *op {
            Op::Create => self.create(at),
            Op::Change { pick, to, good } => self.change(pick, to, good, at),
            Op::ChangeUnknown => {
                let unknown = Uuid::new_v4();
                let e = self
                    .store()
                    .change_status(unknown, &Transition::Sent, "Nurse", at);
                assert!(e.is_err(), "a change of an unknown request was accepted");
            }
            Op::Reconcile { pick, accession } => self.reconcile(pick, accession, at),
            Op::Export => self.export(at),
            Op::Restart => {
                drop(self.store.take());
                self.store = Some(Store::open(&self.path).unwrap());
            }
        }
    }

    fn create(&mut self, at: DateTime<Utc>) {
        self.counter += 1;
        let r = request(self.counter);
        let saved = self.store().save_request(&r, "Nurse Bloggs", at).unwrap();
        assert!(!saved.already_saved);
        assert!(
            self.model.iter().all(|m| m.id != saved.downtime_id),
            "downtime ID {} issued twice",
            saved.downtime_id
        );
        self.model.push(Expected {
            uuid: r.uuid,
            id: saved.downtime_id,
            status: Status::Logged,
            events: 1,
            accession: None,
        });
    }

    fn change(&mut self, pick: usize, to: To, good: bool, at: DateTime<Utc>) {
        if self.model.is_empty() {
            return;
        }
        let i = pick % self.model.len();
        let (transition, target) = match to {
            To::Sent => (Transition::Sent, Status::Sent),
            To::Received => (Transition::Received, Status::Received),
            To::Reentered => {
                let accession = if good {
                    self.fresh_accession()
                } else {
                    "L26|not an accession".into()
                };
                (Transition::Reentered { accession }, Status::Reentered)
            }
            To::Cancelled => (
                Transition::Cancelled {
                    reason: if good { "duplicate form" } else { "  " }.into(),
                },
                Status::Cancelled,
            ),
            To::Rejected => (
                Transition::Rejected {
                    reason: if good { "haemolysed" } else { "" }.into(),
                },
                Status::Rejected,
            ),
        };
        let has_payload = !matches!(to, To::Sent | To::Received);
        let allowed = self.model[i].status.can_become(target) && (good || !has_payload);
        let uuid = self.model[i].uuid;
        let result = self.store().change_status(uuid, &transition, "Nurse", at);
        assert_eq!(
            result.is_ok(),
            allowed,
            "{:?} -> {transition:?}: {result:?}",
            self.model[i].status
        );
        if let Ok(state) = result {
            let m = &mut self.model[i];
            m.status = target;
            m.events += 1;
            if let Transition::Reentered { accession } = transition {
                m.accession = Some(accession);
            }
            assert_eq!(state.status, target);
        }
    }

    fn reconcile(&mut self, pick: usize, accession: Accession, at: DateTime<Utc>) {
        if self.model.is_empty() {
            return;
        }
        let i = pick % self.model.len();
        let others: Vec<String> = (0..self.model.len())
            .filter(|&j| j != i)
            .filter_map(|j| self.model[j].accession.clone())
            .collect();
        let given = match accession {
            Accession::Own => self.model[i].accession.clone(),
            Accession::Other(k) if !others.is_empty() => Some(others[k % others.len()].clone()),
            Accession::Other(_) | Accession::Fresh => None,
        }
        .unwrap_or_else(|| self.fresh_accession());
        let m = &self.model[i];
        let taken = others.contains(&given);
        let expect_apply = !m.status.is_final() && !taken;
        let expect_done = m.status == Status::Reentered && m.accession.as_ref() == Some(&given);
        let row = ReconcileRow {
            row: 2,
            downtime_id: m.id.grouped(),
            accession: given.clone(),
            ..ReconcileRow::default()
        };
        let report = self
            .store()
            .reconcile(&[row], false, "MLA Jones", at)
            .unwrap();
        let outcome = &report.rows[0].outcome;
        match outcome {
            RowOutcome::Apply { .. } => {
                assert!(expect_apply, "{:?} with {given}: applied", self.model[i]);
                let m = &mut self.model[i];
                m.status = Status::Reentered;
                m.events += 1;
                m.accession = Some(given);
            }
            RowOutcome::AlreadyDone { .. } => {
                assert!(
                    expect_done,
                    "{:?} with {given}: already done",
                    self.model[i]
                );
            }
            RowOutcome::Invalid(problems) => assert!(
                !expect_apply && !expect_done,
                "{:?} with {given}: refused: {problems:?}",
                self.model[i]
            ),
            RowOutcome::RepeatOfRow { .. } => panic!("one row cannot repeat another"),
        }
        assert_eq!(
            report.written,
            !matches!(outcome, RowOutcome::Invalid(_)),
            "{report:?}"
        );
    }

    fn export(&mut self, at: DateTime<Utc>) {
        let open = self.model.iter().filter(|m| !m.status.is_final()).count();
        let job = ExportJob {
            selection: ExportSelection {
                statuses: vec![Status::Logged, Status::Sent, Status::Received],
                include_exported: true,
                ..ExportSelection::default()
            },
            format: Format::Csv,
            profile: Profile::default_profile(),
            options: ExportOptions::default(),
            user: "MLA Jones".into(),
            out: self.out.clone(),
            overwrite: Overwrite::Refuse,
            sealing: stopgap::files::Sealing::plaintext_confirmed(),
        };
        match export_to(self.store(), &job, at) {
            Ok(exported) => {
                assert_eq!(exported.record.request_count, open as u64);
                assert!(exported.path.is_file());
                self.batches += 1;
            }
            Err(BacklogError::NothingToExport) => assert_eq!(open, 0),
            Err(e) => panic!("export failed: {e}"),
        }
    }

    /// What must hold after every step.
    fn check(&mut self, after: &Op) {
        let store = self
            .store
            .as_ref()
            .expect("the store is open between steps");
        let report = store.verify().unwrap();
        assert!(report.is_sound(), "after {after:?}: {:?}", report.problems);
        assert_eq!(report.requests, self.model.len() as u64, "after {after:?}");
        let events: usize = self.model.iter().map(|m| m.events).sum();
        assert_eq!(report.events, events as u64, "after {after:?}");
        for m in &self.model {
            let detail = store
                .request_detail(m.uuid)
                .unwrap()
                .unwrap_or_else(|| panic!("after {after:?}: request {} disappeared", m.id));
            assert_eq!(detail.state.downtime_id, m.id);
            assert_eq!(detail.state.status, m.status, "after {after:?}: {}", m.id);
            assert_eq!(detail.state.accession, m.accession, "{}", m.id);
            assert_eq!(detail.events.len(), m.events, "after {after:?}: {}", m.id);
            let by_id = store.find_by_downtime_id(&m.id).unwrap();
            assert_eq!(by_id.map(|d| d.state.request.uuid), Some(m.uuid));
        }
        assert_eq!(store.batches().unwrap().len(), self.batches);
    }
}

fn cases() -> u32 {
    std::env::var("STOPGAP_STATE_MACHINE_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64)
}

#[test]
fn random_sequences_never_lose_a_request_and_record_one_event_per_change() {
    let mut runner = TestRunner::new(Config {
        cases: cases(),
        // A failing sequence is shrunk to the shortest that still fails.
        max_shrink_iters: 200,
        ..Config::default()
    });
    runner
        .run(&prop::collection::vec(op(), 1..=30), |ops| {
            let dir = tempfile::tempdir().unwrap();
            let mut machine = Machine::new(dir.path());
            for (n, op) in ops.iter().enumerate() {
                let at = now() + Duration::minutes(n as i64 + 1);
                machine.step(op, at);
                machine.check(op);
            }
            Ok(())
        })
        .unwrap();
}
