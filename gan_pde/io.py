"""Reading and writing results: ``.npz`` files for every result type, XDMF time series.

:func:`save` and :func:`load` handle every result of the package: JSD-flow
:class:`~gan_pde.flows.Trajectory` (with its mesh), network :class:`~gan_pde.nn.TrainingRun`,
and the plain result dataclasses of the models (mean-field trajectories and toy paths,
dual-flow paths, SDE ensembles and long runs), plus the JSON outputs of ``gan-pde sweep``
and ``gan-pde verify``.  Files are read with ``allow_pickle=False`` and result classes are
rebuilt only from a fixed list of gan_pde types: loading never executes code from a file.

Every write is atomic: the data go to a temporary file in the destination folder, which
then replaces the destination with :func:`os.replace`, so a reader never sees a half-written
file and an interrupted write leaves the previous file intact.  The file ends with the
permissions a plain ``open(path, "w")`` would give it (``0o666`` less the umask, or the
mode of the file it replaces), not the private mode of the temporary file.

XDMF time series (:func:`write_xdmf`, :func:`write_xdmf_series`) are written in a layout
that ParaView's three XDMF readers and meshio open, in 1D, 2D and 3D
(``tests/test_files_open.py`` opens them with ParaView itself).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import skfem
from skfem.io.meshio import HEX_MAPPING

from gan_pde._files import atomic_path, new_file_mode
from gan_pde.errors import InvalidInputError
from gan_pde.fem.basis import make_basis
from gan_pde.flows.jsd import Trajectory

__all__ = [
    "RESULT_TYPES",
    "load",
    "load_trajectory",
    "save",
    "save_trajectory",
    "write_xdmf",
    "write_xdmf_series",
]

#: Version of the ``.npz`` layout written by :func:`save_trajectory`.
FORMAT_VERSION = 1

_MESHES: dict[str, tuple[type[skfem.Mesh], str]] = {
    "MeshLine1": (skfem.MeshLine1, "line"),
    "MeshTri1": (skfem.MeshTri1, "triangle"),
    "MeshQuad1": (skfem.MeshQuad1, "quad"),
    "MeshTet1": (skfem.MeshTet1, "tetra"),
    "MeshHex1": (skfem.MeshHex1, "hexahedron"),
}
#: Scalar time series of a Trajectory, one entry per saved time.
_SERIES = ("times", "jsd", "kl", "l1", "mass", "dissipation", "grad_v_integral", "v_min", "v_max")


def _plain(value: Any) -> Any:
    """JSON-ready copy of metadata (numpy scalars and arrays become Python values)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def _mesh_name(mesh: skfem.Mesh) -> str:
    name = type(mesh).__name__
    if name not in _MESHES:
        msg = f"cannot store a mesh of type {name}; expected one of {', '.join(_MESHES)}"
        raise InvalidInputError(msg)
    return name


def save_trajectory(path: str | os.PathLike[str], trajectory: Trajectory) -> Path:
    """Write a :class:`~gan_pde.flows.Trajectory` to an ``.npz`` file (atomically).

    The file holds plain arrays only (no pickles): the scalar series, the dof vectors of v
    and u at the saved times, the step times and Newton iterations, the mesh (``p``, ``t``)
    and a JSON string with the mesh type, the element and :attr:`Trajectory.info`.
    :func:`load_trajectory` reads it back.

    Parameters
    ----------
    path
        The file; ``.npz`` is appended if it has another suffix.
    trajectory
        The result of :meth:`gan_pde.flows.JSDFlow.solve`.

    Returns
    -------
    pathlib.Path
        The path written.

    Examples
    --------
    >>> import tempfile, pathlib, gan_pde as gp
    >>> flow = gp.JSDFlow(gp.Gaussian(mean=[0.0], cov=[[1.0]]),
    ...                   gp.Gaussian(mean=[1.0], cov=[[1.0]]), gp.mesh.interval(-6, 6, n=60))
    >>> traj = flow.solve(1.0, 0.5)
    >>> path = save_trajectory(pathlib.Path(tempfile.mkdtemp()) / "run.npz", traj)
    >>> bool(np.array_equal(load_trajectory(path).jsd, traj.jsd))
    True
    """
    if not isinstance(trajectory, Trajectory):
        msg = f"trajectory must be a gan_pde Trajectory; got {type(trajectory).__name__}"
        raise InvalidInputError(msg)
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    basis = trajectory.densities[0].basis
    metadata = {
        "format_version": FORMAT_VERSION,
        "mesh_type": _mesh_name(basis.mesh),
        "element": trajectory.info.get("element", "P1"),
        "info": _plain(trajectory.info),
    }
    arrays = {name: np.asarray(getattr(trajectory, name)) for name in _SERIES}
    arrays |= {
        "v": np.stack(trajectory.v),
        "u": np.stack([density.values for density in trajectory.densities]),
        "step_times": trajectory.step_times,
        "newton_iterations": trajectory.newton_iterations,
        "mesh_p": basis.mesh.p,
        "mesh_t": basis.mesh.t,
        "metadata": np.array(json.dumps(metadata)),
    }
    with atomic_path(path, ".npz") as temporary, open(temporary, "wb") as file:
        np.savez(file, **arrays)
    return path


