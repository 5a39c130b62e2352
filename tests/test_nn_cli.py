"""``gan-pde train`` and ``gan-pde compare``: configs, outputs, config errors."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest

from gan_pde.commands import compare, train
from gan_pde.config import bundled_config_text
from gan_pde.errors import ConfigError, InvalidInputError

torch = pytest.importorskip("torch")

from gan_pde.nn import TrainingRun  # noqa: E402


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _small_train(tmp_path, algorithm="particles"):
    text = bundled_config_text("train")
    text = text.replace('algorithm = "particles"', f'algorithm = "{algorithm}"')
    text = text.replace("steps = 50", "steps = 10").replace(
        "n_particles = 1000", "n_particles = 200"
    )
    text = text.replace("n_data = 20000", "n_data = 2000").replace(
        "hidden = [32, 32]", "hidden = [8]"
    )
    text = text.replace("cells = 400", "cells = 200")
    path = tmp_path / "train.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_bundled_configs_load():
    assert train.load_config(None).run.algorithm == "particles"
    assert compare.load_config(None).lsgan.separations == [3.0, 4.0]


def test_train_writes_run_summary_and_figures(tmp_path, capsys):
    out = tmp_path / "out"
    args = argparse.Namespace(config=_small_train(tmp_path), out=str(out), device="cpu", quiet=True)
    assert train.run(args) == 0
    captured = capsys.readouterr()
    assert captured.out.count("\n") == 1 and "steps/s" in captured.out
    assert captured.err == ""
    names = {"run.npz", "results.json", "losses.png", "densities.png", "distance.png"}
    assert names == {p.name for p in out.iterdir()}
    run = TrainingRun.load(out / "run.npz")
    assert run.algorithm == "particles" and run.samples.shape == (11, 200, 1)
    summary = json.loads((out / "results.json").read_text())
    # the particles start as a sample of the PDE's initial law: W1 is the sampling error
    assert summary["w1_to_pde"][0] < 0.2
    assert np.allclose(summary["times"], run.times)


@pytest.mark.parametrize("algorithm", ["gan", "algorithm2", "lsgan", "wgan"])
def test_train_other_algorithms(tmp_path, capsys, algorithm):
    out = tmp_path / algorithm
    args = argparse.Namespace(
        config=_small_train(tmp_path, algorithm), out=str(out), device="cpu", quiet=True
    )
    assert train.run(args) == 0
    assert algorithm in capsys.readouterr().out
    assert TrainingRun.load(out / "run.npz").algorithm == algorithm


def test_train_ensemble_config(tmp_path, capsys):
    path = _small_train(tmp_path)
    path.write_text(path.read_text().replace("runs = 1", "runs = 3"))
    out = tmp_path / "ens"
    assert train.run(argparse.Namespace(config=path, out=str(out), device="cpu", quiet=True)) == 0
    run = TrainingRun.load(out / "run.npz")
    assert run.runs == 3 and run.samples.shape[:2] == (3, 11)


def test_train_config_errors(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('[run]\nalgorithm = "vae"\n[target]\nkind = "gaussian"\n')
    with pytest.raises(ConfigError, match="algorithm"):
        train.load_config(path)
    path.write_text('[run]\nsteps = 0\n[target]\nkind = "gaussian"\nmean = [0.0]\ncov = [[1.0]]\n')
    with pytest.raises(ConfigError, match="steps"):
        train.load_config(path)
    path.write_text(
        '[target]\nkind = "gaussian"\nmean = [0.0]\ncov = [[1.0]]\n[training]\nlr = "x"\n'
    )
    with pytest.raises(ConfigError, match="lr"):
        train.load_config(path)
    path.write_text("[run]\nsteps = 3\n")
    with pytest.raises(ConfigError, match="target"):
        train.load_config(path)


def test_config_choices_are_the_trainers_names():
    import dataclasses

    from gan_pde.config import DENSITY_KINDS
    from gan_pde.nn import lsgan, optim, run

    def choices(cls):
        return {f.name: f.metadata["choices"] for f in dataclasses.fields(cls)}

    assert choices(train.RunConfig)["algorithm"] == run.ALGORITHMS == train.ALGORITHMS
    training = choices(train.TrainingConfig)
    assert training["optimizer"]() == optim.OPTIMIZERS
    assert training["integrator"]() == lsgan.INTEGRATORS
    assert choices(train.InitialConfig)["kind"] == DENSITY_KINDS
    assert choices(compare.LSGANExperimentConfig)["integrator"]() == lsgan.INTEGRATORS


def test_compare_writes_json_and_figures(tmp_path, capsys):
    text = """
