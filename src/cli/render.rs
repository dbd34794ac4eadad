//! Everything the CLI prints for people: the build's lines and summary, `inspect`'s report,
//! `plan`'s shards, `bench`'s table, and errors with a hint at the next step. Programs get
//! the library's JSON instead ([`ctpyramid::progress`], [`ctpyramid::Report::to_json`]).

use std::path::Path;

use ctpyramid::{
    describe_levels, BenchReport, BuildOptions, CropSummary, Error, Hint, MeshSummary,
    OutputFormat, Outputs, PyramidState, Recorded, Report, ShardPlan, Summary, Survey, Units,
};

/// `1 slice`, `2 slices`.
pub fn count(n: usize, noun: &str) -> String {
    match n {
        1 => format!("1 {noun}"),
        n => format!("{n} {noun}s"),
    }
}

/// What a build's file counts count: TIFF files, or an OME-Zarr store's chunk files.
pub fn files_noun(format: OutputFormat) -> &'static str {
    match format {
        OutputFormat::Tiff => "file",
        OutputFormat::OmeZarr => "chunk file",
    }
}

/// The one line of a build's summary.
pub fn summary(s: &Summary) -> String {
    let secs = s.elapsed.as_secs_f64();
    let gb = s.bytes_read as f64 / 1e9;
    let levels = describe_levels(&s.plan.levels);
    let noun = files_noun(s.format);
    if s.plan.levels.is_empty() && s.files_written == 0 {
        return format!(
            "nothing to build: {}x{} slices are not larger than --min-size",
            s.plan.width, s.plan.height
        );
    }
    if s.files_written == 0 {
        return format!(
            "nothing to do: all {} of {} {levels} in {} are complete (--force rebuilds)",
            count(s.files_kept, noun),
            count(s.plan.levels.len(), "level"),
            s.out_root.display()
        );
    }
    let kept = match s.files_kept {
        0 => String::new(),
        n => format!(", {n} kept from an earlier run"),
    };
    let read = match s.decoded_slices {
        0 => format!("{} zero-copy", s.zero_copy_slices),
        n => format!("{} zero-copy, {n} decoded", s.zero_copy_slices),
    };
    format!(
        "built {} {levels} from {} in {secs:.2} s: {} read ({read}), {gb:.2} GB at {:.2} GB/s; \
         {} written to {}{kept}",
        count(s.plan.levels.len(), "level"),
        count(s.plan.slices, "slice"),
        count(s.slices_read, "slice"),
        gb / secs.max(1e-9),
        count(s.files_written, noun),
        s.out_root.display(),
    )
}

/// The one line of a crop's summary.
pub fn crop(s: &CropSummary) -> String {
    let secs = s.elapsed.as_secs_f64();
    let out = s
        .out
        .as_ref()
        .map_or(String::new(), |o| o.display().to_string());
    let read = match s.decoded_slices {
        0 => format!("{} zero-copy", s.zero_copy_slices),
        n => format!("{} zero-copy, {n} decoded", s.zero_copy_slices),
    };
    let kept = match s.files_kept {
        0 => String::new(),
        n => format!(", {n} kept from an earlier run"),
    };
    format!(
        "cropped level {} {} ({}x{} x {}) in {secs:.2} s: {} read ({read}), {:.3} GB of \
         files read for {:.3} GB in the box; {} written to {out}{kept}",
        s.level,
        s.region.describe(),
        s.region.x.len(),
        s.region.y.len(),
        s.region.z.len(),
        count(s.slices_read, "slice"),
        s.file_bytes_read as f64 / 1e9,
        s.bytes_read as f64 / 1e9,
        count(s.files_written, "file"),
    )
}

/// What a mesh did, in a line.
pub fn mesh(s: &MeshSummary) -> String {
    let secs = s.elapsed.as_secs_f64();
    let read = match s.decoded_slices {
        0 => format!("{} zero-copy", s.zero_copy_slices),
        n => format!("{} zero-copy, {n} decoded", s.zero_copy_slices),
    };
    let out = s
        .out
        .as_ref()
        .map_or(String::new(), |(path, format, bytes)| {
            format!(
                "; {} ({:.1} MB {})",
                path.display(),
                *bytes as f64 / 1e6,
                format.name()
            )
        });
    let dropped = match s.degenerate {
        0 => String::new(),
        n => format!(" ({n} with two corners at one point left out)"),
    };
    let units = match s.units {
        Units::Voxel => "voxels",
        Units::Um => "micrometres",
    };
    format!(
        "meshed level {} {} ({}x{} x {} {}) at iso {} in {secs:.2} s: {} triangles{dropped}, \
         {} vertices in {units}; {} read ({read}), {:.3} GB{out}",
        s.level,
        s.region.describe(),
        s.region.x.len(),
        s.region.y.len(),
        s.region.z.len(),
        s.depth,
        s.iso,
        s.triangles,
        s.vertices,
        count(s.slices_read, "slice"),
        s.file_bytes_read as f64 / 1e9,
    )
}

