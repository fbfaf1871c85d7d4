//! Every name the form accepts is drawn (issue 7): each character of synthetic names in the
//! scripts of London's patients has a glyph in Stopgap's fonts, labels lay them out with no
//! missing glyph, and the same checks fail with egui's default fonts. Downtime IDs use a face in
//! which 0/O and 1/I cannot be confused.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on purpose"
)]

use std::time::{Duration, Instant};

use egui::epaint::text::{Fonts, TextOptions};
use egui::{FontDefinitions, FontFamily, FontId, MissingGlyphPolicy, TextEdit};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use stopgap::ui::fonts;

/// Synthetic names, one or more per script: Chinese, Korean, Japanese, Arabic, Hebrew, Greek,
/// Cyrillic, Vietnamese, Devanagari, Bengali, Gurmukhi, Tamil, and Latin with an apostrophe and
/// a diaeresis.
const NAMES: &[&str] = &[
    "王秀英",
    "김민준",
    "佐藤 花子",
    "محمد عبدالله",
    "דוד כהן",
    "Ελένη Παπαδοπούλου",
    "Иван Петров",
    "Nguyễn Thị Minh Khai",
    "देवांश शर्मा",
    "সুমন দাস",
    "ਗੁਰਪ੍ਰੀਤ ਸਿੰਘ",
    "தமிழ்செல்வி",
    "O'Brien",
    "Zoë",
];

/// The characters of `text` that no font of `family` has a glyph for.
fn missing_glyphs(fonts: &mut Fonts, family: &FontFamily, text: &str) -> Vec<char> {
    let id = FontId::new(16.0, family.clone());
    let mut view = fonts.with_pixels_per_point(1.0);
    text.chars()
        .filter(|c| !c.is_whitespace() && !view.has_glyph(&id, *c))
        .collect()
}

/// Each name as typed and as the queue shows a surname (upper case), with what is missing.
fn names_with_missing_glyphs(fonts: &mut Fonts, family: &FontFamily) -> Vec<(String, Vec<char>)> {
    NAMES
        .iter()
        .flat_map(|n| [(*n).to_owned(), n.to_uppercase()])
        .map(|n| {
            let missing = missing_glyphs(fonts, family, &n);
            (n, missing)
        })
        .filter(|(_, missing)| !missing.is_empty())
        .collect()
}

fn stopgap_fonts() -> Fonts {
    Fonts::new(TextOptions::default(), fonts::definitions())
}

#[test]
fn every_character_of_every_name_has_a_glyph_in_the_fallback_chain() {
    let mut f = stopgap_fonts();
    for family in [
        FontFamily::Proportional,
        FontFamily::Monospace,
        fonts::downtime_id_family(),
    ] {
        let missing = names_with_missing_glyphs(&mut f, &family);
        assert!(missing.is_empty(), "{family:?}: {missing:?}");
    }
}

#[test]
fn the_check_fails_with_egui_default_fonts_for_chinese_and_vietnamese() {
    let mut f = Fonts::new(TextOptions::default(), FontDefinitions::default());
    let missing = names_with_missing_glyphs(&mut f, &FontFamily::Proportional);
    let chars: Vec<char> = missing
        .iter()
        .flat_map(|(_, c)| c.iter().copied())
        .collect();
    assert!(chars.contains(&'王'), "{missing:?}");
    assert!(chars.contains(&'ễ') && chars.contains(&'Ễ'), "{missing:?}");
    assert_eq!(
        missing_glyphs(&mut f, &FontFamily::Proportional, "NGUYỄN"),
        ['Ễ']
    );
}

#[test]
fn each_script_is_drawn_by_its_own_noto_face() {
    let mut f = stopgap_fonts();
    let mut view = f.with_pixels_per_point(1.0);
    let chars = view.characters(&FontFamily::Proportional).clone();
    let face = |c: char| chars.get(&c).map(|faces| faces[0].clone());
    for (c, expected) in [
        ('a', fonts::BODY_FONT),
        ('ễ', fonts::BODY_FONT),
        ('Ε', fonts::BODY_FONT),
        ('И', fonts::BODY_FONT),
        ('م', "NotoSansArabic-Regular"),
        ('ד', "NotoSansHebrew-Regular"),
        ('द', "NotoSansDevanagari-Regular"),
        ('স', "NotoSansBengali-Regular"),
        ('ਗ', "NotoSansGurmukhi-Regular"),
        ('த', "NotoSansTamil-Regular"),
        ('王', fonts::CJK_FONT),
        ('김', fonts::CJK_FONT),
        ('花', fonts::CJK_FONT),
        ('さ', fonts::CJK_FONT),
        // CJK Extension A, which the subset keeps.
        ('㐀', fonts::CJK_FONT),
    ] {
        assert_eq!(face(c).as_deref(), Some(expected), "{c}");
    }
}

#[test]
fn names_in_every_script_lay_out_in_labels_with_no_missing_glyph() {
    let mut harness = Harness::new_ui(|ui| {
        // The app calls this every frame until it has; a harness gets its fonts the same way.
        fonts::install(ui.ctx());
        for name in NAMES {
            ui.label(fonts::display_text(name).into_owned());
            let surname = name.to_uppercase();
            if surname != *name {
                ui.label(fonts::display_text(&surname).into_owned());
            }
        }
        ui.label(fonts::downtime_id_text("RXX-W07-000123-K", 20.0));
    });
    harness.run();
    // kittest panics on a missing glyph, so laying the labels out is the check.
    assert_eq!(
        harness.ctx.missing_glyph_policy(),
        MissingGlyphPolicy::Panic
    );
    for name in NAMES {
        let _label = harness.get_by_label(&fonts::display_text(name));
    }
    let _id = harness.get_by_label("RXX-W07-000123-K");
}

