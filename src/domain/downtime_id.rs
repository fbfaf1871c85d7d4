//! Downtime IDs: the short number a request carries on paper and that lab staff type into the
//! LIMS later as the placer order number.
//!
//! Layout (13 characters, uppercase letters and digits only):
//! `SSS WWW NNNNNN C` — site code (3), workstation code (3), per-workstation sequence (6 digits),
//! check character (1). Shown grouped as `SSS-WWW-NNNNNN-C`; parsing tolerates lowercase, spaces
//! and dashes.
//!
//! The check character is ISO/IEC 7064 MOD 37-2 over the twelve data characters. Because 37 is
//! prime and every weight is a non-zero power of 2, the check catches every single-character
//! substitution and every adjacent transposition (proved exhaustively in the tests below). MOD
//! 37-2 has 37 check values, the last of which is written `*`; so that an ID is only letters and
//! digits, sequence numbers whose check would be `*` are never issued (about one in 37). They are
//! skipped by rule, not lost: [`DowntimeId::is_issuable`] says which, and gap checks use it.

use std::fmt;

/// The 36 data characters of MOD 37-2, in value order; value 36 is the supplementary `*`.
const ALPHABET: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

pub const SITE_LEN: usize = 3;
pub const WORKSTATION_LEN: usize = 3;
pub const SEQUENCE_DIGITS: usize = 6;
/// The largest sequence number a workstation can issue.
pub const MAX_SEQUENCE: u32 = 999_999;
/// Length of the canonical form.
pub const ID_LEN: usize = SITE_LEN + WORKSTATION_LEN + SEQUENCE_DIGITS + 1;

/// A site or workstation code: exactly three uppercase letters or digits.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Code3([u8; 3]);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    #[error("{what} must be exactly 3 letters or digits (for example {example}); '{input}' is not")]
    Invalid {
        what: &'static str,
        example: &'static str,
        input: String,
    },
}

impl Code3 {
    /// Parses a site code (e.g. the trust's ODS code `RXX`); lowercase is accepted.
    pub fn site(input: &str) -> Result<Self, CodeError> {
        Self::parse(input, "Site code", "RXX")
    }

    /// Parses a workstation code (e.g. `W07`); lowercase is accepted.
    pub fn workstation(input: &str) -> Result<Self, CodeError> {
        Self::parse(input, "Workstation code", "W07")
    }

    fn parse(input: &str, what: &'static str, example: &'static str) -> Result<Self, CodeError> {
        let up = input.trim().to_ascii_uppercase();
        let bytes = up.as_bytes();
        match <[u8; 3]>::try_from(bytes) {
            Ok(b)
                if b.iter()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()) =>
            {
                Ok(Self(b))
            }
            _ => Err(CodeError::Invalid {
                what,
                example,
                input: input.to_owned(),
            }),
        }
    }

    pub fn as_str(&self) -> &str {
        // The invariant (ASCII letters and digits) makes this infallible.
        std::str::from_utf8(&self.0).unwrap_or("???")
    }
}

impl TryFrom<String> for Code3 {
    type Error = CodeError;
    fn try_from(s: String) -> Result<Self, CodeError> {
        Self::parse(&s, "Code", "RXX")
    }
}

impl From<Code3> for String {
    fn from(c: Code3) -> String {
        c.as_str().to_owned()
    }
}

impl fmt::Display for Code3 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Code3 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

/// A valid downtime ID.
///
/// Invariant: site and workstation are valid codes, `1 <= sequence <= MAX_SEQUENCE`, and the
/// sequence is issuable (its check character is a letter or digit).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DowntimeId {
    site: Code3,
    workstation: Code3,
    sequence: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DowntimeIdError {
    #[error("Downtime ID is empty")]
    Empty,
    #[error("Downtime ID may contain only letters, digits, spaces and dashes; found '{0}'")]
    InvalidCharacter(char),
    #[error(
        "Downtime ID must have {ID_LEN} letters and digits (like RXX-W07-000123-K); this has {0}"
    )]
    WrongLength(usize),
    #[error("Downtime ID {0}: characters 7 to 12 must be digits (the sequence number)")]
    SequenceNotDigits(String),
    #[error("Downtime ID {0}: sequence number 000000 is never issued")]
    ZeroSequence(String),
    #[error("Downtime ID {0} fails its check character: read it again from the form or label")]
    WrongCheck(String),
    #[error("sequence number {0} is out of range (1 to {MAX_SEQUENCE})")]
    SequenceOutOfRange(u32),
    #[error(
        "sequence number {0} is never issued (its check character would not be a letter or digit)"
    )]
    NotIssuable(u32),
}

