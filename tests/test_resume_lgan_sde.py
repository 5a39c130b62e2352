"""The lGAN integrators and the SDE simulations on the stepping engine (issue 20).

Each long run is killed with SIGKILL at a random step, resumed from its checkpoint, and
compared bit for bit with an unbroken run (:mod:`killresume`); the in-process tests check
the trajectory protocol, stopping, refused checkpoints and bad input.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
from killresume import assert_identical, kill_and_resume

import gan_pde as gp
from gan_pde.engine import CallbackTracker, StopTracker
from gan_pde.errors import IncompatibleCheckpointError, InvalidInputError
from gan_pde.spectral.lgan_system import LGANSystem, integrate


def _kill_step(low: int, high: int) -> int:
    return int(np.random.default_rng().integers(low, high))


# --------------------------------------------------------------------------- lGAN

LGAN_BODY = """
import time
import gan_pde as gp
from gan_pde.engine import CallbackTracker
from gan_pde.spectral.lgan_system import LGANSystem, integrate

def result(checkpoint, resume):
    system = LGANSystem(gp.Gaussian(mean=[0.0], cov=[[1.0]]), gp.mesh.interval(-6, 6, n=30),
                        alpha=0.3, beta=1.0, gamma=0.2)
    y0 = np.random.default_rng(5).standard_normal(system.n_u + system.n_v)
    trajectory = integrate(
        system, y0, tau=0.02, steps=120, scheme="{scheme}",
        checkpoint=checkpoint, checkpoint_steps=1, checkpoint_interval=None, resume=resume,
        trackers=[CallbackTracker(lambda t, y: time.sleep(0.01))],
    )
    return {{"times": trajectory.times, "u_norm": trajectory.u_norm,
             "v_norm": trajectory.v_norm, "final": trajectory.final,
             "_resumed_from_step": trajectory.info["resumed_from_step"]}}
"""


@pytest.mark.parametrize("scheme", ["crank-nicolson", "rk4"])
def test_lgan_integrate_killed_at_a_random_step_resumes_bit_identically(tmp_path, scheme):
    kill_at = _kill_step(5, 95)
    resumed, unbroken, left = kill_and_resume(
        tmp_path, LGAN_BODY.format(scheme=scheme), kill_at=kill_at
    )
    assert left >= kill_at and int(resumed["_resumed_from_step"]) == left
    assert unbroken["times"].size == 121
    assert_identical(resumed, unbroken)


def _system(**kwargs):
    return LGANSystem(
        gp.Gaussian(mean=[0.0], cov=[[1.0]]),
        gp.mesh.interval(-6.0, 6.0, n=20),
        **{"alpha": 0.3, "beta": 1.0, "gamma": 0.2, **kwargs},
    )


def test_lgan_trajectory_follows_the_protocol_and_callbacks_see_the_state():
    system = _system()
    y0 = system.state(v=np.ones_like)
    seen = []
    trajectory = integrate(
        system, y0, tau=0.1, steps=10, trackers=[CallbackTracker(lambda t, y: seen.append(y))]
    )
    assert isinstance(trajectory.times, np.ndarray)
    np.testing.assert_array_equal(trajectory.times, 0.1 * np.arange(11))
    assert trajectory.u_norm.shape == trajectory.v_norm.shape == (11,)
    info = trajectory.info
    assert info["n_steps"] == 10 and info["resumed_from_step"] == 0 and info["seconds"] > 0
    assert info["stop_reason"] == "" and info["steps"] == 10
    # the callback gets y after each step: its norms are the recorded ones
    assert len(seen) == 10
    np.testing.assert_array_equal(seen[-1], trajectory.final)
    assert system.norms(seen[4]) == (trajectory.u_norm[5], trajectory.v_norm[5])


def test_lgan_stop_tracker_ends_the_run_early():
    system = _system()
    trajectory = integrate(
        system,
        system.state(v=np.ones_like),
        tau=0.1,
        steps=50,
        trackers=[StopTracker(lambda t, y: t >= 0.45, reason="enough")],
    )
    # steps end at 0.1, 0.2, ...: the first at or beyond 0.45 is step 5 (t = 0.5)
    assert trajectory.info["n_steps"] == 5 and "enough" in trajectory.info["stop_reason"]
    assert trajectory.times[-1] == pytest.approx(0.5)
    assert trajectory.u_norm.size == 6


def test_lgan_resume_of_a_finished_run_and_refusal_of_another(tmp_path):
    system = _system()
    y0 = system.state(v=np.ones_like)
    path = tmp_path / "lgan.ckpt.npz"
    first = integrate(system, y0, tau=0.05, steps=40, scheme="heun", checkpoint=path)
    again = integrate(system, y0, tau=0.05, steps=40, scheme="heun", checkpoint=path, resume=True)
    assert again.info["resumed_from_step"] == 40
    assert again.u_norm.tobytes() == first.u_norm.tobytes()
    assert again.final.tobytes() == first.final.tobytes()
    with pytest.raises(IncompatibleCheckpointError, match="scheme"):
        integrate(system, y0, tau=0.05, steps=40, scheme="rk4", checkpoint=path, resume=True)
    with pytest.raises(IncompatibleCheckpointError, match="y0"):
        integrate(system, 2 * y0, tau=0.05, steps=40, scheme="heun", checkpoint=path, resume=True)
    with pytest.raises(IncompatibleCheckpointError, match="alpha"):
        integrate(_system(alpha=0.4), y0, tau=0.05, steps=40, scheme="heun", checkpoint=path,
                  resume=True)  # fmt: skip


def test_lgan_bad_checkpoint_options():
    system = _system()
    y0 = system.state(v=np.ones_like)
    with pytest.raises(InvalidInputError, match="checkpoint"):
        integrate(system, y0, tau=0.1, steps=2, resume=True)
    with pytest.raises(InvalidInputError, match="steps"):
        integrate(system, y0, tau=0.1, steps=2, checkpoint="x.npz", checkpoint_steps=0)
    with pytest.raises(InvalidInputError, match="Tracker"):
        integrate(system, y0, tau=0.1, steps=2, trackers=[print])


# --------------------------------------------------------------------------- SDE

SDE_COMMON = """
import time
import torch
from gan_pde.engine import CallbackTracker
from gan_pde.sde import GANSDE

