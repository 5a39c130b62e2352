"""Tests of the lGAN closed forms (paper 004, (16)–(29)) in gan_pde.spectral.lgan."""

from __future__ import annotations

import dataclasses
import doctest
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gan_pde.errors import InvalidInputError
from gan_pde.spectral import lgan

RK4_REAL_RADIUS = 2.785293563405282


def _random_parameters(rng: np.random.Generator, n: int) -> tuple[np.ndarray, ...]:
    """Parameters over many magnitudes, ξ including 0, 1e-12 and 1e8."""
    xi = np.concatenate(([0.0, 1e-12, 1e8], 10.0 ** rng.uniform(-12, 8, n - 3)))
    alpha = np.where(rng.random(n) < 0.2, 0.0, 10.0 ** rng.uniform(-6, 3, n))
    gamma = np.where(rng.random(n) < 0.3, 0.0, 10.0 ** rng.uniform(-6, 3, n))
    beta = rng.choice([-1.0, 1.0], n) * 10.0 ** rng.uniform(-4, 3, n)
    return xi, alpha, beta, gamma


# --- eigenvalues -------------------------------------------------------------------------


def test_eigenvalues_solve_the_quadratic_to_round_off():
    xi, alpha, beta, gamma = _random_parameters(np.random.default_rng(0), 2000)
    lam_plus, lam_minus = lgan.eigenvalues(xi, alpha=alpha, beta=beta, gamma=gamma)
    s, p = alpha + gamma * xi, beta**2 * xi
    for lam in (lam_plus, lam_minus):
        residual = np.abs(lam**2 + s * lam + p)
        scale = np.maximum.reduce([np.abs(lam) ** 2, s * np.abs(lam), p])
        assert np.all(residual <= 1e-13 * scale)
    # Vieta: sum −(α+γξ) and product β²ξ, both to a few ulps.
    nonzero = p > 0
    np.testing.assert_allclose(lam_plus + lam_minus, -s, rtol=1e-14, atol=0.0)
    np.testing.assert_allclose(
        (lam_plus * lam_minus)[nonzero], p[nonzero].astype(complex), rtol=1e-14, atol=0.0
    )


def test_stable_formula_keeps_the_small_root_where_the_naive_one_loses_it():
    # α = β = 1, ξ = 1e-12: λ+ ≈ −1e-12 is the difference of two numbers ≈ 1 in (22).
    xi, alpha, beta = 1e-12, 1.0, 1.0
    naive = (-alpha + math.sqrt(alpha**2 - 4 * beta**2 * xi)) / 2
    naive_minus = (-alpha - math.sqrt(alpha**2 - 4 * beta**2 * xi)) / 2
    assert abs(naive * naive_minus / (beta**2 * xi) - 1) > 1e-6
    lam_plus, lam_minus = lgan.eigenvalues(xi, alpha=alpha, beta=beta)
    assert abs(complex(lam_plus * lam_minus) / (beta**2 * xi) - 1) < 1e-14
    # λ+ = −ξ/(1 − ξ − 2ξ² ...) to first orders: −1e-12 − 1e-24.
    assert complex(lam_plus).real == pytest.approx(-1e-12 - 1e-24, rel=1e-15)


def test_eigenvalues_are_complex_and_broadcast():
    lam_plus, lam_minus = lgan.eigenvalues(
        np.array([0.5, 1.0, 2.0]), alpha=np.array([[0.1], [10.0]]), beta=1.0
    )
    assert lam_plus.shape == lam_minus.shape == (2, 3)
    assert lam_plus.dtype == lam_minus.dtype == np.complex128
    scalar_plus, _ = lgan.eigenvalues(1.0, alpha=10.0, beta=1.0)  # real roots
    assert scalar_plus.dtype == np.complex128
    assert scalar_plus.shape == ()
    assert np.all(lam_plus.real >= lam_minus.real)


def test_xi_zero_gives_kernel_and_mean_mode():
    lam_plus, lam_minus = lgan.eigenvalues(0.0, alpha=0.7, beta=-3.0, gamma=2.0)
    assert complex(lam_plus) == 0.0  # the kernel: divergence-free v (Corollary 1)
    assert complex(lam_minus) == -0.7  # the mean of u decays like exp(−αt) (Theorem 4)


def test_wgan_is_purely_imaginary():
    xi = np.array([0.0, 0.124, 0.25, 1.0, 7.0, 1e6])
    lam_plus, lam_minus = lgan.eigenvalues(xi, alpha=0.0, beta=-1.5)
    np.testing.assert_array_equal(lam_plus.real, 0.0)
    np.testing.assert_allclose(lam_plus.imag, 1.5 * np.sqrt(xi), rtol=1e-15)
    np.testing.assert_array_equal(lam_minus, np.conj(lam_plus))


