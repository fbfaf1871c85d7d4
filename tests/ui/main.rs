//! The app driven through egui_kittest: ward form, queue, lab screens, shell, fonts.
//!
//! One test binary for the group (one link instead of one per file: faster CI, a fraction of the disk).

#[path = "../common/mod.rs"]
mod common;

mod access;
mod app;
mod backlog;
mod backup;
mod conflicts;
mod dashboard;
mod fonts;
mod form;
mod handover;
mod phoned;
mod queue;
mod reception;
mod reception_early;
mod shell;
mod wards;
