//! The engine: a build from start to end. Data reads top to bottom: the stack is listed and
//! the plan resolved ([`prepare`]), what an earlier run left is found ([`resume`]), the
//! cascade reads the missing inputs in slice order and writes every missing output
//! ([`cascade`]), and the mark of a complete pyramid goes last ([`complete`]).
//! [`shards`] splits a build across machines.

mod cascade;
mod prepare;
mod resume;
mod shards;

use std::time::Instant;

use crate::error::Result;
use crate::events::{Event, Summary};
use crate::options::{BuildOptions, OutputFormat};
use crate::output::{Check, LevelWriter, Recorded};
use crate::publish;

pub(crate) use prepare::Prepared;
pub(crate) use prepare::{prepare, resolve_plan};
pub(crate) use resume::{as_recorded, survey_of};
pub use resume::{survey, LevelFound, Survey};
pub use shards::{plan_shards, ShardPlan};

use resume::{Done, Found};

/// Builds the pyramid of the stack in `options.input`.
///
/// Input files are opened one after another in slice order, each mapped read-only; every
/// output file is complete under its final name before the next is started. Outputs that an
/// earlier run completed are kept (unless `force`), and only the inputs the missing ones
/// depend on are read.
pub fn build(options: &BuildOptions, on_event: &mut dyn FnMut(Event)) -> Result<Summary> {
    let start = Instant::now();
    options.check()?;
    build_prepared(prepare(options)?, options, on_event, start)
}

/// [`build`] of a stack already prepared: `options.input`'s, or a box of it (a crop).
pub(crate) fn build_prepared(
    prepared: Prepared,
    options: &BuildOptions,
    on_event: &mut dyn FnMut(Event),
    start: Instant,
) -> Result<Summary> {
    let mut output = crate::output::open(
        options.format,
        options.layout,
        &options.zarr,
        prepared.target(options),
    )?;
    output.prepare(&prepared.range)?;
    let found = Found::new(
        output.as_ref(),
        &prepared.plan,
        options.force,
        &prepared.range,
    )?;
    on_event(planned(&prepared, &found, options));
    let writes = found.done.missing.slices > 0;
    if writes {
        // Until every output is in place again, the pyramid is not complete.
        output.mark().unpublish()?;
        output.begin(&found.done.scan)?;
    }
    let cancel = options.cancel.as_deref();
    let counts = cascade::run(
        &prepared,
        &found,
        options.reader,
        cancel,
        output.as_mut(),
        on_event,
    )?;
    let manifest = complete(&prepared, output.as_ref(), writes, found.recorded)?;
    drop(output);
    Ok(Summary {
        files_written: counts.files_written,
        files_kept: found.done.kept.files,
        slices_written: counts.slices_written,
        slices_kept: found.done.kept.slices,
        format: options.format,
        slices_read: counts.slices_read,
        bytes_read: counts.bytes_read,
        zero_copy_slices: counts.zero_copy_slices,
        decoded_slices: counts.decoded_slices,
        plan: prepared.plan,
        out_root: prepared.out_root,
        selection: prepared.note,
        manifest,
        elapsed: start.elapsed(),
    })
}

/// The event that tells what will be built, before anything is.
fn planned<'a>(prepared: &'a Prepared, found: &Found, options: &'a BuildOptions) -> Event<'a> {
    let slice_bytes = prepared.first.layout().pixel_bytes() as u64;
    Event::Planned {
        plan: &prepared.plan,
        out_root: &prepared.out_root,
        selection: prepared.note.as_deref(),
        kept: found.done.kept,
        to_write: found.done.missing,
        to_read: found.to_read.len(),
        bytes_to_read: slice_bytes * found.to_read.len() as u64,
        stale: found.stale,
        shard: prepared.shard.clone(),
        format: options.format,
        zarr: (options.format == OutputFormat::OmeZarr).then_some(&options.zarr),
    }
}

/// Writes the mark of completion, last, once every output of every shard is complete;
/// returns its path, or None while something is missing. Shards finishing together take
/// turns (a lock): each sees every output finished before it took the lock, so the last one
/// to take it writes the mark, or leaves none if something is still missing.
fn complete(
    prepared: &Prepared,
    output: &dyn LevelWriter,
    writes: bool,
    recorded: Recorded,
) -> Result<Option<std::path::PathBuf>> {
    let plan = &prepared.plan;
    if plan.levels.is_empty() && !output.stores_input() {
        return Ok(None);
    }
    let _lock = publish::lock(&prepared.out_root)?;
    let complete = prepared.shard.is_none() || {
        let everything = 0..plan.slices;
        let scan = output.scan(false, &everything, Check::Present)?;
        Done::new(plan, output, scan, &everything).missing.slices == 0
    };
    let mark = output.mark();
    if !complete {
        mark.unpublish()?;
        Ok(None)
    } else if writes || prepared.shard.is_some() || recorded != Recorded::Current {
        Ok(Some(mark.publish()?))
    } else {
        Ok(Some(mark.path()))
    }
}
