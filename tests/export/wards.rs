//! Ward codes in the HL7 export (issue 8, "PV1-3 puts the free-text ward name in PL.1"): PV1-3.1
//! is the receiving LIMS's code from the profile when it maps the ward, else the code the
//! workstation set up for it, else the code derived from its name; PL.9 keeps the name.
//! Requests are saved in a real store and exported as the app exports them.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on purpose"
)]

use crate::common::{draft, now, setup, temp_store};
use stopgap::backlog::{ExportJob, export_to, reproduce};
use stopgap::domain::catalogue::Catalogue;
use stopgap::domain::event::RequestState;
use stopgap::domain::request::RequestDraft;
use stopgap::domain::ward::Ward;
use stopgap::export::check::check_hl7;
use stopgap::export::profile::WardMapping;
use stopgap::export::{CsvOptions, ExportContext, Format, Profile, write_export};
use stopgap::files::Overwrite;
use stopgap::store::{ExportOptions, ExportSelection, Store};

const HL7: [Format; 2] = [Format::Hl7Oml, Format::Hl7Orm];

/// The context an export from the common set-up gets (wards "Ward 7" coded W7, and "AMU").
fn ctx() -> ExportContext {
    ExportContext {
        profile: Profile::default_profile(),
        generated_at: now(),
        batch_id: "RXX-W07-B000001".into(),
        csv: CsvOptions::default(),
        mllp: false,
        training: false,
        wards: setup().wards,
    }
}

fn saved(store: &mut Store, d: &RequestDraft) -> RequestState {
    let request = d
        .validate(now(), &chrono::Utc, &Catalogue::default_uk().unwrap())
        .unwrap_or_else(|e| panic!("{e:?}"));
    store.save_request(&request, "Nurse A", now()).unwrap();
    store.request_detail(request.uuid).unwrap().unwrap().state
}

fn on_ward(ward: &str) -> (tempfile::TempDir, Vec<RequestState>) {
    let (dir, mut store) = temp_store();
    let mut d = draft(1);
    d.ward = ward.into();
    let state = saved(&mut store, &d);
    (dir, vec![state])
}

/// PV1-3 of the first message, after checking the bytes as a strict receiver would.
fn pv1_3(format: Format, states: &[RequestState], ctx: &ExportContext) -> String {
    let mut out = Vec::new();
    write_export(format, states, ctx, &mut out).unwrap_or_else(|e| panic!("{e}"));
    let findings = check_hl7(&out);
    assert!(findings.is_empty(), "{findings:#?}");
    pv1_of(&String::from_utf8(out).unwrap())
}

fn pv1_of(text: &str) -> String {
    let pv1 = text
        .split(['\r', '\n'])
        .find(|s| s.starts_with("PV1|"))
        .unwrap_or_else(|| panic!("no PV1 in {text}"));
    pv1.split('|').nth(3).unwrap().to_owned()
}

#[test]
fn a_set_up_ward_code_goes_in_pv1_3_1_and_the_name_in_pl9() {
    let (_d, states) = on_ward("Ward 7");
    for f in HL7 {
        assert_eq!(pv1_3(f, &states, &ctx()), "W7^^^^^^^^Ward 7", "{f}");
    }
}

#[test]
fn the_profiles_ward_mapping_overrides_the_set_up_code() {
    let (_d, states) = on_ward("Ward 7");
    let mut c = ctx();
    c.profile.hl7.wards = vec![WardMapping {
        name: "ward 7".into(),
        code: "W7ACUTE".into(),
    }];
    for f in HL7 {
        assert_eq!(pv1_3(f, &states, &c), "W7ACUTE^^^^^^^^Ward 7", "{f}");
    }
}

#[test]
fn a_ward_no_longer_set_up_falls_back_to_the_derived_code() {
    // An old request from a ward since removed from the set-up.
    let (_d, states) = on_ward("Ward 12 Surgery");
    for f in HL7 {
        assert_eq!(
            pv1_3(f, &states, &ctx()),
            "WARD12SURGERY^^^^^^^^Ward 12 Surgery",
            "{f}"
        );
    }
    // A set-up ward whose code was derived keeps the code export always gave it.
    let (_d, states) = on_ward("AMU");
    assert_eq!(pv1_3(Format::Hl7Oml, &states, &ctx()), "AMU^^^^^^^^AMU");
}

#[test]
fn an_export_from_the_store_uses_the_workstations_codes_and_its_rerun_matches() {
    let (dir, mut store) = temp_store();
    let mut d = draft(1);
    d.ward = "Ward 7".into();
    saved(&mut store, &d);
    let mut s = setup();
    s.wards[0] = Ward::new("W7-ACU", "Ward 7").unwrap();
    store.configure(&s).unwrap();
    let job = ExportJob {
        selection: ExportSelection::default(),
        format: Format::Hl7Orm,
        profile: Profile::default_profile(),
        options: ExportOptions::default(),
        user: "Exporter".into(),
        out: dir.path().to_owned(),
        overwrite: Overwrite::Refuse,
        sealing: stopgap::files::Sealing::plaintext_confirmed(),
    };
    let exported = export_to(&mut store, &job, now()).unwrap();
    let bytes = std::fs::read(&exported.path).unwrap();
    assert_eq!(
        pv1_of(&String::from_utf8_lossy(&bytes)),
        "W7-ACU^^^^^^^^Ward 7"
    );

    let again = dir.path().join("again.hl7");
    let (_path, written) = reproduce(
        &store,
        &exported.record,
        &again,
        Overwrite::Refuse,
        &stopgap::files::Sealing::plaintext_confirmed(),
    )
    .unwrap();
    assert_eq!(written.sha256, exported.record.sha256);
    assert_eq!(std::fs::read(&again).unwrap(), bytes);

    // The ward's code changes afterwards: the re-run still writes what the export wrote.
    let mut setup = store.setup().unwrap().unwrap();
    setup.wards = vec![Ward::new("W7-NEW", "Ward 7").unwrap()];
    store.configure(&setup).unwrap();
    let later = dir.path().join("later.hl7");
    let (_path, written) = reproduce(
        &store,
        &exported.record,
        &later,
        Overwrite::Refuse,
        &stopgap::files::Sealing::plaintext_confirmed(),
    )
    .unwrap();
    assert_eq!(
        written.sha256, exported.record.sha256,
        "a changed code changed the re-run"
    );
}
