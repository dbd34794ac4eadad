//! The pyramid cascade: every level built in one pass over the input slices.
//!
//! Level 1 slice k comes from input slices 2k and 2k+1; level L+1 slice k from level L slices
//! 2k and 2k+1 in the same way. Slices are pushed into the cascade in order; each level keeps
//! at most one slice waiting for its partner (for level 0, the input map; for deeper levels, the
//! map of the output file just written), so memory stays at a few slices whatever the stack's
//! length, and no level is ever read back from disk.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rayon::prelude::*;

use crate::discover::{select, Selection};
use crate::error::{Error, Result};
use crate::kernel::{halve_row, reduce_pair_row, Sample};
use crate::layout::{Depth, SliceLayout};
use crate::output::{FinishedTiff, OutputTiff};
use crate::plane::Plane;
use crate::slice::{ReadPath, SliceFile, Stack};

/// CTHarvester's rule: keep halving while a level is wider or taller than this.
pub const DEFAULT_MIN_SIZE: usize = 500;

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
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    pub width: usize,
    pub height: usize,
    pub depth: Depth,
    pub slices: usize,
    pub levels: Vec<Level>,
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
}

impl BuildOptions {
    pub fn new(input: impl Into<PathBuf>) -> Self {
        BuildOptions {
            input: input.into(),
            out: None,
            min_size: DEFAULT_MIN_SIZE,
            durable: false,
            selection: Selection::Auto,
        }
    }

    /// `<input>/.thumbnail` for a folder, as CTHarvester expects; `<stem>.thumbnail` beside a
    /// multi-page file.
    pub fn out_root(&self) -> PathBuf {
        if let Some(out) = &self.out {
            return out.clone();
        }
        match (self.input.is_file(), self.input.file_stem()) {
            (true, Some(stem)) => {
                let mut name = stem.to_os_string();
                name.push(".thumbnail");
                self.input.with_file_name(name)
            }
            _ => self.input.join(".thumbnail"),
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
    },
    /// Input slice `index` (from 0) was read and reduced into level 1.
    SliceRead { index: usize, bytes: u64 },
    /// An output file is complete under its final name.
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
    /// Bytes of input files read.
    pub bytes_read: u64,
    /// Input slices read through a memory map with every row borrowed in place.
    pub zero_copy_slices: usize,
    /// Input slices that had to be decoded (compressed TIFF, PNG, JPEG...).
    pub decoded_slices: usize,
    pub files_written: usize,
    pub elapsed: Duration,
}

/// Builds the pyramid of the stack in `options.input`.
///
/// Input files are opened one after another in slice order, each mapped read-only; every
/// output file is complete under its final name before the next is started.
pub fn build(options: &BuildOptions, on_event: &mut dyn FnMut(Event)) -> Result<Summary> {
    let start = Instant::now();
    let listing = select(&options.input, &options.selection)?;
    let stack = Stack::new(listing.paths)?;
    let mut reader = stack.reader();
    let first = match reader.next() {
        Some(first) => first?,
        None => {
            return Err(Error::NoSlices {
                dir: options.input.clone(),
            })
        }
    };
    let plan = Plan::new(
        first.layout().width,
        first.layout().height,
        first.layout().depth,
        stack.len(),
        options.min_size,
    );
    let out_root = options.out_root();
    prepare_output(&out_root, &plan)?;
    on_event(Event::Planned {
        plan: &plan,
        out_root: &out_root,
        selection: listing.note.as_deref(),
    });

    let mut cascade = Cascade {
        plan: &plan,
        out_root: &out_root,
        durable: options.durable,
        pending: (0..plan.levels.len()).map(|_| None).collect(),
        written: vec![0; plan.levels.len() + 1],
        on_event,
    };
    let mut bytes_read = 0;
    let mut zero_copy_slices = 0;
    let mut decoded_slices = 0;
    let first_layout = first.layout().clone();
    let first_name = first.name();
    let mut next = Some(first);
    for index in 0..stack.len() {
        let Some(current) = next.take() else { break };
        // Open the next slice now, so its pages are read in while this one is reduced;
        // slices are still opened strictly in order.
        if let Some(slice) = reader.next() {
            let slice = slice?;
            check_same(&slice, &first_layout, &first_name)?;
            slice.prefetch();
            next = Some(slice);
        }
        let bytes = current.layout().pixel_bytes() as u64;
        bytes_read += bytes;
        match current.read_path() {
            ReadPath::ZeroCopy => zero_copy_slices += 1,
            ReadPath::Decoded(_) => decoded_slices += 1,
            ReadPath::Converted(_) => {}
        }
        cascade.push(0, Source::Input(current))?;
        (cascade.on_event)(Event::SliceRead { index, bytes });
    }
    cascade.finish()?;

    Ok(Summary {
        files_written: cascade.written.iter().sum(),
        plan: plan.clone(),
        out_root,
        selection: listing.note,
        bytes_read,
        zero_copy_slices,
        decoded_slices,
        elapsed: start.elapsed(),
    })
}

fn check_same(slice: &SliceFile, first: &SliceLayout, first_name: &str) -> Result<()> {
    let layout = slice.layout();
    if (layout.width, layout.height, layout.depth) != (first.width, first.height, first.depth) {
        return Err(Error::Mismatch {
            path: PathBuf::from(slice.name()),
            reason: format!("slice is {}", layout.describe()),
            first_path: PathBuf::from(first_name),
            first: first.describe(),
        });
    }
    Ok(())
}

/// Creates the level folders and removes what an earlier run may have left in them that this
/// run will not overwrite: temporary files, and numbered slices beyond this run's count (a
/// viewer that counts files must not see them).
fn prepare_output(root: &Path, plan: &Plan) -> Result<()> {
    for level in &plan.levels {
        let dir = level_dir(root, level.level);
        std::fs::create_dir_all(&dir).map_err(|e| Error::write(&dir, e))?;
        let entries = std::fs::read_dir(&dir).map_err(|e| Error::write(&dir, e))?;
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let stale = match name.strip_suffix(".tif") {
                Some(num) if num.len() == 6 => {
                    num.parse::<usize>().is_ok_and(|k| k >= level.slices)
                }
                _ => name.starts_with('.') && name.ends_with(".tif.partial"),
            };
            if stale {
                let path = entry.path();
                std::fs::remove_file(&path).map_err(|e| Error::write(&path, e))?;
            }
        }
    }
    Ok(())
}

