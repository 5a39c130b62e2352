r"""High-resolution finite volumes and the deterministic particle flow for long mean-field runs.

The first-order upwind scheme of :mod:`~gan_pde.meanfield.transport` is robust but its
numerical diffusion, O(h), damps the oscillations of the clipped WGAN mean field (7) over
long times.  This module adds what a long-time study needs (issue 22):

* :func:`muscl_rates` — a second-order MUSCL flux on the same cell grid: per axis the cell
  masses get a limited slope :math:`s_i` (``"mc"`` monotonised central, ``"vanleer"``,
  ``"minmod"``), the upwind face value is the reconstruction at the face,

  .. math::

      F_{i+1/2} = \bigl(V^+_{i+1/2}\,(m_i + \tfrac12 s_i)
                  + V^-_{i+1/2}\,(m_{i+1} - \tfrac12 s_{i+1})\bigr)/h,

  every flux leaves one cell and enters its neighbour (mass conserved to round-off), and
  the wall faces are closed exactly as in :func:`~gan_pde.meanfield.transport.transport_rates`
  (the tangent-cone projection (8): no mass crosses ∂Q, mass pushed against a wall stays in
  the wall cells).  The wall cells take a zero slope (first order in the concentrated
  layer, which no reconstruction resolves).  A limited slope obeys :math:`|s_i| \le
  \kappa\,m_i` (κ = 2 for mc and van Leer, 1 for minmod), so a face value lies in
  :math:`[0, (1 + \kappa/2)\,m_i]` and forward Euler keeps the masses non-negative for
  :math:`\Delta t \le \Delta t_{\mathrm{CFL}}/(1 + \kappa/2)` (:func:`muscl_time_step`);
  SSP-RK3 (Shu–Osher) is a convex combination of such steps;
* :func:`solve_highres` — :class:`~gan_pde.meanfield.model.WGANMeanField` stepped by
  MUSCL + SSP-RK3 (``scheme="muscl"``) or by the upwind flux + SSP Heun exactly as
  :meth:`WGANMeanField.solve` (``scheme="upwind"``), through :func:`gan_pde.engine.run`
  (checkpoints, resume), with a dense series of :math:`G_\mu(z_p)`, E and the wall mass
  recorded after every engine step;
* :func:`solve_toy_highres` — the same for the mean-field toy
  :class:`~gan_pde.meanfield.toy.ToyMeanField`, whose exact limit is the periodic orbit
  of amplitude :math:`\operatorname{arccosh}(1 + 1/(2\gamma_c))`;
* :func:`simulate_particle_flow` — N neurons moved by the deterministic particle flow of
  Theorem 7 (the mean-field velocities of their empirical law, quadrature in z and x,
  projected SSP-RK3 in time): the PDE (7) solved exactly from the empirical initial law,
  with no numerical diffusion (error O(1/N) in :math:`d_2^2` for the initial sampling);
* :func:`decay_per_period` — the per-period amplitude factor of an oscillating series
  from its half-swings one period apart; :func:`advance_law` — the transport alone in a
  fixed velocity field (for order measurements on exact solutions).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from gan_pde._arrays import as_flag, as_positive, as_positive_int, save_times_in
from gan_pde.engine import EngineResult, Stepper, Tracker, run, standard_trackers, time_grid
from gan_pde.errors import InvalidInputError, NumericalBreakdownError
from gan_pde.meanfield.model import (
    MeanFieldTrajectory,
    WGANMeanField,
    _sigmoid_derivatives,
    _unit_gradient,
    sigmoid,
)
from gan_pde.meanfield.toy import ToyMeanField, ToyMeanFieldFV
from gan_pde.meanfield.transport import (
    BoxGrid,
    _check_velocities,
    as_law,
    cfl_time_step,
)

__all__ = [
    "LIMITERS",
    "SCHEMES",
    "DecayFit",
    "HighResMeanFieldStepper",
    "HighResToyStepper",
    "ParticleFlowRun",
    "ParticleFlowStepper",
    "advance_law",
    "decay_per_period",
    "limited_slopes",
    "muscl_rates",
    "muscl_time_step",
    "oscillation_extrema",
    "simulate_particle_flow",
    "solve_highres",
    "solve_toy_highres",
]

#: Slope limiters of :func:`limited_slopes` and their bound κ in |s_i| <= κ m_i.
LIMITERS = {"mc": 2.0, "vanleer": 2.0, "minmod": 1.0}
#: Transport schemes: second-order MUSCL + SSP-RK3, or first-order upwind + SSP Heun.
SCHEMES = ("muscl", "upwind")


# --------------------------------------------------------------------------- the flux


def _check_limiter(limiter: str) -> str:
    if limiter not in LIMITERS:
        msg = f"limiter must be one of {sorted(LIMITERS)}; got limiter={limiter!r}"
        raise InvalidInputError(msg)
    return limiter


def _check_scheme(scheme: str) -> str:
    if scheme not in SCHEMES:
        msg = f"scheme must be one of {SCHEMES}; got scheme={scheme!r}"
        raise InvalidInputError(msg)
    return scheme


def _limit(left: np.ndarray, right: np.ndarray, limiter: str) -> np.ndarray:
    """Limited slope from the backward and forward differences (0 where they disagree)."""
    a, b = np.abs(left), np.abs(right)
    if limiter == "vanleer":  # the harmonic mean 2ab/(a + b) <= 2 min(a, b)
        with np.errstate(invalid="ignore", divide="ignore"):
            magnitude = 2.0 * a * b / (a + b)
        centre = left
    else:
        magnitude = np.minimum(a, b)
        centre = left
        if limiter == "mc":  # minmod(2 left, (left + right)/2, 2 right)
            magnitude *= 2.0
            centre = left + right
            centre *= 0.5
            np.minimum(magnitude, np.abs(centre), out=magnitude)
    slope = np.copysign(magnitude, centre)
    slope[left * right <= 0.0] = 0.0
    return slope


def limited_slopes(masses: np.ndarray, axis: int, limiter: str = "mc") -> np.ndarray:
    """Limited mass differences per cell along ``axis`` (zero in the two end cells).

    The slope :math:`s_i` is the change of the reconstructed mass across cell i: the
    reconstruction is :math:`m_i + s_i\\,(x - x_i)/h` per unit of cell, so the face values
    are :math:`m_i \\pm s_i/2`.  The end (wall) cells keep :math:`s = 0`.

    Examples
    --------
    >>> limited_slopes(np.array([0.0, 1.0, 2.0, 3.0, 3.0]), 0).tolist()
    [0.0, 1.0, 1.0, 0.0, 0.0]
    >>> limited_slopes(np.array([0.0, 1.0, 0.0]), 0).tolist()    # an extremum: flat
    [0.0, 0.0, 0.0]
    """
    _check_limiter(limiter)
    m = np.moveaxis(np.asarray(masses, dtype=float), axis, 0)
    slopes = np.zeros_like(m)
    if m.shape[0] > 2:
        diff = m[1:] - m[:-1]
        slopes[1:-1] = _limit(diff[:-1], diff[1:], limiter)
    return np.moveaxis(slopes, 0, axis)


def muscl_rates(
    masses: np.ndarray,
    velocities: Sequence[np.ndarray],
    grid: BoxGrid,
    *,
    limiter: str = "mc",
) -> np.ndarray:
    r"""Second-order MUSCL rate of change :math:`dm/dt` of the cell masses, walls closed.

    Parameters
    ----------
    masses
        Cell masses, shape ``grid.cells``.
    velocities
        Per axis, the normal velocity at the faces of that axis (as for
        :func:`~gan_pde.meanfield.transport.transport_rates`); the wall faces' values are
        ignored (no mass crosses the boundary: the tangent-cone projection (8)).
    grid
        The grid.
    limiter
        ``"mc"`` (default), ``"vanleer"`` or ``"minmod"``.

    Examples
    --------
    >>> grid = BoxGrid(lower=(0.0,), upper=(1.0,), cells=(4,))
    >>> muscl_rates(np.array([0.0, 1.0, 2.0, 0.0]), [np.ones(5)], grid).tolist()
    [0.0, -6.0, -2.0, 8.0]
    >>> float(muscl_rates(np.array([0.0, 1.0, 2.0, 0.0]), [np.ones(5)], grid).sum())
    0.0
    """
    _check_limiter(limiter)
    faces = _check_velocities(velocities, grid)
    masses = np.asarray(masses, dtype=float)
    if masses.shape != grid.cells:
        msg = f"masses must have shape {grid.cells} (the cells); got {masses.shape}"
        raise InvalidInputError(msg)
    rates = np.zeros(grid.cells)
    for axis, (v, h) in enumerate(zip(faces, grid.widths, strict=True)):
        m = np.moveaxis(masses, axis, 0)
        s = np.moveaxis(limited_slopes(masses, axis, limiter), axis, 0)
        vi = np.moveaxis(v, axis, 0)[1:-1]
        left_value = m[:-1] + 0.5 * s[:-1]
        right_value = m[1:] - 0.5 * s[1:]
        flux = (np.maximum(vi, 0.0) * left_value + np.minimum(vi, 0.0) * right_value) / h
        view = np.moveaxis(rates, axis, 0)
        view[:-1] -= flux
        view[1:] += flux
    return rates


def muscl_time_step(
    velocities: Sequence[np.ndarray], grid: BoxGrid, *, limiter: str = "mc"
) -> float:
    r"""Largest forward-Euler step of :func:`muscl_rates` that keeps the masses non-negative.

    A face value is at most :math:`(1 + \kappa/2)\,m_i` (κ of :data:`LIMITERS`), so the
    upwind bound :func:`~gan_pde.meanfield.transport.cfl_time_step` shrinks by that factor.

    Examples
    --------
    >>> grid = BoxGrid(lower=(0.0,), upper=(1.0,), cells=(10,))
    >>> round(muscl_time_step([np.full(11, 2.0)], grid), 12)
    0.025
    """
    kappa = LIMITERS[_check_limiter(limiter)]
    return cfl_time_step(velocities, grid) / (1.0 + 0.5 * kappa)


# --------------------------------------------------------------------------- kernels
# Unchecked forms of the fluxes for the time loop: face velocities already broadcast to
# their full shapes, per-axis slices precomputed.  The upwind kernel does the operations
# of transport_rates in its order (same bits).


def _slices(dim: int, axis: int) -> tuple[tuple[slice, ...], ...]:
    """(interior faces, cells left of them, cells right of them, inner cells) along axis."""

    def along(part: slice) -> tuple[slice, ...]:
        index = [slice(None)] * dim
        index[axis] = part
        return tuple(index)

    return along(slice(1, -1)), along(slice(None, -1)), along(slice(1, None)), along(slice(1, -1))


def _kernel_rates(
    masses: np.ndarray,
    faces: Sequence[np.ndarray],
    widths: Sequence[float],
    slices: Sequence[tuple[tuple[slice, ...], ...]],
    limiter: str | None,
) -> np.ndarray:
    """dm/dt of upwind (``limiter=None``) or MUSCL fluxes; wall faces closed."""
    rates = np.zeros(masses.shape)
    for v, h, (inner, left, right, middle) in zip(faces, widths, slices, strict=True):
        vi = v[inner]
        if limiter is None:
            flux = (np.maximum(vi, 0.0) * masses[left] + np.minimum(vi, 0.0) * masses[right]) / h
        else:
            diff = masses[right] - masses[left]
            slope = np.zeros(masses.shape)
            slope[middle] = _limit(diff[left], diff[right], limiter)
            flux = (
                np.maximum(vi, 0.0) * (masses[left] + 0.5 * slope[left])
                + np.minimum(vi, 0.0) * (masses[right] - 0.5 * slope[right])
            ) / h
        rates[left] -= flux
        rates[right] += flux
    return rates


def _kernel_limit(
    faces: Sequence[np.ndarray],
    widths: Sequence[float],
    slices: Sequence[tuple[tuple[slice, ...], ...]],
    shape: tuple[int, ...],
    factor: float,
) -> float:
    """cfl_time_step of the interior faces, divided by ``factor`` (1 + κ/2 for MUSCL)."""
    outflow = np.zeros(shape)
    for v, h, (inner, left, right, _) in zip(faces, widths, slices, strict=True):
        vi = v[inner]
        outflow[left] += np.maximum(vi, 0.0) / h
        outflow[right] += np.maximum(-vi, 0.0) / h
    top = float(outflow.max())
    return math.inf if top == 0.0 else 1.0 / (top * factor)


# --------------------------------------------------------------------------- stepping

#: Shu-Osher stages (weight of the substep's start, weight of the Euler step of the stage):
#: SSP Heun (RK2) and SSP-RK3, each stage a convex combination of forward Euler steps
_HEUN = ((0.0, 1.0), (0.5, 0.5))
_RK3 = ((0.0, 1.0), (0.75, 0.25), (1.0 / 3.0, 2.0 / 3.0))


def _ssp_substeps(
    state: tuple[np.ndarray, ...],
    span: float,
    *,
    scheme: str,
    cfl: float,
    evaluate: Callable[[tuple[np.ndarray, ...]], Any],
    limit: Callable[[Any], float],
    rates: Callable[[tuple[np.ndarray, ...], Any], tuple[np.ndarray, ...]],
    finish: Callable[[tuple[np.ndarray, ...]], tuple[np.ndarray, ...]],
) -> tuple[tuple[np.ndarray, ...], dict[str, float]]:
    """Advance ``state`` by ``span`` in CFL-limited SSP substeps (Heun for upwind, RK3 for
    MUSCL).

    ``evaluate(state)`` gives the fields of a state, ``limit(fields)`` its positivity limit
    of forward Euler, ``rates(state, fields)`` the time derivatives, ``finish(state)`` the
    projection applied after each substep (round-off negatives clipped).  The substeps of
    one span are equal, ``cfl`` times the limit at the span's start or less; a stage whose
    own limit is smaller than the substep restarts the substep at ``cfl`` times that limit
    (a convex combination of Euler steps each within its limit: positivity is kept).
    """
    done, substeps, smallest, largest = 0.0, 0, math.inf, 0.0
    fields = evaluate(state)
    weights = _HEUN if scheme == "upwind" else _RK3
    while span - done > 1e-12 * span:
        remaining = span - done
        top = cfl * limit(fields)
        h = remaining / math.ceil(remaining / top * (1.0 - 1e-12)) if top < remaining else remaining
        while True:
            stage_state, ok = state, True
            stage_fields = fields
            stages = []
            for k, (_, move) in enumerate(weights):
                derivative = rates(stage_state, stage_fields)
                euler = tuple(u + h * du for u, du in zip(stage_state, derivative, strict=True))
                if k == 0:
                    stage_state = euler
                else:
                    # keep*u0 + move*u1 written as u0 + move*(u1 - u0) (keep = 1 - move): the
                    # weights 3/4, 1/3 are inexact in binary and would scale the mass by
                    # 1 - 2^-54 at every substep, a drift that adds up over long runs
                    stage_state = tuple(
                        u0 + move * (u1 - u0) for u0, u1 in zip(state, euler, strict=True)
                    )
                stages.append(stage_state)
                if k + 1 < len(weights):
                    stage_fields = evaluate(stage_state)
                    stage_limit = limit(stage_fields)
                    if h > stage_limit * (1.0 + 1e-12):
                        h, ok = cfl * stage_limit, False
                        break
            if ok:
                break
        state = finish(stage_state)
        done += h
        if span - done > 1e-12 * span:
            fields = evaluate(state)
        substeps += 1
        smallest, largest = min(smallest, h), max(largest, h)
    return state, {"substeps": substeps, "dt_min": smallest, "dt_max": largest}


def advance_law(
    masses: ArrayLike,
    velocities: Sequence[np.ndarray],
    grid: BoxGrid,
    duration: float,
    *,
    scheme: str = "muscl",
    limiter: str = "mc",
    cfl: float = 0.8,
) -> tuple[np.ndarray, int]:
    r"""Transport cell masses for ``duration`` in a fixed field of face velocities.

    MUSCL + SSP-RK3 or upwind + SSP Heun (``scheme``), equal substeps of at most ``cfl``
    times the positivity limit, walls closed (tangent-cone projection).  For a
    time-independent field this is the scheme of :func:`solve_highres` without the
    coupling, e.g. to measure its order on a translated bump.

    Returns
    -------
    masses, substeps
        The transported masses and the number of substeps taken.

    Examples
    --------
    >>> grid = BoxGrid(lower=(0.0,), upper=(1.0,), cells=(4,))
    >>> m, _ = advance_law([0.0, 1.0, 0.0, 0.0], [np.ones(5)], grid, 0.25)
    >>> round(float(m.sum()), 15), bool(m.min() >= 0.0)
    (1.0, True)
    """
    scheme = _check_scheme(scheme)
    limiter = _check_limiter(limiter)
    cfl = _as_cfl(cfl)
    duration = as_positive(duration, "duration")
    start = np.array(masses, dtype=float)
    if start.shape != grid.cells or not np.all(np.isfinite(start)) or start.min() < 0.0:
        msg = f"masses must be finite and non-negative with shape {grid.cells}; got {start.shape}"
        raise InvalidInputError(msg)
    faces = _check_velocities(velocities, grid)
    slices = [_slices(grid.dim, axis) for axis in range(grid.dim)]
    factor = 1.0 + 0.5 * LIMITERS[limiter] if scheme == "muscl" else 1.0
    kernel_limiter = limiter if scheme == "muscl" else None
    (end,), record = _ssp_substeps(
        (start,),
        duration,
        scheme=scheme,
        cfl=cfl,
        evaluate=lambda state: faces,
        limit=lambda f: _kernel_limit(f, grid.widths, slices, grid.cells, factor),
        rates=lambda state, f: (_kernel_rates(state[0], f, grid.widths, slices, kernel_limiter),),
        finish=lambda state: (np.maximum(state[0], 0.0),),
    )
    return end, int(record["substeps"])


# --------------------------------------------------------------------------- WGAN model


def _grid_key(neurons: Any) -> dict[str, Any]:
    grid = neurons.grid
    return {
        "free": list(neurons.free),
        "frozen": [None if math.isnan(v) else v for v in neurons.frozen],
        "lower": list(grid.lower),
        "upper": list(grid.upper),
        "cells": list(grid.cells),
    }


def _evaluation_grid(values: Any, name: str) -> np.ndarray:
    if values is None:
        return np.linspace(-3.0, 3.0, 101)
    arr = np.atleast_1d(np.asarray(values, dtype=float)).ravel()
    if arr.size == 0 or not np.all(np.isfinite(arr)):
        msg = f"{name} must be finite numbers (at least one); got {values!r}"
        raise InvalidInputError(msg)
    return arr


def _as_cfl(cfl: float) -> float:
    cfl = as_positive(cfl, "cfl")
    if cfl > 1.0:
        msg = f"cfl must lie in (0, 1]; got cfl={cfl}"
        raise InvalidInputError(msg)
    return cfl


class _LawKernel:
    """One law's grid with its coordinates, face shapes and slices computed once.

    ``network`` and ``velocities`` do the operations of :meth:`NeuronGrid.network` and
    of the velocity loop of :meth:`WGANMeanField._fields` in their order (same bits),
    without rebuilding the grid's coordinates at every call.
    """

    def __init__(self, neurons: Any) -> None:
        grid = neurons.grid
        self.neurons = neurons
        self.cells = grid.cells
        self.widths = grid.widths
        self.slices = [_slices(grid.dim, axis) for axis in range(grid.dim)]
        self.face_shapes = []
        for axis in range(grid.dim):
            shape = list(grid.cells)
            shape[axis] += 1
            self.face_shapes.append(tuple(shape))
        self.centre = neurons.coordinates()
        self.faces = [neurons.coordinates(axis) for axis in range(grid.dim)]
        outer, slope, bias = self.centre
        self.outer_free = 0 in neurons.free
        reduced = (1, *grid.cells[1:]) if self.outer_free else grid.cells
        shape = np.broadcast_shapes(reduced, np.shape(slope), np.shape(bias))
        self.reduced_shape = shape
        self.slope = np.broadcast_to(slope, shape).ravel()
        self.bias = np.broadcast_to(bias, shape).ravel()

    def network(self, masses: np.ndarray, inputs: np.ndarray, order: int = 0) -> np.ndarray:
        outer = self.centre[0]
        if self.outer_free:
            weights = np.sum(outer * masses, axis=0, keepdims=True)
        else:
            weights = outer * masses
        w = np.broadcast_to(weights, self.reduced_shape).ravel()
        s, b = self.slope, self.bias
        arg = s[:, None] * inputs[None, :] + b[:, None]
        value, d1, d2 = _sigmoid_derivatives(arg)
        factor = [value, d1 * s[:, None], d2 * (s * s)[:, None]][order]
        return w @ factor

    def velocities(self, nodes: np.ndarray, weights: np.ndarray, sign: float) -> list[np.ndarray]:
        out = []
        for axis, k in enumerate(self.neurons.free):
            outer, slope, bias = self.faces[axis]
            v = sign * _unit_gradient(outer, slope, bias, nodes, weights, k, "value")
            out.append(np.broadcast_to(v, self.face_shapes[axis]))
        return out


class HighResMeanFieldStepper(Stepper):
    r"""One engine step of :class:`WGANMeanField` by MUSCL + SSP-RK3 or upwind + SSP Heun.

    The state is ``{"mu": cell masses, "nu": cell masses}``.  A step of the engine is
    split into equal CFL-limited substeps (:func:`muscl_time_step` or
    :func:`~gan_pde.meanfield.transport.cfl_time_step` times ``cfl``); its record holds
    :math:`G_\mu(z_p)` at the probe, E, the wall mass of ν, the mass of μ at its artificial
    boundary, the substeps and their extreme sizes.

    Parameters
    ----------
    model
        The :class:`WGANMeanField` (its laws, grids, data, γ_c, energy).
    scheme, limiter, cfl
        ``"muscl"`` or ``"upwind"``; the slope limiter (MUSCL only); the fraction of the
        positivity limit per substep, in (0, 1].
    z_eval, x_eval
        Grids on which G and D are observed at the save times.
    probe
        The latent point :math:`z_p` of the recorded :math:`G_\mu(z_p)`.
    """

    kind = "meanfield-highres"

    def __init__(
        self,
        model: WGANMeanField,
        *,
        scheme: str = "muscl",
        limiter: str = "mc",
        cfl: float = 0.8,
        z_eval: Any = None,
        x_eval: Any = None,
        probe: float = 1.0,
    ) -> None:
        if not isinstance(model, WGANMeanField):
            msg = f"model must be a WGANMeanField; got {type(model).__name__}"
            raise InvalidInputError(msg)
        self.model = model
        self.scheme = _check_scheme(scheme)
        self.limiter = _check_limiter(limiter)
        self.cfl = _as_cfl(cfl)
        self.z_eval = _evaluation_grid(z_eval, "z_eval")
        self.x_eval = _evaluation_grid(x_eval, "x_eval")
        probe = float(probe)
        if not math.isfinite(probe):
            msg = f"probe must be a finite latent point; got {probe!r}"
            raise InvalidInputError(msg)
        self.probe = probe
        self._walls = model.discriminator.grid.wall_mask()
        self._edges = model.generator.grid.wall_mask()
        # WGAN: own kernels (same operations as the model's, coordinates computed once);
        # WGAN-GP: the model's fields
        self._fast = model.energy_kind == "wgan"
        self._gen = _LawKernel(model.generator)
        self._dis = _LawKernel(model.discriminator)
        self._factor = 1.0 + 0.5 * LIMITERS[self.limiter] if self.scheme == "muscl" else 1.0
        self._nu_weights = np.concatenate([model.z_weights, -model.x_weights])

    def fingerprint(self) -> dict[str, Any]:
        m = self.model
        return {
            "scheme": self.scheme,
            "limiter": self.limiter if self.scheme == "muscl" else None,
            "cfl": self.cfl,
            "gamma_c": m.gamma_c,
            "energy": m.energy_kind,
            "penalty": m.penalty,
            "generator": _grid_key(m.generator),
            "discriminator": _grid_key(m.discriminator),
            "mu_in": m.mu_in,
            "nu_in": m.nu_in,
            "z": m.z,
            "x_nodes": m.x_nodes,
            "x_weights": m.x_weights,
            "z_eval": self.z_eval,
            "x_eval": self.x_eval,
            "probe": self.probe,
        }

    def initial_state(self) -> dict[str, np.ndarray]:
        return {"mu": self.model.mu_in.copy(), "nu": self.model.nu_in.copy()}

    # the pieces of a substep
    def _evaluate(self, state: tuple[np.ndarray, ...]) -> dict[str, Any]:
        """Face velocities of (μ, ν), broadcast to the face shapes."""
        mu, nu = state
        m = self.model
        if not self._fast:
            fields = m._fields(mu, nu)
            return {
                "mu": [
                    np.broadcast_to(v, sh)
                    for v, sh in zip(fields["mu"], self._gen.face_shapes, strict=True)
                ],
                "nu": [
                    np.broadcast_to(v, sh)
                    for v, sh in zip(fields["nu"], self._dis.face_shapes, strict=True)
                ],
            }
        g_z = self._gen.network(mu, m.z)
        d_prime = self._dis.network(nu, g_z, order=1)
        nu_nodes = np.concatenate([g_z, m.x_nodes])
        return {
            "mu": self._gen.velocities(m.z, m.z_weights * d_prime, -1.0),
            "nu": self._dis.velocities(nu_nodes, self._nu_weights, m.gamma_c),
        }

    def _limit(self, fields: dict[str, Any]) -> float:
        gen, dis = self._gen, self._dis
        return min(
            _kernel_limit(fields["mu"], gen.widths, gen.slices, gen.cells, self._factor),
            _kernel_limit(fields["nu"], dis.widths, dis.slices, dis.cells, self._factor),
        )

    def _rates(
        self, state: tuple[np.ndarray, ...], fields: dict[str, Any]
    ) -> tuple[np.ndarray, np.ndarray]:
        gen, dis = self._gen, self._dis
        limiter = self.limiter if self.scheme == "muscl" else None
        return (
            _kernel_rates(state[0], fields["mu"], gen.widths, gen.slices, limiter),
            _kernel_rates(state[1], fields["nu"], dis.widths, dis.slices, limiter),
        )

    def _energy(self, mu: np.ndarray, nu: np.ndarray) -> float:
        """E[μ, ν] (6) as the model computes it (E_GP by the model for WGAN-GP)."""
        m = self.model
        if not self._fast:
            return m.energy(mu, nu)
        g_z = self._gen.network(mu, m.z)
        return float(
            m.z_weights @ self._dis.network(nu, g_z)
            - m.x_weights @ self._dis.network(nu, m.x_nodes)
        )

    @staticmethod
    def _finish(state: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
        # the SSP stages are convex combinations of positivity-keeping Euler steps: what
        # is negative is round-off, clipped so that later sums stay exact (as solve does)
        out = tuple(np.maximum(u, 0.0) for u in state)
        if not all(np.isfinite(u).all() for u in out):
            msg = "non-finite cell masses in the high-resolution mean-field step"
            raise NumericalBreakdownError(msg)
        return out

    def step(
        self, state: Mapping[str, np.ndarray], t: float, dt: float
    ) -> tuple[dict[str, np.ndarray], dict[str, float]]:
        (mu, nu), record = _ssp_substeps(
            (state["mu"], state["nu"]),
            dt,
            scheme=self.scheme,
            cfl=self.cfl,
            evaluate=self._evaluate,
            limit=self._limit,
            rates=self._rates,
            finish=self._finish,
        )
        record.update(
            {
                "G_probe": float(self._gen.network(mu, np.array([self.probe]))[0]),
                "energy": self._energy(mu, nu),
                "wall_mass": float(nu[self._walls].sum()),
                "mu_boundary_mass": float(mu[self._edges].sum()),
                "mass_error": float(abs(mu.sum() - 1.0) + abs(nu.sum() - 1.0)),
            }
        )
        return {"mu": mu, "nu": nu}, record

    def observe(self, state: Mapping[str, np.ndarray], t: float) -> dict[str, Any]:
        m = self.model
        mu, nu = state["mu"], state["nu"]
        fields = m._fields(mu, nu, at_faces=False)
        return {
            "mu": mu.copy(),
            "nu": nu.copy(),
            "energy": fields["energy"],
            "dissipation": m._dissipation(mu, nu, fields),
            "generator": m.generator.network(mu, self.z_eval),
            "discriminator": m.discriminator.network(nu, self.x_eval),
            "wall_mass": float(nu[self._walls].sum()),
            "mu_boundary_mass": float(mu[self._edges].sum()),
            "G_probe": float(m.generator.network(mu, np.array([self.probe]))[0]),
        }

    def trajectory(self, result: EngineResult) -> MeanFieldTrajectory:
        """The engine's result as a :class:`MeanFieldTrajectory` (dense series in info)."""
        from gan_pde.provenance import versions

        m, obs = self.model, result.observations
        series = {"times": result.step_times.copy()}
        series.update({k: result.records[k].copy() for k in sorted(result.records)})
        substeps = result.records.get("substeps", np.zeros(0))
        return MeanFieldTrajectory(
            times=result.times,
            mu_grid=m.generator.grid.centres,
            nu_grid=m.discriminator.grid.centres,
            mu_names=m.generator.free_names,
            nu_names=m.discriminator.free_names,
            mu=obs["mu"],
            nu=obs["nu"],
            energy=obs["energy"],
            dissipation=obs["dissipation"],
            z=self.z_eval,
            generator=obs["generator"],
            x=self.x_eval,
            discriminator=obs["discriminator"],
            wall_mass=obs["wall_mass"],
            mu_boundary_mass=obs["mu_boundary_mass"],
            info={
                "t_final": float(result.step_times[-1]) if result.step_times.size else 0.0,
                "scheme": self.scheme,
                "limiter": self.limiter if self.scheme == "muscl" else None,
                "cfl": self.cfl,
                "probe": self.probe,
                "series": series,
                "substeps": int(substeps.sum()),
                "dt_min": float(np.min(result.records["dt_min"])) if substeps.size else None,
                "dt_max": float(np.max(result.records["dt_max"])) if substeps.size else None,
                "gamma_c": m.gamma_c,
                "energy": m.energy_kind,
                "generator_cells": m.generator.grid.cells,
                "discriminator_cells": m.discriminator.grid.cells,
                "latent_nodes": m.z.size,
                "data_nodes": m.x_nodes.size,
                **result.info,
                "versions": versions(),
            },
        )