def test_gaussian_spectrum_example():
    # N(0, σ²): ξ_k = k/σ² (Appendix B).  With α = β = 1, γ = 0 every k ≥ 1 oscillates:
    # λ± = −1/2 ± i√(4ξ − 1)/2; with ξ = 0 the modes are 0 and −α.
    for sigma in (1.0, 0.5):
        xi = np.arange(0, 20) / sigma**2
        lam_plus, lam_minus = lgan.eigenvalues(xi, alpha=1.0, beta=1.0)
        np.testing.assert_allclose(lam_plus[1:], -0.5 + 0.5j * np.sqrt(4 * xi[1:] - 1), rtol=1e-15)
        assert (complex(lam_plus[0]), complex(lam_minus[0])) == (0.0, -1.0)
        assert lgan.decay_rate(1 / sigma**2, alpha=1.0, beta=1.0, xi=xi[1:]) == -0.5
    # α = 4: ξ_min = 1 is over-damped, Theorem 4: η = (−4 + √(16 − 4))/2 = −2 + √3.
    eta = lgan.decay_rate(1.0, alpha=4.0, beta=1.0, xi=np.arange(1.0, 200.0))
    assert float(eta) == pytest.approx(-2 + math.sqrt(3), rel=1e-14)


@settings(max_examples=50, deadline=None)
@given(
    xi=st.floats(0.0, 1e8, allow_subnormal=False),
    alpha=st.floats(0.0, 1e4, allow_subnormal=False),
    beta=st.floats(-1e4, 1e4, allow_subnormal=False),
    gamma=st.floats(0.0, 1e4, allow_subnormal=False),
)
def test_continuous_lgan_is_stable(xi, alpha, beta, gamma):
    lam_plus, lam_minus = lgan.eigenvalues(xi, alpha=alpha, beta=beta, gamma=gamma)
    assert lam_plus.real <= 0.0
    assert lam_minus.real <= lam_plus.real
    s = alpha + gamma * xi
    assert abs(complex(lam_plus + lam_minus) + s) <= 1e-14 * s


# --- oscillation and decay rate -----------------------------------------------------------


def test_is_oscillating_is_the_sign_of_the_discriminant():
    xi, alpha, beta, gamma = _random_parameters(np.random.default_rng(1), 2000)
    disc = (alpha + gamma * xi) ** 2 - 4 * beta**2 * xi
    clear = np.abs(disc) > 1e-8 * (alpha + gamma * xi) ** 2  # away from critical damping
    oscillating = lgan.is_oscillating(xi, alpha=alpha, beta=beta, gamma=gamma)
    np.testing.assert_array_equal(oscillating[clear], disc[clear] < 0)
    lam_plus, _ = lgan.eigenvalues(xi, alpha=alpha, beta=beta, gamma=gamma)
    np.testing.assert_array_equal(oscillating, lam_plus.imag != 0)


def _theorem4(xi_min, alpha, beta):
    """Theorem 4: η = Re((−α + √(α² − 4β²ξ_min))/2), the closed form for γ = 0."""
    return ((-alpha + np.sqrt(alpha**2 - 4 * beta**2 * xi_min + 0j)) / 2).real


def test_decay_rate_without_penalty_is_theorem_4_on_the_full_spectrum():
    rng = np.random.default_rng(2)
    xi_min = 10.0 ** rng.uniform(-3, 1, 40)
    alpha = 10.0 ** rng.uniform(-2, 1, 40)
    beta = rng.uniform(-3, 3, 40)
    for x, a, b in zip(xi_min, alpha, beta, strict=True):
        spectrum = np.geomspace(x, 1e6 * x, 500)
        closed = lgan.decay_rate(x, alpha=a, beta=b)
        full = lgan.decay_rate(x, alpha=a, beta=b, xi=spectrum)
        assert float(closed) == pytest.approx(_theorem4(x, a, b), rel=1e-12)
        assert float(full) == pytest.approx(float(closed), rel=1e-12)


def test_decay_rate_is_attained_at_xi_min_when_alpha_gamma_at_least_beta_squared():
    rng = np.random.default_rng(3)
    for _ in range(40):
        x, b = 10.0 ** rng.uniform(-2, 1), rng.uniform(0.1, 3)
        a = 10.0 ** rng.uniform(-2, 1)
        g = b**2 / a * rng.uniform(1.0, 10.0)
        spectrum = np.geomspace(x, 1e6 * x, 500)
        lam_plus, _ = lgan.eigenvalues(x, alpha=a, beta=b, gamma=g)
        at_min = max(lam_plus.real, -a)
        assert float(lgan.decay_rate(x, alpha=a, beta=b, gamma=g, xi=spectrum)) == at_min
        assert float(lgan.decay_rate(x, alpha=a, beta=b, gamma=g)) == at_min


