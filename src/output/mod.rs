//! Writing the levels: one place picks the output format ([`open`]), and each format is a
//! module of its own behind the one interface the cascade writes levels through
//! ([`LevelWriter`]), as image-tiff keeps one file per codec:
//!
//! - [`tiff_slices`]: CTHarvester's `<out>/<L>/<k:06>.tif`, one baseline TIFF a slice;
//! - [`tiff_stack`]: one multi-page TIFF a level, that ImageJ opens as a z-stack;
//! - [`ome_zarr`]: one OME-Zarr multiscale store, level 0 the input itself.
//!
//! What the formats share lives beside them: the TIFF header ([`tiff_header`]) and
//! `pyramid.json` ([`manifest`]) of the two TIFF layouts, output pixels computed into a reused
//! buffer ([`pixels`]) and written by the [`WriteQueue`] thread while the cores compute the
//! next slice. Every file is published crash-safe ([`crate::publish`]).

pub mod manifest;
pub mod mesh;
pub mod ome_zarr;
pub mod pixels;
pub mod queue;
pub mod tiff_files;
pub mod tiff_header;
pub mod tiff_slices;
pub mod tiff_stack;

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::Result;
use crate::identity::BuildIdentity;
use crate::input::SliceFile;
use crate::options::{OmeZarrOptions, OutputFormat, TiffLayout, WriteMode};
use crate::plan::Plan;

pub use pixels::{Computed, Finished, PixelSource};
pub use queue::{Job, WriteQueue};
pub use tiff_stack::StackTiff;

/// Outputs complete under their final names: level `level` slices `slices`, in `files` new
/// files (0 for a page of a stack file not yet renamed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Written {
    pub level: usize,
    pub slices: Range<usize>,
    pub files: usize,
}

/// What an earlier run left: which outputs are complete, level by level.
pub struct Scan {
    /// `levels[l - 1][k]`: level `l` slice `k` is complete on disk and this build's.
    pub levels: Vec<Vec<bool>>,
    /// `input[k]`: input slice `k` is stored and complete, for a format that stores the input
    /// as its level 0 ([`LevelWriter::stores_input`]); empty otherwise.
    pub input: Vec<bool>,
    /// Outputs on disk that belong to another build (other inputs or options): none of them
    /// is kept.
    pub stale: bool,
}

/// How thoroughly [`LevelWriter::scan`] checks what is on disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    /// Every output that may be kept is read back as far as needed to trust it (resuming).
    Thorough,
    /// Presence under the final name is enough: anything there was published complete by
    /// this build or one of its shards (deciding whether the whole pyramid is done).
    Present,
}

/// The interface the cascade writes levels through. The cascade hands over each output
/// slice, level by level in ascending order within a level, and with [`stores_input`] each
/// input slice too; a format decides how they are laid out, written and published.
///
/// [`stores_input`]: LevelWriter::stores_input
pub trait LevelWriter {
    /// Whether the input itself is stored, as level 0.
    fn stores_input(&self) -> bool {
        false
    }

    /// Creates folders and removes what an earlier run left that this run will not overwrite
    /// (only for the input slices `range`: other shards may be writing the rest).
    fn prepare(&mut self, range: &Range<usize>) -> Result<()>;

    /// Which outputs of `range` an earlier run completed for this very build (none if
    /// `force`).
    fn scan(&self, force: bool, range: &Range<usize>, check: Check) -> Result<Scan>;

    /// How many files hold level `level`'s slices `slices` (level 0: the stored input), a
    /// run that [`LevelWriter::scan`] found all complete or all missing: what `kept` and
    /// `files_written` count. One file a slice unless a format says otherwise.
    fn files(&self, _level: usize, slices: &Range<usize>) -> usize {
        slices.len()
    }

    /// Called once before the first output is written, when something will be.
    fn begin(&mut self, scan: &Scan) -> Result<()>;

    /// Stores input slice `index` (only if [`LevelWriter::stores_input`]).
    fn write_input(
        &mut self,
        _index: usize,
        _slice: &Arc<SliceFile>,
        _writer: &mut WriteQueue<Written>,
    ) -> Result<Vec<Written>> {
        Ok(Vec::new())
    }

    /// Computes level `level` slice `index` with `fill` (given its pixel bytes, native
    /// byte order, rows of the level's width) and writes it (or queues it on `writer`).
    /// Returns the pixels, kept for the next level, and the outputs completed since.
    fn write(
        &mut self,
        level: usize,
        index: usize,
        fill: &mut dyn FnMut(&mut [u8]),
        writer: &mut WriteQueue<Written>,
    ) -> Result<(Finished, Vec<Written>)>;

    /// Level `level` slice `index`, complete from an earlier run, read back as a source of
    /// the next level.
    fn read_back(&self, level: usize, index: usize) -> Result<PixelSource>;

    /// Once every output was handed over and `writer` is idle: completes what is written
    /// whole (a stack file is renamed).
    fn finish(&mut self, writer: &mut WriteQueue<Written>) -> Result<Vec<Written>>;

    /// The file (or folder) a level `level` slice `index` is written to, for events.
    fn path(&self, level: usize, index: usize) -> PathBuf;

    /// The mark of a complete pyramid: `pyramid.json`, or the OME-Zarr group metadata.
    fn mark(&self) -> &dyn Mark;
}

/// The mark of a complete pyramid, written last: its presence means every output is there.
pub trait Mark {
    /// Whether one is there, and whether it records this build.
    fn recorded(&self) -> Recorded;

    /// Removes it: the pyramid is about to change.
    fn unpublish(&self) -> Result<()>;

    /// Writes it, once every output is complete; returns its path.
    fn publish(&self) -> Result<PathBuf>;

    /// Where it is.
    fn path(&self) -> PathBuf;
}

/// The mark of a complete pyramid found in the output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recorded {
    /// There is none.
    None,
    /// Written for this build.
    Current,
    /// Written for other inputs or options.
    Stale,
}

/// Everything a format needs to know about the build.
pub struct Target<'a> {
    /// The levels to write.
    pub plan: &'a Plan,
    /// The folder of the levels, or the store.
    pub out_root: &'a Path,
    /// Flush every file before it is published.
    pub durable: bool,
    /// How output pixels reach their files.
    pub writer: WriteMode,
    /// What decides the outputs' bytes, which the mark of completion records.
    pub identity: &'a BuildIdentity,
    /// The folder (or multi-page file) of slices, and how they were chosen when not every
    /// image of the folder: for `pyramid.json` and the store's name.
    pub source: &'a Path,
    pub selection: Option<&'a str>,
}

/// The one place that picks the output format.
pub fn open<'a>(
    format: OutputFormat,
    layout: TiffLayout,
    zarr: &OmeZarrOptions,
    target: Target<'a>,
) -> Result<Box<dyn LevelWriter + 'a>> {
    Ok(match (format, layout) {
        (OutputFormat::Tiff, TiffLayout::Slices) => Box::new(tiff_slices::TiffSlices::new(target)?),
        (OutputFormat::Tiff, TiffLayout::Stack) => Box::new(tiff_stack::TiffStack::new(target)?),
        #[cfg(feature = "ome-zarr")]
        (OutputFormat::OmeZarr, _) => Box::new(ome_zarr::OmeZarr::new(target, zarr)?),
        #[cfg(not(feature = "ome-zarr"))]
        (OutputFormat::OmeZarr, _) => {
            let _ = (zarr, target);
            let reason = "this ctpyramid was built without the ome-zarr feature";
            return Err(crate::error::Error::invalid("format", "ome-zarr", reason));
        }
    })
}
