//! Writing files that hold patient data: atomically, and never over an existing file by accident.
//!
//! A file is written to a temporary file in the same folder, flushed to disk (`fsync`), then
//! renamed into place, and on Unix the folder itself is flushed so the rename survives a power
//! cut. A reader therefore sees either no file or the whole file, never half of one. If anything
//! fails, the temporary file is removed.
//!
//! Every name is first checked against Windows' file-name rules ([`check_export_path`]), on every
//! platform, so a file made on Linux can always be copied to a ward PC.

use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

mod limited;
mod names;
mod progress;
mod seal;

pub use limited::{
    IMPORT_MAX_BYTES, RECONCILE_MAX_BYTES, ReadError, TOML_MAX_BYTES, read_limited,
    read_limited_text, size_in_words,
};
pub use names::{PathError, check_export_path};
pub use progress::{CANCELLED, RecordCounter, WatchedWriter};
pub use seal::{
    AGE_SUFFIX, ExposeSecret, MIN_PASSPHRASE_CHARS, Recipient, SealError, SealFailure, Sealed,
    Sealing, SecretString, UnsealError, Unsealing, is_age, parse_recipient,
};

/// Why a file could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("{0} already exists: choose another name or folder, or pass --force to replace it")]
    Exists(PathBuf),
    #[error("{path} has no file name")]
    NoFileName { path: PathBuf },
    /// A name Windows cannot hold (CON, NUL, `a?b`, ...), refused on every platform so a file
    /// made on Linux can always be copied to a ward PC.
    #[error(transparent)]
    BadName(#[from] PathError),
    #[error("could not write {path}")]
    Io { path: PathBuf, source: io::Error },
    /// The content could not be produced (the writer's own error, with its causes); nothing was
    /// written.
    #[error(transparent)]
    Content(Box<dyn std::error::Error + Send + Sync>),
}

/// Whether an existing file at the target may be replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overwrite {
    /// Refuse if the target exists (the default everywhere).
    Refuse,
    /// Replace it (the user said `--force`).
    Replace,
}

/// What was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub path: PathBuf,
    pub bytes: u64,
    /// SHA-256 of the file's bytes, lowercase hex.
    pub sha256: String,
}

/// A writer that hashes and counts what passes through it.
pub struct HashingWriter<W: Write> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> HashingWriter<W> {
    pub fn new(inner: W) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }

    /// The inner writer, the byte count and the SHA-256 (lowercase hex) of everything written.
    pub fn finish(self) -> (W, u64, String) {
        (self.inner, self.bytes, hex(&self.hasher.finalize()))
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        // Writing into a String cannot fail.
        let _ignored = write!(s, "{b:02x}");
    }
    s
}

/// SHA-256 of `bytes`, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// A temporary file being written in the folder of its final name, locked (an OS file lock)
/// from the moment it exists until this value is dropped, so that recovery after a crash can
/// tell a live write (lock held, even by another thread) from one a dead process left. The
/// lock stays on the file after it is renamed into place, until the caller has recorded it.
///
/// Dropped before [`Staging::place`] (or [`Staging::keep`]), it removes the temporary file.
pub struct Staging {
    file: Option<fs::File>,
    tmp: PathBuf,
    folder: PathBuf,
    armed: bool,
}