def test_high_modes_limit_the_rate_when_alpha_gamma_below_beta_squared():
    # The paper's WGAN-GP choice α = 0, β = −1, γ = 2|β|/√ξ_min = 4 at ξ_min = 0.25 is
    # critically damped at ξ_min (λ = −|β|√ξ_min = −0.5), but λ+(ξ) → −β²/γ = −0.25.
    lam_plus, lam_minus = lgan.eigenvalues(0.25, alpha=0.0, beta=-1.0, gamma=4.0)
    assert complex(lam_plus) == complex(lam_minus) == -0.5
    assert float(lgan.decay_rate(0.25, alpha=0.0, beta=-1.0, gamma=4.0)) == -0.25
    spectrum = np.geomspace(0.25, 1e10, 400)
    finite = lgan.decay_rate(0.25, alpha=0.0, beta=-1.0, gamma=4.0, xi=spectrum)
    assert float(finite) == pytest.approx(-0.25, abs=1e-9)
    assert float(finite) < -0.25
    # λ+ is monotone increasing beyond ξ_min here (below −β²/γ, see decay_rate).
    plus = lgan.eigenvalues(spectrum, alpha=0.0, beta=-1.0, gamma=4.0)[0].real
    assert np.all(np.diff(plus) >= 0)


def test_mean_mode_counts_only_for_positive_alpha():
    # WGAN: α = 0, the constants are in the kernel; the modes ±i|β|√ξ do not decay.
    assert float(lgan.decay_rate(0.25, alpha=0.0, beta=-1.0)) == 0.0
    # α = 0.01, γ = 10, ξ_min = β = 1: λ+(1) ≈ −0.1, tail −β²/γ = −0.1, mean mode −0.01.
    assert float(lgan.decay_rate(1.0, alpha=0.01, beta=1.0, gamma=10.0)) == -0.01


def test_decay_rate_broadcasts_over_parameters():
    eta = lgan.decay_rate(
        np.array([0.1, 1.0]), alpha=np.array([[0.5], [1.0], [2.0]]), beta=1.0, gamma=0.0
    )
    assert eta.shape == (3, 2)
    np.testing.assert_allclose(
        eta, _theorem4(np.array([0.1, 1.0]), np.array([[0.5], [1.0], [2.0]]), 1.0), rtol=1e-14
    )


# --- the experiments of Section 7 ---------------------------------------------------------


@pytest.mark.parametrize("xi_min", [0.25, 0.124])
def test_gaussian_mixture_settings_of_section_7(xi_min):
    root = math.sqrt(xi_min)  # 0.5 and 0.35214
    # WGAN (0, −1, 0): λ = ±i√ξ_min, no decay.
    lam_plus, _ = lgan.eigenvalues(xi_min, alpha=0.0, beta=-1.0)
    assert complex(lam_plus) == pytest.approx(1j * root, rel=1e-15)
    assert float(lgan.decay_rate(xi_min, alpha=0.0, beta=-1.0)) == 0.0
    # WGAN-GP, γ = 2|β|/√ξ_min: s = 2√ξ_min, D = 0, λ = −√ξ_min; η = −β²/γ = −√ξ_min/2.
    gamma = 2.0 / root
    lam_plus, _ = lgan.eigenvalues(xi_min, alpha=0.0, beta=-1.0, gamma=gamma)
    assert complex(lam_plus) == pytest.approx(-root, rel=1e-7)  # double root: √ε-sensitive
    assert float(lgan.decay_rate(xi_min, alpha=0.0, beta=-1.0, gamma=gamma)) == pytest.approx(
        -root / 2, rel=1e-15
    )
    # WGAN-GP, γ = |β|/√ξ_min: s = √ξ_min, D = −3ξ_min, λ = √ξ_min(−1 ± i√3)/2, so
    # Im λ_max = (√3/2)|β|√ξ_min; the tail −β²/γ = −√ξ_min is faster, η = −√ξ_min/2.
    gamma = 1.0 / root
    lam_plus, _ = lgan.eigenvalues(xi_min, alpha=0.0, beta=-1.0, gamma=gamma)
    assert complex(lam_plus) == pytest.approx(root * (-1 + 1j * math.sqrt(3)) / 2, rel=1e-14)
    assert float(lgan.decay_rate(xi_min, alpha=0.0, beta=-1.0, gamma=gamma)) == pytest.approx(
        -root / 2, rel=1e-15
    )
    # LSGAN default (0.25, −0.5, 0): D = 1/16 − ξ_min < 0 for both ξ_min, η = −α/2 = −0.125.
    assert bool(lgan.is_oscillating(xi_min, alpha=0.25, beta=-0.5))
    assert float(lgan.decay_rate(xi_min, alpha=0.25, beta=-0.5)) == -0.125
    # LSGAN with β = 1 and (α, γ) from (25): α = √ξ_min, γ = 1/√ξ_min, η = −√ξ_min.
    best = lgan.optimal_parameters(xi_min, beta=1.0)
    assert (best.alpha, best.gamma, best.rate) == pytest.approx((root, 1 / root, -root))
    assert best.gamma_range == pytest.approx((1 / root, 2 / root))


