"""ctpyramid: build, inspect and plan, against the CLI and numpy."""
import errno
import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import tifffile

import ctpyramid
from stacks import (assert_complete_or_absent, assert_pyramid, copy_stack, json_lines,
                      phantom, reference, tree_bytes, write_stack)

# What differs between two runs of the same build: the clock, where it wrote, and how many
# slices were read when a file was written (the writer thread's timing).
VOLATILE = {"elapsed", "eta", "out", "manifest"}


def stable(event):
    volatile = VOLATILE | ({"done", "bytes"} if event["event"] == "progress" else set())
    return {k: v for k, v in event.items() if k not in volatile}


def test_event_stream_is_the_clis(tmp_path, cli):
    volume = phantom(9, 1100, 1030, np.uint16, seed=10)
    write_stack(tmp_path / "a", volume)
    copy_stack(tmp_path / "a", tmp_path / "b")
    events = []
    summary = ctpyramid.build(tmp_path / "a", progress=events.append)
    lines = json_lines(cli("build", tmp_path / "b", "--progress", "json").stdout)
    assert [stable(e) for e in events] == [stable(e) for e in lines]
    # Same keys, same types, the same order of outputs.
    assert [list(e) for e in events] == [list(e) for e in lines]
    assert events[0]["event"] == "plan" and events[-1]["event"] == "done"
    assert events[0]["out"] == str(tmp_path / "a" / ".thumbnail")
    assert summary == events[-1]
    assert summary["files_written"] == 5 + 3  # 515x550 x5, 257x275 x3
    assert [(e["level"], e["slice"]) for e in events if e["event"] == "progress"][:3] == [
        (1, 0), (1, 1), (2, 0)]
    progress = [e for e in events if e["event"] == "progress"]
    for key in ("done", "bytes", "elapsed"):
        assert [e[key] for e in progress] == sorted(e[key] for e in progress)
    assert_pyramid(tmp_path / "a" / ".thumbnail", reference(volume))
    assert tree_bytes(tmp_path / "a" / ".thumbnail") == tree_bytes(tmp_path / "b" / ".thumbnail")
    # pyramid.json too: the CLI and the module resume each other.
    recorded = json.loads((tmp_path / "a" / ".thumbnail" / "pyramid.json").read_text())
    assert recorded["levels"] == json.loads(
        (tmp_path / "b" / ".thumbnail" / "pyramid.json").read_text())["levels"]


def test_options_are_the_clis(tmp_path, cli):
    volume = phantom(5, 540, 1040, np.uint8, seed=11)
    write_stack(tmp_path / "a", volume)
    copy_stack(tmp_path / "a", tmp_path / "b")
    out = tmp_path / "out"
    summary = ctpyramid.build(tmp_path / "a", out, min_size=200, layout="stack", voxel_size=4.5,
                              threads=1, sync=True, reader="buffered")
    assert summary["out"] == str(out) and summary["levels"] == 3
    cli("build", tmp_path / "b", "--out", tmp_path / "cli", "--min-size", 200, "--layout",
        "stack", "--voxel-size", 4.5, "--quiet")
    assert tree_bytes(out) == tree_bytes(tmp_path / "cli")
    for level, want in enumerate(reference(volume, min_size=200), start=1):
        got = tifffile.imread(out / f"level{level}.tif")
        np.testing.assert_array_equal(got.reshape(want.shape), want)
    again = ctpyramid.build(tmp_path / "a", out, min_size=200, layout="stack", voxel_size=4.5)
    assert again["files_written"] == 0 and again["files_kept"] == 3
    forced = ctpyramid.build(tmp_path / "a", out, min_size=200, layout="stack", voxel_size=4.5,
                             force=True)
    assert forced["files_written"] == 3


def test_bad_options(tmp_path):
    write_stack(tmp_path, phantom(2, 600, 600, np.uint8))
    with pytest.raises(ValueError, match="layout"):
        ctpyramid.build(tmp_path, layout="cube")
    with pytest.raises(TypeError):
        ctpyramid.build(tmp_path, colour=True)
    with pytest.raises(ValueError, match="all five"):
        ctpyramid.build(tmp_path, prefix="s_rec")
    with pytest.raises(ValueError, match="voxel_size"):
        ctpyramid.build(tmp_path, voxel_size=-1.0)


SELECTION = dict(prefix="s_rec", ext="tif", first=0, last=1, index_length=8)


