//! TIFF: where the strips are, or else a full decode by the `tiff` crate.
//!
//! The tags are read by the `tiff` crate's decoder over a cursor on the file's bytes (the map):
//! it parses an IFD and decodes no pixel. Uncompressed strips are then read in place; anything
//! else the crate can decode (LZW, Deflate, PackBits, JPEG, predictors, tiles) is decoded into a
//! reused buffer, with the same pixels as a result.

use std::io::{Cursor, Read, Seek};
use std::path::Path;

use tiff::decoder::ifd::Value;
use tiff::decoder::{ChunkType, Decoder, Limits};
use tiff::tags::{ByteOrder, CompressionMethod, PlanarConfiguration, SampleFormat, Tag};
use tiff::{ColorType, TiffError, TiffFormatError};

use crate::error::{Error, Result};
use crate::input::voxel::FileScale;
use crate::pixel::Buffer;
use crate::pixel::{Depth, Encoding, Kind, SliceLayout};

/// How an image of a TIFF file can be read.
pub enum TiffRead {
    /// Uncompressed strips: rows are read in place.
    Mapped(SliceLayout),
    /// Must be decoded, for the reason given ("LZW compression", "tiled").
    Decode { reason: String },
}

/// A decoder on the first image of the TIFF in `bytes`.
pub fn open<B: AsRef<[u8]>>(path: &Path, bytes: B) -> Result<Decoder<Cursor<B>>> {
    // Images are decoded into our own buffer (`read_image_bytes`, which the crate's image
    // limit does not apply to), so the crate's limits bound only what it allocates itself:
    // tag values (a count the header claims) and one compressed chunk, which cannot be
    // longer than the file.
    let file_len = bytes.as_ref().len();
    let mut limits = Limits::default();
    limits.decoding_buffer_size = 16 << 20;
    limits.ifd_value_size = 16 << 20;
    limits.intermediate_buffer_size = file_len.clamp(1 << 20, 1 << 30);
    Decoder::new(Cursor::new(bytes))
        .map(|d| d.with_limits(limits))
        .map_err(|e| Error::bad_input(path, header_error(e)))
}

/// The header facts that decide how the image is read, common to both paths.
struct Header {
    width: usize,
    height: usize,
    depth: Depth,
    encoding: Encoding,
}

fn header<R: Read + Seek>(dec: &mut Decoder<R>) -> Result<Header, String> {
    let (width, height) = dec.dimensions().map_err(header_error)?;
    // One value a sample (libtiff writes three for RGB): the first says it.
    let format = dec
        .find_tag(Tag::SampleFormat)
        .map_err(header_error)?
        .map(|v| v.into_u16_vec().map_err(header_error))
        .transpose()?
        .and_then(|v| v.first().copied())
        .map_or(SampleFormat::Uint, SampleFormat::from_u16_exhaustive);
    let kind = match format {
        SampleFormat::Uint => Kind::Unsigned,
        SampleFormat::Int => Kind::Signed,
        SampleFormat::IEEEFP => Kind::Float,
        other => return Err(unsupported_format(&format!("{other:?}"))),
    };
    let samples = usize::from(
        dec.find_tag_unsigned::<u16>(Tag::SamplesPerPixel)
            .ok()
            .flatten()
            .unwrap_or(1),
    );
    // Color is converted to gray by CTHarvester's integer formula: unsigned samples only.
    // (Checked before the crate's color type, which refuses some of these less clearly.)
    if kind != Kind::Unsigned && samples > 1 {
        return Err(format!(
            "unsupported: {samples} {} samples a pixel (color); ctpyramid reads signed and float \
             slices in gray only",
            if kind == Kind::Float {
                "float"
            } else {
                "signed"
            }
        ));
    }
    let colortype = dec
        .colortype()
        .map_err(|e| format!("unsupported TIFF: {e}"))?;
    let big_endian = dec.byte_order() == ByteOrder::BigEndian;
    let (bits, encoding) = match colortype {
        ColorType::Gray(b) | ColorType::GrayA(b) => (
            b,
            Encoding::Gray {
                big_endian,
                samples,
            },
        ),
        ColorType::RGB(b) | ColorType::RGBA(b) => (
            b,
            Encoding::Rgb {
                big_endian,
                samples,
                bgr: false,
            },
        ),
        other => {
            return Err(format!(
                "unsupported color type {other:?}; ctpyramid reads grayscale (and RGB) slices"
            ))
        }
    };
    let depth = Depth::of(kind, u16::from(bits)).map_err(|name| unsupported_format(&name))?;

    Ok(Header {
        width: width as usize,
        height: height as usize,
        depth,
        encoding,
    })
}

fn unsupported_format(name: &str) -> String {
    format!(
        "unsupported sample format: {name}; ctpyramid reads {} slices",
        Depth::READ
    )
}

