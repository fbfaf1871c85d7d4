//! Stopgap keeps urgent blood testing safe while a hospital's laboratory information system
//! (LIMS) is down: ward staff log sample requests in a structured, checked form; the lab tracks
//! them; everything is exported for re-entry once the LIMS is back.
//!
//! The map (see ARCHITECTURE.md):
//! - [`domain`]: identifiers (NHS number, downtime ID), the request model and its validation,
//!   the status lifecycle, events and their fold, the test catalogue, warnings. Pure: no I/O, no
//!   clock, no egui.
//! - [`store`]: the only code that touches SQLite: opening safely, migrations, saving requests and
//!   events in one transaction, queries, verification.
//! - [`export`]: re-entry exports (CSV, HL7 v2 OML^O21/ORM^O01, FHIR R4 Bundle) per receiving-LIMS
//!   profile. Pure, deterministic writers into any `io::Write`: no files, no clock, no egui.
//! - [`backlog`]: after recovery: export a batch to a file and record it, reproduce a batch,
//!   write the close-out report. Shared by the command line and the app; `now` is a parameter.
//! - [`demo`]: synthetic training data (NHS numbers from the 999 test range only).
//! - [`error`]: an error and its causes as one line, each cause said once ([`error::error_chain`]).
//! - [`files`]: atomic file writes (temporary file, fsync, rename, fsync the folder), never over
//!   an existing file unless asked, with the SHA-256 of what was written; Windows-safe file names.
//! - [`handover`]: handover bundles, the files in which PCs exchange events (format, checked
//!   reading); [`domain::merge`] folds what they bring.
//! - [`import`]: requests typed elsewhere, in the CSV export's columns, validated as the form does.
//! - [`report`]: the close-out report (every issued downtime ID and its final state) as CSV or PDF.
//! - [`platform`]: what differs by operating system (data directory, network-filesystem and
//!   network-drive refusal, opening a folder, the console on Windows).
//! - [`cli`]: command-line commands over the same library calls.
//! - [`ui`]: the egui app, a thin layer that turns clicks into actions run against the store.
//!
//! Invariants: `domain` and `store` never use egui; only `store` touches SQLite; nothing outside
//! `ui`, `cli` and `main` reads the clock; every change to a request is an event committed in the
//! same transaction as the state it changes; clinical rows are never deleted.

pub mod backlog;
pub mod cli;
pub mod demo;
pub mod domain;
pub mod error;
pub mod export;
pub mod files;
#[doc(hidden)]
pub mod fuzzing;
pub mod handover;
pub mod import;
pub mod platform;
pub mod report;
pub mod store;
pub mod ui;
