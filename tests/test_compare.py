"""gan_pde.compare: sample metrics, samples on the mesh, time axis, distances over time."""

from __future__ import annotations

import doctest
import math
import subprocess
import sys

import numpy as np
import pytest
import skfem
from scipy import integrate, stats

import gan_pde as gp
from gan_pde.compare import (
    TimeAxis,
    align_times,
    distance_to_density,
    distances_over_time,
    median_bandwidth,
    mmd,
    parameters_to_law,
    samples_to_density,
    trajectory_at,
    w1,
    w2,
)
from gan_pde.compare import metrics as metrics_module
from gan_pde.compare import timeaxis as timeaxis_module
from gan_pde.errors import InvalidInputError


def fitted_slope(n: np.ndarray, err: np.ndarray) -> float:
    return float(np.polyfit(np.log(n), np.log(err), 1)[0])


def gaussian_density(mean: float, lo: float = -10.0, hi: float = 10.0, cells: int = 2000):
    basis = gp.fem.make_basis(gp.mesh.interval(lo, hi, n=cells), "P1")
    return gp.MeshDensity.from_density(gp.Gaussian(mean=[mean], cov=[[1.0]]), basis)


def quantile_samples(n: int, mean: float = 0.0, std: float = 1.0) -> np.ndarray:
    """Deterministic 'samples' x_k = F^{-1}((k - 1/2)/n) of N(mean, std²)."""
    return mean + std * stats.norm.ppf((np.arange(n) + 0.5) / n)


def test_doctests():
    for module in (metrics_module, timeaxis_module):
        assert doctest.testmod(module, optionflags=doctest.ELLIPSIS).failed == 0


def test_import_without_torch():
    # gan_pde.compare must work with numpy/scipy only: it never imports torch
    code = "import sys, gan_pde.compare as c; c.w1([0.0], [1.0]); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_experiments_names_are_resolved_lazily():
    import gan_pde.compare as compare
    from gan_pde.compare import experiments

    assert experiments.__all__
    for name in experiments.__all__:
        assert getattr(compare, name) is getattr(experiments, name)
        assert name in dir(compare)
    assert "w1" in dir(compare)
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        compare.nothing  # noqa: B018


# ----------------------------------------------------------------------------- Wasserstein


def test_wasserstein_of_a_shift_is_the_shift():
    x = np.random.default_rng(0).normal(size=257)
    # the monotone coupling pairs x_(i) with x_(i) + c exactly: round-off only
    assert w1(x, x + 1.5) == pytest.approx(1.5, rel=1e-14)
    assert w2(x[:, None], x[:, None] - 0.25) == pytest.approx(0.25, rel=1e-13)


def test_wasserstein_unequal_sizes_against_the_cdf_integral():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=37), rng.normal(0.3, 2.0, size=53)
    # W1 = ∫|F - G| dx: F, G are step functions, constant between consecutive pooled points
    pooled = np.sort(np.concatenate([a, b]))
    f = np.searchsorted(np.sort(a), pooled[:-1], side="right") / a.size
    g = np.searchsorted(np.sort(b), pooled[:-1], side="right") / b.size
    expected = float(np.sum(np.abs(f - g) * np.diff(pooled)))
    assert w1(a, b) == pytest.approx(expected, rel=1e-12)  # two exact sums: round-off
    assert w1(a, b) == w1(b, a)
    assert w2(a, b) == pytest.approx(w2(b, a), rel=1e-14)
    # W2 with unequal sizes: replicating every sample of a k times leaves the law unchanged
    assert w2(np.repeat(a, 3), b) == pytest.approx(w2(a, b), rel=1e-12)


def test_wasserstein_batched_matches_loop():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(3, 2, 40, 1)), rng.normal(size=(2, 31, 1))
    out = w2(a, b)
    assert out.shape == (3, 2)
    for i in range(3):
        for j in range(2):
            assert out[i, j] == w2(a[i, j], b[j])


