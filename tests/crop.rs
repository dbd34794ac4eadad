//! `ctpyramid crop` (issue 20): boxes of level 0 and of the pyramid's levels, compared voxel by
//! voxel with references that owe nothing to ctpyramid's reader: the input TIFFs decoded with
//! the `tiff` crate (every page), the BMPs decoded here from their bytes, and the levels >= 1
//! from the numpy reference in fixtures/expected (see fixtures/README.md). PNG and JPEG level 0
//! is checked through the reference's halving (a crop of level 0 halved here gives the
//! expected level 1), since no decoder of those is independent of ctpyramid's.

mod common;

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::*;
use serde_json::Value;

// ---------------------------------------------------------------------------------------
// References

/// A gray volume: `slices[z][y * width + x]`, samples widened to u16.
#[derive(Clone, Debug, PartialEq)]
struct Volume {
    width: usize,
    height: usize,
    bits: u16,
    slices: Vec<Vec<u16>>,
}

impl Volume {
    fn size(&self) -> [usize; 3] {
        [self.width, self.height, self.slices.len()]
    }

    /// The box `b` of the volume.
    fn crop(&self, b: &Region) -> Volume {
        let slices = b
            .z
            .clone()
            .map(|z| {
                let s = &self.slices[z];
                b.y.clone()
                    .flat_map(|y| s[y * self.width + b.x.start..y * self.width + b.x.end].iter())
                    .copied()
                    .collect()
            })
            .collect();
        Volume {
            width: b.x.len(),
            height: b.y.len(),
            bits: self.bits,
            slices,
        }
    }

    /// The next level by the reference rule (fixtures/README.md): each slice halved with
    /// `(a+b+c+d+2)>>2` per 2x2 block (an odd last row/column dropped), pairs of slices
    /// averaged with `(p+q+1)>>1`, a lone last slice just halved.
    fn next_level(&self) -> Volume {
        let (w, h) = (self.width / 2, self.height / 2);
        let halve = |s: &Vec<u16>| -> Vec<u32> {
            let at = |x: usize, y: usize| u32::from(s[y * self.width + x]);
            let mut out = Vec::with_capacity(w * h);
            for y in 0..h {
                for x in 0..w {
                    let sum = at(2 * x, 2 * y)
                        + at(2 * x + 1, 2 * y)
                        + at(2 * x, 2 * y + 1)
                        + at(2 * x + 1, 2 * y + 1);
                    out.push((sum + 2) >> 2);
                }
            }
            out
        };
        let slices = self
            .slices
            .chunks(2)
            .map(|pair| match pair {
                [p, q] => halve(p)
                    .iter()
                    .zip(halve(q))
                    .map(|(a, b)| ((a + b + 1) >> 1) as u16)
                    .collect(),
                [p] => halve(p).into_iter().map(|v| v as u16).collect(),
                _ => unreachable!(),
            })
            .collect();
        Volume {
            width: w,
            height: h,
            bits: self.bits,
            slices,
        }
    }
}

/// Gray from RGB by the reference's formula, integer and truncating.
fn gray(r: u16, g: u16, b: u16) -> u16 {
    ((2126 * u64::from(r) + 7152 * u64::from(g) + 722 * u64::from(b)) / 10000) as u16
}

