//! Every difference between Linux, macOS and Windows lives here, behind one small API: the
//! rest of the crate has no `cfg(unix)` or `target_os`. Each function says what it does on
//! each system; where a system has no equivalent the function does nothing, and says why
//! that is safe (speed only, or a guarantee the system gives by itself).
//!
//! - `unix`: Linux and macOS (positional I/O, `madvise`/`fadvise`, `mincore`, `fallocate`,
//!   `statfs`, SIGINT/SIGTERM, SIGBUS). The Linux paths are the measured, tuned ones.
//! - `windows`: `seek_read`/`seek_write`, drive types, the console control handler.
//! - [`path`]: how paths are shown and classified on Windows, as pure functions that are
//!   unit-tested on every system.

use std::fs::File;
use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use memmap2::Mmap;

pub mod path;
pub mod sigbus;

#[cfg(unix)]
mod unix;
#[cfg(unix)]
use unix as os;

#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows as os;

/// Reads into `buf` from `offset` of `file`, without using or moving a shared cursor on Unix
/// (`pread`). On Windows (`seek_read`) the file's cursor moves: callers never mix this with
/// cursor reads of the same handle.
pub fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    os::read_at(file, buf, offset)
}

/// Writes all of `buf` at `offset` of `file` (`pwrite` on Unix, `seek_write` on Windows).
pub fn write_all_at(file: &File, buf: &[u8], offset: u64) -> io::Result<()> {
    os::write_all_at(file, buf, offset)
}

/// How a map is about to be read, for the kernel's read-ahead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Front to back, every byte: read ahead generously.
    Sequential,
    /// A few headers here and there: fault in one page at a time.
    Random,
}

/// Tells the kernel how `map` will be read (`madvise`). Nothing on Windows, which has no
/// equivalent for a view of a file (`PrefetchVirtualMemory` fetches ranges, not a policy;
/// `FileBytes::bring_in` does that job by reading files through first). Speed only.
pub fn advise_map(map: &Mmap, access: Access) {
    os::advise_map(map, access)
}

/// Drops this process's page tables for `range` of `map`, keeping the pages in the page cache
/// (`madvise(MADV_DONTNEED)`), so that a multi-page file's finished pages stop counting in
/// the process's memory. Nothing on Windows, which trims the working set of clean file pages
/// by itself under memory pressure. A later read of the range reads the same bytes again.
pub fn release_map_range(map: &Mmap, range: Range<usize>) {
    os::release_map_range(map, range)
}

/// Asks for `buf`, a large buffer filled once and reused, to be backed by huge pages (Linux
/// `madvise(MADV_HUGEPAGE)`, where transparent huge pages are left to `madvise`): one fault
/// per 2 MiB instead of 512. Nothing elsewhere. Speed only.
pub fn advise_huge_pages(buf: &mut [u8]) {
    os::advise_huge_pages(buf)
}

/// Tells the kernel `file` is read front to back (Linux `fadvise`, which doubles its
/// read-ahead); nothing elsewhere.
pub fn advise_sequential(file: &File) {
    os::advise_sequential(file)
}

/// Asks the kernel to start reading `range` of `file` into the page cache now, in as few and
/// as large requests as it likes (Linux `fadvise WILLNEED`), rather than as reads of it come:
/// for a band of a file read alone, whose reads the kernel's read-ahead would otherwise serve
/// one small request at a time. Nothing elsewhere. Speed only.
pub fn prefetch(file: &File, range: Range<u64>) {
    os::prefetch(file, range)
}

/// Asks the kernel to drop `file`'s cached pages (`bench --cold`; Linux `fadvise DONTNEED`,
/// which needs no root). Nothing on macOS and Windows, where a cold run needs a reboot or
/// a tool of the system (`purge`, RAMMap): `bench` says so in its report.
pub fn evict(file: &File) {
    os::evict(file)
}

/// Whether [`evict`] does anything on this system.
pub const CAN_EVICT: bool = os::CAN_EVICT;

