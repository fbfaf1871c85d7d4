//! The conflicts list and their settling, on the store's side.
//!
//! [`Store::conflicts`] lists every clash between PCs' records that needs a person, each with
//! its key, both sides (what, where, who, when) and the decisions allowed
//! (`domain::settle`); [`Store::settle_conflict`] records one decision as a `ConflictSettled`
//! event on the request the conflict is on, with any status change the decision implies, in one
//! transaction. The settlement travels in bundles like every event, so each PC that imports it
//! stops listing the conflict; it stays in the request's history and in
//! [`Store::conflicts_with_settled`].
//!
//! ## Which requests are folded
//! Only requests that can hold a clash: those with events from more than one workstation, with
//! other than one creation, with events kept aside at import, or without a row (an orphan, or a
//! request whose downtime ID another holds). A request all of whose events one workstation wrote
//! was checked event by event as it was written, so its fold has no clash. (Two PCs misconfigured
//! with one workstation code would look like one here; their requests have different UUIDs, and
//! their shared downtime IDs are found through the request left without a row.)
//!
//! ## Two requests, one downtime ID
//! The request this PC holds the row for (the queue shows it) keeps the ID; each other one is
//! listed, with the patient and request details of both, so the one the queue cannot show is
//! reachable here. Settling names that one as the duplicate: re-registered under a new ID
//! (different patients) or cancelled (the same sample). The ID is settled on every PC once all
//! but one of its requests are named (`merge::DuplicateDowntimeId::needs_action`).

mod write;

use std::collections::{BTreeMap, BTreeSet, HashMap, btree_map};

use chrono::{DateTime, Utc};
use rusqlite::Connection;
use uuid::Uuid;

use super::rows::{self, RawEvent};
use super::{Store, StoreError};
use crate::domain::downtime_id::{Code3, DowntimeId};
use crate::domain::event::{Event, EventKind, RequestState};
use crate::domain::merge::{
    Conflict, ConflictKind, DuplicateDowntimeId, Merged, RequestRef, duplicate_settlement,
    fold_merged, settles, what,
};
use crate::domain::settle::{Clash, ConflictKey, Decision, Settlement};

pub use write::{SettleError, SettleOutcome};

/// One side of a conflict: what, where, who and when.
#[derive(Debug, Clone, PartialEq)]
pub struct Side {
    pub what: String,
    pub workstation: Code3,
    pub user: String,
    pub at: DateTime<Utc>,
    /// For two requests sharing a downtime ID: the request's patient and details, as typed.
    pub request: Option<String>,
}

impl Side {
    fn of(e: &Event) -> Self {
        Self {
            what: what(e),
            workstation: e.actor.workstation.clone(),
            user: e.actor.user.clone(),
            at: e.at,
            request: None,
        }
    }

    fn of_request(e: &Event, state: &RequestState) -> Self {
        Self {
            request: Some(request_words(state)),
            ..Self::of(e)
        }
    }
}

/// Who settled a conflict, and how.
#[derive(Debug, Clone, PartialEq)]
pub struct SettledBy {
    pub decision: Decision,
    pub note: String,
    pub workstation: Code3,
    pub user: String,
    pub at: DateTime<Utc>,
    /// When another request of a shared downtime ID was named the duplicate: its downtime ID
    /// is the same, its request another (this one keeps the ID).
    pub other_request: Option<Uuid>,
}

impl SettledBy {
    fn of(e: &Event) -> Option<Self> {
        let EventKind::ConflictSettled { settled } = &e.kind else {
            return None;
        };
        Some(Self {
            decision: settled.decision,
            note: settled.note.clone(),
            workstation: e.actor.workstation.clone(),
            user: e.actor.user.clone(),
            at: e.at,
            other_request: None,
        })
    }
}

