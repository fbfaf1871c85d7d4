#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on purpose"
)]
//! Exports read back by independent parsers: HL7 with the `hl7-parser` crate, FHIR with
//! serde_json, CSV with the `csv` crate. Free text of any kind must come back as typed and never
//! add a segment, field or column.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use hl7_parser::Message;
use proptest::prelude::*;
use serde_json::Value;
use stopgap::domain::catalogue::{Catalogue, RequestedTest, tubes_in_draw_order};
use stopgap::domain::downtime_id::{Code3, DowntimeId};
use stopgap::domain::event::{Actor, RequestState};
use stopgap::domain::nhs_number::NhsNumber;
use stopgap::domain::request::{NewRequest, Patient, Priority, Sex};
use stopgap::domain::status::Status;
use stopgap::export::{
    CSV_COLUMNS, CSV_COLUMNS_PER_TEST, CsvOptions, ExportContext, ExportError, Format, Profile,
    check_mappings, unneutralise, write_export,
};
use uuid::Uuid;

fn t(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 4, h, m, 0).unwrap()
}

fn tests_for(codes: &[&str]) -> Vec<RequestedTest> {
    let cat = Catalogue::default_uk().unwrap();
    codes
        .iter()
        .map(|c| RequestedTest::from(cat.test(c).unwrap()))
        .collect()
}

/// A request state built directly (not through validation), for synthetic patient `n`.
fn state(n: u32, codes: &[&str]) -> RequestState {
    let uuid = Uuid::from_u128(0x5709_0000_0000_4000_8000_0000_0000_0000 + u128::from(n));
    let site = Code3::site("RXX").unwrap();
    let ws = Code3::workstation("W07").unwrap();
    let seq = (n..)
        .find(|&s| DowntimeId::is_issuable(&site, &ws, s))
        .unwrap();
    RequestState {
        downtime_id: DowntimeId::new(site, ws.clone(), seq).unwrap(),
        request: NewRequest {
            uuid,
            patient: Patient {
                surname: format!("Testpatient{n}"),
                forename: "Alice".into(),
                dob: NaiveDate::from_ymd_opt(1980, 1, 1),
                sex: Sex::Female,
                nhs_number: (n..).find_map(NhsNumber::test_number),
                mrn: Some(format!("K{:07}", n)),
                emergency_number: None,
            },
            ward: "Ward 7".into(),
            consultant: "Dr Example".into(),
            requester: "Dr Jones".into(),
            requester_contact: "Bleep 1234".into(),
            tests: tests_for(codes),
            priority: Priority::Emergency,
            collected_at: t(10, 20),
            collected_by: "Nurse Bloggs".into(),
            clinical_details: "Query sepsis".into(),
            notes: String::new(),
            identity_override: None,
        },
        status: Status::Logged,
        accession: None,
        reason: None,
        created_at: t(10, 25),
        created_by: Actor {
            workstation: ws,
            user: "Nurse Bloggs".into(),
        },
        updated_at: t(10, 25),
        last_event: Uuid::nil(),
    }
}

fn ctx() -> ExportContext {
    ExportContext {
        profile: Profile::default_profile(),
        generated_at: t(10, 30),
        batch_id: "B000012".into(),
        csv: CsvOptions::default(),
        mllp: false,
        training: false,
        wards: Vec::new(),
    }
}

fn export(format: Format, requests: &[RequestState], ctx: &ExportContext) -> Vec<u8> {
    let mut out = Vec::new();
    write_export(format, requests, ctx, &mut out).unwrap();
    out
}

/// The messages of an HL7 export: each starts with `MSH|` at the start or after a CR (a CR
/// never appears inside a message's text, so this is exact).
fn messages(bytes: &[u8]) -> Vec<String> {
    let text = std::str::from_utf8(bytes).unwrap();
    assert!(
        text.is_empty() || text.ends_with('\r'),
        "export ends with CR"
    );
    let mut out: Vec<String> = Vec::new();
    for seg in text.split_terminator('\r') {
        if seg.starts_with("MSH|") {
            out.push(String::new());
        }
        let msg = out.last_mut().expect("export starts with MSH");
        msg.push_str(seg);
        msg.push('\r');
    }
    out
}

fn parse(msg: &str) -> Message<'_> {
    // hl7-parser reads CR-separated segments; the message's final CR ends its last segment.
    Message::parse(msg.strip_suffix('\r').unwrap()).unwrap()
}