def test_wasserstein_between_gaussians_converges_at_the_monte_carlo_rate():
    # W1(N(0,1), N(1,1)) = 1 and W2(N(0,1), N(1,4)) = sqrt(1 + 1) (W2² = Δm² + Δs²);
    # the sample estimates fluctuate by O(n^{-1/2}) (1D, finite moments)
    rng = np.random.default_rng(3)
    sizes = np.array([100, 400, 1600, 6400])
    reps = 40
    err1, err2 = [], []
    for n in sizes:
        e1, e2 = [], []
        for _ in range(reps):
            x, y = rng.normal(size=n), rng.normal(size=n)
            e1.append(w1(x, y + 1.0) - 1.0)
            e2.append(w2(x, 2.0 * y + 1.0) - math.sqrt(2.0))
        err1.append(math.sqrt(np.mean(np.square(e1))))
        err2.append(math.sqrt(np.mean(np.square(e2))))
    # 40 repetitions give the RMS error to ~11 % per size; over a 64x range in n that is
    # ±0.1 on the slope
    assert fitted_slope(sizes, np.array(err1)) == pytest.approx(-0.5, abs=0.12)
    assert fitted_slope(sizes, np.array(err2)) == pytest.approx(-0.5, abs=0.12)


# ----------------------------------------------------------------------------------- MMD


