//! HL7 v2 export: v2.5.1 OML^O21 or v2.4 ORM^O01, one message per request.
//!
//! Shape (DOMAIN.md section 7 and `examples/`): MSH, PID, [PV1], then one ORDER group per test —
//! OML: ORC, TQ1, OBR, [NTE…], [SPM]; ORM: ORC, OBR, [NTE…]. Segments end with CR and a message
//! ends with its last segment's CR; with MLLP each message is framed 0x0B … 0x1C 0x0D.
//!
//! Identifiers: placer order number (ORC-2, OBR-2, SPM-2) is the canonical downtime ID plus the
//! test's position (`RXXW07000123K-01`); placer group number (ORC-4) is the canonical downtime
//! ID; the LIMS accession, once known, is the filler number (ORC-3, OBR-3). MSH-10 is the batch ID
//! plus the message's position (`B000012-000001`), unique within a batch.
//!
//! Times are UTC, `YYYYMMDDHHMMSS+0000`, so a re-export reproduces the same bytes anywhere.
//!
//! Text: every value, including profile values, goes through [`escape`]: the delimiters become
//! `\F\ \S\ \R\ \E\ \T\`, a line break (CRLF, CR or LF) becomes `\.br\`, and any other control
//! character becomes a hex escape `\Xhh…\` of its UTF-8 bytes, so nothing typed can end a segment
//! or add a field. Free text is repeated in NTE-3 exactly as typed (clinical details, notes,
//! collector, cancellation reason), each NTE marked by NTE-4.

use chrono::{DateTime, NaiveDate, Utc};

use crate::domain::event::RequestState;
use crate::domain::request::Sex;
use crate::domain::status::Status;

use super::profile::Profile;
use super::{ExportContext, ExportError};

/// Which message to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageType {
    /// v2.5.1 OML^O21.
    OmlO21,
    /// v2.4 ORM^O01.
    OrmO01,
}

impl MessageType {
    fn msh9(self) -> &'static str {
        match self {
            MessageType::OmlO21 => "OML^O21^OML_O21",
            MessageType::OrmO01 => "ORM^O01",
        }
    }

    fn version(self) -> &'static str {
        match self {
            MessageType::OmlO21 => "2.5.1",
            MessageType::OrmO01 => "2.4",
        }
    }
}

/// MLLP start block.
pub const MLLP_START: u8 = 0x0B;
/// MLLP end block, followed by a CR.
pub const MLLP_END: [u8; 2] = [0x1C, 0x0D];

/// Escapes text for any HL7 field, component or subcomponent (see the module doc).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '|' => out.push_str("\\F\\"),
            '^' => out.push_str("\\S\\"),
            '~' => out.push_str("\\R\\"),
            '\\' => out.push_str("\\E\\"),
            '&' => out.push_str("\\T\\"),
            '\r' | '\n' => {
                if c == '\r' && chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str("\\.br\\");
            }
            c if c.is_control() => {
                out.push_str("\\X");
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("{b:02X}"));
                }
                out.push('\\');
            }
            c => out.push(c),
        }
    }
    // `""` alone is HL7's explicit null ("delete this value"): send the quotes as hex instead.
    if out == "\"\"" {
        return "\\X22\\\\X22\\".to_owned();
    }
    out
}

/// An HL7 timestamp in UTC: `YYYYMMDDHHMMSS+0000`.
pub fn timestamp(t: DateTime<Utc>) -> String {
    t.format("%Y%m%d%H%M%S+0000").to_string()
}

fn date(d: NaiveDate) -> String {
    d.format("%Y%m%d").to_string()
}

/// Components already escaped, joined by `^`, without trailing empty components.
fn components(parts: &[&str]) -> String {
    let used = parts
        .iter()
        .rposition(|p| !p.is_empty())
        .map_or(0, |i| i + 1);
    parts[..used].join("^")
}

/// A segment being built: fields by their HL7 number (1-based).
struct Segment {
    name: &'static str,
    fields: Vec<String>,
}

impl Segment {
    fn new(name: &'static str) -> Self {
        Self {
            name,
            fields: Vec::new(),
        }
    }

    /// Sets field `n` to an already-escaped value.
    fn field(mut self, n: usize, value: impl Into<String>) -> Self {
        if self.fields.len() < n {
            self.fields.resize(n, String::new());
        }
        self.fields[n - 1] = value.into();
        self
    }

    fn write_to(&self, out: &mut String) {
        out.push_str(self.name);
        let used = self
            .fields
            .iter()
            .rposition(|f| !f.is_empty())
            .map_or(0, |i| i + 1);
        for f in &self.fields[..used] {
            out.push('|');
            out.push_str(f);
        }
        out.push('\r');
    }
}

