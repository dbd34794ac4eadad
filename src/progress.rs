//! A build's events and summary as JSON objects: the lines of the CLI's `--progress json`,
//! and the dicts the Python module hands its callers. One place, so the two cannot drift.

use std::ops::Range;
use std::path::Path;
use std::time::Instant;

use serde_json::{json, Value};

use crate::events::{CropSummary, Event, MeshSummary, Summary};
use crate::pixel::Depth;
use crate::region::Region;

/// Turns a build's [`Event`]s into JSON objects, counting what was read on the way: `done`,
/// `bytes` and `elapsed` of `progress` objects never decrease.
#[derive(Debug)]
pub struct JsonEvents {
    start: Instant,
    done: usize,
    total: usize,
    bytes_done: u64,
    bytes_total: u64,
    /// A read into memory writes no file: each slice read is its progress.
    progress_on_read: bool,
}

impl Default for JsonEvents {
    fn default() -> Self {
        Self::new()
    }
}

impl JsonEvents {
    /// The clock of `elapsed` and `eta` starts now.
    pub fn new() -> Self {
        JsonEvents {
            start: Instant::now(),
            done: 0,
            total: 0,
            bytes_done: 0,
            bytes_total: 0,
            progress_on_read: false,
        }
    }

    /// The object of an event: `plan` for [`Event::Planned`], `progress` for each output slice
    /// written; None for a slice read (counted, reported with the next slice written).
    pub fn event(&mut self, event: &Event) -> Option<Value> {
        match event {
            Event::Planned {
                plan,
                out_root,
                selection,
                kept,
                to_write,
                to_read,
                bytes_to_read,
                stale,
                shard,
                format,
                zarr,
            } => {
                (self.total, self.bytes_total) = (*to_read, *bytes_to_read);
                Some(json!({
                    "event": "plan",
                    "slices": plan.slices,
                    "width": plan.width,
                    "height": plan.height,
                    "bits": plan.depth.bits(),
                    "dtype": plan.depth.dtype(),
                    "levels": plan.levels.iter().map(|l| l.to_json()).collect::<Vec<_>>(),
                    "out": out_root.display().to_string(),
                    "selection": selection,
                    "format": format.name(),
                    "store": zarr.map(|z| json!({
                        "path": out_root.display().to_string(),
                        "ngff": z.ngff.name(),
                        "chunks": z.chunks,
                        "codec": z.codec.name(),
                    })),
                    // `kept` is `files_kept`, as it always was for TIFF.
                    "kept": kept.files,
                    "files_kept": kept.files,
                    "slices_kept": kept.slices,
                    "files_to_write": to_write.files,
                    "slices_to_write": to_write.slices,
                    "stale": stale,
                    "shard": shard.as_ref().map(|r| [r.start, r.end]),
                    "voxel_um": plan.voxel_um,
                    "voxel_source": plan.voxel_source.as_ref().map(|s| s.to_json()),
                    "total": to_read,
                    "total_bytes": bytes_to_read,
                }))
            }
            Event::CropPlanned {
                input,
                level,
                region,
                depth,
                out,
                kept,
                to_read,
                bytes_to_read,
            } => {
                (self.total, self.bytes_total) = (*to_read, *bytes_to_read);
                self.progress_on_read = out.is_none();
                let job = if out.is_some() { "crop" } else { "read" };
                let own = json!({
                    "out": out.map(|o| o.display().to_string()),
                    "files_kept": kept,
                });
                Some(box_plan(
                    job,
                    (input, *level, region, *depth),
                    own,
                    *to_read,
                    *bytes_to_read,
                ))
            }
            Event::MeshPlanned {
                input,
                level,
                region,
                depth,
                iso,
                units,
                out,
                to_read,
                bytes_to_read,
            } => {
                (self.total, self.bytes_total) = (*to_read, *bytes_to_read);
                self.progress_on_read = true;
                let own = json!({
                    "iso": iso,
                    "units": units.name(),
                    "out": out.map(|(o, _)| o.display().to_string()),
                    "format": out.map(|(_, f)| f.name()),
                });
                Some(box_plan(
                    "mesh",
                    (input, *level, region, *depth),
                    own,
                    *to_read,
                    *bytes_to_read,
                ))
            }
            Event::SliceRead { index, bytes } => {
                self.done += 1;
                self.bytes_done += bytes;
                self.progress_on_read.then(|| self.progress(None, *index))
            }
            Event::SliceWritten { level, index, .. } => Some(self.progress(Some(*level), *index)),
        }
    }

