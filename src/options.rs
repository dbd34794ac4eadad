//! What a build is asked to do ([`BuildOptions`]) and the choices it offers: vocabulary the
//! engine, the formats and both front ends share. Front ends fill these in; the library
//! checks them ([`BuildOptions::check`]) and never names a command-line flag.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use crate::choice::choice;
use crate::error::{Error, Result};
use crate::input::{ReadMode, Selection};
use crate::plan::{Plan, DEFAULT_MIN_SIZE};
use crate::shard;

choice! {
    /// How each TIFF level is stored (also the CLI's `--layout`).
    pub enum TiffLayout {
        /// CTHarvester's: `<out>/<L>/<k:06>.tif`, one file a slice.
        Slices = "slices",
        /// One multi-page TIFF a level, `<out>/level<L>.tif`, that ImageJ opens as a z-stack.
        Stack = "stack",
    }
}

choice! {
    /// The output format (also the CLI's `--format`).
    pub enum OutputFormat {
        /// TIFF files, laid out as the layout says (CTHarvester's one file a slice by default).
        Tiff = "tiff",
        /// One OME-Zarr multiscale store: level 0 the input, levels 1.. the pyramid.
        OmeZarr = "ome-zarr",
    }
}

choice! {
    /// How output pixels reach their files (also the CLI's `--writer`); the files are the
    /// same whatever it is.
    pub enum WriteMode {
        /// The kernels fill a buffer reused from file to file, written with one `write` call by
        /// a thread of its own while the next slice is computed: no page fault per output page
        /// (the faster; see docs/performance.md).
        Buffered = "buffered",
        /// The file is mapped writable and the kernels fill the map in place.
        Mapped = "mapped",
    }
}

choice! {
    /// The OME-NGFF version written (also the CLI's `--ngff`).
    pub enum Ngff {
        /// OME-NGFF 0.4 on Zarr v2: the widest reader support today.
        V04 = "0.4",
        /// OME-NGFF 0.5 on Zarr v3.
        V05 = "0.5",
    }
}

choice! {
    /// The chunks' compression (also the CLI's `--codec`).
    pub enum Codec {
        /// Zstandard, level 1.
        Zstd = "zstd",
        /// Blosc with LZ4, level 5, byte shuffle.
        BloscLz4 = "blosc-lz4",
    }
}

choice! {
    /// The coordinates of a mesh's vertices (also the CLI's `--units`).
    pub enum Units {
        /// x, y, z in the level's voxels, counted from the level's first (a box's mesh lies
        /// where the box is).
        Voxel = "voxel",
        /// Micrometres from the centre of the input's first voxel, by the voxel size the
        /// build records (scaled to the level): meshes of every level and box overlay.
        Um = "um",
    }
}

/// A mesh file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MeshFormat {
    /// Binary little-endian PLY: float32 x y z vertices, faces as a uchar count and uint32
    /// indices.
    Ply,
    /// Binary STL: each triangle with its facet normal.
    Stl,
    /// Wavefront OBJ text: `v x y z` lines, then `f a b c` (from 1).
    Obj,
}

impl MeshFormat {
    /// The format `path`'s extension names (`.ply`, `.stl`, `.obj`, any case); an error names
    /// the path otherwise.
    pub fn of(path: &Path) -> Result<MeshFormat> {
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase());
        match ext.as_deref() {
            Some("ply") => Ok(MeshFormat::Ply),
            Some("stl") => Ok(MeshFormat::Stl),
            Some("obj") => Ok(MeshFormat::Obj),
            _ => Err(Error::invalid(
                "out",
                path.display(),
                "unknown mesh format: the name must end in .ply (binary PLY), .stl (binary \
                 STL) or .obj (Wavefront OBJ)",
            )),
        }
    }

    /// `PLY`, `STL`, `OBJ`.
    pub fn name(self) -> &'static str {
        match self {
            MeshFormat::Ply => "PLY",
            MeshFormat::Stl => "STL",
            MeshFormat::Obj => "OBJ",
        }
    }
}

/// Chunk shape `[z, y, x]` when none is given (see docs/ome-zarr.md).
pub const DEFAULT_CHUNKS: [usize; 3] = [16, 256, 256];

/// How an OME-Zarr store is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OmeZarrOptions {
    /// The OME-NGFF version, and with it the Zarr version.
    pub ngff: Ngff,
    /// The chunks' compression.
    pub codec: Codec,
    /// Chunk shape `[z, y, x]` (each clamped to the level's size).
    pub chunks: [usize; 3],
}

impl Default for OmeZarrOptions {
    fn default() -> Self {
        OmeZarrOptions {
            ngff: Ngff::V04,
            codec: Codec::Zstd,
            chunks: DEFAULT_CHUNKS,
        }
    }
}

/// Parses a chunk shape `Z,Y,X` (the CLI's `--chunks`, Python's `chunks="Z,Y,X"`).
pub fn parse_chunks(text: &str) -> std::result::Result<[usize; 3], String> {
    let bad = || format!("{text:?}: expected Z,Y,X, three positive integers");
    let parts: Vec<usize> = text
        .split(',')
        .map(|p| p.trim().parse::<usize>().map_err(|_| bad()))
        .collect::<std::result::Result<_, _>>()?;
    match parts[..] {
        [z, y, x] if z > 0 && y > 0 && x > 0 => Ok([z, y, x]),
        _ => Err(bad()),
    }
}

/// The machine's cores, as rayon's default pool counts them (1 if unknown).
fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Kernel threads a build may use at most: four per core. More only slows a build down
/// (1000 threads on 2 cores took 20x as long as 64), and 100,000 started 11,049 threads and
/// ran for 10 minutes before it was stopped.
pub fn max_threads() -> usize {
    cores() * 4
}

