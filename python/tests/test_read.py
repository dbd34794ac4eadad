"""ctpyramid.read and ctpyramid.crop: any box of a level, against numpy slicing of the input
as tifffile and Pillow read it (level 0), and of the numpy pyramid reference (levels >= 1,
after ctpyramid.build). Expected pixels never come from ctpyramid."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

import ctpyramid
from stacks import copy_stack, interrupt_midway, phantom, reference, tree_bytes, write_stack

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "stacks"


def gray(rgb):
    """The library's gray of RGB samples (fixtures/README.md): integer, truncating."""
    r, g, b = (rgb[..., i].astype(np.uint64) for i in range(3))
    return ((2126 * r + 7152 * g + 722 * b) // 10000).astype(rgb.dtype)


def pillow(path):
    a = np.array(Image.open(path))
    return gray(a) if a.ndim == 3 else a


# Each fixture stack and how a reference reader reads one of its files: tifffile, or Pillow
# (BMP, PNG, and LZW, which tifffile decodes only with imagecodecs).
STACKS = {
    "u16_multistrip": tifffile.imread,    # 7 strips, the last one short
    "u16_strip_per_row": tifffile.imread,
    "u16_be": tifffile.imread,            # big-endian samples
    "u16_odd": tifffile.imread,           # 37x29, 7 slices
    "u16_odd_offset": tifffile.imread,    # one 4-page file, strips at odd offsets
    "u8_pillow": tifffile.imread,
    "bmp_skyscan": pillow,                # 8-bit gray palette, bottom-up, padded rows
    "bmp_rgb24": pillow,                  # gray by the formula
    "lzw": pillow,
    "deflate": tifffile.imread,
    "tiled": tifffile.imread,             # 16x16 tiles, padded at the edges
    "png16": pillow,
}


def volume(name):
    """The fixture stack `name` as read by its reference reader: (slices, rows, columns)."""
    files = sorted(p for p in (FIXTURES / name).iterdir()
                   if p.suffix.lower() in (".tif", ".bmp", ".png"))
    if len(files) == 1:
        return tifffile.imread(files[0])  # a multi-page stack
    return np.stack([STACKS[name](p) for p in files])


def boxes(n, h, w):
    """Boxes of a level of n slices of h x w: the whole, one inside, each touching an edge,
    one row, one column, one slice, one voxel; as (x, y, z) ranges (None: the whole axis)."""
    return [
        (None, None, None),
        ((1, w - 1), (1, h - 1), (n // 2, None)),
        ((0, 1), None, None),                       # the first column
        ((w - 1, None), (0, h // 2 + 1), None),     # the last column
        (None, (0, 1), (0, 1)),                     # the first row of the first slice
        ((w // 3, None), (h - 1, h), None),         # the last row
        (None, None, (n - 1, n)),                   # the last slice
        ((w - 1, w), (h - 1, h), (n - 1, None)),    # the last voxel
        ((w // 4, w // 2 + 1), (h // 2, h // 2 + 1), (0, None)),  # one row, some columns
    ]


def numpy_box(volume, x, y, z):
    """The box by numpy slicing."""
    def s(r):
        return slice(None) if r is None else slice(r[0], r[1])
    return volume[s(z), s(y), s(x)]


def assert_box(got, want):
    assert got.shape == want.shape
    assert got.dtype == np.dtype(want.dtype.name) and got.dtype.isnative
    assert got.flags.c_contiguous
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("name", sorted(STACKS))
def test_read_is_numpy_slicing_of_the_input(name):
    vol = volume(name)
    assert vol.ndim == 3 and vol.dtype.name in ("uint8", "uint16")
    for x, y, z in boxes(*vol.shape):
        got = ctpyramid.read(FIXTURES / name, x=x, y=y, z=z)
        assert_box(got, numpy_box(vol, x, y, z))


def test_options_and_positions(tmp_path):
    name = "u16_odd"
    vol = volume(name)
    want = vol[2:5, 3:20, 1:30]
    for reader in ("buffered", "mmap", "auto"):
        assert_box(ctpyramid.read(FIXTURES / name, 0, (1, 30), (3, 20), (2, 5), reader=reader,
                                  threads=1), want)
    # The CLI's ranges too; the selection keywords are build's.
    assert_box(ctpyramid.read(FIXTURES / name, x="1..30", y="3..20", z="2..5"), want)
    assert_box(ctpyramid.read(FIXTURES / name, x=(1, 30), y=(3, 20), prefix="s_rec", ext="tif",
                              first=2, last=4, index_length=8), want)


def test_out_is_filled_and_returned(tmp_path):
    vol = volume("u16_multistrip")
    want = vol[2:, 5:45, 5:36]
    mm = np.memmap(tmp_path / "box.raw", dtype=np.uint16, mode="w+", shape=want.shape)
    got = ctpyramid.read(FIXTURES / "u16_multistrip", x=(5, 36), y=(5, None), z=(2, None),
                         out=mm)
    assert got is mm
    mm.flush()
    del got, mm
    raw = np.fromfile(tmp_path / "box.raw", dtype=np.uint16).reshape(want.shape)
    np.testing.assert_array_equal(raw, want)
    # A C-contiguous view: exactly its memory is written, nothing around it.
    vol8 = volume("u8_pillow")
    big = np.full((5,) + vol8.shape[1:], 7, dtype=np.uint8)
    got = ctpyramid.read(FIXTURES / "u8_pillow", z=(1, 4), out=big[1:4])
    assert got.base is big
    np.testing.assert_array_equal(big[1:4], vol8[1:4])
    assert (big[0] == 7).all() and (big[4] == 7).all()


def test_a_bad_out_is_refused_naming_it():
    src = FIXTURES / "u16_multistrip"  # 4 x 45 x 50, uint16
    shape = (4, 45, 50)
    bad = {
        "shape": np.zeros((4, 45, 49), np.uint16),
        "dimensions": np.zeros((4 * 45, 50), np.uint16),
        "dtype": np.zeros(shape, np.uint8),
        "byte order": np.zeros(shape, ">u2"),
        "float": np.zeros(shape, np.float32),
        "Fortran order": np.zeros(shape, np.uint16, order="F"),
        "a strided view": np.zeros((4, 45, 100), np.uint16)[:, :, ::2],
    }
    for why, out in bad.items():
        with pytest.raises(ValueError, match="^out: ") as info:
            ctpyramid.read(src, out=out)
        assert (out == 0).all(), why
        assert "C-contiguous" in str(info.value) or "expected shape (4, 45, 50)" in str(
            info.value), (why, info.value)
    read_only = np.zeros(shape, np.uint16)
    read_only.setflags(write=False)
    with pytest.raises(ValueError, match="^out: read-only"):
        ctpyramid.read(src, out=read_only)
    with pytest.raises(TypeError, match="^out: expected a numpy array"):
        ctpyramid.read(src, out=bytearray(4 * 45 * 50 * 2))


@pytest.mark.parametrize("layout", ["slices", "stack"])
def test_levels_of_the_pyramid_are_the_reference(tmp_path, layout):
    # Odd sizes and an odd slice count at every level: 7 x 29 x 37 -> 4 x 14 x 18,
    # 2 x 7 x 9, 1 x 3 x 4.
    vol = phantom(7, 29, 37, np.uint16, seed=30)
    src = tmp_path / "s"
    write_stack(src, vol)
    if layout == "slices":
        ctpyramid.build(src, min_size=4)
        where = {}
    else:
        ctpyramid.build(src, tmp_path / "pyramid", min_size=4, layout="stack")
        where = {"pyramid": tmp_path / "pyramid"}
    levels = reference(vol, min_size=4)
    assert [lv.shape for lv in levels] == [(4, 14, 18), (2, 7, 9), (1, 3, 4)]
    for level, want in enumerate(levels, start=1):
        for x, y, z in boxes(*want.shape):
            got = ctpyramid.read(src, level, x, y, z, **where)
            assert_box(got, numpy_box(want, x, y, z))
    with pytest.raises(ValueError, match=r"^level=4: the pyramid in .* has levels 1 to 3"):
        ctpyramid.read(src, 4, **where)
    with pytest.raises(ValueError, match=r"^x=0\.\.10: outside the level's columns 0\.\.9"):
        ctpyramid.read(src, 2, x=(0, 10), **where)
    # A crop of a level: <k:06>.tif files, or crop.tif.
    out = tmp_path / "crop"
    summary = ctpyramid.crop(src, out, x=(2, 17), y=(1, None), z=(1, 4), level=1,
                             layout=layout, **where)
    want = levels[0][1:4, 1:, 2:17]
    if layout == "slices":
        got = np.stack([tifffile.imread(out / f"{k:06d}.tif") for k in range(1, 4)])
    else:
        got = tifffile.imread(out / "crop.tif")
    np.testing.assert_array_equal(got, want)
    assert summary["level"] == 1 and summary["box"] == {"x": [2, 17], "y": [1, 14], "z": [1, 4]}
    assert summary["files_written"] == (3 if layout == "slices" else 1)


def test_bad_boxes_and_levels_name_the_axis_or_level(tmp_path):
    src = FIXTURES / "u16_odd"  # 7 x 29 x 37
    cases = [
        (dict(x=(0, 38)), r"^x=0\.\.38: outside the level's columns 0\.\.37"),
        (dict(y=(30, None)), r"^y=30\.\.: outside the level's rows 0\.\.29"),
        (dict(y=(3, 3)), r"^y=3\.\.3: empty"),
        (dict(z=(5, 2)), r"^z=5\.\.2: reversed"),
        (dict(z=(7, None)), r"^z=7\.\.: outside the level's slices 0\.\.7"),
        (dict(z=(0, 8)), r"^z=0\.\.8: outside the level's slices 0\.\.7"),
        (dict(x=(-1, 4)), r"^x=\(-1, 4\): expected integers from 0"),
        (dict(y="3-4"), r"^y=\"3-4\": expected A\.\.B"),
        (dict(level=-1), r"^level=-1: expected an integer from 0"),
        (dict(level=1), r"^level=1: no pyramid in .*\.thumbnail nor .*\.ome\.zarr"),
    ]
    for options, message in cases:
        with pytest.raises(ValueError, match=message):
            ctpyramid.read(src, **options)
        with pytest.raises(ValueError, match=message):
            ctpyramid.crop(src, tmp_path / "c", **options)
        assert not (tmp_path / "c").exists()
    with pytest.raises(TypeError, match="^x: expected"):
        ctpyramid.read(src, x=5)
    with pytest.raises(ValueError, match="layout"):
        ctpyramid.crop(src, tmp_path / "c", layout="cube")
    with pytest.raises(FileNotFoundError):
        ctpyramid.read(tmp_path / "none")


def test_progress_as_builds(tmp_path):
    src = FIXTURES / "u16_odd"
    events = []
    got = ctpyramid.read(src, x=(2, 9), z=(1, 6), progress=events.append)
    assert got.shape == (5, 29, 7)
    plan, *progress, done = events
    assert plan["event"] == "plan" and plan["job"] == "read" and plan["total"] == 5
    assert plan["box"] == {"x": [2, 9], "y": [0, 29], "z": [1, 6]}
    assert (plan["width"], plan["height"], plan["slices"], plan["bits"]) == (7, 29, 5, 16)
    assert [e["event"] for e in progress] == ["progress"] * 5
    assert [e["slice"] for e in progress] == [1, 2, 3, 4, 5]
    assert [e["done"] for e in progress] == [1, 2, 3, 4, 5]
    assert done["event"] == "done" and done["job"] == "read" and done["out"] is None
    assert done["slices_read"] == 5 and done["bytes"] == 5 * 29 * 7 * 2

    def cancel(event):
        return False if event["event"] == "progress" else None

    with pytest.raises(ctpyramid.Cancelled, match="the read stopped"):
        ctpyramid.read(src, progress=cancel)
    with pytest.raises(ctpyramid.Cancelled):
        ctpyramid.crop(src, tmp_path / "c", progress=cancel)

    class Stop(Exception):
        pass

    def stop(event):
        raise Stop(event["event"])

    with pytest.raises(Stop, match="plan"):
        ctpyramid.read(src, progress=stop)


def test_crop_writes_the_box_as_the_cli_does(tmp_path, cli):
    name = "u16_odd"
    vol = volume(name)
    events = []
    box = dict(x=(3, 30), y=(1, 28), z=(2, 6))
    summary = ctpyramid.crop(FIXTURES / name, tmp_path / "a", **box, progress=events.append)
    files = sorted((tmp_path / "a").glob("*.tif"))
    assert [f.name for f in files] == [f"s_rec{k:08d}.tif" for k in range(2, 6)]
    got = np.stack([tifffile.imread(f) for f in files])
    np.testing.assert_array_equal(got, vol[2:6, 1:28, 3:30])
    assert summary == events[-1]
    assert summary["event"] == "done" and summary["job"] == "crop" and summary["level"] == 0
    assert summary["box"] == {"x": [3, 30], "y": [1, 28], "z": [2, 6]} and summary["bits"] == 16
    assert (summary["slices_read"], summary["files_written"], summary["files_kept"]) == (4, 4, 0)
    assert summary["out"] == str(tmp_path / "a")
    assert summary["record"] == str(tmp_path / "a" / "crop.json")
    assert (tmp_path / "a" / "crop.json").is_file()
    assert events[0]["event"] == "plan" and events[0]["job"] == "crop"
    assert len([e for e in events if e["event"] == "progress"]) == 4
    # The CLI's crop: the same files, byte for byte.
    cli("crop", FIXTURES / name, "--x", "3..30", "--y", "1..28", "--z", "2..6", "--out",
        tmp_path / "b", "--quiet")
    assert tree_bytes(tmp_path / "a") == tree_bytes(tmp_path / "b")
    # Kept when complete, rewritten with force.
    again = ctpyramid.crop(FIXTURES / name, tmp_path / "a", **box)
    assert (again["files_written"], again["files_kept"]) == (0, 4)
    forced = ctpyramid.crop(FIXTURES / name, tmp_path / "a", **box, force=True, sync=True)
    assert (forced["files_written"], forced["files_kept"]) == (4, 0)
    # One multi-page file.
    stack = ctpyramid.crop(FIXTURES / "bmp_rgb24", tmp_path / "s", x=(0, 20), z=(1, None),
                           layout="stack", threads=1)
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "s" / "crop.tif"),
                                  volume("bmp_rgb24")[1:, :, 0:20])
    assert stack["files_written"] == 1


def test_keyboard_interrupt_stops_a_read(tmp_path, slow_stack):
    folder, _ = slow_stack
    src = copy_stack(folder, tmp_path / "s")
    latency, _ = interrupt_midway("import numpy, ctpyramid", "ctpyramid.read(src, threads=1)",
                                  lambda: src)
    assert latency < 1.0


def test_without_numpy_an_import_error_not_a_panic():
    # numpy is imported by read, not by the package (build needs none).
    script = ("import sys; sys.modules['numpy'] = None\n"
              "import ctpyramid\n"
              "try:\n"
              "    ctpyramid.read(sys.argv[1])\n"
              "except ImportError as e:\n"
              "    print('ImportError', e)\n")
    run = subprocess.run([sys.executable, "-c", script, str(FIXTURES / "u16_odd")],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and run.stdout.startswith("ImportError"), run.stderr


def test_exported_and_documented():
    assert {"read", "crop"} <= set(ctpyramid.__all__)
    assert "numpy" in ctpyramid.read.__doc__ and "out" in ctpyramid.read.__doc__
    assert "ctpyramid crop" in ctpyramid.crop.__doc__
