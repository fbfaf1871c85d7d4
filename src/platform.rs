//! What differs by operating system: where the database lives by default, whether a path is on a
//! network filesystem (where SQLite cannot promise that a save survives a crash), which file names
//! Windows refuses, opening a folder in the file manager, and reaching the console a Windows GUI
//! program was started from.
//!
//! The parsing behind these checks is pure (it takes the mount table or the path as text) so it
//! is tested on any machine; only the thin wrappers read `/proc` or ask Windows. The only `unsafe`
//! code in Stopgap is the four Windows API calls in the private `win` module.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The database file's name inside the data directory.
pub const DB_FILE_NAME: &str = "stopgap.db";

#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    #[error(
        "cannot find this user's home folder, so there is no default place for the database: give its path with --db"
    )]
    NoHomeDirectory,
    #[error("cannot create the data folder {path}: {source}")]
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

/// `dir/stopgap.db`, creating `dir` (and its parents) if needed.
fn db_path_in(dir: &Path) -> Result<PathBuf, PlatformError> {
    std::fs::create_dir_all(dir).map_err(|source| PlatformError::CreateDir {
        path: dir.to_owned(),
        source,
    })?;
    Ok(dir.join(DB_FILE_NAME))
}

/// Filesystem types whose locking and flushing SQLite cannot rely on. `fuse.*` names are FUSE
/// filesystems with their subtype, as the kernel reports them.
const NETWORK_FSTYPES: &[&str] = &[
    "nfs",
    "nfs4",
    "cifs",
    "smb3",
    "smbfs",
    "ncpfs",
    "afs",
    "9p",
    "ceph",
    "glusterfs",
    "fuse.sshfs",
    "fuse.rclone",
    "fuse.glusterfs",
    "fuse.ceph-fuse",
    "fuse.davfs",
    "davfs",
    "lustre",
    "gpfs",
];

/// Whether a filesystem type (as in `/proc/self/mountinfo`) is a network filesystem.
pub fn is_network_fstype(fstype: &str) -> bool {
    NETWORK_FSTYPES.contains(&fstype)
}

/// Why SQLite should not be used at this location, or `None` when it is on a local disk (or the
/// platform gives no way to tell). The text continues a sentence that starts with the path, e.g.
/// "the database /mnt/share/stopgap.db " + "is on a network filesystem (cifs mounted at
/// /mnt/share): …".
///
/// A file that does not exist yet is judged by its nearest existing folder, resolved through
/// symbolic links.
pub fn network_filesystem(path: &Path) -> Option<String> {
    let resolved = nearest_existing_canonical(path);
    network_filesystem_impl(path, resolved.as_deref())
}

/// The canonical form of `path`, or of its nearest existing ancestor for a path not yet created.
fn nearest_existing_canonical(path: &Path) -> Option<PathBuf> {
    let absolute = std::path::absolute(path).ok()?;
    absolute
        .ancestors()
        .find_map(|p| std::fs::canonicalize(p).ok())
}

/// The advice that ends every network warning.
const KEEP_IT_LOCAL: &str = "SQLite cannot guarantee that saves survive a crash there; keep the \
                             database on this PC's own disk";

fn network_warning(what: &str) -> String {
    format!("is on a network filesystem ({what}): {KEEP_IT_LOCAL}")
}

#[cfg(any(windows, test))]
fn mapped_drive_warning(letter: char) -> String {
    format!("is on a network drive ({letter}: is mapped to a network share): {KEEP_IT_LOCAL}")
}

#[cfg(target_os = "linux")]
fn network_filesystem_impl(_path: &Path, resolved: Option<&Path>) -> Option<String> {
    let resolved = resolved?;
    let mounts = match std::fs::read_to_string("/proc/self/mountinfo") {
        Ok(text) => parse_mountinfo(&text),
        Err(_) => parse_proc_mounts(&std::fs::read_to_string("/proc/mounts").ok()?),
    };
    let mount = network_mount(&mounts, resolved)?;
    Some(network_warning(&format!(
        "{} mounted at {}",
        mount.fstype,
        mount.mount_point.display()
    )))
}

