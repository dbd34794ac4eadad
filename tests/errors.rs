//! Bad input and unwritable output: a one-line message naming the file and the reason, a
//! meaningful exit code, no panic, and nothing left that looks like a finished output.

mod common;

use common::*;

/// Runs `build` on a copy of bad fixture `name`; checks the exit code, that stderr is one
/// line naming `file` and containing `reason`, and that no temporary file is left.
fn check_bad(name: &str, code: i32, file: &str, reason: &str) {
    check_bad_with(name, &[], code, file, reason);
}

/// [`check_bad`] with `extra` arguments to `build`.
fn check_bad_with(name: &str, extra: &[&str], code: i32, file: &str, reason: &str) {
    let work = copy_fixture(&fixtures().join("bad").join(name));
    // Small slices: a low --min-size so that there are levels to build and slices to read.
    let mut args = vec!["build", work.path().to_str().unwrap(), "--min-size", "4"];
    args.extend_from_slice(extra);
    let out = ctpyramid(&args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{name}: {stderr}");
    assert!(!stderr.contains("panicked"), "{name}: {stderr}");
    // The plan line may come first; the error is one line, and the last.
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("ctpyramid:"))
        .collect();
    assert_eq!(lines.len(), 1, "{name}: one error line expected: {stderr}");
    assert_eq!(stderr.lines().last(), Some(lines[0]), "{name}: {stderr}");
    assert!(
        lines[0].starts_with("ctpyramid: error: "),
        "{name}: {stderr}"
    );
    assert!(lines[0].contains(file), "{name}: names {file}? {stderr}");
    assert!(
        lines[0].contains(reason),
        "{name}: says {reason:?}? {stderr}"
    );
    assert!(
        partial_files(work.path()).is_empty(),
        "{name}: temporary files left"
    );
}

#[test]
fn every_bad_fixture_is_tested() {
    for name in file_names(&fixtures().join("bad")) {
        assert!(
            BAD.iter().any(|b| b.0 == name),
            "bad fixture {name} has no test"
        );
    }
}

/// (fixture, exit code, file named in the message, reason in the message)
const BAD: &[(&str, i32, &str, &str)] = &[
    (
        "truncated",
        1,
        "s_rec00000001.tif",
        "runs past the end of the file",
    ),
    ("strip_past_end", 1, "", "runs past the end of the file"),
    ("wrong_magic", 1, "", "not a TIFF, BMP, PNG or JPEG file"),
    ("not_tiff", 1, "s0.tif", "not a TIFF, BMP, PNG or JPEG file"),
    ("mismatched_size", 1, "", "first slice"),
    ("mismatched_depth", 1, "", "8-bit"),
    // The most common numbered name is s_rec########.tif: number 1 has no such file.
    (
        "mixed_format",
        1,
        "s_rec00000001.tif",
        "missing: 1 of the numbers 0..2 of s_rec########.tif",
    ),
    // Issue 21: int16 and float32 slices are read (tests/sample_types.rs); other signed and
    // float types, and RGB of them, are still refused, naming the type.
    (
        "float64",
        1,
        "s_rec00000000.tif",
        "unsupported sample format: 64-bit float",
    ),
    (
        "float16",
        1,
        "s_rec00000000.tif",
        "unsupported sample format: 16-bit float",
    ),
    (
        "int32",
        1,
        "s_rec00000000.tif",
        "unsupported sample format: 32-bit signed integer",
    ),
    (
        "int8",
        1,
        "s_rec00000000.tif",
        "unsupported sample format: 8-bit signed integer",
    ),
    ("rgb_float32", 1, "s_rec00000000.tif", "unsupported"),
    // uint16 slices and a float32 one: named as mismatched_depth's 8-bit slice is.
    ("mixed_types", 1, "s_rec00000002.tif", "first slice"),
    ("empty", 1, "", "no slice images"),
    ("strip_count_mismatch", 1, "", "holds 1 bytes"),
    ("zero_width", 1, "s_rec00000000.tif", "invalid dimensions"),
    ("huge_dims", 1, "s_rec00000000.tif", "invalid TIFF header"),
    ("ifd_loop", 1, "stack.tif", "cycle in the list of IFDs"),
    ("bmp_truncated", 1, "", "truncated"),
    ("png_truncated", 1, "", "PNG"),
    // Issue 13: a section inside the log's First..Last without its file; a gap in the
    // numbers without a log. Each builds with --skip-missing (tests/fixtures.rs).
    (
        "skyscan_missing_section",
        1,
        "CO-1__rec00000013.bmp",
        "missing: 1 of the 8 slices 10..17 do not exist (--skip-missing",
    ),
    (
        "nolog_gap",
        1,
        "sample_rec0003.tif",
        "missing: 1 of the numbers 0..5 of sample_rec####.tif has no file (--skip-missing",
    ),
    (
        "jpeg_truncated",
        1,
        "s_rec00000001.jpg",
        "cannot decode JPEG",
    ),
    // Found by fuzzing (see fuzz/README.md): headers claiming gigabytes in a few bytes.
    (
        "fuzz_jpeg_huge_alloc",
        1,
        "s_rec00000000.jpg",
        "more than its 25 bytes",
    ),
    (
        "fuzz_png_huge_alloc",
        1,
        "s_rec00000000.png",
        "more than its 41 bytes",
    ),
    (
        "fuzz_tiff_decode_huge_alloc",
        1,
        "s_rec00000000.tif",
        "more than its 338 bytes",
    ),
    (
        "fuzz_tiff_tag_values_alloc",
        1,
        "stack.tif",
        "claims more values than any slice has",
    ),
];

