//! Where a slice's pixels are in its bytes, and how a pixel's bytes become a gray value.
//!
//! Every reader (TIFF strips, BMP rows, a decoded buffer) describes its slice with a
//! [`SliceLayout`]; [`SliceLayout::check`] then proves once that every row lies inside the
//! bytes, so that reading rows later never goes out of bounds.

use super::sample::Depth;

/// How the bytes of one pixel give its gray value (of the slice's [`Depth`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// `samples` samples a pixel of which the first is the gray value (2: gray + alpha).
    Gray { big_endian: bool, samples: usize },
    /// Color, made gray as CTHarvester's `image` crate does: `(2126 R + 7152 G + 722 B) / 10000`,
    /// truncated; a fourth sample (alpha) is ignored. `bgr` for BMP's blue-first order.
    Rgb {
        big_endian: bool,
        samples: usize,
        bgr: bool,
    },
    /// 8-bit indices into a table of gray values (a BMP palette, already made gray).
    Palette(Box<[u8; 256]>),
}

impl Encoding {
    /// The plain case: one native-order gray sample a pixel, which rows can borrow in place.
    pub fn native_gray() -> Encoding {
        Encoding::Gray {
            big_endian: cfg!(target_endian = "big"),
            samples: 1,
        }
    }

    /// Bytes of one stored pixel.
    pub fn pixel_bytes(&self, depth: Depth) -> usize {
        match self {
            Encoding::Gray { samples, .. } | Encoding::Rgb { samples, .. } => {
                samples * depth.bytes()
            }
            Encoding::Palette(_) => 1,
        }
    }
}

/// The pixel layout of one slice inside its bytes: rows grouped in strips that may sit
/// anywhere, in any order (BMP stores rows bottom-up: one strip a row, offsets descending).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SliceLayout {
    pub width: usize,
    pub height: usize,
    pub depth: Depth,
    pub encoding: Encoding,
    pub rows_per_strip: usize,
    /// Byte offset of each strip's first row.
    pub strip_offsets: Vec<usize>,
}

impl SliceLayout {
    /// A slice stored row after row from offset 0 in native gray: a decoded buffer.
    pub fn contiguous(width: usize, height: usize, depth: Depth, encoding: Encoding) -> Self {
        SliceLayout {
            width,
            height,
            depth,
            encoding,
            rows_per_strip: height.max(1),
            strip_offsets: vec![0],
        }
    }

    /// Checks that the layout is consistent and every row lies within `len` bytes.
    /// The reason, on failure, is a message for the user.
    pub fn check(&self, len: usize) -> Result<(), String> {
        if self.width == 0 || self.height == 0 {
            return Err(format!("empty image ({}x{})", self.width, self.height));
        }
        if self.rows_per_strip == 0 {
            return Err("invalid: 0 rows per strip".into());
        }
        let strips = self.height.div_ceil(self.rows_per_strip);
        if self.strip_offsets.len() != strips {
            return Err(format!(
                "invalid: {} strip offsets for {strips} strips of {} rows",
                self.strip_offsets.len(),
                self.rows_per_strip
            ));
        }
        let row_bytes = self
            .row_bytes_checked()
            .ok_or("invalid: image width too large")?;
        for (s, &offset) in self.strip_offsets.iter().enumerate() {
            let rows = self
                .rows_per_strip
                .min(self.height - s * self.rows_per_strip);
            let need = rows as u64 * row_bytes as u64;
            if (offset as u64).saturating_add(need) > len as u64 {
                return Err(format!(
                    "strip {s} (offset {offset}, {need} bytes) runs past the end of the file \
                     ({len} bytes): truncated or damaged"
                ));
            }
        }
        Ok(())
    }

    fn row_bytes_checked(&self) -> Option<usize> {
        self.width
            .checked_mul(self.encoding.pixel_bytes(self.depth))
    }

    /// Stored bytes of one row (not counting padding between rows).
    pub fn row_bytes(&self) -> usize {
        self.width * self.encoding.pixel_bytes(self.depth)
    }

    /// Byte offset of row `y`; in bounds for `y < height` once [`SliceLayout::check`] passed.
    #[inline]
    pub fn row_offset(&self, y: usize) -> usize {
        let strip = y / self.rows_per_strip;
        self.strip_offsets[strip] + (y - strip * self.rows_per_strip) * self.row_bytes()
    }

    /// Stored pixel bytes: what is read of the file.
    pub fn pixel_bytes(&self) -> usize {
        self.row_bytes() * self.height
    }

    /// "2048x2048 16-bit", for messages.
    pub fn describe(&self) -> String {
        format!("{}x{} {}", self.width, self.height, self.depth)
    }
}
