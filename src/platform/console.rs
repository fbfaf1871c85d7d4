//! Reaching the console a Windows GUI program was started from, and telling the user why the app
//! could not start when there is none (an error box). Elsewhere standard output and standard
//! error are already there.

#[cfg(windows)]
use super::win;

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

#[cfg(all(test, not(windows)))]
mod tests {
    use super::*;

    #[test]
    fn output_leads_somewhere_outside_windows() {
        assert!(use_parent_console());
    }
}
