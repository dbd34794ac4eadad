//! A file's bytes, mapped read-only or read into a buffer: the one place that decides, and
//! that reads files as fast as the disk streams them.

use std::fs::File;
use std::io::Read;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use memmap2::{Mmap, MmapOptions};

use crate::error::{Error, Result};
use crate::pixel::{Buffer, BufferPool, Pooled};
use crate::platform::sigbus::{self, Registration};
use crate::platform::{self, Access};

crate::choice::choice! {
    /// How input files are brought into memory (also the CLI's `--reader`); outputs are the
    /// same whatever it is.
    pub enum ReadMode {
        /// Mapped, except files on network filesystems (NFS, SMB, FUSE...), which are read: a
        /// map there gains nothing and faults if another host truncates the file.
        Auto = "auto",
        /// Mapped whenever the OS allows it.
        Mmap = "mmap",
        /// Read with plain `read` calls into a buffer reused from file to file.
        Buffered = "buffered",
    }
}

impl ReadMode {
    /// What this mode does with a file on a network filesystem (`network`) or a local one:
    /// `Auto` maps local files and reads the others.
    pub fn on(self, network: bool) -> ReadMode {
        match self {
            ReadMode::Auto if network => ReadMode::Buffered,
            ReadMode::Auto => ReadMode::Mmap,
            mode => mode,
        }
    }
}

/// The bytes of a file: a read-only map, or the file read into a buffer (by choice, or when
/// the OS will not map it: an empty file, a filesystem without mmap).
pub enum FileBytes {
    /// The registration comes first so it is dropped, and the range forgotten by the SIGBUS
    /// handler, before the map is unmapped. The file is kept to read ranges of it through.
    Mapped {
        _registration: Registration,
        map: Mmap,
        file: File,
    },
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
        // A probe (no pool: headers only, or a box's band read alone after them) maps even
        // a network file: its faults read the header's pages alone, where reading the file
        // into a buffer read all of it, on the share, for a few hundred bytes.
        let map_it = match mode {
            ReadMode::Auto if pool.is_none() => ReadMode::Mmap,
            ReadMode::Auto => mode.on(platform::on_network_filesystem(&file, path)),
            mode => mode,
        } == ReadMode::Mmap;
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
                let bytes = FileBytes::Mapped {
                    _registration: registration,
                    map,
                    file,
                };
                if pool.is_some() {
                    bytes.bring_in(0..len);
                }
                return Ok(bytes);
            }
        }
        let mut buffer = Pooled::from(pool, len);
        let bytes = buffer
            .bytes_mut(len)
            .map_err(|reason| Error::bad_input(path, reason))?;
        read_sequentially(&file, bytes).map_err(|e| Error::read(path, e))?;
        Ok(FileBytes::Read(buffer, len))
    }

    /// Makes sure `range` of a mapped file is in the page cache before the kernels fault it
    /// in: if it does not look resident, it is read through as `cat` would (see
    /// [`read_through`]). Speed only: whatever fails here fails again, reported, when the
    /// kernels read the map. Returns the bytes read through (0 when resident, or read
    /// into a buffer already).
    pub fn bring_in(&self, range: Range<usize>) -> u64 {
        if let FileBytes::Mapped { map: m, file, .. } = self {
            let range = range.start.min(m.len())..range.end.min(m.len());
            if !platform::resident(&m[range.clone()]) {
                return read_through(file, range.start as u64..range.end as u64).unwrap_or(0);
            }
        }
        0
    }

    /// [`FileBytes::bring_in`] for a band of a file read alone (the rows of a box): the kernel is
    /// asked for the band, and the band alone, at once ([`platform::prefetch`]) before it is
    /// read, where read-ahead would fetch it a small request at a time, each waited for, and
    /// with the sequential advice of whole files (twice the disk's read-ahead) megabytes past
    /// its end: a 0.8 MB band of each 8 MB file read 4.5 MB. Returns the bytes read.
    pub fn bring_in_band(&self, range: Range<usize>) -> u64 {
        if let FileBytes::Mapped { map: m, file, .. } = self {
            let range = range.start.min(m.len())..range.end.min(m.len());
            if !platform::resident(&m[range.clone()]) {
                // The first chunk is read before the rest is asked for: asked for at once,
                // the kernel's requests for the rest could reach the disk before the first
                // chunk's, a seek back on a spinning disk or a share (hddfs showed it).
                let (start, end) = (range.start as u64, range.end as u64);
                let first = (start - start % READ_CHUNK as u64 + READ_CHUNK as u64).min(end);
                let head = read_range(file, start..first).unwrap_or(0);
                platform::prefetch(file, first..end);
                return head + read_range(file, first..end).unwrap_or(0);
            }
        }
        0
    }

    /// Drops the process's mappings of `range` of a mapped file (the pages stay in the page
    /// cache): the pages of a multi-page file share one map, which would otherwise hold every
    /// page read so far in the process's memory until the last one is done. Walking the IFDs
    /// of a file cached in large folios needs it too: one fault there maps a whole folio, up
    /// to 2 MiB, so counting the 128 pages of a 1 GiB file (one IFD each) left 217 MB mapped.
    pub(super) fn release(&self, range: Range<usize>) {
        if let FileBytes::Mapped { map: m, .. } = self {
            let range = range.start.min(m.len())..range.end.min(m.len());
            platform::release_map_range(m, range);
        }
    }

    pub fn is_mapped(&self) -> bool {
        matches!(self, FileBytes::Mapped { .. })
    }
}

impl std::ops::Deref for FileBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            FileBytes::Mapped { map, .. } => map,
            FileBytes::Read(b, len) => &b.bytes()[..*len],
        }
    }
}

pub(super) fn map(file: &File, len: usize, access: Access) -> Option<Mmap> {
    if len == 0 {
        return None;
    }
    // SAFETY: the map is read-only and private to this process; ctpyramid never writes input
    // files. Another process truncating the file while it is mapped makes reads of the lost
    // pages fault (SIGBUS): the length was read just above and every access is checked
    // against it, and the map is registered with the SIGBUS handler (`crate::platform::sigbus`), which
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
    platform::advise_sequential(file);
    read_range(file, range)
}

/// Reads `range` of `file` (to its end at most), `READ_CHUNK` bytes a call from a multiple of
/// it, into a scratch buffer, with the file's read-ahead as it is: its pages stay in the page
/// cache. The bytes read.
fn read_range(file: &File, range: Range<u64>) -> std::io::Result<u64> {
    thread_local! {
        static SCRATCH: std::cell::RefCell<Buffer> = std::cell::RefCell::default();
    }
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
pub(super) struct Shared(pub(super) Arc<FileBytes>);

impl AsRef<[u8]> for Shared {
    fn as_ref(&self) -> &[u8] {
        &self.0
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
    fn auto_maps_local_files_and_reads_network_ones() {
        assert_eq!(ReadMode::Auto.on(false), ReadMode::Mmap);
        assert_eq!(ReadMode::Auto.on(true), ReadMode::Buffered);
        assert_eq!(ReadMode::Mmap.on(true), ReadMode::Mmap);
        assert_eq!(ReadMode::Buffered.on(false), ReadMode::Buffered);
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
}
