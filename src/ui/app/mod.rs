//! The app shell: owns the store and every screen's state, draws the chrome and the current
//! screen, and runs the actions the screens emit after the frame (`dispatch`). Screens never hold
//! the store; nothing queries the database because a frame was drawn (rows are cached and
//! refreshed after actions).
//!
//! - `mod.rs` (here): state, start-up, the frame.
//! - `dispatch.rs`: runs one [`Action`] against the store.
//! - `lab.rs`: the lab tab's orchestration (background export, reconcile, close-out).
//! - `chrome.rs`: the top bar, tabs and banners.
//! - `draft.rs`: keeping the typed form as a draft.
//! - `backup.rs`: backups every N minutes and on exit, on their own thread.
//! - `handover.rs`: visits to the handover folder, by hand or watched, on their own thread.

mod access;
mod backup;
mod chrome;
mod dispatch;
mod draft;
mod draw;
mod handover;
mod integrity;
mod lab;

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use egui::{Key, Modifiers, Ui};

use super::action::{Action, Tab};
use super::conflicts::ConflictsState;
use super::detail::DetailState;
use super::first_run::FirstRunState;
use super::form::FormState;
use super::handover::HandoverState;
use super::queue::{QueueCache, QueueState};
use super::reception::ReceptionState;
use super::settings::SettingsState;
use super::sign_in::{SignInState, SignedIn};
use super::widgets;
use crate::domain::catalogue::Catalogue;
use crate::domain::downtime_id::DowntimeId;
use crate::domain::overdue::OverdueThresholds;
use crate::store::{QueueRow, RequestDetail, Setup, Store, StoreError};

use backup::{BackupStatus, Backups};
use draft::DraftKeeper;
use integrity::IntegrityCheck;
use lab::{LabCache, LabState};

/// A message shown under the top bar until dismissed.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub text: String,
    pub is_error: bool,
}

impl Notice {
    pub fn error(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            is_error: true,
        }
    }

    pub fn info(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            is_error: false,
        }
    }
}

/// What the open store holds, cached for drawing.
struct Ready {
    store: Store,
    setup: Option<Setup>,
    catalogue: Catalogue,
    thresholds: OverdueThresholds,
    open_counts: (u64, u64),
    training: bool,
    session: Option<i64>,
    /// Requests saved in a session that did not end cleanly.
    recovered: Vec<QueueRow>,
    wards_in_use: Vec<String>,
    queue: QueueCache,
    detail: Option<RequestDetail>,
    lab: LabCache,
    conflicts: super::conflicts::ConflictsCache,
}

/// The screens' own states.
#[derive(Default)]
struct Screens {
    first_run: FirstRunState,
    form: FormState,
    queue: QueueState,
    detail: DetailState,
    settings: SettingsState,
    reception: ReceptionState,
    dashboard: super::dashboard::DashboardState,
    phoned: super::phoned::PhonedLogState,
    handover: HandoverState,
    conflicts: super::conflicts::ConflictsState,
}

/// The whole app.
pub struct StopgapApp {
    ready: Result<Ready, StoreError>,
    db_path: PathBuf,
    tab: Tab,
    /// Whoever signed in at the keyboard; every event is recorded under this name.
    user: Option<SignedIn>,
    sign_in: SignInState,
    notice: Option<Notice>,
    screens: Screens,
    lab: LabState,
    draft: DraftKeeper,
    /// The whole-file check started as the window opened.
    integrity: IntegrityCheck,
    /// Requests the check found damaged, named in a banner until the app restarts.
    damaged: Vec<DowntimeId>,
    /// The backup thread and what the top bar says of the last backup.
    backups: Backups,
    /// The handover thread (send to the lab, receive from the wards).
    exchanger: handover::Exchanger,
    themed: bool,
    /// The screen before the database is open (sign in, first manager, recovery code).
    gate: Option<super::gate::Gate>,
    /// The database just made, held while its recovery code is shown.
    gate_store: Option<Store>,
}

/// The one place the UI reads the clock.
#[expect(
    clippy::disallowed_methods,
    reason = "the UI shell is where the clock is read"
)]
fn clock() -> DateTime<Utc> {
    Utc::now()
}

