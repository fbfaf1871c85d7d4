//! Fonts that draw every name the form accepts, a monospace face in which downtime IDs cannot be
//! misread, and right-to-left names shown in reading order.
//!
//! egui's own fonts (Ubuntu-Light, Hack) draw Latin, Greek and Cyrillic only, and not all of
//! Vietnamese. [`install`] puts Noto Sans first (heavier than Ubuntu-Light, for poor ward
//! monitors) and Noto fallbacks for Arabic, Hebrew, Devanagari, Bengali, Gurmukhi, Tamil and CJK
//! behind it, in the proportional and the monospace family, and registers the `downtime_id`
//! family (DejaVu Sans Mono: dotted zero, serifed 1 and I, tailed l). The files are in
//! `assets/fonts/` with their licences and provenance.
//!
//! All of them, the 10.7 MB CJK face included, are installed up front: egui reads a face in place
//! (the bytes are static), so the first frame took the same 6.3 ms with or without CJK (README,
//! "Fonts"), and loading it lazily through a `FontProvider` would only add a code path.
//!
//! egui 0.37 shapes each run of one font with harfrust, so Arabic letters join and a run of
//! Hebrew or Arabic comes out right to left, but it does no bidirectional reordering between
//! runs: "דוד כהן" shows its two words in the wrong order. [`display_text`] reorders for labels.

use std::borrow::Cow;
use std::sync::Arc;

use egui::{FontData, FontDefinitions, FontFamily, FontId, RichText, Ui};
use unicode_bidi::{BidiClass, BidiInfo, Level, bidi_class};
use unicode_segmentation::UnicodeSegmentation;

/// The name of the egui font family for downtime IDs; see [`downtime_id_family`].
pub const DOWNTIME_ID_FAMILY: &str = "downtime_id";

/// The body font: Latin (with Vietnamese), Greek and Cyrillic.
pub const BODY_FONT: &str = "NotoSans-Regular";

/// The face of the `downtime_id` family.
pub const DOWNTIME_ID_FONT: &str = "DejaVuSansMono";

/// The CJK face: Noto Sans CJK SC, subset to the CJK, kana and Hangul blocks (see
/// `assets/fonts/README.md`).
pub const CJK_FONT: &str = "NotoSansCJKsc-Regular-subset";

/// The script fallbacks, in the order egui tries them after the body font.
const SCRIPT_FONTS: [(&str, &[u8]); 7] = [
    (
        "NotoSansArabic-Regular",
        include_bytes!("../../assets/fonts/NotoSansArabic-Regular.ttf"),
    ),
    (
        "NotoSansHebrew-Regular",
        include_bytes!("../../assets/fonts/NotoSansHebrew-Regular.ttf"),
    ),
    (
        "NotoSansDevanagari-Regular",
        include_bytes!("../../assets/fonts/NotoSansDevanagari-Regular.ttf"),
    ),
    (
        "NotoSansBengali-Regular",
        include_bytes!("../../assets/fonts/NotoSansBengali-Regular.ttf"),
    ),
    (
        "NotoSansGurmukhi-Regular",
        include_bytes!("../../assets/fonts/NotoSansGurmukhi-Regular.ttf"),
    ),
    (
        "NotoSansTamil-Regular",
        include_bytes!("../../assets/fonts/NotoSansTamil-Regular.ttf"),
    ),
    (
        CJK_FONT,
        include_bytes!("../../assets/fonts/NotoSansCJKsc-Regular-subset.otf"),
    ),
];

const BODY_BYTES: &[u8] = include_bytes!("../../assets/fonts/NotoSans-Regular.ttf");
const DOWNTIME_ID_BYTES: &[u8] = include_bytes!("../../assets/fonts/DejaVuSansMono.ttf");

/// egui's own monospace face, kept as the monospace primary so code-like text looks as before.
const EGUI_MONOSPACE: &str = "Hack";

/// egui's former body font: kept behind Noto Sans for the few symbols only it has.
const EGUI_BODY: &str = "Ubuntu-Light";

/// The egui font family for downtime IDs: DejaVu Sans Mono, then the monospace fallbacks.
pub fn downtime_id_family() -> FontFamily {
    FontFamily::Name(DOWNTIME_ID_FAMILY.into())
}

/// A downtime ID (or any text that must survive being read aloud or copied by hand) in the
/// `downtime_id` face at `size` points.
pub fn downtime_id_text(text: impl Into<String>, size: f32) -> RichText {
    RichText::new(text).font(FontId::new(size, downtime_id_family()))
}

