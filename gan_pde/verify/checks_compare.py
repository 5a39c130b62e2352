"""Verify checks of :mod:`gan_pde.nn.poincare`: the neural ξ_min against the FEM ξ_min.

Paper 004, Section 6: minimising the Rayleigh quotient (31)/(32) over a network gives an
upper bound of ξ_min (with exact expectations) that should come close to it.  The check
trains :func:`gan_pde.nn.poincare.estimate_poincare_constant` on samples of two-Gaussian
mixtures and compares with the P2 FEM (:func:`gan_pde.nn.poincare.fem_mixture_poincare`, an
independent discretisation, judged with its Richardson error estimate), with the network's
quotient under the exact mixture (Gauss–Hermite quadrature written here) and with the
definition of the estimator recomputed in numpy.  It needs torch; without it it is skipped.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gan_pde.verify._common import PAPER_004, _new_figure, _png, one_torch_thread
from gan_pde.verify.controls import control, patch
from gan_pde.verify.registry import Criterion, Outcome, register

#: Unit round-off of float64.
_U = float(np.finfo(float).eps) / 2.0

#: The paper's network estimate of ξ_min at M = 3 (Section 7: 0.25) is 2.8 % from the FEM
#: value 0.2572: the precision the claim "comes within a few percent" is made at.
_PAPER_PRECISION = abs(0.25 / 0.2572192652 - 1.0)


def _gauss_hermite_mixture(
    dim: int, separation: float, nodes: int
) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights integrating polynomials of degree < 2·nodes exactly against
    ½N(−M/2·e₁, I) + ½N(M/2·e₁, I) (a tensor Gauss–Hermite rule per component)."""
    x, w = np.polynomial.hermite_e.hermegauss(nodes)
    w = w / w.sum()
    points, weights = [], []
    for centre in (-0.5 * separation, 0.5 * separation):
        if dim == 1:
            points.append(centre + x[:, None])
            weights.append(0.5 * w)
        else:
            gx, gy = np.meshgrid(centre + x, x, indexing="ij")
            points.append(np.column_stack([gx.ravel(), gy.ravel()]))
            weights.append(0.5 * np.outer(w, w).ravel())
    return np.concatenate(points), np.concatenate(weights)


def _exact_quotient(function: Any, dim: int, separation: float, nodes: int) -> float:
    r"""A network's quotient :math:`\mathbb E|\nabla w|^2/\operatorname{Var}w` under the
    mixture itself (Gauss–Hermite per component): an upper bound of ξ_min."""
    points, weights = _gauss_hermite_mixture(dim, separation, nodes)
    w, grad = function(points)
    mean = float(np.sum(weights * w))
    return float(np.sum(weights * (grad * grad).sum(axis=1)) / np.sum(weights * (w - mean) ** 2))


def _recomputed(function: Any, points: np.ndarray) -> tuple[float, float, float, float]:
    """The held-out quotient (31)/(32) and its delta-method standard error, from the
    definitions (moments with 1/n), the round-off scale of the standard error, and the
    ratio estimator's bias ξ(Var v/B² − Cov(g, v)/(AB))/n (second-order delta method)."""
    w, grad = function(points)
    g = (grad * grad).sum(axis=1)
    v = (w - w.mean()) ** 2
    a, b = float(g.mean()), float(v.mean())
    terms = g / a - v / b
    spread = float(np.std(terms, ddof=1))
    xi = a / b
    bias = xi * (float(np.var(v)) / b**2 - float(np.cov(g, v)[0, 1]) / (a * b)) / g.size
    return xi, xi * spread / math.sqrt(g.size), float(np.abs(terms).max()) / spread, bias


