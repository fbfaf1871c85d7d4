//! Opening the database file: which file may be opened, which may be created, which can only be
//! read, and what each failure really is. A full disk, a read-only medium, a folder that cannot
//! be written and a damaged file are four different messages, each saying what to do; only a
//! file that SQLite finds damaged is called damaged.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OpenFlags};

use super::keys::{self, DbKey};
use super::{Store, StoreError, VerifyReport, schema};

/// Required pragmas, read back after they are set.
const BUSY_TIMEOUT_MS: i64 = 5000;

/// Why a database can be read but not written. Opened like this, the store shows requests and
/// history; every change is refused with [`StoreError::ReadOnly`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadOnlyReason {
    /// The disk, USB stick or CD it is on cannot be written at all.
    Medium,
    /// The file's own permissions forbid writing it.
    File,
    /// The folder cannot be written, so SQLite cannot make the files a write needs beside it.
    Folder,
}

impl ReadOnlyReason {
    /// Why, in words, for the banner and for refused changes.
    pub fn words(self) -> &'static str {
        match self {
            ReadOnlyReason::Medium => "the disk or stick it is on is read-only",
            ReadOnlyReason::File => "the file is read-only",
            ReadOnlyReason::Folder => "its folder cannot be written",
        }
    }
}

enum FileState {
    Missing,
    Empty,
    Present,
}

/// What is at `path`, without opening it with SQLite (which would create a missing file).
fn inspect(path: &Path) -> Result<FileState, StoreError> {
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(FileState::Missing),
        Err(source) => Err(StoreError::CannotRead {
            path: path.to_owned(),
            source,
        }),
        Ok(meta) if !meta.is_file() => Err(StoreError::NotAFile {
            path: path.to_owned(),
        }),
        Ok(meta) if meta.len() == 0 => Ok(FileState::Empty),
        Ok(_) => Ok(FileState::Present),
    }
}

/// Whether this process may write the file and its folder (SQLite puts `-wal` and `-shm` files
/// beside the database), and if not, why.
fn read_only_reason(path: &Path) -> Option<ReadOnlyReason> {
    use std::io::ErrorKind;
    let kind_reason = |kind: ErrorKind, otherwise: ReadOnlyReason| match kind {
        ErrorKind::ReadOnlyFilesystem => Some(ReadOnlyReason::Medium),
        ErrorKind::PermissionDenied => Some(otherwise),
        _ => None,
    };
    if let Err(e) = std::fs::OpenOptions::new().write(true).open(path) {
        return kind_reason(e.kind(), ReadOnlyReason::File);
    }
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    // A probe file, removed at once: the only sure way to know whether files can be made there.
    let probe = folder.join(format!(".stopgap-probe-{}", uuid::Uuid::new_v4().simple()));
    match crate::platform::create_private_file(&probe) {
        Ok(file) => {
            drop(file);
            let _ = std::fs::remove_file(&probe);
            None
        }
        Err(e) => kind_reason(e.kind(), ReadOnlyReason::Folder),
    }
}

/// What a failed SQLite call at open means: damage only when SQLite says so.
fn classify(path: &Path, e: rusqlite::Error) -> StoreError {
    match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => StoreError::Damaged {
            path: path.to_owned(),
            details: e.to_string(),
        },
        Some(ErrorCode::DiskFull) => StoreError::DiskFull,
        Some(ErrorCode::ReadOnly) => StoreError::ReadOnly(ReadOnlyReason::Medium),
        _ => StoreError::Open {
            path: path.to_owned(),
            source: e,
        },
    }
}

/// A `file:` URI for `path` (SQLite's URI rules: `%`, `?` and `#` escaped).
fn file_uri(path: &Path, query: &str) -> String {
    let mut uri = String::from("file:");
    for c in path.to_string_lossy().chars() {
        match c {
            '%' => uri.push_str("%25"),
            '?' => uri.push_str("%3f"),
            '#' => uri.push_str("%23"),
            '\\' if cfg!(windows) => uri.push('/'),
            c => uri.push(c),
        }
    }
    uri.push('?');
    uri.push_str(query);
    uri
}

