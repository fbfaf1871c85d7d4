//! Key slots: the database key, stored only wrapped.
//!
//! The database is SQLCipher-encrypted with a random 256-bit key. That key is never written
//! anywhere in the clear: the key file beside the database (`stopgap.db.keys`, 0600) holds it
//! sealed once per account (a key derived from the account's password by Argon2id, with the
//! parameters recorded in the slot) and once under a recovery code shown at set-up, for a
//! manager to keep offline. XChaCha20-Poly1305 seals it; the slot's owner is the associated
//! data, so a slot copied under another staff ID does not open. A wrong password fails the tag.
//!
//! The key file holds no patient data and no password: only salts, parameters, nonces and sealed
//! keys. Losing it loses the database unless the recovery code is kept: a backup carries a copy.

use std::path::{Path, PathBuf};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::files::{self, Overwrite};

/// A key file is a few hundred bytes per account; anything larger is not one.
const MAX_KEY_FILE_BYTES: u64 = 1024 * 1024;
const FORMAT: u32 = 1;

/// The database key. Zeroed when dropped; never printed.
#[derive(Clone)]
pub struct DbKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for DbKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DbKey(…)")
    }
}

impl DbKey {
    /// A new random key from the operating system's generator.
    pub fn random() -> Result<Self, KeyError> {
        let mut key = Zeroizing::new([0u8; 32]);
        getrandom::fill(key.as_mut()).map_err(|e| KeyError::Random(e.to_string()))?;
        Ok(Self(key))
    }

    /// SQLCipher's raw-key form, `x'…'`: the key is used as it is, with no second derivation
    /// (Argon2id already made the password expensive to guess).
    pub(crate) fn pragma_value(&self) -> Zeroizing<String> {
        Zeroizing::new(format!("\"x'{}'\"", files::hex(self.0.as_ref())))
    }
}

/// Argon2id cost, recorded in every slot so a slot stays openable when the defaults change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    /// Memory in KiB.
    pub m_kib: u32,
    /// Passes.
    pub t: u32,
    /// Lanes.
    pub p: u32,
}

impl KdfParams {
    /// About 0.5 s on the reference ward PC (2 cores): `benches/store.rs`'s sign-in bench took
    /// 215 ms at 3 passes, so 7. 64 MiB makes each guess cost memory as well as time.
    pub const STANDARD: KdfParams = KdfParams {
        m_kib: 64 * 1024,
        t: 7,
        p: 1,
    };

    /// The smallest Argon2 allows: for tests only, so hundreds of sign-ins stay fast.
    pub const FAST_FOR_TESTS: KdfParams = KdfParams {
        m_kib: 8,
        t: 1,
        p: 1,
    };

    fn derive(&self, secret: &[u8], salt: &[u8]) -> Result<Zeroizing<[u8; 32]>, KeyError> {
        let params = argon2::Params::new(self.m_kib, self.t, self.p, Some(32))
            .map_err(|e| KeyError::Kdf(e.to_string()))?;
        let argon =
            argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        let mut out = Zeroizing::new([0u8; 32]);
        argon
            .hash_password_into(secret, salt, out.as_mut())
            .map_err(|e| KeyError::Kdf(e.to_string()))?;
        Ok(out)
    }
}

/// Whose slot it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SlotOwner {
    Account { staff_id: String },
    Recovery,
}

