//! The command line's arguments: clap's types, and their translation into the library's
//! options. The library knows nothing of clap; its choices ([`Choice`]) give their names and
//! help, and it checks every value (the CLI only parses).

use std::path::{Path, PathBuf};

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::{Parser, Subcommand};

use ctpyramid::{
    BuildOptions, Choice, Codec, CropOptions, MeshOptions, Ngff, OmeZarrOptions, OutputFormat,
    ReadMode, ReadOptions, RegionSpec, Selection, SelectionParts, TiffLayout, Units, WriteMode,
    DEFAULT_MIN_SIZE,
};

const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  bad input: unreadable, damaged or unsupported slice, mismatched slices, no slices
  2  usage error (bad command line, or an option the stack rules out)
  3  output error: cannot create or write output (permissions, disk full)
  70  internal error (a bug in ctpyramid)
  130  cancelled by Ctrl-C (SIGINT); 143 by SIGTERM. Outputs are complete or absent:
       run again to resume";

#[derive(Parser)]
#[command(version, about = "Level-of-detail pyramids of CT slice stacks, read with zero copies", after_help = EXIT_CODES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Build the pyramid of a folder of slices into <DIR>/.thumbnail/<level>/<k>.tif, or with
    /// --format ome-zarr into one OME-Zarr store <DIR>.ome.zarr beside the folder
    #[command(after_help = EXIT_CODES)]
    Build(BuildCmd),
    /// Describe a stack and how `build` would read it without writing anything: which files
    /// are slices by which rule and why, the files left out, the scanner and software of a
    /// SkyScan log, the voxel size and its source, format, size, zero-copy or decoded,
    /// levels, the pyramid already there, problems. Exits 1 if `build` would refuse a slice.
    ///
    /// A TIFF pyramid's state is read against what its pyramid.json records; an OME-Zarr
    /// store's is what build with the same options (--out, --ngff, --codec, --chunks,
    /// --min-size, --voxel-size) would find: complete, out of date, or incomplete with what a
    /// rerun computes.
    Inspect(InspectCmd),
    /// Measure how fast each way of reading (mmap, buffered, the tiff crate's full decode)
    /// reads and reduces a stack, against a plain sequential read of its files; writes nothing
    Bench(BenchCmd),
    /// Print how a build splits into N aligned shards for a cluster (--slices ranges, and a
    /// Slurm job array script), without writing anything. The build options given are passed
    /// to every shard (OME-Zarr shards align to the chunk depth x 2^levels)
    Plan(PlanCmd),
    /// Write a box of a level as files: one uncompressed TIFF a slice in OUT (named after the
    /// input slices at level 0), or one multi-page TIFF, and crop.json (the box, its origin
    /// in micrometres). Level 0 is the input as build selects it; levels >= 1 are read from
    /// the pyramid build wrote. Only the rows of the box are read from files stored plainly
    #[command(after_help = EXIT_CODES)]
    Crop(CropCmd),
    /// Write the surface at an iso value of a box of a level as a mesh file (binary PLY,
    /// binary STL or OBJ text, by OUT's extension): PyMCubes's marching cubes triangles, at
    /// full resolution, streamed from the slices in order with memory flat. Level 0 is the
    /// input as build selects it; levels >= 1 are read from the pyramid build wrote
    #[command(after_help = EXIT_CODES)]
    Mesh(MeshCmd),
    /// Write a synthetic CT phantom stack to a folder and build its pyramid
    Demo(DemoCmd),
}

impl Command {
    /// The stack the command reads, named in the hints of errors.
    pub fn input(&self) -> Option<&std::path::Path> {
        match self {
            Command::Build(c) => Some(&c.dir),
            Command::Inspect(c) => Some(&c.path),
            Command::Bench(c) => Some(&c.dir),
            Command::Plan(c) => Some(&c.dir),
            Command::Crop(c) => Some(&c.dir),
            Command::Mesh(c) => Some(&c.dir),
            Command::Demo(_) => None,
        }
    }
}

