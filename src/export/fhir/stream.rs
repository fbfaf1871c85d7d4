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
        // The comma, the line break and the indent in one write where the indent fits (every
        // Bundle's does), rather than two or three writes for each line of a large file.
        const LINE: [u8; 2 + 64] = {
            let mut line = [b' '; 2 + 64];
            line[0] = b',';
            line[1] = b'\n';
            line
        };
        let start = if after_value { 0 } else { 1 };
        let width = 2 * self.depth;
        if width <= LINE.len() - 2 {
            return w.write_all(&LINE[start..2 + width]);
        }
        w.write_all(&LINE[start..2])?;
        let mut width = width;
        while width > 0 {
            let n = width.min(LINE.len() - 2);
            w.write_all(&LINE[2..2 + n])?;
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
