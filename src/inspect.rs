//! `ctpyramid inspect`: what a stack is and how `build` would read it, without writing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::decode::Format;
use crate::discover::{select, Selection, SkyScanLog};
use crate::error::Result;
use crate::layout::{Encoding, SliceLayout};
use crate::manifest::{self, InputFile};
use crate::output::{OutputFormat, Recorded};
use crate::pyramid::{file_names, survey, BuildOptions, Layout, Survey};
use crate::pyramid::{Outputs, Plan};
use crate::slice::{SliceFile, Stack};
use crate::voxel;

/// What one slice is.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct SliceKind {
    pub format: &'static str,
    pub width: usize,
    pub height: usize,
    pub bits: u16,
    pub byte_order: &'static str,
    pub pixel: &'static str,
    pub strips: usize,
    pub read: String,
}

impl SliceKind {
    fn of(slice: &SliceFile) -> SliceKind {
        let l: &SliceLayout = slice.layout();
        let decoded = slice.read_path().to_string().starts_with("decoded");
        let (byte_order, pixel) = match &l.encoding {
            Encoding::Gray {
                big_endian,
                samples,
            } => (
                order(*big_endian),
                if *samples == 1 { "gray" } else { "gray+alpha" },
            ),
            Encoding::Rgb {
                big_endian,
                samples,
                ..
            } => (
                order(*big_endian),
                if *samples == 3 { "RGB" } else { "RGBA" },
            ),
            Encoding::Palette(_) => ("-", "palette"),
        };
        SliceKind {
            format: slice.format().name(),
            width: l.width,
            height: l.height,
            bits: l.depth.bits(),
            byte_order: if decoded || l.depth.bytes() == 1 {
                "-"
            } else {
                byte_order
            },
            pixel,
            // BMP rows are not strips: their count says nothing the size does not.
            strips: match slice.format() {
                _ if decoded => 0,
                Format::Bmp => 0,
                _ => l.strip_offsets.len(),
            },
            read: slice.read_path().to_string(),
        }
    }

    fn to_json(&self) -> Value {
        json!({
            "format": self.format, "width": self.width, "height": self.height,
            "bits": self.bits, "byte_order": self.byte_order, "pixel": self.pixel,
            "strips": self.strips, "read": self.read,
        })
    }
}

fn order(big_endian: bool) -> &'static str {
    if big_endian {
        "big-endian"
    } else {
        "little-endian"
    }
}

/// The result of inspecting a stack.
#[derive(Debug)]
pub struct Report {
    pub input: String,
    /// How the slices were chosen, when not every image of the folder: the note `build`
    /// prints.
    pub selection: Option<String>,
    /// The rule that chose the slices and why, always.
    pub rule: String,
    /// The rule, the files left out, what the log and the files disagree on: one a line.
    pub selection_lines: Vec<String>,
    /// Image files of the folder that are not slices.
    pub left_out: Vec<String>,
    /// The SkyScan log that selected the slices, if one did.
    pub log: Option<SkyScanLog>,
    pub slices: Vec<(String, std::result::Result<SliceKind, String>)>,
    pub file_bytes: u64,
    pub plan: Option<Plan>,
    /// Slices that `build` would refuse, with the reason.
    pub problems: Vec<(String, String)>,
    /// The state of the pyramid already in the output folder.
    pub pyramid: PyramidState,
}

/// What the output holds: a TIFF pyramid by its `pyramid.json`; an OME-Zarr store by the scan
/// a build resumes from.
#[derive(Clone, Debug, PartialEq)]
pub enum PyramidState {
    /// An OME-Zarr store (or none yet), as `build` with the same options would find it.
    Store(Survey),
    /// The output could not be examined: the stack cannot be built as it is.
    Unknown { root: String, reason: String },
    /// No output folder.
    None,
    /// A folder without `pyramid.json`: a build interrupted, still running, or by another tool.
    Incomplete { root: String },
    /// Complete, and built from the slices as they are now.
    Complete {
        root: String,
        layout: String,
        levels: usize,
    },
    /// Complete, but built from other slices (replaced, added, removed since).
    Stale { root: String },
}

