"""int16 (TIFF SampleFormat 2) and float32 (SampleFormat 3) stacks: build, inspect, read and
ct_thumbnail keep the input's type. Stacks written by tifffile; expected pixels from the numpy
reference of stacks.py (int16 in int32 with a flooring shift, float32 step by step in float32),
compared bit for bit (NaN: the same positions)."""
import json

import numpy as np
import pytest
import tifffile
from PIL import Image

import ctpyramid
from ct_thumbnail import build_thumbnails
from stacks import copy_stack, reference, tree_bytes, write_stack

F32_MAX = np.finfo(np.float32).max
F32_TINY = np.float32(1e-45)  # the smallest subnormal


def float_volume(n=5, height=29, width=37, seed=40):
    """float32 slices: negatives over many magnitudes, subnormals, -0.0, NaN, +inf and -inf
    alone and together in one block (inf + -inf: NaN), and sums that overflow float32."""
    rng = np.random.default_rng(seed)
    vol = (rng.standard_normal((n, height, width)) *
           10.0 ** rng.integers(-3, 6, (n, height, width))).astype(np.float32)
    vol[0, 0, 0] = np.nan
    vol[1, 4, 6] = np.inf
    vol[2, 8, 10] = -np.inf
    vol[3, 2, 2], vol[3, 2, 3] = np.inf, -np.inf
    vol[0:2, 10:12, 20:22] = F32_MAX                # (a+b) overflows: inf, and inf paired
    vol[0:2, 12:14, 20:22] = -F32_MAX               # -inf
    vol[2, 14:16, 4:6] = [[F32_MAX, -F32_MAX], [F32_MAX, -F32_MAX]]  # finite: 0
    vol[0, 20:22, 0:2] = F32_TINY                   # 4 x tiny * 0.25: tiny again
    vol[1, 20:22, 0:2] = [[F32_TINY, 0], [0, 0]]    # rounds to 0
    vol[2:4, 24:26, 30:32] = -0.0                   # -0.0 at every level
    vol[2, 26:28, 30:32] = -0.0
    vol[3, 26:28, 30:32] = [[-0.0, 0.0], [-0.0, -0.0]]  # 0.0
    vol[n - 1, 5, :] = np.nan                       # the last, odd slice: halved alone
    return vol


def int16_volume(n=7, height=29, width=37, seed=41):
    """int16 slices over the whole range: extremes in whole blocks and mixed, negatives whose
    averages floor (-1 and -2 -> (-3 + 2) >> 2 = -1)."""
    rng = np.random.default_rng(seed)
    vol = rng.integers(-32768, 32767, (n, height, width), endpoint=True, dtype=np.int16)
    vol[:, 0:2, 0:2] = -32768
    vol[:, 2:4, 0:2] = 32767
    vol[0, 4:6, 0:2] = [[-32768, 32767], [-32768, 32767]]
    vol[1, 6:8, 0:2] = [[-1, -2], [0, 0]]
    vol[n - 1, :, 3] = -32768
    return vol


def assert_bits(got, want, what=""):
    """Same shape and dtype; float: NaN at the same places, every other value bit for bit
    (-0.0 is not 0.0); integers: equal."""
    assert got.shape == want.shape and got.dtype == want.dtype, (what, got.shape, got.dtype)
    if want.dtype == np.float32:
        nan = np.isnan(want)
        assert (np.isnan(got) == nan).all(), what
        bad = (got.view(np.uint32) != want.view(np.uint32)) & ~nan
        assert not bad.any(), (what, np.argwhere(bad)[:5], got[bad][:5], want[bad][:5])
    else:
        np.testing.assert_array_equal(got, want, err_msg=what)


def write_typed(folder, volume, byteorder="<", rowsperstrip=None):
    """One TIFF a slice, written by tifffile in `byteorder`, `rowsperstrip` rows a strip."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, plane in enumerate(volume):
        path = folder / f"s_rec{i:08d}.tif"
        tifffile.imwrite(path, plane, byteorder=byteorder, rowsperstrip=rowsperstrip)
        paths.append(path)
    return paths


def read_tiff_levels(out, levels, layout):
    """The pyramid's levels as tifffile reads them."""
    got = []
    for level, want in enumerate(levels, start=1):
        if layout == "stack":
            got.append(tifffile.imread(out / f"level{level}.tif").reshape(want.shape))
        else:
            files = sorted((out / str(level)).glob("*.tif"))
            assert [f.name for f in files] == [f"{k:06d}.tif" for k in range(len(want))]
            got.append(np.stack([tifffile.imread(f) for f in files]))
    return got


STACKS = {
    # name: (volume, byteorder, rowsperstrip)
    "float32-le": (float_volume, "<", None),
    "float32-be-strips": (float_volume, ">", 5),   # big-endian, 6 strips, the last short
    "int16-le-strips": (int16_volume, "<", 4),
    "int16-be": (int16_volume, ">", None),
}


