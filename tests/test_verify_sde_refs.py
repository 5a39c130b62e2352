"""The independent references of the paper-000 verify checks (gan_pde.verify._reference_sde).

A reference is only evidence if it is right: each one is checked here against a third route
(an ODE integrator, a closed form, finite differences, the paper's other formula), never
against the package code it is used to judge.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.linalg

from gan_pde.verify import _reference_sde as ref

RNG = np.random.default_rng(5)
X = RNG.normal(1.0, 0.5, 3)
Z = RNG.normal(0.0, 1.0, 2)
GAMES = {
    "additive": ref.location_gan_gradients(X, Z, curvature=0.45, weight_decay=0.83),
    "multiplicative": ref.location_scale_wgan_gradients(X, Z, weight_decay=0.61),
}
EPS = np.finfo(float).eps


def _loss_location_scale(gamma, x, z, lam):
    t1, t2, w = gamma
    return w * x - w * (t1 + t2 * z) + 0.5 * lam * (t1**2 + t2**2 - w**2)


def test_affine_gradients_are_the_derivatives_of_the_losses():
    # central differences of the per-sample loss are exact for a quadratic (round-off only);
    # every pair (x_j, z_i) has exactly one row
    game = GAMES["multiplicative"]
    gamma = np.array([0.3, -0.7, 0.4])
    h = 1e-3
    seen = set()
    for x, z in itertools.product(X, Z):
        rows = [i for i in range(game.n) if game.offsets[i, 2] == x and game.slopes[i, 1, 2] == -z]
        assert len(rows) == 1
        seen.add(rows[0])
        grad = game.slopes[rows[0]] @ gamma + game.offsets[rows[0]]
        numeric = [
            (
                _loss_location_scale(gamma + h * e, x, z, 0.61)
                - _loss_location_scale(gamma - h * e, x, z, 0.61)
            )
            / (2 * h)
            for e in np.eye(3)
        ]
        np.testing.assert_allclose(grad, numeric, atol=1e-10)
    assert seen == set(range(game.n))


@pytest.mark.parametrize("name", GAMES)
@pytest.mark.parametrize("eta", [0.05, 0.3])
def test_both_lines_of_equation_10_agree(name, eta):
    # drift_affine uses b1 = −½∇b0·b0 − (∇_ωg_θ·g_ω, 0); the first line is ½R b0
    game = GAMES[name]
    p, abar = game.d_theta, game.slopes.mean(0)
    r = -abar.copy()
    r[:p, :p] = abar[:p, :p]
    s = game.signs
    m0, v0 = ref.drift_affine(game, "sml", eta)
    m, v = ref.drift_affine(game, "alt", eta)
    np.testing.assert_allclose(m0, s[:, None] * abar, atol=1e-15)
    np.testing.assert_allclose(m, m0 + 0.5 * eta * r @ m0, atol=1e-14)
    np.testing.assert_allclose(v, v0 + 0.5 * eta * r @ v0, atol=1e-14)


@pytest.mark.parametrize("name", GAMES)
@pytest.mark.parametrize("kind", ["alt", "sml", "sml2"])
def test_sde_moments_propagator_equals_an_ode_integrator(name, kind):
    # the expm route against DOP853 at rtol 1e-12 (global error ~1e-11 relative)
    game = GAMES[name]
    gamma0 = np.linspace(0.4, -0.6, game.d)
    q = ref.sde_moments_exact(game, gamma0, eta=0.05, batch=3, steps=20, kind=kind)
    ode = ref.sde_moments_ode(game, gamma0, eta=0.05, batch=3, t_final=1.0, kind=kind, rtol=1e-12)
    np.testing.assert_allclose(q[-1], ode, atol=1e-10 * np.abs(ode).max())


def test_sde_moments_of_a_deterministic_flow_are_the_ode_solution():
    # without noise (one data pair, so Σ = 0) the moments are those of γ(t) = e^{tM}γ0 + ...
    game = ref.location_gan_gradients([0.7], [0.2], curvature=0.45, weight_decay=0.83)
    m, v = ref.drift_affine(game, "alt", 0.1)
    gamma0 = np.array([0.3, -0.2])
    q = ref.sde_moments_exact(game, gamma0, eta=0.1, batch=1, steps=10, kind="alt")
    star = np.linalg.solve(m, -v)
    exact = star + scipy.linalg.expm(1.0 * m) @ (gamma0 - star)
    np.testing.assert_allclose(q[-1][:2, 2], exact, atol=1e-13)
    np.testing.assert_allclose(q[-1][:2, :2], np.outer(exact, exact), atol=1e-13)


@pytest.mark.parametrize("scheme", ["alt", "sml"])
def test_one_sga_step_by_enumeration_is_its_closed_form(scheme):
    # B = 1: E γ' is the update with the mean gradient (ALT: at ω' = ω + ηḡ_ω, θ with the
    # mean of g_θ at (θ, ω')), and E γ'γ'ᵀ the average of the n outer products
    game = GAMES["multiplicative"]
    gamma0 = np.array([0.3, -0.7, 0.4])
    eta, p = 0.2, game.d_theta
    q = ref.sga_moments_enumerated(game, gamma0, eta=eta, batch=1, steps=1, scheme=scheme)[-1]
    outs = []
    for i in range(game.n):
        for j in range(game.n) if scheme == "alt" else [i]:
            g = game.slopes[i] @ gamma0 + game.offsets[i]
            new = gamma0.copy()
            if scheme == "sml":
                new = gamma0 + eta * game.signs * g
            else:
                new[p:] = gamma0[p:] + eta * g[p:]
                g2 = game.slopes[j] @ new + game.offsets[j]
                new[:p] = gamma0[:p] - eta * g2[:p]
            outs.append(new)
    outs = np.array(outs)
    np.testing.assert_allclose(q[:3, 3], outs.mean(0), atol=1e-15)
    np.testing.assert_allclose(q[:3, :3], outs.T @ outs / len(outs), atol=1e-15)


def test_batch_enumeration_gives_the_variance_over_b():
    # i.i.d. batches: Var of the batch-mean gradient is Σ/B (Section 3.1), here through the
    # one-step second moments of (SML) from γ0 = 0
    game = GAMES["additive"]
    eta = 0.1
    q1, q3 = (
        ref.sga_moments_enumerated(game, np.zeros(2), eta=eta, batch=b, steps=1, scheme="sml")[-1]
        for b in (1, 3)
    )
    mean1, mean3 = q1[:2, 2], q3[:2, 2]
    var1 = q1[:2, :2] - np.outer(mean1, mean1)
    var3 = q3[:2, :2] - np.outer(mean3, mean3)
    np.testing.assert_allclose(mean1, mean3, atol=1e-15)
    np.testing.assert_allclose(var3, var1 / 3, atol=1e-15)


@pytest.mark.parametrize("name", GAMES)
@pytest.mark.parametrize("kind", ["alt", "sml"])
def test_stationary_moments_make_the_moment_equations_vanish(name, kind):
    game = GAMES[name]
    eta, batch = 0.3, 3
    mean, cov, _ = ref.stationary_moments_lyapunov(game, kind, eta=eta, batch=batch)
    system = ref.moment_system(game, kind, eta, batch)
    y = np.concatenate([mean, (cov + np.outer(mean, mean)).ravel(), [1.0]])
    assert np.abs(system @ y).max() <= 1e-13 * np.abs(system).max() * np.abs(y).max()


@pytest.mark.parametrize("kind", ["alt", "sml"])
def test_additive_noise_is_one_lyapunov_solve(kind):
    game = GAMES["additive"]
    mean, cov, iterations = ref.stationary_moments_lyapunov(game, kind, eta=0.3, batch=2)
    assert iterations <= 2
    m, v = ref.drift_affine(game, kind, 0.3)
    a = (0.3 / 2) * game.mask * np.cov(game.offsets.T, bias=True)
    np.testing.assert_allclose(m @ cov + cov @ m.T, -a, atol=1e-15)
    np.testing.assert_allclose(m @ mean + v, 0.0, atol=1e-15)


@pytest.mark.parametrize("name", GAMES)
def test_fdr_identities_hold_at_the_reference_invariant_law(name):
    # Itô for Φ and ‖γ‖²/2: an identity between independently written traces
    game = GAMES[name]
    for eta, batch in [(0.3, 3), (0.13, 2)]:
        for kind in ("alt", "sml"):
            mean, cov, _ = ref.stationary_moments_lyapunov(game, kind, eta=eta, batch=batch)
            sides = ref.fdr_sides(game, mean, cov, eta=eta, batch=batch)
            assert sides["fdr1_lhs"] == pytest.approx(sides[f"fdr1_rhs_{kind}"], abs=1e-15)
            fdr2_gap = sides["fdr2_lhs"] - sides["fdr2_rhs"]
            expected = sides["alt_fdr2_gap"] if kind == "alt" else 0.0
            assert fdr2_gap == pytest.approx(expected, abs=1e-15)


# ------------------------------------------------------------------------- the tanh GAN


MODEL = ref.TanhGAN(np.array([0.6, 1.1, 1.4]), np.array([-0.8, 0.1, 0.9]), 0.3, 1.0)


def _tanh_loss(points, x, z, kappa=0.3, lam=1.0):
    theta, omega = points[:, 0], points[:, 1]
    g = theta + z
    return (
        np.tanh(omega * x)
        - np.tanh(omega * g)
        + 0.5 * kappa * (x**2 - g**2)
        + 0.5 * lam * (theta**2 - omega**2)
    )


def test_tanh_gan_derivatives_are_finite_differences_of_the_loss():
    points = np.array([[0.4, 0.25], [-0.3, 1.2], [1.0, -0.7]])
    grad, hess = MODEL.per_sample(points)
    xj, zi = np.meshgrid(MODEL.x, MODEL.z)
    h = 1e-5
    for k, (x, z) in enumerate(zip(xj.ravel(), zi.ravel(), strict=True)):
        for i, e in enumerate(np.eye(2)):
            fd = (_tanh_loss(points + h * e, x, z) - _tanh_loss(points - h * e, x, z)) / (2 * h)
            np.testing.assert_allclose(grad[:, k, i], fd, atol=1e-9)
            g_plus, _ = MODEL.per_sample(points + h * e)
            g_minus, _ = MODEL.per_sample(points - h * e)
            np.testing.assert_allclose(
                hess[:, k, :, i], (g_plus[:, k] - g_minus[:, k]) / (2 * h), atol=1e-8
            )


def test_tanh_gan_divergence_and_drift():
    points = np.array([[0.4, 0.25], [-0.3, 1.2]])
    eta, batch, h = 0.4, 2, 1e-5
    div = MODEL.divergence(points, eta, batch)
    for i, e in enumerate(np.eye(2)):
        fd = (
            MODEL.diffusion_diagonal(points + h * e, eta, batch)[:, i]
            - MODEL.diffusion_diagonal(points - h * e, eta, batch)[:, i]
        ) / (2 * h)
        np.testing.assert_allclose(div[:, i], fd, atol=1e-9)
    # ALT drift against the first line of (10), ½R b0 with the Hessian of Φ
    _, hess = MODEL.per_sample(points)
    b0 = MODEL.drift(points, "sml", eta)
    for n, hm in enumerate(hess.mean(1)):
        r = np.array([[hm[0, 0], -hm[0, 1]], [-hm[1, 0], -hm[1, 1]]])
        np.testing.assert_allclose(
            MODEL.drift(points, "alt", eta)[n], b0[n] + 0.5 * eta * r @ b0[n], atol=1e-14
        )


def test_equilibrium_is_a_zero_of_b0():
    gamma = ref.equilibrium(MODEL, [0.0, 0.5])
    assert np.abs(MODEL.drift(gamma[None], "sml", 1.0)).max() < 1e-14


# ------------------------------------------------------------------------ finite volumes


def test_finite_volume_density_of_a_rotating_ou_process_converges_at_second_order():
    # dγ = M(γ − m)dt + σ dW with a non-normal M (non-reversible: rotational flux) and
    # diagonal a: N(m, C) with M C + C Mᵀ + a = 0
    m_mat = np.array([[-1.0, 0.6], [-0.9, -0.7]])
    centre = np.array([0.3, -0.2])
    a = np.array([0.08, 0.05])
    cov = scipy.linalg.solve_continuous_lyapunov(m_mat, -np.diag(a))
    sd = np.sqrt(np.diag(cov))
    box = tuple((centre[i] - 8 * sd[i], centre[i] + 8 * sd[i]) for i in range(2))
    errors, covs = [], []
    for cells in (32, 64, 128):
        grid = ref.finite_volume_density(
            lambda p: (p - centre) @ m_mat.T,
            lambda p: np.broadcast_to(a, p.shape),
            box,
            cells,
        )
        covs.append(grid.covariance)
        errors.append(np.abs(grid.covariance - cov).max() / np.abs(cov).max())
        assert np.abs(grid.mean - centre).max() < 1e-3 * sd.max()
    orders = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert orders == pytest.approx([2.0, 2.0], abs=0.15)
    # the Richardson estimate used by the checks is the error (asymptotic range)
    estimate = np.abs(covs[1] - covs[2]).max() / 3 / np.abs(cov).max()
    assert errors[-1] == pytest.approx(estimate, rel=0.1)


def test_finite_volume_density_with_multiplicative_noise_matches_the_1d_closed_form():
    # a product of two independent 1D diffusions: p = p1(x) p2(y), each the zero-flux
    # density p ∝ a⁻¹ exp ∫ 2b/a of b = −k(x − c), a = α + β(x − c)²
    k, c, alpha, beta = 1.3, 0.2, 0.1, 0.05

    def drift(p):
        return np.stack([-k * (p[:, 0] - c), -2.0 * p[:, 1]], -1)

    def diffusion(p):
        return np.stack([alpha + beta * (p[:, 0] - c) ** 2, np.full(len(p), 0.3)], -1)

    box = ((c - 2.5, c + 2.5), (-1.5, 1.5))
    coarse, fine = (ref.finite_volume_density(drift, diffusion, box, n) for n in (64, 128))
    # the x-marginal's variance is α/(2k − β) (closed form of ∫u²p); y: 0.3/(2·2)
    exact = np.array([alpha / (2 * k - beta), 0.3 / 4.0])
    for v_c, v_f, v in zip(
        np.diag(coarse.covariance), np.diag(fine.covariance), exact, strict=True
    ):
        # O(h²): the Richardson estimate is the error, the extrapolation is O(h⁴)
        assert v_f - v == pytest.approx((v_c - v_f) / 3, rel=0.05)
        assert (4 * v_f - v_c) / 3 == pytest.approx(v, rel=1e-4)
    assert abs(fine.covariance[0, 1]) < 1e-12
    assert fine.mean == pytest.approx([c, 0.0], abs=1e-12)


# ------------------------------------------------------------- helpers of the checks module


def test_bonferroni_bounds():
    from gan_pde.verify.checks_sde import _z_bound

    assert _z_bound(1) == pytest.approx(3.2905, abs=1e-4)  # two-sided 1e-3
    assert _z_bound(1, sided=1) == pytest.approx(3.0902, abs=1e-4)
    assert _z_bound(20) == pytest.approx(4.0556, abs=1e-4)  # two-sided 5e-5


def test_fem_mean_equals_the_discrete_identity_with_the_boundary_term():
    # M m_h + v = ½∮ a p_h n ds exactly for P1 (the identity behind sde.invariant_fem's mean
    # criterion), here on a box so tight that the boundary term is large
    from gan_pde.sde.quadratic import location_gan
    from gan_pde.verify.checks_sde import _boundary_term, _fem_on_box

    game = location_gan(X, Z, curvature=0.45, weight_decay=0.83)
    reference = ref.location_gan_gradients(X, Z, curvature=0.45, weight_decay=0.83)
    mean, cov, _ = ref.stationary_moments_lyapunov(reference, "alt", eta=0.37, batch=2)
    m_mat, v = ref.drift_affine(reference, "alt", 0.37)
    b, a, div = game.fokker_planck_coefficients("alt", eta=0.37, batch_size=2)
    fem = _fem_on_box(b, a, div, mean + 0.3 * np.sqrt(np.diag(cov)), 2 * np.sqrt(np.diag(cov)), 12)

    def a_ref(point):
        return ref.expected_diffusion(reference, 0.37, 2, point, np.outer(point, point))

    boundary = _boundary_term(fem, a_ref)
    assert np.abs(boundary).max() > 1e-3  # the box matters here ...
    predicted = mean + np.linalg.solve(m_mat, boundary)
    np.testing.assert_allclose(fem.mean, predicted, atol=1e-13)  # ... and is accounted for
