//! The chrome around every screen: the top bar (workstation, open counts, who is signed in, the
//! clock), the tabs, the LIMS DOWNTIME, READ-ONLY and TRAINING banners, and notices.

use chrono::{DateTime, Local};
use egui::{Color32, RichText, Ui};

use super::Notice;
use super::backup::BackupStatus;
use crate::domain::downtime_id::DowntimeId;
use crate::domain::request::Priority;
use crate::store::{QueueRow, ReadOnlyReason, Setup};
use crate::ui::action::{Action, Tab};
use crate::ui::sign_in::SignedIn;
use crate::ui::{fonts, widgets};

pub(super) struct TopBar<'a> {
    pub setup: &'a Setup,
    pub open_counts: (u64, u64),
    pub training: bool,
    pub read_only: Option<ReadOnlyReason>,
    /// The whole-file integrity check is still running.
    pub checking: bool,
    /// Requests the check found damaged.
    pub damaged: &'a [DowntimeId],
    pub tab: Tab,
    pub local_now: DateTime<Local>,
    pub user: Option<&'a SignedIn>,
    pub backup: &'a BackupStatus,
    /// Conflicts between PCs' records that need a person.
    pub conflicts: usize,
}

pub(super) fn top_bar_ui(ui: &mut Ui, bar: &TopBar<'_>, actions: &mut Vec<Action>) {
    ui.horizontal(|ui| {
        ui.label(RichText::new("Stopgap").size(24.0).strong());
        ui.label(
            RichText::new(format!(
                "Site {} · Workstation {}",
                bar.setup.site.as_str(),
                bar.setup.workstation.as_str()
            ))
            .color(widgets::MUTED),
        );
        ui.separator();
        let (emergency, urgent) = bar.open_counts;
        let (fill, text) = widgets::priority_colours(Priority::Emergency);
        count_chip(ui, &format!("{emergency} open EMERGENCY"), fill, text);
        let (fill, text) = widgets::priority_colours(Priority::Urgent);
        count_chip(ui, &format!("{urgent} open Urgent"), fill, text);
        conflicts_chip(ui, bar, actions);
        if bar.checking {
            ui.label(RichText::new("Checking the database file…").color(widgets::MUTED))
                .on_hover_text("Saves go on meanwhile; damage found would be shown at once.");
        }
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            ui.label(
                RichText::new(bar.local_now.format("%H:%M  %a %d/%m/%Y").to_string())
                    .color(widgets::MUTED),
            );
            if let Some((text, colour)) = backup_text(bar.backup) {
                let hover = match bar.backup {
                    BackupStatus::Made { path, .. } => {
                        format!("Last good backup: {}", path.display())
                    }
                    BackupStatus::Failed { why, .. } => why.clone(),
                    _ => {
                        "Set a backup folder (a USB stick or another disk) in Settings.".to_owned()
                    }
                };
                ui.label(RichText::new(text).color(colour).strong())
                    .on_hover_text(hover);
                ui.separator();
            }
        });
    });
    ui.add_space(4.0);
    ui.horizontal(|ui| {
        // Who is signed in, on the right of the tabs: always in sight, never crowding the counts.
        // Placed first, so the tabs take the room left and wrap onto a second line on a narrow
        // window rather than run under the name.
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            user_ui(ui, bar.user, actions);
            ui.add_space(8.0);
            ui.with_layout(
                egui::Layout::left_to_right(egui::Align::Center).with_main_wrap(true),
                |ui| tabs_ui(ui, bar.tab, actions),
            );
        });
    });
    ui.add_space(4.0);
    banner(
        ui,
        widgets::EMERGENCY_RED,
        Color32::WHITE,
        "LIMS DOWNTIME — requests are recorded here, not in the LIMS",
    );
    if !bar.damaged.is_empty() {
        const SHOWN: usize = 6;
        let mut ids: Vec<String> = bar
            .damaged
            .iter()
            .take(SHOWN)
            .map(|id| id.to_string())
            .collect();
        if bar.damaged.len() > SHOWN {
            ids.push(format!("and {} more", bar.damaged.len() - SHOWN));
        }
        banner(
            ui,
            widgets::ERROR_RED,
            Color32::WHITE,
            &format!(
                "DAMAGED RECORDS — {}: what is stored for these requests cannot be trusted. \
                 Check them against their paper forms, and tell IT (stopgap verify lists the \
                 details).",
                ids.join(", ")
            ),
        );
    }
    if let Some(reason) = bar.read_only {
        banner(
            ui,
            Color32::from_gray(40),
            Color32::WHITE,
            &format!(
                "READ-ONLY — {}: viewing only, nothing can be saved. To work on it, copy the \
                 file to a folder on this computer's own disk.",
                reason.words()
            ),
        );
    }
    if bar.training {
        banner(
            ui,
            widgets::URGENT_AMBER,
            Color32::BLACK,
            "TRAINING DATA — this database holds synthetic training requests",
        );
    }
}

