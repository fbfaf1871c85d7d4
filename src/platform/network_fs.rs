//! Whether a path is on a network filesystem, where SQLite cannot promise that a save survives a
//! crash: the mount table (`/proc/self/mountinfo`) on Linux; UNC paths and drive letters mapped
//! to a share on Windows. The parsing is pure (it takes the mount table or the path as text), so
//! it is tested on any machine; only [`network_filesystem`] reads `/proc` or asks Windows.

use std::path::{Path, PathBuf};

#[cfg(windows)]
use super::win;

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
}