/// The pages of a TIFF as gray slices (RGB converted by the formula), decoded by the `tiff`
/// crate.
fn tiff_slices(path: &Path) -> Vec<(usize, usize, u16, Vec<u16>)> {
    decode_tiff_pages(path)
        .into_iter()
        .map(|p| {
            let samples = match p.samples_per_pixel {
                1 => p.samples,
                3 => p
                    .samples
                    .chunks_exact(3)
                    .map(|c| gray(c[0], c[1], c[2]))
                    .collect(),
                n => panic!("{}: {n} samples a pixel", path.display()),
            };
            assert_eq!(samples.len(), p.width * p.height, "{}", path.display());
            (p.width, p.height, p.bits, samples)
        })
        .collect()
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

/// An uncompressed BMP (8-bit palette or 24-bit, bottom-up or top-down) decoded from its
/// bytes, as gray by the formula.
fn bmp_slice(path: &Path) -> (usize, usize, u16, Vec<u16>) {
    let b = std::fs::read(path).unwrap();
    assert_eq!(&b[..2], b"BM", "{}", path.display());
    let data = u32_at(&b, 10) as usize;
    let header = u32_at(&b, 14) as usize;
    let width = u32_at(&b, 18) as i32;
    let height = u32_at(&b, 22) as i32;
    let bpp = u16_at(&b, 28);
    assert_eq!(u32_at(&b, 30), 0, "{}: compressed BMP", path.display());
    let (w, h) = (width as usize, height.unsigned_abs() as usize);
    let stride = (w * usize::from(bpp)).div_ceil(32) * 4;
    let palette = 14 + header;
    let mut out = Vec::with_capacity(w * h);
    for y in 0..h {
        let file_row = if height < 0 { y } else { h - 1 - y };
        let row = &b[data + file_row * stride..][..stride];
        for x in 0..w {
            let (bl, g, r) = match bpp {
                8 => {
                    let e = palette + 4 * usize::from(row[x]);
                    (b[e], b[e + 1], b[e + 2])
                }
                24 => (row[3 * x], row[3 * x + 1], row[3 * x + 2]),
                other => panic!("{}: {other}-bit BMP", path.display()),
            };
            out.push(gray(r.into(), g.into(), bl.into()));
        }
    }
    (w, h, 8, out)
}

/// A volume from its slices, checked to share one size.
fn volume_of(slices: Vec<(usize, usize, u16, Vec<u16>)>, what: &str) -> Volume {
    let (width, height, bits) = (slices[0].0, slices[0].1, slices[0].2);
    for s in &slices {
        assert_eq!((s.0, s.1, s.2), (width, height, bits), "{what}");
    }
    Volume {
        width,
        height,
        bits,
        slices: slices.into_iter().map(|s| s.3).collect(),
    }
}

/// The slice files of a fixture folder as `build` selects them: those of the log's sections
/// for `skyscan_log`, else every TIFF or BMP in name order (the fixtures' names sort as
/// their numbers do).
fn slice_files(dir: &Path) -> Vec<PathBuf> {
    if dir.ends_with("skyscan_log") {
        return (10..=17)
            .map(|n| dir.join(format!("CO-1__rec{n:08}.bmp")))
            .collect();
    }
    file_names(dir)
        .into_iter()
        .filter(|n| {
            let n = n.to_ascii_lowercase();
            n.ends_with(".tif") || n.ends_with(".tiff") || n.ends_with(".bmp")
        })
        .map(|n| dir.join(n))
        .collect()
}

/// Level 0 of a TIFF or BMP stack folder, decoded independently.
fn level0(dir: &Path) -> Volume {
    let what = dir.display().to_string();
    let slices = slice_files(dir)
        .iter()
        .flat_map(|p| {
            if p.extension().is_some_and(|e| e.eq_ignore_ascii_case("bmp")) {
                vec![bmp_slice(p)]
            } else {
                tiff_slices(p)
            }
        })
        .collect();
    volume_of(slices, &what)
}

/// Reads `manifest.txt` of an expected pyramid: min_size, and `(level, w, h, bits, slices)`.
fn manifest(name: &str) -> (usize, Vec<[usize; 5]>) {
    let path = fixtures().join("expected").join(name).join("manifest.txt");
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'));
    let min_size = lines.next().unwrap()["min_size ".len()..]
        .trim()
        .parse()
        .unwrap();
    let levels = lines
        .map(|l| {
            let v: Vec<usize> = l.split_whitespace().map(|x| x.parse().unwrap()).collect();
            [v[0], v[1], v[2], v[3], v[4]]
        })
        .collect();
    (min_size, levels)
}

/// Level `level` >= 1 of fixture `name` from the numpy reference's raw files.
fn expected_level(name: &str, level: usize) -> Volume {
    let (_, levels) = manifest(name);
    let [_, width, height, bits, n] = *levels.iter().find(|l| l[0] == level).unwrap();
    let dir = fixtures()
        .join("expected")
        .join(name)
        .join(level.to_string());
    let slices = (0..n)
        .map(|k| {
            let raw = std::fs::read(dir.join(format!("{k:06}.raw"))).unwrap();
            let s: Vec<u16> = match bits {
                8 => raw.iter().map(|&v| u16::from(v)).collect(),
                _ => raw.chunks_exact(2).map(|c| u16_at(c, 0)).collect(),
            };
            assert_eq!(s.len(), width * height);
            s
        })
        .collect();
    Volume {
        width,
        height,
        bits: bits as u16,
        slices,
    }
}

// ---------------------------------------------------------------------------------------
// Boxes and crops

/// A box as asked for on the command line: each axis `A..B`, `A..` (to the end) or absent.
#[derive(Clone, Copy, Debug, Default)]
struct Ask {
    x: Option<(usize, Option<usize>)>,
    y: Option<(usize, Option<usize>)>,
    z: Option<(usize, Option<usize>)>,
}

/// A box resolved against a level: half-open ranges.
#[derive(Clone, Debug, PartialEq)]
struct Region {
    x: Range<usize>,
    y: Range<usize>,
    z: Range<usize>,
}

fn r(a: usize, b: usize) -> Option<(usize, Option<usize>)> {
    Some((a, Some(b)))
}

fn from(a: usize) -> Option<(usize, Option<usize>)> {
    Some((a, None))
}

impl Ask {
    fn args(&self) -> Vec<String> {
        let mut args = Vec::new();
        for (flag, range) in [("--x", self.x), ("--y", self.y), ("--z", self.z)] {
            if let Some((a, b)) = range {
                args.push(flag.to_string());
                args.push(match b {
                    Some(b) => format!("{a}..{b}"),
                    None => format!("{a}.."),
                });
            }
        }
        args
    }

    fn resolve(&self, [w, h, n]: [usize; 3]) -> Region {
        let axis = |range: Option<(usize, Option<usize>)>, extent: usize| match range {
            None => 0..extent,
            Some((a, b)) => a..b.unwrap_or(extent),
        };
        Region {
            x: axis(self.x, w),
            y: axis(self.y, h),
            z: axis(self.z, n),
        }
    }
}

/// Boxes of a level of `w x h x n` exercising the edges: the whole; an inner box; a corner
/// box touching the left, the top and the first slice (its first row only); one touching
/// the right, the bottom and the last slice (its last column only, with `A..`); a full-width
/// row; a full-height column; one slice; one voxel at the far corner.
fn boxes([w, h, n]: [usize; 3]) -> Vec<Ask> {
    let mid = |e: usize| e / 2;
    let inner = |e: usize| if e >= 3 { r(1, e - 1) } else { r(0, e) };
    vec![
        Ask::default(),
        Ask {
            x: inner(w),
            y: inner(h),
            z: inner(n),
        },
        Ask {
            x: r(0, w.min(3)),
            y: r(0, 1),
            z: r(0, 1),
        },
        Ask {
            x: from(w - 1),
            y: from(h.saturating_sub(5)),
            z: from(n - 1),
        },
        Ask {
            x: None,
            y: r(mid(h), mid(h) + 1),
            z: None,
        },
        Ask {
            x: r(mid(w), mid(w) + 1),
            y: None,
            z: r(0, n.min(2)),
        },
        Ask {
            x: r(1, w),
            y: r(0, h - 1),
            z: r(mid(n), mid(n) + 1),
        },
        Ask {
            x: r(w - 1, w),
            y: r(h - 1, h),
            z: r(n - 1, n),
        },
    ]
}

fn run(args: &[String]) -> Output {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    ctpyramid(&args)
}

/// `ctpyramid crop DIR <box> --level L --out OUT --quiet <extra>`.
fn crop(dir: &Path, level: usize, ask: &Ask, out: &Path, extra: &[&str]) -> Output {
    let mut args: Vec<String> = vec!["crop".into(), s(dir).into()];
    args.extend(ask.args());
    args.extend(["--level".into(), level.to_string(), "--out".into()]);
    args.push(s(out).into());
    args.extend(extra.iter().map(|a| a.to_string()));
    run(&args)
}

fn record(out: &Path) -> Value {
    let text = std::fs::read_to_string(out.join("crop.json"))
        .unwrap_or_else(|e| panic!("{}: crop.json: {e}", out.display()));
    serde_json::from_str(&text).unwrap()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

/// The crop in `out`, read back with the `tiff` crate from the files crop.json lists (each
/// file a slice, or every page of `crop.tif`); checks that the folder holds those files and
/// crop.json only.
fn read_crop(out: &Path) -> Volume {
    let rec = record(out);
    let files = strings(&rec["files"]);
    let mut want: Vec<String> = files.clone();
    want.push("crop.json".into());
    want.sort();
    assert_eq!(file_names(out), want, "{}: files", out.display());
    let slices = files
        .iter()
        .flat_map(|f| tiff_slices(&out.join(f)))
        .collect();
    volume_of(slices, &out.display().to_string())
}

/// Where `got` and `want` first differ, as a message.
fn compare(got: &Volume, want: &Volume, what: &str) {
    assert_eq!(
        (got.width, got.height, got.slices.len(), got.bits),
        (want.width, want.height, want.slices.len(), want.bits),
        "{what}: geometry (w, h, slices, bits)"
    );
    for (z, (g, w)) in got.slices.iter().zip(&want.slices).enumerate() {
        if let Some(i) = g.iter().zip(w).position(|(a, b)| a != b) {
            panic!(
                "{what}: slice {z} differs first at x={} y={}: got {}, want {}",
                i % want.width,
                i / want.width,
                g[i],
                w[i]
            );
        }
    }
}

/// Crops `ask` of level `level` of `dir` into a fresh folder and compares it with the box of
/// `reference`; also checks crop.json's box and geometry.
fn check_crop(dir: &Path, level: usize, reference: &Volume, ask: &Ask, extra: &[&str]) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let what = format!("{} level {level} {:?} {extra:?}", dir.display(), ask.args());
    let o = crop(dir, level, ask, &out, extra);
    assert!(o.status.success(), "{what}: {}", stderr_of(&o));
    let b = ask.resolve(reference.size());
    compare(&read_crop(&out), &reference.crop(&b), &what);
    let rec = record(&out);
    let pair = |r: &Range<usize>| serde_json::json!([r.start, r.end]);
    assert_eq!(rec["level"], level, "{what}");
    assert_eq!(
        rec["box"],
        serde_json::json!({"x": pair(&b.x), "y": pair(&b.y), "z": pair(&b.z)}),
        "{what}"
    );
    assert_eq!(
        [&rec["width"], &rec["height"], &rec["slices"]],
        [b.x.len(), b.y.len(), b.z.len()],
        "{what}"
    );
    let dtype = if reference.bits == 8 {
        "uint8"
    } else {
        "uint16"
    };
    assert_eq!(rec["dtype"], dtype, "{what}");
    assert!(
        partial_files(tmp.path()).is_empty(),
        "{what}: partial files"
    );
}

/// Every box of `boxes` of level 0 of fixture `name`, one file a slice, with the readers,
/// and two of them as one stack file.
fn check_level0(name: &str, reference: &Volume) {
    let work = fixture_stack(name);
    let dir = work.path();
    for (i, ask) in boxes(reference.size()).iter().enumerate() {
        check_crop(dir, 0, reference, ask, &[]);
        if i == 1 {
            check_crop(dir, 0, reference, ask, &["--reader", "buffered"]);
            check_crop(dir, 0, reference, ask, &["--reader", "mmap"]);
        }
        if i == 0 || i == 3 {
            check_crop(dir, 0, reference, ask, &["--layout", "stack"]);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Level 0, every fixture layout

macro_rules! level0_tests {
    ($($name:ident),* $(,)?) => {
        $(#[test] fn $name() {
            let name = stringify!($name);
            let reference = level0(&fixtures().join("stacks").join(name));
            check_level0(name, &reference);
        })*
    };
}

mod level0 {
    use super::*;

    level0_tests!(
        u16_le_strip1,
        u16_multistrip,
        u16_strip_per_row,
        u16_be,
        u16_bigtiff,
        u16_bigtiff_be,
        u16_odd_offset,
        u16_odd,
        u16_tiffcp,
        u16_pillow,
        u8_pillow,
        lzw,
        lzw_pred,
        deflate,
        packbits,
        tiled,
        tiled_lzw,
        u8_lzw_pred,
        multipage,
        multipage_imagej,
        multipage_lzw,
        rgb_tiff,
        rgb16_tiff,
        bmp_skyscan,
        bmp_palette,
        bmp_rgb24,
        skyscan_log,
    );
}

/// A top-down BMP stack (negative height), made here from `bmp_skyscan` by reversing the rows
/// and negating the height: no fixture writer makes one (fixtures/README.md, "Skipped"), so
/// this is a hand-patched copy, not a third-party file. Its pixels are bmp_skyscan's.
#[test]
fn level0_bmp_top_down() {
    let src = fixtures().join("stacks").join("bmp_skyscan");
    let reference = level0(&src);
    let work = fixture_stack("bmp_skyscan");
    for path in slice_files(work.path()) {
        let mut b = std::fs::read(&path).unwrap();
        let data = u32_at(&b, 10) as usize;
        let w = u32_at(&b, 18) as usize;
        let h = u32_at(&b, 22) as i32;
        assert!(h > 0, "the fixture is bottom-up");
        let stride = (w * 8).div_ceil(32) * 4;
        let rows: Vec<Vec<u8>> = b[data..data + stride * h as usize]
            .chunks(stride)
            .rev()
            .map(<[u8]>::to_vec)
            .collect();
        b[data..data + stride * h as usize].copy_from_slice(&rows.concat());
        b[22..26].copy_from_slice(&(-h).to_le_bytes());
        std::fs::write(&path, b).unwrap();
    }
    assert_eq!(level0(work.path()), reference, "the patch keeps the pixels");
    for ask in boxes(reference.size()) {
        check_crop(work.path(), 0, &reference, &ask, &[]);
    }
}

/// PNG and JPEG level 0 through the reference's halving: the whole of level 0 cropped, halved
/// here, gives the expected level 1; and the inner box, halved, gives the box of the expected
/// level 1 it covers.
#[test]
fn level0_png_and_jpeg_halve_to_the_expected_level_1() {
    for name in ["png16", "png8", "jpeg_gray", "png_rgb"] {
        let work = fixture_stack(name);
        let tmp = tempfile::tempdir().unwrap();
        let level1 = expected_level(name, 1);
        let [w1, h1, n1] = level1.size();
        // Whole, then a box of even origin: x 2..2+2a, y 4..4+2b, slices 0..2.
        let (a, b) = (w1 / 2, h1 / 2);
        assert!(n1 >= 1);
        let asks = [
            (Ask::default(), Ask::default()),
            (
                Ask {
                    x: r(2, 2 + 2 * a),
                    y: r(4, 4 + 2 * b),
                    z: r(0, 2),
                },
                Ask {
                    x: r(1, 1 + a),
                    y: r(2, 2 + b),
                    z: r(0, 1),
                },
            ),
        ];
        for (i, (ask0, ask1)) in asks.iter().enumerate() {
            let out = tmp.path().join(i.to_string());
            let o = crop(work.path(), 0, ask0, &out, &[]);
            assert!(o.status.success(), "{name}: {}", stderr_of(&o));
            let got = read_crop(&out).next_level();
            let want = level1.crop(&ask1.resolve(level1.size()));
            compare(
                &got,
                &want,
                &format!("{name} level 0 {:?} halved", ask0.args()),
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// Levels >= 1

/// Builds a copy of fixture `name` with the manifest's min size and `extra`.
fn built(name: &str, extra: &[&str]) -> tempfile::TempDir {
    let work = fixture_stack(name);
    let (min_size, _) = manifest(name);
    let min_size = min_size.to_string();
    let mut args = vec!["build", s(work.path()), "--min-size", &min_size, "--quiet"];
    args.extend_from_slice(extra);
    let o = ctpyramid(&args);
    assert!(o.status.success(), "{name}: build: {}", stderr_of(&o));
    work
}

/// Every level of the built fixture `name`, each box of `boxes` (both crop layouts for some),
/// against the expected levels.
fn check_levels(name: &str, build_extra: &[&str], crop_extra: &[&str]) {
    let work = built(name, build_extra);
    let (_, levels) = manifest(name);
    for l in &levels {
        let level = l[0];
        let reference = expected_level(name, level);
        for (i, ask) in boxes(reference.size()).iter().enumerate() {
            check_crop(work.path(), level, &reference, ask, crop_extra);
            if i % 3 == 0 {
                let mut extra = crop_extra.to_vec();
                extra.extend(["--layout", "stack"]);
                check_crop(work.path(), level, &reference, ask, &extra);
            }
        }
    }
}

mod levels {
    use super::*;

    #[test]
    fn u16_odd_slices_layout() {
        // 37x29x7: odd sizes and slice counts at every level (18x14x4, 9x7x2, 4x3x1).
        check_levels("u16_odd", &[], &[]);
    }

    #[test]
    fn u16_odd_stack_layout() {
        check_levels("u16_odd", &["--layout", "stack"], &[]);
    }

    #[test]
    fn min16_odd_slice_counts() {
        check_levels("min16", &[], &[]);
    }

    #[test]
    fn png16() {
        check_levels("png16", &[], &[]);
    }

    #[test]
    fn jpeg_gray() {
        check_levels("jpeg_gray", &[], &[]);
    }

    #[test]
    fn bmp_skyscan() {
        check_levels("bmp_skyscan", &[], &[]);
    }

    #[test]
    fn skyscan_log() {
        check_levels("skyscan_log", &[], &[]);
    }

    #[test]
    fn multipage_lzw() {
        check_levels("multipage_lzw", &[], &[]);
    }

    #[test]
    fn u8_pillow_buffered_reader() {
        check_levels("u8_pillow", &[], &["--reader", "buffered"]);
    }

    /// A pyramid written elsewhere (`build --out ROOT`) is read with `--pyramid ROOT`; without
    /// it, crop looks in <DIR>/.thumbnail and finds none.
    #[test]
    fn pyramid_elsewhere() {
        let work = fixture_stack("u16_odd");
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("pyr");
        let o = ctpyramid(&[
            "build",
            s(work.path()),
            "--min-size",
            "4",
            "--out",
            s(&root),
            "--quiet",
            "--layout",
            "stack",
        ]);
        assert_ok(&o);
        let reference = expected_level("u16_odd", 2);
        let ask = Ask {
            x: r(2, 9),
            y: r(1, 6),
            z: r(1, 2),
        };
        check_crop(work.path(), 2, &reference, &ask, &["--pyramid", s(&root)]);
        let out = tmp.path().join("out");
        let o = crop(work.path(), 2, &ask, &out, &["--quiet"]);
        assert_eq!(o.status.code(), Some(2), "{}", stderr_of(&o));
        assert!(stderr_of(&o).contains("--level 2: no pyramid in"));
        assert!(!out.exists());
    }
}

// ---------------------------------------------------------------------------------------
// Names of the files

#[test]
fn files_are_named_after_the_input_at_level_0_and_by_index_below() {
    let tmp = tempfile::tempdir().unwrap();
    let names = |dir: &Path, level: usize, z: (usize, usize), layout: &str| {
        let out = tmp.path().join(format!("{}-{level}-{layout}", z.0));
        let ask = Ask {
            z: r(z.0, z.1),
            ..Ask::default()
        };
        let o = crop(dir, level, &ask, &out, &["--layout", layout, "--quiet"]);
        assert_ok(&o);
        assert_eq!(record(&out)["layout"], layout);
        strings(&record(&out)["files"])
    };
    let odd = built("u16_odd", &[]);
    assert_eq!(
        names(odd.path(), 0, (3, 5), "slices"),
        ["s_rec00000003.tif", "s_rec00000004.tif"]
    );
    assert_eq!(
        names(odd.path(), 1, (1, 3), "slices"),
        ["000001.tif", "000002.tif"]
    );
    assert_eq!(names(odd.path(), 1, (1, 3), "stack"), ["crop.tif"]);
    let log = fixture_stack("skyscan_log");
    assert_eq!(
        names(log.path(), 0, (3, 4), "slices"),
        ["CO-1__rec00000013.tif"]
    );
    let multi = fixture_stack("multipage");
    assert_eq!(
        names(multi.path(), 0, (4, 6), "slices"),
        ["000004.tif", "000005.tif"]
    );
    assert_eq!(names(multi.path(), 0, (4, 6), "stack"), ["crop.tif"]);
}

// ---------------------------------------------------------------------------------------
// Bad boxes and levels

/// Runs a crop that must fail with `code`, with stderr one line containing `wanted`, and
/// leave `out` as it was (no TIFF when it was absent).
fn check_refused(dir: &Path, level: usize, ask: &Ask, code: i32, wanted: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let what = format!("{} level {level} {:?}", dir.display(), ask.args());
    let o = crop(dir, level, ask, &out, &["--quiet"]);
    let err = stderr_of(&o);
    assert_eq!(o.status.code(), Some(code), "{what}: {err}");
    assert_eq!(err.lines().count(), 1, "{what}: one line: {err}");
    assert!(err.contains(wanted), "{what}: {err:?} lacks {wanted:?}");
    let tiffs: Vec<String> = file_names(&out)
        .into_iter()
        .filter(|n| n.ends_with(".tif"))
        .collect();
    assert!(
        tiffs.is_empty(),
        "{what}: left {tiffs:?} in {}",
        out.display()
    );
}

#[test]
fn bad_boxes_name_their_axis_and_write_nothing() {
    let work = fixture_stack("u16_odd"); // 37x29x7
    let dir = work.path();
    let cases = [
        (
            Ask {
                x: r(30, 50),
                ..Ask::default()
            },
            "--x 30..50: outside the level's columns 0..37",
        ),
        (
            Ask {
                y: r(0, 30),
                ..Ask::default()
            },
            "--y 0..30: outside the level's rows 0..29",
        ),
        (
            Ask {
                z: r(2, 8),
                ..Ask::default()
            },
            "--z 2..8: outside the level's slices 0..7",
        ),
        (
            Ask {
                y: r(10, 10),
                ..Ask::default()
            },
            "--y 10..10: empty",
        ),
        (
            Ask {
                x: r(5, 3),
                ..Ask::default()
            },
            "--x 5..3: reversed",
        ),
        (
            Ask {
                z: r(7, 7),
                ..Ask::default()
            },
            "--z 7..7: empty",
        ),
    ];
    for (ask, wanted) in &cases {
        check_refused(dir, 0, ask, 2, wanted);
    }
    // At a level >= 1, against that level (18x14x4).
    let built = built("u16_odd", &[]);
    let ask = Ask {
        x: r(0, 19),
        ..Ask::default()
    };
    check_refused(
        built.path(),
        1,
        &ask,
        2,
        "--x 0..19: outside the level's columns 0..18",
    );
    let ask = Ask {
        z: r(1, 2),
        ..Ask::default()
    };
    check_refused(
        built.path(),
        3,
        &ask,
        2,
        "--z 1..2: outside the level's slices 0..1",
    );
}

/// `A..` past the end is outside the level, as typed: not "reversed" with an end the user
/// never gave.
#[test]
fn an_open_range_starting_past_the_end_is_outside() {
    let work = fixture_stack("u16_odd"); // 37x29x7
    for (ask, axis, unit) in [
        (
            Ask {
                x: from(40),
                ..Ask::default()
            },
            "--x 40..",
            "outside the level's columns 0..37",
        ),
        (
            Ask {
                z: from(8),
                ..Ask::default()
            },
            "--z 8..",
            "outside the level's slices 0..7",
        ),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let o = crop(work.path(), 0, &ask, &tmp.path().join("o"), &["--quiet"]);
        let err = stderr_of(&o);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(
            err.contains(axis) && err.contains(unit),
            "{axis}: {err:?} should name {axis:?} and say {unit:?}"
        );
    }
}

#[test]
fn missing_levels_name_the_level() {
    let work = fixture_stack("u16_odd");
    let all = Ask::default();
    check_refused(work.path(), 1, &all, 2, "--level 1: no pyramid in");
    let built = built("u16_odd", &[]);
    check_refused(built.path(), 4, &all, 2, "--level 4: the pyramid in ");
    check_refused(built.path(), 4, &all, 2, "has levels 1 to 3");
    // A level file gone: the pyramid is incomplete, crop does not read it.
    std::fs::remove_file(built.path().join(".thumbnail/2/000001.tif")).unwrap();
    check_refused(built.path(), 2, &all, 2, "--level 2: ");
    check_refused(built.path(), 2, &all, 2, "incomplete");
}

/// A slice of another size inside the box's slices is refused with exit 1, naming the file,
/// with no file left (those of the slices before it removed); a box of the slices before it
/// is cropped.
#[test]
fn a_slice_of_another_size_in_the_box_is_refused_leaving_nothing() {
    let work = copy_fixture(&fixtures().join("bad").join("mismatched_size"));
    let dir = work.path();
    let reference = volume_of(
        (0..2)
            .flat_map(|k| tiff_slices(&dir.join(format!("s_rec{k:08}.tif"))))
            .collect(),
        "mismatched_size 0..2",
    );
    check_crop(
        dir,
        0,
        &reference,
        &Ask {
            z: r(0, 2),
            ..Ask::default()
        },
        &[],
    );
    for ask in [
        Ask::default(),
        Ask {
            z: r(2, 3),
            y: r(0, 5),
            ..Ask::default()
        },
    ] {
        check_refused(dir, 0, &ask, 1, "s_rec00000002.tif");
    }
    // One multi-page file, or a store: nothing either.
    for extra in [["--layout", "stack"], ["--format", "ome-zarr"]] {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        let o = crop(
            dir,
            0,
            &Ask::default(),
            &out,
            &[&["--quiet"], &extra[..]].concat(),
        );
        assert_eq!(o.status.code(), Some(1), "{extra:?}: {}", stderr_of(&o));
        assert!(stderr_of(&o).contains("s_rec00000002.tif"), "{extra:?}");
        let left = file_names(&out);
        assert!(left.is_empty(), "{extra:?}: {left:?}");
    }
}

/// A bad box run into the folder of an earlier crop changes nothing there.
#[test]
fn a_bad_box_leaves_an_earlier_crop_alone() {
    let work = fixture_stack("u16_odd");
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let good = Ask {
        z: r(1, 4),
        ..Ask::default()
    };
    assert_ok(&crop(work.path(), 0, &good, &out, &["--quiet"]));
    let before = read_tree(&out);
    let bad = Ask {
        z: r(1, 9),
        ..Ask::default()
    };
    let o = crop(work.path(), 0, &bad, &out, &["--quiet"]);
    assert_eq!(o.status.code(), Some(2));
    let o = crop(work.path(), 1, &good, &out, &["--quiet"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(read_tree(&out), before);
}

// ---------------------------------------------------------------------------------------
// Resume, --force, JSON events

fn json_lines(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
        .collect()
}

/// The `done` line of a crop with `--progress json`.
fn done_of(out: &Output) -> Value {
    assert_ok(out);
    let lines = json_lines(out);
    let done = lines.last().unwrap().clone();
    assert_eq!(done["event"], "done", "{done}");
    assert_eq!(done["job"], "crop", "{done}");
    done
}

/// Each file's inode number, the file kept alive by a hard link in `pin` so that no file
/// written later can be given the same number: a rewritten file is told by a new number.
#[cfg(unix)]
fn inodes(dir: &Path, pin: &Path) -> BTreeMap<String, u64> {
    use std::os::unix::fs::MetadataExt;
    let pin = pin.join(format!(
        "{}",
        std::fs::read_dir(pin).map_or(0, |d| d.count())
    ));
    std::fs::create_dir_all(&pin).unwrap();
    file_names(dir)
        .into_iter()
        .map(|n| {
            std::fs::hard_link(dir.join(&n), pin.join(&n)).unwrap();
            let ino = std::fs::metadata(dir.join(&n)).unwrap().ino();
            (n, ino)
        })
        .collect()
}

#[cfg(not(unix))]
fn inodes(dir: &Path, _pin: &Path) -> BTreeMap<String, u64> {
    file_names(dir).into_iter().map(|n| (n, 0)).collect()
}

#[test]
fn a_rerun_rewrites_only_what_is_missing_and_force_rewrites_all() {
    let work = fixture_stack("u16_multistrip"); // 50x45x4
    let reference = level0(work.path());
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let pin = tmp.path().join("pin");
    let ask = Ask {
        x: r(3, 47),
        y: r(6, 20),
        ..Ask::default()
    };
    let json = ["--progress", "json"];
    let done = done_of(&crop(work.path(), 0, &ask, &out, &json));
    assert_eq!(
        (&done["files_written"], &done["files_kept"]),
        (&4.into(), &0.into())
    );
    let first = read_tree(&out);
    let ino = inodes(&out, &pin);

    // Everything complete: nothing written.
    let done = done_of(&crop(work.path(), 0, &ask, &out, &json));
    assert_eq!(
        (&done["files_written"], &done["files_kept"]),
        (&0.into(), &4.into())
    );
    assert_eq!(done["slices_read"], 0);
    assert_eq!(inodes(&out, &pin), ino);

    // One file gone: it alone is written again, the same bytes.
    std::fs::remove_file(out.join("s_rec00000002.tif")).unwrap();
    let o = crop(work.path(), 0, &ask, &out, &json);
    let done = done_of(&o);
    assert_eq!(
        (&done["files_written"], &done["files_kept"]),
        (&1.into(), &3.into())
    );
    assert_eq!(done["slices_read"], 1);
    let plan = &json_lines(&o)[0];
    assert_eq!(
        (&plan["files_kept"], &plan["total"]),
        (&3.into(), &1.into())
    );
    assert_eq!(read_tree(&out), first);
    let now = inodes(&out, &pin);
    for (name, i) in &ino {
        if name != "s_rec00000002.tif" && name != "crop.json" {
            assert_eq!(now[name], *i, "{name} was rewritten");
        }
    }

    // A file cut short is not complete: rewritten.
    let path = out.join("s_rec00000001.tif");
    let len = std::fs::metadata(&path).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(len - 10)
        .unwrap();
    let done = done_of(&crop(work.path(), 0, &ask, &out, &json));
    assert_eq!(done["files_written"], 1);
    assert_eq!(read_tree(&out), first);

    // --force: all written again, the same bytes.
    let mut forced = json.to_vec();
    forced.push("--force");
    let done = done_of(&crop(work.path(), 0, &ask, &out, &forced));
    assert_eq!(
        (&done["files_written"], &done["files_kept"]),
        (&4.into(), &0.into())
    );
    assert_eq!(read_tree(&out), first);
    #[cfg(unix)]
    for (name, i) in inodes(&out, &pin) {
        assert_ne!(ino[&name], i, "--force kept {name}");
    }
    compare(
        &read_crop(&out),
        &reference.crop(&ask.resolve(reference.size())),
        "after the reruns",
    );
}

#[test]
fn a_stack_crop_is_one_file_kept_or_rewritten() {
    let work = fixture_stack("u16_odd");
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let ask = Ask {
        y: r(3, 9),
        z: r(2, 6),
        ..Ask::default()
    };
    let args = ["--progress", "json", "--layout", "stack"];
    let done = done_of(&crop(work.path(), 0, &ask, &out, &args));
    assert_eq!(
        (&done["files_written"], &done["files_kept"]),
        (&1.into(), &0.into())
    );
    let first = read_tree(&out);
    let done = done_of(&crop(work.path(), 0, &ask, &out, &args));
    assert_eq!(
        (&done["files_written"], &done["files_kept"]),
        (&0.into(), &1.into())
    );
    std::fs::remove_file(out.join("crop.tif")).unwrap();
    let done = done_of(&crop(work.path(), 0, &ask, &out, &args));
    assert_eq!(
        (&done["files_written"], &done["files_kept"]),
        (&1.into(), &0.into())
    );
    assert_eq!(read_tree(&out), first);
}

/// Another box into the same folder: files of the same name hold the new box (their header
/// names the box), the earlier crop's other files go, crop.json tells the new box.
#[test]
fn another_box_into_the_same_folder_replaces_the_crop() {
    let work = fixture_stack("u16_odd");
    let reference = level0(work.path());
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let first = Ask {
        z: r(0, 3),
        ..Ask::default()
    };
    assert_ok(&crop(work.path(), 0, &first, &out, &["--quiet"]));
    let second = Ask {
        x: r(4, 9),
        z: r(1, 5),
        ..Ask::default()
    };
    let done = done_of(&crop(
        work.path(),
        0,
        &second,
        &out,
        &["--progress", "json"],
    ));
    assert_eq!(done["files_written"], 4);
    compare(
        &read_crop(&out),
        &reference.crop(&second.resolve(reference.size())),
        "the second box",
    );
    // And to a stack: the slice files go.
    let o = crop(
        work.path(),
        0,
        &second,
        &out,
        &["--quiet", "--layout", "stack"],
    );
    assert_ok(&o);
    assert_eq!(file_names(&out), ["crop.json", "crop.tif"]);
}

#[test]
fn json_events_tell_the_plan_and_what_was_read() {
    let work = fixture_stack("u16_le_strip1"); // 64x48x5, one plain strip each
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let o = crop(work.path(), 0, &STRIP1_BOX, &out, &["--progress", "json"]);
    assert_ok(&o);
    let lines = json_lines(&o);
    let events: Vec<&str> = lines.iter().map(|l| l["event"].as_str().unwrap()).collect();
    assert_eq!(
        events,
        ["plan", "progress", "progress", "progress", "progress", "done"]
    );
    let (plan, done) = (&lines[0], &lines[5]);
    let box_bytes = 32 * 10 * 2 * 4;
    assert_eq!(plan["job"], "crop");
    assert_eq!(plan["level"], 0);
    assert_eq!(
        plan["box"],
        serde_json::json!({"x": [8, 40], "y": [10, 20], "z": [1, 5]})
    );
    assert_eq!(
        (&plan["total"], &plan["total_bytes"], &plan["files_kept"]),
        (&4.into(), &box_bytes.into(), &0.into())
    );
    assert_eq!(
        (
            &plan["width"],
            &plan["height"],
            &plan["slices"],
            &plan["bits"]
        ),
        (&32.into(), &10.into(), &4.into(), &16.into())
    );
    let slices: Vec<&Value> = lines[1..5].iter().map(|l| &l["slice"]).collect();
    assert_eq!(slices, [1, 2, 3, 4]);
    assert!(lines[1..5].iter().all(|p| p["level"] == 0));
    assert_eq!(done["box"], plan["box"]);
    // Plain strips: only the band of rows of the box is read from each file, from the box's
    // first pixel (row 10, column 8) to its last (row 19, column 39).
    assert_eq!(done["bytes"], box_bytes);
    assert_eq!(done["file_bytes_read"], (9 * 64 + 32) * 2 * 4);
    assert_eq!(done["file_bytes"], 64 * 48 * 2 * 4);
    assert_eq!(
        (&done["zero_copy_slices"], &done["decoded_slices"]),
        (&4.into(), &0.into())
    );
    assert_eq!(
        (&done["slices_read"], &done["files_written"]),
        (&4.into(), &4.into())
    );

    // Compressed: every file decoded whole.
    let work = fixture_stack("lzw");
    let out = tmp.path().join("lzw");
    let ask = Ask {
        z: r(1, 4),
        ..STRIP1_BOX
    };
    let done = done_of(&crop(work.path(), 0, &ask, &out, &["--progress", "json"]));
    let files: u64 = (1..4)
        .map(|k| {
            std::fs::metadata(work.path().join(format!("s_rec{k:08}.tif")))
                .unwrap()
                .len()
        })
        .sum();
    assert_eq!(done["decoded_slices"], 3, "{done}");
    assert_eq!(done["file_bytes_read"], files, "{done}");
}

const STRIP1_BOX: Ask = Ask {
    x: Some((8, Some(40))),
    y: Some((10, Some(20))),
    z: Some((1, Some(5))),
};

/// Each `progress` line counts the slices read so far and their bytes, as a build's do: the
/// last says all of them (a GUI's bar reaches the end).
#[test]
fn progress_lines_count_the_slices_done() {
    let work = fixture_stack("u16_le_strip1");
    let tmp = tempfile::tempdir().unwrap();
    for layout in ["slices", "stack"] {
        let out = tmp.path().join(layout);
        let o = crop(
            work.path(),
            0,
            &STRIP1_BOX,
            &out,
            &["--progress", "json", "--layout", layout],
        );
        assert_ok(&o);
        let lines = json_lines(&o);
        let progress: Vec<&Value> = lines.iter().filter(|l| l["event"] == "progress").collect();
        assert_eq!(progress.len(), 4, "{layout}");
        // Slices are read ahead of the files written (the write queue): each line counts at
        // least the slices its file needed, never fewer than the line before, and the last
        // all of them.
        let mut before = 0;
        for (i, p) in progress.iter().enumerate() {
            let done = p["done"].as_u64().unwrap() as usize;
            assert!(
                done > i && done >= before && done <= 4,
                "{layout}: line {i}: {p}"
            );
            assert_eq!(
                (&p["total"], &p["bytes"]),
                (&4.into(), &(640 * done).into()),
                "{p}"
            );
            before = done;
        }
        assert_eq!(before, 4, "{layout}: the last line counts every slice");
    }
}

// ---------------------------------------------------------------------------------------
// crop.json

fn close(a: &Value, b: f64) -> bool {
    a.as_f64().is_some_and(|a| (a - b).abs() < 1e-9)
}

fn assert_origin(rec: &Value, want: [f64; 3]) {
    let got = rec["origin_um"]
        .as_array()
        .unwrap_or_else(|| panic!("{rec}"));
    assert!(
        got.len() == 3 && got.iter().zip(want).all(|(g, w)| close(g, w)),
        "origin_um {got:?}, want {want:?}"
    );
}

/// XResolution and ResolutionUnit of a TIFF, read with the `tiff` crate.
fn resolution(path: &Path) -> (f64, u16) {
    use tiff::decoder::{ifd::Value as Tag, Decoder};
    use tiff::tags::Tag as T;
    let mut dec =
        Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap())).unwrap();
    let x = match dec.get_tag(T::XResolution).unwrap() {
        Tag::Rational(n, d) => f64::from(n) / f64::from(d),
        other => panic!("XResolution {other:?}"),
    };
    let unit = dec.get_tag_unsigned(T::ResolutionUnit).unwrap();
    (x, unit)
}

#[test]
fn the_record_places_the_box_in_micrometres() {
    let tmp = tempfile::tempdir().unwrap();
    // voxel_cm: 12.5 um from XResolution 800 per cm; 40x30x4.
    let work = built("voxel_cm", &[]);
    let out = tmp.path().join("cm0");
    let ask = Ask {
        x: r(3, 5),
        y: r(2, 4),
        z: r(1, 3),
    };
    assert_ok(&crop(work.path(), 0, &ask, &out, &["--quiet"]));
    let rec = record(&out);
    assert!(close(&rec["voxel_um"], 12.5), "{rec}");
    // Centres of the first voxel: z 1, y 2, x 3 voxels from the input's first.
    assert_origin(&rec, [12.5, 25.0, 37.5]);
    assert_eq!(rec["layout"], "slices");
    assert_eq!(rec["level"], 0);
    assert_eq!(
        strings(&rec["files"]),
        ["s_rec00000001.tif", "s_rec00000002.tif"]
    );
    assert!(rec["source"]
        .as_str()
        .unwrap()
        .ends_with(work.path().file_name().unwrap().to_str().unwrap()));
    // The files carry the voxel size: 800 pixels per centimetre.
    let (x, unit) = resolution(&out.join("s_rec00000001.tif"));
    assert!((x - 800.0).abs() < 1e-6 && unit == 3, "{x} per unit {unit}");

    // Level 1: 25 um voxels; voxel i covers input voxels 2i, 2i+1, centred at 2i + 0.5.
    let out = tmp.path().join("cm1");
    let ask = Ask {
        x: r(1, 4),
        y: r(0, 2),
        z: r(1, 2),
    };
    assert_ok(&crop(
        work.path(),
        1,
        &ask,
        &out,
        &["--quiet", "--layout", "stack"],
    ));
    let rec = record(&out);
    assert!(close(&rec["voxel_um"], 25.0), "{rec}");
    assert_origin(&rec, [12.5 * 2.5, 12.5 * 0.5, 12.5 * 2.5]);
    assert_eq!(rec["layout"], "stack");
    assert_eq!(strings(&rec["files"]), ["crop.tif"]);

    // skyscan_log: Pixel Size (um)=12.5 from the log, no --voxel-size; z counts the
    // selected sections (10..17) from 0.
    let work = fixture_stack("skyscan_log");
    let out = tmp.path().join("log");
    let ask = Ask {
        x: r(4, 10),
        y: r(1, 17),
        z: r(2, 5),
    };
    assert_ok(&crop(work.path(), 0, &ask, &out, &["--quiet"]));
    let rec = record(&out);
    assert!(close(&rec["voxel_um"], 12.5), "{rec}");
    assert_origin(&rec, [25.0, 12.5, 50.0]);
    assert_eq!(rec["dtype"], "uint8");
    assert_eq!(
        strings(&rec["files"]),
        [
            "CO-1__rec00000012.tif",
            "CO-1__rec00000013.tif",
            "CO-1__rec00000014.tif"
        ]
    );

    // No voxel size known: null, and no origin.
    let work = fixture_stack("u16_odd");
    let out = tmp.path().join("none");
    assert_ok(&crop(work.path(), 0, &Ask::default(), &out, &["--quiet"]));
    let rec = record(&out);
    assert!(
        rec["voxel_um"].is_null() && rec["origin_um"].is_null(),
        "{rec}"
    );
    assert_eq!(rec["dtype"], "uint16");
}

// ---------------------------------------------------------------------------------------
// Selection, changed inputs, the folder written to

/// The selection flags are build's: a folder with a gap is refused naming the missing file,
/// and cropped with `--skip-missing` (level 0 named after the files present; level 1 from the
/// pyramid built with the same flag, against its expected level).
#[test]
fn selection_flags_select_as_build_does() {
    let work = copy_fixture(&fixtures().join("bad").join("nolog_gap"));
    let dir = work.path();
    let z = Ask {
        z: r(2, 4),
        ..Ask::default()
    };
    check_refused(dir, 0, &z, 1, "sample_rec0003.tif: missing");
    let reference = level0(dir); // sample_rec0000, 0001, 0002, 0004, 0005
    check_crop(dir, 0, &reference, &z, &["--skip-missing"]);
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    assert_ok(&crop(dir, 0, &z, &out, &["--skip-missing", "--quiet"]));
    assert_eq!(
        strings(&record(&out)["files"]),
        ["sample_rec0002.tif", "sample_rec0004.tif"]
    );
    assert!(record(&out)["selection"].as_str().is_some());
    let o = ctpyramid(&[
        "build",
        s(dir),
        "--min-size",
        "8",
        "--skip-missing",
        "--quiet",
    ]);
    assert_ok(&o);
    let reference = expected_level("nolog_gap", 1);
    for ask in boxes(reference.size()) {
        check_crop(dir, 1, &reference, &ask, &["--skip-missing"]);
    }
}

/// A slice changed since an earlier crop: the rerun reads the inputs as they are now (every
/// file's header names the inputs it was cut from).
#[test]
fn a_rerun_after_an_input_changed_crops_the_new_pixels() {
    let work = fixture_stack("u16_odd");
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let ask = Ask {
        x: r(2, 30),
        y: r(20, 29),
        ..Ask::default()
    };
    assert_ok(&crop(work.path(), 0, &ask, &out, &["--quiet"]));
    let slices = work.path();
    replace_file(
        &slices.join("s_rec00000005.tif"),
        &slices.join("s_rec00000001.tif"),
    );
    let done = done_of(&crop(work.path(), 0, &ask, &out, &["--progress", "json"]));
    assert_eq!(done["files_kept"], 0, "{done}");
    let reference = level0(work.path());
    compare(
        &read_crop(&out),
        &reference.crop(&ask.resolve(reference.size())),
        "after the input changed",
    );
    // The pyramid built before the change is out of date: its levels are not read.
    let built = built("u16_odd", &[]);
    replace_file(
        &built.path().join("s_rec00000005.tif"),
        &built.path().join("s_rec00000001.tif"),
    );
    check_refused(built.path(), 1, &Ask::default(), 2, "out of date");
}

/// Replaces `to` by a copy of `from` with a modification time of its own. Windows' copy keeps
/// the source's time, and fixture files of one size can share it: the copy would look unchanged.
fn replace_file(from: &Path, to: &Path) {
    std::fs::copy(from, to).unwrap();
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(3600);
    let file = std::fs::File::options().write(true).open(to).unwrap();
    file.set_modified(later).unwrap();
}

/// The folder written to is never the folder read: a crop of level 0 into the input folder
/// would replace each input slice by its crop (the files are named after them), a crop of a
/// level into the level's folder its files. Refused naming --out, every file left as it was.
#[test]
fn the_crop_never_writes_over_what_it_reads() {
    let built = built("u16_odd", &[]);
    let dir = built.path();
    let before = read_tree(dir);
    let ask = Ask {
        x: r(0, 5),
        y: r(0, 5),
        ..Ask::default()
    };
    for (level, out) in [
        (0, dir.to_path_buf()),
        (1, dir.join(".thumbnail").join("1")),
    ] {
        let o = crop(dir, level, &ask, &out, &["--quiet"]);
        let err = stderr_of(&o);
        let changed: Vec<String> = read_tree(dir)
            .into_iter()
            .filter(|(name, bytes)| before.get(name) != Some(bytes))
            .map(|(name, _)| name)
            .collect();
        assert!(
            changed.is_empty(),
            "crop --level {level} --out {}: exit {:?}, changed {changed:?}",
            out.display(),
            o.status.code()
        );
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.contains("--out"), "{err}");
    }
}
