//! Gives `stopgap.exe` its icon (shown by Explorer, shortcuts and the taskbar) and its version
//! information (the file's Properties > Details tab). Does nothing when the target is not Windows.
//!
//! Cross-compiling from Linux uses MinGW-w64's `x86_64-w64-mingw32-windres` and `-ar` (Debian
//! package `gcc-mingw-w64-x86-64`, which also compiles the bundled SQLite); on Windows,
//! `windres` (GNU toolchain) or the Windows SDK's `rc.exe` (MSVC).

use std::io;

fn main() -> io::Result<()> {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=assets/icon.ico");
    // A build script runs on the machine doing the build: ask Cargo for the target's OS.
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("windows") {
        return Ok(());
    }
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").map_err(io::Error::other)?;
    let icon = std::path::Path::new(&manifest_dir)
        .join("assets")
        .join("icon.ico");
    let icon = icon
        .to_str()
        .ok_or_else(|| io::Error::other("the source folder's path is not valid Unicode"))?;
    let mut resource = winresource::WindowsResource::new();
    resource
        .set_icon(icon)
        // Windows shows FileDescription as the program's name (Task Manager, "Open with").
        .set("FileDescription", "Stopgap")
        .set("ProductName", "Stopgap")
        .set(
            "Comments",
            "Urgent blood-sample requests while the laboratory system is down",
        )
        .set(
            "LegalCopyright",
            "Copyright (c) 2026 The Stopgap developers",
        );
    // Only the app binary gets the resources, not the test and bench executables.
    resource.compile_for("stopgap").map_err(|e| {
        io::Error::other(format!(
            "could not embed the icon in stopgap.exe ({e}): install the resource compiler \
             (Debian: apt-get install gcc-mingw-w64-x86-64; Windows: the Windows SDK)"
        ))
    })
}
