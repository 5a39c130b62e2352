"""The built-in checks of ``gan-pde verify`` for paper 004 (Khrulkov et al.): spectra and lGAN.

Every check computes its numbers with the package's public API and compares them with a
reference that is not the code under test: exact eigenvalues (Hermite), closed forms, or
the independent sinc-collocation solve of the Schrödinger form of the weighted Laplacian in
:mod:`gan_pde.verify._reference_spectra` (another formulation and another method than the
package's finite elements).  Each pass/fail decision is a :class:`Criterion` whose tolerance
comes from the numerical analysis of the computation (the reason is given next to each).
The run size (``"quick"``, ``"default"``, ``"full"``) scales meshes, steps and parameter
ranges in every check.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import scipy.linalg
import scipy.optimize
import skfem

from gan_pde.verify._common import PAPER_004, _new_figure, _png
from gan_pde.verify._reference_spectra import mixture_spectrum
from gan_pde.verify.controls import control, patch
from gan_pde.verify.registry import Criterion, Outcome, cached, register

_EPS = float(np.finfo(float).eps)
#: Largest eigenvalue of the P1/P2 weighted pencil times h² (measured 13-17 and 64-80 on
#: Gaussians and mixtures; the unit-weight values are 12 and 60): the eigen-solver's
#: absolute round-off is ~eps * xi_max,h, the floor added to every FEM error estimate.
_XI_MAX_H2 = {"P1": 20.0, "P2": 100.0}


def _round_off(element: str, h: float) -> float:
    """Absolute round-off floor eps * xi_max,h of a FEM eigenvalue on cells of size h."""
    return _EPS * _XI_MAX_H2[element] / h**2


def _fem_eigenvalues(density: Any, lower: float, upper: float, cells: int, k: int) -> np.ndarray:
    """xi_1..xi_{k-1} of the package's P2 solver (shift-invert: faster than dense here);
    xi_1 is read from ``poincare_constant``, the public quantity users read as xi_min."""
    from gan_pde.mesh import interval
    from gan_pde.spectral.weighted_laplacian import weighted_laplacian_spectrum

    spectrum = weighted_laplacian_spectrum(
        density, interval(lower, upper, n=cells), k=k, element="P2", method="shift-invert"
    )
    return np.concatenate([[spectrum.poincare_constant], spectrum.eigenvalues[2:]])


def _fem_with_estimate(
    density: Any, lower: float, upper: float, step: float, k: int
) -> tuple[np.ndarray, np.ndarray, float, int]:
    """P2 eigenvalues xi_1..xi_{k-1} on cells of size ~step, their Richardson error estimate
    |xi_h - xi_h/2| / (1 - 2^-4) (O(h^4) convergence) and the round-off floor."""
    cells = int(np.ceil((upper - lower) / step))
    coarse = _fem_eigenvalues(density, lower, upper, cells, k)
    fine = _fem_eigenvalues(density, lower, upper, 2 * cells, k)
    estimate = np.abs(coarse - fine) / (1.0 - 2.0**-4)
    return coarse, estimate, _round_off("P2", (upper - lower) / cells), cells


def _agreement(
    measured: np.ndarray, estimate: np.ndarray, floor: float, reference: np.ndarray, ref_error
) -> np.ndarray:
    """|xi_h - xi_ref| / (e_h + e_ref + floor): the FEM error over its estimate (<= 2 passes)."""
    return np.abs(measured - reference) / (estimate + ref_error + floor)


# The value criterion of the mixture checks.  P2 eigenvalues converge at O(h^4) (checked by
# spectrum.convergence_order), so e_h = |xi_h - xi_h/2| / (1 - 2^-4) estimates the error of
# xi_h (Richardson), and in the asymptotic range |xi_h - xi| = e_h (1 + O(h^2)): measured
# ratios 0.999-1.01 for every mixture here.  The reference's own error e_ref (sinc, two steps,
# exponentially convergent: <= 1e-9 relative) and the FEM round-off eps * xi_max,h are added;
# the factor 2 allows the ratio of successive errors to lie anywhere in [12, 20] instead of 16.
_VALUE_TOLERANCE = 2.0
_VALUE_REASON = (
    "P2 error O(h^4) equals its Richardson estimate e_h in the asymptotic range (measured "
    "ratio 1.00); 2 allows successive-error ratios in [12, 20]; + sinc error + eps*xi_max,h"
)


def _step(size: str) -> float:
    """Cell size of the P2 meshes of the mixture checks (the estimate uses half of it)."""
    return {"quick": 0.1, "default": 0.05, "full": 0.025}[size]


def _mixture(means: list[float], stds: list[float], weights: list[float]) -> Any:
    from gan_pde.densities import GaussianMixture

    keep = [i for i, w in enumerate(weights) if w > 0.0]
    return GaussianMixture(
        means=[[means[i]] for i in keep],
        stds=[stds[i] for i in keep],
        weights=[weights[i] for i in keep],
    )


@cached
def _mixture_values(
    means: tuple[float, ...],
    stds: tuple[float, ...],
    weights: tuple[float, ...],
    k: int,
    step: float,
) -> dict[str, Any]:
    """FEM eigenvalues xi_1..xi_{k-1} of a 1D mixture with their estimate, and the sinc
    reference with its error; the mesh reaches 12 (largest) sigma beyond the outer means."""
    margin = 12.0 * max(stds)
    lower, upper = min(means) - margin, max(means) + margin
    density = _mixture(list(means), list(stds), list(weights))
    fem, estimate, floor, cells = _fem_with_estimate(density, lower, upper, step, k)
    reference = mixture_spectrum(list(means), list(stds), list(weights), k=k)
    ratio = _agreement(fem, estimate, floor, reference.eigenvalues[1:], reference.error[1:])
    return {
        "fem": fem,
        "estimate": estimate,
        "floor": floor,
        "reference": reference.eigenvalues[1:],
        "reference_error": reference.error[1:],
        "ratio": ratio,
        "bound": estimate + reference.error[1:] + floor,
        "cells": cells,
        "interval": (lower, upper),
    }


def _symmetric_pair(separation: float, step: float) -> dict[str, Any]:
    """½N(-M/2, 1) + ½N(M/2, 1): ½N(0,1) + ½N(M,1) shifted, same spectrum."""
    half = 0.5 * separation
    return _mixture_values((-half, half), (1.0, 1.0), (0.5, 0.5), 2, step)


def _scaled_eigenvalues(factor: float) -> Any:
    """A control: the solver's eigenvalues multiplied by ``factor``."""

    def wrap(original: Any) -> Any:
        def wrong(*args: Any, **kwargs: Any) -> Any:
            result = original(*args, **kwargs)
            result.eigenvalues[:] *= factor
            return result

        return wrong

    return patch("gan_pde.spectral.weighted_laplacian.weighted_laplacian_spectrum", wrap=wrap)


def _stretched_weight(factor: float) -> Any:
    """A control inside the assembly: the weight of the forms is rho(x / factor) (a density
    whose standard deviations are ``factor`` times too large) at the quadrature points."""

    def wrap(original: Any) -> Any:
        def wrong(density: Any, basis: Any) -> np.ndarray:
            class Stretched:
                dim = density.dim

                def log_pdf(self, x: np.ndarray) -> np.ndarray:
                    return density.log_pdf(np.asarray(x) / factor)

            return original(Stretched(), basis)

        return wrong

    return patch("gan_pde.fem.forms.log_density_at_quadrature", wrap=wrap)


# --------------------------------------------------------------------- paper 004: spectra


