//! Handover between PCs, end to end through the real `stopgap` binary: two ward PCs and a lab
//! PC, filled by `stopgap demo`, exchange bundles in every order and end with identical states;
//! a PC set up with another's workstation code makes a duplicate downtime ID, which every PC
//! lists as a conflict; a bundle that is cut short, altered or foreign is refused whole.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on purpose"
)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::common::cli::{stopgap, text};
use stopgap::domain::merge::merge_all;

/// Runs a command that must succeed, returning what it printed.
fn ok(db: &Path, args: &[&str]) -> String {
    let out = stopgap(db, args);
    assert!(
        out.status.success(),
        "stopgap {args:?} failed:\n{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// A PC set up as RXX/`workstation` with `count` demo requests made from `seed`.
fn pc(dir: &Path, name: &str, workstation: &str, count: u32, seed: u32) -> PathBuf {
    let db = dir.join(format!("{name}.db"));
    ok(
        &db,
        &[
            "setup",
            "--site",
            "RXX",
            "--workstation",
            workstation,
            "--name",
            crate::common::cli::NAME,
        ],
    );
    if count > 0 {
        ok(
            &db,
            &[
                "demo",
                "--count",
                &count.to_string(),
                "--seed",
                &seed.to_string(),
            ],
        );
    }
    db
}

fn export(db: &Path, bundle: &Path) {
    ok(
        db,
        &[
            "handover",
            "export",
            "--plaintext",
            "--out",
            bundle.to_str().unwrap(),
            "--force",
        ],
    );
}

fn import(db: &Path, bundles: &[&Path]) -> std::process::Output {
    let mut args = vec!["handover", "import"];
    args.extend(bundles.iter().map(|b| b.to_str().unwrap()));
    stopgap(db, &args)
}

/// SHA-256 of every request's merged fold (by request UUID) over every event the PC holds:
/// the same on two PCs exactly when they know the same history.
fn digest(db: &Path) -> String {
    let store = crate::common::open(db).unwrap();
    let events = store.handover_events(None).unwrap();
    let merged = merge_all(&events);
    let states: BTreeMap<_, _> = merged
        .requests
        .iter()
        .map(|(uuid, m)| (uuid, format!("{:?}", m.state)))
        .collect();
    let mut h = Sha256::new();
    for (uuid, state) in &states {
        h.update(uuid.as_bytes());
        h.update(state.as_bytes());
    }
    stopgap::files::hex(&h.finalize())
}

/// `list --json`, for comparing what each PC's queue holds.
fn listed(db: &Path) -> serde_json::Value {
    serde_json::from_str(&ok(db, &["list", "--json"])).unwrap()
}

#[test]
fn two_wards_and_a_lab_exchange_bundles_in_every_order_and_end_identical() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ward1 = pc(d, "ward1", "W01", 20, 1);
    let ward2 = pc(d, "ward2", "W02", 20, 2);
    // The lab holds training requests too (demo bundles are training data: a live PC
    // refuses them).
    let lab = pc(d, "lab", "L01", 3, 3);
    let (b1, b2, bl) = (
        d.join("w1.bundle"),
        d.join("w2.bundle"),
        d.join("lab.bundle"),
    );
    export(&ward1, &b1);
    export(&ward2, &b2);
    let out = import(&lab, &[&b1, &b2]);
    assert!(out.status.success(), "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).contains("20 requests added"),
        "{}",
        text(&out.stdout)
    );

    // The lab re-enters two of ward 1's open requests: events made on the lab PC.
    let open: Vec<String> = listed(&lab)
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| {
            r["downtime_id"].as_str().unwrap().starts_with("RXXW01")
                && ["logged", "sent", "received"].contains(&r["status"].as_str().unwrap())
        })
        .map(|r| r["downtime_id"].as_str().unwrap().to_owned())
        .take(2)
        .collect();
    assert_eq!(open.len(), 2, "the demo leaves open requests");
    let csv = d.join("accessions.csv");
    std::fs::write(
        &csv,
        format!(
            "downtime_id,accession\n{},L26.0001\n{},L26.0002\n",
            open[0], open[1]
        ),
    )
    .unwrap();
    ok(&lab, &["reconcile", csv.to_str().unwrap()]);
    export(&lab, &bl);

    // Every order of the three bundles, each twice over, into fresh PCs alike.
    let orders: [[&Path; 3]; 6] = [
        [&b1, &b2, &bl],
        [&b1, &bl, &b2],
        [&b2, &b1, &bl],
        [&b2, &bl, &b1],
        [&bl, &b1, &b2],
        [&bl, &b2, &b1],
    ];
    // The fresh PCs hold three demo requests of their own besides (training PCs take only
    // training bundles): compare what they know of the others' requests.
    let mut fresh_lists = Vec::new();
    for (i, order) in orders.iter().enumerate() {
        // Another seed than the lab's: the demo makes the same request UUIDs from one seed.
        let fresh = pc(d, &format!("fresh{i}"), "X01", 3, 4);
        let mut twice = order.to_vec();
        twice.extend(order.iter().rev());
        let out = import(&fresh, &twice);
        assert!(out.status.success(), "{}", text(&out.stdout));
        fresh_lists.push(strip_own(&listed(&fresh), "RXXX01"));
    }
    assert!(
        fresh_lists.windows(2).all(|w| w[0] == w[1]),
        "order changed the result"
    );
    assert_eq!(&fresh_lists[0], listed(&lab).as_array().unwrap());

    // The wards take the lab's bundle and each other's: all three then know the same history.
    assert!(import(&ward1, &[&bl, &b2]).status.success());
    assert!(import(&ward2, &[&b1, &bl]).status.success());
    export(&lab, &bl);
    assert!(import(&ward1, &[&bl]).status.success());
    assert!(import(&ward2, &[&bl]).status.success());
    export(&ward1, &b1);
    export(&ward2, &b2);
    assert!(import(&lab, &[&b2, &b1]).status.success());
    let (g1, g2, gl) = (digest(&ward1), digest(&ward2), digest(&lab));
    assert_eq!(g1, g2);
    assert_eq!(g1, gl);
    assert_eq!(listed(&ward1), listed(&lab));
    assert_eq!(listed(&ward2), listed(&lab));
    // The lab's re-entries reached the ward that made the requests.
    let on_ward: Vec<_> = listed(&ward1)
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| open.contains(&r["downtime_id"].as_str().unwrap().to_owned()))
        .map(|r| r["status"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(on_ward, ["reentered", "reentered"]);
    for db in [&ward1, &ward2, &lab] {
        ok(db, &["verify"]);
        ok(db, &["conflicts"]);
    }
}

/// A queue listing without the requests a PC made itself (by downtime-ID prefix).
fn strip_own(list: &serde_json::Value, prefix: &str) -> Vec<serde_json::Value> {
    list.as_array()
        .unwrap()
        .iter()
        .filter(|r| !r["downtime_id"].as_str().unwrap().starts_with(prefix))
        .cloned()
        .collect()
}

#[test]
fn a_pc_set_up_with_another_pcs_code_makes_a_duplicate_id_that_every_pc_lists() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ward1 = pc(d, "ward1", "W01", 4, 1);
    // Misconfigured: the same workstation code as ward 1, so its IDs repeat ward 1's.
    let clash = pc(d, "clash", "W01", 2, 9);
    let lab = pc(d, "lab", "L01", 1, 3);
    let (b1, bc, bl) = (
        d.join("w1.bundle"),
        d.join("clash.bundle"),
        d.join("lab.bundle"),
    );
    export(&ward1, &b1);
    export(&clash, &bc);
    let out = import(&lab, &[&b1, &bc]);
    let said = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains("CONFLICT: downtime ID RXX-W01-000001"),
        "{said}"
    );
    export(&lab, &bl);
    assert_eq!(import(&ward1, &[&bl]).status.code(), Some(1));
    assert_eq!(import(&clash, &[&bl]).status.code(), Some(1));
    for db in [&ward1, &clash, &lab] {
        let out = stopgap(db, &["conflicts"]);
        let said = text(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{said}");
        assert!(said.contains("RXX-W01-000001"), "{said}");
        assert!(said.contains("RXX-W01-000002"), "{said}");
        // The waiting requests are conflicts, not damage.
        ok(db, &["verify"]);
    }
    assert_eq!(digest(&ward1), digest(&lab));
    assert_eq!(digest(&clash), digest(&lab));
}

