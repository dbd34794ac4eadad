//! Each command's run: its options to the library, its progress shown as it goes, its
//! summary printed at the end (text, or JSON with `--progress json`).

use std::path::PathBuf;
use std::time::Instant;

use ctpyramid::platform::Interrupts;
use ctpyramid::{BenchOptions, BuildOptions, OutputFormat, Selection, Summary, TiffLayout};

use super::args::{BenchCmd, BuildCmd, CropCmd, DemoCmd, InspectCmd, MeshCmd, OutputArgs, PlanCmd};
use super::progress::Reporter;
use super::{render, say};

/// `build`: the pyramid, with a bar or JSON lines, and a summary.
pub fn build(args: &BuildCmd, signals: &Interrupts) -> ctpyramid::Result<()> {
    run_build(&args.options()?, &args.output, signals).map(drop)
}

/// `crop`: a box of a level written as files, with a bar or JSON lines, and a summary.
pub fn crop(args: &CropCmd, signals: &Interrupts) -> ctpyramid::Result<()> {
    size_threads(args.run.threads)?;
    let mut options = args.options()?;
    options.read.cancel = Some(signals.cancel());
    let mut reporter = Reporter::new(args.run.progress, args.run.quiet);
    let summary = ctpyramid::crop(&options, &mut |event| reporter.event(event));
    reporter.finish();
    let summary = summary?;
    match reporter.json() {
        true => say(&ctpyramid::progress::crop_summary(&summary).to_string()),
        false if !args.run.quiet => say(&render::crop(&summary)),
        false => {}
    }
    Ok(())
}

/// `mesh`: the surface of a box of a level written as a mesh file, with a bar or JSON lines,
/// a summary, and a warning line when the mesh is empty for a reason.
pub fn mesh(args: &MeshCmd, signals: &Interrupts) -> ctpyramid::Result<()> {
    size_threads(args.run.threads)?;
    let mut options = args.options()?;
    options.read.cancel = Some(signals.cancel());
    let mut reporter = Reporter::new(args.run.progress, args.run.quiet);
    let summary = ctpyramid::mesh(&options, &args.out, args.sync, &mut |event| {
        reporter.event(event)
    });
    reporter.finish();
    let summary = summary?;
    if let Some(warning) = summary.warning.as_ref().filter(|_| !args.run.quiet) {
        eprintln!("warning: {warning}");
    }
    match reporter.json() {
        true => say(&ctpyramid::progress::mesh_summary(&summary).to_string()),
        false if !args.run.quiet => say(&render::mesh(&summary)),
        false => {}
    }
    Ok(())
}

/// Sizes the kernels' thread pool: this process is the command's, so its pool, which the
/// OME-Zarr writer's thread compresses on too, is the global one.
fn size_threads(threads: Option<usize>) -> ctpyramid::Result<()> {
    if let Some(n) = threads {
        ctpyramid::check_threads(n)?;
        // Only fails if a pool exists already, which then serves just as well.
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global();
    }
    Ok(())
}

/// Runs a build with the output options' threads and progress, then prints its summary.
fn run_build(
    options: &BuildOptions,
    output: &OutputArgs,
    signals: &Interrupts,
) -> ctpyramid::Result<Summary> {
    size_threads(output.threads)?;
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
pub fn inspect(args: &InspectCmd) -> ctpyramid::Result<std::process::ExitCode> {
    let report = ctpyramid::inspect(&args.options()?)?;
    match args.json {
        true => say(&format!("{:#}", report.to_json())),
        false => say(&render::report(&report)),
    }
    Ok(match report.problems.is_empty() {
        true => std::process::ExitCode::SUCCESS,
        false => std::process::ExitCode::from(1),
    })
}

/// `bench`: every way of reading, timed.
pub fn bench(args: &BenchCmd) -> ctpyramid::Result<()> {
    let options = BenchOptions {
        runs: args.runs,
        cold: args.cold,
        selection: args.select.selection()?,
        ..BenchOptions::new(&args.dir)
    };
    let report = ctpyramid::bench(&options)?;
    match args.json {
        true => say(&report.to_json().to_string()),
        false => say(&render::bench(&report, args.runs)),
    }
    Ok(())
}

/// `plan`: the shards, and the Slurm job array that builds them.
pub fn plan(args: &PlanCmd) -> ctpyramid::Result<()> {
    let options = args.options()?;
    let plan = ctpyramid::plan_shards(&options, args.shards)?;
    match args.slurm {
        true => say(&plan.slurm_script(&options)),
        false => say(&render::shards(&options, &plan)),
    }
    Ok(())
}

/// `demo`: a phantom stack written, then built; removed after unless `dir` is given.
pub fn demo(args: &DemoCmd, signals: &Interrupts) -> ctpyramid::Result<()> {
    let (slices, size, output) = (args.slices, args.size, &args.output);
    let (dir, _cleanup) = match args.dir.clone() {
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
