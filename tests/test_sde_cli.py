"""``gan-pde sde``: bundled config, small runs, figures, config errors."""

from __future__ import annotations

import importlib.util
import json

import pytest

from gan_pde.cli import main
from gan_pde.config import bundled_config_text
from gan_pde.errors import ConfigError

SMALL = (
    bundled_config_text("sde")
    .replace("n_paths = 2000", "n_paths = 0")
    .replace("steps = 1500", "steps = 0")
)


def _write(tmp_path, text):
    path = tmp_path / "sde.toml"
    path.write_text(text)
    return str(path)


def test_small_config_writes_figures_and_results(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["sde", _write(tmp_path, SMALL), "--out", str(out)]) == 0
    assert {"weak_orders.png", "invariant.png", "results.json"} <= {p.name for p in out.iterdir()}
    for name in ("weak_orders.png", "invariant.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    results = json.loads((out / "results.json").read_text())
    slopes = results["weak_order"]["slopes"]
    # exact moments: Theorems 3.1/3.2, slopes within 0.15 of 2, 1, 1 (see test_sde_quadratic)
    assert slopes["ALT~ALT-SDE"] == pytest.approx(2.0, abs=0.15)
    assert slopes["SML~SML-SDE"] == pytest.approx(1.0, abs=0.15)
    assert slopes["ALT~SML-SDE"] == pytest.approx(1.0, abs=0.15)
    # FEM vs exact Gaussian covariance on the 40×40 mesh: O(h²) with h = 0.6σ, < 1e-3
    assert results["invariant"]["fem_covariance_error"] < 1e-3
    assert "weak-order slopes" in capsys.readouterr().out


def test_long_run_and_schedule(tmp_path, capsys):
    pytest.importorskip("torch")
    text = (
        bundled_config_text("sde")
        .replace("n_paths = 2000", "n_paths = 200")
        .replace("steps = 1500", "steps = 120")
        .replace("window = 50", "window = 20")
        .replace("t_final = 8.0", "t_final = 2.0")
        .replace("substeps = 4", "substeps = 1")
        .replace("etas = [0.2, 0.1, 0.05, 0.025, 0.0125]", "etas = [0.1, 0.05]")
    )
    out = tmp_path / "out"
    assert main(["sde", _write(tmp_path, text), "--out", str(out)]) == 0
    assert (out / "schedule.png").exists()
    results = json.loads((out / "results.json").read_text())
    assert set(results["invariant"]["fdr"]) >= {"fdr1_gap", "fdr2_gap"}
    assert "FDR1 gap" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("old", "new", "match"),
    [
        ("eta = 0.5", "eta = -0.5", "eta"),
        ("batch_size = 1", "batch_size = 0", "batch_size"),
        ("batch_size = 2", "batch_size = 65", "batch_size"),
        ("weight_decay = 1.0", "weight_decay = 0.25", "not dissipative"),
        ("etas = [0.2, 0.1, 0.05, 0.025, 0.0125]", "etas = [0.1, nan]", "etas"),
        ("real_std = 0.5", "real_std = nan", "real_std"),
        ("seed = 7", "seeds = 7", "unknown key"),
    ],
)
def test_config_errors(tmp_path, capsys, old, new, match):
    text = SMALL.replace(old, new, 1)
    assert text != SMALL
    assert main(["sde", _write(tmp_path, text), "--out", str(tmp_path / "out")]) == 2
    assert match in capsys.readouterr().err


def test_load_config_raises_config_error(tmp_path):
    from gan_pde.commands.sde import load_config

    with pytest.raises(ConfigError, match="eta"):
        load_config(_write(tmp_path, SMALL.replace("eta = 0.5", "eta = 0.0")))


def test_quick_verify_checks_pass():
    from gan_pde.verify.registry import run_checks

    only = ["sde.weak_order_exact", "sde.fdr_exact"]
    if importlib.util.find_spec("torch") is not None:
        only.append("sde.b1_hvp")
    checks = run_checks(level="quick", only=only)
    assert sorted(c.name for c in checks) == sorted(only)
    for check in checks:
        assert check.passed, (check.name, check.measured, check.details)


def _without_resume_steps(document):
    """results.json without the bookkeeping of a resume (``resumed_from_step`` anywhere)."""
    if isinstance(document, dict):
        return {
            k: _without_resume_steps(v) for k, v in document.items() if k != "resumed_from_step"
        }
    return document


def test_interrupted_run_resumes_to_the_same_results(tmp_path, monkeypatch, capsys):
    pytest.importorskip("torch")
    from gan_pde.sde.scheduler import SMLStepper
    from gan_pde.sde.simulate import SDEStepper

    text = (
        bundled_config_text("sde")
        .replace("n_paths = 2000", "n_paths = 100")
        .replace("steps = 1500", "steps = 120")
        .replace("window = 50", "window = 20")
        .replace("t_final = 8.0", "t_final = 4.0")
        .replace("substeps = 4", "substeps = 1")
        .replace("etas = [0.2, 0.1, 0.05, 0.025, 0.0125]", "etas = [0.1, 0.05]")
    )
    config = _write(tmp_path, text)
    assert main(["sde", config, "--out", str(tmp_path / "unbroken")]) == 0
    expected = json.loads((tmp_path / "unbroken" / "results.json").read_text())
    capsys.readouterr()

    def ctrl_c(stepper_class, at):
        step = stepper_class.step

        def interrupted(self, state, t, dt):
            if t >= at:
                raise KeyboardInterrupt
            return step(self, state, t, dt)

        monkeypatch.setattr(stepper_class, "step", interrupted)

    folder = tmp_path / "checkpoints"
    args = ["sde", config, "--checkpoint", str(folder), "--resume"]
    # Ctrl-C in the long run's step 6 of 8 (η = 0.5), then in the scheduled training's
    # iteration 51 of 120; each run goes on from the checkpoints of the one before
    ctrl_c(SDEStepper, 2.5)
    assert main([*args, "--out", str(tmp_path / "first")]) == 130
    err = capsys.readouterr().err
    assert "long_run.ckpt.npz" in err and "--resume" in err
    monkeypatch.undo()
    ctrl_c(SMLStepper, 50)
    assert main([*args, "--out", str(tmp_path / "second")]) == 130
    assert "the long run resumed from step 5 of 8" in capsys.readouterr().err
    monkeypatch.undo()
    assert main([*args, "--out", str(tmp_path / "third")]) == 0
    resumed = json.loads((tmp_path / "third" / "results.json").read_text())
    assert resumed["invariant"]["resumed_from_step"] == 8  # read back, finished
    assert resumed["schedule"]["resumed_from_step"] == {"scheduled": 50, "constant": 0}
    assert _without_resume_steps(resumed) == _without_resume_steps(expected)


def test_resume_needs_a_checkpoint_folder(tmp_path, capsys):
    assert main(["sde", _write(tmp_path, SMALL), "--resume", "--out", str(tmp_path / "o")]) == 2
    assert "--resume needs --checkpoint DIR" in capsys.readouterr().err
