"""CTHarvester's ``ct_thumbnail`` module, built on ctpyramid.

``build_thumbnails(input_dir, py_progress_cb=None, prefix=None, file_type=None,
seq_begin=None, seq_end=None, index_length=None)`` writes the thumbnail pyramid of a folder of
CT slices into ``<input_dir>/.thumbnail/<level>/<k:06>.tif``, exactly as ``ctpyramid build``
does (the two resume each other's work). ``build_thumbnails_optimized`` is the same function.
See ``help(ct_thumbnail.build_thumbnails)``.
"""

from ctpyramid._native import build_thumbnails, build_thumbnails_optimized

__all__ = ["build_thumbnails", "build_thumbnails_optimized"]
