"""Fixtures: the CLI, and a stack slow enough to stop in the middle."""
import os
import subprocess
from pathlib import Path

import pytest

from stacks import slow_volume, write_stack

ROOT = Path(__file__).resolve().parents[2]


def cli_path():
    return Path(os.environ.get("CTPYRAMID_BIN", ROOT / "target" / "release" / "ctpyramid"))


@pytest.fixture(scope="session")
def cli():
    """Runs the `ctpyramid` binary (CTPYRAMID_BIN, default target/release/ctpyramid)."""
    path = cli_path()
    if not path.is_file():
        pytest.fail(f"{path} is missing: cargo build --release (or set CTPYRAMID_BIN)")

    def run(*args, check=True):
        return subprocess.run([str(path), *map(str, args)], check=check,
                              capture_output=True, text=True)

    return run


@pytest.fixture(scope="session")
def slow_stack(tmp_path_factory):
    """A stack that takes a noticeable time to build (zlib-compressed slices are decoded), to
    cancel or interrupt in the middle: (folder, volume)."""
    folder = tmp_path_factory.mktemp("slow")
    volume = slow_volume()
    write_stack(folder, volume, compression="zlib")
    return folder, volume
