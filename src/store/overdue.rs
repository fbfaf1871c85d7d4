//! The queue's overdue block (open emergency and urgent requests past their threshold, shown
//! first, most overdue first) and the thresholds, which are workstation settings.
//!
//! The block can be large: during a long downtime most urgent samples are received and wait
//! there, open, until the LIMS is back (100,000 demo requests hold 55,000 overdue). So no
//! statement sorts the block. Per priority, the block is one range of the partial index
//! `requests_open_by_priority`, already in collection order, which is deadline order within a
//! priority; a page of the block reads the first `offset + limit` keys of each range, merges them
//! by deadline, and then reads only the page's rows. The rest of the queue walks its sort index as
//! a page without the block does, skipping block rows by a term on columns that the default sort
//! index holds.

use chrono::{DateTime, Duration, Utc};
use rusqlite::types::Value;

use super::queries::{
    QueueFilter, QueueRow, SortColumn, SortOrder, Statement, sorted_page, where_sql,
};
use super::rows::{QUEUE_COLUMNS, queue_row};
use super::{Store, StoreError};
use crate::domain::overdue::{OverdueThresholds, is_open, overdue_by};
use crate::domain::request::{ALL_PRIORITIES, Priority};
use crate::domain::status::ALL_STATUSES;

/// The `settings` key of the thresholds (JSON of [`OverdueThresholds`]).
const THRESHOLDS_KEY: &str = "overdue_thresholds";

/// Overdue first: the time the queue is looked at, and the thresholds in force.
///
/// Use one `now` for every page of a listing (take it when the queue is refreshed): with a later
/// `now` a request may have moved from the rest into the block between two pages, and be shown
/// twice or not at all.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OverdueFirst {
    pub now: DateTime<Utc>,
    pub thresholds: OverdueThresholds,
}

/// The statuses counted as open ([`is_open`]) as an SQL term, written exactly as the WHERE of the
/// partial index `requests_open_by_priority` (migration 3): SQLite uses a partial index only for
/// a query that repeats its term, and a test checks that the two agree.
fn open_term() -> String {
    let words: Vec<String> = ALL_STATUSES
        .into_iter()
        .filter(|s| is_open(*s))
        .map(|s| format!("'{}'", s.word()))
        .collect();
    format!("status IN ({})", words.join(", "))
}

/// The part of the block of one priority: open, collected before `cut_ms`.
#[derive(Debug, Clone, Copy)]
struct Part {
    priority: Priority,
    threshold_ms: i64,
    /// `now - threshold`, Unix ms: overdue when collected strictly before it, to the millisecond
    /// as [`crate::domain::overdue::overdue_by`] counts.
    cut_ms: i64,
}

impl Part {
    /// The part's term and parameter. When searching, the few matching rows are found through
    /// the identifier indexes; the unary `+` keeps SQLite from walking this part's range instead
    /// and checking the search on every open request.
    fn term(&self, searching: bool) -> (String, Value) {
        let p = if searching { "+" } else { "" };
        let term = format!(
            "{} AND {p}priority = '{}' AND {p}collected_ms < ?",
            open_term(),
            self.priority.word()
        );
        (term, Value::Integer(self.cut_ms))
    }

    fn statement(&self, filter: &QueueFilter, select: &str, tail: &str) -> Statement {
        let (mut clauses, mut params) = filter.clauses();
        let (term, cut) = self.term(filter.is_searching());
        clauses.push(term);
        params.push(cut);
        Statement {
            sql: format!(
                "SELECT {select} FROM requests {} {tail}",
                where_sql(&clauses)
            ),
            params,
        }
    }

    /// How many of the requests matching `filter` are in this part.
    fn count(&self, filter: &QueueFilter) -> Statement {
        self.statement(filter, "count(*)", "")
    }

    /// The first `limit` keys (rowid, collection time) of this part, in deadline order.
    fn keys(&self, filter: &QueueFilter, limit: u64) -> Statement {
        let p = if filter.is_searching() { "+" } else { "" };
        let mut st = self.statement(
            filter,
            "requests.rowid, collected_ms",
            &format!("ORDER BY {p}collected_ms, requests.rowid LIMIT ?"),
        );
        st.params
            .push(Value::Integer(i64::try_from(limit).unwrap_or(i64::MAX)));
        st
    }
}