impl Store {
    /// Opens an existing Stopgap database, checks it and brings its schema up to date. A missing
    /// or empty file is refused (a mistyped path must not make a new, empty database): only
    /// [`Store::open_or_create`] makes one. A file that cannot be written is opened read-only.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_only_existing(path, Integrity::Now)
    }

    /// Opens the database at `path`, making a new one (0600, in a 0700 folder on Unix) if there
    /// is none or the file is empty: for the app's first run, `setup` and `demo` only.
    pub fn open_or_create(path: &Path) -> Result<Self, StoreError> {
        Self::create_if_missing(path)?;
        Self::open_existing(path, Integrity::Now)
    }

    /// [`Store::open_or_create`] for the app, without reading the whole file first (`quick_check`
    /// reads every page: seconds at 100,000 requests after a reboot, before the first frame).
    /// The header and schema are read, so a file that is not a database still fails here; the
    /// shell runs [`Store::check_integrity`] on another thread at once and shows its answer.
    pub fn open_or_create_checking_later(path: &Path) -> Result<Self, StoreError> {
        Self::create_if_missing(path)?;
        Self::open_existing(path, Integrity::Later)
    }

    /// Another connection to a database this process already has open, for work on its own
    /// thread (a backup, an export): refuses a missing or empty file as [`Store::open`] does,
    /// but reads no page to check it. The app's integrity check runs once, on its own thread
    /// ([`Store::check_integrity`]); a second whole-file read here would only compete with it
    /// for the disk while the ward waits.
    pub fn open_beside(path: &Path) -> Result<Self, StoreError> {
        Self::open_only_existing(path, Integrity::Later)
    }

    /// A database that is already there: a missing or empty file is refused, never made.
    fn open_only_existing(path: &Path, integrity: Integrity) -> Result<Self, StoreError> {
        refuse_network(path)?;
        match inspect(path)? {
            FileState::Missing => Err(StoreError::Missing {
                path: path.to_owned(),
            }),
            FileState::Empty => Err(StoreError::Empty {
                path: path.to_owned(),
            }),
            FileState::Present => Self::open_existing(path, integrity),
        }
    }

    /// `verify` of the database at `path` on a connection of its own, which only reads (so it
    /// can run beside the app's saves): a file SQLite finds damaged is the error
    /// [`StoreError::Damaged`]; damaged requests in a sound file are in the report.
    pub fn check_integrity(path: &Path) -> Result<VerifyReport, StoreError> {
        let conn = read_only_connection(path, read_only_reason(path))?;
        unlock_connection(&conn, path, false)?;
        conn.busy_timeout(Duration::from_millis(BUSY_TIMEOUT_MS as u64))
            .map_err(|e| classify(path, e))?;
        let report = super::verify::verify(&conn)?;
        if report.file_damaged {
            return Err(StoreError::Damaged {
                path: path.to_owned(),
                details: report.problems.join("; "),
            });
        }
        Ok(report)
    }

    fn create_if_missing(path: &Path) -> Result<(), StoreError> {
        refuse_network(path)?;
        if let FileState::Missing = inspect(path)? {
            if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                crate::platform::create_private_dir(folder).map_err(|e| create_error(path, e))?;
            }
            match crate::platform::create_private_file(path) {
                Ok(file) => drop(file),
                // Made meanwhile by another process: open that one.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(create_error(path, e)),
            }
        }
        Ok(())
    }

    /// Why this store can only be read, or `None` when it can be written.
    pub fn read_only(&self) -> Option<ReadOnlyReason> {
        self.read_only
    }

    fn open_existing(path: &Path, integrity: Integrity) -> Result<Self, StoreError> {
        for file in [
            path.to_owned(),
            side_file(path, "-wal"),
            side_file(path, "-shm"),
        ] {
            // Older versions made 0644 files: patient data is the owner's only.
            crate::platform::restrict_to_owner(&file);
        }
        let read_only = read_only_reason(path);
        let conn = match read_only {
            None => Connection::open(path).map_err(|e| classify(path, e))?,
            Some(_) => read_only_connection(path, read_only)?,
        };
        let mut conn = conn;
        unlock_connection(&conn, path, read_only.is_none())?;
        conn.busy_timeout(Duration::from_millis(BUSY_TIMEOUT_MS as u64))
            .map_err(|e| classify(path, e))?;
        // 32 MB of pages, not SQLite's 2 MB: an export reads each request's row and its
        // creation event by index, and with the small cache nearly every page came back from the
        // operating system one read call at a time. Grown only as pages are read.
        conn.pragma_update(None, "cache_size", -32_768)
            .map_err(|e| classify(path, e))?;
        match integrity {
            Integrity::Now => quick_check(&conn, path)?,
            // The header and schema are still read below: a file that is not SQLite fails now.
            Integrity::Later => {}
        }
        match read_only {
            None => {
                set_pragmas(&conn).map_err(|e| classify(path, e))?;
                check_pragmas(&conn)?;
                schema::migrate(&mut conn)?;
            }
            Some(reason) => {
                let (found, latest) = (schema::user_version(&conn)?, schema::latest_version());
                if found > latest {
                    return Err(StoreError::NewerSchema { found, latest });
                }
                if found < latest {
                    return Err(StoreError::ReadOnlyNeedsUpgrade(reason));
                }
            }
        }
        Ok(Self {
            conn,
            path: path.to_owned(),
            write_depth: 0,
            read_only,
            // The library's own principal: the app and the CLI sign a person in, or lock.
            principal: Some(crate::domain::access::Principal::System),
        })
    }

    /// Makes the folder of a new database (0700), as the first save would.
    pub(super) fn create_private_folder(path: &Path) -> Result<(), StoreError> {
        refuse_network(path)?;
        if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            crate::platform::create_private_dir(folder).map_err(|e| create_error(path, e))?;
        }
        Ok(())
    }
}

