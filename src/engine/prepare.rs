//! Before anything is written: the stack listed, its first slice probed, the plan resolved and
//! where the outputs go. Shared by [`super::build`], [`super::survey`], `inspect` and shard
//! planning, so that every one of them sees the same stack and the same plan.

use std::ops::Range;
use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::identity::{source_id, BuildIdentity, InputFile};
use crate::input::{select, voxel, Listing, SliceFile, Stack};
use crate::options::{BuildOptions, OutputFormat, TiffLayout};
use crate::output::Target;
use crate::plan::Plan;
use crate::shard;

/// The stack listed and its first slice probed: what a build of `options` would write, and
/// where.
pub(crate) struct Prepared {
    /// How the slices were chosen, when not every image of the folder.
    pub note: Option<String>,
    pub stack: Stack,
    /// The first slice, probed (no pixel read): it sets the geometry, every slice must match.
    pub first: SliceFile,
    /// The plan, with the input files' identity in it.
    pub plan: Plan,
    /// The input slices this shard covers, when the build is one shard of several.
    pub shard: Option<Range<usize>>,
    /// The input slices built: the shard's, or all.
    pub range: Range<usize>,
    pub out_root: PathBuf,
    /// What decides the outputs' bytes.
    pub identity: BuildIdentity,
    /// The folder (or multi-page file) of slices.
    pub source: PathBuf,
}

impl Prepared {
    /// What the output format needs to know of this build.
    pub fn target<'a>(&'a self, options: &BuildOptions) -> Target<'a> {
        Target {
            plan: &self.plan,
            out_root: &self.out_root,
            durable: options.durable,
            writer: options.writer,
            identity: &self.identity,
            source: &self.source,
            selection: self.note.as_deref(),
        }
    }
}

/// Lists the stack of `options`, probes its first slice and resolves the plan.
pub(crate) fn prepare(options: &BuildOptions) -> Result<Prepared> {
    let mut listing = select(&options.input, &options.selection)?;
    let inputs = listing
        .paths
        .iter()
        .map(|p| InputFile::of(p))
        .collect::<Result<Vec<_>>>()?;
    let stack = Stack::open(&options.input, std::mem::take(&mut listing.paths))?;
    // The first slice's header sets the geometry; no pixel is read for it yet.
    let first = stack.first(&options.input)?;
    let mut plan = resolve_plan(&mut listing, &first, stack.len(), options);
    plan.source_id = source_id(&inputs);
    let one_file_a_level =
        options.format == OutputFormat::Tiff && options.layout == TiffLayout::Stack;
    let shard = match options.slices {
        None => None,
        Some((a, b)) if one_file_a_level => {
            let range = format!("{a}..{}", b.map_or(String::new(), |b| b.to_string()));
            let reason = "a stack layout cannot be split into shards: each level is one file";
            return Err(Error::invalid("slices", range, reason));
        }
        Some((a, b)) => Some(shard::check(&plan, options.shard_unit(&plan), a, b)?),
    };
    Ok(Prepared {
        note: listing.note,
        range: shard.clone().unwrap_or(0..plan.slices),
        identity: BuildIdentity {
            inputs,
            plan: plan.clone(),
            layout: options.layout,
        },
        out_root: options.out_root(),
        source: options.input.clone(),
        stack,
        first,
        plan,
        shard,
    })
}

/// The one rule for a stack's plan: its geometry from the first slice, its levels by
/// `min_size`, its voxel size by the precedence of [`crate::input::voxel`]. What the log of
/// `listing` says is checked against the first slice on the way (a line of its note for each
/// disagreement).
pub(crate) fn resolve_plan(
    listing: &mut Listing,
    first: &SliceFile,
    slices: usize,
    options: &BuildOptions,
) -> Plan {
    let f = first.layout();
    listing.check_first(f.width, f.height);
    let mut plan = Plan::new(f.width, f.height, f.depth, slices, options.min_size);
    let voxel = voxel::resolve(
        options.voxel_um,
        listing.log.as_ref(),
        first.path(),
        first.scale(),
    );
    (plan.voxel_um, plan.voxel_source) = voxel.map_or((None, None), |(um, s)| (Some(um), Some(s)));
    plan
}
