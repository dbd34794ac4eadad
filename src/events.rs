//! What a build tells its caller: [`Event`]s as it goes, and a [`Summary`] at the end. The
//! vocabulary of progress displays; [`crate::progress`] gives them as JSON.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::options::{MeshFormat, OmeZarrOptions, OutputFormat, Units};
use crate::pixel::Depth;
use crate::plan::Plan;
use crate::region::Region;

/// What a build reports as it goes, for progress displays.
#[derive(Debug)]
pub enum Event<'a> {
    /// The stack was listed and its first slice read: this is what will be built.
    Planned {
        /// The pyramid: input geometry, levels, voxel size.
        plan: &'a Plan,
        /// Where it goes: the folder of the levels, or the store.
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
        /// The output format.
        format: OutputFormat,
        /// How the OME-Zarr store is written (`format` OmeZarr).
        zarr: Option<&'a OmeZarrOptions>,
    },
    /// A read or a crop of a box is about to start: this is what will be read.
    CropPlanned {
        /// The stack.
        input: &'a Path,
        /// The level the box is of (0: the input).
        level: usize,
        /// The box, in the level's pixels and slices.
        region: &'a Region,
        /// The sample type.
        depth: Depth,
        /// Where a crop writes its files (none for a read into memory).
        out: Option<&'a Path>,
        /// Output files an earlier run of the same crop completed, kept as they are.
        kept: usize,
        /// Slices of the box to read.
        to_read: usize,
        /// Their pixel bytes in the box.
        bytes_to_read: u64,
    },
    /// A mesh of a box is about to be made: this is what will be read.
    MeshPlanned {
        /// The stack.
        input: &'a Path,
        /// The level the box is of (0: the input).
        level: usize,
        /// The box, in the level's pixels and slices.
        region: &'a Region,
        /// The sample type.
        depth: Depth,
        /// The iso value.
        iso: f64,
        /// The vertices' coordinates.
        units: Units,
        /// The file written, and its format (none for a mesh kept in memory).
        out: Option<(&'a Path, MeshFormat)>,
        /// Slices of the box to read, and their pixel bytes in the box.
        to_read: usize,
        /// See `to_read`.
        bytes_to_read: u64,
    },
    /// Input slice `index` (from 0) was read and reduced into level 1 (a crop: slice `index`
    /// of its level was read, `bytes` of it in the box).
    SliceRead {
        /// The slice, from 0.
        index: usize,
        /// Its pixel bytes.
        bytes: u64,
    },
    /// An output slice is complete under its final name (a TIFF file, a page of a stack
    /// file, a slice of an OME-Zarr chunk row: one event for each of the row's slices).
    SliceWritten {
        /// Its level (0: the input, stored by a format that keeps it).
        level: usize,
        /// The slice of the level, from 0.
        index: usize,
        /// The file (or, for OME-Zarr, the level's folder) it is in.
        path: &'a Path,
    },
}

/// What a build did.
#[derive(Clone, Debug)]
pub struct Summary {
    /// What was built.
    pub plan: Plan,
    /// Where: the folder of the levels, or the store.
    pub out_root: PathBuf,
    /// How the slices were chosen, when not every image of the folder.
    pub selection: Option<String>,
    /// Input slices read.
    pub slices_read: usize,
    /// Their pixel bytes.
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
    /// See `slices_written`.
    pub slices_kept: usize,
    /// The output format.
    pub format: OutputFormat,
    /// `pyramid.json`, written when the whole pyramid is complete (by the last shard to
    /// finish, when split).
    pub manifest: Option<PathBuf>,
    /// How long the build took.
    pub elapsed: Duration,
}

/// Outputs counted both ways: the files on disk (TIFF files, OME-Zarr chunk files) and the
/// slices they hold (every level's, and level 0's for a format that stores the input).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Outputs {
    /// Files on disk: TIFF files, or OME-Zarr chunk files.
    pub files: usize,
    /// The slices they hold.
    pub slices: usize,
}

/// What a read or a crop did.
#[derive(Clone, Debug)]
pub struct CropSummary {
    /// The level the box is of (0: the input).
    pub level: usize,
    /// The box.
    pub region: Region,
    /// The sample type.
    pub depth: Depth,
    /// Where the crop's files are (none for a read into memory).
    pub out: Option<PathBuf>,
    /// Slices read, and their pixel bytes in the box.
    pub slices_read: usize,
    /// See `slices_read`.
    pub bytes_read: u64,
    /// Bytes of the files read from disk or the page cache to get them: the bands of rows of
    /// the box where the pixels are stored plainly, whole files where they are decoded.
    pub file_bytes_read: u64,
    /// Bytes of the files the slices are in.
    pub file_bytes: u64,
    /// Slices read through a memory map, rows borrowed in place.
    pub zero_copy_slices: usize,
    /// Slices decoded (compressed TIFF, PNG, JPEG).
    pub decoded_slices: usize,
    /// Files written, and kept from an earlier run of the same crop.
    pub files_written: usize,
    /// See `files_written`.
    pub files_kept: usize,
    /// The crop's record (`crop.json`), written last.
    pub record: Option<PathBuf>,
    /// How long it took.
    pub elapsed: Duration,
}

/// What a mesh did.
#[derive(Clone, Debug)]
pub struct MeshSummary {
    /// The level the box is of (0: the input).
    pub level: usize,
    /// The box.
    pub region: Region,
    /// The sample type.
    pub depth: Depth,
    /// The iso value.
    pub iso: f64,
    /// The vertices' coordinates.
    pub units: Units,
    /// The edge of the level's voxels in micrometres, when known.
    pub voxel_um: Option<f64>,
    /// The file written, its format and size in bytes (none for a mesh kept in memory).
    pub out: Option<(PathBuf, MeshFormat, u64)>,
    /// Vertices and triangles of the mesh.
    pub vertices: u64,
    /// See `vertices`.
    pub triangles: u64,
    /// Triangles left out for having two corners at one vertex (two edges meeting at a
    /// sample equal to the iso value).
    pub degenerate: u64,
    /// NaN samples in the box (a cube with a NaN corner makes no triangle).
    pub nan_samples: u64,
    /// Slices read, and their pixel bytes in the box.
    pub slices_read: usize,
    /// See `slices_read`.
    pub bytes_read: u64,
    /// Bytes of the files read from disk or the page cache to get them.
    pub file_bytes_read: u64,
    /// Slices read through a memory map, rows borrowed in place.
    pub zero_copy_slices: usize,
    /// Slices decoded (compressed TIFF, PNG, JPEG, OME-Zarr chunks).
    pub decoded_slices: usize,
    /// Why the mesh is empty, when it is for a reason a person should hear: the iso value
    /// outside the box's values, a box too thin for a cube.
    pub warning: Option<String>,
    /// How long it took.
    pub elapsed: Duration,
}
