//! Resuming: what an earlier run left in the output, output by output, and therefore what a
//! build reads and writes ([`Found`]); the same scan, without writing anything, for
//! `inspect` ([`survey`]).

use std::ops::Range;
use std::path::PathBuf;

use serde_json::Value;

use super::prepare::{prepare, Prepared};
use crate::choice::Choice;
use crate::error::Result;
use crate::events::Outputs;
use crate::options::{BuildOptions, OmeZarrOptions, OutputFormat, TiffLayout};
use crate::output::manifest;
use crate::output::{Check, LevelWriter, Recorded, Scan};
use crate::plan::Plan;
use crate::shard;

/// What is on disk, output by output, and what a build therefore reads and writes.
pub(crate) struct Found {
    pub recorded: Recorded,
    pub done: Done,
    /// The input slices to read.
    pub to_read: Vec<usize>,
    /// The outputs on disk, or the mark of completion, are another build's.
    pub stale: bool,
}

impl Found {
    /// Every output names the inputs it was computed from (`Plan::source_id`, in a TIFF header
    /// or the OME-Zarr arrays' metadata), so outputs of replaced inputs never count, whatever
    /// the mark of completion says; `stale` only reports that the recorded pyramid is not
    /// this one.
    pub fn new(
        output: &dyn LevelWriter,
        plan: &Plan,
        force: bool,
        range: &Range<usize>,
    ) -> Result<Found> {
        let recorded = output.mark().recorded();
        let scan = output.scan(force, range, Check::Thorough)?;
        let stale = scan.stale || recorded == Recorded::Stale;
        let done = Done::new(plan, output, scan, range);
        let to_read = range
            .clone()
            .filter(|&i| {
                !done.is_done(0, i) || (!plan.levels.is_empty() && !done.is_done(1, i / 2))
            })
            .collect();
        Ok(Found {
            recorded,
            done,
            to_read,
            stale,
        })
    }
}

/// Which outputs an earlier run completed (see [`LevelWriter::scan`]), and below which
/// outputs something is still missing.
pub(crate) struct Done {
    /// What the format found: `scan.levels[l - 1][k]` level `l` slice `k` is complete;
    /// `scan.input[k]` input slice `k` is stored (formats that store the input).
    pub scan: Scan,
    /// `missing_below[l - 1][k]`: some output that level `l` slice `k` depends on is missing.
    missing_below: Vec<Vec<bool>>,
    /// Complete outputs among those of the input range, and missing ones.
    pub kept: Outputs,
    pub missing: Outputs,
}

impl Done {
    pub fn new(plan: &Plan, output: &dyn LevelWriter, scan: Scan, range: &Range<usize>) -> Done {
        let mut missing_below: Vec<Vec<bool>> = Vec::with_capacity(scan.levels.len());
        for (l, level) in scan.levels.iter().enumerate() {
            let row = (0..level.len())
                .map(|k| {
                    [2 * k, 2 * k + 1].iter().any(|&c| match l {
                        0 => c < scan.input.len() && !scan.input[c],
                        _ => {
                            c < scan.levels[l - 1].len()
                                && (!scan.levels[l - 1][c] || missing_below[l - 1][c])
                        }
                    })
                })
                .collect();
            missing_below.push(row);
        }
        let (mut kept, mut missing) = (Outputs::default(), Outputs::default());
        // Runs of complete or missing slices, counted in files by the format.
        let mut count = |done: &[bool], level: usize, slices: usize| {
            let range = shard::level_range(range, level, slices);
            let state = |k: usize| done.get(k).copied().unwrap_or(true);
            let mut start = range.start;
            while start < range.end {
                let end = (start..range.end)
                    .find(|&k| state(k) != state(start))
                    .unwrap_or(range.end);
                let counted = match state(start) {
                    true => &mut kept,
                    false => &mut missing,
                };
                counted.files += output.files(level, &(start..end));
                counted.slices += end - start;
                start = end;
            }
        };
        if !scan.input.is_empty() {
            count(&scan.input, 0, plan.slices);
        }
        for (level, done) in plan.levels.iter().zip(&scan.levels) {
            count(done, level.level, level.slices);
        }
        Done {
            scan,
            missing_below,
            kept,
            missing,
        }
    }

    /// Level 0 is the input: done unless the format stores it and has not yet.
    pub fn is_done(&self, level: usize, index: usize) -> bool {
        match level {
            0 => self.scan.input.get(index).copied().unwrap_or(true),
            _ => self.scan.levels[level - 1][index],
        }
    }

