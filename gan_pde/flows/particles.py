r"""Particles of the JSD flow driven by the finite-element solution (paper 002, (5) and (16)).

A particle moves with the velocity of the first variation (4),

.. math::

    \frac{dY_t}{dt} = -\nabla\frac{\delta J}{\delta\rho}(u(t), Y_t)
        = -\frac12\nabla\ln\frac{2u(t, Y_t)}{\rho_d(Y_t) + u(t, Y_t)}, \qquad Y_0 \sim \rho_0 ,
    \tag{16}

with u the solution of the Fokker–Planck equation (6) in place of the law of :math:`Y_t`
in (5).  With :math:`v = u/\rho_d`, :math:`\ln\frac{2u}{\rho_d + u} = \ln 2 + \ln v -
\ln(1 + v)`, so the velocity is

.. math::

    V(t, y) = -\frac12\,\frac{\nabla v(t, y)}{v(t, y)\,\bigl(1 + v(t, y)\bigr)} ,

and :math:`uV = -\tfrac12\rho_d\nabla\ln(1+v)`: the continuity equation
:math:`u_t + \nabla\cdot(uV) = 0` is (6), which is why the law of particles that start as an
i.i.d. sample of ρ_0 follows u(t) (the superposition principle of the paper's existence
proof).  Here v is the finite-element function :math:`v_h(t)` of
:class:`~gan_pde.flows.JSDFlow`, its gradient is evaluated element by element, and the
particles are advanced with Heun's method (explicit trapezoid, order 2) on the flow's own
time steps: :math:`Y^* = Y^n + \Delta t\,V(t_n, Y^n)`,
:math:`Y^{n+1} = Y^n + \tfrac{\Delta t}{2}\bigl(V(t_n, Y^n) + V(t_{n+1}, Y^*)\bigr)`.

**Boundary.**  The no-flux condition :math:`\rho_d\,\partial_n\ln(1+v) = 0` makes the exact
velocity tangential on the boundary, but the discrete one is not exactly so.  A particle
whose Heun step (or predictor) would leave the mesh is moved along the step only as far as
the mesh reaches (the largest fraction of the step that stays inside, found by bisection
to :math:`2^{-30}` of the step) and is flagged in :attr:`ParticleTrajectory.stopped`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import skfem
from numpy.typing import ArrayLike

from gan_pde._arrays import as_finite_array
from gan_pde.engine import Stepper, Tracker, run, standard_trackers
from gan_pde.errors import InvalidInputError
from gan_pde.fem.function import locate
from gan_pde.flows.jsd import JSDStepper, Trajectory
from gan_pde.provenance import versions

if TYPE_CHECKING:
    from gan_pde.densities import MeshDensity
    from gan_pde.flows.jsd import JSDFlow

__all__ = ["JSDParticleStepper", "ParticleTrajectory", "simulate_particles", "wasserstein_1d"]

#: Bisection steps when a particle's step leaves the mesh (fraction 2^-30 of the step).
_BISECTIONS = 30


@dataclass(frozen=True)
class ParticleTrajectory:
    """Particles of the ODE (16) observed at the saved times, with the flow that drove them.

    Attributes
    ----------
    times
        Saved times (those of :attr:`flow`).
    positions
        Particle positions, shape ``(len(times), n_particles, dim)``.
    stopped
        Whether each particle was stopped at the boundary at least once, shape
        ``(n_particles,)``.
    flow
        The :class:`~gan_pde.flows.Trajectory` of the finite-element solution u(t).
    info
        Particle count, integrator, particles stopped at the boundary, the engine's
        ``n_steps``, ``seconds``, ``resumed_from_step``, ``stop_reason``, and ``versions``.
    """

    times: np.ndarray
    positions: np.ndarray = field(repr=False)
    stopped: np.ndarray = field(repr=False)
    flow: Trajectory = field(repr=False)
    info: dict[str, Any] = field(default_factory=dict, repr=False)

    def __repr__(self) -> str:
        from gan_pde._repr import short_repr

        return short_repr(self)


def _values_and_gradients(
    basis: skfem.CellBasis, cells: np.ndarray, points: np.ndarray, dofs: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """FE function ``dofs`` and its gradient at ``points`` (n, dim) inside ``cells``."""
    ref = basis.mapping.invF(points.T[:, :, None], tind=cells)
    value = np.zeros(points.shape[0])
    grad = np.zeros((points.shape[1], points.shape[0]))
    for k in range(basis.Nbfun):
        phi = basis.elem.gbasis(basis.mapping, ref, k, tind=cells)[0]
        coef = dofs[basis.element_dofs[k, cells]]
        value += coef * np.asarray(phi)[:, 0]
        grad += coef * phi.grad[:, :, 0]
    return value, grad.T


def _velocity(
    basis: skfem.CellBasis, cells: np.ndarray, points: np.ndarray, v: np.ndarray
) -> np.ndarray:
    r""":math:`-\tfrac12\nabla v/(v(1+v))` at points inside the given cells."""
    value, grad = _values_and_gradients(basis, cells, points, v)
    value = np.maximum(value, np.finfo(float).tiny)
    return -0.5 * grad / (value * (1.0 + value))[:, None]


def _move(
    mesh: skfem.Mesh, start: np.ndarray, step: np.ndarray, stopped: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``start + step``, cut back to the mesh for the points whose step leaves it."""
    end = start + step
    cells = locate(mesh, end)
    out = np.flatnonzero(cells < 0)
    if out.size:
        stopped[out] = True
        low = np.zeros(out.size)
        high = np.ones(out.size)
        for _ in range(_BISECTIONS):
            mid = 0.5 * (low + high)
            inside = locate(mesh, start[out] + mid[:, None] * step[out]) >= 0
            low = np.where(inside, mid, low)
            high = np.where(inside, high, mid)
        end[out] = start[out] + low[:, None] * step[out]
        cells[out] = locate(mesh, end[out])
    return end, cells


