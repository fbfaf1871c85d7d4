//! Drawing one frame of the shell: the gate before the database is open, the locked screen,
//! the top bar and the current tab's screen, and the sign-in box over everything.

use chrono::{DateTime, Local, Utc};
use egui::Ui;

use super::super::action::{Action, Tab};
use super::super::form::FormData;
use super::super::gate::gate_ui;
use super::super::{damaged, detail, first_run, form, queue, reception, settings, sign_in};
use super::{StopgapApp, access, chrome, lab};

impl StopgapApp {
    pub(super) fn draw(&mut self, ui: &mut Ui, now: DateTime<Utc>, actions: &mut Vec<Action>) {
        if let Some(gate) = &mut self.gate {
            egui::CentralPanel::default().show(ui, |ui| {
                gate_ui(ui, gate, &self.db_path, actions);
            });
            return;
        }
        if !self.may_show(self.tab) {
            self.tab = Tab::Form;
        }
        let ready = match &mut self.ready {
            Err(error) => {
                egui::CentralPanel::default().show(ui, |ui| {
                    damaged::problem_ui(ui, error, &self.db_path, self.backups.status.last());
                });
                return;
            }
            Ok(ready) => ready,
        };
        let Some(setup) = &ready.setup else {
            egui::CentralPanel::default().show(ui, |ui| {
                first_run::first_run_ui(ui, &mut self.screens.first_run, &self.db_path, actions);
            });
            return;
        };
        let local_now = now.with_timezone(&Local);
        egui::Panel::top("top_bar")
            .frame(
                egui::Frame::new()
                    .fill(egui::Color32::WHITE)
                    .inner_margin(egui::Margin::symmetric(14, 8)),
            )
            .show(ui, |ui| {
                chrome::top_bar_ui(
                    ui,
                    &chrome::TopBar {
                        setup,
                        open_counts: ready.open_counts,
                        training: ready.training,
                        read_only: ready.store.read_only(),
                        checking: self.integrity.is_running(),
                        damaged: &self.damaged,
                        tab: self.tab,
                        local_now,
                        user: self.user.as_ref(),
                        backup: &self.backups.status,
                        conflicts: ready.conflicts.open_count(),
                    },
                    actions,
                );
                chrome::banners_ui(ui, self.notice.as_ref(), &ready.recovered, actions);
            });
        if self.user.is_none() {
            // Locked: nothing of any patient is drawn; the draft stays in memory.
            egui::CentralPanel::default().show(ui, access::locked_ui);
            sign_in::sign_in_ui(ui, &mut self.sign_in, actions);
            return;
        }
        let screens = &mut self.screens;
        match self.tab {
            Tab::Form => {
                egui::CentralPanel::default().show(ui, |ui| {
                    form::form_ui(
                        ui,
                        &mut screens.form,
                        &FormData {
                            catalogue: &ready.catalogue,
                            wards: &setup.wards,
                            user: self.user.as_ref().map(|u| u.name.as_str()),
                            now,
                        },
                        actions,
                    );
                });
            }
            Tab::Queue => {
                if let Some(detail) = &ready.detail {
                    egui::Panel::right("detail")
                        .default_size(470.0)
                        .size_range(380.0..=620.0)
                        .frame(
                            egui::Frame::new()
                                .fill(egui::Color32::WHITE)
                                .inner_margin(egui::Margin::same(14)),
                        )
                        .show(ui, |ui| {
                            detail::detail_ui(ui, &mut screens.detail, detail, local_now, actions);
                        });
                }
                egui::CentralPanel::default().show(ui, |ui| {
                    queue::queue_ui(
                        ui,
                        &mut screens.queue,
                        &ready.queue,
                        &queue::QueueData {
                            wards: &ready.wards_in_use,
                            thresholds: &ready.thresholds,
                            now,
                            detail_open: ready.detail.is_some(),
                        },
                        actions,
                    );
                });
            }
            Tab::Lab => {
                egui::CentralPanel::default().show(ui, |ui| {
                    lab::lab_ui(ui, &mut self.lab, &ready.lab, actions);
                });
            }
            Tab::Reception => {
                egui::CentralPanel::default().show(ui, |ui| {
                    reception::reception_ui(ui, &mut screens.reception, local_now, actions);
                });
            }
            Tab::Dashboard => {
                let data = crate::ui::dashboard::DashboardData {
                    wards: &setup.wards,
                    wards_in_use: &ready.wards_in_use,
                    db_path: &self.db_path,
                    changes: ready.store.changes_made(),
                    now,
                };
                egui::CentralPanel::default().show(ui, |ui| {
                    crate::ui::dashboard::dashboard_ui(ui, &mut screens.dashboard, &data, actions);
                });
            }
            Tab::Conflicts => {
                let state = (&mut screens.conflicts, &ready.conflicts);
                crate::ui::conflicts::conflicts_tab(ui, state, local_now, actions);
            }
            Tab::Handover => {
                egui::CentralPanel::default().show(ui, |ui| {
                    crate::ui::handover::handover_ui(ui, &mut screens.handover, local_now, actions);
                });
            }
            Tab::Phoned => crate::ui::phoned::phoned_tab(
                ui,
                (&mut screens.phoned, &mut screens.detail),
                (&ready.wards_in_use, ready.detail.as_ref()),
                local_now,
                actions,
            ),
            Tab::Settings => {
                egui::CentralPanel::default().show(ui, |ui| {
                    settings::settings_ui(
                        ui,
                        &mut screens.settings,
                        &ready.catalogue,
                        setup,
                        &self.db_path,
                        actions,
                    );
                });
            }
        }
        sign_in::sign_in_ui(ui, &mut self.sign_in, actions);
    }
}
