"""High-resolution mean-field transport, the particle flow and the decay analysis (issue 22)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from killresume import assert_identical, kill_and_resume
from scipy.special import erf

import gan_pde as gp
from gan_pde.engine import CallbackTracker
from gan_pde.errors import InvalidInputError
from gan_pde.meanfield import BumpLaw, ToyMeanField, WGANMeanField
from gan_pde.meanfield import particles as particle_sgd
from gan_pde.meanfield.highres import (
    LIMITERS,
    HighResMeanFieldStepper,
    ParticleFlowStepper,
    advance_law,
    decay_per_period,
    limited_slopes,
    muscl_rates,
    muscl_time_step,
    oscillation_extrema,
    simulate_particle_flow,
    solve_highres,
    solve_toy_highres,
)
from gan_pde.meanfield.transport import BoxGrid, cfl_time_step, transport_rates

DATA = gp.GaussianMixture(means=[[-1.0], [1.0]], stds=[0.3, 0.3])


def _gaussian_cdf(x: np.ndarray, mean: float, std: float) -> np.ndarray:
    return 0.5 * (1.0 + erf((x - mean) / (math.sqrt(2.0) * std)))


def _model_2d(n: int = 16, gamma_c: float = 5.0, **kwargs) -> WGANMeanField:
    return WGANMeanField(
        data=DATA,
        generator={"alpha": (-3.0, 3.0, n), "beta": 1.0, "gamma": (-3.0, 3.0, n + 2)},
        discriminator={"a": (-1.0, 1.0, n + 1), "b": (-1.0, 1.0, n), "c": 0.0},
        mu_in=lambda a, c: np.exp(-((a - 1.0) ** 2 + c**2) / 0.2),
        nu_in=lambda a, b: np.exp(-((a - 0.3) ** 2 + (b - 0.2) ** 2) / 0.05),
        gamma_c=gamma_c,
        **kwargs,
    )


def _slope(n: np.ndarray, errors: np.ndarray) -> float:
    """Least-squares slope of log(error) against log(h) (h = 1/n)."""
    return float(np.polyfit(np.log(1.0 / n), np.log(errors), 1)[0])


# ----------------------------------------------------------------------------- the flux


def test_limited_slopes_are_the_textbook_limiters():
    rng = np.random.default_rng(3)
    masses = rng.random(399)
    masses[::7] = masses[1::7]  # flat pieces: zero differences
    back, forward = np.diff(masses)[:-1], np.diff(masses)[1:]
    same = back * forward > 0
    sign = np.sign(back)
    a, b = np.abs(back), np.abs(forward)
    expected = {
        "minmod": np.where(same, sign * np.minimum(a, b), 0.0),
        "mc": np.where(same, sign * np.minimum(np.minimum(2 * a, 2 * b), 0.5 * (a + b)), 0.0),
        "vanleer": np.where(same, 2.0 * back * forward / np.where(same, back + forward, 1.0), 0.0),
    }
    for limiter, slope in expected.items():
        got = limited_slopes(masses, 0, limiter)
        assert got[0] == 0.0 and got[-1] == 0.0  # the wall cells
        np.testing.assert_allclose(got[1:-1], slope, rtol=1e-14, atol=0.0)
        # |s_i| <= kappa m_i: the bound behind the positivity limit
        assert np.all(np.abs(got) <= LIMITERS[limiter] * masses * (1 + 1e-14))


def test_muscl_conserves_mass_and_closes_the_walls():
    rng = np.random.default_rng(0)
    grid = BoxGrid(lower=(-1.0, -2.0), upper=(1.0, 2.0), cells=(13, 17))
    masses = rng.random(grid.cells)
    velocities = [rng.normal(size=(14, 17)), rng.normal(size=(13, 18))]
    for limiter in LIMITERS:
        rates = muscl_rates(masses, velocities, grid, limiter=limiter)
        # every flux leaves one cell and enters its neighbour: the sum is round-off
        assert abs(rates.sum()) < 1e-13 * np.abs(rates).sum()
        # the wall faces carry nothing whatever their velocity (tangent-cone projection)
        walled = [v.copy() for v in velocities]
        walled[0][[0, -1], :] = 1e3
        walled[1][:, [0, -1]] = -1e3
        np.testing.assert_array_equal(muscl_rates(masses, walled, grid, limiter=limiter), rates)


def test_muscl_on_a_flat_profile_is_upwind():
    """Zero slopes (a constant or piecewise-constant extremum-free profile) give the
    upwind flux exactly: the reconstruction only adds the limited slopes."""
    grid = BoxGrid(lower=(0.0,), upper=(1.0,), cells=(8,))
    masses = np.full(8, 0.125)
    v = [np.linspace(-1.0, 1.0, 9)]
    np.testing.assert_allclose(muscl_rates(masses, v, grid), transport_rates(masses, v, grid))


def test_positivity_limit_is_sharp():
    """Masses (0, 1, 4, ...) give cell 1 the MC slope 2 = 2 m_1: its right face carries
    2 m_1 and nothing flows in (the wall cell 0 is empty), so forward Euler empties it
    exactly at the limit dt = h / (2 V) and turns it negative just above."""
    grid = BoxGrid(lower=(0.0,), upper=(1.0,), cells=(5,))
    masses = np.array([0.0, 1.0, 4.0, 4.0, 1.0])
    v = [np.ones(6)]
    limit = muscl_time_step(v, grid, limiter="mc")
    assert limit == pytest.approx(0.5 * cfl_time_step(v, grid), rel=1e-15)
    rates = muscl_rates(masses, v, grid, limiter="mc")
    assert (masses + limit * rates)[1] == pytest.approx(0.0, abs=1e-15)
    assert (masses + 1.01 * limit * rates)[1] < 0.0


def test_positivity_and_mass_over_many_random_steps():
    rng = np.random.default_rng(1)
    grid = BoxGrid(lower=(0.0, 0.0), upper=(1.0, 1.0), cells=(20, 20))
    masses = rng.random(grid.cells) ** 4  # steep, many extrema and near-empty cells
    masses /= masses.sum()
    for limiter in LIMITERS:
        m = masses
        for _ in range(5):
            v = [rng.normal(size=(21, 20)), rng.normal(size=(20, 21))]
            limit = muscl_time_step(v, grid, limiter=limiter)
            step = m + limit * muscl_rates(m, v, grid, limiter=limiter)
            # a face value lies in [0, (1 + kappa/2) m_i]: Euler at the limit stays >= 0
            # (round-off of the sums: a few eps times the largest mass)
            assert step.min() >= -4 * np.finfo(float).eps * m.max()
            m = np.maximum(step, 0.0)
        assert abs(m.sum() - 1.0) < 1e-14


def _translated_bump_errors(scheme: str, cells: list[int], limiter: str = "mc") -> np.ndarray:
    """L1 errors of a Gaussian bump (std 0.1) moved from -0.3 to 0.3 at unit speed."""
    errors = []
    for n in cells:
        grid = BoxGrid(lower=(-1.0,), upper=(1.0,), cells=(n,))
        edges = grid.edges[0]
        start = np.diff(_gaussian_cdf(edges, -0.3, 0.1))
        end, _ = advance_law(start, [np.ones(n + 1)], grid, 0.6, scheme=scheme, limiter=limiter)
        errors.append(np.abs(end - np.diff(_gaussian_cdf(edges, 0.3, 0.1))).sum())
    return np.array(errors)


def test_order_two_for_muscl_and_one_for_upwind_on_a_translated_bump():
    """Exact solution: the bump translated (cell masses by erf).  Local orders measured at
    n = 50 ... 800: MC 1.79, 1.73, 1.83, 1.93; upwind 0.61, 0.74, 0.84, 0.91 -- both rise
    monotonically to their asymptotic 2 and 1 (the bump spans 2.5 to 40 cells per std;
    the leading error terms C h^p dominate only once it is resolved).  On n = 200 ... 1600
    the fitted slopes are within 0.15 of 2 and 1: the next terms (relative size h) and the
    limiter's clipping at the extremum (an O(h)-wide region) are what is left."""
    cells = [200, 400, 800, 1600]
    n = np.array(cells, dtype=float)
    muscl = _translated_bump_errors("muscl", cells)
    upwind = _translated_bump_errors("upwind", cells)
    assert abs(_slope(n, muscl) - 2.0) < 0.15
    assert abs(_slope(n, upwind) - 1.0) < 0.15
    # second order wins by far at every resolution
    assert np.all(muscl < 0.1 * upwind)