/// HL7 unescaping written here, apart from the writer: `\F\ \S\ \R\ \E\ \T\`, `\.br\` → LF,
/// `\Xhh…\` → bytes. (hl7-parser's own decoder is used too, on ASCII text: it indexes by
/// character, not byte, so it garbles escapes after non-ASCII text.)
fn unescape(s: &str) -> String {
    let mut out: Vec<u8> = Vec::new();
    let mut rest = s;
    while let Some(start) = rest.find('\\') {
        out.extend_from_slice(&rest.as_bytes()[..start]);
        let after = &rest[start + 1..];
        let end = after.find('\\').expect("escape sequence is closed");
        let seq = &after[..end];
        match seq {
            "F" => out.push(b'|'),
            "S" => out.push(b'^'),
            "R" => out.push(b'~'),
            "E" => out.push(b'\\'),
            "T" => out.push(b'&'),
            ".br" => out.push(b'\n'),
            hex if hex.starts_with('X') => {
                let digits = &hex[1..];
                for i in (0..digits.len()).step_by(2) {
                    out.push(u8::from_str_radix(&digits[i..i + 2], 16).unwrap());
                }
            }
            other => panic!("unexpected escape {other:?}"),
        }
        rest = &after[end + 1..];
    }
    out.extend_from_slice(rest.as_bytes());
    String::from_utf8(out).unwrap()
}

/// Text as it comes back from HL7: line breaks (CRLF, CR, LF) become LF.
fn lines_normalised(s: &str) -> String {
    s.replace("\r\n", "\n").replace('\r', "\n")
}

fn raw<'a>(m: &'a Message<'_>, seg: &str, n: usize, field: usize) -> &'a str {
    m.segment_n(seg, n)
        .and_then(|s| s.field(field))
        .map_or("", |f| f.raw_value())
}

fn comp<'a>(m: &'a Message<'_>, seg: &str, n: usize, field: usize, c: usize) -> &'a str {
    m.segment_n(seg, n)
        .and_then(|s| s.field(field))
        .and_then(|f| f.component(c))
        .map_or("", |c| c.raw_value())
}

fn names(m: &Message<'_>) -> Vec<String> {
    m.segments().map(|s| s.name.to_owned()).collect()
}

#[test]
fn oml_fields_parse_back_with_an_independent_parser() {
    let mut r = state(1, &["FBC", "UE"]);
    r.request.clinical_details = "Pain | score ^ 7 ~ 8 \\ ok & more\r\nline two".into();
    r.request.notes = "Second note".into();
    r.accession = Some("L26.0001".into());
    r.status = Status::Reentered;
    let c = ctx();
    let bytes = export(Format::Hl7Oml, std::slice::from_ref(&r), &c);
    let msgs = messages(&bytes);
    assert_eq!(msgs.len(), 1);
    let m = parse(&msgs[0]);
    let id = r.downtime_id.canonical();
    let nhs = r.request.patient.nhs_number.unwrap().digits();

    assert_eq!(raw(&m, "MSH", 1, 9), "OML^O21^OML_O21");
    assert_eq!(raw(&m, "MSH", 1, 10), "B000012-000001");
    assert_eq!(raw(&m, "MSH", 1, 12), "2.5.1");
    assert_eq!(raw(&m, "MSH", 1, 7), "20260604103000+0000");
    let pid3 = m.segment("PID").unwrap().field(3).unwrap();
    let repeats: Vec<&str> = pid3.repeats().map(|r| r.raw_value()).collect();
    assert_eq!(
        repeats,
        [format!("{nhs}^^^NHS^NH"), "K0000001^^^RXX^MR".to_owned()]
    );
    assert_eq!(
        pid3.repeat(2).unwrap().component(5).unwrap().raw_value(),
        "MR"
    );
    assert_eq!(comp(&m, "PID", 1, 5, 1), "Testpatient1");
    assert_eq!(comp(&m, "PID", 1, 5, 2), "Alice");
    assert_eq!(raw(&m, "PID", 1, 7), "19800101");
    assert_eq!(raw(&m, "PID", 1, 8), "F");
    assert_eq!(raw(&m, "PV1", 1, 3), "WARD7^^^^^^^^Ward 7");
    assert_eq!(comp(&m, "PV1", 1, 7, 2), "Dr Example");

    for (n, code) in [(1, "FBC"), (2, "UE")] {
        let placer = format!("{id}-{n:02}");
        assert_eq!(comp(&m, "ORC", n, 2, 1), placer);
        assert_eq!(comp(&m, "ORC", n, 3, 1), "L26.0001");
        assert_eq!(comp(&m, "ORC", n, 4, 1), id);
        assert_eq!(raw(&m, "ORC", n, 9), "20260604102500+0000");
        assert_eq!(comp(&m, "ORC", n, 12, 2), "Dr Jones");
        assert_eq!(raw(&m, "TQ1", n, 9), "S^Stat^HL70485");
        assert_eq!(comp(&m, "OBR", n, 2, 1), placer);
        assert_eq!(comp(&m, "OBR", n, 3, 1), "L26.0001");
        assert_eq!(comp(&m, "OBR", n, 4, 1), code);
        assert_eq!(comp(&m, "OBR", n, 4, 3), "L");
        assert_eq!(raw(&m, "OBR", n, 7), "20260604102000+0000");
        assert_eq!(comp(&m, "OBR", n, 10, 2), "Nurse Bloggs");
        assert_eq!(comp(&m, "OBR", n, 16, 2), "Dr Jones");
        assert_eq!(raw(&m, "OBR", n, 17), "^^^^^^^^Bleep 1234");
        // OBR-13 is plain text on one line; the full text is in NTE-3.
        assert_eq!(
            unescape(raw(&m, "OBR", n, 13)),
            r.request
                .clinical_details
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        );
        assert_eq!(raw(&m, "SPM", n, 17), "20260604102000+0000");
        let spm2 = m.segment_n("SPM", n).unwrap().field(2).unwrap();
        let spm2 = spm2.component(1).unwrap();
        assert_eq!(spm2.subcomponent(1).unwrap().raw_value(), placer);
    }
    assert_eq!(comp(&m, "SPM", 1, 27, 1), "EDTA");
    assert_eq!(comp(&m, "SPM", 2, 27, 1), "SST");
    assert_eq!(comp(&m, "SPM", 2, 4, 1), "119364003");

    // NTE-3, through hl7-parser's own decoder (ASCII text) and through ours.
    let nte = m.segment_n("NTE", 1).unwrap().field(3).unwrap();
    assert_eq!(
        nte.display(&m.separators).to_string(),
        r.request.clinical_details.replace("\r\n", "\r")
    );
    assert_eq!(
        unescape(nte.raw_value()),
        lines_normalised(&r.request.clinical_details)
    );
    assert_eq!(unescape(raw(&m, "NTE", 2, 3)), "Second note");
    assert_eq!(unescape(raw(&m, "NTE", 3, 3)), "Nurse Bloggs");
    assert_eq!(comp(&m, "NTE", 3, 4, 1), "CB");
}

