//! Synthetic training data: plausible downtime requests for practice and demonstrations.
//!
//! Pure: the clock (`now`) and the randomness (`seed`) are parameters, so the same seed always
//! gives the same requests. Every NHS number is from the 999 test range, and every request is
//! built through [`RequestDraft::validate`], so demo data passes the same checks as typed data.
//!
//! By concern: `words` holds the names, wards and phrases drawn from; `people` the synthetic
//! patients (each a function of their number); `history` each request's status story and its
//! times; this module puts one request together and validates it.

mod history;
mod people;
mod words;

use chrono::{DateTime, Datelike, Duration, Timelike, Utc};
use fastrand::Rng;

use crate::domain::catalogue::Catalogue;
use crate::domain::request::{FieldError, NewRequest, Priority, RequestDraft, Sex};
use crate::domain::status::{Status, Transition};
use history::{outcome, steps, window_minutes};
use people::{PoolPatient, patient_pool};
use words::{
    AMU, CLINICAL_DETAILS, COLLECTORS, COMMON_TESTS, EMERGENCY_WARDS, NOTES, REQUESTERS, WARDS,
};
pub use words::{ward_names, wards};

/// One synthetic request and its history: who logged it and when, then each status change.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoRequest {
    pub request: NewRequest,
    /// Who logged it (a name, as a user gives it).
    pub user: String,
    /// When it was saved: a few minutes after collection, never after `now`.
    pub created_at: DateTime<Utc>,
    /// Status changes in order, each legal from the one before, times increasing and never after
    /// `now`.
    pub transitions: Vec<(Transition, DateTime<Utc>)>,
}

impl DemoRequest {
    /// The status after all its transitions.
    pub fn status(&self) -> Status {
        self.transitions
            .last()
            .map_or(Status::Logged, |(t, _)| t.target())
    }
}

/// Why no demo data could be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DemoError {
    #[error("the test catalogue has no tests, so there is nothing to request")]
    NoTests,
    /// A generated draft failed validation: a bug in this module, never the user's doing.
    #[error("demo request {index} failed validation (a bug in the demo generator): {}", list(.errors))]
    InvalidDraft {
        index: usize,
        errors: Vec<FieldError>,
    },
}

fn list(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// Counters shared across one run, so numbers are not repeated.
struct Serials {
    emergency: u32,
    accession: u32,
}

/// `count` synthetic requests, collected over the 72 hours before `now`, from a smaller pool of
/// patients so that some come back. The same `seed`, `now` and catalogue give the same requests.
///
/// Tests are drawn from `catalogue` (codes it lacks are never used). Each request is validated
/// exactly as a typed form is; a draft that failed would be a bug in this module, reported as
/// [`DemoError::InvalidDraft`] (the tests show that none ever does).
pub fn synthetic_requests(
    count: usize,
    seed: u64,
    now: DateTime<Utc>,
    catalogue: &Catalogue,
) -> Result<Vec<DemoRequest>, DemoError> {
    if catalogue.tests.is_empty() {
        return Err(DemoError::NoTests);
    }
    let mut rng = Rng::with_seed(seed);
    let pool = patient_pool(&mut rng, pool_size(count), now);
    let mut serials = Serials {
        emergency: rng.u32(1..5000),
        accession: rng.u32(100_000..2_000_000),
    };
    (0..count)
        .map(|index| {
            one_request(&mut rng, &pool, &mut serials, now, catalogue)
                .map_err(|errors| DemoError::InvalidDraft { index, errors })
        })
        .collect()
}

/// Fewer patients than requests, so some patients have several requests.
fn pool_size(count: usize) -> usize {
    (count * 3 / 5).clamp(1, 50_000)
}

fn pick<'a, T>(rng: &mut Rng, items: &'a [T]) -> &'a T {
    &items[rng.usize(..items.len())]
}

