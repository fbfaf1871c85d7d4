//! `stopgap export --check`: what a strict receiver would say of the next export, with nothing
//! written and nothing recorded.

use std::io::Write;

use anyhow::{Result, anyhow};
use chrono::{DateTime, Local, Utc};

use super::{ExportArgs, Outcome};
use crate::backlog::{collected_window, export_context, load_profile};
use crate::export::check::{Finding, check_hl7};
use crate::export::check_fhir::check_fhir;
use crate::export::{ExportContext, ExportError, Format, write_export};
use crate::store::{ExportOptions, ExportSelection, Store, batch_id_text};

/// Runs the pre-flight and the format's conformance check on the requests the export would take
/// now, and lists every finding. Exit 1 when there is one.
pub(super) fn export_check(
    store: &Store,
    args: &ExportArgs,
    now: DateTime<Utc>,
    out: &mut dyn Write,
) -> Result<Outcome> {
    let format = args
        .format
        .ok_or_else(|| anyhow!("--format is required: csv, hl7-oml, hl7-orm, fhir or xlsx"))?;
    let profile = load_profile(args.profile.as_deref())?;
    let (collected_from, collected_before) = collected_window(args.from, args.to, &Local)?;
    let selection = ExportSelection {
        statuses: args.statuses.clone(),
        ward: args.ward.clone(),
        priorities: args.priorities.clone(),
        collected_from,
        collected_before,
        include_exported: args.all,
    };
    let options = ExportOptions {
        per_test: args.per_test,
        excel_bom: args.excel,
        mllp: args.mllp,
    };
    let states = store.export_candidates(&selection)?;
    let setup = store
        .setup()?
        .ok_or_else(|| anyhow!("the workstation is not set up: run `stopgap setup` first"))?;
    let next = store.batches()?.iter().map(|b| b.number).max().unwrap_or(0) + 1;
    let ctx = ExportContext {
        batch_id: batch_id_text(setup.site.as_str(), setup.workstation.as_str(), next),
        training: store.has_training_data()?,
        ..export_context(profile, options, now, next)
    };
    let mut bytes = Vec::new();
    let findings: Vec<Finding> = match write_export(format, &states, &ctx, &mut bytes) {
        Ok(()) => match format {
            Format::Hl7Oml | Format::Hl7Orm => check_hl7(&bytes),
            Format::Fhir => check_fhir(&bytes),
            Format::Csv | Format::Xlsx => Vec::new(),
        },
        Err(ExportError::Refused { findings, .. }) => findings,
        Err(e) => return Err(e.into()),
    };
    let checked = match format {
        Format::Hl7Oml | Format::Hl7Orm | Format::Fhir => "pre-flight and conformance check",
        Format::Csv | Format::Xlsx => "pre-flight (this format has no conformance check)",
    };
    if findings.is_empty() {
        writeln!(
            out,
            "{format}: {} requests checked ({checked}): no finding. Nothing was written.",
            states.len()
        )?;
        return Ok(Outcome::Success);
    }
    writeln!(
        out,
        "{format}: {} requests checked ({checked}): {} findings. Nothing was written.",
        states.len(),
        findings.len()
    )?;
    for f in &findings {
        writeln!(out, "  {f}")?;
    }
    Ok(Outcome::Problems)
}
