//! Read-only queries: the queue, patient look-ups, counts.

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::params_from_iter;
use rusqlite::types::Value;
use uuid::Uuid;

use super::overdue::OverdueFirst;
use super::rows::{QUEUE_COLUMNS, queue_row};
use super::{Store, StoreError, search};
use crate::domain::downtime_id::DowntimeId;
use crate::domain::event::RequestState;
use crate::domain::identity::{Identifier, IdentityKey};
use crate::domain::nhs_number::NhsNumber;
use crate::domain::request::{Patient, Priority};
use crate::domain::status::Status;
use crate::domain::warnings::PatientHistory;

/// One row of the queue: what the table shows, without the whole request.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueRow {
    pub uuid: Uuid,
    pub downtime_id: DowntimeId,
    pub surname: String,
    pub forename: String,
    pub dob: Option<NaiveDate>,
    /// Ten digits.
    pub nhs_number: Option<String>,
    pub mrn: Option<String>,
    pub emergency_number: Option<String>,
    pub tests: Vec<String>,
    pub priority: Priority,
    pub collected_at: DateTime<Utc>,
    pub status: Status,
    pub ward: String,
    pub accession: Option<String>,
    pub training: bool,
    /// A stored value of this request is not valid text (a damaged disk sector, a stray tool):
    /// shown with U+FFFD so the rest of the queue keeps working. `stopgap verify` names it.
    pub damaged: bool,
}

