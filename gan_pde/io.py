"""Reading and writing results: JSD-flow trajectories as ``.npz`` and XDMF time series.

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

__all__ = ["load_trajectory", "save_trajectory", "write_xdmf"]

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
        with contextlib.chdir(folder), meshio.xdmf.TimeSeriesWriter(path.name) as writer:
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
