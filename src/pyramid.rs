//! The pyramid cascade: every level built in one pass over the input slices.
//!
//! Level 1 slice k comes from input slices 2k and 2k+1; level L+1 slice k from level L slices
//! 2k and 2k+1 in the same way. The cascade walks this tree depth-first, left to right, so
//! input slices are read in ascending order and each level holds at most one slice waiting
//! for its partner (for level 0, the input map; for deeper levels, the map of the output file
//! just written): memory stays at a few slices whatever the stack's length, and no level is
//! read back from disk (except, when resuming, outputs an earlier run completed).

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::discover::{select, Selection};
use crate::encode::{Scale, TiffHeader};
use crate::error::{Error, Result};
use crate::kernel::{reduce_slices, Sample};
use crate::layout::Depth;
use crate::manifest::{self, InputFile};
use crate::output::{
    Check, Finished, LevelWriter, OmeZarrOptions, OutputFormat, Recorded, Scan, Target, WriteMode,
    Writer, Written,
};
use crate::plane::Plane;
use crate::shard;
use crate::slice::{Opener, ReadMode, ReadPath, SliceFile, Stack};
use crate::voxel::{self, VoxelSource};

/// CTHarvester's rule: keep halving while a level is wider or taller than this.
pub const DEFAULT_MIN_SIZE: usize = 500;

/// How each level is stored (also the CLI's `--layout`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Layout {
    /// CTHarvester's: `<out>/<L>/<k:06>.tif`, one file a slice.
    #[default]
    Slices,
    /// One multi-page TIFF a level, `<out>/level<L>.tif`, that ImageJ opens as a z-stack.
    Stack,
}

impl Layout {
    pub fn name(self) -> &'static str {
        match self {
            Layout::Slices => "slices",
            Layout::Stack => "stack",
        }
    }
}

/// One level of the pyramid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Level {
    /// 1 for the first halving.
    pub level: usize,
    pub width: usize,
    pub height: usize,
    pub slices: usize,
}

/// The pyramid a stack gives: its input geometry and the levels it produces.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    pub width: usize,
    pub height: usize,
    pub depth: Depth,
    pub slices: usize,
    pub levels: Vec<Level>,
    /// The rule the levels were planned by.
    pub min_size: usize,
    /// Edge of an input voxel in micrometres, if known; level L's is `2^L` times it.
    pub voxel_um: Option<f64>,
    /// Where `voxel_um` came from.
    pub voxel_source: Option<VoxelSource>,
    /// Identity of the input files (names, sizes, modification times), written into every
    /// output's header: an output computed from other inputs never passes for complete.
    pub source_id: u64,
}

impl Plan {
    /// Levels continue while the current level's width or height exceeds `min_size`,
    /// and stop before a level would have no rows or columns. Level L holds
    /// ceil(slices / 2^L) slices: an odd last slice is halved alone, never dropped.
    pub fn new(width: usize, height: usize, depth: Depth, slices: usize, min_size: usize) -> Plan {
        let mut levels = Vec::new();
        let (mut w, mut h, mut n) = (width, height, slices);
        while (w > min_size || h > min_size) && w >= 2 && h >= 2 {
            (w, h, n) = (w / 2, h / 2, n.div_ceil(2));
            levels.push(Level {
                level: levels.len() + 1,
                width: w,
                height: h,
                slices: n,
            });
        }
        Plan {
            width,
            height,
            depth,
            slices,
            levels,
            min_size,
            voxel_um: None,
            voxel_source: None,
            source_id: 0,
        }
    }

    /// Width, height and depth of a slice of level `level` (1 is the first level below the
    /// input).
    pub fn slice_size(&self, level: usize) -> (usize, usize, Depth) {
        let geometry = &self.levels[level - 1];
        (geometry.width, geometry.height, self.depth)
    }

    /// The voxel edge of level `level` (0: the input), in micrometres.
    pub fn level_voxel_um(&self, level: usize) -> Option<f64> {
        self.voxel_um.map(|v| v * f64::from(1u32 << level.min(31)))
    }

    /// The header of level `level`'s files: one slice each, or the whole level.
    pub fn header(&self, level: &Level, layout: Layout) -> std::io::Result<TiffHeader> {
        let voxel = self.level_voxel_um(level.level);
        match layout {
            Layout::Slices => TiffHeader::single(
                level.width,
                level.height,
                self.depth,
                voxel.map_or(Scale::Unknown, Scale::Centimetre),
                self.source_id,
            ),
            Layout::Stack => TiffHeader::imagej_stack(
                level.width,
                level.height,
                self.depth,
                level.slices,
                voxel,
                self.source_id,
            ),
        }
    }

