//! Small widgets shared by the screens: labelled fields, the priority badge, tube swatches,
//! error and warning text, and the theme.

use egui::{Color32, FontId, Response, RichText, TextEdit, TextStyle, Ui, Vec2};

use crate::domain::catalogue::parse_hex;
use crate::domain::request::Priority;
use crate::domain::status::Status;

pub const EMERGENCY_RED: Color32 = Color32::from_rgb(0xC6, 0x28, 0x28);
pub const URGENT_AMBER: Color32 = Color32::from_rgb(0xF9, 0xA8, 0x25);
pub const ROUTINE_GREY_BLUE: Color32 = Color32::from_rgb(0x54, 0x6E, 0x7A);
/// Error text: dark enough red to read on white.
pub const ERROR_RED: Color32 = Color32::from_rgb(0xB7, 0x1C, 0x1C);
/// Warning panels: dark amber text on a pale amber fill.
pub const WARNING_TEXT: Color32 = Color32::from_rgb(0x6D, 0x4C, 0x00);
pub const WARNING_FILL: Color32 = Color32::from_rgb(0xFF, 0xF3, 0xC4);
pub const OK_GREEN: Color32 = Color32::from_rgb(0x1B, 0x5E, 0x20);
pub const OK_FILL: Color32 = Color32::from_rgb(0xE8, 0xF5, 0xE9);
pub const MUTED: Color32 = Color32::from_rgb(0x55, 0x5F, 0x66);
/// The keyboard focus ring: a strong blue that stands out from every priority colour.
pub const FOCUS_BLUE: Color32 = Color32::from_rgb(0x00, 0x5E, 0xD8);

/// The number keys 1 to 9, in order: a choice of up to nine (a reject reason, a decision, a
/// test) is made by its number.
pub const NUMBER_KEYS: [egui::Key; 9] = [
    egui::Key::Num1,
    egui::Key::Num2,
    egui::Key::Num3,
    egui::Key::Num4,
    egui::Key::Num5,
    egui::Key::Num6,
    egui::Key::Num7,
    egui::Key::Num8,
    egui::Key::Num9,
];

/// The calm light theme, with text sized for a ward PC at arm's length.
pub fn apply_theme(ctx: &egui::Context) {
    ctx.set_theme(egui::Theme::Light);
    ctx.all_styles_mut(|style| {
        style
            .text_styles
            .insert(TextStyle::Body, FontId::proportional(16.0));
        style
            .text_styles
            .insert(TextStyle::Button, FontId::proportional(16.0));
        style
            .text_styles
            .insert(TextStyle::Heading, FontId::proportional(22.0));
        style
            .text_styles
            .insert(TextStyle::Small, FontId::proportional(13.0));
        style
            .text_styles
            .insert(TextStyle::Monospace, FontId::monospace(15.0));
        style.spacing.item_spacing = Vec2::new(10.0, 8.0);
        style.spacing.button_padding = Vec2::new(10.0, 5.0);
        style.spacing.interact_size.y = 28.0;
        style.visuals.panel_fill = Color32::from_rgb(0xF7, 0xF8, 0xFA);
        style.visuals.extreme_bg_color = Color32::WHITE;
        // Visible edges on every field and button: a form is useless if you cannot see the boxes.
        style.visuals.widgets.inactive.bg_stroke = egui::Stroke::new(1.0, Color32::from_gray(150));
        style.visuals.widgets.inactive.weak_bg_fill = Color32::from_rgb(0xEC, 0xEF, 0xF2);
        // The text cursor's field: a thick blue edge (the ring below adds the outer line).
        style.visuals.selection.stroke = egui::Stroke::new(2.0, FOCUS_BLUE);
    });
}

/// Draws a clearly visible ring around whichever widget has the keyboard focus, whatever kind it
/// is (custom buttons such as the priority choice draw their own colours and no focus of their
/// own). Called once per frame, after the screens are drawn.
pub fn paint_focus_ring(ctx: &egui::Context) {
    let Some(id) = ctx.memory(|m| m.focused()) else {
        return;
    };
    let Some(response) = ctx.read_response(id) else {
        return;
    };
    let painter = ctx.layer_painter(egui::LayerId::new(
        egui::Order::Foreground,
        egui::Id::unique("focus_ring"),
    ));
    let painter = painter.with_clip_rect(response.interact_rect.expand(6.0));
    painter.rect_stroke(
        response.rect.expand(2.0),
        4.0,
        egui::Stroke::new(3.0, FOCUS_BLUE),
        egui::StrokeKind::Outside,
    );
}

/// Scrolls a widget into view when the keyboard focus arrives on it (Tab into a field below the
/// fold must never leave the cursor out of sight).
pub fn keep_in_view(response: &Response) {
    if response.gained_focus() {
        response.scroll_to_me(None);
    }
}

