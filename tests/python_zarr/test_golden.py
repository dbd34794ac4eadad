"""The golden metadata files of src/output/ome_zarr/golden (what ctpyramid's unit tests
require its metadata to serialize to, byte for byte) validated independently of ctpyramid:
the OME-NGFF attributes by ome-zarr-models, the Zarr metadata by the keys of the Zarr v2 and
v3 specifications, numcodecs, zarr-python 3 and tensorstore (which refuses members it does
not know). Each golden folder is the metadata of a whole store, without chunks."""

import json
from pathlib import Path

import numcodecs
import pytest
import tensorstore as ts
import zarr

GOLDEN = Path(__file__).resolve().parents[2] / "src" / "output" / "ome_zarr" / "golden"
VARIANTS = sorted(p.name for p in GOLDEN.iterdir() if p.is_dir())

# Zarr v2 storage specification, array metadata: every key is required.
ZARRAY_KEYS = ["zarr_format", "shape", "chunks", "dtype", "compressor", "fill_value", "order", "filters",
               "dimension_separator"]
# numcodecs' configurations (get_config) as numcodecs < 0.16 accepts them.
V2_COMPRESSOR_KEYS = {"zstd": {"id", "level"}, "blosc": {"id", "cname", "clevel", "shuffle", "blocksize"}}
# Zarr v3 core specification, array metadata: required, then optional keys.
V3_ARRAY_REQUIRED = {"zarr_format", "node_type", "shape", "data_type", "chunk_grid", "chunk_key_encoding",
                     "fill_value", "codecs"}
V3_ARRAY_OPTIONAL = {"attributes", "storage_transformers", "dimension_names"}


def test_every_variant_has_golden_files():
    assert VARIANTS == sorted(f"{d}-{n}-{c}" for d in ["f32", "i16", "u16", "u8"] for n in ["0.4", "0.5"]
                              for c in ["blosc-lz4", "zstd"])


def load(path):
    return json.loads(path.read_text())


def arrays(root, multiscale):
    return [root / d["path"] for d in multiscale["datasets"]]


@pytest.mark.parametrize("variant", [v for v in VARIANTS if "-0.4-" in v])
def test_ngff_04_group_and_zarr_v2_arrays(variant):
    from ome_zarr_models.v04.image import Image, ImageAttrs

    root = GOLDEN / variant
    assert load(root / ".zgroup") == {"zarr_format": 2}
    attrs = load(root / ".zattrs")
    ImageAttrs.model_validate(attrs)
    assert attrs["multiscales"][0]["version"] == "0.4"
    Image.from_zarr(zarr.open_group(root, mode="r"))
    for path in arrays(root, attrs["multiscales"][0]):
        zarray = load(path / ".zarray")
        assert sorted(zarray) == sorted(ZARRAY_KEYS), path
        assert zarray["zarr_format"] == 2
        assert zarray["filters"] is None and zarray["order"] == "C" and zarray["fill_value"] == 0
        assert zarray["dtype"] in ("|u1", "<u2", "<i2", "<f4")
        assert zarray["dimension_separator"] == "/"
        compressor = zarray["compressor"]
        assert set(compressor) == V2_COMPRESSOR_KEYS[compressor["id"]], path
        numcodecs.get_codec(dict(compressor))
        assert all(0 < c <= s for c, s in zip(zarray["chunks"], zarray["shape"]))
        # Array attributes: a JSON object of its own (.zattrs).
        assert isinstance(load(path / ".zattrs"), dict)
        array = ts.open({"driver": "zarr", "kvstore": {"driver": "file", "path": str(path)}},
                        open=True, read=True).result()
        assert list(array.shape) == zarray["shape"]
        assert list(zarr.open_array(path, mode="r").shape) == zarray["shape"]


@pytest.mark.parametrize("variant", [v for v in VARIANTS if "-0.5-" in v])
def test_ngff_05_group_and_zarr_v3_arrays(variant):
    from ome_zarr_models.v04.omero import Omero
    from ome_zarr_models.v05.image import Image, ImageAttrs

    root = GOLDEN / variant
    group = load(root / "zarr.json")
    assert set(group) == {"zarr_format", "node_type", "attributes"}
    assert (group["zarr_format"], group["node_type"]) == (3, "group")
    ome = group["attributes"]["ome"]
    assert ome["version"] == "0.5"
    ImageAttrs.model_validate(ome)
    Omero.model_validate(ome["omero"])
    Image.from_zarr(zarr.open_group(root, mode="r"))
    for path in arrays(root, ome["multiscales"][0]):
        array = load(path / "zarr.json")
        assert V3_ARRAY_REQUIRED <= set(array) <= V3_ARRAY_REQUIRED | V3_ARRAY_OPTIONAL, path
        assert (array["zarr_format"], array["node_type"]) == (3, "array")
        assert array["dimension_names"] == ["z", "y", "x"]
        opened = ts.open({"driver": "zarr3", "kvstore": {"driver": "file", "path": str(path)}},
                         open=True, read=True).result()
        assert list(opened.shape) == array["shape"]
        assert list(zarr.open_array(path, mode="r").shape) == array["shape"]
