//! Windows. Maps are the same memmap2 maps as on Unix (zero-copy reads, `MapViewOfFile`);
//! what differs is positional I/O, the folder lock, drive types and the console handler.

use std::fs::{File, OpenOptions};
use std::io;
use std::ops::Range;
use std::os::windows::ffi::OsStrExt;
use std::os::windows::fs::{FileExt, OpenOptionsExt};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use memmap2::Mmap;
use windows_sys::core::BOOL;
use windows_sys::Win32::Foundation::{ERROR_SHARING_VIOLATION, GENERIC_READ, GENERIC_WRITE};
use windows_sys::Win32::Storage::FileSystem::{
    GetDriveTypeW, DELETE, FILE_ATTRIBUTE_HIDDEN, FILE_FLAG_DELETE_ON_CLOSE,
};
use windows_sys::Win32::System::Console::{SetConsoleCtrlHandler, CTRL_BREAK_EVENT, CTRL_C_EVENT};
use windows_sys::Win32::System::WindowsProgramming::DRIVE_REMOTE;

use super::Access;

pub fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    file.seek_read(buf, offset)
}

pub fn write_all_at(file: &File, mut buf: &[u8], mut offset: u64) -> io::Result<()> {
    while !buf.is_empty() {
        match file.seek_write(buf, offset) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => {
                buf = &buf[n..];
                offset += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

pub fn advise_map(_map: &Mmap, _access: Access) {}

pub fn release_map_range(_map: &Mmap, _range: Range<usize>) {}

pub fn advise_huge_pages(_buf: &mut [u8]) {}

pub fn advise_sequential(_file: &File) {}

pub fn prefetch(_file: &File, _range: Range<u64>) {}

pub const CAN_EVICT: bool = false;

pub fn evict(_file: &File) {}

pub fn resident(_bytes: &[u8]) -> bool {
    false
}

pub fn on_network_filesystem(_file: &File, path: &Path) -> bool {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    if super::path::is_unc(&absolute) {
        return true;
    }
    let Some(root) = super::path::drive_root(&absolute) else {
        return false;
    };
    let wide: Vec<u16> = std::ffi::OsStr::new(&root)
        .encode_wide()
        .chain(Some(0))
        .collect();
    // SAFETY: `wide` is a NUL-terminated UTF-16 string that outlives the call, which only
    // reads it.
    unsafe { GetDriveTypeW(wide.as_ptr()) == DRIVE_REMOTE }
}

pub fn reserve(file: &File, len: u64) -> io::Result<()> {
    file.set_len(len)
}

pub fn rename(from: &Path, to: &Path) -> io::Result<()> {
    let start = Instant::now();
    let mut pause = Duration::from_millis(5);
    loop {
        match std::fs::rename(from, to) {
            Err(e)
                if e.kind() == io::ErrorKind::PermissionDenied
                    && start.elapsed() < Duration::from_secs(2) =>
            {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(100));
            }
            done => return done,
        }
    }
}

pub fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

/// The lock file's name, in the locked folder.
const LOCK_FILE: &str = ".ctpyramid.lock";

pub fn lock_dir(dir: &Path) -> io::Result<File> {
    let path = dir.join(LOCK_FILE);
    let mut denied_since = None;
    loop {
        // Share mode 0: no other handle may open the file while this one is open. Deleted on
        // close, by the system, even if the process is killed.
        let opened = OpenOptions::new()
            .write(true)
            .create(true)
            .access_mode(GENERIC_READ | GENERIC_WRITE | DELETE)
            .share_mode(0)
            .custom_flags(FILE_FLAG_DELETE_ON_CLOSE)
            .attributes(FILE_ATTRIBUTE_HIDDEN)
            .open(&path);
        match opened {
            Ok(file) => return Ok(file),
            Err(e) if e.raw_os_error() == Some(ERROR_SHARING_VIOLATION as i32) => {}
            // The holder's file is being deleted as it closes ("delete pending"): for a moment
            // opening it is refused. A folder that refuses for seconds refuses for good.
            Err(e)
                if e.kind() == io::ErrorKind::PermissionDenied
                    && denied_since.get_or_insert_with(Instant::now).elapsed()
                        < Duration::from_secs(5) => {}
            Err(e) => return Err(e),
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The flags the console handler sets: (cancel, term).
static FLAGS: OnceLock<(Arc<AtomicBool>, Arc<AtomicBool>)> = OnceLock::new();

pub fn install_interrupts(cancel: &Arc<AtomicBool>, term: &Arc<AtomicBool>) {
    if FLAGS.set((cancel.clone(), term.clone())).is_ok() {
        // SAFETY: registers a handler of the `PHANDLER_ROUTINE` signature, which lives as
        // long as the program; the system calls it on a thread of its own.
        unsafe { SetConsoleCtrlHandler(Some(on_console_event), 1) };
    }
}

/// What a console event asks of the process.
#[derive(Debug, PartialEq, Eq)]
enum Reaction {
    /// Stop between two outputs (the flags are set).
    Stop,
    /// A second request: exit at once with this code.
    Exit(i32),
}

/// Ctrl-C and Ctrl-Break are SIGINT's equivalents (130); closing the console, logging off
/// and shutting down SIGTERM's (143).
fn react(kind: u32, cancel: &AtomicBool, term: &AtomicBool) -> Reaction {
    let terminate = kind != CTRL_C_EVENT && kind != CTRL_BREAK_EVENT;
    if cancel.load(Ordering::SeqCst) {
        return Reaction::Exit(if terminate { 143 } else { 130 });
    }
    if terminate {
        term.store(true, Ordering::SeqCst);
    }
    cancel.store(true, Ordering::SeqCst);
    Reaction::Stop
}

// SAFETY: the contract Windows calls a console control handler under: on a thread of its
// own, with an event code, expecting TRUE (handled) or FALSE. The handler touches only
// atomics and a `OnceLock` set before it was installed, and never unwinds: it returns,
// sleeps or exits the process.
unsafe extern "system" fn on_console_event(kind: u32) -> BOOL {
    let Some((cancel, term)) = FLAGS.get() else {
        return 0;
    };
    match react(kind, cancel, term) {
        Reaction::Exit(code) => std::process::exit(code),
        Reaction::Stop if term.load(Ordering::SeqCst) => {
            // For a closing console the system ends the process once this returns (or after
            // 5 s): wait for the build to stop between two outputs and exit first.
            std::thread::sleep(Duration::from_secs(4));
            1
        }
        Reaction::Stop => 1,
    }
}

pub fn install_fault_handler() {}

#[cfg(test)]
mod tests {
    use super::*;
    use windows_sys::Win32::System::Console::CTRL_CLOSE_EVENT;

    #[test]
    fn ctrl_c_stops_and_a_second_one_exits_at_once_with_130() {
        let (cancel, term) = (AtomicBool::new(false), AtomicBool::new(false));
        assert_eq!(react(CTRL_C_EVENT, &cancel, &term), Reaction::Stop);
        assert!(cancel.load(Ordering::SeqCst) && !term.load(Ordering::SeqCst));
        assert_eq!(react(CTRL_BREAK_EVENT, &cancel, &term), Reaction::Exit(130));
    }

    #[test]
    fn closing_the_console_stops_with_143() {
        let (cancel, term) = (AtomicBool::new(false), AtomicBool::new(false));
        assert_eq!(react(CTRL_CLOSE_EVENT, &cancel, &term), Reaction::Stop);
        assert!(cancel.load(Ordering::SeqCst) && term.load(Ordering::SeqCst));
        assert_eq!(react(CTRL_CLOSE_EVENT, &cancel, &term), Reaction::Exit(143));
    }

    #[test]
    fn a_file_held_by_another_handle_cannot_be_truncated_while_mapped() {
        // Why Windows needs no SIGBUS guard: the other program's truncation fails.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("slice.raw");
        std::fs::write(&path, vec![7u8; 1 << 16]).unwrap();
        let file = File::open(&path).unwrap();
        // SAFETY: a test's own file, not changed while mapped (the truncation must fail).
        let map = unsafe { Mmap::map(&file) }.unwrap();
        let other = OpenOptions::new().write(true).open(&path).unwrap();
        assert!(other.set_len(10).is_err());
        assert_eq!(map.len(), 1 << 16);
        assert!(map.iter().all(|&b| b == 7));
    }
}
