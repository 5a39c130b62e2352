r"""Independent reference computations for the JSD-flow checks (paper 002).

Nothing here imports the package's densities, meshes, finite elements or flows: the target
and the initial density are 1D Gaussian mixtures evaluated by the formulas below, and the
two solvers are written from scratch with a different method from the code under test.

* :func:`schroedinger_eigenvalues`: the eigenvalues of the weighted Laplacian
  :math:`-\Delta_\mu w = \xi w` on an interval with no-flux ends, in Schrödinger form.  With
  :math:`w = \rho^{-1/2}\psi` the problem :math:`-(\rho w')' = \xi\rho w` becomes
  :math:`-\psi'' + V\psi = \xi\psi`,
  :math:`V = (\sqrt\rho)''/\sqrt\rho = \tfrac12\rho''/\rho - \tfrac14(\rho'/\rho)^2`, solved
  by the three-point finite difference (order h²) on a uniform grid with ψ = 0 at the ends
  (ψ = √ρ w is ~√ρ there: the Dirichlet and the no-flux problems differ by about
  ρ(ends)/max ρ, far below round-off for the intervals used) as a symmetric tridiagonal
  eigenproblem; :func:`richardson` extrapolates two grids.
* :func:`fv_flow`: the JSD flow :math:`v_t = \tfrac12\Delta_\mu\ln(1+v)` in its conservative
  form :math:`u_t = \tfrac12(\rho\,(\ln(1 + u/\rho))')'` (u = ρv; paper 002 (6)-(7)) by a
  cell-centred finite-volume scheme (order h²): unknowns at cell centres (the package's P1
  unknowns sit at the vertices), cell masses ρ(x_c)h (midpoint rule) and face conductances
  ρ(x_f)/h (point values at the faces; the package integrates ρ over cells by Gauss
  quadrature), zero flux through the two end faces, backward Euler in time, each step solved
  by Newton in s = ln(1 + v) with banded LU.  It reports the quantities of the package's
  ``Trajectory`` with its own quadratures.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.linalg

__all__ = [
    "FVResult",
    "Mixture1D",
    "fv_flow",
    "jsd_density",
    "richardson",
    "schroedinger_eigenvalues",
]


@dataclass(frozen=True)
class Mixture1D:
    """A 1D Gaussian mixture sum_k w_k N(m_k, s_k^2), evaluated in log space."""

    weights: tuple[float, ...]
    means: tuple[float, ...]
    stds: tuple[float, ...]

    def _terms(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        x = np.asarray(x, dtype=float)[..., None]
        w, m, s = (np.asarray(a, dtype=float) for a in (self.weights, self.means, self.stds))
        z = (x - m) / s
        log_terms = np.log(w) - 0.5 * z**2 - np.log(s) - 0.5 * math.log(2.0 * math.pi)
        top = log_terms.max(axis=-1, keepdims=True)
        log_rho = top[..., 0] + np.log(np.exp(log_terms - top).sum(axis=-1))
        responsibilities = np.exp(log_terms - log_rho[..., None])
        return log_rho, responsibilities, z, s

    def log_pdf(self, x: np.ndarray) -> np.ndarray:
        """ln rho(x)."""
        return self._terms(x)[0]

    def potential(self, x: np.ndarray) -> np.ndarray:
        r"""The Schrödinger potential :math:`V = \tfrac12\rho''/\rho - \tfrac14(\rho'/\rho)^2`
        (:math:`\rho'/\rho = \sum_k r_k g_k`, :math:`\rho''/\rho = \sum_k r_k(g_k^2 - s_k^{-2})`,
        :math:`g_k = -(x - m_k)/s_k^2`, r_k the responsibilities)."""
        _, r, z, s = self._terms(x)
        g = -z / s
        first = np.sum(r * g, axis=-1)
        second = np.sum(r * (g**2 - 1.0 / s**2), axis=-1)
        return 0.5 * second - 0.25 * first**2


def jsd_density(v: np.ndarray) -> np.ndarray:
    r""":math:`j(v) = \tfrac12[v\ln\frac{2v}{1+v} + \ln\frac{2}{1+v}]`, with
    :math:`\ln\frac{2v}{1+v} = \mathrm{log1p}(r)`, :math:`\ln\frac{2}{1+v} = \mathrm{log1p}(-r)`,
    r = (v−1)/(v+1) (accurate near v = 1; v ln(2v/(1+v)) → 0 as v → 0)."""
    v = np.asarray(v, dtype=float)
    r = (v - 1.0) / (v + 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        first = np.where(v > 0.0, v * np.log1p(r), 0.0)
    return 0.5 * (first + np.log1p(-r))


def richardson(coarse: np.ndarray, fine: np.ndarray, order: float) -> np.ndarray:
    """The Richardson extrapolation of values on the meshes h and h/2 at the given order."""
    factor = 2.0**order
    return (factor * np.asarray(fine) - np.asarray(coarse)) / (factor - 1.0)


def schroedinger_eigenvalues(
    density: Mixture1D, lower: float, upper: float, intervals: int, k: int = 3
) -> np.ndarray:
    r"""The k smallest eigenvalues of :math:`-\Delta_\mu` on [lower, upper] (no flux), by the
    three-point finite difference of the Schrödinger form (module documentation).

    The smallest is 0 (ψ = √ρ) up to the O(h²) error of the difference quotient; the next
    is the Poincaré constant ξ_min.
    """
    h = (upper - lower) / intervals
    x = lower + h * np.arange(1, intervals)
    diagonal = 2.0 / h**2 + density.potential(x)
    off = np.full(intervals - 2, -1.0 / h**2)
    return scipy.linalg.eigh_tridiagonal(
        diagonal, off, eigvals_only=True, select="i", select_range=(0, k - 1)
    )


@dataclass(frozen=True)
class FVResult:
    r"""The reference flow observed after every step (index 0: t = 0).

    ``jsd``, ``kl``, ``l1``, ``mass``, ``dissipation``, ``grad_v_integral``, ``v_min``,
    ``v_max`` as in the package's ``Trajectory``, by the scheme's own quadratures:
    cell sums with the masses :math:`\mu_c = \rho(x_c)h` and face sums with the
    conductances :math:`\kappa_f = \rho(x_f)/h` (ρ normalised by :math:`\sum_c\mu_c = 1`);
    ``v`` the cell values at ``times``, ``centres`` the cell centres.
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
    v: np.ndarray
    centres: np.ndarray
    newton_iterations: int


