//! Reading a file given from outside (an import, a reconciliation file, a catalogue or an export
//! profile) with a size limit, so `import /dev/zero` or a 3 GB file by mistake is refused with a
//! clear message instead of filling the memory until the process aborts.

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// Largest request CSV import: 64 MB is several hundred thousand typed requests.
pub const IMPORT_MAX_BYTES: u64 = 64 * 1024 * 1024;
/// Largest reconciliation CSV: 64 MB is well over a million accession rows.
pub const RECONCILE_MAX_BYTES: u64 = 64 * 1024 * 1024;
/// Largest test catalogue or export profile (TOML): the default catalogue is a few kilobytes.
pub const TOML_MAX_BYTES: u64 = 4 * 1024 * 1024;

/// Why a file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{} does not exist: check the path", .path.display())]
    NotFound { path: PathBuf },
    #[error("{} is a folder, not a file: give the path of {what}", .path.display())]
    Folder { path: PathBuf, what: &'static str },
    /// A device, pipe or socket (`/dev/zero`, a FIFO): it may never end, so it is not read.
    #[error("{} is not a regular file (a device, pipe or socket): give the path of {what}", .path.display())]
    NotRegular { path: PathBuf, what: &'static str },
    #[error("{} is {}; {what} may be at most {}: check that this is the right file", .path.display(), size_in_words(*.size), size_in_words(*.max))]
    TooBig {
        path: PathBuf,
        what: &'static str,
        size: u64,
        max: u64,
    },
    #[error("could not read {}", .path.display())]
    Io { path: PathBuf, source: io::Error },
}

/// Reads the whole of `path`, refusing anything but a regular file of at most `max` bytes.
/// `what` names the kind of file in messages, with its article ("a reconciliation file").
pub fn read_limited(path: &Path, max: u64, what: &'static str) -> Result<Vec<u8>, ReadError> {
    let io_err = |source: io::Error| match source.kind() {
        io::ErrorKind::NotFound => ReadError::NotFound {
            path: path.to_owned(),
        },
        _ => ReadError::Io {
            path: path.to_owned(),
            source,
        },
    };
    let file = fs::File::open(path).map_err(io_err)?;
    let meta = file.metadata().map_err(io_err)?;
    if meta.is_dir() {
        return Err(ReadError::Folder {
            path: path.to_owned(),
            what,
        });
    }
    if !meta.is_file() {
        return Err(ReadError::NotRegular {
            path: path.to_owned(),
            what,
        });
    }
    let too_big = |size| ReadError::TooBig {
        path: path.to_owned(),
        what,
        size,
        max,
    };
    if meta.len() > max {
        return Err(too_big(meta.len()));
    }
    // The file may grow after its size was read: never read more than one byte past the limit.
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(io_err)?;
    let read = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
    if read > max {
        return Err(too_big(read));
    }
    Ok(bytes)
}

/// [`read_limited`], as UTF-8 text (a TOML file).
pub fn read_limited_text(path: &Path, max: u64, what: &'static str) -> Result<String, ReadError> {
    let bytes = read_limited(path, max, what)?;
    String::from_utf8(bytes).map_err(|e| ReadError::Io {
        path: path.to_owned(),
        source: io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "it is not UTF-8 text (byte {}): save it as UTF-8",
                e.utf8_error().valid_up_to()
            ),
        ),
    })
}

/// A size as people say it: "812 bytes", "3.2 KB", "64 MB", "3.2 GB" (powers of 1024).
pub fn size_in_words(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if bytes < 1024 {
        return format!("{bytes} bytes");
    }
    #[expect(
        clippy::cast_precision_loss,
        reason = "a size shown to one decimal place"
    )]
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if value.fract() < 0.05 || value >= 100.0 {
        format!("{value:.0} {}", UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_said_in_words() {
        assert_eq!(size_in_words(812), "812 bytes");
        assert_eq!(size_in_words(64 * 1024 * 1024), "64 MB");
        assert_eq!(size_in_words(3_435_973_837), "3.2 GB");
        assert_eq!(size_in_words(1536), "1.5 KB");
    }

    #[test]
    fn refuses_a_file_over_the_limit_without_reading_it() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big.csv");
        // Sparse: 3.2 GB on paper, no disk used.
        fs::File::create(&p)
            .unwrap()
            .set_len(3_435_973_837)
            .unwrap();
        let e = read_limited(&p, RECONCILE_MAX_BYTES, "a reconciliation file").unwrap_err();
        assert!(matches!(e, ReadError::TooBig { .. }), "{e:?}");
        assert_eq!(
            e.to_string(),
            format!(
                "{} is 3.2 GB; a reconciliation file may be at most 64 MB: check that this is the right file",
                p.display()
            )
        );
    }

    #[test]
    fn reads_a_file_up_to_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("ok.csv");
        fs::write(&p, b"abcd").unwrap();
        assert_eq!(read_limited(&p, 4, "a file").unwrap(), b"abcd");
        assert!(matches!(
            read_limited(&p, 3, "a file"),
            Err(ReadError::TooBig { size: 4, .. })
        ));
    }

    #[test]
    fn refuses_a_folder_and_a_missing_file() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            read_limited(dir.path(), 10, "a file"),
            Err(ReadError::Folder { .. })
        ));
        assert!(matches!(
            read_limited(&dir.path().join("nope"), 10, "a file"),
            Err(ReadError::NotFound { .. })
        ));
    }

    #[cfg(unix)]
    #[test]
    fn refuses_dev_zero_as_not_a_regular_file() {
        let e =
            read_limited(Path::new("/dev/zero"), IMPORT_MAX_BYTES, "an import file").unwrap_err();
        assert!(matches!(e, ReadError::NotRegular { .. }), "{e:?}");
        assert!(e.to_string().contains("not a regular file"), "{e}");
    }
}
