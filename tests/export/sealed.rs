//! Files that leave the PC encrypted with age (issue 11): an export, report or handover bundle
//! opens only with the lab's identity or the passphrase; its bytes hold no patient's name or
//! NHS number; plain text needs an explicit confirmation; a failed write leaves nothing behind.
//! Real SQLite files and real files in temporary folders; age's own decryptor opens them.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on purpose"
)]

use std::io::Read;
use std::path::Path;

use age::secrecy::SecretString;

use crate::common::cli::{stopgap, text};
use crate::common::{now, pc, request, temp_store};
use stopgap::backlog::{ExportJob, close_out_to, export_to, reproduce};
use stopgap::export::{Format, Profile};
use stopgap::files::{
    Overwrite, Sealed, Sealing, UnsealError, Unsealing, sha256_hex, write_atomic_sealed,
};
use stopgap::handover::{BundleError, ExchangeError, export_bundle_sealed, import_bundle_opened};
use stopgap::store::{ExportOptions, ExportSelection, Store};

/// The first synthetic patient's surname and NHS number (without and with spaces).
fn patient_marks() -> Vec<String> {
    let p = request(1).patient;
    let nhs = p.nhs_number.unwrap();
    vec![p.surname.clone(), nhs.digits(), nhs.to_string()]
}

fn with_requests(store: &mut Store, n: u32) {
    for i in 1..=n {
        store
            .save_request(&request(i), "Nurse Bloggs", now())
            .unwrap();
    }
}

fn job(out: &Path, sealing: Sealing) -> ExportJob {
    ExportJob {
        selection: ExportSelection::default(),
        format: Format::Csv,
        profile: Profile::default_profile(),
        options: ExportOptions::default(),
        user: "Lab Clerk".into(),
        out: out.to_owned(),
        overwrite: Overwrite::Refuse,
        sealing,
    }
}

/// The plain text of an age file, opened by age's own decryptor with `identity`.
fn decrypt(file: &[u8], identity: &dyn age::Identity) -> Result<Vec<u8>, age::DecryptError> {
    let mut reader = age::Decryptor::new(file)?.decrypt(std::iter::once(identity))?;
    let mut plain = Vec::new();
    reader.read_to_end(&mut plain).unwrap();
    Ok(plain)
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn an_age_export_opens_only_with_the_labs_identity_and_holds_no_patient_data() {
    let (dir, mut store) = temp_store();
    with_requests(&mut store, 3);
    let lab = age::x25519::Identity::generate();
    let sealing = Sealing::recipients(vec![lab.to_public()]).unwrap();
    let exported = export_to(&mut store, &job(dir.path(), sealing), now()).unwrap();

    let name = exported.path.file_name().unwrap().to_string_lossy();
    assert_eq!(name, "stopgap-RXX-W07-B000001-csv.csv.age");
    assert_eq!(exported.record.file_name, name);
    assert_eq!(exported.record.options.sealed, Some(Sealed::AgeRecipient));
    let file = std::fs::read(&exported.path).unwrap();
    assert_eq!(
        sha256_hex(&file),
        exported.record.sha256,
        "the SHA-256 of the file as written"
    );
    for mark in patient_marks() {
        assert!(!contains(&file, &mark), "{mark} is in the encrypted file");
    }

    let plain = decrypt(&file, &lab).unwrap();
    assert!(plain.starts_with(b"downtime_id,"), "a CSV once decrypted");
    for mark in &patient_marks()[..2] {
        assert!(contains(&plain, mark), "{mark} is in the decrypted CSV");
    }
    let stranger = age::x25519::Identity::generate();
    assert!(matches!(
        decrypt(&file, &stranger),
        Err(age::DecryptError::NoMatchingKeys)
    ));

    // A re-run, encrypted again, holds the same CSV: never the same bytes, the same content.
    let again = dir.path().join("again");
    std::fs::create_dir(&again).unwrap();
    let sealing = Sealing::recipients(vec![lab.to_public()]).unwrap();
    let (path, w) = reproduce(
        &store,
        &exported.record,
        &again,
        Overwrite::Refuse,
        &sealing,
    )
    .unwrap();
    assert!(path.to_string_lossy().ends_with(".csv.age"));
    assert_ne!(w.sha256, exported.record.sha256);
    assert_eq!(
        decrypt(&std::fs::read(&path).unwrap(), &lab).unwrap(),
        plain
    );
}

#[test]
fn a_passphrase_export_opens_only_with_its_passphrase() {
    let (dir, mut store) = temp_store();
    with_requests(&mut store, 2);
    let sealing = Sealing::weak_passphrase_for_tests("lab phone 4471 tuesday");
    let exported = export_to(&mut store, &job(dir.path(), sealing), now()).unwrap();
    assert_eq!(exported.record.options.sealed, Some(Sealed::AgePassphrase));
    let file = std::fs::read(&exported.path).unwrap();
    for mark in patient_marks() {
        assert!(!contains(&file, &mark), "{mark} is in the encrypted file");
    }

    let right = age::scrypt::Identity::new(SecretString::from("lab phone 4471 tuesday"));
    let plain = decrypt(&file, &right).unwrap();
    assert!(contains(&plain, &patient_marks()[0]));
    let wrong = age::scrypt::Identity::new(SecretString::from("lab phone 4471 wednesday"));
    assert!(decrypt(&file, &wrong).is_err());
}

#[test]
fn a_failed_sealed_write_leaves_no_file_and_no_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    let lab = age::x25519::Identity::generate();
    for sealing in [
        Sealing::recipients(vec![lab.to_public()]).unwrap(),
        Sealing::weak_passphrase_for_tests("lab phone 4471 tuesday"),
    ] {
        let target = dir.path().join(sealing.file_name("batch.csv"));
        let e = write_atomic_sealed(&target, Overwrite::Refuse, &sealing, |w| {
            w.write_all(&vec![b'x'; 200_000])?;
            Err(std::io::Error::other("mapping missing"))
        })
        .unwrap_err();
        assert_eq!(e.to_string(), "mapping missing");
        assert!(
            leftovers(dir.path()).is_empty(),
            "{:?}",
            leftovers(dir.path())
        );
    }
}

