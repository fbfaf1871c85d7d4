//! The problem screen: the database could not be opened safely. Says what happened and what to
//! do, and never touches the file.

use std::path::Path;

use egui::{RichText, Ui};

use chrono::{DateTime, Local, Utc};

use super::widgets;
use crate::store::StoreError;

/// The last good backup, when it is known: when it was made and where it is.
#[derive(Debug, Clone, Copy)]
pub struct LastBackup<'a> {
    pub at: DateTime<Utc>,
    pub path: Option<&'a Path>,
}

/// What the person at the keyboard should do about an error opening the store.
pub fn what_to_do(error: &StoreError) -> &'static str {
    match error {
        StoreError::Damaged { .. } => {
            "Do not keep using this file. Close Stopgap, copy the database file aside for IT, and use the paper downtime forms or another workstation until IT has looked at it. The way back is the last good backup: `stopgap restore FILE` checks it and keeps this file aside. Requests saved since that backup must be typed again from their paper forms."
        }
        StoreError::NetworkFilesystem { .. } => {
            "Stopgap must keep its database on this computer's own disk, not a network drive (it could lose requests). Start it with --db pointing to a local folder, or ask IT."
        }
        StoreError::NewerSchema { .. } => {
            "This database was written by a newer version of Stopgap. Use that newer version on this workstation; do not try to open it with this one."
        }
        StoreError::UnsafePragma { .. } => {
            "The database could not be set up to write safely to disk. Close Stopgap and ask IT; use the paper downtime forms meanwhile."
        }
        StoreError::DiskFull => {
            "The file is not damaged. Free some space on this computer's disk (old exports, downloads, the recycle bin), then start Stopgap again. Use the paper downtime forms meanwhile."
        }
        StoreError::CannotCreate { .. } | StoreError::ReadOnlyNeedsUpgrade(_) => {
            "The file is not damaged. Start Stopgap with --db pointing to a folder on this computer's own disk that you can write, or ask IT."
        }
        StoreError::NotAFile { .. } | StoreError::Missing { .. } | StoreError::Empty { .. } => {
            "Check the database path given with --db: it must be a Stopgap database file."
        }
        StoreError::CannotRead { .. } => {
            "This user cannot read the database file. Sign in to Windows as the user who set Stopgap up, or ask IT to check the file's permissions."
        }
        _ => {
            "Close Stopgap and ask IT. Use the paper downtime forms or another workstation meanwhile."
        }
    }
}

pub fn problem_ui(
    ui: &mut Ui,
    error: &StoreError,
    db_path: &Path,
    last_backup: Option<LastBackup<'_>>,
) {
    ui.add_space(40.0);
    ui.vertical_centered(|ui| {
        ui.set_max_width(760.0);
        ui.label(
            RichText::new("Stopgap cannot open its database")
                .size(30.0)
                .strong()
                .color(widgets::ERROR_RED),
        );
        ui.add_space(12.0);
        if !db_path.as_os_str().is_empty() {
            ui.label(RichText::new(db_path.display().to_string()).monospace());
        }
        ui.add_space(8.0);
        ui.label(RichText::new(crate::error::error_chain(error)).size(17.0));
        ui.add_space(16.0);
        ui.label(RichText::new("What to do").size(20.0).strong());
        ui.label(RichText::new(what_to_do(error)).size(17.0));
        if let StoreError::Damaged { .. } = error {
            ui.add_space(12.0);
            ui.label(RichText::new("The last good backup").size(20.0).strong());
            let said = match last_backup {
                Some(LastBackup { at, path }) => format!(
                    "Made {}{}.",
                    at.with_timezone(&Local).format("%H:%M on %a %d/%m/%Y"),
                    path.map(|p| format!(", at {}", p.display()))
                        .unwrap_or_default()
                ),
                None => "Not known here: look in the backup folder set in Settings (files named stopgap-SITE-WORKSTATION-TIME.db), or run `stopgap backups`.".to_owned(),
            };
            ui.label(RichText::new(said).size(17.0));
            ui.label(
                RichText::new(
                    "A damaged write-ahead log (the -wal file beside the database) can lose saves that were confirmed, without any error. A checked backup is the defence.",
                )
                .size(17.0),
            );
        }
        ui.add_space(16.0);
        ui.label(RichText::new("Nothing has been changed in the file.").color(widgets::MUTED));
    });
}
