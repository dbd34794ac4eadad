//! The TIFF headers ctpyramid writes: little-endian, uncompressed, one strip a page, every IFD
//! before the pixel data, which is contiguous and 16-byte aligned.
//!
//! Written by hand rather than with the `tiff` crate's encoder because the pixel data must sit
//! at offsets known before any pixel is computed, so a file can be preallocated at its final
//! size and each page written (or mapped and filled) in place; the encoder writes data first
//! and chooses offsets itself. Putting every IFD first and the pages contiguous after them is
//! also what ImageJ needs to open a multi-page file as a stack.

use std::fs::File;
use std::io;
use std::path::Path;

use super::Target;
use crate::error::{Error, Result};
use crate::options::TiffLayout;
use crate::pixel::{Depth, Kind};
use crate::plan::{Level, Plan};

/// Pixel data starts on this boundary, so a `&mut [u16]` can be cast straight over it.
pub const DATA_ALIGN: usize = 16;

/// The Software tag: the tool, its version, and the identity of the inputs the file was
/// computed from, so that an output of other inputs never passes for complete.
fn software(source: u64) -> String {
    format!(
        "ctpyramid {} (source {source:016x})\0",
        env!("CARGO_PKG_VERSION")
    )
}

const ASCII: u16 = 2;
const SHORT: u16 = 3;
const LONG: u16 = 4;
const RATIONAL: u16 = 5;
const LONG8: u16 = 16;

/// How the physical size of a pixel is recorded.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Scale {
    /// Not known: XResolution/YResolution 1 with ResolutionUnit none.
    Unknown,
    /// Pixels per centimetre (ResolutionUnit 3), what generic TIFF readers understand; the
    /// value is the pixel edge in micrometres.
    Centimetre(f64),
    /// Pixels per micrometre with ResolutionUnit none and `unit=micron` in the ImageJ
    /// description, ImageJ's own convention; the value is the pixel edge in micrometres.
    ImageJ(f64),
}

/// A complete header for `pages` pages of `width` x `height` at `depth`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TiffHeader {
    pub bytes: Vec<u8>,
    /// Offset of page 0's pixels; page k's are `page_bytes` further each.
    pub data_offset: usize,
    pub page_bytes: usize,
    pub pages: usize,
    pub bigtiff: bool,
}

impl TiffHeader {
    /// One slice, CTHarvester's per-slice files; `source` identifies the inputs.
    pub fn single(
        width: usize,
        height: usize,
        depth: Depth,
        scale: Scale,
        source: u64,
    ) -> io::Result<Self> {
        Self::new((width, height, depth), 1, scale, None, source, false)
    }

    /// A multi-page stack that ImageJ opens as a z-stack of `pages` slices `spacing_um` apart.
    pub fn imagej_stack(
        width: usize,
        height: usize,
        depth: Depth,
        pages: usize,
        voxel_um: Option<f64>,
        source: u64,
    ) -> io::Result<Self> {
        let mut description = format!("ImageJ=1.11a\nimages={pages}\nslices={pages}\n");
        if let Some(v) = voxel_um {
            description.push_str(&format!("unit=micron\nspacing={v}\n"));
        }
        description.push_str("loop=false\n\0");
        let scale = voxel_um.map_or(Scale::Unknown, Scale::ImageJ);
        Self::new(
            (width, height, depth),
            pages,
            scale,
            Some(&description),
            source,
            false,
        )
    }

    /// Length of the whole file.
    pub fn file_len(&self) -> u64 {
        self.data_offset as u64 + (self.page_bytes as u64) * self.pages as u64
    }

