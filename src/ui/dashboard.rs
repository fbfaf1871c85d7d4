//! The turnaround dashboard (F5): the overdue emergencies and urgents at the top (each opens its
//! request), open requests by status and priority, median and 90th-percentile collection-to-receipt
//! and receipt-to-phoned times per priority, and the backlog, per hour as charts; for all wards or
//! one (a ward PC picks its own, kept for the session).
//!
//! The figures are never computed in a frame: a thread of its own reads them on its own
//! connection ([`Store::open_beside`]) when the tab opens, every [`REFRESH_EVERY`] while it is
//! shown, and after a change this PC made (a save, a receipt); the frame draws the latest answer
//! with the time it was computed, and says when a newer one is on its way. At a million requests
//! the read takes seconds; the window goes on meanwhile.

mod charts;
mod tables;

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, TryRecvError};

use chrono::{DateTime, Duration, Local, Utc};
use egui::{RichText, Ui};

pub use charts::{BACKLOG_CHART, PHONED_CHART, RECEIPT_CHART};

use super::action::Action;
use super::widgets;
use crate::domain::turnaround::{Figures, figures};
use crate::domain::ward::Ward;
use crate::error::error_chain;
use crate::store::{Store, StoreError};

/// How often the figures are read again while the dashboard is shown.
pub const REFRESH_EVERY: Duration = Duration::seconds(30);
/// The ward picker's accessible name.
pub const WARD_LABEL: &str = "Figures for";
/// The ward picker's choice of every ward.
pub const ALL_WARDS: &str = "All wards";

/// The figures of one ward (or all) as read at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct Computed {
    /// `None`: every ward.
    pub ward: Option<String>,
    /// Requests the figures are of.
    pub requests: usize,
    pub figures: Figures,
}

/// A computation under way on its own thread.
struct Job {
    ward: Option<String>,
    answer: Receiver<Result<Computed, StoreError>>,
}

/// The dashboard's view state, and its background computation.
#[derive(Default)]
pub struct DashboardState {
    /// The ward whose figures are shown (`None`: all wards); kept for the session.
    pub ward: Option<String>,
    latest: Option<Computed>,
    job: Option<Job>,
    /// When the last computation was started (the figures' clock).
    started: Option<DateTime<Utc>>,
    /// The app's change count the last computation started after.
    changes_seen: Option<u64>,
    /// The frame the dashboard was last drawn in: a gap means the tab has just been opened.
    last_frame: Option<u64>,
    /// Why the last computation failed (for which ward), until one succeeds.
    error: Option<(Option<String>, String)>,
}

/// What the dashboard is drawn with.
pub struct DashboardData<'a> {
    /// The wards of the workstation's set-up: the picker's choices.
    pub wards: &'a [Ward],
    /// Wards the requests name: those not set up here (a lab PC takes in every ward's
    /// requests) are offered after the set-up's.
    pub wards_in_use: &'a [String],
    /// The database, for the computation's own connection.
    pub db_path: &'a Path,
    /// The app's count of changes it has written ([`Store::changes_made`]).
    pub changes: u64,
    pub now: DateTime<Utc>,
}

impl DashboardState {
    /// The latest figures, if any have been computed.
    pub fn latest(&self) -> Option<&Computed> {
        self.latest.as_ref()
    }

    /// Whether a computation is running.
    pub fn computing(&self) -> bool {
        self.job.is_some()
    }

    /// Why the last computation failed, if it did.
    pub fn error(&self) -> Option<&str> {
        self.error.as_ref().map(|(_, e)| e.as_str())
    }

    /// Called by [`dashboard_ui`] in each frame the dashboard is shown, before it is drawn:
    /// takes a finished computation's answer, and starts the next one when the tab has just
    /// opened, the ward was changed, the last is [`REFRESH_EVERY`] old, or this PC changed
    /// something (`changes`, the app's count of them). One at a time: two would only compete for
    /// the same disk and cores. Returns how soon the frame should be drawn again.
    fn tick(
        &mut self,
        db_path: &Path,
        changes: u64,
        frame: u64,
        now: DateTime<Utc>,
    ) -> std::time::Duration {
        let opened = self.last_frame.is_none_or(|f| f + 1 < frame);
        self.last_frame = Some(frame);
        self.poll();
        let due = self
            .started
            .is_none_or(|at| now - at >= REFRESH_EVERY || now < at);
        let stale = self.latest.as_ref().is_none_or(|c| c.ward != self.ward)
            || self.changes_seen != Some(changes);
        // After a failure, only the clock (or the user's Refresh, or another ward) tries again:
        // never every frame.
        let retry = self.error.as_ref().is_none_or(|(w, _)| *w != self.ward) || due;
        if self.job.is_none() && (opened || due || (stale && retry)) {
            self.start(db_path.to_owned(), changes, now);
        }
        if self.job.is_some() {
            return std::time::Duration::from_millis(200);
        }
        let next = self
            .started
            .map_or(REFRESH_EVERY, |at| REFRESH_EVERY - (now - at));
        next.to_std().unwrap_or(std::time::Duration::from_secs(1))
    }

    /// Forgets when the figures were read, so the next frame it is shown reads them again (after
    /// a Refresh, or an import by the handover thread, which this PC's change count misses).
    pub fn refresh(&mut self) {
        self.started = None;
    }

