//! Every fixture stack, built by the binary and compared pixel by pixel with the numpy
//! reference's expected outputs (see fixtures/README.md for their provenance).

mod common;

use std::path::Path;

use common::*;

/// Builds fixture stack `name` with each reader and each writer and compares every output
/// with the reference.
fn check_stack(name: &str) {
    for (reader, writer) in [
        ("mmap", "buffered"),
        ("buffered", "buffered"),
        ("mmap", "mapped"),
    ] {
        let mut options = vec!["--reader", reader, "--writer", writer];
        options.extend_from_slice(selection_of(name));
        check_stack_with(name, &options);
    }
}

/// The selection options a stack is built with: natsort's numbers 1, 2, 3, 10, 11 have a
/// gap (its default build fails, see `natsort_has_a_gap`).
fn selection_of(name: &str) -> &'static [&'static str] {
    match name {
        "natsort" => &["--skip-missing"],
        _ => &[],
    }
}

/// natsort by the default rule: the numbers of `s<n>.tif` stop at 3 and go on at 10, an
/// error naming s4.tif; every image in natural order (`--all-images`) builds the same
/// pyramid as `--skip-missing`.
#[test]
fn natsort_has_a_gap() {
    let work = copy_fixture(&fixtures().join("stacks").join("natsort"));
    let out = ctpyramid(&["build", work.path().to_str().unwrap(), "--min-size", "2"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("s4.tif: missing: 6 of the numbers 1..11 of s<n>.tif"),
        "{stderr}"
    );
    check_stack_with("natsort", &["--all-images"]);
}

/// The bad folders of issue 13 fail by default (tests/errors.rs) and build with
/// `--skip-missing`, leaving out the missing number: compared with their expected pyramid.
#[test]
fn skip_missing_builds_the_folders_with_a_gap() {
    for name in ["skyscan_missing_section", "nolog_gap"] {
        let input = fixtures().join("bad").join(name);
        check_build(&input, name, &["--skip-missing"]);
    }
}

/// A folder of slices and NRecon's preview, without a log: the slices are built (the
/// stack test `nolog_preview`), and build names the preview as left out, in one line.
#[test]
fn a_preview_without_a_log_is_named_as_left_out() {
    let work = copy_fixture(&fixtures().join("stacks").join("nolog_preview"));
    let out = ctpyramid(&["build", work.path().to_str().unwrap(), "--min-size", "8"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let left: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("left out"))
        .collect();
    assert_eq!(
        left,
        ["left out: sample_spr.bmp (not sample_rec####.tif; --all-images takes every image)"],
        "{stderr}"
    );
    // With every image the preview is a slice of another size: refused, naming it.
    let out = ctpyramid(&[
        "build",
        work.path().to_str().unwrap(),
        "--min-size",
        "8",
        "--all-images",
        "--force",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("sample_spr.bmp"), "{stderr}");
}

/// `--sync` flushes every file before naming it (on the writer thread, or in line for
/// mapped outputs): the same pyramid.
#[test]
fn sync_builds_the_same_pyramid() {
    for name in ["wide_two_levels", "u16_odd"] {
        check_stack_with(name, &["--sync"]);
        check_stack_with(name, &["--sync", "--writer", "mapped"]);
    }
}

fn check_stack_with(name: &str, options: &[&str]) {
    check_build(&fixtures().join("stacks").join(name), name, options);
}

/// Builds a copy of the folder `input` with `options` and compares every output with
/// `expected/<name>`.
fn check_build(input: &Path, name: &str, options: &[&str]) {
    let expected = fixtures().join("expected").join(name);
    let Manifest {
        min_size,
        dtype,
        levels,
    } = read_manifest(&expected);
    let work = copy_fixture(input);
    let dir = work.path().to_str().unwrap();
    let min_size = min_size.to_string();
    let mut args = vec!["build", dir, "--min-size", &min_size, "--quiet"];
    args.extend(options);
    let out = ctpyramid(&args);
    let name = &format!("{name} ({})", options.join(" "));
    assert!(
        out.status.success(),
        "{name}: exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stdout.is_empty() && out.stderr.is_empty(),
        "{name}: --quiet printed"
    );

    let root = work.path().join(".thumbnail");
    let level_dirs: Vec<String> = file_names(&root)
        .into_iter()
        .filter(|n| root.join(n).is_dir())
        .collect();
    let want_dirs: Vec<String> = levels.iter().map(|l| l.level.to_string()).collect();
    assert_eq!(level_dirs, want_dirs, "{name}: level folders");

    for spec in &levels {
        let got_dir = root.join(spec.level.to_string());
        let names: Vec<String> = file_names(&got_dir)
            .into_iter()
            .filter(|n| n.ends_with(".tif"))
            .collect();
        let want: Vec<String> = (0..spec.slices).map(|k| format!("{k:06}.tif")).collect();
        assert_eq!(names, want, "{name}: files of level {}", spec.level);
        for k in 0..spec.slices {
            let got_path = got_dir.join(format!("{k:06}.tif"));
            let (w, h, got_dtype, got) = decode_tiff_typed(&got_path);
            let at = format!("{name}: level {} slice {k}", spec.level);
            assert_eq!(
                (w, h, got_dtype.bits(), got_dtype),
                (spec.width, spec.height, spec.bits, dtype),
                "{at}: geometry and sample type"
            );
            let want = std::fs::read(
                expected
                    .join(spec.level.to_string())
                    .join(format!("{k:06}.raw")),
            )
            .unwrap();
            // Bit for bit; float32 NaN only where the reference has NaN (any NaN).
            assert_samples_eq(&got, &want, dtype, w, &at);
        }
    }
    assert!(
        partial_files(work.path()).is_empty(),
        "{name}: temporary files left"
    );
}

/// Fails when a fixture stack exists without a test below, so none is forgotten.
#[test]
fn every_stack_fixture_is_tested() {
    let tested = STACKS;
    for name in file_names(&fixtures().join("stacks")) {
        assert!(
            tested.contains(&name.as_str()),
            "fixture stack {name} has no test"
        );
    }
}

macro_rules! stack_tests {
    ($($name:ident),* $(,)?) => {
        const STACKS: &[&str] = &[$(stringify!($name)),*];
        $(#[test] fn $name() { check_stack(stringify!($name)); })*
    };
}

stack_tests!(
    bmp_palette,
    bmp_rgb24,
    bmp_skyscan,
    deflate,
    deflate_pred,
    f32_be,
    f32_deflate_pred,
    f32_multipage,
    f32_strips,
    f32_tiled,
    i16_be,
    i16_deflate_pred,
    i16_lzw,
    i16_strips,
    jpeg_gray,
    lzw,
    lzw_pred,
    min16,
    mixed_case_ext,
    multipage,
    multipage_imagej,
    multipage_lzw,
    natsort,
    nolog_preview,
    packbits,
    png16,
    png8,
    png_rgb,
    rgb16_tiff,
    rgb_tiff,
    single,
    skyscan_log,
    skyscan_tif,
    tiled,
    tiled_lzw,
    u16_be,
    u16_bigtiff,
    u16_bigtiff_be,
    u16_le_strip1,
    u16_multistrip,
    u16_odd,
    u16_odd_offset,
    u16_pillow,
    u16_strip_per_row,
    u16_tiffcp,
    u16_twin,
    u8_lzw_pred,
    u8_pillow,
    voxel_cm,
    voxel_dpi,
    voxel_imagej,
    wide_two_levels,
);
