"""JSD gradient flow (paper 002): resolvent, schemes, invariants, theorems, exact solutions."""

from __future__ import annotations

import doctest
import math
import warnings

import numpy as np
import pytest
import skfem
from hypothesis import given, settings
from hypothesis import strategies as st

import gan_pde as gp
from gan_pde.errors import InvalidDensityError, InvalidInputError, NotConvergedError
from gan_pde.fem import weighted_stiffness
from gan_pde.flows import JSDFlow, LogDiffusionOperator
from gan_pde.flows import jsd as jsd_module
from gan_pde.flows import operator as operator_module

GAUSS_1D = gp.Gaussian(mean=[0.0], cov=[[1.0]])
MIXTURE_1D = gp.GaussianMixture(means=[[-2.0], [2.0]], stds=[1.0, 1.0], weights=[0.5, 0.5])
MIXTURE_2D = gp.GaussianMixture(
    means=[[-1.5, 0.0], [1.5, 0.5]], stds=[1.0, 0.8], weights=[0.6, 0.4]
)
INITIAL_2D = gp.Gaussian(mean=[0.5, -0.5], cov=[[0.7, 0.2], [0.2, 0.9]])


def lumped_l1(flow: JSDFlow, a: np.ndarray, b: np.ndarray) -> float:
    return float(flow.operator.weights @ np.abs(a - b))


# ------------------------------------------------------------------ discretisation


def test_scaled_assembly_matches_scikit_fem():
    # D·K̂ = K (rows scaled back) and K equals scikit-fem's assembly with the normalised
    # weight; the lumped masses sum to 1 (ρ_d is normalised on the mesh).
    mesh = gp.mesh.rectangle((-3, 3), (-2, 2), n=(6, 5))
    op = LogDiffusionOperator(MIXTURE_2D, mesh, element="P2")
    rho_qp = np.exp(op.log_target_at_quadrature)
    reference = weighted_stiffness.assemble(op.basis, rho=rho_qp).toarray()
    np.testing.assert_allclose(op.stiffness.toarray(), reference, atol=1e-14)
    scaled_back = op.target_at_dofs[:, None] * op._stiffness_hat.toarray()
    np.testing.assert_allclose(scaled_back, reference, atol=1e-14)
    assert op.weights.sum() == pytest.approx(1.0, abs=1e-14)
    assert not op.lumped and not op.monotone  # P2 defaults to the consistent mass


def test_rectangle_and_interval_meshes_give_m_matrices():
    # MeshTri1.init_tensor cuts each rectangle into two right triangles: no obtuse angle,
    # so every ∇φ_i·∇φ_j ≤ 0 on every cell and the weighted P1 stiffness is an M-matrix.
    for mesh, target in [
        (gp.mesh.interval(-5, 5, n=20), GAUSS_1D),
        (gp.mesh.rectangle((-5, 5), (-4, 4), n=(7, 11)), MIXTURE_2D),
    ]:
        assert LogDiffusionOperator(target, mesh).monotone


# ------------------------------------------------------------------ invariants


@pytest.mark.parametrize("scheme", ["backward-euler", "crank-nicolson", "tr-bdf2"])
@pytest.mark.parametrize(
    ("mesh", "element", "target", "initial"),
    [
        (gp.mesh.interval(-8, 8, n=80), "P1", MIXTURE_1D, GAUSS_1D),
        (gp.mesh.interval(-8, 8, n=40), "P2", MIXTURE_1D, GAUSS_1D),
        (gp.mesh.rectangle((-6, 6), (-6, 6), n=(12, 12)), "P1", MIXTURE_2D, INITIAL_2D),
    ],
    ids=["1d-P1-lumped", "1d-P2-consistent", "2d-P1-lumped"],
)
def test_mass_is_conserved_to_round_off(scheme, mesh, element, target, initial):
    flow = JSDFlow(target, initial, mesh, element=element)
    traj = flow.solve(4.0, 0.4, scheme=scheme)
    assert traj.mass[0] == pytest.approx(1.0, abs=1e-14)
    assert np.abs(traj.mass - traj.mass[0]).max() < 1e-14
    assert all(abs(u.mass - 1.0) < 1e-12 for u in traj.densities)


def test_bundled_disk_mesh_and_mesh_density_initial():
    # an unstructured gmsh mesh: mass is conserved whatever the angles; an initial density
    # given as a MeshDensity on the same mesh is read at the dofs
    mesh = gp.mesh.bundled("disk")
    basis = skfem.Basis(mesh, skfem.ElementTriP1())
    initial = gp.MeshDensity.from_density(INITIAL_2D, basis)
    flow = JSDFlow(MIXTURE_2D, initial, mesh)
    analytic = JSDFlow(MIXTURE_2D, INITIAL_2D, mesh)
    np.testing.assert_allclose(flow.v0, analytic.v0, rtol=1e-10)
    traj = flow.solve(0.6, 0.2)
    assert np.abs(traj.mass - 1.0).max() < 1e-14
    assert traj.info["monotone"] == flow.monotone
    assert traj.jsd[-1] < traj.jsd[0]


def test_3d_smoke_mass_conserved():
    mesh = gp.mesh.box((-4, 4), (-4, 4), (-4, 4), n=(6, 6, 6))
    flow = JSDFlow(
        gp.Gaussian(mean=[0, 0, 0], cov=np.eye(3)),
        gp.Gaussian(mean=[0.5, 0, 0], cov=0.8 * np.eye(3)),
        mesh,
    )
    traj = flow.solve(1.0, 0.25)
    assert np.abs(traj.mass - 1.0).max() < 1e-14
    assert np.all(np.diff(traj.jsd) < 0)


