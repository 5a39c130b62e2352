"""``gan-pde lgan``: called through ``run`` (the lead registers the command)."""

from __future__ import annotations

import argparse
import json

import pytest

from gan_pde.commands import lgan
from gan_pde.errors import ConfigError, InvalidInputError

SMALL = """
[density]
kind = "gaussian"
mean = [0.0]
cov = [[1.0]]

[domain]
kind = "interval"
bounds = [[-8.0, 8.0]]
cells = [40]

[lgan]
alpha = {alpha}
beta = 1.0
gamma = 0.0
element = "P2"
pair = "{pair}"

[integrator]
scheme = "{scheme}"
tau = {tau}
steps = 200
"""


def _write(tmp_path, **changes):
    values = {"alpha": 1.0, "pair": "stable", "scheme": "crank-nicolson", "tau": 0.05}
    values.update(changes)
    path = tmp_path / "lgan.toml"
    path.write_text(SMALL.format(**values))
    return str(path)


def test_gaussian_json(tmp_path, capsys):
    path = _write(tmp_path)
    assert lgan.run(argparse.Namespace(config=path, json=True, plot=None)) == 0
    out = json.loads(capsys.readouterr().out)
    # N(0, 1): xi_min = 1 (P2 on 40 cells, error ~1e-7); alpha = beta = 1: λ² + λ + 1 = 0
    # has a complex pair with Re λ = -1/2, the slowest mode (the mean mode is -1).
    assert out["xi_min"] == pytest.approx(1.0, abs=1e-6)
    assert out["decay_rate"] == pytest.approx(-0.5, abs=1e-6)
    assert out["optimal"]["alpha"] == pytest.approx(1.0, abs=1e-6)
    assert out["stability"]["stable"]
    assert out["measured_rate"] < 0


def test_euler_instability_reported(tmp_path, capsys):
    path = _write(tmp_path, alpha=0.0, scheme="euler", tau=0.5)
    # an unstable step is a failed run: exit 1, one line naming the stable step bound
    assert lgan.run(argparse.Namespace(config=path, json=True, plot=None)) == 1
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert not out["stability"]["stable"]  # WGAN: |1 + iτ√ξ| > 1
    assert out["stability"]["max_stable_step"] == 0.0
    assert "[integrator] tau = 0.5 is unstable" in captured.err
    assert "no step is stable for euler" in captured.err and "crank-nicolson" in captured.err


def test_default_text_and_plot(tmp_path, capsys):
    figure = tmp_path / "lgan.png"
    assert lgan.run(argparse.Namespace(config=None, json=False, plot=str(figure))) == 0
    text = capsys.readouterr().out
    assert "xi_min" in text and "decay rate" in text and "max stable step" in text
    assert figure.stat().st_size > 0


@pytest.mark.parametrize(
    ("changes", "key"),
    [({"alpha": -1.0}, "alpha"), ({"tau": 0.0}, "tau"), ({"pair": "taylor-hood"}, "pair")],
)
def test_bad_input(tmp_path, changes, key):
    path = _write(tmp_path, **changes)
    with pytest.raises(ConfigError, match=key):
        lgan.run(argparse.Namespace(config=path, json=False, plot=None))


def _public(document):
    """results.json without the bookkeeping of a resume."""
    return {k: v for k, v in document.items() if k != "resumed_from_step"}


def test_interrupted_run_resumes_to_the_same_results(tmp_path, monkeypatch, capsys):
    from gan_pde.cli import main
    from gan_pde.spectral.lgan_integrate import LGANStepper

    config = _write(tmp_path, scheme="rk4", tau=0.05)
    checkpoint = tmp_path / "state" / "lgan.npz"
    (tmp_path / "state").mkdir()
    unbroken = ["lgan", config, "--json", "--out", str(tmp_path / "unbroken")]
    assert main(unbroken) == 0
    expected = json.loads((tmp_path / "unbroken" / "results.json").read_text())
    assert expected["resumed_from_step"] == 0
    capsys.readouterr()

    step = LGANStepper.step

    def ctrl_c_in_step_78(self, state, t, dt):
        if t > 76.5 * self.tau:  # the step from t = 77 τ to 78 τ
            raise KeyboardInterrupt
        return step(self, state, t, dt)

    monkeypatch.setattr(LGANStepper, "step", ctrl_c_in_step_78)
    args = ["lgan", config, "--json", "--checkpoint", str(checkpoint)]
    assert main([*args, "--out", str(tmp_path / "first")]) == 130
    err = capsys.readouterr().err
    assert f"{checkpoint} holds the time integration at step 77" in err
    assert "--resume" in err
    monkeypatch.setattr(LGANStepper, "step", step)
    assert main([*args, "--resume", "--out", str(tmp_path / "resumed")]) == 0
    assert "resumed the time integration from step 77 of 200" in capsys.readouterr().err
    resumed = json.loads((tmp_path / "resumed" / "results.json").read_text())
    assert resumed["resumed_from_step"] == 77
    # the measured rate fits the whole curve: equal floats only if every norm is the same
    assert _public(resumed) == _public(expected)


def test_resume_needs_a_checkpoint(tmp_path, capsys):
    from gan_pde.cli import main

    assert main(["lgan", _write(tmp_path), "--resume"]) == 2
    assert "--resume needs --checkpoint PATH" in capsys.readouterr().err
    assert main(["lgan", _write(tmp_path), "--checkpoint", str(tmp_path)]) == 2
    assert "is a folder" in capsys.readouterr().err


def test_integrator_schemes_are_those_of_the_integrator():
    import dataclasses

    from gan_pde.spectral import lgan_integrate

    scheme = {f.name: f for f in dataclasses.fields(lgan.IntegratorConfig)}["scheme"]
    assert scheme.metadata["choices"]() == lgan_integrate.SCHEMES


def test_checkpoint_every_must_be_a_non_negative_number(tmp_path, capsys):
    parser = argparse.ArgumentParser()
    lgan.add_arguments(parser)
    args = parser.parse_args(["--checkpoint", str(tmp_path / "l.npz"), "--checkpoint-every", "-1"])
    with pytest.raises(InvalidInputError, match="--checkpoint-every must be a non-negative"):
        lgan.run(args)
