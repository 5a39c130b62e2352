"""Property tests (hypothesis) of the SDE approximations (paper 000) over random games.

Issue 16, item 4: random quadratic GANs (data, weight decay, curvature, η, B, γ0), random
1D Fokker–Planck coefficients and random schedules, each checked against a closed form
derived here independently of the package.  Tolerances are round-off unless a comment
derives another bound.  The randomized stress campaign is ``benchmarks/stress/
stress_sde.py``.
"""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pytest
import scipy.linalg
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from gan_pde.mesh import interval
from gan_pde.sde.fokker_planck import stationary_fokker_planck
from gan_pde.sde.quadratic import (
    NonDissipativeWarning,
    location_gan,
    location_scale_wgan,
    moments_of,
)

EPS = np.finfo(float).eps

data = hnp.arrays(float, st.integers(2, 3), elements=st.floats(-2.0, 2.0))


@st.composite
def games(draw):
    x, z = draw(data), draw(data)
    if draw(st.booleans()):
        kappa = draw(st.floats(0.0, 1.0))
        lam = kappa + draw(st.floats(0.1, 1.5))
        return location_gan(x, z, curvature=kappa, weight_decay=lam)
    return location_scale_wgan(x, z, weight_decay=draw(st.floats(0.1, 1.5)))


def _drift(game, kind, eta):
    """(M, v) from the paper: b0 = S∇Φ (9); ALT b0 + η·½R b0 (10); (14) b0 − (η/2)∇b0 b0."""
    p, d = game.d_theta, game.dimension
    hbar, lbar = game.hessians.mean(0), game.linear.mean(0)
    s = np.diag(np.r_[-np.ones(p), np.ones(d - p)])
    m0, v0 = s @ hbar, s @ lbar
    if kind == "alt":
        r = -hbar.copy()
        r[:p, :p] = hbar[:p, :p]
        f = np.eye(d) + 0.5 * eta * r
    elif kind == "sml2":
        f = np.eye(d) - 0.5 * eta * m0
    else:
        f = np.eye(d)
    return f @ m0, f @ v0


@settings(max_examples=50)
@given(
    game=games(),
    eta=st.floats(0.01, 0.5),
    scheme=st.sampled_from(["alt", "sml"]),
    gamma0=hnp.arrays(float, 3, elements=st.floats(-1.0, 1.0)),
)
def test_one_sga_step_moments_are_the_batch_enumeration(game, eta, scheme, gamma0):
    # B = 1: E over the n (SML) or n² (ALT: two independent batches) equally likely draws
    g0 = gamma0[: game.dimension]
    q = game.sga_moments(g0, eta=eta, batch_size=1, steps=1, scheme=scheme)[-1]
    n, p = game.n_samples, game.d_theta
    total = np.zeros_like(q)
    draws = itertools.product(range(n), repeat=1 if scheme == "sml" else 2)
    for idx in draws:
        h, lin = game.hessians, game.linear
        if scheme == "sml":
            grad = h[idx[0]] @ g0 + lin[idx[0]]
            new = g0 + eta * np.r_[-grad[:p], grad[p:]]
        else:
            omega = g0[p:] + eta * (h[idx[0]] @ g0 + lin[idx[0]])[p:]
            half = np.r_[g0[:p], omega]
            new = np.r_[g0[:p] - eta * (h[idx[1]] @ half + lin[idx[1]])[:p], omega]
        xi = np.append(new, 1.0)
        total += np.outer(xi, xi)
    total /= n ** (1 if scheme == "sml" else 2)
    np.testing.assert_allclose(q, total, rtol=1e-12, atol=1e-13 * (1 + np.abs(total).max()))


@settings(max_examples=50)
@given(game=games(), eta=st.floats(0.01, 0.5), kind=st.sampled_from(["alt", "sml", "sml2"]))
def test_drift_matrix_is_the_papers_drift(game, eta, kind):
    m, v = game.drift_matrix(kind, eta)
    mine, vine = _drift(game, kind, eta)
    np.testing.assert_allclose(m, mine, atol=1e-14 * (1 + np.abs(mine).max()))
    np.testing.assert_allclose(v, vine, atol=1e-14 * (1 + np.abs(vine).max()))


