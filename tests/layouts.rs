//! Output layouts and what travels with a pyramid: `--layout stack` (one ImageJ multi-page
//! TIFF a level), the physical pixel size (`--voxel-size`, a SkyScan log's `Pixel Size (um)`)
//! in the TIFF resolution tags, `pyramid.json` (written last, stale outputs rebuilt), and
//! aligned shards (`--slices A..B`, `ctpyramid plan --shards N`) run as separate processes.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, UNIX_EPOCH};

use serde_json::Value;
use tiff::decoder::ifd::Value as TiffValue;
use tiff::decoder::{Decoder, DecodingResult};
use tiff::tags::Tag;

use common::*;

const BIN: &str = env!("CARGO_BIN_EXE_ctpyramid");

/// Exit code 2 and, for ctpyramid's own usage errors, one line on stderr.
fn assert_usage(out: &Output, what: &str) {
    assert_eq!(out.status.code(), Some(2), "{what}: {}", stderr_of(out));
    assert!(
        !stderr_of(out).contains("panicked"),
        "{what}: {}",
        stderr_of(out)
    );
}

fn one_line_error(out: &Output) -> String {
    let text = stderr_of(out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "one line expected: {text:?}");
    lines[0].to_string()
}

/// Runs `ctpyramid` with `--progress json` appended to a build; returns the output and its
/// stdout as JSON lines.
fn build(args: &[&str]) -> (Output, Vec<Value>) {
    let mut all = vec!["build"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--progress", "json"]);
    let out = ctpyramid(&all);
    let lines = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l:?}: {e}")))
        .collect();
    (out, lines)
}

/// A build that must succeed; returns its `plan` and `done` JSON lines.
fn build_ok(args: &[&str]) -> (Value, Value) {
    let (out, lines) = build(args);
    assert_ok(&out);
    let plan = lines
        .iter()
        .find(|l| l["event"] == "plan")
        .expect("a plan line")
        .clone();
    let done = lines.last().expect("a done line").clone();
    assert_eq!(done["event"], "done", "{done}");
    (plan, done)
}

fn count(line: &Value, field: &str) -> usize {
    line[field]
        .as_u64()
        .unwrap_or_else(|| panic!("{field:?} is not a count in {line}")) as usize
}

/// `bytes` with the source identity of the Software tag (`(source 0123456789abcdef)`) blanked:
/// outputs of other inputs with the same pixels differ only there.
fn without_source(bytes: &[u8]) -> Vec<u8> {
    let mut b = bytes.to_vec();
    let key = b"(source ";
    if let Some(at) = b.windows(key.len()).position(|w| w == key) {
        let start = at + key.len();
        b[start..start + 16].fill(b'?');
    }
    b
}

/// Fails with the paths that differ, rather than kilobytes of bytes.
fn assert_same_tree(got: &BTreeMap<String, Vec<u8>>, want: &BTreeMap<String, Vec<u8>>, what: &str) {
    let differ: Vec<&String> = got
        .keys()
        .chain(want.keys())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .filter(|k| got.get(*k) != want.get(*k))
        .collect();
    assert!(differ.is_empty(), "{what}: these files differ: {differ:?}");
}

fn manifest_of(root: &Path) -> Value {
    let text = std::fs::read(root.join("pyramid.json"))
        .unwrap_or_else(|e| panic!("{}/pyramid.json: {e}", root.display()));
    serde_json::from_slice(&text).expect("pyramid.json parses")
}

/// `(level, width, height, bits, slices)` of each level and the min size, from
/// `fixtures/expected/<name>/manifest.txt` (the numpy reference, not ctpyramid).
fn expected_levels(name: &str) -> (usize, Vec<[usize; 5]>) {
    let text = std::fs::read_to_string(fixtures().join("expected").join(name).join("manifest.txt"))
        .unwrap();
    let mut min_size = 0;
    let mut levels = Vec::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        if let Some(n) = line.strip_prefix("min_size ") {
            min_size = n.trim().parse().unwrap();
        } else if !line.trim().is_empty() {
            let v: Vec<usize> = line
                .split_whitespace()
                .map(|x| x.parse().unwrap())
                .collect();
            levels.push([v[0], v[1], v[2], v[3], v[4]]);
        }
    }
    (min_size, levels)
}

fn expected_raw(name: &str, level: usize, index: usize) -> Vec<u8> {
    std::fs::read(
        fixtures()
            .join("expected")
            .join(name)
            .join(level.to_string())
            .join(format!("{index:06}.raw")),
    )
    .unwrap()
}

/// One page of a multi-page TIFF, read with the `tiff` crate.
struct Page {
    width: usize,
    height: usize,
    bits: u16,
    pixels: Vec<u8>,
    strip_offsets: Vec<u64>,
    strip_bytes: Vec<u64>,
    resolution: Resolution,
    description: Option<String>,
}

#[derive(Debug, Clone, Copy)]
struct Resolution {
    x: (u32, u32),
    y: (u32, u32),
    unit: u32,
}

fn rational(dec: &mut Decoder<std::io::BufReader<std::fs::File>>, tag: Tag) -> (u32, u32) {
    match dec.get_tag(tag) {
        Ok(TiffValue::Rational(n, d)) => (n, d),
        other => panic!("{tag:?} is not one RATIONAL: {other:?}"),
    }
}

fn read_pages(path: &Path) -> Vec<Page> {
    let file = std::fs::File::open(path).unwrap();
    let mut dec = Decoder::new(std::io::BufReader::new(file))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut pages = Vec::new();
    loop {
        let (w, h) = dec.dimensions().unwrap();
        let resolution = Resolution {
            x: rational(&mut dec, Tag::XResolution),
            y: rational(&mut dec, Tag::YResolution),
            unit: dec.get_tag_u32(Tag::ResolutionUnit).unwrap(),
        };
        let description = dec
            .find_tag(Tag::ImageDescription)
            .unwrap()
            .map(|v| match v {
                TiffValue::Ascii(text) => text.trim_end_matches('\0').to_string(),
                other => panic!("ImageDescription is not ASCII: {other:?}"),
            });
        let strip_offsets = dec.get_tag_u64_vec(Tag::StripOffsets).unwrap();
        let strip_bytes = dec.get_tag_u64_vec(Tag::StripByteCounts).unwrap();
        let (bits, pixels) = match dec.read_image().unwrap() {
            DecodingResult::U8(v) => (8, v),
            DecodingResult::U16(v) => (16, v.iter().flat_map(|p| p.to_le_bytes()).collect()),
            other => panic!("{}: unexpected sample type {other:?}", path.display()),
        };
        pages.push(Page {
            width: w as usize,
            height: h as usize,
            bits,
            pixels,
            strip_offsets,
            strip_bytes,
            resolution,
            description,
        });
        if !dec.more_images() {
            break;
        }
        dec.next_image().unwrap();
    }
    pages
}

