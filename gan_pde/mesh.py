r"""Meshes: builders, file input/output and quality checks.

The meshes of gan_pde *are* scikit-fem meshes (``skfem.MeshLine1``, ``MeshTri1``,
``MeshQuad1``, ``MeshTet1``, ``MeshHex1``), so every mesh returned here plugs straight into
``skfem.Basis``.  This module adds

- builders of tensor-product meshes: :func:`interval`, :func:`rectangle`, :func:`box`, which
  all take one ``(lo, hi)`` pair per axis and then ``n``, the cells per axis
  (``interval((-1.0, 1.0), n=10)``, ``rectangle((-1.0, 1.0), (0.0, 2.0), n=(10, 20))``;
  ``interval(-1.0, 1.0, n=10)`` is accepted too);
- file input/output through meshio: :func:`load` (gmsh ``.msh`` v2/v4, ``.xdmf``, ``.vtu``
  and every other format meshio reads) and :func:`save`;
- the meshes shipped with the package: :func:`bundled`, :func:`available_bundled`;
- :func:`check_quality`, which rejects meshes with non-finite coordinates, zero-volume cells
  or folded cells; every builder and :func:`load` runs it;
- small helpers for solvers and convergence studies: :func:`refine`, :func:`diameter`,
  :func:`cell_size`, :func:`cell_volumes`.

Cell orientation is not normalised: scikit-fem integrates with :math:`|\det J|`, builds
outward normals from :math:`J^{-T}`, and ``MeshTri1`` itself sorts the vertex indices of
every triangle, so clockwise and counter-clockwise cells are equally valid.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import logging
import math
import numbers
from collections.abc import Mapping, Sequence
from importlib import resources
from os import PathLike
from pathlib import Path

import meshio
import numpy as np
import skfem
from numpy.typing import ArrayLike, NDArray
from skfem.io.meshio import HEX_MAPPING, INV_HEX_MAPPING

from gan_pde._arrays import as_choice
from gan_pde.errors import InvalidInputError, MeshError
from gan_pde.resources import require_memory

__all__ = [
    "available_bundled",
    "box",
    "bundled",
    "cell_size",
    "cell_volumes",
    "check_quality",
    "diameter",
    "interval",
    "load",
    "rectangle",
    "refine",
    "save",
]

logger = logging.getLogger(__name__)

#: A cell is degenerate when ``|volume| <= DEGENERATE_RTOL * h**dim`` (h: cell diameter).
DEGENERATE_RTOL = 1e-12
#: Coordinates beyond the mesh dimension are dropped when ``|z| <= FLAT_RTOL * extent``.
FLAT_RTOL = 1e-12

_MESH_CLASSES: dict[str, type[skfem.Mesh]] = {
    "line": skfem.MeshLine1,
    "triangle": skfem.MeshTri1,
    "quad": skfem.MeshQuad1,
    "tetra": skfem.MeshTet1,
    "hexahedron": skfem.MeshHex1,
}
_MESHIO_TYPES = {cls: name for name, cls in _MESH_CLASSES.items()}
_HIGHER_ORDER = {
    "line3": 1,
    "line4": 1,
    "triangle6": 2,
    "triangle10": 2,
    "quad8": 2,
    "quad9": 2,
    "tetra10": 3,
    "tetra20": 3,
    "hexahedron20": 3,
    "hexahedron27": 3,
    "wedge15": 3,
    "wedge18": 3,
    "pyramid13": 3,
    "pyramid14": 3,
}
_CELL_DIMS = {
    "vertex": 0,
    "line": 1,
    "triangle": 2,
    "quad": 2,
    "tetra": 3,
    "hexahedron": 3,
    "wedge": 3,
    "pyramid": 3,
    **_HIGHER_ORDER,
}
_BUNDLED_SUFFIX = ".msh"


# --------------------------------------------------------------------------- builders


#: Bytes of temporaries per stored mesh byte while scikit-fem builds and checks a mesh.
_MESH_BUILD_FACTOR = 4.0


def _require_mesh_memory(
    counts: Sequence[int], *, cells_per_box: int, vertices_per_cell: int, what: str
) -> None:
    """InsufficientMemoryError before building a tensor mesh that cannot fit in memory."""
    boxes = float(np.prod(np.asarray(counts, dtype=float)))
    vertices = float(np.prod(np.asarray(counts, dtype=float) + 1.0))
    stored = 8.0 * (len(counts) * vertices + vertices_per_cell * cells_per_box * boxes)
    require_memory(_MESH_BUILD_FACTOR * stored, f"{what} with n={list(counts)}")


def interval(
    a: float | tuple[float, float],
    b: float | int | None = None,
    n: int | tuple[int] | None = None,
) -> skfem.MeshLine1:
    """Uniform mesh of the interval :math:`[a, b]` with ``n`` cells.

    The builders share one convention: one ``(lo, hi)`` pair per axis, then ``n``, the cells
    per axis (an int, or a tuple with one count per axis)::

        interval((a, b), n=...)
        rectangle((a, b), (c, d), n=...)
        box((a, b), (c, d), (e, f), n=...)

    ``interval(a, b, n=...)``, with the end points as two numbers, builds the same mesh and
    stays supported.

    Parameters
    ----------
    a : (float, float) or float
        The range ``(a, b)`` as one pair, or the left end point ``a``.
    b : float, optional
        The right end point, when ``a`` is a number.  With a pair, a second positional
        argument is ``n``: ``interval((a, b), n)``.
    n : int or (int,)
        Number of cells (``n + 1`` equispaced nodes), ``n >= 1``.  End points are finite
        with ``a < b``.

    Returns
    -------
    skfem.MeshLine1
        The mesh; ``mesh.p`` has shape ``(1, n + 1)``.

    Raises
    ------
    InvalidInputError
        If ``a``, ``b`` are not finite with ``a < b``, ``n`` is not an integer ``>= 1``, or
        ``n`` is missing.

    Examples
    --------
    >>> from gan_pde import mesh
    >>> m = mesh.interval((-12.0, 12.0), n=2000)
    >>> m.t.shape[1], m.p.shape[1]
    (2000, 2001)
    >>> bool((mesh.interval(-12.0, 12.0, n=2000).p == m.p).all())
    True
    """
    if _is_pair(a) and not isinstance(a, str | bytes):
        if b is not None and n is not None:
            msg = (
                f"interval((a, b), n) takes the end points as one pair; got the pair {a!r} "
                f"and also b={b!r}, n={n!r}"
            )
            raise InvalidInputError(msg)
        a, b, n = a[0], a[1], (b if n is None else n)  # type: ignore[index]
    elif b is None:
        msg = f"interval needs the end points as a pair (a, b) or as two numbers; got a={a!r}"
        raise InvalidInputError(msg)
    if n is None:
        msg = "interval needs n, the number of cells: interval((a, b), n=...)"
        raise InvalidInputError(msg)
    lo, hi = _as_real("a", a), _as_real("b", b)
    if not lo < hi:
        msg = f"interval needs a < b, got a={a!r}, b={b!r}"
        raise InvalidInputError(msg)
    if isinstance(n, tuple | list) and len(n) == 1:
        n = n[0]
    cells = _as_count("n", n)
    _require_mesh_memory([cells], cells_per_box=1, vertices_per_cell=2, what="interval")
    result = skfem.MeshLine1.init_tensor(np.linspace(lo, hi, cells + 1))
    check_quality(result)
    return result


def rectangle(
    x: tuple[float, float],
    y: tuple[float, float],
    n: int | tuple[int, int],
    *,
    cell: str = "tri",
) -> skfem.MeshTri1 | skfem.MeshQuad1:
    r"""Uniform mesh of the rectangle :math:`[a, b] \times [c, d]`.

    One ``(lo, hi)`` pair per axis, then the cells per axis, as :func:`interval` and
    :func:`box` take them.

    Parameters
    ----------
    x, y : tuple of float
        The ranges ``(a, b)`` and ``(c, d)``, finite with ``a < b`` and ``c < d``.
    n : int or tuple of int
        Cells per direction ``(nx, ny)``; an int uses the same number in both directions.
    cell : {"tri", "quad"}
        ``"tri"`` splits every one of the ``nx * ny`` squares into two triangles
        (``skfem.MeshTri1.init_tensor``); ``"quad"`` keeps the quadrilaterals.

    Returns
    -------
    skfem.MeshTri1 or skfem.MeshQuad1
        The mesh, with ``(nx + 1) * (ny + 1)`` nodes.

    Raises
    ------
    InvalidInputError
        For an empty or non-finite range, a cell count that is not an integer ``>= 1``
        or an unknown ``cell``.

    Examples
    --------
    >>> from gan_pde import mesh
    >>> m = mesh.rectangle((-8.0, 11.0), (-8.0, 10.6), n=(200, 200))
    >>> m.t.shape[1]
    80000
    """
    kind = as_choice(cell, "cell", ("tri", "quad"))
    ranges = [_as_range("x", x), _as_range("y", y)]
    counts = _as_counts("n", n, dim=2)
    per_box, per_cell = (2, 3) if kind == "tri" else (1, 4)
    _require_mesh_memory(
        counts, cells_per_box=per_box, vertices_per_cell=per_cell, what="rectangle"
    )
    axes = [np.linspace(lo, hi, k + 1) for (lo, hi), k in zip(ranges, counts, strict=True)]
    cls = skfem.MeshTri1 if kind == "tri" else skfem.MeshQuad1
    result = cls.init_tensor(*axes)
    check_quality(result)
    return result


def box(
    x: tuple[float, float],
    y: tuple[float, float],
    z: tuple[float, float],
    n: int | tuple[int, int, int],
    *,
    cell: str = "tet",
) -> skfem.MeshTet1 | skfem.MeshHex1:
    r"""Uniform mesh of the box :math:`[a, b] \times [c, d] \times [e, f]`.

    One ``(lo, hi)`` pair per axis, then the cells per axis, as :func:`interval` and
    :func:`rectangle` take them.

    Parameters
    ----------
    x, y, z : tuple of float
        The ranges ``(a, b)``, ``(c, d)``, ``(e, f)``, finite and non-empty.
    n : int or tuple of int
        Cells per direction ``(nx, ny, nz)``; an int uses the same number in every direction.
    cell : {"tet", "hex"}
        ``"tet"`` splits every one of the ``nx * ny * nz`` cubes into tetrahedra
        (``skfem.MeshTet1.init_tensor``); ``"hex"`` keeps the hexahedra.

    Returns
    -------
    skfem.MeshTet1 or skfem.MeshHex1
        The mesh, with ``(nx + 1) * (ny + 1) * (nz + 1)`` nodes.

    Raises
    ------
    InvalidInputError
        For an empty or non-finite range, a cell count that is not an integer ``>= 1``
        or an unknown ``cell``.

    Examples
    --------
    >>> from gan_pde import mesh
    >>> m = mesh.box((0.0, 1.0), (0.0, 2.0), (0.0, 3.0), n=(2, 4, 6), cell="hex")
    >>> m.t.shape[1]
    48
    """
    kind = as_choice(cell, "cell", ("tet", "hex"))
    ranges = [_as_range("x", x), _as_range("y", y), _as_range("z", z)]
    counts = _as_counts("n", n, dim=3)
    per_box, per_cell = (6, 4) if kind == "tet" else (1, 8)
    _require_mesh_memory(counts, cells_per_box=per_box, vertices_per_cell=per_cell, what="box")
    axes = [np.linspace(lo, hi, k + 1) for (lo, hi), k in zip(ranges, counts, strict=True)]
    cls = skfem.MeshTet1 if kind == "tet" else skfem.MeshHex1
    result = cls.init_tensor(*axes)
    check_quality(result)
    return result


# --------------------------------------------------------------------------- files


def load(path: str | PathLike[str]) -> skfem.Mesh:
    """Read a mesh file into a scikit-fem mesh, with its physical groups.

    Any format meshio reads works (gmsh ``.msh`` v2/v4, ``.xdmf``, ``.vtu``, ...).  The
    cells of the highest dimension are kept (tetra, hexahedron > triangle, quad > line;
    blocks of the same type are concatenated; lower-dimensional blocks such as boundary
    lines or physical points serve only to name boundaries).  Nodes that no kept cell uses
    (gmsh writes its geometry points) are dropped and the rest renumbered in their
    original order.  Cells of dimension ``d`` keep the first ``d`` coordinates; the others
    must vanish (within ``FLAT_RTOL`` times the extent of the mesh), so a 1-D mesh must lie
    on the x-axis and a 2-D mesh in the plane ``z = 0``.  The result passes
    :func:`check_quality`.

    Physical groups (gmsh) are kept, under their names (an unnamed group under its
    number, e.g. ``"7"``):

    - groups of cells of the mesh's dimension become ``mesh.subdomains``: name -> sorted
      indices of cells (columns of ``mesh.t``);
    - groups of cells one dimension lower become ``mesh.boundaries``: name -> sorted
      indices of facets (columns of ``mesh.facets``), interior facets included (an
      interface between two subdomains), usable as
      ``skfem.FacetBasis(mesh, element, facets=mesh.boundaries["outer"])``;
    - groups of lower dimension still (physical points of a 2-D mesh, curves and points
      of a 3-D one) are not kept.

    A cell in several physical groups belongs to each of them (gmsh 2.2 files repeat such
    a cell once per group; the copies are merged).  ``mesh.subdomains`` and
    ``mesh.boundaries`` are None when the file has no groups of that dimension.

    Parameters
    ----------
    path : str or os.PathLike
        The file to read.

    Returns
    -------
    skfem.Mesh
        A ``MeshLine1``, ``MeshTri1``, ``MeshQuad1``, ``MeshTet1`` or ``MeshHex1``.

    Raises
    ------
    MeshError
        If the file does not exist or cannot be read, has no cells, mixes cell types of
        the top dimension (e.g. triangles and quadrilaterals), has second-order or
        unsupported cells, is not flat, has a boundary group whose elements are not facets
        of the mesh, or fails :func:`check_quality`.  The message names the file.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from gan_pde import mesh
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "square.vtu"
    >>> mesh.save(path, mesh.rectangle((0.0, 1.0), (0.0, 1.0), n=4))
    >>> mesh.load(path).t.shape
    (3, 32)
    """
    path = Path(path)
    raw = _read_meshio(path)
    cell_type, blocks = _top_cells(raw, path)
    cells = np.concatenate([raw.cells[i].data for i in blocks]).astype(np.int64)
    if cells.min() < 0 or cells.max() >= len(raw.points):
        msg = (
            f"mesh file {str(path)!r}: cells refer to nodes {int(cells.min())} to "
            f"{int(cells.max())}, but the file has nodes 0 to {len(raw.points) - 1}"
        )
        raise MeshError(msg)
    groups = _physical_groups(raw)
    subdomains = _cell_groups(groups, blocks, [len(raw.cells[i].data) for i in blocks])
    if groups:
        cells, subdomains = _merge_repeated_cells(cells, subdomains)
    used, local = np.unique(cells, return_inverse=True)
    points = _flat_points(np.asarray(raw.points, dtype=np.float64)[used], cell_type, path)
    t = local.reshape(cells.shape).T
    if cell_type == "hexahedron":
        t = t[INV_HEX_MAPPING[:8]]
    result = _MESH_CLASSES[cell_type](np.ascontiguousarray(points.T), np.ascontiguousarray(t))
    try:
        check_quality(result)
    except MeshError as err:
        msg = f"mesh file {str(path)!r}: {err}"
        raise MeshError(msg) from err
    renumber = np.full(len(raw.points), -1, dtype=np.int64)
    renumber[used] = np.arange(used.size)
    boundaries = _facet_groups(raw, groups, result, cell_type, renumber, path)
    if subdomains or boundaries:
        result = dataclasses.replace(
            result, _boundaries=boundaries or None, _subdomains=subdomains or None
        )
    return result


def save(
    path: str | PathLike[str],
    mesh: skfem.Mesh,
    *,
    point_data: Mapping[str, ArrayLike] | None = None,
    cell_data: Mapping[str, ArrayLike] | None = None,
) -> None:
    """Write a mesh, and optionally data on its nodes and cells, with meshio.

    The format follows the file extension (``.vtu``, ``.xdmf``, ``.msh``, ...); ``.msh``
    files are written as gmsh 2.2 ASCII.  Coordinates are padded with zeros to 3-D, as
    VTU and gmsh require.  ``.xdmf`` stores its arrays in a companion ``.h5`` file and
    needs ``h5py``.  :func:`load` reads the file back to the same mesh.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write; its extension selects the format.
    mesh : skfem.Mesh
        A ``MeshLine1``, ``MeshTri1``, ``MeshQuad1``, ``MeshTet1`` or ``MeshHex1``.
    point_data : mapping of str to array_like, optional
        Arrays of shape ``(n_nodes, ...)``: one value (or vector) per node of the mesh,
        in the order of ``mesh.p`` (for P1 fields this is the order of the dofs).
    cell_data : mapping of str to array_like, optional
        Arrays of shape ``(n_cells, ...)``: one value (or vector) per cell.

    Raises
    ------
    InvalidInputError
        If the mesh type, the extension or the shape of a data array is not supported.
    MeshError
        If meshio fails to write the file.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from gan_pde import mesh
    >>> m = mesh.interval(0.0, 1.0, n=10)
    >>> mesh.save(pathlib.Path(tempfile.mkdtemp()) / "line.vtu", m, point_data={"u": m.p[0]})
    """
    path = Path(path)
    cell_type = _meshio_type(mesh)
    if not any(ext in meshio.extension_to_filetypes for ext in _extensions(path)):
        msg = (
            f"path {str(path)!r}: unknown mesh file extension {path.suffix!r}; "
            "expected one that meshio writes, such as '.vtu', '.xdmf' or '.msh'"
        )
        raise InvalidInputError(msg)
    n_points, n_cells = mesh.p.shape[1], mesh.t.shape[1]
    nodes = _as_data("point_data", point_data, n_points, "nodes")
    cells = {name: [v] for name, v in _as_data("cell_data", cell_data, n_cells, "cells").items()}
    t = mesh.t[HEX_MAPPING[:8]] if cell_type == "hexahedron" else mesh.t
    points = np.zeros((n_points, 3))
    points[:, : mesh.p.shape[0]] = mesh.p.T
    options = {}
    if path.suffix.lower() == ".msh":
        options = {"file_format": "gmsh22", "binary": False}
        for tag in ("gmsh:physical", "gmsh:geometrical"):
            cells.setdefault(tag, [np.ones(n_cells, dtype=np.int32)])
    data = meshio.Mesh(points, [(cell_type, t.T)], point_data=nodes, cell_data=cells)
    log = io.StringIO()
    try:
        with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
            meshio.write(path, data, **options)
    except meshio.WriteError as err:
        msg = f"cannot write mesh file {str(path)!r}: {err}"
        raise MeshError(msg) from err
    _log_meshio(log, path)


def available_bundled() -> list[str]:
    """Names of the meshes shipped with gan_pde, for :func:`bundled`.

    Returns
    -------
    list of str
        Sorted names, e.g. ``["ball", "disk", "lshape"]``.

    Examples
    --------
    >>> from gan_pde import mesh
    >>> "disk" in mesh.available_bundled()
    True
    """
    folder = resources.files("gan_pde") / "data" / "meshes"
    return sorted(
        entry.name[: -len(_BUNDLED_SUFFIX)]
        for entry in folder.iterdir()
        if entry.name.endswith(_BUNDLED_SUFFIX)
    )


def bundled(name: str) -> skfem.Mesh:
    r"""Load a mesh shipped with gan_pde (see ``meshes/README.md`` for their sources).

    Parameters
    ----------
    name : str
        One of :func:`available_bundled`: ``"disk"`` (radius 6, triangles), ``"lshape"``
        (:math:`(-1, 1)^2 \setminus [0, 1] \times [-1, 0]`, triangles refined toward the
        re-entrant corner) or ``"ball"`` (radius 5, tetrahedra).

    Returns
    -------
    skfem.Mesh
        The mesh, as :func:`load` returns it.

    Raises
    ------
    InvalidInputError
        If no bundled mesh has this name; the message lists the available ones.

    Examples
    --------
    >>> from gan_pde import mesh
    >>> mesh.bundled("lshape").p.shape[0]
    2
    """
    names = available_bundled()
    if name not in names:
        msg = f"name: no bundled mesh called {name!r}; available: {', '.join(names)}"
        raise InvalidInputError(msg)
    resource = resources.files("gan_pde") / "data" / "meshes" / (name + _BUNDLED_SUFFIX)
    with resources.as_file(resource) as path:
        return load(path)


# --------------------------------------------------------------------------- quality


def check_quality(mesh: skfem.Mesh) -> None:
    r"""Reject meshes with non-finite coordinates, zero-volume cells or folded cells.

    The checks, in order:

    1. every coordinate is finite;
    2. no cell is degenerate: :math:`|V_K| > 10^{-12}\, h_K^d` with :math:`V_K` the
       volume of cell :math:`K`, :math:`h_K` its diameter and :math:`d` the dimension;
    3. no quadrilateral or hexahedron is twisted: the Jacobian determinants at its
       corners do not take both signs;
    4. no facet is shared by more than two cells;
    5. no cell is folded over a neighbour: for every interior facet the centroids of the
       two cells lie strictly on opposite sides of the facet's hyperplane (a point in 1-D,
       a line in 2-D, the plane of the facet in 3-D).

    The test is independent of the orientation of the cells: a mesh whose cells are all
    clockwise passes, as scikit-fem integrates with :math:`|\det J|`.  It is vectorised:
    a fraction of a second for a million simplices (hexahedra take a few times longer).

    Parameters
    ----------
    mesh : skfem.Mesh
        A ``MeshLine1``, ``MeshTri1``, ``MeshQuad1``, ``MeshTet1`` or ``MeshHex1``.

    Raises
    ------
    MeshError
        Naming the check that failed, how many cells or facets fail it and the first one.
    InvalidInputError
        If ``mesh`` is not one of the supported mesh types.

    Examples
    --------
    >>> import numpy as np, skfem
    >>> from gan_pde import mesh
    >>> mesh.check_quality(skfem.MeshTri1(np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]),
    ...                                   np.array([[0], [1], [2]])))
    """
    cell_type = _meshio_type(mesh)
    p, t = mesh.p, mesh.t
    finite = np.all(np.isfinite(p), axis=0)
    if not finite.all():
        bad = np.flatnonzero(~finite)
        msg = (
            f"mesh has {bad.size} node(s) with NaN or infinite coordinates; "
            f"first: node {bad[0]} at {p[:, bad[0]].tolist()}"
        )
        raise MeshError(msg)
    dim = p.shape[0]
    coords = p[:, t]
    volumes = _signed_volumes(coords, cell_type)
    sizes = _cell_diameters(coords)
    degenerate = np.flatnonzero(np.abs(volumes) <= DEGENERATE_RTOL * sizes**dim)
    if degenerate.size:
        first = degenerate[0]
        msg = (
            f"mesh has {degenerate.size} zero-volume (degenerate) cell(s) out of {t.shape[1]}; "
            f"first: cell {first} with nodes {t[:, first].tolist()}, volume {volumes[first]:.3g}"
            f" for diameter {sizes[first]:.3g}"
        )
        raise MeshError(msg)
    if cell_type in ("quad", "hexahedron"):
        _check_twisted(coords, mesh)
    _check_folded(mesh, coords)


# --------------------------------------------------------------------------- helpers


def refine(mesh: skfem.Mesh, times: int = 1) -> skfem.Mesh:
    """Refine a mesh uniformly ``times`` times (each halves the cell size).

    Parameters
    ----------
    mesh : skfem.Mesh
        The mesh to refine.
    times : int
        Number of uniform refinements, ``>= 0``.

    Returns
    -------
    skfem.Mesh
        ``mesh.refined(times)``: a new mesh of the same type.

    Examples
    --------
    >>> from gan_pde import mesh
    >>> mesh.refine(mesh.interval(0.0, 1.0, n=4), times=2).t.shape[1]
    16
    """
    _meshio_type(mesh)
    if isinstance(times, bool) or not isinstance(times, numbers.Integral) or times < 0:
        msg = f"times must be an integer >= 0, got {times!r}"
        raise InvalidInputError(msg)
    return mesh.refined(int(times))


def diameter(mesh: skfem.Mesh) -> float:
    r"""Diameter of the mesh's bounding box (length of its diagonal).

    This bounds the diameter of the domain from above and equals it for intervals,
    rectangles and boxes.

    Parameters
    ----------
    mesh : skfem.Mesh
        Any scikit-fem mesh.

    Returns
    -------
    float
        :math:`\| \max_i p_i - \min_i p_i \|_2` over the nodes :math:`p_i`.

    Examples
    --------
    >>> from gan_pde import mesh
    >>> mesh.diameter(mesh.rectangle((0.0, 3.0), (0.0, 4.0), n=2))
    5.0
    """
    return float(np.linalg.norm(mesh.p.max(axis=1) - mesh.p.min(axis=1)))


def cell_size(mesh: skfem.Mesh) -> float:
    r"""Mesh size :math:`h = \max_K h_K`, the largest cell diameter.

    The diameter of a cell is the largest distance between two of its vertices (for
    simplices the longest edge, for quadrilaterals and hexahedra the longest diagonal).

    Parameters
    ----------
    mesh : skfem.Mesh
        A ``MeshLine1``, ``MeshTri1``, ``MeshQuad1``, ``MeshTet1`` or ``MeshHex1``.

    Returns
    -------
    float
        The mesh size ``h`` used in convergence studies.

    Examples
    --------
    >>> from gan_pde import mesh
    >>> mesh.cell_size(mesh.interval(0.0, 1.0, n=4))
    0.25
    """
    _meshio_type(mesh)
    return float(_cell_diameters(mesh.p[:, mesh.t]).max())


def cell_volumes(mesh: skfem.Mesh) -> NDArray[np.float64]:
    """Volume (length, area) of every cell.

    Exact for simplices and for bilinear quadrilaterals and trilinear hexahedra (2-point
    Gauss rule per direction on the Jacobian determinant).

    Parameters
    ----------
    mesh : skfem.Mesh
        A ``MeshLine1``, ``MeshTri1``, ``MeshQuad1``, ``MeshTet1`` or ``MeshHex1``.

    Returns
    -------
    numpy.ndarray
        Shape ``(n_cells,)``, positive for every cell of a valid mesh.

    Examples
    --------
    >>> from gan_pde import mesh
    >>> float(mesh.cell_volumes(mesh.rectangle((0.0, 2.0), (0.0, 3.0), n=4)).sum())
    6.0
    """
    return np.abs(_signed_volumes(mesh.p[:, mesh.t], _meshio_type(mesh)))


# --------------------------------------------------------------------------- internals


def _as_real(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        msg = f"{name} must be a real number, got {value!r}"
        raise InvalidInputError(msg)
    result = float(value)
    if not math.isfinite(result):
        msg = f"{name} must be finite, got {value!r}"
        raise InvalidInputError(msg)
    return result


def _as_range(name: str, value: object) -> tuple[float, float]:
    if isinstance(value, str | bytes) or not _is_pair(value):
        msg = f"{name} must be a pair (lo, hi) of finite numbers with lo < hi, got {value!r}"
        raise InvalidInputError(msg)
    lo, hi = (_as_real(f"{name}[{i}]", v) for i, v in enumerate(value))
    if not lo < hi:
        msg = f"{name} must satisfy lo < hi, got {value!r}"
        raise InvalidInputError(msg)
    return lo, hi


def _is_pair(value: object) -> bool:
    try:
        return len(value) == 2  # type: ignore[arg-type]
    except TypeError:
        return False


def _as_count(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        msg = f"{name} must be an integer >= 1 (number of cells), got {value!r}"
        raise InvalidInputError(msg)
    return int(value)


def _as_counts(name: str, value: object, *, dim: int) -> tuple[int, ...]:
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return (_as_count(name, value),) * dim
    if isinstance(value, str | bytes) or not hasattr(value, "__len__") or len(value) != dim:
        msg = f"{name} must be an integer >= 1 or a tuple of {dim} of them, got {value!r}"
        raise InvalidInputError(msg)
    return tuple(_as_count(f"{name}[{i}]", v) for i, v in enumerate(value))


def _as_data(
    name: str, data: Mapping[str, ArrayLike] | None, count: int, what: str
) -> dict[str, NDArray]:
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        msg = f"{name} must be a mapping from names to arrays, got {type(data).__name__}"
        raise InvalidInputError(msg)
    result = {}
    for key, values in data.items():
        array = np.asarray(values)
        if array.ndim == 0 or array.shape[0] != count:
            msg = (
                f"{name}[{key!r}] must have one entry per mesh {what} (first axis {count}), "
                f"got shape {array.shape}"
            )
            raise InvalidInputError(msg)
        result[str(key)] = array
    return result


def _meshio_type(mesh: object) -> str:
    cell_type = _MESHIO_TYPES.get(type(mesh))
    if cell_type is None:
        supported = ", ".join(cls.__name__ for cls in _MESH_CLASSES.values())
        msg = f"mesh must be a first-order scikit-fem mesh ({supported}), got {type(mesh)!r}"
        raise InvalidInputError(msg)
    if mesh.p.shape[0] != mesh.dim():
        msg = (
            f"mesh has {mesh.p.shape[0]}-D coordinates for {mesh.dim()}-D cells; "
            "only meshes whose coordinate dimension equals the cell dimension are supported"
        )
        raise InvalidInputError(msg)
    return cell_type


def _extensions(path: Path) -> list[str]:
    suffixes = [s.lower() for s in path.suffixes]
    return ["".join(suffixes[i:]) for i in range(len(suffixes))]


def _log_meshio(log: io.StringIO, path: Path) -> None:
    text = " ".join(log.getvalue().split())
    if text:
        logger.debug("meshio on %s: %s", path, text)


def _read_meshio(path: Path) -> meshio.Mesh:
    if not path.is_file():
        msg = f"cannot read mesh file {str(path)!r}: no such file"
        raise MeshError(msg)
    log = io.StringIO()
    try:
        with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
            raw = meshio.read(path)
    # meshio's readers raise many exception types, and meshio.read itself calls
    # sys.exit when no reader accepts the file.
    except (Exception, SystemExit) as err:
        reason = " ".join(log.getvalue().split()) or f"{type(err).__name__}: {err}"
        if "Incompatible cell data" in reason and path.suffix.lower() == ".msh":
            reason += (
                " (meshio cannot read gmsh 4.1 files that mix elements with and without "
                "physical groups, as Mesh.SaveAll = 1 writes them: save without SaveAll, "
                "which keeps the elements of the physical groups, or as Mesh.MshFileVersion "
                "= 2.2)"
            )
        msg = f"cannot read mesh file {str(path)!r}: {reason}"
        raise MeshError(msg) from err
    _log_meshio(log, path)
    return raw


def _top_cells(raw: meshio.Mesh, path: Path) -> tuple[str, list[int]]:
    """The type of the cells of the highest dimension and the indices of their blocks."""
    blocks = [(block.type, len(block.data)) for block in raw.cells]
    present = [(kind, n) for kind, n in blocks if n]
    unknown = sorted({kind for kind, _ in present if kind not in _CELL_DIMS})
    if unknown:
        msg = (
            f"mesh file {str(path)!r}: unsupported cell type(s) {unknown}; "
            f"expected {', '.join(_MESH_CLASSES)}"
        )
        raise MeshError(msg)
    top = max((_CELL_DIMS[kind] for kind, _ in present), default=0)
    if top == 0:
        msg = (
            f"mesh file {str(path)!r}: no cells of dimension 1 to 3 found "
            f"({len(raw.points)} points; cell blocks: {[kind for kind, _ in present]})"
        )
        raise MeshError(msg)
    kinds = sorted({kind for kind, _ in present if _CELL_DIMS[kind] == top})
    higher = [kind for kind in kinds if kind in _HIGHER_ORDER]
    if higher:
        msg = (
            f"mesh file {str(path)!r}: second-order cells {higher} are not supported; "
            "export first-order cells (e.g. gmsh -order 1): P2 is an element choice "
            "(skfem.ElementTriP2), not a mesh choice"
        )
        raise MeshError(msg)
    if len(kinds) > 1:
        counts = {kind: sum(n for k, n in present if k == kind) for kind in kinds}
        advice = _MIXED_ADVICE.get(top, "")
        msg = (
            f"mesh file {str(path)!r}: mixed cell types of dimension {top}: "
            f"{', '.join(f'{n} {kind}' for kind, n in counts.items())}; a scikit-fem mesh "
            f"holds one cell type. {advice}"
        )
        raise MeshError(msg.strip())
    kind = kinds[0]
    if kind not in _MESH_CLASSES:
        msg = (
            f"mesh file {str(path)!r}: unsupported cell type {kind!r}; "
            f"expected {', '.join(_MESH_CLASSES)}"
        )
        raise MeshError(msg)
    return kind, [i for i, (k, n) in enumerate(blocks) if k == kind and n]


_FACET_WORDS = {0: "point", 1: "line", 2: "surface"}
_MIXED_ADVICE = {
    2: (
        "Re-mesh with triangles only (gmsh: Mesh.RecombineAll = 0 and no 'Recombine "
        "Surface') or with quadrilaterals only (Mesh.RecombineAll = 1 with "
        "Mesh.SubdivisionAlgorithm = 1, which also splits the remaining triangles)."
    ),
    3: (
        "Re-mesh with tetrahedra only (gmsh: no 'Recombine', Mesh.RecombineAll = 0) or "
        "with hexahedra only (Mesh.SubdivisionAlgorithm = 2)."
    ),
}


def _physical_groups(raw: meshio.Mesh) -> dict[int, list[tuple[str, NDArray[np.int64]]]]:
    """Physical groups by cell block: block index -> [(name, indices of its cells)].

    Named groups come from meshio's ``cell_sets`` (gmsh 4: a cell in several groups is in
    each set); the ``gmsh:physical`` tags add the groups that are not there: every group
    of a gmsh 2.2 file, and unnamed groups (named by their number).  Tag 0 means "no
    group".
    """
    groups: dict[int, list[tuple[str, NDArray[np.int64]]]] = {}
    covered: set[tuple[int, str]] = set()
    for name, per_block in raw.cell_sets.items():
        if name.startswith("gmsh:"):
            continue
        for i, indices in enumerate(per_block):
            if indices is not None and len(indices) and i < len(raw.cells):
                groups.setdefault(i, []).append((str(name), np.asarray(indices, np.int64)))
                covered.add((_CELL_DIMS.get(raw.cells[i].type, -1), str(name)))
    names = {
        (int(value[1]), int(value[0])): str(name)
        for name, value in raw.field_data.items()
        if np.size(value) >= 2
    }
    tags = raw.cell_data.get("gmsh:physical")
    if tags is None:
        return groups
    for i, (block, block_tags) in enumerate(zip(raw.cells, tags, strict=False)):
        dim = _CELL_DIMS.get(block.type, -1)
        block_tags = np.asarray(block_tags).reshape(-1)
        if block_tags.shape[0] != len(block.data):
            continue
        for tag in np.unique(block_tags):
            name = names.get((dim, int(tag)), str(int(tag)))
            if tag <= 0 or (dim, name) in covered:
                continue
            groups.setdefault(i, []).append((name, np.flatnonzero(block_tags == tag)))
    return groups


def _cell_groups(
    groups: Mapping[int, list[tuple[str, NDArray]]], blocks: list[int], sizes: list[int]
) -> dict[str, NDArray[np.int64]]:
    """Groups of top cells: name -> indices into the concatenated top blocks."""
    result: dict[str, list[NDArray]] = {}
    offset = 0
    for block, size in zip(blocks, sizes, strict=True):
        for name, indices in groups.get(block, []):
            result.setdefault(name, []).append(offset + indices)
        offset += size
    return {name: np.concatenate(parts) for name, parts in result.items()}


def _merge_repeated_cells(
    cells: NDArray[np.int64], subdomains: dict[str, NDArray[np.int64]]
) -> tuple[NDArray[np.int64], dict[str, NDArray[np.int64]]]:
    """Merge copies of a cell (gmsh 2.2 writes a cell once per physical group)."""
    keys = _row_keys(np.sort(cells, axis=1))
    _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    if first.size == cells.shape[0]:
        return cells, {name: np.unique(ix) for name, ix in subdomains.items()}
    keep = np.sort(first)
    position = np.empty(first.size, dtype=np.int64)
    position[np.argsort(first)] = np.arange(first.size)
    new_index = position[inverse]
    logger.debug("merged %d repeated cells", cells.shape[0] - keep.size)
    return cells[keep], {name: np.unique(new_index[ix]) for name, ix in subdomains.items()}


def _facet_groups(
    raw: meshio.Mesh,
    groups: Mapping[int, list[tuple[str, NDArray]]],
    mesh: skfem.Mesh,
    cell_type: str,
    renumber: NDArray[np.int64],
    path: Path,
) -> dict[str, NDArray[np.int64]]:
    """Groups of cells one dimension below the top: name -> indices of mesh facets."""
    dim = _CELL_DIMS[cell_type]
    parts: dict[str, list[NDArray]] = {}
    for block, members in groups.items():
        kind = raw.cells[block].type
        if _CELL_DIMS.get(kind) != dim - 1 or kind in _HIGHER_ORDER:
            continue
        data = np.asarray(raw.cells[block].data, dtype=np.int64)
        for name, indices in members:
            parts.setdefault(name, []).append(data[indices])
    if not parts:
        return {}
    facets = np.sort(mesh.facets, axis=0).T
    result = {}
    for name, pieces in parts.items():
        nodes = np.concatenate(pieces)
        inside = (nodes >= 0) & (nodes < renumber.size)
        local = np.where(inside, renumber[np.where(inside, nodes, 0)], -1)
        found = _find_rows(facets, np.sort(local, axis=1)) if np.all(local >= 0) else None
        if found is None or np.any(found < 0):
            missing = (
                int(np.sum(np.any(local < 0, axis=1))) if found is None else int(np.sum(found < 0))
            )
            msg = (
                f"mesh file {str(path)!r}: physical group {name!r}: {missing} of its "
                f"{nodes.shape[0]} {_FACET_WORDS[dim - 1]} elements are not facets of the "
                f"{cell_type} mesh; the group must lie on the mesh (conforming, same nodes)"
            )
            raise MeshError(msg)
        result[name] = np.unique(found)
    return result


def _row_keys(rows: NDArray[np.int64]) -> NDArray:
    """One int64 key per row of non-negative integers (the rows themselves if too large)."""
    base = int(rows.max(initial=0)) + 1
    if rows.shape[1] * math.log2(max(base, 2)) >= 62:
        return rows
    keys = np.zeros(rows.shape[0], dtype=np.int64)
    for column in rows.T:
        keys = keys * base + column
    return keys


def _find_rows(table: NDArray[np.int64], rows: NDArray[np.int64]) -> NDArray[np.int64]:
    """Index in ``table`` of every row of ``rows`` (-1 where absent); rows are unique in table."""
    both = _row_keys(np.concatenate([table, rows]))
    _, inverse = np.unique(both, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    lookup = np.full(both.shape[0], -1, dtype=np.int64)
    lookup[inverse[: table.shape[0]]] = np.arange(table.shape[0])
    return lookup[inverse[table.shape[0] :]]


def _flat_points(points: NDArray[np.float64], cell_type: str, path: Path) -> NDArray:
    dim = _CELL_DIMS[cell_type]
    if not np.all(np.isfinite(points)):
        msg = f"mesh file {str(path)!r}: NaN or infinite node coordinates"
        raise MeshError(msg)
    if points.shape[1] < dim:
        msg = (
            f"mesh file {str(path)!r}: {dim}-D cells ({cell_type}) need {dim} coordinates, "
            f"the file has {points.shape[1]}"
        )
        raise MeshError(msg)
    extent = float(np.ptp(points, axis=0).max())
    extra = np.abs(points[:, dim:]).max(initial=0.0)
    if extra > FLAT_RTOL * extent:
        where = "the x-axis (y = z = 0)" if dim == 1 else "the plane z = 0"
        hint = (
            "; if the mesh is meant to be of a higher dimension, its cells are missing from "
            "the file: gmsh writes only the elements of physical groups when there are any, "
            f"so add a physical group of dimension {dim + 1} (e.g. 'Physical "
            f"{'Surface' if dim == 1 else 'Volume'}') or set Mesh.SaveAll = 1"
        )
        msg = (
            f"mesh file {str(path)!r}: {cell_type} cells must lie on {where}; "
            f"found a coordinate of size {extra:.3g} (mesh extent {extent:.3g}){hint}"
        )
        raise MeshError(msg)
    return points[:, :dim]


def _determinant(jac: NDArray) -> NDArray:
    """Determinants of a stack of Jacobians ``jac[i, j, ...]``, i, j < dim <= 3."""
    if jac.shape[0] == 1:
        return jac[0, 0]
    if jac.shape[0] == 2:
        return jac[0, 0] * jac[1, 1] - jac[0, 1] * jac[1, 0]
    return (
        jac[0, 0] * (jac[1, 1] * jac[2, 2] - jac[1, 2] * jac[2, 1])
        - jac[0, 1] * (jac[1, 0] * jac[2, 2] - jac[1, 2] * jac[2, 0])
        + jac[0, 2] * (jac[1, 0] * jac[2, 1] - jac[1, 1] * jac[2, 0])
    )


def _tensor_jacobian(coords: NDArray, reference: NDArray, xi: NDArray) -> NDArray:
    """Transposed Jacobians of the multilinear maps of tensor cells at reference point ``xi``.

    ``coords`` has shape (n_vertices, dim * n_cells) (vertex-major, see
    :func:`_vertex_major`); ``reference`` (dim, n_vertices) holds the 0/1 reference
    coordinates of the vertices; the result ``out[j, i, c]`` is the derivative of the
    i-th coordinate along the j-th reference direction, shape (dim, dim, n_cells).
    """
    dim = reference.shape[0]
    factors = np.where(reference == 1.0, xi[:, None], 1.0 - xi[:, None])
    grads = np.stack(
        [
            (2.0 * reference[j] - 1.0) * np.delete(factors, j, axis=0).prod(axis=0)
            for j in range(dim)
        ]
    )
    return (grads @ coords).reshape(dim, dim, -1)


def _vertex_major(coords: NDArray) -> NDArray:
    """Reshape cell coordinates (dim, n_vertices, n_cells) to (n_vertices, dim * n_cells)."""
    return np.ascontiguousarray(coords.transpose(1, 0, 2)).reshape(coords.shape[1], -1)


def _signed_volumes(coords: NDArray, cell_type: str) -> NDArray:
    dim = coords.shape[0]
    if cell_type in ("quad", "hexahedron"):
        reference = _MESH_CLASSES[cell_type].elem.refdom.p
        gauss = 0.5 + np.array([-0.5, 0.5]) / math.sqrt(3.0)
        points = np.stack(np.meshgrid(*[gauss] * dim, indexing="ij")).reshape(dim, -1)
        by_vertex = _vertex_major(coords)
        total = sum(_determinant(_tensor_jacobian(by_vertex, reference, xi)) for xi in points.T)
        return total / points.shape[1]
    edges = coords[:, 1:] - coords[:, :1]
    return _determinant(edges) / math.factorial(dim)


def _cell_diameters(coords: NDArray) -> NDArray:
    n_vertices = coords.shape[1]
    largest = np.zeros(coords.shape[2])
    for i in range(n_vertices):
        for j in range(i + 1, n_vertices):
            diff = coords[:, i] - coords[:, j]
            np.maximum(largest, np.einsum("dn,dn->n", diff, diff), out=largest)
    return np.sqrt(largest)


def _check_twisted(coords: NDArray, mesh: skfem.Mesh) -> None:
    reference = mesh.elem.refdom.p
    by_vertex = _vertex_major(coords)
    corners = np.array(
        [_determinant(_tensor_jacobian(by_vertex, reference, xi)) for xi in reference.T]
    )
    twisted = np.flatnonzero((corners.max(axis=0) > 0.0) & (corners.min(axis=0) < 0.0))
    if twisted.size:
        first = twisted[0]
        msg = (
            f"mesh has {twisted.size} inverted (twisted or non-convex) cell(s): the "
            f"Jacobian changes sign inside the cell; first: cell {first} with nodes "
            f"{mesh.t[:, first].tolist()}"
        )
        raise MeshError(msg)


_SORTING_NETWORKS = {1: (), 2: ((0, 1),), 3: ((0, 1), (1, 2), (0, 1))}


def _sorted_columns(rows: NDArray) -> NDArray:
    """Sort every column of a (k, n) integer array (sorting networks for k <= 3)."""
    network = _SORTING_NETWORKS.get(rows.shape[0])
    if network is None:
        return np.sort(rows, axis=0)
    out = [row.astype(np.int64) for row in rows]
    for i, j in network:
        out[i], out[j] = np.minimum(out[i], out[j]), np.maximum(out[i], out[j])
    return np.stack(out)


def _matching_facets(ordered: NDArray, n_nodes: int) -> tuple[NDArray, NDArray]:
    """Order facet entries so equal facets are adjacent; flag adjacent equal pairs.

    The sorted vertex indices (k, n_entries) are packed, as many rows as fit, into int64
    keys (base ``n_nodes``) that are then sorted lexicographically.
    """
    per_key = max(1, int(62 // math.log2(max(n_nodes, 2))))
    keys = []
    for start in range(0, len(ordered), per_key):
        key = ordered[start].astype(np.int64)
        for row in ordered[start + 1 : start + per_key]:
            key = key * n_nodes + row
        keys.append(key)
    order = np.argsort(keys[0], kind="stable") if len(keys) == 1 else np.lexsort(keys[::-1])
    packed = np.stack(keys)[:, order]
    return order, np.all(packed[:, 1:] == packed[:, :-1], axis=0)


def _check_folded(mesh: skfem.Mesh, coords: NDArray) -> None:
    t = mesh.t
    n_cells = t.shape[1]
    local = np.array(mesh.elem.refdom.facets)
    # facet_nodes[k, e]: k-th vertex of facet entry e = (local facet f, cell c), e = f*n + c
    facet_nodes = t[local.T].reshape(local.shape[1], -1)
    order, same = _matching_facets(_sorted_columns(facet_nodes), mesh.p.shape[1])
    triple = np.flatnonzero(same[1:] & same[:-1])
    if triple.size:
        msg = (
            "mesh is not conforming: a facet is shared by more than two cells; first: facet "
            f"with nodes {sorted(facet_nodes[:, order[triple[0]]].tolist())}"
        )
        raise MeshError(msg)
    pairs = np.flatnonzero(same)
    first_entry, second_entry = order[pairs], order[pairs + 1]
    points = np.ascontiguousarray(mesh.p.T)
    vertices = [points[row[first_entry]] for row in facet_nodes]
    normals = _facet_normals(vertices)
    centroids = np.ascontiguousarray(coords.mean(axis=1).T)
    cells_a, cells_b = first_entry % n_cells, second_entry % n_cells
    side_a = np.einsum("nd,nd->n", normals, centroids[cells_a] - vertices[0])
    side_b = np.einsum("nd,nd->n", normals, centroids[cells_b] - vertices[0])
    folded = np.flatnonzero(np.sign(side_a) * np.sign(side_b) >= 0)
    if folded.size:
        k = folded[0]
        msg = (
            f"mesh has {folded.size} inverted (folded) interior facet(s) out of {pairs.size}: "
            "the two cells sharing the facet lie on the same side of it; first: facet with "
            f"nodes {sorted(facet_nodes[:, first_entry[k]].tolist())} shared by cells "
            f"{cells_a[k]} and {cells_b[k]}"
        )
        raise MeshError(msg)


def _facet_normals(vertices: list[NDArray]) -> NDArray:
    """Normals (not normalised) of facets given by their vertices, each (n, dim).

    Points: 1; segments: the edge turned by 90 degrees; triangles: the cross product of two
    edges; quadrilaterals (vertices in cyclic order): the cross product of the diagonals.
    """
    first = vertices[0]
    if first.shape[1] == 1:
        return np.ones_like(first)
    if first.shape[1] == 2:
        edge = vertices[1] - first
        return np.stack([-edge[:, 1], edge[:, 0]], axis=1)
    if len(vertices) == 3:
        u, v = vertices[1] - first, vertices[2] - first
    else:
        u, v = vertices[2] - first, vertices[3] - vertices[1]
    return np.stack(
        [
            u[:, 1] * v[:, 2] - u[:, 2] * v[:, 1],
            u[:, 2] * v[:, 0] - u[:, 0] * v[:, 2],
            u[:, 0] * v[:, 1] - u[:, 1] * v[:, 0],
        ],
        axis=1,
    )
