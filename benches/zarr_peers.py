#!/usr/bin/env python3
"""The Python peers of `ctpyramid build --format ome-zarr`, for benches/compare_zarr.sh.

    zarr_peers.py ngff-zarr DIR OUT [--min-size 500] [--chunks Z,Y,X] [--codec zstd|blosc-lz4]
                            [--ngff 0.4|0.5] [--method itkwasm_bin_shrink|dask_bin_shrink]
        ngff-zarr: tifffile reads the stack, ngff_zarr.to_multiscales makes the levels with a
        2x2x2 local mean ("bin shrink"; its scale factors 2, 4, ... as many levels as
        ctpyramid's rule gives), ngff_zarr.to_ngff_zarr writes them with the same codec and
        chunks.
    zarr_peers.py ome-zarr DIR OUT [same options]
        ome-zarr-py: its Scaler halves only y and x, so the 3-D pyramid is computed with numpy
        (benches/numpy_pyramid.py's kernel, the reference rule) and written by
        ome_zarr.writer.write_multiscale with the same codec and chunks.

Independent of ctpyramid. Needs the packages benches/compare_zarr.sh installs in its venv.
"""
import argparse
import os
import sys
import time

import numpy as np
import tifffile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from numpy_pyramid import list_slices, plan, reduce  # noqa: E402


def read_stack(folder):
    return tifffile.imread(list_slices(folder))


def codecs(name, ngff, itemsize):
    """The same compression as ctpyramid's --codec, as numcodecs (v2) or zarr codecs (v3)."""
    if ngff == "0.4":
        import numcodecs
        if name == "zstd":
            return {"compressor": numcodecs.Zstd(level=1)}
        return {"compressor": numcodecs.Blosc(cname="lz4", clevel=5, shuffle=numcodecs.Blosc.SHUFFLE)}
    from zarr.codecs import BloscCodec, ZstdCodec
    if name == "zstd":
        return {"compressors": [ZstdCodec(level=1)]}
    return {"compressors": [BloscCodec(cname="lz4", clevel=5, shuffle="shuffle", typesize=itemsize)]}


def ngff_zarr(args, volume, levels):
    import ngff_zarr as nz
    image = nz.to_ngff_image(volume, dims=["z", "y", "x"])
    method = nz.Methods(args.method)
    factors = [2 ** (i + 1) for i in range(levels)]
    multiscales = nz.to_multiscales(image, scale_factors=factors, method=method, chunks=tuple(args.chunks))
    nz.to_ngff_zarr(args.out, multiscales, version=args.ngff, **codecs(args.codec, args.ngff, volume.itemsize))


def ome_zarr(args, volume, levels):
    import zarr
    from ome_zarr.format import FormatV04, FormatV05
    from ome_zarr.writer import write_multiscale
    pyramid = [volume]
    for _ in range(levels):
        prev = pyramid[-1]
        n = prev.shape[0]
        pyramid.append(np.stack([reduce(prev[k], prev[k + 1] if k + 1 < n else None) for k in range(0, n, 2)]))
    fmt = FormatV04() if args.ngff == "0.4" else FormatV05()
    group = zarr.open_group(args.out, mode="w", zarr_format=2 if args.ngff == "0.4" else 3)
    options = dict(chunks=tuple(args.chunks), **codecs(args.codec, args.ngff, volume.itemsize))
    write_multiscale(pyramid, group, fmt=fmt, axes="zyx", storage_options=options)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("tool", choices=["ngff-zarr", "ome-zarr"])
    p.add_argument("dir")
    p.add_argument("out")
    p.add_argument("--min-size", type=int, default=500)
    p.add_argument("--chunks", type=lambda t: [int(x) for x in t.split(",")], default=[16, 256, 256])
    p.add_argument("--codec", choices=["zstd", "blosc-lz4"], default="zstd")
    p.add_argument("--ngff", choices=["0.4", "0.5"], default="0.4")
    p.add_argument("--method", default="itkwasm_bin_shrink")
    args = p.parse_args()
    t0 = time.perf_counter()
    volume = read_stack(args.dir)
    levels = len(plan(volume.shape[2], volume.shape[1], volume.shape[0], args.min_size))
    {"ngff-zarr": ngff_zarr, "ome-zarr": ome_zarr}[args.tool](args, volume, levels)
    print(f"{args.tool}: {levels} levels in {time.perf_counter() - t0:.2f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
