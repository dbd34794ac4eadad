//! BMP (Bruker SkyScan NRecon writes 8-bit BMP slices): rows located from the header.
//!
//! BMP is never compressed in practice for CT slices, so every supported BMP is read in place:
//! 8-bit slices with a gray-ramp palette (the usual case) row by row with zero copies, other
//! palettes and 24/32-bit color through the row conversion of [`crate::pixel::plane`].

use std::path::Path;

use crate::error::{Error, Result};
use crate::pixel::{Depth, Encoding, SliceLayout};

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// The layout of the BMP in `bytes`, checked against its length.
pub fn layout(path: &Path, bytes: &[u8]) -> Result<SliceLayout> {
    let bad = |reason: &str| Error::bad_input(path, reason);
    let short = || bad("BMP header runs past the end of the file: truncated or damaged");
    let data_offset = u32_at(bytes, 10).ok_or_else(short)? as usize;
    let dib_size = u32_at(bytes, 14).ok_or_else(short)? as usize;
    // The old OS/2 header has 16-bit sizes and 3-byte palette entries; all others 32-bit.
    let (width, height, bpp, compression, colors, entry) = if dib_size == 12 {
        let w = i64::from(u16_at(bytes, 18).ok_or_else(short)?);
        let h = i64::from(u16_at(bytes, 20).ok_or_else(short)?);
        (w, h, u16_at(bytes, 24).ok_or_else(short)?, 0, 0, 3)
    } else if dib_size >= 40 {
        let w = i64::from(u32_at(bytes, 18).ok_or_else(short)? as i32);
        let h = i64::from(u32_at(bytes, 22).ok_or_else(short)? as i32);
        let bpp = u16_at(bytes, 28).ok_or_else(short)?;
        let compression = u32_at(bytes, 30).ok_or_else(short)?;
        let colors = u32_at(bytes, 46).ok_or_else(short)? as usize;
        (w, h, bpp, compression, colors, 4)
    } else {
        return Err(bad(&format!("invalid BMP: header size {dib_size}")));
    };
    // BI_BITFIELDS is accepted for 32-bit only with the standard BGRA masks.
    const BI_RGB: u32 = 0;
    const BI_BITFIELDS: u32 = 3;
    // The red, green and blue masks follow the 40-byte header, or are its V4/V5 extension.
    let standard_masks = || {
        (u32_at(bytes, 54), u32_at(bytes, 58), u32_at(bytes, 62))
            == (Some(0x00FF_0000), Some(0x0000_FF00), Some(0x0000_00FF))
    };
    match (compression, bpp) {
        (BI_RGB, 8 | 24 | 32) => {}
        (BI_BITFIELDS, 32) if standard_masks() => {}
        (BI_RGB, _) => {
            return Err(bad(&format!(
                "unsupported: {bpp}-bit BMP; ctpyramid reads 8-, 24- and 32-bit BMP"
            )))
        }
        _ => {
            return Err(bad(&format!(
                "unsupported: compressed BMP (compression {compression})"
            )))
        }
    }
    let top_down = height < 0;
    let (width, height) = (
        width.unsigned_abs() as usize,
        height.unsigned_abs() as usize,
    );
    let stride = (width * usize::from(bpp)).div_ceil(32) * 4;
    // Before any allocation sized by the header: the rows must fit in the file.
    let need = (stride as u64).saturating_mul(height as u64);
    if width == 0 || height == 0 || (data_offset as u64).saturating_add(need) > bytes.len() as u64 {
        return Err(bad(&format!(
            "{width}x{height} {bpp}-bit pixels from offset {data_offset} do not fit in the \
             file ({} bytes): truncated or damaged",
            bytes.len()
        )));
    }

    let encoding = match bpp {
        8 => {
            let count = if colors == 0 || colors > 256 {
                256
            } else {
                colors
            };
            let start = 14 + dib_size;
            let mut table = Box::new([0u8; 256]);
            for (i, gray) in table.iter_mut().enumerate().take(count) {
                let at = start + i * entry;
                let bgr = bytes.get(at..at + 3).ok_or_else(short)?;
                *gray = luma(bgr[2], bgr[1], bgr[0]);
            }
            let ramp = table.iter().enumerate().all(|(i, &g)| g as usize == i);
            if ramp {
                Encoding::Gray {
                    big_endian: false,
                    samples: 1,
                }
            } else {
                Encoding::Palette(table)
            }
        }
        _ => Encoding::Rgb {
            big_endian: false,
            samples: usize::from(bpp / 8),
            bgr: true,
        },
    };
    let row = |y: usize| {
        let stored = if top_down { y } else { height - 1 - y };
        data_offset.saturating_add(stored.saturating_mul(stride))
    };
    let layout = SliceLayout {
        width,
        height,
        depth: Depth::U8,
        encoding,
        rows_per_strip: 1,
        strip_offsets: (0..height).map(row).collect(),
    };
    layout.check(bytes.len()).map_err(|reason| bad(&reason))?;
    Ok(layout)
}

/// The `image` crate's gray value of an 8-bit color, as CTHarvester converts palettes.
fn luma(r: u8, g: u8, b: u8) -> u8 {
    ((2126 * u32::from(r) + 7152 * u32::from(g) + 722 * u32::from(b)) / 10000) as u8
}
