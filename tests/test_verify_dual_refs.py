"""The independent references of the paper-003 checks (gan_pde/verify/_reference_dual.py).

Each reference is tested against a second, more direct computation written here (matrix
powers, a matrix exponential, finite differences, hand-written schemes, brute-force
minimisation), so that the checks in gan_pde/verify/checks_dual.py compare the package with
something whose own correctness is established without the package.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import scipy.optimize

from gan_pde.verify import _reference_dual as ref

COUPLING = np.array([[1.3, 0.4, -0.25], [-0.2, 0.7, 0.5]])
TARGET = np.array([0.6, -0.35, 0.2])
X0, Y0 = np.array([0.3, -0.8]), np.array([1.1, 0.25, -0.4])


def _step_matrix(scheme: str, tau: float, b: np.ndarray = COUPLING) -> np.ndarray:
    """The full (dx + dy) one-step matrix of a scheme in (x, w = y - y_r), built literally."""
    dx, dy = b.shape
    top = np.hstack([np.eye(dx), tau * b])
    if scheme in ("implicit", "alternating"):
        # x' = x + tau B w, then w' = w - tau B^T x'
        bottom = np.hstack([-tau * b.T, np.eye(dy) - tau * tau * b.T @ b])
        return np.vstack([top, bottom])
    if scheme == "simultaneous":
        return np.vstack([top, np.hstack([-tau * b.T, np.eye(dy)])])
    jac = np.block([[np.zeros((dx, dx)), b], [-b.T, np.zeros((dy, dy))]])
    return np.linalg.inv(np.eye(dx + dy) - tau * jac)


@pytest.mark.parametrize("scheme", ["implicit", "alternating", "simultaneous", "joint-implicit"])
@pytest.mark.parametrize("tau", [0.37, 0.11])
def test_bilinear_closed_form_is_the_matrix_power(scheme, tau):
    n = 40
    path = ref.bilinear_path(COUPLING, TARGET, X0, Y0, tau, n, scheme)
    step = _step_matrix(scheme, tau)
    u = np.concatenate([X0, Y0 - TARGET])
    for k in (0, 1, 7, n):
        expected = np.linalg.matrix_power(step, k) @ u
        got = path[k] - np.concatenate([np.zeros(2), TARGET])
        assert np.allclose(got, expected, rtol=0, atol=1e-13 * (1 + k))


def test_bilinear_flow_is_the_matrix_exponential():
    times = np.array([0.0, 0.3, 2.0, 7.5])
    flow = ref.bilinear_flow(COUPLING, TARGET, X0, Y0, times)
    jac = np.block([[np.zeros((2, 2)), COUPLING], [-COUPLING.T, np.zeros((3, 3))]])
    u = np.concatenate([X0, Y0 - TARGET])
    for t, row in zip(times, flow, strict=True):
        expected = scipy.linalg.expm(t * jac) @ u
        assert np.allclose(row - np.concatenate([np.zeros(2), TARGET]), expected, atol=1e-13)


def test_rates_amplification_and_slope_weights():
    tau = 0.23
    # |eigenvalue|^2 of the simultaneous / joint matrices of (1)-(2) (B = I), per unit time
    for scheme, sign in (("simultaneous", 1), ("joint-implicit", -1)):
        m = _step_matrix(scheme, tau, np.eye(2))
        radius = np.max(np.abs(np.linalg.eigvals(m)))
        assert ref.rate(scheme, tau) == pytest.approx(sign * abs(2 * np.log(radius) / tau))
        assert np.sign(np.log(radius)) == sign
    assert ref.rate("implicit", tau) == 0.0
    # the modified energy Q of the det-1 matrix: M^T Q M = Q, cond(Q) = (1 + h/2)/(1 - h/2)
    h = 0.7
    m = np.array([[1.0, h], [-h, 1.0 - h * h]])
    q = np.array([[1.0, h / 2], [h / 2, 1.0]])
    assert np.allclose(m.T @ q @ m, q, atol=1e-15)
    worst = max(np.linalg.norm(np.linalg.matrix_power(m, j), 2) for j in range(1, 200))
    assert worst <= ref.amplification("alternating", np.array([h])) * (1 + 1e-12)
    times = np.linspace(0.0, 3.0, 31)
    values = np.sin(times) + 0.3 * times
    assert ref.slope_weights(times) @ values == pytest.approx(np.polyfit(times, values, 1)[0])


GAME = ref.TanhGame(target=0.3, damping=0.45)


def test_tanh_derivatives_and_losses():
    z = np.array([0.7, -0.4])
    step = 1e-6
    f, g, fx, fy, gx, gy = GAME.parts(z)
    assert np.allclose(GAME.velocity(z), [f, g])
    jac = np.array(
        [
            (GAME.velocity(z + step * e) - GAME.velocity(z - step * e)) / (2 * step)
            for e in np.eye(2)
        ]
    ).T
    assert np.allclose(jac, [[fx, fy], [gx, gy]], atol=1e-9)
    # the velocity is minus the partial gradients of the two losses
    cx = (GAME.losses(z + [step, 0])[0] - GAME.losses(z - [step, 0])[0]) / (2 * step)
    cy = (GAME.losses(z + [0, step])[1] - GAME.losses(z - [0, step])[1]) / (2 * step)
    assert np.allclose([-cx, -cy], [f, g], atol=1e-9)


def _implicit(z0, tau, n):
    """(8)-(9) for the tanh game, written here: each player's implicit equation by brentq."""
    path = [np.array(z0, dtype=float)]
    for _ in range(n):
        x, y = path[-1]
        x_new = scipy.optimize.brentq(
            lambda u, x=x, y=y: u - x - tau * GAME.velocity(np.array([u, y]))[0],
            x - 1.0,
            x + 1.0,
            xtol=1e-15,
            rtol=4 * np.finfo(float).eps,
        )
        y_new = scipy.optimize.brentq(
            lambda u, x_new=x_new, y=y: u - y - tau * GAME.velocity(np.array([x_new, u]))[1],
            y - 1.0,
            y + 1.0,
            xtol=1e-15,
            rtol=4 * np.finfo(float).eps,
        )
        path.append(np.array([x_new, y_new]))
    return np.array(path)


