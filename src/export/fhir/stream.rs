//! The pretty-printing formatter the streamed Bundle is written with, so each entry comes out
//! exactly as `serde_json::to_writer_pretty` of the whole Bundle would write it.

use std::io::Write;

/// Pretty JSON as `serde_json::ser::PrettyFormatter` writes it (two spaces a level), starting
/// two levels deep: an entry inside the Bundle's `entry` array.
pub(super) struct EntryFormatter {
    depth: usize,
    has_value: bool,
}

impl EntryFormatter {
    pub(super) fn new() -> Self {
        Self {
            depth: 2,
            has_value: false,
        }
    }

    fn line_break<W: ?Sized + Write>(&self, w: &mut W, after_value: bool) -> std::io::Result<()> {
        const SPACES: &[u8; 64] = &[b' '; 64];
        w.write_all(if after_value { b",\n" } else { b"\n" })?;
        let mut width = 2 * self.depth;
        while width > 0 {
            let n = width.min(SPACES.len());
            w.write_all(&SPACES[..n])?;
            width -= n;
        }
        Ok(())
    }

    fn end<W: ?Sized + Write>(&mut self, w: &mut W, close: &[u8]) -> std::io::Result<()> {
        self.depth -= 1;
        if self.has_value {
            self.line_break(w, false)?;
        }
        w.write_all(close)
    }
}

impl serde_json::ser::Formatter for EntryFormatter {
    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        w.write_all(b"[")
    }

    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.end(w, b"]")
    }

    fn begin_array_value<W: ?Sized + Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.line_break(w, !first)
    }

    fn end_array_value<W: ?Sized + Write>(&mut self, _w: &mut W) -> std::io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        w.write_all(b"{")
    }

    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.end(w, b"}")
    }

    fn begin_object_key<W: ?Sized + Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.line_break(w, !first)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        w.write_all(b": ")
    }

    fn end_object_value<W: ?Sized + Write>(&mut self, _w: &mut W) -> std::io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}