/// Whether `bytes`, a range of a map, look wholly in the page cache (Linux `mincore`, four
/// pages probed: see `slice::FileBytes::bring_in`). Elsewhere `false`: files are then read
/// through before they are mapped, as on a cold Linux cache. A wrong answer costs speed only.
pub fn resident(bytes: &[u8]) -> bool {
    os::resident(bytes)
}

/// Whether `file`, opened from `path`, lives on a network (or FUSE) filesystem, where
/// `--reader auto` reads rather than maps: Linux `statfs` magic numbers, macOS `statfs`
/// type names (smbfs, nfs, afpfs, webdav, macFUSE), Windows a UNC path or a drive whose type
/// is `DRIVE_REMOTE` (a mapped network drive).
pub fn on_network_filesystem(file: &File, path: &Path) -> bool {
    os::on_network_filesystem(file, path)
}

/// Allocates `len` bytes of disk for `file` and sets its length, failing now if the disk is
/// full: Linux `fallocate`, falling back to `set_len` where the filesystem cannot
/// preallocate. Elsewhere `set_len`: on NTFS that allocates the clusters (a file is not
/// sparse unless asked), so a full disk fails here too; on APFS the file is sparse and a
/// full disk fails at the write, which is reported as such.
pub fn reserve(file: &File, len: u64) -> io::Result<()> {
    os::reserve(file, len)
}

/// Renames `from` to `to`, replacing `to` if it exists. On Windows, where POSIX rename
/// semantics are missing (older versions, wine), replacing a file that another process has
/// open fails with "access denied": a shard reading `pyramid.json`, a viewer, a virus scanner.
/// Such handles are short-lived, so the rename is retried for up to 2 s there.
pub fn rename(from: &Path, to: &Path) -> io::Result<()> {
    os::rename(from, to)
}

/// Makes a rename in `dir` durable (`fsync` of the folder on Unix). Nothing on Windows: a
/// folder cannot be opened as a file there, and NTFS journals the rename itself.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    os::sync_dir(dir)
}

/// An exclusive lock on a folder, held until dropped (see [`lock_dir`]).
#[derive(Debug)]
pub struct DirLock {
    _file: File,
}

/// Takes an exclusive lock on the folder `dir`, waiting for whoever holds it: processes
/// (shards, possibly on other machines) take turns. No file is left behind.
/// Unix: the folder itself is locked with std's `File::lock` (`flock`). Windows, where a
/// folder cannot be locked: a hidden file `.ctpyramid.lock` in it, opened for this process
/// alone and deleted when closed (also when the process dies); the others retry until it
/// is gone. Works on network shares too.
pub fn lock_dir(dir: &Path) -> io::Result<DirLock> {
    os::lock_dir(dir).map(|file| DirLock { _file: file })
}

/// The process-wide stop request of the command line: Ctrl-C (SIGINT, or on Windows Ctrl-C
/// and Ctrl-Break) and termination (SIGTERM, or on Windows closing the console window,
/// logging off, shutting down) set a flag the build checks between two outputs. A second
/// request exits at once with the same code. Exit codes: 130 for Ctrl-C, 143 for
/// termination, on every system.
pub struct Interrupts {
    cancel: Arc<AtomicBool>,
    term: Arc<AtomicBool>,
}

impl Interrupts {
    /// Installs the handlers for the process (once, at start). Failing to install them
    /// only loses the clean stop: the system's default action still ends the process.
    pub fn install() -> Interrupts {
        let interrupts = Interrupts {
            cancel: Arc::new(AtomicBool::new(false)),
            term: Arc::new(AtomicBool::new(false)),
        };
        os::install_interrupts(&interrupts.cancel, &interrupts.term);
        interrupts
    }

    /// The flag a build checks between outputs ([`crate::BuildOptions::cancel`]).
    pub fn cancel(&self) -> Arc<AtomicBool> {
        self.cancel.clone()
    }

    /// The exit code for a build that stopped because of a request.
    pub fn exit_code(&self) -> u8 {
        if self.term.load(Ordering::Relaxed) {
            143
        } else {
            130
        }
    }
}

