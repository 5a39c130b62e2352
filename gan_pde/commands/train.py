"""``gan-pde train``: train networks with a gan_pde.nn trainer from a config (needs torch).

Writes ``run.npz`` (:meth:`gan_pde.nn.TrainingRun.save`), ``results.json``, ``losses.png``
and, for the JSD algorithms (``gan``, ``algorithm2``, ``particles``) on 1D data with
``[pde] overlay = true``, ``densities.png`` (histograms of the generated samples over the
JSD-flow solution u(t) at the same times) and ``distance.png`` (W₁ to u(t) over time).

The training writes a checkpoint (``--checkpoint PATH``, default ``OUT/checkpoint.npz``)
every ``--checkpoint-every`` seconds; after an interruption ``--resume`` continues from it
to the result of an uninterrupted run, and the file is removed once every result is
written.
"""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gan_pde._arrays import as_non_negative
from gan_pde.commands._common import (
    Progress,
    add_common_options,
    add_size_options,
    apply_sizes,
    check_device,
    describe_sizes,
    output_folder,
    print_json,
    resume_command,
    say,
    set_interrupt_note,
    size_level,
    with_defaults,
    write_results,
)
from gan_pde.config import (
    DENSITY_KINDS,
    DensityConfig,
    bad_value,
    names_of,
    option,
    parse_config,
    read_config_text,
)
from gan_pde.errors import ConfigError, InvalidInputError
from gan_pde.nn.run import ALGORITHMS

NAME = "train"
HELP = "train GANs with torch (gan_pde.nn): run file, losses and density figures"

_JSD = ("gan", "algorithm2", "particles")


@dataclass(frozen=True)
class RunConfig:
    """``[run]``: the trainer, its length, seed, ensemble size and snapshots."""

    algorithm: str = option("str", "particles", choices=ALGORITHMS)
    steps: int = option("int", 50)
    seed: int = option("int", 0)
    runs: int = option("int", 1)
    snapshots: int = option("int", 11)


@dataclass(frozen=True)
class TrainingConfig:
    """``[training]``: the options of the trainer (those it does not use are ignored)."""

    epsilon: float = option("float", 0.1)
    discriminator_steps: int = option("int", 5)
    generator_steps: int = option("int", 1)
    lr_discriminator: float = option("float", 0.01)
    lr_generator: float = option("float", 0.05)
    optimizer: str = option("str", "adam", choices=names_of("gan_pde.nn.optim", "OPTIMIZERS"))
    batch_size: int = option("int", 256)
    n_data: int = option("int", 20000)
    n_particles: int = option("int", 1000)
    hidden: list = option("list[int]", factory=lambda: [32, 32])
    alpha: float = option("float", 0.25)
    beta: float = option("float", -0.5)
    gamma: float = option("float", 0.0)
    integrator: str = option("str", "heun", choices=names_of("gan_pde.nn.lsgan", "INTEGRATORS"))
    lr: float = option("float", 0.01)
    width: int = option("int", 100)
    h: float = option("float", 1.0)
    critic_steps: int = option("int", 1)

    def validate(self, key) -> None:
        """ConfigError naming the key for a count < 1 or a rate, step or width <= 0."""
        counts = ("discriminator_steps", "generator_steps", "batch_size", "n_data")
        for name in (*counts, "n_particles", "width", "critic_steps"):
            if getattr(self, name) < 1:
                raise bad_value(key(name), getattr(self, name), "must be >= 1")
        for name in ("epsilon", "lr_discriminator", "lr_generator", "lr", "h"):
            if not getattr(self, name) > 0:
                raise bad_value(key(name), getattr(self, name), "must be > 0")
        if not self.hidden or any(width < 1 for width in self.hidden):
            raise bad_value(key("hidden"), self.hidden, "layer widths must be >= 1, e.g. [32, 32]")


@dataclass(frozen=True)
class PDEConfig:
    """``[pde]``: the JSD flow drawn under the samples."""

    overlay: bool = option("bool", True)
    bounds: list = option("list[float]", factory=lambda: [-10.0, 10.0])
    cells: int = option("int", 400)

    def validate(self, key) -> None:
        """ConfigError naming ``[pde] cells`` when it is < 1."""
        if self.cells < 1:
            raise bad_value(key("cells"), self.cells, "must be >= 1 (cells of the JSD-flow mesh)")


