#!/usr/bin/env python3
"""The numpy + tifffile peer of ctpyramid, and the large-stack check.

    python3 benches/numpy_pyramid.py make DIR [--slices 128] [--size 2048] [--dtype uint16]
        writes DIR/s_rec00000000.tif ... with tifffile: uncompressed slices of a noisy
        phantom (deterministic); --dtype uint8, uint16, int16 (Hounsfield-like: -1000 air)
        or float32 (attenuation per cm, as TomoPy writes: small values, negatives in noise).
    python3 benches/numpy_pyramid.py build DIR OUT [--min-size 500]
        builds the pyramid of DIR into OUT/<L>/<k:06>.tif with numpy (the conventional way:
        read each slice whole with tifffile, reduce with numpy), timing it: the reference peer
        of the README's performance table.
    python3 benches/numpy_pyramid.py compare A B
        compares every file of two pyramids (A/<L>/*.tif against B/<L>/*.tif) pixel by pixel.

Independent of ctpyramid: it shares no code with it. Needs numpy and tifffile.
"""
import argparse
import os
import re
import sys
import time

import numpy as np
import tifffile


def natural_key(name):
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", name)]


def list_slices(folder):
    names = [n for n in os.listdir(folder)
             if not n.startswith(".") and n.lower().endswith((".tif", ".tiff"))
             and os.path.isfile(os.path.join(folder, n))]
    return [os.path.join(folder, n) for n in sorted(names, key=natural_key)]


def halve(s):
    """(a+b+c+d+2)>>2 over 2x2 blocks (signed: a flooring shift), odd last row/column
    dropped; for floats ((a+b)+(c+d))*0.25 in float32."""
    h, w = s.shape[0] // 2 * 2, s.shape[1] // 2 * 2
    if s.dtype.kind == "f":
        s = s[:h, :w]
        return ((s[0::2, 0::2] + s[0::2, 1::2]) + (s[1::2, 0::2] + s[1::2, 1::2])) * np.float32(0.25)
    s = s[:h, :w].astype(np.int64)
    return (s[0::2, 0::2] + s[0::2, 1::2] + s[1::2, 0::2] + s[1::2, 1::2] + 2) >> 2


def reduce(a, b):
    """One slice of the next level from two (b None: the odd last slice, halved alone)."""
    p = halve(a)
    if b is not None:
        p = (p + halve(b)) * np.float32(0.5) if a.dtype.kind == "f" else (p + halve(b) + 1) >> 1
    return p.astype(a.dtype)


def plan(w, h, n, min_size):
    levels = []
    while (w > min_size or h > min_size) and w >= 2 and h >= 2:
        w, h, n = w // 2, h // 2, (n + 1) // 2
        levels.append((w, h, n))
    return levels


def build(src, out, min_size):
    files = list_slices(src)
    first = tifffile.imread(files[0])
    levels = plan(first.shape[1], first.shape[0], len(files), min_size)
    for level in range(1, len(levels) + 1):
        os.makedirs(os.path.join(out, str(level)), exist_ok=True)
    written = [0] * (len(levels) + 1)
    pending = [None] * (len(levels) + 1)

    def push(level, image):
        # A slice of `level` (0 = input) arrives; pairs cascade down one pass.
        while level < len(levels):
            if pending[level] is None:
                pending[level] = image
                return
            image = emit(level + 1, reduce(pending[level], image))
            pending[level] = None
            level += 1

    def emit(level, image):
        path = os.path.join(out, str(level), f"{written[level]:06d}.tif")
        tifffile.imwrite(path, image)
        written[level] += 1
        return image

    for f in files:
        push(0, tifffile.imread(f))
    for level in range(len(levels)):
        if pending[level] is not None:
            last = pending[level]
            pending[level] = None
            push(level + 1, emit(level + 1, reduce(last, None)))
    return levels, sum(written)


def phantom(z, n, size, rng):
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    v = np.where((x - 0.5) ** 2 + (y - 0.5) ** 2 < 0.16, 22000.0, 1500.0)
    for cx, cy, cz, r, val in [(0.4, 0.4, 0.3, 0.12, 52000.0), (0.62, 0.45, 0.55, 0.1, 38000.0),
                               (0.45, 0.65, 0.7, 0.08, 61000.0)]:
        v = np.where((x - cx) ** 2 + (y - cy) ** 2 + (z / n - cz) ** 2 < r * r, val, v)
    v += rng.integers(-1000, 1001, size=v.shape)
    return np.clip(v, 0, 65535)


def typed(v, dtype):
    """The phantom's values (0..65535) as a reconstruction of `dtype` would hold them."""
    if dtype == "uint8":
        return (v.astype(np.uint16) >> 8).astype(np.uint8)
    if dtype == "int16":
        return (v / 65535 * 4000 - 1000).astype(np.int16)
    if dtype == "float32":
        return ((v - 3000) / 65535 * 2.5).astype(np.float32)
    return v.astype(np.uint16)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make")
    m.add_argument("dir")
    m.add_argument("--slices", type=int, default=128)
    m.add_argument("--size", type=int, default=2048)
    m.add_argument("--bits", type=int, choices=(8, 16), help="8: --dtype uint8 (the old flag)")
    m.add_argument("--dtype", choices=("uint8", "uint16", "int16", "float32"), default="uint16")
    b = sub.add_parser("build")
    b.add_argument("dir")
    b.add_argument("out")
    b.add_argument("--min-size", type=int, default=500)
    c = sub.add_parser("compare")
    c.add_argument("a")
    c.add_argument("b")
    args = ap.parse_args()

    if args.cmd == "make":
        os.makedirs(args.dir, exist_ok=True)
        rng = np.random.default_rng(42)
        dtype = "uint8" if args.bits == 8 else args.dtype
        for z in range(args.slices):
            image = typed(phantom(z, args.slices, args.size, rng), dtype)
            tifffile.imwrite(os.path.join(args.dir, f"s_rec{z:08d}.tif"), image)
        print(f"wrote {args.slices} slices of {args.size}x{args.size} {dtype} to {args.dir}")
    elif args.cmd == "build":
        t = time.perf_counter()
        levels, files = build(args.dir, args.out, args.min_size)
        print(f"numpy+tifffile: {len(levels)} levels {levels}, {files} files in "
              f"{time.perf_counter() - t:.2f} s")
    else:
        bad = 0
        count = 0
        for level in sorted(os.listdir(args.a)):
            da, db = os.path.join(args.a, level), os.path.join(args.b, level)
            if not os.path.isdir(da):
                continue
            na = sorted(n for n in os.listdir(da) if n.endswith(".tif"))
            nb = sorted(n for n in os.listdir(db) if n.endswith(".tif"))
            if na != nb:
                print(f"level {level}: files differ: {len(na)} vs {len(nb)}")
                bad += 1
            for n in set(na) & set(nb):
                count += 1
                x, y = tifffile.imread(os.path.join(da, n)), tifffile.imread(os.path.join(db, n))
                nan = x.dtype.kind == "f"
                if x.shape != y.shape or x.dtype != y.dtype or not np.array_equal(x, y, equal_nan=nan):
                    print(f"level {level} {n}: pixels differ")
                    bad += 1
        print(f"compared {count} files: {'identical' if bad == 0 else f'{bad} differences'}")
        sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
