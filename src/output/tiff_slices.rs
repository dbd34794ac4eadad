//! CTHarvester's layout: `<out>/<L>/<k:06>.tif`, one baseline uncompressed TIFF a slice
//! (`--layout slices`, the default). Each file is created at its final size, its header
//! ([`crate::encode`]) naming the inputs it was computed from, and written whole by the
//! writer thread from a buffer (or, `--writer mapped`, mapped and filled in place), under a
//! temporary name then renamed. `pyramid.json` beside the levels marks the pyramid complete.

use std::fs::File;
use std::ops::Range;
use std::path::{Path, PathBuf};

use memmap2::{MmapMut, MmapOptions};

use super::{
    create_reserved, publish, Check, Computed, Finished, LevelWriter, Mark, Pixels, Recorded, Scan,
    Target, TemporaryFile, WriteMode, Writer, Written,
};
use crate::decode::BufferPool;
use crate::encode::TiffHeader;
use crate::error::{Error, Result};
use crate::kernel::Sample;
use crate::layout::{Depth, Encoding, SliceLayout};
use crate::manifest::Record;
use crate::pyramid::{Layout, Plan, Source};
use crate::shard;
use crate::sigbus::{self, Registration};

pub fn level_dir(root: &Path, level: usize) -> PathBuf {
    root.join(level.to_string())
}

pub fn slice_path(root: &Path, level: usize, index: usize) -> PathBuf {
    level_dir(root, level).join(format!("{index:06}.tif"))
}

/// The names of each level's files, relative to the output root, for `pyramid.json`.
pub fn file_names(plan: &Plan) -> Vec<Vec<String>> {
    plan.levels
        .iter()
        .map(|l| {
            (0..l.slices)
                .map(|k| format!("{}/{k:06}.tif", l.level))
                .collect()
        })
        .collect()
}

/// Each level's header, of its slice files or of its stack file.
pub(super) fn headers(target: &Target<'_>, layout: Layout) -> Result<Vec<TiffHeader>> {
    let plan = target.plan;
    plan.levels
        .iter()
        .map(|l| plan.header(l, layout))
        .collect::<std::io::Result<Vec<_>>>()
        .map_err(|e| Error::write(target.out_root, e))
}

/// One file a slice.
pub struct TiffSlices<'a> {
    plan: &'a Plan,
    root: PathBuf,
    headers: Vec<TiffHeader>,
    durable: bool,
    mode: WriteMode,
    /// Output pixel buffers: each level holds at most one slice, so a few in all.
    pool: BufferPool,
    record: Record,
}

impl<'a> TiffSlices<'a> {
    pub fn new(target: Target<'a>) -> Result<Self> {
        Ok(TiffSlices {
            headers: headers(&target, Layout::Slices)?,
            plan: target.plan,
            root: target.out_root.to_path_buf(),
            durable: target.durable,
            mode: target.writer,
            pool: BufferPool::default(),
            record: target.record,
        })
    }
}

impl LevelWriter for TiffSlices<'_> {
    /// Removes the temporary files of this shard's slices (another shard may be writing the
    /// others now), and numbered slices beyond this run's count (a viewer that counts files
    /// must not see them).
    fn prepare(&mut self, range: &Range<usize>) -> Result<()> {
        let remove =
            |path: PathBuf| std::fs::remove_file(&path).map_err(|e| Error::write(&path, e));
        for level in &self.plan.levels {
            let dir = level_dir(&self.root, level.level);
            std::fs::create_dir_all(&dir).map_err(|e| Error::write(&dir, e))?;
            let mine = shard::level_range(range, level.level, level.slices);
            let entries = std::fs::read_dir(&dir).map_err(|e| Error::write(&dir, e))?;
            for entry in entries.flatten() {
                let name = entry.file_name();
                let Some(name) = name.to_str() else { continue };
                let number = |n: &str| (n.len() == 6).then(|| n.parse::<usize>().ok()).flatten();
                let stale = match name.strip_suffix(".tif") {
                    Some(n) => number(n).is_some_and(|k| k >= level.slices),
                    None => name
                        .strip_prefix('.')
                        .and_then(|n| n.strip_suffix(".tif.partial"))
                        .and_then(number)
                        .is_some_and(|k| mine.contains(&k)),
                };
                if stale {
                    remove(entry.path())?;
                }
            }
        }
        Ok(())
    }

    fn scan(&self, force: bool, _range: &Range<usize>, _check: Check) -> Result<Scan> {
        let levels = self
            .plan
            .levels
            .iter()
            .zip(&self.headers)
            .map(|(l, header)| {
                (0..l.slices)
                    .map(|k| !force && is_complete(&slice_path(&self.root, l.level, k), header))
                    .collect()
            })
            .collect();
        Ok(Scan {
            levels,
            input: Vec::new(),
            stale: self.record.recorded() == Recorded::Stale,
        })
    }

    fn begin(&mut self, _scan: &Scan) -> Result<()> {
        Ok(())
    }

    fn write(
        &mut self,
        level: usize,
        index: usize,
        fill: &mut dyn FnMut(&mut [u8]),
        writer: &mut Writer<Written>,
    ) -> Result<(Finished, Vec<Written>)> {
        let size = self.plan.slice_size(level);
        let header = self.headers[level - 1].clone();
        let path = slice_path(&self.root, level, index);
        let written = Written {
            level,
            slices: index..index + 1,
            files: 1,
        };
        if self.mode == WriteMode::Mapped {
            // The file is created first and filled in place.
            let mut out = OutputTiff::create_with(path, header, size)?;
            fill(out.pixel_bytes_mut());
            return Ok((out.finish(self.durable)?, vec![written]));
        }
        let computed = Computed::new(&path, size, &self.pool, fill)?;
        let pixels = computed.share();
        let durable = self.durable;
        let job =
            Box::new(move || super::write_file(&path, &[&header.bytes, pixels.bytes()], durable));
        let done = writer.submit(Some(written), job)?;
        Ok((computed.finished(), done))
    }

    fn read_back(&self, level: usize, index: usize) -> Result<Source> {
        let path = slice_path(&self.root, level, index);
        Ok(Source::Input(crate::slice::open_output(&path)?))
    }

    fn finish(&mut self, _writer: &mut Writer<Written>) -> Result<Vec<Written>> {
        Ok(Vec::new())
    }

    fn path(&self, level: usize, index: usize) -> PathBuf {
        slice_path(&self.root, level, index)
    }

    fn mark(&self) -> &dyn Mark {
        &self.record
    }
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

