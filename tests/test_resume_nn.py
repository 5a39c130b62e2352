"""The torch trainers on the stepping engine: checkpoints, bit-identical resume, trackers.

A trainer's state is its parameters, its optimiser states (SGD: none; Adam: moments and
step count) and the torch generators of its batches; a checkpoint stores all of them, so a
resumed run takes the same steps from the same state and must equal an uninterrupted run
bit for bit (same CPU, one thread: the same operations in the same order).
"""

from __future__ import annotations

import numpy as np
import pytest

import gan_pde as gp
from gan_pde.engine import CallbackTracker, StopTracker, Tracker
from gan_pde.errors import IncompatibleCheckpointError, InvalidInputError

torch = pytest.importorskip("torch")

from killresume import assert_identical, kill_and_resume  # noqa: E402

from gan_pde.nn import (  # noqa: E402
    MLP,
    FeatureNet,
    ParticleGenerator,
    TrainingError,
    TrainingRun,
    train_algorithm2,
    train_ensemble,
    train_gan,
    train_lsgan,
    train_particles,
    train_wgan,
)

TARGET = gp.Gaussian(mean=[1.0], cov=[[1.0]])
START = gp.Gaussian(mean=[0.0], cov=[[1.0]])
DATA = TARGET.sample(40, rng=np.random.default_rng(1))


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _gan(**kw):
    options = dict(steps=30, batch_size=16, n_data=100, n_eval=20, device="cpu", seed=2)
    return train_gan(
        TARGET,
        discriminator=MLP(1, 1, hidden=(6,)),
        generator=MLP(1, 1, hidden=(6,)),
        **{**options, **kw},
    )


TRAINERS = {
    "gan_sgd": _gan,
    "algorithm2_adam": lambda **kw: train_algorithm2(
        TARGET,
        epsilon=0.1,
        generator_steps=2,
        optimizer="adam",
        lr_discriminator=0.01,
        lr_generator=0.01,
        discriminator=MLP(1, 1, hidden=(6,)),
        generator=MLP(1, 1, hidden=(6,)),
        steps=30,
        batch_size=16,
        n_data=100,
        n_eval=20,
        device="cpu",
        **kw,
    ),
    "particles": lambda **kw: train_particles(
        TARGET,
        START,
        epsilon=0.1,
        n_particles=25,
        steps=30,
        batch_size=16,
        n_data=100,
        discriminator=MLP(1, 1, hidden=(6,)),
        device="cpu",
        **kw,
    ),
    "lsgan_heun": lambda **kw: train_lsgan(
        TARGET,
        alpha=0.25,
        beta=-0.5,
        gamma=0.5,
        steps=30,
        batch_size=16,
        n_data=60,
        n_eval=20,
        discriminator=MLP(1, 1, hidden=(6,)),
        generator=MLP(1, 1, hidden=(6,)),
        device="cpu",
        **kw,
    ),
    "lsgan_adam": lambda **kw: train_lsgan(
        TARGET,
        alpha=0.25,
        beta=-0.5,
        integrator="adam",
        steps=30,
        batch_size=16,
        n_data=60,
        n_eval=20,
        discriminator=MLP(1, 1, hidden=(6,)),
        generator=MLP(1, 1, hidden=(6,)),
        device="cpu",
        **kw,
    ),
    "wgan_clipped": lambda **kw: train_wgan(
        TARGET,
        width=8,
        h=2.0,
        critic_steps=2,
        steps=30,
        n_data=100,
        n_eval=20,
        device="cpu",
        **kw,
    ),
    "ensemble_gan_adam": lambda **kw: train_ensemble(
        "gan",
        3,
        TARGET,
        discriminator=MLP(1, 1, hidden=(4,)),
        generator=MLP(1, 1, hidden=(4,)),
        optimizer="adam",
        lr_discriminator=0.01,
        steps=30,
        batch_size=8,
        n_data=60,
        n_eval=10,
        device="cpu",
        **kw,
    ),
    "ensemble_lsgan_settings": lambda **kw: train_lsgan(
        DATA,
        alpha=[0.25, 0.5],
        beta=[-0.5, -1.0],
        gamma=0.5,
        runs=2,
        latent="data",
        lr=0.05,
        discriminator=FeatureNet(np.linspace(-2, 4, 6), bandwidth=1.2, data=DATA),
        generator=ParticleGenerator(DATA + 0.2),
        generator_speed=40.0,
        steps=30,
        n_eval=40,
        device="cpu",
        **kw,
    ),
}


def _arrays(run: TrainingRun) -> dict[str, np.ndarray]:
    out = {"steps": run.steps, "times": run.times}
    if run.samples is not None:
        out["samples"] = run.samples
    out.update({f"parameter/{k}": v for k, v in run.parameters.items()})
    out.update({f"loss/{k}": v for k, v in run.losses.items()})
    return out


