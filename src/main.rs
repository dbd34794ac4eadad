//! The `ctpyramid` command line.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use ctpyramid::discover::{Pattern, Selection};
use ctpyramid::output::{Codec, Ngff, OmeZarrOptions, OutputFormat, WriteMode};
use ctpyramid::platform::Interrupts as Signals;
use ctpyramid::{build, BuildOptions, Event, Layout, ReadMode, Summary};

const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  bad input: unreadable, damaged or unsupported slice, mismatched slices, no slices
  2  usage error (bad command line)
  3  output error: cannot create or write output (permissions, disk full)
  130  cancelled by Ctrl-C (SIGINT); 143 by SIGTERM. Outputs are complete or absent:
       run again to resume";

#[derive(Parser)]
#[command(version, about = "Level-of-detail pyramids of CT slice stacks, read with zero copies", after_help = EXIT_CODES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build the pyramid of a folder of slices into <DIR>/.thumbnail/<level>/<k>.tif, or with
    /// --format ome-zarr into one OME-Zarr store <DIR>.ome.zarr beside the folder
    #[command(after_help = EXIT_CODES)]
    Build {
        /// Folder of slice images (TIFF, BMP, PNG, JPEG), or one multi-page TIFF
        dir: PathBuf,
        #[command(flatten)]
        select: SelectArgs,
        #[command(flatten)]
        args: BuildArgs,
    },
    /// Describe a stack and how `build` would read it without writing anything: which files
    /// are slices by which rule and why, the files left out, the scanner and software of a
    /// SkyScan log, the voxel size and its source, format, size, zero-copy or decoded,
    /// levels, problems. Exits 1 if `build` would refuse a slice.
    Inspect {
        /// Folder of slices, or a multi-page TIFF
        path: PathBuf,
        /// Print JSON (with every slice) instead of text
        #[arg(long)]
        json: bool,
        /// As for build
        #[arg(long, default_value_t = ctpyramid::DEFAULT_MIN_SIZE)]
        min_size: usize,
        /// Where to look for the pyramid [default: as build writes it]
        #[arg(long)]
        out: Option<PathBuf>,
        /// As for build: which output to look for. With ome-zarr, the store's state is what
        /// build with the same options (--out, --ngff, --codec, --chunks, --min-size,
        /// --voxel-size) would find: complete, out of date, or incomplete with what a rerun
        /// computes
        #[arg(long, value_enum, default_value_t = OutputFormat::Tiff)]
        format: OutputFormat,
        #[command(flatten)]
        zarr: ZarrArgs,
        /// As for build (it decides the voxel size an OME-Zarr store records)
        #[arg(long, value_name = "UM", value_parser = positive_f64)]
        voxel_size: Option<f64>,
        #[command(flatten)]
        select: SelectArgs,
    },
    /// Measure how fast each way of reading (mmap, buffered, the tiff crate's full decode)
    /// reads and reduces a stack, against a plain sequential read of its files; writes nothing
    Bench {
        /// Folder of slices, or a multi-page TIFF
        dir: PathBuf,
        /// Runs of each method; the median is reported
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// Drop the files from the page cache before every run (posix_fadvise, no root
        /// needed), to measure the disk rather than memory. Linux only
        #[arg(long)]
        cold: bool,
        /// Print JSON instead of a table
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        select: SelectArgs,
    },
    /// Print how a build splits into N aligned shards for a cluster (--slices ranges, and a
    /// Slurm job array script), without writing anything
    Plan {
        /// Folder of slices, or a multi-page TIFF
        dir: PathBuf,
        /// Number of shards
        #[arg(long, default_value_t = 1)]
        shards: usize,
        /// As for build
        #[arg(long, default_value_t = ctpyramid::DEFAULT_MIN_SIZE)]
        min_size: usize,
        /// As for build: passed to every shard
        #[arg(long)]
        out: Option<PathBuf>,
        /// As for build: passed to every shard
        #[arg(long, value_name = "UM", value_parser = positive_f64)]
        voxel_size: Option<f64>,
        /// As for build: passed to every shard (OME-Zarr shards align to chunk depth x 2^levels)
        #[arg(long, value_enum, default_value_t = OutputFormat::Tiff)]
        format: OutputFormat,
        #[command(flatten)]
        zarr: ZarrArgs,
        /// Print only the Slurm job array script (`plan ... --slurm > job.sbatch`)
        #[arg(long)]
        slurm: bool,
        #[command(flatten)]
        select: SelectArgs,
    },
    /// Write a synthetic CT phantom stack to a folder and build its pyramid
    Demo {
        /// Where to write the stack (default: a new folder in the system temp dir, removed after)
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Number of slices
        #[arg(long, default_value_t = 256)]
        slices: usize,
        /// Width and height of each slice
        #[arg(long, default_value_t = 1024)]
        size: usize,
        #[command(flatten)]
        args: BuildArgs,
    },
}

