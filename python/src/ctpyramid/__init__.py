"""Level-of-detail pyramids of CT slice stacks: the ctpyramid library from Python.

``build(dir)`` writes ``<dir>/.thumbnail/<level>/<k:06>.tif`` exactly as ``ctpyramid build
dir`` does, byte for byte (the two resume each other's work); ``inspect(dir)`` describes a
stack as ``ctpyramid inspect --json`` does; ``plan(dir, shards)`` splits a build into aligned
shards as ``ctpyramid plan`` does. ``read(dir, level, x, y, z)`` gives any box of the input
(level 0) or of a level of the pyramid as a numpy array; ``crop(dir, out, x, y, z)`` writes
it as TIFF files, as ``ctpyramid crop`` does; ``mesh(dir, iso, ...)`` makes the surface of a
box at an iso value (PyMCubes's triangles), as numpy arrays or a PLY, STL or OBJ file, as
``ctpyramid mesh`` does.

Every keyword argument is the CLI option of the same name (``min_size`` is ``--min-size``):
see ``ctpyramid build --help``. Errors raise ``OSError`` (``errno`` and ``filename`` set) for
the file system, ``SliceError`` (a ``ValueError`` with ``filename``) for a damaged, missing or
mismatched slice, ``ValueError`` for a bad option (a negative or too large integer among
them: the message names its keyword); messages name the file. The GIL is released while a
build, a read, a crop or a mesh runs; Ctrl-C (``KeyboardInterrupt``) stops it cleanly, every output
complete or absent.

CTHarvester's module is ``ct_thumbnail``, installed with this package.
"""

import os
import warnings
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Tuple, Union

from ctpyramid import _native
from ctpyramid._native import Cancelled, SliceError

if TYPE_CHECKING:
    import numpy

__all__ = ["build", "inspect", "plan", "slurm_script", "read", "crop", "mesh", "Cancelled",
           "SliceError", "__version__"]
__version__: str = _native.__version__

PathLike = Union[str, "os.PathLike[str]"]
# One axis of a box: (start, stop), half-open; stop None: to the end of the level.
Range = Tuple[int, Optional[int]]


def build(
    dir: PathLike,
    out: Optional[PathLike] = None,
    *,
    min_size: int = 500,
    layout: str = "slices",
    format: str = "tiff",
    ngff: str = "0.4",
    codec: str = "zstd",
    chunks: Union[None, str, Tuple[int, int, int]] = None,
    voxel_size: Optional[float] = None,
    force: bool = False,
    threads: Optional[int] = None,
    slices: Union[None, str, Tuple[int, Optional[int]]] = None,
    sync: bool = False,
    reader: Optional[str] = None,
    writer: Optional[str] = None,
    prefix: Optional[str] = None,
    ext: Optional[str] = None,
    first: Optional[int] = None,
    last: Optional[int] = None,
    index_length: Optional[int] = None,
    skip_missing: bool = False,
    all_images: bool = False,
    progress: Optional[Callable[[Dict[str, Any]], object]] = None,
) -> Dict[str, Any]:
    """Build the pyramid of the slices in ``dir`` (a folder, or a multi-page TIFF).

    Slices are all of one type, which the levels keep: ``uint8`` or ``uint16`` (gray, or
    color made gray), ``int16`` or ``float32`` (gray TIFF, SampleFormat 2 or 3). Integers
    are averaged as ``(a+b+c+d+2)>>2`` per 2x2 block, then ``(p+q+1)>>1`` per pair of
    slices (int16 in int32, the shift flooring); float32 as ``((a+b)+(c+d))*0.25`` then
    ``(p+q)*0.5``, in float32 (NaN and infinities propagate).

    Levels go to ``out`` (default ``<dir>/.thumbnail``) as ``<out>/<level>/<k:06>.tif``, or
    one multi-page TIFF a level with ``layout="stack"``; with ``format="ome-zarr"``, one
    OME-Zarr store (default ``<dir>.ome.zarr`` beside the folder) whose level 0 is the input,
    written as ``ngff`` ("0.4" or "0.5") with ``codec`` ("zstd" or "blosc-lz4") and
    ``chunks`` (``(z, y, x)`` or ``"Z,Y,X"``, default 16,256,256). Outputs an earlier build
    completed are kept (``force=True`` rebuilds them).

    Options, as the CLI's: ``min_size`` (keep halving while a level is wider or taller),
    ``layout`` ("slices" or "stack"), ``voxel_size`` (micrometres, recorded in the outputs),
    ``threads`` (worker threads, from 1 to 4 x the machine's cores; default one per core),
    ``slices`` (one shard: ``(a, b)`` or ``"a..b"``, see ``plan``), ``sync`` (flush each file
    before naming it), ``reader`` ("auto", "mmap", "buffered") and ``writer`` ("buffered",
    "mapped"); the selection ``prefix``, ``ext``, ``first``, ``last``, ``index_length`` (all
    five or none: files ``<prefix><index>.<ext>``), ``skip_missing`` and ``all_images``.

    ``progress(event)`` is called on the calling thread with each object ``ctpyramid build
    --progress json`` prints, as a dict: ``{"event": "plan", ...}`` (``dtype``: the
    samples' type, ``bits`` their size; ``slices_to_write``: how many progress events
    follow; ``store``: an OME-Zarr store's path, ngff, chunks and codec), one ``{"event":
    "progress", ...}`` per output slice written, and ``{"event": "done", ...}`` (``dtype``
    again).
    ``files_*`` fields count files (TIFF files, or OME-Zarr chunk files), ``slices_*``
    fields output slices; ``kept`` is ``files_kept``. Returning exactly False cancels: the
    build stops within a second, every output complete or absent, and ``Cancelled`` is
    raised. An exception it raises stops the build the same way and propagates.

    Returns the summary: the ``done`` object (slices, levels, files and slices written and
    kept, bytes read, elapsed seconds, out, manifest).
    """
    options = dict(locals())
    del options["dir"], options["progress"]
    return _native.build(dir, options, progress)


