//! Input slices, opened one after another in slice order, each mapped read-only.
//!
//! [`FileBytes`] owns the decision to map a file (and the fallback to reading it when the OS
//! will not map it), [`SliceFile`] is one slice ready to be read row by row, and [`Stack`]
//! lists the slices of a build: one file each, or the pages of one multi-page TIFF.

use std::fs::File;
use std::io::{Cursor, Read};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver};
use std::sync::Arc;
use std::thread::JoinHandle;

use memmap2::{Mmap, MmapOptions};

use crate::decode::BufferPool;
use crate::decode::{bmp, raster, tiff as tiff_read, Buffer, Format, Pooled};
use crate::error::{Error, Result};
use crate::kernel::Sample;
use crate::layout::{Depth, SliceLayout};
use crate::plane::Plane;
use crate::platform::{self, Access};
use crate::sigbus::{self, Registration};
use crate::voxel::FileScale;

/// How input files are brought into memory (also the CLI's `--reader`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum ReadMode {
    /// Mapped, except files on network filesystems (NFS, SMB, FUSE...), which are read: a
    /// map there gains nothing and faults if another host truncates the file.
    #[default]
    Auto,
    /// Mapped whenever the OS allows it.
    Mmap,
    /// Read with plain `read` calls into a buffer reused from file to file.
    Buffered,
}

impl ReadMode {
    pub fn name(self) -> &'static str {
        match self {
            ReadMode::Auto => "auto",
            ReadMode::Mmap => "mmap",
            ReadMode::Buffered => "buffered",
        }
    }
}

/// The bytes of a file: a read-only map, or the file read into a buffer (by choice, or when
/// the OS will not map it: an empty file, a filesystem without mmap).
pub enum FileBytes {
    /// The registration comes first so it is dropped, and the range forgotten by the SIGBUS
    /// handler, before the map is unmapped. The file is kept to read ranges of it through.
    Mapped(Registration, Mmap, File),
    /// The first `.1` bytes of the buffer.
    Read(Pooled, usize),
}

impl FileBytes {
    /// The bytes of `path`, mapped or read as `mode` says; buffers come from `pool`. With a
    /// pool the pixels are about to be read: a mapped file is brought in first
    /// ([`FileBytes::bring_in`]).
    pub fn open(path: &Path, mode: ReadMode, pool: Option<&BufferPool>) -> Result<FileBytes> {
        let file = File::open(path).map_err(|e| Error::read(path, e))?;
        let len = file.metadata().map_err(|e| Error::read(path, e))?.len();
        let len = usize::try_from(len)
            .map_err(|_| Error::bad_input(path, "file is larger than the address space"))?;
        let map_it = match mode {
            ReadMode::Mmap => true,
            ReadMode::Buffered => false,
            ReadMode::Auto => !platform::on_network_filesystem(&file, path),
        };
        if map_it {
            // Without a pool only headers are read (a probe, or the IFD chain of a multi-page
            // file, whose pages are brought in one by one): a fault must then read its page
            // alone, not the megabytes of read-ahead a front-to-back walk wants. Walking the
            // IFDs of a cold 1 GiB stack of pages read the whole file that way, in 0.7 s.
            let advice = match pool {
                Some(_) => Access::Sequential,
                None => Access::Random,
            };
            if let Some(map) = map(&file, len, advice) {
                let registration = sigbus::register(map.as_ptr(), map.len(), path, false);
                let bytes = FileBytes::Mapped(registration, map, file);
                if pool.is_some() {
                    bytes.bring_in(0..len);
                }
                return Ok(bytes);
            }
        }
        let mut buffer = Pooled::from(pool);
        let bytes = buffer
            .bytes_mut(len)
            .map_err(|reason| Error::bad_input(path, reason))?;
        read_sequentially(&file, bytes).map_err(|e| Error::read(path, e))?;
        Ok(FileBytes::Read(buffer, len))
    }

    /// Makes sure `range` of a mapped file is in the page cache before the kernels fault it
    /// in: if it does not look resident, it is read through as `cat` would (see
    /// [`read_through`]). Speed only: whatever fails here fails again, reported, when the
    /// kernels read the map.
    pub fn bring_in(&self, range: Range<usize>) {
        if let FileBytes::Mapped(_, m, file) = self {
            let range = range.start.min(m.len())..range.end.min(m.len());
            if !platform::resident(&m[range.clone()]) {
                let _ = read_through(file, range.start as u64..range.end as u64);
            }
        }
    }

