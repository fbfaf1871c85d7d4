//! Results phoned to the ward: during a downtime the lab telephones urgent and critical results,
//! and who phoned, who took the call and whether it was read back is the record that the result
//! reached a clinician.
//!
//! A phoned result is typed as a [`PhonedDraft`] (strings, as the request form is) and checked
//! against its request by [`PhonedDraft::validate`], every problem named at its field. The same
//! rules are asked again of a finished [`PhonedResult`] by [`PhonedResult::problems`], so the
//! store refuses a result that did not come through the form. [`RequestTimes`] reads a
//! request's collected, sent, received, phoned and re-entered times from its events.

use std::fmt;

use chrono::{DateTime, TimeZone, Utc};

use super::catalogue::RequestedTest;
use super::dates::{CLOCK_SKEW_MINUTES, DateOrTime, typed_moment};
use super::event::{Event, EventKind};
use super::request::NewRequest;
use super::status::Transition;
use super::text::{USER_MAX, clean};

/// Longest result summary accepted, in characters: a phoned result is a line ("K+ 6.8 mmol/L,
/// repeat sample requested"), the full report follows in the LIMS.
pub const SUMMARY_MAX: usize = 200;

/// One result phoned to the ward, as recorded by the person who phoned it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PhonedResult {
    /// The test (catalogue code or name) the result is of.
    pub test: String,
    /// The result as said on the phone, e.g. "K+ 6.8 mmol/L".
    pub summary: String,
    pub phoned_at: DateTime<Utc>,
    /// Who phoned it (the lab's name or staff ID).
    pub phoned_by: String,
    /// Who took the call on the ward.
    pub received_by: String,
    /// The receiver read the result back and the caller confirmed it.
    pub read_back: bool,
}

impl PhonedResult {
    /// One line for a history: "result phoned: FBC: Hb 62 g/L to Nurse Ade (read back)".
    pub fn line(&self) -> String {
        format!(
            "result phoned: {}: {} to {}{}",
            self.test.trim(),
            self.summary.trim(),
            self.received_by.trim(),
            if self.read_back {
                " (read back)"
            } else {
                " (NOT read back)"
            }
        )
    }

    /// "read back" or "NOT read back": the words every screen and listing uses.
    pub fn read_back_words(&self) -> &'static str {
        if self.read_back {
            "read back"
        } else {
            "NOT read back"
        }
    }

    /// Every rule this result breaks for `request` as at `now` (times in messages shown in
    /// `tz`): the test is one the request asks for, the texts are clean and present, the time is
    /// neither in the future nor before the collection. Empty when it may be recorded.
    pub fn problems<Tz: TimeZone>(
        &self,
        request: &NewRequest,
        now: DateTime<Utc>,
        tz: &Tz,
    ) -> Vec<PhonedFieldError>
    where
        Tz::Offset: fmt::Display,
    {
        let mut errors = Vec::new();
        let mut err = |field, message| errors.push(PhonedFieldError { field, message });
        if let Err(message) = requested_test(request, &self.test) {
            err(PhonedField::Test, message);
        }
        for (field, value, max) in [
            (PhonedField::Summary, &self.summary, SUMMARY_MAX),
            (PhonedField::PhonedBy, &self.phoned_by, USER_MAX),
            (PhonedField::ReceivedBy, &self.received_by, USER_MAX),
        ] {
            match checked_text(field, value, max) {
                Ok(clean) if clean == *value => {}
                Ok(_) => err(field, format!("{} is not stored as typed", field.label())),
                Err(message) => err(field, message),
            }
        }
        if let Err(message) = check_phoned_at(self.phoned_at, request.collected_at, now, tz) {
            err(PhonedField::Time, message);
        }
        errors
    }
}

/// A phoned result as typed: every field a string, so nothing typed is lost and each problem
/// can be named at its field. `read_back` is `None` until the person says yes or no: a result
/// whose read-back was not confirmed is recorded only when they say so.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PhonedDraft {
    /// The test's catalogue code or name, as typed or picked from the request's tests.
    pub test: String,
    pub summary: String,
    /// DD/MM/YYYY, local time.
    pub date: String,
    /// HH:MM, local time.
    pub time: String,
    pub phoned_by: String,
    pub received_by: String,
    pub read_back: Option<bool>,
}

/// The fields of a phoned result, in the order they are typed (and errors are reported).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PhonedField {
    Test,
    Summary,
    Date,
    Time,
    PhonedBy,
    ReceivedBy,
    ReadBack,
}

