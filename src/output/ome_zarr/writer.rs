//! The OME-Zarr writer (see the parent module), built with the `ome-zarr` feature.

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};

use rayon::prelude::*;
use serde_json::{json, Value};
use zarrs::array::{Array, ArrayBytes, ArraySubset, CodecOptions};
use zarrs::filesystem::FilesystemStore;
use zarrs::group::Group;
use zarrs::metadata::v2::{ArrayMetadataV2, GroupMetadataV2};
use zarrs::metadata::v3::{ArrayMetadataV3, GroupMetadataV3};
use zarrs::metadata::{ArrayMetadata, GroupMetadata};
use zarrs::storage::{
    Bytes, OffsetBytesIterator, StorageError, StoreKey, StorePrefix, WritableStorageTraits,
};

use crate::error::{Error, Result};
use crate::input::SliceFile;
use crate::options::{Codec, Ngff, OmeZarrOptions};
use crate::output::{
    Check, Computed, Finished, Job, LevelWriter, Mark, PixelSource, Recorded, Scan, Target,
    WriteQueue, Written,
};
use crate::pixel::{BufferPool, Depth, Plane, Sample};
use crate::plan::Plan;
use crate::publish::{remove_partial, write_file, write_file_shared};
use crate::shard;

/// Slab buffers a level has at most: one filling, the others waiting for or in compression.
const SLAB_BUFFERS: usize = 2;

/// zstd's level: numcodecs' default, and the fastest that still compresses CT data well.
const ZSTD_LEVEL: i32 = 1;
/// Blosc's level and shuffle: numcodecs' defaults.
const BLOSC_LEVEL: u8 = 5;

/// A zarrs store that keeps what zarrs writes (metadata, encoded chunks) in memory, for this
/// module to write crash-safe, with its own errors (a full disk is exit 3, naming the file).
#[derive(Default)]
struct Capture(Mutex<HashMap<String, Bytes>>);

impl Capture {
    fn take(&self, key: &str) -> Option<Bytes> {
        self.0.lock().ok()?.remove(key)
    }
}

impl WritableStorageTraits for Capture {
    fn set(&self, key: &StoreKey, value: Bytes) -> std::result::Result<(), StorageError> {
        let mut map = self
            .0
            .lock()
            .map_err(|_| StorageError::Other("poisoned".into()))?;
        map.insert(key.as_str().to_string(), value);
        Ok(())
    }

    fn set_partial_many(
        &self,
        _key: &StoreKey,
        _values: OffsetBytesIterator,
    ) -> std::result::Result<(), StorageError> {
        Err(StorageError::Unsupported("partial writes".into()))
    }

    fn erase(&self, key: &StoreKey) -> std::result::Result<(), StorageError> {
        if let Ok(mut map) = self.0.lock() {
            map.remove(key.as_str());
        }
        Ok(())
    }

    fn erase_prefix(&self, prefix: &StorePrefix) -> std::result::Result<(), StorageError> {
        if let Ok(mut map) = self.0.lock() {
            map.retain(|k, _| !k.starts_with(prefix.as_str()));
        }
        Ok(())
    }

    fn supports_set_partial(&self) -> bool {
        false
    }
}

/// An array's metadata on disk, against this build's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Meta {
    Absent,
    /// Some files missing, those there this build's: being written (by another shard).
    Partial,
    Same,
    /// Another build's: its chunks are not this build's either.
    Differs,
}

/// One level's array and its slabs.
struct LevelArray {
    level: usize,
    /// `[slices, height, width]`.
    shape: [usize; 3],
    /// `[z, y, x]`, clamped to `shape`.
    chunks: [usize; 3],
    /// Encodes chunks into `capture`.
    array: Arc<Array<Capture>>,
    capture: Arc<Capture>,
    /// Its metadata files, relative to the store's root, in the order they are written.
    metadata: Vec<(String, Vec<u8>)>,
    /// The slab being filled: its chunk row and its bytes.
    slab: Option<(usize, Vec<u8>)>,
    /// Slab buffers back from the writer thread, and how many exist.
    returned: (Sender<Vec<u8>>, Receiver<Vec<u8>>),
    buffers: usize,
}

