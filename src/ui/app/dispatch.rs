//! Runs the actions the screens emitted, after the frame, in one place. Errors become one notice
//! each (the cause chain once); a screen's own outcome is shown on that screen.

use chrono::{DateTime, Local, Utc};

use super::{Notice, Ready, StopgapApp};
use crate::domain::catalogue::Catalogue;
use crate::domain::identity::{self, IdentityMismatch};
use crate::domain::nhs_number::NhsNumber;
use crate::domain::warnings::{PatientHistory, warnings_for};
use crate::error::error_chain;
use crate::store::{Store, StoreError};
use crate::ui::action::{Action, Tab};
use crate::ui::detail::DetailState;
use crate::ui::form::{FormState, Suggestion};
use crate::ui::queue::{QueueCache, QueueState};
use crate::ui::sign_in::SignedIn;

/// Whether running `action` records something under the signed-in user's name.
fn needs_user(action: &Action) -> bool {
    matches!(
        action,
        Action::SaveRequest
            | Action::ChangeStatus(..)
            | Action::ReceptionRecord(..)
            | Action::RecordPhoned(..)
            | Action::SettleConflict { .. }
            | Action::ReceptionEarly(..)
            | Action::StartExport
            | Action::ReconcileOne
            | Action::ReconcileFile
            | Action::ImportCatalogue(_)
            | Action::SetOverdue { .. }
            | Action::SetBackup(_)
            | Action::SetHandover { .. }
            | Action::HandoverNow { .. }
    )
}

impl StopgapApp {
    /// After a box closes, the cursor goes back to the form's first field (if the form is shown
    /// and nothing else asked for the focus).
    pub(super) fn refocus_form(&mut self) {
        let form = &mut self.screens.form;
        if self.tab == Tab::Form && form.focus.is_none() {
            form.focus = Some(form.first_focus());
        }
        // The reception's scan field takes the cursor back too: the next scan must land in it.
        self.screens.reception.focus_input = true;
    }

    /// Runs one action against the store and refreshes what it changed. Errors become notices.
    pub fn apply(&mut self, action: Action, now: DateTime<Utc>) {
        if let Err(e) = self.try_apply(action, now) {
            self.notice = Some(Notice::error(error_chain(&e)));
        }
    }