def test_section_7_values_by_hand_at_xi_min_quarter():
    # ξ_min = 0.25: LSGAN default λ = −0.125 ± i√0.1875/2 = −0.125 ± 0.21650635i.
    lam_plus, lam_minus = lgan.eigenvalues(0.25, alpha=0.25, beta=-0.5)
    assert complex(lam_plus) == pytest.approx(-0.125 + 0.21650635094610965j, rel=1e-15)
    assert complex(lam_minus) == pytest.approx(-0.125 - 0.21650635094610965j, rel=1e-15)
    # Optimal β = 1: α = 0.5, γ = 2, λ ∈ {−0.5, −2ξ}; the family (25) is γ ∈ [2, 4].
    best = lgan.optimal_parameters(0.25, beta=1.0)
    assert (best.alpha, best.gamma, best.rate) == (0.5, 2.0, -0.5)
    assert (best.alpha_range, best.gamma_range) == ((0.0, 0.5), (2.0, 4.0))


# --- optimal parameters -------------------------------------------------------------------


CASES = [(0.25, -1.0), (0.124, 1.0), (2.0, 0.3)]


@pytest.mark.parametrize(("xi_min", "beta"), CASES)
def test_optimal_parameters_are_the_fastest_non_oscillating_point_of_23(xi_min, beta):
    # Along (23), α = 2|β|√ξ_min − γξ_min: γ < γ* oscillates just above ξ_min, and for
    # γ ≥ γ* the mean mode −α is the slowest, so η rises linearly.  The brute-force
    # optimum is the first non-oscillating grid point, one cell from γ*.
    b = abs(beta) * math.sqrt(xi_min)
    gamma = np.linspace(0.0003, 2.0, 1001)[:, np.newaxis] * b / xi_min
    alpha = np.maximum(2 * b - gamma * xi_min, 0.0)
    above = np.concatenate((np.linspace(xi_min, 2 * xi_min, 10_001)[1:], [10 * xi_min]))
    oscillating = lgan.is_oscillating(above, alpha=alpha, beta=beta, gamma=gamma).any(axis=-1)
    spectrum = np.geomspace(xi_min, 1e4 * xi_min, 200)
    eta = lgan.decay_rate(xi_min, alpha=alpha[:, 0], beta=beta, gamma=gamma[:, 0], xi=spectrum)
    feasible = np.where(oscillating, np.inf, eta)
    best = lgan.optimal_parameters(xi_min, beta=beta)
    step = gamma[1, 0] - gamma[0, 0]
    k = np.argmin(feasible)
    assert abs(gamma[k, 0] - best.gamma) <= step
    assert abs(alpha[k, 0] - best.alpha) <= step * xi_min
    assert 0.0 <= feasible[k] - best.rate <= step * xi_min + 1e-7 * b


@pytest.mark.parametrize(("xi_min", "beta"), CASES)
def test_no_grid_setting_beats_the_optimal_parameters(xi_min, beta):
    b = abs(beta) * math.sqrt(xi_min)
    spectrum = np.geomspace(xi_min, 1e4 * xi_min, 200)
    alpha = np.linspace(0.013 * b, 2.9 * b, 90)[:, np.newaxis]
    gamma = np.linspace(0.011 * b / xi_min, 2.9 * b / xi_min, 95)[np.newaxis, :]
    eta = lgan.decay_rate(xi_min, alpha=alpha, beta=beta, gamma=gamma, xi=spectrum)
    oscillating = lgan.is_oscillating(
        spectrum, alpha=alpha[..., np.newaxis], beta=beta, gamma=gamma[..., np.newaxis]
    ).any(axis=-1)
    best = lgan.optimal_parameters(xi_min, beta=beta)
    # No setting, oscillating or not, decays faster than −|β|√ξ_min (|Re λ+| ≤ |β|√ξ).
    assert eta.min() >= best.rate - 1e-12 * b
    # Near critical damping λ+ moves like √(α + γξ_min − 2b), so a grid of spacing h gets
    # within ~√(h b) of the rate, and the gap bounds the distance from (α*, γ*): the mean
    # mode costs |α − α*| and the ξ_min mode √(α − α* + (γ − γ*)ξ_min)·√b.
    h_alpha, h_gamma = alpha[1, 0] - alpha[0, 0], gamma[0, 1] - gamma[0, 0]
    feasible = np.where(oscillating, np.inf, eta)
    i, j = np.unravel_index(np.argmin(feasible), feasible.shape)
    gap = feasible[i, j] - best.rate
    assert 0.0 <= gap <= math.sqrt(h_alpha * b)
    assert abs(alpha[i, 0] - best.alpha) <= gap + h_alpha
    assert abs(gamma[0, j] - best.gamma) * xi_min <= gap + gap**2 / b + h_gamma * xi_min
    # The closed form achieves its rate on the spectrum, and does not oscillate there.
    achieved = lgan.decay_rate(xi_min, alpha=best.alpha, beta=beta, gamma=best.gamma, xi=spectrum)
    assert float(achieved) == pytest.approx(best.rate, rel=1e-7)  # critical damping: √ε
    assert float(lgan.decay_rate(xi_min, alpha=best.alpha, beta=beta, gamma=best.gamma)) == (
        pytest.approx(best.rate, rel=1e-7)
    )
    assert not lgan.is_oscillating(
        spectrum[1:], alpha=best.alpha, beta=beta, gamma=best.gamma
    ).any()