torch.set_num_threads(1)
RNG = np.random.default_rng(3)
X, Z = RNG.normal(1.0, 0.5, 4), RNG.normal(0.0, 1.0, 3)

def location_loss(theta, omega, x, z):
    g = theta[0] + z
    critic = omega[0] * x + 0.25 * x**2 - omega[0] * g - 0.25 * g**2
    return critic + 0.5 * (theta[0] ** 2 - omega[0] ** 2)

SDE = GANSDE(location_loss, X, Z, d_theta=1, d_omega=1)
SLOW = [CallbackTracker(lambda t, v: time.sleep(0.01))]
CKPT = {"checkpoint_steps": 1, "checkpoint_interval": None}
"""

SGA_BODY = (
    SDE_COMMON
    + """
from gan_pde.sde import simulate_sga

def result(checkpoint, resume):
    run = simulate_sga(SDE, [0.3, -0.2], eta=0.1, batch_size=2, steps=40, n_paths=64,
                       seed=11, checkpoint=checkpoint, resume=resume, trackers=SLOW, **CKPT)
    return {"times": run.times, "mean": run.mean, "stderr": run.stderr, "final": run.final,
            "_resumed_from_step": run.info["resumed_from_step"]}
"""
)

SDE_BODY = (
    SDE_COMMON
    + """
from gan_pde.sde import simulate_sde

def result(checkpoint, resume):
    run = simulate_sde(SDE, [0.3, -0.2], eta=0.1, batch_size=2, steps=40, kind="sml",
                       substeps=2, n_paths=64, seed=12, checkpoint=checkpoint, resume=resume,
                       trackers=SLOW, **CKPT)
    return {"times": run.times, "mean": run.mean, "stderr": run.stderr, "final": run.final,
            "final_coarse": run.final_coarse,
            "_resumed_from_step": run.info["resumed_from_step"]}
"""
)

LONG_RUN_BODY = (
    SDE_COMMON
    + """
from gan_pde.sde import long_run

