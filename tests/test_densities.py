"""Tests of gan_pde.densities: exact formulas, tails, sampling, FEM densities, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.integrate
import scipy.stats as st
import skfem
from hypothesis import given, settings
from hypothesis import strategies as hs

from gan_pde import densities
from gan_pde.densities import KDE, Gaussian, GaussianMixture, MeshDensity, Uniform
from gan_pde.errors import InvalidDensityError, InvalidInputError, NumericalBreakdownError

EPS = np.finfo(float).eps
FD_STEP = 1e-6
LOG_2PI = math.log(2.0 * math.pi)


# ------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------


def _spd(d: int, rng: np.random.Generator) -> np.ndarray:
    a = rng.normal(size=(d, d))
    return a @ a.T + d * np.eye(d)


def _fd_grad(f, x: np.ndarray, h: float = FD_STEP) -> np.ndarray:
    """Central finite differences of a scalar field f on (n, d) points."""
    grad = np.empty_like(x)
    for i in range(x.shape[1]):
        e = np.zeros(x.shape[1])
        e[i] = h
        grad[:, i] = (f(x + e) - f(x - e)) / (2.0 * h)
    return grad


def _fd_tolerance(third: np.ndarray, scale: np.ndarray, h: float = FD_STEP) -> np.ndarray:
    """Error bound of the central difference: truncation h²/6 · |third derivative| + round-off.

    Round-off: each of the two evaluations of f is off by at most a few (<= 8) eps times
    ``scale``, the magnitude of the terms f is summed from; forming x ± h moves the point by
    eps·|x|, which costs eps·|x|·|f'| (callers include it in ``scale``).  Dividing by the
    step 2h gives 8·eps·scale/h.
    """
    return h**2 / 6.0 * third + 8.0 * EPS * scale / h


def _mixture_term_scale(rho: GaussianMixture, x: np.ndarray) -> np.ndarray:
    """Magnitude of the pieces log ρ is summed from: max_k |log w_k| + |log N_k(x)| + |c_k|.

    c_k = log N_k(m_k) is the normalising constant; it and log w_k can be much larger than
    their sum (which can be ~0), and each is rounded separately.
    """
    pieces = [
        abs(math.log(w))
        + np.abs(st.multivariate_normal(m, c).logpdf(x).reshape(-1))
        + abs(st.multivariate_normal(m, c).logpdf(m))
        for w, m, c in zip(rho.weights, rho.means, rho.covs, strict=True)
        if w > 0
    ]
    return np.max(pieces, axis=0)


def _assert_moments(samples: np.ndarray, mean: np.ndarray, cov: np.ndarray) -> None:
    """Sample mean and covariance within 5 standard errors of the exact ones.

    The standard errors are estimated from the sample itself (second and fourth moments),
    so the check is valid for any distribution with finite fourth moments; 5 standard errors
    give a false-alarm rate below 1e-6 per entry (and the seeds are fixed).
    """
    n, d = samples.shape
    centred = samples - mean
    se_mean = centred.std(axis=0, ddof=1) / math.sqrt(n)
    np.testing.assert_array_less(np.abs(centred.mean(axis=0)), 5.0 * se_mean)
    for i in range(d):
        for j in range(i, d):
            prod = centred[:, i] * centred[:, j]
            se = prod.std(ddof=1) / math.sqrt(n)
            assert abs(prod.mean() - cov[i, j]) < 5.0 * se, (i, j, prod.mean(), cov[i, j], se)


def _mixture_moments(rho: GaussianMixture) -> tuple[np.ndarray, np.ndarray]:
    w, m, c = rho.weights, rho.means, rho.covs
    mean = w @ m
    second = np.einsum("k,kij->ij", w, c + np.einsum("ki,kj->kij", m, m))
    return mean, second - np.outer(mean, mean)


def _scipy_mixture_pdf(rho: GaussianMixture, x: np.ndarray) -> np.ndarray:
    return sum(
        w * st.multivariate_normal(m, c).pdf(x)
        for w, m, c in zip(rho.weights, rho.means, rho.covs, strict=True)
    )


# ------------------------------------------------------------------------------------------
# Gaussian
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("d", [1, 2, 3])
def test_gaussian_matches_scipy(d: int) -> None:
    rng = np.random.default_rng(d)
    mean, cov = rng.normal(size=d), _spd(d, rng)
    x = mean + 3.0 * rng.normal(size=(50, d))
    rho = Gaussian(mean=mean, cov=cov)
    ref = st.multivariate_normal(mean, cov)
    # Same closed form, different factorisations (Cholesky here, eigh in scipy): the results
    # differ by rounding of a few ulps times cond(cov) <= ~10, far below 1e-12.
    np.testing.assert_allclose(rho.log_pdf(x), ref.logpdf(x), rtol=1e-12)
    np.testing.assert_allclose(rho.pdf(x), ref.pdf(x), rtol=1e-12)
    assert rho.log_pdf(x).shape == (50,)


@pytest.mark.parametrize("d", [1, 2, 3])
def test_gaussian_grad_closed_form(d: int) -> None:
    rng = np.random.default_rng(10 + d)
    mean, cov = rng.normal(size=d), _spd(d, rng)
    x = mean + 3.0 * rng.normal(size=(50, d))
    expected = -(x - mean) @ np.linalg.inv(cov).T
    grad = Gaussian(mean=mean, cov=cov).grad_log_pdf(x)
    assert grad.shape == (50, d)
    # two triangular solves vs an explicit inverse: rounding ~ eps·cond(cov)·|grad|.
    np.testing.assert_allclose(grad, expected, rtol=1e-12, atol=1e-12 * np.abs(expected).max())


@pytest.mark.parametrize("d", [1, 2, 3])
def test_gaussian_grad_finite_differences(d: int) -> None:
    rng = np.random.default_rng(20 + d)
    mean, cov = rng.normal(size=d), _spd(d, rng)
    rho = Gaussian(mean=mean, cov=cov)
    x = mean + 3.0 * rng.normal(size=(30, d))
    grad = rho.grad_log_pdf(x)
    fd = _fd_grad(rho.log_pdf, x)
    # log_pdf = c − q/2 is quadratic: the truncation error vanishes (third derivative 0),
    # only round-off remains, on the pieces |c| + q/2 <= |log_pdf| + 2|c| and on x ± h.
    c = abs(rho.log_pdf(mean[None])[0])
    scale = np.abs(rho.log_pdf(x))[:, None] + 2.0 * c + np.abs(x) * np.abs(grad)
    assert np.all(np.abs(fd - grad) <= _fd_tolerance(0.0, scale))


def test_gaussian_one_dimensional_input_shapes() -> None:
    rho = Gaussian(mean=[1.0], cov=[[4.0]])
    np.testing.assert_array_equal(rho.log_pdf([0.0, 1.0]), rho.log_pdf([[0.0], [1.0]]))
    assert rho.grad_log_pdf(np.array([0.0, 1.0])).shape == (2, 1)
    assert rho.log_pdf(np.empty((0, 1))).shape == (0,)


@pytest.mark.parametrize("x", [1e3, -1e3, 40.0])
def test_gaussian_tails_1d(x: float) -> None:
    rho = Gaussian(mean=[0.0], cov=[[1.0]])
    log_pdf = rho.log_pdf([[x]])[0]
    # closed form -x²/2 - log(2π)/2; both sides are one or two roundings away.
    assert math.isfinite(log_pdf)
    assert log_pdf == pytest.approx(-0.5 * x * x - 0.5 * LOG_2PI, rel=1e-15)
    assert rho.pdf([[x]])[0] == 0.0
    assert rho.grad_log_pdf([[x]])[0, 0] == -x


def test_gaussian_tails_2d() -> None:
    rho = Gaussian(mean=[0.0, 1.0], cov=[[1.0, 0.0], [0.0, 4.0]])
    x = np.array([[1e3, -1e3], [40.0, 81.0]])  # second row: 40σ in each coordinate
    expected = -0.5 * (x[:, 0] ** 2 + (x[:, 1] - 1.0) ** 2 / 4.0) - LOG_2PI - math.log(2.0)
    np.testing.assert_allclose(rho.log_pdf(x), expected, rtol=1e-15)
    np.testing.assert_array_equal(rho.pdf(x), [0.0, 0.0])
    np.testing.assert_allclose(
        rho.grad_log_pdf(x), np.column_stack([-x[:, 0], -(x[:, 1] - 1.0) / 4.0]), rtol=1e-15
    )


# ------------------------------------------------------------------------------------------
# Gaussian mixture
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("x", [1e3, -1e3, 42.0, -42.0])  # ±42: 40σ beyond the nearest mean
def test_mixture_tails(x: float) -> None:
    rho = GaussianMixture(means=[[-2.0], [2.0]], stds=[1.0, 1.0], weights=[0.5, 0.5])
    near = 2.0 if x > 0 else -2.0
    # log(½N(x;2,1) + ½N(x;−2,1)) = log ½ − (x−near)²/2 − log(2π)/2 + log1p(e^{−8|x|}).
    expected = math.log(0.5) - 0.5 * (x - near) ** 2 - 0.5 * LOG_2PI
    expected += math.log1p(math.exp(-8.0 * abs(x)))
    log_pdf = rho.log_pdf([[x]])[0]
    assert math.isfinite(log_pdf)
    assert log_pdf == pytest.approx(expected, rel=1e-15)  # a few roundings of O(x²) terms
    assert rho.pdf([[x]])[0] == 0.0
    # gradient of the dominant component; the other one's responsibility is e^{-8|x|} ≈ 0.
    assert rho.grad_log_pdf([[x]])[0, 0] == pytest.approx(-(x - near), rel=1e-15)


def test_mixture_tails_2d_all_components_underflow() -> None:
    rho = GaussianMixture(
        means=[[0.0, 0.0], [3.0, 0.0]], covs=[np.eye(2), [[2.0, 0.5], [0.5, 1.0]]]
    )
    x = np.array([[1e3, 1e3]])
    terms = [
        math.log(0.5) + st.multivariate_normal(m, c).logpdf(x[0])
        for m, c in zip(rho.means, rho.covs, strict=True)
    ]
    assert rho.pdf(x)[0] == 0.0
    assert rho.log_pdf(x)[0] == pytest.approx(np.logaddexp(*terms), rel=1e-13)
    dominant = int(np.argmax(terms))  # the other term is smaller by a factor e^{-1e5}
    expected = -np.linalg.solve(rho.covs[dominant], x[0] - rho.means[dominant])
    np.testing.assert_allclose(rho.grad_log_pdf(x)[0], expected, rtol=1e-12)


def _mixture_cases() -> dict[str, GaussianMixture]:
    return {
        "1d-stds": GaussianMixture(
            means=[[-2.0], [2.0], [0.5]], stds=[1.0, 0.5, 2.0], weights=[0.2, 0.5, 0.3]
        ),
        "2d-isotropic": GaussianMixture(means=[[-1.0, 0.0], [2.0, 1.0]], stds=[0.7, 1.3]),
        "2d-diagonal": GaussianMixture(
            means=[[-1.0, 0.0], [2.0, 1.0]], stds=[[0.7, 1.5], [1.3, 0.4]], weights=[0.3, 0.7]
        ),
        "2d-covs": GaussianMixture(
            means=[[-1.0, 0.0], [2.0, 1.0]],
            covs=[[[1.0, 0.6], [0.6, 2.0]], [[0.5, -0.2], [-0.2, 0.3]]],
            weights=[0.6, 0.4],
        ),
        "3d-covs-zero-weight": GaussianMixture(
            means=[[0.0, 0.0, 0.0], [1.0, -1.0, 2.0], [5.0, 5.0, 5.0]],
            covs=[np.eye(3), _spd(3, np.random.default_rng(3)), 2.0 * np.eye(3)],
            weights=[0.25, 0.75, 0.0],
        ),
    }


@pytest.mark.parametrize("case", list(_mixture_cases()))
def test_mixture_matches_sum_of_scipy_normals(case: str) -> None:
    rho = _mixture_cases()[case]
    rng = np.random.default_rng(5)
    x = rho.means[0] + 3.0 * rng.normal(size=(60, rho.dim))
    expected = _scipy_mixture_pdf(rho, x)
    # the same finite sum, summed in log space here: a few ulps apart.
    np.testing.assert_allclose(rho.pdf(x), expected, rtol=1e-12)
    np.testing.assert_allclose(rho.log_pdf(x), np.log(expected), rtol=1e-12)


@pytest.mark.parametrize("case", list(_mixture_cases()))
def test_mixture_grad_finite_differences(case: str) -> None:
    rho = _mixture_cases()[case]
    x = rho.means[0] + 2.0 * np.random.default_rng(6).normal(size=(40, rho.dim))
    grad = rho.grad_log_pdf(x)
    fd = _fd_grad(rho.log_pdf, x)
    third = _mixture_third_derivative_bound(rho, x)
    scale = _mixture_term_scale(rho, x)[:, None] + np.abs(x) * np.abs(grad)
    assert np.all(np.abs(fd - grad) <= _fd_tolerance(third, scale))


def _mixture_third_derivative_bound(rho: GaussianMixture, x: np.ndarray) -> np.ndarray:
    r"""Bound on |∂³_i log ρ| near x, per point and coordinate.

    Along e_i the component scores s_k = −(Σ_k^{-1}(x−m_k))_i are linear with slopes
    a_k = −(Σ_k^{-1})_ii, and ∂³_i log ρ = 3 Cov_r(a, s) + κ₃,r(s) (cumulants under the
    responsibilities r), so |∂³_i log ρ| ≤ 3 max|a|·S + S³ with S the spread of the s_k
    (enlarged by 2h·max|a| to cover the finite-difference stencil).
    """
    live = rho.weights > 0
    prec = np.linalg.inv(rho.covs[live])  # (K, d, d)
    scores = -np.einsum("kij,nkj->nki", prec, x[:, None, :] - rho.means[live])
    slopes = np.abs(np.einsum("kii->ki", prec)).max(axis=0)  # (d,)
    spread = scores.max(axis=1) - scores.min(axis=1) + 2.0 * FD_STEP * slopes
    return 3.0 * slopes * spread + spread**3


def test_mixture_integrates_to_one() -> None:
    rho = _mixture_cases()["1d-stds"]
    total, err = scipy.integrate.quad(
        lambda t: rho.pdf([[t]])[0],
        -60.0,
        60.0,
        points=[-2.0, 0.5, 2.0],
        epsabs=1e-13,
        epsrel=1e-13,
        limit=200,
    )
    assert err < 1e-11
    assert abs(total - 1.0) < 1e-10  # the mass outside [-60, 60] is below 1e-300


def test_mixture_properties_and_default_weights() -> None:
    rho = GaussianMixture(means=[[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]], stds=[1.0, 2.0, 3.0])
    assert rho.n_components == 3
    assert rho.dim == 2
    np.testing.assert_array_equal(rho.weights, np.full(3, 1.0 / 3.0))
    np.testing.assert_array_equal(rho.covs[1], 4.0 * np.eye(2))
    with pytest.raises(ValueError, match="read-only"):
        rho.means[0, 0] = 1.0


@hs.composite
def _mixtures_and_points(draw: hs.DrawFn) -> tuple[GaussianMixture, np.ndarray]:
    d = draw(hs.integers(1, 3))
    k = draw(hs.integers(1, 4))
    coord = hs.floats(-5.0, 5.0)
    means = np.array([[draw(coord) for _ in range(d)] for _ in range(k)])
    diagonal = draw(hs.booleans())
    std = hs.floats(0.2, 3.0)
    stds = np.array([[draw(std) for _ in range(d)] if diagonal else draw(std) for _ in range(k)])
    raw = np.array([draw(hs.floats(0.01, 1.0)) for _ in range(k)])
    rho = GaussianMixture(means=means, stds=stds, weights=raw / raw.sum())
    rows = []
    for _ in range(draw(hs.integers(1, 5))):
        j = draw(hs.integers(0, k - 1))
        offset = np.array([draw(hs.floats(-3.0, 3.0)) for _ in range(d)])
        rows.append(means[j] + np.sqrt(np.diag(rho.covs[j])) * offset)
    return rho, np.array(rows)


@settings(max_examples=60, deadline=None)
@given(_mixtures_and_points())
def test_mixture_property_log_pdf_and_grad(case: tuple[GaussianMixture, np.ndarray]) -> None:
    rho, x = case
    expected = _scipy_mixture_pdf(rho, x)
    assert np.all(expected > 0)  # points lie within 3σ of a component: nothing underflows
    # log of the same finite sum; relative rounding of a few ulps of the log terms.
    np.testing.assert_allclose(rho.log_pdf(x), np.log(expected), rtol=1e-12, atol=1e-13)
    assert np.all(rho.pdf(x) >= 0.0)
    grad = rho.grad_log_pdf(x)
    fd = _fd_grad(rho.log_pdf, x)
    third = _mixture_third_derivative_bound(rho, x)
    scale = _mixture_term_scale(rho, x)[:, None] + np.abs(x) * np.abs(grad)
    assert np.all(np.abs(fd - grad) <= _fd_tolerance(third, scale))


# ------------------------------------------------------------------------------------------
# sampling
# ------------------------------------------------------------------------------------------


def _sampling_cases() -> dict[str, tuple[densities.Density, np.ndarray, np.ndarray]]:
    mix1 = GaussianMixture(means=[[-2.0], [2.0]], stds=[1.0, 1.0], weights=[0.5, 0.5])
    mix2 = _mixture_cases()["2d-covs"]
    mix3 = _mixture_cases()["3d-covs-zero-weight"]
    gauss_cov = np.array([[2.0, 0.8], [0.8, 1.0]])
    data = np.random.default_rng(7).normal(size=(50, 2)) * [1.0, 3.0]
    kde = KDE(data, bandwidth="silverman")
    kde_cov = kde.bandwidth_matrix + np.cov(data, rowvar=False, ddof=0)
    return {
        "gaussian": (Gaussian(mean=[1.0, -1.0], cov=gauss_cov), np.array([1.0, -1.0]), gauss_cov),
        "mixture-1d": (mix1, *_mixture_moments(mix1)),
        "mixture-2d": (mix2, *_mixture_moments(mix2)),
        "mixture-3d": (mix3, *_mixture_moments(mix3)),
        "kde": (kde, data.mean(axis=0), kde_cov),
        "uniform": (
            Uniform(lower=[0.0, -1.0], upper=[2.0, 3.0]),
            np.array([1.0, 1.0]),
            np.diag([4.0 / 12.0, 16.0 / 12.0]),
        ),
    }


@pytest.mark.parametrize("case", list(_sampling_cases()))
def test_sample_moments(case: str) -> None:
    rho, mean, cov = _sampling_cases()[case]
    samples = rho.sample(200_000, rng=np.random.default_rng(11))
    assert samples.shape == (200_000, rho.dim)
    _assert_moments(samples, mean, cov)


@pytest.mark.parametrize("case", list(_sampling_cases()))
def test_sample_seeding_is_reproducible(case: str) -> None:
    rho = _sampling_cases()[case][0]
    np.testing.assert_array_equal(rho.sample(100, rng=3), rho.sample(100, rng=3))
    np.testing.assert_array_equal(
        rho.sample(100, rng=np.random.default_rng(3)), rho.sample(100, rng=3)
    )
    assert not np.array_equal(rho.sample(100, rng=3), rho.sample(100, rng=4))
    assert rho.sample(0, rng=3).shape == (0, rho.dim)


def test_uniform_samples_stay_in_the_box() -> None:
    rho = Uniform(lower=[0.0, -1.0], upper=[2.0, 3.0])
    x = rho.sample(10_000, rng=0)
    assert np.all(rho.log_pdf(x) == -math.log(8.0))


# ------------------------------------------------------------------------------------------
# KDE
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("d", [1, 2])
@pytest.mark.parametrize("method", ["scott", "silverman"])
def test_kde_matches_scipy(d: int, method: str) -> None:
    rng = np.random.default_rng(30 + d)
    data = rng.normal(size=(300, d)) @ (np.eye(d) + 0.4 * np.tri(d, k=-1))
    x = 2.0 * rng.normal(size=(200, d))
    kde = KDE(data, bandwidth=method)
    ref = st.gaussian_kde(data.T, bw_method=method)
    np.testing.assert_allclose(kde.bandwidth_matrix, ref.covariance, rtol=1e-14)
    # identical sums of exponentials evaluated in different orders: ~1e-14 apart.
    np.testing.assert_allclose(kde.pdf(x), ref.pdf(x.T), rtol=1e-12)
    np.testing.assert_allclose(kde.log_pdf(x), ref.logpdf(x.T), rtol=1e-12)


def test_kde_scalar_bandwidth_1d_matches_scipy() -> None:
    data = np.random.default_rng(40).normal(size=200)
    h = 0.3
    kde = KDE(data, bandwidth=h)  # H = h², whereas scipy's scalar multiplies the std
    ref = st.gaussian_kde(data, bw_method=h / data.std(ddof=1))
    x = np.linspace(-4.0, 4.0, 101)
    np.testing.assert_allclose(kde.bandwidth_matrix, [[h * h]], rtol=1e-15)
    np.testing.assert_allclose(kde.pdf(x), ref.pdf(x), rtol=1e-12)


def test_kde_scalar_and_matrix_bandwidth_2d() -> None:
    rng = np.random.default_rng(41)
    data = rng.normal(size=(150, 2)) * [1.0, 2.0]
    x = rng.normal(size=(80, 2)) * 2.0
    h = 0.4
    direct = np.mean([st.multivariate_normal(s, h * h * np.eye(2)).pdf(x) for s in data], axis=0)
    np.testing.assert_allclose(KDE(data, bandwidth=h).pdf(x), direct, rtol=1e-12)
    factor = 0.5
    ref = st.gaussian_kde(data.T, bw_method=factor)
    kde = KDE(data, bandwidth=factor**2 * np.cov(data, rowvar=False))
    np.testing.assert_allclose(kde.pdf(x), ref.pdf(x.T), rtol=1e-12)


def test_kde_equals_equal_weight_mixture_and_its_gradient() -> None:
    rng = np.random.default_rng(42)
    data = rng.normal(size=(40, 2))
    kde = KDE(data)
    mix = GaussianMixture(means=data, covs=np.repeat(kde.bandwidth_matrix[None], 40, axis=0))
    x = np.vstack([rng.normal(size=(30, 2)) * 2.0, [[1e3, -1e3], [40.0, 0.0]]])
    # the same log-sum-exp, with the whitening shared (KDE) or per component (mixture).
    np.testing.assert_allclose(kde.log_pdf(x), mix.log_pdf(x), rtol=1e-12)
    expected = mix.grad_log_pdf(x)
    np.testing.assert_allclose(
        kde.grad_log_pdf(x), expected, rtol=1e-12, atol=1e-12 * np.abs(expected).max()
    )
    assert np.all(np.isfinite(kde.grad_log_pdf(x)))


def test_kde_chunking_does_not_change_results(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(43)
    kde = KDE(rng.normal(size=(64, 2)))
    x = rng.normal(size=(50, 2))
    log_pdf, grad = kde.log_pdf(x), kde.grad_log_pdf(x)
    monkeypatch.setattr(densities, "_KDE_CHUNK_BYTES", 8 * 64 * 4 * 7)  # 7 points per chunk
    # rows are computed independently; only BLAS blocking could differ: ~1 ulp.
    np.testing.assert_allclose(kde.log_pdf(x), log_pdf, rtol=1e-15)
    np.testing.assert_allclose(kde.grad_log_pdf(x), grad, rtol=1e-14, atol=1e-15)


# ------------------------------------------------------------------------------------------
# Uniform
# ------------------------------------------------------------------------------------------


def test_uniform_pdf_inside_outside_and_boundary() -> None:
    rho = Uniform(lower=[0.0, -1.0], upper=[2.0, 3.0])
    x = np.array([[1.0, 0.0], [0.0, -1.0], [2.0, 3.0], [2.0 + 1e-12, 0.0], [1.0, -5.0]])
    # pdf = exp(−log 8), within an ulp of 1/8; outside it is exactly 0.
    np.testing.assert_allclose(rho.pdf(x), [0.125, 0.125, 0.125, 0.0, 0.0], rtol=1e-15, atol=0)
    np.testing.assert_array_equal(rho.log_pdf(x)[3:], [-np.inf, -np.inf])
    np.testing.assert_array_equal(rho.grad_log_pdf(x), np.zeros((5, 2)))
    assert rho.volume == 8.0


def test_uniform_integrates_to_one() -> None:
    rho1 = Uniform(lower=[-1.0], upper=[0.5])
    total, _ = scipy.integrate.quad(lambda t: rho1.pdf([t])[0], -5.0, 5.0, points=[-1.0, 0.5])
    assert total == pytest.approx(1.0, abs=1e-12)  # piecewise constant: exact up to rounding
    rho2 = Uniform(lower=[0.0, -1.0], upper=[2.0, 3.0])
    total2, _ = scipy.integrate.nquad(
        lambda a, b: rho2.pdf([[a, b]])[0],
        [[-1.0, 3.0], [-2.0, 4.0]],
        opts=[{"points": [0.0, 2.0]}, {"points": [-1.0, 3.0]}],
    )
    assert total2 == pytest.approx(1.0, abs=1e-10)


# ------------------------------------------------------------------------------------------
# MeshDensity
# ------------------------------------------------------------------------------------------

LINE = skfem.MeshLine(np.linspace(-8.0, 8.0, 801))  # h = 0.02
TRI = skfem.MeshTri.init_tensor(np.linspace(-6.0, 6.0, 61), np.linspace(-6.0, 6.0, 61))  # h = 0.2
STD_NORMAL = {1: Gaussian(mean=[0.0], cov=[[1.0]]), 2: Gaussian(mean=[0.0, 0.0], cov=np.eye(2))}
ELEMENTS = {
    ("line", "P1"): (LINE, skfem.ElementLineP1),
    ("line", "P2"): (LINE, skfem.ElementLineP2),
    ("tri", "P1"): (TRI, skfem.ElementTriP1),
    ("tri", "P2"): (TRI, skfem.ElementTriP2),
}
# mass of N(0, I) on [-8, 8] and [-6, 6]²
TRUNCATED_MASS = {1: math.erf(8.0 / math.sqrt(2.0)), 2: math.erf(6.0 / math.sqrt(2.0)) ** 2}


def _interior_points(dim: int, n: int, seed: int) -> np.ndarray:
    half = 7.9 if dim == 1 else 5.9
    return np.random.default_rng(seed).uniform(-half, half, size=(n, dim))


def _fe_moments(rho: MeshDensity) -> tuple[np.ndarray, np.ndarray]:
    """Exact mean and covariance of the FE density (quadrature of degree 6 ≥ deg u + 2)."""
    basis = skfem.Basis(rho.mesh, rho.basis.elem, intorder=6)
    u = basis.interpolate(rho.values)
    d = rho.dim
    mass = skfem.Functional(lambda w: w["u"]).assemble(basis, u=u)
    mean = np.array(
        [skfem.Functional(lambda w, i=i: w["u"] * w.x[i]).assemble(basis, u=u) for i in range(d)]
    )
    mean /= mass
    cov = np.array(
        [
            [
                skfem.Functional(
                    lambda w, i=i, j=j: w["u"] * (w.x[i] - mean[i]) * (w.x[j] - mean[j])
                ).assemble(basis, u=u)
                for j in range(d)
            ]
            for i in range(d)
        ]
    )
    return mean, cov / mass


@pytest.mark.parametrize("key", list(ELEMENTS))
def test_mesh_density_mass(key: tuple[str, str]) -> None:
    mesh, elem = ELEMENTS[key]
    basis = skfem.Basis(mesh, elem())
    d = mesh.dim()
    raw = MeshDensity.from_density(STD_NORMAL[d], basis, normalize=False)
    # the normalize=False contract (1e-8); the interpolant's quadrature is super-convergent
    # on these uniform meshes (observed <= 5e-10).
    assert raw.mass == pytest.approx(TRUNCATED_MASS[d], abs=1e-8)
    normed = MeshDensity.from_density(STD_NORMAL[d], basis)
    assert normed.mass == pytest.approx(1.0, abs=1e-12)  # one division + one quadrature
    np.testing.assert_allclose(normed.values, raw.values / raw.mass, rtol=1e-15)
    assert normed.basis is basis
    assert normed.mesh is mesh


def _max_interpolation_error(n_nodes: int, elem: type, x: np.ndarray) -> float:
    basis = skfem.Basis(skfem.MeshLine(np.linspace(-8.0, 8.0, n_nodes)), elem())
    rho = MeshDensity.from_density(STD_NORMAL[1], basis, normalize=False)
    return float(np.max(np.abs(rho.pdf(x) - STD_NORMAL[1].pdf(x))))


def test_mesh_density_p1_interpolation_error_bound_1d() -> None:
    x = _interior_points(1, 2000, 50)
    h = 16.0 / 800
    # |u − I_h u| ≤ h²/8 · max|u''|, and max|φ''| = max φ(x)|x² − 1| = φ(0) = 1/√(2π).
    bound = h**2 / 8.0 / math.sqrt(2.0 * math.pi)
    assert _max_interpolation_error(801, skfem.ElementLineP1, x) <= bound


def test_mesh_density_p2_interpolation_error_bound_1d() -> None:
    x = _interior_points(1, 2000, 51)
    h = 16.0 / 200
    t = np.linspace(0.0, 4.0, 400_001)
    third = np.max(np.abs(t**3 - 3.0 * t) * np.exp(-0.5 * t * t)) / math.sqrt(2.0 * math.pi)
    # |u − I_h u| ≤ max|u'''|/6 · max|(x−a)(x−a−h/2)(x−a−h)| = max|u'''|/6 · h³/(12√3);
    # max|φ'''| is taken on a grid of step 1e-5 (relative error ~1e-10, 1% margin for it).
    bound = 1.01 * third / 6.0 * h**3 / (12.0 * math.sqrt(3.0))
    assert _max_interpolation_error(201, skfem.ElementLineP2, x) <= bound


@pytest.mark.parametrize(("elem", "order"), [(skfem.ElementLineP1, 2), (skfem.ElementLineP2, 3)])
def test_mesh_density_interpolation_convergence_order_1d(elem: type, order: int) -> None:
    x = _interior_points(1, 2000, 52)
    coarse = _max_interpolation_error(201, elem, x)
    fine = _max_interpolation_error(401, elem, x)
    # halving h divides the error by 2^order (4 for P1, 8 for P2); allow 25% slack for the
    # max over random points not sampling the same relative position in each cell.
    assert coarse / fine > 0.75 * 2**order


def test_mesh_density_p1_interpolation_error_bound_2d() -> None:
    basis = skfem.Basis(TRI, skfem.ElementTriP1())
    rho = MeshDensity.from_density(STD_NORMAL[2], basis, normalize=False)
    x = _interior_points(2, 4000, 53)
    err = np.abs(rho.pdf(x) - STD_NORMAL[2].pdf(x)).max()
    # on a triangle, |u − I_h u| ≤ ½ R² max‖D²u‖ (R the circumradius, R² = h²/2 for the
    # right triangles of init_tensor) and max‖D²φ‖ = φ(0) = 1/(2π).
    h = 0.2
    assert err <= 0.5 * (h * h / 2.0) / (2.0 * math.pi)


def test_mesh_density_gradient_bounds() -> None:
    x1 = _interior_points(1, 2000, 54)
    rho1 = MeshDensity.from_density(
        STD_NORMAL[1], skfem.Basis(LINE, skfem.ElementLineP1()), normalize=False
    )
    grad_u = rho1.grad_log_pdf(x1) * rho1.pdf(x1)[:, None]
    exact = -x1 * STD_NORMAL[1].pdf(x1)[:, None]
    # the P1 slope is u'(ξ) for some ξ in the cell: error ≤ h · max|u''| = h/√(2π).
    assert np.abs(grad_u - exact).max() <= 0.02 / math.sqrt(2.0 * math.pi)

    x2 = _interior_points(2, 2000, 55)
    rho2 = MeshDensity.from_density(
        STD_NORMAL[2], skfem.Basis(TRI, skfem.ElementTriP1()), normalize=False
    )
    grad_u2 = rho2.grad_log_pdf(x2) * rho2.pdf(x2)[:, None]
    exact2 = -x2 * STD_NORMAL[2].pdf(x2)[:, None]
    # each component of the P1 gradient on an axis-aligned right triangle is a difference
    # quotient ∂_i u(ξ) along a leg: error ≤ √2 h max‖D²u‖ per component, 2h·max‖D²u‖ in norm.
    assert np.linalg.norm(grad_u2 - exact2, axis=1).max() <= 2.0 * 0.2 / (2.0 * math.pi)


@pytest.mark.parametrize("key", [("line", "P2"), ("tri", "P2")])
def test_mesh_density_gradient_is_the_fe_gradient(key: tuple[str, str]) -> None:
    mesh, elem = ELEMENTS[key]
    rho = MeshDensity.from_density(STD_NORMAL[mesh.dim()], skfem.Basis(mesh, elem()))
    x = _interior_points(mesh.dim(), 200, 56)
    h = 1e-7
    fd = _fd_grad(rho.pdf, x, h=h)
    grad_u = rho.grad_log_pdf(x) * rho.pdf(x)[:, None]
    # u is a quadratic polynomial within a cell (the 1e-7 stencil leaves a cell with
    # probability ~1e-5 per point), so the truncation error is 0 and only round-off remains.
    scale = rho.values.max() + np.abs(x) * np.abs(grad_u)
    assert np.all(np.abs(fd - grad_u) <= _fd_tolerance(0.0, scale, h=h))


@pytest.mark.parametrize("key", list(ELEMENTS))
def test_mesh_density_outside_points(key: tuple[str, str]) -> None:
    mesh, elem = ELEMENTS[key]
    rho = MeshDensity.from_density(STD_NORMAL[mesh.dim()], skfem.Basis(mesh, elem()))
    if mesh.dim() == 1:
        outside = np.array([[-8.5], [8.0 + 1e-6], [1e6]])
        boundary = np.array([[-8.0], [8.0], [0.0]])
    else:
        outside = np.array([[6.5, 0.0], [0.0, -7.0], [100.0, 100.0]])
        boundary = np.array([[-6.0, 0.0], [6.0, 6.0], [0.0, 0.0]])
    np.testing.assert_array_equal(rho.pdf(outside), 0.0)
    np.testing.assert_array_equal(rho.log_pdf(outside), -np.inf)
    np.testing.assert_array_equal(rho.grad_log_pdf(outside), 0.0)
    assert np.all(rho.pdf(boundary) > 0.0)  # points on the boundary are inside
    mixed = np.vstack([outside, boundary])
    np.testing.assert_array_equal(rho.pdf(mixed), np.concatenate([[0.0] * 3, rho.pdf(boundary)]))


@pytest.mark.parametrize("key", [("line", "P1"), ("line", "P2"), ("tri", "P1"), ("tri", "P2")])
def test_mesh_density_sample_moments(key: tuple[str, str]) -> None:
    mesh, elem = ELEMENTS[key]
    rho = MeshDensity.from_density(STD_NORMAL[mesh.dim()], skfem.Basis(mesh, elem()))
    samples = rho.sample(200_000, rng=12)
    assert samples.shape == (200_000, mesh.dim())
    assert np.all(rho.pdf(samples) > 0.0)
    _assert_moments(samples, *_fe_moments(rho))
    np.testing.assert_array_equal(rho.sample(50, rng=5), rho.sample(50, rng=5))


def test_mesh_density_on_quadrilaterals() -> None:
    # isoparametric (bilinear) mapping: sampling weighs proposals by |det DF|.
    mesh = skfem.MeshQuad.init_tensor(np.linspace(-6.0, 6.0, 25), np.linspace(-6.0, 6.0, 25))
    rho = MeshDensity.from_density(STD_NORMAL[2], skfem.Basis(mesh, skfem.ElementQuad2()))
    x = np.array([[0.3, -1.2], [7.0, 0.0]])
    np.testing.assert_allclose(rho.pdf(x[:1]), STD_NORMAL[2].pdf(x[:1]), rtol=1e-3)
    assert rho.pdf(x)[1] == 0.0
    _assert_moments(rho.sample(100_000, rng=13), *_fe_moments(rho))


def test_mesh_density_sampling_detects_a_too_small_envelope(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rho = MeshDensity.from_density(STD_NORMAL[1], skfem.Basis(LINE, skfem.ElementLineP1()))
    monkeypatch.setattr(densities, "_ENVELOPE_SAFETY", 0.5)
    with pytest.raises(NumericalBreakdownError, match="envelope is exceeded"):
        rho.sample(1000, rng=0)


def test_mesh_density_clips_round_off_negatives() -> None:
    basis = skfem.Basis(LINE, skfem.ElementLineP1())
    values = STD_NORMAL[1].pdf(basis.doflocs.T)
    values[0] = -1e-14 * values.max()
    rho = MeshDensity(basis, values, normalize=True)
    assert rho.values[0] == 0.0
    with pytest.raises(ValueError, match="read-only"):
        rho.values[1] = 1.0


# ------------------------------------------------------------------------------------------
# bad input
# ------------------------------------------------------------------------------------------


def test_gaussian_rejects_non_spd_covariance() -> None:
    with pytest.raises(InvalidDensityError, match=r"not symmetric positive definite.*-1\.0"):
        Gaussian(mean=[0.0, 0.0], cov=[[1.0, 2.0], [2.0, 1.0]])


def test_gaussian_rejects_non_symmetric_covariance() -> None:
    with pytest.raises(InvalidDensityError, match=r"cov must be symmetric"):
        Gaussian(mean=[0.0, 0.0], cov=[[1.0, 0.5], [0.0, 1.0]])


def test_gaussian_rejects_shape_mismatch() -> None:
    with pytest.raises(
        InvalidInputError, match=r"cov must have shape \(2, 2\); got shape \(1, 1\)"
    ):
        Gaussian(mean=[0.0, 0.0], cov=[[1.0]])


def test_gaussian_rejects_a_flat_covariance_in_2d() -> None:
    # A scalar cov is s2 * I (issue 21); a flat (d,) cov for d > 1 is still refused.
    with pytest.raises(InvalidInputError, match=r"cov must have shape \(2, 2\).*np\.diag"):
        Gaussian(mean=[0.0, 0.0], cov=[1.0, 2.0])


def test_gaussian_rejects_nan_parameters() -> None:
    with pytest.raises(InvalidDensityError, match=r"mean must be finite; mean\[1\] = nan"):
        Gaussian(mean=[0.0, np.nan], cov=np.eye(2))


def test_mixture_rejects_negative_std() -> None:
    with pytest.raises(InvalidDensityError, match=r"stds must be positive.*-1\.0"):
        GaussianMixture(means=[[0.0], [1.0]], stds=[1.0, -1.0])


def test_mixture_rejects_weights_not_summing_to_one() -> None:
    with pytest.raises(InvalidDensityError, match=r"sum to 1.*sum\s+to 1\.1"):
        GaussianMixture(means=[[0.0], [1.0]], stds=[1.0, 1.0], weights=[0.5, 0.6])


def test_mixture_rejects_negative_weight() -> None:
    with pytest.raises(InvalidDensityError, match=r"weights must be non-negative.*-0\.5"):
        GaussianMixture(means=[[0.0], [1.0]], stds=[1.0, 1.0], weights=[1.5, -0.5])


def test_mixture_rejects_both_stds_and_covs() -> None:
    with pytest.raises(InvalidInputError, match="exactly one of stds and covs.*both"):
        GaussianMixture(means=[[0.0]], stds=[1.0], covs=[[[1.0]]])


def test_mixture_rejects_neither_stds_nor_covs() -> None:
    with pytest.raises(InvalidInputError, match="exactly one of stds and covs.*neither"):
        GaussianMixture(means=[[0.0]])


def test_mixture_rejects_covs_shape_mismatch() -> None:
    with pytest.raises(
        InvalidInputError, match=r"covs must have shape \(2, 2, 2\); got shape \(2, 3, 3\)"
    ):
        GaussianMixture(means=[[0.0, 0.0], [1.0, 1.0]], covs=np.stack([np.eye(3)] * 2))


def test_mixture_rejects_stds_shape_mismatch() -> None:
    with pytest.raises(InvalidInputError, match=r"stds must have shape \(2,\); got shape \(3,\)"):
        GaussianMixture(means=[[0.0], [1.0]], stds=[1.0, 1.0, 1.0])


def test_mixture_rejects_non_spd_component() -> None:
    with pytest.raises(InvalidDensityError, match=r"covs\[1\] is not symmetric positive"):
        GaussianMixture(means=[[0.0], [1.0]], covs=[[[1.0]], [[-1.0]]])


def test_rejects_x_with_wrong_dimension() -> None:
    rho = Gaussian(mean=[0.0, 0.0], cov=np.eye(2))
    with pytest.raises(InvalidInputError, match=r"x must have shape \(n, 2\); got shape \(5, 3\)"):
        rho.log_pdf(np.zeros((5, 3)))


def test_rejects_single_point_without_batch_axis() -> None:
    rho = GaussianMixture(means=[[0.0, 0.0]], stds=[1.0])
    with pytest.raises(InvalidInputError, match=r"shape \(n, 2\); got shape \(2,\).*x\[None, :\]"):
        rho.grad_log_pdf(np.zeros(2))


def test_rejects_nan_in_x() -> None:
    rho = GaussianMixture(means=[[0.0], [1.0]], stds=[1.0, 1.0])
    with pytest.raises(InvalidInputError, match=r"x must be finite; row 1 is \[nan\]"):
        rho.log_pdf([[0.0], [np.nan]])


def test_rejects_inf_in_x_for_every_density() -> None:
    basis = skfem.Basis(LINE, skfem.ElementLineP1())
    for rho in (
        Gaussian(mean=[0.0], cov=[[1.0]]),
        KDE([[0.0], [1.0]]),
        Uniform(lower=[0.0], upper=[1.0]),
        MeshDensity.from_density(STD_NORMAL[1], basis),
    ):
        with pytest.raises(InvalidInputError, match="x must be finite"):
            rho.pdf([[np.inf]])


def test_uniform_rejects_lower_not_below_upper() -> None:
    with pytest.raises(InvalidDensityError, match=r"coordinate 1 has lower=2\.0 >= upper=2\.0"):
        Uniform(lower=[0.0, 2.0], upper=[1.0, 2.0])


def test_uniform_rejects_shape_mismatch() -> None:
    with pytest.raises(InvalidInputError, match=r"upper must have shape \(2,\)"):
        Uniform(lower=[0.0, 0.0], upper=[1.0])


def test_kde_rejects_single_sample() -> None:
    with pytest.raises(InvalidInputError, match=r"n >= 2.*got shape \(1, 2\)"):
        KDE([[0.0, 1.0]])


def test_kde_rejects_singular_sample_covariance() -> None:
    collinear = np.column_stack([np.arange(5.0), 2.0 * np.arange(5.0)])
    with pytest.raises(InvalidDensityError, match="non-singular sample covariance"):
        KDE(collinear)


def test_kde_rejects_bad_bandwidths() -> None:
    data = np.random.default_rng(0).normal(size=(10, 2))
    with pytest.raises(InvalidInputError, match="bandwidth must be 'scott', 'silverman'"):
        KDE(data, bandwidth="scot")
    with pytest.raises(InvalidDensityError, match="positive finite float; got -0.1"):
        KDE(data, bandwidth=-0.1)
    with pytest.raises(InvalidInputError, match=r"bandwidth must have shape \(2, 2\)"):
        KDE(data, bandwidth=np.eye(3))


def test_sample_rejects_bad_count_and_rng() -> None:
    rho = Gaussian(mean=[0.0], cov=[[1.0]])
    with pytest.raises(InvalidInputError, match="n must be a non-negative int; got -1"):
        rho.sample(-1)
    with pytest.raises(InvalidInputError, match="n must be a non-negative int; got 2.5"):
        rho.sample(2.5)
    with pytest.raises(InvalidInputError, match="rng must be a numpy.random.Generator"):
        rho.sample(2, rng="seed")


def test_mesh_density_rejects_negative_values() -> None:
    basis = skfem.Basis(LINE, skfem.ElementLineP1())
    values = STD_NORMAL[1].pdf(basis.doflocs.T)
    values[400] = -0.01
    with pytest.raises(
        InvalidDensityError, match=r"most negative is values\[400\] = -0\.01 at \[0"
    ):
        MeshDensity(basis, values, normalize=True)


def test_mesh_density_rejects_zero_mass() -> None:
    basis = skfem.Basis(LINE, skfem.ElementLineP1())
    with pytest.raises(InvalidDensityError, match="must be positive and finite; got 0.0"):
        MeshDensity(basis, np.zeros(basis.N), normalize=True)


def test_mesh_density_rejects_wrong_length() -> None:
    basis = skfem.Basis(LINE, skfem.ElementLineP1())
    with pytest.raises(
        InvalidInputError, match=r"values must have shape \(801,\); got shape \(800,"
    ):
        MeshDensity(basis, np.ones(800), normalize=True)


def test_mesh_density_rejects_nan_values() -> None:
    basis = skfem.Basis(LINE, skfem.ElementLineP1())
    values = np.ones(basis.N)
    values[3] = np.nan
    with pytest.raises(InvalidDensityError, match=r"values must be finite; values\[3\] = nan at"):
        MeshDensity(basis, values, normalize=True)


def test_mesh_density_rejects_mass_not_one_without_normalize() -> None:
    basis = skfem.Basis(LINE, skfem.ElementLineP1())
    with pytest.raises(InvalidDensityError, match=r"mass is 16\.0.*normalize=True"):
        MeshDensity(basis, np.ones(basis.N))


def test_mesh_density_rejects_non_basis_and_dimension_mismatch() -> None:
    with pytest.raises(InvalidInputError, match="basis must be a scikit-fem CellBasis"):
        MeshDensity(LINE, np.ones(801))
    with pytest.raises(InvalidInputError, match="density.dim = 2 does not match"):
        MeshDensity.from_density(STD_NORMAL[2], skfem.Basis(LINE, skfem.ElementLineP1()))


@pytest.mark.parametrize("element", [skfem.ElementTriP1, skfem.ElementTriP2])
def test_mesh_density_mass_is_the_exact_integral_of_the_interpolant(element: type) -> None:
    # The mass is b·u with b_i = ∫φ_i cached per basis.  Reference independent of it: the
    # exact integral of a P1/P2 function over a triangle of area A is A·mean(vertex values)
    # for P1 and A·mean(mid-edge values) for P2 (the vertex weights of P2 are 0), summed
    # over the cells; both are exact, so they agree to round-off (a sum of ~1e3 positive
    # terms: 1e-14 relative is 50 ε).
    mesh = skfem.MeshTri.init_tensor(np.linspace(-1.0, 2.0, 13), np.linspace(0.0, 1.5, 9))
    basis = skfem.Basis(mesh, element())
    values = np.random.default_rng(7).uniform(0.1, 3.0, basis.N)
    corners = mesh.p[:, mesh.t]
    area = 0.5 * np.abs(
        (corners[0, 1] - corners[0, 0]) * (corners[1, 2] - corners[1, 0])
        - (corners[0, 2] - corners[0, 0]) * (corners[1, 1] - corners[1, 0])
    )
    if element is skfem.ElementTriP1:
        exact = float(np.sum(area * values[mesh.t].mean(axis=0)))
    else:
        exact = float(np.sum(area * values[basis.element_dofs[3:]].mean(axis=0)))
    # values / exact has mass 1 by the independent rule: accepted without normalising,
    # and its computed mass is 1 to round-off
    assert MeshDensity(basis, values / exact).mass == pytest.approx(1.0, rel=1e-14)
    rho = MeshDensity(basis, values, normalize=True)
    # negative control: the P1 rule applied to P2 values (vertex means) is not the integral
    if element is skfem.ElementTriP2:
        wrong = float(np.sum(area * values[mesh.t].mean(axis=0)))
        assert abs(wrong - exact) > 1e-3 * exact
    # the normalised density integrates to 1 by the same independent rule
    vals = rho.values
    again = (
        np.sum(area * vals[mesh.t].mean(axis=0))
        if element is skfem.ElementTriP1
        else np.sum(area * vals[basis.element_dofs[3:]].mean(axis=0))
    )
    assert again == pytest.approx(1.0, rel=1e-14)
