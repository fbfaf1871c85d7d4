//! Whether the `TZ` variable names a time zone. On Unix an unknown `TZ` (a typo such as
//! `Europe/Londn`) makes local time silently UTC, so every time typed on the form would be off
//! by the summer hour without a word. Windows takes its zone from the system settings.

/// Folders where Unix systems keep the time-zone database.
#[cfg(unix)]
const ZONEINFO_DIRS: [&str; 3] = [
    "/usr/share/zoneinfo",
    "/usr/lib/zoneinfo",
    "/usr/share/lib/zoneinfo",
];

/// A sentence to show when `TZ` is set to something that is not a time zone, else `None`.
pub fn time_zone_warning() -> Option<String> {
    let tz = std::env::var("TZ").ok()?;
    (!tz.trim().is_empty() && !is_known_time_zone(&tz)).then(|| {
        format!(
            "TZ={tz} is not a time zone this computer knows, so local times are taken as UTC: \
             set TZ to a zone such as Europe/London (or unset it) before typing times"
        )
    })
}

#[cfg(unix)]
fn is_known_time_zone(tz: &str) -> bool {
    let name = tz.strip_prefix(':').unwrap_or(tz);
    let path = std::path::Path::new(name);
    if path.is_absolute() {
        return path.is_file();
    }
    let tzdir = std::env::var("TZDIR").ok();
    let in_database = tzdir
        .iter()
        .map(String::as_str)
        .chain(ZONEINFO_DIRS)
        .any(|dir| !name.contains("..") && std::path::Path::new(dir).join(name).is_file());
    in_database || is_posix_rule(name)
}

#[cfg(not(unix))]
fn is_known_time_zone(_tz: &str) -> bool {
    true
}

/// A POSIX rule such as `GMT0BST,M3.5.0/1,M10.5.0` or `<+03>-3`: a name of three or more
/// letters (or one in angle brackets) and then an offset.
#[cfg(unix)]
fn is_posix_rule(s: &str) -> bool {
    let rest = if let Some(r) = s.strip_prefix('<') {
        match r.split_once('>') {
            Some((_, rest)) => rest,
            None => return false,
        }
    } else {
        let letters = s.chars().take_while(char::is_ascii_alphabetic).count();
        if letters < 3 {
            return false;
        }
        &s[letters..]
    };
    let rest = rest.trim_start_matches(['+', '-']);
    rest.starts_with(|c: char| c.is_ascii_digit())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn tells_a_time_zone_from_a_typo() {
        assert!(is_posix_rule("GMT0BST,M3.5.0/1,M10.5.0"));
        assert!(is_posix_rule("<+03>-3"));
        assert!(is_posix_rule("EST5EDT"));
        assert!(!is_posix_rule("Nowhere/Bogus"));
        assert!(!is_posix_rule("UT"));
        assert!(!is_known_time_zone("Nowhere/Bogus"));
        if std::path::Path::new("/usr/share/zoneinfo/Europe/London").is_file() {
            assert!(is_known_time_zone("Europe/London"));
        }
    }
}
