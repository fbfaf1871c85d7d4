//! The export's conformance checks: what a strict receiver would refuse in a written export, or
//! in the requests before one is written (the pre-flight report).

use std::fmt;

/// One problem a strict receiver would refuse, found in an export or in its requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The request concerned (grouped as on its form), when the problem belongs to one.
    pub downtime_id: Option<String>,
    /// Where in the export: an HL7 field such as `PID-5.2`, or a JSON path into the FHIR Bundle
    /// such as `/entry/3/resource/name`.
    pub location: String,
    /// What is wrong, in words a user can act on.
    pub problem: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(id) = &self.downtime_id {
            write!(f, "request {id}: ")?;
        }
        write!(f, "{}: {}", self.location, self.problem)
    }
}

mod fit;
mod hl7_rules;

pub use self::fit::Truncation;
pub(crate) use self::fit::fit_hl7;

use self::hl7_rules::{Rule, T0103, T0104, Ty, Version, component_limits, rules};
use crate::domain::downtime_id::DowntimeId;

/// One segment of a parsed message: its name and fields, `fields[n]` being field `n` as written
/// (escaped); `fields[0]` is the name. MSH's MSH-1 is the field separator, as the standard counts.
struct Parsed<'a> {
    name: &'a str,
    fields: Vec<&'a str>,
}

impl<'a> Parsed<'a> {
    fn new(text: &'a str) -> Self {
        let mut fields: Vec<&str> = text.split('|').collect();
        let name = fields.first().copied().unwrap_or_default();
        if name == "MSH" {
            fields.insert(1, "|");
        }
        Self { name, fields }
    }

    fn field(&self, n: usize) -> &'a str {
        self.fields.get(n).copied().unwrap_or_default()
    }
}

/// The `n`-th (1-based) of `text` split at `sep`, or `""`.
fn nth(text: &str, sep: char, n: usize) -> &str {
    text.split(sep).nth(n - 1).unwrap_or_default()
}

/// Checks written HL7 v2 bytes (one or more messages, MLLP-framed or not) as a strict receiver
/// would: segment order for the message type, every field's maximum length, datatype and table
/// values for the message's version (MSH-12), and component lengths (see `hl7_rules`).
/// Lengths are counted in characters as the receiver decodes them (an escape sequence counts as
/// what it stands for). An empty list means no finding.
pub fn check_hl7(bytes: &[u8]) -> Vec<Finding> {
    let mut findings = Vec::new();
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            findings.push(Finding {
                downtime_id: None,
                location: "file".into(),
                problem: format!("is not UTF-8 ({e})"),
            });
            return findings;
        }
    };
    let mut messages: Vec<Vec<Parsed<'_>>> = Vec::new();
    for segment in text.split(['\r', '\u{0b}', '\u{1c}']) {
        if segment.is_empty() {
            continue;
        }
        let parsed = Parsed::new(segment);
        match messages.last_mut() {
            Some(m) if parsed.name != "MSH" => m.push(parsed),
            _ => messages.push(vec![parsed]),
        }
    }
    for m in &messages {
        check_message(m, &mut findings);
    }
    findings
}

