#!/usr/bin/env python3
"""The Python package's build time against the CLI's, without the interpreter's start.

    PYTHON benches/python_module.py DIR [RUNS]     (PYTHON: one that imports ctpyramid)

`compare.sh` times `python -c ...` processes, which pay for starting Python and importing
(0.05-0.2 s on the development VM); this times, in one process, warm page cache, each into an
empty folder (removed and synced before the clock starts), the commands taking turns run by
run, median of RUNS:

- `ctpyramid build DIR --out OUT --quiet`, the CLI (a subprocess: its start is counted);
- `ctpyramid.build(DIR, OUT)`, no callback;
- `ctpyramid.build(DIR, OUT, progress=...)`, a callback taking every event dict;
- `ct_thumbnail.build_thumbnails(DIR, callback)`, CTHarvester's call (into a folder of
  symbolic links to DIR's slices, whose `.thumbnail` leads to OUT: DIR is never written).
"""
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import ct_thumbnail
import ctpyramid

ROOT = Path(__file__).resolve().parents[1]


def main(src, runs):
    cli = os.environ.get("CTPYRAMID_BIN", str(ROOT / "target" / "release" / "ctpyramid"))
    work = Path(tempfile.mkdtemp())
    links = work / "links"
    links.mkdir()
    for f in sorted(Path(src).iterdir()):
        if f.is_file():
            (links / f.name).symlink_to(f.resolve())
    (links / ".thumbnail").symlink_to(work / "ct")
    events = []
    commands = {
        "ctpyramid build (CLI, a process)": lambda out: subprocess.run(
            [cli, "build", src, "--out", out, "--quiet"], check=True),
        "ctpyramid.build(DIR, OUT)": lambda out: ctpyramid.build(src, out),
        "ctpyramid.build(DIR, OUT, progress=events.append)": lambda out: ctpyramid.build(
            src, out, progress=events.append),
        "ct_thumbnail.build_thumbnails(DIR, callback)": lambda out: ct_thumbnail.build_thumbnails(
            str(links), lambda pct: True),
    }
    times = {name: [] for name in commands}
    try:
        for f in Path(src).iterdir():
            f.read_bytes() if f.is_file() else None
        for _ in range(runs):
            for name, command in commands.items():
                out = work / "ct"
                shutil.rmtree(out, ignore_errors=True)
                out.mkdir()
                events.clear()
                os.sync()
                start = time.perf_counter()
                command(str(out))
                times[name].append(time.perf_counter() - start)
        cli_median = statistics.median(times["ctpyramid build (CLI, a process)"])
        print(f"{src}: warm page cache, median of {runs}, interleaved")
        print("| command | wall | x CLI |")
        print("| --- | --- | --- |")
        for name, t in times.items():
            m = statistics.median(t)
            print(f"| {name} | {m:.3f} s | {m / cli_median:.2f} |")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) == 3 else 9)