    /// Bytes written for all levels (pixel data only).
    pub fn output_pixel_bytes(&self) -> u64 {
        let px = |l: &Level| (l.width * l.height * l.slices) as u64;
        self.levels.iter().map(px).sum::<u64>() * self.depth.bytes() as u64
    }
}

/// What `build` is asked to do.
#[derive(Clone, Debug)]
pub struct BuildOptions {
    /// The folder of slices.
    pub input: PathBuf,
    /// Where the levels go: `<out>/<L>/<k:06>.tif`. Default `<input>/.thumbnail`.
    pub out: Option<PathBuf>,
    /// See [`Plan::new`]; CTHarvester uses 500.
    pub min_size: usize,
    /// Flush every output file to disk before giving it its final name.
    pub durable: bool,
    /// Which files of the folder are slices.
    pub selection: Selection,
    /// Rewrite every output, even those an earlier run completed.
    pub force: bool,
    /// Set (by a signal handler, a GUI's cancel button) to stop the build between two output
    /// files: it then returns [`Error::Cancelled`], every output complete or absent.
    pub cancel: Option<Arc<AtomicBool>>,
    /// How input files are brought into memory; outputs are the same whatever it is.
    pub reader: ReadMode,
    /// How output pixels reach their files; the files are the same whatever it is.
    pub writer: WriteMode,
    /// How each level is stored.
    pub layout: Layout,
    /// Edge of an input voxel in micrometres; by default a SkyScan log's `Pixel Size (um)`,
    /// else the first slice's header ([`crate::voxel`]).
    pub voxel_um: Option<f64>,
    /// Build only the outputs that depend on input slices `a..b` (`b` None: to the end), which
    /// must be aligned to `2^levels` ([`crate::shard`]; times the chunk depth for OME-Zarr): a
    /// shard of a build split across machines.
    pub slices: Option<(usize, Option<usize>)>,
    /// The output format: TIFF (as `layout` says) or one OME-Zarr store.
    pub format: OutputFormat,
    /// How the OME-Zarr store is written (`format` OmeZarr).
    pub zarr: OmeZarrOptions,
}

impl BuildOptions {
    pub fn new(input: impl Into<PathBuf>) -> Self {
        BuildOptions {
            input: input.into(),
            out: None,
            min_size: DEFAULT_MIN_SIZE,
            durable: false,
            selection: Selection::Auto,
            force: false,
            cancel: None,
            reader: ReadMode::Auto,
            writer: WriteMode::default(),
            layout: Layout::Slices,
            voxel_um: None,
            slices: None,
            format: OutputFormat::Tiff,
            zarr: OmeZarrOptions::default(),
        }
    }

    /// TIFF: `<input>/.thumbnail` for a folder, as CTHarvester expects; `<stem>.thumbnail`
    /// beside a multi-page file. OME-Zarr: `<input>.ome.zarr` beside the folder,
    /// `<stem>.ome.zarr` beside a multi-page file.
    pub fn out_root(&self) -> PathBuf {
        if let Some(out) = &self.out {
            return out.clone();
        }
        let suffix = match self.format {
            OutputFormat::Tiff => ".thumbnail",
            OutputFormat::OmeZarr => ".ome.zarr",
        };
        let beside = |name: &std::ffi::OsStr, at: &Path| {
            let mut name = name.to_os_string();
            name.push(suffix);
            at.with_file_name(name)
        };
        match (self.input.is_file(), self.input.file_stem()) {
            (true, Some(stem)) => beside(stem, &self.input),
            _ if self.format == OutputFormat::Tiff => self.input.join(suffix),
            _ => {
                // `.` or `..` name no folder: the canonical path does.
                let input = crate::platform::canonical(&self.input);
                match input.file_name() {
                    Some(name) => beside(name, &input),
                    None => input.join(&suffix[1..]),
                }
            }
        }
    }

    /// The alignment of `--slices` shards: `2^levels` input slices, times the chunk depth for
    /// OME-Zarr (a chunk is written whole by one shard, at every level).
    pub fn shard_unit(&self, plan: &Plan) -> usize {
        let unit = shard::unit(plan);
        match self.format {
            OutputFormat::Tiff => unit,
            OutputFormat::OmeZarr => unit.saturating_mul(self.zarr.chunks[0].max(1)),
        }
    }
}

