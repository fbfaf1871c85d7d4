//! What a strict receiver expects of each HL7 field Stopgap writes, per version: maximum length,
//! datatype and, for coded fields, the table of allowed values. Lengths are the standard's own
//! (v2.4 and v2.5.1 chapters 2, 3, 4 and 7), with the limits DOMAIN.md section 7 names.

/// The two versions the writers produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Version {
    V2_4,
    V2_5_1,
}

/// A field's datatype, as far as the checker looks into it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ty {
    /// ST, IS or another plain value: no formatting escapes.
    Plain,
    /// FT: formatted text, where `\.br\` is allowed.
    Ft,
    /// SI and NM: digits.
    Num,
    /// ID or IS from an HL7 table.
    Coded(&'static [&'static str]),
    Ts,
    /// DR: a range whose first component is a TS.
    Dr,
    Cx,
    Xpn,
    Xcn,
    Ei,
    /// EIP: placer and filler EIs, each as subcomponents.
    Eip,
    Ce,
    Xtn,
    Pl,
    Hd,
    /// v2.4 TQ: quantity/timing with a start time (TQ.4) and a priority (TQ.6).
    Tq,
    /// SPS: a coded specimen source (SPS.1 as code&text&system).
    Sps,
    /// MSG: message type, checked with the segment structure.
    Msg,
    /// PT: processing ID, PT.1 from table 0103.
    Pt,
    /// VID: version ID, VID.1 from table 0104.
    Vid,
}

/// One field's rule.
pub(super) struct Rule {
    pub field: usize,
    pub max: usize,
    pub ty: Ty,
}

const fn r(field: usize, max: usize, ty: Ty) -> Rule {
    Rule { field, max, ty }
}

/// Table 0211 (character sets) in v2.4.
pub(super) const T0211_V2_4: &[&str] = &[
    "ASCII",
    "8859/1",
    "8859/2",
    "8859/3",
    "8859/4",
    "8859/5",
    "8859/6",
    "8859/7",
    "8859/8",
    "8859/9",
    "ISO IR14",
    "ISO IR87",
    "ISO IR159",
    "UNICODE",
];
/// Table 0211 in v2.5.1: v2.4's values and the UTF encodings, among others.
pub(super) const T0211_V2_5_1: &[&str] = &[
    "ASCII",
    "8859/1",
    "8859/2",
    "8859/3",
    "8859/4",
    "8859/5",
    "8859/6",
    "8859/7",
    "8859/8",
    "8859/9",
    "8859/15",
    "ISO IR14",
    "ISO IR87",
    "ISO IR159",
    "GB 18030-2000",
    "KS X 1001",
    "CNS 11643-1992",
    "BIG-5",
    "UNICODE",
    "UNICODE UTF-8",
    "UNICODE UTF-16",
    "UNICODE UTF-32",
];
/// Table 0104 (version ID).
pub(super) const T0104: &[&str] = &["2.1", "2.2", "2.3", "2.3.1", "2.4", "2.5", "2.5.1"];
/// Table 0103 (processing ID).
pub(super) const T0103: &[&str] = &["D", "P", "T"];
/// Table 0119 (order control codes).
const T0119: &[&str] = &[
    "AF", "CA", "CH", "CN", "CR", "DC", "DE", "DF", "DR", "FU", "HD", "HR", "LI", "NA", "NW", "OC",
    "OD", "OE", "OF", "OH", "OK", "OP", "OR", "PA", "PR", "PY", "RE", "RF", "RL", "RO", "RP", "RQ",
    "RR", "RU", "SC", "SN", "SR", "SS", "UA", "UC", "UD", "UF", "UH", "UM", "UN", "UR", "UX", "XO",
    "XR", "XX",
];
/// Table 0038 (order status).
const T0038: &[&str] = &["A", "CA", "CM", "DC", "ER", "HD", "IP", "RP", "SC"];
/// Table 0155 (accept / application acknowledgment conditions).
const T0155: &[&str] = &["AL", "ER", "NE", "SU"];
/// Table 0001 (administrative sex).
const T0001: &[&str] = &["A", "F", "M", "N", "O", "U"];
/// Table 0004 (patient class).
const T0004: &[&str] = &["B", "C", "E", "I", "N", "O", "P", "R", "U"];
/// Table 0065 (specimen action code).
const T0065: &[&str] = &["A", "G", "L", "O", "P", "R", "S"];
/// Table 0105 (source of comment).
const T0105: &[&str] = &["L", "O", "P"];