    fn new(
        (width, height, depth): (usize, usize, Depth),
        pages: usize,
        scale: Scale,
        description: Option<&str>,
        source: u64,
        force_bigtiff: bool,
    ) -> io::Result<Self> {
        let software = software(source);
        let page_bytes = width
            .checked_mul(height)
            .and_then(|n| n.checked_mul(depth.bytes()))
            .ok_or_else(|| io::Error::other("output image too large"))?;
        let too_large = || io::Error::other("output image dimensions too large for TIFF");
        let long = |v: usize| u32::try_from(v).map_err(|_| too_large());
        let (x_res, unit) = match scale {
            Scale::Unknown => ((1, 1), 1),
            Scale::Centimetre(um) => (rational(1e4 / um), 3),
            Scale::ImageJ(um) => (rational(1.0 / um), 1),
        };
        let fields = Fields {
            width: long(width)?,
            height: long(height)?,
            bits: depth.bits(),
            sample_format: match depth.kind() {
                Kind::Unsigned => 1,
                Kind::Signed => 2,
                Kind::Float => 3,
            },
            page_bytes,
            x_res,
            unit,
            software: software.as_bytes(),
            description,
        };
        let places = Places::of(&fields, pages, force_bigtiff)?;
        let mut b = Vec::with_capacity(places.data_offset);
        places.file_header(&mut b);
        for page in 0..pages {
            places.ifd(&mut b, &fields, page, pages);
        }
        places.values(&mut b, &fields);
        b.resize(places.data_offset, 0);
        Ok(TiffHeader {
            bytes: b,
            data_offset: places.data_offset,
            page_bytes,
            pages,
            bigtiff: places.w.bigtiff,
        })
    }
}

/// What every page's IFD says.
struct Fields<'a> {
    width: u32,
    height: u32,
    bits: u16,
    /// SampleFormat: 1 unsigned, 2 signed, 3 IEEE float.
    sample_format: u16,
    page_bytes: usize,
    /// XResolution and YResolution, as a rational.
    x_res: (u32, u32),
    unit: u16,
    software: &'a [u8],
    /// The first page's ImageDescription.
    description: Option<&'a str>,
}

/// Where each part of a header goes: the file header, every IFD, then the values that do not
/// fit in an entry, then (aligned) the pixels. All of it is known before a byte is written,
/// so every IFD can point at what follows it.
struct Places {
    w: Ifds,
    header_len: usize,
    /// Entries of each page's IFD (the first has the description too).
    entries: [usize; 2],
    /// Where the out-of-line values are: the two resolution rationals (inline in BigTIFF),
    /// the Software text, the description.
    rationals: Option<usize>,
    software: Option<usize>,
    description: Option<usize>,
    data_offset: usize,
}

impl Places {
    fn of(f: &Fields, pages: usize, force_bigtiff: bool) -> io::Result<Places> {
        let fits_classic = |len: u64| len <= u64::from(u32::MAX);
        // A first guess of the header size decides the format; headers are small.
        let pixels = f.page_bytes as u64 * pages as u64;
        let bigtiff = force_bigtiff || !fits_classic(pixels + 4096 + pages as u64 * 400);
        let w = Ifds { bigtiff };
        let entries = [15 + usize::from(f.description.is_some()), 15];
        let header_len = if bigtiff { 16 } else { 8 };
        let ifds_len = w.ifd_len(entries[0]) + pages.saturating_sub(1) * w.ifd_len(entries[1]);
        let mut extra = header_len + ifds_len;
        let mut place = |len: usize| {
            let at = extra;
            extra += len;
            at
        };
        // Rationals (XResolution, YResolution) are inline in BigTIFF.
        let rationals = (!bigtiff).then(|| place(16));
        let software = w
            .out_of_line(f.software.len())
            .then(|| place(f.software.len()));
        let description = f
            .description
            .filter(|d| w.out_of_line(d.len()))
            .map(|d| place(d.len()));
        let data_offset = extra.next_multiple_of(DATA_ALIGN);
        if !bigtiff && !fits_classic(data_offset as u64 + pixels) {
            return Err(io::Error::other(
                "internal: classic TIFF chosen for a file over 4 GiB",
            ));
        }
        Ok(Places {
            w,
            header_len,
            entries,
            rationals,
            software,
            description,
            data_offset,
        })
    }

    fn ifd_len(&self, page: usize) -> usize {
        self.w.ifd_len(self.entries[usize::from(page > 0)])
    }

    /// The byte order, the version and where the first IFD is.
    fn file_header(&self, b: &mut Vec<u8>) {
        b.extend_from_slice(b"II");
        if self.w.bigtiff {
            b.extend_from_slice(&43u16.to_le_bytes());
            b.extend_from_slice(&8u16.to_le_bytes());
            b.extend_from_slice(&0u16.to_le_bytes());
            b.extend_from_slice(&(self.header_len as u64).to_le_bytes());
        } else {
            b.extend_from_slice(&42u16.to_le_bytes());
            b.extend_from_slice(&(self.header_len as u32).to_le_bytes());
        }
    }

