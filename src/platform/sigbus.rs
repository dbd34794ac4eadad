//! A file truncated or rewritten by another program while it is mapped makes reads of the
//! lost pages fault with SIGBUS, which would kill the process with a core dump and no word of
//! which file. This module turns that into ctpyramid's usual one-line error naming the file.
//!
//! Every map registers its address range and its file's name in a fixed table of slots
//! ([`Registration`]); the handler, installed by [`super::install_fault_handler`], finds the slot holding the
//! faulting address, writes `ctpyramid: error: <file>: ...` to stderr and exits with code 1.
//! Output files are written under temporary names, so nothing complete-looking is left.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};

/// A build holds a few maps, and an OME-Zarr build up to two chunk rows of input slices
/// (`output/ome_zarr/gather.rs`: 2 x 64 at most).
const SLOTS: usize = 256;
const NAME_BYTES: usize = 1024;

struct Slot {
    /// 0 while free or being filled; the map's length once `start` and `name` are valid.
    len: AtomicUsize,
    start: AtomicUsize,
    taken: AtomicBool,
    name_len: AtomicUsize,
    name: [AtomicU8; NAME_BYTES],
    /// What happened, for the message: reading an input or writing an output.
    writing: AtomicBool,
}

#[allow(clippy::declare_interior_mutable_const)] // only used to initialize TABLE
const FREE: Slot = Slot {
    len: AtomicUsize::new(0),
    start: AtomicUsize::new(0),
    taken: AtomicBool::new(false),
    name_len: AtomicUsize::new(0),
    name: [const { AtomicU8::new(0) }; NAME_BYTES],
    writing: AtomicBool::new(false),
};

/// Plain atomics only: the handler must not lock or allocate.
static TABLE: [Slot; SLOTS] = [FREE; SLOTS];

/// A map's entry in the table, freed when dropped (before the map is unmapped).
#[derive(Debug)]
pub struct Registration(Option<usize>);

/// Records that `len` bytes from `start` are a map of `path`. With every slot taken (never in
/// a build: see `SLOTS`) the map is simply not named if it faults.
pub fn register(start: *const u8, len: usize, path: &Path, writing: bool) -> Registration {
    for (i, slot) in TABLE.iter().enumerate() {
        if slot
            .taken
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
        {
            let name = path.as_os_str().as_encoded_bytes();
            let n = name.len().min(NAME_BYTES);
            for (dst, &src) in slot.name.iter().zip(&name[..n]) {
                dst.store(src, Ordering::Relaxed);
            }
            slot.name_len.store(n, Ordering::Relaxed);
            slot.writing.store(writing, Ordering::Relaxed);
            slot.start.store(start as usize, Ordering::Relaxed);
            // Published last: the handler reads a slot only once `len` says it is complete.
            slot.len.store(len, Ordering::Release);
            return Registration(Some(i));
        }
    }
    Registration(None)
}

impl Drop for Registration {
    fn drop(&mut self) {
        if let Some(i) = self.0 {
            TABLE[i].len.store(0, Ordering::Release);
            TABLE[i].taken.store(false, Ordering::Release);
        }
    }
}

/// What the fault handler does for a fault at `addr`: writes `ctpyramid: error: <file>: ...`
/// with `write` and returns the exit code (1 for an input, 3 for an output). Reads atomics
/// only, allocates nothing: called from a signal handler.
pub fn report(addr: usize, write: &mut dyn FnMut(&[u8])) -> i32 {
    let slot = TABLE.iter().find(|s| {
        let len = s.len.load(Ordering::Acquire);
        let start = s.start.load(Ordering::Relaxed);
        len > 0 && addr >= start && addr - start < len
    });
    write(b"ctpyramid: error: ");
    match slot {
        Some(s) => {
            let mut name = [0u8; NAME_BYTES];
            let n = s.name_len.load(Ordering::Relaxed).min(NAME_BYTES);
            for (dst, src) in name.iter_mut().zip(&s.name[..n]) {
                *dst = src.load(Ordering::Relaxed);
            }
            write(&name[..n]);
            if s.writing.load(Ordering::Relaxed) {
                write(b": cannot write: the output file's storage failed while mapped (disk full, or removed)\n");
            } else {
                write(b": file changed while being read (truncated or rewritten by another program); run again once it is complete\n");
            }
        }
        None => write(b"a memory-mapped file changed while being read (SIGBUS)\n"),
    }
    // Temporary outputs keep their hidden names and are removed by the next run.
    if slot.is_some_and(|s| s.writing.load(Ordering::Relaxed)) {
        3
    } else {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An OME-Zarr build keeps two chunk rows of 64 input slices mapped, beside the cascade's
    /// few: a fault in the last of them is still named.
    #[test]
    fn the_last_of_two_chunk_rows_of_maps_is_named() {
        // Addresses only: nothing is read through them.
        let base = 0x7000_0000_0000usize;
        let len = 1 << 20;
        let held: Vec<Registration> = (0..2 * 64 + 8)
            .map(|i| {
                let name = format!("/scan/s_rec{i:08}.tif");
                register((base + i * len) as *const u8, len, Path::new(&name), false)
            })
            .collect();
        let last = held.len() - 1;
        let mut message = Vec::new();
        let code = report(base + last * len + 5, &mut |b| message.extend_from_slice(b));
        let message = String::from_utf8_lossy(&message);
        assert!(
            message.contains(&format!("s_rec{last:08}.tif")),
            "{message}"
        );
        assert_eq!(code, 1);
        drop(held);
        let mut after = Vec::new();
        report(base + last * len + 5, &mut |b| after.extend_from_slice(b));
        assert!(String::from_utf8_lossy(&after).contains("(SIGBUS)"));
    }
}
