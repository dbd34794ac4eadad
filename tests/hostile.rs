//! Hostile input: mutants of the fixtures (damaged headers, truncations, extreme sizes and
//! offsets) must give `Ok` or `Err`: never a panic, an abort, or a huge allocation.
//!
//! Deterministic: a fixed seed and a fixed number of mutants, so a failure is reproducible
//! by its number. Each mutant is written into a temporary folder and read the way a build
//! and `inspect` read it: `Stack::new`, every slice through `SliceReader`, every row of every
//! slice through `plane`, and `inspect` of the folder. The files of `fixtures/bad/fuzz_*`
//! (inputs the fuzzers of `fuzz/` found, see `fuzz/README.md`) are read the same way.
//!
//! The inputs are read in child processes (this test binary running [`hostile_child`]), so
//! that an input that aborts the process fails a test instead of ending the test binary, and
//! the inputs after it are still read. A failing input is reported with its mutations, its
//! panic message and location or how its process ended, and its first bytes, and saved
//! under `target/tmp/hostile/` to reproduce it.
//!
//! Allocations above [`ALLOC_CAP`] are refused by this test binary's allocator, as a machine
//! short of memory would: the library must turn that into an error, not an abort, and the
//! test stays fast and small whatever size a damaged header claims. A file of a few kilobytes
//! asking for that much is itself reported (its own test).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::{Cell, RefCell};
use std::fmt::Write as _;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Once;

use ctpyramid::internals::Sample;
use ctpyramid::internals::{SliceFile, Stack};

use ctpyramid::Selection;

/// Mutants in all, spread over [`FIXTURES`].
const CASES: usize = 5000;
/// Seed of the mutations.
const SEED: u64 = 0x5EED_C7B1_2A3D_0001;
/// Slices read at most from one file (the pages of a multi-page TIFF).
const MAX_SLICES: usize = 64;
/// Allocations larger than this are refused (see the module doc).
const ALLOC_CAP: usize = 256 << 20;

/// Small fixtures of every reader: mapped TIFF (both byte orders, BigTIFF, strips, pages,
/// odd offsets), decoded TIFF (LZW, Deflate, PackBits, tiles, RGB), BMP, PNG and JPEG.
const FIXTURES: &[&str] = &[
    "single/s_rec00000000.tif",
    "u16_be/s_rec00000000.tif",
    "u16_bigtiff/s_rec00000000.tif",
    "u16_bigtiff_be/s_rec00000000.tif",
    "u16_strip_per_row/s_rec00000000.tif",
    "u16_multistrip/s_rec00000000.tif",
    "u16_odd_offset/stack.tif",
    "u8_pillow/s_rec00000000.tif",
    "multipage/stack.tif",
    "lzw_pred/s_rec00000000.tif",
    "deflate/s_rec00000000.tif",
    "packbits/s_rec00000000.tif",
    "tiled/s_rec00000000.tif",
    "rgb_tiff/s_rec00000000.tif",
    "rgb16_tiff/s_rec00000000.tif",
    "bmp_palette/s_rec00000000.bmp",
    "bmp_rgb24/s_rec00000000.bmp",
    "bmp_skyscan/scan_rec00000000.bmp",
    "png8/s_rec00000000.png",
    "png16/s_rec00000000.png",
    "png_rgb/s_rec00000000.png",
    "jpeg_gray/s_rec00000000.jpg",
];

// ---------------------------------------------------------------------------------------
// An allocator that refuses allocations over the cap and remembers, per thread, the largest
// request it refused.

struct Capped;

thread_local! {
    /// The largest allocation refused on this thread since it was last reset.
    static REFUSED: Cell<usize> = const { Cell::new(0) };
    /// The input being read on this thread (its path), for the message of a refusal.
    static CURRENT: Cell<([u8; 200], usize)> = const { Cell::new(([0; 200], 0)) };
}

/// Refuses `size` if over the cap: records it, and says so on the process's stderr (not the
/// test's captured output, which an abort would lose) in case the library then aborts on it
/// (an infallible allocation). Allocates nothing.
fn refuse(size: usize) -> bool {
    if size <= ALLOC_CAP {
        return false;
    }
    let _ = REFUSED.try_with(|r| r.set(r.get().max(size)));
    let (name, len) = CURRENT.try_with(|c| c.get()).unwrap_or(([0; 200], 0));
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut n = size;
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for part in [
        &b"hostile: refused an allocation of "[..],
        &digits[at..],
        &b" bytes while reading "[..],
        &name[..len],
        &b"\n"[..],
    ] {
        write_stderr(part);
    }
    true
}

