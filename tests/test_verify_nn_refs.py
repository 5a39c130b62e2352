"""The references of the network verify checks, and the library hooks they rely on.

The checks of :mod:`gan_pde.verify.checks_nn` and :mod:`gan_pde.verify.checks_compare`
compare the trainers with closed forms and independent computations written in the check
modules; these tests check those references themselves (against finite differences, the
package's exact W₂ and the definitions), and the options the checks need from the library:
per-run initial neurons in :func:`gan_pde.nn.train_wgan`, independent runs, the wall layer
and the data size in :func:`gan_pde.compare.experiments.wgan_comparison`, the saved states
of :func:`gan_pde.compare.experiments.lsgan_comparison`, the held-out rows of
:func:`gan_pde.nn.estimate_poincare_constant`, and the clipping bound ``CLIP``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import gan_pde as gp  # noqa: E402
from gan_pde.errors import InvalidInputError  # noqa: E402
from gan_pde.verify import checks_compare, checks_nn  # noqa: E402


def _loss(a, b, s, q, r, z, eps):
    x = z @ a.T + b
    logit = 0.5 * np.einsum("ij,jk,ik->i", x, s, x) + x @ q + r
    return eps * np.mean(np.log1p(-1.0 / (1.0 + np.exp(-logit))))


def test_closed_form_gan_gradient_matches_finite_differences():
    rng = np.random.default_rng(0)
    dim, latent, m, eps = 2, 3, 40, 0.37
    a, b = rng.normal(size=(dim, latent)), rng.normal(size=dim)
    m_ = rng.normal(size=(dim, dim))
    s, q, r = -0.3 * (m_ + m_.T) / 2, rng.normal(size=dim), np.array([0.35])
    z = rng.normal(size=(m, latent))
    grads, scale = checks_nn._closed_form_gradients(
        {"A": a, "b": b}, {"S": s, "q": q, "r": r}, z, eps
    )
    h = 1e-6
    for name, value in (("A", a), ("b", b)):
        numeric = np.zeros_like(value)
        for index in np.ndindex(value.shape):
            up, down = value.copy(), value.copy()
            up[index] += h
            down[index] -= h
            args_up = (up, b) if name == "A" else (a, up)
            args_down = (down, b) if name == "A" else (a, down)
            numeric[index] = (
                _loss(*args_up, s, q, r[0], z, eps) - _loss(*args_down, s, q, r[0], z, eps)
            ) / (2 * h)
        np.testing.assert_allclose(grads[name], numeric, rtol=1e-6, atol=1e-9)
        assert np.all(scale[name] >= np.abs(grads[name]))


def test_gaussian_logit_is_the_log_density_ratio():
    target, start = (0.8, 0.7), (-0.3, 1.3)
    logit = checks_nn._GaussianLogit(target, start)
    params = logit.init(None)
    x = np.linspace(-3.0, 3.0, 13)[:, None]
    rho_d = gp.Gaussian(mean=[target[0]], cov=[[target[1] ** 2]])
    rho_0 = gp.Gaussian(mean=[start[0]], cov=[[start[1] ** 2]])
    expected = np.log(rho_d.pdf(x)) - np.log(rho_0.pdf(x))
    got = logit(params, torch.as_tensor(x))[:, 0].numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_vectorised_w2_equals_the_package_w2():
    from gan_pde.meanfield.particles import w2_to_cells

    rng = np.random.default_rng(1)
    edges = np.linspace(-1.0, 2.0, 31)
    masses = rng.random(30) + 0.05
    x = np.sort(rng.uniform(-1.0, 2.0, size=(5, 17)), axis=1)
    ours = checks_nn._w2_sorted(edges, masses / masses.sum(), x)
    theirs = [math.sqrt(w2_to_cells(row, edges, masses)) for row in x]
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    # the Monte-Carlo W2 of i.i.d. uniform samples: E W2^2 = 1/(6N) + O(N^-2)
    draws = checks_nn._w2_iid(np.array([0.0, 1.0]), np.array([1.0]), 200, 4000, rng)
    assert np.mean(draws**2) == pytest.approx(1.0 / 1200.0, rel=0.05)


def test_weighted_slope_of_an_exact_line():
    x = np.log(np.array([10.0, 20.0, 40.0, 80.0]))
    slope, se, coef = checks_nn._weighted_slope(x, 2.0 - 0.5 * x, np.full(4, 0.1))
    assert slope == pytest.approx(-0.5, abs=1e-12)
    assert se == pytest.approx(0.1 / math.sqrt(np.sum((x - x.mean()) ** 2)))
    assert np.sum(coef) == pytest.approx(0.0, abs=1e-12)


def test_w2_to_cells_with_sub_roundoff_end_masses_is_finite_and_ignores_them():
    # regression: end masses below the round-off of the cumulative sum made the quantile
    # piece's midpoint round onto a cdf value and pick an empty cell (0/0 = NaN)
    from gan_pde.meanfield.particles import w2_to_cells

    edges = np.linspace(0.0, 1.0, 6)
    masses = np.array([1e-70, 0.3, 0.4, 0.3, 1e-80])
    points = np.random.default_rng(0).uniform(0.2, 0.8, 50)
    value = w2_to_cells(points, edges, masses)
    trimmed = w2_to_cells(points, edges[1:5], masses[1:4])
    assert math.isfinite(value)
    # the tails move W2^2 by at most their mass times the squared width: ~1e-70
    assert value == pytest.approx(trimmed, rel=1e-14, abs=1e-15)


def test_train_wgan_starts_each_run_from_its_own_neurons():
    from gan_pde.nn import train_wgan

    rng = np.random.default_rng(2)
    runs, n = 3, 6
    g = np.stack([np.column_stack([rng.normal(size=n), np.ones(n), np.zeros(n)])] * runs)
    g[:, :, 0] += np.arange(runs)[:, None]
    d = np.stack([np.column_stack([rng.uniform(-0.5, 0.5, n), np.ones(n), np.zeros(n)])] * 3)
    run = train_wgan(
        gp.Gaussian(mean=[0.0], cov=[[1.0]]),
        width=n,
        steps=2,
        generator_init=g,
        critic_init=d,
        runs=runs,
        n_data=50,
        n_eval=5,
        device="cpu",
    )
    np.testing.assert_array_equal(run.parameters["G/a"][:, 0, :, 0], g[:, :, 0])
    with pytest.raises(InvalidInputError, match="one set per run"):
        train_wgan(
            gp.Gaussian(mean=[0.0], cov=[[1.0]]),
            width=n,
            steps=1,
            generator_init=g[:2],
            runs=runs,
            n_data=50,
            device="cpu",
        )


def test_clip_bound_is_the_box_of_the_critic(monkeypatch):
    import gan_pde.nn.wgan as wgan

    monkeypatch.setattr(wgan, "CLIP", 0.5)
    run = wgan.train_wgan(
        gp.Gaussian(mean=[2.0], cov=[[0.1]]), width=8, steps=30, n_data=50, n_eval=5, device="cpu"
    )
    assert float(np.abs(run.parameters["D/a"]).max()) <= 0.5


def test_wgan_comparison_runs_layer_and_t_positive_slopes():
    from gan_pde.compare.experiments import _default_wgan_model, wgan_comparison

    model = _default_wgan_model(320)  # sub-round-off tails: the W2 stays finite
    result = wgan_comparison(
        model,
        widths=(10, 20),
        t_final=0.2,
        saves=3,
        runs=2,
        device="cpu",
        wall_layer=0.5,
        n_data=500,
    )
    assert result.w2_runs["nu/a"].shape == (2, 2, 3)
    assert result.wall_runs.shape == (2, 2, 3)
    assert all(np.isfinite(v).all() for v in result.w2_runs.values())
    for name, values in result.w2.items():
        expected = np.polyfit(np.log([10, 20]), np.log(values[:, 1:].mean(axis=1)), 1)[0]
        assert result.slopes[name] == pytest.approx(expected)
    # the layer within 0.5 of the wall at t = 0: i.i.d. draws of nu_in, binomial share
    p0 = checks_nn._layer_mass(result.pde.nu[:1], 320, 0.5)[0]
    share = result.wall_runs[:, :, 0].mean()
    assert abs(share - p0) <= 4.0 * math.sqrt(p0 * (1.0 - p0) / 60.0)
    with pytest.raises(InvalidInputError, match="wall_layer"):
        wgan_comparison(model, widths=(10,), t_final=0.1, wall_layer=2.0)
    with pytest.raises(InvalidInputError, match="runs"):
        wgan_comparison(model, widths=(10,), t_final=0.1, runs=0)


def test_lsgan_comparison_exposes_the_model_and_the_states():
    from gan_pde.compare.experiments import lsgan_comparison

    result = lsgan_comparison(
        3.0, n_data=40, features=6, tau=0.05, t_final=0.5, saves=3, device="cpu"
    )
    assert result.samples.shape == (40, 1)
    assert result.feature_centers.shape == (6,)
    assert result.run.parameters["D/c"].shape[:2] == (5, 3)
    assert result.run.parameters["G/x"].shape[:3] == (5, 3, 40)
    np.testing.assert_allclose(
        result.run.parameters["G/x"][:, 0, :, 0],
        np.broadcast_to(result.samples[:, 0] + 0.01, (5, 40)),
    )


def test_poincare_holdout_rows_give_the_estimate():
    from gan_pde.nn import estimate_poincare_constant

    data = np.random.default_rng(3).normal(size=(300, 1))
    estimate = estimate_poincare_constant(data, hidden=(8,), steps=20, device="cpu")
    assert estimate.holdout_index.size == estimate.n_holdout
    xi, se, _, _ = checks_compare._recomputed(estimate.function, data[estimate.holdout_index])
    assert estimate.xi_min == pytest.approx(xi, rel=1e-12)
    assert estimate.standard_error == pytest.approx(se, rel=1e-10)


def test_checks_restore_the_thread_count():
    from gan_pde.verify import registry

    spec = {s.name: s for s in registry.available_checks()}["nn.particles_are_euler"]
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        check = registry.run_check(spec, "quick")
        assert check.passed
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_support_trims_the_sub_roundoff_tails():
    edges = np.linspace(0.0, 1.0, 6)
    masses = np.array([1e-70, 0.3, 0.4, 0.3, 1e-80])
    e, m = checks_nn._support(edges, masses)
    np.testing.assert_array_equal(e, edges[1:5])
    np.testing.assert_array_equal(m, masses[1:4])
