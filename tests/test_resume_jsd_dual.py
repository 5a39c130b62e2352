"""The JSD flow, its particles and the dual schemes on the stepping engine (issue 20).

Each model is killed by SIGKILL at a step drawn at random, resumed from its checkpoint and
compared bit for bit with an unbroken run (:mod:`killresume`); the results follow the one
trajectory protocol (``times``, ``info`` with the engine's bookkeeping); checkpoints of
the old layout are refused by name.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from killresume import assert_identical, kill_and_resume

import gan_pde as gp
from gan_pde.checkpoint import save_checkpoint
from gan_pde.dual import ParticleGame, oscillating_game, simulate, tanh_game
from gan_pde.engine import StopTracker, Tracker, run
from gan_pde.errors import IncompatibleCheckpointError, InvalidInputError
from gan_pde.flows import JSDFlow
from gan_pde.flows.jsd import JSDStepper
from gan_pde.flows.particles import simulate_particles

TARGET = gp.GaussianMixture(means=[[-2.0], [2.0]], stds=[1.0, 1.0], weights=[0.5, 0.5])
START = gp.Gaussian(mean=[0.0], cov=[[1.0]])
TESTS = Path(__file__).parent

# The child bodies: ``result(checkpoint, resume)`` runs the model with a checkpoint after
# every step and a 10 ms sleep per step (so that the parent catches the drawn step).
_JSD_BODY = """
import time
import gan_pde as gp
from gan_pde.flows import JSDFlow

def result(checkpoint, resume):
    target = gp.GaussianMixture(means=[[-2.0], [2.0]], stds=[1.0, 1.0], weights=[0.5, 0.5])
    flow = JSDFlow(target, gp.Gaussian(mean=[0.0], cov=[[1.0]]),
                   gp.mesh.interval(-10.0, 10.0, n={cells}))
    traj = flow.solve(1.0, {dt}, save_times=[0.0, 0.25, 0.5, 0.8], scheme="{scheme}",
                      callback=lambda t, v: time.sleep(0.01), checkpoint=checkpoint,
                      checkpoint_interval=None, checkpoint_steps=1, resume=resume)
    return {{"times": traj.times, "v": np.stack(traj.v), "jsd": traj.jsd, "kl": traj.kl,
            "l1": traj.l1, "mass": traj.mass, "dissipation": traj.dissipation,
            "grad_v_integral": traj.grad_v_integral, "step_times": traj.step_times,
            "newton_iterations": traj.newton_iterations,
            "newton_residuals": traj.newton_residuals, "substeps": traj.substeps,
            "_resumed_from_step": traj.info["resumed_from_step"]}}
"""

_PARTICLES_BODY = """
import time
import gan_pde as gp
from gan_pde.engine import CallbackTracker
from gan_pde.flows import JSDFlow
from gan_pde.flows.particles import simulate_particles

def result(checkpoint, resume):
    target = gp.GaussianMixture(means=[[-2.0], [2.0]], stds=[1.0, 1.0], weights=[0.5, 0.5])
    start = gp.Gaussian(mean=[0.0], cov=[[1.0]])
    flow = JSDFlow(target, start, gp.mesh.interval(-10.0, 10.0, n=1200))
    y0 = start.sample(300, rng=np.random.default_rng(5))
    out = simulate_particles(
        flow, y0, 1.0, 0.02, save_times=[0.0, 0.3, 1.0], scheme="tr-bdf2",
        checkpoint=checkpoint, checkpoint_interval=None, checkpoint_steps=1, resume=resume,
        trackers=[CallbackTracker(lambda t, view: time.sleep(0.01))])
    return {"times": out.times, "positions": out.positions, "stopped": out.stopped,
            "v": np.stack(out.flow.v), "jsd": out.flow.jsd,
            "newton_iterations": out.flow.newton_iterations,
            "_resumed_from_step": out.info["resumed_from_step"]}
"""

_DUAL_BODY = """
import time
from gan_pde.dual import simulate, tanh_game
from gan_pde.engine import CallbackTracker

def result(checkpoint, resume):
    path = simulate(tanh_game([0.5]), [1.0], [-0.5], tau=0.05, n_steps=70,
                    scheme="implicit", checkpoint=checkpoint, checkpoint_interval=None,
                    checkpoint_steps=1, resume=resume,
                    trackers=[CallbackTracker(lambda t, view: time.sleep(0.01))])
    return {"times": path.times, "x": path.x, "y": path.y,
            "inner_iterations": path.inner_iterations,
            "_resumed_from_step": path.info["resumed_from_step"]}
"""

_PARTICLE_GAME_BODY = """
import time
from gan_pde.dual import ParticleGame, bimodal_target
from gan_pde.engine import CallbackTracker

