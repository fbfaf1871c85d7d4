//! Writing a bundle as its events come: the header first, each event as one line, then the
//! trailer with the count, the time range and the SHA-256 of everything before it.

use std::io::{self, BufWriter, Write};

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{FORMAT, HeaderLine, Source, Summary, TrailerLine, VERSION};
use crate::domain::downtime_id::Code3;
use crate::domain::event::{Event, EventKind};
use crate::files::HashingWriter;

/// Why a bundle could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("could not write the handover bundle")]
    Io(#[from] io::Error),
    #[error("could not encode event {id} for the handover bundle")]
    Encode {
        id: Uuid,
        #[source]
        source: serde_json::Error,
    },
    /// A reader would refuse the bundle, so it is not written.
    #[error(
        "event {id} creates request {downtime_id} of site {event_site}, but the bundle is for \
         site {bundle_site}: a bundle never mixes sites; check this PC's set-up"
    )]
    OtherSite {
        id: Uuid,
        downtime_id: String,
        event_site: Code3,
        bundle_site: Code3,
    },
}

/// A bundle being written. Nothing marks it complete until [`BundleWriter::finish`] writes the
/// trailer: a writer dropped half-way leaves a file every reader refuses as truncated.
pub struct BundleWriter<W: Write> {
    out: HashingWriter<BufWriter<W>>,
    site: Code3,
    /// One encoded event, reused so each line is written (and hashed) in one piece.
    line: Vec<u8>,
    count: u64,
    range: Option<(DateTime<Utc>, DateTime<Utc>)>,
}

impl<W: Write> BundleWriter<W> {
    /// Starts a bundle from `source`: writes the header.
    pub fn new(w: W, source: &Source) -> Result<Self, WriteError> {
        let header = HeaderLine {
            format: FORMAT.to_owned(),
            version: u64::from(VERSION),
            site: source.site.clone(),
            workstation: source.workstation.clone(),
            written_at: source.written_at,
            training: source.training,
        };
        let mut out = HashingWriter::new(BufWriter::new(w));
        serde_json::to_writer(&mut out, &header).map_err(io::Error::from)?;
        out.write_all(b"\n")?;
        Ok(Self {
            out,
            site: source.site.clone(),
            line: Vec::with_capacity(1024),
            count: 0,
            range: None,
        })
    }

    /// Adds one event; refuses a creation of another site than the bundle's.
    pub fn write_event(&mut self, e: &Event) -> Result<(), WriteError> {
        if let EventKind::Created { downtime_id, .. } = &e.kind
            && downtime_id.site() != &self.site
        {
            return Err(WriteError::OtherSite {
                id: e.id,
                downtime_id: downtime_id.grouped(),
                event_site: downtime_id.site().clone(),
                bundle_site: self.site.clone(),
            });
        }
        self.line.clear();
        serde_json::to_writer(&mut self.line, e)
            .map_err(|source| WriteError::Encode { id: e.id, source })?;
        self.line.push(b'\n');
        self.out.write_all(&self.line)?;
        self.count += 1;
        self.range = Some(match self.range {
            None => (e.at, e.at),
            Some((first, last)) => (first.min(e.at), last.max(e.at)),
        });
        Ok(())
    }

    /// Writes the trailer and flushes: only now is the bundle complete.
    pub fn finish(self) -> Result<Summary, WriteError> {
        let (mut out, _bytes, sha256) = self.out.finish();
        let trailer = TrailerLine {
            end: FORMAT.to_owned(),
            events: self.count,
            first_event_at: self.range.map(|r| r.0),
            last_event_at: self.range.map(|r| r.1),
            sha256: sha256.clone(),
        };
        serde_json::to_writer(&mut out, &trailer).map_err(io::Error::from)?;
        out.write_all(b"\n")?;
        out.flush()?;
        Ok(Summary {
            event_count: self.count,
            time_range: self.range,
            sha256,
        })
    }
}

/// Writes a whole bundle of `events` from `source` into `w`. The caller owns the file (see
/// [`crate::files::write_atomic`], so a reader never sees half a bundle under its final name).
pub fn write_bundle<'a>(
    w: impl Write,
    source: &Source,
    events: impl IntoIterator<Item = &'a Event>,
) -> Result<Summary, WriteError> {
    let mut writer = BundleWriter::new(w, source)?;
    for e in events {
        writer.write_event(e)?;
    }
    writer.finish()
}
