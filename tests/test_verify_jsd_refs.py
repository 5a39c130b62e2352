"""The independent references of the JSD-flow checks (``gan_pde.verify._reference_jsd``).

The checks ``jsd.decay_rate`` and ``jsd.reference_solution`` are only as good as these
references: each is tested here against exact solutions, closed forms or its own
invariants, never against the package's flow.
"""

from __future__ import annotations

import inspect
import math

import numpy as np
import pytest

from gan_pde.verify import _reference_jsd as ref
from gan_pde.verify import checks_jsd

TARGET = ref.Mixture1D(weights=(0.35, 0.65), means=(-1.4, 1.3), stds=(0.8, 1.1))
START = ref.Mixture1D(weights=(1.0,), means=(0.5,), stds=(0.8,))


def test_reference_module_is_independent_of_the_code_under_test():
    source = inspect.getsource(ref)
    for module in (
        "gan_pde.flows",
        "gan_pde.densities",
        "gan_pde.fem",
        "gan_pde.mesh",
        "gan_pde.spectral",
        "skfem",
    ):
        assert module not in source


def test_schroedinger_eigenvalues_of_a_gaussian_are_k_over_s2():
    # -Delta_mu of N(m, s^2) has the Hermite eigenvalues k / s^2; the three-point
    # difference converges at order 2 and Richardson removes the h^2 term
    gauss = ref.Mixture1D(weights=(1.0,), means=(0.7,), stds=(1.3,))
    lower, upper = 0.7 - 12 * 1.3, 0.7 + 12 * 1.3
    coarse, fine = (ref.schroedinger_eigenvalues(gauss, lower, upper, n, k=4) for n in (400, 800))
    exact = np.arange(4) / 1.3**2
    ratio = np.abs(coarse - exact)[1:] / np.abs(fine - exact)[1:]
    np.testing.assert_allclose(ratio, 4.0, atol=0.05)
    np.testing.assert_allclose(ref.richardson(coarse, fine, 2.0), exact, atol=1e-6)


def test_mixture_potential_matches_derivatives_of_log_pdf():
    # V = (sqrt rho)'' / sqrt rho = 1/2 (ln rho)'' + 1/4 ((ln rho)')^2, by central differences
    x = np.linspace(-6.0, 6.0, 41)
    h = 1e-4
    lp = [TARGET.log_pdf(x + k * h) for k in (-1, 0, 1)]
    first = (lp[2] - lp[0]) / (2 * h)
    second = (lp[2] - 2 * lp[1] + lp[0]) / h**2
    np.testing.assert_allclose(TARGET.potential(x), 0.5 * second + 0.25 * first**2, atol=1e-5)
    # and the mixture is normalised
    grid = np.linspace(-15, 15, 30001)
    assert np.trapezoid(np.exp(TARGET.log_pdf(grid)), grid) == pytest.approx(1.0, abs=1e-12)


def test_jsd_density_closed_form_values():
    assert ref.jsd_density(np.array([1.0]))[0] == 0.0
    assert ref.jsd_density(np.array([0.0]))[0] == pytest.approx(0.5 * math.log(2.0))
    v = np.array([1e-3, 0.3, 0.999, 1.001, 2.0, 50.0])
    direct = 0.5 * (v * np.log(2 * v / (1 + v)) + np.log(2 / (1 + v)))
    np.testing.assert_allclose(ref.jsd_density(v), direct, rtol=1e-9)
    # near v = 1, j(v) = (v - 1)^2 / 8 + O((v - 1)^3): no cancellation
    e = 1e-6
    assert ref.jsd_density(np.array([1.0 + e]))[0] == pytest.approx(e**2 / 8, rel=1e-5)


def test_fv_flow_invariants():
    result = ref.fv_flow(TARGET, START, -8.0, 8.0, 160, 0.25, 40)
    assert abs(result.mass[0] - 1.0) < 1e-15
    assert np.abs(np.diff(result.mass)).max() < 1e-15
    assert np.all(np.diff(result.jsd) < 0) and np.all(np.diff(result.kl) < 0)
    assert np.all(np.diff(result.l1) <= 1e-16)  # L1 contraction of backward Euler
    assert result.v_min.min() >= 0.0 and result.v_max.max() <= result.v_max[0] * (1 + 1e-15)
    assert np.all(result.dissipation >= 0) and np.all(np.diff(result.grad_v_integral) >= 0)
    assert result.newton_iterations <= 5 * 40


def test_fv_flow_is_stationary_at_the_target():
    result = ref.fv_flow(TARGET, TARGET, -8.0, 8.0, 80, 0.5, 4)
    # v0 = 1 exactly up to the normalisation: nothing moves
    assert np.abs(result.v - 1.0).max() < 1e-13
    assert result.jsd.max() < 1e-25 and result.grad_v_integral[-1] < 1e-25


def test_fv_flow_converges_at_order_two_in_space():
    values = [ref.fv_flow(TARGET, START, -8.0, 8.0, n, 0.1, 10).jsd[-1] for n in (50, 100, 200)]
    ratio = (values[0] - values[1]) / (values[1] - values[2])
    assert ratio == pytest.approx(4.0, abs=0.1)


def test_fv_flow_decays_at_the_backward_euler_rate_of_the_fd_eigenvalue():
    # the two references agree with each other: the finite-volume flow's late-time L1 rate
    # is ln(1 + dt xi_min/4)/dt with xi_min of the Schroedinger-form finite differences
    dt = 0.25
    xi = ref.richardson(
        *(ref.schroedinger_eigenvalues(TARGET, -8.0, 8.0, n)[1] for n in (2000, 4000)), 2.0
    )
    result = ref.fv_flow(TARGET, START, -8.0, 8.0, 320, dt, 320)
    late = result.times >= 60.0
    rate = -np.polyfit(result.times[late], np.log(result.l1[late]), 1)[0]
    expected = math.log1p(dt * xi / 4) / dt
    assert rate == pytest.approx(expected, rel=3e-4)


def test_every_jsd_check_changes_its_problem_with_the_size():
    for table in (checks_jsd._LONG, checks_jsd._VALUES, checks_jsd._FD):
        assert len({str(value) for value in table.values()}) == 3
