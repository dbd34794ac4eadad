//! Reading slice formats: what a file is, and how its pixels are reached.
//!
//! TIFF and BMP headers are parsed into a [`SliceLayout`](crate::pixel::SliceLayout) over the
//! file's own bytes whenever the pixels are stored uncompressed; everything else is decoded
//! into a [`Buffer`](crate::pixel::Buffer) that is reused from slice to slice.

pub mod bmp;
pub mod raster;
pub mod tiff;

/// File formats, recognized by their first bytes rather than by their names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// TIFF or BigTIFF, either byte order.
    Tiff,
    /// Windows bitmap.
    Bmp,
    /// PNG.
    Png,
    /// JPEG.
    Jpeg,
}

impl Format {
    /// The format of a file that starts with `bytes`, if it is one ctpyramid reads.
    pub fn sniff(bytes: &[u8]) -> Option<Format> {
        match bytes {
            [b'I', b'I', 42 | 43, 0, ..] | [b'M', b'M', 0, 42 | 43, ..] => Some(Format::Tiff),
            [b'B', b'M', ..] => Some(Format::Bmp),
            [0x89, b'P', b'N', b'G', ..] => Some(Format::Png),
            [0xFF, 0xD8, 0xFF, ..] => Some(Format::Jpeg),
            _ => None,
        }
    }

    /// The format's name in messages.
    pub fn name(self) -> &'static str {
        match self {
            Format::Tiff => "TIFF",
            Format::Bmp => "BMP",
            Format::Png => "PNG",
            Format::Jpeg => "JPEG",
        }
    }
}