#[cfg(windows)]
fn network_filesystem_impl(path: &Path, resolved: Option<&Path>) -> Option<String> {
    // The path as given, made absolute (a relative path is on the current folder's drive), and
    // resolved (a symbolic link may lead to a share; Windows resolves a mapped drive to its
    // `\\?\UNC\server\share` when it is connected).
    let absolute = std::path::absolute(path).ok();
    let candidates: Vec<String> = [Some(path), absolute.as_deref(), resolved]
        .into_iter()
        .flatten()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if let Some(share) = candidates.iter().find_map(|p| unc_share(p)) {
        return Some(network_warning(&format!("Windows share {share}")));
    }
    // A drive letter mapped to a share (`net use Z: \\labfs\Downtime`), which Windows may not
    // resolve to the share, e.g. while it is disconnected.
    candidates
        .iter()
        .filter_map(|p| drive_letter(p))
        .find(|&letter| win::is_network_drive(letter))
        .map(mapped_drive_warning)
}

#[cfg(not(any(target_os = "linux", windows)))]
fn network_filesystem_impl(_path: &Path, _resolved: Option<&Path>) -> Option<String> {
    None
}

/// One line of the mount table.
#[cfg(any(target_os = "linux", test))]
#[derive(Debug, Clone, PartialEq, Eq)]
struct Mount {
    mount_point: PathBuf,
    fstype: String,
}

/// Parses `/proc/self/mountinfo`: `id parent major:minor root mount-point options [optional…] -
/// fstype source super-options`. Lines that do not fit are skipped.
#[cfg(any(target_os = "linux", test))]
fn parse_mountinfo(text: &str) -> Vec<Mount> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split(' ');
            let mount_point = fields.nth(4)?;
            // The optional fields end at a lone "-"; the filesystem type follows it.
            let fstype = fields.skip_while(|f| *f != "-").nth(1)?;
            Some(Mount {
                mount_point: PathBuf::from(unescape_octal(mount_point)),
                fstype: unescape_octal(fstype),
            })
        })
        .collect()
}

/// Parses `/proc/mounts` (the fstab format: `source mount-point fstype options dump pass`), the
/// fallback when mountinfo cannot be read.
#[cfg(any(target_os = "linux", test))]
fn parse_proc_mounts(text: &str) -> Vec<Mount> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let mount_point = fields.nth(1)?;
            let fstype = fields.next()?;
            Some(Mount {
                mount_point: PathBuf::from(unescape_octal(mount_point)),
                fstype: unescape_octal(fstype),
            })
        })
        .collect()
}