/// The downtime ID a message is about: ORC-4's EI.1, or ORC-2's without its test position.
fn message_downtime_id(m: &[Parsed<'_>]) -> Option<String> {
    let orc = m.iter().find(|s| s.name == "ORC")?;
    let group = nth(orc.field(4), '^', 1);
    let placer = nth(orc.field(2), '^', 1);
    let placer = placer.rsplit_once('-').map_or(placer, |(id, _)| id);
    [group, placer]
        .into_iter()
        .find_map(|t| DowntimeId::parse(t).ok())
        .map(|id| id.grouped())
}

fn check_message(m: &[Parsed<'_>], findings: &mut Vec<Finding>) {
    let downtime_id = message_downtime_id(m);
    let mut found = |location: String, problem: String| {
        findings.push(Finding {
            downtime_id: downtime_id.clone(),
            location,
            problem,
        });
    };
    let Some(msh) = m.first().filter(|s| s.name == "MSH") else {
        found("MSH".into(), "the message does not start with MSH".into());
        return;
    };
    if msh.field(2) != "^~\\&" {
        found("MSH-2".into(), "encoding characters are not ^~\\&".into());
    }
    let version_text = nth(msh.field(12), '^', 1);
    let version = match version_text {
        "2.4" => Version::V2_4,
        "2.5.1" => Version::V2_5_1,
        other => {
            let problem = if T0104.contains(&other) {
                format!("version '{other}' is not one this check knows (2.4 or 2.5.1)")
            } else {
                format!("'{other}' is not in table 0104 (version ID)")
            };
            found("MSH-12".into(), problem);
            return;
        }
    };
    let names: Vec<&str> = m.iter().map(|s| s.name).collect();
    if let Err(problem) = check_structure(msh.field(9), version, &names) {
        found("message".into(), problem);
    }
    let mut seen: Vec<(&str, usize)> = Vec::new();
    for s in m {
        let index = match seen.iter_mut().find(|(n, _)| *n == s.name) {
            Some((_, i)) => {
                *i += 1;
                *i
            }
            None => {
                seen.push((s.name, 1));
                1
            }
        };
        let Some(rules) = rules(version, s.name) else {
            found(
                s.name.into(),
                format!(
                    "segment {} is not part of this message in v{version_text}",
                    s.name
                ),
            );
            continue;
        };
        let first = if s.name == "MSH" { 3 } else { 1 };
        for (n, value) in s.fields.iter().enumerate().skip(first) {
            if value.is_empty() {
                continue;
            }
            let at = |sub: &str| {
                let seg = if index > 1 {
                    format!("{}({index})", s.name)
                } else {
                    s.name.to_owned()
                };
                format!("{seg}-{n}{sub}")
            };
            let Some(rule) = rules.iter().find(|r| r.field == n) else {
                found(
                    at(""),
                    "holds a value in a field this message does not use".into(),
                );
                continue;
            };
            for problem in check_field(version, rule, value) {
                found(at(&problem.0), problem.1);
            }
        }
    }
}

/// Checks the segment order against the message type's structure.
fn check_structure(msh9: &str, version: Version, names: &[&str]) -> Result<(), String> {
    let (kind, order): (&str, &[&str]) = match (nth(msh9, '^', 1), nth(msh9, '^', 2), version) {
        ("OML", "O21", Version::V2_5_1) => ("OML^O21", &["ORC", "TQ1", "OBR", "NTE", "SPM"]),
        ("ORM", "O01", Version::V2_4) => ("ORM^O01", &["ORC", "OBR", "NTE"]),
        _ => {
            return Err(format!(
                "message type '{msh9}' is not OML^O21 (v2.5.1) or ORM^O01 (v2.4)"
            ));
        }
    };
    let mut rest = &names[1..];
    if rest.first() != Some(&"PID") {
        return Err(format!("{kind}: PID must follow MSH"));
    }
    rest = &rest[1..];
    if rest.first() == Some(&"PV1") {
        rest = &rest[1..];
    }
    if rest.is_empty() {
        return Err(format!("{kind}: no order (ORC, OBR)"));
    }
    // Each ORDER group: ORC, then the group's other segments in order, OBR required, NTE
    // repeating straight after OBR.
    let mut groups = 0;
    while let Some((&first, tail)) = rest.split_first() {
        if first != "ORC" {
            return Err(format!("{kind}: {first} where an ORC must start an order"));
        }
        groups += 1;
        rest = tail;
        let mut pos = 1;
        let mut has_obr = false;
        while let Some(&name) = rest.first() {
            let Some(p) = order.iter().position(|o| *o == name).filter(|p| *p > 0) else {
                break;
            };
            let repeat = name == "NTE" && pos == p + 1;
            if p < pos && !repeat {
                break;
            }
            has_obr |= name == "OBR";
            pos = p + 1;
            rest = &rest[1..];
        }
        if !has_obr {
            return Err(format!("{kind}: order {groups} has no OBR"));
        }
    }
    Ok(())
}

/// Problems with one field: (where below the field, e.g. `.2`; what).
fn check_field(v: Version, rule: &Rule, value: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let len = decoded_len(value);
    if len > rule.max {
        out.push((
            String::new(),
            format!("{len} characters, over the maximum of {}", rule.max),
        ));
    }
    if rule.ty != Ty::Ft && value.contains("\\.br\\") {
        out.push((
            String::new(),
            "a formatting escape (\\.br\\) in a plain-text field".into(),
        ));
    }
    for (r, rep) in value.split('~').enumerate() {
        let at = |c: usize| {
            if r > 0 {
                format!("({}).{c}", r + 1)
            } else if c > 0 {
                format!(".{c}")
            } else {
                String::new()
            }
        };
        for &(c, max) in component_limits(v, rule.ty) {
            let n = decoded_len(nth(rep, '^', c));
            if n > max {
                out.push((
                    at(c),
                    format!("{n} characters, over the component maximum of {max}"),
                ));
            }
        }
        let comp = |c: usize| nth(rep, '^', c);
        let mut bad = |c: usize, problem: &str| out.push((at(c), problem.to_owned()));
        match rule.ty {
            Ty::Plain | Ty::Ft | Ty::Msg => {}
            Ty::Num => {
                if !rep.chars().all(|c| c.is_ascii_digit()) {
                    bad(0, "is not a number");
                }
            }
            Ty::Coded(table) => {
                if !table.contains(&rep) {
                    bad(0, &format!("'{rep}' is not in the field's HL7 table"));
                }
            }
            Ty::Ts => {
                if !is_ts(comp(1)) {
                    bad(1, "is not a timestamp (YYYYMMDD[HHMM[SS]][+ZZZZ])");
                }
            }
            Ty::Dr => {
                if !is_ts(nth(comp(1), '&', 1)) {
                    bad(1, "is not a timestamp (YYYYMMDD[HHMM[SS]][+ZZZZ])");
                }
            }
            Ty::Cx => {
                if comp(1).is_empty() {
                    bad(1, "an identifier without its ID");
                }
                if comp(4).is_empty() || comp(5).is_empty() {
                    bad(
                        4,
                        "an identifier without assigning authority and type (CX.4, CX.5)",
                    );
                }
            }
            Ty::Xpn => {
                if comp(1).is_empty() {
                    bad(1, "a name without a family name");
                }
                if v == Version::V2_5_1 && decoded_len(nth(comp(1), '&', 1)) > 50 {
                    bad(1, "family name over 50 characters");
                }
            }
            Ty::Xcn => {
                if comp(1).is_empty() && comp(2).is_empty() {
                    bad(1, "a person with neither ID nor name");
                }
            }
            Ty::Ei => {
                if comp(1).is_empty() {
                    bad(1, "an entity identifier without its ID");
                }
            }
            Ty::Eip => {
                if nth(comp(1), '&', 1).is_empty() {
                    bad(1, "a placer identifier without its ID");
                }
            }
            Ty::Ce => {
                if comp(1).is_empty() && comp(2).is_empty() {
                    bad(1, "a coded element with neither code nor text");
                }
            }
            Ty::Xtn => {
                let number = comp(1);
                if !number.is_empty()
                    && !number
                        .chars()
                        .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '+' | '-' | '(' | ')'))
                {
                    bad(
                        1,
                        "XTN.1 is not a telephone number (free text belongs in XTN.9)",
                    );
                }
            }
            Ty::Pl => {
                let code = comp(1);
                if code.is_empty() {
                    bad(1, "a location without a point-of-care code");
                } else if !code
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '/' | '.'))
                {
                    bad(
                        1,
                        "point of care is a name, not a code (letters, digits, - _ / .)",
                    );
                }
            }
            Ty::Hd => {}
            Ty::Tq => {
                if !comp(4).is_empty() && !is_ts(comp(4)) {
                    bad(4, "start is not a timestamp");
                }
            }
            Ty::Sps => {
                let source = comp(1);
                if nth(source, '&', 1).is_empty() || nth(source, '&', 3).is_empty() {
                    bad(1, "specimen source is not coded (code&text&system)");
                }
            }
            Ty::Pt => {
                if !T0103.contains(&comp(1)) {
                    bad(1, "is not in table 0103 (processing ID)");
                }
            }
            Ty::Vid => {}
        }
    }
    out
}