def test_order_two_in_an_affine_field_in_two_dimensions():
    """Exact solution of V(x, y) = (-(x - 0.2), 0.5): the Gaussian's mean relaxes to
    x = 0.2 as e^{-t} with std 0.15 e^{-t} along x and translates along y; the face
    velocities vary in space, the cell masses of the product law are exact by erf."""
    errors = {"muscl": [], "upwind": []}
    cells = [40, 80, 160]
    for n in cells:
        grid = BoxGrid(lower=(-1.0, -1.0), upper=(1.0, 1.0), cells=(n, n))
        ex, ey = grid.edges
        start = np.outer(
            np.diff(_gaussian_cdf(ex, -0.4, 0.15)), np.diff(_gaussian_cdf(ey, -0.3, 0.15))
        )
        t = 0.8
        exact = np.outer(
            np.diff(_gaussian_cdf(ex, 0.2 + (-0.4 - 0.2) * math.exp(-t), 0.15 * math.exp(-t))),
            np.diff(_gaussian_cdf(ey, -0.3 + 0.5 * t, 0.15)),
        )
        velocities = [-(ex - 0.2)[:, None] * np.ones((1, n)), np.full((n, n + 1), 0.5)]
        for scheme in errors:
            end, _ = advance_law(start, velocities, grid, t, scheme=scheme)
            errors[scheme].append(np.abs(end - exact).sum())
    n = np.array(cells, dtype=float)
    # measured slopes 1.80 and 0.76 on these (pre-asymptotic) meshes, local orders rising
    # as in the 1D test: MUSCL above 1.6 and upwind below 1.1 separates the two orders
    assert _slope(n, np.array(errors["muscl"])) > 1.6
    assert _slope(n, np.array(errors["upwind"])) < 1.1
    assert np.all(np.array(errors["muscl"]) < 0.25 * np.array(errors["upwind"]))


