//! Level 0 of a store, compressed from the input slices themselves: a chunk row's slices (a
//! chunk depth of them) are kept as the cascade read them, and the writer thread gathers each
//! chunk from their rows band by band (a chunk's height of rows across the row's slices),
//! compresses the band's chunks on every core, and releases the band's pages before the next.
//!
//! A slab (see [`super::slab`]) would copy every input slice whole: two of them at level 0
//! were 2 x 16 x 8 MB of a build of 2048x2048 16-bit slices, most of its memory. Mapped
//! slices hold one band's pages of each at a time instead (their files' pages stay in the page
//! cache, from which the cascade has just read them); decoded slices keep their buffers, as
//! many as a slab would hold.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;

use rayon::prelude::*;
use zarrs::array::{Array, ArrayBytes, CodecOptions};

use crate::error::{Error, Result};
use crate::input::SliceFile;
use crate::output::Job;
use crate::pixel::{BufferPool, Depth, Sample};

use super::slab::Chunking;
use super::store::{zarr_error, CrashSafeStore};

/// Chunk rows deeper than this many slices are copied into slabs, as levels >= 1 are: each
/// kept slice holds an open file and a map, and two rows of 64 (one filling, one being
/// written) stay well under macOS's default of 256 open files (Linux's is 1024) and within
/// the fault handler's table of maps ([`crate::platform::sigbus`]).
pub(super) const DEPTH_MAX: usize = 64;

/// Chunk rows of input slices handed to the writer thread and not yet written, at most: with
/// the row being gathered, as many slices as two slabs held (one filling, one compressing).
const IN_FLIGHT: usize = 1;

/// A full chunk row of input slices, for the writer thread.
pub(super) struct InputRow {
    pub(super) row: usize,
    slices: Vec<Arc<SliceFile>>,
}

/// Level 0's input slices, gathered chunk row by chunk row.
pub(super) struct Inputs {
    chunking: Chunking,
    filling: Option<InputRow>,
    /// One message from the writer thread for each row it has written.
    written: (Sender<()>, Receiver<()>),
    in_flight: usize,
    /// Buffers the chunks are gathered into.
    pool: BufferPool,
}

impl Inputs {
    pub(super) fn new(chunking: Chunking) -> Inputs {
        Inputs {
            chunking,
            filling: None,
            written: mpsc::channel(),
            in_flight: 0,
            pool: BufferPool::default(),
        }
    }

    /// Whether level 0's rows are gathered here: rows up to [`DEPTH_MAX`] slices deep.
    pub(super) fn gathers(&self) -> bool {
        self.chunking.chunks[0] <= DEPTH_MAX
    }

    /// Keeps input slice `index` for its chunk row. Returns the row when this slice completes
    /// it (or is the level's last), once fewer than [`IN_FLIGHT`] rows are still with the
    /// writer thread, calling `wait` (which waits for one of the writer's jobs; false: none is
    /// pending) until then.
    pub(super) fn add(
        &mut self,
        index: usize,
        slice: &Arc<SliceFile>,
        mut wait: impl FnMut() -> Result<bool>,
    ) -> Result<Option<InputRow>> {
        let cz = self.chunking.chunks[0];
        let row = index / cz;
        let mut filling = match self.filling.take() {
            Some(filling) if filling.row == row => filling,
            _ => InputRow {
                row,
                slices: Vec::with_capacity(cz),
            },
        };
        // Rows are whole (a rerun keeps or redoes whole rows, a shard writes whole rows), and
        // their slices come in order.
        if filling.slices.len() != index % cz {
            return Err(Error::Internal(format!(
                "{}: slice {index} of level 0 out of its chunk row's order",
                slice.path().display()
            )));
        }
        filling.slices.push(slice.clone());
        if !self.chunking.ends_row(index) {
            self.filling = Some(filling);
            return Ok(None);
        }
        loop {
            while self.written.1.try_recv().is_ok() {
                self.in_flight = self.in_flight.saturating_sub(1);
            }
            if self.in_flight < IN_FLIGHT || !wait()? {
                break;
            }
        }
        self.in_flight += 1;
        Ok(Some(filling))
    }