@pytest.mark.parametrize("dt", [0.05, 5.0])
@pytest.mark.parametrize(
    ("mesh", "target", "initial"),
    [
        (gp.mesh.interval(-10, 10, n=200), MIXTURE_1D, gp.Gaussian(mean=[0.5], cov=[[0.8]])),
        (gp.mesh.rectangle((-6, 6), (-6, 6), n=(24, 24)), MIXTURE_2D, INITIAL_2D),
    ],
    ids=["1d", "2d-right-triangles"],
)
def test_maximum_principle_backward_euler(dt, mesh, target, initial):
    # lumped P1 + M-matrix: min v0 <= v(t) <= max v0 = beta at every step, any dt; the
    # tolerance is the Newton backward error (~1e-14 relative)
    flow = JSDFlow(target, initial, mesh)
    assert flow.monotone
    traj = flow.solve(10 * dt, dt)
    assert traj.v_min.min() >= traj.v_min[0] - 1e-13
    assert traj.v_max.max() <= flow.beta * (1 + 1e-13)
    assert np.all(traj.v_min >= -1e-13)


def test_l1_contraction_between_two_solutions():
    mesh = gp.mesh.interval(-8, 8, n=160)
    first = JSDFlow(GAUSS_1D, gp.Gaussian(mean=[1.0], cov=[[0.6]]), mesh)
    second = JSDFlow(GAUSS_1D, gp.GaussianMixture(means=[[-1.0], [1.5]], stds=[0.7, 0.5]), mesh)
    for dt in (0.02, 0.5, 20.0):
        a = first.solve(10 * dt, dt)
        b = second.solve(10 * dt, dt)
        distance = np.array([lumped_l1(first, x, y) for x, y in zip(a.v, b.v, strict=True)])
        assert np.all(np.diff(distance) <= 1e-14), dt


@settings(max_examples=40, deadline=None)
@given(
    f1=st.lists(st.floats(0.0, 5.0), min_size=25, max_size=25),
    f2=st.lists(st.floats(0.0, 5.0), min_size=25, max_size=25),
    log_tau=st.floats(-3.0, 3.0),
)
def test_resolvent_is_monotone_and_l1_contractive(f1, f2, log_tau):
    # Lemma after (12): accretivity; with the lumped mass and an M-matrix, discretely:
    # min f <= (I + tau A)^{-1} f <= max f and sum m |w1 - w2| <= sum m |f1 - f2|
    op = _OPERATOR
    f1, f2, tau = np.array(f1), np.array(f2), 10.0**log_tau
    w1, w2 = op.resolvent(f1, tau).v, op.resolvent(f2, tau).v
    assert f1.min() - 1e-12 <= w1.min() and w1.max() <= f1.max() + 1e-12
    # round-off: each w is computed to Newton's backward error, ~1e-13·(1 + max f) per node
    # for τ = 1e3 (observed 1.2e-13 with max f = 4), and the weights sum to 1
    roundoff = 1e-13 * (1.0 + max(f1.max(), f2.max()))
    assert op.weights @ np.abs(w1 - w2) <= op.weights @ np.abs(f1 - f2) + roundoff
    assert op.weights @ w1 == pytest.approx(op.weights @ f1, rel=1e-14)


_OPERATOR = LogDiffusionOperator(GAUSS_1D, gp.mesh.interval(-4, 4, n=24))


def test_jsd_decreases_and_energy_inequality():
    # Discrete Proposition (backward Euler, lumped, M-matrix): with j convex and
    # J_h(v) = sum m_i j(v_i), J_h(v^{n+1}) - J_h(v^n) <= sum m j'(v^{n+1})(v^{n+1} - v^n)
    # = -dt/4 psi^T K phi = -dt D_h(v^{n+1}) <= 0, so J_h(t_n) - J_h(0) <= -sum dt_k D_h(v^k)
    # exactly (right-end-point quadrature of the dissipation integral).
    flow = JSDFlow(
        MIXTURE_1D, gp.Gaussian(mean=[0.5], cov=[[0.8]]), gp.mesh.interval(-10, 10, n=200)
    )
    traj = flow.solve(20.0, 0.1)
    assert np.all(np.diff(traj.jsd) <= 1e-16)
    assert np.all(traj.dissipation >= 0)
    dt = np.diff(traj.times)
    right = np.concatenate([[0.0], np.cumsum(dt * traj.dissipation[1:])])
    assert np.all(traj.jsd - traj.jsd[0] + right <= 1e-14)
    # the continuous statement is an identity for smooth solutions: the trapezoidal
    # integral of the dissipation matches the JSD drop to O(dt) (measured 0.6 %)
    trapezoid = np.sum(dt * 0.5 * (traj.dissipation[1:] + traj.dissipation[:-1]))
    assert trapezoid == pytest.approx(traj.jsd[0] - traj.jsd[-1], rel=0.02)
    assert np.all(np.diff(traj.kl) <= 1e-16) and np.all(np.diff(traj.l1) <= 1e-16)


