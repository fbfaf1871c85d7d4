//! The handover tab (F6): "Send to lab / Receive from wards". One folder (a USB stick carried
//! with the samples, or a shared folder that is still up) where this PC leaves its bundle and
//! takes in everyone else's; by hand (Enter sends and receives) or every few minutes when the
//! folder is watched. The work runs on the shell's handover thread; this screen only shows what
//! the last visits did, file by file, and what was refused and why.

use std::path::PathBuf;

use chrono::{DateTime, Local, Utc};
use egui::{Key, Modifiers, RichText, Ui};

use super::action::Action;
use super::widgets;
use crate::store::{DEFAULT_HANDOVER_INTERVAL_MINUTES, HandoverSettings};

/// The folder field's accessible name (tests find it by this).
pub const FOLDER_LABEL: &str = "Handover folder";
/// The minutes field's accessible name.
pub const INTERVAL_LABEL: &str = "Minutes between visits";
/// Visits kept on screen.
const VISITS_KEPT: usize = 50;

/// What one file of a visit came to.
#[derive(Debug, Clone, PartialEq)]
pub struct FileLine {
    pub name: String,
    pub ok: bool,
    pub text: String,
}

/// One visit to the folder, as the handover thread reported it.
#[derive(Debug, Clone, PartialEq)]
pub struct Visit {
    pub at: DateTime<Utc>,
    /// Started by the watch, not by a person.
    pub automatic: bool,
    /// The outbox: what was written, or why not; `None` when only receiving.
    pub sent: Option<FileLine>,
    /// The bundles taken in or refused (unchanged files are not listed).
    pub received: Vec<FileLine>,
    /// Why the visit could not be made at all (no folder, folder unreadable).
    pub failed: Option<String>,
    /// Conflicts needing a person among the requests this visit touched.
    pub conflicts: Vec<String>,
}

/// The tab's own state.
#[derive(Debug, Default)]
pub struct HandoverState {
    pub folder: String,
    pub watch: bool,
    pub interval: String,
    /// The settings as stored, to tell whether the fields were changed.
    pub stored: HandoverSettings,
    /// The answer to the last "Save", or why the typed settings cannot be used.
    pub message: Option<Result<String, String>>,
    /// Newest first.
    pub visits: Vec<Visit>,
    /// Files refused and not changed since, with why.
    pub refused: Vec<(String, String)>,
    /// A visit was asked for and its report is awaited.
    pub busy: bool,
    pub focus_folder: bool,
}

impl HandoverState {
    /// Fills the fields from the stored settings.
    pub fn load(&mut self, settings: &HandoverSettings) {
        self.folder = settings
            .folder
            .as_ref()
            .map(|f| f.display().to_string())
            .unwrap_or_default();
        self.watch = settings.watch;
        self.interval = settings.interval_minutes.to_string();
        self.stored = settings.clone();
    }

    /// Keeps a visit's report (newest first).
    pub fn add_visit(&mut self, visit: Visit) {
        self.visits.insert(0, visit);
        self.visits.truncate(VISITS_KEPT);
        self.busy = false;
    }
}

/// The typed settings, checked as values (without looking at the disk: this runs in every
/// frame, and a share that has gone away can take seconds to answer).
pub fn typed_settings(
    folder: &str,
    watch: bool,
    interval: &str,
) -> Result<HandoverSettings, String> {
    let interval = interval.trim();
    let interval_minutes = if interval.is_empty() {
        DEFAULT_HANDOVER_INTERVAL_MINUTES
    } else {
        interval
            .parse::<u32>()
            .map_err(|_| format!("{INTERVAL_LABEL} '{interval}' is not a whole number"))?
    };
    let folder = folder.trim();
    let settings = HandoverSettings {
        folder: (!folder.is_empty()).then(|| PathBuf::from(folder)),
        watch,
        interval_minutes,
    };
    settings.check().map_err(|e| e.to_string())?;
    Ok(settings)
}

/// The typed settings, checked, and the folder there when one is typed (before saving them).
pub fn parse_settings(
    folder: &str,
    watch: bool,
    interval: &str,
) -> Result<HandoverSettings, String> {
    let settings = typed_settings(folder, watch, interval)?;
    if let Some(f) = &settings.folder
        && !f.is_dir()
    {
        return Err(format!(
            "the folder {} is not there: plug in the USB stick, or check the shared folder",
            f.display()
        ));
    }
    Ok(settings)
}

