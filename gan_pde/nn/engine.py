"""One loop for every trainer: a single run, or an ensemble batched with ``torch.func.vmap``,
stepped by the package's engine (:func:`gan_pde.engine.run`).

A trainer describes itself as a :class:`Plan` of pure functions — ``init`` (generator,
run index -> state), ``draw`` (generator -> batch of random inputs), ``step`` (state,
batch -> state, losses) and ``observe`` (state -> snapshot) — and :func:`execute` runs it.  For an
ensemble of R runs, run r uses the generator seeded with ``seed + r`` for its
initialisation and batches exactly as a single run with that seed does, the states are
stacked along a leading axis and ``step`` is vmapped, so the ensemble equals a loop of single
runs up to the round-off of batched matrix products.

The plan becomes a :class:`TrainerStepper` whose state is the tree of parameters and
optimiser states (momenta, Adam moments and step count) together with the torch generators
of the runs; the engine's grid is the iteration count k = 0, 1, …, steps and its saved
steps are the plan's snapshots.  Checkpoints store the tensors as float64 arrays and the
generators' states (:func:`gan_pde.engine.rng_state`), so a resumed run takes the same
steps from the same state and ends bit-identical to an uninterrupted one.  A NaN/Inf loss
stops the run with :class:`~gan_pde.nn.TrainingError` (:class:`FiniteLossTracker`).
"""

from __future__ import annotations

import inspect
import logging
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gan_pde import engine
from gan_pde._arrays import as_finite_array, as_flag, as_positive_int
from gan_pde.checkpoint import array_digest
from gan_pde.errors import InvalidInputError
from gan_pde.nn._torch import make_generator, require_torch, torch_versions
from gan_pde.nn.run import TrainingError, TrainingRun

torch = require_torch()

__all__ = [
    "FiniteLossTracker",
    "Plan",
    "TrainerStepper",
    "describe",
    "execute",
    "save_grid",
    "tree_map",
]

logger = logging.getLogger(__name__)

Tree = Any


def tree_map(fn: Callable[..., Any], *trees: Tree) -> Tree:
    """Apply ``fn`` leaf-wise to nested dictionaries of tensors with the same keys."""
    first = trees[0]
    if isinstance(first, dict):
        return {k: tree_map(fn, *(t[k] for t in trees)) for k in first}
    return fn(*trees)


def _leaves(tree: Tree, prefix: str = "") -> dict[str, Any]:
    if isinstance(tree, dict):
        out: dict[str, Any] = {}
        for k, v in tree.items():
            out.update(_leaves(v, f"{prefix}{k}/" if isinstance(v, dict) else f"{prefix}{k}"))
        return out
    return {prefix: tree}


def _structure(tree: Tree) -> Any:
    """The nesting of ``tree`` with its leaves replaced by None (empty dicts kept)."""
    if isinstance(tree, dict):
        return {k: _structure(v) for k, v in tree.items()}
    return None


def _flatten(tree: Tree, structure: Any) -> list[Any]:
    """The leaves of ``tree`` depth first, in the order of the keys of ``structure`` (a
    step may return the keys of a dictionary in another order)."""
    if isinstance(structure, dict):
        return [leaf for k, v in structure.items() for leaf in _flatten(tree[k], v)]
    return [tree]


def _unflatten(structure: Any, leaves: Any) -> Tree:
    """Inverse of :func:`_flatten` for the nesting ``structure`` (leaves: an iterator)."""
    if isinstance(structure, dict):
        return {k: _unflatten(v, leaves) for k, v in structure.items()}
    return next(leaves)


