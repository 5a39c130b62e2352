"""Parameter sweeps on Dask: grids, schedulers, the per-point cache and ``gan-pde sweep``."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest

from gan_pde.commands import sweep as sweep_command
from gan_pde.errors import ConfigError, InvalidInputError
from gan_pde.sweep import grid_points, poincare_constant, sweep


def _square(*, x, shift=0.0):
    return {"y": x * x + shift}


def test_grid_points():
    assert grid_points({"a": [1, 2], "b": ["u"]}) == [{"a": 1, "b": "u"}, {"a": 2, "b": "u"}]
    assert grid_points({"a": [1, 2], "b": [3, 4]}, mode="zip") == [
        {"a": 1, "b": 3},
        {"a": 2, "b": 4},
    ]
    with pytest.raises(InvalidInputError, match="one length"):
        grid_points({"a": [1, 2], "b": [3]}, mode="zip")
    with pytest.raises(InvalidInputError, match="parameter 'a' must be a non-empty list"):
        grid_points({"a": []})
    with pytest.raises(InvalidInputError, match="mode must be"):
        grid_points({"a": [1]}, mode="outer")


@pytest.mark.parametrize("scheduler", ["synchronous", "threads", "processes"])
def test_schedulers_agree(scheduler):
    result = sweep(
        _square, {"x": [1.0, 2.0, 3.0], "shift": [0.0, 0.5]}, scheduler=scheduler, workers=2
    )
    expected = [x * x + s for x in (1.0, 2.0, 3.0) for s in (0.0, 0.5)]
    assert result.column("y").tolist() == expected
    assert result.column("x").tolist() == [1.0, 1.0, 2.0, 2.0, 3.0, 3.0]
    assert result.info["scheduler"] == scheduler and result.cached == 0


def test_bad_arguments():
    with pytest.raises(InvalidInputError, match="scheduler must be one of"):
        sweep(_square, {"x": [1.0]}, scheduler="cluster")
    with pytest.raises(InvalidInputError, match="workers must be a positive int"):
        sweep(_square, {"x": [1.0]}, workers=0)
    with pytest.raises(InvalidInputError, match="function must be callable"):
        sweep(3, {"x": [1.0]})
    with pytest.raises(InvalidInputError, match="no column 'z'"):
        sweep(_square, {"x": [1.0]}).column("z")


_FAIL_ON_CALL = {"n": None}
_CALLS: list[float] = []


def _flaky(*, x):
    _CALLS.append(x)
    if len(_CALLS) == _FAIL_ON_CALL["n"]:  # whichever point the scheduler runs third
        raise RuntimeError("interrupted")
    return {"y": 2.0 * x}


def test_interrupted_sweep_resumes_from_its_cache(tmp_path):
    grid = {"x": [0.0, 1.0, 2.0, 3.0, 4.0]}
    reference = sweep(_flaky, grid, scheduler="synchronous")
    _CALLS.clear()
    _FAIL_ON_CALL["n"] = 3
    try:
        with pytest.raises(RuntimeError, match="interrupted"):
            sweep(_flaky, grid, scheduler="synchronous", cache_dir=tmp_path)
    finally:
        _FAIL_ON_CALL["n"] = None
    failed = _CALLS[-1]
    done = {json.loads(p.read_text())["x"] for p in tmp_path.glob("point-*.json")}
    assert done == set(_CALLS[:2]) and failed not in done  # finished points were kept
    _CALLS.clear()
    resumed = sweep(_flaky, grid, scheduler="synchronous", cache_dir=tmp_path)
    assert sorted(_CALLS) == sorted(set(grid["x"]) - done)  # only the missing points ran
    assert resumed.cached == len(done)
    assert resumed.column("y").tolist() == reference.column("y").tolist()
    # a damaged cache file is recomputed, never read as a result
    next(tmp_path.glob("point-*.json")).write_text('{"x": 0.0, "val')
    _CALLS.clear()
    again = sweep(_flaky, grid, scheduler="synchronous", cache_dir=tmp_path)
    assert len(_CALLS) == 1 and again.column("y").tolist() == reference.column("y").tolist()


def test_poincare_task_gaussian_is_one():
    # separation 0: N(0, 1), whose Poincaré constant is 1 (paper 004, Appendix B); P2 with
    # 200 cells on [-12, 12] is accurate to ~1e-10 (docs/spectrum.md), 1e-8 leaves margin
    assert abs(poincare_constant(separation=0.0, cells=200)["xi_min"] - 1.0) < 1e-8


def _run(config, out, fresh=False):
    return sweep_command.run(argparse.Namespace(config=config, out=str(out), fresh=fresh))


def test_command_writes_results_and_resumes(tmp_path, capsys):
    config = tmp_path / "s.toml"
    config.write_text(
        '[sweep]\ntask = "lgan_decay_rate"\nscheduler = "synchronous"\n'
        "[parameters]\nseparation = [0.0, 2.0]\nalpha = [0.5]\nbeta = [1.0]\ncells = [100]\n"
    )
    assert _run(config, tmp_path / "out") == 0
    assert "(0 cached)" in capsys.readouterr().out
    data = json.loads((tmp_path / "out" / "results.json").read_text())
    rows = data["records"]
    assert [r["separation"] for r in rows] == [0.0, 2.0]
    # separation 0 is N(0, 1), xi_min = 1: eta = Re(-a + sqrt(a^2 - 4 b^2))/2 = -a/2 (complex)
    assert abs(rows[0]["value"]["eta"] + 0.25) < 1e-6
    assert data["info"]["config"]["parameters"]["alpha"] == [0.5]
    assert (tmp_path / "out" / "sweep.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "out" / "results.csv").read_text().startswith("separation,alpha,")
    assert _run(config, tmp_path / "out") == 0
    assert "(2 cached)" in capsys.readouterr().out
    assert _run(config, tmp_path / "out", fresh=True) == 0
    assert "(0 cached)" in capsys.readouterr().out


def test_command_config_errors(tmp_path):
    config = tmp_path / "s.toml"
    config.write_text("[sweep]\ntask = 'poincare_constant'\n[parameters]\nseparaton = [1.0]\n")
    with pytest.raises(ConfigError, match="unknown key 'separaton'.*line 4"):
        sweep_command.load_config(config)
    config.write_text("[sweep]\nworkers = 0\n[parameters]\nseparation = [1.0]\n")
    with pytest.raises(ConfigError, match="'workers'.*at least 1"):
        sweep_command.load_config(config)
    config.write_text("[parameters]\nseparation = []\n")
    with pytest.raises(ConfigError, match="non-empty"):
        sweep_command.load_config(config)
    assert np.isfinite(sweep_command.load_config(None)[1]["separation"]).all()
