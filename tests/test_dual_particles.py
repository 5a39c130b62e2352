"""Generator law in (P(R), W2): exact JKO steps of particles, mode collapse (paper 003)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.optimize

from gan_pde.dual import (
    ParticleGame,
    bimodal_target,
    collapse_study,
    count_atoms,
    fitted_order,
    oscillating_game,
    simulate,
    w2_distance,
)
from gan_pde.errors import InvalidInputError, NotConvergedError

CENTERS = np.linspace(-3.0, 3.0, 13)


def jko_objective(candidate, previous, potential, tau):
    """W2^2(mu, mu_k) / (2 tau) + E_mu ell for uniform particle laws."""
    return w2_distance(candidate, previous) ** 2 / (2 * tau) + np.mean(potential(candidate))


def test_w2_distance_and_atoms():
    assert w2_distance([0.0, 1.0], [0.5]) == pytest.approx(0.5, abs=1e-15)
    # quantiles at three and two levels: |0-0|^2/3 + |1-0|^2/6 + |1-2|^2/6 + |2-2|^2/3
    assert w2_distance([0.0, 1.0, 2.0], [0.0, 2.0]) == pytest.approx(np.sqrt(1 / 3), rel=1e-14)
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=50), rng.normal(size=50)
    assert w2_distance(a, b) == pytest.approx(np.sqrt(np.mean((np.sort(a) - np.sort(b)) ** 2)))
    assert count_atoms([0.0, 1e-10, 1.0, 1.0]) == 2


def test_jko_step_is_the_pointwise_global_proximal_map():
    game = ParticleGame(target=bimodal_target(16), centers=CENTERS, width=0.5)
    rng = np.random.default_rng(3)
    y = rng.normal(size=game.n_features)
    x = np.sort(rng.uniform(-2, 2, size=40))
    for tau in (0.05, 0.6, 3.0):  # continuous and discontinuous (tau max(-ell'') > 1) maps

        def potential(z, y=y):
            return game.features(np.atleast_1d(z)) @ y

        moved = game.proximal_map(x, y, tau)
        for xi, zi in zip(x, moved, strict=True):
            # brute force: dense grid over the reach |z - x| <= 2 tau Lip, then Brent
            grid = xi + np.linspace(-2, 2, 20001) * tau * np.abs(y).sum()
            values = 0.5 * (grid - xi) ** 2 / tau + potential(grid)
            k = int(np.argmin(values))
            best = scipy.optimize.minimize_scalar(
                lambda z, xi=xi, tau=tau: 0.5 * (z - xi) ** 2 / tau + potential(z)[0],
                bracket=(grid[max(k - 1, 0)], grid[k], grid[min(k + 1, grid.size - 1)]),
                tol=1e-12,
            )
            # the two minimisers agree to the Brent tolerance (sqrt(eps)-level in z)
            assert zi == pytest.approx(best.x, abs=1e-6)
            assert 0.5 * (zi - xi) ** 2 / tau + potential(zi)[0] <= best.fun + 1e-12
        # the pushed-forward law minimises the JKO functional among perturbed laws
        value = jko_objective(moved, x, potential, tau)
        for _ in range(20):
            other = moved + 0.05 * rng.normal(size=moved.size)
            assert value <= jko_objective(other, x, potential, tau) + 1e-12


def test_prox_map_is_one_to_one():
    # z determines x = z + tau ell'(z): the JKO map never merges particles
    game = ParticleGame(target=[0.0], centers=CENTERS, width=0.5)
    y = np.sin(np.arange(13.0)) * 2.0
    x = np.linspace(-3, 3, 400)
    for tau in (0.1, 1.0, 10.0):
        z = game.proximal_map(x, y, tau)
        assert np.all(np.diff(z) > 0)
        np.testing.assert_allclose(z + tau * (game.features(z, 1) @ y), x, atol=1e-11)


def test_linear_feature_reproduces_the_oscillating_scheme():
    # ell_y(x) = y x against a Dirac target at x_r: the mean follows (1) exactly
    x_r, tau = 1.5, 0.1
    game = ParticleGame(target=[x_r], centers=[], width=1.0, linear=True)
    particles = np.array([-0.5, 0.0, 0.25, 1.0])
    path = game.simulate(particles, [0.2], tau=tau, n_steps=50)
    means = path.particles.mean(axis=1)
    euclid = simulate(oscillating_game([x_r]), [0.2], [means[0]], tau=tau, n_steps=50)
    np.testing.assert_allclose(path.y[:, 0], euclid.x[:, 0], atol=1e-12)
    np.testing.assert_allclose(means, euclid.y[:, 0], atol=1e-12)
    # a potential linear in x translates every particle: the shape is kept
    np.testing.assert_allclose(
        path.particles - means[:, None],
        np.broadcast_to(particles - particles.mean(), path.particles.shape),
        atol=1e-12,
    )
    explicit = game.simulate(particles, [0.2], tau=tau, n_steps=50, scheme="alternating")
    np.testing.assert_allclose(explicit.particles, path.particles, atol=1e-12)


def test_lemma_1_for_the_jko_scheme():
    # JKO (8)-(9) vs explicit particle steps (1): max over [0, 2] of W2 between the
    # generator laws and of |y^I - y^E| is O(tau)
    game = ParticleGame(target=bimodal_target(16), centers=CENTERS, width=0.5, weight_decay=0.2)
    x0 = np.linspace(0.2, 0.8, 16)
    taus = np.array([0.04, 0.02, 0.01])
    gaps, y_gaps = [], []
    for tau in taus:
        n = round(2.0 / tau)
        jko = game.simulate(x0, np.zeros(13), tau=tau, n_steps=n)
        explicit = game.simulate(x0, np.zeros(13), tau=tau, n_steps=n, scheme="alternating")
        pairs = zip(jko.particles, explicit.particles, strict=True)
        gaps.append(max(w2_distance(a, b) for a, b in pairs))
        y_gaps.append(np.max(np.abs(jko.y - explicit.y)))
    # first order; the fit over a factor 4 carries the O(tau^2) term (~0.01 measured)
    assert fitted_order(taus, gaps) == pytest.approx(1.0, abs=0.05)
    assert fitted_order(taus, y_gaps) == pytest.approx(1.0, abs=0.05)


def test_collapse_speed_is_the_minimum_over_the_discriminator():
    # regression (stress campaign, dual): for lambda > 0 collapse_speed returned
    # sqrt(|g|^2 - (a.g)^2/(|a|^2 + lambda^2)) instead of the minimum |a.g|/sqrt(|a|^2 +
    # lambda^2) of |l_y'(p)|^2 + |g - lambda y|^2 over y, and so hid the fixed points
    rng = np.random.default_rng(5)
    for lam in (0.0, 0.05, 0.2, 1.0, 3.0):
        game = ParticleGame(
            target=rng.normal(size=7),
            centers=rng.normal(size=4),
            width=0.7,
            linear=True,
            weight_decay=lam,
        )
        for p in rng.normal(size=3):
            g = game.discriminator_gap(np.array([p]))
            a = game.features(np.array([p]), 1)[0]

            def speed2(y, g=g, a=a, lam=lam):
                return (a @ y) ** 2 + np.sum((g - lam * y) ** 2)

            best = scipy.optimize.minimize(speed2, np.zeros(a.size), method="BFGS", tol=1e-14)
            assert game.collapse_speed(p) == pytest.approx(np.sqrt(best.fun), abs=1e-6)


def test_collapsed_fixed_points_with_weight_decay_and_large_steps_collapse():
    game = ParticleGame(target=bimodal_target(32), centers=CENTERS, width=0.5, weight_decay=0.2)
    study = collapse_study(
        game, np.linspace(0.2, 0.8, 32), taus=[0.1, 0.4, 2.4], t_final=20.0, bisections=3
    )
    # symmetric target and features: a.g = 0 at p = 0, so (delta_0, g/lambda) is a fixed
    # point of the dual flow with weight decay, and the schemes keep it (exactly) still
    assert study.collapse_speed < 1e-12
    gap = game.discriminator_gap(np.zeros(1))
    still = game.simulate(np.zeros(4), gap / 0.2, tau=0.1, n_steps=50)
    assert np.max(np.abs(still.particles)) < 1e-12
    assert np.max(np.abs(still.y - gap / 0.2)) < 1e-12
    # without weight decay a Dirac's feature means differ from the target's by > 0.8
    # wherever it sits: no collapsed state is a fixed point (the paper's setting)
    bare = ParticleGame(target=bimodal_target(32), centers=CENTERS, width=0.5)
    assert min(bare.collapse_speed(p) for p in np.linspace(-2.6, 2.6, 201)) > 0.5
    # spread std(mu)/std(mu_r) over the last half: ~1 below, ~0 above the threshold
    assert study.spread[0] > 0.9 and study.spread[-1] < 0.05
    assert study.threshold is not None
    # tau max(-ell'') < 1 along the flow: the JKO map is continuous, no collapse below
    assert study.predicted <= study.threshold <= 2.4
    # a collapsed generator stays collapsed (a Dirac is moved as a whole) but moves
    path = game.simulate(np.zeros(8), np.zeros(13), tau=0.1, n_steps=20)
    assert count_atoms(path.particles[-1]) == 1
    assert abs(path.particles[-1, 0]) > 1e-3 or np.linalg.norm(path.y[-1]) > 1e-3


def test_bad_particle_input():
    game = ParticleGame(target=[0.0, 1.0], centers=CENTERS, width=0.5)
    with pytest.raises(InvalidInputError, match="tau"):
        game.simulate([0.0], np.zeros(13), tau=float("nan"), n_steps=2)
    with pytest.raises(InvalidInputError, match="particles"):
        game.simulate([0.0, np.inf], np.zeros(13), tau=0.1, n_steps=2)
    with pytest.raises(InvalidInputError, match="y0"):
        game.simulate([0.0], np.zeros(3), tau=0.1, n_steps=2)
    with pytest.raises(InvalidInputError, match="scheme"):
        game.simulate([0.0], np.zeros(13), tau=0.1, n_steps=2, scheme="joint-implicit")
    with pytest.raises(InvalidInputError, match="width"):
        ParticleGame(target=[0.0], centers=CENTERS, width=0.0)
    with pytest.raises(InvalidInputError, match="weight_decay"):
        ParticleGame(target=[0.0], centers=CENTERS, width=1.0, weight_decay=-1.0)
    with pytest.raises(InvalidInputError, match="features"):
        ParticleGame(target=[0.0], centers=[], width=1.0)
    with pytest.raises(InvalidInputError, match="taus"):
        collapse_study(game, [0.0], taus=[0.1], t_final=1.0)


def test_non_convergent_jko_step(monkeypatch):
    from gan_pde.dual import wasserstein

    monkeypatch.setattr(wasserstein, "_NEWTON", 0)  # no refinement after the scan
    game = ParticleGame(target=[0.0], centers=CENTERS, width=0.5)
    with pytest.raises(NotConvergedError, match=r"tau=0.5 .* residual"):
        game.proximal_map(np.array([0.3]), np.ones(13), 0.5)
