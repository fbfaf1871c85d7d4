//! Settling a conflict: a person decides what a clash between PCs' events means, and the decision
//! is itself an event ([`Settlement`], on the request the conflict is on), so it travels in
//! bundles and every PC that holds it stops listing the conflict.
//!
//! ## Which conflict a settlement names
//! A conflict is named by its [`ConflictKey`]: the UUID of the event it is about and its
//! [`Clash`] (one event can be in two clashes: a cancellation applied after another PC's receipt
//! can also arrive in a second, damaged version under its UUID). The key is the same on every PC.
//! People type its first 8 hex digits ([`ConflictKey::matches`]); a prefix two listed conflicts
//! share is refused as ambiguous by the store.
//!
//! ## Which settlement counts
//! Two PCs may settle one conflict differently before either sees the other's decision. Both
//! stay in the history; the first in the canonical order of events (`merge::canonical_cmp`: time,
//! then UUID) counts, so which one counts is a function of the set of events, like every other
//! merge decision.
//!
//! ## The decisions, as a lab manager takes them
//! - A cancellation applied after another PC had received the sample, or a receipt (or
//!   re-entry) refused because the ward had cancelled: [`Decision::Discard`] (the lab was told to
//!   stop testing and discard) or [`Decision::Test`] (the ward confirms it is still wanted). The
//!   request stays cancelled in the lifecycle; the decision is recorded and shown.
//! - Any other refused change, a second creation, two versions of one event, an event filed
//!   under the wrong request: [`Decision::Noted`] (reported; the version held counts).
//! - A status change whose creation never came: waiting is the default (nothing recorded: the
//!   events apply by themselves when the creation is imported), or [`Decision::Close`] (the
//!   request will not come). A settlement on such a request is held like its other events and
//!   is never itself an orphan.
//! - One downtime ID on two requests (two PCs set up with one workstation code): both forms are
//!   checked. The request the settlement is on is "the duplicate"; the other keeps the ID. With
//!   [`Decision::Different`] (different patients) the duplicate is re-registered under a new
//!   downtime ID from the settling PC (a copy of its request) and the old one is cancelled with
//!   the reason "duplicate downtime ID ...: re-registered as ..."; with [`Decision::Same`] (the
//!   same sample typed twice) the duplicate is cancelled with the reason "duplicate downtime ID".
//!   Either way, every request keeps a downtime ID of its own that the queue can show. See
//!   docs/hazard-log.md, H14 (settling).

use std::fmt;

use uuid::Uuid;

/// What kind of clash a conflict is, as a stable word stored in a [`Settlement`].
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Clash {
    /// Two different events under one UUID.
    SameIdDiffers,
    /// A status change whose request was never created here.
    Orphan,
    /// A second creation of the request.
    CreatedTwice,
    /// An event filed under another request.
    OtherRequest,
    /// A change the lifecycle refused at its place in the order.
    Refused,
    /// A cancellation on one PC after another had received the sample.
    CancelledAfterReceipt,
    /// Two requests carrying one downtime ID.
    DuplicateId,
}

impl Clash {
    /// The stable word (as stored).
    pub fn word(self) -> &'static str {
        match self {
            Clash::SameIdDiffers => "same_id_differs",
            Clash::Orphan => "orphan",
            Clash::CreatedTwice => "created_twice",
            Clash::OtherRequest => "other_request",
            Clash::Refused => "refused",
            Clash::CancelledAfterReceipt => "cancelled_after_receipt",
            Clash::DuplicateId => "duplicate_id",
        }
    }

    /// A short title for lists.
    pub fn title(self) -> &'static str {
        match self {
            Clash::SameIdDiffers => "Two versions of one event",
            Clash::Orphan => "Request not received from its PC",
            Clash::CreatedTwice => "Created twice",
            Clash::OtherRequest => "Event filed under another request",
            Clash::Refused => "Change refused",
            Clash::CancelledAfterReceipt => "Cancelled after the lab received it",
            Clash::DuplicateId => "DUPLICATE ID: two requests, one downtime ID",
        }
    }
}

/// What a person decided, as a stable word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// The lab was told to stop testing and discard the sample.
    Discard,
    /// The ward confirms the sample is to be tested.
    Test,
    /// Reported; the version held counts.
    Noted,
    /// The request will not come: stop waiting for it.
    Close,
    /// Different patients: the duplicate is re-registered under a new downtime ID.
    Different,
    /// The same sample typed twice: the duplicate is cancelled.
    Same,
}

impl Decision {
    pub const ALL: [Decision; 6] = [
        Decision::Discard,
        Decision::Test,
        Decision::Noted,
        Decision::Close,
        Decision::Different,
        Decision::Same,
    ];

    /// The stable word (as stored and typed after `--decision`).
    pub fn word(self) -> &'static str {
        match self {
            Decision::Discard => "discard",
            Decision::Test => "test",
            Decision::Noted => "noted",
            Decision::Close => "close",
            Decision::Different => "different",
            Decision::Same => "same",
        }
    }

    /// The decision in a lab manager's words.
    pub fn label(self) -> &'static str {
        match self {
            Decision::Discard => "Lab told: stop testing, discard the sample",
            Decision::Test => "Ward confirms: test it",
            Decision::Noted => "Reported; the version held counts",
            Decision::Close => "The request will not come: close",
            Decision::Different => {
                "Both forms checked: different patients (the duplicate gets a new downtime ID)"
            }
            Decision::Same => "Both forms checked: same sample (the duplicate is cancelled)",
        }
    }

    /// The decision named by `word` (as typed; case and surrounding spaces ignored).
    pub fn parse(word: &str) -> Option<Self> {
        let word = word.trim().to_ascii_lowercase();
        Self::ALL.into_iter().find(|d| d.word() == word)
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// The name of one conflict, the same on every PC: the event it is about and its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConflictKey {
    pub event: Uuid,
    pub clash: Clash,
}

