//! Reading a box slice by slice, in slice order: each slice opened with its header alone
//! where its pixels are stored plainly, the band of rows of the box brought into the page
//! cache as `cat` reads files (a box a tenth of the height reads a tenth of each file), and
//! the box's rows copied, their columns only, straight into the caller's buffer, rows
//! spread over the cores. Compressed, tiled, PNG and JPEG slices are decoded whole, as in a
//! build.

use std::ops::Range;

use rayon::prelude::*;

use super::level::{Located, Slices};
use crate::error::{Error, Result};
use crate::input::stack::SliceReader;
use crate::input::{ReadMode, ReadPath, SliceFile};
use crate::output::ome_zarr::StoreLevel;
use crate::pixel::{Depth, Plane, Sample};
use crate::region::Region;

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
    source: Source<'a>,
    pub counts: Counts,
}

/// Where the slices are read from.
enum Source<'a> {
    Files {
        /// Headers only: slices whose pixels are stored plainly are read from their maps.
        prober: SliceReader<'a>,
        /// Slices decoded (or read whole into a buffer, with `ReadMode::Buffered`).
        decoder: SliceReader<'a>,
        whole: bool,
    },
    /// A level of an OME-Zarr store, a chunk row of the box decoded at a time.
    Store(StoreLevel),
}

impl<'a> BoxReader<'a> {
    pub fn new(located: &'a Located, reader: ReadMode) -> Result<Self> {
        let source = match &located.slices {
            Slices::Stack(stack) => Source::Files {
                prober: stack.prober(),
                decoder: stack.reader_with(reader),
                whole: reader == ReadMode::Buffered,
            },
            Slices::Store(root) => Source::Store(StoreLevel::open(root, located.level)?),
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
        let region = &self.located.region;
        let expected = region.slice_pixels() * self.located.depth.bytes();
        let Some(out) = out.get_mut(..expected) else {
            return Err(Error::Internal(format!(
                "a box slice of {expected} bytes, given fewer"
            )));
        };
        let (prober, decoder, whole) = match &mut self.source {
            Source::Files {
                prober,
                decoder,
                whole,
            } => (prober, decoder, *whole),
            Source::Store(store) => {
                out.copy_from_slice(store.slice(z, &region.z, [&region.y, &region.x])?);
                let c = &mut self.counts;
                (c.slices_read, c.decoded_slices) = (c.slices_read + 1, c.decoded_slices + 1);
                c.bytes_read += expected as u64;
                return Ok(());
            }
        };
        let mut slice = prober.open(z)?;
        if whole || !slice.has_pixels() {
            drop(slice);
            slice = decoder.open(z)?;
        }
        self.check(&slice)?;
        let c = &mut self.counts;
        c.file_bytes += slice.layout().pixel_bytes() as u64;
        match slice.read_path() {
            ReadPath::Decoded(_) => {
                c.decoded_slices += 1;
                c.file_bytes_read += std::fs::metadata(slice.path()).map_or(0, |m| m.len());
            }
            path => {
                c.zero_copy_slices += usize::from(path == ReadPath::ZeroCopy);
                slice.bring_in_rows(region.y.clone());
                c.file_bytes_read += slice.row_bytes(region.y.clone()).len() as u64;
            }
        }
        let expected = region.slice_pixels() * self.located.depth.bytes();
        let Some(out) = out.get_mut(..expected) else {
            return Err(Error::Internal(format!(
                "a box slice of {expected} bytes, given fewer"
            )));
        };
        match self.located.depth {
            Depth::U8 => copy_box::<u8>(&slice.plane(), region, out),
            Depth::U16 => copy_box::<u16>(&slice.plane(), region, as_samples(out)?),
        }
        c.slices_read += 1;
        c.bytes_read += expected as u64;
        Ok(())
    }

    /// A slice of another size or sample type than the level's is refused, naming it: level 0
    /// as a build refuses it (against the first slice), a level's file against the level.
    fn check(&self, slice: &SliceFile) -> Result<()> {
        let located = self.located;
        if located.level == 0 {
            return slice.check_matches(&located.prepared.first);
        }
        let l = slice.layout();
        let [w, h, _] = located.size;
        if (l.width, l.height, l.depth) != (w, h, located.depth) {
            return Err(Error::bad_input(
                slice.path(),
                format!(
                    "is {}, and level {} is {w}x{h} {}: the pyramid was changed by another \
                     program",
                    l.describe(),
                    located.level,
                    located.depth
                ),
            ));
        }
        Ok(())
    }
}

/// `bytes` as samples: buffers of the library and numpy arrays are aligned to them.
fn as_samples<T: Sample>(bytes: &mut [u8]) -> Result<&mut [T]> {
    bytemuck::try_cast_slice_mut(bytes)
        .map_err(|_| Error::invalid("out", "(buffer)", "not aligned to its sample type"))
}

/// The box's rows of `plane`, columns `region.x` of rows `region.y`, into `out`, rows spread
/// over the cores (about 64 KiB a task).
fn copy_box<T: Sample>(plane: &Plane<T>, region: &Region, out: &mut [T]) {
    let width = region.x.len();
    let per_task = (64 << 10) / (width * std::mem::size_of::<T>()).max(1);
    let x: Range<usize> = region.x.clone();
    out.par_chunks_mut(width)
        .zip(region.y.clone().into_par_iter())
        .with_min_len(per_task.max(1))
        .for_each_init(Vec::new, |scratch, (row, y)| {
            row.copy_from_slice(plane.row_span(y, x.clone(), scratch));
        });
}
