//! `pyramid.json`: what a TIFF pyramid was built from and what it holds, written last.
//!
//! It lies beside the levels and is published crash-safe after every output is complete, and
//! removed before a build changes anything, so its presence means the pyramid is complete. It
//! records the input slices with their sizes and modification times: a rerun compares them
//! with the folder as it is now, so a pyramid built from slices that were since replaced is
//! rebuilt rather than kept.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::tiff_files::file_names;
use super::{Mark, Recorded, Target};
use crate::error::Result;
use crate::identity::BuildIdentity;
use crate::publish;

/// The manifest's name in the output folder.
pub const FILE_NAME: &str = "pyramid.json";

/// The JSON of the whole manifest of `identity`; `file_names` lists each level's files.
fn to_json(
    identity: &BuildIdentity,
    source: &Path,
    selection: Option<&str>,
    file_names: &[Vec<String>],
) -> Value {
    let p = &identity.plan;
    let dtype = p.depth.dtype();
    json!({
        "tool": "ctpyramid",
        "version": env!("CARGO_PKG_VERSION"),
        "source": crate::platform::canonical(source).display().to_string(),
        "selection": selection,
        "layout": identity.layout.name(),
        "width": p.width,
        "height": p.height,
        "dtype": dtype,
        "slices": p.slices,
        "voxel_um": p.voxel_um,
        // Not compared by `matches`: where the size came from changes no output byte.
        "voxel_source": p.voxel_source.as_ref().map(|s| s.to_json()),
        "min_size": p.min_size,
        "inputs": identity.inputs.iter().map(|f| json!({
            "name": f.name, "bytes": f.bytes, "mtime_ns": f.mtime_ns,
        })).collect::<Vec<_>>(),
        "levels": p.levels.iter().zip(file_names).map(|(l, files)| json!({
            "level": l.level,
            "width": l.width,
            "height": l.height,
            "slices": l.slices,
            "dtype": dtype,
            "voxel_um": p.level_voxel_um(l.level),
            "files": files,
        })).collect::<Vec<_>>(),
    })
}

/// The manifest in `out_root`, if there is one that parses.
pub fn read(out_root: &Path) -> Option<Value> {
    let text = std::fs::read(out_root.join(FILE_NAME)).ok()?;
    serde_json::from_slice(&text).ok()
}

/// What `pyramid.json` records for one build, and where: the mark of a complete TIFF pyramid.
#[derive(Clone, Debug)]
pub struct Manifest {
    out_root: PathBuf,
    identity: BuildIdentity,
    /// The folder (or file) of slices.
    source: PathBuf,
    /// How the slices were chosen, when not every image of the folder.
    selection: Option<String>,
    /// Each level's files, relative to `out_root`.
    file_names: Vec<Vec<String>>,
    durable: bool,
}

impl Manifest {
    /// The manifest of the build `target` describes.
    pub fn new(target: &Target<'_>) -> Manifest {
        Manifest {
            out_root: target.out_root.to_path_buf(),
            identity: target.identity.clone(),
            source: target.source.to_path_buf(),
            selection: target.selection.map(str::to_string),
            file_names: file_names(target.plan, target.identity.layout),
            durable: target.durable,
        }
    }

    /// Whether `recorded` (a `pyramid.json` read back) was written for this build.
    fn matches(&self, recorded: &Value) -> bool {
        let now = to_json(&self.identity, &self.source, None, &self.file_names);
        let same = |key: &str| recorded.get(key) == now.get(key);
        [
            "version", "layout", "width", "height", "dtype", "slices", "voxel_um", "min_size",
            "inputs", "levels",
        ]
        .iter()
        .all(|k| same(k))
    }
}

impl Mark for Manifest {
    /// Whether `pyramid.json` is there, and whether it was written for this build.
    fn recorded(&self) -> Recorded {
        match read(&self.out_root) {
            None => Recorded::None,
            Some(m) if self.matches(&m) => Recorded::Current,
            Some(_) => Recorded::Stale,
        }
    }

    fn unpublish(&self) -> Result<()> {
        publish::remove_if_present(&Mark::path(self))
    }

    fn publish(&self) -> Result<PathBuf> {
        let selection = self.selection.as_deref();
        let json = to_json(&self.identity, &self.source, selection, &self.file_names);
        let path = Mark::path(self);
        let mut text = serde_json::to_vec_pretty(&json)
            .map_err(|e| crate::error::Error::write(&path, e.into()))?;
        text.push(b'\n');
        // A name of this process's own: shards on other machines may write at the same time.
        publish::write_file_shared(&path, &[&text], self.durable)?;
        Ok(path)
    }

    fn path(&self) -> PathBuf {
        self.out_root.join(FILE_NAME)
    }
}