@register(
    name="spectrum.hermite",
    paper=PAPER_004,
    reference="Appendix B",
    claim=(
        "The weighted Laplacian of N(mu, sigma^2) has the eigenvalues k / sigma^2 "
        "(Hermite polynomials); here mu = 0.3, sigma = 0.7."
    ),
    reference_kind="exact",
)
def hermite_spectrum(size: str) -> Outcome:
    """Reference: the exact eigenvalues k / sigma^2 (Appendix B), at a generic mean and
    standard deviation so that a solver that drops either cannot pass."""
    from gan_pde.densities import Gaussian
    from gan_pde.mesh import interval
    from gan_pde.spectral.weighted_laplacian import weighted_laplacian_spectrum

    # P2 Galerkin eigenvalues converge at O(h^4) (check spectrum.convergence_order), so
    # e_h = |xi_h - xi_h/2| / (1 - 2^-4) estimates the error of xi_h from the discretisation
    # alone (Richardson); in the asymptotic range |xi_h - k| = e_h (1 + O(h^2)), and a factor 2
    # allows the ratio of successive errors to be anywhere in [12, 20] instead of 16.
    # xi_1 and xi_2 (eigenfunctions x, x^2 - 1) lie in P2 and are exact up to the eigensolver's
    # round-off, ~1e-12 k: a floor 1e-11 k is added to the estimate.
    # Truncating the line at mu +- 12 sigma changes eigenvalues by ~exp(-72).  Measured
    # relative errors: 3.4e-7 (quick, 300 cells), 2.1e-8 (default), 1.3e-9 (full).
    cells = {"quick": 300, "default": 600, "full": 1200}[size]
    mean, sigma = 0.3, 0.7
    rho, k = Gaussian(mean=[mean], cov=[[sigma**2]]), np.arange(1.0, 5.0) / sigma**2
    coarse, fine = (
        weighted_laplacian_spectrum(
            rho,
            interval(mean - 12.0 * sigma, mean + 12.0 * sigma, n=n),
            k=5,
            element="P2",
            method="shift-invert",
        ).eigenvalues[1:5]
        for n in (cells, 2 * cells)
    )
    errors = np.abs(coarse - k)
    estimates = np.abs(coarse - fine) / (1.0 - 2.0**-4) + 1e-11 * k
    ratio = errors / estimates
    return Outcome(
        measured=coarse.tolist(),
        expected=k.tolist(),
        criteria=(
            Criterion(
                "max_k |xi_k,h - k/s^2| / (e_h + 1e-11 k/s^2), e_h the Richardson estimate",
                float(ratio.max()),
                2.0,
                "P2 error O(h^4): the error equals its Richardson estimate in the "
                "asymptotic range; 2 allows successive-error ratios in [12, 20]",
            ),
        ),
        details={
            "relative errors |xi_k,h - k/s^2|/(k/s^2)": (errors / k).tolist(),
            "Richardson estimates / (k/s^2)": (estimates / k).tolist(),
            "density": f"N({mean}, {sigma}^2)",
            "mesh": f"P2, {cells} cells on mu +- 12 sigma (and {2 * cells} for the estimate)",
        },
    )


@control("spectrum.hermite", "the solver's eigenvalues scaled by 1 + 1e-6")
def _hermite_scaled() -> Any:
    return _scaled_eigenvalues(1.0 + 1e-6)


@control("spectrum.hermite", "the weight's standard deviation 1e-4 too large in the assembly")
def _hermite_stretched() -> Any:
    return _stretched_weight(1.0 + 1e-4)


def _h_error_constants(sigma: float) -> dict[str, tuple[int, float]]:
    r"""Order p and leading constant C of xi_3,h - xi_3 = C h^p for N(mu, sigma^2), w = He_3.

    The Galerkin eigenvalue error is, to leading order, the squared energy-norm error of the
    best approximation of the eigenfunction: ||w - Pi_h w||_a^2 / ||w||^2 (Babuska-Osborn).
    In 1D the interpolant is that best approximation cell by cell: for P1 the derivative
    error of w has the local form (w''/2)(2t), t in [-h/2, h/2], whose square integrates to
    h^3 w''^2/12; for P2 the interpolation error of a cubic is (w'''/6)(x-x0)(x-xm)(x-x1),
    whose derivative (w'''/6)(3t^2 - h^2/4) is orthogonal to P1 and integrates (squared) to
    h^5 w'''^2/720.  With w = He_3(z), z = (x - mu)/sigma: w'' = 6z/sigma^2, w''' = 6/sigma^3,
    E[w^2] = 6, so C_P1 = (1/12) 36/sigma^4 / 6 = 1/(2 sigma^4) and
    C_P2 = (1/720) 36/sigma^6 / 6 = 1/(120 sigma^6).
    """
    return {"P1": (2, 0.5 / sigma**4), "P2": (4, 1.0 / (120.0 * sigma**6))}


@register(
    name="spectrum.convergence_order",
    paper=PAPER_004,
    reference="(15), Appendix B",
    claim=(
        "The P1/P2 Galerkin eigenvalues of the weighted Laplacian converge at the orders 2 and "
        "4 with the error constants of interpolation theory (xi_3 = 3/sigma^2 of "
        "N(0.3, 0.7^2), whose cubic eigenfunction lies in neither space)."
    ),
    reference_kind=("exact", "closed form"),
)
def convergence_order(size: str) -> Outcome:
    """References: the exact xi_3 = 3/sigma^2 and the closed-form leading error constants
    C_P1 = 1/(2 sigma^4), C_P2 = 1/(120 sigma^6) of xi_3,h - xi_3 = C h^p (see
    :func:`_h_error_constants`), so a wrong quadrature or a perturbed matrix that keeps the
    order but changes the constant fails too.  A fit of the slope alone could not see it."""
    from gan_pde.densities import Gaussian
    from gan_pde.mesh import interval
    from gan_pde.spectral.weighted_laplacian import weighted_laplacian_spectrum

    mean, sigma = 0.3, 0.7
    rho = Gaussian(mean=[mean], cov=[[sigma**2]])
    exact = 3.0 / sigma**2
    length = 20.0 * sigma
    cells = np.array(
        {"quick": [40, 80, 160], "default": [40, 80, 160, 320]}.get(size, [40, 80, 160, 320, 640])
    )
    h = length / cells
    constants = _h_error_constants(sigma)
    criteria, errors, slopes, deviations = [], {}, {}, {}
    for element, (order, constant) in constants.items():
        err = np.array(
            [
                abs(
                    weighted_laplacian_spectrum(
                        rho,
                        interval(mean - 10.0 * sigma, mean + 10.0 * sigma, n=int(n)),
                        k=4,
                        element=element,
                        method="dense",
                    ).eigenvalues[3]
                    - exact
                )
                for n in cells
            ]
        )
        floor = _round_off(element, float(h[-1]))
        observed = np.log2(err[:-1] / err[1:])  # orders of successive pairs
        r = err / (constant * h**order) - 1.0  # deviation from the closed-form constant
        errors[element], slopes[element], deviations[element] = (
            err.tolist(),
            observed.tolist(),
            r.tolist(),
        )
        # e_h = C h^p (1 + a h^q + ...), q >= 2 (the next term of the expansion): the
        # deviation r of the constant and that of the observed order p_obs - p both fall by
        # 2^q >= 4 per halving of h (measured: 4 for P2, 16 for P1).  So the last one must be
        # at most half the previous one (a factor 2 of margin on the slowest, q = 2, rate),
        # plus what round-off (eps * xi_max,h) contributes.  A constant offset (a perturbed
        # matrix) or a wrong constant (a wrong quadrature) makes r tend to a non-zero value
        # or grow, and fails.
        criteria.append(
            Criterion(
                f"{element}: |C_h/C - 1| on the finest mesh / half that on the previous one",
                float(abs(r[-1]) / (0.5 * abs(r[-2]) + floor / (constant * h[-1] ** order))),
                1.0,
                "e_h = C h^p (1 + O(h^2)) with the closed-form C: the deviation falls >= 4x "
                "per halving; <= 2x required, + round-off eps*xi_max,h",
            )
        )
        floor_p = (floor / err[-1] + floor / err[-2]) / np.log(2.0)
        criteria.append(
            Criterion(
                f"{element}: |p_obs - {order}| on the last pair / half that on the previous",
                float(abs(observed[-1] - order) / (0.5 * abs(observed[-2] - order) + floor_p)),
                1.0,
                "p_obs - p = O(h^2) falls >= 4x per halving; <= 2x required, + round-off",
            )
        )
    figure = _new_figure()
    axes = figure.subplots()
    for element, (order, constant) in constants.items():
        axes.loglog(h, errors[element], "o", label=f"{element}: observed")
        axes.loglog(h, constant * h**order, "-", label=f"{element}: C h^{order} (closed form)")
    axes.set_xlabel("h")
    axes.set_ylabel("|xi_3,h - 3/sigma^2|")
    axes.legend(fontsize="small")
    return Outcome(
        measured={e: s[-1] for e, s in slopes.items()},
        expected={e: float(p) for e, (p, _) in constants.items()},
        criteria=tuple(criteria),
        details={
            "cells": cells.tolist(),
            "errors": errors,
            "observed orders (successive pairs)": slopes,
            "C_h / C - 1": deviations,
            "C (closed form)": {e: c for e, (_, c) in constants.items()},
            "interval": f"mu +- 10 sigma, N({mean}, {sigma}^2)",
        },
        figure=_png(figure),
    )


