"""ctpyramid.mesh: the surface of a box of a level at an iso value, against PyMCubes itself,
with trimesh and meshio reading the files back, and the CLI's `ctpyramid mesh`. Expected
triangles never come from ctpyramid.

The contract (docs/python.md): `mcubes.marching_cubes(box as float64, iso)` gives vertices
(z, y, x) and triangles; ours are (x, y, z), its columns reversed plus the box's origin, and
each triangle is its triangle with the corners in reversed order (facing outward in x, y, z).
Compared as a multiset of oriented triangles (a rotation of the corners is the same triangle,
a reversal is not), positions within 1e-3, after merging PyMCubes's vertices at one position
and dropping its triangles with two corners at one point. A cube with a NaN corner gives no
triangle (PyMCubes would give NaN vertices)."""
import itertools
import os
import threading
import time
import warnings
from pathlib import Path

import mcubes
import meshio
import numpy as np
import pytest
import trimesh

import ctpyramid
from stacks import interrupt_midway, json_lines, reference, write_stack

SHAPE = (13, 17, 19)  # slices, rows, columns: odd
CENTRE = (6.2, 8.3, 9.1)  # off the grid


def distance(shape, centre):
    n, h, w = shape
    z, y, x = np.mgrid[0:n, 0:h, 0:w].astype(np.float64)
    return np.sqrt((z - centre[0]) ** 2 + (y - centre[1]) ** 2 + (x - centre[2]) ** 2)


def ball(dtype, shape=SHAPE, centre=CENTRE):
    """A closed ball clear of the faces: samples falling with the distance from `centre`,
    the iso (second) at a distance of 5. Integers rounded, uint8's to tens: its iso 100 is
    the value of every sample from 4.75 to 5.25 away."""
    d = distance(shape, centre)
    top, step, iso = {
        "uint8": (200.0, 20.0, 100),
        "uint16": (60000.0, 5000.0, 35000.5),
        "int16": (20000.0, 6000.0, -10000.0),
        "float32": (1.0, 0.25, -0.25),
    }[np.dtype(dtype).name]
    values = top - step * d
    if np.dtype(dtype) == np.uint8:
        values = np.rint(values / 10) * 10
    if np.dtype(dtype).kind in "ui":
        info = np.iinfo(dtype)
        values = np.clip(np.rint(values), info.min, info.max)
    return values.astype(dtype), iso


def merged(v, f, origin):
    """PyMCubes's (v, f) in our frame: (x, y, z) plus `origin`, corners reversed, vertices
    at one position merged, triangles with two corners at one point dropped. Returns the
    positions, the triangles (indices into them) and how many were dropped."""
    # Rounded to 1e-6: PyMCubes on separate cubes places a vertex of an edge they share
    # within an ulp or two, not always exactly.
    v = np.round(v[:, ::-1] + np.asarray(origin, np.float64), 6)
    f = f[:, ::-1].astype(np.int64)
    if len(f) == 0:
        return np.zeros((0, 3)), np.zeros((0, 3), np.int64), 0
    positions, inverse = np.unique(v, axis=0, return_inverse=True)
    f = inverse.reshape(-1)[f]
    keep = (f[:, 0] != f[:, 1]) & (f[:, 1] != f[:, 2]) & (f[:, 2] != f[:, 0])
    return positions, f[keep], int((~keep).sum())


def pymcubes(volume, iso, origin=(0, 0, 0)):
    """The expected surface of `volume` (z, y, x) at `iso`: PyMCubes on the whole array."""
    v, f = mcubes.marching_cubes(np.asarray(volume, np.float64), float(iso))
    return merged(v, f, origin)


def pymcubes_per_cube(volume, iso):
    """The expected surface of `volume` with NaN samples: PyMCubes on each 2x2x2 cube alone,
    but for the cubes with a NaN corner, which give nothing."""
    volume = np.asarray(volume, np.float64)
    n, h, w = volume.shape
    vs, fs, count = [], [], 0
    for k, j, i in itertools.product(range(n - 1), range(h - 1), range(w - 1)):
        cube = volume[k:k + 2, j:j + 2, i:i + 2]
        if np.isnan(cube).any() or (cube > iso).all() or not (cube > iso).any():
            continue
        v, f = mcubes.marching_cubes(cube, float(iso))
        vs.append(v + (k, j, i))
        fs.append(f.astype(np.int64) + count)
        count += len(v)
    if not fs:
        return merged(np.zeros((0, 3)), np.zeros((0, 3), np.int64), (0, 0, 0))
    return merged(np.concatenate(vs), np.concatenate(fs), (0, 0, 0))


