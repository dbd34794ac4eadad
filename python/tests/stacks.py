"""Stacks written with tifffile, and the expected pyramid computed with numpy.

Expected pixels never come from ctpyramid: `reference` below is the compatibility contract
(README "What it computes") written in numpy. No pytest here: ctharvester_check.py uses it too.
"""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import tifffile


def phantom(n, height, width, dtype, seed=0):
    """A deterministic noisy stack: structure plus noise over the whole range of the type."""
    rng = np.random.default_rng(seed)
    top = np.iinfo(dtype).max
    return rng.integers(0, top, size=(n, height, width), endpoint=True, dtype=dtype)


def write_stack(folder, volume, prefix="s_rec", digits=8, start=0, compression=None):
    """One uncompressed (or `compression`) TIFF a slice, written by tifffile."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, plane in enumerate(volume):
        path = folder / f"{prefix}{start + i:0{digits}d}.tif"
        tifffile.imwrite(path, plane, compression=compression)
        paths.append(path)
    return paths


def halve(s):
    """One 2x2 block average over the slice, an odd last row/column dropped, in the slice's
    type: integers (a+b+c+d+2)>>2 (int16 summed in int32, the shift flooring), float32
    ((a+b)+(c+d))*0.25 with a, b the upper row, every step in float32."""
    h, w = s.shape[0] // 2 * 2, s.shape[1] // 2 * 2
    s = s[:h, :w]
    a, b, c, d = s[0::2, 0::2], s[0::2, 1::2], s[1::2, 0::2], s[1::2, 1::2]
    if s.dtype == np.float32:
        with np.errstate(over="ignore", invalid="ignore"):
            return ((a + b) + (c + d)) * np.float32(0.25)
    wide = np.int32 if s.dtype == np.int16 else np.uint32
    a, b, c, d = (v.astype(wide) for v in (a, b, c, d))
    return (a + b + c + d + 2) >> 2


def average(p, q):
    """Two halved slices into one: integers (p+q+1)>>1, float32 (p+q)*0.5."""
    if p.dtype == np.float32:
        with np.errstate(over="ignore", invalid="ignore"):
            return (p + q) * np.float32(0.5)
    return (p + q + 1) >> 1


def reference(volume, min_size=500):
    """The expected levels of `volume` (n, h, w): a list of (n_L, h_L, w_L) arrays.

    Slices paired (0,1), (2,3)...; each halved, then averaged (p+q+1)>>1 (float32:
    (p+q)*0.5); an odd last slice halved alone (ceil(n / 2^L) slices); while width or height
    > min_size. The levels keep the input's dtype (uint8, uint16, int16 or float32).
    """
    levels = []
    current = list(volume)
    h, w = volume.shape[1:]
    while (w > min_size or h > min_size) and w >= 2 and h >= 2:
        nxt = []
        for k in range(0, len(current), 2):
            p = halve(current[k])
            if k + 1 < len(current):
                p = average(p, halve(current[k + 1]))
            nxt.append(p.astype(volume.dtype))
        current = nxt
        levels.append(np.stack(current))
        h, w = h // 2, w // 2
    return levels


def read_level_files(out, level):
    """The files of one level, in name order: {name: Path}."""
    folder = Path(out) / str(level)
    return {p.name: p for p in sorted(folder.iterdir())} if folder.is_dir() else {}


def assert_complete_or_absent(out, expected):
    """Every output file present holds exactly its expected pixels; nothing else is there
    but hidden temporary names (never taken for slices)."""
    for level, want in enumerate(expected, start=1):
        for name, path in read_level_files(out, level).items():
            assert name.endswith(".tif") and not name.startswith("."), path
            k = int(name[:-4])
            assert k < len(want), path
            np.testing.assert_array_equal(tifffile.imread(path), want[k], err_msg=str(path))


def assert_pyramid(out, expected):
    """All levels present, each file equal to its expected pixels."""
    for level, want in enumerate(expected, start=1):
        files = read_level_files(out, level)
        assert sorted(files) == [f"{k:06d}.tif" for k in range(len(want))], level
    assert_complete_or_absent(out, expected)
    assert not (Path(out) / str(len(expected) + 1)).exists()


def tree_bytes(out):
    """{relative path: bytes} of every level file under `out` (not pyramid.json)."""
    out = Path(out)
    return {str(p.relative_to(out)): p.read_bytes()
            for p in sorted(out.rglob("*.tif")) if p.is_file()}


def copy_stack(src, dst):
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns(".thumbnail"))
    return Path(dst)


def json_lines(text):
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def slow_volume():
    """A stack that takes a noticeable time to build once written zlib-compressed (every slice
    is decoded), to cancel or interrupt in the middle: 96 x 1024^2 u16, smooth, 49 MB."""
    n, size = 96, 1024
    y, x = np.mgrid[0:size, 0:size]
    base = ((x * 37 + y * 11) % 4096).astype(np.uint16)
    return np.stack([base + np.uint16(i) for i in range(n)])


INTERRUPTED = """
import os, signal, sys, threading, time
{imports}
src, delay = sys.argv[1], float(sys.argv[2])
def interrupt():
    time.sleep(delay)
    print("signal", time.monotonic(), flush=True)
    os.kill(os.getpid(), signal.SIGINT)
if delay >= 0:
    threading.Thread(target=interrupt, daemon=True).start()
try:
    start = time.monotonic()
    {call}
    print("completed", time.monotonic() - start, flush=True)
except KeyboardInterrupt:
    print("interrupted", time.monotonic(), flush=True)
"""


def interrupt_midway(imports, call, fresh_copy):
    """Runs `call` (Python source using `src`) in a new process and sends it SIGINT while it
    runs: the delay is a third of how long the same call took uninterrupted on another copy
    (`fresh_copy()` makes one a run, since a finished build leaves nothing to do), so a fast
    machine is interrupted as surely as a slow one; retried with shorter delays if the call
    still ended first. Returns the seconds from the signal to KeyboardInterrupt and the copy
    that was interrupted."""
    script = INTERRUPTED.format(imports=imports, call=call)

    def run(delay):
        src = fresh_copy()
        out = subprocess.run([sys.executable, "-c", script, str(src), str(delay)],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        return src, out.stdout.split("\n")

    _, lines = run(-1)
    elapsed = float(next(ln for ln in lines if ln.startswith("completed")).split()[1])
    delay = elapsed / 3
    for _ in range(4):
        src, lines = run(delay)
        if not any(ln.startswith("completed") for ln in lines):
            signalled = float(next(ln for ln in lines if ln.startswith("signal")).split()[1])
            interrupted = float(next(ln for ln in lines if ln.startswith("interrupted")).split()[1])
            return interrupted - signalled, src
        delay /= 3
    raise AssertionError(f"never interrupted: the call took {elapsed:.3f} s uninterrupted")
