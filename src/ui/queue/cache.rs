//! The queue's rows as read from the store: the matching count, the size of the overdue block,
//! and pages of [`PAGE_SIZE`] rows keyed by offset, all read as at one time.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{Listing, QueueState};
use crate::domain::overdue::OverdueThresholds;
use crate::error::error_chain;
use crate::store::{OverdueFirst, QueueRow, Store, StoreError};

/// Rows fetched from the store at a time for the queue.
pub const PAGE_SIZE: u64 = 100;
/// Pages kept in memory; the farthest from the last one asked for is dropped first.
pub(super) const MAX_PAGES: usize = 8;

/// Rows read from the store: the matching count, and pages of [`PAGE_SIZE`] keyed by offset.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueueCache {
    pub count: u64,
    /// How many of the matching requests were overdue when the listing was read.
    pub overdue: u64,
    pub pages: BTreeMap<u64, Vec<QueueRow>>,
    /// A page that could not be read, and why: shown once, and not asked for again every frame
    /// (a change of filter or sort, or Refresh, tries again).
    pub failed: Option<(u64, String)>,
    /// The time the listing was read as at. Every page of one listing is read as at this same
    /// time: with a later time a request could move into the overdue block between two pages
    /// and be shown twice or not at all (see [`OverdueFirst`]).
    listed_at: Option<DateTime<Utc>>,
    /// The filter and order the pages were read for.
    listing: Option<Listing>,
}

impl QueueCache {
    /// Reads the count and the pages again as at `now`: the first page, and the pages already
    /// held when the filter and order are unchanged (so the rows in view do not flicker). When
    /// the queue wants its highlighted row in view after a re-sort, reads on until it is found
    /// (at most [`MAX_PAGES`] pages), so that the table can scroll to it.
    pub fn reload(
        &mut self,
        store: &Store,
        state: &QueueState,
        now: DateTime<Utc>,
        thresholds: &OverdueThresholds,
    ) -> Result<(), StoreError> {
        let listing = Listing::of(state);
        let mut offsets: Vec<u64> = if self.listing.as_ref() == Some(&listing) {
            self.pages.keys().copied().collect()
        } else {
            Vec::new()
        };
        if !offsets.contains(&0) {
            offsets.insert(0, 0);
        }
        self.pages.clear();
        self.listing = Some(listing);
        self.listed_at = Some(now);
        self.failed = None;
        let at = OverdueFirst {
            now,
            thresholds: *thresholds,
        };
        if let Err((offset, e)) = self.read(store, state, &offsets, &at) {
            // Recorded so that the rows are not asked for again every frame; the shell shows
            // the error.
            self.failed = Some((offset, error_chain(&e)));
            return Err(e);
        }
        Ok(())
    }

    fn read(
        &mut self,
        store: &Store,
        state: &QueueState,
        offsets: &[u64],
        at: &OverdueFirst,
    ) -> Result<(), (u64, StoreError)> {
        let filter = state.filter();
        self.count = store.queue_count(&filter).map_err(|e| (0, e))?;
        self.overdue = store.queue_overdue_count(&filter, at).map_err(|e| (0, e))?;
        for &offset in offsets.iter().filter(|o| **o == 0 || **o < self.count) {
            let rows = fetch(store, state, offset, at).map_err(|e| (offset, e))?;
            self.pages.insert(offset, rows);
        }
        let Some(wanted) = state.wants_in_view() else {
            return Ok(());
        };
        let mut offset = 0;
        while self.position(wanted).is_none() && offset < self.count && self.pages.len() < MAX_PAGES
        {
            if let std::collections::btree_map::Entry::Vacant(page) = self.pages.entry(offset) {
                page.insert(fetch(store, state, offset, at).map_err(|e| (offset, e))?);
            }
            offset += PAGE_SIZE;
        }
        Ok(())
    }

    /// Reads the page at `offset` unless it is cached or has already failed. The page is read as
    /// at the time of the listing, not `now`, so that it fits the pages already held.
    pub fn load_page(
        &mut self,
        store: &Store,
        state: &QueueState,
        offset: u64,
        now: DateTime<Utc>,
        thresholds: &OverdueThresholds,
    ) {
        if self.pages.contains_key(&offset) || self.has_failed(offset) {
            return;
        }
        let at = OverdueFirst {
            now: self.listed_at.unwrap_or(now),
            thresholds: *thresholds,
        };
        match fetch(store, state, offset, &at) {
            Ok(rows) => {
                self.pages.insert(offset, rows);
                trim_pages(&mut self.pages, offset);
            }
            Err(e) => self.failed = Some((offset, error_chain(&e))),
        }
    }

    /// The time the rows were read as at, once they have been.
    pub fn listed_at(&self) -> Option<DateTime<Utc>> {
        self.listed_at
    }

    /// Whether reading the page at `offset` failed (it is not asked for again).
    pub fn has_failed(&self, offset: u64) -> bool {
        self.failed.as_ref().is_some_and(|f| f.0 == offset)
    }

    /// The row at `index` in the listing, if its page is held.
    pub fn row(&self, index: u64) -> Option<&QueueRow> {
        let offset = index - index % PAGE_SIZE;
        self.pages
            .get(&offset)
            .and_then(|page| page.get(usize::try_from(index - offset).ok()?))
    }

    /// Where the request is in the listing, if its page is held.
    pub fn position(&self, uuid: Uuid) -> Option<u64> {
        self.pages.iter().find_map(|(offset, rows)| {
            let i = rows.iter().position(|r| r.uuid == uuid)?;
            Some(offset + u64::try_from(i).ok()?)
        })
    }

    /// Every row held.
    pub fn rows(&self) -> impl Iterator<Item = &QueueRow> {
        self.pages.values().flatten()
    }
}

/// One page of rows in the queue's order: with "overdue first" (the default) the overdue block as
/// at `at.now`, most overdue first, then the rest in the chosen order.
fn fetch(
    store: &Store,
    state: &QueueState,
    offset: u64,
    at: &OverdueFirst,
) -> Result<Vec<QueueRow>, StoreError> {
    store.queue_page_with_overdue(
        &state.filter(),
        state.sort,
        state.order,
        state.overdue_first.then_some(at),
        offset,
        PAGE_SIZE,
    )
}

fn trim_pages(pages: &mut BTreeMap<u64, Vec<QueueRow>>, around: u64) {
    while pages.len() > MAX_PAGES {
        let farthest = pages
            .keys()
            .copied()
            .max_by_key(|k| k.abs_diff(around))
            .unwrap_or(around);
        pages.remove(&farthest);
    }
}
