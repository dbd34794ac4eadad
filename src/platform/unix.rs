//! Linux and macOS. The Linux paths are the ones measured in docs/performance.md.

use std::fs::File;
use std::io;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use memmap2::{Advice, Mmap, UncheckedAdvice};

use super::Access;

pub fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    file.read_at(buf, offset)
}

pub fn write_all_at(file: &File, buf: &[u8], offset: u64) -> io::Result<()> {
    file.write_all_at(buf, offset)
}

pub fn advise_map(map: &Mmap, access: Access) {
    let advice = match access {
        Access::Sequential => Advice::Sequential,
        Access::Random => Advice::Random,
    };
    let _ = map.advise(advice);
}

pub fn release_map_range(map: &Mmap, range: Range<usize>) {
    // SAFETY: the map is a read-only shared map of a file, never written through: once its
    // page tables are dropped, a later read of the range faults the same bytes back in from
    // the file, so every `&[u8]` into it (a decoder's, another page's) still reads what it
    // read before. memmap2 widens the range to whole pages inside the map.
    let _ =
        unsafe { map.unchecked_advise_range(UncheckedAdvice::DontNeed, range.start, range.len()) };
}

pub fn advise_huge_pages(buf: &mut [u8]) {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let page = rustix::param::page_size();
        let start = buf.as_ptr() as usize;
        let first = start.next_multiple_of(page);
        let end = (start + buf.len()) / page * page;
        if end > first {
            // SAFETY: the range lies inside `buf`, memory this process owns and keeps
            // mapped; MADV_HUGEPAGE changes how its pages are backed, never their bytes.
            let _ = unsafe {
                libc::madvise(first as *mut libc::c_void, end - first, libc::MADV_HUGEPAGE)
            };
        }
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let _ = buf;
}

pub fn advise_sequential(file: &File) {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let _ = rustix::fs::fadvise(file, 0, None, rustix::fs::Advice::Sequential);
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let _ = file;
}

pub fn prefetch(file: &File, range: Range<u64>) {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let len = std::num::NonZeroU64::new(range.end.saturating_sub(range.start));
        let _ = rustix::fs::fadvise(file, range.start, len, rustix::fs::Advice::WillNeed);
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let _ = (file, range);
}

pub const CAN_EVICT: bool = cfg!(any(target_os = "linux", target_os = "android"));

pub fn evict(file: &File) {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let _ = rustix::fs::fadvise(file, 0, None, rustix::fs::Advice::DontNeed);
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let _ = file;
}

/// Asking for every page walks the page cache page by page (a tenth of a warm build's CPU on
/// 8 MiB slices; each page asked costs ~7 us here): the first, the last and two between tell
/// as much, since files enter and leave the cache by whole ranges.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub fn resident(bytes: &[u8]) -> bool {
    const PROBES: usize = 4;
    if bytes.is_empty() {
        return true;
    }
    let page = rustix::param::page_size();
    let start = bytes.as_ptr() as usize;
    let first = start - start % page;
    let pages = (start + bytes.len() - first).div_ceil(page);
    (0..PROBES).all(|i| {
        let at = first + i * (pages - 1) / (PROBES - 1) * page;
        let mut state = 0u8;
        // SAFETY: `bytes` lie in a live mapping, which starts on a page boundary (mmap maps
        // whole pages): `at`, a page boundary between the page holding the first byte and
        // the one holding the last, is a page of it. mincore writes one byte for the one
        // page asked, into `state`; nothing is read or written through the map.
        let done = unsafe { libc::mincore(at as *mut libc::c_void, 1, &mut state) };
        done == 0 && state & 1 == 1
    })
}

/// macOS's `mincore` answers for the process's mappings only, not the page cache: unmeasured,
/// so files are read through first as on a cold cache.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub fn resident(_bytes: &[u8]) -> bool {
    false
}

