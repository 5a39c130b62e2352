"""The final state is always saved (issue 21): t_final is a save time unless the caller
passes ``save_final=False``.

For every time-dependent entry point: save times that end before t_final still give a
result whose last time is t_final, and whose last state equals (bit for bit, where the
stepping is the same) that of a run saved only at t_final; ``save_final=False`` gives
the old result (the listed times only).  Entry points that save every step (lGAN,
dual schemes, SDE ensembles, the toy paths) are checked to end at their final time.
"""

from __future__ import annotations

import numpy as np
import pytest

import gan_pde as gp
from gan_pde.errors import InvalidInputError
from gan_pde.flows import JSDFlow
from gan_pde.flows.particles import simulate_particles as jsd_particles
from gan_pde.meanfield import (
    BumpLaw,
    ToyMeanField,
    ToyWGAN,
    WGANMeanField,
)
from gan_pde.meanfield import (
    simulate_particles as neuron_particles,
)

TARGET = gp.GaussianMixture(means=[[-1.5], [1.5]], stds=[1.0, 1.0], weights=[0.5, 0.5])
START = gp.Gaussian(mean=[0.5], cov=[[0.6]])
DATA = gp.GaussianMixture(means=[[-1.0], [1.0]], stds=[0.3, 0.3])


def _flow(cells: int = 80) -> JSDFlow:
    return JSDFlow(TARGET, START, gp.mesh.interval(-8.0, 8.0, n=cells))


def _wgan(n: int = 30) -> WGANMeanField:
    return WGANMeanField(
        data=DATA,
        generator={"alpha": (-3.0, 3.0, n), "beta": 1.0, "gamma": 0.0},
        discriminator={"a": (-1.0, 1.0, n), "b": 1.0, "c": 0.0},
        mu_in=lambda a: np.exp(-((a - 1.0) ** 2) / 0.1),
        nu_in=lambda a: np.exp(-((a - 0.3) ** 2) / 0.05),
        gamma_c=2.0,
    )


# ----------------------------------------------------------------------------- JSD flow


def test_jsd_issue_example_ends_at_t_final():
    # the call of the issue: it used to stop saving at t = 2 while running to t = 5
    traj = _flow().solve(5.0, 0.05, save_times=[0, 1, 2])
    assert traj.times[-1] == 5.0 == traj.info["t_final"]
    assert traj.times.tolist()[:3] == [0.0, 1.0, 2.0] and traj.times.size == 4
    assert len(traj.v) == len(traj.densities) == traj.jsd.size == 4
    assert traj.info["save_final"] is True


@pytest.mark.parametrize("scheme", ["backward-euler", "tr-bdf2", "crank-nicolson"])
def test_jsd_final_state_equals_a_run_saved_only_at_t_final(scheme):
    flow = _flow()
    # dt = 0.25 and the save times are binary fractions: both runs take the same steps
    early = flow.solve(2.0, 0.25, save_times=[0.0, 0.5, 1.0], scheme=scheme)
    final = flow.solve(2.0, 0.25, save_times=[2.0], scheme=scheme)
    np.testing.assert_array_equal(early.times, [0.0, 0.5, 1.0, 2.0])
    np.testing.assert_array_equal(final.times, [0.0, 2.0])
    np.testing.assert_array_equal(early.step_times, final.step_times)
    np.testing.assert_array_equal(early.v[-1], final.v[-1])
    for key in ("jsd", "kl", "l1", "mass", "grad_v_integral"):
        assert getattr(early, key)[-1] == getattr(final, key)[-1], key


def test_jsd_save_final_false_keeps_the_old_behaviour():
    flow = _flow()
    old = flow.solve(2.0, 0.25, save_times=[0.0, 0.5, 1.0], save_final=False)
    np.testing.assert_array_equal(old.times, [0.0, 0.5, 1.0])
    assert len(old.v) == 3 and old.step_times[-1] == 2.0  # still steps to t_final
    assert old.info["save_final"] is False
    # its last saved state is the state at t = 1 of the default run
    new = flow.solve(2.0, 0.25, save_times=[0.0, 0.5, 1.0])
    np.testing.assert_array_equal(old.v[-1], new.v[2])
    # a save time at t_final is saved either way, once
    both = flow.solve(1.0, 0.25, save_times=[0.0, 1.0], save_final=False)
    np.testing.assert_array_equal(both.times, [0.0, 1.0])
    np.testing.assert_array_equal(flow.solve(1.0, 0.25, save_times=[0.0, 1.0]).times, [0.0, 1.0])