@pytest.mark.parametrize("scheme", ["backward-euler", "tr-bdf2"])
def test_gradient_bound_19(scheme):
    # (19): int_0^inf |grad v|^2 dt <= (1 + beta) beta^2; the proof via
    # d/dt |v|^2/2 = -1/2 int |grad v|^2/(1+v) gives the sharper (1+beta)(|v0|^2 - |v_inf|^2)
    # (|.| in L2(mu_d)), which backward Euler satisfies exactly in the discrete form.
    flow = JSDFlow(GAUSS_1D, gp.Gaussian(mean=[1.0], cov=[[0.5]]), gp.mesh.interval(-8, 8, n=160))
    traj = flow.solve(60.0, 0.5, scheme=scheme)
    m = flow.operator.weights
    total = traj.grad_v_integral[-1]
    sharper = (1 + flow.beta) * (m @ flow.v0**2 - m @ traj.v[-1] ** 2)
    assert total <= sharper * (1 + 1e-12)
    assert sharper <= (1 + flow.beta) * flow.beta <= (1 + flow.beta) * flow.beta**2
    # converged in time: the last 10 time units add nothing visible
    assert total - traj.grad_v_integral[-21] < 1e-8 * total


def test_convergence_to_target_and_decay_rate():
    # u -> rho_d in L1; linearising (1/2) Delta_mu ln(1 + v) at v = 1 gives
    # (v - 1)_t = (1/4) Delta_mu (v - 1), so |v - 1| decays like exp(-xi_min t / 4)
    mesh = gp.mesh.interval(-10, 10, n=200)
    flow = JSDFlow(MIXTURE_1D, gp.Gaussian(mean=[0.5], cov=[[0.8]]), mesh)
    traj = flow.solve(35.0, 0.05, save_times=np.arange(0.0, 35.01, 0.5))
    m = flow.operator.weights
    error = np.array([np.sqrt(m @ (v - 1.0) ** 2) for v in traj.v])
    late = traj.times >= 20.0
    rate = -np.polyfit(traj.times[late], np.log(error[late]), 1)[0]
    xi = gp.weighted_laplacian_spectrum(MIXTURE_1D, mesh, k=2).poincare_constant
    assert rate == pytest.approx(xi / 4, rel=0.02)  # measured: 0.0298 vs 0.0298
    assert np.all(np.diff(traj.l1) < 0)

    fast = JSDFlow(GAUSS_1D, gp.Gaussian(mean=[1.0], cov=[[0.5]]), gp.mesh.interval(-8, 8, n=160))
    assert fast.solve(60.0, 0.5, save_times=[60.0]).l1[-1] < 1e-5


@pytest.mark.parametrize("step", [1e3, 1e5])
@pytest.mark.parametrize("start", [None, -10.0, 10.0])
def test_large_steps_converge_from_any_start(step, start):
    flow = JSDFlow(GAUSS_1D, gp.Gaussian(mean=[1.0], cov=[[0.6]]), gp.mesh.interval(-8, 8, n=160))
    op = flow.operator
    guess = None if start is None else np.full(op.n_dofs, start)
    result = op.resolvent(flow.v0, step, initial_guess=guess)
    assert result.newton.converged and result.newton.iterations <= 20
    # a huge step relaxes to the constant of the same mass (1): |w - 1| ~ 1/(step xi)
    assert np.abs(result.v - 1.0).max() < 50.0 / step
    assert op.weights @ result.v == pytest.approx(1.0, abs=1e-14)


def test_kde_target_with_underflowing_tails():
    # rho_d = KDE with bandwidth 0.1: ln rho_d reaches -1800 at the ends of the mesh, where
    # rho_d = 0 in double precision; the scaled equations keep v finite and accurate there
    samples = np.random.default_rng(0).normal(size=(200, 1))
    target = gp.KDE(samples, bandwidth=0.1)
    flow = JSDFlow(target, gp.KDE(samples, bandwidth=0.08), gp.mesh.interval(-8, 8, n=800))
    assert flow.operator.log_target_at_dofs.min() < -1000
    traj = flow.solve(2.0, 0.1)
    assert all(np.all(np.isfinite(v)) for v in traj.v)
    assert np.abs(traj.mass - 1.0).max() < 1e-13
    assert traj.v_min.min() >= -1e-13 and traj.v_max.max() <= flow.beta * (1 + 1e-13)
    assert np.all(np.diff(traj.jsd) <= 1e-16)


def test_tr_bdf2_and_crank_nicolson_properties():
    # both keep mass (tested above); TR-BDF2 keeps v > -1 and solvability for any step and
    # the maximum principle for moderate steps; CN (implicit midpoint) oscillates for huge
    # steps (amplification -> -1), which is why TR-BDF2 is the recommended order-2 scheme
    mesh = gp.mesh.interval(-8, 8, n=160)
    flow = JSDFlow(GAUSS_1D, gp.Gaussian(mean=[2.0], cov=[[0.3]]), mesh)
    moderate = flow.solve(2.0, 0.05, scheme="tr-bdf2")
    assert moderate.v_min.min() >= -1e-13 and moderate.v_max.max() <= flow.beta * (1 + 1e-13)
    huge = flow.solve(200.0, 100.0, scheme="tr-bdf2")
    assert huge.v_min.min() > -1.0
    assert np.abs(huge.mass - 1.0).max() < 1e-12
    cn = flow.solve(200.0, 100.0, scheme="crank-nicolson")
    assert cn.v_min[1] < 0.0  # positivity lost: CN keeps mass only
    assert np.abs(cn.mass - 1.0).max() < 1e-12


# ------------------------------------------------------------------ closed form