impl StopgapApp {
    /// Opens the database at `path`, making it on the first run; a failure is shown as the
    /// problem screen, never a panic. The whole-file check runs meanwhile on its own thread
    /// (see [`integrity`]), so the window and queue appear at once at any file size.
    pub fn from_path(path: &Path) -> Self {
        match access::gate_for(path) {
            Ok(None) => {}
            Ok(Some(gate)) => {
                let mut app = Self::new(Err(StoreError::Locked {
                    path: path.to_owned(),
                }));
                app.db_path = path.to_owned();
                app.gate = Some(gate);
                return app;
            }
            Err(e) => {
                let mut app = Self::new(Err(e));
                app.db_path = path.to_owned();
                return app;
            }
        }
        Self::opened(path, Store::open_or_create_checking_later(path))
    }

    /// The app over the store opened at `path`, with its threads started.
    fn opened(path: &Path, store: Result<Store, StoreError>) -> Self {
        let opened = store.is_ok();
        let mut app = Self::new(store);
        app.db_path = path.to_owned();
        if opened {
            app.integrity = IntegrityCheck::start(path);
            if let Some(settings) = app.store().and_then(|s| s.backup_settings().ok()) {
                let status = std::mem::take(&mut app.backups.status);
                app.backups = Backups::start(path, settings, status);
            }
            app.start_exchanger();
        }
        app
    }

    /// Takes the integrity check's answer: damage found replaces every screen with the
    /// damaged-file screen; a check that could not run is said once, as a notice.
    fn poll_integrity(&mut self, ui: &Ui) {
        match self.integrity.poll() {
            None if self.integrity.is_running() => {
                ui.ctx()
                    .request_repaint_after(std::time::Duration::from_millis(200));
            }
            None => {}
            Some(Ok(report)) => {
                self.damaged = report.damaged;
                // Only on a sound file: recovery writes batch records.
                if let Ok(ready) = &mut self.ready {
                    lab::recover_at_start(&mut ready.store, &mut self.lab, clock());
                }
            }
            Some(Err(e @ StoreError::Damaged { .. })) => self.ready = Err(e),
            Some(Err(e)) => {
                self.notice = Some(Notice::error(format!(
                    "The check of the database file could not run: {}",
                    crate::error::error_chain(&e)
                )));
            }
        }
    }

    /// The app over an opened store, or over the error that stopped it opening.
    pub fn new(store: Result<Store, StoreError>) -> Self {
        let now = clock();
        let db_path = store
            .as_ref()
            .map(|s| s.path().to_owned())
            .unwrap_or_default();
        let mut app = Self {
            ready: Err(StoreError::NotSetUp),
            db_path,
            tab: Tab::Form,
            user: None,
            sign_in: SignInState::default(),
            notice: None,
            screens: Screens {
                form: FormState::fresh(now),
                ..Screens::default()
            },
            lab: LabState::default(),
            draft: DraftKeeper::default(),
            integrity: IntegrityCheck::default(),
            damaged: Vec::new(),
            backups: Backups::default(),
            exchanger: handover::Exchanger::default(),
            themed: false,
            gate: None,
            gate_store: None,
        };
        app.ready = store.and_then(|store| app.load(store, now));
        if let Ok(ready) = &app.ready {
            app.backups.status = BackupStatus::of(&ready.store);
        }
        app
    }

    fn load(&mut self, store: Store, now: DateTime<Utc>) -> Result<Ready, StoreError> {
        let setup = store.setup()?;
        let catalogue = store.catalogue()?;
        let thresholds = store.overdue_thresholds()?;
        let mut ready = Ready {
            store,
            setup,
            catalogue,
            thresholds,
            open_counts: (0, 0),
            training: false,
            session: None,
            recovered: Vec::new(),
            wards_in_use: Vec::new(),
            queue: QueueCache::default(),
            detail: None,
            lab: LabCache::default(),
            conflicts: super::conflicts::ConflictsCache::default(),
        };
        if let Some((draft, saved_at)) = ready.store.load_draft_at()? {
            self.screens.form = FormState::restored(draft, saved_at);
        }
        if ready.setup.is_some() {
            self.begin(&mut ready, now)?;
        }
        Ok(ready)
    }

