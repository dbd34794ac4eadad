//! PNG and JPEG slices (CTHarvester accepts them): always decoded, into a reused buffer.
//!
//! Decoded the way CTHarvester's `image` crate decodes them (PNG with `EXPAND`, JPEG by
//! zune-jpeg into its own color space or RGB), so that the gray values agree with it.

use std::path::Path;

use zune_core::bytestream::ZCursor;
use zune_core::colorspace::ColorSpace;
use zune_core::options::DecoderOptions;

use crate::error::{Error, Result};
use crate::pixel::Buffer;
use crate::pixel::{Depth, Encoding, SliceLayout};

/// The layout of the decoded PNG in `bytes`; decoded into `buffer` if one is given.
pub fn decode_png(path: &Path, bytes: &[u8], buffer: Option<&mut Buffer>) -> Result<SliceLayout> {
    let bad = |reason: String| Error::bad_input(path, reason);
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::EXPAND);
    let mut reader = decoder
        .read_info()
        .map_err(|e| bad(format!("invalid PNG: {e}")))?;
    let (color, bits) = reader.output_color_type();
    let depth = match bits {
        png::BitDepth::Eight => Depth::U8,
        png::BitDepth::Sixteen => Depth::U16,
        other => return Err(bad(format!("unsupported: {other:?}-bit PNG"))),
    };
    // PNG stores 16-bit samples big-endian.
    let big_endian = true;
    let encoding = match color {
        png::ColorType::Grayscale => Encoding::Gray {
            big_endian,
            samples: 1,
        },
        png::ColorType::GrayscaleAlpha => Encoding::Gray {
            big_endian,
            samples: 2,
        },
        png::ColorType::Rgb => Encoding::Rgb {
            big_endian,
            samples: 3,
            bgr: false,
        },
        png::ColorType::Rgba => Encoding::Rgb {
            big_endian,
            samples: 4,
            bgr: false,
        },
        png::ColorType::Indexed => return Err(bad("unsupported: indexed PNG".into())),
    };
    let len = reader
        .output_buffer_size()
        .ok_or_else(|| bad("PNG image too large".into()))?;
    let info = reader.info();
    let (width, height) = (info.width as usize, info.height as usize);
    let layout = SliceLayout::contiguous(width, height, depth, encoding);
    layout.check(len).map_err(bad)?;
    if let Some(buffer) = buffer {
        let out = buffer.decoded_bytes_mut(len, bytes.len()).map_err(bad)?;
        reader
            .next_frame(out)
            .map_err(|e| bad(format!("cannot decode PNG: {e}")))?;
    }
    Ok(layout)
}

/// The layout of the decoded JPEG in `bytes`; decoded into `buffer` if one is given.
pub fn decode_jpeg(path: &Path, bytes: &[u8], buffer: Option<&mut Buffer>) -> Result<SliceLayout> {
    let bad = |reason: String| Error::bad_input(path, reason);
    let options = DecoderOptions::default()
        .set_strict_mode(true)
        .set_max_width(usize::MAX)
        .set_max_height(usize::MAX);
    let mut decoder = zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(bytes), options);
    decoder
        .decode_headers()
        .map_err(|e| bad(format!("invalid JPEG: {e}")))?;
    let input = decoder
        .input_colorspace()
        .ok_or_else(|| bad("invalid JPEG: no color space".into()))?;
    let (output, encoding) = match input {
        ColorSpace::Luma => (ColorSpace::Luma, gray(1)),
        ColorSpace::LumaA => (ColorSpace::LumaA, gray(2)),
        ColorSpace::RGBA => (ColorSpace::RGBA, rgb(4)),
        _ => (ColorSpace::RGB, rgb(3)),
    };
    decoder.set_options(decoder.options().jpeg_set_out_colorspace(output));
    let (width, height) = decoder
        .dimensions()
        .ok_or_else(|| bad("invalid JPEG: no dimensions".into()))?;
    let len = decoder
        .output_buffer_size()
        .ok_or_else(|| bad("JPEG image too large".into()))?;
    let layout = SliceLayout::contiguous(width, height, Depth::U8, encoding);
    layout.check(len).map_err(bad)?;
    if let Some(buffer) = buffer {
        let out = buffer.decoded_bytes_mut(len, bytes.len()).map_err(bad)?;
        decoder
            .decode_into(out)
            .map_err(|e| bad(format!("cannot decode JPEG: {e}")))?;
    }
    Ok(layout)
}

fn gray(samples: usize) -> Encoding {
    Encoding::Gray {
        big_endian: false,
        samples,
    }
}

fn rgb(samples: usize) -> Encoding {
    Encoding::Rgb {
        big_endian: false,
        samples,
        bgr: false,
    }
}