def test_optimum_factorises_and_the_rest_of_the_family_is_slower():
    xi_min, beta = 0.3, -0.8
    best = lgan.optimal_parameters(xi_min, beta=beta)
    xi = np.geomspace(xi_min * 1.001, 1e3, 50)
    lam_plus, lam_minus = lgan.eigenvalues(xi, alpha=best.alpha, beta=beta, gamma=best.gamma)
    # αγ = β²: λ² + (α + γξ)λ + αγξ = (λ + α)(λ + γξ).
    roots = np.sort(np.stack([lam_plus.real, lam_minus.real]), axis=0)
    np.testing.assert_allclose(roots[0], np.minimum(-best.alpha, -best.gamma * xi), rtol=1e-12)
    np.testing.assert_allclose(roots[1], np.maximum(-best.alpha, -best.gamma * xi), rtol=1e-12)
    # Along (25), α + γξ_min = 2|β|√ξ_min, every member is critically damped at ξ_min with
    # λ = rate and oscillates nowhere, but the full-spectrum rate is worse inside the range.
    low, high = best.gamma_range
    gammas = np.linspace(low, high, 21)
    alphas = 2 * abs(beta) * math.sqrt(xi_min) - gammas * xi_min
    assert alphas.min() >= -1e-15 and alphas.max() == pytest.approx(best.alpha)
    plus, _ = lgan.eigenvalues(xi_min, alpha=np.maximum(alphas, 0), beta=beta, gamma=gammas)
    np.testing.assert_allclose(plus.real, best.rate, rtol=1e-7)
    osc = lgan.is_oscillating(xi[:, None], alpha=np.maximum(alphas, 0), beta=beta, gamma=gammas)
    assert not osc.any()
    eta = lgan.decay_rate(xi_min, alpha=np.maximum(alphas, 0), beta=beta, gamma=gammas)
    assert eta[0] == pytest.approx(best.rate, rel=1e-7)
    assert np.all(eta[1:] > best.rate + 1e-6)


def test_optimal_euler_step_with_bounded_spectrum():
    xi_min, beta, xi_max = 0.25, 1.0, 400.0
    best = lgan.optimal_parameters(xi_min, beta=beta, xi_max=xi_max)
    assert best.max_euler_step == pytest.approx(2 / (best.gamma * xi_max), rel=1e-15)
    assert lgan.optimal_parameters(xi_min, beta=beta).max_euler_step == 0.0
    xi = np.linspace(xi_min, xi_max, 300)
    lams = np.concatenate(
        lgan.eigenvalues(xi, alpha=best.alpha, beta=beta, gamma=best.gamma)
        + lgan.eigenvalues([0.0], alpha=best.alpha, beta=beta, gamma=best.gamma)
    )
    assert lgan.max_stable_step(lams) == pytest.approx(best.max_euler_step, rel=1e-10)
    kwargs = {"alpha": best.alpha, "beta": beta, "gamma": best.gamma}
    assert lgan.max_euler_amplification(xi, tau=best.max_euler_step, **kwargs) <= 1 + 1e-12
    assert lgan.max_euler_amplification(xi, tau=1.01 * best.max_euler_step, **kwargs) > 1


