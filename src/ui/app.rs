//! The app shell: owns the store and every view state, draws the screens, and runs the actions
//! they emit in one place ([`StopgapApp::apply`]). Screens never hold the store; nothing queries
//! the database because a frame was drawn (rows are cached and refreshed after actions).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use chrono::{DateTime, Duration, Local, Utc};
use egui::{Key, Modifiers, RichText, Ui};
use uuid::Uuid;

use super::detail::DetailState;
use super::export::{ExportCache, ExportDone, ExportState};
use super::first_run::FirstRunState;
use super::form::{Confirmation, FormData, FormState};
use super::queue::{QueueCache, QueueState};
use super::reconcile::{CloseOutState, ReconcileState};
use super::settings::SettingsState;
use super::{damaged, detail, export, first_run, form, queue, reconcile, settings, widgets};
use crate::backlog::{BacklogError, ExportJob, Exported};
use crate::domain::catalogue::{Catalogue, RequestedTest};
use crate::domain::nhs_number::NhsNumber;
use crate::domain::request::{Field, Patient, RequestDraft};
use crate::domain::status::Transition;
use crate::domain::warnings::warnings_for;
use crate::export::Format;
use crate::files::{Overwrite, WriteError};
use crate::report::ReportFormat;
use crate::store::{
    CloseOut, QueueRow, ReconcileError, Reconciled, RequestDetail, Setup, Store, StoreError,
    read_reconcile_csv,
};

/// Rows fetched from the store at a time for the queue.
pub const PAGE_SIZE: u64 = 100;
/// Pages kept in memory; the farthest from the last one asked for is dropped first.
const MAX_PAGES: usize = 8;
/// The draft is written at most this often while it is being typed.
const DRAFT_SAVE_INTERVAL_MS: i64 = 1000;

/// The app's tabs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Form,
    Queue,
    /// After recovery: export, reconcile, close-out.
    Lab,
    Settings,
}

/// The screens of the lab tab.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LabView {
    #[default]
    Export,
    Reconcile,
    CloseOut,
}

/// Everything a screen can ask for. Run after the frame by [`StopgapApp::apply`].
#[must_use]
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Save the workstation's set-up (first run, or wards edited in settings).
    Configure(Setup),
    ShowTab(Tab),
    /// The form changed: re-check it, look the patient up, and mark the draft for saving.
    DraftChanged,
    /// Validate the form and save it as a request.
    SaveRequest,
    FillPatient(Box<Patient>),
    ClearForm,
    DismissConfirmation,
    /// Filter or sort changed: forget cached rows.
    QueueChanged,
    /// The queue needs rows starting at this offset (a multiple of [`PAGE_SIZE`]).
    LoadPage(u64),
    SelectRequest(Uuid),
    CloseDetail,
    ChangeStatus(Uuid, Transition),
    ExportCatalogue(PathBuf),
    ImportCatalogue(PathBuf),
    DismissNotice,
    DismissRecovered,
    ShowLab(LabView),
    /// The export choices changed: count and preview again.
    ExportChanged,
    /// Export with the chosen settings, in the background.
    StartExport,
    /// Show this file (or folder) in the file manager.
    OpenFolder(PathBuf),
    /// Record the typed downtime ID's LIMS accession.
    ReconcileOne,
    /// Reconcile from the typed file.
    ReconcileFile,
    /// Re-read the export count, batches and close-out.
    RefreshLab,
    /// Save the close-out report into the output folder.
    SaveCloseOut(ReportFormat),
}

/// A message shown under the top bar until dismissed.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub text: String,
    pub is_error: bool,
}

/// What the open store holds, cached for drawing.
struct Ready {
    store: Store,
    setup: Option<Setup>,
    catalogue: Catalogue,
    open_counts: (u64, u64),
    training: bool,
    session: Option<i64>,
    /// Requests saved in a session that did not end cleanly.
    recovered: Vec<QueueRow>,
    wards_in_use: Vec<String>,
    queue: QueueCache,
    detail: Option<RequestDetail>,
    export: ExportCache,
    close_out: Option<Result<CloseOut, String>>,
}