fn banner(ui: &mut Ui, fill: Color32, text: Color32, words: &str) {
    egui::Frame::new()
        .fill(fill)
        .inner_margin(egui::Margin::symmetric(10, 4))
        .corner_radius(3.0)
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.label(RichText::new(words).color(text).strong());
        });
}

fn count_chip(ui: &mut Ui, text: &str, fill: Color32, text_colour: Color32) {
    egui::Frame::new()
        .fill(fill)
        .corner_radius(4.0)
        .inner_margin(egui::Margin::symmetric(8, 2))
        .show(ui, |ui| {
            ui.label(RichText::new(text).color(text_colour).strong());
        });
}

pub(super) fn banners_ui(
    ui: &mut Ui,
    notice: Option<&Notice>,
    recovered: &[QueueRow],
    actions: &mut Vec<Action>,
) {
    if !recovered.is_empty() {
        ui.add_space(4.0);
        egui::Frame::new()
            .fill(widgets::WARNING_FILL)
            .stroke(egui::Stroke::new(1.0, widgets::URGENT_AMBER))
            .inner_margin(egui::Margin::symmetric(10, 6))
            .show(ui, |ui| {
                ui.set_width(ui.available_width());
                ui.horizontal(|ui| {
                    ui.label(
                        RichText::new(
                            "Saved just before the app closed — please check these requests:",
                        )
                        .color(widgets::WARNING_TEXT)
                        .strong(),
                    );
                    if ui.button("Dismiss").clicked() {
                        actions.push(Action::DismissRecovered);
                    }
                });
                for row in recovered {
                    ui.horizontal(|ui| {
                        ui.label(fonts::downtime_id_text(row.downtime_id.grouped(), 16.0));
                        ui.label(
                            RichText::new(format!(
                                "{}, {}  ({})",
                                fonts::display_text(&row.surname.to_uppercase()),
                                fonts::display_text(&row.forename),
                                row.tests.join(", ")
                            ))
                            .color(widgets::WARNING_TEXT),
                        );
                    });
                }
            });
    }
    if let Some(notice) = notice {
        ui.add_space(4.0);
        let (fill, colour) = if notice.is_error {
            (Color32::from_rgb(0xFD, 0xEC, 0xEA), widgets::ERROR_RED)
        } else {
            (widgets::OK_FILL, widgets::OK_GREEN)
        };
        egui::Frame::new()
            .fill(fill)
            .stroke(egui::Stroke::new(1.0, colour))
            .inner_margin(egui::Margin::symmetric(10, 6))
            .show(ui, |ui| {
                ui.set_width(ui.available_width());
                ui.horizontal(|ui| {
                    let prefix = if notice.is_error { "Problem: " } else { "" };
                    ui.label(RichText::new(format!("{prefix}{}", notice.text)).color(colour));
                    if ui.button("Dismiss").clicked() {
                        actions.push(Action::DismissNotice);
                    }
                });
            });
    }
    ui.add_space(2.0);
}