@dataclass
class Plan:
    """A trainer as pure functions (see the module documentation).

    ``fingerprint`` holds what else determines the result beyond ``config`` and the initial
    state (the data set, descriptions of the networks: :func:`describe`); a checkpoint of
    a run with other values is refused on resume.
    """

    algorithm: str
    init: Callable[[Any, int], Tree]
    draw: Callable[[Any], Tree]
    step: Callable[[Tree, Tree], tuple[Tree, dict[str, Any]]]
    observe: Callable[[Tree], dict[str, Any]]
    steps: int
    save_steps: np.ndarray
    time_per_step: float
    seed: int
    device: Any
    config: dict[str, Any] = field(default_factory=dict)
    progress: Callable[[int, dict[str, float]], None] | None = None
    fingerprint: dict[str, Any] = field(default_factory=dict)


def save_grid(
    steps: int, save_steps: Sequence[int] | int | None, *, save_final: bool = True
) -> np.ndarray:
    """Validated snapshot steps: an explicit list, a count (equispaced, 0 and ``steps``
    included) or 11 by default; the last step is added to a list unless ``save_final`` is
    False."""
    steps = as_positive_int(steps, "steps")
    save_final = as_flag(save_final, "save_final")
    if save_steps is None or isinstance(save_steps, int):
        count = 11 if save_steps is None else save_steps
        if count < 2:
            msg = f"save_steps as a count must be >= 2; got {save_steps!r}"
            raise InvalidInputError(msg)
        return np.unique(np.round(np.linspace(0, steps, min(count, steps + 1))).astype(int))
    grid = np.asarray(save_steps)
    if grid.ndim != 1 or grid.size == 0 or not np.issubdtype(grid.dtype, np.integer):
        msg = f"save_steps must be a non-empty list of ints; got {save_steps!r}"
        raise InvalidInputError(msg)
    if grid.min() < 0 or grid.max() > steps:
        msg = (
            f"save_steps must lie in [0, steps = {steps}]; got {grid.tolist()}: drop the "
            "others or raise steps"
        )
        raise InvalidInputError(msg)
    if save_final:
        grid = np.append(grid, steps)
    return np.unique(grid.astype(int))


def _stack(trees: list[Tree]) -> Tree:
    return tree_map(lambda *xs: torch.stack(xs), *trees)


def _numpy(x: Any) -> np.ndarray:
    return x.detach().to("cpu").numpy()


def describe(value: Any, *, depth: int = 0) -> Any:
    """A JSON-comparable description of a network (or any option) for a fingerprint.

    Numbers, strings and their lists stay as they are, tensors and arrays become their
    SHA-256 digest, objects the dictionary of their attributes (three levels deep) with
    their class name, and anything else its type name.

    >>> from gan_pde.nn.networks import MLP
    >>> describe(MLP(1, 1, hidden=(4,)))["hidden"]
    [4]
    """
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [describe(v, depth=depth) for v in value]
    if isinstance(value, Mapping):
        return {str(k): describe(v, depth=depth) for k, v in value.items()}
    if torch.is_tensor(value):
        return array_digest({"array": _numpy(value)})
    if isinstance(value, np.ndarray):
        return array_digest({"array": value})
    attributes = getattr(value, "__dict__", None)
    if depth < 3 and isinstance(attributes, dict) and not inspect.isroutine(value):
        described = {
            k: describe(v, depth=depth + 1) for k, v in attributes.items() if not k.startswith("__")
        }
        return {"class": type(value).__qualname__, **described}
    return type(value).__qualname__


# --------------------------------------------------------------------------- the stepper


