//! The keys this process holds, by database file: every connection this process opens to that
//! file uses it. Memory only, zeroed when forgotten.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use super::DbKey;

/// The keys this process has unlocked, by database file: every connection this process opens to
/// that file (a backup thread, an export, the integrity check) uses it, and nothing else can.
/// Held in memory only, zeroed when forgotten.
static KEYRING: Mutex<Option<HashMap<PathBuf, DbKey>>> = Mutex::new(None);

/// The name a database is known by in the keyring: its folder resolved, so two spellings of one
/// path are one entry (the file itself may not exist yet).
fn keyring_name(path: &Path) -> PathBuf {
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    let folder = folder.canonicalize().unwrap_or(folder);
    match path.file_name() {
        Some(name) => folder.join(name),
        None => path.to_owned(),
    }
}

/// Remembers `key` for the database at `path` in this process.
pub fn remember(path: &Path, key: DbKey) {
    let mut ring = KEYRING.lock().unwrap_or_else(PoisonError::into_inner);
    ring.get_or_insert_with(HashMap::new)
        .insert(keyring_name(path), key);
}

/// The key this process holds for the database at `path`, if any.
pub fn remembered(path: &Path) -> Option<DbKey> {
    let ring = KEYRING.lock().unwrap_or_else(PoisonError::into_inner);
    ring.as_ref()?.get(&keyring_name(path)).cloned()
}

/// Forgets the key for `path` (the database was closed for good, or rekeyed).
pub fn forget(path: &Path) {
    let mut ring = KEYRING.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(ring) = ring.as_mut() {
        ring.remove(&keyring_name(path));
    }
}