/// The whole app.
pub struct StopgapApp {
    ready: Result<Ready, StoreError>,
    db_path: PathBuf,
    tab: Tab,
    /// Name or staff ID of whoever is at the keyboard.
    user: String,
    user_missing: bool,
    notice: Option<Notice>,
    first_run: FirstRunState,
    form: FormState,
    queue: QueueState,
    detail: DetailState,
    settings: SettingsState,
    lab_view: LabView,
    export: ExportState,
    reconcile: ReconcileState,
    close_out: CloseOutState,
    /// The export running in the background, if any: its result arrives here.
    export_job: Option<mpsc::Receiver<Result<Exported, BacklogError>>>,
    draft_dirty: bool,
    draft_saved_at: Option<DateTime<Utc>>,
    themed: bool,
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
    /// Opens the database at `path`; a failure is shown as the problem screen, never a panic.
    pub fn from_path(path: &Path) -> Self {
        let mut app = Self::new(Store::open(path));
        app.db_path = path.to_owned();
        app
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
            user: String::new(),
            user_missing: false,
            notice: None,
            first_run: FirstRunState::default(),
            form: FormState::new(RequestDraft::new(now, &Local)),
            queue: QueueState::default(),
            detail: DetailState::default(),
            settings: SettingsState::default(),
            lab_view: LabView::default(),
            export: ExportState::default(),
            reconcile: ReconcileState::default(),
            close_out: CloseOutState::default(),
            export_job: None,
            draft_dirty: false,
            draft_saved_at: None,
            themed: false,
        };
        app.ready = store.and_then(|store| app.load(store, now));
        app
    }

    fn load(&mut self, store: Store, now: DateTime<Utc>) -> Result<Ready, StoreError> {
        let setup = store.setup()?;
        let catalogue = store.catalogue()?;
        let mut ready = Ready {
            store,
            setup,
            catalogue,
            open_counts: (0, 0),
            training: false,
            session: None,
            recovered: Vec::new(),
            wards_in_use: Vec::new(),
            queue: QueueCache::default(),
            detail: None,
            export: ExportCache::default(),
            close_out: None,
        };
        if let Some(draft) = ready.store.load_draft()? {
            self.form = FormState::new(draft);
        }
        if ready.setup.is_some() {
            self.begin(&mut ready, now)?;
        }
        Ok(ready)
    }

    /// Starts the session once the workstation is set up, and fills the caches.
    fn begin(&mut self, ready: &mut Ready, now: DateTime<Utc>) -> Result<(), StoreError> {
        let (session, recovered) = ready.store.begin_session(now)?;
        ready.session = Some(session);
        ready.recovered = recovered;
        if let Some(setup) = &ready.setup {
            self.settings.wards_text = setup.wards.join("\n");
        }
        refresh(ready, &self.queue)?;
        self.form.focus = Some(Field::NhsNumber);
        Ok(())
    }

    /// The store, once open (for tests and the shell).
    pub fn store(&self) -> Option<&Store> {
        self.ready.as_ref().ok().map(|r| &r.store)
    }

    /// Draws the whole window. Used by `eframe::App::ui` and by the UI tests.
    pub fn show(&mut self, ui: &mut Ui) {
        if !self.themed {
            widgets::apply_theme(ui.ctx());
            self.themed = true;
        }
        let now = clock();
        let mut actions = Vec::new();
        self.poll_export(ui, now);
        self.keyboard(ui, &mut actions);
        self.draw(ui, now, &mut actions);
        if !actions.is_empty() {
            // Show the outcome at once (a loaded page, a saved request).
            ui.ctx().request_repaint();
        }
        for action in actions {
            self.apply(action, now);
        }
        self.autosave_draft(now, false);
        if self.draft_dirty {
            ui.ctx()
                .request_repaint_after(std::time::Duration::from_millis(1000));
        }
        // Ages in the queue and the top-bar clock move on even when nobody touches the app.
        ui.ctx()
            .request_repaint_after(std::time::Duration::from_secs(30));
    }

    /// Shortcuts, taken before any widget sees the keys (so Ctrl+Enter never adds a new line).
    fn keyboard(&mut self, ui: &mut Ui, actions: &mut Vec<Action>) {
        if !matches!(&self.ready, Ok(r) if r.setup.is_some()) {
            return;
        }
        ui.input_mut(|i| {
            if i.consume_key(Modifiers::NONE, Key::F2) {
                actions.push(Action::ShowTab(Tab::Form));
            }
            if i.consume_key(Modifiers::NONE, Key::F3) {
                actions.push(Action::ShowTab(Tab::Queue));
            }
            if self.tab == Tab::Form && i.consume_key(Modifiers::COMMAND, Key::Enter) {
                actions.push(Action::SaveRequest);
            }
        });
    }

    fn draw(&mut self, ui: &mut Ui, now: DateTime<Utc>, actions: &mut Vec<Action>) {
        let ready = match &mut self.ready {
            Err(error) => {
                egui::CentralPanel::default().show(ui, |ui| {
                    damaged::problem_ui(ui, error, &self.db_path);
                });
                return;
            }
            Ok(ready) => ready,
        };
        let Some(setup) = &ready.setup else {
            egui::CentralPanel::default().show(ui, |ui| {
                first_run::first_run_ui(ui, &mut self.first_run, &self.db_path, actions);
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
                top_bar_ui(
                    ui,
                    TopBar {
                        setup,
                        open_counts: ready.open_counts,
                        training: ready.training,
                        tab: self.tab,
                        local_now,
                    },
                    &mut self.user,
                    &mut self.user_missing,
                    actions,
                );
                banners_ui(ui, &self.notice, &ready.recovered, actions);
            });
        match self.tab {
            Tab::Form => {
                egui::CentralPanel::default().show(ui, |ui| {
                    form::form_ui(
                        ui,
                        &mut self.form,
                        &FormData {
                            catalogue: &ready.catalogue,
                            wards: &setup.wards,
                        },
                        actions,
                    );
                });
            }
            Tab::Queue => {
                if let Some(detail) = &ready.detail {
                    egui::Panel::right("detail")
                        .default_size(420.0)
                        .size_range(340.0..=560.0)
                        .frame(
                            egui::Frame::new()
                                .fill(egui::Color32::WHITE)
                                .inner_margin(egui::Margin::same(14)),
                        )
                        .show(ui, |ui| {
                            detail::detail_ui(ui, &mut self.detail, detail, local_now, actions);
                        });
                }
                egui::CentralPanel::default().show(ui, |ui| {
                    queue::queue_ui(
                        ui,
                        &mut self.queue,
                        &ready.queue,
                        &ready.wards_in_use,
                        local_now,
                        actions,
                    );
                });
            }
            Tab::Lab => {
                egui::CentralPanel::default().show(ui, |ui| {
                    ui.horizontal(|ui| {
                        for (view, text) in [
                            (LabView::Export, "Export backlog"),
                            (LabView::Reconcile, "Reconcile accessions"),
                            (LabView::CloseOut, "Close-out report"),
                        ] {
                            let selected = self.lab_view == view;
                            if ui.selectable_label(selected, text).clicked() && !selected {
                                actions.push(Action::ShowLab(view));
                            }
                        }
                    });
                    ui.separator();
                    egui::ScrollArea::vertical()
                        .id_salt("lab")
                        .auto_shrink([false, false])
                        .show(ui, |ui| match self.lab_view {
                            LabView::Export => {
                                export::export_ui(ui, &mut self.export, &ready.export, actions);
                            }
                            LabView::Reconcile => {
                                reconcile::reconcile_ui(ui, &mut self.reconcile, actions);
                            }
                            LabView::CloseOut => reconcile::close_out_ui(
                                ui,
                                &mut self.close_out,
                                ready.close_out.as_ref(),
                                &self.export.out_folder,
                                actions,
                            ),
                        });
                });
            }
            Tab::Settings => {
                egui::CentralPanel::default().show(ui, |ui| {
                    settings::settings_ui(
                        ui,
                        &mut self.settings,
                        &ready.catalogue,
                        setup,
                        &self.db_path,
                        actions,
                    );
                });
            }
        }
    }

    /// Runs one action against the store and refreshes what it changed. Errors become notices.
    pub fn apply(&mut self, action: Action, now: DateTime<Utc>) {
        if let Err(e) = self.try_apply(action, now) {
            self.notice = Some(Notice {
                text: e.to_string(),
                is_error: true,
            });
        }
    }

    fn try_apply(&mut self, action: Action, now: DateTime<Utc>) -> Result<(), StoreError> {
        match action {
            Action::ShowTab(tab) if tab != Tab::Lab => {
                self.tab = tab;
                if tab == Tab::Form {
                    self.form.focus = Some(Field::NhsNumber);
                }
                return Ok(());
            }
            Action::DismissNotice => {
                self.notice = None;
                return Ok(());
            }
            Action::DismissConfirmation => {
                self.form.confirmation = None;
                return Ok(());
            }
            _ => {}
        }
        let Ok(ready) = &mut self.ready else {
            return Ok(());
        };
        match action {
            Action::DismissNotice | Action::DismissConfirmation => {}
            Action::ShowTab(tab) => {
                self.tab = tab;
                refresh_lab(ready, &self.export, now);
            }
            Action::ShowLab(view) => {
                self.lab_view = view;
                if view == LabView::Reconcile {
                    self.reconcile.focus_id = true;
                }
                refresh_lab(ready, &self.export, now);
            }
            Action::ExportChanged | Action::RefreshLab => refresh_lab(ready, &self.export, now),
            Action::StartExport => {
                let user = self.user.trim().to_owned();
                self.user_missing = user.is_empty();
                if self.export_job.is_some() {
                    return Ok(());
                }
                match export_job(&self.export, user) {
                    Err(e) => self.export.result = Some(Err(e)),
                    Ok(job) => {
                        self.export_job = Some(spawn_export(ready.store.path(), job, now));
                        self.export.running = true;
                        self.export.result = None;
                    }
                }
            }
            Action::OpenFolder(path) => {
                if let Err(e) = crate::platform::open_in_file_manager(&path) {
                    self.notice = Some(Notice {
                        text: format!("Could not open the folder of {}: {e}", path.display()),
                        is_error: true,
                    });
                }
            }
            Action::ReconcileOne => {
                let user = self.user.trim().to_owned();
                if user.is_empty() {
                    self.user_missing = true;
                    self.reconcile.last = Some(Err(
                        "Type your name or staff ID in the User box at the top first.".into(),
                    ));
                    return Ok(());
                }
                let id = self.reconcile.downtime_id.trim().to_owned();
                let accession = self.reconcile.accession.trim().to_owned();
                let shown = |s: &crate::domain::event::RequestState| {
                    (
                        s.downtime_id.grouped(),
                        s.accession.clone().unwrap_or_else(|| accession.clone()),
                    )
                };
                self.reconcile.last = Some(
                    match ready.store.reconcile_one(&id, &accession, &user, now) {
                        Ok(Reconciled::Reentered(s)) => {
                            let (id, acc) = shown(&s);
                            let line = format!("{id} re-entered as {acc}");
                            self.reconcile.recorded.insert(0, line.clone());
                            Ok(line)
                        }
                        Ok(Reconciled::AlreadyDone(s)) => {
                            let (id, acc) = shown(&s);
                            Ok(format!(
                                "{id} was already recorded as {acc}: nothing changed"
                            ))
                        }
                        Err(ReconcileError::Refused(problems)) => Err(format!(
                            "{id} / {accession}: not recorded: {}",
                            problems
                                .iter()
                                .map(ToString::to_string)
                                .collect::<Vec<_>>()
                                .join("; ")
                        )),
                        Err(ReconcileError::Store(e)) => return Err(e),
                    },
                );
                self.reconcile.downtime_id.clear();
                self.reconcile.accession.clear();
                self.reconcile.focus_id = true;
                refresh(ready, &self.queue)?;
            }
            Action::ReconcileFile => {
                let user = self.user.trim().to_owned();
                if user.is_empty() {
                    self.user_missing = true;
                    self.reconcile.file_result = Some((
                        Err("Type your name or staff ID in the User box at the top first.".into()),
                        Vec::new(),
                    ));
                    return Ok(());
                }
                let path = PathBuf::from(self.reconcile.file_path.trim());
                let rows = std::fs::File::open(&path)
                    .map_err(|e| format!("Could not open {}: {e}", path.display()))
                    .and_then(|f| {
                        read_reconcile_csv(std::io::BufReader::new(f))
                            .map_err(|e| format!("{}: {e}", path.display()))
                    });
                self.reconcile.file_result = Some(match rows {
                    Err(e) => (Err(e), Vec::new()),
                    Ok(rows) => {
                        let report = ready.store.reconcile(
                            &rows,
                            self.reconcile.skip_invalid,
                            &user,
                            now,
                        )?;
                        reconcile::file_outcome(&report, rows.len())
                    }
                });
                refresh(ready, &self.queue)?;
            }
            Action::SaveCloseOut(format) => {
                let overwrite = if self.close_out.replace {
                    Overwrite::Replace
                } else {
                    Overwrite::Refuse
                };
                let path = PathBuf::from(self.export.out_folder.trim())
                    .join(crate::backlog::close_out_file_name(format, now));
                self.close_out.saved = Some(
                    match crate::backlog::close_out_to(&ready.store, &path, now, overwrite) {
                        Ok((c, w)) => {
                            ready.close_out = Some(Ok(c));
                            Ok(format!(
                                "Report saved to {} ({} bytes).",
                                w.path.display(),
                                w.bytes
                            ))
                        }
                        Err(e) => Err(backlog_message(&e)),
                    },
                );
            }
            Action::Configure(setup) => {
                let first = ready.setup.is_none();
                ready.store.configure(&setup)?;
                ready.setup = ready.store.setup()?;
                if first {
                    let mut ready_now =
                        std::mem::replace(&mut self.ready, Err(StoreError::NotSetUp))
                            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                    let result = self.begin(&mut ready_now, now);
                    self.ready = Ok(ready_now);
                    result?;
                } else {
                    self.notice = Some(Notice {
                        text: "Wards saved.".into(),
                        is_error: false,
                    });
                }
            }
            Action::DismissRecovered => ready.recovered.clear(),
            Action::DraftChanged => {
                self.draft_dirty = true;
                recheck_form(ready, &mut self.form, now)?;
            }
            Action::FillPatient(patient) => {
                self.form.draft.fill_patient(&patient);
                self.draft_dirty = true;
                recheck_form(ready, &mut self.form, now)?;
            }
            Action::ClearForm => {
                self.form = FormState::new(RequestDraft::new(now, &Local));
                self.form.focus = Some(Field::NhsNumber);
                ready.store.clear_draft()?;
                self.draft_dirty = false;
            }
            Action::SaveRequest => {
                let user = self.user.trim().to_owned();
                self.user_missing = user.is_empty();
                let result = self.form.draft.validate(now, &Local, &ready.catalogue);
                self.form.tried_save = true;
                match result {
                    Err(errors) => {
                        self.form.focus = errors.first().map(|e| e.field);
                        self.form.errors = errors;
                    }
                    Ok(_) if user.is_empty() => self.form.errors.clear(),
                    Ok(request) => {
                        self.form.errors.clear();
                        let saved = ready.store.save_request(&request, &user, now)?;
                        ready.store.clear_draft()?;
                        self.draft_dirty = false;
                        let mut fresh = FormState::new(RequestDraft::new(now, &Local));
                        fresh.confirmation = Some(Confirmation {
                            downtime_id: saved.downtime_id.grouped(),
                            patient: patient_line(&request.patient),
                            tests: request
                                .tests
                                .iter()
                                .map(|t| t.name.clone())
                                .collect::<Vec<_>>()
                                .join(", "),
                            priority: request.priority,
                            already_saved: saved.already_saved,
                            transfusion: request.has_transfusion_test(),
                        });
                        fresh.focus = Some(Field::NhsNumber);
                        self.form = fresh;
                        refresh(ready, &self.queue)?;
                    }
                }
            }
            Action::QueueChanged => {
                ready.queue = QueueCache::default();
                refresh(ready, &self.queue)?;
            }
            Action::LoadPage(offset) => {
                if !ready.queue.pages.contains_key(&offset) {
                    let rows = ready.store.queue_page(
                        &self.queue.filter(),
                        self.queue.sort,
                        self.queue.order,
                        offset,
                        PAGE_SIZE,
                    )?;
                    ready.queue.pages.insert(offset, rows);
                    trim_pages(&mut ready.queue.pages, offset);
                }
            }
            Action::SelectRequest(uuid) => {
                self.queue.selected = Some(uuid);
                self.detail = DetailState::default();
                ready.detail = ready.store.request_detail(uuid)?;
                if ready.detail.is_none() {
                    return Err(StoreError::UnknownRequest(uuid.to_string()));
                }
            }
            Action::CloseDetail => {
                self.queue.selected = None;
                ready.detail = None;
            }
            Action::ChangeStatus(uuid, transition) => {
                let user = self.user.trim().to_owned();
                if user.is_empty() {
                    self.user_missing = true;
                    self.detail.error =
                        Some("Type your name or staff ID in the User box at the top first.".into());
                    return Ok(());
                }
                self.user_missing = false;
                match ready.store.change_status(uuid, &transition, &user, now) {
                    Ok(state) => {
                        self.detail = DetailState::default();
                        self.notice = Some(Notice {
                            text: format!(
                                "{} is now: {}",
                                state.downtime_id.grouped(),
                                state.status.label()
                            ),
                            is_error: false,
                        });
                    }
                    Err(e) => {
                        self.detail.error = Some(e.to_string());
                        return Err(e);
                    }
                }
                ready.detail = ready.store.request_detail(uuid)?;
                ready.queue = QueueCache::default();
                refresh(ready, &self.queue)?;
            }
            Action::ExportCatalogue(path) => {
                let text = ready.catalogue.to_toml();
                self.settings.message = Some(match std::fs::write(&path, text) {
                    Ok(()) => Ok(format!(
                        "Catalogue {} written to {}",
                        ready.catalogue.version,
                        path.display()
                    )),
                    Err(e) => Err(format!("Could not write {}: {e}", path.display())),
                });
            }
            Action::ImportCatalogue(path) => {
                let user = self.user.trim().to_owned();
                self.settings.message = Some(match std::fs::read_to_string(&path) {
                    Err(e) => Err(format!("Could not read {}: {e}", path.display())),
                    Ok(_) if user.is_empty() => {
                        self.user_missing = true;
                        Err("Type your name or staff ID in the User box at the top first.".into())
                    }
                    Ok(text) => match Catalogue::from_toml(&text) {
                        Err(e) => Err(format!(
                            "{} was not imported: {e}. The catalogue in use is unchanged.",
                            path.display()
                        )),
                        Ok(catalogue) => match ready.store.set_catalogue(&catalogue, &user, now) {
                            Err(e) => Err(format!("Not imported: {e}")),
                            Ok(()) => {
                                ready.catalogue = ready.store.catalogue()?;
                                Ok(format!(
                                    "Catalogue {} imported ({} tests) and now in use.",
                                    ready.catalogue.version,
                                    ready.catalogue.tests.len()
                                ))
                            }
                        },
                    },
                });
            }
        }
        Ok(())
    }

    /// Writes the draft if it changed, at most once a second (or now, when `force`d).
    fn autosave_draft(&mut self, now: DateTime<Utc>, force: bool) {
        if !self.draft_dirty {
            return;
        }
        let due = force
            || self
                .draft_saved_at
                .is_none_or(|at| now - at >= Duration::milliseconds(DRAFT_SAVE_INTERVAL_MS));
        if !due {
            return;
        }
        let Ok(ready) = &mut self.ready else {
            return;
        };
        match ready.store.save_draft(&self.form.draft, now) {
            Ok(()) => {
                self.draft_dirty = false;
                self.draft_saved_at = Some(now);
            }
            Err(e) => {
                self.notice = Some(Notice {
                    text: format!("The form could not be kept as a draft: {e}"),
                    is_error: true,
                });
                self.draft_saved_at = Some(now);
            }
        }
    }

    /// Saves the draft and records a clean exit.
    pub fn shutdown(&mut self) {
        let now = clock();
        self.autosave_draft(now, true);
        if let Ok(ready) = &mut self.ready
            && let Some(session) = ready.session.take()
            && let Err(e) = ready.store.end_session(session, now)
        {
            eprintln!("stopgap: could not record a clean exit: {e}");
        }
    }

    /// Takes the background export's result when it has arrived; asks for frames until then.
    fn poll_export(&mut self, ui: &Ui, now: DateTime<Utc>) {
        let Some(rx) = &self.export_job else {
            return;
        };
        let result = match rx.try_recv() {
            Err(mpsc::TryRecvError::Empty) => {
                ui.ctx()
                    .request_repaint_after(std::time::Duration::from_millis(100));
                return;
            }
            Err(mpsc::TryRecvError::Disconnected) => {
                Err("the export stopped unexpectedly; check the list of batches".to_owned())
            }
            Ok(result) => result
                .map(|e| ExportDone {
                    path: e.path,
                    batch_id: e.record.batch_id,
                    request_count: e.record.request_count,
                    sha256: e.record.sha256,
                })
                .map_err(|e| backlog_message(&e)),
        };
        self.export_job = None;
        self.export.running = false;
        self.export.result = Some(result);
        if let Ok(ready) = &mut self.ready {
            refresh_lab(ready, &self.export, now);
        }
        ui.ctx().request_repaint();
    }

    /// For tests: whether an export is running in the background.
    pub fn exporting(&self) -> bool {
        self.export_job.is_some()
    }

    /// For tests: the downtime ID on the confirmation panel, if one is showing.
    pub fn confirmed_id(&self) -> Option<&str> {
        self.form
            .confirmation
            .as_ref()
            .map(|c| c.downtime_id.as_str())
    }
}

