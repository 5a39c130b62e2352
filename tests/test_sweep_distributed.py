"""Sweeps on a Dask cluster: a ``distributed.LocalCluster`` of 2 worker processes (one
thread each), a worker killed with SIGKILL mid-task, a client killed mid-sweep, the address
string path, ``gan-pde sweep --scheduler ADDRESS`` and a network ensemble of 3 seeds.

Every execution of a task leaves a marker file ``start-<x>-<pid>-<uuid>``, so the tests
count how often each point ran and in which worker process.  The whole module skips
without the ``distributed`` extra (``pip install 'gan_pde[distributed]'``).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from functools import partial
from pathlib import Path

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")

from gan_pde import cli  # noqa: E402 - after the skip
from gan_pde.sweep import (  # noqa: E402
    SchedulerUnreachableError,
    _cache_file,
    jsd_network_seed,
    sweep,
)

TESTS = Path(__file__).resolve().parent
#: Points of the kill tests, and how long each task sleeps: 10 x 0.4 s on 2 workers is
#: about 2 s of work, long enough to kill something mid-run, short on a busy machine.
POINTS = [float(i) for i in range(10)]
PAUSE = 0.4


def _square(*, x, shift=0.0):
    return {"y": x * x + shift}


def _double(*, x, marks, pause):
    """2x, after a marker for this execution: ``start-<x>-<pid>-<uuid>``."""
    Path(marks, f"start-{x}-{os.getpid()}-{uuid.uuid4().hex}").touch()
    time.sleep(pause)
    return {"y": 2.0 * x}


def _starts(marks: Path) -> list[tuple[float, int, float]]:
    """(x, pid, mtime) of every execution so far."""
    out = []
    for path in marks.glob("start-*"):
        _, x, pid, _ = path.name.split("-")
        out.append((float(x), int(pid), path.stat().st_mtime))
    return out


def _cached(task, cache: Path) -> set[float]:
    return {x for x in POINTS if _cache_file(cache, task, {"x": x}).exists()}


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(
        n_workers=2,
        processes=True,
        threads_per_worker=1,
        dashboard_address=None,
        silence_logs=logging.ERROR,
    ) as cluster:
        yield cluster


@pytest.fixture
def client(cluster):
    with distributed.Client(cluster, set_as_default=False) as client:
        client.wait_for_workers(2, timeout=120)  # after a kill, the nanny restarts a worker
        yield client


def test_address_string_matches_the_synchronous_sweep(cluster, tmp_path):
    grid = {"x": [0.0, 1.0, 2.0], "shift": [0.0, 0.5]}
    reference = sweep(_square, grid, scheduler="synchronous")
    seen = []
    result = sweep(
        _square,
        grid,
        scheduler=cluster.scheduler_address,
        cache_dir=tmp_path,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert [{k: r[k] for k in ("x", "shift", "value")} for r in result.records] == [
        {k: r[k] for k in ("x", "shift", "value")} for r in reference.records
    ]
    assert seen == [(k, 6) for k in range(7)]  # the cached count, then one per point
    assert result.info["scheduler"] == cluster.scheduler_address
    assert result.info["workers"] == 2 and result.info["threads"] == 2
    assert len(list(tmp_path.glob("point-*.json"))) == 6
    again = sweep(_square, grid, scheduler=cluster.scheduler_address, cache_dir=tmp_path)
    assert again.cached == 6 and again.records == result.records


def _fails_first_time(*, x, marks):
    """Raises on the first execution of each point, returns 2x on the next ones."""
    marker = Path(marks, f"failed-{x}")
    if not marker.exists():
        marker.touch()
        raise RuntimeError(f"first try of x = {x}")
    return {"y": 2.0 * x}


def test_retries_rerun_a_task_that_raised(client, tmp_path):
    grid = {"x": [1.0, 2.0, 3.0]}
    task = partial(_fails_first_time, marks=str(tmp_path))
    result = sweep(task, grid, scheduler=client, retries=1)
    assert result.column("y").tolist() == [2.0, 4.0, 6.0]
    assert result.info["retries"] == 1
    later = partial(_fails_first_time, marks=str(tmp_path / "again"))
    (tmp_path / "again").mkdir()
    with pytest.raises(RuntimeError, match="first try of x"):
        sweep(later, grid, scheduler=client, retries=0)


def test_worker_killed_mid_task_every_point_once(client, tmp_path):
    marks, cache = tmp_path / "marks", tmp_path / "cache"
    marks.mkdir()
    task = partial(_double, marks=str(marks), pause=PAUSE)
    killed: list[float] = []

    def kill_a_running_task(done: int, _total: int) -> None:
        if killed or done < 2:
            return
        finished = _cached(task, cache)
        running = [s for s in _starts(marks) if s[0] not in finished]
        if running:  # the newest start: its worker is inside time.sleep, mid-task
            x, pid, _ = max(running, key=lambda s: s[2])
            os.kill(pid, signal.SIGKILL)
            killed.append(x)

    result = sweep(
        task, {"x": POINTS}, scheduler=client, cache_dir=cache, progress=kill_a_running_task
    )
    assert killed, "no task was running when the progress callback looked"
    runs = Counter(x for x, _, _ in _starts(marks))
    assert runs[killed[0]] >= 2  # the killed task ran again, on another worker
    assert result.column("x").tolist() == POINTS  # every point once, in grid order
    assert result.column("y").tolist() == [2.0 * x for x in POINTS]
    files = sorted(cache.glob("point-*.json"))
    assert len(files) == len(POINTS)  # one file per point, the rerun replaced its own
    by_x = {json.loads(f.read_text())["x"]: json.loads(f.read_text()) for f in files}
    assert sorted(by_x) == POINTS
    assert all(by_x[r["x"]]["value"] == r["value"] for r in result.records)


def _settle(task, marks: Path, cache: Path, *, quiet: float = 1.0, limit: float = 60.0) -> None:
    """Wait until every started execution has written its file and nothing moved for
    ``quiet`` seconds (the tasks of a dead client that were running finish on their own)."""
    deadline = time.monotonic() + limit
    last, since = None, time.monotonic()
    while time.monotonic() < deadline:
        state = (len(_starts(marks)), frozenset(_cached(task, cache)))
        if state != last:
            last, since = state, time.monotonic()
        started = {x for x, _, _ in _starts(marks)}
        if started <= state[1] and time.monotonic() - since >= quiet:
            return
        time.sleep(0.05)
    pytest.fail(f"executions did not settle in {limit} s: {last}")


def test_client_killed_mid_sweep_then_resumed_computes_only_missing_points(
    cluster, client, tmp_path
):
    marks, cache = tmp_path / "marks", tmp_path / "cache"
    marks.mkdir()
    task = partial(_double, marks=str(marks), pause=PAUSE)
    script = (
        "from functools import partial\n"
        "from gan_pde.sweep import sweep\n"
        "from test_sweep_distributed import _double\n"
        f"sweep(partial(_double, marks={str(marks)!r}, pause={PAUSE!r}), {{'x': {POINTS!r}}}, "
        f"scheduler={cluster.scheduler_address!r}, cache_dir={str(cache)!r})\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]),
    }
    log = tmp_path / "child.log"
    with open(log, "w") as errors:
        child = subprocess.Popen([sys.executable, "-c", script], env=env, stderr=errors)
    try:
        deadline = time.monotonic() + 120
        while len(_starts(marks)) < 3:
            assert child.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the child sweep did not start 3 tasks"
            time.sleep(0.02)
    finally:
        child.kill()
        child.wait()
    _settle(task, marks, cache)
    before = Counter(x for x, _, _ in _starts(marks))
    done = _cached(task, cache)
    assert 0 < len(done) < len(POINTS)  # the client died mid-sweep
    resumed = sweep(task, {"x": POINTS}, scheduler=client, cache_dir=cache)
    after = Counter(x for x, _, _ in _starts(marks))
    assert sorted((after - before).elements()) == sorted(set(POINTS) - done)  # each once
    assert resumed.cached == len(done)
    assert resumed.column("y").tolist() == [2.0 * x for x in POINTS]
    assert len(list(cache.glob("point-*.json"))) == len(POINTS)


def test_network_ensemble_of_three_seeds_on_the_cluster(client):
    pytest.importorskip("torch")
    import dask

    options = {"steps": 4, "n_particles": 200, "n_data": 1000, "cells": 100}
    grid = {"seed": [0, 1, 2], **{k: [v] for k, v in options.items()}}
    # one worker imports torch (seconds of CPU on a busy machine) instead of both; the
    # sweep's path is the same, and the other tests use both workers
    worker = sorted(client.nthreads())[0]
    with dask.annotate(workers=[worker]):
        result = sweep(jsd_network_seed, grid, scheduler=client)
        direct = client.gather(
            [client.submit(jsd_network_seed, seed=s, **options, pure=False) for s in (0, 1, 2)]
        )
    assert result.column("seed").tolist() == [0, 1, 2]
    # each record is what the task returns for its seed, called directly in the same
    # worker process: the same float64 operations in the same order, equal bit for bit
    assert [r["value"] for r in result.records] == direct
    finals = result.column("w1_final")
    assert np.all(np.isfinite(finals)) and len(set(finals.tolist())) == 3  # seeds differ


def _config(tmp_path: Path) -> Path:
    config = tmp_path / "s.toml"
    config.write_text(
        '[sweep]\ntask = "poincare_constant"\n[parameters]\nseparation = [0.0, 2.0]\n'
        "cells = [200]\n"
    )
    return config


def test_command_runs_on_a_cluster_address_and_resumes(cluster, tmp_path, capsys):
    argv = ["sweep", str(_config(tmp_path)), "--out", str(tmp_path / "out"), "-q"]
    address = cluster.scheduler_address
    assert cli.main([*argv, "--scheduler", address]) == 0
    text = capsys.readouterr().out
    assert "(0 cached)" in text and f"the Dask cluster at {address} (2 workers" in text
    data = json.loads((tmp_path / "out" / "results.json").read_text())
    assert data["info"]["scheduler"] == address
    # separation 0: N(0, 1), whose Poincaré constant is 1 (paper 004, Appendix B); P2 with
    # 200 cells on [-12, 12] is accurate to ~1e-10 (docs/spectrum.md), 1e-8 leaves margin
    assert abs(data["records"][0]["value"]["xi_min"] - 1.0) < 1e-8
    assert cli.main([*argv, "--scheduler", address]) == 0
    assert "(2 cached)" in capsys.readouterr().out


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_unreachable_address_names_it(tmp_path, capsys):
    address = f"tcp://127.0.0.1:{_free_port()}"
    with pytest.raises(SchedulerUnreachableError, match=f"Dask scheduler at '{address}'"):
        sweep(_square, {"x": [1.0]}, scheduler=address, connect_timeout=0.5)
    argv = ["sweep", str(_config(tmp_path)), "--out", str(tmp_path / "o"), "-q"]
    assert cli.main([*argv, "--scheduler", address, "--connect-timeout", "0.5"]) == 2
    assert f"cannot reach the Dask scheduler at '{address}'" in capsys.readouterr().err
