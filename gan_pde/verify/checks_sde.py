"""The checks of ``gan-pde verify`` for paper 000 (Cao & Guo): SDE approximations of GANs.

Weak orders from exact moments of quadratic losses (no Monte-Carlo noise), b1 by
Hessian–vector products against the dense Hessian, the fluctuation–dissipation relations
exactly and by long runs with confidence intervals, and the invariant measure by FEM.
The torch checks fail with MissingDependencyError when torch is missing.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gan_pde.verify._common import _new_figure, _png
from gan_pde.verify.registry import Outcome, register

PAPER_000 = "000_001297c5b8e8fac9.txt"


def _data(n: int, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(1.0, 0.5, n), rng.normal(0.0, 1.0, n)


@register(
    name="sde.weak_order_exact",
    paper=PAPER_000,
    reference="Theorems 3.1, 3.2, Remark 3.1",
    claim=(
        "ALT-SDE is a weak order-2 approximation of (ALT), SML-SDE a weak order-1 "
        "approximation of (SML), and SML-SDE approximates (ALT) only to first order."
    ),
)
def weak_order_exact(size: str) -> Outcome:
    from gan_pde.sde.quadratic import location_scale_wgan
    from gan_pde.sde.studies import PAIRS, exact_weak_orders

    x, z = _data(6 if size == "quick" else 12)
    game = location_scale_wgan(x, z, weight_decay=0.5)
    etas = [0.1, 0.05, 0.025, 0.0125] + ([0.00625] if size == "full" else [])
    study = exact_weak_orders(game, [0.4, -0.1, -0.6], etas, batch_size=2, t_final=1.0)
    expected = {label: order for label, _, _, order in PAIRS}
    # exact moments: the only deviation from the asymptotic order is the next term of the
    # error expansion, O(η) relative over η ≤ 0.1 (measured within 0.05)
    passed = all(abs(study["slopes"][k] - v) <= 0.15 for k, v in expected.items())
    figure = _new_figure()
    axes = figure.subplots()
    for label, errors in study["errors"].items():
        axes.loglog(etas, errors, "o-", label=f"{label}: slope {study['slopes'][label]:.2f}")
    axes.set_xlabel("learning rate η")
    axes.set_ylabel("max_t max_f |E f(SGA) − E f(SDE)|")
    axes.legend(fontsize=8)
    return Outcome(
        measured=study["slopes"],
        expected=expected,
        tolerance=0.15,
        passed=passed,
        details={
            "etas": etas,
            "errors": study["errors"],
            "problem": "location-scale WGAN with weight decay 0.5 (multiplicative noise), B=2, T=1",
            "observables": "E γ_i and E γ_iγ_j, exact recursions and moment ODEs",
        },
        figure=_png(figure),
    )


@register(
    name="sde.b1_hvp",
    paper=PAPER_000,
    reference="(10)",
    claim="b1 from two Hessian-vector products equals ½R(∇²Φ)b0 from the dense Hessian.",
)
def b1_hvp(size: str) -> Outcome:
    import torch

    from gan_pde.sde.coefficients import mlp_gan

    generator = torch.Generator().manual_seed(0)
    hidden = {"quick": 4, "default": 16, "full": 32}[size]
    sde = mlp_gan(
        torch.randn(6, 2, generator=generator, dtype=torch.float64),
        torch.randn(5, 2, generator=generator, dtype=torch.float64),
        hidden=hidden,
        weight_decay=0.1,
    )
    gamma = 0.3 * torch.randn(sde.dimension, generator=generator, dtype=torch.float64)
    errors = {}
    for kind in ("alt", "sml2"):
        hvp, dense = sde.correction(gamma, kind), sde.dense_correction(gamma, kind)
        errors[kind] = float((hvp - dense).abs().max() / dense.abs().max())
    # same sums in another order: relative round-off, a few ulps times the parameter count
    tolerance = 1e-12
    return Outcome(
        measured=errors,
        expected=0.0,
        tolerance=tolerance,
        passed=max(errors.values()) <= tolerance,
        details={"parameters": sde.dimension, "network": f"one-hidden-layer tanh, width {hidden}"},
    )


@register(
    name="sde.fdr_exact",
    paper=PAPER_000,
    reference="Theorems 4.2, 4.3",
    claim=(
        "At the invariant measure, FDR1 holds for ALT-SDE (with the −η/2 curvature term) and "
        "SML-SDE, and FDR2 holds for SML-SDE."
    ),
)
def fdr_exact(size: str) -> Outcome:
    from gan_pde.sde.quadratic import location_gan, location_scale_wgan

    x, z = _data(6)
    games = {
        "additive": location_gan(x, z, curvature=0.5, weight_decay=1.0),
        "multiplicative": location_scale_wgan(x, z, weight_decay=0.5),
    }
    gaps: dict[str, float] = {}
    for name, game in games.items():
        for kind in ("alt", "sml"):
            q = game.stationary_moments(kind, eta=0.3, batch_size=2)
            fdr = game.fdr_expectations(q, eta=0.3, batch_size=2)
            gaps[f"{name}/{kind}/FDR1"] = float(fdr["fdr1_lhs"] - fdr[f"fdr1_rhs_{kind}"])
            if kind == "sml":
                gaps[f"{name}/sml/FDR2"] = float(fdr["fdr2_lhs"] - fdr["fdr2_rhs"])
            else:
                gaps[f"{name}/alt/FDR2 (not claimed)"] = float(fdr["fdr2_lhs"] - fdr["fdr2_rhs"])
    claimed = {k: v for k, v in gaps.items() if "not claimed" not in k}
    # exact moments from one linear solve: round-off
    return Outcome(
        measured=gaps,
        expected=0.0,
        tolerance=1e-10,
        passed=max(abs(v) for v in claimed.values()) <= 1e-10,
        details={
            "eta": 0.3,
            "batch_size": 2,
            "note": "FDR2 under ALT-SDE is off by O(η): Theorem 4.3 is for SML-SDE only",
        },
    )


@register(
    name="sde.invariant_fem",
    paper=PAPER_000,
    reference="Theorem 4.1",
    claim=(
        "With weight decay the ALT-SDE is dissipative and has a unique invariant measure; "
        "its stationary Fokker-Planck solution (FEM) matches the exact Gaussian."
    ),
    level="default",
)
def invariant_fem(size: str) -> Outcome:
    from scipy.stats import multivariate_normal

    from gan_pde.mesh import rectangle
    from gan_pde.sde.fokker_planck import stationary_fokker_planck
    from gan_pde.sde.quadratic import location_gan, moments_of

    x, z = _data(8)
    game = location_gan(x, z, curvature=0.5, weight_decay=1.0)
    eta, batch = 0.5, 1
    mean, cov = moments_of(game.stationary_moments("alt", eta=eta, batch_size=batch))
    b, a, div = game.fokker_planck_coefficients("alt", eta=eta, batch_size=batch)
    cells = [10, 20, 40] + ([80] if size == "full" else [])
    half = 6 * np.sqrt(np.diag(cov))
    errors, fem = [], None
    for n in cells:
        mesh = rectangle(
            (mean[0] - half[0], mean[0] + half[0]), (mean[1] - half[1], mean[1] + half[1]), n=(n, n)
        )
        fem = stationary_fokker_planck(b, a, mesh, divergence=div)
        xq = fem.basis.mapping.F(fem.basis.X)
        exact = multivariate_normal(mean, cov).pdf(np.stack([xq[0], xq[1]], -1))
        errors.append(
            float(np.sqrt(np.sum((fem.basis.interpolate(fem.values) - exact) ** 2 * fem.basis.dx)))
        )
    slope = float(np.polyfit(np.log(cells), np.log(errors), 1)[0])
    covariance_error = float(np.abs(fem.covariance - cov).max() / np.abs(cov).max())
    # P1 Galerkin: L2 error O(h²) (slope −2 ± 0.2 for pre-asymptotic curvature); the
    # finest-mesh covariance within 1 % (O(h²) ≈ 3e-3 measured)
    passed = abs(slope + 2.0) <= 0.2 and covariance_error <= 1e-2
    figure = _new_figure()
    axes = figure.subplots()
    axes.tricontourf(
        fem.basis.mesh.p[0], fem.basis.mesh.p[1], fem.values[: fem.basis.mesh.p.shape[1]], 20
    )
    axes.set_xlabel("θ")
    axes.set_ylabel("ω")
    axes.set_title(f"FEM invariant density; L2 error slope {slope:.2f}")
    return Outcome(
        measured={"l2_slope": slope, "covariance_rel_error": covariance_error},
        expected={"l2_slope": -2.0, "covariance_rel_error": 0.0},
        tolerance={"l2_slope": 0.2, "covariance_rel_error": 1e-2},
        passed=passed,
        details={
            "cells": cells,
            "l2_errors": errors,
            "exact_mean": mean.tolist(),
            "exact_covariance": cov.tolist(),
            "dissipative": game.is_dissipative("alt", eta=eta),
        },
        figure=_png(figure),
    )


def _tanh_gan_sde() -> tuple[Any, np.ndarray]:
    """The dissipative tanh GAN of the long-run checks and its deterministic equilibrium."""
    import functools

    import scipy.optimize
    import torch

    from gan_pde.sde.coefficients import GANSDE, tanh_gan_loss

    x, z = _data(6)
    sde = GANSDE(
        functools.partial(tanh_gan_loss, weight_decay=1.0, curvature=0.3),
        torch.as_tensor(x),
        torch.as_tensor(z),
        d_theta=1,
        d_omega=1,
    )
    start = scipy.optimize.fsolve(lambda g: sde.drift0(torch.as_tensor(g)).numpy(), [0.0, 0.5])
    return sde, start


@register(
    name="sde.invariant_fem_nonlinear",
    paper=PAPER_000,
    reference="Theorem 4.1",
    claim=(
        "For a dissipative nonlinear GAN the invariant measure of the ALT-SDE (long runs) "
        "solves the stationary Fokker-Planck equation (FEM with coefficients from torch)."
    ),
    level="default",
)
def invariant_fem_nonlinear(size: str) -> Outcome:
    from gan_pde.mesh import rectangle
    from gan_pde.sde.fokker_planck import stationary_fokker_planck
    from gan_pde.sde.longrun import long_run

    sde, start = _tanh_gan_sde()
    n_paths = {"default": 2000, "full": 20000}.get(size, 1000)
    run = long_run(sde, start, eta=0.4, batch_size=2, t_final=6.0, n_paths=n_paths)
    b, a, div = sde.fokker_planck_coefficients("alt", eta=0.4, batch_size=2)
    half = 7 * np.sqrt(np.diag(run.covariance))
    lower, upper = run.mean - half, run.mean + half
    cells = 80 if size == "full" else 40
    mesh = rectangle((lower[0], upper[0]), (lower[1], upper[1]), n=(cells, cells))
    fem = stationary_fokker_planck(b, a, mesh, divergence=div)
    z_mean = np.abs(fem.mean - run.mean) / run.mean_stderr
    z_cov = np.abs(fem.covariance - run.covariance) / run.covariance_stderr
    # FEM error < 1e-4 (20 vs 40 cells differ by 7e-5) is far below the MC standard errors
    # (2e-4 to 3e-3): agreement within 4.5 standard errors
    passed = bool(z_mean.max() <= 4.5 and z_cov.max() <= 4.5)
    figure = _new_figure()
    axes = figure.subplots()
    points = fem.basis.mesh.p
    axes.tricontour(points[0], points[1], fem.values[: points.shape[1]], 8)
    axes.plot(run.samples[:500, 0], run.samples[:500, 1], ".", ms=2, alpha=0.5)
    axes.set_xlabel("θ")
    axes.set_ylabel("ω")
    axes.set_title("FEM invariant density (contours) and SDE long run (dots)")
    return Outcome(
        measured={"max_z_mean": float(z_mean.max()), "max_z_covariance": float(z_cov.max())},
        expected=0.0,
        tolerance=4.5,
        passed=passed,
        details={
            "fem_mean": fem.mean.tolist(),
            "mc_mean": run.mean.tolist(),
            "fem_covariance": fem.covariance.tolist(),
            "mc_covariance": run.covariance.tolist(),
            "mc_covariance_stderr": run.covariance_stderr.tolist(),
            "problem": "tanh GAN G=θ+z, D=tanh(ωx) + 0.3x²/2, weight decay 1.0, η=0.4, B=2",
            "cells": cells,
            "n_paths": n_paths,
        },
        figure=_png(figure),
    )


@register(
    name="sde.fdr_monte_carlo",
    paper=PAPER_000,
    reference="Theorems 4.2, 4.3",
    claim="Long runs of the SDEs satisfy FDR1 (ALT-SDE, SML-SDE) and FDR2 (SML-SDE).",
    level="default",
)
def fdr_monte_carlo(size: str) -> Outcome:
    from gan_pde.sde.longrun import long_run

    # start at the deterministic equilibrium b0 = 0; by t = 6 the covariance has relaxed
    # (rate 2(λ − κ) = 1.4: e^{-8.4} ≈ 2e-4)
    sde, start = _tanh_gan_sde()
    n_paths = {"default": 1000, "full": 20000}.get(size, 500)
    gaps: dict[str, Any] = {}
    passed = True
    for kind in ("alt", "sml"):
        run = long_run(
            sde,
            start,
            eta=0.4,
            batch_size=2,
            t_final=6.0,
            kind=kind,
            n_paths=n_paths,
            substeps=4,
        )
        keys = ["fdr1_gap"] + (["fdr2_gap"] if kind == "sml" else [])
        for key in keys:
            value, half = run.fdr[key]
            gaps[f"{kind}/{key}"] = {"estimate": value, "ci95": half}
            # the CI is the 95 % band of the Monte-Carlo error; the Richardson bias
            # (h = η/4 = 0.1) is well below it at these sample sizes
            passed = passed and abs(value) <= 1.3 * half
    return Outcome(
        measured=gaps,
        expected=0.0,
        tolerance="|gap| ≤ 1.3 × 95 % CI half-width",
        passed=passed,
        details={
            "problem": "tanh GAN G=θ+z, D=tanh(ωx) + 0.3x²/2, weight decay 1.0",
            "n_paths": n_paths,
            "eta": 0.4,
            "batch_size": 2,
            "t_final": 6.0,
        },
    )


@register(
    name="sde.weak_order_monte_carlo",
    paper=PAPER_000,
    reference="Theorems 3.1, 3.2, Remark 3.1",
    claim=(
        "On a small nonlinear GAN, SML-SDE is first order for (SML) and for (ALT), while "
        "ALT-SDE is closer to (ALT)."
    ),
    level="full",
)
def weak_order_monte_carlo(size: str) -> Outcome:
    import functools

    import torch

    from gan_pde.sde.coefficients import GANSDE, tanh_gan_loss
    from gan_pde.sde.studies import monte_carlo_weak_errors

    x, z = _data(8)
    sde = GANSDE(
        functools.partial(tanh_gan_loss, weight_decay=0.1),
        torch.as_tensor(x),
        torch.as_tensor(z),
        d_theta=2,
        d_omega=2,
    )
    etas = [0.4, 0.2, 0.1]
    study = monte_carlo_weak_errors(
        sde,
        [0.0, 1.0, 1.0, 0.0],
        etas,
        batch_size=2,
        t_final=2.0,
        n_paths=10000,
        substeps=4,
        observable=2,
    )
    slopes = study["slopes"]
    # first-order slopes within 0.3 (MC error bars ≈ 2–5 % of these errors; measured 1.01
    # and 1.06 with 10 000 paths, ≈ 7 min on 2 cores); ALT-SDE error
    # below the SML-SDE error for (ALT) at every η by more than 2 combined SE
    first = all(abs(slopes[k] - 1.0) <= 0.3 for k in ("SML~SML-SDE", "ALT~SML-SDE"))
    closer = all(
        b - a > 2 * (sa + sb)
        for a, b, sa, sb in zip(
            study["errors"]["ALT~ALT-SDE"],
            study["errors"]["ALT~SML-SDE"],
            study["stderr"]["ALT~ALT-SDE"],
            study["stderr"]["ALT~SML-SDE"],
            strict=True,
        )
    )
    figure = _new_figure()
    axes = figure.subplots()
    for label, errors in study["errors"].items():
        axes.errorbar(
            etas,
            errors,
            yerr=study["stderr"][label],
            fmt="o-",
            capsize=3,
            label=f"{label}: slope {slopes[label]:.2f}",
        )
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("η")
    axes.set_ylabel("|E ω_1(SGA) − E ω_1(SDE)| at T = 2")
    axes.legend(fontsize=8)
    return Outcome(
        measured=slopes,
        expected={"SML~SML-SDE": 1.0, "ALT~SML-SDE": 1.0, "ALT~ALT-SDE": "below ALT~SML-SDE"},
        tolerance=0.3,
        passed=first and closer,
        details=study,
        figure=_png(figure),
    )
