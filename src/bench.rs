//! `ctpyramid bench`: how fast this machine's disk and cores read and reduce a stack, by each
//! way of reading it, without writing anything.
//!
//! Each reader reads every slice in order and reduces the pairs into level 1 in memory (the
//! bulk of a build's work: the deeper levels add about 1/7 of it). `cat` is the floor: the
//! files read with plain sequential `read` calls and thrown away. `tiff crate decode` is the
//! conventional path (what CTHarvester's module does through the `image` crate): each file
//! fully decoded into a fresh buffer, then reduced.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::input::bytes::read_through;
use crate::input::{select, ReadMode, Selection, SliceFile, Stack};
use crate::pixel::kernel::reduce_slices;
use crate::pixel::{Encoding, Plane, Reduce, SliceLayout};

/// One way of reading the stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// Plain sequential reads of the files, thrown away: the floor.
    Cat,
    /// A build's reading, reducing to level 1 in memory, with this [`ReadMode`].
    Reader(ReadMode),
    /// The `tiff` crate's full decode of each file into a new buffer, then the kernels.
    TiffDecode,
}

impl Method {
    /// The method as the table names it.
    pub fn name(self) -> &'static str {
        match self {
            Method::Cat => "cat (read only)",
            Method::Reader(mode) => mode.name(),
            Method::TiffDecode => "tiff crate decode",
        }
    }
}

/// The timings of one method.
#[derive(Clone, Debug)]
pub struct Timing {
    /// What was timed.
    pub method: Method,
    /// Every run, in order.
    pub runs: Vec<Duration>,
    /// Bytes of the files (cat) or of pixels (the others) each run read.
    pub bytes: u64,
}

impl Timing {
    /// The median run.
    pub fn median(&self) -> Duration {
        let mut runs = self.runs.clone();
        runs.sort();
        runs.get(runs.len() / 2).copied().unwrap_or_default()
    }

    /// Gigabytes (10^9 bytes) a second, at the median.
    pub fn gb_per_s(&self) -> f64 {
        self.bytes as f64 / 1e9 / self.median().as_secs_f64().max(1e-9)
    }
}

/// What to measure.
#[derive(Clone, Debug)]
pub struct BenchOptions {
    /// The folder of slices, or a multi-page TIFF.
    pub input: PathBuf,
    /// Which files are slices, as for a build.
    pub selection: Selection,
    /// Runs of each method; the median is reported.
    pub runs: usize,
    /// Drop the stack's files from the page cache before every run (`posix_fadvise`
    /// DONTNEED: no root needed), to measure reading from the disk rather than from memory.
    pub cold: bool,
    /// The methods, taking turns run by run.
    pub methods: Vec<Method>,
}

impl BenchOptions {
    /// Every method, 3 runs, warm, on `input`'s default selection.
    pub fn new(input: impl Into<PathBuf>) -> Self {
        BenchOptions {
            input: input.into(),
            selection: Selection::Auto,
            runs: 3,
            cold: false,
            methods: vec![
                Method::Cat,
                Method::Reader(ReadMode::Mmap),
                Method::Reader(ReadMode::Buffered),
                Method::TiffDecode,
            ],
        }
    }
}

/// The stack measured and the timings.
#[derive(Clone, Debug)]
pub struct Report {
    /// Slices of the stack.
    pub slices: usize,
    /// What a slice is (`2048x2048 16-bit`).
    pub layout: String,
    /// Bytes of the files.
    pub file_bytes: u64,
    /// Whether the page cache was emptied before every run.
    pub cold: bool,
    /// Whether the first file is on a network filesystem (NFS, SMB, FUSE...), and so what
    /// `--reader auto` does there: read the files rather than map them.
    pub network: bool,
    /// Each method's runs.
    pub timings: Vec<Timing>,
}