/// Decides how the decoder's current image is read; `len` is the file's length.
pub fn classify<R: Read + Seek>(path: &Path, dec: &mut Decoder<R>, len: usize) -> Result<TiffRead> {
    let bad = |reason: String| Error::bad_input(path, reason);
    let tiff_err = |e: TiffError| Error::bad_input(path, header_error(e));
    let h = header(dec).map_err(bad)?;

    let compression = dec
        .find_tag_unsigned::<u16>(Tag::Compression)
        .map_err(tiff_err)?
        .map_or(
            CompressionMethod::None,
            CompressionMethod::from_u16_exhaustive,
        );
    if compression != CompressionMethod::None {
        return Ok(TiffRead::Decode {
            reason: format!("{compression:?} compression"),
        });
    }
    if dec.get_chunk_type() == ChunkType::Tile {
        return Ok(TiffRead::Decode {
            reason: "tiled".into(),
        });
    }
    let planar = dec
        .find_tag_unsigned::<u16>(Tag::PlanarConfiguration)
        .map_err(tiff_err)?
        .and_then(PlanarConfiguration::from_u16);
    if planar == Some(PlanarConfiguration::Planar)
        && h.encoding.pixel_bytes(h.depth) > h.depth.bytes()
    {
        return Err(bad("unsupported: planar (separate) color planes".into()));
    }

    let rows_per_strip = dec
        .find_tag_unsigned::<u64>(Tag::RowsPerStrip)
        .map_err(tiff_err)?
        .map_or(h.height, |r| r.min(h.height as u64) as usize);
    let offsets = dec.get_tag_u64_vec(Tag::StripOffsets).map_err(tiff_err)?;
    let counts = dec
        .get_tag_u64_vec(Tag::StripByteCounts)
        .map_err(tiff_err)?;
    if offsets.len() != counts.len() {
        return Err(bad(format!(
            "invalid TIFF: {} strip offsets but {} strip byte counts",
            offsets.len(),
            counts.len()
        )));
    }
    let layout = SliceLayout {
        width: h.width,
        height: h.height,
        depth: h.depth,
        encoding: h.encoding,
        rows_per_strip,
        strip_offsets: offsets
            .iter()
            .map(|&o| usize::try_from(o).unwrap_or(usize::MAX))
            .collect(),
    };
    layout.check(len).map_err(bad)?;
    // Strips must also say they hold their rows: a count shorter than the rows means the
    // header does not describe what we think it does.
    let row_bytes = layout.row_bytes() as u64;
    for (s, &count) in counts.iter().enumerate() {
        let rows = rows_per_strip.min(h.height - s * rows_per_strip) as u64;
        if count < rows * row_bytes {
            return Err(bad(format!(
                "strip {s} holds {count} bytes but its {rows} rows need {}",
                rows * row_bytes
            )));
        }
    }
    Ok(TiffRead::Mapped(layout))
}

/// The layout of the decoder's current image once decoded; decoded into `buffer` if one is
/// given. `file_len` bounds the size a header may claim.
pub fn decode<R: Read + Seek>(
    path: &Path,
    dec: &mut Decoder<R>,
    file_len: usize,
    buffer: Option<&mut Buffer>,
) -> Result<SliceLayout> {
    let bad = |reason: String| Error::bad_input(path, reason);
    let h = header(dec).map_err(bad)?;
    let pixel_bytes = h.encoding.pixel_bytes(h.depth);
    let len = h
        .width
        .checked_mul(h.height)
        .and_then(|n| n.checked_mul(pixel_bytes))
        .ok_or_else(|| bad(format!("image too large ({}x{})", h.width, h.height)))?;
    let preferred = dec
        .image_buffer_layout()
        .map_err(|e| bad(decode_error(e)))?;
    if preferred.planes > 1 || preferred.len != len {
        return Err(bad("unsupported: planar (separate) color planes".into()));
    }
    if let Some(buffer) = buffer {
        let bytes = buffer.decoded_bytes_mut(len, file_len).map_err(bad)?;
        dec.read_image_bytes(bytes)
            .map_err(|e| bad(decode_error(e)))?;
    }
    // The crate hands samples over in the machine's byte order.
    let encoding = match h.encoding {
        Encoding::Gray { samples, .. } => Encoding::Gray {
            big_endian: cfg!(target_endian = "big"),
            samples,
        },
        Encoding::Rgb { samples, bgr, .. } => Encoding::Rgb {
            big_endian: cfg!(target_endian = "big"),
            samples,
            bgr,
        },
        palette => palette,
    };
    Ok(SliceLayout::contiguous(
        h.width, h.height, h.depth, encoding,
    ))
}

