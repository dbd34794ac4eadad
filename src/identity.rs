//! The identity of a build: which input files, as they were (names, sizes, modification
//! times), and what decides every output byte ([`BuildIdentity`]). Every output records it,
//! so an output computed from other inputs or options never passes for complete.

use std::path::Path;
use std::time::UNIX_EPOCH;

use crate::error::{Error, Result};
use crate::options::TiffLayout;
use crate::plan::Plan;

/// One input file as it was when the pyramid was built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputFile {
    /// The file's name, without its folder.
    pub name: String,
    /// Its length.
    pub bytes: u64,
    /// Its modification time, in nanoseconds since the Unix epoch (0 if unknown).
    pub mtime_ns: u64,
}

impl InputFile {
    /// The file at `path` as it is now.
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
pub struct BuildIdentity {
    /// The input files, in slice order.
    pub inputs: Vec<InputFile>,
    /// The plan, with its voxel size and [`Plan::source_id`].
    pub plan: Plan,
    /// How the TIFF levels are laid out.
    pub layout: TiffLayout,
}