#[test]
#[should_panic(expected = "No glyph for \"王\"")]
fn a_label_with_a_chinese_name_fails_with_egui_default_fonts() {
    let mut harness = Harness::new_ui(|ui| {
        ui.label("王秀英");
    });
    harness.run();
}

#[test]
fn a_typed_arabic_name_is_kept_and_its_reading_order_shown_under_the_field() {
    let mut harness = Harness::new_ui_state(
        |ui, typed: &mut String| {
            fonts::install(ui.ctx());
            let label = ui.label("Surname");
            ui.add(TextEdit::singleline(typed)).labelled_by(label.id);
            fonts::rtl_preview_ui(ui, typed);
        },
        String::new(),
    );
    harness.run();
    assert!(harness.query_by_label_contains("Reads:").is_none());
    harness.get_by_label("Surname").focus();
    harness.run();
    harness.get_by_label("Surname").type_text("محمد عبدالله");
    harness.run();
    assert_eq!(harness.state(), "محمد عبدالله");
    let reads = format!("Reads: {}", fonts::display_text("محمد عبدالله"));
    let _preview = harness.get_by_label(&reads);
}

/// The glyph of `c` in the `downtime_id` family at 64 px, as rows of coverage (0 to 255).
fn bitmap(f: &mut Fonts, c: char) -> Vec<Vec<u8>> {
    let galley = f.with_pixels_per_point(1.0).layout_no_wrap(
        c.to_string(),
        FontId::new(64.0, fonts::downtime_id_family()),
        egui::Color32::WHITE,
    );
    let uv = galley.rows[0].row.glyphs[0].uv_rect;
    let atlas = f.image();
    (uv.min[1]..uv.max[1])
        .map(|y| {
            (uv.min[0]..uv.max[0])
                .map(|x| atlas.pixels[usize::from(y) * atlas.size[0] + usize::from(x)].a())
                .collect()
        })
        .collect()
}

/// Inked pixels in a row of a bitmap.
fn ink(row: &[u8]) -> usize {
    row.iter().filter(|a| **a > 128).count()
}

#[test]
fn downtime_ids_show_a_dotted_zero_and_serifed_one_and_capital_i() {
    let mut f = stopgap_fonts();
    let chars = f
        .with_pixels_per_point(1.0)
        .characters(&fonts::downtime_id_family())
        .clone();
    for c in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-*".chars() {
        assert_eq!(chars[&c][0], fonts::DOWNTIME_ID_FONT, "{c}");
    }
    let zero = bitmap(&mut f, '0');
    let oh = bitmap(&mut f, 'O');
    let centre = |b: &[Vec<u8>]| b[b.len() / 2][b[0].len() / 2];
    assert!(centre(&zero) > 128, "the zero has its dot");
    assert_eq!(centre(&oh), 0, "the letter O is hollow");
    for c in ['1', 'I'] {
        let b = bitmap(&mut f, c);
        let stem = ink(&b[b.len() / 2]);
        let foot = ink(&b[b.len() - 2]);
        assert!(foot >= 3 * stem, "{c}: foot {foot} px, stem {stem} px");
    }
    // The lower-case l has a tail, not a serif on both sides: it differs from the I at its foot.
    assert_ne!(bitmap(&mut f, 'l'), bitmap(&mut f, 'I'));
}

/// Runs one frame of `ctx`, as an integration would, dropping its output.
fn frame(ctx: &egui::Context, ui: impl FnMut(&mut egui::Ui)) {
    let mut output = ctx.run_ui(egui::RawInput::default(), ui);
    // There is no GPU to upload the font atlas to.
    output.textures_delta.clear();
}

#[test]
fn install_is_idempotent_and_the_first_frame_stays_quick() {
    let started = Instant::now();
    let ctx = egui::Context::default();
    fonts::install(&ctx);
    fonts::install(&ctx);
    frame(&ctx, |ui| {
        fonts::install(ui.ctx());
        ui.label("Nguyễn Thị Minh Khai");
        ui.label(fonts::downtime_id_text("RXX-W07-000123-K", 20.0));
    });
    let first_frame = started.elapsed();

    let started = Instant::now();
    let plain = egui::Context::default();
    frame(&plain, |ui| {
        ui.label("Nguyen Thi Minh Khai");
    });
    let egui_only = started.elapsed();
    eprintln!("first frame: {first_frame:?} with Stopgap's fonts, {egui_only:?} with egui's");

    let expected = fonts::definitions();
    ctx.fonts(|f| assert_eq!(f.definitions(), &expected));
    frame(&ctx, |ui| {
        fonts::install(ui.ctx());
        ui.label("王秀英");
    });
    ctx.fonts(|f| assert_eq!(f.definitions(), &expected));
    // Generous for a debug build on a busy machine; release takes a few milliseconds (README).
    assert!(first_frame < Duration::from_secs(3), "{first_frame:?}");
}