def load_trajectory(path: str | os.PathLike[str]) -> Trajectory:
    """Read a trajectory written by :func:`save_trajectory` (mesh and basis rebuilt).

    Raises
    ------
    InvalidInputError
        If the file is missing, not such an ``.npz`` file or of an unknown format version.
    """
    from gan_pde.densities import MeshDensity

    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
        metadata = json.loads(str(arrays.pop("metadata")))
        mesh_class = _MESHES[metadata["mesh_type"]][0]
        version = metadata["format_version"]
    except (OSError, ValueError, KeyError) as err:
        # numpy's advice for a non-npz file is to load it with pickling on: never do that
        reason = "not an .npz archive" if "allow_pickle" in str(err) else str(err)
        msg = f"{path} is not a gan_pde trajectory file: {reason}"
        raise InvalidInputError(msg) from err
    if version != FORMAT_VERSION:
        msg = f"{path} has format version {version}; this gan_pde reads {FORMAT_VERSION}"
        raise InvalidInputError(msg)
    mesh = mesh_class(arrays["mesh_p"], arrays["mesh_t"])
    basis = make_basis(mesh, metadata["element"])
    return Trajectory(
        **{name: arrays[name] for name in _SERIES},
        v=list(arrays["v"]),
        densities=[MeshDensity(basis, row) for row in arrays["u"]],
        step_times=arrays["step_times"],
        newton_iterations=arrays["newton_iterations"],
        info=metadata["info"],
    )


def write_xdmf(path: str | os.PathLike[str], trajectory: Trajectory) -> Path:
    """Write a trajectory as an XDMF time series (``.xdmf`` + ``.h5``) that ParaView opens.

    Every saved time gets the point data ``u`` (the density) and ``v`` (:math:`u/\\rho_d`)
    at the mesh vertices (for P2, the vertex dofs); the layout is that of
    :func:`write_xdmf_series`, which ParaView and meshio read in 1D, 2D and 3D.
    Needs ``h5py``.

    Parameters
    ----------
    path
        The ``.xdmf`` file; the ``.h5`` file gets the same name with suffix ``.h5``.
    trajectory
        The result of :meth:`gan_pde.flows.JSDFlow.solve`.

    Returns
    -------
    pathlib.Path
        The ``.xdmf`` path.

    Examples
    --------
    >>> import tempfile, pathlib, meshio, gan_pde as gp
    >>> flow = gp.JSDFlow(gp.Gaussian(mean=[0.0], cov=[[1.0]]),
    ...                   gp.Gaussian(mean=[1.0], cov=[[1.0]]), gp.mesh.interval(-6, 6, n=60))
    >>> path = write_xdmf(pathlib.Path(tempfile.mkdtemp()) / "run.xdmf", flow.solve(1.0, 0.5))
    >>> with meshio.xdmf.TimeSeriesReader(path) as reader:
    ...     reader.num_steps
    3
    """
    if not isinstance(trajectory, Trajectory):
        msg = f"trajectory must be a gan_pde Trajectory; got {type(trajectory).__name__}"
        raise InvalidInputError(msg)
    basis = trajectory.densities[0].basis
    vertex_dofs = basis.nodal_dofs[0]
    fields = {
        "u": [density.values[vertex_dofs] for density in trajectory.densities],
        "v": [np.asarray(v)[vertex_dofs] for v in trajectory.v],
    }
    return write_xdmf_series(path, basis.mesh, trajectory.times, fields)