impl DowntimeId {
    /// Builds the ID for a sequence number; refuses numbers outside the range or never issued.
    pub fn new(site: Code3, workstation: Code3, sequence: u32) -> Result<Self, DowntimeIdError> {
        if !(1..=MAX_SEQUENCE).contains(&sequence) {
            return Err(DowntimeIdError::SequenceOutOfRange(sequence));
        }
        let id = Self {
            site,
            workstation,
            sequence,
        };
        if mod37_2_check(&id.data()) == 36 {
            return Err(DowntimeIdError::NotIssuable(sequence));
        }
        Ok(id)
    }

    /// Whether `sequence` gets an ID on this site and workstation (false about one time in 37).
    pub fn is_issuable(site: &Code3, workstation: &Code3, sequence: u32) -> bool {
        Self::new(site.clone(), workstation.clone(), sequence).is_ok()
    }

    /// The next issuable sequence number after `sequence`, or `None` when the range is used up.
    pub fn next_issuable(site: &Code3, workstation: &Code3, sequence: u32) -> Option<u32> {
        (sequence.saturating_add(1)..=MAX_SEQUENCE)
            .find(|&s| Self::is_issuable(site, workstation, s))
    }

    /// Parses an ID typed by a person: lowercase, spaces and dashes are tolerated.
    pub fn parse(input: &str) -> Result<Self, DowntimeIdError> {
        let mut chars = Vec::with_capacity(ID_LEN);
        for c in input.chars() {
            match c {
                ' ' | '-' | '\t' => {}
                c if c.is_ascii_alphanumeric() => chars.push(c.to_ascii_uppercase() as u8),
                other => return Err(DowntimeIdError::InvalidCharacter(other)),
            }
        }
        if chars.is_empty() {
            return Err(DowntimeIdError::Empty);
        }
        if chars.len() != ID_LEN {
            return Err(DowntimeIdError::WrongLength(chars.len()));
        }
        let text = String::from_utf8_lossy(&chars).into_owned();
        let seq_part = &chars[6..12];
        if !seq_part.iter().all(u8::is_ascii_digit) {
            return Err(DowntimeIdError::SequenceNotDigits(text));
        }
        let data = &chars[..12];
        let check = mod37_2_check(data);
        if check == 36 || ALPHABET[check] != chars[12] {
            return Err(DowntimeIdError::WrongCheck(text));
        }
        let sequence = seq_part
            .iter()
            .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'));
        if sequence == 0 {
            return Err(DowntimeIdError::ZeroSequence(text));
        }
        let site = Code3([chars[0], chars[1], chars[2]]);
        let workstation = Code3([chars[3], chars[4], chars[5]]);
        Self::new(site, workstation, sequence)
    }

    pub fn site(&self) -> &Code3 {
        &self.site
    }

    pub fn workstation(&self) -> &Code3 {
        &self.workstation
    }

    pub fn sequence(&self) -> u32 {
        self.sequence
    }

    fn data(&self) -> Vec<u8> {
        let mut d = Vec::with_capacity(12);
        d.extend_from_slice(&self.site.0);
        d.extend_from_slice(&self.workstation.0);
        d.extend_from_slice(format!("{:06}", self.sequence).as_bytes());
        d
    }

    /// The canonical form: 13 characters, no separators (what the LIMS stores).
    pub fn canonical(&self) -> String {
        let mut d = self.data();
        d.push(ALPHABET[mod37_2_check(&d)]);
        String::from_utf8_lossy(&d).into_owned()
    }

    /// The grouped form shown on screen and paper: `RXX-W07-000123-K`.
    pub fn grouped(&self) -> String {
        let c = self.canonical();
        format!("{}-{}-{}-{}", &c[0..3], &c[3..6], &c[6..12], &c[12..13])
    }
}