/// One conflict as listed.
#[derive(Debug, Clone, PartialEq)]
pub struct ListedConflict {
    pub key: ConflictKey,
    /// The key as people type it: the shortest prefix of at least 8 characters that no other
    /// listed conflict shares.
    pub short_key: String,
    pub request_uuid: Uuid,
    /// The request's downtime ID, when a creation of it is known.
    pub downtime_id: Option<DowntimeId>,
    pub clash: Clash,
    /// The conflict in one sentence, both sides named.
    pub text: String,
    /// The event the conflict is about.
    pub this: Side,
    /// The other side, when there is one (not for an orphan).
    pub other: Option<Side>,
    /// What a person may decide, in the order of the app's number keys.
    pub decisions: Vec<Decision>,
    /// The settlement that counts, once settled.
    pub settled: Option<SettledBy>,
    /// Later settlements of the same conflict (another PC decided before it saw the first):
    /// history, they do not count.
    pub overruled: Vec<SettledBy>,
    /// Further conflicts settled together with this one: the other status changes of a request
    /// whose creation never came.
    pub with: Vec<ConflictKey>,
}

impl ListedConflict {
    /// Whether it still needs a person.
    pub fn is_open(&self) -> bool {
        self.settled.is_none()
    }
}

impl Store {
    /// Every conflict that needs a person, on every request this PC holds events of: clashing
    /// events (a receipt after a cancellation, a second creation...), events kept aside under a
    /// UUID held with other content, status changes whose creation has not arrived, and
    /// requests whose downtime ID another request already has. Settled ones are left out.
    pub fn conflicts(&self) -> Result<Vec<ListedConflict>, StoreError> {
        let mut all = self.conflicts_with_settled()?;
        all.retain(ListedConflict::is_open);
        Ok(all)
    }

    /// [`Store::conflicts`] with the settled ones too (each with who settled it and how), in
    /// downtime-ID order, then by key.
    pub fn conflicts_with_settled(&self) -> Result<Vec<ListedConflict>, StoreError> {
        Ok(listing(&self.conn, ConflictScan::default())?.1)
    }

    /// [`Store::conflicts_with_settled`], folding again only the requests whose events changed
    /// since `previous` was read (the app reads the list after every change, on a lab PC
    /// holding every ward's requests).
    pub fn rescan_conflicts(
        &self,
        previous: ConflictScan,
    ) -> Result<(ConflictScan, Vec<ListedConflict>), StoreError> {
        listing(&self.conn, previous)
    }
}

/// What one reading of the conflicts found on each request that can hold a clash, kept so the
/// next reading folds again only the requests whose events changed.
#[derive(Debug, Clone, Default)]
pub struct ConflictScan {
    seen: HashMap<Uuid, Scanned>,
}

/// A request's last event (local insertion order) and its count of events kept aside.
type Mark = (i64, i64);

#[derive(Debug, Clone)]
struct Scanned {
    /// The request's mark when it was read.
    mark: Mark,
    items: Vec<ListedConflict>,
    /// The fold of a request left without a row, for the duplicate-ID check.
    hidden: Option<Merged>,
}

/// The requests that can hold a clash (see the module doc), each with its mark.
fn candidates(conn: &Connection) -> Result<Vec<(Uuid, Mark)>, StoreError> {
    let mut st = conn.prepare_cached(
        "SELECT e.request_uuid, max(e.seq),
                (SELECT count(*) FROM handover_rejects h WHERE h.request_uuid = e.request_uuid)
         FROM events e GROUP BY e.request_uuid
         HAVING count(DISTINCT e.workstation) > 1 OR sum(e.kind = 'created') <> 1
            OR NOT EXISTS (SELECT 1 FROM requests WHERE uuid = e.request_uuid)
            OR EXISTS (SELECT 1 FROM handover_rejects h WHERE h.request_uuid = e.request_uuid)
         UNION ALL
         SELECT request_uuid, 0, count(*) FROM handover_rejects
         WHERE request_uuid NOT IN (SELECT request_uuid FROM events)
         GROUP BY request_uuid",
    )?;
    let found = st
        .query_map([], |r| Ok((r.get::<_, String>(0)?, (r.get(1)?, r.get(2)?))))?
        .collect::<Result<Vec<_>, _>>()?;
    found
        .into_iter()
        .map(|(u, mark)| Ok((rows::parse_uuid(&u)?, mark)))
        .collect()
}