def exact_w(x: np.ndarray, t: float, b: float = 1.0) -> np.ndarray:
    """w = 4t/(4x² + Bt²) solves w_t = ½(ln w)_xx (W = 2t/(x² + Bt²) at time t/2)."""
    return 4.0 * t / (4.0 * x**2 + b * t**2)


def test_exact_solution_solves_log_diffusion():
    # by hand: (ln w)_x = -8x/(4x² + Bt²), (ln w)_xx = (32x² - 8Bt²)/(4x² + Bt²)²,
    # w_t = (16x² - 4Bt²)/(4x² + Bt²)² = ½ (ln w)_xx; check against finite differences
    x = np.linspace(-2.0, 2.0, 41)
    t, h = 1.3, 1e-4
    w_t = (exact_w(x, t + h) - exact_w(x, t - h)) / (2 * h)
    lnw = np.log(exact_w(x[None, :] + np.array([-h, 0.0, h])[:, None], t))
    lnw_xx = (lnw[0] - 2 * lnw[1] + lnw[2]) / h**2
    by_hand_t = (16 * x**2 - 4 * t**2) / (4 * x**2 + t**2) ** 2
    by_hand_xx = (32 * x**2 - 8 * t**2) / (4 * x**2 + t**2) ** 2
    np.testing.assert_allclose(w_t, by_hand_t, atol=1e-7)
    np.testing.assert_allclose(lnw_xx, by_hand_xx, atol=1e-5)
    np.testing.assert_allclose(by_hand_t, 0.5 * by_hand_xx, atol=1e-15)


T0, T_END = 1.0, 1.5


def solve_log_diffusion(n: int, element: str, scheme: str, steps: int, *, lumped: bool = True):
    """v = w − 1 on [0, 1] with the uniform target (v_t = ½(ln(1+v))_xx) and exact
    Dirichlet data, from T0 to T_END; returns the operator and the final dof vector."""
    op = LogDiffusionOperator(
        gp.Uniform(lower=[0.0], upper=[1.0]),
        gp.mesh.interval(0.0, 1.0, n=n),
        element=element,
        lumped=lumped,
    )
    x = op.basis.doflocs[0]
    ends = np.flatnonzero((x == 0.0) | (x == 1.0))
    v, s = exact_w(x, T0) - 1.0, None
    dt = (T_END - T0) / steps
    for k in range(steps):
        result = op.advance(
            v,
            dt,
            scheme=scheme,
            t=T0 + k * dt,
            initial_guess=s,
            dirichlet_dofs=ends,
            dirichlet_values=lambda t: exact_w(x[ends], t) - 1.0,
        )
        v, s = result.v, result.s
    return op, v


def l2_error(op: LogDiffusionOperator, v: np.ndarray) -> float:
    fine = skfem.Basis(op.mesh, op.basis.elem, intorder=10)
    x = np.asarray(fine.global_coordinates()[0])
    diff = np.asarray(fine.interpolate(v)) - (exact_w(x, T_END) - 1.0)
    return float(np.sqrt(np.sum(diff**2 * fine.dx)))


def fitted_slope(sizes, errors) -> float:
    return float(np.polyfit(np.log(sizes), np.log(errors), 1)[0])


@pytest.mark.parametrize(
    ("element", "cells", "steps", "order"),
    [("P1", [8, 16, 32], 50, 2.0), ("P2", [4, 8, 16], 100, 3.0)],
)
@pytest.mark.parametrize("lumped", [True, False], ids=["lumped", "consistent"])
def test_spatial_order_against_exact_solution(element, cells, steps, order, lumped):
    # L2 error O(h^{p+1}) (Aubin–Nitsche); TR-BDF2 with these steps keeps the time error
    # below 10 % of the finest spatial error (measured 1.8e-6 vs 2.3e-5 for P2), so the
    # fitted slope is within ±0.15 of the theory (measured 2.00 and 3.04)
    errors = [
        l2_error(*solve_log_diffusion(n, element, "tr-bdf2", steps, lumped=lumped)) for n in cells
    ]
    assert -fitted_slope(cells, errors) == pytest.approx(order, abs=0.15)


@pytest.mark.parametrize(
    ("scheme", "order"), [("backward-euler", 1.0), ("crank-nicolson", 2.0), ("tr-bdf2", 2.0)]
)
def test_temporal_order_against_fine_reference(scheme, order):
    # errors against a 640-step TR-BDF2 run on the same mesh (isolates the time error);
    # measured slopes on 10..40 steps: 1.01, 2.05, 1.97
    _, reference = solve_log_diffusion(32, "P1", "tr-bdf2", 640)
    steps = [10, 20, 40]
    errors = [np.abs(solve_log_diffusion(32, "P1", scheme, m)[1] - reference).max() for m in steps]
    assert -fitted_slope(steps, errors) == pytest.approx(order, abs=0.12)


# ------------------------------------------------------------------ API and bad input


def test_save_times_off_the_grid_are_hit_exactly():
    flow = JSDFlow(GAUSS_1D, gp.Gaussian(mean=[1.0], cov=[[0.6]]), gp.mesh.interval(-8, 8, n=80))
    seen = []
    traj = flow.solve(1.0, 0.1, save_times=[0.25, 0.7], callback=lambda t, v: seen.append(t))
    # 0 and t_final are saved too (save_final=True by default)
    np.testing.assert_array_equal(traj.times, [0.0, 0.25, 0.7, 1.0])
    assert 0.25 in traj.step_times and 0.7 in traj.step_times and traj.step_times[-1] == 1.0
    assert seen == list(traj.step_times)
    assert len(traj.densities) == 4 and len(traj.newton_iterations) == len(traj.step_times)
    assert traj.info["scheme"] == "backward-euler" and "numpy" in traj.info["versions"]
    assert traj.jsd[0] == pytest.approx(
        gp.fem.js_divergence(traj.densities[0], GAUSS_1D, flow.mesh), rel=1e-2
    )


