//! Synthetic training data: plausible downtime requests for practice and demonstrations.
//!
//! Pure: the clock (`now`) and the randomness (`seed`) are parameters, so the same seed always
//! gives the same requests. Every NHS number is from the 999 test range, and every request is
//! built through [`RequestDraft::validate`], so demo data passes the same checks as typed data.

use std::collections::HashSet;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Timelike, Utc};
use fastrand::Rng;

use crate::domain::catalogue::Catalogue;
use crate::domain::nhs_number::NhsNumber;
use crate::domain::request::{FieldError, NewRequest, Priority, RequestDraft, Sex};
use crate::domain::status::{Status, Transition};

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

/// How far back collection times reach, in minutes (72 hours).
const WINDOW_MINUTES: i64 = 72 * 60;

/// Earliest and latest dates of birth.
const DOB_FIRST: NaiveDate = match NaiveDate::from_ymd_opt(1930, 1, 1) {
    Some(d) => d,
    None => panic!("1930-01-01 is a date"),
};
const DOB_LAST: NaiveDate = match NaiveDate::from_ymd_opt(2024, 12, 31) {
    Some(d) => d,
    None => panic!("2024-12-31 is a date"),
};

const SURNAMES: &[&str] = &[
    "Smith",
    "Jones",
    "Williams",
    "Taylor",
    "Brown",
    "Davies",
    "Evans",
    "Wilson",
    "Thomas",
    "Johnson",
    "Roberts",
    "Robinson",
    "Thompson",
    "Wright",
    "Walker",
    "White",
    "Edwards",
    "Hughes",
    "Green",
    "Hall",
    "Lewis",
    "Harris",
    "Clarke",
    "Jenkins",
    "Llewellyn",
    "Price",
    "Campbell",
    "Stewart",
    "MacLeod",
    "McDonald",
    "O'Brien",
    "O'Connor",
    "Murphy",
    "Ní Bhriain",
    "Smith-Jones",
    "Hamilton-Clarke",
    "Patel",
    "Shah",
    "Singh",
    "Kaur",
    "Khan",
    "Ahmed",
    "Ali",
    "Hussain",
    "Begum",
    "Rahman",
    "Chowdhury",
    "Okafor",
    "Adeyemi",
    "Mensah",
    "Osei",
    "Nwosu",
    "Kowalski",
    "Nowak",
    "Wiśniewski",
    "Popescu",
    "Chen",
    "Wong",
    "Nguyen",
    "Da Silva",
    "Fernández",
    "Müller",
    "Yılmaz",
];

const FEMALE_FORENAMES: &[&str] = &[
    "Olivia",
    "Amelia",
    "Isla",
    "Ava",
    "Mia",
    "Sophie",
    "Grace",
    "Emily",
    "Zoë",
    "Siân",
    "Chloé",
    "Aoife",
    "Niamh",
    "Mairead",
    "Priya",
    "Aisha",
    "Fatima",
    "Amara",
    "Chiamaka",
    "Mei",
    "Agnieszka",
    "Ewa",
    "Margaret",
    "Jean",
    "Dorothy",
    "Patricia",
    "Susan",
    "Mary-Jane",
    "Leila",
    "Rhiannon",
];

const MALE_FORENAMES: &[&str] = &[
    "Oliver", "George", "Harry", "Jack", "Noah", "Muhammad", "Mohammed", "Arjun", "Rohan", "Hamza",
    "Tariq", "Chidi", "Kwame", "Tomasz", "Piotr", "Seán", "Ciarán", "Dafydd", "Rhys", "Hamish",
    "Callum", "James", "John", "David", "Peter", "Robert", "Jean-Luc", "José", "Wei", "Raj",
];