    /// Page `page`'s IFD, pointing at the next page's (none after the last).
    fn ifd(&self, b: &mut Vec<u8>, f: &Fields, page: usize, pages: usize) {
        let w = &self.w;
        let next_ifd = self.header_len + self.ifd_len(0) + page * self.ifd_len(1);
        let strip = (self.data_offset + page * f.page_bytes) as u64;
        let mut e: Vec<Entry> = vec![
            Entry::long(256, f.width),
            Entry::long(257, f.height),
            Entry::short(258, f.bits.into()),
            Entry::short(259, 1), // Compression: none
            Entry::short(262, 1), // Photometric: BlackIsZero
        ];
        if let (0, Some(d)) = (page, f.description) {
            e.push(w.ascii(270, d.as_bytes(), self.description));
        }
        e.push(w.offset(273, strip)); // StripOffsets
        e.push(Entry::short(277, 1)); // SamplesPerPixel
        e.push(Entry::long(278, f.height)); // RowsPerStrip: one strip
        e.push(w.offset(279, f.page_bytes as u64)); // StripByteCounts
        e.push(w.rational(282, f.x_res, self.rationals));
        e.push(w.rational(283, f.x_res, self.rationals.map(|r| r + 8)));
        e.push(Entry::short(284, 1)); // PlanarConfiguration: chunky
        e.push(Entry::short(296, f.unit.into())); // ResolutionUnit
        e.push(w.ascii(305, f.software, self.software));
        e.push(Entry::short(339, f.sample_format.into()));
        debug_assert_eq!(e.len(), self.entries[usize::from(page > 0)]);
        let next = if page + 1 < pages { next_ifd as u64 } else { 0 };
        w.ifd(b, &e, next);
    }

    /// The values that did not fit in their entries, where the IFDs said they are.
    fn values(&self, b: &mut Vec<u8>, f: &Fields) {
        if let Some(at) = self.rationals {
            debug_assert_eq!(b.len(), at);
            for _ in 0..2 {
                b.extend_from_slice(&f.x_res.0.to_le_bytes());
                b.extend_from_slice(&f.x_res.1.to_le_bytes());
            }
        }
        if let Some(at) = self.software {
            debug_assert_eq!(b.len(), at);
            b.extend_from_slice(f.software);
        }
        if let (Some(at), Some(d)) = (self.description, f.description) {
            debug_assert_eq!(b.len(), at);
            b.extend_from_slice(d.as_bytes());
        }
    }
}

/// The header of level `level`'s files in `layout`: one slice each, or the whole level;
/// the voxel edge is the plan's, times `2^level`.
pub fn level_header(plan: &Plan, level: &Level, layout: TiffLayout) -> io::Result<TiffHeader> {
    let voxel = plan.level_voxel_um(level.level);
    match layout {
        TiffLayout::Slices => TiffHeader::single(
            level.width,
            level.height,
            plan.depth,
            voxel.map_or(Scale::Unknown, Scale::Centimetre),
            plan.source_id,
        ),
        TiffLayout::Stack => TiffHeader::imagej_stack(
            level.width,
            level.height,
            plan.depth,
            level.slices,
            voxel,
            plan.source_id,
        ),
    }
}

/// Each level's header, of its slice files or of its stack file.
pub fn headers(target: &Target<'_>, layout: TiffLayout) -> Result<Vec<TiffHeader>> {
    let plan = target.plan;
    plan.levels
        .iter()
        .map(|l| level_header(plan, l, layout))
        .collect::<std::io::Result<Vec<_>>>()
        .map_err(|e| Error::write(target.out_root, e))
}

/// Whether `path` is the output file `header` describes: the right length and, byte for
/// byte, the right header (size, depth, scale, this version's layout). A file cut short (a
/// copy interrupted, a disk that filled) or left by another tool is not.
pub fn is_complete(path: &Path, header: &TiffHeader) -> bool {
    use std::io::Read;
    let len = header.file_len();
    let Ok(file) = File::open(path) else {
        return false;
    };
    if !file.metadata().is_ok_and(|m| m.is_file() && m.len() == len) {
        return false;
    }
    let mut head = vec![0; header.data_offset];
    (&file).read_exact(&mut head).is_ok() && head == header.bytes
}

