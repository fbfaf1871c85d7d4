//! HL7 v2 export: v2.5.1 OML^O21 or v2.4 ORM^O01, one message per request.
//!
//! Shape (DOMAIN.md section 7 and `examples/`): MSH, PID, [PV1], then one ORDER group per test —
//! OML: ORC, TQ1, OBR, [NTE…], [SPM]; ORM: ORC, OBR, [NTE…]. Segments end with CR and a message
//! ends with its last segment's CR; with MLLP each message is framed 0x0B … 0x1C 0x0D.
//!
//! Identifiers (each within the field maximum of DOMAIN.md section 7, see [`ids`]): placer order
//! number (ORC-2, OBR-2, SPM-2) is the canonical downtime ID plus the test's position
//! (`RXXW07000123K-01`), placer group number (ORC-4) the canonical downtime ID, each with the
//! profile's short `placer_namespace` in EI.2 when the 22 characters allow; the LIMS accession,
//! once known, is the filler number (ORC-3, OBR-3). MSH-10 is the batch ID (site, workstation,
//! batch) without dashes plus the message's position (`RXXW07B000012-000001`), so it never repeats
//! across workstations; MSH-4 names the workstation (`RXX-W07`).
//!
//! A cancelled or rejected request is sent as a cancel (ORC-1 `CA`): the batch selection only
//! hands one over when an earlier batch sent it as a new order.
//!
//! Times are UTC, `YYYYMMDDHHMMSS+0000`, so a re-export reproduces the same bytes anywhere.
//!
//! Text: every value, including profile values, goes through [`escape`]: the delimiters become
//! `\F\ \S\ \R\ \E\ \T\`, a line break (CRLF, CR or LF) becomes `\X0A\` (`\.br\` in NTE-3, the
//! one formatted-text field), and any other control
//! character becomes a hex escape `\Xhh…\` of its UTF-8 bytes, so nothing typed can end a segment
//! or add a field. Free text is repeated in NTE-3 exactly as typed (clinical details, notes,
//! collector, cancellation reason), each NTE marked by NTE-4; OBR-13 (plain text, 300) carries the
//! clinical details on one line, shortened if need be. PV1-3 is `code^^^^^^^^name` (PL.1 point of
//! care, PL.9 location description, in both versions). A contact that is not a telephone number
//! goes in XTN.9 (any text), never XTN.1.

mod encoding;
pub mod ids;

use crate::domain::event::RequestState;
use crate::domain::request::Sex;
use crate::domain::status::Status;

pub use self::encoding::{MLLP_END, MLLP_START, escape, timestamp};
use self::encoding::{Part, Segment, escape_into, push_hl7_date, push_timestamp};
use self::ids::{
    OBR13_MAX, is_telephone, namespace_for, push_control_id, push_one_line, push_placer,
    sending_workstation, ward_code,
};
use super::check::{Finding, Truncation, check_hl7, fit_hl7};
use super::profile::{Coding, OverLimit};
use super::{ExportContext, ExportError, Mappings};

/// Which message to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageType {
    /// v2.5.1 OML^O21.
    OmlO21,
    /// v2.4 ORM^O01.
    OrmO01,
}

impl MessageType {
    /// The message type of an HL7 format.
    pub fn of(format: super::Format) -> Option<Self> {
        match format {
            super::Format::Hl7Oml => Some(MessageType::OmlO21),
            super::Format::Hl7Orm => Some(MessageType::OrmO01),
            super::Format::Csv | super::Format::Fhir | super::Format::Xlsx => None,
        }
    }

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

    /// MSH-18 from the version's table 0211: v2.4 has only `UNICODE` for UTF-8.
    fn character_set(self) -> &'static str {
        match self {
            MessageType::OmlO21 => "UNICODE UTF-8",
            MessageType::OrmO01 => "UNICODE",
        }
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

/// What every message of an export shares, worked out once.
struct Shared<'a> {
    ctx: &'a ExportContext,
    kind: MessageType,
    mappings: Mappings<'a>,
    /// MSH up to and including MSH-9 and its separator.
    msh_head: String,
    /// MSH after MSH-10, with the segment's CR.
    msh_tail: String,
    /// The placer numbers' EI.2 namespace, escaped.
    namespace: String,
}