/// Which files of the folder are slices. By default a SkyScan reconstruction log in the folder
/// selects its sections; otherwise the files of the most common numbered name (CTHarvester's
/// rule), or every image file when no name carries a number.
#[derive(clap::Args)]
struct SelectArgs {
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
    /// The options as given, to repeat them on another command line.
    fn to_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        let mut push = |flag: &str, value: Option<String>| {
            if let Some(v) = value {
                args.push(flag.to_string());
                args.push(v);
            }
        };
        push("--prefix", self.prefix.clone());
        push("--ext", self.ext.clone());
        push("--first", self.first.map(|v| v.to_string()));
        push("--last", self.last.map(|v| v.to_string()));
        push("--index-length", self.index_length.map(|v| v.to_string()));
        if self.skip_missing {
            args.push("--skip-missing".into());
        }
        if self.all_images {
            args.push("--all-images".into());
        }
        args
    }

    fn selection(&self) -> Selection {
        match (
            &self.prefix,
            &self.ext,
            self.first,
            self.last,
            self.index_length,
        ) {
            (Some(prefix), Some(ext), Some(first), Some(last), Some(index_length)) => {
                Selection::Pattern(Pattern {
                    prefix: prefix.clone(),
                    ext: ext.clone(),
                    first,
                    last,
                    index_length,
                    skip_missing: self.skip_missing,
                })
            }
            _ if self.all_images => Selection::All,
            _ if self.skip_missing => Selection::AutoSkipMissing,
            _ => Selection::Auto,
        }
    }
}

#[derive(clap::Args)]
struct BuildArgs {
    /// Root folder of the levels [default: <DIR>/.thumbnail; with --format ome-zarr, the
    /// store <DIR>.ome.zarr beside the folder (<STEM>.ome.zarr beside a multi-page file)]
    #[arg(long)]
    out: Option<PathBuf>,
    /// Output format: TIFF files (as --layout says), or one OME-Zarr multiscale store whose
    /// level 0 is the input, for napari, neuroglancer, Fiji
    #[arg(long, value_enum, default_value_t = OutputFormat::Tiff)]
    format: OutputFormat,
    #[command(flatten)]
    zarr: ZarrArgs,
    /// Keep halving while a level is wider or taller than this many pixels
    #[arg(long, default_value_t = ctpyramid::DEFAULT_MIN_SIZE)]
    min_size: usize,
    /// Flush every output file to disk before giving it its final name (survives power loss)
    #[arg(long)]
    sync: bool,
    /// Worker threads for the kernels [default: one per core]
    #[arg(long)]
    threads: Option<usize>,
    /// Print nothing but errors
    #[arg(long, short)]
    quiet: bool,
    /// Rebuild every output, even those an earlier run completed
    #[arg(long)]
    force: bool,
    /// Progress display
    #[arg(long, value_enum, default_value_t = Progress::Auto)]
    progress: Progress,
    /// How input files are brought into memory (outputs are identical whatever it is)
    #[arg(long, value_enum, default_value_t = ReadMode::Auto)]
    reader: ReadMode,
    /// How output pixels reach their files (the files are identical whatever it is)
    #[arg(long, value_enum, default_value_t = WriteMode::Buffered)]
    writer: WriteMode,
    /// How each level is stored
    #[arg(long, value_enum, default_value_t = Layout::Slices)]
    layout: Layout,
    /// Edge of an input voxel in micrometres, recorded in the outputs (scaled per level)
    /// [default: `Pixel Size (um)` of a SkyScan log in the folder, else the first slice's
    /// ImageJ unit/spacing or resolution in pixels per cm or inch]
    #[arg(long, value_name = "UM", value_parser = positive_f64)]
    voxel_size: Option<f64>,
    /// Build only the outputs that depend on input slices A..B (B excluded; `A..` to the
    /// end), aligned to 2^levels: one shard of a build split across machines
    /// (`ctpyramid plan --shards N` prints the ranges)
    #[arg(long, value_name = "A..B", value_parser = parse_slices)]
    slices: Option<(usize, Option<usize>)>,
}