@control("spectrum.convergence_order", "P2 forms integrated with Simpson's rule (lumped mass)")
def _convergence_simpson() -> Any:
    # Simpson's rule (3-point Gauss-Lobatto, exact to degree 3 >= 2p - 2) keeps O(h^4) but
    # changes the error constant: only the constant criterion can see it.
    def wrap(original: Any) -> Any:
        def wrong(mesh: Any, element: str = "P1", *, intorder: Any = None) -> Any:
            if str(element).upper() != "P2" or intorder is not None:
                return original(mesh, element, intorder=intorder)
            return np.array([[0.0, 0.5, 1.0]]), np.array([1.0, 4.0, 1.0]) / 6.0

        return wrong

    return patch("gan_pde.fem.basis.quadrature_rule", wrap=wrap)


@control("spectrum.convergence_order", "the weighted stiffness matrix scaled by 1 + 1e-6")
def _convergence_stiffness() -> Any:
    import dataclasses

    def wrap(original: Any) -> Any:
        def wrong(*args: Any, **kwargs: Any) -> Any:
            system = original(*args, **kwargs)
            return dataclasses.replace(system, stiffness=system.stiffness * (1.0 + 1e-6))

        return wrong

    return patch("gan_pde.fem.forms._system", wrap=wrap)


def _separations(size: str) -> list[float]:
    return {
        "quick": [0.0, 2.0, 3.0, 4.0, 6.0],
        "default": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0],
    }.get(size, [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 5.0, 6.0, 7.0, 8.0])


#: A generic mixture (unequal means, standard deviations, weights; no coefficient 1) whose
#: xi_1..xi_3 are compared too: 0.3 N(-0.4, 0.8^2) + 0.7 N(2.1, 1.3^2).
_GENERIC = ((-0.4, 2.1), (0.8, 1.3), (0.3, 0.7))


@register(
    name="spectrum.mixture_separation",
    paper=PAPER_004,
    reference="Section 7, Figure 1 (top)",
    claim=(
        "The Poincaré constant xi_min of ½N(0,1) + ½N(M,1) decreases as M grows; the "
        "package's values (and xi_1..xi_3 of a generic mixture) agree with an independent "
        "solve."
    ),
    reference_kind="independent",
)
def mixture_separation(size: str) -> Outcome:
    """Reference: sinc collocation of the Schrödinger form -psi'' + (l'^2/4 + l''/2) psi
    (:mod:`gan_pde.verify._reference_spectra`), a different formulation and method from the
    package's finite elements.  Values are compared at every M (not only the trend), and
    xi_1..xi_3 of a generic mixture with unequal standard deviations and weights."""
    step = _step(size)
    separations = _separations(size)
    rows = [_symmetric_pair(m, step) for m in separations]
    generic = _mixture_values(*_GENERIC, 4, step)
    xi = np.array([row["fem"][0] for row in rows])
    bound = np.array([row["bound"][0] for row in rows])
    ratio = max(max(float(row["ratio"].max()) for row in rows), float(generic["ratio"].max()))
    # xi(M_i) - xi(M_i+1) must exceed the sum of both values' error bounds, i.e. the
    # decrease is resolved by the computation, not an artefact of its errors.
    resolved = float(np.min(-np.diff(xi) / (bound[:-1] + bound[1:])))
    figure = _new_figure()
    axes = figure.subplots()
    axes.semilogy(separations, xi, "o", label="gan_pde (P2)")
    axes.semilogy(separations, [row["reference"][0] for row in rows], "-", label="sinc reference")
    axes.semilogy([3.0, 4.0], [0.25, 0.124], "s", label="paper (network estimate)")
    axes.set_xlabel("separation M")
    axes.set_ylabel("xi_min")
    axes.legend()
    return Outcome(
        measured=dict(zip([f"M={m:g}" for m in separations], xi.tolist(), strict=True)),
        expected=dict(
            zip([f"M={m:g}" for m in separations], [r["reference"][0] for r in rows], strict=True)
        ),
        criteria=(
            Criterion(
                "|xi_h - xi_ref| / (e_h + e_ref + floor), max over M and generic xi_1..3",
                ratio,
                _VALUE_TOLERANCE,
                _VALUE_REASON,
            ),
            Criterion(
                "min_i (xi(M_i) - xi(M_i+1)) / (sum of both error bounds)",
                resolved,
                1.0,
                "each decrease must exceed the two values' error bounds (resolved, not noise)",
                sense=">=",
            ),
        ),
        details={
            "relative errors |xi_h/xi_ref - 1|": dict(
                zip(
                    [f"M={m:g}" for m in separations],
                    [float(abs(r["fem"][0] / r["reference"][0] - 1.0)) for r in rows],
                    strict=True,
                )
            ),
            "generic mixture 0.3 N(-0.4, 0.8^2) + 0.7 N(2.1, 1.3^2), xi_1..xi_3": {
                "fem": generic["fem"].tolist(),
                "reference": generic["reference"].tolist(),
                "error / bound": generic["ratio"].tolist(),
            },
            "mesh": f"P2, cells of {step} on the mean range +- 12 sigma (and {step / 2})",
        },
        figure=_png(figure),
    )


@control("spectrum.mixture_separation", "the solver's eigenvalues scaled by 1 + 1e-6")
def _separation_scaled() -> Any:
    return _scaled_eigenvalues(1.0 + 1e-6)


@control(
    "spectrum.mixture_separation", "the weight's standard deviation 1e-4 too large in the assembly"
)
def _separation_stretched() -> Any:
    return _stretched_weight(1.0 + 1e-4)


#: The paper's network estimates (Section 7) and the half-unit of their last printed digit.
_PAPER_XI = {3.0: (0.25, 0.005), 4.0: (0.124, 0.0005)}
#: Allowed relative deviation from a network estimate (see mixture_paper_values).
_PAPER_TOLERANCE = 0.05