/// The error as one line (the last of stderr, which scripts read), options named as the
/// command line spells them, and a hint at the next step when there is one.
pub fn error(e: &Error, input: Option<&Path>) -> String {
    let line = match e {
        Error::Invalid {
            option,
            value,
            reason,
        } => format!("--{} {value}: {reason}", option.replace('_', "-")),
        Error::Cancelled => return format!("ctpyramid: {e}"),
        e => e.to_string(),
    };
    let hint = match e {
        Error::BadInput {
            hint: Some(hint), ..
        } => Some(option_hint(*hint).to_string()),
        // A slice that is there but cannot be used: inspect lists every such slice.
        Error::BadInput { path, .. } | Error::Mismatch { path, .. } if path.is_file() => {
            input.map(|dir| format!("`ctpyramid inspect {}` lists every problem", dir.display()))
        }
        Error::Write { source, .. } if unwritable(source) => {
            Some("--out DIR writes elsewhere".to_string())
        }
        _ => None,
    };
    match hint {
        Some(hint) => format!("ctpyramid: error: {line} ({hint})"),
        None => format!("ctpyramid: error: {line}"),
    }
}

/// A [`Hint`] in the command line's words.
fn option_hint(hint: Hint) -> &'static str {
    match hint {
        Hint::SkipMissing => "--skip-missing leaves them out, --all-images takes every image",
        Hint::Prefix => "--prefix selects slices by name",
    }
}

/// A folder the user may not write to, or on a read-only filesystem.
fn unwritable(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::PermissionDenied
        || e.kind() == std::io::ErrorKind::ReadOnlyFilesystem
}

/// `inspect`'s report as text.
pub fn report(r: &Report) -> String {
    let mut lines = vec![format!(
        "{}: {}, {:.2} GB of files",
        r.input,
        count(r.slices.len(), "slice"),
        r.file_bytes as f64 / 1e9
    )];
    lines.extend(r.selection_lines.iter().map(|s| format!("  {s}")));
    if let Some(log) = &r.log {
        let made_by: Vec<&str> = [log.scanner.as_deref(), log.software.as_deref()]
            .into_iter()
            .flatten()
            .collect();
        if !made_by.is_empty() {
            lines.push(format!("  scanner: {}", made_by.join(", ")));
        }
    }
    for (k, n, first) in r.kinds() {
        let strips = match k.strips {
            0 => String::new(),
            s => format!(", {}", count(s, "strip")),
        };
        let order = match k.byte_order {
            "-" => String::new(),
            order => format!(" {order}"),
        };
        lines.push(format!(
            "  {n} x {} {}x{} {} {}{order}{strips}: {} (first: {first})",
            k.format, k.width, k.height, k.depth, k.pixel, k.read
        ));
    }
    if let Some(plan) = &r.plan {
        lines.push(match (plan.voxel_um, &plan.voxel_source) {
            (Some(um), Some(source)) => format!("  voxel: {um} um, from {}", source.describe()),
            _ => "  voxel: unknown (no --voxel-size, log, or resolution with a unit in the \
                  first slice)"
                .into(),
        });
    }
    lines.push(match &r.plan {
        Some(plan) if !plan.levels.is_empty() => {
            let levels = describe_levels(&plan.levels);
            format!("  levels: {}", levels.trim_matches(['[', ']']))
        }
        _ => "  levels: none (slices are already small enough)".into(),
    });
    lines.push(format!("  pyramid: {}", pyramid(&r.pyramid)));
    lines.push(match r.problems.len() {
        0 => "  problems: none".into(),
        n => format!("  problems: {n}"),
    });
    // Each error names its slice already.
    lines.extend(r.problems.iter().take(20).map(|(_, e)| format!("    {e}")));
    if r.problems.len() > 20 {
        let more = r.problems.len() - 20;
        lines.push(format!("    ... and {more} more (--json lists all)"));
    }
    lines.join("\n")
}