@dataclass(frozen=True)
class InitialConfig(DensityConfig):
    """``[initial]``: the initial law of a particle table (default N(0, 1))."""

    kind: str = option("str", "gaussian", choices=DENSITY_KINDS)
    mean: list = option("list[float]", factory=lambda: [0.0])
    cov: list = option("list[list[float]]", factory=lambda: [[1.0]])


@dataclass(frozen=True)
class TrainConfig:
    """The configuration of ``gan-pde train``."""

    run: RunConfig
    target: DensityConfig
    initial: InitialConfig
    training: TrainingConfig
    pde: PDEConfig

    def to_dict(self) -> dict[str, Any]:
        """Plain dictionary (JSON-ready) of the configuration."""
        return dataclasses.asdict(self)


def load_config(path: str | Path | None = None) -> TrainConfig:
    """Read and validate a ``gan-pde train`` config (the bundled default if None)."""
    text, name = read_config_text(path, "train")
    sections = {
        "run": RunConfig,
        "target": DensityConfig,
        "initial": InitialConfig,
        "training": TrainingConfig,
        "pde": PDEConfig,
    }
    config = TrainConfig(**parse_config(text, name, sections, required=("target",)))
    for key in ("steps", "runs", "snapshots"):
        if getattr(config.run, key) < (2 if key == "snapshots" else 1):
            msg = f"key {key!r} in [run] must be >= {2 if key == 'snapshots' else 1}"
            raise ConfigError(msg)
    if len(config.pde.bounds) != 2 or not config.pde.bounds[0] < config.pde.bounds[1]:
        msg = f"key 'bounds' in [pde] must be [a, b] with a < b; got {config.pde.bounds}"
        raise ConfigError(msg)
    return config


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", nargs="?", help="TOML config (default: bundled example)")
    add_common_options(parser, out="train_output")
    parser.add_argument(
        "--device", choices=("cpu", "cuda"), default=None, help="default: cuda if available"
    )
    add_size_options(
        parser,
        quick=f"a few seconds: {describe_sizes(SIZES['quick'])}",
        full=f"a longer run with more samples: {describe_sizes(SIZES['full'])}",
    )
    add_checkpoint_options(parser, what="the training's state (networks, optimisers, generators)")


def add_checkpoint_options(
    parser: argparse.ArgumentParser, *, what: str, folder: bool = False
) -> None:
    """``--checkpoint PATH``, ``--checkpoint-every SECONDS`` and ``--resume`` (shared with
    ``gan-pde compare``, whose checkpoint is a folder of one file per training)."""
    default = "OUT/checkpoints" if folder else "OUT/checkpoint.npz"
    parser.add_argument(
        "--checkpoint",
        metavar="PATH",
        default=None,
        help=f"where to keep {what} while running (default {default}; removed at the end)",
    )
    parser.add_argument(
        "--checkpoint-every",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="write the checkpoint every SECONDS of wall time (default 30; 0: every step)",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue from the checkpoint (same config) to the uninterrupted result; "
        "without a checkpoint, says so and starts from the beginning",
    )


