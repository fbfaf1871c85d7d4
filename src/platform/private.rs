//! Patient-data files readable by their owner only: the data folder 0700 and every file 0600 on
//! Unix. On Windows the database lives in the user's own profile (`%LOCALAPPDATA%`), whose ACLs
//! already give access to that user (and administrators) only, and files created there inherit
//! them; these functions change nothing there.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io;
use std::path::Path;

/// Creates `dir` and any missing parents; on Unix the folders it creates are 0700. Existing
/// folders are left as they are (they may be shared folders chosen by IT).
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Creates a new file that only its owner may read or write (0600 on Unix); refuses if the file
/// exists.
pub fn create_private_file(path: &Path) -> io::Result<File> {
    private_options().write(true).create_new(true).open(path)
}

/// Options for creating a file 0600 on Unix (the umask cannot widen it).
pub fn private_options() -> OpenOptions {
    #[allow(unused_mut, reason = "mut is needed on Unix only")]
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

/// Takes group and other access away from an existing file (a database made by an older
/// Stopgap was 0644). Returns whether it changed anything; a file that is already private, or
/// one this user cannot change (read-only medium, someone else's file), is left alone.
pub fn restrict_to_owner(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let Ok(meta) = std::fs::metadata(path) else {
            return false;
        };
        let mode = meta.permissions().mode();
        if mode & 0o077 == 0 {
            return false;
        }
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o700)).is_ok()
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        false
    }
}

#[cfg(test)]
#[cfg(unix)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn created_folders_and_files_are_the_owners_only() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/b");
        create_private_dir(&dir).unwrap();
        assert_eq!(mode(&tmp.path().join("a")), 0o700);
        assert_eq!(mode(&dir), 0o700);
        let file = dir.join("f");
        drop(create_private_file(&file).unwrap());
        assert_eq!(mode(&file), 0o600);
        assert!(
            create_private_file(&file).is_err(),
            "an existing file is never reused"
        );
    }

    #[test]
    fn a_world_readable_file_is_made_private_and_a_private_one_left_alone() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("old.db");
        std::fs::write(&file, b"x").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(restrict_to_owner(&file));
        assert_eq!(mode(&file), 0o600);
        assert!(!restrict_to_owner(&file));
        assert!(!restrict_to_owner(&tmp.path().join("missing")));
    }
}
