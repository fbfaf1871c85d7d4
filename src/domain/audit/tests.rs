//! The chain's checks: each kind of tampering is found and named at the right record.
use super::*;

fn entry(n: i64) -> AuditEntry {
    AuditEntry {
        action: AuditAction::Exported,
        staff_id: String::new(),
        user_name: format!("Nurse {n}"),
        subject: format!("RXX-W07-B{n:06}"),
        detail: "csv, 3 requests".into(),
    }
}

/// A sound chain of `n` records, one a second apart.
fn chain(n: i64) -> Vec<AuditRecord> {
    let mut out: Vec<AuditRecord> = Vec::new();
    for i in 1..=n {
        let prev = out.last().map(AuditRecord::head);
        out.push(AuditRecord::seal(
            prev.as_ref(),
            1_780_000_000_000 + i * 1000,
            "W07",
            &entry(i),
        ));
    }
    out
}

#[test]
fn a_sound_chain_verifies_to_its_last_record() {
    let c = chain(5);
    assert_eq!(verify_chain(&c), Ok(c[4].head()));
    assert_eq!(c[0].prev_hash, GENESIS_HASH);
    assert_eq!(c[1].prev_hash, c[0].hash);
    assert_eq!(verify_chain(&[]), Ok(ChainHead::empty()));
}

#[test]
fn the_encoding_is_length_prefixed_so_moving_text_between_fields_changes_the_hash() {
    let mut a = chain(1).remove(0);
    let mut b = a.clone();
    a.subject = "ab".into();
    a.detail = "c".into();
    b.subject = "a".into();
    b.detail = "bc".into();
    assert_ne!(a.computed_hash(), b.computed_hash());
}

#[test]
fn every_field_is_covered_by_the_hash() {
    let r = chain(1).remove(0);
    let changes: [fn(&mut AuditRecord); 9] = [
        |r| r.seq += 1,
        |r| r.at_ms += 1,
        |r| r.workstation.push('X'),
        |r| r.staff_id.push('1'),
        |r| r.user_name.push('x'),
        |r| r.action = AuditAction::Printed,
        |r| r.subject.push('x'),
        |r| r.detail.push('x'),
        |r| r.prev_hash = "1".repeat(64),
    ];
    for change in changes {
        let mut t = r.clone();
        change(&mut t);
        assert_ne!(t.computed_hash(), r.hash, "{t:?}");
    }
}

#[test]
fn a_changed_record_is_named_as_changed() {
    let mut c = chain(5);
    c[2].user_name = "Someone Else".into();
    let broken = verify_chain(&c).unwrap_err();
    assert_eq!(broken.seq, 3);
    assert_eq!(broken.problem, LinkProblem::Changed);
    assert!(
        broken.words().contains("#3 (exported by Someone Else"),
        "{broken}"
    );
    assert!(broken.words().contains("changed since it was written"));
}

#[test]
fn a_record_rewritten_with_its_hash_recomputed_is_named_by_the_next_link() {
    let mut c = chain(5);
    c[2].detail = "csv, 1 request".into();
    c[2].hash = c[2].computed_hash();
    let broken = verify_chain(&c).unwrap_err();
    assert_eq!(broken.seq, 3);
    assert_eq!(broken.problem, LinkProblem::Rewritten);
}

#[test]
fn a_deleted_record_is_named_by_its_number() {
    let mut c = chain(5);
    c.remove(2);
    let broken = verify_chain(&c).unwrap_err();
    assert_eq!(broken.seq, 3);
    assert_eq!(broken.problem, LinkProblem::Deleted { first: 3, last: 3 });
    assert_eq!(
        broken.words(),
        "audit record #3 has been deleted: the log jumps from #2 to #4"
    );
    let mut c = chain(5);
    c.drain(0..2);
    let broken = verify_chain(&c).unwrap_err();
    assert_eq!(broken.problem, LinkProblem::Deleted { first: 1, last: 2 });
}

#[test]
fn records_deleted_and_renumbered_are_found_out_of_place() {
    let mut c = chain(5);
    c.remove(2);
    for r in &mut c[2..] {
        r.seq -= 1;
    }
    let broken = verify_chain(&c).unwrap_err();
    assert_eq!(broken.seq, 3);
    assert!(matches!(broken.problem, LinkProblem::Reordered { .. }));
}

#[test]
fn swapped_records_are_named_as_out_of_place() {
    // Two rows' numbers exchanged: each carries its own content to the other's place.
    let mut c = chain(5);
    c.swap(1, 3);
    c[1].seq = 2;
    c[3].seq = 4;
    let broken = verify_chain(&c).unwrap_err();
    assert_eq!(broken.seq, 2);
    assert!(matches!(broken.problem, LinkProblem::Reordered { .. }));
    assert!(broken.words().contains("out of place"), "{broken}");
    // Given out of order (not by number), the first out of place is named.
    let mut c = chain(3);
    c.swap(1, 2);
    let broken = verify_chain(&c).unwrap_err();
    assert!(matches!(
        broken.problem,
        LinkProblem::Deleted { first: 2, last: 2 }
    ));
}

#[test]
fn a_record_dated_before_the_one_ahead_of_it_is_out_of_place() {
    let mut c = chain(3);
    c[2].at_ms = c[1].at_ms - 1;
    c[2].hash = c[2].computed_hash();
    let broken = verify_chain(&c).unwrap_err();
    assert_eq!(broken.seq, 3);
    let LinkProblem::Reordered { why } = &broken.problem else {
        panic!("{broken:?}");
    };
    assert!(why.contains("dated before #2"));
}

#[test]
fn an_anchor_finds_records_deleted_from_the_end_and_rewritten_ones() {
    let c = chain(5);
    let head = c[2].head();
    let anchored = c[4].head();
    let broken = check_anchor("export batch RXX-W07-B000005", &anchored, None, &head).unwrap_err();
    assert_eq!(
        broken.words(),
        "audit records after #3 have been deleted: export batch RXX-W07-B000005 carries audit \
         record #5"
    );
    let broken = check_anchor("the batch", &c[1].head(), Some(&c[2].hash), &head).unwrap_err();
    assert_eq!(broken.seq, 2);
    assert!(matches!(broken.problem, LinkProblem::AnchorDiffers { .. }));
    assert_eq!(
        check_anchor("b", &c[1].head(), Some(&c[1].hash), &head),
        Ok(())
    );
}

#[test]
fn actions_are_stored_as_stable_words_and_unknown_words_are_refused() {
    for a in AuditAction::ALL {
        assert_eq!(a.word().parse::<AuditAction>(), Ok(a));
    }
    assert_eq!(AuditAction::ClosedOut.word(), "closed_out");
    assert!("dance".parse::<AuditAction>().is_err());
}
