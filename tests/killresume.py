"""Kill a long run with SIGKILL at a chosen step, resume it, compare with an unbroken run.

Every long-running model has a test built on :func:`kill_and_resume`: a child process
runs the model with a checkpoint after every step and a small delay per step, the parent
kills it (SIGKILL: no handler runs, nothing is flushed) once the checkpoint has reached a
step drawn at random, a second child resumes from the checkpoint, and a third runs
without interruption.  The resumed result must equal the unbroken one bit for bit.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np

_CHILD = """
import sys, numpy as np
{body}
checkpoint, resume, out = sys.argv[1], sys.argv[2] == "1", sys.argv[3]
arrays = result(checkpoint if checkpoint != "-" else None, resume)
np.savez(out, **{{k: np.asarray(v) for k, v in arrays.items()}})
"""


def _step_of(path: Path) -> int:
    try:
        with np.load(path, allow_pickle=False) as data:
            return int(data["__step"])
    except Exception:  # noqa: BLE001 - a file being replaced, or not yet written
        return -1


def kill_and_resume(
    tmp_path: Path, body: str, *, kill_at: int, timeout: float = 240.0
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], int]:
    """Run ``body``'s ``result(checkpoint, resume) -> dict of arrays`` three ways.

    ``body`` is Python source defining ``result``; it must checkpoint after every step to
    ``checkpoint`` (when not None) and step slowly enough (a sleep in a callback) for the
    parent to catch step ``kill_at``.  Returns (resumed, unbroken, step the kill left).
    """
    script = tmp_path / "child.py"
    script.write_text(_CHILD.format(body=textwrap.dedent(body)))
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }
    ckpt = tmp_path / "run.ckpt.npz"

    def child(checkpoint: str, resume: bool, out: Path) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, str(script), checkpoint, "1" if resume else "0", str(out)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    # the unbroken run is independent of the other two: it runs beside the one to be killed
    unbroken = child("-", False, tmp_path / "unbroken.npz")
    first = child(str(ckpt), False, tmp_path / "never.npz")
    deadline = time.monotonic() + timeout
    while _step_of(ckpt) < kill_at:
        if first.poll() is not None:
            unbroken.kill()
            unbroken.communicate()
            _, err = first.communicate()
            msg = f"the run ended before step {kill_at} (rc {first.returncode}):\n{err}"
            raise AssertionError(msg)
        if time.monotonic() > deadline:
            first.kill()
            unbroken.kill()
            first.communicate()
            unbroken.communicate()
            raise AssertionError(f"no checkpoint of step {kill_at} within {timeout} s")
        time.sleep(0.005)
    first.send_signal(signal.SIGKILL)
    first.communicate()  # reaps it and closes its pipes
    assert not (tmp_path / "never.npz").exists(), "the killed run finished first"
    left = _step_of(ckpt)
    outputs = {}
    procs = {"resumed": child(str(ckpt), True, tmp_path / "resumed.npz"), "unbroken": unbroken}
    for name, proc in procs.items():
        _, err = proc.communicate(timeout=timeout)
        assert proc.returncode == 0, f"the {name} run failed:\n{err}"
        with np.load(tmp_path / f"{name}.npz", allow_pickle=False) as data:
            outputs[name] = {k: data[k] for k in data.files}
    return outputs["resumed"], outputs["unbroken"], left


def assert_identical(resumed: dict[str, np.ndarray], unbroken: dict[str, np.ndarray]) -> None:
    """Same names, same shapes, same bits (NaN equal to NaN); names starting with ``_``
    (e.g. ``_resumed_from_step``) are bookkeeping and not compared."""
    assert sorted(resumed) == sorted(unbroken)
    for key in (k for k in unbroken if not k.startswith("_")):
        a, b = np.asarray(resumed[key]), np.asarray(unbroken[key])
        assert a.shape == b.shape, key
        assert a.tobytes() == b.tobytes(), f"{key} differs after the resume"