fn has_row(conn: &Connection, uuid: Uuid) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached("SELECT EXISTS(SELECT 1 FROM requests WHERE uuid = ?1)")?
        .query_row([uuid.to_string()], |r| r.get(0))?)
}

/// Every listed conflict, open and settled, with short keys; the requests `previous` read
/// with the same mark are not folded again.
fn listing(
    conn: &Connection,
    previous: ConflictScan,
) -> Result<(ConflictScan, Vec<ListedConflict>), StoreError> {
    let mut previous = previous.seen;
    let mut seen = HashMap::new();
    for (uuid, mark) in candidates(conn)? {
        let scanned = match previous.remove(&uuid) {
            Some(s) if s.mark == mark => s,
            _ => scan_one(conn, uuid, mark)?,
        };
        seen.insert(uuid, scanned);
    }
    let mut out: Vec<ListedConflict> = seen.values().flat_map(|s| s.items.clone()).collect();
    let mut folded: BTreeMap<Uuid, Merged> = seen
        .iter()
        .filter_map(|(u, s)| Some((*u, s.hidden.clone()?)))
        .collect();
    let hidden: Vec<Uuid> = folded.keys().copied().collect();
    duplicates(conn, &hidden, &mut folded, &mut out)?;
    out.sort_by(|a, b| {
        (a.downtime_id.as_ref().map(DowntimeId::canonical), a.key)
            .cmp(&(b.downtime_id.as_ref().map(DowntimeId::canonical), b.key))
    });
    let keys: Vec<ConflictKey> = out.iter().map(|c| c.key).collect();
    for (c, short) in out.iter_mut().zip(ConflictKey::short_forms(&keys)) {
        c.short_key = short;
    }
    Ok((ConflictScan { seen }, out))
}

/// One request's fold: its clashes and the events kept aside for it.
fn scan_one(conn: &Connection, uuid: Uuid, mark: Mark) -> Result<Scanned, StoreError> {
    let events = rows::events_of(conn, uuid)?;
    let merged = fold_merged(uuid, &events);
    let downtime_id = merged
        .state
        .as_ref()
        .map(|s| s.downtime_id.clone())
        .or_else(|| created_id(&events));
    let mut items = Vec::new();
    folded_conflicts(&merged, downtime_id.as_ref(), &mut items);
    kept_aside(conn, &merged, downtime_id.as_ref(), &mut items)?;
    let hidden = merged.state.is_some() && !has_row(conn, uuid)?;
    Ok(Scanned {
        mark,
        items,
        hidden: hidden.then_some(merged),
    })
}

/// The downtime ID a request's (first) creation event carries, when the fold has no state.
fn created_id(events: &[Event]) -> Option<DowntimeId> {
    events.iter().find_map(|e| match &e.kind {
        EventKind::Created { downtime_id, .. } => Some(downtime_id.clone()),
        EventKind::StatusChanged { .. }
        | EventKind::ResultPhoned { .. }
        | EventKind::ConflictSettled { .. } => None,
    })
}

/// The settlement that counts and the overruled ones, from settling events in canonical order.
fn settled_by(settlements: &[Event]) -> (Option<SettledBy>, Vec<SettledBy>) {
    let mut all = settlements.iter().filter_map(SettledBy::of);
    let first = all.next();
    (first, all.collect())
}

fn listed(
    c: &Conflict,
    request_uuid: Uuid,
    downtime_id: Option<&DowntimeId>,
    settlements: &[Event],
) -> ListedConflict {
    let (settled, overruled) = settled_by(settlements);
    ListedConflict {
        key: c.key(),
        short_key: String::new(),
        request_uuid,
        downtime_id: downtime_id.cloned(),
        clash: c.clash(),
        text: c.to_string(),
        this: Side::of(&c.event),
        other: c.other.as_ref().map(Side::of),
        decisions: c.decisions().to_vec(),
        settled,
        overruled,
        with: Vec::new(),
    }
}