/// Undoes the kernel's escaping of space, tab, newline and backslash in mount tables (`\040`,
/// `\011`, `\012`, `\134`). A mount point that is not UTF-8 is kept lossily; it then matches no
/// path, so the check falls back to the mount above it.
#[cfg(any(target_os = "linux", test))]
fn unescape_octal(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|d| bytes[i] == b'\\' && d.iter().all(|b| (b'0'..=b'7').contains(b)))
            .map(|d| d.iter().fold(0u32, |acc, b| acc * 8 + u32::from(b - b'0')))
            .and_then(|v| u8::try_from(v).ok());
        match octal {
            Some(byte) => {
                out.push(byte);
                i += 4;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The mount holding `path` (the one with the longest mount point that is a whole-component
/// prefix of it; of equal ones the last, which hides the earlier), if it is a network mount.
#[cfg(any(target_os = "linux", test))]
fn network_mount<'a>(mounts: &'a [Mount], path: &Path) -> Option<&'a Mount> {
    let mut best: Option<&Mount> = None;
    for m in mounts.iter().filter(|m| path.starts_with(&m.mount_point)) {
        let longer = best.is_none_or(|b| {
            m.mount_point.components().count() >= b.mount_point.components().count()
        });
        if longer {
            best = Some(m);
        }
    }
    best.filter(|m| is_network_fstype(&m.fstype))
}

/// The `\\server\share` a Windows path lives on, if it is a UNC path: `\\server\share\…`,
/// `\\?\UNC\server\share\…` or `\\.\UNC\server\share\…` (forward slashes accepted too). Device
/// and verbatim disk paths (`\\?\C:\…`, `\\.\PhysicalDrive0`) are not shares.
#[cfg(any(windows, test))]
fn unc_share(path: &str) -> Option<String> {
    let p = path.replace('/', "\\");
    let rest = if let Some(rest) = p.strip_prefix(r"\\?\").or_else(|| p.strip_prefix(r"\\.\")) {
        let (kind, rest) = rest.split_once('\\')?;
        if !kind.eq_ignore_ascii_case("UNC") {
            return None;
        }
        rest
    } else {
        p.strip_prefix(r"\\")?
    };
    let mut parts = rest.split('\\');
    let server = parts.next().filter(|s| !s.is_empty())?;
    let share = parts.next().filter(|s| !s.is_empty())?;
    Some(format!(r"\\{server}\{share}"))
}

/// The drive letter a Windows path starts with, upper-cased: `Z:\x`, `z:x`, `\\?\Z:\x`,
/// `\\.\Z:\x` (forward slashes accepted too). UNC and relative paths have none.
#[cfg(any(windows, test))]
fn drive_letter(path: &str) -> Option<char> {
    let p = path.replace('/', "\\");
    let rest = p
        .strip_prefix(r"\\?\")
        .or_else(|| p.strip_prefix(r"\\.\"))
        .unwrap_or(&p);
    match rest.as_bytes() {
        [letter, b':', ..] if letter.is_ascii_alphabetic() => {
            Some(char::from(letter.to_ascii_uppercase()))
        }
        _ => None,
    }
}

/// Why a file name cannot be used for an export. Windows' rules apply on every platform: a file
/// exported on Linux may be copied to a Windows PC, and Windows would silently change or refuse
/// such a name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("\"{path}\" names a folder, not a file: add a file name such as handover.csv")]
    NoFileName { path: String },
    #[error(
        "the file name {name:?} contains {}, which Windows does not allow in file names: use \
         letters, digits, spaces, '-' and '_'",
        describe_char(*.character)
    )]
    InvalidCharacter { name: String, character: char },
    #[error(
        "the file name {name:?} is reserved on Windows ({device} is a device name, whatever the \
         extension): choose another name, such as {suggestion:?}"
    )]
    ReservedName {
        name: String,
        device: String,
        suggestion: String,
    },
    #[error("the file name {name:?} ends with a {ending}, which Windows would drop: remove it")]
    TrailingDotOrSpace { name: String, ending: &'static str },
    #[error("the file name {name:?} is {length} characters long; Windows allows at most 255")]
    TooLong { name: String, length: usize },
}

fn describe_char(c: char) -> String {
    if c.is_control() {
        format!("a control character (U+{:04X})", u32::from(c))
    } else {
        format!("'{c}'")
    }
}

/// Names of Windows devices: a file called one of these, with any extension (`nul.csv`), opens the
/// device instead on Windows 10. The superscript digits are included because Windows treats them
/// as digits here.
const RESERVED_NAMES: &[&str] = &[
    "CON",
    "PRN",
    "AUX",
    "NUL",
    "CONIN$",
    "CONOUT$",
    "COM0",
    "COM1",
    "COM2",
    "COM3",
    "COM4",
    "COM5",
    "COM6",
    "COM7",
    "COM8",
    "COM9",
    "COM\u{b9}",
    "COM\u{b2}",
    "COM\u{b3}",
    "LPT0",
    "LPT1",
    "LPT2",
    "LPT3",
    "LPT4",
    "LPT5",
    "LPT6",
    "LPT7",
    "LPT8",
    "LPT9",
    "LPT\u{b9}",
    "LPT\u{b2}",
    "LPT\u{b3}",
];

/// Characters Windows refuses in a file name (besides the separators `\` and `/`, and control
/// characters).
const INVALID_CHARS: &[char] = &['<', '>', ':', '"', '|', '?', '*'];

/// Checks the file name of a path chosen for an export against Windows' rules, on every
/// platform: no reserved device name (`CON`, `NUL`, `COM1`, ... also as `nul.csv`, any case), no
/// `<>:"|?*` or control characters, no trailing space or dot, at most 255 characters. Both `\`
/// and `/` separate folders here, so `C:\exports\nul.csv` is judged by `nul.csv` on Linux too.
/// The folders on the way are not checked: they exist already, or creating them will say why not.
pub fn check_export_path(path: &Path) -> Result<(), PathError> {
    check_file_name(&path.to_string_lossy())
}

