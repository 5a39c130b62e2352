"""One time-stepping engine for every model: save times, stopping, checkpoints, trackers.

Each time-dependent model of the package (the JSD flow, the lGAN integrators, the dual
schemes, the SDE simulations, the mean-field transport and particles, the torch trainers)
describes itself as a :class:`Stepper` — its state and one ``step(state, t, dt)`` per
scheme — and :func:`run` drives it:

* **the time grid**: steps of ``dt`` merged with the save times (:func:`time_grid`), so the
  solution lands exactly on every save time and the last step ends at ``t_final``;
* **storage**: at each save time the stepper's :meth:`~Stepper.observe` is recorded, and
  each step's diagnostics (:meth:`~Stepper.step`'s record) are kept per step;
* **trackers** observe the run without the model knowing them: progress
  (:class:`ProgressTracker`), storage to a file (:class:`FileTracker`), checkpoints every
  N steps or seconds (:class:`CheckpointTracker`), invariants and NaN watch that stop the
  run with a clear error (:class:`InvariantTracker`), user callbacks
  (:class:`CallbackTracker`), and a stopping rule (:class:`StopTracker`);
* **resume**: with a :class:`CheckpointTracker` and ``resume=True`` the run continues from
  the last checkpoint and takes the same steps from the same state, so its result is
  bit-identical to an uninterrupted run's (random generators are part of the state: see
  :func:`rng_state` and :func:`set_rng_state`).  A Ctrl-C inside a step writes a
  checkpoint of the steps done.

A new model needs only a stepper; a new tracker works with every model.

Examples
--------
A scalar ODE u' = -u stepped by backward Euler:

>>> import numpy as np
>>> from gan_pde.engine import Stepper, run
>>> class Decay(Stepper):
...     kind = "decay"
...     def initial_state(self):
...         return {"u": np.array([1.0])}
...     def step(self, state, t, dt):
...         return {"u": state["u"] / (1.0 + dt)}, {"dt": dt}
...     def observe(self, state, t):
...         return {"u": state["u"][0]}
>>> result = run(Decay(), t_final=1.0, dt=0.25, save_times=[0.0, 0.5])
>>> result.times.tolist(), round(float(result.observations["u"][-1]), 6)
([0.0, 0.5, 1.0], 0.4096)
"""

from __future__ import annotations

import json
import logging
import math
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gan_pde._arrays import (
    as_finite_array,
    as_flag,
    as_non_negative,
    as_positive,
    as_positive_int,
)
from gan_pde.checkpoint import load_checkpoint, save_checkpoint
from gan_pde.errors import InvalidInputError, NumericalBreakdownError

__all__ = [
    "CallbackTracker",
    "CheckpointTracker",
    "EngineResult",
    "FileTracker",
    "InvariantTracker",
    "ProgressTracker",
    "StopTracker",
    "Stepper",
    "Tracker",
    "rng_state",
    "run",
    "set_rng_state",
    "standard_trackers",
    "time_grid",
]

logger = logging.getLogger(__name__)

#: Relative distance (in steps) below which a grid point and a save time are merged.
MERGE_RTOL = 1e-9

State = Any


# --------------------------------------------------------------------------- the grid