/// `v` as a TIFF RATIONAL: the best approximation with numerator and denominator within
/// `u32` (continued fractions), exact for every decimal a scanner logs (`1e4 / 12.5` is
/// 800/1, `1 / 976` is 1/976) from nanometre to metre voxels.
fn rational(v: f64) -> (u32, u32) {
    if !(v.is_finite() && v > 0.0) {
        return (1, 1);
    }
    let max = f64::from(u32::MAX);
    if v >= max {
        return (u32::MAX, 1);
    }
    // Convergents h/k of the continued fraction of v, kept while both fit.
    let (mut h0, mut h1, mut k0, mut k1) = (0f64, 1f64, 1f64, 0f64);
    let mut x = v;
    for _ in 0..64 {
        let a = x.floor();
        let (h2, k2) = (a * h1 + h0, a * k1 + k0);
        if h2 > max || k2 > max {
            break;
        }
        (h0, h1, k0, k1) = (h1, h2, k1, k2);
        let frac = x - a;
        if frac < 1e-12 || (h1 / k1 - v).abs() <= v * 1e-15 {
            break;
        }
        x = 1.0 / frac;
    }
    if h1 < 1.0 || k1 < 1.0 {
        // Smaller than 1 / u32::MAX: the smallest positive rational.
        return (1, u32::MAX);
    }
    (h1 as u32, k1 as u32)
}

/// One IFD entry: its value bytes inline (left-aligned) or the offset of its value.
struct Entry {
    tag: u16,
    kind: u16,
    count: u64,
    value: [u8; 8],
}

impl Entry {
    fn short(tag: u16, v: u32) -> Entry {
        let mut value = [0; 8];
        value[..2].copy_from_slice(&(v as u16).to_le_bytes());
        Entry {
            tag,
            kind: SHORT,
            count: 1,
            value,
        }
    }

    fn long(tag: u16, v: u32) -> Entry {
        let mut value = [0; 8];
        value[..4].copy_from_slice(&v.to_le_bytes());
        Entry {
            tag,
            kind: LONG,
            count: 1,
            value,
        }
    }
}

/// How IFDs and their entries are laid out: classic TIFF (32-bit offsets) or BigTIFF.
struct Ifds {
    bigtiff: bool,
}

impl Ifds {
    fn ifd_len(&self, entries: usize) -> usize {
        if self.bigtiff {
            8 + entries * 20 + 8
        } else {
            2 + entries * 12 + 4
        }
    }

    /// Whether a value of `len` bytes lives outside its entry.
    fn out_of_line(&self, len: usize) -> bool {
        len > if self.bigtiff { 8 } else { 4 }
    }

    fn offset(&self, tag: u16, v: u64) -> Entry {
        let mut value = [0; 8];
        if self.bigtiff {
            value.copy_from_slice(&v.to_le_bytes());
        } else {
            value[..4].copy_from_slice(&(v as u32).to_le_bytes());
        }
        Entry {
            tag,
            kind: if self.bigtiff { LONG8 } else { LONG },
            count: 1,
            value,
        }
    }

    fn rational(&self, tag: u16, (num, den): (u32, u32), at: Option<usize>) -> Entry {
        let mut value = [0; 8];
        match at {
            Some(at) => value[..4].copy_from_slice(&(at as u32).to_le_bytes()),
            None => {
                value[..4].copy_from_slice(&num.to_le_bytes());
                value[4..].copy_from_slice(&den.to_le_bytes());
            }
        }
        Entry {
            tag,
            kind: RATIONAL,
            count: 1,
            value,
        }
    }

    fn ascii(&self, tag: u16, text: &[u8], at: Option<usize>) -> Entry {
        let mut value = [0; 8];
        match at {
            Some(at) if self.bigtiff => value.copy_from_slice(&(at as u64).to_le_bytes()),
            Some(at) => value[..4].copy_from_slice(&(at as u32).to_le_bytes()),
            None => value[..text.len()].copy_from_slice(text),
        }
        Entry {
            tag,
            kind: ASCII,
            count: text.len() as u64,
            value,
        }
    }