impl PhonedField {
    pub fn label(self) -> &'static str {
        match self {
            PhonedField::Test => "Test",
            PhonedField::Summary => "Result",
            PhonedField::Date => "Phoned on",
            PhonedField::Time => "Phoned at",
            PhonedField::PhonedBy => "Phoned by",
            PhonedField::ReceivedBy => "Taken by (ward)",
            PhonedField::ReadBack => "Read back",
        }
    }
}

/// One problem with one field of a phoned result, worded for the person at the keyboard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhonedFieldError {
    pub field: PhonedField,
    pub message: String,
}

impl fmt::Display for PhonedFieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field.label(), self.message)
    }
}

impl PhonedDraft {
    /// A fresh form for `request`: phoned now (in `tz`) by `phoned_by`; the test already chosen
    /// when the request asks for only one.
    pub fn new<Tz: TimeZone>(
        request: &NewRequest,
        phoned_by: &str,
        now: DateTime<Utc>,
        tz: &Tz,
    ) -> Self
    where
        Tz::Offset: fmt::Display,
    {
        let local = now.with_timezone(tz);
        Self {
            test: match request.tests.as_slice() {
                [only] => only.code.clone(),
                _ => String::new(),
            },
            date: local.format("%d/%m/%Y").to_string(),
            time: local.format("%H:%M").to_string(),
            phoned_by: phoned_by.trim().to_owned(),
            ..Self::default()
        }
    }

    /// Checks every field against `request` as at `now`, times typed in `tz`. Returns the result
    /// (the test as the request's catalogue code, texts cleaned), or every problem in form
    /// order.
    pub fn validate<Tz: TimeZone>(
        &self,
        request: &NewRequest,
        now: DateTime<Utc>,
        tz: &Tz,
    ) -> Result<PhonedResult, Vec<PhonedFieldError>>
    where
        Tz::Offset: fmt::Display,
    {
        let mut errors = Vec::new();
        let mut err = |field, message| errors.push(PhonedFieldError { field, message });
        let test = match requested_test(request, &self.test) {
            Ok(t) => t.code.clone(),
            Err(message) => {
                err(PhonedField::Test, message);
                String::new()
            }
        };
        let mut text = |field, value: &str, max| {
            checked_text(field, value, max).unwrap_or_else(|message| {
                err(field, message);
                String::new()
            })
        };
        let summary = text(PhonedField::Summary, &self.summary, SUMMARY_MAX);
        let phoned_by = text(PhonedField::PhonedBy, &self.phoned_by, USER_MAX);
        let received_by = text(PhonedField::ReceivedBy, &self.received_by, USER_MAX);
        let phoned_at = self.phoned_at(request, now, tz, &mut err);
        if self.read_back.is_none() {
            err(
                PhonedField::ReadBack,
                "Say whether the ward read the result back: Read back, or NOT read back".into(),
            );
        }
        errors.sort_by_key(|e| e.field);
        match (phoned_at, self.read_back) {
            (Some(phoned_at), Some(read_back)) if errors.is_empty() => Ok(PhonedResult {
                test,
                summary,
                phoned_at,
                phoned_by,
                received_by,
                read_back,
            }),
            _ => Err(errors),
        }
    }

    /// The typed date and time in `tz` as UTC, checked against the collection and `now`, or
    /// `None` after reporting each problem.
    fn phoned_at<Tz: TimeZone>(
        &self,
        request: &NewRequest,
        now: DateTime<Utc>,
        tz: &Tz,
        err: &mut dyn FnMut(PhonedField, String),
    ) -> Option<DateTime<Utc>>
    where
        Tz::Offset: fmt::Display,
    {
        let (_, at) = typed_moment(&self.date, &self.time, tz, &mut |which, message| {
            let field = match which {
                DateOrTime::Date => PhonedField::Date,
                DateOrTime::Time => PhonedField::Time,
            };
            err(field, message);
        })?;
        match check_phoned_at(at, request.collected_at, now, tz) {
            Ok(()) => Some(at),
            Err(message) => {
                err(PhonedField::Time, message);
                None
            }
        }
    }
}

