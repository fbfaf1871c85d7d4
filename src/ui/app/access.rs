//! Who may see and do what in the app: the gate before the database is open (sign in, recovery
//! code, first manager, encrypting a plain database), sign-in and user switch on the open store,
//! the emergency session, and the lock after minutes away. The store enforces the roles; this
//! only keeps the screen in step with who is signed in.

use std::path::Path;

use chrono::{DateTime, Utc};
use egui::{RichText, Ui};

use super::super::action::{Action, Tab};
use super::super::gate::Gate;
use super::super::sign_in::{DEFAULT_AUTO_LOCK_MINUTES, SignedIn};
use super::super::widgets;
use super::{Notice, StopgapApp, dispatch};
use crate::domain::access::{Principal, Role};
use crate::error::error_chain;
use crate::store::{FileKind, KdfParams, KeyFile, NewAccount, Store, StoreError, file_kind, keys};

/// Where the app starts for the file at `path`: the gate, or `None` to open it at once (a key
/// this process already holds, or a file that cannot be read, whose error the open will say).
/// A file that is neither SQLite nor has a key file beside it cannot be signed in to: the
/// problem screen says which (damaged, or its key file missing).
pub(super) fn gate_for(path: &Path) -> Result<Option<Gate>, StoreError> {
    crate::store::recover_interrupted(path)?;
    if keys::remembered(path).is_some() {
        return Ok(None);
    }
    Ok(match file_kind(path)? {
        FileKind::Encrypted if KeyFile::exists(path) => Some(Gate::unlock()),
        FileKind::Encrypted => {
            // Either an encrypted database without its key file, or not a database at all.
            return Err(StoreError::Damaged {
                path: path.to_owned(),
                details: format!(
                    "it is not a plain SQLite file and there is no key file {} beside it, so it is either not a Stopgap database or an encrypted one whose key file was not copied with it",
                    keys::key_file_path(path).display()
                ),
            });
        }
        FileKind::New => Some(Gate::first_manager(false)),
        FileKind::Plaintext => Some(Gate::first_manager(true)),
    })
}

