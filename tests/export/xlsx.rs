#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on purpose"
)]
//! Spreadsheet exports: the .xlsx read back from its zip (sheet XML and styles) and checked
//! against the CSV of the same requests, and the golden files of both.
//!
//! Golden files live in `tests/golden/csv/` and `tests/golden/xlsx/`: a fixed set of awkward
//! requests (fixed clock, fixed UUIDs) is exported and compared byte for byte (for .xlsx: the
//! sheet XML and the styles after unzipping, as the zip's compressed bytes depend on the deflate
//! library). After an intended change of the output, regenerate them with
//! `STOPGAP_BLESS=1 cargo test --test export golden` and review the diff.

use std::collections::BTreeMap;
use std::io::Read;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use stopgap::domain::catalogue::{Catalogue, RequestedTest};
use stopgap::domain::downtime_id::{Code3, DowntimeId};
use stopgap::domain::event::{Actor, RequestState};
use stopgap::domain::nhs_number::NhsNumber;
use stopgap::domain::request::{NewRequest, Patient, Priority, Sex};
use stopgap::domain::status::Status;
use stopgap::export::{
    CSV_COLUMNS, CSV_COLUMNS_PER_TEST, CsvOptions, ExportContext, Format, Profile, unneutralise,
    write_export,
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

/// A request state built directly, for synthetic patient `n`, fixed UUID and clock.
fn state(n: u32, codes: &[&str]) -> RequestState {
    let uuid = Uuid::from_u128(0x5709_0000_0000_4000_8000_0000_0000_0000 + u128::from(n));
    let site = Code3::site("RXX").unwrap();
    let ws = Code3::workstation("W07").unwrap();
    // Ten sequence numbers apart, so that skipping an unissuable one never meets the next.
    let seq = (n * 10 + 1..)
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
                mrn: Some(format!("{n:07}")),
                emergency_number: None,
            },
            ward: "Ward 7".into(),
            consultant: "Dr Example".into(),
            requester: "Dr Jones".into(),
            requester_contact: "07700 900123".into(),
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

/// The fixed set: leading zeros, phone numbers, formula starts (ASCII and full-width), quotes,
/// line breaks, non-Latin names, an unknown patient with no date of birth, a date of birth a
/// spreadsheet cannot hold, and a request with a LIMS accession and a reason.
fn awkward() -> Vec<RequestState> {
    let mut a = state(1, &["FBC", "UE"]);
    a.request.patient.surname = "O'Brien".into();
    a.request.patient.forename = "Zoë".into();
    a.request.requester_contact = "+44 7700 900123".into();
    a.request.clinical_details = "=HYPERLINK(\"http://example.invalid\",\"x\")\nline two".into();
    a.request.notes = "-ve last week; @ward".into();

    let mut b = state(2, &["CRP"]);
    b.request.patient.surname = "Nguyễn".into();
    b.request.patient.forename = "Thị Minh".into();
    b.request.clinical_details = "\u{ff1d}1+1 and \u{ff0b}44".into();
    b.request.notes = "'=already quoted".into();
    b.request.patient.mrn = Some("0000042".into());
    b.status = Status::Received;
    b.accession = Some("000123".into());
    b.reason = Some("_x0041_ kept as typed".into());

    let mut c = state(3, &["GS"]);
    c.request.patient = Patient {
        surname: "Unknown".into(),
        forename: "Male".into(),
        dob: None,
        sex: Sex::Male,
        nhs_number: None,
        mrn: None,
        emergency_number: Some("00017".into()),
    };
    c.request.priority = Priority::Urgent;
    c.request.collected_at = t(23, 59);

    let mut d = state(4, &["FBC"]);
    d.request.patient.dob = NaiveDate::from_ymd_opt(1899, 12, 31);
    d.request.priority = Priority::Routine;
    vec![a, b, c, d]
}

fn ctx(per_test: bool) -> ExportContext {
    ExportContext {
        profile: Profile::default_profile(),
        generated_at: t(10, 30),
        batch_id: "B000012".into(),
        csv: CsvOptions {
            per_test,
            excel_bom: false,
        },
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

/// One part of the .xlsx zip, as text.
fn part(xlsx: &[u8], name: &str) -> String {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(xlsx)).unwrap();
    let mut text = String::new();
    zip.by_name(name)
        .unwrap_or_else(|e| panic!("{name}: {e}"))
        .read_to_string(&mut text)
        .unwrap();
    text
}

/// A cell of the sheet XML: its type attribute, style index and value (inline text unescaped,
/// or the number as written).
#[derive(Debug, Clone, PartialEq)]
struct Cell {
    t: Option<String>,
    s: usize,
    value: String,
}

fn attr(tag: &str, name: &str) -> Option<String> {
    let key = format!(" {name}=\"");
    let start = tag.find(&key)? + key.len();
    let len = tag[start..].find('"')?;
    Some(tag[start..start + len].to_owned())
}

fn unescape(s: &str) -> String {
    let s = s
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&");
    // OOXML's own escape of characters XML cannot hold, `_xHHHH_` (`_x005F_` for a `_` that
    // would start one), decoded in one pass from the left.
    let mut out = String::new();
    let mut rest = s.as_str();
    while let Some(i) = rest.find("_x") {
        out.push_str(&rest[..i]);
        let code = rest
            .get(i + 2..i + 6)
            .and_then(|h| u32::from_str_radix(h, 16).ok());
        match (code.and_then(char::from_u32), rest.get(i + 6..i + 7)) {
            (Some(ch), Some("_")) => {
                out.push(ch);
                rest = &rest[i + 7..];
            }
            _ => {
                out.push_str("_x");
                rest = &rest[i + 2..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The cells of a sheet by row (1-based) and column (0-based), from its XML.
fn cells(sheet: &str) -> BTreeMap<(u32, usize), Cell> {
    let mut out = BTreeMap::new();
    for chunk in sheet.split("<c r=\"").skip(1) {
        let reference: String = chunk.chars().take_while(|c| *c != '"').collect();
        let letters: String = reference
            .chars()
            .take_while(char::is_ascii_uppercase)
            .collect();
        let row: u32 = reference[letters.len()..].parse().unwrap();
        let col = letters
            .bytes()
            .fold(0usize, |n, b| n * 26 + usize::from(b - b'A' + 1))
            - 1;
        let tag_end = chunk.find('>').unwrap();
        let tag = format!(" r=\"{}", &chunk[..tag_end]);
        let body = if tag.ends_with('/') {
            ""
        } else {
            &chunk[tag_end + 1..chunk.find("</c>").unwrap()]
        };
        let value = if let Some(i) = body.find("<t") {
            let text = &body[i..];
            let open = text.find('>').unwrap() + 1;
            unescape(&text[open..text.find("</t>").unwrap()])
        } else if let Some(i) = body.find("<v>") {
            body[i + 3..body.find("</v>").unwrap()].to_owned()
        } else {
            String::new()
        };
        let cell = Cell {
            t: attr(&tag, "t"),
            s: attr(&tag, "s").map_or(0, |s| s.parse().unwrap()),
            value,
        };
        out.insert((row, col), cell);
    }
    out
}

/// The number format code of each cell style (`cellXfs` order), from styles.xml.
fn number_formats(styles: &str) -> Vec<String> {
    let mut codes: BTreeMap<String, String> = BTreeMap::new();
    for chunk in styles.split("<numFmt ").skip(1) {
        let tag = format!(" {}", &chunk[..chunk.find("/>").unwrap()]);
        let code = attr(&tag, "formatCode").unwrap().replace("&quot;", "\"");
        codes.insert(attr(&tag, "numFmtId").unwrap(), code);
    }
    let xfs = &styles[styles.find("<cellXfs").unwrap()..styles.find("</cellXfs>").unwrap()];
    xfs.split("<xf ")
        .skip(1)
        .map(|x| {
            let id = attr(&format!(" {x}"), "numFmtId").unwrap();
            codes
                .get(&id)
                .cloned()
                .unwrap_or_else(|| format!("builtin {id}"))
        })
        .collect()
}

fn read_csv(bytes: &[u8]) -> Vec<Vec<String>> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(bytes);
    r.records()
        .map(|rec| rec.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

const DATE_COLUMNS: [&str; 3] = ["dob", "collected_at", "created_at"];

#[test]
fn xlsx_cells_hold_the_csv_values_as_text_and_dates_never_as_formulas() {
    let requests = awkward();
    for per_test in [false, true] {
        let c = ctx(per_test);
        let xlsx = export(Format::Xlsx, &requests, &c);
        let sheet = part(&xlsx, "xl/worksheets/sheet1.xml");
        assert!(
            !sheet.contains("<f>") && !sheet.contains("<f "),
            "no formula"
        );
        let formats = number_formats(&part(&xlsx, "xl/styles.xml"));
        let cells = cells(&sheet);
        let csv = read_csv(&export(Format::Csv, &requests, &c));
        let header = &csv[0];
        for (row, values) in (1u32..).zip(&csv) {
            for (col, csv_cell) in values.iter().enumerate() {
                let typed = unneutralise(csv_cell);
                let name = header[col].as_str();
                let at = format!("row {row} column {name}");
                let Some(cell) = cells.get(&(row, col)) else {
                    assert_eq!(typed, "", "{at}: a missing cell is an empty value");
                    continue;
                };
                let format = &formats[cell.s];
                if row > 1 && DATE_COLUMNS.contains(&name) && cell.t.is_none() {
                    // A real date: a number with a date format.
                    assert!(format.starts_with("yyyy-mm-dd"), "{at}: {format}");
                    assert!(cell.value.parse::<f64>().is_ok(), "{at}: {cell:?}");
                } else {
                    assert_eq!(cell.t.as_deref(), Some("inlineStr"), "{at}: {cell:?}");
                    assert_eq!(format, "@", "{at}: text format");
                    assert_eq!(cell.value, typed, "{at}");
                }
            }
        }
        let rows = cells.keys().map(|(r, _)| *r).max().unwrap();
        assert_eq!(
            usize::try_from(rows).unwrap(),
            csv.len(),
            "same rows as the CSV"
        );
    }
}

#[test]
fn identifiers_keep_leading_zeros_as_text() {
    let xlsx = export(Format::Xlsx, &awkward(), &ctx(false));
    let cells = cells(&part(&xlsx, "xl/worksheets/sheet1.xml"));
    let col = |name: &str| CSV_COLUMNS.iter().position(|c| *c == name).unwrap();
    let text = |row: u32, name: &str| {
        let c = &cells[&(row, col(name))];
        assert_eq!(c.t.as_deref(), Some("inlineStr"), "{name}");
        c.value.clone()
    };
    assert_eq!(text(2, "requester_contact"), "+44 7700 900123");
    assert_eq!(text(3, "mrn"), "0000042");
    assert_eq!(text(3, "accession"), "000123");
    assert_eq!(text(4, "emergency_number"), "00017");
    assert_eq!(text(5, "requester_contact"), "07700 900123");
    assert!(text(2, "nhs_number").starts_with("999"));
    assert_eq!(text(2, "clinical_details").lines().count(), 2);
    assert_eq!(text(3, "reason"), "_x0041_ kept as typed");
}

#[test]
fn dates_are_spreadsheet_dates_and_times_are_utc() {
    let xlsx = export(Format::Xlsx, &awkward(), &ctx(false));
    let formats = number_formats(&part(&xlsx, "xl/styles.xml"));
    let cells = cells(&part(&xlsx, "xl/worksheets/sheet1.xml"));
    let col = |name: &str| CSV_COLUMNS.iter().position(|c| *c == name).unwrap();
    let dob = &cells[&(2, col("dob"))];
    // 1980-01-01 is day 29,221 counted from 1899-12-30.
    assert_eq!((dob.t.as_deref(), dob.value.as_str()), (None, "29221"));
    assert_eq!(formats[dob.s], "yyyy-mm-dd");
    let collected = &cells[&(4, col("collected_at"))];
    let serial: f64 = collected.value.parse().unwrap();
    let expected = 46177.0 + (23.0 * 60.0 + 59.0) / 1440.0;
    assert!((serial - expected).abs() < 1e-9, "{serial}");
    assert_eq!(formats[collected.s], "yyyy-mm-dd hh:mm:ss \"UTC\"");
    assert!(!cells.contains_key(&(4, col("dob"))), "no date of birth");
    let early = &cells[&(5, col("dob"))];
    assert_eq!(early.t.as_deref(), Some("inlineStr"), "before 1900: text");
    assert_eq!(early.value, "1899-12-31");
}

#[test]
fn header_row_is_the_csv_header_bold_frozen_with_widths_and_an_autofilter() {
    for (per_test, header, rows) in [(false, CSV_COLUMNS, 4), (true, CSV_COLUMNS_PER_TEST, 5)] {
        let xlsx = export(Format::Xlsx, &awkward(), &ctx(per_test));
        let sheet = part(&xlsx, "xl/worksheets/sheet1.xml");
        let cells = cells(&sheet);
        let names: Vec<_> = (0..header.len())
            .map(|c| cells[&(1, c)].value.clone())
            .collect();
        assert_eq!(names, header);
        assert!(cells.keys().all(|(_, c)| *c < header.len()));
        assert!(
            sheet.contains(
                r#"<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>"#
            ),
            "{sheet}"
        );
        let last = if per_test { 'Z' } else { 'Y' };
        assert!(sheet.contains(&format!(r#"<autoFilter ref="A1:{last}{}"/>"#, rows + 1)));
        // Adjacent columns of one width and format share a `<col min max>` range.
        let mut covered = 0;
        for col in sheet.split("<col ").skip(1) {
            let tag = format!(" {}", &col[..col.find("/>").unwrap()]);
            let bound = |name| attr(&tag, name).unwrap().parse::<usize>().unwrap();
            assert_eq!(bound("min"), covered + 1, "{tag}");
            covered = bound("max");
            assert_eq!(attr(&tag, "customWidth").as_deref(), Some("1"), "{tag}");
        }
        assert_eq!(covered, header.len(), "every column has a width");
        let workbook = part(&xlsx, "xl/workbook.xml");
        assert!(workbook.contains(r#"<sheet name="Requests""#));
        assert!(workbook.contains("_xlnm._FilterDatabase"));
        let styles = part(&xlsx, "xl/styles.xml");
        assert!(styles.contains("<b/>"), "bold header");
    }
}

#[test]
fn same_requests_and_context_give_identical_xlsx_bytes() {
    let requests = awkward();
    let first = export(Format::Xlsx, &requests, &ctx(false));
    let second = export(Format::Xlsx, &requests, &ctx(false));
    assert_eq!(first, second);
    let core = part(&first, "docProps/core.xml");
    assert!(core.contains("2026-06-04T10:30:00Z"), "{core}");
    let mut later = ctx(false);
    later.generated_at = t(11, 0);
    assert_ne!(export(Format::Xlsx, &requests, &later), first);
}

#[test]
fn an_export_of_no_requests_is_a_header_only_sheet() {
    let xlsx = export(Format::Xlsx, &[], &ctx(false));
    let cells = cells(&part(&xlsx, "xl/worksheets/sheet1.xml"));
    assert_eq!(cells.len(), CSV_COLUMNS.len());
    assert!(cells.keys().all(|(r, _)| *r == 1));
}

/// Compares `actual` with the golden file `tests/golden/<format>/<name>`.
fn golden(format: &str, name: &str, actual: &[u8]) {
    crate::common::golden::assert_matches(&format!("{format}/{name}"), actual, '\n');
}

#[test]
fn csv_exports_match_their_golden_files() {
    let requests = awkward();
    golden(
        "csv",
        "requests.csv",
        &export(Format::Csv, &requests, &ctx(false)),
    );
    golden(
        "csv",
        "per-test.csv",
        &export(Format::Csv, &requests, &ctx(true)),
    );
    let mut excel = ctx(false);
    excel.csv.excel_bom = true;
    golden(
        "csv",
        "requests-excel.csv",
        &export(Format::Csv, &requests, &excel),
    );
}

#[test]
fn xlsx_sheet_and_styles_match_their_golden_files() {
    let requests = awkward();
    for (per_test, stem) in [(false, "requests"), (true, "per-test")] {
        let xlsx = export(Format::Xlsx, &requests, &ctx(per_test));
        for (inner, suffix) in [
            ("xl/worksheets/sheet1.xml", "sheet1.xml"),
            ("xl/styles.xml", "styles.xml"),
            ("xl/workbook.xml", "workbook.xml"),
        ] {
            golden(
                "xlsx",
                &format!("{stem}.{suffix}"),
                part(&xlsx, inner).as_bytes(),
            );
        }
    }
}

/// Peak resident memory of this process so far, in MB (Linux only).
fn peak_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Counts bytes and keeps none, so the measure is the writer's own memory.
struct Sink(u64);

impl std::io::Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
#[ignore = "slow: 100,000 rows; run with `cargo test --release --test xlsx -- --ignored --nocapture`"]
fn xlsx_export_of_100000_requests_stays_in_bounded_memory() {
    let requests: Vec<_> = (0..100_000).map(|n| state(n, &["FBC", "UE"])).collect();
    let Some(before) = peak_mb() else {
        return;
    };
    let started = std::time::Instant::now();
    let mut sink = Sink(0);
    write_export(Format::Xlsx, &requests, &ctx(false), &mut sink).unwrap();
    let after = peak_mb().unwrap();
    println!(
        "xlsx of 100,000 requests: {:.1} MB in {:.2} s; peak memory {before:.0} MB before, \
         {after:.0} MB after ({:.0} MB more)",
        sink.0 as f64 / 1e6,
        started.elapsed().as_secs_f64(),
        after - before
    );
    // The requests themselves take far more than this; the writer must not hold every cell.
    assert!(after - before < 64.0, "{before} MB -> {after} MB");
}

#[test]
fn cli_exports_xlsx_and_reruns_it_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let run = |args: &[&str]| {
        let o = crate::common::cli::command(&db)
            .args(args)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
        assert!(
            o.status.success(),
            "{args:?}: {stdout}{}",
            String::from_utf8_lossy(&o.stderr)
        );
        stdout
    };
    run(&["demo", "--count", "30"]);
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let out_arg = out.to_str().unwrap();
    run(&[
        "export",
        "--plaintext",
        "--format",
        "xlsx",
        "--out",
        out_arg,
        "--all",
    ]);
    let name = "stopgap-TRN-DEM-B000001-xlsx.xlsx";
    let bytes = std::fs::read(out.join(name)).unwrap();
    let cells = cells(&part(&bytes, "xl/worksheets/sheet1.xml"));
    let rows = cells.keys().map(|(r, _)| *r).max().unwrap();
    run(&[
        "export",
        "--plaintext",
        "--format",
        "csv",
        "--out",
        out_arg,
        "--all",
    ]);
    let csv = read_csv(&std::fs::read(out.join("stopgap-TRN-DEM-B000002-csv.csv")).unwrap());
    assert!(csv.len() > 2);
    assert_eq!(usize::try_from(rows).unwrap(), csv.len(), "the CSV's rows");

    let again = dir.path().join("again");
    std::fs::create_dir(&again).unwrap();
    let said = run(&[
        "export",
        "--plaintext",
        "--rerun",
        "1",
        "--out",
        again.to_str().unwrap(),
    ]);
    assert!(said.contains("identical to the original"), "{said}");
    assert_eq!(std::fs::read(again.join(name)).unwrap(), bytes);
}