class TrainerStepper(engine.Stepper):
    """A :class:`Plan` (one run, or ``runs`` of them vmapped) as an engine stepper.

    The state is ``{"tree": parameters and optimiser states, "generators": [torch
    generators]}`` (one generator per run); :meth:`step` draws a batch from copies of the
    generators and applies the plan's step, and its record holds each loss as a float
    (``"name"``, or ``"name/r"`` for member r of an ensemble).  The time axis is the
    iteration count: step k ends at t = k.
    """

    def __init__(self, plan: Plan, runs: int | None = None):
        self.plan, self.runs = plan, runs
        self.kind = f"nn_{plan.algorithm}"
        if runs is None:
            generators = [make_generator(plan.seed)]
            tree = plan.init(generators[0], 0)
            self._step, self._observe = plan.step, plan.observe
        else:
            generators = [make_generator(plan.seed + r) for r in range(runs)]
            tree = _stack([plan.init(g, r) for r, g in enumerate(generators)])
            self._step = torch.func.vmap(plan.step)
            self._observe = torch.func.vmap(plan.observe)
        self._initial = {"tree": tree, "generators": generators}
        self._structure = _structure(tree)
        self._fingerprint = {
            **describe(plan.config),
            "algorithm": plan.algorithm,
            "seed": plan.seed,
            "runs": runs,
            "steps": plan.steps,
            "device": torch.device(plan.device).type,
            "initial_state": array_digest(
                {str(i): _numpy(leaf) for i, leaf in enumerate(_flatten(tree, self._structure))}
            ),
            **{k: describe(v) for k, v in plan.fingerprint.items()},
        }

    def fingerprint(self) -> dict[str, Any]:
        return self._fingerprint

    def initial_state(self) -> dict[str, Any]:
        return {
            "tree": self._initial["tree"],
            "generators": [_copy_generator(g) for g in self._initial["generators"]],
        }

    def draw(self, generators: list[Any]) -> Tree:
        """The batch of one step, drawn from ``generators`` (which advance)."""
        if self.runs is None:
            return self.plan.draw(generators[0])
        return _stack([self.plan.draw(g) for g in generators])

    def step(self, state: dict[str, Any], t: float, dt: float) -> tuple[dict[str, Any], dict]:
        generators = [_copy_generator(g) for g in state["generators"]]
        tree, losses = self._step(state["tree"], self.draw(generators))
        record: dict[str, float] = {}
        for name, value in losses.items():
            values = _numpy(value).reshape(-1)
            if self.runs is None:
                record[name] = float(values[0])
            else:
                record.update({f"{name}/{r}": float(v) for r, v in enumerate(values)})
        return {"tree": tree, "generators": generators}, record

    def observe(self, state: dict[str, Any], t: float) -> dict[str, np.ndarray]:
        return {name: _numpy(v) for name, v in _leaves(self._observe(state["tree"])).items()}

    def view(self, state: dict[str, Any]) -> Tree:
        """What callbacks get: the tree of parameters and optimiser states."""
        return state["tree"]

    def state_arrays(self, state: dict[str, Any]) -> dict[str, np.ndarray]:
        # the plan's steps are functional (no tensor is changed in place): no copy needed
        leaves = _flatten(state["tree"], self._structure)
        arrays = {f"leaf/{i}": _numpy(leaf) for i, leaf in enumerate(leaves)}
        arrays.update({f"rng/{r}": engine.rng_state(g) for r, g in enumerate(state["generators"])})
        return arrays

    def load_state(self, arrays: Mapping[str, np.ndarray]) -> dict[str, Any]:
        count = len(_flatten(self._structure, self._structure))
        leaves = (
            torch.from_numpy(np.array(arrays[f"leaf/{i}"])).to(self.plan.device)
            for i in range(count)
        )
        generators = []
        for r in range(len(self._initial["generators"])):
            generator = torch.Generator(device="cpu")
            engine.set_rng_state(generator, arrays[f"rng/{r}"])
            generators.append(generator)
        return {"tree": _unflatten(self._structure, leaves), "generators": generators}

    # ------------------------------------------------------------------ the result

    def losses(self, records: Mapping[str, Any], n_steps: int) -> dict[str, np.ndarray]:
        """Loss name -> array ``(n_steps,)`` (``(runs, n_steps)`` for an ensemble)."""
        if self.runs is None:
            return {k: np.asarray(v[:n_steps], dtype=float) for k, v in records.items()}
        names = list(dict.fromkeys(key.rsplit("/", 1)[0] for key in records))
        return {
            name: np.stack(
                [
                    np.asarray(records[f"{name}/{r}"][:n_steps], dtype=float)
                    for r in range(self.runs)
                ]
            )
            for name in names
        }

    def assemble(
        self,
        saved_steps: np.ndarray,
        observations: Mapping[str, Any],
        records: Mapping[str, Any],
        n_steps: int,
        info: dict[str, Any],
    ) -> TrainingRun:
        """The :class:`TrainingRun` of the snapshots at ``saved_steps`` (step 0 is dropped
        unless the plan saves it) and the first ``n_steps`` records."""
        plan = self.plan
        steps = np.asarray(saved_steps, dtype=int)
        keep = slice(0, steps.size)
        if steps.size and steps[0] == 0 and 0 not in plan.save_steps:
            keep, steps = slice(1, steps.size), steps[1:]
        samples = None
        parameters: dict[str, np.ndarray] = {}
        for name, values in observations.items():
            stacked = np.stack(list(values[keep]), axis=0 if self.runs is None else 1)
            if name == "samples":
                samples = stacked
            else:
                parameters[name] = stacked
        info = {**info, "versions": torch_versions()}
        return TrainingRun(
            algorithm=plan.algorithm,
            steps=steps,
            times=steps * plan.time_per_step,
            samples=samples,
            parameters=parameters,
            losses=self.losses(records, n_steps),
            wall_time=float(info["seconds"]),
            device=str(plan.device),
            seed=plan.seed,
            config={**plan.config, "runs": self.runs},
            versions=info["versions"],
            info=info,
        )