def test_vanishing_densities_are_rejected_with_the_point():
    mesh = gp.mesh.interval(-3, 3, n=30)
    narrow = gp.Uniform(lower=[-2.0], upper=[2.0])
    with pytest.raises(InvalidDensityError, match="vanishes"):
        JSDFlow(narrow, GAUSS_1D, mesh)
    with pytest.raises(InvalidDensityError, match=r"initial density vanishes .* first at \[-3.0\]"):
        JSDFlow(GAUSS_1D, narrow, mesh)


def test_beta_warning_and_unbounded_ratio():
    mesh = gp.mesh.interval(-8, 8, n=80)
    initial = gp.Gaussian(mean=[1.0], cov=[[0.6]])
    with pytest.warns(UserWarning, match=r"\(8\) rho_0 <= beta \* rho_d fails for beta = 1"):
        flow = JSDFlow(GAUSS_1D, initial, mesh, beta=1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        JSDFlow(GAUSS_1D, initial, mesh, beta=flow.beta * 1.01)
    # rho_0/rho_d = e^12000 in the tails of a narrow target is carried in log space, not
    # refused (it was, beyond e^230): beta overflows, log_beta has it, mass stays 1
    wide = JSDFlow(gp.KDE(np.zeros((2, 1)) + [[0.0], [0.1]], bandwidth=0.05), GAUSS_1D, mesh)
    assert wide.beta == np.inf and 1e4 < wide.log_beta < 2e4
    traj = wide.solve(0.2, 0.1)
    assert np.all(np.abs(traj.mass - 1.0) < 1e-13) and np.all(np.isfinite(traj.jsd))
    with pytest.raises(InvalidInputError, match="beta"):
        JSDFlow(GAUSS_1D, initial, mesh, beta=float("nan"))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"t_final": 0.0, "dt": 0.1}, "t_final"),
        ({"t_final": 1.0, "dt": -0.1}, "dt"),
        ({"t_final": 1.0, "dt": float("nan")}, "dt"),
        ({"t_final": float("inf"), "dt": 0.1}, "t_final"),
        ({"t_final": 1.0, "dt": 0.1, "save_times": [0.5, 1.5]}, r"\[0, t_final"),
        ({"t_final": 1.0, "dt": 0.1, "save_times": [-0.1]}, r"\[0, t_final"),
        ({"t_final": 1.0, "dt": 0.1, "save_times": [float("nan")]}, "finite"),
        ({"t_final": 1.0, "dt": 0.1, "scheme": "rk4"}, "scheme"),
    ],
)
def test_solve_rejects_bad_arguments(kwargs, match):
    flow = JSDFlow(GAUSS_1D, GAUSS_1D, gp.mesh.interval(-5, 5, n=20))
    with pytest.raises(InvalidInputError, match=match):
        flow.solve(**kwargs)


@pytest.mark.parametrize("interval", [-1.0, float("nan"), float("inf"), "30", True])
def test_solve_names_a_bad_checkpoint_interval(interval, tmp_path):
    # checked (and named) also without a checkpoint file, where the engine never reads it
    flow = JSDFlow(GAUSS_1D, GAUSS_1D, gp.mesh.interval(-5, 5, n=20))
    for checkpoint in (None, tmp_path / "c.npz"):
        with pytest.raises(InvalidInputError, match="checkpoint_interval must be a non-neg"):
            flow.solve(1.0, 0.5, checkpoint=checkpoint, checkpoint_interval=interval)
    assert not (tmp_path / "c.npz").exists()


def test_steppers_are_exported_next_to_their_models():
    from gan_pde import dual, flows, sde
    from gan_pde.dual import schemes, wasserstein
    from gan_pde.flows import particles

    assert flows.JSDStepper is jsd_module.JSDStepper
    assert flows.JSDParticleStepper is particles.JSDParticleStepper
    assert dual.DualStepper is schemes.DualStepper
    assert dual.ParticleGameStepper is wasserstein.ParticleGameStepper
    assert {"JSDStepper", "JSDParticleStepper"} <= set(flows.__all__)
    assert {"DualStepper", "ParticleGameStepper"} <= set(dual.__all__)
    # gan_pde.sde resolves its names lazily (the steppers of the ensembles need torch)
    assert {"LongRun", "SGAStepper", "SDEStepper", "SMLStepper"} <= set(sde.__all__)
    pytest.importorskip("torch")
    from gan_pde.sde import longrun, scheduler, simulate

    assert sde.LongRun is longrun.LongRun and sde.SMLStepper is scheduler.SMLStepper
    assert sde.SGAStepper is simulate.SGAStepper and sde.SDEStepper is simulate.SDEStepper


def test_newton_failure_names_step_time_and_residual():
    flow = JSDFlow(GAUSS_1D, gp.Gaussian(mean=[1.0], cov=[[0.6]]), gp.mesh.interval(-8, 8, n=80))
    with pytest.raises(NotConvergedError, match=r"step 1 \(t = 0 -> 0.5\).*\|F\| = "):
        flow.solve(1.0, 0.5, max_newton_iterations=1)


