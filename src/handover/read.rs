//! Reading a bundle: line by line within a size limit, every check made before any event is
//! handed out, so a refused bundle yields nothing.
//!
//! The checks run in the order that gives the true reason: the first bytes (foreign, future
//! version) before anything else, since nothing after them can be trusted; then completeness
//! (truncated) and the SHA-256 (altered), since a damaged byte can make any line look malformed;
//! only then the header's fields, each event, the trailer's count and range, and the sites.

use std::io::{BufRead, BufReader, Read, Take};
use std::path::Path;

use sha2::{Digest, Sha256};

use super::{
    Bundle, BundleError, HANDOVER_MAX_BYTES, HEADER_START, HeaderLine, Source, Summary,
    TRAILER_START, TrailerLine, VERSION,
};
use crate::domain::event::{Event, EventKind};
use crate::files::{UnsealError, Unsealing, hex, is_age, read_limited};

/// Reads the bundle at `path`: a regular file of at most [`HANDOVER_MAX_BYTES`].
pub fn read_bundle_file(path: &Path) -> Result<Bundle, BundleError> {
    read_bundle_file_opened(path, None)
}

/// [`read_bundle_file`] of a bundle that may be encrypted with age: opened with `key`, the
/// plain text decrypted as it is read, within the same limit (the encrypted file is limited
/// too, before anything is decrypted).
pub fn read_bundle_file_opened(
    path: &Path,
    key: Option<&Unsealing>,
) -> Result<Bundle, BundleError> {
    let bytes =
        read_limited(path, HANDOVER_MAX_BYTES, "a handover bundle").map_err(BundleError::File)?;
    if !is_age(&bytes) {
        return read_bundle(bytes.as_slice(), HANDOVER_MAX_BYTES);
    }
    let key = key.ok_or(BundleError::Sealed(UnsealError::KeyNeeded))?;
    let plain = key.open(&bytes).map_err(BundleError::Sealed)?;
    read_bundle(plain, HANDOVER_MAX_BYTES)
}

/// Whether the file at `path` is encrypted with age (from its first bytes; `false` when it
/// cannot be read, which the import then reports).
pub fn is_sealed_file(path: &Path) -> bool {
    let mut head = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(64).read_to_end(&mut head))
        .is_ok_and(|_| is_age(&head))
}

/// The longest header line read by [`read_source_file`]: a header is about 150 bytes.
const HEADER_MAX_BYTES: u64 = 4096;

/// Reads only the header of the bundle at `path`: who wrote it. Nothing else is checked (the
/// events are not read), so this says whose file it is, never that it is sound.
pub fn read_source_file(path: &Path) -> Result<Source, BundleError> {
    let file = std::fs::File::open(path).map_err(BundleError::Io)?;
    let mut head = Vec::new();
    BufReader::new(file.take(HEADER_MAX_BYTES))
        .read_until(b'\n', &mut head)
        .map_err(BundleError::Io)?;
    check_start(&head)?;
    let header: HeaderLine =
        serde_json::from_slice(content(&head)).map_err(BundleError::BadHeader)?;
    Ok(Source {
        site: header.site,
        workstation: header.workstation,
        written_at: header.written_at,
        training: header.training,
    })
}

