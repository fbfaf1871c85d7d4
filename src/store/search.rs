//! The queue's search box: what a typed query matches, as SQL terms that each seek an index.
//!
//! A query matches a request when any of these holds (case, spaces and dashes are ignored in the
//! identifier forms):
//! - a whole valid downtime ID: that request only (nothing else is searched);
//! - the NHS number (10 digits, spaced or not);
//! - the MRN or the A&E / major-incident number, exactly;
//! - the surname or the forename, as a prefix, in any case;
//! - a prefix of the 13-character downtime ID (`RXX`, `rxx-w07-0000`, `RXXW07000023`);
//! - a downtime ID typed without its site: a workstation code, then up to six leading digits of
//!   the sequence and, after all six, the check character (`W07`, `W07-0000`, `w07 000023 k`);
//! - one to six digits alone: the **trailing** digits of the sequence number (`000023` finds
//!   only `…-000023-…`; `23` also finds `…-000123-…` and `…-001023-…`).
//!
//! Digits found anywhere in the sequence would need a scan of every request: the one fragment
//! that can be found through an index is its end (what people read off a label after the zeros),
//! through the sequence digits stored backwards (`requests.sequence_tail`). Every term here is an
//! index range, so a search never reads the whole table.

use rusqlite::types::Value;

use crate::domain::downtime_id::{Code3, DowntimeId, SEQUENCE_DIGITS};
use crate::domain::nhs_number::NhsNumber;

/// The OR-ed terms for query `q` (trimmed, not empty) and their parameters, in order.
pub(super) fn terms(q: &str) -> (Vec<String>, Vec<Value>) {
    let mut any: Vec<String> = Vec::new();
    let mut params: Vec<Value> = Vec::new();
    if let Ok(id) = DowntimeId::parse(q) {
        any.push("downtime_id = ?".into());
        params.push(Value::Text(id.canonical()));
        return (any, params);
    }
    if let Ok(n) = NhsNumber::parse(q) {
        any.push("nhs_number = ?".into());
        params.push(Value::Text(n.digits()));
    }
    let compact: String = q
        .chars()
        .filter(|c| !matches!(c, ' ' | '-'))
        .collect::<String>()
        .to_ascii_uppercase();
    if !compact.is_empty() && compact.chars().all(|c| c.is_ascii_alphanumeric()) {
        any.push("(downtime_id >= ? AND downtime_id < ?)".into());
        params.push(Value::Text(compact.clone()));
        params.push(Value::Text(format!("{compact}\u{7f}")));
        any.push("mrn = ?".into());
        params.push(Value::Text(compact.clone()));
        any.push("emergency_number = ?".into());
        params.push(Value::Text(q.to_uppercase()));
        if let Some(tail) = sequence_tail(&compact) {
            any.push("(sequence_tail >= ? AND sequence_tail < ?)".into());
            params.push(Value::Text(tail.clone()));
            params.push(Value::Text(format!("{tail}\u{7f}")));
        } else if let Some(w) = WithoutSite::parse(&compact) {
            let check = if w.check.is_some() {
                " AND substr(downtime_id, 13, 1) = ?"
            } else {
                ""
            };
            any.push(format!(
                "(workstation = ? AND sequence >= ? AND sequence < ?{check})"
            ));
            params.push(Value::Text(w.workstation.as_str().to_owned()));
            params.push(Value::Integer(i64::from(w.from)));
            params.push(Value::Integer(i64::from(w.until)));
            params.extend(w.check.map(|c| Value::Text(c.to_string())));
        }
    }
    for column in ["surname_key", "forename_key"] {
        // The same folding as the stored keys (`rows::insert_request`).
        let key = q.to_lowercase();
        any.push(format!("({column} >= ? AND {column} < ?)"));
        params.push(Value::Text(key.clone()));
        params.push(Value::Text(format!("{key}\u{10FFFF}")));
    }
    (any, params)
}

/// One to six digits, reversed: the prefix of `sequence_tail` that sequences ending in them
/// share.
fn sequence_tail(compact: &str) -> Option<String> {
    let digits = (1..=SEQUENCE_DIGITS).contains(&compact.len())
        && compact.bytes().all(|b| b.is_ascii_digit());
    digits.then(|| compact.chars().rev().collect())
}

/// A downtime ID typed without its site: the workstation, the sequence numbers whose six digits
/// start with the digits typed (`from..until`), and the check character if it was typed too.
#[derive(Debug, PartialEq)]
struct WithoutSite {
    workstation: Code3,
    from: u32,
    until: u32,
    check: Option<char>,
}

impl WithoutSite {
    fn parse(compact: &str) -> Option<Self> {
        let (ws, rest) = compact.split_at_checked(3)?;
        let workstation = Code3::workstation(ws).ok()?;
        let digits_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (digits, after) = rest.split_at(digits_len.min(SEQUENCE_DIGITS));
        let check = match after.len() {
            0 => None,
            // A check character only after the whole sequence.
            1 if digits.len() == SEQUENCE_DIGITS => after.chars().next(),
            _ => return None,
        };
        let scale = 10u32.pow((SEQUENCE_DIGITS - digits.len()) as u32);
        let typed: u32 = if digits.is_empty() {
            0
        } else {
            digits.parse().ok()?
        };
        Some(Self {
            workstation,
            from: typed * scale,
            until: (typed + 1) * scale,
            check,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn without_site(q: &str) -> Option<(String, u32, u32, Option<char>)> {
        WithoutSite::parse(q).map(|w| (w.workstation.to_string(), w.from, w.until, w.check))
    }

    #[test]
    fn a_workstation_and_leading_sequence_digits_become_a_sequence_range() {
        assert_eq!(without_site("W070000"), Some(("W07".into(), 0, 100, None)));
        assert_eq!(
            without_site("W07"),
            Some(("W07".into(), 0, 1_000_000, None))
        );
        assert_eq!(
            without_site("W07000023"),
            Some(("W07".into(), 23, 24, None))
        );
        assert_eq!(
            without_site("W07000023K"),
            Some(("W07".into(), 23, 24, Some('K')))
        );
        assert_eq!(without_site("W070023K"), None, "check before six digits");
        assert_eq!(without_site("W07000023KK"), None);
        assert_eq!(without_site("W0"), None);
    }

    #[test]
    fn one_to_six_digits_are_the_sequence_read_backwards() {
        assert_eq!(sequence_tail("000023").as_deref(), Some("320000"));
        assert_eq!(sequence_tail("23").as_deref(), Some("32"));
        assert_eq!(sequence_tail("1234567"), None);
        assert_eq!(sequence_tail("W07"), None);
        assert_eq!(sequence_tail(""), None);
    }

    #[test]
    fn a_whole_downtime_id_is_looked_up_alone() {
        let id = DowntimeId::new(
            Code3::site("RXX").unwrap(),
            Code3::workstation("W07").unwrap(),
            1,
        )
        .unwrap();
        let (any, params) = terms(&id.grouped().to_lowercase());
        assert_eq!(any, ["downtime_id = ?"]);
        assert_eq!(params, [Value::Text(id.canonical())]);
        let (any, _) = terms("alice");
        assert!(any.iter().any(|t| t.contains("forename_key")), "{any:?}");
        assert!(any.iter().any(|t| t.contains("surname_key")), "{any:?}");
    }
}