/// The clashes of one request's fold. The status changes of a request whose creation never
/// came are one item (open while any of them is unsettled): one decision closes them all.
fn folded_conflicts(m: &Merged, downtime_id: Option<&DowntimeId>, out: &mut Vec<ListedConflict>) {
    let (orphans, others): (Vec<&Conflict>, Vec<&Conflict>) = m
        .conflicts
        .iter()
        .filter(|c| c.is_listed())
        .partition(|c| c.kind == ConflictKind::Orphan);
    for c in others {
        out.push(listed(c, m.request_uuid, downtime_id, &c.settlements));
    }
    let (open, settled): (Vec<&Conflict>, Vec<&Conflict>) =
        orphans.into_iter().partition(|c| c.settlements.is_empty());
    for group in [open, settled] {
        let Some((first, rest)) = group.split_first() else {
            continue;
        };
        let mut item = listed(first, m.request_uuid, downtime_id, &first.settlements);
        item.with = rest.iter().map(|c| c.key()).collect();
        out.push(item);
    }
}

/// Events kept aside at import under a UUID held here with other content.
fn kept_aside(
    conn: &Connection,
    m: &Merged,
    downtime_id: Option<&DowntimeId>,
    out: &mut Vec<ListedConflict>,
) -> Result<(), StoreError> {
    let mut st = conn.prepare_cached(
        "SELECT DISTINCT event_json FROM handover_rejects WHERE request_uuid = ?1 ORDER BY 1",
    )?;
    let jsons = st
        .query_map([m.request_uuid.to_string()], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    let mut seen = BTreeSet::new();
    for json in jsons {
        let event: Event = serde_json::from_str(&json)?;
        let key = ConflictKey {
            event: event.id,
            clash: Clash::SameIdDiffers,
        };
        if !seen.insert(key) {
            continue;
        }
        let held = held(conn, event.id)?;
        let conflict = Conflict {
            kind: ConflictKind::SameIdDiffers,
            event,
            other: held,
            status_before: m.state.as_ref().map(|s| s.status),
            settlements: Vec::new(),
        };
        let settlements: Vec<Event> = m
            .settlements
            .iter()
            .filter(|s| settles(s, key))
            .cloned()
            .collect();
        out.push(listed(&conflict, m.request_uuid, downtime_id, &settlements));
    }
    Ok(())
}

/// The event held under `id`, if any.
fn held(conn: &Connection, id: Uuid) -> Result<Option<Event>, StoreError> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {} FROM events WHERE id = ?1",
        rows::EVENT_COLUMNS
    ))?;
    let mut found = st.query([id.to_string()])?;
    match found.next()? {
        Some(r) => Ok(Some(RawEvent::read(r)?.decode()?)),
        None => Ok(None),
    }
}

/// The request holding the row for downtime ID `id`, if any.
fn row_holder(conn: &Connection, id: &DowntimeId) -> Result<Option<Uuid>, StoreError> {
    let mut st = conn.prepare_cached("SELECT uuid FROM requests WHERE downtime_id = ?1")?;
    let mut found = st.query([id.canonical()])?;
    match found.next()? {
        Some(r) => Ok(Some(rows::parse_uuid(&r.get::<_, String>(0)?)?)),
        None => Ok(None),
    }
}

