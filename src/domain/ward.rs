//! A ward or location the workstation serves: a short code for interchange (HL7 PV1-3.1, PL.1
//! point of care, an IS value of at most 20 characters) and the name staff know it by.
//!
//! Requests store the ward's *name*, as typed or picked on the form, so history never changes
//! when a code does; the code is looked up by name at export ([`code_for`]).

use super::draft::SHORT_MAX;
use super::text::{TextError, clean};

/// PL.1 point of care in HL7 v2.4 and v2.5.1 (DOMAIN.md section 7).
pub const WARD_CODE_MAX: usize = 20;
/// A ward's name: the same limit as the form's ward field, which stores it.
pub const WARD_NAME_MAX: usize = SHORT_MAX;
/// The code of a name with no ASCII letter or digit in it.
const FALLBACK_CODE: &str = "WARD";

/// A ward: a valid code (1 to 20 of `A-Z`, `0-9`, `-`, `_`) and a clean, non-empty name.
/// Valid by construction; whether a list's codes and names are unique is [`check_list`]'s work.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "StoredWard")]
pub struct Ward {
    code: String,
    name: String,
}

/// A ward as stored: older databases kept the name only, whose code is derived on reading.
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum StoredWard {
    Coded { code: String, name: String },
    Name(String),
}

impl TryFrom<StoredWard> for Ward {
    type Error = WardError;

    fn try_from(stored: StoredWard) -> Result<Self, Self::Error> {
        match stored {
            StoredWard::Coded { code, name } => Ward::new(&code, &name),
            StoredWard::Name(name) => Ward::named(&name),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WardError {
    #[error("a ward is blank: type its name, or CODE=Name")]
    Blank,
    #[error(
        "ward '{name}' has no code: type 1 to {WARD_CODE_MAX} capital letters or digits, e.g. W7"
    )]
    EmptyCode { name: String },
    #[error(
        "ward code '{code}' is too long ({len} characters; at most {WARD_CODE_MAX}, what HL7 PV1-3 holds)"
    )]
    CodeTooLong { code: String, len: usize },
    #[error("ward code {code:?} contains {ch:?}: use only capital letters A-Z, digits, - or _")]
    CodeCharacter { code: String, ch: char },
    #[error("ward code '{code}' has no name: type the ward's name as staff know it")]
    EmptyName { code: String },
    /// The name breaks the text rules; `problem` says how ("contains a hidden ...").
    #[error("ward name {name:?} {problem}")]
    Name { name: String, problem: TextError },
    #[error(
        "wards '{first}' and '{second}' both have the code {code}: give each ward its own code"
    )]
    DuplicateCode {
        code: String,
        first: String,
        second: String,
    },
    #[error("ward '{name}' is listed twice: remove one")]
    DuplicateName { name: String },
}

impl Ward {
    /// A ward with the code given: trimmed and upper-cased (`w7` is `W7`), then checked.
    pub fn new(code: &str, name: &str) -> Result<Self, WardError> {
        let name = clean_name(name)?;
        let code = code.trim().to_ascii_uppercase();
        if code.is_empty() && name.is_empty() {
            return Err(WardError::Blank);
        }
        if code.is_empty() {
            return Err(WardError::EmptyCode { name });
        }
        let len = code.chars().count();
        if len > WARD_CODE_MAX {
            return Err(WardError::CodeTooLong { code, len });
        }
        if let Some(ch) = code.chars().find(|c| !is_code_char(*c)) {
            return Err(WardError::CodeCharacter { code, ch });
        }
        if name.is_empty() {
            return Err(WardError::EmptyName { code });
        }
        Ok(Self { code, name })
    }

    /// A ward given by name only, with the code derived from it ([`derived_code`]).
    pub fn named(name: &str) -> Result<Self, WardError> {
        let name = clean_name(name)?;
        if name.is_empty() {
            return Err(WardError::Blank);
        }
        Ok(Self {
            code: derived_code(&name),
            name,
        })
    }

    /// A ward as the command line takes it: `CODE=Name` (split at the first `=`), or a bare
    /// `Name` whose code is derived.
    pub fn parse(arg: &str) -> Result<Self, WardError> {
        match arg.split_once('=') {
            Some((code, name)) => Ward::new(code, name),
            None => Ward::named(arg),
        }
    }

    /// PV1-3.1: capital letters, digits, `-` and `_`, at most [`WARD_CODE_MAX`].
    pub fn code(&self) -> &str {
        &self.code
    }

    /// The name shown on the form and stored on requests.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl std::fmt::Display for Ward {
    /// `CODE=Name`, as the command line takes it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}={}", self.code, self.name)
    }
}

fn clean_name(name: &str) -> Result<String, WardError> {
    clean(name, WARD_NAME_MAX, false).map_err(|problem| WardError::Name {
        name: name.trim().to_owned(),
        problem,
    })
}