    fn try_apply(&mut self, action: Action, now: DateTime<Utc>) -> Result<(), StoreError> {
        // Events record the account: "N Bloggs (N1001)".
        let user = self.user.as_ref().map(SignedIn::recorded);
        if user.is_none() && needs_user(&action) {
            // Ask who is at the keyboard, then carry on with what they asked for.
            self.sign_in.open(Some(action));
            self.sign_in.reason =
                Some("Sign in first: this is recorded under your name.".to_owned());
            return Ok(());
        }
        match action {
            Action::SignIn { .. }
            | Action::StartEmergency { .. }
            | Action::Lock
            | Action::ChangeUser
            | Action::SignOut
            | Action::CancelSignIn
            | Action::Unlock { .. }
            | Action::UnlockWithRecovery(_)
            | Action::CreateFirstManager { .. }
            | Action::GateContinue => return self.access_action(action, now),
            Action::ShowTab(tab) if !self.may_show(tab) => {
                self.notice = Some(Notice::error(
                    "An emergency session can only log requests: ask a colleague with an account to sign in for anything else.",
                ));
                return Ok(());
            }
            Action::ShowTab(tab) if tab != Tab::Lab => {
                self.tab = tab;
                if tab == Tab::Form {
                    self.screens.form.focus = Some(self.screens.form.first_focus());
                }
                if tab == Tab::Reception {
                    self.screens.reception.focus_input = true;
                }
                if tab == Tab::Queue {
                    self.screens.queue.focus_search = true;
                }
                if tab == Tab::Phoned {
                    // Read again as it opens: bundles may have brought results meanwhile.
                    self.screens.phoned.rows = None;
                    self.screens.phoned.focus_table = true;
                }
                if tab == Tab::Handover && self.screens.handover.folder.is_empty() {
                    self.screens.handover.focus_folder = true;
                }
                return Ok(());
            }
            Action::DismissNotice => {
                self.notice = None;
                return Ok(());
            }
            Action::SetBackup(typed) => {
                return self.set_backup(typed, user.as_deref().unwrap_or_default(), now);
            }
            Action::SetHandover {
                folder,
                watch,
                interval,
            } => {
                let user = user.as_deref().unwrap_or_default();
                return self
                    .set_handover(&folder, watch, &interval, user, now)
                    .map(drop);
            }
            Action::HandoverNow {
                folder,
                watch,
                interval,
                send,
                receive,
            } => {
                let user = user.as_deref().unwrap_or_default();
                return self.handover_now((&folder, watch, &interval), send, receive, user, now);
            }
            Action::DismissConfirmation => {
                self.screens.form.confirmation = None;
                return Ok(());
            }
            Action::DismissRestored => {
                self.screens.form.restored_at = None;
                return Ok(());
            }
            Action::CancelIdentity => {
                self.screens.form.identity_prompt = None;
                return Ok(());
            }
            Action::ShowLab(_)
            | Action::RefreshLab
            | Action::ExportChanged
            | Action::StartExport
            | Action::CancelExport
            | Action::OpenFolder(_)
            | Action::ReconcileOne
            | Action::ReconcileFile
            | Action::SaveCloseOut(_) => return self.apply_lab(action, user, now),
            _ => {}
        }
        let Ok(ready) = &mut self.ready else {
            return Ok(());
        };
        let screens = &mut self.screens;
        match action {
            Action::ShowTab(tab) => {
                self.tab = tab;
                return self.apply_lab(Action::RefreshLab, user, now);
            }
            Action::Configure(setup) => {
                let first = ready.setup.is_none();
                ready.store.configure(&setup)?;
                ready.setup = ready.store.setup()?;
                if first {
                    let mut ready_now =
                        std::mem::replace(&mut self.ready, Err(StoreError::NotSetUp))?;
                    let result = self.begin(&mut ready_now, now);
                    self.ready = Ok(ready_now);
                    result?;
                } else {
                    // The table shows the codes as stored (upper-cased, derived ones filled in).
                    if let Some(s) = &ready.setup {
                        screens.settings.wards = crate::ui::wards::WardTable::of(&s.wards);
                    }
                    self.notice = Some(Notice::info("Wards saved."));
                }
            }
            Action::SetOverdue { emergency, urgent } => {
                screens.settings.overdue_message = Some(
                    match crate::ui::settings::parse_thresholds(&emergency, &urgent) {
                        Err(e) => Err(e),
                        Ok(t) => {
                            let user = user.unwrap_or_default();
                            ready.store.set_overdue_thresholds(&t, &user, now)?;
                            ready.thresholds = t;
                            ready.queue = QueueCache::default();
                            refresh(ready, &mut screens.queue, now)?;
                            Ok(format!(
                                "Overdue after {} min (EMERGENCY) and {} min (Urgent).",
                                t.emergency_minutes, t.urgent_minutes
                            ))
                        }
                    },
                );
            }
            Action::DismissRecovered => ready.recovered.clear(),
            Action::DraftChanged => {
                self.draft.mark_dirty();
                recheck_form(ready, &mut screens.form, now)?;
            }
            Action::FillPatient => {
                screens.form.fill_from_suggestion();
                self.draft.mark_dirty();
                recheck_form(ready, &mut screens.form, now)?;
            }
            Action::ClearForm => {
                let user = self.user.as_ref().map(|u| u.name.as_str());
                screens.form = FormState::next(now, ready.store.last_ward()?, user, None);
                ready.store.clear_draft()?;
                self.draft.forget();
            }
            Action::ConfirmIdentity(reason) => {
                let form = &mut screens.form;
                form.reason_given_for = form
                    .identity_prompt
                    .take()
                    .map(|p| p.messages)
                    .unwrap_or_default();
                form.draft.identity_reason = reason;
                return self.try_apply(Action::SaveRequest, now);
            }
            Action::SaveRequest => {
                let user = user.unwrap_or_default();
                let name = self
                    .user
                    .as_ref()
                    .map(|u| u.name.clone())
                    .unwrap_or_default();
                if save_request(ready, &mut screens.form, (&user, &name), now)? {
                    self.draft.forget();
                    refresh(ready, &mut screens.queue, now)?;
                }
            }
            Action::QueueChanged => {
                ready.queue = QueueCache::default();
                refresh(ready, &mut screens.queue, now)?;
            }
            Action::RefreshQueue => refresh(ready, &mut screens.queue, now)?,
            Action::LoadPage(offset) => {
                ready
                    .queue
                    .load_page(&ready.store, &screens.queue, offset, now, &ready.thresholds);
            }
            Action::SelectRequest(uuid) => {
                screens.queue.selected = Some(uuid);
                screens.detail = DetailState::default();
                ready.detail = ready.store.request_detail(uuid)?;
                if ready.detail.is_none() {
                    return Err(StoreError::UnknownRequest(uuid.to_string()));
                }
            }
            Action::CloseDetail => {
                screens.queue.selected = None;
                screens.queue.focus_table = true;
                ready.detail = None;
            }
            Action::ChangeStatus(uuid, transition) => {
                let user = user.unwrap_or_default();
                match ready.store.change_status(uuid, &transition, &user, now) {
                    Ok(state) => {
                        screens.detail = DetailState::default();
                        self.notice = Some(Notice::info(format!(
                            "{} is now: {}",
                            state.downtime_id.grouped(),
                            state.status.label()
                        )));
                    }
                    Err(e) => {
                        // Shown once, in the detail panel where it was asked for.
                        screens.detail.error = Some(error_chain(&e));
                        return Ok(());
                    }
                }
                ready.detail = ready.store.request_detail(uuid)?;
                ready.queue = QueueCache::default();
                refresh(ready, &mut screens.queue, now)?;
            }
            Action::ReceptionScan(typed) => {
                crate::ui::reception::look_up(&ready.store, &mut screens.reception, &typed)?;
            }
            Action::ReceptionEarly(id, draft) => {
                let user = user.unwrap_or_default();
                crate::ui::reception::record_early(
                    &mut ready.store,
                    &mut screens.reception,
                    &id,
                    &draft,
                    &user,
                    now,
                )?;
            }
            Action::ReceptionRecord(uuid, transition) => {
                let user = user.unwrap_or_default();
                crate::ui::reception::record(
                    &mut ready.store,
                    &mut screens.reception,
                    uuid,
                    &transition,
                    &user,
                    now,
                )?;
                // The queue, the counts and an open detail panel show the new status.
                if ready
                    .detail
                    .as_ref()
                    .is_some_and(|d| d.state.request.uuid == uuid)
                {
                    ready.detail = ready.store.request_detail(uuid)?;
                }
                ready.queue = QueueCache::default();
                refresh(ready, &mut screens.queue, now)?;
            }
            Action::RecordPhoned(uuid, draft) => {
                let user = user.unwrap_or_default();
                let (detail, log) = (&mut screens.detail, &mut screens.phoned);
                let recorded = crate::ui::phoned::record(
                    &mut ready.store,
                    detail,
                    log,
                    uuid,
                    draft,
                    &user,
                    now,
                )?;
                if let Some(d) = recorded {
                    self.notice = Some(Notice::info(format!(
                        "Phoned result recorded for {}.",
                        d.state.downtime_id.grouped()
                    )));
                    ready.detail = Some(d);
                }
            }
            Action::LoadPhoned => crate::ui::phoned::load(&ready.store, &mut screens.phoned),
            Action::OpenPhoneForm(uuid) => {
                let (detail, user) = (ready.detail.as_ref(), user.as_deref());
                crate::ui::phoned::open(&mut screens.detail, detail, uuid, user, now);
            }
            Action::SettleConflict {
                key,
                decision,
                note,
            } => {
                let user = user.unwrap_or_default();
                let (cache, state) = (&mut ready.conflicts, &mut screens.conflicts);
                let settle = (key, decision, note.as_str(), user.as_str());
                if crate::ui::conflicts::settle(&mut ready.store, cache, state, settle, now)? {
                    refresh(ready, &mut screens.queue, now)?;
                }
            }
            Action::ExportCatalogue(path) => {
                let text = ready.catalogue.to_toml();
                screens.settings.message = Some(match std::fs::write(&path, text) {
                    Ok(()) => Ok(format!(
                        "Catalogue {} written to {}",
                        ready.catalogue.version,
                        path.display()
                    )),
                    Err(e) => Err(format!("Could not write {}: {e}", path.display())),
                });
            }
            Action::ImportCatalogue(path) => {
                let user = user.unwrap_or_default();
                screens.settings.message = Some(import_catalogue(ready, &path, &user, now)?);
            }
            // Handled above, before the store was needed.
            Action::SignIn { .. }
            | Action::StartEmergency { .. }
            | Action::Lock
            | Action::Unlock { .. }
            | Action::UnlockWithRecovery(_)
            | Action::CreateFirstManager { .. }
            | Action::GateContinue
            | Action::ChangeUser
            | Action::SignOut
            | Action::CancelSignIn
            | Action::DismissNotice
            | Action::SetBackup(_)
            | Action::SetHandover { .. }
            | Action::HandoverNow { .. }
            | Action::DismissConfirmation
            | Action::DismissRestored
            | Action::CancelIdentity
            | Action::ShowLab(_)
            | Action::RefreshLab
            | Action::ExportChanged
            | Action::StartExport
            | Action::CancelExport
            | Action::OpenFolder(_)
            | Action::ReconcileOne
            | Action::ReconcileFile
            | Action::SaveCloseOut(_) => {}
        }
        Ok(())
    }
}