def _copy_generator(generator: Any) -> Any:
    """A new CPU torch generator in the state of ``generator`` (a step must not change
    the state it is given)."""
    copy = torch.Generator(device="cpu")
    copy.set_state(generator.get_state())
    return copy


class FiniteLossTracker(engine.Tracker):
    """Stop a training run whose loss became NaN or infinite with a :class:`TrainingError`
    that holds the run recorded up to the last finite step (``error.run``).

    It must come before any checkpoint tracker, so that the step with the NaN is never
    checkpointed.
    """

    name = "finite_losses"

    def __init__(self, stepper: TrainerStepper):
        self.stepper = stepper

    def after_step(self, run: engine.RunState, record: Mapping[str, float]) -> None:
        bad = [key for key, value in record.items() if not math.isfinite(value)]
        if not bad:
            return
        stepper, k = self.stepper, run.step
        names = list(
            dict.fromkeys(key if stepper.runs is None else key.rsplit("/", 1)[0] for key in bad)
        )
        done = run.grid[:k][run.saved[:k]]  # the saved steps before step k
        kept = {name: values[: done.size] for name, values in run.observations.items()}
        info = {
            "n_steps": k - 1,
            "seconds": run.seconds,
            "resumed_from_step": run.first_step,
            "stop_reason": f"non-finite loss at step {k}",
        }
        partial = stepper.assemble(done, kept, run.records, k - 1, info)
        plan = stepper.plan
        msg = (
            f"{plan.algorithm}: the loss {names} became NaN/Inf at step {k} (of {plan.steps}); "
            f"lower the learning rate; the run recorded up to step {k - 1} is attached as "
            "error.run"
        )
        raise TrainingError(msg, partial)


class _LossCallback(engine.Tracker):
    """``progress(step, losses)`` after each step (losses averaged over an ensemble)."""

    name = "loss_callback"

    def __init__(self, callback: Callable[[int, dict[str, float]], None], runs: int | None):
        self.callback, self.runs = callback, runs

    def after_step(self, run: engine.RunState, record: Mapping[str, float]) -> None:
        if self.runs is None:
            self.callback(run.step, dict(record))
            return
        grouped: dict[str, list[float]] = {}
        for key, value in record.items():
            grouped.setdefault(key.rsplit("/", 1)[0], []).append(value)
        self.callback(run.step, {name: float(np.mean(v)) for name, v in grouped.items()})


