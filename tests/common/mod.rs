//! Shared helpers of the integration tests: fixtures, running the binary, reading outputs.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tiff::decoder::{Decoder, DecodingResult};

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// Copies a fixture folder (recursively) into a fresh temporary folder, so runs never write
/// into `fixtures/`.
pub fn copy_fixture(src: &Path) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(src, tmp.path());
    tmp
}

fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for entry in std::fs::read_dir(src).unwrap() {
        let entry = entry.unwrap();
        let to = dst.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &to);
        } else {
            std::fs::copy(entry.path(), &to).unwrap();
        }
    }
}

pub fn ctpyramid(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ctpyramid"))
        .args(args)
        .output()
        .expect("the ctpyramid binary runs")
}

/// Pixels of a TIFF as little-endian bytes, read with the `tiff` crate's full decoder
/// (not ctpyramid's reader), with width, height and bits per sample.
pub fn decode_tiff(path: &Path) -> (usize, usize, u16, Vec<u8>) {
    let (w, h, dtype, bytes) = decode_tiff_typed(path);
    (w, h, dtype.bits(), bytes)
}

/// The sample types ctpyramid reads and writes (`uint8`, `uint16`, `int16`, `float32`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dtype {
    U8,
    U16,
    I16,
    F32,
}

impl Dtype {
    /// Its numpy name, as `pyramid.json`, `crop.json` and the fixtures' manifests write it.
    pub fn name(self) -> &'static str {
        match self {
            Dtype::U8 => "uint8",
            Dtype::U16 => "uint16",
            Dtype::I16 => "int16",
            Dtype::F32 => "float32",
        }
    }

    pub fn from_name(name: &str) -> Dtype {
        match name {
            "uint8" => Dtype::U8,
            "uint16" => Dtype::U16,
            "int16" => Dtype::I16,
            "float32" => Dtype::F32,
            other => panic!("unknown dtype {other:?}"),
        }
    }

    pub fn size(self) -> usize {
        match self {
            Dtype::U8 => 1,
            Dtype::U16 | Dtype::I16 => 2,
            Dtype::F32 => 4,
        }
    }

    pub fn bits(self) -> u16 {
        self.size() as u16 * 8
    }

    /// Sample `i` of little-endian `bytes`, as text for messages (NaN with its bits).
    pub fn show(self, bytes: &[u8], i: usize) -> String {
        let b = &bytes[i * self.size()..(i + 1) * self.size()];
        match self {
            Dtype::U8 => b[0].to_string(),
            Dtype::U16 => u16::from_le_bytes([b[0], b[1]]).to_string(),
            Dtype::I16 => i16::from_le_bytes([b[0], b[1]]).to_string(),
            Dtype::F32 => {
                let v = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                format!("{v:?} ({:#010x})", v.to_bits())
            }
        }
    }
}

/// Like [`decode_tiff`], with the sample type (int16 and float32 too) instead of the bits.
pub fn decode_tiff_typed(path: &Path) -> (usize, usize, Dtype, Vec<u8>) {
    let file = std::fs::File::open(path).unwrap();
    let mut dec = Decoder::new(std::io::BufReader::new(file))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let (w, h) = dec.dimensions().unwrap();
    let (dtype, bytes) = typed_samples(path, dec.read_image().unwrap());
    (w as usize, h as usize, dtype, bytes)
}

/// Every page of a TIFF (each IFD of the chain) as [`decode_tiff_typed`] reads a page.
pub fn decode_tiff_pages_typed(path: &Path) -> Vec<(usize, usize, Dtype, Vec<u8>)> {
    let file = std::fs::File::open(path).unwrap();
    let mut dec = Decoder::new(std::io::BufReader::new(file))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut pages = Vec::new();
    loop {
        let (w, h) = dec.dimensions().unwrap();
        let (dtype, bytes) = typed_samples(path, dec.read_image().unwrap());
        pages.push((w as usize, h as usize, dtype, bytes));
        if !dec.more_images() {
            return pages;
        }
        dec.next_image()
            .unwrap_or_else(|e| panic!("{}: page {}: {e}", path.display(), pages.len()));
    }
}

fn typed_samples(path: &Path, decoded: DecodingResult) -> (Dtype, Vec<u8>) {
    fn le<const N: usize, T: Copy>(v: &[T], f: impl Fn(T) -> [u8; N]) -> Vec<u8> {
        v.iter().flat_map(|&p| f(p)).collect()
    }
    match decoded {
        DecodingResult::U8(v) => (Dtype::U8, v),
        DecodingResult::U16(v) => (Dtype::U16, le(&v, u16::to_le_bytes)),
        DecodingResult::I16(v) => (Dtype::I16, le(&v, i16::to_le_bytes)),
        DecodingResult::F32(v) => (Dtype::F32, le(&v, f32::to_le_bytes)),
        other => panic!("{}: unexpected sample type {other:?}", path.display()),
    }
}

