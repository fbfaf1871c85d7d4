//! Across requests: downtime IDs carried by two or more different requests, and the merged fold
//! of a whole set of events.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{Conflict, Merged, fold_merged, settles};
use crate::domain::downtime_id::DowntimeId;
use crate::domain::event::{Actor, Event, RequestState};
use crate::domain::settle::{Clash, ConflictKey};

/// A request as named in a duplicate-ID report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRef {
    pub request_uuid: Uuid,
    pub created_by: Actor,
    pub created_at: DateTime<Utc>,
}

/// One downtime ID carried by two or more different requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateDowntimeId {
    pub downtime_id: DowntimeId,
    /// At least two, by request UUID.
    pub requests: Vec<RequestRef>,
}

impl fmt::Display for DuplicateDowntimeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let who: Vec<String> = self
            .requests
            .iter()
            .map(|r| {
                format!(
                    "request {} created on {} by {} at {}",
                    r.request_uuid,
                    r.created_by.workstation,
                    r.created_by.user,
                    r.created_at.format("%Y-%m-%d %H:%M:%S UTC")
                )
            })
            .collect();
        write!(
            f,
            "downtime ID {} is on {} different requests ({}): a label or form may name the wrong \
             request; check the paper forms and cancel the one typed in error",
            self.downtime_id,
            self.requests.len(),
            who.join("; ")
        )
    }
}

impl DuplicateDowntimeId {
    /// Whether a person still has to look at it: until all but one of its requests are settled
    /// as the duplicate ([`duplicate_settlement`]; the one left keeps the ID). `requests` holds
    /// the merged folds by request UUID.
    pub fn needs_action(&self, requests: &BTreeMap<Uuid, Merged>) -> bool {
        let settled = self
            .requests
            .iter()
            .filter(|r| {
                requests
                    .get(&r.request_uuid)
                    .and_then(duplicate_settlement)
                    .is_some()
            })
            .count();
        settled + 1 < self.requests.len()
    }
}

/// The settlement that counts naming request `m` as the duplicate of its downtime ID (one on
/// `m` naming its creation event), if any.
pub fn duplicate_settlement(m: &Merged) -> Option<&Event> {
    // Creations sort first: the first event applied is the creation that counts.
    let creation = *m.applied.first().filter(|_| m.state.is_some())?;
    let key = ConflictKey {
        event: creation,
        clash: Clash::DuplicateId,
    };
    m.settlements.iter().find(|s| settles(s, key))
}

/// Every downtime ID that two or more different requests (by request UUID) carry, in
/// downtime-ID order. The same request given twice is one request.
pub fn duplicate_downtime_ids<'a>(
    states: impl IntoIterator<Item = &'a RequestState>,
) -> Vec<DuplicateDowntimeId> {
    let mut by_id: BTreeMap<&DowntimeId, BTreeMap<Uuid, &RequestState>> = BTreeMap::new();
    for s in states {
        by_id
            .entry(&s.downtime_id)
            .or_default()
            .entry(s.request.uuid)
            .or_insert(s);
    }
    by_id
        .into_iter()
        .filter(|(_, requests)| requests.len() > 1)
        .map(|(id, requests)| DuplicateDowntimeId {
            downtime_id: id.clone(),
            requests: requests
                .into_values()
                .map(|s| RequestRef {
                    request_uuid: s.request.uuid,
                    created_by: s.created_by.clone(),
                    created_at: s.created_at,
                })
                .collect(),
        })
        .collect()
}

/// Every request of a set of events after the merged fold, and the downtime IDs on more than
/// one of them.
#[derive(Debug, Clone, PartialEq)]
pub struct MergedSet {
    pub requests: BTreeMap<Uuid, Merged>,
    pub duplicate_ids: Vec<DuplicateDowntimeId>,
}

impl MergedSet {
    /// Every conflict of every request, by request UUID.
    pub fn conflicts(&self) -> impl Iterator<Item = &Conflict> {
        self.requests.values().flat_map(|m| m.conflicts.iter())
    }
}

/// [`fold_merged`] for each request of `events` (grouped by their request UUID), then
/// [`duplicate_downtime_ids`] over the states.
pub fn merge_all<'a>(events: impl IntoIterator<Item = &'a Event>) -> MergedSet {
    let mut by_request: BTreeMap<Uuid, Vec<&Event>> = BTreeMap::new();
    for e in events {
        by_request.entry(e.request_uuid).or_default().push(e);
    }
    let requests: BTreeMap<Uuid, Merged> = by_request
        .into_iter()
        .map(|(uuid, events)| (uuid, fold_merged(uuid, events)))
        .collect();
    let duplicate_ids = duplicate_downtime_ids(requests.values().filter_map(|m| m.state.as_ref()));
    MergedSet {
        requests,
        duplicate_ids,
    }
}