def nearest(a, b):
    """For each point of `a`, the index of the nearest point of `b` and its distance."""
    index, dist = np.empty(len(a), np.int64), np.empty(len(a))
    for s in range(0, len(a), 256):
        d = np.linalg.norm(a[s:s + 256, None, :] - b[None, :, :], axis=2)
        index[s:s + 256], dist[s:s + 256] = d.argmin(axis=1), d.min(axis=1)
    return index, dist


def canonical(t):
    """Triangles (index triples) each rotated to start at its smallest index (a rotation
    keeps the orientation, a reversal would not), then sorted: a multiset, comparable."""
    t = np.asarray(t, np.int64)
    if len(t) == 0:
        return t.reshape(0, 3)
    first = np.argmin(t, axis=1)
    t = t[np.arange(len(t))[:, None], (first[:, None] + np.arange(3)) % 3]
    return t[np.lexsort(t.T[::-1])]


def assert_arrays(vertices, faces):
    assert isinstance(vertices, np.ndarray) and isinstance(faces, np.ndarray)
    assert vertices.dtype == np.float32 and vertices.ndim == 2 and vertices.shape[1] == 3
    assert faces.dtype == np.uint32 and faces.ndim == 2 and faces.shape[1] == 3
    assert vertices.flags.c_contiguous and faces.flags.c_contiguous
    assert vertices.dtype.isnative and faces.dtype.isnative
    assert vertices.flags.writeable and faces.flags.writeable
    if len(faces):
        assert faces.max() < len(vertices)


def assert_pymcubes(vertices, faces, want):
    """Our (vertices, faces) are PyMCubes's triangles `want` (from `merged`): each vertex
    used within 1e-3 of one of its positions, one to one; the same oriented triangles."""
    assert_arrays(vertices, faces)
    positions, triangles, _ = want
    assert len(faces) == len(triangles)
    if len(faces) == 0:
        return
    used = np.unique(faces)
    match, dist = nearest(vertices[used].astype(np.float64), positions)
    assert dist.max() < 1e-3, dist.max()
    assert len(np.unique(match)) == len(used), "two of our vertices at one point"
    mapping = np.full(len(vertices), -1, np.int64)
    mapping[used] = match
    np.testing.assert_array_equal(canonical(mapping[faces]), canonical(triangles))


def assert_closed(vertices, faces):
    m = trimesh.Trimesh(vertices, faces, process=False)
    assert m.is_watertight and m.is_winding_consistent
    assert m.volume > 0, "faces point inward"
    return m


def mesh(*args, **kwargs):
    """ctpyramid.mesh with its events: (result, events)."""
    events = []
    result = ctpyramid.mesh(*args, progress=events.append, **kwargs)
    return result, events


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "int16", "float32"])
def test_a_ball_is_pymcubes_closed_and_facing_out(tmp_path, dtype):
    volume, iso = ball(dtype)
    write_stack(tmp_path / "s", volume)
    (vertices, faces), events = mesh(tmp_path / "s", iso)
    want = pymcubes(volume, iso)
    assert_pymcubes(vertices, faces, want)
    m = assert_closed(vertices, faces)
    # About a ball of radius 5 (the iso's distance), facets inside the sphere.
    assert 0.8 * (4 / 3 * np.pi * 125) < m.volume < 4 / 3 * np.pi * 125
    done = events[-1]
    assert done["event"] == "done" and done["job"] == "mesh" and done["dtype"] == dtype
    assert (done["triangles"], done["vertices"]) == (len(faces), len(vertices))
    assert done["degenerate_dropped"] == want[2]
    assert done["nan_samples"] == 0 and done["warning"] is None and done["out"] is None
    assert done["iso"] == iso and done["units"] == "voxel"


def test_an_integer_iso_on_samples_equal_to_it(tmp_path):
    # uint8, iso 100, which hundreds of samples equal: they are outside; the edges meeting
    # at one such sample share its vertex, and PyMCubes's triangles collapsed there go.
    volume, iso = ball("uint8")
    assert (volume == iso).sum() > 50
    write_stack(tmp_path / "s", volume)
    (vertices, faces), events = mesh(tmp_path / "s", iso)
    want = pymcubes(volume, iso)
    assert want[2] > 0, "the case where PyMCubes makes degenerate triangles"
    assert_pymcubes(vertices, faces, want)
    assert_closed(vertices, faces)
    assert events[-1]["degenerate_dropped"] == want[2]
    # A vertex on every sample equal to the iso that a surface passes through.
    on_samples = vertices[(vertices == np.round(vertices)).all(axis=1)]
    assert len(on_samples) > 0
    for x, y, z in on_samples.astype(int):
        assert volume[z, y, x] == iso