/// What a build reports as it goes, for progress displays.
#[derive(Debug)]
pub enum Event<'a> {
    /// The stack was listed and its first slice read: this is what will be built.
    Planned {
        plan: &'a Plan,
        out_root: &'a Path,
        /// How the slices were chosen, when not every image of the folder (a SkyScan log).
        selection: Option<&'a str>,
        /// Outputs an earlier run completed, kept as they are: files (TIFF files, OME-Zarr
        /// chunk files) and the slices they hold.
        kept: Outputs,
        /// Outputs this build writes: one [`Event::SliceWritten`] comes for each slice.
        to_write: Outputs,
        /// Input slices that will be read (all of them, unless resuming).
        to_read: usize,
        /// Their pixel bytes.
        bytes_to_read: u64,
        /// The outputs on disk were built from other inputs or options (per `pyramid.json`)
        /// and are all rebuilt.
        stale: bool,
        /// The input slices this shard covers, when the build is one shard of several.
        shard: Option<Range<usize>>,
        /// The output format, and how an OME-Zarr store is written (`format` OmeZarr).
        format: OutputFormat,
        zarr: Option<&'a OmeZarrOptions>,
    },
    /// Input slice `index` (from 0) was read and reduced into level 1.
    SliceRead { index: usize, bytes: u64 },
    /// An output slice is complete under its final name (a TIFF file, a page of a stack
    /// file, a slice of an OME-Zarr chunk row: one event for each of the row's slices).
    SliceWritten {
        level: usize,
        index: usize,
        path: &'a Path,
    },
}

/// What a build did.
#[derive(Clone, Debug)]
pub struct Summary {
    pub plan: Plan,
    pub out_root: PathBuf,
    /// How the slices were chosen, when not every image of the folder.
    pub selection: Option<String>,
    /// Input slices read, and their pixel bytes.
    pub slices_read: usize,
    pub bytes_read: u64,
    /// Input slices read through a memory map with every row borrowed in place.
    pub zero_copy_slices: usize,
    /// Input slices that had to be decoded (compressed TIFF, PNG, JPEG...).
    pub decoded_slices: usize,
    /// Output files written: TIFF files, or OME-Zarr chunk files (metadata files aside).
    pub files_written: usize,
    /// Output files complete from an earlier run, left as they were.
    pub files_kept: usize,
    /// Output slices written and kept, every level's (level 0 too, for a format that stores
    /// the input): what `files_written` and `files_kept` hold.
    pub slices_written: usize,
    pub slices_kept: usize,
    pub format: OutputFormat,
    /// `pyramid.json`, written when the whole pyramid is complete (by the last shard to
    /// finish, when split).
    pub manifest: Option<PathBuf>,
    pub elapsed: Duration,
}

