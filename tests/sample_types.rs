//! Issue 21: int16 and float32 slices. Every int16 and float32 fixture stack (see
//! fixtures/README.md) built in each layout and format and compared with the numpy reference's
//! expected outputs: bit for bit, float32 NaN only where the reference has NaN (any NaN: numpy
//! and Rust need not make the same one). The slice layout with each reader and writer is
//! `tests/fixtures.rs`'s (these stacks are in its list); here: the outputs' sample format and
//! byte order, `--layout stack`, `--format ome-zarr` (read back with zarrs, its dtype, fill
//! value and omero window), `pyramid.json`, `crop`, `inspect`, and the sample types and mixes
//! still refused.

mod common;

use std::path::{Path, PathBuf};

use serde_json::Value;
use tiff::decoder::Decoder;
use tiff::tags::Tag;

use common::*;

/// A decoded image: width, height, sample type, little-endian samples.
type Image = (usize, usize, Dtype, Vec<u8>);

/// The int16 and float32 stacks of fixtures/stacks.
const STACKS: &[&str] = &[
    "f32_be",
    "f32_deflate_pred",
    "f32_multipage",
    "f32_strips",
    "f32_tiled",
    "i16_be",
    "i16_deflate_pred",
    "i16_lzw",
    "i16_strips",
];

#[test]
fn every_int16_and_float32_stack_is_tested() {
    for name in file_names(&fixtures().join("stacks")) {
        let dtype = read_manifest(&fixtures().join("expected").join(&name)).dtype;
        let signed_or_float = matches!(dtype, Dtype::I16 | Dtype::F32);
        assert_eq!(
            STACKS.contains(&name.as_str()),
            signed_or_float,
            "{name} ({dtype:?}): in STACKS if and only if int16 or float32"
        );
    }
}

fn expected_dir(name: &str) -> PathBuf {
    fixtures().join("expected").join(name)
}

/// The input slices of fixture `name` (level 0), decoded by the `tiff` crate: every page of
/// each TIFF, files in name order (the fixtures' names sort as their numbers).
fn input_slices(name: &str) -> Vec<Image> {
    let dir = fixtures().join("stacks").join(name);
    file_names(&dir)
        .iter()
        .filter(|f| f.ends_with(".tif"))
        .flat_map(|f| decode_tiff_pages_typed(&dir.join(f)))
        .collect()
}

fn json_file(path: &Path) -> Value {
    let text = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `build DIR --min-size N --quiet <extra>` on a fresh copy of stack `name`; returns the copy.
fn build_copy(name: &str, extra: &[&str]) -> tempfile::TempDir {
    let work = fixture_stack(name);
    let min = read_manifest(&expected_dir(name)).min_size.to_string();
    let mut args = vec!["build", s(work.path()), "--min-size", &min, "--quiet"];
    args.extend_from_slice(extra);
    let out = ctpyramid(&args);
    assert!(
        out.status.success(),
        "{name} {extra:?}: exit {:?}: {}",
        out.status.code(),
        stderr_of(&out)
    );
    work
}

/// The SampleFormat tag of the first page (1 unsigned, 2 signed, 3 float; 1 when absent).
fn sample_format(path: &Path) -> u32 {
    let file = std::fs::File::open(path).unwrap();
    let mut dec = Decoder::new(std::io::BufReader::new(file)).unwrap();
    dec.find_tag(Tag::SampleFormat)
        .unwrap()
        .map_or(1, |v| v.into_u32().unwrap())
}

fn format_code(dtype: Dtype) -> u32 {
    match dtype {
        Dtype::U8 | Dtype::U16 => 1,
        Dtype::I16 => 2,
        Dtype::F32 => 3,
    }
}

/// A TIFF output: little-endian, the sample format and bits of `dtype`.
fn check_tiff_header(path: &Path, dtype: Dtype, what: &str) {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[..2], b"II", "{what}: little-endian");
    assert_eq!(
        sample_format(path),
        format_code(dtype),
        "{what}: SampleFormat"
    );
}