@pytest.mark.parametrize("value", [-1, 2**64])
@pytest.mark.parametrize("keyword", ["min_size", "first", "last", "index_length", "threads"])
def test_an_integer_out_of_range_is_a_value_error_naming_its_keyword(tmp_path, keyword, value):
    # pyo3 alone raised OverflowError (no ValueError), naming no keyword.
    write_stack(tmp_path, phantom(2, 600, 600, np.uint8))
    options = {**SELECTION, keyword: value} if keyword in SELECTION else {keyword: value}
    with pytest.raises(ValueError, match=rf"^{keyword}={value}: expected an integer from "):
        ctpyramid.build(tmp_path, **options)
    assert not (tmp_path / ".thumbnail").exists()
    if keyword != "threads":
        with pytest.raises(ValueError, match=rf"^{keyword}={value}: "):
            ctpyramid.inspect(tmp_path, **options)
        with pytest.raises(ValueError, match=rf"^{keyword}={value}: "):
            ctpyramid.plan(tmp_path, 2, **options)


def test_integers_in_tuples_and_shards_out_of_range(tmp_path):
    write_stack(tmp_path, phantom(2, 600, 600, np.uint8))
    for chunks in [(16, -1, 256), (2**64, 256, 256)]:
        with pytest.raises(ValueError, match=r"^chunks=\(.*\): expected three positive integers"):
            ctpyramid.build(tmp_path, format="ome-zarr", chunks=chunks)
    with pytest.raises(ValueError, match=r"^slices=\(-2, 4\): "):
        ctpyramid.build(tmp_path, slices=(-2, 4))
    with pytest.raises(ValueError, match=r"^slices=\(0, 18446744073709551616\): "):
        ctpyramid.build(tmp_path, slices=(0, 2**64))
    for shards in (-1, 2**64):
        with pytest.raises(ValueError, match=rf"^shards={shards}: expected an integer from 0 "):
            ctpyramid.plan(tmp_path, shards)
    # numpy's integers too; a float is a TypeError, naming the keyword as well.
    with pytest.raises(ValueError, match=r"^min_size=-1: "):
        ctpyramid.build(tmp_path, min_size=np.int64(-1))
    with pytest.raises(TypeError, match=r"^min_size: "):
        ctpyramid.build(tmp_path, min_size=2.5)
    with pytest.raises(TypeError, match=r"^chunks: "):
        ctpyramid.build(tmp_path, format="ome-zarr", chunks=(16, 2.5, 256))
    assert not (tmp_path / ".thumbnail").exists() and not (tmp_path.parent / (
        tmp_path.name + ".ome.zarr")).exists()


def test_threads_from_one_to_four_per_core(tmp_path):
    volume = phantom(2, 600, 600, np.uint8)
    write_stack(tmp_path, volume)
    # 0 was taken for the default (one per core); that is None.
    with pytest.raises(ValueError, match=r"^threads=0: expected an integer from 1 to \d+"):
        ctpyramid.build(tmp_path, threads=0)
    # 100000 started 11,049 threads and ran for 10 minutes: refused at once, naming the bound.
    with pytest.raises(ValueError, match=r"^threads=100000: ") as info:
        ctpyramid.build(tmp_path, threads=100000)
    bound = re.search(r"from 1 to (\d+) \(4 x the (\d+) cores of this machine\)",
                      str(info.value))
    assert bound, str(info.value)
    most, cores = int(bound.group(1)), int(bound.group(2))
    assert most == 4 * cores and cores >= 1
    with pytest.raises(ValueError, match=rf"^threads={most + 1}: .* from 1 to {most} "):
        ctpyramid.build(tmp_path, threads=most + 1)
    assert not (tmp_path / ".thumbnail").exists()
    # The bound itself is taken, and None is one per core.
    assert ctpyramid.build(tmp_path, threads=most)["files_written"] == 1
    assert ctpyramid.build(tmp_path, threads=None, force=True)["files_written"] == 1
    assert_pyramid(tmp_path / ".thumbnail", reference(volume))


def test_shards_from_plan_make_one_build(tmp_path, cli):
    volume = phantom(21, 520, 1030, np.uint16, seed=12)
    write_stack(tmp_path / "a", volume)
    shards = ctpyramid.plan(tmp_path / "a", 3)
    text = cli("plan", tmp_path / "a", "--shards", 3).stdout
    assert [f"shard {s['shard']}: --slices {s['start']}..{s['end']}" for s in shards] == [
        ln for ln in text.splitlines() if ln.startswith("shard ")]
    assert shards[0]["start"] == 0 and shards[-1]["end"] == 21
    for s in reversed(shards):
        ctpyramid.build(tmp_path / "a", slices=(s["start"], s["end"]))
    assert_pyramid(tmp_path / "a" / ".thumbnail", reference(volume))
    assert (tmp_path / "a" / ".thumbnail" / "pyramid.json").exists()
    with pytest.raises(ValueError, match="aligned"):
        ctpyramid.build(tmp_path / "a", slices="1..5", force=True)
    # The Slurm job array is the CLI's, with the folder's absolute path.
    script = ctpyramid.slurm_script(tmp_path / "a", 3, out="relative/out")
    assert script == cli("plan", tmp_path / "a", "--shards", 3, "--out", "relative/out",
                         "--slurm").stdout.rstrip("\n")
    assert f"'{os.path.abspath(tmp_path / 'a')}'" in script
    assert f"'{os.path.abspath('relative/out')}'" in script


