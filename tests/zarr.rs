//! `--format ome-zarr`: the store read back with the zarrs crate (not ctpyramid's writer):
//! level 0 equals the input slices (decoded by the `tiff` crate), every level equals the TIFF
//! pyramid of the same stack, the OME-NGFF metadata; resume, kill, cancel, full disk, shards.

#![cfg(feature = "ome-zarr")]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

use common::*;
use serde_json::Value;
use zarrs::array::{Array, ArrayBytes, ArraySubset};
use zarrs::filesystem::FilesystemStore;

const BIN: &str = env!("CARGO_BIN_EXE_ctpyramid");

/// Level `level` of the store at `root`: its shape and its pixels as little-endian bytes.
fn read_level(root: &Path, level: usize) -> (Vec<u64>, Vec<u8>) {
    let store = Arc::new(FilesystemStore::new(root).unwrap());
    let array = Array::open(store, &format!("/{level}"))
        .unwrap_or_else(|e| panic!("{}: level {level}: {e}", root.display()));
    let shape = array.shape().to_vec();
    let all = ArraySubset::new_with_shape(shape.clone());
    let bytes: ArrayBytes = array.retrieve_array_subset(&all).unwrap();
    let mut bytes = bytes.into_fixed().unwrap().into_owned();
    if cfg!(target_endian = "big") && array.data_type().fixed_size() == Some(2) {
        bytes.chunks_exact_mut(2).for_each(|p| p.swap(0, 1));
    }
    (shape, bytes)
}

/// The input slices of a folder, in natural order, decoded by the `tiff` crate, stacked.
fn input_volume(dir: &Path) -> (Vec<u64>, Vec<u8>) {
    let mut names: Vec<String> = file_names(dir)
        .into_iter()
        .filter(|n| n.ends_with(".tif"))
        .collect();
    names.sort_by_key(|n| natural(n));
    let mut volume = Vec::new();
    let (mut w, mut h) = (0, 0);
    for name in &names {
        let (sw, sh, _, bytes) = decode_tiff(&dir.join(name));
        (w, h) = (sw, sh);
        volume.extend(bytes);
    }
    (vec![names.len() as u64, h as u64, w as u64], volume)
}

/// Digits compared as numbers (`s2` before `s10`), enough for the fixtures' names.
fn natural(name: &str) -> (String, u64) {
    let digits: String = name.chars().filter(|c| c.is_ascii_digit()).collect();
    let letters: String = name.chars().filter(|c| !c.is_ascii_digit()).collect();
    (letters, digits.parse().unwrap_or(0))
}

/// Level `level` of a TIFF pyramid (`<root>/<L>/<k>.tif`), decoded and stacked.
fn tiff_level(root: &Path, level: usize) -> (Vec<u64>, Vec<u8>) {
    input_volume(&root.join(level.to_string()))
}

fn build(args: &[&str]) {
    let out = ctpyramid(args);
    assert_ok(&out);
}

/// `build STACK --format ome-zarr --min-size MIN --out STORE -q`, then `extra`.
fn build_zarr(stack: &Path, store: &Path, min: &str, extra: &[&str]) {
    let mut args = vec!["build", s(stack), "--format", "ome-zarr", "--min-size", min];
    args.extend(["--out", s(store), "-q"]);
    args.extend_from_slice(extra);
    build(&args);
}

fn json_file(path: &Path) -> Value {
    let text = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&text).unwrap()
}

/// The `multiscales` entry of a store, for either NGFF version.
fn multiscale(root: &Path) -> (String, Value) {
    if root.join("zarr.json").exists() {
        let ome = json_file(&root.join("zarr.json"))["attributes"]["ome"].clone();
        let version = ome["version"].as_str().unwrap().to_string();
        (version, ome["multiscales"][0].clone())
    } else {
        let attrs = json_file(&root.join(".zattrs"));
        let m = attrs["multiscales"][0].clone();
        (m["version"].as_str().unwrap().to_string(), m)
    }
}

