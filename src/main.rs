//! The `ctpyramid` command line: parses, dispatches to the library, prints. Arguments,
//! progress and rendering live in [`cli`]; everything a build does is the library's.

mod cli;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;

use cli::args::{Cli, Command, OutputArgs, SelectArgs, ZarrArgs};
use cli::progress::Reporter;
use cli::{render, say};
use ctpyramid::platform::Interrupts;
use ctpyramid::{BenchOptions, BuildOptions, OutputFormat, Selection, Summary, TiffLayout};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    let signals = Interrupts::install();
    ctpyramid::platform::install_fault_handler();
    let (result, input) = match cli.command {
        Command::Build {
            dir,
            select,
            output,
            slices,
        } => (build(&dir, &select, &output, slices, &signals), Some(dir)),
        Command::Inspect {
            path,
            json,
            min_size,
            out,
            format,
            zarr,
            voxel_size,
            select,
        } => {
            let options = |selection| BuildOptions {
                selection,
                min_size,
                out,
                format,
                zarr: zarr.options(),
                voxel_um: voxel_size,
                ..BuildOptions::new(&path)
            };
            match inspect(select.selection().map(options), json) {
                Ok(code) => return code,
                Err(e) => (Err(e), Some(path)),
            }
        }
        Command::Bench {
            dir,
            runs,
            cold,
            json,
            select,
        } => (bench(&dir, runs, cold, json, &select), Some(dir)),
        Command::Plan {
            dir,
            shards,
            min_size,
            out,
            voxel_size,
            format,
            zarr,
            slurm,
            select,
        } => {
            let plan = PlanArgs {
                min_size,
                out,
                voxel_size,
                format,
                zarr: &zarr,
            };
            (plan_shards(&dir, shards, &plan, slurm, &select), Some(dir))
        }
        Command::Demo {
            dir,
            slices,
            size,
            output,
        } => (demo(dir, slices, size, &output, &signals), None),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{}", render::error(&e, input.as_deref()));
            match e {
                ctpyramid::Error::Cancelled => ExitCode::from(signals.exit_code()),
                e => ExitCode::from(e.exit_code() as u8),
            }
        }
    }
}

/// clap's message for a bad command line, with a hint when the first word is a folder or
/// file rather than a command (`ctpyramid scan1`): exit code 2 (0 for `--help`).
fn usage_error(e: clap::Error) -> ExitCode {
    let _ = e.print();
    if e.kind() == clap::error::ErrorKind::InvalidSubcommand {
        if let Some(word) = std::env::args_os().nth(1).filter(|w| Path::new(w).exists()) {
            let word = Path::new(&word).display().to_string();
            eprintln!("\n  hint: to build the pyramid of {word}: ctpyramid build {word}");
        }
    }
    ExitCode::from(e.exit_code() as u8)
}

/// `build`: the pyramid of `dir`, with a bar or JSON lines as it goes and a summary.
fn build(
    dir: &Path,
    select: &SelectArgs,
    output: &OutputArgs,
    slices: Option<(usize, Option<usize>)>,
    signals: &Interrupts,
) -> ctpyramid::Result<()> {
    let options = BuildOptions {
        slices,
        ..output.options(dir.to_path_buf(), select.selection()?)
    };
    run_build(&options, output, signals).map(|_| ())
}

/// Runs a build with the output options' threads and progress, then prints its summary.
fn run_build(
    options: &BuildOptions,
    output: &OutputArgs,
    signals: &Interrupts,
) -> ctpyramid::Result<Summary> {
    if let Some(n) = output.threads {
        ctpyramid::check_threads(n)?;
        // This process is the build's: its pool, which the OME-Zarr writer's thread
        // compresses on too, is the global one. Only fails if it exists already, which
        // then serves just as well.
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global();
    }
    let options = BuildOptions {
        cancel: Some(signals.cancel()),
        ..options.clone()
    };
    let mut reporter = Reporter::new(output.progress, output.quiet);
    let summary = ctpyramid::build(&options, &mut |event| reporter.event(event));
    reporter.finish();
    let summary = summary?;
    if reporter.json() {
        say(&ctpyramid::progress::summary(&summary).to_string());
    } else if !output.quiet {
        say(&render::summary(&summary));
    }
    Ok(summary)
}

