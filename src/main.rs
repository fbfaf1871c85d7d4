//! The shell: parses the command line, reads the clock, runs the app or a command, and turns
//! errors into exit codes. Everything else lives in the library.

// A Windows release build is a GUI program, so no console window opens behind the app; commands
// run from a console still print there (`platform::use_parent_console`). Debug builds stay
// console programs, so `cargo run` shows logs and panics.
#![cfg_attr(all(windows, not(debug_assertions)), windows_subsystem = "windows")]

use std::process::ExitCode;

use clap::Parser;
use stopgap::cli::{self, Cli, Outcome};
use stopgap::error::error_chain;
use stopgap::platform;

fn main() -> ExitCode {
    let args = match Cli::try_parse() {
        Ok(args) => args,
        Err(e) => {
            // --help, --version or a mistake in the arguments: clap prints it and exits (0 or 2).
            platform::use_parent_console();
            e.exit()
        }
    };
    let opens_window = args.command.is_none();
    if !opens_window {
        platform::use_parent_console();
    }
    if let Some(warning) = platform::time_zone_warning() {
        eprintln!("stopgap: warning: {warning}");
    }
    // Every error is reported here, once, with each of its causes said once.
    match run(args) {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Ok(Outcome::Problems) => ExitCode::from(1),
        Err(e) if opens_window => {
            platform::report_app_error(&error_chain(&*e));
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("stopgap: error: {}", error_chain(&*e));
            ExitCode::from(2)
        }
    }
}

#[expect(
    clippy::disallowed_methods,
    reason = "the shell is where the clock is read"
)]
fn run(args: Cli) -> anyhow::Result<Outcome> {
    let db = cli::db_path(args.db)?;
    match args.command {
        None => {
            stopgap::ui::run(db)?;
            Ok(Outcome::Success)
        }
        Some(command) => {
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            let user = args.user.as_deref();
            let outcome = cli::run(command, &db, user, chrono::Utc::now(), &mut out)
                .and_then(|o| Ok(std::io::Write::flush(&mut out).map(|()| o)?));
            match outcome {
                // `stopgap list | head`: the reader has all it wanted, which is a normal end.
                Err(e) if cli::is_broken_pipe(&e) => Ok(Outcome::Success),
                other => other,
            }
        }
    }
}
