"""zarr-python 2.18 with numcodecs < 0.16, still the Zarr of many tools, reads every OME-NGFF
0.4 (Zarr v2) store variant and every golden 0.4 metadata file. numcodecs before 0.16 refuses a
Blosc `typesize` in `.zarray`. Level 0 equals the input read by tifffile, every level the
numpy reference pyramid.

Run by `.ci/zarr` in a virtual environment of its own."""

import json
from pathlib import Path

import numcodecs
import numpy as np
import pytest
import zarr

from stores import VARIANTS, build_store, expected_levels

GOLDEN = Path(__file__).resolve().parents[2] / "src" / "output" / "ome_zarr" / "golden"
V2_VARIANTS = [v for v in VARIANTS if v[0] == "0.4"]


def test_the_versions_under_test():
    assert zarr.__version__.startswith("2.18."), zarr.__version__
    assert tuple(int(p) for p in numcodecs.__version__.split(".")[:2]) < (0, 16), numcodecs.__version__


@pytest.mark.parametrize("ngff,codec,chunks", V2_VARIANTS)
def test_zarr2_reads_every_level(stack, ngff, codec, chunks):
    store = build_store(stack, ngff, codec, chunks)
    group = zarr.open_group(str(store), mode="r")
    expected = expected_levels(stack)
    assert sorted(group.array_keys(), key=int) == [str(i) for i in range(len(expected))]
    assert [d["path"] for d in group.attrs["multiscales"][0]["datasets"]] == sorted(group.array_keys(), key=int)
    for level, want in enumerate(expected):
        array = group[str(level)]
        assert array.dtype == want.dtype, level
        assert array.shape == want.shape, level
        np.testing.assert_array_equal(array[:], want, err_msg=f"level {level}")


@pytest.mark.parametrize("golden", sorted(p.name for p in GOLDEN.glob("*-0.4-*")))
def test_zarr2_opens_every_golden_array(golden):
    group = zarr.open_group(str(GOLDEN / golden), mode="r")
    datasets = group.attrs["multiscales"][0]["datasets"]
    for dataset in datasets:
        array = group[dataset["path"]]
        zarray = json.loads((GOLDEN / golden / dataset["path"] / ".zarray").read_text())
        assert list(array.shape) == zarray["shape"]
        assert array.compressor == numcodecs.get_codec(zarray["compressor"])