/// `inspect`: the report, as text or JSON; exit code 1 when `build` would refuse a slice.
fn inspect(options: ctpyramid::Result<BuildOptions>, json: bool) -> ctpyramid::Result<ExitCode> {
    let report = ctpyramid::inspect(&options?)?;
    match json {
        true => say(&format!("{:#}", report.to_json())),
        false => say(&render::report(&report)),
    }
    Ok(match report.problems.is_empty() {
        true => ExitCode::SUCCESS,
        false => ExitCode::from(1),
    })
}

/// `bench`: every way of reading, timed.
fn bench(
    dir: &Path,
    runs: usize,
    cold: bool,
    json: bool,
    select: &SelectArgs,
) -> ctpyramid::Result<()> {
    let options = BenchOptions {
        runs,
        cold,
        selection: select.selection()?,
        ..BenchOptions::new(dir)
    };
    let report = ctpyramid::bench(&options)?;
    match json {
        true => say(&report.to_json().to_string()),
        false => say(&render::bench(&report, runs)),
    }
    Ok(())
}

/// The build options `plan` passes on to every shard.
struct PlanArgs<'a> {
    min_size: usize,
    out: Option<PathBuf>,
    voxel_size: Option<f64>,
    format: OutputFormat,
    zarr: &'a ZarrArgs,
}

/// `plan`: the shards, and the Slurm job array that builds them.
fn plan_shards(
    dir: &Path,
    shards: usize,
    args: &PlanArgs,
    slurm: bool,
    select: &SelectArgs,
) -> ctpyramid::Result<()> {
    let options = BuildOptions {
        selection: select.selection()?,
        min_size: args.min_size,
        out: args.out.clone(),
        voxel_um: args.voxel_size,
        format: args.format,
        zarr: args.zarr.options(),
        ..BuildOptions::new(dir)
    };
    let plan = ctpyramid::plan_shards(&options, shards)?;
    match slurm {
        true => say(&plan.slurm_script(&options)),
        false => say(&render::shards(&options, &plan)),
    }
    Ok(())
}

/// `demo`: a phantom stack written, then built; removed after unless `dir` is given.
fn demo(
    dir: Option<PathBuf>,
    slices: usize,
    size: usize,
    output: &OutputArgs,
    signals: &Interrupts,
) -> ctpyramid::Result<()> {
    let (dir, _cleanup) = match dir {
        Some(dir) => (dir, None),
        None => {
            let tmp = TempDir::new()?;
            (tmp.0.clone(), Some(tmp))
        }
    };
    let start = Instant::now();
    let bytes = ctpyramid::write_phantom(&dir, slices, size)?;
    if !output.quiet {
        say(&format!(
            "wrote a phantom stack of {} of {size}x{size} 16-bit ({:.2} GB) to {} in {:.2} s",
            render::count(slices, "slice"),
            bytes as f64 / 1e9,
            dir.display(),
            start.elapsed().as_secs_f64()
        ));
    }
    let options = output.options(dir, Selection::All);
    let summary = run_build(&options, output, signals)?;
    if !output.quiet {
        if _cleanup.is_some() {
            say("the phantom stack and its pyramid are removed now; --dir DIR keeps them");
        } else {
            say(&format!(
                "open e.g. {}",
                first_output(&summary, output.layout).display()
            ));
        }
    }
    Ok(())
}

/// The first file of the smallest level, or the store, for the demo to point at.
fn first_output(summary: &Summary, layout: TiffLayout) -> PathBuf {
    let root = &summary.out_root;
    match (summary.format, layout, summary.plan.levels.last()) {
        (OutputFormat::Tiff, TiffLayout::Slices, Some(l)) => {
            root.join(l.level.to_string()).join("000000.tif")
        }
        (OutputFormat::Tiff, TiffLayout::Stack, Some(l)) => {
            root.join(format!("level{}.tif", l.level))
        }
        _ => root.clone(),
    }
}

/// A new folder in the system's temporary folder, removed with everything in it when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> ctpyramid::Result<TempDir> {
        let base = std::env::temp_dir();
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir = base.join(format!("ctpyramid-demo-{}-{stamp}", std::process::id()));
        std::fs::create_dir(&dir).map_err(|e| ctpyramid::Error::write(&dir, e))?;
        Ok(TempDir(dir))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