/// Which requests the queue shows. Empty lists mean "any".
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueueFilter {
    pub statuses: Vec<Status>,
    pub priorities: Vec<Priority>,
    pub ward: Option<String>,
    /// One box for a downtime ID (whole or part), NHS number, MRN, A&E number, or surname or
    /// forename (prefix): the rules are in [`super::search`].
    pub search: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortColumn {
    DowntimeId,
    Patient,
    Priority,
    #[default]
    Collected,
    Status,
    Ward,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortOrder {
    Ascending,
    #[default]
    Descending,
}

impl QueueFilter {
    /// The WHERE clause and its parameters.
    fn to_sql(&self) -> (String, Vec<Value>) {
        let (clauses, params) = self.clauses();
        (where_sql(&clauses), params)
    }

    /// Whether the search box holds a query.
    pub(super) fn is_searching(&self) -> bool {
        !self.search.trim().is_empty()
    }

    /// The terms of the WHERE clause (all must hold) and their parameters, in order.
    pub(super) fn clauses(&self) -> (Vec<String>, Vec<Value>) {
        let mut clauses: Vec<String> = Vec::new();
        let mut params: Vec<Value> = Vec::new();
        if !self.statuses.is_empty() {
            let marks = vec!["?"; self.statuses.len()].join(", ");
            clauses.push(format!("status IN ({marks})"));
            params.extend(self.statuses.iter().map(|s| Value::Text(s.word().into())));
        }
        if !self.priorities.is_empty() {
            let marks = vec!["?"; self.priorities.len()].join(", ");
            clauses.push(format!("priority IN ({marks})"));
            params.extend(self.priorities.iter().map(|p| Value::Text(p.word().into())));
        }
        if let Some(ward) = &self.ward {
            clauses.push("ward = ?".into());
            params.push(Value::Text(ward.clone()));
        }
        let q = self.search.trim();
        if !q.is_empty() {
            let (any, p) = search::terms(q);
            clauses.push(format!("({})", any.join(" OR ")));
            params.extend(p);
        }
        (clauses, params)
    }
}

/// `WHERE` and the terms joined by `AND`, or nothing when there are none.
pub(super) fn where_sql(clauses: &[String]) -> String {
    if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    }
}

/// One SQL statement of a queue read, with its parameters in order.
pub(super) struct Statement {
    pub(super) sql: String,
    pub(super) params: Vec<Value>,
}

/// Rows `offset .. offset + limit` of the requests matching `filter` in the chosen order, less
/// the overdue block of `except` (when the queue shows that block first).
pub(super) fn sorted_page(
    filter: &QueueFilter,
    sort: SortColumn,
    order: SortOrder,
    except: Option<&OverdueFirst>,
    offset: u64,
    limit: u64,
) -> Statement {
    let (mut clauses, mut params) = filter.clauses();
    if let Some(overdue) = except {
        let (term, p) = overdue.not_in_block();
        clauses.push(term);
        params.extend(p);
    }
    let order_sql = order_by(sort, order, filter.is_searching());
    let sql = page_sql(
        &format!("SELECT {QUEUE_COLUMNS}"),
        &where_sql(&clauses),
        &order_sql,
    );
    params.push(Value::Integer(i64::try_from(limit).unwrap_or(i64::MAX)));
    params.push(Value::Integer(i64::try_from(offset).unwrap_or(i64::MAX)));
    Statement { sql, params }
}

/// The ORDER BY clause. Ties are broken by rowid, which every index carries, so paging is
/// stable and an index walk needs no extra sort. With a search, the few matching rows are found
/// through the identifier indexes and then sorted: the unary `+` stops SQLite from walking a sort
/// index instead and filtering every row (seconds at a million requests).
fn order_by(column: SortColumn, order: SortOrder, searching: bool) -> String {
    let dir = match order {
        SortOrder::Ascending => "ASC",
        SortOrder::Descending => "DESC",
    };
    let p = if searching { "+" } else { "" };
    let tie = format!("requests.rowid {dir}");
    let expr = match column {
        // Unique: no tie to break.
        SortColumn::DowntimeId => return format!("ORDER BY {p}downtime_id {dir}"),
        SortColumn::Patient => format!("{p}surname_key {dir}, forename {dir}, collected_ms {dir}"),
        SortColumn::Priority => format!("{p}priority_rank {dir}, collected_ms {dir}"),
        SortColumn::Collected => format!("{p}collected_ms {dir}"),
        SortColumn::Status => format!("{p}status {dir}, collected_ms {dir}"),
        SortColumn::Ward => format!("{p}ward {dir}, collected_ms {dir}"),
    };
    format!("ORDER BY {expr}, {tie}")
}

/// A page query: the inner query finds the page's rowids by walking an index (cheap even deep
/// into a large queue), the outer one reads only those rows.
fn page_sql(select: &str, where_sql: &str, order: &str) -> String {
    format!(
        "{select} FROM (SELECT requests.rowid AS rid FROM requests {where_sql} {order} LIMIT ? OFFSET ?) AS page
         JOIN requests ON requests.rowid = page.rid {order}"
    )
}

impl Store {
    /// How many requests match the filter.
    pub fn queue_count(&self, filter: &QueueFilter) -> Result<u64, StoreError> {
        let (where_sql, params) = filter.to_sql();
        let sql = format!("SELECT count(*) FROM requests {where_sql}");
        let n: i64 = self
            .conn
            .prepare_cached(&sql)?
            .query_row(params_from_iter(params), |r| r.get(0))?;
        Ok(n as u64)
    }

    /// One page of the queue in the chosen order only, with no overdue block: the same as
    /// [`Store::queue_page_with_overdue`] given `None`, for callers that never pin the block.
    pub fn queue_page(
        &self,
        filter: &QueueFilter,
        sort: SortColumn,
        order: SortOrder,
        offset: u64,
        limit: u64,
    ) -> Result<Vec<QueueRow>, StoreError> {
        self.queue_page_with_overdue(filter, sort, order, None, offset, limit)
    }

    /// SQLite's plan for each statement a queue page may run (with `overdue_first`: per priority
    /// the count and the keys of the overdue block, a row by rowid, then the rest), one line per
    /// step: lets tests prove that look-ups use indexes rather than scanning every request.
    #[doc(hidden)]
    pub fn queue_plan(
        &self,
        filter: &QueueFilter,
        sort: SortColumn,
        order: SortOrder,
        overdue_first: Option<&OverdueFirst>,
    ) -> Result<Vec<String>, StoreError> {
        let mut statements = Vec::new();
        if let Some(overdue) = overdue_first {
            statements.extend(overdue.statements(filter));
        }
        statements.push(sorted_page(filter, sort, order, overdue_first, 0, 50));
        let mut lines = Vec::new();
        for Statement { sql, params } in statements {
            let mut st = self.conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
            let plan = st
                .query_map(params_from_iter(params), |r| r.get::<_, String>("detail"))?
                .collect::<Result<Vec<_>, _>>()?;
            lines.extend(plan);
        }
        Ok(lines)
    }

    /// Streams matching rows to `f` without holding them all in memory. `f`'s error stops the
    /// stream and is returned as it is.
    pub fn each_request<E: From<StoreError>>(
        &self,
        filter: &QueueFilter,
        sort: SortColumn,
        order: SortOrder,
        offset: u64,
        limit: u64,
        f: impl FnMut(QueueRow) -> Result<(), E>,
    ) -> Result<(), E> {
        self.each_row(sorted_page(filter, sort, order, None, offset, limit), f)
    }

    /// Runs a queue statement, handing each row to `f`.
    pub(super) fn each_row<E: From<StoreError>>(
        &self,
        statement: Statement,
        mut f: impl FnMut(QueueRow) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut st = self
            .conn
            .prepare_cached(&statement.sql)
            .map_err(StoreError::from)?;
        let mut rows = st
            .query(params_from_iter(statement.params))
            .map_err(StoreError::from)?;
        while let Some(r) = rows.next().map_err(StoreError::from)? {
            f(queue_row(r)?)?;
        }
        Ok(())
    }

    /// The whole current state of every matching request, for commands that need more than the
    /// queue row.
    pub fn each_state<E: From<StoreError>>(
        &self,
        filter: &QueueFilter,
        mut f: impl FnMut(RequestState) -> Result<(), E>,
    ) -> Result<(), E> {
        let (where_sql, params) = filter.to_sql();
        let sql = format!("SELECT rowid FROM requests {where_sql} ORDER BY collected_ms, uuid");
        let mut st = self.conn.prepare(&sql).map_err(StoreError::from)?;
        let rowids = st
            .query_map(params_from_iter(params), |r| r.get::<_, i64>(0))
            .map_err(StoreError::from)?
            .collect::<Result<Vec<i64>, _>>()
            .map_err(StoreError::from)?;
        for rowid in rowids {
            let state = super::rows::state_where(&self.conn, "r.rowid = ?1", [rowid])?.ok_or_else(
                || StoreError::Corrupt(format!("request row {rowid} vanished while being read")),
            )?;
            f(state)?;
        }
        Ok(())
    }

    /// The patient of the most recent request with this NHS number or MRN, to fill the form.
    pub fn patient_by_identifier(
        &self,
        nhs_number: Option<&NhsNumber>,
        mrn: Option<&str>,
    ) -> Result<Option<Patient>, StoreError> {
        Ok(self
            .latest_request_for(nhs_number, mrn)?
            .map(|request| request.patient))
    }

    /// Distinct patient identities on file for this NHS number and/or this MRN, each with the
    /// identifier that matched, most recent first. Cancelled requests are included: a cancelled
    /// request's identity is still a record of who holds the number. Found through the
    /// `nhs_number` and `mrn` indexes, never by reading every request.
    pub fn patients_on_file(
        &self,
        nhs: Option<&NhsNumber>,
        mrn: Option<&str>,
    ) -> Result<Vec<(Identifier, Patient)>, StoreError> {
        patients_on_file_in(&self.conn, nhs, mrn)
    }

    /// SQLite's plan for [`Store::patients_on_file`], so tests can prove it uses the indexes.
    #[doc(hidden)]
    pub fn patients_on_file_plan(&self) -> Result<Vec<String>, StoreError> {
        let mut st = self
            .conn
            .prepare(&format!("EXPLAIN QUERY PLAN {PATIENTS_ON_FILE_SQL}"))?;
        let lines = st
            .query_map(rusqlite::params!["9990000018", "K1234567"], |r| {
                r.get::<_, String>("detail")
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(lines)
    }

    /// The patient's earlier requests (any identifier they share), other than `exclude`, for
    /// duplicate and two-sample-rule warnings. Cancelled requests are left out.
    pub fn patient_history(
        &self,
        patient: &Patient,
        exclude: Uuid,
    ) -> Result<PatientHistory, StoreError> {
        let mut any = Vec::new();
        let mut params: Vec<Value> = Vec::new();
        if let Some(n) = &patient.nhs_number {
            any.push("nhs_number = ?");
            params.push(Value::Text(n.digits()));
        }
        if let Some(m) = &patient.mrn {
            any.push("mrn = ?");
            params.push(Value::Text(m.clone()));
        }
        if let Some(e) = &patient.emergency_number {
            any.push("emergency_number = ?");
            params.push(Value::Text(e.clone()));
        }
        if any.is_empty() {
            return Ok(PatientHistory::default());
        }
        params.push(Value::Text(exclude.to_string()));
        let tail = format!(
            "WHERE ({}) AND uuid <> ? AND status <> 'cancelled'
             ORDER BY collected_ms DESC LIMIT 500",
            any.join(" OR ")
        );
        let mut history = PatientHistory::default();
        for s in super::rows::states_picked(&self.conn, &tail, &params)? {
            history.has_transfusion_sample |= s.request.has_transfusion_test();
            history.earlier.push((
                s.downtime_id,
                s.request.test_codes(),
                s.request.collected_at,
            ));
        }
        Ok(history)
    }

    /// Open (not final) emergency and urgent requests, for the top bar.
    pub fn open_counts(&self) -> Result<(u64, u64), StoreError> {
        let mut st = self.conn.prepare_cached(
            "SELECT priority, count(*) FROM requests
             WHERE status IN ('logged', 'sent', 'received') GROUP BY priority",
        )?;
        let mut rows = st.query([])?;
        let (mut emergency, mut urgent) = (0, 0);
        while let Some(r) = rows.next()? {
            let p: String = r.get(0)?;
            let n: i64 = r.get(1)?;
            match p.as_str() {
                "emergency" => emergency = n as u64,
                "urgent" => urgent = n as u64,
                _ => {}
            }
        }
        Ok((emergency, urgent))
    }

    /// Requests created on `workstation` since `since_ms`, newest first.
    pub(crate) fn saved_since(
        &self,
        workstation: &str,
        since_ms: i64,
        limit: u32,
    ) -> Result<Vec<QueueRow>, StoreError> {
        let sql = format!(
            "SELECT {QUEUE_COLUMNS} FROM requests WHERE workstation = ?1 AND created_ms >= ?2
             ORDER BY created_ms DESC LIMIT ?3"
        );
        let mut st = self.conn.prepare(&sql)?;
        let mut rows = st.query(rusqlite::params![workstation, since_ms, limit])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(queue_row(r)?);
        }
        Ok(out)
    }

    /// Whether the database holds synthetic training data.
    pub fn has_training_data(&self) -> Result<bool, StoreError> {
        Ok(self.conn.query_row(
            "SELECT EXISTS(SELECT 1 FROM requests WHERE training = 1)",
            [],
            |r| r.get(0),
        )?)
    }

    /// Wards that appear on stored requests, for the queue's ward filter.
    pub fn wards_in_use(&self) -> Result<Vec<String>, StoreError> {
        let mut st = self
            .conn
            .prepare("SELECT DISTINCT ward FROM requests ORDER BY ward")?;
        let wards = st
            .query_map([], |r| r.get(0))?
            .collect::<Result<Vec<String>, _>>()?;
        Ok(wards)
    }
}

/// Every request under the NHS number (`?1`) or the MRN (`?2`), with which one matched, most
/// recently saved first (rowid breaks a tie within the same millisecond; a request matching
/// both comes first as `nhs`). A NULL parameter matches nothing.
const PATIENTS_ON_FILE_SQL: &str = "
    SELECT matched, rid FROM (
        SELECT 'nhs' AS matched, created_ms, rowid AS rid FROM requests WHERE nhs_number = ?1
        UNION ALL
        SELECT 'mrn', created_ms, rowid FROM requests WHERE mrn = ?2
    )
    ORDER BY created_ms DESC, rid DESC, matched DESC";

/// [`Store::patients_on_file`] on any connection, so the save transaction can check the patient
/// against what it sees itself.
pub(crate) fn patients_on_file_in(
    conn: &rusqlite::Connection,
    nhs: Option<&NhsNumber>,
    mrn: Option<&str>,
) -> Result<Vec<(Identifier, Patient)>, StoreError> {
    let mrn = mrn
        .map(|m| m.trim().to_uppercase())
        .filter(|m| !m.is_empty());
    if nhs.is_none() && mrn.is_none() {
        return Ok(Vec::new());
    }
    let mut st = conn.prepare_cached(PATIENTS_ON_FILE_SQL)?;
    let matches = st
        .query_map(rusqlite::params![nhs.map(NhsNumber::digits), mrn], |r| {
            Ok((r.get::<_, String>("matched")?, r.get::<_, i64>("rid")?))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut keys = Vec::new();
    let mut out = Vec::new();
    for (matched, rowid) in matches {
        let Some(state) = super::rows::state_where(conn, "r.rowid = ?1", [rowid])? else {
            continue;
        };
        let patient = state.request.patient;
        let identifier = match (matched.as_str(), nhs, &mrn) {
            ("nhs", Some(n), _) => Identifier::Nhs(*n),
            ("mrn", _, Some(m)) => Identifier::Mrn(m.clone()),
            _ => {
                return Err(StoreError::Corrupt(format!(
                    "patient look-up matched '{matched}'"
                )));
            }
        };
        // The same person may be on file under both numbers, or written in another case: one
        // entry per identity, the most recent.
        let key = IdentityKey::of(&patient);
        if !keys.contains(&key) {
            keys.push(key);
            out.push((identifier, patient));
        }
    }
    Ok(out)
}