impl LevelArray {
    /// Chunks across a slab: `(y, x)` counts.
    fn grid(&self) -> (usize, usize) {
        (
            self.shape[1].div_ceil(self.chunks[1]),
            self.shape[2].div_ceil(self.chunks[2]),
        )
    }

    /// A slab holds a chunk row chunk by chunk, each chunk whole (edge chunks padded), in
    /// the order of their indices: the chunks are compressed straight from it.
    fn slab_bytes(&self, bytes: usize) -> usize {
        let (gy, gx) = self.grid();
        gy * gx * self.chunk_bytes(bytes)
    }

    fn chunk_bytes(&self, bytes: usize) -> usize {
        self.chunks.iter().product::<usize>() * bytes
    }

    /// The store keys of the chunks of chunk row `row`.
    fn row_keys(&self, row: usize) -> Vec<String> {
        let (gy, gx) = self.grid();
        let mut keys = Vec::with_capacity(gy * gx);
        for y in 0..gy {
            for x in 0..gx {
                let key = self.array.chunk_key(&[row as u64, y as u64, x as u64]);
                keys.push(key.as_str().to_string());
            }
        }
        keys
    }
}

/// The OME-Zarr store.
pub struct OmeZarr<'a> {
    plan: &'a Plan,
    root: PathBuf,
    durable: bool,
    /// Arrays of levels 0..=L.
    levels: Vec<LevelArray>,
    /// Pixel buffers of the slices kept for the next level.
    pool: BufferPool,
    /// The group's metadata files without `omero`, in the order they are written: the last
    /// is the mark.
    group: Vec<(String, Vec<u8>)>,
    /// The stack's name (its folder's), in the metadata.
    name: String,
    options: OmeZarrOptions,
    /// This build is one shard of several.
    sharded: bool,
}

fn zarr_error(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::write(path, std::io::Error::other(e.to_string()))
}

fn read_error(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::bad_input(path, format!("cannot read the OME-Zarr store: {e}"))
}

impl<'a> OmeZarr<'a> {
    pub fn new(target: Target<'a>, options: &OmeZarrOptions) -> Result<Self> {
        let plan = target.plan;
        let root = target.out_root.to_path_buf();
        let mut shapes = vec![(0, [plan.slices, plan.height, plan.width])];
        shapes.extend(
            plan.levels
                .iter()
                .map(|l| (l.level, [l.slices, l.height, l.width])),
        );
        let levels = shapes
            .into_iter()
            .map(|(level, shape)| level_array(plan, &root, options, level, shape))
            .collect::<Result<Vec<_>>>()?;
        // Named after the stack (its folder, or its file's stem), wherever the store is.
        let source = crate::platform::canonical(target.source);
        let name = match source.is_file() {
            true => source.file_stem(),
            false => source.file_name(),
        };
        let name = name.map_or(String::new(), |n| n.to_string_lossy().into_owned());
        let group = group_metadata(plan, &root, &name, options, None)?;
        Ok(OmeZarr {
            plan,
            root,
            durable: target.durable,
            levels,
            pool: BufferPool::default(),
            group,
            name,
            options: *options,
            sharded: false,
        })
    }

    fn level_dir(&self, level: usize) -> PathBuf {
        self.root.join(level.to_string())
    }

