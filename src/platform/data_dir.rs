//! Where the database lives by default: the user's local (not roaming) data folder, as each
//! operating system names it.

use std::path::{Path, PathBuf};

/// The database file's name inside the data directory.
pub const DB_FILE_NAME: &str = "stopgap.db";

#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    #[error(
        "cannot find this user's home folder, so there is no default place for the database: give its path with --db"
    )]
    NoHomeDirectory,
    #[error("cannot create the data folder {path}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The default database file, in the user's local (not roaming) data folder, which is created if
/// needed: `%LOCALAPPDATA%\Stopgap\Stopgap\data\stopgap.db` on Windows,
/// `~/.local/share/stopgap/stopgap.db` on Linux, `~/Library/Application Support/uk.nhs.Stopgap/`
/// on macOS. Local, because a roaming profile is copied over the network.
pub fn default_db_path() -> Result<PathBuf, PlatformError> {
    let dirs = project_dirs().ok_or(PlatformError::NoHomeDirectory)?;
    db_path_in(dirs.data_local_dir())
}

fn project_dirs() -> Option<directories::ProjectDirs> {
    directories::ProjectDirs::from("uk.nhs", "Stopgap", "Stopgap")
}

/// `dir/stopgap.db`, creating `dir` (and its parents) if needed, readable by this user only.
fn db_path_in(dir: &Path) -> Result<PathBuf, PlatformError> {
    super::create_private_dir(dir).map_err(|source| PlatformError::CreateDir {
        path: dir.to_owned(),
        source,
    })?;
    Ok(dir.join(DB_FILE_NAME))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_goes_in_a_created_data_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("Stopgap/Stopgap/data");
        let path = db_path_in(&dir).unwrap();
        assert_eq!(path, dir.join("stopgap.db"));
        assert!(dir.is_dir());
        // Again: an existing folder is fine.
        assert_eq!(db_path_in(&dir).unwrap(), path);
    }

    #[test]
    fn a_data_folder_that_cannot_be_made_is_reported_with_its_path() {
        let tmp = tempfile::tempdir().unwrap();
        let blocker = tmp.path().join("a-file");
        std::fs::write(&blocker, b"").unwrap();
        let err = db_path_in(&blocker.join("data")).unwrap_err();
        assert!(matches!(err, PlatformError::CreateDir { .. }));
        assert!(err.to_string().contains("a-file"), "{err}");
        // The cause is the error's source, said once when the chain is shown.
        let cause = std::error::Error::source(&err).unwrap().to_string();
        assert!(!err.to_string().contains(&cause), "{err}");
    }

    #[test]
    fn the_default_folder_is_the_local_data_folder_named_for_stopgap() {
        // Looks the folder up without creating it (no home folder: nothing to check).
        if let Some(dirs) = project_dirs() {
            let dir = dirs.data_local_dir().to_string_lossy().to_lowercase();
            assert!(dir.contains("stopgap"), "{dir}");
        }
    }
}
