//! The tamper-evident audit log: who did what, when, on which workstation, each record chained
//! to the one before it by SHA-256, so a record changed, deleted or moved afterwards is found.
//!
//! A record's hash covers a canonical encoding of every field (each one length-prefixed, so no
//! two different records encode alike) and the previous record's hash; the first record follows
//! 64 zeros. [`ChainCheck`] walks the records in sequence order one at a time (a long log is
//! never held in memory) and names the first broken link in words a manager can act on.
//!
//! Privacy: a subject is a downtime ID, a batch ID or a file name, never a patient's name or
//! NHS number, so the log can be shown and exported without patient data.

use sha2::{Digest, Sha256};

/// The previous hash of the first record: 64 zeros.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Tags the encoding, so a change to it can never verify an older record by accident.
const ENCODING_TAG: &[u8] = b"stopgap-audit-1";

/// What was done, stored as a stable word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AuditAction {
    SignIn,
    SignInFailed,
    Locked,
    Unlocked,
    AccountLocked,
    OpenedRequest,
    Printed,
    Exported,
    /// A batch's file written again (`export --rerun`).
    Rerun,
    Imported,
    Reconciled,
    ClosedOut,
    Purged,
    UserAdded,
    UserRemoved,
    PasswordReset,
    SettingsChanged,
    EmergencySession,
    PlaintextExport,
    BackupMade,
    Restored,
}

/// An action word this Stopgap does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not an audit action")]
pub struct UnknownAction(pub String);

impl AuditAction {
    /// Every action, in the order a list shows them.
    pub const ALL: [AuditAction; 21] = [
        AuditAction::SignIn,
        AuditAction::SignInFailed,
        AuditAction::Locked,
        AuditAction::Unlocked,
        AuditAction::AccountLocked,
        AuditAction::OpenedRequest,
        AuditAction::Printed,
        AuditAction::Exported,
        AuditAction::Rerun,
        AuditAction::Imported,
        AuditAction::Reconciled,
        AuditAction::ClosedOut,
        AuditAction::Purged,
        AuditAction::UserAdded,
        AuditAction::UserRemoved,
        AuditAction::PasswordReset,
        AuditAction::SettingsChanged,
        AuditAction::EmergencySession,
        AuditAction::PlaintextExport,
        AuditAction::BackupMade,
        AuditAction::Restored,
    ];

    /// The stable word stored and hashed: never change one, or older records stop verifying.
    pub fn word(self) -> &'static str {
        match self {
            AuditAction::SignIn => "sign_in",
            AuditAction::SignInFailed => "sign_in_failed",
            AuditAction::Locked => "locked",
            AuditAction::Unlocked => "unlocked",
            AuditAction::AccountLocked => "account_locked",
            AuditAction::OpenedRequest => "opened_request",
            AuditAction::Printed => "printed",
            AuditAction::Exported => "exported",
            AuditAction::Rerun => "rerun",
            AuditAction::Imported => "imported",
            AuditAction::Reconciled => "reconciled",
            AuditAction::ClosedOut => "closed_out",
            AuditAction::Purged => "purged",
            AuditAction::UserAdded => "user_added",
            AuditAction::UserRemoved => "user_removed",
            AuditAction::PasswordReset => "password_reset",
            AuditAction::SettingsChanged => "settings_changed",
            AuditAction::EmergencySession => "emergency_session",
            AuditAction::PlaintextExport => "plaintext_export",
            AuditAction::BackupMade => "backup_made",
            AuditAction::Restored => "restored",
        }
    }
}

impl std::str::FromStr for AuditAction {
    type Err = UnknownAction;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let word = s.trim().to_ascii_lowercase();
        AuditAction::ALL
            .into_iter()
            .find(|a| a.word() == word)
            .ok_or_else(|| UnknownAction(s.to_owned()))
    }
}

impl std::fmt::Display for AuditAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.word())
    }
}

/// What is to be recorded; the store gives it its place in the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub action: AuditAction,
    /// Empty until accounts supply one.
    pub staff_id: String,
    pub user_name: String,
    /// A downtime ID, batch ID or file name: never patient data.
    pub subject: String,
    pub detail: String,
}

/// One record of the log, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// 1 for the first record, then one more for each.
    pub seq: i64,
    /// Unix ms, UTC; never before the previous record's.
    pub at_ms: i64,
    pub workstation: String,
    pub staff_id: String,
    pub user_name: String,
    pub action: AuditAction,
    pub subject: String,
    pub detail: String,
    /// The previous record's hash ([`GENESIS_HASH`] for the first), lowercase hex.
    pub prev_hash: String,
    /// SHA-256 of this record's canonical encoding, lowercase hex.
    pub hash: String,
}