/// Builds the pyramid of the stack in `options.input`.
///
/// Input files are opened one after another in slice order, each mapped read-only; every
/// output file is complete under its final name before the next is started. Outputs that an
/// earlier run completed are kept (unless `force`), and only the inputs the missing ones
/// depend on are read.
pub fn build(options: &BuildOptions, on_event: &mut dyn FnMut(Event)) -> Result<Summary> {
    let start = Instant::now();
    let Prepared {
        note,
        stack,
        first,
        plan,
        shard,
        range,
        out_root,
        record,
    } = prepare(options)?;
    let layout = options.layout;
    let target = Target {
        plan: &plan,
        out_root: &out_root,
        durable: options.durable,
        writer: options.writer,
        record,
    };
    let mut output = crate::output::open(options.format, layout, &options.zarr, target)?;
    output.prepare(&range)?;
    let Found {
        recorded,
        done,
        to_read,
        stale,
    } = Found::new(output.as_ref(), &plan, options.force, &range)?;
    let slice_bytes = first.layout().pixel_bytes() as u64;
    on_event(Event::Planned {
        plan: &plan,
        out_root: &out_root,
        selection: note.as_deref(),
        kept: done.kept,
        to_write: done.missing,
        to_read: to_read.len(),
        bytes_to_read: slice_bytes * to_read.len() as u64,
        stale,
        shard: shard.clone(),
        format: options.format,
        zarr: (options.format == OutputFormat::OmeZarr).then_some(&options.zarr),
    });
    let writes = done.missing.slices > 0;
    if writes {
        // Until every output is in place again, the pyramid is not complete.
        output.mark().unpublish()?;
        output.begin(&done.scan)?;
    }
    // Declared after `output`, so dropped first: its last jobs are done before an
    // unfinished file of the format is removed.
    let writer = Writer::new(&out_root, WRITE_QUEUE)?;

    let mut cascade = Cascade {
        plan: &plan,
        cancel: options.cancel.as_deref(),
        done: &done,
        output: output.as_mut(),
        writer,
        inputs: Inputs {
            stack: &stack,
            opener: stack.opener(&to_read, options.reader)?,
            first,
        },
        files_written: 0,
        slices_written: 0,
        slices_read: 0,
        bytes_read: 0,
        zero_copy_slices: 0,
        decoded_slices: 0,
        on_event,
    };
    let mut walk = || -> Result<()> {
        let (deepest, count) = plan
            .levels
            .last()
            .map_or((0, plan.slices), |l| (l.level, l.slices));
        if deepest > 0 || cascade.output.stores_input() {
            for index in shard::level_range(&range, deepest, count) {
                cascade.obtain(deepest, index, false)?;
            }
        }
        Ok(())
    };
    let walked = walk();
    // Outputs computed before a stop (Ctrl-C, a damaged slice) are still written, and
    // reported: what the events said was written is exactly what is on disk.
    let flushed = cascade.finish_writes();
    walked?;
    flushed?;
    let finished = cascade.output.finish(&mut cascade.writer)?;
    cascade.written(finished);
    let (files_written, slices_written) = (cascade.files_written, cascade.slices_written);
    let (slices_read, bytes_read) = (cascade.slices_read, cascade.bytes_read);
    let (zero_copy_slices, decoded_slices) = (cascade.zero_copy_slices, cascade.decoded_slices);
    drop(cascade);

    // The mark of completion goes last, once every output of every shard is complete.
    // Shards finishing together take turns (a lock): each sees every output finished before
    // it took the lock, so the last one to take it writes the mark, or leaves none if
    // something is still missing.
    let manifest = if plan.levels.is_empty() && !output.stores_input() {
        None
    } else {
        let _lock = manifest::lock(&out_root)?;
        let complete = shard.is_none() || {
            let everything = 0..plan.slices;
            let scan = output.scan(false, &everything, Check::Present)?;
            Done::new(&plan, output.as_ref(), scan, &everything)
                .missing
                .slices
                == 0
        };
        let mark = output.mark();
        if !complete {
            mark.unpublish()?;
            None
        } else if writes || shard.is_some() || recorded != Recorded::Current {
            Some(mark.publish()?)
        } else {
            Some(mark.path())
        }
    };
    drop(output);

    Ok(Summary {
        files_written,
        files_kept: done.kept.files,
        slices_written,
        slices_kept: done.kept.slices,
        format: options.format,
        slices_read,
        bytes_read,
        zero_copy_slices,
        decoded_slices,
        plan,
        out_root,
        selection: note,
        manifest,
        elapsed: start.elapsed(),
    })
}

/// The stack listed and its first slice probed: what a build of `options` would write, and
/// where. Shared by [`build`] and [`survey`].
struct Prepared {
    /// How the slices were chosen, when not every image of the folder.
    note: Option<String>,
    stack: Stack,
    /// The first slice, probed (no pixel read): it sets the geometry.
    first: SliceFile,
    plan: Plan,
    shard: Option<Range<usize>>,
    /// The input slices built: the shard's, or all.
    range: Range<usize>,
    out_root: PathBuf,
    record: manifest::Record,
}