impl PyramidState {
    fn of(
        root: &Path,
        stack: &Stack,
        inputs: &[PathBuf],
        input: &Path,
        first: Option<&SliceFile>,
    ) -> PyramidState {
        let shown = root.display().to_string();
        let Some(recorded) = manifest::read(root) else {
            return if root.exists() {
                PyramidState::Incomplete { root: shown }
            } else {
                PyramidState::None
            };
        };
        let layout = match recorded.get("layout").and_then(|v| v.as_str()) {
            Some("stack") => Layout::Stack,
            _ => Layout::Slices,
        };
        let min_size = recorded
            .get("min_size")
            .and_then(|v| v.as_u64())
            .unwrap_or(0) as usize;
        let files: Option<Vec<InputFile>> = inputs.iter().map(|p| InputFile::of(p).ok()).collect();
        let (Some(first), Some(files)) = (first, files) else {
            return PyramidState::Stale { root: shown };
        };
        let f = first.layout();
        let mut plan = Plan::new(f.width, f.height, f.depth, stack.len(), min_size);
        plan.voxel_um = recorded.get("voxel_um").and_then(|v| v.as_f64());
        let levels = plan.levels.len();
        let names = file_names(&plan, layout);
        let source = manifest::Source {
            inputs: files,
            plan,
            layout,
        };
        if source.matches(&recorded, input, &names) {
            PyramidState::Complete {
                root: shown,
                layout: layout.name().into(),
                levels,
            }
        } else {
            PyramidState::Stale { root: shown }
        }
    }

    fn describe(&self) -> String {
        match self {
            PyramidState::Store(survey) => describe_store(survey),
            PyramidState::Unknown { root, reason } => format!("unknown for {root}: {reason}"),
            PyramidState::None => "none yet".into(),
            PyramidState::Incomplete { root } => format!(
                "incomplete in {root} (no pyramid.json: a build was interrupted, is running, or \
                 another tool wrote it; build resumes it)"
            ),
            PyramidState::Complete {
                root,
                layout,
                levels,
            } => format!("complete in {root} ({levels} level(s), layout {layout})"),
            PyramidState::Stale { root } => format!(
                "out of date in {root}: the slices changed since it was built (build rebuilds it)"
            ),
        }
    }
}

/// The state of an OME-Zarr store in a sentence.
fn describe_store(s: &Survey) -> String {
    let root = s.out_root.display();
    let files = |o: &Outputs| format!("{} chunk files ({} slices)", o.files, o.slices);
    let total = Outputs {
        files: s.kept.files + s.to_write.files,
        slices: s.kept.slices + s.to_write.slices,
    };
    let levels: Vec<String> = s
        .levels
        .iter()
        .map(|l| format!("{}: {}/{}", l.level, l.complete, l.slices))
        .collect();
    let rerun = format!(
        "build keeps {} and computes {}, reading {} input slices",
        files(&s.kept),
        files(&s.to_write),
        s.to_read
    );
    if !s.exists {
        return format!("none yet ({root} does not exist)");
    }
    if s.complete() {
        return format!(
            "complete in {root} ({} level(s) below the input, {})",
            s.levels.len().saturating_sub(1),
            files(&total)
        );
    }
    if s.stale {
        return format!(
            "out of date in {root}: built from other inputs or options ({rerun}; --force \
             rebuilds all)"
        );
    }
    let why = match (s.recorded, s.to_write.files) {
        (Recorded::None, 0) => "every chunk is there but the group metadata, written last".into(),
        (Recorded::None, _) => "no group metadata: a build was interrupted or is running".into(),
        (_, n) => format!(
            "complete metadata, but chunk rows with a file missing or damaged: {n} chunk files \
             to rewrite"
        ),
    };
    format!(
        "incomplete in {root} ({why}); slices complete per level {}; {rerun}",
        levels.join(", ")
    )
}

/// Reads the header of every slice of `input` (a folder or a multi-page TIFF), decoding no
/// pixel, and reports every problem rather than stopping at the first.
pub fn inspect(input: &Path, selection: &Selection, min_size: usize) -> Result<Report> {
    inspect_with(input, selection, min_size, None)
}

/// [`inspect`], with the pyramid looked for in `out_root` rather than where `build` puts it
/// by default.
pub fn inspect_with(
    input: &Path,
    selection: &Selection,
    min_size: usize,
    out_root: Option<&Path>,
) -> Result<Report> {
    let options = BuildOptions {
        selection: selection.clone(),
        min_size,
        out: out_root.map(Path::to_path_buf),
        ..BuildOptions::new(input)
    };
    inspect_options(&options)
}

