"""Paper 000 (Cao–Guo) on quadratic losses: exact moments, weak orders, invariant measure, FDRs.

numpy only (no torch): the SGA moment recursions and the SDE moment ODEs are exact, so the
fitted weak-order slopes carry no Monte-Carlo noise.
"""

from __future__ import annotations

import contextlib

import numpy as np
import pytest

import gan_pde as gp
from gan_pde.errors import InvalidInputError, NumericalBreakdownError
from gan_pde.sde.fokker_planck import stationary_fokker_planck
from gan_pde.sde.quadratic import (
    NonDissipativeWarning,
    QuadraticGame,
    location_gan,
    location_scale_wgan,
    moments_of,
)

RNG = np.random.default_rng(7)
X = RNG.normal(1.0, 0.5, 5)
Z = RNG.normal(0.0, 1.0, 4)
GAMES = {
    "additive": location_gan(X, Z, curvature=0.5, weight_decay=1.0),
    "multiplicative": location_scale_wgan(X, Z, weight_decay=0.5),
}
ETAS = np.array([0.1, 0.05, 0.025, 0.0125])


def _observables(q: np.ndarray) -> np.ndarray:
    """E f for f = γ_i and f = γ_i γ_j: the mean column and the second-moment block."""
    d = q.shape[-1] - 1
    rows, cols = np.triu_indices(d)
    return np.concatenate([q[..., :d, d], q[..., rows, cols]], axis=-1)


def _weak_errors(game: QuadraticGame, scheme: str, kind: str, t_final: float = 1.0):
    gamma0 = np.linspace(0.4, -0.6, game.dimension)
    errors = []
    for eta in ETAS:
        steps = round(t_final / eta)
        sga = game.sga_moments(gamma0, eta=eta, batch_size=2, steps=steps, scheme=scheme)
        sde = game.sde_moments(gamma0, eta=eta, batch_size=2, steps=steps, kind=kind)
        errors.append(np.abs(_observables(sga) - _observables(sde)).max())
    return np.polyfit(np.log(ETAS), np.log(errors), 1)[0]


@pytest.mark.parametrize("name", GAMES)
@pytest.mark.parametrize(
    ("scheme", "kind", "order"),
    [("alt", "alt", 2.0), ("sml", "sml", 1.0), ("alt", "sml", 1.0)],
    ids=["ALT~ALT-SDE(Thm3.1)", "SML~SML-SDE(Thm3.2)", "ALT~SML-SDE(Rem3.1)"],
)
def test_weak_order_slopes(name, scheme, kind, order):
    # exact moments: the slope over η = 0.1 … 0.0125 deviates from the asymptotic order only
    # by the next term of the error expansion, O(η) relative; measured within 0.07
    slope = _weak_errors(GAMES[name], scheme, kind)
    assert slope == pytest.approx(order, abs=0.15)


def test_local_error_of_the_mean_is_third_order():
    # one step: E Δ_ALT − E Δ_ALT-SDE = O(η³) is what fixes b1 (10); a sign error in b1
    # would leave an O(η²) local error (slope 2)
    game = GAMES["multiplicative"]
    gamma0 = np.array([0.3, 0.8, -0.4])
    errors = []
    for eta in ETAS:
        sga = game.sga_moments(gamma0, eta=eta, batch_size=3, steps=1, scheme="alt")
        sde = game.sde_moments(gamma0, eta=eta, batch_size=3, steps=1, kind="alt")
        errors.append(np.abs(sga[-1, :3, 3] - sde[-1, :3, 3]).max())
    assert np.polyfit(np.log(ETAS), np.log(errors), 1)[0] == pytest.approx(3.0, abs=0.15)


def test_modified_sml_sde_needs_uncorrelated_noise():
    # (14) is second order for (SML) only when the θ- and ω-gradient noises are uncorrelated:
    # (SML) draws both from one batch, (11) draws them independently.  Additive game:
    # Cov(g_θ, g_ω) = κ Var z ≠ 0 at every γ, so (14) stays first order.
    assert _weak_errors(GAMES["additive"], "sml", "sml2") == pytest.approx(1.0, abs=0.3)