impl AuditRecord {
    /// The record that follows `prev` (`None`: the first), with its hash.
    pub fn seal(prev: Option<&ChainHead>, at_ms: i64, workstation: &str, e: &AuditEntry) -> Self {
        let (seq, prev_hash) = match prev {
            Some(h) => (h.seq + 1, h.hash.clone()),
            None => (1, GENESIS_HASH.to_owned()),
        };
        let mut r = AuditRecord {
            seq,
            at_ms,
            workstation: workstation.to_owned(),
            staff_id: e.staff_id.clone(),
            user_name: e.user_name.clone(),
            action: e.action,
            subject: e.subject.clone(),
            detail: e.detail.clone(),
            prev_hash,
            hash: String::new(),
        };
        r.hash = r.computed_hash();
        r
    }

    /// The hash this record's fields give now: equal to `hash` unless it was changed.
    pub fn computed_hash(&self) -> String {
        let mut h = Sha256::new();
        h.update(ENCODING_TAG);
        h.update(self.seq.to_be_bytes());
        h.update(self.at_ms.to_be_bytes());
        for text in [
            self.workstation.as_str(),
            &self.staff_id,
            &self.user_name,
            self.action.word(),
            &self.subject,
            &self.detail,
            &self.prev_hash,
        ] {
            // The length first, so "ab" + "c" never encodes like "a" + "bc".
            h.update((text.len() as u64).to_be_bytes());
            h.update(text.as_bytes());
        }
        hex(&h.finalize())
    }

    /// The head of the chain ending at this record.
    pub fn head(&self) -> ChainHead {
        ChainHead {
            seq: self.seq,
            hash: self.hash.clone(),
        }
    }

    /// `#12 (exported by Sister Jones at 2026-06-04T10:02:00Z)`: the record as a manager finds it.
    fn described(&self) -> String {
        let at = chrono::DateTime::from_timestamp_millis(self.at_ms)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            .unwrap_or_else(|| format!("{} ms", self.at_ms));
        format!(
            "#{} ({} by {} at {at})",
            self.seq,
            self.action,
            if self.user_name.is_empty() {
                "nobody named"
            } else {
                &self.user_name
            }
        )
    }
}

/// The last record of a chain: its number and hash. Printed on export batches and the
/// close-out report, so a later rewrite of the log is found against the paper.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainHead {
    /// 0 for an empty log.
    pub seq: i64,
    pub hash: String,
}

impl ChainHead {
    /// The head of a log with no records.
    pub fn empty() -> Self {
        ChainHead {
            seq: 0,
            hash: GENESIS_HASH.to_owned(),
        }
    }
}

impl std::fmt::Display for ChainHead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "audit record #{}, SHA-256 {}", self.seq, self.hash)
    }
}

/// What is wrong at a broken link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkProblem {
    /// Its content no longer matches its hash.
    Changed,
    /// It is intact, but the record after it was written after a different one: it was
    /// rewritten with its hash recomputed to hide the change.
    Rewritten,
    /// These records are gone: the numbers jump over them.
    Deleted { first: i64, last: i64 },
    /// It is not where it was written: numbered or dated out of order, or it follows a record
    /// it was not written after.
    Reordered { why: String },
    /// Records at the end are gone: a batch or report carries a head the log no longer reaches.
    Truncated { anchor: String, anchored: i64 },
    /// A batch or report carries another hash for this record.
    AnchorDiffers { anchor: String },
}

/// The first bad record of a chain and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.words())]
pub struct BrokenLink {
    /// The record named: the changed, moved or first deleted one.
    pub seq: i64,
    /// The record as found (`#12 (exported by ... at ...)`), when there is one.
    pub record: Option<String>,
    pub problem: LinkProblem,
}

impl BrokenLink {
    fn at(r: &AuditRecord, problem: LinkProblem) -> Self {
        BrokenLink {
            seq: r.seq,
            record: Some(r.described()),
            problem,
        }
    }

