//! Close-out: every downtime ID issued, per workstation, and whether each has reached a final
//! state. The downtime is complete only when every issued ID is final (re-entered, cancelled or
//! rejected) and every gap in the sequence is explained.
//!
//! The result is plain data for the report writers in `crate::report`: downtime ID, state,
//! accession and reason only. No names or NHS numbers: a close-out report is filed and shared.

use std::collections::BTreeMap;

use super::{Store, StoreError};
use crate::domain::audit::ChainHead;
use crate::domain::downtime_id::{Code3, DowntimeId};
use crate::domain::status::Status;

/// Where one issued downtime ID ended up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdState {
    /// The ID was issued (a later one exists) but no request has it: investigate.
    Missing,
    /// Not final yet: still logged, sent or received.
    Open(Status),
    Reentered {
        accession: String,
    },
    Cancelled {
        reason: String,
    },
    Rejected {
        reason: String,
    },
}

impl IdState {
    pub fn is_final(&self) -> bool {
        match self {
            IdState::Missing | IdState::Open(_) => false,
            IdState::Reentered { .. } | IdState::Cancelled { .. } | IdState::Rejected { .. } => {
                true
            }
        }
    }

    /// A stable word for the CSV report.
    pub fn word(&self) -> &'static str {
        match self {
            IdState::Missing => "missing",
            IdState::Open(s) => s.word(),
            IdState::Reentered { .. } => "reentered",
            IdState::Cancelled { .. } => "cancelled",
            IdState::Rejected { .. } => "rejected",
        }
    }

    /// Words a person reads.
    pub fn label(&self) -> &'static str {
        match self {
            IdState::Missing => "MISSING",
            IdState::Open(s) => s.label(),
            IdState::Reentered { .. } => "Re-entered",
            IdState::Cancelled { .. } => "Cancelled",
            IdState::Rejected { .. } => "Rejected",
        }
    }

    pub fn accession(&self) -> &str {
        match self {
            IdState::Reentered { accession } => accession,
            _ => "",
        }
    }

    pub fn reason(&self) -> &str {
        match self {
            IdState::Cancelled { reason } | IdState::Rejected { reason } => reason,
            _ => "",
        }
    }

    /// What to do about it, empty when final.
    pub fn action(&self) -> &'static str {
        match self {
            IdState::Missing => "issued but no record found: investigate",
            IdState::Open(_) => "not final: re-enter in the LIMS, cancel or reject",
            IdState::Reentered { .. } | IdState::Cancelled { .. } | IdState::Rejected { .. } => "",
        }
    }
}

/// One issued downtime ID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseOutRow {
    pub downtime_id: DowntimeId,
    pub state: IdState,
    /// A synthetic training request.
    pub training: bool,
}

/// A sequence number never issued because its check character would not be a letter or digit:
/// a gap explained by rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedSequence {
    pub site: Code3,
    pub workstation: Code3,
    pub sequence: u32,
}

/// Counts, for the whole downtime or one workstation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CloseOutSummary {
    /// IDs issued (sequence numbers skipped by rule are not counted).
    pub issued: u64,
    pub reentered: u64,
    pub cancelled: u64,
    pub rejected: u64,
    /// Logged, sent or received: not final.
    pub open: u64,
    /// Issued but no record found.
    pub missing: u64,
    /// Sequence numbers skipped by the check-character rule (explained gaps).
    pub skipped_by_rule: u64,
}

impl CloseOutSummary {
    fn count(&mut self, state: &IdState) {
        self.issued += 1;
        match state {
            IdState::Missing => self.missing += 1,
            IdState::Open(_) => self.open += 1,
            IdState::Reentered { .. } => self.reentered += 1,
            IdState::Cancelled { .. } => self.cancelled += 1,
            IdState::Rejected { .. } => self.rejected += 1,
        }
    }

    pub fn final_count(&self) -> u64 {
        self.reentered + self.cancelled + self.rejected
    }

    /// Every issued ID final and no unexplained gap.
    pub fn is_complete(&self) -> bool {
        self.open == 0 && self.missing == 0
    }
}

/// One workstation's part of the close-out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkstationCloseOut {
    pub site: Code3,
    pub workstation: Code3,
    /// The highest sequence number issued.
    pub last_sequence: u32,
    pub summary: CloseOutSummary,
}

/// The close-out of a downtime: built by [`Store::close_out`], rendered by `crate::report`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CloseOut {
    /// This database's site and workstation, when set up.
    pub site: Option<Code3>,
    pub workstation: Option<Code3>,
    pub workstations: Vec<WorkstationCloseOut>,
    /// Every issued ID: those not final first (missing, then open), then the final ones; each
    /// group in downtime ID order.
    pub rows: Vec<CloseOutRow>,
    /// Explained gaps.
    pub skipped: Vec<SkippedSequence>,
    pub summary: CloseOutSummary,
    /// The audit chain's head as the report was made (`None` only in a `CloseOut` not read
    /// from a store), printed on the report so a later rewrite of the log is found against it.
    pub audit_head: Option<ChainHead>,
}