impl eframe::App for StopgapApp {
    fn ui(&mut self, ui: &mut Ui, _frame: &mut eframe::Frame) {
        self.show(ui);
    }

    fn on_exit(&mut self, _gl: Option<&eframe::glow::Context>) {
        self.shutdown();
    }
}

/// Re-reads the counts, ward list, training flag and the first page of the queue.
fn refresh(ready: &mut Ready, queue: &QueueState) -> Result<(), StoreError> {
    ready.open_counts = ready.store.open_counts()?;
    ready.training = ready.store.has_training_data()?;
    ready.wards_in_use = ready.store.wards_in_use()?;
    let filter = queue.filter();
    ready.queue.count = ready.store.queue_count(&filter)?;
    ready.queue.pages.clear();
    let first = ready
        .store
        .queue_page(&filter, queue.sort, queue.order, 0, PAGE_SIZE)?;
    ready.queue.pages.insert(0, first);
    Ok(())
}

/// Re-reads what the lab screens show: the export count and preview, the batches, the close-out.
/// Problems are shown in place, not as notices, so a bad date or profile never blocks the rest.
fn refresh_lab(ready: &mut Ready, state: &ExportState, now: DateTime<Utc>) {
    let candidates = state
        .selection()
        .and_then(|s| ready.store.export_candidates(&s).map_err(|e| e.to_string()));
    ready.export.count = Some(candidates.as_ref().map(Vec::len).map_err(Clone::clone));
    ready.export.preview = match candidates {
        Err(_) => None,
        Ok(c) if c.is_empty() => None,
        Ok(c) => Some(
            crate::backlog::load_profile(state.profile_file().as_deref())
                .map_err(|e| e.to_string())
                .and_then(|profile| {
                    let first = &c[..c.len().min(3)];
                    crate::backlog::preview(state.format, first, &profile, state.options, now)
                        .map_err(|e| e.to_string())
                })
                .map(|bytes| preview_text(state.format, &bytes)),
        ),
    };
    ready.export.batches = Some(ready.store.batches().map_err(|e| e.to_string()));
    ready.close_out = Some(ready.store.close_out().map_err(|e| e.to_string()));
}

