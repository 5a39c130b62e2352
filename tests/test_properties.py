"""Property-based tests (hypothesis) over random densities, meshes and parameters.

The default profile ``ci`` runs a few examples per property (fast CI); ``pytest
--hypothesis-profile=slow`` runs many (profiles in the root ``conftest.py``).  Every
property is an invariant that the discrete method keeps exactly (up to round-off), so
the tolerances are multiples of the machine epsilon times the size of the quantities involved.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import gan_pde as gp
import gan_pde.flows.operator as operator_module
from gan_pde.checkpoint import load_checkpoint, save_checkpoint
from gan_pde.errors import (
    AccuracyWarning,
    InvalidDensityError,
    InvalidInputError,
    NumericalBreakdownError,
)
from gan_pde.fem.functionals import js_divergence, l1_distance, mass
from gan_pde.flows import JSDFlow

EPS = np.finfo(float).eps


def _flow(target, initial, mesh):
    """The flow, or the example is skipped when rho_0 <= beta rho_d fails for every sane
    beta on the mesh (assumption (8) of paper 002; JSDFlow refuses it with a clear error)."""
    try:
        return JSDFlow(target, initial, mesh)
    except InvalidDensityError:
        assume(False)


@st.composite
def mixtures_1d(draw, max_components: int = 3):
    """A 1D Gaussian mixture with means in [-3, 3], stds in [0.4, 2] and weights > 0.05."""
    k = draw(st.integers(1, max_components))
    means = draw(st.lists(st.floats(-3.0, 3.0), min_size=k, max_size=k))
    stds = draw(st.lists(st.floats(0.4, 2.0), min_size=k, max_size=k))
    weights = np.array(draw(st.lists(st.floats(0.05, 1.0), min_size=k, max_size=k)))
    return gp.GaussianMixture(
        means=[[m] for m in means], stds=stds, weights=(weights / weights.sum()).tolist()
    )


@st.composite
def user_mixtures_1d(draw, max_components: int = 4):
    """The space issue 16 asks for: 1-4 components, stds in [0.3, 3], consecutive means up
    to 8 standard deviations apart, weights > 0.02."""
    k = draw(st.integers(1, max_components))
    stds = draw(st.lists(st.floats(0.3, 3.0), min_size=k, max_size=k))
    start = draw(st.floats(-3.0, 3.0))
    gaps = draw(st.lists(st.floats(-8.0, 8.0), min_size=k - 1, max_size=k - 1))
    means = [start]
    for gap, a, b in zip(gaps, stds[:-1], stds[1:], strict=True):
        means.append(means[-1] + gap * max(a, b))
    weights = np.array(draw(st.lists(st.floats(0.02, 1.0), min_size=k, max_size=k)))
    return gp.GaussianMixture(
        means=[[m] for m in means], stds=stds, weights=(weights / weights.sum()).tolist()
    )


def _half_width(*densities) -> float:
    """max |mean| + 8 max std over the components: the issue's domain ±(...)."""
    return max(float(np.abs(d.means).max() + 8.0 * np.sqrt(np.max(d.covs))) for d in densities)


@settings(max_examples=50)
@given(
    target=user_mixtures_1d(),
    initial=user_mixtures_1d(),
    cells=st.integers(40, 400),
    dt=st.floats(1e-3, 0.5),
    scheme=st.sampled_from(["backward-euler", "crank-nicolson", "tr-bdf2"]),
)
def test_jsd_flow_runs_and_keeps_its_invariants(target, initial, cells, dt, scheme):
    """Any pair of 1D mixtures on the issue's domain, every scheme: the flow completes
    (ratios up to e^5000 included) unless the mesh does not resolve the target at all
    (a documented InvalidDensityError naming the refinement); mass is conserved to 1e-12;
    backward Euler (P1 lumped, 1D: an M-matrix) keeps 0 <= v <= beta, and the JSD and the
    L1(mu_d) distance to the target never increase (paper 002: accretivity of A,
    (12)-(13)); TR-BDF2 with the lumped mass keeps v > -1."""
    half = _half_width(target, initial)
    try:
        flow = JSDFlow(target, initial, gp.mesh.interval(-half, half, n=cells))
    except InvalidDensityError as err:
        assert "refine the mesh" in str(err)
        assume(False)
    assert flow.monotone
    traj = flow.solve(5.0 * dt, dt, scheme=scheme)
    # the update conserves mass exactly; each step rounds ~n_dofs terms of size <= 1
    assert np.max(np.abs(traj.mass - 1.0)) <= 1e-12
    assert traj.newton_residuals.max() <= 1e-10
    if scheme == "tr-bdf2":
        assert traj.v_min.min() > -1.0
    if scheme != "backward-euler":
        return
    assert traj.v_min.min() >= -4 * EPS
    if np.isfinite(flow.beta):
        assert traj.v_max.max() <= flow.beta * (1 + 1e-12)
    # monotone up to the round-off of the quadrature sums: relative 1e-12, and an absolute
    # floor of ~n_dofs eps per step (at equilibrium, v = 1 + O(eps) drifts by round-off)
    floor = 10 * cells * EPS
    assert np.all(np.diff(traj.jsd) <= 1e-12 * traj.jsd[0] + floor)
    assert np.all(np.diff(traj.l1) <= 1e-12 * traj.l1[0] + floor)


