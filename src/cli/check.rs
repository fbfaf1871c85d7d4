//! `stopgap export --check`: what a strict receiver would say of the next export, with nothing
//! written and nothing recorded.

use std::io::Write;

use anyhow::{Result, anyhow};
use chrono::{DateTime, Utc};

use super::commands::selection_and_options;
use super::{ExportArgs, Outcome};
use crate::backlog::{export_context, load_profile};
use crate::export::check::{Finding, Truncation, check_hl7};
use crate::export::check_fhir::check_fhir;
use crate::export::{ExportContext, ExportError, Format, write_export_listing_truncations};
use crate::store::{Store, batch_id_text};

/// Runs the pre-flight and the format's conformance check on the requests the export would take
/// now, and lists every finding. Values over the receiver's limits are errors when the profile
/// refuses them and warnings (each shortening listed) when it truncates. Exit 1 when there is
/// an error.
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
    let (selection, options) = selection_and_options(args)?;
    let states = store.export_candidates(&selection)?;
    let setup = store
        .setup()?
        .ok_or_else(|| anyhow!("the workstation is not set up: run `stopgap setup` first"))?;
    let next = store.batches()?.iter().map(|b| b.number).max().unwrap_or(0) + 1;
    let ctx = ExportContext {
        batch_id: batch_id_text(setup.site.as_str(), setup.workstation.as_str(), next),
        training: store.has_training_data()?,
        ..export_context(profile, options, now, next, setup.wards.clone())
    };
    let mut bytes = Vec::new();
    let (findings, truncations): (Vec<Finding>, Vec<Truncation>) =
        match write_export_listing_truncations(format, &states, &ctx, &mut bytes) {
            Ok(truncations) => {
                let findings = match format {
                    Format::Hl7Oml | Format::Hl7Orm => check_hl7(&bytes),
                    Format::Fhir => check_fhir(&bytes),
                    Format::Csv | Format::Xlsx => Vec::new(),
                };
                (findings, truncations)
            }
            Err(ExportError::Refused { findings, .. }) => (findings, Vec::new()),
            Err(e) => return Err(e.into()),
        };
    let checked = match format {
        Format::Hl7Oml | Format::Hl7Orm | Format::Fhir => "pre-flight and conformance check",
        Format::Csv | Format::Xlsx => "pre-flight (this format has no conformance check)",
    };
    let warnings = if truncations.is_empty() {
        String::new()
    } else {
        format!(
            ", {} warnings (values the profile shortens to the receiver's limits)",
            truncations.len()
        )
    };
    if findings.is_empty() {
        writeln!(
            out,
            "{format}: {} requests checked ({checked}): no finding{warnings}. Nothing was written.",
            states.len()
        )?;
    } else {
        writeln!(
            out,
            "{format}: {} requests checked ({checked}): {} findings{warnings}. Nothing was written.",
            states.len(),
            findings.len()
        )?;
        for f in &findings {
            writeln!(out, "  error: {f}")?;
        }
    }
    for t in &truncations {
        writeln!(out, "  warning: {t}")?;
    }
    Ok(if findings.is_empty() {
        Outcome::Success
    } else {
        Outcome::Problems
    })
}