#[test]
fn orm_fields_parse_back_with_an_independent_parser() {
    let r = state(2, &["COAG"]);
    let bytes = export(Format::Hl7Orm, std::slice::from_ref(&r), &ctx());
    let msgs = messages(&bytes);
    let m = parse(&msgs[0]);
    let id = r.downtime_id.canonical();
    assert_eq!(raw(&m, "MSH", 1, 9), "ORM^O01");
    assert_eq!(raw(&m, "MSH", 1, 12), "2.4");
    assert_eq!(names(&m), ["MSH", "PID", "PV1", "ORC", "OBR", "NTE", "NTE"]);
    assert_eq!(comp(&m, "ORC", 1, 2, 1), format!("{id}-01"));
    assert_eq!(comp(&m, "ORC", 1, 4, 1), id);
    assert_eq!(comp(&m, "ORC", 1, 7, 4), "20260604102000+0000");
    assert_eq!(comp(&m, "ORC", 1, 7, 6), "S");
    assert_eq!(raw(&m, "OBR", 1, 5), "S");
    assert_eq!(comp(&m, "OBR", 1, 27, 6), "S");
    assert_eq!(comp(&m, "OBR", 1, 4, 1), "COAG");
    assert_eq!(raw(&m, "OBR", 1, 7), "20260604102000+0000");
    let obr15 = m.segment("OBR").unwrap().field(15).unwrap();
    assert_eq!(
        obr15
            .component(1)
            .unwrap()
            .subcomponent(2)
            .unwrap()
            .raw_value(),
        "Plasma specimen"
    );
}

/// Segment names with the optional NTEs taken out.
fn shape(m: &Message<'_>) -> Vec<String> {
    names(m).into_iter().filter(|n| n != "NTE").collect()
}

#[test]
fn hl7_shape_matches_the_worked_examples() {
    // Copies of the team's worked examples (shared/examples, synthetic patient).
    let oml_example = include_str!("../fixtures/oml_o21_example.hl7");
    let orm_example = include_str!("../fixtures/orm_o01_example.hl7");
    let c = ctx();
    let oml = export(Format::Hl7Oml, &[state(3, &["FBC", "UE"])], &c);
    let oml = messages(&oml);
    let ours = parse(&oml[0]);
    let example = parse(oml_example);
    assert_eq!(shape(&ours), shape(&example));
    // NTEs come straight after an OBR or another NTE, as in the example.
    let n = names(&ours);
    for w in n.windows(2) {
        if w[1] == "NTE" {
            assert!(w[0] == "OBR" || w[0] == "NTE", "{n:?}");
        }
    }
    let orm = export(Format::Hl7Orm, &[state(4, &["COAG"])], &c);
    let orm = messages(&orm);
    assert_eq!(shape(&parse(&orm[0])), shape(&parse(orm_example)));
}

