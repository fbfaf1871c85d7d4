//! Dates and times as typed on the form: the formats accepted, and the checks on a date of birth
//! and a collection time (never in the future, never before 1900 or the birth).

use chrono::{DateTime, Datelike, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc};

use super::request::Field;

/// How far in the future a collection time may be, to allow for clock skew between devices.
pub const CLOCK_SKEW_MINUTES: i64 = 5;

/// Parses a date typed as DD/MM/YYYY, DD-MM-YYYY, DD.MM.YYYY, DDMMYYYY or YYYY-MM-DD.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    for fmt in ["%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y-%m-%d", "%d%m%Y"] {
        if let Ok(d) = NaiveDate::parse_from_str(s, fmt)
            && d.year() >= 1000
        {
            return Some(d);
        }
    }
    None
}

/// Parses a time typed as HH:MM, HH.MM or HHMM (24-hour clock).
pub fn parse_time(s: &str) -> Option<NaiveTime> {
    let s = s.trim();
    ["%H:%M", "%H.%M", "%H%M"]
        .into_iter()
        .find_map(|f| NaiveTime::parse_from_str(s, f).ok())
}

/// The typed date of birth, or `None` after reporting why it cannot be one.
pub(super) fn check_dob<Tz: TimeZone>(
    typed: &str,
    now: DateTime<Utc>,
    tz: &Tz,
    err: &mut dyn FnMut(Field, String),
) -> Option<NaiveDate> {
    let Some(d) = parse_date(typed) else {
        err(
            Field::Dob,
            format!("'{typed}' is not a date: type it as DD/MM/YYYY"),
        );
        return None;
    };
    let today = now.with_timezone(tz).date_naive();
    if d > today {
        err(
            Field::Dob,
            format!("Date of birth {} is in the future", d.format("%d/%m/%Y")),
        );
        None
    } else if d.year() < 1900 {
        err(
            Field::Dob,
            format!("Date of birth {} is before 1900", d.format("%d/%m/%Y")),
        );
        None
    } else {
        Some(d)
    }
}

/// Which of a date field and a time field a problem is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateOrTime {
    Date,
    Time,
}

/// A date and a time typed on this PC, in `tz`, as UTC (with the date as typed), or `None`
/// after reporting each problem: a date or time that does not parse, or a time the clocks
/// skipped. The hour the clocks go back happens twice: the first is taken, and said nowhere —
/// the time is kept with its offset, so nothing is lost.
pub fn typed_moment<Tz: TimeZone>(
    typed_date: &str,
    typed_time: &str,
    tz: &Tz,
    err: &mut dyn FnMut(DateOrTime, String),
) -> Option<(NaiveDate, DateTime<Utc>)> {
    let date = parse_date(typed_date);
    if date.is_none() {
        err(
            DateOrTime::Date,
            format!(
                "'{}' is not a date: type it as DD/MM/YYYY",
                typed_date.trim()
            ),
        );
    }
    let time = parse_time(typed_time);
    if time.is_none() {
        err(
            DateOrTime::Time,
            format!(
                "'{}' is not a time: type it as HH:MM (24-hour)",
                typed_time.trim()
            ),
        );
    }
    let (date, time) = (date?, time?);
    let at = match tz.from_local_datetime(&date.and_time(time)) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(first, _) => first.with_timezone(&Utc),
        LocalResult::None => {
            err(
                DateOrTime::Time,
                format!(
                    "{} did not happen on {} (the clocks went forward)",
                    time.format("%H:%M"),
                    date.format("%d/%m/%Y")
                ),
            );
            return None;
        }
    };
    Some((date, at))
}

/// The typed collection date and time in `tz` as UTC, or `None` after reporting each problem.
pub(super) fn check_collected<Tz: TimeZone>(
    typed_date: &str,
    typed_time: &str,
    now: DateTime<Utc>,
    tz: &Tz,
    dob: Option<NaiveDate>,
    err: &mut dyn FnMut(Field, String),
) -> Option<DateTime<Utc>> {
    let (date, at) = typed_moment(typed_date, typed_time, tz, &mut |which, message| {
        let field = match which {
            DateOrTime::Date => Field::CollectedDate,
            DateOrTime::Time => Field::CollectedTime,
        };
        err(field, message);
    })?;
    if let Err(e) = super::request::check_collection_time(at, now) {
        err(Field::CollectedTime, e.to_string());
        return None;
    }
    if dob.is_some_and(|d| date < d) {
        err(
            Field::CollectedDate,
            "Collection date is before the date of birth".into(),
        );
        return None;
    }
    Some(at)
}
