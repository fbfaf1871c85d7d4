use std::sync::OnceLock;

use chrono::{DateTime, Duration, TimeZone, Utc};
use uuid::Uuid;

use super::*;
use crate::domain::catalogue::Catalogue;
use crate::domain::downtime_id::DowntimeId;
use crate::domain::event::{Actor, EventKind};
use crate::domain::request::{NewRequest, Priority, RequestDraft};
use crate::domain::status::Transition;
use crate::files::{Overwrite, sha256_hex, write_atomic};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 4, 10, 0, 0).unwrap()
}

fn code(c: &str) -> Code3 {
    Code3::workstation(c).unwrap()
}

fn source() -> Source {
    Source {
        site: code("RXX"),
        workstation: code("W07"),
        written_at: t0() + Duration::hours(2),
        training: false,
    }
}

fn request(uuid: Uuid) -> NewRequest {
    static TEMPLATE: OnceLock<NewRequest> = OnceLock::new();
    let template = TEMPLATE.get_or_init(|| {
        RequestDraft {
            uuid: Uuid::nil(),
            nhs_number: "9990000018".into(),
            surname: "Testpatient".into(),
            dob: "01/01/1980".into(),
            ward: "W7".into(),
            consultant: "Dr A".into(),
            requester: "Dr B".into(),
            requester_contact: "1234".into(),
            priority: Some(Priority::Emergency),
            tests: vec!["FBC".into(), "UE".into()],
            collected_date: "04/06/2026".into(),
            collected_time: "09:30".into(),
            collected_by: "N".into(),
            ..Default::default()
        }
        .validate(t0(), &Utc, &Catalogue::default_uk().unwrap())
        .unwrap()
    });
    NewRequest {
        uuid,
        ..template.clone()
    }
}

/// `n` requests of site `site`, each created on W07, sent, and received on the lab PC L01.
fn histories(n: u32, site: &str) -> Vec<Event> {
    let mut out = Vec::new();
    let mut seq = 0;
    for i in 0..n {
        let uuid = Uuid::from_u128(u128::from(i) + 1);
        seq = DowntimeId::next_issuable(&code(site), &code("W07"), seq).unwrap();
        let id = DowntimeId::new(code(site), code("W07"), seq).unwrap();
        let minute = Duration::minutes(i64::from(i));
        let event = |k: u128, pc: &str, after: i64, kind| Event {
            id: Uuid::from_u128((u128::from(i) << 8) | k),
            request_uuid: uuid,
            actor: Actor {
                workstation: code(pc),
                user: "Nurse Bloggs".into(),
            },
            at: t0() + minute + Duration::minutes(after),
            kind,
        };
        out.push(event(
            0,
            "W07",
            0,
            EventKind::Created {
                downtime_id: id,
                request: Box::new(request(uuid)),
            },
        ));
        out.push(event(1, "W07", 5, status(Transition::Sent)));
        out.push(event(2, "L01", 30, status(Transition::Received)));
    }
    out
}

fn status(transition: Transition) -> EventKind {
    EventKind::StatusChanged { transition }
}

fn bundle(events: &[Event]) -> Vec<u8> {
    let mut out = Vec::new();
    write_bundle(&mut out, &source(), events).unwrap();
    out
}

fn read(bytes: &[u8]) -> Result<Bundle, BundleError> {
    read_bundle(bytes, HANDOVER_MAX_BYTES)
}

/// A bundle assembled line by line, as another program following the module doc would.
fn sealed(header: &str, events: &[String], count: usize, range: (&str, &str)) -> Vec<u8> {
    let mut body = format!("{header}\n");
    for e in events {
        body.push_str(e);
        body.push('\n');
    }
    let sha = sha256_hex(body.as_bytes());
    body.push_str(&format!(
        r#"{{"end":"stopgap-handover","events":{count},"first_event_at":{},"last_event_at":{},"sha256":"{sha}"}}"#,
        range.0, range.1
    ));
    body.push('\n');
    body.into_bytes()
}

const HEADER: &str = r#"{"format":"stopgap-handover","version":1,"site":"RXX","workstation":"L01","written_at":"2026-06-04T12:00:00Z"}"#;

fn json_lines(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .map(|e| serde_json::to_string(e).unwrap())
        .collect()
}

fn range_of(events: &[Event]) -> (String, String) {
    let first = events.iter().map(|e| e.at).min().unwrap();
    let last = events.iter().map(|e| e.at).max().unwrap();
    let q = |t: DateTime<Utc>| serde_json::to_string(&t).unwrap();
    (q(first), q(last))
}

