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
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import skfem
from scipy.special import logsumexp, xlogy

from gan_pde._arrays import as_flag, as_non_negative, as_positive, as_positive_int
from gan_pde.densities import MeshDensity
from gan_pde.engine import EngineResult, Stepper, Tracker, run, standard_trackers, time_grid
from gan_pde.errors import (
    InvalidDensityError,
    InvalidInputError,
    NotConvergedError,
    NumericalBreakdownError,
)
from gan_pde.fem.logscale import (
    choose_log_scale,
    log1p_of_state,
    log_scale_for,
    log_v_from_log1p,
    log_v_over_1p_v,
    state_from_log1p,
    state_to_v,
)
from gan_pde.fem.solvers import check_resumed_backend
from gan_pde.flows.operator import (
    SCHEMES,
    LogDiffusionOperator,
    check_log_density,
)
from gan_pde.provenance import versions

if TYPE_CHECKING:
    from gan_pde.densities import Density
    from gan_pde.fem.solvers import LinearSolver

__all__ = ["JSDFlow", "JSDStepper", "Trajectory"]

logger = logging.getLogger(__name__)

#: Above this ln(1 + v_0) the state is carried with a per-dof log scale
#: (:meth:`~gan_pde.flows.operator.LogDiffusionOperator.set_log_scale`): v up to e^64 ≈ 6e27,
#: the squares of the Newton terms up to 4e55, stay far inside the double range.
_LOG_PLAIN_MAX = 64.0
#: ... and where the scaled lumped mass m̂_i = m_i/ρ_d(x_i) is itself huge (a mesh that
#: does not resolve ρ_d: m̂_i reaches e^677 when ln ρ_d drops by 350 over a cell), the scale
#: also keeps the terms m̂_i(1 + z_i) of the scaled equation i below e^640: e^69 ≈ 1e30 of
#: head room below the double range (e^709.8) for the sums over neighbours, τ times the
#: flux and the growth of z within a step (see _LOG_RESCALE_MARGIN).
_LOG_LOAD_MAX = 640.0
#: A log-scaled state is re-scaled (:meth:`JSDStepper.step`) before a step when some
#: ln(1 + z_i) exceeds _LOG_PLAIN_MAX, or some ln(m̂_i(1 + z_i)) exceeds _LOG_LOAD_MAX, by
#: this much (v grew there: each step then still has e^(69 − 16) ≈ 1e23 of head room), or
#: when ln(1 + z_i) < −_LOG_RESCALE_MARGIN_BELOW where a_i > 0 (v fell there: z near −1
#: holds 1 + z only to ε e^{−ln(1+z)} relative, so it is re-scaled while that is ≤ 55 ε).
_LOG_RESCALE_MARGIN = 16.0
_LOG_RESCALE_MARGIN_BELOW = 4.0
#: Where ln v exceeds this, the observation functionals use their large-v forms in log space
#: (v ln v, |v − 1| and j(v) are then v times a slowly varying factor).
_LOG_LARGE = 30.0
#: A step whose Newton solve fails is retried as two half steps, down to 2^-10 of it.
_MAX_HALVINGS = 10
#: ... but from the start of the step only down to 2^-4 of it (see _adaptive_step).
_MAX_HALVINGS_AT_START = 4