def test_operator_rejects_bad_input():
    mesh = gp.mesh.interval(-5, 5, n=20)
    with pytest.raises(InvalidInputError, match="dimension"):
        LogDiffusionOperator(MIXTURE_2D, mesh)
    with pytest.raises(InvalidInputError, match="lumped"):
        LogDiffusionOperator(
            MIXTURE_2D, gp.mesh.rectangle((-3, 3), (-3, 3), n=4), element="P2", lumped=True
        )
    op = LogDiffusionOperator(GAUSS_1D, mesh)
    with pytest.raises(InvalidInputError, match="shape"):
        op.resolvent(np.zeros(3), 1.0)
    with pytest.raises(InvalidInputError, match="finite"):
        op.advance(np.full(op.n_dofs, np.nan), 1.0)
    with pytest.raises(InvalidInputError, match="step"):
        op.resolvent(np.zeros(op.n_dofs), 0.0)
    with pytest.raises(InvalidInputError, match="together"):
        op.resolvent(np.zeros(op.n_dofs), 1.0, dirichlet_dofs=[0])
    with pytest.raises(InvalidInputError, match="> -1"):
        op.resolvent(np.zeros(op.n_dofs), 1.0, dirichlet_dofs=[0], dirichlet_values=[-2.0])


def test_jsd_density_stays_finite_for_huge_ratios():
    # j(v) = ½[v ln(2v/(1+v)) + ln(2/(1+v))]: for v ≥ 1e16 (v − 1)/(v + 1) rounds to 1, and
    # the log1p(−r) form gave −inf; ln 2 − log1p(v) is exact there (relative 1e-15)
    v = np.array([3.5, 1e10, 1e20, 1e300])
    ln2 = np.log(2.0)
    expected = 0.5 * (v * (ln2 - np.log1p(1.0 / v)) + ln2 - np.log1p(v))
    np.testing.assert_allclose(jsd_module._jsd_density(v), expected, rtol=1e-14)
    # continuous across the switch at v = 3 and exact at the ends
    left, right = jsd_module._jsd_density(np.array([3.0 - 1e-12, 3.0 + 1e-12]))
    assert abs(left - right) < 1e-12
    np.testing.assert_allclose(jsd_module._jsd_density(np.array([0.0, 1.0])), [0.5 * ln2, 0.0])


def test_docstring_examples():
    for module in (operator_module, jsd_module):
        failures, tried = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert tried > 0 and failures == 0


def test_maximum_principle_with_huge_beta_light_tailed_kde_target():
    # A KDE target with light tails makes v = rho_0/rho_d reach 4e69 at the mesh ends.
    # Newton's stopping test is node-wise (each equation against its own terms), so the
    # nodes where v is O(1) are still resolved: 0 <= min v never breaks (a global residual
    # norm let v_min drift to -15.8 here).
    samples = gp.GaussianMixture(means=[[-2.0], [2.0]], stds=[0.5, 0.5], weights=[0.5, 0.5]).sample(
        50, rng=1
    )
    target = gp.KDE(samples, bandwidth=0.3)
    with pytest.warns(UserWarning):
        flow = gp.JSDFlow(
            target=target,
            initial=gp.Gaussian(mean=[0.0], cov=[[4.0]]),
            mesh=gp.mesh.interval(-8.0, 8.0, n=200),
            beta=2.0,
        )
    assert flow.beta > 1e60
    traj = flow.solve(t_final=1.0, dt=0.1, save_times=[0.0, 0.5, 1.0])
    assert np.all(traj.v_min >= traj.v_min[0] * (1 - 1e-12))
    np.testing.assert_allclose(traj.mass, 1.0, rtol=1e-12)


