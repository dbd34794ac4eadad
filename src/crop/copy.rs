//! Reading a box slice by slice, in slice order: each slice opened with its header alone
//! where its pixels are stored plainly, the band of rows of the box brought into the page
//! cache as `cat` reads files (a box a tenth of the height reads a tenth of each file), and
//! the box's rows copied, their columns only, straight into the caller's buffer, rows
//! spread over the cores. Compressed, tiled, PNG and JPEG slices are decoded whole, as in a
//! build.

use rayon::prelude::*;

use super::level::{Located, Slices};
use crate::error::{Error, Result};
use crate::input::stack::Opener;
use crate::input::{ReadMode, ReadPath, SliceFile};
use crate::output::ome_zarr::StoreLevel;
use crate::pixel::{Plane, Sample};

/// What was read, for the summary.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Counts {
    pub slices_read: usize,
    pub bytes_read: u64,
    pub file_bytes_read: u64,
    pub file_bytes: u64,
    pub zero_copy_slices: usize,
    pub decoded_slices: usize,
}

/// Copies the box of each slice of a located level, slices asked for in ascending order.
pub(crate) struct BoxReader<'a> {
    located: &'a Located,
    source: Source,
    pub counts: Counts,
}

/// Where the slices are read from.
enum Source {
    /// The box's slices as a stack of their own (a view of the level's files or pages),
    /// opened ahead on a thread of their own: the next band is read from disk while this
    /// one is copied.
    Files(Opener),
    /// A level of an OME-Zarr store, a chunk row of the box decoded at a time.
    Store(Box<StoreLevel>),
}

impl<'a> BoxReader<'a> {
    /// A reader of the box's slices `order` (ascending, slices of the level), which
    /// [`BoxReader::read`] must then ask for in that order.
    pub fn new(located: &'a Located, reader: ReadMode, order: &[usize]) -> Result<Self> {
        let source = match &located.slices {
            Slices::Stack(stack) => {
                let first = located.region.z.start;
                let order: Vec<usize> = order.iter().map(|z| z - first).collect();
                Source::Files(stack.opener(&order, reader)?)
            }
            Slices::Store(root) => Source::Store(Box::new(StoreLevel::open(root, located.level)?)),
        };
        Ok(BoxReader {
            located,
            source,
            counts: Counts::default(),
        })
    }

    /// Copies slice `z` of the level (within the box's slices), its rows of the box and of
    /// those their columns, into `out`: native-order samples, `x.len()` a row.
    pub fn read(&mut self, z: usize, out: &mut [u8]) -> Result<()> {
        let expected = self.located.region.slice_pixels() * self.located.depth.bytes();
        let Some(out) = out.get_mut(..expected) else {
            return Err(Error::Internal(format!(
                "a box slice of {expected} bytes, given fewer"
            )));
        };
        let depth = self.located.depth;
        match self.next(z)? {
            BoxSlice::Stored(samples) => out.copy_from_slice(samples),
            BoxSlice::File(slice) => {
                crate::with_sample!(depth, T => copy_rows::<T>(&slice.plane(), as_samples(out)?))
            }
        }
        Ok(())
    }

    /// Slice `z` of the level (within the box's slices), as it is read: a file's slice cut
    /// to the box, its rows read in place where they are stored plainly, or the box's
    /// samples decoded from a store.
    pub fn next(&mut self, z: usize) -> Result<BoxSlice<'_>> {
        let region = &self.located.region;
        let expected = region.slice_pixels() * self.located.depth.bytes();
        let c = &mut self.counts;
        c.slices_read += 1;
        c.bytes_read += expected as u64;
        let opener = match &mut self.source {
            Source::Files(opener) => opener,
            Source::Store(store) => {
                c.decoded_slices += 1;
                let samples = store.slice(z, &region.z, [&region.y, &region.x])?;
                return Ok(BoxSlice::Stored(samples));
            }
        };
        // A slice of another size or depth than the level's is refused, naming it.
        let Some(slice) = opener.next() else {
            return Err(Error::Internal(format!(
                "slice {z} of the box asked for, not opened"
            )));
        };
        let slice = slice?;
        match slice.read_path() {
            ReadPath::Decoded(_) => {
                // Decoded whole: its file read whole (a page of a stack: its share).
                c.decoded_slices += 1;
                let len = std::fs::metadata(slice.path()).map_or(0, |m| m.len());
                let share = len / opener_pages(&self.located.slices);
                c.file_bytes_read += share;
                c.file_bytes += share;
            }
            path => {
                c.file_bytes += full_slice_bytes(self.located) as u64;
                c.zero_copy_slices += usize::from(path == ReadPath::ZeroCopy);
                c.file_bytes_read += slice.row_bytes(0..region.y.len()).len() as u64;
            }
        }
        Ok(BoxSlice::File(Box::new(slice)))
    }
}

/// One slice of a box, as [`BoxReader::next`] reads it.
pub(crate) enum BoxSlice<'a> {
    /// The slice of a file (or a page), cut to the box: its plane's rows are the box's.
    File(Box<SliceFile>),
    /// The box's samples, native order, row after row, decoded from a store's chunks.
    Stored(&'a [u8]),
}

/// `bytes` as samples: buffers of the library and numpy arrays are aligned to them.
fn as_samples<T: Sample>(bytes: &mut [u8]) -> Result<&mut [T]> {
    bytemuck::try_cast_slice_mut(bytes)
        .map_err(|_| Error::invalid("out", "(buffer)", "not aligned to its sample type"))
}

/// The rows of a box's slice into `out`, rows spread over the cores (about 64 KiB a task).
fn copy_rows<T: Sample>(plane: &Plane<T>, out: &mut [T]) {
    let width = plane.width();
    let per_task = (64 << 10) / (width * std::mem::size_of::<T>()).max(1);
    out.par_chunks_mut(width.max(1))
        .enumerate()
        .with_min_len(per_task.max(1))
        .for_each_init(Vec::new, |scratch, (y, row)| {
            row.copy_from_slice(plane.row(y, scratch));
        });
}

/// The pages one file holds: each page of a multi-page file is its share of it.
fn opener_pages(slices: &Slices) -> u64 {
    match slices {
        Slices::Stack(crate::input::Stack::View(view)) => match &view.base {
            crate::input::Stack::Pages { pages, .. } => (*pages).max(1) as u64,
            _ => 1,
        },
        _ => 1,
    }
}

/// The stored bytes of one whole slice of the level.
fn full_slice_bytes(located: &Located) -> usize {
    match &located.slices {
        Slices::Stack(crate::input::Stack::View(view)) => {
            view.size[0] * view.size[1] * located.depth.bytes()
        }
        _ => 0,
    }
}
