//! Accounts and sign-in: the encrypted database made with its first manager, opened with an
//! account's password or the recovery code, users switched on an open store, the emergency
//! session, and the permission check every guarded store call makes first.
//!
//! The accounts table (name, staff ID, role) is inside the encrypted database, so a role cannot
//! be changed without the key; the key file beside it holds one sealed key per account
//! ([`super::keys`]). Failed sign-ins are counted in the key file, which is there before the
//! database can be opened: five in a row lock the account for a minute.

use std::path::Path;

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::keys::{self, DbKey, KdfParams, KeyError, KeyFile, RecoveryCode};
use super::{Store, StoreError};
use crate::domain::access::{Permission, Principal, Role, check_new_password, parse_staff_id};
use crate::domain::audit::AuditAction;

/// Failed sign-ins in a row that lock an account.
pub const LOCKOUT_FAILURES: u32 = 5;
/// How long a locked account stays locked.
pub const LOCKOUT_MS: i64 = 60_000;

/// An account on this PC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub staff_id: String,
    pub name: String,
    pub role: Role,
    pub added_ms: i64,
    pub added_by: String,
    /// When it was removed (it is kept, for the audit and the names in the history).
    pub removed_ms: Option<i64>,
}

/// An account to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAccount {
    pub staff_id: String,
    pub name: String,
    pub role: Role,
}