def inspect(
    dir: PathLike,
    *,
    min_size: int = 500,
    out: Optional[PathLike] = None,
    format: str = "tiff",
    ngff: str = "0.4",
    codec: str = "zstd",
    chunks: Union[None, str, Tuple[int, int, int]] = None,
    voxel_size: Optional[float] = None,
    prefix: Optional[str] = None,
    ext: Optional[str] = None,
    first: Optional[int] = None,
    last: Optional[int] = None,
    index_length: Optional[int] = None,
    skip_missing: bool = False,
    all_images: bool = False,
) -> Dict[str, Any]:
    """Describe the stack in ``dir`` without writing anything: what ``ctpyramid inspect
    --json`` prints (slices, kinds, levels, the pyramid's state, every problem, every file).
    Each kind of slice names its ``dtype`` (``uint8``, ``uint16``, ``int16`` or ``float32``)
    beside ``bits``.

    With ``format="ome-zarr"``, ``pyramid`` is the state of the store that ``build`` with
    the same ``out``, ``ngff``, ``codec``, ``chunks``, ``min_size`` and ``voxel_size`` would
    find: ``state`` ("none", "complete", "incomplete", "stale"), and what a rerun would keep,
    write and read.

    ``build`` would refuse the stack if ``problems`` is not empty.
    """
    options = dict(locals())
    del options["dir"]
    return _native.inspect(dir, options)


def plan(
    dir: PathLike,
    shards: int,
    *,
    min_size: int = 500,
    format: str = "tiff",
    chunks: Union[None, str, Tuple[int, int, int]] = None,
    prefix: Optional[str] = None,
    ext: Optional[str] = None,
    first: Optional[int] = None,
    last: Optional[int] = None,
    index_length: Optional[int] = None,
    skip_missing: bool = False,
    all_images: bool = False,
) -> List[Dict[str, int]]:
    """Split a build of ``dir`` into at most ``shards`` aligned shards, as ``ctpyramid plan``
    does: a list of ``{"shard": i, "start": a, "end": b}``. Shard i is
    ``build(dir, slices=(a, b), ...)`` with the same selection, ``min_size``, ``format`` and
    ``chunks`` (OME-Zarr shards align to the chunk depth x 2^levels); together they write
    exactly one full build's outputs, on any number of machines.
    """
    options = dict(locals())
    del options["dir"], options["shards"]
    return _native.plan(dir, shards, options)


