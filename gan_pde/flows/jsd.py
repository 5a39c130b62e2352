r"""The Jensen–Shannon gradient flow of Huang & Zhang (paper 002).

Minimising :math:`J(\rho) = \mathrm{JSD}(\rho, \rho_d)` (2) by gradient descent in
:math:`\mathcal P(\mathbb R^d)` moves the density u along the nonlinear Fokker–Planck
equation (6); with :math:`v = u/\rho_d` and :math:`\mu_d = \rho_d\,dx` it reads

.. math::

    v_t = \tfrac12\,\Delta_{\mu_d}\ln(1+v), \qquad
    \Delta_{\mu_d} = \Delta + \nabla\ln\rho_d\cdot\nabla, \qquad v(0) = \rho_0/\rho_d ,
    \tag{7}

solved by Crandall–Liggett implicit steps :math:`v^{n+1} = (I+\tau A)^{-1}v^n` (11)–(13)
(:class:`~gan_pde.flows.operator.LogDiffusionOperator`).  The first variation (4) is
:math:`\delta J/\delta\rho = \tfrac12\ln\bigl(2u/(u+\rho_d)\bigr) = \tfrac12\ln\bigl(2v/(1+v)
\bigr)`, so the dissipation of the Proposition is

.. math::

    \int |\nabla\tfrac{\delta J}{\delta\rho}|^2 u\,dx
    = \frac14\int \nabla\ln\frac{v}{1+v}\cdot\nabla\ln(1+v)\,d\mu_d
    = \frac14\int \frac{|\nabla v|^2}{v(1+v)^2}\,d\mu_d ,

and, since :math:`\tfrac{d}{dt}\tfrac12\|v\|^2_{L^2(\mu_d)} = -\tfrac12\int|\nabla v|^2/(1+v)
\,d\mu_d` and :math:`v \to 1`, the bound (19) holds in the sharper form
:math:`\int_0^\infty\|\nabla v\|^2_{L^2(\mu_d)}dt \le (1+\beta)(\|v_0\|^2_{L^2(\mu_d)} - 1)
\le (1+\beta)\beta \le (1+\beta)\beta^2` (β ≥ 1 because both densities have mass 1).
"""

from __future__ import annotations

import logging
import math
import os
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from numbers import Real
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import skfem
from scipy.special import xlogy

from gan_pde._arrays import as_positive
from gan_pde.checkpoint import load_checkpoint, save_checkpoint
from gan_pde.densities import MeshDensity
from gan_pde.errors import InvalidDensityError, InvalidInputError, NotConvergedError
from gan_pde.flows.operator import (
    SCHEMES,
    LogDiffusionOperator,
    check_log_density,
)
from gan_pde.provenance import versions

if TYPE_CHECKING:
    from gan_pde.densities import Density

__all__ = ["JSDFlow", "Trajectory"]

logger = logging.getLogger(__name__)

#: Largest accepted ln max(ρ_0/ρ_d) on the mesh (β ≈ 1e100): beyond it the terms
#: e^s ≈ β of the Newton residual and their squares leave the double-precision range.
_LOG_BETA_MAX = 230.0
#: Save times closer than this fraction of dt to a grid time replace that grid time.
_MERGE_RTOL = 1e-9


