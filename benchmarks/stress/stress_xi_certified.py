r"""Stress cases for the certified Poincaré constant ``adaptive_poincare``.

ξ_min = ξ_1 of random 1D Gaussian mixtures (the space of ``stress_spectrum_1d``) and of
random rotated anisotropic 2D Gaussians, by adaptive refinement from a coarse mesh (P1 or
P2, random tolerance and Dörfler fraction).

**References.**  1D: the finite-volume Sturm–Liouville reference of
``stress_spectrum_1d`` on the same interval (relative-accuracy bisection, Richardson;
independent of the package).  2D: the exact ξ_1 = 1/σ_max² of N(m, Σ) (the
Ornstein–Uhlenbeck spectrum), up to the truncation of the box at ``reach`` standard
deviations (relative effect ≤ reach^{d+2} e^{−reach²/2} for the linear mode).

**Checks** (the claims of ``AdaptiveResult``):

- the error bar contains the reference: |ξ_min − ξ_ref| ≤ ``error_estimate`` (η² plus
  the measured quadrature effect; conforming, ξ_min is an upper bound up to that
  quadrature effect), up to the reference or truncation error and the round-off of the
  pencil;
- ``converged`` (estimate ≤ tol·ξ_min) unless the dof budget stopped the loop (the
  error bar is checked either way);
- the Rayleigh upper bound ``upper_bound`` ≥ ξ_ref (same slack).

A failure of the first check with ``converged`` true means the estimator under-estimated
the error: the certificate would be wrong.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
from campaign import Checks, Outcome, modules, refused, wrong

import gan_pde as gp
from gan_pde.errors import AccuracyWarning, GanPdeError
from gan_pde.spectral.adaptive import adaptive_poincare

SOLVER = "xi-certified"
DESCRIPTION = (
    "adaptive_poincare (certified ξ_min) on random 1D Gaussian mixtures and rotated 2D "
    "Gaussians, P1/P2, from coarse meshes"
)
CHECKS = (
    "error bar ξ_min ± estimate contains the FV Sturm–Liouville reference (1D) or the "
    "exact 1/σ_max² (2D); Rayleigh bound ≥ reference"
)
FULL_COUNT = 60
CI_COUNT = 4

#: log10 ranges of the tolerance by scale and order (the CI sample keeps few iterations)
_TOLS = {"full": {1: (-5, -3), 2: (-8, -5)}, "ci": {1: (-4, -3), 2: (-6, -4)}}
#: Round-off of ξ_min relative to the pencil scale ~ c/h_min² (backward errors ~1e-15).
_ROUND_OFF = 1e-14


def cases(rng: np.random.Generator, n: int, scale: str) -> list[dict[str, Any]]:
    one_d = modules()["spectrum-1d"]
    out = []
    for _ in range(n):
        order = int(rng.integers(1, 3))
        if scale == "ci" or rng.random() < 0.7:
            mixture = one_d.cases(rng, 1, scale)[0]
            case = {
                "dim": 1,
                "means": mixture["means"],
                "stds": mixture["stds"],
                "weights": mixture["weights"],
                "reach": mixture["reach"],
                "cells": int(rng.integers(4, 30)),
                # P1 needs ~tol^{-1/2} cells: keep its tolerances moderate
                "tol": float(10 ** rng.uniform(*_TOLS[scale][order])),
            }
        else:
            ratio = float(np.exp(rng.uniform(0.0, np.log(3.0))))
            sigmas = np.array([1.0, ratio]) * rng.uniform(0.5, 2.0)
            angle = float(rng.uniform(0.0, np.pi))
            case = {
                "dim": 2,
                "sigmas": [float(s) for s in sigmas],
                "angle": angle,
                "mean": [float(v) for v in rng.uniform(-2.0, 2.0, 2)],
                "reach": float(rng.uniform(7.0, 8.5)),
                "cells": int(rng.integers(3, 7)),
                "tol": float(
                    10 ** rng.uniform(-5, -3) if order == 2 else 10 ** rng.uniform(-3, -2)
                ),
            }
        case["element"] = f"P{order}"
        # Dörfler fraction; a larger one needs fewer iterations (the CI sample)
        case["theta"] = float(rng.uniform(0.3, 0.7) if scale == "full" else rng.uniform(0.6, 0.8))
        case["max_dofs"] = 30_000 if case["dim"] == 2 else 20_000
        out.append(case)
    return out


def _problem(case: dict[str, Any]):
    """Density, initial mesh, reference ξ_1 and its error bound."""
    if case["dim"] == 1:
        one_d = modules()["spectrum-1d"]
        means, stds = np.array(case["means"]), np.array(case["stds"])
        a = float(np.min(means - case["reach"] * stds))
        b = float(np.max(means + case["reach"] * stds))

        def logrho(x):
            return one_d.log_mixture(x, case["means"], case["stds"], case["weights"])

        values, errors = one_d.reference_spectrum(logrho, a, b, 2, 4000)
        rho = gp.GaussianMixture(
            means=[[m] for m in case["means"]], stds=case["stds"], weights=case["weights"]
        )
        return rho, gp.mesh.interval(a, b, n=case["cells"]), float(values[1]), float(errors[1])
    sigmas = np.array(case["sigmas"])
    c, s = math.cos(case["angle"]), math.sin(case["angle"])
    rot = np.array([[c, -s], [s, c]])
    cov = rot @ np.diag(sigmas**2) @ rot.T
    half = case["reach"] * np.sqrt(np.diag(cov))
    lows, highs = np.array(case["mean"]) - half, np.array(case["mean"]) + half
    mesh = gp.mesh.rectangle(
        (float(lows[0]), float(highs[0])), (float(lows[1]), float(highs[1])), n=case["cells"]
    )
    exact = 1.0 / sigmas.max() ** 2
    reach = case["reach"]
    # truncation: the linear mode's weighted mass outside the box, relative (module doc)
    truncation = exact * reach**4 * math.exp(-0.5 * reach**2)
    return gp.Gaussian(mean=case["mean"], cov=cov), mesh, exact, truncation


def run(case: dict[str, Any]) -> Outcome:
    rho, mesh, reference, ref_error = _problem(case)
    metrics = {"reference": reference}
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", AccuracyWarning)
            result = adaptive_poincare(
                rho,
                mesh,
                element=case["element"],
                tol=case["tol"],
                theta=case["theta"],
                max_dofs=case["max_dofs"],
            )
    except GanPdeError as err:
        return wrong(f"{type(err).__name__} on a well-posed case: {err}", **metrics)
    warned = [str(w.message) for w in caught if issubclass(w.category, AccuracyWarning)]
    h_min = float(np.min(gp.mesh.cell_volumes(result.mesh)) ** (1 / result.mesh.dim()))
    order = int(case["element"][1])
    slack = ref_error + _ROUND_OFF * 12 * order**2 / h_min**2
    checks = Checks()
    xi, eta2 = result.xi_min, result.error_estimate
    checks.true(bool(np.isfinite(xi) and np.isfinite(eta2) and eta2 >= 0), "finite xi, eta^2")
    checks.less(abs(xi - reference) - eta2, slack, "|xi_min - reference| beyond the error bar by")
    checks.less(reference - result.upper_bound, slack, "reference above Rayleigh bound by")
    # the loop stops unconverged only when the next mesh would exceed max_dofs
    iterations = len(result.history["n_dofs"])
    checks.true(bool(result.converged or iterations < 60), "not converged in 60 iterations")
    metrics.update(
        {
            "relative error": abs(xi - reference) / reference,
            "effectivity (error / estimate)": (xi - reference) / eta2 if eta2 > 0 else math.nan,
            "n_dofs": int(result.history["n_dofs"][-1]),
            "iterations": len(result.history["n_dofs"]),
            "converged": bool(result.converged),
            "accuracy_warnings": len(warned),
        }
    )
    if checks.failures and warned:
        return refused(f"AccuracyWarning ({warned[0][:90]}...) and {checks.failures[0]}")
    return checks.outcome(**metrics)