/// How an OME-Zarr store is written (`--format ome-zarr`).
#[derive(clap::Args)]
struct ZarrArgs {
    /// OME-NGFF version: 0.4 (Zarr v2, the widest reader support) or 0.5 (Zarr v3)
    #[arg(long, value_enum, default_value_t = Ngff::V04, help_heading = "OME-Zarr")]
    ngff: Ngff,
    /// Chunk compression
    #[arg(long, value_enum, default_value_t = Codec::Zstd, help_heading = "OME-Zarr")]
    codec: Codec,
    /// Chunk shape Z,Y,X (in slices, rows, columns); memory grows with Z (README "OME-Zarr")
    #[arg(long, value_name = "Z,Y,X", default_value = "16,256,256",
          value_parser = ctpyramid::output::ome_zarr::parse_chunks, help_heading = "OME-Zarr")]
    chunks: [usize; 3],
}

impl ZarrArgs {
    fn options(&self) -> OmeZarrOptions {
        OmeZarrOptions {
            ngff: self.ngff,
            codec: self.codec,
            chunks: self.chunks,
        }
    }
}

fn positive_f64(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!("{text:?} is not a positive number")),
    }
}

fn parse_slices(text: &str) -> Result<(usize, Option<usize>), String> {
    ctpyramid::shard::parse(text)
}

/// Prints a line to stdout. A closed pipe (`ctpyramid inspect DIR | head`) is not an error
/// worth a panic: output simply stops.
fn say(text: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout().lock(), "{text}");
}

macro_rules! say {
    ($($arg:tt)*) => { say(&format!($($arg)*)) };
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let signals = Signals::install();
    ctpyramid::sigbus::install();
    let result = match cli.command {
        Command::Build { dir, select, args } => {
            run_build(dir, select.selection(), &args, &signals).map(|_| ())
        }
        Command::Inspect {
            path,
            json,
            min_size,
            out,
            format,
            zarr,
            voxel_size,
            select,
        } => match ctpyramid::inspect::inspect_options(&BuildOptions {
            selection: select.selection(),
            min_size,
            out,
            format,
            zarr: zarr.options(),
            voxel_um: voxel_size,
            ..BuildOptions::new(path)
        }) {
            Ok(report) => {
                if json {
                    say(&format!("{:#}", report.to_json()));
                } else {
                    say(report.to_text().trim_end());
                }
                return if report.problems.is_empty() {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::from(1)
                };
            }
            Err(e) => Err(e),
        },
        Command::Bench {
            dir,
            runs,
            cold,
            json,
            select,
        } => run_bench(dir, runs, cold, json, select.selection()),
        Command::Plan {
            dir,
            shards,
            min_size,
            select,
            out,
            voxel_size,
            format,
            zarr,
            slurm,
        } => {
            let mut build_args = Vec::new();
            if let Some(out) = out {
                build_args.extend(["--out".to_string(), out.display().to_string()]);
            }
            if let Some(v) = voxel_size {
                build_args.extend(["--voxel-size".to_string(), v.to_string()]);
            }
            let mut options = BuildOptions::new(&dir);
            options.format = format;
            options.zarr = zarr.options();
            if format == OutputFormat::OmeZarr {
                let [z, y, x] = zarr.chunks;
                build_args.extend([
                    "--format".to_string(),
                    format.name().to_string(),
                    "--ngff".to_string(),
                    zarr.ngff.name().to_string(),
                    "--codec".to_string(),
                    zarr.codec.name().to_string(),
                    "--chunks".to_string(),
                    format!("{z},{y},{x}"),
                ]);
            }
            run_plan(dir, shards, min_size, &select, &build_args, slurm, &options)
        }
        Command::Demo {
            dir,
            slices,
            size,
            args,
        } => run_demo(dir, slices, size, &args, &signals),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(ctpyramid::Error::Cancelled) => {
            eprintln!("ctpyramid: {}", ctpyramid::Error::Cancelled);
            ExitCode::from(signals.exit_code())
        }
        Err(e) => {
            eprintln!("ctpyramid: error: {e}");
            ExitCode::from(e.exit_code() as u8)
        }
    }
}

