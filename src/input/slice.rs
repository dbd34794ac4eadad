//! One input slice ([`SliceFile`]): where its pixels are, read from a file's bytes in place or
//! decoded into a buffer, and how they are read ([`ReadPath`]).

use std::io::Cursor;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::bytes::{FileBytes, ReadMode, Shared};
use super::decode::{bmp, raster, tiff as tiff_read, Format};
use super::voxel::FileScale;
use crate::error::{Error, Result};
use crate::pixel::{Buffer, BufferPool, Plane, Pooled, Sample, SliceLayout};

enum Pixels {
    File(Arc<FileBytes>),
    Decoded(Pooled),
    /// Not decoded: the slice was only probed (`inspect`).
    Probed,
}

/// How a slice's pixels are read, for `inspect` and the build summary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReadPath {
    /// Rows borrowed straight from the memory map.
    ZeroCopy,
    /// From the file's bytes (a map, or a read where mapping failed), each row converted.
    Converted(&'static str),
    /// Decoded into a buffer, for the reason given.
    Decoded(String),
}

impl std::fmt::Display for ReadPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadPath::ZeroCopy => write!(f, "mapped, zero-copy"),
            ReadPath::Converted(why) => write!(f, "mapped, {why}"),
            ReadPath::Decoded(why) => write!(f, "decoded ({why})"),
        }
    }
}

/// One input slice: where its pixels are and how to read them.
pub struct SliceFile {
    path: PathBuf,
    page: Option<usize>,
    format: Format,
    pixels: Pixels,
    layout: SliceLayout,
    decoded: Option<String>,
    /// What a TIFF's header says of its physical scale (the first page's, for a stack).
    scale: Option<FileScale>,
}

impl SliceFile {
    /// The file the slice is in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The page of a multi-page TIFF this slice is, from 0.
    pub fn page(&self) -> Option<usize> {
        self.page
    }

    /// What the header says of the pixels' physical size, if it is a TIFF (of a multi-page
    /// file, the first page).
    pub fn scale(&self) -> Option<&FileScale> {
        self.scale.as_ref()
    }

    /// The file's format.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Where its pixels are and what they are.
    pub fn layout(&self) -> &SliceLayout {
        &self.layout
    }

    /// The bytes the layout locates the pixels in, with the layout.
    pub fn pixels(&self) -> (&[u8], &SliceLayout) {
        (self.bytes(), &self.layout)
    }

    fn bytes(&self) -> &[u8] {
        match &self.pixels {
            Pixels::File(f) => f,
            Pixels::Decoded(b) => b.bytes(),
            Pixels::Probed => &[],
        }
    }

    /// How its pixels are read.
    pub fn read_path(&self) -> ReadPath {
        if let Some(why) = &self.decoded {
            return ReadPath::Decoded(why.clone());
        }
        let conversion =
            crate::with_sample!(self.layout.depth, T => self.plane::<T>().conversion());
        match (conversion, &self.pixels) {
            (None, Pixels::File(f)) if f.is_mapped() => ReadPath::ZeroCopy,
            (None, _) => ReadPath::Converted("read into a buffer"),
            (Some(why), _) => ReadPath::Converted(why),
        }
    }

    /// Brings this slice's pixels into the page cache (see [`FileBytes::bring_in`]).
    pub(super) fn bring_in(&self) {
        if let Pixels::File(f) = &self.pixels {
            f.bring_in(self.strips());
        }
    }