@dataclass(frozen=True)
class Trajectory:
    r"""A solution of the JSD flow observed at the saved times.

    Attributes
    ----------
    times
        Saved times, ascending, starting at 0.
    jsd, kl, l1
        :math:`\mathrm{JSD}(u, \rho_d)` (natural log), :math:`D_{KL}(u\|\rho_d)` and
        :math:`\|u - \rho_d\|_{L^1}` at the saved times, as integrals in
        :math:`\mu_d` of :math:`j(v) = \tfrac12[v\ln\frac{2v}{1+v} + \ln\frac{2}{1+v}]`,
        :math:`v\ln v - v + 1` and :math:`|v - 1|` (lumped: nodal quadrature with the
        weights :math:`m_i`, the discrete functionals the scheme decreases; consistent mass:
        Gauss quadrature of the FE function v).  Negative v (possible with second-order
        schemes and large steps) is clipped to 0 here.
    mass
        :math:`\int u\,dx = \sum_i (Mv)_i`, the conserved discrete mass (1 after the
        initial normalisation on the mesh).
    dissipation
        :math:`\int|\nabla\frac{\delta J}{\delta\rho}|^2u\,dx \approx \tfrac14\,\psi^\top K
        \varphi` with :math:`\psi = \ln\frac{v}{1+v}`, :math:`\varphi = \ln(1+v)` at the
        dofs (v clipped below at the smallest normal float).
    grad_v_integral
        :math:`\int_0^t\|\nabla v\|^2_{L^2(\mu_d)}\,ds` accumulated with the scheme's own
        quadrature (right end point for backward Euler, midpoint, TR-BDF2 weights).
    v_min, v_max
        Extremes of the dof values of v at the saved times.
    v
        Dof vectors of :math:`v = u/\rho_d` at the saved times.
    densities
        u at the saved times as :class:`~gan_pde.densities.MeshDensity` (nodal values
        :math:`\rho_d(x_i)\max(v_i, 0)`, normalised by their quadrature mass).
    step_times
        End time of every step.
    newton_iterations
        Newton iterations of every step (summed over the scheme's stages).
    info
        Parameters, sizes, timings, β and versions.
    """

    times: np.ndarray
    jsd: np.ndarray
    kl: np.ndarray
    l1: np.ndarray
    mass: np.ndarray
    dissipation: np.ndarray
    grad_v_integral: np.ndarray
    v_min: np.ndarray
    v_max: np.ndarray
    v: list[np.ndarray] = field(repr=False)
    densities: list[MeshDensity] = field(repr=False)
    step_times: np.ndarray = field(repr=False)
    newton_iterations: np.ndarray = field(repr=False)
    info: dict[str, Any] = field(default_factory=dict, repr=False)


