//! CTHarvester's layout: `<out>/<L>/<k:06>.tif`, one baseline uncompressed TIFF a slice
//! (`--layout slices`, the default). Each file is created at its final size, its header
//! ([`super::tiff_header`]) naming the inputs it was computed from, and written whole by the
//! writer thread from a buffer (or, `--writer mapped`, mapped and filled in place), under a
//! temporary name then renamed. `pyramid.json` beside the levels marks the pyramid complete.

use std::fs::File;
use std::ops::Range;
use std::path::PathBuf;

use memmap2::{MmapMut, MmapOptions};

use super::manifest::Manifest;
use super::pixels::OutputPixels;
use super::tiff_files::{level_dir, remove_other_layout, slice_number, slice_path};
use super::tiff_header::{headers, is_complete, Scale, TiffHeader};
use super::{
    Check, Computed, Finished, LevelWriter, Mark, PixelSource, Recorded, Scan, Target, WriteQueue,
    Written,
};
use crate::error::{Error, Result};
use crate::options::{TiffLayout, WriteMode};
use crate::pixel::{BufferPool, Depth, Encoding, Sample, SliceLayout};
use crate::plan::Plan;
use crate::platform::sigbus::{self, Registration};
use crate::publish::{self, create_reserved, TemporaryFile};
use crate::shard;

/// One file a slice.
pub struct TiffSlices<'a> {
    plan: &'a Plan,
    root: PathBuf,
    headers: Vec<TiffHeader>,
    durable: bool,
    mode: WriteMode,
    /// Output pixel buffers: each level holds at most one slice, so a few in all.
    pool: BufferPool,
    manifest: Manifest,
}

impl<'a> TiffSlices<'a> {
    pub fn new(target: Target<'a>) -> Result<Self> {
        Ok(TiffSlices {
            headers: headers(&target, TiffLayout::Slices)?,
            manifest: Manifest::new(&target),
            plan: target.plan,
            root: target.out_root.to_path_buf(),
            durable: target.durable,
            mode: target.writer,
            pool: BufferPool::default(),
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
        remove_other_layout(&self.root, TiffLayout::Slices)?;
        for level in &self.plan.levels {
            let dir = level_dir(&self.root, level.level);
            std::fs::create_dir_all(&dir).map_err(|e| Error::write(&dir, e))?;
            let mine = shard::level_range(range, level.level, level.slices);
            let entries = std::fs::read_dir(&dir).map_err(|e| Error::write(&dir, e))?;
            for entry in entries.flatten() {
                let stale = match slice_number(&entry.file_name().to_string_lossy()) {
                    Some((k, false)) => k >= level.slices,
                    Some((k, true)) => mine.contains(&k),
                    None => false,
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
            stale: self.manifest.recorded() == Recorded::Stale,
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
        writer: &mut WriteQueue<Written>,
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
            Box::new(move || publish::write_file(&path, &[&header.bytes, pixels.bytes()], durable));
        let done = writer.submit(Some(written), job)?;
        Ok((computed.finished(), done))
    }

    fn read_back(&self, level: usize, index: usize) -> Result<PixelSource> {
        let path = slice_path(&self.root, level, index);
        Ok(PixelSource::File(std::sync::Arc::new(
            crate::input::slice::open_output(&path)?,
        )))
    }

    fn finish(&mut self, _writer: &mut WriteQueue<Written>) -> Result<Vec<Written>> {
        Ok(Vec::new())
    }

    fn path(&self, level: usize, index: usize) -> PathBuf {
        slice_path(&self.root, level, index)
    }

    fn mark(&self) -> &dyn Mark {
        &self.manifest
    }
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
        let header = TiffHeader::single(width, height, depth, Scale::Unknown, 0)
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
        debug_assert_eq!(T::DEPTH, self.depth);
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
        publish::publish(tmp, &file, &final_path, durable)?;
        let mut layout = SliceLayout::contiguous(width, height, depth, Encoding::native_gray());
        layout.strip_offsets = vec![header.data_offset];
        Ok(Finished {
            pixels: OutputPixels::Map { _registration, map },
            layout,
        })
    }
}