/// Writes to stderr without allocating or locking (the allocator calls it).
#[cfg(unix)]
fn write_stderr(part: &[u8]) {
    // SAFETY: writes initialized bytes to the standard error file descriptor.
    unsafe { libc::write(2, part.as_ptr().cast(), part.len()) };
}

/// Windows' stderr is unbuffered: writing it allocates nothing.
#[cfg(not(unix))]
fn write_stderr(part: &[u8]) {
    use std::io::Write;
    let _ = std::io::stderr().write_all(part);
}

unsafe impl GlobalAlloc for Capped {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if refuse(layout.size()) {
            return std::ptr::null_mut();
        }
        System.alloc(layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if refuse(layout.size()) {
            return std::ptr::null_mut();
        }
        System.alloc_zeroed(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if refuse(new_size) {
            return std::ptr::null_mut();
        }
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static ALLOCATOR: Capped = Capped;

// ---------------------------------------------------------------------------------------
// Panics are caught per mutant; the hook records where, instead of printing each one.

thread_local! {
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

fn quiet_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let caught = LAST_PANIC.with(|p| {
                if let Ok(mut p) = p.try_borrow_mut() {
                    *p = Some(info.to_string());
                    true
                } else {
                    false
                }
            });
            if !caught {
                default(info);
            }
        }));
    });
}

/// Runs `f`; the panic's message and location if it panics.
fn no_panic(f: impl FnOnce()) -> Result<(), String> {
    quiet_panics();
    LAST_PANIC.with(|p| *p.borrow_mut() = None);
    catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
        LAST_PANIC
            .with(|p| p.borrow_mut().take())
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic with a non-string payload".into())
    })
}

// ---------------------------------------------------------------------------------------
// Driving the library as `build` and `inspect` do.

fn sum_rows<T: Sample>(slice: &SliceFile) -> u64 {
    let plane = slice.plane::<T>();
    let mut scratch = Vec::new();
    let mut sum = 0u64;
    for y in 0..plane.height() {
        for &v in plane.row(y, &mut scratch) {
            sum = sum.wrapping_add(v.to_f64().to_bits());
        }
    }
    sum
}

/// Every row of every slice (up to [`MAX_SLICES`]) of the stack of `path`, then `inspect`
/// of its folder. Errors are fine; only panics count.
fn read_everything(path: &Path) -> usize {
    let mut total = 0u64;
    let mut read = 0;
    if let Ok(stack) = Stack::new(vec![path.to_path_buf()]) {
        for slice in stack.reader().take(MAX_SLICES) {
            let Ok(slice) = slice else { continue };
            read += 1;
            let _ = std::hint::black_box(slice.read_path());
            let sum = ctpyramid::with_sample!(slice.layout().depth, T => sum_rows::<T>(&slice));
            total = total.wrapping_add(sum);
        }
    }
    let dir = path.parent().unwrap();
    let options = ctpyramid::BuildOptions {
        selection: Selection::All,
        min_size: 4,
        ..ctpyramid::BuildOptions::new(dir)
    };
    if let Ok(report) = ctpyramid::inspect(&options) {
        std::hint::black_box(report.to_json());
    }
    std::hint::black_box(total);
    read
}

// ---------------------------------------------------------------------------------------
// Mutations.

/// xorshift64*: small, deterministic, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

#[derive(Debug)]
enum Mutation {
    Xor {
        at: usize,
        mask: u8,
    },
    Truncate {
        len: usize,
    },
    Word16 {
        at: usize,
        value: u16,
        big_endian: bool,
    },
    Word32 {
        at: usize,
        value: u32,
        big_endian: bool,
    },
    Word64 {
        at: usize,
        value: u64,
        big_endian: bool,
    },
    Delete {
        at: usize,
        len: usize,
    },
    Insert {
        at: usize,
        bytes: Vec<u8>,
    },
}