fn prepare(options: &BuildOptions) -> Result<Prepared> {
    let mut listing = select(&options.input, &options.selection)?;
    let inputs = listing
        .paths
        .iter()
        .map(|p| InputFile::of(p))
        .collect::<Result<Vec<_>>>()?;
    let stack = Stack::new(std::mem::take(&mut listing.paths))?;
    // The first slice's header sets the geometry; no pixel is read for it yet.
    let first = stack.first(&options.input)?;
    listing.check_first(first.layout().width, first.layout().height);
    let mut plan = Plan::new(
        first.layout().width,
        first.layout().height,
        first.layout().depth,
        stack.len(),
        options.min_size,
    );
    let voxel = voxel::resolve(
        options.voxel_um,
        listing.log.as_ref(),
        first.path(),
        first.scale(),
    );
    (plan.voxel_um, plan.voxel_source) = voxel.map_or((None, None), |(um, s)| (Some(um), Some(s)));
    plan.source_id = manifest::source_id(&inputs);
    let layout = options.layout;
    let zarr = options.format == OutputFormat::OmeZarr;
    let shard = match options.slices {
        None => None,
        Some(_) if layout == Layout::Stack && !zarr => {
            return Err(Error::Usage(
                "--slices cannot split a --layout stack build: each level is one file".into(),
            ))
        }
        Some((a, b)) => {
            let unit = options.shard_unit(&plan);
            Some(shard::check(&plan, unit, a, b).map_err(Error::Usage)?)
        }
    };
    let range = shard.clone().unwrap_or(0..plan.slices);
    let out_root = options.out_root();
    let record = manifest::Record {
        out_root: out_root.clone(),
        source: manifest::Source {
            inputs,
            plan: plan.clone(),
            layout,
        },
        source_dir: options.input.clone(),
        selection: listing.note.clone(),
        file_names: file_names(&plan, layout),
        durable: options.durable,
    };
    Ok(Prepared {
        note: listing.note,
        stack,
        first,
        plan,
        shard,
        range,
        out_root,
        record,
    })
}

/// What is on disk, output by output, and what a build therefore reads and writes.
struct Found {
    recorded: Recorded,
    done: Done,
    /// The input slices to read.
    to_read: Vec<usize>,
    /// The outputs on disk, or the mark of completion, are another build's.
    stale: bool,
}

impl Found {
    /// Every output names the inputs it was computed from (`Plan::source_id`, in a TIFF header
    /// or the OME-Zarr arrays' metadata), so outputs of replaced inputs never count, whatever
    /// the mark of completion says; `stale` only reports that the recorded pyramid is not
    /// this one.
    fn new(
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

/// Outputs counted both ways: the files on disk (TIFF files, OME-Zarr chunk files) and the
/// slices they hold (every level's, and level 0's for a format that stores the input).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Outputs {
    pub files: usize,
    pub slices: usize,
}

/// One level of what is on disk (level 0: the input, stored by OME-Zarr).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LevelFound {
    pub level: usize,
    /// Slices complete and this build's, and the level's slices.
    pub complete: usize,
    pub slices: usize,
}

/// What `build` with the same options would find in its output and do: the very scan a build
/// resumes from ([`LevelWriter::scan`], every output checked as for resuming), without
/// writing anything. For `inspect`.
#[derive(Clone, Debug, PartialEq)]
pub struct Survey {
    pub out_root: PathBuf,
    pub format: OutputFormat,
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
    /// Outputs a build would keep, and write.
    pub kept: Outputs,
    pub to_write: Outputs,
    /// Input slices a build would read.
    pub to_read: usize,
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
    let prepared = prepare(options)?;
    let (plan, range) = (&prepared.plan, &prepared.range);
    let target = Target {
        plan,
        out_root: &prepared.out_root,
        durable: false,
        writer: options.writer,
        record: prepared.record.clone(),
    };
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

/// The names of each level's files, relative to the output root, for `pyramid.json`.
pub(crate) fn file_names(plan: &Plan, layout: Layout) -> Vec<Vec<String>> {
    match layout {
        Layout::Slices => crate::output::tiff_slices::file_names(plan),
        Layout::Stack => plan
            .levels
            .iter()
            .map(|l| vec![format!("level{}.tif", l.level)])
            .collect(),
    }
}

pub use crate::output::tiff_slices::{level_dir, slice_path};
pub use crate::output::tiff_stack::stack_path;

/// Which outputs an earlier run completed (see [`LevelWriter::scan`]), and below which
/// outputs something is still missing.
struct Done {
    /// What the format found: `scan.levels[l - 1][k]` level `l` slice `k` is complete;
    /// `scan.input[k]` input slice `k` is stored (formats that store the input).
    scan: Scan,
    /// `missing_below[l - 1][k]`: some output that level `l` slice `k` depends on is missing.
    missing_below: Vec<Vec<bool>>,
    /// Complete outputs among those of the input range, and missing ones.
    kept: Outputs,
    missing: Outputs,
}

impl Done {
    fn new(plan: &Plan, output: &dyn LevelWriter, scan: Scan, range: &Range<usize>) -> Done {
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
    fn is_done(&self, level: usize, index: usize) -> bool {
        match level {
            0 => self.scan.input.get(index).copied().unwrap_or(true),
            _ => self.scan.levels[level - 1][index],
        }
    }

    fn missing_below(&self, level: usize, index: usize) -> bool {
        self.missing_below[level - 1][index]
    }
}

/// The input slices a build reads, opened strictly in slice order, ahead, by an [`Opener`].
struct Inputs<'s> {
    stack: &'s Stack,
    /// Opens the slices the cascade needs, which it asks for exactly in order.
    opener: Opener,
    /// The first slice, probed (no pixel read): what every slice must match.
    first: SliceFile,
}

impl Inputs<'_> {
    fn take(&mut self, index: usize) -> Result<SliceFile> {
        let Some(slice) = self.opener.next() else {
            let name = self.stack.name(index);
            return Err(Error::bad_input(Path::new(&name), "internal: not opened"));
        };
        let slice = slice?;
        slice.check_matches(&self.first)?;
        Ok(slice)
    }
}

