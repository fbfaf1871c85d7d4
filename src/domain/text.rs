//! Cleaning free text typed by people: Unicode NFC, no control or bidirectional-override
//! characters (which can make a name display as something other than what is stored).

use unicode_normalization::UnicodeNormalization;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("contains a hidden control character (U+{0:04X}); retype it")]
    Control(u32),
    #[error(
        "contains a hidden text-direction character (U+{0:04X}) that can disguise it; retype it"
    )]
    Bidi(u32),
    #[error("is too long ({0} characters; at most {1})")]
    TooLong(usize, usize),
}

/// Longest user name or staff ID accepted (the app's sign-in, the command line's `--user`, a
/// reconciliation file's `entered_by`).
pub const USER_MAX: usize = 60;

/// Why a user name or staff ID was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserError {
    #[error("Type your name or staff ID")]
    Empty,
    #[error("A name or staff ID needs letters or digits")]
    NoLetters,
    #[error("Name or staff ID {0}")]
    Text(TextError),
}

/// Checks a typed name or staff ID: the same text hygiene as patient names (no control or
/// direction-changing characters), trimmed, at most [`USER_MAX`] characters. Every name recorded
/// in the history passes here, whether typed in the app or given on the command line.
pub fn check_user(typed: &str) -> Result<String, UserError> {
    match clean(typed, USER_MAX, false) {
        Ok(name) if name.is_empty() => Err(UserError::Empty),
        Ok(name) if !name.chars().any(char::is_alphanumeric) => Err(UserError::NoLetters),
        Ok(name) => Ok(name),
        Err(e) => Err(UserError::Text(e)),
    }
}

/// `text` safe to print on a terminal: control, bidi and invisible characters (an escape
/// sequence, a bell, U+202E) are shown as `\u{1b}` instead of acting on the terminal. Text
/// stored before names were checked, or damaged, may hold them.
pub fn visible(text: &str) -> std::borrow::Cow<'_, str> {
    let hidden = |c: char| {
        c.is_control()
            || is_bidi_control(c)
            || matches!(
                c,
                '\u{200B}'..='\u{200D}' | '\u{FEFF}' | '\u{2028}' | '\u{2029}'
            )
    };
    if !text.chars().any(hidden) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if hidden(c) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Characters that change the display direction of text (Trojan Source, CVE-2021-42574) or mark
/// it invisibly.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// NFC-normalises and trims `input`, refusing control and bidi characters. `multiline` allows
/// line breaks and tabs (notes, clinical details).
pub fn clean(input: &str, max_chars: usize, multiline: bool) -> Result<String, TextError> {
    let s: String = input.trim().nfc().collect();
    for c in s.chars() {
        if is_bidi_control(c) {
            return Err(TextError::Bidi(c as u32));
        }
        let allowed_ws = multiline && matches!(c, '\n' | '\t' | '\r');
        if c.is_control() && !allowed_ws {
            return Err(TextError::Control(c as u32));
        }
        if matches!(
            c,
            '\u{200B}'..='\u{200D}' | '\u{FEFF}' | '\u{2028}' | '\u{2029}'
        ) {
            return Err(TextError::Control(c as u32));
        }
    }
    let s = if multiline {
        s.replace("\r\n", "\n").replace('\r', "\n")
    } else {
        s
    };
    let n = s.chars().count();
    if n > max_chars {
        return Err(TextError::TooLong(n, max_chars));
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn normalises_to_nfc() {
        // "e" + combining acute becomes the single precomposed character.
        assert_eq!(clean("Rene\u{301}e", 35, false).unwrap(), "Ren\u{e9}e");
        assert_eq!(clean("  O'Brien  ", 35, false).unwrap(), "O'Brien");
    }

    #[test]
    fn refuses_hidden_characters() {
        assert_eq!(
            clean("Smi\u{202E}th", 35, false),
            Err(TextError::Bidi(0x202E))
        );
        assert_eq!(
            clean("Smi\u{2067}th", 35, false),
            Err(TextError::Bidi(0x2067))
        );
        assert_eq!(clean("Smi\u{7}th", 35, false), Err(TextError::Control(7)));
        assert_eq!(clean("Smi\nth", 35, false), Err(TextError::Control(10)));
        assert_eq!(
            clean("Smi\u{200B}th", 35, false),
            Err(TextError::Control(0x200B))
        );
        assert_eq!(
            clean("line one\r\nline two", 100, true).unwrap(),
            "line one\nline two"
        );
    }

    #[test]
    fn user_names_refuse_escapes_bells_bidi_and_long_text() {
        assert_eq!(check_user("  N Bloggs ").as_deref(), Ok("N Bloggs"));
        assert_eq!(check_user(""), Err(UserError::Empty));
        assert_eq!(check_user("--"), Err(UserError::NoLetters));
        assert_eq!(
            check_user("N\u{1b}[31mBloggs"),
            Err(UserError::Text(TextError::Control(0x1b)))
        );
        assert_eq!(
            check_user("Bloggs\u{7}"),
            Err(UserError::Text(TextError::Control(7)))
        );
        assert_eq!(
            check_user("Bloggs\u{202e}"),
            Err(UserError::Text(TextError::Bidi(0x202e)))
        );
        assert_eq!(
            check_user(&"x".repeat(10_000)),
            Err(UserError::Text(TextError::TooLong(10_000, USER_MAX)))
        );
    }

    #[test]
    fn visible_text_shows_hidden_characters_as_escapes() {
        assert_eq!(visible("N Bloggs"), "N Bloggs");
        assert_eq!(visible("a\u{1b}[2Jb\u{7}"), "a\\u{1b}[2Jb\\u{7}");
        assert_eq!(visible("ab\u{202e}c"), "ab\\u{202e}c");
    }

    #[test]
    fn refuses_overlong_text() {
        assert_eq!(
            clean(&"a".repeat(36), 35, false),
            Err(TextError::TooLong(36, 35))
        );
    }

    proptest! {
        #[test]
        fn cleaned_text_is_nfc_and_free_of_controls(s in "\\PC*") {
            if let Ok(c) = clean(&s, 10_000, false) {
                prop_assert!(unicode_normalization::is_nfc(&c));
                prop_assert!(!c.chars().any(|ch| ch.is_control() || is_bidi_control(ch)));
            }
        }
    }
}