/// Reads one request's queue row by rowid.
const ROW_BY_ROWID: &str = "WHERE requests.rowid = ?";

impl OverdueFirst {
    /// The priorities that can be overdue, with their thresholds.
    fn parts(&self) -> Vec<Part> {
        let now_ms = self.now.timestamp_millis();
        ALL_PRIORITIES
            .into_iter()
            .filter_map(|priority| {
                let threshold_ms = self.thresholds.threshold(priority)?.num_milliseconds();
                Some(Part {
                    priority,
                    threshold_ms,
                    cut_ms: now_ms - threshold_ms,
                })
            })
            .collect()
    }

    /// The term that leaves the block out of the rest of the queue, and its parameters. It reads
    /// only `status`, `priority` and `collected_ms`, which the collection-time index holds, so the
    /// default queue still pages through that index alone.
    pub(super) fn not_in_block(&self) -> (String, Vec<Value>) {
        let parts = self.parts();
        let any: Vec<String> = parts
            .iter()
            .map(|part| {
                format!(
                    "(priority = '{}' AND collected_ms < ?)",
                    part.priority.word()
                )
            })
            .collect();
        let params = parts.iter().map(|p| Value::Integer(p.cut_ms)).collect();
        if any.is_empty() {
            return ("1".to_owned(), params);
        }
        let term = format!("NOT ({} AND ({}))", open_term(), any.join(" OR "));
        (term, params)
    }

    /// The statements a page with the block first may run, for [`Store::queue_plan`].
    pub(super) fn statements(&self, filter: &QueueFilter) -> Vec<Statement> {
        let mut out = Vec::new();
        for part in self.parts() {
            out.push(part.count(filter));
            out.push(part.keys(filter, 50));
        }
        out.push(Statement {
            sql: format!("SELECT {QUEUE_COLUMNS} FROM requests {ROW_BY_ROWID}"),
            params: vec![Value::Integer(1)],
        });
        out
    }
}

impl QueueRow {
    /// How long past its threshold this request is at `now`, or `None` when it is not overdue.
    /// The queue's badge ("OVERDUE 1 h 12 min") shows the age since collection, which is what
    /// the lab reads off a sample; this figure is in the badge's hover text ("by 12 min").
    pub fn overdue_by(
        &self,
        now: DateTime<Utc>,
        thresholds: &OverdueThresholds,
    ) -> Option<Duration> {
        overdue_by(
            self.priority,
            self.status,
            self.collected_at,
            now,
            thresholds,
        )
    }
}

impl Store {
    /// One page of the queue: rows `offset .. offset + limit`. With `overdue_first`, the overdue
    /// requests matching `filter` come first, most overdue first (earliest deadline, then
    /// emergency before urgent, then the order they were saved), then every other matching
    /// request in the chosen order; without, all of them in the chosen order. Either way the
    /// pages together hold each of the [`Store::queue_count`] matching requests once.
    pub fn queue_page_with_overdue(
        &self,
        filter: &QueueFilter,
        sort: SortColumn,
        order: SortOrder,
        overdue_first: Option<&OverdueFirst>,
        offset: u64,
        limit: u64,
    ) -> Result<Vec<QueueRow>, StoreError> {
        self.require(crate::domain::access::Permission::ViewQueue)?;
        let mut out = Vec::new();
        let Some(overdue) = overdue_first else {
            let page = sorted_page(filter, sort, order, None, offset, limit);
            self.each_row(page, |row| {
                out.push(row);
                Ok::<(), StoreError>(())
            })?;
            return Ok(out);
        };
        // One snapshot for every statement, so that a save by another process between them
        // cannot move a request across the boundary of this page.
        self.read_snapshot(|| {
            let block = self.queue_overdue_count(filter, overdue)?;
            let from_block = block.saturating_sub(offset).min(limit);
            if from_block > 0 {
                out.extend(self.block_page(filter, overdue, offset, from_block)?);
            }
            let from_rest = limit - from_block;
            if from_rest > 0 {
                let rest_offset = offset.saturating_sub(block);
                let page = sorted_page(filter, sort, order, Some(overdue), rest_offset, from_rest);
                self.each_row(page, |row| {
                    out.push(row);
                    Ok::<(), StoreError>(())
                })?;
            }
            Ok(())
        })?;
        Ok(out)
    }