/// The length of `text` as the receiver stores it: each escape sequence counts as the characters
/// it stands for (`\F\` one, `\XC3A9\` one, `\.br\` one), separators count as written.
fn decoded_len(text: &str) -> usize {
    let mut n = 0;
    let mut rest = text;
    while let Some(start) = rest.find('\\') {
        n += rest[..start].chars().count();
        let after = &rest[start + 1..];
        let Some(end) = after.find('\\') else {
            return n + rest[start..].chars().count();
        };
        let seq = &after[..end];
        n += match seq.strip_prefix('X') {
            Some(hex) => {
                let bytes: Vec<u8> = (0..hex.len() / 2)
                    .filter_map(|i| u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok())
                    .collect();
                String::from_utf8_lossy(&bytes).chars().count()
            }
            None => 1,
        };
        rest = &after[end + 1..];
    }
    n + rest.chars().count()
}

/// Whether `t` is an HL7 TS/DTM: `YYYY[MM[DD[HH[MM[SS[.S…]]]]]]` then an optional `±ZZZZ`.
fn is_ts(t: &str) -> bool {
    let (main, zone) = match t.find(['+', '-']) {
        Some(i) => (&t[..i], Some(&t[i + 1..])),
        None => (t, None),
    };
    let (digits, fraction) = match main.split_once('.') {
        Some((d, f)) => (d, Some(f)),
        None => (main, None),
    };
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    all_digits(digits)
        && matches!(digits.len(), 4 | 6 | 8 | 10 | 12 | 14)
        && fraction.is_none_or(|f| digits.len() == 14 && all_digits(f) && f.len() <= 4)
        && zone.is_none_or(|z| z.len() == 4 && all_digits(z))
}