class JSDParticleStepper(Stepper):
    """The JSD flow and its particles in one step (what :func:`simulate_particles` drives).

    The state is the flow's (:class:`~gan_pde.flows.jsd.JSDStepper`, under ``flow/`` in a
    checkpoint) and the particles': positions ``y``, their cells, the flags ``stopped``
    and the dof vector ``v`` of the field at the start of the step.  A step advances the
    flow, then the particles by Heun's method with the fields at both ends of the step.
    Callbacks and trackers see ``{"v": v, "positions": y}``.
    """

    kind = "jsd_particles"

    def __init__(self, flow_stepper: JSDStepper, positions: np.ndarray) -> None:
        self.flow_stepper = flow_stepper
        self.flow = flow_stepper.flow
        self.positions = positions

    def fingerprint(self) -> dict[str, Any]:
        return {**self.flow_stepper.fingerprint(), "positions": self.positions}

    def initial_state(self) -> dict[str, Any]:
        y = self.positions.copy()
        return {
            "flow": self.flow_stepper.initial_state(),
            "y": y,
            "cells": locate(self.flow.mesh, y),
            "stopped": np.zeros(y.shape[0], dtype=bool),
            "v": self.flow.v0,
        }

    def step(
        self, state: dict[str, Any], t: float, dt: float
    ) -> tuple[dict[str, Any], Mapping[str, float]]:
        flow_state, record = self.flow_stepper.step(state["flow"], t, dt)
        v_new = self.flow._state_to_v(flow_state["z"])
        mesh, basis = self.flow.mesh, self.flow.operator.basis
        stopped = state["stopped"].copy()
        y0, c0 = state["y"], state["cells"]
        k1 = _velocity(basis, c0, y0, state["v"])
        y_pred, c_pred = _move(mesh, y0, dt * k1, stopped)
        k2 = _velocity(basis, c_pred, y_pred, v_new)
        y1, c1 = _move(mesh, y0, 0.5 * dt * (k1 + k2), stopped)
        new = {"flow": flow_state, "y": y1, "cells": c1, "stopped": stopped, "v": v_new}
        return new, record

    def observe(self, state: dict[str, Any], t: float) -> dict[str, Any]:
        return {**self.flow_stepper.observe(state["flow"], t), "positions": state["y"]}

    def view(self, state: dict[str, Any]) -> dict[str, np.ndarray]:
        """``{"v": v at the dofs, "positions": the particles}``."""
        return {"v": self.flow_stepper.view(state["flow"]), "positions": state["y"]}

    def state_arrays(self, state: dict[str, Any]) -> dict[str, Any]:
        flow = self.flow_stepper.state_arrays(state["flow"])
        own = {key: value for key, value in state.items() if key != "flow"}
        return {**{f"flow/{key}": value for key, value in flow.items()}, **own}

    def load_state(self, arrays: Mapping[str, np.ndarray]) -> dict[str, Any]:
        flow = {k[len("flow/") :]: v for k, v in arrays.items() if k.startswith("flow/")}
        own = {k: np.array(v) for k, v in arrays.items() if not k.startswith("flow/")}
        return {"flow": self.flow_stepper.load_state(flow), **own}


