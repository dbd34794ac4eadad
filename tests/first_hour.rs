//! What a new user runs into in a first hour with the command line: each answer is one line,
//! the last of stderr, that says what is wrong and the next step, a meaningful exit code, and
//! nothing written.

mod common;

use common::*;

/// The last line of stderr, which scripts read.
fn last_line(out: &std::process::Output) -> String {
    stderr_of(out)
        .lines()
        .last()
        .unwrap_or_default()
        .to_string()
}

/// A file given where a folder of slices is expected: refused, saying what the file is,
/// instead of a one-page "stack" built beside it (a TIFF), "nothing to build" (a BMP) or a
/// bare "not a TIFF" (a text file).
#[test]
fn a_file_where_a_folder_is_expected_is_refused_saying_what_it_is() {
    let work = tempfile::tempdir().unwrap();
    let stacks = fixtures().join("stacks");
    let cases = [
        (
            stacks.join("single/s_rec00000000.tif"),
            "slice.tif",
            "a TIFF of one page",
        ),
        (
            stacks.join("bmp_rgb24/s_rec00000000.bmp"),
            "preview.bmp",
            "a BMP file",
        ),
        (std::path::PathBuf::new(), "notes.txt", "not an image file"),
    ];
    for (source, name, what) in cases {
        let path = work.path().join(name);
        match source.as_os_str().is_empty() {
            true => std::fs::write(&path, b"scan notes\n").unwrap(),
            false => drop(std::fs::copy(&source, &path).unwrap()),
        }
        let out = ctpyramid(&["build", s(&path), "--min-size", "4"]);
        assert_eq!(out.status.code(), Some(1), "{name}: {}", stderr_of(&out));
        let line = last_line(&out);
        assert!(line.contains(name), "{line}");
        assert!(line.contains(what), "{line}");
        assert!(
            line.contains("a folder of slices, or a multi-page TIFF"),
            "{line}"
        );
    }
    assert_eq!(
        file_names(work.path()).len(),
        3,
        "nothing written beside them"
    );
}

/// `ctpyramid scan1`, a folder for a command: clap's error, and the command that was meant.
#[test]
fn a_folder_given_for_a_command_points_to_build() {
    let work = fixture_stack("single");
    let out = ctpyramid(&[s(work.path())]);
    assert_eq!(out.status.code(), Some(2));
    let hint = format!("ctpyramid build {}", work.path().display());
    assert!(stderr_of(&out).contains(&hint), "{}", stderr_of(&out));
}

/// `--threads` is bounded (100,000 once started 11,049 threads), 0 is not "the default", and
/// `--min-size 0` does not quietly build levels down to 1x1: each is refused by name.
#[test]
fn threads_and_min_size_out_of_range_are_refused_by_name() {
    let work = fixture_stack("single");
    let dir = s(work.path());
    for (args, says) in [
        (
            ["--threads", "0"],
            "--threads 0: expected an integer from 1 to ",
        ),
        (
            ["--threads", "100000"],
            "--threads 100000: expected an integer from 1 to ",
        ),
        (["--min-size", "0"], "--min-size 0: must be at least 1"),
    ] {
        let out = ctpyramid(&["build", dir, args[0], args[1]]);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr_of(&out));
        assert!(last_line(&out).contains(says), "{}", stderr_of(&out));
    }
    assert!(!work.path().join(".thumbnail").exists(), "nothing written");
}

/// A damaged slice's error points to `inspect`, which lists every problem of the stack.
#[test]
fn a_damaged_slice_points_to_inspect() {
    let work = copy_fixture(&fixtures().join("bad").join("truncated"));
    let out = ctpyramid(&["build", s(work.path()), "--min-size", "4"]);
    assert_eq!(out.status.code(), Some(1));
    let inspect = format!("`ctpyramid inspect {}`", work.path().display());
    assert!(last_line(&out).contains(&inspect), "{}", stderr_of(&out));
}

/// Building the other layout into the same folder replaces the first layout's files: no
/// 105 MB `level1.tif` left beside the slices, no level folders beside the stack files.
#[test]
fn switching_layouts_removes_the_other_layouts_files() {
    let work = fixture_stack("u16_le_strip1");
    let root = work.path().join(".thumbnail");
    let build = |layout: &str| {
        let dir = s(work.path());
        assert_ok(&ctpyramid(&[
            "build",
            dir,
            "--min-size",
            "8",
            "--layout",
            layout,
            "-q",
        ]));
        file_names(&root)
    };
    let slices = build("slices");
    assert!(slices.contains(&"1".to_string()), "{slices:?}");
    let stack = build("stack");
    assert!(stack.contains(&"level1.tif".to_string()), "{stack:?}");
    assert!(!root.join("1").exists(), "{stack:?}");
    let again = build("slices");
    assert!(!again.iter().any(|n| n.starts_with("level")), "{again:?}");
    assert!(root.join("1/000000.tif").is_file());
}

/// `demo --help` lists its options once each (it once declared `--slices` twice, which a
/// debug build refused with a panic).
#[test]
fn demo_help_names_each_option_once() {
    let out = ctpyramid(&["demo", "--help"]);
    assert_ok(&out);
    let help = String::from_utf8_lossy(&out.stdout);
    assert_eq!(help.matches("--slices").count(), 1, "{help}");
}