# ----------------------------------------------------------------------------- WGAN model


def test_upwind_scheme_reproduces_wgan_solve():
    """scheme="upwind" with one substep per engine step takes the steps of
    WGANMeanField.solve with that fixed dt: the same fields (same operations) and SSP
    Heun (u + (u1 + h L(u1) - u)/2 instead of (u + u1 + h L(u1))/2: round-off)."""
    model = _model_2d(14)
    times = np.linspace(0.0, 2.0, 5)
    reference = model.solve(2.0, dt=0.02, save_times=times)
    traj = solve_highres(model, 2.0, scheme="upwind", record_dt=0.02, cfl=1.0, save_times=times)
    assert traj.info["substeps"] == reference.info["n_steps"] == 100
    np.testing.assert_allclose(traj.mu, reference.mu, rtol=0, atol=1e-15)
    np.testing.assert_allclose(traj.nu, reference.nu, rtol=0, atol=1e-15)
    np.testing.assert_allclose(traj.energy, reference.energy, rtol=0, atol=1e-15)
    np.testing.assert_allclose(traj.dissipation, reference.dissipation, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(traj.generator, reference.generator, rtol=0, atol=1e-14)
    np.testing.assert_allclose(traj.wall_mass, reference.wall_mass, rtol=0, atol=1e-15)


def test_stepper_kernels_equal_the_model_fields():
    model = _model_2d(12)
    stepper = HighResMeanFieldStepper(model)
    fields = model._fields(model.mu_in, model.nu_in)
    fast = stepper._evaluate((model.mu_in, model.nu_in))
    for key in ("mu", "nu"):
        for mine, theirs in zip(fast[key], fields[key], strict=True):
            np.testing.assert_array_equal(mine, np.broadcast_to(theirs, mine.shape))
    assert stepper._energy(model.mu_in, model.nu_in) == model.energy()


def test_muscl_run_keeps_mass_positivity_and_agrees_with_upwind_at_first_order():
    model = _model_2d(16)
    times = [0.0, 2.0, 4.0]
    high = solve_highres(model, 4.0, save_times=times)
    series = high.info["series"]
    assert series["mass_error"].max() < 1e-14
    assert high.mu.min() >= 0.0 and high.nu.min() >= 0.0
    assert high.info["scheme"] == "muscl" and high.info["substeps"] > 16
    assert series["G_probe"].shape == series["times"].shape == (16,)
    # the recorded G(1) and E are the saved ones at the shared times
    k = np.searchsorted(series["times"], 4.0)
    assert series["G_probe"][k] == pytest.approx(
        np.interp(1.0, high.z, high.generator[-1]), abs=1e-3
    )
    assert series["energy"][k] == high.energy[-1]
    # MUSCL is closer than upwind to a fine MUSCL solution at t = 2 (measured errors in
    # max |G| 1.8e-3 against 5.1e-3 on 16 cells, against 96 cells)
    reference = solve_highres(_model_2d(64), 2.0, save_times=[2.0]).generator[-1]
    model = _model_2d(16)
    errors = {
        scheme: np.abs(
            solve_highres(model, 2.0, scheme=scheme, save_times=[2.0]).generator[-1] - reference
        ).max()
        for scheme in ("muscl", "upwind")
    }
    assert errors["muscl"] < 0.5 * errors["upwind"]


def test_wgan_gp_runs_through_the_model_fields():
    model = _model_2d(8, energy="wgan-gp", penalty=1.0)
    traj = solve_highres(model, 0.25, record_dt=0.125, save_times=[0.0, 0.25])
    assert abs(traj.nu[-1].sum() - 1.0) < 1e-14
    assert traj.energy[0] == pytest.approx(model.energy(), rel=1e-14)


KILL_BODY = """
import time
import numpy as np
import gan_pde as gp
from gan_pde.meanfield import WGANMeanField
from gan_pde.meanfield.highres import solve_highres

def result(checkpoint, resume):
    model = WGANMeanField(
        data=gp.GaussianMixture(means=[[-1.0], [1.0]], stds=[0.3, 0.3]),
        generator={"alpha": (-3.0, 3.0, 10), "beta": 1.0, "gamma": (-3.0, 3.0, 10)},
        discriminator={"a": (-1.0, 1.0, 10), "b": (-1.0, 1.0, 10), "c": 0.0},
        mu_in=lambda a, c: np.exp(-((a - 1.0) ** 2 + c**2) / 0.2),
        nu_in=lambda a, b: np.exp(-((a - 0.3) ** 2 + (b - 0.2) ** 2) / 0.05), gamma_c=5.0)
    traj = solve_highres(model, 12.0, record_dt=0.05, save_times=[0.0, 6.0],
                         callback=lambda t, v: time.sleep(0.01), checkpoint=checkpoint,
                         checkpoint_steps=1, checkpoint_interval=None, resume=resume)
    series = traj.info["series"]
    return {"mu": traj.mu, "nu": traj.nu, "energy": traj.energy, "times": traj.times,
            **{f"series_{k}": v for k, v in series.items()},
            "_resumed_from_step": traj.info["resumed_from_step"]}
"""


def test_sigkill_then_resume_is_bit_identical(tmp_path, monkeypatch):
    kill_at = int(np.random.default_rng().integers(20, 200))
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).parent))
    resumed, unbroken, left = kill_and_resume(tmp_path, KILL_BODY, kill_at=kill_at)
    assert left >= kill_at and int(resumed["_resumed_from_step"]) == left
    assert_identical(resumed, unbroken)


