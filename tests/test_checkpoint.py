"""Checkpoints: atomic and verified files, resume == uninterrupted, kills at random points."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import gan_pde as gp
from gan_pde.checkpoint import load_checkpoint, save_checkpoint
from gan_pde.errors import IncompatibleCheckpointError, InvalidInputError
from gan_pde.flows import JSDFlow


def _flow(cells: int = 1200) -> JSDFlow:
    rho = gp.GaussianMixture(means=[[-2.0], [2.0]], stds=[1.0, 1.0], weights=[0.5, 0.5])
    return JSDFlow(rho, gp.Gaussian(mean=[0.0], cov=[[1.0]]), gp.mesh.interval(-10, 10, n=cells))


def test_round_trip_and_refusals(tmp_path):
    path = tmp_path / "c.npz"
    state = {"step": 7, "v": np.linspace(0.0, 1.0, 5), "name": np.array("x")}
    save_checkpoint(path, kind="k", fingerprint={"dt": 0.1, "a": np.ones(3)}, state=state)
    back = load_checkpoint(path, kind="k", fingerprint={"dt": 0.1, "a": np.ones(3)})
    assert int(back["step"]) == 7 and np.array_equal(back["v"], state["v"])
    with pytest.raises(IncompatibleCheckpointError, match="'dt' is 0.1 in the checkpoint"):
        load_checkpoint(path, kind="k", fingerprint={"dt": 0.2, "a": np.ones(3)})
    with pytest.raises(IncompatibleCheckpointError, match="'a'"):
        load_checkpoint(path, kind="k", fingerprint={"dt": 0.1, "a": np.zeros(3)})
    with pytest.raises(IncompatibleCheckpointError, match="expected a 'other' checkpoint"):
        load_checkpoint(path, kind="other", fingerprint={"dt": 0.1, "a": np.ones(3)})
    with pytest.raises(InvalidInputError, match="numeric or string"):
        save_checkpoint(path, kind="k", fingerprint={}, state={"o": np.array([None])})
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "missing.npz", kind="k", fingerprint={})


def test_partial_and_damaged_files_are_refused(tmp_path):
    path = tmp_path / "c.npz"
    save_checkpoint(path, kind="k", fingerprint={}, state={"v": np.arange(1000.0)})
    data = path.read_bytes()
    # a file cut short (as a non-atomic writer killed mid-write would leave it)
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(IncompatibleCheckpointError, match="not a readable"):
        load_checkpoint(path, kind="k", fingerprint={})
    # one flipped byte inside the array data: the digest catches it
    damaged = bytearray(data)
    damaged[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(damaged))
    with pytest.raises(IncompatibleCheckpointError):
        load_checkpoint(path, kind="k", fingerprint={})


def test_resume_is_bit_identical(tmp_path):
    flow = _flow()  # 1201 dofs: Newton reuses factorisations across steps, which is state
    kwargs = {"save_times": [0.0, 0.5, 1.0, 2.0], "scheme": "tr-bdf2"}
    reference = flow.solve(2.0, 0.1, **kwargs)

    class Interrupt(Exception):
        pass

    def stop(t, _v):
        if t > 1.25:
            raise Interrupt

    path = tmp_path / "c.npz"
    with pytest.raises(Interrupt):
        flow.solve(2.0, 0.1, checkpoint=path, checkpoint_interval=0, callback=stop, **kwargs)
    resumed = flow.solve(2.0, 0.1, checkpoint=path, resume=True, **kwargs)
    assert 0 < resumed.info["resumed_from_step"] < resumed.info["n_steps"]
    assert np.array_equal(np.stack(resumed.v), np.stack(reference.v))
    for key in ("times", "jsd", "kl", "l1", "mass", "grad_v_integral", "newton_iterations"):
        assert np.array_equal(getattr(resumed, key), getattr(reference, key)), key
    # the same checkpoint refuses another step size, naming it
    with pytest.raises(IncompatibleCheckpointError, match="'dt'"):
        flow.solve(2.0, 0.05, checkpoint=path, resume=True, **kwargs)
    with pytest.raises(InvalidInputError, match="resume=True needs a checkpoint"):
        flow.solve(2.0, 0.1, resume=True)


def test_sigkill_at_a_random_point_then_resume(tmp_path):
    """``gan-pde jsd-flow`` killed by SIGKILL mid-run; ``--resume`` gives the same result."""
    source = (Path(gp.__file__).parent / "data" / "jsd_flow.toml").read_text()
    config = tmp_path / "flow.toml"
    config.write_text(
        source.replace("cells = [400]", "cells = [1000]").replace("dt = 0.05", "dt = 0.01")
    )
    out = tmp_path / "out"
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    command = [sys.executable, "-m", "gan_pde", "jsd-flow", str(config), "--out", str(out)]
    process = subprocess.Popen([*command, "--quiet", "--checkpoint-every", "0"], env=env)
    checkpoint = out / "checkpoint.npz"
    deadline = time.monotonic() + 120
    while not checkpoint.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(random.Random().uniform(0.0, 0.5))
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    assert not (out / "trajectory.npz").exists()
    with np.load(checkpoint, allow_pickle=False) as data:  # the step the kill left behind
        done = int(data["__step"])  # the engine's step counter
    assert 0 < done < 500
    subprocess.run([*command, "--quiet", "--resume"], env=env, check=True, capture_output=True)
    resumed = gp.io.load_trajectory(out / "trajectory.npz")
    assert resumed.info["resumed_from_step"] >= done

    from gan_pde.commands.jsd_flow import load_config

    settings = load_config(config)
    flow = JSDFlow(settings.target.build(), settings.initial.build(), settings.domain.build())
    solver = settings.solver
    reference = flow.solve(
        solver.t_final, solver.dt, save_times=solver.save_times, scheme=solver.scheme
    )
    assert np.array_equal(np.stack(resumed.v), np.stack(reference.v))
    assert np.array_equal(resumed.jsd, reference.jsd)
    assert np.array_equal(resumed.newton_iterations, reference.newton_iterations)


@pytest.mark.parametrize("scheme", ["backward-euler", "tr-bdf2"])
def test_ctrl_c_inside_a_step_writes_a_checkpoint_and_the_resume_is_bit_identical(
    tmp_path, monkeypatch, scheme
):
    """Ctrl-C before the first timed checkpoint loses nothing: the steps done are written
    (issue 21), and resuming from them reproduces the uninterrupted run exactly."""
    flow = _flow()  # 1200 cells: above _REUSE_MIN_DOFS, so the factorisation is reused and
    reference = flow.solve(1.0, 0.02, scheme=scheme)  # its state must be checkpointed too
    path = tmp_path / "run.npz"
    original = JSDFlow._adaptive_step
    calls = {"n": 0}

    def interrupted(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 23:  # inside step 23: steps 1..22 are done
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(JSDFlow, "_adaptive_step", interrupted)
    with pytest.raises(KeyboardInterrupt):
        flow.solve(1.0, 0.02, scheme=scheme, checkpoint=path, checkpoint_interval=3600.0)
    monkeypatch.setattr(JSDFlow, "_adaptive_step", original)
    with np.load(path, allow_pickle=False) as data:
        assert int(data["__step"]) == 22
    resumed = flow.solve(1.0, 0.02, scheme=scheme, checkpoint=path, resume=True)
    assert resumed.info["resumed_from_step"] == 22
    assert np.array_equal(np.stack(resumed.v), np.stack(reference.v))
    assert np.array_equal(resumed.jsd, reference.jsd)
    assert np.array_equal(resumed.newton_iterations, reference.newton_iterations)
    assert resumed.grad_v_integral[-1] == reference.grad_v_integral[-1]


def test_two_solves_of_one_flow_are_bit_identical():
    # regression: the second solve reused the factorisation the first left behind (1e-14)
    flow = _flow()
    first, second = flow.solve(1.0, 0.02), flow.solve(1.0, 0.02)
    assert np.array_equal(np.stack(first.v), np.stack(second.v))


def test_a_mismatch_names_a_user_parameter_before_an_array_digest(tmp_path):
    # issue 21: "'grid' is 'a3f...' in the checkpoint" told a user nothing
    path = tmp_path / "c.npz"
    grid = np.linspace(0.0, 1.0, 11)
    save_checkpoint(path, kind="demo", fingerprint={"a_grid": grid, "dt": 0.1}, state={})
    with pytest.raises(
        IncompatibleCheckpointError,
        match=r"'dt' is 0.1 in the checkpoint and "
        r"0.2 now \(also: 'a_grid'\)",
    ):
        load_checkpoint(path, kind="demo", fingerprint={"a_grid": grid[:6], "dt": 0.2})
    with pytest.raises(IncompatibleCheckpointError, match=r"the array 'a_grid' \(compared by"):
        load_checkpoint(path, kind="demo", fingerprint={"a_grid": grid[:6], "dt": 0.1})