    /// Drops the process's mappings of `range` of a mapped file (the pages stay in the page
    /// cache): the pages of a multi-page file share one map, which would otherwise hold every
    /// page read so far in the process's memory until the last one is done. Walking the IFDs
    /// of a file cached in large folios needs it too: one fault there maps a whole folio, up
    /// to 2 MiB, so counting the 128 pages of a 1 GiB file (one IFD each) left 217 MB mapped.
    fn release(&self, range: Range<usize>) {
        if let FileBytes::Mapped(_, m, _) = self {
            let range = range.start.min(m.len())..range.end.min(m.len());
            platform::release_map_range(m, range);
        }
    }

    pub fn is_mapped(&self) -> bool {
        matches!(self, FileBytes::Mapped(..))
    }
}

impl std::ops::Deref for FileBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            FileBytes::Mapped(_, m, _) => m,
            FileBytes::Read(b, len) => &b.bytes()[..*len],
        }
    }
}

fn map(file: &File, len: usize, access: Access) -> Option<Mmap> {
    if len == 0 {
        return None;
    }
    // SAFETY: the map is read-only and private to this process; ctpyramid never writes input
    // files. Another process truncating the file while it is mapped makes reads of the lost
    // pages fault (SIGBUS): the length was read just above and every access is checked
    // against it, and the map is registered with the SIGBUS handler (`crate::sigbus`), which
    // turns such a fault into an error naming the file instead of a crash.
    let map = unsafe { MmapOptions::new().len(len).map(file) }.ok()?;
    platform::advise_map(&map, access);
    Some(map)
}

/// Bytes asked of each `read` when a file is read front to back: coreutils `cat`'s size. On a
/// cold cache the kernel streams a file fastest to reads of this size with sequential advice
/// (1 GiB of 8 MiB files here: 0.65 s; 64 KiB or 256 KiB reads 1.0-1.3 s and one read a
/// file 1.2 s once the cores are busy too), while page faults on a map, even advised
/// WILLNEED ahead, bring it in at 1.0-1.3 s.
pub(crate) const READ_CHUNK: usize = 128 << 10;