    pub fn missing_below(&self, level: usize, index: usize) -> bool {
        self.missing_below[level - 1][index]
    }
}

/// One level of what is on disk (level 0: the input, stored by OME-Zarr).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LevelFound {
    /// The level (0: the input).
    pub level: usize,
    /// Slices complete and this build's.
    pub complete: usize,
    /// The level's slices.
    pub slices: usize,
}

/// What `build` with the same options would find in its output and do: the very scan a build
/// resumes from (every output checked as for resuming), without
/// writing anything. For `inspect`.
#[derive(Clone, Debug, PartialEq)]
pub struct Survey {
    /// Where the output is.
    pub out_root: PathBuf,
    /// Its format.
    pub format: OutputFormat,
    /// How its TIFF levels are laid out (`format` Tiff).
    pub layout: TiffLayout,
    /// How the store is written (`format` OmeZarr).
    pub zarr: OmeZarrOptions,
    /// Whether the output exists at all.
    pub exists: bool,
    /// The mark of a complete pyramid (`pyramid.json`, the store's group metadata), and
    /// whether it records this build.
    pub recorded: Recorded,
    /// Outputs on disk (or their mark) come from other inputs or options: a build rewrites
    /// them.
    pub stale: bool,
    /// Outputs a build would keep.
    pub kept: Outputs,
    /// Outputs a build would write.
    pub to_write: Outputs,
    /// Input slices a build would read.
    pub to_read: usize,
    /// What is complete, level by level (level 0 for a format that stores the input).
    pub levels: Vec<LevelFound>,
}

impl Survey {
    /// The mark is this build's and every output is in place.
    pub fn complete(&self) -> bool {
        self.recorded == Recorded::Current && self.to_write.slices == 0
    }
}

/// What a build with `options` would find in its output and do, without writing anything.
pub fn survey(options: &BuildOptions) -> Result<Survey> {
    survey_of(&prepare(options)?, options)
}

/// [`survey`] of a build already prepared.
pub(crate) fn survey_of(prepared: &Prepared, options: &BuildOptions) -> Result<Survey> {
    let (plan, range) = (&prepared.plan, &prepared.range);
    let target = prepared.target(options);
    let output = crate::output::open(options.format, options.layout, &options.zarr, target)?;
    let found = Found::new(output.as_ref(), plan, options.force, range)?;
    let scan = &found.done.scan;
    let mut levels = Vec::new();
    if !scan.input.is_empty() {
        let complete = scan.input.iter().filter(|&&d| d).count();
        levels.push(LevelFound {
            level: 0,
            complete,
            slices: scan.input.len(),
        });
    }
    for (level, done) in plan.levels.iter().zip(&scan.levels) {
        levels.push(LevelFound {
            level: level.level,
            complete: done.iter().filter(|&&d| d).count(),
            slices: level.slices,
        });
    }
    Ok(Survey {
        out_root: prepared.out_root.clone(),
        format: options.format,
        layout: options.layout,
        zarr: options.zarr,
        exists: prepared.out_root.exists(),
        recorded: found.recorded,
        stale: found.stale,
        kept: found.done.kept,
        to_write: found.done.missing,
        to_read: found.to_read.len(),
        levels,
    })
}

/// The options a survey of `options`' output uses: for a TIFF pyramid with a `pyramid.json`,
/// its recorded layout, `min_size` and voxel size; a whole build, never a shard, never forced.
pub(crate) fn as_recorded(options: &BuildOptions) -> BuildOptions {
    let mut o = BuildOptions {
        force: false,
        slices: None,
        ..options.clone()
    };
    if o.format != OutputFormat::Tiff {
        return o;
    }
    let Some(recorded) = manifest::read(&o.out_root()) else {
        return o;
    };
    let text = |key: &str| recorded.get(key).and_then(Value::as_str);
    if let Some(layout) = text("layout").and_then(|l| TiffLayout::from_name(l).ok()) {
        o.layout = layout;
    }
    if let Some(min) = recorded.get("min_size").and_then(Value::as_u64) {
        o.min_size = usize::try_from(min).unwrap_or(o.min_size).max(1);
    }
    o.voxel_um = recorded
        .get("voxel_um")
        .and_then(Value::as_f64)
        .or(o.voxel_um);
    o
}