/// Offsets of the IFDs of a little-endian classic TIFF, walked by hand.
fn ifd_offsets(bytes: &[u8]) -> Vec<u64> {
    assert_eq!(&bytes[..4], b"II*\0", "little-endian classic TIFF");
    let u16_at = |o: usize| u16::from_le_bytes([bytes[o], bytes[o + 1]]) as usize;
    let u32_at = |o: usize| u32::from_le_bytes(bytes[o..o + 4].try_into().unwrap()) as usize;
    let mut offsets = Vec::new();
    let mut at = u32_at(4);
    while at != 0 {
        assert!(offsets.len() < 100_000, "IFD loop");
        offsets.push(at as u64);
        let entries = u16_at(at);
        at = u32_at(at + 2 + 12 * entries);
    }
    offsets
}

fn description_lines(d: &str) -> Vec<&str> {
    d.lines().collect()
}

/// `n / d` is `want` within 1e-9, relatively.
fn assert_ratio(what: &str, (n, d): (u32, u32), want: f64) {
    assert!(d != 0, "{what}: denominator 0");
    let got = f64::from(n) / f64::from(d);
    assert!(
        (got - want).abs() <= 1e-9 * want.abs(),
        "{what}: {n}/{d} = {got}, expected {want}"
    );
}

/// XResolution and YResolution of every per-slice file of level `level` in `root`.
fn slice_resolutions(root: &Path, level: usize) -> Vec<(String, Resolution)> {
    let dir = root.join(level.to_string());
    let names = file_names(&dir);
    assert!(!names.is_empty(), "{} is empty", dir.display());
    names
        .into_iter()
        .map(|n| {
            let pages = read_pages(&dir.join(&n));
            assert_eq!(pages.len(), 1);
            (format!("{level}/{n}"), pages[0].resolution)
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// 1. --layout stack
// ---------------------------------------------------------------------------------------

/// Builds `name` both ways and checks every page of every level stack against the slice
/// files (and the numpy reference), the ImageJ description and the contiguous layout.
fn check_stack_against_slices(name: &str) {
    let (min_size, levels) = expected_levels(name);
    let min = min_size.to_string();
    let stack = fixture_stack(name);
    let work = tempfile::tempdir().unwrap();
    let (slices_out, stack_out) = (work.path().join("slices"), work.path().join("stack"));
    build_ok(&[s(stack.path()), "--min-size", &min, "--out", s(&slices_out)]);
    let (_, done) = build_ok(&[
        s(stack.path()),
        "--layout",
        "stack",
        "--min-size",
        &min,
        "--out",
        s(&stack_out),
    ]);
    assert_eq!(
        count(&done, "files_written"),
        levels.len(),
        "{name}: {done}"
    );

    let mut want_names: Vec<String> = levels
        .iter()
        .map(|l| format!("level{}.tif", l[0]))
        .collect();
    want_names.push("pyramid.json".into());
    want_names.sort();
    assert_eq!(file_names(&stack_out), want_names, "{name}");
    assert!(partial_files(work.path()).is_empty(), "{name}");
    let manifest = manifest_of(&stack_out);
    assert_eq!(manifest["layout"], "stack", "{name}");
    for (entry, l) in manifest["levels"].as_array().unwrap().iter().zip(&levels) {
        assert_eq!(
            entry["files"],
            serde_json::json!([format!("level{}.tif", l[0])]),
            "{name}: {entry}"
        );
    }
    assert_eq!(manifest["levels"].as_array().unwrap().len(), levels.len());

    for &[level, width, height, bits, n] in &levels {
        let path = stack_out.join(format!("level{level}.tif"));
        let what = format!("{name} level {level}");
        let bytes = std::fs::read(&path).unwrap();
        let pages = read_pages(&path);
        assert_eq!(pages.len(), n, "{what}: pages");
        let page_bytes = width * height * bits / 8;
        let first = pages[0].strip_offsets[0];
        assert_eq!(first % 16, 0, "{what}: pixel data 16-byte aligned");
        assert_eq!(
            bytes.len() as u64,
            first + (n * page_bytes) as u64,
            "{what}: file length"
        );
        let ifds = ifd_offsets(&bytes);
        assert_eq!(ifds.len(), n, "{what}: IFD chain");
        assert!(
            ifds.iter().all(|&o| o < first),
            "{what}: every IFD before the pixels: {ifds:?}, data at {first}"
        );
        for (k, page) in pages.iter().enumerate() {
            let what = format!("{what} page {k}");
            assert_eq!(
                (page.width, page.height, page.bits),
                (width, height, bits as u16),
                "{what}"
            );
            assert_eq!(
                page.strip_offsets,
                [first + (k * page_bytes) as u64],
                "{what}: contiguous"
            );
            assert_eq!(page.strip_bytes, [page_bytes as u64], "{what}");
            let slice_file = slices_out
                .join(level.to_string())
                .join(format!("{k:06}.tif"));
            let (sw, sh, sbits, spixels) = decode_tiff(&slice_file);
            assert_eq!((sw, sh, sbits), (width, height, bits as u16), "{what}");
            assert!(
                page.pixels == spixels,
                "{what}: pixels differ from {}",
                slice_file.display()
            );
            assert!(
                page.pixels == expected_raw(name, level, k),
                "{what}: pixels differ from the reference"
            );
            // The raw pixels sit at the strip offset, as ImageJ reads them.
            let at = page.strip_offsets[0] as usize;
            assert!(
                bytes[at..at + page_bytes] == spixels[..],
                "{what}: bytes at the offset"
            );
        }
        let d = pages[0]
            .description
            .as_deref()
            .unwrap_or_else(|| panic!("{what}: no ImageDescription"));
        assert!(d.starts_with("ImageJ="), "{what}: {d:?}");
        let lines = description_lines(d);
        assert!(
            lines.contains(&format!("images={n}").as_str()),
            "{what}: {d:?}"
        );
        assert!(
            lines.contains(&format!("slices={n}").as_str()),
            "{what}: {d:?}"
        );
    }
}

#[test]
fn stack_layout_min16() {
    check_stack_against_slices("min16");
}

#[test]
fn stack_layout_u16_odd() {
    check_stack_against_slices("u16_odd");
}

#[test]
fn stack_layout_u8_pillow() {
    check_stack_against_slices("u8_pillow");
}

#[test]
fn stack_layout_skyscan_log() {
    check_stack_against_slices("skyscan_log");
}

#[test]
fn stack_rerun_keeps_everything_and_rebuilds_a_deleted_level() {
    let stack = fixture_stack("u16_odd");
    let out = tempfile::tempdir().unwrap();
    let args = [
        s(stack.path()),
        "--layout",
        "stack",
        "--min-size",
        "4",
        "--out",
        s(out.path()),
    ];
    build_ok(&args);
    let first = read_tree(out.path());
    assert_eq!(
        first.len(),
        4,
        "3 level stacks and pyramid.json: {:?}",
        first.keys()
    );

    let (plan, done) = build_ok(&args);
    assert_eq!(count(&done, "files_written"), 0, "{done}");
    assert_eq!(count(&done, "files_kept"), 3, "{done}");
    assert_eq!(count(&plan, "total"), 0, "nothing to read: {plan}");
    assert_same_tree(&read_tree(out.path()), &first, "rerun");

    std::fs::remove_file(out.path().join("level2.tif")).unwrap();
    let (_, done) = build_ok(&args);
    assert!(count(&done, "files_written") >= 1, "{done}");
    assert!(partial_files(out.path()).is_empty());
    assert_same_tree(&read_tree(out.path()), &first, "after deleting level2.tif");
}

#[test]
fn stack_layout_cannot_be_sharded() {
    let stack = fixture_stack("min16");
    let out = stack.path().join("out");
    let (o, _) = build(&[
        s(stack.path()),
        "--layout",
        "stack",
        "--slices",
        "0..8",
        "--min-size",
        "16",
        "--out",
        s(&out),
    ]);
    assert_usage(&o, "--layout stack --slices");
    let line = one_line_error(&o);
    assert!(line.contains("--slices"), "{line}");
    assert!(!out.exists(), "a refused build writes nothing");
}

// ---------------------------------------------------------------------------------------
// 2. Physical scale
// ---------------------------------------------------------------------------------------

/// skyscan_log's log says `Pixel Size (um)=12.500000`.
const SKYSCAN_UM: f64 = 12.5;

fn check_slice_scale(root: &Path, level: usize, voxel_um: f64) {
    for (name, r) in slice_resolutions(root, level) {
        let per_cm = 1e4 / voxel_um;
        assert_ratio(&format!("{name} XResolution"), r.x, per_cm);
        assert_ratio(&format!("{name} YResolution"), r.y, per_cm);
        assert_eq!(r.unit, 3, "{name}: ResolutionUnit centimetre");
    }
}

fn check_stack_scale(path: &Path, voxel_um: f64) {
    let pages = read_pages(path);
    for (k, page) in pages.iter().enumerate() {
        let what = format!("{} page {k}", path.display());
        assert_ratio(
            &format!("{what} XResolution"),
            page.resolution.x,
            1.0 / voxel_um,
        );
        assert_ratio(
            &format!("{what} YResolution"),
            page.resolution.y,
            1.0 / voxel_um,
        );
        assert_eq!(
            page.resolution.unit, 1,
            "{what}: ResolutionUnit none (ImageJ)"
        );
    }
    let d = pages[0].description.clone().expect("an ImageJ description");
    let lines = description_lines(&d);
    assert!(lines.contains(&"unit=micron"), "{d:?}");
    let spacing: Vec<f64> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("spacing="))
        .map(|v| v.parse().unwrap())
        .collect();
    assert_eq!(spacing.len(), 1, "{d:?}");
    assert!(
        (spacing[0] - voxel_um).abs() <= 1e-9 * voxel_um,
        "spacing {} != {voxel_um}: {d:?}",
        spacing[0]
    );
}

#[test]
fn slice_files_carry_the_logged_pixel_size() {
    let stack = fixture_stack("skyscan_log");
    let out = tempfile::tempdir().unwrap();
    build_ok(&[s(stack.path()), "--min-size", "4", "--out", s(out.path())]);
    for level in 1..=3 {
        check_slice_scale(out.path(), level, SKYSCAN_UM * f64::from(1u32 << level));
    }
    let m = manifest_of(out.path());
    assert_eq!(m["voxel_um"].as_f64(), Some(SKYSCAN_UM), "{m}");
    let per_level: Vec<Option<f64>> = m["levels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["voxel_um"].as_f64())
        .collect();
    assert_eq!(per_level, [Some(25.0), Some(50.0), Some(100.0)]);
}

/// Without a log or `--voxel-size`, the first slice's header gives the voxel size: an
/// ImageJ description (tifffile `imagej=True`, unit=um), XResolution per centimetre
/// (tifffile) or per inch (Pillow `dpi=`), each 12.5 um as fixtures/generate.py wrote it.
/// pyramid.json, the plan event and every output say so.
#[test]
fn voxel_size_from_the_files_headers() {
    for (name, from, detail) in [
        ("voxel_imagej", "imagej", "ImageJ unit=um, XResolution 0.08"),
        ("voxel_cm", "resolution", "XResolution 800 per centimetre"),
        ("voxel_dpi", "resolution", "XResolution 2032 per inch"),
    ] {
        let stack = fixture_stack(name);
        let out = tempfile::tempdir().unwrap();
        let (plan, _) = build_ok(&[s(stack.path()), "--min-size", "8", "--out", s(out.path())]);
        let source = serde_json::json!({
            "from": from, "file": "s_rec00000000.tif", "detail": detail,
        });
        assert_eq!(plan["voxel_um"].as_f64(), Some(12.5), "{name}: {plan}");
        assert_eq!(plan["voxel_source"], source, "{name}: {plan}");
        let m = manifest_of(out.path());
        assert_eq!(m["voxel_um"].as_f64(), Some(12.5), "{name}: {m}");
        assert_eq!(m["voxel_source"], source, "{name}: {m}");
        for level in 1..=3 {
            check_slice_scale(out.path(), level, 12.5 * f64::from(1u32 << level));
        }
    }
    // tifffile's default resolution (1/1, no unit) is no size.
    let stack = fixture_stack("u16_le_strip1");
    let (plan, _) = build_ok(&[s(stack.path()), "--min-size", "8"]);
    assert_eq!(plan["voxel_um"], Value::Null, "{plan}");
    assert_eq!(plan["voxel_source"], Value::Null, "{plan}");
}

/// The log comes before the files' headers, and --voxel-size before both.
#[test]
fn voxel_size_precedence_and_source() {
    let stack = fixture_stack("skyscan_log");
    let (plan, _) = build_ok(&[s(stack.path()), "--min-size", "4"]);
    assert_eq!(
        plan["voxel_source"],
        serde_json::json!({"from": "log", "file": "CO-1__rec.log"})
    );
    let m = manifest_of(&stack.path().join(".thumbnail"));
    assert_eq!(m["voxel_source"], plan["voxel_source"], "{m}");
    let stack = fixture_stack("voxel_cm");
    let (plan, _) = build_ok(&[s(stack.path()), "--min-size", "8", "--voxel-size", "3"]);
    assert_eq!(plan["voxel_um"].as_f64(), Some(3.0), "{plan}");
    assert_eq!(plan["voxel_source"], serde_json::json!({"from": "option"}));
}

/// A pyramid.json written before the voxel source was recorded (no `voxel_source` key) is
/// still the record of a complete pyramid: a rerun keeps every file.
#[test]
fn a_manifest_without_voxel_source_is_not_stale() {
    let stack = fixture_stack("skyscan_log");
    build_ok(&[s(stack.path()), "--min-size", "4"]);
    let path = stack.path().join(".thumbnail").join("pyramid.json");
    let mut m = manifest_of(&stack.path().join(".thumbnail"));
    m.as_object_mut().unwrap().remove("voxel_source").unwrap();
    std::fs::write(&path, serde_json::to_vec_pretty(&m).unwrap()).unwrap();
    let (plan, done) = build_ok(&[s(stack.path()), "--min-size", "4"]);
    assert_eq!(plan["stale"], false, "{plan}");
    assert_eq!(done["files_written"], 0, "{done}");
}

#[test]
fn stack_files_carry_the_logged_voxel_size_for_imagej() {
    let stack = fixture_stack("skyscan_log");
    let out = tempfile::tempdir().unwrap();
    build_ok(&[
        s(stack.path()),
        "--min-size",
        "4",
        "--layout",
        "stack",
        "--out",
        s(out.path()),
    ]);
    for level in 1..=3 {
        check_stack_scale(
            &out.path().join(format!("level{level}.tif")),
            SKYSCAN_UM * f64::from(1u32 << level),
        );
    }
    let d = read_pages(&out.path().join("level1.tif"))[0]
        .description
        .clone()
        .unwrap();
    assert!(description_lines(&d).contains(&"spacing=25"), "{d:?}");
}

#[test]
fn voxel_size_option_overrides_the_log() {
    let stack = fixture_stack("skyscan_log");
    let work = tempfile::tempdir().unwrap();
    let (slices, stacks) = (work.path().join("slices"), work.path().join("stack"));
    let (plan, _) = build_ok(&[
        s(stack.path()),
        "--min-size",
        "4",
        "--voxel-size",
        "2",
        "--out",
        s(&slices),
    ]);
    assert_eq!(plan["voxel_um"].as_f64(), Some(2.0), "{plan}");
    build_ok(&[
        s(stack.path()),
        "--min-size",
        "4",
        "--voxel-size",
        "2",
        "--layout",
        "stack",
        "--out",
        s(&stacks),
    ]);
    // Level 1: 4 µm.
    check_slice_scale(&slices, 1, 4.0);
    check_slice_scale(&slices, 3, 16.0);
    check_stack_scale(&stacks.join("level1.tif"), 4.0);
    check_stack_scale(&stacks.join("level2.tif"), 8.0);
    for root in [&slices, &stacks] {
        let m = manifest_of(root);
        assert_eq!(m["voxel_um"].as_f64(), Some(2.0), "{m}");
        assert_eq!(m["levels"][0]["voxel_um"].as_f64(), Some(4.0), "{m}");
    }
}

#[test]
fn without_a_voxel_size_no_unit_is_recorded() {
    let stack = fixture_stack("min16");
    let work = tempfile::tempdir().unwrap();
    let (slices, stacks) = (work.path().join("slices"), work.path().join("stack"));
    let (plan, _) = build_ok(&[s(stack.path()), "--min-size", "16", "--out", s(&slices)]);
    assert!(plan["voxel_um"].is_null(), "{plan}");
    for level in 1..=2 {
        for (name, r) in slice_resolutions(&slices, level) {
            assert_eq!(r.x, (1, 1), "{name}");
            assert_eq!(r.y, (1, 1), "{name}");
            assert_eq!(r.unit, 1, "{name}");
        }
    }
    let m = manifest_of(&slices);
    assert!(m["voxel_um"].is_null(), "{m}");
    assert!(
        m["levels"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["voxel_um"].is_null()),
        "{m}"
    );

    build_ok(&[
        s(stack.path()),
        "--min-size",
        "16",
        "--layout",
        "stack",
        "--out",
        s(&stacks),
    ]);
    let pages = read_pages(&stacks.join("level1.tif"));
    assert!(pages
        .iter()
        .all(|p| p.resolution.x == (1, 1) && p.resolution.unit == 1));
    let d = pages[0].description.clone().unwrap();
    assert!(
        !d.contains("unit=") && !d.contains("spacing="),
        "no scale without a voxel size: {d:?}"
    );
}

#[test]
fn voxel_size_must_be_positive() {
    let stack = fixture_stack("min16");
    for bad in [
        &["--voxel-size", "0"][..],
        &["--voxel-size", "-3"],
        &["--voxel-size=-3"],
        &["--voxel-size", "nan"],
        &["--voxel-size", "inf"],
        &["--voxel-size", "12um"],
    ] {
        let mut args = vec![s(stack.path()), "--min-size", "16"];
        args.extend_from_slice(bad);
        let (out, _) = build(&args);
        assert_usage(&out, &format!("{bad:?}"));
        assert!(
            !stack.path().join(".thumbnail").exists(),
            "{bad:?}: nothing written"
        );
    }
}

/// Scanners log sub-micron pixel sizes (SkyScan 1272: 0.35 µm; synchrotrons: 0.65 µm). In
/// pixels per centimetre, 1 µm is 10000, which a RATIONAL with a fixed denominator of 10^6
/// cannot hold in 32 bits.
#[test]
fn fine_voxel_sizes_keep_their_resolution() {
    let stack = fixture_stack("skyscan_log");
    for voxel in ["1", "0.5", "0.35"] {
        let out = tempfile::tempdir().unwrap();
        build_ok(&[
            s(stack.path()),
            "--min-size",
            "4",
            "--voxel-size",
            voxel,
            "--out",
            s(out.path()),
        ]);
        let v: f64 = voxel.parse().unwrap();
        for level in 1..=3 {
            check_slice_scale(out.path(), level, v * f64::from(1u32 << level));
        }
    }
}

/// Clinical CT: 0.488 mm pixels. In pixels per micrometre (the ImageJ stack convention) with a
/// fixed denominator of 10^6, 1/976 keeps only 4 significant digits.
#[test]
fn coarse_voxel_sizes_keep_their_resolution_in_stacks() {
    let stack = fixture_stack("skyscan_log");
    let out = tempfile::tempdir().unwrap();
    build_ok(&[
        s(stack.path()),
        "--min-size",
        "4",
        "--voxel-size",
        "488",
        "--layout",
        "stack",
        "--out",
        s(out.path()),
    ]);
    check_stack_scale(&out.path().join("level1.tif"), 976.0);
}

// ---------------------------------------------------------------------------------------
// 3. pyramid.json
// ---------------------------------------------------------------------------------------

/// Checks every field of `pyramid.json` in `root` for a default-layout build of the slices
/// `inputs` (in slice order) of `dir`.
fn check_manifest(
    root: &Path,
    dir: &Path,
    inputs: &[PathBuf],
    name: &str,
    dtype: &str,
    voxel_um: Option<f64>,
) {
    let (min_size, levels) = expected_levels(name);
    let m = manifest_of(root);
    assert_eq!(m["tool"], "ctpyramid", "{m}");
    assert_eq!(m["version"], env!("CARGO_PKG_VERSION"), "{m}");
    assert_eq!(m["layout"], "slices", "{m}");
    assert_eq!(m["source"].as_str().map(Path::new), Some(dir), "{m}");
    let first = decode_tiff_or_size(&inputs[0]);
    assert_eq!(count(&m, "width"), first.0, "{m}");
    assert_eq!(count(&m, "height"), first.1, "{m}");
    assert_eq!(m["dtype"], dtype, "{m}");
    assert_eq!(count(&m, "slices"), inputs.len(), "{m}");
    assert_eq!(m["voxel_um"].as_f64(), voxel_um, "{m}");
    assert_eq!(count(&m, "min_size"), min_size, "{m}");

    let recorded = m["inputs"].as_array().expect("inputs");
    assert_eq!(recorded.len(), inputs.len(), "{m}");
    for (entry, path) in recorded.iter().zip(inputs) {
        let meta = std::fs::metadata(path).unwrap();
        let mtime = meta
            .modified()
            .unwrap()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64;
        assert_eq!(
            entry["name"].as_str(),
            path.file_name().unwrap().to_str(),
            "{entry}"
        );
        assert_eq!(entry["bytes"].as_u64(), Some(meta.len()), "{entry}");
        assert_eq!(entry["mtime_ns"].as_u64(), Some(mtime), "{entry}");
    }

    let recorded = m["levels"].as_array().expect("levels");
    assert_eq!(recorded.len(), levels.len(), "{m}");
    for (entry, &[level, width, height, _, n]) in recorded.iter().zip(&levels) {
        assert_eq!(count(entry, "level"), level, "{entry}");
        assert_eq!(count(entry, "width"), width, "{entry}");
        assert_eq!(count(entry, "height"), height, "{entry}");
        assert_eq!(count(entry, "slices"), n, "{entry}");
        assert_eq!(entry["dtype"], dtype, "{entry}");
        assert_eq!(
            entry["voxel_um"].as_f64(),
            voxel_um.map(|v| v * f64::from(1u32 << level)),
            "{entry}"
        );
        let files: Vec<String> = (0..n).map(|k| format!("{level}/{k:06}.tif")).collect();
        let got: Vec<&str> = entry["files"]
            .as_array()
            .expect("files")
            .iter()
            .map(|f| f.as_str().unwrap())
            .collect();
        assert_eq!(got, files, "{entry}");
        for f in &files {
            assert!(root.join(f).is_file(), "{f} is listed but missing");
        }
    }
}

/// Width and height of an input slice: TIFF by the `tiff` crate, BMP from its header.
fn decode_tiff_or_size(path: &Path) -> (usize, usize) {
    if path.extension().is_some_and(|e| e == "bmp") {
        let b = std::fs::read(path).unwrap();
        let w = i32::from_le_bytes(b[18..22].try_into().unwrap());
        let h = i32::from_le_bytes(b[22..26].try_into().unwrap());
        (w.unsigned_abs() as usize, h.unsigned_abs() as usize)
    } else {
        let (w, h, _, _) = decode_tiff(path);
        (w, h)
    }
}

#[test]
fn manifest_describes_a_skyscan_pyramid() {
    let stack = fixture_stack("skyscan_log");
    build_ok(&[s(stack.path()), "--min-size", "4"]);
    let inputs: Vec<PathBuf> = (10..=17)
        .map(|i| stack.path().join(format!("CO-1__rec{i:08}.bmp")))
        .collect();
    let root = stack.path().join(".thumbnail");
    check_manifest(
        &root,
        stack.path(),
        &inputs,
        "skyscan_log",
        "uint8",
        Some(12.5),
    );
}

#[test]
fn manifest_lists_inputs_in_slice_order() {
    let stack = fixture_stack("natsort");
    build_ok(&[s(stack.path()), "--min-size", "2", "--all-images"]);
    let inputs: Vec<PathBuf> = ["s1", "s2", "s3", "s10", "s11"]
        .iter()
        .map(|n| stack.path().join(format!("{n}.tif")))
        .collect();
    let root = stack.path().join(".thumbnail");
    check_manifest(&root, stack.path(), &inputs, "natsort", "uint8", None);
}

#[test]
fn touched_input_rebuilds_everything_with_the_same_bytes() {
    let stack = fixture_stack("min16");
    let root = stack.path().join(".thumbnail");
    let args = [s(stack.path()), "--min-size", "16"];
    let (plan, done) = build_ok(&args);
    assert_eq!(plan["stale"], false, "{plan}");
    assert_eq!(count(&done, "files_written"), 8, "{done}");
    let inputs: Vec<PathBuf> = (0..9)
        .map(|i| stack.path().join(format!("s_rec{i:08}.tif")))
        .collect();
    check_manifest(&root, stack.path(), &inputs, "min16", "uint16", None);
    let first = read_tree(&root);

    // A rerun writes nothing, pyramid.json included.
    let (plan, done) = build_ok(&args);
    assert_eq!(plan["stale"], false, "{plan}");
    assert_eq!(count(&done, "files_written"), 0, "{done}");
    assert_same_tree(&read_tree(&root), &first, "rerun");

    // The same bytes, but a new modification time: the inputs may have been replaced.
    let touched = &inputs[4];
    let bytes = std::fs::read(touched).unwrap();
    std::fs::write(touched, &bytes).unwrap();
    let when = UNIX_EPOCH + Duration::from_secs(1_000_000_000);
    std::fs::File::options()
        .write(true)
        .open(touched)
        .unwrap()
        .set_modified(when)
        .unwrap();
    let (plan, done) = build_ok(&args);
    assert_eq!(plan["stale"], true, "{plan}");
    assert_eq!(count(&done, "files_written"), 8, "{done}");
    assert_eq!(count(&done, "files_kept"), 0, "{done}");
    let after = read_tree(&root);
    // New inputs, new source identity in every header; the same pixels.
    let without_manifest = |t: &BTreeMap<String, Vec<u8>>| {
        let mut t = t.clone();
        t.remove("pyramid.json");
        t.into_iter()
            .map(|(k, v)| (k, without_source(&v)))
            .collect::<BTreeMap<_, _>>()
    };
    assert_same_tree(
        &without_manifest(&after),
        &without_manifest(&first),
        "rebuilt after touch",
    );
    check_manifest(&root, stack.path(), &inputs, "min16", "uint16", None);
    assert_eq!(
        manifest_of(&root)["inputs"][4]["mtime_ns"].as_u64(),
        Some(1_000_000_000_000_000_000)
    );

    // And a rerun after that is quiet again.
    let (plan, done) = build_ok(&args);
    assert_eq!(plan["stale"], false, "{plan}");
    assert_eq!(count(&done, "files_written"), 0, "{done}");
    assert_same_tree(&read_tree(&root), &after, "rerun after rebuild");
}

// ---------------------------------------------------------------------------------------
// 4. Shards
// ---------------------------------------------------------------------------------------

/// `(width, height, slices)` of the 37-slice 64 px demo stack with min size 8: unit 8.
const DEMO_LEVELS: [(usize, usize, usize); 3] = [(32, 32, 19), (16, 16, 10), (8, 8, 5)];

fn demo37() -> tempfile::TempDir {
    let dir = demo_stack(37, 64, 8);
    assert_eq!(reference_levels(64, 64, 37, 8), DEMO_LEVELS);
    dir
}

/// Every file of the complete demo pyramid.
fn demo_names() -> BTreeSet<String> {
    DEMO_LEVELS
        .iter()
        .enumerate()
        .flat_map(|(l, &(_, _, n))| (0..n).map(move |k| format!("{}/{k:06}.tif", l + 1)))
        .chain(["pyramid.json".to_string()])
        .collect()
}

/// The outputs a shard of input slices `a..b` writes: level L slice k depends on inputs
/// `k * 2^L .. (k + 1) * 2^L`.
fn shard_names(a: usize, b: usize) -> BTreeSet<String> {
    DEMO_LEVELS
        .iter()
        .enumerate()
        .flat_map(|(l, &(_, _, n))| {
            let step = 1 << (l + 1);
            (a / step..b.div_ceil(step).min(n)).map(move |k| format!("{}/{k:06}.tif", l + 1))
        })
        .collect()
}

/// The demo pyramid of `dir` built in one process into another folder: the same `source`.
fn reference(dir: &Path) -> (tempfile::TempDir, BTreeMap<String, Vec<u8>>) {
    let out = tempfile::tempdir().unwrap();
    build_ok(&[s(dir), "--min-size", "8", "--out", s(out.path())]);
    let tree = read_tree(out.path());
    assert_eq!(tree.keys().cloned().collect::<BTreeSet<_>>(), demo_names());
    (out, tree)
}

fn plan_ranges(dir: &Path, shards: usize) -> (Vec<(usize, usize)>, String) {
    let out = ctpyramid(&[
        "plan",
        s(dir),
        "--shards",
        &shards.to_string(),
        "--min-size",
        "8",
    ]);
    assert_ok(&out);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let ranges = text
        .lines()
        .filter_map(|l| l.strip_prefix("shard "))
        .map(|l| {
            let (_, range) = l
                .split_once(": --slices ")
                .unwrap_or_else(|| panic!("{l:?}"));
            let (a, b) = range.split_once("..").unwrap();
            (a.parse().unwrap(), b.parse().unwrap())
        })
        .collect();
    (ranges, text)
}

fn spawn_shard(dir: &Path, range: &str) -> std::process::Child {
    Command::new(BIN)
        .args([
            "build",
            s(dir),
            "--min-size",
            "8",
            "--slices",
            range,
            "--quiet",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the ctpyramid binary runs")
}

#[test]
fn plan_prints_aligned_contiguous_shards_and_a_slurm_array() {
    let dir = demo37();
    let (ranges, text) = plan_ranges(dir.path(), 3);
    assert_eq!(ranges.len(), 3, "{text}");
    let mut next = 0;
    for (i, &(a, b)) in ranges.iter().enumerate() {
        assert_eq!(a, next, "shard {i} starts where the previous ended: {text}");
        assert!(a < b, "{text}");
        assert_eq!(a % 8, 0, "{text}");
        assert!(b % 8 == 0 || (i == 2 && b == 37), "{text}");
        next = b;
    }
    assert_eq!(next, 37, "{text}");
    assert!(text.contains("#SBATCH --array=0-2"), "{text}");
    assert!(text.contains("#!/bin/bash"), "{text}");
    assert!(
        !dir.path().join(".thumbnail").exists(),
        "plan writes nothing"
    );
}

#[test]
fn concurrent_shards_build_exactly_the_full_pyramid() {
    let dir = demo37();
    let (_keep, want) = reference(dir.path());
    let (ranges, _) = plan_ranges(dir.path(), 3);
    let children: Vec<_> = ranges
        .iter()
        .map(|(a, b)| spawn_shard(dir.path(), &format!("{a}..{b}")))
        .collect();
    for (child, range) in children.into_iter().zip(&ranges) {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "shard {range:?}: {:?}: {}",
            out.status,
            stderr_of(&out)
        );
    }
    let root = dir.path().join(".thumbnail");
    assert!(
        partial_files(&root).is_empty(),
        "{:?}",
        partial_files(&root)
    );
    assert_same_tree(&read_tree(&root), &want, "3 concurrent shards");
}

/// A pyramid complete but without `pyramid.json` (built by an earlier version, or the file
/// deleted), then the shards of a job array run again: each finds everything complete and
/// writes pyramid.json, at the same moment.
#[test]
fn concurrent_shards_writing_pyramid_json_all_succeed() {
    let dir = demo37();
    let root = dir.path().join(".thumbnail");
    build_ok(&[s(dir.path()), "--min-size", "8"]);
    let manifest = std::fs::read(root.join("pyramid.json")).unwrap();
    let mut failures = Vec::new();
    for round in 0..100 {
        std::fs::remove_file(root.join("pyramid.json")).unwrap();
        let children: Vec<_> = ["0..8", "8..24", "24..37"]
            .iter()
            .map(|r| spawn_shard(dir.path(), r))
            .collect();
        for child in children {
            let out = child.wait_with_output().unwrap();
            if !out.status.success() {
                failures.push(format!(
                    "round {round}: {:?}: {}",
                    out.status,
                    stderr_of(&out)
                ));
            }
        }
        assert_eq!(
            std::fs::read(root.join("pyramid.json")).ok().as_deref(),
            Some(&manifest[..]),
            "round {round}"
        );
    }
    assert!(
        failures.is_empty(),
        "{} of 300 shard runs failed, e.g. {:#?}",
        failures.len(),
        &failures[..failures.len().min(3)]
    );
}

#[test]
fn open_ended_shards_and_pyramid_json_only_when_complete() {
    let dir = demo37();
    let (_keep, want) = reference(dir.path());
    let root = dir.path().join(".thumbnail");

    // `8..` builds exactly the outputs of input slices 8 to 36, and no pyramid.json.
    let (plan, done) = build_ok(&[s(dir.path()), "--min-size", "8", "--slices", "8.."]);
    assert_eq!(plan["shard"], serde_json::json!([8, 37]), "{plan}");
    let tail = shard_names(8, 37);
    assert_eq!(count(&done, "files_written"), tail.len(), "{done}");
    assert_eq!(
        read_tree(&root).keys().cloned().collect::<BTreeSet<_>>(),
        tail
    );
    assert!(!root.join("pyramid.json").exists());
    assert!(done["manifest"].is_null(), "{done}");

    // The last shard completes the pyramid: pyramid.json appears, the tree is one full build.
    let (_, done) = build_ok(&[s(dir.path()), "--min-size", "8", "--slices", "0..8"]);
    assert_eq!(
        count(&done, "files_written"),
        shard_names(0, 8).len(),
        "{done}"
    );
    assert!(!done["manifest"].is_null(), "{done}");
    assert_same_tree(&read_tree(&root), &want, "two shards");

    // A deleted output in each of two shards: after the first of them, the pyramid is not
    // complete and pyramid.json is gone; after the second, it is back, and identical.
    std::fs::remove_file(root.join("1/000000.tif")).unwrap();
    std::fs::remove_file(root.join("2/000005.tif")).unwrap();
    let (_, done) = build_ok(&[s(dir.path()), "--min-size", "8", "--slices", "8..24"]);
    assert_eq!(count(&done, "files_written"), 1, "{done}");
    assert!(!root.join("pyramid.json").exists(), "pyramid incomplete");
    let (_, done) = build_ok(&[s(dir.path()), "--min-size", "8", "--slices", "0..8"]);
    assert_eq!(count(&done, "files_written"), 1, "{done}");
    assert_same_tree(&read_tree(&root), &want, "after both shards");
    assert!(partial_files(&root).is_empty());
}

/// pyramid.json's presence means the pyramid is complete (src/manifest.rs): a shard that
/// finds an output of another shard missing must not leave it claiming so.
#[test]
fn shard_leaves_no_pyramid_json_over_an_incomplete_pyramid() {
    let dir = demo37();
    let root = dir.path().join(".thumbnail");
    build_ok(&[s(dir.path()), "--min-size", "8"]);
    std::fs::remove_file(root.join("1/000000.tif")).unwrap();
    let (_, done) = build_ok(&[s(dir.path()), "--min-size", "8", "--slices", "8.."]);
    assert_eq!(count(&done, "files_written"), 0, "{done}");
    assert!(
        done["manifest"].is_null(),
        "the build knows it is incomplete: {done}"
    );
    assert!(
        !root.join("pyramid.json").exists(),
        "pyramid.json left beside a pyramid missing 1/000000.tif"
    );
    build_ok(&[s(dir.path()), "--min-size", "8", "--slices", "0..8"]);
    assert!(root.join("pyramid.json").exists());
}

/// Input slices replaced by others of the same size (a new reconstruction) and then the
/// shards of the job array run one after another: the result must be the new pyramid.
#[test]
fn shards_rebuild_a_stale_pyramid_entirely() {
    let dir = demo37();
    build_ok(&[s(dir.path()), "--min-size", "8"]);
    let slice = |i: usize| dir.path().join(format!("phantom_rec{i:08}.tif"));
    std::fs::copy(slice(5), slice(20)).unwrap();
    std::fs::copy(slice(6), slice(30)).unwrap();
    let (_keep, want) = reference(dir.path());
    let mut stale = Vec::new();
    for range in ["0..8", "8..24", "24..37"] {
        let (plan, _) = build_ok(&[s(dir.path()), "--min-size", "8", "--slices", range]);
        stale.push(plan["stale"].clone());
    }
    assert_same_tree(
        &read_tree(&dir.path().join(".thumbnail")),
        &want,
        &format!("stale pyramid rebuilt by 3 shards (plan stale: {stale:?})"),
    );
}

/// A rebuild of a stale pyramid that stops midway (here a slice that cannot be read; Ctrl-C
/// or a crash does the same) and is then run again must still end with the new pyramid.
#[test]
fn interrupted_rebuild_of_a_stale_pyramid_is_completed_by_the_rerun() {
    let dir = demo37();
    let root = dir.path().join(".thumbnail");
    build_ok(&[s(dir.path()), "--min-size", "8"]);
    let slice = |i: usize| dir.path().join(format!("phantom_rec{i:08}.tif"));
    // New content for slices 2 and 34; slice 30 is unreadable during the rebuild.
    std::fs::copy(slice(6), slice(2)).unwrap();
    std::fs::copy(slice(7), slice(34)).unwrap();
    let good = std::fs::read(slice(30)).unwrap();
    std::fs::write(slice(30), &good[..1000]).unwrap();
    let (out, lines) = build(&[s(dir.path()), "--min-size", "8"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    assert_eq!(lines[0]["stale"], true, "{}", lines[0]);
    std::fs::write(slice(30), &good).unwrap();

    let (_keep, want) = reference(dir.path());
    build_ok(&[s(dir.path()), "--min-size", "8"]);
    assert_same_tree(
        &read_tree(&root),
        &want,
        "rerun after an interrupted rebuild",
    );
}

#[test]
fn misaligned_or_out_of_range_slices_are_usage_errors() {
    let dir = demo37();
    let root = dir.path().join(".thumbnail");
    let (out, _) = build(&[s(dir.path()), "--min-size", "8", "--slices", "3..17"]);
    assert_usage(&out, "3..17");
    let line = one_line_error(&out);
    assert!(line.contains("use 0..24"), "{line}");
    for bad in ["40..50", "0..38", "16..8", "8-16", "x..8"] {
        let (out, _) = build(&[s(dir.path()), "--min-size", "8", "--slices", bad]);
        assert_usage(&out, bad);
    }
    assert!(!root.exists(), "a refused build writes nothing");
}

/// The Slurm script runs `ctpyramid build` on the shards `plan` computed: with the slices
/// `plan` was told to take, or the ranges are those of another stack.
#[test]
fn plan_script_builds_the_slices_that_were_planned() {
    let stack = fixture_stack("skyscan_log");
    let out = ctpyramid(&[
        "plan",
        s(stack.path()),
        "--prefix",
        "CO-1__rec",
        "--ext",
        "bmp",
        "--first",
        "9",
        "--last",
        "18",
        "--index-length",
        "8",
        "--min-size",
        "4",
        "--shards",
        "2",
    ]);
    assert_ok(&out);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(text.contains("10 slices"), "{text}");
    let command = text
        .lines()
        .find(|l| l.contains("ctpyramid build"))
        .unwrap_or_else(|| panic!("no build command: {text}"));
    for option in ["'--prefix' 'CO-1__rec'", "'--first' '9'", "'--last' '18'"] {
        assert!(
            command.contains(option),
            "{option} missing from {command:?}"
        );
    }

    // --slurm prints a script sbatch accepts: it starts with its interpreter line.
    let mut args = vec![
        "plan",
        s(stack.path()),
        "--min-size",
        "4",
        "--shards",
        "2",
        "--slurm",
    ];
    args.extend(["--prefix", "CO-1__rec", "--ext", "bmp", "--first", "9"]);
    args.extend(["--last", "18", "--index-length", "8"]);
    let out = ctpyramid(&args);
    assert_ok(&out);
    let script = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(script.starts_with("#!/bin/bash\n"), "{script}");
    assert!(script.contains("RANGES=(0..8 8..10)"), "{script}");
}

// ---------------------------------------------------------------------------------------
// 5. inspect and reading the stacks back
// ---------------------------------------------------------------------------------------

#[test]
fn inspect_reads_a_level_stack() {
    let stack = fixture_stack("min16");
    let out = tempfile::tempdir().unwrap();
    build_ok(&[
        s(stack.path()),
        "--min-size",
        "16",
        "--layout",
        "stack",
        "--out",
        s(out.path()),
    ]);
    let level1 = out.path().join("level1.tif");
    let o = ctpyramid(&["inspect", s(&level1), "--min-size", "16", "--json"]);
    assert_ok(&o);
    let j: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(count(&j, "slices"), 5, "{j}");
    let kinds = j["kinds"].as_array().unwrap();
    assert_eq!(kinds.len(), 1, "{j}");
    assert_eq!(
        (count(&kinds[0], "width"), count(&kinds[0], "height")),
        (24, 17)
    );
    assert_eq!(count(&kinds[0], "bits"), 16);
    assert!(
        kinds[0]["read"].as_str().unwrap().contains("zero-copy"),
        "{j}"
    );
    assert!(j["problems"].as_array().unwrap().is_empty(), "{j}");
    assert_eq!(j["levels"][0]["slices"], 3, "{j}");
    let text = ctpyramid(&["inspect", s(&level1), "--min-size", "16"]);
    assert_ok(&text);
    assert!(String::from_utf8_lossy(&text.stdout).contains("5 slices"));
}

/// A level stack is a valid input: its pyramid's level 1 is the original's level 2, byte for
/// byte (with the voxel size of level 1 given).
#[test]
fn level_stack_builds_the_next_levels() {
    let stack = fixture_stack("skyscan_log");
    let out = tempfile::tempdir().unwrap();
    build_ok(&[
        s(stack.path()),
        "--min-size",
        "4",
        "--layout",
        "stack",
        "--out",
        s(out.path()),
    ]);
    let level1 = out.path().join("level1.tif");
    let (_, done) = build_ok(&[
        s(&level1),
        "--min-size",
        "4",
        "--layout",
        "stack",
        "--voxel-size",
        "25",
    ]);
    let again = out.path().join("level1.thumbnail");
    assert_eq!(
        done["out"].as_str().map(PathBuf::from),
        Some(again.clone()),
        "{done}"
    );
    for (got, want) in [("level1.tif", "level2.tif"), ("level2.tif", "level3.tif")] {
        assert!(
            without_source(&std::fs::read(again.join(got)).unwrap())
                == without_source(&std::fs::read(out.path().join(want)).unwrap()),
            "{got} of level1.tif's pyramid differs from {want}"
        );
    }
}
