//! The shell: parses the command line, reads the clock, runs the app or a command, and turns
//! errors into exit codes. Everything else lives in the library.

use std::process::ExitCode;

use clap::Parser;
use stopgap::cli::{self, Cli, Outcome};

fn main() -> ExitCode {
    let args = Cli::parse();
    match run(args) {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Ok(Outcome::Problems) => ExitCode::from(1),
        Err(e) => {
            eprintln!("stopgap: error: {e:#}");
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
            let outcome = cli::run(command, &db, chrono::Utc::now(), &mut out)?;
            std::io::Write::flush(&mut out)?;
            Ok(outcome)
        }
    }
}