impl<'a> Shared<'a> {
    fn new(kind: MessageType, ctx: &'a ExportContext) -> Self {
        let h = &ctx.profile.hl7;
        // MSH-1 is the field separator itself, so the fields are numbered from 2 here.
        let mut msh_head = String::from("MSH|^~\\&|");
        escape_into(&mut msh_head, &h.sending_application);
        // MSH-4 says which PC sent it; the profile's facility when the batch names none.
        let facility = sending_workstation(&ctx.batch_id).unwrap_or(&h.sending_facility);
        for text in [facility, &h.receiving_application, &h.receiving_facility] {
            msh_head.push('|');
            escape_into(&mut msh_head, text);
        }
        msh_head.push('|');
        push_timestamp(&mut msh_head, ctx.generated_at);
        msh_head.push_str("||");
        msh_head.push_str(kind.msh9());
        msh_head.push('|');
        let msh_tail = format!(
            "|{}|{}|||AL|NE||{}\r",
            // Training data is never production data, whatever the profile says.
            if ctx.training {
                "T"
            } else {
                h.processing_id.code()
            },
            kind.version(),
            kind.character_set()
        );
        Self {
            ctx,
            kind,
            mappings: Mappings::of(&ctx.profile),
            msh_head,
            msh_tail,
            namespace: escape(&h.placer_namespace),
        }
    }
}