fn check_file_name(path: &str) -> Result<(), PathError> {
    let name = path.rfind(['/', '\\']).map_or(path, |i| &path[i + 1..]);
    if name.is_empty() || name == "." || name == ".." {
        return Err(PathError::NoFileName {
            path: path.to_owned(),
        });
    }
    if let Some(character) = name
        .chars()
        .find(|c| c.is_control() || INVALID_CHARS.contains(c))
    {
        return Err(PathError::InvalidCharacter {
            name: name.to_owned(),
            character,
        });
    }
    // Windows ignores everything from the first dot, and spaces before it, when it looks for a
    // device name: "NUL .tar.gz" is NUL.
    let (base, extension) = name.split_once('.').unwrap_or((name, ""));
    let base = base.trim_end_matches(' ');
    if let Some(device) = RESERVED_NAMES.iter().find(|d| d.eq_ignore_ascii_case(base)) {
        let suggestion = if extension.is_empty() {
            format!("{base}-export")
        } else {
            format!("{base}-export.{extension}")
        };
        return Err(PathError::ReservedName {
            name: name.to_owned(),
            device: (*device).to_owned(),
            suggestion,
        });
    }
    let ending = match name.chars().last() {
        Some(' ') => Some("space"),
        Some('.') => Some("dot"),
        _ => None,
    };
    if let Some(ending) = ending {
        return Err(PathError::TrailingDotOrSpace {
            name: name.to_owned(),
            ending,
        });
    }
    // NTFS counts UTF-16 code units.
    let length = name.encode_utf16().count();
    if length > 255 {
        return Err(PathError::TooLong {
            name: name.to_owned(),
            length,
        });
    }
    Ok(())
}

/// Makes standard output and standard error reach the console this program was started from,
/// and says whether they lead anywhere (a console, a file or a pipe).
///
/// A Windows release build is a GUI program (`windows_subsystem = "windows"`, so no console window
/// opens behind the app): it starts with no standard output at all, and a command run from
/// `cmd` or PowerShell would print nothing. This attaches to the parent's console when there is
/// one. Output already redirected to a file or pipe is left alone. Elsewhere, and in Windows debug
/// builds (console programs), there is nothing to do. Calling it again is harmless.
pub fn use_parent_console() -> bool {
    #[cfg(windows)]
    {
        win::has_std_output() || win::attach_parent_console()
    }
    #[cfg(not(windows))]
    {
        true
    }
}

/// Tells the user why the app could not run: on standard error, or on Windows, when the app was
/// started from a shortcut and has no console, in an error box (a GUI program's standard error
/// goes nowhere).
pub fn report_app_error(message: &str) {
    #[cfg(windows)]
    if !use_parent_console() {
        win::error_box("Stopgap could not start", message);
        return;
    }
    eprintln!("stopgap: error: {message}");
}

/// The Windows API calls Stopgap makes, each in a function of its own: the only `unsafe` code in
/// Stopgap. They cross into C, so the compiler cannot check them; the SAFETY comments say why each
/// call is sound.
#[cfg(windows)]
mod win {
    use windows_sys::Win32::Foundation::INVALID_HANDLE_VALUE;
    use windows_sys::Win32::Storage::FileSystem::GetDriveTypeW;
    use windows_sys::Win32::System::Console::{
        ATTACH_PARENT_PROCESS, AttachConsole, GetStdHandle, STD_ERROR_HANDLE, STD_HANDLE,
        STD_OUTPUT_HANDLE,
    };
    use windows_sys::Win32::System::WindowsProgramming::DRIVE_REMOTE;
    use windows_sys::Win32::UI::WindowsAndMessaging::{MB_ICONERROR, MB_OK, MessageBoxW};

    /// `s` as a NUL-terminated UTF-16 string, as Windows' `W` functions take text.
    fn wide(s: &str) -> Vec<u16> {
        s.encode_utf16().chain(std::iter::once(0)).collect()
    }