def execute(
    plan: Plan,
    runs: int | None = None,
    *,
    checkpoint: str | os.PathLike[str] | None = None,
    checkpoint_interval: float | None = 30.0,
    checkpoint_steps: int | None = None,
    resume: bool = False,
    trackers: Sequence[engine.Tracker] = (),
) -> TrainingRun:
    """Run ``plan`` once (``runs=None``) or as a vmapped ensemble of ``runs`` runs.

    Parameters
    ----------
    plan
        The trainer.
    runs
        None, or the ensemble size R >= 1.
    checkpoint, checkpoint_interval, checkpoint_steps, resume, trackers
        A checkpoint file written every ``checkpoint_interval`` seconds and/or
        ``checkpoint_steps`` steps (and after the last); ``resume=True`` continues from it
        to the result of an uninterrupted run; further :class:`gan_pde.engine.Tracker`
        objects (their time is the step count)
        (:func:`gan_pde.engine.standard_trackers`).

    Raises
    ------
    TrainingError
        When a loss becomes NaN or infinite; ``error.run`` is the run recorded up to the
        last finite step.
    """
    if runs is not None:
        runs = as_positive_int(runs, "runs")
    if checkpoint is not None and not isinstance(checkpoint, (str, os.PathLike)):
        msg = f"checkpoint must be a file path or None; got {checkpoint!r}"
        raise InvalidInputError(msg)
    standard = engine.standard_trackers(
        checkpoint=checkpoint,
        checkpoint_interval=checkpoint_interval,
        checkpoint_steps=checkpoint_steps,
        resume=resume,
        trackers=trackers,
    )
    stepper = TrainerStepper(plan, runs)
    own: list[engine.Tracker] = [FiniteLossTracker(stepper)]
    if plan.progress is not None:
        own.append(_LossCallback(plan.progress, runs))
    grid = np.arange(plan.steps + 1, dtype=float)
    saved = np.isin(np.arange(plan.steps + 1), plan.save_steps)
    saved[0] = True  # the engine observes t = 0; assemble drops it when the plan does not
    result = engine.run(stepper, grid=(grid, saved), trackers=own + standard, resume=resume)
    run = stepper.assemble(
        result.times, result.observations, result.records, result.info["n_steps"], result.info
    )
    logger.info(
        "%s: %d steps in %.3g s on %s",
        plan.algorithm,
        run.info["n_steps"],
        run.wall_time,
        run.device,
    )
    return run


def prepare_data(
    target: Any, *, n_data: int, seed: int, dtype: Any, device: Any, name: str = "target"
) -> Any:
    """The training set: ``n_data`` samples of a gan_pde Density, or a given array.

    A Density is sampled with ``numpy.random.default_rng(seed)``; an array of shape
    ``(n, d)`` (``(n,)`` for 1D) is used as it is.
    """
    if hasattr(target, "sample") and hasattr(target, "dim"):
        data = np.asarray(
            target.sample(as_positive_int(n_data, "n_data"), rng=np.random.default_rng(seed))
        )
    else:
        try:
            data = np.asarray(target, dtype=float)
        except (TypeError, ValueError) as exc:
            msg = f"{name} must be a gan_pde Density or an array (n, d); got {type(target)}"
            raise InvalidInputError(msg) from exc
    if data.ndim == 1:
        data = data[:, None]
    if data.ndim != 2 or data.shape[0] < 1:
        msg = f"{name} samples must have shape (n, d) with n >= 1; got {data.shape}"
        raise InvalidInputError(msg)
    data = as_finite_array(data, f"{name} samples")
    return torch.as_tensor(data, dtype=dtype, device=device)


def check_dims(network: Any, *, in_dim: int | None, out_dim: int | None, role: str) -> None:
    """InvalidInputError when a network's dimensions do not match the data's."""
    for attr, want in (("in_dim", in_dim), ("out_dim", out_dim)):
        have = getattr(network, attr, None)
        if want is not None and have is not None and have != want:
            msg = (
                f"{role} has {attr} = {have} but the data need {attr} = {want}: the data and "
                "the network dimensions do not match"
            )
            raise InvalidInputError(msg)