const MSH_V2_4: &[Rule] = &[
    r(3, 180, Ty::Hd),
    r(4, 180, Ty::Hd),
    r(5, 180, Ty::Hd),
    r(6, 180, Ty::Hd),
    r(7, 26, Ty::Ts),
    r(8, 40, Ty::Plain),
    r(9, 13, Ty::Msg),
    r(10, 20, Ty::Plain),
    r(11, 3, Ty::Pt),
    r(12, 60, Ty::Vid),
    r(15, 2, Ty::Coded(T0155)),
    r(16, 2, Ty::Coded(T0155)),
    r(18, 16, Ty::Coded(T0211_V2_4)),
];
const MSH_V2_5_1: &[Rule] = &[
    r(3, 227, Ty::Hd),
    r(4, 227, Ty::Hd),
    r(5, 227, Ty::Hd),
    r(6, 227, Ty::Hd),
    r(7, 26, Ty::Ts),
    r(8, 40, Ty::Plain),
    r(9, 15, Ty::Msg),
    r(10, 20, Ty::Plain),
    r(11, 3, Ty::Pt),
    r(12, 60, Ty::Vid),
    r(15, 2, Ty::Coded(T0155)),
    r(16, 2, Ty::Coded(T0155)),
    r(18, 16, Ty::Coded(T0211_V2_5_1)),
];
const PID: &[Rule] = &[
    r(1, 4, Ty::Num),
    r(3, 250, Ty::Cx),
    r(5, 250, Ty::Xpn),
    r(7, 26, Ty::Ts),
    r(8, 1, Ty::Coded(T0001)),
];
const PV1: &[Rule] = &[
    r(1, 4, Ty::Num),
    r(2, 1, Ty::Coded(T0004)),
    r(3, 80, Ty::Pl),
    r(7, 250, Ty::Xcn),
];
const ORC_V2_4: &[Rule] = &[
    r(1, 2, Ty::Coded(T0119)),
    r(2, 22, Ty::Ei),
    r(3, 22, Ty::Ei),
    r(4, 22, Ty::Ei),
    r(5, 2, Ty::Coded(T0038)),
    r(7, 200, Ty::Tq),
    r(9, 26, Ty::Ts),
    r(12, 250, Ty::Xcn),
    r(14, 250, Ty::Xtn),
];
const ORC_V2_5_1: &[Rule] = &[
    r(1, 2, Ty::Coded(T0119)),
    r(2, 22, Ty::Ei),
    r(3, 22, Ty::Ei),
    r(4, 22, Ty::Ei),
    r(5, 2, Ty::Coded(T0038)),
    r(9, 26, Ty::Ts),
    r(12, 250, Ty::Xcn),
    r(14, 250, Ty::Xtn),
];
const TQ1: &[Rule] = &[r(1, 4, Ty::Num), r(7, 26, Ty::Ts), r(9, 250, Ty::Ce)];
const OBR_V2_4: &[Rule] = &[
    r(1, 4, Ty::Num),
    r(2, 22, Ty::Ei),
    r(3, 22, Ty::Ei),
    r(4, 250, Ty::Ce),
    r(5, 2, Ty::Plain),
    r(6, 26, Ty::Ts),
    r(7, 26, Ty::Ts),
    r(10, 250, Ty::Xcn),
    r(11, 1, Ty::Coded(T0065)),
    r(13, 300, Ty::Plain),
    r(15, 300, Ty::Sps),
    r(16, 250, Ty::Xcn),
    r(17, 40, Ty::Xtn),
    r(27, 200, Ty::Tq),
];
const OBR_V2_5_1: &[Rule] = &[
    r(1, 4, Ty::Num),
    r(2, 22, Ty::Ei),
    r(3, 22, Ty::Ei),
    r(4, 250, Ty::Ce),
    r(7, 26, Ty::Ts),
    r(10, 250, Ty::Xcn),
    r(11, 1, Ty::Coded(T0065)),
    r(13, 300, Ty::Plain),
    r(16, 250, Ty::Xcn),
    r(17, 250, Ty::Xtn),
];
const NTE: &[Rule] = &[
    r(1, 4, Ty::Num),
    r(2, 8, Ty::Coded(T0105)),
    r(3, 65536, Ty::Ft),
    r(4, 250, Ty::Ce),
];
const SPM: &[Rule] = &[
    r(1, 4, Ty::Num),
    r(2, 80, Ty::Eip),
    r(4, 250, Ty::Ce),
    r(17, 26, Ty::Dr),
    r(27, 250, Ty::Ce),
];

/// The rules of a segment in a version, or `None` for a segment the version's messages here
/// never hold.
pub(super) fn rules(v: Version, segment: &str) -> Option<&'static [Rule]> {
    Some(match (segment, v) {
        ("MSH", Version::V2_4) => MSH_V2_4,
        ("MSH", Version::V2_5_1) => MSH_V2_5_1,
        ("PID", _) => PID,
        ("PV1", _) => PV1,
        ("ORC", Version::V2_4) => ORC_V2_4,
        ("ORC", Version::V2_5_1) => ORC_V2_5_1,
        ("TQ1", Version::V2_5_1) => TQ1,
        ("OBR", Version::V2_4) => OBR_V2_4,
        ("OBR", Version::V2_5_1) => OBR_V2_5_1,
        ("NTE", _) => NTE,
        ("SPM", Version::V2_5_1) => SPM,
        _ => return None,
    })
}

/// Component maximum lengths a strict v2.5.1 receiver enforces (1-based component, maximum);
/// v2.4 gives no component lengths, so there only the field's own applies (and PL.1, 20).
pub(super) fn component_limits(v: Version, ty: Ty) -> &'static [(usize, usize)] {
    match (v, ty) {
        (Version::V2_5_1, Ty::Cx) => &[(1, 15)],
        (Version::V2_5_1, Ty::Xpn) => &[(1, 194), (2, 30), (3, 30)],
        (Version::V2_5_1, Ty::Xcn) => &[(1, 15), (2, 194), (3, 30)],
        (Version::V2_5_1, Ty::Ei) => &[(1, 199), (2, 20)],
        (Version::V2_5_1, Ty::Ce) => &[(1, 20), (2, 199), (3, 20)],
        (Version::V2_5_1, Ty::Xtn) => &[(1, 199), (9, 199)],
        (Version::V2_5_1, Ty::Hd) => &[(1, 20)],
        (_, Ty::Pl) => &[(1, 20)],
        _ => &[],
    }
}