#[test]
fn mllp_frames_each_message() {
    let mut c = ctx();
    let rs = [state(5, &["FBC"]), state(6, &["UE"])];
    let plain = export(Format::Hl7Oml, &rs, &c);
    c.mllp = true;
    let framed = export(Format::Hl7Oml, &rs, &c);
    let msgs = messages(&plain);
    let mut expected = Vec::new();
    for m in &msgs {
        expected.push(0x0B);
        expected.extend_from_slice(m.as_bytes());
        expected.extend_from_slice(&[0x1C, 0x0D]);
    }
    assert_eq!(framed, expected);
}

#[test]
fn same_input_gives_same_bytes_and_unique_control_ids() {
    let rs: Vec<RequestState> = (10..15).map(|n| state(n, &["FBC", "UE", "GS"])).collect();
    let c = ctx();
    for f in [Format::Csv, Format::Hl7Oml, Format::Hl7Orm, Format::Fhir] {
        assert_eq!(export(f, &rs, &c), export(f, &rs, &c), "{f}");
    }
    let bytes = export(Format::Hl7Oml, &rs, &c);
    let ids: Vec<String> = messages(&bytes)
        .iter()
        .map(|m| raw(&parse(m), "MSH", 1, 10).to_owned())
        .collect();
    assert_eq!(ids.len(), 5);
    assert_eq!(ids.iter().collect::<BTreeSet<_>>().len(), 5);
    assert_eq!(ids[4], "B000012-000005");
}

fn bundle(rs: &[RequestState], c: &ExportContext) -> Value {
    serde_json::from_slice(&export(Format::Fhir, rs, c)).unwrap()
}

fn of_type<'a>(b: &'a Value, kind: &str) -> Vec<&'a Value> {
    b["entry"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["resource"]["resourceType"] == kind)
        .collect()
}

fn references(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, x) in map {
                if k == "reference" {
                    out.push(x.as_str().unwrap().to_owned());
                } else {
                    references(x, out);
                }
            }
        }
        Value::Array(xs) => xs.iter().for_each(|x| references(x, out)),
        _ => {}
    }
}

