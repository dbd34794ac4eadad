"""ct_thumbnail: CTHarvester's interface, on ctpyramid."""
import errno
import itertools
import os
import shutil
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import tifffile

import ctpyramid
from ct_thumbnail import build_thumbnails, build_thumbnails_optimized
from stacks import (assert_complete_or_absent, assert_pyramid, copy_stack, interrupt_midway,
                    json_lines, phantom, reference, tree_bytes, write_stack)


class Recorder:
    """CTHarvester's `internal_progress_callback` pattern: records each call (value, thread,
    time) and returns True, or False from call number `cancel_at` on."""

    def __init__(self, cancel_at=None, result=True):
        self.calls = []
        self.cancel_at = cancel_at
        self.result = result
        self.cancelled_at = None

    def __call__(self, percentage):
        self.calls.append((percentage, threading.get_ident(), time.monotonic()))
        if self.cancel_at is not None and len(self.calls) >= self.cancel_at:
            if self.cancelled_at is None:
                self.cancelled_at = time.monotonic()
            return False
        return self.result

    @property
    def values(self):
        return [c[0] for c in self.calls]


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_outputs_equal_numpy_and_the_cli(tmp_path, cli, dtype):
    # 7 slices (odd at every level), 1030 x 521: levels 515x260 x4 and 257x130 x2.
    volume = phantom(7, 521, 1030, dtype, seed=1)
    src = tmp_path / "a"
    write_stack(src, volume)
    copy_stack(src, tmp_path / "b")
    assert build_thumbnails(str(src)) is None
    expected = reference(volume)
    assert [lvl.shape for lvl in expected] == [(4, 260, 515), (2, 130, 257)]
    assert_pyramid(src / ".thumbnail", expected)
    for path in (src / ".thumbnail").rglob("*.tif"):
        assert tifffile.imread(path).dtype == dtype
    cli("build", tmp_path / "b", "--quiet")
    assert tree_bytes(src / ".thumbnail") == tree_bytes(tmp_path / "b" / ".thumbnail")
    # The CLI takes the module's outputs as its own: nothing left to do.
    done = json_lines(cli("build", src, "--progress", "json").stdout)[-1]
    assert done["files_written"] == 0 and done["files_kept"] == 6


def test_ctharvester_calling_pattern(tmp_path, slow_stack):
    folder, volume = slow_stack
    src = copy_stack(folder, tmp_path / "s")
    progress = Recorder()
    start = time.monotonic()
    assert build_thumbnails(str(src), progress) is None
    elapsed = time.monotonic() - start
    values = progress.values
    assert values[0] == 0.0 and values[-1] == 100.0
    assert values.count(100.0) == 1
    assert all(isinstance(v, float) for v in values)
    assert values == sorted(values), "never falling"
    assert len(values) > 2, "percentages between 0 and 100"
    assert {c[1] for c in progress.calls} == {threading.get_ident()}, "on the calling thread"
    # At most about 100 a second (plus the first and the last).
    assert len(values) <= 100 * elapsed + 3, (len(values), elapsed)
    assert_pyramid(src / ".thumbnail", reference(volume))


def test_optimized_is_the_same_function(tmp_path):
    volume = phantom(3, 600, 600, np.uint8, seed=2)
    write_stack(tmp_path, volume)
    progress = Recorder()
    build_thumbnails_optimized(tmp_path, progress)
    assert progress.values[0] == 0.0 and progress.values[-1] == 100.0
    assert_pyramid(tmp_path / ".thumbnail", reference(volume))


def test_callback_returning_none_goes_on(tmp_path, slow_stack):
    folder, volume = slow_stack
    src = copy_stack(folder, tmp_path / "s")
    progress = Recorder(result=None)
    assert build_thumbnails(str(src), progress) is None
    assert progress.values[-1] == 100.0
    assert_pyramid(src / ".thumbnail", reference(volume))


