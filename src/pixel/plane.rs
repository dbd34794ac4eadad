//! Row `y` of a slice, wherever its bytes are: the one place that answers that question.
//!
//! Rows are handed out as `&[T]` pointing straight into the slice's bytes (the read-only map
//! of an input file, a decoded buffer, or the map of an output file for the next level)
//! whenever they hold one gray sample a pixel in the machine's byte order, aligned for `T`.
//! Otherwise (big-endian files, strips at odd offsets as ImageJ writes them, palettes, color)
//! only the row asked for is converted, into a caller's scratch row.

use std::marker::PhantomData;
use std::ops::Range;

use super::layout::{Encoding, SliceLayout};
use super::sample::Sample;

/// A read-only view of one slice's pixels as `T` (the slice's depth).
#[derive(Clone, Copy)]
pub struct Plane<'a, T> {
    bytes: &'a [u8],
    layout: &'a SliceLayout,
    /// Rows are native gray samples: borrowed in place where aligned.
    native_gray: bool,
    _sample: PhantomData<T>,
}

impl<'a, T: Sample> Plane<'a, T> {
    /// `layout` was checked against `bytes` ([`SliceLayout::check`]): every row is in bounds.
    pub fn new(bytes: &'a [u8], layout: &'a SliceLayout) -> Self {
        debug_assert_eq!(T::DEPTH, layout.depth);
        let native_gray = match layout.encoding {
            Encoding::Gray {
                big_endian,
                samples: 1,
            } => T::DEPTH.bytes() == 1 || big_endian == cfg!(target_endian = "big"),
            _ => false,
        };
        Plane {
            bytes,
            layout,
            native_gray,
            _sample: PhantomData,
        }
    }

    pub fn width(&self) -> usize {
        self.layout.width
    }

    pub fn height(&self) -> usize {
        self.layout.height
    }

