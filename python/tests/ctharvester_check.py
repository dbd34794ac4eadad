"""CTHarvester's own code on the drop-in: a manual check, not collected by pytest.

Runs CTHarvester's `ThumbnailGenerator.generate_rust` and `load_thumbnail_data`, unchanged,
from a checkout of CTHarvester, against the `ct_thumbnail` this package installs: build with
progress, load, cancel, resume, a damaged slice. Needs the package installed, and PyQt5,
Pillow, numpy, tifffile in the same environment (no display: Qt runs offscreen):

    python -m pip install ./python "pyqt5>=5.15,<6" pillow numpy tifffile
    QT_QPA_PLATFORM=offscreen python python/tests/ctharvester_check.py /path/to/CTHarvester
"""
import logging
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stacks import (assert_complete_or_absent, assert_pyramid, phantom,  # noqa: E402
                    reference, slow_volume, write_stack)


def main(ctharvester):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    sys.path.insert(0, str(ctharvester))
    from core.thumbnail_generator import ThumbnailGenerator

    import ct_thumbnail
    print("ct_thumbnail from", ct_thumbnail.__file__)
    generator = ThumbnailGenerator()
    assert generator.rust_available, "CTHarvester does not see ct_thumbnail"

    work = Path(tempfile.mkdtemp(prefix="ctharvester-check-"))
    try:
        # 1. Build with progress: 9 slices of 1030x1030 u16 -> 515 x5, 257 x3.
        volume = phantom(9, 1030, 1030, np.uint16, seed=1)
        src = work / "scan"
        write_stack(src, volume)
        values = []
        assert generator.generate_rust(str(src), values.append, lambda: False) is True
        assert values[0] == 0.0 and values[-1] == 100.0 and values == sorted(values), values
        expected = reference(volume)
        assert_pyramid(src / ".thumbnail", expected)
        print(f"build: True, {len(values)} progress calls, 0.0 .. 100.0")

        # 2. Load as the viewer does: the first level under 512 px, 16-bit divided by 256.
        data, info = generator.load_thumbnail_data(str(src))
        assert info["current_level"] == 2, info
        want = (expected[1] / 256).astype(np.uint8)
        assert data.shape == want.shape == (3, 257, 257), data.shape  # ceil(9 / 4) slices
        np.testing.assert_array_equal(data, want)
        print(f"load_thumbnail_data: level {info['current_level']}, {data.shape}: equal to numpy")

        # 3. Cancel from CTHarvester's cancel_check, then resume.
        slow = slow_volume()
        src = work / "slow"
        write_stack(src, slow, compression="zlib")
        calls = []

        def cancel_check():
            calls.append(time.monotonic())
            return len(calls) >= 2

        values = []
        start = time.monotonic()
        assert generator.generate_rust(str(src), values.append, cancel_check) is False
        assert generator.rust_cancelled and 100.0 not in values
        assert time.monotonic() - calls[-1] < 1.0
        expected = reference(slow)
        assert_complete_or_absent(src / ".thumbnail", expected)
        written = len(list((src / ".thumbnail").rglob("*.tif")))
        print(f"cancel: False after {time.monotonic() - start:.2f} s, {written} of "
              f"{sum(len(lvl) for lvl in expected)} files written, each complete")
        values = []
        assert generator.generate_rust(str(src), values.append, lambda: False) is True
        assert_pyramid(src / ".thumbnail", expected)
        print("resume: True, the whole pyramid equal to numpy")

        # 4. A damaged slice: generate_rust returns False and its log names the file.
        src = work / "damaged"
        paths = write_stack(src, phantom(4, 600, 600, np.uint8, seed=3))
        with open(paths[2], "r+b") as f:
            f.truncate(200)
        records = []
        handler = logging.Handler()
        handler.emit = lambda record: records.append(record)
        logging.getLogger().addHandler(handler)
        logging.getLogger().setLevel(logging.INFO)
        assert generator.generate_rust(str(src), None, None) is False
        logged = "\n".join(
            str(r.exc_info[1]) for r in records if r.exc_info and r.exc_info[1] is not None)
        assert str(paths[2]) in logged, logged
        print(f"damaged slice: False, logged: {logged}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("CTHarvester's generate_rust and load_thumbnail_data work on the drop-in")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(Path(sys.argv[1]))