@settings(max_examples=50)
@given(
    data_x=data,
    data_z=data,
    kappa=st.floats(0.0, 1.0),
    margin=st.floats(0.1, 1.5),
    eta=st.floats(0.01, 1.0),
    batch=st.integers(1, 4),
    kind=st.sampled_from(["alt", "sml"]),
)
def test_invariant_measure_of_additive_noise_is_the_lyapunov_gaussian(
    data_x, data_z, kappa, margin, eta, batch, kind
):
    # additive noise (location_gan): μ* = N(−M⁻¹v, C), MC + CMᵀ + A = 0 with A = (η/B)·
    # blockdiag Cov(per-sample gradients); FDR1 (both SDEs) and FDR2 (SML) hold exactly
    game = location_gan(data_x, data_z, curvature=kappa, weight_decay=kappa + margin)
    with warnings.catch_warnings():
        # a large η can make the ALT drift's symmetric part indefinite (the warning says
        # Theorem 4.1 does not apply); the moment equations may still be stable
        warnings.simplefilter("ignore", NonDissipativeWarning)
        q = game.stationary_moments(kind, eta=eta, batch_size=batch)
    mean, cov = moments_of(q)
    m, v = _drift(game, kind, eta)
    grads = game.linear + game.hessians @ (-np.linalg.solve(m, v))
    a = np.cov(grads.T, bias=True) * eta / batch
    a[0, 1] = a[1, 0] = 0.0
    exact_cov = scipy.linalg.solve_continuous_lyapunov(m, -a)
    # conditioning of the stationary solve: ~cond(M)² eps relative
    # (relative to |Q|: the covariance is E γγᵀ − mean meanᵀ, a difference of O(|Q|) terms;
    # identical data give A = 0 and a Dirac μ*)
    tol = 1e3 * np.linalg.cond(m) ** 2 * EPS * np.abs(q).max()
    np.testing.assert_allclose(mean, -np.linalg.solve(m, v), atol=tol)
    np.testing.assert_allclose(cov, exact_cov, atol=tol)
    fdr = game.fdr_expectations(q, eta=eta, batch_size=batch)
    # the FDR sides are linear in Q with coefficients O(|K|²)
    k2 = (np.abs(game.hessians).max() + np.abs(game.linear).max() + 1) ** 2
    assert fdr["fdr1_lhs"] == pytest.approx(fdr[f"fdr1_rhs_{kind}"], abs=10 * tol * k2)
    if kind == "sml":
        assert fdr["fdr2_lhs"] == pytest.approx(fdr["fdr2_rhs"], abs=10 * tol * k2)


@settings(max_examples=50)
@given(
    k=st.floats(0.3, 3.0),
    m=st.floats(-2.0, 2.0),
    alpha=st.floats(0.2, 3.0),
    beta=st.one_of(st.just(0.0), st.floats(0.02, 0.5)),
    c=st.floats(-2.0, 2.0),
)
def test_stationary_fokker_planck_1d_is_the_zero_flux_density(k, m, alpha, beta, c):
    # b = −k(x − m), a = α + β(x − c)²: zero flux ½(ap)' = bp gives p ∝ a⁻¹exp∫2b/a, on
    # the truncated box too (normalised there); P1 nodal error <= 4·h²/8·max|p''|
    # (interpolation bound times a quasi-optimality factor 4; measured <= 0.5)
    std = math.sqrt((alpha + beta * (m - c) ** 2) / (2 * k))
    lo, hi = m - 6 * std, m + 6 * std
    fine = np.linspace(lo, hi, 20001)

    def log_p(x):
        if beta == 0.0:
            return -k * (x - m) ** 2 / alpha
        a = alpha + beta * (x - c) ** 2
        return -2 * k * (
            np.log(a) / (2 * beta)
            + (c - m) / math.sqrt(alpha * beta) * np.arctan(math.sqrt(beta / alpha) * (x - c))
        ) - np.log(a)

    shift = log_p(fine).max()
    values = np.exp(log_p(fine) - shift)
    norm = float(np.sum((values[1:] + values[:-1]) / 2) * (fine[1] - fine[0]))
    cells = 200
    sol = stationary_fokker_planck(
        lambda x: -k * (x - m),
        lambda x: (alpha + beta * (x - c) ** 2)[:, :, None],
        interval(lo, hi, cells),
        divergence=lambda x: 2 * beta * (x - c),
    )
    exact = np.exp(log_p(sol.basis.doflocs[0]) - shift) / norm
    second = np.gradient(np.gradient(values / norm, fine), fine)
    h = (hi - lo) / cells
    # plus the trapezoidal normalisation's relative error (fine grid): ≤ 1e-7
    bound = 4 * h**2 / 8 * np.abs(second).max() + 1e-7 * exact.max()
    assert np.abs(sol.values - exact).max() <= bound