/// egui's default fonts with Stopgap's added: Noto Sans first in the proportional family and
/// right after Hack in the monospace one, then egui's Ubuntu-Light, then the script fallbacks,
/// then egui's icon and emoji fonts; and the `downtime_id` family.
pub fn definitions() -> FontDefinitions {
    let mut defs = FontDefinitions::default();
    let mut add = |name: &str, bytes: &'static [u8]| {
        defs.font_data
            .insert(name.to_owned(), Arc::new(FontData::from_static(bytes)));
    };
    add(BODY_FONT, BODY_BYTES);
    add(DOWNTIME_ID_FONT, DOWNTIME_ID_BYTES);
    for (name, bytes) in SCRIPT_FONTS {
        add(name, bytes);
    }

    let scripts: Vec<String> = SCRIPT_FONTS.iter().map(|(n, _)| (*n).to_owned()).collect();
    for family in [FontFamily::Proportional, FontFamily::Monospace] {
        let chain = defs.families.entry(family.clone()).or_default();
        // Monospace keeps Hack first; Noto Sans is its fallback for letters Hack lacks.
        let body_at = match family {
            FontFamily::Monospace => chain
                .iter()
                .position(|n| n == EGUI_MONOSPACE)
                .map_or(0, |i| i + 1),
            _ => 0,
        };
        chain.insert(body_at, BODY_FONT.to_owned());
        // The scripts go before egui's last-resort icon and emoji fonts, after its text fonts.
        let scripts_at = chain
            .iter()
            .position(|n| n == EGUI_BODY)
            .map_or(body_at + 1, |i| i + 1);
        chain.splice(scripts_at..scripts_at, scripts.iter().cloned());
    }
    let mut id_chain = vec![DOWNTIME_ID_FONT.to_owned()];
    id_chain.extend(
        defs.families
            .get(&FontFamily::Monospace)
            .into_iter()
            .flatten()
            .cloned(),
    );
    defs.families.insert(downtime_id_family(), id_chain);
    defs
}

/// Installs Stopgap's fonts in `ctx`. Idempotent: call it at start-up and from the first frame.
///
/// Before the first frame the fonts take effect at its start; during a frame, right away if no
/// text has been laid out yet, else from the next frame.
pub fn install(ctx: &egui::Context) {
    let marker = egui::Id::unique("stopgap::ui::fonts::installed");
    if ctx.data(|d| d.get_temp::<bool>(marker)).unwrap_or(false) {
        return;
    }
    ctx.set_fonts(definitions());
    ctx.data_mut(|d| d.insert_temp(marker, true));
}

/// Whether `s` has a right-to-left letter or an Arabic digit, i.e. whether egui would show it
/// differently from how it reads.
pub fn contains_rtl(s: &str) -> bool {
    s.chars().any(|c| {
        matches!(bidi_class(c), BidiClass::R | BidiClass::AL | BidiClass::AN)
            || rtl_font(c).is_some()
    })
}

/// Under an editable name field: when what was typed holds right-to-left text, a line
/// "Reads: …" that shows it in reading order, so the nurse can check it (the field itself shows
/// right-to-left words in typing order).
pub fn rtl_preview_ui(ui: &mut Ui, typed: &str) {
    if !contains_rtl(typed) {
        return;
    }
    ui.label(RichText::new(format!("Reads: {}", display_text(typed))).small());
}

/// Which right-to-left font egui draws a character with, if any: a run of characters drawn with
/// one of these fonts is shaped as one right-to-left run and comes out reversed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RtlFont {
    Hebrew,
    Arabic,
}

fn rtl_font(c: char) -> Option<RtlFont> {
    match c {
        '\u{0590}'..='\u{05FF}' | '\u{FB1D}'..='\u{FB4F}' => Some(RtlFont::Hebrew),
        '\u{0600}'..='\u{06FF}'
        | '\u{0750}'..='\u{077F}'
        | '\u{0870}'..='\u{08FF}'
        | '\u{FB50}'..='\u{FDFF}'
        | '\u{FE70}'..='\u{FEFF}' => Some(RtlFont::Arabic),
        _ => None,
    }
}

/// The mirror image of a bracket shown in right-to-left text (Unicode rule L4), for the pairs a
/// name or a note can hold.
fn mirrored(c: char) -> char {
    match c {
        '(' => ')',
        ')' => '(',
        '[' => ']',
        ']' => '[',
        '{' => '}',
        '}' => '{',
        '<' => '>',
        '>' => '<',
        '«' => '»',
        '»' => '«',
        '‹' => '›',
        '›' => '‹',
        other => other,
    }
}

