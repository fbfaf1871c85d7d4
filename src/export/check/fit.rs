//! Shortening an HL7 message's values to a strict receiver's limits, for a profile that says to
//! truncate rather than refuse (`[hl7] over_limit = "truncate"`). The same rules as the check
//! (`hl7_rules`), applied to the message as written: a value is cut where the receiver's count
//! (escape sequences counting as what they stand for) reaches the maximum, never inside an
//! escape sequence or a UTF-8 character, and every cut is reported.

use super::decoded_len;
use super::hl7_rules::{Ty, Version, component_limits, rules};

/// One value an export wrote shortened to the receiver's maximum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Truncation {
    /// The request, grouped as on its form.
    pub downtime_id: String,
    /// The HL7 field or component, e.g. `PID-5.2` or `ORC(2)-12.2`.
    pub location: String,
    /// Characters before, as the receiver counts them.
    pub length: usize,
    /// The maximum: characters written.
    pub limit: usize,
}

impl std::fmt::Display for Truncation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "request {}: {} shortened from {} to {} characters",
            self.downtime_id, self.location, self.length, self.limit
        )
    }
}

/// Where a value was cut: (location, length before, maximum).
pub(crate) type Cut = (String, usize, usize);

/// `message` (one message, segments ending in CR, without MLLP framing) with every component
/// and field over its maximum shortened to it, and each cut in message order. Components are
/// fitted first, then any field still over its own maximum is cut at its end.
pub(crate) fn fit_hl7(message: &str) -> (String, Vec<Cut>) {
    let mut cuts = Vec::new();
    let Some(version) = version_of(message) else {
        return (message.to_owned(), cuts);
    };
    let mut out = String::with_capacity(message.len());
    let mut seen: Vec<(&str, usize)> = Vec::new();
    for (s, segment) in message.split('\r').enumerate() {
        if s > 0 {
            out.push('\r');
        }
        let mut fields = segment.split('|');
        let name = fields.next().unwrap_or_default();
        out.push_str(name);
        let index = match seen.iter_mut().find(|(n, _)| *n == name) {
            Some((_, i)) => {
                *i += 1;
                *i
            }
            None => {
                seen.push((name, 1));
                1
            }
        };
        let segment_rules = rules(version, name);
        // MSH-1 is the separator itself, so MSH's pieces are numbered from 2; MSH-2 (the
        // encoding characters) is never cut.
        let (offset, first) = if name == "MSH" { (1, 3) } else { (0, 1) };
        for (k, value) in fields.enumerate() {
            out.push('|');
            let n = k + 1 + offset;
            let rule = segment_rules.and_then(|r| r.iter().find(|r| r.field == n));
            let Some(rule) = rule.filter(|_| n >= first && !value.is_empty()) else {
                out.push_str(value);
                continue;
            };
            let at = |sub: &str| {
                let seg = if index > 1 {
                    format!("{name}({index})")
                } else {
                    name.to_owned()
                };
                format!("{seg}-{n}{sub}")
            };
            let fitted = fit_field(version, rule.ty, value, |sub, len, max| {
                cuts.push((at(sub), len, max));
            });
            let len = decoded_len(&fitted);
            if len > rule.max {
                let cut = cut_to(&fitted, rule.max).trim_end_matches(['^', '~', '&']);
                cuts.push((at(""), len, rule.max));
                out.push_str(cut);
            } else {
                out.push_str(&fitted);
            }
        }
    }
    (out, cuts)
}

/// The message's version (MSH-12), when it is one the rules know.
fn version_of(message: &str) -> Option<Version> {
    let msh = message.split('\r').find(|s| s.starts_with("MSH|"))?;
    match msh.split('|').nth(11)?.split('^').next()? {
        "2.4" => Some(Version::V2_4),
        "2.5.1" => Some(Version::V2_5_1),
        _ => None,
    }
}

/// One field with each component over its maximum cut to it; `cut(sub, length, max)` is told
/// of each cut (`sub`: `.2`, or `(2).1` in a repetition).
fn fit_field(v: Version, ty: Ty, value: &str, mut cut: impl FnMut(&str, usize, usize)) -> String {
    let limits = component_limits(v, ty);
    if limits.is_empty() {
        return value.to_owned();
    }
    let mut out = String::with_capacity(value.len());
    for (r, rep) in value.split('~').enumerate() {
        if r > 0 {
            out.push('~');
        }
        for (i, component) in rep.split('^').enumerate() {
            if i > 0 {
                out.push('^');
            }
            let c = i + 1;
            let max = limits.iter().find(|(n, _)| *n == c).map(|(_, m)| *m);
            // v2.5.1 also limits XPN.1's family name (FN.1, which Stopgap writes alone) to 50.
            let max = match (v, ty, c) {
                (Version::V2_5_1, Ty::Xpn, 1) => max.map(|m| m.min(50)),
                _ => max,
            };
            let len = decoded_len(component);
            match max {
                Some(max) if len > max => {
                    let sub = if r > 0 {
                        format!("({}).{c}", r + 1)
                    } else {
                        format!(".{c}")
                    };
                    cut(&sub, len, max);
                    out.push_str(cut_to(component, max));
                }
                _ => out.push_str(component),
            }
        }
    }
    out
}

/// The longest start of `escaped` whose length as the receiver counts it is at most `max`: cut
/// between characters or escape sequences, never inside one.
fn cut_to(escaped: &str, max: usize) -> &str {
    let mut n = 0;
    let mut end = 0;
    let mut rest = escaped;
    while !rest.is_empty() {
        // One token: an escape sequence `\...\` or one character.
        let token = match rest.strip_prefix('\\').and_then(|after| after.find('\\')) {
            Some(close) => &rest[..close + 2],
            None => {
                let c = rest.chars().next().map_or(1, char::len_utf8);
                &rest[..c]
            }
        };
        let len = decoded_len(token);
        if n + len > max {
            break;
        }
        n += len;
        end += token.len();
        rest = &rest[token.len()..];
    }
    &escaped[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_cut_between_characters_and_escapes_as_the_receiver_counts_them() {
        assert_eq!(cut_to("abcdef", 4), "abcd");
        assert_eq!(cut_to("ab\\F\\cd", 3), "ab\\F\\");
        assert_eq!(cut_to("ab\\F\\cd", 2), "ab");
        assert_eq!(cut_to("Zoë Renée", 3), "Zoë");
        assert_eq!(cut_to("a\\XC3A9\\b", 2), "a\\XC3A9\\");
        assert_eq!(cut_to("short", 30), "short");
    }

    #[test]
    fn a_forename_over_xpn2_is_cut_to_30_and_reported() {
        let long = "A".repeat(35);
        let msg = format!(
            "MSH|^~\\&|STOPGAP|RXX|LIMS|RXX|20260604103000+0000||OML^O21^OML_O21|X-1|P|2.5.1\r\
             PID|1||9990000018^^^NHS^NH||Testpatient^{long}\r"
        );
        let (fitted, cuts) = fit_hl7(&msg);
        assert_eq!(cuts, vec![("PID-5.2".to_owned(), 35, 30)]);
        assert!(fitted.contains(&format!("Testpatient^{}\r", "A".repeat(30))));
        assert!(fitted.starts_with("MSH|^~\\&|STOPGAP|"));
    }
}