def simulate_particles(
    flow: JSDFlow,
    positions: ArrayLike,
    t_final: float,
    dt: float,
    *,
    save_times: Sequence[float] | np.ndarray | None = None,
    save_final: bool = True,
    scheme: str = "backward-euler",
    max_newton_iterations: int = 50,
    checkpoint: str | os.PathLike[str] | None = None,
    checkpoint_interval: float | None = 30.0,
    checkpoint_steps: int | None = None,
    resume: bool = False,
    trackers: Sequence[Tracker] = (),
) -> ParticleTrajectory:
    r"""Solve the flow and move particles with its velocity field, ODE (16) of paper 002.

    .. math::

        \frac{dY_t}{dt} = -\frac12\nabla\ln\frac{2u(t,Y_t)}{\rho_d(Y_t)+u(t,Y_t)}
        = -\frac12\,\frac{\nabla v_h(t,Y_t)}{v_h(t,Y_t)\,(1+v_h(t,Y_t))}

    Heun's method on the time steps of :meth:`JSDFlow.solve` (see the module documentation,
    also for particles that reach the boundary), both driven by
    :func:`gan_pde.engine.run` (:class:`JSDParticleStepper`).  If ``positions`` are an
    i.i.d. sample of ρ_0, their empirical law approximates u(t) at every t (superposition
    principle), with the sampling error :math:`O(N^{-1/2})`; see :func:`wasserstein_1d`.

    Parameters
    ----------
    flow
        The JSD flow (target, initial density, mesh).
    positions
        Initial particle positions inside the mesh, shape ``(n, dim)`` (``(n,)`` in 1D).
    t_final, dt, save_times, save_final, scheme, max_newton_iterations
        As in :meth:`JSDFlow.solve`; the particles are saved at the same times (with
        ``t_final`` among them unless ``save_final=False``).
    checkpoint, checkpoint_interval, checkpoint_steps, resume
        Checkpoints of the flow and the particles together, and the bit-identical resume
        from them, as in :meth:`JSDFlow.solve`.
    trackers
        More :class:`gan_pde.engine.Tracker` objects; they see ``{"v": v, "positions":
        y}``.

    Returns
    -------
    ParticleTrajectory

    Raises
    ------
    InvalidInputError
        For positions of the wrong shape, non-finite or outside the mesh, and for the
        arguments :meth:`JSDFlow.solve` rejects.
    IncompatibleCheckpointError
        If ``resume`` finds a damaged checkpoint or one of another run.

    Examples
    --------
    >>> import gan_pde as gp
    >>> from gan_pde.flows import JSDFlow
    >>> rho = gp.GaussianMixture(means=[[-2.0], [2.0]], stds=[1.0, 1.0], weights=[0.5, 0.5])
    >>> start = gp.Gaussian(mean=[0.0], cov=[[1.0]])
    >>> flow = JSDFlow(rho, start, gp.mesh.interval(-10.0, 10.0, n=400))
    >>> y0 = start.sample(2000, rng=0)
    >>> particles = simulate_particles(flow, y0, 1.0, 0.05, save_times=[0.0, 1.0])
    >>> particles.positions.shape
    (2, 2000, 1)
    >>> w1 = [wasserstein_1d(p[:, 0], u) for p, u in zip(particles.positions,
    ...                                                 particles.flow.densities)]
    >>> bool(max(w1) < 0.1)
    True
    """
    mesh = flow.mesh
    dim = mesh.dim()
    y = np.array(positions, dtype=float, copy=True)
    if y.ndim == 1 and dim == 1:
        y = y[:, None]
    if y.ndim != 2 or y.shape[1] != dim or y.shape[0] == 0:
        msg = f"positions must have shape (n, {dim}) with n >= 1; got {np.shape(positions)}"
        raise InvalidInputError(msg)
    y = as_finite_array(y, "positions")
    cells = locate(mesh, y)
    if np.any(cells < 0):
        i = int(np.flatnonzero(cells < 0)[0])
        msg = (
            f"{int(np.sum(cells < 0))} initial position(s) lie outside the mesh, first "
            f"{y[i].tolist()}"
        )
        raise InvalidInputError(msg)
    flow_stepper = JSDStepper(
        flow,
        t_final,
        dt,
        save_times=save_times,
        save_final=save_final,
        scheme=scheme,
        max_newton_iterations=max_newton_iterations,
    )
    stepper = JSDParticleStepper(flow_stepper, y)
    trackers = standard_trackers(
        checkpoint=checkpoint,
        checkpoint_interval=checkpoint_interval,
        checkpoint_steps=checkpoint_steps,
        resume=resume,
        trackers=trackers,
    )
    grid = (flow_stepper.grid, flow_stepper.saved)
    result = run(stepper, grid=grid, trackers=trackers, resume=resume)
    stopped = result.state["stopped"]
    return ParticleTrajectory(
        times=result.times,
        positions=result.observations["positions"],
        stopped=stopped,
        flow=flow_stepper.trajectory(result),
        info={
            "n_particles": int(y.shape[0]),
            **result.info,
            "integrator": "heun",
            "stopped_at_boundary": int(stopped.sum()),
            "versions": versions(),
        },
    )