def test_sga_one_batch_moments_match_enumeration():
    # exact E over all n^B batches for B = 2 (i.i.d. draws) on the additive game
    game = location_gan(X[:2], Z[:2], curvature=0.5, weight_decay=1.0)
    gamma0 = np.array([0.2, -0.1])
    eta = 0.3
    q = game.sga_moments(gamma0, eta=eta, batch_size=2, steps=1, scheme="alt")[-1]
    n = game.n_samples
    total = np.zeros((3, 3))
    for a in range(n):
        for b in range(n):
            for c in range(n):
                for e in range(n):
                    h1 = 0.5 * (game.hessians[a] + game.hessians[b])
                    l1 = 0.5 * (game.linear[a] + game.linear[b])
                    h2 = 0.5 * (game.hessians[c] + game.hessians[e])
                    l2 = 0.5 * (game.linear[c] + game.linear[e])
                    omega = gamma0[1] + eta * (h1[1] @ gamma0 + l1[1])
                    half = np.array([gamma0[0], omega])
                    theta = gamma0[0] - eta * (h2[0] @ half + l2[0])
                    xi = np.array([theta, omega, 1.0])
                    total += np.outer(xi, xi)
    # same sums in another order: round-off only
    np.testing.assert_allclose(q, total / n**4, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", GAMES)
@pytest.mark.parametrize("kind", ["alt", "sml"])
def test_fdr_identities_exact(name, kind):
    # Theorems 4.2/4.3 at the exact invariant moments: FDR1 holds for both SDEs (with the
    # −η/2 curvature term for ALT), FDR2 for SML-SDE; round-off tolerance
    game = GAMES[name]
    q = game.stationary_moments(kind, eta=0.3, batch_size=2)
    fdr = game.fdr_expectations(q, eta=0.3, batch_size=2)
    assert fdr["fdr1_lhs"] == pytest.approx(fdr[f"fdr1_rhs_{kind}"], abs=1e-12)
    if kind == "sml":
        assert fdr["fdr2_lhs"] == pytest.approx(fdr["fdr2_rhs"], abs=1e-12)
    else:
        # FDR2 is not claimed for ALT-SDE: the ηb1 term leaves an O(η) gap
        assert abs(fdr["fdr2_lhs"] - fdr["fdr2_rhs"]) > 1e-4


def test_stationary_moments_solve_lyapunov_equation():
    # additive noise: the ALT-SDE is an OU process, μ* = N(−M⁻¹v, C), MC + CM^T + a = 0
    game = GAMES["additive"]
    eta, batch = 0.4, 2
    mean, cov = moments_of(game.stationary_moments("alt", eta=eta, batch_size=batch))
    m, v = game.drift_matrix("alt", eta)
    a = game.fokker_planck_coefficients("alt", eta=eta, batch_size=batch)[1](mean[None])[0]
    np.testing.assert_allclose(mean, -np.linalg.solve(m, v), atol=1e-12)
    np.testing.assert_allclose(m @ cov + cov @ m.T + a, 0.0, atol=1e-12)


def test_fokker_planck_fem_converges_to_gaussian():
    # P1 Galerkin: L² error of the density O(h²); fitted slope within 0.2 of 2
    from scipy.stats import multivariate_normal

    game = GAMES["additive"]
    eta, batch = 0.5, 1
    mean, cov = moments_of(game.stationary_moments("alt", eta=eta, batch_size=batch))
    b, a, div = game.fokker_planck_coefficients("alt", eta=eta, batch_size=batch)
    errors = []
    cells = [10, 20, 40]
    half = 6 * np.sqrt(np.diag(cov))
    for n in cells:
        mesh = gp.mesh.rectangle(
            (mean[0] - half[0], mean[0] + half[0]), (mean[1] - half[1], mean[1] + half[1]), n=(n, n)
        )
        fem = stationary_fokker_planck(b, a, mesh, divergence=div)
        xq = fem.basis.mapping.F(fem.basis.X)
        exact = multivariate_normal(mean, cov).pdf(np.stack([xq[0], xq[1]], -1))
        diff = fem.basis.interpolate(fem.values) - exact
        errors.append(np.sqrt(np.sum(diff**2 * fem.basis.dx)))
    assert np.polyfit(np.log(cells), np.log(errors), 1)[0] == pytest.approx(-2.0, abs=0.2)
    # moments on the finest mesh: O(h²) ≈ 2e-3 relative, the truncation at 6σ ~1e-8
    np.testing.assert_allclose(fem.covariance, cov, rtol=5e-3)


def test_fokker_planck_divergence_matches_finite_differences():
    # multiplicative noise: ∇·a by hand vs central differences (O(ε²) = 1e-12 error)
    game = GAMES["multiplicative"]
    _, a, div = game.fokker_planck_coefficients("alt", eta=0.2, batch_size=2)
    points = RNG.normal(size=(5, 3))
    eps = 1e-6
    numeric = np.zeros((5, 3))
    for j in range(3):
        step = eps * np.eye(3)[j]
        numeric += (a(points + step)[:, :, j] - a(points - step)[:, :, j]) / (2 * eps)
    np.testing.assert_allclose(div(points), numeric, atol=1e-8)


def test_non_dissipative_warns():
    game = location_gan(X, Z, curvature=1.5, weight_decay=1.0)  # λ < κ: not dissipative
    assert not game.is_dissipative("sml")
    with (
        pytest.warns(NonDissipativeWarning, match="not dissipative"),
        contextlib.suppress(NumericalBreakdownError),
    ):
        game.stationary_moments("sml", eta=0.1, batch_size=2)


def test_bad_input():
    game = GAMES["additive"]
    with pytest.raises(InvalidInputError, match="eta"):
        game.sga_moments([0.0, 0.0], eta=0.0, batch_size=2, steps=1)
    with pytest.raises(InvalidInputError, match="eta"):
        game.sde_moments([0.0, 0.0], eta=float("nan"), batch_size=2, steps=1)
    with pytest.raises(InvalidInputError, match=r"batch_size must lie in \[1, 20\]"):
        game.sga_moments([0.0, 0.0], eta=0.1, batch_size=0, steps=1)
    with pytest.raises(InvalidInputError, match="batch_size"):
        game.sga_moments([0.0, 0.0], eta=0.1, batch_size=21, steps=1)
    with pytest.raises(InvalidInputError, match="gamma0"):
        game.sga_moments([np.nan, 0.0], eta=0.1, batch_size=2, steps=1)
    with pytest.raises(InvalidInputError, match="finite"):
        QuadraticGame(np.full((2, 2, 2), np.nan), np.zeros((2, 2)), 1)
    with pytest.raises(InvalidInputError, match="x"):
        location_gan([np.nan], Z, curvature=0.5, weight_decay=1.0)
    with pytest.raises(InvalidInputError, match="scheme"):
        game.sga_moments([0.0, 0.0], eta=0.1, batch_size=2, steps=1, scheme="adam")
    with pytest.raises(NumericalBreakdownError, match="NaN"):
        game.sga_moments([1.0, 1.0], eta=50.0, batch_size=2, steps=400)
