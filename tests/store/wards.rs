//! The workstation's wards in the store and on the command line (issue 8): a code beside each
//! name; a set-up an older Stopgap stored (names only) reads back whole with derived codes.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on purpose"
)]

use crate::common::cli::{stopgap, text};
use crate::common::{setup, temp_store};
use stopgap::domain::ward::Ward;
use stopgap::store::Store;

#[test]
fn a_set_up_stored_with_ward_names_only_reads_back_with_derived_codes() {
    let (dir, store) = temp_store();
    drop(store);
    let db = dir.path().join("stopgap.db");
    // Rewrite the stored set-up as an older Stopgap wrote it: the wards as plain names.
    let conn = crate::common::raw(&db);
    let json: String = conn
        .query_row("SELECT value FROM settings WHERE key = 'setup'", [], |r| {
            r.get(0)
        })
        .unwrap();
    let mut value: serde_json::Value = serde_json::from_str(&json).unwrap();
    value["wards"] = serde_json::json!(["Ward 7 Acute Medicine", "AMU", "Zoë's ward"]);
    conn.execute(
        "UPDATE settings SET value = ?1 WHERE key = 'setup'",
        [value.to_string()],
    )
    .unwrap();
    drop(conn);

    let store = Store::open(&db).unwrap();
    let read = store.setup().unwrap().unwrap();
    assert_eq!(
        read.wards,
        [
            Ward::new("WARD7ACUTEMEDICINE", "Ward 7 Acute Medicine").unwrap(),
            Ward::new("AMU", "AMU").unwrap(),
            Ward::new("ZOSWARD", "Zoë's ward").unwrap(),
        ]
    );
    assert_eq!(
        (read.site, read.workstation),
        (setup().site, setup().workstation)
    );
}

#[test]
fn setup_takes_code_equals_name_and_bare_names_on_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let o = stopgap(
        &db,
        &[
            "setup",
            "--site",
            "RXX",
            "--workstation",
            "W07",
            "--ward",
            "W7=Ward 7",
            "--ward",
            "AMU",
            "--name",
            crate::common::cli::NAME,
        ],
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    let said = text(&o.stdout);
    assert!(said.contains("Ward Ward 7: code W7"), "{said}");
    assert!(said.contains("Ward AMU: code AMU"), "{said}");
    let wards = crate::common::open(&db)
        .unwrap()
        .setup()
        .unwrap()
        .unwrap()
        .wards;
    assert_eq!(
        wards,
        [
            Ward::new("W7", "Ward 7").unwrap(),
            Ward::new("AMU", "AMU").unwrap()
        ]
    );
}

#[test]
fn setup_names_the_bad_ward_argument_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let base = [
        "setup",
        "--site",
        "RXX",
        "--workstation",
        "W07",
        "--name",
        "Demo Manager",
    ];
    let cases: [(&[&str], &str); 5] = [
        (&["--ward", "=Ward 7"], "ward 'Ward 7' has no code"),
        (&["--ward", "W 7=Ward 7"], "ward code \"W 7\" contains ' '"),
        (
            &["--ward", &"A=Ward 7".replace('A', &"A".repeat(21))],
            "is too long (21 characters; at most 20",
        ),
        (
            &["--ward", "W7=Ward 7", "--ward", "W7=Ward 8"],
            "--ward: wards 'Ward 7' and 'Ward 8' both have the code W7",
        ),
        (
            &["--ward", "W7=Ward 7", "--ward", "W8=ward 7"],
            "--ward: ward 'ward 7' is listed twice",
        ),
    ];
    for (wards, expected) in cases {
        let args: Vec<&str> = base.iter().chain(wards).copied().collect();
        let o = stopgap(&db, &args);
        let err = text(&o.stderr);
        assert!(!o.status.success(), "{args:?}");
        assert!(err.contains(expected), "{args:?}: {err}");
        assert!(err.contains("--ward"), "{args:?}: {err}");
    }
    // Nothing was set up by any of them.
    if db.exists() {
        assert!(Store::open(&db).unwrap().setup().unwrap().is_none());
    }
}
