"""The independent references of the ``meanfield.*`` verify checks, checked by other means.

:mod:`gan_pde.verify._reference_meanfield` re-derives the paper-001 quantities in closed
form or by quadrature; here each is compared with a direct numerical integration (scipy's
solve_ivp on the unreduced ODE, brute-force quantiles, Monte Carlo), so that a wrong
derivation in the reference cannot make a check pass.  Plus the regression test of the
package bug the rewritten checks found (``w2_to_cells`` with empty top cells).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import quad, solve_ivp

from gan_pde.meanfield import w2_to_cells
from gan_pde.verify import _reference_meanfield as ref


def _toy_rhs(gamma_c: float):
    def rhs(_t, y):
        g, omega = y
        return [omega / (4.0 * math.cosh(0.5 * g) ** 2), -0.5 * gamma_c * math.tanh(0.5 * g)]

    return rhs


@pytest.mark.parametrize("gamma_c", [0.45, 2.7, 10.0])
@pytest.mark.parametrize("kappa", [0.3, 0.999])
def test_toy_period_matches_a_direct_integration(gamma_c, kappa):
    energy = 2.0 + kappa / gamma_c
    g0 = math.acosh(0.5 * energy)  # a turning point (omega = 0, g = g_max)

    def crossing(_t, y):
        return y[1]

    crossing.direction = -1.0  # omega decreasing through 0: g = +g_max again after T
    period_guess = 8.0 * math.pi / math.sqrt(gamma_c)
    sol = solve_ivp(
        _toy_rhs(gamma_c),
        (0.0, 3.0 * period_guess),
        [g0, 1e-300],
        method="DOP853",
        rtol=1e-12,
        atol=1e-14,
        events=crossing,
    )
    times = sol.t_events[0]
    assert times.size >= 2
    assert ref.toy_period(gamma_c, energy) == pytest.approx(times[1] - times[0], rel=1e-9)


def test_toy_period_small_amplitude_limit():
    for gamma_c in (0.3, 1.0, 7.0):
        period = ref.toy_period(gamma_c, 2.0 + 1e-8)
        assert period == pytest.approx(8.0 * math.pi / math.sqrt(gamma_c), rel=1e-7)


@pytest.mark.parametrize("gamma_c", [0.21, 1.0, 2.7, 33.0])
def test_toy_first_hit_and_slide_match_direct_integrations(gamma_c):
    def hit(_t, y):
        return y[1] + 1.0

    hit.terminal, hit.direction = True, -1.0
    sol = solve_ivp(
        _toy_rhs(gamma_c),
        (0.0, 500.0),
        [2.0, 0.5],
        method="DOP853",
        rtol=1e-12,
        atol=1e-14,
        events=hit,
    )
    t_hit, (g_hit, _) = sol.t_events[0][0], sol.y_events[0][0]
    energy = float(ref.toy_energy(2.0, 0.5, gamma_c))
    assert ref.toy_first_hit(gamma_c, energy) == pytest.approx(g_hit, rel=1e-10)
    assert ref.toy_time_to_hit(gamma_c, 2.0, 0.5) == pytest.approx(t_hit, rel=1e-10)

    def release(_t, y):
        return y[0]

    release.terminal = True
    slide = solve_ivp(  # on omega = -1: g' = -Phi'(g), until g = 0
        lambda _t, y: [-1.0 / (4.0 * math.cosh(0.5 * y[0]) ** 2)],
        (0.0, 500.0),
        [g_hit],
        method="DOP853",
        rtol=1e-12,
        atol=1e-14,
        events=release,
    )
    assert ref.toy_slide_time(g_hit) == pytest.approx(slide.t_events[0][0], rel=1e-10)
    assert ref.toy_limit_amplitude(gamma_c) == pytest.approx(
        ref.toy_amplitude(2.0 + 1.0 / gamma_c), rel=1e-14
    )


def test_polynomial_law_against_quadrature():
    law = ref.PolynomialLaw(-0.6, 0.3, 2)

    def density(x):
        y = (2.0 * x - law.a - law.b) / (law.b - law.a)
        return (1.0 - y * y) ** 2

    mass = quad(density, law.a, law.b)[0]
    assert law.cdf(-0.1) == pytest.approx(quad(density, law.a, -0.1)[0] / mass, rel=1e-12)
    assert law.mean() == pytest.approx(quad(lambda x: x * density(x), law.a, law.b)[0] / mass)
    for c in (-0.7, -0.2, 0.1, 0.4):
        for k in (1, 2):
            lower = min(max(c, law.a), law.b)
            integrand = lambda x, k=k, c=c: (x - c) ** k * density(x)  # noqa: E731
            expected = quad(integrand, lower, law.b, epsabs=0.0, epsrel=1e-13)[0] / mass
            assert law.upper_moment(c, k) == pytest.approx(expected, rel=1e-10, abs=1e-15)
    assert law.max_density() == pytest.approx(density(-0.15) / mass)


def test_mean_field_toy_reference_matches_the_reduced_ode():
    gamma_c, g0, law = 1.7, -2.5, ref.PolynomialLaw(-0.6, 0.3, 2)
    reference = ref.MeanFieldToyReference(law, gamma_c, g0)

    def rhs(_t, y):
        g, s = y
        return [
            reference.mean_position(s) / (4.0 * math.cosh(0.5 * g) ** 2),
            -0.5 * gamma_c * math.tanh(0.5 * g),
        ]

    def concentrated(_t, y):
        return y[1] - (1.0 - law.a)

    concentrated.terminal = True
    sol = solve_ivp(
        rhs,
        (0.0, 50.0),
        [g0, 0.0],
        method="DOP853",
        rtol=1e-12,
        atol=1e-14,
        events=concentrated,
        dense_output=True,
    )
    t_star = sol.t_events[0][0]
    assert reference.t_star == pytest.approx(t_star, rel=1e-10)
    for t in (0.3 * t_star, 0.8 * t_star):
        g, s = sol.sol(t)
        g_ref, s_ref, wall = reference.state(t)
        assert (g_ref, s_ref) == pytest.approx((g, s), rel=1e-9)
        assert wall == pytest.approx(1.0 - law.cdf(1.0 - s), abs=1e-12)
    # after t*: the Dirac on the wall slides with g' = Phi'(g)
    after = solve_ivp(
        lambda _t, y: [1.0 / (4.0 * math.cosh(0.5 * y[0]) ** 2)],
        (t_star, t_star + 3.0),
        [sol.y_events[0][0][0]],
        method="DOP853",
        rtol=1e-12,
        atol=1e-14,
        dense_output=True,
    )
    g_ref, s_ref, wall = reference.state(t_star + 2.0)
    assert g_ref == pytest.approx(after.sol(t_star + 2.0)[0], rel=1e-9)
    assert (s_ref, wall) == (1.0 - law.a, 1.0)
    with pytest.raises(ValueError, match="release"):
        reference.state(reference.t_release + 1.0)


def _mean_ode():
    return ref.MeanODE(1.7, (-1.0, 1.0), (0.3, 0.3), (0.5, 0.5))


def test_mean_ode_jacobian_and_covariance():
    ode = _mean_ode()
    point = np.array([0.83, 0.27])
    f, jac, sigma = ode.parts(*point)
    step = 1e-6
    for k in range(2):
        e = np.zeros(2)
        e[k] = step
        column = (ode.parts(*(point + e))[0] - ode.parts(*(point - e))[0]) / (2 * step)
        assert jac[:, k] == pytest.approx(column, rel=1e-7, abs=1e-10)
    # single-sample velocities by scipy quad (z) and the mixture's two components (x)
    alpha, a = point
    phi = lambda z: math.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)  # noqa: E731
    sig = lambda u: 0.5 * (1.0 + math.tanh(0.5 * u))  # noqa: E731

    def expect_z(func):
        return quad(lambda z: func(z) * phi(z), -12.0, 12.0, epsabs=1e-14)[0]

    def v_alpha(z):
        p = sig(alpha * sig(z))
        return -a * p * (1.0 - p) * sig(z)

    def v_a(z):
        return 1.7 * sig(alpha * sig(z))

    mean_alpha, mean_a = expect_z(v_alpha), expect_z(v_a)
    assert f[0] == pytest.approx(mean_alpha, rel=1e-10)
    data_mean = 0.5  # symmetric P: E sigma(x) = 1/2
    assert f[1] == pytest.approx(mean_a - 1.7 * data_mean, rel=1e-10)
    var_x = sum(
        0.5 * quad(lambda x, m=m: (sig(x) - 0.5) ** 2 * phi((x - m) / 0.3) / 0.3, m - 4, m + 4)[0]
        for m in (-1.0, 1.0)
    )
    expected = np.array(
        [
            [
                expect_z(lambda z: (v_alpha(z) - mean_alpha) ** 2),
                expect_z(lambda z: (v_alpha(z) - mean_alpha) * (v_a(z) - mean_a)),
            ],
            [0.0, expect_z(lambda z: (v_a(z) - mean_a) ** 2) + 1.7**2 * var_x],
        ]
    )
    expected[1, 0] = expected[0, 1]
    assert sigma == pytest.approx(expected, rel=1e-8)


def test_mean_ode_flow_sensitivity_and_euler():
    ode = _mean_ode()
    start = np.array([0.9, 0.1])
    means, phi = ode.flow(start, 0.5)
    assert ode.means(start, [0.0, 0.5])[-1] == pytest.approx(means, rel=1e-11)
    step = 1e-6
    for k in range(2):
        e = np.zeros(2)
        e[k] = step
        column = (ode.flow(start + e, 0.5)[0] - ode.flow(start - e, 0.5)[0]) / (2 * step)
        assert phi[:, k] == pytest.approx(column, rel=1e-6, abs=1e-9)
    # forward Euler converges to the flow at first order
    errors = [np.abs(ode.euler(start, 0.5 / n, n)[0] - means).max() for n in (40, 80)]
    assert errors[0] / errors[1] == pytest.approx(2.0, rel=0.05)

    # the covariance recursion C_n / dt converges (first order) to K(t) of the continuous
    # Lyapunov ODE K' = J K + K J^T + Sigma along the flow, solved here independently
    def lyapunov(_t, y):
        f, jac, sigma = ode.parts(y[0], y[1])
        k = y[2:].reshape(2, 2)
        return np.concatenate([f, (jac @ k + k @ jac.T + sigma).ravel()])

    sol = solve_ivp(
        lyapunov,
        (0.0, 0.5),
        np.concatenate([start, np.zeros(4)]),
        method="DOP853",
        rtol=1e-11,
        atol=1e-14,
    )
    k_exact = sol.y[2:, -1].reshape(2, 2)
    ratios = [
        np.trace(ode.euler(start, 0.5 / n, n)[1]) / (0.5 / n) / np.trace(k_exact) for n in (50, 100)
    ]
    assert abs(ratios[1] - 1.0) < 0.01
    assert abs(ratios[0] - 1.0) == pytest.approx(2.0 * abs(ratios[1] - 1.0), rel=0.1)


def test_uniform_w2_squared_against_brute_force_and_its_expectation():
    rng = np.random.default_rng(5)
    points = rng.uniform(0.3, 1.1, 13)
    q = (np.arange(13 * 20_000) + 0.5) / (13 * 20_000)  # midpoints, aligned with k/13
    brute = np.mean((np.sort(points)[(q * 13).astype(int)] - (0.3 + 0.8 * q)) ** 2)
    assert ref.uniform_w2_squared(points, 0.3, 1.1) == pytest.approx(brute, rel=1e-9)
    # E W2^2(empirical of N uniforms, U[0, 1]) = 1/(6(N+1)) + sum_k ((N+1-k)^3 + k^3) /
    # (3 N^3 (N+1)^3) (order statistics: Beta(k, N+1-k)); = 1/(6N) + O(N^-3), J_2 = 1/6
    n = 4
    k = np.arange(1, n + 1)
    exact = 1.0 / (6 * (n + 1)) + np.sum((n + 1 - k) ** 3 + k**3) / (3 * n**3 * (n + 1) ** 3)
    assert exact == pytest.approx(1.0 / (6 * n), rel=2.0 / n**2)
    draws = np.array([ref.uniform_w2_squared(rng.random(n), 0.0, 1.0) for _ in range(40_000)])
    assert abs(draws.mean() - exact) < 4.0 * draws.std() / math.sqrt(draws.size)


def test_w2_to_cells_with_empty_cells_regression():
    """w2_to_cells read F^{-1}(1) as the grid's last edge when the top cells are empty
    (np.interp on the repeated cdf value 1): d2^2 was off by (edge - support end)^2 / (6N).
    Found by meanfield.particle_rate's comparison with the closed form."""
    edges = np.linspace(-3.0, 3.0, 61)
    centres = 0.5 * (edges[1:] + edges[:-1])
    masses = ((centres > 0.4) & (centres < 1.4)).astype(float)
    masses /= masses.sum()
    rng = np.random.default_rng(0)
    for n in (1, 7, 50):
        points = rng.uniform(0.4, 1.4, n)
        assert w2_to_cells(points, edges, masses) == pytest.approx(
            ref.uniform_w2_squared(points, 0.4, 1.4), rel=1e-12
        )
        assert w2_to_cells(points, edges + 0.013, masses) == pytest.approx(
            ref.uniform_w2_squared(points, 0.413, 1.413), rel=1e-12
        )
    # an interior gap: U[0, 1] and U[2, 3] with mass 1/2 each, two points at the medians
    gap = w2_to_cells(np.array([0.5, 2.5]), np.array([0.0, 1.0, 2.0, 3.0]), np.array([0.5, 0, 0.5]))
    assert gap == pytest.approx(1.0 / 12.0, rel=1e-14)
