"""Paper 000 (Cao–Guo) with torch: coefficients (9)–(11), ensembles, long runs, the schedule."""

from __future__ import annotations

import functools
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from gan_pde.errors import (  # noqa: E402
    InvalidInputError,
    MissingDependencyError,
    NumericalBreakdownError,
)
from gan_pde.sde import (  # noqa: E402
    GANSDE,
    FDR2Scheduler,
    NonDissipativeWarning,
    location_gan,
    location_scale_wgan,
    long_run,
    moments_of,
    simulate_sde,
    simulate_sga,
    tanh_gan_loss,
    train_sml,
)
from gan_pde.sde.coefficients import mlp_gan  # noqa: E402

RNG = np.random.default_rng(3)
X = RNG.normal(1.0, 0.5, 4)
Z = RNG.normal(0.0, 1.0, 3)


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def wgan_loss(theta, omega, x, z, *, lam=0.5):
    """The torch form of :func:`location_scale_wgan`."""
    return (
        omega[0] * x
        - omega[0] * (theta[0] + theta[1] * z)
        + 0.5 * lam * ((theta**2).sum() - (omega**2).sum())
    )


def location_loss(theta, omega, x, z, *, kappa=0.5, lam=1.0):
    """The torch form of :func:`location_gan`."""
    g = theta[0] + z
    critic = omega[0] * x + 0.5 * kappa * x**2 - omega[0] * g - 0.5 * kappa * g**2
    return critic + 0.5 * lam * (theta[0] ** 2 - omega[0] ** 2)


def _wgan():
    return GANSDE(wgan_loss, X, Z, d_theta=2, d_omega=1), location_scale_wgan(
        X, Z, weight_decay=0.5
    )


@pytest.mark.parametrize("kind", ["alt", "sml2"])
def test_correction_hvp_equals_dense_hessian(kind):
    # b1 from two HVPs vs b1 = ½R∇²Φ… from the dense Hessian: same sums, round-off only
    torch.manual_seed(0)
    sde = mlp_gan(torch.randn(4, 2), torch.randn(3, 2), hidden=5, weight_decay=0.1)
    gamma = 0.3 * torch.randn(sde.dimension, dtype=torch.float64)
    hvp = sde.correction(gamma, kind)
    dense = sde.dense_correction(gamma, kind)
    assert float(hvp.abs().max()) > 1e-2
    torch.testing.assert_close(hvp, dense, rtol=1e-12, atol=1e-14)


def test_alt_correction_matches_paper_form():
    # (10), second line: b1 = −½∇b0 b0 − (∇_ωg_θ g_ω, 0), with ∇b0 the Jacobian of b0
    sde = GANSDE(functools.partial(tanh_gan_loss, weight_decay=0.1), X, Z, d_theta=2, d_omega=2)
    gamma = torch.tensor([0.1, 0.9, 0.6, -0.2], dtype=torch.float64)
    jac = torch.func.jacrev(sde.drift0)(gamma)
    b0 = sde.drift0(gamma)
    hessian = torch.func.hessian(sde.phi)(gamma)
    game_term = torch.cat([hessian[:2, 2:] @ sde.gradient(gamma)[2:], torch.zeros(2)])
    torch.testing.assert_close(sde.correction(gamma), -0.5 * jac @ b0 - game_term)


def test_coefficients_match_quadratic_closed_forms():
    sde, game = _wgan()
    gamma = np.array([0.3, 0.8, -0.4])
    for kind in ("alt", "sml", "sml2"):
        m, v = game.drift_matrix(kind, 0.1)
        drift = sde.drift(torch.tensor(gamma), eta=0.1, kind=kind).numpy()
        np.testing.assert_allclose(drift, m @ gamma + v, atol=1e-14)
    for torch_cov, exact in zip(
        sde.covariances(torch.tensor(gamma)), game.covariances(gamma), strict=True
    ):
        np.testing.assert_allclose(torch_cov.numpy(), exact, atol=1e-14)
    sigma = sde.diffusion(torch.tensor(gamma), eta=0.1, batch_size=2).numpy()
    a = game.fokker_planck_coefficients("alt", eta=0.1, batch_size=2)[1](gamma[None])[0]
    np.testing.assert_allclose(sigma @ sigma.T, a, atol=1e-14)
    points = RNG.normal(size=(5, 3))
    for kind in ("alt", "sml"):
        torch_fields = sde.fokker_planck_coefficients(kind, eta=0.1, batch_size=2)
        exact_fields = game.fokker_planck_coefficients(kind, eta=0.1, batch_size=2)
        for mine, exact in zip(torch_fields, exact_fields, strict=True):
            np.testing.assert_allclose(mine(points), exact(points), atol=1e-14)
    xi = np.append(gamma, 1.0)
    exact = game.fdr_expectations(np.outer(xi, xi), eta=0.1, batch_size=2)
    terms = sde.fdr_terms(torch.tensor(gamma), eta=0.1, batch_size=2)
    for key, value in exact.items():
        assert float(terms[key]) == pytest.approx(value, abs=1e-14)