#[derive(clap::Args)]
pub struct BuildCmd {
    /// Folder of slice images (TIFF, BMP, PNG, JPEG; subfolders are not searched), or one
    /// multi-page TIFF
    pub dir: PathBuf,
    #[command(flatten)]
    pub select: SelectArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    /// Build only the outputs that depend on input slices A..B (B excluded; `A..` to the
    /// end), aligned to 2^levels: one shard of a build split across machines
    /// (`ctpyramid plan --shards N` prints the ranges)
    #[arg(long, value_name = "A..B", value_parser = ctpyramid::parse_range)]
    pub slices: Option<(usize, Option<usize>)>,
}

#[derive(clap::Args)]
pub struct InspectCmd {
    /// Folder of slices, or a multi-page TIFF
    pub path: PathBuf,
    /// Print JSON (with every slice) instead of text
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub select: SelectArgs,
}

impl BuildCmd {
    /// The library's options for this build.
    pub fn options(&self) -> ctpyramid::Result<BuildOptions> {
        Ok(BuildOptions {
            slices: self.slices,
            ..self
                .output
                .options(self.dir.clone(), self.select.selection()?)
        })
    }
}

impl InspectCmd {
    /// The options of the build whose output is surveyed.
    pub fn options(&self) -> ctpyramid::Result<BuildOptions> {
        let selection = self.select.selection()?;
        Ok(self.target.options(&self.path, selection))
    }
}

#[derive(clap::Args)]
pub struct BenchCmd {
    /// Folder of slices, or a multi-page TIFF
    pub dir: PathBuf,
    /// Runs of each method; the median is reported
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// Drop the files from the page cache before every run (posix_fadvise, no root
    /// needed), to measure the disk rather than memory. Linux only
    #[arg(long)]
    pub cold: bool,
    /// Print JSON instead of a table
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub select: SelectArgs,
}

#[derive(clap::Args)]
pub struct PlanCmd {
    /// Folder of slices, or a multi-page TIFF
    pub dir: PathBuf,
    /// Number of shards
    #[arg(long, default_value_t = 1)]
    pub shards: usize,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Print only the Slurm job array script (`plan ... --slurm > job.sbatch`)
    #[arg(long)]
    pub slurm: bool,
    #[command(flatten)]
    pub select: SelectArgs,
}

impl PlanCmd {
    /// The options every shard builds with (but its range).
    pub fn options(&self) -> ctpyramid::Result<BuildOptions> {
        let selection = self.select.selection()?;
        Ok(self.target.options(&self.dir, selection))
    }
}

/// What decides a build's output, for the commands that look at one (`inspect`) or plan one
/// (`plan`): each option as for build.
#[derive(clap::Args)]
pub struct TargetArgs {
    /// As for build [default: <DIR>/.thumbnail, or <DIR>.ome.zarr with --format ome-zarr]
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// As for build
    #[arg(long, default_value_t = OutputFormat::default(), value_parser = choice::<OutputFormat>())]
    pub format: OutputFormat,
    #[command(flatten)]
    pub zarr: ZarrArgs,
    /// As for build
    #[arg(long, default_value_t = DEFAULT_MIN_SIZE)]
    pub min_size: usize,
    /// As for build (it decides the voxel size the outputs record)
    #[arg(long, value_name = "UM")]
    pub voxel_size: Option<f64>,
}

impl TargetArgs {
    /// The options of a build of `dir` with `selection`.
    fn options(&self, dir: &Path, selection: Selection) -> BuildOptions {
        BuildOptions {
            selection,
            min_size: self.min_size,
            out: self.out.clone(),
            voxel_um: self.voxel_size,
            format: self.format,
            zarr: self.zarr.options(),
            ..BuildOptions::new(dir)
        }
    }
}