/// The request's test that `typed` names, by catalogue code or name, ignoring case; or why
/// there is none. A result for a test the request does not ask for is refused: it belongs to
/// another request (or to none), and logging it here would put it on the wrong form.
pub fn requested_test<'a>(
    request: &'a NewRequest,
    typed: &str,
) -> Result<&'a RequestedTest, String> {
    let typed = typed.trim();
    if typed.is_empty() {
        return Err("Choose the test the result is for".into());
    }
    let same = |a: &str| a.trim().to_lowercase() == typed.to_lowercase();
    request
        .tests
        .iter()
        .find(|t| same(&t.code) || same(&t.name))
        .ok_or_else(|| {
            let asked: Vec<&str> = request.tests.iter().map(|t| t.code.as_str()).collect();
            format!(
                "'{typed}' was not requested on this request (it asks for {}): a result for \
                 another test cannot be logged against it",
                asked.join(", ")
            )
        })
}

/// A required one-line text: cleaned (NFC, no hidden characters), within `max`, with a letter
/// or digit in it; or the message saying why not.
fn checked_text(field: PhonedField, value: &str, max: usize) -> Result<String, String> {
    let cleaned = clean(value, max, false).map_err(|e| format!("{} {e}", field.label()))?;
    if cleaned.is_empty() {
        return Err(match field {
            PhonedField::Summary => "Type the result as it was said on the phone".into(),
            PhonedField::PhonedBy => "Type who phoned the result (name or staff ID)".into(),
            PhonedField::ReceivedBy => "Type who took the call on the ward".into(),
            _ => format!("{} is required", field.label()),
        });
    }
    if !cleaned.chars().any(char::is_alphanumeric) {
        return Err(format!("{} needs letters or digits", field.label()));
    }
    Ok(cleaned)
}

/// A result is phoned after its sample was collected and not after `now` (allowing the same
/// few minutes of clock skew as a collection time).
fn check_phoned_at<Tz: TimeZone>(
    at: DateTime<Utc>,
    collected_at: DateTime<Utc>,
    now: DateTime<Utc>,
    tz: &Tz,
) -> Result<(), String>
where
    Tz::Offset: fmt::Display,
{
    let shown = |t: DateTime<Utc>| t.with_timezone(tz).format("%H:%M %d/%m/%Y").to_string();
    if at > now + chrono::Duration::minutes(CLOCK_SKEW_MINUTES) {
        Err(format!(
            "{} is in the future: check the date and time",
            shown(at)
        ))
    } else if at < collected_at {
        Err(format!(
            "{} is before the sample was collected ({}): check the date and time",
            shown(at),
            shown(collected_at)
        ))
    } else {
        Ok(())
    }
}

/// When the things that matter happened to one request, read from its events: the first of
/// each (a step recorded twice, by two PCs, counts from the first). `None` when not yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestTimes {
    pub collected: DateTime<Utc>,
    pub sent: Option<DateTime<Utc>>,
    pub received: Option<DateTime<Utc>>,
    /// The earliest time a result was phoned (as the caller gave it, not when it was typed).
    pub phoned: Option<DateTime<Utc>>,
    pub reentered: Option<DateTime<Utc>>,
}

impl RequestTimes {
    pub fn of(request: &NewRequest, events: &[Event]) -> Self {
        let mut times = Self {
            collected: request.collected_at,
            sent: None,
            received: None,
            phoned: None,
            reentered: None,
        };
        let earliest = |slot: &mut Option<DateTime<Utc>>, at: DateTime<Utc>| {
            *slot = Some(slot.map_or(at, |t| t.min(at)));
        };
        for e in events.iter().filter(|e| e.request_uuid == request.uuid) {
            match &e.kind {
                EventKind::StatusChanged { transition } => match transition {
                    Transition::Sent => earliest(&mut times.sent, e.at),
                    Transition::Received => earliest(&mut times.received, e.at),
                    Transition::Reentered { .. } => earliest(&mut times.reentered, e.at),
                    Transition::Cancelled { .. } | Transition::Rejected { .. } => {}
                },
                EventKind::ResultPhoned { phoned } => earliest(&mut times.phoned, phoned.phoned_at),
                EventKind::Created { .. } | EventKind::ConflictSettled { .. } => {}
            }
        }
        times
    }
}

/// The phoned results among a request's events, in the order given.
pub fn phoned_results(events: &[Event]) -> impl Iterator<Item = (&Event, &PhonedResult)> {
    events.iter().filter_map(|e| match &e.kind {
        EventKind::ResultPhoned { phoned } => Some((e, &**phoned)),
        _ => None,
    })
}

#[cfg(test)]
#[path = "phoned/tests.rs"]
mod tests;