/// A slice the cascade reduces: an input file, an output of the level above just computed,
/// or one an earlier run wrote, read back.
pub enum Source {
    Input(SliceFile),
    Level(Finished),
}

impl Source {
    fn plane<T: Sample>(&self) -> Plane<'_, T> {
        match self {
            Source::Input(s) => s.plane(),
            Source::Level(t) => t.plane(),
        }
    }
}

struct Cascade<'a, 'e> {
    plan: &'a Plan,
    cancel: Option<&'a AtomicBool>,
    done: &'a Done,
    inputs: Inputs<'a>,
    /// The format the levels are written in.
    output: &'a mut dyn LevelWriter,
    /// Writes outputs, and unmaps inputs, on a thread of its own.
    writer: Writer<Written>,
    files_written: usize,
    slices_written: usize,
    slices_read: usize,
    bytes_read: u64,
    zero_copy_slices: usize,
    decoded_slices: usize,
    on_event: &'e mut dyn FnMut(Event),
}

impl Cascade<'_, '_> {
    /// Makes sure level `level` slice `index` and every output below it exist, and returns
    /// its pixels if `need` (its parent is being computed). Walking the tree left to right
    /// asks for input slices in ascending order, and each level holds at most one slice
    /// waiting for its partner: memory stays at a few slices whatever the stack's length.
    fn obtain(&mut self, level: usize, index: usize, need: bool) -> Result<Option<Source>> {
        if level == 0 {
            // The input; stored as level 0 by a format that keeps it, unless already.
            let store = !self.done.is_done(0, index);
            if !need && !store {
                return Ok(None);
            }
            let slice = self.input(index)?;
            if store {
                let written = self.output.write_input(index, &slice, &mut self.writer)?;
                self.written(written);
            }
            return Ok(Some(Source::Input(slice)));
        }
        if self.done.is_done(level, index) {
            if self.done.missing_below(level, index) {
                for child in self.children(level, index) {
                    self.obtain(level - 1, child, false)?;
                }
            }
            if !need {
                return Ok(None);
            }
            // Resuming: the level above this one's missing parent was completed earlier;
            // read it back rather than recompute it from the inputs.
            return self.output.read_back(level, index).map(Some);
        }
        let mut children = self.children(level, index);
        let a = match children.next() {
            Some(c) => self.obtain(level - 1, c, true)?,
            None => None,
        };
        let b = match children.next() {
            Some(c) => self.obtain(level - 1, c, true)?,
            None => None,
        };
        let Some(a) = a else {
            return Err(Error::bad_input(
                &self.output.path(level, index),
                "internal: a slice without sources",
            ));
        };
        let reduced = self.reduce(level, index, &a, b.as_ref())?;
        self.retire(a)?;
        if let Some(b) = b {
            self.retire(b)?;
        }
        Ok(Some(reduced))
    }

    /// The slices of level `level - 1` that level `level` slice `index` comes from.
    fn children(&self, level: usize, index: usize) -> impl Iterator<Item = usize> {
        let count = match level {
            1 => self.plan.slices,
            _ => self.plan.levels[level - 2].slices,
        };
        2 * index..(2 * index + 2).min(count)
    }