#[test]
fn a_bundle_of_thousands_of_events_round_trips_through_a_file() {
    let events = histories(1_000, "RXX");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("W07-handover.jsonl");
    let mut summary = None;
    let written = write_atomic(&path, Overwrite::Refuse, |w| {
        summary = Some(write_bundle(w, &source(), &events)?);
        Ok::<(), WriteError>(())
    })
    .unwrap();
    let summary = summary.unwrap();

    let b = read_bundle_file(&path).unwrap();
    assert_eq!(b.events, events);
    assert_eq!(b.source, source());
    assert_eq!(b.summary, summary);
    assert_eq!(b.summary.event_count, 3_000);
    assert_eq!(
        b.summary.time_range,
        Some((t0(), t0() + Duration::minutes(999 + 30)))
    );
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(u64::try_from(bytes.len()).unwrap(), written.bytes);
    assert!(bytes.starts_with(HEADER_START.as_bytes()));
    let trailer_at = bytes[..bytes.len() - 1]
        .iter()
        .rposition(|&c| c == b'\n')
        .unwrap()
        + 1;
    assert!(bytes[trailer_at..].starts_with(TRAILER_START.as_bytes()));
    assert_eq!(sha256_hex(&bytes[..trailer_at]), summary.sha256);
}

#[test]
fn a_bundle_without_events_round_trips() {
    let b = read(&bundle(&[])).unwrap();
    assert!(b.events.is_empty());
    assert_eq!(b.summary.event_count, 0);
    assert_eq!(b.summary.time_range, None);
}

#[test]
fn a_bundle_cut_short_anywhere_is_refused_as_truncated() {
    let bytes = bundle(&histories(2, "RXX"));
    for len in 0..bytes.len() {
        match read(&bytes[..len]) {
            Err(BundleError::Truncated) => {}
            other => panic!("cut at {len} of {}: {other:?}", bytes.len()),
        }
    }
    assert!(read(&bytes).is_ok());
    assert_eq!(
        BundleError::Truncated.to_string(),
        "the handover bundle is cut short (it has no complete closing line): the copy was \
         interrupted or the USB stick removed too early; copy it again from the sending PC"
    );
}

#[test]
fn a_flipped_byte_anywhere_is_refused_and_in_an_event_as_altered() {
    let events = histories(2, "RXX");
    let bytes = bundle(&events);
    let header_end = bytes.iter().position(|&c| c == b'\n').unwrap();
    let trailer_start = bytes[..bytes.len() - 1]
        .iter()
        .rposition(|&c| c == b'\n')
        .unwrap();
    for i in 0..bytes.len() {
        let mut damaged = bytes.clone();
        damaged[i] ^= 0x01;
        let got = read(&damaged);
        assert!(got.is_err(), "byte {i} flipped was read: {got:?}");
        let in_an_event = i > header_end && i < trailer_start && bytes[i] != b'\n';
        if in_an_event {
            assert!(
                matches!(got, Err(BundleError::Altered { .. })),
                "byte {i}: {got:?}"
            );
        }
    }
}

#[test]
fn a_foreign_file_is_refused_as_not_a_bundle() {
    let csv = b"downtime_id,nhs_number\nRXX-W07-000001-K,9990000018\n".as_slice();
    let other_json = br#"{"resourceType":"Bundle","type":"transaction"}"#.as_slice();
    let pdf = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".as_slice();
    for bytes in [csv, other_json, pdf, b"{}".as_slice()] {
        match read(bytes) {
            Err(BundleError::Foreign) => {}
            other => panic!("{:?}: {other:?}", String::from_utf8_lossy(bytes)),
        }
    }
    assert!(
        BundleError::Foreign
            .to_string()
            .contains("choose a file written by Stopgap's handover export")
    );
}

#[test]
fn a_future_version_is_refused_before_anything_else_is_read() {
    let future =
        b"{\"format\":\"stopgap-handover\",\"version\":2,\"compressed\":true}\n\x1f\x8b\x08";
    let e = read(future).unwrap_err();
    assert!(
        matches!(e, BundleError::FutureVersion { version: 2 }),
        "{e:?}"
    );
    assert!(e.to_string().contains("update Stopgap on this PC"), "{e}");
    let v0 = sealed(
        &HEADER.replace("\"version\":1", "\"version\":0"),
        &[],
        0,
        ("null", "null"),
    );
    assert!(matches!(read(&v0), Err(BundleError::Foreign)));
}