impl Report {
    /// The report as `bench --json` prints it.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "slices": self.slices,
            "slice": self.layout,
            "file_bytes": self.file_bytes,
            "cold": self.cold,
            "filesystem": if self.network { "network" } else { "local" },
            "auto_reader": ReadMode::Auto.on(self.network).name(),
            "methods": self.timings.iter().map(|t| serde_json::json!({
                "method": t.method.name(),
                "median_s": t.median().as_secs_f64(),
                "runs_s": t.runs.iter().map(|r| r.as_secs_f64()).collect::<Vec<_>>(),
                "bytes": t.bytes,
                "gb_per_s": t.gb_per_s(),
            })).collect::<Vec<_>>(),
            "best_reader": self.best_reader().map(|t| t.method.name()),
        })
    }

    /// The fastest of the readers a build can use.
    pub fn best_reader(&self) -> Option<&Timing> {
        self.timings
            .iter()
            .filter(|t| matches!(t.method, Method::Reader(_)))
            .min_by_key(|t| t.median())
    }
}

/// Runs every method `runs` times, methods interleaved run by run so that a machine's drift
/// (another job, thermal limits) spreads over all of them.
pub fn bench(options: &BenchOptions) -> Result<Report> {
    if options.cold && !crate::platform::CAN_EVICT {
        let reason = "this system cannot drop files from the page cache without privileges; \
                      clear it with the system's tool (macOS `sudo purge`, Windows RAMMap) and \
                      measure warm";
        return Err(Error::invalid("cold", true, reason));
    }
    let listing = select(&options.input, &options.selection)?;
    let files = listing.paths.clone();
    let stack = Stack::open(&options.input, listing.paths)?;
    let first = stack.first(&options.input)?;
    let layout = first.layout().clone();
    let network = File::open(first.path())
        .is_ok_and(|f| crate::platform::on_network_filesystem(&f, first.path()));
    let file_bytes = files
        .iter()
        .map(|p| {
            std::fs::metadata(p)
                .map(|m| m.len())
                .map_err(|e| Error::read(p, e))
        })
        .sum::<Result<u64>>()?;
    // The decode path reads one image a file: it has no equivalent for a multi-page file.
    let pages = matches!(stack, Stack::Pages { .. });
    let mut timings: Vec<Timing> = options
        .methods
        .iter()
        .filter(|&&m| !(pages && m == Method::TiffDecode))
        .map(|&method| Timing {
            method,
            runs: Vec::new(),
            bytes: 0,
        })
        .collect();
    // Words, so that the buffer is aligned for every sample type.
    let out_bytes = (layout.width / 2) * (layout.height / 2) * layout.depth.bytes();
    let mut out = vec![0u32; out_bytes.div_ceil(4)];
    for _ in 0..options.runs.max(1) {
        for timing in &mut timings {
            if options.cold {
                evict(&files);
            }
            let start = Instant::now();
            timing.bytes = match timing.method {
                Method::Cat => cat(&files)?,
                Method::Reader(mode) => read_and_reduce(&stack, mode, &first, &mut out)?,
                Method::TiffDecode => decode_and_reduce(&files, &layout, &mut out)?,
            };
            timing.runs.push(start.elapsed());
        }
    }
    Ok(Report {
        slices: stack.len(),
        layout: layout.describe(),
        file_bytes,
        cold: options.cold,
        network,
        timings,
    })
}

/// Asks the kernel to drop the files' cached pages.
fn evict(files: &[PathBuf]) {
    for path in files {
        if let Ok(file) = File::open(path) {
            crate::platform::evict(&file);
        }
    }
}

/// Reads the files the way coreutils `cat` does (128 KiB reads, sequential-access advice,
/// which doubles the kernel's read-ahead): on a cold cache that advice alone makes it about
/// 1.4x faster than plain reads here, so a floor without it would flatter every reader.
fn cat(files: &[PathBuf]) -> Result<u64> {
    files.iter().try_fold(0, |total, path| {
        let file = File::open(path).map_err(|e| Error::read(path, e))?;
        Ok(total + read_through(&file, 0..u64::MAX).map_err(|e| Error::read(path, e))?)
    })
}