/// Installs the handler that turns a fault in a truncated map into an error naming the file
/// (see [`sigbus`]): SIGBUS on Unix. Idempotent; the CLI calls it at start, and a library user
/// may too (it replaces any SIGBUS handler of theirs). Nothing on Windows, where a mapped file cannot
/// be truncated: the other program's truncation fails instead
/// (`ERROR_USER_MAPPED_FILE`), and the map keeps its bytes.
pub fn install_fault_handler() {
    os::install_fault_handler()
}

/// `path` as the system shows it to users: on Windows without the `\\?\` prefix that
/// `canonicalize` adds (`C:\scans\a`, `\\server\share\a`); unchanged elsewhere.
pub fn shown(path: &Path) -> PathBuf {
    if cfg!(windows) {
        path::shown_windows(path)
    } else {
        path.to_path_buf()
    }
}

/// The absolute, symlink-free form of `path` for records (the manifest's `source`), as
/// [`shown`]; `path` itself if it cannot be resolved.
pub fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path)
        .map(|p| shown(&p))
        .unwrap_or_else(|_| path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn huge_page_advice_keeps_every_byte() {
        // Empty, smaller than a page, and several huge pages starting mid-page.
        for len in [0, 1, 4095, (5 << 20) + 3] {
            let mut backing: Vec<u8> = (0..len + 1).map(|i| (i * 31 % 251) as u8).collect();
            let expected = backing.clone();
            let buf = &mut backing[1..];
            advise_huge_pages(buf);
            buf.iter_mut().step_by(4096).for_each(|b| *b ^= 0xff);
            buf.iter_mut().step_by(4096).for_each(|b| *b ^= 0xff);
            assert_eq!(backing, expected, "len {len}");
        }
    }

    #[test]
    fn positional_reads_and_writes_land_where_asked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("file.bin");
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .unwrap();
        reserve(&file, 64).unwrap();
        write_all_at(&file, b"tail", 60).unwrap();
        write_all_at(&file, b"head", 0).unwrap();
        let mut buf = [0u8; 4];
        assert_eq!(read_at(&file, &mut buf, 60).unwrap(), 4);
        assert_eq!(&buf, b"tail");
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(bytes.len(), 64);
        assert_eq!(&bytes[..4], b"head");
        assert!(bytes[4..60].iter().all(|&b| b == 0));
    }

    #[test]
    fn a_rename_replaces_a_file_another_handle_holds_open() {
        let dir = tempfile::tempdir().unwrap();
        let (from, to) = (dir.path().join("new"), dir.path().join("pyramid.json"));
        std::fs::write(&from, b"new").unwrap();
        std::fs::write(&to, b"old").unwrap();
        let reader = File::open(&to).unwrap();
        // Closed a moment later, as a shard reading the manifest closes it.
        let closer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            drop(reader);
        });
        rename(&from, &to).unwrap();
        closer.join().unwrap();
        assert_eq!(std::fs::read(&to).unwrap(), b"new");
    }

    #[test]
    fn a_folder_lock_waits_for_its_holder_and_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let first = lock_dir(dir.path()).unwrap();
        let taken = Arc::new(AtomicBool::new(false));
        let waiter = {
            let (dir, taken) = (dir.path().to_path_buf(), taken.clone());
            std::thread::spawn(move || {
                let lock = lock_dir(&dir).unwrap();
                taken.store(true, Ordering::SeqCst);
                drop(lock);
            })
        };
        std::thread::sleep(Duration::from_millis(300));
        assert!(!taken.load(Ordering::SeqCst), "taken while held");
        drop(first);
        waiter.join().unwrap();
        assert!(taken.load(Ordering::SeqCst));
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert!(left.is_empty(), "{left:?}");
    }

    #[test]
    fn a_local_temporary_folder_is_not_on_a_network_filesystem() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"x").unwrap();
        let file = File::open(&path).unwrap();
        assert!(!on_network_filesystem(&file, &path));
    }

    #[test]
    fn canonical_paths_are_shown_without_a_verbatim_prefix() {
        let dir = tempfile::tempdir().unwrap();
        let shown = canonical(dir.path()).display().to_string();
        assert!(!shown.starts_with(r"\\?\"), "{shown}");
        assert!(Path::new(&shown).is_absolute(), "{shown}");
    }
}
