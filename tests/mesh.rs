//! `ctpyramid mesh` (issue 24) against PyMCubes itself: every case of
//! fixtures/mesh/manifest.txt (the triangles `mcubes.marching_cubes` makes of the box of the
//! level, oriented, degenerate and NaN ones left out; see fixtures/mesh/README.md) is meshed
//! into .ply, .stl and .obj, each read back by a parser of this file; levels >= 1 from a TIFF
//! pyramid and an OME-Zarr store built here first. Then what goes wrong: bad requests, outputs
//! that cannot be written, a damaged slice, Ctrl-C; and `--progress json`.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::*;
use serde_json::Value;

type Point = [f32; 3];
type Tri = [Point; 3];

// ---------------------------------------------------------------------------------------
// The cases

fn mesh_fixtures() -> PathBuf {
    fixtures().join("mesh")
}

/// One line of fixtures/mesh/manifest.txt.
#[derive(Clone, Debug)]
struct Case {
    name: String,
    /// The stack, relative to fixtures/: a folder, or one multi-page file.
    stack: String,
    level: usize,
    /// `--x`, `--y`, `--z` as given, or None for the whole level.
    region: Option<[String; 3]>,
    iso: String,
    units: String,
    expected: PathBuf,
    triangles: usize,
    points: usize,
    min_gap: f64,
    closure: String,
}

impl Case {
    /// The position tolerance: 1e-3 of the level's voxel.
    fn tolerance(&self) -> f32 {
        match self.units.as_str() {
            "um" => 1e-3 * voxel_um(self) as f32 * (1 << self.level) as f32,
            _ => 1e-3,
        }
    }

    /// The stack's name (its folder's).
    fn stack_name(&self) -> &str {
        let folder = self.stack.strip_suffix("/stack.tif").unwrap_or(&self.stack);
        folder.rsplit('/').next().unwrap()
    }

    /// The folder of the stack's files, and the file itself for a multi-page stack.
    fn stack_folder(&self) -> (PathBuf, Option<&str>) {
        match self.stack.strip_suffix("/stack.tif") {
            Some(folder) => (fixtures().join(folder), Some("stack.tif")),
            None => (fixtures().join(&self.stack), None),
        }
    }

    /// The numpy reference pyramid of the stack: fixtures/expected/<name> for the stacks of
    /// fixtures/stacks, fixtures/mesh/levels/<name> for the mesh fixtures' own.
    fn reference_pyramid(&self) -> PathBuf {
        match self.stack.starts_with("stacks/") {
            true => fixtures().join("expected").join(self.stack_name()),
            false => mesh_fixtures().join("levels").join(self.stack_name()),
        }
    }
}

/// The voxel size the mesh fixtures' stacks with one carry (ImageJ spacing).
fn voxel_um(case: &Case) -> f64 {
    match case.stack_name() {
        "voxel_ball_u16" => 2.5,
        other => panic!("{other}: no voxel size known"),
    }
}

fn cases() -> Vec<Case> {
    let path = mesh_fixtures().join("manifest.txt");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(f.len(), 14, "{line}");
            let region = (f[3] != "all").then(|| {
                let axes: Vec<String> = f[3].split(',').map(String::from).collect();
                [axes[0].clone(), axes[1].clone(), axes[2].clone()]
            });
            Case {
                name: f[0].into(),
                stack: f[1].into(),
                level: f[2].parse().unwrap(),
                region,
                iso: f[4].into(),
                units: f[5].into(),
                expected: mesh_fixtures().join(f[6]),
                triangles: f[7].parse().unwrap(),
                points: f[8].parse().unwrap(),
                min_gap: f[9].parse().unwrap(),
                closure: f[13].into(),
            }
        })
        .collect()
}

fn case(name: &str) -> Case {
    cases()
        .into_iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no case {name} in fixtures/mesh/manifest.txt"))
}

/// PyMCubes's triangles of a case: little-endian float32 [n][3][3].
fn read_expected(case: &Case) -> Vec<Tri> {
    let bytes = std::fs::read(&case.expected)
        .unwrap_or_else(|e| panic!("{}: {e}", case.expected.display()));
    assert_eq!(bytes.len() % 36, 0, "{}", case.expected.display());
    let tris: Vec<Tri> = bytes.chunks_exact(36).map(tri_of).collect();
    assert_eq!(tris.len(), case.triangles, "{}: count", case.name);
    tris
}