def _exact(q):
    return np.concatenate([q[-1, :3, 3], np.diag(q[-1, :3, :3])])


@pytest.mark.parametrize("scheme", ["alt", "sml"])
def test_sga_ensemble_matches_exact_moments(scheme):
    # Monte-Carlo: 12 000 paths; each of 6 estimates within 4.5 standard errors of the exact
    # moment (a false alarm has probability < 1e-4 per run)
    sde, game = _wgan()
    gamma0 = np.array([0.3, 0.8, -0.4])
    run = simulate_sga(sde, gamma0, eta=0.2, batch_size=2, steps=5, scheme=scheme, n_paths=12000)
    exact = _exact(game.sga_moments(gamma0, eta=0.2, batch_size=2, steps=5, scheme=scheme))
    assert np.all(np.abs(run.mean[-1] - exact) < 4.5 * run.stderr[-1])


@pytest.mark.parametrize("kind", ["alt", "sml"])
def test_sde_ensemble_matches_exact_moments(kind):
    # Euler–Maruyama + Richardson, h = η/4: bias O(h²) ≈ 3e-4 here (measured with more
    # paths), below the 4.5-SE band of 8 000 paths (SE ≈ 1e-3)
    sde, game = _wgan()
    gamma0 = np.array([0.3, 0.8, -0.4])
    run = simulate_sde(
        sde, gamma0, eta=0.2, batch_size=2, steps=5, kind=kind, substeps=4, n_paths=8000
    )
    exact = _exact(game.sde_moments(gamma0, eta=0.2, batch_size=2, steps=5, kind=kind))
    assert np.all(np.abs(run.mean[-1] - exact) < 4.5 * run.stderr[-1] + 3e-4)


def test_long_run_invariant_measure_and_fdrs():
    # OU example (additive noise), started at the stationary mean: Richardson long-run
    # moments vs the exact Lyapunov solution within 4.5 MC standard errors plus the O(h²)
    # Richardson bias at h = η/4 (measured ≤ 2e-3 with 40 000 paths; 1.3e-2 at h = η/2);
    # FDR1 gap within 1.3 × its 95 % CI half-width (ALT-SDE), the FDR2 gap likewise (SML-SDE)
    sde = GANSDE(location_loss, X, Z, d_theta=1, d_omega=1)
    game = location_gan(X, Z, curvature=0.5, weight_decay=1.0)
    for kind in ("alt", "sml"):
        mean, cov = moments_of(game.stationary_moments(kind, eta=0.5, batch_size=1))
        run = long_run(sde, mean, eta=0.5, batch_size=1, t_final=6.0, kind=kind, n_paths=2000)
        assert np.all(np.abs(run.mean - mean) < 4.5 * run.mean_stderr + 3e-3)
        assert np.all(np.abs(run.covariance - cov) < 4.5 * run.covariance_stderr + 3e-3)
        value, half = run.fdr["fdr1_gap"]
        assert abs(value) < 1.3 * half
        if kind == "sml":
            value, half = run.fdr["fdr2_gap"]
            assert abs(value) < 1.3 * half


def test_fem_invariant_density_matches_long_run_nonlinear():
    # tanh GAN (bounded D, weight decay 1 > curvature 0.3): the stationary Fokker–Planck
    # solution with b, a, ∇·a from torch vs a Richardson long run of 1 500 paths: within
    # 4.5 MC standard errors plus 4e-4 for the FEM error (< 1e-4: 20 vs 40 cells differ by
    # 7e-5, O(h²)) and the Richardson bias at h = η/4 (agreement within 1 SE at 4 000 paths)
    import scipy.optimize

    import gan_pde as gp
    from gan_pde.sde import stationary_fokker_planck

    loss = functools.partial(tanh_gan_loss, weight_decay=1.0, curvature=0.3)
    sde = GANSDE(loss, X, Z, d_theta=1, d_omega=1)
    start = scipy.optimize.fsolve(lambda g: sde.drift0(torch.as_tensor(g)).numpy(), [0.0, 0.5])
    run = long_run(sde, start, eta=0.4, batch_size=2, t_final=6.0, n_paths=1500)
    b, a, div = sde.fokker_planck_coefficients("alt", eta=0.4, batch_size=2)
    half = 7 * np.sqrt(np.diag(run.covariance))
    lower, upper = run.mean - half, run.mean + half
    mesh = gp.mesh.rectangle((lower[0], upper[0]), (lower[1], upper[1]), n=(40, 40))
    fem = stationary_fokker_planck(b, a, mesh, divergence=div)
    assert np.all(np.abs(fem.mean - run.mean) < 4.5 * run.mean_stderr + 4e-4)
    assert np.all(np.abs(fem.covariance - run.covariance) < 4.5 * run.covariance_stderr + 4e-4)