impl SlotOwner {
    fn associated_data(&self, database_id: &str) -> Vec<u8> {
        match self {
            SlotOwner::Account { staff_id } => {
                format!("stopgap-slot-v1\0{database_id}\0account\0{staff_id}").into_bytes()
            }
            SlotOwner::Recovery => format!("stopgap-slot-v1\0{database_id}\0recovery").into_bytes(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Slot {
    owner: SlotOwner,
    kdf: KdfParams,
    salt: String,
    nonce: String,
    sealed: String,
    made_ms: i64,
}

/// An account removed from this PC: its slot is gone, its name kept so a sign-in is told so.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Removed {
    staff_id: String,
    removed_ms: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct KeyFileJson {
    format: u32,
    /// Names the database these slots open: a key file beside the wrong database is said so.
    database_id: String,
    slots: Vec<Slot>,
    #[serde(default)]
    removed: Vec<Removed>,
    /// Failed sign-ins in a row per staff ID, counted before the database can be opened.
    #[serde(default)]
    attempts: Vec<Attempts>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Attempts {
    staff_id: String,
    failures: u32,
    locked_until_ms: Option<i64>,
}

/// The key file of one database, read or about to be written.
#[derive(Debug, Clone)]
pub struct KeyFile {
    path: PathBuf,
    json: KeyFileJson,
}

/// Why a key could not be had. The four a user meets at sign-in are different messages:
/// a wrong password, an unknown staff ID, a missing key file or slot, and a damaged file.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(
        "wrong password for {staff_id}: type it again (after 5 failures the account is locked for a minute)"
    )]
    WrongPassword { staff_id: String },
    #[error("wrong recovery code: check each group of the code as it was printed at set-up")]
    WrongRecoveryCode,
    #[error(
        "there is no account {staff_id} on this PC: check the staff ID, or ask a manager to add you (in an emergency, log the request without an account)"
    )]
    UnknownUser { staff_id: String },
    #[error("the account {staff_id} was removed from this PC: ask a manager to add it again")]
    Removed { staff_id: String },
    #[error(
        "the key file {path} is missing, so the encrypted database beside it cannot be opened: put back the .keys file that came with it (a backup has a copy), or open it with the recovery code"
    )]
    MissingKeyFile { path: PathBuf },
    #[error("the key file {path} has no recovery slot: open the database with a manager's account")]
    NoRecoverySlot { path: PathBuf },
    #[error(
        "the key file {path} is damaged or was altered ({details}): do not use it; restore the .keys file from a backup, or open the database with the recovery code"
    )]
    Damaged { path: PathBuf, details: String },
    #[error(
        "the key file {path} belongs to another database: put back the .keys file that came with this database"
    )]
    OtherDatabase { path: PathBuf },
    #[error("{staff_id} already has an account on this PC")]
    AlreadyAnAccount { staff_id: String },
    #[error("could not read the key file {path}")]
    Read {
        path: PathBuf,
        source: files::ReadError,
    },
    #[error("could not save the key file {path}")]
    Write {
        path: PathBuf,
        source: files::WriteError,
    },
    #[error("the operating system's random number generator failed: {0}")]
    Random(String),
    #[error("the key derivation failed: {0}")]
    Kdf(String),
}

/// The key file's path for the database at `db`.
pub fn key_file_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".keys");
    PathBuf::from(name)
}

fn random_bytes<const N: usize>() -> Result<[u8; N], KeyError> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|e| KeyError::Random(e.to_string()))?;
    Ok(b)
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

impl KeyFile {
    /// A new key file for a new database (nothing written yet).
    pub fn new(db: &Path) -> Self {
        Self {
            path: key_file_path(db),
            json: KeyFileJson {
                format: FORMAT,
                database_id: uuid::Uuid::new_v4().to_string(),
                slots: Vec::new(),
                removed: Vec::new(),
                attempts: Vec::new(),
            },
        }
    }

    /// Reads the key file of the database at `db`.
    pub fn read(db: &Path) -> Result<Self, KeyError> {
        let path = key_file_path(db);
        let bytes = match files::read_limited(&path, MAX_KEY_FILE_BYTES, "a key file") {
            Ok(b) => b,
            Err(files::ReadError::NotFound { .. }) => {
                return Err(KeyError::MissingKeyFile { path });
            }
            Err(source) => return Err(KeyError::Read { path, source }),
        };
        let json: KeyFileJson = serde_json::from_slice(&bytes).map_err(|e| KeyError::Damaged {
            path: path.clone(),
            details: e.to_string(),
        })?;
        if json.format != FORMAT {
            return Err(KeyError::Damaged {
                path,
                details: format!("format {} is not one this Stopgap reads", json.format),
            });
        }
        Ok(Self { path, json })
    }