/// Whether `name` is one of our temporary files: `.{label}.{32 hex digits}.tmp`.
pub fn is_temp_name(name: &str) -> bool {
    let Some(inner) = name.strip_prefix('.').and_then(|n| n.strip_suffix(".tmp")) else {
        return false;
    };
    let Some((label, token)) = inner.rsplit_once('.') else {
        return false;
    };
    !label.is_empty()
        && token.len() == 32
        && token
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Whether another open handle holds the lock on `path` (a live write); `None` when the file
/// cannot be opened or this filesystem cannot lock (then nobody can tell).
pub fn is_locked(path: &Path) -> Option<bool> {
    let file = fs::File::open(path).ok()?;
    match file.try_lock() {
        Ok(()) => Some(false),
        Err(fs::TryLockError::WouldBlock) => Some(true),
        Err(fs::TryLockError::Error(_)) => None,
    }
}

impl Staging {
    /// Creates (0600 on Unix) and locks a new temporary file `.{label}.{uuid}.tmp` in `folder`.
    pub fn create(folder: &Path, label: &str) -> Result<Self, WriteError> {
        let tmp = folder.join(format!(".{label}.{}.tmp", uuid::Uuid::new_v4().simple()));
        // 0600 on Unix: an export holds patient data (the rename keeps the mode).
        let file = crate::platform::private_options()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(|source| WriteError::Io {
                path: tmp.clone(),
                source,
            })?;
        // Best effort: on a filesystem without locks the write goes on, and recovery, which
        // cannot tell either, leaves such a file alone.
        let _unlocked = file.try_lock();
        Ok(Self {
            file: Some(file),
            tmp,
            folder: folder.to_owned(),
            armed: true,
        })
    }

    /// The temporary file's path.
    pub fn path(&self) -> &Path {
        &self.tmp
    }

    /// Writes what `fill` writes into the temporary file and flushes it to disk; returns its
    /// size and SHA-256 (lowercase hex). An error from `fill` is [`WriteError::Content`].
    pub fn fill<E: std::error::Error + Send + Sync + 'static>(
        &mut self,
        fill: impl FnOnce(&mut dyn Write) -> Result<(), E>,
    ) -> Result<(u64, String), WriteError> {
        self.fill_with(|w| fill(w).map_err(|e| WriteError::Content(Box::new(e))))
    }

    /// [`Staging::fill`] through `sealing`: what `fill` writes reaches the file encrypted (or as
    /// it is, when the plain text was confirmed), and the size and SHA-256 are of the file.
    pub fn fill_sealed<E: std::error::Error + Send + Sync + 'static>(
        &mut self,
        sealing: &Sealing,
        fill: impl FnOnce(&mut dyn Write) -> Result<(), E>,
    ) -> Result<(u64, String), WriteError> {
        let tmp = self.tmp.clone();
        self.fill_with(|w| {
            sealing.seal(w, fill).map_err(|f| match f {
                SealFailure::Content(e) => WriteError::Content(Box::new(e)),
                SealFailure::Io(source) => WriteError::Io { path: tmp, source },
            })
        })
    }

    fn fill_with(
        &mut self,
        fill: impl FnOnce(&mut dyn Write) -> Result<(), WriteError>,
    ) -> Result<(u64, String), WriteError> {
        let io_err = |path: &Path| {
            let path = path.to_owned();
            move |source| WriteError::Io { path, source }
        };
        let Some(file) = self.file.as_ref() else {
            return Err(WriteError::Io {
                path: self.tmp.clone(),
                source: io::Error::other("the temporary file was already closed"),
            });
        };
        let mut w = HashingWriter::new(BufWriter::with_capacity(1 << 16, file));
        fill(&mut w)?;
        let (buf, bytes, sha256) = w.finish();
        let file = buf.into_inner().map_err(|e| WriteError::Io {
            path: self.tmp.clone(),
            source: e.into_error(),
        })?;
        file.sync_all().map_err(io_err(&self.tmp))?;
        Ok((bytes, sha256))
    }

    /// Moves the temporary file to `target` (in the same folder) and flushes the folder. With
    /// [`Overwrite::Refuse`] an existing `target` is an error and is left untouched. The lock is
    /// kept until this value is dropped.
    pub fn place(&mut self, target: &Path, overwrite: Overwrite) -> Result<(), WriteError> {
        check_export_path(target)?;
        match overwrite {
            Overwrite::Replace => {
                fs::rename(&self.tmp, target).map_err(|source| WriteError::Io {
                    path: target.to_owned(),
                    source,
                })?
            }
            Overwrite::Refuse => place_without_replacing(&self.tmp, target)?,
        }
        self.armed = false;
        sync_folder(&self.folder).map_err(|source| WriteError::Io {
            path: self.folder.clone(),
            source,
        })
    }

    /// Leaves the temporary file where it is when this value is dropped (for recovery to find).
    pub fn keep(&mut self) {
        self.armed = false;
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if self.armed {
            // Best effort: the write already failed and that error is what the user sees.
            let _ignored = fs::remove_file(&self.tmp);
        }
        // Closing the file releases its lock, after the removal: nobody sees it unlocked first.
        drop(self.file.take());
    }
}

/// Writes `target` atomically with what `fill` writes, returning its size and SHA-256.
///
/// With [`Overwrite::Refuse`], an existing `target` is an error and is left untouched (checked
/// before writing, and again at the moment of renaming). An error from `fill` is returned as
/// [`WriteError::Content`] and leaves no file behind.
pub fn write_atomic<E: std::error::Error + Send + Sync + 'static>(
    target: &Path,
    overwrite: Overwrite,
    fill: impl FnOnce(&mut dyn Write) -> Result<(), E>,
) -> Result<Written, WriteError> {
    write_atomic_with(target, overwrite, |staging| staging.fill(fill))
}

/// [`write_atomic`] through `sealing` ([`Staging::fill_sealed`]): `target` is the name as given
/// (the caller appends [`AGE_SUFFIX`] with [`Sealing::file_name`]); nothing is left behind on an
/// error, encrypted or not.
pub fn write_atomic_sealed<E: std::error::Error + Send + Sync + 'static>(
    target: &Path,
    overwrite: Overwrite,
    sealing: &Sealing,
    fill: impl FnOnce(&mut dyn Write) -> Result<(), E>,
) -> Result<Written, WriteError> {
    write_atomic_with(target, overwrite, |staging| {
        staging.fill_sealed(sealing, fill)
    })
}