#: XDMF topology of each mesh type.  A 1D mesh is a set of two-node ``Polyline`` cells:
#: XDMF has no "line" type, and a Polyline needs ``NodesPerElement="2"``: without it
#: ParaView's default XDMF reader (Xdmf3ReaderS, 5.11) aborts ParaView (SIGABRT).
_XDMF_TOPOLOGY = {
    "MeshLine1": "Polyline",
    "MeshTri1": "Triangle",
    "MeshQuad1": "Quadrilateral",
    "MeshTet1": "Tetrahedron",
    "MeshHex1": "Hexahedron",
}


def write_xdmf_series(
    path: str | os.PathLike[str],
    mesh: skfem.Mesh,
    times: Any,
    point_data: dict[str, Any],
) -> Path:
    """Write scalar fields on the vertices of a mesh at several times as an XDMF time series.

    The ``.xdmf`` file holds one temporal collection; each time is a complete uniform grid
    (topology, geometry, ``<Time>`` and one node-centred scalar per field) whose arrays are
    datasets of the ``.h5`` file beside it (the mesh is stored once and shared by all
    times).  Cells are written with an explicit ``NodesPerElement``: two-node ``Polyline``
    in 1D, ``Triangle``/``Quadrilateral`` in 2D, ``Tetrahedron``/``Hexahedron`` in 3D;
    coordinates are padded with zeros to 3-D; triangles are written counter-clockwise and
    tetrahedra with positive volume, as VTK expects.  ParaView (all three of its XDMF
    readers) and :class:`meshio.xdmf.TimeSeriesReader` read the files.

    Both files are written in a temporary folder next to ``path`` and moved into place,
    the ``.h5`` first, so the ``.xdmf`` never points at missing data; they get the
    permissions of a plain write (the umask).  Needs ``h5py``.

    Parameters
    ----------
    path
        The ``.xdmf`` file; the ``.h5`` file gets the same name with suffix ``.h5``.
    mesh
        A ``MeshLine1``, ``MeshTri1``, ``MeshQuad1``, ``MeshTet1`` or ``MeshHex1``.
    times
        Increasing times, one per step.
    point_data
        Field name -> values of shape ``(len(times), n_vertices)``, in the order of
        ``mesh.p``.  Names are non-empty and contain neither ``/`` nor ``:``.

    Returns
    -------
    pathlib.Path
        The ``.xdmf`` path.

    Raises
    ------
    InvalidInputError
        For another suffix than ``.xdmf``, an unsupported mesh, times that are not finite
        and increasing, or fields of the wrong shape or name.

    Examples
    --------
    >>> import tempfile, pathlib, meshio, gan_pde as gp
    >>> m = gp.mesh.rectangle((0.0, 1.0), (0.0, 1.0), n=4)
    >>> heat = [np.exp(-t) * m.p[0] for t in (0.0, 0.5)]
    >>> path = write_xdmf_series(pathlib.Path(tempfile.mkdtemp()) / "heat.xdmf", m,
    ...                          [0.0, 0.5], {"heat": heat})
    >>> with meshio.xdmf.TimeSeriesReader(path) as reader:
    ...     points, cells = reader.read_points_cells()
    ...     reader.num_steps, cells[0].type, reader.read_data(1)[0]
    (2, 'triangle', 0.5)
    """
    import h5py

    path = Path(path)
    if path.suffix != ".xdmf":
        msg = f"the XDMF file needs a path ending in .xdmf; got {str(path)!r}"
        raise InvalidInputError(msg)
    name = type(mesh).__name__
    if name not in _XDMF_TOPOLOGY:
        msg = f"cannot write a mesh of type {name} to XDMF; expected one of "
        msg += ", ".join(_XDMF_TOPOLOGY)
        raise InvalidInputError(msg)
    times = np.asarray(times, dtype=np.float64)
    if times.ndim != 1 or times.size == 0 or not np.all(np.isfinite(times)):
        msg = f"times must be a non-empty 1-D array of finite numbers; got shape {times.shape}"
        raise InvalidInputError(msg)
    if np.any(np.diff(times) <= 0.0):
        msg = f"times must be increasing; got {times.tolist()}"
        raise InvalidInputError(msg)
    n_vertices = mesh.p.shape[1]
    fields: dict[str, np.ndarray] = {}
    for field, values in point_data.items():
        if not isinstance(field, str) or not field or "/" in field or ":" in field:
            msg = f"field name {field!r} must be a non-empty string without '/' or ':'"
            raise InvalidInputError(msg)
        array = np.asarray(values, dtype=np.float64)
        if array.shape != (times.size, n_vertices):
            msg = (
                f"field {field!r} has shape {array.shape}; expected (len(times), n_vertices)"
                f" = {(times.size, n_vertices)}"
            )
            raise InvalidInputError(msg)
        fields[field] = array

    points = np.zeros((n_vertices, 3))
    points[:, : mesh.dim()] = mesh.p.T
    cells = mesh.t[HEX_MAPPING[:8]] if name == "MeshHex1" else mesh.t  # XDMF = VTK order
    cells = _positively_oriented(points, np.array(cells.T, dtype=np.int64), name)
    h5 = path.with_suffix(".h5")
    xml = _xdmf_text(h5.name, _XDMF_TOPOLOGY[name], points.shape, cells.shape, times, fields)

    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{path.name}.", dir=path.parent) as folder:
        with h5py.File(Path(folder) / h5.name, "w") as file:
            file.create_dataset("mesh/geometry", data=points)
            file.create_dataset("mesh/topology", data=cells)
            file.create_dataset("times", data=times)
            for field, array in fields.items():
                for k, row in enumerate(array):
                    file.create_dataset(f"point_data/{field}/{k}", data=row)
        (Path(folder) / path.name).write_text(xml, encoding="utf-8")
        for written in (h5, path):  # the .h5 first: the .xdmf never points at missing data
            temporary = Path(folder) / written.name
            os.chmod(temporary, new_file_mode(written))
            os.replace(temporary, written)
    return path


