//! Showing a file or folder in the system's file manager: Explorer on Windows, Finder on macOS,
//! `xdg-open` elsewhere.

use std::path::Path;
use std::process::{Command, Stdio};

/// Shows `path` in the system's file manager: a folder is opened; a file is selected in its
/// folder (Windows, macOS) or its folder is opened (Linux and others), so the file itself is never
/// opened in some other program. Returns once the file manager is started, without waiting for it,
/// so the UI does not freeze.
pub fn open_in_file_manager(path: &Path) -> std::io::Result<()> {
    let mut child = file_manager_command(path, path.is_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    // Reap it in the background so no zombie process is left behind. Its exit code says nothing
    // useful (explorer returns 1 on success), so it is not examined.
    std::thread::spawn(move || child.wait());
    Ok(())
}

#[cfg(windows)]
fn file_manager_command(path: &Path, is_dir: bool) -> Command {
    use std::os::windows::process::CommandExt;
    let mut cmd = Command::new("explorer");
    if is_dir {
        cmd.arg(path);
    } else {
        // explorer parses its own command line: `/select,"C:\a b\c.db"` is the form it accepts.
        cmd.raw_arg(format!("/select,\"{}\"", path.display()));
    }
    cmd
}

#[cfg(target_os = "macos")]
fn file_manager_command(path: &Path, is_dir: bool) -> Command {
    let mut cmd = Command::new("open");
    if !is_dir {
        cmd.arg("-R");
    }
    cmd.arg(path);
    cmd
}

#[cfg(not(any(windows, target_os = "macos")))]
fn file_manager_command(path: &Path, is_dir: bool) -> Command {
    let folder = if is_dir {
        path
    } else {
        path.parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
    };
    let mut cmd = Command::new("xdg-open");
    cmd.arg(folder);
    cmd
}

#[cfg(all(test, not(any(windows, target_os = "macos"))))]
mod tests {
    use super::*;

    #[test]
    fn file_manager_opens_the_folder_not_the_file() {
        let args = |p: &str, dir: bool| -> Vec<String> {
            let cmd = file_manager_command(Path::new(p), dir);
            assert_eq!(cmd.get_program(), "xdg-open");
            cmd.get_args()
                .map(|a| a.to_string_lossy().into_owned())
                .collect()
        };
        assert_eq!(
            args("/home/me/exports/handover.csv", false),
            ["/home/me/exports"]
        );
        assert_eq!(args("/home/me/exports", true), ["/home/me/exports"]);
        assert_eq!(args("handover.csv", false), ["."]);
    }
}