#[derive(clap::Args)]
pub struct CropCmd {
    /// Folder of slices, or a multi-page TIFF
    pub dir: PathBuf,
    #[command(flatten)]
    pub region: BoxArgs,
    /// Folder the crop is written to
    #[arg(long)]
    pub out: PathBuf,
    /// One file a slice, or one multi-page TIFF (crop.tif) that ImageJ opens as a z-stack
    #[arg(long, default_value_t = TiffLayout::default(), value_parser = choice::<TiffLayout>())]
    pub layout: TiffLayout,
    /// TIFF files (as --layout says), or one OME-Zarr store OUT of the crop with its own
    /// levels, as build makes them, its NGFF translation the box's origin
    #[arg(long, default_value_t = OutputFormat::default(), value_parser = choice::<OutputFormat>())]
    pub format: OutputFormat,
    #[command(flatten)]
    pub zarr: ZarrArgs,
    /// With --format ome-zarr: the store's levels continue while a level is wider or taller
    /// than this, as build's
    #[arg(long, default_value_t = DEFAULT_MIN_SIZE)]
    pub min_size: usize,
    /// Rewrite every file, even those an earlier run of the same crop completed
    #[arg(long)]
    pub force: bool,
    /// Flush every file to disk before giving it its final name
    #[arg(long)]
    pub sync: bool,
    #[command(flatten)]
    pub run: RunArgs,
}

impl CropCmd {
    /// The library's options for this crop.
    pub fn options(&self) -> ctpyramid::Result<CropOptions> {
        Ok(CropOptions {
            read: self.region.options(&self.dir)?,
            out: self.out.clone(),
            format: self.format,
            layout: self.layout,
            zarr: self.zarr.options(),
            min_size: self.min_size,
            durable: self.sync,
            force: self.force,
        })
    }
}

#[derive(clap::Args)]
pub struct MeshCmd {
    /// Folder of slices, or a multi-page TIFF
    pub dir: PathBuf,
    /// The iso value in the samples' units: a sample greater than it is inside the surface
    /// (one equal to it is outside), as PyMCubes has it
    #[arg(long, value_name = "V", allow_hyphen_values = true)]
    pub iso: f64,
    /// The mesh file: .ply (binary PLY), .stl (binary STL) or .obj (Wavefront OBJ text)
    #[arg(long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub region: BoxArgs,
    /// The vertices' coordinates: the level's voxels (x, y, z, the box's origin included),
    /// or micrometres by the voxel size build records
    #[arg(long, default_value_t = Units::default(), value_parser = choice::<Units>())]
    pub units: Units,
    /// Flush the file to disk before giving it its final name
    #[arg(long)]
    pub sync: bool,
    #[command(flatten)]
    pub run: RunArgs,
}

impl MeshCmd {
    /// The library's options for this mesh.
    pub fn options(&self) -> ctpyramid::Result<MeshOptions> {
        Ok(MeshOptions {
            read: self.region.options(&self.dir)?,
            iso: self.iso,
            units: self.units,
        })
    }
}

/// A box of a level, as `crop` and `mesh` take it.
#[derive(clap::Args)]
pub struct BoxArgs {
    /// Columns A..B-1 of the level [default: all]
    #[arg(long, value_name = "A..B", value_parser = ctpyramid::parse_range)]
    pub x: Option<(usize, Option<usize>)>,
    /// Rows C..D-1 of the level [default: all]
    #[arg(long, value_name = "C..D", value_parser = ctpyramid::parse_range)]
    pub y: Option<(usize, Option<usize>)>,
    /// Slices E..F-1 of the level [default: all]
    #[arg(long, value_name = "E..F", value_parser = ctpyramid::parse_range)]
    pub z: Option<(usize, Option<usize>)>,
    /// The level the box is of: 0 the input, 1 the first halving...
    #[arg(long, default_value_t = 0)]
    pub level: usize,
    /// Where build wrote the pyramid (its --out), for levels >= 1 [default: <DIR>/.thumbnail]
    #[arg(long, value_name = "ROOT")]
    pub pyramid: Option<PathBuf>,
    /// How input files are brought into memory (the output is identical whatever it is)
    #[arg(long, default_value_t = ReadMode::default(), value_parser = choice::<ReadMode>())]
    pub reader: ReadMode,
    #[command(flatten)]
    pub select: SelectArgs,
}

impl BoxArgs {
    /// The library's options for reading this box of `dir`.
    pub fn options(&self, dir: &Path) -> ctpyramid::Result<ReadOptions> {
        Ok(ReadOptions {
            selection: self.select.selection()?,
            level: self.level,
            region: RegionSpec {
                x: self.x,
                y: self.y,
                z: self.z,
            },
            pyramid: self.pyramid.clone(),
            reader: self.reader,
            ..ReadOptions::new(dir)
        })
    }
}

