//! The OME-Zarr writer (see the parent module): the [`LevelWriter`] the cascade hands slices
//! to. Each level is one array: its metadata ([`super::metadata`]) is written before its
//! chunks, its slices are gathered into slabs ([`super::slab`]), and each full slab is one job
//! of the writer thread, which has zarrs encode its chunks on every core and write them through
//! the crash-safe store ([`super::store`]). What an earlier run left is scanned by
//! [`super::resume`]; the group's metadata, the mark of a complete store, by
//! [`super::complete`].

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;
use zarrs::array::{Array, ArrayBytes, ArraySubset, CodecOptions};
use zarrs::filesystem::FilesystemStore;

use crate::error::{Error, Result};
use crate::input::SliceFile;
use crate::output::{
    Check, Computed, Finished, Job, LevelWriter, Mark, PixelSource, Scan, Target, WriteQueue,
    Written,
};
use crate::pixel::BufferPool;
use crate::plan::Plan;

use super::gather::Inputs;
use super::metadata::{ArrayNode, File, GroupNode, Invalid, Meta};
use super::slab::{Chunking, Packed, Row, Rows, Slabs};
use super::store::{zarr_error, CrashSafeStore};
use crate::options::OmeZarrOptions;

/// One level's array: its zarrs `Array` (for encoding), its metadata files and its slabs.
pub(super) struct LevelArray {
    pub(super) level: usize,
    /// Encodes chunks and writes them through the crash-safe store.
    pub(super) array: Arc<Array<CrashSafeStore>>,
    /// Its metadata files, relative to the store's root, in the order they are written.
    pub(super) metadata: Vec<File>,
    pub(super) slabs: Slabs,
}

impl LevelArray {
    pub(super) fn chunking(&self) -> &Chunking {
        self.slabs.chunking()
    }

    /// The store key of chunk `[row, y, x]`.
    pub(super) fn chunk_key(&self, [row, y, x]: [usize; 3]) -> String {
        let key = self.array.chunk_key(&[row as u64, y as u64, x as u64]);
        key.as_str().to_string()
    }

    /// The store keys of the chunks of chunk row `row`.
    pub(super) fn row_keys(&self, row: usize) -> Vec<String> {
        let (gy, gx) = self.chunking().grid();
        (0..gy * gx)
            .map(|i| self.chunk_key([row, i / gx, i % gx]))
            .collect()
    }
}

/// The OME-Zarr store.
pub struct OmeZarr<'a> {
    pub(super) plan: &'a Plan,
    pub(super) root: PathBuf,
    /// Where every file is written.
    pub(super) store: Arc<CrashSafeStore>,
    /// Arrays of levels 0..=L.
    pub(super) levels: Vec<LevelArray>,
    /// Level 0's input slices, kept until their chunk row is written.
    inputs: Inputs,
    /// Pixel buffers of the slices kept for the next level.
    pool: BufferPool,
    /// The group's metadata files without `omero`, in the order they are written: the last
    /// is the mark.
    pub(super) group: Vec<File>,
    /// The stack's name (its folder's), in the metadata.
    pub(super) name: String,
    pub(super) options: OmeZarrOptions,
    /// This build is one shard of several.
    pub(super) sharded: bool,
}

/// A store that cannot be read back.
pub(super) fn read_error(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::bad_input(path, format!("cannot read the OME-Zarr store: {e}"))
}

/// Metadata that the plan and options, checked before, cannot give: a bug.
pub(super) fn invalid(path: &Path, reason: Invalid) -> Error {
    Error::Internal(format!("{}: OME-Zarr metadata: {reason}", path.display()))
}

/// Level `level`'s array of the store at `root`, opened by zarrs to read.
pub(super) fn open_array(root: &Path, level: usize) -> Result<Array<FilesystemStore>> {
    let path = root.join(level.to_string());
    let store = FilesystemStore::new(root).map_err(|e| read_error(&path, e))?;
    Array::open(Arc::new(store), &format!("/{level}")).map_err(|e| read_error(&path, e))
}