class JSDFlow:
    r"""The JSD gradient flow :math:`v_t = \tfrac12\Delta_{\mu_d}\ln(1+v)` on a mesh.

    The physics (target, initial density, discrete operator); :meth:`solve` steps it in
    time and observes it.  Both densities are normalised to mass 1 on the mesh by the
    discrete mass (their masses before normalisation are in :attr:`info`), so the discrete
    flow converges to :math:`u = \rho_d`.

    Parameters
    ----------
    target
        ρ_d: an analytic density or a :class:`~gan_pde.densities.KDE` of samples; positive
        on the whole mesh.
    initial
        ρ_0: any density (also a :class:`~gan_pde.densities.MeshDensity`), positive at every
        dof of the mesh.
    mesh
        A scikit-fem mesh; no-flux boundary conditions, so mass is conserved.
    element, lumped
        Finite element and mass lumping (see
        :class:`~gan_pde.flows.operator.LogDiffusionOperator`).  P1 with the default lumped
        mass on a mesh whose stiffness matrix is an M-matrix (1D; triangles with no obtuse
        angle, e.g. :func:`gan_pde.mesh.rectangle`) keeps 0 ≤ v ≤ β, the
        :math:`L^1(\mu_d)` contraction and the JSD decrease exactly with backward Euler
        (:attr:`monotone` tells).
    beta
        Your β of assumption (8), :math:`\rho_0 \le \beta\rho_d`.  A warning is issued if
        it fails on the mesh; the actual :math:`\max_i \rho_0(x_i)/\rho_d(x_i)` is
        :attr:`beta` either way.

    Raises
    ------
    InvalidDensityError
        If a density vanishes at a dof or quadrature point of the mesh (the message names
        the point), is NaN, or if :math:`\rho_0/\rho_d` overflows.
    InvalidInputError
        For a mismatched mesh, element or β.

    Examples
    --------
    >>> import gan_pde as gp
    >>> from gan_pde.flows import JSDFlow
    >>> rho = gp.GaussianMixture(means=[[-2.0], [2.0]], stds=[1.0, 1.0], weights=[0.5, 0.5])
    >>> flow = JSDFlow(target=rho, initial=gp.Gaussian(mean=[0.0], cov=[[1.0]]),
    ...                mesh=gp.mesh.interval(-10.0, 10.0, n=200))
    >>> traj = flow.solve(t_final=2.0, dt=0.1, save_times=[0.0, 1.0, 2.0])
    >>> bool(np.all(np.diff(traj.jsd) < 0)), bool(np.ptp(traj.mass) < 1e-14)
    (True, True)
    """

    def __init__(
        self,
        target: Density,
        initial: Density,
        mesh: skfem.Mesh,
        *,
        element: str = "P1",
        lumped: bool | None = None,
        beta: float | None = None,
    ) -> None:
        self.operator = LogDiffusionOperator(target, mesh, element=element, lumped=lumped)
        op = self.operator
        if not hasattr(initial, "log_pdf") or getattr(initial, "dim", None) != mesh.dim():
            msg = (
                "initial must be a gan_pde Density of the mesh dimension "
                f"{mesh.dim()}; got {initial!r}"
            )
            raise InvalidInputError(msg)
        points = np.ascontiguousarray(op.basis.doflocs.T)
        log_initial = np.asarray(initial.log_pdf(points), dtype=float)
        check_log_density(log_initial, points, "initial")
        log_ratio = log_initial - op.log_target_at_dofs
        if log_ratio.max() > _LOG_BETA_MAX:
            i = int(np.argmax(log_ratio))
            msg = (
                f"rho_0/rho_d = e^{log_ratio[i]:.0f} at {points[i].tolist()} exceeds "
                f"e^{_LOG_BETA_MAX:.0f}: the initial density is not bounded by a reasonable "
                "multiple of the target on this mesh (assumption (8) fails); restrict the "
                "mesh or widen the target"
            )
            raise InvalidDensityError(msg)
        v0 = np.exp(log_ratio)
        initial_mass = float(op.weights @ v0)
        self.initial_mass_on_mesh = initial_mass
        self.target = target
        self.initial = initial
        #: Dof vector of :math:`v_0 = \rho_0/\rho_d` (both normalised on the mesh).
        self.v0 = v0 / initial_mass
        #: :math:`\max_i v_0(x_i)`, the smallest β of (8) on the mesh's dofs.
        self.beta = float(self.v0.max())
        if beta is not None:
            if isinstance(beta, bool) or not (
                isinstance(beta, Real) and math.isfinite(beta) and beta > 0
            ):
                msg = f"beta must be a positive finite number; got {beta!r}"
                raise InvalidInputError(msg)
            if self.beta > beta:
                i = int(np.argmax(self.v0))
                message = (
                    f"assumption (8) rho_0 <= beta * rho_d fails for beta = {beta:g}: "
                    f"max rho_0/rho_d = {self.beta:.6g} at {points[i].tolist()} (the bound "
                    "(19) and the maximum principle hold with this beta instead)"
                )
                warnings.warn(message, UserWarning, stacklevel=2)

    @property
    def mesh(self) -> skfem.Mesh:
        """The mesh."""
        return self.operator.mesh

    @property
    def monotone(self) -> bool:
        """Whether the discrete maximum principle / L¹ contraction conditions hold."""
        return self.operator.monotone

    @property
    def info(self) -> dict[str, Any]:
        """Parameters of the discretisation and the densities."""
        op = self.operator
        return {
            "element": op.element,
            "lumped": op.lumped,
            "monotone": op.monotone,
            "n_dofs": op.n_dofs,
            "n_cells": int(op.mesh.nelements),
            "dim": int(op.mesh.dim()),
            "beta": self.beta,
            "target": repr(self.target),
            "initial": repr(self.initial),
            "target_mass_on_mesh": op.target_mass_on_mesh,
            "initial_mass_on_mesh": self.initial_mass_on_mesh,
        }

    # ----------------------------------------------------------------------- observation

    def _integrate(self, values: Callable[[np.ndarray], np.ndarray], v: np.ndarray) -> float:
        r""":math:`\int g(v)\,d\mu_d` with the scheme's quadrature, v clipped at 0."""
        op = self.operator
        if op.lumped:
            return float(op.weights @ values(np.maximum(v, 0.0)))
        v_qp = np.maximum(np.asarray(op.basis.interpolate(v)), 0.0)
        return float(np.sum(values(v_qp) * np.exp(op.log_target_at_quadrature) * op.basis.dx))

    def jsd(self, v: np.ndarray) -> float:
        r""":math:`\mathrm{JSD}(u, \rho_d) = \int j(v)\,d\mu_d` for the dof vector v."""
        return self._integrate(_jsd_density, v)

    def kl(self, v: np.ndarray) -> float:
        r""":math:`D_{KL}(u\|\rho_d) = \int (v\ln v - v + 1)\,d\mu_d` (mass 1)."""
        return self._integrate(lambda x: xlogy(x, x) - x + 1.0, v)

    def l1(self, v: np.ndarray) -> float:
        r""":math:`\|u - \rho_d\|_{L^1} = \int |v - 1|\,d\mu_d`."""
        return self._integrate(lambda x: np.abs(x - 1.0), v)

    def mass(self, v: np.ndarray) -> float:
        r""":math:`\int u\,dx = \mathbf 1^\top M v`."""
        return float(self.operator.weights @ v)

    def dissipation(self, v: np.ndarray) -> float:
        r""":math:`\int|\nabla\delta J/\delta\rho|^2u\,dx \approx \tfrac14\psi^\top K\varphi`."""
        x = np.maximum(v, np.finfo(float).tiny)
        phi = np.log1p(x)
        return 0.25 * self.operator.dirichlet_form(np.log(x) - phi, phi)

    def density(self, v: np.ndarray) -> MeshDensity:
        """u = ρ_d v as a :class:`~gan_pde.densities.MeshDensity` (clipped at 0, normalised)."""
        u = self.operator.target_at_dofs * np.maximum(v, 0.0)
        return MeshDensity(self.operator.basis, u, normalize=True)

    # ----------------------------------------------------------------------- stepping

    def solve(
        self,
        t_final: float,
        dt: float,
        *,
        save_times: Sequence[float] | np.ndarray | None = None,
        scheme: str = "backward-euler",
        callback: Callable[[float, np.ndarray], None] | None = None,
        max_newton_iterations: int = 50,
        checkpoint: str | os.PathLike[str] | None = None,
        checkpoint_interval: float = 30.0,
        resume: bool = False,
    ) -> Trajectory:
        r"""Integrate the flow from t = 0 to ``t_final``.

        Steps of size ``dt`` on the grid :math:`k\,\Delta t`; a save time off the grid
        shortens the step that crosses it so that the solution lands exactly on it, and
        the last step ends at ``t_final``.

        Parameters
        ----------
        t_final
            Final time, > 0.
        dt
            Step, > 0 (any size: every step is unconditionally solvable).
        save_times
            Times in [0, t_final] at which to observe the solution (0 is always included).
            Default: every step.
        scheme
            ``"backward-euler"`` (order 1, the product formula (13); keeps the maximum
            principle, L¹ contraction, JSD decrease), ``"tr-bdf2"`` (order 2, L-stable;
            keeps mass, positivity for moderate steps) or ``"crank-nicolson"`` (order 2;
            keeps mass).  See :meth:`~gan_pde.flows.operator.LogDiffusionOperator.advance`.
        callback
            Called as ``callback(t, v)`` after every step (e.g. a progress bar).
        max_newton_iterations
            Newton iteration limit per resolvent.
        checkpoint
            File to which the state of the run (step, v, Newton guess, observations) is
            written atomically (:mod:`gan_pde.checkpoint`) every ``checkpoint_interval``
            seconds of wall time and after the last step.  None: no checkpoints.
        checkpoint_interval
            Seconds of wall time between checkpoints (0: after every step).
        resume
            Continue from ``checkpoint`` if it exists (a missing file starts from t = 0).
            The resumed run takes the same steps from the same state, so its result is
            bit-identical to an uninterrupted run's; a checkpoint written with another
            mesh, densities, step, scheme or save times is refused.

        Returns
        -------
        Trajectory

        Raises
        ------
        InvalidInputError
            For non-positive or non-finite ``t_final``/``dt``, save times outside
            [0, t_final] or NaN, an unknown scheme.
        NotConvergedError
            If Newton fails; the message names the step, its times and the residual.
        IncompatibleCheckpointError
            If ``resume`` finds a damaged checkpoint or one of another run.

        Examples
        --------
        >>> import gan_pde as gp
        >>> from gan_pde.flows import JSDFlow
        >>> flow = JSDFlow(gp.Gaussian(mean=[0.0], cov=[[1.0]]),
        ...                gp.Gaussian(mean=[1.0], cov=[[0.5]]), gp.mesh.interval(-8, 8, n=160))
        >>> traj = flow.solve(10.0, 0.5, save_times=[0.0, 2.5, 10.0], scheme="tr-bdf2")
        >>> traj.times.tolist(), bool(np.all(np.diff(traj.jsd) < 0))
        ([0.0, 2.5, 10.0], True)
        """
        t_final = as_positive(t_final, "t_final")
        dt = as_positive(dt, "dt")
        if scheme not in SCHEMES:
            msg = f"scheme={scheme!r} is not one of {SCHEMES}"
            raise InvalidInputError(msg)
        if isinstance(max_newton_iterations, bool) or not isinstance(max_newton_iterations, int):
            msg = f"max_newton_iterations must be a positive int; got {max_newton_iterations!r}"
            raise InvalidInputError(msg)
        if checkpoint is None and resume:
            msg = "resume=True needs a checkpoint file (checkpoint=PATH)"
            raise InvalidInputError(msg)
        if not (isinstance(checkpoint_interval, Real) and checkpoint_interval >= 0):
            msg = f"checkpoint_interval must be a non-negative number; got {checkpoint_interval!r}"
            raise InvalidInputError(msg)
        grid, saved = _time_grid(t_final, dt, save_times)
        op = self.operator
        start = time.perf_counter()

        records: dict[str, list[float]] = {key: [] for key in _SCALARS}
        snapshots: list[np.ndarray] = []
        v = self.v0.copy()
        s = None
        grad_v = 0.0
        iterations = np.zeros(grid.size - 1, dtype=np.int64)
        first = 0
        elapsed_before = 0.0
        fingerprint = {
            "t_final": t_final,
            "dt": dt,
            "mesh": [op.mesh.p, op.mesh.t],
            "element": op.element,
            "lumped": bool(op.lumped),
            "log_target": op.log_target_at_dofs,
            "v0": self.v0,
            "grid": grid,
            "saved": saved,
            "scheme": scheme,
            "max_newton_iterations": max_newton_iterations,
        }
        if resume and Path(checkpoint).exists():
            state = load_checkpoint(checkpoint, kind="jsd_flow", fingerprint=fingerprint)
            first = int(state["step"])
            v = state["v"].copy()
            s = state["s"].copy() if state["s"].size else None
            grad_v = float(state["grad_v"])
            iterations[:first] = state["iterations"][:first]
            snapshots = list(state["snapshots"])
            for key in _SCALARS:
                records[key] = state[key].tolist()
            elapsed_before = float(state["seconds"])
            op._linear_solver.restore(state)
            logger.info("resuming the JSD flow from %s at step %d", checkpoint, first)

        def write_checkpoint(n_done: int) -> None:
            arrays = {key: np.array(values) for key, values in records.items()}
            save_checkpoint(
                checkpoint,
                kind="jsd_flow",
                fingerprint=fingerprint,
                state={
                    "step": n_done,
                    "v": v,
                    "s": np.empty(0) if s is None else s,
                    "grad_v": grad_v,
                    "iterations": iterations,
                    "snapshots": np.stack(snapshots),
                    "seconds": elapsed_before + time.perf_counter() - start,
                    **op._linear_solver.state(),
                    **arrays,
                },
            )

        def observe(values: np.ndarray) -> None:
            snapshots.append(values.copy())
            records["jsd"].append(self.jsd(values))
            records["kl"].append(self.kl(values))
            records["l1"].append(self.l1(values))
            records["mass"].append(self.mass(values))
            records["dissipation"].append(self.dissipation(values))
            records["grad_v_integral"].append(grad_v)
            records["v_min"].append(float(values.min()))
            records["v_max"].append(float(values.max()))

        if first == 0:
            observe(v)
        last_write = time.perf_counter()
        for n in range(first, grid.size - 1):
            t0, t1 = float(grid[n]), float(grid[n + 1])
            try:
                step = op.advance(
                    v,
                    t1 - t0,
                    scheme=scheme,
                    t=t0,
                    initial_guess=s,
                    max_iter=max_newton_iterations,
                )
            except NotConvergedError as err:
                msg = f"JSDFlow.solve: step {n + 1} (t = {t0:.6g} -> {t1:.6g}) failed: {err}"
                raise NotConvergedError(msg) from err
            v, s = step.v, step.s
            grad_v += step.grad_v_integral
            iterations[n] = step.newton_iterations
            logger.debug("step %d: t = %.6g, %d Newton iterations", n + 1, t1, iterations[n])
            if saved[n + 1]:
                observe(v)
            if callback is not None:
                callback(t1, v)
            if checkpoint is not None and (
                n + 2 == grid.size or time.perf_counter() - last_write >= checkpoint_interval
            ):
                write_checkpoint(n + 1)
                last_write = time.perf_counter()

        seconds = elapsed_before + time.perf_counter() - start
        logger.info(
            "JSD flow: %d steps (%s), %d Newton iterations, %.3f s",
            grid.size - 1,
            scheme,
            int(iterations.sum()),
            seconds,
        )
        info = {
            **self.info,
            "t_final": t_final,
            "dt": dt,
            "scheme": scheme,
            "n_steps": int(grid.size - 1),
            "newton_iterations_total": int(iterations.sum()),
            "seconds": seconds,
            "resumed_from_step": first,
            "versions": versions(),
        }
        return Trajectory(
            times=grid[saved],
            **{key: np.array(values) for key, values in records.items()},
            v=snapshots,
            densities=[self.density(x) for x in snapshots],
            step_times=grid[1:],
            newton_iterations=iterations,
            info=info,
        )


