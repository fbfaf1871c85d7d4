//! Handover bundles: the files in which Stopgap PCs exchange events (never rows) during a
//! downtime, by USB stick or a shared folder. Importing one is a union by event UUID and the
//! state is the merged fold ([`crate::domain::merge`]), so bundles may arrive in any order, twice,
//! or relayed through another PC.
//!
//! ## The format, version 1 (enough to write one from another program)
//! UTF-8 text without a byte-order mark, lines ending in LF (`\n`, never CR LF), three parts:
//!
//! 1. **Header**, line 1: one JSON object whose text begins with exactly the bytes
//!    `{"format":"stopgap-handover","version":` (the format name, then the version number, in
//!    that order and without spaces), then the source:
//!    `{"format":"stopgap-handover","version":1,"site":"RXX","workstation":"W07","written_at":"2026-06-04T10:30:00Z"}`.
//!    `site` and `workstation` are the writing PC's 3-character codes (letters and digits);
//!    `written_at` is the writer's clock (RFC 3339, UTC). A PC holding synthetic training
//!    requests adds `"training":true`; a PC with live patients refuses such a bundle.
//! 2. **Events**, one per line, each the JSON of a `domain::event::Event`, in any order (the
//!    merge orders them), for example:
//!    `{"id":"…","request_uuid":"…","actor":{"workstation":"L01","user":"J Smith"},"at":"2026-06-04T10:41:00Z","kind":{"kind":"status_changed","transition":{"to":"received"}}}`
//!    (`kind` is `{"kind":"created","downtime_id":"RXX…","request":{…}}` for a creation, and a
//!    transition is `{"to":"sent"}`, `{"to":"received"}`, `{"to":"reentered","accession":"…"}`,
//!    `{"to":"cancelled","reason":"…"}` or `{"to":"rejected","reason":"…"}`).
//!    An event may have been recorded on another PC than the bundle's (a lab bundle relays the
//!    wards' events, so every PC ends with every event), but a creation's downtime ID must be of
//!    the bundle's site: a bundle never mixes hospitals' requests.
//! 3. **Trailer**, the last line: one JSON object whose text begins with exactly
//!    `{"end":"stopgap-handover",`, then the event count, the time range of the events (the
//!    earliest and latest `at`, `null` when there are none) and the SHA-256 (lowercase hex) of
//!    every byte before the trailer, that is the header and event lines with their LFs:
//!    `{"end":"stopgap-handover","events":2,"first_event_at":"…","last_event_at":"…","sha256":"…"}`,
//!    followed by a final LF and nothing else.
//!
//! Why a trailer: a writer streams 100,000 events without holding them, and a file cut short
//! anywhere (a copy interrupted, a USB stick pulled out) has no complete trailer line, so it is
//! always detected as truncated; a changed byte anywhere before the trailer fails the SHA-256,
//! and a changed count or time range no longer matches the events. The header comes first so a
//! foreign file or a future version is recognised from its first bytes, before anything else is
//! trusted: a later version may change everything after its version number.
//!
//! A bundle is read whole and refused whole: [`read_bundle`] returns every event or none, each
//! refusal ([`BundleError`]) saying what to do. Line numbers in messages count from 1 (the
//! header).

mod exchange;
mod folder;
mod read;
mod write;

#[cfg(test)]
mod tests;

use chrono::{DateTime, Utc};

use crate::domain::downtime_id::Code3;
use crate::domain::event::Event;
use crate::files::{ReadError, size_in_words};

pub use exchange::{
    ExchangeError, Exported, export_bundle, export_bundle_sealed, import_bundle,
    import_bundle_opened,
};
pub use folder::{
    BUNDLE_EXTENSION, Received, ReceivedOutcome, Seen, Sent, Visited, outbox_name, receive, send,
    visit,
};
pub use read::{
    is_sealed_file, read_bundle, read_bundle_file, read_bundle_file_opened, read_source_file,
};
pub use write::{BundleWriter, WriteError, write_bundle};

/// The format name, first in the header and in the trailer.
pub const FORMAT: &str = "stopgap-handover";
/// The version this Stopgap writes, and the newest it reads.
pub const VERSION: u32 = 1;
/// The exact first bytes of every bundle (any version).
pub const HEADER_START: &str = r#"{"format":"stopgap-handover","version":"#;
/// The exact first bytes of the trailer line.
pub const TRAILER_START: &str = r#"{"end":"stopgap-handover","#;
/// Largest bundle read from a file: a request with its history takes about 1.5 KB, so 256 MB
/// is some 170,000 requests, more than one downtime on one PC, and still fits a ward PC's memory.
pub const HANDOVER_MAX_BYTES: u64 = 256 * 1024 * 1024;