@dataclass(frozen=True)
class Trajectory:
    r"""A solution of the JSD flow observed at the saved times.

    Attributes
    ----------
    times
        Saved times, ascending, starting at 0 and ending at ``info["t_final"]`` (unless
        the run was solved with ``save_final=False``).
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
        Newton iterations of every step (summed over the scheme's stages and sub-steps).
    newton_residuals
        The attained accuracy of every step: the largest per-node backward error of its
        Newton solves (:attr:`~gan_pde.flows.operator.StepResult.newton_residual`).
    substeps
        Number of sub-steps of every step (1 unless Newton failed and the step was retried
        as halves, see :meth:`JSDFlow.solve`).
    log1p_v
        :math:`\ln(1 + v)` at the saved times (NaN where v ≤ −1): exact also where v itself
        exceeds the double range (then ``v`` holds +inf there, ``v_max`` is +inf, and
        :attr:`JSDFlow.log_beta` gives β).
    info
        Parameters, sizes, β, Newton totals, the engine's ``n_steps``, ``seconds`` (wall
        time, resumed sessions included), ``resumed_from_step`` and ``stop_reason``, and
        ``versions``.
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
    newton_residuals: np.ndarray | None = field(default=None, repr=False)
    substeps: np.ndarray | None = field(default=None, repr=False)
    log1p_v: list[np.ndarray] = field(default_factory=list, repr=False)
    info: dict[str, Any] = field(default_factory=dict, repr=False)

    def __repr__(self) -> str:
        from gan_pde._repr import short_repr

        return short_repr(self)

    def plot(self, kind: str = "divergences", *, ax: Any = None, target: Any = None) -> Any:
        """Draw the trajectory (:func:`gan_pde.plotting.plot_trajectory`).

        ``"divergences"``: JSD, KL and L¹ to ρ_d over time on ``ax``; ``"densities"``: u at
        the saved times (over ``target`` ρ_d when given; 2D: one panel per time).

        >>> traj.plot("densities", target=rho)  # doctest: +SKIP
        """
        from gan_pde.plotting import plot_trajectory

        return plot_trajectory(self, kind, ax=ax, target=target)


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
    solver
        The sparse solver of the Newton systems (and of a consistent mass): a name of
        :data:`~gan_pde.fem.solvers.SOLVER_NAMES` or a
        :class:`~gan_pde.fem.solvers.LinearSolver`; default SuperLU
        (:data:`~gan_pde.flows.operator.DEFAULT_SOLVER`, whose results the tests and
        checkpoints were made with, bit for bit).  ``"auto"`` takes CHOLMOD or PARDISO
        where installed, and the P1 set-up kernel on simplices.  The backend is recorded
        in the trajectory's provenance.

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
        solver: str | LinearSolver | None = None,
    ) -> None:
        self.operator = LogDiffusionOperator(
            target, mesh, element=element, lumped=lumped, solver=solver
        )
        op = self.operator
        if not hasattr(initial, "log_pdf") or getattr(initial, "dim", None) != mesh.dim():
            msg = (
                "initial must be a gan_pde Density of the mesh dimension "
                f"{mesh.dim()}; got {initial!r}"
            )
            raise InvalidInputError(msg)
        points = op.dof_points  # not op.basis: that is still being built on the other core
        log_initial = np.asarray(initial.log_pdf(points), dtype=float)
        check_log_density(log_initial, points, "initial")
        log_ratio = log_initial - op.log_target_at_dofs
        if log_ratio.max() < _LOG_PLAIN_MAX:
            v0 = np.exp(log_ratio)
            initial_mass = float(op.weights @ v0)
            log_v0 = log_ratio - math.log(initial_mass) if initial_mass > 0.0 else log_ratio
        else:
            # ρ_0/ρ_d beyond e^64 somewhere: the mass Σ m̂_i ρ_0(x_i) in log space
            log_mass, sign = logsumexp(log_initial, b=op._weights_hat, return_sign=True)
            initial_mass = math.exp(log_mass) if sign > 0 else -1.0
            log_v0 = log_ratio - log_mass
            # normalising can bring the largest ratio back below e^64 (a mass above 1)
            v0 = np.exp(log_v0) * initial_mass if log_v0.max() < _LOG_PLAIN_MAX else None
        if not initial_mass > 0.0:
            msg = (
                "the initial density has no positive mass on this mesh: sum_i m_i "
                "rho_0(x_i) <= 0, with the weights m_i = int phi_i d(mu_d) of the "
                f"{op.element} basis (smallest {float(op.weights.min()):.3g}); P2 weights "
                "turn negative where the mesh does not resolve rho_d: refine the mesh or "
                "use P1"
            )
            raise InvalidDensityError(msg)
        self.initial_mass_on_mesh = initial_mass
        self.target = target
        self.initial = initial
        #: :math:`\ln \max_i v_0(x_i)`: ln β, also where β exceeds the double range.
        self.log_beta = float(log_v0.max())
        if self.log_beta < _LOG_PLAIN_MAX:
            op.set_log_scale(None)
            #: Dof vector of :math:`v_0 = \rho_0/\rho_d` (both normalised on the mesh;
            #: +inf where it exceeds the double range, see :attr:`log_beta`).
            self.v0 = v0 / initial_mass
            self._z0 = self.v0
            self._log_scale0 = None
        else:
            scale, log1p_v0 = log_scale_for(
                log_v0,
                plain_max=_LOG_PLAIN_MAX,
                log_weights=self._log_equation_weights(),
                load_max=_LOG_LOAD_MAX,
            )
            op.set_log_scale(scale)
            #: the log scale of the initial state (a run may re-choose it, see
            #: :meth:`JSDStepper.step`; the operator's is restored at every run's start)
            self._log_scale0 = op.log_scale
            with np.errstate(over="ignore"):
                self.v0 = np.exp(log_v0)
            self._z0 = state_from_log1p(self.v0, log1p_v0, scale)
            logger.info(
                "rho_0/rho_d reaches e^%.0f: the state is carried with a log scale",
                self.log_beta,
            )
        #: :math:`\max_i v_0(x_i)`, the smallest β of (8) on the mesh's dofs (+inf beyond
        #: the double range; :attr:`log_beta` has its logarithm).
        self.beta = float(self.v0.max()) if op.log_scale is None else _exp_or_inf(self.log_beta)
        if beta is not None:
            beta = as_positive(beta, "beta")
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

    def _rescaled(self, z: np.ndarray, a: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        r"""A new log scale for the state z of scale a, when z has left the safe range
        (see :data:`_LOG_RESCALE_MARGIN`), as ``(z', a')`` representing the same v; else
        None.

        :math:`a'` is :func:`~gan_pde.fem.logscale.choose_log_scale` of
        :math:`\ln(1+v) = a + \ln(1+z)`; where it differs from a,
        :math:`z' = \mathrm{expm1}(\ln(1+z) - (a' - a))` (a' − a exact by Sterbenz where
        a'/2 ≤ a ≤ 2a'), so :math:`(1+z')e^{a'} = (1+z)e^a` up to the roundings of log1p,
        one subtraction and expm1: a relative ε(|ln(1+z)| + |ln(1+z')| + 2) of 1 + v.
        Elsewhere z' = z exactly.
        """
        with np.errstate(invalid="ignore", divide="ignore"):
            lz = np.log1p(np.where(z > -1.0, z, np.nan))
        log_weights = self._log_equation_weights()
        with np.errstate(invalid="ignore"):
            grew = np.any(lz > _LOG_PLAIN_MAX + _LOG_RESCALE_MARGIN) or np.any(
                lz + log_weights > _LOG_LOAD_MAX + _LOG_RESCALE_MARGIN
            )
            fell = np.any((a > 0.0) & (lz < -_LOG_RESCALE_MARGIN_BELOW))
        if not (grew or fell):
            return None
        new = choose_log_scale(
            a + lz, plain_max=_LOG_PLAIN_MAX, log_weights=log_weights, load_max=_LOG_LOAD_MAX
        )
        changed = (new != a) & np.isfinite(lz)
        if not np.any(changed):
            return None
        new = np.where(changed, new, a)
        with np.errstate(over="ignore", invalid="ignore"):
            z_new = np.where(changed, np.expm1(lz - (new - a)), z)
        logger.info("log scale re-chosen at %d dofs", int(changed.sum()))
        return z_new, new

    def _log_equation_weights(self) -> np.ndarray:
        r""":math:`\ln\sum_j|\hat M_{ij}|`, the size of the coefficients of equation i of
        the scaled system (the lumped :math:`\hat m_i`; for a consistent mass the absolute
        row sums of :math:`\hat M`, before the scale's :math:`e^{a_j - a_i}`)."""
        op = self.operator
        absolute = np.asarray(abs(op._mass_hat).sum(axis=1)).ravel()
        sizes = op._weights_hat if op.lumped else absolute
        with np.errstate(divide="ignore"):
            return np.log(sizes)

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
            "log_beta": self.log_beta,
            "log_scaled": self._log_scale0 is not None,
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

    def _state_to_v(self, z: np.ndarray, log_scale: Any = "operator") -> np.ndarray:
        """v of a state z (+inf where it exceeds the double range), of the operator's
        current log scale unless another is given (an array, or None)."""
        scale = self.operator.log_scale if isinstance(log_scale, str) else log_scale
        return state_to_v(z, _nonzero_or_none(scale))

    def _observe(self, z: np.ndarray) -> dict[str, float]:
        """The scalar observations of a state z (see :class:`Trajectory`)."""
        op = self.operator
        if op.log_scale is None:
            v = z
            return {
                "jsd": self.jsd(v),
                "kl": self.kl(v),
                "l1": self.l1(v),
                "mass": self.mass(v),
                "dissipation": self.dissipation(v),
                "v_min": float(v.min()),
                "v_max": float(v.max()),
            }
        return self._observe_log(z)

    def _observe_log(self, z: np.ndarray) -> dict[str, float]:
        r"""The observations in log space, for states with a log scale.

        Every integral :math:`\int g(v)\,d\mu_d` is a sum of weights :math:`e^{l_k}` (nodal
        lumped masses or Gauss weights with ρ_d) times g at points where v may exceed the
        double range; where :math:`\ln v >` :data:`_LOG_LARGE` the terms are formed from
        :math:`e^{l_k + \ln v}`, the finite physical density ρ_0-like mass at the point.
        """
        op = self.operator
        lp = op.log1p_state(z)  # ln(1 + v) at the dofs
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            # ln v = ln(1+v) + ln(1 − e^{−ln(1+v)}), exact for large and small v > 0
            log_v_dofs = log_v_from_log1p(lp)
            if op.lumped:
                log_w = np.log(op._weights_hat) + op.log_target_at_dofs
                log_v = log_v_dofs
                v = self._state_to_v(z)
            else:
                log_w, log_v, v = self._quadrature_log_values(z, lp)
            large = log_v > _LOG_LARGE
            w = np.exp(log_w)
            wv = np.exp(log_w + log_v)  # the mass of u at the point, finite
            lp_pts = np.logaddexp(0.0, log_v)
            small_v = np.where(large, 0.0, np.maximum(v, 0.0))
            ln2 = math.log(2.0)
            jsd = np.where(
                large,
                0.5 * (wv * (ln2 + log_v - lp_pts) + w * (ln2 - lp_pts)),
                w * _jsd_density(small_v),
            )
            kl = np.where(
                large, wv * (log_v - 1.0) + w, w * (xlogy(small_v, small_v) - small_v + 1.0)
            )
            l1 = np.where(large, wv - w, w * np.abs(small_v - 1.0))
            mass = np.where(large, wv, w * np.where(large, 0.0, v))
            v_dofs = self._state_to_v(z)
            tiny = np.finfo(float).tiny
            positive = v_dofs > tiny
            phi = np.where(positive, lp, np.log1p(tiny))
            psi = np.where(positive, log_v_over_1p_v(phi), math.log(tiny))
        dissipation = 0.25 * op.dirichlet_form(psi, phi)
        return {
            "jsd": float(np.sum(jsd)),
            "kl": float(np.sum(kl)),
            "l1": float(np.sum(l1)),
            "mass": float(np.sum(mass)) if op.lumped else float(np.sum(self._mass_terms(z))),
            "dissipation": dissipation,
            "v_min": float(v_dofs.min()),
            "v_max": float(v_dofs.max()),
        }

    def _mass_terms(self, z: np.ndarray) -> np.ndarray:
        r"""The terms :math:`m_i v_i` of the conserved discrete mass :math:`\mathbf 1^\top Mv`."""
        op = self.operator
        lp = op.log1p_state(z)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            log_m = np.log(np.abs(op._weights_hat)) + op.log_target_at_dofs
            sign = np.sign(op._weights_hat)
            large = lp > _LOG_LARGE
            log_v = np.where(large, log_v_from_log1p(lp), 0.0)
            return sign * np.where(
                large,
                np.exp(log_m + log_v),
                np.exp(log_m) * np.where(large, 0.0, self._state_to_v(z)),
            )

    def _quadrature_log_values(self, z: np.ndarray, lp: np.ndarray) -> tuple[np.ndarray, ...]:
        r"""ln of the Gauss weights of μ_d, ln v and v at the quadrature points, for a
        consistent mass: per cell, v is interpolated as :math:`e^{A_e}\sum_j y_j\phi_j`
        with :math:`y_j = v_j e^{-A_e}`, :math:`A_e` the largest ln(1 + v) of the cell."""
        op = self.operator
        basis = op.basis
        dofs = basis.element_dofs  # (n local, n cells)
        lp_cells = np.nan_to_num(lp[dofs], nan=0.0)
        top = np.maximum(lp_cells.max(axis=0), 0.0)
        scaled = op.log_scale[dofs] > 0.0
        # y_j = v_j e^{-A_e}: from ln(1 + v) where v is scaled, from v = z elsewhere
        y_nodes = np.where(scaled, np.exp(lp_cells - top) - np.exp(-top), z[dofs] * np.exp(-top))
        y = sum(y_nodes[i][:, None] * np.asarray(basis.basis[i][0]) for i in range(dofs.shape[0]))
        log_v = np.where(y > 0.0, top[:, None] + np.log(np.where(y > 0.0, y, 1.0)), -np.inf)
        v = np.where(log_v > 709.0, np.inf, np.exp(np.minimum(log_v, 709.0)))
        v = np.where(y > 0.0, v, y * np.exp(np.minimum(top[:, None], 709.0)))
        log_w = op.log_target_at_quadrature + np.log(basis.dx)
        return log_w, log_v, v

    def _density_of_state(self, z: np.ndarray, log_scale: Any = "operator") -> MeshDensity:
        op = self.operator
        scale = op.log_scale if isinstance(log_scale, str) else _nonzero_or_none(log_scale)
        if scale is None:
            return self.density(z)
        lp = log1p_of_state(z, scale)
        u = np.exp(op.log_target_at_dofs + log_v_from_log1p(lp))
        return MeshDensity(op.basis, u, normalize=True)

    # ----------------------------------------------------------------------- stepping

    def solve(
        self,
        t_final: float,
        dt: float,
        *,
        save_times: Sequence[float] | np.ndarray | None = None,
        save_final: bool = True,
        scheme: str = "backward-euler",
        callback: Callable[[float, np.ndarray], None] | None = None,
        max_newton_iterations: int = 50,
        checkpoint: str | os.PathLike[str] | None = None,
        checkpoint_interval: float | None = 30.0,
        checkpoint_steps: int | None = None,
        resume: bool = False,
        trackers: Sequence[Tracker] = (),
    ) -> Trajectory:
        r"""Integrate the flow from t = 0 to ``t_final``.

        Steps of size ``dt`` on the grid :math:`k\,\Delta t`; a save time off the grid
        shortens the step that crosses it so that the solution lands exactly on it, and
        the last step ends at ``t_final`` (:func:`gan_pde.engine.time_grid`).  The time
        loop is :func:`gan_pde.engine.run` driving a :class:`JSDStepper`.

        Parameters
        ----------
        t_final
            Final time, > 0.
        dt
            Step, > 0 (any size: every step is unconditionally solvable).
        save_times
            Times in [0, t_final] at which to observe the solution (0 is always included,
            and so is ``t_final`` unless ``save_final=False``).  Default: every step.
        save_final
            Also save the final state, at ``t_final`` (default).  False saves only the
            ``save_times`` (and 0): the run still steps to ``t_final``, but a trajectory
            whose last save time lies before ``t_final`` then ends there.
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
            File to which the state of the run (step, v, Newton guess, the linear solver's
            factorised matrix, observations) is written atomically
            (:class:`gan_pde.engine.CheckpointTracker`) every ``checkpoint_interval``
            seconds of wall time and/or every ``checkpoint_steps`` steps, after the last
            step, and on a Ctrl-C inside a step.  None: no checkpoints.
        checkpoint_interval
            Seconds of wall time between checkpoints (0: after every step; None: by steps
            only).
        checkpoint_steps
            Steps between checkpoints (None: by wall time only).
        resume
            Continue from ``checkpoint`` if it exists (a missing file starts from t = 0).
            The resumed run takes the same steps from the same state, so its result is
            bit-identical to an uninterrupted run's; a checkpoint written with another
            mesh, densities, step, scheme or save times is refused, and so is one written
            before the stepping engine (issue 20).
        trackers
            More :class:`gan_pde.engine.Tracker` objects observing the run (invariants,
            a file of the save times, a stopping rule); they see v (:meth:`JSDStepper.view`).

        Returns
        -------
        Trajectory
            ``info`` holds the parameters, β, the engine's ``n_steps``, ``seconds``,
            ``resumed_from_step`` and ``stop_reason``, and ``versions``.

        Raises
        ------
        InvalidInputError
            For non-positive or non-finite ``t_final``/``dt``, save times outside
            [0, t_final] or NaN, an unknown scheme, a ``save_final`` that is not a bool,
            ``resume=True`` without ``checkpoint``.
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
        >>> flow.solve(10.0, 0.5, save_times=[0.0, 2.5]).times.tolist()  # t_final is saved
        [0.0, 2.5, 10.0]
        """
        if checkpoint_interval is not None:
            checkpoint_interval = as_non_negative(checkpoint_interval, "checkpoint_interval")
        stepper = JSDStepper(
            self,
            t_final,
            dt,
            save_times=save_times,
            save_final=save_final,
            scheme=scheme,
            max_newton_iterations=max_newton_iterations,
        )
        trackers = standard_trackers(
            callback=callback,
            checkpoint=checkpoint,
            checkpoint_interval=checkpoint_interval,
            checkpoint_steps=checkpoint_steps,
            resume=resume,
            trackers=trackers,
        )
        result = run(stepper, grid=(stepper.grid, stepper.saved), trackers=trackers, resume=resume)
        return stepper.trajectory(result)

    def _adaptive_step(
        self,
        z: np.ndarray,
        s: np.ndarray | None,
        t0: float,
        t1: float,
        number: int,
        scheme: str,
        max_iter: int,
        guess: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
        """One step t0 → t1; if a Newton solve fails, the step is taken as two halves
        (recursively, down to 2^-:data:`_MAX_HALVINGS` of it) before the run gives up.

        ``guess`` is Newton's start for the whole step (a prediction, see
        :class:`JSDStepper`); if Newton fails from it, the step is first retried from
        ``s`` (the last stage's solution), so a prediction never makes a step fail."""
        op = self.operator
        record = {"grad_v_integral": 0.0, "iterations": 0, "residual": 0.0, "substeps": 0}
        pending = [(t0, t1, 0)]
        while pending:
            a, b, depth = pending.pop()
            start = guess if guess is not None and (a, b) == (t0, t1) else s
            try:
                step = op.advance(
                    z, b - a, scheme=scheme, t=a, initial_guess=start, max_iter=max_iter
                )
            except (NotConvergedError, NumericalBreakdownError) as err:
                if start is not s:
                    logger.info("step %d: Newton failed from the predicted start; retrying "
                                "from the last solution", number)  # fmt: skip
                    guess = None
                    pending.append((a, b, depth))
                    continue
                # a failure from the step's own start state at 1/16 of the step: the
                # trouble is that state (an unresolved discretisation), not the step size
                hopeless = a == t0 and depth >= _MAX_HALVINGS_AT_START
                if depth >= _MAX_HALVINGS or hopeless:
                    variation = float(np.ptp(op.log_target_at_quadrature, axis=1).max())
                    msg = (
                        f"JSDFlow.solve: step {number} (t = {t0:.6g} -> {t1:.6g}) failed even "
                        f"as sub-steps of {b - a:.3g} (2^-{depth} of it), at t = {a:.6g}: "
                        f"{err}. ln(rho_d) varies by up to {variation:.1f} over one cell: "
                        "refine the mesh where the densities vary fastest (a variation "
                        "below about 5 per cell is resolved), use P1 with its lumped mass "
                        "(robust on coarse meshes), or raise max_newton_iterations"
                    )
                    raise NotConvergedError(msg) from err
                middle = a + 0.5 * (b - a)
                logger.info(
                    "step %d: Newton failed on [%.6g, %.6g]; retrying as two halves",
                    number,
                    a,
                    b,
                )
                pending += [(middle, b, depth + 1), (a, middle, depth + 1)]
                continue
            z, s = step.v, step.s
            record["grad_v_integral"] += step.grad_v_integral
            record["iterations"] += step.newton_iterations
            record["residual"] = max(record["residual"], step.newton_residual)
            record["substeps"] += 1
        return z, s, record


class JSDStepper(Stepper):
    r"""One time step of the JSD flow for :func:`gan_pde.engine.run` (what
    :meth:`JSDFlow.solve` drives).

    The state is the operator's state z (v itself unless a log scale is set), the Newton
    guess s of the next step (:math:`\ln(1+w)` of the last resolvent stage), its rate of
    change over the last step (backward Euler only: Newton then starts the next step from
    the linear extrapolation :math:`s + \Delta t\,\dot s`, whose residual is O(Δt²)
    instead of O(Δt), which saves one of the three Newton iterations a step of
    Δt = 0.01 needs to reach round-off; the extrapolation changes only where Newton starts,
    not what it converges to), the running
    :math:`\int_0^t\|\nabla v\|^2_{L^2(\mu_d)}ds` and the factorised matrix that Newton's
    linear solver reuses across steps (``lu_*``: the factorisation changes the refinement
    sweeps, hence the round-off, so a bit-identical resume restores it).  A step is
    :meth:`JSDFlow._adaptive_step`: the scheme's step, retried as halves where Newton
    fails.

    Parameters
    ----------
    flow
        The :class:`JSDFlow`.
    t_final, dt, save_times, save_final
        The time grid (:func:`gan_pde.engine.time_grid`); the stepper steps on
        :attr:`grid` only, so run it with ``grid=(stepper.grid, stepper.saved)``.
    scheme, max_newton_iterations
        As in :meth:`JSDFlow.solve`.

    Examples
    --------
    >>> import gan_pde as gp
    >>> from gan_pde.engine import run
    >>> flow = JSDFlow(gp.Gaussian(mean=[0.0], cov=[[1.0]]),
    ...                gp.Gaussian(mean=[1.0], cov=[[0.5]]), gp.mesh.interval(-8, 8, n=80))
    >>> stepper = JSDStepper(flow, 1.0, 0.25, save_times=[0.5])
    >>> traj = stepper.trajectory(run(stepper, grid=(stepper.grid, stepper.saved)))
    >>> traj.times.tolist(), traj.info["n_steps"]
    ([0.0, 0.5, 1.0], 4)
    """

    kind = "jsd_flow"

    def __init__(
        self,
        flow: JSDFlow,
        t_final: float,
        dt: float,
        *,
        save_times: Sequence[float] | np.ndarray | None = None,
        save_final: bool = True,
        scheme: str = "backward-euler",
        max_newton_iterations: int = 50,
    ) -> None:
        if not isinstance(flow, JSDFlow):
            msg = f"flow must be a JSDFlow; got {type(flow).__name__}"
            raise InvalidInputError(msg)
        self.flow = flow
        self.t_final = as_positive(t_final, "t_final")
        self.dt = as_positive(dt, "dt")
        if scheme not in SCHEMES:
            msg = f"scheme={scheme!r} is not one of {SCHEMES}"
            raise InvalidInputError(msg)
        self.scheme = scheme
        self.max_newton_iterations = as_positive_int(max_newton_iterations, "max_newton_iterations")
        self.save_final = as_flag(save_final, "save_final")
        #: Step end points and the saved mask (:func:`gan_pde.engine.time_grid`).
        self.grid, self.saved = time_grid(
            self.t_final, self.dt, save_times, save_final=self.save_final
        )

    def fingerprint(self) -> dict[str, Any]:
        op = self.flow.operator
        return {
            # checkpoints written before the engine (issue 20) lack it: refused by name
            "checkpoint_layout": "gan_pde.engine",
            "t_final": self.t_final,
            "dt": self.dt,
            "mesh": [op.mesh.p, op.mesh.t],
            "element": op.element,
            "lumped": bool(op.lumped),
            "log_target": op.log_target_at_dofs,
            "v0": self.flow._z0,
            # the scale of the initial state (a run may re-choose it: that one is state)
            "log_scale": np.zeros(0) if self.flow._log_scale0 is None else self.flow._log_scale0,
            "scheme": self.scheme,
            "max_newton_iterations": self.max_newton_iterations,
        }

    @property
    def _solver(self) -> Any:
        return self.flow.operator._linear_solver

    def initial_state(self) -> dict[str, Any]:
        # a fresh run starts without the factorisation an earlier solve left behind:
        # reusing it changes the refinement sweeps, so two solves of one flow differed
        # at 1e-14 (and a resume could not reproduce a run that followed another)
        a0 = self.flow._log_scale0
        op = self.flow.operator
        if a0 is not None and not _same_scale(op.log_scale, a0):
            op.set_log_scale(a0)  # an earlier run re-chose it
        self._solver.restore({"lu_indptr": np.empty(0, dtype=np.int64)})
        state = {"z": self.flow._z0.copy(), "s": None, "s_rate": None, "grad_v": 0.0}
        if a0 is not None:
            state["log_scale"] = a0
        return {**state, **self._solver.state()}

    def step(
        self, state: dict[str, Any], t: float, dt: float
    ) -> tuple[dict[str, Any], dict[str, float]]:
        n = int(np.searchsorted(self.grid, t))
        if n + 1 >= self.grid.size or self.grid[n] != t or self.grid[n + 1] - t != dt:
            msg = (
                f"JSDStepper steps on its own grid; got the step t = {t!r}, dt = {dt!r}: run "
                "it with grid=(stepper.grid, stepper.saved)"
            )
            raise InvalidInputError(msg)
        op = self.flow.operator
        z, a = state["z"], state.get("log_scale")
        if a is not None and not _same_scale(op.log_scale, a):
            # a step from a state of another scale (a resume, or a step repeated)
            op.set_log_scale(a)
        if self._solver.state()["lu_indptr"] is not state["lu_indptr"]:
            # a step from a state other than the last one taken: its own factorisation
            self._solver.restore(state)
        if a is not None:
            rescaled = self.flow._rescaled(z, a)
            if rescaled is not None:
                # z left its safe range: the same v in a new scale (the factorisation of
                # the old scaled Jacobian is dropped by set_log_scale)
                z, a = rescaled
                op.set_log_scale(a)
        t1 = float(self.grid[n + 1])
        previous, rate = state["s"], state.get("s_rate")
        guess = None if rate is None else previous + (t1 - t) * rate
        z, s, record = self.flow._adaptive_step(
            z, previous, t, t1, n + 1, self.scheme, self.max_newton_iterations, guess
        )
        logger.debug("step %d: t = %.6g, %d Newton iterations", n + 1, t1, record["iterations"])
        predict = self.scheme == "backward-euler" and previous is not None
        new = {
            "z": z,
            "s": s,
            "s_rate": (s - previous) / (t1 - t) if predict else None,
            "grad_v": state["grad_v"] + record["grad_v_integral"],
        }
        if a is not None:
            new["log_scale"] = a
        return {**new, **self._solver.state()}, record

    def observe(self, state: dict[str, Any], t: float) -> dict[str, Any]:
        z = state["z"]
        scale = {} if "log_scale" not in state else {"log_scale": state["log_scale"]}
        return {"z": z, **scale, **self.flow._observe(z), "grad_v_integral": state["grad_v"]}

    def view(self, state: dict[str, Any]) -> np.ndarray:
        """v at the dofs (what callbacks and trackers receive)."""
        return self.flow._state_to_v(state["z"])

    def state_arrays(self, state: dict[str, Any]) -> dict[str, Any]:
        s, rate = state["s"], state.get("s_rate")
        return {
            **state,
            "s": np.empty(0) if s is None else s,
            "s_rate": np.empty(0) if rate is None else rate,
            "linear_solver": np.array(self._solver.solver.name),
        }

    def load_state(self, arrays: Mapping[str, np.ndarray]) -> dict[str, Any]:
        check_resumed_backend(arrays, self._solver.solver.name, "JSDFlow.solve")
        state: dict[str, Any] = {}
        a0 = self.flow._log_scale0
        if a0 is not None:
            # checkpoints written before the scale could change during a run lack it: a0
            a = np.array(arrays["log_scale"]) if "log_scale" in arrays else a0
            self.flow.operator.set_log_scale(a)  # before the solver's factorisation
            state["log_scale"] = a
        self._solver.restore(arrays)
        s = np.array(arrays["s"])
        # checkpoints written before the prediction have no rate: the next step then
        # starts from s, as it did when they were written
        rate = np.array(arrays["s_rate"]) if "s_rate" in arrays else np.empty(0)
        return {
            "z": np.array(arrays["z"]),
            "s": s if s.size else None,
            "s_rate": rate if rate.size else None,
            "grad_v": float(arrays["grad_v"]),
            **state,
            **self._solver.state(),
        }

    def trajectory(self, result: EngineResult) -> Trajectory:
        """The :class:`Trajectory` of a run of this stepper."""
        flow, op = self.flow, self.flow.operator
        snapshots = list(result.observations["z"])
        scales: list[np.ndarray | None] = [None] * len(snapshots)
        if flow._log_scale0 is not None:
            # each snapshot's own scale; a checkpoint written before the scale could change
            # during a run has none for its saves, which all had the initial scale
            own = list(result.observations.get("log_scale", []))
            scales = [flow._log_scale0] * (len(snapshots) - len(own)) + own
        iterations = result.records["iterations"].astype(np.int64)
        residuals = result.records["residual"]
        substeps = result.records["substeps"].astype(np.int64)
        logger.info(
            "JSD flow: %d steps (%s), %d Newton iterations, %.3f s",
            result.info["n_steps"],
            self.scheme,
            int(iterations.sum()),
            result.info["seconds"],
        )
        info = {
            **flow.info,
            "t_final": self.t_final,
            "dt": self.dt,
            "scheme": self.scheme,
            "save_final": self.save_final,
            **result.info,
            "newton_iterations_total": int(iterations.sum()),
            "newton_residual_max": float(residuals.max(initial=0.0)),
            "substeps_total": int(substeps.sum()),
            # the backend of the Newton solves, its factor and the sweep counts
            "linear_solver": op.solver_provenance(),
            "versions": versions(),
        }
        return Trajectory(
            times=result.times,
            **{key: result.observations[key] for key in _SCALARS},
            v=[flow._state_to_v(x, a) for x, a in zip(snapshots, scales, strict=True)],
            densities=[
                flow._density_of_state(x, a) for x, a in zip(snapshots, scales, strict=True)
            ],
            step_times=result.step_times,
            newton_iterations=iterations,
            newton_residuals=residuals,
            substeps=substeps,
            log1p_v=[log1p_of_state(x, a) for x, a in zip(snapshots, scales, strict=True)],
            info=info,
        )


def _same_scale(current: np.ndarray | None, scale: np.ndarray) -> bool:
    """Whether the operator's log scale ``current`` is ``scale`` (None: all zeros)."""
    if current is None:
        return not np.any(scale != 0.0)
    return current is scale or np.array_equal(current, scale)


def _nonzero_or_none(scale: np.ndarray | None) -> np.ndarray | None:
    """A log scale, None where it is 0 everywhere (the plain representation)."""
    return None if scale is None or not np.any(scale != 0.0) else scale


def _exp_or_inf(x: float) -> float:
    """e^x, or +inf beyond the double range (no overflow warning)."""
    return math.exp(x) if x < 709.7 else math.inf


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