def test_cancel_then_resume_equals_an_uninterrupted_build(tmp_path, slow_stack, cli):
    folder, volume = slow_stack
    src = copy_stack(folder, tmp_path / "s")
    whole = copy_stack(folder, tmp_path / "whole")
    expected = reference(volume)
    # True for the first calls, then False: CTHarvester's cancel button.
    progress = Recorder(cancel_at=2)
    assert build_thumbnails(str(src), progress) is None
    returned = time.monotonic()
    assert progress.cancelled_at is not None
    assert returned - progress.cancelled_at < 1.0, "cancel takes effect within a second"
    assert 100.0 not in progress.values, "no 100.0 after a cancel"
    assert len(progress.values) == 2, "no call after the one that cancelled"
    assert_complete_or_absent(src / ".thumbnail", expected)
    written = len(list((src / ".thumbnail").rglob("*.tif")))
    assert written < sum(len(lvl) for lvl in expected), "cancelled before the end"
    assert not (src / ".thumbnail" / "pyramid.json").exists()

    resumed = Recorder()
    build_thumbnails(str(src), resumed)
    assert resumed.values[0] == 0.0 and resumed.values[-1] == 100.0
    assert_pyramid(src / ".thumbnail", expected)
    cli("build", whole, "--quiet")
    assert tree_bytes(src / ".thumbnail") == tree_bytes(whole / ".thumbnail")


def test_cancel_at_the_first_call_writes_nothing(tmp_path):
    volume = phantom(4, 600, 600, np.uint16, seed=3)
    write_stack(tmp_path, volume)
    progress = Recorder(cancel_at=1)
    assert build_thumbnails(tmp_path, progress) is None
    assert progress.values == [0.0]
    assert not list(tmp_path.rglob(".thumbnail/**/*.tif"))


class Boom(Exception):
    pass


def test_an_exception_from_the_callback_stops_and_propagates(tmp_path, slow_stack):
    folder, volume = slow_stack
    src = copy_stack(folder, tmp_path / "s")
    raised = Boom("from the callback")
    calls = []

    def progress(pct):
        calls.append(pct)
        if len(calls) == 2:
            raise raised
        return True

    with pytest.raises(Boom) as info:
        build_thumbnails(str(src), progress)
    assert info.value is raised, "propagates unchanged"
    assert len(calls) == 2 and 100.0 not in calls
    expected = reference(volume)
    assert_complete_or_absent(src / ".thumbnail", expected)
    assert len(list((src / ".thumbnail").rglob("*.tif"))) < sum(len(lvl) for lvl in expected)


