//! The rules for a phoned result, on a real checked request (synthetic patient).

use chrono::{Duration, FixedOffset, TimeZone, Utc};
use uuid::Uuid;

use super::*;
use crate::domain::catalogue::Catalogue;
use crate::domain::downtime_id::{Code3, DowntimeId};
use crate::domain::event::Actor;
use crate::domain::request::{Priority, RequestDraft};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 4, 11, 30, 0).unwrap()
}

/// An urgent FBC + U&E request collected at 10:20 on 04/06/2026.
fn request() -> NewRequest {
    RequestDraft {
        uuid: Uuid::new_v4(),
        nhs_number: "999 000 0018".into(),
        surname: "Testpatient".into(),
        dob: "01/01/1980".into(),
        ward: "Ward 7".into(),
        consultant: "Dr Example".into(),
        requester: "Dr Jones".into(),
        requester_contact: "Bleep 1234".into(),
        priority: Some(Priority::Urgent),
        tests: vec!["FBC".into(), "UE".into()],
        collected_date: "04/06/2026".into(),
        collected_time: "10:20".into(),
        collected_by: "Nurse Bloggs".into(),
        ..RequestDraft::default()
    }
    .validate(now(), &Utc, &Catalogue::default_uk().unwrap())
    .unwrap()
}

fn good() -> PhonedDraft {
    PhonedDraft {
        test: "FBC".into(),
        summary: "Hb 62 g/L".into(),
        date: "04/06/2026".into(),
        time: "11:15".into(),
        phoned_by: "Lab Scientist".into(),
        received_by: "Nurse Ade".into(),
        read_back: Some(true),
    }
}

fn fields(d: &PhonedDraft) -> Vec<PhonedField> {
    match d.validate(&request(), now(), &Utc) {
        Ok(_) => vec![],
        Err(es) => es.into_iter().map(|e| e.field).collect(),
    }
}

fn message(d: &PhonedDraft, f: PhonedField) -> String {
    d.validate(&request(), now(), &Utc)
        .unwrap_err()
        .into_iter()
        .find(|e| e.field == f)
        .unwrap()
        .message
}

#[test]
fn a_complete_draft_becomes_a_phoned_result_in_utc() {
    let bst = FixedOffset::east_opt(3600).unwrap();
    let mut d = good();
    d.time = "12:15".into();
    let r = d.validate(&request(), now(), &bst).unwrap();
    assert_eq!(r.test, "FBC");
    assert_eq!(r.summary, "Hb 62 g/L");
    assert_eq!(
        r.phoned_at,
        Utc.with_ymd_and_hms(2026, 6, 4, 11, 15, 0).unwrap()
    );
    assert!(r.read_back);
    assert!(r.problems(&request(), now(), &Utc).is_empty());
}

#[test]
fn an_empty_draft_names_every_field_in_form_order() {
    assert_eq!(
        fields(&PhonedDraft::default()),
        [
            PhonedField::Test,
            PhonedField::Summary,
            PhonedField::Date,
            PhonedField::Time,
            PhonedField::PhonedBy,
            PhonedField::ReceivedBy,
            PhonedField::ReadBack,
        ]
    );
}

#[test]
fn the_test_is_one_of_the_requests_by_code_or_name_ignoring_case() {
    let mut d = good();
    d.test = "full blood count".into();
    assert_eq!(d.validate(&request(), now(), &Utc).unwrap().test, "FBC");
    d.test = " ue ".into();
    assert_eq!(d.validate(&request(), now(), &Utc).unwrap().test, "UE");
}

#[test]
fn a_result_for_a_test_not_requested_is_refused_with_the_tests_asked_for() {
    let mut d = good();
    d.test = "TROP".into();
    let m = message(&d, PhonedField::Test);
    assert!(m.contains("'TROP' was not requested"), "{m}");
    assert!(m.contains("FBC, UE"), "{m}");
    assert_eq!(fields(&d), [PhonedField::Test]);
}

#[test]
fn the_summary_is_required_limited_and_free_of_hidden_characters() {
    let mut d = good();
    d.summary = "   ".into();
    assert!(message(&d, PhonedField::Summary).contains("Type the result"));
    d.summary = "x".repeat(SUMMARY_MAX + 1);
    assert!(message(&d, PhonedField::Summary).contains("too long"));
    d.summary = "K+ 6.8\u{202E}".into();
    assert!(message(&d, PhonedField::Summary).contains("text-direction"));
    d.summary = "K+ 6.8\nrepeat".into();
    assert!(message(&d, PhonedField::Summary).contains("control character"));
    d.summary = "Ne\u{301}gative".into();
    assert_eq!(
        d.validate(&request(), now(), &Utc).unwrap().summary,
        "N\u{e9}gative"
    );
}