def solve_highres(
    model: WGANMeanField,
    t_final: float,
    *,
    scheme: str = "muscl",
    limiter: str = "mc",
    cfl: float = 0.8,
    record_dt: float = 0.25,
    save_times: ArrayLike | None = None,
    save_final: bool = True,
    z_eval: ArrayLike | None = None,
    x_eval: ArrayLike | None = None,
    probe: float = 1.0,
    callback: Callable[[float, Any], Any] | None = None,
    checkpoint: str | os.PathLike[str] | None = None,
    checkpoint_interval: float | None = 30.0,
    checkpoint_steps: int | None = None,
    resume: bool = False,
    trackers: Sequence[Tracker] = (),
    progress: bool = False,
) -> MeanFieldTrajectory:
    r"""Integrate the mean-field system (7) by MUSCL + SSP-RK3 (or upwind + SSP Heun).

    Parameters
    ----------
    model
        The :class:`WGANMeanField`.
    t_final
        End time.
    scheme
        ``"muscl"`` (second order: limited slopes, SSP-RK3) or ``"upwind"`` (first order,
        SSP Heun: the steps of :meth:`WGANMeanField.solve`).
    limiter
        ``"mc"`` (default), ``"vanleer"`` or ``"minmod"`` (MUSCL only).
    cfl
        Fraction of the positivity limit per substep, in (0, 1].
    record_dt
        Step of the engine: after every ``record_dt`` of time, :math:`G_\mu(z_p)`, E and the
        wall mass are recorded (``info["series"]``); inside, equal CFL-limited substeps.
    save_times
        Times in [0, t_final] at which the laws, E, dE/dt, G and D are stored (default:
        11 equispaced); ``t_final`` is added unless ``save_final=False``.
    save_final
        Also save the state at ``t_final`` (default).
    z_eval, x_eval
        Grids on which G and D are stored (default: 101 points in [−3, 3]).
    probe
        The latent point :math:`z_p` of the recorded :math:`G_\mu(z_p)` (default 1).
    callback
        Called as ``callback(t, {"mu": ..., "nu": ...})`` after every engine step.
    checkpoint, checkpoint_interval, checkpoint_steps, resume, trackers, progress
        Checkpoint file (written every ``checkpoint_interval`` seconds and/or every
        ``checkpoint_steps`` engine steps, and at the end), resume from it (bit-identical
        continuation), more :class:`gan_pde.engine.Tracker` objects, a progress bar
        (:func:`gan_pde.engine.standard_trackers`).

    Returns
    -------
    MeanFieldTrajectory
        ``info["series"]`` maps ``times`` (engine step ends), ``G_probe``, ``energy``,
        ``wall_mass``, ``mu_boundary_mass``, ``mass_error``, ``substeps``, ``dt_min``,
        ``dt_max`` to arrays over the engine steps; ``info`` also holds the scheme, the
        total ``substeps``, the engine's ``n_steps`` (engine steps of ``record_dt``),
        ``seconds``, ``resumed_from_step``, ``stop_reason`` and ``versions``.

    Examples
    --------
    >>> import gan_pde as gp
    >>> model = WGANMeanField(
    ...     data=gp.GaussianMixture(means=[[-0.5], [0.5]], stds=[0.2, 0.2]),
    ...     generator={"alpha": (-2.0, 2.0, 24), "beta": 1.0, "gamma": 0.0},
    ...     discriminator={"a": (-1.0, 1.0, 24), "b": 1.0, "c": 0.0},
    ...     mu_in=lambda alpha: np.exp(-alpha**2 / 0.1),
    ...     nu_in=lambda a: np.exp(-(a - 0.3)**2 / 0.05))
    >>> traj = solve_highres(model, 1.0, save_times=[0.0, 1.0])
    >>> bool(abs(traj.mu[-1].sum() - 1.0) < 1e-12), traj.info["series"]["G_probe"].shape
    (True, (4,))
    """
    t_final = as_positive(t_final, "t_final")
    record_dt = as_positive(record_dt, "record_dt")
    times = save_times_in(
        np.linspace(0.0, t_final, 11) if save_times is None else save_times, t_final
    )
    save_final = as_flag(save_final, "save_final")
    stepper = HighResMeanFieldStepper(
        model,
        scheme=scheme,
        limiter=limiter,
        cfl=cfl,
        z_eval=z_eval,
        x_eval=x_eval,
        probe=probe,
    )
    end = t_final if save_final else float(times[-1])
    if end <= 0.0:
        msg = "save_final=False needs a save time after 0"
        raise InvalidInputError(msg)
    grid = time_grid(end, record_dt, times[times <= end], save_final=True)
    trackers = standard_trackers(
        callback=callback,
        checkpoint=checkpoint,
        checkpoint_interval=checkpoint_interval,
        checkpoint_steps=checkpoint_steps,
        resume=resume,
        progress=progress,
        trackers=trackers,
        desc=f"meanfield {stepper.scheme}",
    )
    result = run(stepper, grid=grid, trackers=trackers, resume=resume)
    return stepper.trajectory(result)