pub fn level_dir(root: &Path, level: usize) -> PathBuf {
    root.join(level.to_string())
}

pub fn slice_path(root: &Path, level: usize, index: usize) -> PathBuf {
    level_dir(root, level).join(format!("{index:06}.tif"))
}

/// A slice the cascade reduces: an input file, or an output file of the level above.
enum Source {
    Input(SliceFile),
    Level(FinishedTiff),
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
    out_root: &'a Path,
    durable: bool,
    /// `pending[l]`: a slice of level `l` (0 = input) waiting for its partner.
    pending: Vec<Option<Source>>,
    /// `written[l]`: slices written so far at level `l` (index 0 unused).
    written: Vec<usize>,
    on_event: &'e mut dyn FnMut(Event),
}

impl Cascade<'_, '_> {
    /// Adds slice `source` to level `level`, and whatever it completes below.
    fn push(&mut self, mut level: usize, mut source: Source) -> Result<()> {
        while level < self.plan.levels.len() {
            match self.pending[level].take() {
                None => {
                    self.pending[level] = Some(source);
                    break;
                }
                Some(first) => {
                    source = self.reduce(level + 1, &first, Some(&source))?;
                    level += 1;
                }
            }
        }
        Ok(())
    }

    /// After the last input: each level's odd last slice is halved alone, top down, so it
    /// can still pair with (or be) the last slice of the level below.
    fn finish(&mut self) -> Result<()> {
        for level in 0..self.plan.levels.len() {
            if let Some(last) = self.pending[level].take() {
                let out = self.reduce(level + 1, &last, None)?;
                self.push(level + 1, out)?;
            }
        }
        Ok(())
    }

    /// Writes the next slice of `level` from `a` and `b` (or `a` alone).
    fn reduce(&mut self, level: usize, a: &Source, b: Option<&Source>) -> Result<Source> {
        let geometry = &self.plan.levels[level - 1];
        let index = self.written[level];
        let path = slice_path(self.out_root, level, index);
        let mut out = OutputTiff::create(
            path.clone(),
            geometry.width,
            geometry.height,
            self.plan.depth,
        )?;
        match self.plan.depth {
            Depth::U8 => reduce_planes::<u8>(a, b, out.pixels_mut(), geometry.width),
            Depth::U16 => reduce_planes::<u16>(a, b, out.pixels_mut(), geometry.width),
        }
        let done = out.finish(self.durable)?;
        self.written[level] += 1;
        (self.on_event)(Event::SliceWritten {
            level,
            index,
            path: &path,
        });
        Ok(Source::Level(done))
    }
}

/// Rows scratch for one rayon task; stays empty (no allocation) on the zero-copy path.
#[derive(Default)]
struct Scratch<T> {
    rows: [Vec<T>; 4],
}

/// Fills `out` (rows of `width`) from `a` and `b`, rows in parallel.
fn reduce_planes<T: Sample>(a: &Source, b: Option<&Source>, out: &mut [T], width: usize) {
    let a = a.plane::<T>();
    let b = b.map(|b| b.plane::<T>());
    // About 32 KiB of output per task: large enough to amortize scheduling, small enough to
    // balance rows over cores.
    let rows_per_task = (32 * 1024 / (width * std::mem::size_of::<T>())).max(1);
    out.par_chunks_mut(width)
        .enumerate()
        .with_min_len(rows_per_task)
        .for_each_init(Scratch::<T>::default, |scratch, (y, row)| {
            let [s0, s1, s2, s3] = &mut scratch.rows;
            let a0 = a.row(2 * y, s0);
            let a1 = a.row(2 * y + 1, s1);
            match &b {
                Some(b) => reduce_pair_row(a0, a1, b.row(2 * y, s2), b.row(2 * y + 1, s3), row),
                None => halve_row(a0, a1, row),
            }
        });
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
