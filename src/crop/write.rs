//! Where a crop goes: one uncompressed TIFF a slice in the output folder (named as
//! [`Located::file_name`] says), or one multi-page TIFF (`crop.tif`), each published
//! crash-safe, and `crop.json` last, the mark of a complete crop. Every file's header names
//! the crop it holds (the inputs, the level and the box), so a rerun keeps the files of the
//! same crop and rewrites the rest.

use std::hash::Hasher;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::level::Located;
use crate::error::{Error, Result};
use crate::options::TiffLayout;
use crate::output::tiff_header::{is_complete, Scale, TiffHeader};
use crate::plan::centre_um;
use crate::publish;
use crate::region::Region;

/// The record's name in the output folder.
pub(crate) const RECORD: &str = "crop.json";

/// The stack file's name with `TiffLayout::Stack`.
pub(crate) const STACK_FILE: &str = "crop.tif";

/// The files of a crop and their header.
pub(crate) struct CropFiles {
    pub out: PathBuf,
    pub layout: TiffLayout,
    /// Each slice's file (the one stack file, for every slice, with `TiffLayout::Stack`).
    pub paths: Vec<PathBuf>,
    pub header: TiffHeader,
    /// The files' names as the record lists them.
    pub names: Vec<String>,
}

impl CropFiles {
    /// The files of the crop of `located` into `out`.
    pub fn new(located: &Located, out: &Path, layout: TiffLayout) -> Result<CropFiles> {
        let r = &located.region;
        let (w, h, n) = (r.x.len(), r.y.len(), r.z.len());
        let id = identity(located);
        let header = match layout {
            TiffLayout::Slices => {
                let scale = located.voxel_um.map_or(Scale::Unknown, Scale::Centimetre);
                TiffHeader::single(w, h, located.depth, scale, id)
            }
            TiffLayout::Stack => {
                TiffHeader::imagej_stack(w, h, located.depth, n, located.voxel_um, id)
            }
        }
        .map_err(|e| Error::write(out, e))?;
        let names: Vec<String> = match layout {
            TiffLayout::Slices => r.z.clone().map(|z| located.file_name(z)).collect(),
            TiffLayout::Stack => vec![STACK_FILE.to_string()],
        };
        let paths = match layout {
            TiffLayout::Slices => names.iter().map(|n| out.join(n)).collect(),
            TiffLayout::Stack => vec![out.join(STACK_FILE); n],
        };
        Ok(CropFiles {
            out: out.to_path_buf(),
            layout,
            paths,
            header,
            names,
        })
    }

    /// Which slices of the box an earlier run of this very crop completed (none if `force`).
    pub fn kept(&self, force: bool) -> Vec<bool> {
        let whole = |p: &PathBuf| !force && is_complete(p, &self.header);
        match self.layout {
            TiffLayout::Slices => self.paths.iter().map(whole).collect(),
            TiffLayout::Stack => vec![self.paths.first().is_some_and(whole); self.paths.len()],
        }
    }

    /// `crop.json`'s bytes for this crop.
    pub fn record(&self, located: &Located, selection: Option<&str>) -> Result<Vec<u8>> {
        let path = self.out.join(RECORD);
        let mut text = serde_json::to_vec_pretty(&record(located, selection, self))
            .map_err(|e| Error::write(&path, e.into()))?;
        text.push(b'\n');
        Ok(text)
    }

    /// Before writing: the folder made, what a killed run left under temporary names
    /// removed, and unless every file is `complete` and the folder's record is `record`
    /// already (a rerun with nothing to do touches nothing), the record removed (the crop is
    /// about to change) and the files of the crop it recorded that this one does not write.
    /// Returns whether the record is current.
    pub fn prepare(&self, record: &[u8], complete: bool) -> Result<bool> {
        std::fs::create_dir_all(&self.out).map_err(|e| Error::write(&self.out, e))?;
        publish::remove_partial(&self.out, false)?;
        let path = self.out.join(RECORD);
        let earlier = std::fs::read(&path).ok();
        if complete && earlier.as_deref() == Some(record) {
            return Ok(true);
        }
        publish::remove_if_present(&path)?;
        let earlier = earlier.and_then(|t| serde_json::from_slice::<Value>(&t).ok());
        let listed = earlier
            .as_ref()
            .and_then(|r| r.get("files"))
            .and_then(Value::as_array);
        for name in listed.into_iter().flatten().filter_map(Value::as_str) {
            // Names only, never a path: a record edited to point elsewhere removes nothing.
            let is_plain = Path::new(name).file_name().is_some_and(|n| n == name);
            if is_plain && !self.names.iter().any(|n| n == name) {
                publish::remove_if_present(&self.out.join(name))?;
            }
        }
        Ok(false)
    }

    /// Writes `crop.json`, last: the crop is complete.
    pub fn publish(&self, record: &[u8], durable: bool) -> Result<PathBuf> {
        let path = self.out.join(RECORD);
        publish::write_file(&path, &[record], durable)?;
        Ok(path)
    }
}

/// The identity a crop's files carry in their header: the inputs' ([`crate::Plan::source_id`]),
/// the level and the box.
pub(super) fn identity(located: &Located) -> u64 {
    let r = &located.region;
    let mut h = fnv::FnvHasher::default();
    h.write_u64(located.prepared.plan.source_id);
    for v in [
        located.level,
        r.x.start,
        r.x.end,
        r.y.start,
        r.y.end,
        r.z.start,
        r.z.end,
    ] {
        h.write_u64(v as u64);
    }
    h.finish()
}

/// `crop.json`: what the crop was taken from, the box, where it is in physical units, and its
/// files.
fn record(located: &Located, selection: Option<&str>, files: &CropFiles) -> Value {
    let r = &located.region;
    json!({
        "tool": "ctpyramid",
        "version": env!("CARGO_PKG_VERSION"),
        "source": crate::platform::canonical(&located.prepared.source).display().to_string(),
        "selection": selection,
        "level": located.level,
        "box": { "x": [r.x.start, r.x.end], "y": [r.y.start, r.y.end], "z": [r.z.start, r.z.end] },
        "width": r.x.len(),
        "height": r.y.len(),
        "slices": r.z.len(),
        "dtype": located.depth.dtype(),
        "voxel_um": located.voxel_um,
        "origin_um": origin_um(located.prepared.plan.voxel_um, located.level, r),
        "layout": files.layout.name(),
        "files": files.names,
    })
}

/// Where the centre of the box's first voxel is, `[z, y, x]` in micrometres from the centre of
/// the input's first voxel ([`centre_um`]).
pub(super) fn origin_um(voxel_um: Option<f64>, level: usize, r: &Region) -> Option<[f64; 3]> {
    let at = |i: usize| centre_um(voxel_um, level, i as f64);
    Some([at(r.z.start)?, at(r.y.start)?, at(r.x.start)?])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_origin_is_where_ngff_puts_the_first_voxels_centre() {
        let r = Region {
            x: 3..5,
            y: 0..1,
            z: 2..4,
        };
        assert_eq!(origin_um(Some(10.0), 0, &r), Some([20.0, 0.0, 30.0]));
        // Level 1: voxel 1 of x covers input voxels 2 and 3, centred at 2.5.
        let r = Region {
            x: 1..2,
            y: 0..1,
            z: 0..1,
        };
        assert_eq!(origin_um(Some(10.0), 1, &r), Some([5.0, 5.0, 25.0]));
        assert_eq!(origin_um(None, 1, &r), None);
    }
}