#[test]
fn fhir_bundle_references_resolve_and_counts_match() {
    let mut rs = vec![
        state(20, &["FBC", "UE", "CRP", "COAG", "GS"]),
        state(21, &["FBC"]),
    ];
    rs[1].accession = Some("L26.0002".into());
    rs[1].status = Status::Cancelled;
    rs[1].reason = Some("Duplicate".into());
    let b = bundle(&rs, &ctx());
    assert_eq!(b["resourceType"], "Bundle");
    assert_eq!(b["type"], "transaction");
    assert_eq!(b["identifier"]["value"], "B000012");
    let full_urls: BTreeSet<String> = b["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["fullUrl"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(full_urls.len(), b["entry"].as_array().unwrap().len());
    let mut refs = Vec::new();
    references(&b, &mut refs);
    assert!(!refs.is_empty());
    for r in &refs {
        assert!(r.starts_with("urn:uuid:"), "{r}");
        assert!(full_urls.contains(r), "{r} does not resolve");
    }

    let tubes: usize = rs
        .iter()
        .map(|r| tubes_in_draw_order(&r.request.tests).len())
        .sum();
    let tests: usize = rs.iter().map(|r| r.request.tests.len()).sum();
    assert_eq!(of_type(&b, "Patient").len(), 2);
    assert_eq!(of_type(&b, "Specimen").len(), tubes);
    assert_eq!(of_type(&b, "ServiceRequest").len(), tests);

    let p = of_type(&b, "Patient")[0];
    let nhs = rs[0].request.patient.nhs_number.unwrap().digits();
    assert_eq!(
        p["request"]["ifNoneExist"],
        format!("identifier=https://fhir.nhs.uk/Id/nhs-number|{nhs}")
    );
    assert_eq!(
        p["resource"]["identifier"][0]["system"],
        "https://fhir.nhs.uk/Id/nhs-number"
    );
    assert_eq!(p["resource"]["identifier"][0]["value"], nhs);
    assert_eq!(p["resource"]["identifier"][1]["value"], "K0000020");
    assert_eq!(p["resource"]["birthDate"], "1980-01-01");
    assert_eq!(p["resource"]["gender"], "female");

    let srs = of_type(&b, "ServiceRequest");
    let first = &srs[0]["resource"];
    let id = rs[0].downtime_id.canonical();
    assert_eq!(first["identifier"][0]["type"]["coding"][0]["code"], "PLAC");
    assert_eq!(first["identifier"][0]["value"], format!("{id}-01"));
    assert_eq!(first["identifier"][0]["system"], "urn:stopgap:placer-order");
    assert_eq!(first["requisition"]["value"], id);
    assert_eq!(first["status"], "active");
    assert_eq!(first["intent"], "order");
    assert_eq!(first["priority"], "stat");
    assert_eq!(first["code"]["coding"][0]["code"], "FBC");
    assert_eq!(first["authoredOn"], "2026-06-04T10:25:00Z");
    assert_eq!(first["requester"]["display"], "Dr Jones");
    assert_eq!(first["reasonCode"][0]["text"], "Query sepsis");
    assert_eq!(first["note"][0]["text"], "Clinical details: Query sepsis");
    let last = &srs[srs.len() - 1]["resource"];
    assert_eq!(last["identifier"][1]["type"]["coding"][0]["code"], "FILL");
    assert_eq!(last["identifier"][1]["value"], "L26.0002");
    assert_eq!(last["status"], "revoked");
    let sp = &of_type(&b, "Specimen")[0]["resource"];
    assert_eq!(
        sp["collection"]["collectedDateTime"],
        "2026-06-04T10:20:00Z"
    );
    assert_eq!(sp["collection"]["collector"]["display"], "Nurse Bloggs");
}

#[test]
fn fhir_shares_one_patient_entry_between_requests_for_the_same_patient() {
    let a = state(30, &["FBC"]);
    let mut b = state(31, &["UE"]);
    b.request.patient = a.request.patient.clone();
    let bundle = bundle(&[a, b], &ctx());
    assert_eq!(of_type(&bundle, "Patient").len(), 1);
    let mut refs = Vec::new();
    references(&bundle, &mut refs);
    let patient_url = of_type(&bundle, "Patient")[0]["fullUrl"].as_str().unwrap();
    let srs = of_type(&bundle, "ServiceRequest");
    assert!(
        srs.iter()
            .all(|s| s["resource"]["subject"]["reference"] == patient_url)
    );
}

fn read_csv(bytes: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
    let mut rdr = csv::Reader::from_reader(bytes);
    let header = rdr.headers().unwrap().iter().map(str::to_owned).collect();
    let rows = rdr
        .records()
        .map(|r| {
            r.unwrap()
                .iter()
                .map(|c| unneutralise(c).to_owned())
                .collect()
        })
        .collect();
    (header, rows)
}

#[test]
fn csv_round_trips_per_request_and_per_test() {
    let mut rs = vec![state(40, &["FBC", "UE"]), state(41, &["CRP"])];
    rs[0].request.clinical_details = "=HYPERLINK(\"x\")\r\nsecond line, with comma".into();
    rs[0].request.requester_contact = "+44 7700 900123".into();
    rs[1].request.notes = "-".into();
    let mut c = ctx();
    let (header, rows) = read_csv(&export(Format::Csv, &rs, &c));
    assert_eq!(header, CSV_COLUMNS);
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r.len() == CSV_COLUMNS.len()));
    let col = |name: &str| CSV_COLUMNS.iter().position(|c| *c == name).unwrap();
    assert_eq!(rows[0][col("tests")], "FBC;UE");
    assert_eq!(
        rows[0][col("clinical_details")],
        rs[0].request.clinical_details
    );
    assert_eq!(rows[0][col("requester_contact")], "+44 7700 900123");
    assert_eq!(rows[1][col("notes")], "-");
    assert_eq!(rows[0][col("dob")], "1980-01-01");
    assert_eq!(rows[0][col("collected_at")], "2026-06-04T10:20:00Z");
    assert_eq!(rows[0][col("downtime_id")], rs[0].downtime_id.canonical());
    assert_eq!(rows[0][col("uuid")], rs[0].request.uuid.to_string());
    assert_eq!(rows[0][col("status")], "logged");
    assert_eq!(rows[0][col("priority")], "emergency");

    // The raw bytes never start a cell with a formula.
    let raw = String::from_utf8(export(Format::Csv, &rs, &c)).unwrap();
    assert!(raw.contains("\"'=HYPERLINK"));
    assert!(raw.contains(",'+44 7700 900123,"));

    c.csv.per_test = true;
    let (header, rows) = read_csv(&export(Format::Csv, &rs, &c));
    assert_eq!(header, CSV_COLUMNS_PER_TEST);
    assert_eq!(rows.len(), 3);
    let col = |name: &str| {
        CSV_COLUMNS_PER_TEST
            .iter()
            .position(|c| *c == name)
            .unwrap()
    };
    let tests: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r[col("tests")].as_str(), r[col("test_name")].as_str()))
        .collect();
    assert_eq!(tests[0], ("FBC", "Full blood count"));
    assert_eq!(tests[2].0, "CRP");

    c.csv.excel_bom = true;
    let with_bom = export(Format::Csv, &rs, &c);
    assert!(with_bom.starts_with("\u{feff}downtime_id,".as_bytes()));
}

