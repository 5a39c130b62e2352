"""Parameter sweeps on Dask, with a per-point cache so that an interrupted sweep resumes.

:func:`sweep` evaluates a function at every point of a parameter grid (the Cartesian
product of the given value lists, or their ``zip``) as a Dask graph of independent tasks,
on threads, processes or synchronously.  With ``cache_dir`` every finished point is written
atomically to its own JSON file named by a digest of the function and the point, so a
sweep killed half-way and started again computes only the missing points and returns the
same table.  The bundled tasks (:data:`TASKS`) are what ``gan-pde sweep`` runs.

Examples
--------
>>> from gan_pde.sweep import sweep
>>> def power(*, base, exponent):
...     return {"power": base**exponent}
>>> result = sweep(power, {"base": [2, 3], "exponent": [1, 2]}, scheduler="synchronous")
>>> result.column("power").tolist()
[2, 4, 3, 9]
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gan_pde._files import atomic_path
from gan_pde.errors import InvalidInputError, MissingDependencyError
from gan_pde.provenance import versions

__all__ = ["TASKS", "SweepResult", "grid_points", "sweep"]

logger = logging.getLogger(__name__)

_SCHEDULERS = ("threads", "processes", "synchronous")


@dataclass
class SweepResult:
    """The points of a sweep and what the function returned at each.

    Attributes
    ----------
    records
        One dict per point, in grid order: the parameters plus ``value`` (what the
        function returned, made JSON-ready) and ``seconds`` (its wall time when computed,
        or when it was first computed for a cached point).
    names
        The parameter names, in the order given.
    cached
        How many points came from the cache instead of being computed.
    info
        Function name, scheduler, workers, total seconds and package versions.
    """

    records: list[dict[str, Any]]
    names: list[str]
    cached: int = 0
    info: dict[str, Any] = field(default_factory=dict)

    def column(self, name: str) -> np.ndarray:
        """One parameter, or ``"value"`` (or a key of dict values), as an array."""
        if name in self.names or name in ("value", "seconds"):
            return np.array([r[name] for r in self.records])
        if all(isinstance(r["value"], dict) and name in r["value"] for r in self.records):
            return np.array([r["value"][name] for r in self.records])
        msg = f"no column {name!r}; the sweep has {self.names + ['value', 'seconds']}"
        raise InvalidInputError(msg)

    def to_json(self, path: str | os.PathLike[str]) -> Path:
        """Write the records and info as JSON (atomically)."""
        path = Path(path)
        with atomic_path(path, ".json") as temporary:
            temporary.write_text(json.dumps({"records": self.records, "info": self.info}, indent=1))
        return path

    def to_csv(self, path: str | os.PathLike[str]) -> Path:
        """Write one row per point: the parameters, then the value (dict values: one column
        per key), then the seconds."""
        keys: list[str] = []
        for record in self.records:
            if isinstance(record["value"], dict):
                keys += [k for k in record["value"] if k not in keys]
        header = [*self.names, *(keys or ["value"]), "seconds"]
        lines = [",".join(header)]
        for r in self.records:
            values = [r["value"].get(k, "") for k in keys] if keys else [r["value"]]
            lines.append(
                ",".join(str(v) for v in [*(r[n] for n in self.names), *values, r["seconds"]])
            )
        path = Path(path)
        with atomic_path(path, ".csv") as temporary:
            temporary.write_text("\n".join(lines) + "\n")
        return path


def grid_points(parameters: Mapping[str, Sequence[Any]], *, mode: str = "product") -> list[dict]:
    """The points of a sweep: the Cartesian product of the value lists, or their ``zip``."""
    if not isinstance(parameters, Mapping) or not parameters:
        msg = f"parameters must be a non-empty mapping name -> list of values; got {parameters!r}"
        raise InvalidInputError(msg)
    names = list(parameters)
    lists = []
    for name in names:
        values = parameters[name]
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
            msg = f"parameter {name!r} must be a non-empty list of values; got {values!r}"
            raise InvalidInputError(msg)
        lists.append(list(values))
    if mode == "product":
        return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*lists)]
    if mode == "zip":
        sizes = {len(v) for v in lists}
        if len(sizes) != 1:
            lengths = {n: len(v) for n, v in zip(names, lists, strict=True)}
            msg = f"mode='zip' needs value lists of one length; got {lengths}"
            raise InvalidInputError(msg)
        return [dict(zip(names, combo, strict=True)) for combo in zip(*lists, strict=True)]
    msg = f"mode must be 'product' or 'zip'; got {mode!r}"
    raise InvalidInputError(msg)


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _function_name(function: Callable[..., Any]) -> str:
    module = getattr(function, "__module__", "?")
    return f"{module}.{getattr(function, '__qualname__', repr(function))}"


def _cache_file(cache_dir: Path, function: Callable[..., Any], point: dict) -> Path:
    key = json.dumps({"function": _function_name(function), "point": _plain(point)}, sort_keys=True)
    return cache_dir / f"point-{hashlib.sha256(key.encode()).hexdigest()[:24]}.json"


def _evaluate(function: Callable[..., Any], point: dict, cache: Path | None) -> dict:
    """Run one point; with a cache file, write the result there atomically."""
    start = time.perf_counter()
    value = _plain(function(**point))
    record = {**_plain(point), "value": value, "seconds": time.perf_counter() - start}
    if cache is not None:
        with atomic_path(cache, ".json") as temporary:
            temporary.write_text(json.dumps(record))
    return record


def _read_cached(path: Path, point: dict) -> dict | None:
    """A cached record of ``point``, or None for a missing or unreadable file."""
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or any(record.get(k) != v for k, v in _plain(point).items()):
        return None
    return record


def sweep(
    function: Callable[..., Any],
    parameters: Mapping[str, Sequence[Any]],
    *,
    mode: str = "product",
    scheduler: str = "threads",
    workers: int | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
) -> SweepResult:
    """Evaluate ``function(**point)`` at every point of a parameter grid with Dask.

    Parameters
    ----------
    function
        Called with one keyword argument per parameter; returns a number, a list or a dict
        of numbers (JSON-serialisable once numpy scalars/arrays are converted).  With
        ``scheduler="processes"`` it must be picklable (a module-level function).
    parameters
        Name → list of values.
    mode
        ``"product"`` (every combination) or ``"zip"`` (the i-th values together).
    scheduler
        Dask's ``"threads"``, ``"processes"`` or ``"synchronous"`` scheduler.
    workers
        Number of workers (None: Dask's default, the number of cores).
    cache_dir
        Folder for per-point result files; points already there are not recomputed.

    Returns
    -------
    SweepResult

    Raises
    ------
    InvalidInputError
        For an empty or malformed grid, an unknown mode or scheduler, bad ``workers``.
    MissingDependencyError
        If Dask is not installed.
    """
    if not callable(function):
        msg = f"function must be callable; got {function!r}"
        raise InvalidInputError(msg)
    if scheduler not in _SCHEDULERS:
        msg = f"scheduler must be one of {_SCHEDULERS}; got {scheduler!r}"
        raise InvalidInputError(msg)
    if workers is not None and (
        isinstance(workers, bool) or not isinstance(workers, int) or workers < 1
    ):
        msg = f"workers must be a positive int or None; got {workers!r}"
        raise InvalidInputError(msg)
    try:
        import dask
    except ImportError as err:  # pragma: no cover - dask is a dependency
        msg = "sweeps need Dask: pip install dask"
        raise MissingDependencyError(msg) from err
    points = grid_points(parameters, mode=mode)
    cache = None if cache_dir is None else Path(cache_dir)
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    records: list[dict | None] = [None] * len(points)
    tasks, slots = [], []
    for i, point in enumerate(points):
        file = None if cache is None else _cache_file(cache, function, point)
        if file is not None and (record := _read_cached(file, point)) is not None:
            records[i] = record
            continue
        tasks.append(dask.delayed(_evaluate, pure=False)(function, point, file))
        slots.append(i)
    cached = len(points) - len(tasks)
    logger.info("sweep of %s: %d points, %d cached", _function_name(function), len(points), cached)
    options = {"scheduler": scheduler}
    if workers is not None and scheduler != "synchronous":
        options["num_workers"] = workers
    for i, record in zip(slots, dask.compute(*tasks, **options), strict=True):
        records[i] = record
    info = {
        "function": _function_name(function),
        "mode": mode,
        "scheduler": scheduler,
        "workers": workers,
        "points": len(points),
        "cached": cached,
        "seconds": time.perf_counter() - start,
        "versions": versions(),
    }
    return SweepResult(records=records, names=list(parameters), cached=cached, info=info)


# --------------------------------------------------------------------- bundled tasks


def poincare_constant(*, separation: float, cells: int = 400, element: str = "P2") -> dict:
    r""":math:`\xi_{\min}` of :math:`\tfrac12 N(0, 1) + \tfrac12 N(M, 1)` (paper 004, Section 7),
    on :math:`[-12, M + 12]` with ``cells`` cells."""
    from gan_pde.densities import GaussianMixture
    from gan_pde.mesh import interval
    from gan_pde.spectral.weighted_laplacian import weighted_laplacian_spectrum

    density = GaussianMixture(
        means=[[0.0], [float(separation)]], stds=[1.0, 1.0], weights=[0.5, 0.5]
    )
    mesh = interval(-12.0, 12.0 + float(separation), n=int(cells))
    spectrum = weighted_laplacian_spectrum(density, mesh, k=2, element=element)
    return {"xi_min": float(spectrum.poincare_constant)}


def lgan_decay_rate(
    *, separation: float, alpha: float, beta: float, gamma: float = 0.0, cells: int = 400
) -> dict:
    r"""The lGAN decay rate η (paper 004, Theorem 4 and (22)) with the FEM ξ_min of the
    mixture of :func:`poincare_constant`."""
    from gan_pde.spectral.lgan import decay_rate

    xi_min = poincare_constant(separation=separation, cells=cells)["xi_min"]
    eta = decay_rate(xi_min, alpha=alpha, beta=beta, gamma=gamma)
    return {"xi_min": xi_min, "eta": float(eta)}


#: Tasks that ``gan-pde sweep`` can run, by name.
TASKS: dict[str, Callable[..., dict]] = {
    "poincare_constant": poincare_constant,
    "lgan_decay_rate": lgan_decay_rate,
}
