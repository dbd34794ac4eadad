//! Shared by the fuzz targets: where an input is written and how the library is driven.
//!
//! The first byte of an input picks the file name's extension (`tif`, `bmp`, `png`, `jpg`, by
//! its value mod 4) and is stripped; the rest are the file's bytes. `seed.sh` prepends that
//! byte to the fixtures so that the seeds are the fixtures themselves.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ctpyramid::internals::{Sample, SliceFile, Stack};
use ctpyramid::{BuildOptions, Selection};

/// Slices read at most from one input (the pages of a multi-page TIFF).
pub const MAX_SLICES: usize = 16;

pub const EXTENSIONS: [&str; 4] = ["tif", "bmp", "png", "jpg"];

/// A folder of this process in tmpfs (`/dev/shm`, else the temp dir), holding one file.
pub fn workdir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let base = Path::new("/dev/shm");
        let base = if base.is_dir() {
            base.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        let dir = base.join(format!("ctpyramid-fuzz-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the fuzz work folder");
        dir
    })
}

/// Writes `data` (first byte: extension) as the only file of [`workdir`]; its path.
pub fn place(data: &[u8]) -> Option<PathBuf> {
    let (&first, body) = data.split_first()?;
    let dir = workdir();
    for ext in EXTENSIONS {
        let _ = std::fs::remove_file(dir.join(format!("slice.{ext}")));
    }
    let path = dir.join(format!("slice.{}", EXTENSIONS[usize::from(first) % 4]));
    std::fs::write(&path, body).expect("write the fuzz input");
    Some(path)
}

fn sum_rows<T: Sample>(slice: &SliceFile) -> u64 {
    let plane = slice.plane::<T>();
    let mut scratch = Vec::new();
    let mut sum = 0u64;
    for y in 0..plane.height() {
        let row = plane.row(y, &mut scratch);
        sum = sum.wrapping_add(
            row.iter()
                .map(|&v| v.to_f64().to_bits())
                .fold(0u64, u64::wrapping_add),
        );
    }
    sum
}

/// `Stack::new` on the one file, then every row of up to [`MAX_SLICES`] slices.
pub fn read_stack(path: &Path) -> u64 {
    let Ok(stack) = Stack::new(vec![path.to_path_buf()]) else {
        return 0;
    };
    let mut total = black_box(stack.len() as u64);
    for slice in stack.reader().take(MAX_SLICES) {
        let Ok(slice) = slice else { continue };
        let _ = black_box(slice.read_path());
        let sum = ctpyramid::with_sample!(slice.layout().depth, T => sum_rows::<T>(&slice));
        total = total.wrapping_add(sum);
    }
    black_box(total)
}

/// `inspect` of the folder holding the one file.
pub fn inspect_dir(dir: &Path) {
    let options = BuildOptions {
        selection: Selection::All,
        min_size: 4,
        ..BuildOptions::new(dir)
    };
    if let Ok(report) = ctpyramid::inspect(&options) {
        black_box(report.to_json());
    }
}