class _Interrupt(Tracker):
    """Ctrl-C after step ``at`` (between two steps: the last checkpoint is kept)."""

    name = "interrupt"

    def __init__(self, at: int):
        self.at = at

    def after_step(self, run, record):
        if run.step == self.at:
            raise KeyboardInterrupt


@pytest.mark.parametrize("name", sorted(TRAINERS))
def test_interrupted_then_resumed_equals_the_unbroken_run_bit_for_bit(name, tmp_path):
    train = TRAINERS[name]
    path = tmp_path / "run.ckpt.npz"
    unbroken = train()
    with pytest.raises(KeyboardInterrupt):
        train(
            checkpoint=path, checkpoint_steps=4, checkpoint_interval=None, trackers=[_Interrupt(17)]
        )
    with np.load(path, allow_pickle=False) as data:
        assert int(data["__step"]) == 16  # the last multiple of 4 before the interrupt
    resumed = train(checkpoint=path, resume=True)
    assert resumed.info["resumed_from_step"] == 16 and resumed.info["n_steps"] == 30
    assert unbroken.info["resumed_from_step"] == 0
    assert_identical(_arrays(resumed), _arrays(unbroken))
    # the finished checkpoint gives the whole run back without a step
    again = train(checkpoint=path, resume=True)
    assert again.info["resumed_from_step"] == 30
    assert_identical(_arrays(again), _arrays(unbroken))


def test_a_checkpoint_of_another_run_is_refused_with_the_parameter_named(tmp_path):
    path = tmp_path / "run.ckpt.npz"
    _gan(checkpoint=path, checkpoint_steps=10)
    with pytest.raises(IncompatibleCheckpointError, match="'lr_discriminator' is 0.05"):
        _gan(checkpoint=path, resume=True, lr_discriminator=0.1)
    with pytest.raises(IncompatibleCheckpointError, match="'seed'"):
        _gan(checkpoint=path, resume=True, seed=3)
    # another architecture: the networks' description and initial parameters differ
    with pytest.raises(IncompatibleCheckpointError, match="discriminator"):
        train_gan(
            TARGET,
            discriminator=MLP(1, 1, hidden=(6,), activation="relu"),
            generator=MLP(1, 1, hidden=(6,)),
            steps=30,
            batch_size=16,
            n_data=100,
            n_eval=20,
            device="cpu",
            seed=2,
            checkpoint=path,
            resume=True,
        )
    # another data set, same options otherwise
    path = tmp_path / "data.ckpt.npz"
    train_gan(DATA, steps=5, batch_size=8, n_eval=10, device="cpu", checkpoint=path)
    with pytest.raises(IncompatibleCheckpointError, match="the array 'data'"):
        train_gan(
            DATA + 1e-3,
            steps=5,
            batch_size=8,
            n_eval=10,
            device="cpu",
            checkpoint=path,
            resume=True,
        )


def test_training_run_follows_the_trajectory_protocol(tmp_path):
    run = _gan()
    info = run.info
    assert info["n_steps"] == 30 and info["resumed_from_step"] == 0
    assert info["seconds"] == run.wall_time > 0.0
    assert info["versions"]["torch"] == torch.__version__ and "gan_pde" in info["versions"]
    # t_k = k·2η_G/m, computed as the trainer does (the same float operations)
    np.testing.assert_array_equal(run.times, run.steps * (2.0 * run.config["lr_generator"] / 16))
    back = TrainingRun.load(run.save(tmp_path / "run.npz"))
    assert back.info == info


def test_callbacks_and_stop_trackers_see_the_step_count():
    seen = []
    run = _gan(trackers=[CallbackTracker(lambda t, params: seen.append((t, sorted(params))))])
    assert [t for t, _ in seen] == list(range(1, 31))
    assert seen[0][1] == ["D", "G", "optD", "optG"]
    stopped = _gan(trackers=[StopTracker(lambda t, params: t >= 7, reason="enough")])
    assert "enough" in stopped.info["stop_reason"] and stopped.info["n_steps"] == 7
    assert stopped.steps.tolist() == [0, 3, 6, 7]  # the saves before, and the stop
    assert stopped.losses["generator"].tolist() == run.losses["generator"][:7].tolist()