    /// The finding in words a manager understands.
    pub fn words(&self) -> String {
        let record = self
            .record
            .clone()
            .unwrap_or_else(|| format!("#{}", self.seq));
        match &self.problem {
            LinkProblem::Changed => format!(
                "audit record {record} has been changed since it was written: its content no \
                 longer matches its SHA-256"
            ),
            LinkProblem::Rewritten => format!(
                "audit record {record} has been rewritten since it was written: the record after \
                 it was written after a different one"
            ),
            LinkProblem::Deleted { first, last } if first == last => format!(
                "audit record #{first} has been deleted: the log jumps from #{} to #{}",
                first - 1,
                last + 1
            ),
            LinkProblem::Deleted { first, last } => format!(
                "audit records #{first} to #{last} have been deleted: the log jumps from #{} to #{}",
                first - 1,
                last + 1
            ),
            LinkProblem::Reordered { why } => {
                format!("audit record {record} is out of place: {why}")
            }
            LinkProblem::Truncated { anchor, anchored } => format!(
                "audit records after #{} have been deleted: {anchor} carries audit record \
                 #{anchored}",
                self.seq
            ),
            LinkProblem::AnchorDiffers { anchor } => format!(
                "audit record {record} has been rewritten: {anchor} carries another SHA-256 for it"
            ),
        }
    }
}

/// Checks a chain one record at a time, in sequence order.
#[derive(Debug, Clone, Default)]
pub struct ChainCheck {
    /// The last record accepted: its number, time and hash.
    last: Option<(i64, i64, String)>,
}

impl ChainCheck {
    pub fn new() -> Self {
        Self::default()
    }

    /// Accepts the next record, or names the first broken link. Checks, in order: its number
    /// (a gap is a deletion), its time, its link to the record before, then its own content.
    pub fn push(&mut self, r: &AuditRecord) -> Result<(), BrokenLink> {
        let (prev_seq, prev_at, prev_hash) = match &self.last {
            Some((s, a, h)) => (*s, *a, h.as_str()),
            None => (0, i64::MIN, GENESIS_HASH),
        };
        if r.seq <= prev_seq {
            return Err(BrokenLink::at(
                r,
                LinkProblem::Reordered {
                    why: format!("it is numbered after #{prev_seq} but comes after it"),
                },
            ));
        }
        if r.seq > prev_seq + 1 {
            return Err(BrokenLink {
                seq: prev_seq + 1,
                record: None,
                problem: LinkProblem::Deleted {
                    first: prev_seq + 1,
                    last: r.seq - 1,
                },
            });
        }
        if r.at_ms < prev_at {
            return Err(BrokenLink::at(
                r,
                LinkProblem::Reordered {
                    why: format!("it is dated before #{prev_seq}, which comes ahead of it"),
                },
            ));
        }
        let intact = r.computed_hash() == r.hash;
        if r.prev_hash != prev_hash {
            return Err(if intact && prev_seq > 0 {
                // This record is as written, so the one before it is not.
                BrokenLink {
                    seq: prev_seq,
                    record: None,
                    problem: LinkProblem::Rewritten,
                }
            } else if intact {
                BrokenLink::at(r, LinkProblem::Changed)
            } else {
                BrokenLink::at(
                    r,
                    LinkProblem::Reordered {
                        why: format!(
                            "it was not written after #{prev_seq} (records were moved, or \
                             deleted and renumbered)"
                        ),
                    },
                )
            });
        }
        if !intact {
            return Err(BrokenLink::at(r, LinkProblem::Changed));
        }
        self.last = Some((r.seq, r.at_ms, r.hash.clone()));
        Ok(())
    }

    /// The head of every record accepted so far.
    pub fn head(&self) -> ChainHead {
        match &self.last {
            Some((seq, _, hash)) => ChainHead {
                seq: *seq,
                hash: hash.clone(),
            },
            None => ChainHead::empty(),
        }
    }
}

/// Checks a whole chain given in sequence order: its head, or the first broken link.
pub fn verify_chain<'a>(
    records: impl IntoIterator<Item = &'a AuditRecord>,
) -> Result<ChainHead, BrokenLink> {
    let mut check = ChainCheck::new();
    for r in records {
        check.push(r)?;
    }
    Ok(check.head())
}

/// Checks a head carried by `anchor` (an export batch, say) against the log: `found` is the
/// hash the log holds at `anchored.seq` (`None`: no such record) and `head` the log's head.
pub fn check_anchor(
    anchor: &str,
    anchored: &ChainHead,
    found: Option<&str>,
    head: &ChainHead,
) -> Result<(), BrokenLink> {
    match found {
        Some(h) if h == anchored.hash => Ok(()),
        Some(_) => Err(BrokenLink {
            seq: anchored.seq,
            record: None,
            problem: LinkProblem::AnchorDiffers {
                anchor: anchor.to_owned(),
            },
        }),
        None => Err(BrokenLink {
            seq: head.seq,
            record: None,
            problem: LinkProblem::Truncated {
                anchor: anchor.to_owned(),
                anchored: anchored.seq,
            },
        }),
    }
}

/// Lowercase hex of `bytes`.
fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

#[cfg(test)]
mod tests;