_SCALARS = ("jsd", "kl", "l1", "mass", "dissipation", "grad_v_integral", "v_min", "v_max")


def _jsd_density(v: np.ndarray) -> np.ndarray:
    r""":math:`j(v) = \tfrac12[v\ln\frac{2v}{1+v} + \ln\frac{2}{1+v}]`, 0 at v = 1, ½ln2 at 0."""
    r = (v - 1.0) / (v + 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        # ln(2v/(1+v)): log1p(r) is accurate near v = 1, the plain log near v = 0
        log_ratio = np.where(v < 0.5, np.log(2.0 * v / (1.0 + v)), np.log1p(r))
        first = np.where(v > 0.0, v * log_ratio, 0.0)
        # ln(2/(1+v)) = log1p(−r), accurate near v = 1; for v ≥ 1e16 r rounds to 1 and
        # log1p(−r) to −inf, so large v takes ln 2 − log1p(v) (no cancellation for v > 3)
        second = np.where(v > 3.0, math.log(2.0) - np.log1p(np.maximum(v, 3.0)), np.log1p(-r))
    return 0.5 * (first + second)


def _time_grid(
    t_final: float, dt: float, save_times: Sequence[float] | np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Step end points (the dt grid merged with the save times) and the saved mask."""
    n = math.ceil(t_final / dt - _MERGE_RTOL)
    grid = np.minimum(np.arange(n + 1) * dt, t_final)
    grid[-1] = t_final
    if save_times is None:
        return grid, np.ones(grid.size, dtype=bool)
    try:
        wanted = np.asarray(save_times, dtype=float).ravel()
    except (TypeError, ValueError) as exc:
        msg = f"save_times must be real numbers; got {save_times!r}"
        raise InvalidInputError(msg) from exc
    if not np.all(np.isfinite(wanted)):
        msg = f"save_times must be finite; got {wanted.tolist()}"
        raise InvalidInputError(msg)
    outside = wanted[(wanted < 0.0) | (wanted > t_final)]
    if outside.size:
        msg = f"save_times must lie in [0, t_final = {t_final:g}]; got {outside.tolist()}"
        raise InvalidInputError(msg)
    wanted = np.union1d(wanted, [0.0])
    # a grid point within _MERGE_RTOL·dt of a save time is replaced by it
    near = np.abs(grid[:, None] - wanted[None, :]).min(axis=1) <= _MERGE_RTOL * dt
    times = np.union1d(grid[~near | (grid == 0.0) | (grid == t_final)], wanted)
    times = times[np.concatenate([[True], np.diff(times) > 0.0])]
    saved = np.isin(times, wanted)
    return times, saved
