"""``gan-pde sweep``: a parameter sweep of a bundled task on Dask, resumable.

Writes ``results.json``, ``results.csv`` and ``sweep.png`` to the output folder; every
finished point is cached in ``OUT/cache`` so that a sweep started again after an
interruption computes only the missing points.  ``--scheduler tcp://host:8786`` (or
``[sweep] scheduler`` in the config) runs the points on a Dask cluster; ``OUT`` must then
be on a file system that every worker shares (docs/sweeps.md).
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
    check_device,
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
    names_of,
    option,
    parse_config,
    read_config_text,
)
from gan_pde.errors import ConfigError

NAME = "sweep"
HELP = "parameter sweep of a bundled task on Dask, locally or on a cluster (resumable)"


@dataclass(frozen=True)
class SweepSection:
    """``[sweep]``: which task, how the grid is formed and where it runs.

    ``scheduler`` is a local Dask scheduler or the address of a Dask scheduler
    (``tcp://host:8786``); ``workers`` sizes a local scheduler only; ``retries`` is how
    many more times a cluster tries a point that raised.
    """

    task: str = option("str", "poincare_constant", choices=names_of("gan_pde.sweep", "TASKS"))
    mode: str = option("str", "product", choices=("product", "zip"))
    scheduler: str = option("str", "threads")
    workers: int = option("int", None)
    retries: int = option("int", 2)


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


@dataclass(frozen=True)
class NetworkSeedParameters:
    """``[parameters]`` of ``jsd_network_seed`` (one list per argument; ``seed`` lists the
    ensemble's seeds)."""

    seed: list = option("list[int]")
    algorithm: list = option("list[str]", factory=lambda: ["particles"])
    epsilon: list = option("list[float]", factory=lambda: [0.1])
    steps: list = option("list[int]", factory=lambda: [20])
    n_particles: list = option("list[int]", factory=lambda: [500])
    discriminator_steps: list = option("list[int]", factory=lambda: [5])
    lr_discriminator: list = option("list[float]", factory=lambda: [0.01])
    hidden: list = option("list[int]", factory=lambda: [16])
    n_data: list = option("list[int]", factory=lambda: [5000])
    cells: list = option("list[int]", factory=lambda: [200])


_PARAMETERS = {
    "poincare_constant": PoincareParameters,
    "lgan_decay_rate": LGANParameters,
    "jsd_network_seed": NetworkSeedParameters,
}


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
    settings = sections["sweep"]
    if settings.workers is not None and settings.workers < 1:
        msg = f"key 'workers' in [sweep] of {name} must be at least 1; got {settings.workers}"
        raise ConfigError(msg)
    if settings.retries < 0:
        msg = f"key 'retries' in [sweep] of {name} must be at least 0; got {settings.retries}"
        raise ConfigError(msg)
    if not is_scheduler(settings.scheduler):
        raise bad_value(key_of(settings, "scheduler"), settings.scheduler, _scheduler_problem())
    if task == "jsd_network_seed":
        if any(s < 0 for s in grid["seed"]):
            raise bad_value(key_of(table, "seed"), grid["seed"], "every seed must be >= 0")
        if any(a not in ("particles", "gan") for a in grid["algorithm"]):
            raise bad_value(
                key_of(table, "algorithm"), grid["algorithm"], "each must be 'particles' or 'gan'"
            )
    return settings, grid


def _scheduler_problem() -> str:
    """What a scheduler must be: the names of :data:`gan_pde.sweep.SCHEDULERS` or an address."""
    from gan_pde.sweep import SCHEDULERS

    names = ", ".join(map(repr, SCHEDULERS))
    return f"must be {names} or a Dask scheduler address such as 'tcp://host:8786'"


def is_scheduler(value: str) -> bool:
    """A local scheduler name or a Dask scheduler address (``tcp://host:8786``)."""
    from gan_pde.sweep import SCHEDULERS, _is_address

    return value in SCHEDULERS or _is_address(value)


def _scheduler_option(value: str) -> str:
    if not is_scheduler(value):
        msg = f"--scheduler {value!r} {_scheduler_problem()}"
        raise argparse.ArgumentTypeError(msg)
    return value


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
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        type=_scheduler_option,
        default=None,
        help="where the points run: the address of a Dask scheduler (tcp://host:8786; OUT "
        "must then be on a file system all workers share) or a local scheduler: threads, "
        "processes, synchronous (default: [sweep] scheduler of the config)",
    )
    parser.add_argument(
        "--connect-timeout",
        metavar="SECONDS",
        type=float,
        default=30.0,
        help="seconds to wait for the scheduler address to answer (default: 30)",
    )


def run(args: argparse.Namespace) -> int:
    import json
    import shutil

    from gan_pde.sweep import TASKS, _cache_file, _is_address, grid_points, sweep

    args = with_defaults(args, add_arguments)
    settings, grid = load_config(args.config)
    scheduler = args.scheduler or settings.scheduler
    cluster = _is_address(scheduler)
    if settings.task == "jsd_network_seed":
        check_device("cpu")
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
    with Progress(len(points), unit="point", quiet=args.quiet, start=cached) as progress:
        result = sweep(
            TASKS[settings.task],
            grid,
            mode=settings.mode,
            scheduler=scheduler,
            workers=None if cluster else settings.workers,
            cache_dir=cache,
            progress=lambda done, _total: progress.update(done),
            retries=settings.retries,
            connect_timeout=args.connect_timeout,
        )
        progress.stage("writing results and sweep.png")
        result.info["config"] = {"sweep": config_values(settings), "parameters": grid}
        result.to_json(out / "results.json")
        result.to_csv(out / "results.csv")
        _plot(result, grid, out / "sweep.png")
    if args.json:
        print_json(json.loads((out / "results.json").read_text(encoding="utf-8")))
        return 0
    source = args.config or "bundled sweep.toml"
    where = (
        f"the Dask cluster at {result.info['scheduler']} ({result.info['workers']} workers, "
        f"{result.info['threads']} threads)"
        if cluster
        else f"the {scheduler} scheduler"
    )
    print(
        f"sweep ({source}): {settings.task} at {len(result.records)} points "
        f"({result.cached} cached) on {where}, "
        f"{time.perf_counter() - start:.2f} s; wrote {out}/results.json, results.csv, sweep.png"
    )
    return 0


def _plot(result: Any, grid: dict[str, list], path: Path) -> None:
    """The first value of each point against the first parameter, one line per setting of
    the other parameters (:func:`gan_pde.plotting.plot_sweep`)."""
    from gan_pde.plotting import figure_file, plot_sweep

    with figure_file(path, figsize=(8.0, 4.0)) as fig:
        plot_sweep(result, x=next(iter(grid)), ax=fig.subplots())