    /// OMERO display settings for viewers (napari, Fiji): one gray channel whose window is
    /// the range of the smallest level's pixels (the full range of the data, but for the
    /// extremes the averaging smooths out), within the dtype's.
    fn omero(&self) -> Result<Option<Value>> {
        let Some(level) = self.levels.last() else {
            return Ok(None);
        };
        let path = self.level_dir(level.level);
        let store = FilesystemStore::new(&self.root).map_err(|e| read_error(&path, e))?;
        let array = Array::open(Arc::new(store), &format!("/{}", level.level))
            .map_err(|e| read_error(&path, e))?;
        // Read one chunk row at a time: the smallest level is level 0, the whole input,
        // when no level is built below it, and memory must not grow with the stack.
        let [slices, h, w] = level.shape.map(|n| n as u64);
        let depth = level.chunks[0] as u64;
        let (mut lo, mut hi) = (u32::MAX, 0);
        for first in (0..slices).step_by(depth.max(1) as usize) {
            let rows = first..(first + depth).min(slices);
            let subset = ArraySubset::new_with_ranges(&[rows, 0..h, 0..w]);
            let pixels: ArrayBytes = array
                .retrieve_array_subset(&subset)
                .map_err(|e| read_error(&path, e))?;
            let raw = pixels.into_fixed().map_err(|e| read_error(&path, e))?;
            let (a, b) = match self.plan.depth {
                Depth::U8 => raw.iter().fold((u32::MAX, 0), |(a, b), &v| {
                    (a.min(u32::from(v)), b.max(u32::from(v)))
                }),
                Depth::U16 => raw
                    .chunks_exact(2)
                    .map(|p| u32::from(u16::from_ne_bytes([p[0], p[1]])))
                    .fold((u32::MAX, 0), |(a, b), v| (a.min(v), b.max(v))),
            };
            (lo, hi) = (lo.min(a), hi.max(b));
        }
        let top = match self.plan.depth {
            Depth::U8 => u32::from(u8::MAX),
            Depth::U16 => u32::from(u16::MAX),
        };
        if lo > hi {
            return Ok(None);
        }
        Ok(Some(json!({
            "channels": [{
                "label": self.name,
                "color": "FFFFFF",
                "active": true,
                "coefficient": 1,
                "family": "linear",
                "inverted": false,
                "window": { "min": 0, "max": top, "start": lo, "end": hi },
            }],
            "rdefs": { "model": "greyscale" },
        })))
    }

    /// Whether a metadata file of the other Zarr version is in `dir`: a store (or array)
    /// written with the other `--ngff`, which this build's files must not join.
    fn foreign_metadata(&self, dir: &Path) -> bool {
        foreign_names(self.options.ngff)
            .iter()
            .any(|name| dir.join(name).is_file())
    }

    /// How the metadata files of `level` on disk compare with this build's, byte for byte.
    fn metadata_state(&self, level: &LevelArray) -> Meta {
        if self.foreign_metadata(&self.level_dir(level.level)) {
            return Meta::Differs;
        }
        let (mut present, mut differ) = (0, false);
        for (key, bytes) in &level.metadata {
            if let Ok(on_disk) = std::fs::read(self.root.join(key)) {
                present += 1;
                differ |= on_disk != *bytes;
            }
        }
        match present {
            _ if differ => Meta::Differs,
            0 => Meta::Absent,
            n if n == level.metadata.len() => Meta::Same,
            _ => Meta::Partial,
        }
    }

    /// Which chunk rows of `level` in `rows` are complete: every chunk file there, and with
    /// `Check::Thorough`, decoding to a chunk of the right size.
    fn complete_rows(&self, level: &LevelArray, rows: Range<usize>, check: Check) -> Vec<bool> {
        let reader = match check {
            Check::Present => None,
            Check::Thorough => FilesystemStore::new(&self.root)
                .ok()
                .and_then(|s| Array::open(Arc::new(s), &format!("/{}", level.level)).ok()),
        };
        if check == Check::Thorough && reader.is_none() {
            return vec![false; rows.len()];
        }
        let (gy, gx) = level.grid();
        let rows: Vec<(usize, Vec<String>)> = rows.map(|r| (r, level.row_keys(r))).collect();
        let root = &self.root;
        rows.into_par_iter()
            .map(|(row, keys)| {
                if !keys.iter().all(|k| root.join(k).is_file()) {
                    return false;
                }
                let Some(array) = &reader else { return true };
                (0..gy * gx).all(|i| {
                    let indices = [row as u64, (i / gx) as u64, (i % gx) as u64];
                    array
                        .retrieve_chunk_if_exists::<ArrayBytes>(&indices)
                        .is_ok_and(|c| c.is_some())
                })
            })
            .collect()
    }