@pytest.mark.parametrize("element", ["P1", "P2"])
@pytest.mark.parametrize("scheme", ["backward-euler", "tr-bdf2"])
def test_log_scaled_state_matches_the_plain_one(monkeypatch, element, scheme):
    """The log-scaled state (for ρ_0/ρ_d beyond e^64) is a change of representation only:
    forced on a case whose ratio (e^20) the plain representation holds, every observation
    agrees with the plain run to round-off.  Tolerance: the scaled equations are the plain
    ones divided row-wise by e^{a_i}, so Newton stops at the same 100ε backward error; the
    observations then differ by a few hundred ε relative (measured ≤ 1e-13)."""
    import gan_pde.flows.jsd as jsd_module

    target = gp.Gaussian(mean=[0.5], cov=[[0.36]])
    initial = gp.GaussianMixture(means=[[-1.0], [1.5]], stds=[1.2, 0.8], weights=[0.6, 0.4])
    mesh = gp.mesh.interval(-6.0, 6.0, n=160)
    plain = JSDFlow(target, initial, mesh, element=element)
    assert plain.operator.log_scale is None and 15 < plain.log_beta < 64
    reference = plain.solve(0.3, 0.05, scheme=scheme)
    monkeypatch.setattr(jsd_module, "_LOG_PLAIN_MAX", 4.0)
    scaled = JSDFlow(target, initial, mesh, element=element)
    assert scaled.operator.log_scale is not None and scaled.operator.log_scale.max() > 10
    traj = scaled.solve(0.3, 0.05, scheme=scheme)
    for name in ("jsd", "kl", "l1", "dissipation", "v_min", "v_max"):
        a, b = getattr(traj, name), getattr(reference, name)
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-13, err_msg=name)
    np.testing.assert_allclose(traj.mass, 1.0, atol=1e-13)
    for a, b in zip(traj.v, reference.v, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(traj.log1p_v[-1], np.log1p(reference.v[-1]), rtol=1e-10, atol=1e-13)


def test_issue_example_converges_in_few_newton_iterations():
    """The issue's example: 1000 P1 cells (reused factorisations from there on), a target
    four times narrower than ρ_0.  It stopped at step 88 with Newton out of its 50
    iterations; with the forcing term measured in Newton's own norm each step takes ≤ 4."""
    flow = JSDFlow(
        target=gp.Gaussian(mean=[1.0], cov=[[0.25]]),
        initial=gp.Gaussian(mean=[0.0], cov=[[1.0]]),
        mesh=gp.mesh.interval(-8.0, 8.0, n=1000),
    )
    traj = flow.solve(t_final=5.0, dt=0.01, save_times=[0.0, 5.0])
    assert traj.newton_iterations.max() <= 4
    assert traj.newton_residuals.max() < 1e-13
    assert np.all(traj.substeps == 1)
    assert abs(traj.mass[-1] - 1.0) < 1e-13 and traj.jsd[-1] < traj.jsd[0]


@pytest.mark.parametrize("s0", [0.3, 1.0, 3.0])
@pytest.mark.parametrize("s1", [0.3, 1.0, 3.0])
@pytest.mark.parametrize("shift", [0.0, 1.5, 3.0])
def test_every_gaussian_pair_of_the_issue_completes(s0, s1, shift):
    """Issue 16's grid: N(0, s0²) → N(shift, s1²) on ±(max|m| + 8 max s) with 2000 P1
    cells, Δt = 0.01 to t = 2 (12 of these 27 completed before: ratios up to e^4957 were
    refused or Newton ran out of iterations).  Backward Euler keeps mass to 1e-12, v ≥ 0
    to round-off, monotone JSD and L¹ (sums of 4000 terms: 1e-12 covers their round-off);
    the other schemes run in benchmarks/stress/must_show.py."""
    half = shift + 8.0 * max(s0, s1)
    flow = JSDFlow(
        target=gp.Gaussian(mean=[shift], cov=[[s1**2]]),
        initial=gp.Gaussian(mean=[0.0], cov=[[s0**2]]),
        mesh=gp.mesh.interval(-half, half, n=2000),
    )
    traj = flow.solve(2.0, 0.01, save_times=np.linspace(0.0, 2.0, 9))
    assert np.max(np.abs(traj.mass - 1.0)) < 1e-12
    assert traj.v_min.min() > -4 * np.finfo(float).eps
    assert np.all(np.diff(traj.jsd) < 1e-12) and np.all(np.diff(traj.l1) < 1e-12)
    assert traj.newton_residuals.max() < 1e-10


def test_a_ratio_above_e64_that_normalising_brings_below_it():
    # found by the property campaign (tests/test_properties.py): rho_0/rho_d reaches e^64.15
    # before normalisation, and the mesh's mass of rho_0 (1.75 > 1: the mesh cuts rho_d's
    # tail) brings the normalised maximum to e^63.59, below the log-scale threshold; the
    # constructor used a ratio vector it had not computed (UnboundLocalError)
    target = gp.GaussianMixture(means=[[1.5]], covs=[[[0.09]]], weights=[1.0])
    initial = gp.GaussianMixture(means=[[0.296875]], covs=[[[0.09]]], weights=[1.0])
    flow = JSDFlow(target, initial, gp.mesh.interval(-3.9, 3.9, n=40))
    assert flow.operator.log_scale is None and flow.log_beta < 64.0
    # v0 = exp(ln v0) to a few ulps (the exp of a number near 63.6 rounds at 63.6 eps)
    assert flow.v0.max() == pytest.approx(math.exp(flow.log_beta), rel=1e-13)
    traj = flow.solve(0.01, 0.005)
    assert np.max(np.abs(traj.mass - 1.0)) <= 1e-12


@pytest.mark.parametrize("scheme", ["backward-euler", "tr-bdf2"])
def test_log_scale_re_chosen_during_a_run_keeps_v_and_resumes_bit_identically(
    tmp_path, monkeypatch, scheme
):
    """A run re-chooses the log scale when z leaves its safe range (JSDStepper.step).
    Forced here: the flow is built with ln(1 + z) ≤ 4, then run with the bound 2 and no
    margin, so every scaled dof (and those with 2 < ln(1 + v) ≤ 4) is re-scaled before the
    first step.  (1) It is a change of representation only: every observation agrees with
    the plain run to the tolerances of test_log_scaled_state_matches_the_plain_one (the
    re-scaling itself perturbs 1 + v by ε(|ln(1+z)| + |ln(1+z')| + 2) ≈ 10ε relative).
    (2) The scale is state: a run stopped after its checkpoint of step 3 and resumed equals
    the unbroken run bit for bit, although the operator's scale at the resume differs from
    the one the flow was built with (the fingerprint keeps the initial scale).  Negative
    control: a stepper that drops the scale from its checkpoint resumes with the initial
    scale and does not reproduce the run."""
    from gan_pde.engine import Tracker

    target = gp.Gaussian(mean=[0.5], cov=[[0.36]])
    initial = gp.GaussianMixture(means=[[-1.0], [1.5]], stds=[1.2, 0.8], weights=[0.6, 0.4])
    mesh = gp.mesh.interval(-6.0, 6.0, n=160)
    reference = JSDFlow(target, initial, mesh).solve(0.3, 0.05, scheme=scheme)
    monkeypatch.setattr(jsd_module, "_LOG_PLAIN_MAX", 4.0)
    flow = JSDFlow(target, initial, mesh)
    a0 = flow.operator.log_scale.copy()
    monkeypatch.setattr(jsd_module, "_LOG_PLAIN_MAX", 2.0)
    monkeypatch.setattr(jsd_module, "_LOG_RESCALE_MARGIN", 0.0)
    traj = flow.solve(0.3, 0.05, scheme=scheme)
    assert not np.array_equal(flow.operator.log_scale, a0)  # it was re-chosen
    assert traj.info["log_scaled"]
    for name in ("jsd", "kl", "l1", "dissipation", "v_min", "v_max"):
        a, b = getattr(traj, name), getattr(reference, name)
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-13, err_msg=name)
    for a, b in zip(traj.v, reference.v, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-13)

    class Stop(Exception):
        pass

    class StopAt(Tracker):
        name = "stop_at"

        def after_step(self, run_state, record):
            if run_state.step == 3:
                raise Stop

    def stopped_and_resumed(path):
        with pytest.raises(Stop):
            flow.solve(
                0.3,
                0.05,
                scheme=scheme,
                checkpoint=path,
                checkpoint_interval=None,
                checkpoint_steps=1,
                trackers=[StopAt()],
            )
        return flow.solve(0.3, 0.05, scheme=scheme, checkpoint=path, resume=True)

    resumed = stopped_and_resumed(tmp_path / "a.npz")
    assert resumed.info["resumed_from_step"] == 3
    for name in ("jsd", "kl", "l1", "mass", "v_min", "newton_iterations"):
        assert getattr(resumed, name).tobytes() == getattr(traj, name).tobytes(), name
    assert np.stack(resumed.v).tobytes() == np.stack(traj.v).tobytes()
    assert np.stack(resumed.log1p_v).tobytes() == np.stack(traj.log1p_v).tobytes()

    original = jsd_module.JSDStepper.state_arrays

    def without_scale(self, state):
        arrays = original(self, state)
        arrays.pop("log_scale", None)
        return arrays

    monkeypatch.setattr(jsd_module.JSDStepper, "state_arrays", without_scale)
    broken = stopped_and_resumed(tmp_path / "b.npz")
    assert np.stack(broken.log1p_v).tobytes() != np.stack(traj.log1p_v).tobytes()


