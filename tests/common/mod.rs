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
    let file = std::fs::File::open(path).unwrap();
    let mut dec = Decoder::new(std::io::BufReader::new(file))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let (w, h) = dec.dimensions().unwrap();
    let (bits, bytes) = match dec.read_image().unwrap() {
        DecodingResult::U8(v) => (8, v),
        DecodingResult::U16(v) => (16, v.iter().flat_map(|p| p.to_le_bytes()).collect()),
        other => panic!("{}: unexpected sample type {other:?}", path.display()),
    };
    (w as usize, h as usize, bits, bytes)
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
