#!/usr/bin/env python3
"""The Python peers of `ctpyramid mesh`, for benches/compare_mesh.sh.

    mesh_peers.py pymcubes DIR ISO OUT.ply
        the path a user runs today: tifffile reads every slice into one numpy array
        volume[z][y][x] (tifffile.imread of the sorted file list), mcubes.marching_cubes(volume,
        ISO) (PyMCubes: uint16 is used as is, no float copy), then numpy writes a binary
        little-endian PLY: float32 x y z vertices (PyMCubes's columns are z y x: reversed),
        faces as uchar 3 + int32 indices.
    mesh_peers.py vtk DIR ISO OUT.ply
        the same volume, wrapped without a copy as vtkImageData (vtk.util.numpy_support), through
        vtkFlyingEdges3D (SetValue(0, ISO); normals and scalars off, so that the mesh holds
        what the others hold: points and triangles) on the STDThread SMP backend (the PyPI
        wheel's default is Sequential: one thread), written by vtkPLYWriter, binary.
    mesh_peers.py count FILE.ply ...
        prints "vertices faces" of each PLY from its header (`element vertex N`, `element face N`).
    mesh_peers.py compare A.ply B.ply
        reads two binary little-endian PLYs (voxel coordinates x y z, 3-index faces) and compares
        their triangles as sets of the lattice edges their corners lie on (orientation ignored),
        and how far apart the two put a vertex on the same edge; prints each mesh's signed volume
        (positive: faces wound counter-clockwise seen from outside).

Independent of ctpyramid. Needs numpy, tifffile, PyMCubes and vtk (compare_mesh.sh's venv).
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from numpy_pyramid import list_slices  # noqa: E402


def read_volume(folder):
    import tifffile
    return tifffile.imread(list_slices(folder))  # (z, y, x), one array


def write_ply(path, vertices_xyz, triangles):
    vertices = np.ascontiguousarray(vertices_xyz, dtype="<f4")
    faces = np.empty(len(triangles), dtype=[("n", "u1"), ("i", "<i4", (3,))])
    faces["n"] = 3
    faces["i"] = triangles
    with open(path, "wb") as f:
        f.write((f"ply\nformat binary_little_endian 1.0\nelement vertex {len(vertices)}\n"
                 "property float x\nproperty float y\nproperty float z\n"
                 f"element face {len(faces)}\nproperty list uchar int vertex_indices\n"
                 "end_header\n").encode("ascii"))
        vertices.tofile(f)
        faces.tofile(f)


def pymcubes(folder, iso, out):
    import mcubes
    volume = read_volume(folder)
    vertices, triangles = mcubes.marching_cubes(volume, iso)
    del volume
    write_ply(out, vertices[:, ::-1], triangles)


def vtk(folder, iso, out):
    from vtkmodules.util import numpy_support
    from vtkmodules.vtkCommonCore import vtkSMPTools
    from vtkmodules.vtkCommonDataModel import vtkImageData
    from vtkmodules.vtkFiltersCore import vtkFlyingEdges3D
    from vtkmodules.vtkIOPLY import vtkPLYWriter
    vtkSMPTools.SetBackend("STDThread")
    volume = read_volume(folder)
    nz, ny, nx = volume.shape
    scalars = numpy_support.numpy_to_vtk(volume.reshape(-1), deep=False)  # x fastest: no copy
    image = vtkImageData()
    image.SetDimensions(nx, ny, nz)
    image.GetPointData().SetScalars(scalars)
    surface = vtkFlyingEdges3D()
    surface.SetInputData(image)
    surface.SetValue(0, iso)
    surface.ComputeNormalsOff()
    surface.ComputeScalarsOff()
    surface.ComputeGradientsOff()
    writer = vtkPLYWriter()
    writer.SetInputConnection(surface.GetOutputPort())
    writer.SetFileName(out)
    writer.SetFileTypeToBinary()
    writer.SetDataByteOrderToLittleEndian()
    writer.Write()


def header(path):
    """(format, [(element, count, [(property type..., name)])], header length)."""
    with open(path, "rb") as f:
        lines = []
        while True:
            line = f.readline()
            if not line:
                raise SystemExit(f"{path}: no end_header")
            lines.append(line.decode("ascii").strip())
            if lines[-1] == "end_header":
                break
        size = f.tell()
    fmt, elements = None, []
    for line in lines:
        words = line.split()
        if words[0] == "format":
            fmt = words[1]
        elif words[0] == "element":
            elements.append((words[1], int(words[2]), []))
        elif words[0] == "property":
            elements[-1][2].append(words[1:])
    return fmt, elements, size


def counts(path):
    _, elements, _ = header(path)
    c = {name: n for name, n, _ in elements}
    return c.get("vertex", 0), c.get("face", 0)


TYPES = {"char": "i1", "int8": "i1", "uchar": "u1", "uint8": "u1", "short": "<i2", "int16": "<i2",
         "ushort": "<u2", "uint16": "<u2", "int": "<i4", "int32": "<i4", "uint": "<u4",
         "uint32": "<u4", "float": "<f4", "float32": "<f4", "double": "<f8", "float64": "<f8"}


def read_mesh(path):
    fmt, elements, size = header(path)
    assert fmt == "binary_little_endian", f"{path}: {fmt}"
    data = np.memmap(path, dtype="u1", mode="r")
    at = size
    points = faces = None
    for name, n, props in elements:
        if name == "vertex":
            dt = np.dtype([(p[-1], TYPES[p[0]]) for p in props])
            v = np.frombuffer(data, dtype=dt, count=n, offset=at)
            points = np.stack([v["x"], v["y"], v["z"]], axis=1).astype(np.float64)
        elif name == "face":
            (kind, count_type, index_type, _), = [p for p in props]
            assert kind == "list"
            dt = np.dtype([("n", TYPES[count_type]), ("i", TYPES[index_type], (3,))])
            f = np.frombuffer(data, dtype=dt, count=n, offset=at)
            assert (f["n"] == 3).all(), f"{path}: a face is not a triangle"
            faces = f["i"].astype(np.int64)
        else:
            raise SystemExit(f"{path}: element {name} not read")
        at += n * dt.itemsize
    return points, faces


def edge_keys(points):
    """Each vertex as the lattice edge it lies on: its two integer coordinates, the floor of
    the third and that axis (the coordinate farthest from an integer), in one int64. Exact
    however the position along the edge was rounded (unless it rounded onto a grid point)."""
    axis = np.argmax(np.abs(points - np.round(points)), axis=1)
    base = np.floor(points).astype(np.int64)
    return ((base[:, 2] << 42) | (base[:, 1] << 22) | (base[:, 0] << 2)) | axis


def compare(a, b):
    """Triangles as sets of lattice edges (see edge_keys), orientation ignored, and the
    positions of the vertices on the same edge."""
    meshes = []
    for path in (a, b):
        points, faces = read_mesh(path)
        keys = edge_keys(points)
        distinct, first = np.unique(keys, return_index=True)
        tri = np.sort(keys[faces], axis=1)
        tri = np.sort(np.ascontiguousarray(tri).view("V24").ravel())
        meshes.append((distinct, points[first], tri))
        a, b, c = (points[faces[:, i]] for i in range(3))
        volume = float(np.einsum("ij,ij->", a, np.cross(b, c))) / 6  # > 0: wound outwards
        print(f"{path}: {len(points)} vertices on {len(distinct)} distinct edges, {len(faces)} "
              f"triangles, signed volume {volume:.6g} voxels")
    (ka, pa, ta), (kb, pb, tb) = meshes
    same = len(ta) == len(tb) and bool((ta == tb).all())
    only_a, only_b = len(np.setdiff1d(ta, tb)), len(np.setdiff1d(tb, ta))
    _, ia, ib = np.intersect1d(ka, kb, assume_unique=True, return_indices=True)
    gap = float(np.abs(pa[ia] - pb[ib]).max()) if len(ia) else float("nan")
    print(f"triangles as sets of lattice edges: {'EQUAL' if same else 'DIFFER'} ({only_a} only "
          f"in the first, {only_b} only in the second); vertices on the same edge differ by at "
          f"most {gap:.3g} voxel")
    return 0 if same else 1


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "pymcubes":
        pymcubes(args[0], float(args[1]), args[2])
    elif cmd == "vtk":
        vtk(args[0], float(args[1]), args[2])
    elif cmd == "count":
        for path in args:
            print(*counts(path))
    elif cmd == "compare":
        sys.exit(compare(*args))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