impl Mutation {
    fn apply(&self, b: &mut Vec<u8>) {
        fn put(b: &mut [u8], at: usize, bytes: &[u8]) {
            let end = (at + bytes.len()).min(b.len());
            if at < end {
                b[at..end].copy_from_slice(&bytes[..end - at]);
            }
        }
        match *self {
            Mutation::Xor { at, mask } => {
                if let Some(x) = b.get_mut(at) {
                    *x ^= mask;
                }
            }
            Mutation::Truncate { len } => b.truncate(len),
            Mutation::Word16 {
                at,
                value,
                big_endian,
            } => put(
                b,
                at,
                &if big_endian {
                    value.to_be_bytes()
                } else {
                    value.to_le_bytes()
                },
            ),
            Mutation::Word32 {
                at,
                value,
                big_endian,
            } => put(
                b,
                at,
                &if big_endian {
                    value.to_be_bytes()
                } else {
                    value.to_le_bytes()
                },
            ),
            Mutation::Word64 {
                at,
                value,
                big_endian,
            } => put(
                b,
                at,
                &if big_endian {
                    value.to_be_bytes()
                } else {
                    value.to_le_bytes()
                },
            ),
            Mutation::Delete { at, len } => {
                let at = at.min(b.len());
                let end = (at + len).min(b.len());
                b.drain(at..end);
            }
            Mutation::Insert { at, ref bytes } => {
                let at = at.min(b.len());
                b.splice(at..at, bytes.iter().copied());
            }
        }
    }
}

fn u16_at(b: &[u8], at: usize, be: bool) -> Option<u64> {
    let w: [u8; 2] = b.get(at..at + 2)?.try_into().ok()?;
    Some(u64::from(if be {
        u16::from_be_bytes(w)
    } else {
        u16::from_le_bytes(w)
    }))
}

fn u32_at(b: &[u8], at: usize, be: bool) -> Option<u64> {
    let w: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
    Some(u64::from(if be {
        u32::from_be_bytes(w)
    } else {
        u32::from_le_bytes(w)
    }))
}

fn u64_at(b: &[u8], at: usize, be: bool) -> Option<u64> {
    let w: [u8; 8] = b.get(at..at + 8)?.try_into().ok()?;
    Some(if be {
        u64::from_be_bytes(w)
    } else {
        u64::from_le_bytes(w)
    })
}

/// The byte ranges of a file that describe it rather than hold pixels: headers, TIFF IFDs and
/// their out-of-line values (strip offsets and counts), PNG chunk headers, JPEG segment
/// headers. Mutations go there most of the time. Also the file's byte order.
fn structure(b: &[u8]) -> (Vec<(usize, usize)>, bool) {
    let mut spans = vec![(0, b.len().min(64))];
    let mut big_endian = false;
    match b {
        [b'I', b'I', ..] | [b'M', b'M', ..] => {
            let be = b[0] == b'M';
            big_endian = be;
            let big = u16_at(b, 2, be) == Some(43);
            let mut next = if big {
                u64_at(b, 8, be)
            } else {
                u32_at(b, 4, be)
            };
            for _ in 0..8 {
                let Some(ifd) = next.map(|o| o as usize).filter(|&o| o > 0 && o < b.len()) else {
                    break;
                };
                let (count, entry, head) = if big {
                    (u64_at(b, ifd, be), 20, 8)
                } else {
                    (u16_at(b, ifd, be), 12, 2)
                };
                let Some(count) = count.map(|c| c as usize).filter(|&c| c < 4096) else {
                    break;
                };
                let end = ifd + head + count * entry;
                spans.push((ifd, (end + if big { 8 } else { 4 }).min(b.len())));
                for e in 0..count {
                    // Out-of-line values: the offset field of entries too large to fit in it.
                    let at = ifd + head + e * entry;
                    let value = if big {
                        u64_at(b, at + 12, be)
                    } else {
                        u32_at(b, at + 8, be)
                    };
                    if let Some(v) = value.map(|v| v as usize).filter(|&v| v > 8 && v < b.len()) {
                        spans.push((v, (v + 64).min(b.len())));
                    }
                }
                next = if big {
                    u64_at(b, end, be)
                } else {
                    u32_at(b, end, be)
                };
            }
        }
        [b'B', b'M', ..] => spans.push((0, b.len().min(54 + 1024))),
        [0x89, b'P', b'N', b'G', ..] => {
            big_endian = true;
            let mut at = 8;
            while let Some(len) = u32_at(b, at, true) {
                spans.push((at, (at + 8 + 16).min(b.len())));
                at = at.saturating_add(12).saturating_add(len as usize);
            }
        }
        [0xFF, 0xD8, ..] => {
            big_endian = true;
            let mut at = 2;
            while at + 4 <= b.len() && b[at] == 0xFF {
                spans.push((at, (at + 24).min(b.len())));
                if b[at + 1] == 0xDA {
                    break;
                }
                at += 2 + u16_at(b, at + 2, true).unwrap_or(0) as usize;
            }
        }
        _ => {}
    }
    spans.retain(|&(s, e)| s < e);
    (spans, big_endian)
}