/// While widget `id` has the focus, the arrow keys go to it (Left/Right, and Up/Down too when
/// `vertical`) instead of moving the focus to a neighbour.
pub fn keep_arrows(ui: &Ui, id: egui::Id, vertical: bool) {
    ui.memory_mut(|m| {
        m.set_focus_lock_filter(
            id,
            egui::EventFilter {
                horizontal_arrows: true,
                vertical_arrows: vertical,
                ..Default::default()
            },
        );
    });
}

/// One option of a [`choice_group`]: its value, its word, the key that picks it, and its colours
/// when chosen (fill, text), if it has its own.
pub struct Choice<'a, T> {
    pub value: T,
    pub label: &'a str,
    pub key: egui::Key,
    pub colours: Option<(Color32, Color32)>,
}

/// A row of options that is a single Tab stop: Left/Right arrows or the option's letter change
/// the choice while it has the focus; a click works too. Returns the group's response (focus it
/// with `request_focus`). Each option is a button named by its word, so screen readers and tests
/// find it.
pub fn choice_group<T: Copy + PartialEq>(
    ui: &mut Ui,
    id_salt: &str,
    name: &str,
    options: &[Choice<'_, T>],
    value: &mut Option<T>,
) -> Response {
    let id = ui.make_persistent_id(id_salt);
    let focused = ui.memory(|m| m.has_focus(id));
    if focused {
        keep_arrows(ui, id, false);
        let current = options.iter().position(|o| Some(o.value) == *value);
        ui.input_mut(|i| {
            let last = options.len().saturating_sub(1);
            if i.consume_key(egui::Modifiers::NONE, egui::Key::ArrowRight) {
                let next = current.map_or(0, |c| (c + 1).min(last));
                *value = options.get(next).map(|o| o.value);
            }
            if i.consume_key(egui::Modifiers::NONE, egui::Key::ArrowLeft) {
                let next = current.map_or(0, |c| c.saturating_sub(1));
                *value = options.get(next).map(|o| o.value);
            }
            for o in options {
                if i.consume_key(egui::Modifiers::NONE, o.key) {
                    *value = Some(o.value);
                }
            }
        });
    }
    let inner = ui.horizontal(|ui| {
        for o in options {
            let chosen = Some(o.value) == *value;
            let (fill, text) = match (chosen, o.colours) {
                (true, Some(c)) => c,
                (true, None) => (Color32::from_rgb(0x1E, 0x5A, 0x96), Color32::WHITE),
                (false, _) => (Color32::WHITE, Color32::from_gray(40)),
            };
            let edge = match (chosen, o.colours) {
                (true, _) => Color32::BLACK,
                (false, Some((fill, _))) => fill,
                (false, None) => Color32::from_gray(150),
            };
            let mut words = RichText::new(o.label).color(text);
            if chosen {
                words = words.strong();
            }
            // Not a Tab stop of its own: the group is.
            let button = egui::Button::new(words)
                .fill(fill)
                .stroke(egui::Stroke::new(2.0, edge))
                .min_size(Vec2::new(90.0, 32.0))
                .sense(egui::Sense::CLICK);
            if ui.add(button).clicked() {
                *value = Some(o.value);
            }
        }
    });
    let response = ui.interact(inner.response.rect, id, egui::Sense::FOCUSABLE);
    let chosen = options
        .iter()
        .find(|o| Some(o.value) == *value)
        .map_or("none chosen", |o| o.label);
    response.widget_info(|| {
        egui::WidgetInfo::labeled(egui::Role::RadioGroup, true, format!("{name}: {chosen}"))
    });
    keep_in_view(&response);
    response
}

/// The colours of a priority: (fill, text).
pub fn priority_colours(p: Priority) -> (Color32, Color32) {
    match p {
        Priority::Emergency => (EMERGENCY_RED, Color32::WHITE),
        Priority::Urgent => (URGENT_AMBER, Color32::BLACK),
        Priority::Routine => (ROUTINE_GREY_BLUE, Color32::WHITE),
    }
}

/// A priority shown by text and colour (never colour alone).
pub fn priority_badge(ui: &mut Ui, p: Priority) -> Response {
    let (fill, text) = priority_colours(p);
    egui::Frame::new()
        .fill(fill)
        .corner_radius(4.0)
        .inner_margin(egui::Margin::symmetric(8, 2))
        .show(ui, |ui| {
            ui.label(RichText::new(p.label()).color(text).strong());
        })
        .response
}

/// A status in words, coloured by how far along it is.
pub fn status_text(status: Status) -> RichText {
    let colour = match status {
        Status::Logged => Color32::from_rgb(0x0D, 0x47, 0xA1),
        Status::Sent | Status::Received => Color32::from_rgb(0x4A, 0x14, 0x8C),
        Status::Reentered => OK_GREEN,
        Status::Cancelled | Status::Rejected => MUTED,
    };
    RichText::new(status.label()).color(colour)
}

/// A square of the tube cap colour, outlined so white or pale caps still show.
pub fn tube_swatch(ui: &mut Ui, colour_hex: &str) -> Response {
    let size = Vec2::splat(18.0);
    let (rect, response) = ui.allocate_exact_size(size, egui::Sense::hover());
    let fill = parse_hex(colour_hex)
        .map(|[r, g, b]| Color32::from_rgb(r, g, b))
        .unwrap_or(Color32::GRAY);
    ui.painter().rect_filled(rect, 3.0, fill);
    ui.painter().rect_stroke(
        rect,
        3.0,
        egui::Stroke::new(1.0, Color32::from_gray(90)),
        egui::StrokeKind::Inside,
    );
    response
}

/// Red error text, placed beside or below the field it belongs to.
pub fn error_text(ui: &mut Ui, message: &str) -> Response {
    ui.label(RichText::new(message).color(ERROR_RED))
}

/// A pale amber box with a warning in dark text.
pub fn warning_box(ui: &mut Ui, message: &str) {
    egui::Frame::new()
        .fill(WARNING_FILL)
        .stroke(egui::Stroke::new(1.0, URGENT_AMBER))
        .corner_radius(4.0)
        .inner_margin(egui::Margin::symmetric(10, 6))
        .show(ui, |ui| {
            ui.label(RichText::new(format!("Warning: {message}")).color(WARNING_TEXT));
        });
}

/// A red box for an identity mismatch: it blocks saving until acknowledged with a reason.
pub fn mismatch_box(ui: &mut Ui, message: &str) {
    egui::Frame::new()
        .fill(Color32::from_rgb(0xFD, 0xEC, 0xEA))
        .stroke(egui::Stroke::new(2.0, ERROR_RED))
        .corner_radius(4.0)
        .inner_margin(egui::Margin::symmetric(10, 6))
        .show(ui, |ui| {
            ui.label(
                RichText::new(format!("IDENTITY MISMATCH: {message}"))
                    .color(ERROR_RED)
                    .strong(),
            );
        });
}

/// A single-line text field tied to its label, so screen readers (and tests) find it by name.
/// The error, if any, is shown below it.
pub fn text_field(
    ui: &mut Ui,
    label: &str,
    value: &mut String,
    hint: &str,
    width: f32,
    error: Option<&str>,
) -> Response {
    // Named by its label, not by its place: a line appearing above it while typing (a warning,
    // a hint) must not make it a new widget and take the cursor away.
    let edit = TextEdit::singleline(value)
        .id_salt(label)
        .hint_text(hint)
        .desired_width(width);
    labelled_row(ui, label, edit, error)
}

/// A multi-line text field tied to its label, with its error below.
pub fn text_area(
    ui: &mut Ui,
    label: &str,
    value: &mut String,
    width: f32,
    error: Option<&str>,
) -> Response {
    let edit = TextEdit::multiline(value)
        .id_salt(label)
        .desired_rows(2)
        .desired_width(width);
    labelled_row(ui, label, edit, error)
}

/// One grid row: the label, then the field labelled by it with its error below.
fn labelled_row(ui: &mut Ui, label: &str, edit: TextEdit<'_>, error: Option<&str>) -> Response {
    let label_response = ui.label(RichText::new(label).strong());
    let response = ui
        .vertical(|ui| {
            let response = ui.add(edit).labelled_by(label_response.id);
            keep_in_view(&response);
            if let Some(message) = error {
                error_text(ui, message);
            }
            response
        })
        .inner;
    ui.end_row();
    response
}

/// "42 min", "3 h 10 min", "2 d 4 h": how long ago a sample was collected.
pub fn age(minutes: i64) -> String {
    let minutes = minutes.max(0);
    if minutes < 60 {
        format!("{minutes} min")
    } else if minutes < 24 * 60 {
        format!("{} h {} min", minutes / 60, minutes % 60)
    } else {
        format!("{} d {} h", minutes / (24 * 60), (minutes / 60) % 24)
    }
}

/// An overdue flag in words and colour (never colour alone): white bold text on red, e.g.
/// "OVERDUE 1 h 12 min".
pub fn overdue_badge(ui: &mut Ui, words: &str) -> Response {
    egui::Frame::new()
        .fill(EMERGENCY_RED)
        .corner_radius(4.0)
        .inner_margin(egui::Margin::symmetric(6, 1))
        .show(ui, |ui| {
            ui.label(RichText::new(words).color(Color32::WHITE).strong());
        })
        .response
}

#[cfg(test)]
mod tests {
    use super::age;

    #[test]
    fn ages_read_naturally() {
        assert_eq!(age(42), "42 min");
        assert_eq!(age(190), "3 h 10 min");
        assert_eq!(age(24 * 60 * 2 + 4 * 60 + 5), "2 d 4 h");
        assert_eq!(age(-3), "0 min");
    }
}