/// HL7 IS values may hold anything but the delimiters; codes keep to what every LIMS accepts.
fn is_code_char(c: char) -> bool {
    c.is_ascii_uppercase() || c.is_ascii_digit() || matches!(c, '-' | '_')
}

/// The code derived from a name: its ASCII letters and digits, upper-cased, at most 20
/// (`Ward 7` → `WARD7`), or `WARD` when it has none. The rule HL7 export has always used for a
/// ward without a code (`export::hl7::ids::short_code`), so codes of older set-ups do not change.
pub fn derived_code(name: &str) -> String {
    let code: String = name
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .take(WARD_CODE_MAX)
        .collect();
    if code.is_empty() {
        FALLBACK_CODE.into()
    } else {
        code
    }
}

/// Names are compared as staff read them: `AMU` and `amu` are one ward.
fn same_name(a: &str, b: &str) -> bool {
    a.trim().to_lowercase() == b.trim().to_lowercase()
}

/// Every repeated code or name in `wards`, each with the position of the later ward.
pub fn list_problems(wards: &[Ward]) -> Vec<(usize, WardError)> {
    let mut problems = Vec::new();
    for (i, w) in wards.iter().enumerate() {
        let earlier = &wards[..i];
        if earlier.iter().any(|e| same_name(&e.name, &w.name)) {
            problems.push((
                i,
                WardError::DuplicateName {
                    name: w.name.clone(),
                },
            ));
        } else if let Some(e) = earlier.iter().find(|e| e.code == w.code) {
            problems.push((
                i,
                WardError::DuplicateCode {
                    code: w.code.clone(),
                    first: e.name.clone(),
                    second: w.name.clone(),
                },
            ));
        }
    }
    problems
}

/// Whether `wards` can be one workstation's list: no code and no name twice.
pub fn check_list(wards: &[Ward]) -> Result<(), WardError> {
    match list_problems(wards).into_iter().next() {
        Some((_, e)) => Err(e),
        None => Ok(()),
    }
}

/// The list typed as rows of (code, name), as the set-up screens show it: blank rows are left
/// out, a row with a name and no code gets the derived code. Every problem at once, each with
/// its row (0-based), in row order.
pub fn parse_rows<'a>(
    rows: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<Vec<Ward>, Vec<(usize, WardError)>> {
    let mut wards = Vec::new();
    let mut rows_of = Vec::new();
    let mut problems = Vec::new();
    for (row, (code, name)) in rows.into_iter().enumerate() {
        let parsed = match (code.trim().is_empty(), name.trim().is_empty()) {
            (true, true) => continue,
            (true, false) => Ward::named(name),
            (false, _) => Ward::new(code, name),
        };
        match parsed {
            Ok(w) => {
                wards.push(w);
                rows_of.push(row);
            }
            Err(e) => problems.push((row, e)),
        }
    }
    problems.extend(
        list_problems(&wards)
            .into_iter()
            .map(|(i, e)| (rows_of[i], e)),
    );
    problems.sort_by_key(|(row, _)| *row);
    if problems.is_empty() {
        Ok(wards)
    } else {
        Err(problems)
    }
}