/// Bytes of an export as readable text: HL7 segments on their own lines, MLLP bytes named.
fn preview_text(format: Format, bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    match format {
        Format::Hl7Oml | Format::Hl7Orm => text
            .replace('\u{0b}', "<VT>")
            .replace("\u{1c}\r", "<FS><CR>\n")
            .replace('\r', "\n"),
        Format::Csv | Format::Fhir => text.trim_start_matches('\u{feff}').replace('\r', ""),
    }
}

/// The export job the screen describes, or what is wrong with it.
fn export_job(state: &ExportState, user: String) -> Result<ExportJob, String> {
    if user.is_empty() {
        return Err("Type your name or staff ID in the User box at the top first.".into());
    }
    let selection = state.selection()?;
    let profile =
        crate::backlog::load_profile(state.profile_file().as_deref()).map_err(|e| e.to_string())?;
    let out = PathBuf::from(state.out_folder.trim());
    if !out.is_dir() {
        return Err(format!(
            "the output folder {} does not exist: type an existing folder",
            out.display()
        ));
    }
    Ok(ExportJob {
        selection,
        format: state.format,
        profile,
        options: state.options,
        user,
        out,
        overwrite: if state.replace {
            Overwrite::Replace
        } else {
            Overwrite::Refuse
        },
    })
}

