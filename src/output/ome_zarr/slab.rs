//! Slab buffering: a level's slices gathered into *slabs*, one chunk row each (a chunk depth of
//! slices, every chunk across them), held chunk by chunk so that each chunk is compressed
//! straight from its slab.
//!
//! A level has at most [`SLAB_BUFFERS`] slab buffers: one filling while the writer thread
//! compresses the other. A buffer comes back from the writer when its row is written and is
//! reused, so memory is `2 x chunk depth x (H x W) x bytes` a level, whatever the stack's
//! length.

use std::sync::mpsc::{self, Receiver, Sender};

use rayon::prelude::*;

use crate::error::Result;
use crate::pixel::{Plane, Sample};

/// Slab buffers a level has at most: one filling, the others waiting for or in compression.
pub(super) const SLAB_BUFFERS: usize = 2;

/// How a level array is cut into chunks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Chunking {
    /// `[slices, height, width]`.
    pub(super) shape: [usize; 3],
    /// `[z, y, x]`, within `shape`.
    pub(super) chunks: [usize; 3],
    /// Bytes a sample.
    pub(super) bytes: usize,
}

impl Chunking {
    /// Chunks across a slab: `(y, x)` counts.
    pub(super) fn grid(&self) -> (usize, usize) {
        (
            self.shape[1].div_ceil(self.chunks[1]),
            self.shape[2].div_ceil(self.chunks[2]),
        )
    }

    /// A chunk's bytes, whole (edge chunks padded).
    pub(super) fn chunk_bytes(&self) -> usize {
        self.chunks.iter().product::<usize>() * self.bytes
    }

    /// A slab holds a chunk row chunk by chunk, each chunk whole (edge chunks padded), in
    /// the order of their indices: the chunks are compressed straight from it (one copy of the
    /// pixels before compression instead of two, with a slab in array order and a gather into
    /// each chunk; the build's time did not change measurably).
    pub(super) fn slab_bytes(&self) -> usize {
        let (gy, gx) = self.grid();
        gy * gx * self.chunk_bytes()
    }

    /// The chunk rows that hold slices `first..end`.
    pub(super) fn rows(&self, slices: std::ops::Range<usize>) -> std::ops::Range<usize> {
        slices.start / self.chunks[0]..slices.end.div_ceil(self.chunks[0])
    }

    /// The slices of chunk row `row`.
    pub(super) fn slices(&self, row: usize) -> std::ops::Range<usize> {
        let first = row * self.chunks[0];
        first..(first + self.chunks[0]).min(self.shape[0])
    }

    /// Whether slice `index` is the last of its chunk row (the array's last slice ends a
    /// partial row).
    pub(super) fn ends_row(&self, index: usize) -> bool {
        (index + 1).is_multiple_of(self.chunks[0]) || index + 1 == self.shape[0]
    }
}

/// A full chunk row, for the writer thread: its index and its slab.
pub(super) struct Row {
    pub(super) row: usize,
    pub(super) slab: Vec<u8>,
}

/// One level's slabs.
pub(super) struct Slabs {
    chunking: Chunking,
    /// The slab being filled: its chunk row and its bytes.
    filling: Option<Row>,
    /// Slab buffers back from the writer thread, and how many exist.
    returned: (Sender<Vec<u8>>, Receiver<Vec<u8>>),
    buffers: usize,
}

impl Slabs {
    pub(super) fn new(chunking: Chunking) -> Slabs {
        Slabs {
            chunking,
            filling: None,
            returned: mpsc::channel(),
            buffers: 0,
        }
    }

    pub(super) fn chunking(&self) -> &Chunking {
        &self.chunking
    }

    /// Where a written slab's buffer goes back to, for reuse.
    pub(super) fn recycler(&self) -> Sender<Vec<u8>> {
        self.returned.0.clone()
    }

    /// Copies slice `index`'s rows into its chunk row's slab. Returns the row when this slice
    /// completes it (or is the level's last). A new row takes a buffer back from the writer,
    /// calling `wait` (which waits for one of the writer's jobs; false: none is pending) while
    /// none is back and [`SLAB_BUFFERS`] exist, or makes a new one.
    pub(super) fn add<R: Rows>(
        &mut self,
        index: usize,
        rows: &R,
        wait: impl FnMut() -> Result<bool>,
    ) -> Result<Option<Row>> {
        let c = self.chunking;
        let [cz, h, w] = [c.chunks[0], c.shape[1], c.shape[2]];
        let row = index / cz;
        let mut filling = match self.filling.take() {
            Some(filling) if filling.row == row => filling,
            _ => Row {
                row,
                slab: self.buffer(row, wait)?,
            },
        };
        scatter(
            rows,
            &mut filling.slab,
            index % cz,
            c.chunks,
            [h, w],
            c.bytes,
        );
        if !c.ends_row(index) {
            self.filling = Some(filling);
            return Ok(None);
        }
        Ok(Some(filling))
    }

    /// A buffer for chunk row `row`: one back from the writer, or a new one ([`SLAB_BUFFERS`]
    /// at most while the writer has jobs). Waiting for the writer's jobs one by one, up to the
    /// one that gives a buffer back, rather than for all of them, keeps the cascade filling the
    /// next row while the row just handed over is compressed (the warm build of a 1 GiB stack:
    /// 2.51 s waiting for all, about 2.1 s one by one).
    fn buffer(&mut self, row: usize, mut wait: impl FnMut() -> Result<bool>) -> Result<Vec<u8>> {
        let mut buffer = self.returned.1.try_recv().ok();
        while buffer.is_none() && self.buffers >= SLAB_BUFFERS && wait()? {
            buffer = self.returned.1.try_recv().ok();
        }
        Ok(match buffer {
            Some(mut used) => {
                self.zero_missing_planes(&mut used, row);
                used
            }
            None => {
                self.buffers += 1;
                // Zeroed by the allocator (fresh pages), not by a pass over it; backed by huge
                // pages where the system has them (a build's page faults 97k -> 24k; journaled
                // ext4, 1 GiB stack: warm 1.95 -> 1.84 s, cold 2.37 -> 2.04 s).
                let mut fresh = vec![0; self.chunking.slab_bytes()];
                crate::platform::advise_huge_pages(&mut fresh);
                fresh
            }
        })
    }