/// Checks the store of `stack` (levels `levels` deep) against its input and its TIFF pyramid.
fn check_store(stack: &Path, tiff: &Path, store: &Path, levels: usize) {
    let (shape, input) = input_volume(stack);
    let (got_shape, got) = read_level(store, 0);
    assert_eq!(got_shape, shape, "level 0 shape");
    assert!(got == input, "level 0 differs from the input");
    for level in 1..=levels {
        let (want_shape, want) = tiff_level(tiff, level);
        let (got_shape, got) = read_level(store, level);
        assert_eq!(got_shape, want_shape, "level {level} shape");
        assert!(got == want, "level {level} differs from the TIFF level");
    }
    assert!(
        !store.join((levels + 1).to_string()).exists(),
        "no level beyond the TIFF pyramid's"
    );
    assert!(partial_files(store).is_empty());
    for level in 0..=levels {
        check_padding(store, level);
    }
}

/// Every chunk of level `level`, decoded whole by zarrs, holds the fill value (0) wherever
/// it reaches past the array: the same bytes whatever was in memory before.
fn check_padding(root: &Path, level: usize) {
    let store = Arc::new(FilesystemStore::new(root).unwrap());
    let array = Array::open(store, &format!("/{level}")).unwrap();
    let shape = array.shape().to_vec();
    let size = array.data_type().fixed_size().unwrap();
    let grid = array.chunk_grid_shape().to_vec();
    // `n` in C order within `dims`, as `[z, y, x]`.
    let coords =
        |n: u64, dims: &[u64]| [n / (dims[1] * dims[2]), n / dims[2] % dims[1], n % dims[2]];
    for c in 0..grid.iter().product::<u64>() {
        let at = coords(c, &grid);
        let dims: Vec<u64> = array
            .chunk_shape(&at)
            .unwrap()
            .iter()
            .map(|d| d.get())
            .collect();
        let chunk: ArrayBytes = array.retrieve_chunk(&at).unwrap();
        for (n, sample) in chunk.into_fixed().unwrap().chunks_exact(size).enumerate() {
            let p = coords(n as u64, &dims);
            let inside = (0..3).all(|d| at[d] * dims[d] + p[d] < shape[d]);
            assert!(
                inside || sample.iter().all(|&b| b == 0),
                "level {level} chunk {at:?}: padding at {p:?} not zero"
            );
        }
    }
}

/// The `omero` window of the store: the range of the deepest level's pixels, as the TIFF
/// pyramid (read by the `tiff` crate) has them, within the dtype's range.
fn check_omero(store: &Path, tiff: &Path, levels: usize) {
    let omero = if store.join("zarr.json").exists() {
        json_file(&store.join("zarr.json"))["attributes"]["ome"]["omero"].clone()
    } else {
        json_file(&store.join(".zattrs"))["omero"].clone()
    };
    let (shape, bytes) = tiff_level(tiff, levels);
    let samples = shape.iter().product::<u64>() as usize;
    let values: Vec<u64> = match bytes.len() / samples {
        1 => bytes.iter().map(|&v| u64::from(v)).collect(),
        _ => bytes
            .chunks_exact(2)
            .map(|p| u64::from(u16::from_le_bytes([p[0], p[1]])))
            .collect(),
    };
    let top = if bytes.len() / samples == 1 {
        255
    } else {
        65535
    };
    let window = &omero["channels"][0]["window"];
    assert_eq!(window["min"], 0, "{omero}");
    assert_eq!(window["max"], top, "{omero}");
    assert_eq!(window["start"], *values.iter().min().unwrap(), "{omero}");
    assert_eq!(window["end"], *values.iter().max().unwrap(), "{omero}");
}

#[test]
fn levels_equal_input_and_tiff_levels() {
    // Odd sizes and odd slice counts at every level; 8-bit; the default min size.
    for (name, min, levels) in [
        ("u16_odd", 4, 3),
        ("u8_pillow", 8, 3),
        ("wide_two_levels", 500, 2),
    ] {
        let stack = fixture_stack(name);
        let work = tempfile::tempdir().unwrap();
        let tiff = work.path().join("tiff");
        let min = min.to_string();
        build(&[
            "build",
            s(stack.path()),
            "--min-size",
            &min,
            "--out",
            s(&tiff),
            "-q",
        ]);
        for (ngff, codec, chunks) in [
            ("0.4", "zstd", "2,8,16"),
            ("0.5", "zstd", "3,5,7"),
            ("0.4", "blosc-lz4", "16,256,256"),
            ("0.5", "blosc-lz4", "1,4,4"),
        ] {
            // 1,4,4 on the 1030-pixel-wide stack alone is 15k chunk files: as wide, 4 x 64
            // chunks still reach past the edge (1030 = 16 x 64 + 6).
            let chunks = match (name, chunks) {
                ("wide_two_levels", "1,4,4") => "1,4,64",
                _ => chunks,
            };
            let store = work.path().join(format!("{name}-{ngff}-{codec}.ome.zarr"));
            let options = ["--ngff", ngff, "--codec", codec, "--chunks", chunks];
            build_zarr(stack.path(), &store, &min, &options);
            check_store(stack.path(), &tiff, &store, levels);
            let (version, _) = multiscale(&store);
            assert_eq!(version, ngff);
            check_omero(&store, &tiff, levels);
        }
    }
}