    /// Hands level `level` slice `index` (its pixel bytes) to its slab; a full slab (or the
    /// level's last) goes to the writer thread.
    fn add<R: Rows>(
        &mut self,
        level: usize,
        index: usize,
        rows: &R,
        writer: &mut WriteQueue<Written>,
    ) -> Result<Vec<Written>> {
        let bytes = self.plan.depth.bytes();
        let (root, durable) = (self.root.clone(), self.durable);
        let mut done = Vec::new();
        let Some(l) = self.levels.get_mut(level) else {
            return Err(zarr_error(&root, "internal: no such level"));
        };
        let [cz, h, w] = [l.chunks[0], l.shape[1], l.shape[2]];
        let row = index / cz;
        if l.slab.as_ref().is_none_or(|(r, _)| *r != row) {
            // A new chunk row: a buffer back from the writer, or a new one (SLAB_BUFFERS at
            // most). Waiting for the writer's jobs one by one, up to the
            // one that gives a buffer back, rather than for all of them, keeps this thread
            // filling the next row while the row just handed over is compressed.
            let mut buffer = l.returned.1.try_recv().ok();
            while buffer.is_none() && l.buffers >= SLAB_BUFFERS && writer.pending() > 0 {
                done.extend(writer.finish_one()?);
                buffer = l.returned.1.try_recv().ok();
            }
            let buffer = match buffer {
                // Every slice of a row overwrites its pixels, and nothing ever writes the
                // edge chunks' padding: in a used buffer, only the planes a last, partial
                // row lacks still hold an earlier row's, and go back to the fill value.
                Some(mut used) => {
                    let planes = l.shape[0].saturating_sub(row * cz);
                    if planes < cz {
                        let chunk = l.chunk_bytes(bytes);
                        let tail = planes * (chunk / cz);
                        used.chunks_mut(chunk).for_each(|c| c[tail..].fill(0));
                    }
                    used
                }
                None => {
                    l.buffers += 1;
                    // Zeroed by the allocator (fresh pages), not by a pass over it.
                    let mut fresh = vec![0; l.slab_bytes(bytes)];
                    crate::platform::advise_huge_pages(&mut fresh);
                    fresh
                }
            };
            l.slab = Some((row, buffer));
        }
        let Some((_, slab)) = &mut l.slab else {
            return Err(zarr_error(&root, "internal: no slab"));
        };
        scatter(rows, slab, index % cz, l.chunks, [h, w], bytes);
        let last = index + 1 == l.shape[0];
        if !(index + 1).is_multiple_of(cz) && !last {
            return Ok(done);
        }
        let Some((row, slab)) = l.slab.take() else {
            return Ok(done);
        };
        let first = row * cz;
        let written = Written {
            level,
            slices: first..(first + cz).min(l.shape[0]),
            files: l.grid().0 * l.grid().1,
        };
        let job = write_row_job(l, row, slab, bytes, root, durable);
        done.extend(writer.submit(Some(written), job)?);
        Ok(done)
    }
}

/// The writer thread's job for one full slab: its chunks encoded by zarrs straight from it
/// and written crash-safe, on every core; then the slab's buffer goes back to its level.
fn write_row_job(
    l: &LevelArray,
    row: usize,
    slab: Vec<u8>,
    bytes: usize,
    root: PathBuf,
    durable: bool,
) -> Job {
    let (array, capture) = (l.array.clone(), l.capture.clone());
    let chunk_bytes = l.chunk_bytes(bytes);
    let (gy, gx) = l.grid();
    let back = l.returned.0.clone();
    Box::new(move || {
        let options = CodecOptions::default().with_store_empty_chunks(true);
        (0..gy * gx).into_par_iter().try_for_each(|i| {
            let (yi, xi) = (i / gx, i % gx);
            let chunk = &slab[i * chunk_bytes..(i + 1) * chunk_bytes];
            let indices = [row as u64, yi as u64, xi as u64];
            let key = array.chunk_key(&indices);
            let path = root.join(key.as_str());
            array
                .store_chunk_opt(&indices, ArrayBytes::from(chunk), &options)
                .map_err(|e| zarr_error(&path, e))?;
            let encoded = capture
                .take(key.as_str())
                .ok_or_else(|| zarr_error(&path, "internal: chunk not encoded"))?;
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(|e| Error::write(dir, e))?;
            }
            write_file(&path, &[&encoded], durable)
        })?;
        let _ = back.send(slab);
        Ok(())
    })
}

