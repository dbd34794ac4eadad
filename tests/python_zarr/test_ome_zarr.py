"""`ctpyramid build --format ome-zarr` read by third-party readers.

The store is read with zarr-python and ome-zarr-py, its metadata validated with
ome-zarr-models (OME-NGFF 0.4 and 0.5). Expected pixels come from numpy (the reference
rule of fixtures/README.md) and tifffile, never from ctpyramid: level 0 equals the input
slices, every level equals the numpy pyramid and the TIFF pyramid ctpyramid writes.

Run by `.ci/zarr` (which builds the binary and makes the virtual environment); the binary
is taken from $CTPYRAMID.
"""

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
import tifffile
import zarr

CTPYRAMID = os.environ.get("CTPYRAMID", "target/release/ctpyramid")


def reference_levels(volume, min_size):
    """The pyramid by the reference rule: each slice halved in x and y with
    (a+b+c+d+2)>>2 (odd last row/column dropped), pairs of slices averaged with
    (p+q+1)>>1, an odd last slice halved alone; while wider or taller than min_size."""
    levels = []
    level = volume
    while (level.shape[2] > min_size or level.shape[1] > min_size) and min(level.shape[1:]) >= 2:
        n, h, w = level.shape
        v = level[:, : h // 2 * 2, : w // 2 * 2].astype(np.uint32)
        halves = (v[:, 0::2, 0::2] + v[:, 0::2, 1::2] + v[:, 1::2, 0::2] + v[:, 1::2, 1::2] + 2) >> 2
        pairs = [(halves[k] + halves[k + 1] + 1) >> 1 for k in range(0, n - 1, 2)]
        if n % 2:
            pairs.append(halves[n - 1])
        level = np.stack(pairs).astype(volume.dtype)
        levels.append(level)
    return levels


def make_stack(folder: Path, slices, height, width, dtype, seed):
    """A folder of single-slice TIFFs written by tifffile: smooth shapes plus noise, so
    chunks compress but every bit still matters."""
    rng = np.random.default_rng(seed)
    folder.mkdir()
    top = np.iinfo(dtype).max
    z, y, x = np.mgrid[0:slices, 0:height, 0:width]
    ball = ((x - width / 2) ** 2 + (y - height / 2) ** 2 + (z - slices / 2) ** 2) < (min(width, height) / 3) ** 2
    volume = (ball * (top // 2) + rng.integers(0, top // 4, size=(slices, height, width))).astype(dtype)
    for k in range(slices):
        tifffile.imwrite(folder / f"s_rec{k:08d}.tif", volume[k])
    return volume


def run(*args):
    out = subprocess.run([CTPYRAMID, *map(str, args)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out


STACKS = {
    # Odd sizes and an odd slice count at every level.
    "u16_odd": dict(slices=13, height=45, width=67, dtype=np.uint16, min_size=8),
    "u8": dict(slices=10, height=64, width=40, dtype=np.uint8, min_size=8),
}


@pytest.fixture(scope="module", params=sorted(STACKS))
def stack(request, tmp_path_factory):
    spec = STACKS[request.param]
    root = tmp_path_factory.mktemp(request.param)
    volume = make_stack(root / "scan", spec["slices"], spec["height"], spec["width"], spec["dtype"], seed=len(request.param))
    run("build", root / "scan", "--min-size", spec["min_size"], "--out", root / "tiff", "-q")
    return dict(root=root, folder=root / "scan", volume=volume, min_size=spec["min_size"],
                levels=reference_levels(volume, spec["min_size"]))


def build_store(stack, ngff, codec, chunks, voxel=None):
    store = stack["root"] / f"{ngff}-{codec}-{chunks.replace(',', '_')}-{voxel}.ome.zarr"
    if not store.exists():
        args = ["build", stack["folder"], "--format", "ome-zarr", "--min-size", stack["min_size"],
                "--ngff", ngff, "--codec", codec, "--chunks", chunks, "--out", store, "-q"]
        if voxel is not None:
            args += ["--voxel-size", voxel]
        run(*args)
    return store


VARIANTS = [
    ("0.4", "zstd", "16,256,256"),
    ("0.4", "blosc-lz4", "3,16,16"),
    ("0.5", "zstd", "4,8,32"),
    ("0.5", "blosc-lz4", "16,256,256"),
]


@pytest.mark.parametrize("ngff,codec,chunks", VARIANTS)
def test_zarr_python_reads_every_level(stack, ngff, codec, chunks):
    store = build_store(stack, ngff, codec, chunks)
    group = zarr.open_group(store, mode="r")
    assert group.metadata.zarr_format == (2 if ngff == "0.4" else 3)
    expected = [stack["volume"], *stack["levels"]]
    assert sorted(group.array_keys(), key=int) == [str(i) for i in range(len(expected))]
    for level, want in enumerate(expected):
        array = group[str(level)]
        assert array.dtype == want.dtype, level
        assert array.shape == want.shape, level
        np.testing.assert_array_equal(array[:], want, err_msg=f"level {level}")
    # Every level equals the TIFF pyramid (tifffile), slice by slice.
    for level in range(1, len(expected)):
        files = sorted((stack["root"] / "tiff" / str(level)).glob("*.tif"))
        tiff = np.stack([tifffile.imread(f) for f in files])
        np.testing.assert_array_equal(group[str(level)][:], tiff, err_msg=f"TIFF level {level}")


def multiscales(store):
    zattrs = store / ".zattrs"
    if zattrs.exists():
        return json.loads(zattrs.read_text())["multiscales"][0]
    return json.loads((store / "zarr.json").read_text())["attributes"]["ome"]["multiscales"][0]


@pytest.mark.parametrize("ngff", ["0.4", "0.5"])
def test_transforms_overlay_the_levels(stack, ngff):
    store = build_store(stack, ngff, "zstd", "16,256,256", voxel=2.5)
    m = multiscales(store)
    assert [a["name"] for a in m["axes"]] == ["z", "y", "x"]
    assert all(a["type"] == "space" and a["unit"] == "micrometer" for a in m["axes"])
    assert len(m["datasets"]) == len(stack["levels"]) + 1
    for level, d in enumerate(m["datasets"]):
        assert d["path"] == str(level)
        scale, translation = d["coordinateTransformations"]
        assert scale == {"type": "scale", "scale": [2.5 * 2**level] * 3}
        assert translation == {"type": "translation", "translation": [2.5 * (2**level - 1) / 2] * 3}
    # The display window: the deepest level's range (numpy), within the dtype's.
    if ngff == "0.4":
        omero = json.loads((store / ".zattrs").read_text())["omero"]
    else:
        omero = json.loads((store / "zarr.json").read_text())["attributes"]["ome"]["omero"]
    deepest = stack["levels"][-1]
    window = omero["channels"][0]["window"]
    assert window == {"min": 0, "max": int(np.iinfo(deepest.dtype).max),
                      "start": int(deepest.min()), "end": int(deepest.max())}


@pytest.mark.parametrize("ngff", ["0.4", "0.5"])
def test_ome_zarr_py_reads_the_multiscale_image(stack, ngff):
    from ome_zarr.io import parse_url
    from ome_zarr.reader import Multiscales, Reader

    store = build_store(stack, ngff, "zstd", "16,256,256", voxel=2.5)
    location = parse_url(str(store))
    assert location is not None, "ome-zarr-py does not recognise the store"
    nodes = list(Reader(location)())
    images = [n for n in nodes if Multiscales.matches(n.zarr)]
    assert images, "no multiscale image found"
    image = images[0]
    expected = [stack["volume"], *stack["levels"]]
    assert len(image.data) == len(expected)
    for level, (data, want) in enumerate(zip(image.data, expected)):
        np.testing.assert_array_equal(np.asarray(data), want, err_msg=f"level {level}")
    transforms = image.metadata["coordinateTransformations"]
    assert transforms[1][0]["scale"] == [5.0, 5.0, 5.0]


@pytest.mark.parametrize("ngff", ["0.4", "0.5"])
def test_ome_zarr_models_validates(stack, ngff):
    store = build_store(stack, ngff, "zstd", "16,256,256", voxel=2.5)
    group = zarr.open_group(store, mode="r")
    if ngff == "0.4":
        from ome_zarr_models.v04.image import Image
    else:
        from ome_zarr_models.v05.image import Image
    image = Image.from_zarr(group)
    datasets = image.attributes.multiscales[0].datasets if ngff == "0.4" else image.attributes.ome.multiscales[0].datasets
    assert [d.path for d in datasets] == [str(i) for i in range(len(stack["levels"]) + 1)]


def test_resume_after_deleting_chunks_is_byte_identical(stack, tmp_path):
    store = tmp_path / "s.ome.zarr"
    args = ["build", stack["folder"], "--format", "ome-zarr", "--min-size", stack["min_size"],
            "--chunks", "2,16,16", "--out", store, "-q"]
    run(*args)
    before = {p.relative_to(store): p.read_bytes() for p in store.rglob("*") if p.is_file()}
    chunks = sorted(p for p in store.rglob("*") if p.is_file() and not p.name.startswith("."))
    for p in chunks[::3]:
        p.unlink()
    (store / ".zattrs").unlink()
    run(*args)
    after = {p.relative_to(store): p.read_bytes() for p in store.rglob("*") if p.is_file()}
    assert after == before