    /// Starts the session once the workstation is set up, and fills the caches.
    fn begin(&mut self, ready: &mut Ready, now: DateTime<Utc>) -> Result<(), StoreError> {
        // A database that can only be read keeps no session (viewing changes nothing).
        if ready.store.read_only().is_none() {
            let (session, recovered) = ready.store.begin_session(now)?;
            ready.session = Some(session);
            ready.recovered = recovered;
        }
        if let Some(setup) = &ready.setup {
            self.screens.settings.load(setup, &ready.thresholds);
            // A stored value that cannot be read shows as the defaults here; the top bar says
            // what is wrong (see `BackupStatus::of`).
            let backup = ready.store.backup_settings().unwrap_or_default();
            self.screens.settings.load_backup(&backup);
            let handover = ready.store.handover_settings().unwrap_or_default();
            self.screens.handover.load(&handover);
        }
        let form = &mut self.screens.form;
        if form.draft.ward.is_empty() {
            form.draft.ward = ready.store.last_ward()?.unwrap_or_default();
        }
        dispatch::refresh(ready, &mut self.screens.queue, now)?;
        form.focus = Some(form.first_focus());
        // Nothing is shown or recorded until someone signs in (the gate signs its user in after).
        if self.user.is_none() {
            ready.store.sign_out();
            self.sign_in.open_locked(None);
        }
        Ok(())
    }

    /// The store, once open (for tests and the shell).
    pub fn store(&self) -> Option<&Store> {
        self.ready.as_ref().ok().map(|r| &r.store)
    }

    /// Draws the whole window. Used by `eframe::App::ui` and by the UI tests.
    pub fn show(&mut self, ui: &mut Ui) {
        self.show_at(ui, clock());
    }

    /// Draws the window as at `now` (tests move the clock on).
    pub fn show_at(&mut self, ui: &mut Ui, now: DateTime<Utc>) {
        if !self.themed {
            widgets::apply_theme(ui.ctx());
            super::fonts::install(ui.ctx());
            self.themed = true;
        }
        let mut actions = Vec::new();
        // Any key press or click counts as the signed-in user being at the keyboard.
        if ui.input(|i| !i.events.is_empty())
            && let Some(user) = &mut self.user
        {
            user.last_active = now;
        }
        self.expire_sign_in(now);
        self.poll_integrity(ui);
        self.poll_export(ui, now);
        if let Ok(ready) = &mut self.ready {
            ready.conflicts.tick(ui.ctx(), &self.db_path);
        }
        if self.backups.poll() {
            ui.ctx().request_repaint();
        } else if self.backups.awaiting.get() {
            ui.ctx()
                .request_repaint_after(std::time::Duration::from_millis(300));
        }
        if self.poll_exchanger(now) {
            ui.ctx().request_repaint();
        } else if self.screens.handover.busy {
            ui.ctx()
                .request_repaint_after(std::time::Duration::from_millis(300));
        }
        self.keyboard(ui, &mut actions);
        self.draw(ui, now, &mut actions);
        if !actions.is_empty() {
            // Show the outcome at once (a loaded page, a saved request).
            ui.ctx().request_repaint();
        }
        widgets::paint_focus_ring(ui.ctx());
        for action in actions {
            self.apply(action, now);
        }
        if self.lab_tick(now) {
            ui.ctx().request_repaint();
        }
        self.autosave_draft(now, false);
        if self.draft.is_dirty() || self.lab.is_pending() {
            ui.ctx()
                .request_repaint_after(std::time::Duration::from_millis(300));
        }
        // Ages in the queue, the collection time and the clock move on with nobody touching the app.
        ui.ctx()
            .request_repaint_after(std::time::Duration::from_secs(15));
    }