def smooth(shape, dtype, seed):
    """A field with several surfaces touching every face of the volume."""
    rng = np.random.default_rng(seed)
    n, h, w = shape
    z, y, x = np.mgrid[0:n, 0:h, 0:w].astype(np.float64)
    a, b, c = rng.uniform(0.3, 0.9, 3)
    values = 1000 + 600 * np.sin(a * x + 0.4 * y) * np.cos(b * y - 0.3 * z) + 300 * np.sin(c * z)
    return np.rint(values).astype(dtype)


def test_boxes_and_surfaces_touching_the_faces(tmp_path):
    volume = smooth((11, 23, 17), np.uint16, seed=1)
    iso = 1000.5
    write_stack(tmp_path / "s", volume)
    n, h, w = volume.shape
    boxes = [
        (None, None, None),
        ((3, 14), (2, None), (1, 9)),
        ((0, 2), None, None),                 # two columns
        ((w - 5, None), (h - 2, None), None),  # the last corner
        ((1, w - 1), (1, h - 1), (n - 3, n)),
        ("4..11", "0..7", "2.."),
    ]
    for x, y, z in boxes:
        def span(r, size):
            if r is None:
                return 0, size
            if isinstance(r, str):
                a, b = r.split("..")
                return int(a), int(b) if b else size
            return r[0], size if r[1] is None else r[1]
        (x0, x1), (y0, y1), (z0, z1) = span(x, w), span(y, h), span(z, n)
        (vertices, faces), events = mesh(tmp_path / "s", iso, x=x, y=y, z=z)
        want = pymcubes(volume[z0:z1, y0:y1, x0:x1], iso, origin=(x0, y0, z0))
        assert len(want[1]) > 0, (x, y, z)
        assert_pymcubes(vertices, faces, want)
        assert events[0]["box"] == {"x": [x0, x1], "y": [y0, y1], "z": [z0, z1]}
        assert events[-1]["box"] == events[0]["box"]
    # Options as read's: the reader, threads and the five selection arguments.
    # Level 0 is the slices selected: s_rec00000002.tif is its slice 0.
    got = ctpyramid.mesh(tmp_path / "s", iso, x=(3, 14), z=(1, None), reader="buffered",
                         threads=1, prefix="s_rec", ext="tif", first=2, last=7, index_length=8)
    assert_pymcubes(*got, pymcubes(volume[3:8, :, 3:14], iso, origin=(3, 0, 1)))


def test_level_1_after_build_and_micrometres(tmp_path):
    # A ball of radius 8 at level 0, about 4 at level 1 (11 x 13 x 12).
    volume, _ = ball("uint16", shape=(21, 27, 25), centre=(10.1, 13.2, 12.3))
    iso = 20000.5
    src = tmp_path / "s"
    write_stack(src, volume)
    ctpyramid.build(src, min_size=4, voxel_size=2.5)
    level1 = reference(volume, min_size=4)[0]
    assert level1.shape == (11, 13, 12)
    vertices, faces = ctpyramid.mesh(src, iso, level=1)
    assert_pymcubes(vertices, faces, pymcubes(level1, iso))
    assert_closed(vertices, faces)
    boxed = ctpyramid.mesh(src, iso, level=1, x=(5, None), y=(2, 9), z=(1, 8))
    assert_pymcubes(*boxed, pymcubes(level1[1:8, 2:9, 5:], iso, origin=(5, 2, 1)))
    # Micrometres: a level-1 voxel i covers input voxels 2i, 2i+1, its centre at
    # 2.5 * (2i + 0.5) from the centre of the input's first voxel.
    um, um_faces = ctpyramid.mesh(src, iso, level=1, units="um")
    np.testing.assert_array_equal(um_faces, faces)
    np.testing.assert_allclose(um, vertices.astype(np.float64) * 5.0 + 1.25, rtol=1e-6,
                               atol=1e-4)
    done = ctpyramid.mesh(src, iso, level=1, units="um", out=tmp_path / "um.ply")
    assert done["units"] == "um" and done["voxel_um"] == 5.0 and done["level"] == 1