[run]
experiments = ["jsd", "lsgan", "wgan"]
[jsd]
steps = 10
n_particles = 200
discriminator_steps = 2
batch_size = 64
n_data = 2000
hidden = [8]
generator_steps = 1
particle_counts = [100, 200]
discriminator_step_counts = [1, 2]
epsilons = [0.2, 0.1]
[lsgan]
separations = [3.0]
n_data = 60
features = 8
t_final = 4.0
tau = 0.05
[wgan]
widths = [20, 40]
t_final = 1.0
saves = 3
"""
    path = tmp_path / "compare.toml"
    path.write_text(text)
    out = tmp_path / "cmp"
    assert compare.run(argparse.Namespace(config=path, out=str(out), device="cpu", quiet=True)) == 0
    printed = capsys.readouterr().out
    assert "JSD" in printed and "LSGAN" in printed and "WGAN" in printed
    report = json.loads((out / "results.json").read_text())
    assert report["jsd"]["gradient_identity"] < 1e-13
    assert report["jsd"]["gan_minus_particles"] < 1e-12
    assert len(report["lsgan"][0]["measured_rates"]) == 5
    assert report["wgan"]["widths"] == [20, 40]
    figures = {
        "jsd_distance.png",
        "jsd_densities.png",
        "jsd_study.png",
        "lsgan_decay.png",
        "lsgan_rates.png",
        "wgan.png",
    }
    assert figures <= {p.name for p in out.iterdir()}


def test_compare_config_errors(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('[run]\nexperiments = ["vae"]\n')
    with pytest.raises(ConfigError, match="experiments"):
        compare.load_config(path)
    path.write_text("[lsgan]\nseparations = 3.0\n")
    with pytest.raises(ConfigError, match="separations"):
        compare.load_config(path)


# ------------------------------------------------------------- --checkpoint and --resume


def _interrupting(monkeypatch, module, method, when):
    """Make ``module.Progress.<method>`` raise KeyboardInterrupt when ``when(value)``."""
    base = module.Progress

    class Interrupting(base):
        def update(self, n, **kw):
            if method == "update" and when(n):
                raise KeyboardInterrupt
            super().update(n, **kw)

        def stage(self, name):
            if method == "stage" and when(name):
                raise KeyboardInterrupt
            super().stage(name)

    monkeypatch.setattr(module, "Progress", Interrupting)


def test_train_resumed_after_an_interrupt_writes_the_same_results(tmp_path, monkeypatch, capsys):
    # Adam on both networks (the bundled optimizer): the moments are in the checkpoint
    config = _small_train(tmp_path, "gan")
    unbroken = tmp_path / "unbroken"
    args = argparse.Namespace(config=config, out=str(unbroken), device="cpu", quiet=True)
    assert train.run(args) == 0
    assert not (unbroken / "checkpoint.npz").exists()  # removed with every result written
    out, checkpoint = tmp_path / "resumed", tmp_path / "train.ckpt.npz"
    options = dict(config=config, out=str(out), device="cpu", quiet=True)
    options.update(checkpoint=str(checkpoint), checkpoint_every=0.0)  # after every step
    with monkeypatch.context() as patch:
        _interrupting(patch, train, "update", lambda step: step == 6)
        with pytest.raises(KeyboardInterrupt):
            train.run(argparse.Namespace(**options))
    with np.load(checkpoint, allow_pickle=False) as data:
        assert int(data["__step"]) == 5  # step 6 was interrupted before its checkpoint
    capsys.readouterr()
    assert train.run(argparse.Namespace(**options, resume=True)) == 0
    assert "resuming from step 5 of 10" in capsys.readouterr().err
    assert not checkpoint.exists()
    first = json.loads((unbroken / "results.json").read_text())
    second = json.loads((out / "results.json").read_text())
    assert second.pop("resumed_from_step") == 5 and first.pop("resumed_from_step") == 0
    for key in ("wall_time", "steps_per_second"):
        first.pop(key), second.pop(key)
    assert second == first  # the numbers, W1 to the JSD flow included, to the last bit
    a, b = TrainingRun.load(unbroken / "run.npz"), TrainingRun.load(out / "run.npz")
    assert a.samples.tobytes() == b.samples.tobytes()
    assert all(a.losses[k].tobytes() == b.losses[k].tobytes() for k in a.losses)


def test_train_resume_without_a_checkpoint_says_so_and_bad_paths_are_named(tmp_path, capsys):
    config = _small_train(tmp_path)
    out = tmp_path / "o"
    args = argparse.Namespace(config=config, out=str(out), device="cpu", quiet=True, resume=True)
    assert train.run(args) == 0
    assert f"no checkpoint at {out / 'checkpoint.npz'}: starting from step 0" in (
        capsys.readouterr().err
    )
    bad = argparse.Namespace(config=config, out=str(out), device="cpu", checkpoint=str(tmp_path))
    with pytest.raises(InvalidInputError, match="--checkpoint .*: is a folder"):
        train.run(bad)
    bad = argparse.Namespace(config=config, out=str(out), device="cpu", checkpoint_every=-1.0)
    with pytest.raises(InvalidInputError, match="--checkpoint-every"):
        train.run(bad)


COMPARE_SMALL = """
[run]
experiments = ["jsd", "lsgan", "wgan"]
[jsd]
steps = 6
n_particles = 60
discriminator_steps = 1
batch_size = 32
n_data = 500
hidden = [4]
generator_steps = 1
particle_counts = [30]
discriminator_step_counts = [2]
epsilons = [0.2]
[lsgan]
separations = [3.0]
n_data = 30
features = 6
t_final = 1.0
tau = 0.1
[wgan]
widths = [8]
t_final = 0.5
saves = 2
"""


def test_compare_resumed_after_an_interrupt_writes_the_same_results(tmp_path, monkeypatch, capsys):
    path = tmp_path / "compare.toml"
    path.write_text(COMPARE_SMALL)
    unbroken = tmp_path / "unbroken"
    args = argparse.Namespace(config=path, out=str(unbroken), device="cpu", quiet=True)
    assert compare.run(args) == 0
    assert not (unbroken / "checkpoints").exists()
    out = tmp_path / "resumed"
    options = dict(config=path, out=str(out), device="cpu", quiet=True)
    with monkeypatch.context() as patch:
        # after the PDE, the particle generator and the GAN run of the JSD experiment
        _interrupting(patch, compare, "stage", lambda name: "network generator" in name)
        with pytest.raises(KeyboardInterrupt):
            compare.run(argparse.Namespace(**options))
    kept = sorted(p.name for p in (out / "checkpoints").iterdir())
    assert kept == ["jsd_gan.ckpt.npz", "jsd_particles.ckpt.npz", "jsd_pde.ckpt.npz"]
    capsys.readouterr()
    assert compare.run(argparse.Namespace(**options, resume=True)) == 0
    assert "resuming from the 3 checkpoint(s)" in capsys.readouterr().err
    assert not (out / "checkpoints").exists()
    first = json.loads((unbroken / "results.json").read_text())
    second = json.loads((out / "results.json").read_text())
    assert second == first
