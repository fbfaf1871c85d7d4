//! The request lifecycle: which status changes are allowed, enforced here and not only in the UI.

use std::fmt;
use std::str::FromStr;

/// Where a request is in its life. Stored and printed as the stable lowercase words of
/// [`Status::word`].
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Saved on the ward; the sample has not left yet.
    Logged,
    /// Sent to the laboratory.
    Sent,
    /// Received in the laboratory.
    Received,
    /// Typed back into the LIMS, which gave it an accession number. Final.
    Reentered,
    /// Cancelled by the ward, with a reason. Final.
    Cancelled,
    /// Rejected by the laboratory, with a reason. Final.
    Rejected,
}

pub const ALL_STATUSES: [Status; 6] = [
    Status::Logged,
    Status::Sent,
    Status::Received,
    Status::Reentered,
    Status::Cancelled,
    Status::Rejected,
];

impl Status {
    pub fn word(self) -> &'static str {
        match self {
            Status::Logged => "logged",
            Status::Sent => "sent",
            Status::Received => "received",
            Status::Reentered => "reentered",
            Status::Cancelled => "cancelled",
            Status::Rejected => "rejected",
        }
    }

    /// Words a person reads on screen.
    pub fn label(self) -> &'static str {
        match self {
            Status::Logged => "Logged",
            Status::Sent => "Sent to lab",
            Status::Received => "Received in lab",
            Status::Reentered => "Re-entered in LIMS",
            Status::Cancelled => "Cancelled",
            Status::Rejected => "Rejected by lab",
        }
    }

    /// Final states: nothing more can happen to the request.
    pub fn is_final(self) -> bool {
        match self {
            Status::Reentered | Status::Cancelled | Status::Rejected => true,
            Status::Logged | Status::Sent | Status::Received => false,
        }
    }

    /// Whether the change from `self` to `to` is allowed.
    ///
    /// Forward only: logged → sent → received → re-entered. A step may be skipped (a lab receives a
    /// sample the ward forgot to mark as sent; the LIMS accession proves the lab had it), but never
    /// undone. Cancelling and rejecting are allowed from any state before re-entry.
    pub fn can_become(self, to: Status) -> bool {
        if self.is_final() {
            return false;
        }
        match to {
            Status::Logged => false,
            Status::Sent => self == Status::Logged,
            Status::Received => matches!(self, Status::Logged | Status::Sent),
            Status::Reentered | Status::Cancelled | Status::Rejected => true,
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown status '{0}': use one of logged, sent, received, reentered, cancelled, rejected")]
pub struct UnknownStatus(pub String);

impl FromStr for Status {
    type Err = UnknownStatus;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ALL_STATUSES
            .into_iter()
            .find(|st| st.word() == s.trim().to_ascii_lowercase())
            .ok_or_else(|| UnknownStatus(s.to_owned()))
    }
}

/// A requested change of status with what it needs: a reason to cancel or reject, the LIMS
/// accession number to mark as re-entered.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "to", rename_all = "lowercase")]
pub enum Transition {
    Sent,
    Received,
    Reentered { accession: String },
    Cancelled { reason: String },
    Rejected { reason: String },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("a request that is {from} cannot become {to}", from = .from.label().to_lowercase(), to = .to.label().to_lowercase())]
    NotAllowed { from: Status, to: Status },
    #[error("a reason is required to {0}")]
    ReasonRequired(&'static str),
    #[error("the LIMS accession number is required")]
    AccessionRequired,
    #[error(
        "the LIMS accession number may contain only letters, digits, '-', '/' and '.', at most 30 characters; '{0}' is not"
    )]
    BadAccession(String),
    #[error("the reason is too long ({0} characters; at most 500)")]
    ReasonTooLong(usize),
}

impl Transition {
    pub fn target(&self) -> Status {
        match self {
            Transition::Sent => Status::Sent,
            Transition::Received => Status::Received,
            Transition::Reentered { .. } => Status::Reentered,
            Transition::Cancelled { .. } => Status::Cancelled,
            Transition::Rejected { .. } => Status::Rejected,
        }
    }