def time_grid(
    t_final: float,
    dt: float,
    save_times: Sequence[float] | np.ndarray | None = None,
    *,
    save_final: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Step end points (the ``dt`` grid merged with the save times) and the saved mask.

    0 is always saved, ``t_final`` too unless ``save_final`` is False; ``save_times=None``
    saves every step.  A grid point within ``MERGE_RTOL·dt`` of a save time is replaced by
    it, so no step is shorter than a round-off.

    >>> grid, saved = time_grid(1.0, 0.4, save_times=[0.5])
    >>> grid.tolist(), saved.tolist()
    ([0.0, 0.4, 0.5, 0.8, 1.0], [True, False, True, False, True])
    """
    t_final = as_positive(t_final, "t_final")
    dt = as_positive(dt, "dt")
    save_final = as_flag(save_final, "save_final")
    n = math.ceil(t_final / dt - MERGE_RTOL)
    grid = np.minimum(np.arange(n + 1) * dt, t_final)
    grid[-1] = t_final
    if save_times is None:
        return grid, np.ones(grid.size, dtype=bool)
    wanted = as_finite_array(save_times, "save_times").ravel()
    outside = wanted[(wanted < 0.0) | (wanted > t_final)]
    if outside.size:
        msg = (
            f"save_times must lie in [0, t_final = {t_final:g}]; got {outside.tolist()}: "
            "drop them or raise t_final"
        )
        raise InvalidInputError(msg)
    wanted = np.union1d(wanted, [0.0, t_final] if save_final else [0.0])
    near = np.abs(grid[:, None] - wanted[None, :]).min(axis=1) <= MERGE_RTOL * dt
    times = np.union1d(grid[~near | (grid == 0.0) | (grid == t_final)], wanted)
    times = times[np.concatenate([[True], np.diff(times) > 0.0])]
    return times, np.isin(times, wanted)


# --------------------------------------------------------------------------- random state


def rng_state(generator: Any) -> np.ndarray:
    """The state of a numpy ``Generator`` or ``RandomState``, or a torch ``Generator``, as
    an array that a checkpoint stores (JSON text for numpy, the byte tensor for torch)."""
    if isinstance(generator, np.random.Generator):
        return np.array(json.dumps(generator.bit_generator.state))
    if isinstance(generator, np.random.RandomState):
        kind, keys, pos, has_gauss, gauss = generator.get_state()
        return np.array(json.dumps([kind, keys.tolist(), int(pos), int(has_gauss), float(gauss)]))
    get_state = getattr(generator, "get_state", None)
    if get_state is not None:  # torch.Generator
        return get_state().cpu().numpy().copy()
    msg = f"rng_state: cannot read the state of {type(generator).__name__}"
    raise InvalidInputError(msg)


def set_rng_state(generator: Any, state: np.ndarray) -> None:
    """Restore a state written by :func:`rng_state` into ``generator`` (same kind)."""
    if isinstance(generator, np.random.Generator):
        generator.bit_generator.state = json.loads(str(state))
    elif isinstance(generator, np.random.RandomState):
        kind, keys, pos, has_gauss, gauss = json.loads(str(state))
        generator.set_state((kind, np.array(keys, dtype=np.uint32), pos, has_gauss, gauss))
    else:
        import torch  # only torch generators reach here

        generator.set_state(torch.from_numpy(np.ascontiguousarray(state, dtype=np.uint8)))


# --------------------------------------------------------------------------- the model side


class Stepper:
    """What a model gives the engine: its state and one step.

    Subclasses set :attr:`kind` and implement :meth:`initial_state`, :meth:`step` and
    :meth:`observe`; :meth:`fingerprint` (the parameters that determine the result) binds
    checkpoints to the run.  The state is any object; by default it is a mapping of names
    to arrays and numbers, which :meth:`state_arrays` and :meth:`load_state` pass through
    unchanged.  A stepper whose state is something else (torch modules, an optimiser,
    generators) overrides those two.

    :meth:`step` must return a new state rather than modify the one it is given: the
    engine keeps the state of the last finished step to checkpoint it on an interrupt.
    """

    #: Names the run in checkpoints (a checkpoint of another kind is refused).
    kind: str = "stepper"

    def fingerprint(self) -> dict[str, Any]:
        """Parameters that determine the result (arrays are compared by digest)."""
        return {}

    def initial_state(self) -> State:
        """The state at t = 0."""
        raise NotImplementedError

    def step(self, state: State, t: float, dt: float) -> tuple[State, Mapping[str, float]]:
        """Advance ``state`` from ``t`` to ``t + dt`` (sub-stepping inside if the scheme
        needs it); return the new state and a record of numbers for this step."""
        raise NotImplementedError

    def observe(self, state: State, t: float) -> Mapping[str, Any]:
        """What a save time records: numbers and arrays of a fixed shape per name."""
        raise NotImplementedError

    def view(self, state: State) -> Any:
        """What callbacks and invariants receive (default: the state itself)."""
        return state

    def state_arrays(self, state: State) -> dict[str, Any]:
        """The state as named arrays for a checkpoint (default: the mapping itself)."""
        if not isinstance(state, Mapping):
            msg = f"{type(self).__name__}.state_arrays must be defined for a non-mapping state"
            raise TypeError(msg)
        return dict(state)

    def load_state(self, arrays: Mapping[str, np.ndarray]) -> State:
        """Inverse of :meth:`state_arrays`."""
        return {key: np.array(value) for key, value in arrays.items()}


# --------------------------------------------------------------------------- trackers


@dataclass
class RunState:
    """Where a run stands; trackers read it (and only the engine writes it)."""

    stepper: Stepper
    grid: np.ndarray
    saved: np.ndarray
    step: int = 0
    t: float = 0.0
    state: Any = None
    first_step: int = 0
    seconds_before: float = 0.0
    started: float = field(default_factory=time.perf_counter)
    observations: dict[str, list[Any]] = field(default_factory=dict)
    records: dict[str, list[float]] = field(default_factory=dict)
    stop_reason: str = ""
    trackers: Sequence[Tracker] = ()

    @property
    def n_steps(self) -> int:
        """Steps of the whole run."""
        return int(self.grid.size - 1)

    @property
    def t_final(self) -> float:
        """The end of the run."""
        return float(self.grid[-1])

    @property
    def seconds(self) -> float:
        """Wall time of the run so far, earlier sessions of a resumed run included."""
        return self.seconds_before + time.perf_counter() - self.started


class StopRun(Exception):
    """Raised by a tracker to end the run after the current step (the state is saved)."""


class Tracker:
    """Observer of a run: override any of the hooks.

    ``start`` is called once (after a resume, with the restored run), ``after_step`` after
    every step, ``on_save`` after each save time is recorded, ``finish`` at the end, and
    ``state``/``restore`` carry what a tracker must remember across a resume.
    """

    #: Key under which :meth:`state` is stored in checkpoints (unique per run).
    name: str = "tracker"

    def start(self, run: RunState) -> None:
        """The run starts (or resumes)."""

    def after_step(self, run: RunState, record: Mapping[str, float]) -> None:
        """A step ended; raise :class:`StopRun` to end the run here."""

    def on_save(self, run: RunState, observation: Mapping[str, Any]) -> None:
        """A save time was recorded."""

    def finish(self, run: RunState) -> None:
        """The run ended (every step, or stopped)."""

    def state(self) -> dict[str, np.ndarray]:
        """What to store in a checkpoint."""
        return {}

    def restore(self, arrays: Mapping[str, np.ndarray]) -> None:
        """Take back :meth:`state` after a resume."""


class CallbackTracker(Tracker):
    """Call ``callback(t, view)`` after every step (``view``: :meth:`Stepper.view`)."""

    name = "callback"

    def __init__(self, callback: Callable[[float, Any], Any]):
        if not callable(callback):
            msg = f"callback must be callable; got {callback!r}"
            raise InvalidInputError(msg)
        self.callback = callback

    def after_step(self, run: RunState, record: Mapping[str, float]) -> None:
        self.callback(run.t, run.stepper.view(run.state))


class ProgressTracker(Tracker):
    """A progress bar (tqdm) over the time axis; nothing when ``disable``."""

    name = "progress"

    def __init__(self, *, desc: str = "", disable: bool = False, leave: bool = False):
        self.desc, self.disable, self.leave = desc, disable, leave
        self._bar: Any = None

    def start(self, run: RunState) -> None:
        from tqdm.auto import tqdm

        self._bar = tqdm(
            total=run.t_final,
            initial=run.t,
            desc=self.desc or run.stepper.kind,
            unit="t",
            disable=self.disable,
            leave=self.leave,
            bar_format="{l_bar}{bar}| t = {n:.4g} of {total:.4g} [{elapsed}<{remaining}]",
        )

    def after_step(self, run: RunState, record: Mapping[str, float]) -> None:
        self._bar.update(run.t - self._bar.n)

    def finish(self, run: RunState) -> None:
        self._bar.close()


class StopTracker(Tracker):
    """End the run when ``condition(t, view)`` is true after a step (e.g. a steady state);
    the final state is saved and ``info["stop_reason"]`` says why."""

    name = "stop"

    def __init__(self, condition: Callable[[float, Any], bool], reason: str = "stop condition"):
        self.condition, self.reason = condition, reason

    def after_step(self, run: RunState, record: Mapping[str, float]) -> None:
        if self.condition(run.t, run.stepper.view(run.state)):
            raise StopRun(f"{self.reason} at t = {run.t:.6g}")


class InvariantTracker(Tracker):
    """Watch quantities that must stay finite or conserved; stop with a clear error.

    Parameters
    ----------
    quantities
        Name → ``fn(view) -> float``.  Each is checked for finiteness after every
        ``every``-th step; one with a tolerance in ``conserved`` must also stay within it
        of its value at t = 0 (relative to ``max(1, |value at 0|)``).
    conserved
        Name → relative tolerance.
    finite_state
        Also require every array of the state to be finite (NaN/inf watch).
    every
        Check after every ``every``-th step (and the last).
    """

    name = "invariants"

    def __init__(
        self,
        quantities: Mapping[str, Callable[[Any], float]] | None = None,
        *,
        conserved: Mapping[str, float] | None = None,
        finite_state: bool = True,
        every: int = 1,
    ):
        self.quantities = dict(quantities or {})
        self.conserved = dict(conserved or {})
        unknown = set(self.conserved) - set(self.quantities)
        if unknown:
            msg = f"conserved names {sorted(unknown)} have no function in quantities"
            raise InvalidInputError(msg)
        self.finite_state = as_flag(finite_state, "finite_state")
        self.every = as_positive_int(every, "every")
        self.reference: dict[str, float] = {}

    def start(self, run: RunState) -> None:
        if not self.reference:
            view = run.stepper.view(run.state)
            self.reference = {k: float(fn(view)) for k, fn in self.quantities.items()}

    def after_step(self, run: RunState, record: Mapping[str, float]) -> None:
        if run.step % self.every and run.step != run.n_steps:
            return
        where = f"after step {run.step} (t = {run.t:.6g})"
        if self.finite_state:
            for key, value in run.stepper.state_arrays(run.state).items():
                array = np.asarray(value)
                if array.dtype.kind in "fc" and not np.all(np.isfinite(array)):
                    bad = int(np.size(array) - np.count_nonzero(np.isfinite(array)))
                    msg = (
                        f"{run.stepper.kind}: the state {key!r} has {bad} non-finite "
                        f"value(s) {where}: the scheme is unstable at this step size; "
                        "take a smaller dt or a stabler scheme"
                    )
                    raise NumericalBreakdownError(msg)
        view = run.stepper.view(run.state)
        for key, fn in self.quantities.items():
            value = float(fn(view))
            if not math.isfinite(value):
                msg = f"{run.stepper.kind}: {key} = {value} {where}; take a smaller dt"
                raise NumericalBreakdownError(msg)
            if key in self.conserved:
                ref = self.reference[key]
                drift = abs(value - ref) / max(1.0, abs(ref))
                if drift > self.conserved[key]:
                    msg = (
                        f"{run.stepper.kind}: {key} drifted from {ref:.12g} to {value:.12g} "
                        f"(relative {drift:.3g} > tolerance {self.conserved[key]:.3g}) {where}"
                    )
                    raise NumericalBreakdownError(msg)

    def state(self) -> dict[str, np.ndarray]:
        keys = sorted(self.reference)
        return {
            "keys": np.array(json.dumps(keys)),
            "values": np.array([self.reference[k] for k in keys]),
        }

    def restore(self, arrays: Mapping[str, np.ndarray]) -> None:
        keys = json.loads(str(arrays["keys"]))
        self.reference = dict(zip(keys, np.asarray(arrays["values"]).tolist(), strict=True))


class FileTracker(Tracker):
    """Write every save time to an HDF5 file as it is taken (``/times``, one dataset per
    observed name, growing along the first axis): a run killed at any point leaves the
    saves made so far readable.  On a resume the file is cut back to the saves of the
    checkpoint, so nothing is written twice."""

    name = "file"

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self._count = 0

    def start(self, run: RunState) -> None:
        import h5py

        n_saved = len(next(iter(run.observations.values()), []))
        if run.first_step == 0 or not self.path.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with h5py.File(self.path, "w") as file:
                file.attrs["kind"] = run.stepper.kind
            self._count = 0
            saved_times = run.grid[run.saved]
            for i in range(n_saved):  # a resume whose file was lost: write the saves back
                self._append(saved_times[i], {k: v[i] for k, v in run.observations.items()})
        else:
            with h5py.File(self.path, "a") as file:
                for name in file:
                    file[name].resize(n_saved, axis=0)
            self._count = n_saved

    def _append(self, t: float, observation: Mapping[str, Any]) -> None:
        import h5py

        with h5py.File(self.path, "a") as file:
            for name, value in {"times": t, **observation}.items():
                array = np.asarray(value, dtype=float)
                if name not in file:
                    file.create_dataset(
                        name,
                        shape=(0, *array.shape),
                        maxshape=(None, *array.shape),
                        dtype="f8",
                        chunks=(1, *array.shape),
                    )
                data = file[name]
                data.resize(self._count + 1, axis=0)
                data[self._count] = array
            file.flush()
        self._count += 1

    def on_save(self, run: RunState, observation: Mapping[str, Any]) -> None:
        self._append(run.t, observation)


class CheckpointTracker(Tracker):
    """Write the run's state to ``path`` every ``every_steps`` steps and/or every
    ``every_seconds`` seconds of wall time, and after the last step (atomic, checksummed:
    :mod:`gan_pde.checkpoint`).  With ``run(..., resume=True)`` the run continues from it.
    """

    name = "checkpoint"

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        every_steps: int | None = None,
        every_seconds: float | None = 30.0,
    ):
        self.path = Path(path)
        if every_steps is not None:
            every_steps = as_positive_int(every_steps, "every_steps (or None)")
        if every_seconds is not None:
            every_seconds = as_non_negative(every_seconds, "every_seconds (or None)")
        self.every_steps, self.every_seconds = every_steps, every_seconds
        self._last = time.perf_counter()
        self.written = -1

    def start(self, run: RunState) -> None:
        self._last = time.perf_counter()
        self.written = run.step

    def after_step(self, run: RunState, record: Mapping[str, float]) -> None:
        due = run.step == run.n_steps
        if self.every_steps is not None and run.step % self.every_steps == 0:
            due = True
        if (
            self.every_seconds is not None
            and time.perf_counter() - self._last >= self.every_seconds
        ):
            due = True
        if due:
            self.write(run)

    def finish(self, run: RunState) -> None:
        if self.written != run.step:  # a stopped run: keep its end
            self.write(run)

    def write(self, run: RunState, snapshot: Mapping[str, Any] | None = None) -> None:
        """Write the run at ``run.step`` (``snapshot``: the state's arrays, if already taken)."""
        _write_checkpoint(run, self.path, snapshot)
        self._last, self.written = time.perf_counter(), run.step


# --------------------------------------------------------------------------- the result


@dataclass(repr=False)
class EngineResult:
    """What :func:`run` returns; a model turns it into its own trajectory type.

    Attributes
    ----------
    times
        Save times (ascending).
    observations
        Name → array stacked over the save times (first axis).
    step_times
        End time of each step taken.
    records
        Name → array over the steps (each step's record).
    state
        The final state.
    info
        ``n_steps``, ``seconds`` (wall time, resumed sessions included),
        ``resumed_from_step``, ``stop_reason`` ("" when every step was taken).
    """

    times: np.ndarray
    observations: dict[str, np.ndarray]
    step_times: np.ndarray
    records: dict[str, np.ndarray]
    state: Any
    info: dict[str, Any]

    def __repr__(self) -> str:
        return (
            f"EngineResult({self.times.size} saves, {self.step_times.size} steps, "
            f"observed {sorted(self.observations)})"
        )


# --------------------------------------------------------------------------- the loop


_STEP, _SECONDS, _N_SAVED = "__step", "__seconds", "__n_saved"


def _fingerprint(run: RunState) -> dict[str, Any]:
    return {**run.stepper.fingerprint(), "__grid": run.grid, "__saved": run.saved}


def _write_checkpoint(run: RunState, path: Path, snapshot: Mapping[str, Any] | None) -> None:
    arrays: dict[str, Any] = {_STEP: run.step, _SECONDS: run.seconds}
    state = run.stepper.state_arrays(run.state) if snapshot is None else snapshot
    arrays.update({f"state/{k}": v for k, v in state.items()})
    n_saved = len(next(iter(run.observations.values()), []))
    arrays[_N_SAVED] = n_saved
    for key, values in run.observations.items():
        arrays[f"obs/{key}"] = np.asarray(values)
    for key, values in run.records.items():
        arrays[f"rec/{key}"] = np.asarray(values, dtype=float)
    for tracker in run.trackers:
        arrays.update({f"tracker/{tracker.name}/{k}": v for k, v in tracker.state().items()})
    save_checkpoint(path, kind=run.stepper.kind, fingerprint=_fingerprint(run), state=arrays)


def _restore(run: RunState, path: Path, trackers: Sequence[Tracker]) -> None:
    arrays = load_checkpoint(path, kind=run.stepper.kind, fingerprint=_fingerprint(run))
    run.step = run.first_step = int(arrays[_STEP])
    run.t = float(run.grid[run.step])
    run.seconds_before = float(arrays[_SECONDS])
    run.state = run.stepper.load_state(
        {k[len("state/") :]: v for k, v in arrays.items() if k.startswith("state/")}
    )
    run.observations = {
        k[len("obs/") :]: list(v) for k, v in arrays.items() if k.startswith("obs/")
    }
    run.records = {k[len("rec/") :]: v.tolist() for k, v in arrays.items() if k.startswith("rec/")}
    for tracker in trackers:
        prefix = f"tracker/{tracker.name}/"
        own = {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}
        if own:
            tracker.restore(own)
    logger.info(
        "resuming %s from %s at step %d (t = %.6g)", run.stepper.kind, path, run.step, run.t
    )


def run(
    stepper: Stepper,
    t_final: float | None = None,
    dt: float | None = None,
    *,
    save_times: Sequence[float] | np.ndarray | None = None,
    save_final: bool = True,
    grid: tuple[np.ndarray, np.ndarray] | None = None,
    trackers: Sequence[Tracker] = (),
    resume: bool = False,
) -> EngineResult:
    """Step ``stepper`` from t = 0 to ``t_final``, observing at the save times.

    Parameters
    ----------
    stepper
        The model (:class:`Stepper`).
    t_final, dt, save_times, save_final
        The time grid (:func:`time_grid`); or give ``grid=(step end points, saved mask)``
        instead (e.g. iteration counts of a trainer).
    trackers
        :class:`Tracker` objects, called in order.
    resume
        Continue from the checkpoint of the :class:`CheckpointTracker` among ``trackers``
        if its file exists (a missing file starts from t = 0); a checkpoint written by
        another run (another kind, parameters or grid) is refused with the differing
        parameter named.

    Returns
    -------
    EngineResult

    Raises
    ------
    InvalidInputError
        For a bad grid, ``resume=True`` without a checkpoint tracker, two trackers of
        one name.
    NumericalBreakdownError
        From an :class:`InvariantTracker` whose quantity left its tolerance.
    """
    if grid is None:
        if t_final is None or dt is None:
            msg = "run needs t_final and dt, or grid=(times, saved)"
            raise InvalidInputError(msg)
        times, saved = time_grid(t_final, dt, save_times, save_final=save_final)
    else:
        times = np.asarray(grid[0], dtype=float)
        saved = np.asarray(grid[1], dtype=bool)
        if times.ndim != 1 or times.size < 1 or saved.shape != times.shape or not saved[0]:
            msg = "grid must be (increasing times from 0, saved mask of the same length, saved[0])"
            raise InvalidInputError(msg)
        if np.any(np.diff(times) <= 0.0) or not np.all(np.isfinite(times)):
            msg = "grid times must be finite and strictly increasing"
            raise InvalidInputError(msg)
    if not isinstance(stepper, Stepper):
        msg = f"run needs a gan_pde.engine.Stepper; got {type(stepper).__name__}"
        raise InvalidInputError(msg)
    trackers = list(trackers)
    names = [tracker.name for tracker in trackers]
    if len(set(names)) != len(names):
        msg = f"two trackers share a name in {names}: give each a distinct .name"
        raise InvalidInputError(msg)
    checkpointers = [tr for tr in trackers if isinstance(tr, CheckpointTracker)]
    resume = as_flag(resume, "resume")
    if resume and not checkpointers:
        msg = "resume=True needs a checkpoint (a CheckpointTracker, or checkpoint=PATH)"
        raise InvalidInputError(msg)

    run_state = RunState(stepper=stepper, grid=times, saved=saved, trackers=trackers)
    if resume and checkpointers[0].path.exists():
        _restore(run_state, checkpointers[0].path, trackers)
    else:
        run_state.state = stepper.initial_state()
    return _loop(run_state, trackers, checkpointers)


#: Set by the command line's SIGINT handler (:func:`request_interrupt`).  Python raises
#: the KeyboardInterrupt of a Ctrl-C wherever the main thread is; inside a finaliser
#: (``__del__``: file objects closed after a checkpoint write, h5py handles) it is only
#: printed and the run would go on to its end and exit 0.  :func:`run` checks this flag at
#: every step boundary and raises the interrupt there.
_INTERRUPT_REQUESTED = threading.Event()


def request_interrupt() -> None:
    """Ask every running :func:`run` to stop at its next step boundary with a
    KeyboardInterrupt (writing its checkpoint first, as for a Ctrl-C inside a step)."""
    _INTERRUPT_REQUESTED.set()


def clear_interrupt() -> None:
    """Forget a :func:`request_interrupt` (the command line does so before each command)."""
    _INTERRUPT_REQUESTED.clear()


def _record(run: RunState, observation: Mapping[str, Any], trackers: Sequence[Tracker]) -> None:
    for key, value in observation.items():
        run.observations.setdefault(key, []).append(np.array(value, copy=True))
    for tracker in trackers:
        tracker.on_save(run, observation)


def _loop(
    run: RunState, trackers: Sequence[Tracker], checkpointers: Sequence[CheckpointTracker]
) -> EngineResult:
    stepper = run.stepper
    if run.first_step == 0:
        run.observations = {}
        for tracker in trackers:
            tracker.start(run)
        _record(run, stepper.observe(run.state, 0.0), trackers)
    else:
        for tracker in trackers:
            tracker.start(run)
    # the state of the last finished step, kept for an interrupt inside the next step
    done_snapshot = stepper.state_arrays(run.state) if checkpointers else None
    done_state, in_step = run.state, False
    stopped = ""
    try:
        while run.step < run.n_steps:
            n = run.step
            t0, t1 = float(run.grid[n]), float(run.grid[n + 1])
            in_step = True
            if _INTERRUPT_REQUESTED.is_set():
                # a Ctrl-C whose KeyboardInterrupt was swallowed (see request_interrupt)
                raise KeyboardInterrupt
            new_state, record = stepper.step(run.state, t0, t1 - t0)
            in_step = False
            run.state, run.step, run.t = new_state, n + 1, t1
            for key in run.records.keys() - record.keys():
                run.records[key].append(math.nan)
            for key, value in record.items():
                run.records.setdefault(key, [math.nan] * n).append(float(value))
            observe_now = bool(run.saved[n + 1])
            try:
                if observe_now:
                    _record(run, stepper.observe(run.state, t1), trackers)
                for tracker in trackers:
                    tracker.after_step(run, record)
            except StopRun as stop:
                stopped = str(stop)
                if not observe_now:
                    _record(run, stepper.observe(run.state, t1), trackers)
            done_state = run.state
            if checkpointers:
                done_snapshot = stepper.state_arrays(run.state)
            if stopped:
                break
    except KeyboardInterrupt:
        # the steps done since the last checkpoint are not lost: the state of the last
        # finished step is consistent while a step is being computed
        if in_step and checkpointers and checkpointers[0].written < run.step:
            run.state = done_state
            checkpointers[0].write(run, done_snapshot)
            logger.info(
                "interrupted: checkpoint of step %d written to %s", run.step, checkpointers[0].path
            )
        raise
    run.stop_reason = stopped
    for tracker in trackers:
        tracker.finish(run)
    n_taken = run.step
    saved_times = run.grid[: n_taken + 1][run.saved[: n_taken + 1]]
    if stopped and (saved_times.size == 0 or saved_times[-1] != run.t):
        saved_times = np.append(saved_times, run.t)
    observations = {key: np.stack(values) for key, values in run.observations.items()}
    records = {
        key: np.asarray(values[:n_taken], dtype=float) for key, values in run.records.items()
    }
    info = {
        "n_steps": n_taken,
        "seconds": run.seconds,
        "resumed_from_step": run.first_step,
        "stop_reason": stopped,
    }
    return EngineResult(
        times=saved_times,
        observations=observations,
        step_times=run.grid[1 : n_taken + 1].copy(),
        records=records,
        state=run.state,
        info=info,
    )


def standard_trackers(
    *,
    callback: Callable[[float, Any], Any] | None = None,
    checkpoint: str | os.PathLike[str] | None = None,
    checkpoint_interval: float | None = 30.0,
    checkpoint_steps: int | None = None,
    resume: bool = False,
    progress: bool = False,
    trackers: Sequence[Tracker] = (),
    desc: str = "",
) -> list[Tracker]:
    """The trackers behind the keyword arguments every long-running model takes.

    ``callback(t, view)`` after every step; a checkpoint every ``checkpoint_interval``
    seconds and/or ``checkpoint_steps`` steps (and after the last); a progress bar; then
    the user's own ``trackers``.  ``resume=True`` without ``checkpoint`` is refused.
    """
    if checkpoint is None and as_flag(resume, "resume"):
        msg = "resume=True needs a checkpoint file (checkpoint=PATH)"
        raise InvalidInputError(msg)
    if isinstance(trackers, Tracker) or not all(isinstance(t, Tracker) for t in trackers):
        msg = f"trackers must be a sequence of gan_pde.engine.Tracker; got {trackers!r}"
        raise InvalidInputError(msg)
    out: list[Tracker] = []
    if callback is not None:
        out.append(CallbackTracker(callback))
    if checkpoint is not None:
        out.append(
            CheckpointTracker(
                checkpoint, every_steps=checkpoint_steps, every_seconds=checkpoint_interval
            )
        )
    if as_flag(progress, "progress"):
        out.append(ProgressTracker(desc=desc))
    return out + list(trackers)