def test_a_nan_loss_is_never_checkpointed(tmp_path):
    # explicit Euler with τ = 5 on α = 50 blows up within a few steps; with a checkpoint
    # after every step, the file must hold the last finite step, not the NaN
    path = tmp_path / "nan.ckpt.npz"
    with pytest.raises(TrainingError, match="NaN/Inf") as info:
        train_lsgan(
            TARGET,
            alpha=50.0,
            beta=-1.0,
            integrator="sgd",
            lr=5.0,
            steps=200,
            n_data=50,
            n_eval=20,
            device="cpu",
            checkpoint=path,
            checkpoint_steps=1,
        )
    done = info.value.run.losses["d_norm2"].size
    assert 0 < done < 200 and info.value.run.info["n_steps"] == done
    with np.load(path, allow_pickle=False) as data:
        assert int(data["__step"]) == done


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"checkpoint": 5}, "checkpoint"),
        ({"resume": True}, "checkpoint"),
        ({"resume": "yes", "checkpoint": "x.npz"}, "resume"),
        ({"checkpoint": "x.npz", "checkpoint_steps": 0}, "every_steps"),
        ({"checkpoint": "x.npz", "checkpoint_interval": -1.0}, "every_seconds"),
        ({"trackers": [lambda t, v: None]}, "Tracker"),
    ],
)
def test_bad_checkpoint_options_are_named(options, match, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InvalidInputError, match=match):
        _gan(**options)


# ------------------------------------------------------------- SIGKILL at a random step

_PRELUDE = """
import time
import torch
import gan_pde as gp
from gan_pde.engine import CallbackTracker
from gan_pde.nn import MLP, train_ensemble, train_algorithm2, train_gan, train_lsgan, train_wgan

torch.set_num_threads(1)
TARGET = gp.Gaussian(mean=[1.0], cov=[[1.0]])


def options(checkpoint, resume):
    return dict(checkpoint=checkpoint, checkpoint_steps=1, checkpoint_interval=None,
                resume=resume, trackers=[CallbackTracker(lambda t, v: time.sleep(0.005))],
                device="cpu")


def arrays(run):
    out = {"steps": run.steps, "times": run.times, "samples": run.samples,
           "_resumed_from_step": run.info["resumed_from_step"]}
    out.update({"parameter/" + k: v for k, v in run.parameters.items()})
    out.update({"loss/" + k: v for k, v in run.losses.items()})
    return out


def nets(width=6):
    return dict(discriminator=MLP(1, 1, hidden=(width,)), generator=MLP(1, 1, hidden=(width,)))
"""

KILLED = {
    "gan_sgd": """
def result(checkpoint, resume):
    return arrays(train_gan(TARGET, **nets(), optimizer="sgd", steps=100, batch_size=16,
                            n_data=100, n_eval=20, seed=4, **options(checkpoint, resume)))
""",
    "algorithm2_adam": """
def result(checkpoint, resume):
    return arrays(train_algorithm2(TARGET, **nets(), epsilon=0.1, generator_steps=2,
                                   optimizer="adam", lr_discriminator=0.01, lr_generator=0.01,
                                   steps=100, batch_size=16, n_data=100, n_eval=20,
                                   **options(checkpoint, resume)))
""",
    "lsgan": """
def result(checkpoint, resume):
    return arrays(train_lsgan(TARGET, **nets(), alpha=0.25, beta=-0.5, gamma=0.5, lr=0.05,
                              steps=100, batch_size=8, n_data=60, n_eval=10,
                              **options(checkpoint, resume)))
""",
    "wgan_clipped": """
def result(checkpoint, resume):
    return arrays(train_wgan(TARGET, width=8, h=2.0, critic_steps=2, steps=100, n_data=100,
                             n_eval=20, critic_init_scale=0.9, **options(checkpoint, resume)))
""",
    "ensemble": """
def result(checkpoint, resume):
    return arrays(train_ensemble("gan", 3, TARGET, **nets(4), optimizer="adam",
                                 lr_discriminator=0.01, steps=100, batch_size=8, n_data=60,
                                 n_eval=10, **options(checkpoint, resume)))
""",
}


#: one SIGKILL run per optimiser kind and per batching in the default suite (SGD, Adam, a
#: vmapped ensemble); the other trainers differ only in their step, which the in-process
#: interrupt/resume tests above cover for all of them, so their SIGKILL runs are ``slow``
_SIGKILL_DEFAULT = {"gan_sgd", "algorithm2_adam", "ensemble"}


@pytest.mark.parametrize(
    "name",
    [
        name if name in _SIGKILL_DEFAULT else pytest.param(name, marks=pytest.mark.slow)
        for name in sorted(KILLED)
    ],
)
def test_sigkill_at_a_random_step_then_resume_is_bit_identical(name, tmp_path):
    kill_at = int(np.random.default_rng().integers(10, 80))
    body = _PRELUDE + KILLED[name]
    resumed, unbroken, left = kill_and_resume(tmp_path, body, kill_at=kill_at)
    assert left >= kill_at and int(resumed["_resumed_from_step"]) == left
    assert int(unbroken["_resumed_from_step"]) == 0
    assert_identical(resumed, unbroken)
