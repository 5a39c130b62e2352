"""``gan-pde meanfield``: bundled config, outputs, config errors."""

from __future__ import annotations

import argparse

import numpy as np
import pytest

from gan_pde.commands import meanfield
from gan_pde.config import bundled_config_text
from gan_pde.errors import ConfigError, InvalidInputError

SMALL = """
[toy]
gamma_c = 10.0
starts = [[2.0, 0.5]]
t_final = 40.0

[model]
gamma_c = 5.0

[generator]
free = ["alpha"]
lower = [-3.0]
upper = [3.0]
cells = [40]
values = [0.0, 1.0, 0.0]
init_mean = [1.0]
init_std = [0.3]

[discriminator]
free = ["a"]
lower = [-1.0]
upper = [1.0]
cells = [40]
values = [0.0, 1.0, 0.0]
init_mean = [0.3]
init_std = [0.15]

[solver]
t_final = 3.0
save_times = [0.0, 1.0, 3.0]
"""


def run(config, out, capsys):
    code = meanfield.run(argparse.Namespace(config=config, out=str(out)))
    return code, capsys.readouterr()


def test_bundled_config_runs(tmp_path, capsys):
    code, captured = run(None, tmp_path, capsys)
    assert code == 0
    assert {"results.json", "meanfield.npz", "laws.png", "phase.png", "energy.png"} == {
        p.name for p in tmp_path.iterdir()
    }
    assert captured.out.count("\n") == 1 and "0.9624" in captured.out
    data = np.load(tmp_path / "meanfield.npz")
    assert data["trajectory_mu"].shape == (6, 64, 64)
    assert np.abs(data["trajectory_nu"].sum(axis=(1, 2)) - 1.0).max() < 1e-12


def test_small_config_blows_up(tmp_path, capsys):
    path = tmp_path / "small.toml"
    path.write_text(SMALL)
    code, captured = run(str(path), tmp_path / "out", capsys)
    assert code == 0 and "0.3149" in captured.out
    data = np.load(tmp_path / "out" / "meanfield.npz")
    assert data["trajectory_wall_mass"][-1] > 0.9  # the a-law piled on a = 1
    assert "meanfield" in bundled_config_text("meanfield")


def test_config_errors(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(SMALL.replace('free = ["a"]', 'free = ["q"]'))
    with pytest.raises(ConfigError, match="free"):
        meanfield.load_config(bad).discriminator.spec(("a", "b", "c"), "discriminator")
    bad.write_text(SMALL.replace("lower = [-1.0]", "lower = [-0.5]"))
    with pytest.raises(InvalidInputError, match="cover Q"):
        meanfield.build_model(meanfield.load_config(bad))
    bad.write_text(SMALL.replace("gamma_c = 5.0", "gamma_c = -5.0"))
    with pytest.raises(InvalidInputError, match="gamma_c"):
        meanfield.build_model(meanfield.load_config(bad))
    bad.write_text(SMALL + "\n[extra]\n")
    with pytest.raises(ConfigError, match="extra"):
        meanfield.load_config(bad)


def test_checkpoint_then_resume_after_an_interrupt_gives_the_uninterrupted_files(
    tmp_path, capsys, monkeypatch
):
    import json

    from gan_pde.meanfield.model import WGANMeanField

    path = tmp_path / "small.toml"
    path.write_text(
        SMALL.replace(
            "save_times = [0.0, 1.0, 3.0]", "save_times = [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0]"
        )
    )

    def command(out, **options):
        args = argparse.Namespace(config=str(path), out=str(out), **options)
        return meanfield.run(args)

    assert command(tmp_path / "whole") == 0
    checkpoint = tmp_path / "run.ckpt"
    rates, calls = WGANMeanField._rates, []

    def interrupted(self, mu, nu, fields):
        calls.append(1)
        if len(calls) == 60:  # a Ctrl-C inside a Heun step of a later save interval
            raise KeyboardInterrupt
        return rates(self, mu, nu, fields)

    monkeypatch.setattr(WGANMeanField, "_rates", interrupted)
    with pytest.raises(KeyboardInterrupt):
        command(tmp_path / "resumed", checkpoint=str(checkpoint))
    # the interrupt wrote a checkpoint of the save intervals done (every 30 s by default)
    assert checkpoint.exists()
    monkeypatch.setattr(WGANMeanField, "_rates", rates)
    capsys.readouterr()
    assert command(tmp_path / "resumed", checkpoint=str(checkpoint), resume=True) == 0
    assert "resumed from" in capsys.readouterr().err
    results = json.loads((tmp_path / "resumed" / "results.json").read_text())
    assert results["resumed_from_step"] > 0
    whole = np.load(tmp_path / "whole" / "meanfield.npz")
    resumed = np.load(tmp_path / "resumed" / "meanfield.npz")
    assert sorted(whole.files) == sorted(resumed.files)
    for key in whole.files:
        assert whole[key].tobytes() == resumed[key].tobytes(), key
    with pytest.raises(InvalidInputError, match="--resume needs --checkpoint"):
        command(tmp_path / "other", resume=True)
