//! `pyramid.json`: what a pyramid was built from and what it holds, written last.
//!
//! It lies beside the levels and is written atomically (a temporary file renamed) after every
//! output is complete, and removed before a build changes anything, so its presence means the
//! pyramid is complete. It records the input slices with their sizes and modification times:
//! a rerun compares them with the folder as it is now, so a pyramid built from slices that
//! were since replaced is rebuilt rather than kept.

use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::output::Recorded;
use crate::pyramid::{Layout, Plan};

pub const FILE_NAME: &str = "pyramid.json";

/// One input file as it was when the pyramid was built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputFile {
    pub name: String,
    pub bytes: u64,
    pub mtime_ns: u64,
}

impl InputFile {
    pub fn of(path: &Path) -> Result<InputFile> {
        let meta = std::fs::metadata(path).map_err(|e| Error::read(path, e))?;
        let mtime_ns = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos() as u64);
        // The name alone: a folder moved or mounted elsewhere is still the same stack.
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        Ok(InputFile {
            name,
            bytes: meta.len(),
            mtime_ns,
        })
    }
}

/// A 64-bit identity of the input files: their names, sizes and modification times, in order.
pub fn source_id(inputs: &[InputFile]) -> u64 {
    use std::hash::Hasher;
    let mut h = fnv::FnvHasher::default();
    for f in inputs {
        h.write(f.name.as_bytes());
        h.write(&[0]);
        h.write(&f.bytes.to_le_bytes());
        h.write(&f.mtime_ns.to_le_bytes());
    }
    h.finish()
}

/// What decides a pyramid's bytes: if any of it differs, the outputs on disk are not this
/// build's outputs, whatever their headers say.
#[derive(Clone, Debug, PartialEq)]
pub struct Source {
    pub inputs: Vec<InputFile>,
    pub plan: Plan,
    pub layout: Layout,
}

impl Source {
    /// The JSON of the whole manifest; `file_names` lists each level's files.
    pub fn to_json(
        &self,
        source_dir: &Path,
        selection: Option<&str>,
        file_names: &[Vec<String>],
    ) -> Value {
        let p = &self.plan;
        let dtype = match p.depth.bits() {
            8 => "uint8",
            _ => "uint16",
        };
        json!({
            "tool": "ctpyramid",
            "version": env!("CARGO_PKG_VERSION"),
            "source": crate::platform::canonical(source_dir).display().to_string(),
            "selection": selection,
            "layout": self.layout.name(),
            "width": p.width,
            "height": p.height,
            "dtype": dtype,
            "slices": p.slices,
            "voxel_um": p.voxel_um,
            // Not compared by `matches`: where the size came from changes no output byte.
            "voxel_source": p.voxel_source.as_ref().map(|s| s.to_json()),
            "min_size": p.min_size,
            "inputs": self.inputs.iter().map(|f| json!({
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

    /// Whether `manifest` (a `pyramid.json` read back) was written for this source.
    pub fn matches(&self, manifest: &Value, source_dir: &Path, file_names: &[Vec<String>]) -> bool {
        let now = self.to_json(source_dir, None, file_names);
        let same = |key: &str| manifest.get(key) == now.get(key);
        [
            "version", "layout", "width", "height", "dtype", "slices", "voxel_um", "min_size",
            "inputs", "levels",
        ]
        .iter()
        .all(|k| same(k))
    }
}

/// The manifest in `out_root`, if there is one that parses.
pub fn read(out_root: &Path) -> Option<Value> {
    let text = std::fs::read(out_root.join(FILE_NAME)).ok()?;
    serde_json::from_slice(&text).ok()
}

/// Removes the manifest: the pyramid is about to change.
pub fn remove(out_root: &Path) -> Result<()> {
    let path = out_root.join(FILE_NAME);
    match std::fs::remove_file(&path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::write(&path, e)),
        _ => Ok(()),
    }
}

/// Holds an exclusive lock on the output folder until dropped: shards deciding whether the
/// pyramid is complete take turns. No lock file is left (see [`crate::platform::lock_dir`]).
pub fn lock(out_root: &Path) -> Result<crate::platform::DirLock> {
    crate::platform::lock_dir(out_root).map_err(|e| Error::write(out_root, e))
}

/// Writes the manifest atomically: complete under its name, or absent.
pub fn write(out_root: &Path, manifest: &Value, durable: bool) -> Result<PathBuf> {
    use std::io::Write;
    let path = out_root.join(FILE_NAME);
    // A name of this process's own: shards on other machines may write at the same time.
    let tmp = out_root.join(format!(".{FILE_NAME}.{}.partial", std::process::id()));
    let err = |e| Error::write(&path, e);
    let text = serde_json::to_vec_pretty(manifest).map_err(|e| err(e.into()))?;
    let mut file = std::fs::File::create(&tmp).map_err(err)?;
    file.write_all(&text).map_err(err)?;
    file.write_all(b"\n").map_err(err)?;
    if durable {
        file.sync_all().map_err(err)?;
    }
    drop(file);
    crate::platform::rename(&tmp, &path).map_err(err)?;
    Ok(path)
}

/// What `pyramid.json` records for one build, and where: the mark of a complete TIFF pyramid.
#[derive(Clone, Debug)]
pub struct Record {
    pub out_root: PathBuf,
    pub source: Source,
    /// The folder (or file) of slices.
    pub source_dir: PathBuf,
    /// How the slices were chosen, when not every image of the folder.
    pub selection: Option<String>,
    /// Each level's files, relative to `out_root`.
    pub file_names: Vec<Vec<String>>,
    pub durable: bool,
}

impl crate::output::Mark for Record {
    /// Whether `pyramid.json` is there, and whether it was written for this build.
    fn recorded(&self) -> Recorded {
        match read(&self.out_root) {
            None => Recorded::None,
            Some(m) if self.source.matches(&m, &self.source_dir, &self.file_names) => {
                Recorded::Current
            }
            Some(_) => Recorded::Stale,
        }
    }

    fn unpublish(&self) -> Result<()> {
        remove(&self.out_root)
    }

    fn publish(&self) -> Result<PathBuf> {
        let json = self.source.to_json(
            &self.source_dir,
            self.selection.as_deref(),
            &self.file_names,
        );
        write(&self.out_root, &json, self.durable)
    }

    fn path(&self) -> PathBuf {
        self.out_root.join(FILE_NAME)
    }
}