def checkpoint_step(path: Path) -> int | None:
    """The step a checkpoint file holds (None if it cannot be read)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return int(data["__step"])
    except Exception:  # noqa: BLE001 - only for messages; the trainer checks the file itself
        return None


#: What ``--quick`` and ``--full`` set (over the config's values).
SIZES = {
    "quick": {
        "run": {"steps": 10, "snapshots": 6},
        "training": {"n_particles": 250, "n_data": 5000, "batch_size": 128},
        "pde": {"cells": 200},
    },
    "full": {
        "run": {"steps": 200, "snapshots": 21},
        "training": {"n_particles": 5000, "n_data": 100000},
    },
}


def train_from_config(
    config: TrainConfig, *, device: Any, progress: Any = None, **checkpointing: Any
) -> Any:
    """Run the trainer that ``config`` describes; returns its TrainingRun.

    ``checkpointing``: ``checkpoint``, ``checkpoint_interval``, ``checkpoint_steps``,
    ``resume`` and ``trackers`` of the trainer (:func:`gan_pde.nn.train_gan`).
    """
    from gan_pde import nn

    run, tr = config.run, config.training
    target = config.target.build()
    runs = None if run.runs == 1 else run.runs
    common: dict[str, Any] = dict(
        steps=run.steps,
        seed=run.seed,
        device=device,
        runs=runs,
        progress=progress,
        save_steps=run.snapshots,
        n_data=tr.n_data,
        batch_size=tr.batch_size,
        **checkpointing,
    )
    dim = target.dim
    hidden = tuple(tr.hidden)
    if run.algorithm in _JSD:
        common.update(
            discriminator=nn.MLP(dim, 1, hidden=hidden),
            discriminator_steps=tr.discriminator_steps,
            lr_discriminator=tr.lr_discriminator,
            optimizer=tr.optimizer,
        )
    if run.algorithm == "particles":
        return nn.train_particles(
            target,
            config.initial.build(),
            epsilon=tr.epsilon,
            n_particles=tr.n_particles,
            **common,
        )
    if run.algorithm in ("gan", "algorithm2"):
        generator = nn.MLP(dim, dim, hidden=hidden)
        extra = {"epsilon": tr.epsilon, "generator_steps": tr.generator_steps}
        trainer = nn.train_gan if run.algorithm == "gan" else nn.train_algorithm2
        return trainer(
            target,
            generator=generator,
            lr_generator=tr.lr_generator,
            n_eval=tr.n_particles,
            **(extra if run.algorithm == "algorithm2" else {}),
            **common,
        )
    if run.algorithm == "lsgan":
        return nn.train_lsgan(
            target,
            alpha=tr.alpha,
            beta=tr.beta,
            gamma=tr.gamma,
            integrator=tr.integrator,
            lr=tr.lr,
            discriminator=nn.MLP(dim, 1, hidden=hidden),
            generator=nn.MLP(dim, dim, hidden=hidden),
            n_eval=tr.n_particles,
            **common,
        )
    return nn.train_wgan(
        target,
        width=tr.width,
        h=tr.h,
        critic_steps=tr.critic_steps,
        n_eval=tr.n_particles,
        **common,
    )


def run(args: argparse.Namespace) -> int:
    args = with_defaults(args, add_arguments)
    config = load_config(args.config)
    level = size_level(args)
    if level != "default":
        config = apply_sizes(config, SIZES[level])
    check_device(args.device)
    out = output_folder(args.out)
    checkpoint = Path(args.checkpoint) if args.checkpoint else out / "checkpoint.npz"
    _check_checkpoint_file(checkpoint, args.checkpoint_every)
    resumed = checkpoint_step(checkpoint) if args.resume and checkpoint.exists() else None
    if args.resume and not checkpoint.exists():
        say(f"gan-pde train: no checkpoint at {checkpoint}: starting from step 0")
    elif resumed is not None:
        say(f"gan-pde train: resuming from step {resumed} of {config.run.steps} ({checkpoint})")

    def on_interrupt() -> str:
        step = checkpoint_step(checkpoint) if checkpoint.exists() else None
        if step is not None:
            return f"train keeps step {step} in {checkpoint}; continue with: {resume_command()}"
        return (
            f"train keeps no checkpoint yet (one every {args.checkpoint_every:g} s of wall "
            "time, --checkpoint-every): running the command again starts from step 0"
        )

    set_interrupt_note(on_interrupt)
    with Progress(config.run.steps, unit="step", quiet=args.quiet, start=resumed or 0) as bar:

        def progress(step: int, losses: dict[str, float]) -> None:
            bar.update(step, postfix=", ".join(f"{k}={v:.3g}" for k, v in losses.items()))

        result = train_from_config(
            config,
            device=args.device,
            progress=progress,
            checkpoint=checkpoint,
            checkpoint_interval=args.checkpoint_every,
            resume=args.resume,
        )
        bar.stage("writing run.npz and figures")
        result.config["file"] = config.to_dict()
        result.save(out / "run.npz")
        figures = ["losses.png"]
        _plot_losses(result, out / "losses.png")
        target = config.target.build()
        overlay = config.pde.overlay and config.run.algorithm in _JSD and target.dim == 1
        if overlay:
            bar.stage("the JSD flow under the samples")
            w1 = _overlay(config, result, target, out)
    summary: dict[str, Any] = {
        "size": level,
        "algorithm": result.algorithm,
        "device": result.device,
        "wall_time": result.wall_time,
        "steps_per_second": config.run.steps / max(result.wall_time, 1e-12),
        "n_steps": result.info["n_steps"],
        "resumed_from_step": result.info["resumed_from_step"],
        "times": result.times.tolist(),
        "final_losses": {k: float(np.mean(v[..., -1])) for k, v in result.losses.items()},
    }
    if overlay:
        summary["w1_to_pde"] = w1.tolist()
        figures += ["densities.png", "distance.png"]
    summary["config"] = config.to_dict()
    write_results(out, summary)
    # every result is written: the checkpoint has served its purpose
    checkpoint.unlink(missing_ok=True)
    if args.json:
        print_json(summary)
        return 0
    source = args.config or "bundled train.toml"
    extra = (
        f", W1 to the JSD flow at t = {result.times[-1]:g} (final step) "
        f"{summary['w1_to_pde'][-1]:.3g}"
        if ("w1_to_pde" in summary)
        else ""
    )
    print(
        f"train ({source}, {level} size): {config.run.algorithm}, {config.run.steps} steps on "
        f"{result.device} in {result.wall_time:.2f} s "
        f"({summary['steps_per_second']:.1f} steps/s){extra}; wrote {out}/results.json, "
        f"run.npz, {', '.join(figures)}"
    )
    return 0


def _check_checkpoint_file(path: Path, every: float) -> None:
    """InvalidInputError naming the option for a checkpoint path that is a folder, in a
    missing folder, or a negative interval."""
    as_non_negative(every, "--checkpoint-every")
    if path.is_dir():
        msg = f"--checkpoint {path}: is a folder; give a file name such as {path / 'run.npz'}"
        raise InvalidInputError(msg)
    if not path.parent.is_dir():
        msg = f"--checkpoint {path}: the folder {path.parent} does not exist; create it first"
        raise InvalidInputError(msg)


def _plot_losses(result: Any, path: Path) -> None:
    """Losses against the step (:func:`gan_pde.plotting.plot_losses`)."""
    from gan_pde.plotting import figure_file, plot_losses

    with figure_file(path, figsize=(7.5, 4.0)) as fig:
        plot_losses(result, ax=fig.subplots())


def _overlay(config: TrainConfig, result: Any, target: Any, out: Path) -> np.ndarray:
    """JSD flow at the run's times; densities.png and distance.png; W₁ over time."""
    from gan_pde.compare import distances_over_time
    from gan_pde.flows import JSDFlow
    from gan_pde.mesh import interval

    mesh = interval(*config.pde.bounds, n=config.pde.cells)
    initial = config.initial.build()
    flow = JSDFlow(target, initial, mesh)
    t_final = float(result.times[-1])
    trajectory = flow.solve(
        t_final, t_final / max(4 * config.run.steps, 1), save_times=result.times
    )
    distances = distances_over_time(result, trajectory, metrics=("w1",))
    _plot_overlay(result, trajectory, target, tuple(config.pde.bounds), distances, out)
    return np.asarray(distances["w1"])


def _plot_overlay(
    result: Any, trajectory: Any, target: Any, bounds: tuple, distances: dict, out: Path
) -> None:
    """densities.png (:func:`gan_pde.plotting.plot_samples`) and distance.png
    (:func:`gan_pde.plotting.plot_distances`)."""
    from gan_pde.plotting import figure_file, plot_distances, plot_samples

    panels = min(4, result.times.size)
    with figure_file(out / "densities.png", figsize=(3.3 * panels + 2.2, 3.4)) as fig:
        plot_samples(result, trajectory, target, bounds=bounds, fig=fig)
    with figure_file(out / "distance.png", figsize=(7.5, 4.0)) as fig:
        plot_distances(distances, label=result.algorithm, ax=fig.subplots())
