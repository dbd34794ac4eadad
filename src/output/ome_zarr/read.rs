//! Reading a store `build` wrote: the options it was written with, read back from its
//! metadata ([`recorded_options`]), so that a survey with them says whether it is complete;
//! and a box of one of its levels ([`StoreLevel`]), a chunk row's worth at a time.

use std::ops::Range;
use std::path::Path;

use serde_json::Value;
use zarrs::array::{Array, ArrayBytes, ArraySubset};
use zarrs::filesystem::FilesystemStore;

use crate::error::Result;
use crate::options::{Codec, Ngff, OmeZarrOptions};

use super::StoreOptions;

use super::writer::{open_array, read_error};

fn json(path: &Path) -> Option<Value> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

/// The options of the store at `root`, if it is one `build` wrote (either version).
pub fn recorded_options(root: &Path) -> Option<StoreOptions> {
    let (ngff, array, attrs, group) = match json(&root.join("zarr.json")) {
        Some(group) => {
            let array = json(&root.join("0/zarr.json"))?;
            let attrs = array.get("attributes").cloned().unwrap_or(Value::Null);
            (Ngff::V05, array, attrs, group["attributes"]["ome"].clone())
        }
        None => {
            let array = json(&root.join("0/.zarray"))?;
            let attrs = json(&root.join("0/.zattrs")).unwrap_or(Value::Null);
            (Ngff::V04, array, attrs, json(&root.join(".zattrs"))?)
        }
    };
    let chunks: Vec<usize> = match ngff {
        Ngff::V04 => array.get("chunks"),
        Ngff::V05 => array.pointer("/chunk_grid/configuration/chunk_shape"),
    }
    .and_then(Value::as_array)?
    .iter()
    .filter_map(|v| v.as_u64().map(|v| v as usize))
    .collect();
    let compressor = match ngff {
        Ngff::V04 => array.pointer("/compressor/id").and_then(Value::as_str),
        Ngff::V05 => array
            .get("codecs")
            .and_then(Value::as_array)
            .and_then(|c| c.iter().rev().find_map(|c| c.get("name")?.as_str())),
    }?;
    let codec = match compressor {
        "zstd" => Codec::Zstd,
        "blosc" => Codec::BloscLz4,
        _ => return None,
    };
    let [z, y, x] = chunks[..] else { return None };
    let multiscale = group.pointer("/multiscales/0")?;
    let unit = multiscale.pointer("/axes/0/unit").and_then(Value::as_str);
    let scale = multiscale.pointer("/datasets/0/coordinateTransformations/0/scale/0");
    Some(StoreOptions {
        zarr: OmeZarrOptions {
            ngff,
            codec,
            chunks: [z, y, x],
        },
        min_size: attrs
            .pointer("/ctpyramid/min_size")
            .and_then(Value::as_u64)
            .map(|v| v as usize),
        voxel_um: unit.and_then(|_| scale?.as_f64()),
    })
}

/// One level of a store, read a box at a time.
pub struct StoreLevel {
    array: Array<FilesystemStore>,
    path: std::path::PathBuf,
    /// The slices the last read returned, and their bytes (`rows x columns` of the box each).
    cached: Range<usize>,
    cache: Vec<u8>,
}

impl StoreLevel {
    /// Level `level` of the store at `root`.
    pub fn open(root: &Path, level: usize) -> Result<StoreLevel> {
        Ok(StoreLevel {
            array: open_array(root, level)?,
            path: root.join(level.to_string()),
            cached: 0..0,
            cache: Vec::new(),
        })
    }

    /// Slice `z` of the box `y` x `x`, its bytes; slices `z..within.end` are decoded with it,
    /// up to the end of `z`'s chunk row, so that each chunk is decoded once.
    pub fn slice(
        &mut self,
        z: usize,
        within: &Range<usize>,
        [y, x]: [&Range<usize>; 2],
    ) -> Result<&[u8]> {
        let slice_bytes = self.array.data_type().fixed_size().unwrap_or(1) * y.len() * x.len();
        if !self.cached.contains(&z) {
            let depth = self
                .array
                .chunk_shape(&[z as u64, 0, 0])
                .map_or(1, |s| s[0].get());
            let end = ((z as u64 / depth + 1) * depth).min(within.end as u64) as usize;
            let r = |r: &Range<usize>| r.start as u64..r.end as u64;
            let subset = ArraySubset::new_with_ranges(&[z as u64..end as u64, r(y), r(x)]);
            let bytes: ArrayBytes = self
                .array
                .retrieve_array_subset(&subset)
                .map_err(|e| read_error(&self.path, e))?;
            self.cache = bytes
                .into_fixed()
                .map_err(|e| read_error(&self.path, e))?
                .into_owned();
            self.cached = z..end;
        }
        let at = (z - self.cached.start) * slice_bytes;
        Ok(&self.cache[at..at + slice_bytes])
    }
}
