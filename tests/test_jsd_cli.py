"""``gan-pde jsd-flow``: default config, outputs, 2D, KDE densities, config errors."""

from __future__ import annotations

import argparse
import dataclasses

import meshio
import numpy as np
import pytest

from gan_pde.commands import jsd_flow
from gan_pde.config import bundled_config_text
from gan_pde.errors import ConfigError
from gan_pde.io import load_trajectory


def run(config, out, capsys):
    args = argparse.Namespace(
        config=config, out=str(out), quiet=True, checkpoint_every=30.0, resume=False
    )
    code = jsd_flow.run(args)
    return code, capsys.readouterr()


def test_default_config_writes_everything(tmp_path, capsys):
    code, captured = run(None, tmp_path, capsys)
    assert code == 0
    names = {"trajectory.npz", "trajectory.xdmf", "trajectory.h5", "densities.png"}
    assert names | {"divergences.png", "results.json"} == {p.name for p in tmp_path.iterdir()}
    assert captured.out.count("\n") == 1 and "JSD" in captured.out
    assert captured.err == ""  # --quiet: no progress bar
    traj = load_trajectory(tmp_path / "trajectory.npz")
    assert traj.times.tolist() == [0.0, 0.5, 1.0, 2.0, 5.0]
    assert np.all(np.diff(traj.jsd) < 0)
    assert np.ptp(traj.mass) < 1e-14
    assert traj.info["config"]["solver"]["scheme"] == "tr-bdf2"
    with meshio.xdmf.TimeSeriesReader(tmp_path / "trajectory.xdmf") as reader:
        assert reader.num_steps == 5


def test_2d_config_with_kde_target(tmp_path, capsys):
    config = tmp_path / "flow.toml"
    config.write_text(
        """
[target]
kind = "kde"
source = "mixture"
means = [[-1.5, 0.0], [1.5, 0.5]]
stds = [1.0, 0.8]
weights = [0.6, 0.4]
samples = 400
seed = 1
bandwidth = 0.8

[initial]
kind = "gaussian"
mean = [0.5, -0.5]
cov = [[0.7, 0.2], [0.2, 0.9]]

[domain]
kind = "rectangle"
bounds = [[-5.0, 5.0], [-5.0, 5.0]]
cells = [16, 16]

[solver]
t_final = 1.0
dt = 0.25
save_times = [0.0, 0.5, 1.0]
scheme = "backward-euler"
""",
        encoding="utf-8",
    )
    code, captured = run(str(config), tmp_path / "out", capsys)
    assert code == 0
    assert (tmp_path / "out" / "densities.png").stat().st_size > 0
    traj = load_trajectory(tmp_path / "out" / "trajectory.npz")
    assert traj.info["dim"] == 2 and "KDE" in traj.info["target"]
    assert np.all(np.diff(traj.jsd) < 0)
    assert traj.v_min.min() >= 0.0  # maximum principle (lumped P1, right triangles)


def bad_config(tmp_path, old, new):
    text = bundled_config_text("jsd_flow")
    assert old in text
    path = tmp_path / "bad.toml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(
    ("old", "new", "match"),
    [
        ("dt = 0.05", "dt = -0.05", "'dt'"),
        ("dt = 0.05", 'dt = "small"', "'dt'"),
        ("t_final = 5.0", "t_final = 5.0\nsteps = 3", "'steps'"),
        ('scheme = "tr-bdf2"', 'scheme = "rk4"', "'scheme'"),
        ("save_times = [0.0, 0.5, 1.0, 2.0, 5.0]", "save_times = [0.0, 7.0]", "'save_times'"),
        ('kind = "gaussian"', 'kind = "kde"', "'source'"),
        ('kind = "gaussian"', 'kind = "cauchy"', "'kind'"),
    ],
)
def test_bad_config_names_the_key(tmp_path, capsys, old, new, match):
    with pytest.raises(ConfigError, match=match):
        run(bad_config(tmp_path, old, new), tmp_path / "out", capsys)


def test_config_choices_are_the_models_names(tmp_path, capsys, monkeypatch):
    from gan_pde.config import DENSITY_KINDS
    from gan_pde.fem import basis
    from gan_pde.flows import operator

    def choices(cls):
        return {f.name: f.metadata["choices"] for f in dataclasses.fields(cls)}

    solver = choices(jsd_flow.FlowSolverConfig)
    assert solver["scheme"]() == operator.SCHEMES
    assert solver["element"]() == basis.ELEMENT_NAMES
    density = choices(jsd_flow.FlowDensityConfig)
    assert density["kind"] == (*DENSITY_KINDS, "kde") and density["source"] == DENSITY_KINDS
    # a scheme added to the model is accepted by the config at once (and only then)
    config = bad_config(tmp_path, 'scheme = "tr-bdf2"', 'scheme = "bdf3"')
    with pytest.raises(ConfigError, match="'scheme'.*must be one of"):
        jsd_flow.load_config(config)
    monkeypatch.setattr(operator, "SCHEMES", (*operator.SCHEMES, "bdf3"))
    assert jsd_flow.load_config(config).solver.scheme == "bdf3"


def test_missing_section_and_file(tmp_path, capsys):
    path = tmp_path / "empty.toml"
    path.write_text("[solver]\ndt = 0.1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="target"):
        run(str(path), tmp_path, capsys)
    with pytest.raises(ConfigError, match="cannot read"):
        run(str(tmp_path / "nope.toml"), tmp_path, capsys)


def test_arguments():
    parser = argparse.ArgumentParser()
    jsd_flow.add_arguments(parser)
    args = parser.parse_args(["c.toml", "--out", "d", "--quiet"])
    assert (args.config, args.out, args.quiet) == ("c.toml", "d", True)
    assert parser.parse_args([]).config is None