impl<'a> OmeZarr<'a> {
    pub fn new(target: Target<'a>, options: &OmeZarrOptions) -> Result<Self> {
        let plan = target.plan;
        let root = target.out_root.to_path_buf();
        let store = Arc::new(CrashSafeStore::new(&root, target.durable));
        let mut shapes = vec![(0, [plan.slices, plan.height, plan.width])];
        shapes.extend(
            plan.levels
                .iter()
                .map(|l| (l.level, [l.slices, l.height, l.width])),
        );
        let levels = shapes
            .into_iter()
            .map(|(level, shape)| level_array(plan, &root, &store, options, level, shape))
            .collect::<Result<Vec<_>>>()?;
        // Named after the stack (its folder, or its file's stem), wherever the store is.
        let source = crate::platform::canonical(target.source);
        let name = match source.is_file() {
            true => source.file_stem(),
            false => source.file_name(),
        };
        let name = name.map_or(String::new(), |n| n.to_string_lossy().into_owned());
        let inputs = Inputs::new(*levels[0].chunking());
        let group = GroupNode::new(plan, &name, options, None)
            .map_err(|e| invalid(&root, e))?
            .files()
            .map_err(|e| zarr_error(&root, e))?;
        Ok(OmeZarr {
            plan,
            root,
            store,
            levels,
            inputs,
            pool: BufferPool::default(),
            group,
            name,
            options: *options,
            sharded: false,
        })
    }

    pub(super) fn level_dir(&self, level: usize) -> PathBuf {
        self.root.join(level.to_string())
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
        let Some(l) = self.levels.get_mut(level) else {
            return Err(zarr_error(&self.root, "internal: no such level"));
        };
        let mut done = Vec::new();
        let full = l
            .slabs
            .add(index, rows, || wait_for_one(writer, &mut done))?;
        let Some(full) = full else {
            return Ok(done);
        };
        let written = row_written(level, l.chunking(), full.row);
        let job = write_row_job(l, full, &self.root, &self.store);
        done.extend(writer.submit(Some(written), job)?);
        Ok(done)
    }
}

/// While a level's rows wait for the writer thread: finishes one of its jobs, their tags into
/// `done`; false when none is pending.
fn wait_for_one(writer: &mut WriteQueue<Written>, done: &mut Vec<Written>) -> Result<bool> {
    if writer.pending() == 0 {
        return Ok(false);
    }
    done.extend(writer.finish_one()?);
    Ok(true)
}

/// What writing chunk row `row` of `level` completes: its slices and chunk files.
fn row_written(level: usize, chunking: &Chunking, row: usize) -> Written {
    Written {
        level,
        slices: chunking.slices(row),
        files: chunking.grid().0 * chunking.grid().1,
    }
}

/// The writer thread's job for one full slab: its chunks encoded by zarrs straight from it
/// and written crash-safe through the store, on every core; then the slab's buffer goes back
/// to its level.
fn write_row_job(l: &LevelArray, full: Row, root: &Path, store: &Arc<CrashSafeStore>) -> Job {
    let (array, store, root) = (l.array.clone(), store.clone(), root.to_path_buf());
    let chunk_bytes = l.chunking().chunk_bytes();
    let (gy, gx) = l.chunking().grid();
    let back = l.slabs.recycler();
    Box::new(move || {
        let Row { row, slab } = full;
        let options = CodecOptions::default().with_store_empty_chunks(true);
        let stored = (0..gy * gx).into_par_iter().try_for_each(|i| {
            let chunk = &slab[i * chunk_bytes..(i + 1) * chunk_bytes];
            let indices = [row as u64, (i / gx) as u64, (i % gx) as u64];
            array
                .store_chunk_opt(&indices, ArrayBytes::from(chunk), &options)
                .map_err(|e| zarr_error(&root.join(array.chunk_key(&indices).as_str()), e))
        });
        // The store's own error names the file and keeps its kind (a full disk).
        stored.map_err(|e| store.take_error().unwrap_or(e))?;
        let _ = back.send(slab);
        Ok(())
    })
}

