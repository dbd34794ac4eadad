//! An input file truncated by another program while ctpyramid has it mapped: reading the lost
//! pages raises SIGBUS, which must end in the usual one-line error naming the file, exit 1,
//! not a crash. The fault is provoked in a child process (this test binary run again), since
//! the handler ends the process it happens in.
//!
//! Unix only: on Windows a mapped file cannot be truncated (the truncation fails instead).
#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::process::Command;

use ctpyramid::internals::Stack;
use ctpyramid::ReadMode;

const CHILD: &str = "CTPYRAMID_SIGBUS_CHILD";

/// In the child: map the slice, truncate the file under the map, read every row.
fn provoke(path: &Path) -> ! {
    ctpyramid::platform::install_fault_handler();
    let stack = Stack::new(vec![path.to_path_buf()]).unwrap();
    let slice = stack.reader_with(ReadMode::Mmap).next().unwrap().unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .unwrap()
        .set_len(0)
        .unwrap();
    let plane = slice.plane::<u16>();
    let mut scratch = Vec::new();
    let mut sum = 0u64;
    for y in 0..plane.height() {
        sum += plane
            .row(y, &mut scratch)
            .iter()
            .map(|&v| u64::from(v))
            .sum::<u64>();
    }
    // Only reached if the truncation did not take the pages away.
    println!("read {sum} without a fault");
    std::process::exit(0)
}

#[test]
fn input_truncated_while_mapped_is_a_clear_error() {
    if let Some(path) = std::env::var_os(CHILD) {
        provoke(&PathBuf::from(path));
    }
    let dir = tempfile::tempdir().unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/stacks/u16_le_strip1/s_rec00000000.tif");
    let path = dir.path().join("s_rec00000000.tif");
    std::fs::copy(&src, &path).unwrap();

    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "input_truncated_while_mapped_is_a_clear_error",
            "--nocapture",
        ])
        .env(CHILD, &path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let line = stderr
        .lines()
        .find(|l| l.starts_with("ctpyramid: error: "))
        .unwrap_or_else(|| panic!("no error line: {stderr}"));
    assert!(line.contains(path.to_str().unwrap()), "{line}");
    assert!(line.contains("changed while being read"), "{line}");
}