fn mutate(rng: &mut Rng, original: &[u8]) -> (Vec<u8>, Vec<Mutation>) {
    let mut bytes = original.to_vec();
    let mut done = Vec::new();
    for _ in 0..1 + rng.below(4) {
        let (spans, file_be) = structure(&bytes);
        let len = bytes.len();
        let at = if rng.chance(85) && !spans.is_empty() {
            let (s, e) = spans[rng.below(spans.len())];
            let at = s + rng.below(e - s);
            if rng.chance(50) {
                at - (at - s) % 2
            } else {
                at
            }
        } else {
            rng.below(len)
        };
        let be = if rng.chance(80) { file_be } else { !file_be };
        let small = rng.below(9) as u64;
        let near_len = match rng.below(3) {
            0 => (len as u64).saturating_sub(small),
            1 => len as u64 + small,
            _ => len as u64,
        };
        let m = match rng.below(10) {
            0 | 1 => Mutation::Xor {
                at,
                mask: match rng.below(3) {
                    0 => 1 << rng.below(8),
                    1 => 0xFF,
                    _ => rng.next() as u8 | 1,
                },
            },
            2 => Mutation::Truncate {
                len: if rng.chance(50) {
                    rng.below(len)
                } else {
                    len.saturating_sub(1 + rng.below(16))
                },
            },
            3 | 4 => Mutation::Word16 {
                at,
                value: [
                    0,
                    1,
                    2,
                    3,
                    4,
                    8,
                    16,
                    0x4000,
                    0x7FFF,
                    0x8000,
                    0xFFFF,
                    rng.next() as u16,
                ][rng.below(12)],
                big_endian: be,
            },
            5..=7 => Mutation::Word32 {
                at,
                value: [
                    0,
                    1,
                    0xFFFF_FFFF,
                    0x7FFF_FFFF,
                    0x8000_0000,
                    0xFFFF,
                    0x1_0000,
                    0x4000,
                    near_len as u32,
                    near_len as u32,
                    rng.next() as u32,
                    // Sizes whose products land between megabytes and gigabytes.
                    rng.below(1 << 17) as u32,
                ][rng.below(12)],
                big_endian: be,
            },
            8 => Mutation::Word64 {
                at,
                value: [0, u64::MAX, i64::MAX as u64, near_len, 1 << 32, rng.next()][rng.below(6)],
                big_endian: be,
            },
            _ => {
                if rng.chance(50) {
                    Mutation::Delete {
                        at,
                        len: 1 + rng.below(16),
                    }
                } else {
                    let n = 1 + rng.below(16);
                    Mutation::Insert {
                        at,
                        bytes: (0..n).map(|_| rng.next() as u8).collect(),
                    }
                }
            }
        };
        m.apply(&mut bytes);
        done.push(m);
    }
    (bytes, done)
}

fn hex(bytes: &[u8], max: usize) -> String {
    let mut s = String::new();
    for (i, b) in bytes.iter().take(max).enumerate() {
        if i % 32 == 0 {
            s.push_str("\n      ");
        }
        let _ = write!(s, "{b:02x}");
    }
    if bytes.len() > max {
        let _ = write!(s, " ... ({} bytes)", bytes.len());
    }
    s
}

/// Where failing mutants are saved: `target/tmp/hostile/`.
fn failure_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("hostile");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// One input to read: a name for reports, the file name to give it, its bytes, how it was made.
#[derive(Clone)]
struct Input {
    name: String,
    file_name: String,
    bytes: Vec<u8>,
    how: String,
}