/// Reads `range` of `file` (to its end at most) as `cat` reads files, `READ_CHUNK` bytes a
/// call from a multiple of it, into a scratch buffer: its pages stay in the page cache. The
/// bytes read.
pub(crate) fn read_through(file: &File, range: Range<u64>) -> std::io::Result<u64> {
    thread_local! {
        static SCRATCH: std::cell::RefCell<Buffer> = std::cell::RefCell::default();
    }
    platform::advise_sequential(file);
    SCRATCH.with_borrow_mut(|scratch| {
        let scratch = scratch
            .bytes_mut(READ_CHUNK)
            .map_err(std::io::Error::other)?;
        let mut at = range.start - range.start % READ_CHUNK as u64;
        let mut total = 0;
        while at < range.end {
            let want = (range.end - at).min(READ_CHUNK as u64) as usize;
            match platform::read_at(file, &mut scratch[..want], at) {
                Ok(0) => break,
                Ok(n) => {
                    at += n as u64;
                    total += n as u64;
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(total)
    })
}

/// Fills `dest` from the start of `file`, `READ_CHUNK` bytes a call, as [`read_through`].
fn read_sequentially(file: &File, dest: &mut [u8]) -> std::io::Result<()> {
    platform::advise_sequential(file);
    dest.chunks_mut(READ_CHUNK)
        .try_for_each(|chunk| (&*file).read_exact(chunk))
}

/// Shares a file's bytes between the pages of a multi-page TIFF and the decoder walking them.
#[derive(Clone)]
struct Shared(Arc<FileBytes>);

impl AsRef<[u8]> for Shared {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

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

    pub fn format(&self) -> Format {
        self.format
    }

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

    pub fn read_path(&self) -> ReadPath {
        if let Some(why) = &self.decoded {
            return ReadPath::Decoded(why.clone());
        }
        let conversion = match self.layout.depth {
            Depth::U8 => self.plane::<u8>().conversion(),
            Depth::U16 => self.plane::<u16>().conversion(),
        };
        match (conversion, &self.pixels) {
            (None, Pixels::File(f)) if f.is_mapped() => ReadPath::ZeroCopy,
            (None, _) => ReadPath::Converted("read into a buffer"),
            (Some(why), _) => ReadPath::Converted(why),
        }
    }

    /// Brings this slice's pixels into the page cache (see [`FileBytes::bring_in`]).
    fn bring_in(&self) {
        if let Pixels::File(f) = &self.pixels {
            f.bring_in(self.strips());
        }
    }

    /// The bytes of the file from this slice's first strip to the end of its last.
    fn strips(&self) -> Range<usize> {
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

/// The slices of a build, in order.
#[derive(Clone, Debug)]
pub enum Stack {
    /// One slice a file (the first image of each).
    Files(Vec<PathBuf>),
    /// Each page of one multi-page TIFF is a slice (ImageJ and tifffile stacks).
    Pages { path: PathBuf, pages: usize },
}

impl Stack {
    /// Files as listed; a single TIFF file with several pages becomes the stack of its pages.
    pub fn new(paths: Vec<PathBuf>) -> Result<Stack> {
        if let [path] = paths.as_slice() {
            let bytes = FileBytes::open(path, ReadMode::Mmap, None)?;
            if Format::sniff(&bytes) == Some(Format::Tiff) {
                let pages = count_pages(path, &bytes)?;
                if pages > 1 {
                    return Ok(Stack::Pages {
                        path: path.clone(),
                        pages,
                    });
                }
            }
        }
        Ok(Stack::Files(paths))
    }

    pub fn len(&self) -> usize {
        match self {
            Stack::Files(f) => f.len(),
            Stack::Pages { pages, .. } => *pages,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The first slice, its header read and no pixel: what sets the stack's geometry.
    /// `input` names the stack in the error if it has no slice.
    pub fn first(&self, input: &Path) -> Result<SliceFile> {
        match self.prober().next() {
            Some(first) => first,
            None => Err(Error::NoSlices {
                dir: input.to_path_buf(),
            }),
        }
    }

    /// The name of slice `index` for messages.
    pub fn name(&self, index: usize) -> String {
        match self {
            Stack::Files(f) => f
                .get(index)
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            Stack::Pages { path, .. } => format!("{}, page {index}", path.display()),
        }
    }

    /// Opens the slices one after another, in order, decoding those that need it.
    pub fn reader(&self) -> SliceReader<'_> {
        self.reader_with(ReadMode::Auto)
    }

    /// [`Stack::reader`], bringing files into memory as `mode` says. The pages of a
    /// multi-page file are always mapped: reading a whole stack into memory is not an option.
    pub fn reader_with(&self, mode: ReadMode) -> SliceReader<'_> {
        SliceReader {
            mode,
            stack: self,
            next: 0,
            pages: None,
            pool: Some(BufferPool::default()),
        }
    }

    /// Opens slices `order` (ascending) one after another on a thread of its own, as
    /// [`Stack::reader_with`] would: see [`Opener`].
    pub fn opener(&self, order: &[usize], mode: ReadMode) -> Result<Opener> {
        let stack = self.clone();
        let order = order.to_vec();
        // One slice waiting in the channel and one in the thread's hands: both slices of the
        // next pair are ready by the time the current pair is reduced.
        let (opened, slices) = mpsc::sync_channel(1);
        let thread = std::thread::Builder::new()
            .name("ctpyramid-open".into())
            .spawn(move || {
                let mut reader = stack.reader_with(mode);
                for index in order {
                    let slice = reader.open(index);
                    let failed = slice.is_err();
                    if opened.send(slice).is_err() || failed {
                        break;
                    }
                }
            })
            .map_err(|e| Error::read(Path::new(&self.name(0)), e))?;
        Ok(Opener {
            slices: Some(slices),
            thread: Some(thread),
        })
    }

    /// Reads the headers of the slices one after another, decoding no pixel: the slices it
    /// gives answer everything but [`SliceFile::plane`].
    pub fn prober(&self) -> SliceReader<'_> {
        SliceReader {
            pool: None,
            ..self.reader()
        }
    }
}

/// The pages of the TIFF file `bytes`, counted by walking its IFD chain.
fn count_pages(path: &Path, bytes: &FileBytes) -> Result<usize> {
    let mut dec = tiff_read::open(path, &bytes[..])?;
    let mut pages = 1;
    while dec.more_images() {
        tiff_read::next_page(path, &mut dec, pages)?;
        pages += 1;
        // The decoder keeps what it parsed: the pages faulted in to read the IFD can go (see
        // [`FileBytes::release`]).
        bytes.release(0..bytes.len());
    }
    Ok(pages)
}

/// Opens the slices of a [`Stack`] in order.
pub struct SliceReader<'s> {
    stack: &'s Stack,
    next: usize,
    /// A multi-page file's bytes and its decoder, on page `.2`.
    pages: Option<(Shared, ::tiff::decoder::Decoder<Cursor<Shared>>, usize)>,
    /// Where decoded buffers come from; `None` to only probe headers.
    pool: Option<BufferPool>,
    mode: ReadMode,
}

impl Iterator for SliceReader<'_> {
    type Item = Result<SliceFile>;

    fn next(&mut self) -> Option<Result<SliceFile>> {
        let index = self.next;
        (index < self.stack.len()).then(|| self.open(index))
    }
}

impl<'s> SliceReader<'s> {
    pub fn stack(&self) -> &'s Stack {
        self.stack
    }

    /// Opens slice `index`, which must not be before the last one opened: slices that are
    /// not needed (a resumed build) are skipped, never read, but files stay in order.
    pub fn open(&mut self, index: usize) -> Result<SliceFile> {
        if index < self.next || index >= self.stack.len() {
            return Err(Error::bad_input(
                Path::new(&self.stack.name(index)),
                format!("slice {index} asked out of order"),
            ));
        }
        self.next = index + 1;
        match self.stack {
            Stack::Files(paths) => open_file(&paths[index], self.mode, self.pool.as_ref()),
            Stack::Pages { path, .. } => self.open_page(path, index),
        }
    }

    fn open_page(&mut self, path: &Path, index: usize) -> Result<SliceFile> {
        if self.pages.is_none() {
            let bytes = Shared(Arc::new(FileBytes::open(path, ReadMode::Mmap, None)?));
            let dec = tiff_read::open(path, bytes.clone())?;
            self.pages = Some((bytes, dec, 0));
        }
        let Some((bytes, dec, at)) = &mut self.pages else {
            return Err(Error::bad_input(path, "no pages"));
        };
        // Walking the IFD chain reads headers only.
        while *at < index {
            tiff_read::next_page(path, dec, *at + 1)?;
            *at += 1;
        }
        let slice = from_tiff(path, Some(index), bytes.0.clone(), dec, self.pool.as_ref())
            .map_err(|e| e.in_page(index))?;
        if self.pool.is_some() {
            // The whole file is mapped once; its pages are brought in one by one, as read.
            slice.bring_in();
        } else {
            // Probing: nothing but headers was wanted of the map.
            bytes.0.release(0..bytes.0.len());
        }
        Ok(slice)
    }
}

/// Input slices opened strictly in slice order on a thread of their own, two slices ahead of
/// the cascade: bringing a cold file into memory, reading it into a buffer or decoding it
/// then overlaps with reducing the pair before it, instead of waiting for it, and the disk
/// sees one reader going through the stack front to back. Stops at the first slice that
/// fails, whose error comes in its turn.
pub struct Opener {
    slices: Option<Receiver<Result<SliceFile>>>,
    thread: Option<JoinHandle<()>>,
}

impl Iterator for Opener {
    type Item = Result<SliceFile>;

    /// The next slice of the order, waiting until it is open; None past the last one.
    fn next(&mut self) -> Option<Result<SliceFile>> {
        self.slices.as_ref().and_then(|s| s.recv().ok())
    }
}

impl Drop for Opener {
    /// Stops the thread: its next send fails, and it ends after the file it is opening.
    fn drop(&mut self) {
        self.slices = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
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

fn open_file(path: &Path, mode: ReadMode, pool: Option<&BufferPool>) -> Result<SliceFile> {
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

fn from_tiff(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_read_through_is_counted_whole_and_then_resident() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("slice.raw");
        // Not a multiple of the chunk, so the last read is short.
        let bytes: Vec<u8> = (0..READ_CHUNK * 3 + 1234).map(|i| i as u8).collect();
        std::fs::write(&path, &bytes).unwrap();
        let file = File::open(&path).unwrap();
        let map = map(&file, bytes.len(), Access::Sequential).unwrap();
        // Written back, then dropped from the cache (where the filesystem allows: not tmpfs).
        File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .sync_all()
            .unwrap();
        platform::evict(&file);
        assert_eq!(
            read_through(&file, 0..u64::MAX).unwrap(),
            bytes.len() as u64
        );
        // Only Linux tells what is resident; elsewhere every file is read through first.
        assert_eq!(platform::resident(&map), cfg!(target_os = "linux"));
    }

    #[test]
    fn a_buffered_read_equals_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("slice.raw");
        let bytes: Vec<u8> = (0..READ_CHUNK * 2 + 77).map(|i| (i * 7) as u8).collect();
        std::fs::write(&path, &bytes).unwrap();
        let read = FileBytes::open(&path, ReadMode::Buffered, Some(&BufferPool::default()));
        let read = read.unwrap();
        assert!(!read.is_mapped());
        assert_eq!(&read[..], &bytes[..]);
    }

    /// Resident bytes (`Rss`) of the mapping of this process that starts at `start`.
    #[cfg(target_os = "linux")]
    fn rss_of_map_at(start: usize) -> usize {
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        let mut lines = smaps.lines();
        while let Some(line) = lines.next() {
            let range = line.split_whitespace().next().unwrap_or("");
            let Some((from, _)) = range.split_once('-') else {
                continue;
            };
            if usize::from_str_radix(from, 16) != Ok(start) {
                continue;
            }
            for line in lines.by_ref() {
                if let Some(kb) = line.strip_prefix("Rss:") {
                    let kb = kb.trim().trim_end_matches(" kB").trim();
                    return kb.parse::<usize>().unwrap() << 10;
                }
            }
        }
        panic!("no mapping at {start:#x}");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn counting_the_pages_of_a_multi_page_file_leaves_no_page_mapped() {
        use ::tiff::encoder::{colortype::Gray16, TiffEncoder};
        const PAGES: usize = 16;
        const SIDE: u32 = 1024;
        let mut tiff = Cursor::new(Vec::new());
        let mut encoder = TiffEncoder::new(&mut tiff).unwrap();
        let pixels: Vec<u16> = (0..SIDE * SIDE).map(|i| i as u16).collect();
        for _ in 0..PAGES {
            encoder.write_image::<Gray16>(SIDE, SIDE, &pixels).unwrap();
        }
        // Written in one call, as a scanner's software writes a file: the page cache then
        // holds it in large folios where the filesystem has them (ext4 since Linux 6.16),
        // and a fault on an IFD maps up to 2 MiB around it (32 MiB in all without release).
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stack.tif");
        std::fs::write(&path, tiff.into_inner()).unwrap();
        let bytes = FileBytes::open(&path, ReadMode::Mmap, None).unwrap();
        assert_eq!(count_pages(&path, &bytes).unwrap(), PAGES);
        let rss = rss_of_map_at(bytes.as_ptr() as usize);
        assert!(rss < 256 << 10, "{rss} bytes of the map still resident");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_pages_of_a_multi_page_file_leave_memory_as_they_are_done() {
        use ::tiff::encoder::{colortype::Gray16, TiffEncoder};
        const PAGES: usize = 8;
        const SIDE: u32 = 512;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stack.tif");
        let mut file = File::create(&path).unwrap();
        let mut tiff = TiffEncoder::new(&mut file).unwrap();
        let pixels: Vec<u16> = (0..SIDE * SIDE).map(|i| i as u16).collect();
        for _ in 0..PAGES {
            tiff.write_image::<Gray16>(SIDE, SIDE, &pixels).unwrap();
        }
        drop(file);
        let stack = Stack::new(vec![path]).unwrap();
        assert_eq!(stack.len(), PAGES);
        let mut reader = stack.reader_with(ReadMode::Mmap);
        let mut start = None;
        let mut sum = 0u64;
        for _ in 0..PAGES {
            let slice = reader.next().unwrap().unwrap();
            start.get_or_insert(slice.pixels().0.as_ptr() as usize);
            // Every byte of the page's strips, through the map.
            let strips = &slice.pixels().0[slice.strips()];
            sum += strips.iter().map(|&b| u64::from(b)).sum::<u64>();
        }
        assert!(sum > 0);
        // Every page was read through the map (4 MiB in all); dropped, only headers are left.
        let rss = rss_of_map_at(start.unwrap());
        assert!(rss < 256 << 10, "{rss} bytes of the map still resident");
    }
}