def _alternating(z0, tau, n):
    path = [np.array(z0, dtype=float)]
    for _ in range(n):
        x, y = path[-1]
        x = x + tau * GAME.velocity(np.array([x, y]))[0]
        y = y + tau * GAME.velocity(np.array([x, y]))[1]
        path.append(np.array([x, y]))
    return np.array(path)


def test_error_constants_and_edi_constant_match_hand_written_schemes():
    z0, t_final = np.array([0.8, -0.6]), 0.8
    taus = [0.02, 0.01, 0.005]
    fine = taus[-1] * np.arange(round(t_final / taus[-1]) + 1)
    reference = GAME.reference(z0, fine)
    end = reference.z[-1]
    c_implicit, c_alternating, c_edi = [], [], []
    for tau in taus:
        n = round(t_final / tau)
        implicit, alternating = _implicit(z0, tau, n), _alternating(z0, tau, n)
        c_implicit.append((implicit[-1] - end) / tau)
        c_alternating.append((alternating[-1] - end) / tau)
        c_edi.append(GAME.linear_interpolant_defect(implicit, tau) / tau**2)
    for values, exact in (
        (c_implicit, reference.error_implicit[-1]),
        (c_alternating, reference.error_alternating[-1]),
    ):
        r, estimate = ref.richardson_constant(values)
        assert np.linalg.norm(r - exact) <= 2 * estimate + 1e-9
        assert np.linalg.norm(exact) > 0.05  # a non-trivial constant
    r, estimate = ref.richardson_constant(c_edi)
    assert abs(float(r) - reference.edi_constant) <= 2 * estimate + 1e-9


def test_flow_reference_against_a_second_solver():
    z0 = np.array([0.8, -0.6])
    times = np.linspace(0.0, 2.0, 11)
    reference = GAME.reference(z0, times)
    radau = scipy.integrate.solve_ivp(
        lambda _t, z: GAME.velocity(z),
        (0, 2.0),
        z0,
        method="Radau",
        t_eval=times,
        rtol=1e-12,
        atol=1e-13,
    )
    assert np.allclose(reference.z, radau.y.T, atol=1e-10)
    assert GAME.dop853_steps(z0, 2.0, 1e-12) > 5