def test_nan_cubes_make_no_triangle(tmp_path):
    volume, iso = ball("float32", shape=(9, 12, 11), centre=(4.1, 5.7, 5.2))
    # The per-cube reference is PyMCubes's own triangles where there is no NaN.
    whole, per_cube = pymcubes(volume, iso), pymcubes_per_cube(volume, iso)
    assert_pymcubes(per_cube[0].astype(np.float32), per_cube[1].astype(np.uint32), whole)
    rng = np.random.default_rng(5)
    nan = rng.random(volume.shape) < 0.03
    nan[4, 5, 1:10] = True  # a row through the surface
    volume[nan] = np.nan
    write_stack(tmp_path / "s", volume)
    (vertices, faces), events = mesh(tmp_path / "s", iso)
    want = pymcubes_per_cube(volume, iso)
    assert 0 < len(want[1]) < len(whole[1])
    assert_pymcubes(vertices, faces, want)
    assert np.isfinite(vertices).all()
    assert events[-1]["nan_samples"] == int(nan.sum())
    # Every sample NaN: an empty mesh, and why.
    write_stack(tmp_path / "n", np.full((3, 4, 5), np.nan, np.float32))
    with pytest.warns(RuntimeWarning, match="every sample of the box is NaN"):
        vertices, faces = ctpyramid.mesh(tmp_path / "n", 0.0)
    assert vertices.shape == (0, 3) and faces.shape == (0, 3)


def test_an_empty_mesh_is_valid_and_warns(tmp_path):
    volume, _ = ball("uint16")
    write_stack(tmp_path / "s", volume)
    top = int(volume.max())
    with pytest.warns(RuntimeWarning, match=f"iso {top} is at or above every sample") as seen:
        vertices, faces = ctpyramid.mesh(tmp_path / "s", top)
    assert seen[0].filename == __file__, "the warning points at the caller's line"
    assert_arrays(vertices, faces)
    assert vertices.shape == (0, 3) and faces.shape == (0, 3)
    assert len(pymcubes(volume, top)[1]) == 0
    with pytest.warns(RuntimeWarning, match="below every sample"):
        summary = ctpyramid.mesh(tmp_path / "s", -1, out=tmp_path / "e.ply")
    assert summary["triangles"] == 0 and summary["warning"].startswith("iso -1")
    empty = meshio.read(tmp_path / "e.ply")
    assert len(empty.points) == 0 and sum(len(c.data) for c in empty.cells) == 0
    with pytest.warns(RuntimeWarning, match="one of slices thick"):
        vertices, faces = ctpyramid.mesh(tmp_path / "s", 30000.5, z=(6, 7))
    assert faces.shape == (0, 3)
    # A mesh with triangles warns nothing.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ctpyramid.mesh(tmp_path / "s", 30000.5)


def corners(vertices, faces):
    """Each triangle's three corner positions, in order, as float32."""
    return np.asarray(vertices, np.float32)[np.asarray(faces)]