    /// Shortcuts, taken before any widget sees the keys (so Ctrl+Enter never adds a new line).
    fn keyboard(&mut self, ui: &mut Ui, actions: &mut Vec<Action>) {
        if !matches!(&self.ready, Ok(r) if r.setup.is_some()) || self.sign_in.is_open() {
            return;
        }
        ui.input_mut(|i| {
            if i.consume_key(Modifiers::NONE, Key::F2) {
                actions.push(Action::ShowTab(Tab::Form));
            }
            if i.consume_key(Modifiers::NONE, Key::F3) {
                actions.push(Action::ShowTab(Tab::Queue));
            }
            if i.consume_key(Modifiers::NONE, Key::F4) {
                actions.push(Action::ShowTab(Tab::Reception));
            }
            if i.consume_key(Modifiers::NONE, Key::F5) {
                actions.push(Action::ShowTab(Tab::Dashboard));
            }
            if i.consume_key(Modifiers::NONE, Key::F6) {
                actions.push(Action::ShowTab(Tab::Handover));
            }
            if i.consume_key(Modifiers::NONE, Key::F7) {
                actions.push(Action::ShowTab(Tab::Conflicts));
            }
            if i.consume_key(Modifiers::NONE, Key::F9) {
                actions.push(Action::ShowTab(Tab::Phoned));
            }
            if i.consume_key(Modifiers::COMMAND, Key::U) {
                actions.push(Action::ChangeUser);
            }
            if self.tab == Tab::Form && i.consume_key(Modifiers::COMMAND, Key::Enter) {
                actions.push(Action::SaveRequest);
            }
        });
    }

    /// For tests: whether an export is running in the background.
    pub fn exporting(&self) -> bool {
        self.lab.job.is_some()
    }

    /// For tests: the downtime ID on the confirmation panel, if one is showing.
    pub fn confirmed_id(&self) -> Option<&str> {
        self.screens
            .form
            .confirmation
            .as_ref()
            .filter(|c| !c.is_previous)
            .map(|c| c.downtime_id.as_str())
    }

    /// The database file the app is on.
    pub fn db_path(&self) -> &Path {
        &self.db_path
    }

    /// For tests: who is signed in.
    pub fn signed_in_user(&self) -> Option<&str> {
        self.user.as_ref().map(|u| u.name.as_str())
    }

    /// For tests: what stopped the last save, in words.
    pub fn form_problems(&self) -> Vec<String> {
        let form = &self.screens.form;
        form.errors
            .iter()
            .map(ToString::to_string)
            .chain(form.identity_prompt.iter().flat_map(|p| p.messages.clone()))
            .chain(self.notice.iter().map(|n| n.text.clone()))
            .collect()
    }

    /// For tests: what the top bar says of backups.
    pub fn backup_status_text(&self) -> Option<String> {
        chrome::backup_text(&self.backups.status).map(|(text, _)| text)
    }

    /// For tests: the reception screen (the request on screen, the session's lines and tally).
    pub fn reception(&self) -> &ReceptionState {
        &self.screens.reception
    }

    /// For tests: the dashboard (the figures shown, whether newer ones are being computed).
    pub fn dashboard(&self) -> &super::dashboard::DashboardState {
        &self.screens.dashboard
    }

    /// For tests: the handover tab (its fields, the visits reported, refused files).
    pub fn handover(&self) -> &HandoverState {
        &self.screens.handover
    }

    /// For tests: the conflicts as last read (once the store is open) and the tab's state.
    pub fn conflicts(&self) -> Option<(&super::conflicts::ConflictsCache, &ConflictsState)> {
        (self.ready.as_ref().ok()).map(|r| (&r.conflicts, &self.screens.conflicts))
    }

    /// For tests: the form as typed.
    pub fn form_draft(&self) -> &crate::domain::request::RequestDraft {
        &self.screens.form.draft
    }
}

impl eframe::App for StopgapApp {
    fn ui(&mut self, ui: &mut Ui, _frame: &mut eframe::Frame) {
        self.show(ui);
    }

    fn on_exit(&mut self, _gl: Option<&eframe::glow::Context>) {
        self.shutdown();
        self.exchanger.shutdown();
        self.backups.shutdown();
    }
}
