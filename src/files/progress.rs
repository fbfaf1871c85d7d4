//! A writer that can be stopped from another thread and reports what passed through it, so a
//! long export can show how far it has got and be cancelled while its file is being written.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};

/// The error a [`WatchedWriter`] returns once cancelled: its text is what a user would see if it
/// ever escaped (the export turns it into its own "cancelled" error).
pub const CANCELLED: &str = "the export was cancelled";

/// Passes writes to `inner`, first refusing them once `cancel` is set, then showing each piece
/// written to `seen`.
pub struct WatchedWriter<'a, F: FnMut(&[u8])> {
    inner: &'a mut dyn Write,
    cancel: &'a AtomicBool,
    seen: F,
}

impl<'a, F: FnMut(&[u8])> WatchedWriter<'a, F> {
    pub fn new(inner: &'a mut dyn Write, cancel: &'a AtomicBool, seen: F) -> Self {
        Self {
            inner,
            cancel,
            seen,
        }
    }
}

impl<F: FnMut(&[u8])> Write for WatchedWriter<'_, F> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // Not `Interrupted`: `write_all` would retry that for ever.
        if self.cancel.load(Ordering::Relaxed) {
            return Err(io::Error::other(CANCELLED));
        }
        let n = self.inner.write(buf)?;
        (self.seen)(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Counts the records of a file as its bytes go by, from a marker that only a record's start
/// (or end) can hold, found even when it is split between two writes.
#[derive(Debug, Clone)]
pub struct RecordCounter {
    kind: CounterKind,
    count: u64,
}

#[derive(Debug, Clone)]
enum CounterKind {
    /// Occurrences of a byte string; `tail` keeps the end of the last write.
    Marker {
        marker: &'static [u8],
        tail: Vec<u8>,
    },
    /// Nothing can be counted (compressed output).
    Nothing,
    /// Line ends outside double quotes (RFC 4180 records); the first is the header's.
    CsvRecords { in_quotes: bool, header: bool },
}

impl RecordCounter {
    /// Counts occurrences of `marker`.
    pub fn marker(marker: &'static [u8]) -> Self {
        Self {
            kind: CounterKind::Marker {
                marker,
                tail: Vec::new(),
            },
            count: 0,
        }
    }

    /// Counts nothing: for output whose records cannot be seen in its bytes.
    pub fn none() -> Self {
        Self {
            kind: CounterKind::Nothing,
            count: 0,
        }
    }

    /// Counts CSV records after the header row.
    pub fn csv_records() -> Self {
        Self {
            kind: CounterKind::CsvRecords {
                in_quotes: false,
                header: true,
            },
            count: 0,
        }
    }

    /// Records seen so far.
    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn feed(&mut self, buf: &[u8]) {
        match &mut self.kind {
            CounterKind::Marker { marker, tail } => {
                let m: &[u8] = marker;
                // `tail` is the stream's last `m.len() - 1` bytes: too short to hold a marker, so
                // one found in it joined to this write's start is one split between writes.
                let take = buf.len().min(m.len() - 1);
                tail.extend_from_slice(&buf[..take]);
                self.count += occurrences(tail, m) as u64;
                self.count += occurrences(buf, m) as u64;
                if buf.len() >= m.len() - 1 {
                    tail.clear();
                    tail.extend_from_slice(&buf[buf.len() - (m.len() - 1)..]);
                } else {
                    let extra = tail.len().saturating_sub(m.len() - 1);
                    tail.drain(..extra);
                }
            }
            CounterKind::Nothing => {}
            CounterKind::CsvRecords { in_quotes, header } => {
                for &b in buf {
                    match b {
                        b'"' => *in_quotes = !*in_quotes,
                        b'\n' if !*in_quotes => {
                            if *header {
                                *header = false;
                            } else {
                                self.count += 1;
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
    }
}

/// How many times `marker` (never empty, never overlapping itself) occurs in `hay`.
fn occurrences(hay: &[u8], marker: &[u8]) -> usize {
    let Some((&first, _)) = marker.split_first() else {
        return 0;
    };
    let mut n = 0;
    let mut at = 0;
    while let Some(i) = hay[at..].iter().position(|&b| b == first) {
        let start = at + i;
        if hay[start..].starts_with(marker) {
            n += 1;
            at = start + marker.len();
        } else {
            at = start + 1;
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count_in_pieces(mut c: RecordCounter, text: &[u8], piece: usize) -> u64 {
        for chunk in text.chunks(piece) {
            c.feed(chunk);
        }
        c.count()
    }

    #[test]
    fn a_marker_split_between_writes_is_counted_once() {
        let text = b"\x0bMSH|a\rPID|b\r\x1c\r\x0bMSH|c\rOBR|MSH\\F\\\r\x1c\r";
        for piece in 1..text.len() {
            assert_eq!(
                count_in_pieces(RecordCounter::marker(b"MSH|"), text, piece),
                2
            );
        }
    }

    #[test]
    fn csv_records_with_line_breaks_in_quotes_are_counted_once() {
        let text = b"a,b\r\n1,\"two\r\nlines \"\"quoted\"\"\"\r\n3,x\r\n";
        for piece in 1..text.len() {
            assert_eq!(
                count_in_pieces(RecordCounter::csv_records(), text, piece),
                2
            );
        }
    }

    #[test]
    fn a_cancelled_writer_refuses_and_reports_nothing() {
        let cancel = AtomicBool::new(false);
        let mut out = Vec::new();
        let mut seen = 0;
        {
            let mut w = WatchedWriter::new(&mut out, &cancel, |b| seen += b.len());
            w.write_all(b"abc").unwrap();
            cancel.store(true, Ordering::Relaxed);
            let e = w.write_all(b"def").unwrap_err();
            assert_eq!(e.to_string(), CANCELLED);
        }
        assert_eq!(out, b"abc");
        assert_eq!(seen, 3);
    }
}
