//! Where the slices of a level are, for a box of it: the input stack for level 0; for a
//! level below it, the pyramid that `build` wrote, found where `build` writes it and checked
//! complete and built from the slices as they are now.

use std::path::{Path, PathBuf};

use super::ReadOptions;
use crate::engine::{as_recorded, prepare, survey_of, Prepared};
use crate::error::{Error, Result};
use crate::input::{Stack, View};
use crate::options::{BuildOptions, OutputFormat, TiffLayout};
use crate::output::{manifest, ome_zarr, tiff_files};
use crate::pixel::Depth;
use crate::region::Region;

/// Where a level's slices are.
pub(crate) enum Slices {
    /// The box's slices as a stack of their own: a view of files or pages, the input's
    /// (level 0) or a TIFF pyramid's.
    Stack(Stack),
    /// The level's array in the OME-Zarr store at this root.
    Store(PathBuf),
}

/// A level located, and the box in it.
pub(crate) struct Located {
    /// The input stack, prepared as a build prepares it: its identity, its plan.
    pub prepared: Prepared,
    /// The level (0: the input).
    pub level: usize,
    /// The level's slices.
    pub slices: Slices,
    pub depth: Depth,
    /// The box, checked against the level.
    pub region: Region,
    /// The edge of the level's voxels in micrometres, when known.
    pub voxel_um: Option<f64>,
}

impl Located {
    /// The name of slice `z`'s file in a crop: the input file's stem at level 0 (a
    /// `sample_rec00000421.bmp` gives `sample_rec00000421.tif`), the level's own name below.
    pub fn file_name(&self, z: usize) -> String {
        let base = match &self.slices {
            Slices::Stack(Stack::View(view)) => Some(&view.base),
            _ => None,
        };
        match (base, self.level) {
            (Some(Stack::Files(paths)), 0) => match paths.get(z).and_then(|p| p.file_stem()) {
                Some(stem) => format!("{}.tif", stem.to_string_lossy()),
                None => format!("{z:06}.tif"),
            },
            _ => format!("{z:06}.tif"),
        }
    }
}

impl Located {
    /// Refuses an output `out` that is where the level is read from: the folder of its files
    /// (a crop of level 0 named after the input slices would replace them), or inside the
    /// pyramid or store it is read from.
    pub fn check_out(&self, out: &Path, pyramid: Option<&Path>) -> Result<()> {
        let out_at = resolved(out);
        let mut read_from: Vec<PathBuf> = match &self.slices {
            Slices::Stack(Stack::View(view)) => match &view.base {
                Stack::Files(paths) => paths
                    .iter()
                    .filter_map(|p| p.parent())
                    .map(resolved)
                    .collect(),
                Stack::Pages { path, .. } => path.parent().map(resolved).into_iter().collect(),
                Stack::View(_) => Vec::new(),
            },
            Slices::Stack(_) => Vec::new(),
            Slices::Store(root) => vec![resolved(root)],
        };
        read_from.dedup();
        let inside = |root: &PathBuf| out_at.starts_with(root);
        let clash = read_from.iter().find(|d| **d == out_at).or_else(|| {
            let roots = pyramid.into_iter().map(resolved).chain(match &self.slices {
                Slices::Store(root) => Some(resolved(root)),
                Slices::Stack(_) => None,
            });
            roots
                .collect::<Vec<_>>()
                .into_iter()
                .find(|r| inside(r))
                .map(|_| &out_at)
        });
        match clash {
            Some(_) => Err(Error::invalid(
                "out",
                out.display(),
                "is where the crop reads from (the slices' folder, or the pyramid): choose \
                 another folder",
            )),
            None => Ok(()),
        }
    }

    /// Reads the header of every slice of the box (no pixel): a slice of another size or
    /// depth than the level's is an error naming it.
    pub fn check_slices(&self) -> Result<()> {
        match &self.slices {
            Slices::Stack(stack) => stack.prober().try_for_each(|slice| slice.map(drop)),
            Slices::Store(_) => Ok(()),
        }
    }
}

/// The box `options` asks for in a level of `size` whose slices are `slices` (a stack is
/// viewed through the box, a store read as it is).
fn located(
    prepared: Prepared,
    options: &ReadOptions,
    slices: Slices,
    size: [usize; 3],
    voxel_um: Option<f64>,
) -> Result<Located> {
    let region = options.region.resolve(size[0], size[1], size[2])?;
    let depth = prepared.plan.depth;
    let slices = match slices {
        Slices::Stack(base) => Slices::Stack(Stack::View(Box::new(View {
            base,
            z: region.z.clone(),
            x: region.x.clone(),
            y: region.y.clone(),
            size: [size[0], size[1]],
            depth,
        }))),
        store => store,
    };
    Ok(Located {
        level: options.level,
        slices,
        depth,
        region,
        voxel_um,
        prepared,
    })
}

