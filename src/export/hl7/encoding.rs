//! HL7 v2 encoding: escaping text for a field, UTC timestamps, and writing a segment's fields
//! and components without trailing empties. The message layout is in the parent module.

use chrono::{DateTime, NaiveDate, Timelike, Utc};

use crate::export::{four_digit_year, push_date, push_time};

/// MLLP start block.
pub const MLLP_START: u8 = 0x0B;
/// MLLP end block, followed by a CR.
pub const MLLP_END: [u8; 2] = [0x1C, 0x0D];

/// Escapes text for any HL7 field, component or subcomponent (see the module doc).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    escape_into(&mut out, text);
    out
}

/// Whether a byte may need escaping: a delimiter, an ASCII control, or the first byte of a C1
/// control's UTF-8 (U+0080..=U+009F are `C2 80`..=`C2 9F`).
fn needs_escape(b: u8) -> bool {
    matches!(
        b,
        b'|' | b'^' | b'~' | b'\\' | b'&' | 0x00..=0x1F | 0x7F | 0xC2
    )
}

/// Appends `text` escaped, as [`escape`] returns it: for a plain-text field, where a line break
/// (CRLF, CR or LF) is the hex escape `\X0A\`, since formatting escapes such as `\.br\` belong
/// only in formatted-text (FT) fields.
pub(super) fn escape_into(out: &mut String, text: &str) {
    escape_with(out, text, "\\X0A\\");
}

/// Appends `text` escaped for a formatted-text (FT) field such as NTE-3: a line break is `\.br\`.
pub(super) fn escape_formatted_into(out: &mut String, text: &str) {
    escape_with(out, text, "\\.br\\");
}

fn escape_with(out: &mut String, text: &str, line_break: &str) {
    // `""` alone is HL7's explicit null ("delete this value"): send the quotes as hex instead.
    if text == "\"\"" {
        out.push_str("\\X22\\\\X22\\");
        return;
    }
    if !text.bytes().any(needs_escape) {
        out.push_str(text);
        return;
    }
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '|' => out.push_str("\\F\\"),
            '^' => out.push_str("\\S\\"),
            '~' => out.push_str("\\R\\"),
            '\\' => out.push_str("\\E\\"),
            '&' => out.push_str("\\T\\"),
            '\r' | '\n' => {
                if c == '\r' && chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str(line_break);
            }
            c if c.is_control() => {
                const HEX: &[u8; 16] = b"0123456789ABCDEF";
                out.push_str("\\X");
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    out.push(char::from(HEX[usize::from(b >> 4)]));
                    out.push(char::from(HEX[usize::from(b & 0x0F)]));
                }
                out.push('\\');
            }
            c => out.push(c),
        }
    }
}

/// An HL7 timestamp in UTC: `YYYYMMDDHHMMSS+0000`.
pub fn timestamp(t: DateTime<Utc>) -> String {
    let mut s = String::with_capacity(19);
    push_timestamp(&mut s, t);
    s
}

pub(super) fn push_timestamp(out: &mut String, t: DateTime<Utc>) {
    if four_digit_year(t.date_naive()).is_some() && t.nanosecond() < 1_000_000_000 {
        push_date(out, t.date_naive(), "");
        push_time(out, t, "");
        out.push_str("+0000");
    } else {
        // Years outside 0..=9999 and leap seconds: as chrono writes them.
        out.push_str(&t.format("%Y%m%d%H%M%S+0000").to_string());
    }
}

pub(super) fn push_hl7_date(out: &mut String, d: NaiveDate) {
    if four_digit_year(d).is_some() {
        push_date(out, d, "");
    } else {
        out.push_str(&d.format("%Y%m%d").to_string());
    }
}

/// One component of a field: text to escape, or a value already escaped (or a literal).
#[derive(Clone, Copy)]
pub(super) enum Part<'a> {
    Text(&'a str),
    Raw(&'a str),
}

impl Part<'_> {
    fn is_empty(self) -> bool {
        // Escaping never empties non-empty text.
        match self {
            Part::Text(s) | Part::Raw(s) => s.is_empty(),
        }
    }

    fn write_to(self, out: &mut String) {
        match self {
            Part::Text(s) => escape_into(out, s),
            Part::Raw(s) => out.push_str(s),
        }
    }
}