/// `--layout slices` (the default) and `--layout stack`: every file's header, every slice and
/// page against the reference, and `pyramid.json`'s dtype.
fn check_tiff_layouts(name: &str) {
    let m = read_manifest(&expected_dir(name));
    let work = build_copy(name, &[]);
    let root = work.path().join(".thumbnail");
    assert_eq!(
        json_file(&root.join("pyramid.json"))["dtype"],
        m.dtype.name(),
        "{name}: pyramid.json"
    );
    for spec in &m.levels {
        for k in 0..spec.slices {
            let path = root
                .join(spec.level.to_string())
                .join(format!("{k:06}.tif"));
            let what = format!("{name}: slices: level {} slice {k}", spec.level);
            check_tiff_header(&path, m.dtype, &what);
            let (w, h, dtype, got) = decode_tiff_typed(&path);
            assert_eq!((w, h, dtype), (spec.width, spec.height, m.dtype), "{what}");
            assert_samples_eq(&got, &expected_raw(name, spec.level, k), dtype, w, &what);
        }
    }

    let stack_out = work.path().join("stack-layout");
    let min = m.min_size.to_string();
    let out = ctpyramid(&[
        "build",
        s(work.path()),
        "--layout",
        "stack",
        "--min-size",
        &min,
        "--out",
        s(&stack_out),
        "--quiet",
    ]);
    assert_ok(&out);
    assert_eq!(
        json_file(&stack_out.join("pyramid.json"))["dtype"],
        m.dtype.name(),
        "{name}: stack pyramid.json"
    );
    for spec in &m.levels {
        let path = stack_out.join(format!("level{}.tif", spec.level));
        let what = format!("{name}: stack: level {}", spec.level);
        check_tiff_header(&path, m.dtype, &what);
        let pages = decode_tiff_pages_typed(&path);
        assert_eq!(pages.len(), spec.slices, "{what}: pages");
        for (k, (w, h, dtype, got)) in pages.iter().enumerate() {
            let what = format!("{what} page {k}");
            assert_eq!(
                (*w, *h, *dtype),
                (spec.width, spec.height, m.dtype),
                "{what}"
            );
            assert_samples_eq(got, &expected_raw(name, spec.level, k), m.dtype, *w, &what);
        }
    }
    assert!(
        partial_files(work.path()).is_empty(),
        "{name}: temporary files left"
    );
}

/// The values of little-endian samples of `dtype` as f64 (exact for int16 and float32).
fn values(bytes: &[u8], dtype: Dtype) -> Vec<f64> {
    match dtype {
        Dtype::I16 => bytes
            .chunks_exact(2)
            .map(|b| f64::from(i16::from_le_bytes([b[0], b[1]])))
            .collect(),
        Dtype::F32 => bytes
            .chunks_exact(4)
            .map(|b| f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]])))
            .collect(),
        other => panic!("not a signed or float type: {other:?}"),
    }
}

/// The smallest and largest finite value of the smallest level of the reference.
#[cfg(feature = "ome-zarr")] // the omero window's checks
fn smallest_level_range(name: &str) -> (f64, f64) {
    let m = read_manifest(&expected_dir(name));
    let last = m.levels.last().expect("at least one level");
    let all: Vec<f64> = (0..last.slices)
        .flat_map(|k| values(&expected_raw(name, last.level, k), m.dtype))
        .filter(|v| v.is_finite())
        .collect();
    let min = all.iter().copied().fold(f64::INFINITY, f64::min);
    let max = all.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (min, max)
}

