//! Splitting a build across machines: the plan of a stack cut into aligned shards
//! ([`plan_shards`]) and the Slurm job array that builds them ([`ShardPlan::slurm_script`]).
//! The arithmetic of shards is [`crate::shard`]'s.

use std::ops::Range;

use super::prepare::prepare;
use crate::error::Result;
use crate::input::Selection;
use crate::options::{BuildOptions, OutputFormat};
use crate::plan::Plan;
use crate::shard;

/// A build of `options` split into shards.
#[derive(Clone, Debug)]
pub struct ShardPlan {
    /// The plan of the whole stack.
    pub plan: Plan,
    /// Shards start and end on multiples of this many input slices (or the stack's end).
    pub unit: usize,
    /// Why `unit`: `2^3 levels`, or for OME-Zarr `chunk depth 16 x 2^3 levels`.
    pub alignment: String,
    /// Each shard's input slices, in order, covering the stack.
    pub ranges: Vec<Range<usize>>,
}

/// The plan of the stack `options` builds and its split into `shards` aligned shards (fewer
/// if the stack has fewer aligned groups): each shard builds with `slices` set to its range.
pub fn plan_shards(options: &BuildOptions, shards: usize) -> Result<ShardPlan> {
    options.check()?;
    let whole = BuildOptions {
        slices: None,
        ..options.clone()
    };
    let plan = prepare(&whole)?.plan;
    let unit = options.shard_unit(&plan);
    let levels = plan.levels.len();
    let alignment = match options.format {
        OutputFormat::Tiff => format!("2^{levels} levels"),
        OutputFormat::OmeZarr => {
            format!("chunk depth {} x 2^{levels} levels", options.zarr.chunks[0])
        }
    };
    Ok(ShardPlan {
        ranges: shard::split(&plan, unit, shards),
        plan,
        unit,
        alignment,
    })
}

impl ShardPlan {
    /// A Slurm job array that builds the shards of `options` (the options this plan was made
    /// with), one array task a shard: `sbatch` it as it is. Paths are absolute, so the
    /// script runs from any folder; `ctpyramid` must be on the compute nodes' PATH.
    pub fn slurm_script(&self, options: &BuildOptions) -> String {
        let list: Vec<String> = self
            .ranges
            .iter()
            .map(|r| format!("{}..{}", r.start, r.end))
            .collect();
        let args: Vec<String> = build_args(options).iter().map(|a| shell_quote(a)).collect();
        format!(
            "#!/bin/bash\n\
             #SBATCH --job-name=ctpyramid\n\
             #SBATCH --array=0-{}\n\
             #SBATCH --cpus-per-task=2\n\
             # {} slices in {} aligned shards; the last shard to finish marks the pyramid complete.\n\
             # A failed shard is rerun as is (it resumes).\n\
             RANGES=({})\n\
             exec ctpyramid build {} \\\n    --slices \"${{RANGES[$SLURM_ARRAY_TASK_ID]}}\" --quiet --progress none",
            self.ranges.len().saturating_sub(1),
            self.plan.slices,
            self.ranges.len(),
            list.join(" "),
            args.join(" ")
        )
    }
}

/// The command-line arguments of `build` that make every shard select, scale and write the
/// slices exactly as planned (all but `--slices`), paths made absolute.
fn build_args(options: &BuildOptions) -> Vec<String> {
    let absolute = |p: &std::path::Path| {
        std::path::absolute(p).map_or_else(|_| p.display().to_string(), |a| a.display().to_string())
    };
    let mut args = vec![absolute(&options.input)];
    args.extend(["--min-size".into(), options.min_size.to_string()]);
    args.extend(selection_args(&options.selection));
    if let Some(out) = &options.out {
        args.extend(["--out".into(), absolute(out)]);
    }
    if let Some(v) = options.voxel_um {
        args.extend(["--voxel-size".into(), v.to_string()]);
    }
    if options.format == OutputFormat::OmeZarr {
        let [z, y, x] = options.zarr.chunks;
        args.extend([
            "--format".into(),
            options.format.name().into(),
            "--ngff".into(),
            options.zarr.ngff.name().into(),
            "--codec".into(),
            options.zarr.codec.name().into(),
            "--chunks".into(),
            format!("{z},{y},{x}"),
        ]);
    }
    args
}

/// A selection as the command-line arguments that make it.
fn selection_args(selection: &Selection) -> Vec<String> {
    match selection {
        Selection::Auto => Vec::new(),
        Selection::AutoSkipMissing => vec!["--skip-missing".into()],
        Selection::All => vec!["--all-images".into()],
        Selection::Pattern(p) => {
            let mut args = vec![
                "--prefix".into(),
                p.prefix.clone(),
                "--ext".into(),
                p.ext.clone(),
                "--first".into(),
                p.first.to_string(),
                "--last".into(),
                p.last.to_string(),
                "--index-length".into(),
                p.index_length.to_string(),
            ];
            if p.skip_missing {
                args.push("--skip-missing".into());
            }
            args
        }
    }
}

/// Quotes `text` for a POSIX shell.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::Pattern;

    #[test]
    fn a_selection_becomes_the_arguments_that_make_it() {
        let pattern = Pattern {
            prefix: "s_rec".into(),
            ext: "tif".into(),
            first: 3,
            last: 9,
            index_length: 8,
            skip_missing: true,
        };
        assert_eq!(
            selection_args(&Selection::Pattern(pattern)).join(" "),
            "--prefix s_rec --ext tif --first 3 --last 9 --index-length 8 --skip-missing"
        );
        assert!(selection_args(&Selection::Auto).is_empty());
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
    }

    #[test]
    fn paths_in_the_script_are_absolute() {
        let options = BuildOptions {
            out: Some("pyramid".into()),
            ..BuildOptions::new("scan")
        };
        let args = build_args(&options);
        assert!(std::path::Path::new(&args[0]).is_absolute(), "{args:?}");
        let out = &args[args.iter().position(|a| a == "--out").unwrap() + 1];
        assert!(std::path::Path::new(out).is_absolute(), "{args:?}");
    }
}
