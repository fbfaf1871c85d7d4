//! Encrypting an older Stopgap's plain database in place, without losing anything.
//!
//! The plain file is checked, copied into a new encrypted file with `sqlcipher_export` (schema,
//! rows, indexes, triggers, the schema version), the copy is checked against it (integrity and
//! the number of rows of every table), the key file is written, and only then is the copy put in
//! the plain file's place. The plain file is overwritten with zeros before it is removed.
//! A crash at any step leaves either the plain file in place (the copy is discarded at the next
//! try) or the encrypted one (the plain leftover is wiped at the next open).

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;

use chrono::{DateTime, Utc};
use rusqlite::Connection;

use super::accounts::NewAccount;
use super::backup::side_file;
use super::keys::{self, DbKey, KdfParams, KeyFile, RecoveryCode};
use super::open::{FileKind, apply_key, file_kind};
use super::{Store, StoreError};

/// What the encryption found and did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encrypted {
    /// Rows per table, equal in the plain file and its encrypted copy.
    pub rows: Vec<(String, i64)>,
    pub bytes_before: u64,
    pub bytes_after: u64,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| match source.kind() {
        std::io::ErrorKind::StorageFull => StoreError::DiskFull,
        _ => StoreError::CannotRead {
            path: path.to_owned(),
            source,
        },
    }
}

fn damaged(path: &Path, details: String) -> StoreError {
    StoreError::Damaged {
        path: path.to_owned(),
        details,
    }
}

/// The tables of a database and their row counts, in name order.
fn row_counts(conn: &Connection) -> Result<Vec<(String, i64)>, StoreError> {
    let names: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    names
        .into_iter()
        .map(|n| {
            let count: i64 = conn.query_row(
                &format!("SELECT count(*) FROM \"{}\"", n.replace('"', "\"\"")),
                [],
                |r| r.get(0),
            )?;
            Ok((n, count))
        })
        .collect()
}

fn integrity(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
    if check == "ok" {
        Ok(())
    } else {
        Err(damaged(path, check))
    }
}

/// Overwrites a file with zeros, syncs it, then removes it. On an SSD or a copy-on-write
/// filesystem the old blocks may survive elsewhere on the disk (docs/security.md says so); the
/// file's own extent no longer holds the data.
pub(crate) fn wipe(path: &Path) -> Result<(), StoreError> {
    let len = match fs::metadata(path) {
        Ok(m) => m.len(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_err(path)(e)),
    };
    let mut f = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(io_err(path))?;
    let zeros = vec![0u8; 64 * 1024];
    let mut left = len;
    while left > 0 {
        let n = left.min(zeros.len() as u64) as usize;
        f.write_all(&zeros[..n]).map_err(io_err(path))?;
        left -= n as u64;
    }
    f.sync_all().map_err(io_err(path))?;
    drop(f);
    fs::remove_file(path).map_err(io_err(path))
}

/// Finishes or undoes an encryption a crash interrupted. Safe to call before every open.
pub fn recover_interrupted(path: &Path) -> Result<(), StoreError> {
    let old = side_file(path, ".plaintext-old");
    let copy = side_file(path, ".encrypting");
    if old.exists() {
        if path.exists() {
            // The encrypted file was put in place: the plain one only awaited wiping.
            wipe(&old)?;
        } else {
            // Moved aside but the copy never put in place: the plain file goes back.
            fs::rename(&old, path).map_err(io_err(path))?;
        }
    }
    if copy.exists() {
        wipe(&copy)?;
    }
    Ok(())
}