    /// Whether a key file exists beside the database at `db`.
    pub fn exists(db: &Path) -> bool {
        key_file_path(db).exists()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The staff IDs with a slot, in the order they were added.
    pub fn accounts(&self) -> Vec<String> {
        self.json
            .slots
            .iter()
            .filter_map(|s| match &s.owner {
                SlotOwner::Account { staff_id } => Some(staff_id.clone()),
                SlotOwner::Recovery => None,
            })
            .collect()
    }

    fn slot(&self, owner: &SlotOwner) -> Option<&Slot> {
        self.json.slots.iter().find(|s| &s.owner == owner)
    }

    /// Opens `staff_id`'s slot with `password`.
    pub fn unlock(&self, staff_id: &str, password: &str) -> Result<DbKey, KeyError> {
        let owner = SlotOwner::Account {
            staff_id: staff_id.to_owned(),
        };
        let Some(slot) = self.slot(&owner) else {
            if self.json.removed.iter().any(|r| r.staff_id == staff_id) {
                return Err(KeyError::Removed {
                    staff_id: staff_id.to_owned(),
                });
            }
            return Err(KeyError::UnknownUser {
                staff_id: staff_id.to_owned(),
            });
        };
        self.open_slot(slot, password.as_bytes())
            .map_err(|e| match e {
                SlotFailure::Tag => KeyError::WrongPassword {
                    staff_id: staff_id.to_owned(),
                },
                SlotFailure::Key(e) => e,
            })
    }

    /// Opens the recovery slot with the recovery code (groups and case as typed are forgiven).
    pub fn unlock_with_recovery(&self, code: &str) -> Result<DbKey, KeyError> {
        let Some(slot) = self.slot(&SlotOwner::Recovery) else {
            return Err(KeyError::NoRecoverySlot {
                path: self.path.clone(),
            });
        };
        let code = RecoveryCode::normalise(code);
        self.open_slot(slot, code.as_bytes()).map_err(|e| match e {
            SlotFailure::Tag => KeyError::WrongRecoveryCode,
            SlotFailure::Key(e) => e,
        })
    }

    fn open_slot(&self, slot: &Slot, secret: &[u8]) -> Result<DbKey, SlotFailure> {
        let damaged = |details: &str| {
            SlotFailure::Key(KeyError::Damaged {
                path: self.path.clone(),
                details: details.to_owned(),
            })
        };
        let salt = unhex(&slot.salt).ok_or_else(|| damaged("a slot's salt is not hex"))?;
        let nonce = unhex(&slot.nonce)
            .filter(|n| n.len() == 24)
            .ok_or_else(|| damaged("a slot's nonce is not 24 bytes of hex"))?;
        let sealed = unhex(&slot.sealed).ok_or_else(|| damaged("a sealed key is not hex"))?;
        let kek = slot.kdf.derive(secret, &salt).map_err(SlotFailure::Key)?;
        let cipher = XChaCha20Poly1305::new_from_slice(kek.as_slice())
            .map_err(|e| SlotFailure::Key(KeyError::Kdf(e.to_string())))?;
        let nonce = XNonce::try_from(nonce.as_slice())
            .map_err(|_| damaged("a slot's nonce is not 24 bytes"))?;
        let plain = Zeroizing::new(
            cipher
                .decrypt(
                    &nonce,
                    Payload {
                        msg: &sealed,
                        aad: &slot.owner.associated_data(&self.json.database_id),
                    },
                )
                .map_err(|_| SlotFailure::Tag)?,
        );
        let key: [u8; 32] = plain
            .as_slice()
            .try_into()
            .map_err(|_| damaged("a sealed key is not 32 bytes"))?;
        Ok(DbKey(Zeroizing::new(key)))
    }

    fn seal(
        &self,
        owner: SlotOwner,
        secret: &[u8],
        key: &DbKey,
        kdf: KdfParams,
        now_ms: i64,
    ) -> Result<Slot, KeyError> {
        let salt = random_bytes::<16>()?;
        let nonce = random_bytes::<24>()?;
        let kek = kdf.derive(secret, &salt)?;
        let cipher = XChaCha20Poly1305::new_from_slice(kek.as_slice())
            .map_err(|e| KeyError::Kdf(e.to_string()))?;
        let sealed = cipher
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: key.0.as_ref(),
                    aad: &owner.associated_data(&self.json.database_id),
                },
            )
            .map_err(|e| KeyError::Kdf(e.to_string()))?;
        Ok(Slot {
            owner,
            kdf,
            salt: files::hex(&salt),
            nonce: files::hex(&nonce),
            sealed: files::hex(&sealed),
            made_ms: now_ms,
        })
    }

    /// Adds (or, with `replace`, resets) `staff_id`'s slot. Not saved until [`KeyFile::save`].
    pub fn set_account(
        &mut self,
        staff_id: &str,
        password: &str,
        key: &DbKey,
        kdf: KdfParams,
        now_ms: i64,
        replace: bool,
    ) -> Result<(), KeyError> {
        let owner = SlotOwner::Account {
            staff_id: staff_id.to_owned(),
        };
        if !replace && self.slot(&owner).is_some() {
            return Err(KeyError::AlreadyAnAccount {
                staff_id: staff_id.to_owned(),
            });
        }
        let slot = self.seal(owner.clone(), password.as_bytes(), key, kdf, now_ms)?;
        self.json.slots.retain(|s| s.owner != owner);
        self.json.removed.retain(|r| r.staff_id != staff_id);
        self.json.slots.push(slot);
        Ok(())
    }

    /// Removes `staff_id`'s slot: that password no longer opens the database.
    pub fn remove_account(&mut self, staff_id: &str, now_ms: i64) -> bool {
        let before = self.json.slots.len();
        self.json.slots.retain(|s| {
            s.owner
                != SlotOwner::Account {
                    staff_id: staff_id.to_owned(),
                }
        });
        let removed = self.json.slots.len() != before;
        if removed {
            self.json.removed.push(Removed {
                staff_id: staff_id.to_owned(),
                removed_ms: now_ms,
            });
        }
        removed
    }

    /// Makes a new recovery code and its slot (replacing any earlier one); the code is returned
    /// once, to be shown once.
    pub fn new_recovery(
        &mut self,
        key: &DbKey,
        kdf: KdfParams,
        now_ms: i64,
    ) -> Result<RecoveryCode, KeyError> {
        let code = RecoveryCode::random()?;
        let slot = self.seal(
            SlotOwner::Recovery,
            code.normalised().as_bytes(),
            key,
            kdf,
            now_ms,
        )?;
        self.json.slots.retain(|s| s.owner != SlotOwner::Recovery);
        self.json.slots.push(slot);
        Ok(code)
    }

    /// Until when `staff_id` is locked out, if it is at `now_ms`.
    pub fn locked_until(&self, staff_id: &str, now_ms: i64) -> Option<i64> {
        self.json
            .attempts
            .iter()
            .find(|a| a.staff_id == staff_id)
            .and_then(|a| a.locked_until_ms)
            .filter(|until| *until > now_ms)
    }

    /// Counts a failed sign-in; the `limit`th in a row locks the account for `lock_ms`.
    /// Returns the failures in a row so far (0 once it locked, to count afresh after).
    pub fn record_failure(&mut self, staff_id: &str, now_ms: i64, limit: u32, lock_ms: i64) -> u32 {
        let pos = match self
            .json
            .attempts
            .iter()
            .position(|a| a.staff_id == staff_id)
        {
            Some(p) => p,
            None => {
                self.json.attempts.push(Attempts {
                    staff_id: staff_id.to_owned(),
                    failures: 0,
                    locked_until_ms: None,
                });
                self.json.attempts.len() - 1
            }
        };
        let a = &mut self.json.attempts[pos];
        a.failures += 1;
        if a.failures >= limit {
            a.failures = 0;
            a.locked_until_ms = Some(now_ms + lock_ms);
        }
        a.failures
    }

    /// Forgets `staff_id`'s failures after a good sign-in; how many there were in a row
    /// (`None` when nothing was recorded).
    pub fn clear_failures(&mut self, staff_id: &str) -> Option<u32> {
        let pos = self
            .json
            .attempts
            .iter()
            .position(|a| a.staff_id == staff_id)?;
        Some(self.json.attempts.remove(pos).failures)
    }

    /// Writes the key file atomically, 0600, replacing the earlier one.
    pub fn save(&self) -> Result<(), KeyError> {
        let bytes = serde_json::to_vec_pretty(&self.json).map_err(|e| KeyError::Damaged {
            path: self.path.clone(),
            details: e.to_string(),
        })?;
        files::write_bytes_atomic(&self.path, Overwrite::Replace, &bytes).map_err(|source| {
            KeyError::Write {
                path: self.path.clone(),
                source,
            }
        })?;
        Ok(())
    }

    /// A copy of this key file for a copy of the database at `db` (a backup).
    pub fn save_beside(&self, db: &Path) -> Result<(), KeyError> {
        let mut copy = self.clone();
        copy.path = key_file_path(db);
        copy.save()
    }
}

