//! Where the pixels of an uncompressed TIFF are: read from the header, checked against the file.
//!
//! The tags are read by the `tiff` crate's decoder over a cursor on the file's bytes (the map),
//! which parses the first IFD and decodes no pixel. Everything the header claims is checked
//! against the file length here, once, so that reading rows later never goes out of bounds.

use std::io::Cursor;
use std::path::Path;

use tiff::decoder::{ChunkType, Decoder};
use tiff::tags::{ByteOrder, CompressionMethod, PhotometricInterpretation, SampleFormat, Tag};
use tiff::{TiffError, TiffFormatError};

use crate::error::{Error, Result};

/// Pixel depth of a slice; the pyramid keeps the input's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Depth {
    U8,
    U16,
}

impl Depth {
    pub fn bytes(self) -> usize {
        match self {
            Depth::U8 => 1,
            Depth::U16 => 2,
        }
    }

    pub fn bits(self) -> u16 {
        8 * self.bytes() as u16
    }
}

impl std::fmt::Display for Depth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-bit", self.bits())
    }
}

/// The pixel layout of one uncompressed, single-sample, stripped TIFF image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SliceLayout {
    pub width: usize,
    pub height: usize,
    pub depth: Depth,
    pub big_endian: bool,
    pub rows_per_strip: usize,
    /// Byte offset of each strip, each checked to hold its rows inside the file.
    pub strip_offsets: Vec<usize>,
}