@pytest.mark.parametrize("ext", ["ply", "stl", "obj"])
def test_the_files_are_the_arrays_and_the_clis(tmp_path, cli, ext):
    volume, iso = ball("int16")
    src = tmp_path / "s"
    write_stack(src, volume)
    box = dict(x=(2, 17), y=(1, None), z=(1, 13))
    vertices, faces = ctpyramid.mesh(src, iso, **box)
    out = tmp_path / f"m.{ext.upper() if ext == 'stl' else ext}"
    summary, events = mesh(src, iso, **box, out=str(out), sync=True)
    assert summary == events[-1]
    assert summary["out"] == str(out) and summary["format"] == ext.upper()
    assert summary["out_bytes"] == out.stat().st_size
    assert (summary["triangles"], summary["vertices"]) == (len(faces), len(vertices))
    assert events[0]["out"] == str(out) and events[0]["format"] == ext.upper()
    assert sorted(os.listdir(tmp_path)) == sorted(["s", out.name]), "no temporary file left"
    want = corners(vertices, faces)
    # trimesh, keeping the file's vertices and faces as they are.
    m = trimesh.load(out, process=False, force="mesh")
    np.testing.assert_array_equal(corners(m.vertices, m.faces), want)
    if ext != "stl":  # STL has no shared vertices
        np.testing.assert_array_equal(np.asarray(m.vertices, np.float32), vertices)
        np.testing.assert_array_equal(m.faces, faces)
    if ext == "stl":  # its facet normals point out, as the winding does
        normals = np.cross(want[:, 1] - want[:, 0], want[:, 2] - want[:, 0])
        normals /= np.linalg.norm(normals, axis=1, keepdims=True)
        assert (np.einsum("ij,ij->i", normals, m.face_normals) > 0.99).all()
    merged_corners = trimesh.Trimesh(m.vertices, m.faces)  # STL's corners merged
    assert merged_corners.is_watertight and merged_corners.is_winding_consistent
    assert merged_corners.volume > 0
    # meshio.
    read = meshio.read(out)
    triangles = np.concatenate([c.data for c in read.cells if c.type == "triangle"])
    assert len(triangles) == len(faces)
    np.testing.assert_array_equal(corners(read.points, triangles), want)
    # The CLI writes the same file, byte for byte, with the same events.
    lines = json_lines(cli("mesh", src, "--iso", iso, "--x", "2..17", "--y", "1..", "--z",
                           "1..13", "--out", tmp_path / f"cli.{ext}", "--progress",
                           "json").stdout)
    assert (tmp_path / f"cli.{ext}").read_bytes() == out.read_bytes()
    def stable(event):
        return {k: v for k, v in event.items() if k not in ("elapsed", "eta", "out")}

    assert [stable(e) for e in events] == [stable(e) for e in lines]
    assert [list(e) for e in events] == [list(e) for e in lines]


def test_progress_events(tmp_path):
    volume, iso = ball("uint8")
    write_stack(tmp_path / "s", volume)
    (vertices, faces), events = mesh(tmp_path / "s", iso, z=(2, 12), threads=2)
    plan, *progress, done = events
    assert plan["event"] == "plan" and plan["job"] == "mesh" and plan["total"] == 10
    assert plan["box"] == {"x": [0, 19], "y": [0, 17], "z": [2, 12]}
    assert (plan["width"], plan["height"], plan["slices"], plan["bits"]) == (19, 17, 10, 8)
    assert plan["iso"] == 100 and plan["units"] == "voxel" and plan["out"] is None
    assert [e["event"] for e in progress] == ["progress"] * 10
    assert [e["slice"] for e in progress] == list(range(2, 12))
    assert [e["done"] for e in progress] == list(range(1, 11))
    assert done["slices_read"] == 10 and done["bytes"] == 10 * 17 * 19
    assert done["triangles"] == len(faces) > 0


def test_cancel_leaves_no_file(tmp_path, slow_stack):
    folder, _ = slow_stack
    seen = []

    def cancel(event):
        seen.append(event["event"])
        return False if event["event"] == "progress" else None

    out = tmp_path / "m.ply"
    with pytest.raises(ctpyramid.Cancelled, match="the mesh stopped"):
        ctpyramid.mesh(folder, 4100, out=out, threads=1, progress=cancel)
    assert seen == ["plan", "progress"], "nothing after a cancel"
    assert os.listdir(tmp_path) == [], "no file, no temporary file"
    with pytest.raises(ctpyramid.Cancelled):
        ctpyramid.mesh(folder, 4100, progress=cancel)
    # Cancelled with the last slice's event, after the mesh was complete (the job does not
    # wait for the callback): still no file.
    volume, iso = ball("uint8")
    write_stack(tmp_path / "s", volume)

    def at_last(event):
        if event.get("done") == len(volume):
            time.sleep(0.2)
            return False
        return None

    for ext in ("ply", "stl", "obj"):
        with pytest.raises(ctpyramid.Cancelled):
            ctpyramid.mesh(tmp_path / "s", iso, out=tmp_path / f"last.{ext}", progress=at_last)
    assert sorted(os.listdir(tmp_path)) == ["s"]

    class Stop(Exception):
        pass

    def stop(event):
        raise Stop(event["event"])

    with pytest.raises(Stop, match="plan"):
        ctpyramid.mesh(tmp_path / "s", iso, out=tmp_path / "x.ply", progress=stop)
    assert sorted(os.listdir(tmp_path)) == ["s"]