    /// Whether drive `letter` (e.g. `Z`) is mapped to a network share.
    #[expect(unsafe_code, reason = "GetDriveTypeW is a Windows API call")]
    pub fn is_network_drive(letter: char) -> bool {
        let root = wide(&format!("{letter}:\\"));
        // SAFETY: `root` is a NUL-terminated UTF-16 string that lives until the call returns;
        // GetDriveTypeW only reads it and keeps no pointer to it.
        let kind = unsafe { GetDriveTypeW(root.as_ptr()) };
        kind == DRIVE_REMOTE
    }

    /// Whether this process has a standard output or standard error handle (a console, file or
    /// pipe).
    pub fn has_std_output() -> bool {
        std_handle_present(STD_OUTPUT_HANDLE) || std_handle_present(STD_ERROR_HANDLE)
    }

    #[expect(unsafe_code, reason = "GetStdHandle is a Windows API call")]
    fn std_handle_present(which: STD_HANDLE) -> bool {
        // SAFETY: GetStdHandle takes a constant and returns a handle value; no memory of ours is
        // involved. The handle is only compared, never used or closed.
        let handle = unsafe { GetStdHandle(which) };
        !handle.is_null() && handle != INVALID_HANDLE_VALUE
    }

    /// Attaches to the console of the process that started this one; false when it has none
    /// (started from Explorer or a shortcut).
    #[expect(unsafe_code, reason = "AttachConsole is a Windows API call")]
    pub fn attach_parent_console() -> bool {
        // SAFETY: AttachConsole takes a constant and no pointers. It fails harmlessly (returns 0)
        // when the parent has no console or this process already has one. Rust's standard output
        // asks Windows for its handle on every write, so it uses the console from now on.
        unsafe { AttachConsole(ATTACH_PARENT_PROCESS) != 0 }
    }