def test_optimal_parameters_is_a_frozen_record():
    best = lgan.optimal_parameters(1.0, beta=2.0, xi_max=10.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        best.alpha = 0.0  # type: ignore[misc]
    assert (best.xi_min, best.beta, best.xi_max) == (1.0, 2.0, 10.0)


# --- time integrators ---------------------------------------------------------------------


def test_euler_amplifies_pure_oscillations_for_every_step():
    tau = np.geomspace(1e-6, 10, 50)
    for lam in (0.3j, -5j):
        factor = lgan.euler_amplification(lam, tau)
        np.testing.assert_allclose(factor, np.sqrt(1 + tau**2 * abs(lam) ** 2), rtol=1e-15)
        assert np.all(factor > 1)
    # WGAN on a refined spectrum: max |1 + τλ| = √(1 + τ²β²ξ_max) grows with ξ_max.
    growth = [
        lgan.max_euler_amplification(np.linspace(0, xi_max, 100), alpha=0.0, beta=1.0, tau=0.01)
        for xi_max in (1e2, 1e4, 1e6)
    ]
    np.testing.assert_allclose(growth, np.sqrt(1 + 1e-4 * np.array([1e2, 1e4, 1e6])))


def test_euler_factor_of_a_complex_pair_is_the_corrected_29():
    # |1 + τλ|² = 1 − τ(α + γξ) + τ²β²ξ = (1 − τα/2)² + τ²(4β²ξ − α²)/4 for γ = 0.
    xi = np.linspace(0.3, 50, 40)
    for alpha, beta, gamma, tau in [(0.25, -0.5, 0.0, 0.7), (1.0, 2.0, 0.01, 0.05)]:
        lam_plus, lam_minus = lgan.eigenvalues(xi, alpha=alpha, beta=beta, gamma=gamma)
        assert np.all(lam_plus.imag > 0)
        expected = 1 - tau * (alpha + gamma * xi) + tau**2 * beta**2 * xi
        for lam in (lam_plus, lam_minus):
            np.testing.assert_allclose(lgan.euler_amplification(lam, tau) ** 2, expected)
        if gamma == 0:
            paper = (1 - tau * alpha / 2) ** 2 + tau**2 * (4 * beta**2 * xi - alpha**2) / 4
            np.testing.assert_allclose(expected, paper, rtol=1e-14)


def test_heun_and_rk4_on_the_imaginary_axis():
    y = np.linspace(0.01, 5, 200)
    np.testing.assert_allclose(
        lgan.heun_amplification(1j * y, 1.0), np.sqrt(1 + y**4 / 4), rtol=1e-14
    )
    assert np.all(lgan.heun_amplification(1j * y, 1.0) > 1)
    np.testing.assert_allclose(
        lgan.rk4_amplification(1j * y, 1.0), np.sqrt(1 - y**6 / 72 + y**8 / 576), rtol=1e-13
    )
    np.testing.assert_allclose(lgan.euler_amplification(-0.5, 2.0), 0.0, atol=0.0)


def test_rk4_real_axis_radius_is_a_root_of_its_polynomial():
    # R(−s) = 1 ⇔ s (s³ − 4s² + 12s − 24) / 24 = 0; the real root of the cubic is the radius.
    roots = np.roots([1.0, -4.0, 12.0, -24.0])
    real = roots[np.abs(roots.imag) < 1e-12].real
    assert real.size == 1
    assert real[0] == pytest.approx(RK4_REAL_RADIUS, rel=1e-14)
    assert float(lgan.rk4_amplification(-RK4_REAL_RADIUS, 1.0)) == pytest.approx(1.0, abs=1e-14)


@pytest.mark.parametrize(
    ("method", "real_radius", "imaginary_radius"),
    [("euler", 2.0, 0.0), ("heun", 2.0, 0.0), ("rk4", RK4_REAL_RADIUS, 2 * math.sqrt(2))],
)
def test_max_stable_step_reference_values(method, real_radius, imaginary_radius):
    for modulus in (1e-3, 1.0, 5.0, 1e4):
        step = lgan.max_stable_step([-modulus], method=method)
        assert step == pytest.approx(real_radius / modulus, rel=1e-10)
        for lam in (1j * modulus, -1j * modulus):
            step = lgan.max_stable_step([lam], method=method)
            assert step == pytest.approx(imaginary_radius / modulus, rel=1e-10, abs=0.0)
    # The bound is the minimum over the eigenvalues; λ = 0 sets none; Re λ > 0 gives 0.
    assert lgan.max_stable_step([0.0, -1.0, -4.0], method=method) == pytest.approx(
        real_radius / 4, rel=1e-10
    )
    assert lgan.max_stable_step([0.0, 0.0], method=method) == math.inf
    assert lgan.max_stable_step([-1.0, 1e-3 - 1j], method=method) == 0.0


@pytest.mark.parametrize("method", sorted(lgan.METHODS))
def test_max_stable_step_matches_a_scan_along_rays(method):
    amplification = {
        "euler": lgan.euler_amplification,
        "heun": lgan.heun_amplification,
        "rk4": lgan.rk4_amplification,
    }[method]
    tau = np.linspace(1e-6, 1.2, 120_001)
    for theta in np.linspace(0.52 * np.pi, np.pi, 12):
        lam = 3.0 * np.exp(1j * theta)
        step = lgan.max_stable_step([lam], method=method)
        unstable = np.nonzero(amplification(lam, tau) > 1.0)[0]
        assert abs(step - tau[unstable[0]]) <= 2 * (tau[1] - tau[0])
        assert amplification(lam, step * (1 - 1e-9)) <= 1.0 + 1e-15


# --- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"xi": -1.0, "alpha": 1.0, "beta": 1.0}, "xi must be >= 0"),
        ({"xi": [1.0, np.nan], "alpha": 1.0, "beta": 1.0}, "xi must be finite"),
        ({"xi": 1.0, "alpha": -0.1, "beta": 1.0}, "alpha must be >= 0"),
        ({"xi": 1.0, "alpha": 1.0, "beta": 1.0, "gamma": -1.0}, "gamma must be >= 0"),
        ({"xi": 1.0, "alpha": 1.0, "beta": np.inf}, "beta must be finite"),
        ({"xi": 1j, "alpha": 1.0, "beta": 1.0}, "xi must be real"),
        ({"xi": "a", "alpha": 1.0, "beta": 1.0}, "xi must be real"),
    ],
)
def test_bad_spectrum_parameters(kwargs, match):
    for function in (lgan.eigenvalues, lgan.is_oscillating):
        with pytest.raises(InvalidInputError, match=match):
            function(**kwargs)