    /// Checks the transition from `from`, and the reason or accession it carries.
    pub fn check(&self, from: Status) -> Result<(), TransitionError> {
        let to = self.target();
        if !from.can_become(to) {
            return Err(TransitionError::NotAllowed { from, to });
        }
        match self {
            Transition::Sent | Transition::Received => Ok(()),
            Transition::Reentered { accession } => check_accession(accession),
            Transition::Cancelled { reason } => check_reason(reason, "cancel"),
            Transition::Rejected { reason } => check_reason(reason, "reject"),
        }
    }
}

fn check_reason(reason: &str, verb: &'static str) -> Result<(), TransitionError> {
    let n = reason.trim().chars().count();
    if n == 0 {
        return Err(TransitionError::ReasonRequired(verb));
    }
    if n > 500 {
        return Err(TransitionError::ReasonTooLong(n));
    }
    Ok(())
}

fn check_accession(accession: &str) -> Result<(), TransitionError> {
    let a = accession.trim();
    if a.is_empty() {
        return Err(TransitionError::AccessionRequired);
    }
    let ok = a.len() <= 30
        && a.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '/' | '.'));
    if ok {
        Ok(())
    } else {
        Err(TransitionError::BadAccession(accession.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(to: Status) -> Transition {
        match to {
            Status::Logged | Status::Sent => Transition::Sent,
            Status::Received => Transition::Received,
            Status::Reentered => Transition::Reentered {
                accession: "L24.0001234".into(),
            },
            Status::Cancelled => Transition::Cancelled {
                reason: "duplicate".into(),
            },
            Status::Rejected => Transition::Rejected {
                reason: "haemolysed".into(),
            },
        }
    }

    #[test]
    fn the_whole_transition_table() {
        use Status::{
            Cancelled as C, Logged as L, Received as Rc, Reentered as Re, Rejected as Rj, Sent as S,
        };
        let allowed = [
            (L, S),
            (L, Rc),
            (L, Re),
            (L, C),
            (L, Rj),
            (S, Rc),
            (S, Re),
            (S, C),
            (S, Rj),
            (Rc, Re),
            (Rc, C),
            (Rc, Rj),
        ];
        for from in ALL_STATUSES {
            for to in ALL_STATUSES {
                let expected = allowed.contains(&(from, to));
                assert_eq!(from.can_become(to), expected, "{from} -> {to}");
                if to != Status::Logged {
                    assert_eq!(t(to).check(from).is_ok(), expected, "{from} -> {to}");
                }
            }
        }
    }

    #[test]
    fn final_states_are_final() {
        for s in [Status::Reentered, Status::Cancelled, Status::Rejected] {
            assert!(s.is_final());
            assert_eq!(
                Transition::Cancelled { reason: "x".into() }.check(s),
                Err(TransitionError::NotAllowed {
                    from: s,
                    to: Status::Cancelled
                })
            );
        }
    }

    #[test]
    fn cancel_and_reject_need_a_reason() {
        let e = Transition::Cancelled {
            reason: "  ".into(),
        }
        .check(Status::Logged);
        assert_eq!(e, Err(TransitionError::ReasonRequired("cancel")));
        assert_eq!(e.unwrap_err().to_string(), "a reason is required to cancel");
        let e = Transition::Rejected {
            reason: String::new(),
        }
        .check(Status::Received);
        assert_eq!(e, Err(TransitionError::ReasonRequired("reject")));
    }

    #[test]
    fn reentry_needs_a_plausible_accession() {
        let r = |a: &str| {
            Transition::Reentered {
                accession: a.into(),
            }
            .check(Status::Received)
        };
        assert_eq!(r(""), Err(TransitionError::AccessionRequired));
        assert!(matches!(
            r("L24|123"),
            Err(TransitionError::BadAccession(_))
        ));
        assert!(r("L24.0001234").is_ok());
    }

    #[test]
    fn refused_change_reads_well() {
        let e = Transition::Sent.check(Status::Received).unwrap_err();
        assert_eq!(
            e.to_string(),
            "a request that is received in lab cannot become sent to lab"
        );
    }

    #[test]
    fn status_words_round_trip() {
        for s in ALL_STATUSES {
            assert_eq!(s.word().parse::<Status>(), Ok(s));
            assert_eq!(
                serde_json::to_string(&s).unwrap(),
                format!("\"{}\"", s.word())
            );
        }
        assert!("done".parse::<Status>().is_err());
    }
}