#[cfg(any(target_os = "linux", target_os = "android"))]
pub fn on_network_filesystem(file: &File, _path: &Path) -> bool {
    const NETWORK: &[i64] = &[
        0x6969,      // NFS
        0x517B,      // SMB
        0xFF53_4D42, // CIFS
        0xFE53_4D42, // SMB2
        0x6573_5546, // FUSE (sshfs, most cluster filesystems' clients)
        0x0102_1997, // 9P
        0x0BD0_0BD0, // Lustre
        0x4750_4653, // GPFS
    ];
    // `f_type` is i64 here, u32 or i32 on other targets.
    #[allow(clippy::unnecessary_cast)]
    let network = rustix::fs::fstatfs(file).is_ok_and(|s| NETWORK.contains(&(s.f_type as i64)));
    network
}

#[cfg(target_vendor = "apple")]
pub fn on_network_filesystem(file: &File, _path: &Path) -> bool {
    const NETWORK: &[&[u8]] = &[
        b"smbfs", b"nfs", b"afpfs", b"webdav", b"cifs", b"macfuse", b"osxfuse", b"fusefs",
    ];
    rustix::fs::fstatfs(file).is_ok_and(|s| {
        let name: Vec<u8> = s
            .f_fstypename
            .iter()
            .take_while(|&&c| c != 0)
            .map(|&c| c as u8)
            .collect();
        NETWORK.contains(&name.as_slice())
    })
}

#[cfg(not(any(target_os = "linux", target_os = "android", target_vendor = "apple")))]
pub fn on_network_filesystem(_file: &File, _path: &Path) -> bool {
    false
}

pub fn reserve(file: &File, len: u64) -> io::Result<()> {
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

pub fn rename(from: &Path, to: &Path) -> io::Result<()> {
    std::fs::rename(from, to)
}

pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// The folder itself is locked, so no lock file is left.
pub fn lock_dir(dir: &Path) -> io::Result<File> {
    let file = File::open(dir)?;
    file.lock()?;
    Ok(file)
}

pub fn install_interrupts(cancel: &Arc<AtomicBool>, term: &Arc<AtomicBool>) {
    use signal_hook::consts::{SIGINT, SIGTERM};
    use signal_hook::flag;
    // Registration order matters: the shutdown checks the flag before the first signal sets
    // it, so only a second signal exits at once.
    let _ = flag::register_conditional_shutdown(SIGINT, 130, cancel.clone());
    let _ = flag::register_conditional_shutdown(SIGTERM, 143, cancel.clone());
    let _ = flag::register(SIGINT, cancel.clone());
    let _ = flag::register(SIGTERM, term.clone());
    let _ = flag::register(SIGTERM, cancel.clone());
}

pub fn install_fault_handler() {
    // SAFETY: `sigaction` with a zeroed struct, an empty mask and a handler of the SA_SIGINFO
    // signature is the documented way to install a handler; the handler only reads atomics
    // and calls the async-signal-safe `write` and `_exit`.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_sigbus as *const () as usize;
        action.sa_flags = libc::SA_SIGINFO;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(libc::SIGBUS, &action, std::ptr::null_mut());
    }
}

/// Writes to stderr with `write` alone: async-signal-safe.
fn write_stderr(bytes: &[u8]) {
    let mut rest = bytes;
    while !rest.is_empty() {
        // SAFETY: writes from a valid slice to stderr; async-signal-safe.
        let n = unsafe { libc::write(2, rest.as_ptr().cast(), rest.len()) };
        if n <= 0 {
            return;
        }
        rest = &rest[n as usize..];
    }
}

extern "C" fn on_sigbus(_signal: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo for an SA_SIGINFO handler.
    let addr = unsafe { (*info).si_addr() } as usize;
    let code = super::sigbus::report(addr, &mut write_stderr);
    // SAFETY: `_exit` is async-signal-safe and never returns; temporary outputs keep their
    // hidden names and are removed by the next run.
    unsafe { libc::_exit(code) }
}