impl Store {
    /// Encrypts the plain database at `path` in place, with `first` as its first manager, and
    /// returns it open with the recovery code (shown once). Refuses a file that is not plain,
    /// or one that is damaged (nothing is changed then).
    pub fn encrypt_in_place(
        path: &Path,
        first: &NewAccount,
        password: &str,
        kdf: KdfParams,
        now: DateTime<Utc>,
    ) -> Result<(Store, RecoveryCode, Encrypted), StoreError> {
        recover_interrupted(path)?;
        if file_kind(path)? != FileKind::Plaintext {
            return Err(damaged(
                path,
                "it is not a plain SQLite database to encrypt".into(),
            ));
        }
        // Bring the plain file up to this version's schema first (it has no accounts table).
        drop(Store::open(path)?);
        let bytes_before = fs::metadata(path).map_err(io_err(path))?.len();
        let copy = side_file(path, ".encrypting");
        let key = DbKey::random()?;
        let rows = {
            let conn = Connection::open(path).map_err(|source| StoreError::Open {
                path: path.to_owned(),
                source,
            })?;
            conn.busy_timeout(std::time::Duration::from_secs(5))?;
            // Everything committed is in the main file, and nobody else writes meanwhile.
            conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE); BEGIN IMMEDIATE;")?;
            integrity(&conn, path)?;
            let rows = row_counts(&conn)?;
            let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
            let sql = zeroize::Zeroizing::new(format!(
                "ATTACH DATABASE '{}' AS encrypted KEY {};",
                copy.to_string_lossy().replace('\'', "''"),
                key.pragma_value().as_str()
            ));
            conn.execute_batch(&sql)?;
            conn.query_row("SELECT sqlcipher_export('encrypted')", [], |_| Ok(()))?;
            // The copy's writes are part of this transaction: committed (the plain file itself
            // was not changed), then detached, which SQLite refuses inside a transaction.
            conn.execute_batch(&format!(
                "PRAGMA encrypted.user_version = {version}; COMMIT; DETACH DATABASE encrypted;"
            ))?;
            rows
        };
        crate::platform::restrict_to_owner(&copy);
        {
            let enc = Connection::open(&copy).map_err(|source| StoreError::Open {
                path: copy.clone(),
                source,
            })?;
            apply_key(&enc, &key)?;
            integrity(&enc, &copy)?;
            let copied = row_counts(&enc)?;
            if copied != rows {
                drop(enc);
                wipe(&copy)?;
                return Err(damaged(
                    path,
                    format!(
                        "the encrypted copy did not hold every row ({copied:?} against {rows:?}); the plain file was left as it was"
                    ),
                ));
            }
        }
        fs::File::open(&copy)
            .and_then(|f| f.sync_all())
            .map_err(io_err(&copy))?;
        let mut file = KeyFile::new(path);
        let ms = now.timestamp_millis();
        file.set_account(&first.staff_id, password, &key, kdf, ms, false)?;
        let code = file.new_recovery(&key, kdf, ms)?;
        file.save()?;
        // The plain log and index were emptied by the checkpoint and closed with the file.
        for side in ["-wal", "-shm"] {
            wipe(&side_file(path, side))?;
        }
        let old = side_file(path, ".plaintext-old");
        fs::rename(path, &old).map_err(io_err(path))?;
        fs::rename(&copy, path).map_err(io_err(path))?;
        crate::files::sync_folder(&crate::files::folder_of(path)).map_err(io_err(path))?;
        wipe(&old)?;
        keys::remember(path, key);
        let mut store = Store::open(path)?;
        store.conn.execute(
            "INSERT INTO accounts(staff_id, name, role, added_ms, added_by)
             VALUES (?1, ?2, ?3, ?4, 'encryption of the plain database')",
            rusqlite::params![first.staff_id, first.name, first.role.word(), ms],
        )?;
        store.principal = Some(crate::domain::access::Principal::Account {
            staff_id: first.staff_id.clone(),
            name: first.name.clone(),
            role: first.role,
        });
        let bytes_after = fs::metadata(path).map_err(io_err(path))?.len();
        Ok((
            store,
            code,
            Encrypted {
                rows,
                bytes_before,
                bytes_after,
            },
        ))
    }
}