fn sex_code(s: Sex) -> &'static str {
    match s {
        Sex::Female => "F",
        Sex::Male => "M",
        Sex::Other => "O",
        Sex::Unknown => "U",
    }
}

/// ORC-5 order status (HL7 table 0038).
fn order_status(s: Status) -> &'static str {
    match s {
        Status::Logged | Status::Sent => "SC",
        Status::Received | Status::Reentered => "IP",
        Status::Cancelled | Status::Rejected => "CA",
    }
}

/// SNOMED CT specimen type for the catalogue's specimen names, where one is known.
pub(crate) fn specimen_snomed(specimen: &str) -> Option<(&'static str, &'static str)> {
    match specimen.trim().to_ascii_lowercase().as_str() {
        "whole blood" | "blood" => Some(("119297000", "Blood specimen")),
        "serum" => Some(("119364003", "Serum specimen")),
        "plasma" => Some(("119361006", "Plasma specimen")),
        _ => None,
    }
}

/// "EDTA tube (lavender top)".
pub(crate) fn tube_description(tube: &str, colour: &str) -> String {
    format!("{tube} tube ({colour} top)")
}

/// The placer order number of the `index`-th test (0-based) of a request.
pub fn placer_number(r: &RequestState, index: usize) -> String {
    format!("{}-{:02}", r.downtime_id.canonical(), index + 1)
}

/// One message for one request.
pub fn message(
    kind: MessageType,
    r: &RequestState,
    control_id: &str,
    ctx: &ExportContext,
) -> String {
    let p: &Profile = &ctx.profile;
    let h = &p.hl7;
    let q = &r.request;
    let pat = &q.patient;
    let app = escape(&h.sending_application);
    let mut out = String::new();

    // MSH-1 is the field separator itself, so the fields are numbered from 2 here.
    out.push_str(&format!(
        "MSH|^~\\&|{}|{}|{}|{}|{}||{}|{}|{}|{}|||AL|NE||UNICODE UTF-8\r",
        app,
        escape(&h.sending_facility),
        escape(&h.receiving_application),
        escape(&h.receiving_facility),
        timestamp(ctx.generated_at),
        kind.msh9(),
        escape(control_id),
        h.processing_id.code(),
        kind.version(),
    ));

    let authority = escape(&h.mrn_assigning_authority);
    let mut ids = Vec::new();
    if let Some(nhs) = pat.nhs_number {
        ids.push(format!("{}^^^NHS^NH", nhs.digits()));
    }
    if let Some(mrn) = &pat.mrn {
        ids.push(format!("{}^^^{authority}^MR", escape(mrn)));
    }
    if let Some(ae) = &pat.emergency_number {
        ids.push(format!("{}^^^{authority}^PI", escape(ae)));
    }
    Segment::new("PID")
        .field(1, "1")
        .field(3, ids.join("~"))
        .field(
            5,
            components(&[&escape(&pat.surname), &escape(&pat.forename)]),
        )
        .field(7, pat.dob.map(date).unwrap_or_default())
        .field(8, sex_code(pat.sex))
        .write_to(&mut out);

    if h.send_pv1 {
        Segment::new("PV1")
            .field(1, "1")
            .field(2, escape(&h.patient_class))
            .field(3, escape(&q.ward))
            .field(7, components(&["", &escape(&q.consultant)]))
            .write_to(&mut out);
    }

    let priority = h.priority.get(q.priority);
    let prio_code = escape(&priority.code);
    let collected = timestamp(q.collected_at);
    let requester = components(&["", &escape(&q.requester)]);
    let contact = escape(&q.requester_contact);
    let filler = r
        .accession
        .as_deref()
        .map(|a| components(&[&escape(a), &escape(&h.receiving_application)]))
        .unwrap_or_default();
    let group = components(&[&r.downtime_id.canonical(), &app]);
    let v24_quantity_timing = format!("^^^{collected}^^{prio_code}");

    let mut notes: Vec<(&str, &str)> = vec![
        (q.clinical_details.as_str(), "1R^Primary reason^HL70364"),
        (q.notes.as_str(), "RE^Remark^HL70364"),
        (q.collected_by.as_str(), "CB^Collected by^L"),
    ];
    if let Some(reason) = &r.reason {
        notes.push((reason.as_str(), "CR^Cancellation or rejection reason^L"));
    }

    for (i, t) in q.tests.iter().enumerate() {
        let placer = placer_number(r, i);
        let placer_ei = components(&[&placer, &app]);
        // check_mappings has run, so a missing mapping is unreachable; fall back to our code.
        let (code, display, system) = match p.mapping(&t.code) {
            Some(m) => (
                escape(&m.lims_code),
                escape(&m.display),
                m.system.as_deref().map(escape).unwrap_or_default(),
            ),
            None => (escape(&t.code), escape(&t.name), "L".to_owned()),
        };

        let mut orc = Segment::new("ORC")
            .field(1, "NW")
            .field(2, placer_ei.clone())
            .field(3, filler.clone())
            .field(4, group.clone())
            .field(5, order_status(r.status))
            .field(9, timestamp(r.created_at))
            .field(12, requester.clone())
            .field(14, contact.clone());
        if kind == MessageType::OrmO01 {
            orc = orc.field(7, v24_quantity_timing.clone());
        }
        orc.write_to(&mut out);

        if kind == MessageType::OmlO21 {
            Segment::new("TQ1")
                .field(1, "1")
                .field(7, collected.clone())
                .field(
                    9,
                    components(&[
                        &prio_code,
                        &escape(&priority.display),
                        &priority.system.as_deref().map(escape).unwrap_or_default(),
                    ]),
                )
                .write_to(&mut out);
        }

        let mut obr = Segment::new("OBR")
            .field(1, (i + 1).to_string())
            .field(2, placer_ei.clone())
            .field(3, filler.clone())
            .field(4, components(&[&code, &display, &system]))
            .field(7, collected.clone())
            .field(10, components(&["", &escape(&q.collected_by)]))
            .field(11, "O")
            .field(13, escape(&q.clinical_details))
            .field(16, requester.clone())
            .field(17, contact.clone());
        if kind == MessageType::OrmO01 {
            let source = format!(
                "&{}^{}",
                escape(&t.specimen),
                escape(&tube_description(&t.tube, &t.tube_colour))
            );
            obr = obr
                .field(5, prio_code.clone())
                .field(6, timestamp(r.created_at))
                .field(15, source)
                .field(27, v24_quantity_timing.clone());
        }
        obr.write_to(&mut out);

        if h.send_nte {
            let mut set_id = 0;
            for (text, kind_code) in &notes {
                if text.is_empty() {
                    continue;
                }
                set_id += 1;
                Segment::new("NTE")
                    .field(1, set_id.to_string())
                    .field(2, "P")
                    .field(3, escape(text))
                    .field(4, *kind_code)
                    .write_to(&mut out);
            }
        }

        if kind == MessageType::OmlO21 && h.send_spm {
            let specimen_type = match specimen_snomed(&t.specimen) {
                Some((code, text)) => format!("{code}^{text}^SCT"),
                None => components(&["", &escape(&t.specimen)]),
            };
            Segment::new("SPM")
                .field(1, "1")
                .field(2, format!("{placer}&{app}"))
                .field(4, specimen_type)
                .field(17, collected.clone())
                .field(
                    27,
                    components(&[
                        &escape(&t.tube),
                        &escape(&tube_description(&t.tube, &t.tube_colour)),
                        "L",
                    ]),
                )
                .write_to(&mut out);
        }
    }
    out
}