def _unpredicted(monkeypatch):
    """Make JSDStepper start every Newton solve from the last s (no extrapolation)."""
    step = jsd_module.JSDStepper.step

    def plain(self, state, t, dt):
        return step(self, {**state, "s_rate": None}, t, dt)

    monkeypatch.setattr(jsd_module.JSDStepper, "step", plain)


def test_predicted_newton_start_saves_iterations_and_changes_nothing_else(monkeypatch):
    # Backward Euler starts Newton from s + Δt·ṡ (the last step's rate): residual O(Δt²)
    # instead of O(Δt).  2D P1 with 1681 dofs (the reused-factorisation path).
    target = gp.GaussianMixture(means=[[-1.0, 0.0], [1.2, 0.4]], stds=[0.9, 0.7],
                                weights=[0.6, 0.4])  # fmt: skip
    initial = gp.Gaussian(mean=[0.4, -0.3], cov=[[0.7, 0.2], [0.2, 0.9]])
    mesh = gp.mesh.rectangle((-6.0, 6.0), (-6.0, 6.0), n=(40, 40))
    predicted = JSDFlow(target, initial, mesh).solve(0.2, 0.01)
    _unpredicted(monkeypatch)
    plain = JSDFlow(target, initial, mesh).solve(0.2, 0.01)
    # the same resolvents: both Newton solves stop at a per-node backward error of ~100 ε
    # of the terms, so the states differ by round-off amplified by the resolvent's
    # conditioning (≤ 1e-10 relative leaves 5 orders for it)
    for a, b in zip(predicted.v, plain.v, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-13)
    # fewer Newton iterations: 3 a step from s; from the prediction 3 during the initial
    # transient (6 steps) and 2 after it (measured: 46 in all against 60); the plain run
    # is the control
    assert plain.newton_iterations[10:].min() >= 3
    assert predicted.newton_iterations[10:].max() <= 2


def test_checkpoint_without_a_rate_resumes_from_s():
    # checkpoints written before the prediction have no "s_rate": the next step starts
    # from s, as when they were written
    flow = JSDFlow(gp.Gaussian(mean=[0.0], cov=[[1.0]]), gp.Gaussian(mean=[1.0], cov=[[0.5]]),
                   gp.mesh.interval(-8.0, 8.0, n=80))  # fmt: skip
    stepper = jsd_module.JSDStepper(flow, 0.1, 0.05)
    state, _ = stepper.step(stepper.initial_state(), 0.0, 0.05)
    arrays = stepper.state_arrays(state)
    assert arrays["s_rate"].size == 0  # no rate after the first step (nothing to difference)
    state2, _ = stepper.step(state, 0.05, 0.05)
    assert stepper.state_arrays(state2)["s_rate"].shape == state2["s"].shape
    old = {k: v for k, v in stepper.state_arrays(state2).items() if k != "s_rate"}
    assert stepper.load_state(old)["s_rate"] is None