def slurm_script(
    dir: PathLike,
    shards: int,
    *,
    out: Optional[PathLike] = None,
    min_size: int = 500,
    voxel_size: Optional[float] = None,
    format: str = "tiff",
    ngff: Optional[str] = None,
    codec: Optional[str] = None,
    chunks: Union[None, str, Tuple[int, int, int]] = None,
    prefix: Optional[str] = None,
    ext: Optional[str] = None,
    first: Optional[int] = None,
    last: Optional[int] = None,
    index_length: Optional[int] = None,
    skip_missing: bool = False,
    all_images: bool = False,
) -> str:
    """The Slurm job array that builds ``dir`` in at most ``shards`` aligned shards (those of
    ``plan``), as ``ctpyramid plan --slurm`` prints it: one array task a shard, each running
    ``ctpyramid build`` with these options; paths are absolute. Submit it with ``sbatch``;
    ``ctpyramid`` must be on the compute nodes' PATH.
    """
    options = dict(locals())
    del options["dir"], options["shards"]
    return _native.slurm_script(dir, shards, options)


def read(
    path: PathLike,
    level: int = 0,
    x: Optional[Range] = None,
    y: Optional[Range] = None,
    z: Optional[Range] = None,
    out: Optional["numpy.ndarray"] = None,
    *,
    pyramid: Optional[PathLike] = None,
    reader: Optional[str] = None,
    progress: Optional[Callable[[Dict[str, Any]], object]] = None,
    threads: Optional[int] = None,
    prefix: Optional[str] = None,
    ext: Optional[str] = None,
    first: Optional[int] = None,
    last: Optional[int] = None,
    index_length: Optional[int] = None,
    skip_missing: bool = False,
    all_images: bool = False,
) -> "numpy.ndarray":
    """Read a box of a level of the stack in ``path`` (a folder, or a multi-page TIFF) into a
    numpy array of shape ``(slices, rows, columns)`` and the stack's dtype (``uint8``,
    ``uint16``, ``int16`` or ``float32``, native byte order): what ``ctpyramid crop`` would
    write, in memory.

    ``level`` 0 is the input, selected as ``build`` selects it (the selection keywords are
    ``build``'s); a level >= 1 is read from the TIFF pyramid ``build`` wrote (in
    ``<path>/.thumbnail``, or ``pyramid``: ``build``'s ``out``), which must be complete and
    built from the slices as they are now. ``x`` (columns), ``y`` (rows) and ``z`` (slices)
    are half-open ranges in the level's pixels and slices, ``(start, stop)`` (``stop`` None:
    to the end) or ``"start..stop"``; None is the whole extent. So
    ``read(d, 0, x=(a, b), y=(c, e), z=(f, g))`` equals ``volume[f:g, c:e, a:b]`` of the
    whole stack ``volume``. Only the box is read: where the pixels are stored plainly, only
    the rows of the box of each file; compressed, tiled, PNG and JPEG slices are decoded
    whole, one at a time.

    The array is filled with the GIL released, straight from the files: a new one, or
    ``out``, any writable C-contiguous numpy array of exactly that shape and dtype (a
    ``numpy.memmap`` puts the box in a file), which is returned. ``out`` is being written
    until ``read`` returns: do not resize or free it from ``progress``.

    ``progress(event)`` is called on the calling thread with dicts, as for ``build``:
    ``{"event": "plan", "job": "read", "level": ..., "box": {"x": [a, b], "y": [c, d],
    "z": [e, f]}, "width": ..., "height": ..., "slices": ..., "bits": ..., "dtype": ...,
    "total": ..., ...}``, one ``{"event": "progress", "slice": k, "done": ...,
    "total": ..., ...}`` per slice read, and ``{"event": "done", "job": "read", ...}``
    (``dtype``, slices and bytes read, ``file_bytes_read``: what was read of the files).
    Returning exactly False cancels: ``Cancelled`` is raised within a second (``out`` is then
    partly filled). An exception it raises, or Ctrl-C, stops the read the same way and
    propagates.

    Raises ``ValueError`` naming the axis for a box outside the level, empty (``(3, 3)``)
    or reversed (``(5, 2)``) (``x=0..100: outside the level's columns 0..64``), naming
    ``level`` for a level the pyramid lacks or a pyramid that is missing or out of date, and
    naming ``out`` for an ``out`` of another shape or dtype, not C-contiguous or read-only
    (``TypeError`` if it is no numpy array); ``SliceError`` for a slice of another size or
    type; ``OSError`` for the file system; ``ImportError`` without numpy (imported by the
    first ``read``, not by the package). ``threads``: worker threads copying rows (1 to 4 x
    the machine's cores, default one per core); ``reader`` as for ``build``.
    """
    options = dict(locals())
    del options["path"], options["out"], options["progress"]
    return _native.read(path, options, out, progress)