    fn start(&mut self, db_path: PathBuf, changes: u64, now: DateTime<Utc>) {
        let (tx, rx) = mpsc::channel();
        let ward = self.ward.clone();
        let for_thread = ward.clone();
        let spawned = std::thread::Builder::new()
            .name("dashboard".into())
            .spawn(move || {
                // The dashboard may have been closed first; nobody is left to tell.
                let _ = tx.send(compute(&db_path, for_thread, now));
            });
        self.started = Some(now);
        self.changes_seen = Some(changes);
        match spawned {
            Ok(_) => self.job = Some(Job { ward, answer: rx }),
            Err(e) => {
                self.error = Some((
                    self.ward.clone(),
                    format!("The figures could not be computed: {e}"),
                ));
            }
        }
    }

    /// Takes a finished computation's answer: figures for another ward than the one now chosen
    /// are dropped (the next computation is for the chosen one).
    fn poll(&mut self) {
        let Some(job) = &self.job else {
            return;
        };
        let answer = match job.answer.try_recv() {
            Err(TryRecvError::Empty) => return,
            Ok(answer) => answer,
            Err(TryRecvError::Disconnected) => Err(StoreError::Corrupt(
                "the figures' computation stopped without an answer".into(),
            )),
        };
        let ward = job.ward.clone();
        self.job = None;
        match answer {
            Ok(computed) => {
                self.error = None;
                if computed.ward == self.ward {
                    self.latest = Some(computed);
                }
            }
            Err(e) => {
                self.error = Some((
                    ward,
                    format!("The figures could not be read: {}", error_chain(&e)),
                ));
            }
        }
    }
}

/// The figures of `ward` (or every ward) at `now`, read on a connection of this thread's own.
fn compute(
    db_path: &Path,
    ward: Option<String>,
    now: DateTime<Utc>,
) -> Result<Computed, StoreError> {
    let store = Store::open_beside(db_path)?;
    let thresholds = store.overdue_thresholds()?;
    let timelines = store.timelines(ward.as_deref())?;
    Ok(Computed {
        figures: figures(&timelines, now, &thresholds),
        requests: timelines.len(),
        ward,
    })
}

/// Draws the dashboard from the latest figures, after starting a newer computation if one is due.
pub fn dashboard_ui(
    ui: &mut Ui,
    state: &mut DashboardState,
    data: &DashboardData<'_>,
    actions: &mut Vec<Action>,
) {
    let frame = ui.ctx().cumulative_frame_nr();
    let again = state.tick(data.db_path, data.changes, frame, data.now);
    ui.ctx().request_repaint_after(again);
    let now = data.now.with_timezone(&Local);
    header_ui(ui, state, data, now);
    ui.add_space(6.0);
    if let Some((_, e)) = state.error.as_ref().filter(|(w, _)| *w == state.ward) {
        widgets::error_text(ui, e);
    }
    let Some(shown) = state.latest.as_ref().filter(|c| c.ward == state.ward) else {
        if state.computing() {
            ui.add_space(20.0);
            ui.label(RichText::new("Computing the figures…").size(18.0));
        }
        return;
    };
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show(ui, |ui| {
            tables::overdue_ui(ui, &shown.figures, now, actions);
            ui.add_space(4.0);
            tables::summary_ui(ui, &shown.figures);
            ui.add_space(4.0);
            charts::charts_ui(ui, &shown.figures);
        });
}

/// The title, the ward picker, when the figures are from, and Refresh.
fn header_ui(
    ui: &mut Ui,
    state: &mut DashboardState,
    data: &DashboardData<'_>,
    now: DateTime<Local>,
) {
    ui.horizontal_wrapped(|ui| {
        ui.heading(RichText::new("Turnaround dashboard").strong());
        ui.add_space(16.0);
        let label = ui.label(RichText::new(WARD_LABEL).strong());
        egui::ComboBox::from_id_salt("dashboard_ward")
            .selected_text(state.ward.as_deref().unwrap_or(ALL_WARDS))
            .width(220.0)
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut state.ward, None, ALL_WARDS);
                let set_up = data.wards.iter().map(Ward::name);
                let others = data
                    .wards_in_use
                    .iter()
                    .map(String::as_str)
                    .filter(|w| !data.wards.iter().any(|s| s.name() == *w));
                for w in set_up.chain(others) {
                    ui.selectable_value(&mut state.ward, Some(w.to_owned()), w);
                }
            })
            .response
            .labelled_by(label.id);
        ui.add_space(16.0);
        if let Some(c) = state.latest.as_ref().filter(|c| c.ward == state.ward) {
            let at = c.figures.at.with_timezone(&Local);
            ui.label(
                RichText::new(format!(
                    "As of {} · {} request{}",
                    at.format("%H:%M:%S"),
                    c.requests,
                    if c.requests == 1 { "" } else { "s" }
                ))
                .strong(),
            )
            .on_hover_text(format!(
                "Computed at {}; read again every {} seconds while this tab is shown, and \
                 after every save or receipt here",
                at.format("%d/%m/%Y %H:%M:%S"),
                REFRESH_EVERY.num_seconds()
            ));
            if now.date_naive() != at.date_naive() {
                ui.label(RichText::new(at.format("(%d/%m/%Y)").to_string()).color(widgets::MUTED));
            }
        }
        if state.computing() {
            ui.label(RichText::new("computing…").italics().color(widgets::MUTED));
        }
        if ui
            .button("Refresh")
            .on_hover_text("Compute the figures again now")
            .clicked()
        {
            state.refresh();
        }
    });
}
