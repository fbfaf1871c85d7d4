//! The file-name rules for files Stopgap writes. They are Windows' rules, applied on every
//! platform: a file exported on Linux may be copied to a Windows PC, and Windows would silently
//! change or refuse such a name.

use std::path::Path;

/// Why a file name cannot be used for an export. Windows' rules apply on every platform: a file
/// exported on Linux may be copied to a Windows PC, and Windows would silently change or refuse
/// such a name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("\"{path}\" names a folder, not a file: add a file name such as handover.csv")]
    NoFileName { path: String },
    #[error(
        "the file name {name:?} contains {}, which Windows does not allow in file names: use \
         letters, digits, spaces, '-' and '_'",
        describe_char(*.character)
    )]
    InvalidCharacter { name: String, character: char },
    #[error(
        "the file name {name:?} is reserved on Windows ({device} is a device name, whatever the \
         extension): choose another name, such as {suggestion:?}"
    )]
    ReservedName {
        name: String,
        device: String,
        suggestion: String,
    },
    #[error("the file name {name:?} ends with a {ending}, which Windows would drop: remove it")]
    TrailingDotOrSpace { name: String, ending: &'static str },
    #[error("the file name {name:?} is {length} characters long; Windows allows at most 255")]
    TooLong { name: String, length: usize },
}

fn describe_char(c: char) -> String {
    if c.is_control() {
        format!("a control character (U+{:04X})", u32::from(c))
    } else {
        format!("'{c}'")
    }
}

/// Names of Windows devices: a file called one of these, with any extension (`nul.csv`), opens the
/// device instead on Windows 10. The superscript digits are included because Windows treats them
/// as digits here.
const RESERVED_NAMES: &[&str] = &[
    "CON",
    "PRN",
    "AUX",
    "NUL",
    "CONIN$",
    "CONOUT$",
    "COM0",
    "COM1",
    "COM2",
    "COM3",
    "COM4",
    "COM5",
    "COM6",
    "COM7",
    "COM8",
    "COM9",
    "COM\u{b9}",
    "COM\u{b2}",
    "COM\u{b3}",
    "LPT0",
    "LPT1",
    "LPT2",
    "LPT3",
    "LPT4",
    "LPT5",
    "LPT6",
    "LPT7",
    "LPT8",
    "LPT9",
    "LPT\u{b9}",
    "LPT\u{b2}",
    "LPT\u{b3}",
];

/// Characters Windows refuses in a file name (besides the separators `\` and `/`, and control
/// characters).
const INVALID_CHARS: &[char] = &['<', '>', ':', '"', '|', '?', '*'];

/// Checks the file name of a path chosen for an export against Windows' rules, on every
/// platform: no reserved device name (`CON`, `NUL`, `COM1`, ... also as `nul.csv`, any case), no
/// `<>:"|?*` or control characters, no trailing space or dot, at most 255 characters. Both `\`
/// and `/` separate folders here, so `C:\exports\nul.csv` is judged by `nul.csv` on Linux too.
/// The folders on the way are not checked: they exist already, or creating them will say why not.
pub fn check_export_path(path: &Path) -> Result<(), PathError> {
    check_file_name(&path.to_string_lossy())
}

