//! The identifiers and short forms the HL7 messages carry, each kept inside the field maximum a
//! strict receiver enforces (DOMAIN.md section 7): placer numbers with their namespace (EI, 22),
//! message control IDs (MSH-10, 20), ward codes (PL.1, 20), OBR-13 (300, one line).

use super::encoding::escape_into;
use crate::domain::ward::{Ward, code_for};
use crate::export::profile::Hl7Settings;
use crate::export::push_digits;

/// ORC-2, ORC-3, ORC-4, OBR-2 and OBR-3 (EI with its namespace) in v2.4 and v2.5.1.
pub const EI_MAX: usize = 22;
/// MSH-10 in v2.4 and v2.5.1.
pub const CONTROL_ID_MAX: usize = 20;
/// PL.1 point of care.
pub const WARD_CODE_MAX: usize = 20;
/// OBR-13 relevant clinical information.
pub const OBR13_MAX: usize = 300;

/// Pushes `{canonical}-{index + 1:02}`, the placer order number of the `index`-th test.
pub(super) fn push_placer(out: &mut String, canonical: &str, index: usize) {
    out.push_str(canonical);
    out.push('-');
    match u32::try_from(index + 1) {
        Ok(n) if n < 100 => push_digits(out, n, 2),
        _ => out.push_str(&(index + 1).to_string()),
    }
}

/// The namespace to put in EI.2 after `id` (already escaped), or `""` when `id^namespace` would
/// not fit an EI field: the identifier itself is what reconciliation needs, the namespace is not.
pub(super) fn namespace_for<'a>(id: &str, namespace: &'a str) -> &'a str {
    if namespace.is_empty() || id.chars().count() + 1 + namespace.chars().count() > EI_MAX {
        ""
    } else {
        namespace
    }
}

/// Pushes MSH-10 of the `index`-th message (0-based) of batch `batch_id`: the batch ID without
/// its dashes (`RXX-W07-B000012` → `RXXW07B000012`, site and workstation included, so two PCs
/// never repeat one), a dash and the position to six digits: `RXXW07B000012-000001`, 20.
pub(super) fn push_control_id(out: &mut String, batch_id: &str, index: usize) {
    out.extend(batch_id.chars().filter(|c| *c != '-'));
    out.push('-');
    match u32::try_from(index + 1) {
        Ok(n) if n < 1_000_000 => push_digits(out, n, 6),
        _ => out.push_str(&(index + 1).to_string()),
    }
}

/// The workstation named by a batch ID `SITE-WS-B000012` (`SITE-WS`), for MSH-4.
pub(super) fn sending_workstation(batch_id: &str) -> Option<&str> {
    let (pc, batch) = batch_id.rsplit_once('-')?;
    (batch.starts_with('B') && pc.contains('-')).then_some(pc)
}

/// A code derived from a name (a ward's PL.1, a specimen without a SNOMED CT code): the one
/// rule the set-up also uses for a ward given without a code, so an export and the settings
/// screen never disagree (`Ward 7` → `WARD7`).
pub fn short_code(name: &str) -> String {
    crate::domain::ward::derived_code(name)
}

/// PV1-3.1 for a ward: the profile's code for it (the LIMS's own code wins), else the
/// workstation's code for it, else the code derived from its name (a ward since removed).
pub(super) fn ward_code(h: &Hl7Settings, wards: &[Ward], ward: &str) -> String {
    match h
        .wards
        .iter()
        .find(|w| w.name.trim().eq_ignore_ascii_case(ward.trim()))
    {
        Some(mapped) => mapped.code.clone(),
        None => code_for(wards, ward).map_or_else(|| short_code(ward), str::to_owned),
    }
}

/// Whether `text` is a telephone number (digits with spaces, `+`, `-`, `(`, `)`), which XTN.1
/// may hold; anything else ("Bleep 4306") goes in XTN.9, the component for any text.
pub(super) fn is_telephone(text: &str) -> bool {
    text.chars().any(|c| c.is_ascii_digit())
        && text
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '+' | '-' | '(' | ')'))
}

/// Appends OBR-13: `text` on one line (line breaks and runs of white space become one space),
/// escaped, and shortened to at most `max` characters as written, ending in `...` when
/// shortened (the full text goes in an NTE). Returns whether it was shortened.
pub(super) fn push_one_line(out: &mut String, text: &str, max: usize) -> bool {
    const MORE: &str = "...";
    let mut line = String::with_capacity(text.len());
    for word in text.split_whitespace() {
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    let start = out.len();
    escape_into(out, &line);
    if out[start..].chars().count() <= max {
        return false;
    }
    out.truncate(start);
    // One character at a time, so an escape sequence is never cut.
    let mut written = 0usize;
    let mut piece = String::new();
    let mut buf = [0u8; 4];
    for c in line.chars() {
        piece.clear();
        escape_into(&mut piece, c.encode_utf8(&mut buf));
        let n = piece.chars().count();
        if written + n + MORE.len() > max {
            break;
        }
        out.push_str(&piece);
        written += n;
    }
    if out.len() > start && out.ends_with(' ') {
        out.pop();
    }
    out.push_str(MORE);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_zero_padded_as_format_pads_them() {
        let mut s = String::new();
        push_control_id(&mut s, "RXX-W07-B000001", 0);
        assert_eq!(s, "RXXW07B000001-000001");
        assert_eq!(s.len(), CONTROL_ID_MAX);
        s.clear();
        push_placer(&mut s, "X", 98);
        push_placer(&mut s, "Y", 99);
        assert_eq!(s, "X-99Y-100");
    }

    #[test]
    fn obr13_is_one_line_and_never_over_its_maximum() {
        let one = |t: &str, max| {
            let mut s = String::new();
            let cut = push_one_line(&mut s, t, max);
            (s, cut)
        };
        assert_eq!(one("a\r\nb  c", 300), ("a b c".into(), false));
        assert_eq!(one("aaaa bbbb", 8), ("aaaa...".into(), true));
        assert_eq!(one("aaaaaaaaaa", 8), ("aaaaa...".into(), true));
        assert_eq!(one("a &&&&", 8), ("a \\T\\...".into(), true));
        let long = "word ".repeat(400);
        let (s, cut) = one(&long, OBR13_MAX);
        assert!(
            cut && s.chars().count() <= OBR13_MAX && s.ends_with("..."),
            "{s}"
        );
    }
}
