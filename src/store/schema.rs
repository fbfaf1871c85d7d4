//! The database schema as an append-only list of migrations, keyed on `PRAGMA user_version`.

use rusqlite::{Connection, Transaction};

use super::StoreError;

/// Every migration ever shipped, in order; migration `i` takes the schema from version `i` to
/// `i + 1`. Append only: never edit or reorder a shipped entry, or databases already in use on
/// wards would silently differ from new ones.
pub const MIGRATIONS: &[&str] = &[
    // 1: requests, their events, ID sequences, settings, drafts, sessions, the catalogue.
    r#"
    CREATE TABLE settings (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) STRICT;

    -- Every change to a request. Never updated, never deleted.
    CREATE TABLE events (
        seq          INTEGER PRIMARY KEY,   -- local insertion order
        id           TEXT NOT NULL UNIQUE,  -- event UUID, the same on every workstation
        request_uuid TEXT NOT NULL,
        workstation  TEXT NOT NULL,
        user_name    TEXT NOT NULL,
        at_ms        INTEGER NOT NULL,      -- Unix ms, UTC
        kind         TEXT NOT NULL,         -- 'created' | 'status_changed'
        payload      TEXT NOT NULL          -- JSON of domain::event::EventKind
    ) STRICT;
    CREATE INDEX events_by_request ON events(request_uuid, seq);
    CREATE TRIGGER events_are_never_changed BEFORE UPDATE ON events
    BEGIN SELECT RAISE(ABORT, 'clinical history is never changed'); END;
    CREATE TRIGGER events_are_never_deleted BEFORE DELETE ON events
    BEGIN SELECT RAISE(ABORT, 'clinical history is never deleted'); END;

    -- Current state of each request: a cache of the fold of its events, written in the same
    -- transaction as the event that changes it.
    CREATE TABLE requests (
        uuid         TEXT PRIMARY KEY,
        downtime_id  TEXT NOT NULL UNIQUE,  -- canonical 13-character form
        site         TEXT NOT NULL,
        workstation  TEXT NOT NULL,
        sequence     INTEGER NOT NULL,
        status       TEXT NOT NULL,
        priority     TEXT NOT NULL,
        priority_rank INTEGER NOT NULL,     -- 0 emergency, 1 urgent, 2 routine: sorts by urgency
        surname      TEXT NOT NULL,
        surname_key  TEXT NOT NULL,         -- lowercase surname, for prefix search
        forename     TEXT NOT NULL,
        dob          TEXT,                  -- YYYY-MM-DD
        nhs_number   TEXT,                  -- 10 digits
        mrn          TEXT,
        emergency_number TEXT,
        ward         TEXT NOT NULL,
        tests        TEXT NOT NULL,         -- test codes separated by spaces
        collected_ms INTEGER NOT NULL,      -- Unix ms, UTC
        created_ms   INTEGER NOT NULL,
        updated_ms   INTEGER NOT NULL,
        accession    TEXT,
        reason       TEXT,
        training     INTEGER NOT NULL DEFAULT 0,
        state        TEXT NOT NULL,         -- JSON of domain::event::RequestState
        last_event   TEXT NOT NULL REFERENCES events(id),
        UNIQUE (site, workstation, sequence)
    ) STRICT;
    CREATE INDEX requests_by_nhs ON requests(nhs_number) WHERE nhs_number IS NOT NULL;
    CREATE INDEX requests_by_mrn ON requests(mrn) WHERE mrn IS NOT NULL;
    CREATE INDEX requests_by_emergency ON requests(emergency_number) WHERE emergency_number IS NOT NULL;
    CREATE INDEX requests_by_surname ON requests(surname_key, forename, collected_ms);
    -- Covers the queue's filters, so paging deep into a filtered queue reads only the index.
    CREATE INDEX requests_by_collected ON requests(collected_ms, status, priority, ward);
    CREATE INDEX requests_by_status ON requests(status, collected_ms);
    CREATE INDEX requests_by_created ON requests(workstation, created_ms);
    CREATE INDEX requests_by_ward ON requests(ward, collected_ms);
    CREATE INDEX requests_by_priority ON requests(priority_rank, collected_ms);
    CREATE TRIGGER requests_are_never_deleted BEFORE DELETE ON requests
    BEGIN SELECT RAISE(ABORT, 'clinical records are never deleted: cancel with a reason'); END;
    CREATE TRIGGER requests_change_only_with_an_event BEFORE UPDATE ON requests
    WHEN NEW.last_event = OLD.last_event
    BEGIN SELECT RAISE(ABORT, 'a request changes only together with a new event'); END;

    -- The last sequence number issued per site and workstation. Only ever increases.
    CREATE TABLE id_sequence (
        site        TEXT NOT NULL,
        workstation TEXT NOT NULL,
        last        INTEGER NOT NULL,
        PRIMARY KEY (site, workstation)
    ) STRICT;
    CREATE TRIGGER id_sequence_only_increases BEFORE UPDATE ON id_sequence
    WHEN NEW.last <= OLD.last
    BEGIN SELECT RAISE(ABORT, 'downtime ID sequence numbers are never reused'); END;

    -- The form being typed, so it survives a restart. Not a clinical record.
    CREATE TABLE drafts (
        slot     TEXT PRIMARY KEY,
        payload  TEXT NOT NULL,           -- JSON of domain::request::RequestDraft
        saved_ms INTEGER NOT NULL
    ) STRICT;

    -- App sessions, to tell a clean exit from a crash.
    CREATE TABLE sessions (
        id          INTEGER PRIMARY KEY,
        workstation TEXT NOT NULL,
        started_ms  INTEGER NOT NULL,
        ended_ms    INTEGER
    ) STRICT;

    -- Every catalogue ever in use; the newest is current. Requests keep their own copy of the
    -- tests they were made with.
    CREATE TABLE catalogue_versions (
        id       INTEGER PRIMARY KEY,
        toml     TEXT NOT NULL,
        set_ms   INTEGER NOT NULL,
        set_by   TEXT NOT NULL
    ) STRICT;
    CREATE TRIGGER catalogue_versions_are_never_deleted BEFORE DELETE ON catalogue_versions
    BEGIN SELECT RAISE(ABORT, 'catalogue history is never deleted'); END;
    "#,
    // 2: export batches (what was exported, exactly, so it can be reproduced) and the export log.
    r#"
    -- One export: who, when, format, profile and options, and the SHA-256 of the file. Never
    -- changed or deleted: it is the audit of what left the workstation.
    CREATE TABLE export_batches (
        number        INTEGER PRIMARY KEY,   -- batch number on this database, from 1
        batch_id      TEXT NOT NULL UNIQUE,  -- e.g. RXX-W07-B000012, written into the file
        format        TEXT NOT NULL,         -- 'csv' | 'hl7-oml' | 'hl7-orm' | 'fhir'
        profile_name  TEXT NOT NULL,
        profile_toml  TEXT NOT NULL,         -- the whole export profile, to reproduce the file
        options       TEXT NOT NULL,         -- JSON: per_test, excel_bom, mllp
        selection     TEXT NOT NULL,         -- JSON: the filters that chose the requests
        generated_ms  INTEGER NOT NULL,      -- Unix ms, UTC; written into the file
        workstation   TEXT NOT NULL,
        user_name     TEXT NOT NULL,
        file_name     TEXT NOT NULL,         -- no patient data in it
        sha256        TEXT NOT NULL,         -- lowercase hex of the file's bytes
        bytes         INTEGER NOT NULL,
        request_count INTEGER NOT NULL
    ) STRICT;
    CREATE TRIGGER export_batches_are_never_changed BEFORE UPDATE ON export_batches
    BEGIN SELECT RAISE(ABORT, 'export records are never changed'); END;
    CREATE TRIGGER export_batches_are_never_deleted BEFORE DELETE ON export_batches
    BEGIN SELECT RAISE(ABORT, 'export records are never deleted'); END;

    -- The requests of a batch, in file order, each with the last event folded in at export time.
    CREATE TABLE export_batch_requests (
        batch        INTEGER NOT NULL REFERENCES export_batches(number),
        position     INTEGER NOT NULL,
        request_uuid TEXT NOT NULL REFERENCES requests(uuid),
        last_event   TEXT NOT NULL REFERENCES events(id),
        PRIMARY KEY (batch, position)
    ) STRICT;
    CREATE INDEX export_batch_requests_by_request ON export_batch_requests(request_uuid);
    CREATE TRIGGER export_batch_requests_are_never_changed BEFORE UPDATE ON export_batch_requests
    BEGIN SELECT RAISE(ABORT, 'export records are never changed'); END;
    CREATE TRIGGER export_batch_requests_are_never_deleted BEFORE DELETE ON export_batch_requests
    BEGIN SELECT RAISE(ABORT, 'export records are never deleted'); END;

    -- Every time a file with patient data was written: the first export of a batch and each
    -- re-run. Never changed or deleted.
    CREATE TABLE export_log (
        id          INTEGER PRIMARY KEY,
        batch       INTEGER NOT NULL REFERENCES export_batches(number),
        action      TEXT NOT NULL,           -- 'export' | 'rerun'
        at_ms       INTEGER NOT NULL,        -- Unix ms, UTC
        workstation TEXT NOT NULL,
        user_name   TEXT NOT NULL,
        file_name   TEXT NOT NULL,
        sha256      TEXT NOT NULL
    ) STRICT;
    CREATE TRIGGER export_log_is_never_changed BEFORE UPDATE ON export_log
    BEGIN SELECT RAISE(ABORT, 'the export log is never changed'); END;
    CREATE TRIGGER export_log_is_never_deleted BEFORE DELETE ON export_log
    BEGIN SELECT RAISE(ABORT, 'the export log is never deleted'); END;
    "#,
    // 3: the queue's overdue block, search by partial downtime ID and by forename, and a log of
    // settings changes.
    r#"
    -- Open requests by priority and collection time: the overdue block (open emergency and urgent
    -- requests collected before a cut-off) is one range of this index per priority, read in
    -- order, however many final requests the database holds. `status` is there so that the
    -- block is counted and paged from the index alone. SQLite uses a partial index only when the
    -- query repeats its WHERE term exactly: see `store::overdue::open_term`.
    CREATE INDEX requests_open_by_priority ON requests(priority, collected_ms, status)
        WHERE status IN ('logged', 'sent', 'received');

    -- A downtime ID typed without its site ("W07-0000..."): workstation and a sequence range.
    CREATE INDEX requests_by_workstation_sequence ON requests(workstation, sequence);

    -- The six sequence digits of the downtime ID read backwards, so that "ends with 0023"
    -- becomes the prefix range "3200".."3200~" of one index.
    ALTER TABLE requests ADD COLUMN sequence_tail TEXT GENERATED ALWAYS AS (
        substr(downtime_id, 12, 1) || substr(downtime_id, 11, 1) || substr(downtime_id, 10, 1) ||
        substr(downtime_id, 9, 1) || substr(downtime_id, 8, 1) || substr(downtime_id, 7, 1)
    ) VIRTUAL;
    CREATE INDEX requests_by_sequence_tail ON requests(sequence_tail);

    -- Lowercase forename, for prefix search, written by the store as surname_key is. Requests
    -- saved before this version get SQLite's lower(), which folds only A-Z: the same key for
    -- every forename spelt in ASCII. The backfill is no clinical change, so it goes around the
    -- trigger that demands an event for every change of a request, and puts it back as it was.
    ALTER TABLE requests ADD COLUMN forename_key TEXT NOT NULL DEFAULT '';
    DROP TRIGGER requests_change_only_with_an_event;
    UPDATE requests SET forename_key = lower(forename);
    CREATE TRIGGER requests_change_only_with_an_event BEFORE UPDATE ON requests
    WHEN NEW.last_event = OLD.last_event
    BEGIN SELECT RAISE(ABORT, 'a request changes only together with a new event'); END;
    CREATE INDEX requests_by_forename ON requests(forename_key);

    -- Every change of a workstation setting kept in `settings`: who, when, the new value. Never
    -- changed or deleted.
    CREATE TABLE settings_log (
        id          INTEGER PRIMARY KEY,
        key         TEXT NOT NULL,
        value       TEXT NOT NULL,           -- as written into settings
        at_ms       INTEGER NOT NULL,        -- Unix ms, UTC
        workstation TEXT NOT NULL,
        user_name   TEXT NOT NULL
    ) STRICT;
    CREATE TRIGGER settings_log_is_never_changed BEFORE UPDATE ON settings_log
    BEGIN SELECT RAISE(ABORT, 'the settings log is never changed'); END;
    CREATE TRIGGER settings_log_is_never_deleted BEFORE DELETE ON settings_log
    BEGIN SELECT RAISE(ABORT, 'the settings log is never deleted'); END;
    "#,
    // 4: batch numbers taken by exports in progress, so a file is written outside any write
    // transaction (see `store::batches`). A row is removed when its batch is recorded or its
    // export fails cleanly; one left over is an export interrupted between file and record.
    r#"
    CREATE TABLE export_reservations (
        number      INTEGER PRIMARY KEY,     -- the batch number taken
        batch_id    TEXT NOT NULL UNIQUE,
        target      TEXT NOT NULL,           -- the file's final path (its name holds no patient data)
        reserved_ms INTEGER NOT NULL,        -- Unix ms, UTC
        workstation TEXT NOT NULL,
        user_name   TEXT NOT NULL
    ) STRICT;
    "#,
    // 5: which Stopgap wrote each batch, the values an export shortened to the receiver's
    // limits (when its profile says to truncate), and the requests an export in progress has
    // claimed, so two exports at once never both take a request.
    r#"
    -- NULL for batches written before this version.
    ALTER TABLE export_batches ADD COLUMN writer_version TEXT;

    -- Every value shortened in a batch's file: never changed or deleted, as the batch itself.
    -- The original value stays in the request; only where and by how much is recorded.
    CREATE TABLE export_truncations (
        batch       INTEGER NOT NULL REFERENCES export_batches(number),
        position    INTEGER NOT NULL,        -- in the order the writer met them
        downtime_id TEXT NOT NULL,           -- grouped, as on the form
        field       TEXT NOT NULL,           -- e.g. PID-5.2
        length      INTEGER NOT NULL,        -- characters before, as the receiver counts them
        "limit"     INTEGER NOT NULL,        -- characters after: the receiver's maximum
        PRIMARY KEY (batch, position)
    ) STRICT;
    CREATE TRIGGER export_truncations_are_never_changed BEFORE UPDATE ON export_truncations
    BEGIN SELECT RAISE(ABORT, 'export records are never changed'); END;
    CREATE TRIGGER export_truncations_are_never_deleted BEFORE DELETE ON export_truncations
    BEGIN SELECT RAISE(ABORT, 'export records are never deleted'); END;

    -- The requests of a reserved batch: one export at a time per request. Removed with the
    -- reservation (released, or turned into export_batch_requests when the batch is recorded).
    CREATE TABLE export_claims (
        request_uuid TEXT PRIMARY KEY REFERENCES requests(uuid),
        number       INTEGER NOT NULL REFERENCES export_reservations(number)
    ) STRICT;
    CREATE INDEX export_claims_by_number ON export_claims(number);
    "#,
    // 6: everything needed to record a reserved batch from its reservation alone, so an export
    // killed between its file and its record is recorded (or undone) at the next start, and the
    // path each recorded batch was written to, so `--force` never replaces a file that a batch
    // wrote (see `store::export_recover`).
    r#"
    -- Set when the number is reserved (the temporary file exists, locked, before the reservation).
    ALTER TABLE export_reservations ADD COLUMN temp_path TEXT;
    ALTER TABLE export_reservations ADD COLUMN format TEXT;
    ALTER TABLE export_reservations ADD COLUMN profile_name TEXT;
    ALTER TABLE export_reservations ADD COLUMN profile_toml TEXT;
    ALTER TABLE export_reservations ADD COLUMN options TEXT;       -- JSON, as export_batches
    ALTER TABLE export_reservations ADD COLUMN selection TEXT;     -- JSON, as export_batches
    -- Set once the file is complete and flushed, just before it is renamed into place.
    ALTER TABLE export_reservations ADD COLUMN sha256 TEXT;
    ALTER TABLE export_reservations ADD COLUMN bytes INTEGER;
    ALTER TABLE export_reservations ADD COLUMN truncations TEXT;   -- JSON array
    -- Each claimed request's place in the file and the event it is exported at.
    ALTER TABLE export_claims ADD COLUMN position INTEGER;
    ALTER TABLE export_claims ADD COLUMN last_event TEXT;

    -- The full path each batch's file was written to (batches from before this version have
    -- none). Never changed or deleted, as the batch itself.
    CREATE TABLE export_batch_paths (
        batch INTEGER PRIMARY KEY REFERENCES export_batches(number),
        path  TEXT NOT NULL
    ) STRICT;
    CREATE INDEX export_batch_paths_by_path ON export_batch_paths(path);
    CREATE TRIGGER export_batch_paths_are_never_changed BEFORE UPDATE ON export_batch_paths
    BEGIN SELECT RAISE(ABORT, 'export records are never changed'); END;
    CREATE TRIGGER export_batch_paths_are_never_deleted BEFORE DELETE ON export_batch_paths
    BEGIN SELECT RAISE(ABORT, 'export records are never deleted'); END;
    "#,
    // 7: every backup made (see `store::backup`): when, where, how big, how many requests.
    // The file may since have been pruned; the record stays.
    r#"
    CREATE TABLE backups (
        id       INTEGER PRIMARY KEY,
        at_ms    INTEGER NOT NULL,           -- Unix ms, UTC: the snapshot's time
        path     TEXT NOT NULL,
        bytes    INTEGER NOT NULL,
        requests INTEGER NOT NULL
    ) STRICT;
    "#,
    // 8: a smaller file. Event payloads are stored packed (see `store::packed`: about a quarter
    // of the JSON), and requests no longer keep a JSON copy of their whole state: what a state
    // holds beyond the row's columns is the creation event's, read from there. Events stored
    // before this version keep their JSON in `payload` (history is never rewritten); from now
    // on `payload` is '' and `packed` holds it. The dropped column frees its pages for new
    // requests (the file does not shrink until a backup or VACUUM rewrites it).
    r#"
    ALTER TABLE events ADD COLUMN packed BLOB;  -- store::packed of the JSON, when payload = ''
    ALTER TABLE requests DROP COLUMN state;
    "#,
    // 9: handover bundles imported from other PCs (see `store::handover`), and the events a
    // bundle carried under a UUID this PC already holds with other content (a damaged copy or a
    // faulty writer): never stored as history, never dropped either.
    r#"
    CREATE TABLE handover_imports (
        id                 INTEGER PRIMARY KEY,
        sha256             TEXT NOT NULL,     -- the bundle's, from its trailer
        source_site        TEXT NOT NULL,
        source_workstation TEXT NOT NULL,
        written_ms         INTEGER NOT NULL,  -- the sending PC's clock
        events             INTEGER NOT NULL,  -- in the bundle
        new_events         INTEGER NOT NULL,  -- of them, not held here before
        at_ms              INTEGER NOT NULL,  -- Unix ms, UTC, this PC's clock
        workstation        TEXT NOT NULL,
        user_name          TEXT NOT NULL
    ) STRICT;
    CREATE TRIGGER handover_imports_are_never_changed BEFORE UPDATE ON handover_imports
    BEGIN SELECT RAISE(ABORT, 'the handover log is never changed'); END;
    CREATE TRIGGER handover_imports_are_never_deleted BEFORE DELETE ON handover_imports
    BEGIN SELECT RAISE(ABORT, 'the handover log is never deleted'); END;

    CREATE TABLE handover_rejects (
        id           INTEGER PRIMARY KEY,
        import       INTEGER NOT NULL REFERENCES handover_imports(id),
        event_id     TEXT NOT NULL,           -- the UUID it shares with an event held here
        request_uuid TEXT NOT NULL,
        event_json   TEXT NOT NULL            -- the bundle's version, as it came
    ) STRICT;
    CREATE INDEX handover_rejects_by_request ON handover_rejects(request_uuid);
    CREATE TRIGGER handover_rejects_are_never_changed BEFORE UPDATE ON handover_rejects
    BEGIN SELECT RAISE(ABORT, 'the handover log is never changed'); END;
    CREATE TRIGGER handover_rejects_are_never_deleted BEFORE DELETE ON handover_rejects
    BEGIN SELECT RAISE(ABORT, 'the handover log is never deleted'); END;
    "#,
    // 10: samples received before their request reached this PC (see `store::early`): kept
    // until the ward's bundle brings the request, then linked (a receipt event, under the UUID
    // chosen here, so every path gives the same event) or marked as not matching. Never
    // deleted; only the outcome columns change, once.
    r#"
    CREATE TABLE early_receipts (
        id           INTEGER PRIMARY KEY,
        downtime_id  TEXT NOT NULL UNIQUE,     -- canonical
        details      TEXT NOT NULL,            -- JSON of domain::early::EarlyDetails
        received_ms  INTEGER NOT NULL,
        workstation  TEXT NOT NULL,
        user_name    TEXT NOT NULL,
        event_id     TEXT NOT NULL UNIQUE,     -- the receipt event's UUID, once linked
        outcome      TEXT NOT NULL DEFAULT 'waiting'
                     CHECK (outcome IN ('waiting', 'linked', 'mismatch')),
        request_uuid TEXT,                     -- the request it was matched against
        note         TEXT,                     -- why it did not link, or what was found
        settled_ms   INTEGER
    ) STRICT;
    CREATE TRIGGER early_receipts_are_never_deleted BEFORE DELETE ON early_receipts
    BEGIN SELECT RAISE(ABORT, 'an early receipt is never deleted'); END;
    CREATE TRIGGER early_receipts_settle_once BEFORE UPDATE ON early_receipts
    WHEN OLD.outcome <> 'waiting'
        OR NEW.downtime_id IS NOT OLD.downtime_id OR NEW.details IS NOT OLD.details
        OR NEW.received_ms IS NOT OLD.received_ms OR NEW.workstation IS NOT OLD.workstation
        OR NEW.user_name IS NOT OLD.user_name OR NEW.event_id IS NOT OLD.event_id
    BEGIN SELECT RAISE(ABORT, 'an early receipt is settled once and never changed'); END;
    "#,
    // 11: the tamper-evident audit log (see `domain::audit`, `store::audit`): every record
    // chained to the one before by SHA-256, never changed or deleted; and the chain head each
    // export batch carries (NULL for batches recorded before the log existed).
    r#"
    CREATE TABLE audit_log (
        seq          INTEGER PRIMARY KEY,   -- 1, 2, 3 ... with no gaps
        at_ms        INTEGER NOT NULL,      -- Unix ms, UTC; never before the previous record's
        workstation  TEXT NOT NULL,
        staff_id     TEXT NOT NULL,         -- '' until accounts supply one
        user_name    TEXT NOT NULL,
        action       TEXT NOT NULL,         -- stable word of domain::audit::AuditAction
        subject      TEXT NOT NULL,         -- a downtime ID, batch ID or file name; no patient data
        detail       TEXT NOT NULL,
        prev_hash    TEXT NOT NULL,         -- lowercase hex; 64 zeros for the first record
        hash         TEXT NOT NULL UNIQUE   -- SHA-256 of the record's canonical encoding
    ) STRICT;
    CREATE INDEX audit_log_by_time ON audit_log(at_ms);
    CREATE INDEX audit_log_by_action ON audit_log(action, at_ms);
    CREATE TRIGGER audit_log_is_never_changed BEFORE UPDATE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'the audit log is never changed'); END;
    CREATE TRIGGER audit_log_is_never_deleted BEFORE DELETE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'the audit log is never deleted'); END;
    ALTER TABLE export_batches ADD COLUMN audit_seq INTEGER;
    ALTER TABLE export_batches ADD COLUMN audit_hash TEXT;
    "#,
    // 12: accounts (see `store::accounts`): inside the encrypted file, so a role cannot be
    // changed without the key. Never deleted: a removed account keeps its row for the history.
    r#"
    CREATE TABLE accounts (
        staff_id    TEXT PRIMARY KEY,
        name        TEXT NOT NULL,
        role        TEXT NOT NULL CHECK (role IN ('ward', 'lab', 'manager')),
        added_ms    INTEGER NOT NULL,
        added_by    TEXT NOT NULL,
        removed_ms  INTEGER,
        removed_by  TEXT
    ) STRICT;
    CREATE TRIGGER accounts_are_never_deleted BEFORE DELETE ON accounts
    BEGIN SELECT RAISE(ABORT, 'an account is never deleted: it is marked removed'); END;
    "#,
];

/// The schema version this build writes.
pub fn latest_version() -> i64 {
    MIGRATIONS.len() as i64
}

pub(crate) fn user_version(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
}

/// Brings the schema up to date in one transaction; refuses a database from a newer Stopgap.
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let found = user_version(conn)?;
    let latest = latest_version();
    if found > latest {
        return Err(StoreError::NewerSchema { found, latest });
    }
    if found == latest {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    apply(&tx, found, latest)?;
    tx.commit()?;
    Ok(())
}

fn apply(tx: &Transaction<'_>, from: i64, to: i64) -> Result<(), StoreError> {
    for (i, sql) in MIGRATIONS
        .iter()
        .enumerate()
        .take(to as usize)
        .skip(from as usize)
    {
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
    }
    Ok(())
}

/// Applies only the first `version` migrations: for tests that start from an earlier schema.
#[doc(hidden)]
pub fn migrate_to(conn: &mut Connection, version: i64) -> Result<(), StoreError> {
    let found = user_version(conn)?;
    let tx = conn.transaction()?;
    apply(&tx, found, version)?;
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests;