@given(density=mixtures_1d(), cells=st.integers(20, 120), element=st.sampled_from(["P1", "P2"]))
def test_spectrum_is_right_or_refused(density, cells, element):
    """Either the mesh resolves the weight and the spectrum is real, non-negative, ascending
    and close to a fine-mesh reference, or the solver refuses with a clear error: never a
    plausible wrong xi_min (coarse meshes over narrow tails create spurious modes)."""
    mesh = gp.mesh.interval(-12.0, 12.0, n=cells)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", AccuracyWarning)
            spec = gp.weighted_laplacian_spectrum(density, mesh, k=4, element=element)
    except InvalidInputError as err:
        assert "not resolved by the mesh" in str(err)
        return
    except NumericalBreakdownError as err:
        assert "does not resolve the weight" in str(err)
        return
    warned = any(issubclass(w.category, AccuracyWarning) for w in caught)
    lam = spec.eigenvalues
    assert np.all(np.isfinite(lam)) and np.all(np.diff(lam) >= -1e-10 * lam[-1])
    # the kernel eigenvalue is 0 to the solver's backward error (~1e-12 of the largest)
    assert abs(lam[0]) <= 1e-9 * max(1.0, lam[-1])
    assert lam[1] > 0.0 and spec.poincare_constant == lam[1]
    reference = gp.weighted_laplacian_spectrum(
        density, gp.mesh.interval(-12.0, 12.0, n=1200), k=2, element="P2"
    ).poincare_constant
    # Without a warning the quadrature resolves the weight where the eigenfunction lives
    # (measured quadrature errors up to -5e-4 just below the warning level of 2, P1) and
    # the Galerkin error is O(h^2) (P1) and positive, up to ~50% on these meshes.  With an
    # AccuracyWarning the quadrature error (either sign) is of the order of percents
    # (at most ~10% measured) and the Galerkin error can be anything positive (+150% for
    # two modes of std 0.5 on 20 P1 cells).  A spurious mode is off by far more below
    # (4e-6 instead of 4): that is what is excluded.
    if warned:
        assert spec.poincare_constant >= (1.0 - 0.15) * reference
    else:
        assert (1.0 - 1e-3) * reference <= spec.poincare_constant <= 1.5 * reference


@given(p=mixtures_1d(), q=mixtures_1d())
def test_divergences_are_symmetric_bounded_and_vanish_on_the_diagonal(p, q):
    mesh = gp.mesh.interval(-16.0, 16.0, n=200)
    jsd_pq, jsd_qp = js_divergence(p, q, mesh), js_divergence(q, p, mesh)
    assert abs(jsd_pq - jsd_qp) <= 1e-12
    assert -1e-14 <= jsd_pq <= np.log(2.0) + 1e-12
    assert abs(js_divergence(p, p, mesh)) <= 1e-14
    l1 = l1_distance(p, q, mesh)
    assert 0.0 <= l1 <= 2.0 + 1e-10
    # Pinsker-type bound JSD <= L1 * ln 2 / 2 ... the sharp one: JSD <= (ln 2 / 2) ||p - q||_1
    assert jsd_pq <= 0.5 * np.log(2.0) * l1 + 1e-12
    # the means lie within [-3, 3] and stds <= 2: mass outside [-16, 16] is < 1e-9
    assert abs(mass(p, mesh) - 1.0) < 1e-9


@given(
    arrays=st.dictionaries(
        st.from_regex(r"[a-z]{1,8}", fullmatch=True),
        hnp.arrays(
            dtype=st.sampled_from([np.float64, np.int64, np.complex128]),
            shape=hnp.array_shapes(min_dims=0, max_dims=3, max_side=5),
        ),
        max_size=4,
    ),
    fingerprint=st.dictionaries(st.text(max_size=5), st.integers() | st.floats(allow_nan=False)),
)
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_checkpoint_round_trip(tmp_path, arrays, fingerprint):
    path = tmp_path / "c.npz"
    save_checkpoint(path, kind="prop", fingerprint=fingerprint, state=arrays)
    back = load_checkpoint(path, kind="prop", fingerprint=fingerprint)
    assert set(back) == set(arrays)
    for name, array in arrays.items():
        assert back[name].dtype == array.dtype
        np.testing.assert_array_equal(back[name], array)  # NaN == NaN in this comparison


@given(target=mixtures_1d(), cells=st.integers(20, 80))
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_trajectory_save_load_round_trip(tmp_path, target, cells):
    flow = _flow(target, gp.Gaussian(mean=[0.0], cov=[[1.0]]), gp.mesh.interval(-8, 8, n=cells))
    traj = flow.solve(1.0, 0.5, scheme="tr-bdf2")
    back = gp.io.load_trajectory(gp.io.save_trajectory(tmp_path / "t.npz", traj))
    for name in ("times", "jsd", "kl", "l1", "mass", "step_times", "newton_iterations"):
        np.testing.assert_array_equal(getattr(back, name), getattr(traj, name))
    np.testing.assert_array_equal(np.stack(back.v), np.stack(traj.v))