macro_rules! bad_tests {
    ($($name:ident),* $(,)?) => {
        $(#[test] fn $name() {
            let (name, code, file, reason) = *BAD
                .iter()
                .find(|b| b.0 == stringify!($name))
                .unwrap();
            check_bad(name, code, file, reason);
        })*
    };
}

bad_tests!(
    truncated,
    strip_past_end,
    wrong_magic,
    not_tiff,
    mismatched_size,
    mismatched_depth,
    mixed_format,
    float64,
    float16,
    int32,
    int8,
    rgb_float32,
    mixed_types,
    empty,
    strip_count_mismatch,
    zero_width,
    huge_dims,
    ifd_loop,
    bmp_truncated,
    png_truncated,
    jpeg_truncated,
    skyscan_missing_section,
    nolog_gap,
    fuzz_jpeg_huge_alloc,
    fuzz_png_huge_alloc,
    fuzz_tiff_decode_huge_alloc,
    fuzz_tiff_tag_values_alloc,
);

/// Every image file of mixed_format, taken with --all-images: a BMP among TIFFs does not
/// match the first slice.
#[test]
fn mixed_format_with_every_image() {
    check_bad_with(
        "mixed_format",
        &["--all-images"],
        1,
        "s_rec00000001.bmp",
        "slice is BMP 40x30 8-bit (first slice",
    );
}

#[test]
fn unwritable_output_is_exit_3() {
    let work = copy_fixture(&fixtures().join("stacks").join("single"));
    let blocker = work.path().join("a-file");
    std::fs::write(&blocker, b"not a folder").unwrap();
    let out_root = blocker.join("out");
    let out = ctpyramid(&[
        "build",
        work.path().to_str().unwrap(),
        "--out",
        out_root.to_str().unwrap(),
        "--min-size",
        "4",
        "--quiet",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("a-file"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn missing_folder_is_exit_1() {
    let out = ctpyramid(&["build", "/nonexistent/ctpyramid-test"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("/nonexistent/ctpyramid-test"), "{stderr}");
}

#[test]
fn usage_error_is_exit_2() {
    let out = ctpyramid(&["build", "--min-size", "many"]);
    assert_eq!(out.status.code(), Some(2));
}
