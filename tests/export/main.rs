//! Exports (CSV, xlsx, HL7 v2, FHIR R4), their checks and golden files, imports and batches.
//!
//! One test binary for the group (one link instead of one per file: faster CI, a fraction of the disk).

#[path = "../common/mod.rs"]
mod common;

mod batches;
mod cli;
mod concurrency;
mod fhir;
mod fhir_golden;
mod hl7;
mod hl7_cli_check;
mod hl7_golden;
mod import;
mod pipeline;
mod recovery;
mod roundtrip;
mod sealed;
mod wards;
mod xlsx;
