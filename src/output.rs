//! Output slices: baseline TIFF files created at their final size, their pixels computed into
//! a reused buffer and written at once (or, `WriteMode::Mapped`, mapped and filled in place).
//!
//! A file is written under a hidden temporary name (`.000012.tif.partial`) and renamed to its
//! final name only once every pixel is in it, so a crash or a kill leaves either a complete
//! file or none under the final name. Space is reserved for real before any pixel is computed
//! (`fallocate`, not a sparse `set_len`): a full disk is then an error on creation instead of
//! a failed write, or a SIGBUS in a map, halfway through.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use memmap2::{MmapMut, MmapOptions};

use crate::decode::{BufferPool, Pooled};
use crate::encode::TiffHeader;
use crate::error::{Error, Result};
use crate::kernel::Sample;
use crate::layout::{Depth, Encoding, SliceLayout};
use crate::plane::Plane;
use crate::sigbus::{self, Registration};

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

/// How output pixels reach their file (also the CLI's `--writer`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum WriteMode {
    /// The kernels fill a buffer reused from file to file, written with one `write` call:
    /// no page fault per output page (the faster; see README "Performance").
    #[default]
    Buffered,
    /// The file is mapped writable and the kernels fill the map in place.
    Mapped,
}

/// Where the pixels of an output slice are computed, and kept while the next level needs them.
enum Pixels {
    /// Fields drop in order: the registration before the map is unmapped.
    Map {
        _registration: Registration,
        map: MmapMut,
    },
    Buffer(Pooled),
}

/// An output slice being written: a preallocated file under its temporary name.
/// Dropped without [`OutputTiff::finish`], it removes its temporary file.
pub struct OutputTiff {
    final_path: PathBuf,
    tmp: TemporaryFile,
    file: File,
    header: TiffHeader,
    pixels: Pixels,
    width: usize,
    height: usize,
    depth: Depth,
}

impl OutputTiff {
    /// A mapped output file with no scale (the demo's phantom writer).
    pub fn create(final_path: PathBuf, width: usize, height: usize, depth: Depth) -> Result<Self> {
        let header = TiffHeader::single(width, height, depth, crate::encode::Scale::Unknown, 0)
            .map_err(|e| Error::write(&final_path, e))?;
        Self::create_with(
            final_path,
            header,
            (width, height, depth),
            WriteMode::Mapped,
            None,
        )
    }

    /// The one-page output file `header` describes, its pixels filled as `mode` says;
    /// buffers come from `pool`.
    pub fn create_with(
        final_path: PathBuf,
        header: TiffHeader,
        (width, height, depth): (usize, usize, Depth),
        mode: WriteMode,
        pool: Option<&BufferPool>,
    ) -> Result<Self> {
        let data_len = header.page_bytes;
        debug_assert_eq!(data_len, width * height * depth.bytes());
        let len = header.file_len() as usize;
        let (tmp, file) = create_reserved(&final_path, len as u64)?;
        let err = |e: io::Error| Error::write(&final_path, e);
        let pixels = match mode {
            WriteMode::Mapped => {
                // SAFETY: the file was just created by this process under a name no other
                // program uses, and its length is `len`, reserved on disk above. Nothing else
                // truncates it while it is mapped, so every access inside the map is backed
                // by the file; the map is registered with the SIGBUS handler all the same.
                let mut map = unsafe { MmapOptions::new().len(len).map_mut(&file) }.map_err(err)?;
                map[..header.data_offset].copy_from_slice(&header.bytes);
                let registration = sigbus::register(map.as_ptr(), map.len(), &final_path, true);
                Pixels::Map {
                    _registration: registration,
                    map,
                }
            }
            WriteMode::Buffered => {
                let mut buffer = Pooled::from(pool);
                buffer
                    .bytes_mut(data_len)
                    .map_err(|reason| Error::write(&final_path, io::Error::other(reason)))?;
                Pixels::Buffer(buffer)
            }
        };
        Ok(OutputTiff {
            final_path,
            tmp,
            file,
            header,
            pixels,
            width,
            height,
            depth,
        })
    }

    fn data_len(&self) -> usize {
        self.width * self.height * self.depth.bytes()
    }

    /// The pixel rows, to be filled by the kernels.
    pub fn pixels_mut<T: Sample>(&mut self) -> &mut [T] {
        debug_assert_eq!(T::BITS, self.depth.bits());
        let (start, len) = (self.header.data_offset, self.data_len());
        // Maps are page-aligned, the data offset a multiple of 16, buffers `u16`-aligned
        // and sized in `create_with`: the casts never fail.
        match &mut self.pixels {
            Pixels::Map { map, .. } => bytemuck::cast_slice_mut(&mut map[start..start + len]),
            Pixels::Buffer(buffer) => bytemuck::cast_slice_mut(&mut buffer.all_bytes_mut()[..len]),
        }
    }

