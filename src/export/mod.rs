//! Exports for re-entry once the LIMS is back: CSV, HL7 v2 (OML^O21 v2.5.1, ORM^O01 v2.4) and a
//! FHIR R4 transaction Bundle.
//!
//! Writers are pure: they write into any `io::Write`, never touch files, never read the clock
//! (`generated_at` is in the [`ExportContext`]), and are deterministic: the same requests and the
//! same context give byte-identical output, so a batch re-exported later reproduces its bytes.
//! Times are written in UTC (`+0000` in HL7, `Z` in FHIR and CSV) for the same reason.
//!
//! Every test must have a code in the export [`Profile`] before HL7 or FHIR is written:
//! [`write_export`] runs [`check_mappings`] first, so a missing mapping writes nothing.

pub mod check;
pub mod check_fhir;
pub mod csv;
pub mod fhir;
pub mod hl7;
pub mod profile;
pub mod xlsx;

use std::fmt;
use std::io::{BufWriter, Write};
use std::str::FromStr;

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};

use crate::domain::event::RequestState;

pub use self::csv::{CSV_COLUMNS, CSV_COLUMNS_PER_TEST, unneutralise};
pub use self::profile::Profile;
use self::profile::TestMapping;

/// What to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// RFC 4180 CSV, UTF-8, header row.
    Csv,
    /// HL7 v2.5.1 OML^O21, one message per request.
    Hl7Oml,
    /// HL7 v2.4 ORM^O01, one message per request.
    Hl7Orm,
    /// FHIR R4 transaction Bundle (JSON), one per export.
    Fhir,
    /// Spreadsheet (.xlsx) with the CSV's columns, every cell typed (identifiers as text).
    Xlsx,
}

pub const ALL_FORMATS: [Format; 5] = [
    Format::Csv,
    Format::Hl7Oml,
    Format::Hl7Orm,
    Format::Fhir,
    Format::Xlsx,
];

impl Format {
    /// The stable word used on the command line and in the audit log.
    pub fn word(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Hl7Oml => "hl7-oml",
            Format::Hl7Orm => "hl7-orm",
            Format::Fhir => "fhir",
            Format::Xlsx => "xlsx",
        }
    }

    pub fn file_extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Hl7Oml | Format::Hl7Orm => "hl7",
            Format::Fhir => "json",
            Format::Xlsx => "xlsx",
        }
    }

    /// Whether the format carries the LIMS's test codes (and so needs a mapping for every test).
    pub fn needs_mapping(self) -> bool {
        match self {
            Format::Csv | Format::Xlsx => false,
            Format::Hl7Oml | Format::Hl7Orm | Format::Fhir => true,
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown export format '{0}': use csv, hl7-oml, hl7-orm, fhir or xlsx")]
pub struct UnknownFormat(pub String);

impl FromStr for Format {
    type Err = UnknownFormat;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let word = s.trim().to_ascii_lowercase();
        ALL_FORMATS
            .into_iter()
            .find(|f| f.word() == word)
            .ok_or_else(|| UnknownFormat(s.to_owned()))
    }
}

/// CSV choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CsvOptions {
    /// One row per test (with a `test_name` column) instead of one row per request.
    pub per_test: bool,
    /// Start with a UTF-8 byte-order mark so Excel reads the file as UTF-8.
    pub excel_bom: bool,
}