/// A segment written straight into the message: fields are given by their HL7 number (1-based)
/// in ascending order, empty fields are only separators, and empty fields at the end are
/// dropped, as are empty components at the end of a field.
pub(super) struct Segment<'a> {
    out: &'a mut String,
    /// The number of the last field written.
    at: usize,
}

impl<'a> Segment<'a> {
    pub(super) fn new(out: &'a mut String, name: &str) -> Self {
        out.push_str(name);
        Self { out, at: 0 }
    }

    /// Starts field `n` (after the last one written) and returns the message to write it into.
    pub(super) fn start(&mut self, n: usize) -> &mut String {
        debug_assert!(n > self.at, "HL7 fields are written in ascending order");
        for _ in self.at..n {
            self.out.push('|');
        }
        self.at = n;
        self.out
    }

    /// Field `n`: a value already escaped, or a literal.
    pub(super) fn raw(&mut self, n: usize, value: &str) -> &mut Self {
        if !value.is_empty() {
            self.start(n).push_str(value);
        }
        self
    }

    /// Field `n`: text, escaped.
    pub(super) fn text(&mut self, n: usize, value: &str) -> &mut Self {
        if !value.is_empty() {
            escape_into(self.start(n), value);
        }
        self
    }

    /// Field `n`: formatted text (FT), escaped, line breaks as `\.br\`.
    pub(super) fn formatted(&mut self, n: usize, value: &str) -> &mut Self {
        if !value.is_empty() {
            escape_formatted_into(self.start(n), value);
        }
        self
    }

    /// Field `n`: components joined by `^`, without trailing empty ones.
    pub(super) fn components(&mut self, n: usize, parts: &[Part<'_>]) -> &mut Self {
        let used = parts
            .iter()
            .rposition(|p| !p.is_empty())
            .map_or(0, |i| i + 1);
        if used > 0 {
            let out = self.start(n);
            for (i, p) in parts[..used].iter().enumerate() {
                if i > 0 {
                    out.push('^');
                }
                p.write_to(out);
            }
        }
        self
    }

    pub(super) fn end(&mut self) {
        self.out.push('\r');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(typed: &str, escaped: &str) {
        assert_eq!(escape(typed), escaped, "{typed:?}");
    }

    #[test]
    fn escapes_delimiters_line_breaks_and_controls() {
        check("a|b^c~d\\e&f", "a\\F\\b\\S\\c\\R\\d\\E\\e\\T\\f");
        check(
            "one\r\ntwo\nthree\rfour",
            "one\\X0A\\two\\X0A\\three\\X0A\\four",
        );
        let mut ft = String::new();
        escape_formatted_into(&mut ft, "one\r\ntwo\rthree");
        assert_eq!(ft, "one\\.br\\two\\.br\\three");
        check("tab\there", "tab\\X09\\here");
        check("\u{0b}\u{1c}\0", "\\X0B\\\\X1C\\\\X00\\");
        check("\u{85}", "\\XC285\\");
        check("Renée", "Renée");
        check("\"\"", "\\X22\\\\X22\\");
        check("", "");
    }

    fn segment(build: impl FnOnce(&mut Segment<'_>)) -> String {
        let mut s = String::new();
        let mut seg = Segment::new(&mut s, "NTE");
        build(&mut seg);
        seg.end();
        s
    }

    #[test]
    fn trailing_empty_fields_and_components_are_dropped() {
        assert_eq!(segment(|s| _ = s.raw(1, "1").raw(4, "")), "NTE|1\r");
        let parts = |p: &[&'static str]| p.iter().map(|s| Part::Text(s)).collect::<Vec<_>>();
        assert_eq!(
            segment(|s| _ = s.components(1, &parts(&["a", "", ""]))),
            "NTE|a\r"
        );
        assert_eq!(
            segment(|s| _ = s.components(2, &parts(&["", "b"])).text(4, "|")),
            "NTE||^b||\\F\\\r"
        );
        assert_eq!(segment(|s| _ = s.components(1, &parts(&["", ""]))), "NTE\r");
    }
}