/// The `ctpyramid` attributes of every array: what decides its bytes beyond its metadata.
fn identity(plan: &Plan) -> Value {
    json!({
        "version": env!("CARGO_PKG_VERSION"),
        "source": format!("{:016x}", plan.source_id),
        "min_size": plan.min_size,
    })
}

/// The array of one level: its zarrs `Array` (for encoding) and its metadata files.
fn level_array(
    plan: &Plan,
    root: &Path,
    options: &OmeZarrOptions,
    level: usize,
    shape: [usize; 3],
) -> Result<LevelArray> {
    let chunks = [
        options.chunks[0].min(shape[0]).max(1),
        options.chunks[1].min(shape[1]).max(1),
        options.chunks[2].min(shape[2]).max(1),
    ];
    let path = root.join(level.to_string());
    let err = |e: &dyn std::fmt::Display| zarr_error(&path, e);
    let attributes = json!({ "ctpyramid": identity(plan) });
    let metadata: ArrayMetadata = match options.ngff {
        Ngff::V04 => {
            let (dtype, typesize) = match plan.depth {
                Depth::U8 => ("|u1", 1),
                Depth::U16 => ("<u2", 2),
            };
            let compressor = match options.codec {
                Codec::Zstd => json!({ "id": "zstd", "level": ZSTD_LEVEL }),
                Codec::BloscLz4 => json!({
                    "id": "blosc", "cname": "lz4", "clevel": BLOSC_LEVEL,
                    "shuffle": 1, "blocksize": 0, "typesize": typesize,
                }),
            };
            let v2: ArrayMetadataV2 = serde_json::from_value(json!({
                "zarr_format": 2,
                "shape": shape,
                "chunks": chunks,
                "dtype": dtype,
                "compressor": compressor,
                "fill_value": 0,
                "order": "C",
                "filters": null,
                "dimension_separator": "/",
                "attributes": attributes,
            }))
            .map_err(|e| err(&e))?;
            v2.into()
        }
        Ngff::V05 => {
            let data_type = match plan.depth {
                Depth::U8 => "uint8",
                Depth::U16 => "uint16",
            };
            let compressor = match options.codec {
                Codec::Zstd => json!({
                    "name": "zstd",
                    "configuration": { "level": ZSTD_LEVEL, "checksum": false },
                }),
                Codec::BloscLz4 => json!({
                    "name": "blosc",
                    "configuration": {
                        "cname": "lz4", "clevel": BLOSC_LEVEL, "shuffle": "shuffle",
                        "typesize": plan.depth.bytes(), "blocksize": 0,
                    },
                }),
            };
            let v3: ArrayMetadataV3 = serde_json::from_value(json!({
                "zarr_format": 3,
                "node_type": "array",
                "shape": shape,
                "data_type": data_type,
                "chunk_grid": { "name": "regular", "configuration": { "chunk_shape": chunks } },
                "chunk_key_encoding": { "name": "default", "configuration": { "separator": "/" } },
                "fill_value": 0,
                "codecs": [
                    { "name": "bytes", "configuration": { "endian": "little" } },
                    compressor,
                ],
                "attributes": attributes,
                "dimension_names": ["z", "y", "x"],
            }))
            .map_err(|e| err(&e))?;
            v3.into()
        }
    };
    let capture = Arc::new(Capture::default());
    let array = Array::new_with_metadata(capture.clone(), &format!("/{level}"), metadata)
        .map_err(|e| err(&e))?;
    // The metadata files as zarrs writes them, captured to be written crash-safe.
    array.store_metadata().map_err(|e| err(&e))?;
    let keys: &[&str] = match options.ngff {
        Ngff::V04 => &[".zarray", ".zattrs"],
        Ngff::V05 => &["zarr.json"],
    };
    let metadata = keys
        .iter()
        .filter_map(|k| {
            let key = format!("{level}/{k}");
            capture.take(&key).map(|b| (key, b.to_vec()))
        })
        .collect();
    Ok(LevelArray {
        level,
        shape,
        chunks,
        array: Arc::new(array),
        capture,
        metadata,
        slab: None,
        returned: mpsc::channel(),
        buffers: 0,
    })
}

