//! Importing requests typed elsewhere: the CSV export's columns, validated as the form does.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on purpose"
)]

use crate::common::{now, request, temp_store};
use stopgap::export::{CsvOptions, ExportContext, Format, Profile, write_export};
use stopgap::import::{ImportError, import_requests};
use stopgap::store::{ExportSelection, QueueFilter};

fn csv_of(requests: &[stopgap::domain::event::RequestState]) -> Vec<u8> {
    let ctx = ExportContext {
        profile: Profile::default_profile(),
        generated_at: now(),
        batch_id: "B000001".into(),
        csv: CsvOptions::default(),
        mllp: false,
        training: false,
        wards: Vec::new(),
    };
    let mut out = Vec::new();
    write_export(Format::Csv, requests, &ctx, &mut out).unwrap();
    out
}

#[test]
fn an_exported_csv_imports_into_a_fresh_database() {
    let (_a, mut source) = temp_store();
    for n in 1..=5 {
        source.save_request(&request(n), "Nurse", now()).unwrap();
    }
    let states = source
        .export_candidates(&ExportSelection::default())
        .unwrap();
    let file = csv_of(&states);

    let (_b, mut target) = temp_store();
    let imported = import_requests(&mut target, file.as_slice(), "Importer", now()).unwrap();
    assert_eq!(imported.ids.len(), 5);
    assert_eq!(imported.already_saved, 0);
    let back = target
        .export_candidates(&ExportSelection::default())
        .unwrap();
    for (a, b) in states.iter().zip(&back) {
        assert_eq!(a.request, b.request, "the same request, field for field");
        assert_eq!(b.created_by.user, "Importer");
    }
    // Importing the same file again is recognised.
    let again = import_requests(&mut target, file.as_slice(), "Importer", now()).unwrap();
    assert_eq!(again.already_saved, 5);
    assert_eq!(target.queue_count(&QueueFilter::default()).unwrap(), 5);
}

#[test]
fn bad_rows_are_reported_with_row_numbers_and_nothing_is_written() {
    let (_d, mut store) = temp_store();
    let text = "\
surname,forename,dob,nhs_number,ward,consultant,requester,requester_contact,priority,tests,collected_at,collected_by
Testpatient,Ann,1980-01-01,9990000018,Ward 7,Dr A,Dr B,1234,urgent,FBC;UE,2026-06-04T09:00:00Z,N
Testpatient,Bob,1980-01-01,9434765918,Ward 7,Dr A,Dr B,1234,urgent,FBC,2026-06-04T09:00:00Z,N
Testpatient,Cat,1980-01-01,9990000018,Ward 7,Dr A,Dr B,1234,,FBC,2026-06-04T09:00:00Z,N
Testpatient,Dan,1980-01-01,9990000018,Ward 7,Dr A,Dr B,1234,soon,NOPE,09:00,N
";
    let e = import_requests(&mut store, text.as_bytes(), "I", now()).unwrap_err();
    let ImportError::Rows(lines) = &e else {
        panic!("{e}")
    };
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("row 3: NHS number") && l.contains("check digit")),
        "{lines:#?}"
    );
    assert!(lines.iter().any(|l| l.starts_with("row 4: Priority")));
    assert!(lines.iter().any(|l| l.starts_with("row 5: Priority")));
    assert!(lines.iter().any(|l| l.starts_with("row 5: Collected at")));
    assert!(lines.iter().any(|l| l.starts_with("row 5: Tests")));
    assert!(!lines.iter().any(|l| l.starts_with("row 2:")));
    assert_eq!(store.queue_count(&QueueFilter::default()).unwrap(), 0);
}

#[test]
fn a_file_without_the_required_columns_is_refused() {
    let (_d, mut store) = temp_store();
    let e =
        import_requests(&mut store, "surname,nhs no\nX,1\n".as_bytes(), "I", now()).unwrap_err();
    let text = e.to_string();
    assert!(text.contains("'nhs no' is not an import column"), "{text}");
    assert!(text.contains("required column 'priority' is missing"));
}