def test_jsd_default_and_off_grid_save_times_end_at_t_final():
    flow = _flow()
    every = flow.solve(1.0, 0.3)  # every step: the last one is shortened to t_final
    assert every.times[-1] == 1.0 and every.times.size == 5
    off = flow.solve(1.0, 0.1, save_times=[0.37])
    np.testing.assert_array_equal(off.times, [0.0, 0.37, 1.0])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"save_times": [0.0, 2.5]}, r"save_times must lie in \[0, t_final = 2\].*raise t_final"),
        ({"save_final": "yes"}, "save_final must be True or False"),
        ({"save_final": 1}, "save_final must be True or False"),
        ({"save_final": None}, "save_final must be True or False"),
    ],
)
def test_jsd_bad_save_arguments(kwargs, match):
    with pytest.raises(InvalidInputError, match=match):
        _flow().solve(2.0, 0.25, **kwargs)


def test_jsd_resume_with_early_save_times_is_bit_identical(tmp_path):
    flow = _flow(400)
    kwargs = {"save_times": [0.0, 0.5, 1.0], "scheme": "tr-bdf2"}
    reference = flow.solve(2.0, 0.1, **kwargs)
    assert reference.times[-1] == 2.0

    class Interrupt(Exception):
        pass

    def stop(t, _v):
        if t > 1.45:
            raise Interrupt

    path = tmp_path / "c.npz"
    with pytest.raises(Interrupt):
        flow.solve(2.0, 0.1, checkpoint=path, checkpoint_interval=0, callback=stop, **kwargs)
    resumed = flow.solve(2.0, 0.1, checkpoint=path, resume=True, **kwargs)
    assert resumed.info["resumed_from_step"] > 0
    np.testing.assert_array_equal(resumed.times, reference.times)
    for a, b in zip(resumed.v, reference.v, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(resumed.jsd, reference.jsd)
    # a checkpoint of a save_final=False run is another run: refused, not mixed
    from gan_pde.errors import IncompatibleCheckpointError

    with pytest.raises(Interrupt):
        flow.solve(2.0, 0.1, checkpoint=path, checkpoint_interval=0, callback=stop, **kwargs)
    with pytest.raises(IncompatibleCheckpointError):
        flow.solve(2.0, 0.1, checkpoint=path, resume=True, save_final=False, **kwargs)


def test_jsd_particles_keep_the_final_positions():
    flow = _flow()
    y0 = START.sample(200, rng=0)
    early = jsd_particles(flow, y0, 1.0, 0.25, save_times=[0.0, 0.5])
    final = jsd_particles(flow, y0, 1.0, 0.25, save_times=[0.0, 1.0])
    np.testing.assert_array_equal(early.times, [0.0, 0.5, 1.0])
    assert early.positions.shape == (3, 200, 1)
    np.testing.assert_array_equal(early.positions[-1], final.positions[-1])
    np.testing.assert_array_equal(early.flow.v[-1], final.flow.v[-1])
    old = jsd_particles(flow, y0, 1.0, 0.25, save_times=[0.0, 0.5], save_final=False)
    np.testing.assert_array_equal(old.times, [0.0, 0.5])
    np.testing.assert_array_equal(old.positions[-1], early.positions[1])


# ----------------------------------------------------------------------------- mean field


def test_wgan_mean_field_final_state_with_a_fixed_step():
    model = _wgan()
    dt = 1.0 / 32.0  # binary: the save times 0.5 and 1 are hit without shortened steps
    early = model.solve(1.0, dt=dt, save_times=[0.0, 0.5])
    final = model.solve(1.0, dt=dt, save_times=[0.0, 1.0])
    np.testing.assert_array_equal(early.times, [0.0, 0.5, 1.0])
    assert early.info["t_final"] == 1.0 and early.info["n_steps"] == 32
    np.testing.assert_array_equal(early.mu[-1], final.mu[-1])
    np.testing.assert_array_equal(early.nu[-1], final.nu[-1])
    assert early.energy[-1] == final.energy[-1]
    assert early.mu.shape[0] == early.generator.shape[0] == early.wall_mass.size == 3


def test_wgan_mean_field_final_state_with_cfl_steps():
    # CFL-chosen steps are shortened at the save times, so the two runs differ in round-off
    model = _wgan()
    early = model.solve(1.0, save_times=[0.0, 0.25])
    final = model.solve(1.0, save_times=[0.0, 1.0])
    assert early.times[-1] == 1.0 and early.times.size == 3
    np.testing.assert_allclose(early.mu[-1], final.mu[-1], rtol=0, atol=1e-3)
    assert np.abs(early.mu[-1] - early.mu[1]).max() > 1e-2  # t = 1 is not t = 0.25


def test_wgan_mean_field_save_final_false_stops_at_the_last_save_time():
    model = _wgan()
    old = model.solve(1.0, dt=1.0 / 32.0, save_times=[0.0, 0.5], save_final=False)
    np.testing.assert_array_equal(old.times, [0.0, 0.5])
    assert old.info["n_steps"] == 16  # the old behaviour: no steps after the last save
    short = model.solve(0.5, dt=1.0 / 32.0, save_times=[0.0, 0.5])
    np.testing.assert_array_equal(old.mu[-1], short.mu[-1])
    with pytest.raises(InvalidInputError, match="save_final must be True or False"):
        model.solve(1.0, save_final="no")
    with pytest.raises(InvalidInputError, match=r"\[0, t_final = 1\].*raise t_final"):
        model.solve(1.0, save_times=[0.0, 2.0])
    with pytest.raises(InvalidInputError, match="real numbers"):
        model.solve(1.0, save_times=["a"])


def test_wgan_mean_field_round_off_last_save_time_is_t_final():
    model = _wgan()
    times = np.linspace(0.0, 0.3, 4)  # 0.3 itself, but a grid built by hand may be 0.2999…
    traj = model.solve(0.3, save_times=np.append(times[:-1], 0.3 - 1e-15))
    assert traj.times.size == 4 and traj.times[-1] == 0.3


def test_toy_mean_field_fv_keeps_the_final_state():
    model = ToyMeanField(gamma_c=1.0, law=BumpLaw(-0.5, 0.5), g0=-3.0)
    dt = 1.0 / 64.0
    early = model.solve_fv(cells=50, t_final=2.0, save_times=[0.0, 1.0], dt=dt)
    final = model.solve_fv(cells=50, t_final=2.0, save_times=[0.0, 2.0], dt=dt)
    np.testing.assert_array_equal(early.times, [0.0, 1.0, 2.0])
    assert early.n_steps == final.n_steps == 128
    np.testing.assert_array_equal(early.nu[-1], final.nu[-1])
    assert early.g[-1] == final.g[-1]
    old = model.solve_fv(cells=50, t_final=2.0, save_times=[0.0, 1.0], dt=dt, save_final=False)
    np.testing.assert_array_equal(old.times, [0.0, 1.0])
    assert old.n_steps == 64
    np.testing.assert_array_equal(old.nu[-1], early.nu[1])


def test_toy_exact_paths_end_at_t_final():
    model = ToyMeanField(gamma_c=1.0, law=BumpLaw(-0.5, 0.5), g0=-3.0)
    path = model.exact(4.0, save_times=[1.0, 2.0])
    assert path.times[-1] == 4.0
    assert 1.0 in path.times and 2.0 in path.times
    assert ToyWGAN(gamma_c=1.0).simulate(t_final=7.5).times[-1] == 7.5


def test_neuron_particles_keep_the_final_state():
    model = _wgan(20)
    common = {"n": 50, "h": 1.0, "t_final": 0.1, "seed": 3}  # dt = h / n = 0.02: 5 steps
    early = neuron_particles(model, save_times=[0.0, 0.04], **common)
    final = neuron_particles(model, save_times=[0.0, 0.1], **common)
    assert early.times.size == 3 and early.times[-1] == pytest.approx(0.1, abs=1e-15)
    np.testing.assert_array_equal(early.theta[-1], final.theta[-1])
    np.testing.assert_array_equal(early.omega[-1], final.omega[-1])
    old = neuron_particles(model, save_times=[0.0, 0.04], save_final=False, **common)
    assert old.times.size == 2 and old.theta.shape[0] == 2
    np.testing.assert_array_equal(old.theta[-1], early.theta[1])
    # t_final off the step grid is rounded up to whole steps, and the final step is saved
    up = neuron_particles(model, n=50, h=1.0, t_final=0.11, seed=3)
    assert up.info["steps"] == 6 and up.times[-1] == pytest.approx(0.12, abs=1e-15)
    assert up.times[-1] >= 0.11 and up.info["t_final"] == up.times[-1]


# ------------------------------------------------------------- models that save every step


def test_lgan_integrate_ends_at_the_last_step():
    from gan_pde.spectral.lgan_system import LGANSystem, integrate

    system = LGANSystem(
        gp.Gaussian(mean=[0.0], cov=[[1.0]]), gp.mesh.interval(-6, 6, n=20), alpha=0.0, beta=1.0
    )
    y0 = system.state(v=lambda x: np.ones_like(x))
    traj = integrate(system, y0, tau=0.25, steps=8)
    assert traj.times[-1] == 2.0 and traj.times.size == 9
    norms = system.norms(traj.final)
    assert norms == (traj.u_norm[-1], traj.v_norm[-1])


def test_dual_paths_end_at_their_final_time():
    from gan_pde.dual.games import oscillating_game
    from gan_pde.dual.schemes import dual_flow, simulate

    game = oscillating_game([0.0])
    path = simulate(game, [1.0], [0.0], tau=0.25, n_steps=6, scheme="alternating")
    assert path.times[-1] == 1.5 and path.x.shape[0] == 7
    exact = dual_flow(game, [1.0], [0.0], [0.0, 0.5, 1.5])
    assert exact.times[-1] == 1.5 and exact.x.shape[0] == 3


def test_sde_ensembles_end_at_their_final_time():
    torch = pytest.importorskip("torch")
    from gan_pde.sde import GANSDE, simulate_sde, simulate_sga

    rng = np.random.default_rng(3)
    x, z = rng.normal(1.0, 0.5, 4), rng.normal(0.0, 1.0, 3)

    def loss(theta, omega, x, z):
        return (
            omega[0] * x
            - omega[0] * (theta[0] + theta[1] * z)
            + 0.25 * ((theta**2).sum() - (omega**2).sum())
        )

    sde = GANSDE(loss, x, z, d_theta=2, d_omega=1)
    gamma0 = torch.tensor([0.5, 1.0, 0.2], dtype=torch.float64)
    sga = simulate_sga(sde, gamma0, eta=0.1, batch_size=1, steps=5, n_paths=8)
    assert sga.times[-1] == pytest.approx(0.5, abs=1e-15) and sga.mean.shape[0] == 6
    run = simulate_sde(sde, gamma0, eta=0.1, batch_size=1, steps=5, n_paths=8)
    assert run.times[-1] == pytest.approx(0.5, abs=1e-15) and run.mean.shape[0] == 6
    # the last recorded estimate is the one of the final states (Richardson per path)
    fine, coarse = run.final, run.final_coarse
    np.testing.assert_allclose(run.mean[-1][:3], (2 * fine - coarse).mean(0), rtol=1e-12)


# ----------------------------------------------------------------------------- trainers


def _trainers():
    torch = pytest.importorskip("torch")
    del torch
    from gan_pde import nn

    rho = gp.Gaussian(mean=[1.0], cov=[[1.0]])
    start = gp.Gaussian(mean=[0.0], cov=[[1.0]])
    common = {"n_data": 200, "device": "cpu", "seed": 1}
    return {
        "gan": lambda **kw: nn.train_gan(rho, batch_size=32, n_eval=20, **common, **kw),
        "algorithm2": lambda **kw: nn.train_algorithm2(
            rho, epsilon=0.1, batch_size=32, n_eval=20, **common, **kw
        ),
        "particles": lambda **kw: nn.train_particles(
            rho, start, epsilon=0.1, n_particles=20, batch_size=32, **common, **kw
        ),
        "wgan": lambda **kw: nn.train_wgan(rho, width=10, batch_size=16, n_eval=20, **common, **kw),
        "lsgan": lambda **kw: nn.train_lsgan(rho, alpha=0.25, beta=-0.5, n_eval=20, **common, **kw),
    }


@pytest.mark.parametrize("algorithm", ["gan", "algorithm2", "particles", "wgan", "lsgan"])
def test_trainers_snapshot_the_last_step(algorithm):
    train = _trainers()[algorithm]
    early = train(steps=4, save_steps=[0, 2])
    final = train(steps=4, save_steps=[0, 4])
    np.testing.assert_array_equal(early.steps, [0, 2, 4])
    assert early.times[-1] == final.times[-1] > early.times[1]
    np.testing.assert_array_equal(early.samples[-1], final.samples[-1])
    for name, values in final.parameters.items():
        np.testing.assert_array_equal(early.parameters[name][-1], values[-1])
    old = train(steps=4, save_steps=[0, 2], save_final=False)
    np.testing.assert_array_equal(old.steps, [0, 2])
    np.testing.assert_array_equal(old.samples[-1], early.samples[1])


def test_trainer_save_grid_rules():
    pytest.importorskip("torch")
    from gan_pde.nn.engine import save_grid

    np.testing.assert_array_equal(save_grid(10, [3, 1]), [1, 3, 10])
    np.testing.assert_array_equal(save_grid(10, [3, 1], save_final=False), [1, 3])
    np.testing.assert_array_equal(save_grid(10, [0, 10]), [0, 10])
    np.testing.assert_array_equal(save_grid(10, 3), [0, 5, 10])  # a count: ends at steps
    with pytest.raises(InvalidInputError, match=r"\[0, steps = 10\].*raise steps"):
        save_grid(10, [0, 11])
    with pytest.raises(InvalidInputError, match="save_final must be True or False"):
        save_grid(10, [0, 5], save_final=0)
