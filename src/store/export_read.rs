//! The read of an export's requests, inside the read transaction [`Store::export_snapshot`]
//! opens.
//!
//! Each request is read from its `state` JSON, which holds everything the writers need (the
//! columns of `requests` do not: the requester, clinical details, notes and each test's tube and
//! specimen are only in the JSON). Decoding that JSON costs more than SQLite takes to step
//! through the rows, so the two run side by side: this thread steps the statement and hands the
//! JSON over in chunks, and a second thread decodes them in order. On a single-core machine the
//! two simply take turns, as one loop would.
//!
//! [`Store::export_snapshot`]: super::Store::export_snapshot

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use rusqlite::types::Value;
use rusqlite::{Connection, Statement, params_from_iter};

use super::{ExportSelection, StoreError};
use crate::domain::event::RequestState;

/// Requests handed to the decoder at a time: enough that the hand-over costs nothing per row,
/// few enough that decoding starts while the rest is read.
const CHUNK_ROWS: usize = 256;

/// Chunks read ahead of the decoder at most, so a large export holds only a few hundred
/// kilobytes of JSON besides the decoded requests.
const CHUNKS_AHEAD: usize = 8;

/// The `state` JSON of up to [`CHUNK_ROWS`] requests, one after another in one buffer (one
/// allocation per chunk, not per request).
struct Chunk {
    json: String,
    /// Where each request's JSON ends in `json`.
    ends: Vec<usize>,
}

impl Chunk {
    fn new() -> Self {
        Self {
            json: String::with_capacity(CHUNK_ROWS * 1536),
            ends: Vec::with_capacity(CHUNK_ROWS),
        }
    }

    fn push(&mut self, json: &str) {
        self.json.push_str(json);
        self.ends.push(self.json.len());
    }

    fn is_full(&self) -> bool {
        self.ends.len() == CHUNK_ROWS
    }
}

fn sql<E: From<StoreError>>(e: rusqlite::Error) -> E {
    E::from(StoreError::from(e))
}

/// The requests `selection` takes, in file order (by downtime ID, which is how the lab reads
/// the paper forms back). `on_row(read, total)` is called once with `0` first and then after
/// each request is read; an error from it (the user cancelled) stops the read and is returned.
pub(super) fn read_selected<E: From<StoreError>>(
    conn: &Connection,
    selection: &ExportSelection,
    on_row: &mut impl FnMut(u64, u64) -> Result<(), E>,
) -> Result<Vec<RequestState>, E> {
    let (where_sql, params) = selection.to_sql();
    let count = format!("SELECT COUNT(*) FROM requests {where_sql}");
    let total: i64 = conn
        .query_row(&count, params_from_iter(params.iter()), |r| r.get(0))
        .map_err(sql)?;
    let total = u64::try_from(total).unwrap_or_default();
    on_row(0, total)?;
    let select = format!("SELECT state FROM requests {where_sql} ORDER BY downtime_id");
    let mut st = conn.prepare(&select).map_err(sql)?;
    let capacity = usize::try_from(total).unwrap_or_default();
    std::thread::scope(|scope| {
        let (chunks, inbox) = sync_channel(CHUNKS_AHEAD);
        let decoder = scope.spawn(move || decode(inbox, capacity));
        // `send_rows` owns the sender and drops it when it returns, which ends the decoder's
        // loop after the last chunk (or at once, when the read stopped early).
        let read = send_rows(&mut st, &params, total, chunks, on_row);
        let decoded = decoder.join();
        // A read error or a cancel is the answer even if decoding also stopped.
        read?;
        match decoded {
            Ok(states) => states.map_err(E::from),
            Err(_) => Err(E::from(StoreError::Corrupt(
                "the requests could not be decoded (the decoding thread stopped)".into(),
            ))),
        }
    })
}

/// Steps the statement and sends the JSON in chunks. Stops early, without an error, when the
/// decoder has stopped (it found JSON it cannot read and says so itself).
fn send_rows<E: From<StoreError>>(
    st: &mut Statement<'_>,
    params: &[Value],
    total: u64,
    chunks: SyncSender<Chunk>,
    on_row: &mut impl FnMut(u64, u64) -> Result<(), E>,
) -> Result<(), E> {
    let mut rows = st.query(params_from_iter(params.iter())).map_err(sql)?;
    let mut chunk = Chunk::new();
    let mut read = 0u64;
    while let Some(r) = rows.next().map_err(sql)? {
        // Copied straight from SQLite's buffer into the chunk: no String per request.
        let json = r
            .get_ref(0)
            .and_then(|v| v.as_str().map_err(Into::into))
            .map_err(sql)?;
        chunk.push(json);
        read += 1;
        on_row(read, total)?;
        if chunk.is_full()
            && chunks
                .send(std::mem::replace(&mut chunk, Chunk::new()))
                .is_err()
        {
            return Ok(());
        }
    }
    // A failed send means the decoder stopped, and it reports why.
    if !chunk.ends.is_empty() && chunks.send(chunk).is_err() {
        return Ok(());
    }
    Ok(())
}

/// Decodes the chunks in the order they were sent.
fn decode(inbox: Receiver<Chunk>, capacity: usize) -> Result<Vec<RequestState>, StoreError> {
    let mut out = Vec::with_capacity(capacity);
    for chunk in inbox {
        let mut start = 0;
        for &end in &chunk.ends {
            out.push(serde_json::from_str(&chunk.json[start..end])?);
            start = end;
        }
    }
    Ok(out)
}
