//! Backups from the app: every N minutes and once on exit, on a thread of its own with its own
//! connection (a backup of a large file takes seconds and must never hold up a frame), to the
//! folder set in Settings. The top bar shows the last good backup, or that none is set, or why
//! the last one failed.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::StopgapApp;
use crate::store::{BackupSettings, Store, StoreError};

/// What the top bar says about backups.
#[derive(Debug, Clone, PartialEq, Default)]
pub(super) enum BackupStatus {
    /// Not known yet (the store is not open).
    #[default]
    Unknown,
    /// No backup folder is set: backups are off.
    NoFolder,
    /// The folder is set and no backup has been made yet.
    NoneYet,
    /// The last good backup.
    Made { at: DateTime<Utc>, path: PathBuf },
    /// The last attempt failed (with the last good one, if any).
    Failed {
        why: String,
        last_good: Option<DateTime<Utc>>,
    },
}

impl BackupStatus {
    /// What the store says before the thread has made any backup.
    pub(super) fn of(store: &Store) -> Self {
        let settings = store.backup_settings();
        let last = store.last_backup();
        match (settings, last) {
            (Ok(s), _) if s.folder.is_none() => BackupStatus::NoFolder,
            (Ok(_), Ok(Some(b))) => BackupStatus::Made {
                at: b.at,
                path: b.path,
            },
            (Ok(_), Ok(None)) => BackupStatus::NoneYet,
            (Err(e), _) | (_, Err(e)) => BackupStatus::Failed {
                why: crate::error::error_chain(&e),
                last_good: None,
            },
        }
    }

    /// The last good backup for the damaged-file screen, when it is known.
    pub(super) fn last(&self) -> Option<crate::ui::damaged::LastBackup<'_>> {
        match self {
            BackupStatus::Made { at, path } => Some(crate::ui::damaged::LastBackup {
                at: *at,
                path: Some(path),
            }),
            BackupStatus::Failed {
                last_good: Some(at),
                ..
            } => Some(crate::ui::damaged::LastBackup {
                at: *at,
                path: None,
            }),
            _ => None,
        }
    }

    fn last_good(&self) -> Option<DateTime<Utc>> {
        match self {
            BackupStatus::Made { at, .. } => Some(*at),
            BackupStatus::Failed { last_good, .. } => *last_good,
            _ => None,
        }
    }
}

enum Order {
    /// The settings changed: take them, and back up now (so a new folder is tried at once).
    Settings(BackupSettings),
    /// Back up once more and stop (the app is closing).
    Shutdown,
}

enum Report {
    Made { at: DateTime<Utc>, path: PathBuf },
    NoFolder,
    Failed(String),
}

/// The backup thread, or none (before the store opens, and in tests that build the app
/// directly).
#[derive(Default)]
pub(super) struct Backups {
    pub(super) status: BackupStatus,
    orders: Option<Sender<Order>>,
    reports: Option<Receiver<Report>>,
    thread: Option<JoinHandle<()>>,
    /// A backup was asked for (new settings) and its report is awaited: the window redraws
    /// until it comes, so the top bar says at once what happened.
    pub(super) awaiting: std::cell::Cell<bool>,
}

impl Backups {
    /// Starts backing up the database at `path` as `settings` say.
    pub(super) fn start(path: &Path, settings: BackupSettings, status: BackupStatus) -> Self {
        let (order_tx, order_rx) = mpsc::channel();
        let (report_tx, report_rx) = mpsc::channel();
        let path = path.to_owned();
        let thread = std::thread::spawn(move || run(&path, settings, &order_rx, &report_tx));
        Self {
            status,
            orders: Some(order_tx),
            reports: Some(report_rx),
            thread: Some(thread),
            awaiting: std::cell::Cell::new(false),
        }
    }

    /// Takes the thread's reports; returns whether the status changed.
    pub(super) fn poll(&mut self) -> bool {
        let Some(rx) = &self.reports else {
            return false;
        };
        let mut changed = false;
        loop {
            let report = match rx.try_recv() {
                Ok(r) => r,
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    self.reports = None;
                    break;
                }
            };
            self.status = match report {
                Report::Made { at, path } => BackupStatus::Made { at, path },
                Report::NoFolder => BackupStatus::NoFolder,
                Report::Failed(why) => BackupStatus::Failed {
                    why,
                    last_good: self.status.last_good(),
                },
            };
            changed = true;
            self.awaiting.set(false);
        }
        changed
    }

    /// Tells the thread of new settings (it backs up at once with them).
    fn settings_changed(&self, settings: BackupSettings) {
        self.awaiting.set(true);
        if let Some(tx) = &self.orders
            && tx.send(Order::Settings(settings)).is_err()
        {
            eprintln!("stopgap: the backup thread has stopped; restart Stopgap to back up");
        }
    }

    /// Makes the backup on exit and waits for it.
    pub(super) fn shutdown(&mut self) {
        if let Some(tx) = self.orders.take() {
            // A thread that already stopped has reported why; there is nothing more to do.
            let _stopped = tx.send(Order::Shutdown);
        }
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            eprintln!("stopgap: the backup thread stopped unexpectedly; no backup on exit");
        }
        if let Some(Report::Failed(why)) = self.reports.as_ref().and_then(|rx| rx.try_iter().last())
        {
            eprintln!("stopgap: the backup on exit failed: {why}");
        }
    }
}