    /// Row `y` (`y < height`): borrowed from the bytes when possible, else converted into
    /// `scratch`, which is reused from call to call so no row allocates after the first.
    #[inline]
    pub fn row<'s>(&self, y: usize, scratch: &'s mut Vec<T>) -> &'s [T]
    where
        'a: 's,
    {
        let start = self.layout.row_offset(y);
        self.samples(&self.bytes[start..start + self.layout.row_bytes()], scratch)
    }

    /// Pixels `columns` of row `y` (`columns.end <= width`), as [`Plane::row`] gives the whole
    /// row: when the row is converted, only these pixels are (a store's chunk columns).
    #[inline]
    pub fn row_part<'s>(&self, y: usize, columns: Range<usize>, scratch: &'s mut Vec<T>) -> &'s [T]
    where
        'a: 's,
    {
        let pixel = self.layout.encoding.pixel_bytes(self.layout.depth);
        let start = self.layout.row_offset(y);
        let bytes = &self.bytes[start + columns.start * pixel..start + columns.end * pixel];
        self.samples(bytes, scratch)
    }

    /// The samples of `bytes` (whole pixels of this plane's encoding): borrowed when they are
    /// native gray and aligned, else converted into `scratch`.
    #[inline]
    fn samples<'s>(&self, bytes: &'s [u8], scratch: &'s mut Vec<T>) -> &'s [T] {
        if self.native_gray {
            if let Ok(row) = bytemuck::try_cast_slice(bytes) {
                return row;
            }
        }
        let size = std::mem::size_of::<T>();
        scratch.clear();
        match &self.layout.encoding {
            &Encoding::Gray {
                big_endian,
                samples,
            } => scratch.extend(
                bytes
                    .chunks_exact(samples * size)
                    .map(|px| T::from_bytes(px, big_endian)),
            ),
            &Encoding::Rgb {
                big_endian,
                samples,
                bgr,
            } => scratch.extend(bytes.chunks_exact(samples * size).map(|px| {
                let c = |i: usize| T::from_bytes(&px[i * size..], big_endian);
                match bgr {
                    true => T::luma(c(2), c(1), c(0)),
                    false => T::luma(c(0), c(1), c(2)),
                }
            })),
            Encoding::Palette(table) => scratch.extend(
                bytes
                    .iter()
                    .map(|&i| T::from_palette(table[usize::from(i)])),
            ),
        }
        scratch
    }

    /// Why rows are converted rather than borrowed; `None` on the zero-copy path.
    pub fn conversion(&self) -> Option<&'static str> {
        match &self.layout.encoding {
            _ if self.native_gray => {
                let align = std::mem::align_of::<T>();
                let base = self.bytes.as_ptr() as usize;
                let aligned = self
                    .layout
                    .strip_offsets
                    .iter()
                    .all(|&o| (base + o).is_multiple_of(align));
                (!aligned).then_some("strips at odd offsets: rows copied")
            }
            Encoding::Gray { samples: 1, .. } => Some("big-endian: rows byte-swapped"),
            Encoding::Gray { .. } => Some("gray with alpha: gray samples gathered"),
            Encoding::Rgb { .. } => Some("color: rows converted to gray"),
            Encoding::Palette(_) => Some("palette: rows looked up"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pixel::Depth;

    fn layout(offset: usize, encoding: Encoding) -> SliceLayout {
        SliceLayout {
            width: 2,
            height: 2,
            depth: Depth::U16,
            encoding,
            rows_per_strip: 1,
            strip_offsets: vec![offset, offset + 4],
        }
    }

    #[test]
    fn big_endian_rows_are_swapped() {
        let bytes = [0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08];
        let l = layout(
            0,
            Encoding::Gray {
                big_endian: true,
                samples: 1,
            },
        );
        let plane = Plane::<u16>::new(&bytes, &l);
        let mut scratch = Vec::new();
        assert_eq!(plane.row(1, &mut scratch), [0x0506, 0x0708]);
        assert!(plane.conversion().is_some());
    }

    #[test]
    fn odd_offsets_are_copied_not_misread() {
        // An aligned buffer (u16-backed) whose rows start at the odd offset 1.
        let mut backing = [0u16; 5];
        let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut backing);
        bytes[1..9].copy_from_slice(&[0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08]);
        let l = layout(
            1,
            Encoding::Gray {
                big_endian: false,
                samples: 1,
            },
        );
        let plane = Plane::<u16>::new(bytes, &l);
        let mut scratch = Vec::new();
        assert_eq!(plane.row(0, &mut scratch), [0x0201, 0x0403]);
        assert_eq!(plane.row(1, &mut scratch), [0x0605, 0x0807]);
        assert!(plane.conversion().is_some());
    }

    #[test]
    fn color_uses_image_crate_luma() {
        // One BGR pixel per row, padded to 4 bytes as BMP rows are.
        let bytes = [10u8, 20, 30, 0, 255, 255, 255, 0];
        let l = SliceLayout {
            width: 1,
            height: 2,
            depth: Depth::U8,
            encoding: Encoding::Rgb {
                big_endian: false,
                samples: 3,
                bgr: true,
            },
            rows_per_strip: 1,
            strip_offsets: vec![0, 4],
        };
        let plane = Plane::<u8>::new(&bytes, &l);
        let mut scratch = Vec::new();
        // (2126*30 + 7152*20 + 722*10) / 10000 = 21.4 -> 21
        assert_eq!(plane.row(0, &mut scratch), [21]);
        assert_eq!(plane.row(1, &mut scratch), [255]);
    }

    #[test]
    fn a_part_of_a_row_is_those_columns_borrowed_or_converted() {
        // Three pixels a row: big-endian (converted) and little-endian (borrowed).
        let bytes = [
            0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0C,
        ];
        let mut backing = [0u16; 6];
        bytemuck::cast_slice_mut::<u16, u8>(&mut backing).copy_from_slice(&bytes);
        let aligned: &[u8] = bytemuck::cast_slice(&backing);
        for big_endian in [true, false] {
            let l = SliceLayout {
                width: 3,
                height: 2,
                depth: Depth::U16,
                encoding: Encoding::Gray {
                    big_endian,
                    samples: 1,
                },
                rows_per_strip: 1,
                strip_offsets: vec![0, 6],
            };
            let plane = Plane::<u16>::new(aligned, &l);
            let mut scratch = Vec::new();
            let want: [u16; 2] = match big_endian {
                true => [0x090A, 0x0B0C],
                false => [0x0A09, 0x0C0B],
            };
            assert_eq!(plane.row_part(1, 1..3, &mut scratch), want);
            assert_eq!(plane.row_part(0, 0..1, &mut scratch).len(), 1);
        }
    }
}