def test_the_gil_is_released(tmp_path, slow_stack):
    folder, _ = slow_stack
    done = threading.Event()
    ticks = []

    def count():
        while not done.is_set():
            ticks.append(time.monotonic())
            time.sleep(0.001)

    counter = threading.Thread(target=count)
    counter.start()
    try:
        start = time.monotonic()
        ctpyramid.mesh(folder, 4100, out=tmp_path / "m.ply", threads=1)
        ctpyramid.mesh(folder, 4150, threads=1)
        elapsed = time.monotonic() - start
    finally:
        done.set()
        counter.join()
    # The other thread ran all along (a held GIL would starve it for the whole mesh).
    gaps = np.diff(ticks)
    assert len(ticks) > 10 and gaps.max() < max(0.2, elapsed / 3), (len(ticks), gaps.max())


def test_keyboard_interrupt_leaves_no_file(tmp_path, slow_stack):
    folder, _ = slow_stack
    # Each run writes a file of its own (named after its process) into tmp_path.
    call = (f"ctpyramid.mesh(src, 4100, threads=1, "
            f"out=os.path.join({str(tmp_path)!r}, str(os.getpid()) + '.ply'))")
    latency, _ = interrupt_midway("import ctpyramid", call, lambda: folder)
    assert latency < 1.0
    # The uninterrupted run's file (and any that ended before its signal), complete; no
    # file of the interrupted run, no temporary file.
    names = os.listdir(tmp_path)
    assert names and all(n.endswith(".ply") and not n.startswith(".") for n in names), names
    triangles = {len(trimesh.load(tmp_path / n, process=False).faces) for n in names}
    assert len(triangles) == 1 and triangles.pop() > 0


def test_a_damaged_slice_raises_naming_it(tmp_path):
    volume, iso = ball("uint16")
    paths = write_stack(tmp_path / "s", volume)
    paths[4].write_bytes(b"II*\x00garbage")
    for out in (None, tmp_path / "o" / "m.ply"):
        if out is not None:
            out.parent.mkdir()
        with pytest.raises(ctpyramid.SliceError) as info:
            ctpyramid.mesh(tmp_path / "s", iso, out=out)
        assert isinstance(info.value, ValueError)
        assert info.value.filename == str(paths[4]) and str(paths[4]) in str(info.value)
    assert os.listdir(tmp_path / "o") == []
    with pytest.raises(FileNotFoundError) as info:
        ctpyramid.mesh(tmp_path / "none", 1.0)
    assert info.value.filename == str(tmp_path / "none")


def test_bad_requests_raise_and_write_nothing(tmp_path):
    volume, iso = ball("uint8")
    src = tmp_path / "s"
    write_stack(src, volume)
    out = tmp_path / "o"
    out.mkdir()
    cases = [
        (dict(iso=float("nan")), ValueError, r"^iso=NaN: not a number"),
        (dict(out=out / "m.vtk"), ValueError, r"^out=.*m\.vtk: unknown mesh format"),
        (dict(out=out / "m"), ValueError, r"^out=.*: unknown mesh format"),
        (dict(units="mm"), ValueError, r"^units=\"mm\": expected one of \"voxel\", \"um\""),
        (dict(units="um"), ValueError, r"^units=um: the voxel size of .* is not known"),
        (dict(x=(0, 99)), ValueError, r"^x=0\.\.99: outside the level's columns 0\.\.19"),
        (dict(z=(4, 4)), ValueError, r"^z=4\.\.4: empty"),
        (dict(y=(-1, 3)), ValueError, r"^y=\(-1, 3\): expected integers from 0"),
        (dict(level=1), ValueError, r"^level=1: no pyramid"),
        (dict(level=-1), ValueError, r"^level=-1: expected an integer from 0"),
        (dict(threads=0), ValueError, r"^threads=0: "),
        (dict(first=1), ValueError, r"first"),
        (dict(iso="100"), TypeError, r"iso"),
        (dict(x=5), TypeError, r"^x: expected"),
    ]
    for options, kind, message in cases:
        args = {"iso": iso, **options}
        for where in ({}, {"out": out / "m.ply"}):
            with pytest.raises(kind, match=message):
                ctpyramid.mesh(src, **{**where, **args})
    assert os.listdir(out) == []


def test_exported_and_documented():
    assert "mesh" in ctpyramid.__all__
    doc = ctpyramid.mesh.__doc__
    for word in ("PyMCubes", "float32", "uint32", ".ply", ".stl", ".obj", "RuntimeWarning",
                 "Cancelled", "units", "NaN"):
        assert word in doc, word
    stub = Path(ctpyramid.__file__).with_name("_native.pyi").read_text()
    assert "def mesh(" in stub
