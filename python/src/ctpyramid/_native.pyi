# The extension module (python/src/*.rs); use the functions of `ctpyramid` and
# `ct_thumbnail`. An integer argument or option out of range (negative, too large; `threads`
# beyond 1 to 4 x the cores) raises ValueError naming it.
import os
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

import numpy

__all__ = ["Cancelled", "SliceError", "__version__", "_panic_for_tests", "build",
           "build_thumbnails", "build_thumbnails_optimized", "crop", "inspect", "mesh", "plan",
           "read", "slurm_script"]
__version__: str

class Cancelled(Exception):
    """The progress callback returned False: every output complete or absent."""

class SliceError(ValueError):
    """A damaged, missing or mismatched slice; ``filename`` names it."""
    filename: str

def build(
    input: Union[str, os.PathLike[str]],
    options: Dict[str, Any],
    progress: Optional[Callable[[Dict[str, Any]], object]] = None,
) -> Dict[str, Any]: ...
def inspect(input: Union[str, os.PathLike[str]], options: Dict[str, Any]) -> Dict[str, Any]: ...
def plan(
    input: Union[str, os.PathLike[str]], shards: int, options: Dict[str, Any]
) -> List[Dict[str, int]]: ...
def slurm_script(
    input: Union[str, os.PathLike[str]], shards: int, options: Dict[str, Any]
) -> str: ...
# The box as a (slices, rows, columns) array of the stack's dtype: uint8, uint16, int16 or
# float32, native byte order.
def read(
    input: Union[str, os.PathLike[str]],
    options: Dict[str, Any],
    out: Optional[numpy.ndarray] = None,
    progress: Optional[Callable[[Dict[str, Any]], object]] = None,
) -> numpy.ndarray: ...
def crop(
    input: Union[str, os.PathLike[str]],
    out: Union[str, os.PathLike[str]],
    options: Dict[str, Any],
    progress: Optional[Callable[[Dict[str, Any]], object]] = None,
) -> Dict[str, Any]: ...
# With out: writes the file (.ply, .stl, .obj) and returns the summary dict; without:
# (vertices float32 (N, 3), faces uint32 (M, 3), summary dict).
def mesh(
    input: Union[str, os.PathLike[str]],
    iso: float,
    options: Dict[str, Any],
    out: Optional[Union[str, os.PathLike[str]]] = None,
    progress: Optional[Callable[[Dict[str, Any]], object]] = None,
) -> Union[Dict[str, Any], Tuple[numpy.ndarray, numpy.ndarray, Dict[str, Any]]]: ...
def _panic_for_tests() -> None: ...
def build_thumbnails(
    input_dir: Union[str, os.PathLike[str]],
    py_progress_cb: Optional[Callable[[float], object]] = None,
    prefix: Optional[str] = None,
    file_type: Optional[str] = None,
    seq_begin: Optional[int] = None,
    seq_end: Optional[int] = None,
    index_length: Optional[int] = None,
) -> None: ...
build_thumbnails_optimized = build_thumbnails
