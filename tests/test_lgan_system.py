"""Tests of the mixed FEM lGAN system and its integrators (paper 004, (6), (16)–(29))."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest
import scipy.linalg
import scipy.optimize
import scipy.sparse.linalg as spla
import skfem
from hypothesis import given, settings
from hypothesis import strategies as st

import gan_pde as gp
from gan_pde.errors import InvalidInputError, NumericalBreakdownError
from gan_pde.spectral import (
    lgan,
    lgan_assembly,
    lgan_experiments,
    lgan_integrate,
    lgan_modes,
    lgan_system,
)
from gan_pde.spectral.lgan_system import LGANSystem, integrate, mixture_experiment

GAUSSIAN_1D = gp.Gaussian(mean=[0.0], cov=[[1.0]])
GAUSSIAN_2D = gp.Gaussian(mean=[0.0, 0.0], cov=[[1.0, 0.0], [0.0, 1.0]])
MIXTURE_1D = gp.GaussianMixture(means=[[0.0], [3.0]], stds=[1.0, 1.0], weights=[0.5, 0.5])


def _mesh(kind: str) -> skfem.Mesh:
    if kind == "1d":
        return gp.mesh.interval(-6.0, 6.0, n=30)
    return gp.mesh.rectangle((-4.0, 4.0), (-4.0, 4.0), n=(6, 6) if kind == "2d" else (4, 4))


def _perturbed_interval(n: int, seed: int = 1) -> skfem.MeshLine1:
    """[−5, 5] with jittered nodes: the largest ξ_h is simple and separated from the next,
    so the dominant mode of an unstable scheme takes over within a few hundred steps."""
    x = np.linspace(-5.0, 5.0, n + 1)
    x[1:-1] += np.random.default_rng(seed).uniform(-0.3, 0.3, n - 1) * (x[1] - x[0])
    return skfem.MeshLine(x)


def _normalised_operator(system: LGANSystem) -> np.ndarray:
    """C⁻¹ L̃ C⁻ᵀ with M̃_w = CCᵀ: the operator in an M̃_w-orthonormal basis."""
    factor = np.linalg.cholesky(system.mass.toarray())
    left = scipy.linalg.solve_triangular(factor, system.operator.toarray(), lower=True)
    return scipy.linalg.solve_triangular(factor, left.T, lower=True).T


def _split_kernel(system: LGANSystem, lam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(np.abs(lam))
    n_kernel = system.kernel_dimension()
    return lam[order[:n_kernel]], lam[order[n_kernel:]]


def _matched_relative_errors(computed: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """Relative errors of the best one-to-one matching of two multisets."""
    cost = np.abs(computed[:, None] - predicted[None, :]) / np.abs(predicted)[None, :]
    rows, cols = scipy.optimize.linear_sum_assignment(cost)
    return cost[rows, cols]


def _late_ratio(trajectory: lgan_system.LGANTrajectory) -> float:
    return float(trajectory.norm[-1] / trajectory.norm[-2])


# --- item 1: the discrete spectrum is Theorems 2–3 exactly ------------------------------


@pytest.mark.parametrize(
    ("kind", "element"), [("1d", "P1"), ("1d", "P2"), ("2d", "P1"), ("2d-coarse", "P2")]
)
@pytest.mark.parametrize(("alpha", "beta", "gamma"), [(0.3, -1.0, 0.2), (0.0, 2.0, 0.0)])
def test_stable_pair_eigenvalues_are_the_roots_for_every_discrete_xi(
    kind, element, alpha, beta, gamma
):
    density = GAUSSIAN_1D if kind == "1d" else GAUSSIAN_2D
    system = LGANSystem(density, _mesh(kind), alpha=alpha, beta=beta, gamma=gamma, element=element)
    lam = system.eigenvalues()
    assert lam.size == system.n_u + system.n_v
    kernel, rest = _split_kernel(system, lam)
    predicted = system.predicted_eigenvalues()
    assert rest.size == predicted.size
    # The identity K̃ = B̃ᵀ M̃_v⁻¹ B̃ behind it holds to round-off.
    projected = system.coupling.T @ spla.splu(system.v_mass.tocsc()).solve(
        system.coupling.toarray()
    )
    stiffness = system.stiffness.toarray()
    assert np.abs(projected - stiffness).max() <= 1e-13 * np.abs(stiffness).max()
    # Backward-stable eig: |δλ| ≲ κ·eps·‖Â‖ with ‖Â‖ ≤ ~1e2 on these meshes and moderate
    # eigenvector conditioning (no ξ_h near critical damping), against |λ| ≥ 0.15: the
    # relative errors are ~1e-14, so 1e-10 is the bound with a wide margin.
    assert _matched_relative_errors(rest, predicted).max() <= 1e-10
    # The kernel: exact zeros up to eps·‖Â‖.
    scale = np.abs(_normalised_operator(system)).max()
    assert np.all(np.abs(kernel) <= 1e-12 * scale)


@pytest.mark.parametrize(
    ("kind", "element"), [("1d", "P1"), ("1d", "P2"), ("2d", "P1"), ("2d-coarse", "P2")]
)
@pytest.mark.parametrize("alpha", [0.0, 0.5])
def test_kernel_dimension_formula_matches_the_dense_rank(kind, element, alpha):
    density = GAUSSIAN_1D if kind == "1d" else GAUSSIAN_2D
    system = LGANSystem(density, _mesh(kind), alpha=alpha, beta=-1.0, gamma=0.3, element=element)
    expected = system.n_v - system.n_u + 1 + (alpha == 0.0)
    assert system.kernel_dimension() == expected
    singular = scipy.linalg.svdvals(_normalised_operator(system))
    nullity = int(np.sum(singular <= 1e-10 * singular[0]))
    assert nullity == expected
    # A clear gap: the null singular values are ~1e-16 of the largest, the others ≥ ~1e-3.
    assert singular[singular.size - nullity - 1] > 1e-6 * singular[0]
    if kind == "1d":  # no divergence-free velocity in 1D: only the constants (α = 0)
        assert expected == (alpha == 0.0)


def test_kernel_is_the_divergence_free_velocities():
    system = LGANSystem(GAUSSIAN_2D, _mesh("2d"), alpha=0.5, beta=-1.0, gamma=0.3)
    null = scipy.linalg.null_space(system.coupling.T.toarray())  # B̃ᵀ v = 0, discrete (10)
    assert null.shape[1] == system.kernel_dimension()
    states = np.vstack([np.zeros((system.n_u, null.shape[1])), null])
    assert np.abs(system.operator @ states).max() <= 1e-13


def test_equal_order_pair_has_spurious_modes():
    for kind, density in (("1d", GAUSSIAN_1D), ("2d", GAUSSIAN_2D)):
        system = LGANSystem(
            density, _mesh(kind), alpha=0.3, beta=-1.0, gamma=0.2, pair="equal-order"
        )
        # The coupling sees projected gradients: B̃ᵀ M̃_v⁻¹ B̃ is not K̃.
        projected = system.coupling.T @ spla.splu(system.v_mass.tocsc()).solve(
            system.coupling.toarray()
        )
        assert (
            np.abs(projected - system.stiffness.toarray()).max()
            > 0.1 * np.abs(system.stiffness.toarray()).max()
        )
        _, rest = _split_kernel(system, system.eigenvalues())
        roots = system.predicted_eigenvalues()
        distance = np.min(np.abs(rest[:, None] - roots[None, :]), axis=1) / np.abs(rest)
        # Many eigenvalues are 10% or more away from every root for every ξ_h, while the
        # stable pair matches to 1e-14.
        assert np.sum(distance > 0.1) >= 5


def test_equal_order_decay_rate_collapses_under_refinement():
    # Checkerboard-like u, whose gradient the continuous v-space hardly sees
    # (uᵀK_Πu ≪ uᵀKu), give real modes λ ≈ −β²ζ/(α + γξ) that are ever slower as h → 0:
    # the equal-order η_h is O(h²) instead of Theorem 4's Re λ+(ξ = 1) = −(α + γ)/2 = −0.25.
    rates = {}
    for pair in ("stable", "equal-order"):
        for n in (30, 60):
            system = LGANSystem(
                GAUSSIAN_1D,
                gp.mesh.interval(-6.0, 6.0, n),
                alpha=0.3,
                beta=1.0,
                gamma=0.2,
                pair=pair,
            )
            rates[pair, n] = system.decay_rate()
    # Stable pair: a complex pair at ξ_h,1 = 1 + O(h²), Re λ = −(α + γξ_h,1)/2; the P1
    # error of ξ_1 on these meshes is ≤ 1e-7.
    assert rates["stable", 30] == pytest.approx(-0.25, abs=1e-6)
    assert rates["stable", 60] == pytest.approx(-0.25, abs=1e-6)
    assert rates["equal-order", 30] > -0.21
    assert 0.2 < rates["equal-order", 60] / rates["equal-order", 30] < 0.3  # ~h²


@pytest.mark.parametrize(
    ("density", "kind", "alpha", "beta", "gamma", "sigma"),
    [
        (GAUSSIAN_1D, "1d", 0.3, -1.0, 0.2, 0.0),
        (GAUSSIAN_1D, "1d", 3.0, 1.0, 0.0, -0.5),
        (GAUSSIAN_2D, "2d", 0.0, -1.0, 0.0, 0.5j),
    ],
)
def test_shift_invert_eigenvalues_are_the_nonkernel_ones_nearest_sigma(
    density, kind, alpha, beta, gamma, sigma
):
    system = LGANSystem(density, _mesh(kind), alpha=alpha, beta=beta, gamma=gamma)
    _, rest = _split_kernel(system, system.eigenvalues())
    nearest = rest[np.argsort(np.abs(rest - sigma))[:6]]
    got = system.eigenvalues(k=6, sigma=sigma)
    # ARPACK with tol=1e-12 on the resolvent: eigenvalue errors ~1e-12·|λ − σ|²·‖…‖.
    assert np.min(np.abs(got[:, None] - rest[None, :]), axis=1).max() <= 1e-9 * np.abs(got).max()
    # The six nearest, up to the choice between the two members of a conjugate pair at
    # equal distance from a real σ.
    np.testing.assert_allclose(
        np.sort(np.abs(got - sigma)), np.sort(np.abs(nearest - sigma)), rtol=1e-9
    )


def test_log_scaling_keeps_underflowing_weights_regular():
    # N(0, 0.5²) on [−20, 20]: ρ(±20) = e^{−800} underflows to 0 in double precision.
    density = gp.Gaussian(mean=[0.0], cov=[[0.25]])
    assert density.pdf(np.array([[20.0]]))[0] == 0.0
    system = LGANSystem(density, gp.mesh.interval(-20.0, 20.0, n=80), alpha=1.0, beta=1.0)
    for block in (system.u_mass, system.v_mass, system.operator):
        assert np.all(np.isfinite(block.data))
    # Unscaled, the tail rows of M would be exactly 0; scaled, every diagonal entry is at
    # least ~h·e^{−(oscillation of ln ρ over a cell)} and at most e^{+oscillation}.
    for block in (system.u_mass, system.v_mass):
        assert block.diagonal().min() > 1e-2
    _, rest = _split_kernel(system, system.eigenvalues())
    assert _matched_relative_errors(rest, system.predicted_eigenvalues()).max() <= 1e-10
    u_norm, v_norm = system.norms(system.state(u=lambda x: np.ones(len(x)), v=np.ones_like))
    # ‖1‖_μ² = ∫ρ over the mesh = 1 up to the O(h²) P1 error of ∫ρ·1 by quadrature (exact
    # here: the quadrature of degree 3 is applied to ρ itself, 1e-4 covers it).
    assert u_norm == pytest.approx(1.0, rel=1e-4)
    assert v_norm == pytest.approx(1.0, rel=1e-4)


# --- item 2: time integrators -----------------------------------------------------------


def test_euler_growth_factor_is_the_largest_amplification_wgan():
    system = LGANSystem(GAUSSIAN_1D, _perturbed_interval(20), alpha=0.0, beta=1.0)
    lam = 1j * system.eigenvalues().imag  # WGAN: imaginary; real parts are ~1e-16 round-off
    tau = 0.05
    y0 = np.random.default_rng(0).standard_normal(system.n_u + system.n_v)
    trajectory = integrate(system, y0, tau=tau, steps=1500, scheme="euler")
    # For WGAN, M̃⁻¹L̃ is M̃-skew, so the energy norm of the dominant pair grows by exactly
    # |1 + τλ| per step; the next mode has died out by (1.0773/1.0811)^1500 ≈ 5e-3 and the
    # remaining ratio error is its square, ≤ 1e-6.
    assert _late_ratio(trajectory) == pytest.approx(
        float(lgan.euler_amplification(lam, tau).max()), abs=1e-6
    )
    assert lgan.max_stable_step(lam, method="euler") == 0.0  # no step is stable (29)


def test_euler_blows_up_once_the_mesh_is_fine_enough():
    tau = 0.05
    amplification = []
    for n in (8, 16, 40):
        system = LGANSystem(GAUSSIAN_1D, gp.mesh.interval(-5.0, 5.0, n), alpha=1.0, beta=1.0)
        lam = system.eigenvalues()
        predicted = float(lgan.euler_amplification(lam, tau).max())
        y0 = np.random.default_rng(0).standard_normal(system.n_u + system.n_v)
        trajectory = integrate(system, y0, tau=tau, steps=600, scheme="euler")
        # A complex dominant pair of a non-normal operator: the norm ratio oscillates, so
        # the factor is the geometric mean over 200 steps; a bounded oscillation c gives
        # an error ≤ ln(c)/200, measured ~1e-4.
        measured = (trajectory.norm[-1] / trajectory.norm[-201]) ** (1 / 200)
        assert measured == pytest.approx(predicted, abs=1e-3)
        amplification.append(predicted)
    # |1 + τλ|² = 1 − τα + τ²β²ξ: stable while ξ_max < α/(τβ²) = 20, unstable beyond.
    assert amplification[0] < 1.0 < amplification[1] < amplification[2]


@pytest.mark.parametrize(
    ("method", "amplification"),
    [
        ("euler", lgan.euler_amplification),
        ("heun", lgan.heun_amplification),
        ("rk4", lgan.rk4_amplification),
    ],
)
def test_explicit_step_limits_with_the_real_spectrum_of_range_25(method, amplification):
    mesh = _perturbed_interval(20)
    xi = LGANSystem(GAUSSIAN_1D, mesh, alpha=0.0, beta=1.0).laplacian_eigenvalues()
    best = lgan.optimal_parameters(float(xi[1]), beta=1.0, xi_max=float(xi[-1]))
    system = LGANSystem(GAUSSIAN_1D, mesh, alpha=best.alpha, beta=1.0, gamma=best.gamma)
    lam = system.eigenvalues()
    # Real spectrum {−α, −γξ_h}: imaginary parts only from the double root at ξ_min,
    # split by round-off to ~sqrt(eps)·|λ|.
    assert np.abs(lam.imag).max() <= 1e-6 * np.abs(lam).max()
    limit = lgan.max_stable_step(lam, method=method)
    radius = {"euler": 2.0, "heun": 2.0, "rk4": 2.785293563405282}[method]
    assert limit * np.abs(lam).max() == pytest.approx(radius, rel=1e-9)
    if method == "euler":
        assert limit == pytest.approx(best.max_euler_step, rel=1e-9)
    y0 = np.random.default_rng(0).standard_normal(system.n_u + system.n_v)
    below = integrate(system, y0, tau=0.95 * limit, steps=800, scheme=method)
    assert _late_ratio(below) < 1.0
    assert below.norm[-1] < 1e-3 * below.norm[0]
    above = integrate(system, y0, tau=1.05 * limit, steps=800, scheme=method)
    # The dominant mode −γξ_max is real and simple: the ratio is exactly |R(τλ)|.
    predicted = float(amplification(lam, 1.05 * limit).max())
    assert predicted > 1.0
    assert _late_ratio(above) == pytest.approx(predicted, abs=1e-6)


def test_heun_and_rk4_on_the_wgan_spectrum():
    system = LGANSystem(GAUSSIAN_1D, _perturbed_interval(20), alpha=0.0, beta=1.0)
    lam = 1j * system.eigenvalues().imag  # WGAN: imaginary; real parts are ~1e-16 round-off
    y0 = np.random.default_rng(0).standard_normal(system.n_u + system.n_v)
    # Heun: |R(iy)|² = 1 + y⁴/4 > 1, no stable step; the growth is slow but exact.
    assert lgan.max_stable_step(lam, method="heun") == 0.0
    heun = integrate(system, y0, tau=0.15, steps=600, scheme="heun")
    predicted = float(lgan.heun_amplification(lam, 0.15).max())
    assert predicted > 1.0  # it grows
    assert _late_ratio(heun) == pytest.approx(predicted, abs=1e-6)
    # RK4 damps the imaginary axis up to |τλ| = 2√2.
    limit = lgan.max_stable_step(lam, method="rk4")
    assert limit * np.abs(lam).max() == pytest.approx(2.0 * math.sqrt(2.0), rel=1e-9)
    below = integrate(system, y0, tau=0.95 * limit, steps=800, scheme="rk4")
    assert np.all(np.diff(below.norm) <= 1e-12 * below.norm[0])  # energy never grows
    above = integrate(system, y0, tau=1.05 * limit, steps=800, scheme="rk4")
    predicted = float(lgan.rk4_amplification(lam, 1.05 * limit).max())
    assert predicted > 1.0  # it grows
    assert _late_ratio(above) == pytest.approx(predicted, abs=1e-6)


def test_unstable_run_reports_the_overflow():
    system = LGANSystem(GAUSSIAN_1D, gp.mesh.interval(-5.0, 5.0, 40), alpha=0.0, beta=1.0)
    y0 = system.state(v=np.ones_like)
    with pytest.raises(NumericalBreakdownError, match="overflowed at step"):
        integrate(system, y0, tau=0.2, steps=5000, scheme="euler")


# --- item 3: decay rates ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("density", "mesh", "alpha", "beta", "gamma", "exact"),
    [
        (GAUSSIAN_1D, (-8.0, 8.0, 40), 3.0, 1.0, 0.0, (-3.0 + math.sqrt(5.0)) / 2.0),
        (MIXTURE_1D, (-8.0, 11.0, 60), 2.0, -1.0, 0.5, None),
    ],
)
def test_overdamped_decay_rate_matches_theorem_4(density, mesh, alpha, beta, gamma, exact):
    system = LGANSystem(
        density, gp.mesh.interval(*mesh), alpha=alpha, beta=beta, gamma=gamma, element="P2"
    )
    eta = system.decay_rate()
    xi = system.laplacian_eigenvalues()
    assert eta == pytest.approx(
        float(lgan.decay_rate(xi[1], alpha=alpha, beta=beta, gamma=gamma, xi=xi[2:])),
        abs=1e-12,
    )
    _, rest = _split_kernel(system, system.eigenvalues())
    assert eta == pytest.approx(float(rest.real.max()), abs=1e-10)
    if exact is not None:  # N(0, 1): ξ = 1, P2 on h = 0.4 is accurate to ~1e-7
        assert eta == pytest.approx(exact, abs=1e-6)
    tau = 0.01
    y0 = system.state(u=lambda x: x[:, 0] * np.exp(-0.25 * x[:, 0] ** 2), v=np.ones_like)
    trajectory = integrate(system, y0, tau=tau, steps=3000)
    crank_nicolson = math.log(abs((1 + 0.5 * tau * eta) / (1 - 0.5 * tau * eta))) / tau
    for norms in (trajectory.u_norm, trajectory.v_norm):
        measured = math.log(norms[-1] / norms[-2]) / tau
        # The next mode is ≥ 0.4 faster, so by t = 30 it is e^{−12} smaller: the per-step
        # rate is CN's ln|R(τη)|/τ to round-off, and η to CN's O(τ²|η|³/12) ≈ 5e-7.
        assert measured == pytest.approx(crank_nicolson, abs=1e-9)
        assert measured == pytest.approx(eta, abs=1e-5)


def test_oscillating_decay_rate_of_the_gaussian():
    # α = β = 1 on N(0, 1): every pair λ±(ξ ≥ 1) is complex with Re λ = −α/2.
    system = LGANSystem(
        GAUSSIAN_1D, gp.mesh.interval(-8.0, 8.0, 40), alpha=1.0, beta=1.0, element="P2"
    )
    assert system.decay_rate() == pytest.approx(-0.5, abs=1e-12)
    y0 = system.state(u=lambda x: x[:, 0] * np.exp(-0.25 * x[:, 0] ** 2), v=np.ones_like)
    trajectory = integrate(system, y0, tau=0.02, steps=5000)
    # The norms oscillate at frequencies √(ξ − 1/4) around e^{−t/2}; a fit over t ∈ [20,
    # 100] carries an error ≲ ln(oscillation)/80, measured below 1e-2.
    for of in ("u", "v", "norm"):
        assert trajectory.rate(start=20.0, of=of) == pytest.approx(-0.5, abs=2e-2)
    assert np.any(np.diff(trajectory.u_norm) > 0.0)  # ‖u‖ oscillates


def test_optimal_parameters_give_the_fastest_non_oscillating_decay():
    mesh = gp.mesh.interval(-8.0, 11.0, 60)
    xi = LGANSystem(MIXTURE_1D, mesh, alpha=0.0, beta=1.0, element="P2").laplacian_eigenvalues()
    best = lgan.optimal_parameters(float(xi[1]), beta=1.0)
    system = LGANSystem(
        MIXTURE_1D, mesh, alpha=best.alpha, beta=1.0, gamma=best.gamma, element="P2"
    )
    lam = system.eigenvalues()
    # Critical damping at ξ_min: the discriminant is 0 up to round-off, whose square root
    # moves Re λ+ by up to ~sqrt(eps)·|λ| ≈ 1e-8 relative.
    assert system.decay_rate() == pytest.approx(-math.sqrt(xi[1]), rel=1e-7)
    # The double (defective) root at ξ_min is perturbed by ~sqrt(eps·‖Â‖·|λ|) ≈ 3e-7.
    assert np.abs(lam.imag).max() <= 1e-5 * np.abs(lam).max()
    slowest = float(lam.real[lam.real < -1e-10].max())
    assert slowest == pytest.approx(-math.sqrt(xi[1]), rel=1e-5)
    alphas, gammas = np.meshgrid(np.linspace(0.0, 2.0, 41), np.linspace(0.0, 6.0, 61))
    rates = lgan.decay_rate(xi[1], alpha=alphas, beta=1.0, gamma=gammas, xi=xi[2:])
    assert rates.min() >= best.rate - 1e-12
    y0 = system.state(v=np.ones_like)
    final = {}
    for alpha, gamma in (
        (best.alpha, best.gamma),
        (0.5 * best.alpha, best.gamma),
        (best.alpha, 2.0 * best.gamma),
        (2.0 * best.alpha, 0.5 * best.gamma),
    ):
        other = LGANSystem(MIXTURE_1D, mesh, alpha=alpha, beta=1.0, gamma=gamma, element="P2")
        final[(alpha, gamma)] = integrate(other, y0, tau=0.02, steps=2000).norm[-1]
    assert min(final, key=final.get) == (best.alpha, best.gamma)


def test_crank_nicolson_conserves_the_wgan_energy():
    system = LGANSystem(GAUSSIAN_1D, gp.mesh.interval(-8.0, 8.0, 40), alpha=0.0, beta=-1.0)
    assert system.decay_rate() == 0.0
    y0 = system.state(u=lambda x: np.exp(-((x[:, 0] - 1.0) ** 2)), v=np.ones_like)
    trajectory = integrate(system, y0, tau=0.05, steps=1000)
    # CN is the Cayley transform of an M̃-skew operator: M̃-orthogonal, so the energy is
    # conserved up to round-off accumulated over 1000 solves (~1000·eps·cond ≲ 1e-11).
    energy = trajectory.norm**2
    assert np.abs(energy / energy[0] - 1.0).max() <= 1e-11
    assert np.any(np.diff(trajectory.u_norm) > 0.0)  # it oscillates, without decay
    assert trajectory.rate(of="norm") == pytest.approx(0.0, abs=1e-12)
    # Heun does not conserve it: |R(iy)|² = 1 + y⁴/4 > 1 on the imaginary axis.
    heun = integrate(system, y0, tau=0.05, steps=1000, scheme="heun")
    assert heun.norm[-1] > heun.norm[0] * (1 + 1e-6)


@pytest.mark.parametrize("separation", [3.0, 4.0])
def test_five_settings_of_section_7(separation):
    experiment = mixture_experiment(separation)
    names = list(experiment.names)
    final = {
        name: t.norm[-1] / t.norm[0] for name, t in zip(names, experiment.trajectories, strict=True)
    }
    rate = dict(zip(names, experiment.measured_rates, strict=True))
    predicted = dict(zip(names, experiment.predicted_rates, strict=True))
    root = math.sqrt(experiment.xi_min)
    # ξ_min decreases with the separation (paper: 0.25 and 0.124 by a network estimate).
    assert experiment.xi_min == pytest.approx({3.0: 0.2572, 4.0: 0.1191}[separation], abs=1e-3)
    # Theorem 4 on the discrete spectrum.
    assert predicted["WGAN"] == 0.0
    assert predicted["optimal"] == pytest.approx(-root, rel=1e-7)  # critical: see above
    assert predicted["LSGAN"] == pytest.approx(-0.125, rel=1e-12)  # ξ_min > α²/(4β²)
    assert predicted["WGAN-GP sub-optimal"] == pytest.approx(-0.5 * root, rel=1e-12)
    assert predicted["WGAN-GP optimal"] == pytest.approx(-0.5 * root, rel=1e-3)  # tail → −β²/γ
    # WGAN does not converge: CN conserves its energy.
    assert final["WGAN"] == pytest.approx(1.0, abs=1e-11)
    # The ordering the paper reports: the optimal setting converges fastest, then the two
    # WGAN-GP, then LSGAN; WGAN not at all.
    order = ["optimal", "WGAN-GP optimal", "WGAN-GP sub-optimal", "LSGAN", "WGAN"]
    assert sorted(final, key=final.get) == order
    assert rate["optimal"] < rate["WGAN-GP optimal"] < rate["LSGAN"] < rate["WGAN"]
    # The measured rates follow Theorem 4: fits over t ∈ [50, 100] of oscillating or
    # Jordan-block (t·e^{ηt}, critical damping at ξ_min) decays, within 6%.
    for name in names[1:]:
        assert rate[name] == pytest.approx(predicted[name], rel=0.06)
    # Oscillations: WGAN, sub-optimal γ and LSGAN have complex modes; the settings of (25)
    # do not.
    oscillating = dict(zip(names, experiment.oscillating, strict=True))
    assert [oscillating[name] for name in order] == [False, False, True, True, True]


# --- bad input --------------------------------------------------------------------------


def test_bad_input_raises_clear_errors():
    mesh = gp.mesh.interval(-5.0, 5.0, 10)
    with pytest.raises(InvalidInputError, match="alpha must be >= 0"):
        LGANSystem(GAUSSIAN_1D, mesh, alpha=-0.1, beta=1.0)
    with pytest.raises(InvalidInputError, match="gamma must be >= 0"):
        LGANSystem(GAUSSIAN_1D, mesh, alpha=0.1, beta=1.0, gamma=-1.0)
    with pytest.raises(InvalidInputError, match="beta must be non-zero"):
        LGANSystem(GAUSSIAN_1D, mesh, alpha=0.1, beta=0.0)
    with pytest.raises(InvalidInputError, match="beta must be finite"):
        LGANSystem(GAUSSIAN_1D, mesh, alpha=0.1, beta=math.nan)
    with pytest.raises(InvalidInputError, match="pair='taylor-hood' is not supported"):
        LGANSystem(GAUSSIAN_1D, mesh, alpha=0.1, beta=1.0, pair="taylor-hood")
    with pytest.raises(InvalidInputError, match="element='P3' is not supported"):
        LGANSystem(GAUSSIAN_1D, mesh, alpha=0.1, beta=1.0, element="P3")
    with pytest.raises(InvalidInputError, match="need a simplex mesh"):
        LGANSystem(GAUSSIAN_2D, skfem.MeshQuad().refined(2), alpha=0.1, beta=1.0)
    with pytest.raises(InvalidInputError, match="dimension 2 but the mesh has dimension 1"):
        LGANSystem(GAUSSIAN_2D, mesh, alpha=0.1, beta=1.0)

    system = LGANSystem(GAUSSIAN_1D, mesh, alpha=0.1, beta=1.0)
    y0 = system.state(v=np.ones_like)
    with pytest.raises(InvalidInputError, match="tau must be > 0"):
        integrate(system, y0, tau=0.0, steps=10)
    with pytest.raises(InvalidInputError, match="tau must be >= 0"):
        integrate(system, y0, tau=-0.1, steps=10)
    with pytest.raises(InvalidInputError, match="steps must be an integer >= 1"):
        integrate(system, y0, tau=0.1, steps=0)
    with pytest.raises(InvalidInputError, match="scheme='leapfrog' is not one of"):
        integrate(system, y0, tau=0.1, steps=10, scheme="leapfrog")
    with pytest.raises(InvalidInputError, match="state must be a real vector of length"):
        integrate(system, y0[:-1], tau=0.1, steps=10)
    with pytest.raises(InvalidInputError, match="system must be an LGANSystem"):
        integrate("system", y0, tau=0.1, steps=10)
    with pytest.raises(InvalidInputError, match="v must return a finite array"):
        system.state(v=lambda x: x[:, 0])
    with pytest.raises(InvalidInputError, match="k must be a positive integer"):
        system.eigenvalues(k=0)
    with pytest.raises(InvalidInputError, match="tol must be a positive number"):
        system.eigenvalues(k=2, tol=0.0)
    with pytest.raises(InvalidInputError, match="sigma must be finite"):
        system.eigenvalues(k=2, sigma=math.inf)
    with pytest.raises(InvalidInputError, match="u must return 11 finite values"):
        system.state(u=lambda x: np.full(len(x), math.nan))
    with pytest.raises(InvalidInputError, match="of='w' is not one of"):
        integrate(system, y0, tau=0.1, steps=10).rate(of="w")
    with pytest.raises(InvalidInputError, match="separation must be > 0"):
        mixture_experiment(0.0)


def test_dense_size_limit(monkeypatch):
    system = LGANSystem(GAUSSIAN_1D, gp.mesh.interval(-5.0, 5.0, 10), alpha=0.1, beta=1.0)
    # the limit is read where the eigen-solves live (lgan_system re-exports its value)
    assert lgan_system.DENSE_MAX == lgan_modes.DENSE_MAX
    monkeypatch.setattr(lgan_modes, "DENSE_MAX", 8)
    with pytest.raises(InvalidInputError, match="DENSE_MAX = 8"):
        system.eigenvalues()


def test_singular_shift_is_reported(monkeypatch):
    system = LGANSystem(GAUSSIAN_1D, gp.mesh.interval(-5.0, 5.0, 10), alpha=0.0, beta=1.0)

    def singular(*args, **kwargs):
        raise RuntimeError("Factor is exactly singular")

    # An exactly singular shifted matrix needs σ to be an eigenvalue to the last bit; the
    # LU's failure is simulated.
    monkeypatch.setattr(lgan_system.spla, "splu", singular)
    with pytest.raises(NumericalBreakdownError, match="sigma=0j is an eigenvalue"):
        system.eigenvalues(k=2, method="arnoldi")


@pytest.mark.parametrize(
    "module", [lgan_system, lgan_assembly, lgan_modes, lgan_integrate, lgan_experiments]
)
def test_docstring_examples(module):
    failures, tried = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert tried > 0
    assert failures == 0


def test_slowest_modes_from_laplacian_equal_arnoldi_on_the_operator():
    # method="auto" (stable pair, sigma = 0) maps the k smallest xi_h through the quadratic;
    # "arnoldi" runs ARPACK on the reduced operator itself: the same modes to ARPACK's
    # accuracy (tol 1e-12 on the shift-inverted Ritz values -> ~1e-10 relative here)
    import gan_pde as gp
    from gan_pde.spectral.lgan_system import LGANSystem

    rho = gp.GaussianMixture(means=[[-1.5, 0.0], [1.5, 0.3]], stds=[1.0, 0.8], weights=[0.5, 0.5])
    mesh = gp.mesh.rectangle((-7.0, 7.0), (-6.0, 6.5), n=(24, 24))
    for alpha, beta, gamma in [(0.25, -0.5, 0.0), (0.3, 1.0, 0.4)]:
        system = LGANSystem(rho, mesh, alpha=alpha, beta=beta, gamma=gamma)
        # k = 5 ends on a complete conjugate pair (no tie in modulus at the cut)
        fast = system.eigenvalues(k=5)
        slow = system.eigenvalues(k=5, method="arnoldi")
        scale = np.abs(slow).max()
        for part in (np.real, np.imag):
            np.testing.assert_allclose(
                np.sort(part(fast)), np.sort(part(slow)), rtol=0, atol=1e-9 * scale
            )


# --- issue 16: the k slowest modes for every (α, β, γ) -----------------------------------


def _k_nearest_zero_agree(got: np.ndarray, dense: np.ndarray, k: int, tol: float) -> None:
    """``got`` holds the k non-kernel eigenvalues nearest 0 of the dense spectrum: the same
    sorted moduli (ties at the cut, e.g. a conjugate pair, may pick either member) and each
    one an eigenvalue."""
    nearest = np.sort(np.abs(dense))[:k]
    assert got.size == nearest.size
    np.testing.assert_allclose(np.sort(np.abs(got)), nearest, rtol=0, atol=tol)
    distance = np.abs(got[:, None] - dense[None, :]).min(axis=1)
    assert distance.max() <= tol


def test_slowest_modes_when_the_high_modes_are_slowest():
    # WGAN-GP, α = 0, β = 1, γ = 4 on N(0, 1): every ξ ≥ 4β²/γ² = 1/4 gives real roots and
    # λ₊(ξ) rises from −2β²/γ at ξ = 1/4 towards −β²/γ = −1/4: the highest ξ_h hold the
    # modes nearest 0.  The old selection (the k smallest ξ_h) returned λ₊(1) = −0.268…
    system = LGANSystem(
        GAUSSIAN_1D, gp.mesh.interval(-8.0, 8.0, 60), alpha=0.0, beta=1.0, gamma=4.0
    )
    rest = system._nonkernel_eigenvalues()
    for method in ("auto", "arnoldi"):
        lam = system.eigenvalues(k=6, method=method)
        _k_nearest_zero_agree(lam, rest, 6, 1e-10)
        assert np.all(np.abs(lam + 0.25) < 1e-3)  # the tail, not λ₊(ξ = 1) ≈ −0.268
    assert float(lgan.eigenvalues(1.0, alpha=0.0, beta=1.0, gamma=4.0)[0].real) < -0.26


REGIMES = ("gamma=0", "alpha=0", "wgan", "below", "above", "equal", "critical", "random")


def _regime_parameters(rng: np.random.Generator, regime: str) -> tuple[float, float, float]:
    beta = float(rng.choice([-1.0, 1.0]) * 10.0 ** rng.uniform(-1, 1))
    alpha = abs(beta) * 10.0 ** rng.uniform(-2, 2)
    gamma = abs(beta) * 10.0 ** rng.uniform(-2, 2)
    if regime == "gamma=0":
        gamma = 0.0
    elif regime == "alpha=0":
        alpha = 0.0
    elif regime == "wgan":
        alpha = gamma = 0.0
    elif regime == "below":  # 0 < αγ < β²: the tail −β²/γ is approached from below
        gamma = beta**2 / alpha * rng.uniform(0.01, 0.99)
    elif regime == "above":  # αγ > β²: all real, λ₊ falls towards −β²/γ
        gamma = beta**2 / alpha * 10.0 ** rng.uniform(0, 2)
    elif regime == "equal":  # αγ = β²: the quadratic factorises
        gamma = beta**2 / alpha
    elif regime == "critical":  # the family (25): a double root at ξ* = 1
        gamma = rng.uniform(0.0, 2.0) * abs(beta)
        alpha = 2.0 * abs(beta) - gamma
    return alpha, beta, gamma


@pytest.mark.parametrize("regime", REGIMES)
def test_slowest_modes_equal_the_dense_spectrum_in_every_regime(regime):
    rng = np.random.default_rng(sum(map(ord, regime)))
    mesh = gp.mesh.interval(-7.0, 10.0, 40)
    for _ in range(4):
        alpha, beta, gamma = _regime_parameters(rng, regime)
        system = LGANSystem(
            MIXTURE_1D,
            mesh,
            alpha=alpha,
            beta=beta,
            gamma=gamma,
            element=str(rng.choice(["P1", "P2"])),
        )
        rest = system._nonkernel_eigenvalues()
        k = int(rng.integers(1, 15))
        # dense eig: |δλ| ≲ n ε ‖Â‖ ≈ 1e-13 ‖Â‖ away from critical damping, √(ε‖Â‖|λ|)
        # at a double root; ARPACK to 1e-12 relative in θ = 1/λ.  1e-7 ‖Â‖ covers both.
        tol = 1e-7 * np.abs(rest).max()
        for method in ("auto", "arnoldi"):
            _k_nearest_zero_agree(system.eigenvalues(k=k, method=method), rest, k, tol)


def test_unresolved_weight_is_a_documented_breakdown_not_a_linalg_error():
    # N(0, diag(0.3², 0.7²)) on a 4×4 mesh of a 7σ square: ln ρ varies by ~24 inside a
    # cell and the scaled mass is indefinite to round-off (λ_min < 0 at ε‖M̃‖)
    rot = np.array([[math.cos(3.03), -math.sin(3.03)], [math.sin(3.03), math.cos(3.03)]])
    cov = rot @ np.diag([0.3**2, 0.7**2]) @ rot.T
    density = gp.Gaussian(mean=[2.0, 0.5], cov=cov.tolist())
    mesh = gp.mesh.rectangle((-1.5, 5.5), (-3.0, 4.0), n=4)
    system = LGANSystem(density, mesh, alpha=0.07, beta=-1.9, gamma=21.5)
    # the refusal rests on max/min of the mass diagonal (a lower bound on its condition
    # number), not on the sign of λ_min, so it does not depend on the platform's round-off
    diagonal = system.u_mass.diagonal()
    assert diagonal.max() / diagonal.min() > 1.0 / (system.u_mass.shape[0] * np.finfo(float).eps)
    with pytest.raises(NumericalBreakdownError, match="does not resolve the weight"):
        system.eigenvalues()
    with pytest.raises(NumericalBreakdownError, match="does not resolve the weight"):
        system.laplacian_eigenvalues()


# --- hypothesis: (α, β, γ) space and random densities ------------------------------------

_NONNEGATIVE = st.one_of(st.just(0.0), st.floats(1e-3, 1e3))
_BETA = st.floats(0.05, 20.0).flatmap(lambda b: st.sampled_from([-b, b]))


@st.composite
def _mixtures(draw):
    n = draw(st.integers(1, 3))
    means = [draw(st.floats(-3.0, 3.0)) for _ in range(n)]
    stds = [draw(st.floats(0.4, 2.0)) for _ in range(n)]
    weights = np.array([draw(st.floats(0.1, 1.0)) for _ in range(n)])
    weights = (weights / weights.sum()).tolist()
    weights[-1] = 1.0 - sum(weights[:-1])
    return gp.GaussianMixture(means=[[m] for m in means], stds=stds, weights=weights), (
        min(m - 6 * s for m, s in zip(means, stds, strict=False)),
        max(m + 6 * s for m, s in zip(means, stds, strict=False)),
    )


@settings(max_examples=50)
@given(
    mixture=_mixtures(),
    alpha=_NONNEGATIVE,
    beta=_BETA,
    gamma=_NONNEGATIVE,
    k=st.integers(1, 12),
    element=st.sampled_from(["P1", "P2"]),
)
def test_property_slowest_modes_and_rate_equal_the_dense_spectrum(
    mixture, alpha, beta, gamma, k, element
):
    density, (lo, hi) = mixture
    system = LGANSystem(
        density, gp.mesh.interval(lo, hi, 24), alpha=alpha, beta=beta, gamma=gamma, element=element
    )
    rest = system._nonkernel_eigenvalues()
    # see test_slowest_modes_equal_the_dense_spectrum_in_every_regime for the tolerance
    scale = np.abs(rest).max()
    _k_nearest_zero_agree(system.eigenvalues(k=k), rest, k, 1e-7 * scale)
    assert system.decay_rate() == pytest.approx(float(rest.real.max()), abs=1e-7 * scale)


@settings(max_examples=50)
@given(
    mixture=_mixtures(),
    alpha=_NONNEGATIVE,
    beta=_BETA,
    gamma=_NONNEGATIVE,
    tau=st.floats(1e-3, 10.0),
    seed=st.integers(0, 2**16),
)
def test_property_crank_nicolson_never_increases_the_energy(mixture, alpha, beta, gamma, tau, seed):
    # CN is the Cayley transform of an M̃_w-dissipative operator (d/dt‖w‖² = −2α‖u‖² −
    # 2γ‖∇u‖² ≤ 0): a contraction for every τ, an isometry for WGAN.  Each step rounds
    # at ~ε cond(M̃_w − τL̃/2) relative; 1e-9 covers cond ≲ 1e5 over 30 steps.
    density, (lo, hi) = mixture
    system = LGANSystem(density, gp.mesh.interval(lo, hi, 12), alpha=alpha, beta=beta, gamma=gamma)
    y0 = np.random.default_rng(seed).standard_normal(system.n_u + system.n_v)
    norm = integrate(system, y0, tau=tau, steps=30).norm
    assert np.all(np.diff(norm) <= 1e-9 * norm[:-1])
    if alpha == 0.0 and gamma == 0.0:
        np.testing.assert_allclose(norm, norm[0], rtol=1e-9)


def test_arnoldi_falls_back_to_the_dense_spectrum_when_arpack_does_not_converge(monkeypatch):
    """Near critical damping ARPACK can fail to converge (the stress campaign: 7 cases, λ₊
    and λ₋ of one ξ_h nearly coincide); below DENSE_MAX the dense spectrum is used."""
    import scipy.sparse.linalg as spla

    system = LGANSystem(
        gp.Gaussian(mean=[0.0], cov=[[1.0]]),
        gp.mesh.interval(-6, 6, n=30),
        alpha=0.5,
        beta=1.0,
        gamma=0.3,
    )
    expected = system.eigenvalues(k=5, method="arnoldi")  # k = 4 would split a pair

    def refuse(*_args, **_kwargs):
        raise spla.ArpackNoConvergence("no convergence (test)", np.empty(0), np.empty(0))

    monkeypatch.setattr(spla, "eigs", refuse)
    got = system.eigenvalues(k=5, method="arnoldi")
    np.testing.assert_allclose(got, expected, rtol=1e-9)


def test_arnoldi_returns_the_multiplicity_of_minus_alpha_when_alpha_gamma_is_beta_squared():
    """αγ = β² (here 0.5 · 2 = 1): the quadratic factorises, −α is an eigenvalue for every
    ξ_h, and single-vector ARPACK returned too few copies (stress campaign, 6e8 × the
    tolerance off).  The k = 4 modes nearest 0 are four copies of −α (the others are
    −β²ξ/α ≤ −2 on N(0, 1))."""
    system = LGANSystem(
        gp.Gaussian(mean=[0.0], cov=[[1.0]]),
        gp.mesh.interval(-6, 6, n=30),
        alpha=0.5,
        beta=1.0,
        gamma=2.0,
    )
    arnoldi = system.eigenvalues(k=4, method="arnoldi")
    np.testing.assert_allclose(arnoldi, -0.5, atol=1e-12)
    np.testing.assert_allclose(system.eigenvalues(k=4), arnoldi, atol=1e-12)


def test_arnoldi_on_a_nearly_disconnected_domain_matches_the_dense_spectrum():
    """Two narrow components 3.7 apart (stress campaign): ξ_h has a second value at
    round-off (4e-14), shift-invert at 0 a Ritz value 5e14 times the others', which then
    lost digits (−0.0551973 for −0.0552242); such spans use the dense spectrum."""
    density = gp.GaussianMixture(
        means=[[-0.16196788013183117], [3.5202346880907713]],
        stds=[0.2106914921072379, 0.21075487973668072],
        weights=[0.825442564144875, 0.174557435855125],
    )
    lo, hi = -0.16196788013183117 - 6 * 0.2106914921072379, 3.5202346880907713 + 6 * 0.2108
    system = LGANSystem(
        density,
        skfem.MeshLine(np.linspace(lo, hi, 34)),
        alpha=10.538774178884024,
        beta=0.39849432767279025,
        gamma=2.409850293542168,
    )
    arnoldi = system.eigenvalues(k=10, method="arnoldi")
    auto = system.eigenvalues(k=10)
    # the modes away from 0 to 1e-9 relative (auto is exact from the ξ_h up to Lanczos's
    # 1e-8 backward error, which moves these roots by ≲ 1e-10 relative)
    np.testing.assert_allclose(arnoldi[1:], auto[1:], rtol=1e-7)
    assert abs(arnoldi[0]) < 1e-12 and abs(auto[0]) < 1e-12
