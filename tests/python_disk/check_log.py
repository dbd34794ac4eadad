#!/usr/bin/env python3
"""What a box read asked of a disk, from hddfs.py's log: only each file's header and the band
of rows of the box (plus the kernel's read-ahead past the band's end), files in slice order,
at most two seeks a slice. Used by .ci/disk.

    check_log.py LOG FROM STACK Y0 Y1 [--max-seeks-per-slice 2] [--readahead BYTES]

LOG: hddfs.py's --log; FROM: its number of lines before the job (what came before is not
this job's); STACK: the source folder (the same files the mount shows), read with tifffile for
where each file's rows are; Y0..Y1: the box's rows (half-open). Independent of ctpyramid:
the layout comes from tifffile, the reads from the disk's log.
"""
import argparse
import os
import sys

import tifffile

PAGE = 4096


def allowed_ranges(path, y0, y1, readahead):
    """Byte ranges of `path` a box of rows y0..y1 may read: the pages of the header (up to
    the end of the first IFD and its tag data) and the band of rows, from the 128 KiB chunk
    it starts in to `readahead` past its end."""
    with tifffile.TiffFile(path) as tif:
        page = tif.pages[0]
        offsets, counts = page.dataoffsets, page.databytecounts
        rows_per_strip = page.rowsperstrip or page.imagelength
        row_bytes = page.imagewidth * page.dtype.itemsize
        # The header: everything before the first strip (tifffile writes the IFD first).
        header_end = min(offsets)
        first_strip, last_strip = y0 // rows_per_strip, (y1 - 1) // rows_per_strip
        band_start = offsets[first_strip] + (y0 % rows_per_strip) * row_bytes
        band_end = offsets[last_strip] + ((y1 - 1) % rows_per_strip + 1) * row_bytes
        size = os.path.getsize(path)
    chunk = 128 << 10
    header = (0, min(size, -(-header_end // PAGE) * PAGE))
    band = (band_start - band_start % chunk, min(size, band_end + readahead))
    return [header, band], band_end - band_start


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("log")
    ap.add_argument("start", type=int)
    ap.add_argument("stack")
    ap.add_argument("y0", type=int)
    ap.add_argument("y1", type=int)
    ap.add_argument("--max-seeks-per-slice", type=float, default=2)
    ap.add_argument("--readahead", type=int, default=256 << 10)
    a = ap.parse_args()
    lines = open(a.log).read().splitlines()[a.start:]
    reads = []
    for line in lines:
        if line.startswith("#") or not line.strip():
            continue
        t, name, offset, length, charged, seek = line.split("\t")[:6]
        reads.append((name.lstrip("/"), int(offset), int(charged), seek == "yes"))
    names = sorted(n for n in os.listdir(a.stack) if n.endswith(".tif"))
    problems, total, band_total = [], 0, 0
    for name in names:
        ranges, band = allowed_ranges(os.path.join(a.stack, name), a.y0, a.y1, a.readahead)
        band_total += band
        for file, offset, charged, _ in reads:
            if file != name:
                continue
            total += charged
            if not any(lo <= offset and offset + charged <= hi for lo, hi in ranges):
                problems.append(f"{name}: read {offset}..{offset + charged} outside {ranges}")
    order = [r[0] for r in reads]
    firsts = [order.index(n) for n in names if n in order]
    seeks = sum(r[3] for r in reads)
    size = sum(os.path.getsize(os.path.join(a.stack, n)) for n in names)
    print(f"{len(reads)} reads, {total} bytes of {size} ({100 * total / size:.1f}%; the box's "
          f"bands: {band_total}), {seeks} seeks for {len(names)} slices")
    if seeks > a.max_seeks_per_slice * len(names):
        problems.append(f"{seeks} seeks: more than {a.max_seeks_per_slice} a slice")
    if firsts != sorted(firsts):
        problems.append("files not first read in slice order")
    if not reads:
        problems.append("no read in the log: the job read nothing from the disk (cached?)")
    for p in problems[:20]:
        print("FAIL:", p)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