fn check_file_name(path: &str) -> Result<(), PathError> {
    let name = path.rfind(['/', '\\']).map_or(path, |i| &path[i + 1..]);
    if name.is_empty() || name == "." || name == ".." {
        return Err(PathError::NoFileName {
            path: path.to_owned(),
        });
    }
    if let Some(character) = name
        .chars()
        .find(|c| c.is_control() || INVALID_CHARS.contains(c))
    {
        return Err(PathError::InvalidCharacter {
            name: name.to_owned(),
            character,
        });
    }
    // Windows ignores everything from the first dot, and spaces before it, when it looks for a
    // device name: "NUL .tar.gz" is NUL.
    let (base, extension) = name.split_once('.').unwrap_or((name, ""));
    let base = base.trim_end_matches(' ');
    if let Some(device) = RESERVED_NAMES.iter().find(|d| d.eq_ignore_ascii_case(base)) {
        let suggestion = if extension.is_empty() {
            format!("{base}-export")
        } else {
            format!("{base}-export.{extension}")
        };
        return Err(PathError::ReservedName {
            name: name.to_owned(),
            device: (*device).to_owned(),
            suggestion,
        });
    }
    let ending = match name.chars().last() {
        Some(' ') => Some("space"),
        Some('.') => Some("dot"),
        _ => None,
    };
    if let Some(ending) = ending {
        return Err(PathError::TrailingDotOrSpace {
            name: name.to_owned(),
            ending,
        });
    }
    // NTFS counts UTF-16 code units.
    let length = name.encode_utf16().count();
    if length > 255 {
        return Err(PathError::TooLong {
            name: name.to_owned(),
            length,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_name(path: &str, expected: Result<(), &str>) {
        let got = check_export_path(Path::new(path)).map_err(|e| e.to_string());
        match (&got, expected) {
            (Ok(()), Ok(())) => {}
            (Err(message), Err(part)) if message.contains(part) => {}
            _ => panic!("{path:?}: got {got:?}, expected {expected:?}"),
        }
    }

    #[test]
    fn accepts_ordinary_export_names_with_windows_or_unix_folders() {
        for path in [
            "handover.csv",
            r"C:\Users\Ward 7\Documents\handover 2026-01-31.csv",
            r"\\labfs\Exports\requests.hl7",
            "/home/me/exports/requests.json",
            "D:/exports/Ward_7 (AMU).pdf",
            // Only the file name is checked, and a device name must be the whole base name.
            r"C:\NUL\con-list.csv",
            "nullable.csv",
            "console.csv",
            "COM10.csv",
            "LPT.csv",
            "auxiliary",
            ".csv",
            "Zoë Ŵ 数据.csv",
        ] {
            check_name(path, Ok(()));
        }
    }

    #[test]
    fn refuses_windows_device_names_in_any_case_and_with_extensions() {
        for (path, device) in [
            ("CON", "CON is a device name"),
            ("nul.csv", "NUL is a device name"),
            (r"C:\Users\me\Desktop\nul.csv", "NUL is a device name"),
            ("/tmp/Nul.tar.gz", "NUL is a device name"),
            ("prn.pdf", "PRN"),
            ("Aux.json", "AUX"),
            ("com1.csv", "COM1"),
            ("COM9", "COM9"),
            ("lpt1.txt", "LPT1"),
            (r"D:\exports\LPT9.hl7", "LPT9"),
            ("NUL .csv", "NUL"),
            ("conin$.csv", "CONIN$"),
            ("COM\u{b9}.csv", "COM\u{b9}"),
        ] {
            check_name(path, Err(device));
        }
        let err = check_export_path(Path::new("nul.csv")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the file name \"nul.csv\" is reserved on Windows (NUL is a device name, whatever the \
             extension): choose another name, such as \"nul-export.csv\""
        );
    }

    #[test]
    fn refuses_characters_windows_does_not_allow() {
        for (path, shown) in [
            ("a<b.csv", "'<'"),
            ("a>b.csv", "'>'"),
            ("ward 7: AMU.csv", "':'"),
            ("\"quoted\".csv", "'\"'"),
            ("a|b.csv", "'|'"),
            ("what?.csv", "'?'"),
            ("*.csv", "'*'"),
            ("tab\there.csv", "a control character (U+0009)"),
            ("new\nline.csv", "a control character (U+000A)"),
            ("nul\u{0}.csv", "a control character (U+0000)"),
            (r"C:\exports\a?b.csv", "'?'"),
            // A colon after the drive letter is the drive; one in the file name is not allowed.
            (r"C:\exports\report.csv:hidden", "':'"),
            ("C:report.csv", "':'"),
        ] {
            check_name(path, Err(shown));
        }
        let err = check_export_path(Path::new(r"C:\exports\what?.csv")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the file name \"what?.csv\" contains '?', which Windows does not allow in file names: \
             use letters, digits, spaces, '-' and '_'"
        );
    }

    #[test]
    fn refuses_names_ending_with_a_space_or_a_dot() {
        check_name("handover.csv ", Err("ends with a space"));
        check_name(r"C:\exports\handover.", Err("ends with a dot"));
        check_name("handover...", Err("ends with a dot"));
        check_name("/tmp/handover .csv", Ok(()));
    }

    #[test]
    fn refuses_a_path_without_a_file_name() {
        for path in [
            "",
            r"C:\exports\",
            "/home/me/exports/",
            ".",
            "..",
            r"C:\exports\..",
            "C:/",
        ] {
            check_name(path, Err("names a folder, not a file"));
        }
    }

    #[test]
    fn refuses_names_longer_than_windows_allows() {
        let longest = format!("{}.csv", "a".repeat(251));
        check_name(&longest, Ok(()));
        check_name(&format!("b{longest}"), Err("is 256 characters long"));
        // Counted in UTF-16 units, as NTFS does: each of these is two.
        check_name(
            &format!("{}.csv", "😀".repeat(126)),
            Err("is 256 characters long"),
        );
    }
}