/// Level 1 of slices `a` and `b` (their pixel bytes and layouts) into `out`, at their depth.
fn reduce_pair(a: (&[u8], &SliceLayout), b: Option<(&[u8], &SliceLayout)>, out: &mut [u32]) {
    fn go<T: Reduce>(a: (&[u8], &SliceLayout), b: Option<(&[u8], &SliceLayout)>, out: &mut [T]) {
        let width = a.1.width / 2;
        let plane = |(bytes, layout)| Plane::<T>::new(bytes, layout);
        let out = &mut out[..width * (a.1.height / 2)];
        reduce_slices(&plane(a), b.map(plane).as_ref(), out, width);
    }
    crate::with_sample!(a.1.depth, T => go::<T>(a, b, bytemuck::cast_slice_mut(out)))
}

fn read_and_reduce(
    stack: &Stack,
    mode: ReadMode,
    first: &SliceFile,
    out: &mut [u32],
) -> Result<u64> {
    let mut bytes = 0;
    let mut pending: Option<SliceFile> = None;
    // Opened as `build` opens them: ahead, on a thread of their own.
    let all: Vec<usize> = (0..stack.len()).collect();
    for slice in stack.opener(&all, mode)? {
        let slice = slice?;
        slice.check_matches(first)?;
        bytes += slice.layout().pixel_bytes() as u64;
        match pending.take() {
            None => pending = Some(slice),
            Some(a) => reduce_pair(a.pixels(), Some(slice.pixels()), out),
        }
    }
    if let Some(a) = pending {
        reduce_pair(a.pixels(), None, out);
    }
    Ok(bytes)
}

/// A slice as the `tiff` crate decodes it, in a new buffer of its sample type.
enum Decoded {
    U8(Vec<u8>),
    U16(Vec<u16>),
    I16(Vec<i16>),
    F32(Vec<f32>),
}

impl Decoded {
    fn bytes(&self) -> &[u8] {
        match self {
            Decoded::U8(v) => v,
            Decoded::U16(v) => bytemuck::cast_slice(v),
            Decoded::I16(v) => bytemuck::cast_slice(v),
            Decoded::F32(v) => bytemuck::cast_slice(v),
        }
    }
}

/// The conventional path: every file decoded whole into a new buffer by the `tiff` crate.
fn decode_and_reduce(files: &[PathBuf], first: &SliceLayout, out: &mut [u32]) -> Result<u64> {
    use tiff::decoder::{Decoder, DecodingResult};
    let layout = SliceLayout::contiguous(
        first.width,
        first.height,
        first.depth,
        Encoding::native_gray(),
    );
    let decode = |path: &Path| -> Result<Decoded> {
        let file = File::open(path).map_err(|e| Error::read(path, e))?;
        let mut dec = Decoder::new(std::io::BufReader::new(file))
            .map_err(|e| Error::bad_input(path, e.to_string()))?;
        let pixels = match dec.read_image() {
            Ok(DecodingResult::U8(v)) => Decoded::U8(v),
            Ok(DecodingResult::U16(v)) => Decoded::U16(v),
            Ok(DecodingResult::I16(v)) => Decoded::I16(v),
            Ok(DecodingResult::F32(v)) => Decoded::F32(v),
            Ok(_) => {
                return Err(Error::bad_input(
                    path,
                    "not a uint8, uint16, int16 or float32 image",
                ))
            }
            Err(e) => return Err(Error::bad_input(path, e.to_string())),
        };
        // The reduction reads rows within these bounds only.
        layout
            .check(pixels.bytes().len())
            .map_err(|reason| Error::bad_input(path, reason))?;
        Ok(pixels)
    };
    let mut bytes = 0;
    let mut pending: Option<Decoded> = None;
    for path in files {
        let pixels = decode(path)?;
        bytes += pixels.bytes().len() as u64;
        match pending.take() {
            None => pending = Some(pixels),
            Some(a) => reduce_pair((a.bytes(), &layout), Some((pixels.bytes(), &layout)), out),
        }
    }
    if let Some(a) = pending {
        reduce_pair((a.bytes(), &layout), None, out);
    }
    Ok(bytes)
}