/// Validates and saves the form. Refused fields are shown at the fields and beside Save; an
/// identity mismatch opens the box that asks for a reason; a saved request leaves a fresh form
/// with the confirmation above it. Returns whether the request was saved.
/// `who`: the account as events record it, and the name the next form's "Collected by" takes.
fn save_request(
    ready: &mut Ready,
    form: &mut FormState,
    (user, name): (&str, &str),
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    form.follow_clock(now);
    form.tried_save = true;
    let request = match form.draft.validate(now, &Local, &ready.catalogue) {
        Err(errors) => {
            form.focus = errors.first().map(|e| e.field);
            form.errors = errors;
            return Ok(false);
        }
        Ok(request) => request,
    };
    form.errors.clear();
    let mismatches = identity_mismatches(&ready.store, &request.patient)?;
    if !mismatches.is_empty() && request.identity_override.is_none() {
        form.ask_identity_reason(
            mismatches
                .iter()
                .map(|m| m.message(&request.patient))
                .collect(),
        );
        return Ok(false);
    }
    let saved = match ready.store.save_request(&request, user, now) {
        Err(StoreError::IdentityMismatch(messages)) => {
            // Someone else saved a request for this identifier meanwhile.
            form.ask_identity_reason(messages);
            return Ok(false);
        }
        other => other?,
    };
    ready.store.clear_draft()?;
    *form = FormState::next(
        now,
        Some(request.ward.clone()),
        Some(name),
        Some(crate::ui::form::Confirmation::new(&saved, &request)),
    );
    Ok(true)
}