impl SliceLayout {
    /// Reads and checks the first image's header of a TIFF file whose bytes are `bytes`.
    pub fn parse(path: &Path, bytes: &[u8]) -> Result<SliceLayout> {
        let bad = |reason: String| Error::bad_input(path, reason);
        let mut dec = Decoder::new(Cursor::new(bytes)).map_err(|e| bad(header_error(e)))?;
        let tiff_err = |e: TiffError| Error::bad_input(path, header_error(e));

        let (width, height) = dec.dimensions().map_err(tiff_err)?;
        let samples: u16 = dec
            .find_tag_unsigned(Tag::SamplesPerPixel)
            .map_err(tiff_err)?
            .unwrap_or(1);
        if samples != 1 {
            return Err(bad(format!(
                "unsupported: {samples} samples per pixel (RGB or similar); \
                 ctpyramid reads single-channel grayscale slices"
            )));
        }
        let format = dec
            .find_tag_unsigned::<u16>(Tag::SampleFormat)
            .map_err(tiff_err)?
            .map_or(SampleFormat::Uint, SampleFormat::from_u16_exhaustive);
        if format != SampleFormat::Uint {
            let name = match format {
                SampleFormat::Int => "signed integer".to_string(),
                SampleFormat::IEEEFP => "floating point".to_string(),
                other => format!("{other:?}"),
            };
            return Err(bad(format!(
                "unsupported sample format: {name}; ctpyramid reads unsigned 8- and 16-bit slices"
            )));
        }
        let bits: u16 = dec
            .find_tag_unsigned(Tag::BitsPerSample)
            .map_err(tiff_err)?
            .unwrap_or(1);
        let depth = match bits {
            8 => Depth::U8,
            16 => Depth::U16,
            _ => {
                return Err(bad(format!(
                    "unsupported: {bits} bits per sample; ctpyramid reads 8- and 16-bit slices"
                )))
            }
        };
        let photometric = dec
            .find_tag_unsigned::<u16>(Tag::PhotometricInterpretation)
            .map_err(tiff_err)?
            .and_then(PhotometricInterpretation::from_u16);
        if photometric != Some(PhotometricInterpretation::BlackIsZero) {
            return Err(bad(format!(
                "unsupported photometric interpretation {photometric:?}; \
                 ctpyramid reads grayscale slices with 0 as black"
            )));
        }
        let compression = dec
            .find_tag_unsigned::<u16>(Tag::Compression)
            .map_err(tiff_err)?
            .map_or(
                CompressionMethod::None,
                CompressionMethod::from_u16_exhaustive,
            );
        if compression != CompressionMethod::None {
            return Err(bad(format!(
                "unsupported: {compression:?} compression; ctpyramid reads uncompressed TIFF"
            )));
        }
        if dec.get_chunk_type() == ChunkType::Tile {
            return Err(bad(
                "unsupported: tiled TIFF; ctpyramid reads TIFF stored in strips".into(),
            ));
        }

        let (width, height) = (width as usize, height as usize);
        let rows_per_strip = dec
            .find_tag_unsigned::<u64>(Tag::RowsPerStrip)
            .map_err(tiff_err)?
            .map_or(height, |r| r.min(height as u64) as usize);
        if rows_per_strip == 0 {
            return Err(bad("invalid TIFF: RowsPerStrip is 0".into()));
        }
        let offsets = dec.get_tag_u64_vec(Tag::StripOffsets).map_err(tiff_err)?;
        let counts = dec
            .get_tag_u64_vec(Tag::StripByteCounts)
            .map_err(tiff_err)?;
        let strips = height.div_ceil(rows_per_strip);
        if offsets.len() != strips || counts.len() != strips {
            return Err(bad(format!(
                "invalid TIFF: {} strip offsets and {} strip byte counts for {strips} strips \
                 of {rows_per_strip} rows",
                offsets.len(),
                counts.len()
            )));
        }

        let row_bytes = width
            .checked_mul(depth.bytes())
            .ok_or_else(|| bad(format!("invalid TIFF: width {width} is too large")))?;
        let mut strip_offsets = Vec::with_capacity(strips);
        for (s, (&offset, &count)) in offsets.iter().zip(&counts).enumerate() {
            let rows = rows_per_strip.min(height - s * rows_per_strip);
            // Never more than the file length if it passes the check below, so no overflow.
            let need = rows as u64 * row_bytes as u64;
            if count < need {
                return Err(bad(format!(
                    "strip {s} holds {count} bytes but its {rows} rows need {need}"
                )));
            }
            let end = offset.saturating_add(need);
            if end > bytes.len() as u64 {
                return Err(bad(format!(
                    "strip {s} (offset {offset}, {need} bytes) runs past the end of the file \
                     ({} bytes): truncated or damaged",
                    bytes.len()
                )));
            }
            strip_offsets.push(offset as usize);
        }

        Ok(SliceLayout {
            width,
            height,
            depth,
            big_endian: dec.byte_order() == ByteOrder::BigEndian,
            rows_per_strip,
            strip_offsets,
        })
    }

    pub fn row_bytes(&self) -> usize {
        self.width * self.depth.bytes()
    }

    /// Byte offset of row `y` in the file; in bounds by construction for `y < height`.
    #[inline]
    pub fn row_offset(&self, y: usize) -> usize {
        let strip = y / self.rows_per_strip;
        self.strip_offsets[strip] + (y - strip * self.rows_per_strip) * self.row_bytes()
    }

    /// Total pixel bytes; what is read of the file.
    pub fn pixel_bytes(&self) -> usize {
        self.row_bytes() * self.height
    }

    /// "2048x2048 16-bit", for messages.
    pub fn describe(&self) -> String {
        format!("{}x{} {}", self.width, self.height, self.depth)
    }
}

fn header_error(e: TiffError) -> String {
    match e {
        TiffError::FormatError(TiffFormatError::TiffSignatureNotFound)
        | TiffError::FormatError(TiffFormatError::TiffSignatureInvalid) => {
            "not a TIFF file (no II*/MM* signature)".into()
        }
        TiffError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            "TIFF header runs past the end of the file: truncated or damaged".into()
        }
        TiffError::UnsupportedError(u) => format!("unsupported TIFF: {u}"),
        other => format!("invalid TIFF header: {other}"),
    }
}
