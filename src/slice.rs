//! One input slice file, mapped read-only for as long as the pyramid needs it.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use memmap2::{Advice, Mmap, MmapOptions};

use crate::error::{Error, Result};
use crate::kernel::Sample;
use crate::layout::SliceLayout;
use crate::plane::Plane;

/// The bytes of a slice file. A map when the OS gives one; the file read into memory when
/// it does not (an empty file, a filesystem without mmap), so every file can still be read.
enum Bytes {
    Mapped(Mmap),
    Read(Vec<u8>),
}

impl std::ops::Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Mapped(m) => m,
            Bytes::Read(v) => v,
        }
    }
}

/// An input slice: its file's bytes and where its pixels are in them.
pub struct SliceFile {
    path: PathBuf,
    bytes: Bytes,
    layout: SliceLayout,
}

impl SliceFile {
    /// Opens `path` read-only, maps it and reads its header. No pixel is touched.
    pub fn open(path: &Path) -> Result<SliceFile> {
        let file = File::open(path).map_err(|e| Error::read(path, e))?;
        let len = file.metadata().map_err(|e| Error::read(path, e))?.len();
        let len = usize::try_from(len)
            .map_err(|_| Error::bad_input(path, "file is larger than the address space"))?;
        let bytes = map(&file, len).map_or_else(
            || {
                let mut buf = Vec::with_capacity(len);
                (&file)
                    .read_to_end(&mut buf)
                    .map_err(|e| Error::read(path, e))?;
                Ok::<_, Error>(Bytes::Read(buf))
            },
            |m| Ok(Bytes::Mapped(m)),
        )?;
        let layout = SliceLayout::parse(path, &bytes)?;
        Ok(SliceFile {
            path: path.to_path_buf(),
            bytes,
            layout,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn layout(&self) -> &SliceLayout {
        &self.layout
    }

    pub fn is_mapped(&self) -> bool {
        matches!(self.bytes, Bytes::Mapped(_))
    }

    /// Asks the kernel to start reading the pixels now, so that they are in memory by the
    /// time the kernels reach them: disk reads overlap with reducing the previous pair.
    pub fn prefetch(&self) {
        if let Bytes::Mapped(m) = &self.bytes {
            // Advice only: a kernel that ignores it costs speed, never correctness.
            let _ = m.advise(Advice::WillNeed);
        }
    }

    /// The pixels as `T`; the caller matched `T` to `layout().depth`.
    pub fn plane<T: Sample>(&self) -> Plane<'_, T> {
        Plane::from_layout(&self.bytes, &self.layout)
    }
}

fn map(file: &File, len: usize) -> Option<Mmap> {
    if len == 0 {
        return None;
    }
    // SAFETY: the map is read-only and private to this process; ctpyramid never writes input
    // files. Another process truncating the file while it is mapped would make reads of the
    // lost pages fault (SIGBUS); the length was read just above and every access is checked
    // against it, which is all a process can do short of copying the file.
    let map = unsafe { MmapOptions::new().len(len).map(file) }.ok()?;
    // The kernels walk each file front to back, once.
    let _ = map.advise(Advice::Sequential);
    Some(map)
}
