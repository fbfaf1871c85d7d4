//! What a screen can ask for. Screens push [`Action`]s while drawing; the shell runs them after the
//! frame, in one place (`app::dispatch`). Nothing here touches the store.

use std::path::PathBuf;

use uuid::Uuid;

use crate::domain::status::Transition;
use crate::report::ReportFormat;
use crate::store::Setup;

/// The app's tabs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Form,
    Queue,
    /// After recovery: export, reconcile, close-out.
    Lab,
    /// The lab bench: scan each sample's label to receive or reject it.
    Reception,
    /// Turnaround and backlog figures, overdue requests first (F5).
    Dashboard,
    /// Every result phoned to the wards, newest first (F9).
    Phoned,
    /// Send to the lab / receive from the wards through the handover folder.
    Handover,
    /// Clashes between PCs' records, each settled by a decision (F7).
    Conflicts,
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

/// Everything a screen can ask for. Run after the frame by the shell's dispatcher.
#[must_use]
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Save the workstation's set-up (first run, or wards edited in settings).
    Configure(Setup),
    /// Save the overdue thresholds typed in settings.
    SetOverdue {
        emergency: String,
        urgent: String,
    },
    /// Save the backup settings typed in settings: folder, minutes between backups, how many kept.
    SetBackup([String; 3]),
    ShowTab(Tab),
    /// Sign in the person at the keyboard with their account (staff ID and password as typed).
    SignIn {
        staff_id: String,
        password: zeroize::Zeroizing<String>,
    },
    /// A nurse with no account on this PC logs urgent requests (name and staff ID as typed).
    StartEmergency {
        staff_id: String,
        name: String,
    },
    /// Lock the screen now (every patient detail hidden until a password is entered).
    Lock,
    /// Open the encrypted database with an account (the gate, before anything is open).
    Unlock {
        staff_id: String,
        password: zeroize::Zeroizing<String>,
    },
    /// Open it with the recovery code.
    UnlockWithRecovery(zeroize::Zeroizing<String>),
    /// Make the first manager of a new database, or of a plain one being encrypted.
    CreateFirstManager {
        encrypt: bool,
        staff_id: String,
        name: String,
        password: zeroize::Zeroizing<String>,
        again: zeroize::Zeroizing<String>,
    },
    /// The recovery code is written down: on to the app.
    GateContinue,
    /// Ask who is at the keyboard (the sign-in box opens).
    ChangeUser,
    SignOut,
    /// Close the sign-in box without signing in.
    CancelSignIn,
    /// The form changed: re-check it, look the patient up, and mark the draft for saving.
    DraftChanged,
    /// Validate the form and save it as a request.
    SaveRequest,
    /// Fill the form from the most recent request for the typed NHS number or MRN (the patient,
    /// and the ward, consultant, requester and bleep where those are still blank).
    FillPatient,
    /// Save despite an identity mismatch, for this reason (recorded in the request's history).
    ConfirmIdentity(String),
    /// Go back to the form to correct the patient's details.
    CancelIdentity,
    ClearForm,
    DismissConfirmation,
    DismissRestored,
    /// Filter or sort changed: forget cached rows.
    QueueChanged,
    /// The queue needs rows starting at this offset (a multiple of the page size).
    LoadPage(u64),
    /// Read the queue again as at now, keeping the filter, the order and the rows in view: requests
    /// that have become overdue move to the top.
    RefreshQueue,
    SelectRequest(Uuid),
    CloseDetail,
    ChangeStatus(Uuid, Transition),
    ExportCatalogue(PathBuf),
    ImportCatalogue(PathBuf),
    DismissNotice,
    DismissRecovered,
    ShowLab(LabView),
    /// The export choices changed: count and preview again (after a short pause in typing).
    ExportChanged,
    /// Export with the chosen settings, in the background.
    StartExport,
    /// Stop the background export: no file is left under its name and nothing is recorded.
    CancelExport,
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
    /// Reception: look up the scanned or typed downtime ID (records nothing).
    ReceptionScan(String),
    /// Reception: record the sample on screen as received or rejected, under the signed-in user.
    ReceptionRecord(Uuid, Transition),
    /// Open the phoned-result form on the detail panel of this request (the signed-in user as
    /// who phoned).
    OpenPhoneForm(Uuid),
    /// Record the phoned result typed on the detail panel for this request.
    RecordPhoned(Uuid, crate::domain::phoned::PhonedDraft),
    /// Read the phoned-results log again with its filter.
    LoadPhoned,
    /// Reception: receive a sample whose request has not reached this PC, by its downtime ID,
    /// with the details typed from its paper form.
    ReceptionEarly(
        crate::domain::downtime_id::DowntimeId,
        crate::domain::early::EarlyDraft,
    ),
    /// Save the handover folder settings as typed.
    SetHandover {
        folder: String,
        watch: bool,
        interval: String,
    },
    /// Visit the handover folder now (after saving the typed settings if they changed): write
    /// this PC's bundle, take in the others', or both.
    HandoverNow {
        folder: String,
        watch: bool,
        interval: String,
        send: bool,
        receive: bool,
    },
    /// Record a decision on a conflict, under the signed-in user.
    SettleConflict {
        key: crate::domain::settle::ConflictKey,
        decision: crate::domain::settle::Decision,
        note: String,
    },
}