/// How a job that reads a box runs: threads and what it shows.
#[derive(clap::Args)]
pub struct RunArgs {
    /// Worker threads, 1 to 4 per core [default: one per core]
    #[arg(long)]
    pub threads: Option<usize>,
    /// Print nothing but errors
    #[arg(long, short)]
    pub quiet: bool,
    /// Progress display
    #[arg(long, value_enum, default_value_t = Progress::Auto)]
    pub progress: Progress,
}

#[derive(clap::Args)]
pub struct DemoCmd {
    /// Where to write the stack (default: a new folder in the system temp dir, removed after)
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Number of slices
    #[arg(long, default_value_t = 256)]
    pub slices: usize,
    /// Width and height of each slice
    #[arg(long, default_value_t = 1024)]
    pub size: usize,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Which files of the folder are slices. By default a SkyScan reconstruction log in the folder
/// selects its sections; otherwise the files of the most common numbered name (CTHarvester's
/// rule), or every image file when no name carries a number.
#[derive(clap::Args)]
pub struct SelectArgs {
    /// Take slices named PREFIX + zero-padded index + .EXT, as CTHarvester's GUI does
    /// (needs --ext, --first, --last and --index-length)
    #[arg(long, requires_all = ["ext", "first", "last", "index_length"], help_heading = "Slice selection")]
    prefix: Option<String>,
    /// Extension of the slice files (tif also finds .tiff), with --prefix
    #[arg(long, requires = "prefix", help_heading = "Slice selection")]
    ext: Option<String>,
    /// First slice index, with --prefix
    #[arg(long, requires = "prefix", help_heading = "Slice selection")]
    first: Option<u64>,
    /// Last slice index (inclusive), with --prefix
    #[arg(long, requires = "prefix", help_heading = "Slice selection")]
    last: Option<u64>,
    /// Digits of the zero-padded index, with --prefix
    #[arg(long, requires = "prefix", help_heading = "Slice selection")]
    index_length: Option<usize>,
    /// Leave out numbers whose file is missing from the selected range (default: a missing
    /// slice is an error naming it)
    #[arg(long, help_heading = "Slice selection")]
    skip_missing: bool,
    /// Take every image file of the folder in natural order, ignoring a SkyScan log and
    /// numbered names
    #[arg(long, conflicts_with = "prefix", help_heading = "Slice selection")]
    all_images: bool,
}

impl SelectArgs {
    /// The selection, by the library's one rule for combining the parts.
    pub fn selection(&self) -> ctpyramid::Result<Selection> {
        SelectionParts {
            prefix: self.prefix.clone(),
            ext: self.ext.clone(),
            first: self.first,
            last: self.last,
            index_length: self.index_length,
            skip_missing: self.skip_missing,
            all_images: self.all_images,
        }
        .selection()
    }
}

/// How a build writes: shared by `build` and `demo`.
#[derive(clap::Args)]
pub struct OutputArgs {
    /// Root folder of the levels [default: <DIR>/.thumbnail; with --format ome-zarr, the
    /// store <DIR>.ome.zarr beside the folder (<STEM>.ome.zarr beside a multi-page file)]
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Output format: TIFF files (as --layout says), or one OME-Zarr multiscale store whose
    /// level 0 is the input, for napari, neuroglancer, Fiji
    #[arg(long, default_value_t = OutputFormat::default(), value_parser = choice::<OutputFormat>())]
    pub format: OutputFormat,
    #[command(flatten)]
    pub zarr: ZarrArgs,
    /// Keep halving while a level is wider or taller than this many pixels (at least 1)
    #[arg(long, default_value_t = DEFAULT_MIN_SIZE)]
    pub min_size: usize,
    /// Flush every output file to disk before giving it its final name (survives power loss)
    #[arg(long)]
    pub sync: bool,
    /// Worker threads for the kernels, 1 to 4 per core [default: one per core]
    #[arg(long)]
    pub threads: Option<usize>,
    /// Print nothing but errors
    #[arg(long, short)]
    pub quiet: bool,
    /// Rebuild every output, even those an earlier run completed
    #[arg(long)]
    pub force: bool,
    /// Progress display
    #[arg(long, value_enum, default_value_t = Progress::Auto)]
    pub progress: Progress,
    /// How input files are brought into memory (outputs are identical whatever it is)
    #[arg(long, default_value_t = ReadMode::default(), value_parser = choice::<ReadMode>())]
    pub reader: ReadMode,
    /// How output pixels reach their files (the files are identical whatever it is)
    #[arg(long, default_value_t = WriteMode::default(), value_parser = choice::<WriteMode>())]
    pub writer: WriteMode,
    /// How each TIFF level is stored (switching removes the other layout's files)
    #[arg(long, default_value_t = TiffLayout::default(), value_parser = choice::<TiffLayout>())]
    pub layout: TiffLayout,
    /// Edge of an input voxel in micrometres, recorded in the outputs (scaled per level)
    /// [default: `Pixel Size (um)` of a SkyScan log in the folder, else the first slice's
    /// ImageJ unit/spacing or resolution in pixels per cm or inch]
    #[arg(long, value_name = "UM")]
    pub voxel_size: Option<f64>,
}

impl OutputArgs {
    /// The library's options for building `dir` with `selection`.
    pub fn options(&self, dir: PathBuf, selection: Selection) -> BuildOptions {
        BuildOptions {
            out: self.out.clone(),
            min_size: self.min_size,
            durable: self.sync,
            selection,
            force: self.force,
            reader: self.reader,
            writer: self.writer,
            layout: self.layout,
            voxel_um: self.voxel_size,
            format: self.format,
            zarr: self.zarr.options(),
            ..BuildOptions::new(dir)
        }
    }
}

/// How an OME-Zarr store is written (`--format ome-zarr`).
#[derive(clap::Args)]
pub struct ZarrArgs {
    /// OME-NGFF version: 0.4 (Zarr v2, the widest reader support) or 0.5 (Zarr v3)
    #[arg(long, default_value_t = Ngff::default(), value_parser = choice::<Ngff>(), help_heading = "OME-Zarr")]
    ngff: Ngff,
    /// Chunk compression
    #[arg(long, default_value_t = Codec::default(), value_parser = choice::<Codec>(), help_heading = "OME-Zarr")]
    codec: Codec,
    /// Chunk shape Z,Y,X (in slices, rows, columns); memory grows with Z (docs/ome-zarr.md)
    #[arg(long, value_name = "Z,Y,X", default_value = "16,256,256",
          value_parser = ctpyramid::parse_chunks, help_heading = "OME-Zarr")]
    chunks: [usize; 3],
}

