//! The handover thread: visits the handover folder when asked ("Send and receive now") and, when
//! the folder is watched, every N minutes, on its own connection, so a large bundle never holds
//! up a frame. Each visit writes this PC's outbox (unless it is up to date) and imports every new
//! bundle; the window takes the report, refreshes what imports changed and shows it on the tab.

use std::path::Path;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::{Notice, StopgapApp};
use crate::error::error_chain;
use crate::files::size_in_words;
use crate::handover::{self, ReceivedOutcome, Seen, Sent};
use crate::store::{HandoverSettings, Store, StoreError};
use crate::ui::handover::{FileLine, Visit, parse_settings};

/// Recorded as the user of imports the watch makes by itself: no person asked for them.
pub const WATCH_USER: &str = "Stopgap (watched folder)";

enum Order {
    /// New settings: take them (a watched folder is visited at once).
    Settings(HandoverSettings),
    /// Visit the folder now, for `user`.
    Now {
        settings: HandoverSettings,
        send: bool,
        receive: bool,
        user: String,
    },
}

/// What the window is told after each visit.
pub(super) struct Report {
    pub visit: Visit,
    pub refused: Vec<(String, String)>,
    /// Some import stored new events: the window's cached rows are stale.
    pub changed: bool,
}

/// The handover thread, or none (before the store opens, and in tests that build the app
/// directly without a file).
#[derive(Default)]
pub(super) struct Exchanger {
    orders: Option<Sender<Order>>,
    reports: Option<Receiver<Report>>,
    thread: Option<JoinHandle<()>>,
}

impl Exchanger {
    /// Starts the thread for the database at `path` with the stored `settings`.
    pub(super) fn start(path: &Path, settings: HandoverSettings) -> Self {
        let (order_tx, order_rx) = mpsc::channel();
        let (report_tx, report_rx) = mpsc::channel();
        let path = path.to_owned();
        let thread = std::thread::spawn(move || run(&path, settings, &order_rx, &report_tx));
        Self {
            orders: Some(order_tx),
            reports: Some(report_rx),
            thread: Some(thread),
        }
    }

    fn order(&self, order: Order) -> bool {
        self.orders
            .as_ref()
            .is_some_and(|tx| tx.send(order).is_ok())
    }

    /// The reports that came since the last frame.
    pub(super) fn poll(&mut self) -> Vec<Report> {
        let Some(rx) = &self.reports else {
            return Vec::new();
        };
        let mut out = Vec::new();
        loop {
            match rx.try_recv() {
                Ok(r) => out.push(r),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    self.reports = None;
                    break;
                }
            }
        }
        out
    }

    /// Stops the thread (the app is closing): a visit under way finishes first.
    pub(super) fn shutdown(&mut self) {
        self.orders = None;
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            eprintln!("stopgap: the handover thread stopped unexpectedly");
        }
    }
}

fn run(
    path: &Path,
    mut settings: HandoverSettings,
    orders: &Receiver<Order>,
    reports: &Sender<Report>,
) {
    // Its own connection: an import writes for seconds, and the window's saves wait for it at
    // most the busy timeout, never a frame.
    let mut store = match Store::open_beside(path) {
        Ok(s) => s,
        Err(e) => {
            let _gone = reports.send(failed_report(&e, false));
            return;
        }
    };
    let mut seen = Seen::default();
    let interval = |s: &HandoverSettings| Duration::from_secs(u64::from(s.interval_minutes) * 60);
    // A watched folder is visited as the app starts: what came while it was closed goes in.
    let mut next = Instant::now();
    loop {
        let wait = if settings.watch {
            next.saturating_duration_since(Instant::now())
        } else {
            Duration::from_secs(24 * 3600)
        };
        let (send_out, take_in, user, automatic) = match orders.recv_timeout(wait) {
            Ok(Order::Settings(s)) => {
                settings = s;
                next = Instant::now();
                continue;
            }
            Ok(Order::Now {
                settings: s,
                send,
                receive,
                user,
            }) => {
                settings = s;
                (send, receive, user, false)
            }
            Err(RecvTimeoutError::Timeout) if settings.watch => {
                (true, true, WATCH_USER.to_owned(), true)
            }
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => return,
        };
        let asked = (send_out, take_in);
        let report = visit(&mut store, &settings, &mut seen, asked, &user, automatic);
        if reports.send(report).is_err() {
            return;
        }
        next = Instant::now() + interval(&settings);
    }
}

fn failed_report(e: &dyn std::error::Error, automatic: bool) -> Report {
    Report {
        visit: Visit {
            at: super::clock(),
            automatic,
            sent: None,
            received: Vec::new(),
            failed: Some(error_chain(e)),
            conflicts: Vec::new(),
        },
        refused: Vec::new(),
        changed: false,
    }
}

