import os
from typing import Callable, Optional, Union

def build_thumbnails(
    input_dir: Union[str, os.PathLike[str]],
    py_progress_cb: Optional[Callable[[float], object]] = None,
    prefix: Optional[str] = None,
    file_type: Optional[str] = None,
    seq_begin: Optional[int] = None,
    seq_end: Optional[int] = None,
    index_length: Optional[int] = None,
) -> None:
    """Build ``<input_dir>/.thumbnail/<level>/<k:06>.tif``; the callback gets percentages
    (0.0 first, 100.0 on success) and cancels by returning exactly False."""

def build_thumbnails_optimized(
    input_dir: Union[str, os.PathLike[str]],
    py_progress_cb: Optional[Callable[[float], object]] = None,
    prefix: Optional[str] = None,
    file_type: Optional[str] = None,
    seq_begin: Optional[int] = None,
    seq_end: Optional[int] = None,
    index_length: Optional[int] = None,
) -> None:
    """The same as build_thumbnails."""
