//! The synthetic patients of one run. Each person is a function of their number, so the same
//! NHS number or MRN is the same person in every run and from every seed.

use std::collections::HashSet;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use fastrand::Rng;

use super::pick_str;
use super::words::{FEMALE_FORENAMES, MALE_FORENAMES, SURNAMES};
use crate::domain::nhs_number::NhsNumber;
use crate::domain::request::Sex;

/// Earliest and latest dates of birth.
pub(super) const DOB_FIRST: NaiveDate = match NaiveDate::from_ymd_opt(1930, 1, 1) {
    Some(d) => d,
    None => panic!("1930-01-01 is a date"),
};
pub(super) const DOB_LAST: NaiveDate = match NaiveDate::from_ymd_opt(2024, 12, 31) {
    Some(d) => d,
    None => panic!("2024-12-31 is a date"),
};

/// A patient who may come back for more tests.
#[derive(Debug, Clone)]
pub(super) struct PoolPatient {
    pub(super) surname: &'static str,
    pub(super) forename: &'static str,
    pub(super) dob: NaiveDate,
    pub(super) sex: Sex,
    pub(super) nhs_number: Option<NhsNumber>,
    pub(super) mrn: Option<String>,
}

/// The pool of patients for one run. Each synthetic person is a function of their number (see
/// [`person`]), so the same NHS number or MRN is the same person in every run and from every
/// seed: demo data added twice, or the crash test's many one-request runs into one database,
/// never puts two different people under one number (which the store would refuse).
pub(super) fn patient_pool(rng: &mut Rng, size: usize, now: DateTime<Utc>) -> Vec<PoolPatient> {
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
pub(super) const MRN_ONLY_KEY: u64 = 1 << 40;

/// Hospital numbers of people who also have an NHS number: `K1000000` + the NHS serial, a range
/// [`unique_mrn`] never draws from.
pub(super) fn mrn_of_nhs_serial(serial: u32) -> String {
    format!("K{:07}", 1_000_000 + serial % 1_000_000)
}

/// The synthetic person with this key: name, date of birth and sex drawn from a generator seeded
/// by the key alone.
pub(super) fn person(key: u64, nhs_number: Option<NhsNumber>, mrn: Option<String>) -> PoolPatient {
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
pub(super) fn unique_test_nhs_number(rng: &mut Rng, used: &mut HashSet<u32>) -> (u32, NhsNumber) {
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
pub(super) fn unique_mrn(rng: &mut Rng, used: &mut HashSet<u32>) -> u32 {
    loop {
        let n = rng.u32(2_000_000..10_000_000);
        if used.insert(n) {
            return n;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::synthetic_requests;
    use crate::demo::tests::{cat, now, share};
    use std::collections::HashMap;

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
}