fn f32_at(b: &[u8], at: usize) -> f32 {
    f32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

/// Nine little-endian floats as a triangle.
fn tri_of(b: &[u8]) -> Tri {
    std::array::from_fn(|c| std::array::from_fn(|k| f32_at(b, 12 * c + 4 * k)))
}

// ---------------------------------------------------------------------------------------
// Mesh files, parsed here

/// A mesh with shared vertices, as PLY and OBJ hold it.
#[derive(Debug, PartialEq)]
struct Mesh {
    vertices: Vec<Point>,
    faces: Vec<[u32; 3]>,
    comments: Vec<String>,
}

impl Mesh {
    fn triangles(&self) -> Vec<Tri> {
        self.faces
            .iter()
            .map(|f| f.map(|i| self.vertices[i as usize]))
            .collect()
    }
}

/// Binary little-endian PLY as ctpyramid promises it: float x y z vertices, faces as a uchar
/// count (3) and uint32 indices, nothing else.
fn parse_ply(bytes: &[u8], what: &str) -> Mesh {
    const END: &[u8] = b"end_header\n";
    let end = bytes
        .windows(END.len())
        .position(|w| w == END)
        .unwrap_or_else(|| panic!("{what}: no end_header"))
        + END.len();
    let head = std::str::from_utf8(&bytes[..end]).expect("an ASCII header");
    let mut lines = head.lines();
    assert_eq!(lines.next(), Some("ply"), "{what}: {head}");
    assert_eq!(
        lines.next(),
        Some("format binary_little_endian 1.0"),
        "{what}: {head}"
    );
    let mut comments = Vec::new();
    let mut rest = Vec::new();
    for line in lines {
        match line.strip_prefix("comment ") {
            Some(c) => comments.push(c.to_string()),
            None => rest.push(line),
        }
    }
    let count = |line: &str, element: &str| -> usize {
        line.strip_prefix(&format!("element {element} "))
            .unwrap_or_else(|| panic!("{what}: {line:?} in {head}"))
            .parse()
            .unwrap()
    };
    assert_eq!(rest.len(), 7, "{what}: {head}");
    let nv = count(rest[0], "vertex");
    assert_eq!(
        rest[1..4],
        ["property float x", "property float y", "property float z"],
        "{what}"
    );
    let nf = count(rest[4], "face");
    assert!(
        ["uint", "uint32"]
            .map(|t| format!("property list uchar {t} vertex_indices"))
            .contains(&rest[5].to_string()),
        "{what}: {}",
        rest[5]
    );
    assert_eq!(rest[6], "end_header", "{what}");
    let body = &bytes[end..];
    assert_eq!(body.len(), 12 * nv + 13 * nf, "{what}: body size");
    let vertices = (0..nv)
        .map(|i| std::array::from_fn(|k| f32_at(body, 12 * i + 4 * k)))
        .collect();
    let faces = (0..nf)
        .map(|i| {
            let at = 12 * nv + 13 * i;
            assert_eq!(body[at], 3, "{what}: face {i} is not a triangle");
            std::array::from_fn(|k| u32_at(body, at + 1 + 4 * k))
        })
        .collect();
    Mesh {
        vertices,
        faces,
        comments,
    }
}

/// Binary STL: the 80-byte header, then each triangle's normal and corners.
fn parse_stl(bytes: &[u8], what: &str) -> (String, Vec<(Point, Tri)>) {
    assert!(bytes.len() >= 84, "{what}: {} bytes", bytes.len());
    assert!(
        !bytes.starts_with(b"solid"),
        "{what}: a binary STL header must not start with `solid`"
    );
    let n = u32_at(bytes, 80) as usize;
    assert_eq!(bytes.len(), 84 + 50 * n, "{what}: size for {n} triangles");
    let facets = (0..n)
        .map(|i| {
            let at = 84 + 50 * i;
            let normal = std::array::from_fn(|k| f32_at(bytes, at + 4 * k));
            assert_eq!(&bytes[at + 48..at + 50], [0, 0], "{what}: attribute bytes");
            (normal, tri_of(&bytes[at + 12..at + 48]))
        })
        .collect();
    (String::from_utf8_lossy(&bytes[..80]).into_owned(), facets)
}

/// Wavefront OBJ text: `# ...` comments, `v x y z`, `f a b c` (from 1), nothing else.
fn parse_obj(text: &str, what: &str) -> Mesh {
    let mut mesh = Mesh {
        vertices: Vec::new(),
        faces: Vec::new(),
        comments: Vec::new(),
    };
    for line in text.lines() {
        let mut words = line.split_whitespace();
        match words.next() {
            Some("#") | None => {
                let c = line.trim_start_matches('#').trim();
                mesh.comments.push(c.to_string());
            }
            Some("v") => {
                let v: Vec<f32> = words.map(|w| w.parse().unwrap()).collect();
                assert_eq!(v.len(), 3, "{what}: {line}");
                mesh.vertices.push([v[0], v[1], v[2]]);
            }
            Some("f") => {
                let f: Vec<u32> = words.map(|w| w.parse().unwrap()).collect();
                assert_eq!(f.len(), 3, "{what}: {line}");
                assert!(f.iter().all(|&i| i >= 1), "{what}: {line}");
                mesh.faces.push([f[0] - 1, f[1] - 1, f[2] - 1]);
            }
            Some(other) if other.starts_with('#') => {
                mesh.comments.push(line[1..].trim().to_string());
            }
            Some(_) => panic!("{what}: unexpected line {line:?}"),
        }
    }
    mesh
}

// ---------------------------------------------------------------------------------------
// Comparisons

fn sub(p: Point, q: Point) -> [f64; 3] {
    std::array::from_fn(|k| f64::from(p[k]) - f64::from(q[k]))
}

fn cross(u: [f64; 3], v: [f64; 3]) -> [f64; 3] {
    [
        u[1] * v[2] - u[2] * v[1],
        u[2] * v[0] - u[0] * v[2],
        u[0] * v[1] - u[1] * v[0],
    ]
}

fn norm(v: [f64; 3]) -> f64 {
    (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt()
}

fn centroid(t: &Tri) -> [f64; 3] {
    std::array::from_fn(|k| t.iter().map(|p| f64::from(p[k])).sum::<f64>() / 3.0)
}

fn cell(p: [f64; 3], size: f64) -> [i64; 3] {
    p.map(|c| (c / size).floor() as i64)
}

/// The 27 cells around (and with) `c`.
fn around(c: [i64; 3]) -> impl Iterator<Item = [i64; 3]> {
    (0..27).map(move |i| [c[0] + i % 3 - 1, c[1] + i / 3 % 3 - 1, c[2] + i / 9 - 1])
}

fn close(a: &Tri, b: &Tri, tol: f32) -> bool {
    a.iter()
        .zip(b)
        .all(|(p, q)| p.iter().zip(q).all(|(x, y)| (x - y).abs() <= tol))
}

/// `got` equals `want` as a multiset of oriented triangles: each of `want` matched by one of
/// `got` whose corners, in one of the three cyclic rotations (a reversed triangle does not
/// match), are within `tol`; none of `got` left over. Err says what differs.
fn compare_oriented(got: &[Tri], want: &[Tri], tol: f32) -> Result<(), String> {
    let size = f64::from(tol).max(0.01) * 2.0;
    let mut cells: HashMap<[i64; 3], Vec<usize>> = HashMap::new();
    for (i, t) in want.iter().enumerate() {
        cells.entry(cell(centroid(t), size)).or_default().push(i);
    }
    let mut used = vec![false; want.len()];
    let mut extra = Vec::new();
    for t in got {
        let rotations = [[t[0], t[1], t[2]], [t[1], t[2], t[0]], [t[2], t[0], t[1]]];
        let found = around(cell(centroid(t), size)).find_map(|c| {
            cells
                .get(&c)?
                .iter()
                .copied()
                .find(|&i| !used[i] && rotations.iter().any(|r| close(r, &want[i], tol)))
        });
        match found {
            Some(i) => used[i] = true,
            None => extra.push(*t),
        }
    }
    let missing: Vec<&Tri> = want
        .iter()
        .zip(&used)
        .filter(|(_, u)| !**u)
        .map(|(t, _)| t)
        .collect();
    if extra.is_empty() && missing.is_empty() {
        return Ok(());
    }
    let mut message = format!(
        "{} triangles, {} expected: {} not expected, {} missing",
        got.len(),
        want.len(),
        extra.len(),
        missing.len()
    );
    for t in extra.iter().take(6) {
        message += &format!("\n  not expected: {t:?}");
    }
    for t in missing.iter().take(6) {
        message += &format!("\n  missing:      {t:?}");
    }
    Err(message)
}

/// Pairs of vertices closer than `gap` to each other.
fn near_pairs(vertices: &[Point], gap: f64) -> Vec<(usize, usize)> {
    let size = gap.max(1e-3);
    let mut cells: HashMap<[i64; 3], Vec<usize>> = HashMap::new();
    for (i, v) in vertices.iter().enumerate() {
        cells
            .entry(cell(v.map(f64::from), size))
            .or_default()
            .push(i);
    }
    let mut pairs = Vec::new();
    for (i, v) in vertices.iter().enumerate() {
        for c in around(cell(v.map(f64::from), size)) {
            for &j in cells.get(&c).into_iter().flatten() {
                if j > i && norm(sub(*v, vertices[j])) < gap {
                    pairs.push((i, j));
                }
            }
        }
    }
    pairs
}

/// Directed edges of the faces, with how many times each appears.
fn directed_edges(faces: &[[u32; 3]]) -> HashMap<(u32, u32), usize> {
    let mut edges = HashMap::new();
    for &[a, b, c] in faces {
        for e in [(a, b), (b, c), (c, a)] {
            *edges.entry(e).or_insert(0) += 1;
        }
    }
    edges
}

/// The signed volume the faces enclose (positive when they face out).
fn signed_volume(mesh: &Mesh) -> f64 {
    mesh.triangles()
        .iter()
        .map(|[a, b, c]| {
            let [a, b, c] = [a, b, c].map(|p| p.map(f64::from));
            (a[0] * (b[1] * c[2] - b[2] * c[1]) - a[1] * (b[0] * c[2] - b[2] * c[0])
                + a[2] * (b[0] * c[1] - b[1] * c[0]))
                / 6.0
        })
        .sum()
}

/// Every check of a PLY mesh against its case.
fn check_mesh(case: &Case, mesh: &Mesh, want: &[Tri], what: &str) {
    let n = mesh.vertices.len();
    assert!(
        mesh.vertices.iter().flatten().all(|c| c.is_finite()),
        "{what}: a coordinate is not finite"
    );
    let mut used = vec![false; n];
    for (i, f) in mesh.faces.iter().enumerate() {
        assert!(
            f.iter().all(|&v| (v as usize) < n),
            "{what}: face {i} {f:?} of {n} vertices"
        );
        assert!(
            f[0] != f[1] && f[1] != f[2] && f[2] != f[0],
            "{what}: face {i} {f:?} has a vertex twice"
        );
        for &v in f {
            used[v as usize] = true;
        }
    }
    if let Some(v) = used.iter().position(|u| !u) {
        panic!(
            "{what}: vertex {v} {:?} is in no triangle",
            mesh.vertices[v]
        );
    }
    compare_oriented(&mesh.triangles(), want, case.tolerance())
        .unwrap_or_else(|e| panic!("{what}: against PyMCubes: {e}"));
    // One vertex per point: as many as PyMCubes's distinct positions, none two at one place
    // (when PyMCubes's points are themselves apart: f32_strips has some closer than float32
    // tells apart).
    if case.min_gap >= 1e-5 {
        let pairs = near_pairs(&mesh.vertices, 1e-6);
        let shown: Vec<_> = pairs
            .iter()
            .take(4)
            .map(|&(i, j)| (i, j, mesh.vertices[i], mesh.vertices[j]))
            .collect();
        assert!(
            pairs.is_empty(),
            "{what}: {} pairs of vertices within 1e-6 of each other: {shown:?}",
            pairs.len()
        );
    }
    assert_eq!(
        n, case.points,
        "{what}: vertices, one per distinct PyMCubes position"
    );
    let edges = directed_edges(&mesh.faces);
    match case.closure.as_str() {
        "closed" => {
            for (&(a, b), &k) in &edges {
                assert_eq!(k, 1, "{what}: edge {a}->{b} in {k} triangles");
                assert_eq!(
                    edges.get(&(b, a)),
                    Some(&1),
                    "{what}: edge {a}->{b} has no reverse: not closed or not consistently wound"
                );
            }
        }
        "balanced" => {
            for (&(a, b), &k) in &edges {
                assert_eq!(edges.get(&(b, a)), Some(&k), "{what}: edge {a}->{b}");
            }
        }
        _ => {}
    }
    if case.closure != "open" {
        let volume = signed_volume(mesh);
        assert!(volume > 0.0, "{what}: the faces face in (volume {volume})");
    }
}

/// The STL holds the PLY's triangles, in its order, with unit normals by the right-hand rule.
fn check_stl(stl: &[u8], ply: &Mesh, what: &str) {
    let (_, facets) = parse_stl(stl, what);
    let triangles = ply.triangles();
    assert_eq!(facets.len(), triangles.len(), "{what}: triangles");
    for (i, ((normal, t), p)) in facets.iter().zip(&triangles).enumerate() {
        assert_eq!(t, p, "{what}: triangle {i}: STL and PLY differ");
        let n = cross(sub(t[1], t[0]), sub(t[2], t[0]));
        let len = norm(n);
        let normal = normal.map(f64::from);
        if len > 1e-9 {
            let dot = (0..3).map(|k| normal[k] * n[k] / len).sum::<f64>();
            assert!(
                (norm(normal) - 1.0).abs() < 1e-4 && dot > 0.9999,
                "{what}: triangle {i} {t:?}: normal {normal:?}, right-hand rule {n:?}"
            );
        } else {
            // No area (corners apart by less than float32 tells): zero or any unit normal.
            let l = norm(normal);
            assert!(
                l == 0.0 || (l - 1.0).abs() < 1e-4,
                "{what}: triangle {i}: {normal:?}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// Running ctpyramid

/// A copy of the case's stack in a temporary folder, and the input path to give `mesh`.
fn stack_copy(case: &Case) -> (tempfile::TempDir, PathBuf) {
    let (folder, file) = case.stack_folder();
    let work = copy_fixture(&folder);
    let input = match file {
        Some(f) => work.path().join(f),
        None => work.path().to_path_buf(),
    };
    (work, input)
}

fn mesh_args(case: &Case, input: &Path, out: &Path) -> Vec<String> {
    let mut args = vec![
        "mesh".to_string(),
        s(input).into(),
        format!("--iso={}", case.iso),
        "--out".into(),
        s(out).into(),
        "--level".into(),
        case.level.to_string(),
        "--units".into(),
        case.units.clone(),
    ];
    if let Some(region) = &case.region {
        for (flag, r) in ["--x", "--y", "--z"].iter().zip(region) {
            args.push(flag.to_string());
            args.push(r.clone());
        }
    }
    args
}

fn run(args: &[String]) -> Output {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    ctpyramid(&args)
}

/// Runs the case into `out`; checks the exit, and the warning line exactly when the mesh is
/// empty; returns the file's bytes.
fn mesh_into(case: &Case, input: &Path, out: &Path, extra: &[&str]) -> Vec<u8> {
    let mut args = mesh_args(case, input, out);
    args.extend(extra.iter().map(|a| a.to_string()));
    let o = run(&args);
    let what = format!("{} -> {}", case.name, out.display());
    assert_ok(&o);
    let stderr = stderr_of(&o);
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("warning:"))
        .collect();
    match case.triangles {
        0 => assert!(
            warnings.len() == 1 && warnings[0].contains("empty"),
            "{what}: an empty mesh warns: {stderr}"
        ),
        _ => assert!(warnings.is_empty(), "{what}: {stderr}"),
    }
    std::fs::read(out).unwrap_or_else(|e| panic!("{what}: {e}"))
}

/// The level of a built pyramid equals the reference's, pixel for pixel.
fn check_built_level(case: &Case, root: &Path) {
    let reference = case.reference_pyramid();
    let manifest = read_manifest(&reference);
    let spec = manifest
        .levels
        .iter()
        .find(|l| l.level == case.level)
        .unwrap();
    for k in 0..spec.slices {
        let file = root
            .join(case.level.to_string())
            .join(format!("{k:06}.tif"));
        let (w, h, dtype, got) = decode_tiff_typed(&file);
        assert_eq!(
            (w, h, dtype),
            (spec.width, spec.height, manifest.dtype),
            "{}",
            file.display()
        );
        let raw = reference
            .join(case.level.to_string())
            .join(format!("{k:06}.raw"));
        let want = std::fs::read(&raw).unwrap();
        assert_samples_eq(&got, &want, dtype, w, &file.display().to_string());
    }
}

/// Meshes a case every way it is read (level 0: the stack; levels >= 1: a TIFF pyramid and an
/// OME-Zarr store, built here) into .ply, .stl and .obj, and checks each.
fn check_case(name: &str) {
    let case = case(name);
    let want = read_expected(&case);
    let (work, input) = stack_copy(&case);
    let out = tempfile::tempdir().unwrap();
    let mut sources: Vec<(&str, Vec<String>)> = vec![];
    if case.level == 0 {
        sources.push(("level 0", vec![]));
    } else {
        let min = read_manifest(&case.reference_pyramid())
            .min_size
            .to_string();
        let built = ctpyramid(&["build", s(&input), "--min-size", &min, "--quiet"]);
        assert_ok(&built);
        check_built_level(&case, &work.path().join(".thumbnail"));
        sources.push(("TIFF pyramid", vec![]));
        let store = out.path().join("store.ome.zarr");
        let built = ctpyramid(&[
            "build",
            s(&input),
            "--min-size",
            &min,
            "--format",
            "ome-zarr",
            "--out",
            s(&store),
            "--quiet",
        ]);
        assert_ok(&built);
        sources.push(("OME-Zarr", vec!["--pyramid".into(), s(&store).into()]));
    }
    let mut first: Option<Mesh> = None;
    for (source, extra) in &sources {
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        let what = format!("{} ({source})", case.name);
        let ply_path = out.path().join(format!("{}.ply", case.name));
        let ply = parse_ply(&mesh_into(&case, &input, &ply_path, &extra), &what);
        check_mesh(&case, &ply, &want, &what);
        let says = match case.units.as_str() {
            "um" => "micrometres".to_string(),
            _ => format!("voxels of level {}", case.level),
        };
        assert!(
            ply.comments.iter().any(|c| c.contains(&says)),
            "{what}: the header says the units: {:?}",
            ply.comments
        );
        if let Some(first) = &first {
            assert_eq!(&ply, first, "{what}: another source, another mesh");
            continue;
        }
        let stl = mesh_into(&case, &input, &out.path().join("m.stl"), &extra);
        check_stl(&stl, &ply, &format!("{what} STL"));
        let obj = mesh_into(&case, &input, &out.path().join("m.obj"), &extra);
        let obj = parse_obj(std::str::from_utf8(&obj).unwrap(), &format!("{what} OBJ"));
        assert_eq!(obj.vertices, ply.vertices, "{what}: OBJ and PLY vertices");
        assert_eq!(obj.faces, ply.faces, "{what}: OBJ and PLY faces");
        first = Some(ply);
    }
    // Nothing but the meshes (and the store) in the output folder: no temporaries left.
    let mut names = file_names(out.path());
    names.retain(|n| n != "store.ome.zarr");
    let mut want_names = vec![format!("{}.ply", case.name), "m.obj".into(), "m.stl".into()];
    want_names.sort();
    assert_eq!(names, want_names, "{}: files left", case.name);
}

macro_rules! case_tests {
    ($($name:ident),* $(,)?) => {
        /// Every case of the manifest has its test below, and no test lacks its case.
        #[test]
        fn every_manifest_case_is_tested() {
            let mut tested = vec![$(stringify!($name)),*];
            let mut listed: Vec<String> = cases().into_iter().map(|c| c.name).collect();
            tested.sort();
            listed.sort();
            assert_eq!(tested, listed);
        }

        mod pymcubes {
            $(#[test] fn $name() { super::check_case(stringify!($name)); })*
        }
    };
}

case_tests!(
    ball_u16_l0,
    ball_u16_l0_box,
    ball_u16_l1,
    ball_u16_l1_box,
    ball_u16_l2,
    ball_u16_l0_low,
    plateaus_u8_l0,
    plateaus_u8_l0_at0,
    plateaus_u8_l1,
    torus_i16_l0,
    torus_i16_l0_box,
    torus_i16_l1,
    gyroid_f32_l0,
    gyroid_f32_l0_box,
    gyroid_f32_l1,
    nan_inf_f32_l0,
    inf_pairs_f32_l0,
    odd_faces_u16_l0,
    odd_faces_u16_l1,
    flat_u16_above,
    flat_u16_below,
    flat_u16_max,
    wide_u8_l0,
    wide_u8_l0_box,
    multipage_u16_l0,
    voxel_ball_u16_l0_um,
    voxel_ball_u16_l1_um,
    u16_odd_l0_box,
    u16_odd_l1,
    u16_odd_l2,
    i16_strips_l1,
    f32_strips_l0_box,
    f32_strips_l0_huge,
    f32_strips_l1,
    i16_strips_l0_box,
    u8_pillow_l0_box,
);

// ---------------------------------------------------------------------------------------
// Beyond the cases

/// A float32 volume decoded by the `tiff` crate: `[z][y * width + x]`.
fn f32_volume(dir: &Path) -> (usize, usize, Vec<Vec<f32>>) {
    let mut files: Vec<PathBuf> = file_names(dir)
        .into_iter()
        .filter(|n| n.ends_with(".tif"))
        .map(|n| dir.join(n))
        .collect();
    files.sort();
    let mut size = (0, 0);
    let slices = files
        .iter()
        .map(|f| {
            let (w, h, dtype, bytes) = decode_tiff_typed(f);
            assert_eq!(dtype, Dtype::F32);
            size = (w, h);
            bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
                .collect()
        })
        .collect();
    (size.0, size.1, slices)
}

/// A NaN stack gives finite coordinates only, and no triangle in a cube with a NaN corner
/// (a triangle lies in every cube that contains its three corners: none may be NaN-free).
#[test]
fn nan_stacks_give_finite_vertices_and_no_triangle_in_a_nan_cube() {
    for stack in ["stacks/f32_strips", "mesh/stacks/nan_inf_f32"] {
        let dir = fixtures().join(stack);
        let (w, h, vol) = f32_volume(&dir);
        let nan = |x: i64, y: i64, z: i64| vol[z as usize][y as usize * w + x as usize].is_nan();
        for iso in ["0", "0.5", "-1e3"] {
            let out = tempfile::tempdir().unwrap();
            let path = out.path().join("m.ply");
            let o = ctpyramid(&[
                "mesh",
                s(&dir),
                &format!("--iso={iso}"),
                "--out",
                s(&path),
                "-q",
            ]);
            assert_ok(&o);
            let mesh = parse_ply(&std::fs::read(&path).unwrap(), stack);
            assert!(!mesh.faces.is_empty(), "{stack} at {iso}: a surface");
            assert!(
                mesh.vertices.iter().flatten().all(|c| c.is_finite()),
                "{stack} at {iso}"
            );
            let limits = [w as i64 - 2, h as i64 - 2, vol.len() as i64 - 2];
            for t in mesh.triangles() {
                // The cubes holding all three corners, axis by axis.
                let span: [(i64, i64); 3] = std::array::from_fn(|k| {
                    let lo = t.iter().map(|p| p[k]).fold(f32::INFINITY, f32::min);
                    let hi = t.iter().map(|p| p[k]).fold(f32::NEG_INFINITY, f32::max);
                    (
                        (hi.ceil() as i64 - 1).max(0),
                        (lo.floor() as i64).min(limits[k]),
                    )
                });
                let mut clean = false;
                for cz in span[2].0..=span[2].1 {
                    for cy in span[1].0..=span[1].1 {
                        for cx in span[0].0..=span[0].1 {
                            let corners = (0..8).map(|m| (cx + m % 2, cy + m / 2 % 2, cz + m / 4));
                            clean |= !corners.into_iter().any(|(x, y, z)| nan(x, y, z));
                        }
                    }
                }
                assert!(
                    clean,
                    "{stack} at {iso}: triangle {t:?} is in a cube with a NaN corner"
                );
            }
        }
    }
}

/// An empty mesh is a valid file of each format, with a warning, exit 0; so is a box one
/// slice thick.
#[test]
fn empty_meshes_are_valid_files_with_a_warning() {
    let dir = fixtures().join("mesh").join("stacks").join("flat_u16");
    let out = tempfile::tempdir().unwrap();
    for (iso, extra, says) in [
        ("1000", &[][..], "at or above every sample"),
        ("50", &[], "below every sample"),
        ("120", &["--z", "2..3"], "one of slices thick"),
        ("120", &["--x", "4..5"], "one of columns thick"),
    ] {
        for ext in ["ply", "stl", "obj"] {
            let path = out.path().join(format!("e.{ext}"));
            let mut args = vec!["mesh", s(&dir), "--iso", iso, "--out", s(&path)];
            args.extend(extra);
            let o = ctpyramid(&args);
            assert_ok(&o);
            let stderr = stderr_of(&o);
            let warning = stderr.lines().find(|l| l.starts_with("warning: "));
            assert!(
                warning.is_some_and(|w| w.contains(says)),
                "{iso} {extra:?}: {stderr}"
            );
            let bytes = std::fs::read(&path).unwrap();
            match ext {
                "ply" => {
                    let m = parse_ply(&bytes, "empty");
                    assert!(m.vertices.is_empty() && m.faces.is_empty());
                }
                "stl" => assert!(parse_stl(&bytes, "empty").1.is_empty()),
                _ => {
                    let m = parse_obj(std::str::from_utf8(&bytes).unwrap(), "empty");
                    assert!(m.vertices.is_empty() && m.faces.is_empty());
                }
            }
        }
    }
    // -q: no warning, still the file.
    let path = out.path().join("q.ply");
    let o = ctpyramid(&["mesh", s(&dir), "--iso", "1000", "--out", s(&path), "-q"]);
    assert_ok(&o);
    assert!(
        o.stderr.is_empty() && o.stdout.is_empty(),
        "{}",
        stderr_of(&o)
    );
    assert!(path.is_file());
}

/// The done line's warning, and its counts for a mesh that is not empty.
#[test]
fn progress_json_plans_counts_and_reports() {
    let case = case("ball_u16_l0");
    let (_work, input) = stack_copy(&case);
    let out = tempfile::tempdir().unwrap();
    let path = out.path().join("m.ply");
    let mut args = mesh_args(&case, &input, &path);
    args.extend(["--progress", "json"].map(String::from));
    let o = run(&args);
    assert_ok(&o);
    let lines: Vec<Value> = String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    let plan = &lines[0];
    assert_eq!(plan["event"], "plan", "{plan}");
    assert_eq!(plan["job"], "mesh", "{plan}");
    assert_eq!(plan["level"], 0, "{plan}");
    assert_eq!(plan["iso"].as_f64(), Some(30000.5), "{plan}");
    assert_eq!(plan["total"], 21, "{plan}");
    let progress: Vec<&Value> = lines[1..lines.len() - 1].iter().collect();
    assert_eq!(progress.len(), 21, "one progress line a slice");
    for (k, p) in progress.iter().enumerate() {
        assert_eq!(p["event"], "progress", "{p}");
        assert_eq!(p["done"], k + 1, "{p}");
        assert_eq!(p["total"], 21, "{p}");
    }
    let done = lines.last().unwrap();
    assert_eq!(done["event"], "done", "{done}");
    assert_eq!(done["job"], "mesh", "{done}");
    assert_eq!(done["triangles"], case.triangles, "{done}");
    assert_eq!(done["vertices"], case.points, "{done}");
    assert_eq!(done["format"], "PLY", "{done}");
    assert_eq!(done["slices_read"], 21, "{done}");
    assert!(done["warning"].is_null(), "{done}");
    assert_eq!(
        done["out_bytes"].as_u64(),
        Some(std::fs::metadata(&path).unwrap().len()),
        "{done}"
    );
    // An empty one says why in its done line.
    let flat = fixtures().join("mesh").join("stacks").join("flat_u16");
    let o = ctpyramid(&[
        "mesh",
        s(&flat),
        "--iso",
        "1000",
        "--out",
        s(&path),
        "--progress",
        "json",
    ]);
    assert_ok(&o);
    let last: Value =
        serde_json::from_str(String::from_utf8(o.stdout).unwrap().lines().last().unwrap()).unwrap();
    assert_eq!(last["triangles"], 0, "{last}");
    assert!(
        last["warning"]
            .as_str()
            .is_some_and(|w| w.contains("empty")),
        "{last}"
    );
}

/// The file does not depend on the reader, the number of threads, or an earlier file.
#[test]
fn readers_threads_and_reruns_give_the_same_file() {
    let case = case("wide_u8_l0");
    let (_work, input) = stack_copy(&case);
    let out = tempfile::tempdir().unwrap();
    let path = out.path().join("m.ply");
    let reference = mesh_into(&case, &input, &path, &["--threads", "1"]);
    for extra in [
        &["--reader", "buffered"][..],
        &["--reader", "mmap", "--threads", "3"],
        &["--sync"],
    ] {
        assert!(
            mesh_into(&case, &input, &path, extra) == reference,
            "{extra:?}"
        );
    }
    // A rerun at another iso replaces the file.
    std::fs::write(&path, b"an older file").unwrap();
    let other = Case {
        iso: "60".into(),
        ..case.clone()
    };
    let o = run(&mesh_args(&other, &input, &path));
    assert_ok(&o);
    let again = std::fs::read(&path).unwrap();
    assert!(again != reference && again.starts_with(b"ply\n"));
    assert_eq!(file_names(out.path()), ["m.ply"]);
}

/// A box's mesh is where the box is: the triangles of the whole level's mesh whose cubes lie
/// in the box (centroids inside it, away from its faces) are among the box's.
#[test]
fn a_box_mesh_lies_where_the_box_is() {
    let whole = case("ball_u16_l0");
    let boxed = case("ball_u16_l0_box");
    let (_work, input) = stack_copy(&whole);
    let out = tempfile::tempdir().unwrap();
    let all = parse_ply(
        &mesh_into(&whole, &input, &out.path().join("a.ply"), &[]),
        "all",
    );
    let part = parse_ply(
        &mesh_into(&boxed, &input, &out.path().join("b.ply"), &[]),
        "box",
    );
    // Box 5..22, 9..26, 3..12: cubes 5..21, 9..25, 3..11.
    let inside = |t: &Tri| {
        let c = centroid(t);
        (5.0..21.0).contains(&c[0]) && (9.0..25.0).contains(&c[1]) && (3.0..11.0).contains(&c[2])
    };
    let want: Vec<Tri> = all.triangles().into_iter().filter(inside).collect();
    let got: Vec<Tri> = part.triangles().into_iter().filter(inside).collect();
    assert!(want.len() > 100);
    compare_oriented(&got, &want, 1e-5).unwrap();
}

// ---------------------------------------------------------------------------------------
// Requests refused, outputs that cannot be written, damaged input, Ctrl-C

/// Exit `code`, one error line (clap's hints aside) containing `names`, and nothing in `out`.
fn check_refused(o: &Output, code: i32, names: &str, out: &Path, what: &str) {
    let stderr = stderr_of(o);
    assert_eq!(o.status.code(), Some(code), "{what}: {stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.contains("error")).collect();
    assert_eq!(errors.len(), 1, "{what}: one error line: {stderr}");
    // clap lists a missing argument on the line after its error line.
    let said = match errors[0].ends_with("not provided:") {
        true => stderr.clone(),
        false => errors[0].to_string(),
    };
    assert!(
        said.to_lowercase().contains(&names.to_lowercase()),
        "{what}: names {names:?}: {stderr}"
    );
    assert_eq!(
        file_names(out),
        Vec::<String>::new(),
        "{what}: nothing written"
    );
}

#[test]
fn bad_requests_are_refused_by_name_writing_nothing() {
    let work = copy_fixture(&fixtures().join("mesh").join("stacks").join("ball_u16"));
    let dir = s(work.path());
    let out = tempfile::tempdir().unwrap();
    let ply = out.path().join("m.ply");
    let ply = s(&ply);
    let xyz = out.path().join("m.xyz");
    let bare = out.path().join("mesh");
    for (args, names) in [
        (vec!["--out", ply], "--iso"),
        (vec!["--iso", "abc", "--out", ply], "abc"),
        (vec!["--iso", "nan", "--out", ply], "nan"),
        (vec!["--iso", "NaN", "--out", ply], "nan"),
        (vec!["--iso", "1", "--out", s(&xyz)], "m.xyz"),
        (vec!["--iso", "1", "--out", s(&bare)], s(&bare)),
        (
            vec!["--iso", "1", "--out", ply, "--x", "0..100"],
            "--x 0..100",
        ),
        (
            vec!["--iso", "1", "--out", ply, "--y", "26..27"],
            "--y 26..27",
        ),
        (vec!["--iso", "1", "--out", ply, "--x", "5..5"], "--x 5..5"),
        (vec!["--iso", "1", "--out", ply, "--z", "9..3"], "--z"),
        (vec!["--iso", "1", "--out", ply, "--z", "abc"], "abc"),
        (
            vec!["--iso", "1", "--out", ply, "--level", "1"],
            "--level 1",
        ),
        (
            vec!["--iso", "1", "--out", ply, "--level", "9"],
            "--level 9",
        ),
        (vec!["--iso", "1", "--out", ply, "--units", "um"], "um"),
        (vec!["--iso", "1", "--out", ply, "--units", "mm"], "mm"),
    ] {
        let mut full = vec!["mesh", dir];
        full.extend(&args);
        check_refused(
            &ctpyramid(&full),
            2,
            names,
            out.path(),
            &format!("{args:?}"),
        );
    }
    assert_eq!(
        file_names(work.path()),
        file_names(&fixtures().join("mesh").join("stacks").join("ball_u16")),
        "nothing written beside the slices"
    );
    // Built: a level the pyramid lacks (ball_u16 at --min-size 8 has levels 1 and 2), and a
    // box outside a level.
    assert_ok(&ctpyramid(&["build", dir, "--min-size", "8", "--quiet"]));
    let built = read_tree(work.path());
    for (args, names) in [
        (vec!["--level", "3"], "--level 3"),
        (vec!["--level", "1", "--x", "0..16"], "--x 0..16"),
        (vec!["--level", "2", "--z", "6.."], "--z 6.."),
    ] {
        let mut full = vec!["mesh", dir, "--iso", "1", "--out", ply];
        full.extend(&args);
        check_refused(
            &ctpyramid(&full),
            2,
            names,
            out.path(),
            &format!("{args:?}"),
        );
    }
    assert!(
        read_tree(work.path()) == built,
        "the stack and its pyramid are left alone"
    );
}

#[test]
fn an_output_that_cannot_be_created_is_exit_3_leaving_nothing() {
    let dir = fixtures().join("mesh").join("stacks").join("ball_u16");
    let out = tempfile::tempdir().unwrap();
    let blocker = out.path().join("a-file");
    std::fs::write(&blocker, b"not a folder").unwrap();
    for ext in ["ply", "stl", "obj"] {
        for path in [
            out.path().join("missing").join(format!("m.{ext}")),
            blocker.join(format!("m.{ext}")),
        ] {
            let o = ctpyramid(&["mesh", s(&dir), "--iso", "30000.5", "--out", s(&path)]);
            let stderr = stderr_of(&o);
            assert_eq!(o.status.code(), Some(3), "{}: {stderr}", path.display());
            assert_eq!(stderr.lines().count(), 1, "{stderr}");
            assert!(stderr.contains(s(&path)), "names the file: {stderr}");
            assert_eq!(file_names(out.path()), ["a-file"], "{}", path.display());
        }
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let ro = out.path().join("read-only");
        std::fs::create_dir(&ro).unwrap();
        std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
        // Root writes anyway: the case is for everyone else.
        if std::fs::write(ro.join("probe"), b"").is_err() {
            for ext in ["ply", "stl", "obj"] {
                let path = ro.join(format!("m.{ext}"));
                let o = ctpyramid(&["mesh", s(&dir), "--iso", "30000.5", "--out", s(&path)]);
                assert_eq!(o.status.code(), Some(3), "{}", stderr_of(&o));
                assert!(file_names(&ro).is_empty());
            }
        }
        std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

/// A write failing midway (a file size limit, SIGXFSZ ignored: EFBIG): exit 3, one line
/// naming the file, nothing left, neither the file nor its temporaries.
#[cfg(unix)]
#[test]
fn a_write_failing_midway_is_exit_3_leaving_nothing() {
    use std::os::unix::process::ExitStatusExt;
    use std::process::Command;
    let dir = fixtures().join("mesh").join("stacks").join("wide_u8");
    let out = tempfile::tempdir().unwrap();
    for ext in ["ply", "stl", "obj"] {
        let path = out.path().join(format!("m.{ext}"));
        let mut command = Command::new(env!("CARGO_BIN_EXE_ctpyramid"));
        command.args(["mesh", s(&dir), "--iso", "127.5", "--out", s(&path)]);
        limit_file_size(&mut command, 4000);
        let o = command.output().unwrap();
        let stderr = stderr_of(&o);
        assert_eq!(o.status.signal(), None, "{ext}: {stderr}");
        assert_eq!(o.status.code(), Some(3), "{ext}: {stderr}");
        let errors: Vec<&str> = stderr.lines().filter(|l| l.contains("error")).collect();
        assert_eq!(errors.len(), 1, "{ext}: {stderr}");
        assert!(errors[0].contains("File too large"), "{ext}: {stderr}");
        assert!(
            errors[0].contains(s(&path)),
            "{ext}: names the file: {stderr}"
        );
        assert_eq!(
            file_names(out.path()),
            Vec::<String>::new(),
            "{ext}: left behind"
        );
    }
}

/// A slice truncated in its pixels: exit 1 naming it, no mesh and no temporaries.
#[test]
fn a_damaged_slice_is_exit_1_leaving_nothing() {
    let work = copy_fixture(&fixtures().join("mesh").join("stacks").join("ball_u16"));
    let damaged = work.path().join("s_rec00000012.tif");
    let len = std::fs::metadata(&damaged).unwrap().len();
    let file = std::fs::File::options().write(true).open(&damaged).unwrap();
    file.set_len(len / 2).unwrap();
    drop(file);
    let out = tempfile::tempdir().unwrap();
    for ext in ["ply", "stl", "obj"] {
        for reader in ["mmap", "buffered"] {
            let path = out.path().join(format!("m.{ext}"));
            let o = ctpyramid(&[
                "mesh",
                s(work.path()),
                "--iso",
                "30000.5",
                "--out",
                s(&path),
                "--reader",
                reader,
            ]);
            let stderr = stderr_of(&o);
            assert_eq!(o.status.code(), Some(1), "{ext} {reader}: {stderr}");
            let errors: Vec<&str> = stderr.lines().filter(|l| l.contains("error")).collect();
            assert_eq!(errors.len(), 1, "{ext} {reader}: {stderr}");
            assert!(
                errors[0].contains("s_rec00000012.tif"),
                "{ext} {reader}: {stderr}"
            );
            assert_eq!(
                file_names(out.path()),
                Vec::<String>::new(),
                "{ext} {reader}"
            );
        }
    }
}

/// Ctrl-C in the middle of a mesh: exit 130, no file under the final name, no temporaries.
/// The progress lines fill the pipe, which is read only after the signal: the run is surely
/// mid-way when it comes.
#[cfg(unix)]
#[test]
fn ctrl_c_cancels_leaving_nothing() {
    use std::io::{BufRead, BufReader, Read};
    use std::process::{Command, Stdio};
    // 1200 slices: about 150 KB of progress lines, more than a pipe holds.
    let stack = demo_stack(1200, 32, 8);
    let out = tempfile::tempdir().unwrap();
    for ext in ["ply", "stl", "obj"] {
        let path = out.path().join(format!("m.{ext}"));
        let mut child = Command::new(env!("CARGO_BIN_EXE_ctpyramid"))
            .args([
                "mesh",
                s(stack.path()),
                "--iso",
                "9830.5",
                "--out",
                s(&path),
            ])
            .args(["--progress", "json"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut text = String::new();
        for _ in 0..5 {
            assert!(
                stdout.read_line(&mut text).unwrap() > 0,
                "early end: {text}"
            );
        }
        // SAFETY: kill(2) with the id of a child not yet waited for.
        let rc = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
        assert_eq!(rc, 0);
        stdout.read_to_string(&mut text).unwrap();
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(130), "{ext}: {status:?}: {stderr}");
        assert!(stderr.contains("cancel"), "{ext}: {stderr}");
        assert!(
            !text.contains("\"event\":\"done\""),
            "{ext}: cancelled, not done"
        );
        assert_eq!(
            file_names(out.path()),
            Vec::<String>::new(),
            "{ext}: left behind"
        );
    }
}

/// The comparison itself: a rotated triangle matches, a reversed one (facing the other way)
/// does not, nor one moved by more than the tolerance; counts matter.
#[test]
fn the_comparison_tells_orientation_and_multiplicity() {
    let t: Tri = [[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.5]];
    let rotated: Tri = [t[1], t[2], t[0]];
    let reversed: Tri = [t[0], t[2], t[1]];
    let moved: Tri = [t[0], t[1], [0.0, 1.0, 0.502]];
    let nudged: Tri = [t[0], t[1], [0.0, 1.0, 0.5009]];
    assert!(compare_oriented(&[rotated], &[t], 1e-3).is_ok());
    assert!(compare_oriented(&[nudged], &[t], 1e-3).is_ok());
    assert!(compare_oriented(&[reversed], &[t], 1e-3).is_err());
    assert!(compare_oriented(&[moved], &[t], 1e-3).is_err());
    assert!(compare_oriented(&[t, t], &[t], 1e-3).is_err());
    assert!(compare_oriented(&[t], &[t, t], 1e-3).is_err());
    assert!(compare_oriented(&[t, reversed], &[reversed, t], 1e-3).is_ok());
}
