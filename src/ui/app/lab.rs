//! The lab tab's orchestration: the export running on its own thread, reconciliation by scan or
//! file, and the close-out report. The export screen's count and preview are re-read only after
//! typing pauses (not on every key), and the batch list and close-out only when the lab tab opens,
//! after an export or reconciliation, or on Refresh.

use std::path::{Path, PathBuf};
use std::sync::{Arc, mpsc};

use chrono::{DateTime, Duration, Utc};
use egui::Ui;

use super::{Notice, Ready, StopgapApp};
use crate::backlog::{BacklogError, ExportJob, ExportProgress, Exported};
use crate::error::error_chain;
use crate::export::Format;
use crate::files::{Overwrite, WriteError};
use crate::report::ReportFormat;
use crate::store::{CloseOut, ReconcileError, Reconciled, Store, StoreError, read_reconcile_csv};
use crate::ui::action::{Action, LabView};
use crate::ui::export::{ExportCache, ExportDone, ExportState};
use crate::ui::reconcile::{CloseOutState, FileOutcome, ReconcileState, ScanOutcome};
use crate::ui::{export, reconcile};

/// How long typing must pause before the export count and preview are read again.
const EXPORT_RECHECK_PAUSE_MS: i64 = 400;
/// Requests shown in the export preview.
const PREVIEW_REQUESTS: u64 = 3;

/// The lab screens' own states, and the export running in the background.
#[derive(Default)]
pub(super) struct LabState {
    pub view: LabView,
    pub export: ExportState,
    pub reconcile: ReconcileState,
    pub close_out: CloseOutState,
    /// The export running in the background, if any.
    pub job: Option<RunningExport>,
    /// The export choices changed at this time and have not been re-read since.
    changed_at: Option<DateTime<Utc>>,
    /// What the recovery of interrupted exports did at start-up, shown until the app restarts.
    pub recovery: Vec<String>,
}

/// An export on its own thread: how far it has got (and its cancel switch), and where its
/// result arrives.
pub(super) struct RunningExport {
    progress: Arc<ExportProgress>,
    result: mpsc::Receiver<Result<Exported, BacklogError>>,
}

impl LabState {
    /// Whether a re-read is waiting for typing to pause.
    pub fn is_pending(&self) -> bool {
        self.changed_at.is_some()
    }
}

/// What the lab screens show from the store.
#[derive(Debug, Default)]
pub(super) struct LabCache {
    pub export: ExportCache,
    pub close_out: Option<Result<CloseOut, String>>,
}

pub(super) fn lab_ui(
    ui: &mut Ui,
    state: &mut LabState,
    cache: &LabCache,
    actions: &mut Vec<Action>,
) {
    ui.horizontal(|ui| {
        for (view, text) in [
            (LabView::Export, "Export backlog"),
            (LabView::Reconcile, "Reconcile accessions"),
            (LabView::CloseOut, "Close-out report"),
        ] {
            let selected = state.view == view;
            let r = ui.selectable_label(selected, text);
            if r.clicked() && !selected {
                actions.push(Action::ShowLab(view));
            }
        }
    });
    if !state.recovery.is_empty() {
        ui.label(egui::RichText::new("Interrupted exports were recovered at start-up:").strong());
        for line in &state.recovery {
            ui.label(line);
        }
    }
    ui.separator();
    egui::ScrollArea::vertical()
        .id_salt("lab")
        .auto_shrink([false, false])
        .show(ui, |ui| match state.view {
            LabView::Export => {
                export::export_ui(ui, &mut state.export, &cache.export, actions);
            }
            LabView::Reconcile => {
                reconcile::reconcile_ui(ui, &mut state.reconcile, actions);
            }
            LabView::CloseOut => reconcile::close_out_ui(
                ui,
                &mut state.close_out,
                cache.close_out.as_ref(),
                &state.export.out_folder,
                actions,
            ),
        });
}