/// What the first bytes of a database file say about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// Missing or empty: a new database.
    New,
    /// A plain SQLite file (an older Stopgap's, before encryption): to be encrypted in place.
    Plaintext,
    /// Anything else: an encrypted database (SQLCipher's pages look random from byte 0).
    Encrypted,
}

/// Reads the first 16 bytes of `path`: plain SQLite starts with its "SQLite format 3" header.
pub fn file_kind(path: &Path) -> Result<FileKind, StoreError> {
    use std::io::Read;
    let mut head = [0u8; 16];
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(FileKind::New),
        Err(source) => {
            return Err(StoreError::CannotRead {
                path: path.to_owned(),
                source,
            });
        }
    };
    let mut got = 0;
    while got < head.len() {
        match file.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(source) => {
                return Err(StoreError::CannotRead {
                    path: path.to_owned(),
                    source,
                });
            }
        }
    }
    Ok(match got {
        0 => FileKind::New,
        _ if &head == b"SQLite format 3\0" => FileKind::Plaintext,
        _ => FileKind::Encrypted,
    })
}

/// Gives a new connection the key this process holds for `path`, and proves it opens the file.
/// An encrypted file with no key held is [`StoreError::Locked`]; one the key does not open
/// (the key was proven by its slot) is damaged or altered. A plain file is opened as it is: the
/// app and the CLI encrypt it in place before anyone works on it (`store::encrypt`). A new,
/// empty file with no key held gets a random key known only to this process (tests, benches):
/// a database for people is made by [`Store::create_protected`], which writes its key slots first.
fn unlock_connection(conn: &Connection, path: &Path, may_create: bool) -> Result<(), StoreError> {
    // SQLCipher logs a wrong key to stderr as "ERROR CORE": the error returned says it better.
    conn.execute_batch("PRAGMA cipher_log_level = NONE;")
        .map_err(|e| classify(path, e))?;
    let key = match (file_kind(path)?, keys::remembered(path)) {
        (FileKind::Plaintext, _) => return Ok(()),
        (_, Some(key)) => key,
        (FileKind::New, None) if may_create => {
            let key = DbKey::random()?;
            keys::remember(path, key.clone());
            key
        }
        (_, None) => {
            return Err(StoreError::Locked {
                path: path.to_owned(),
            });
        }
    };
    apply_key(conn, &key).map_err(|e| classify(path, e))?;
    match conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    }) {
        Ok(_) => Ok(()),
        Err(e) if e.sqlite_error_code() == Some(ErrorCode::NotADatabase) => {
            Err(StoreError::Undecryptable {
                path: path.to_owned(),
            })
        }
        Err(e) => Err(classify(path, e)),
    }
}

/// Gives a connection to `file` (a backup of the database at `db`, or a temporary copy beside
/// it) the key this process holds for `db`: a backup is encrypted with its database's key. A
/// plain database (no key held) gives plain copies.
pub(crate) fn with_key_of(conn: &Connection, db: &Path) -> rusqlite::Result<()> {
    conn.execute_batch("PRAGMA cipher_log_level = NONE;")?;
    match keys::remembered(db) {
        Some(key) => apply_key(conn, &key),
        None => Ok(()),
    }
}