@register(
    name="nn.poincare_vs_fem",
    paper=PAPER_004,
    reference="Section 6, (30)-(32); Section 7, Figure 1 (top)",
    claim=(
        "A spectrally normalised network minimising the Rayleigh quotient (32) on samples "
        "gives an upper bound of xi_min that comes within a few percent of it."
    ),
    reference_kind=("independent", "paper", "statistical"),
)
def poincare_vs_fem(size: str) -> Outcome:
    """The neural estimate on ½N(−M/2·e₁, I) + ½N(M/2·e₁, I) against four references.

    1. Rayleigh principle (independent): the trained network's quotient with exact
       expectations (Gauss–Hermite, 80 nodes per axis) is ≥ ξ_min; compared with the P2 FEM
       ξ_min.  Tolerance: 2× the FEM's Richardson error estimate (two meshes, observed
       order ≥ 2 in 2D, 4 in 1D) plus the quadrature's error |Q₈₀ − Q₁₂₀|.
    2. Closeness (paper): that quotient is within the paper's own precision of ξ_min (its
       network estimate 0.25 at M = 3 is 2.8 % from the FEM 0.2572).
    3. The held-out estimate (statistical): an estimate of the same quotient by n held-out
       samples, compared with the exact-expectation value with z delta-method standard
       errors (n ≥ 6000: normal quantiles; z = 3 for one case, Bonferroni-corrected to keep
       99.73 % for the family of cases), plus the ratio estimator's O(1/n) bias
       (second-order delta method, from the same samples).
    4. The estimator itself (closed form): the package's held-out quotient and standard
       error recomputed in numpy from the definitions (moments with 1/n) on the held-out
       rows.  Tolerance: round-off of the network evaluations, 2(Σ widths + layers) + log2 n
       roundings, for the quotient's two means (and, for the standard error, times the
       terms' max/std).
    """
    from scipy import stats

    from gan_pde.nn.poincare import _mixture, estimate_poincare_constant, fem_mixture_poincare

    cases, n_train, n_holdout, steps = {
        "quick": ([(1, 3.0)], 1500, 6000, 200),
        "default": ([(1, 3.0), (2, 3.0)], 3000, 20000, 300),
    }.get(size, ([(1, 3.0), (1, 4.0), (2, 3.0), (2, 4.0)], 10000, 80000, 1500))
    hidden = (32, 32)
    c_net = 2.0 * (sum(hidden) + len(hidden) + 1)
    # one statistical test per case: 99.73 % two-sided for the family (Bonferroni)
    z = float(stats.norm.ppf(1.0 - 0.0027 / (2.0 * len(cases))))
    rows, curves, criteria = [], [], []
    with one_torch_thread():
        for dim, separation in cases:
            # P2 FEM on two meshes: 1D O(h^4) (1200/2400 cells, the sparse eigensolver),
            # 2D (20/40 cells per axis) observed order >= 2 (measured 2.4):
            # e = |xi_h - xi_h/2| / (2^p - 1)
            coarse_cells, order = (1200, 4.0) if dim == 1 else (20, 2.0)
            coarse = fem_mixture_poincare(dim, separation, cells=coarse_cells)
            fem = fem_mixture_poincare(dim, separation, cells=2 * coarse_cells)
            fem_error = abs(fem - coarse) / (2.0**order - 1.0)
            data = _mixture(dim, separation).sample(n_train + n_holdout, rng=0)
            estimate = estimate_poincare_constant(
                data,
                hidden=hidden,
                steps=steps,
                lr=1e-2,
                holdout=n_holdout / (n_train + n_holdout),
                device="cpu",
            )
            exact = _exact_quotient(estimate.function, dim, separation, 80)
            gh_error = abs(exact - _exact_quotient(estimate.function, dim, separation, 120))
            held = data[estimate.holdout_index]
            xi_ref, se_ref, se_scale, bias = _recomputed(estimate.function, held)
            n = held.shape[0]
            rows.append(
                {
                    "dim": dim,
                    "separation": separation,
                    "fem": fem,
                    "fem_error": fem_error,
                    "exact_expectation": exact,
                    "quadrature_error": gh_error,
                    "held_out": estimate.xi_min,
                    "held_out_standard_error": estimate.standard_error,
                    "seconds": estimate.seconds,
                }
            )
            curves.append((f"d={dim}, M={separation:g}", estimate.curve / fem - 1.0))
            tag = f"d={dim}, M={separation:g}"
            criteria += [
                Criterion(
                    f"(xi_FEM - Q_exact) / xi_FEM, {tag} (Rayleigh: Q_exact >= xi_min)",
                    (fem - exact) / fem,
                    (2.0 * fem_error + gh_error) / fem,
                    "2 x FEM Richardson estimate + Gauss-Hermite error |Q_80 - Q_120|",
                ),
                Criterion(
                    f"(Q_exact - xi_FEM) / xi_FEM, {tag}",
                    (exact - fem) / fem,
                    _PAPER_PRECISION,
                    "the paper's network estimate at M = 3: 0.25 vs FEM 0.2572 (2.8 %)",
                ),
                Criterion(
                    f"|held-out - Q_exact| / s.e., {tag}",
                    abs(estimate.xi_min - exact) / estimate.standard_error,
                    z + abs(bias) / estimate.standard_error,
                    f"{z:.2f} delta-method s.e. (99.73 % for the {len(cases)} cases) + the "
                    "ratio estimator's O(1/n) bias (in s.e.)",
                ),
                Criterion(
                    f"|held-out xi - numpy (31)| / xi, {tag}",
                    abs(estimate.xi_min - xi_ref) / xi_ref,
                    2.0 * (c_net + math.log2(n)) * _U,
                    "round-off of the network evaluations: 2 (widths + layers) + log2 n, x2",
                ),
                Criterion(
                    f"|s.e. - numpy delta method| / s.e., {tag}",
                    abs(estimate.standard_error - se_ref) / se_ref,
                    2.0 * (c_net + math.log2(n)) * _U * se_scale,
                    "as the quotient, times max|term| / std(terms) of the std",
                ),
            ]
    figure = _new_figure()
    ax = figure.subplots()
    for label, curve in curves:
        ax.semilogy(np.abs(curve) + 1e-6, label=label)
    ax.set_xlabel("Adam step")
    ax.set_ylabel("|training quotient / FEM xi_min - 1|")
    ax.legend()
    return Outcome(
        measured={
            "exact_expectation_rel": [r["exact_expectation"] / r["fem"] - 1.0 for r in rows],
            "held_out_rel": [r["held_out"] / r["fem"] - 1.0 for r in rows],
        },
        expected=0.0,
        criteria=tuple(criteria),
        details={
            "rows": rows,
            "training": (
                f"{n_train} samples, {steps} full-batch Adam steps, lr 1e-2, MLP 32x32, "
                "tanh, spectral normalisation, input gain 4"
            ),
            "held out": f"{n_holdout} samples",
        },
        figure=_png(figure),
    )


@control("nn.poincare_vs_fem", "the held-out quotient's variance with ddof = 1 (n - 1)")
def _poincare_ddof() -> Any:
    def wrap(original: Any) -> Any:
        def wrong(net: Any, params: Any, x: Any) -> tuple[float, float]:
            xi, se = original(net, params, x)
            n = int(x.shape[0])
            return xi * (n - 1) / n, se

        return wrong

    return patch("gan_pde.nn.poincare._held_out", wrap=wrap)


@control("nn.poincare_vs_fem", "the training quotient divides by E w^2 instead of Var w")
def _poincare_uncentred() -> Any:
    def wrong(net: Any, params: Any, x: Any) -> Any:
        from gan_pde.nn.poincare import _quotient_terms

        g, w = _quotient_terms(net, params, x, create_graph=True)
        return g.mean() / (w * w).mean()

    return patch("gan_pde.nn.poincare._rayleigh", wrong)