/// Everything an export needs besides the requests. Holding these fixed reproduces the bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportContext {
    pub profile: Profile,
    /// When the export was made (MSH-7, Bundle.timestamp): the shell reads the clock, not us.
    pub generated_at: DateTime<Utc>,
    /// Short batch number, e.g. "B000012": prefix of MSH-10 and the Bundle identifier.
    pub batch_id: String,
    pub csv: CsvOptions,
    /// Frame each HL7 message for MLLP (0x0B … 0x1C 0x0D).
    pub mllp: bool,
    /// The database holds synthetic training data (`Store::has_training_data`), so a receiver
    /// must be able to tell: the FHIR Bundle and its resources carry the `HTEST` security label.
    pub training: bool,
    /// The workstation's wards: PV1-3.1 is a ward's code here when the profile maps none.
    pub wards: Vec<crate::domain::ward::Ward>,
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(
        "request {downtime_id}: test '{code}' has no LIMS code in export profile '{profile}'; \
         add a [[test]] entry for it to the profile (nothing was written)"
    )]
    UnmappedTest {
        /// The request's downtime ID, grouped as on its form.
        downtime_id: String,
        code: String,
        profile: String,
    },
    /// The pre-flight check found what the receiver would refuse; each finding names the request.
    #[error(
        "the {format} export would be refused by the receiver: {}; correct these requests and \
         export again, or for values over the receiver's limits set `over_limit = \"truncate\"` \
         in the profile's [hl7] section (nothing was written)",
        findings.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
    )]
    Refused {
        format: Format,
        findings: Vec<check::Finding>,
    },
    #[error("export profile is not usable: {0}")]
    BadProfile(String),
    #[error("could not write the export")]
    Io(#[from] std::io::Error),
    #[error("could not write the CSV export")]
    Csv(#[from] ::csv::Error),
    #[error("could not write the FHIR export")]
    Json(#[from] serde_json::Error),
    #[error("could not write the spreadsheet export")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
}

/// Checks that the profile maps every test of every request, for formats that need it.
pub fn check_mappings(
    format: Format,
    requests: &[RequestState],
    profile: &Profile,
) -> Result<(), ExportError> {
    if !format.needs_mapping() {
        return Ok(());
    }
    let mappings = Mappings::of(profile);
    for r in requests {
        for t in &r.request.tests {
            if mappings.get(&t.code).is_none() {
                return Err(ExportError::UnmappedTest {
                    downtime_id: r.downtime_id.grouped(),
                    code: t.code.clone(),
                    profile: profile.name().to_owned(),
                });
            }
        }
    }
    Ok(())
}

/// The profile's test mappings, found by catalogue code without a scan per test.
pub(crate) struct Mappings<'a>(Vec<(&'a str, &'a TestMapping)>);

impl<'a> Mappings<'a> {
    /// A code mapped twice (which [`Profile::check`] refuses) keeps its first mapping, as
    /// [`Profile::mapping`] does.
    pub(crate) fn of(profile: &'a Profile) -> Self {
        let mut by_code: Vec<_> = profile.tests.iter().map(|t| (t.code.as_str(), t)).collect();
        // A stable sort keeps mappings of one code in file order, so the first one stays.
        by_code.sort_by_key(|(code, _)| *code);
        by_code.dedup_by_key(|(code, _)| *code);
        Self(by_code)
    }

    pub(crate) fn get(&self, code: &str) -> Option<&'a TestMapping> {
        self.0
            .binary_search_by_key(&code, |&(c, _)| c)
            .ok()
            .map(|i| self.0[i].1)
    }
}

/// Writes `requests` in `format`, for a preview or a test: a value the profile has shortened is
/// not reported (an export that leaves the workstation uses [`write_export_listing_truncations`]
/// and records them).
pub fn write_export(
    format: Format,
    requests: &[RequestState],
    ctx: &ExportContext,
    out: &mut dyn std::io::Write,
) -> Result<(), ExportError> {
    write_export_listing_truncations(format, requests, ctx, out).map(drop)
}

/// Writes `requests` in `format` and returns the values shortened to the receiver's limits (HL7
/// with a profile whose `over_limit` is `truncate`; otherwise none). Checks the profile and
/// mappings first, and for FHIR the pre-flight: on those errors nothing is written. HL7 checks
/// each message as it is written: on its refusal the messages before the first refused request
/// may be in `out`, so the shell writes to a temporary file it discards on error.
pub fn write_export_listing_truncations(
    format: Format,
    requests: &[RequestState],
    ctx: &ExportContext,
    out: &mut dyn std::io::Write,
) -> Result<Vec<check::Truncation>, ExportError> {
    ctx.profile.check()?;
    check_mappings(format, requests, &ctx.profile)?;
    if format == Format::Fhir {
        let findings = fhir::preflight(requests);
        if !findings.is_empty() {
            return Err(ExportError::Refused { format, findings });
        }
    }
    // The writers write many small pieces; the buffer is flushed by each writer's final flush.
    let mut out = BufWriter::with_capacity(1 << 16, out);
    let none = |()| Vec::new();
    let truncations = match format {
        Format::Csv => csv::write(requests, ctx, &mut out).map(none),
        Format::Hl7Oml => hl7::write(hl7::MessageType::OmlO21, requests, ctx, &mut out),
        Format::Hl7Orm => hl7::write(hl7::MessageType::OrmO01, requests, ctx, &mut out),
        Format::Fhir => fhir::write(requests, ctx, &mut out).map(none),
        Format::Xlsx => xlsx::write(requests, ctx, &mut out).map(none),
    }?;
    out.flush()?;
    Ok(truncations)
}

/// A time as RFC 3339 in UTC, to the second (`2026-06-04T10:20:00Z`).
pub(crate) fn rfc3339(t: DateTime<Utc>) -> String {
    let mut s = String::with_capacity(20);
    match four_digit_year(t.date_naive()) {
        Some(_) if t.nanosecond() < 1_000_000_000 => {
            push_date(&mut s, t.date_naive(), "-");
            s.push('T');
            push_time(&mut s, t, ":");
            s.push('Z');
        }
        // Years outside 0..=9999 and leap seconds: as chrono writes them.
        _ => s = t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    }
    s
}

/// The year of `d` when chrono's `%Y` writes it as exactly four digits.
pub(crate) fn four_digit_year(d: NaiveDate) -> Option<u32> {
    u32::try_from(d.year()).ok().filter(|y| *y <= 9999)
}

/// Pushes `n` (below `10^width`) as exactly `width` digits.
pub(crate) fn push_digits(out: &mut String, n: u32, width: u32) {
    let mut div = 10u32.pow(width - 1);
    while div > 0 {
        out.push(char::from(b'0' + ((n / div) % 10) as u8));
        div /= 10;
    }
}

/// Pushes `YYYY{sep}MM{sep}DD`, as chrono's `%Y{sep}%m{sep}%d` for a four-digit year.
pub(crate) fn push_date(out: &mut String, d: NaiveDate, sep: &str) {
    push_digits(out, four_digit_year(d).unwrap_or_default(), 4);
    out.push_str(sep);
    push_digits(out, d.month(), 2);
    out.push_str(sep);
    push_digits(out, d.day(), 2);
}

/// Pushes `HH{sep}MM{sep}SS`, as chrono's `%H{sep}%M{sep}%S` outside a leap second.
pub(crate) fn push_time(out: &mut String, t: DateTime<Utc>, sep: &str) {
    push_digits(out, t.hour(), 2);
    out.push_str(sep);
    push_digits(out, t.minute(), 2);
    out.push_str(sep);
    push_digits(out, t.second(), 2);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_words_round_trip() {
        for f in ALL_FORMATS {
            assert_eq!(f.word().parse::<Format>(), Ok(f));
        }
        assert_eq!(" HL7-OML ".parse::<Format>(), Ok(Format::Hl7Oml));
        assert!("hl7".parse::<Format>().is_err());
        assert_eq!(Format::Fhir.file_extension(), "json");
        assert_eq!(Format::Hl7Orm.file_extension(), "hl7");
    }

    #[test]
    fn times_are_written_as_chrono_writes_them() {
        use chrono::TimeZone;
        for (y, mo, d, h, mi, s) in [
            (2026, 6, 4, 10, 20, 0),
            (1, 1, 1, 0, 0, 0),
            (999, 12, 31, 23, 59, 59),
            (9999, 12, 31, 23, 59, 59),
            (10000, 1, 1, 0, 0, 0),
            (-1, 3, 1, 7, 8, 9),
        ] {
            let t = Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap();
            let chrono = t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            assert_eq!(rfc3339(t), chrono);
            assert_eq!(hl7::timestamp(t), t.format("%Y%m%d%H%M%S+0000").to_string());
        }
        let leap = NaiveDate::from_ymd_opt(2016, 12, 31)
            .and_then(|d| d.and_hms_milli_opt(23, 59, 59, 1500))
            .unwrap()
            .and_utc();
        assert_eq!(rfc3339(leap), "2016-12-31T23:59:60Z");
        assert_eq!(
            hl7::timestamp(leap),
            leap.format("%Y%m%d%H%M%S+0000").to_string()
        );
    }
}