/// Runs the export on its own thread, over its own connection to the same database (WAL lets
/// the app keep reading meanwhile), so a large export never freezes the window.
fn spawn_export(
    db_path: &Path,
    job: ExportJob,
    now: DateTime<Utc>,
) -> mpsc::Receiver<Result<Exported, BacklogError>> {
    let (tx, rx) = mpsc::channel();
    let db_path = db_path.to_owned();
    std::thread::spawn(move || {
        let result = Store::open(&db_path)
            .map_err(BacklogError::from)
            .and_then(|mut store| crate::backlog::export_to(&mut store, &job, now));
        if tx.send(result).is_err() {
            eprintln!("stopgap: an export finished after the window closed");
        }
    });
    rx
}

/// An export or report error in the app's words (a checkbox, not `--force`).
fn backlog_message(e: &BacklogError) -> String {
    match e {
        BacklogError::Write(WriteError::Exists(path)) => format!(
            "{} already exists and was not replaced: choose another folder, or tick \"Replace\"",
            path.display()
        ),
        other => other.to_string(),
    }
}

fn trim_pages(pages: &mut BTreeMap<u64, Vec<QueueRow>>, around: u64) {
    while pages.len() > MAX_PAGES {
        let farthest = pages
            .keys()
            .copied()
            .max_by_key(|k| k.abs_diff(around))
            .unwrap_or(around);
        pages.remove(&farthest);
    }
}