def result(checkpoint, resume):
    game = ParticleGame(target=bimodal_target(32), centers=np.linspace(-3.0, 3.0, 13),
                        width=0.5, weight_decay=0.2)
    path = game.simulate(np.linspace(0.2, 0.8, 32), np.zeros(13), tau=0.4, n_steps=70,
                         checkpoint=checkpoint, checkpoint_interval=None,
                         checkpoint_steps=1, resume=resume,
                         trackers=[CallbackTracker(lambda t, view: time.sleep(0.01))])
    return {"times": path.times, "particles": path.particles, "y": path.y,
            "curvature": path.curvature,
            "_resumed_from_step": path.info["resumed_from_step"]}
"""

_CASES = {
    # 1200 cells: above the operator's _REUSE_MIN_DOFS, so the factorisation that Newton
    # reuses across steps is part of the state (the resume must restore it exactly)
    "jsd-backward-euler": (_JSD_BODY.format(cells=1200, dt=0.0125, scheme="backward-euler"), 80),
    "jsd-tr-bdf2-small": (_JSD_BODY.format(cells=100, dt=0.0125, scheme="tr-bdf2"), 80),
    "jsd-particles": (_PARTICLES_BODY, 50),
    "dual-simulate": (_DUAL_BODY, 70),
    "particle-game": (_PARTICLE_GAME_BODY, 70),
}


@pytest.mark.parametrize("case", sorted(_CASES))
def test_sigkill_at_a_random_step_then_resume_is_bit_identical(tmp_path, monkeypatch, case):
    body, n_steps = _CASES[case]
    kill_at = int(np.random.default_rng().integers(3, n_steps - 10))
    monkeypatch.setenv("PYTHONPATH", str(TESTS))
    resumed, unbroken, left = kill_and_resume(tmp_path, body, kill_at=kill_at)
    assert kill_at <= left < n_steps
    assert int(resumed["_resumed_from_step"]) == left
    assert int(unbroken["_resumed_from_step"]) == 0
    assert_identical(resumed, unbroken)


def test_a_checkpoint_of_the_old_layout_is_refused_by_name(tmp_path):
    # what JSDFlow.solve wrote before the engine: its own keys and fingerprint
    flow = JSDFlow(TARGET, START, gp.mesh.interval(-10.0, 10.0, n=50))
    path = tmp_path / "old.npz"
    save_checkpoint(
        path,
        kind="jsd_flow",
        fingerprint={"t_final": 1.0, "dt": 0.1, "scheme": "backward-euler"},
        state={"step": 3, "v": flow.v0, "s": np.empty(0), "grad_v": 0.0},
    )
    with pytest.raises(IncompatibleCheckpointError, match="'checkpoint_layout' is None"):
        flow.solve(1.0, 0.1, checkpoint=path, resume=True)


def test_results_follow_the_trajectory_protocol():
    flow = JSDFlow(TARGET, START, gp.mesh.interval(-10.0, 10.0, n=80))
    traj = flow.solve(1.0, 0.25, save_times=[0.5])
    particles = simulate_particles(flow, START.sample(20, rng=1), 1.0, 0.25, save_times=[0.5])
    path = simulate(oscillating_game([0.0]), [1.0], [0.0], tau=0.1, n_steps=5)
    game = ParticleGame(target=[2.0], centers=[], width=1.0, linear=True)
    particle_path = game.simulate([0.0, 1.0], [0.0], tau=0.5, n_steps=3)
    expected = {
        # steps of 0.25 to 1: the save time 0.5 is on the grid
        "jsd": (traj, [0.0, 0.5, 1.0], 4),
        "particles": (particles, [0.0, 0.5, 1.0], 4),
        "dual": (path, 0.1 * np.arange(6), 5),
        "particle game": (particle_path, 0.5 * np.arange(4), 3),
    }
    for name, (result, times, n_steps) in expected.items():
        np.testing.assert_array_equal(result.times, times, err_msg=name)
        assert result.info["n_steps"] == n_steps, name
        assert result.info["resumed_from_step"] == 0, name
        assert result.info["seconds"] > 0.0, name
        assert result.info["stop_reason"] == "", name
    assert particles.flow.info["n_steps"] == 4
    for result in (traj, particles):
        assert result.info["versions"]["numpy"] == np.__version__
    assert particles.positions.shape == (3, 20, 1)
    assert path.x.shape == (6, 1) and path.inner_iterations.shape == (5,)
    assert particle_path.particles.shape == (4, 2) and particle_path.curvature.shape == (3,)


def test_a_stop_tracker_ends_the_jsd_flow_and_keeps_its_end():
    # the JSD decreases monotonically (backward Euler, P1 lumped on an interval): the run
    # stops at the first step below half its initial value and saves that state
    flow = JSDFlow(TARGET, START, gp.mesh.interval(-10.0, 10.0, n=80))
    full = flow.solve(4.0, 0.1)
    half = 0.5 * full.jsd[0]
    stop = StopTracker(lambda t, v: flow.jsd(v) < half, reason="JSD halved")
    traj = flow.solve(4.0, 0.1, trackers=[stop])
    first = int(np.argmax(full.jsd < half))
    assert 0 < first < full.jsd.size - 1
    assert traj.info["n_steps"] == first and "JSD halved" in traj.info["stop_reason"]
    np.testing.assert_array_equal(traj.jsd, full.jsd[: first + 1])
    np.testing.assert_array_equal(traj.times, full.times[: first + 1])


def test_resume_in_process_for_particles_and_dual_schemes(tmp_path):
    """An exception in a callback stops a run after its checkpoint of step 7; the resume
    from it equals the unbroken run exactly (the SIGKILL tests above do the same across
    processes, at random steps)."""

    class Stop(Exception):
        pass

    class StopAt(Tracker):
        name = "stop_at"

        def after_step(self, run_state, record):
            if run_state.step == 7:
                raise Stop

    every = {"checkpoint_interval": None, "checkpoint_steps": 1}
    game = tanh_game([0.5])
    kwargs = {"tau": 0.1, "n_steps": 12, "scheme": "joint-implicit"}
    unbroken = simulate(game, [1.0], [-0.5], **kwargs)
    path = tmp_path / "dual.npz"
    with pytest.raises(Stop):
        simulate(game, [1.0], [-0.5], checkpoint=path, trackers=[StopAt()], **every, **kwargs)
    resumed = simulate(game, [1.0], [-0.5], checkpoint=path, resume=True, **kwargs)
    assert resumed.info["resumed_from_step"] == 7
    for key in ("times", "x", "y", "inner_iterations"):
        assert getattr(resumed, key).tobytes() == getattr(unbroken, key).tobytes(), key
    # the same checkpoint refuses another step, naming it
    with pytest.raises(IncompatibleCheckpointError, match="'tau' is 0.1 in the checkpoint"):
        simulate(game, [1.0], [-0.5], checkpoint=path, resume=True, **{**kwargs, "tau": 0.2})

    flow = JSDFlow(TARGET, START, gp.mesh.interval(-10.0, 10.0, n=100))
    y0 = START.sample(50, rng=2)
    unbroken = simulate_particles(flow, y0, 0.6, 0.05)
    path = tmp_path / "particles.npz"
    with pytest.raises(Stop):
        simulate_particles(flow, y0, 0.6, 0.05, checkpoint=path, trackers=[StopAt()], **every)
    resumed = simulate_particles(flow, y0, 0.6, 0.05, checkpoint=path, resume=True)
    assert resumed.info["resumed_from_step"] == 7
    assert resumed.positions.tobytes() == unbroken.positions.tobytes()
    assert np.stack(resumed.flow.v).tobytes() == np.stack(unbroken.flow.v).tobytes()
    with pytest.raises(IncompatibleCheckpointError, match="positions"):
        simulate_particles(flow, y0 + 0.1, 0.6, 0.05, checkpoint=path, resume=True)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (
            lambda: simulate(
                oscillating_game([0.0]), [1.0], [0.0], tau=0.1, n_steps=2, resume=True
            ),
            "resume=True needs a checkpoint",
        ),
        (
            lambda: ParticleGame(target=[2.0], centers=[], width=1.0, linear=True).simulate(
                [0.0], [0.0], tau=0.1, n_steps=2, resume=True
            ),
            "resume=True needs a checkpoint",
        ),
        (
            lambda: simulate(
                oscillating_game([0.0]),
                [1.0],
                [0.0],
                tau=0.1,
                n_steps=2,
                checkpoint="c.npz",
                checkpoint_steps=0,
            ),
            "every_steps",
        ),
        (
            lambda: JSDFlow(TARGET, START, gp.mesh.interval(-10.0, 10.0, n=20)).solve(
                1.0, 0.1, max_newton_iterations=0
            ),
            "max_newton_iterations",
        ),
        (
            lambda: JSDFlow(TARGET, START, gp.mesh.interval(-10.0, 10.0, n=20)).solve(
                1.0, 0.1, trackers=[print]
            ),
            "Tracker",
        ),
    ],
)
def test_bad_engine_arguments_are_refused_with_the_argument_named(call, match):
    with pytest.raises(InvalidInputError, match=match):
        call()


def test_the_jsd_stepper_refuses_a_foreign_grid():
    flow = JSDFlow(TARGET, START, gp.mesh.interval(-10.0, 10.0, n=20))
    stepper = JSDStepper(flow, 1.0, 0.25)
    with pytest.raises(InvalidInputError, match="its own grid"):
        run(stepper, 1.0, 0.1)
    # the same parameters give the same grid: then run(t_final, dt) works as solve does
    direct = stepper.trajectory(run(stepper, 1.0, 0.25))
    np.testing.assert_array_equal(direct.jsd, flow.solve(1.0, 0.25).jsd)
