r"""Stress cases for ``weighted_laplacian_spectrum`` in 1D: random Gaussian mixtures.

Each case is a mixture of 1–4 Gaussians (random means with gaps of up to ~8 standard
deviations, random standard deviations and weights) on an interval reaching 6–10 standard
deviations past the outermost components, P1 or P2, on a coarse or a fine uniform mesh.

**Reference** (independent of the package: no FEM, no scikit-fem).  A cell-centred
finite-volume discretisation of the same Sturm–Liouville problem on the same interval,

.. math::

    -(\rho u')' = \xi\rho u \ \text{on } (a, b), \qquad \rho u' = 0 \ \text{at } a, b,

with ρ at the cell centres and faces and zero flux through the end faces.  With
:math:`D = \mathrm{diag}(\rho_i)` its symmetric form :math:`D^{-1/2}KD^{-1/2}` equals
:math:`G^\top G` for the bidiagonal :math:`G = W^{1/2}BD^{-1/2}` (B the differences,
W the face weights), whose entries are ratios :math:`\sqrt{\rho_{i+1/2}/\rho_i}/h`, so
nothing under- or overflows.  The eigenvalues are the squared singular values of G,
computed by bisection on its Golub–Kahan form (zero diagonal) with an absolute tolerance
at the underflow threshold, which gives every singular value to high *relative* accuracy
(Demmel & Kahan 1990): ξ_min ~ 1e-4 is not swamped by the O(eps/h²) absolute round-off
of a plain tridiagonal solve.  Three grids (n, 2n, 4n; the scheme is O(h²)) are
Richardson-extrapolated; the difference of the two extrapolations bounds the reference
error (it overestimates it by ≥ 15× for an O(h²)-then-O(h⁴) expansion, and still bounds
it when the h² term vanishes, as it does for a single Gaussian).

**Checks** for each eigenvalue ξ_j,h of the package (j ≥ 1), both derived from the
min–max principle for the *conforming* FEM space V_h:

- lower: ξ_j,h ≥ ξ_j (conforming Galerkin never goes below), up to the reference error,
  the quadrature effect q_j and the round-off allowance;
- upper: ξ_j,h ≤ μ_j, the j-th Rayleigh–Ritz value of the span of the P1/P2 nodal
  interpolants of the reference eigenfunctions 0..k-1 (a k-dimensional subspace of V_h,
  so Cauchy interlacing gives ξ_j,h ≤ μ_j).  μ_j is computed with 3-point Gauss on every
  cell of the finest reference grid (whose faces contain the FEM nodes): its error is
  O(h_f⁶) relative, far below any window.  μ_j − ξ_j is the interpolation error of the
  eigenfunctions: O(h²) for P1 and O(h⁴) for P2, so the window shrinks with the mesh at
  the orders of the theory and is the actual size of the discretisation error
  (measured: the package's error is 0.98–1.0 of it for P1, 0.5–1.0 for P2; metric
  "xi_j position in window", 0 = lower end, 1 = upper end).

The package integrates its weighted forms with p+1 Gauss points per cell, which perturbs
ξ_j,h by an amount that neither bound covers; q_j is twice the change of μ_j when its
forms are integrated with that same rule (a first-order estimate of the same
perturbation, computed here independently of the package), plus the eigenfunction-weighted
average of the relative error of that rule on e^{ln ρ} over each cell.

**Outcomes.**  About 10% of the full cases use under-resolved meshes (cells of 1.5–4
σ_min).  A result outside the window is ``wrong`` unless the package issued an
``AccuracyWarning`` (then ``refused``).  The documented refusal of an unresolved weight
(``InvalidInputError``: a mode with most of its mass on cells where ln ρ varies by > 10)
is ``refused`` if ln ρ does vary by > 10 over the p+1 Gauss points of some cell (computed
here), else ``wrong``; the unchecked pencil (``max_log_variation=None``) is compared with
the window to record whether the refused mode was spurious or a true, unresolved one.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import scipy.linalg as sl
from campaign import Checks, Outcome, ok, refused, wrong

import gan_pde as gp
from gan_pde.errors import AccuracyWarning, GanPdeError, InvalidInputError

SOLVER = "spectrum-1d"
DESCRIPTION = (
    "weighted_laplacian_spectrum on random 1D Gaussian mixtures (1–4 components, gaps up "
    "to 8σ), P1/P2, coarse to fine meshes"
)
CHECKS = (
    "independent finite-volume Sturm–Liouville reference (relative-accuracy bisection, "
    "Richardson) and min–max window [ξ_j, Ritz value of interpolated eigenfunctions]"
)
FULL_COUNT = 300
CI_COUNT = 10

#: Underflow threshold: the bisection tolerance that gives relative accuracy (LAPACK stebz).
_TINY = 2 * np.finfo(float).tiny
#: Round-off allowance, relative to the largest eigenvalue ~12 p²/h² of the FEM pencil: the
#: eigen-solvers' backward errors are ~1e-15 (checked < 1e-8 inside the package), and an
#: eigenvalue moves by at most (backward error) × (pencil scale); 1e-14 is 50 eps.
_ROUND_OFF = 1e-14


# ---------------------------------------------------------------- the density


def log_mixture(x: np.ndarray, means, stds, weights) -> np.ndarray:
    """ln ρ of a 1D Gaussian mixture (up to a constant), by a stable log-sum-exp."""
    x = np.asarray(x, dtype=float)
    m, s, w = (np.asarray(v, dtype=float)[:, None] for v in (means, stds, weights))
    logs = np.log(w) - np.log(s) - 0.5 * ((x.ravel()[None, :] - m) / s) ** 2
    top = logs.max(axis=0)
    return (top + np.log(np.exp(logs - top).sum(axis=0))).reshape(x.shape)


# ---------------------------------------------------------------- the reference


def _fv_pencil(logrho, a: float, b: float, n: int):
    """Cell centres, ln ρ at centres and inner faces, and the bidiagonal entries of G."""
    h = (b - a) / n
    centres = a + (np.arange(n) + 0.5) * h
    faces = a + np.arange(1, n) * h
    lc, lf = logrho(centres), logrho(faces)
    diag = np.sqrt(np.exp(lf - lc[:-1])) / h  # |G[i, i]|
    upper = np.sqrt(np.exp(lf - lc[1:])) / h  # G[i, i + 1]
    return centres, lc, lf, diag, upper, h


def fv_eigenvalues(logrho, a: float, b: float, n: int, k: int) -> np.ndarray:
    """The k smallest eigenvalues of the finite-volume problem on n cells (ascending)."""
    _, _, _, diag, upper, _ = _fv_pencil(logrho, a, b, n)
    off = np.empty(2 * n - 2)
    off[0::2], off[1::2] = diag, upper
    # Golub–Kahan form of the (n-1) x n bidiagonal G: eigenvalues ±σ_i and one 0; the
    # non-negative ones are at indices n-1 .. 2n-2
    sigma = sl.eigh_tridiagonal(
        np.zeros(2 * n - 1),
        off,
        eigvals_only=True,
        select="i",
        select_range=(n - 1, n - 2 + k),
        lapack_driver="stebz",
        tol=_TINY,
    )
    return np.sort(np.abs(sigma)) ** 2


def fv_eigenvectors(logrho, a: float, b: float, n: int, k: int):
    """Eigenfunctions u = D^{-1/2} y of the finite-volume problem at the cell centres."""
    centres, lc, _, diag, upper, h = _fv_pencil(logrho, a, b, n)
    d = np.zeros(n)
    d[:-1] += diag**2
    d[1:] += upper**2
    _, y = sl.eigh_tridiagonal(d, -diag * upper, select="i", select_range=(0, k - 1))
    # ρ relative to its maximum; the tails are amplified, but only ever enter weighted by ρ
    u = y * np.exp(np.minimum(-0.5 * (lc - lc.max()), 600.0))[:, None]
    return centres, u, h


def reference_spectrum(logrho, a: float, b: float, k: int, n: int):
    """Richardson-extrapolated reference eigenvalues and a bound of their error."""
    f1, f2, f3 = (fv_eigenvalues(logrho, a, b, m * n, k) for m in (1, 2, 4))
    e1, e2 = (4 * f2 - f1) / 3, (4 * f3 - f2) / 3
    # |e1 - e2| bounds the error of e2 (see the module docstring); the floor is the
    # relative accuracy of bisection times the accumulation over 4n entries
    return e2, np.abs(e1 - e2) + 1e-13 * np.abs(e2)


def _face_values(u: np.ndarray) -> np.ndarray:
    """Values at the n+1 faces from values at the n cell centres (4-point cubic, O(h⁴))."""
    n = u.shape[0]
    out = np.empty((n + 1, *u.shape[1:]))
    out[2:-2] = (-u[:-3] + 9 * u[1:-2] + 9 * u[2:-1] - u[3:]) / 16
    out[1] = (5 * u[0] + 15 * u[1] - 5 * u[2] + u[3]) / 16
    out[-2] = (5 * u[-1] + 15 * u[-2] - 5 * u[-3] + u[-4]) / 16
    out[0] = (35 * u[0] - 35 * u[1] + 21 * u[2] - 5 * u[3]) / 16
    out[-1] = (35 * u[-1] - 35 * u[-2] + 21 * u[-3] - 5 * u[-4]) / 16
    return out


def _interpolant(nodes: np.ndarray, order: int, cell: np.ndarray, t: np.ndarray, width: float):
    """Values and derivatives of the P1/P2 nodal interpolant at local coordinates t."""
    t = t[:, None]
    if order == 1:
        left, right = nodes[cell], nodes[cell + 1]
        return left * (1 - t) + right * t, (right - left) / width
    p0, pm, p1 = nodes[2 * cell], nodes[2 * cell + 1], nodes[2 * cell + 2]
    values = p0 * (2 * t - 1) * (t - 1) + pm * 4 * t * (1 - t) + p1 * t * (2 * t - 1)
    slopes = (p0 * (4 * t - 3) + pm * (4 - 8 * t) + p1 * (4 * t - 1)) / width
    return values, slopes


def gauss_relative_error(points: int, variation: np.ndarray) -> np.ndarray:
    """Relative error of the ``points``-point Gauss rule for ∫_0^1 e^{Δt} dt, Δ = variation:
    how far the rule is from the integral of an exponential weight that changes by e^Δ
    over the cell (leading term Δ^{2n}(n!)^4/((2n+1)((2n)!)^3) for small Δ)."""
    x_ref, w_ref = np.polynomial.legendre.leggauss(points)
    d = np.maximum(np.asarray(variation, dtype=float), 1e-8)[:, None]
    # relative to the exact integral (e^Δ - 1)/Δ, with the rule evaluated as e^{Δ(t-1)}
    rule = 0.5 * np.sum(w_ref * np.exp(d * (0.5 * (x_ref + 1) - 1.0)), axis=1)
    exact = -np.expm1(-d[:, 0]) / d[:, 0]
    return np.abs(rule - exact) / exact


def ritz_values(logrho, a: float, b: float, n_cells: int, order: int, k: int, n_fine: int):
    """Rayleigh–Ritz values of the span of the interpolated reference eigenfunctions.

    Returns ``(mu_exact, mu_quad, quad_share)``: the forms integrated accurately (3-point
    Gauss on each of the ``n_fine`` reference cells, ``n_fine`` a multiple of
    ``2 n_cells`` so that no reference cell straddles a FEM node or P2 midpoint), with the
    package's rule (``order + 1`` Gauss points per FEM cell), and per eigenfunction the
    average over the FEM cells of :func:`gauss_relative_error` of the package's rule,
    weighted by the cell's share of the eigenfunction's weighted energy and mass.
    """
    _, u, _ = fv_eigenvectors(logrho, a, b, n_fine, k)
    nodes = _face_values(u)[:: n_fine // (order * n_cells)]
    width = (b - a) / n_cells

    def forms(points_per_cell: int, cells: int):
        x_ref, w_ref = np.polynomial.legendre.leggauss(points_per_cell)
        size = (b - a) / cells
        x = (a + size * (np.arange(cells)[:, None] + 0.5 * (x_ref[None, :] + 1))).ravel()
        weights = np.tile(0.5 * size * w_ref, cells)
        logs = logrho(x)
        weights = weights * np.exp(logs - logs.max())
        fem_cell = np.minimum(((x - a) / width).astype(int), n_cells - 1)
        t = (x - a) / width - fem_cell
        values, slopes = _interpolant(nodes, order, fem_cell, t, width)
        stiffness = (slopes * weights[:, None]).T @ slopes
        mass = (values * weights[:, None]).T @ values
        parts = weights[:, None] * (
            slopes**2 / np.diag(stiffness).clip(1e-300) + values**2 / np.diag(mass)
        )
        share = np.zeros((n_cells, k))
        np.add.at(share, fem_cell, 0.5 * parts)
        return sl.eigh(stiffness, mass, eigvals_only=True), share, logs.reshape(cells, -1)

    mu, share, fine_logs = forms(3, n_fine)
    mu_quad, _, _ = forms(order + 1, n_cells)
    per = n_fine // n_cells
    variation = np.ptp(fine_logs.reshape(n_cells, per * 3), axis=1)
    quad_share = gauss_relative_error(order + 1, variation) @ share
    return mu, mu_quad, quad_share


# ---------------------------------------------------------------- cases


def cases(rng: np.random.Generator, n: int, scale: str) -> list[dict[str, Any]]:
    out = []
    for _ in range(n):
        components = int(rng.integers(1, 5 if scale == "full" else 4))
        stds = np.exp(rng.uniform(np.log(0.3), np.log(2.0), components))
        # gaps between neighbouring means in units of the pair's mean std: 0 (overlap) to 8
        gaps = rng.uniform(0.0, 8.0 if scale == "full" else 6.0, components - 1)
        means = np.concatenate([[0.0], np.cumsum(gaps * 0.5 * (stds[:-1] + stds[1:]))])
        means += rng.uniform(-3.0, 3.0) - means.mean()
        weights = rng.dirichlet(np.ones(components)) * 0.85 + 0.15 / components
        order = int(rng.integers(1, 3))
        # mesh size relative to the narrowest component: coarse to fine; P2 can go coarser
        largest = {1: 0.5, 2: 1.0}[order] if scale == "full" else {1: 0.3, 2: 0.6}[order]
        smallest = 0.03 if scale == "full" else 0.08
        h_rel = float(np.exp(rng.uniform(np.log(smallest), np.log(largest))))
        if scale == "full" and rng.random() < 0.1:
            # under-resolved meshes (cells of 1.5-4 σ_min): the package must refuse,
            # warn, or still be right; a silent wrong answer is a failure
            h_rel = float(rng.uniform(1.5, 4.0))
        reach = float(rng.uniform(6.0, 10.0))
        span = np.max(means + reach * stds) - np.min(means - reach * stds)
        dofs = order * int(np.ceil(span / (h_rel * stds.min()))) + 1
        # dense eigh is O(n³): only where "auto" would also consider it
        methods = ["auto", "auto", "shift-invert"] + (["dense"] if dofs <= 2000 else [])
        out.append(
            {
                "means": [float(v) for v in means],
                "stds": [float(v) for v in stds],
                "weights": [float(v) for v in weights / weights.sum()],
                "element": f"P{order}",
                "h_over_std": h_rel,
                "reach": reach,
                "k": int(rng.integers(3, 7)),
                "method": str(rng.choice(methods)),
            }
        )
    return out


def _domain(case: dict[str, Any]) -> tuple[float, float, int]:
    means, stds = np.array(case["means"]), np.array(case["stds"])
    a = float(np.min(means - case["reach"] * stds))
    b = float(np.max(means + case["reach"] * stds))
    n_cells = int(np.ceil((b - a) / (case["h_over_std"] * stds.min())))
    return a, b, n_cells


# ---------------------------------------------------------------- one case


def _solve(rho, mesh, case, **options):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", AccuracyWarning)
        spec = gp.weighted_laplacian_spectrum(
            rho, mesh, k=case["k"], element=case["element"], method=case["method"], **options
        )
    messages = [str(w.message) for w in caught if issubclass(w.category, AccuracyWarning)]
    return spec.eigenvalues, messages


def check_window(values, reference, ref_error, mu, mu_quad, quad_share, scale) -> Checks:
    """The min–max window of the module docstring, eigenvalue by eigenvalue."""
    checks = Checks()
    checks.true(bool(np.all(np.isfinite(values))), "eigenvalues are finite")
    checks.true(bool(np.all(np.diff(values) >= 0)), "eigenvalues ascending")
    round_off = _ROUND_OFF * scale
    checks.less(abs(values[0]), round_off, "|xi_0| (constants)")
    worst = 0.0
    for j in range(1, values.size):
        # the quadrature effect: twice its first-order estimate on the Ritz subspace, plus
        # the relative perturbation of the cell forms averaged with the eigenfunction's
        # weights (a bound of the Rayleigh quotient's change if every cell form moves by
        # its rule's relative error on e^{ln rho}); both are O(h^{2p+2})
        quadrature = 2.0 * abs(mu_quad[j] - mu[j]) + reference[j] * max(quad_share[: j + 1])
        low = reference[j] - ref_error[j] - quadrature - round_off
        high = mu[j] + quadrature + round_off
        width = max(high - low, 1e-300)
        checks.less(low - values[j], 0.0, f"xi_{j} below window by")
        checks.less(values[j] - high, 0.0, f"xi_{j} above window by")
        worst = max(worst, abs(values[j] - reference[j]) / reference[j])
        checks.metrics[f"xi_{j} position in window"] = float((values[j] - low) / width)
    checks.metrics["max relative error"] = worst
    return checks


def run(case: dict[str, Any]) -> Outcome:
    a, b, n_cells = _domain(case)
    k, order = case["k"], int(case["element"][1])
    rho = gp.GaussianMixture(
        means=[[m] for m in case["means"]], stds=case["stds"], weights=case["weights"]
    )

    def logrho(x):
        return log_mixture(x, case["means"], case["stds"], case["weights"])

    # reference grid: >= 1500 cells, a multiple of 2 n_cells so that FEM nodes and P2
    # midpoints lie on reference faces (for the Ritz values)
    per_cell = max(2, 2 * int(np.ceil(1500 / (2 * n_cells))))
    reference, ref_error = reference_spectrum(logrho, a, b, k, per_cell * n_cells)
    mu, mu_quad, quad_share = ritz_values(logrho, a, b, n_cells, order, k, 4 * per_cell * n_cells)
    # largest eigenvalue of the unweighted P1/P2 pencil on cells of width h: 12/h² (P1),
    # 60/h² (P2)
    scale = (12.0 if order == 1 else 60.0) * (n_cells / (b - a)) ** 2
    mesh = gp.mesh.interval(a, b, n=n_cells)
    metrics = {"n_cells": n_cells, "xi_min_reference": float(reference[1])}
    try:
        values, warned = _solve(rho, mesh, case)
    except InvalidInputError as err:
        if "not resolved by the mesh" not in str(err):
            raise
        # the documented refusal of an unresolved weight: justified where ln ρ varies by
        # more than MAX_LOG_VARIATION = 10 over the p+1 Gauss points of some cell
        # (computed here); the unchecked pencil says whether the refused mode was spurious
        gauss, _ = np.polynomial.legendre.leggauss(order + 1)
        width = (b - a) / n_cells
        points = a + width * (np.arange(n_cells)[:, None] + 0.5 * (gauss[None, :] + 1))
        variation = float(np.max(np.ptp(logrho(points.ravel()).reshape(n_cells, -1), axis=1)))
        metrics["max cell variation of ln rho"] = variation
        if variation <= 10.0:
            return wrong(f"refused although ln rho varies by <= 10 in every cell: {err}", **metrics)
        unchecked, _ = _solve(rho, mesh, case, max_log_variation=None)
        checks = check_window(unchecked, reference, ref_error, mu, mu_quad, quad_share, scale)
        metrics["unchecked pencil"] = "; ".join(checks.failures) or "within the window"
        verdict = (
            "the unchecked pencil is indeed wrong (outside the min-max window)"
            if checks.failures
            else "the unchecked pencil was within the min-max window (a true but unresolved "
            "mode, refused conservatively)"
        )
        return refused(f"unresolved weight (ln rho varies by > 10 in a cell); {verdict}", **metrics)
    except GanPdeError as err:
        return wrong(f"{type(err).__name__} on a well-posed case: {err}", **metrics)
    checks = check_window(values, reference, ref_error, mu, mu_quad, quad_share, scale)
    metrics["accuracy_warnings"] = len(warned)
    if checks.failures and warned:
        return refused(
            f"AccuracyWarning ({warned[0][:90]}...) and indeed {checks.failures[0]}",
            **metrics,
            **checks.metrics,
        )
    if not checks.failures:
        return ok(**metrics, **checks.metrics)
    return checks.outcome(**metrics)
