"""Property tests (hypothesis) of the dual metric flows (paper 003) over random games.

Issue 16, item 4: the properties search the parameter spaces (couplings, steps, dampings,
particle laws) for a counterexample to a closed form or an inequality that must hold.
Tolerances are round-off (multiples of eps times the sizes involved) unless a comment
derives another bound.  The randomized stress campaign is ``benchmarks/stress/
stress_dual.py``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from gan_pde.dual import (
    SCHEMES,
    EuclideanGame,
    ParticleGame,
    edi_defect,
    predicted_rate,
    proximal_step,
    simulate,
    tanh_game,
    update_matrix,
    w2_distance,
)

EPS = np.finfo(float).eps
#: max |2 tanh(u) sech²(u)| = 4/(3√3)
C0 = 4.0 / (3.0 * math.sqrt(3.0))

taus = st.floats(1e-12, 1.9)
reals = st.floats(-3.0, 3.0)


@settings(max_examples=50)
@given(scheme=st.sampled_from(SCHEMES), tau=taus)
def test_update_matrices_and_rates_at_generic_steps(scheme, tau):
    # det M and the eigenvalue modulus: 1 (implicit = alternating, complex pair for τ < 2),
    # 1 + τ² (simultaneous), 1/(1 + τ²) (joint-implicit); rate ln|λ|²/τ
    m = update_matrix(scheme, tau)
    det = {"simultaneous": 1 + tau**2, "joint-implicit": 1 / (1 + tau**2)}.get(scheme, 1.0)
    assert np.linalg.det(m) == pytest.approx(det, rel=1e-14)
    assert np.abs(np.linalg.eigvals(m)) == pytest.approx(np.full(2, math.sqrt(det)), rel=1e-12)
    sign = {"simultaneous": 1.0, "joint-implicit": -1.0}.get(scheme, 0.0)
    assert predicted_rate(scheme, tau) == pytest.approx(
        sign * math.log1p(tau * tau) / tau, rel=1e-14, abs=1e-300
    )


def test_predicted_rate_keeps_its_digits_for_small_steps():
    # regression (stress campaign, dual): through the eigenvalues ρ = √(1 + τ²) rounds to 1
    # for τ < 1e-8, so the rate was 0 instead of ≈ ±τ, and it lost digits for every small τ
    for tau in (1e-12, 1e-9, 1e-6, 1e-3):
        assert predicted_rate("simultaneous", tau) == pytest.approx(
            math.log1p(tau * tau) / tau, rel=1e-15
        )
        assert predicted_rate("joint-implicit", tau) == pytest.approx(
            -math.log1p(tau * tau) / tau, rel=1e-15
        )


def _bilinear(coupling, target):
    return EuclideanGame(
        cost_x=lambda x, y: -float(x @ coupling @ (y - target)),
        cost_y=lambda x, y: float(x @ coupling @ (y - target)),
        grad_x=lambda x, y: -(coupling @ (y - target)),
        grad_y=lambda x, y: coupling.T @ x,
        dim_x=coupling.shape[0],
        dim_y=coupling.shape[1],
        bilinear=(coupling, target),
    )


@st.composite
def couplings(draw):
    dx, dy = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    return draw(hnp.arrays(float, (dx, dy), elements=st.floats(-2.0, 2.0)))


@settings(max_examples=50)
@given(
    coupling=couplings(),
    scheme=st.sampled_from(SCHEMES),
    tau=st.floats(1e-3, 0.5),
    seed=st.integers(0, 2**31),
)
def test_bilinear_schemes_follow_their_closed_form_maps(coupling, scheme, tau, seed):
    # in (x, w = y − y_r): alternating/implicit x' = x + τBw, w' = w − τBᵀx'; simultaneous
    # with the old x; joint-implicit (I − τJ)z' = z, J = [[0, B], [−Bᵀ, 0]]
    rng = np.random.default_rng(seed)
    dx, dy = coupling.shape
    target, x, y = rng.normal(size=dy), rng.normal(size=dx), rng.normal(size=dy)
    path = simulate(_bilinear(coupling, target), x, y, tau=tau, n_steps=5, scheme=scheme)
    w = y - target
    jac = np.block([[np.zeros((dx, dx)), coupling], [-coupling.T, np.zeros((dy, dy))]])
    for k in range(1, 6):
        if scheme in ("implicit", "alternating"):
            x = x + tau * coupling @ w
            w = w - tau * coupling.T @ x
        elif scheme == "simultaneous":
            x, w = x + tau * coupling @ w, w - tau * coupling.T @ x
        else:
            z = np.linalg.solve(np.eye(dx + dy) - tau * jac, np.r_[x, w])
            x, w = z[:dx], z[dx:]
        size = 1 + np.abs(np.r_[path.x[k], path.y[k], target]).max()
        np.testing.assert_allclose(path.x[k], x, atol=64 * k * EPS * size)
        np.testing.assert_allclose(path.y[k] - target, w, atol=64 * k * EPS * size)


@settings(max_examples=50)
@given(
    a_diag=hnp.arrays(float, 3, elements=st.floats(-0.5, 3.0)),
    rot=st.floats(0.0, 3.0),
    b=hnp.arrays(float, 3, elements=reals),
    start=hnp.arrays(float, 3, elements=reals),
    tau=st.floats(1e-3, 1.5),
)
def test_proximal_step_of_a_quadratic_is_its_closed_form(a_diag, rot, b, start, tau):
    # F(u) = ½uᵀAu + bᵀu with I/τ + A positive definite: u = (I/τ + A)⁻¹(s/τ − b)
    q = np.linalg.qr(np.array([[1.0, rot, 0.0], [0.0, 1.0, rot], [rot, 0.0, 1.0]]))[0]
    a = q @ np.diag(a_diag) @ q.T
    if np.linalg.eigvalsh(np.eye(3) / tau + a).min() < 0.1 / tau:
        a = a + (0.1 - tau * np.linalg.eigvalsh(np.eye(3) / tau + a).min()) / tau * np.eye(3)
    system = np.eye(3) / tau + a
    u, _ = proximal_step(
        lambda u: 0.5 * u @ a @ u + b @ u, lambda u: a @ u + b, start, tau, hess=lambda u: a
    )
    exact = np.linalg.solve(system, start / tau - b)
    # the accepted residual 1e-12(1 + |s|) of u − s + τ∇F(u) = τ·system·(u − exact)
    bound = 1e-12 * (1 + np.linalg.norm(start)) / (tau * np.linalg.eigvalsh(system).min())
    assert np.linalg.norm(u - exact) <= bound + 64 * EPS * (1 + np.linalg.norm(exact))


@settings(max_examples=50)
@given(
    x_r=hnp.arrays(float, 2, elements=reals),
    start=hnp.arrays(float, 4, elements=reals),
    damping=st.floats(0.0, 1.5),
    tau=st.floats(0.005, 0.3),
    scheme=st.sampled_from(SCHEMES),
)
def test_edi_along_any_scheme_is_between_zero_and_the_consistency_bound(
    x_r, start, damping, tau, scheme
):
    # the LHS of (21) along the linear interpolant is ½∫|z' − v(z)|² >= 0, and on each step
    # |z' − v(z(t))| <= Λτ|z'| with Λ = Lip(∇_x C^x) + Lip(∇_y C^y) on |x| <= max|x_k|
    game = tanh_game(x_r, damping=damping)
    path = simulate(game, start[:2], start[2:], tau=tau, n_steps=6, scheme=scheme)
    edi = edi_defect(game, path)
    xb = float(np.abs(path.x).max())
    lam = math.hypot(damping, 1.0) + math.hypot(1.0, C0 * xb + damping)
    rounding = 1e-13 * (1 + abs(edi.upsilon) + edi.kinetic + edi.slope)
    assert -rounding <= edi.total <= lam**2 * tau**2 * edi.kinetic + rounding


def _quantile_w2(a, b):
    lcm = a.size * b.size // math.gcd(a.size, b.size)
    qa = np.repeat(np.sort(a), lcm // a.size)
    qb = np.repeat(np.sort(b), lcm // b.size)
    return math.sqrt(np.mean((qa - qb) ** 2))


atoms = hnp.arrays(float, st.integers(1, 30), elements=reals)


@settings(max_examples=50)
@given(a=atoms, b=atoms, shift=reals)
def test_w2_is_the_quantile_distance_and_splits_mean_and_shape(a, b, shift):
    w2 = w2_distance(a + shift, b)
    assert w2 == pytest.approx(_quantile_w2(a + shift, b), rel=1e-12, abs=1e-12)
    assert w2 == pytest.approx(w2_distance(b, a + shift), rel=1e-12, abs=1e-12)
    centred = _quantile_w2(a - a.mean(), b - b.mean())
    split = math.sqrt((a.mean() + shift - b.mean()) ** 2 + centred**2)
    assert w2 == pytest.approx(split, rel=1e-9, abs=1e-9)


@settings(max_examples=50)
@given(
    centers=hnp.arrays(float, st.integers(1, 4), elements=reals),
    width=st.floats(0.2, 2.0),
    linear=st.booleans(),
    # λ = 0 or λ >= 1e-3: for 0 < λ ≪ 1 the minimising y ~ |g|/λ is out of reach of the
    # least-squares reference (the package's closed form is right there too)
    weight_decay=st.one_of(st.just(0.0), st.floats(1e-3, 2.0)),
    tau=st.floats(0.02, 3.0),
    seed=st.integers(0, 2**31),
)
def test_jko_map_is_the_global_monotone_minimiser(centers, width, linear, weight_decay, tau, seed):
    rng = np.random.default_rng(seed)
    game = ParticleGame(
        target=rng.normal(size=5),
        centers=centers,
        width=width,
        linear=linear,
        weight_decay=weight_decay,
    )
    y = rng.normal(0.0, 2.0, game.n_features)
    x = np.sort(rng.normal(0.0, 1.5, 8))
    t = game.proximal_map(x, y, tau)

    def objective(z, x_):
        return (z - x_) ** 2 / (2 * tau) + game.features(np.asarray(z), 0) @ y

    lip = float(np.abs(y).sum())
    scale = 1 + lip * (np.abs(x).max() + tau * lip + width) + tau * lip**2
    for xi, ti in zip(x, t, strict=True):
        grid = np.linspace(xi - tau * lip, xi + tau * lip, 1001)
        assert objective(ti, xi) <= objective(grid, xi).min() + 1e-11 * scale
    assert np.all(np.diff(t) >= -1e-12 * (1 + np.abs(x).max()))
    assert np.all(1 + tau * (game.features(t, 2) @ y) >= -1e-9)
    # collapse speed: min over y of |ℓ_y'(p)|² + |g − λy|² (least squares)
    p = float(rng.normal())
    g = game.discriminator_gap(np.array([p]))
    a = game.features(np.array([p]), 1)[0]
    lhs = np.vstack([a[None, :], weight_decay * np.eye(a.size)])
    rhs = np.r_[0.0, g]
    best = np.linalg.norm(lhs @ np.linalg.lstsq(lhs, rhs, rcond=None)[0] - rhs)
    assert game.collapse_speed(p) == pytest.approx(best, abs=1e-10)