#[test]
fn an_encrypted_close_out_report_ends_age_and_opens_with_the_identity() {
    let (dir, mut store) = temp_store();
    with_requests(&mut store, 2);
    let lab = age::x25519::Identity::generate();
    let sealing = Sealing::recipients(vec![lab.to_public()]).unwrap();
    let file = dir.path().join("close-out.csv");
    let (_, w) = close_out_to(
        &mut store,
        &file,
        "Lab Manager",
        now(),
        Overwrite::Refuse,
        &sealing,
    )
    .unwrap();
    assert_eq!(w.path, dir.path().join("close-out.csv.age"));
    assert!(!file.exists());
    let plain = decrypt(&std::fs::read(&w.path).unwrap(), &lab).unwrap();
    assert!(
        contains(&plain, "RXX"),
        "{}",
        String::from_utf8_lossy(&plain)
    );
}

#[test]
fn an_encrypted_handover_bundle_imports_only_with_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let mut ward = pc(dir.path(), "W07");
    with_requests(&mut ward, 2);
    let mut lab_pc = pc(dir.path(), "L01");
    let key = age::x25519::Identity::generate();
    let sealing = Sealing::recipients(vec![key.to_public()]).unwrap();
    let made = export_bundle_sealed(
        &ward,
        &dir.path().join("w07.stopgap-handover"),
        None,
        Overwrite::Refuse,
        now(),
        &sealing,
    )
    .unwrap();
    assert!(
        made.path
            .to_string_lossy()
            .ends_with(".stopgap-handover.age")
    );
    let bytes = std::fs::read(&made.path).unwrap();
    for mark in patient_marks() {
        assert!(
            !contains(&bytes, &mark),
            "{mark} is in the encrypted bundle"
        );
    }

    let refused = |e: ExchangeError| match e {
        ExchangeError::Bundle(BundleError::Sealed(u)) => u,
        other => panic!("{other}"),
    };
    let e = import_bundle_opened(&mut lab_pc, &made.path, "Porter A", now(), None).unwrap_err();
    assert!(matches!(refused(e), UnsealError::KeyNeeded));
    let id_file = dir.path().join("other-key.txt");
    std::fs::write(
        &id_file,
        age::x25519::Identity::generate().to_string().expose(),
    )
    .unwrap();
    let other = Unsealing::identity_file(&id_file).unwrap();
    let e =
        import_bundle_opened(&mut lab_pc, &made.path, "Porter A", now(), Some(&other)).unwrap_err();
    assert!(matches!(refused(e), UnsealError::WrongKey));
    let pass = Unsealing::Passphrase(SecretString::from("not a passphrase file"));
    let e =
        import_bundle_opened(&mut lab_pc, &made.path, "Porter A", now(), Some(&pass)).unwrap_err();
    assert!(matches!(refused(e), UnsealError::NotAPassphraseFile));

    let id_file = dir.path().join("lab-key.txt");
    std::fs::write(&id_file, key.to_string().expose()).unwrap();
    let right = Unsealing::identity_file(&id_file).unwrap();
    let imported =
        import_bundle_opened(&mut lab_pc, &made.path, "Porter A", now(), Some(&right)).unwrap();
    assert_eq!(imported.requests_added, 2);
}

