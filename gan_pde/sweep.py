"""Parameter sweeps on Dask, locally or on a cluster, with a per-point cache so that an
interrupted sweep resumes.

:func:`sweep` evaluates a function at every point of a parameter grid (the Cartesian
product of the given value lists, or their ``zip``) as independent Dask tasks: on threads,
processes or synchronously, or on a ``distributed`` cluster (a scheduler address such as
``"tcp://host:8786"``, or a :class:`distributed.Client`).  With ``cache_dir`` every
finished point is written atomically to its own JSON file named by a digest of the
function and the point, so a sweep killed half-way and started again computes only the
missing points and returns the same table.  On a cluster the file is written by the task
itself, on the worker, so a point that finished is kept even when the client dies; a task
whose worker is killed is run again on another worker, and its rewrite of the same file
(an atomic rename) leaves one complete file.  The bundled tasks (:data:`TASKS`) are what
``gan-pde sweep`` runs; :func:`jsd_network_seed` is one seed of a network ensemble against
its PDE limit.  ``docs/sweeps.md`` describes clusters, resumption and measured timings.

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

import functools
import hashlib
import itertools
import json
import logging
import os
import re
import sys
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gan_pde._arrays import as_non_negative_int, as_positive, as_positive_int
from gan_pde._files import atomic_path
from gan_pde.errors import InvalidInputError, MissingDependencyError, SchedulerUnreachableError
from gan_pde.provenance import versions

__all__ = [
    "SCHEDULERS",
    "TASKS",
    "SchedulerUnreachableError",
    "SweepResult",
    "grid_points",
    "jsd_network_seed",
    "sweep",
]

logger = logging.getLogger(__name__)

#: The local Dask schedulers ``sweep`` accepts by name (besides a scheduler address or a
#: ``distributed.Client``).
SCHEDULERS = ("threads", "processes", "synchronous")
_SCHEDULERS = SCHEDULERS  # the former private name
#: ``protocol://...`` (tcp, tls, ucx, inproc, ws, wss) or a bare ``host:port``.
_ADDRESS = re.compile(r"^([a-z][a-z0-9+.-]*://.+|[\w.\-]+:\d+)$")
#: Extra tries of a task that raised (``Client.submit(retries=...)``) on a cluster.
DEFAULT_RETRIES = 2
#: Seconds to wait for a scheduler address to answer.
DEFAULT_CONNECT_TIMEOUT = 30.0


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
        Function name, mode, scheduler (a local name, or the scheduler address of a
        cluster), workers (and on a cluster: threads, the workers' total, and retries),
        points, cached, total seconds and package versions.
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
    """A stable name of ``function`` (the same in every process): module and qualified
    name; a :func:`functools.partial` adds its bound arguments."""
    if isinstance(function, functools.partial):
        bound = [repr(a) for a in function.args]
        bound += [f"{k}={v!r}" for k, v in sorted(function.keywords.items())]
        return f"{_function_name(function.func)}({', '.join(bound)})"
    module = getattr(function, "__module__", "?")
    return f"{module}.{getattr(function, '__qualname__', repr(function))}"


def _digest(function: Callable[..., Any], point: dict) -> str:
    key = json.dumps({"function": _function_name(function), "point": _plain(point)}, sort_keys=True)
    return hashlib.sha256(key.encode()).hexdigest()[:24]


def _cache_file(cache_dir: Path, function: Callable[..., Any], point: dict) -> Path:
    return cache_dir / f"point-{_digest(function, point)}.json"


def _evaluate(function: Callable[..., Any], point: dict, cache: Path | None) -> dict:
    """Run one point; with a cache file, write the result there atomically.

    On a cluster this runs on the worker, so the file is written even if the client is
    gone by then; a second run of the same point (a retried task) replaces the file by an
    equal one in one :func:`os.replace`, never leaving two files or a partial one.
    """
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


def _is_address(scheduler: str) -> bool:
    return scheduler not in SCHEDULERS and bool(_ADDRESS.match(scheduler))


def _scheduler_error(scheduler: Any) -> InvalidInputError:
    msg = (
        f"scheduler must be one of {SCHEDULERS}, a Dask scheduler address such as "
        f"'tcp://host:8786', or a distributed.Client; got {scheduler!r}"
    )
    return InvalidInputError(msg)


def _import_distributed(scheduler: Any) -> Any:
    try:
        import distributed
    except ImportError as err:
        msg = (
            f"scheduler={scheduler!r} runs the sweep on a Dask cluster, which needs the "
            "'distributed' package: pip install 'gan_pde[distributed]'"
        )
        raise MissingDependencyError(msg) from err
    return distributed


def _connect(scheduler: Any, timeout: float) -> tuple[Any, bool]:
    """The client of ``scheduler`` (an address or a Client) and whether it is ours to close."""
    distributed = _import_distributed(scheduler)
    if isinstance(scheduler, distributed.Client):
        if scheduler.status not in ("running", "newly-created", "connecting"):
            msg = f"scheduler: the distributed.Client is {scheduler.status}; pass a running one"
            raise InvalidInputError(msg)
        return scheduler, False
    try:
        client = distributed.Client(scheduler, timeout=timeout, set_as_default=False)
    except ValueError as err:
        msg = f"scheduler {scheduler!r} is not a valid Dask scheduler address: {err}"
        raise InvalidInputError(msg) from err
    except OSError as err:
        msg = (
            f"cannot reach the Dask scheduler at {scheduler!r} within {timeout:g} s ({err}); "
            f"check the address, or start a scheduler (dask scheduler) and workers "
            f"(dask worker {scheduler})"
        )
        raise SchedulerUnreachableError(msg) from err
    return client, True


def _check_shared(client: Any, cache: Path) -> None:
    """InvalidInputError unless every worker sees ``cache`` (a probe file written here)."""
    probe = cache / f".gan-pde-probe-{uuid.uuid4().hex}"
    probe.write_text("")
    try:
        seen = client.run(os.path.exists, str(probe), on_error="return")
    finally:
        probe.unlink(missing_ok=True)
    blind = sorted(worker for worker, found in seen.items() if found is False)
    if blind:
        msg = (
            f"cache_dir {cache} is not visible from the Dask worker(s) {blind}: put it on a "
            "file system that the client and every worker share (the same path everywhere)"
        )
        raise InvalidInputError(msg)


def _run_local(
    todo: list[tuple[int, dict, Path | None, str]],
    function: Callable[..., Any],
    scheduler: str,
    workers: int | None,
    store: Callable[[int, dict], None],
) -> None:
    import dask
    from dask.callbacks import Callback

    tasks, slots = [], {}
    for i, point, file, digest in todo:
        key = f"sweep-{digest[:16]}-{i}"
        tasks.append(dask.delayed(_evaluate, pure=False)(function, point, file, dask_key_name=key))
        slots[key] = i

    def finished(key: Any, result: Any, *_: Any) -> None:
        if key in slots:
            store(slots.pop(key), result)

    options: dict[str, Any] = {"scheduler": scheduler}
    if workers is not None and scheduler != "synchronous":
        options["num_workers"] = workers
    with Callback(posttask=finished):
        results = dask.compute(*tasks, **options)
    missed = set(slots.values())  # points whose end the callback did not see: store them now
    for (i, *_), record in zip(todo, results, strict=True):
        if i in missed:
            store(i, record)


def _run_cluster(
    todo: list[tuple[int, dict, Path | None, str]],
    function: Callable[..., Any],
    client: Any,
    retries: int,
    store: Callable[[int, dict], None],
) -> None:
    from distributed import as_completed

    token = uuid.uuid4().hex[:8]
    futures = {}
    for i, point, file, digest in todo:
        key = f"sweep-{digest[:16]}-{i}-{token}"
        future = client.submit(_evaluate, function, point, file, key=key, retries=retries)
        futures[future.key] = (future, i)
    try:
        for future in as_completed([f for f, _ in futures.values()], loop=client.loop):
            store(futures[future.key][1], future.result())
            future.release()
    finally:
        pending = [f for f, _ in futures.values() if not f.done()]
        if pending:
            client.cancel(pending)


def sweep(
    function: Callable[..., Any],
    parameters: Mapping[str, Sequence[Any]],
    *,
    mode: str = "product",
    scheduler: Any = "threads",
    workers: int | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
    retries: int = DEFAULT_RETRIES,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
) -> SweepResult:
    """Evaluate ``function(**point)`` at every point of a parameter grid with Dask.

    Parameters
    ----------
    function
        Called with one keyword argument per parameter; returns a number, a list or a dict
        of numbers (JSON-serialisable once numpy scalars/arrays are converted).  With
        ``scheduler="processes"`` it must be picklable (a module-level function); on a
        cluster it is sent with cloudpickle, and the modules it imports must be installed
        on the workers.
    parameters
        Name → list of values.
    mode
        ``"product"`` (every combination) or ``"zip"`` (the i-th values together).
    scheduler
        Dask's local ``"threads"``, ``"processes"`` or ``"synchronous"`` scheduler; or a
        cluster: the address of a Dask scheduler (``"tcp://host:8786"``, ``"tls://..."``,
        ``"ucx://..."``, ``"host:8786"``) or a :class:`distributed.Client` (kept open).
        Each point is one task (``Client.submit``), its key derived from the point's
        digest; results are gathered as they complete.
    workers
        Number of workers of a local scheduler (None: Dask's default, the number of
        cores).  A cluster has the workers started for it, so it must be None there.
    cache_dir
        Folder for per-point result files; points already there are not recomputed.  On a
        cluster the tasks write the files on the workers, so the folder must be on a file
        system that the client and every worker see under the same path (checked before
        the sweep starts: InvalidInputError otherwise).
    progress
        Optional ``callback(done, total)``: once with the cached points, then after each
        finished point (fed by Dask's ``as_completed`` on a cluster, by a scheduler
        callback locally).
    retries
        On a cluster, how many more times a task that raised is tried
        (``Client.submit(retries=...)``).  A task whose worker dies (killed, out of
        memory) is rescheduled by the scheduler on another worker regardless; after
        ``distributed.scheduler.allowed-failures`` (default 3) such deaths it fails with
        ``KilledWorker``.  Ignored by the local schedulers.
    connect_timeout
        Seconds to wait for a scheduler address to answer.

    Returns
    -------
    SweepResult

    Raises
    ------
    InvalidInputError
        For an empty or malformed grid, an unknown mode or scheduler, bad ``workers``,
        ``retries`` or ``connect_timeout``, a ``cache_dir`` that the workers cannot see.
    MissingDependencyError
        If Dask is not installed, or a cluster is asked for without ``distributed``
        (``pip install 'gan_pde[distributed]'``).
    SchedulerUnreachableError
        If no scheduler answers at the address within ``connect_timeout``.
    """
    if not callable(function):
        msg = f"function must be callable; got {function!r}"
        raise InvalidInputError(msg)
    if isinstance(scheduler, str):
        cluster = _is_address(scheduler)
        if not cluster and scheduler not in SCHEDULERS:
            raise _scheduler_error(scheduler)
    elif isinstance(scheduler, getattr(sys.modules.get("distributed"), "Client", ())):
        cluster = True  # a Client exists only once distributed is imported
    else:
        raise _scheduler_error(scheduler)
    if workers is not None and (
        isinstance(workers, bool) or not isinstance(workers, int) or workers < 1
    ):
        msg = f"workers must be a positive int or None; got {workers!r}"
        raise InvalidInputError(msg)
    if cluster and workers is not None:
        msg = (
            f"workers={workers!r} sizes a local scheduler; a cluster runs on the workers "
            "started for it (dask worker ADDRESS): leave workers=None"
        )
        raise InvalidInputError(msg)
    retries = as_non_negative_int(retries, "retries")
    connect_timeout = as_positive(connect_timeout, "connect_timeout")
    if progress is not None and not callable(progress):
        msg = f"progress must be a callable(done, total) or None; got {progress!r}"
        raise InvalidInputError(msg)
    try:
        import dask  # noqa: F401 - the local schedulers and distributed both need it
    except ImportError as err:  # pragma: no cover - dask is a dependency
        msg = "sweeps need Dask: pip install dask"
        raise MissingDependencyError(msg) from err
    points = grid_points(parameters, mode=mode)
    cache = None if cache_dir is None else Path(cache_dir).absolute()
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
    client, owned = _connect(scheduler, connect_timeout) if cluster else (None, False)
    try:
        start = time.perf_counter()
        records: list[dict | None] = [None] * len(points)
        todo = []
        for i, point in enumerate(points):
            digest = _digest(function, point)
            file = None if cache is None else cache / f"point-{digest}.json"
            if file is not None and (record := _read_cached(file, point)) is not None:
                records[i] = record
                continue
            todo.append((i, point, file, digest))
        cached = len(points) - len(todo)
        name = _function_name(function)
        logger.info("sweep of %s: %d points, %d cached", name, len(points), cached)
        done = cached

        def store(i: int, record: dict) -> None:
            nonlocal done
            records[i] = record
            done += 1
            if progress is not None:
                progress(done, len(points))

        if progress is not None:
            progress(done, len(points))
        info: dict[str, Any] = {"function": name, "mode": mode}
        if client is None:
            _run_local(todo, function, scheduler, workers, store)
            info.update(scheduler=scheduler, workers=workers)
        else:
            threads = client.nthreads()
            info.update(
                scheduler=client.scheduler.address,
                workers=len(threads),
                threads=sum(threads.values()),
                retries=retries,
            )
            if cache is not None and todo:
                _check_shared(client, cache)
            _run_cluster(todo, function, client, retries, store)
    finally:
        if owned:
            client.close()
    info.update(
        points=len(points),
        cached=cached,
        seconds=time.perf_counter() - start,
        versions=versions(),
    )
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


#: The JSD-flow problem of :func:`jsd_network_seed` (that of
#: :func:`gan_pde.compare.experiments.jsd_comparison`): target, initial law, domain.
JSD_TARGET = {"means": [[-2.0], [2.0]], "stds": [1.0, 1.0], "weights": [0.5, 0.5]}
JSD_INITIAL = {"mean": [0.0], "cov": [[1.0]]}
JSD_DOMAIN = (-10.0, 10.0)
#: The trainers of :func:`jsd_network_seed`.
NETWORK_ALGORITHMS = ("particles", "gan")


@functools.lru_cache(maxsize=4)
def _jsd_limit(epsilon: float, steps: int, cells: int) -> Any:
    """The JSD flow at the saved times of :func:`jsd_network_seed`, solved once per
    process and set of arguments (each worker of an ensemble solves it once)."""
    import gan_pde as gp
    from gan_pde.flows import JSDFlow

    target = gp.GaussianMixture(**JSD_TARGET)
    initial = gp.Gaussian(**JSD_INITIAL)
    mesh = gp.mesh.interval(*JSD_DOMAIN, n=cells)
    times = epsilon * _jsd_save_steps(steps)
    flow = JSDFlow(target, initial, mesh)
    return flow.solve(epsilon * steps, epsilon / 2.0, save_times=times, scheme="crank-nicolson")


def _jsd_save_steps(steps: int) -> np.ndarray:
    """Up to 11 equispaced save steps, 0 and ``steps`` included."""
    return np.unique(np.round(np.linspace(0, steps, min(11, steps + 1))).astype(int))


def jsd_network_seed(
    *,
    seed: int,
    algorithm: str = "particles",
    epsilon: float = 0.1,
    steps: int = 20,
    n_particles: int = 500,
    discriminator_steps: int = 5,
    lr_discriminator: float = 0.01,
    hidden: int = 16,
    n_data: int = 5000,
    cells: int = 200,
) -> dict:
    r"""One seed of a network ensemble against its PDE limit, the JSD flow (paper 002).

    Trains one run of ``algorithm`` with ``seed`` (the initial particles are a sample of
    :math:`N(0, 1)` drawn with ``seed``; the discriminator initialisation, the batches and
    the data set of :math:`\tfrac12 N(-2, 1) + \tfrac12 N(2, 1)` use it too) and measures
    :math:`W_1` between its samples and the JSD flow :math:`u(t_k)`,
    :math:`t_k = k\varepsilon`, at up to 11 saved steps
    (:func:`gan_pde.compare.distances_over_time`).  The PDE is that of
    :func:`gan_pde.compare.experiments.jsd_comparison`: Crank–Nicolson with step ε/2 on
    [−10, 10] with ``cells`` P1 cells, solved once per process.  A sweep over ``seed``
    (``gan-pde sweep`` with ``task = "jsd_network_seed"``) is an ensemble: the spread of
    the distances over seeds is the error bar of the network-to-PDE distance.

    Parameters
    ----------
    seed
        The run's seed (≥ 0).
    algorithm
        ``"particles"``: Algorithm 2 with a particle table
        (:func:`gan_pde.nn.train_particles`, explicit Euler of the particle ODE (5));
        ``"gan"``: the GAN algorithm on the same table with :math:`\eta_G = \varepsilon
        N/2` (:func:`gan_pde.nn.train_gan`; the same iteration by the last Proposition).
    epsilon, steps
        ε and the number of iterations (final PDE time ε·steps).
    n_particles
        N, the particles of the table.
    discriminator_steps, lr_discriminator, hidden
        D-steps per iteration (Adam, batches of 256), their learning rate, the width of
        the two tanh hidden layers of the discriminator.
    n_data
        Size of the data set drawn from the target.
    cells
        Cells of the PDE mesh.

    Returns
    -------
    dict
        ``w1_final`` (:math:`W_1` at the final time), ``w1_mean`` (mean over the saved
        times) and ``w1_initial`` (at t = 0: the sampling error of N particles alone).
    """
    if algorithm not in NETWORK_ALGORITHMS:
        msg = f"algorithm must be one of {NETWORK_ALGORITHMS}; got {algorithm!r}"
        raise InvalidInputError(msg)
    seed = as_non_negative_int(seed, "seed")
    epsilon = as_positive(epsilon, "epsilon")
    steps = as_positive_int(steps, "steps")
    n_particles = as_positive_int(n_particles, "n_particles")
    cells = as_positive_int(cells, "cells")
    import gan_pde as gp
    from gan_pde.compare import distances_over_time
    from gan_pde.nn import MLP, ParticleGenerator, train_gan, train_particles

    target = gp.GaussianMixture(**JSD_TARGET)
    initial = gp.Gaussian(**JSD_INITIAL)
    start = initial.sample(int(n_particles), rng=np.random.default_rng(int(seed)))
    common = {
        "discriminator": MLP(1, 1, hidden=(int(hidden), int(hidden))),
        "steps": int(steps),
        "save_steps": _jsd_save_steps(int(steps)).tolist(),
        "discriminator_steps": discriminator_steps,
        "lr_discriminator": lr_discriminator,
        "optimizer": "adam",
        "batch_size": 256,
        "n_data": n_data,
        "seed": int(seed),
        "device": "cpu",
    }
    if algorithm == "particles":
        run = train_particles(target, start, epsilon=epsilon, **common)
    else:
        run = train_gan(
            target,
            generator=ParticleGenerator(start),
            lr_generator=epsilon * int(n_particles) / 2.0,
            generator_optimizer="sgd",
            **common,
        )
    limit = _jsd_limit(epsilon, int(steps), int(cells))
    w1 = distances_over_time(run, limit, metrics=("w1",))["w1"]
    return {"w1_final": float(w1[-1]), "w1_mean": float(np.mean(w1)), "w1_initial": float(w1[0])}


#: Tasks that ``gan-pde sweep`` can run, by name.
TASKS: dict[str, Callable[..., dict]] = {
    "poincare_constant": poincare_constant,
    "lgan_decay_rate": lgan_decay_rate,
    "jsd_network_seed": jsd_network_seed,
}