/// A JSON number equal to `want` as `dtype` holds it: for float32, any decimal that reads back
/// as the same float32 (the shortest form, or the exact one).
#[cfg(feature = "ome-zarr")] // the omero window's checks
fn assert_number(got: &Value, want: f64, dtype: Dtype, what: &str) {
    let g = got
        .as_f64()
        .unwrap_or_else(|| panic!("{what}: {got} is not a number"));
    match dtype {
        Dtype::F32 => assert_eq!(
            (g as f32).to_bits(),
            (want as f32).to_bits(),
            "{what}: got {got}, want {want}"
        ),
        _ => assert_eq!(g, want, "{what}: got {got}, want {want}"),
    }
}

#[cfg(feature = "ome-zarr")]
mod zarr {
    use std::sync::Arc;

    use zarrs::array::{Array, ArrayBytes, ArraySubset};
    use zarrs::filesystem::FilesystemStore;

    use super::*;

    /// Level `level` of the store: its shape and its samples, little-endian.
    fn read_level(root: &Path, level: usize) -> (Vec<u64>, Vec<u8>) {
        let store = Arc::new(FilesystemStore::new(root).unwrap());
        let array = Array::open(store, &format!("/{level}"))
            .unwrap_or_else(|e| panic!("{}: level {level}: {e}", root.display()));
        let shape = array.shape().to_vec();
        let all = ArraySubset::new_with_shape(shape.clone());
        let bytes: ArrayBytes = array.retrieve_array_subset(&all).unwrap();
        let mut bytes = bytes.into_fixed().unwrap().into_owned();
        if cfg!(target_endian = "big") {
            let size = array.data_type().fixed_size().unwrap();
            bytes.chunks_exact_mut(size).for_each(|p| p.reverse());
        }
        (shape, bytes)
    }

    /// The array metadata of a level: (dtype as the format writes it, fill value).
    fn level_metadata(root: &Path, level: usize, ngff: &str) -> (Value, Value) {
        if ngff == "0.4" {
            let m = json_file(&root.join(level.to_string()).join(".zarray"));
            (m["dtype"].clone(), m["fill_value"].clone())
        } else {
            let m = json_file(&root.join(level.to_string()).join("zarr.json"));
            (m["data_type"].clone(), m["fill_value"].clone())
        }
    }

    fn omero(root: &Path, ngff: &str) -> Value {
        if ngff == "0.4" {
            json_file(&root.join(".zattrs"))["omero"].clone()
        } else {
            json_file(&root.join("zarr.json"))["attributes"]["ome"]["omero"].clone()
        }
    }