/// Why an account was not added or changed.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error(
        "the staff ID '{0}' is not usable: 2 to 20 letters, digits or dashes, as on the staff badge"
    )]
    BadStaffId(String),
    #[error("the name is required")]
    NoName,
    #[error("the name cannot be used")]
    BadName(#[from] crate::domain::text::TextError),
    #[error(transparent)]
    Password(#[from] crate::domain::access::PasswordProblem),
    #[error("{0} already has an account on this PC")]
    Exists(String),
    #[error("there is no account {0} on this PC")]
    Unknown(String),
    #[error("{0} is the only manager: add another manager before removing this one")]
    LastManager(String),
    #[error("you cannot remove your own account: ask another manager")]
    Yourself,
    #[error("the screen locks after 1 to 60 minutes away; {0} is not allowed")]
    BadLockMinutes(i64),
}

impl NewAccount {
    /// Checks the typed account and its first password.
    pub fn checked(
        staff_id: &str,
        name: &str,
        role: Role,
        password: &str,
    ) -> Result<NewAccount, AccountError> {
        let staff_id =
            parse_staff_id(staff_id).ok_or_else(|| AccountError::BadStaffId(staff_id.into()))?;
        let name = clean_name(name)?;
        check_new_password(password, &staff_id, &name)?;
        Ok(NewAccount {
            staff_id,
            name,
            role,
        })
    }
}

fn clean_name(typed: &str) -> Result<String, AccountError> {
    let name = crate::domain::text::clean(typed, 80, false)?;
    if name.trim().is_empty() {
        return Err(AccountError::NoName);
    }
    Ok(name.trim().to_owned())
}

fn role_of(word: &str) -> Result<Role, StoreError> {
    Role::parse(word).ok_or_else(|| StoreError::Corrupt(format!("unknown role '{word}'")))
}

impl Store {
    /// Makes a new encrypted database at `path` with its first manager, and the recovery code
    /// (to be shown once). The key file is written first: a database is never made that no
    /// slot opens. A key file left by a set-up that never made its database is replaced.
    pub fn create_protected(
        path: &Path,
        first: &NewAccount,
        password: &str,
        kdf: KdfParams,
        now: DateTime<Utc>,
    ) -> Result<(Store, RecoveryCode), StoreError> {
        if path.metadata().is_ok_and(|m| m.len() > 0) {
            return Err(StoreError::AlreadyExists {
                path: path.to_owned(),
            });
        }
        let key = DbKey::random()?;
        let mut file = KeyFile::new(path);
        let ms = now.timestamp_millis();
        file.set_account(&first.staff_id, password, &key, kdf, ms, false)?;
        let code = file.new_recovery(&key, kdf, ms)?;
        Self::create_private_folder(path)?;
        file.save()?;
        keys::remember(path, key);
        let mut store = Store::open_or_create(path)?;
        store.conn.execute(
            "INSERT INTO accounts(staff_id, name, role, added_ms, added_by)
             VALUES (?1, ?2, ?3, ?4, 'set-up')",
            params![first.staff_id, first.name, first.role.word(), ms],
        )?;
        store.principal = Some(Principal::Account {
            staff_id: first.staff_id.clone(),
            name: first.name.clone(),
            role: first.role,
        });
        Ok((store, code))
    }

    /// Opens the encrypted database at `path` as `staff_id`. Wrong password, unknown staff ID,
    /// a missing key file and a damaged file are different errors; a locked account is refused
    /// before its password is tried.
    pub fn unlock(
        path: &Path,
        staff_id: &str,
        password: &str,
        now: DateTime<Utc>,
    ) -> Result<Store, StoreError> {
        let staff_id = parse_staff_id(staff_id).unwrap_or_else(|| staff_id.trim().to_owned());
        let mut file = KeyFile::read(path)?;
        let (key, failures) = Self::try_slot(&mut file, &staff_id, password, now)?;
        keys::remember(path, key);
        let mut store = Store::open_beside(path)?;
        let principal = store.account_principal(&staff_id)?;
        store.principal = Some(principal.clone());
        store.audit_sign_in(&principal, failures, now)?;
        Ok(store)
    }

    /// Opens the encrypted database at `path` with the recovery code: as a manager, to add or
    /// reset accounts when every manager's password is lost.
    pub fn unlock_with_recovery(path: &Path, code: &str) -> Result<Store, StoreError> {
        let file = KeyFile::read(path)?;
        let key = file.unlock_with_recovery(code)?;
        keys::remember(path, key);
        let mut store = Store::open_beside(path)?;
        store.principal = Some(Principal::Account {
            staff_id: "RECOVERY".into(),
            name: "Recovery code".into(),
            role: Role::Manager,
        });
        Ok(store)
    }

    /// One attempt at `staff_id`'s slot, counted: a failure is recorded in the key file, and
    /// the fifth in a row locks the account for a minute.
    fn try_slot(
        file: &mut KeyFile,
        staff_id: &str,
        password: &str,
        now: DateTime<Utc>,
    ) -> Result<(DbKey, Option<u32>), StoreError> {
        let ms = now.timestamp_millis();
        if let Some(until) = file.locked_until(staff_id, ms) {
            return Err(StoreError::AccountLocked {
                staff_id: staff_id.to_owned(),
                seconds: ((until - ms) / 1000).max(1),
            });
        }
        match file.unlock(staff_id, password) {
            Ok(key) => {
                let failures = file.clear_failures(staff_id);
                if failures.is_some() {
                    file.save()?;
                }
                Ok((key, failures))
            }
            Err(e @ KeyError::WrongPassword { .. }) => {
                file.record_failure(staff_id, ms, LOCKOUT_FAILURES, LOCKOUT_MS);
                file.save()?;
                Err(e.into())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Signs `staff_id` in on this open store (a user switch, or unlocking the locked screen):
    /// the password is checked against the account's own slot.
    pub fn sign_in(
        &mut self,
        staff_id: &str,
        password: &str,
        now: DateTime<Utc>,
    ) -> Result<Principal, StoreError> {
        let staff_id = parse_staff_id(staff_id).unwrap_or_else(|| staff_id.trim().to_owned());
        let mut file = KeyFile::read(&self.path)?;
        let failures = match Self::try_slot(&mut file, &staff_id, password, now) {
            Ok((_, failures)) => failures,
            Err(e) => {
                // The database is open here, so a refusal is audited at once.
                let action = match &e {
                    StoreError::AccountLocked { .. } => AuditAction::AccountLocked,
                    _ => AuditAction::SignInFailed,
                };
                if self.read_only.is_none() {
                    self.audit(
                        action,
                        &staff_id,
                        "",
                        "",
                        &crate::error::error_chain(&e),
                        now,
                    )?;
                }
                return Err(e);
            }
        };
        let principal = self.account_principal(&staff_id)?;
        self.principal = Some(principal.clone());
        self.audit_sign_in(&principal, failures, now)?;
        Ok(principal)
    }

    /// A nurse with no account logs an urgent request: only requests can be made, and only their
    /// confirmations seen, until someone signs in.
    pub fn start_emergency(
        &mut self,
        staff_id: &str,
        name: &str,
        now: DateTime<Utc>,
    ) -> Result<Principal, StoreError> {
        let staff_id = parse_staff_id(staff_id)
            .ok_or_else(|| AccountError::BadStaffId(staff_id.to_owned()))?;
        let name = clean_name(name)?;
        let principal = Principal::Emergency { staff_id, name };
        self.principal = Some(principal.clone());
        if self.read_only.is_none() {
            self.audit(
                AuditAction::EmergencySession,
                principal.staff_id(),
                &principal.recorded_name(),
                "",
                "no account on this PC: may only log requests; check this person with the ward",
                now,
            )?;
        }
        Ok(principal)
    }

    /// Nobody is signed in (the screen locked): every guarded call is refused until a sign-in.
    pub fn sign_out(&mut self) {
        self.principal = None;
    }

    /// Locks: audited with who was signed in and why, then nobody is.
    pub fn lock(&mut self, why: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        if let Some(p) = self.principal.take()
            && self.read_only.is_none()
            && !matches!(p, Principal::System)
        {
            self.audit(
                AuditAction::Locked,
                p.staff_id(),
                &p.recorded_name(),
                "",
                why,
                now,
            )?;
        }
        Ok(())
    }

    fn audit_sign_in(
        &mut self,
        p: &Principal,
        failures: Option<u32>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if self.read_only.is_some() {
            return Ok(());
        }
        let detail = match failures {
            Some(n) if n > 0 => format!("after {n} failed sign-ins in a row"),
            _ => String::new(),
        };
        self.audit(
            AuditAction::SignIn,
            p.staff_id(),
            &p.recorded_name(),
            "",
            &detail,
            now,
        )?;
        Ok(())
    }

    /// Who the store is working for; `None` while locked.
    pub fn principal(&self) -> Option<&Principal> {
        self.principal.as_ref()
    }

    /// For tests and tools: work as `principal` without a password.
    #[doc(hidden)]
    pub fn act_as(&mut self, principal: Principal) {
        self.principal = Some(principal);
    }

    /// Refuses `p` unless whoever is signed in may do it. Called first by every guarded call,
    /// so a refusal holds for the app, the CLI and any other caller alike.
    pub(crate) fn require(&self, p: Permission) -> Result<(), StoreError> {
        match &self.principal {
            None => Err(StoreError::SignedOut),
            Some(who) => Ok(who.require(p)?),
        }
    }

    fn account_principal(&self, staff_id: &str) -> Result<Principal, StoreError> {
        let row: Option<(String, String, Option<i64>)> = self
            .conn
            .query_row(
                "SELECT name, role, removed_ms FROM accounts WHERE staff_id = ?1",
                [staff_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        match row {
            Some((name, role, None)) => Ok(Principal::Account {
                staff_id: staff_id.to_owned(),
                name,
                role: role_of(&role)?,
            }),
            Some((_, _, Some(_))) => Err(KeyError::Removed {
                staff_id: staff_id.to_owned(),
            }
            .into()),
            None => Err(KeyError::UnknownUser {
                staff_id: staff_id.to_owned(),
            }
            .into()),
        }
    }

    /// Every account, removed ones too, in the order they were added.
    pub fn accounts(&self) -> Result<Vec<Account>, StoreError> {
        let mut st = self.conn.prepare(
            "SELECT staff_id, name, role, added_ms, added_by, removed_ms FROM accounts
             ORDER BY added_ms, staff_id",
        )?;
        let rows = st.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, Option<i64>>(5)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (staff_id, name, role, added_ms, added_by, removed_ms) = row?;
            out.push(Account {
                staff_id,
                name,
                role: role_of(&role)?,
                added_ms,
                added_by,
                removed_ms,
            });
        }
        Ok(out)
    }

    fn current_key(&self) -> Result<DbKey, StoreError> {
        keys::remembered(&self.path).ok_or(StoreError::SignedOut)
    }

    /// Adds an account with its own key slot (a manager only).
    pub fn add_account(
        &mut self,
        new: &NewAccount,
        password: &str,
        kdf: KdfParams,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.require(Permission::ManageUsers)?;
        let live: Option<Option<i64>> = self
            .conn
            .query_row(
                "SELECT removed_ms FROM accounts WHERE staff_id = ?1",
                [&new.staff_id],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(None) = live {
            return Err(AccountError::Exists(new.staff_id.clone()).into());
        }
        let key = self.current_key()?;
        // A database made without accounts (tests, tools) gets its key file with the first one.
        let mut file = match KeyFile::read(&self.path) {
            Err(KeyError::MissingKeyFile { .. }) => KeyFile::new(&self.path),
            other => other?,
        };
        let ms = now.timestamp_millis();
        file.set_account(&new.staff_id, password, &key, kdf, ms, true)?;
        let (_, by) = self.who();
        self.write(|c| {
            c.execute(
                "INSERT INTO accounts(staff_id, name, role, added_ms, added_by) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT(staff_id) DO UPDATE SET name = excluded.name, role = excluded.role,
                     added_ms = excluded.added_ms, added_by = excluded.added_by,
                     removed_ms = NULL, removed_by = NULL",
                params![new.staff_id, new.name, new.role.word(), ms, by],
            )?;
            // Saved inside the transaction: if the key file cannot be written, no account row.
            file.save()?;
            Ok(())
        })?;
        let (id, name) = self.who();
        let detail = format!("{} ({} account)", new.name, new.role);
        self.audit(
            AuditAction::UserAdded,
            &id,
            &name,
            &new.staff_id,
            &detail,
            now,
        )?;
        Ok(())
    }

    fn who(&self) -> (String, String) {
        self.principal.as_ref().map_or_else(Default::default, |p| {
            (p.staff_id().to_owned(), p.recorded_name())
        })
    }

    /// A manager sets a new password for `staff_id` (a new key slot; the old one no longer
    /// opens). The password is never read back: there is nothing to read.
    pub fn reset_password(
        &mut self,
        staff_id: &str,
        password: &str,
        kdf: KdfParams,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.require(Permission::ManageUsers)?;
        let account = self
            .accounts()?
            .into_iter()
            .find(|a| a.staff_id == staff_id && a.removed_ms.is_none())
            .ok_or_else(|| AccountError::Unknown(staff_id.to_owned()))?;
        check_new_password(password, &account.staff_id, &account.name)
            .map_err(AccountError::from)?;
        let key = self.current_key()?;
        let mut file = KeyFile::read(&self.path)?;
        file.set_account(staff_id, password, &key, kdf, now.timestamp_millis(), true)?;
        file.clear_failures(staff_id);
        file.save()?;
        let (id, name) = self.who();
        self.audit(
            AuditAction::PasswordReset,
            &id,
            &name,
            staff_id,
            "new key slot",
            now,
        )?;
        Ok(())
    }

    /// Removes `staff_id`: its slot is deleted, so its password no longer opens the database;
    /// the account row stays (marked removed) for the history. Never the last manager.
    pub fn remove_account(&mut self, staff_id: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.require(Permission::ManageUsers)?;
        if self.principal.as_ref().map(Principal::staff_id) == Some(staff_id) {
            return Err(AccountError::Yourself.into());
        }
        let accounts = self.accounts()?;
        let target = accounts
            .iter()
            .find(|a| a.staff_id == staff_id && a.removed_ms.is_none())
            .ok_or_else(|| AccountError::Unknown(staff_id.to_owned()))?;
        let managers = accounts
            .iter()
            .filter(|a| a.role == Role::Manager && a.removed_ms.is_none())
            .count();
        if target.role == Role::Manager && managers <= 1 {
            return Err(AccountError::LastManager(staff_id.to_owned()).into());
        }
        let mut file = KeyFile::read(&self.path)?;
        let ms = now.timestamp_millis();
        file.remove_account(staff_id, ms);
        let (_, by) = self.who();
        self.write(|c| {
            c.execute(
                "UPDATE accounts SET removed_ms = ?2, removed_by = ?3 WHERE staff_id = ?1",
                params![staff_id, ms, by],
            )?;
            file.save()?;
            Ok(())
        })?;
        let (id, name) = self.who();
        self.audit(
            AuditAction::UserRemoved,
            &id,
            &name,
            staff_id,
            "key slot deleted",
            now,
        )?;
        Ok(())
    }

    /// Minutes away after which the app locks (default 5).
    pub fn auto_lock_minutes(&self) -> Result<i64, StoreError> {
        Ok(self
            .setting("auto_lock_minutes")?
            .and_then(|v| v.parse().ok())
            .filter(|m| (1..=60).contains(m))
            .unwrap_or(5))
    }

    /// Sets the minutes away after which the app locks: 1 to 60 (a manager only).
    pub fn set_auto_lock_minutes(
        &mut self,
        minutes: i64,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.require(Permission::Settings)?;
        if !(1..=60).contains(&minutes) {
            return Err(AccountError::BadLockMinutes(minutes).into());
        }
        self.conn.execute(
            "INSERT INTO settings(key, value) VALUES ('auto_lock_minutes', ?1)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [minutes.to_string()],
        )?;
        let (id, name) = self.who();
        self.audit(
            AuditAction::SettingsChanged,
            &id,
            &name,
            "auto-lock",
            &format!("{minutes} minutes"),
            now,
        )?;
        Ok(())
    }

    /// A new recovery code (the old one stops working), shown once (a manager only).
    pub fn new_recovery_code(&mut self, now: DateTime<Utc>) -> Result<RecoveryCode, StoreError> {
        self.require(Permission::ManageUsers)?;
        let key = self.current_key()?;
        let mut file = KeyFile::read(&self.path)?;
        let code = file.new_recovery(&key, KdfParams::STANDARD, now.timestamp_millis())?;
        file.save()?;
        Ok(code)
    }
}
