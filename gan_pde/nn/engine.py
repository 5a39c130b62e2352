"""One loop for every trainer: a single run, or an ensemble batched with ``torch.func.vmap``.

A trainer describes itself as a :class:`Plan` of pure functions — ``init`` (generator,
run index -> state), ``draw`` (generator -> batch of random inputs), ``step`` (state,
batch -> state, losses) and ``observe`` (state -> snapshot) — and :func:`execute` runs it.  For an
ensemble of R runs, run r uses the generator seeded with ``seed + r`` for its
initialisation and batches exactly as a single run with that seed does, the states are
stacked along a leading axis and ``step`` is vmapped, so the ensemble equals a loop of single
runs up to the round-off of batched matrix products.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gan_pde._arrays import as_flag
from gan_pde.errors import InvalidInputError
from gan_pde.nn._torch import make_generator, require_torch, torch_versions
from gan_pde.nn.run import TrainingError, TrainingRun

torch = require_torch()

__all__ = ["Plan", "execute", "save_grid", "tree_map"]

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


@dataclass
class Plan:
    """A trainer as pure functions (see the module documentation)."""

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


def save_grid(
    steps: int, save_steps: Sequence[int] | int | None, *, save_final: bool = True
) -> np.ndarray:
    """Validated snapshot steps: an explicit list, a count (equispaced, 0 and ``steps``
    included) or 11 by default; the last step is added to a list unless ``save_final`` is
    False."""
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        msg = f"steps must be a positive int; got {steps!r}"
        raise InvalidInputError(msg)
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


def execute(plan: Plan, runs: int | None = None) -> TrainingRun:
    """Run ``plan`` once (``runs=None``) or as a vmapped ensemble of ``runs`` runs.

    Raises
    ------
    TrainingError
        When a loss becomes NaN or infinite; ``error.run`` is the run recorded up to the
        last finite step.
    """
    if runs is not None and (isinstance(runs, bool) or not isinstance(runs, int) or runs < 1):
        msg = f"runs must be a positive int or None; got {runs!r}"
        raise InvalidInputError(msg)
    if runs is None:
        generators = [make_generator(plan.seed)]
        state = plan.init(generators[0], 0)
        step, observe = plan.step, plan.observe

        def draw() -> Tree:
            return plan.draw(generators[0])

    else:
        generators = [make_generator(plan.seed + r) for r in range(runs)]
        state = _stack([plan.init(g, r) for r, g in enumerate(generators)])
        step = torch.func.vmap(plan.step)
        observe = torch.func.vmap(plan.observe)

        def draw() -> Tree:
            return _stack([plan.draw(g) for g in generators])

    snapshots: list[dict[str, Any]] = []
    saved_steps: list[int] = []
    losses: list[dict[str, Any]] = []
    save = set(plan.save_steps.tolist())
    start = time.perf_counter()

    def record() -> TrainingRun:
        return _assemble(plan, runs, saved_steps, snapshots, losses, time.perf_counter() - start)

    if 0 in save:
        snapshots.append(tree_map(lambda x: x.detach().clone(), observe(state)))
        saved_steps.append(0)
    for k in range(1, plan.steps + 1):
        new_state, loss = step(state, draw())
        values = torch.stack([v.reshape(-1) for v in loss.values()])
        if not bool(torch.isfinite(values).all()):
            bad = [name for name, v in loss.items() if not bool(torch.isfinite(v).all())]
            msg = (
                f"{plan.algorithm}: the loss {bad} became NaN/Inf at step {k} (of {plan.steps}); "
                f"lower the learning rate; the run recorded up to step {k - 1} is attached as "
                "error.run"
            )
            raise TrainingError(msg, record())
        state = new_state
        losses.append(loss)
        if k in save:
            snapshots.append(tree_map(lambda x: x.detach().clone(), observe(state)))
            saved_steps.append(k)
        if plan.progress is not None:
            plan.progress(k, {name: float(v.mean()) for name, v in loss.items()})
    run = record()
    logger.info(
        "%s: %d steps in %.3g s on %s", plan.algorithm, plan.steps, run.wall_time, run.device
    )
    return run


def _assemble(
    plan: Plan,
    runs: int | None,
    saved_steps: list[int],
    snapshots: list[dict[str, Any]],
    losses: list[dict[str, Any]],
    wall_time: float,
) -> TrainingRun:
    axis = 0 if runs is None else 1
    steps = np.array(saved_steps, dtype=int)
    samples = None
    parameters: dict[str, np.ndarray] = {}
    if snapshots:
        flat = [_leaves(s) for s in snapshots]
        for name in flat[0]:
            stacked = np.stack([_numpy(f[name]) for f in flat], axis=axis)
            if name == "samples":
                samples = stacked
            else:
                parameters[name] = stacked
    loss_arrays = {
        name: np.stack([_numpy(entry[name]) for entry in losses], axis=-1)
        for name in (losses[0] if losses else {})
    }
    return TrainingRun(
        algorithm=plan.algorithm,
        steps=steps,
        times=steps * plan.time_per_step,
        samples=samples,
        parameters=parameters,
        losses=loss_arrays,
        wall_time=float(wall_time),
        device=str(plan.device),
        seed=plan.seed,
        config={**plan.config, "runs": runs},
        versions=torch_versions(),
    )


def finite_float(value: Any, name: str, *, positive: bool = False, nonneg: bool = False) -> float:
    """``float(value)`` or InvalidInputError naming ``name``."""
    try:
        x = float(value)
    except (TypeError, ValueError) as exc:
        msg = f"{name} must be a finite number; got {value!r}"
        raise InvalidInputError(msg) from exc
    if not math.isfinite(x) or (positive and x <= 0) or (nonneg and x < 0):
        need = "positive" if positive else "non-negative" if nonneg else "finite"
        msg = f"{name} must be {need} and finite; got {value!r}"
        raise InvalidInputError(msg)
    return x


def positive_int(value: Any, name: str, *, allow_zero: bool = False) -> int:
    """``value`` as an int >= 1 (>= 0 with ``allow_zero``), or InvalidInputError."""
    low = 0 if allow_zero else 1
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        msg = f"{name} must be an int >= {low}; got {value!r}"
        raise InvalidInputError(msg)
    return int(value)


def prepare_data(
    target: Any, *, n_data: int, seed: int, dtype: Any, device: Any, name: str = "target"
) -> Any:
    """The training set: ``n_data`` samples of a gan_pde Density, or a given array.

    A Density is sampled with ``numpy.random.default_rng(seed)``; an array of shape
    ``(n, d)`` (``(n,)`` for 1D) is used as it is.
    """
    if hasattr(target, "sample") and hasattr(target, "dim"):
        data = np.asarray(
            target.sample(positive_int(n_data, "n_data"), rng=np.random.default_rng(seed))
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
    if not np.all(np.isfinite(data)):
        msg = f"{name} samples must be finite"
        raise InvalidInputError(msg)
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