impl StopgapApp {
    /// Runs a lab action. `user` is whoever is signed in (the caller has made sure of one where
    /// the action records something).
    pub(super) fn apply_lab(
        &mut self,
        action: Action,
        user: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let Ok(ready) = &mut self.ready else {
            return Ok(());
        };
        let lab = &mut self.lab;
        match action {
            Action::ShowLab(view) => {
                lab.view = view;
                if view == LabView::Reconcile {
                    lab.reconcile.focus_id = true;
                }
                refresh_lab(ready, &lab.export, now);
            }
            Action::RefreshLab => refresh_lab(ready, &lab.export, now),
            Action::ExportChanged => lab.changed_at = Some(now),
            Action::StartExport => {
                let Some(user) = user else { return Ok(()) };
                if lab.job.is_some() {
                    return Ok(());
                }
                match export_job(&lab.export, user) {
                    Err(e) => lab.export.result = Some(Err(e)),
                    Ok(job) => {
                        lab.job = Some(spawn_export(
                            ready.store.path(),
                            ready.store.principal().cloned(),
                            job,
                            now,
                        ));
                        lab.export.running = true;
                        lab.export.cancelling = false;
                        lab.export.progress = None;
                        lab.export.result = None;
                    }
                }
            }
            Action::CancelExport => {
                if let Some(job) = &lab.job {
                    job.progress.cancel();
                    lab.export.cancelling = true;
                }
            }
            Action::OpenFolder(path) => {
                if let Err(e) = crate::platform::open_in_file_manager(&path) {
                    self.notice = Some(Notice::error(format!(
                        "Could not open the folder of {}: {}",
                        path.display(),
                        error_chain(&e)
                    )));
                }
            }
            Action::ReconcileOne => {
                let Some(user) = user else { return Ok(()) };
                reconcile_one(ready, &mut lab.reconcile, &user, now)?;
                refresh_lab(ready, &lab.export, now);
            }
            Action::ReconcileFile => {
                let Some(user) = user else { return Ok(()) };
                reconcile_file(ready, &mut lab.reconcile, &user, now)?;
                refresh_lab(ready, &lab.export, now);
            }
            Action::SaveCloseOut(format) => {
                save_close_out(ready, lab, format, user.as_deref().unwrap_or_default(), now);
            }
            _ => {}
        }
        Ok(())
    }

    /// Re-reads the export count and preview once typing has paused. Returns whether it did
    /// (so the frame shows the new count at once).
    pub(super) fn lab_tick(&mut self, now: DateTime<Utc>) -> bool {
        let Some(at) = self.lab.changed_at else {
            return false;
        };
        if now - at < Duration::milliseconds(EXPORT_RECHECK_PAUSE_MS) {
            return false;
        }
        self.lab.changed_at = None;
        if let Ok(ready) = &mut self.ready {
            refresh_export(ready, &self.lab.export, now);
        }
        true
    }

    /// Takes the background export's result when it has arrived; asks for frames until then.
    pub(super) fn poll_export(&mut self, ui: &Ui, now: DateTime<Utc>) {
        let Some(job) = &self.lab.job else {
            return;
        };
        let result = match job.result.try_recv() {
            Err(mpsc::TryRecvError::Empty) => {
                self.lab.export.progress = Some(job.progress.get());
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
                    truncations: e
                        .record
                        .truncations
                        .iter()
                        .map(ToString::to_string)
                        .collect(),
                    sealed: e.record.options.sealed,
                    sha256: e.record.sha256,
                })
                .map_err(|e| backlog_message(&e)),
        };
        self.lab.job = None;
        self.lab.export.running = false;
        self.lab.export.cancelling = false;
        self.lab.export.progress = None;
        self.lab.export.result = Some(result);
        if let Ok(ready) = &mut self.ready {
            refresh_lab(ready, &self.lab.export, now);
        }
        ui.ctx().request_repaint();
    }
}