#[test]
fn rows_of_mapped_and_decoded_slices_are_stored_whole() {
    // Uncompressed slices are read from their maps, compressed ones decoded into buffers:
    // chunk rows mixing both, full and partial (the last, of 7 or 5 slices), mixed from
    // their first slice or later. u16_twin, lzw and deflate have the same four slices.
    let work = tempfile::tempdir().unwrap();
    let stacks: [&[&str]; 2] = [
        &[
            "u16_twin", "u16_twin", "lzw", "u16_twin", "u16_twin", "deflate", "u16_twin",
        ],
        &["lzw", "u16_twin", "u16_twin", "deflate", "u16_twin"],
    ];
    for (n, sources) in stacks.iter().enumerate() {
        let stack = work.path().join(format!("mixed{n}"));
        std::fs::create_dir(&stack).unwrap();
        for (i, source) in sources.iter().enumerate() {
            let from = format!("s_rec{:08}.tif", i % 4);
            let from = fixtures().join("stacks").join(source).join(from);
            std::fs::copy(from, stack.join(format!("s_rec{i:08}.tif"))).unwrap();
        }
        let tiff = work.path().join(format!("tiff{n}"));
        build(&[
            "build",
            s(&stack),
            "--min-size",
            "8",
            "--out",
            s(&tiff),
            "-q",
        ]);
        for chunks in ["4,8,16", "3,5,7", "2,8,16", "1,30,40"] {
            let store = work.path().join(format!("mixed{n}-{chunks}.ome.zarr"));
            build_zarr(&stack, &store, "8", &["--chunks", chunks]);
            check_store(&stack, &tiff, &store, 3);
        }
    }
}

#[test]
fn chunk_rows_gathered_from_the_inputs_or_copied_are_stored_whole() {
    // Level 0's chunk rows are gathered from the input slices kept open, up to 64 slices
    // deep, and copied into slabs beyond (each kept slice holds a file open): both, each
    // with a full row and a partial last one (131 = 2 x 64 + 3 = 65 + 66).
    let stack = demo_stack(131, 40, 8);
    let work = tempfile::tempdir().unwrap();
    let tiff = work.path().join("tiff");
    build(&[
        "build",
        s(stack.path()),
        "--min-size",
        "8",
        "--out",
        s(&tiff),
        "-q",
    ]);
    for chunks in ["64,16,16", "65,16,16"] {
        let store = work.path().join(format!("{chunks}.ome.zarr"));
        build_zarr(stack.path(), &store, "8", &["--chunks", chunks]);
        check_store(stack.path(), &tiff, &store, 3);
    }
}

#[test]
fn default_store_is_beside_the_folder() {
    let parent = tempfile::tempdir().unwrap();
    let stack = parent.path().join("scan");
    std::fs::create_dir(&stack).unwrap();
    for name in file_names(&fixtures().join("stacks").join("u16_odd")) {
        std::fs::copy(
            fixtures().join("stacks/u16_odd").join(&name),
            stack.join(&name),
        )
        .unwrap();
    }
    build(&[
        "build",
        s(&stack),
        "--min-size",
        "4",
        "--format",
        "ome-zarr",
        "-q",
    ]);
    let store = parent.path().join("scan.ome.zarr");
    assert!(store.join(".zattrs").is_file(), "{}", store.display());
    assert!(store.join("0/.zarray").is_file());
    assert!(
        !stack.join(".thumbnail").exists(),
        "no TIFF pyramid written"
    );
}

