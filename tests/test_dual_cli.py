"""``gan-pde dual``: outputs of a small config, the bundled config, config errors."""

from __future__ import annotations

import argparse
import json

import pytest

from gan_pde.cli import main
from gan_pde.commands import dual
from gan_pde.config import bundled_config_text
from gan_pde.errors import ConfigError

SMALL = """
[oscillation]
taus = [0.2, 0.1]
t_final = 10.0

[convergence]
taus = [0.04, 0.02]
t_final = 1.0

[collapse]
target_points = 16
particles = 16
taus = [0.2, 2.4]
t_final = 10.0
"""


def test_small_config_writes_summary_and_figures(tmp_path, capsys):
    config = tmp_path / "dual.toml"
    config.write_text(SMALL, encoding="utf-8")
    out = tmp_path / "out"
    assert main(["dual", str(config), "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert captured.out.count("\n") == 1 and "Lemma 1 slope" in captured.out
    names = {"results.json", "oscillation.png", "convergence.png", "collapse.png"}
    assert names == {p.name for p in out.iterdir()}
    for name in names - {"results.json"}:
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = json.loads((out / "results.json").read_text())
    osc = summary["oscillation"]
    assert osc["measured_rate"]["simultaneous"][0] == pytest.approx(
        osc["predicted_rate"]["simultaneous"][0], rel=1e-8
    )  # exact geometric growth (normal matrix), round-off only
    # two steps a factor 2 apart: first order within the O(tau) next term
    assert summary["convergence"]["orders"]["implicit_vs_explicit"] == pytest.approx(1.0, abs=0.1)
    assert summary["collapse"]["threshold_measured"] is not None
    assert summary["config"]["collapse"]["particles"] == 16


def test_bundled_config_is_the_default():
    config = dual.load_config(None)
    assert config.collapse.weight_decay == 0.2
    assert config.oscillation.taus == [0.2, 0.1, 0.05, 0.025]
    assert "[oscillation]" in bundled_config_text("dual")


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("[oscillation]\ntaus = [0.1]\n", "'taus'"),
        ("[oscillation]\ntaus = [0.1, -0.1]\n", "'taus'"),
        ("[oscillation]\nt_final = -1.0\n", "'t_final'"),
        ("[oscillation]\nx0 = [0.0]\n", "'x_r', 'x0', 'y0'"),
        ("[oscillation]\nsteps = 3\n", "'steps'"),
        ("[convergence]\ndamping = -0.5\n", "'damping'"),
        ("[collapse]\nwidth = 0.0\n", "'width'"),
        ("[collapse]\nweight_decay = -1.0\n", "'weight_decay'"),
        ("[collapse]\ninitial = [1.0, 0.0]\n", "'initial'"),
        ("[collapse]\nparticles = 0\n", "'particles'"),
        ("[collapse]\ncenters = []\n", "'centers'"),
        ("[other]\n", "other"),
    ],
)
def test_bad_config_names_the_key(tmp_path, capsys, text, match):
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=match):
        dual.run(argparse.Namespace(config=str(path), out=str(tmp_path / "out")))
    assert main(["dual", str(path), "--out", str(tmp_path / "out")]) == 2
    assert "error" in capsys.readouterr().err


def test_arguments():
    parser = argparse.ArgumentParser()
    dual.add_arguments(parser)
    args = parser.parse_args(["c.toml", "--out", "d"])
    assert (args.config, args.out) == ("c.toml", "d")
    assert parser.parse_args([]).config is None