/// Who is signed in (drawn right to left), with Change user and Sign out; or a Sign in button.
/// The tabs, in the order of their keys. Conflicts (F7) is the button beside the counts.
fn tabs_ui(ui: &mut Ui, current: Tab, actions: &mut Vec<Action>) {
    // Tight enough for every tab and the signed-in name on one line of a 1366-pixel screen.
    ui.spacing_mut().item_spacing.x = 4.0;
    ui.spacing_mut().button_padding.x = 6.0;
    for (tab, text) in [
        (Tab::Form, "New request (F2)"),
        (Tab::Queue, "Queue (F3)"),
        (Tab::Reception, "Reception (F4)"),
        (Tab::Dashboard, "Dashboard (F5)"),
        (Tab::Handover, "Handover (F6)"),
        (Tab::Phoned, "Phoned (F9)"),
        (Tab::Lab, "Lab export"),
        (Tab::Settings, "Settings"),
    ] {
        let selected = current == tab;
        let button = egui::Button::selectable(selected, RichText::new(text).size(15.0).strong())
            .min_size(egui::vec2(0.0, 32.0));
        if ui.add(button).clicked() && !selected {
            actions.push(Action::ShowTab(tab));
        }
    }
}

fn user_ui(ui: &mut Ui, user: Option<&SignedIn>, actions: &mut Vec<Action>) {
    match user {
        Some(user) => {
            if ui
                .button("Lock")
                .on_hover_text("Hide every patient until a password is typed; the form is kept")
                .clicked()
            {
                actions.push(Action::Lock);
            }
            if ui
                .button("Change (Ctrl+U)")
                .on_hover_text("Someone else at the keyboard: sign in under your own name")
                .clicked()
            {
                actions.push(Action::ChangeUser);
            }
            let role = match &user.principal {
                crate::domain::access::Principal::Account { role, .. } => role.word(),
                _ => "emergency: requests only",
            };
            ui.label(RichText::new(role).color(widgets::MUTED));
            ui.label(
                RichText::new(fonts::display_text(&user.name).into_owned())
                    .strong()
                    .size(17.0),
            );
        }
        None => {
            let sign_in = egui::Button::new(RichText::new("Sign in (Ctrl+U)").strong())
                .fill(widgets::WARNING_FILL);
            if ui.add(sign_in).clicked() {
                actions.push(Action::ChangeUser);
            }
            ui.label(
                RichText::new("Nobody signed in")
                    .color(widgets::ERROR_RED)
                    .strong(),
            );
        }
    }
}

/// What the top bar says of backups, and in which colour: the last good backup's local time,
/// amber when none is set or made, red when the last one failed.
pub(super) fn backup_text(status: &BackupStatus) -> Option<(String, Color32)> {
    let local = |at: &chrono::DateTime<chrono::Utc>| at.with_timezone(&Local).format("%H:%M");
    match status {
        BackupStatus::Unknown => None,
        BackupStatus::NoFolder => Some(("No backup folder set".to_owned(), widgets::WARNING_TEXT)),
        BackupStatus::NoneYet => Some(("No backup yet".to_owned(), widgets::WARNING_TEXT)),
        BackupStatus::Made { at, .. } => Some((format!("Backup {}", local(at)), widgets::OK_GREEN)),
        BackupStatus::Failed { why, last_good } => {
            let short: String = why.chars().take(60).collect();
            let more = if why.chars().count() > 60 { "…" } else { "" };
            let last = last_good
                .map(|at| format!(" (last good {})", local(&at)))
                .unwrap_or_default();
            Some((
                format!("Backup failed: {short}{more}{last}"),
                widgets::ERROR_RED,
            ))
        }
    }
}

/// The Conflicts tab's button, in the top bar beside the counts (the tab row is full): amber
/// "N conflicts (F7)" while any need a person, plain "Conflicts (F7)" otherwise.
fn conflicts_chip(ui: &mut Ui, bar: &TopBar<'_>, actions: &mut Vec<Action>) {
    let selected = bar.tab == Tab::Conflicts;
    let chip = match bar.conflicts {
        0 => egui::Button::selectable(selected, "Conflicts (F7)"),
        n => {
            let words = if n == 1 {
                "1 conflict (F7)".to_owned()
            } else {
                format!("{n} conflicts (F7)")
            };
            let text = RichText::new(words).color(Color32::BLACK).strong();
            let edge = if selected {
                Color32::BLACK
            } else {
                widgets::URGENT_AMBER
            };
            egui::Button::new(text)
                .fill(widgets::URGENT_AMBER)
                .stroke(egui::Stroke::new(2.0, edge))
        }
    };
    let r = ui
        .add(chip)
        .on_hover_text("Clashes between PCs' records, to settle");
    if r.clicked() && !selected {
        actions.push(Action::ShowTab(Tab::Conflicts));
    }
}
