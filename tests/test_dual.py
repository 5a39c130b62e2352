"""Dual metric flows (paper 003): schemes (8)-(9), (1), update matrices, Lemma 1, EDI (21)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gan_pde.dual import (
    SCHEMES,
    EuclideanGame,
    convergence_study,
    dual_flow,
    edi_defect,
    fitted_order,
    modified_energy,
    oscillating_game,
    oscillation_study,
    predicted_rate,
    proximal_step,
    simulate,
    tanh_game,
    update_matrix,
)
from gan_pde.errors import InvalidInputError, NotConvergedError, NumericalBreakdownError

X_R = np.array([1.0, -0.5])


def generic_bilinear() -> EuclideanGame:
    """The oscillating game without its closed forms: proximal steps by scipy."""
    game = oscillating_game(X_R)
    return EuclideanGame(
        cost_x=game.cost_x,
        cost_y=game.cost_y,
        grad_x=game.grad_x,
        grad_y=game.grad_y,
        dim_x=2,
        dim_y=2,
    )


def test_implicit_scheme_is_the_alternating_scheme_1_for_the_bilinear_loss():
    # (1) written out: y_{n+1} = y_n + tau (gen_n - x_r), gen_{n+1} = gen_n - tau y_{n+1},
    # with y the discriminator (the first player x of (8)-(9)).
    tau, n = 0.07, 40
    disc, gen = np.array([0.3, 0.0]), np.array([2.0, 0.5])
    path = simulate(oscillating_game(X_R), disc, gen, tau=tau, n_steps=n, scheme="implicit")
    generic = simulate(generic_bilinear(), disc, gen, tau=tau, n_steps=n, scheme="implicit")
    for _ in range(n):
        disc = disc + tau * (gen - X_R)
        gen = gen - tau * disc
    # closed form vs the recursion: same floating-point operations up to ordering
    np.testing.assert_allclose(path.x[-1], disc, rtol=0, atol=1e-13)
    np.testing.assert_allclose(path.y[-1], gen, rtol=0, atol=1e-13)
    # scipy's inner solves (optimality residual <= 1e-12 (1+|s|) per step, 2*40 steps)
    np.testing.assert_allclose(generic.z, path.z, rtol=0, atol=1e-9)
    alternating = simulate(
        oscillating_game(X_R), path.x[0], path.y[0], tau=tau, n_steps=n, scheme="alternating"
    )
    np.testing.assert_allclose(alternating.z, path.z, rtol=0, atol=1e-13)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_update_matrices_drive_the_schemes(scheme):
    tau = 0.3
    path = simulate(oscillating_game([0.0]), [0.4], [1.0], tau=tau, n_steps=5, scheme=scheme)
    u = np.array([0.4, 1.0])
    matrix = update_matrix(scheme, tau)
    for k in range(1, 6):
        u = matrix @ u
        np.testing.assert_allclose([path.x[k, 0], path.y[k, 0]], u, rtol=1e-13, atol=1e-15)
    det = {"implicit": 1.0, "alternating": 1.0, "simultaneous": 1 + tau**2}
    assert np.linalg.det(matrix) == pytest.approx(det.get(scheme, 1 / (1 + tau**2)), rel=1e-14)


def test_long_time_rates_match_the_matrices():
    study = oscillation_study(taus=(0.2, 0.1, 0.05), t_final=40.0)
    for scheme in ("simultaneous", "joint-implicit"):
        # normal matrices (scaled rotations): r^2 is exactly geometric, the fit is exact
        # up to round-off accumulated over <= 800 steps
        np.testing.assert_allclose(study.measured[scheme], study.predicted[scheme], rtol=1e-9)
        # ln(1+tau^2)/tau = tau - tau^3/2 + ...: slope 1 - O(tau^2) over [0.05, 0.2]
        assert study.rate_order(scheme) == pytest.approx(1.0, abs=0.02)
    assert np.all(study.measured["simultaneous"] > 0)
    assert np.all(study.measured["joint-implicit"] < 0)
    for scheme in ("implicit", "alternating"):
        # bounded oscillation: r^2 stays in [H/(1+tau/2), H/(1-tau/2)] for ever
        taus = study.taus
        bound = (1 + taus / 2) / (1 - taus / 2) - 1
        assert np.all(study.max_deviation[scheme] <= bound)
        # the least-squares slope of a bounded ln r^2 is at most its range over T / 2
        assert np.all(np.abs(study.measured[scheme]) <= np.log1p(bound) / 20.0)
        assert study.predicted[scheme].tolist() == [0.0, 0.0, 0.0]


def test_modified_energy_is_conserved_by_the_implicit_scheme():
    tau = 0.15
    path = simulate(oscillating_game(X_R), [0.0, 0.2], [2.0, 0.5], tau=tau, n_steps=4000)
    energy = modified_energy(path.x, path.y - X_R, tau)
    # an exact invariant of the linear map: only round-off, ~1e-16 per step
    assert np.ptp(energy) / energy[0] < 1e-12
    r2 = np.sum(path.x**2 + (path.y - X_R) ** 2, axis=1)
    assert np.ptp(r2) / r2[0] > 0.1 * tau  # r^2 itself is not conserved


def test_predicted_rate_formula():
    assert predicted_rate("simultaneous", 0.1) == pytest.approx(math.log1p(0.01) / 0.1, rel=1e-13)
    assert predicted_rate("joint-implicit", 0.1) == pytest.approx(
        -math.log1p(0.01) / 0.1, rel=1e-13
    )
    assert predicted_rate("alternating", 2.5) > 0  # past tau = 2 the alternating map is unstable


def test_gradients_and_hessians_of_the_tanh_game():
    game = tanh_game([0.5, -1.0], damping=0.3)
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=2), rng.normal(size=2)
    h = 1e-6
    for i in range(2):
        e = np.eye(2)[i] * h
        # central differences: O(h^2) = 1e-12 truncation, 1e-16/h = 1e-10 round-off
        fd_x = (game.loss_x(x + e, y) - game.loss_x(x - e, y)) / (2 * h)
        fd_y = (game.loss_y(x, y + e) - game.loss_y(x, y - e)) / (2 * h)
        assert fd_x == pytest.approx(game.gradient_x(x, y)[i], abs=1e-8)
        assert fd_y == pytest.approx(game.gradient_y(x, y)[i], abs=1e-8)
        hx = (game.gradient_x(x + e, y) - game.gradient_x(x - e, y)) / (2 * h)
        hy = (game.gradient_y(x, y + e) - game.gradient_y(x, y - e)) / (2 * h)
        np.testing.assert_allclose(hx, game.hess_x(x, y)[:, i], atol=1e-8)
        np.testing.assert_allclose(hy, game.hess_y(x, y)[:, i], atol=1e-8)


def test_dual_flow_conserves_the_invariants():
    times = np.linspace(0.0, 30.0, 301)
    flow = dual_flow(oscillating_game(X_R), [0.0, 0.2], [2.0, 0.5], times)
    r2 = np.sum(flow.x**2 + (flow.y - X_R) ** 2, axis=1)
    assert np.ptp(r2) / r2[0] < 1e-9  # DOP853 at rtol 1e-12 over 5 periods
    # tanh game without damping: H = x^2 + sinh^2(y - x_r) is conserved
    # (dH/dt = 2x tanh(w) - 2 sinh(w) cosh(w) x sech^2(w) = 0)
    flow = dual_flow(tanh_game([0.5], damping=0.0), [1.0], [-0.5], times)
    energy = flow.x[:, 0] ** 2 + np.sinh(flow.y[:, 0] - 0.5) ** 2
    assert np.ptp(energy) / energy[0] < 1e-9
    np.testing.assert_allclose(flow.times, times)


def test_proximal_step_solves_the_implicit_equation():
    a = np.array([[3.0, 1.0], [1.0, 2.0]])
    b = np.array([1.0, -2.0])
    start, tau = np.array([0.5, 0.25]), 0.4
    exact = np.linalg.solve(np.eye(2) + tau * a, start + tau * b)  # u - s + tau (Au - b) = 0
    for hess in (None, lambda u: a):
        u, _ = proximal_step(
            lambda u: 0.5 * u @ a @ u - b @ u, lambda u: a @ u - b, start, tau, hess=hess
        )
        np.testing.assert_allclose(u, exact, rtol=0, atol=1e-12)  # tol 1e-12 (1 + |s|)


def test_lemma_1_and_convergence_to_the_dual_flow():
    game = tanh_game([0.5], damping=0.5)
    study = convergence_study(game, [1.0], [-0.5], t_final=3.0, taus=[0.04, 0.02, 0.01])
    orders = study.orders
    # all first order (Lemma 1; backward / forward Euler); the fit over a factor 4 in tau
    # carries the O(tau) second term of the error expansion, ~0.03 here
    for name in ("implicit_vs_explicit", "implicit", "explicit"):
        assert orders[name] == pytest.approx(1.0, abs=0.05)
    assert np.all(study.implicit_vs_explicit / study.taus < 1.0)  # C tau with C ~ 0.4


def test_edi_defect_vanishes_at_second_order():
    game = tanh_game([0.5], damping=0.5)
    taus = np.array([0.04, 0.02, 0.01])
    totals = []
    for tau in taus:
        path = simulate(game, [1.0], [-0.5], tau=tau, n_steps=round(3.0 / tau))
        defect = edi_defect(game, path)
        # Euclidean identity: LHS of (21) = 1/2 int |z' - v(z)|^2 (independent evaluation
        # with the midpoint rule on 40 sub-intervals per step: error ~1e-4 relative)
        sub = (np.arange(40) + 0.5) / 40
        z, dz = path.z[:-1], np.diff(path.z, axis=0) / tau
        direct = 0.0
        for s in sub:
            for k in range(dz.shape[0]):
                p = z[k] + s * tau * dz[k]
                direct += 0.5 * tau / 40 * np.sum((dz[k] - game.velocity(p[:1], p[1:])) ** 2)
        assert defect.total == pytest.approx(direct, rel=1e-3)
        assert np.all(np.diff(defect.cumulative) >= 0)
        totals.append(defect.total)
    # z' - v(z) = O(tau) on each step: the defect is O(tau^2)
    assert fitted_order(taus, totals) == pytest.approx(2.0, abs=0.1)


@pytest.mark.parametrize("tau", [0.04, 0.01])
def test_de_giorgi_identity_of_the_implicit_scheme(tau):
    # along the variational interpolant (28), each minimising movement satisfies
    # phi(x_tau) + d^2/(2 tau) + 1/2 int_0^tau |grad phi|^2(x_r) dr = phi(x) exactly
    game = tanh_game([0.5], damping=0.5)
    path = simulate(game, [1.0], [-0.5], tau=tau, n_steps=round(1.0 / tau))
    defect = edi_defect(game, path, interpolant="de-giorgi")
    # inner solves to 1e-12 (1+|s|), Gauss-Legendre doubled to 1e-13 agreement on a smooth
    # integrand: a few 1e-12 per step at most, against terms of size ~1
    assert abs(defect.total) < 1e-10
    assert min(defect.kinetic, defect.slope) > 0.1
    assert np.max(np.abs(defect.cumulative)) < 1e-10
    linear = edi_defect(game, path)
    assert linear.total > 1e3 * abs(defect.total)  # the linear interpolant's O(tau^2)


def test_de_giorgi_identity_when_the_proximal_curvature_nearly_vanishes():
    # regression (stress campaign, dual): with a = 0 and tau*max(-d2 C^y) = 0.72 inside a
    # step, the 5-point rule for the slope integral left -4.9e-3 in the De Giorgi sum
    # (the integrand's analyticity radius in r shrinks as 1 + r d2C -> 0)
    game = tanh_game([0.12885597376555719, -0.6582352033891985], damping=0.0)
    x0 = [-0.8672395194378701, 0.6083816116895023]
    y0 = [2.4627924651270674, -0.684903736263668]
    path = simulate(game, x0, y0, tau=0.2386225864348005, n_steps=29)
    defect = edi_defect(game, path, interpolant="de-giorgi")
    assert defect.slope > 1.0
    assert abs(defect.total) < 1e-10


@pytest.mark.parametrize("tau", [0.0, -0.1, float("nan"), float("inf"), "big"])
def test_bad_step(tau):
    with pytest.raises(InvalidInputError, match="tau"):
        simulate(oscillating_game([0.0]), [0.0], [1.0], tau=tau, n_steps=3)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"x0": [float("nan")]}, "x0"),
        ({"y0": [0.0, float("inf")]}, "y0"),
        ({"y0": [0.0, 1.0]}, "y0"),
        ({"n_steps": 0}, "n_steps"),
        ({"scheme": "rk4"}, "scheme"),
    ],
)
def test_bad_arguments(kwargs, match):
    args = {"x0": [0.0], "y0": [1.0], "tau": 0.1, "n_steps": 3} | kwargs
    with pytest.raises(InvalidInputError, match=match):
        simulate(oscillating_game([0.0]), **args)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_loss_returning_nan(scheme):
    game = tanh_game([0.0])
    broken = EuclideanGame(
        cost_x=game.cost_x,
        cost_y=game.cost_y,
        grad_x=lambda x, y: np.where(x > 0.5, np.nan, game.grad_x(x, y)),
        grad_y=game.grad_y,
        dim_x=1,
        dim_y=1,
    )
    with pytest.raises(NumericalBreakdownError, match="grad_x returned a non-finite"):
        simulate(broken, [1.0], [1.0], tau=0.1, n_steps=3, scheme=scheme)


def test_non_convergent_inner_solve_reports_the_numbers():
    game = tanh_game([0.0])
    with pytest.raises(NotConvergedError, match=r"residual .* > tol\*\(1\+\|s\|\)"):
        simulate(game, [1.0], [1.0], tau=0.1, n_steps=2, tol=1e-300)
    inconsistent = EuclideanGame(  # gradient of another function: the minimiser misses it
        cost_x=lambda x, y: float(np.sum(x**2)),
        cost_y=game.cost_y,
        grad_x=lambda x, y: 50.0 * np.sin(20.0 * x),
        grad_y=game.grad_y,
        dim_x=1,
        dim_y=1,
    )
    with pytest.raises(NotConvergedError, match="tau=0.1"):
        simulate(inconsistent, [1.0], [1.0], tau=0.1, n_steps=2)
    with pytest.raises(NotConvergedError, match="joint backward-Euler"):
        simulate(game, [1.0], [1.0], tau=0.1, n_steps=2, scheme="joint-implicit", tol=1e-300)


def test_bad_study_and_flow_arguments():
    with pytest.raises(InvalidInputError, match="times"):
        dual_flow(oscillating_game([0.0]), [0.0], [1.0], [1.0, 0.5])
    with pytest.raises(InvalidInputError, match="damping"):
        tanh_game([0.0], damping=-1.0)
    with pytest.raises(InvalidInputError, match="x_r"):
        oscillating_game([np.nan])
    with pytest.raises(InvalidInputError, match="discrete path"):
        edi_defect(tanh_game([0.0]), dual_flow(tanh_game([0.0]), [0.0], [1.0], [0.0, 1.0]))
    with pytest.raises(InvalidInputError, match="scheme"):
        update_matrix("leapfrog", 0.1)
    with pytest.raises(InvalidInputError, match="taus"):
        oscillation_study(taus=[0.1, float("nan")], t_final=1.0)
    with pytest.raises(InvalidInputError, match="taus"):
        convergence_study(tanh_game([0.0]), [0.0], [1.0], t_final=1.0, taus=[0.1])
    with pytest.raises(InvalidInputError, match="tau"):
        proximal_step(lambda u: 0.0, lambda u: 0 * u, np.zeros(1), -1.0)
    with pytest.raises(InvalidInputError, match="start"):
        proximal_step(lambda u: 0.0, lambda u: 0 * u, np.array([np.nan]), 1.0)
    wrong = EuclideanGame(
        cost_x=lambda x, y: 0.0,
        cost_y=lambda x, y: 0.0,
        grad_x=lambda x, y: np.zeros(3),
        grad_y=lambda x, y: np.zeros(1),
        dim_x=1,
        dim_y=1,
    )
    with pytest.raises(InvalidInputError, match=r"grad_x must return an array of shape \(1,\)"):
        simulate(wrong, [0.0], [0.0], tau=0.1, n_steps=1, scheme="alternating")
    game = tanh_game([0.0])
    explicit = simulate(game, [0.0], [1.0], tau=0.1, n_steps=2, scheme="alternating")
    with pytest.raises(InvalidInputError, match="implicit path"):
        edi_defect(game, explicit, interpolant="de-giorgi")
    with pytest.raises(InvalidInputError, match="interpolant"):
        edi_defect(game, explicit, interpolant="spline")