/// A ward and its consultants.
type Ward = (&'static str, &'static [&'static str]);

const AMU: Ward = ("AMU", &["Dr R Hughes", "Dr F Rahman"]);

const WARDS: &[Ward] = &[
    ("Ward 7 Acute Medicine", &["Dr A Okonkwo", "Dr S Patel"]),
    AMU,
    ("ED Majors", &["Dr C Murphy", "Dr L Nowak"]),
    ("ED Resus", &["Dr C Murphy", "Dr L Nowak"]),
    ("ITU", &["Dr M Chen", "Dr H Al-Sayed"]),
    ("Ward 12 Surgery", &["Mr D Evans", "Ms K Adeyemi"]),
    ("Ward 3 Orthopaedics", &["Mr P Kowalski", "Miss J Campbell"]),
    (
        "Ward 9 Care of the Elderly",
        &["Dr G Williams", "Dr B Singh"],
    ),
    ("CCU", &["Dr N Iyer"]),
    ("Maternity", &["Miss E O'Neill", "Mr T Mensah"]),
];

/// The wards demo requests come from, for setting up a training workstation.
pub fn ward_names() -> Vec<String> {
    WARDS.iter().map(|(name, _)| (*name).to_owned()).collect()
}

const EMERGENCY_WARDS: &[Ward] = &[
    ("ED Resus", &["Dr C Murphy", "Dr L Nowak"]),
    ("ED Majors", &["Dr C Murphy", "Dr L Nowak"]),
];

const REQUESTERS: &[&str] = &[
    "Dr T Nguyen (FY1)",
    "Dr A Roberts (FY2)",
    "Dr S Kaur (CT1)",
    "Dr B O'Connor (SpR)",
    "Dr E Davies (ST3)",
    "Dr Y Ahmed (FY1)",
    "Dr J Müller (CT2)",
    "ANP J Walker",
    "ACP R Thomas",
];

const COLLECTORS: &[&str] = &[
    "HCA J Brown",
    "RN P Osei",
    "Phlebotomist K Lee",
    "RN M Santos",
    "HCA D Singh",
    "RN A Kowalska",
    "Midwife S Evans",
    "Phlebotomist Z Ali",
];

const CLINICAL_DETAILS: &[&str] = &[
    "Chest pain ?ACS",
    "Sepsis ?source",
    "Upper GI bleed",
    "AKI on CKD",
    "Pre-op assessment",
    "Fall, on anticoagulants",
    "Paracetamol overdose, 4 h post ingestion",
    "Shortness of breath ?PE",
    "DKA",
    "Abdominal pain ?pancreatitis",
    "Confusion ?infection",
    "Hyperkalaemia on last bloods: repeat",
];

const NOTES: &[&str] = &[
    "Difficult bleed: small sample",
    "Patient on warfarin",
    "Please phone results to the bleep",
    "Second sample for group (two-sample rule)",
    "Taken from cannula",
];

/// Tests asked for most often in downtime, picked more often when the catalogue has them.
const COMMON_TESTS: &[&str] = &[
    "FBC", "UE", "CRP", "LFT", "COAG", "GS", "TROP", "GLU", "LAC",
];

const CANCEL_REASONS: &[&str] = &[
    "Duplicate request",
    "Patient discharged",
    "Requested in error",
    "No longer clinically indicated",
    "Sample not taken: patient declined",
];

const REJECT_REASONS: &[&str] = &[
    "Haemolysed",
    "Unlabelled sample",
    "Insufficient sample",
    "Clotted sample",
    "Sample and form details do not match",
    "Sample too old on receipt",
];

/// A patient who may come back for more tests.
#[derive(Debug, Clone)]
struct PoolPatient {
    surname: &'static str,
    forename: &'static str,
    dob: NaiveDate,
    sex: Sex,
    nhs_number: Option<NhsNumber>,
    mrn: Option<String>,
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

/// The pool of patients for one run. Each synthetic person is a function of their number (see
/// [`person`]), so the same NHS number or MRN is the same person in every run and from every
/// seed: demo data added twice, or the crash test's many one-request runs into one database,
/// never puts two different people under one number (which the store would refuse).
fn patient_pool(rng: &mut Rng, size: usize, now: DateTime<Utc>) -> Vec<PoolPatient> {
    // Born at least four days before `now`, so every collection in the window is after birth.
    let latest = DOB_LAST.min(now.date_naive() - Duration::days(4));
    let mut nhs_used = HashSet::new();
    let mut mrn_used = HashSet::new();
    (0..size)
        .map(|_| {
            // 70% have both numbers, 18% only the NHS number, 12% only the hospital number.
            let kind = rng.u32(0..100);
            let mut draw = || {
                if kind < 88 {
                    let (serial, nhs) = unique_test_nhs_number(rng, &mut nhs_used);
                    let mrn = (kind < 70).then(|| mrn_of_nhs_serial(serial));
                    person(u64::from(serial), Some(nhs), mrn)
                } else {
                    let n = unique_mrn(rng, &mut mrn_used);
                    person(MRN_ONLY_KEY | u64::from(n), None, Some(format!("K{n:07}")))
                }
            };
            // A person born too late for this `now` is left out rather than made younger, which
            // would give their number a second date of birth. Bounded, so a `now` before every
            // possible birth ends (in a validation error) instead of looping.
            let mut p = draw();
            for _ in 0..1000 {
                if p.dob <= latest {
                    break;
                }
                p = draw();
            }
            p
        })
        .collect()
}

/// Marks an MRN-only person's key, so it never equals an NHS serial's.
const MRN_ONLY_KEY: u64 = 1 << 40;

/// Hospital numbers of people who also have an NHS number: `K1000000` + the NHS serial, a range
/// [`unique_mrn`] never draws from.
fn mrn_of_nhs_serial(serial: u32) -> String {
    format!("K{:07}", 1_000_000 + serial % 1_000_000)
}

/// The synthetic person with this key: name, date of birth and sex drawn from a generator seeded
/// by the key alone.
fn person(key: u64, nhs_number: Option<NhsNumber>, mrn: Option<String>) -> PoolPatient {
    let mut rng = Rng::with_seed(key ^ 0x5709_9A9D_0000_0000);
    let span = (DOB_LAST - DOB_FIRST).num_days();
    // Hospital patients are mostly adults: four in five are born by 2000.
    let adult_span = (NaiveDate::from_ymd_opt(2000, 12, 31).unwrap_or(DOB_LAST) - DOB_FIRST)
        .num_days()
        .clamp(0, span);
    let sex = match rng.u32(0..100) {
        0..49 => Sex::Female,
        49..98 => Sex::Male,
        98 => Sex::Other,
        _ => Sex::Unknown,
    };
    let forename = match sex {
        Sex::Female => pick_str(&mut rng, FEMALE_FORENAMES),
        Sex::Male => pick_str(&mut rng, MALE_FORENAMES),
        Sex::Other | Sex::Unknown => {
            if rng.bool() {
                pick_str(&mut rng, FEMALE_FORENAMES)
            } else {
                pick_str(&mut rng, MALE_FORENAMES)
            }
        }
    };
    let days = if rng.u32(0..5) < 4 {
        rng.i64(0..=adult_span)
    } else {
        rng.i64(0..=span)
    };
    PoolPatient {
        surname: pick_str(&mut rng, SURNAMES),
        forename,
        dob: DOB_FIRST + Duration::days(days),
        sex,
        nhs_number,
        mrn,
    }
}

/// A test-range NHS number not given to anyone else in this run, with its serial. The pool is at
/// most 50,000 of about 909,000 valid test numbers, so this ends quickly.
fn unique_test_nhs_number(rng: &mut Rng, used: &mut HashSet<u32>) -> (u32, NhsNumber) {
    loop {
        let serial = rng.u32(0..1_000_000);
        if let Some(n) = NhsNumber::test_number(serial)
            && used.insert(serial)
        {
            return (serial, n);
        }
    }
}

/// A hospital number like `K2345678` for someone without an NHS number, unique in this run;
/// from `K2000000` up, clear of [`mrn_of_nhs_serial`]'s range.
fn unique_mrn(rng: &mut Rng, used: &mut HashSet<u32>) -> u32 {
    loop {
        let n = rng.u32(2_000_000..10_000_000);
        if used.insert(n) {
            return n;
        }
    }
}

/// Where a request's story ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Logged,
    Sent,
    Received,
    Reentered,
    Cancelled,
    Rejected,
}

fn outcome(rng: &mut Rng) -> Outcome {
    match rng.u32(0..100) {
        0..25 => Outcome::Logged,
        25..45 => Outcome::Sent,
        45..70 => Outcome::Received,
        70..85 => Outcome::Reentered,
        85..95 => Outcome::Cancelled,
        _ => Outcome::Rejected,
    }
}

/// The status changes leading to `outcome`, each with the minutes since the step before. Details
/// (accession numbers, reasons) are filled in here; times are placed by the caller.
fn steps(rng: &mut Rng, outcome: Outcome, serials: &mut Serials) -> Vec<(Transition, i64)> {
    let sent = |rng: &mut Rng| (Transition::Sent, rng.i64(5..=45));
    let received = |rng: &mut Rng| (Transition::Received, rng.i64(10..=90));
    let mut steps = Vec::new();
    match outcome {
        Outcome::Logged => {}
        Outcome::Sent => steps.push(sent(rng)),
        Outcome::Received => {
            steps.push(sent(rng));
            steps.push(received(rng));
        }
        Outcome::Reentered => {
            // Now and then the ward forgot to mark the sample as sent; the lab received it anyway.
            if rng.u32(0..10) > 0 {
                steps.push(sent(rng));
            }
            steps.push(received(rng));
            serials.accession += rng.u32(1..40);
            // The year is filled in by the caller once the time is known.
            steps.push((
                Transition::Reentered {
                    accession: format!("{:07}", serials.accession % 10_000_000),
                },
                rng.i64(30..=720),
            ));
        }
        Outcome::Cancelled => {
            if rng.bool() {
                steps.push(sent(rng));
            }
            steps.push((
                Transition::Cancelled {
                    reason: pick_str(rng, CANCEL_REASONS).to_owned(),
                },
                rng.i64(5..=360),
            ));
        }
        Outcome::Rejected => {
            if rng.u32(0..5) > 0 {
                steps.push(sent(rng));
            }
            steps.push(received(rng));
            steps.push((
                Transition::Rejected {
                    reason: pick_str(rng, REJECT_REASONS).to_owned(),
                },
                rng.i64(5..=60),
            ));
        }
    }
    steps
}

/// The earliest a request with this outcome was collected, in minutes before `now`: requests
/// still waiting are recent; the rest spread over the whole window. One minute is kept back
/// because dropping the seconds moves a collection time up to a minute earlier.
fn window_minutes(outcome: Outcome) -> i64 {
    match outcome {
        Outcome::Logged => 12 * 60,
        Outcome::Sent => 24 * 60,
        Outcome::Received | Outcome::Reentered | Outcome::Cancelled | Outcome::Rejected => {
            WINDOW_MINUTES - 1
        }
    }
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
    use crate::domain::downtime_id::{Code3, DowntimeId};
    use crate::domain::event::{Actor, Event, EventKind, RequestState};
    use chrono::TimeZone;
    use std::collections::HashMap;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, 4, 10, 30, 17).unwrap()
    }

    fn cat() -> Catalogue {
        Catalogue::default_uk().unwrap()
    }

    fn share(n: usize, of: usize) -> f64 {
        n as f64 / of as f64
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
    fn every_nhs_number_is_in_the_test_range() {
        let reqs = synthetic_requests(2000, 1, now(), &cat()).unwrap();
        let with_nhs = reqs
            .iter()
            .filter_map(|r| r.request.patient.nhs_number)
            .inspect(|n| assert!(n.is_test_range(), "{n}"))
            .count();
        assert!(with_nhs > 1500, "{with_nhs}");
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
    fn transitions_are_legal_and_times_increase_up_to_now() {
        let n = now();
        for r in synthetic_requests(2000, 5, n, &cat()).unwrap() {
            let collected = r.request.collected_at;
            assert!(collected >= n - Duration::hours(72), "{collected}");
            assert!(collected < r.created_at, "{collected} {}", r.created_at);
            assert!(r.created_at < collected + Duration::minutes(16));
            let mut status = Status::Logged;
            let mut last = r.created_at;
            for (t, at) in &r.transitions {
                t.check(status).unwrap();
                status = t.target();
                assert!(*at > last, "{at} after {last}");
                last = *at;
            }
            assert!(last <= n, "{last} is after {n}");
            assert_eq!(status, r.status());
        }
    }

    #[test]
    fn histories_fold_into_the_expected_state() {
        let ws = Code3::workstation("W07").unwrap();
        for r in synthetic_requests(300, 6, now(), &cat()).unwrap() {
            let actor = Actor {
                workstation: ws.clone(),
                user: r.user.clone(),
            };
            let event = |n: u128, at, kind| Event {
                id: uuid::Uuid::from_u128(n),
                request_uuid: r.request.uuid,
                actor: actor.clone(),
                at,
                kind,
            };
            let id = DowntimeId::new(Code3::site("RXX").unwrap(), ws.clone(), 1);
            let mut events = vec![event(
                0,
                r.created_at,
                EventKind::Created {
                    downtime_id: id.unwrap(),
                    request: Box::new(r.request.clone()),
                },
            )];
            for (k, (t, at)) in r.transitions.iter().enumerate() {
                events.push(event(
                    k as u128 + 1,
                    *at,
                    EventKind::StatusChanged {
                        transition: t.clone(),
                    },
                ));
            }
            let state = RequestState::fold(&events).unwrap();
            assert_eq!(state.status, r.status());
            if state.status == Status::Reentered {
                let acc = state.accession.unwrap();
                assert!(acc.starts_with("L26.") && acc.len() == 11, "{acc}");
            }
            if matches!(state.status, Status::Cancelled | Status::Rejected) {
                assert!(!state.reason.unwrap().is_empty());
            }
        }
    }

    #[test]
    fn the_status_mix_is_roughly_as_planned() {
        let reqs = synthetic_requests(2000, 11, now(), &cat()).unwrap();
        let mut counts: HashMap<Status, usize> = HashMap::new();
        for r in &reqs {
            *counts.entry(r.status()).or_default() += 1;
        }
        for (status, expected) in [
            (Status::Logged, 0.25),
            (Status::Sent, 0.20),
            (Status::Received, 0.25),
            (Status::Reentered, 0.15),
            (Status::Cancelled, 0.10),
            (Status::Rejected, 0.05),
        ] {
            let got = share(counts.get(&status).copied().unwrap_or(0), reqs.len());
            assert!((got - expected).abs() < 0.04, "{status}: {got}");
        }
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
    fn patients_recur_and_identities_vary() {
        let reqs = synthetic_requests(2000, 13, now(), &cat()).unwrap();
        let mut per_patient: HashMap<String, usize> = HashMap::new();
        let mut mrn_only = 0;
        let mut unidentified = 0;
        for r in &reqs {
            let p = &r.request.patient;
            if p.is_unidentified() {
                unidentified += 1;
                assert!(p.nhs_number.is_none() && p.mrn.is_none());
                assert!(["Male", "Female"].contains(&p.forename.as_str()));
                continue;
            }
            if p.nhs_number.is_none() {
                mrn_only += 1;
                let mrn = p.mrn.as_deref().unwrap();
                assert!(mrn.len() == 8 && mrn.starts_with('K'), "{mrn}");
            }
            let key = format!("{:?}{:?}", p.nhs_number, p.mrn);
            *per_patient.entry(key).or_default() += 1;
        }
        assert!(per_patient.values().any(|&n| n > 1), "no patient recurs");
        assert!(per_patient.len() < reqs.len());
        assert!(mrn_only > 100, "{mrn_only}");
        let u = share(unidentified, reqs.len());
        assert!((0.005..0.04).contains(&u), "{u}");
    }

    /// Runs from different seeds share numbers often (thousands of patients among ~909,000
    /// test numbers); each shared number must be the same person, or the store would refuse the
    /// second run.
    #[test]
    fn a_number_is_the_same_person_in_every_run() {
        let c = cat();
        let mut by_number: HashMap<String, (String, String, Option<NaiveDate>, Sex)> =
            HashMap::new();
        let mut shared = 0;
        for seed in 0..40 {
            let mut this_run = HashSet::new();
            for r in synthetic_requests(300, seed, now(), &c).unwrap() {
                let p = &r.request.patient;
                if p.is_unidentified() {
                    continue;
                }
                let who = (p.surname.clone(), p.forename.clone(), p.dob, p.sex);
                let numbers = [p.nhs_number.map(|n| n.digits()), p.mrn.clone()];
                for number in numbers.into_iter().flatten() {
                    if !this_run.insert(number.clone()) {
                        continue;
                    }
                    match by_number.get(&number) {
                        Some(earlier) => {
                            shared += 1;
                            assert_eq!(*earlier, who, "{number}");
                        }
                        None => {
                            by_number.insert(number, who.clone());
                        }
                    }
                }
            }
        }
        assert!(shared > 5, "only {shared} numbers recurred across runs");
    }

    #[test]
    fn names_include_apostrophes_hyphens_and_accents() {
        let reqs = synthetic_requests(2000, 14, now(), &cat()).unwrap();
        let names: Vec<String> = reqs
            .iter()
            .map(|r| {
                format!(
                    "{} {}",
                    r.request.patient.forename, r.request.patient.surname
                )
            })
            .collect();
        assert!(names.iter().any(|n| n.contains('\'')));
        assert!(names.iter().any(|n| n.contains('-')));
        assert!(names.iter().any(|n| !n.is_ascii()));
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