/// MSH-10 of the `index`-th message (0-based) of a batch.
pub fn control_id(batch_id: &str, index: usize) -> String {
    format!("{batch_id}-{:06}", index + 1)
}

/// Writes one message per request, one after another, MLLP-framed if the context asks.
pub(crate) fn write(
    kind: MessageType,
    requests: &[RequestState],
    ctx: &ExportContext,
    out: &mut dyn std::io::Write,
) -> Result<(), ExportError> {
    for (i, r) in requests.iter().enumerate() {
        let msg = message(kind, r, &control_id(&ctx.batch_id, i), ctx);
        if ctx.mllp {
            out.write_all(&[MLLP_START])?;
            out.write_all(msg.as_bytes())?;
            out.write_all(&MLLP_END)?;
        } else {
            out.write_all(msg.as_bytes())?;
        }
    }
    out.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(typed: &str, escaped: &str) {
        assert_eq!(escape(typed), escaped, "{typed:?}");
    }

    #[test]
    fn escapes_delimiters_line_breaks_and_controls() {
        check("a|b^c~d\\e&f", "a\\F\\b\\S\\c\\R\\d\\E\\e\\T\\f");
        check(
            "one\r\ntwo\nthree\rfour",
            "one\\.br\\two\\.br\\three\\.br\\four",
        );
        check("tab\there", "tab\\X09\\here");
        check("\u{0b}\u{1c}\0", "\\X0B\\\\X1C\\\\X00\\");
        check("\u{85}", "\\XC285\\");
        check("Renée", "Renée");
        check("\"\"", "\\X22\\\\X22\\");
        check("", "");
    }

    #[test]
    fn trailing_empty_fields_and_components_are_dropped() {
        let mut s = String::new();
        Segment::new("NTE")
            .field(1, "1")
            .field(4, "")
            .write_to(&mut s);
        assert_eq!(s, "NTE|1\r");
        assert_eq!(components(&["a", "", ""]), "a");
        assert_eq!(components(&["", "b"]), "^b");
        assert_eq!(components(&["", ""]), "");
    }
}