/// [`inspect`] with the options of a build: the selection, `min_size`, `voxel_um`, and where
/// and how the output is written (`out`, `format`, `layout`, `zarr`). A TIFF pyramid's state
/// comes from its `pyramid.json`; an OME-Zarr store's from the scan a build with these
/// options resumes from ([`survey`]).
pub fn inspect_options(options: &BuildOptions) -> Result<Report> {
    let (input, selection, min_size) = (&options.input, &options.selection, options.min_size);
    let input = input.as_path();
    let mut listing = select(input, selection)?;
    let paths = listing.paths.clone();
    let stack = Stack::new(std::mem::take(&mut listing.paths))?;
    let mut slices = Vec::with_capacity(stack.len());
    let mut problems = Vec::new();
    let mut first: Option<SliceFile> = None;
    for (index, slice) in stack.prober().enumerate() {
        let slice = match slice {
            Ok(s) => s,
            Err(e) => {
                let name = stack.name(index);
                problems.push((name.clone(), e.to_string()));
                slices.push((name, Err(e.to_string())));
                continue;
            }
        };
        let kind = SliceKind::of(&slice);
        match &first {
            None => first = Some(slice),
            Some(f) => {
                if let Err(e) = slice.check_matches(f) {
                    problems.push((slice.name(), e.to_string()));
                }
            }
        }
        slices.push((stack.name(index), Ok(kind)));
    }
    let file_bytes = match &stack {
        Stack::Files(paths) => paths
            .iter()
            .filter_map(|p| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .sum(),
        Stack::Pages { path, .. } => std::fs::metadata(path).map(|m| m.len()).unwrap_or(0),
    };
    let root = options.out_root();
    let pyramid = match options.format {
        OutputFormat::Tiff => PyramidState::of(&root, &stack, &paths, input, first.as_ref()),
        OutputFormat::OmeZarr => {
            let options = BuildOptions {
                force: false,
                slices: None,
                ..options.clone()
            };
            match survey(&options) {
                Ok(survey) => PyramidState::Store(survey),
                Err(e) => PyramidState::Unknown {
                    root: root.display().to_string(),
                    reason: e.to_string(),
                },
            }
        }
    };
    let plan = first.map(|first| {
        let f = first.layout();
        listing.check_first(f.width, f.height);
        let mut plan = Plan::new(f.width, f.height, f.depth, stack.len(), min_size);
        let voxel = voxel::resolve(
            options.voxel_um,
            listing.log.as_ref(),
            first.path(),
            first.scale(),
        );
        (plan.voxel_um, plan.voxel_source) =
            voxel.map_or((None, None), |(um, s)| (Some(um), Some(s)));
        plan
    });
    Ok(Report {
        input: input.display().to_string(),
        selection_lines: listing.lines(),
        selection: listing.note,
        rule: listing.rule,
        left_out: listing.left_out,
        log: listing.log,
        slices,
        file_bytes,
        plan,
        problems,
        pyramid,
    })
}

impl Report {
    /// Slices grouped by kind, each with its count and first slice, in order of appearance.
    fn kinds(&self) -> Vec<(&SliceKind, usize, &str)> {
        let mut seen: BTreeMap<&SliceKind, (usize, usize, &str)> = BTreeMap::new();
        for (i, (name, kind)) in self.slices.iter().enumerate() {
            if let Ok(kind) = kind {
                seen.entry(kind).or_insert((i, 0, name)).1 += 1;
            }
        }
        let mut kinds: Vec<_> = seen
            .into_iter()
            .map(|(k, (i, n, name))| (i, k, n, name))
            .collect();
        kinds.sort_by_key(|k| k.0);
        kinds
            .into_iter()
            .map(|(_, k, n, name)| (k, n, name))
            .collect()
    }

    pub fn to_json(&self) -> Value {
        json!({
            "input": self.input,
            "selection": self.selection,
            "rule": self.rule,
            "left_out": self.left_out,
            "log": self.log.as_ref().map(|l| json!({
                "file": l.path.file_name().map(|n| n.to_string_lossy()),
                "scanner": l.scanner,
                "software": l.software,
                "first": l.first,
                "last": l.last,
                "width": l.width,
                "height": l.height,
                "pixel_size_um": l.pixel_size_um,
            })),
            "voxel_um": self.plan.as_ref().and_then(|p| p.voxel_um),
            "voxel_source": self.plan.as_ref()
                .and_then(|p| p.voxel_source.as_ref())
                .map(|s| s.to_json()),
            "slices": self.slices.len(),
            "file_bytes": self.file_bytes,
            "kinds": self.kinds().iter().map(|(k, n, name)| {
                let mut v = k.to_json();
                v["count"] = json!(n);
                v["first"] = json!(name);
                v
            }).collect::<Vec<_>>(),
            "levels": self.plan.iter().flat_map(|p| &p.levels).map(|l| json!({
                "level": l.level, "width": l.width, "height": l.height, "slices": l.slices,
            })).collect::<Vec<_>>(),
            "pyramid": match &self.pyramid {
                PyramidState::None => json!({ "state": "none" }),
                PyramidState::Incomplete { root } => json!({ "state": "incomplete", "root": root }),
                PyramidState::Complete { root, layout, levels } => json!({
                    "state": "complete", "root": root, "layout": layout, "levels": levels,
                }),
                PyramidState::Stale { root } => json!({ "state": "stale", "root": root }),
                PyramidState::Unknown { root, reason } => json!({
                    "state": "unknown", "root": root, "error": reason,
                }),
                PyramidState::Store(s) => store_json(s),
            },
            "problems": self.problems.iter().map(|(slice, error)| json!({
                "slice": slice, "error": error,
            })).collect::<Vec<_>>(),
            "files": self.slices.iter().map(|(name, kind)| match kind {
                Ok(k) => { let mut v = k.to_json(); v["slice"] = json!(name); v }
                Err(e) => json!({ "slice": name, "error": e }),
            }).collect::<Vec<_>>(),
        })
    }

    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let mut line = |s: String| {
            out.push_str(&s);
            out.push('\n');
        };
        line(format!(
            "{}: {} slices, {:.2} GB of files",
            self.input,
            self.slices.len(),
            self.file_bytes as f64 / 1e9
        ));
        for selection in &self.selection_lines {
            line(format!("  {selection}"));
        }
        if let Some(log) = &self.log {
            let made_by: Vec<&str> = [log.scanner.as_deref(), log.software.as_deref()]
                .into_iter()
                .flatten()
                .collect();
            if !made_by.is_empty() {
                line(format!("  scanner: {}", made_by.join(", ")));
            }
        }
        for (k, n, first) in self.kinds() {
            let strips = match k.strips {
                0 => String::new(),
                1 => ", 1 strip".into(),
                s => format!(", {s} strips"),
            };
            let order = if k.byte_order == "-" {
                String::new()
            } else {
                format!(" {}", k.byte_order)
            };
            line(format!(
                "  {n} x {} {}x{} {}-bit {}{order}{strips}: {} (first: {first})",
                k.format, k.width, k.height, k.bits, k.pixel, k.read
            ));
        }
        if let Some(plan) = &self.plan {
            match (plan.voxel_um, &plan.voxel_source) {
                (Some(um), Some(source)) => {
                    line(format!("  voxel: {um} um, from {}", source.describe()))
                }
                _ => line(
                    "  voxel: unknown (no --voxel-size, log, or resolution with a unit in the \
                     first slice)"
                        .into(),
                ),
            }
        }
        match &self.plan {
            Some(plan) if !plan.levels.is_empty() => {
                let levels: Vec<String> = plan
                    .levels
                    .iter()
                    .map(|l| format!("{}: {}x{} x {}", l.level, l.width, l.height, l.slices))
                    .collect();
                line(format!("  levels: {}", levels.join(", ")));
            }
            _ => line("  levels: none (slices are already small enough)".into()),
        }
        line(format!("  pyramid: {}", self.pyramid.describe()));
        if self.problems.is_empty() {
            line("  problems: none".into());
        } else {
            line(format!("  problems: {}", self.problems.len()));
            // Each error names its slice already.
            for (_, error) in self.problems.iter().take(20) {
                line(format!("    {error}"));
            }
            if self.problems.len() > 20 {
                line(format!(
                    "    ... and {} more (--json lists all)",
                    self.problems.len() - 20
                ));
            }
        }
        out
    }
}

/// An OME-Zarr store's state for `inspect --json`: `state` as for a TIFF pyramid, and what a
/// build would keep, write and read.
fn store_json(s: &Survey) -> Value {
    let state = match () {
        _ if !s.exists => "none",
        _ if s.complete() => "complete",
        _ if s.stale => "stale",
        _ => "incomplete",
    };
    let outputs = |o: &Outputs| json!({ "files": o.files, "slices": o.slices });
    json!({
        "state": state,
        "root": s.out_root.display().to_string(),
        "format": s.format.name(),
        "ngff": s.zarr.ngff.name(),
        "chunks": s.zarr.chunks,
        "codec": s.zarr.codec.name(),
        "metadata": match s.recorded {
            Recorded::None => "absent",
            Recorded::Current => "current",
            Recorded::Stale => "stale",
        },
        "levels": s.levels.iter().map(|l| json!({
            "level": l.level, "complete": l.complete, "slices": l.slices,
        })).collect::<Vec<_>>(),
        "kept": outputs(&s.kept),
        "to_write": outputs(&s.to_write),
        "to_read": s.to_read,
    })
}