    /// A `progress` object: slice `index` (of `level`, for a file written) is done.
    fn progress(&self, level: Option<usize>, index: usize) -> Value {
        let elapsed = self.start.elapsed().as_secs_f64();
        let eta = if self.bytes_done > 0 {
            elapsed * (self.bytes_total.saturating_sub(self.bytes_done)) as f64
                / self.bytes_done as f64
        } else {
            0.0
        };
        let mut progress = json!({
            "event": "progress",
            "level": level,
            "slice": index,
            "done": self.done,
            "total": self.total,
            "bytes": self.bytes_done,
            "total_bytes": self.bytes_total,
            "elapsed": (elapsed * 1000.0).round() / 1000.0,
            "eta": (eta * 1000.0).round() / 1000.0,
        });
        if level.is_none() {
            if let Some(o) = progress.as_object_mut() {
                o.shift_remove("level");
            }
        }
        progress
    }
}

/// The `plan` object of a job over a box of a level (`read`, `crop`, `mesh`): the box and its
/// samples, the job's `own` fields, then the slices and bytes to read.
fn box_plan(
    job: &str,
    (input, level, region, depth): (&Path, usize, &Region, Depth),
    own: Value,
    total: usize,
    total_bytes: u64,
) -> Value {
    let mut plan = json!({
        "event": "plan",
        "job": job,
        "input": input.display().to_string(),
        "level": level,
        "box": region_json(region),
        "width": region.x.len(),
        "height": region.y.len(),
        "slices": region.z.len(),
        "bits": depth.bits(),
        "dtype": depth.dtype(),
    });
    if let (Some(plan), Value::Object(own)) = (plan.as_object_mut(), own) {
        plan.extend(own);
        plan.insert("total".into(), total.into());
        plan.insert("total_bytes".into(), total_bytes.into());
    }
    plan
}

/// A box as `{"x": [a, b], "y": [c, d], "z": [e, f]}` (half-open).
fn region_json(region: &Region) -> Value {
    json!({
        "x": [region.x.start, region.x.end],
        "y": [region.y.start, region.y.end],
        "z": [region.z.start, region.z.end],
    })
}

/// The `done` object of a read or a crop.
pub fn crop_summary(s: &CropSummary) -> Value {
    json!({
        "event": "done",
        "job": if s.out.is_some() { "crop" } else { "read" },
        "level": s.level,
        "box": region_json(&s.region),
        "bits": s.depth.bits(),
        "dtype": s.depth.dtype(),
        "slices_read": s.slices_read,
        "bytes": s.bytes_read,
        "file_bytes_read": s.file_bytes_read,
        "file_bytes": s.file_bytes,
        "zero_copy_slices": s.zero_copy_slices,
        "decoded_slices": s.decoded_slices,
        "files_written": s.files_written,
        "files_kept": s.files_kept,
        "elapsed": s.elapsed.as_secs_f64(),
        "out": s.out.as_ref().map(|p| p.display().to_string()),
        "record": s.record.as_ref().map(|p| p.display().to_string()),
    })
}

/// The `done` object of a mesh.
pub fn mesh_summary(s: &MeshSummary) -> Value {
    json!({
        "event": "done",
        "job": "mesh",
        "level": s.level,
        "box": region_json(&s.region),
        "dtype": s.depth.dtype(),
        "iso": s.iso,
        "units": s.units.name(),
        "voxel_um": s.voxel_um,
        "vertices": s.vertices,
        "triangles": s.triangles,
        "degenerate_dropped": s.degenerate,
        "nan_samples": s.nan_samples,
        "slices_read": s.slices_read,
        "bytes": s.bytes_read,
        "file_bytes_read": s.file_bytes_read,
        "zero_copy_slices": s.zero_copy_slices,
        "decoded_slices": s.decoded_slices,
        "out": s.out.as_ref().map(|(p, _, _)| p.display().to_string()),
        "format": s.out.as_ref().map(|(_, f, _)| f.name()),
        "out_bytes": s.out.as_ref().map(|(_, _, n)| n),
        "warning": s.warning,
        "elapsed": s.elapsed.as_secs_f64(),
    })
}

/// The `done` object: what a build did.
pub fn summary(summary: &Summary) -> Value {
    json!({
        "event": "done",
        "slices": summary.plan.slices,
        "levels": summary.plan.levels.len(),
        "dtype": summary.plan.depth.dtype(),
        "slices_read": summary.slices_read,
        "bytes": summary.bytes_read,
        "format": summary.format.name(),
        "files_written": summary.files_written,
        "files_kept": summary.files_kept,
        "slices_written": summary.slices_written,
        "slices_kept": summary.slices_kept,
        "zero_copy_slices": summary.zero_copy_slices,
        "decoded_slices": summary.decoded_slices,
        "elapsed": summary.elapsed.as_secs_f64(),
        "out": summary.out_root.display().to_string(),
        "manifest": summary.manifest.as_ref().map(|p| p.display().to_string()),
    })
}

/// The shards of a [`crate::ShardPlan`], as `{"shard": i, "start": a, "end": b}` objects:
/// shard `i` builds with `slices = a..b`.
pub fn shards(ranges: &[Range<usize>]) -> Value {
    ranges
        .iter()
        .enumerate()
        .map(|(i, r)| json!({ "shard": i, "start": r.start, "end": r.end }))
        .collect()
}
