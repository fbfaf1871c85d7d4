//! The read of an export's requests, inside the read transaction [`Store::export_snapshot`]
//! opens.
//!
//! Each request is read from its creation event, which holds everything the writers need (the
//! columns of `requests` do not: the requester, clinical details, notes and each test's tube and
//! specimen are only there), with its row's status columns. Unpacking and decoding the event
//! costs more than SQLite takes to step through the rows, so the two run side by side: this
//! thread steps the statement and hands the stored bytes over in chunks, and other threads
//! unpack and decode them in order. On a single-core machine they simply take turns, as one loop
//! would.
//!
//! [`Store::export_snapshot`]: super::Store::export_snapshot

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use rusqlite::{Connection, Statement, params_from_iter};

use super::rows::{RawState, STATE_SELECT};
use super::{ExportSelection, StoreError};
use crate::domain::event::RequestState;

/// Requests handed to the decoder at a time: enough that the hand-over costs nothing per row,
/// few enough that decoding starts while the rest is read.
const CHUNK_ROWS: usize = 256;

/// Chunks read ahead of the decoder at most, so a large export holds only a few hundred
/// kilobytes of JSON besides the decoded requests.
const CHUNKS_AHEAD: usize = 8;

/// Up to [`CHUNK_ROWS`] requests as stored, undecoded.
type Chunk = Vec<RawState>;

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
    // The order first, then the rows one by one: when the planner filters through an index
    // other than the downtime ID's (the status index, say), the sort then carries row IDs
    // rather than every request's JSON, which SQLite would otherwise sort in temporary files.
    let order = format!("SELECT rowid FROM requests {where_sql} ORDER BY downtime_id");
    let mut st = conn.prepare(&order).map_err(sql)?;
    let ids = st
        .query_map(params_from_iter(params.iter()), |r| r.get::<_, i64>(0))
        .map_err(sql)?
        .collect::<Result<Vec<i64>, _>>()
        .map_err(sql)?;
    let total = ids.len() as u64;
    on_row(0, total)?;
    let mut st = conn
        .prepare(&format!("{STATE_SELECT} WHERE r.rowid = ?1"))
        .map_err(sql)?;
    let decoders = decoders();
    std::thread::scope(|scope| {
        let mut outboxes = Vec::with_capacity(decoders);
        let mut handles = Vec::with_capacity(decoders);
        for _ in 0..decoders {
            let (chunks, inbox) = sync_channel(CHUNKS_AHEAD);
            outboxes.push(chunks);
            handles.push(scope.spawn(move || decode(inbox)));
        }
        // `send_rows` owns the senders and drops them when it returns, which ends each
        // decoder's loop after its last chunk (or at once, when the read stopped early).
        let read = send_rows(&mut st, &ids, outboxes, on_row);
        let decoded: Vec<_> = handles.into_iter().map(|h| h.join()).collect();
        // A read error or a cancel is the answer even if decoding also stopped.
        read?;
        let mut per_decoder = Vec::with_capacity(decoders);
        for d in decoded {
            match d {
                Ok(chunks) => per_decoder.push(chunks.map_err(E::from)?.into_iter()),
                Err(_) => {
                    return Err(E::from(StoreError::Corrupt(
                        "the requests could not be decoded (a decoding thread stopped)".into(),
                    )));
                }
            }
        }
        // Chunk `i` went to decoder `i % decoders`: taking one chunk from each in turn puts
        // the requests back in file order.
        let mut out = Vec::with_capacity(ids.len());
        'chunks: loop {
            for chunks in &mut per_decoder {
                match chunks.next() {
                    Some(states) => {
                        for state in states {
                            match state {
                                Some(state) => out.push(state),
                                None => out.push(from_history(conn, ids[out.len()])?),
                            }
                        }
                    }
                    None => break 'chunks,
                }
            }
        }
        Ok(out)
    })
}

/// A request whose stored state could not be decoded, rebuilt from its events (the record the
/// row's columns were made from); an error naming it only when its history cannot be read
/// either.
fn from_history<E: From<StoreError>>(conn: &Connection, rowid: i64) -> Result<RequestState, E> {
    let mut st = conn
        .prepare_cached(&format!("{STATE_SELECT} WHERE r.rowid = ?1"))
        .map_err(sql)?;
    let mut rows = st.query([rowid]).map_err(sql)?;
    let row = rows.next().map_err(sql)?.ok_or_else(|| {
        E::from(StoreError::Corrupt(format!(
            "request row {rowid} vanished during the export's read"
        )))
    })?;
    super::rows::state_of_row(conn, row).map_err(E::from)
}

/// How many threads decode: one per core the reading thread leaves, at least two, and no
/// more than four (the read itself cannot feed more). Unpacking and decoding a request takes
/// about twice as long as reading it, so on a two-core PC two decoders beside the reader keep
/// both cores busy, where one decoder left the reader waiting for it half the time.
fn decoders() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get().clamp(3, 5) - 1)
}

/// Reads each request by row ID, in order, and deals the chunks out to the decoders in turn. Stops early, without an error, when a decoder has stopped (it found JSON it cannot
/// read and says so itself).
fn send_rows<E: From<StoreError>>(
    st: &mut Statement<'_>,
    ids: &[i64],
    outboxes: Vec<SyncSender<Chunk>>,
    on_row: &mut impl FnMut(u64, u64) -> Result<(), E>,
) -> Result<(), E> {
    let total = ids.len() as u64;
    let mut chunk = Chunk::with_capacity(CHUNK_ROWS);
    let mut sent = 0usize;
    for (read, &id) in ids.iter().enumerate() {
        let mut rows = st.query([id]).map_err(sql)?;
        let Some(r) = rows.next().map_err(sql)? else {
            // The read transaction holds one snapshot, and requests are never deleted.
            return Err(E::from(StoreError::Corrupt(format!(
                "request row {id} vanished during the export's read"
            ))));
        };
        // Copied out as stored: a damaged value goes over as it is, for the decoder to find
        // and the request to be rebuilt from its history.
        chunk.push(RawState::read(r)?);
        on_row(read as u64 + 1, total)?;
        if chunk.len() == CHUNK_ROWS || read + 1 == ids.len() {
            let full = std::mem::replace(&mut chunk, Chunk::with_capacity(CHUNK_ROWS));
            if outboxes[sent % outboxes.len()].send(full).is_err() {
                return Ok(());
            }
            sent += 1;
        }
    }
    Ok(())
}