/// How progress is shown.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Progress {
    /// A bar on a terminal, nothing otherwise
    Auto,
    /// A bar (on stderr) even when it is not a terminal
    Bar,
    /// One JSON object per line on stdout, for GUIs and pipelines
    Json,
    /// Nothing but the summary
    None,
}

fn json_line(value: serde_json::Value) {
    say(&value.to_string());
}

fn run_build(
    dir: PathBuf,
    selection: Selection,
    args: &BuildArgs,
    signals: &Signals,
) -> ctpyramid::Result<Summary> {
    if let Some(threads) = args.threads {
        // Only fails if a pool exists already, which then serves just as well.
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build_global();
    }
    let options = BuildOptions {
        out: args.out.clone(),
        min_size: args.min_size,
        durable: args.sync,
        selection,
        force: args.force,
        cancel: Some(signals.cancel()),
        reader: args.reader,
        writer: args.writer,
        layout: args.layout,
        voxel_um: args.voxel_size,
        slices: args.slices,
        format: args.format,
        zarr: args.zarr.options(),
        ..BuildOptions::new(dir)
    };
    let progress = match args.progress {
        _ if args.quiet => Progress::None,
        Progress::Auto if std::io::stderr().is_terminal() => Progress::Bar,
        Progress::Auto => Progress::None,
        other => other,
    };
    let text = !args.quiet && progress != Progress::Json;
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
    let show = |event: Event| match event {
        Event::Planned {
            plan,
            out_root,
            selection,
            kept,
            to_read,
            stale,
            shard,
            format,
            bytes_to_read,
            ..
        } => {
            if text {
                if let Some(note) = selection {
                    eprintln!("{note}");
                }
                eprintln!(
                    "{} slices of {}x{} {} -> {} level(s) in {}",
                    plan.slices,
                    plan.width,
                    plan.height,
                    plan.depth,
                    plan.levels.len(),
                    out_root.display()
                );
                if let Some(r) = &shard {
                    eprintln!(
                        "shard: input slices {}..{} and the outputs that depend on them",
                        r.start, r.end
                    );
                }
                if stale {
                    let by = match format {
                        OutputFormat::Tiff => "pyramid.json",
                        OutputFormat::OmeZarr => "its metadata",
                    };
                    eprintln!(
                        "the pyramid in {} was built from other slices or options ({by}): \
                         rebuilding it",
                        out_root.display()
                    );
                }
                if kept.files > 0 {
                    eprintln!(
                        "resuming: {} output {} are complete from an earlier run; \
                         {to_read} of {} slices to read (--force rebuilds all)",
                        kept.files,
                        files_noun(format),
                        plan.slices
                    );
                }
            }
            if progress == Progress::Bar {
                bar.set_length(bytes_to_read);
                bar.set_style(
                    ProgressStyle::with_template(
                        "{bar:40} {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
                );
                bar.set_draw_target(ProgressDrawTarget::stderr());
            }
        }
        Event::SliceRead { bytes, .. } => bar.inc(bytes),
        Event::SliceWritten { .. } => {}
    };
    let mut json = ctpyramid::progress::JsonEvents::new();
    let mut on_event = |event: Event| {
        if progress == Progress::Json {
            if let Some(line) = json.event(&event) {
                json_line(line);
            }
        }
        show(event);
    };
    let summary = build(&options, &mut on_event);
    bar.finish_and_clear();
    let summary = summary?;
    if progress == Progress::Json {
        json_line(ctpyramid::progress::summary(&summary));
    } else if !args.quiet {
        print_summary(&summary);
    }
    Ok(summary)
}

fn run_bench(
    dir: PathBuf,
    runs: usize,
    cold: bool,
    json: bool,
    selection: Selection,
) -> ctpyramid::Result<()> {
    use ctpyramid::bench::{bench, BenchOptions};
    let options = BenchOptions {
        runs,
        cold,
        selection,
        ..BenchOptions::new(dir)
    };
    let report = bench(&options)?;
    let floor = report.timings.first().map(|t| t.median().as_secs_f64());
    if json {
        json_line(serde_json::json!({
            "slices": report.slices,
            "slice": report.layout,
            "file_bytes": report.file_bytes,
            "cold": report.cold,
            "methods": report.timings.iter().map(|t| serde_json::json!({
                "method": t.method.name(),
                "median_s": t.median().as_secs_f64(),
                "runs_s": t.runs.iter().map(|r| r.as_secs_f64()).collect::<Vec<_>>(),
                "bytes": t.bytes,
                "gb_per_s": t.gb_per_s(),
            })).collect::<Vec<_>>(),
            "best_reader": report.best_reader().map(|t| t.method.name()),
        }));
        return Ok(());
    }
    say!(
        "{} slices of {}, {:.2} GB of files, {} cache, median of {} run(s); read and reduced \
         to level 1 in memory, nothing written",
        report.slices,
        report.layout,
        report.file_bytes as f64 / 1e9,
        if report.cold { "cold" } else { "warm" },
        runs.max(1)
    );
    say!(
        "{:<20} {:>10} {:>10} {:>10}",
        "method",
        "time (s)",
        "GB/s",
        "x cat"
    );
    for t in &report.timings {
        let secs = t.median().as_secs_f64();
        let ratio = floor.map_or(String::new(), |f| format!("{:.2}", secs / f.max(1e-9)));
        say!(
            "{:<20} {:>10.3} {:>10.2} {:>10}",
            t.method.name(),
            secs,
            t.gb_per_s(),
            ratio
        );
    }
    if let Some(best) = report.best_reader() {
        say!("best reader on this disk: --reader {}", best.method.name());
    }
    Ok(())
}

/// Quotes `text` for a POSIX shell.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

fn run_plan(
    dir: PathBuf,
    shards: usize,
    min_size: usize,
    select: &SelectArgs,
    build_args: &[String],
    slurm: bool,
    options: &BuildOptions,
) -> ctpyramid::Result<()> {
    let options = BuildOptions {
        selection: select.selection(),
        min_size,
        ..options.clone()
    };
    let (plan, ranges) = ctpyramid::shard::plan(&options, shards)?;
    let unit = options.shard_unit(&plan);
    let list: Vec<String> = ranges
        .iter()
        .map(|r| format!("{}..{}", r.start, r.end))
        .collect();
    // Every shard must select and scale the slices exactly as planned.
    let mut args = vec![
        shell_quote(&dir.display().to_string()),
        format!("--min-size {min_size}"),
    ];
    args.extend(select.to_args().iter().map(|a| shell_quote(a)));
    args.extend(build_args.iter().map(|a| shell_quote(a)));
    let script = format!(
        "#!/bin/bash\n\
         #SBATCH --job-name=ctpyramid\n\
         #SBATCH --array=0-{}\n\
         #SBATCH --cpus-per-task=2\n\
         # {} slices in {} aligned shards; the last shard to finish marks the pyramid complete.\n\
         # A failed shard is rerun as is (it resumes).\n\
         RANGES=({})\n\
         exec ctpyramid build {} \\\n    --slices \"${{RANGES[$SLURM_ARRAY_TASK_ID]}}\" --quiet --progress none",
        ranges.len().saturating_sub(1),
        plan.slices,
        ranges.len(),
        list.join(" "),
        args.join(" ")
    );
    if slurm {
        say(&script);
        return Ok(());
    }
    let why = match options.format {
        OutputFormat::Tiff => format!("2^{} levels", plan.levels.len()),
        OutputFormat::OmeZarr => format!(
            "chunk depth {} x 2^{} levels",
            options.zarr.chunks[0],
            plan.levels.len()
        ),
    };
    say!(
        "{}: {} slices of {}x{} {} -> {} level(s); shards must start and end on multiples \
         of {unit} ({why})",
        dir.display(),
        plan.slices,
        plan.width,
        plan.height,
        plan.depth,
        plan.levels.len(),
    );
    for (i, r) in ranges.iter().enumerate() {
        say!("shard {i}: --slices {}..{}", r.start, r.end);
    }
    say!("\nas a Slurm job array (--slurm prints just this, ready for sbatch):\n\n{script}");
    Ok(())
}

/// What a build's file counts count: TIFF files, or an OME-Zarr store's chunk files.
fn files_noun(format: OutputFormat) -> &'static str {
    match format {
        OutputFormat::Tiff => "files",
        OutputFormat::OmeZarr => "chunk files",
    }
}