/// ISO/IEC 7064 MOD 37-2 check value (0..=36) of `data`, whose bytes are all in `ALPHABET`.
///
/// Pure system: the check value c makes `sum(v_i * 2^(n-i+1)) + c ≡ 1 (mod 37)` in the
/// recursive form of the standard.
fn mod37_2_check(data: &[u8]) -> usize {
    let mut p: usize = 0;
    for &b in data {
        let v = ALPHABET.iter().position(|&a| a == b).unwrap_or(0);
        p = ((p + v) * 2) % 37;
    }
    (38 - p) % 37
}

impl fmt::Display for DowntimeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.grouped())
    }
}

impl fmt::Debug for DowntimeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DowntimeId({})", self.canonical())
    }
}

impl serde::Serialize for DowntimeId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.canonical())
    }
}

impl<'de> serde::Deserialize<'de> for DowntimeId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn id(site: &str, ws: &str, seq: u32) -> DowntimeId {
        DowntimeId::new(
            Code3::site(site).unwrap(),
            Code3::workstation(ws).unwrap(),
            seq,
        )
        .unwrap()
    }

    /// Every string of 12 data characters followed by its check is accepted by the checker.
    fn check_ok(s: &[u8]) -> bool {
        let c = mod37_2_check(&s[..12]);
        c != 36 && ALPHABET[c] == s[12]
    }

    #[test]
    fn matches_the_iso_7064_reference_value() {
        // ISO/IEC 7064 worked example for MOD 37-2: "G123489654321" has check character "Y".
        assert_eq!(ALPHABET[mod37_2_check(b"G123489654321")], b'Y');
    }

    #[test]
    fn formats_and_parses_back() {
        let d = id("RXX", "W07", 123);
        assert_eq!(d.canonical().len(), 13);
        assert!(d.canonical().len() <= 16);
        assert!(
            d.canonical()
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        );
        assert_eq!(DowntimeId::parse(&d.canonical()), Ok(d.clone()));
        assert_eq!(DowntimeId::parse(&d.grouped()), Ok(d.clone()));
        let messy = format!(" {} ", d.grouped().to_ascii_lowercase().replace('-', " - "));
        assert_eq!(DowntimeId::parse(&messy), Ok(d));
    }

    #[test]
    fn rejects_wrong_check_character_with_a_clear_message() {
        let d = id("RXX", "W07", 123).canonical();
        let mut bad = d.clone().into_bytes();
        bad[12] = if bad[12] == b'A' { b'B' } else { b'A' };
        let bad = String::from_utf8(bad).unwrap();
        let err = DowntimeId::parse(&bad).unwrap_err();
        assert_eq!(err, DowntimeIdError::WrongCheck(bad.clone()));
        assert!(err.to_string().contains("fails its check character"));
    }

    #[test]
    fn rejects_malformed_input() {
        assert_eq!(DowntimeId::parse("  "), Err(DowntimeIdError::Empty));
        assert_eq!(
            DowntimeId::parse("RXXW07"),
            Err(DowntimeIdError::WrongLength(6))
        );
        assert_eq!(
            DowntimeId::parse("RXX/W07"),
            Err(DowntimeIdError::InvalidCharacter('/'))
        );
        assert!(matches!(
            DowntimeId::parse("RXXW07ABCDEFG"),
            Err(DowntimeIdError::SequenceNotDigits(_))
        ));
        assert!(matches!(
            DowntimeId::new(Code3::site("RXX").unwrap(), Code3::site("W07").unwrap(), 0),
            Err(DowntimeIdError::SequenceOutOfRange(0))
        ));
    }

    #[test]
    fn codes_are_three_letters_or_digits() {
        assert_eq!(Code3::site("rxx").unwrap().as_str(), "RXX");
        assert!(Code3::site("RX").is_err());
        assert!(Code3::site("RXXX").is_err());
        assert!(Code3::workstation("W-7").is_err());
        assert!(Code3::workstation("WÉ7").is_err());
        let msg = Code3::workstation("w7").unwrap_err().to_string();
        assert!(msg.contains("Workstation code must be exactly 3"), "{msg}");
    }

    #[test]
    fn unissuable_sequences_are_skipped_by_rule() {
        let (s, w) = (
            Code3::site("RXX").unwrap(),
            Code3::workstation("W07").unwrap(),
        );
        let skipped: Vec<u32> = (1..=3700)
            .filter(|&n| !DowntimeId::is_issuable(&s, &w, n))
            .collect();
        // Check values are evenly spread, so about one sequence in 37 is never issued.
        assert!((90..=110).contains(&skipped.len()), "{}", skipped.len());
        for n in skipped {
            assert_eq!(
                DowntimeId::new(s.clone(), w.clone(), n),
                Err(DowntimeIdError::NotIssuable(n))
            );
            let next = DowntimeId::next_issuable(&s, &w, n).unwrap();
            assert!(next > n && DowntimeId::is_issuable(&s, &w, next));
        }
    }

    /// Exhaustive proof over the whole error space for a set of base IDs: every position, every
    /// replacement character. The check is linear, so whether a substitution is caught depends
    /// only on the position and the two characters, not on the rest of the ID: covering every
    /// (position, from, to) triple covers every ID.
    #[test]
    fn catches_every_single_character_substitution() {
        let bases = [
            id("RXX", "W07", 1),
            id("ZZ9", "A00", 999_999),
            id("R1K", "LAB", 424_242),
        ];
        let mut triples_checked = std::collections::HashSet::new();
        for base in bases {
            let good = base.canonical().into_bytes();
            assert!(check_ok(&good));
            for pos in 0..ID_LEN {
                for &to in ALPHABET {
                    if to == good[pos] {
                        continue;
                    }
                    let mut bad = good.clone();
                    bad[pos] = to;
                    assert!(
                        !check_ok(&bad),
                        "{} undetected",
                        String::from_utf8_lossy(&bad)
                    );
                    triples_checked.insert((pos, good[pos], to));
                }
            }
        }
        // And the general statement, for every position and every ordered pair of characters,
        // independent of any base: the change in the weighted sum is never 0 mod 37.
        for pos in 0..ID_LEN {
            let weight = if pos == 12 { 1 } else { pow2_mod37(12 - pos) };
            for a in 0..36usize {
                for b in 0..36usize {
                    if a != b {
                        let delta = (a + 37 - b) * weight % 37;
                        assert_ne!(delta, 0, "pos {pos} {a}->{b}");
                    }
                }
            }
        }
    }

    #[test]
    fn catches_every_adjacent_transposition() {
        let bases = [
            id("RXX", "W07", 1),
            id("ZZ9", "A00", 999_999),
            id("R1K", "LAB", 424_242),
        ];
        for base in bases {
            let good = base.canonical().into_bytes();
            for pos in 0..ID_LEN - 1 {
                if good[pos] == good[pos + 1] {
                    continue;
                }
                let mut bad = good.clone();
                bad.swap(pos, pos + 1);
                assert!(
                    !check_ok(&bad),
                    "{} undetected",
                    String::from_utf8_lossy(&bad)
                );
            }
        }
        // For every adjacent pair of positions and every pair of distinct values: swapping changes
        // the weighted sum by (a - b)(w_i - w_{i+1}), never 0 mod 37.
        for pos in 0..ID_LEN - 1 {
            let w = |p: usize| if p == 12 { 1 } else { pow2_mod37(12 - p) };
            let dw = (w(pos) + 37 - w(pos + 1)) % 37;
            for a in 0..37usize {
                for b in 0..37usize {
                    if a != b {
                        assert_ne!((a + 37 - b) * dw % 37, 0, "pos {pos} {a}<->{b}");
                    }
                }
            }
        }
    }

    fn pow2_mod37(k: usize) -> usize {
        (0..k).fold(1, |acc, _| acc * 2 % 37)
    }

    proptest! {
        #[test]
        fn every_issued_id_round_trips(seq in 1u32..=MAX_SEQUENCE, s in "[A-Z0-9]{3}", w in "[A-Z0-9]{3}") {
            let site = Code3::site(&s).unwrap();
            let ws = Code3::workstation(&w).unwrap();
            match DowntimeId::new(site, ws, seq) {
                Ok(d) => {
                    prop_assert_eq!(DowntimeId::parse(&d.canonical()), Ok(d.clone()));
                    prop_assert_eq!(DowntimeId::parse(&d.grouped()), Ok(d));
                }
                Err(e) => prop_assert_eq!(e, DowntimeIdError::NotIssuable(seq)),
            }
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,30}") {
            let _ = DowntimeId::parse(&s);
        }
    }
}