    /// The box `x` x `y` of this slice (within it) as a slice of its own: its layout says
    /// where the box's rows lie in the same bytes, so its rows are the box's, read in place
    /// as the whole slice's were. With `bring_in`, the band of rows it spans is brought into
    /// the page cache as `cat` reads (see [`FileBytes::bring_in`]): only that band is read.
    pub fn view(mut self, x: &Range<usize>, y: &Range<usize>, bring_in: bool) -> SliceFile {
        if bring_in {
            self.bring_in_rows(y.clone());
        }
        let l = &self.layout;
        let pixel = l.encoding.pixel_bytes(l.depth);
        let strip_offsets = y
            .clone()
            .map(|r| l.row_offset(r) + x.start * pixel)
            .collect();
        self.layout = SliceLayout {
            width: x.len(),
            height: y.len(),
            depth: l.depth,
            encoding: l.encoding.clone(),
            rows_per_strip: 1,
            strip_offsets,
        };
        self
    }

    /// Drops this process's mappings of the slice's pixels (they stay in the page cache):
    /// what a job does with a slice it is done with, so that its pages leave the process's
    /// memory at once rather than when the map goes.
    pub fn release(&self) {
        if let Pixels::File(f) = &self.pixels {
            f.release(self.strips());
        }
    }

    /// [`SliceFile::release`] for rows `rows` alone: a band of a store's chunks, compressed.
    pub fn release_rows(&self, rows: Range<usize>) {
        if let Pixels::File(f) = &self.pixels {
            f.release(self.row_bytes(rows));
        }
    }

    /// Whether the pixels can be read: a slice only probed reads them from its file's bytes
    /// (uncompressed strips, BMP rows), or has none until it is decoded.
    pub fn has_pixels(&self) -> bool {
        !matches!(self.pixels, Pixels::Probed)
    }

    /// The bytes of the file that rows `rows` lie in, from the first to the end of the last
    /// (rows may lie in any order: BMP stores them bottom-up): what reading those rows alone
    /// needs.
    pub fn row_bytes(&self, rows: Range<usize>) -> Range<usize> {
        let l = &self.layout;
        let (first, last) = rows
            .map(|y| l.row_offset(y))
            .fold((usize::MAX, 0), |(a, b), o| (a.min(o), b.max(o)));
        first.min(last)..last.saturating_add(l.row_bytes())
    }

    /// Brings rows `rows` of a slice read from its file into the page cache as `cat` reads
    /// files (see [`FileBytes::bring_in`]): a box of a few rows reads a band of the file, not
    /// all of it. Returns the bytes read through.
    pub fn bring_in_rows(&self, rows: Range<usize>) -> u64 {
        match &self.pixels {
            // Every row: the file is streamed as a build streams it.
            Pixels::File(f) if rows.len() == self.layout.height => f.bring_in(self.strips()),
            Pixels::File(f) if !rows.is_empty() => f.bring_in_band(self.row_bytes(rows)),
            _ => 0,
        }
    }

    /// The bytes of the file from this slice's first strip to the end of its last.
    pub(super) fn strips(&self) -> Range<usize> {
        let layout = &self.layout;
        let first = layout.strip_offsets.iter().min().copied().unwrap_or(0);
        let last = layout.strip_offsets.iter().max().copied().unwrap_or(0);
        let strip = layout.rows_per_strip.saturating_mul(layout.row_bytes());
        first..last.saturating_add(strip)
    }

    /// The pixels as `T`; the caller matched `T` to `layout().depth`.
    pub fn plane<T: Sample>(&self) -> Plane<'_, T> {
        Plane::new(self.bytes(), &self.layout)
    }

    /// Refuses a slice of another size, depth or file format than `first`: almost always two
    /// scans (or a scan and its previews) in one folder.
    pub fn check_matches(&self, first: &SliceFile) -> Result<()> {
        let (l, f) = (self.layout(), first.layout());
        let describe = |s: &SliceFile| format!("{} {}", s.format().name(), s.layout().describe());
        if (l.width, l.height, l.depth, self.format())
            != (f.width, f.height, f.depth, first.format())
        {
            return Err(Error::Mismatch {
                path: PathBuf::from(self.name()),
                reason: format!("slice is {}", describe(self)),
                first_path: PathBuf::from(first.name()),
                first: describe(first),
            });
        }
        Ok(())
    }

    /// "path" or "path, page N", for messages.
    pub fn name(&self) -> String {
        match self.page {
            Some(p) => format!("{}, page {p}", self.path.display()),
            None => self.path.display().to_string(),
        }
    }
}