/// Decodes the chunks it is given, each into its own list, in the order they came. A request
/// whose stored state cannot be decoded is `None`: the reading thread rebuilds it from its
/// history.
fn decode(inbox: Receiver<Chunk>) -> Result<Vec<Vec<Option<RequestState>>>, StoreError> {
    let mut out = Vec::new();
    for chunk in inbox {
        out.push(chunk.into_iter().map(|raw| raw.decode().ok()).collect());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::domain::downtime_id::Code3;
    use crate::domain::status::ALL_STATUSES;
    use crate::store::{Setup, Store};

    /// A store on a real file with `n` demo requests, several of them changed since saved.
    fn store_with(n: usize) -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open_or_create(&dir.path().join("stopgap.db")).unwrap();
        store
            .configure(&Setup {
                site: Code3::site("RXX").unwrap(),
                workstation: Code3::workstation("B01").unwrap(),
                wards: vec![],
            })
            .unwrap();
        let now = Utc.with_ymd_and_hms(2026, 6, 4, 12, 0, 0).unwrap();
        let catalogue = store.catalogue().unwrap();
        let demo = crate::demo::synthetic_requests(n, 11, now, &catalogue).unwrap();
        store
            .in_transaction(|s| {
                for d in &demo {
                    s.save_training_request(&d.request, &d.user, d.created_at)?;
                    for (t, at) in &d.transitions {
                        s.change_status(d.request.uuid, t, &d.user, *at)?;
                    }
                }
                Ok(())
            })
            .unwrap();
        (dir, store)
    }

    fn every_request() -> ExportSelection {
        ExportSelection {
            statuses: ALL_STATUSES.to_vec(),
            include_exported: true,
            ..ExportSelection::default()
        }
    }

    /// Each request's state as its history folds, in downtime-ID order, one by one.
    fn stored_states(store: &Store) -> Vec<RequestState> {
        let mut st = store
            .conn
            .prepare("SELECT uuid FROM requests ORDER BY downtime_id")
            .unwrap();
        st.query_map([], |r| r.get::<_, String>(0))
            .unwrap()
            .map(|uuid| {
                let uuid = uuid::Uuid::parse_str(&uuid.unwrap()).unwrap();
                RequestState::fold(&crate::store::rows::events_of(&store.conn, uuid).unwrap())
                    .unwrap()
            })
            .collect()
    }

    #[test]
    fn reads_every_request_in_downtime_id_order_across_many_chunks() {
        // More than two chunks per decoder, and a last chunk that is not full.
        let n = 5 * CHUNK_ROWS + 17;
        let (_dir, store) = store_with(n);
        let mut calls = Vec::new();
        let states = store
            .export_snapshot(&every_request(), |read, total| {
                calls.push((read, total));
                Ok::<(), StoreError>(())
            })
            .unwrap()
            .states;
        assert_eq!(states.len(), n);
        assert_eq!(states, stored_states(&store));
        let expected: Vec<_> = (0..=n as u64).map(|i| (i, n as u64)).collect();
        assert_eq!(
            calls, expected,
            "progress is reported once per request read"
        );
    }

    #[derive(Debug, PartialEq)]
    enum Stop {
        Cancelled,
        Store(String),
    }

    impl From<StoreError> for Stop {
        fn from(e: StoreError) -> Self {
            Stop::Store(e.to_string())
        }
    }

    #[test]
    fn a_cancel_during_the_read_stops_it_with_the_cancel() {
        let (_dir, store) = store_with(2 * CHUNK_ROWS + 5);
        let mut last = 0;
        let result = store.export_snapshot(&every_request(), |read, _| {
            last = read;
            if read == CHUNK_ROWS as u64 + 3 {
                Err(Stop::Cancelled)
            } else {
                Ok(())
            }
        });
        assert_eq!(result.err(), Some(Stop::Cancelled));
        assert_eq!(
            last,
            CHUNK_ROWS as u64 + 3,
            "no row is read after the cancel"
        );
    }

    #[test]
    fn a_request_whose_stored_columns_are_damaged_is_rebuilt_from_its_history() {
        let (_dir, store) = store_with(CHUNK_ROWS + 1);
        let every = |store: &Store| {
            store
                .export_snapshot(&every_request(), |_, _| Ok::<(), StoreError>(()))
                .unwrap()
                .states
        };
        let before = every(&store);
        // The update trigger wants a new last_event; dropping the triggers is the simplest
        // way to damage rows as a faulty disk or a foreign tool might.
        store
            .conn
            .execute_batch(
                "PRAGMA foreign_keys = OFF;
                 DROP TRIGGER IF EXISTS requests_change_only_with_an_event;
                 UPDATE requests SET accession = CAST(X'4CFF' AS TEXT)
                 WHERE rowid = (SELECT max(rowid) FROM requests);
                 UPDATE requests SET last_event = CAST(X'7BFF7D' AS TEXT)
                 WHERE rowid = (SELECT min(rowid) FROM requests);",
            )
            .unwrap();
        assert_eq!(every(&store), before);
    }
}