def test_inspect_is_the_clis(tmp_path, cli):
    volume = phantom(4, 600, 700, np.uint16, seed=13)
    paths = write_stack(tmp_path, volume)
    report = ctpyramid.inspect(tmp_path)
    assert report == json.loads(cli("inspect", tmp_path, "--json").stdout)
    assert report["slices"] == 4 and report["problems"] == []
    assert report["pyramid"]["state"] == "none"
    with open(paths[1], "r+b") as f:
        f.truncate(100)
    report = ctpyramid.inspect(tmp_path)
    assert [p["slice"] for p in report["problems"]] == [str(paths[1])]
    assert report == json.loads(cli("inspect", tmp_path, "--json", check=False).stdout)


def test_cancel_raises_cancelled_and_resumes(tmp_path, slow_stack):
    folder, volume = slow_stack
    src = copy_stack(folder, tmp_path / "s")
    seen = []

    def progress(event):
        seen.append(event)
        return False if event["event"] == "progress" else None

    with pytest.raises(ctpyramid.Cancelled):
        ctpyramid.build(src, threads=1, progress=progress)
    assert [e["event"] for e in seen] == ["plan", "progress"], "nothing after a cancel"
    expected = reference(volume)
    assert_complete_or_absent(src / ".thumbnail", expected)
    summary = ctpyramid.build(src)
    assert summary["files_kept"] >= 1
    assert_pyramid(src / ".thumbnail", expected)