#[test]
fn metadata_transforms_and_axes() {
    let stack = fixture_stack("u16_odd");
    let work = tempfile::tempdir().unwrap();
    for ngff in ["0.4", "0.5"] {
        let store = work.path().join(format!("{ngff}.ome.zarr"));
        build_zarr(
            stack.path(),
            &store,
            "4",
            &["--ngff", ngff, "--voxel-size", "2.5"],
        );
        let (_, m) = multiscale(&store);
        let axes = m["axes"].as_array().unwrap();
        let names: Vec<&str> = axes.iter().map(|a| a["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["z", "y", "x"]);
        for a in axes {
            assert_eq!(a["type"], "space");
            assert_eq!(a["unit"], "micrometer");
        }
        let datasets = m["datasets"].as_array().unwrap();
        assert_eq!(datasets.len(), 4, "levels 0..3");
        for (level, d) in datasets.iter().enumerate() {
            assert_eq!(d["path"], level.to_string());
            let t = d["coordinateTransformations"].as_array().unwrap();
            let factor = f64::from(1u32 << level);
            let scale = 2.5 * factor;
            let shift = 2.5 * (factor - 1.0) / 2.0;
            assert_eq!(t[0]["type"], "scale");
            assert_eq!(t[0]["scale"], serde_json::json!([scale, scale, scale]));
            assert_eq!(t[1]["type"], "translation");
            assert_eq!(
                t[1]["translation"],
                serde_json::json!([shift, shift, shift])
            );
        }
    }
    // Without a voxel size: no unit.
    let store = work.path().join("nounit.ome.zarr");
    build_zarr(stack.path(), &store, "4", &[]);
    let (_, m) = multiscale(&store);
    assert!(m["axes"][0].get("unit").is_none(), "{m}");
}

/// The demo stack (600 slices of 64x64, min 8: levels 32, 16, 8), made once by
/// `ctpyramid demo` for every test of this file, and its uninterrupted store, built once.
struct DemoStack {
    /// Each slice file's name, bytes and modification time: copies with the same times are the
    /// same inputs to ctpyramid (`source_id`), and have the same store.
    files: Vec<(String, Vec<u8>, SystemTime)>,
    reference: BTreeMap<String, Vec<u8>>,
}

fn demo_stack_once() -> &'static DemoStack {
    static STACK: OnceLock<DemoStack> = OnceLock::new();
    STACK.get_or_init(|| {
        let made = demo_stack(600, 64, 8);
        let files = file_names(made.path())
            .into_iter()
            .map(|name| {
                let path = made.path().join(&name);
                let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
                (name, std::fs::read(&path).unwrap(), modified)
            })
            .collect();
        let mut stack = DemoStack {
            files,
            reference: BTreeMap::new(),
        };
        let copy = tempfile::tempdir().unwrap();
        let (folder, store) = stack.lay(copy.path());
        let mut args = vec!["build", s(&folder), "--out", s(&store), "-q"];
        args.extend(DEMO_ARGS);
        build(&args);
        stack.reference = read_tree(&store);
        stack
    })
}

impl DemoStack {
    /// A copy of the stack as `<dir>/stack`; returns it and its store's path.
    fn lay(&self, dir: &Path) -> (PathBuf, PathBuf) {
        let folder = dir.join("stack");
        std::fs::create_dir(&folder).unwrap();
        for (name, bytes, modified) in &self.files {
            let path = folder.join(name);
            std::fs::write(&path, bytes).unwrap();
            let file = std::fs::File::options().write(true).open(&path).unwrap();
            file.set_modified(*modified).unwrap();
        }
        (folder, dir.join("stack.ome.zarr"))
    }
}

/// A copy of the demo stack of a test's own, its store beside it.
struct Demo {
    _dir: tempfile::TempDir,
    stack: PathBuf,
    store: PathBuf,
    reference: &'static BTreeMap<String, Vec<u8>>,
}

const DEMO_ARGS: [&str; 6] = [
    "--min-size",
    "8",
    "--format",
    "ome-zarr",
    "--chunks",
    "4,16,16",
];

impl Demo {
    fn new() -> Demo {
        let once = demo_stack_once();
        let dir = tempfile::tempdir().unwrap();
        let (stack, store) = once.lay(dir.path());
        Demo {
            _dir: dir,
            stack,
            store,
            reference: &once.reference,
        }
    }

    fn store(&self) -> PathBuf {
        self.store.clone()
    }

    fn command(&self) -> Command {
        let mut command = Command::new(BIN);
        command
            .args(["build", s(&self.stack), "--out", s(&self.store())])
            .args(DEMO_ARGS);
        command
    }

    /// Reruns the build to completion; returns its `--progress json` events.
    fn rerun(&self) -> Vec<Value> {
        let out = self
            .command()
            .args(["--progress", "json"])
            .output()
            .unwrap();
        assert_ok(&out);
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// Reruns to completion and checks the store is the reference, byte for byte; returns
    /// the `done` event.
    fn resume_and_compare(&self) -> Value {
        let done = self
            .rerun()
            .into_iter()
            .find(|v| v["event"] == "done")
            .expect("a done event");
        let got = read_tree(&self.store());
        let differ: Vec<&String> = got
            .keys()
            .chain(self.reference.keys())
            .filter(|k| got.get(*k) != self.reference.get(*k))
            .collect();
        assert!(differ.is_empty(), "differ from the reference: {differ:?}");
        done
    }
}

#[test]
fn resume_keeps_valid_chunks_and_is_byte_identical() {
    let demo = Demo::new();
    let store = demo.store();
    let mut command = demo.command();
    assert_ok(&command.arg("-q").output().unwrap());
    // What a killed run leaves: chunks missing, a temporary file, no group metadata.
    std::fs::remove_file(store.join("0/7/1/2")).unwrap();
    std::fs::remove_file(store.join("2/3/0/0")).unwrap();
    std::fs::remove_file(store.join(".zattrs")).unwrap();
    std::fs::write(store.join("1/5/0/.0.partial"), b"killed").unwrap();
    // A chunk damaged (not what a crash leaves, but a rerun must not keep it).
    std::fs::write(store.join("3/1/0/0"), b"garbage").unwrap();
    let done = demo.resume_and_compare();
    let kept = done["files_kept"].as_u64().unwrap();
    assert!(kept > 0, "kept nothing: {done}");
    let read = done["slices_read"].as_u64().unwrap();
    assert!(read < 600, "resume read every slice: {done}");

    // Complete: a rerun writes nothing.
    let done = demo.resume_and_compare();
    assert_eq!(done["files_written"], 0, "{done}");

    // --force rewrites everything, the same bytes.
    assert_ok(&demo.command().args(["--force", "-q"]).output().unwrap());
    demo.resume_and_compare();
}

#[test]
fn replaced_input_is_rebuilt() {
    let demo = Demo::new();
    assert_ok(&demo.command().arg("-q").output().unwrap());
    // Another stack in the same folder names: every chunk of the old store is stale.
    let first = file_names(&demo.stack)[0].clone();
    let mut bytes = std::fs::read(demo.stack.join(&first)).unwrap();
    let n = bytes.len();
    bytes[n - 1] ^= 0xff;
    std::fs::write(demo.stack.join(&first), bytes).unwrap();
    let out = demo
        .command()
        .args(["--progress", "json"])
        .output()
        .unwrap();
    assert_ok(&out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let plan: Value = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
    assert_eq!(plan["kept"], 0, "{plan}");
    assert_eq!(plan["stale"], true, "{plan}");
    let (_, level0) = read_level(&demo.store(), 0);
    let (_, input) = input_volume(&demo.stack);
    assert!(level0 == input);
}

#[cfg(unix)]
fn send(child: &std::process::Child, signal: i32) {
    // SAFETY: kill(2) with the id of a child not yet waited for (so not reused).
    let rc = unsafe { libc::kill(child.id() as libc::pid_t, signal) };
    assert_eq!(rc, 0, "kill: {}", std::io::Error::last_os_error());
}

/// Starts a build, waits for `lines` progress lines, sends `signal`, and returns its status
/// and stderr.
#[cfg(unix)]
fn interrupt(demo: &Demo, lines: usize, signal: i32) -> (std::process::ExitStatus, String) {
    use std::io::{BufRead, BufReader, Read};
    let mut child = demo
        .command()
        .args(["--progress", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    for _ in 0..lines {
        assert!(
            stdout.read_line(&mut line).unwrap() > 0,
            "early end: {line}"
        );
    }
    send(&child, signal);
    let _ = stdout.read_to_string(&mut line);
    let mut stderr = String::new();
    let _ = child.stderr.take().unwrap().read_to_string(&mut stderr);
    (child.wait().unwrap(), stderr)
}

#[cfg(unix)]
#[test]
fn kill_then_resume_is_byte_identical() {
    use std::os::unix::process::ExitStatusExt;
    let demo = Demo::new();
    for lines in [3, 40, 200] {
        let (status, _) = interrupt(&demo, lines, libc::SIGKILL);
        assert!(
            status.signal() == Some(libc::SIGKILL) || status.success(),
            "{status:?}"
        );
        // The group metadata is the mark of a complete store: absent after a kill.
        if !status.success() {
            assert!(!demo.store().join(".zattrs").exists());
        }
        demo.resume_and_compare();
        std::fs::remove_dir_all(demo.store()).unwrap();
    }
}

#[cfg(unix)]
#[test]
fn sigint_cancels_cleanly_and_resume_completes() {
    let demo = Demo::new();
    let (status, stderr) = interrupt(&demo, 20, libc::SIGINT);
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("cancelled"), "{stderr}");
    assert!(
        partial_files(&demo.store()).is_empty(),
        "temporary files left"
    );
    assert!(!demo.store().join(".zattrs").exists(), "marked complete");
    demo.resume_and_compare();
}

#[cfg(target_os = "linux")]
#[test]
fn full_disk_is_one_line_and_exit_3() {
    let copy = tempfile::tempdir().unwrap();
    let (stack, _) = demo_stack_once().lay(copy.path());
    let mount_point = tempfile::tempdir().unwrap();
    let Some(_tmpfs) = Tmpfs::mount(mount_point.path(), "300k") else {
        return;
    };
    let store = mount_point.path().join("s.ome.zarr");
    let mut args = vec!["build", s(&stack), "--out", s(&store), "-q"];
    args.extend(DEMO_ARGS);
    // Uncompressible enough: the phantom's chunks still fill 300 kB long before the end.
    let out = ctpyramid(&args);
    let stderr = stderr_of(&out);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one error line: {stderr}");
    assert!(lines[0].starts_with("ctpyramid: error: "), "{stderr}");
    assert!(
        lines[0].contains(s(&store)),
        "names a file of the store: {stderr}"
    );
    assert!(lines[0].contains("No space left"), "{stderr}");
    assert!(
        partial_files(&store).is_empty(),
        "{:?}",
        partial_files(&store)
    );
    assert!(!store.join(".zattrs").exists());
}

#[test]
fn shards_build_one_store() {
    let demo = Demo::new();
    // 3 levels, chunk depth 4: shards align to 32 slices.
    let mut args = vec!["plan", s(&demo.stack), "--shards", "3"];
    args.extend(DEMO_ARGS);
    let out = ctpyramid(&args);
    assert_ok(&out);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("multiples of 32 (chunk depth 4 x 2^3 levels)"),
        "{text}"
    );
    let ranges: Vec<String> = text
        .lines()
        .filter_map(|l| l.split("--slices ").nth(1))
        .filter(|r| r.contains(".."))
        .map(|r| r.trim().to_string())
        .take(3)
        .collect();
    assert_eq!(ranges, ["0..192", "192..384", "384..600"], "{text}");
    assert!(text.contains("'--format' 'ome-zarr'"), "{text}");
    let children: Vec<_> = ranges
        .iter()
        .map(|r| {
            demo.command()
                .args(["--slices", r, "-q"])
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        assert_ok(&child.wait_with_output().unwrap());
    }
    demo.resume_and_compare();

    // A misaligned shard is refused with the aligned range.
    let out = demo
        .command()
        .args(["--slices", "8..40", "-q"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_of(&out).contains("use 0..64"), "{}", stderr_of(&out));
}

/// The chunk files of a store, counted on disk: every file but the metadata (`.zarray`,
/// `.zattrs`, `.zgroup`, `zarr.json`) and temporary files.
fn chunk_files(store: &Path) -> usize {
    read_tree(store)
        .keys()
        .filter(|k| {
            let name = k.rsplit(['/', '\\']).next().unwrap_or(k);
            !name.starts_with('.') && name != "zarr.json"
        })
        .count()
}

/// Every level's slice count, read from the store's arrays.
fn store_slices(store: &Path, levels: usize) -> u64 {
    (0..=levels).map(|l| read_level(store, l).0[0]).sum()
}

/// The build's options, but those `extra` gives another value.
fn demo_args_but(extra: &[&str]) -> Vec<&'static str> {
    DEMO_ARGS
        .chunks(2)
        .filter(|pair| !extra.contains(&pair[0]))
        .flatten()
        .copied()
        .collect()
}

impl Demo {
    /// `inspect --json` of the store with the build's options (and `extra`): its `pyramid`,
    /// after checking it changed nothing in the store.
    fn inspect(&self, extra: &[&str]) -> Value {
        let before = read_tree(&self.store());
        let store = self.store();
        let mut args = vec!["inspect", s(&self.stack), "--out", s(&store)];
        args.extend(demo_args_but(extra));
        args.extend_from_slice(extra);
        args.push("--json");
        let out = ctpyramid(&args);
        assert_ok(&out);
        assert!(read_tree(&self.store()) == before, "inspect wrote");
        let json: Value = serde_json::from_slice(&out.stdout).unwrap();
        json["pyramid"].clone()
    }

    /// The text line `pyramid: ...` of `inspect`.
    fn inspect_text(&self, extra: &[&str]) -> String {
        let store = self.store();
        let mut args = vec!["inspect", s(&self.stack), "--out", s(&store)];
        args.extend(demo_args_but(extra));
        args.extend_from_slice(extra);
        let out = ctpyramid(&args);
        assert_ok(&out);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let line = text
            .lines()
            .find(|l| l.trim_start().starts_with("pyramid:"));
        line.unwrap_or_else(|| panic!("no pyramid line: {text}"))
            .to_string()
    }

    /// Reruns the build, and checks its plan is what `inspect` said it would do: the `plan`
    /// and `done` events, and the progress events in between.
    fn rerun_as_inspected(&self, pyramid: &Value) -> (Value, Value) {
        let events = self.rerun();
        let plan = events[0].clone();
        let done = events.last().unwrap().clone();
        assert_eq!(plan["event"], "plan");
        assert_eq!(done["event"], "done");
        assert_eq!(plan["files_kept"], pyramid["kept"]["files"], "{plan}");
        assert_eq!(plan["slices_kept"], pyramid["kept"]["slices"], "{plan}");
        assert_eq!(
            plan["files_to_write"], pyramid["to_write"]["files"],
            "{plan}"
        );
        assert_eq!(
            plan["slices_to_write"], pyramid["to_write"]["slices"],
            "{plan}"
        );
        assert_eq!(plan["total"], pyramid["to_read"], "{plan}");
        let progress = events.iter().filter(|e| e["event"] == "progress").count();
        assert_eq!(
            plan["slices_to_write"], progress,
            "one progress event a slice"
        );
        assert_eq!(done["files_written"], plan["files_to_write"], "{done}");
        assert_eq!(done["slices_written"], plan["slices_to_write"], "{done}");
        (plan, done)
    }
}

#[test]
fn counts_say_what_they_count() {
    let demo = Demo::new();
    let store = demo.store();
    let levels = 3;
    let (plan, done) = demo.rerun_as_inspected(&demo.inspect(&[]));
    // A fresh store: every chunk file on disk was written, and every slice of every level
    // (level 0 too) reported.
    let chunks = chunk_files(&store) as u64;
    let slices = store_slices(&store, levels);
    assert_eq!(done["files_written"], chunks, "{done}");
    assert_eq!(done["slices_written"], slices, "{done}");
    assert_eq!(plan["kept"], 0, "{plan}");
    assert_eq!(plan["format"], "ome-zarr", "{plan}");
    assert_eq!(plan["store"]["ngff"], "0.4", "{plan}");
    assert_eq!(plan["store"]["codec"], "zstd", "{plan}");
    assert_eq!(
        plan["store"]["chunks"],
        serde_json::json!([4, 16, 16]),
        "{plan}"
    );
    assert_eq!(plan["store"]["path"], s(&store), "{plan}");
    // Complete: everything kept, counted the same ways; `kept` is `files_kept`.
    let (plan, done) = demo.rerun_as_inspected(&demo.inspect(&[]));
    assert_eq!(plan["kept"], chunks, "{plan}");
    assert_eq!(done["files_kept"], chunks, "{done}");
    assert_eq!(done["slices_kept"], slices, "{done}");
    assert_eq!(done["files_written"], 0, "{done}");
}

#[test]
fn inspect_follows_the_store() {
    let demo = Demo::new();
    let store = demo.store();
    let pyramid = demo.inspect(&[]);
    assert_eq!(pyramid["state"], "none", "{pyramid}");
    assert!(demo.inspect_text(&[]).contains("pyramid: none yet"));
    demo.rerun_as_inspected(&pyramid);

    let pyramid = demo.inspect(&[]);
    assert_eq!(pyramid["state"], "complete", "{pyramid}");
    assert_eq!(pyramid["kept"]["files"], chunk_files(&store), "{pyramid}");
    assert_eq!(pyramid["to_write"]["files"], 0, "{pyramid}");
    assert_eq!(pyramid["ngff"], "0.4", "{pyramid}");
    let text = demo.inspect_text(&[]);
    assert!(text.contains("pyramid: complete in"), "{text}");

    // Other options than the store's: out of date.
    for other in [
        &["--codec", "blosc-lz4"][..],
        &["--ngff", "0.5"],
        &["--chunks", "8,16,16"],
        &["--voxel-size", "2.5"],
    ] {
        let pyramid = demo.inspect(other);
        assert_eq!(pyramid["state"], "stale", "{other:?}: {pyramid}");
        let text = demo.inspect_text(other);
        assert!(text.contains("out of date"), "{other:?}: {text}");
    }

    // A chunk deleted under complete metadata: its chunk row (4 slices of level 1, 2 x 2
    // chunks of 16 x 16 in its 32 x 32 slices) is recomputed; nothing else.
    std::fs::remove_file(store.join("1/5/1/0")).unwrap();
    let pyramid = demo.inspect(&[]);
    assert_eq!(pyramid["state"], "incomplete", "{pyramid}");
    assert_eq!(pyramid["metadata"], "current", "{pyramid}");
    assert_eq!(pyramid["to_write"]["files"], 4, "{pyramid}");
    assert_eq!(pyramid["to_write"]["slices"], 4, "{pyramid}");
    let level1 = &pyramid["levels"][1];
    assert_eq!(level1["level"], 1);
    assert_eq!(level1["slices"], 300);
    assert_eq!(level1["complete"], 296, "{pyramid}");
    // Level 1 slices 20..24 come from input slices 40..48.
    assert_eq!(pyramid["to_read"], 8, "{pyramid}");
    let text = demo.inspect_text(&[]);
    assert!(text.contains("incomplete"), "{text}");
    assert!(text.contains("computes 4 chunk files (4 slices)"), "{text}");
    demo.rerun_as_inspected(&pyramid);
    assert!(store.join("1/5/1/0").is_file());
    assert_eq!(demo.inspect(&[])["state"], "complete");
    demo.resume_and_compare();

    // Inputs replaced since: out of date, nothing kept.
    let first = file_names(&demo.stack)[0].clone();
    let path = demo.stack.join(&first);
    let mut bytes = std::fs::read(&path).unwrap();
    let n = bytes.len();
    bytes[n - 1] ^= 0xff;
    std::fs::write(&path, bytes).unwrap();
    let pyramid = demo.inspect(&[]);
    assert_eq!(pyramid["state"], "stale", "{pyramid}");
    assert_eq!(pyramid["kept"]["files"], 0, "{pyramid}");
    assert_eq!(pyramid["to_read"], 600, "{pyramid}");
    demo.rerun_as_inspected(&pyramid);
}

#[cfg(unix)]
#[test]
fn inspect_after_a_kill_says_what_a_rerun_computes() {
    let demo = Demo::new();
    let (status, _) = interrupt(&demo, 100, libc::SIGKILL);
    let pyramid = demo.inspect(&[]);
    if status.success() {
        assert_eq!(pyramid["state"], "complete", "{pyramid}");
        return;
    }
    assert_eq!(pyramid["state"], "incomplete", "{pyramid}");
    assert_eq!(pyramid["metadata"], "absent", "{pyramid}");
    let kept = pyramid["kept"]["files"].as_u64().unwrap();
    assert!(kept > 0, "{pyramid}");
    // What is kept is what is on disk (chunks of complete rows; a killed row's chunks are
    // rewritten, so at most one row a level beyond them).
    assert!(kept as usize <= chunk_files(&demo.store()), "{pyramid}");
    demo.rerun_as_inspected(&pyramid);
    demo.resume_and_compare();
}