impl ConflictKey {
    /// The whole key as text: the event UUID's 32 hex digits, a colon and the clash's word.
    pub fn full(&self) -> String {
        format!("{}:{}", self.event.simple(), self.clash.word())
    }

    /// The first `len` characters of [`ConflictKey::full`]: what people type.
    pub fn short(&self, len: usize) -> String {
        self.full().chars().take(len).collect()
    }

    /// Whether `typed` names this key: a prefix of its full form (hex case and the UUID's
    /// hyphens ignored).
    pub fn matches(&self, typed: &str) -> bool {
        let typed: String = typed
            .trim()
            .chars()
            .filter(|c| *c != '-')
            .map(|c| c.to_ascii_lowercase())
            .collect();
        !typed.is_empty() && self.full().starts_with(&typed)
    }

    /// The shortest prefixes, of at least 8 characters, that tell each of `keys` from the others.
    pub fn short_forms(keys: &[ConflictKey]) -> Vec<String> {
        let full: Vec<String> = keys.iter().map(ConflictKey::full).collect();
        full.iter()
            .enumerate()
            .map(|(i, k)| {
                let mut len = 8;
                while len < k.len()
                    && full
                        .iter()
                        .enumerate()
                        .any(|(j, o)| j != i && o != k && o.starts_with(&k[..len]))
                {
                    len += 1;
                }
                k[..len].to_owned()
            })
            .collect()
    }
}

/// A person's decision on one conflict of a request.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Settlement {
    /// The event the conflict is about (for two requests sharing a downtime ID, this request's
    /// creation event).
    pub event: Uuid,
    pub clash: Clash,
    pub decision: Decision,
    /// What the person added (who was told, which form was checked); may be empty.
    pub note: String,
}

impl Settlement {
    /// The conflict this settles.
    pub fn key(&self) -> ConflictKey {
        ConflictKey {
            event: self.event,
            clash: self.clash,
        }
    }

    /// One line for a history.
    pub fn line(&self) -> String {
        let note = self.note.trim();
        let note = if note.is_empty() {
            String::new()
        } else {
            format!(" ({note})")
        };
        format!(
            "conflict settled ({}): {}{note}",
            self.clash.title().to_lowercase(),
            self.decision.label()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(hex: u128, clash: Clash) -> ConflictKey {
        ConflictKey {
            event: Uuid::from_u128(hex),
            clash,
        }
    }

    #[test]
    fn a_key_is_typed_by_its_first_hex_digits_with_or_without_hyphens() {
        let k = key(0xabcdef01_2345_4678_9abc_def012345678, Clash::Refused);
        assert_eq!(
            k.full(),
            "abcdef0123454678 9abcdef012345678:refused".replace(' ', "")
        );
        assert!(k.matches("ABCDEF01"));
        assert!(k.matches(" abcdef01-2345 "));
        assert!(k.matches(&k.full()));
        assert!(!k.matches("abcdef02"));
        assert!(!k.matches(""));
    }

    #[test]
    fn short_forms_grow_only_where_two_keys_share_a_prefix() {
        let a = key(0x11111111_0000_4000_8000_000000000001, Clash::Refused);
        let b = key(0x11111111_0000_4000_8000_000000000002, Clash::Refused);
        let c = key(0x22222222_0000_4000_8000_000000000001, Clash::Orphan);
        let same_event = key(0x11111111_0000_4000_8000_000000000001, Clash::SameIdDiffers);
        let short = ConflictKey::short_forms(&[a, b, c, same_event]);
        assert_eq!(short[2], "22222222");
        assert!(a.matches(&short[0]) && !b.matches(&short[0]) && !same_event.matches(&short[0]));
        assert!(b.matches(&short[1]) && !a.matches(&short[1]));
        assert!(same_event.matches(&short[3]) && !a.matches(&short[3]));
    }

    #[test]
    fn decisions_are_typed_by_their_words() {
        for d in Decision::ALL {
            assert_eq!(
                Decision::parse(&format!(" {} ", d.word().to_uppercase())),
                Some(d)
            );
        }
        assert_eq!(Decision::parse("maybe"), None);
    }

    #[test]
    fn a_settlement_reads_as_one_history_line_and_round_trips_as_json() {
        let s = Settlement {
            event: Uuid::from_u128(7),
            clash: Clash::CancelledAfterReceipt,
            decision: Decision::Discard,
            note: " rang BMS Jones ".into(),
        };
        assert_eq!(
            s.line(),
            "conflict settled (cancelled after the lab received it): Lab told: stop testing, \
             discard the sample (rang BMS Jones)"
        );
        let json = serde_json::to_string(&s).unwrap();
        assert!(
            json.contains("\"clash\":\"cancelled_after_receipt\""),
            "{json}"
        );
        assert_eq!(serde_json::from_str::<Settlement>(&json).unwrap(), s);
    }
}
