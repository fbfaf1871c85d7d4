//! `stopgap encrypt` and `stopgap users`: the accounts on this PC, for managers. Every change
//! goes through the store, which refuses it unless a manager is signed in, and is audited under
//! that manager.

use std::io::Write;
use std::path::Path;

use anyhow::Result;
use chrono::{DateTime, TimeZone as _, Utc};

use super::Outcome;
use super::auth;
use crate::domain::access::{Permission, Role};
use crate::domain::audit::AuditAction;
use crate::domain::text::visible;
use crate::store::{NewAccount, Store};

/// The account commands, flattened into the top level (`stopgap encrypt`, `stopgap users`).
#[derive(Debug, clap::Subcommand)]
pub enum AccountCommand {
    /// Encrypt an older Stopgap's plain database in place, with you (--user) as its first
    /// manager: every row is copied and counted, then the plain file is overwritten and
    /// removed. Prints the recovery code once: write it down.
    Encrypt {
        /// Your full name, as events will record it.
        #[arg(long, value_name = "FULL NAME")]
        name: String,
    },
    /// The accounts on this PC: staff ID, name, role, when added and removed (managers only).
    /// `users add`, `users reset`, `users remove`, `users recovery` change them.
    Users {
        #[command(subcommand)]
        action: Option<UsersAction>,
    },
}

/// `stopgap users …`.
#[derive(Debug, clap::Subcommand)]
pub enum UsersAction {
    /// Add an account. Its first password is read from STOPGAP_NEW_PASSWORD or asked twice.
    Add {
        /// The new user's staff ID, as on the badge.
        staff_id: String,
        /// The new user's full name.
        #[arg(long, value_name = "FULL NAME")]
        name: String,
        /// ward (log, print, cancel; see the ward's queue), lab (receive, reject, phoned
        /// results; see all) or manager (also export, reconcile, close-out, users, settings).
        #[arg(long, value_parser = parse_role)]
        role: Role,
    },
    /// Set a new password for an account (from STOPGAP_NEW_PASSWORD or asked twice); the old
    /// one stops opening the database.
    Reset {
        /// The staff ID.
        staff_id: String,
    },
    /// Remove an account: its password no longer opens the database; its name stays in the
    /// history.
    Remove {
        /// The staff ID.
        staff_id: String,
    },
    /// Make a new recovery code (the old one stops working), shown once.
    Recovery,
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| format!("'{s}' is not a role: use ward, lab or manager"))
}

pub(super) fn run(
    command: AccountCommand,
    db: &Path,
    user: Option<&str>,
    now: DateTime<Utc>,
    out: &mut dyn Write,
) -> Result<Outcome> {
    match command {
        AccountCommand::Encrypt { name } => super::setup::encrypt(db, user, &name, now, out),
        AccountCommand::Users { action } => {
            let mut store = auth::open(db, user, now)?;
            match action {
                None => list(&store, out),
                Some(UsersAction::Add {
                    staff_id,
                    name,
                    role,
                }) => add(&mut store, &staff_id, &name, role, now, out),
                Some(UsersAction::Reset { staff_id }) => reset(&mut store, &staff_id, now, out),
                Some(UsersAction::Remove { staff_id }) => remove(&mut store, &staff_id, now, out),
                Some(UsersAction::Recovery) => recovery(&mut store, now, out),
            }
        }
    }
}

fn when(ms: i64) -> String {
    Utc.timestamp_millis_opt(ms).single().map_or_else(
        || ms.to_string(),
        |t| t.format("%Y-%m-%d %H:%M").to_string(),
    )
}

fn list(store: &Store, out: &mut dyn Write) -> Result<Outcome> {
    // The store lists accounts for the app's sign-in box too; the list with its history is a
    // manager's.
    if let Some(p) = store.principal() {
        p.require(Permission::ManageUsers)?;
    }
    let accounts = store.accounts()?;
    writeln!(
        out,
        "{:<20}  {:<30}  {:<8}  {:<17}  REMOVED (UTC)",
        "STAFF ID", "NAME", "ROLE", "ADDED (UTC)"
    )?;
    for a in &accounts {
        writeln!(
            out,
            "{:<20}  {:<30}  {:<8}  {:<17}  {}",
            a.staff_id,
            super::commands::truncate(&visible(&a.name), 30),
            a.role.word(),
            when(a.added_ms),
            a.removed_ms.map_or_else(|| "-".to_owned(), when)
        )?;
    }
    writeln!(out, "{} account(s).", accounts.len())?;
    Ok(Outcome::Success)
}

/// An audit record of an account change, under the signed-in manager.
fn audited(
    store: &mut Store,
    action: AuditAction,
    subject: &str,
    detail: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let (staff_id, name) = auth::audit_user(store);
    store.audit(action, &staff_id, &name, subject, detail, now)?;
    Ok(())
}

fn add(
    store: &mut Store,
    staff_id: &str,
    name: &str,
    role: Role,
    now: DateTime<Utc>,
    out: &mut dyn Write,
) -> Result<Outcome> {
    // Refused before a password is asked for, when the signed-in user may not add accounts.
    if let Some(p) = store.principal() {
        p.require(Permission::ManageUsers)?;
    }
    let password = auth::new_password(auth::NEW_PASSWORD_ENV, staff_id)?;
    let new = NewAccount::checked(staff_id, name, role, &password)?;
    store.add_account(&new, &password, auth::kdf(), now)?;
    audited(
        store,
        AuditAction::UserAdded,
        &new.staff_id,
        &format!("{} as {}", new.name, new.role),
        now,
    )?;
    writeln!(
        out,
        "Added {} ({}) as a {} account: they sign in with --user {} and their password.",
        visible(&new.name),
        new.staff_id,
        new.role,
        new.staff_id
    )?;
    Ok(Outcome::Success)
}

fn reset(
    store: &mut Store,
    staff_id: &str,
    now: DateTime<Utc>,
    out: &mut dyn Write,
) -> Result<Outcome> {
    if let Some(p) = store.principal() {
        p.require(Permission::ManageUsers)?;
    }
    let staff_id = auth::parse_staff(staff_id).map_err(anyhow::Error::msg)?;
    let password = auth::new_password(auth::NEW_PASSWORD_ENV, &staff_id)?;
    store.reset_password(&staff_id, &password, auth::kdf(), now)?;
    audited(
        store,
        AuditAction::PasswordReset,
        &staff_id,
        "new key slot",
        now,
    )?;
    writeln!(
        out,
        "New password set for {staff_id}: the old one no longer opens the database."
    )?;
    Ok(Outcome::Success)
}

fn remove(
    store: &mut Store,
    staff_id: &str,
    now: DateTime<Utc>,
    out: &mut dyn Write,
) -> Result<Outcome> {
    let staff_id = auth::parse_staff(staff_id).map_err(anyhow::Error::msg)?;
    store.remove_account(&staff_id, now)?;
    audited(
        store,
        AuditAction::UserRemoved,
        &staff_id,
        "key slot deleted",
        now,
    )?;
    writeln!(
        out,
        "Removed {staff_id}: their password no longer opens the database; their name stays in the history."
    )?;
    Ok(Outcome::Success)
}

fn recovery(store: &mut Store, now: DateTime<Utc>, out: &mut dyn Write) -> Result<Outcome> {
    let code = store.new_recovery_code(now)?;
    audited(
        store,
        AuditAction::SettingsChanged,
        "recovery code",
        "a new recovery code was made; the old one no longer opens the database",
        now,
    )?;
    auth::print_recovery_code(&code, out)?;
    Ok(Outcome::Success)
}