    /// Builds stack `name` as an OME-Zarr store (`ngff`, small chunks: edge chunks at every
    /// level) and checks it: level 0 the input, levels 1.. the reference, the dtype and fill
    /// value of every array, and the omero window.
    pub fn check_store(name: &str, ngff: &str, extra: &[&str]) {
        let m = read_manifest(&expected_dir(name));
        let stack = fixture_stack(name);
        let work = tempfile::tempdir().unwrap();
        let store = work.path().join(format!("{name}.ome.zarr"));
        let min = m.min_size.to_string();
        let mut args = vec!["build", s(stack.path()), "--format", "ome-zarr"];
        args.extend(["--ngff", ngff, "--chunks", "2,5,7", "--min-size", &min]);
        args.extend(["--out", s(&store), "--quiet"]);
        args.extend_from_slice(extra);
        let out = ctpyramid(&args);
        assert_ok(&out);
        let at = format!("{name} NGFF {ngff} {extra:?}");

        let want_type = match (ngff, m.dtype) {
            ("0.4", Dtype::I16) => "<i2",
            ("0.4", Dtype::F32) => "<f4",
            (_, dtype) => dtype.name(),
        };
        for level in 0..=m.levels.len() {
            let (dtype, fill) = level_metadata(&store, level, ngff);
            assert_eq!(dtype, want_type, "{at}: level {level} dtype");
            // 0 (or 0.0): a positive zero, as the padding past the array is.
            let fill_bits = fill.as_f64().map(f64::to_bits);
            assert_eq!(fill_bits, Some(0), "{at}: level {level} fill {fill}");
        }
        assert!(
            !store.join((m.levels.len() + 1).to_string()).exists(),
            "{at}: no level beyond the reference's"
        );

        let input = input_slices(name);
        let (shape, got) = read_level(&store, 0);
        let (w, h) = (input[0].0, input[0].1);
        assert_eq!(
            shape,
            [input.len() as u64, h as u64, w as u64],
            "{at}: level 0"
        );
        let plane = w * h * m.dtype.size();
        for (k, (_, _, dtype, want)) in input.iter().enumerate() {
            assert_eq!(*dtype, m.dtype, "{at}: input {k}");
            let got = &got[k * plane..(k + 1) * plane];
            assert_samples_eq(got, want, m.dtype, w, &format!("{at}: level 0 slice {k}"));
        }
        for spec in &m.levels {
            let (shape, got) = read_level(&store, spec.level);
            assert_eq!(
                shape,
                [spec.slices as u64, spec.height as u64, spec.width as u64],
                "{at}: level {}",
                spec.level
            );
            let plane = spec.width * spec.height * m.dtype.size();
            for k in 0..spec.slices {
                let what = format!("{at}: level {} slice {k}", spec.level);
                let got = &got[k * plane..(k + 1) * plane];
                let want = expected_raw(name, spec.level, k);
                assert_samples_eq(got, &want, m.dtype, spec.width, &what);
            }
        }

        // The window: int16 over its whole range, started and ended at the smallest
        // level's extremes; float32 min = start and max = end, its finite extremes.
        let omero = omero(&store, ngff);
        let window = &omero["channels"][0]["window"];
        let (lo, hi) = smallest_level_range(name);
        let (min, max) = match m.dtype {
            Dtype::I16 => (-32768.0, 32767.0),
            _ => (lo, hi),
        };
        assert_number(
            &window["min"],
            min,
            m.dtype,
            &format!("{at}: window min {omero}"),
        );
        assert_number(
            &window["max"],
            max,
            m.dtype,
            &format!("{at}: window max {omero}"),
        );
        assert_number(
            &window["start"],
            lo,
            m.dtype,
            &format!("{at}: window start {omero}"),
        );
        assert_number(
            &window["end"],
            hi,
            m.dtype,
            &format!("{at}: window end {omero}"),
        );
        assert!(partial_files(&store).is_empty(), "{at}: temporary files");
    }
}

/// Both layouts and both NGFF versions of stack `name`.
fn check_all(name: &str) {
    check_tiff_layouts(name);
    #[cfg(feature = "ome-zarr")]
    for ngff in ["0.4", "0.5"] {
        zarr::check_store(name, ngff, &[]);
    }
}