fn print_summary(s: &Summary) {
    let secs = s.elapsed.as_secs_f64();
    let gb = s.bytes_read as f64 / 1e9;
    let levels: Vec<String> = s
        .plan
        .levels
        .iter()
        .map(|l| format!("{}: {}x{} x {}", l.level, l.width, l.height, l.slices))
        .collect();
    if s.plan.levels.is_empty() && s.files_written == 0 {
        say!(
            "nothing to build: {}x{} slices are not larger than --min-size",
            s.plan.width,
            s.plan.height
        );
        return;
    }
    if s.files_written == 0 {
        say!(
            "nothing to do: all {} {} of {} level(s) [{}] in {} are complete (--force rebuilds)",
            s.files_kept,
            files_noun(s.format),
            s.plan.levels.len(),
            levels.join(", "),
            s.out_root.display()
        );
        return;
    }
    let kept = if s.files_kept > 0 {
        format!(", {} kept from an earlier run", s.files_kept)
    } else {
        String::new()
    };
    let read = if s.decoded_slices > 0 {
        format!(
            "{} zero-copy, {} decoded",
            s.zero_copy_slices, s.decoded_slices
        )
    } else {
        format!("{} zero-copy", s.zero_copy_slices)
    };
    say!(
        "built {} level(s) [{}] from {} slices in {:.2} s: {} slices read ({read}), {:.2} GB \
         at {:.2} GB/s; {} {} written to {}{kept}",
        s.plan.levels.len(),
        levels.join(", "),
        s.plan.slices,
        secs,
        s.slices_read,
        gb,
        gb / secs.max(1e-9),
        s.files_written,
        files_noun(s.format),
        s.out_root.display(),
    );
}