/// An output slice mapped and filled in place (`WriteMode::Mapped`, and the demo's phantom
/// writer): a preallocated file under its temporary name. Dropped without
/// [`OutputTiff::finish`], it removes its temporary file.
pub struct OutputTiff {
    final_path: PathBuf,
    tmp: TemporaryFile,
    file: File,
    header: TiffHeader,
    _registration: Registration,
    map: MmapMut,
    width: usize,
    height: usize,
    depth: Depth,
}

impl OutputTiff {
    /// A mapped output file with no scale (the demo's phantom writer).
    pub fn create(final_path: PathBuf, width: usize, height: usize, depth: Depth) -> Result<Self> {
        let header = TiffHeader::single(width, height, depth, crate::encode::Scale::Unknown, 0)
            .map_err(|e| Error::write(&final_path, e))?;
        Self::create_with(final_path, header, (width, height, depth))
    }

    /// The one-page output file `header` describes, mapped for the kernels to fill.
    pub fn create_with(
        final_path: PathBuf,
        header: TiffHeader,
        (width, height, depth): (usize, usize, Depth),
    ) -> Result<Self> {
        debug_assert_eq!(header.page_bytes, width * height * depth.bytes());
        let len = header.file_len() as usize;
        let (tmp, file) = create_reserved(&final_path, len as u64)?;
        // SAFETY: the file was just created by this process under a name no other program
        // uses, and its length is `len`, reserved on disk above. Nothing else truncates it
        // while it is mapped, so every access inside the map is backed by the file; the map
        // is registered with the SIGBUS handler all the same.
        let mut map = unsafe { MmapOptions::new().len(len).map_mut(&file) }
            .map_err(|e| Error::write(&final_path, e))?;
        map[..header.data_offset].copy_from_slice(&header.bytes);
        let registration = sigbus::register(map.as_ptr(), map.len(), &final_path, true);
        Ok(OutputTiff {
            final_path,
            tmp,
            file,
            header,
            _registration: registration,
            map,
            width,
            height,
            depth,
        })
    }

    /// The pixel rows, to be filled by the kernels.
    pub fn pixels_mut<T: Sample>(&mut self) -> &mut [T] {
        debug_assert_eq!(T::BITS, self.depth.bits());
        // Maps are page-aligned and the data offset a multiple of 16: the cast never fails.
        bytemuck::cast_slice_mut(self.pixel_bytes_mut())
    }

    /// The pixel bytes, to be filled by the kernels.
    pub fn pixel_bytes_mut(&mut self) -> &mut [u8] {
        let (start, len) = (self.header.data_offset, self.header.page_bytes);
        &mut self.map[start..start + len]
    }

    /// Gives the file its final name. With `durable`, data and name are on disk first, at
    /// the cost of a disk flush per file; without it they are in the page cache, which
    /// survives the process being killed (but not a power cut).
    pub fn finish(self, durable: bool) -> Result<Finished> {
        let OutputTiff {
            final_path,
            tmp,
            file,
            header,
            _registration,
            map,
            width,
            height,
            depth,
        } = self;
        if durable {
            map.flush().map_err(|e| Error::write(&final_path, e))?;
        }
        publish(tmp, &file, &final_path, durable)?;
        let mut layout = SliceLayout::contiguous(width, height, depth, Encoding::native_gray());
        layout.strip_offsets = vec![header.data_offset];
        Ok(Finished {
            pixels: Pixels::Map { _registration, map },
            layout,
        })
    }
}
