//! Who may do what: accounts, roles and the permissions each role has, the emergency session of a
//! nurse with no account, and the password rules. Pure: the store asks these before it writes or
//! reads, so a refusal holds whatever calls the library (the app, the CLI, a test).

use std::fmt;

/// A role, stored as its word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Nurses, phlebotomists, doctors: log, print, cancel their ward's requests, see its queue.
    Ward,
    /// Lab staff: receive, reject, phoned results, see every request.
    Lab,
    /// Lab managers: everything, and export, reconcile, close-out, purge, users, settings.
    Manager,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Ward, Role::Lab, Role::Manager];

    pub fn word(self) -> &'static str {
        match self {
            Role::Ward => "ward",
            Role::Lab => "lab",
            Role::Manager => "manager",
        }
    }

    pub fn parse(word: &str) -> Option<Role> {
        Role::ALL
            .into_iter()
            .find(|r| r.word().eq_ignore_ascii_case(word.trim()))
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }
}

/// Something the store may be asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Log a new request (and see its confirmation).
    CreateRequest,
    /// Print a request's form or labels.
    Print,
    /// Cancel a request (a ward account: only its ward's).
    Cancel,
    /// See the queue and requests' details (a ward account: only its ward's).
    ViewQueue,
    /// Receive or reject a sample, record a phoned result, settle a conflict.
    LabWork,
    /// Export the backlog or rerun a batch.
    Export,
    /// Record LIMS accession numbers.
    Reconcile,
    /// Close out the downtime.
    CloseOut,
    /// Erase the patient details of reconciled requests.
    Purge,
    /// Add, remove or reset accounts.
    ManageUsers,
    /// Workstation set-up, thresholds, backups, the handover folder, the catalogue.
    Settings,
    /// Read the audit.
    ViewAudit,
}

impl Permission {
    /// What the permission is, for a refusal: "export the backlog".
    pub fn words(self) -> &'static str {
        match self {
            Permission::CreateRequest => "log a request",
            Permission::Print => "print",
            Permission::Cancel => "cancel a request",
            Permission::ViewQueue => "see the queue",
            Permission::LabWork => "record lab work (receipt, rejection, phoned results)",
            Permission::Export => "export the backlog",
            Permission::Reconcile => "reconcile with the LIMS",
            Permission::CloseOut => "close out the downtime",
            Permission::Purge => "purge patient details",
            Permission::ManageUsers => "manage accounts",
            Permission::Settings => "change settings",
            Permission::ViewAudit => "read the audit",
        }
    }

    /// The least role that has it (roles are nested: a manager has everything).
    fn least_role(self) -> Role {
        match self {
            Permission::CreateRequest
            | Permission::Print
            | Permission::Cancel
            | Permission::ViewQueue => Role::Ward,
            Permission::LabWork => Role::Lab,
            Permission::Export
            | Permission::Reconcile
            | Permission::CloseOut
            | Permission::Purge
            | Permission::ManageUsers
            | Permission::Settings
            | Permission::ViewAudit => Role::Manager,
        }
    }
}

impl Role {
    fn rank(self) -> u8 {
        match self {
            Role::Ward => 0,
            Role::Lab => 1,
            Role::Manager => 2,
        }
    }

    pub fn allows(self, p: Permission) -> bool {
        self.rank() >= p.least_role().rank()
    }
}

/// Whoever the store is working for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// A signed-in account.
    Account {
        staff_id: String,
        name: String,
        role: Role,
    },
    /// A nurse with no account on this PC logging an urgent request: name and staff ID as typed,
    /// unchecked. May only create requests and see their confirmations; flagged in the audit.
    Emergency { staff_id: String, name: String },
    /// The library used with no one signed in: tests, benches, and the store's own background
    /// threads opened beside a signed-in session. Never made by the app or the CLI for a person.
    System,
}

impl Principal {
    /// The name events record: "Name (STAFF ID)"; an emergency session is marked as such.
    pub fn recorded_name(&self) -> String {
        match self {
            Principal::Account { staff_id, name, .. } => format!("{name} ({staff_id})"),
            Principal::Emergency { staff_id, name } => {
                format!("{name} ({staff_id}, emergency, no account)")
            }
            Principal::System => "Stopgap".to_owned(),
        }
    }

    pub fn staff_id(&self) -> &str {
        match self {
            Principal::Account { staff_id, .. } | Principal::Emergency { staff_id, .. } => staff_id,
            Principal::System => "",
        }
    }

    pub fn role(&self) -> Option<Role> {
        match self {
            Principal::Account { role, .. } => Some(*role),
            _ => None,
        }
    }

    pub fn may(&self, p: Permission) -> bool {
        match self {
            Principal::Account { role, .. } => role.allows(p),
            Principal::Emergency { .. } => p == Permission::CreateRequest,
            Principal::System => true,
        }
    }

    /// `Ok` when this principal may do `p`, else the refusal.
    pub fn require(&self, p: Permission) -> Result<(), Refused> {
        if self.may(p) {
            return Ok(());
        }
        Err(Refused {
            who: match self {
                Principal::Account { name, role, .. } => format!("{name} ({role} account)"),
                Principal::Emergency { name, .. } => format!("{name} (emergency session)"),
                Principal::System => "Stopgap".to_owned(),
            },
            what: p.words(),
            needs: match self {
                Principal::Emergency { .. } => "an account on this PC",
                _ => match p.least_role() {
                    Role::Ward => "a ward account",
                    Role::Lab => "a lab or manager account",
                    Role::Manager => "a manager account",
                },
            },
        })
    }
}