#[test]
fn a_cut_short_altered_foreign_or_training_bundle_is_refused_and_nothing_is_imported() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ward = pc(d, "ward", "W01", 5, 1);
    let live_lab = pc(d, "lab", "L01", 0, 0);
    let lab = pc(d, "trainlab", "L02", 1, 3);
    let bundle = d.join("w.bundle");
    export(&ward, &bundle);
    let bytes = std::fs::read(&bundle).unwrap();
    let cut = d.join("cut.bundle");
    std::fs::write(&cut, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let altered = d.join("altered.bundle");
    let mut flipped = bytes.clone();
    let middle = flipped.len() / 2;
    flipped[middle] = if flipped[middle] == b'a' { b'b' } else { b'a' };
    std::fs::write(&altered, &flipped).unwrap();
    let foreign = d.join("notes.txt");
    std::fs::write(&foreign, "downtime_id,accession\n").unwrap();
    let before = digest(&lab);
    for (file, why) in [
        (&cut, "cut short"),
        (&altered, "changed or damaged"),
        (&foreign, "not a Stopgap handover bundle"),
    ] {
        let out = import(&lab, &[file]);
        let said = text(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{said}");
        assert!(said.contains("NOT IMPORTED"), "{said}");
        assert!(said.contains(why), "{why}: {said}");
    }
    assert_eq!(
        digest(&lab),
        before,
        "nothing of a refused bundle is imported"
    );
    // Training requests never go into a live PC.
    let out = import(&live_lab, &[&bundle]);
    let said = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("training"), "{said}");
    let held = crate::common::open(&live_lab)
        .unwrap()
        .handover_events(None)
        .unwrap();
    assert!(held.is_empty(), "the live PC took {} events", held.len());
    // The good one still goes in, and a second time changes nothing.
    let out = import(&lab, &[&bundle, &bundle]);
    let said = text(&out.stdout);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("5 requests added"), "{said}");
    assert!(said.contains("0 new"), "{said}");
}
