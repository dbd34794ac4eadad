//! The slices of a build ([`Stack`]): one file each, or the pages of one multi-page TIFF,
//! opened strictly in slice order ([`SliceReader`], and ahead on a thread by [`Opener`]).

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver};
use std::sync::Arc;
use std::thread::JoinHandle;

use super::bytes::{FileBytes, ReadMode, Shared};
use super::decode::{tiff as tiff_read, Format};
use super::slice::{from_tiff, open_file, SliceFile};
use crate::error::{Error, Result};
use crate::pixel::{BufferPool, Depth};

/// The slices of a build, in order.
#[derive(Clone, Debug)]
pub enum Stack {
    /// One slice a file (the first image of each).
    Files(Vec<PathBuf>),
    /// Each page of one multi-page TIFF is a slice (ImageJ and tifffile stacks).
    Pages {
        /// The file.
        path: PathBuf,
        /// Its pages.
        pages: usize,
    },
    /// A box of another stack: slices `z` of it, each cut to columns `x` and rows `y` (see
    /// [`SliceFile::view`]). Where pixels are stored plainly only the band of rows of the box
    /// is read.
    View(Box<View>),
}

/// A box of a stack, as [`Stack::View`] holds it.
#[derive(Clone, Debug)]
pub struct View {
    /// The stack the box is of.
    pub base: Stack,
    /// Its slices, columns and rows in the box.
    pub z: std::ops::Range<usize>,
    pub x: std::ops::Range<usize>,
    pub y: std::ops::Range<usize>,
    /// The width, height and depth every slice of `base` has: a slice of another is refused,
    /// naming it, before it is cut (cut to the box, it could look the same).
    pub size: [usize; 2],
    pub depth: Depth,
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

    /// The stack `input` names, its slice files `paths` as [`crate::input::select`] listed
    /// them: a folder's files, or the pages of `input` itself when it is a multi-page TIFF.
    /// Any other file is refused: a folder of slices or a multi-page TIFF is expected.
    pub fn open(input: &Path, paths: Vec<PathBuf>) -> Result<Stack> {
        let stack = Stack::new(paths)?;
        if !input.is_file() || matches!(stack, Stack::Pages { .. }) {
            return Ok(stack);
        }
        let bytes = FileBytes::open(input, ReadMode::Mmap, None)?;
        let what = match Format::sniff(&bytes) {
            Some(Format::Tiff) => "a TIFF of one page".to_string(),
            Some(format) => format!("a {} file", format.name()),
            None => "not an image file".to_string(),
        };
        let reason = format!("{what}: a folder of slices, or a multi-page TIFF, was expected");
        Err(Error::bad_input(input, reason))
    }

    /// The number of slices.
    pub fn len(&self) -> usize {
        match self {
            Stack::Files(f) => f.len(),
            Stack::Pages { pages, .. } => *pages,
            Stack::View(v) => v.z.len(),
        }
    }

    /// Whether there is no slice.
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
            Stack::View(v) => v.base.name(v.z.start + index),
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
            base: None,
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
    /// For a [`Stack::View`]: readers of the stack it is a box of, probing headers (and
    /// reading plain pixels through the map) and decoding.
    base: Option<Box<[SliceReader<'s>; 2]>>,
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
            Stack::View(view) => self.open_view(view, index),
        }
    }

    /// Slice `index` of a box: the slice of the stack it is of, probed, and decoded only if
    /// its pixels are not stored plainly (or the mode reads whole files), then cut to the box.
    fn open_view(&mut self, view: &'s View, index: usize) -> Result<SliceFile> {
        let mode = self.mode;
        let [prober, decoder] = &mut **self
            .base
            .get_or_insert_with(|| Box::new([view.base.prober(), view.base.reader_with(mode)]));
        let z = view.z.start + index;
        let mut slice = prober.open(z)?;
        let l = slice.layout();
        if (l.width, l.height, l.depth) != (view.size[0], view.size[1], view.depth) {
            let [w, h] = view.size;
            return Err(Error::bad_input(
                Path::new(&slice.name()),
                format!(
                    "slice is {}, the stack's slices are {w}x{h} {}",
                    l.describe(),
                    view.depth
                ),
            ));
        }
        let pixels = self.pool.is_some();
        if pixels && (mode == ReadMode::Buffered || !slice.has_pixels()) {
            drop(slice);
            slice = decoder.open(z)?;
        }
        Ok(slice.view(&view.x, &view.y, pixels))
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

#[cfg(test)]
// Both read the process's memory map from /proc.
#[cfg(target_os = "linux")]
mod tests {
    use super::*;
    use std::fs::File;

    /// Resident bytes (`Rss`) of the mapping of this process that starts at `start`.
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

    #[test]
    fn a_slice_released_leaves_no_page_mapped() {
        use ::tiff::encoder::{colortype::Gray16, TiffEncoder};
        const SIDE: u32 = 1024;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s0000.tif");
        let mut file = File::create(&path).unwrap();
        let pixels: Vec<u16> = (0..SIDE * SIDE).map(|i| i as u16).collect();
        TiffEncoder::new(&mut file)
            .unwrap()
            .write_image::<Gray16>(SIDE, SIDE, &pixels)
            .unwrap();
        drop(file);
        let stack = Stack::new(vec![path]).unwrap();
        let slice = stack.reader_with(ReadMode::Mmap).next().unwrap().unwrap();
        let start = slice.pixels().0.as_ptr() as usize;
        // Every byte of the file, through the map: 2 MiB resident.
        let sum: u64 = slice.pixels().0.iter().map(|&b| u64::from(b)).sum();
        assert!(sum > 0);
        assert!(rss_of_map_at(start) >= 1 << 20);
        slice.release();
        let rss = rss_of_map_at(start);
        assert!(rss < 256 << 10, "{rss} bytes of the map still resident");
    }

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