/// The first sample at which `got` and `want` (little-endian samples of `dtype`) differ, as
/// the fixtures are compared: bit for bit, but for float32 NaN, which must be NaN in both
/// (its sign and payload may differ: numpy and Rust need not make the same NaN).
pub fn first_difference(got: &[u8], want: &[u8], dtype: Dtype) -> Option<usize> {
    assert_eq!(got.len(), want.len(), "sample bytes");
    let size = dtype.size();
    got.chunks_exact(size)
        .zip(want.chunks_exact(size))
        .position(|(g, w)| {
            if dtype == Dtype::F32 {
                let g = f32::from_le_bytes([g[0], g[1], g[2], g[3]]);
                let w = f32::from_le_bytes([w[0], w[1], w[2], w[3]]);
                !(g.is_nan() && w.is_nan() || g.to_bits() == w.to_bits())
            } else {
                g != w
            }
        })
}

/// Panics naming the first sample where `got` and `want` (`width` samples a row) differ, by
/// [`first_difference`].
pub fn assert_samples_eq(got: &[u8], want: &[u8], dtype: Dtype, width: usize, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: sample bytes");
    if let Some(i) = first_difference(got, want, dtype) {
        panic!(
            "{what}: first difference at x={} y={}: got {}, want {}",
            i % width,
            i / width,
            dtype.show(got, i),
            dtype.show(want, i)
        );
    }
}

/// One level of `fixtures/expected/<name>/manifest.txt`.
pub struct LevelSpec {
    pub level: usize,
    pub width: usize,
    pub height: usize,
    pub bits: u16,
    pub slices: usize,
}

/// `fixtures/expected/<name>/manifest.txt`: `min_size N`, an optional `dtype D` (int16 and
/// float32 stacks; without it the dtype is uint8 or uint16 by the bits), then
/// `level width height bits slices` per level; `#` starts a comment line.
pub struct Manifest {
    pub min_size: usize,
    pub dtype: Dtype,
    pub levels: Vec<LevelSpec>,
}

pub fn read_manifest(dir: &Path) -> Manifest {
    let path = dir.join("manifest.txt");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'));
    let first = lines.next().unwrap();
    let min_size = first
        .strip_prefix("min_size ")
        .unwrap_or_else(|| panic!("{}: first line {first:?}", dir.display()))
        .trim()
        .parse()
        .unwrap();
    let mut dtype = None;
    let mut levels = Vec::new();
    for line in lines {
        if let Some(name) = line.strip_prefix("dtype ") {
            dtype = Some(Dtype::from_name(name.trim()));
            continue;
        }
        let v: Vec<usize> = line
            .split_whitespace()
            .map(|x| x.parse().unwrap())
            .collect();
        levels.push(LevelSpec {
            level: v[0],
            width: v[1],
            height: v[2],
            bits: v[3] as u16,
            slices: v[4],
        });
    }
    let dtype = dtype.unwrap_or(match levels.first().map_or(16, |l| l.bits) {
        8 => Dtype::U8,
        _ => Dtype::U16,
    });
    Manifest {
        min_size,
        dtype,
        levels,
    }
}

/// `fixtures/expected/<name>/<level>/<index:06>.raw`: little-endian samples, row-major.
pub fn expected_raw(name: &str, level: usize, index: usize) -> Vec<u8> {
    let path = fixtures()
        .join("expected")
        .join(name)
        .join(level.to_string())
        .join(format!("{index:06}.raw"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Names of the files in `dir`, sorted.
pub fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Every file below `dir` whose name marks it as a temporary output.
pub fn partial_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in rd.flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(partial_files(&path));
        } else if path.to_string_lossy().ends_with(".partial") {
            found.push(path);
        }
    }
    found
}

/// The levels of a pyramid by the reference rule (fixtures/README.md), computed here rather
/// than asked of ctpyramid: `(width, height, slices)` of level 1, 2, ...
pub fn reference_levels(
    width: usize,
    height: usize,
    slices: usize,
    min_size: usize,
) -> Vec<(usize, usize, usize)> {
    let mut levels = Vec::new();
    let (mut w, mut h, mut n) = (width, height, slices);
    while (w > min_size || h > min_size) && w >= 2 && h >= 2 {
        (w, h, n) = (w / 2, h / 2, n.div_ceil(2));
        levels.push((w, h, n));
    }
    levels
}

/// Every file below `dir` (hidden ones included) by its path relative to `dir` (with `/`
/// between folders on every system), with its bytes.
pub fn read_tree(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, into: &mut std::collections::BTreeMap<String, Vec<u8>>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in rd.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(root, &path, into);
            } else {
                let rel = path.strip_prefix(root).unwrap().components();
                let rel: Vec<_> = rel.map(|c| c.as_os_str().to_string_lossy()).collect();
                let rel = rel.join("/");
                into.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    let mut tree = std::collections::BTreeMap::new();
    walk(dir, dir, &mut tree);
    tree
}