# --------------------------------------------------------------------------- the toy


class HighResToyStepper(Stepper):
    r"""One engine step of the mean-field toy (:class:`ToyMeanField`) by finite volumes.

    State ``{"g": generator parameter (shape (1,)), "nu": cell masses on [−1, 1]}``;
    :math:`\dot g = \Phi'(g)\sum_i \omega_i m_i` (cell centres, as
    :meth:`ToyMeanField.solve_fv`), ν transported at the common velocity
    :math:`\gamma_c(\tfrac12 - \Phi(g))` with the wall faces closed; MUSCL + SSP-RK3 or
    upwind + SSP Heun, equal CFL-limited substeps per engine step.
    """

    kind = "meanfield-toy-highres"

    def __init__(
        self,
        toy: ToyMeanField,
        *,
        cells: int,
        scheme: str = "muscl",
        limiter: str = "mc",
        cfl: float = 0.8,
    ) -> None:
        if not isinstance(toy, ToyMeanField):
            msg = f"toy must be a ToyMeanField; got {type(toy).__name__}"
            raise InvalidInputError(msg)
        self.toy = toy
        self.grid = BoxGrid(lower=(-1.0,), upper=(1.0,), cells=(as_positive_int(cells, "cells"),))
        self.scheme = _check_scheme(scheme)
        self.limiter = _check_limiter(limiter)
        self.cfl = _as_cfl(cfl)
        self._centres = self.grid.centres[0]
        self._ones = np.ones(self.grid.cells[0] + 1)
        self._slices = [_slices(1, 0)]
        self._factor = 1.0 + 0.5 * LIMITERS[self.limiter] if self.scheme == "muscl" else 1.0
        self._kernel_limiter = self.limiter if self.scheme == "muscl" else None

    def fingerprint(self) -> dict[str, Any]:
        law = self.toy.law
        return {
            "gamma_c": self.toy.gamma_c,
            "g0": self.toy.g0,
            "law": [law.a, law.b, law.power],
            "cells": self.grid.cells[0],
            "scheme": self.scheme,
            "limiter": self.limiter if self.scheme == "muscl" else None,
            "cfl": self.cfl,
        }

    def initial_state(self) -> dict[str, np.ndarray]:
        masses = as_law(self.toy.exact_cell_masses(self.grid), self.grid, name="nu_in")
        return {"g": np.array([self.toy.g0]), "nu": masses}

    def _evaluate(self, state: tuple[np.ndarray, ...]) -> list[np.ndarray]:
        return [self.toy.critic_velocity(float(state[0][0])) * self._ones]

    def _limit(self, fields: list[np.ndarray]) -> float:
        return _kernel_limit(fields, self.grid.widths, self._slices, self.grid.cells, self._factor)

    def _rates(
        self, state: tuple[np.ndarray, ...], fields: list[np.ndarray]
    ) -> tuple[np.ndarray, np.ndarray]:
        g, masses = float(state[0][0]), state[1]
        dg = 0.25 / math.cosh(0.5 * g) ** 2 * float(self._centres @ masses)
        dm = _kernel_rates(masses, fields, self.grid.widths, self._slices, self._kernel_limiter)
        return np.array([dg]), dm

    @staticmethod
    def _finish(state: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
        return state[0], np.maximum(state[1], 0.0)

    def step(
        self, state: Mapping[str, np.ndarray], t: float, dt: float
    ) -> tuple[dict[str, np.ndarray], dict[str, float]]:
        (g, nu), record = _ssp_substeps(
            (state["g"], state["nu"]),
            dt,
            scheme=self.scheme,
            cfl=self.cfl,
            evaluate=self._evaluate,
            limit=self._limit,
            rates=self._rates,
            finish=self._finish,
        )
        record["g"] = float(g[0])
        return {"g": g, "nu": nu}, record

    def observe(self, state: Mapping[str, np.ndarray], t: float) -> dict[str, Any]:
        nu = state["nu"]
        return {"g": float(state["g"][0]), "nu": nu.copy(), "wall_mass": float(nu[0] + nu[-1])}


def solve_toy_highres(
    toy: ToyMeanField,
    *,
    cells: int,
    t_final: float,
    scheme: str = "muscl",
    limiter: str = "mc",
    cfl: float = 0.8,
    record_dt: float = 0.1,
    save_times: ArrayLike | None = None,
    save_final: bool = True,
    checkpoint: str | os.PathLike[str] | None = None,
    checkpoint_interval: float | None = 30.0,
    checkpoint_steps: int | None = None,
    resume: bool = False,
    trackers: Sequence[Tracker] = (),
) -> ToyMeanFieldFV:
    r"""The mean-field toy by MUSCL + SSP-RK3 (or upwind + SSP Heun) on ``cells`` cells.

    The exact solution concentrates ν on the wall in finite time and then follows the
    single-neuron toy's periodic orbit :math:`E^* = 2 + 1/\gamma_c`, of amplitude
    :math:`\operatorname{arccosh}(1 + 1/(2\gamma_c))` in g: a periodic limit against which a
    scheme's numerical dissipation shows.

    Parameters
    ----------
    toy
        The :class:`ToyMeanField`.
    cells
        Cells of [−1, 1].
    t_final
        End time.
    scheme, limiter, cfl
        As in :func:`solve_highres`.
    record_dt
        Step of the engine (inside: equal CFL-limited substeps).
    save_times
        Times at which g and ν are stored (default: every engine step), in [0, t_final].
    save_final, checkpoint, checkpoint_interval, checkpoint_steps, resume, trackers
        As in :func:`solve_highres`.

    Returns
    -------
    ToyMeanFieldFV
        ``n_steps`` counts the substeps; ``info`` holds the scheme, the engine's
        ``n_steps`` (engine steps of ``record_dt``), ``seconds``, ``resumed_from_step``,
        ``stop_reason`` and ``versions``.

    Examples
    --------
    >>> from gan_pde.meanfield import BumpLaw
    >>> toy = ToyMeanField(gamma_c=1.0, law=BumpLaw(-0.5, 0.5), g0=-3.0)
    >>> fv = solve_toy_highres(toy, cells=50, t_final=5.0)
    >>> bool(abs(fv.nu[-1].sum() - 1.0) < 1e-13)
    True
    """
    t_final = as_positive(t_final, "t_final")
    record_dt = as_positive(record_dt, "record_dt")
    if save_times is not None:
        save_times = save_times_in(save_times, t_final)
    stepper = HighResToyStepper(toy, cells=cells, scheme=scheme, limiter=limiter, cfl=cfl)
    trackers = standard_trackers(
        checkpoint=checkpoint,
        checkpoint_interval=checkpoint_interval,
        checkpoint_steps=checkpoint_steps,
        resume=resume,
        trackers=trackers,
    )
    result = run(
        stepper,
        t_final,
        record_dt,
        save_times=save_times,
        save_final=as_flag(save_final, "save_final"),
        trackers=trackers,
        resume=resume,
    )
    from gan_pde.provenance import versions

    obs = result.observations
    return ToyMeanFieldFV(
        result.times,
        obs["g"],
        obs["nu"],
        obs["wall_mass"],
        stepper.grid,
        int(result.records["substeps"].sum()) if result.records else 0,
        info={
            "scheme": stepper.scheme,
            "limiter": stepper.limiter if stepper.scheme == "muscl" else None,
            "cfl": stepper.cfl,
            "record_dt": record_dt,
            **result.info,
            "versions": versions(),
        },
    )


# --------------------------------------------------------------------------- particles


@dataclass(frozen=True)
class ParticleFlowRun:
    """Neurons moved by the deterministic particle flow (:func:`simulate_particle_flow`).

    Attributes
    ----------
    times
        Save times.
    theta, omega
        Shapes (n_saved, N, 3): (α, β, γ) and (a, b, c) of every neuron.
    series
        ``times`` (engine step ends), ``G_probe`` (:math:`G(z_p)`), ``energy`` (E of the
        empirical laws) and ``wall_fraction`` (share of ω-neurons on ∂Q) per engine step.
    info
        N, the step, seed, γ_c, the engine's ``n_steps``, ``seconds``,
        ``resumed_from_step``, versions.
    """

    times: np.ndarray
    theta: np.ndarray
    omega: np.ndarray
    series: dict[str, np.ndarray]
    info: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        from gan_pde._repr import short_repr

        return short_repr(self)


def _project_to_q(omega: np.ndarray) -> np.ndarray:
    """Projection on the box Q = [-1, 1]^3 (clipping, componentwise)."""
    return np.clip(omega, -1.0, 1.0)


class ParticleFlowStepper(Stepper):
    r"""The deterministic particle flow of Theorem 7: N neurons per network, each moved by
    the mean-field velocity of the empirical laws (quadrature in z and x), the critic's
    projected on the tangent cone of Q.

    In time: projected SSP-RK3 (every stage clipped to Q, a convex set, so the convex
    combinations stay in Q), ``substeps`` equal steps per engine step.  The velocities of
    all neurons share their sigmoid evaluations: σ(β_i z_q + γ_i) gives G, the generator
    velocities; σ(b_j u_q + c_j) over u = (G(z_q), x_k) gives D'(G), the critic's
    velocities and E.
    """

    kind = "meanfield-particle-flow"

    def __init__(
        self,
        model: WGANMeanField,
        theta0: np.ndarray,
        omega0: np.ndarray,
        *,
        substeps: int,
        probe: float = 1.0,
    ) -> None:
        self.model = model
        self.theta0, self.omega0 = theta0, omega0
        self.substeps = substeps
        self.probe = probe
        self.n = theta0.shape[0]
        self._free_t = np.array(model.generator.free)
        self._free_o = np.array(model.discriminator.free)
        self._nodes = np.concatenate([model.z, model.x_nodes])
        self._weights = np.concatenate([model.z_weights, -model.x_weights])
        self._cache: tuple[np.ndarray, np.ndarray, Any] | None = None

    def fingerprint(self) -> dict[str, Any]:
        m = self.model
        return {
            "gamma_c": m.gamma_c,
            "theta0": self.theta0,
            "omega0": self.omega0,
            "substeps": self.substeps,
            "probe": self.probe,
            "z": m.z,
            "x_nodes": m.x_nodes,
            "x_weights": m.x_weights,
        }

    def initial_state(self) -> dict[str, np.ndarray]:
        return {"theta": self.theta0.copy(), "omega": self.omega0.copy()}

    def fields(
        self, theta: np.ndarray, omega: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, float, np.ndarray]:
        """Velocities of the neurons (generator, critic before projection), E and G(z_q)."""
        m, n = self.model, self.n
        nz = m.z.size
        o, s, b = theta[:, 0], theta[:, 1], theta[:, 2]
        value = sigmoid(s[:, None] * m.z[None, :] + b[:, None])
        g_z = (o @ value) / n
        a, bb, c = omega[:, 0], omega[:, 1], omega[:, 2]
        nodes = np.concatenate([g_z, m.x_nodes])
        value_o = sigmoid(bb[:, None] * nodes[None, :] + c[:, None])
        d1_o = value_o * (1.0 - value_o)
        d_prime = ((a * bb) @ d1_o[:, :nz]) / n
        w = self._weights
        d1_w = d1_o @ w
        v_omega = m.gamma_c * np.stack([value_o @ w, a * (d1_o @ (nodes * w)), a * d1_w], axis=1)
        energy = float(a @ (value_o @ w)) / n
        wq = m.z_weights * d_prime
        d1 = value * (1.0 - value)
        v_theta = -np.stack([value @ wq, o * (d1 @ (m.z * wq)), o * (d1 @ wq)], axis=1)
        return v_theta, v_omega, energy, g_z

    def _cached_fields(
        self, theta: np.ndarray, omega: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, float, np.ndarray]:
        # the fields of a step's end state serve its record and the next step's first
        # stage: kept for the state object they belong to (a pure function of it, so a
        # resumed run, which recomputes them, gets the same bits)
        cache = self._cache
        if cache is not None and cache[0] is theta and cache[1] is omega:
            return cache[2]
        out = self.fields(theta, omega)
        self._cache = (theta, omega, out)
        return out

    def _velocities(self, theta: np.ndarray, omega: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        v_theta, v_omega, _, _ = self._cached_fields(theta, omega)
        v_theta, v_omega = v_theta.copy(), v_omega.copy()
        frozen_t = np.setdiff1d(np.arange(3), self._free_t)
        frozen_o = np.setdiff1d(np.arange(3), self._free_o)
        v_theta[:, frozen_t] = 0.0
        v_omega[:, frozen_o] = 0.0
        return v_theta, v_omega

    def step(
        self, state: Mapping[str, np.ndarray], t: float, dt: float
    ) -> tuple[dict[str, np.ndarray], dict[str, float]]:
        theta, omega = state["theta"], state["omega"]
        h = dt / self.substeps
        for _ in range(self.substeps):
            vt, vo = self._velocities(theta, omega)
            t1 = theta + h * vt
            o1 = _project_to_q(omega + h * vo)
            vt, vo = self._velocities(t1, o1)
            t2 = 0.75 * theta + 0.25 * (t1 + h * vt)
            # convex combinations of points of Q, projected again against round-off
            o2 = _project_to_q(0.75 * omega + 0.25 * _project_to_q(o1 + h * vo))
            vt, vo = self._velocities(t2, o2)
            theta = theta / 3.0 + 2.0 / 3.0 * (t2 + h * vt)
            omega = _project_to_q(omega / 3.0 + 2.0 / 3.0 * _project_to_q(o2 + h * vo))
        if not (np.isfinite(theta).all() and np.isfinite(omega).all()):
            msg = f"non-finite neuron parameters at t = {t + dt:g}"
            raise NumericalBreakdownError(msg)
        return {"theta": theta, "omega": omega}, self._record(theta, omega)

    def _record(self, theta: np.ndarray, omega: np.ndarray) -> dict[str, float]:
        _, _, energy, _ = self._cached_fields(theta, omega)
        o, s, b = theta[:, 0], theta[:, 1], theta[:, 2]
        g_probe = float(o @ sigmoid(s * self.probe + b)) / self.n
        free = omega[:, self._free_o]
        on_wall = np.any(np.abs(free) == 1.0, axis=1)
        return {"G_probe": g_probe, "energy": energy, "wall_fraction": float(on_wall.mean())}

    def observe(self, state: Mapping[str, np.ndarray], t: float) -> dict[str, Any]:
        return {"theta": state["theta"].copy(), "omega": state["omega"].copy()}


def _fill(free_values: np.ndarray, neurons: Any, name: str, n: int) -> np.ndarray:
    arr = np.asarray(free_values, dtype=float)
    if arr.ndim == 1 and neurons.grid.dim == 1:
        arr = arr[:, None]
    if arr.shape != (n, neurons.grid.dim) or not np.all(np.isfinite(arr)):
        msg = f"{name} must be finite with shape ({n}, {neurons.grid.dim}); got {arr.shape}"
        raise InvalidInputError(msg)
    full = np.empty((n, 3))
    for k in range(3):
        full[:, k] = arr[:, neurons.free.index(k)] if k in neurons.free else neurons.frozen[k]
    return full


def simulate_particle_flow(
    model: WGANMeanField,
    *,
    n: int,
    t_final: float,
    max_step: float = 0.125,
    record_dt: float = 0.25,
    seed: int = 0,
    theta0: ArrayLike | None = None,
    omega0: ArrayLike | None = None,
    save_times: ArrayLike | None = None,
    probe: float = 1.0,
    callback: Callable[[float, Any], Any] | None = None,
    checkpoint: str | os.PathLike[str] | None = None,
    checkpoint_interval: float | None = 30.0,
    checkpoint_steps: int | None = None,
    resume: bool = False,
    trackers: Sequence[Tracker] = (),
    progress: bool = False,
) -> ParticleFlowRun:
    r"""N neurons per network moved by the deterministic mean-field particle flow (Theorem 7).

    The empirical laws :math:`\mu^N = \frac1N\sum_i\delta_{\theta_i}`,
    :math:`\nu^N = \frac1N\sum_j\delta_{\omega_j}` solve (7) exactly when every neuron
    moves with the velocity field of (7) evaluated at them, the critic's projected on the
    tangent cone of Q: no numerical diffusion, only the time step's error and the O(1/N)
    (in :math:`d_2^2`) of the initial sampling.  This is ``batch=None`` of
    :func:`~gan_pde.meanfield.particles.simulate_particles` with both networks moved at
    once and a third-order projected SSP-RK3 step instead of Euler.

    Parameters
    ----------
    model
        The :class:`WGANMeanField` (``energy="wgan"``): data, γ_c, frozen components,
        quadrature nodes; its initial laws are sampled when ``theta0``/``omega0`` are None.
    n
        Neurons per network.
    t_final
        End time.
    max_step
        Largest RK3 step; each engine step of ``record_dt`` takes
        ``ceil(record_dt / max_step)`` equal steps.
    record_dt
        Step of the engine, at whose ends G(z_p), E and the wall fraction are recorded.
    seed
        Seed of the initial draws (piecewise uniform in the model's cells).
    theta0, omega0
        Initial free components, shapes (N, free dims); ω inside Q.
    save_times
        Times at which all neurons are stored (default: 0 and t_final).
    probe
        Latent point :math:`z_p` of the recorded :math:`G(z_p)`.
    callback, checkpoint, checkpoint_interval, checkpoint_steps, resume, trackers, progress
        As in :func:`solve_highres`.

    Returns
    -------
    ParticleFlowRun

    Examples
    --------
    >>> import gan_pde as gp
    >>> model = WGANMeanField(
    ...     data=gp.GaussianMixture(means=[[-0.5], [0.5]], stds=[0.2, 0.2]),
    ...     generator={"alpha": (-2.0, 2.0, 20), "beta": 1.0, "gamma": 0.0},
    ...     discriminator={"a": (-1.0, 1.0, 20), "b": 1.0, "c": 0.0},
    ...     mu_in=lambda alpha: np.exp(-alpha**2), nu_in=lambda a: np.exp(-a**2))
    >>> flow = simulate_particle_flow(model, n=500, t_final=1.0)
    >>> flow.omega.shape, flow.series["G_probe"].shape
    ((2, 500, 3), (4,))
    """
    from gan_pde.meanfield.particles import sample_law

    if not isinstance(model, WGANMeanField) or model.energy_kind != "wgan":
        msg = "model must be a WGANMeanField with energy='wgan' (clipped critic)"
        raise InvalidInputError(msg)
    n = as_positive_int(n, "n")
    t_final = as_positive(t_final, "t_final")
    max_step = as_positive(max_step, "max_step")
    record_dt = as_positive(record_dt, "record_dt")
    probe = float(probe)
    if not math.isfinite(probe):
        msg = f"probe must be a finite latent point; got {probe!r}"
        raise InvalidInputError(msg)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        msg = f"seed must be an integer; got seed={seed!r}"
        raise InvalidInputError(msg)
    rng = np.random.default_rng(int(seed))
    gen, dis = model.generator, model.discriminator
    t_free = sample_law(model.mu_in, gen.grid, n, rng) if theta0 is None else theta0
    o_free = sample_law(model.nu_in, dis.grid, n, rng) if omega0 is None else omega0
    theta = _fill(t_free, gen, "theta0", n)
    omega = _fill(o_free, dis, "omega0", n)
    if np.abs(omega).max() > 1.0:
        msg = "omega0 must lie in Q = [-1, 1]^3 (clipping box)"
        raise InvalidInputError(msg)
    substeps = math.ceil(record_dt / max_step * (1.0 - 1e-12))
    stepper = ParticleFlowStepper(model, theta, omega, substeps=substeps, probe=probe)
    saves = [0.0, t_final] if save_times is None else save_times_in(save_times, t_final)
    trackers = standard_trackers(
        callback=callback,
        checkpoint=checkpoint,
        checkpoint_interval=checkpoint_interval,
        checkpoint_steps=checkpoint_steps,
        resume=resume,
        progress=progress,
        trackers=trackers,
        desc="particle flow",
    )
    result = run(stepper, t_final, record_dt, save_times=saves, trackers=trackers, resume=resume)
    from gan_pde.provenance import versions

    series = {"times": result.step_times.copy()}
    series.update({k: v.copy() for k, v in result.records.items()})
    return ParticleFlowRun(
        times=result.times,
        theta=result.observations["theta"],
        omega=result.observations["omega"],
        series=series,
        info={
            "n": n,
            "max_step": max_step,
            "rk3_step": record_dt / substeps,
            "record_dt": record_dt,
            "seed": int(seed),
            "gamma_c": model.gamma_c,
            "probe": probe,
            **result.info,
            "versions": versions(),
        },
    )


# --------------------------------------------------------------------------- analysis


def oscillation_extrema(
    times: ArrayLike,
    values: ArrayLike,
    *,
    t_min: float = 0.0,
    t_max: float | None = None,
    centre: float | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Extrema of an oscillating series in [t_min, t_max], one per half-cycle.

    The series is cut where it crosses ``centre`` (default: the midrange of the window);
    between two successive crossings the sample farthest from the centre, refined by the
    parabola through it and its two neighbours (error O(Δt⁴) in the value for a smooth
    series), is the half-cycle's extremum.  Wiggles that do not cross the centre (a
    plateau's ripples) make no extrema; the pieces before the first and after the last
    crossing are incomplete and dropped.

    Returns
    -------
    times, values, kinds
        The extrema, kind +1 for a maximum and −1 for a minimum (alternating).

    Examples
    --------
    >>> t = np.linspace(0.0, 20.0, 401)
    >>> tk, yk, kind = oscillation_extrema(t, np.sin(t - 0.3))
    >>> np.round(tk[:2], 3).tolist(), np.round(yk[:2], 5).tolist(), kind[:2].tolist()
    ([1.871, 5.012], [1.0, -1.0], [1, -1])
    """
    t = np.asarray(times, dtype=float).ravel()
    y = np.asarray(values, dtype=float).ravel()
    if t.shape != y.shape or t.size < 3 or np.any(np.diff(t) <= 0) or not np.isfinite(y).all():
        msg = "times and values must be finite, of one length >= 3, times increasing"
        raise InvalidInputError(msg)
    window = (t >= t_min) & (t <= (np.inf if t_max is None else t_max))
    if window.sum() < 3:
        msg = f"fewer than 3 samples in [t_min, t_max] = [{t_min:g}, {t_max}]"
        raise InvalidInputError(msg)
    index = np.flatnonzero(window)
    if centre is None:
        centre = 0.5 * (y[index].max() + y[index].min())
    side = np.sign(y[index] - centre)
    crossings = np.flatnonzero(side[1:] * side[:-1] < 0) + 1
    out_t, out_y, kinds = [], [], []
    for start, stop in zip(crossings[:-1], crossings[1:], strict=True):
        piece = index[start:stop]
        k = int(piece[np.argmax(np.abs(y[piece] - centre))])
        kind = 1 if y[k] > centre else -1
        if 0 < k < t.size - 1:
            t0, t1, t2 = t[k - 1], t[k], t[k + 1]
            y0, y1, y2 = y[k - 1], y[k], y[k + 1]
            d01, d12 = (y1 - y0) / (t1 - t0), (y2 - y1) / (t2 - t1)
            curvature = (d12 - d01) / (t2 - t0)
            if curvature * kind < 0.0:
                # Newton form p(t) = y0 + d01 (t - t0) + c (t - t0)(t - t1); p' = 0 there
                vertex = min(max(0.5 * (t0 + t1) - d01 / (2.0 * curvature), t0), t2)
                out_t.append(vertex)
                out_y.append(y0 + d01 * (vertex - t0) + curvature * (vertex - t0) * (vertex - t1))
                kinds.append(kind)
                continue
        out_t.append(t[k])
        out_y.append(y[k])
        kinds.append(kind)
    return np.array(out_t), np.array(out_y), np.array(kinds, dtype=int)


@dataclass(frozen=True)
class DecayFit:
    """Per-period amplitude factor of an oscillation (:func:`decay_per_period`).

    Attributes
    ----------
    factor
        Geometric mean of the per-period ratios S_{k+2}/S_k of the half-swings
        S_k = |y_{k+1} - y_k|/2 between successive extrema (independent of the centre).
    spread
        Standard deviation of those ratios (the scatter of one ratio).
    standard_error
        ``spread`` over the square root of the number of periods covered.
    ratios, ratio_times
        The per-period ratios in time order and the times of their later half-swings.
    swings, swing_times
        The half-swings and their times (midpoints of their extrema).
    period
        Mean time between extrema of one kind.
    extrema_times, extrema_values, kinds
        The extrema used (see :func:`oscillation_extrema`).
    """

    factor: float
    spread: float
    standard_error: float
    ratios: np.ndarray
    ratio_times: np.ndarray
    swings: np.ndarray
    swing_times: np.ndarray
    period: float
    extrema_times: np.ndarray
    extrema_values: np.ndarray
    kinds: np.ndarray


def decay_per_period(
    times: ArrayLike,
    values: ArrayLike,
    *,
    t_min: float = 0.0,
    t_max: float | None = None,
    centre: float | None = None,
) -> DecayFit:
    r"""Per-period amplitude factor of an oscillation from its half-swings.

    With the extrema :math:`y_k` of :func:`oscillation_extrema` in [t_min, t_max], the
    half-swings :math:`S_k = |y_{k+1} - y_k|/2` and the ratios :math:`S_{k+2}/S_k` (one
    period apart); the factor is their geometric mean: 1 for a periodic orbit, below 1
    for a spiral.

    Examples
    --------
    >>> t = np.linspace(0.0, 60.0, 3001)
    >>> fit = decay_per_period(t, 0.1 + np.exp(-0.01 * t) * np.cos(t), t_min=5.0)
    >>> round(fit.factor, 4), round(math.exp(-0.01 * 2 * math.pi), 4)
    (0.9391, 0.9391)
    """
    tk, yk, kinds = oscillation_extrema(times, values, t_min=t_min, t_max=t_max, centre=centre)
    if tk.size < 4:
        msg = (
            f"decay_per_period needs 4 extrema (two half-swings one period apart) in "
            f"[{t_min:g}, {t_max}]; found {tk.size}: run longer or widen the window"
        )
        raise InvalidInputError(msg)
    swings = 0.5 * np.abs(np.diff(yk))
    swing_times = 0.5 * (tk[1:] + tk[:-1])
    ratios = swings[2:] / swings[:-2]
    logs = np.log(ratios)
    spread = float(np.std(ratios, ddof=1)) if ratios.size > 1 else math.nan
    periods = 0.5 * (tk[-1] - tk[0]) / ((tk.size - 1) / 2.0)
    covered = max(1.0, 0.5 * ratios.size)
    return DecayFit(
        factor=float(np.exp(logs.mean())),
        spread=spread,
        standard_error=spread / math.sqrt(covered) if ratios.size > 1 else math.nan,
        ratios=ratios,
        ratio_times=swing_times[2:],
        swings=swings,
        swing_times=swing_times,
        period=float(2.0 * periods),
        extrema_times=tk,
        extrema_values=yk,
        kinds=kinds,
    )