/// Draws the tab.
pub fn handover_ui(
    ui: &mut Ui,
    state: &mut HandoverState,
    local_now: DateTime<Local>,
    actions: &mut Vec<Action>,
) {
    ui.heading("Handover: send to the lab, receive from the wards");
    ui.label(
        RichText::new(
            "Each PC leaves one bundle in this folder (every request and status it knows) and \
             takes in the others'. Use a USB stick carried with the samples, or a shared folder \
             that is still up. Bundles hold patient data: keep the stick with the samples.",
        )
        .color(widgets::MUTED),
    );
    ui.add_space(10.0);

    let folder = widgets::text_field(
        ui,
        FOLDER_LABEL,
        &mut state.folder,
        "e.g. E:\\handover or /media/usb/handover",
        520.0,
        None,
    );
    if std::mem::take(&mut state.focus_folder) {
        folder.request_focus();
    }
    let enter_in_folder = folder.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter));
    ui.horizontal(|ui| {
        ui.checkbox(&mut state.watch, "Watch this folder: every");
        ui.add(
            egui::TextEdit::singleline(&mut state.interval)
                .id_salt(INTERVAL_LABEL)
                .desired_width(40.0),
        )
        .labelled_by(ui.label("minutes").id);
        ui.label("send this PC's bundle and receive the new ones by itself");
    });
    let typed = (state.folder.clone(), state.watch, state.interval.clone());
    let changed = typed_settings(&typed.0, typed.1, &typed.2)
        .map(|s| s != state.stored)
        .unwrap_or(true);
    ui.horizontal(|ui| {
        if ui
            .add_enabled(changed, egui::Button::new("Save folder settings"))
            .clicked()
        {
            actions.push(Action::SetHandover {
                folder: typed.0.clone(),
                watch: typed.1,
                interval: typed.2.clone(),
            });
        }
        match &state.message {
            Some(Ok(said)) => {
                ui.label(RichText::new(said).color(widgets::OK_GREEN));
            }
            Some(Err(why)) => {
                widgets::error_text(ui, why);
            }
            None => {}
        }
    });
    ui.add_space(10.0);

    let now_clicked = ui.horizontal(|ui| {
        let both = ui.add_enabled(
            !state.busy,
            egui::Button::new(
                RichText::new("Send and receive now (Enter)")
                    .strong()
                    .size(17.0),
            )
            .min_size(egui::vec2(260.0, 36.0)),
        );
        let send = ui.add_enabled(!state.busy, egui::Button::new("Send to lab only"));
        let receive = ui.add_enabled(!state.busy, egui::Button::new("Receive from wards only"));
        if state.busy {
            // Words, not a spinner: a spinner repaints every frame while a large import runs.
            ui.label(
                RichText::new("Working… (this may take a minute for a large bundle)").strong(),
            );
        }
        [both.clicked(), send.clicked(), receive.clicked()]
    });
    let [both, send, receive] = now_clicked.inner;
    // Enter anywhere on the tab (outside the minutes field) sends and receives.
    let enter = enter_in_folder
        || (!state.busy
            && ui.memory(|m| m.focused().is_none())
            && ui.input_mut(|i| i.consume_key(Modifiers::NONE, Key::Enter)));
    let visit = |send, receive| Action::HandoverNow {
        folder: typed.0.clone(),
        watch: typed.1,
        interval: typed.2.clone(),
        send,
        receive,
    };
    if both || enter {
        actions.push(visit(true, true));
    } else if send {
        actions.push(visit(true, false));
    } else if receive {
        actions.push(visit(false, true));
    }
    ui.add_space(12.0);

    if !state.refused.is_empty() {
        widgets::warning_box(
            ui,
            &format!(
                "{} file(s) in the folder were refused and are not taken in until they change:",
                state.refused.len()
            ),
        );
        for (name, why) in &state.refused {
            ui.label(RichText::new(format!("{name}: {why}")).color(widgets::ERROR_RED));
        }
        ui.add_space(8.0);
    }
    visits_ui(ui, &state.visits, local_now);
}

fn visits_ui(ui: &mut Ui, visits: &[Visit], local_now: DateTime<Local>) {
    if visits.is_empty() {
        ui.label(RichText::new("No handover yet this session.").color(widgets::MUTED));
        return;
    }
    egui::ScrollArea::vertical().show(ui, |ui| {
        for v in visits {
            let at = v.at.with_timezone(&Local);
            let day = if at.date_naive() == local_now.date_naive() {
                at.format("%H:%M:%S").to_string()
            } else {
                at.format("%H:%M:%S %d/%m/%Y").to_string()
            };
            let who = if v.automatic { " (watched folder)" } else { "" };
            ui.label(RichText::new(format!("{day}{who}")).strong());
            if let Some(why) = &v.failed {
                widgets::error_text(ui, why);
            }
            if let Some(sent) = &v.sent {
                file_line(ui, "Sent", sent);
            }
            for r in &v.received {
                file_line(ui, "Received", r);
            }
            if v.failed.is_none() && v.received.is_empty() && v.sent.is_none() {
                ui.label(RichText::new("Nothing new in the folder.").color(widgets::MUTED));
            } else if v.failed.is_none() && v.received.is_empty() {
                ui.label(RichText::new("Nothing new to receive.").color(widgets::MUTED));
            }
            if !v.conflicts.is_empty() {
                widgets::warning_box(
                    ui,
                    &format!(
                        "{} conflict(s) need a person (Conflicts, F7; a sample received before \
                         its request: Reception, F4). {}",
                        v.conflicts.len(),
                        v.conflicts.first().map(String::as_str).unwrap_or_default()
                    ),
                );
            }
            ui.add_space(6.0);
        }
    });
}

fn file_line(ui: &mut Ui, what: &str, line: &FileLine) {
    let colour = if line.ok {
        ui.visuals().text_color()
    } else {
        widgets::ERROR_RED
    };
    ui.label(RichText::new(format!("{what} {}: {}", line.name, line.text)).color(colour));
}
