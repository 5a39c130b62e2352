"""``gan-pde sweep``: a parameter sweep of a bundled task on Dask, resumable.

Writes ``results.json``, ``results.csv`` and ``sweep.png`` to the output folder; every
finished point is cached in ``OUT/cache`` so that a sweep started again after an
interruption computes only the missing points.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from gan_pde.config import config_values, option, parse_config, read_config_text
from gan_pde.errors import ConfigError

NAME = "sweep"
HELP = "parameter sweep of a bundled task on Dask (resumable)"


@dataclass(frozen=True)
class SweepSection:
    """``[sweep]``: which task, how the grid is formed and where it runs."""

    task: str = option("str", "poincare_constant", choices=("poincare_constant", "lgan_decay_rate"))
    mode: str = option("str", "product", choices=("product", "zip"))
    scheduler: str = option("str", "threads", choices=("threads", "processes", "synchronous"))
    workers: int = option("int", None)


@dataclass(frozen=True)
class PoincareParameters:
    """``[parameters]`` of ``poincare_constant``."""

    separation: list = option("list[float]")
    cells: list = option("list[int]", factory=lambda: [400])
    element: list = option("list[str]", factory=lambda: ["P2"])


@dataclass(frozen=True)
class LGANParameters:
    """``[parameters]`` of ``lgan_decay_rate``."""

    separation: list = option("list[float]")
    alpha: list = option("list[float]")
    beta: list = option("list[float]")
    gamma: list = option("list[float]", factory=lambda: [0.0])
    cells: list = option("list[int]", factory=lambda: [400])


_PARAMETERS = {"poincare_constant": PoincareParameters, "lgan_decay_rate": LGANParameters}


def load_config(path: str | Path | None = None) -> tuple[SweepSection, dict[str, list]]:
    """The ``[sweep]`` section and the parameter lists of a sweep config."""
    from gan_pde.config import tomllib

    text, name = read_config_text(path, "sweep")
    try:
        task = tomllib.loads(text).get("sweep", {}).get("task", "poincare_constant")
    except tomllib.TOMLDecodeError as err:
        msg = f"{name} is not valid TOML: {err}"
        raise ConfigError(msg) from err
    parameters = _PARAMETERS.get(task, PoincareParameters)
    sections = parse_config(
        text, name, {"sweep": SweepSection, "parameters": parameters}, required=("parameters",)
    )
    grid = {f.name: getattr(sections["parameters"], f.name) for f in fields(parameters)}
    for key, values in grid.items():
        if not values:
            msg = f"key {key!r} in [parameters] of {name} must be a non-empty list"
            raise ConfigError(msg)
    workers = sections["sweep"].workers
    if workers is not None and workers < 1:
        msg = f"key 'workers' in [sweep] of {name} must be at least 1; got {workers}"
        raise ConfigError(msg)
    return sections["sweep"], grid


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", nargs="?", help="TOML config (default: bundled sweep.toml)")
    parser.add_argument("--out", default="sweep_output", help="output folder")
    parser.add_argument(
        "--fresh", action="store_true", help="ignore points cached in OUT/cache by earlier runs"
    )


def run(args: argparse.Namespace) -> int:
    import shutil

    from gan_pde.sweep import TASKS, sweep

    settings, grid = load_config(args.config)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    cache = out / "cache"
    if args.fresh and cache.exists():
        shutil.rmtree(cache)
    start = time.perf_counter()
    result = sweep(
        TASKS[settings.task],
        grid,
        mode=settings.mode,
        scheduler=settings.scheduler,
        workers=settings.workers,
        cache_dir=cache,
    )
    result.info["config"] = {"sweep": config_values(settings), "parameters": grid}
    result.to_json(out / "results.json")
    result.to_csv(out / "results.csv")
    _plot(result, grid, out / "sweep.png")
    source = args.config or "bundled sweep.toml"
    print(
        f"sweep ({source}): {settings.task} at {len(result.records)} points "
        f"({result.cached} cached) on the {settings.scheduler} scheduler, "
        f"{time.perf_counter() - start:.2f} s; wrote {out}/results.json, results.csv, sweep.png",
        file=sys.stdout,
    )
    return 0


def _plot(result: Any, grid: dict[str, list], path: Path) -> None:
    """The first value of each point against the first parameter, one line per setting of
    the other parameters."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x_name = next(iter(grid))
    others = [n for n in grid if n != x_name]
    key = next(iter(result.records[0]["value"]))
    figure, axis = plt.subplots(figsize=(6.0, 4.0), layout="constrained")
    lines: dict[tuple, list[tuple[float, float]]] = {}
    for record in result.records:
        label = tuple(record[n] for n in others)
        lines.setdefault(label, []).append((record[x_name], record["value"][key]))
    for label, points in lines.items():
        points.sort()
        text = ", ".join(f"{n}={v}" for n, v in zip(others, label, strict=True))
        axis.plot(*zip(*points, strict=True), "o-", label=text or None)
    axis.set_xlabel(x_name)
    axis.set_ylabel(key)
    if len(lines) > 1:
        axis.legend(fontsize="small")
    figure.savefig(path, dpi=120)
    plt.close(figure)
