//! Row `y` of a slice, wherever its bytes are: the one place that answers that question.
//!
//! Rows are handed out as `&[T]` pointing straight into the slice's bytes (a read-only map of
//! an input file, or the map of an output file for the next level) whenever the bytes are in the
//! machine's byte order and aligned for `T`. Otherwise (big-endian files, strips at odd offsets
//! as ImageJ writes them) only the row asked for is converted, into a caller's scratch row.

use std::marker::PhantomData;

use crate::kernel::Sample;
use crate::layout::SliceLayout;

#[derive(Clone, Copy)]
enum Rows<'a> {
    /// Row `y` starts at `base + y * row_bytes`: our own output files.
    Contiguous { base: usize },
    /// Rows grouped in strips that may sit anywhere in the file.
    Strips(&'a SliceLayout),
}

/// A read-only view of one slice's pixels of type `T`.
#[derive(Clone, Copy)]
pub struct Plane<'a, T> {
    bytes: &'a [u8],
    rows: Rows<'a>,
    width: usize,
    height: usize,
    big_endian: bool,
    /// The bytes are in the machine's byte order (always so for 8-bit samples).
    native: bool,
    _sample: PhantomData<T>,
}

impl<'a, T: Sample> Plane<'a, T> {
    /// A slice file's pixels as its header describes them. `layout` was checked against
    /// `bytes` by [`SliceLayout::parse`], so every row is in bounds.
    pub fn from_layout(bytes: &'a [u8], layout: &'a SliceLayout) -> Self {
        debug_assert_eq!(usize::from(T::BITS), layout.depth.bits() as usize);
        Plane {
            bytes,
            rows: Rows::Strips(layout),
            width: layout.width,
            height: layout.height,
            big_endian: layout.big_endian,
            native: T::BITS == 8 || layout.big_endian == cfg!(target_endian = "big"),
            _sample: PhantomData,
        }
    }

    /// Pixels stored row after row from `base`, in the machine's byte order.
    /// `bytes` must hold `height` rows of `width` samples from `base`.
    pub fn contiguous(bytes: &'a [u8], base: usize, width: usize, height: usize) -> Self {
        debug_assert!(base + width * height * std::mem::size_of::<T>() <= bytes.len());
        Plane {
            bytes,
            rows: Rows::Contiguous { base },
            width,
            height,
            big_endian: cfg!(target_endian = "big"),
            native: true,
            _sample: PhantomData,
        }
    }

    pub fn width(&self) -> usize {
        self.width
    }

    pub fn height(&self) -> usize {
        self.height
    }

    fn row_bytes(&self, y: usize) -> &'a [u8] {
        let len = self.width * std::mem::size_of::<T>();
        let start = match self.rows {
            Rows::Contiguous { base } => base + y * len,
            Rows::Strips(layout) => layout.row_offset(y),
        };
        &self.bytes[start..start + len]
    }

    /// Row `y` (`y < height`): borrowed from the bytes when possible, else decoded into
    /// `scratch`, which is reused from call to call so no row allocates after the first.
    #[inline]
    pub fn row<'s>(&self, y: usize, scratch: &'s mut Vec<T>) -> &'s [T]
    where
        'a: 's,
    {
        let bytes = self.row_bytes(y);
        if self.native {
            if let Ok(row) = bytemuck::try_cast_slice(bytes) {
                return row;
            }
        }
        let big_endian = self.big_endian;
        scratch.clear();
        scratch.extend(
            bytes
                .chunks_exact(std::mem::size_of::<T>())
                .map(|b| T::from_bytes(b, big_endian)),
        );
        scratch
    }

    /// Whether [`Plane::row`] borrows every row without converting: the zero-copy path.
    pub fn is_zero_copy(&self) -> bool {
        self.native
            && match self.rows {
                Rows::Contiguous { base } => self.aligned(base),
                Rows::Strips(layout) => layout.strip_offsets.iter().all(|&o| self.aligned(o)),
            }
    }

    fn aligned(&self, offset: usize) -> bool {
        (self.bytes.as_ptr() as usize + offset) % std::mem::align_of::<T>() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::Depth;

    fn layout(offset: usize, big_endian: bool) -> SliceLayout {
        SliceLayout {
            width: 2,
            height: 2,
            depth: Depth::U16,
            big_endian,
            rows_per_strip: 1,
            strip_offsets: vec![offset, offset + 4],
        }
    }

    #[test]
    fn big_endian_rows_are_swapped() {
        let bytes = [0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08];
        let l = layout(0, true);
        let plane = Plane::<u16>::from_layout(&bytes, &l);
        let mut scratch = Vec::new();
        assert_eq!(plane.row(1, &mut scratch), [0x0506, 0x0708]);
        assert!(!plane.is_zero_copy());
    }

    #[test]
    fn odd_offsets_are_copied_not_misread() {
        // An aligned buffer (u16-backed) whose rows start at the odd offset 1.
        let mut backing = [0u16; 5];
        let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut backing);
        bytes[1..9].copy_from_slice(&[0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08]);
        let l = layout(1, false);
        let plane = Plane::<u16>::from_layout(bytes, &l);
        assert!(!plane.is_zero_copy());
        let mut scratch = Vec::new();
        assert_eq!(plane.row(0, &mut scratch), [0x0201, 0x0403]);
        assert_eq!(plane.row(1, &mut scratch), [0x0605, 0x0807]);
    }
}