/// A refusal: who asked, for what, and what it needs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{who} may not {what}: that needs {needs}. Ask a colleague who has one to sign in")]
pub struct Refused {
    pub who: String,
    pub what: &'static str,
    pub needs: &'static str,
}

/// The shortest password allowed.
pub const MIN_PASSWORD_CHARS: usize = 10;

/// Why a new password was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordProblem {
    #[error("the password must be at least {MIN_PASSWORD_CHARS} characters (it has {0})")]
    TooShort(usize),
    #[error("the password is one of the most common passwords: choose a phrase of several words")]
    Common,
    #[error("the password must not contain the staff ID or the name")]
    ContainsIdentity,
    #[error("the password is too easy to guess{0}: choose a longer phrase of unrelated words")]
    Weak(String),
    #[error("the two passwords typed differ")]
    Mismatch,
}

/// Checks a new password: at least 10 characters, not a common password, not the staff ID or
/// name, and not guessable by zxcvbn's estimate (which knows lists of leaked passwords,
/// keyboard walks, dates and repeats).
pub fn check_new_password(
    password: &str,
    staff_id: &str,
    name: &str,
) -> Result<(), PasswordProblem> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(PasswordProblem::TooShort(chars));
    }
    let lower = password.to_lowercase();
    let identity: Vec<String> = std::iter::once(staff_id.to_lowercase())
        .chain(name.split_whitespace().map(str::to_lowercase))
        .filter(|w| w.chars().count() >= 3)
        .collect();
    if identity.iter().any(|w| lower.contains(w.as_str())) {
        return Err(PasswordProblem::ContainsIdentity);
    }
    let inputs: Vec<&str> = identity.iter().map(String::as_str).collect();
    let estimate = zxcvbn::zxcvbn(password, &inputs);
    if (estimate.score() as u8) < 3 {
        use zxcvbn::feedback::Warning;
        let warning = estimate.feedback().and_then(|f| f.warning());
        if let Some(
            Warning::ThisIsATop10Password
            | Warning::ThisIsATop100Password
            | Warning::ThisIsACommonPassword
            | Warning::ThisIsSimilarToACommonlyUsedPassword,
        ) = warning
        {
            return Err(PasswordProblem::Common);
        }
        let hint = warning
            .map(|w| format!(" ({})", w.to_string().trim_end_matches('.').to_lowercase()))
            .unwrap_or_default();
        return Err(PasswordProblem::Weak(hint));
    }
    Ok(())
}

/// A staff ID as typed: trimmed, upper case; letters, digits and `-` only, 2 to 20 characters.
pub fn parse_staff_id(typed: &str) -> Option<String> {
    let id = typed.trim().to_uppercase();
    let ok =
        (2..=20).contains(&id.len()) && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    ok.then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(role: Role) -> Principal {
        Principal::Account {
            staff_id: "N1001".into(),
            name: "Ann Nurse".into(),
            role,
        }
    }

    #[test]
    fn roles_are_nested_and_a_ward_account_may_not_export() {
        assert!(account(Role::Ward).may(Permission::CreateRequest));
        assert!(!account(Role::Ward).may(Permission::LabWork));
        let refused = account(Role::Ward).require(Permission::Export).unwrap_err();
        assert!(
            refused.to_string().contains("may not export the backlog"),
            "{refused}"
        );
        assert!(refused.to_string().contains("a manager account"));
        assert!(account(Role::Lab).may(Permission::LabWork));
        assert!(!account(Role::Lab).may(Permission::Export));
        assert!(account(Role::Manager).may(Permission::Purge));
    }

    #[test]
    fn an_emergency_session_may_only_create_requests() {
        let e = Principal::Emergency {
            staff_id: "X1".into(),
            name: "Bo Agency".into(),
        };
        assert!(e.may(Permission::CreateRequest));
        for p in [
            Permission::ViewQueue,
            Permission::Print,
            Permission::Cancel,
            Permission::Export,
        ] {
            assert!(!e.may(p), "{p:?}");
        }
        assert!(e.recorded_name().contains("emergency"));
    }

    #[test]
    fn passwords_short_common_personal_or_weak_are_refused() {
        assert_eq!(
            check_new_password("abc", "N1001", "Ann Nurse"),
            Err(PasswordProblem::TooShort(3))
        );
        assert_eq!(
            check_new_password("password123", "N1001", "Ann Nurse"),
            Err(PasswordProblem::Common)
        );
        assert_eq!(
            check_new_password("n1001-summer-rain", "N1001", "Ann Nurse"),
            Err(PasswordProblem::ContainsIdentity)
        );
        assert!(matches!(
            check_new_password("aaaaaaaaaaaa", "N1001", "Ann Nurse"),
            Err(PasswordProblem::Common | PasswordProblem::Weak(_))
        ));
        assert_eq!(
            check_new_password("copper kettle under moss", "N1001", "Ann Nurse"),
            Ok(())
        );
    }

    #[test]
    fn staff_ids_are_trimmed_upper_case_and_plain() {
        assert_eq!(parse_staff_id(" n1001 "), Some("N1001".into()));
        assert_eq!(parse_staff_id("a b"), None);
        assert_eq!(parse_staff_id("x"), None);
    }
}