/// The thread: a backup every `interval_minutes`, after every change of the settings, and on
/// shutdown (or when the app is gone).
fn run(
    path: &Path,
    mut settings: BackupSettings,
    orders: &Receiver<Order>,
    reports: &Sender<Report>,
) {
    // Its own connection, so a backup never waits for the window's, nor the window for it;
    // the whole-file check is the integrity thread's (and each backup checks its own copy).
    let mut store = match Store::open_beside(path) {
        Ok(s) => s,
        Err(e) => {
            // The window may already be gone; nobody is left to tell.
            let _gone = reports.send(Report::Failed(crate::error::error_chain(&e)));
            return;
        }
    };
    let interval = |s: &BackupSettings| Duration::from_secs(u64::from(s.interval_minutes) * 60);
    let mut next = Instant::now() + interval(&settings);
    loop {
        let last = match orders.recv_timeout(next.saturating_duration_since(Instant::now())) {
            Ok(Order::Settings(s)) => {
                settings = s;
                false
            }
            Err(RecvTimeoutError::Timeout) => false,
            Ok(Order::Shutdown) | Err(RecvTimeoutError::Disconnected) => true,
        };
        let report = backup_once(&mut store, &settings);
        if reports.send(report).is_err() || last {
            return;
        }
        next = Instant::now() + interval(&settings);
    }
}

fn backup_once(store: &mut Store, settings: &BackupSettings) -> Report {
    let Some(folder) = &settings.folder else {
        return Report::NoFolder;
    };
    match store.backup_to(folder, super::clock()) {
        Ok(made) => Report::Made {
            at: made.at,
            path: made.path,
        },
        Err(e) => Report::Failed(crate::error::error_chain(&e)),
    }
}

/// The backup settings as typed in Settings, checked.
pub fn parse_backup_settings(
    folder: &str,
    interval: &str,
    keep: &str,
) -> Result<BackupSettings, String> {
    let number = |label: &str, typed: &str| {
        typed
            .trim()
            .parse::<u32>()
            .map_err(|_| format!("{label} '{}' is not a whole number", typed.trim()))
    };
    let folder = folder.trim();
    let settings = BackupSettings {
        folder: (!folder.is_empty()).then(|| PathBuf::from(folder)),
        interval_minutes: number("Minutes between backups", interval)?,
        keep: number("Backups kept", keep)?,
    };
    settings.check().map_err(|e| e.to_string())?;
    if let Some(f) = &settings.folder
        && !f.is_dir()
    {
        return Err(format!(
            "the folder {} does not exist: plug in the USB stick or choose another",
            f.display()
        ));
    }
    Ok(settings)
}

impl StopgapApp {
    /// Saves the backup settings typed in Settings (the answer shown beside them) and hands them
    /// to the backup thread, which backs up at once.
    pub(super) fn set_backup(
        &mut self,
        typed: [String; 3],
        user: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let Ok(ready) = &mut self.ready else {
            return Ok(());
        };
        let [folder, interval, keep] = typed;
        let state = &mut self.screens.settings;
        state.backup_message = Some(match parse_backup_settings(&folder, &interval, &keep) {
            Err(e) => Err(e),
            Ok(settings) => {
                ready.store.set_backup_settings(&settings, user, now)?;
                state.backup_stored = settings.folder.is_some();
                self.backups.status = BackupStatus::of(&ready.store);
                let said = match &settings.folder {
                    Some(f) => format!(
                        "Backups go to {} every {} minutes; the newest {} are kept. Backing up now…",
                        f.display(),
                        settings.interval_minutes,
                        settings.keep
                    ),
                    None => "Backups are off: no folder is set.".to_owned(),
                };
                self.backups.settings_changed(settings);
                Ok(said)
            }
        });
        Ok(())
    }
}