impl CloseOut {
    pub fn is_complete(&self) -> bool {
        self.summary.is_complete()
    }

    /// The rows that still need action.
    pub fn attention(&self) -> impl Iterator<Item = &CloseOutRow> {
        self.rows.iter().filter(|r| !r.state.is_final())
    }
}

fn rank(state: &IdState) -> u8 {
    match state {
        IdState::Missing => 0,
        IdState::Open(_) => 1,
        IdState::Reentered { .. } | IdState::Cancelled { .. } | IdState::Rejected { .. } => 2,
    }
}

impl Store {
    /// Every downtime ID issued on every workstation this database knows (its own and merged
    /// ones), with its final state, and the gaps in each sequence explained. Reads every request:
    /// about a second at 100,000.
    pub fn close_out(&self) -> Result<CloseOut, StoreError> {
        self.require(crate::domain::access::Permission::CloseOut)?;
        let setup = self.setup()?;
        let corrupt = |what: &str, v: &str| StoreError::Corrupt(format!("{what} '{v}'"));
        type Key = (String, String);
        let mut known: BTreeMap<Key, BTreeMap<u32, CloseOutRow>> = BTreeMap::new();
        let mut last: BTreeMap<Key, u32> = BTreeMap::new();

        let mut st = self
            .conn
            .prepare("SELECT downtime_id, status, accession, reason, training FROM requests")?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            let text: String = r.get("downtime_id")?;
            let id = DowntimeId::parse(&text).map_err(|_| corrupt("downtime ID", &text))?;
            let status_text: String = r.get("status")?;
            let status: Status = status_text
                .parse()
                .map_err(|_| corrupt("status", &status_text))?;
            let accession: Option<String> = r.get("accession")?;
            let reason: Option<String> = r.get("reason")?;
            let state = match status {
                Status::Logged | Status::Sent | Status::Received => IdState::Open(status),
                Status::Reentered => IdState::Reentered {
                    accession: accession.unwrap_or_default(),
                },
                Status::Cancelled => IdState::Cancelled {
                    reason: reason.unwrap_or_default(),
                },
                Status::Rejected => IdState::Rejected {
                    reason: reason.unwrap_or_default(),
                },
            };
            let key = (id.site().to_string(), id.workstation().to_string());
            let seq = id.sequence();
            let l = last.entry(key.clone()).or_default();
            *l = (*l).max(seq);
            known.entry(key).or_default().insert(
                seq,
                CloseOutRow {
                    downtime_id: id,
                    state,
                    training: r.get::<_, i64>("training")? != 0,
                },
            );
        }
        let mut st = self
            .conn
            .prepare("SELECT site, workstation, last FROM id_sequence")?;
        let mut seqs = st.query([])?;
        while let Some(r) = seqs.next()? {
            let key: Key = (r.get("site")?, r.get("workstation")?);
            let n: u32 = r.get("last")?;
            let l = last.entry(key.clone()).or_default();
            *l = (*l).max(n);
            known.entry(key).or_default();
        }

        let mut out = CloseOut {
            site: setup.as_ref().map(|s| s.site.clone()),
            workstation: setup.as_ref().map(|s| s.workstation.clone()),
            audit_head: Some(self.audit_head()?),
            ..CloseOut::default()
        };
        for (key, mut have) in known {
            let site = Code3::site(&key.0).map_err(|_| corrupt("site code", &key.0))?;
            let ws = Code3::workstation(&key.1).map_err(|_| corrupt("workstation code", &key.1))?;
            let last_sequence = last.get(&key).copied().unwrap_or(0);
            let mut summary = CloseOutSummary::default();
            for n in 1..=last_sequence {
                let row = match have.remove(&n) {
                    Some(row) => row,
                    None => match DowntimeId::new(site.clone(), ws.clone(), n) {
                        Ok(id) => CloseOutRow {
                            downtime_id: id,
                            state: IdState::Missing,
                            training: false,
                        },
                        Err(_) => {
                            summary.skipped_by_rule += 1;
                            out.skipped.push(SkippedSequence {
                                site: site.clone(),
                                workstation: ws.clone(),
                                sequence: n,
                            });
                            continue;
                        }
                    },
                };
                summary.count(&row.state);
                out.rows.push(row);
            }
            out.summary.issued += summary.issued;
            out.summary.reentered += summary.reentered;
            out.summary.cancelled += summary.cancelled;
            out.summary.rejected += summary.rejected;
            out.summary.open += summary.open;
            out.summary.missing += summary.missing;
            out.summary.skipped_by_rule += summary.skipped_by_rule;
            out.workstations.push(WorkstationCloseOut {
                site,
                workstation: ws,
                last_sequence,
                summary,
            });
        }
        // Stable: keeps downtime ID order within each group.
        out.rows.sort_by_key(|r| rank(&r.state));
        Ok(out)
    }
}