/// Appends the message for `r` to `out`.
fn write_message(shared: &Shared<'_>, r: &RequestState, control_id: &str, out: &mut String) {
    let kind = shared.kind;
    let h = &shared.ctx.profile.hl7;
    let ns = shared.namespace.as_str();
    let q = &r.request;
    let pat = &q.patient;

    out.push_str(&shared.msh_head);
    escape_into(out, control_id);
    out.push_str(&shared.msh_tail);

    let mut pid = Segment::new(out, "PID");
    pid.raw(1, "1");
    if pat.nhs_number.is_some() || pat.mrn.is_some() || pat.emergency_number.is_some() {
        let ids = pid.start(3);
        let mut first = true;
        let mut repeat = |ids: &mut String| {
            if !first {
                ids.push('~');
            }
            first = false;
        };
        if let Some(nhs) = pat.nhs_number {
            repeat(ids);
            ids.push_str(&nhs.digits());
            ids.push_str("^^^NHS^NH");
        }
        for (id, code) in [(&pat.mrn, "^MR"), (&pat.emergency_number, "^PI")] {
            if let Some(id) = id {
                repeat(ids);
                escape_into(ids, id);
                ids.push_str("^^^");
                escape_into(ids, &h.mrn_assigning_authority);
                ids.push_str(code);
            }
        }
    }
    pid.components(5, &[Part::Text(&pat.surname), Part::Text(&pat.forename)]);
    if let Some(dob) = pat.dob {
        push_hl7_date(pid.start(7), dob);
    }
    pid.raw(8, sex_code(pat.sex)).end();

    if h.send_pv1 {
        let code = ward_code(h, &shared.ctx.wards, &q.ward);
        let location = [
            Part::Text(&code),
            Part::Raw(""),
            Part::Raw(""),
            Part::Raw(""),
            Part::Raw(""),
            Part::Raw(""),
            Part::Raw(""),
            Part::Raw(""),
            Part::Text(&q.ward),
        ];
        Segment::new(out, "PV1")
            .raw(1, "1")
            .text(2, &h.patient_class)
            .components(3, &location)
            .components(7, &[Part::Raw(""), Part::Text(&q.consultant)])
            .end();
    }

    let priority: &Coding = h.priority.get(q.priority);
    let prio_code = escape(&priority.code);
    let collected = timestamp(q.collected_at);
    let created = timestamp(r.created_at);
    let requester = [Part::Raw(""), Part::Text(&q.requester)];
    let canonical = r.downtime_id.canonical();
    let group = [
        Part::Raw(&canonical),
        Part::Raw(namespace_for(&canonical, ns)),
    ];
    let filler_id = r.accession.as_deref().map(escape);
    let filler_ns = escape(&h.receiving_application);
    let filler = filler_id
        .as_deref()
        .map(|a| [Part::Raw(a), Part::Raw(namespace_for(a, &filler_ns))]);
    let filler: &[Part<'_>] = filler.as_ref().map_or(&[], |f| f.as_slice());
    let order_control = match r.status {
        Status::Cancelled | Status::Rejected => "CA",
        Status::Logged | Status::Sent | Status::Received | Status::Reentered => "NW",
    };
    let contact = q.requester_contact.as_str();
    let contact = if contact.is_empty() || is_telephone(contact) {
        [Part::Text(contact), Part::Raw("")]
    } else {
        [Part::Raw(""), Part::Text(contact)]
    };
    let contact = [
        contact[0],
        Part::Raw(""),
        Part::Raw(""),
        Part::Raw(""),
        Part::Raw(""),
        Part::Raw(""),
        Part::Raw(""),
        Part::Raw(""),
        contact[1],
    ];
    let mut clinical = String::new();
    push_one_line(&mut clinical, &q.clinical_details, OBR13_MAX);
    let v24_quantity_timing = format!("^^^{collected}^^{prio_code}");

    let mut notes: [(&str, &str); 4] = [
        (q.clinical_details.as_str(), "1R^Primary reason^HL70364"),
        (q.notes.as_str(), "RE^Remark^HL70364"),
        (q.collected_by.as_str(), "CB^Collected by^L"),
        ("", "CR^Cancellation or rejection reason^L"),
    ];
    if let Some(reason) = &r.reason {
        notes[3].0 = reason.as_str();
    }

    let mut placer = String::with_capacity(16);
    let mut number = String::new();
    let mut tube = String::new();
    for (i, t) in q.tests.iter().enumerate() {
        placer.clear();
        push_placer(&mut placer, &canonical, i);
        let placer_ei = [Part::Raw(&placer), Part::Raw(namespace_for(&placer, ns))];
        // check_mappings has run, so a missing mapping is unreachable; fall back to our code.
        let code = match shared.mappings.get(&t.code) {
            Some(m) => [
                Part::Text(&m.lims_code),
                Part::Text(&m.display),
                Part::Text(m.system.as_deref().unwrap_or_default()),
            ],
            None => [Part::Text(&t.code), Part::Text(&t.name), Part::Raw("L")],
        };
        tube.clear();
        tube.push_str(&t.tube);
        tube.push_str(" tube (");
        tube.push_str(&t.tube_colour);
        tube.push_str(" top)");

        let mut orc = Segment::new(out, "ORC");
        orc.raw(1, order_control)
            .components(2, &placer_ei)
            .components(3, filler)
            .components(4, &group)
            .raw(5, order_status(r.status));
        if kind == MessageType::OrmO01 {
            orc.raw(7, &v24_quantity_timing);
        }
        orc.raw(9, &created)
            .components(12, &requester)
            .components(14, &contact)
            .end();

        if kind == MessageType::OmlO21 {
            Segment::new(out, "TQ1")
                .raw(1, "1")
                .raw(7, &collected)
                .components(
                    9,
                    &[
                        Part::Raw(&prio_code),
                        Part::Text(&priority.display),
                        Part::Text(priority.system.as_deref().unwrap_or_default()),
                    ],
                )
                .end();
        }

        number.clear();
        number.push_str(&(i + 1).to_string());
        let mut obr = Segment::new(out, "OBR");
        obr.raw(1, &number)
            .components(2, &placer_ei)
            .components(3, filler)
            .components(4, &code);
        if kind == MessageType::OrmO01 {
            obr.raw(5, &prio_code).raw(6, &created);
        }
        obr.raw(7, &collected)
            .components(10, &[Part::Raw(""), Part::Text(&q.collected_by)])
            .raw(11, "O")
            .raw(13, &clinical);
        if kind == MessageType::OrmO01 {
            // SPS.1 is a coded element: code&text&coding system (SNOMED CT where known).
            let source = obr.start(15);
            match specimen_snomed(&t.specimen) {
                Some((code, text)) => {
                    source.push_str(code);
                    source.push('&');
                    source.push_str(text);
                    source.push_str("&SCT");
                }
                None => {
                    source.push_str(&ids::short_code(&t.specimen));
                    source.push('&');
                    escape_into(source, &t.specimen);
                    source.push_str("&L");
                }
            }
            source.push('^');
            escape_into(source, &tube);
        }
        obr.components(16, &requester).components(17, &contact);
        if kind == MessageType::OrmO01 {
            obr.raw(27, &v24_quantity_timing);
        }
        obr.end();

        if h.send_nte {
            let mut set_id = 0u32;
            for (text, kind_code) in notes {
                if text.is_empty() {
                    continue;
                }
                set_id += 1;
                number.clear();
                number.push_str(&set_id.to_string());
                Segment::new(out, "NTE")
                    .raw(1, &number)
                    .raw(2, "P")
                    .formatted(3, text)
                    .raw(4, kind_code)
                    .end();
            }
        }

        if kind == MessageType::OmlO21 && h.send_spm {
            let mut spm = Segment::new(out, "SPM");
            spm.raw(1, "1");
            let id = spm.start(2);
            id.push_str(&placer);
            let spm_ns = namespace_for(&placer, ns);
            if !spm_ns.is_empty() {
                id.push('&');
                id.push_str(spm_ns);
            }
            match specimen_snomed(&t.specimen) {
                Some((code, text)) => {
                    let kind = spm.start(4);
                    kind.push_str(code);
                    kind.push('^');
                    kind.push_str(text);
                    kind.push_str("^SCT");
                }
                None => {
                    spm.components(4, &[Part::Raw(""), Part::Text(&t.specimen)]);
                }
            }
            spm.raw(17, &collected)
                .components(
                    27,
                    &[Part::Text(&t.tube), Part::Text(&tube), Part::Raw("L")],
                )
                .end();
        }
    }
}

/// The pre-flight check without a file: every request and field over the receiver's limits (or
/// otherwise refused), as [`write`] finds them. Empty: the export may be written (with a profile
/// that truncates, over-long values do not count: they are shortened and listed by the export).
pub fn preflight(
    kind: MessageType,
    requests: &[RequestState],
    ctx: &ExportContext,
) -> Vec<Finding> {
    match write(kind, requests, ctx, &mut std::io::sink()) {
        Err(ExportError::Refused { findings, .. }) => findings,
        Ok(_) | Err(_) => Vec::new(),
    }
}

/// Writes one message per request, one after another, MLLP-framed if the context asks. Each
/// message is rendered once and checked by [`check_hl7`] before it is written (the pre-flight):
/// a message over the receiver's limits is shortened to them when the profile says
/// `over_limit = "truncate"` (the cuts are returned), and otherwise refused. Every request is
/// checked, so the refusal lists every request and field; once one is refused nothing more is
/// written, and the caller's temporary file is discarded (nothing appears under the final name).
pub(crate) fn write(
    kind: MessageType,
    requests: &[RequestState],
    ctx: &ExportContext,
    out: &mut dyn std::io::Write,
) -> Result<Vec<Truncation>, ExportError> {
    let shared = Shared::new(kind, ctx);
    let truncate = ctx.profile.hl7.over_limit == OverLimit::Truncate;
    let mut id = String::new();
    let mut msg = String::new();
    let mut findings: Vec<Finding> = Vec::new();
    let mut truncations = Vec::new();
    for (i, r) in requests.iter().enumerate() {
        id.clear();
        push_control_id(&mut id, &ctx.batch_id, i);
        msg.clear();
        write_message(&shared, r, &id, &mut msg);
        let mut found = check_hl7(msg.as_bytes());
        if truncate && !found.is_empty() {
            let (fitted, cuts) = fit_hl7(&msg);
            found = check_hl7(fitted.as_bytes());
            if found.is_empty() {
                msg = fitted;
                let downtime_id = r.downtime_id.grouped();
                truncations.extend(
                    cuts.into_iter()
                        .map(|(location, length, limit)| Truncation {
                            downtime_id: downtime_id.clone(),
                            location,
                            length,
                            limit,
                        }),
                );
            }
        }
        if !found.is_empty() {
            let downtime_id = r.downtime_id.grouped();
            findings.extend(found.into_iter().map(|f| Finding {
                downtime_id: Some(downtime_id.clone()),
                ..f
            }));
            continue;
        }
        if !findings.is_empty() {
            continue;
        }
        if ctx.mllp {
            out.write_all(&[MLLP_START])?;
            out.write_all(msg.as_bytes())?;
            out.write_all(&MLLP_END)?;
        } else {
            out.write_all(msg.as_bytes())?;
        }
    }
    if !findings.is_empty() {
        let format = match kind {
            MessageType::OmlO21 => super::Format::Hl7Oml,
            MessageType::OrmO01 => super::Format::Hl7Orm,
        };
        return Err(ExportError::Refused { format, findings });
    }
    out.flush()?;
    Ok(truncations)
}