class _Abort(Exception):
    pass


def _abort_after(t_stop: float):
    def callback(t: float, _view: object) -> None:
        if t >= t_stop:
            raise _Abort

    return callback


def test_particle_flow_and_toy_resume_bit_identically(tmp_path):
    """A run stopped by an exception after a checkpoint (every step) and resumed equals
    the unbroken run bit for bit: the flow's state is the neurons (its cached fields are
    recomputed), the toy's is g and the masses."""
    model = _model_2d(8)
    kwargs = {"n": 300, "t_final": 3.0, "record_dt": 0.25, "seed": 3}
    path = tmp_path / "flow.ckpt.npz"
    with pytest.raises(_Abort):
        simulate_particle_flow(
            model, **kwargs, checkpoint=path, checkpoint_steps=1, callback=_abort_after(1.2)
        )
    resumed = simulate_particle_flow(model, **kwargs, checkpoint=path, resume=True)
    unbroken = simulate_particle_flow(model, **kwargs)
    # the callback runs before the checkpoint tracker: the abort at step 5 (t = 1.25)
    # leaves the checkpoint of step 4
    assert resumed.info["resumed_from_step"] == 4
    for key, value in unbroken.series.items():
        np.testing.assert_array_equal(resumed.series[key], value)
    np.testing.assert_array_equal(resumed.omega, unbroken.omega)

    toy = ToyMeanField(gamma_c=2.7, law=BumpLaw(-0.6, 0.3), g0=-2.5)
    path = tmp_path / "toy.ckpt.npz"
    toy_kwargs = {"cells": 30, "t_final": 4.0, "record_dt": 0.5}
    with pytest.raises(_Abort):
        solve_toy_highres(
            toy,
            **toy_kwargs,
            checkpoint=path,
            checkpoint_steps=1,
            trackers=[CallbackTracker(_abort_after(2.0))],
        )
    resumed_toy = solve_toy_highres(toy, **toy_kwargs, checkpoint=path, resume=True)
    unbroken_toy = solve_toy_highres(toy, **toy_kwargs)
    # user trackers run after the checkpoint tracker: step 4 (t = 2) is written first
    assert resumed_toy.info["resumed_from_step"] == 4
    np.testing.assert_array_equal(resumed_toy.g, unbroken_toy.g)
    np.testing.assert_array_equal(resumed_toy.nu, unbroken_toy.nu)