@pytest.mark.parametrize("layout", ["slices", "stack"])
@pytest.mark.parametrize("name", sorted(STACKS))
def test_levels_keep_the_type_and_equal_the_reference(tmp_path, cli, name, layout):
    make, byteorder, rows = STACKS[name]
    vol = make()
    src = tmp_path / "a"
    paths = write_typed(src, vol, byteorder, rows)
    if rows:
        assert len(tifffile.TiffFile(paths[0]).pages[0].dataoffsets) > 1
    assert tifffile.TiffFile(paths[0]).byteorder == byteorder
    copy_stack(src, tmp_path / "b")
    out = tmp_path / "out"
    events = []
    summary = ctpyramid.build(src, out, min_size=4, layout=layout, progress=events.append)
    levels = reference(vol, min_size=4)
    assert len(levels) == summary["levels"] == 3
    assert events[0]["event"] == "plan"
    assert (events[0]["dtype"], events[0]["bits"]) == (
        vol.dtype.name, 8 * vol.dtype.itemsize)
    for level, (got, want) in enumerate(zip(read_tiff_levels(out, levels, layout), levels), 1):
        assert_bits(got, want, f"level {level}")
    # The CLI's files, byte for byte.
    cli("build", tmp_path / "b", "--out", tmp_path / "cli", "--min-size", 4, "--layout", layout,
        "--quiet")
    assert tree_bytes(out) == tree_bytes(tmp_path / "cli")
    assert json.loads((out / "pyramid.json").read_text())["dtype"] == vol.dtype.name


@pytest.mark.parametrize("ngff", ["0.4", "0.5"])
@pytest.mark.parametrize("dtype", ["float32", "int16"])
def test_ome_zarr_keeps_the_type(tmp_path, dtype, ngff):
    vol = float_volume() if dtype == "float32" else int16_volume()
    src = tmp_path / "a"
    write_typed(src, vol, ">" if dtype == "float32" else "<", 7)
    store = tmp_path / "a.ome.zarr"
    summary = ctpyramid.build(src, min_size=4, format="ome-zarr", ngff=ngff, chunks=(2, 16, 16))
    assert summary["out"] == str(store) and summary["levels"] == 3
    want_type = {"float32": ("<f4", "float32"), "int16": ("<i2", "int16")}[dtype]
    for level in range(4):
        if ngff == "0.4":
            meta = json.loads((store / str(level) / ".zarray").read_text())
            assert meta["dtype"] == want_type[0]
        else:
            meta = json.loads((store / str(level) / "zarr.json").read_text())
            assert meta["data_type"] == want_type[1]
    # Read back through the store (read's pyramid=): every level the reference.
    for level, want in enumerate([vol] + reference(vol, min_size=4)):
        got = ctpyramid.read(src, level, pyramid=store)
        assert_bits(got, want, f"level {level}")