/// The group's metadata files, with the OME-NGFF `multiscales`: per level a scale of
/// `voxel x 2^L` and a translation of `voxel x (2^L - 1) / 2`, so that the levels overlay
/// exactly (a level-L voxel's centre is the centre of the 2^L input voxels it averages).
///
/// `omero`, when given, is the display settings beside the `multiscales` ([`omero`]).
fn group_metadata(
    plan: &Plan,
    root: &Path,
    name: &str,
    options: &OmeZarrOptions,
    omero: Option<Value>,
) -> Result<Vec<(String, Vec<u8>)>> {
    let voxel = plan.voxel_um.unwrap_or(1.0);
    let axis = |name: &str| match plan.voxel_um {
        Some(_) => json!({ "name": name, "type": "space", "unit": "micrometer" }),
        None => json!({ "name": name, "type": "space" }),
    };
    let datasets: Vec<Value> = (0..=plan.levels.len())
        .map(|level| {
            let factor = f64::from(1u32 << level.min(31));
            let scale = voxel * factor;
            let shift = voxel * (factor - 1.0) / 2.0;
            json!({
                "path": level.to_string(),
                "coordinateTransformations": [
                    { "type": "scale", "scale": [scale, scale, scale] },
                    { "type": "translation", "translation": [shift, shift, shift] },
                ],
            })
        })
        .collect();
    let mut multiscale = json!({
        "name": name,
        "axes": [axis("z"), axis("y"), axis("x")],
        "datasets": datasets,
        "type": "mean",
        "metadata": {
            "description": "2x2x2 mean as CTHarvester's thumbnails: (a+b+c+d+2)>>2 in x and y, \
                            then (p+q+1)>>1 in z; an odd last row, column or slice is halved alone \
                            in z, dropped in x and y",
            "method": "ctpyramid",
            "version": env!("CARGO_PKG_VERSION"),
        },
    });
    let err = |e: &dyn std::fmt::Display| zarr_error(root, e);
    let capture = Arc::new(Capture::default());
    let (metadata, keys): (GroupMetadata, &[&str]) = match options.ngff {
        Ngff::V04 => {
            multiscale["version"] = json!("0.4");
            let mut attributes = json!({ "multiscales": [multiscale] });
            if let Some(omero) = omero {
                attributes["omero"] = omero;
            }
            let Value::Object(attributes) = attributes else {
                return Err(err(&"internal: attributes"));
            };
            (
                GroupMetadataV2::new().with_attributes(attributes).into(),
                &[".zgroup", ".zattrs"],
            )
        }
        Ngff::V05 => {
            let mut attributes =
                json!({ "ome": { "version": "0.5", "multiscales": [multiscale] } });
            if let Some(omero) = omero {
                attributes["ome"]["omero"] = omero;
            }
            let Value::Object(attributes) = attributes else {
                return Err(err(&"internal: attributes"));
            };
            (
                GroupMetadataV3::new().with_attributes(attributes).into(),
                &["zarr.json"],
            )
        }
    };
    let group = Group::new_with_metadata(capture.clone(), "/", metadata).map_err(|e| err(&e))?;
    group.store_metadata().map_err(|e| err(&e))?;
    keys.iter()
        .map(|k| {
            capture
                .take(k)
                .map(|b| (k.to_string(), b.to_vec()))
                .ok_or_else(|| err(&format!("internal: no {k}")))
        })
        .collect()
}

