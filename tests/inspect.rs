//! `ctpyramid inspect`: how each stack would be read, its levels, its problems, and that it
//! writes nothing; slice selection by SkyScan log and by `--prefix` pattern (on `build`).

mod common;

use std::path::Path;
use std::process::Output;

use serde_json::Value;

use common::*;

fn text_of(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Every file and folder below `dir` (hidden ones included), with file sizes and contents.
fn snapshot(dir: &Path) -> Vec<(String, Option<Vec<u8>>)> {
    fn walk(root: &Path, dir: &Path, into: &mut Vec<(String, Option<Vec<u8>>)>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if path.is_dir() {
                into.push((rel, None));
                walk(root, &path, into);
            } else {
                into.push((rel, Some(std::fs::read(&path).unwrap())));
            }
        }
    }
    let mut found = Vec::new();
    walk(dir, dir, &mut found);
    found.sort();
    found
}

/// Runs `inspect` on `dir` (or a multi-page file) with `extra` arguments (text, or JSON with
/// `--json`), and checks it wrote nothing in the folder.
fn inspect(dir: &Path, extra: &[&str]) -> Output {
    let folder = if dir.is_dir() {
        dir
    } else {
        dir.parent().unwrap()
    };
    let before = snapshot(folder);
    let mut args = vec!["inspect", s(dir)];
    args.extend_from_slice(extra);
    let out = ctpyramid(&args);
    assert!(
        !text_of(&out.stderr).contains("panicked"),
        "{}",
        text_of(&out.stderr)
    );
    assert!(
        snapshot(folder) == before,
        "inspect changed the files of {}",
        folder.display()
    );
    out
}

fn inspect_json(dir: &Path, extra: &[&str]) -> (Output, Value) {
    let mut args = vec!["--json"];
    args.extend_from_slice(extra);
    let out = inspect(dir, &args);
    let json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", text_of(&out.stdout)));
    (out, json)
}

fn reads(json: &Value) -> Vec<(String, u64)> {
    json["kinds"]
        .as_array()
        .expect("kinds is an array")
        .iter()
        .map(|k| {
            (
                k["read"].as_str().expect("read is a string").to_string(),
                k["count"].as_u64().expect("count is a number"),
            )
        })
        .collect()
}

fn levels_of(json: &Value) -> Vec<(usize, usize, usize)> {
    let n = |v: &Value, f: &str| v[f].as_u64().unwrap() as usize;
    json["levels"]
        .as_array()
        .expect("levels is an array")
        .iter()
        .map(|l| (n(l, "width"), n(l, "height"), n(l, "slices")))
        .collect()
}

