//! Results phoned to the ward, on screen: on the request's detail panel, its times strip, the
//! results phoned so far and the form to log one (`form`); and the log of every phoned result,
//! the "Phoned (F9)" tab (`log`).
//!
//! The form is typed as a [`PhonedDraft`] and checked by the domain against the request as it
//! stands in the store when Save is pressed ([`record`]); the store checks again inside its
//! write. Read-back is never assumed: the person says "Read back" or "NOT read back", and a
//! result not read back is shown in red wherever it appears.

mod form;
mod log;

use chrono::{DateTime, Local, Utc};
use uuid::Uuid;

pub use form::{LOG_BUTTON, PhoneForm, phone_form_ui, read_back_badge, results_ui, times_ui};
pub use log::{LOG_TABLE_LABEL, NOT_READ_BACK_FILTER, PhonedLogState, phoned_tab};

use super::detail::{DetailState, Pending};
use crate::domain::phoned::PhonedDraft;
use crate::error::error_chain;
use crate::store::{RequestDetail, Store, StoreError};

/// Opens the form on the detail panel when it shows request `uuid`: phoned now by `user`. Any
/// status change being typed is put aside.
pub fn open(
    state: &mut DetailState,
    detail: Option<&RequestDetail>,
    uuid: Uuid,
    user: Option<&str>,
    now: DateTime<Utc>,
) {
    if let Some(d) = detail.filter(|d| d.state.request.uuid == uuid) {
        state.pending = Pending::Nothing;
        state.text.clear();
        state.error = None;
        state.phone = Some(PhoneForm::open(&d.state.request, user, now));
    }
}

/// Validates the typed result against request `uuid` as it stands now and records it under
/// `user`. A refusal (a field, or the store saying the sample is not in the lab) is shown on
/// the form, which stays open; on success the form closes and the log is read again. Returns
/// the request's detail after the change, when one was recorded.
pub fn record(
    store: &mut Store,
    detail: &mut DetailState,
    log: &mut PhonedLogState,
    uuid: Uuid,
    mut draft: PhonedDraft,
    user: &str,
    now: DateTime<Utc>,
) -> Result<Option<RequestDetail>, StoreError> {
    let Some(form) = &mut detail.phone else {
        return Ok(None);
    };
    if draft.phoned_by.trim().is_empty() {
        // Opened before anyone signed in: the person who signed in to save it phoned it.
        draft.phoned_by = user.to_owned();
        form.draft.phoned_by = user.to_owned();
    }
    let current = store
        .request_detail(uuid)?
        .ok_or_else(|| StoreError::UnknownRequest(uuid.to_string()))?;
    let result = match draft.validate(&current.state.request, now, &Local) {
        Ok(result) => result,
        Err(errors) => {
            form.refuse(errors);
            return Ok(None);
        }
    };
    match store.record_phoned(uuid, &result, user, now) {
        Ok(_) => {}
        Err(e @ (StoreError::Phoned(_) | StoreError::ReadOnly(_) | StoreError::DiskFull)) => {
            form.refused = Some(error_chain(&e));
            return Ok(None);
        }
        Err(e) => return Err(e),
    }
    detail.phone = None;
    detail.reveal_results = true;
    log.rows = None;
    store.request_detail(uuid)
}

/// Reads the log again with the screen's filter. A failure is shown on the screen (not
/// retried every frame).
pub fn load(store: &Store, log: &mut PhonedLogState) {
    match store.phoned_results(&log.filter()) {
        Ok(rows) => {
            log.failed = None;
            log.rows = Some(rows);
        }
        Err(e) => {
            log.failed = Some(error_chain(&e));
            log.rows = Some(Vec::new());
        }
    }
    log.locate_highlight();
}