def test_a_damaged_slice_raises_naming_it(tmp_path):
    volume = phantom(6, 600, 600, np.uint16, seed=4)
    paths = write_stack(tmp_path, volume)
    damaged = paths[3]
    with open(damaged, "r+b") as f:
        f.truncate(os.path.getsize(damaged) // 2)
    progress = Recorder()
    with pytest.raises(ValueError) as info:
        build_thumbnails(str(tmp_path), progress)
    assert str(damaged) in str(info.value)
    assert info.value.filename == str(damaged)
    assert 100.0 not in progress.values
    # The pairs before it are complete; nothing after it, nothing half-written.
    assert_complete_or_absent(tmp_path / ".thumbnail", reference(volume))


def test_a_mismatched_slice_raises_naming_it(tmp_path):
    volume = phantom(4, 600, 600, np.uint16, seed=5)
    paths = write_stack(tmp_path, volume)
    tifffile.imwrite(paths[2], phantom(1, 600, 602, np.uint16)[0])
    with pytest.raises(ValueError, match=str(paths[2]).replace(".", r"\.")):
        build_thumbnails(str(tmp_path))


def test_file_system_errors_are_oserrors_with_errno_and_filename(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(OSError) as info:
        build_thumbnails(str(missing))
    assert info.value.errno == errno.ENOENT
    assert info.value.filename == str(missing)
    assert isinstance(info.value, FileNotFoundError)

    write_stack(tmp_path / "ro", phantom(2, 600, 600, np.uint8))
    (tmp_path / "ro" / ".thumbnail").write_text("a file where the folder goes")
    with pytest.raises(OSError) as info:
        build_thumbnails(str(tmp_path / "ro"))
    assert info.value.errno is not None
    assert str(tmp_path / "ro" / ".thumbnail") in str(info.value.filename)


def test_selection_arguments_skip_missing_numbers(tmp_path, cli):
    volume = phantom(10, 520, 700, np.uint16, seed=6)
    write_stack(tmp_path / "s", volume, prefix="CO-1__rec", digits=4, start=10)
    (tmp_path / "s" / "CO-1__rec0014.tif").unlink()  # number 14 has no file
    other = phantom(1, 520, 700, np.uint16, seed=7)
    tifffile.imwrite(tmp_path / "s" / "other.tif", other[0])
    copy_stack(tmp_path / "s", tmp_path / "c")
    kept = np.delete(volume, 4, axis=0)
    build_thumbnails(str(tmp_path / "s"), None, "CO-1__rec", "tif", 10, 19, 4)
    assert_pyramid(tmp_path / "s" / ".thumbnail", reference(kept))
    # The CLI needs --skip-missing for the same (a gap is an error by default).
    failed = cli("build", tmp_path / "c", "--prefix", "CO-1__rec", "--ext", "tif", "--first", 10,
                 "--last", 19, "--index-length", 4, check=False)
    assert failed.returncode == 1 and "CO-1__rec0014" in failed.stderr
    cli("build", tmp_path / "c", "--prefix", "CO-1__rec", "--ext", "tif", "--first", 10,
        "--last", 19, "--index-length", 4, "--skip-missing", "--quiet")
    assert tree_bytes(tmp_path / "s" / ".thumbnail") == tree_bytes(tmp_path / "c" / ".thumbnail")
    # Without all five, ctpyramid's default selection: the most common numbered name,
    # CO-1__rec####.tif, whose number 14 has no file. CTHarvester calls with the folder alone
    # and its own module stacks every image, so the drop-in leaves the gap out (other.tif
    # too) rather than fail a build that used to work...
    shutil.rmtree(tmp_path / "s" / ".thumbnail")
    build_thumbnails(str(tmp_path / "s"), None, "CO-1__rec", "tif", 10, 19)
    assert_pyramid(tmp_path / "s" / ".thumbnail", reference(kept))
    # ...as ctpyramid.build does with skip_missing, where by default the gap is an error
    # naming the missing file.
    out = tmp_path / "default"
    with pytest.raises(ValueError, match="CO-1__rec0014.tif: missing"):
        ctpyramid.build(tmp_path / "s", out)
    ctpyramid.build(tmp_path / "s", out, skip_missing=True)
    assert_pyramid(out, reference(kept))


@pytest.mark.parametrize("argument,value", [
    ("seq_begin", -1), ("seq_end", -1), ("index_length", -1), ("seq_end", 2**64),
])
def test_a_selection_number_out_of_range_is_a_value_error_naming_it(tmp_path, argument, value):
    # pyo3 alone raised OverflowError, naming no argument.
    write_stack(tmp_path, phantom(2, 600, 600, np.uint8))
    selection = dict(prefix="s_rec", file_type="tif", seq_begin=0, seq_end=1, index_length=8)
    progress = Recorder()
    with pytest.raises(ValueError, match=rf"^{argument}={value}: expected an integer from 0 "):
        build_thumbnails(str(tmp_path), progress, **{**selection, argument: value})
    assert progress.calls == [], "refused before the build starts"
    assert not (tmp_path / ".thumbnail").exists()


def test_the_gil_is_released(tmp_path, slow_stack):
    folder, _ = slow_stack
    src = copy_stack(folder, tmp_path / "s")
    done = threading.Event()
    ticks = []

    def count():
        while not done.is_set():
            ticks.append(time.monotonic())
            time.sleep(0.001)

    counter = threading.Thread(target=count)
    counter.start()
    try:
        start = time.monotonic()
        build_thumbnails(str(src))
        elapsed = time.monotonic() - start
    finally:
        done.set()
        counter.join()
    # The other thread ran all along (a held GIL would starve it for the whole build).
    gaps = np.diff(ticks)
    assert len(ticks) > 10 and gaps.max() < max(0.2, elapsed / 3), (len(ticks), gaps.max())


@pytest.mark.parametrize("module,function,args", [
    ("ct_thumbnail", "build_thumbnails", ""),
    ("ct_thumbnail", "build_thumbnails", ", lambda pct: True"),
    ("ctpyramid", "build", ", threads=1"),
])
def test_keyboard_interrupt_stops_cleanly(tmp_path, slow_stack, cli, module, function, args):
    folder, volume = slow_stack
    copies = itertools.count()
    latency, src = interrupt_midway(f"from {module} import {function}", f"{function}(src{args})",
                                    lambda: copy_stack(folder, tmp_path / f"s{next(copies)}"))
    assert latency < 1.0
    expected = reference(volume)
    assert_complete_or_absent(src / ".thumbnail", expected)
    # Resumed by the CLI: the same as one uninterrupted build.
    cli("build", src, "--quiet")
    assert_pyramid(src / ".thumbnail", expected)