/// Each request left without a row because another holds its downtime ID, as one conflict with
/// the row holder, both with their patient and request details.
fn duplicates(
    conn: &Connection,
    hidden: &[Uuid],
    folded: &mut BTreeMap<Uuid, Merged>,
    out: &mut Vec<ListedConflict>,
) -> Result<(), StoreError> {
    let mut groups: BTreeMap<DowntimeId, (Uuid, Vec<Uuid>)> = BTreeMap::new();
    for uuid in hidden {
        let Some(state) = folded.get(uuid).and_then(|m| m.state.as_ref()) else {
            continue;
        };
        let id = state.downtime_id.clone();
        if let Some((_, members)) = groups.get_mut(&id) {
            members.push(*uuid);
            continue;
        }
        // A request with a creation and no row waits only for the row its ID's holder has.
        let Some(holder) = row_holder(conn, &id)? else {
            continue;
        };
        if let btree_map::Entry::Vacant(slot) = folded.entry(holder) {
            let events = rows::events_of(conn, holder)?;
            slot.insert(fold_merged(holder, &events));
        }
        groups.insert(id, (holder, vec![*uuid]));
    }
    for (id, (holder, members)) in groups {
        let refs = std::iter::once(holder)
            .chain(members.iter().copied())
            .filter_map(|u| request_ref(folded.get(&u)?))
            .collect();
        let group = DuplicateDowntimeId {
            downtime_id: id.clone(),
            requests: refs,
        };
        let group_open = group.needs_action(folded);
        let Some(kept_m) = folded.get(&holder) else {
            continue;
        };
        let kept_event = creation(conn, kept_m)?;
        for uuid in members {
            let Some(m) = folded.get(&uuid) else {
                continue;
            };
            let (Some(state), Some(event)) = (m.state.as_ref(), creation(conn, m)?) else {
                continue;
            };
            let mut settled = duplicate_settlement(m).and_then(SettledBy::of);
            if settled.is_none() && !group_open {
                // Another request of this ID was named the duplicate: this one keeps the ID.
                settled = group_settlement(folded, &group, uuid);
            }
            let this = Side::of_request(&event, state);
            let other = kept_m
                .state
                .as_ref()
                .zip(kept_event.as_ref())
                .map(|(s, e)| Side::of_request(e, s));
            out.push(ListedConflict {
                key: ConflictKey {
                    event: event.id,
                    clash: Clash::DuplicateId,
                },
                short_key: String::new(),
                request_uuid: uuid,
                downtime_id: Some(id.clone()),
                clash: Clash::DuplicateId,
                text: duplicate_words(&id),
                this,
                other,
                decisions: vec![Decision::Different, Decision::Same],
                settled,
                overruled: Vec::new(),
                with: Vec::new(),
            });
        }
    }
    Ok(())
}

/// The creation event that counts in a fold.
fn creation(conn: &Connection, m: &Merged) -> Result<Option<Event>, StoreError> {
    if m.state.is_none() {
        return Ok(None);
    }
    // Creations sort first: the first event applied is the creation that counts.
    match m.applied.first() {
        Some(id) => held(conn, *id),
        None => Ok(None),
    }
}

fn request_ref(m: &Merged) -> Option<RequestRef> {
    let s = m.state.as_ref()?;
    Some(RequestRef {
        request_uuid: m.request_uuid,
        created_by: s.created_by.clone(),
        created_at: s.created_at,
    })
}

/// The settlement that named another request of `group` the duplicate, as it settles `uuid`.
fn group_settlement(
    folded: &BTreeMap<Uuid, Merged>,
    group: &DuplicateDowntimeId,
    uuid: Uuid,
) -> Option<SettledBy> {
    group
        .requests
        .iter()
        .filter(|r| r.request_uuid != uuid)
        .find_map(|r| {
            let s = duplicate_settlement(folded.get(&r.request_uuid)?)?;
            SettledBy::of(s).map(|by| SettledBy {
                other_request: Some(r.request_uuid),
                ..by
            })
        })
}

/// A request's patient and details, as the person checking both paper forms reads them.
fn request_words(s: &RequestState) -> String {
    let r = &s.request;
    let tests: Vec<&str> = r.tests.iter().map(|t| t.code.as_str()).collect();
    format!(
        "{}; {}; {} ({}); collected {} by {}; requested by {}",
        crate::domain::identity::patient_line(&r.patient),
        r.ward,
        tests.join(", "),
        r.priority.label(),
        r.collected_at.format("%Y-%m-%d %H:%M UTC"),
        r.collected_by,
        r.requester
    )
}

fn duplicate_words(id: &DowntimeId) -> String {
    format!(
        "DUPLICATE ID: downtime ID {id} is on two different requests, the one the queue shows and \
         one it cannot show until this is settled; two PCs may have been set up with the same \
         workstation code: check both paper forms"
    )
}

/// The settling event's payload for `key`.
fn settlement(key: ConflictKey, decision: Decision, note: &str) -> EventKind {
    EventKind::ConflictSettled {
        settled: Settlement {
            event: key.event,
            clash: key.clash,
            decision,
            note: note.trim().to_owned(),
        },
    }
}