def _positively_oriented(points: np.ndarray, cells: np.ndarray, name: str) -> np.ndarray:
    """``cells`` with every triangle counter-clockwise and every tetrahedron of positive
    volume, as VTK expects (scikit-fem's meshes mix both orientations; ParaView's cell
    sizes and integrals would then count half the cells negatively)."""
    if name not in ("MeshTri1", "MeshTet1"):
        return cells
    corners = points[cells]  # (n_cells, nodes, 3)
    edges = corners[:, 1:] - corners[:, :1]
    if name == "MeshTri1":
        sign = edges[:, 0, 0] * edges[:, 1, 1] - edges[:, 0, 1] * edges[:, 1, 0]
    else:
        sign = np.einsum("ij,ij->i", np.cross(edges[:, 0], edges[:, 1]), edges[:, 2])
    flip = np.flatnonzero(sign < 0.0)
    cells[np.ix_(flip, [-2, -1])] = cells[np.ix_(flip, [-1, -2])]  # swap the last two nodes
    return cells


def _xdmf_text(
    h5_name: str,
    topology: str,
    points_shape: tuple[int, ...],
    cells_shape: tuple[int, ...],
    times: np.ndarray,
    fields: dict[str, np.ndarray],
) -> str:
    """The XML of :func:`write_xdmf_series` (XDMF 3, readable by the XDMF 2 readers too)."""
    from xml.etree import ElementTree as ET

    def data_item(parent: ET.Element, dims: tuple[int, ...], kind: str, dataset: str) -> None:
        item = ET.SubElement(
            parent,
            "DataItem",
            DataType=kind,
            Precision="8",
            Dimensions=" ".join(str(d) for d in dims),
            Format="HDF",
        )
        item.text = f"{h5_name}:/{dataset}"

    root = ET.Element("Xdmf", Version="3.0")
    domain = ET.SubElement(root, "Domain")
    collection = ET.SubElement(
        domain, "Grid", Name="TimeSeries", GridType="Collection", CollectionType="Temporal"
    )
    for k, time in enumerate(times):
        grid = ET.SubElement(collection, "Grid", Name=f"step_{k}", GridType="Uniform")
        ET.SubElement(grid, "Time", Value=repr(float(time)))
        topo = ET.SubElement(
            grid,
            "Topology",
            TopologyType=topology,
            NumberOfElements=str(cells_shape[0]),
            NodesPerElement=str(cells_shape[1]),
        )
        data_item(topo, cells_shape, "Int", "mesh/topology")
        geometry = ET.SubElement(grid, "Geometry", GeometryType="XYZ")
        data_item(geometry, points_shape, "Float", "mesh/geometry")
        for field in fields:
            attribute = ET.SubElement(
                grid, "Attribute", Name=field, AttributeType="Scalar", Center="Node"
            )
            data_item(attribute, (points_shape[0],), "Float", f"point_data/{field}/{k}")
    ET.indent(root)
    return '<?xml version="1.0"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


