//! The `ctpyramid` command line: parses, dispatches, and turns the result into an exit code.
//! Each command's run (options to the library, progress, summary) is in [`cli::run`];
//! arguments, progress and rendering in the rest of [`cli`]; everything a job does is the
//! library's.

mod cli;

use std::path::Path;
use std::process::ExitCode;

use clap::Parser;

use cli::args::{Cli, Command};
use cli::{render, run};
use ctpyramid::platform::Interrupts;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    let signals = Interrupts::install();
    ctpyramid::platform::install_fault_handler();
    let result = match &cli.command {
        Command::Build(build) => run::build(build, &signals),
        Command::Inspect(inspect) => return report(run::inspect(inspect), &cli.command, &signals),
        Command::Bench(bench) => run::bench(bench),
        Command::Plan(plan) => run::plan(plan),
        Command::Crop(crop) => run::crop(crop, &signals),
        Command::Mesh(mesh) => run::mesh(mesh, &signals),
        Command::Demo(demo) => run::demo(demo, &signals),
    };
    report(result.map(|()| ExitCode::SUCCESS), &cli.command, &signals)
}

/// The exit code of a command's result; an error is printed first, as one line.
fn report(
    result: ctpyramid::Result<ExitCode>,
    command: &Command,
    signals: &Interrupts,
) -> ExitCode {
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("{}", render::error(&e, command.input()));
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