/// What the decoder's current image says of its physical scale (see [`FileScale`]), from
/// the tags of the IFD already parsed. The scale is optional: a tag that cannot be read is
/// left out rather than failing the slice. Reads at most 4 KiB of ImageDescription (ImageJ's
/// is a few lines) and single-valued resolutions, whatever counts a header claims.
pub fn scale<R: Read + Seek>(dec: &mut Decoder<R>) -> FileScale {
    const DESCRIPTION_BYTES: usize = 4096;
    let mut description = [0u8; DESCRIPTION_BYTES];
    let imagej = match dec
        .image_ifd()
        .find_tag_bytes(Tag::ImageDescription, &mut description, 0)
    {
        Ok(Some(len)) => {
            let text = &description[..len.min(DESCRIPTION_BYTES)];
            let text = text.split(|&b| b == 0).next().unwrap_or_default();
            // ImageJ writes ASCII; a unit like µm may come as one Latin-1 byte.
            text.starts_with(b"ImageJ=")
                .then(|| match std::str::from_utf8(text) {
                    Ok(t) => t.to_string(),
                    Err(_) => text.iter().map(|&b| char::from(b)).collect(),
                })
        }
        _ => None,
    };
    let mut rational = |tag: Tag| {
        if !matches!(dec.image_ifd().find_entry(tag), Some(e) if e.count() == 1) {
            return None;
        }
        match dec.find_tag(tag) {
            Ok(Some(Value::Rational(n, d))) if d != 0 => Some(f64::from(n) / f64::from(d)),
            _ => None,
        }
    };
    let x_resolution = rational(Tag::XResolution);
    let y_resolution = rational(Tag::YResolution);
    let unit = dec
        .find_tag_unsigned::<u16>(Tag::ResolutionUnit)
        .ok()
        .flatten();
    FileScale {
        imagej,
        x_resolution,
        y_resolution,
        unit,
    }
}

/// Moves `dec` to page `page` of a multi-page file (the one after its current page), reading
/// the page's IFD only; an error names the page.
pub fn next_page<R: Read + Seek>(path: &Path, dec: &mut Decoder<R>, page: usize) -> Result<()> {
    dec.next_image()
        .map_err(|e| Error::bad_input(path, format!("page {page}: {}", header_error(e))))
}

pub fn header_error(e: TiffError) -> String {
    match e {
        TiffError::LimitsExceeded => {
            "invalid TIFF header: a tag claims more values than any slice has: damaged".into()
        }
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

fn decode_error(e: TiffError) -> String {
    match e {
        TiffError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            "compressed data runs past the end of the file: truncated or damaged".into()
        }
        other => format!("cannot decode: {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tiff::encoder::{colortype, TiffEncoder};

    /// A one-image TIFF of 4x2 pixels of color type `C` written by the `tiff` crate.
    fn tiff_of<C: colortype::ColorType>(pixels: &[C::Inner]) -> Vec<u8>
    where
        [C::Inner]: tiff::encoder::TiffValue,
    {
        let mut bytes = std::io::Cursor::new(Vec::new());
        let mut encoder = TiffEncoder::new(&mut bytes).unwrap();
        encoder.write_image::<C>(4, 2, pixels).unwrap();
        bytes.into_inner()
    }

    fn depth_of(bytes: &[u8]) -> Result<Depth, String> {
        let path = Path::new("s.tif");
        let mut dec = open(path, bytes).map_err(|e| e.to_string())?;
        match classify(path, &mut dec, bytes.len()).map_err(|e| e.to_string())? {
            TiffRead::Mapped(layout) => Ok(layout.depth),
            TiffRead::Decode { reason } => Err(reason),
        }
    }

    #[test]
    fn sample_formats_name_the_type() {
        assert_eq!(
            depth_of(&tiff_of::<colortype::Gray16>(&[7; 8])),
            Ok(Depth::U16)
        );
        assert_eq!(
            depth_of(&tiff_of::<colortype::GrayI16>(&[-7; 8])),
            Ok(Depth::I16)
        );
        assert_eq!(
            depth_of(&tiff_of::<colortype::Gray32Float>(&[0.5; 8])),
            Ok(Depth::F32)
        );
        let refused = |bytes: Vec<u8>, words: &str| {
            let e = depth_of(&bytes).unwrap_err();
            assert!(e.contains(words), "{e}");
        };
        refused(tiff_of::<colortype::Gray64Float>(&[0.5; 8]), "64-bit float");
        refused(
            tiff_of::<colortype::GrayI32>(&[1; 8]),
            "32-bit signed integer",
        );
        refused(
            tiff_of::<colortype::GrayI8>(&[1; 8]),
            "8-bit signed integer",
        );
        // A SampleFormat of one value a sample (three here), float color: refused as such.
        refused(
            tiff_of::<colortype::RGB32Float>(&[0.5; 24]),
            "float samples a pixel (color)",
        );
    }
}
