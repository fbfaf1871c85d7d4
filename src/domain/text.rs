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