impl ZarrArgs {
    pub fn options(&self) -> OmeZarrOptions {
        OmeZarrOptions {
            ngff: self.ngff,
            codec: self.codec,
            chunks: self.chunks,
        }
    }
}

/// How progress is shown.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Progress {
    /// A bar on a terminal, nothing otherwise
    Auto,
    /// A bar (on stderr) even when it is not a terminal
    Bar,
    /// One JSON object per line on stdout, for GUIs and pipelines
    Json,
    /// Nothing but the summary
    None,
}

/// A parser for one of the library's choices: its names, each with its help line.
fn choice<T: Choice + Clone>() -> impl TypedValueParser<Value = T> {
    let values = T::ALL
        .iter()
        .map(|v| PossibleValue::new(v.name()).help(v.help()));
    PossibleValuesParser::new(values).try_map(|name: String| T::from_name(&name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// clap checks a command's definition (unique names, valid defaults...) only in debug
    /// builds, and only when it is parsed: `demo` once declared `--slices` twice, which
    /// panicked `demo --help` in a debug build and passed every release test.
    #[test]
    fn every_command_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn defaults_parse_and_choices_take_their_names() {
        let cli = Cli::try_parse_from(["ctpyramid", "build", "scan", "--layout", "stack"]);
        let Ok(Cli {
            command: Command::Build(build),
        }) = cli
        else {
            panic!("build did not parse");
        };
        assert_eq!(build.output.layout, TiffLayout::Stack);
        assert_eq!(build.output.zarr.options(), OmeZarrOptions::default());
        let demo = Cli::try_parse_from(["ctpyramid", "demo", "--slices", "8", "--size", "64"]);
        assert!(demo.is_ok());
        assert!(Cli::try_parse_from(["ctpyramid", "build", "scan", "--ngff", "0.6"]).is_err());
    }
}