def result(checkpoint, resume):
    run = long_run(SDE, [0.5, 0.7], eta=0.1, batch_size=1, t_final=4.0, n_paths=64,
                   substeps=2, seed=13, checkpoint=checkpoint, resume=resume, trackers=SLOW,
                   **CKPT)
    fdr = np.array([run.fdr[k] for k in sorted(run.fdr)])
    return {"samples": run.samples, "mean": run.mean, "covariance": run.covariance,
            "mean_stderr": run.mean_stderr, "covariance_stderr": run.covariance_stderr,
            "fdr": fdr, "times": run.times,
            "_resumed_from_step": run.info["resumed_from_step"]}
"""
)

TRAIN_BODY = (
    SDE_COMMON
    + """
from gan_pde.sde import train_sml

def result(checkpoint, resume):
    # near the invariant law the FDR2 ratio nears 1: the rate drops at steps 10, 17, 30, 72
    out = train_sml(SDE, [0.5, 0.7], eta=0.2, batch_size=2, steps=80, seed=14,
                    schedule={"epsilon": 0.5, "delta": 0.3, "window": 5},
                    checkpoint=checkpoint, resume=resume, trackers=SLOW, **CKPT)
    return {"lr": out["lr"], "lhs": out["lhs"], "rhs": out["rhs"],
            "grad_norm": out["grad_norm"], "gamma": out["gamma"],
            "decreases": np.array(out["decreases"]),
            "_resumed_from_step": out["info"]["resumed_from_step"]}
