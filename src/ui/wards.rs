//! The ward list as the set-up screens edit it (first run and settings): one row per ward, its
//! code beside its name. A new ward's code follows its name (the derived code, shown so it can
//! be changed) until the code is typed; the checks are the domain's, shown beside their rows.

use egui::{RichText, Ui};

use super::widgets;
use crate::domain::ward::{Ward, WardError, derived_code, parse_rows};

/// One row as typed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct WardRow {
    pub code: String,
    pub name: String,
    /// The code is the one derived from the name, and follows it as the name is typed.
    pub code_follows_name: bool,
}

impl WardRow {
    fn blank() -> Self {
        Self {
            code_follows_name: true,
            ..Self::default()
        }
    }

    fn is_blank(&self) -> bool {
        self.code.trim().is_empty() && self.name.trim().is_empty()
    }
}

/// The ward table's view state: the rows (always one blank row last, to type a new ward into)
/// and the problems the last save found, by row.
#[derive(Debug, Clone, PartialEq)]
pub struct WardTable {
    pub rows: Vec<WardRow>,
    pub problems: Vec<(usize, WardError)>,
}

impl Default for WardTable {
    fn default() -> Self {
        Self {
            rows: vec![WardRow::blank()],
            problems: Vec::new(),
        }
    }
}

impl WardTable {
    /// The rows of a stored list.
    pub fn of(wards: &[Ward]) -> Self {
        let mut rows: Vec<WardRow> = wards
            .iter()
            .map(|w| WardRow {
                code: w.code().to_owned(),
                name: w.name().to_owned(),
                code_follows_name: w.code() == derived_code(w.name()),
            })
            .collect();
        rows.push(WardRow::blank());
        Self {
            rows,
            problems: Vec::new(),
        }
    }

    /// The list the rows make, or `None` with every problem kept to show beside its row.
    pub fn wards(&mut self) -> Option<Vec<Ward>> {
        let parsed = parse_rows(self.rows.iter().map(|r| (r.code.as_str(), r.name.as_str())));
        match parsed {
            Ok(wards) => {
                self.problems.clear();
                Some(wards)
            }
            Err(problems) => {
                self.problems = problems;
                None
            }
        }
    }

    fn problem(&self, row: usize) -> Option<&WardError> {
        self.problems
            .iter()
            .find(|(r, _)| *r == row)
            .map(|(_, e)| e)
    }
}

/// Width of the code and name fields.
const CODE_WIDTH: f32 = 130.0;
const NAME_WIDTH: f32 = 300.0;

/// Draws the table; `max_height` bounds it (it scrolls beyond). Tab goes code, name, next row;
/// a row cleared of both is left out when saved, so no mouse is needed to remove one.
pub fn ward_table_ui(ui: &mut Ui, table: &mut WardTable, max_height: f32) {
    ui.horizontal(|ui| {
        ui.add_sized(
            [CODE_WIDTH, 18.0],
            egui::Label::new(RichText::new("Code (HL7 PV1-3)").strong()),
        );
        ui.add_sized(
            [NAME_WIDTH, 18.0],
            egui::Label::new(RichText::new("Name on the form").strong()),
        );
    });
    egui::ScrollArea::vertical()
        .id_salt("ward_table")
        .max_height(max_height)
        .auto_shrink([false, true])
        .show(ui, |ui| {
            let mut remove = None;
            for i in 0..table.rows.len() {
                let problem = table.problem(i).map(ToString::to_string);
                let row = &mut table.rows[i];
                ui.horizontal(|ui| {
                    // An empty code is saved as the derived one: the hint says which.
                    let hint = if row.name.trim().is_empty() {
                        "e.g. W7".to_owned()
                    } else {
                        derived_code(&row.name)
                    };
                    let code = ui.add(
                        egui::TextEdit::singleline(&mut row.code)
                            .hint_text(hint)
                            .char_limit(crate::domain::ward::WARD_CODE_MAX)
                            .desired_width(CODE_WIDTH),
                    );
                    name_for_screen_readers(ui, &code, &format!("Ward {} code", i + 1));
                    widgets::keep_in_view(&code);
                    if code.changed() {
                        // Typed: it stays as typed; cleared: it follows the name again from
                        // the name's next change (not at once, so a code can be retyped).
                        row.code_follows_name = row.code.trim().is_empty();
                    }
                    let name = ui.add(
                        egui::TextEdit::singleline(&mut row.name)
                            .hint_text("e.g. Ward 7 Acute Medicine")
                            .desired_width(NAME_WIDTH),
                    );
                    name_for_screen_readers(ui, &name, &format!("Ward {} name", i + 1));
                    widgets::keep_in_view(&name);
                    if row.code_follows_name && name.changed() {
                        row.code = if row.name.trim().is_empty() {
                            String::new()
                        } else {
                            derived_code(&row.name)
                        };
                    }
                    if !row.is_blank() {
                        // Not a Tab stop: clearing the row does the same from the keyboard.
                        let button = egui::Button::new("Remove").sense(egui::Sense::CLICK);
                        if ui
                            .add(button)
                            .on_hover_text(format!("Remove ward {}", i + 1))
                            .clicked()
                        {
                            remove = Some(i);
                        }
                    }
                });
                if let Some(p) = problem {
                    widgets::error_text(ui, &p);
                }
            }
            if let Some(i) = remove {
                table.rows.remove(i);
                table.problems.clear();
            }
            if table.rows.last().is_none_or(|r| !r.is_blank()) {
                table.rows.push(WardRow::blank());
            }
        });
    ui.label(
        RichText::new(
            "A code is 1 to 20 capital letters, digits, - or _; a new ward's code is made from its name until you type one. Clear a row to remove it.",
        )
        .color(widgets::MUTED),
    );
}

/// Gives a field of the table its own accessible name ("Ward 2 code"), since its visible label
/// is the column heading shared by every row.
fn name_for_screen_readers(ui: &Ui, response: &egui::Response, name: &str) {
    ui.ctx().accesskit_node_builder(response.id, |node| {
        node.set_label(name.to_owned());
    });
}