#[test]
fn an_unmapped_test_names_test_and_request_and_writes_nothing() {
    let r = state(50, &["FBC", "TROP"]);
    let mut c = ctx();
    c.profile.tests.retain(|m| m.code != "TROP");
    for f in [Format::Hl7Oml, Format::Hl7Orm, Format::Fhir] {
        let mut out = Vec::new();
        let err = write_export(f, std::slice::from_ref(&r), &c, &mut out).unwrap_err();
        match &err {
            ExportError::UnmappedTest {
                downtime_id,
                code,
                profile,
            } => {
                assert_eq!(downtime_id, &r.downtime_id.grouped());
                assert_eq!(code, "TROP");
                assert_eq!(profile, c.profile.name());
            }
            other => panic!("expected UnmappedTest, got {other:?}"),
        }
        assert!(err.to_string().contains("TROP"));
        assert!(out.is_empty(), "{f} wrote {} bytes", out.len());
    }
    // CSV carries catalogue codes and needs no mapping.
    assert!(check_mappings(Format::Csv, &[r], &c.profile).is_ok());
}

const LOCAL_PROFILE: &str = r#"
name = "WinPath (Example Trust)"

[hl7]
version = "2.4"
processing_id = "T"
sending_application = "STOPGAP"
sending_facility = "RXX01"
receiving_application = "WINPATH"
receiving_facility = "RXX"
mrn_assigning_authority = "RXX"
patient_class = "I"
send_pv1 = false
send_nte = false
send_spm = false

[hl7.priority.emergency]
code = "S"
display = "Stat"
system = "HL70485"

[hl7.priority.urgent]
code = "U"
display = "Urgent"
system = "L"

[hl7.priority.routine]
code = "R"
display = "Routine"

[fhir]
hospital_number_system = "https://fhir.example-trust.nhs.uk/Id/hospital-number"
emergency_number_system = "https://fhir.example-trust.nhs.uk/Id/emergency-number"
placer_system = "https://fhir.example-trust.nhs.uk/Id/downtime-order"
filler_system = "https://fhir.example-trust.nhs.uk/Id/winpath-accession"
requisition_system = "https://fhir.example-trust.nhs.uk/Id/downtime-form"
specimen_system = "https://fhir.example-trust.nhs.uk/Id/downtime-specimen"
batch_system = "https://fhir.example-trust.nhs.uk/Id/downtime-batch"
test_code_system = "https://fhir.example-trust.nhs.uk/CodeSystem/winpath-tests"

[fhir.priority]
emergency = "stat"
urgent = "asap"
routine = "routine"

[[test]]
code = "FBC"
lims_code = "HFBC"
display = "FBC (WinPath)"
system = "WINPATH"

[[test]]
code = "UE"
lims_code = "CUE"
display = "U&E"
fhir_system = "http://example.org/other"
"#;