"""
)


@pytest.mark.parametrize(
    ("body", "steps"),
    [
        # simulate_sga and long_run step as simulate_sde does (the same generator in the
        # state; long_run passes its checkpoint to simulate_sde): their SIGKILL runs are
        # ``slow``, the in-process resume tests below cover them in the default suite
        pytest.param(SGA_BODY, 40, marks=pytest.mark.slow),
        (SDE_BODY, 40),
        pytest.param(LONG_RUN_BODY, 40, marks=pytest.mark.slow),
        (TRAIN_BODY, 80),
    ],
    ids=["simulate_sga", "simulate_sde", "long_run", "train_sml"],
)
def test_sde_run_killed_at_a_random_step_resumes_bit_identically(tmp_path, body, steps):
    pytest.importorskip("torch")
    kill_at = _kill_step(5, steps - 12)
    resumed, unbroken, left = kill_and_resume(tmp_path, body, kill_at=kill_at)
    assert left >= kill_at and int(resumed["_resumed_from_step"]) == left
    assert_identical(resumed, unbroken)
    if "decreases" in unbroken:  # the rate also drops after the kill (at step 72), so the
        # scheduler's restored window and epoch decided it
        assert unbroken["decreases"].tolist() == [10, 17, 30, 72]


# ------------------------------------------------------------------- SDE, in process


@pytest.fixture
def sde():
    pytest.importorskip("torch")
    from gan_pde.sde import GANSDE, tanh_gan_loss

    rng = np.random.default_rng(3)
    x, z = rng.normal(1.0, 0.5, 4), rng.normal(0.0, 1.0, 3)
    return GANSDE(functools.partial(tanh_gan_loss, weight_decay=0.1), x, z, d_theta=2, d_omega=2)


def test_ensembles_and_long_runs_follow_the_protocol(sde, tmp_path):
    from gan_pde.sde import long_run, simulate_sde, simulate_sga

    g0 = [0.0, 0.5, 0.5, 0.0]
    sga = simulate_sga(sde, g0, eta=0.1, batch_size=2, steps=4, n_paths=16)
    np.testing.assert_array_equal(sga.times, 0.1 * np.arange(5))
    assert sga.mean.shape == sga.stderr.shape == (5, 8)
    assert sga.info["n_steps"] == 4 and sga.info["resumed_from_step"] == 0
    run = simulate_sde(sde, g0, eta=0.1, batch_size=2, steps=3, n_paths=16, richardson=False)
    assert run.final_coarse is None and run.info["n_steps"] == 3
    long = long_run(sde, g0, eta=0.2, batch_size=2, t_final=0.6, n_paths=16)
    np.testing.assert_array_equal(long.times, [0.2 * 3])
    assert long.info["n_steps"] == 3 and long.info["resumed_from_step"] == 0
    # a checkpointed ensemble resumed after its end is the same result
    path = tmp_path / "sga.npz"
    first = simulate_sga(sde, g0, eta=0.1, batch_size=2, steps=4, n_paths=16, checkpoint=path)
    again = simulate_sga(
        sde, g0, eta=0.1, batch_size=2, steps=4, n_paths=16, checkpoint=path, resume=True
    )
    assert again.info["resumed_from_step"] == 4
    assert again.mean.tobytes() == first.mean.tobytes() == sga.mean.tobytes()
    with pytest.raises(IncompatibleCheckpointError, match="seed"):
        simulate_sga(
            sde, g0, eta=0.1, batch_size=2, steps=4, n_paths=16, seed=1, checkpoint=path,
            resume=True,
        )  # fmt: skip


def test_train_sml_protocol_zero_steps_and_bad_input(sde):
    from gan_pde.sde import train_sml

    g0 = [0.0, 0.5, 0.5, 0.0]
    out = train_sml(sde, g0, eta=0.1, batch_size=4, steps=3)
    assert out["lr"].tolist() == [0.1] * 3 and out["grad_norm"].shape == (3,)
    assert out["info"]["n_steps"] == 3 and out["decreases"] == []
    none = train_sml(sde, g0, eta=0.1, batch_size=4, steps=0)
    assert none["lr"].size == 0 and none["gamma"].tolist() == g0
    for steps in (-1, 2.5, True):
        with pytest.raises(InvalidInputError, match="steps"):
            train_sml(sde, g0, eta=0.1, batch_size=4, steps=steps)
    with pytest.raises(InvalidInputError, match="schedule"):
        train_sml(sde, g0, eta=0.1, batch_size=4, steps=2, schedule=0.5)
    with pytest.raises(InvalidInputError, match="checkpoint"):
        train_sml(sde, g0, eta=0.1, batch_size=4, steps=2, resume=True)


def test_simulate_sde_refuses_a_non_boolean_richardson(sde):
    from gan_pde.sde import simulate_sde

    with pytest.raises(InvalidInputError, match="richardson"):
        simulate_sde(sde, [0.0, 0.5, 0.5, 0.0], eta=0.1, batch_size=2, steps=1, richardson=1)


class _InterruptAt:
    """A tracker that raises KeyboardInterrupt after step ``n`` (as a Ctrl-C would)."""

    def __new__(cls, n):
        from gan_pde.engine import Tracker

        class Interrupt(Tracker):
            name = "interrupt"

            def after_step(self, run, record):
                if run.step == n:
                    raise KeyboardInterrupt

        return Interrupt()


def test_sga_and_long_run_interrupted_in_process_resume_bit_identically(sde, tmp_path):
    # the in-process counterpart of their slow SIGKILL runs: stop after step 3 of 8 with a
    # checkpoint after every step, resume, compare every array with the unbroken run
    from gan_pde.sde import long_run, simulate_sga

    g0 = [0.0, 0.5, 0.5, 0.0]
    kwargs = {"eta": 0.1, "batch_size": 2, "steps": 8, "n_paths": 16}
    whole = simulate_sga(sde, g0, **kwargs)
    path = tmp_path / "sga.npz"
    with pytest.raises(KeyboardInterrupt):
        simulate_sga(sde, g0, **kwargs, checkpoint=path, checkpoint_steps=1,
                     trackers=[_InterruptAt(3)])  # fmt: skip
    again = simulate_sga(sde, g0, **kwargs, checkpoint=path, resume=True)
    assert again.info["resumed_from_step"] == 3
    assert again.mean.tobytes() == whole.mean.tobytes()
    assert again.stderr.tobytes() == whole.stderr.tobytes()

    lr_kwargs = {"eta": 0.2, "batch_size": 2, "t_final": 1.6, "n_paths": 16}
    whole = long_run(sde, g0, **lr_kwargs)
    path = tmp_path / "long.npz"
    with pytest.raises(KeyboardInterrupt):
        long_run(sde, g0, **lr_kwargs, checkpoint=path, checkpoint_steps=1,
                 trackers=[_InterruptAt(3)])  # fmt: skip
    again = long_run(sde, g0, **lr_kwargs, checkpoint=path, resume=True)
    assert again.info["resumed_from_step"] == 3
    for field in ("samples", "mean", "covariance", "times"):
        assert getattr(again, field).tobytes() == getattr(whole, field).tobytes(), field