#: Result dataclasses that :func:`save` writes field by field and :func:`load` rebuilds
#: (class name → module); nothing outside this list is ever instantiated from a file.
RESULT_TYPES = {
    "MeanFieldTrajectory": "gan_pde.meanfield.model",
    "ToyPath": "gan_pde.meanfield.toy",
    "ProjectedPath": "gan_pde.meanfield.toy",
    "ToyMeanFieldPath": "gan_pde.meanfield.toy",
    "DualPath": "gan_pde.dual.schemes",
    "Ensemble": "gan_pde.sde.simulate",
    "LongRun": "gan_pde.sde.longrun",
}
_RESULT_FORMAT = "gan_pde-result"


def _encode_fields(result: Any) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Arrays and JSON metadata of a result dataclass (arrays, lists of arrays, JSON)."""
    import dataclasses

    arrays: dict[str, np.ndarray] = {}
    fields: dict[str, Any] = {}
    for spec in dataclasses.fields(result):
        value = getattr(result, spec.name)
        if isinstance(value, np.ndarray):
            if value.dtype.hasobject:
                msg = f"field {spec.name!r} of {type(result).__name__} is an object array"
                raise InvalidInputError(msg)
            arrays[f"field/{spec.name}"] = value
            fields[spec.name] = {"kind": "array"}
        elif (
            isinstance(value, (list, tuple))
            and value
            and all(isinstance(v, np.ndarray) for v in value)
        ):
            for i, item in enumerate(value):
                arrays[f"list/{spec.name}/{i}"] = item
            fields[spec.name] = {
                "kind": "arrays",
                "n": len(value),
                "tuple": isinstance(value, tuple),
            }
        else:
            plain = _plain(value)
            try:
                json.dumps(plain)
            except TypeError as err:
                msg = f"field {spec.name!r} of {type(result).__name__} cannot be stored: {err}"
                raise InvalidInputError(msg) from err
            fields[spec.name] = {"kind": "json", "value": plain, "tuple": isinstance(value, tuple)}
    return arrays, fields


def _decode_fields(arrays: dict[str, np.ndarray], fields: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, spec in fields.items():
        if spec["kind"] == "array":
            values[name] = arrays[f"field/{name}"]
        elif spec["kind"] == "arrays":
            items = [arrays[f"list/{name}/{i}"] for i in range(spec["n"])]
            values[name] = tuple(items) if spec["tuple"] else items
        else:
            value = spec["value"]
            values[name] = tuple(value) if spec["tuple"] and isinstance(value, list) else value
    return values


def save(path: str | os.PathLike[str], result: Any) -> Path:
    """Write any result of the package to an ``.npz`` file (atomically).

    Trajectories go through :func:`save_trajectory`, training runs through
    :meth:`TrainingRun.save <gan_pde.nn.TrainingRun.save>`, the dataclasses of
    :data:`RESULT_TYPES` field by field.

    Raises
    ------
    InvalidInputError
        For a result type that is not one of these.
    """
    path = Path(path)
    if isinstance(result, Trajectory):
        return save_trajectory(path, result)
    name = type(result).__name__
    if name == "TrainingRun":
        return result.save(path)
    if RESULT_TYPES.get(name) != type(result).__module__:
        msg = (
            f"cannot save a {name}: gan_pde.io.save writes Trajectory, TrainingRun and "
            f"{', '.join(RESULT_TYPES)}"
        )
        raise InvalidInputError(msg)
    arrays, fields = _encode_fields(result)
    meta = {"format": _RESULT_FORMAT, "format_version": FORMAT_VERSION, "type": name}
    meta["fields"] = fields
    with atomic_path(path, ".npz") as temporary, open(temporary, "wb") as file:
        np.savez(file, **arrays, metadata=np.array(json.dumps(meta)))
    return path


def load(path: str | os.PathLike[str]) -> Any:
    """Read any file written by :func:`save` (or by the commands) into its result type.

    ``.npz``: a :class:`~gan_pde.flows.Trajectory`, a :class:`~gan_pde.nn.TrainingRun` or
    one of :data:`RESULT_TYPES`.  ``.json``: the ``results.json`` of ``gan-pde sweep``
    (a :class:`~gan_pde.sweep.SweepResult`) or of ``gan-pde verify`` (a list of
    :class:`~gan_pde.verify.Check`).

    Raises
    ------
    InvalidInputError
        For a file that is none of these (checkpoints: use
        :func:`gan_pde.checkpoint.load_checkpoint`).
    """
    import importlib

    path = Path(path)
    if path.suffix == ".json":
        return _load_json(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
    except (OSError, ValueError) as err:
        reason = "not an .npz archive" if "allow_pickle" in str(err) else str(err)
        msg = f"{path} is not a gan_pde result file: {reason}"
        raise InvalidInputError(msg) from err
    if "__checkpoint__" in arrays:
        msg = f"{path} is a checkpoint; read it with gan_pde.checkpoint.load_checkpoint"
        raise InvalidInputError(msg)
    try:
        meta = json.loads(str(arrays.pop("metadata")))
    except (KeyError, ValueError) as err:
        msg = f"{path} is not a gan_pde result file (no metadata)"
        raise InvalidInputError(msg) from err
    if "mesh_type" in meta:
        return load_trajectory(path)
    if meta.get("kind") == "training_run":
        from gan_pde.nn.run import TrainingRun

        return TrainingRun.load(path)
    name = meta.get("type")
    if meta.get("format") != _RESULT_FORMAT or name not in RESULT_TYPES:
        msg = f"{path} is not a gan_pde result file (unknown type {name!r})"
        raise InvalidInputError(msg)
    cls = getattr(importlib.import_module(RESULT_TYPES[name]), name)
    return cls(**_decode_fields(arrays, meta["fields"]))


def _load_json(path: Path) -> Any:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        msg = f"{path} is not a readable JSON file: {err}"
        raise InvalidInputError(msg) from err
    if isinstance(data, dict) and "records" in data and "info" in data:
        from gan_pde.sweep import SweepResult

        records = data["records"]
        names = [k for k in (records[0] if records else {}) if k not in ("value", "seconds")]
        cached = int(data["info"].get("cached", 0))
        return SweepResult(records=records, names=names, cached=cached, info=data["info"])
    if isinstance(data, dict) and data.get("schema") == "gan_pde.verify.results":
        data = data.get("checks", [])
    if isinstance(data, list) and all(isinstance(d, dict) and "claim" in d for d in data):
        # a verify results.json: schema 2 (a document with "checks") or the bare list of 1
        from gan_pde.verify.registry import Check

        plain = ("name", "paper", "reference", "claim", "measured", "expected", "tolerance")
        return [
            Check(
                **{k: d.get(k) for k in plain},
                passed=bool(d.get("passed")),
                seconds=float(d.get("seconds") or 0.0),
                details=d.get("details") or {},
                skipped=d.get("skipped"),
                criteria=list(d.get("criteria") or []),
                reference_kind=tuple(d.get("reference_kind") or ()),
                size=d.get("size") or "default",
            )
            for d in data
        ]
    msg = f"{path} is neither a sweep nor a verify results.json"
    raise InvalidInputError(msg)