fn run_demo(
    dir: Option<PathBuf>,
    slices: usize,
    size: usize,
    args: &BuildArgs,
    signals: &Signals,
) -> ctpyramid::Result<()> {
    let (dir, _cleanup) = match dir {
        Some(dir) => (dir, None),
        None => {
            let tmp = tempfile::Builder::new()
                .prefix("ctpyramid-demo-")
                .tempdir()
                .map_err(|e| ctpyramid::Error::write(&std::env::temp_dir(), e))?;
            (tmp.path().to_path_buf(), Some(tmp))
        }
    };
    let start = Instant::now();
    let bytes = ctpyramid::demo::write_phantom(&dir, slices, size)?;
    if !args.quiet {
        say!(
            "wrote a phantom stack of {slices} slices of {size}x{size} 16-bit ({:.2} GB) to {} in {:.2} s",
            bytes as f64 / 1e9,
            dir.display(),
            start.elapsed().as_secs_f64()
        );
    }
    let summary = run_build(dir, Selection::All, args, signals)?;
    if !args.quiet {
        if _cleanup.is_some() {
            say!("the phantom stack and its pyramid are removed now; --dir DIR keeps them");
        } else if let Some(level) = summary.plan.levels.last() {
            let path = ctpyramid::pyramid::slice_path(&summary.out_root, level.level, 0);
            say!("open e.g. {}", path.display());
        }
    }
    Ok(())
}