impl LevelWriter for OmeZarr<'_> {
    fn stores_input(&self) -> bool {
        true
    }

    /// Removes the temporary files of an earlier run in this shard's chunk rows.
    fn prepare(&mut self, range: &Range<usize>) -> Result<()> {
        std::fs::create_dir_all(&self.root).map_err(|e| Error::write(&self.root, e))?;
        self.sharded = *range != (0..self.plan.slices);
        let mut dirs = vec![self.root.clone()];
        for l in &self.levels {
            dirs.push(self.level_dir(l.level));
            let slices = shard::level_range(range, l.level, l.shape[0]);
            let rows = slices.start / l.chunks[0]..slices.end.div_ceil(l.chunks[0]);
            for row in rows {
                // The folder of a chunk row: `<L>/<z>` (v2) or `<L>/c/<z>` (v3).
                if let Some(first) = l.row_keys(row).first() {
                    let row_dir = Path::new(first).parent().and_then(Path::parent);
                    if let Some(dir) = row_dir {
                        remove_partial(&self.root.join(dir), true)?;
                    }
                }
            }
        }
        // Other shards may be writing the metadata files now (under names of their own).
        if !self.sharded {
            for dir in dirs {
                remove_partial(&dir, false)?;
            }
        }
        Ok(())
    }

    fn scan(&self, force: bool, range: &Range<usize>, check: Check) -> Result<Scan> {
        let mut stale = false;
        let mut complete: Vec<Vec<bool>> = Vec::with_capacity(self.levels.len());
        for l in &self.levels {
            let mut done = vec![false; l.shape[0]];
            let meta = self.metadata_state(l);
            stale |= meta == Meta::Differs;
            if !force && meta == Meta::Same {
                let slices = shard::level_range(range, l.level, l.shape[0]);
                let rows = slices.start / l.chunks[0]..slices.end.div_ceil(l.chunks[0]);
                let first = rows.start;
                for (i, ok) in self.complete_rows(l, rows, check).into_iter().enumerate() {
                    let z = (first + i) * l.chunks[0];
                    for d in done
                        .iter_mut()
                        .take((z + l.chunks[0]).min(l.shape[0]))
                        .skip(z)
                    {
                        *d = ok;
                    }
                }
            }
            complete.push(done);
        }
        let input = complete.remove(0);
        Ok(Scan {
            levels: complete,
            input,
            stale,
        })
    }

    /// The chunk files of the chunk rows `slices` spans (the scan finds rows whole).
    fn files(&self, level: usize, slices: &Range<usize>) -> usize {
        let Some(l) = self.levels.get(level) else {
            return 0;
        };
        if slices.is_empty() {
            return 0;
        }
        let rows = slices.end.div_ceil(l.chunks[0]) - slices.start / l.chunks[0];
        let (gy, gx) = l.grid();
        rows * gy * gx
    }

    /// Writes each array's metadata (before any of its chunks). An array written for other
    /// inputs or options is removed first, chunks and all; a shard does not remove what other
    /// shards may be writing, and refuses such a store instead.
    fn begin(&mut self, _scan: &Scan) -> Result<()> {
        for l in &self.levels {
            match self.metadata_state(l) {
                Meta::Same => continue,
                Meta::Differs if self.sharded => {
                    let reason = format!(
                        "{} was built from other inputs or options: build it whole (or remove \
                         it) before building shards",
                        self.root.display()
                    );
                    return Err(Error::invalid("slices", "(a shard)", reason));
                }
                Meta::Differs => {
                    let dir = self.level_dir(l.level);
                    std::fs::remove_dir_all(&dir).map_err(|e| Error::write(&dir, e))?;
                }
                // Being written by another shard now, or never.
                Meta::Partial | Meta::Absent => {}
            }
            let dir = self.level_dir(l.level);
            std::fs::create_dir_all(&dir).map_err(|e| Error::write(&dir, e))?;
            for (key, bytes) in &l.metadata {
                write_file_shared(&self.root.join(key), &[bytes], self.durable)?;
            }
        }
        Ok(())
    }

    fn write_input(
        &mut self,
        index: usize,
        slice: &SliceFile,
        writer: &mut WriteQueue<Written>,
    ) -> Result<Vec<Written>> {
        match self.plan.depth {
            Depth::U8 => self.add(0, index, &slice.plane::<u8>(), writer),
            Depth::U16 => self.add(0, index, &slice.plane::<u16>(), writer),
        }
    }

    fn write(
        &mut self,
        level: usize,
        index: usize,
        fill: &mut dyn FnMut(&mut [u8]),
        writer: &mut WriteQueue<Written>,
    ) -> Result<(Finished, Vec<Written>)> {
        let size = self.plan.slice_size(level);
        let path = self.level_dir(level);
        let computed = Computed::new(&path, size, &self.pool, fill)?;
        let pixels = computed.bytes();
        let row = size.0 * size.2.bytes();
        let done = self.add(level, index, &Packed { pixels, row }, writer)?;
        Ok((computed.finished(), done))
    }

    fn read_back(&self, level: usize, index: usize) -> Result<PixelSource> {
        let size = self.plan.slice_size(level);
        let path = self.level_dir(level);
        let store = FilesystemStore::new(&self.root).map_err(|e| read_error(&path, e))?;
        let array =
            Array::open(Arc::new(store), &format!("/{level}")).map_err(|e| read_error(&path, e))?;
        let (w, h) = (size.0 as u64, size.1 as u64);
        let subset = ArraySubset::new_with_ranges(&[index as u64..index as u64 + 1, 0..h, 0..w]);
        let pixels: ArrayBytes = array
            .retrieve_array_subset(&subset)
            .map_err(|e| read_error(&path, e))?;
        let raw = pixels.into_fixed().map_err(|e| read_error(&path, e))?;
        let computed = Computed::new(&path, size, &self.pool, |out| {
            out.copy_from_slice(&raw[..out.len()])
        })?;
        Ok(PixelSource::Level(computed.finished()))
    }

    fn finish(&mut self, _writer: &mut WriteQueue<Written>) -> Result<Vec<Written>> {
        Ok(Vec::new())
    }

    fn path(&self, level: usize, _index: usize) -> PathBuf {
        self.level_dir(level)
    }

    fn mark(&self) -> &dyn Mark {
        self
    }
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
        let group = group_metadata(self.plan, &self.root, &self.name, &self.options, omero)?;
        for (key, bytes) in &group {
            write_file_shared(&self.root.join(key), &[bytes], self.durable)?;
        }
        Ok(Mark::path(self))
    }

    fn path(&self) -> PathBuf {
        let key = self.group.last().map_or(".zattrs", |(k, _)| k.as_str());
        self.root.join(key)
    }
}