/// What reading a set of inputs found; inputs are named by their index in the set.
#[derive(Default)]
struct Findings {
    inputs: usize,
    /// Inputs of which at least one slice was read (every row), not refused.
    readable: usize,
    /// Inputs that panicked, with the panic's message and location.
    panics: Vec<(usize, String)>,
    /// Inputs that made the library ask for more than [`ALLOC_CAP`] bytes at once (refused),
    /// with the largest such request.
    huge: Vec<(usize, usize)>,
    /// Inputs that ended the process reading them (an abort, a signal), with what it said.
    aborts: Vec<(usize, String)>,
}

/// Reads every input as a build and `inspect` would, each alone in a fresh folder, in this
/// process, and prints what each did on stdout as soon as it is known (for [`survey`]);
/// writes the index of the input being read to `progress` first, so that the parent process
/// knows which one ended this one if it does not return.
fn run_all(inputs: &[Input], from: usize, progress: &Path) {
    let work = tempfile::tempdir().unwrap();
    let mut count = 0;
    for (index, input) in inputs.iter().enumerate().skip(from) {
        std::fs::write(progress, index.to_string()).unwrap();
        count += 1;
        // A fresh folder each time: `inspect` must see this one file only.
        let dir = work.path().join(index.to_string());
        std::fs::create_dir(&dir).unwrap();
        let path = dir.join(&input.file_name);
        std::fs::write(&path, &input.bytes).unwrap();
        let shown = format!("{} ({})", path.display(), input.name);
        let shown = &shown.as_bytes()[..shown.len().min(200)];
        let mut name = [0u8; 200];
        name[..shown.len()].copy_from_slice(shown);
        CURRENT.with(|c| c.set((name, shown.len())));
        REFUSED.with(|r| r.set(0));
        let mut read = 0;
        let result = no_panic(|| read = read_everything(&path));
        CURRENT.with(|c| c.set(([0; 200], 0)));
        if read > 0 {
            println!("HOSTILE read {index} {read}");
        }
        let refused = REFUSED.with(|r| r.get());
        if refused > 0 {
            println!("HOSTILE huge {index} {refused}");
        }
        if let Err(panic) = result {
            println!("HOSTILE panic {index} {}", panic.replace('\n', " \u{1}"));
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
    println!("HOSTILE done {count} -");
}

/// The sets of inputs, by name (passed to the child process).
fn inputs_of(set: &str) -> Vec<Input> {
    match set {
        "mutants" => mutants(),
        "fuzz" => fuzz_findings(),
        other => panic!("unknown input set {other}"),
    }
}

const CHILD: &str = "CTPYRAMID_HOSTILE_CHILD";
const PROGRESS: &str = "CTPYRAMID_HOSTILE_PROGRESS";

/// Reads the inputs of `set` in child processes running [`hostile_child`], one after
/// another: a child that does not return (the library aborted, say on an infallible
/// allocation this binary's allocator refused) is recorded against the input it was reading,
/// and a new child goes on from the next one. So one such input fails a test, not the whole
/// test binary, and every other input is still read.
fn survey(set: &str) -> Findings {
    let total = inputs_of(set).len();
    let work = tempfile::tempdir().unwrap();
    let progress = work.path().join("progress");
    let mut found = Findings::default();
    let mut from = 0;
    while from < total {
        let _ = std::fs::remove_file(&progress);
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "hostile_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD, format!("{set}:{from}"))
            .env(PROGRESS, &progress)
            .output()
            .expect("run the test binary as a child");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let mut done = false;
        // libtest may print "test hostile_child ... " on the line of the first report.
        for line in stdout
            .lines()
            .filter_map(|l| l.find("HOSTILE ").map(|at| &l[at..]))
        {
            let mut f = line.splitn(4, ' ');
            match (f.next(), f.next(), f.next(), f.next()) {
                (Some("HOSTILE"), Some("panic"), Some(i), Some(m)) => found
                    .panics
                    .push((i.parse().unwrap(), m.replace(" \u{1}", "\n"))),
                (Some("HOSTILE"), Some("huge"), Some(i), Some(n)) => {
                    found.huge.push((i.parse().unwrap(), n.parse().unwrap()))
                }
                (Some("HOSTILE"), Some("read"), Some(_), Some(_)) => found.readable += 1,
                (Some("HOSTILE"), Some("done"), Some(n), Some(_)) => {
                    found.inputs += n.parse::<usize>().unwrap();
                    done = true;
                }
                _ => {}
            }
        }
        if done && out.status.success() {
            break;
        }
        // The child ended while reading an input: which one its progress file says.
        let at: usize = std::fs::read_to_string(&progress)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or_else(|| {
                panic!(
                    "the child process failed before reading any input: {}\n{}",
                    out.status,
                    String::from_utf8_lossy(&out.stderr)
                )
            });
        let stderr = String::from_utf8_lossy(&out.stderr);
        let said: Vec<&str> = stderr
            .lines()
            .filter(|l| {
                l.starts_with("hostile:")
                    || l.contains("memory allocation")
                    || l.contains("panicked")
                    || l.contains("overflow")
            })
            .take(4)
            .collect();
        found.inputs += at + 1 - from;
        found
            .aborts
            .push((at, format!("{}: {}", out.status, said.join(" / "))));
        from = at + 1;
    }
    found
}

/// Runs as a child of [`survey`] when [`CHILD`] is set (to `set:from`): reads the inputs of
/// the set from index `from` on and prints what it found on stdout; a no-op otherwise.
#[test]
fn hostile_child() {
    let Ok(what) = std::env::var(CHILD) else {
        return;
    };
    let (set, from) = what.split_once(':').unwrap();
    let progress = PathBuf::from(std::env::var_os(PROGRESS).unwrap());
    run_all(&inputs_of(set), from.parse().unwrap(), &progress);
}

/// A report of `failures` (input, one-line reason, more detail), grouped by reason, with
/// up to three inputs of each group shown and saved under `target/tmp/hostile/`.
fn report(what: &str, total: usize, failures: &[(&Input, String, String)]) -> String {
    let saved = failure_dir();
    let mut out = format!("{} of {total} inputs {what}:\n", failures.len());
    let mut groups: Vec<(&str, Vec<usize>)> = Vec::new();
    for (i, (_, key, _)) in failures.iter().enumerate() {
        match groups.iter_mut().find(|g| g.0 == key) {
            Some(g) => g.1.push(i),
            None => groups.push((key, vec![i])),
        }
    }
    for (key, members) in &groups {
        let _ = writeln!(out, "\n* {} input(s): {key}", members.len());
        for &i in members.iter().take(3) {
            let (input, _, detail) = &failures[i];
            let file = saved.join(input.name.replace('/', "_"));
            std::fs::write(&file, &input.bytes).unwrap();
            let _ = writeln!(out, "  - {}: {}", input.name, input.how);
            let _ = writeln!(out, "    saved as {}", file.display());
            if !detail.is_empty() {
                let _ = writeln!(out, "    {detail}");
            }
            let _ = writeln!(out, "    first bytes:{}", hex(&input.bytes, 128));
        }
    }
    out
}

fn summary(found: &Findings) -> String {
    format!(
        "{} inputs ({} with a slice read, the others refused); {} panicked, {} aborted, {} asked \
         for more than {ALLOC_CAP} bytes at once",
        found.inputs,
        found.readable,
        found.panics.len(),
        found.aborts.len(),
        found.huge.len()
    )
}

/// Fails, with a report, if any input panicked or ended its process.
fn assert_no_panic(inputs: &[Input], found: &Findings) {
    eprintln!("{}", summary(found));
    let mut failures: Vec<_> = found
        .panics
        .iter()
        .map(|(i, panic)| {
            let first = panic.lines().next().unwrap_or("").to_string();
            (&inputs[*i], first, format!("panic: {panic}"))
        })
        .collect();
    failures.extend(found.aborts.iter().map(|(i, said)| {
        let key = match said.split_once(": ") {
            Some((status, _)) => format!("ended the process ({status})"),
            None => "ended the process".to_string(),
        };
        (&inputs[*i], key, said.clone())
    }));
    if !failures.is_empty() {
        panic!(
            "{}",
            report("panicked or ended the process", found.inputs, &failures)
        );
    }
}

/// Fails, with a report, if any input made the library ask for more than [`ALLOC_CAP`] bytes
/// at once (an input whose process ended on such a request counts too).
fn assert_no_huge_allocation(inputs: &[Input], found: &Findings) {
    eprintln!("{}", summary(found));
    let describe = |input: &Input| {
        let format = ctpyramid::internals::Format::sniff(&input.bytes)
            .map_or("unknown format", |f| f.name());
        format!("a {format} file asked for more than {ALLOC_CAP} bytes at once")
    };
    let mut failures: Vec<_> = found
        .huge
        .iter()
        .map(|(i, size)| {
            let input = &inputs[*i];
            (
                input,
                describe(input),
                format!(
                    "largest request {size} bytes, from a file of {} bytes",
                    input.bytes.len()
                ),
            )
        })
        .collect();
    failures.extend(
        found
            .aborts
            .iter()
            .filter(|(_, said)| said.contains("hostile: refused"))
            .map(|(i, said)| {
                let input = &inputs[*i];
                (
                    input,
                    describe(input) + ", and aborted when refused",
                    said.clone(),
                )
            }),
    );
    if !failures.is_empty() {
        panic!(
            "{}",
            report(
                &format!("made the library ask for more than {ALLOC_CAP} bytes at once"),
                found.inputs,
                &failures
            )
        );
    }
}

/// A mutant's own random numbers, from [`SEED`] and its number (splitmix64), so that any
/// mutant can be made alone.
fn rng_of(case: usize) -> Rng {
    let mut z = SEED.wrapping_add((case as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    Rng((z ^ (z >> 31)) | 1)
}

/// [`CASES`] mutants of [`FIXTURES`], made from [`SEED`].
fn mutants() -> Vec<Input> {
    let originals: Vec<(String, Vec<u8>)> = FIXTURES
        .iter()
        .map(|f| {
            let path = fixtures().join("stacks").join(f);
            let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            (f.to_string(), bytes)
        })
        .collect();
    (0..CASES)
        .map(|case| {
            let (fixture, original) = &originals[case % originals.len()];
            let (bytes, mutations) = mutate(&mut rng_of(case), original);
            let file_name = Path::new(fixture)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            Input {
                name: format!("mutant{case:04}_{file_name}"),
                file_name,
                bytes,
                how: format!("mutant {case} of {fixture}: {mutations:?}"),
            }
        })
        .collect()
}

/// The inputs the fuzzers found (see `fuzz/README.md`): every file of `fixtures/bad/fuzz_*/`.
fn fuzz_findings() -> Vec<Input> {
    let bad = fixtures().join("bad");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&bad)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("fuzz_")
        })
        .collect();
    dirs.sort();
    let mut inputs = Vec::new();
    for dir in dirs {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for path in files {
            let name = format!(
                "{}/{}",
                dir.file_name().unwrap().to_string_lossy(),
                path.file_name().unwrap().to_string_lossy()
            );
            inputs.push(Input {
                file_name: path.file_name().unwrap().to_string_lossy().into_owned(),
                bytes: std::fs::read(&path).unwrap(),
                how: format!("fixtures/bad/{name}"),
                name,
            });
        }
    }
    inputs
}

/// The survey of the mutants, shared by the two tests that judge it.
fn mutant_survey() -> &'static (Vec<Input>, Findings) {
    static SURVEY: std::sync::OnceLock<(Vec<Input>, Findings)> = std::sync::OnceLock::new();
    SURVEY.get_or_init(|| (mutants(), survey("mutants")))
}