# Found by the random search (a fresh-clone CI run of 2026-12-07, before the ci profile was
# seeded): cases of the log-scaled representation; the first is fixed, the second open.
_NARROW = gp.GaussianMixture(means=[[0.0]], covs=[[[0.09283447265625]]], weights=[1.0])


def test_regression_log_scaled_flow_with_a_large_step_overflows_the_load(monkeypatch):
    """Fixed: 40 cells do not resolve the narrow target (ln ρ_d drops by up to 350 over a
    cell), so the scaled lumped masses m̂_i = m_i/ρ_d(x_i) reach e^677 in the tails; the
    scale chosen from v0 alone (ln(1 + z) ≤ 64) let the load m̂_i(1 + z_i) reach e^741 and
    overflow, and Newton got a non-finite scale (InvalidInputError).  The scale now also
    keeps ln(m̂_i(1 + z_i)) ≤ 640.  Negative control: the old rule (no bound on the load)
    fails as before."""
    import gan_pde.flows.jsd as jsd_module

    initial = gp.GaussianMixture(
        means=[[0.0], [1.0], [19.375]], covs=[[[1.0]], [[1.0]], [[6.890625]]], weights=[1 / 3] * 3
    )
    half = _half_width(_NARROW, initial)
    mesh = gp.mesh.interval(-half, half, n=40)
    flow = JSDFlow(_NARROW, initial, mesh)
    assert flow.operator.log_scale is not None  # the log-scaled path (ratio e^8102)
    traj = flow.solve(2.5, 0.5, scheme="backward-euler")
    # mass: the steps conserve it to the round-off of ~n_dofs terms of size <= 1; the
    # initial normalisation in log space is off by 3e-13 (logsumexp of terms e^{l_k} with
    # l_k up to ~700: ε·700 relative each), within the property test's 1e-12
    assert np.max(np.abs(traj.mass - traj.mass[0])) <= 10 * flow.operator.n_dofs * EPS
    assert abs(traj.mass[0] - 1.0) <= 1e-12
    assert traj.newton_residuals.max() <= 1e-10
    assert traj.v_min.min() >= -4 * EPS  # the maximum principle, v0 >= 0 (M-matrix, 1D P1)
    assert np.all(np.isfinite(np.stack(traj.log1p_v)))
    monkeypatch.setattr(jsd_module, "_LOG_LOAD_MAX", np.inf)
    with (
        pytest.raises(InvalidInputError, match="scale must be positive and finite"),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore", RuntimeWarning)  # the overflow of the load itself
        JSDFlow(_NARROW, initial, mesh).solve(2.5, 0.5, scheme="backward-euler")


def test_regression_log_scaled_backward_euler_dips_below_zero_by_round_off(monkeypatch):
    # Found by the random search: at x = 6.5 (scale a = 0) v decays from 6e-13 to 0, and
    # Newton used to accept the previous step's s with 0 iterations (its node's backward
    # error 1.3e-13 of the terms 2 m̂(1+v) is inside the stopping test's 100 ε RMS, i.e.
    # up to 100 ε √n at one node); the update v = (q - τ flux(s))/m̂ - 1 then repeated the
    # last decrement and went to -2.7e-14.  Newton now polishes an accepted start with one
    # step (gan_pde.fem.newton, polish=True).  The maximum principle v >= 0 (v0 >= 0,
    # M-matrix, 1D P1) then holds to round-off, 4 ε.
    initial = gp.GaussianMixture(
        means=[[0.0], [0.0], [13.0]], covs=[[[1.0]], [[1.0]], [[2.640625]]], weights=[1 / 3] * 3
    )
    half = _half_width(_NARROW, initial)
    mesh = gp.mesh.interval(-half, half, n=40)
    traj = JSDFlow(_NARROW, initial, mesh).solve(2.5, 0.5, scheme="backward-euler")
    assert traj.v_min.min() >= -4 * EPS

    def steps(flow):  # backward Euler, each Newton solve started from the last s
        op, z, s, lowest = flow.operator, flow._z0, None, np.inf
        for k in range(5):
            step = op.advance(z, 0.5, t=0.5 * k, initial_guess=s)
            z, s = step.v, step.s
            lowest = min(lowest, float(flow._state_to_v(z).min()))
        return lowest

    assert steps(JSDFlow(_NARROW, initial, mesh)) >= -4 * EPS
    # negative control: without the polishing step the same steps dip below -4 ε
    newton = operator_module.newton
    monkeypatch.setattr(
        operator_module, "newton", lambda *a, **k: newton(*a, **{**k, "polish": False})
    )
    assert steps(JSDFlow(_NARROW, initial, mesh)) < -4 * EPS