def test_linear_interpolant_defect_is_the_edi_sum():
    # Upsilon + kinetic + slope computed term by term (chain rule of Remark 1) with a
    # 20-point rule equals the reference's 1/2 int |z' - v|^2
    rng = np.random.default_rng(1)
    z = np.cumsum(0.05 * rng.normal(size=(6, 2)), axis=0) + [0.5, -0.2]
    tau = 0.1
    nodes, weights = np.polynomial.legendre.leggauss(20)
    nodes, weights = 0.5 * (nodes + 1), 0.5 * weights
    total = 0.0
    for k in range(5):
        slope = (z[k + 1] - z[k]) / tau
        for node, weight in zip(nodes, weights, strict=True):
            v = GAME.velocity(z[k] + node * tau * slope)
            total += weight * tau * (-(v @ slope) + 0.5 * slope @ slope + 0.5 * v @ v)
    assert GAME.linear_interpolant_defect(z, tau) == pytest.approx(total, rel=1e-12)


def test_richardson_constant_on_a_synthetic_sequence():
    e, f, g = 0.7, -1.3, 2.1
    taus = [0.1, 0.05, 0.025]
    values = [np.array([e + f * t + g * t * t]) for t in taus]
    r, estimate = ref.richardson_constant(values)
    # 2c(tau/4) - c(tau/2) = E - G tau^2/8, the estimate |r - r'|/3 = |G| tau^2/8 exactly
    assert r[0] == pytest.approx(e - g * taus[0] ** 2 / 8, rel=1e-13)
    assert estimate == pytest.approx(abs(g) * taus[0] ** 2 / 8, rel=1e-10)


FEATURES = ref.Features(centers=np.linspace(-2.9, 3.1, 13), width=0.45)


def test_feature_derivatives():
    x = np.linspace(-3.5, 3.5, 9)
    step = 1e-5
    for order in range(1, 5):
        numeric = (FEATURES.phi(x + step, order - 1) - FEATURES.phi(x - step, order - 1)) / (
            2 * step
        )
        scale = np.max(np.abs(FEATURES.phi(x, order)))
        assert np.allclose(FEATURES.phi(x, order), numeric, atol=1e-6 * (1 + scale))


@pytest.mark.parametrize("decay", [0.0, 0.23, 1.7])
def test_collapse_speed_is_the_minimum_over_the_discriminator(decay):
    target = np.array([-1.6, -1.2, 1.1, 1.7, 0.2])
    for p in (-2.0, 0.35, 1.4):
        speed, _ = ref.collapse_speed(FEATURES, target, p, decay)
        a = FEATURES.phi(np.array([p]), 1)[0]
        g = FEATURES.gap(np.array([p]), target)

        def square(y, a=a, g=g):
            return (a @ y) ** 2 + np.sum((g - decay * y) ** 2)

        best = scipy.optimize.minimize(square, np.zeros(a.size), method="BFGS", tol=1e-14)
        assert speed**2 == pytest.approx(best.fun, abs=1e-10)
        if decay > 0:  # the closed form of the package's docstring
            assert speed == pytest.approx(abs(a @ g) / np.sqrt(a @ a + decay**2), rel=1e-12)


def test_global_proximal_map_and_curvature_by_brute_force():
    rng = np.random.default_rng(4)
    y = 0.8 * rng.normal(size=13)
    x = np.sort(rng.uniform(-2.0, 2.0, size=6))
    kappa = ref.max_negative_curvature(FEATURES, y, -5.0, 5.0)
    dense = np.linspace(-5.0, 5.0, 400001)
    assert kappa == pytest.approx(np.max(-(FEATURES.phi(dense, 2) @ y)), rel=1e-9)
    fourth = np.max(np.abs(FEATURES.phi(dense, 4) @ y))
    assert fourth <= ref.fourth_derivative_bound(FEATURES, y)
    for tau in (0.5 / kappa, 3.0 / kappa):
        z, _ = ref.proximal_global(FEATURES, x, y, tau)
        z, slope = ref.newton_polish(FEATURES, x, y, tau, z)
        assert np.all(slope > 0)
        for xi, zi in zip(x, z, strict=True):
            grid = xi + np.linspace(-1, 1, 200001) * tau * np.sum(np.abs(y))
            values = (grid - xi) ** 2 / (2 * tau) + FEATURES.phi(grid) @ y
            assert abs(zi - grid[np.argmin(values)]) <= 2 * (grid[1] - grid[0])
            # stationary to round-off
            assert abs((zi - xi) / tau + FEATURES.phi(np.array([zi]), 1)[0] @ y) < 1e-12


def test_dual_checks_scale_with_the_size():
    from gan_pde.verify import checks_dual

    for table in (
        checks_dual._OSC_SIZES,
        checks_dual._TANH_SIZES,
        checks_dual._PARTICLE_SIZES,
    ):
        assert len({repr(table[s]) for s in ("quick", "default", "full")}) == 3