fn reconcile_one(
    ready: &mut Ready,
    state: &mut ReconcileState,
    user: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let id = state.downtime_id.trim().to_owned();
    let accession = state.accession.trim().to_owned();
    let shown = |s: &crate::domain::event::RequestState| {
        (
            s.downtime_id.grouped(),
            s.accession.clone().unwrap_or_else(|| accession.clone()),
        )
    };
    state.last = Some(
        match ready.store.reconcile_one(&id, &accession, user, now) {
            Ok(Reconciled::Reentered(s)) => {
                let (id, acc) = shown(&s);
                let line = format!("{id} re-entered as {acc}");
                state.recorded.insert(0, line.clone());
                ScanOutcome::Recorded(line)
            }
            Ok(Reconciled::AlreadyDone(s)) => {
                let (id, acc) = shown(&s);
                ScanOutcome::AlreadyRecorded(format!(
                    "{id} was already recorded as {acc}: nothing changed"
                ))
            }
            Err(ReconcileError::Refused(problems)) => ScanOutcome::Refused(format!(
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
    state.downtime_id.clear();
    state.accession.clear();
    state.focus_id = true;
    super::dispatch::refresh_counts(ready)
}

fn reconcile_file(
    ready: &mut Ready,
    state: &mut ReconcileState,
    user: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let path = PathBuf::from(state.file_path.trim());
    let rows = crate::files::read_limited(
        &path,
        crate::files::RECONCILE_MAX_BYTES,
        "a reconciliation file",
    )
    .map_err(|e| error_chain(&e))
    .and_then(|bytes| {
        read_reconcile_csv(bytes.as_slice())
            .map_err(|e| format!("{}: {}", path.display(), error_chain(&e)))
    });
    state.file_result = Some(match rows {
        Err(e) => FileOutcome::Unreadable(e),
        Ok(rows) => {
            let report = ready
                .store
                .reconcile(&rows, state.skip_invalid, user, now)?;
            FileOutcome::of(&report, rows.len())
        }
    });
    super::dispatch::refresh_counts(ready)
}

fn save_close_out(
    ready: &mut Ready,
    lab: &mut LabState,
    format: ReportFormat,
    user: &str,
    now: DateTime<Utc>,
) {
    let overwrite = if lab.close_out.replace {
        Overwrite::Replace
    } else {
        Overwrite::Refuse
    };
    let path = PathBuf::from(lab.export.out_folder.trim())
        .join(crate::backlog::close_out_file_name(format, now));
    // As the export screen chose: the profile's key for the lab, a passphrase, or unencrypted.
    let sealing = crate::backlog::load_profile(lab.export.profile_file().as_deref())
        .map_err(|e| error_chain(&e))
        .and_then(|p| lab.export.sealing(p.age_recipient()));
    let sealing = match sealing {
        Ok(s) => s,
        Err(e) => {
            lab.close_out.saved = Some(Err(format!("on the export screen: {e}")));
            return;
        }
    };
    lab.close_out.saved = Some(
        match crate::backlog::close_out_to(&mut ready.store, &path, user, now, overwrite, &sealing)
        {
            Ok((c, w)) => {
                ready.lab.close_out = Some(Ok(c));
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

/// Re-reads everything the lab screens show: the export count and preview, the batches and the
/// close-out. Problems are shown in place, not as notices, so a bad date or profile never blocks
/// the rest.
fn refresh_lab(ready: &mut Ready, state: &ExportState, now: DateTime<Utc>) {
    refresh_export(ready, state, now);
    ready.lab.export.batches = Some(ready.store.batches().map_err(|e| error_chain(&e)));
    ready.lab.close_out = Some(ready.store.close_out().map_err(|e| error_chain(&e)));
}

/// Re-reads the export count (a count, not the requests) and the first few requests for the
/// preview.
fn refresh_export(ready: &mut Ready, state: &ExportState, now: DateTime<Utc>) {
    let cache = &mut ready.lab.export;
    // A profile that cannot be read says so in the preview; here it only names no key.
    cache.age_recipient = crate::backlog::load_profile(state.profile_file().as_deref())
        .ok()
        .and_then(|p| p.age_recipient);
    let selection = match state.selection() {
        Ok(s) => s,
        Err(e) => {
            cache.count = Some(Err(e));
            cache.preview = None;
            return;
        }
    };
    let count = ready
        .store
        .export_candidate_count(&selection)
        .map_err(|e| error_chain(&e));
    cache.preview = match &count {
        Ok(0) | Err(_) => None,
        Ok(_) => Some(
            ready
                .store
                .export_candidates_first(&selection, PREVIEW_REQUESTS)
                .map_err(|e| error_chain(&e))
                .and_then(|first| {
                    let profile = crate::backlog::load_profile(state.profile_file().as_deref())
                        .map_err(|e| error_chain(&e))?;
                    let wards = ready.setup.as_ref().map(|s| s.wards.clone());
                    crate::backlog::preview(
                        state.format,
                        &first,
                        &profile,
                        state.options,
                        now,
                        wards.unwrap_or_default(),
                    )
                    .map_err(|e| error_chain(&e))
                })
                .map(|bytes| preview_text(state.format, &bytes)),
        ),
    };
    cache.count = Some(count.map(|n| usize::try_from(n).unwrap_or(usize::MAX)));
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
        // A zip file has nothing to read as text: say what the file will hold.
        Format::Xlsx => "A spreadsheet with the CSV's columns, one row per request (or per test), \
            identifiers as text and dates as dates: open the file once it is exported."
            .to_owned(),
    }
}

/// The export job the screen describes, or what is wrong with it.
fn export_job(state: &ExportState, user: String) -> Result<ExportJob, String> {
    let selection = state.selection()?;
    let profile = crate::backlog::load_profile(state.profile_file().as_deref())
        .map_err(|e| error_chain(&e))?;
    let sealing = state.sealing(profile.age_recipient())?;
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
        sealing,
    })
}

/// Runs the export on its own thread, over its own connection to the same database (WAL lets
/// the app keep reading meanwhile, and the export holds the write lock only to take its number
/// and to record its batch), so a large export never freezes the window or the ward's saves.
/// The export's connection works for whoever is signed in: the store refuses an export to an
/// account that may not make one, on this thread as on any other.
fn spawn_export(
    db_path: &Path,
    principal: Option<crate::domain::access::Principal>,
    job: ExportJob,
    now: DateTime<Utc>,
) -> RunningExport {
    let (tx, rx) = mpsc::channel();
    let progress = Arc::new(ExportProgress::default());
    let db_path = db_path.to_owned();
    let shared = progress.clone();
    std::thread::spawn(move || {
        let result = Store::open_beside(&db_path)
            .map_err(BacklogError::from)
            .and_then(|mut store| {
                match principal {
                    Some(p) => store.act_as(p),
                    None => store.sign_out(),
                }
                crate::backlog::export_with_progress(&mut store, &job, now, &shared)
            });
        if tx.send(result).is_err() {
            eprintln!("stopgap: an export finished after the window closed");
        }
    });
    RunningExport {
        progress,
        result: rx,
    }
}

/// Settles the exports a crash left (see `backlog::recover`), once the file is known to be sound,
/// and keeps what was done for the lab screen; an error is said there too.
pub(super) fn recover_at_start(store: &mut Store, state: &mut LabState, now: DateTime<Utc>) {
    let folders = [PathBuf::from(state.export.out_folder.trim())];
    state.recovery = match crate::backlog::recover_exports(store, "app start-up", now, &folders) {
        Ok(r) => r.lines(),
        Err(e) => vec![format!(
            "The recovery of interrupted exports could not run: {}",
            error_chain(&e)
        )],
    };
}

/// An export or report error in the app's words (a checkbox, not `--force`).
fn backlog_message(e: &BacklogError) -> String {
    match e {
        BacklogError::Write(WriteError::Exists(path)) => format!(
            "{} already exists and was not replaced: choose another folder, or tick \"Replace\"",
            path.display()
        ),
        BacklogError::Cancelled => {
            "cancelled: no file was left under its name and nothing was recorded".to_owned()
        }
        other => error_chain(other),
    }
}
