"""tensorstore (neuroglancer's engine) reads every store variant: driver `zarr` for OME-NGFF
0.4 (Zarr v2), `zarr3` for 0.5. It refuses metadata with members it does not know (a Blosc
`typesize` in `.zarray`). Level 0 equals the input read by tifffile, every level the numpy
reference pyramid."""

import numpy as np
import pytest
import tensorstore as ts

from stores import VARIANTS, build_store, expected_levels


def open_level(store, ngff, level):
    driver = "zarr" if ngff == "0.4" else "zarr3"
    spec = {"driver": driver, "kvstore": {"driver": "file", "path": str(store / str(level))}}
    return ts.open(spec, open=True, read=True).result()


@pytest.mark.parametrize("ngff,codec,chunks", VARIANTS)
def test_tensorstore_reads_every_level(stack, ngff, codec, chunks):
    store = build_store(stack, ngff, codec, chunks)
    for level, want in enumerate(expected_levels(stack)):
        array = open_level(store, ngff, level)
        assert array.dtype.numpy_dtype == want.dtype, level
        assert tuple(array.shape) == want.shape, level
        np.testing.assert_array_equal(array.read().result(), want, err_msg=f"level {level}")