fn pick_str(rng: &mut Rng, items: &[&'static str]) -> &'static str {
    items[rng.usize(..items.len())]
}

fn one_request(
    rng: &mut Rng,
    pool: &[PoolPatient],
    serials: &mut Serials,
    now: DateTime<Utc>,
    catalogue: &Catalogue,
) -> Result<DemoRequest, Vec<FieldError>> {
    let uuid = uuid::Builder::from_random_bytes(rng.u128(..).to_le_bytes()).into_uuid();
    let unidentified = rng.u32(0..100) < 2;
    let priority = if unidentified {
        Priority::Emergency
    } else {
        match rng.u32(0..100) {
            0..20 => Priority::Emergency,
            20..80 => Priority::Urgent,
            _ => Priority::Routine,
        }
    };
    let mut draft = RequestDraft {
        uuid,
        priority: Some(priority),
        ..RequestDraft::default()
    };

    let (ward, consultants) = if unidentified {
        draft.unidentified = true;
        draft.sex = if rng.bool() { Sex::Female } else { Sex::Male };
        serials.emergency += 1;
        draft.emergency_number = format!("AE-{}-{:04}", now.year(), serials.emergency % 10_000);
        *pick(rng, EMERGENCY_WARDS)
    } else {
        let p = pick(rng, pool);
        draft.surname = p.surname.to_owned();
        draft.forename = p.forename.to_owned();
        draft.dob = p.dob.format("%d/%m/%Y").to_string();
        draft.sex = p.sex;
        draft.nhs_number = p.nhs_number.map(|n| n.to_string()).unwrap_or_default();
        draft.mrn = p.mrn.clone().unwrap_or_default();
        match *pick(rng, WARDS) {
            ("Maternity", _) if p.sex != Sex::Female => AMU,
            ward => ward,
        }
    };
    draft.ward = ward.to_owned();
    draft.consultant = pick_str(rng, consultants).to_owned();
    draft.requester = pick_str(rng, REQUESTERS).to_owned();
    draft.requester_contact = if rng.u32(0..4) > 0 {
        format!("Bleep {}", rng.u32(1000..10_000))
    } else {
        format!("Ext {}", rng.u32(2000..8000))
    };
    draft.tests = pick_tests(rng, catalogue);
    draft.collected_by = pick_str(rng, COLLECTORS).to_owned();
    draft.clinical_details = if rng.u32(0..100) < 85 {
        pick_str(rng, CLINICAL_DETAILS).to_owned()
    } else {
        String::new()
    };
    draft.notes = if rng.u32(0..100) < 15 {
        pick_str(rng, NOTES).to_owned()
    } else {
        String::new()
    };

    // The story, then the times: collection early enough that every step fits before `now`.
    let outcome = outcome(rng);
    let created_after = rng.i64(2..=15);
    let steps = steps(rng, outcome, serials);
    let needed: i64 = created_after + steps.iter().map(|(_, m)| m).sum::<i64>();
    let before_now = rng.i64(needed + 1..=window_minutes(outcome).max(needed + 1));
    let collected = now - Duration::minutes(before_now);
    // The form holds minutes only: drop the seconds, which moves it earlier, never later.
    let collected = collected
        - Duration::seconds(i64::from(collected.second()))
        - Duration::nanoseconds(i64::from(collected.nanosecond()));
    draft.collected_date = collected.format("%d/%m/%Y").to_string();
    draft.collected_time = collected.format("%H:%M").to_string();

    // Each time is a whole number of minutes after collection plus under a minute of jitter.
    // Creation is at least two minutes after collection and each step at least five after the
    // one before, so times increase; the last is before `now` because collection was over a
    // minute earlier than strictly needed.
    let mut minutes = created_after;
    let at = |after: i64, rng: &mut Rng| {
        collected + Duration::minutes(after) + Duration::seconds(rng.i64(0..60))
    };
    let created_at = at(minutes, rng);
    let transitions = steps
        .into_iter()
        .map(|(transition, gap)| {
            minutes += gap;
            let t = at(minutes, rng);
            let transition = match transition {
                Transition::Reentered { accession } => Transition::Reentered {
                    accession: format!("L{:02}.{accession}", t.year() % 100),
                },
                other => other,
            };
            (transition, t)
        })
        .collect();

    let user = if rng.u32(0..10) < 7 {
        draft.collected_by.clone()
    } else {
        draft.requester.clone()
    };
    let request = draft.validate(now, &Utc, catalogue)?;
    Ok(DemoRequest {
        request,
        user,
        created_at,
        transitions,
    })
}

/// One to four tests, most often the common ones, or now and then a whole panel.
fn pick_tests(rng: &mut Rng, catalogue: &Catalogue) -> Vec<String> {
    if !catalogue.panels.is_empty() && rng.u32(0..100) < 30 {
        let panel = pick(rng, &catalogue.panels);
        let mut codes: Vec<String> = Vec::new();
        for code in &panel.tests {
            if !codes.contains(code) {
                codes.push(code.clone());
            }
        }
        return codes;
    }
    if catalogue.tests.is_empty() {
        return Vec::new();
    }
    let common: Vec<&str> = COMMON_TESTS
        .iter()
        .copied()
        .filter(|c| catalogue.test(c).is_some())
        .collect();
    let wanted = rng.usize(1..=4).min(catalogue.tests.len());
    let mut codes: Vec<String> = Vec::new();
    // Bounded, in case a tiny catalogue makes distinct picks slow to find.
    for _ in 0..100 {
        if codes.len() == wanted {
            break;
        }
        let code = if !common.is_empty() && rng.u32(0..100) < 65 {
            pick_str(rng, &common).to_owned()
        } else {
            pick(rng, &catalogue.tests).code.clone()
        };
        if !codes.contains(&code) {
            codes.push(code);
        }
    }
    codes
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use std::collections::HashSet;

    pub(super) fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, 4, 10, 30, 17).unwrap()
    }

    pub(super) fn cat() -> Catalogue {
        Catalogue::default_uk().unwrap()
    }

    pub(super) fn share(n: usize, of: usize) -> f64 {
        n as f64 / of as f64
    }

    #[test]
    fn every_demo_ward_has_its_own_code() {
        let wards = wards().unwrap();
        assert_eq!(wards.len(), ward_names().len());
        crate::domain::ward::check_list(&wards).unwrap();
        assert!(wards.iter().all(
            |w| w.code() != crate::domain::ward::derived_code(w.name()) || w.name() == w.code()
        ));
    }

    #[test]
    fn the_count_asked_for_is_the_count_given() {
        let c = cat();
        for count in [0, 1, 2, 7, 100, 1000] {
            assert_eq!(
                synthetic_requests(count, 42, now(), &c).unwrap().len(),
                count
            );
        }
    }

    /// Every draft passes validation (none is dropped), whatever the seed and the moment: around
    /// midnight, on a leap day, at New Year.
    #[test]
    fn no_draft_ever_fails_validation() {
        let c = cat();
        let moments = [
            now(),
            Utc.with_ymd_and_hms(2028, 2, 29, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(2027, 1, 1, 0, 1, 59).unwrap(),
            Utc.with_ymd_and_hms(2025, 1, 3, 23, 59, 59).unwrap(),
        ];
        for (i, at) in moments.into_iter().enumerate() {
            for seed in 0..20 {
                let n = 300;
                match synthetic_requests(n, seed * 7 + i as u64, at, &c) {
                    Ok(reqs) => assert_eq!(reqs.len(), n),
                    Err(e) => panic!("seed {seed} at {at}: {e}"),
                }
            }
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_data_and_another_seed_does_not() {
        let c = cat();
        let a = synthetic_requests(200, 9, now(), &c).unwrap();
        assert_eq!(a, synthetic_requests(200, 9, now(), &c).unwrap());
        assert_ne!(a, synthetic_requests(200, 10, now(), &c).unwrap());
    }

    #[test]
    fn uuids_are_unique() {
        let reqs = synthetic_requests(2000, 3, now(), &cat()).unwrap();
        let uuids: HashSet<_> = reqs.iter().map(|r| r.request.uuid).collect();
        assert_eq!(uuids.len(), reqs.len());
    }

    #[test]
    fn the_priority_mix_is_roughly_as_planned() {
        let reqs = synthetic_requests(2000, 12, now(), &cat()).unwrap();
        for (priority, expected) in [
            (Priority::Emergency, 0.20),
            (Priority::Urgent, 0.60),
            (Priority::Routine, 0.20),
        ] {
            let got = share(
                reqs.iter()
                    .filter(|r| r.request.priority == priority)
                    .count(),
                reqs.len(),
            );
            assert!((got - expected).abs() < 0.04, "{priority}: {got}");
        }
    }

    #[test]
    fn tests_come_from_the_catalogue_one_to_four_or_a_panel() {
        let c = cat();
        let panel_sizes: HashSet<usize> = c.panels.iter().map(|p| p.tests.len()).collect();
        let reqs = synthetic_requests(1000, 15, now(), &c).unwrap();
        let mut panels = 0;
        for r in &reqs {
            let n = r.request.tests.len();
            assert!((1..=4).contains(&n) || panel_sizes.contains(&n), "{n}");
            let codes = r.request.test_codes();
            if c.panels.iter().any(|p| p.tests == codes) {
                panels += 1;
            }
        }
        assert!(panels > 150, "{panels}");
    }

    #[test]
    fn a_small_catalogue_is_enough() {
        let mut c = cat();
        c.panels.clear();
        c.tests.retain(|t| t.code == "FBC");
        let reqs = synthetic_requests(50, 16, now(), &c).unwrap();
        assert_eq!(reqs.len(), 50);
        assert!(reqs.iter().all(|r| r.request.test_codes() == ["FBC"]));
    }

    #[test]
    fn an_empty_catalogue_is_refused() {
        let mut c = cat();
        c.panels.clear();
        c.tests.clear();
        assert_eq!(
            synthetic_requests(10, 17, now(), &c),
            Err(DemoError::NoTests)
        );
    }

    #[test]
    fn maternity_patients_are_women() {
        for r in synthetic_requests(2000, 18, now(), &cat()).unwrap() {
            if r.request.ward == "Maternity" {
                assert_eq!(r.request.patient.sex, Sex::Female);
            }
        }
    }
}