    fn ifd(&self, b: &mut Vec<u8>, entries: &[Entry], next: u64) {
        if self.bigtiff {
            b.extend_from_slice(&(entries.len() as u64).to_le_bytes());
        } else {
            b.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        }
        for e in entries {
            b.extend_from_slice(&e.tag.to_le_bytes());
            b.extend_from_slice(&e.kind.to_le_bytes());
            if self.bigtiff {
                b.extend_from_slice(&e.count.to_le_bytes());
                b.extend_from_slice(&e.value);
            } else {
                b.extend_from_slice(&(e.count as u32).to_le_bytes());
                b.extend_from_slice(&e.value[..4]);
            }
        }
        if self.bigtiff {
            b.extend_from_slice(&next.to_le_bytes());
        } else {
            b.extend_from_slice(&(next as u32).to_le_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tiff::decoder::{Decoder, DecodingResult};
    use tiff::tags::Tag;

    /// A file from a header and pages of pixels valued by page, read back by the `tiff` crate.
    fn roundtrip(h: &TiffHeader, width: usize, height: usize) -> Vec<Vec<u16>> {
        let mut file = h.bytes.clone();
        for page in 0..h.pages {
            let px: Vec<u16> = (0..width * height)
                .map(|i| (page * 1000 + i) as u16)
                .collect();
            file.extend_from_slice(bytemuck::cast_slice(&px));
        }
        assert_eq!(file.len() as u64, h.file_len());
        let mut dec = Decoder::new(std::io::Cursor::new(file)).unwrap();
        let mut pages = Vec::new();
        loop {
            assert_eq!(dec.dimensions().unwrap(), (width as u32, height as u32));
            match dec.read_image().unwrap() {
                DecodingResult::U16(v) => pages.push(v),
                other => panic!("{other:?}"),
            }
            if !dec.more_images() {
                break;
            }
            dec.next_image().unwrap();
        }
        pages
    }

    #[test]
    fn single_page_reads_back_with_its_scale() {
        let h = TiffHeader::single(5, 3, Depth::U16, Scale::Centimetre(12.5), 7).unwrap();
        assert_eq!(h.data_offset % DATA_ALIGN, 0);
        let pages = roundtrip(&h, 5, 3);
        assert_eq!(pages.len(), 1);
        assert_eq!(pages[0][14], 14);
        let mut dec = Decoder::new(std::io::Cursor::new(h.bytes.clone())).unwrap();
        let x = dec.get_tag_u32_vec(Tag::XResolution).unwrap();
        // 12.5 µm: 800 pixels per centimetre.
        assert_eq!(f64::from(x[0]) / f64::from(x[1]), 800.0);
        assert_eq!(dec.get_tag_u32(Tag::ResolutionUnit).unwrap(), 3);
    }

    #[test]
    fn stack_pages_are_contiguous_after_the_ifds() {
        let h = TiffHeader::imagej_stack(4, 2, Depth::U16, 3, Some(25.0), 7).unwrap();
        assert!(!h.bigtiff);
        let pages = roundtrip(&h, 4, 2);
        assert_eq!(pages.len(), 3);
        assert_eq!(pages[2][0], 2000);
        let mut dec = Decoder::new(std::io::Cursor::new(h.bytes.clone())).unwrap();
        let d = dec.get_tag_ascii_string(Tag::ImageDescription).unwrap();
        assert!(
            d.contains("images=3") && d.contains("spacing=25") && d.contains("unit=micron"),
            "{d}"
        );
    }

    #[test]
    fn bigtiff_stack_reads_back() {
        let h = TiffHeader::new(
            (3, 2, Depth::U16),
            4,
            Scale::ImageJ(2.0),
            Some("x\0"),
            7,
            true,
        )
        .unwrap();
        assert!(h.bigtiff);
        let pages = roundtrip(&h, 3, 2);
        assert_eq!(pages.len(), 4);
        assert_eq!(pages[3][5], 3005);
    }

    #[test]
    fn rational_is_exact_for_logged_sizes() {
        assert_eq!(rational(1e4 / 12.5), (800, 1));
        assert_eq!(rational(1.0 / 25.0), (1, 25));
        assert_eq!(rational(1.0 / 976.0), (1, 976));
        assert_eq!(rational(1e4 / 0.35), (200_000, 7));
        assert_eq!(rational(1e4 / 4.99), (1_000_000, 499));
        // Fine voxels do not overflow: 1 µm is 10000 pixels per centimetre.
        assert_eq!(rational(1e4 / 1.0), (10_000, 1));
        let (n, d) = rational(std::f64::consts::PI);
        assert!((f64::from(n) / f64::from(d) - std::f64::consts::PI).abs() < 1e-15);
    }
}
