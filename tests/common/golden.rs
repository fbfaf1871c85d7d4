//! Golden files: an export compared byte for byte with a file under `tests/golden/`, or written
//! there when `STOPGAP_BLESS=1` (then look at the diff and commit it with the change).

use std::path::{Path, PathBuf};

/// The golden file `tests/golden/<rel>`.
pub fn path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(rel)
}

/// Asserts that `actual` is the golden file `tests/golden/<rel>` byte for byte (or writes it
/// when blessing). On a difference the message names the first differing record, where records
/// end with `separator` (a segment's CR in HL7, a line elsewhere).
pub fn assert_matches(rel: &str, actual: &[u8], separator: char) {
    let golden = path(rel);
    if std::env::var_os("STOPGAP_BLESS").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(golden.parent().unwrap()).unwrap();
        std::fs::write(&golden, actual).unwrap();
        return;
    }
    let expected = std::fs::read(&golden).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; make it with STOPGAP_BLESS=1 cargo test --test export",
            golden.display()
        )
    });
    if actual == expected.as_slice() {
        return;
    }
    let (got, want) = (
        String::from_utf8_lossy(actual),
        String::from_utf8_lossy(&expected),
    );
    let first_difference = got
        .split(separator)
        .zip(want.split(separator))
        .enumerate()
        .find(|(_, (g, w))| g != w)
        .map_or_else(
            || {
                format!(
                    "one is a prefix of the other ({} vs {} bytes)",
                    actual.len(),
                    expected.len()
                )
            },
            |(n, (g, w))| format!("record {n}:\n  written: {g}\n  golden:  {w}"),
        );
    panic!(
        "{} differs from this export; if on purpose, regenerate with STOPGAP_BLESS=1 cargo test \
         --test export and review the diff. First difference, {first_difference}",
        golden.display()
    );
}

#[test]
fn a_difference_is_reported_with_the_first_differing_record() {
    if std::env::var_os("STOPGAP_BLESS").is_some() {
        return; // blessing would overwrite the golden file with this test's bytes
    }
    let dir = "csv/requests.csv";
    assert!(
        path(dir).exists(),
        "the CSV golden file is where the tests expect it"
    );
    let changed = std::panic::catch_unwind(|| assert_matches(dir, b"not the golden bytes\n", '\n'));
    let message = *changed.unwrap_err().downcast::<String>().unwrap();
    assert!(message.contains("record 0:"), "{message}");
    assert!(message.contains("not the golden bytes"), "{message}");
}
