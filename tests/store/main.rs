//! The SQLite store, queue, reconcile, close-out, identity checks, crash safety and the CLI.
//!
//! One test binary for the group (one link instead of one per file: faster CI, a fraction of the disk).

#[path = "../common/mod.rs"]
mod common;

mod audit;
mod backup;
mod cli;
mod cli_auth;
mod cli_errors;
mod closeout;
mod crash;
mod damage;
mod early;
mod fuzz_corpus;
mod handover;
mod handover_folder;
mod identity;
mod inputs;
mod open;
mod phoned;
mod power;
mod queue;
mod reconcile;
mod security;
mod settle;
mod state_machine;
mod stats;
mod store;
mod wards;