def crop(
    path: PathLike,
    out: PathLike,
    x: Optional[Range] = None,
    y: Optional[Range] = None,
    z: Optional[Range] = None,
    level: int = 0,
    progress: Optional[Callable[[Dict[str, Any]], object]] = None,
    *,
    layout: str = "slices",
    format: str = "tiff",
    ngff: Optional[str] = None,
    codec: Optional[str] = None,
    chunks: Union[None, str, Tuple[int, int, int]] = None,
    min_size: int = 500,
    pyramid: Optional[PathLike] = None,
    force: bool = False,
    sync: bool = False,
    reader: Optional[str] = None,
    threads: Optional[int] = None,
    prefix: Optional[str] = None,
    ext: Optional[str] = None,
    first: Optional[int] = None,
    last: Optional[int] = None,
    index_length: Optional[int] = None,
    skip_missing: bool = False,
    all_images: bool = False,
) -> Dict[str, Any]:
    """Write a box of a level of the stack in ``path`` into the folder ``out`` as TIFF files
    (or, ``format="ome-zarr"``, one OME-Zarr store ``out`` of the box with its own levels, as
    ``build`` makes them with ``min_size``, ``ngff``, ``codec``, ``chunks``),
    as ``ctpyramid crop path --x ... --out out`` does: the box and the level as for ``read``
    (``x``, ``y``, ``z`` half-open ranges, ``(start, stop)`` or ``"start..stop"``, None the
    whole extent; ``level`` 0 the input, >= 1 the pyramid ``build`` wrote, or ``pyramid``).

    ``layout="slices"`` writes one TIFF a slice, named after the input slices at level 0
    (``s_rec00000421.bmp`` gives ``s_rec00000421.tif``) and ``<k:06>.tif`` at a level >= 1;
    ``layout="stack"`` one multi-page ``crop.tif`` (ImageJ opens it as a z-stack). Then
    ``crop.json``: the box, its origin in micrometres when the voxel size is known, the
    files. Files an earlier run of the same crop completed are kept (``force=True`` rewrites
    them); every file is complete under its final name or absent; ``sync`` flushes each file
    before naming it.

    ``progress`` as for ``build``: ``{"event": "plan", "job": "crop", ...}``, one
    ``progress`` dict per file written (per slice, with ``layout="stack"``), then the
    ``done`` dict; returning exactly False cancels (``Cancelled``). Errors as for ``read``.

    Returns the summary, the ``done`` dict: ``job`` "crop", ``level``, ``box``, ``bits``,
    ``dtype``, ``slices_read``, ``bytes``, ``file_bytes_read``, ``files_written``,
    ``files_kept``, ``elapsed``, ``out`` (absolute) and ``record`` (``crop.json``).
    """
    options = dict(locals())
    del options["path"], options["out"], options["progress"]
    return _native.crop(path, out, options, progress)