def test_bad_decay_rate_and_optimal_parameters():
    with pytest.raises(InvalidInputError, match="xi_min must be > 0"):
        lgan.decay_rate(0.0, alpha=1.0, beta=1.0)
    with pytest.raises(InvalidInputError, match="beta must be non-zero"):
        lgan.decay_rate(1.0, alpha=1.0, beta=0.0)
    with pytest.raises(InvalidInputError, match="alpha must be >= 0"):
        lgan.decay_rate(1.0, alpha=-1.0, beta=1.0)
    with pytest.raises(InvalidInputError, match="xi must hold the non-zero eigenvalues >= xi_min"):
        lgan.decay_rate(1.0, alpha=1.0, beta=1.0, xi=[0.5, 2.0])
    with pytest.raises(InvalidInputError, match="xi_min must be > 0"):
        lgan.optimal_parameters(-1.0, beta=1.0)
    with pytest.raises(InvalidInputError, match="beta must be non-zero"):
        lgan.optimal_parameters(1.0, beta=0.0)
    with pytest.raises(InvalidInputError, match="xi_max must be >= 1.0"):
        lgan.optimal_parameters(1.0, beta=1.0, xi_max=0.5)
    with pytest.raises(InvalidInputError, match="xi_min must be a scalar"):
        lgan.optimal_parameters([1.0, 2.0], beta=1.0)


def test_bad_time_stepping_input():
    for function in (lgan.euler_amplification, lgan.heun_amplification, lgan.rk4_amplification):
        with pytest.raises(InvalidInputError, match="tau must be > 0"):
            function(-1.0, 0.0)
        with pytest.raises(InvalidInputError, match="tau must be finite"):
            function(-1.0, np.inf)
        with pytest.raises(InvalidInputError, match="lam must be finite"):
            function(complex(np.nan, 0), 1.0)
    with pytest.raises(InvalidInputError, match="tau must be > 0"):
        lgan.max_euler_amplification([1.0], alpha=1.0, beta=1.0, tau=-0.1)
    with pytest.raises(
        InvalidInputError, match=r"method must be one of \['euler', 'heun', 'rk4'\]"
    ):
        lgan.max_stable_step([-1.0], method="rk45")
    with pytest.raises(InvalidInputError, match="lams must hold at least one"):
        lgan.max_stable_step([], method="euler")
    with pytest.raises(InvalidInputError, match="lams must be finite"):
        lgan.max_stable_step([np.inf], method="euler")


