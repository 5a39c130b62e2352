"""Reading and writing results: ``.npz`` files for every result type, XDMF time series.

:func:`save` and :func:`load` handle every result of the package: JSD-flow
:class:`~gan_pde.flows.Trajectory` (with its mesh), network :class:`~gan_pde.nn.TrainingRun`,
and the plain result dataclasses of the models (mean-field trajectories and toy paths,
dual-flow paths, SDE ensembles and long runs), plus the JSON outputs of ``gan-pde sweep``
and ``gan-pde verify``.  Files are read with ``allow_pickle=False`` and result classes are
rebuilt only from a fixed list of gan_pde types: loading never executes code from a file.

Every write is atomic: the data go to a temporary file in the destination folder, which
then replaces the destination with :func:`os.replace`, so a reader never sees a half-written
file and an interrupted write leaves the previous file intact.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import skfem
from skfem.io.meshio import HEX_MAPPING

from gan_pde._files import atomic_path
from gan_pde.errors import InvalidInputError
from gan_pde.fem.basis import make_basis
from gan_pde.flows.jsd import Trajectory

__all__ = ["RESULT_TYPES", "load", "load_trajectory", "save", "save_trajectory", "write_xdmf"]

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

    The mesh is written once; every saved time gets the point data ``u`` (the density) and
    ``v`` (:math:`u/\\rho_d`) at the mesh vertices (for P2, the vertex dofs).  Both files
    are written in a temporary folder next to ``path`` and moved into place, the ``.h5``
    first, so the ``.xdmf`` never points at missing data.  Needs ``h5py``.

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
    import meshio

    if not isinstance(trajectory, Trajectory):
        msg = f"trajectory must be a gan_pde Trajectory; got {type(trajectory).__name__}"
        raise InvalidInputError(msg)
    path = Path(path)
    if path.suffix != ".xdmf":
        msg = f"write_xdmf needs a path ending in .xdmf; got {str(path)!r}"
        raise InvalidInputError(msg)
    basis = trajectory.densities[0].basis
    mesh = basis.mesh
    cell_type = _MESHES[_mesh_name(mesh)][1]
    points = np.zeros((mesh.p.shape[1], 3))
    points[:, : mesh.dim()] = mesh.p.T
    vertex_dofs = basis.nodal_dofs[0]
    t = mesh.t
    if cell_type == "hexahedron":
        t = t[HEX_MAPPING[:8]]
    path.parent.mkdir(parents=True, exist_ok=True)
    h5 = path.with_suffix(".h5")
    with tempfile.TemporaryDirectory(prefix=f".{path.name}.", dir=path.parent) as folder:
        # meshio puts the .h5 file in the working directory, under the .xdmf file's stem
        with _working_directory(folder), meshio.xdmf.TimeSeriesWriter(path.name) as writer:
            writer.write_points_cells(points, [(cell_type, t.T)])
            for time, v, density in zip(
                trajectory.times, trajectory.v, trajectory.densities, strict=True
            ):
                writer.write_data(
                    float(time),
                    point_data={
                        "u": density.values[vertex_dofs],
                        "v": np.asarray(v)[vertex_dofs],
                    },
                )
        os.replace(Path(folder) / h5.name, h5)
        os.replace(Path(folder) / path.name, path)
    return path


@contextlib.contextmanager
def _working_directory(folder: str):
    """``contextlib.chdir`` for Python 3.10 (it is new in 3.11): run in ``folder``, then
    return to the previous working directory whatever happens."""
    previous = os.getcwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(previous)


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