/// The state of the output in a sentence.
fn pyramid(state: &PyramidState) -> String {
    let s: &Survey = match state {
        PyramidState::Unknown { root, reason } => return format!("unknown for {root}: {reason}"),
        PyramidState::Surveyed(s) => s,
    };
    let root = s.out_root.display();
    let (noun, mark) = match s.format {
        OutputFormat::Tiff => ("file", "pyramid.json"),
        OutputFormat::OmeZarr => ("chunk file", "group metadata"),
    };
    let files = |o: &Outputs| format!("{} ({})", count(o.files, noun), count(o.slices, "slice"));
    let rerun = format!(
        "build keeps {} and computes {}, reading {} input {}",
        files(&s.kept),
        files(&s.to_write),
        s.to_read,
        if s.to_read == 1 { "slice" } else { "slices" }
    );
    if !s.exists {
        return format!("none yet ({root} does not exist)");
    }
    let below = s.levels.iter().filter(|l| l.level > 0).count();
    if s.complete() {
        let layout = match s.format {
            OutputFormat::Tiff => format!(", layout {}", s.layout),
            OutputFormat::OmeZarr => String::new(),
        };
        let total = Outputs {
            files: s.kept.files + s.to_write.files,
            slices: s.kept.slices + s.to_write.slices,
        };
        let levels = count(below, "level");
        return format!(
            "complete in {root} ({levels} below the input, {}{layout})",
            files(&total)
        );
    }
    if s.stale {
        return format!(
            "out of date in {root}: built from other slices or options ({rerun}; --force \
             rebuilds all)"
        );
    }
    let why = match (s.recorded, s.to_write.files) {
        (Recorded::None, 0) => format!("every {noun} is there but the {mark}, written last"),
        (Recorded::None, _) => format!("no {mark}: a build was interrupted or is running"),
        (_, n) => format!("{mark} there, but {} missing or damaged", count(n, noun)),
    };
    let levels: Vec<String> = s
        .levels
        .iter()
        .map(|l| format!("{}: {}/{}", l.level, l.complete, l.slices))
        .collect();
    format!(
        "incomplete in {root} ({why}); slices complete per level {}; {rerun}",
        levels.join(", ")
    )
}

/// `plan`'s shards, then the Slurm script.
pub fn shards(options: &BuildOptions, plan: &ShardPlan) -> String {
    let p = &plan.plan;
    let mut lines = vec![format!(
        "{}: {} of {}x{} {} -> {}; shards must start and end on multiples of {} ({})",
        options.input.display(),
        count(p.slices, "slice"),
        p.width,
        p.height,
        p.depth,
        count(p.levels.len(), "level"),
        plan.unit,
        plan.alignment,
    )];
    for (i, r) in plan.ranges.iter().enumerate() {
        lines.push(format!("shard {i}: --slices {}..{}", r.start, r.end));
    }
    lines.push(String::new());
    lines.push("as a Slurm job array (--slurm prints just this, ready for sbatch):".into());
    lines.push(String::new());
    lines.push(plan.slurm_script(options));
    lines.join("\n")
}

/// `bench`'s table.
pub fn bench(report: &BenchReport, runs: usize) -> String {
    let floor = report.timings.first().map(|t| t.median().as_secs_f64());
    let mut lines = vec![
        format!(
            "{} of {}, {:.2} GB of files, {} cache, median of {}; read and reduced to level \
             1 in memory, nothing written",
            count(report.slices, "slice"),
            report.layout,
            report.file_bytes as f64 / 1e9,
            if report.cold { "cold" } else { "warm" },
            count(runs.max(1), "run"),
        ),
        format!(
            "{:<20} {:>10} {:>10} {:>10}",
            "method", "time (s)", "GB/s", "x cat"
        ),
    ];
    for t in &report.timings {
        let secs = t.median().as_secs_f64();
        let ratio = floor.map_or(String::new(), |f| format!("{:.2}", secs / f.max(1e-9)));
        lines.push(format!(
            "{:<20} {:>10.3} {:>10.2} {:>10}",
            t.method.name(),
            secs,
            t.gb_per_s(),
            ratio
        ));
    }
    lines.push(
        match report.network {
            true => "filesystem: a network share or FUSE: --reader auto reads the files (buffered)",
            false => "filesystem: local: --reader auto maps the files (mmap)",
        }
        .to_string(),
    );
    if let Some(best) = report.best_reader() {
        lines.push(format!(
            "best reader on this disk: --reader {}",
            best.method.name()
        ));
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn errors_name_options_as_flags_and_hint_at_the_next_step() {
        let dir = Path::new("scan");
        let invalid = Error::invalid("min_size", 0, "must be at least 1");
        assert_eq!(
            error(&invalid, Some(dir)),
            "ctpyramid: error: --min-size 0: must be at least 1"
        );
        let denied = Error::write(
            Path::new("/scans/.thumbnail"),
            std::io::Error::from(std::io::ErrorKind::PermissionDenied),
        );
        let line = error(&denied, Some(dir));
        assert!(line.ends_with("(--out DIR writes elsewhere)"), "{line}");
        let missing = Error::bad_input(Path::new("scan/s3.tif"), "missing: 1 of 5 has no file")
            .with_hint(Hint::SkipMissing);
        let line = error(&missing, Some(dir));
        assert!(
            line.ends_with("(--skip-missing leaves them out, --all-images takes every image)"),
            "{line}"
        );
        let full = Error::Write {
            path: PathBuf::from("out"),
            source: std::io::Error::other("No space left on device"),
        };
        assert!(
            !error(&full, Some(dir)).contains("hint"),
            "no hint for a full disk"
        );
        assert_eq!(error(&full, Some(dir)).lines().count(), 1);
    }

    #[test]
    fn counts_are_singular_for_one() {
        assert_eq!(count(1, "slice"), "1 slice");
        assert_eq!(count(0, "level"), "0 levels");
        assert_eq!(count(2, "chunk file"), "2 chunk files");
    }
}