/// Where a bundle comes from: the writing PC, and when it wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub site: Code3,
    pub workstation: Code3,
    /// The writer's clock (a parameter: only the shell reads the clock).
    pub written_at: DateTime<Utc>,
    /// The sending PC holds synthetic training requests: a live PC refuses its bundles, so
    /// practice never mixes with patients.
    pub training: bool,
}

/// What a bundle's trailer says, checked against its content on reading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub event_count: u64,
    /// The earliest and latest event time; `None` for a bundle without events.
    pub time_range: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// SHA-256 of the header and event lines, lowercase hex.
    pub sha256: String,
}

/// A bundle read and checked in full.
#[derive(Debug, Clone, PartialEq)]
pub struct Bundle {
    pub source: Source,
    pub summary: Summary,
    /// In the order of the file.
    pub events: Vec<Event>,
}

impl Bundle {
    /// Refuses a bundle from another site than this PC's.
    pub fn check_site(&self, here: &Code3) -> Result<(), BundleError> {
        if &self.source.site == here {
            Ok(())
        } else {
            Err(BundleError::OtherSite {
                bundle: self.source.site.clone(),
                here: here.clone(),
            })
        }
    }
}

/// Line 1 of a bundle. Its first two fields, in this order, make [`HEADER_START`].
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct HeaderLine {
    format: String,
    version: u64,
    site: Code3,
    workstation: Code3,
    written_at: DateTime<Utc>,
    /// Written only when true (`"training":true` after `written_at`); absent means a live PC.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    training: bool,
}

/// The last line of a bundle. Its first field makes [`TRAILER_START`].
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct TrailerLine {
    end: String,
    events: u64,
    first_event_at: Option<DateTime<Utc>>,
    last_event_at: Option<DateTime<Utc>>,
    sha256: String,
}

/// Why a bundle was refused. Nothing of a refused bundle is imported.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("could not read the handover bundle")]
    File(#[source] ReadError),
    #[error("could not read the handover bundle")]
    Io(#[source] std::io::Error),
    #[error("could not open the encrypted handover bundle")]
    Sealed(#[source] crate::files::UnsealError),
    #[error(
        "the handover bundle is larger than {}, the most this PC reads: check that this is the \
         right file, or export smaller bundles (--since) on the sending PC",
        size_in_words(*.limit)
    )]
    TooBig { limit: u64 },
    #[error(
        "the file is not a Stopgap handover bundle (it does not begin like one): choose a file \
         written by Stopgap's handover export"
    )]
    Foreign,
    #[error(
        "the handover bundle is format version {version}, written by a newer Stopgap; this PC \
         reads version {VERSION}: update Stopgap on this PC, or export the bundle again from a \
         PC running this version"
    )]
    FutureVersion { version: u64 },
    #[error(
        "the handover bundle is cut short (it has no complete closing line): the copy was \
         interrupted or the USB stick removed too early; copy it again from the sending PC"
    )]
    Truncated,
    #[error(
        "the handover bundle was changed or damaged after it was written (its SHA-256 does not \
         match its content): copy it again from the sending PC, or export it again there"
    )]
    Altered { expected: String, found: String },
    #[error(
        "the handover bundle's closing line is damaged: copy the bundle again from the sending PC"
    )]
    BadTrailer(#[source] serde_json::Error),
    #[error(
        "the handover bundle's closing line says {said} events but the bundle holds {found}: it \
         was changed or damaged; copy it again from the sending PC"
    )]
    CountMismatch { said: u64, found: u64 },
    #[error(
        "the handover bundle's closing line gives another time range than its events have: it \
         was changed or damaged; copy it again from the sending PC"
    )]
    RangeMismatch,
    #[error(
        "the handover bundle goes on after its closing line (line {line}): two files were joined \
         or it was changed; copy it again from the sending PC"
    )]
    AfterEnd { line: u64 },
    #[error(
        "line 1 of the handover bundle is not a valid header: the program that wrote it is at \
         fault; export it again with Stopgap"
    )]
    BadHeader(#[source] serde_json::Error),
    #[error(
        "line {line} of the handover bundle is not a valid event: the program that wrote it is \
         at fault; export it again with Stopgap"
    )]
    BadEvent {
        line: u64,
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "line {line} of the handover bundle creates request {downtime_id} of site {event_site}, \
         but the bundle is from site {bundle_site}: a bundle never mixes sites; ask the sending \
         PC to check its set-up"
    )]
    SiteMismatch {
        line: u64,
        downtime_id: String,
        event_site: Code3,
        bundle_site: Code3,
    },
    #[error(
        "the handover bundle is from site {bundle}, but this PC is set up for site {here}: \
         import only bundles of this hospital site"
    )]
    OtherSite { bundle: Code3, here: Code3 },
}
