r"""One time axis for a training run and a PDE solution, and distances along it.

A training step k is laid beside the PDE time

.. math::

    t_k = t_0 + k\,\varepsilon ,

with ε the time one step represents: the generator step of Algorithm 2 (paper 002, the
explicit Euler step of the particle ODE (5)), :math:`h/N` per step rescaled by N in the
mean-field limit of paper 001 (so ε = h in PDE time), the learning rate of an ODE-GAN step
(paper 004).  :func:`align_times` finds each run time among the saved PDE times (linear
interpolation between the two neighbours), :func:`trajectory_at` interpolates the PDE
densities there and :func:`distances_over_time` measures a run against the PDE over time,
with mean ± standard error over independent runs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from gan_pde._arrays import as_finite, as_finite_array, as_positive
from gan_pde.compare.metrics import METRICS, distance_to_density, mmd
from gan_pde.errors import InvalidInputError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from numpy.typing import ArrayLike

    from gan_pde.densities import MeshDensity

__all__ = [
    "RUN_METRICS",
    "TimeAlignment",
    "TimeAxis",
    "align_times",
    "distances_over_time",
    "trajectory_at",
]

#: Metrics of :func:`distances_over_time`: those of ``distance_to_density`` and MMD².
RUN_METRICS = (*METRICS, "mmd")
#: A run time within this fraction of the PDE time span of a saved time is that time.
_MATCH_RTOL = 1e-9


@dataclass(frozen=True)
class TimeAxis:
    r"""The map step k ↦ PDE time :math:`t_0 + k\varepsilon`.

    Attributes
    ----------
    time_per_step
        ε > 0, the PDE time of one training step.
    offset
        :math:`t_0`, the PDE time of step 0.

    Examples
    --------
    >>> axis = TimeAxis(time_per_step=0.01)
    >>> axis.times([0, 100, 250])
    array([0. , 1. , 2.5])
    >>> axis.steps([1.0, 2.5])
    array([100, 250])
    """

    time_per_step: float
    offset: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "time_per_step", as_positive(self.time_per_step, "time_per_step"))
        object.__setattr__(self, "offset", as_finite(self.offset, "offset"))

    def times(self, steps: ArrayLike) -> np.ndarray:
        r""":math:`t_0 + k\varepsilon` for the steps k (non-negative integers)."""
        k = np.asarray(steps)
        if k.ndim > 1 or not np.issubdtype(k.dtype, np.integer) or np.any(k < 0):
            msg = f"steps must be non-negative integers, shape (n,); got {np.asarray(steps)!r}"
            raise InvalidInputError(msg)
        return self.offset + k.astype(float) * self.time_per_step

    def steps(self, times: ArrayLike) -> np.ndarray:
        r"""The steps :math:`k = \mathrm{round}((t - t_0)/\varepsilon)` nearest to PDE times."""
        t = np.asarray(times, dtype=float)
        k = np.rint((t - self.offset) / self.time_per_step)
        if np.any(~np.isfinite(k)) or np.any(k < 0):
            msg = f"times must be finite and >= offset = {self.offset}; got {t.tolist()}"
            raise InvalidInputError(msg)
        return k.astype(np.int64)


@dataclass(frozen=True)
class TimeAlignment:
    r"""Run times located among saved PDE times.

    The PDE value at ``times[i]`` is
    :math:`(1 - w_i) f[\ell_i] + w_i f[\ell_i + 1]` with :math:`\ell_i` = ``left[i]`` and
    :math:`w_i` = ``weight[i]`` (0 where the time is a saved time: ``exact[i]``).

    Attributes
    ----------
    times
        The run times in PDE units, shape ``(n,)``.
    left
        Index of the saved PDE time at or before each run time.
    weight
        Interpolation weight in [0, 1).
    exact
        Whether the run time coincides with a saved PDE time (relative to the span, 1e-9).
    """

    times: np.ndarray
    left: np.ndarray
    weight: np.ndarray
    exact: np.ndarray

    def interpolate(self, values: ArrayLike) -> np.ndarray:
        """Linear interpolation of per-saved-time ``values`` (first axis) at the run times."""
        v = np.asarray(values, dtype=float)
        right = np.minimum(self.left + 1, v.shape[0] - 1)
        w = self.weight.reshape((-1,) + (1,) * (v.ndim - 1))
        return (1.0 - w) * v[self.left] + w * v[right]


def _pde_times(pde_times: ArrayLike) -> np.ndarray:
    t = np.asarray(pde_times, dtype=float)
    if t.ndim != 1 or t.size == 0 or not np.all(np.isfinite(t)) or np.any(np.diff(t) <= 0):
        msg = (
            "pde_times must be a non-empty, finite, strictly increasing 1D array; got "
            f"{np.asarray(pde_times).tolist()}"
        )
        raise InvalidInputError(msg)
    return t


def _locate(times: np.ndarray, pde: np.ndarray) -> TimeAlignment:
    span = max(float(pde[-1] - pde[0]), 1.0)
    tol = _MATCH_RTOL * span
    bad = (times < pde[0] - tol) | (times > pde[-1] + tol)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        msg = (
            f"run time {times[i]!r} lies outside the saved PDE times [{pde[0]}, {pde[-1]}] "
            f"({int(bad.sum())} such time(s)); solve the PDE further or save fewer run times"
        )
        raise InvalidInputError(msg)
    nearest = np.clip(np.searchsorted(pde, times), 0, pde.size - 1)
    below = np.clip(nearest - 1, 0, pde.size - 1)
    closest = np.where(np.abs(pde[below] - times) < np.abs(pde[nearest] - times), below, nearest)
    exact = np.abs(pde[closest] - times) <= tol
    left = np.clip(np.searchsorted(pde, times, side="right") - 1, 0, max(pde.size - 2, 0))
    if pde.size == 1:
        weight = np.zeros_like(times)
    else:
        weight = np.clip((times - pde[left]) / (pde[left + 1] - pde[left]), 0.0, 1.0)
    left = np.where(exact, closest, left)
    weight = np.where(exact, 0.0, weight)
    return TimeAlignment(times=times, left=left, weight=weight, exact=exact)


def align_times(
    steps: ArrayLike, time_per_step: float | TimeAxis, pde_times: ArrayLike
) -> TimeAlignment:
    r"""Put training steps on the PDE time axis :math:`t_k = k\varepsilon` and locate them.

    Parameters
    ----------
    steps
        Training steps of the saved snapshots (non-negative integers), shape ``(n,)``.
    time_per_step
        ε (a number) or a :class:`TimeAxis` (ε and an offset).
    pde_times
        Saved PDE times, strictly increasing; every run time must lie within them.

    Returns
    -------
    TimeAlignment

    Examples
    --------
    >>> a = align_times([0, 50, 100], 0.01, [0.0, 1.0])
    >>> a.times, a.left, a.weight, a.exact
    (array([0. , 0.5, 1. ]), array([0, 0, 1]), array([0. , 0.5, 0. ]), array([ True, False,  True]))
    """
    axis = time_per_step if isinstance(time_per_step, TimeAxis) else TimeAxis(time_per_step)
    return _locate(axis.times(steps), _pde_times(pde_times))


def trajectory_at(trajectory: Any, times: ArrayLike) -> list[MeshDensity]:
    r"""PDE densities at arbitrary times, linear in time between saved ones.

    :math:`u(t) = (1-w)u(t_\ell) + w\,u(t_{\ell+1})` — a convex combination of densities,
    so a density again; saved times are returned as they are.

    Parameters
    ----------
    trajectory
        An object with ``times`` (increasing) and ``densities`` (a list of
        :class:`~gan_pde.densities.MeshDensity` on one basis), e.g.
        :class:`gan_pde.flows.Trajectory`.
    times
        PDE times within the saved range.
    """
    from gan_pde.densities import MeshDensity

    pde, densities = _trajectory(trajectory)
    t = as_finite_array(times, "times").ravel()
    alignment = _locate(t, pde)
    out = []
    for left, w in zip(alignment.left, alignment.weight, strict=True):
        if w == 0.0:
            out.append(densities[left])
            continue
        a, b = densities[left], densities[left + 1]
        if a.basis is not b.basis:
            msg = "trajectory densities must share one basis to be interpolated in time"
            raise InvalidInputError(msg)
        out.append(MeshDensity(a.basis, (1.0 - w) * a.values + w * b.values, normalize=True))
    return out


def _trajectory(trajectory: Any) -> tuple[np.ndarray, list[MeshDensity]]:
    from gan_pde.densities import MeshDensity

    times = getattr(trajectory, "times", None)
    densities = getattr(trajectory, "densities", None)
    if times is None or densities is None:
        msg = (
            "trajectory must have .times and .densities (e.g. gan_pde.flows.Trajectory); got "
            f"{type(trajectory).__name__}"
        )
        raise InvalidInputError(msg)
    pde = _pde_times(times)
    if len(densities) != pde.size or not all(isinstance(d, MeshDensity) for d in densities):
        msg = (
            f"trajectory.densities must be {pde.size} MeshDensity objects (one per saved "
            f"time); got {len(densities)} of types {sorted({type(d).__name__ for d in densities})}"
        )
        raise InvalidInputError(msg)
    return pde, list(densities)


def _run_samples(run: Any) -> tuple[np.ndarray, np.ndarray]:
    times = getattr(run, "times", None)
    samples = getattr(run, "samples", None)
    if times is None or samples is None:
        msg = f"run must have .times and .samples; got {type(run).__name__}"
        raise InvalidInputError(msg)
    t = np.asarray(times, dtype=float)
    x = as_finite_array(samples, "run.samples")
    if x.ndim == 3:
        x = x[None]
    if t.ndim != 1 or x.ndim != 4 or x.shape[1] != t.size:
        msg = (
            "run.samples must have shape (n_saved, n, d) or (runs, n_saved, n, d) with "
            f"n_saved = len(run.times) = {t.size}; got shape {np.shape(samples)}"
        )
        raise InvalidInputError(msg)
    return t, x


def distances_over_time(
    run: Any,
    trajectory: Any,
    metrics: Sequence[str] = ("l1", "jsd", "w1"),
    *,
    time_scale: float = 1.0,
    method: str = "kde",
    bandwidth: str | float | None = None,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    r"""Distances between a training run's samples and the PDE solution over time.

    At each saved run time :math:`s_j`, the PDE density :math:`u(\text{time\_scale}\cdot
    s_j)` (interpolated by :func:`trajectory_at`) is compared with the run's samples by
    :func:`~gan_pde.compare.metrics.distance_to_density` (``"l1"``, ``"jsd"``, ``"w1"``,
    ``"w2"``) or by the unbiased MMD² against as many exact draws from u (``"mmd"``, seeded).
    With R independent runs the mean and its standard error
    :math:`\mathrm{sd}/\sqrt R` are returned (NaN standard error for R = 1).

    Parameters
    ----------
    run
        An object with ``times`` (n_saved,) and ``samples`` (n_saved, n, d) or
        (runs, n_saved, n, d), e.g. a :class:`gan_pde.nn.TrainingRun`.
    trajectory
        A PDE solution with ``times`` and ``densities`` (:class:`gan_pde.flows.Trajectory`).
    metrics
        Names from :data:`RUN_METRICS`.
    time_scale
        Multiplier turning ``run.times`` into PDE times (1 when the run already records
        PDE times; ε when it records steps, see :class:`TimeAxis`).
    method, bandwidth
        Passed to :func:`~gan_pde.compare.metrics.samples_to_density` for L¹ and JSD.
    seed
        Seed of the PDE draws for ``"mmd"``.

    Returns
    -------
    dict
        ``"times"`` (PDE times, (n_saved,)), and for each metric ``name`` (mean over runs,
        (n_saved,)), ``name + "_stderr"`` and ``name + "_runs"`` ((runs, n_saved)).
    """
    names = [metrics] if isinstance(metrics, str) else list(metrics)
    if not names or any(not isinstance(m, str) or m not in RUN_METRICS for m in names):
        msg = f"metrics must be a non-empty list of names from {RUN_METRICS}; got {metrics!r}"
        raise InvalidInputError(msg)
    scale = as_positive(time_scale, "time_scale")
    t, samples = _run_samples(run)
    pde_densities = trajectory_at(trajectory, scale * t)
    dim = pde_densities[0].dim
    if samples.shape[-1] != dim:
        msg = f"run.samples have dimension {samples.shape[-1]}; the PDE mesh has dimension {dim}"
        raise InvalidInputError(msg)
    rng = np.random.default_rng(seed)
    result: dict[str, np.ndarray] = {"times": scale * t}
    runs = samples.shape[0]
    for name in names:
        values = np.empty((runs, t.size))
        for j, density in enumerate(pde_densities):
            if name == "mmd":
                reference = density.sample(samples.shape[2], rng=rng)
                values[:, j] = mmd(samples[:, j], reference)
                continue
            for r in range(runs):
                values[r, j] = distance_to_density(
                    samples[r, j], density, name, method=method, bandwidth=bandwidth
                )
        result[name] = values.mean(axis=0)
        result[f"{name}_stderr"] = (
            values.std(axis=0, ddof=1) / math.sqrt(runs) if runs > 1 else np.full(t.size, np.nan)
        )
        result[f"{name}_runs"] = values
    return result