/// Re-checks the form after a change: errors (only once a save has been tried), the earlier
/// patient on file, and warnings once the form is complete.
fn recheck_form(ready: &Ready, form: &mut FormState, now: DateTime<Utc>) -> Result<(), StoreError> {
    let result = form.draft.validate(now, &Local, &ready.catalogue);
    if form.tried_save {
        form.errors = result.as_ref().err().cloned().unwrap_or_default();
    }
    form.warnings = match &result {
        Ok(request) => {
            let history = ready
                .store
                .patient_history(&request.patient, request.uuid)?;
            warnings_for(request, &history)
                .iter()
                .map(|w| w.message())
                .collect()
        }
        Err(_) => Vec::new(),
    };
    let nhs = NhsNumber::parse(&form.draft.nhs_number).ok();
    let mrn = form.draft.mrn.trim();
    let earlier = if nhs.is_some() || !mrn.is_empty() {
        ready
            .store
            .patient_by_identifier(nhs.as_ref(), (!mrn.is_empty()).then_some(mrn))?
    } else {
        None
    };
    form.suggestion = earlier.filter(|p| !same_patient(&form.draft, p));
    Ok(())
}

/// Whether the form already shows this patient's details.
fn same_patient(draft: &RequestDraft, p: &Patient) -> bool {
    let mut filled = draft.clone();
    filled.fill_patient(p);
    filled
        .surname
        .trim()
        .eq_ignore_ascii_case(draft.surname.trim())
        && filled
            .forename
            .trim()
            .eq_ignore_ascii_case(draft.forename.trim())
        && crate::domain::request::parse_date(&draft.dob) == p.dob
        && filled.sex == draft.sex
}