# ----------------------------------------------------------------------------- the toy


def test_toy_before_the_wall_converges_at_second_order():
    """Before ν reaches the wall the mean-field toy translates ν rigidly by s(t), with a
    velocity that changes in time through g: the exact cell masses are the bump
    (1 - y²)^4 on [-0.6, 0.3] (C³) shifted by s(t) (ToyMeanField.exact).  At 0.4 t*
    (s = 0.64, the bump's top 0.94 short of the wall) the L1 errors of ν fall with local
    orders 1.61, 1.89, 1.95 (MUSCL) and 0.75, 0.85, 0.92 (upwind) on 50 ... 400 cells:
    fitted on 100 ... 400 they are within 0.15 of 2 and 1 (pre-asymptotic rise, as for
    the translated Gaussian)."""
    toy = ToyMeanField(gamma_c=1.7, law=BumpLaw(-0.6, 0.3, power=4), g0=-2.5)
    t = 0.4 * toy.exact(10.0).concentration_time
    exact = toy.exact(t, save_times=np.array([t]))
    assert exact.wall_mass(t) == 0.0
    cells = [100, 200, 400]
    errors = {"muscl": [], "upwind": []}
    for n in cells:
        grid = BoxGrid(lower=(-1.0,), upper=(1.0,), cells=(n,))
        for scheme in errors:
            fv = solve_toy_highres(toy, cells=n, t_final=t, scheme=scheme, record_dt=t / 4)
            errors[scheme].append(np.abs(fv.nu[-1] - exact.cell_masses(t, grid)).sum())
    n = np.array(cells, dtype=float)
    assert abs(_slope(n, np.array(errors["muscl"])) - 2.0) < 0.15
    assert abs(_slope(n, np.array(errors["upwind"])) - 1.0) < 0.15


def test_toy_limit_cycle_is_kept_better_by_muscl():
    """The exact toy is periodic after ν concentrates (amplitude arccosh(1 + 1/(2γ_c)),
    factor 1 per period); numerical diffusion of the released atom makes the discrete
    amplitude decay.  On 40 cells MUSCL's per-period loss is a fraction of upwind's
    (measured 0.022 against 0.11 at γ_c = 2.7)."""
    toy = ToyMeanField(gamma_c=2.7, law=BumpLaw(-0.6, 0.3, power=2), g0=-2.5)
    losses = {}
    for scheme in ("muscl", "upwind"):
        fv = solve_toy_highres(toy, cells=40, t_final=60.0, scheme=scheme, record_dt=0.05)
        fit = decay_per_period(fv.times, fv.g, t_min=10.0, centre=0.0)
        assert abs(fv.nu[-1].sum() - 1.0) < 1e-14 and fv.nu.min() >= 0.0
        losses[scheme] = 1.0 - fit.factor
    assert 0.0 < losses["muscl"] < 0.35 * losses["upwind"]


# ----------------------------------------------------------------------------- particles