/// The string to give an egui label so that `s` shows in reading order (Unicode bidirectional
/// algorithm, paragraph direction from the first strong letter). Returns `s` itself (borrowed)
/// when nothing needs reordering, e.g. for any text without Hebrew or Arabic.
///
/// Not simply the visual order: egui reverses each run of Hebrew or Arabic letters itself when it
/// shapes them (that is also what joins Arabic letters, with the font's own ligatures), so such a
/// run is handed over in typing order and only everything around it is put in visual order.
/// Meant for one-line labels (names, IDs, short notes): egui wraps after this, so a wrapped
/// right-to-left paragraph would show its lines in the wrong order.
pub fn display_text(s: &str) -> Cow<'_, str> {
    let needs_reordering = s
        .chars()
        .any(|c| matches!(bidi_class(c), BidiClass::R | BidiClass::AL) || rtl_font(c).is_some());
    if !needs_reordering {
        return Cow::Borrowed(s);
    }
    let bidi = BidiInfo::new(s, None);
    let mut out = String::with_capacity(s.len());
    for para in &bidi.paragraphs {
        // A paragraph ends with its separator (a line break), which stays at the end.
        let text = &s[para.range.clone()];
        let body = text.trim_end_matches(|c| bidi_class(c) == BidiClass::B);
        let body_range = para.range.start..para.range.start + body.len();
        let levels = bidi.reordered_levels(para, body_range.clone());
        let graphemes: Vec<(usize, &str)> = body
            .grapheme_indices(true)
            .map(|(i, g)| (body_range.start + i, g))
            .collect();
        let grapheme_levels: Vec<Level> = graphemes.iter().map(|&(i, _)| levels[i]).collect();
        let mut run: Vec<&str> = Vec::new();
        let mut run_font = None;
        for visual in BidiInfo::reorder_visual(&grapheme_levels) {
            let (_, g) = graphemes[visual];
            let font = g.chars().next().and_then(rtl_font);
            if font != run_font {
                // egui will reverse this run again when it shapes it.
                out.extend(run.drain(..).rev());
                run_font = font;
            }
            if font.is_some() {
                run.push(g);
            } else if grapheme_levels[visual].is_rtl() {
                out.extend(g.chars().map(mirrored));
            } else {
                out.push_str(g);
            }
        }
        out.extend(run.drain(..).rev());
        out.push_str(&text[body.len()..]);
    }
    if out == s {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use egui::epaint::text::{Fonts, TextOptions};

    /// What a reader sees, left to right: the characters of the glyphs egui lays out for
    /// `label`, ordered by their position (zero-width glyphs that stand for no drawn character
    /// left out).
    fn seen(fonts: &mut Fonts, label: &str) -> String {
        let galley = fonts.with_pixels_per_point(1.0).layout_no_wrap(
            label.to_owned(),
            FontId::proportional(20.0),
            egui::Color32::BLACK,
        );
        let mut glyphs: Vec<_> = galley
            .rows
            .iter()
            .flat_map(|r| r.row.glyphs.iter())
            .filter(|g| g.advance_width > 0.0)
            .map(|g| (g.pos.x, g.chr))
            .collect();
        glyphs.sort_by(|a, b| a.0.total_cmp(&b.0));
        glyphs.into_iter().map(|(_, c)| c).collect()
    }

    fn fonts() -> Fonts {
        Fonts::new(TextOptions::default(), definitions())
    }

    /// `logical` shown through [`display_text`] reads, left to right, as `left_to_right`.
    fn check(logical: &str, left_to_right: &str) {
        let mut fonts = fonts();
        assert_eq!(
            seen(&mut fonts, &display_text(logical)),
            left_to_right,
            "{logical:?} shown as {:?}",
            display_text(logical)
        );
    }

    #[test]
    fn left_to_right_text_is_returned_unchanged_and_borrowed() {
        for s in [
            "O'Brien",
            "Zoë",
            "Nguyễn Thị Minh Khai",
            "王秀英",
            "Иван Петров",
            "",
        ] {
            assert!(matches!(display_text(s), Cow::Borrowed(b) if b == s), "{s}");
            assert!(!contains_rtl(s), "{s}");
        }
        // A Hebrew word inside left-to-right text already shows right, and costs no copy.
        assert!(matches!(display_text("Mr דוד"), Cow::Borrowed(_)));
    }

    #[test]
    fn hebrew_words_read_right_to_left_in_their_order() {
        assert_eq!(display_text("דוד כהן"), "כהן דוד");
        check("דוד כהן", "ןהכ דוד");
        // Without reordering, egui shows each word right but the words in typing order.
        assert_eq!(seen(&mut fonts(), "דוד כהן"), "דוד ןהכ");
    }

    #[test]
    fn arabic_names_read_right_to_left_and_hyphens_stay_between_the_words() {
        check("محمد عبدالله", "هللادبع دمحم");
        check("ابن-سينا", "انيس-نبا");
        assert!(contains_rtl("محمد"));
    }

    #[test]
    fn arabic_letters_take_their_joined_forms() {
        // Beh alone, then as the initial, medial and final letter of one word: egui's shaper
        // gives each position its own form, of its own width.
        let mut fonts = fonts();
        let galley = fonts.with_pixels_per_point(1.0).layout_no_wrap(
            display_text("ببب").into_owned(),
            FontId::proportional(40.0),
            egui::Color32::BLACK,
        );
        let widths: Vec<f32> = galley.rows[0]
            .row
            .glyphs
            .iter()
            .map(|g| g.advance_width)
            .filter(|w| *w > 0.0)
            .collect();
        assert_eq!(widths.len(), 3, "{widths:?}");
        assert!(
            widths.iter().any(|w| (w - widths[0]).abs() > 1.0),
            "joined forms should differ in width: {widths:?}"
        );
        let latin = fonts.with_pixels_per_point(1.0).layout_no_wrap(
            "bbb".into(),
            FontId::proportional(40.0),
            egui::Color32::BLACK,
        );
        let w: Vec<f32> = latin.rows[0]
            .row
            .glyphs
            .iter()
            .map(|g| g.advance_width)
            .collect();
        assert!(w.iter().all(|x| (x - w[0]).abs() < 0.01), "{w:?}");
    }

    #[test]
    fn mixed_with_latin_and_digits_keeps_numbers_left_to_right() {
        // Right-to-left paragraph: the number sits at the left end, digits in order.
        check("דוד כהן 12", "12 ןהכ דוד");
        // Left-to-right paragraph with a right-to-left name inside.
        check("Bed 12: דוד כהן", "Bed 12: ןהכ דוד");
        check("Ward 7 محمد عبدالله", "Ward 7 هللادبع دمحم");
        // Arabic-Indic digits are drawn by the Arabic font, which egui would reverse.
        check("علي ١٢", "١٢ يلع");
        check("١٢", "١٢");
    }

    #[test]
    fn brackets_are_mirrored_in_right_to_left_text() {
        check("דוד (דודו)", "(ודוד) דוד");
    }

    #[test]
    fn line_breaks_stay_at_the_end_of_their_line() {
        assert_eq!(display_text("דוד כהן\nabc"), "כהן דוד\nabc");
    }

    #[test]
    fn downtime_id_text_uses_the_downtime_id_family() {
        let text = downtime_id_text("RXX-W07-000123-K", 18.0);
        assert_eq!(text.text(), "RXX-W07-000123-K");
        let defs = definitions();
        let chain = &defs.families[&downtime_id_family()];
        assert_eq!(chain[0], DOWNTIME_ID_FONT);
        assert!(chain.iter().any(|n| n == CJK_FONT), "{chain:?}");
    }

    #[test]
    fn noto_sans_is_the_body_font_and_egui_keeps_its_other_fonts() {
        let defs = definitions();
        let prop = &defs.families[&FontFamily::Proportional];
        assert_eq!(prop[0], BODY_FONT);
        let mono = &defs.families[&FontFamily::Monospace];
        assert_eq!(mono[0], EGUI_MONOSPACE);
        let egui_defaults = FontDefinitions::default();
        for name in &egui_defaults.families[&FontFamily::Proportional] {
            assert!(prop.contains(name), "{name} dropped from {prop:?}");
        }
        for name in &egui_defaults.families[&FontFamily::Monospace] {
            assert!(mono.contains(name), "{name} dropped from {mono:?}");
        }
        // egui's icons stay the last resort, after every script.
        let icons = prop.iter().position(|n| n == "egui-icons");
        let cjk = prop.iter().position(|n| n == CJK_FONT);
        assert!(cjk < icons, "{prop:?}");
    }
}
