"""Reading and writing results: ``.npz`` files for every result type, XDMF time series.

:func:`save` and :func:`load` handle every result of the package (:data:`RESULT_TYPES`):
the JSD-flow :class:`~gan_pde.flows.Trajectory` and its particles, spectra and the adaptive
and certified Poincaré constants, lGAN trajectories, mean-field trajectories, particles and
toy paths, dual-flow paths and studies, SDE ensembles and long runs, network
:class:`~gan_pde.nn.TrainingRun` s and neural estimates, comparisons, sweeps and the
engine's :class:`~gan_pde.engine.EngineResult`; plus the JSON outputs of ``gan-pde sweep``
and ``gan-pde verify``.  Every field comes back equal, bit for bit.

A file holds plain arrays and one JSON string (``metadata``) that describes the result as a
tree: numbers, strings and lists in the JSON, every array under its own key (named after
its place in the result, e.g. ``jsd`` or ``flow/v/3``).  What an ``.npz`` file cannot hold
is stored as what rebuilds it:

* a scikit-fem mesh as its points and cells (``MeshLine1``, ``MeshTri1``, ``MeshQuad1``,
  ``MeshTet1``, ``MeshHex1``), a basis as its mesh, element name and quadrature rule, a
  :class:`~gan_pde.densities.MeshDensity` as its basis and dof values (an object shared by
  several fields, e.g. the basis of all densities of a trajectory, is stored once and
  shared again after loading);
* a scipy sparse matrix as its CSR arrays (the :class:`~gan_pde.fem.WeightedSystem` of a
  :class:`~gan_pde.spectral.Spectrum`);
* the small dataclasses inside results (:data:`PART_TYPES`: grids, laws, time axes) field
  by field.

Objects that nothing in a file can rebuild — trained torch networks, Python functions,
analytic densities — are refused with an :class:`~gan_pde.errors.InvalidInputError` that
names the result type, the field and what to save instead (for instance
``dataclasses.replace(estimate, function=None)`` for a
:class:`~gan_pde.nn.poincare.PoincareEstimate`, whose numbers are then kept).

Files are read with ``allow_pickle=False`` and classes are rebuilt only from the fixed lists
:data:`RESULT_TYPES` and :data:`PART_TYPES` (and scikit-fem meshes and elements):
loading never executes code from a file.  Files of earlier versions still load: trajectories
of the first layout, results written field by field, training runs of
:meth:`TrainingRun.save <gan_pde.nn.TrainingRun.save>`, and paths whose time field was
called ``t`` before the results took the common name ``times`` (and the other way round).

Every write is atomic: the data go to a temporary file in the destination folder, which
then replaces the destination with :func:`os.replace`, so a reader never sees a half-written
file and an interrupted write leaves the previous file intact.  The file ends with the
permissions a plain ``open(path, "w")`` would give it (``0o666`` less the umask, or the
mode of the file it replaces), not the private mode of the temporary file.

XDMF time series (:func:`write_xdmf`, :func:`write_xdmf_series`) are written in a layout
that ParaView's three XDMF readers and meshio open, in 1D, 2D and 3D
(``tests/test_files_open.py`` opens them with ParaView itself).  No writer changes the
working directory, and writers of different files may run in parallel threads.

Examples
--------
>>> import tempfile, pathlib, gan_pde as gp
>>> path = gp.dual.simulate(gp.dual.oscillating_game([1.0]), [0.0], [2.0], tau=0.1,
...                         n_steps=5, scheme="implicit")
>>> back = load(save(pathlib.Path(tempfile.mkdtemp()) / "dual.npz", path))
>>> type(back).__name__, bool(np.array_equal(back.x, path.x))
('DualPath', True)
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import math
import os
import sys
import tempfile
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from gan_pde._arrays import as_finite_array
from gan_pde._files import atomic_path, new_file_mode
from gan_pde.errors import InvalidInputError

if TYPE_CHECKING:
    import skfem

    from gan_pde.flows.jsd import Trajectory

__all__ = [
    "PART_TYPES",
    "RESULT_TYPES",
    "load",
    "load_trajectory",
    "save",
    "save_trajectory",
    "write_xdmf",
    "write_xdmf_series",
]

#: Version of the ``.npz`` layout that :func:`save` writes (2: the result as a tree).
#: Version 1 files (trajectories with a flat layout, results written field by field) load.
FORMAT_VERSION = 2

#: Every result type of the package: class name → the module it is imported from.
#: :func:`save` writes these and :func:`load` rebuilds them; nothing outside this list and
#: :data:`PART_TYPES` is ever instantiated from a file.
RESULT_TYPES = {
    # JSD flow (paper 002)
    "Trajectory": "gan_pde.flows",
    "ParticleTrajectory": "gan_pde.flows",
    # spectra, lGAN (paper 004)
    "Spectrum": "gan_pde.spectral",
    "AdaptiveResult": "gan_pde.spectral",
    "CertifiedPoincare": "gan_pde.spectral",
    "LGANTrajectory": "gan_pde.spectral",
    "MixtureExperiment": "gan_pde.spectral",
    "OptimalParameters": "gan_pde.spectral",
    "BandwidthStudy": "gan_pde.spectral",
    "AugmentationStudy": "gan_pde.spectral",
    # WGAN mean field (paper 001)
    "MeanFieldTrajectory": "gan_pde.meanfield",
    "MeanFieldParticles": "gan_pde.meanfield",
    "ToyPath": "gan_pde.meanfield",
    "ProjectedPath": "gan_pde.meanfield.toy",
    "ToyMeanFieldPath": "gan_pde.meanfield",
    "ToyMeanFieldFV": "gan_pde.meanfield.toy",
    "ParticleFlowRun": "gan_pde.meanfield.highres",
    "DecayFit": "gan_pde.meanfield.highres",
    # dual metric flows (paper 003)
    "DualPath": "gan_pde.dual",
    "ParticlePath": "gan_pde.dual",
    "CollapseStudy": "gan_pde.dual",
    "OscillationStudy": "gan_pde.dual",
    "ConvergenceStudy": "gan_pde.dual",
    "EDIDefect": "gan_pde.dual",
    # SDE approximations (paper 000)
    "Ensemble": "gan_pde.sde",
    "LongRun": "gan_pde.sde.longrun",
    "StationaryDensity": "gan_pde.sde",
    # networks and comparisons
    "TrainingRun": "gan_pde.nn",
    "PoincareEstimate": "gan_pde.nn.poincare",
    "PoincareStudy": "gan_pde.nn.poincare",
    "JSDComparison": "gan_pde.compare.experiments",
    "LSGANComparison": "gan_pde.compare.experiments",
    "WGANComparison": "gan_pde.compare.experiments",
    # the engine, sweeps, the Newton solver
    "EngineResult": "gan_pde.engine",
    "SweepResult": "gan_pde.sweep",
    "NewtonResult": "gan_pde.fem",
}

#: Small dataclasses stored inside results (class name → module), rebuilt field by field.
PART_TYPES = {
    "WeightedSystem": "gan_pde.fem",
    "FEMFunction": "gan_pde.fem",
    "BumpLaw": "gan_pde.meanfield",
    "BoxGrid": "gan_pde.meanfield",
    "NeuronGrid": "gan_pde.meanfield",
    "TimeAxis": "gan_pde.compare",
    "TimeAlignment": "gan_pde.compare",
}

#: What to save instead, for fields that hold objects no file can rebuild.
_INSTEAD = {
    ("PoincareEstimate", "function"): (
        "the trained network is a Python function; save "
        "dataclasses.replace(estimate, function=None) to keep the numbers (rerun "
        "estimate_poincare_constant with the recorded seed for the network)"
    ),
    ("LSGANComparison", "discriminator"): (
        "the discriminator is a torch module; save dataclasses.replace(result, "
        "discriminator=None): its parameters over time are in result.run.parameters"
    ),
    ("EngineResult", "state"): (
        "save dataclasses.replace(result, state=stepper.state_arrays(result.state)): "
        "the stepper's arrays are what a checkpoint stores and load_state rebuilds"
    ),
}

_RESULT_FORMAT = "gan_pde-result"
_MESHES = ("MeshLine1", "MeshTri1", "MeshQuad1", "MeshTet1", "MeshHex1")
_SPARSE = ("csr_matrix", "csc_matrix", "coo_matrix", "csr_array", "csc_array", "coo_array")
#: A field called ``t`` in older files and ``times`` now (and the other way round).
_RENAMED = {"t": "times", "times": "t"}


def _class(name: str) -> type:
    """The result or part class ``name`` (from :data:`RESULT_TYPES` / :data:`PART_TYPES`)."""
    module = RESULT_TYPES.get(name) or PART_TYPES[name]
    return getattr(importlib.import_module(module), name)


def _is_listed(value: Any, table: Mapping[str, str]) -> bool:
    name = type(value).__name__
    if name not in table or not dataclasses.is_dataclass(value):
        return False
    try:
        return _class(name) is type(value)
    except (ImportError, AttributeError):
        return False


# ----------------------------------------------------------------------------- writing


class _Writer:
    """Turns a result into JSON (the tree) and named arrays, one traversal."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}
        self._shared: dict[int, tuple[int, Any]] = {}  # id → (reference, the object)

    def _key(self, path: list[str]) -> str:
        key = "/".join(path) or "value"
        base, n = key, 1
        while key in self.arrays or key == "metadata":
            key, n = f"{base}~{n}", n + 1
        return key

    def _array(self, array: np.ndarray, path: list[str]) -> str:
        key = self._key(path)
        self.arrays[key] = array
        return key

    def encode(self, value: Any, path: list[str], where: str) -> Any:
        """The JSON spec of ``value`` (its arrays go to :attr:`arrays`)."""
        if isinstance(value, np.generic):  # before float and str: np.float64 is a float
            if value.dtype.hasobject:
                raise self._refuse(value, where)
            return {"k": "scalar", "key": self._array(np.asarray(value), path)}
        if value is None or isinstance(value, (bool, int, str)):
            return {"k": "json", "v": value}
        if isinstance(value, float):
            if math.isfinite(value):
                return {"k": "json", "v": value}
            return {"k": "float", "v": repr(value)}  # nan, inf: not JSON numbers
        if isinstance(value, complex):
            return {"k": "complex", "v": [repr(value.real), repr(value.imag)]}
        known = self._shared.get(id(value))
        if known is not None and known[1] is value:
            return {"k": "ref", "id": known[0]}
        spec = self._encode_object(value, path, where)
        if spec.get("k") in ("array", "mesh", "basis", "density", "sparse", "dataclass"):
            spec["id"] = len(self._shared)
            self._shared[id(value)] = (spec["id"], value)  # kept alive: ids stay unique
        return spec

    def _encode_object(self, value: Any, path: list[str], where: str) -> dict[str, Any]:
        if isinstance(value, np.ndarray):
            if value.dtype.hasobject or type(value) is not np.ndarray:
                raise self._refuse(value, where)
            return {"k": "array", "key": self._array(value, path)}
        kind = _skfem_kind(value)
        if kind == "mesh":
            return self._mesh(value, path, where)
        if kind == "basis":
            return self._basis(value, path, where)
        if _is_mesh_density(value):
            return {
                "k": "density",
                "basis": self.encode(value.basis, [*path, "basis"], where),
                "values": self._array(np.asarray(value.values), [*path, "values"]),
            }
        if _is_sparse(value):
            return self._sparse(value, path)
        if _is_listed(value, RESULT_TYPES) or _is_listed(value, PART_TYPES):
            name = type(value).__name__
            return {
                "k": "dataclass",
                "type": name,
                "fields": {
                    spec.name: self.encode(
                        getattr(value, spec.name), [*path, spec.name], f"{name}.{spec.name}"
                    )
                    for spec in dataclasses.fields(value)
                    if spec.init
                },
            }
        if isinstance(value, Mapping):
            items = []
            for key, item in value.items():
                if isinstance(key, (np.integer, np.floating, np.bool_)):
                    key = key.item()  # an equal key (same hash): the dict reads the same
                if not (key is None or isinstance(key, (bool, int, float, str))):
                    msg = (
                        f"cannot save {where}: its dict has a key {key!r} of type "
                        f"{type(key).__name__}; keys must be strings or numbers"
                    )
                    raise InvalidInputError(msg)
                items.append([key, self.encode(item, [*path, str(key)], where)])
            return {"k": "dict", "items": items}
        if isinstance(value, (list, tuple)) and type(value) in (list, tuple):
            return {
                "k": type(value).__name__,
                "items": [self.encode(v, [*path, str(i)], where) for i, v in enumerate(value)],
            }
        raise self._refuse(value, where)

    def _mesh(self, mesh: Any, path: list[str], where: str) -> dict[str, Any]:
        name = type(mesh).__name__
        if name not in _MESHES:
            msg = (
                f"cannot save {where}: a mesh of type {name}; gan_pde.io stores "
                f"{', '.join(_MESHES)} (convert it, or save its points mesh.p and cells mesh.t)"
            )
            raise InvalidInputError(msg)
        tags = {}
        for tag in ("_boundaries", "_subdomains"):
            value = getattr(mesh, tag, None)
            tags[tag] = None if value is None else self.encode(dict(value), [*path, tag], where)
        return {
            "k": "mesh",
            "type": name,
            "doflocs": self._array(np.asarray(mesh.doflocs), [*path, "doflocs"]),
            "t": self._array(np.asarray(mesh.t), [*path, "t"]),
            **tags,
        }

    def _basis(self, basis: Any, path: list[str], where: str) -> dict[str, Any]:
        if basis.tind is not None:
            msg = (
                f"cannot save {where}: a basis restricted to part of the mesh; save a "
                "basis of the whole mesh"
            )
            raise InvalidInputError(msg)
        element = type(basis.elem).__name__
        if not _element_class(element):
            msg = (
                f"cannot save {where}: its element {element} is not a scikit-fem element "
                "built without arguments; save the dof values and the mesh instead"
            )
            raise InvalidInputError(msg)
        return {
            "k": "basis",
            "mesh": self.encode(basis.mesh, [*path, "mesh"], where),
            "element": element,
            "X": self._array(np.asarray(basis.X), [*path, "X"]),
            "W": self._array(np.asarray(basis.W), [*path, "W"]),
        }

    def _sparse(self, matrix: Any, path: list[str]) -> dict[str, Any]:
        import scipy.sparse as sp

        name = type(matrix).__name__
        csr = matrix if name in ("csr_matrix", "csr_array") else sp.csr_matrix(matrix)
        return {
            "k": "sparse",
            "type": name if name in _SPARSE else "csr_matrix",
            "shape": [int(n) for n in csr.shape],
            "data": self._array(csr.data, [*path, "data"]),
            "indices": self._array(csr.indices, [*path, "indices"]),
            "indptr": self._array(csr.indptr, [*path, "indptr"]),
        }

    @staticmethod
    def _refuse(value: Any, where: str) -> InvalidInputError:
        owner, _, field = where.partition(".")
        instead = _INSTEAD.get((owner, field))
        kind = type(value).__name__
        module = type(value).__module__.split(".")[0]
        if instead is None:
            if module == "torch":
                instead = (
                    "a torch object: store its numbers as numpy arrays "
                    "(tensor.detach().cpu().numpy(), module.state_dict()) in its place"
                )
            elif module == "gan_pde" and hasattr(value, "log_pdf"):
                instead = (
                    "an analytic density: store its parameters, or a MeshDensity of its "
                    "values on a mesh (MeshDensity.from_density), in its place"
                )
            elif callable(value):
                instead = "a function: store the numbers it was built from in its place"
            else:
                instead = (
                    "store numbers, strings, numpy arrays, lists and dicts of them in its place"
                )
        msg = f"cannot save {where}: a {module}.{kind} cannot be stored in an .npz file; {instead}"
        return InvalidInputError(msg)