    fn input(&mut self, index: usize) -> Result<SliceFile> {
        self.check_cancel()?;
        let slice = self.inputs.take(index)?;
        let bytes = slice.layout().pixel_bytes() as u64;
        self.slices_read += 1;
        self.bytes_read += bytes;
        match slice.read_path() {
            ReadPath::ZeroCopy => self.zero_copy_slices += 1,
            ReadPath::Decoded(_) => self.decoded_slices += 1,
            ReadPath::Converted(_) => {}
        }
        (self.on_event)(Event::SliceRead { index, bytes });
        Ok(slice)
    }

    fn check_cancel(&self) -> Result<()> {
        match self.cancel {
            Some(flag) if flag.load(Ordering::Relaxed) => Err(Error::Cancelled),
            _ => Ok(()),
        }
    }

    /// Computes level `level` slice `index` from `a` and `b` (or `a` alone) and hands it to
    /// the format.
    fn reduce(
        &mut self,
        level: usize,
        index: usize,
        a: &Source,
        b: Option<&Source>,
    ) -> Result<Source> {
        self.check_cancel()?;
        let width = self.plan.levels[level - 1].width;
        let depth = self.plan.depth;
        // Output buffers and maps start on a 16-byte boundary: the casts never fail.
        let mut fill = |out: &mut [u8]| match depth {
            Depth::U8 => reduce_planes::<u8>(a, b, out, width),
            Depth::U16 => reduce_planes::<u16>(a, b, bytemuck::cast_slice_mut(out), width),
        };
        let (done, written) = self
            .output
            .write(level, index, &mut fill, &mut self.writer)?;
        self.written(written);
        Ok(Source::Level(done))
    }

    /// Drops a slice the cascade is done with on the writer thread: unmapping an input costs
    /// as much as mapping it, and need not hold up the next pair.
    fn retire(&mut self, source: Source) -> Result<()> {
        let unmap = move || {
            drop(source);
            Ok(())
        };
        let written = self.writer.submit(None, Box::new(unmap))?;
        self.written(written);
        Ok(())
    }

    /// Waits for the writer thread's last files.
    fn finish_writes(&mut self) -> Result<()> {
        let written = self.writer.finish()?;
        self.written(written);
        Ok(())
    }

    /// Reports outputs complete under their final names.
    fn written(&mut self, outputs: impl IntoIterator<Item = Written>) {
        for w in outputs {
            self.files_written += w.files;
            self.slices_written += w.slices.len();
            for index in w.slices {
                let path = self.output.path(w.level, index);
                (self.on_event)(Event::SliceWritten {
                    level: w.level,
                    index,
                    path: &path,
                });
            }
        }
    }
}

/// Jobs waiting for the writer thread at most: enough to ride out a slow `rename` or
/// `fsync`, few enough to keep memory bounded (a few slices' outputs and input maps).
/// Each pair queues three jobs (its output, unmapping its two inputs) and every second pair
/// as many again for the next level, in bursts: with 4, the cascade waited on a full queue
/// 6-9 ms a warm build and the cores idled meanwhile. 16 took a warm build of 128 x 2048^2
/// from 0.258 to 0.218 s (cat: 0.152 s; medians of 11 interleaved) and 512 x 1024^2 from
/// 0.616 to 0.527 s, for 15 MB more peak memory (50 -> 65 MB; 15.5 -> 24.5 MB).
const WRITE_QUEUE: usize = 16;

fn reduce_planes<T: Sample>(a: &Source, b: Option<&Source>, out: &mut [T], width: usize) {
    reduce_slices(
        &a.plane::<T>(),
        b.map(|b| b.plane::<T>()).as_ref(),
        out,
        width,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_follow_ctharvester() {
        let sizes = |w, h, n| {
            Plan::new(w, h, Depth::U16, n, DEFAULT_MIN_SIZE)
                .levels
                .iter()
                .map(|l| (l.width, l.height, l.slices))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            sizes(2048, 2048, 128),
            [(1024, 1024, 64), (512, 512, 32), (256, 256, 16)]
        );
        assert_eq!(sizes(1030, 40, 6), [(515, 20, 3), (257, 10, 2)]);
        assert_eq!(sizes(1003, 1003, 6), [(501, 501, 3), (250, 250, 2)]);
        assert_eq!(sizes(500, 500, 10), []);
        assert_eq!(sizes(501, 3, 1), [(250, 1, 1)]);
        // No level with zero rows.
        assert_eq!(sizes(4000, 1, 4), []);
    }
}