/// "SURNAME, Forename, born 01/01/1980, NHS 999 000 0018".
pub fn patient_line(p: &Patient) -> String {
    let mut parts = vec![p.display_name()];
    if let Some(dob) = p.dob {
        parts.push(format!("born {}", dob.format("%d/%m/%Y")));
    }
    if let Some(n) = &p.nhs_number {
        parts.push(format!("NHS {n}"));
    }
    if let Some(m) = &p.mrn {
        parts.push(format!("MRN {m}"));
    }
    if let Some(e) = &p.emergency_number {
        parts.push(format!("A&E {e}"));
    }
    parts.join(", ")
}

/// The tests of a draft as catalogue entries, skipping unknown codes.
pub fn requested_tests(catalogue: &Catalogue, codes: &[String]) -> Vec<RequestedTest> {
    codes
        .iter()
        .filter_map(|c| catalogue.test(c))
        .map(RequestedTest::from)
        .collect()
}

struct TopBar<'a> {
    setup: &'a Setup,
    open_counts: (u64, u64),
    training: bool,
    tab: Tab,
    local_now: DateTime<Local>,
}

fn top_bar_ui(
    ui: &mut Ui,
    bar: TopBar<'_>,
    user: &mut String,
    user_missing: &mut bool,
    actions: &mut Vec<Action>,
) {
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
        let (fill, text) = widgets::priority_colours(crate::domain::request::Priority::Emergency);
        count_chip(ui, &format!("{emergency} open EMERGENCY"), fill, text);
        let (fill, text) = widgets::priority_colours(crate::domain::request::Priority::Urgent);
        count_chip(ui, &format!("{urgent} open Urgent"), fill, text);
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            ui.label(
                RichText::new(bar.local_now.format("%H:%M  %a %d/%m/%Y").to_string())
                    .color(widgets::MUTED),
            );
            ui.separator();
            if *user_missing && !user.trim().is_empty() {
                *user_missing = false;
            }
            if *user_missing {
                widgets::error_text(ui, "Required: type your name or staff ID");
            }
            let field = ui.add(
                egui::TextEdit::singleline(user)
                    .hint_text("e.g. J Smith / 123456")
                    .desired_width(200.0),
            );
            let label = ui.label(RichText::new("User (name / staff ID)").strong());
            field.labelled_by(label.id);
        });
    });
    ui.add_space(4.0);
    ui.horizontal(|ui| {
        for (tab, text) in [
            (Tab::Form, "New request (F2)"),
            (Tab::Queue, "Queue (F3)"),
            (Tab::Lab, "Lab: export & reconcile"),
            (Tab::Settings, "Settings"),
        ] {
            let selected = bar.tab == tab;
            let button =
                egui::Button::selectable(selected, RichText::new(text).size(17.0).strong())
                    .min_size(egui::vec2(150.0, 32.0));
            if ui.add(button).clicked() && !selected {
                actions.push(Action::ShowTab(tab));
            }
        }
    });
    ui.add_space(4.0);
    egui::Frame::new()
        .fill(widgets::EMERGENCY_RED)
        .inner_margin(egui::Margin::symmetric(10, 4))
        .corner_radius(3.0)
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.label(
                RichText::new("LIMS DOWNTIME — requests are recorded here, not in the LIMS")
                    .color(egui::Color32::WHITE)
                    .strong(),
            );
        });
    if bar.training {
        egui::Frame::new()
            .fill(widgets::URGENT_AMBER)
            .inner_margin(egui::Margin::symmetric(10, 4))
            .corner_radius(3.0)
            .show(ui, |ui| {
                ui.set_width(ui.available_width());
                ui.label(
                    RichText::new(
                        "TRAINING DATA — this database holds synthetic training requests",
                    )
                    .color(egui::Color32::BLACK)
                    .strong(),
                );
            });
    }
}

fn count_chip(ui: &mut Ui, text: &str, fill: egui::Color32, text_colour: egui::Color32) {
    egui::Frame::new()
        .fill(fill)
        .corner_radius(4.0)
        .inner_margin(egui::Margin::symmetric(8, 2))
        .show(ui, |ui| {
            ui.label(RichText::new(text).color(text_colour).strong());
        });
}

fn banners_ui(
    ui: &mut Ui,
    notice: &Option<Notice>,
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
                    ui.label(
                        RichText::new(format!(
                            "{}  {}, {}  ({})",
                            row.downtime_id.grouped(),
                            row.surname.to_uppercase(),
                            row.forename,
                            row.tests.join(", ")
                        ))
                        .color(widgets::WARNING_TEXT),
                    );
                }
            });
    }
    if let Some(notice) = notice {
        ui.add_space(4.0);
        let (fill, colour) = if notice.is_error {
            (
                egui::Color32::from_rgb(0xFD, 0xEC, 0xEA),
                widgets::ERROR_RED,
            )
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