#[test]
fn a_toml_profile_maps_codes_and_priorities() {
    let profile = Profile::from_toml(LOCAL_PROFILE).unwrap();
    assert_eq!(profile.name(), "WinPath (Example Trust)");
    assert_eq!(Profile::from_toml(&profile.to_toml()).unwrap(), profile);
    let mut r = state(60, &["FBC", "UE"]);
    r.request.priority = Priority::Urgent;
    let c = ExportContext { profile, ..ctx() };

    let orm = export(Format::Hl7Orm, std::slice::from_ref(&r), &c);
    let orm = messages(&orm);
    let m = parse(&orm[0]);
    assert_eq!(names(&m), ["MSH", "PID", "ORC", "OBR", "ORC", "OBR"]);
    assert_eq!(raw(&m, "MSH", 1, 3), "STOPGAP");
    assert_eq!(raw(&m, "MSH", 1, 5), "WINPATH");
    assert_eq!(raw(&m, "MSH", 1, 11), "T");
    assert_eq!(raw(&m, "OBR", 1, 5), "U");
    assert_eq!(comp(&m, "ORC", 1, 7, 6), "U");
    assert_eq!(raw(&m, "OBR", 1, 4), "HFBC^FBC (WinPath)^WINPATH");
    assert_eq!(unescape(comp(&m, "OBR", 2, 4, 2)), "U&E");

    let oml = export(Format::Hl7Oml, std::slice::from_ref(&r), &c);
    let oml = messages(&oml);
    let m = parse(&oml[0]);
    assert_eq!(raw(&m, "TQ1", 1, 9), "U^Urgent^L");
    assert_eq!(
        names(&m),
        ["MSH", "PID", "ORC", "TQ1", "OBR", "ORC", "TQ1", "OBR"]
    );

    let b = bundle(std::slice::from_ref(&r), &c);
    let srs = of_type(&b, "ServiceRequest");
    assert_eq!(srs[0]["resource"]["priority"], "asap");
    assert_eq!(srs[0]["resource"]["code"]["coding"][0]["code"], "HFBC");
    assert_eq!(
        srs[0]["resource"]["code"]["coding"][0]["system"],
        "https://fhir.example-trust.nhs.uk/CodeSystem/winpath-tests"
    );
    assert_eq!(
        srs[1]["resource"]["code"]["coding"][0]["system"],
        "http://example.org/other"
    );

    // Routine maps to R in the same profile; emergency to S.
    r.request.priority = Priority::Routine;
    let orm = export(Format::Hl7Orm, std::slice::from_ref(&r), &c);
    assert_eq!(raw(&parse(&messages(&orm)[0]), "OBR", 1, 5), "R");
}

#[test]
fn unidentified_patient_exports_the_emergency_number() {
    let mut r = state(70, &["GS"]);
    r.request.patient = Patient {
        surname: "UNKNOWN".into(),
        forename: "Male".into(),
        dob: None,
        sex: Sex::Male,
        nhs_number: None,
        mrn: None,
        emergency_number: Some("AE-2026-0042".into()),
    };
    let c = ctx();
    let oml = export(Format::Hl7Oml, std::slice::from_ref(&r), &c);
    let oml = messages(&oml);
    let m = parse(&oml[0]);
    assert_eq!(raw(&m, "PID", 1, 3), "AE-2026-0042^^^RXX^PI");
    assert_eq!(raw(&m, "PID", 1, 7), "");
    assert_eq!(raw(&m, "PID", 1, 8), "M");
    let b = bundle(&[r], &c);
    let p = &of_type(&b, "Patient")[0];
    assert!(p["request"].get("ifNoneExist").is_none());
    assert_eq!(p["resource"]["identifier"][0]["value"], "AE-2026-0042");
    assert!(p["resource"].get("birthDate").is_none());
}

/// Any text, weighted towards what breaks HL7 and spreadsheets.
fn nasty_text() -> impl Strategy<Value = String> {
    let special = prop::sample::select(vec![
        '|', '^', '~', '\\', '&', '\r', '\n', '\t', '"', '\'', '=', '+', '-', '@', '\0', ',',
        '\u{0b}', '\u{1c}', '\u{85}', 'é', '\u{2028}',
    ]);
    prop::collection::vec(prop_oneof![any::<char>(), special], 0..24)
        .prop_map(|cs| cs.into_iter().collect())
}

#[derive(Debug, Clone)]
struct FreeText {
    surname: String,
    forename: String,
    ward: String,
    consultant: String,
    requester: String,
    contact: String,
    clinical: String,
    notes: String,
    collected_by: String,
}

fn free_text() -> impl Strategy<Value = FreeText> {
    (
        (
            nasty_text(),
            nasty_text(),
            nasty_text(),
            nasty_text(),
            nasty_text(),
        ),
        (nasty_text(), nasty_text(), nasty_text(), nasty_text()),
    )
        .prop_map(
            |(
                (surname, forename, ward, consultant, requester),
                (contact, clinical, notes, collected_by),
            )| {
                FreeText {
                    surname,
                    forename,
                    ward,
                    consultant,
                    requester,
                    contact,
                    clinical,
                    notes,
                    collected_by,
                }
            },
        )
}

fn with_text(ft: &FreeText) -> RequestState {
    let mut r = state(80, &["FBC", "UE"]);
    let q = &mut r.request;
    q.patient.surname = ft.surname.clone();
    q.patient.forename = ft.forename.clone();
    q.ward = ft.ward.clone();
    q.consultant = ft.consultant.clone();
    q.requester = ft.requester.clone();
    q.requester_contact = ft.contact.clone();
    q.clinical_details = ft.clinical.clone();
    q.notes = ft.notes.clone();
    q.collected_by = ft.collected_by.clone();
    r
}