/// A raw connection to the database at `path`, with the key this process holds for it: for
/// tests that play an attacker with the key (raw SQL past the store) or a damaged disk.
#[doc(hidden)]
pub fn raw_connection(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path).map_err(|e| classify(path, e))?;
    with_key_of(&conn, path).map_err(|e| classify(path, e))?;
    Ok(conn)
}

/// Sets `key` on a connection (before its first read).
pub(crate) fn apply_key(conn: &Connection, key: &DbKey) -> rusqlite::Result<()> {
    let sql = zeroize::Zeroizing::new(format!("PRAGMA key = {};", key.pragma_value().as_str()));
    conn.execute_batch(&sql)
}

#[derive(Clone, Copy)]
enum Integrity {
    Now,
    Later,
}

fn quick_check(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let check: Vec<String> = conn
        .prepare("PRAGMA quick_check")
        .and_then(|mut st| st.query_map([], |r| r.get(0))?.collect())
        .map_err(|e| classify(path, e))?;
    if check == ["ok"] {
        Ok(())
    } else {
        Err(StoreError::Damaged {
            path: path.to_owned(),
            details: check.join("; "),
        })
    }
}

/// A connection that only reads. When the file cannot be written, with a write-ahead log
/// beside it SQLite must read through the log (committed saves may be only there); without one
/// the file is all there is, and nothing can change it meanwhile.
/// `reason` is what [`read_only_reason`] found for `path`: the caller probes once.
fn read_only_connection(
    path: &Path,
    reason: Option<ReadOnlyReason>,
) -> Result<Connection, StoreError> {
    let query = match reason {
        None => "mode=ro",
        Some(_)
            if side_file(path, "-wal")
                .metadata()
                .is_ok_and(|m| m.len() > 0) =>
        {
            "mode=ro"
        }
        Some(_) => "immutable=1",
    };
    Connection::open_with_flags(
        file_uri(path, query),
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI,
    )
    .map_err(|e| classify(path, e))
}

fn side_file(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn refuse_network(path: &Path) -> Result<(), StoreError> {
    match crate::platform::network_filesystem(path) {
        Some(reason) => Err(StoreError::NetworkFilesystem {
            path: path.to_owned(),
            reason,
        }),
        None => Ok(()),
    }
}

fn create_error(path: &Path, e: std::io::Error) -> StoreError {
    use std::io::ErrorKind;
    match e.kind() {
        ErrorKind::StorageFull => StoreError::DiskFull,
        ErrorKind::ReadOnlyFilesystem => StoreError::CannotCreate {
            path: path.to_owned(),
            why: ReadOnlyReason::Medium,
        },
        ErrorKind::PermissionDenied => StoreError::CannotCreate {
            path: path.to_owned(),
            why: ReadOnlyReason::Folder,
        },
        _ => StoreError::CannotRead {
            path: path.to_owned(),
            source: e,
        },
    }
}

fn set_pragmas(conn: &Connection) -> rusqlite::Result<()> {
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // FULL, not NORMAL: in WAL mode NORMAL can lose acknowledged commits on power loss.
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // Sorts and temporary tables in memory: no temporary file of patient data beside the
    // database, encrypted or not.
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    Ok(())
}

fn check_pragmas(conn: &Connection) -> Result<(), StoreError> {
    let get = |name: &'static str| -> Result<String, StoreError> {
        let v: rusqlite::types::Value =
            conn.query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))?;
        Ok(match v {
            rusqlite::types::Value::Integer(i) => i.to_string(),
            rusqlite::types::Value::Text(t) => t.to_lowercase(),
            other => format!("{other:?}"),
        })
    };
    for (pragma, expected) in [
        ("journal_mode", "wal".to_owned()),
        ("synchronous", "2".to_owned()),
        ("foreign_keys", "1".to_owned()),
        ("busy_timeout", BUSY_TIMEOUT_MS.to_string()),
    ] {
        let actual = get(pragma)?;
        if actual != expected {
            return Err(StoreError::UnsafePragma {
                pragma,
                expected,
                actual,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_escape_what_sqlite_reads_as_query_or_fragment() {
        assert_eq!(
            file_uri(Path::new("/data/50%? #1.db"), "mode=ro"),
            "file:/data/50%25%3f %231.db?mode=ro"
        );
    }
}
