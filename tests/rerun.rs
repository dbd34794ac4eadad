//! Running `build` again: same bytes, stale leftovers of earlier runs removed, other files kept.

mod common;

use common::*;

fn build(dir: &std::path::Path) {
    let out = ctpyramid(&["build", dir.to_str().unwrap(), "--min-size", "8", "--quiet"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn read_level(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    file_names(dir)
        .into_iter()
        .map(|n| {
            let bytes = std::fs::read(dir.join(&n)).unwrap();
            (n, bytes)
        })
        .collect()
}

#[test]
fn rerun_gives_identical_files_and_removes_stale_ones() {
    let work = copy_fixture(&fixtures().join("stacks").join("u16_le_strip1"));
    build(work.path());
    let level1 = work.path().join(".thumbnail").join("1");
    let first = read_level(&level1);
    assert!(!first.is_empty());

    // What an earlier run of a longer stack, or a killed run, could have left behind.
    std::fs::write(level1.join("000099.tif"), b"stale").unwrap();
    std::fs::write(level1.join(".000000.tif.partial"), b"killed").unwrap();
    std::fs::write(level1.join("notes.txt"), b"the user's").unwrap();
    build(work.path());

    let mut second = read_level(&level1);
    second.retain(|(n, _)| n != "notes.txt");
    assert_eq!(first, second, "same files, same bytes, nothing stale");
    assert!(
        level1.join("notes.txt").exists(),
        "files that are not ours are kept"
    );
}

#[test]
fn out_option_writes_elsewhere_and_leaves_input_untouched() {
    let work = copy_fixture(&fixtures().join("stacks").join("single"));
    let before = file_names(work.path());
    let out_root = tempfile::tempdir().unwrap();
    let out = ctpyramid(&[
        "build",
        work.path().to_str().unwrap(),
        "--out",
        out_root.path().to_str().unwrap(),
        "--min-size",
        "8",
        "--quiet",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        file_names(work.path()),
        before,
        "nothing written into the input folder"
    );
    assert_eq!(file_names(&out_root.path().join("1")), ["000000.tif"]);
}