    /// Shows a modal error box and returns when the user closes it.
    #[expect(unsafe_code, reason = "MessageBoxW is a Windows API call")]
    pub fn error_box(title: &str, text: &str) {
        let title = wide(title);
        let text = wide(text);
        // SAFETY: both strings are NUL-terminated UTF-16 that live until the call returns; a null
        // owner window is allowed (the box then has no parent). The result (which button closed
        // the box) does not matter: there is only OK.
        unsafe {
            MessageBoxW(
                std::ptr::null_mut(),
                text.as_ptr(),
                title.as_ptr(),
                MB_OK | MB_ICONERROR,
            );
        }
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    /// A mount table like a hospital Linux PC's: ext4 root, a CIFS share with a space in its
    /// name, an NFS home nested under an ext4 data disk, a tmpfs, and a local disk mounted inside
    /// the NFS tree.
    const MOUNTINFO: &str = "\
22 27 0:21 / /proc rw,relatime shared:12 - proc proc rw
27 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro
30 27 8:17 / /data rw,relatime shared:7 - ext4 /dev/sdb1 rw
31 30 0:50 / /data/nfs\\040home rw,relatime shared:20 - nfs4 fileserver:/export/home rw,vers=4.2
32 27 0:51 / /mnt/Lab\\040Share rw,relatime shared:21 master:3 - cifs //labfs/Lab\\040Share rw,vers=3.1.1
33 31 8:33 / /data/nfs\\040home/scratch rw,relatime - ext4 /dev/sdc1 rw
34 27 0:52 / /run/user/1000 rw,nosuid,nodev - tmpfs tmpfs rw,size=800000k
35 27 0:53 / /mnt/share rw - cifs //labfs/share rw
36 27 0:54 / /media/sshfs rw,nosuid - fuse.sshfs me@host:/ rw,user_id=0
";

    fn check(path: &str, expected: Option<(&str, &str)>) {
        let mounts = parse_mountinfo(MOUNTINFO);
        let found = network_mount(&mounts, Path::new(path))
            .map(|m| (m.fstype.as_str(), m.mount_point.to_str().unwrap_or("?")));
        assert_eq!(found, expected, "path {path}");
    }

    #[test]
    fn parses_every_mountinfo_line() {
        let mounts = parse_mountinfo(MOUNTINFO);
        assert_eq!(mounts.len(), 9);
        assert_eq!(
            mounts[4],
            Mount {
                mount_point: PathBuf::from("/mnt/Lab Share"),
                fstype: "cifs".into()
            }
        );
    }

    #[test]
    fn finds_a_cifs_share_including_one_with_spaces() {
        check("/mnt/share/stopgap.db", Some(("cifs", "/mnt/share")));
        check("/mnt/share", Some(("cifs", "/mnt/share")));
        check(
            "/mnt/Lab Share/downtime/stopgap.db",
            Some(("cifs", "/mnt/Lab Share")),
        );
    }

    #[test]
    fn finds_nfs_nested_under_ext4_and_local_disk_nested_under_nfs() {
        check(
            "/data/nfs home/me/stopgap.db",
            Some(("nfs4", "/data/nfs home")),
        );
        check("/data/stopgap.db", None);
        check("/data/nfs home/scratch/stopgap.db", None);
    }

    #[test]
    fn local_paths_are_not_network() {
        check("/home/me/.local/share/stopgap/stopgap.db", None);
        check("/run/user/1000/stopgap.db", None);
        check("/", None);
    }

    #[test]
    fn a_mount_point_matches_whole_components_only() {
        // /mnt/shared is on the root disk, not inside the /mnt/share mount.
        check("/mnt/shared/stopgap.db", None);
        check("/mnt/sharestopgap.db", None);
    }

    #[test]
    fn fuse_network_filesystems_count() {
        check("/media/sshfs/x.db", Some(("fuse.sshfs", "/media/sshfs")));
        assert!(is_network_fstype("fuse.rclone"));
        assert!(!is_network_fstype("fuse.portal"));
        assert!(!is_network_fstype("ext4"));
        assert!(!is_network_fstype("btrfs"));
    }

    #[test]
    fn a_later_mount_on_the_same_point_hides_the_earlier() {
        let text = "\
27 1 8:1 / / rw - ext4 /dev/sda1 rw
40 27 0:60 / /srv rw - nfs server:/srv rw
41 40 8:2 / /srv rw - xfs /dev/sda2 rw
";
        let mounts = parse_mountinfo(text);
        assert_eq!(network_mount(&mounts, Path::new("/srv/stopgap.db")), None);
        let reversed = "\
27 1 8:1 / / rw - ext4 /dev/sda1 rw
41 27 8:2 / /srv rw - xfs /dev/sda2 rw
40 41 0:60 / /srv rw - nfs server:/srv rw
";
        let mounts = parse_mountinfo(reversed);
        assert!(network_mount(&mounts, Path::new("/srv/stopgap.db")).is_some());
    }

    #[test]
    fn skips_malformed_mountinfo_lines() {
        let mounts = parse_mountinfo("garbage\n\n1 2 3 4\n27 1 8:1 / / rw - ext4 /dev/sda1 rw\n");
        assert_eq!(mounts.len(), 1);
        assert_eq!(mounts[0].fstype, "ext4");
    }

    #[test]
    fn parses_proc_mounts_as_a_fallback() {
        let text = "\
/dev/sda1 / ext4 rw,relatime 0 0
//labfs/Lab\\040Share /mnt/Lab\\040Share cifs rw,vers=3.1.1 0 0
fileserver:/export /home nfs rw 0 0
";
        let mounts = parse_proc_mounts(text);
        assert_eq!(mounts.len(), 3);
        let found = network_mount(&mounts, Path::new("/mnt/Lab Share/stopgap.db"));
        assert_eq!(found.map(|m| m.fstype.as_str()), Some("cifs"));
        let found = network_mount(&mounts, Path::new("/home/me/stopgap.db"));
        assert_eq!(found.map(|m| m.fstype.as_str()), Some("nfs"));
        assert_eq!(network_mount(&mounts, Path::new("/opt/stopgap.db")), None);
    }

    #[test]
    fn unescapes_kernel_octal_escapes() {
        assert_eq!(unescape_octal(r"/mnt/a\040b"), "/mnt/a b");
        assert_eq!(unescape_octal(r"/mnt/tab\011x"), "/mnt/tab\tx");
        assert_eq!(unescape_octal(r"/mnt/back\134slash"), r"/mnt/back\slash");
        // Not an escape: left alone.
        assert_eq!(unescape_octal(r"/mnt/a\09"), r"/mnt/a\09");
        assert_eq!(unescape_octal(r"/mnt/end\04"), r"/mnt/end\04");
        // UTF-8 names escaped byte by byte come back whole.
        assert_eq!(unescape_octal(r"/mnt/Zo\303\253"), "/mnt/Zoë");
    }

    #[test]
    fn recognises_windows_unc_paths() {
        let share = |p: &str| unc_share(p);
        assert_eq!(
            share(r"\\labfs\Downtime\stopgap.db").as_deref(),
            Some(r"\\labfs\Downtime")
        );
        assert_eq!(
            share(r"\\?\UNC\labfs\Downtime\stopgap.db").as_deref(),
            Some(r"\\labfs\Downtime")
        );
        assert_eq!(share(r"\\?\unc\labfs\d").as_deref(), Some(r"\\labfs\d"));
        assert_eq!(
            share(r"\\.\UNC\labfs\d\x.db").as_deref(),
            Some(r"\\labfs\d")
        );
        assert_eq!(
            share("//labfs/Downtime/stopgap.db").as_deref(),
            Some(r"\\labfs\Downtime")
        );
        for local in [
            r"C:\Users\me\AppData\Local\Stopgap\stopgap.db",
            r"\\?\C:\Users\me\stopgap.db",
            r"\\.\PhysicalDrive0",
            r"\\server",
            r"\\",
            "/home/me/stopgap.db",
            "stopgap.db",
        ] {
            assert_eq!(share(local), None, "{local}");
        }
    }

    #[test]
    fn finds_the_drive_letter_of_a_windows_path() {
        for (path, letter) in [
            (r"Z:\Downtime\stopgap.db", Some('Z')),
            (r"z:\stopgap.db", Some('Z')),
            ("Z:", Some('Z')),
            ("z:stopgap.db", Some('Z')),
            (r"\\?\Z:\Downtime\stopgap.db", Some('Z')),
            (r"\\.\C:\Users\me", Some('C')),
            ("C:/Users/me/stopgap.db", Some('C')),
            ("//?/D:/x.db", Some('D')),
            (r"\\?\UNC\labfs\Downtime\stopgap.db", None),
            (r"\\labfs\Downtime\stopgap.db", None),
            (r"\\.\PhysicalDrive0", None),
            ("stopgap.db", None),
            ("/home/me/stopgap.db", None),
            ("1:/x", None),
            ("", None),
        ] {
            assert_eq!(drive_letter(path), letter, "{path}");
        }
    }

    #[test]
    fn a_mapped_drive_is_named_in_the_warning() {
        assert_eq!(
            mapped_drive_warning('Z'),
            "is on a network drive (Z: is mapped to a network share): SQLite cannot guarantee \
             that saves survive a crash there; keep the database on this PC's own disk"
        );
    }

    fn check_name(path: &str, expected: Result<(), &str>) {
        let got = check_export_path(Path::new(path)).map_err(|e| e.to_string());
        match (&got, expected) {
            (Ok(()), Ok(())) => {}
            (Err(message), Err(part)) if message.contains(part) => {}
            _ => panic!("{path:?}: got {got:?}, expected {expected:?}"),
        }
    }

    #[test]
    fn accepts_ordinary_export_names_with_windows_or_unix_folders() {
        for path in [
            "handover.csv",
            r"C:\Users\Ward 7\Documents\handover 2026-01-31.csv",
            r"\\labfs\Exports\requests.hl7",
            "/home/me/exports/requests.json",
            "D:/exports/Ward_7 (AMU).pdf",
            // Only the file name is checked, and a device name must be the whole base name.
            r"C:\NUL\con-list.csv",
            "nullable.csv",
            "console.csv",
            "COM10.csv",
            "LPT.csv",
            "auxiliary",
            ".csv",
            "Zoë Ŵ 数据.csv",
        ] {
            check_name(path, Ok(()));
        }
    }

    #[test]
    fn refuses_windows_device_names_in_any_case_and_with_extensions() {
        for (path, device) in [
            ("CON", "CON is a device name"),
            ("nul.csv", "NUL is a device name"),
            (r"C:\Users\me\Desktop\nul.csv", "NUL is a device name"),
            ("/tmp/Nul.tar.gz", "NUL is a device name"),
            ("prn.pdf", "PRN"),
            ("Aux.json", "AUX"),
            ("com1.csv", "COM1"),
            ("COM9", "COM9"),
            ("lpt1.txt", "LPT1"),
            (r"D:\exports\LPT9.hl7", "LPT9"),
            ("NUL .csv", "NUL"),
            ("conin$.csv", "CONIN$"),
            ("COM\u{b9}.csv", "COM\u{b9}"),
        ] {
            check_name(path, Err(device));
        }
        let err = check_export_path(Path::new("nul.csv")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the file name \"nul.csv\" is reserved on Windows (NUL is a device name, whatever the \
             extension): choose another name, such as \"nul-export.csv\""
        );
    }

    #[test]
    fn refuses_characters_windows_does_not_allow() {
        for (path, shown) in [
            ("a<b.csv", "'<'"),
            ("a>b.csv", "'>'"),
            ("ward 7: AMU.csv", "':'"),
            ("\"quoted\".csv", "'\"'"),
            ("a|b.csv", "'|'"),
            ("what?.csv", "'?'"),
            ("*.csv", "'*'"),
            ("tab\there.csv", "a control character (U+0009)"),
            ("new\nline.csv", "a control character (U+000A)"),
            ("nul\u{0}.csv", "a control character (U+0000)"),
            (r"C:\exports\a?b.csv", "'?'"),
            // A colon after the drive letter is the drive; one in the file name is not allowed.
            (r"C:\exports\report.csv:hidden", "':'"),
            ("C:report.csv", "':'"),
        ] {
            check_name(path, Err(shown));
        }
        let err = check_export_path(Path::new(r"C:\exports\what?.csv")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the file name \"what?.csv\" contains '?', which Windows does not allow in file names: \
             use letters, digits, spaces, '-' and '_'"
        );
    }

    #[test]
    fn refuses_names_ending_with_a_space_or_a_dot() {
        check_name("handover.csv ", Err("ends with a space"));
        check_name(r"C:\exports\handover.", Err("ends with a dot"));
        check_name("handover...", Err("ends with a dot"));
        check_name("/tmp/handover .csv", Ok(()));
    }

    #[test]
    fn refuses_a_path_without_a_file_name() {
        for path in [
            "",
            r"C:\exports\",
            "/home/me/exports/",
            ".",
            "..",
            r"C:\exports\..",
            "C:/",
        ] {
            check_name(path, Err("names a folder, not a file"));
        }
    }

    #[test]
    fn refuses_names_longer_than_windows_allows() {
        let longest = format!("{}.csv", "a".repeat(251));
        check_name(&longest, Ok(()));
        check_name(&format!("b{longest}"), Err("is 256 characters long"));
        // Counted in UTF-16 units, as NTFS does: each of these is two.
        check_name(
            &format!("{}.csv", "😀".repeat(126)),
            Err("is 256 characters long"),
        );
    }

    #[cfg(not(windows))]
    #[test]
    fn output_leads_somewhere_outside_windows() {
        assert!(use_parent_console());
    }

    #[test]
    fn the_warning_reads_as_a_sentence_after_the_path() {
        let w = network_warning("cifs mounted at /mnt/share");
        assert_eq!(
            w,
            "is on a network filesystem (cifs mounted at /mnt/share): SQLite cannot guarantee \
             that saves survive a crash there; keep the database on this PC's own disk"
        );
    }

    #[test]
    fn a_file_not_yet_created_is_judged_by_its_folder() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("not/yet/stopgap.db");
        let resolved = nearest_existing_canonical(&file).unwrap();
        assert_eq!(resolved, std::fs::canonicalize(dir.path()).unwrap());
        // A temporary folder on this machine's disk: no warning.
        assert_eq!(network_filesystem(&file), None);
    }

    #[test]
    fn a_relative_path_is_resolved_from_the_working_directory() {
        let resolved = nearest_existing_canonical(Path::new("no-such-dir/stopgap.db")).unwrap();
        assert_eq!(
            resolved,
            std::fs::canonicalize(std::env::current_dir().unwrap()).unwrap()
        );
    }

    #[cfg(not(any(windows, target_os = "macos")))]
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
