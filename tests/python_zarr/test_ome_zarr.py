"""`ctpyramid build --format ome-zarr` read by zarr-python 3 and ome-zarr-py.

The store is read with zarr-python and ome-zarr-py, its metadata validated with
ome-zarr-models (OME-NGFF 0.4 and 0.5). Expected pixels come from numpy (the reference
rule of fixtures/README.md) and tifffile, never from ctpyramid: level 0 equals the input
slices, every level equals the numpy pyramid and the TIFF pyramid ctpyramid writes.
tensorstore and zarr-python 2 read the same stores in test_tensorstore.py and test_zarr2.py.

Run by `.ci/zarr` (which builds the binary and makes the virtual environments); the binary
is taken from $CTPYRAMID.
"""

import json

import numpy as np
import pytest
import tifffile
import zarr

from stores import VARIANTS, build_store, expected_levels, run


@pytest.mark.parametrize("ngff,codec,chunks", VARIANTS)
def test_zarr_python_reads_every_level(stack, ngff, codec, chunks):
    store = build_store(stack, ngff, codec, chunks)
    group = zarr.open_group(store, mode="r")
    assert group.metadata.zarr_format == (2 if ngff == "0.4" else 3)
    expected = expected_levels(stack)
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
    expected = expected_levels(stack)
    assert len(image.data) == len(expected)
    for level, (data, want) in enumerate(zip(image.data, expected)):
        np.testing.assert_array_equal(np.asarray(data), want, err_msg=f"level {level}")
    transforms = image.metadata["coordinateTransformations"]
    assert transforms[1][0]["scale"] == [5.0, 5.0, 5.0]


@pytest.mark.parametrize("ngff,codec,chunks", VARIANTS)
def test_ome_zarr_models_validates(stack, ngff, codec, chunks):
    store = build_store(stack, ngff, codec, chunks)
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