@register(
    name="spectrum.mixture_paper_values",
    paper=PAPER_004,
    reference="Section 7 (xi_min = 0.25 and 0.124)",
    claim="xi_min of ½N(0,1) + ½N(M,1) is 0.25 for M = 3 and 0.124 for M = 4.",
    reference_kind=("independent", "paper"),
)
def mixture_paper_values(size: str) -> Outcome:
    """Two references, two criteria.  (1) Independent: the sinc solve of the Schrödinger form,
    at the tolerance of both discretisations' error estimates (~1e-8 relative at quick).
    (2) Paper: the network estimates 0.25 and 0.124, at 5 %.  Those come from minimising a
    Monte-Carlo Rayleigh quotient (30)-(32) over a spectrally normalised MLP: an upper bound
    up to sampling error, printed to 2 and 3 digits, with neither sample size nor error bar.
    The rounding alone allows 2 % (0.25 +- 0.005) and 0.4 % (0.124 +- 0.0005); the
    estimator's sampling error is ~1.5/sqrt(N) (M = 3) and ~2.2/sqrt(N) (M = 4) relative,
    the standard deviation per sample of the Rayleigh-quotient estimator computed from the
    reference eigenfunction, i.e. 5 % at about one standard error for N ~ 1000-2000 samples.
    5 % is therefore a judgement of the network estimate's accuracy, not a derived bound.  The
    measured xi_h / xi_paper - 1 are +2.9 % (M = 3: the paper's 0.25 lies below xi_min, which
    an exact Rayleigh quotient cannot, so its sampling error was at least 0.9 % beyond the
    rounding) and -4.0 % (M = 4: above xi_min, as an upper bound).  The text prints 'M = 4'
    twice; the values fit M = 3 and M = 4."""
    step = _step(size)
    rows = {m: _symmetric_pair(m, step) for m in _PAPER_XI}
    measured = {f"M={m:g}": float(row["fem"][0]) for m, row in rows.items()}
    paper = {f"M={m:g}": value for m, (value, _) in _PAPER_XI.items()}
    deviation = {f"M={m:g}": float(rows[m]["fem"][0] / v - 1.0) for m, (v, _) in _PAPER_XI.items()}
    return Outcome(
        measured=measured,
        expected={
            "reference (sinc)": {f"M={m:g}": float(r["reference"][0]) for m, r in rows.items()},
            "paper": paper,
        },
        criteria=(
            Criterion(
                "|xi_h - xi_ref| / (e_h + e_ref + floor), max over M",
                max(float(row["ratio"][0]) for row in rows.values()),
                _VALUE_TOLERANCE,
                _VALUE_REASON,
            ),
            Criterion(
                "max_M |xi_h / xi_paper - 1| (paper's network estimates)",
                max(abs(d) for d in deviation.values()),
                _PAPER_TOLERANCE,
                "network Rayleigh-quotient estimate printed to 2-3 digits (rounding 2 %, "
                "0.4 %) with Monte-Carlo error ~1.5-2.2/sqrt(N): 5 % ~ 1 SE at N ~ 1e3",
            ),
        ),
        details={
            "relative errors |xi_h/xi_ref - 1|": {
                f"M={m:g}": float(abs(r["fem"][0] / r["reference"][0] - 1.0))
                for m, r in rows.items()
            },
            "deviation from the paper xi_h/xi_paper - 1": deviation,
            "paper rounding (half unit of the last digit, relative)": {
                f"M={m:g}": r / v for m, (v, r) in _PAPER_XI.items()
            },
            "mesh": f"P2, cells of {step} on [-12 - M/2, 12 + M/2] (and {step / 2})",
        },
    )


@control("spectrum.mixture_paper_values", "the solver's eigenvalues scaled by 1 + 1e-6")
def _paper_scaled() -> Any:
    return _scaled_eigenvalues(1.0 + 1e-6)


@control(
    "spectrum.mixture_paper_values",
    "the weight's standard deviation 1e-4 too large in the assembly",
)
def _paper_stretched() -> Any:
    return _stretched_weight(1.0 + 1e-4)