def wasserstein_1d(samples: ArrayLike, density: MeshDensity, *, points: int = 20001) -> float:
    r"""Exact :math:`W_1` between the empirical law of 1D samples and a 1D mesh density.

    .. math::

        W_1(\hat\mu_N, u) = \int_a^b \bigl|F_N(x) - F_u(x)\bigr|\,dx ,

    with :math:`F_N` the empirical CDF (sorted samples) and :math:`F_u` the CDF of u by the
    trapezoid rule on ``points`` equispaced points of the mesh interval [a, b], linear in
    between (error :math:`O(h^2)`, about 1e-8 at the default); the integral of
    :math:`|F_N - F_u|` between consecutive grid points and samples is then exact.

    Examples
    --------
    >>> import gan_pde as gp, skfem
    >>> basis = skfem.Basis(gp.mesh.interval(0.0, 1.0, n=10), skfem.ElementLineP1())
    >>> u = gp.MeshDensity(basis, np.ones(basis.N))
    >>> round(wasserstein_1d(np.array([0.5]), u), 6)   # ∫|1[x ≥ 1/2] − x| dx
    0.25
    """
    x = np.sort(np.asarray(samples, dtype=float).ravel())
    if density.dim != 1 or x.size == 0 or not np.all(np.isfinite(x)):
        msg = "wasserstein_1d needs finite 1D samples and a 1D density"
        raise InvalidInputError(msg)
    lo, hi = float(density.mesh.p.min()), float(density.mesh.p.max())
    grid = np.linspace(lo, hi, points)
    pdf = density.pdf(grid[:, None])
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (pdf[1:] + pdf[:-1]) * np.diff(grid))])
    cdf /= cdf[-1]
    # on each interval between consecutive grid points and samples F_N is constant and F_u
    # linear, so |F_N − F_u| is integrated exactly
    nodes = np.union1d(grid, np.clip(x, lo, hi))
    f_u = np.interp(nodes, grid, cdf)
    f_n = np.searchsorted(x, nodes[:-1], side="right") / x.size
    a, b = f_u[:-1] - f_n, f_u[1:] - f_n
    length = np.diff(nodes)
    same_sign = a * b >= 0.0
    scale = np.where(same_sign, 1.0, np.abs(a) + np.abs(b))
    pieces = np.where(
        same_sign,
        0.5 * (np.abs(a) + np.abs(b)),
        0.5 * (a * a + b * b) / np.where(scale > 0.0, scale, 1.0),
    )
    return float(math.fsum(pieces * length))