/// The metadata files of the Zarr version other than `ngff`'s.
fn foreign_names(ngff: Ngff) -> &'static [&'static str] {
    match ngff {
        Ngff::V04 => &["zarr.json"],
        Ngff::V05 => &[".zgroup", ".zarray", ".zattrs"],
    }
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

/// The rows of a slice to store, as bytes in native order.
trait Rows: Sync {
    type Scratch: Default + Send;
    fn row<'s>(&'s self, y: usize, scratch: &'s mut Self::Scratch) -> &'s [u8];
}

/// An input slice's rows: borrowed from its map when they are native samples.
impl<T: Sample> Rows for Plane<'_, T> {
    type Scratch = Vec<T>;
    fn row<'s>(&'s self, y: usize, scratch: &'s mut Vec<T>) -> &'s [u8] {
        bytemuck::cast_slice(Plane::row(self, y, scratch))
    }
}

/// A computed level slice: `row` bytes a row.
struct Packed<'a> {
    pixels: &'a [u8],
    row: usize,
}

impl Rows for Packed<'_> {
    type Scratch = ();
    fn row<'s>(&'s self, y: usize, _: &'s mut ()) -> &'s [u8] {
        &self.pixels[y * self.row..(y + 1) * self.row]
    }
}

/// Copies plane `z` of a chunk row into the chunk-ordered slab (see
/// [`LevelArray::slab_bytes`]): each row's pieces straight to their chunks, the only copy
/// of the pixels before compression; a band of chunks one chunk high per task.
fn scatter<R: Rows>(
    rows: &R,
    slab: &mut [u8],
    z: usize,
    [cz, cy, cx]: [usize; 3],
    [h, w]: [usize; 2],
    bytes: usize,
) {
    let chunk = cz * cy * cx * bytes;
    let gx = w.div_ceil(cx);
    slab.par_chunks_mut(gx * chunk).enumerate().for_each_init(
        R::Scratch::default,
        |scratch, (yi, band)| {
            for y in yi * cy..((yi + 1) * cy).min(h) {
                let row = rows.row(y, scratch);
                let at = (z * cy + y - yi * cy) * cx * bytes;
                for (xi, piece) in row.chunks(cx * bytes).enumerate() {
                    let to = xi * chunk + at;
                    band[to..to + piece.len()].copy_from_slice(piece);
                }
            }
        },
    );
}