enum SlotFailure {
    Tag,
    Key(KeyError),
}

/// The recovery code: 160 random bits as 32 characters of Crockford base 32 in groups of four.
pub struct RecoveryCode(Zeroizing<String>);

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

impl RecoveryCode {
    fn random() -> Result<Self, KeyError> {
        let bytes = Zeroizing::new(random_bytes::<20>()?);
        let mut out = String::with_capacity(32);
        let mut acc: u32 = 0;
        let mut bits = 0;
        for b in bytes.iter() {
            acc = (acc << 8) | u32::from(*b);
            bits += 8;
            while bits >= 5 {
                bits -= 5;
                out.push(char::from(CROCKFORD[((acc >> bits) & 31) as usize]));
            }
        }
        Ok(Self(Zeroizing::new(out)))
    }

    /// Crockford's reading rules: case, spaces and dashes ignored, O read as 0, I and L as 1.
    fn normalise(typed: &str) -> Zeroizing<String> {
        Zeroizing::new(
            typed
                .chars()
                .filter(|c| !c.is_whitespace() && *c != '-')
                .map(|c| match c.to_ascii_uppercase() {
                    'O' => '0',
                    'I' | 'L' => '1',
                    c => c,
                })
                .collect(),
        )
    }

    fn normalised(&self) -> Zeroizing<String> {
        Self::normalise(&self.0)
    }

    /// The code as shown and printed: `ABCD-EFGH-…`.
    pub fn display(&self) -> Zeroizing<String> {
        let chars: Vec<char> = self.0.chars().collect();
        Zeroizing::new(
            chars
                .chunks(4)
                .map(|c| c.iter().collect::<String>())
                .collect::<Vec<_>>()
                .join("-"),
        )
    }
}

mod ring;
pub use ring::{forget, remember, remembered};

#[cfg(test)]
mod tests;