/// File names (not paths) of the slices listed in `files`, in order.
fn listed_names(json: &Value) -> Vec<String> {
    json["files"]
        .as_array()
        .expect("files is an array")
        .iter()
        .map(|f| {
            let slice = f["slice"].as_str().expect("slice is a string");
            Path::new(slice)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect()
}

fn problems(json: &Value) -> Vec<(String, String)> {
    json["problems"]
        .as_array()
        .expect("problems is an array")
        .iter()
        .map(|p| {
            (
                p["slice"].as_str().unwrap().to_string(),
                p["error"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The lines of the text report after `problems: N`.
fn problem_lines(text: &str) -> Vec<&str> {
    text.lines()
        .skip_while(|l| !l.trim_start().starts_with("problems:"))
        .skip(1)
        .collect()
}

#[test]
fn lzw_stack_is_decoded() {
    let dir = fixture_stack("lzw");
    let out = inspect(dir.path(), &["--min-size", "8"]);
    let text = text_of(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("decoded"), "{text}");
    assert!(text.contains("LZW"), "{text}");
    assert!(text.contains("4 slices"), "{text}");
    assert!(text.contains("problems: none"), "{text}");
    // 4 slices of 40x30 u16, min size 8.
    let levels = reference_levels(40, 30, 4, 8);
    assert_eq!(levels, [(20, 15, 2), (10, 7, 1), (5, 3, 1)]);
    let listed: Vec<String> = levels
        .iter()
        .enumerate()
        .map(|(l, (w, h, n))| format!("{}: {w}x{h} x {n}", l + 1))
        .collect();
    assert!(
        text.contains(&format!("levels: {}", listed.join(", "))),
        "{text}"
    );

    let (out, json) = inspect_json(dir.path(), &["--min-size", "8"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(json["slices"], 4);
    let kinds = reads(&json);
    assert_eq!(kinds.len(), 1, "{json}");
    assert!(kinds[0].0.contains("decoded"), "{json}");
    assert!(kinds[0].0.contains("LZW"), "{json}");
    assert_eq!(kinds[0].1, 4);
    assert_eq!(json["kinds"][0]["width"], 40);
    assert_eq!(json["kinds"][0]["height"], 30);
    assert_eq!(json["kinds"][0]["bits"], 16);
    assert_eq!(levels_of(&json), levels);
    assert!(problems(&json).is_empty());
    assert_eq!(listed_names(&json).len(), 4);

    // Other min sizes give other levels; the default (500) none for 40x30 slices.
    let (_, json) = inspect_json(dir.path(), &["--min-size", "4"]);
    assert_eq!(levels_of(&json), reference_levels(40, 30, 4, 4));
    let (out, json) = inspect_json(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(0));
    assert!(levels_of(&json).is_empty(), "{json}");
}

#[test]
fn read_paths_are_reported() {
    // (stack, what every slice's read path says)
    for (name, says) in [
        ("u16_le_strip1", "mapped, zero-copy"),
        ("u16_be", "byte-swapped"),
        ("bmp_skyscan", "mapped, zero-copy"),
        ("bmp_palette", "palette"),
    ] {
        let dir = fixture_stack(name);
        let (out, json) = inspect_json(dir.path(), &["--min-size", "4"]);
        assert_eq!(out.status.code(), Some(0), "{name}: {json}");
        let kinds = reads(&json);
        assert_eq!(kinds.len(), 1, "{name}: one kind of slice: {json}");
        assert!(kinds[0].0.contains(says), "{name}: {says:?}? {json}");
        assert_eq!(kinds[0].1, json["slices"].as_u64().unwrap(), "{name}");
        let text = text_of(&inspect(dir.path(), &["--min-size", "4"]).stdout);
        assert!(text.contains(says), "{name}: {says:?}? {text}");
    }
    // zero-copy means no conversion at all
    for name in ["u16_be", "bmp_palette"] {
        let (_, json) = inspect_json(fixture_stack(name).path(), &[]);
        assert!(!reads(&json)[0].0.contains("zero-copy"), "{name}: {json}");
    }

    // One 4-page file: page 0's strip is at offset 8, pages 1-3 at odd offsets.
    let dir = fixture_stack("u16_odd_offset");
    let (out, json) = inspect_json(&dir.path().join("stack.tif"), &["--min-size", "4"]);
    assert_eq!(out.status.code(), Some(0), "{json}");
    assert_eq!(json["slices"], 4);
    let kinds = reads(&json);
    let odd: Vec<_> = kinds
        .iter()
        .filter(|k| k.0.contains("odd offsets"))
        .collect();
    assert_eq!(odd.len(), 1, "{json}");
    assert_eq!(odd[0].1, 3, "pages 1-3: {json}");
    assert_eq!(
        kinds.iter().map(|k| k.1).sum::<u64>(),
        4,
        "every page is a kind: {json}"
    );
    let (_, folder) = inspect_json(dir.path(), &["--min-size", "4"]);
    assert_eq!(reads(&folder), kinds, "the folder reads as its one file");
}

#[test]
fn mismatched_size_is_a_problem_naming_both_slices() {
    let dir = copy_fixture(&fixtures().join("bad").join("mismatched_size"));
    let (out, json) = inspect_json(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(1), "{json}");
    assert_eq!(json["slices"], 3);
    let problems = problems(&json);
    assert_eq!(problems.len(), 1, "{json}");
    assert!(
        problems[0].0.ends_with("s_rec00000002.tif"),
        "the third slice: {json}"
    );
    assert!(
        problems[0].1.contains("s_rec00000000.tif"),
        "the first slice: {json}"
    );
    assert!(problems[0].1.contains("40x31"), "{json}");
    assert!(problems[0].1.contains("40x30"), "{json}");

    let out = inspect(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(1));
    let text = text_of(&out.stdout);
    assert!(text.contains("problems: 1"), "{text}");
}

/// The text report's problem lines say which slice each problem is about: "Each error
/// names its slice already", src/inspect.rs says when printing only the error.
#[test]
fn text_problem_lines_name_the_slice() {
    let dir = copy_fixture(&fixtures().join("bad").join("mismatched_size"));
    let out = inspect(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(1));
    let text = text_of(&out.stdout);
    let lines = problem_lines(&text);
    assert_eq!(lines.len(), 1, "{text}");
    assert!(
        lines[0].contains("s_rec00000002.tif"),
        "the problem line names the mismatched (third) slice: {text}"
    );
    assert!(lines[0].contains("s_rec00000000.tif"), "{text}");
}

#[test]
fn truncated_slice_is_a_problem() {
    let dir = copy_fixture(&fixtures().join("bad").join("truncated"));
    let (out, json) = inspect_json(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(1), "{json}");
    assert_eq!(json["slices"], 2);
    let problems = problems(&json);
    assert_eq!(problems.len(), 1, "{json}");
    assert!(problems[0].0.ends_with("s_rec00000001.tif"), "{json}");
    assert!(problems[0].1.contains("s_rec00000001.tif"), "{json}");
    assert!(
        problems[0].1.contains("runs past the end of the file"),
        "{json}"
    );

    let out = inspect(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(1));
    let text = text_of(&out.stdout);
    let lines = problem_lines(&text);
    assert_eq!(lines.len(), 1, "{text}");
    assert!(lines[0].contains("s_rec00000001.tif"), "{text}");
}

#[test]
fn skyscan_log_selects_its_range() {
    let dir = fixture_stack("skyscan_log");
    let (out, json) = inspect_json(dir.path(), &["--min-size", "4"]);
    assert_eq!(out.status.code(), Some(0), "{json}");
    let selection = json["selection"].as_str().expect("a selection note");
    assert!(selection.contains("CO-1__rec.log"), "{selection}");
    assert_eq!(json["slices"], 8);
    let expected: Vec<String> = (10..=17).map(|i| format!("CO-1__rec{i:08}.bmp")).collect();
    assert_eq!(listed_names(&json), expected);
    assert_eq!(levels_of(&json), reference_levels(24, 18, 8, 4));
    let text = text_of(&inspect(dir.path(), &["--min-size", "4"]).stdout);
    assert!(text.contains("CO-1__rec.log"), "{text}");
    assert!(text.contains("8 slices"), "{text}");

    // Every image: sections 9 and 18 and the 10x10 `_spr` image too, which does not match.
    let (out, json) = inspect_json(dir.path(), &["--all-images"]);
    assert_eq!(json["slices"], 11, "{json}");
    assert_eq!(json["selection"], Value::Null);
    assert_eq!(listed_names(&json).len(), 11);
    let problems = problems(&json);
    assert_eq!(out.status.code(), Some(1), "{json}");
    assert_eq!(problems.len(), 1, "{json}");
    assert!(problems[0].0.ends_with("CO-1__rec_spr.bmp"), "{json}");
}

// --- Pattern selection on build ------------------------------------------------------------

/// Gray pixels of an 8-bit palette BMP (Pillow's), read here: `(width, height, rows top down)`.
fn bmp_gray(path: &Path) -> (usize, usize, Vec<u8>) {
    let b = std::fs::read(path).unwrap();
    let u32_at = |o: usize| u32::from_le_bytes(b[o..o + 4].try_into().unwrap());
    assert_eq!(&b[..2], b"BM", "{}", path.display());
    let data = u32_at(10) as usize;
    let palette = 14 + u32_at(14) as usize;
    let (width, height) = (u32_at(18) as i32, u32_at(22) as i32);
    assert_eq!(u16::from_le_bytes([b[28], b[29]]), 8, "{}", path.display());
    assert!(width > 0 && height > 0, "bottom-up BMP expected");
    let (w, h) = (width as usize, height as usize);
    let stride = w.next_multiple_of(4);
    let mut pixels = Vec::with_capacity(w * h);
    for y in 0..h {
        let row = data + (h - 1 - y) * stride;
        for &index in &b[row..row + w] {
            let entry = palette + 4 * index as usize;
            let (blue, green, red) = (b[entry] as u64, b[entry + 1] as u64, b[entry + 2] as u64);
            pixels.push(((2126 * red + 7152 * green + 722 * blue) / 10000) as u8);
        }
    }
    (w, h, pixels)
}

/// Level 1 of 8-bit slices by the reference rule: pairs halved with `(a+b+c+d+2)>>2` and
/// averaged with `(p+q+1)>>1`, a lone last slice only halved.
fn reference_level1(slices: &[(usize, usize, Vec<u8>)]) -> Vec<Vec<u8>> {
    let halve = |(w, h, px): &(usize, usize, Vec<u8>)| -> Vec<u32> {
        let mut out = Vec::new();
        for y in 0..h / 2 {
            for x in 0..w / 2 {
                let at = |dy: usize, dx: usize| px[(2 * y + dy) * w + 2 * x + dx] as u32;
                out.push((at(0, 0) + at(0, 1) + at(1, 0) + at(1, 1) + 2) >> 2);
            }
        }
        out
    };
    slices
        .chunks(2)
        .map(|pair| {
            let p = halve(&pair[0]);
            match pair.get(1) {
                Some(other) => p
                    .iter()
                    .zip(halve(other))
                    .map(|(a, b)| ((a + b + 1) >> 1) as u8)
                    .collect(),
                None => p.iter().map(|&a| a as u8).collect(),
            }
        })
        .collect()
}

fn pattern_build(dir: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "build",
        s(dir),
        "--prefix",
        "CO-1__rec",
        "--ext",
        "bmp",
        "--first",
        "11",
        "--last",
        "14",
        "--index-length",
        "8",
        "--min-size",
        "4",
        "--quiet",
    ];
    args.extend_from_slice(extra);
    ctpyramid(&args)
}

/// Checks level 1 of `dir`'s pyramid is the reference level 1 of sections `sections`.
fn check_level1(dir: &Path, sections: &[u32]) {
    let inputs: Vec<_> = sections
        .iter()
        .map(|i| bmp_gray(&dir.join(format!("CO-1__rec{i:08}.bmp"))))
        .collect();
    let expected = reference_level1(&inputs);
    let level1 = dir.join(".thumbnail").join("1");
    let names = file_names(&level1);
    assert_eq!(names.len(), expected.len(), "{names:?}");
    for (k, want) in expected.iter().enumerate() {
        let (w, h, bits, pixels) = decode_tiff(&level1.join(format!("{k:06}.tif")));
        assert_eq!((w, h, bits), (12, 9, 8));
        assert!(
            &pixels == want,
            "level 1 slice {k} is not made of sections {sections:?}"
        );
    }
}

#[test]
fn pattern_selects_the_range() {
    let dir = fixture_stack("skyscan_log");
    let out = pattern_build(dir.path(), &[]);
    assert!(out.status.success(), "{}", text_of(&out.stderr));
    // Sections 11..=14 (not the log's 10..=17): level 1 has 2 slices.
    check_level1(dir.path(), &[11, 12, 13, 14]);
}

#[test]
fn pattern_with_a_missing_number() {
    let dir = fixture_stack("skyscan_log");
    std::fs::remove_file(dir.path().join("CO-1__rec00000012.bmp")).unwrap();
    let out = pattern_build(dir.path(), &[]);
    let stderr = text_of(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one error line: {stderr}");
    assert!(stderr.contains("CO-1__rec00000012.bmp"), "{stderr}");
    assert!(stderr.contains("--skip-missing"), "{stderr}");
    assert!(partial_files(dir.path()).is_empty());
    assert!(file_names(&dir.path().join(".thumbnail").join("1")).is_empty());

    let out = pattern_build(dir.path(), &["--skip-missing"]);
    assert!(out.status.success(), "{}", text_of(&out.stderr));
    // 11 and 13 are a pair, 14 alone.
    check_level1(dir.path(), &[11, 13, 14]);
}

#[test]
fn prefix_needs_the_rest_of_the_pattern() {
    let dir = fixture_stack("skyscan_log");
    let out = ctpyramid(&["build", s(dir.path()), "--prefix", "CO-1__rec"]);
    let stderr = text_of(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--ext"), "{stderr}");
    let out = ctpyramid(&[
        "build",
        s(dir.path()),
        "--prefix",
        "CO-1__rec",
        "--ext",
        "bmp",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text_of(&out.stderr));
    let out = ctpyramid(&["inspect", s(dir.path()), "--prefix", "CO-1__rec"]);
    assert_eq!(out.status.code(), Some(2), "{}", text_of(&out.stderr));
    assert!(
        !dir.path().join(".thumbnail").exists(),
        "a usage error writes nothing"
    );
}

/// `inspect` reads `pyramid.json`: none before a build, complete after, out of date once an
/// input changes, incomplete without the manifest.
#[test]
fn pyramid_state_follows_the_manifest() {
    let work = fixture_stack("u16_le_strip1");
    let state = |extra: &[&str]| {
        let (_, json) = inspect_json(work.path(), extra);
        json["pyramid"]["state"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(state(&[]), "none");
    let out = ctpyramid(&["build", s(work.path()), "--min-size", "8", "--quiet"]);
    assert!(out.status.success(), "{}", text_of(&out.stderr));
    assert_eq!(state(&[]), "complete");
    let (_, json) = inspect_json(work.path(), &[]);
    assert_eq!(json["pyramid"]["levels"], 3);

    // The same bytes, written again: a new modification time.
    let input = work.path().join("s_rec00000002.tif");
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&input)
        .unwrap();
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(3600);
    file.set_modified(later).unwrap();
    drop(file);
    assert_eq!(state(&[]), "stale");
    let text = text_of(&inspect(work.path(), &[]).stdout);
    assert!(text.contains("pyramid: out of date"), "{text}");

    std::fs::remove_file(work.path().join(".thumbnail/pyramid.json")).unwrap();
    assert_eq!(state(&[]), "incomplete");
    let elsewhere = tempfile::tempdir().unwrap();
    assert_eq!(state(&["--out", s(elsewhere.path())]), "incomplete");
    assert_eq!(state(&["--out", s(&elsewhere.path().join("none"))]), "none");
}

// --- Folders as NRecon leaves them, CTHarvester's rule, voxel size (issue 13) -------------

/// A reconstruction folder with TIF slices from section 100, leftovers 99 and 106, the
/// `_spr.bmp` preview and the projections' acquisition log beside the reconstruction log:
/// the log's sections, the scanner and software, the voxel size with its source.
#[test]
fn nrecon_folder_with_two_logs() {
    let dir = fixture_stack("skyscan_tif");
    let (out, json) = inspect_json(dir.path(), &["--min-size", "8"]);
    assert_eq!(out.status.code(), Some(0), "{json}");
    let expected: Vec<String> = (100..=105)
        .map(|i| format!("bone_7um__rec{i:08}.tif"))
        .collect();
    assert_eq!(listed_names(&json), expected);
    assert_eq!(
        json["left_out"],
        serde_json::json!([
            "bone_7um__rec00000099.tif",
            "bone_7um__rec00000106.tif",
            "bone_7um__rec_spr.bmp"
        ])
    );
    assert_eq!(
        json["rule"],
        "slices bone_7um__rec00000100..00000105.tif as bone_7um__rec.log says"
    );
    assert_eq!(json["log"]["file"], "bone_7um__rec.log");
    assert_eq!(json["log"]["scanner"], "SkyScan1272");
    assert_eq!(json["log"]["software"], "NRecon Version: 1.7.4.6");
    assert_eq!(
        (json["log"]["first"].as_u64(), json["log"]["last"].as_u64()),
        (Some(100), Some(105))
    );
    assert_eq!(json["voxel_um"].as_f64(), Some(4.5));
    assert_eq!(
        json["voxel_source"],
        serde_json::json!({"from": "log", "file": "bone_7um__rec.log"})
    );
    let text = text_of(&inspect(dir.path(), &["--min-size", "8"]).stdout);
    for want in [
        "  slices bone_7um__rec00000100..00000105.tif as bone_7um__rec.log says\n",
        "  left out: bone_7um__rec00000099.tif, bone_7um__rec00000106.tif, bone_7um__rec_spr.bmp \
         (not sections 100..105 of bone_7um__rec.log; --all-images takes every image)\n",
        "  scanner: SkyScan1272, NRecon Version: 1.7.4.6\n",
        "  voxel: 4.5 um, from bone_7um__rec.log (Pixel Size (um))\n",
    ] {
        assert!(text.contains(want), "{want:?} in {text}");
    }
}

/// A log whose Result Image Width disagrees with the files: one line says so, in inspect
/// and in build, and the build goes on (the files are what they are).
#[test]
fn a_log_that_disagrees_with_the_files_is_said_in_one_line() {
    let dir = fixture_stack("skyscan_tif");
    let log = dir.path().join("bone_7um__rec.log");
    let bytes = std::fs::read(&log).unwrap();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    assert!(text.contains("Result Image Width (pixels)=40\r\n"));
    // Byte for byte but the width: the Latin-1 bytes stay as they are.
    let at = bytes
        .windows(30)
        .position(|w| w == b"Result Image Width (pixels)=40")
        .unwrap();
    let mut edited = bytes.clone();
    edited[at + 28] = b'8';
    std::fs::write(&log, edited).unwrap();
    let want = "bone_7um__rec.log says the slices are 80x30 (Result Image Width/Height), the \
                files are 40x30: the log may describe another reconstruction";
    let out = inspect(dir.path(), &["--min-size", "8"]);
    assert_eq!(out.status.code(), Some(0));
    let text = text_of(&out.stdout);
    assert!(text.contains(&format!("  {want}\n")), "{text}");
    let out = ctpyramid(&["build", s(dir.path()), "--min-size", "8"]);
    let stderr = text_of(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(stderr.lines().filter(|l| *l == want).count(), 1, "{stderr}");
}

/// No log: CTHarvester's rule, and the preview named as left out.
#[test]
fn most_common_numbered_name_without_a_log() {
    let dir = fixture_stack("nolog_preview");
    let (out, json) = inspect_json(dir.path(), &["--min-size", "8"]);
    assert_eq!(out.status.code(), Some(0), "{json}");
    assert_eq!(json["slices"], 5);
    assert_eq!(json["left_out"], serde_json::json!(["sample_spr.bmp"]));
    assert_eq!(
        json["rule"],
        "slices sample_rec####.tif, 0..4: the most common numbered name, 5 of the 6 images"
    );
    assert_eq!(json["log"], Value::Null);
    assert_eq!(json["voxel_um"], Value::Null);
    let text = text_of(&inspect(dir.path(), &["--min-size", "8"]).stdout);
    assert!(
        text.contains(
            "  left out: sample_spr.bmp (not sample_rec####.tif; --all-images takes every image)\n"
        ),
        "{text}"
    );
    assert!(text.contains("  voxel: unknown"), "{text}");
}

#[test]
fn voxel_size_from_a_files_header_is_shown_with_its_source() {
    let dir = fixture_stack("voxel_dpi");
    let (_, json) = inspect_json(dir.path(), &["--min-size", "8"]);
    assert_eq!(json["voxel_um"].as_f64(), Some(12.5));
    assert_eq!(json["voxel_source"]["from"], "resolution");
    let text = text_of(&inspect(dir.path(), &["--min-size", "8"]).stdout);
    assert!(
        text.contains("  voxel: 12.5 um, from s_rec00000000.tif (XResolution 2032 per inch)\n"),
        "{text}"
    );
}