pub fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

pub fn stderr_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn assert_ok(out: &Output) {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status,
        stderr_of(out)
    );
}

/// A copy of fixture stack `name` in a fresh temporary folder.
pub fn fixture_stack(name: &str) -> tempfile::TempDir {
    copy_fixture(&fixtures().join("stacks").join(name))
}

/// A phantom stack written by `ctpyramid demo`, without the pyramid the demo builds.
pub fn demo_stack(slices: usize, size: usize, min_size: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let out = ctpyramid(&[
        "demo",
        "--dir",
        s(dir.path()),
        "--slices",
        &slices.to_string(),
        "--size",
        &size.to_string(),
        "--min-size",
        &min_size.to_string(),
        "--quiet",
    ]);
    assert_ok(&out);
    std::fs::remove_dir_all(dir.path().join(".thumbnail")).unwrap();
    assert_eq!(
        file_names(dir.path()).len(),
        slices,
        "the demo writes one file per slice"
    );
    dir
}

/// A tmpfs mounted over a folder, unmounted when dropped.
#[cfg(target_os = "linux")]
pub struct Tmpfs {
    dir: PathBuf,
}

#[cfg(target_os = "linux")]
impl Tmpfs {
    pub fn mount(dir: &Path, size: &str) -> Option<Tmpfs> {
        use std::ffi::CString;
        let target = CString::new(s(dir)).unwrap();
        let data = CString::new(format!("size={size}")).unwrap();
        let fs = CString::new("tmpfs").unwrap();
        // SAFETY: plain C strings that outlive the call.
        let rc = unsafe {
            libc::mount(
                fs.as_ptr(),
                target.as_ptr(),
                fs.as_ptr(),
                0,
                data.as_ptr().cast(),
            )
        };
        if rc != 0 {
            eprintln!(
                "cannot mount a tmpfs ({}): the full-disk case is skipped",
                std::io::Error::last_os_error()
            );
            return None;
        }
        Some(Tmpfs {
            dir: dir.to_path_buf(),
        })
    }
}

#[cfg(target_os = "linux")]
impl Drop for Tmpfs {
    fn drop(&mut self) {
        let target = std::ffi::CString::new(s(&self.dir)).unwrap();
        // SAFETY: a C string that outlives the call. Detached, so a file still open
        // somewhere cannot keep the mount.
        unsafe { libc::umount2(target.as_ptr(), libc::MNT_DETACH) };
    }
}

/// One page of a TIFF as the `tiff` crate decodes it (not ctpyramid's reader): its size, bits
/// and samples per pixel, and its samples (widened to u16, native values, row-major,
/// interleaved when there are several a pixel).
pub struct TiffPage {
    pub width: usize,
    pub height: usize,
    pub bits: u16,
    pub samples_per_pixel: usize,
    pub samples: Vec<u16>,
}

/// Every page of a TIFF (each IFD of the chain), decoded with the `tiff` crate.
pub fn decode_tiff_pages(path: &Path) -> Vec<TiffPage> {
    use tiff::ColorType;
    let file = std::fs::File::open(path).unwrap();
    let mut dec = Decoder::new(std::io::BufReader::new(file))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut pages = Vec::new();
    loop {
        let (w, h) = dec.dimensions().unwrap();
        let samples_per_pixel = match dec.colortype().unwrap() {
            ColorType::Gray(_) => 1,
            ColorType::RGB(_) => 3,
            other => panic!("{}: unexpected colour type {other:?}", path.display()),
        };
        let (bits, samples) = match dec.read_image().unwrap() {
            DecodingResult::U8(v) => (8, v.into_iter().map(u16::from).collect()),
            DecodingResult::U16(v) => (16, v),
            other => panic!("{}: unexpected sample type {other:?}", path.display()),
        };
        pages.push(TiffPage {
            width: w as usize,
            height: h as usize,
            bits,
            samples_per_pixel,
            samples,
        });
        if !dec.more_images() {
            return pages;
        }
        dec.next_image()
            .unwrap_or_else(|e| panic!("{}: page {}: {e}", path.display(), pages.len()));
    }
}

/// Limits the size of the files `command` writes to `bytes` (RLIMIT_FSIZE), with SIGXFSZ
/// ignored: a write past it fails with EFBIG ("File too large"), a full disk without a
/// filesystem to fill.
#[cfg(unix)]
#[allow(dead_code)]
pub fn limit_file_size(command: &mut Command, bytes: u64) {
    use std::os::unix::process::CommandExt;
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        command.pre_exec(move || {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            let limit = libc::rlimit {
                rlim_cur: bytes as libc::rlim_t,
                rlim_max: bytes as libc::rlim_t,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}
