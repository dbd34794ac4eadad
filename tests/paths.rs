//! Paths as users have them, on every system: Korean and accented names with spaces, paths
//! longer than Windows' 260 characters, and errors that name the file as the user typed it.
//! The pixels are checked against the reference's expected outputs (fixtures/README.md).

mod common;

use std::path::{Path, PathBuf};

use common::*;

/// Copies fixture stack `name` into `dir` (created), giving each slice the name `rename`
/// makes of its index.
fn copy_stack_as(name: &str, dir: &Path, rename: impl Fn(usize, &str) -> String) {
    std::fs::create_dir_all(dir).unwrap();
    let src = fixtures().join("stacks").join(name);
    for (i, file) in file_names(&src).iter().enumerate() {
        let ext = file.rsplit('.').next().unwrap();
        std::fs::copy(src.join(file), dir.join(rename(i, ext))).unwrap();
    }
}

/// Builds `dir` with the CLI and checks every output's pixels against the expected outputs
/// of fixture `name` (whose manifest gives the minimum size).
fn build_and_check(name: &str, dir: &Path) {
    let expected = fixtures().join("expected").join(name);
    let manifest = std::fs::read_to_string(expected.join("manifest.txt")).unwrap();
    let min_size = manifest
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("min_size "))
        .unwrap();
    let out = ctpyramid(&["build", s(dir), "--min-size", min_size, "--quiet"]);
    assert_ok(&out);
    let root = dir.join(".thumbnail");
    let mut checked = 0;
    for level in file_names(&expected)
        .iter()
        .filter(|n| expected.join(n).is_dir())
    {
        for raw in file_names(&expected.join(level)) {
            let tif = root.join(level).join(raw.replace(".raw", ".tif"));
            let (_, _, _, pixels) = decode_tiff(&tif);
            let want = std::fs::read(expected.join(level).join(&raw)).unwrap();
            assert!(pixels == want, "{}: pixels differ", tif.display());
            checked += 1;
        }
    }
    assert!(checked > 0);
}

#[test]
fn korean_accented_and_spaced_names_build_the_reference_pyramid() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("스캔 샘플").join("Échantillon n°1_Rec");
    copy_stack_as("u16_odd", &dir, |i, ext| format!("뼈 표본 {i:03}.{ext}"));
    build_and_check("u16_odd", &dir);
}

#[test]
fn a_path_longer_than_260_characters_builds() {
    let tmp = tempfile::tempdir().unwrap();
    let mut dir: PathBuf = tmp.path().to_path_buf();
    while dir.as_os_str().len() < 300 {
        dir.push("a folder of a long scan name, as NRecon writes them");
    }
    copy_stack_as("bmp_skyscan", &dir, |i, ext| {
        format!("scan_rec{i:08}.{ext}")
    });
    build_and_check("bmp_skyscan", &dir);
}

#[test]
fn a_bad_slice_in_a_korean_folder_is_named_in_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("스캔 샘플 é");
    copy_stack_as("u16_odd", &dir, |i, ext| format!("s_rec{i:08}.{ext}"));
    let bad = dir.join("s_rec00000001.tif");
    let bytes = std::fs::read(&bad).unwrap();
    std::fs::write(&bad, &bytes[..bytes.len() / 2]).unwrap();
    let out = ctpyramid(&["build", s(&dir), "--min-size", "8", "--quiet"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    let stderr = stderr_of(&out);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("ctpyramid: error: "), "{stderr}");
    // Named as the system shows it: the folder as given, joined with its own separator.
    assert!(stderr.contains(&bad.display().to_string()), "{stderr}");
    assert!(partial_files(&dir).is_empty());
}

#[test]
fn a_missing_folder_is_named_as_given() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("없는 폴더");
    let out = ctpyramid(&["build", s(&dir)]);
    let stderr = stderr_of(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains(&dir.display().to_string()), "{stderr}");
}