/// Reads and checks a whole bundle of at most `limit` bytes: every event, or a refusal.
pub fn read_bundle(r: impl Read, limit: u64) -> Result<Bundle, BundleError> {
    let mut lines = Lines {
        input: BufReader::new(r.take(limit.saturating_add(1))),
        line: Vec::new(),
        number: 0,
        read: 0,
        limit,
    };
    if !lines.next()? {
        return Err(BundleError::Truncated);
    }
    let head = std::mem::take(&mut lines.line);
    check_start(&head)?;
    let mut hasher = Sha256::new();
    hasher.update(&head);

    let mut events = Vec::new();
    let mut bad_event = None;
    let trailer = loop {
        if !lines.next()? || !lines.line.ends_with(b"\n") {
            return Err(BundleError::Truncated);
        }
        if lines.line.starts_with(TRAILER_START.as_bytes()) {
            break std::mem::take(&mut lines.line);
        }
        hasher.update(&lines.line);
        // After one bad line the rest is only hashed: the SHA-256 says whether it is damage.
        if bad_event.is_none() {
            match serde_json::from_slice::<Event>(content(&lines.line)) {
                Ok(e) => events.push(e),
                Err(source) => bad_event = Some((lines.number, source)),
            }
        }
    };
    if lines.next()? {
        return Err(BundleError::AfterEnd { line: lines.number });
    }

    let trailer: TrailerLine =
        serde_json::from_slice(content(&trailer)).map_err(BundleError::BadTrailer)?;
    let found = hex(&hasher.finalize());
    if !trailer.sha256.eq_ignore_ascii_case(&found) {
        return Err(BundleError::Altered {
            expected: trailer.sha256,
            found,
        });
    }
    let header: HeaderLine =
        serde_json::from_slice(content(&head)).map_err(BundleError::BadHeader)?;
    if header.version == 0 {
        return Err(BundleError::Foreign);
    }
    if let Some((line, source)) = bad_event {
        return Err(BundleError::BadEvent { line, source });
    }
    let held = u64::try_from(events.len()).unwrap_or(u64::MAX);
    if trailer.events != held {
        return Err(BundleError::CountMismatch {
            said: trailer.events,
            found: held,
        });
    }
    let time_range = time_range(&events);
    if (trailer.first_event_at, trailer.last_event_at)
        != (time_range.map(|r| r.0), time_range.map(|r| r.1))
    {
        return Err(BundleError::RangeMismatch);
    }
    for (i, e) in events.iter().enumerate() {
        if let EventKind::Created { downtime_id, .. } = &e.kind
            && downtime_id.site() != &header.site
        {
            return Err(BundleError::SiteMismatch {
                // Line 1 is the header.
                line: u64::try_from(i).unwrap_or(u64::MAX).saturating_add(2),
                downtime_id: downtime_id.grouped(),
                event_site: downtime_id.site().clone(),
                bundle_site: header.site.clone(),
            });
        }
    }
    Ok(Bundle {
        source: Source {
            site: header.site,
            workstation: header.workstation,
            written_at: header.written_at,
            training: header.training,
        },
        summary: Summary {
            event_count: held,
            time_range,
            sha256: found,
        },
        events,
    })
}

/// Refuses a first line that is not the start of a bundle this version can read.
fn check_start(head: &[u8]) -> Result<(), BundleError> {
    let start = HEADER_START.as_bytes();
    if !head.starts_with(start) {
        // A file cut within its first bytes is a truncated bundle, not a foreign file.
        let cut_short = !head.ends_with(b"\n") && start.starts_with(head);
        return Err(if cut_short {
            BundleError::Truncated
        } else {
            BundleError::Foreign
        });
    }
    // The version is read from the bytes alone: a later version may change everything after it.
    let digits: Vec<u8> = head[start.len()..]
        .iter()
        .copied()
        .take_while(u8::is_ascii_digit)
        .collect();
    let version = std::str::from_utf8(&digits)
        .ok()
        .and_then(|d| d.parse::<u64>().ok());
    match version {
        Some(v) if v > u64::from(VERSION) => Err(BundleError::FutureVersion { version: v }),
        // Too many digits for a number: not a version any Stopgap wrote yet.
        None if !digits.is_empty() => Err(BundleError::FutureVersion { version: u64::MAX }),
        _ if !head.ends_with(b"\n") => Err(BundleError::Truncated),
        // Anything else wrong with the header is reported once the SHA-256 says it is no damage.
        _ => Ok(()),
    }
}

/// A line without its LF.
fn content(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\n").unwrap_or(line)
}

fn time_range(
    events: &[Event],
) -> Option<(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>)> {
    let first = events.iter().map(|e| e.at).min()?;
    let last = events.iter().map(|e| e.at).max()?;
    Some((first, last))
}

/// The input, one line at a time, never more than `limit` bytes in all.
struct Lines<R: Read> {
    input: BufReader<Take<R>>,
    /// The current line with its LF (none on a last line cut short).
    line: Vec<u8>,
    /// The current line's number, from 1.
    number: u64,
    read: u64,
    limit: u64,
}

impl<R: Read> Lines<R> {
    /// Reads the next line; `false` at the end of the input.
    fn next(&mut self) -> Result<bool, BundleError> {
        self.line.clear();
        let n = self
            .input
            .read_until(b'\n', &mut self.line)
            .map_err(BundleError::Io)?;
        self.read = self
            .read
            .saturating_add(u64::try_from(n).unwrap_or(u64::MAX));
        if self.read > self.limit {
            return Err(BundleError::TooBig { limit: self.limit });
        }
        if n == 0 {
            return Ok(false);
        }
        self.number += 1;
        Ok(true)
    }
}
