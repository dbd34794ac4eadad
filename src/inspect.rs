//! `inspect`: what a stack is and how `build` would read it, without writing anything. Every
//! slice's header is read (no pixel decoded) and every problem reported, not only the first;
//! the output already there is surveyed as a build would find it ([`crate::survey`]).

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::engine::{as_recorded, resolve_plan, survey, Survey};
use crate::error::Result;
use crate::events::Outputs;
use crate::input::decode::Format;
use crate::input::{select, SkyScanLog, SliceFile, Stack};
use crate::options::{BuildOptions, OutputFormat};
use crate::output::Recorded;
use crate::pixel::{Depth, Encoding, SliceLayout};
use crate::plan::Plan;

/// What one slice is.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct SliceKind {
    /// TIFF, BMP, PNG or JPEG.
    pub format: &'static str,
    /// Pixels across.
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// Bits of a sample.
    pub bits: u16,
    /// The sample type.
    pub depth: Depth,
    /// `little-endian`, `big-endian`, or `-` where it does not matter.
    pub byte_order: &'static str,
    /// `gray`, `gray+alpha`, `RGB`, `RGBA` or `palette`.
    pub pixel: &'static str,
    /// Strips of a TIFF read in place (0 otherwise).
    pub strips: usize,
    /// How `build` reads it: zero-copy, converted row by row, or decoded, and why.
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
            depth: l.depth,
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
            "bits": self.bits, "dtype": self.depth.dtype(), "byte_order": self.byte_order, "pixel": self.pixel,
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
    /// The folder or multi-page file inspected.
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
    /// Every slice by name: what it is, or why it cannot be read.
    pub slices: Vec<(String, std::result::Result<SliceKind, String>)>,
    /// Bytes of the slice files.
    pub file_bytes: u64,
    /// The plan `build` would follow, when a slice could be read.
    pub plan: Option<Plan>,
    /// Slices that `build` would refuse, with the reason.
    pub problems: Vec<(String, String)>,
    /// The output already there.
    pub pyramid: PyramidState,
}

/// What the output holds, as a build would find it.
#[derive(Clone, Debug, PartialEq)]
pub enum PyramidState {
    /// The survey of the output: the very scan a build resumes from.
    Surveyed(Survey),
    /// The output could not be examined: the stack cannot be built as it is.
    Unknown {
        /// Where the output would be.
        root: String,
        /// Why it could not be examined.
        reason: String,
    },
}

impl PyramidState {
    /// `none`, `complete`, `stale`, `incomplete` or `unknown`.
    pub fn state(&self) -> &'static str {
        match self {
            PyramidState::Unknown { .. } => "unknown",
            PyramidState::Surveyed(s) if !s.exists => "none",
            PyramidState::Surveyed(s) if s.complete() => "complete",
            PyramidState::Surveyed(s) if s.stale => "stale",
            PyramidState::Surveyed(_) => "incomplete",
        }
    }
}

/// Reads the header of every slice of `options.input` (a folder or a multi-page TIFF),
/// decoding no pixel, and reports every problem rather than stopping at the first; surveys
/// the output as a build with `options` would find it. A TIFF pyramid is surveyed with the
/// layout, `min_size` and voxel size its `pyramid.json` records, so that its state says
/// whether it is complete and built from the slices as they are now, whatever options built
/// it; an OME-Zarr store with `options` as they are.
pub fn inspect(options: &BuildOptions) -> Result<Report> {
    options.check()?;
    let input = options.input.as_path();
    let mut listing = select(input, &options.selection)?;
    let paths = listing.paths.clone();
    let stack = Stack::open(input, std::mem::take(&mut listing.paths))?;
    let (slices, problems, first) = probe(&stack);
    // A multi-page file is its one path.
    let file_bytes = paths
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    let pyramid = match survey(&as_recorded(options)) {
        Ok(survey) => PyramidState::Surveyed(survey),
        Err(e) => PyramidState::Unknown {
            root: options.out_root().display().to_string(),
            reason: e.to_string(),
        },
    };
    let plan = first.map(|first| resolve_plan(&mut listing, &first, stack.len(), options));
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

/// What each slice of `stack` is, the problems `build` would stop at, and the first slice.
#[allow(clippy::type_complexity)]
fn probe(
    stack: &Stack,
) -> (
    Vec<(String, std::result::Result<SliceKind, String>)>,
    Vec<(String, String)>,
    Option<SliceFile>,
) {
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
    (slices, problems, first)
}

impl Report {
    /// Slices grouped by kind, each with its count and first slice, in order of appearance.
    pub fn kinds(&self) -> Vec<(&SliceKind, usize, &str)> {
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

    /// The report as `inspect --json` prints it, and the Python module returns it.
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
            "levels": self.plan.iter().flat_map(|p| &p.levels).map(|l| l.to_json()).collect::<Vec<_>>(),
            "pyramid": pyramid_json(&self.pyramid),
            "problems": self.problems.iter().map(|(slice, error)| json!({
                "slice": slice, "error": error,
            })).collect::<Vec<_>>(),
            "files": self.slices.iter().map(|(name, kind)| match kind {
                Ok(k) => { let mut v = k.to_json(); v["slice"] = json!(name); v }
                Err(e) => json!({ "slice": name, "error": e }),
            }).collect::<Vec<_>>(),
        })
    }
}

/// The output's state for `inspect --json`: `state`, `root`, what a build would keep, write
/// and read, and the format's own facts (a TIFF pyramid's layout and level count, a store's
/// version, chunks, codec and per-level completeness).
fn pyramid_json(state: &PyramidState) -> Value {
    let s = match state {
        PyramidState::Unknown { root, reason } => {
            return json!({ "state": "unknown", "root": root, "error": reason });
        }
        PyramidState::Surveyed(s) => s,
    };
    let outputs = |o: &Outputs| json!({ "files": o.files, "slices": o.slices });
    let mut json = json!({
        "state": state.state(),
        "root": s.out_root.display().to_string(),
        "format": s.format.name(),
        "metadata": match s.recorded {
            Recorded::None => "absent",
            Recorded::Current => "current",
            Recorded::Stale => "stale",
        },
        "kept": outputs(&s.kept),
        "to_write": outputs(&s.to_write),
        "to_read": s.to_read,
    });
    match s.format {
        OutputFormat::Tiff => {
            json["layout"] = json!(s.layout.name());
            json["levels"] = json!(s.levels.len());
        }
        OutputFormat::OmeZarr => {
            json["ngff"] = json!(s.zarr.ngff.name());
            json["chunks"] = json!(s.zarr.chunks);
            json["codec"] = json!(s.zarr.codec.name());
            json["levels"] = s
                .levels
                .iter()
                .map(|l| json!({ "level": l.level, "complete": l.complete, "slices": l.slices }))
                .collect();
        }
    }
    json
}
