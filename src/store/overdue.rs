//! The queue's overdue block (open emergency and urgent requests past their threshold, shown
//! first, most overdue first) and the thresholds, which are workstation settings.
//!
//! A page with the block first is read in up to three statements in one read transaction: the
//! size of the block, the part of the block on the page, then the rest in the chosen order from
//! `offset - block size`. The block is small and found through the partial index
//! `requests_open_by_priority`; the rest walks the sort index as a page without the block does,
//! leaving the block out by rowid.

use chrono::{DateTime, Duration, Utc};
use rusqlite::params;
use rusqlite::types::Value;

use super::queries::{
    QueueFilter, QueueRow, SortColumn, SortOrder, Statement, sorted_page, where_sql,
};
use super::rows::QUEUE_COLUMNS;
use super::{Store, StoreError};
use crate::domain::overdue::{OverdueThresholds, is_open, overdue_by};
use crate::domain::request::ALL_PRIORITIES;
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

impl OverdueFirst {
    /// The term that picks the overdue block, and its parameters: per priority with a threshold,
    /// collected before `now - threshold` (to the millisecond, as
    /// [`crate::domain::overdue::overdue_by`] counts).
    pub(super) fn term(&self) -> (String, Vec<Value>) {
        let now_ms = self.now.timestamp_millis();
        let mut any = Vec::new();
        let mut params = Vec::new();
        for priority in ALL_PRIORITIES {
            if let Some(limit) = self.thresholds.threshold(priority) {
                // `priority_rank` is the priority's position, as `rows::insert_request` writes it.
                any.push(format!(
                    "(priority_rank = {} AND collected_ms < ?)",
                    priority as i64
                ));
                params.push(Value::Integer(now_ms - limit.num_milliseconds()));
            }
        }
        let any = if any.is_empty() {
            "0".to_owned()
        } else {
            any.join(" OR ")
        };
        (format!("({} AND ({any}))", open_term()), params)
    }

    /// Most overdue first: the earliest deadline (collection time plus the priority's threshold),
    /// then emergency before urgent, then the order they were saved.
    fn block_order(&self) -> (String, Vec<Value>) {
        let mut cases = String::new();
        let mut params = Vec::new();
        for priority in ALL_PRIORITIES {
            if let Some(limit) = self.thresholds.threshold(priority) {
                cases.push_str(&format!(" WHEN {} THEN ?", priority as i64));
                params.push(Value::Integer(limit.num_milliseconds()));
            }
        }
        let sql = format!(
            "ORDER BY collected_ms + CASE priority_rank{cases} ELSE 0 END, priority_rank, requests.rowid"
        );
        (sql, params)
    }

    /// How many requests matching `filter` are in the overdue block.
    pub(super) fn block_count(&self, filter: &QueueFilter) -> Statement {
        let (mut clauses, mut params) = filter.clauses();
        let (term, p) = self.term();
        clauses.push(term);
        params.extend(p);
        Statement {
            sql: format!("SELECT count(*) FROM requests {}", where_sql(&clauses)),
            params,
        }
    }

    /// Rows `offset .. offset + limit` of the overdue block of the requests matching `filter`.
    pub(super) fn block_page(&self, filter: &QueueFilter, offset: u64, limit: u64) -> Statement {
        let (mut clauses, mut params) = filter.clauses();
        let (term, p) = self.term();
        clauses.push(term);
        params.extend(p);
        let (order, p) = self.block_order();
        params.extend(p);
        params.push(Value::Integer(i64::try_from(limit).unwrap_or(i64::MAX)));
        params.push(Value::Integer(i64::try_from(offset).unwrap_or(i64::MAX)));
        Statement {
            sql: format!(
                "SELECT {QUEUE_COLUMNS} FROM requests {} {order} LIMIT ? OFFSET ?",
                where_sql(&clauses)
            ),
            params,
        }
    }
}

impl QueueRow {
    /// How long past its threshold this request is at `now`, or `None` when it is not overdue:
    /// for the queue's "OVERDUE 1 h 12 min" (see [`crate::domain::overdue::age_words`]).
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
    /// requests matching `filter` come first, most overdue first, then every other matching
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
        let mut out = Vec::with_capacity(limit.min(10_000) as usize);
        let Some(overdue) = overdue_first else {
            let page = sorted_page(filter, sort, order, None, offset, limit);
            self.each_row(page, |row| {
                out.push(row);
                Ok::<(), StoreError>(())
            })?;
            return Ok(out);
        };
        // One snapshot for the three statements, so that a save by another process between them
        // cannot move a request across the boundary of this page.
        self.read_snapshot(|| {
            let block = self.queue_overdue_count(filter, overdue)?;
            let from_block = block.saturating_sub(offset).min(limit);
            if from_block > 0 {
                self.each_row(overdue.block_page(filter, offset, from_block), |row| {
                    out.push(row);
                    Ok::<(), StoreError>(())
                })?;
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
        let Statement { sql, params } = overdue.block_count(filter);
        let n: i64 = self
            .conn
            .prepare_cached(&sql)?
            .query_row(rusqlite::params_from_iter(params), |r| r.get(0))?;
        Ok(u64::try_from(n).unwrap_or_default())
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
            tx.execute(
                "INSERT INTO settings(key, value) VALUES (?1, ?2)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                params![THRESHOLDS_KEY, value],
            )?;
            tx.execute(
                "INSERT INTO settings_log(key, value, at_ms, workstation, user_name)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    THRESHOLDS_KEY,
                    value,
                    now.timestamp_millis(),
                    setup.workstation.as_str(),
                    user.trim()
                ],
            )?;
            Ok(())
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