    /// How many requests matching `filter` are overdue: the size of the block
    /// [`Store::queue_page_with_overdue`] shows first.
    pub fn queue_overdue_count(
        &self,
        filter: &QueueFilter,
        overdue: &OverdueFirst,
    ) -> Result<u64, StoreError> {
        let mut total = 0u64;
        for part in overdue.parts() {
            let Statement { sql, params } = part.count(filter);
            let n: i64 = self
                .conn
                .prepare_cached(&sql)?
                .query_row(rusqlite::params_from_iter(params), |r| r.get(0))?;
            total += u64::try_from(n).unwrap_or_default();
        }
        Ok(total)
    }

    /// Rows `offset .. offset + limit` of the block: the first `offset + limit` keys of each
    /// part, merged by deadline, then the page's rows one by one.
    fn block_page(
        &self,
        filter: &QueueFilter,
        overdue: &OverdueFirst,
        offset: u64,
        limit: u64,
    ) -> Result<Vec<QueueRow>, StoreError> {
        // (deadline, priority, rowid): most overdue first, then emergency, then saved first.
        let mut keys: Vec<(i64, Priority, i64)> = Vec::new();
        for part in overdue.parts() {
            let Statement { sql, params } = part.keys(filter, offset.saturating_add(limit));
            let mut st = self.conn.prepare_cached(&sql)?;
            let mut rows = st.query(rusqlite::params_from_iter(params))?;
            while let Some(r) = rows.next()? {
                let collected_ms: i64 = r.get(1)?;
                keys.push((collected_ms + part.threshold_ms, part.priority, r.get(0)?));
            }
        }
        // Each part is already in order: the sort only merges the runs.
        keys.sort();
        let mut st = self.conn.prepare_cached(&format!(
            "SELECT {QUEUE_COLUMNS} FROM requests {ROW_BY_ROWID}"
        ))?;
        let skip = usize::try_from(offset).unwrap_or(usize::MAX);
        let take = usize::try_from(limit).unwrap_or(usize::MAX);
        let mut out = Vec::new();
        for &(_, _, rowid) in keys.iter().skip(skip).take(take) {
            out.push(st.query_row([rowid], |r| Ok(queue_row(r)))??);
        }
        Ok(out)
    }

    /// Runs reads in one transaction (one snapshot of the database), or in the transaction
    /// already open.
    fn read_snapshot<T>(&self, f: impl FnOnce() -> Result<T, StoreError>) -> Result<T, StoreError> {
        if !self.conn.is_autocommit() {
            return f();
        }
        let tx = self.conn.unchecked_transaction()?;
        let value = f()?;
        // Nothing was written: ending the transaction only lets go of the snapshot.
        tx.commit()?;
        Ok(value)
    }

    // ---- Settings -------------------------------------------------------------------------

    /// The overdue thresholds of this workstation: as last set, or the defaults (30 minutes for
    /// emergency, 60 for urgent) until someone sets them.
    pub fn overdue_thresholds(&self) -> Result<OverdueThresholds, StoreError> {
        let Some(json) = self.setting(THRESHOLDS_KEY)? else {
            return Ok(OverdueThresholds::default());
        };
        let thresholds: OverdueThresholds = serde_json::from_str(&json)?;
        // Only checked thresholds are ever written: anything else was changed behind the store.
        thresholds
            .check()
            .map_err(|e| StoreError::Corrupt(format!("stored overdue thresholds: {e}")))?;
        Ok(thresholds)
    }

    /// Sets the overdue thresholds after checking them, and records the new values with who set
    /// them and when in the settings log, in one transaction.
    pub fn set_overdue_thresholds(
        &mut self,
        thresholds: &OverdueThresholds,
        user: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        thresholds.check()?;
        let setup = self.require_setup()?;
        let value = serde_json::to_string(thresholds)?;
        self.write(|tx| {
            super::settings::set_logged(tx, THRESHOLDS_KEY, &value, &setup.workstation, user, now)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::schema::MIGRATIONS;

    #[test]
    fn the_open_term_is_the_partial_index_term() {
        let index = MIGRATIONS
            .iter()
            .find_map(|m| {
                let start = m.find("CREATE INDEX requests_open_by_priority")?;
                m[start..].split(';').next()
            })
            .unwrap();
        assert!(
            index.contains(&format!("WHERE {}", open_term())),
            "{index} vs {}",
            open_term()
        );
    }
}