/// `expose_secret` under a short name, for writing key files in tests.
trait Expose {
    fn expose(&self) -> String;
}

impl Expose for SecretString {
    fn expose(&self) -> String {
        use age::secrecy::ExposeSecret;
        format!("{}\n", self.expose_secret())
    }
}

#[test]
fn a_plaintext_export_without_confirmation_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    assert!(stopgap(&db, &["demo", "--count", "5"]).status.success());
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let out_s = out.to_str().unwrap();
    let report = out.join("report.csv");
    let bundle = out.join("b.stopgap-handover");
    for args in [
        vec!["export", "--format", "csv", "--all", "--out", out_s],
        vec!["close-out", "--out", report.to_str().unwrap()],
        vec!["handover", "export", "--out", bundle.to_str().unwrap()],
    ] {
        let o = stopgap(&db, &args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let said = text(&o.stderr);
        for option in ["--recipient", "--passphrase", "--plaintext"] {
            assert!(said.contains(option), "{args:?}: {said}");
        }
        assert!(
            leftovers(&out).is_empty(),
            "{args:?}: {:?}",
            leftovers(&out)
        );
    }
    let o = stopgap(&db, &["batches"]);
    assert!(text(&o.stdout).contains("0 batch(es)."), "nothing recorded");

    // Confirmed, it is written, and says so.
    let o = stopgap(
        &db,
        &[
            "export",
            "--plaintext",
            "--format",
            "csv",
            "--all",
            "--out",
            out_s,
        ],
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(
        text(&o.stdout).contains("NOT encrypted"),
        "{}",
        text(&o.stdout)
    );
}

#[test]
fn a_profile_with_the_labs_key_encrypts_the_export_and_a_bad_key_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    assert!(stopgap(&db, &["demo", "--count", "5"]).status.success());
    let lab = age::x25519::Identity::generate();
    let toml = Profile::default_profile().to_toml();
    let profile = dir.path().join("lims.toml");
    std::fs::write(
        &profile,
        format!("age_recipient = \"{}\"\n{toml}", lab.to_public()),
    )
    .unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let o = stopgap(
        &db,
        &[
            "export",
            "--format",
            "csv",
            "--all",
            "--profile",
            profile.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    let written = out.join("stopgap-TRN-DEM-B000001-csv.csv.age");
    let plain = decrypt(&std::fs::read(&written).unwrap(), &lab).unwrap();
    assert!(plain.starts_with(b"downtime_id,"));

    std::fs::write(&profile, format!("age_recipient = \"age1nope\"\n{toml}")).unwrap();
    let o = stopgap(
        &db,
        &[
            "export",
            "--format",
            "csv",
            "--all",
            "--profile",
            profile.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    let said = text(&o.stderr);
    assert!(
        said.contains("age_recipient") && said.contains("age1nope"),
        "{said}"
    );

    let o = stopgap(
        &db,
        &[
            "export",
            "--rerun",
            "1",
            "--recipient",
            "age1nope",
            "--out",
            "x",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("not an age public key"),
        "{}",
        text(&o.stderr)
    );
}