    /// Gives the file its final name. With `durable`, data and name are on disk first, at
    /// the cost of a disk flush per file; without it they are in the page cache, which
    /// survives the process being killed (but not a power cut).
    pub fn finish(self, durable: bool) -> Result<FinishedTiff> {
        use std::os::unix::fs::FileExt;
        let data_len = self.data_len();
        let OutputTiff {
            final_path,
            mut tmp,
            file,
            header,
            pixels,
            width,
            height,
            depth,
        } = self;
        let publish = || -> io::Result<()> {
            match &pixels {
                Pixels::Map { map, .. } => {
                    if durable {
                        map.flush()?;
                    }
                }
                Pixels::Buffer(buffer) => {
                    file.write_all_at(&header.bytes, 0)?;
                    file.write_all_at(&buffer.bytes()[..data_len], header.data_offset as u64)?;
                }
            }
            if durable {
                file.sync_all()?;
            }
            std::fs::rename(&tmp.path, &final_path)?;
            if durable {
                if let Some(dir) = final_path.parent() {
                    File::open(dir)?.sync_all()?;
                }
            }
            Ok(())
        };
        publish().map_err(|e| Error::write(&final_path, e))?;
        tmp.keep = true;
        let mut layout = SliceLayout::contiguous(width, height, depth, Encoding::native_gray());
        if let Pixels::Map { .. } = pixels {
            layout.strip_offsets = vec![header.data_offset];
        }
        Ok(FinishedTiff { pixels, layout })
    }
}

/// Removes the file at its path when dropped, unless kept.
struct TemporaryFile {
    path: PathBuf,
    keep: bool,
}

impl Drop for TemporaryFile {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// A complete output slice under its final name, its pixels kept (mapped or in their buffer)
/// while the next level needs them.
pub struct FinishedTiff {
    pixels: Pixels,
    layout: SliceLayout,
}

impl FinishedTiff {
    pub fn plane<T: Sample>(&self) -> Plane<'_, T> {
        match &self.pixels {
            Pixels::Map { map, .. } => Plane::new(map, &self.layout),
            Pixels::Buffer(buffer) => Plane::new(buffer.bytes(), &self.layout),
        }
    }
}

/// Creates `final_path`'s temporary file with `len` bytes reserved for real: a full disk
/// fails here, before any work.
fn create_reserved(final_path: &Path, len: u64) -> Result<(TemporaryFile, File)> {
    let tmp_path = temporary_name(final_path);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp_path)
        .map_err(|e| Error::write(&tmp_path, e))?;
    let tmp = TemporaryFile {
        path: tmp_path,
        keep: false,
    };
    reserve(&file, len).map_err(|e| Error::write(final_path, e))?;
    Ok((tmp, file))
}

/// A level as one multi-page file (`--layout stack`), preallocated at its final size; its
/// pages are written in place as the cascade computes them, and the file renamed to its final
/// name once every page is in it. Dropped without [`StackTiff::finish`], it removes its
/// temporary file.
pub struct StackTiff {
    final_path: PathBuf,
    tmp: TemporaryFile,
    file: File,
    header: TiffHeader,
    width: usize,
    height: usize,
    depth: Depth,
}

impl StackTiff {
    pub fn create(
        final_path: PathBuf,
        header: TiffHeader,
        (width, height, depth): (usize, usize, Depth),
    ) -> Result<Self> {
        use std::os::unix::fs::FileExt;
        let (tmp, file) = create_reserved(&final_path, header.file_len())?;
        file.write_all_at(&header.bytes, 0)
            .map_err(|e| Error::write(&final_path, e))?;
        Ok(StackTiff {
            final_path,
            tmp,
            file,
            header,
            width,
            height,
            depth,
        })
    }

    /// Computes page `page` with `fill` into a buffer of `pool` and writes it in place.
    pub fn write_page<T: Sample>(
        &self,
        page: usize,
        pool: &BufferPool,
        fill: impl FnOnce(&mut [T]),
    ) -> Result<FinishedTiff> {
        use std::os::unix::fs::FileExt;
        let len = self.header.page_bytes;
        let mut buffer = pool.take();
        let bytes = buffer
            .bytes_mut(len)
            .map_err(|reason| Error::write(&self.final_path, io::Error::other(reason)))?;
        fill(bytemuck::cast_slice_mut(bytes));
        let at = self.header.data_offset as u64 + (page * len) as u64;
        let written = self.file.write_all_at(&buffer.bytes()[..len], at);
        let layout =
            SliceLayout::contiguous(self.width, self.height, self.depth, Encoding::native_gray());
        let finished = FinishedTiff {
            pixels: Pixels::Buffer(buffer),
            layout,
        };
        written.map_err(|e| Error::write(&self.final_path, e))?;
        Ok(finished)
    }

    /// Gives the file its final name once every page is written.
    pub fn finish(self, durable: bool) -> Result<PathBuf> {
        let StackTiff {
            final_path,
            mut tmp,
            file,
            ..
        } = self;
        let publish = || -> io::Result<()> {
            if durable {
                file.sync_all()?;
            }
            std::fs::rename(&tmp.path, &final_path)
        };
        publish().map_err(|e| Error::write(&final_path, e))?;
        tmp.keep = true;
        Ok(final_path)
    }
}

fn temporary_name(final_path: &Path) -> PathBuf {
    let name = final_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    final_path.with_file_name(format!(".{name}.partial"))
}

/// Allocates `len` bytes of disk for `file` (and sets its length), failing now if the disk
/// is full. Falls back to a plain `set_len` where the filesystem cannot preallocate.
fn reserve(file: &File, len: u64) -> io::Result<()> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use rustix::fs::{fallocate, FallocateFlags};
        match fallocate(file, FallocateFlags::empty(), 0, len) {
            Ok(()) => return Ok(()),
            Err(e) if e == rustix::io::Errno::OPNOTSUPP || e == rustix::io::Errno::NOSYS => {}
            Err(e) => return Err(e.into()),
        }
    }
    file.set_len(len)
}