fn write_atomic_with(
    target: &Path,
    overwrite: Overwrite,
    fill: impl FnOnce(&mut Staging) -> Result<(u64, String), WriteError>,
) -> Result<Written, WriteError> {
    check_export_path(target)?;
    let name = target
        .file_name()
        .ok_or_else(|| WriteError::NoFileName {
            path: target.to_owned(),
        })?
        .to_string_lossy()
        .into_owned();
    if overwrite == Overwrite::Refuse && target.exists() {
        return Err(WriteError::Exists(target.to_owned()));
    }
    let mut staging = Staging::create(&folder_of(target), &name)?;
    let (bytes, sha256) = fill(&mut staging)?;
    staging.place(target, overwrite)?;
    Ok(Written {
        path: target.to_owned(),
        bytes,
        sha256,
    })
}

/// The folder a file is in (`.` for a bare name).
pub fn folder_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    }
}

/// SHA-256 (lowercase hex) and size of the file at `path`, read in pieces.
pub fn sha256_of_file(path: &Path) -> io::Result<(String, u64)> {
    let mut file = fs::File::open(path)?;
    let mut w = HashingWriter::new(io::sink());
    io::copy(&mut file, &mut w)?;
    let (_, bytes, sha256) = w.finish();
    Ok((sha256, bytes))
}

/// Writes `bytes` to `target` atomically.
pub fn write_bytes_atomic(
    target: &Path,
    overwrite: Overwrite,
    bytes: &[u8],
) -> Result<Written, WriteError> {
    write_atomic(target, overwrite, |w| w.write_all(bytes))
}

/// Moves `tmp` to `target` unless `target` exists. A hard link fails if the target exists, so
/// the check and the move are one step; on filesystems without hard links (FAT USB sticks) it
/// falls back to checking, then renaming.
fn place_without_replacing(tmp: &Path, target: &Path) -> Result<(), WriteError> {
    match fs::hard_link(tmp, target) {
        Ok(()) => {
            fs::remove_file(tmp).map_err(|source| WriteError::Io {
                path: tmp.to_owned(),
                source,
            })?;
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            Err(WriteError::Exists(target.to_owned()))
        }
        Err(_) => {
            if target.exists() {
                return Err(WriteError::Exists(target.to_owned()));
            }
            fs::rename(tmp, target).map_err(|source| WriteError::Io {
                path: target.to_owned(),
                source,
            })
        }
    }
}

/// Flushes a folder's entries to disk, so a rename inside it survives a power cut (Unix only;
/// Windows has no such call and makes renames durable itself).
pub(crate) fn sync_folder(folder: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        fs::File::open(folder)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _unused = folder;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leftovers(dir: &Path) -> Vec<String> {
        fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect()
    }

    #[test]
    fn writes_the_whole_file_and_its_hash() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.csv");
        let w = write_bytes_atomic(&p, Overwrite::Refuse, b"abc").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"abc");
        assert_eq!(w.bytes, 3);
        assert_eq!(
            w.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(leftovers(dir.path()).is_empty());
    }

    #[test]
    fn refuses_to_replace_unless_told() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.csv");
        fs::write(&p, b"old").unwrap();
        let e = write_bytes_atomic(&p, Overwrite::Refuse, b"new").unwrap_err();
        assert!(matches!(e, WriteError::Exists(_)));
        assert!(e.to_string().contains("--force"));
        assert_eq!(fs::read(&p).unwrap(), b"old");
        write_bytes_atomic(&p, Overwrite::Replace, b"new").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"new");
        assert!(leftovers(dir.path()).is_empty());
    }

    #[test]
    fn a_write_failure_names_the_file_and_says_its_cause_once() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("no-such-folder/a.csv");
        let e = write_bytes_atomic(&p, Overwrite::Refuse, b"abc").unwrap_err();
        assert!(matches!(e, WriteError::Io { .. }));
        let cause = std::error::Error::source(&e).unwrap().to_string();
        assert!(e.to_string().starts_with("could not write "), "{e}");
        assert!(!e.to_string().contains(&cause), "{e}");
        let line = crate::error::error_chain(&e);
        assert_eq!(line.matches(&cause).count(), 1, "{line}");
    }

    #[test]
    fn a_refused_name_is_said_once() {
        let dir = tempfile::tempdir().unwrap();
        let e =
            write_bytes_atomic(&dir.path().join("nul.csv"), Overwrite::Refuse, b"abc").unwrap_err();
        assert!(matches!(
            e,
            WriteError::BadName(PathError::ReservedName { .. })
        ));
        assert_eq!(crate::error::error_chain(&e), e.to_string());
        assert_eq!(e.to_string().matches("reserved on Windows").count(), 1);
    }

    #[test]
    fn a_failed_fill_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.csv");
        let e = write_atomic(&p, Overwrite::Refuse, |w| {
            w.write_all(b"half")?;
            Err(io::Error::other("mapping missing"))
        })
        .unwrap_err();
        assert!(matches!(e, WriteError::Content(_)));
        assert_eq!(e.to_string(), "mapping missing");
        assert!(!p.exists());
        assert!(leftovers(dir.path()).is_empty());
    }
}
