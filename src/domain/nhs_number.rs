//! The NHS number: ten digits with a modulus 11 check digit (NHS Data Dictionary).

use std::fmt;

/// A valid NHS number.
///
/// Invariant: exactly ten ASCII digits, the tenth is the modulus 11 check digit of the first nine,
/// and the digits are not all the same (0000000000 and 9999999999 pass the arithmetic but are not
/// real numbers). Holding an `NhsNumber` means all of this has been checked.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NhsNumber([u8; 10]);

/// Why a typed NHS number was refused; each message tells the user what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NhsNumberError {
    #[error("NHS number is empty")]
    Empty,
    /// Spaces and dashes are accepted between digits (`943 476 5919`, `943-476-5919`): the check
    /// digit still guards every digit, and numbers are copied from letters that use either.
    #[error("NHS number may contain only digits, spaces and dashes; found '{0}'")]
    InvalidCharacter(char),
    #[error("NHS number must have 10 digits; this has {0}")]
    WrongLength(usize),
    #[error("NHS number {0} has all digits the same and is not a real number")]
    AllSameDigit(String),
    #[error(
        "NHS number {0} can never be valid (its check digit would be 10): read it again from the wristband"
    )]
    ImpossibleCheckDigit(String),
    #[error("NHS number {0} fails its check digit: read it again from the wristband")]
    WrongCheckDigit(String),
}

impl NhsNumber {
    /// Parses an NHS number typed with or without spaces or dashes (`943 476 5919`,
    /// `943-476-5919` or `9434765919`).
    pub fn parse(input: &str) -> Result<Self, NhsNumberError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(NhsNumberError::Empty);
        }
        let mut digits = Vec::with_capacity(10);
        for c in trimmed.chars() {
            match c {
                '0'..='9' => digits.push(c as u8 - b'0'),
                ' ' | '-' => {}
                other => return Err(NhsNumberError::InvalidCharacter(other)),
            }
        }
        let Ok(digits) = <[u8; 10]>::try_from(digits.as_slice()) else {
            return Err(NhsNumberError::WrongLength(digits.len()));
        };
        let spaced = format_spaced(&digits);
        if digits.iter().all(|&d| d == digits[0]) {
            return Err(NhsNumberError::AllSameDigit(spaced));
        }
        match check_digit(&digits) {
            None => Err(NhsNumberError::ImpossibleCheckDigit(spaced)),
            Some(check) if check != digits[9] => Err(NhsNumberError::WrongCheckDigit(spaced)),
            Some(_) => Ok(Self(digits)),
        }
    }

    /// The ten digits with no spaces, as exported to HL7 and FHIR.
    pub fn digits(&self) -> String {
        self.0.iter().map(|d| char::from(b'0' + d)).collect()
    }

    /// Whether the number lies in the 999 000 0000 – 999 999 9999 range kept for test data.
    pub fn is_test_range(&self) -> bool {
        self.0[..3] == [9, 9, 9]
    }

    /// Builds a valid test-range number (999 nnn nnnc) from a serial below 1,000,000. Returns
    /// `None` for serials whose check digit would be 10 (about one in eleven).
    pub fn test_number(serial: u32) -> Option<Self> {
        let mut digits = [9, 9, 9, 0, 0, 0, 0, 0, 0, 0];
        let mut rest = serial % 1_000_000;
        for slot in digits[3..9].iter_mut().rev() {
            *slot = (rest % 10) as u8;
            rest /= 10;
        }
        let check = check_digit(&digits)?;
        digits[9] = check;
        Self::parse(&format_spaced(&digits)).ok()
    }
}

/// The modulus 11 check digit of the first nine digits, or `None` when it would be 10.
fn check_digit(digits: &[u8; 10]) -> Option<u8> {
    let sum: u32 = digits[..9]
        .iter()
        .zip((2..=10).rev())
        .map(|(&d, w)| u32::from(d) * w)
        .sum();
    match 11 - (sum % 11) {
        11 => Some(0),
        10 => None,
        check => Some(check as u8),
    }
}

fn format_spaced(d: &[u8; 10]) -> String {
    let s: String = d.iter().map(|x| char::from(b'0' + x)).collect();
    format!("{} {} {}", &s[0..3], &s[3..6], &s[6..10])
}

impl fmt::Display for NhsNumber {
    /// Shown as 3-3-4, the way it is printed on wristbands and letters.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_spaced(&self.0))
    }
}

impl fmt::Debug for NhsNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NhsNumber({})", self.digits())
    }
}

impl serde::Serialize for NhsNumber {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.digits())
    }
}