def mesh(
    path: PathLike,
    iso: float,
    level: int = 0,
    x: Optional[Range] = None,
    y: Optional[Range] = None,
    z: Optional[Range] = None,
    units: str = "voxel",
    out: Optional[PathLike] = None,
    progress: Optional[Callable[[Dict[str, Any]], object]] = None,
    *,
    pyramid: Optional[PathLike] = None,
    reader: Optional[str] = None,
    sync: bool = False,
    threads: Optional[int] = None,
    prefix: Optional[str] = None,
    ext: Optional[str] = None,
    first: Optional[int] = None,
    last: Optional[int] = None,
    index_length: Optional[int] = None,
    skip_missing: bool = False,
    all_images: bool = False,
) -> Union[Dict[str, Any], Tuple["numpy.ndarray", "numpy.ndarray"]]:
    """The surface at ``iso`` of a box of a level of the stack in ``path`` (a folder, or a
    multi-page TIFF), by marching cubes, as ``ctpyramid mesh path --iso ISO`` makes it: the
    triangles ``mcubes.marching_cubes(volume, iso)`` (PyMCubes) makes of the box, streamed
    from the files two slices at a time (memory flat whatever the number of slices).

    The box and the level as for ``read``: ``x`` (columns), ``y`` (rows) and ``z`` (slices)
    half-open ranges in the level's pixels and slices, ``(start, stop)`` (``stop`` None: to
    the end) or ``"start..stop"``, None the whole extent; ``level`` 0 the input, selected as
    ``build`` selects it (the same selection keywords), a level >= 1 the pyramid ``build``
    wrote (in ``<path>/.thumbnail``, or ``pyramid``). Any sample type (``uint8``,
    ``uint16``, ``int16``, ``float32``); ``iso`` is in the samples' units.

    The contract, PyMCubes's: a sample greater than ``iso`` is inside (one equal to it is
    outside); a vertex on a cube edge at ``t = (iso - v0) / (v1 - v0)``. Vertices are
    ``(x, y, z)`` (PyMCubes's ``(z, y, x)`` columns reversed): with ``units="voxel"`` in the
    level's voxel indices, the box's origin included (a box's mesh lies where the box is);
    with ``units="um"`` in micrometres by the voxel size ``build`` records (scaled to the
    level), from the centre of the input's first voxel as ``crop.json``'s ``origin_um``, so
    meshes of several levels and boxes overlay. Each triangle is PyMCubes's with its corners
    in reversed order, so that it faces outward (counter-clockwise seen from outside, where
    samples are at or below ``iso``). Beyond PyMCubes: one vertex per point (edges meeting at
    a sample equal to ``iso`` share it), triangles with two corners at one point are
    dropped, and a cube with a NaN corner makes no triangle.

    Without ``out``, returns ``(vertices, faces)``: numpy arrays of ``float32`` shape
    ``(N, 3)`` (x, y, z) and ``uint32`` shape ``(M, 3)`` (indices into ``vertices``), made of
    the library's memory without a copy. With ``out`` (a path ending in ``.ply``: binary
    PLY; ``.stl``: binary STL with facet normals; ``.obj``: Wavefront OBJ text), writes the
    file, complete under its name or absent (written under a temporary name and renamed;
    ``sync`` flushes it to disk first; an existing file is replaced), and returns the
    summary, the ``done`` dict: ``triangles``, ``vertices``, ``degenerate_dropped``,
    ``nan_samples``, ``slices_read``, ``bytes``, ``file_bytes_read``, ``out`` (absolute),
    ``format``, ``out_bytes``, ``warning``, ``elapsed``... An empty mesh for a reason (``iso``
    at or above every sample or below every one, every sample NaN, a box one sample thick)
    is valid, and its ``warning`` is also issued as a ``RuntimeWarning``.

    ``progress(event)`` is called on the calling thread with dicts, as for ``build``:
    ``{"event": "plan", "job": "mesh", "level": ..., "box": ..., "iso": ..., "units": ...,
    "out": ..., "format": ..., "total": ..., ...}``, one ``{"event": "progress", ...}`` per
    slice read, then the ``done`` dict. Returning exactly False cancels: ``Cancelled`` is
    raised within a second and no mesh is left under ``out`` (a file of that name from
    before is left as it was if the cancel stopped the mesh; one the mesh had just completed
    as the cancel came is removed). An exception it raises, or Ctrl-C, stops the mesh the
    same way and propagates. The mesh runs on a thread of its own with the GIL released.

    Raises ``ValueError`` for a NaN ``iso`` (``iso=NaN: ...``), an ``out`` of another
    extension, ``units`` other than "voxel" and "um" (or "um" when the voxel size is not
    known), and a box or level as ``read`` does (``x=0..100: outside the level's columns
    0..64``); ``SliceError`` for a damaged or mismatched slice, naming it; ``OSError`` for
    the file system (``filename`` set). ``threads`` and ``reader`` as for ``read``.
    """
    options = dict(locals())
    for key in ("path", "iso", "out", "progress"):
        del options[key]
    if out is None:
        vertices, faces, summary = _native.mesh(path, iso, options, None, progress)
        _warn(summary)
        return vertices, faces
    summary = _native.mesh(path, iso, options, out, progress)
    _warn(summary)
    return summary


def _warn(summary: Dict[str, Any]) -> None:
    """The reason a mesh is empty, as a RuntimeWarning at the caller's line."""
    if summary.get("warning"):
        warnings.warn(summary["warning"], RuntimeWarning, stacklevel=3)
