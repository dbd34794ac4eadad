//! The `ctpyramid` command line.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use ctpyramid::{build, BuildOptions, Event, Summary};

const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  bad input: unreadable, damaged or unsupported slice, mismatched slices, no slices
  2  usage error (bad command line)
  3  output error: cannot create or write output (permissions, disk full)";

#[derive(Parser)]
#[command(version, about = "Level-of-detail pyramids of CT slice stacks, read with zero copies", after_help = EXIT_CODES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build the pyramid of a folder of slices into <DIR>/.thumbnail/<level>/<k>.tif
    #[command(after_help = EXIT_CODES)]
    Build {
        /// Folder of slice images (uncompressed 8/16-bit grayscale TIFF)
        dir: PathBuf,
        #[command(flatten)]
        args: BuildArgs,
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

#[derive(clap::Args)]
struct BuildArgs {
    /// Root folder of the levels [default: <DIR>/.thumbnail]
    #[arg(long)]
    out: Option<PathBuf>,
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Build { dir, args } => run_build(dir, &args).map(|_| ()),
        Command::Demo {
            dir,
            slices,
            size,
            args,
        } => run_demo(dir, slices, size, &args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ctpyramid: error: {e}");
            ExitCode::from(e.exit_code() as u8)
        }
    }
}

fn run_build(dir: PathBuf, args: &BuildArgs) -> ctpyramid::Result<Summary> {
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
        ..BuildOptions::new(dir)
    };
    let show = !args.quiet && std::io::stderr().is_terminal();
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
    let mut on_event = |event: Event| match event {
        Event::Planned { plan, out_root } => {
            if !args.quiet {
                eprintln!(
                    "{} slices of {}x{} {} -> {} level(s) in {}",
                    plan.slices,
                    plan.width,
                    plan.height,
                    plan.depth,
                    plan.levels.len(),
                    out_root.display()
                );
            }
            if show {
                let bytes = (plan.width * plan.height * plan.depth.bytes() * plan.slices) as u64;
                bar.set_length(bytes);
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
    let summary = build(&options, &mut on_event);
    bar.finish_and_clear();
    let summary = summary?;
    if !args.quiet {
        print_summary(&summary);
    }
    Ok(summary)
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
    println!(
        "built {} level(s) [{}] from {} slices: {:.2} GB read in {:.2} s ({:.2} GB/s), \
         {} files written to {} ({} of {} slices zero-copy)",
        s.plan.levels.len(),
        levels.join(", "),
        s.plan.slices,
        gb,
        secs,
        gb / secs.max(1e-9),
        s.files_written,
        s.out_root.display(),
        s.zero_copy_slices,
        s.plan.slices,
    );
}

fn run_demo(
    dir: Option<PathBuf>,
    slices: usize,
    size: usize,
    args: &BuildArgs,
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
        println!(
            "wrote a phantom stack of {slices} slices of {size}x{size} 16-bit ({:.2} GB) to {} in {:.2} s",
            bytes as f64 / 1e9,
            dir.display(),
            start.elapsed().as_secs_f64()
        );
    }
    let summary = run_build(dir, args)?;
    if !args.quiet {
        if let Some(level) = summary.plan.levels.last() {
            println!(
                "open e.g. {}",
                ctpyramid::pyramid::slice_path(&summary.out_root, level.level, 0).display()
            );
        }
    }
    Ok(())
}