def fv_flow(
    target: Mixture1D,
    initial: Mixture1D,
    lower: float,
    upper: float,
    cells: int,
    dt: float,
    steps: int,
    *,
    tol: float = 1e-14,
    max_iter: int = 30,
) -> FVResult:
    r"""Backward-Euler finite-volume solution of the JSD flow (module documentation).

    Step: :math:`\mu_c(v^{+}_c - v_c) = \tfrac{\Delta t}{2}\bigl[\kappa_{c+1/2}(s_{c+1} - s_c)
    - \kappa_{c-1/2}(s_c - s_{c-1})\bigr]` with :math:`s = \ln(1 + v^+)`, i.e. Newton on
    :math:`e^{s_c} + \tfrac{\Delta t}{2\mu_c}(Ls)_c = 1 + v_c` (each row divided by μ_c);
    the new state is :math:`v^+ = v - \tfrac{\Delta t}{2\mu}Ls`, which conserves
    :math:`\sum_c\mu_c v_c` exactly in exact arithmetic for any s.
    """
    h = (upper - lower) / cells
    centres = lower + h * (np.arange(cells) + 0.5)
    faces = lower + h * np.arange(1, cells)  # interior faces; the two end faces carry no flux
    log_rho_c = target.log_pdf(centres)
    log_rho_f = target.log_pdf(faces)
    shift = log_rho_c.max()
    norm = shift + math.log(h * np.exp(log_rho_c - shift).sum())
    mu = h * np.exp(log_rho_c - norm)
    kappa = np.exp(log_rho_f - norm) / h
    log_ratio = initial.log_pdf(centres) - (log_rho_c - norm)
    v = np.exp(log_ratio - log_ratio.max())
    v /= mu @ v

    # L s: (Ls)_c = sum over the faces of c of kappa_f (s_c - s_neighbour)
    left = np.concatenate([[0.0], kappa])  # conductance of the face left of cell c
    right = np.concatenate([kappa, [0.0]])
    coefficient = 0.5 * dt / mu

    def apply(s: np.ndarray) -> np.ndarray:
        ds = np.diff(s)  # s_{c+1} - s_c across interior faces
        flux = kappa * ds
        out = np.zeros_like(s)
        out[:-1] -= flux
        out[1:] += flux
        return out  # = L s

    def observe(w: np.ndarray) -> dict[str, float]:
        x = np.maximum(w, np.finfo(float).tiny)
        phi = np.log1p(x)
        psi = np.log(x) - phi
        with np.errstate(divide="ignore", invalid="ignore"):
            vlogv = np.where(w > 0.0, w * np.log(x), 0.0)
        return {
            "jsd": float(mu @ jsd_density(np.maximum(w, 0.0))),
            "kl": float(mu @ (vlogv - w + 1.0)),
            "l1": float(mu @ np.abs(w - 1.0)),
            "mass": float(mu @ w),
            "dissipation": 0.25 * float(kappa @ (np.diff(psi) * np.diff(phi))),
            "v_min": float(w.min()),
            "v_max": float(w.max()),
        }

    records = {key: [value] for key, value in observe(v).items()}
    grad = [0.0]
    total_iterations = 0
    banded = np.zeros((3, cells))

    def scaled(s: np.ndarray, residual: np.ndarray) -> float:
        # each equation against the terms that cancel in it (a backward error)
        ds = np.abs(np.diff(s))
        size = np.zeros_like(s)
        size[:-1] += kappa * ds
        size[1:] += kappa * ds
        return float(np.max(np.abs(residual) / (np.exp(s) + rhs + coefficient * size)))

    for _ in range(steps):
        s = np.log1p(v)
        rhs = 1.0 + v
        residual = np.exp(s) + coefficient * apply(s) - rhs
        norm = scaled(s, residual)
        for _iteration in range(max_iter):
            if norm <= tol:
                break
            banded[0, 1:] = -coefficient[:-1] * right[:-1]
            banded[1] = np.exp(s) + coefficient * (left + right)
            banded[2, :-1] = -coefficient[1:] * left[1:]
            step = scipy.linalg.solve_banded((1, 1), banded, -residual)
            length = 1.0
            while True:
                trial = s + length * step
                trial_residual = np.exp(trial) + coefficient * apply(trial) - rhs
                trial_norm = scaled(trial, trial_residual)
                if trial_norm < norm or length < 1e-3:
                    break
                length *= 0.5
            if not trial_norm < norm:
                break  # stagnation at round-off
            s, residual, norm = trial, trial_residual, trial_norm
            total_iterations += 1
        if norm > 1e3 * tol:
            msg = f"reference Newton did not converge (scaled residual {norm:.3g})"
            raise RuntimeError(msg)
        v = v - coefficient * apply(s)
        grad.append(grad[-1] + dt * float(kappa @ np.diff(v) ** 2))
        for key, value in observe(v).items():
            records[key].append(value)
    return FVResult(
        times=dt * np.arange(steps + 1),
        grad_v_integral=np.array(grad),
        v=v,
        centres=centres,
        newton_iterations=total_iterations,
        **{key: np.array(values) for key, values in records.items()},
    )