def test_long_run_warns_without_dissipation():
    sde = GANSDE(functools.partial(location_loss, lam=0.2), X, Z, d_theta=1, d_omega=1)
    with pytest.warns(NonDissipativeWarning, match="weight decay"):
        long_run(sde, [0.0, 0.0], eta=0.1, batch_size=1, t_final=0.1, n_paths=8)


def test_scheduler_decreases_rate_at_equilibrium():
    theta = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([theta], lr=0.1)
    scheduler = FDR2Scheduler(optimizer, epsilon=0.1, delta=0.5, window=3)
    assert isinstance(scheduler, torch.optim.lr_scheduler.LRScheduler)
    for lhs in (5.0, 5.0, 5.0):  # far from FDR2: no change
        optimizer.step()
        scheduler.observe(lhs, 1.0)
        scheduler.step()
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.1)
    for lhs in (1.05, 0.97, 1.02):  # ratio 1.013: within ε, η halves
        optimizer.step()
        scheduler.observe(lhs, 1.0)
        scheduler.step()
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.05)
    with pytest.raises(InvalidInputError, match="epsilon"):
        FDR2Scheduler(optimizer, epsilon=0.0)


def test_scheduler_decrease_never_raises_a_rate_below_min_lr():
    # regression (stress campaign, sde): a rate that started below min_lr jumped *up* to
    # min_lr at the first "decrease"; and a NaN/negative min_lr was accepted
    theta = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([{"params": [theta]}, {"params": [], "lr": 0.5}], lr=1e-3)
    scheduler = FDR2Scheduler(optimizer, epsilon=0.1, delta=0.5, window=2, min_lr=0.01)
    for _ in range(6):
        optimizer.step()
        scheduler.observe(1.0, 1.0)
        scheduler.step()
    assert scheduler.decreases == [2, 4, 6]
    assert [g["lr"] for g in optimizer.param_groups] == [1e-3, pytest.approx(0.0625)]
    for bad in (float("nan"), -1.0, float("inf"), "0.1", True):
        with pytest.raises(InvalidInputError, match="min_lr"):
            FDR2Scheduler(optimizer, min_lr=bad)


def test_train_sml_with_schedule_lowers_rate():
    sde = GANSDE(functools.partial(tanh_gan_loss, weight_decay=0.1), X, Z, d_theta=2, d_omega=2)
    out = train_sml(
        sde,
        [0.0, 0.5, 0.5, 0.0],
        eta=0.1,
        batch_size=4,
        steps=400,
        schedule={"epsilon": 0.5, "delta": 0.5, "window": 40},
    )
    assert out["decreases"]
    assert out["lr"][-1] < 0.1


def test_bad_input():
    sde, _ = _wgan()
    gamma0 = [0.3, 0.8, -0.4]
    with pytest.raises(InvalidInputError, match="eta"):
        simulate_sga(sde, gamma0, eta=-0.1, batch_size=2, steps=1)
    with pytest.raises(InvalidInputError, match="batch_size"):
        simulate_sde(sde, gamma0, eta=0.1, batch_size=0, steps=1)
    with pytest.raises(InvalidInputError, match="batch_size"):
        simulate_sga(sde, gamma0, eta=0.1, batch_size=13, steps=1)
    with pytest.raises(InvalidInputError, match="gamma0"):
        simulate_sga(sde, [np.nan, 0.0, 0.0], eta=0.1, batch_size=2, steps=1)
    with pytest.raises(InvalidInputError, match="x"):
        GANSDE(wgan_loss, [np.nan], Z, d_theta=2, d_omega=1)
    with pytest.raises(InvalidInputError, match="eta"):
        sde.drift(torch.zeros(3, dtype=torch.float64), eta=0.0)
    nan_loss = GANSDE(
        lambda t, w, x, z: wgan_loss(t, w, x, z) * torch.nan, X, Z, d_theta=2, d_omega=1
    )
    with pytest.raises(NumericalBreakdownError, match="NaN"):
        simulate_sga(nan_loss, gamma0, eta=0.1, batch_size=2, steps=1, n_paths=4)
    with pytest.raises(NumericalBreakdownError, match="NaN"):
        simulate_sde(nan_loss, gamma0, eta=0.1, batch_size=2, steps=1, n_paths=4)


def test_missing_torch_is_a_clear_error(monkeypatch):
    from gan_pde.sde._torch import require_torch

    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'gan_pde\[torch\]'"):
        require_torch()


def test_import_does_not_import_torch():
    code = (
        "import sys, gan_pde, gan_pde.sde, gan_pde.sde.quadratic, gan_pde.sde.fokker_planck; "
        "gan_pde.sde.location_gan; assert 'torch' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
