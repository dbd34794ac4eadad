//! Completion: the group's metadata (the `multiscales`, with the `omero` display settings
//! taken from the pixels) is written once every chunk of every level is in place, and is the
//! mark of a complete store.

use std::path::PathBuf;

use serde_json::Value;
use zarrs::array::{ArrayBytes, ArraySubset};

use crate::error::{Error, Result};
use crate::output::{Mark, Recorded};
use crate::pixel::Sample;

use super::metadata::{foreign_names, GroupNode, Meta, Omero};
use super::store::zarr_error;
use super::writer::{invalid, open_array, read_error, OmeZarr};

impl OmeZarr<'_> {
    /// OMERO display settings for viewers (napari, Fiji): one gray channel whose window is
    /// the range of the smallest level's pixels (the full range of the data, but for the
    /// extremes the averaging smooths out), within the dtype's.
    fn omero(&self) -> Result<Option<Omero>> {
        let Some(level) = self.levels.last() else {
            return Ok(None);
        };
        let path = self.level_dir(level.level);
        let array = open_array(&self.root, level.level)?;
        // Read one chunk row at a time: the smallest level is level 0, the whole input,
        // when no level is built below it, and memory must not grow with the stack.
        let c = level.chunking();
        let [_, h, w] = c.shape.map(|n| n as u64);
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for row in c.rows(0..c.shape[0]) {
            let slices = c.slices(row);
            let rows = slices.start as u64..slices.end as u64;
            let subset = ArraySubset::new_with_ranges(&[rows, 0..h, 0..w]);
            let pixels: ArrayBytes = array
                .retrieve_array_subset(&subset)
                .map_err(|e| read_error(&path, e))?;
            let raw = pixels.into_fixed().map_err(|e| read_error(&path, e))?;
            let (a, b) = crate::with_sample!(self.plan.depth, T => finite_range::<T>(&raw));
            (lo, hi) = (lo.min(a), hi.max(b));
        }
        if lo > hi {
            return Ok(None);
        }
        let omero = Omero::gray(&self.name, self.plan.depth, lo, hi);
        omero.map(Some).map_err(|e| invalid(&self.root, e))
    }
}

/// The least and greatest finite values of `raw`, samples of `T` in the machine's order
/// (NaN and infinities are no display range); `(inf, -inf)` if there is none.
fn finite_range<T: Sample>(raw: &[u8]) -> (f64, f64) {
    raw.chunks_exact(std::mem::size_of::<T>())
        .map(|b| T::from_bytes(b, cfg!(target_endian = "big")).to_f64())
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        })
}

/// Group metadata (`.zattrs`, or `zarr.json`) without its `omero` settings.
fn without_omero(mut metadata: Value) -> Value {
    if let Some(attrs) = metadata.as_object_mut() {
        attrs.remove("omero");
    }
    if let Some(ome) = metadata
        .get_mut("attributes")
        .and_then(|a| a.get_mut("ome"))
        .and_then(Value::as_object_mut)
    {
        ome.remove("omero");
    }
    metadata
}

/// The group's metadata (the `multiscales`), written last.
impl Mark for OmeZarr<'_> {
    /// The mark is this build's if it is, but for the `omero` display settings (which
    /// depend on the pixels), and every array's metadata is.
    fn recorded(&self) -> Recorded {
        let Some((key, bytes)) = self.group.last() else {
            return Recorded::None;
        };
        let Ok(on_disk) = std::fs::read(self.root.join(key)) else {
            return match self.foreign_metadata(&self.root) {
                true => Recorded::Stale,
                false => Recorded::None,
            };
        };
        let parse = |b: &[u8]| serde_json::from_slice::<Value>(b).ok().map(without_omero);
        let same = parse(&on_disk).is_some_and(|m| Some(m) == parse(bytes));
        let arrays = self
            .levels
            .iter()
            .all(|l| self.metadata_state(l) == Meta::Same);
        match same && arrays {
            true => Recorded::Current,
            false => Recorded::Stale,
        }
    }

    /// Removes the group's metadata, and any of the other Zarr version's.
    fn unpublish(&self) -> Result<()> {
        let keys = self.group.iter().rev().map(|(key, _)| key.as_str());
        for key in keys.chain(foreign_names(self.options.ngff).iter().copied()) {
            let path = self.root.join(key);
            match std::fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(Error::write(&path, e))
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Writes the group's metadata, with the `omero` window taken from the smallest level's
    /// pixels (read back: this build, or a shard, may have written none of them).
    fn publish(&self) -> Result<PathBuf> {
        let omero = self.omero()?;
        let group = GroupNode::new(self.plan, &self.name, &self.options, omero)
            .map_err(|e| invalid(&self.root, e))?;
        let files = group.files().map_err(|e| zarr_error(&self.root, e))?;
        for (key, bytes) in &files {
            self.store.put(key, bytes)?;
        }
        Ok(Mark::path(self))
    }

    fn path(&self) -> PathBuf {
        self.root.join(GroupNode::mark(self.options.ngff))
    }
}