#[test]
fn mutated_fixtures_never_panic() {
    let (inputs, found) = mutant_survey();
    assert_eq!(found.inputs, CASES);
    assert_no_panic(inputs, found);
}

/// A file of a few kilobytes holds no slice of hundreds of megabytes (no TIFF, PNG or JPEG
/// compression comes near that ratio): a request that large comes from a header's claim alone,
/// and must be refused before allocating (or the memory grown only as data is decoded).
#[test]
fn mutated_fixtures_never_ask_for_huge_allocations() {
    let (inputs, found) = mutant_survey();
    assert_no_huge_allocation(inputs, found);
}

/// The inputs the fuzzers found (`fixtures/bad/fuzz_*/`, see `fuzz/README.md`) must each be
/// refused (or read) cleanly: no panic, no abort, no request over [`ALLOC_CAP`].
#[test]
fn fuzz_findings_are_refused_cleanly() {
    let inputs = fuzz_findings();
    assert!(!inputs.is_empty(), "no fixtures/bad/fuzz_* inputs found");
    let found = survey("fuzz");
    assert_eq!(found.inputs, inputs.len());
    let no_panic = catch_unwind(|| assert_no_panic(&inputs, &found));
    assert_no_huge_allocation(&inputs, &found);
    if let Err(e) = no_panic {
        std::panic::resume_unwind(e);
    }
}
