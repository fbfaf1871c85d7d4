//! One export from its snapshot to its recorded batch (see `store::export_run` for the steps),
//! with its temporary file created and locked before its number is reserved, staged before it
//! is renamed, and never replacing a file a recorded batch wrote.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use chrono::{DateTime, Utc};

use super::{
    BacklogError, ExportJob, ExportPhase, ExportProgress, Exported, export_context,
    export_file_name, file_name_of, target_path,
};
use crate::domain::event::RequestState;
use crate::domain::ward::Ward;
use crate::export::check::Truncation;
use crate::export::profile::WardMapping;
use crate::export::{
    ExportContext, ExportError, Format, Profile, check_mappings, write_export_listing_truncations,
};
use crate::files::{
    Overwrite, RecordCounter, Staging, WatchedWriter, WriteError, folder_of, sha256_of_file,
};
use crate::store::{BatchFile, BatchSpec, BatchTruncation, ExportOptions, Reservation, Store};

/// The label of an export's temporary file, `.stopgap-export.{uuid}.tmp` (made before the batch
/// number, and so the final name, is known).
const EXPORT_TEMP_LABEL: &str = "stopgap-export";

/// The records a file of `format` holds for `states`, and a counter that finds them in its
/// bytes: the writers are handed all requests at once, so progress is read from what they
/// write. The markers occur only at a record's start: HL7 text escapes `|`, and JSON strings
/// escape `"`.
pub(super) fn records(
    format: Format,
    options: ExportOptions,
    states: &[RequestState],
) -> (u64, RecordCounter) {
    let tests = || states.iter().map(|s| s.request.tests.len() as u64).sum();
    match format {
        Format::Csv if options.per_test => (tests(), RecordCounter::csv_records()),
        Format::Csv => (states.len() as u64, RecordCounter::csv_records()),
        Format::Hl7Oml | Format::Hl7Orm => (states.len() as u64, RecordCounter::marker(b"MSH|")),
        Format::Fhir => (
            tests(),
            RecordCounter::marker(br#""url": "ServiceRequest""#),
        ),
        // A zip is compressed and is written in one piece at the end: no record can be seen.
        Format::Xlsx => (states.len() as u64, RecordCounter::none()),
    }
}

/// Exports the requests `job.selection` takes now into one file and records the batch. Every
/// test must be mapped before a file is written; if the batch cannot be recorded the written
/// file is removed, so nothing leaves the workstation without its record.
pub fn export_to(
    store: &mut Store,
    job: &ExportJob,
    now: DateTime<Utc>,
) -> Result<Exported, BacklogError> {
    export_with_progress(store, job, now, &ExportProgress::default())
}

/// [`export_to`], reporting to `progress` and stopping when it is cancelled. The write lock is
/// held only to take the batch number and, after the file is in place, to record the batch
/// (see `store::export_run`), so ward saves go on during a long export.
pub fn export_with_progress(
    store: &mut Store,
    job: &ExportJob,
    now: DateTime<Utc>,
    progress: &ExportProgress,
) -> Result<Exported, BacklogError> {
    let snapshot = store.export_snapshot(&job.selection, |done, total| {
        if progress.is_cancelled() {
            return Err(BacklogError::Cancelled);
        }
        progress.set(ExportPhase::Reading, done, total);
        Ok(())
    })?;
    let states = snapshot.states.as_slice();
    if states.is_empty() {
        return Err(BacklogError::NothingToExport);
    }
    check_mappings(job.format, states, &job.profile)?;
    let wards = store.wards()?;
    let spec = BatchSpec {
        format: job.format.word().to_owned(),
        profile_name: job.profile.name().to_owned(),
        // With the workstation's ward codes of the moment, so a re-run after a code changed
        // still writes what this export wrote.
        profile_toml: with_ward_codes(&job.profile, &wards).to_toml(),
        // How the file is sealed goes in the options' JSON, so the batch says it.
        options: ExportOptions {
            sealed: Some(job.sealing.kind()),
            ..job.options
        },
        generated_at: now,
        user: job.user.clone(),
    };
    // The temporary file exists, locked, before the number is reserved: recovery in another
    // process or thread can then always tell this export is alive (see `recover`).
    let mut staging = Staging::create(&export_folder(&job.out)?, EXPORT_TEMP_LABEL)?;
    // Claims the requests too: refused, before a file is named, if another export has any.
    let reservation = store.reserve_export(&spec, &snapshot, Some(staging.path()), |header| {
        let name = job
            .sealing
            .file_name(&export_file_name(&header.batch_id, job.format));
        let target = target_path(&job.out, &name)?;
        // Refused before a number is taken; the rename checks again.
        if job.overwrite == Overwrite::Refuse && target.exists() {
            return Err(BacklogError::Write(WriteError::Exists(target)));
        }
        Ok(target)
    })?;
    if job.overwrite == Overwrite::Replace
        && let Err(error) = may_replace(store, &reservation)
    {
        give_back(store, &reservation);
        return Err(error);
    }
    let training = store.has_training_data()?;
    let (bytes, sha256, truncations) = match write_file(
        job,
        states,
        &reservation,
        &mut staging,
        now,
        training,
        wards,
        progress,
    ) {
        Ok(w) => w,
        Err(error) => {
            // Nothing is under the final name, so the number can be taken again.
            give_back(store, &reservation);
            return Err(error);
        }
    };
    progress.set(ExportPhase::Recording, 0, 1);
    let file = BatchFile {
        file_name: file_name_of(&reservation.target),
        sha256: sha256.clone(),
        bytes,
    };
    let truncations: Vec<BatchTruncation> = truncations
        .into_iter()
        .map(|t| BatchTruncation {
            downtime_id: t.downtime_id,
            field: t.location,
            length: t.length as u64,
            limit: t.limit as u64,
        })
        .collect();
    // From here the batch can be recorded from its reservation alone, if this process dies.
    if let Err(error) = store.stage_file(reservation.header.number, &file, &truncations) {
        give_back(store, &reservation);
        return Err(error.into());
    }
    if let Err(error) = staging.place(&reservation.target, job.overwrite) {
        // The number is given back before the temporary file goes: if giving it back fails, the
        // file stays for recovery, which then knows the file never reached its name.
        if store
            .release_reservation(reservation.header.number)
            .is_err()
        {
            staging.keep();
        }
        return Err(error.into());
    }
    let result = match store.record_batch(
        &reservation,
        &spec,
        &job.selection,
        states,
        &file,
        &truncations,
    ) {
        Ok(record) => {
            progress.set(ExportPhase::Recording, 1, 1);
            Ok(Exported {
                record,
                path: reservation.target.clone(),
            })
        }
        Err(error) => unrecorded(
            store,
            &reservation,
            reservation.target.clone(),
            error.into(),
        ),
    };
    // Unlocked only now, once the batch is recorded (or given back).
    drop(staging);
    result
}

/// The folder an export's file goes in: `out` itself, or the folder of the file named by `out`.
fn export_folder(out: &Path) -> Result<PathBuf, BacklogError> {
    if out.is_dir() {
        return Ok(out.to_owned());
    }
    let folder = folder_of(out);
    if !folder.is_dir() {
        return Err(BacklogError::NoFolder {
            out: out.to_owned(),
            folder,
        });
    }
    Ok(folder)
}

/// With `--force`: refuses to replace a file that a recorded batch wrote (by its path, or its
/// bytes), or that an interrupted export left and recovery has not settled.
fn may_replace(store: &Store, reservation: &Reservation) -> Result<(), BacklogError> {
    let target = &reservation.target;
    if !target.exists() {
        return Ok(());
    }
    let sha = sha256_of_file(target).ok().map(|(sha, _)| sha);
    if let Some(batch) = store.batch_that_wrote(target, sha.as_deref())? {
        return Err(BacklogError::BatchFile {
            path: target.clone(),
            batch_id: batch.batch_id,
        });
    }
    if let Some(other) = store
        .unrecorded_exports()?
        .into_iter()
        .find(|r| r.header.number != reservation.header.number && &r.target == target)
    {
        return Err(BacklogError::UnrecoveredFile {
            path: target.clone(),
            batch_id: other.header.batch_id,
        });
    }
    Ok(())
}

/// Writes the reserved batch's file into `staging` (flushed to disk, not yet in place),
/// counting its records into `progress`; returns its size, SHA-256 and the values the profile
/// had shortened to the receiver's limits.
#[expect(
    clippy::too_many_arguments,
    reason = "the pieces of one export, each from a different place"
)]
fn write_file(
    job: &ExportJob,
    states: &[RequestState],
    reservation: &Reservation,
    staging: &mut Staging,
    now: DateTime<Utc>,
    training: bool,
    wards: Vec<Ward>,
    progress: &ExportProgress,
) -> Result<(u64, String, Vec<Truncation>), BacklogError> {
    let ctx = export_context(
        job.profile.clone(),
        job.options,
        now,
        reservation.header.number,
        wards,
    );
    // The whole batch ID (site, workstation, number), so MSH-10 and Bundle.identifier are unique
    // across workstations.
    let ctx = ExportContext {
        batch_id: reservation.header.batch_id.clone(),
        training,
        ..ctx
    };
    let (total, mut counter) = records(job.format, job.options, states);
    progress.set(ExportPhase::Writing, 0, total);
    let mut truncations = Vec::new();
    let result = staging.fill_sealed(&job.sealing, |w| {
        let mut watched = WatchedWriter::new(w, &progress.cancel, |bytes| {
            counter.feed(bytes);
            progress
                .done
                .store(counter.count().min(total), Ordering::Relaxed);
        });
        truncations = write_export_listing_truncations(job.format, states, &ctx, &mut watched)?;
        Ok::<(), ExportError>(())
    });
    match result {
        Ok((bytes, sha256)) => Ok((bytes, sha256, truncations)),
        Err(_) if progress.is_cancelled() => Err(BacklogError::Cancelled),
        Err(e) => Err(e.into()),
    }
}