fn file_name(p: &Path) -> String {
    p.file_name().map_or_else(
        || p.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// One visit (`handover::visit`), in the words the tab shows.
fn visit(
    store: &mut Store,
    settings: &HandoverSettings,
    seen: &mut Seen,
    asked: (bool, bool),
    user: &str,
    automatic: bool,
) -> Report {
    let now = super::clock();
    let mut v = Visit {
        at: now,
        automatic,
        sent: None,
        received: Vec::new(),
        failed: None,
        conflicts: Vec::new(),
    };
    let Some(folder) = &settings.folder else {
        v.failed =
            Some("no handover folder is set: type one (e.g. the USB stick) and save".to_owned());
        return Report {
            visit: v,
            refused: Vec::new(),
            changed: false,
        };
    };
    let visited = handover::visit(store, folder, user, seen, asked, now);
    let mut changed = false;
    match visited.received {
        Some(Ok(files)) => {
            for r in files {
                let name = file_name(&r.path);
                v.received.push(match r.outcome {
                    Ok(ReceivedOutcome::Imported(i)) => {
                        changed |= i.new_events > 0;
                        v.conflicts.extend(i.conflicts);
                        FileLine {
                            name,
                            ok: true,
                            text: format!(
                                "{} new event(s) of {} in the bundle; {} request(s) new here, {} changed",
                                i.new_events, i.events, i.requests_added, i.requests_changed
                            ),
                        }
                    }
                    Ok(ReceivedOutcome::AlreadyImported) => FileLine {
                        name,
                        ok: true,
                        text: "taken in before: nothing new".to_owned(),
                    },
                    Err(e) => FileLine {
                        name,
                        ok: false,
                        text: format!("refused, nothing of it taken in: {}", error_chain(&e)),
                    },
                });
            }
        }
        Some(Err(e)) => v.failed = Some(error_chain(&e)),
        None => {}
    }
    v.sent = visited.sent.map(|sent| match sent {
        Ok(Sent::Written(made)) => FileLine {
            name: file_name(&made.path),
            ok: true,
            text: format!(
                "{} event(s) of {} request(s) ({})",
                made.events,
                made.requests,
                size_in_words(made.bytes)
            ),
        },
        Ok(Sent::UpToDate { path }) => FileLine {
            name: file_name(&path),
            ok: true,
            text: "already up to date: nothing new since it was written".to_owned(),
        },
        Err(e) => FileLine {
            name: "this PC's bundle".to_owned(),
            ok: false,
            text: format!("not written: {}", error_chain(&e)),
        },
    });
    let refused = seen
        .refused()
        .iter()
        .map(|(p, why)| (file_name(p), why.clone()))
        .collect();
    Report {
        visit: v,
        refused,
        changed,
    }
}

impl StopgapApp {
    /// Starts the handover thread for the open store.
    pub(super) fn start_exchanger(&mut self) {
        if let Some(settings) = self.store().and_then(|s| s.handover_settings().ok()) {
            self.exchanger = Exchanger::start(&self.db_path, settings);
        }
    }

    /// Takes the thread's reports: refreshes the cached rows after an import and keeps each
    /// visit for the tab. Returns whether anything came.
    pub(super) fn poll_exchanger(&mut self, now: DateTime<Utc>) -> bool {
        let reports = self.exchanger.poll();
        let came = !reports.is_empty();
        for r in reports {
            if r.changed
                && let Ok(ready) = &mut self.ready
                && let Err(e) = super::dispatch::refresh(ready, &mut self.screens.queue, now)
            {
                self.notice = Some(Notice::error(error_chain(&e)));
            }
            if r.changed {
                self.screens.dashboard.refresh();
            }
            if r.changed
                && let Ok(ready) = &self.ready
                && let Ok(waiting) = ready.store.early_receipts()
            {
                // Samples received from paper forms may have been linked by the import.
                self.screens.reception.waiting = waiting;
            }
            self.screens.handover.refused = r.refused;
            self.screens.handover.add_visit(r.visit);
        }
        came
    }

    /// Saves the typed handover settings (the answer shown beside them) and hands them to the
    /// thread. Returns the settings when they were saved.
    pub(super) fn set_handover(
        &mut self,
        folder: &str,
        watch: bool,
        interval: &str,
        user: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<HandoverSettings>, StoreError> {
        let Ok(ready) = &mut self.ready else {
            return Ok(None);
        };
        let state = &mut self.screens.handover;
        match parse_settings(folder, watch, interval) {
            Err(why) => {
                state.message = Some(Err(why));
                Ok(None)
            }
            Ok(settings) => {
                if settings != state.stored {
                    ready.store.set_handover_settings(&settings, user, now)?;
                    state.stored = settings.clone();
                    state.message = Some(Ok(match (&settings.folder, settings.watch) {
                        (Some(f), true) => format!(
                            "Saved: {} is visited every {} minutes.",
                            f.display(),
                            settings.interval_minutes
                        ),
                        (Some(f), false) => format!("Saved: {} (not watched).", f.display()),
                        (None, _) => "Saved: no handover folder.".to_owned(),
                    }));
                    self.exchanger.order(Order::Settings(settings.clone()));
                }
                Ok(Some(settings))
            }
        }
    }

    /// Saves the typed settings if they changed, then asks the thread to visit the folder now.
    pub(super) fn handover_now(
        &mut self,
        typed: (&str, bool, &str),
        send: bool,
        receive: bool,
        user: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let Some(settings) = self.set_handover(typed.0, typed.1, typed.2, user, now)? else {
            return Ok(());
        };
        if settings.folder.is_none() {
            self.screens.handover.message = Some(Err(
                "Type the handover folder first (e.g. the USB stick).".to_owned(),
            ));
            return Ok(());
        }
        let asked = self.exchanger.order(Order::Now {
            settings,
            send,
            receive,
            user: user.to_owned(),
        });
        if asked {
            self.screens.handover.busy = true;
        } else {
            self.screens.handover.message = Some(Err(
                "The handover thread has stopped: restart Stopgap to hand over".to_owned(),
            ));
        }
        Ok(())
    }
}
