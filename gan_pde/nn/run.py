"""The result of a training run: :class:`TrainingRun`, saved as npz + JSON without pickle."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gan_pde._files import atomic_path
from gan_pde.errors import InvalidInputError, NumericalBreakdownError

__all__ = ["ALGORITHMS", "TrainingError", "TrainingRun"]

#: The trainers that produce a TrainingRun.
ALGORITHMS = ("gan", "algorithm2", "particles", "wgan", "lsgan")


@dataclass
class TrainingRun:
    """Snapshots of one training run (or of an ensemble of independent runs).

    Attributes
    ----------
    algorithm
        One of ``"gan"``, ``"algorithm2"``, ``"particles"``, ``"wgan"``, ``"lsgan"``.
    steps
        Training steps of the snapshots, shape ``(n_saved,)``.
    times
        PDE time of each snapshot in the scaling the paper prescribes, ``(n_saved,)``
        (t = k·ε for the JSD flow, t = k·h/N for the WGAN mean field, t = k·τ for LSGAN).
    samples
        Generated samples ``(n_saved, n, d)``; an ensemble has ``(runs, n_saved, n, d)``;
        None when the trainer records none.
    parameters
        Name -> array ``(n_saved, ...)`` (``(runs, n_saved, ...)`` for an ensemble).
    losses
        Name -> array ``(n_steps,)`` (``(runs, n_steps)`` for an ensemble), one entry per
        completed training step.
    wall_time
        Seconds spent training.
    device
        The torch device, e.g. ``"cpu"`` or ``"cuda:0"``.
    seed
        The seed (run r of an ensemble uses ``seed + r``).
    config
        The options of the trainer (JSON-ready).
    versions
        Package versions (:func:`gan_pde.nn._torch.torch_versions`).
    info
        The run's record (the trajectory protocol of :mod:`gan_pde.engine`): ``n_steps``
        (steps taken), ``seconds`` (wall time, earlier sessions of a resumed run
        included), ``resumed_from_step`` (0 unless resumed from a checkpoint),
        ``stop_reason`` and ``versions`` (the same as :attr:`versions`).
    """

    algorithm: str
    steps: np.ndarray
    times: np.ndarray
    samples: np.ndarray | None
    parameters: dict[str, np.ndarray]
    losses: dict[str, np.ndarray]
    wall_time: float
    device: str
    seed: int
    config: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        from gan_pde._repr import short_repr

        return short_repr(self)

    @property
    def runs(self) -> int | None:
        """Number of ensemble members, or None for a single run."""
        n = self.steps.size
        for value in self.losses.values():
            return int(value.shape[0]) if value.ndim == 2 else None
        if self.samples is not None and self.samples.ndim == 4 and self.samples.shape[1] == n:
            return int(self.samples.shape[0])
        return None

    def plot(self, kind: str = "losses", *, ax: Any = None, **options: Any) -> Any:
        """Draw the run (:func:`gan_pde.plotting.plot_training_run`).

        ``"losses"``: the losses against the step on ``ax``; ``"samples"``: histograms of
        1D samples at up to four saved times on the Axes sequence ``ax`` (``options``:
        ``trajectory``, ``target``, ``bounds`` of :func:`gan_pde.plotting.plot_samples`).

        >>> run.plot(ax=ax)  # doctest: +SKIP
        """
        from gan_pde.plotting import plot_training_run

        return plot_training_run(self, kind, ax=ax, **options)

    def member(self, r: int) -> TrainingRun:
        """Run ``r`` of an ensemble as a single :class:`TrainingRun`."""
        runs = self.runs
        if runs is None or not 0 <= r < runs:
            msg = f"r must index an ensemble member in [0, {runs}); got {r!r}"
            raise InvalidInputError(msg)
        return TrainingRun(
            algorithm=self.algorithm,
            steps=self.steps,
            times=self.times,
            samples=None if self.samples is None else self.samples[r],
            parameters={k: v[r] for k, v in self.parameters.items()},
            losses={k: v[r] for k, v in self.losses.items()},
            wall_time=self.wall_time,
            device=self.device,
            seed=self.seed + r,
            config=dict(self.config),
            versions=dict(self.versions),
            info=dict(self.info),
        )

    def save(self, path: str | Path) -> Path:
        """Write ``path`` (``.npz``, atomically): arrays plus one JSON string of the metadata."""
        path = Path(path)
        if path.suffix != ".npz":
            path = path.with_suffix(".npz")
        arrays: dict[str, np.ndarray] = {"steps": self.steps, "times": self.times}
        if self.samples is not None:
            arrays["samples"] = self.samples
        arrays.update({f"parameter/{k}": v for k, v in self.parameters.items()})
        arrays.update({f"loss/{k}": v for k, v in self.losses.items()})
        meta = {
            "kind": "training_run",
            "algorithm": self.algorithm,
            "wall_time": self.wall_time,
            "device": self.device,
            "seed": self.seed,
            "config": self.config,
            "versions": self.versions,
            "info": self.info,
        }
        arrays["metadata"] = np.array(json.dumps(meta))
        with atomic_path(path, ".npz") as temporary, open(temporary, "wb") as file:
            np.savez_compressed(file, **arrays)
        return path

    @classmethod
    def load(cls, path: str | Path) -> TrainingRun:
        """Read a file written by :meth:`save` or by :func:`gan_pde.io.save`
        (``np.load(allow_pickle=False)``).

        Raises
        ------
        InvalidInputError
            For a file that holds no training run (another result, a checkpoint, not an
            ``.npz`` archive).
        """
        path = Path(path)
        try:
            data = np.load(path, allow_pickle=False)
        except FileNotFoundError:
            raise
        except (OSError, ValueError, EOFError):
            return _load_result_file(path)  # io.load says what the file is not
        with data:
            try:
                meta = json.loads(str(data["metadata"]))
            except (KeyError, ValueError):
                meta = None  # no metadata of TrainingRun.save: io.load names the problem
            if not (isinstance(meta, dict) and meta.get("kind") == "training_run"):
                return _load_result_file(path)
            return cls(
                algorithm=meta["algorithm"],
                steps=data["steps"],
                times=data["times"],
                samples=data["samples"] if "samples" in data.files else None,
                parameters={
                    k.split("/", 1)[1]: data[k] for k in data.files if k.startswith("parameter/")
                },
                losses={k.split("/", 1)[1]: data[k] for k in data.files if k.startswith("loss/")},
                wall_time=float(meta["wall_time"]),
                device=meta["device"],
                seed=int(meta["seed"]),
                config=meta["config"],
                versions=meta["versions"],
                info=meta.get("info", {}),
            )


def _load_result_file(path: Path) -> TrainingRun:
    """The TrainingRun of a file in the format of :func:`gan_pde.io.save`, else the error."""
    from gan_pde import io

    result = io.load(path)
    if not isinstance(result, TrainingRun):
        msg = (
            f"{path} holds a {type(result).__name__} result, not a TrainingRun: read it with "
            "gan_pde.io.load"
        )
        raise InvalidInputError(msg)
    return result


class TrainingError(NumericalBreakdownError):
    """Training produced a NaN/Inf loss; :attr:`run` holds the run recorded up to then."""

    def __init__(self, message: str, run: TrainingRun):
        super().__init__(message)
        self.run = run