/// Gives back the number of an export that left no file under its final name. If even that
/// fails (the database is failing too), the reservation stays: harmless, as the next export
/// takes a later number, and the export's own error is the one the user needs to see.
fn give_back(store: &mut Store, reservation: &Reservation) {
    let _kept = store.release_reservation(reservation.header.number);
}

/// The file is in place but its batch could not be recorded: removes the file (nothing leaves
/// without its record) and gives the number back; if the file cannot be removed, says so and
/// keeps the reservation, which names the file for recovery.
fn unrecorded(
    store: &mut Store,
    reservation: &Reservation,
    path: PathBuf,
    error: BacklogError,
) -> Result<Exported, BacklogError> {
    match std::fs::remove_file(&path) {
        Ok(()) => {
            give_back(store, reservation);
            Err(error)
        }
        Err(removal) => Err(BacklogError::Unremoved {
            error: Box::new(error),
            path,
            removal,
        }),
    }
}

/// `profile` with each of the workstation's `wards` added as a `[[hl7.ward]]` mapping after the
/// profile's own (the first mapping for a name wins, so the LIMS's own codes still come first):
/// the profile a batch records, from which its re-run takes the codes it was written with.
fn with_ward_codes(profile: &Profile, wards: &[Ward]) -> Profile {
    let mut recorded = profile.clone();
    for ward in wards {
        let mapped = recorded
            .hl7
            .wards
            .iter()
            .any(|m| m.name.trim().eq_ignore_ascii_case(ward.name().trim()));
        if !mapped {
            recorded.hl7.wards.push(WardMapping {
                name: ward.name().to_owned(),
                code: ward.code().to_owned(),
            });
        }
    }
    recorded
}
