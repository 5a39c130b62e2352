"""``gan-pde sweep``: a parameter sweep of a bundled task on Dask, resumable.

Writes ``results.json``, ``results.csv`` and ``sweep.png`` to the output folder; every
finished point is cached in ``OUT/cache`` so that a sweep started again after an
interruption computes only the missing points.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from gan_pde.commands._common import (
    Progress,
    add_common_options,
    output_folder,
    print_json,
    resume_command,
    say,
    set_interrupt_note,
    with_defaults,
)
from gan_pde.config import (
    MAX_CELLS,
    bad_value,
    config_values,
    key_of,
    option,
    parse_config,
    read_config_text,
)
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
    table = sections["parameters"]
    if not all(1 <= c <= MAX_CELLS for c in grid["cells"]):
        raise bad_value(
            key_of(table, "cells"),
            grid["cells"],
            f"every cell count must be in [1, {MAX_CELLS:.0e}]",
        )
    workers = sections["sweep"].workers
    if workers is not None and workers < 1:
        msg = f"key 'workers' in [sweep] of {name} must be at least 1; got {workers}"
        raise ConfigError(msg)
    return sections["sweep"], grid


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", nargs="?", help="TOML config (default: bundled sweep.toml)")
    add_common_options(parser, out="sweep_output")
    cache = parser.add_mutually_exclusive_group()
    cache.add_argument(
        "--resume",
        action="store_true",
        help="reuse the points cached in OUT/cache by an earlier run (the default; says how "
        "many there are, or that there are none)",
    )
    cache.add_argument(
        "--fresh", action="store_true", help="ignore points cached in OUT/cache by earlier runs"
    )


def run(args: argparse.Namespace) -> int:
    import json
    import shutil

    from gan_pde.sweep import TASKS, _cache_file, grid_points, sweep

    args = with_defaults(args, add_arguments)
    settings, grid = load_config(args.config)
    points = grid_points(grid, mode=settings.mode)
    out = output_folder(args.out)
    cache = out / "cache"
    if args.fresh and cache.exists():
        shutil.rmtree(cache)
    files = [_cache_file(cache, TASKS[settings.task], point) for point in points]

    def finished() -> int:
        return sum(file.exists() for file in files)

    cached = finished()
    if cached:
        say(f"gan-pde sweep: resumed: {cached} of {len(points)} points are cached in {cache}")
    elif args.resume:
        say(f"gan-pde sweep: nothing cached in {cache}: computing all {len(points)} points")

    def on_interrupt() -> str:
        return (
            f"{finished()} of {len(points)} points are cached in {cache}; continue with: "
            f"{resume_command()}"
        )

    set_interrupt_note(on_interrupt)
    start = time.perf_counter()
    with Progress(
        len(points), unit="point", quiet=args.quiet, poll=finished, start=cached
    ) as progress:
        result = sweep(
            TASKS[settings.task],
            grid,
            mode=settings.mode,
            scheduler=settings.scheduler,
            workers=settings.workers,
            cache_dir=cache,
        )
        progress.update(len(points))
        progress.stage("writing results and sweep.png")
        result.info["config"] = {"sweep": config_values(settings), "parameters": grid}
        result.to_json(out / "results.json")
        result.to_csv(out / "results.csv")
        _plot(result, grid, out / "sweep.png")
    if args.json:
        print_json(json.loads((out / "results.json").read_text(encoding="utf-8")))
        return 0
    source = args.config or "bundled sweep.toml"
    print(
        f"sweep ({source}): {settings.task} at {len(result.records)} points "
        f"({result.cached} cached) on the {settings.scheduler} scheduler, "
        f"{time.perf_counter() - start:.2f} s; wrote {out}/results.json, results.csv, sweep.png"
    )
    return 0


def _plot(result: Any, grid: dict[str, list], path: Path) -> None:
    """The first value of each point against the first parameter, one line per setting of
    the other parameters (:func:`gan_pde.plotting.plot_sweep`)."""
    from gan_pde.plotting import figure_file, plot_sweep

    with figure_file(path, figsize=(8.0, 4.0)) as fig:
        plot_sweep(result, x=next(iter(grid)), ax=fig.subplots())