macro_rules! stack_tests {
    ($($name:ident),* $(,)?) => {
        #[test]
        fn the_macro_lists_every_stack() {
            assert_eq!([$(stringify!($name)),*], STACKS);
        }
        $(#[test] fn $name() { check_all(stringify!($name)); })*
    };
}

stack_tests!(
    f32_be,
    f32_deflate_pred,
    f32_multipage,
    f32_strips,
    f32_tiled,
    i16_be,
    i16_deflate_pred,
    i16_lzw,
    i16_strips,
);

/// Read with plain `read` calls (not mapped) into an OME-Zarr store: the same values.
#[cfg(feature = "ome-zarr")]
#[test]
fn buffered_reader_float_store() {
    zarr::check_store("f32_strips", "0.5", &["--reader", "buffered"]);
    zarr::check_store("f32_be", "0.4", &["--reader", "buffered"]);
}

/// Slices NaN, inf, -0.0 and subnormals reach the outputs as they are in the reference (the
/// fixture holds them: this checks it does, so the comparisons above are not vacuous).
#[test]
fn the_float_reference_holds_nan_inf_negative_zero_and_subnormals() {
    let m = read_manifest(&expected_dir("f32_strips"));
    let mut seen = [false; 5];
    for spec in &m.levels {
        for k in 0..spec.slices {
            for v in values(&expected_raw("f32_strips", spec.level, k), Dtype::F32) {
                let v = v as f32;
                seen[0] |= v.is_nan();
                seen[1] |= v == f32::INFINITY;
                seen[2] |= v == f32::NEG_INFINITY;
                seen[3] |= v == 0.0 && v.is_sign_negative();
                seen[4] |= v.is_subnormal();
            }
        }
    }
    assert_eq!(seen, [true; 5], "NaN, +inf, -inf, -0.0, subnormal");
    let last = m.levels.last().unwrap();
    let smallest = values(&expected_raw("f32_strips", last.level, 0), Dtype::F32);
    assert!(smallest.iter().any(|v| v.is_nan()) && smallest.iter().any(|v| v.is_infinite()));
}

// ---------------------------------------------------------------------------------------
// crop

/// `crop` of the box `x`, `y`, `z` (half-open) of level `level` of the copy `dir`; returns the
/// crop read back (every file crop.json lists, every page) and checks crop.json's dtype.
fn crop(
    dir: &Path,
    level: usize,
    b: [(usize, usize); 3],
    dtype: Dtype,
    extra: &[&str],
) -> Vec<Image> {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let ranges: Vec<String> = b.iter().map(|(a, e)| format!("{a}..{e}")).collect();
    let level_arg = level.to_string();
    let mut args = vec![
        "crop",
        s(dir),
        "--level",
        &level_arg,
        "--out",
        s(&out),
        "-q",
    ];
    args.extend(["--x", &ranges[0], "--y", &ranges[1], "--z", &ranges[2]]);
    args.extend_from_slice(extra);
    let o = ctpyramid(&args);
    let what = format!("{} level {level} {ranges:?} {extra:?}", dir.display());
    assert!(o.status.success(), "{what}: {}", stderr_of(&o));
    let rec = json_file(&out.join("crop.json"));
    assert_eq!(rec["dtype"], dtype.name(), "{what}: crop.json");
    let files: Vec<String> = rec["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap().to_string())
        .collect();
    files
        .iter()
        .flat_map(|f| {
            let path = out.join(f);
            check_tiff_header(&path, dtype, &what);
            decode_tiff_pages_typed(&path)
        })
        .collect()
}

/// The box of `slices` (each `w` wide).
fn cut(slices: &[Vec<u8>], w: usize, size: usize, b: [(usize, usize); 3]) -> Vec<Vec<u8>> {
    let [(x0, x1), (y0, y1), (z0, z1)] = b;
    slices[z0..z1]
        .iter()
        .map(|s| {
            (y0..y1)
                .flat_map(|y| s[(y * w + x0) * size..(y * w + x1) * size].iter().copied())
                .collect()
        })
        .collect()
}

#[test]
fn crop_of_int16_and_float32_levels() {
    for name in ["f32_strips", "i16_strips", "f32_multipage"] {
        let m = read_manifest(&expected_dir(name));
        let work = build_copy(name, &[]);
        let input = input_slices(name);
        let size = m.dtype.size();
        let level0: Vec<Vec<u8>> = input.iter().map(|i| i.3.clone()).collect();
        let l1 = &m.levels[0];
        let level1: Vec<Vec<u8>> = (0..l1.slices).map(|k| expected_raw(name, 1, k)).collect();
        let (w0, h0, n0) = (input[0].0, input[0].1, input.len());
        for (level, slices, [w, h, n]) in [
            (0, &level0, [w0, h0, n0]),
            (1, &level1, [l1.width, l1.height, l1.slices]),
        ] {
            for b in [
                [(0, w), (0, h), (0, n)],
                [(1, w - 1), (2, h - 1), (1, n)],
                [(0, 3), (0, 2), (0, 1)],
                [(w - 1, w), (h - 1, h), (n - 1, n)],
            ] {
                let want = cut(slices, w, size, b);
                let width = b[0].1 - b[0].0;
                for extra in [&[][..], &["--layout", "stack"][..]] {
                    let got = crop(work.path(), level, b, m.dtype, extra);
                    let what = format!("{name} level {level} {b:?} {extra:?}");
                    assert_eq!(got.len(), want.len(), "{what}: slices");
                    for (z, (g, w)) in got.iter().zip(&want).enumerate() {
                        assert_eq!((g.0, g.1, g.2), (width, b[1].1 - b[1].0, m.dtype), "{what}");
                        assert_samples_eq(&g.3, w, m.dtype, width, &format!("{what} slice {z}"));
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// inspect

#[test]
fn inspect_names_the_sample_type() {
    for name in ["f32_strips", "f32_be", "i16_strips", "i16_lzw"] {
        let dtype = read_manifest(&expected_dir(name)).dtype;
        let work = fixture_stack(name);
        let out = ctpyramid(&["inspect", s(work.path()), "--json", "--min-size", "4"]);
        assert_ok(&out);
        let json: Value = serde_json::from_slice(&out.stdout).unwrap();
        let kinds = json["kinds"].as_array().unwrap();
        assert_eq!(kinds.len(), 1, "{name}: one kind of slice: {json}");
        assert_eq!(kinds[0]["bits"], dtype.bits(), "{name}: {json}");
        // The field is not named by the issue: the kind must name its type.
        assert!(
            kinds[0].to_string().contains(dtype.name()),
            "{name}: kinds[0] names {}? {json}",
            dtype.name()
        );
        assert_eq!(json["problems"], serde_json::json!([]), "{name}: {json}");
    }
}

// ---------------------------------------------------------------------------------------
// refused

/// Every file below `dir`.
fn files_below(dir: &Path) -> Vec<PathBuf> {
    read_tree(dir).keys().map(|k| dir.join(k)).collect()
}

/// The sample types still refused (tests/errors.rs checks their messages): a non-zero exit,
/// one error line naming the file, and nothing in `.thumbnail`.
#[test]
fn refused_types_write_nothing() {
    for (name, file) in [
        ("float64", "s_rec00000000.tif"),
        ("float16", "s_rec00000000.tif"),
        ("int32", "s_rec00000000.tif"),
        ("int8", "s_rec00000000.tif"),
        ("rgb_float32", "s_rec00000000.tif"),
    ] {
        let work = copy_fixture(&fixtures().join("bad").join(name));
        let out = ctpyramid(&["build", s(work.path()), "--min-size", "4", "--quiet"]);
        let stderr = stderr_of(&out);
        assert!(!out.status.success(), "{name}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{name}: {stderr}");
        assert!(stderr.contains(file), "{name}: {stderr}");
        assert!(
            files_below(&work.path().join(".thumbnail")).is_empty(),
            "{name}: written: {:?}",
            files_below(&work.path().join(".thumbnail"))
        );
    }
}

/// uint16 slices with a float32 one (slice 2): refused naming it. What was built before it
/// is reached (as for `bad/mismatched_depth`, level 1 slice 0 from slices 0 and 1 may be)
/// is complete uint16 output: no float32 file, no temporary file.
#[test]
fn mixed_types_refused_naming_the_slice() {
    let work = copy_fixture(&fixtures().join("bad").join("mixed_types"));
    let out = ctpyramid(&["build", s(work.path()), "--min-size", "4", "--quiet"]);
    let stderr = stderr_of(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("s_rec00000002.tif"), "{stderr}");
    let root = work.path().join(".thumbnail");
    assert!(partial_files(&root).is_empty(), "temporary files left");
    for path in files_below(&root) {
        if path.extension().is_some_and(|e| e == "tif") {
            assert_eq!(decode_tiff_typed(&path).2, Dtype::U16, "{}", path.display());
        }
    }
}