def test_particle_flow_velocities_are_the_sgd_gradients():
    """The flow's velocities are the clipped SGD step's quadrature gradients (particles.py
    with batch=None) divided by the step, both networks from the same neurons."""
    model = WGANMeanField(
        data=DATA,
        generator={"alpha": (-3.0, 3.0, 8), "beta": (-2.0, 2.0, 8), "gamma": (-3.0, 3.0, 8)},
        discriminator={"a": (-1.0, 1.0, 8), "b": (-1.0, 1.0, 8), "c": (-1.0, 1.0, 8)},
        mu_in=np.full((8, 8, 8), 1 / 512),
        nu_in=np.full((8, 8, 8), 1 / 512),
        gamma_c=3.0,
    )
    rng = np.random.default_rng(2)
    theta, omega = rng.normal(size=(200, 3)), rng.uniform(-1.0, 1.0, (200, 3))
    flow = ParticleFlowStepper(model, theta, omega, substeps=1)
    v_theta, v_omega, energy, g_z = flow.fields(theta, omega)
    g_ref = particle_sgd._network(theta, model.z, 0)
    nodes = np.concatenate([g_ref, model.x_nodes])
    w = np.concatenate([model.z_weights, -model.x_weights])
    d_prime = particle_sgd._network(omega, g_ref, 1)
    np.testing.assert_allclose(g_z, g_ref, rtol=1e-14, atol=1e-16)
    np.testing.assert_allclose(v_omega, 3.0 * particle_sgd._gradient(omega, nodes, w), atol=1e-15)
    np.testing.assert_allclose(
        v_theta, -particle_sgd._gradient(theta, model.z, model.z_weights * d_prime), atol=1e-15
    )
    d = particle_sgd._network
    assert energy == pytest.approx(
        model.z_weights @ d(omega, g_ref, 0) - model.x_weights @ d(omega, model.x_nodes, 0),
        abs=1e-15,
    )


def test_particle_flow_converges_in_time_at_third_order_and_stays_in_q():
    """Before any neuron reaches ∂Q the flow is a smooth ODE and SSP-RK3 is third order:
    against the run with the smallest step dt_f = 0.025 the differences e(dt) = C(dt³ -
    dt_f³) fall by (0.2³ - dt_f³)/(0.1³ - dt_f³) = 8.1 and then 9.0 per halving (measured
    7.9 and 8.9); 15 % allows the next term, relative size O(dt)."""
    model = _model_2d(12)
    rng = np.random.default_rng(5)
    theta0 = np.stack([1.0 + 0.3 * rng.normal(size=400), 0.3 * rng.normal(size=400)], 1)
    omega0 = np.stack([0.3 + 0.1 * rng.normal(size=400), 0.2 + 0.1 * rng.normal(size=400)], 1)
    steps = (0.2, 0.1, 0.05, 0.025)
    finals = []
    for step in steps:
        run = simulate_particle_flow(
            model,
            n=400,
            t_final=0.8,
            max_step=step,
            record_dt=0.4,
            theta0=theta0,
            omega0=omega0,
        )
        assert np.abs(run.omega).max() <= 1.0
        finals.append(np.concatenate([run.theta[-1].ravel(), run.omega[-1].ravel()]))
    assert np.abs(finals[-1][400 * 3 :]).max() < 1.0  # no neuron on the wall yet
    errors = [np.abs(a - finals[-1]).max() for a in finals[:-1]]
    cubes = [dt**3 - steps[-1] ** 3 for dt in steps[:-1]]
    for k in range(2):
        assert errors[k] / errors[k + 1] == pytest.approx(cubes[k] / cubes[k + 1], rel=0.15)


def test_particle_flow_follows_the_pde():
    """Many neurons from the model's initial laws against the MUSCL solution: G(1) at
    t = 2 agrees within the sampling error (std of G(1) over neurons / sqrt N, 3 sigma)
    plus the PDE's discretisation error (its change from 24 to 48 cells)."""
    n = 20_000
    coarse, fine = _model_2d(24), _model_2d(48)
    run = simulate_particle_flow(fine, n=n, t_final=2.0, seed=4)
    pde = {
        cells: solve_highres(m, 2.0, save_times=[2.0]).info["series"]["G_probe"][-1]
        for cells, m in ((24, coarse), (48, fine))
    }
    o, s, b = (run.theta[0][:, k] for k in range(3))
    sampling = np.std(o * gp.meanfield.model.sigmoid(s + b)) / math.sqrt(n)
    error = abs(run.series["G_probe"][-1] - pde[48])
    assert error < 3.0 * sampling + 2.0 * abs(pde[48] - pde[24])