def brute_mmd(x: np.ndarray, y: np.ndarray, h: float) -> float:
    def k(a, b):
        return math.exp(-float(np.sum((a - b) ** 2)) / (2 * h * h))

    n, m = len(x), len(y)
    kxx = sum(k(x[i], x[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    kyy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    kxy = sum(k(a, b) for a in x for b in y) / (n * m)
    return kxx + kyy - 2 * kxy


def test_mmd_matches_the_definition_and_is_symmetric(monkeypatch):
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(9, 3)), rng.normal(0.5, 1.0, size=(7, 3))
    assert mmd(x, y, 1.3) == pytest.approx(brute_mmd(x, y, 1.3), rel=1e-12)
    assert mmd(x, y, 1.3) == pytest.approx(mmd(y, x, 1.3), rel=1e-12)
    # identical sets: the biased V-statistic is exactly 0
    assert mmd(x, x, 1.3, biased=True) == pytest.approx(0.0, abs=1e-14)
    # the blockwise kernel sums give the same number as one block
    monkeypatch.setattr(metrics_module, "_MMD_BLOCK", 5)
    assert mmd(x, y, 1.3) == pytest.approx(brute_mmd(x, y, 1.3), rel=1e-12)


def test_median_heuristic():
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(20, 2)), rng.normal(size=(15, 2))
    z = np.concatenate([x, y])
    dist = np.sqrt(((z[:, None] - z[None]) ** 2).sum(-1))[np.triu_indices(35, 1)]
    assert median_bandwidth(x, y) == pytest.approx(np.median(dist), rel=1e-12)
    assert mmd(x, y) == pytest.approx(mmd(x, y, float(np.median(dist))), rel=1e-12)


def exact_gaussian_mmd(delta: float, h: float, d: int) -> float:
    # E k(X, X') for X ~ N(m1, I), X' ~ N(m2, I): (h²/(h²+2))^{d/2} exp(-|m1-m2|²/(2(h²+2)))
    c = (h * h / (h * h + 2.0)) ** (d / 2)
    return 2.0 * c * (1.0 - math.exp(-(delta**2) / (2.0 * (h * h + 2.0))))


def test_mmd_converges_to_the_gaussian_value_at_the_monte_carlo_rate():
    rng = np.random.default_rng(6)
    d, h, delta = 2, 1.0, 1.0
    exact = exact_gaussian_mmd(delta, h, d)
    shift = np.array([delta, 0.0])
    sizes = np.array([50, 200, 800])
    reps = 30
    rms, means = [], []
    for n in sizes:
        errs = [
            mmd(rng.normal(size=(n, d)), rng.normal(size=(n, d)) + shift, h) - exact
            for _ in range(reps)
        ]
        rms.append(math.sqrt(np.mean(np.square(errs))))
        means.append((np.mean(errs), np.std(errs, ddof=1) / math.sqrt(reps)))
    # the U-statistic is unbiased: the mean error is within 4 standard errors of 0
    for mean, se in means:
        assert abs(mean) < 4 * se
    # for P ≠ Q its fluctuations are O(n^{-1/2}); 30 repetitions: ±0.13 on the slope
    assert fitted_slope(sizes, np.array(rms)) == pytest.approx(-0.5, abs=0.15)
    # same law: the unbiased estimate is centred at 0 (O(1/n) fluctuations)
    same = [mmd(rng.normal(size=(200, d)), rng.normal(size=(200, d)), h) for _ in range(reps)]
    assert abs(np.mean(same)) < 4 * np.std(same, ddof=1) / math.sqrt(reps)


def test_mmd_batched():
    rng = np.random.default_rng(7)
    a, b = rng.normal(size=(4, 30, 2)), rng.normal(size=(25, 2))
    out = mmd(a, b, 0.8)
    assert out.shape == (4,)
    assert out[2] == mmd(a[2], b, 0.8)


# ------------------------------------------------------------------- samples on the mesh


def test_histogram_conserves_mass_and_drops_outside_samples():
    mesh = gp.mesh.interval(-1.0, 1.0, n=4)
    rng = np.random.default_rng(8)
    x = rng.uniform(-1.5, 1.5, size=(300, 1))
    u = samples_to_density(x, mesh, method="histogram")
    assert isinstance(u.basis.elem, skfem.ElementLineP1)
    inside = np.abs(x[:, 0]) <= 1.0
    # lumped projection: u_i ∫φ_i = (1/n) Σ_k φ_i(x_k); mass = fraction inside, renormalised
    lumped = np.array([0.25, 0.5, 0.5, 0.5, 0.25])
    hats = np.clip(1.0 - np.abs(x[inside, 0][:, None] - np.linspace(-1, 1, 5)) / 0.5, 0, None)
    expected = hats.sum(axis=0) / inside.sum() / lumped
    np.testing.assert_allclose(u.values, expected, rtol=1e-12)
    assert u.mass == pytest.approx(1.0, abs=1e-14)
    # 2D triangles: the same mass identity, non-negative values, mean preserved exactly
    # (Σ_i φ_i(x) x_i = x for P1, and the lumped weights integrate φ_i)
    square = gp.mesh.rectangle((-2.0, 2.0), (-2.0, 2.0), n=8)
    pts = rng.normal(0.0, 0.6, size=(500, 2))
    pts = pts[np.abs(pts).max(axis=1) <= 2.0]
    v = samples_to_density(pts, square, method="histogram")
    assert v.mass == pytest.approx(1.0, abs=1e-13) and v.values.min() >= 0.0
    lumped2 = np.asarray(skfem.asm(skfem.LinearForm(lambda w, _: w), v.basis), dtype=float)
    centre = (v.values * lumped2) @ v.basis.doflocs.T
    np.testing.assert_allclose(centre, pts.mean(axis=0), atol=1e-13)


def test_kde_density_and_l1_jsd_against_exact_values():
    # the KDE of quantile samples of N(0,1) with width h is N(0, 1 + h²) up to O(1/n);
    # against N(δ, 1) the L1 and JSD are then integrals computed here with scipy.quad
    h, delta, n = 0.1, 1.0, 20000
    x = quantile_samples(n)
    target = gaussian_density(delta)
    p = stats.norm(0.0, math.sqrt(1 + h * h)).pdf
    q = stats.norm(delta, 1.0).pdf
    l1 = integrate.quad(lambda t: abs(p(t) - q(t)), -10, 10, points=[0.5], limit=200)[0]

    def jsd_integrand(t):
        a, b = p(t), q(t)
        m = 0.5 * (a + b)
        return 0.5 * (a * math.log(a / m) + b * math.log(b / m))

    jsd = integrate.quad(jsd_integrand, -10, 10, limit=200)[0]
    # P1 interpolation on h_mesh = 0.01: O(h²) ~ 1e-5; the quantile discretisation of the
    # KDE is O(1/n) = 5e-5 relative; 1e-3 relative is a 10x margin
    assert distance_to_density(x, target, "l1", bandwidth=h) == pytest.approx(l1, rel=1e-3)
    assert distance_to_density(x, target, "jsd", bandwidth=h) == pytest.approx(jsd, rel=1e-3)
    # a density with itself: 0 (both are the same MeshDensity values at quadrature points)
    same = samples_to_density(x, target.basis, bandwidth=h)
    assert gp.fem.l1_distance(same, same, same.mesh) == 0.0


def test_l1_of_exact_samples_shrinks_with_n():
    # histogram L1 of n exact samples against their density: variance O((n h)^{-1/2}) plus a
    # bias O(h²) ≈ 2e-3 on 80 cells of [-6, 6], below the variance (0.036 at n = 8000)
    u = gaussian_density(0.0, -6.0, 6.0, cells=80)
    rng = np.random.default_rng(9)
    sizes = np.array([500, 2000, 8000])
    errs = [
        np.mean(
            [distance_to_density(u.sample(n, rng), u, "l1", method="histogram") for _ in range(10)]
        )
        for n in sizes
    ]
    # slope -1/2; the bias floor flattens it by ~0.03, 10 repetitions add ±0.05
    assert fitted_slope(sizes, np.array(errs)) == pytest.approx(-0.5, abs=0.1)


def test_w1_w2_to_a_density():
    u = gaussian_density(0.0)
    # quantile samples of N(μ, 1): W1 = W2 = |μ| up to the O(1/n) quantile discretisation
    # and the O(h²) = 1e-8 CDF of the mesh density
    x = quantile_samples(20000, mean=0.3)
    assert distance_to_density(x, u, "w1") == pytest.approx(0.3, rel=1e-3)
    assert distance_to_density(x, u, "w2") == pytest.approx(0.3, rel=1e-3)
    # uniform density on [0, 1] and a point mass at c: W2² = ∫(x - c)² dx = 1/3 - c + c²
    basis = skfem.Basis(gp.mesh.interval(0.0, 1.0, n=7), skfem.ElementLineP1())
    uniform = gp.MeshDensity(basis, np.ones(basis.N))
    for c in (0.0, 0.3, 1.0):
        # the CDF of a constant is linear: the trapezoid rule is exact, so is W2
        assert distance_to_density([c], uniform, "w2") ** 2 == pytest.approx(
            1 / 3 - c + c * c, rel=1e-10
        )
    # W2 to the density agrees with the sample W2 against many quantile samples of it
    y = np.random.default_rng(10).normal(0.5, 1.2, size=500)
    ref = quantile_samples(200000)
    assert distance_to_density(y, u, "w2") == pytest.approx(w2(y, ref), rel=1e-3)


def test_w1_of_exact_samples_converges_at_the_monte_carlo_rate():
    u = gaussian_density(0.0)
    rng = np.random.default_rng(11)
    sizes = np.array([100, 400, 1600, 6400])
    errs = [
        np.mean([distance_to_density(u.sample(n, rng), u, "w1") for _ in range(20)]) for n in sizes
    ]
    # E W1(μ_n, μ) ~ c n^{-1/2} in 1D; 20 repetitions: ±0.1 on the slope
    assert fitted_slope(sizes, np.array(errs)) == pytest.approx(-0.5, abs=0.12)


def test_parameters_to_law():
    rng = np.random.default_rng(12)
    theta = rng.uniform(-1, 1, size=(1000, 2))
    edges = [np.linspace(-1, 1, 5), np.linspace(-1, 1, 3)]
    law = parameters_to_law(theta, edges)
    assert law.shape == (4, 2)
    assert law.sum() == pytest.approx(1.0, abs=1e-14)
    np.testing.assert_array_equal(law * 1000, np.histogramdd(theta, bins=edges)[0])
    # the corners of the box belong to the last cells
    assert parameters_to_law([[1.0, 1.0]], edges)[-1, -1] == 1.0


# -------------------------------------------------------------------------- time axis


def test_time_axis_and_alignment():
    axis = TimeAxis(time_per_step=0.05, offset=1.0)
    np.testing.assert_allclose(axis.times([0, 10]), [1.0, 1.5])
    np.testing.assert_array_equal(axis.steps(axis.times([3, 7])), [3, 7])
    pde_times = np.array([0.0, 0.3, 1.0, 2.0])
    a = align_times(np.arange(0, 201, 20), 0.01, pde_times)
    # linear interpolation is exact for a function linear in t
    np.testing.assert_allclose(a.interpolate(3 * pde_times - 1), 3 * a.times - 1, atol=1e-14)
    assert a.exact.tolist() == [t in (0.0, 1.0, 2.0) for t in np.round(a.times, 12)]


def jsd_trajectory():
    target = gp.GaussianMixture(means=[[-2.0], [2.0]], stds=[1.0, 1.0])
    flow = gp.JSDFlow(target, gp.Gaussian(mean=[0.0], cov=[[1.0]]), gp.mesh.interval(-9, 9, 180))
    return flow.solve(t_final=2.0, dt=0.1, save_times=[0.0, 0.5, 1.0, 2.0])


def test_trajectory_at_interpolates_densities():
    traj = jsd_trajectory()
    mid = trajectory_at(traj, [0.25, 1.0])
    assert mid[1] is traj.densities[2]
    np.testing.assert_allclose(
        mid[0].values, 0.5 * (traj.densities[0].values + traj.densities[1].values), rtol=1e-12
    )
    assert mid[0].mass == pytest.approx(1.0, abs=1e-12)


def test_distances_over_time_exact_samples_and_error_bars():
    traj = jsd_trajectory()
    rng = np.random.default_rng(13)
    times = np.array([0.0, 0.5, 2.0])
    idx = [0, 1, 3]
    n, runs = 2000, 3

    class Run:
        pass

    run = Run()
    run.times = times
    run.samples = np.stack(
        [np.stack([traj.densities[i].sample(n, rng) for i in idx]) for _ in range(runs)]
    )
    out = distances_over_time(run, traj, metrics=("w1", "w2", "l1", "mmd"))
    assert set(out) >= {"times", "w1", "w1_stderr", "w1_runs", "mmd", "mmd_stderr"}
    assert out["w1_runs"].shape == (runs, 3)
    # exact draws: W1 ~ 0.8 sd/sqrt(n) ≈ 0.04 here; 0.1 is far above the spread
    assert np.all(out["w1"] < 0.1)
    np.testing.assert_allclose(
        out["w1_stderr"], out["w1_runs"].std(axis=0, ddof=1) / math.sqrt(runs)
    )
    # the initial law against the flow: W1 to the flow grows as the flow moves away
    frozen = Run()
    frozen.times = times
    frozen.samples = np.stack([traj.densities[0].sample(n, rng)] * 3)
    far = distances_over_time(frozen, traj, metrics="w1")
    assert far["w1"][0] < 0.1 < far["w1"][1] < far["w1"][2]
    assert np.all(np.isnan(far["w1_stderr"]))
    # steps on the time axis: time_scale = ε
    steps = Run()
    steps.times = times / 0.01
    steps.samples = frozen.samples
    scaled = distances_over_time(steps, traj, metrics="w1", time_scale=0.01)
    np.testing.assert_allclose(scaled["w1"], far["w1"], rtol=1e-12)


# ------------------------------------------------------------------------------ bad input


def test_bad_inputs():
    u = gaussian_density(0.0)
    with pytest.raises(InvalidInputError, match="1D samples"):
        w1(np.zeros((5, 2)), np.zeros(5))
    with pytest.raises(InvalidInputError, match="at least one sample"):
        w2([], [1.0])
    with pytest.raises(InvalidInputError, match="finite"):
        w1([np.nan], [1.0])
    with pytest.raises(InvalidInputError, match="same dimension"):
        mmd(np.zeros((3, 2)), np.zeros((3, 1)))
    with pytest.raises(InvalidInputError, match="bandwidth"):
        mmd(np.zeros((3, 1)), np.ones((3, 1)), -1.0)
    with pytest.raises(InvalidInputError, match="n >= 2"):
        mmd(np.zeros((1, 1)), np.ones((3, 1)))
    with pytest.raises(InvalidInputError, match="all pooled samples coincide"):
        mmd(np.zeros((3, 1)), np.zeros((3, 1)))
    with pytest.raises(InvalidInputError, match="method='gauss'"):
        samples_to_density([[0.0]], u.mesh, method="gauss")
    with pytest.raises(InvalidInputError, match=r"shape \(n, 1\)"):
        samples_to_density(np.zeros((4, 2)), u.mesh)
    with pytest.raises(InvalidInputError, match="none of the 1 samples"):
        samples_to_density([[50.0]], u.mesh, method="histogram")
    with pytest.raises(InvalidInputError, match="mesh_or_basis"):
        samples_to_density([[0.0]], "mesh")
    with pytest.raises(InvalidInputError, match="metric='kl'"):
        distance_to_density([0.0], u, "kl")
    with pytest.raises(InvalidInputError, match="MeshDensity"):
        distance_to_density([0.0], gp.Gaussian(mean=[0.0], cov=[[1.0]]), "w1")
    square = gp.MeshDensity.from_density(
        gp.Gaussian(mean=[0.0, 0.0], cov=np.eye(2)),
        gp.fem.make_basis(gp.mesh.rectangle((-5, 5), (-5, 5), n=4), "P1"),
    )
    with pytest.raises(InvalidInputError, match="exact in 1D only"):
        distance_to_density(np.zeros((3, 2)), square, "w2")
    with pytest.raises(InvalidInputError, match="outside grid_edges"):
        parameters_to_law([[2.0]], [[0.0, 1.0]])
    with pytest.raises(InvalidInputError, match="strictly increasing"):
        parameters_to_law([[0.5]], [[1.0, 0.0]])
    with pytest.raises(InvalidInputError, match="d = 2 edge arrays"):
        parameters_to_law(np.zeros((2, 2)), [[0.0, 1.0]])
    with pytest.raises(InvalidInputError, match="time_per_step"):
        TimeAxis(time_per_step=0.0)
    with pytest.raises(InvalidInputError, match="non-negative integers"):
        align_times([0.5], 0.1, [0.0, 1.0])
    with pytest.raises(InvalidInputError, match="outside the saved PDE times"):
        align_times([0, 20], 0.1, [0.0, 1.0])
    with pytest.raises(InvalidInputError, match="strictly increasing"):
        align_times([0], 0.1, [1.0, 0.0])

    class Run:
        times = np.array([0.0, 1.0])
        samples = np.zeros((3, 10, 1))

    with pytest.raises(InvalidInputError, match="n_saved"):
        distances_over_time(Run(), jsd_trajectory())
    with pytest.raises(InvalidInputError, match="metrics"):
        distances_over_time(Run(), jsd_trajectory(), metrics=("fid",))
    with pytest.raises(InvalidInputError, match=r"\.times and \.densities"):
        trajectory_at(object(), [0.0])