impl<'de> serde::Deserialize<'de> for NhsNumber {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn check(input: &str, expected: Result<&str, NhsNumberError>) {
        assert_eq!(
            NhsNumber::parse(input).map(|n| n.digits()),
            expected.map(str::to_owned),
            "input {input:?}"
        );
    }

    #[test]
    fn accepts_the_domain_examples() {
        for n in ["9434765919", "9000000009", "9912003888", "9990000018"] {
            check(n, Ok(n));
        }
    }

    #[test]
    fn accepts_spaces_and_shows_three_three_four() {
        check("943 476 5919", Ok("9434765919"));
        check(" 943-476-5919 ", Ok("9434765919"));
        let n = NhsNumber::parse("9434765919").unwrap();
        assert_eq!(n.to_string(), "943 476 5919");
    }

    #[test]
    fn rejects_nhs_number_with_wrong_check_digit() {
        check(
            "9434765918",
            Err(NhsNumberError::WrongCheckDigit("943 476 5918".into())),
        );
        let msg = NhsNumber::parse("943 476 5918").unwrap_err().to_string();
        assert_eq!(
            msg,
            "NHS number 943 476 5918 fails its check digit: read it again from the wristband"
        );
    }

    #[test]
    fn rejects_number_whose_check_would_be_ten() {
        check(
            "1234567890",
            Err(NhsNumberError::ImpossibleCheckDigit("123 456 7890".into())),
        );
    }

    #[test]
    fn rejects_all_same_digit_numbers() {
        for d in '0'..='9' {
            let n: String = std::iter::repeat_n(d, 10).collect();
            assert!(matches!(
                NhsNumber::parse(&n),
                Err(NhsNumberError::AllSameDigit(_))
            ));
        }
    }

    #[test]
    fn rejects_wrong_length_and_letters() {
        check("", Err(NhsNumberError::Empty));
        check("   ", Err(NhsNumberError::Empty));
        check("943476591", Err(NhsNumberError::WrongLength(9)));
        check("94347659190", Err(NhsNumberError::WrongLength(11)));
        check("94347A5919", Err(NhsNumberError::InvalidCharacter('A')));
        check("９434765919", Err(NhsNumberError::InvalidCharacter('９')));
    }

    #[test]
    fn accepts_dashes_and_says_so_when_refusing_other_characters() {
        assert_eq!(
            NhsNumber::parse("999-139-1878").unwrap(),
            NhsNumber::parse("999 139 1878").unwrap()
        );
        let e = NhsNumber::parse("999_139_1878").unwrap_err();
        assert_eq!(e, NhsNumberError::InvalidCharacter('_'));
        assert_eq!(
            e.to_string(),
            "NHS number may contain only digits, spaces and dashes; found '_'"
        );
    }

    #[test]
    fn test_numbers_are_valid_and_in_test_range() {
        let mut made = 0;
        for serial in 0..5000 {
            if let Some(n) = NhsNumber::test_number(serial) {
                assert!(n.is_test_range());
                assert_eq!(NhsNumber::parse(&n.digits()), Ok(n));
                made += 1;
            }
        }
        // About one serial in eleven has the impossible check digit 10.
        assert!(made > 4400, "{made}");
    }

    proptest! {
        #[test]
        fn parse_agrees_with_the_arithmetic(digits in proptest::collection::vec(0u8..10, 10)) {
            let s: String = digits.iter().map(|d| char::from(b'0' + d)).collect();
            let sum: u32 = digits[..9].iter().enumerate().map(|(i, &d)| u32::from(d) * (10 - i as u32)).sum();
            let check = (11 - sum % 11) % 11;
            let same = digits.iter().all(|&d| d == digits[0]);
            let valid = check != 10 && check == u32::from(digits[9]) && !same;
            prop_assert_eq!(NhsNumber::parse(&s).is_ok(), valid);
        }

        #[test]
        fn any_single_digit_change_of_a_valid_number_is_caught(serial in 0u32..1_000_000, pos in 0usize..10, delta in 1u8..10) {
            if let Some(n) = NhsNumber::test_number(serial) {
                let mut d: Vec<u8> = n.digits().bytes().map(|b| b - b'0').collect();
                d[pos] = (d[pos] + delta) % 10;
                let s: String = d.iter().map(|x| char::from(b'0' + x)).collect();
                prop_assert!(NhsNumber::parse(&s).is_err());
            }
        }

        #[test]
        fn display_round_trips(serial in 0u32..1_000_000) {
            if let Some(n) = NhsNumber::test_number(serial) {
                prop_assert_eq!(NhsNumber::parse(&n.to_string()), Ok(n));
            }
        }
    }
}