#[test]
fn phoned_at_is_not_in_the_future_beyond_the_clock_skew() {
    let mut d = good();
    d.time = "11:34".into(); // 4 minutes ahead: clock skew allowed
    assert_eq!(fields(&d), []);
    d.time = "11:36".into();
    assert!(message(&d, PhonedField::Time).contains("in the future"));
    d.date = "05/06/2026".into();
    d.time = "09:00".into();
    assert_eq!(fields(&d), [PhonedField::Time]);
}

#[test]
fn phoned_at_is_not_before_the_collection() {
    let mut d = good();
    d.time = "10:20".into();
    assert_eq!(fields(&d), [], "the same minute as the collection");
    d.time = "10:19".into();
    let m = message(&d, PhonedField::Time);
    assert!(
        m.contains("before the sample was collected (10:20 04/06/2026)"),
        "{m}"
    );
}

#[test]
fn dates_and_times_that_do_not_parse_are_named_at_their_field() {
    let mut d = good();
    d.date = "31/02/2026".into();
    d.time = "25:00".into();
    assert_eq!(fields(&d), [PhonedField::Date, PhonedField::Time]);
    assert!(message(&d, PhonedField::Date).contains("DD/MM/YYYY"));
}

#[test]
fn both_names_are_required_and_checked() {
    let mut d = good();
    d.phoned_by = "".into();
    d.received_by = "--".into();
    assert_eq!(fields(&d), [PhonedField::PhonedBy, PhonedField::ReceivedBy]);
    assert!(message(&d, PhonedField::ReceivedBy).contains("letters or digits"));
    d.received_by = "Nurse\u{7}".into();
    assert!(message(&d, PhonedField::ReceivedBy).contains("control character"));
}

#[test]
fn read_back_must_be_said_and_not_read_back_is_recordable_and_said_loudly() {
    let mut d = good();
    d.read_back = None;
    assert!(message(&d, PhonedField::ReadBack).contains("NOT read back"));
    d.read_back = Some(false);
    let r = d.validate(&request(), now(), &Utc).unwrap();
    assert!(!r.read_back);
    assert_eq!(r.read_back_words(), "NOT read back");
    assert!(r.line().ends_with("(NOT read back)"));
}

#[test]
fn a_new_draft_is_phoned_now_by_the_user_with_a_single_test_chosen() {
    let mut one = request();
    one.tests.truncate(1);
    let d = PhonedDraft::new(&one, " J Smith ", now(), &Utc);
    assert_eq!(
        (d.test.as_str(), d.date.as_str(), d.time.as_str()),
        ("FBC", "04/06/2026", "11:30")
    );
    assert_eq!(d.phoned_by, "J Smith");
    assert_eq!(d.read_back, None, "never assumed");
    assert_eq!(
        PhonedDraft::new(&request(), "J Smith", now(), &Utc).test,
        ""
    );
}

#[test]
fn problems_refuse_a_result_that_did_not_come_through_the_form() {
    let mut r = good().validate(&request(), now(), &Utc).unwrap();
    r.test = "TROP".into();
    r.received_by = " Nurse Ade ".into();
    r.phoned_at = request().collected_at - Duration::minutes(1);
    let fields: Vec<PhonedField> = r
        .problems(&request(), now(), &Utc)
        .into_iter()
        .map(|e| e.field)
        .collect();
    assert_eq!(
        fields,
        [
            PhonedField::Test,
            PhonedField::ReceivedBy,
            PhonedField::Time
        ]
    );
}

#[test]
fn request_times_take_the_first_of_each_step_from_the_events() {
    let r = request();
    let actor = Actor {
        workstation: Code3::workstation("W07").unwrap(),
        user: "N".into(),
    };
    let at = |m: i64| r.collected_at + Duration::minutes(m);
    let event = |m: i64, kind: EventKind| Event {
        id: Uuid::new_v4(),
        request_uuid: r.uuid,
        actor: actor.clone(),
        at: at(m),
        kind,
    };
    let phoned = |m: i64| EventKind::ResultPhoned {
        phoned: Box::new(PhonedResult {
            phoned_at: at(m),
            ..good().validate(&r, now(), &Utc).unwrap()
        }),
    };
    let created = event(
        0,
        EventKind::Created {
            downtime_id: DowntimeId::new(
                Code3::site("RXX").unwrap(),
                Code3::workstation("W07").unwrap(),
                1,
            )
            .unwrap(),
            request: Box::new(r.clone()),
        },
    );
    let status = |m, transition| event(m, EventKind::StatusChanged { transition });
    let events = vec![
        created,
        status(10, Transition::Sent),
        status(30, Transition::Received),
        // Typed after the later call, but phoned first: the phoned time counts.
        event(60, phoned(50)),
        event(61, phoned(45)),
    ];
    let t = RequestTimes::of(&r, &events);
    assert_eq!(t.collected, r.collected_at);
    assert_eq!(t.sent, Some(at(10)));
    assert_eq!(t.received, Some(at(30)));
    assert_eq!(t.phoned, Some(at(45)));
    assert_eq!(t.reentered, None);
    assert_eq!(phoned_results(&events).count(), 2);
}