/// The identities on file that disagree with `patient` for its NHS number or MRN.
fn identity_mismatches(
    store: &Store,
    patient: &crate::domain::request::Patient,
) -> Result<Vec<IdentityMismatch>, StoreError> {
    if patient.is_unidentified() {
        return Ok(Vec::new());
    }
    let on_file = store.patients_on_file(patient.nhs_number.as_ref(), patient.mrn.as_deref())?;
    Ok(identity::mismatches(patient, &on_file))
}

/// Re-checks the form after a change: errors (only once a save has been tried), identity
/// mismatches with what is on file (as soon as an identifier and a detail are typed), the offer
/// to fill a known patient, and warnings once the form is complete.
pub(super) fn recheck_form(
    ready: &Ready,
    form: &mut FormState,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    form.touch_confirmation();
    let mut checked = form.draft.clone();
    checked.identity_reason.clear();
    let result = checked.validate(now, &Local, &ready.catalogue);
    if form.tried_save {
        form.errors = result.as_ref().err().cloned().unwrap_or_default();
    }
    form.mismatches.clear();
    form.suggestion = None;
    let nhs = NhsNumber::parse(&form.draft.nhs_number).ok();
    let mrn = form.draft.mrn.trim().to_uppercase();
    let mrn = (!mrn.is_empty()).then_some(mrn);
    let identified = !form.draft.unidentified && (nhs.is_some() || mrn.is_some());
    if identified && let Some(typed) = form.draft.typed_patient() {
        let on_file = ready.store.patients_on_file(nhs.as_ref(), mrn.as_deref())?;
        form.mismatches = identity::mismatches(&typed, &on_file)
            .iter()
            .map(|m| m.message(&typed))
            .collect();
    }
    if !form.draft.identity_reason.is_empty() && form.mismatches != form.reason_given_for {
        // The reason was given for other details: it does not carry over to these.
        form.draft.identity_reason.clear();
    }
    form.warnings = match &result {
        Ok(request) => {
            // The requests on file under this identifier are someone else's while the details
            // disagree: never call them "this patient's" (the mismatch box says what is wrong).
            // An emergency session sees no other request of anyone, this patient's included.
            let emergency = matches!(
                ready.store.principal(),
                Some(crate::domain::access::Principal::Emergency { .. })
            );
            let history = if form.mismatches.is_empty() && !emergency {
                ready
                    .store
                    .patient_history(&request.patient, request.uuid)?
            } else {
                PatientHistory::default()
            };
            warnings_for(request, &history)
                .iter()
                .map(|w| w.message())
                .collect()
        }
        Err(_) => Vec::new(),
    };
    if !identified {
        return Ok(());
    }
    if form.patient_details_blank() {
        let latest = ready
            .store
            .latest_request_for(nhs.as_ref(), mrn.as_deref())?;
        form.suggestion = latest.map(|request| Suggestion {
            patient: request.patient.clone(),
            request,
        });
    }
    Ok(())
}