    /// The writer thread's job for a full row: each band of chunks gathered from the row's
    /// slices, compressed and written crash-safe through the store (zarrs), on every core;
    /// then the band's pages released. The slices are dropped (unmapped) on that thread.
    pub(super) fn job(
        &self,
        full: InputRow,
        array: Arc<Array<CrashSafeStore>>,
        store: Arc<CrashSafeStore>,
        root: &Path,
        depth: Depth,
    ) -> Job {
        let (chunking, pool, done) = (self.chunking, self.pool.clone(), self.written.0.clone());
        let root = root.to_path_buf();
        Box::new(move || {
            let band = Band {
                chunking,
                row: full.row,
                slices: &full.slices,
                array: &array,
                root: &root,
                pool: &pool,
            };
            let [_, cy, _] = chunking.chunks;
            let (gy, _) = chunking.grid();
            for yi in 0..gy {
                let rows = yi * cy..((yi + 1) * cy).min(chunking.shape[1]);
                let stored = crate::with_sample!(depth, T => band.store::<T>(yi, rows.clone()));
                // The store's own error names the file and keeps its kind (a full disk).
                stored.map_err(|e| store.take_error().unwrap_or(e))?;
                for slice in &full.slices {
                    slice.release_rows(rows.clone());
                }
            }
            drop(full);
            let _ = done.send(());
            Ok(())
        })
    }
}

/// What storing one band of a row's chunks needs.
struct Band<'a> {
    chunking: Chunking,
    row: usize,
    slices: &'a [Arc<SliceFile>],
    array: &'a Array<CrashSafeStore>,
    root: &'a PathBuf,
    pool: &'a BufferPool,
}

impl Band<'_> {
    /// Gathers and stores the chunks of band `yi` (rows `rows` of the slices).
    fn store<T: Sample>(&self, yi: usize, rows: Range<usize>) -> Result<()> {
        let c = self.chunking;
        let [cz, cy, cx] = c.chunks;
        let width = c.shape[2];
        let (_, gx) = c.grid();
        let options = CodecOptions::default().with_store_empty_chunks(true);
        let planes: Vec<_> = self.slices.iter().map(|s| s.plane::<T>()).collect();
        (0..gx).into_par_iter().try_for_each(|xi| {
            let mut buffer = self.pool.take_for(c.chunk_bytes());
            let chunk = buffer
                .bytes_mut(c.chunk_bytes())
                .map_err(|e| Error::Internal(format!("a chunk's buffer: {e}")))?;
            let columns = xi * cx..((xi + 1) * cx).min(width);
            // Edge chunks and a last, partial row: the padding is the fill value, zero.
            if columns.len() < cx || rows.len() < cy || planes.len() < cz {
                chunk.fill(0);
            }
            // Only the chunk's columns of a row: borrowed from the map, or those pixels
            // converted (a row converted whole for each chunk across was gx times the work).
            let mut scratch: Vec<T> = Vec::new();
            for (z, plane) in planes.iter().enumerate() {
                for (k, y) in rows.clone().enumerate() {
                    let part: &[u8] =
                        bytemuck::cast_slice(plane.row_part(y, columns.clone(), &mut scratch));
                    let at = (z * cy + k) * cx * c.bytes;
                    chunk[at..at + part.len()].copy_from_slice(part);
                }
            }
            let indices = [self.row as u64, yi as u64, xi as u64];
            self.array
                .store_chunk_opt(&indices, ArrayBytes::from(&chunk[..]), &options)
                .map_err(|e| {
                    let key = self.array.chunk_key(&indices);
                    zarr_error(&self.root.join(key.as_str()), e)
                })
        })
    }
}