impl Drop for SliceFile {
    /// A page of a multi-page file hands its part of the shared map back as it goes.
    fn drop(&mut self) {
        if let (Some(_), Pixels::File(f)) = (self.page, &self.pixels) {
            f.release(self.strips());
        }
    }
}

/// Opens one TIFF file we wrote (an output of an earlier run) to read its pixels.
pub fn open_output(path: &Path) -> Result<SliceFile> {
    open_file(path, ReadMode::Auto, Some(&BufferPool::default()))
}

/// Decodes into a buffer of `pool` with `decode`, or only probes the layout without a pool.
fn decoded(
    pool: Option<&BufferPool>,
    decode: impl FnOnce(Option<&mut Buffer>) -> Result<SliceLayout>,
) -> Result<(SliceLayout, Pixels)> {
    let Some(pool) = pool else {
        return Ok((decode(None)?, Pixels::Probed));
    };
    let mut buffer = pool.take();
    let layout = decode(Some(&mut buffer));
    // The buffer goes back to the pool whether or not decoding worked.
    let pixels = Pixels::Decoded(buffer);
    Ok((layout?, pixels))
}

pub(super) fn open_file(
    path: &Path,
    mode: ReadMode,
    pool: Option<&BufferPool>,
) -> Result<SliceFile> {
    // Probing reads headers only: a map, never a whole file read.
    let mode = if pool.is_none() { ReadMode::Auto } else { mode };
    let file = Arc::new(FileBytes::open(path, mode, pool)?);
    let format = Format::sniff(&file).ok_or_else(|| {
        Error::bad_input(
            path,
            "not a TIFF, BMP, PNG or JPEG file (unknown signature)",
        )
    })?;
    let slice = |(layout, pixels), decoded: Option<&str>| SliceFile {
        path: path.to_path_buf(),
        page: None,
        format,
        layout,
        pixels,
        decoded: decoded.map(str::to_string),
        scale: None,
    };
    match format {
        Format::Tiff => {
            let mut dec = tiff_read::open(path, Shared(file.clone()))?;
            from_tiff(path, None, file, &mut dec, pool)
        }
        Format::Bmp => Ok(slice((bmp::layout(path, &file)?, Pixels::File(file)), None)),
        Format::Png => {
            let read = decoded(pool, |b| raster::decode_png(path, &file, b))?;
            Ok(slice(read, Some("PNG")))
        }
        Format::Jpeg => {
            let read = decoded(pool, |b| raster::decode_jpeg(path, &file, b))?;
            Ok(slice(read, Some("JPEG")))
        }
    }
}

pub(super) fn from_tiff(
    path: &Path,
    page: Option<usize>,
    file: Arc<FileBytes>,
    dec: &mut ::tiff::decoder::Decoder<Cursor<Shared>>,
    pool: Option<&BufferPool>,
) -> Result<SliceFile> {
    // Read from the IFD already parsed; only the first page's describes a stack.
    let scale = page.unwrap_or(0) == 0;
    let scale = scale.then(|| tiff_read::scale(dec));
    let slice = |(layout, pixels), decoded| SliceFile {
        path: path.to_path_buf(),
        page,
        format: Format::Tiff,
        layout,
        pixels,
        decoded,
        scale,
    };
    match tiff_read::classify(path, dec, file.len())? {
        tiff_read::TiffRead::Mapped(layout) => Ok(slice((layout, Pixels::File(file)), None)),
        tiff_read::TiffRead::Decode { reason } => {
            let read = decoded(pool, |b| tiff_read::decode(path, dec, file.len(), b))?;
            Ok(slice(read, Some(reason)))
        }
    }
}
