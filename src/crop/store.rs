//! A crop as an OME-Zarr store: the box's slices are the input of a build of their own (a
//! view of the level's files, read band by band), so the store has the crop's levels as
//! `build` makes them of a stack of the crop's size, its NGFF translation the box's origin.

use std::time::Instant;

use super::level::{Located, Slices};
use super::write::{identity, origin_um};
use super::CropOptions;
use crate::engine::{build_prepared, Prepared};
use crate::error::{Error, Result};
use crate::events::{CropSummary, Event};
use crate::identity::BuildIdentity;
use crate::options::{BuildOptions, OutputFormat, TiffLayout};
use crate::plan::Plan;

/// Builds the store of the crop `located` into `options.out`.
pub(crate) fn crop_to_store(
    located: Located,
    options: &CropOptions,
    on_event: &mut dyn FnMut(Event),
    start: Instant,
) -> Result<CropSummary> {
    let Slices::Stack(stack) = &located.slices else {
        let reason = "a box of a level of an OME-Zarr store is cropped to TIFF files (crop \
                      level 0, or a TIFF pyramid's level, to a store)";
        return Err(Error::invalid("format", "ome-zarr", reason));
    };
    let r = &located.region;
    let mut plan = Plan::new(
        r.x.len(),
        r.y.len(),
        located.depth,
        r.z.len(),
        options.min_size,
    );
    plan.voxel_um = located.voxel_um;
    plan.source_id = identity(&located);
    let origin = origin_um(located.prepared.plan.voxel_um, located.level, r);
    // Without a voxel size the store's unit is the crop's level's voxel.
    plan.origin = origin.unwrap_or_else(|| {
        let s = f64::from(1u32 << located.level.min(31));
        let at = |i: usize| s * i as f64 + (s - 1.0) / 2.0;
        [at(r.z.start), at(r.y.start), at(r.x.start)].map(|v| v / s)
    });
    let input = &located.prepared.source;
    let build = BuildOptions {
        out: Some(options.out.clone()),
        min_size: options.min_size,
        durable: options.durable,
        force: options.force,
        cancel: options.read.cancel.clone(),
        reader: options.read.reader,
        format: OutputFormat::OmeZarr,
        zarr: options.zarr,
        ..BuildOptions::new(input)
    };
    build.check()?;
    let prepared = Prepared {
        note: located.prepared.note.clone(),
        first: stack.first(input)?,
        identity: BuildIdentity {
            inputs: located.prepared.identity.inputs.clone(),
            plan: plan.clone(),
            layout: TiffLayout::Slices,
        },
        range: 0..plan.slices,
        shard: None,
        out_root: options.out.clone(),
        source: input.clone(),
        stack: stack.clone(),
        plan,
    };
    let built = build_prepared(prepared, &build, on_event, start)?;
    let store_bytes = |n: usize| (n * r.slice_pixels() * located.depth.bytes()) as u64;
    Ok(CropSummary {
        level: located.level,
        region: r.clone(),
        depth: located.depth,
        out: Some(super::level::absolute(&options.out)),
        slices_read: built.slices_read,
        bytes_read: store_bytes(built.slices_read),
        file_bytes_read: built.bytes_read,
        file_bytes: built.bytes_read,
        zero_copy_slices: built.zero_copy_slices,
        decoded_slices: built.decoded_slices,
        files_written: built.files_written,
        files_kept: built.files_kept,
        record: built.manifest,
        elapsed: built.elapsed,
    })
}