#[test]
fn a_malformed_event_line_is_refused_naming_its_line() {
    let events = histories(1, "RXX");
    let mut lines = json_lines(&events);
    lines[1] = lines[1].replace("\"sent\"", "\"posted\"");
    let (first, last) = range_of(&events);
    let e = read(&sealed(HEADER, &lines, 3, (&first, &last))).unwrap_err();
    assert!(matches!(e, BundleError::BadEvent { line: 3, .. }), "{e:?}");
    assert!(
        e.to_string()
            .starts_with("line 3 of the handover bundle is not a valid event")
    );

    let bad_header = HEADER.replace("\"RXX\"", "\"R-X\"");
    let e = read(&sealed(&bad_header, &[], 0, ("null", "null"))).unwrap_err();
    assert!(matches!(e, BundleError::BadHeader(_)), "{e:?}");
}

#[test]
fn a_trailer_disagreeing_with_the_events_is_refused() {
    let events = histories(1, "RXX");
    let lines = json_lines(&events);
    let (first, last) = range_of(&events);
    let e = read(&sealed(HEADER, &lines, 4, (&first, &last))).unwrap_err();
    assert!(
        matches!(e, BundleError::CountMismatch { said: 4, found: 3 }),
        "{e:?}"
    );
    let e = read(&sealed(HEADER, &lines, 3, (&first, &first))).unwrap_err();
    assert!(matches!(e, BundleError::RangeMismatch), "{e:?}");
}

#[test]
fn anything_after_the_closing_line_is_refused() {
    let one = bundle(&histories(1, "RXX"));
    let joined = [one.clone(), one].concat();
    let e = read(&joined).unwrap_err();
    assert!(matches!(e, BundleError::AfterEnd { line: 6 }), "{e:?}");
}

#[test]
fn a_creation_of_another_site_is_refused_by_writer_and_reader() {
    let events = histories(1, "RYY");
    let mut out = Vec::new();
    let e = write_bundle(&mut out, &source(), &events).unwrap_err();
    assert!(matches!(e, WriteError::OtherSite { .. }), "{e:?}");

    let (first, last) = range_of(&events);
    let e = read(&sealed(HEADER, &json_lines(&events), 3, (&first, &last))).unwrap_err();
    assert!(
        matches!(&e, BundleError::SiteMismatch { line: 2, event_site, .. } if event_site.as_str() == "RYY"),
        "{e:?}"
    );
}

#[test]
fn events_recorded_on_other_pcs_travel_in_a_bundle() {
    // The lab's bundle relays the ward's creation with its own receipt.
    let events = histories(3, "RXX");
    let (first, last) = range_of(&events);
    let b = read(&sealed(HEADER, &json_lines(&events), 9, (&first, &last))).unwrap();
    assert_eq!(b.source.workstation.as_str(), "L01");
    assert_eq!(b.events, events);
}

#[test]
fn a_bundle_over_the_size_limit_is_refused() {
    let bytes = bundle(&histories(2, "RXX"));
    let len = u64::try_from(bytes.len()).unwrap();
    assert!(read_bundle(bytes.as_slice(), len).is_ok());
    let e = read_bundle(bytes.as_slice(), len - 1).unwrap_err();
    assert!(matches!(e, BundleError::TooBig { .. }), "{e:?}");

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.jsonl");
    // Sparse: larger than the limit on paper, no disk used.
    std::fs::File::create(&path)
        .unwrap()
        .set_len(HANDOVER_MAX_BYTES + 1)
        .unwrap();
    let e = read_bundle_file(&path).unwrap_err();
    assert!(matches!(e, BundleError::File(_)), "{e:?}");
    assert!(
        crate::error::error_chain(&e).contains("a handover bundle may be at most 256 MB"),
        "{}",
        crate::error::error_chain(&e)
    );
}

#[test]
fn a_bundle_written_by_hand_from_the_module_doc_is_read() {
    let line = r#"{"id":"00000000-0000-4000-8000-000000000002","request_uuid":"00000000-0000-4000-8000-000000000001","actor":{"workstation":"L01","user":"J Smith"},"at":"2026-06-04T10:41:00Z","kind":{"kind":"status_changed","transition":{"to":"received"}}}"#;
    let bytes = sealed(
        HEADER,
        &[line.to_owned()],
        1,
        ("\"2026-06-04T10:41:00Z\"", "\"2026-06-04T10:41:00Z\""),
    );
    let b = read(&bytes).unwrap();
    let [e] = b.events.as_slice() else {
        panic!("{:?}", b.events)
    };
    assert_eq!(e.kind, status(Transition::Received));
    assert_eq!(e.actor.user, "J Smith");
    assert_eq!(b.source.written_at, t0() + Duration::hours(2));
}

#[test]
fn a_bundle_is_checked_against_this_pcs_site() {
    let b = read(&bundle(&[])).unwrap();
    assert!(b.check_site(&code("RXX")).is_ok());
    let e = b.check_site(&code("RYY")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "the handover bundle is from site RXX, but this PC is set up for site RYY: import only \
         bundles of this hospital site"
    );
}