@pytest.mark.parametrize("name", sorted(STACKS))
def test_read_gives_the_type_and_numpy_slicing(tmp_path, name):
    make, byteorder, rows = STACKS[name]
    vol = make()
    src = tmp_path / "a"
    write_typed(src, vol, byteorder, rows)
    ctpyramid.build(src, min_size=4)
    level1 = reference(vol, min_size=4)[0]
    for level, whole in ((0, vol), (1, level1)):
        n, h, w = whole.shape
        for x, y, z in [(None, None, None), ((1, w - 1), (2, h - 3), (1, n)),
                        ((w - 1, None), (0, 1), (n - 1, n)), ((0, w // 2), (h // 3, None), None)]:
            def s(r):
                return slice(None) if r is None else slice(*r)
            got = ctpyramid.read(src, level, x, y, z)
            assert got.dtype == np.dtype(vol.dtype.name) and got.dtype.isnative
            assert_bits(got, whole[s(z), s(y), s(x)], f"level {level} {x} {y} {z}")
    events = []
    ctpyramid.read(src, 1, z=(0, 2), progress=events.append)
    assert events[0]["dtype"] == events[-1]["dtype"] == vol.dtype.name
    assert events[-1]["bytes"] == 2 * level1.shape[1] * level1.shape[2] * vol.dtype.itemsize


def test_read_into_a_float32_memmap(tmp_path):
    vol = float_volume()
    src = tmp_path / "a"
    write_typed(src, vol, ">", 5)
    want = vol[1:, 3:27, 2:30]
    mm = np.memmap(tmp_path / "box.raw", dtype=np.float32, mode="w+", shape=want.shape)
    assert ctpyramid.read(src, x=(2, 30), y=(3, 27), z=(1, None), out=mm) is mm
    mm.flush()
    del mm
    assert_bits(np.fromfile(tmp_path / "box.raw", dtype=np.float32).reshape(want.shape), want)
    # Level 1 into a memmap too.
    ctpyramid.build(src, min_size=4)
    want = reference(vol, min_size=4)[0]
    mm = np.memmap(tmp_path / "l1.raw", dtype=np.float32, mode="w+", shape=want.shape)
    ctpyramid.read(src, 1, out=mm)
    assert_bits(np.asarray(mm), want)
    # Another type or byte order is refused, naming the stack's dtype.
    for bad in (np.zeros(want.shape, np.uint16), np.zeros(want.shape, ">f4"),
                np.zeros(want.shape, np.int16)):
        with pytest.raises(ValueError, match=r"^out: .*dtype float32"):
            ctpyramid.read(src, 1, out=bad)


def test_inspect_names_the_dtype(tmp_path, cli):
    for dtype, volume in (("float32", float_volume()), ("int16", int16_volume())):
        src = tmp_path / dtype
        write_typed(src, volume, ">", 5)
        report = ctpyramid.inspect(src, min_size=4)
        assert report == json.loads(cli("inspect", src, "--json", "--min-size", 4).stdout)
        assert report["problems"] == []
        assert [k["dtype"] for k in report["kinds"]] == [dtype]
        assert [(k["bits"], k["byte_order"]) for k in report["kinds"]] == [
            (8 * volume.dtype.itemsize, "big-endian")]


def test_a_float_slice_among_uint16_ones_is_named(tmp_path):
    vol = np.arange(5 * 20 * 30, dtype=np.uint16).reshape(5, 20, 30)
    paths = write_stack(tmp_path / "a", vol)
    tifffile.imwrite(paths[3], vol[3].astype(np.float32))
    with pytest.raises(ctpyramid.SliceError) as info:
        ctpyramid.build(tmp_path / "a", min_size=4)
    assert info.value.filename == str(paths[3]) and str(paths[3]) in str(info.value)
    assert isinstance(info.value, ValueError)
    with pytest.raises(ctpyramid.SliceError) as info:
        ctpyramid.read(tmp_path / "a")
    assert info.value.filename == str(paths[3])
    problems = ctpyramid.inspect(tmp_path / "a", min_size=4)["problems"]
    assert [p["slice"] for p in problems] == [str(paths[3])]
    # And the other way round: a uint16 slice among float32 ones.
    fpaths = write_typed(tmp_path / "b", float_volume())
    tifffile.imwrite(fpaths[1], np.zeros((29, 37), np.uint16))
    with pytest.raises(ctpyramid.SliceError) as info:
        ctpyramid.build(tmp_path / "b", min_size=4)
    assert info.value.filename == str(fpaths[1])


@pytest.mark.parametrize("dtype", ["float32", "int16"])
def test_ct_thumbnail_builds_typed_stacks(tmp_path, cli, dtype):
    # 5 slices of 1030 x 521: levels 515x260 x3 and 257x130 x2.
    rng = np.random.default_rng(42)
    if dtype == "float32":
        vol = (rng.standard_normal((5, 521, 1030)) * 1000).astype(np.float32)
        vol[0, 0, 0], vol[1, 100, 100], vol[2, 200, 200] = np.nan, np.inf, -np.inf
    else:
        vol = rng.integers(-32768, 32767, (5, 521, 1030), endpoint=True, dtype=np.int16)
    src = tmp_path / "a"
    write_typed(src, vol)
    copy_stack(src, tmp_path / "b")
    progress = []
    assert build_thumbnails(str(src), progress.append) is None
    assert progress[0] == 0.0 and progress[-1] == 100.0
    levels = reference(vol)
    assert [lv.shape for lv in levels] == [(3, 260, 515), (2, 130, 257)]
    got = read_tiff_levels(src / ".thumbnail", levels, "slices")
    for level, (g, want) in enumerate(zip(got, levels), start=1):
        assert_bits(g, want, f"level {level}")
    cli("build", tmp_path / "b", "--quiet")
    assert tree_bytes(src / ".thumbnail") == tree_bytes(tmp_path / "b" / ".thumbnail")
    # What CTHarvester's loader (Pillow's Image.open, then numpy.array) gets from a thumbnail:
    # mode F, float32; int16 as mode I, int32; the values either way.
    with Image.open(src / ".thumbnail" / "2" / "000001.tif") as img:
        array = np.array(img)
        assert (img.mode, array.dtype) == (("F", np.float32) if dtype == "float32" else
                                           ("I", np.int32))
        assert_bits(array.astype(vol.dtype), levels[1][1], "Pillow")


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "int16", "float32"])
def test_large_slices_reduced_in_turn_equal_the_reference(tmp_path, dtype):
    """Input slices of 8 MiB and more are reduced in turn (the first halved, its pages
    released, the second averaged in): the same bits as the reference, odd sizes included."""
    height, width = 2049, {"uint8": 4097, "float32": 1025}.get(dtype, 2049)
    if dtype == "float32":
        vol = float_volume(5, height, width)
    elif dtype == "int16":
        vol = int16_volume(3, height, width)
    else:
        vol = np.random.default_rng(7).integers(
            0, np.iinfo(dtype).max, (3, height, width), endpoint=True, dtype=dtype)
    assert vol[0].nbytes >= 8 << 20
    write_typed(tmp_path / "a", vol)
    out = tmp_path / "out"
    min_size = max(vol.shape[1:]) // 2
    ctpyramid.build(tmp_path / "a", out, min_size=min_size)
    levels = reference(vol, min_size=min_size)
    assert len(levels) == 1
    for got, want in zip(read_tiff_levels(out, levels, "slices"), levels):
        assert_bits(got, want, dtype)