/// Refuses a thread count outside 1 to [`max_threads`].
pub fn check_threads(n: usize) -> Result<()> {
    let max = max_threads();
    if n == 0 || n > max {
        let cores = cores();
        let reason =
            format!("expected an integer from 1 to {max} (4 x the {cores} cores of this machine)");
        return Err(Error::invalid("threads", n, reason));
    }
    Ok(())
}

/// Runs `work` with its kernels on a pool of `threads` threads of its own (`None`: rayon's
/// global pool, one thread per core), refusing a count [`check_threads`] refuses: what a
/// library host such as the Python module does for each build. (The CLI, which owns its
/// process, sizes the global pool instead: the OME-Zarr writer's thread compresses on it.)
pub fn with_threads<R: Send>(threads: Option<usize>, work: impl FnOnce() -> R + Send) -> Result<R> {
    let Some(n) = threads else {
        return Ok(work());
    };
    check_threads(n)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build()
        .map_err(|e| Error::invalid("threads", n, e.to_string()))?;
    Ok(pool.install(work))
}

/// What `build` is asked to do.
#[derive(Clone, Debug)]
pub struct BuildOptions {
    /// The folder of slices, or one multi-page TIFF.
    pub input: PathBuf,
    /// Where the levels go: `<out>/<L>/<k:06>.tif`. Default: [`BuildOptions::out_root`].
    pub out: Option<PathBuf>,
    /// See [`Plan::new`]; CTHarvester uses 500. At least 1.
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
    /// How each TIFF level is stored.
    pub layout: TiffLayout,
    /// Edge of an input voxel in micrometres; by default a SkyScan log's `Pixel Size (um)`,
    /// else the first slice's header (docs/cli.md, "Layouts and physical scale").
    pub voxel_um: Option<f64>,
    /// Build only the outputs that depend on input slices `a..b` (`b` None: to the end), which
    /// must be aligned to [`BuildOptions::shard_unit`]: a shard of a build split across
    /// machines ([`crate::plan_shards`]).
    pub slices: Option<(usize, Option<usize>)>,
    /// The output format: TIFF (as `layout` says) or one OME-Zarr store.
    pub format: OutputFormat,
    /// How the OME-Zarr store is written (`format` OmeZarr).
    pub zarr: OmeZarrOptions,
}

impl BuildOptions {
    /// The defaults for the stack `input` (a folder of slices, or a multi-page TIFF): every
    /// output as CTHarvester would have it, in `<input>/.thumbnail`.
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
            writer: WriteMode::Buffered,
            layout: TiffLayout::Slices,
            voxel_um: None,
            slices: None,
            format: OutputFormat::Tiff,
            zarr: OmeZarrOptions::default(),
        }
    }

    /// Refuses values no build can use: each error names the option and says why.
    pub fn check(&self) -> Result<()> {
        let invalid = |option, value: String, reason: String| Error::Invalid {
            option,
            value,
            reason,
        };
        if self.min_size == 0 {
            let reason = "must be at least 1 (levels stop once a level is this size)".into();
            return Err(invalid("min_size", "0".into(), reason));
        }
        // A kilometre at most: every level's scale (2^L times it) stays a finite number.
        if let Some(um) = self
            .voxel_um
            .filter(|v| !(v.is_finite() && *v > 0.0 && *v <= 1e9))
        {
            let reason =
                "must be a positive number of micrometres, at most 1e9 (a kilometre)".into();
            return Err(invalid("voxel_size", um.to_string(), reason));
        }
        let [z, y, x] = self.zarr.chunks;
        if z == 0 || y == 0 || x == 0 {
            let reason = "must be three positive integers".into();
            return Err(invalid("chunks", format!("{z},{y},{x}"), reason));
        }
        Ok(())
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

    /// The alignment of shards: `2^levels` input slices, times the chunk depth for OME-Zarr
    /// (a chunk is written whole by one shard, at every level).
    pub fn shard_unit(&self, plan: &Plan) -> usize {
        let unit = shard::unit(plan);
        match self.format {
            OutputFormat::Tiff => unit,
            OutputFormat::OmeZarr => unit.saturating_mul(self.zarr.chunks[0].max(1)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_parse() {
        assert_eq!(parse_chunks("16,256,256"), Ok([16, 256, 256]));
        assert!(parse_chunks("16,256").is_err());
        assert!(parse_chunks("0,1,1").is_err());
        assert!(parse_chunks("a,b,c").is_err());
    }

    #[test]
    fn thread_counts_out_of_range_are_refused() {
        assert_eq!(
            with_threads(Some(1), rayon::current_num_threads).unwrap(),
            1
        );
        for n in [0, max_threads() + 1] {
            let error = with_threads(Some(n), || ()).unwrap_err();
            assert!(
                matches!(
                    error,
                    Error::Invalid {
                        option: "threads",
                        ..
                    }
                ),
                "{error}"
            );
        }
    }

    #[test]
    fn options_out_of_range_are_refused_by_name() {
        let name = |o: BuildOptions| match o.check() {
            Err(Error::Invalid { option, .. }) => option,
            other => panic!("{other:?}"),
        };
        let base = || BuildOptions::new("scan");
        assert!(base().check().is_ok());
        assert_eq!(
            name(BuildOptions {
                min_size: 0,
                ..base()
            }),
            "min_size"
        );
        assert_eq!(
            name(BuildOptions {
                voxel_um: Some(-1.0),
                ..base()
            }),
            "voxel_size"
        );
    }
}