/// The level `options` asks for, and the box in it.
pub(crate) fn locate(options: &ReadOptions) -> Result<Located> {
    let build = BuildOptions {
        selection: options.selection.clone(),
        out: options.pyramid.clone(),
        ..BuildOptions::new(&options.input)
    };
    if options.level == 0 {
        let prepared = prepare(&build)?;
        let plan = &prepared.plan;
        let size = [plan.width, plan.height, plan.slices];
        let (stack, voxel) = (prepared.stack.clone(), plan.voxel_um);
        return located(prepared, options, Slices::Stack(stack), size, voxel);
    }
    pyramid_level(options, &build)
}

/// Level `options.level` >= 1 of the pyramid `build` wrote for `build`'s stack: the TIFF
/// pyramid in the folder given or where build writes it, else the OME-Zarr store there.
fn pyramid_level(options: &ReadOptions, build: &BuildOptions) -> Result<Located> {
    let tiff = as_recorded(&BuildOptions {
        format: OutputFormat::Tiff,
        ..build.clone()
    });
    if manifest::read(&tiff.out_root()).is_some() {
        return level_of(options, &tiff);
    }
    let mut zarr = BuildOptions {
        format: OutputFormat::OmeZarr,
        ..build.clone()
    };
    match ome_zarr::recorded_options(&zarr.out_root()) {
        Some(stored) => {
            zarr.zarr = stored.zarr;
            zarr.min_size = stored.min_size.unwrap_or(zarr.min_size);
            zarr.voxel_um = stored.voxel_um;
            level_of(options, &zarr)
        }
        None => Err(Error::invalid("level", options.level, no_pyramid(build))),
    }
}

/// Level `options.level` of the pyramid a build with `recorded` wrote, checked complete.
fn level_of(options: &ReadOptions, recorded: &BuildOptions) -> Result<Located> {
    let level = options.level;
    let root = recorded.out_root();
    let missing = |reason: String| Error::invalid("level", level, reason);
    let prepared = prepare(recorded)?;
    let survey = survey_of(&prepared, recorded)?;
    let plan = &prepared.plan;
    let Some(geometry) = plan.levels.get(level - 1).cloned() else {
        let n = plan.levels.len();
        return Err(missing(format!(
            "the pyramid in {} has levels 1 to {n}",
            root.display()
        )));
    };
    if !survey.complete() {
        return Err(missing(format!(
            "the pyramid in {} is incomplete or out of date: `build` completes it",
            root.display()
        )));
    }
    let slices = match (recorded.format, recorded.layout) {
        (OutputFormat::OmeZarr, _) => Slices::Store(root.clone()),
        (OutputFormat::Tiff, TiffLayout::Slices) => Slices::Stack(Stack::Files(
            (0..geometry.slices)
                .map(|k| tiff_files::slice_path(&root, level, k))
                .collect(),
        )),
        (OutputFormat::Tiff, TiffLayout::Stack) => Slices::Stack(Stack::Pages {
            path: tiff_files::stack_path(&root, level),
            pages: geometry.slices,
        }),
    };
    let size = [geometry.width, geometry.height, geometry.slices];
    let voxel = plan.level_voxel_um(level);
    located(prepared, options, slices, size, voxel)
}

/// Why there is no pyramid to read a level from, and what makes one.
fn no_pyramid(build: &BuildOptions) -> String {
    let at = |format| {
        BuildOptions {
            format,
            ..build.clone()
        }
        .out_root()
        .display()
        .to_string()
    };
    match &build.out {
        Some(root) => format!(
            "no pyramid in {} (levels >= 1 are read from the pyramid `build` writes: build it \
             first)",
            root.display()
        ),
        None => format!(
            "no pyramid in {} nor {} (levels >= 1 are read from the pyramid `build` writes: \
             build it first)",
            at(OutputFormat::Tiff),
            at(OutputFormat::OmeZarr)
        ),
    }
}

/// `path` with its existing part resolved (symbolic links, `..`) and the rest appended: what
/// it names, whether it exists yet or not.
fn resolved(path: &Path) -> PathBuf {
    let absolute = absolute(path);
    let mut existing = absolute.as_path();
    let mut rest = Vec::new();
    while !existing.exists() {
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                existing = parent;
            }
            _ => return absolute,
        }
    }
    let mut at = std::fs::canonicalize(existing).unwrap_or_else(|_| existing.to_path_buf());
    at.extend(rest.iter().rev());
    at
}

/// The folder a crop writes into, made absolute for the record.
pub(crate) fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}