/// Most fields each segment may have (trailing empty fields are left off).
fn max_fields(segment: &str) -> usize {
    match segment {
        "MSH" => 18,
        "PID" => 8,
        "PV1" => 7,
        "ORC" => 14,
        "TQ1" => 9,
        "OBR" => 27,
        "NTE" => 4,
        "SPM" => 27,
        other => panic!("unexpected segment {other}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn any_free_text_survives_hl7_and_adds_no_structure(ft in free_text()) {
        // A strict receiver refuses a name without a family name (the form never saves one).
        prop_assume!(!ft.surname.is_empty());
        let r = with_text(&ft);
        let bytes = export(Format::Hl7Oml, std::slice::from_ref(&r), &ctx());
        let msgs = messages(&bytes);
        prop_assert_eq!(msgs.len(), 1);
        let m = parse(&msgs[0]);
        let notes = [&ft.clinical, &ft.notes, &ft.collected_by]
            .iter()
            .filter(|s| !s.is_empty())
            .count();
        prop_assert_eq!(m.segments().count(), 3 + 2 * (4 + notes));
        for s in m.segments() {
            prop_assert!(s.fields.len() <= max_fields(s.name), "{} has {} fields", s.name, s.fields.len());
        }
        let pid5 = m.segment("PID").unwrap().field(5).unwrap();
        prop_assert_eq!(pid5.repeats().count(), 1);
        prop_assert!(pid5.repeat(1).unwrap().components().count() <= 2);
        prop_assert_eq!(unescape(comp(&m, "PID", 1, 5, 1)), lines_normalised(&ft.surname));
        prop_assert_eq!(unescape(comp(&m, "PID", 1, 5, 2)), lines_normalised(&ft.forename));
        prop_assert_eq!(m.segment("PID").unwrap().field(3).unwrap().repeats().count(), 2);
        prop_assert_eq!(unescape(comp(&m, "PV1", 1, 3, 9)), lines_normalised(&ft.ward));
        prop_assert_eq!(unescape(comp(&m, "PV1", 1, 7, 2)), lines_normalised(&ft.consultant));
        for n in 1..=2 {
            prop_assert_eq!(unescape(comp(&m, "ORC", n, 12, 2)), lines_normalised(&ft.requester));
            prop_assert_eq!(unescape(comp(&m, "OBR", n, 16, 2)), lines_normalised(&ft.requester));
            // A contact that is not a telephone number is in XTN.9; OBR-13 is one line.
            prop_assert_eq!(unescape(raw(&m, "ORC", n, 14).trim_start_matches('^')), lines_normalised(&ft.contact));
            prop_assert_eq!(unescape(raw(&m, "OBR", n, 13)), ft.clinical.split_whitespace().collect::<Vec<_>>().join(" "));
            prop_assert_eq!(unescape(comp(&m, "OBR", n, 10, 2)), lines_normalised(&ft.collected_by));
            prop_assert_eq!(comp(&m, "OBR", n, 4, 1), if n == 1 { "FBC" } else { "UE" });
        }
        // NTE-3 in order: clinical details, notes, collector, each only when typed.
        let typed: Vec<String> = [&ft.clinical, &ft.notes, &ft.collected_by]
            .iter()
            .filter(|s| !s.is_empty())
            .map(|s| lines_normalised(s))
            .collect();
        let ntes: Vec<String> = (1..=notes).map(|i| unescape(raw(&m, "NTE", i, 3))).collect();
        prop_assert_eq!(ntes, typed);
    }

    #[test]
    fn any_free_text_survives_csv_and_adds_no_column(ft in free_text(), per_test in any::<bool>()) {
        let r = with_text(&ft);
        let mut c = ctx();
        c.csv.per_test = per_test;
        let (header, rows) = read_csv(&export(Format::Csv, std::slice::from_ref(&r), &c));
        let cols = if per_test { CSV_COLUMNS_PER_TEST } else { CSV_COLUMNS };
        prop_assert_eq!(&header, cols);
        prop_assert_eq!(rows.len(), if per_test { 2 } else { 1 });
        let col = |name: &str| cols.iter().position(|c| *c == name).unwrap();
        for row in &rows {
            prop_assert_eq!(row.len(), cols.len());
            prop_assert_eq!(&row[col("surname")], &ft.surname);
            prop_assert_eq!(&row[col("forename")], &ft.forename);
            prop_assert_eq!(&row[col("ward")], &ft.ward);
            prop_assert_eq!(&row[col("consultant")], &ft.consultant);
            prop_assert_eq!(&row[col("requester")], &ft.requester);
            prop_assert_eq!(&row[col("requester_contact")], &ft.contact);
            prop_assert_eq!(&row[col("clinical_details")], &ft.clinical);
            prop_assert_eq!(&row[col("notes")], &ft.notes);
            prop_assert_eq!(&row[col("collected_by")], &ft.collected_by);
        }
    }
}
