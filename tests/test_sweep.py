"""Parameter sweeps on Dask: grids, schedulers, the per-point cache and ``gan-pde sweep``."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from functools import partial

import numpy as np
import pytest

from gan_pde import cli
from gan_pde.commands import sweep as sweep_command
from gan_pde.errors import ConfigError, InvalidInputError, MissingDependencyError
from gan_pde.sweep import (
    _cache_file,
    _check_shared,
    _evaluate,
    _function_name,
    grid_points,
    jsd_network_seed,
    poincare_constant,
    sweep,
)


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


def test_scheduler_names_and_the_unreachable_error_have_one_home():
    import gan_pde.errors
    import gan_pde.sweep as sweep_module

    # the error lives with the others (one except clause catches every gan_pde error) and
    # is still importable from gan_pde.sweep, where it was first defined
    assert sweep_module.SchedulerUnreachableError is gan_pde.errors.SchedulerUnreachableError
    assert issubclass(sweep_module.SchedulerUnreachableError, gan_pde.errors.GanPdeError)
    assert issubclass(sweep_module.SchedulerUnreachableError, ConnectionError)
    assert sweep_module.SCHEDULERS == ("threads", "processes", "synchronous")
    assert sweep_module._SCHEDULERS is sweep_module.SCHEDULERS  # the former private name
    # the command's checks and messages read the same tuple
    assert all(sweep_command.is_scheduler(name) for name in sweep_module.SCHEDULERS)
    assert not sweep_command.is_scheduler("cluster")
    message = sweep_command._scheduler_problem()
    assert all(repr(name) in message for name in sweep_module.SCHEDULERS)
    fields = {f.name: f for f in dataclasses.fields(sweep_command.SweepSection)}
    assert fields["task"].metadata["choices"]() == tuple(sweep_module.TASKS)


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


@pytest.mark.parametrize("scheduler", ["synchronous", "threads", "processes"])
def test_progress_reports_the_cached_points_then_each_point(tmp_path, scheduler):
    sweep(_square, {"x": [2.0]}, scheduler="synchronous", cache_dir=tmp_path)
    seen = []
    result = sweep(
        _square,
        {"x": [1.0, 2.0, 3.0]},
        scheduler=scheduler,
        workers=2,
        cache_dir=tmp_path,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert seen == [(1, 3), (2, 3), (3, 3)] and result.cached == 1


def test_cluster_arguments_are_checked(monkeypatch):
    with pytest.raises(InvalidInputError, match="scheduler must be one of.*distributed.Client"):
        sweep(_square, {"x": [1.0]}, scheduler=3)
    with pytest.raises(InvalidInputError, match="scheduler must be one of"):
        sweep(_square, {"x": [1.0]}, scheduler="tcp:/host")
    address = "tcp://127.0.0.1:8786"
    with pytest.raises(InvalidInputError, match="leave workers=None"):
        sweep(_square, {"x": [1.0]}, scheduler=address, workers=2)
    with pytest.raises(InvalidInputError, match="retries must be a non-negative int"):
        sweep(_square, {"x": [1.0]}, scheduler=address, retries=-1)
    with pytest.raises(InvalidInputError, match="connect_timeout must be a positive"):
        sweep(_square, {"x": [1.0]}, scheduler=address, connect_timeout=0.0)
    with pytest.raises(InvalidInputError, match="progress must be a callable"):
        sweep(_square, {"x": [1.0]}, progress=3)
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if it were not installed
    for scheduler in (address, "localhost:8786"):
        with pytest.raises(MissingDependencyError, match=r"pip install 'gan_pde\[distributed\]'"):
            sweep(_square, {"x": [1.0]}, scheduler=scheduler)


def test_a_rerun_of_a_point_replaces_its_file(tmp_path):
    # what a task retried on another worker does: the same file, replaced atomically
    file = _cache_file(tmp_path, _square, {"x": 2.0})
    first = _evaluate(_square, {"x": 2.0}, file)
    second = _evaluate(_square, {"x": 2.0}, file)
    assert [p.name for p in tmp_path.iterdir()] == [file.name]  # one file, no temporaries
    assert json.loads(file.read_text()) == second and second["value"] == first["value"]


def test_partial_functions_have_a_stable_name_and_resume(tmp_path):
    task = partial(_square, shift=1.0)
    name = _function_name(task)
    assert name == f"{__name__}._square(shift=1.0)"  # no memory address: same everywhere
    assert _function_name(partial(_square, shift=2.0)) != name
    sweep(task, {"x": [1.0, 2.0]}, scheduler="synchronous", cache_dir=tmp_path)
    again = sweep(task, {"x": [1.0, 2.0]}, scheduler="synchronous", cache_dir=tmp_path)
    assert again.cached == 2 and again.column("y").tolist() == [2.0, 5.0]


class _Workers:
    """A stand-in for a distributed.Client: what ``client.run(os.path.exists, probe)`` says."""

    def __init__(self, answers):
        self.answers = answers

    def run(self, function, path, on_error):
        return dict(self.answers)


def test_a_cache_dir_the_workers_cannot_see_is_refused(tmp_path):
    _check_shared(_Workers({"tcp://a:1": True, "tcp://b:1": True}), tmp_path)
    with pytest.raises(
        InvalidInputError, match=r"not visible from the Dask worker\(s\) \['tcp://b:1'\]"
    ):
        _check_shared(_Workers({"tcp://a:1": True, "tcp://b:1": False}), tmp_path)
    assert list(tmp_path.iterdir()) == []  # the probe file is removed


def test_command_scheduler_option_and_key_are_checked(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["sweep", "--scheduler", "cluster"])
    assert exit_info.value.code == 2
    assert "--scheduler 'cluster' must be 'threads'" in capsys.readouterr().err
    config = tmp_path / "s.toml"
    config.write_text("[sweep]\nscheduler = 'cluster'\n[parameters]\nseparation = [1.0]\n")
    with pytest.raises(ConfigError, match="scheduler.*line 2.*Dask scheduler address"):
        sweep_command.load_config(config)
    config.write_text("[sweep]\nscheduler = 'tcp://h:8786'\n[parameters]\nseparation = [1.0]\n")
    assert sweep_command.load_config(config)[0].scheduler == "tcp://h:8786"
    config.write_text("[sweep]\ntask = 'jsd_network_seed'\n[parameters]\nseed = [0, -1]\n")
    with pytest.raises(ConfigError, match="seed.*must be >= 0"):
        sweep_command.load_config(config)
    config.write_text(
        "[sweep]\ntask = 'jsd_network_seed'\n[parameters]\nseed = [0]\nalgorithm = ['adam']\n"
    )
    with pytest.raises(ConfigError, match="algorithm.*'particles' or 'gan'"):
        sweep_command.load_config(config)


def test_network_seed_task_checks_its_arguments():
    with pytest.raises(InvalidInputError, match="algorithm must be one of"):
        jsd_network_seed(seed=0, algorithm="wgan")
    with pytest.raises(InvalidInputError, match="seed must be a non-negative int"):
        jsd_network_seed(seed=-1)
    with pytest.raises(InvalidInputError, match="steps must be a positive int"):
        jsd_network_seed(seed=0, steps=0)