/// The workstation's code for the ward named `name` (as stored on a request), if it has one.
pub fn code_for<'a>(wards: &'a [Ward], name: &str) -> Option<&'a str> {
    wards
        .iter()
        .find(|w| same_name(&w.name, name))
        .map(Ward::code)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(code: &str, name: &str) -> WardError {
        Ward::new(code, name).unwrap_err()
    }

    #[test]
    fn a_code_is_upper_case_letters_digits_dash_or_underscore() {
        let w = Ward::new(" w7-a_1 ", " Ward 7 ").unwrap();
        assert_eq!((w.code(), w.name()), ("W7-A_1", "Ward 7"));
        assert_eq!(
            err("", "Ward 7"),
            WardError::EmptyCode {
                name: "Ward 7".into()
            }
        );
        assert!(matches!(
            err(&"A".repeat(21), "Ward 7"),
            WardError::CodeTooLong { len: 21, .. }
        ));
        assert!(Ward::new(&"A".repeat(20), "Ward 7").is_ok());
        for bad in ["W 7", "W^7", "W|7", "W&7", "WÉ", "W.7"] {
            assert!(
                matches!(err(bad, "Ward 7"), WardError::CodeCharacter { .. }),
                "{bad}"
            );
        }
        assert_eq!(err("W7", "  "), WardError::EmptyName { code: "W7".into() });
    }

    #[test]
    fn a_name_follows_the_text_rules() {
        assert_eq!(
            Ward::new("W7", "Zo\u{65}\u{308}").unwrap().name(),
            "Zo\u{eb}"
        );
        for bad in ["Ward\u{202E}7", "Ward\u{7}7", &"x".repeat(61)] {
            let e = err("W7", bad);
            assert!(matches!(e, WardError::Name { .. }), "{e}");
        }
        // The hidden character is shown escaped, so the message cannot be disguised by it.
        let e = err("W7", "Ward\u{202E}7").to_string();
        assert!(
            e.contains("\\u{202e}") && e.contains("text-direction"),
            "{e}"
        );
    }

    #[test]
    fn a_bare_name_gets_the_derived_code_and_code_equals_name_sets_both() {
        let w = Ward::parse("Ward 7 Acute Medicine").unwrap();
        assert_eq!(
            (w.code(), w.name()),
            ("WARD7ACUTEMEDICINE", "Ward 7 Acute Medicine")
        );
        let w = Ward::parse("W7=Ward 7").unwrap();
        assert_eq!((w.code(), w.name()), ("W7", "Ward 7"));
        let w = Ward::parse("EQ=A=B").unwrap();
        assert_eq!(w.name(), "A=B");
        assert!(matches!(
            Ward::parse("=Ward 7"),
            Err(WardError::EmptyCode { .. })
        ));
        assert!(matches!(
            Ward::parse("W7="),
            Err(WardError::EmptyName { .. })
        ));
        assert!(matches!(
            Ward::parse("Ward 7 = Acute"),
            Err(WardError::CodeCharacter { .. })
        ));
        assert_eq!(Ward::parse("W7=Ward 7").unwrap().to_string(), "W7=Ward 7");
    }

    #[test]
    fn derived_codes_are_the_names_letters_and_digits() {
        assert_eq!(derived_code("Ward 7"), "WARD7");
        assert_eq!(derived_code("Zoë's ward"), "ZOSWARD");
        assert_eq!(derived_code("ÉÉ"), "WARD");
        assert_eq!(derived_code(&"A".repeat(40)).len(), WARD_CODE_MAX);
    }

    #[test]
    fn a_list_refuses_a_repeated_code_or_name() {
        let list =
            |args: &[&str]| -> Vec<Ward> { args.iter().map(|a| Ward::parse(a).unwrap()).collect() };
        assert_eq!(check_list(&list(&["W7=Ward 7", "AMU"])), Ok(()));
        assert_eq!(
            check_list(&list(&["W7=Ward 7", "W7=Ward 8"])),
            Err(WardError::DuplicateCode {
                code: "W7".into(),
                first: "Ward 7".into(),
                second: "Ward 8".into()
            })
        );
        assert_eq!(
            check_list(&list(&["W7=Ward 7", "W8=ward 7"])),
            Err(WardError::DuplicateName {
                name: "ward 7".into()
            })
        );
    }

    #[test]
    fn rows_report_every_problem_with_its_row() {
        let rows = [
            ("", "Ward 7"),
            ("", ""),
            ("W 8", "Ward 8"),
            ("WARD7", "Ward Seven"),
            ("AMU", ""),
        ];
        let problems = parse_rows(rows).unwrap_err();
        let found: Vec<(usize, &str)> = problems
            .iter()
            .map(|(row, e)| {
                let kind = match e {
                    WardError::CodeCharacter { .. } => "character",
                    WardError::DuplicateCode { .. } => "duplicate code",
                    WardError::EmptyName { .. } => "no name",
                    _ => "other",
                };
                (*row, kind)
            })
            .collect();
        assert_eq!(
            found,
            [(2, "character"), (3, "duplicate code"), (4, "no name")]
        );
        let wards = parse_rows([("", "Ward 7"), ("", " "), ("amu", "AMU")]).unwrap();
        assert_eq!(
            wards,
            [
                Ward::new("WARD7", "Ward 7").unwrap(),
                Ward::new("AMU", "AMU").unwrap()
            ]
        );
    }

    #[test]
    fn old_set_ups_with_names_only_read_with_derived_codes() {
        let wards: Vec<Ward> =
            serde_json::from_str(r#"["Ward 7", {"code": "AMU1", "name": "AMU"}]"#).unwrap();
        assert_eq!(
            wards,
            [
                Ward::new("WARD7", "Ward 7").unwrap(),
                Ward::new("AMU1", "AMU").unwrap()
            ]
        );
        let json = serde_json::to_string(&wards).unwrap();
        assert_eq!(
            json,
            r#"[{"code":"WARD7","name":"Ward 7"},{"code":"AMU1","name":"AMU"}]"#
        );
        assert!(serde_json::from_str::<Ward>(r#"{"code": "W 7", "name": "X"}"#).is_err());
    }

    #[test]
    fn a_requests_ward_name_finds_its_code() {
        let wards = [Ward::parse("W7=Ward 7").unwrap()];
        assert_eq!(code_for(&wards, " ward 7"), Some("W7"));
        assert_eq!(code_for(&wards, "Ward 8"), None);
    }
}
