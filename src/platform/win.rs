//! The Windows API calls Stopgap makes, each in a function of its own: the only `unsafe` code in
//! Stopgap. They cross into C, so the compiler cannot check them; the SAFETY comments say why each
//! call is sound.

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
pub(super) fn is_network_drive(letter: char) -> bool {
    let root = wide(&format!("{letter}:\\"));
    // SAFETY: `root` is a NUL-terminated UTF-16 string that lives until the call returns;
    // GetDriveTypeW only reads it and keeps no pointer to it.
    let kind = unsafe { GetDriveTypeW(root.as_ptr()) };
    kind == DRIVE_REMOTE
}

/// Whether this process has a standard output or standard error handle (a console, file or
/// pipe).
pub(super) fn has_std_output() -> bool {
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
pub(super) fn attach_parent_console() -> bool {
    // SAFETY: AttachConsole takes a constant and no pointers. It fails harmlessly (returns 0)
    // when the parent has no console or this process already has one. Rust's standard output
    // asks Windows for its handle on every write, so it uses the console from now on.
    unsafe { AttachConsole(ATTACH_PARENT_PROCESS) != 0 }
}

/// Shows a modal error box and returns when the user closes it.
#[expect(unsafe_code, reason = "MessageBoxW is a Windows API call")]
pub(super) fn error_box(title: &str, text: &str) {
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