def _strengths(size: str) -> list[float]:
    return {"quick": [0.0, 0.2, 0.4], "default": [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]}.get(
        size, [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
    )


@register(
    name="spectrum.augmentation_mixture",
    paper=PAPER_004,
    reference="(34), Figure 2",
    claim=(
        "Adding the middle mode to mu_p = (1/2 - p/4)N(-3,1) + (p/2)N(0,1) + (1/2 - p/4)N(3,1) "
        "raises xi_min: it increases with p (values agree with an independent solve)."
    ),
    reference_kind="independent",
)
def augmentation_mixture(size: str) -> Outcome:
    """Reference: the sinc solve of the Schrödinger form (independent of the FEM), at every p;
    the increase with p is an extra criterion, resolved beyond both values' error bounds."""
    step = _step(size)
    strengths = _strengths(size)
    rows = [
        _mixture_values(
            (-3.0, 0.0, 3.0), (1.0, 1.0, 1.0), (0.5 - p / 4, p / 2, 0.5 - p / 4), 2, step
        )
        for p in strengths
    ]
    xi = np.array([row["fem"][0] for row in rows])
    bound = np.array([row["bound"][0] for row in rows])
    resolved = float(np.min(np.diff(xi) / (bound[:-1] + bound[1:])))
    keys = [f"p={p:g}" for p in strengths]
    return Outcome(
        measured=dict(zip(keys, xi.tolist(), strict=True)),
        expected=dict(zip(keys, [float(r["reference"][0]) for r in rows], strict=True)),
        criteria=(
            Criterion(
                "|xi_h - xi_ref| / (e_h + e_ref + floor), max over p",
                max(float(row["ratio"][0]) for row in rows),
                _VALUE_TOLERANCE,
                _VALUE_REASON,
            ),
            Criterion(
                "min_i (xi(p_i+1) - xi(p_i)) / (sum of both error bounds)",
                resolved,
                1.0,
                "each increase must exceed the two values' error bounds (resolved, not noise)",
                sense=">=",
            ),
        ),
        details={
            "relative errors |xi_h/xi_ref - 1|": dict(
                zip(
                    keys,
                    [float(abs(r["fem"][0] / r["reference"][0] - 1.0)) for r in rows],
                    strict=True,
                )
            ),
            "mesh": f"P2, cells of {step} on [-15, 15] (and {step / 2})",
        },
    )


@control("spectrum.augmentation_mixture", "the solver's eigenvalues scaled by 1 + 1e-6")
def _augmentation_scaled() -> Any:
    return _scaled_eigenvalues(1.0 + 1e-6)


@control(
    "spectrum.augmentation_mixture",
    "the weight's standard deviation 1e-4 too large in the assembly",
)
def _augmentation_stretched() -> Any:
    return _stretched_weight(1.0 + 1e-4)


# ------------------------------------------------------------------ paper 004: lGAN system


def _quadratic_roots(xi: np.ndarray, alpha: float, beta: float, gamma: float) -> np.ndarray:
    """Both roots of lambda^2 + (alpha + gamma xi) lambda + beta^2 xi = 0 per xi (the check's
    own formula, not gan_pde.spectral.lgan.eigenvalues), shape (2, n), complex."""
    s = alpha + gamma * np.asarray(xi, dtype=float)
    root = np.sqrt((s * s - 4.0 * beta**2 * np.asarray(xi, dtype=float)).astype(complex))
    big = -0.5 * (s + root)  # no cancellation: the other root from the product beta^2 xi
    small = np.divide(beta**2 * xi, big, out=np.zeros_like(big), where=big != 0)
    return np.array([small, big])


def _match(computed: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The computed values assigned one-to-one to the targets (least total distance)."""
    cost = np.abs(computed[:, None] - targets[None, :])
    rows, cols = scipy.optimize.linear_sum_assignment(cost)
    order = np.argsort(cols)
    return computed[rows[order]], targets[cols[order]]


def _dense_spectrum(system: Any) -> tuple[np.ndarray, float]:
    """All eigenvalues of the pencil (L, M_w) by LAPACK's generalised QZ (not the package's
    eigenvalues()), and ||M_w^-1/2 L M_w^-1/2||_2, the scale of their round-off."""
    operator, mass = system.operator.toarray(), system.mass.toarray()
    values = scipy.linalg.eigvals(operator, mass)
    factor = np.linalg.cholesky(mass)
    left = scipy.linalg.solve_triangular(factor, operator, lower=True)
    normalised = scipy.linalg.solve_triangular(factor, left.T, lower=True).T
    return values, float(np.linalg.norm(normalised, 2))


#: lGAN parameters of the spectrum check: generic (no coefficient 0 or 1), with complex pairs
#: for xi_1, xi_2 and real pairs for xi_3, xi_4 of N(0.3, 0.8^2) (xi_k = k/0.64); the
#: discriminant (alpha + gamma xi)^2 - 4 beta^2 xi is >= 3.4 in modulus at these xi, far from
#: critical damping (xi = 4.18), so the roots are well conditioned.
_LGAN_PARAMETERS = (0.3, -1.3, 1.2)
_LGAN_DENSITY = (0.3, 0.8)


@register(
    name="lgan.discrete_spectrum",
    paper=PAPER_004,
    reference="Theorems 2-3, (16)/(19)",
    claim=(
        "The eigenvalues of the linearised GAN system are the roots of "
        "lambda^2 + (alpha + gamma xi) lambda + beta^2 xi = 0 for the eigenvalues xi of the "
        "weighted Laplacian (and -alpha, and the kernel)."
    ),
    reference_kind=("exact", "invariant"),
)
def discrete_spectrum(size: str) -> Outcome:
    """References.  (1) Exact: the roots for the exact xi_k = k/sigma^2 of N(mu, sigma^2),
    k = 1..4, and -alpha, computed by the check's own quadratic formula, at the tolerance of
    the FEM error (Richardson from the system on h and h/2).  (2) Invariant: for the stable
    pair the discrete identity K = B^T M_v^-1 B makes every eigenvalue of the full block system
    (LAPACK QZ on (L, M_w)) a root for a discrete xi_h of the pencil (K, M_u) (LAPACK eigh on
    the system's own blocks) or -alpha, to round-off: a wrong coupling, sign or block breaks
    it.  (3) The package's own shortcuts (predicted_eigenvalues, eigenvalues(k), decay_rate)
    against (2).  Generic (alpha, beta, gamma) = (0.3, -1.3, 1.2)."""
    from gan_pde.densities import Gaussian
    from gan_pde.mesh import interval
    from gan_pde.spectral.lgan_system import LGANSystem

    alpha, beta, gamma = _LGAN_PARAMETERS
    mean, sigma = _LGAN_DENSITY
    cells = {"quick": 30, "default": 60, "full": 120}[size]
    rho = Gaussian(mean=[mean], cov=[[sigma**2]])
    exact_xi = np.arange(1.0, 5.0) / sigma**2
    exact = np.concatenate([_quadratic_roots(exact_xi, alpha, beta, gamma).ravel(), [-alpha]])

    def build(n: int) -> Any:
        mesh = interval(mean - 10.0 * sigma, mean + 10.0 * sigma, n=n)
        return LGANSystem(rho, mesh, alpha=alpha, beta=beta, gamma=gamma, element="P2")

    system, finer = build(cells), build(2 * cells)
    lam, scale = _dense_spectrum(system)
    lam_fine, _ = _dense_spectrum(finer)
    slow, _ = _match(lam, exact)
    slow_fine, _ = _match(lam_fine, exact)
    # (1) lambda is a smooth function of xi away from critical damping, so it inherits the
    # O(h^4) convergence of the P2 xi_h: the Richardson estimate e = |l_h - l_h/2|/(1 - 2^-4)
    # is its error in the asymptotic range (factor 2 as in spectrum.hermite).  -alpha (the
    # constants, in P2) and xi_1, xi_2 (polynomial eigenfunctions in P2) are exact up to the
    # round-off of QZ: n eps ||A|| (backward stable, A the M_w-normalised operator).
    n = lam.size
    floor = n * _EPS * scale
    estimate = np.abs(slow - slow_fine) / (1.0 - 2.0**-4)
    closed = np.abs(slow - exact) / (estimate + floor)
    # (2) all eigenvalues against the roots for the discrete xi_h of the same blocks, and
    # -alpha once (alpha > 0: the mean of u; the 1D kernel is empty).
    xi_h = scipy.linalg.eigh(system.stiffness.toarray(), system.u_mass.toarray(), eigvals_only=True)
    xi_h[0] = 0.0  # the constants (round-off ~1e-15)
    roots = np.concatenate([_quadratic_roots(xi_h[1:], alpha, beta, gamma).ravel(), [-alpha]])
    count_ok = lam.size == roots.size
    matched, target = _match(lam, roots) if count_ok else (lam, lam + np.inf)
    identity = float(np.abs(matched - target).max() / scale)
    # (3) the package's shortcuts against the dense spectrum / the check's roots
    predicted = np.sort_complex(system.predicted_eigenvalues())
    shortcut = _match(predicted, roots)
    slowest = system.eigenvalues(k=6)
    nearest = lam[np.argsort(np.abs(lam))[:6]]
    slowest_match = _match(slowest, nearest)
    rate = abs(system.decay_rate() - float(lam.real.max()))
    shortcuts = (
        max(
            float(np.abs(shortcut[0] - shortcut[1]).max()),
            float(np.abs(slowest_match[0] - slowest_match[1]).max()),
            rate,
        )
        / scale
    )
    return Outcome(
        measured=[complex(z) for z in slow],
        expected=[complex(z) for z in exact],
        criteria=(
            Criterion(
                "max |lambda_h - lambda(k/s^2)| / (e_h + n eps ||A||), k = 1..4 and -alpha",
                float(closed.max()),
                2.0,
                "lambda(xi) smooth: O(h^4) error equals its Richardson estimate e_h; 2 allows "
                "ratios in [12, 20]; + QZ round-off n eps ||A||",
            ),
            Criterion(
                "max |lambda - root(xi_h)| / ||A|| over the whole spectrum (count must match)",
                identity if count_ok else float("inf"),
                n * _EPS,
                "exact identity K = B^T M_v^-1 B of the stable pair: only QZ/eigh round-off, "
                "backward error <= n eps ||A||",
            ),
            Criterion(
                "|shortcut - dense| / ||A||: predicted_eigenvalues, eigenvalues(k=6), decay_rate",
                shortcuts,
                n * _EPS,
                "the same exact identity evaluated by other code paths: round-off only",
            ),
        ),
        details={
            "mesh": f"P2/P1dc stable pair, {cells} cells on mu +- 10 sigma (and {2 * cells})",
            "density": f"N({mean}, {sigma}^2), xi_k = k / sigma^2",
            "(alpha, beta, gamma)": list(_LGAN_PARAMETERS),
            "errors |lambda_h - lambda|": np.abs(slow - exact).tolist(),
            "Richardson estimates": estimate.tolist(),
            "eigenvalues / roots": f"{lam.size} / {roots.size}",
            "||A||_2": scale,
        },
    )


def _perturbed_coupling(factor: float) -> Any:
    """A control: the coupling matrix B (int rho grad(phi) . psi) scaled by ``factor``."""
    from gan_pde.spectral import lgan_system

    def wrap(original: Any) -> Any:
        def wrong(form: Any, *args: Any) -> Any:
            matrix = original(form, *args)
            return matrix * factor if form is lgan_system._coupling else matrix

        return wrong

    return patch("gan_pde.spectral.lgan_assembly._scaled_matrix", wrap=wrap)


@control("lgan.discrete_spectrum", "the coupling block B scaled by 1 + 1e-3 (a perturbed beta)")
def _discrete_coupling() -> Any:
    return _perturbed_coupling(1.0 + 1e-3)


@control(
    "lgan.discrete_spectrum", "the v-equation coupling with the wrong sign (+beta B -> -beta B)"
)
def _discrete_sign() -> Iterator[None]:
    import scipy.sparse as sp

    from gan_pde.spectral import lgan_system

    original = lgan_system.LGANSystem.__init__

    def wrong(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self.operator = sp.bmat(
            [
                [
                    -self.alpha * self.u_mass - self.gamma * self.stiffness,
                    -self.beta * self.coupling.T,
                ],
                [-self.beta * self.coupling, None],
            ],
            format="csr",
        )

    with patch("gan_pde.spectral.lgan_system.LGANSystem.__init__", wrong):
        yield


def _jittered_mesh(lower: float, upper: float, nodes: int) -> Any:
    """P1 nodes jittered by up to 30 % of the spacing (seeded, generic), and one cell near the
    middle shrunk to h/20: the largest xi_h (~120/h^2, localised there) is then simple
    and ~5x the next one, so one mode dominates the late Euler growth after a few hundred
    steps on every mesh size."""
    x = np.linspace(lower, upper, nodes)
    h = x[1] - x[0]
    x[1:-1] += np.random.default_rng(1).uniform(-0.3, 0.3, nodes - 2) * h
    middle = nodes // 2
    x[middle + 1] = x[middle] + 0.05 * h
    return skfem.MeshLine(x)


def _modal_norms(
    system: Any, y0: np.ndarray, factors: np.ndarray, vectors: np.ndarray, steps: int
) -> np.ndarray:
    """||y_n||_{M_w}, n = 0..steps, of y_n = V diag(mu)^n V^-1 y0 (the modal closed form)."""
    coefficients = np.linalg.solve(vectors, y0.astype(complex))
    powers = factors[:, None] ** np.arange(steps + 1)[None, :]
    states = vectors @ (coefficients[:, None] * powers)
    mass = system.mass.toarray()
    return np.sqrt(np.einsum("in,ij,jn->n", states.conj(), mass, states).real)


@register(
    name="lgan.euler_growth",
    paper=PAPER_004,
    reference="(27)-(29)",
    claim=(
        "Gradient descent-ascent (forward Euler with step tau) multiplies every mode lambda by "
        "1 + tau lambda per step, the dominant one by max |1 + tau lambda|; for WGAN this "
        "exceeds 1 for every tau."
    ),
    reference_kind=("closed form", "invariant"),
)
def euler_growth(size: str) -> Outcome:
    """References: the closed-form modal solution y_n = V diag(1 + tau lambda)^n V^-1 y0, with
    the eigenpairs of the pencil (L, M_w) from LAPACK (computed here, independently of the
    time stepper and of the package's eigenvalue code), and the closed-form factor (29)
    |1 + tau lambda|.  Two generic settings, WGAN (0, -1.3, 0) and (0.3, -1.3, 0) (gamma = 0,
    unstable on fine meshes), on N(0.3, 0.8^2); the public factors of
    gan_pde.spectral.lgan are compared with the check's own formula."""
    from gan_pde.densities import Gaussian
    from gan_pde.spectral import lgan
    from gan_pde.spectral.lgan_system import LGANSystem, integrate

    mean, sigma = _LGAN_DENSITY
    nodes, steps = {"quick": (21, 600), "default": (41, 1200), "full": (81, 2400)}[size]
    mesh = _jittered_mesh(mean - 6.0 * sigma, mean + 6.0 * sigma, nodes)
    rho = Gaussian(mean=[mean], cov=[[sigma**2]])
    beta = -1.3
    y_seed = np.random.default_rng(0)
    records, curve_errors, curve_tolerances = {}, [], []
    for name, alpha in (("WGAN", 0.0), ("alpha = 0.3", 0.3)):
        system = LGANSystem(rho, mesh, alpha=alpha, beta=beta)
        _, scale = _dense_spectrum(system)
        values, vectors = scipy.linalg.eig(system.operator.toarray(), system.mass.toarray())
        if name == "WGAN":
            # tau |beta| sqrt(xi_max) ~ 0.3: growth ~4 % per step (600-2400 steps stay far
            # from overflow); tau is rounded to 3 digits, a generic value
            xi_max = float(np.max(np.abs(values)) ** 2 / beta**2)
            tau = float(f"{0.3 / (abs(beta) * np.sqrt(xi_max)):.3g}")
        factors = 1.0 + tau * values
        y0 = y_seed.standard_normal(system.n_u + system.n_v)
        trajectory = integrate(system, y0, tau=tau, steps=steps, scheme="euler")
        modal = _modal_norms(system, y0, factors, vectors, steps)
        # Euler in floating point: each step is backward stable (~eps relative); over n
        # steps the errors add up to ~n eps, amplified by the condition number of the
        # eigenvector basis in the M_w norm (the modal reference has the same n eps from the
        # powers mu^n).  10 n eps kappa bounds both.
        mass_factor = np.linalg.cholesky(system.mass.toarray())
        kappa = float(np.linalg.cond(mass_factor.T @ vectors))
        deviation = np.abs(np.log(trajectory.norm / modal))
        curve_errors.append(float(deviation.max()))
        curve_tolerances.append(10.0 * steps * _EPS * kappa)
        records[name] = {
            "system": system,
            "values": values,
            "factors": factors,
            "trajectory": trajectory,
            "modal": modal,
            "kappa": kappa,
            "scale": scale,
        }
    wgan = records["WGAN"]
    top = float(np.abs(wgan["factors"]).max())
    measured = float(wgan["trajectory"].norm[-1] / wgan["trajectory"].norm[-2])
    predicted_last = float(wgan["modal"][-1] / wgan["modal"][-2])
    # The late ratio tends to max|mu| as the other modes die out; the modal solution says how
    # far it still is after these steps (|predicted_last - top|, ~1e-15 here: the h/20 cell
    # separates the dominant mode), and the ratio of two consecutive norms carries the
    # rounding of one step, ~eps kappa (10 eps kappa bounds it).
    growth_tolerance = abs(predicted_last - top) + 10.0 * _EPS * wgan["kappa"]
    # The public factors against |1 + tau lambda| of the same eigenvalues: lambda carries the
    # QZ round-off n eps ||A||, so |mu| carries tau n eps ||A|| (+ a few eps of the formula).
    public = []
    for record in records.values():
        system = record["system"]
        xi_h = scipy.linalg.eigh(
            system.stiffness.toarray(), system.u_mass.toarray(), eigvals_only=True
        )
        xi_h[0] = 0.0
        mine = float(np.abs(record["factors"]).max())
        public.append(
            abs(
                float(
                    lgan.max_euler_amplification(
                        xi_h, alpha=system.alpha, beta=system.beta, gamma=system.gamma, tau=tau
                    )
                )
                - mine
            )
        )
        public.append(
            float(
                np.abs(
                    lgan.euler_amplification(record["values"], tau) - np.abs(record["factors"])
                ).max()
            )
        )
    size_n = wgan["values"].size
    public_tolerance = tau * size_n * _EPS * max(r["scale"] for r in records.values()) + 4 * _EPS
    # WGAN at every step: |1 + tau i w| = sqrt(1 + tau^2 w^2) > 1; checked for tau / 10^j
    taus = tau / 10.0 ** np.arange({"quick": 3, "default": 4, "full": 5}[size])
    xi_w = np.abs(wgan["values"]) ** 2 / beta**2
    excess = min(
        float(lgan.max_euler_amplification(xi_w, alpha=0.0, beta=beta, tau=t) - 1.0)
        / (t * t * beta**2 * xi_w.max() / 2.0)
        for t in taus
    )
    return Outcome(
        measured=measured,
        expected=top,
        criteria=(
            Criterion(
                "|ln ||y_n|| - ln ||V mu^n V^-1 y_0|| | / (10 n eps kappa), max over n, settings",
                max(e / t for e, t in zip(curve_errors, curve_tolerances, strict=True)),
                1.0,
                "Euler = the map y -> (I + tau A) y exactly: only round-off, n steps of eps "
                "amplified by cond(V)",
            ),
            Criterion(
                "WGAN: |last norm ratio - max|1 + tau lambda|| / (modal rest + round-off)",
                abs(measured - top) / growth_tolerance,
                1.0,
                "the ratio tends to max|mu|; the closed form gives the remaining deviation",
            ),
            Criterion(
                "|lgan euler factors - |1 + tau lambda|| / (tau n eps ||A|| + 4 eps)",
                max(public) / public_tolerance,
                1.0,
                "same eigenvalues: only their QZ round-off and the formula's",
            ),
            Criterion(
                "WGAN: min over tau/10^j of (max|1 + tau lambda| - 1) / (tau^2 beta^2 xi_max / 2)",
                excess,
                0.5,
                "(29): max|1 + tau lambda|^2 = 1 + tau^2 beta^2 xi_max > 1 for every tau; the "
                "ratio is 1 up to O(tau^2 xi_max); > 0.5 shows growth beyond round-off",
                sense=">=",
            ),
        ),
        details={
            "setting": (
                f"(alpha, beta, gamma) = (0, {beta}, 0) and (0.3, {beta}, 0), "
                f"tau = {tau}, {steps} steps"
            ),
            "mesh": f"P1/P0, {nodes} jittered nodes on mu +- 6 sigma, N({mean}, {sigma}^2)",
            "curve deviations (max |ln|)": dict(zip(records, curve_errors, strict=True)),
            "eigenvector condition numbers": {k: r["kappa"] for k, r in records.items()},
            "modal last ratio": predicted_last,
            "max stable step (WGAN)": float(lgan.max_stable_step(wgan["values"], method="euler")),
        },
    )


@control("lgan.euler_growth", "the Euler step taken with tau / 2")
def _euler_half_step() -> Any:
    def wrap(original: Any) -> Any:
        def wrong(system: Any, tau: float, scheme: str, solver: Any = None) -> Any:
            return original(system, tau / 2 if scheme == "euler" else tau, scheme, solver)

        return wrong

    return patch("gan_pde.spectral.lgan_integrate._stepper", wrap=wrap)


@control("lgan.euler_growth", "lgan.euler_amplification computing |1 + tau lambda (1 + 1e-6)|")
def _euler_amplification_wrong() -> Any:
    def wrap(original: Any) -> Any:
        def wrong(lam: Any, tau: Any) -> Any:
            return original(np.asarray(lam) * (1.0 + 1e-6), tau)

        return wrong

    return patch("gan_pde.spectral.lgan.euler_amplification", wrap=wrap)


def _cn_modal_norms(
    xi: np.ndarray, b0: np.ndarray, alpha: float, beta: float, gamma: float, tau: float, steps: int
) -> np.ndarray:
    r"""The energy norm of the lGAN solution from u = 0, v = sum_k b_k grad(w_k)/sqrt(xi_k), by
    Theorem 4's modal decomposition, stepped with Crank-Nicolson's stability function.

    Mode k has coordinates (p, q) on (w_k, grad(w_k)/sqrt(xi_k)), orthonormal in L2(mu), and
    obeys (p, q)' = [[-(alpha + gamma xi), -beta sqrt(xi)], [beta sqrt(xi), 0]] (p, q), whose
    eigenvalues are the roots of (19)/(22); CN multiplies it by (I - tau A/2)^-1 (I + tau A/2)
    per step.  ||w||^2 = sum_k p_k^2 + q_k^2.
    """
    root = np.sqrt(xi)
    matrix = np.zeros((xi.size, 2, 2))
    matrix[:, 0, 0] = -(alpha + gamma * xi)
    matrix[:, 0, 1] = -beta * root
    matrix[:, 1, 0] = beta * root
    identity = np.eye(2)
    step = np.linalg.solve(identity - 0.5 * tau * matrix, identity + 0.5 * tau * matrix)
    state = np.zeros((xi.size, 2))
    state[:, 1] = b0
    norms = np.empty(steps + 1)
    norms[0] = np.sqrt(np.sum(state**2))
    for n in range(1, steps + 1):
        state = np.einsum("kij,kj->ki", step, state)
        norms[n] = np.sqrt(np.sum(state**2))
    return norms


def _window_slope(times: np.ndarray, values: np.ndarray) -> float:
    """Least-squares slope over the second half of the run (as LGANTrajectory.rate)."""
    window = times >= 0.5 * times[-1]
    return float(np.polyfit(times[window], values[window], 1)[0])


def _theorem4_rate(xi_min: float, alpha: float, beta: float, gamma: float) -> float:
    """eta of Theorem 4 on [xi_min, inf), the check's own formula: max(-alpha [alpha > 0],
    Re lambda_+(xi_min), -beta^2/gamma [gamma > 0]) (the tail of the real branch)."""
    candidates = [float(_quadratic_roots(np.array([xi_min]), alpha, beta, gamma).real.max())]
    if alpha > 0:
        candidates.append(-alpha)
    if gamma > 0:
        candidates.append(-(beta**2) / gamma)
    return max(candidates)


@register(
    name="lgan.five_settings",
    paper=PAPER_004,
    reference="Section 7, Figure 1 (bottom), Theorem 4",
    claim=(
        "For ½N(0,1) + ½N(3,1) the five settings of Section 7 decay as Theorem 4's modes "
        "predict: optimal fastest, then the two WGAN-GP settings (equal Theorem 4 rates), "
        "then LSGAN; WGAN conserves the energy."
    ),
    reference_kind=("independent", "closed form", "invariant"),
)
def five_settings(size: str) -> Outcome:
    """References.  The decay curves of mixture_experiment (P2 lGAN + Crank-Nicolson) are
    compared, as VALUES at every step, with Theorem 4's modal solution built from the
    independent sinc eigenpairs (xi_k and <x, w_k>_mu of the mixture,
    :mod:`gan_pde.verify._reference_spectra`) and stepped with CN's stability function; the
    tolerance is the effect of the FEM eigen-data errors on that solution (the same modal
    solution from the package's P2 eigenpairs of the same mesh, against the reference).
    The measured rates (least squares over the second half) are compared with the same fit of
    the reference curve.  The settings are ordered only between groups whose Theorem 4 rates
    eta differ: WGAN-GP with gamma = 2/sqrt(xi_min) and 1/sqrt(xi_min) have the same eta =
    -|beta| sqrt(xi_min)/2 (the first from the tail of its real branch, the second from its
    complex pair), so their order is not a claim of the theory (the previous version ordered
    them by round-off).  WGAN: CN conserves the energy exactly (invariant)."""
    from gan_pde.densities import GaussianMixture
    from gan_pde.mesh import interval
    from gan_pde.spectral.lgan_system import mixture_experiment
    from gan_pde.spectral.weighted_laplacian import weighted_laplacian_spectrum

    separation, margin = 3.0, 8.0
    t_final, tau, cells = {
        "quick": (60.0, 0.05, 60),
        "default": (80.0, 0.02, 120),
        "full": (80.0, 0.01, 240),
    }[size]
    experiment = mixture_experiment(
        separation, t_final=t_final, tau=tau, cells=cells, margin=margin
    )
    steps = experiment.trajectories[0].times.size - 1
    # the independent eigen-data: enough modes that the missing energy 1 - sum b_k^2 of the
    # initial v = 1 is ~1e-8 (b_k^2 falls like ~k^-4 for the odd modes)
    modes = {"quick": 40, "default": 48, "full": 56}[size]
    reference = mixture_spectrum([0.0, separation], [1.0, 1.0], [0.5, 0.5], k=modes, vectors=True)
    xi_ref = reference.eigenvalues[1:]
    b_ref = reference.moments(reference.x)[1:] * np.sqrt(xi_ref)  # b_k = sqrt(xi_k) <x, w_k>
    missing_ref = max(1.0 - float(np.sum(b_ref**2)), 0.0)
    # the package's P2 eigenpairs on the experiment's mesh: all of them (dense), so that the
    # FEM modal solution is complete; b_k,h = sqrt(xi_h) x^T M w_k (Galerkin: exact discrete
    # counterpart of the continuous moments)
    density = GaussianMixture(means=[[0.0], [separation]], stds=[1.0, 1.0], weights=[0.5, 0.5])
    lower, upper = -margin, separation + margin
    spectrum = weighted_laplacian_spectrum(
        density, interval(lower, upper, cells), k=2 * cells + 1, element="P2", method="dense"
    )
    xi_h = spectrum.eigenvalues[1:]
    scaled_x = np.exp(0.5 * spectrum.system.log_scale) * spectrum.basis.doflocs[0]
    b_h = (
        (spectrum.system.mass @ scaled_x)
        @ spectrum.scaled_eigenvectors[:, 1:]
        * np.sqrt(np.maximum(xi_h, 0.0))
    )
    # Richardson estimate of the experiment's xi_min on this mesh
    xi_fine = _fem_eigenvalues(density, lower, upper, 2 * cells, 2)[0]
    xi_estimate = abs(xi_h[0] - xi_fine) / (1.0 - 2.0**-4)
    xi_floor = _round_off("P2", (upper - lower) / cells)
    xi_ratio = abs(experiment.xi_min - xi_ref[0]) / (xi_estimate + reference.error[1] + xi_floor)
    # dense eigh's absolute error bound: a modest multiple of eps * xi_max,h (10 here)
    xi_round_off = 10.0 * _EPS * float(xi_h[-1])

    names = experiment.names
    curve_ratio, identity, rate_error, rate_tolerance = {}, {}, {}, {}
    rates_ref, norms_ref, eta = {}, {}, {}
    window = t_final / 2.0
    for name, (alpha, beta, gamma), trajectory in zip(
        names, experiment.parameters, experiment.trajectories, strict=True
    ):
        measured = np.log(trajectory.norm / trajectory.norm[0])
        with np.errstate(divide="ignore"):
            ref = np.log(_cn_modal_norms(xi_ref, b_ref, alpha, beta, gamma, tau, steps))
            fem = np.log(
                _cn_modal_norms(xi_h, b_h, alpha, beta, gamma, tau, steps) / np.sqrt(np.sum(b_h**2))
            )
        # Floor of the comparisons.  (i) The reference's truncated modes: relative energy
        # missing_ref, decaying no slower than eta, so at most missing_ref e^(2 eta t) / N^2
        # (half of it in ln N).  (ii) Round-off of the steps: each CN step rounds at
        # ~kappa eps ||y_j|| (an LU solve and a product, a few operations each), with
        # kappa = 1 + tau ||M^-1 L|| / 2 <= 1 + tau (alpha + gamma xi_max,h + |beta|
        # sqrt(xi_max,h)) / 2 the conditioning of the CN matrices; in the decaying modes they
        # add up to at most 10 kappa n eps relative (worst case, linear in n; measured up to
        # 1.3e-12 after 7600 LSGAN steps, 1/15 of it).  For alpha = 0 their component in the
        # kernel (the constants of u) is never damped, adds in quadrature to the decaying
        # (M-orthogonal) part, and is <= 10 kappa eps (sum_j ||y_j||^2)^1/2 (random walk:
        # measured 1/10 of it); t_final stops the runs while the alpha = 0 norms are ~1e-9 or
        # more, far above it.
        norm_ref = np.exp(ref)
        eta[name] = _theorem4_rate(xi_ref[0], alpha, beta, gamma)
        truncation = missing_ref * np.exp(2.0 * eta[name] * trajectory.times) / (2.0 * norm_ref**2)
        xi_max = float(xi_h[-1])
        kappa = 1.0 + 0.5 * tau * (alpha + gamma * xi_max + abs(beta) * np.sqrt(xi_max))
        round_off = 10.0 * kappa * (np.arange(steps + 1) + 1.0) * _EPS
        if alpha == 0.0:
            kernel = 10.0 * kappa * _EPS * np.sqrt(np.cumsum(norm_ref**2))
            round_off = round_off + 0.5 * (kernel / norm_ref) ** 2
        floor = truncation + round_off
        # The FEM eigen-data (xi_h, b_h) differ from the exact ones by the discretisation
        # error; the lGAN system of the stable pair has exactly these modes, so its curve
        # differs from the reference by |fem - ref| (measured ratio 1.00).  A factor 2
        # allows for the rest (as the Richardson factor of spectrum.hermite).
        effect = np.abs(fem - ref) + floor
        curve_ratio[name] = float(np.max(np.abs(measured - ref) / effect))
        # the lGAN + CN run against the FEM modal solution: the same discrete dynamics, equal
        # up to round-off: the rounding of the steps (round_off above: linear, kernel)
        # and the eigen-solver's round-off of the xi_h, <= 10 eps xi_max,h each, whose effect is
        # computed by shifting them (near the double root of the optimal setting it grows
        # like t^2); 2 as above.
        shifted = _cn_modal_norms(xi_h + xi_round_off, b_h, alpha, beta, gamma, tau, steps)
        sensitivity = np.abs(np.log(shifted / np.sqrt(np.sum(b_h**2))) - fem)
        identity[name] = float(np.max(np.abs(measured - fem) / (2.0 * sensitivity + round_off)))
        # A least-squares slope over a window W moves by at most 3 d / W when the data move
        # by at most d (|sum (t - tbar) e| / sum (t - tbar)^2 <= d (W^2/4) / (W^3/12)).
        rates_ref[name] = _window_slope(trajectory.times, ref)
        window_mask = trajectory.times >= window
        d = float(np.max((2.0 * effect)[window_mask]))
        rate_error[name] = abs(trajectory.rate() - rates_ref[name])
        rate_tolerance[name] = 3.0 * d / window
        norms_ref[name] = norm_ref
    measured_rates = dict(zip(names, experiment.measured_rates.tolist(), strict=True))
    # Order the groups whose eta differ by more than the rate tolerances: slowest first
    groups: list[list[str]] = []
    for name in sorted(names, key=lambda n: -eta[n]):
        if (
            groups
            and abs(eta[groups[-1][0]] - eta[name])
            <= rate_tolerance[name] + rate_tolerance[groups[-1][0]]
        ):
            groups[-1].append(name)
        else:
            groups.append([name])
    gaps = []
    for slower, faster in zip(groups[:-1], groups[1:], strict=False):
        gap = min(measured_rates[s] for s in slower) - max(measured_rates[f] for f in faster)
        allowance = max(rate_tolerance[s] for s in slower) + max(rate_tolerance[f] for f in faster)
        gaps.append(gap / allowance)
    wgan = experiment.trajectories[names.index("WGAN")]
    drift = float(np.max(np.abs(wgan.norm / wgan.norm[0] - 1.0)))
    drift_tolerance = 10.0 * np.sqrt(steps) * _EPS

    figure = _new_figure()
    axes = figure.subplots()
    for name, trajectory in zip(names, experiment.trajectories, strict=True):
        line = axes.semilogy(trajectory.times, trajectory.norm / trajectory.norm[0], label=name)
        axes.semilogy(
            trajectory.times[::20], norms_ref[name][::20], ".", color=line[0].get_color(), ms=2
        )
    axes.set_xlabel("t")
    axes.set_ylabel("energy norm / initial (dots: modal reference)")
    axes.set_title(f"M = 3, xi_min = {experiment.xi_min:.6f}")
    axes.legend(fontsize="small")
    return Outcome(
        measured=measured_rates,
        expected=rates_ref,
        criteria=(
            Criterion(
                "xi_min: |xi_h - xi_ref| / (e_h + e_ref + floor)",
                float(xi_ratio),
                _VALUE_TOLERANCE,
                _VALUE_REASON,
            ),
            Criterion(
                "|ln N - ln N_ref| / (FEM eigen-data effect + floor), max over settings, t",
                max(curve_ratio.values()),
                2.0,
                "the stable pair has exactly the FEM modes: the curve error is their effect "
                "|N_h - N_ref| (measured ratio 1.0); 2 as Richardson's factor",
            ),
            Criterion(
                "|ln N - ln N_h| / (2 xi_h round-off effect + step round-off), N_h from P2 "
                "eigenpairs",
                max(identity.values()),
                1.0,
                "lGAN + CN are exactly the modal CN solution of the discrete xi_h (stable pair, "
                "Theorem 4 discrete): round-off only, <= 10 kappa_CN eps per step",
            ),
            Criterion(
                "|rate - rate_ref| / (3 d / W), d = 2 x curve effect, max over settings",
                max(rate_error[n] / rate_tolerance[n] for n in names),
                1.0,
                "a least-squares slope over W moves by <= 3 d / W when the curve moves by <= d",
            ),
            Criterion(
                "smallest rate gap between groups of different eta / their tolerances",
                min(gaps, default=float("nan")),
                1.0,
                "Theorem 4 orders groups of different eta; WGAN-GP optimal/sub-optimal share eta",
                sense=">=",
            ),
            Criterion(
                "WGAN: max_t |N(t)/N(0) - 1| / (10 sqrt(n) eps)",
                drift / drift_tolerance,
                1.0,
                "CN conserves the WGAN energy exactly; round-off is a random walk of sqrt(n) eps",
            ),
        ),
        details={
            "Theorem 4 rates eta (with xi_ref)": eta,
            "groups ordered (slowest first)": groups,
            "rate errors": rate_error,
            "rate tolerances": rate_tolerance,
            "curve error / effect": curve_ratio,
            "xi_min (FEM, reference)": [experiment.xi_min, float(xi_ref[0])],
            "reference missing energy 1 - sum b_k^2": missing_ref,
            "WGAN energy drift": drift,
            "run": f"Crank-Nicolson, tau = {tau}, t = {t_final}, P2 on {cells} cells",
        },
        figure=_png(figure),
    )


@control("lgan.five_settings", "Crank-Nicolson with theta = 0.5 + 1e-4 (a theta-scheme)")
def _five_theta() -> Any:
    import scipy.sparse as sp

    from gan_pde.fem.solvers import linear_solver

    def wrap(original: Any) -> Any:
        def wrong(system: Any, tau: float, scheme: str, solver: Any = None) -> Any:
            if scheme != "crank-nicolson":
                return original(system, tau, scheme, solver)
            theta = 0.5 + 1e-4
            lu = linear_solver("superlu", kind="general").factorize(
                sp.csc_matrix(system.mass - theta * tau * system.operator)
            )
            explicit = (system.mass + (1.0 - theta) * tau * system.operator).tocsr()
            return (lambda y: lu.solve(explicit @ y)), lu

        return wrong

    return patch("gan_pde.spectral.lgan_integrate._stepper", wrap=wrap)


@control("lgan.five_settings", "the coupling block B scaled by 1 + 1e-4 (a perturbed beta)")
def _five_coupling() -> Any:
    return _perturbed_coupling(1.0 + 1e-4)