def _skfem_kind(value: Any) -> str:
    """``"mesh"``/``"basis"`` for scikit-fem meshes and cell bases (skfem not imported)."""
    if "skfem" not in sys.modules:
        return ""
    import skfem

    if isinstance(value, skfem.Mesh):
        return "mesh"
    if isinstance(value, skfem.CellBasis):
        return "basis"
    return ""


def _is_mesh_density(value: Any) -> bool:
    densities = sys.modules.get("gan_pde.densities")
    return densities is not None and type(value) is densities.MeshDensity


def _is_sparse(value: Any) -> bool:
    sparse = sys.modules.get("scipy.sparse")
    return sparse is not None and sparse.issparse(value)


def _element_class(name: str) -> type | None:
    """The scikit-fem element class ``name`` if it is one built without arguments."""
    import inspect

    import skfem

    cls = getattr(skfem, name, None)
    if not (isinstance(cls, type) and issubclass(cls, skfem.Element)):
        return None
    required = [
        p
        for p in inspect.signature(cls).parameters.values()
        if p.default is inspect.Parameter.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    return None if required else cls


# ----------------------------------------------------------------------------- reading


class _Reader:
    """Rebuilds a result from the tree written by :class:`_Writer`."""

    def __init__(self, arrays: Mapping[str, np.ndarray], source: Path) -> None:
        self.arrays = arrays
        self.source = source
        self._shared: dict[int, Any] = {}

    def decode(self, spec: Any) -> Any:
        kind = spec["k"]
        if kind == "json":
            return spec["v"]
        if kind == "float":
            return float(spec["v"])
        if kind == "complex":
            return complex(float(spec["v"][0]), float(spec["v"][1]))
        if kind == "scalar":
            return self.arrays[spec["key"]][()]
        if kind == "ref":
            return self._shared[spec["id"]]
        if kind == "list":
            return [self.decode(item) for item in spec["items"]]
        if kind == "tuple":
            return tuple(self.decode(item) for item in spec["items"])
        if kind == "dict":
            return {key: self.decode(item) for key, item in spec["items"]}
        value = self._decode_shared(kind, spec)
        self._shared[spec["id"]] = value
        return value

    def _decode_shared(self, kind: str, spec: dict[str, Any]) -> Any:
        if kind == "array":
            return self.arrays[spec["key"]]
        if kind == "mesh":
            import skfem

            if spec["type"] not in _MESHES:
                msg = f"{self.source}: unknown mesh type {spec['type']!r}"
                raise InvalidInputError(msg)
            tags = {
                tag: None if spec[tag] is None else self.decode(spec[tag])
                for tag in ("_boundaries", "_subdomains")
            }
            mesh_class = getattr(skfem, spec["type"])
            return mesh_class(
                self.arrays[spec["doflocs"]], self.arrays[spec["t"]], sort_t=False, **tags
            )
        if kind == "basis":
            import skfem

            element = _element_class(spec["element"])
            if element is None:
                msg = f"{self.source}: unknown scikit-fem element {spec['element']!r}"
                raise InvalidInputError(msg)
            mesh = self.decode(spec["mesh"])
            rule = (self.arrays[spec["X"]], self.arrays[spec["W"]])
            return skfem.CellBasis(mesh, element(), quadrature=rule)
        if kind == "density":
            from gan_pde.densities import MeshDensity

            return MeshDensity(self.decode(spec["basis"]), self.arrays[spec["values"]])
        if kind == "sparse":
            import scipy.sparse as sp

            if spec["type"] not in _SPARSE:
                msg = f"{self.source}: unknown sparse matrix type {spec['type']!r}"
                raise InvalidInputError(msg)
            parts = (
                self.arrays[spec["data"]],
                self.arrays[spec["indices"]],
                self.arrays[spec["indptr"]],
            )
            csr = sp.csr_matrix(parts, shape=tuple(spec["shape"]))
            return csr if spec["type"] == "csr_matrix" else getattr(sp, spec["type"])(csr)
        if kind == "dataclass":
            name = spec["type"]
            if name not in RESULT_TYPES and name not in PART_TYPES:
                msg = f"{self.source}: unknown type {name!r} in a gan_pde result file"
                raise InvalidInputError(msg)
            cls = _class(name)
            values = {key: self.decode(item) for key, item in spec["fields"].items()}
            return _build(cls, values, self.source)
        msg = f"{self.source}: unknown entry of kind {kind!r} (written by a newer gan_pde?)"
        raise InvalidInputError(msg)


def _build(cls: type, values: dict[str, Any], source: Path) -> Any:
    """``cls(**values)``, with the ``t``/``times`` rename and a clear error for a file
    written by another version of the class."""
    fields = {spec.name for spec in dataclasses.fields(cls) if spec.init}
    for old, new in _RENAMED.items():
        if old in values and old not in fields and new in fields and new not in values:
            values[new] = values.pop(old)
    unknown = sorted(set(values) - fields)
    if unknown:
        warnings.warn(
            f"{source}: the file's {cls.__name__} has fields {unknown} that this version "
            "of gan_pde does not know; they are left out",
            stacklevel=4,
        )
        values = {k: v for k, v in values.items() if k in fields}
    try:
        return cls(**values)
    except TypeError as err:
        msg = f"{source}: cannot rebuild the {cls.__name__} of this file: {err}"
        raise InvalidInputError(msg) from err


# ----------------------------------------------------------------------------- save, load


def save(path: str | os.PathLike[str], result: Any) -> Path:
    """Write any result of the package to an ``.npz`` file (atomically).

    Every field of the result is stored (see the module documentation for how meshes,
    bases, densities and sparse matrices are kept); :func:`load` gives back an equal
    result.  A :class:`~gan_pde.sweep.SweepResult` written to a ``.json`` path becomes the
    ``results.json`` of ``gan-pde sweep`` (:meth:`~gan_pde.sweep.SweepResult.to_json`).

    Parameters
    ----------
    path
        The file; ``.npz`` is appended if it has another suffix.
    result
        One of :data:`RESULT_TYPES`.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    InvalidInputError
        For a result type that is not one of these, or a field holding an object that no
        file can rebuild (the message names the field and what to save instead).
    """
    path = Path(path)
    name = type(result).__name__
    if name == "SweepResult" and path.suffix == ".json" and _is_listed(result, RESULT_TYPES):
        return result.to_json(path)
    if not _is_listed(result, RESULT_TYPES):
        msg = (
            f"cannot save a {name}: gan_pde.io.save writes the results of gan_pde, the "
            f"{len(RESULT_TYPES)} types of gan_pde.io.RESULT_TYPES (Trajectory, Spectrum, "
            "TrainingRun, ...)"
        )
        raise InvalidInputError(msg)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    writer = _Writer()
    tree = writer.encode(result, [], name)
    from gan_pde import __version__

    meta = {
        "format": _RESULT_FORMAT,
        "format_version": FORMAT_VERSION,
        "type": name,
        "gan_pde": __version__,
        "tree": tree,
    }
    write = np.savez_compressed if name == "TrainingRun" else np.savez  # samples: large
    with atomic_path(path, ".npz") as temporary, open(temporary, "wb") as file:
        write(file, **writer.arrays, metadata=np.array(json.dumps(meta)))
    return path


def _read_npz(path: Path, what: str) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The arrays and the metadata of a gan_pde ``.npz`` file (never unpickled)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
    except (OSError, ValueError, EOFError) as err:
        # numpy's advice for a non-npz file is to load it with pickling on: never do that
        reason = "not an .npz archive" if "allow_pickle" in str(err) else str(err)
        msg = f"{path} is not a gan_pde {what} file: {reason}"
        raise InvalidInputError(msg) from err
    if "__checkpoint__" in arrays:
        msg = f"{path} is a checkpoint; read it with gan_pde.checkpoint.load_checkpoint"
        raise InvalidInputError(msg)
    try:
        meta = json.loads(str(arrays.pop("metadata")))
    except (KeyError, ValueError) as err:
        msg = f"{path} is not a gan_pde {what} file (no metadata)"
        raise InvalidInputError(msg) from err
    if not isinstance(meta, dict):
        msg = f"{path} is not a gan_pde {what} file (bad metadata)"
        raise InvalidInputError(msg)
    return arrays, meta


def load(path: str | os.PathLike[str]) -> Any:
    """Read any file written by :func:`save` (or by the commands) into its result type.

    ``.npz``: one of :data:`RESULT_TYPES` (also files of earlier layouts, and those of
    :meth:`TrainingRun.save <gan_pde.nn.TrainingRun.save>`).  ``.json``: the
    ``results.json`` of ``gan-pde sweep`` (a :class:`~gan_pde.sweep.SweepResult`) or of
    ``gan-pde verify`` (a list of :class:`~gan_pde.verify.Check`).

    Raises
    ------
    InvalidInputError
        For a file that is none of these (checkpoints: use
        :func:`gan_pde.checkpoint.load_checkpoint`).
    """
    path = Path(path)
    if path.suffix == ".json":
        return _load_json(path)
    arrays, meta = _read_npz(path, "result")
    if "mesh_type" in meta:
        return _load_trajectory_v1(path, arrays, meta)
    if meta.get("kind") == "training_run":
        from gan_pde.nn.run import TrainingRun

        return TrainingRun.load(path)
    name = meta.get("type")
    if meta.get("format") != _RESULT_FORMAT or name not in RESULT_TYPES:
        msg = f"{path} is not a gan_pde result file (unknown type {name!r})"
        raise InvalidInputError(msg)
    version = meta.get("format_version")
    if version == 1:
        return _build(_class(name), _decode_fields_v1(arrays, meta["fields"]), path)
    if version != FORMAT_VERSION:
        msg = (
            f"{path} has format version {version}; this gan_pde reads versions 1 to "
            f"{FORMAT_VERSION}: update gan_pde"
        )
        raise InvalidInputError(msg)
    try:
        return _Reader(arrays, path).decode(meta["tree"])
    except InvalidInputError:
        raise
    except (KeyError, TypeError, ValueError) as err:
        msg = f"{path} is not a readable gan_pde result file: {type(err).__name__}: {err}"
        raise InvalidInputError(msg) from err


def save_trajectory(path: str | os.PathLike[str], trajectory: Trajectory) -> Path:
    """Write a :class:`~gan_pde.flows.Trajectory` to an ``.npz`` file (atomically).

    :func:`save` for trajectories: every field, the densities with their mesh and basis
    (stored once).  The scalar series are arrays of the same names (``times``, ``jsd``,
    ``kl``, ...), so ``np.load(path)["jsd"]`` reads them without gan_pde.
    :func:`load_trajectory` (or :func:`load`) reads the file back.

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
    _check_trajectory(trajectory)
    return save(path, trajectory)


def load_trajectory(path: str | os.PathLike[str]) -> Trajectory:
    """Read a trajectory written by :func:`save_trajectory` (mesh and basis rebuilt).

    Raises
    ------
    InvalidInputError
        If the file is missing, not such an ``.npz`` file or of an unknown format version.
    """
    path = Path(path)
    arrays, meta = _read_npz(path, "trajectory")
    if "mesh_type" in meta:
        return _load_trajectory_v1(path, arrays, meta)
    if meta.get("format") != _RESULT_FORMAT or meta.get("type") != "Trajectory":
        msg = f"{path} is not a gan_pde trajectory file (it holds a {meta.get('type')!r})"
        raise InvalidInputError(msg)
    return load(path)


def _check_trajectory(trajectory: Any) -> None:
    from gan_pde.flows.jsd import Trajectory

    if not isinstance(trajectory, Trajectory):
        msg = f"trajectory must be a gan_pde Trajectory; got {type(trajectory).__name__}"
        raise InvalidInputError(msg)


# ----------------------------------------------------------------------------- version 1

#: The scalar series of a trajectory file of version 1, one entry per saved time.
_SERIES_V1 = (
    "times",
    "jsd",
    "kl",
    "l1",
    "mass",
    "dissipation",
    "grad_v_integral",
    "v_min",
    "v_max",
)


def _load_trajectory_v1(path: Path, arrays: dict[str, np.ndarray], meta: dict) -> Trajectory:
    """A trajectory of the first layout (flat arrays, mesh ``p``/``t``)."""
    import skfem

    from gan_pde.densities import MeshDensity
    from gan_pde.fem.basis import make_basis
    from gan_pde.flows.jsd import Trajectory

    try:
        version = meta["format_version"]
        mesh_type = meta["mesh_type"]
        if mesh_type not in _MESHES:
            raise KeyError(mesh_type)
    except KeyError as err:
        msg = f"{path} is not a gan_pde trajectory file: {err}"
        raise InvalidInputError(msg) from err
    if version != 1:
        msg = f"{path} has format version {version}; this gan_pde reads 1 and {FORMAT_VERSION}"
        raise InvalidInputError(msg)
    mesh = getattr(skfem, mesh_type)(arrays["mesh_p"], arrays["mesh_t"])
    basis = make_basis(mesh, meta["element"])
    return Trajectory(
        **{name: arrays[name] for name in _SERIES_V1},
        v=list(arrays["v"]),
        densities=[MeshDensity(basis, row) for row in arrays["u"]],
        step_times=arrays["step_times"],
        newton_iterations=arrays["newton_iterations"],
        info=meta["info"],
    )


def _decode_fields_v1(arrays: dict[str, np.ndarray], fields: dict[str, Any]) -> dict[str, Any]:
    """The fields of a result written field by field (format version 1)."""
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


# ----------------------------------------------------------------------------- XDMF


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
    _check_trajectory(trajectory)
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
    from skfem.io.meshio import HEX_MAPPING

    path = Path(path)
    if path.suffix != ".xdmf":
        msg = f"the XDMF file needs a path ending in .xdmf; got {str(path)!r}"
        raise InvalidInputError(msg)
    name = type(mesh).__name__
    if name not in _XDMF_TOPOLOGY:
        msg = f"cannot write a mesh of type {name} to XDMF; expected one of "
        msg += ", ".join(_XDMF_TOPOLOGY)
        raise InvalidInputError(msg)
    times = as_finite_array(times, "times", shape=(None,))
    if times.size == 0:
        msg = "times must hold at least one time"
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