fn import_catalogue(
    ready: &mut Ready,
    path: &std::path::Path,
    user: &str,
    now: DateTime<Utc>,
) -> Result<Result<String, String>, StoreError> {
    let text = match crate::files::read_limited_text(
        path,
        crate::files::TOML_MAX_BYTES,
        "a test catalogue",
    ) {
        Err(e) => return Ok(Err(error_chain(&e))),
        Ok(text) => text,
    };
    let catalogue = match Catalogue::from_toml(&text) {
        Err(e) => {
            return Ok(Err(format!(
                "{} was not imported: {e}. The catalogue in use is unchanged.",
                path.display()
            )));
        }
        Ok(c) => c,
    };
    if let Err(e) = ready.store.set_catalogue(&catalogue, user, now) {
        return Ok(Err(format!("Not imported: {}", error_chain(&e))));
    }
    ready.catalogue = ready.store.catalogue()?;
    Ok(Ok(format!(
        "Catalogue {} imported ({} tests) and now in use.",
        ready.catalogue.version,
        ready.catalogue.tests.len()
    )))
}

/// Re-reads the counts, ward list and training flag.
pub(super) fn refresh_counts(ready: &mut Ready) -> Result<(), StoreError> {
    ready.open_counts = ready.store.open_counts()?;
    // What changed may have made or settled a conflict: read the list again, off the frame.
    ready.conflicts.mark_stale();
    ready.training = ready.store.has_training_data()?;
    ready.wards_in_use = ready.store.wards_in_use()?;
    Ok(())
}

/// Re-reads the counts and the pages of the queue already held.
pub(super) fn refresh(
    ready: &mut Ready,
    queue: &mut QueueState,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    if matches!(
        ready.store.principal(),
        Some(crate::domain::access::Principal::Emergency { .. }) | None
    ) {
        // Nothing of the queue is read for an emergency session or a locked screen.
        return Ok(());
    }
    refresh_counts(ready)?;
    ready
        .queue
        .reload(&ready.store, queue, now, &ready.thresholds)
}
