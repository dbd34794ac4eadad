"""Helpers of the OME-Zarr reader tests: stacks written with tifffile, the numpy reference
pyramid, stores built by ctpyramid (the binary at $CTPYRAMID). Imports no Zarr library: every
test file brings the reader it tests (zarr-python 3 or 2, tensorstore, ome-zarr-py)."""

import os
import subprocess
from pathlib import Path

import numpy as np
import tifffile

CTPYRAMID = os.environ.get("CTPYRAMID", "target/release/ctpyramid")

# Every store variant: both NGFF versions (Zarr v2 and v3), both codecs, chunks that divide the
# levels evenly, unevenly, or exceed them.
VARIANTS = [
    ("0.4", "zstd", "16,256,256"),
    ("0.4", "blosc-lz4", "3,16,16"),
    ("0.5", "zstd", "4,8,32"),
    ("0.5", "blosc-lz4", "16,256,256"),
]

STACKS = {
    # Odd sizes and an odd slice count at every level.
    "u16_odd": dict(slices=13, height=45, width=67, dtype=np.uint16, min_size=8),
    "u8_odd": dict(slices=11, height=63, width=41, dtype=np.uint8, min_size=8),
}


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


def read_input(folder: Path):
    """The input slices as tifffile reads them, stacked in name order."""
    return np.stack([tifffile.imread(f) for f in sorted(folder.glob("*.tif"))])


def run(*args):
    out = subprocess.run([CTPYRAMID, *map(str, args)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out


def new_stack(name, root: Path):
    """Stack `name` of STACKS under `root`, its TIFF pyramid, its input as tifffile reads it,
    and the numpy reference levels."""
    spec = STACKS[name]
    volume = make_stack(root / "scan", spec["slices"], spec["height"], spec["width"], spec["dtype"], seed=len(name))
    run("build", root / "scan", "--min-size", spec["min_size"], "--out", root / "tiff", "-q")
    stack = dict(root=root, folder=root / "scan", volume=volume, min_size=spec["min_size"],
                 levels=reference_levels(volume, spec["min_size"]))
    stack["input"] = read_input(stack["folder"])
    np.testing.assert_array_equal(stack["input"], volume)
    return stack


def expected_levels(stack):
    """Level 0 (the input, read by tifffile) and every reference level below it."""
    return [stack["input"], *stack["levels"]]


def build_store(stack, ngff, codec, chunks, voxel=None):
    store = stack["root"] / f"{ngff}-{codec}-{chunks.replace(',', '_')}-{voxel}.ome.zarr"
    if not store.exists():
        args = ["build", stack["folder"], "--format", "ome-zarr", "--min-size", stack["min_size"],
                "--ngff", ngff, "--codec", codec, "--chunks", chunks, "--out", store, "-q"]
        if voxel is not None:
            args += ["--voxel-size", voxel]
        run(*args)
    return store
