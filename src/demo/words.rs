//! The names, wards, clinicians and phrases synthetic requests are drawn from. Names mix
//! apostrophes, hyphens and accents, so demo data exercises what real names do.

use crate::domain::ward::{Ward as SetUpWard, WardError};

pub(super) const SURNAMES: &[&str] = &[
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

pub(super) const FEMALE_FORENAMES: &[&str] = &[
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

pub(super) const MALE_FORENAMES: &[&str] = &[
    "Oliver", "George", "Harry", "Jack", "Noah", "Muhammad", "Mohammed", "Arjun", "Rohan", "Hamza",
    "Tariq", "Chidi", "Kwame", "Tomasz", "Piotr", "Seán", "Ciarán", "Dafydd", "Rhys", "Hamish",
    "Callum", "James", "John", "David", "Peter", "Robert", "Jean-Luc", "José", "Wei", "Raj",
];

/// A ward and its consultants.
pub(super) type Ward = (&'static str, &'static [&'static str]);

pub(super) const AMU: Ward = ("AMU", &["Dr R Hughes", "Dr F Rahman"]);

pub(super) const WARDS: &[Ward] = &[
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

/// Short codes for the demo wards, as a LIMS might code them (PV1-3.1).
const WARD_CODES: &[(&str, &str)] = &[
    ("Ward 7 Acute Medicine", "W7AM"),
    ("AMU", "AMU"),
    ("ED Majors", "EDMAJ"),
    ("ED Resus", "EDRES"),
    ("ITU", "ITU"),
    ("Ward 12 Surgery", "W12SUR"),
    ("Ward 3 Orthopaedics", "W3ORTH"),
    ("Ward 9 Care of the Elderly", "W9COE"),
    ("CCU", "CCU"),
    ("Maternity", "MAT"),
];

/// The demo wards with their codes, for setting up a training workstation; a ward without an
/// entry in the code table gets the derived code.
pub fn wards() -> Result<Vec<SetUpWard>, WardError> {
    WARDS
        .iter()
        .map(
            |(name, _)| match WARD_CODES.iter().find(|(n, _)| n == name) {
                Some((_, code)) => SetUpWard::new(code, name),
                None => SetUpWard::named(name),
            },
        )
        .collect()
}

pub(super) const EMERGENCY_WARDS: &[Ward] = &[
    ("ED Resus", &["Dr C Murphy", "Dr L Nowak"]),
    ("ED Majors", &["Dr C Murphy", "Dr L Nowak"]),
];

pub(super) const REQUESTERS: &[&str] = &[
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

pub(super) const COLLECTORS: &[&str] = &[
    "HCA J Brown",
    "RN P Osei",
    "Phlebotomist K Lee",
    "RN M Santos",
    "HCA D Singh",
    "RN A Kowalska",
    "Midwife S Evans",
    "Phlebotomist Z Ali",
];

pub(super) const CLINICAL_DETAILS: &[&str] = &[
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

pub(super) const NOTES: &[&str] = &[
    "Difficult bleed: small sample",
    "Patient on warfarin",
    "Please phone results to the bleep",
    "Second sample for group (two-sample rule)",
    "Taken from cannula",
];

/// Tests asked for most often in downtime, picked more often when the catalogue has them.
pub(super) const COMMON_TESTS: &[&str] = &[
    "FBC", "UE", "CRP", "LFT", "COAG", "GS", "TROP", "GLU", "LAC",
];

pub(super) const CANCEL_REASONS: &[&str] = &[
    "Duplicate request",
    "Patient discharged",
    "Requested in error",
    "No longer clinically indicated",
    "Sample not taken: patient declined",
];

pub(super) const REJECT_REASONS: &[&str] = &[
    "Haemolysed",
    "Unlabelled sample",
    "Insufficient sample",
    "Clotted sample",
    "Sample and form details do not match",
    "Sample too old on receipt",
];