def test_errors(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        ctpyramid.build(tmp_path / "none")
    assert info.value.errno == errno.ENOENT and info.value.filename == str(tmp_path / "none")
    paths = write_stack(tmp_path / "d", phantom(4, 600, 600, np.uint8))
    paths[2].write_bytes(b"II*\x00garbage")
    with pytest.raises(ctpyramid.SliceError) as info:
        ctpyramid.build(tmp_path / "d")
    assert isinstance(info.value, ValueError)
    assert info.value.filename == str(paths[2]) and str(paths[2]) in str(info.value)

    class Stop(Exception):
        pass

    def progress(event):
        raise Stop(event["event"])

    write_stack(tmp_path / "e", phantom(2, 600, 600, np.uint8))
    with pytest.raises(Stop, match="plan"):
        ctpyramid.build(tmp_path / "e", progress=progress)
    assert_complete_or_absent(tmp_path / "e" / ".thumbnail",
                              reference(phantom(2, 600, 600, np.uint8)))


def test_help_and_stubs():
    assert "progress" in ctpyramid.build.__doc__ and "--progress json" in ctpyramid.build.__doc__
    package = os.path.dirname(ctpyramid.__file__)
    assert os.path.exists(os.path.join(package, "py.typed"))
    assert os.path.exists(os.path.join(package, "_native.pyi"))
    assert callable(ctpyramid.inspect) and callable(ctpyramid.plan)
    assert ctpyramid.__version__


def test_the_sources_do_not_shadow_the_installed_package():
    # Python started in python/ (the current folder first on sys.path) imports the installed
    # package: the sources are in python/src/ctpyramid, which has no native extension.
    python_dir = Path(__file__).resolve().parents[1]
    script = ("import ctpyramid, ct_thumbnail; print(ctpyramid.__file__); "
              "print(ct_thumbnail.__file__); print(ctpyramid.build, ct_thumbnail.build_thumbnails)")
    run = subprocess.run([sys.executable, "-c", script], cwd=python_dir, capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    for module in run.stdout.splitlines()[:2]:
        assert python_dir not in Path(module).resolve().parents, module
    assert Path(run.stdout.splitlines()[0]).resolve() == Path(ctpyramid.__file__).resolve()


def test_many_builds_on_threads(tmp_path):
    # Several builds at once, each from its own Python thread: independent and complete.
    vols = [phantom(3, 520, 600, np.uint16, seed=20 + i) for i in range(3)]
    for i, v in enumerate(vols):
        write_stack(tmp_path / str(i), v)
    errors = []

    def one(i):
        try:
            ctpyramid.build(tmp_path / str(i))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for i, v in enumerate(vols):
        assert_pyramid(tmp_path / str(i) / ".thumbnail", reference(v))


def test_a_panic_is_a_runtime_error_not_a_panic_exception():
    from ctpyramid import _native
    with pytest.raises(RuntimeError, match="internal error.*deliberate panic") as info:
        _native._panic_for_tests()
    assert type(info.value) is RuntimeError


def test_ome_zarr_options_are_the_clis(tmp_path, cli):
    volume = phantom(7, 130, 90, np.uint16, seed=12)
    write_stack(tmp_path / "a", volume)
    copy_stack(tmp_path / "a", tmp_path / "b")
    summary = ctpyramid.build(tmp_path / "a", min_size=20, format="ome-zarr", ngff="0.5",
                              codec="blosc-lz4", chunks=(2, 32, 16), voxel_size=3.0)
    assert summary["out"] == str(tmp_path / "a.ome.zarr")
    cli("build", tmp_path / "b", "--min-size", 20, "--format", "ome-zarr", "--ngff", "0.5",
        "--codec", "blosc-lz4", "--chunks", "2,32,16", "--voxel-size", 3.0)
    # The same store, byte for byte (named after the stack's folder, "a" and "b", in the
    # multiscales metadata).
    def tree(root):
        return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    a, b = tree(tmp_path / "a.ome.zarr"), tree(tmp_path / "b.ome.zarr")
    assert sorted(a) == sorted(b) and "zarr.json" in a and "0/zarr.json" in a
    assert all(a[k] == b[k] for k in a if k != "zarr.json")
    # Shards of an OME-Zarr build align to the chunk depth x 2^levels (2 x 2^3 here).
    shards = ctpyramid.plan(tmp_path / "a", 4, min_size=20, format="ome-zarr", chunks="2,32,16")
    assert [(s["start"], s["end"]) for s in shards] == [(0, 7)]
    with pytest.raises(ValueError, match="chunks"):
        ctpyramid.build(tmp_path / "a", format="ome-zarr", chunks=(0, 1, 1))


def test_ome_zarr_inspect_and_counts_are_the_clis(tmp_path, cli):
    volume = phantom(7, 130, 90, np.uint16, seed=14)
    write_stack(tmp_path / "a", volume)
    opts = dict(min_size=20, format="ome-zarr", ngff="0.5", codec="blosc-lz4", chunks=(2, 32, 16))
    args = ("--min-size", 20, "--format", "ome-zarr", "--ngff", "0.5", "--codec", "blosc-lz4",
            "--chunks", "2,32,16")
    store = tmp_path / "a.ome.zarr"
    report = ctpyramid.inspect(tmp_path / "a", **opts)
    assert report == json.loads(cli("inspect", tmp_path / "a", "--json", *args).stdout)
    assert report["pyramid"]["state"] == "none"
    events = []
    summary = ctpyramid.build(tmp_path / "a", progress=events.append, **opts)
    plan = events[0]
    assert plan["store"] == {"path": str(store), "ngff": "0.5", "chunks": [2, 32, 16],
                             "codec": "blosc-lz4"}
    # Counted on disk: chunk files (not the zarr.json metadata) and every level's slices.
    chunks = [p for p in store.rglob("*") if p.is_file() and p.name != "zarr.json"]
    levels = [json.loads((store / str(l) / "zarr.json").read_text())["shape"][0]
              for l in range(summary["levels"] + 1)]
    assert summary["files_written"] == plan["files_to_write"] == len(chunks)
    assert summary["slices_written"] == plan["slices_to_write"] == sum(levels)
    assert len([e for e in events if e["event"] == "progress"]) == sum(levels)
    report = ctpyramid.inspect(tmp_path / "a", **opts)
    assert report == json.loads(cli("inspect", tmp_path / "a", "--json", *args).stdout)
    assert report["pyramid"]["state"] == "complete"
    assert report["pyramid"]["kept"] == {"files": len(chunks), "slices": sum(levels)}
    # Another codec: the store is not that build's.
    assert ctpyramid.inspect(tmp_path / "a", **{**opts, "codec": "zstd"})["pyramid"][
        "state"] == "stale"
    # A chunk of level 1 removed: its chunk row is what a rerun computes, as inspect says.
    next(p for p in chunks if p.relative_to(store).parts[0] == "1").unlink()
    pyramid = ctpyramid.inspect(tmp_path / "a", **opts)["pyramid"]
    assert pyramid["state"] == "incomplete"
    events = []
    summary = ctpyramid.build(tmp_path / "a", progress=events.append, **opts)
    assert events[0]["files_to_write"] == pyramid["to_write"]["files"] == summary["files_written"]
    assert events[0]["slices_kept"] == pyramid["kept"]["slices"] == summary["slices_kept"]
    assert events[0]["total"] == pyramid["to_read"]