/// The array of one level: its metadata (typed, then serialized), and a zarrs `Array` made
/// from the same metadata to encode its chunks.
fn level_array(
    plan: &Plan,
    root: &Path,
    store: &Arc<CrashSafeStore>,
    options: &OmeZarrOptions,
    level: usize,
    shape: [usize; 3],
) -> Result<LevelArray> {
    let path = root.join(level.to_string());
    let node = ArrayNode::new(plan, options, shape).map_err(|e| invalid(&path, e))?;
    let metadata = node.files(level).map_err(|e| zarr_error(&path, e))?;
    let zarrs = node.zarrs().map_err(|e| zarr_error(&path, e))?;
    let array = Array::new_with_metadata(store.clone(), &format!("/{level}"), zarrs)
        .map_err(|e| zarr_error(&path, e))?;
    let chunking = Chunking {
        shape,
        chunks: node.chunks(),
        bytes: plan.depth.bytes(),
    };
    Ok(LevelArray {
        level,
        array: Arc::new(array),
        metadata,
        slabs: Slabs::new(chunking),
    })
}

impl LevelWriter for OmeZarr<'_> {
    fn stores_input(&self) -> bool {
        true
    }

    /// Removes the temporary files of an earlier run in this shard's chunk rows.
    fn prepare(&mut self, range: &Range<usize>) -> Result<()> {
        std::fs::create_dir_all(&self.root).map_err(|e| Error::write(&self.root, e))?;
        self.sharded = *range != (0..self.plan.slices);
        self.remove_partials(range)
    }

    fn scan(&self, force: bool, range: &Range<usize>, check: Check) -> Result<Scan> {
        Ok(self.scan_store(force, range, check))
    }

    /// The chunk files of the chunk rows `slices` spans (the scan finds rows whole).
    fn files(&self, level: usize, slices: &Range<usize>) -> usize {
        let Some(l) = self.levels.get(level) else {
            return 0;
        };
        if slices.is_empty() {
            return 0;
        }
        let (gy, gx) = l.chunking().grid();
        l.chunking().rows(slices.clone()).len() * gy * gx
    }

    /// Writes each array's metadata (before any of its chunks). An array written for other
    /// inputs or options is removed first, chunks and all; a shard does not remove what other
    /// shards may be writing, and refuses such a store instead.
    fn begin(&mut self, _scan: &Scan) -> Result<()> {
        for l in &self.levels {
            let dir = self.level_dir(l.level);
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
                    std::fs::remove_dir_all(&dir).map_err(|e| Error::write(&dir, e))?;
                }
                // Being written by another shard now, or never.
                Meta::Partial | Meta::Absent => {}
            }
            std::fs::create_dir_all(&dir).map_err(|e| Error::write(&dir, e))?;
            for (key, bytes) in &l.metadata {
                self.store.put(key, bytes)?;
            }
        }
        Ok(())
    }

    /// Keeps input slice `index` for its chunk row; a full row goes to the writer thread,
    /// which compresses its chunks from the slices ([`super::gather`]). Rows deeper than
    /// [`super::gather::DEPTH_MAX`] are copied into slabs instead: the same chunks.
    fn write_input(
        &mut self,
        index: usize,
        slice: &Arc<SliceFile>,
        writer: &mut WriteQueue<Written>,
    ) -> Result<Vec<Written>> {
        if !self.inputs.gathers() {
            return crate::with_sample!(self.plan.depth, T => self.add(0, index, &slice.plane::<T>(), writer));
        }
        let mut done = Vec::new();
        let full = self
            .inputs
            .add(index, slice, || wait_for_one(writer, &mut done))?;
        let (Some(full), Some(l)) = (full, self.levels.first()) else {
            return Ok(done);
        };
        let written = row_written(0, l.chunking(), full.row);
        let (array, store) = (l.array.clone(), self.store.clone());
        let job = self
            .inputs
            .job(full, array, store, &self.root, self.plan.depth);
        done.extend(writer.submit(Some(written), job)?);
        Ok(done)
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
        let array = open_array(&self.root, level)?;
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