impl StopgapApp {
    /// Runs the sign-in, lock and gate actions.
    pub(super) fn access_action(
        &mut self,
        action: Action,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        match action {
            Action::SignIn { staff_id, password } => {
                let Ok(ready) = &mut self.ready else {
                    return Ok(());
                };
                match ready.store.sign_in(&staff_id, &password, now) {
                    Ok(principal) => {
                        let then = self.sign_in.then.take();
                        self.signed_in(principal, now)?;
                        if let Some(then) = then {
                            self.apply(*then, now);
                        }
                    }
                    Err(e) => self.sign_in.refused(error_chain(&e)),
                }
            }
            Action::StartEmergency { staff_id, name } => {
                let Ok(ready) = &mut self.ready else {
                    return Ok(());
                };
                match ready.store.start_emergency(&staff_id, &name, now) {
                    Ok(principal) => {
                        self.signed_in(principal, now)?;
                        self.tab = Tab::Form;
                        self.screens.form.focus = Some(self.screens.form.first_focus());
                    }
                    Err(e) => self.sign_in.error = Some(error_chain(&e)),
                }
            }
            Action::Lock | Action::SignOut => self.lock_now("locked by the user", None, now)?,
            Action::ChangeUser => self.sign_in.open(None),
            Action::CancelSignIn => {
                self.sign_in.close();
                self.refocus_form();
            }
            Action::Unlock { staff_id, password } => {
                match Store::unlock(&self.db_path, &staff_id, &password, now) {
                    Ok(store) => self.through_gate(store, now)?,
                    Err(e) => self.refuse_at_gate(&e),
                }
            }
            Action::UnlockWithRecovery(code) => {
                match Store::unlock_with_recovery(&self.db_path, &code) {
                    Ok(store) => self.through_gate(store, now)?,
                    Err(e) => self.refuse_at_gate(&e),
                }
            }
            Action::CreateFirstManager {
                encrypt,
                staff_id,
                name,
                password,
                again,
            } => self.create_first_manager(encrypt, &staff_id, &name, &password, &again, now)?,
            Action::GateContinue => {
                if let Some(store) = self.gate_store.take() {
                    self.through_gate(store, now)?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn refuse_at_gate(&mut self, e: &StoreError) {
        if let Some(gate) = &mut self.gate {
            gate.refused(error_chain(e));
        }
    }

    fn create_first_manager(
        &mut self,
        encrypt: bool,
        staff_id: &str,
        name: &str,
        password: &str,
        again: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let checked = NewAccount::checked(staff_id, name, Role::Manager, password).and_then(|a| {
            if password == again {
                Ok(a)
            } else {
                Err(crate::domain::access::PasswordProblem::Mismatch.into())
            }
        });
        let account = match checked {
            Ok(a) => a,
            Err(e) => {
                self.refuse_at_gate(&e.into());
                return Ok(());
            }
        };
        let made = if encrypt {
            Store::encrypt_in_place(&self.db_path, &account, password, KdfParams::STANDARD, now).map(
                |(store, code, report)| {
                    let rows: i64 = report.rows.iter().map(|(_, n)| n).sum();
                    let note = format!(
                        "Encrypted in place: {rows} rows in {} tables copied and checked; the plain file was overwritten and removed.",
                        report.rows.len()
                    );
                    (store, code, Some(note))
                },
            )
        } else {
            Store::create_protected(&self.db_path, &account, password, KdfParams::STANDARD, now)
                .map(|(store, code)| (store, code, None))
        };
        match made {
            Ok((store, code, note)) => {
                self.gate_store = Some(store);
                self.gate = Some(Gate::RecoveryCode {
                    code: code.display(),
                    written: false,
                    note,
                });
            }
            Err(e) => self.refuse_at_gate(&e),
        }
        Ok(())
    }

    /// The database is open: the app starts on it, with whoever opened it signed in.
    fn through_gate(&mut self, store: Store, now: DateTime<Utc>) -> Result<(), StoreError> {
        let principal = store.principal().cloned();
        let path = self.db_path.clone();
        *self = StopgapApp::opened(&path, Ok(store));
        if let Some(principal @ Principal::Account { .. }) = principal
            && let Ok(ready) = &mut self.ready
        {
            ready.store.act_as(principal.clone());
            self.signed_in(principal, now)?;
        }
        Ok(())
    }

    /// Someone signed in (or began an emergency session): the screens show their work.
    fn signed_in(&mut self, principal: Principal, now: DateTime<Utc>) -> Result<(), StoreError> {
        let user = SignedIn::new(principal, now);
        self.screens.form.set_user(Some(&user.name));
        let emergency = user.is_emergency();
        self.user = Some(user);
        self.sign_in.close();
        self.refocus_form();
        if let Ok(ready) = &mut self.ready
            && !emergency
            && ready.setup.is_some()
        {
            dispatch::refresh(ready, &mut self.screens.queue, now)?;
        }
        Ok(())
    }

    /// Minutes away after which the screen locks (the setting, or the default).
    fn lock_after(&self) -> i64 {
        match &self.ready {
            Ok(r) => r
                .store
                .auto_lock_minutes()
                .unwrap_or(DEFAULT_AUTO_LOCK_MINUTES),
            Err(_) => DEFAULT_AUTO_LOCK_MINUTES,
        }
    }

    /// Locks whoever has been away too long: nothing is seen or recorded under them.
    pub(super) fn expire_sign_in(&mut self, now: DateTime<Utc>) {
        let lock_after = self.lock_after();
        if let Some(user) = &self.user
            && let Some(why) = user.expired(now, lock_after)
            && let Err(e) = self.lock_now(&why.clone(), Some(why), now)
        {
            self.notice = Some(Notice::error(error_chain(&e)));
        }
    }

    /// Locks: the store refuses everything, every patient detail is hidden, the draft is kept.
    fn lock_now(
        &mut self,
        why: &str,
        reason: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.user = None;
        self.screens.form.set_user(None);
        self.sign_in.open_locked(reason);
        if let Ok(ready) = &mut self.ready {
            ready.detail = None;
            ready.store.lock(why, now)?;
        }
        Ok(())
    }

    /// Whether a tab may be shown to whoever is signed in: an emergency session has the form
    /// only. (Locked, nothing is shown, and the tab is kept for whoever signs in next.)
    pub(super) fn may_show(&self, tab: Tab) -> bool {
        match &self.user {
            Some(u) if u.is_emergency() => tab == Tab::Form,
            _ => true,
        }
    }
}

/// The locked screen: no patient detail, only what to do.
pub(super) fn locked_ui(ui: &mut Ui) {
    ui.add_space(80.0);
    ui.vertical_centered(|ui| {
        ui.label(
            RichText::new("Requests are hidden while Stopgap is locked")
                .size(24.0)
                .strong(),
        );
        ui.label(
            RichText::new("Sign in to see them. A form being typed is kept.").color(widgets::MUTED),
        );
    });
}