def test_docstring_examples_run():
    failures, tried = doctest.testmod(lgan, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert tried > 0
    assert failures == 0


def test_max_stable_step_treats_round_off_real_parts_as_zero():
    # a computed WGAN spectrum has real parts of +-1e-17: same limits as the exact one
    from gan_pde.spectral.lgan import max_stable_step

    noisy = np.array([-1e-17 + 1j, 1e-17 - 2j, 3e-17 + 0.5j])
    exact = 1j * noisy.imag
    for method in ("euler", "heun", "rk4"):
        assert max_stable_step(noisy, method=method) == max_stable_step(exact, method=method)
    assert max_stable_step(noisy, method="rk4") == pytest.approx(np.sqrt(2.0), rel=1e-12)


# --- issue 16: hypothesis properties over (α, β, γ) ---------------------------------------

_NONNEGATIVE = st.one_of(st.just(0.0), st.floats(1e-6, 1e4))
_BETA = st.floats(1e-3, 1e3).flatmap(lambda b: st.sampled_from([-b, b]))
_XI = st.one_of(st.just(0.0), st.floats(1e-10, 1e10))


def _mp_roots(xi: float, alpha: float, beta: float, gamma: float) -> tuple[complex, complex]:
    """λ± in 50 digits (λ₊: larger real part, then positive imaginary part)."""
    import mpmath

    with mpmath.workdps(50):
        s = mpmath.mpf(alpha) + mpmath.mpf(gamma) * mpmath.mpf(xi)
        root = mpmath.sqrt(s * s - 4 * mpmath.mpf(beta) ** 2 * mpmath.mpf(xi))
        roots = sorted(
            ((-s + root) / 2, (-s - root) / 2), key=lambda z: (-mpmath.re(z), -mpmath.im(z))
        )
        return complex(roots[0]), complex(roots[1])


@settings(max_examples=50)
@given(xi=_XI, alpha=_NONNEGATIVE, beta=_BETA, gamma=_NONNEGATIVE)
def test_property_eigenvalues_have_the_promised_relative_accuracy(xi, alpha, beta, gamma):
    # s = α+γξ and c = |β|√ξ are rounded (~2ε each), so |s − 2c| is known to ~4ε(s + 2c);
    # through √D = √|s−2c|·√(s+2c) each part of each root then has relative error
    # ≤ 6ε + 2ε(s + 2c)/|s − 2c| (no cancellation: λ₋ = −(s + √D)/2, λ₊ = β²ξ/λ₋); ×4.
    # At a double root (s = 2c) the bound becomes the absolute √ε(s + 2c) of a Jordan block.
    lam_plus, lam_minus = lgan.eigenvalues(xi, alpha=alpha, beta=beta, gamma=gamma)
    eps = np.finfo(float).eps
    s, c = alpha + gamma * xi, abs(beta) * math.sqrt(xi)
    gap = abs(s - 2 * c)
    relative = 4 * (6 * eps + 2 * eps * (s + 2 * c) / gap) if gap > 0 else math.inf
    if s + 2 * c == 0.0:  # ξ = 0 with α = 0: both roots are exactly 0
        relative = 0.0
    for got, want in zip(
        (complex(lam_plus), complex(lam_minus)), _mp_roots(xi, alpha, beta, gamma), strict=False
    ):
        for part in ("real", "imag"):
            g, w = getattr(got, part), getattr(want, part)
            bound = min(relative * abs(w), 8 * math.sqrt(eps) * (s + 2 * c))
            assert abs(g - w) <= bound


@settings(max_examples=50)
@given(xi_min=st.floats(1e-3, 1e3), alpha=_NONNEGATIVE, beta=_BETA, gamma=_NONNEGATIVE)
def test_property_decay_rate_is_the_supremum_over_the_spectrum(xi_min, alpha, beta, gamma):
    # η against max over a log grid of ξ ∈ [ξ_min, 10¹²ξ_min] (the closed form says the
    # supremum is at ξ_min, the mean mode −α or the limit −β²/γ (−α/2 for γ = 0), so a grid
    # containing ξ_min and the limits must reproduce it to rounding)
    xi = xi_min * np.logspace(0, 12, 300)
    lam_plus, _ = lgan.eigenvalues(xi, alpha=alpha, beta=beta, gamma=gamma)
    candidates = [lam_plus.real.max()]
    candidates.append(-alpha if alpha > 0 else -np.inf)
    candidates.append(-(beta**2) / gamma if gamma > 0 else -alpha / 2)
    expected = max(candidates)
    eta = float(lgan.decay_rate(xi_min, alpha=alpha, beta=beta, gamma=gamma))
    assert eta == pytest.approx(expected, rel=1e-12, abs=1e-300)
    assert eta >= lam_plus.real.max() - 1e-12 * abs(eta)


@settings(max_examples=50)
@given(
    xi_min=st.floats(1e-3, 1e3),
    beta=_BETA,
    alpha_factor=st.floats(0.0, 3.0),
    gamma_factor=st.floats(0.0, 3.0),
)
def test_property_no_setting_beats_the_optimal_parameters(xi_min, beta, alpha_factor, gamma_factor):
    # Any (α, γ) decays at most as fast as the optimum of (23)–(25).  The optimum is a double
    # root at ξ_min, so rounding α, γ to doubles moves its rate by ~√ε·|β|√ξ_min.
    best = lgan.optimal_parameters(xi_min, beta=beta)
    alpha = alpha_factor * abs(beta) * math.sqrt(xi_min)
    gamma = gamma_factor * abs(beta) / math.sqrt(xi_min)
    eta = float(lgan.decay_rate(xi_min, alpha=alpha, beta=beta, gamma=gamma))
    tol = 8 * math.sqrt(np.finfo(float).eps) * abs(beta) * math.sqrt(xi_min)
    assert eta >= best.rate - tol
    assert float(lgan.decay_rate(xi_min, alpha=best.alpha, beta=beta, gamma=best.gamma)) == (
        pytest.approx(best.rate, abs=tol)
    )