# ----------------------------------------------------------------------------- analysis


def test_decay_per_period_recovers_known_factors():
    t = np.linspace(0.0, 200.0, 801)
    for rate in (0.0, 0.004, 0.02):
        values = 0.3 * np.exp(-rate * t) * np.cos(2 * math.pi * t / 37.0 + 0.4)
        fit = decay_per_period(t, values, t_min=20.0)
        # sampling 0.25 of a period 37: the parabola's vertex is exact to O((dt/T)^4)
        assert fit.factor == pytest.approx(math.exp(-rate * 37.0), abs=2e-5)
        assert fit.period == pytest.approx(37.0, rel=1e-4)
        assert set(fit.kinds.tolist()) == {-1, 1}
    with pytest.raises(InvalidInputError, match="4 extrema"):
        decay_per_period(t, np.cos(t / 100.0), t_min=150.0)


def test_oscillation_extrema_refines_off_grid_peaks():
    t = np.linspace(0.0, 10.0, 41)
    tk, yk, kinds = oscillation_extrema(t, np.cos(t - 0.1))
    # the pieces between crossings of the midrange: a minimum and a maximum; the pieces
    # before the first crossing and after the last are incomplete and left out.  Samples
    # 0.25 apart: the parabola's vertex is within ~1e-3 in time, 1e-4 in value
    np.testing.assert_allclose(tk, [0.1 + math.pi, 0.1 + 2 * math.pi], atol=2e-3)
    np.testing.assert_allclose(np.abs(yk), 1.0, atol=1e-4)
    assert kinds.tolist() == [-1, 1]


# ----------------------------------------------------------------------------- bad input


def test_bad_input_is_refused_with_the_argument_named():
    model = _model_2d(8)
    grid = BoxGrid(lower=(0.0,), upper=(1.0,), cells=(4,))
    with pytest.raises(InvalidInputError, match="scheme"):
        solve_highres(model, 1.0, scheme="weno")
    with pytest.raises(InvalidInputError, match="limiter"):
        solve_highres(model, 1.0, limiter="superbee")
    with pytest.raises(InvalidInputError, match="cfl"):
        solve_highres(model, 1.0, cfl=1.5)
    with pytest.raises(InvalidInputError, match="record_dt"):
        solve_highres(model, 1.0, record_dt=0.0)
    with pytest.raises(InvalidInputError, match="t_final"):
        solve_highres(model, -1.0)
    with pytest.raises(InvalidInputError, match="model"):
        solve_highres("model", 1.0)
    with pytest.raises(InvalidInputError, match="probe"):
        solve_highres(model, 1.0, probe=math.nan)
    with pytest.raises(InvalidInputError, match="resume"):
        solve_highres(model, 1.0, resume=True)
    with pytest.raises(InvalidInputError, match="masses"):
        advance_law([1.0, -1.0, 0.0, 0.0], [np.ones(5)], grid, 1.0)
    with pytest.raises(InvalidInputError, match="duration"):
        advance_law([1.0, 0.0, 0.0, 0.0], [np.ones(5)], grid, 0.0)
    with pytest.raises(InvalidInputError, match="limiter"):
        muscl_rates(np.ones(4), [np.ones(5)], grid, limiter="none")
    with pytest.raises(InvalidInputError, match="cells"):
        solve_toy_highres(ToyMeanField(law=BumpLaw(-0.5, 0.5)), cells=1, t_final=1.0)
    with pytest.raises(InvalidInputError, match="n must"):
        simulate_particle_flow(model, n=0, t_final=1.0)
    with pytest.raises(InvalidInputError, match="omega0"):
        simulate_particle_flow(model, n=2, t_final=1.0, omega0=[[2.0, 0.0], [0.0, 0.0]])
    with pytest.raises(InvalidInputError, match="seed"):
        simulate_particle_flow(model, n=2, t_final=1.0, seed=1.5)
    with pytest.raises(InvalidInputError, match="wgan"):
        simulate_particle_flow(_model_2d(8, energy="wgan-gp"), n=2, t_final=1.0)
