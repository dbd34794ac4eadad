//! Where the slices of a level are, for a box of it: the input stack for level 0; for a
//! level below it, the pyramid that `build` wrote, found where `build` writes it and checked
//! complete and built from the slices as they are now.

use std::path::{Path, PathBuf};

use super::ReadOptions;
use crate::engine::{as_recorded, prepare, survey_of, Prepared};
use crate::error::{Error, Result};
use crate::input::Stack;
use crate::options::{BuildOptions, OutputFormat, TiffLayout};
use crate::output::{manifest, tiff_files};
use crate::pixel::Depth;
use crate::region::Region;

/// A level located, and the box in it.
pub(crate) struct Located {
    /// The input stack, prepared as a build prepares it: its identity, its plan.
    pub prepared: Prepared,
    /// The level (0: the input).
    pub level: usize,
    /// The level's slices: the input's, or the pyramid's files or pages.
    pub stack: Stack,
    /// `width`, `height`, `slices` of the level.
    pub size: [usize; 3],
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
        match (&self.stack, self.level) {
            (Stack::Files(paths), 0) => match paths.get(z).and_then(|p| p.file_stem()) {
                Some(stem) => format!("{}.tif", stem.to_string_lossy()),
                None => format!("{z:06}.tif"),
            },
            _ => format!("{z:06}.tif"),
        }
    }
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
        return Ok(Located {
            level: 0,
            stack: prepared.stack.clone(),
            size,
            depth: plan.depth,
            region: options.region.resolve(size[0], size[1], size[2])?,
            voxel_um: plan.voxel_um,
            prepared,
        });
    }
    pyramid_level(options, &build)
}

/// Level `options.level` >= 1 of the TIFF pyramid `build` wrote for `build`'s stack.
fn pyramid_level(options: &ReadOptions, build: &BuildOptions) -> Result<Located> {
    let level = options.level;
    let recorded = as_recorded(build);
    let root = recorded.out_root();
    let missing = |reason: String| Error::invalid("level", level, reason);
    if manifest::read(&root).is_none() {
        return Err(missing(no_pyramid(&root, build)));
    }
    let prepared = prepare(&recorded)?;
    let survey = survey_of(&prepared, &recorded)?;
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
    let stack = match recorded.layout {
        TiffLayout::Slices => Stack::Files(
            (0..geometry.slices)
                .map(|k| tiff_files::slice_path(&root, level, k))
                .collect(),
        ),
        TiffLayout::Stack => Stack::Pages {
            path: tiff_files::stack_path(&root, level),
            pages: geometry.slices,
        },
    };
    let size = [geometry.width, geometry.height, geometry.slices];
    Ok(Located {
        level,
        stack,
        size,
        depth: plan.depth,
        region: options.region.resolve(size[0], size[1], size[2])?,
        voxel_um: plan.level_voxel_um(level),
        prepared,
    })
}

/// Why there is no pyramid to read a level from, and what makes one.
fn no_pyramid(root: &Path, build: &BuildOptions) -> String {
    let store = BuildOptions {
        format: OutputFormat::OmeZarr,
        ..build.clone()
    }
    .out_root();
    let mut reason = format!(
        "no complete pyramid in {} (levels >= 1 are read from the pyramid `build` writes: \
         build it first",
        root.display()
    );
    if store.exists() {
        reason.push_str(&format!(
            "; reading the levels of an OME-Zarr store such as {} is not supported yet",
            store.display()
        ));
    }
    reason.push(')');
    reason
}

/// The folder a crop writes into, made absolute for the record.
pub(crate) fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}