@settings(max_examples=50)
@given(
    epsilon=st.floats(0.02, 0.5),
    delta=st.floats(0.05, 0.9),
    window=st.integers(1, 10),
    lr=st.floats(1e-3, 1.0),
    min_lr=st.one_of(st.just(0.0), st.floats(1e-5, 0.5)),
    steps=st.integers(1, 40),
    inside=st.booleans(),
    seed=st.integers(0, 2**31),
)
def test_fdr2_schedule_is_its_closed_form(epsilon, delta, window, lr, min_lr, steps, inside, seed):
    torch = pytest.importorskip("torch")
    from gan_pde.sde import FDR2Scheduler

    rng = np.random.default_rng(seed)
    param = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    opt = torch.optim.SGD([param], lr=lr)
    sched = FDR2Scheduler(opt, epsilon=epsilon, delta=delta, window=window, min_lr=min_lr)
    rates = []
    for _ in range(steps):
        rhs = rng.uniform(0.1, 10.0)
        # inside: every ratio within ε, so every window's weighted mean is; outside: all
        # on one side of the band
        ratio = 1 + (rng.uniform(-0.9, 0.9) if inside else rng.uniform(1.1, 3.0)) * epsilon
        sched.observe(ratio * rhs, rhs)
        param.grad = torch.zeros_like(param)
        opt.step()
        sched.step()
        rates.append(opt.param_groups[0]["lr"])
    t = np.arange(1, steps + 1)
    # η_t = min(η0, max(η_min, η0(1 − δ)^⌊t/W⌋)) inside the band, η0 outside
    expected = np.minimum(lr, np.maximum(min_lr, lr * (1 - delta) ** (t // window)))
    if not inside:
        expected = np.full(steps, lr)
    np.testing.assert_allclose(rates, expected, rtol=64 * EPS * (1 + steps))


@settings(max_examples=50)
@given(
    batch=st.integers(2, 8),
    p=st.integers(1, 3),
    q=st.integers(1, 3),
    eta=st.floats(1e-3, 1.0),
    seed=st.integers(0, 2**31),
)
def test_fdr2_statistics_is_its_formula(batch, p, q, eta, seed):
    torch = pytest.importorskip("torch")
    from gan_pde.sde.scheduler import fdr2_statistics

    rng = np.random.default_rng(seed)
    theta, omega = rng.normal(size=p), rng.normal(size=q)
    gt, gw = rng.normal(size=(batch, p)), rng.normal(size=(batch, q))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lhs, rhs = fdr2_statistics(
            torch.tensor(theta), torch.tensor(omega), torch.tensor(gt), torch.tensor(gw), eta=eta
        )
    # θᵀḡ_θ − ωᵀḡ_ω and (η/2B)·tr(Σ̂_θ + Σ̂_ω) with the unbiased (B − 1) covariances
    variance = np.var(gt, axis=0, ddof=1).sum() + np.var(gw, axis=0, ddof=1).sum()
    assert lhs == pytest.approx(theta @ gt.mean(0) - omega @ gw.mean(0), abs=1e-13)
    assert rhs == pytest.approx(eta / (2 * batch) * variance, rel=1e-13)