    /// Every slice of a row overwrites its pixels, and nothing ever writes the edge chunks'
    /// padding: in a used buffer, only the planes a last, partial row lacks still hold an
    /// earlier row's, and go back to the fill value.
    fn zero_missing_planes(&self, used: &mut [u8], row: usize) {
        let c = &self.chunking;
        let cz = c.chunks[0];
        let planes = c.shape[0].saturating_sub(row * cz);
        if planes < cz {
            let chunk = c.chunk_bytes();
            let tail = planes * (chunk / cz);
            used.chunks_mut(chunk).for_each(|c| c[tail..].fill(0));
        }
    }
}

/// The rows of a slice to store, as bytes in native order.
pub(super) trait Rows: Sync {
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
pub(super) struct Packed<'a> {
    pub(super) pixels: &'a [u8],
    pub(super) row: usize,
}

impl Rows for Packed<'_> {
    type Scratch = ();
    fn row<'s>(&'s self, y: usize, _: &'s mut ()) -> &'s [u8] {
        &self.pixels[y * self.row..(y + 1) * self.row]
    }
}

/// Copies plane `z` of a chunk row into the chunk-ordered slab (see
/// [`Chunking::slab_bytes`]): each row's pieces straight to their chunks, the only copy of
/// the pixels before compression; a band of chunks one chunk high per task.
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A `w x h` u8 slice whose pixel `(x, y)` is `base + y * w + x`.
    fn slice(base: u8, w: usize, h: usize) -> Vec<u8> {
        (0..w * h).map(|i| base.wrapping_add(i as u8)).collect()
    }

    /// The sample of a slab at array position `(z, y, x)` (z within the slab's row).
    fn at(c: &Chunking, slab: &[u8], [z, y, x]: [usize; 3]) -> u8 {
        let [cz, cy, cx] = c.chunks;
        let (_, gx) = c.grid();
        let chunk = (y / cy) * gx + x / cx;
        slab[chunk * c.chunk_bytes() + ((z % cz) * cy + y % cy) * cx + x % cx]
    }

    #[test]
    fn slices_land_in_their_chunks_and_rows_come_out_full() {
        // 5 slices of 7 x 5 in chunks of 2 x 2 x 3: rows of 2, 2 and 1 slices; edge chunks.
        let c = Chunking {
            shape: [5, 5, 7],
            chunks: [2, 2, 3],
            bytes: 1,
        };
        let mut slabs = Slabs::new(c);
        let back = slabs.recycler();
        let mut rows = Vec::new();
        for index in 0..5 {
            let pixels = slice(index as u8 * 50, 7, 5);
            let packed = Packed {
                pixels: &pixels,
                row: 7,
            };
            let never = || -> Result<bool> { panic!("a buffer is always back") };
            if let Some(full) = slabs.add(index, &packed, never).unwrap() {
                for z in c.slices(full.row) {
                    for (y, x) in (0..5).flat_map(|y| (0..7).map(move |x| (y, x))) {
                        let want = (z as u8 * 50).wrapping_add((y * 7 + x) as u8);
                        assert_eq!(at(&c, &full.slab, [z, y, x]), want, "{z} {y} {x}");
                    }
                }
                rows.push((full.row, full.slab.clone()));
                back.send(full.slab).unwrap();
            }
        }
        assert_eq!(rows.iter().map(|r| r.0).collect::<Vec<_>>(), [0, 1, 2]);
        assert_eq!(slabs.buffers, 1, "the buffer came back and was reused");
        // The last row (one slice) reused a buffer: its missing plane and every padding are 0.
        let (_, last) = &rows[2];
        for (i, chunk) in last.chunks(c.chunk_bytes()).enumerate() {
            let (yi, xi) = (i / 3, i % 3);
            for (n, &v) in chunk.iter().enumerate() {
                let (z, y, x) = (n / 6, n / 3 % 2, n % 3);
                let inside = z < 1 && yi * 2 + y < 5 && xi * 3 + x < 7;
                assert!(inside || v == 0, "chunk {i} sample {n}: {v}");
            }
        }
    }

    #[test]
    fn a_new_row_waits_for_a_buffer_once_two_exist() {
        let c = Chunking {
            shape: [3, 2, 2],
            chunks: [1, 2, 2],
            bytes: 2,
        };
        let mut slabs = Slabs::new(c);
        let back = slabs.recycler();
        let pixels = [0u8; 8];
        let packed = Packed {
            pixels: &pixels,
            row: 4,
        };
        let mut held = Vec::new();
        for index in 0..2 {
            let full = slabs.add(index, &packed, || Ok(false)).unwrap().unwrap();
            held.push(full.slab);
        }
        // Both buffers out: the third row waits, and the "writer" gives one back.
        let mut waited = 0;
        let full = slabs
            .add(2, &packed, || {
                waited += 1;
                back.send(held.pop().unwrap()).unwrap();
                Ok(true)
            })
            .unwrap();
        assert_eq!(waited, 1);
        assert_eq!(full.unwrap().row, 2);
        assert_eq!(slabs.buffers, SLAB_BUFFERS);
    }
}
