"""``gan-pde compare``: network training beside the PDE limits (needs torch).

Runs the experiments of :mod:`gan_pde.compare.experiments` that the config lists and
writes ``results.json`` (all measured numbers) and figures: ``jsd_distance.png`` (W₁ of
each run to the JSD flow over time), ``jsd_densities.png`` (samples over u(t)),
``jsd_study.png`` (W₁ vs particle count, discriminator steps, ε), ``lsgan_decay.png``
(‖D(t)‖² per setting), ``lsgan_rates.png`` (measured vs predicted η) and ``wgan.png`` (W₂
of the neuron laws to the mean-field PDE over time per N, and the mass at the wall of Q).

Every network training (and the PDE solves that take checkpoints) keeps a checkpoint in
the folder ``--checkpoint PATH`` (default ``OUT/checkpoints``) while it runs; after an
interruption ``--resume`` takes the finished parts back from their checkpoints and
continues the interrupted one, to the results of an uninterrupted run.  The folder's
checkpoints are removed once every result is written.
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
from gan_pde.commands.train import add_checkpoint_options
from gan_pde.config import bad_value, names_of, option, parse_config, read_config_text
from gan_pde.errors import ConfigError, InvalidInputError

NAME = "compare"
HELP = "networks vs PDE limits (JSD flow, lGAN rates, WGAN mean field): figures, results.json"

EXPERIMENTS = ("jsd", "lsgan", "wgan")


@dataclass(frozen=True)
class CompareRunConfig:
    """``[run]``: which experiments, and the seed."""

    experiments: list = option("list[str]", factory=lambda: list(EXPERIMENTS))
    seed: int = option("int", 0)


@dataclass(frozen=True)
class JSDExperimentConfig:
    """``[jsd]``: options of :func:`gan_pde.compare.experiments.jsd_comparison`."""

    epsilon: float = option("float", 0.1)
    steps: int = option("int", 20)
    n_particles: int = option("int", 400)
    discriminator_steps: int = option("int", 3)
    lr_discriminator: float = option("float", 0.01)
    batch_size: int = option("int", 128)
    n_data: int = option("int", 5000)
    hidden: list = option("list[int]", factory=lambda: [16, 16])
    generator_steps: int = option("int", 3)
    particle_counts: list = option("list[int]", factory=lambda: [100, 400])
    discriminator_step_counts: list = option("list[int]", factory=lambda: [1, 3])
    epsilons: list = option("list[float]", factory=lambda: [0.2, 0.1])

    def validate(self, key) -> None:
        """ConfigError naming the key for counts < 1 and rates <= 0."""
        _at_least_one(key, self, "steps", "n_particles", "discriminator_steps", "batch_size")
        _at_least_one(key, self, "n_data", "generator_steps")
        _positive(key, self, "epsilon", "lr_discriminator")
        for name in ("hidden", "particle_counts", "discriminator_step_counts"):
            if not getattr(self, name) or min(getattr(self, name)) < 1:
                raise bad_value(key(name), getattr(self, name), "needs entries >= 1")
        if not self.epsilons or min(self.epsilons) <= 0:
            raise bad_value(key("epsilons"), self.epsilons, "needs entries > 0")


@dataclass(frozen=True)
class LSGANExperimentConfig:
    """``[lsgan]``: options of :func:`gan_pde.compare.experiments.lsgan_comparison`."""

    separations: list = option("list[float]", factory=lambda: [3.0, 4.0])
    n_data: int = option("int", 200)
    features: int = option("int", 12)
    integrator: str = option("str", "heun", choices=names_of("gan_pde.nn.lsgan", "INTEGRATORS"))
    tau: float = option("float", 0.02)
    t_final: float = option("float", 30.0)

    def validate(self, key) -> None:
        """ConfigError naming the key for counts < 1, steps or times <= 0."""
        _at_least_one(key, self, "n_data", "features")
        _positive(key, self, "tau", "t_final")
        if not self.separations or min(self.separations) <= 0:
            raise bad_value(key("separations"), self.separations, "needs entries > 0")


@dataclass(frozen=True)
class WGANExperimentConfig:
    """``[wgan]``: options of :func:`gan_pde.compare.experiments.wgan_comparison`
    (the default mean-field model)."""

    widths: list = option("list[int]", factory=lambda: [50, 200])
    h: float = option("float", 1.0)
    t_final: float = option("float", 4.0)
    saves: int = option("int", 5)
    batch_size: int = option("int", 1)

    def validate(self, key) -> None:
        """ConfigError naming the key for widths < 2, saves < 2, h or t_final <= 0."""
        _at_least_one(key, self, "batch_size")
        _positive(key, self, "h", "t_final")
        if self.saves < 2:
            raise bad_value(key("saves"), self.saves, "must be >= 2 (t = 0 and t_final)")
        if not self.widths or min(self.widths) < 2:
            raise bad_value(key("widths"), self.widths, "needs widths >= 2 (neurons)")


def _at_least_one(key, table, *names: str) -> None:
    for name in names:
        if getattr(table, name) < 1:
            raise bad_value(key(name), getattr(table, name), "must be >= 1")


def _positive(key, table, *names: str) -> None:
    for name in names:
        if not getattr(table, name) > 0:
            raise bad_value(key(name), getattr(table, name), "must be > 0")


#: What ``--quick`` and ``--full`` set (over the config's values); ``--full`` is the size
#: of the numbers in docs/nn.md.
SIZES = {
    "quick": {
        "jsd": {
            "steps": 10,
            "n_particles": 200,
            "discriminator_steps": 2,
            "batch_size": 64,
            "n_data": 2000,
            "hidden": [8],
            "generator_steps": 1,
            "particle_counts": [100, 200],
            "discriminator_step_counts": [1, 2],
            "epsilons": [0.2, 0.1],
        },
        "lsgan": {"separations": [3.0], "n_data": 60, "features": 8, "t_final": 4.0},
        "wgan": {"widths": [20, 40], "t_final": 1.0, "saves": 3},
    },
    "full": {
        "jsd": {
            "steps": 30,
            "n_particles": 500,
            "discriminator_steps": 5,
            "batch_size": 256,
            "n_data": 10000,
            "hidden": [32, 32],
            "generator_steps": 5,
            "particle_counts": [125, 500, 2000],
            "discriminator_step_counts": [1, 5, 20],
            "epsilons": [0.2, 0.1, 0.05],
        },
        "lsgan": {"separations": [3.0, 4.0], "n_data": 200, "t_final": 30.0},
        "wgan": {"widths": [50, 200, 800], "t_final": 8.0, "saves": 5},
    },
}


@dataclass(frozen=True)
class CompareConfig:
    """The configuration of ``gan-pde compare``."""

    run: CompareRunConfig
    jsd: JSDExperimentConfig
    lsgan: LSGANExperimentConfig
    wgan: WGANExperimentConfig

    def to_dict(self) -> dict[str, Any]:
        """Plain dictionary (JSON-ready) of the configuration."""
        return dataclasses.asdict(self)


def load_config(path: str | Path | None = None) -> CompareConfig:
    """Read and validate a ``gan-pde compare`` config (the bundled default if None)."""
    text, name = read_config_text(path, "compare")
    sections = {
        "run": CompareRunConfig,
        "jsd": JSDExperimentConfig,
        "lsgan": LSGANExperimentConfig,
        "wgan": WGANExperimentConfig,
    }
    config = CompareConfig(**parse_config(text, name, sections))
    unknown = [e for e in config.run.experiments if e not in EXPERIMENTS]
    if unknown or not config.run.experiments:
        msg = (
            f"key 'experiments' in [run] must list some of {EXPERIMENTS}; "
            f"got {config.run.experiments}"
        )
        raise ConfigError(msg)
    return config


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", nargs="?", help="TOML config (default: bundled example)")
    add_common_options(parser, out="compare_output")
    parser.add_argument(
        "--device", choices=("cpu", "cuda"), default=None, help="default: cuda if available"
    )
    add_size_options(
        parser,
        quick=f"seconds: {describe_sizes(SIZES['quick'])}",
        full=f"the sizes of docs/nn.md's numbers, many minutes: {describe_sizes(SIZES['full'])}",
    )
    add_checkpoint_options(parser, what="a checkpoint of each training (a folder)", folder=True)


#: The checkpoint files of the experiments (removed once results.json is written).
_CHECKPOINTS = ("jsd_*.ckpt.npz", "lsgan_*.ckpt.npz", "wgan_*.ckpt.npz")


def _checkpoint_folder(path: Path, every: float) -> None:
    """InvalidInputError naming the option for a folder that is a file or a negative
    interval."""
    as_non_negative(every, "--checkpoint-every")
    if path.exists() and not path.is_dir():
        msg = f"--checkpoint {path}: is a file; give a folder (one checkpoint per training)"
        raise InvalidInputError(msg)


def run(args: argparse.Namespace) -> int:
    from gan_pde.compare.experiments import jsd_comparison, lsgan_comparison, wgan_comparison

    args = with_defaults(args, add_arguments)
    config = load_config(args.config)
    level = size_level(args)
    if level != "default":
        config = apply_sizes(config, SIZES[level])
    check_device(args.device)
    out = output_folder(args.out)
    device = args.device
    folder = Path(args.checkpoint) if args.checkpoint else out / "checkpoints"
    _checkpoint_folder(folder, args.checkpoint_every)
    kept = sorted(p for pattern in _CHECKPOINTS for p in folder.glob(pattern))
    if args.resume and not kept:
        say(f"gan-pde compare: no checkpoints in {folder}: starting from the beginning")
    elif args.resume:
        say(f"gan-pde compare: resuming from the {len(kept)} checkpoint(s) in {folder}")
    checkpointing = {
        "checkpoint": folder,
        "checkpoint_interval": args.checkpoint_every,
        "resume": args.resume,
    }

    def on_interrupt() -> str:
        if any(folder.glob(pattern) for pattern in _CHECKPOINTS):
            return f"{folder} keeps the trainings so far; continue with: {resume_command()}"
        return "no checkpoint was written yet: running again starts from the beginning"

    set_interrupt_note(on_interrupt)
    report: dict[str, Any] = {"size": level, "config": config.to_dict()}
    figures: list[str] = []
    lines: list[str] = []
    jobs = len(config.lsgan.separations) if "lsgan" in config.run.experiments else 0
    jobs += sum(name in config.run.experiments for name in ("jsd", "wgan"))
    with Progress(jobs, unit="experiment", quiet=args.quiet) as bar:
        if "jsd" in config.run.experiments:
            options = {k: v for k, v in dataclasses.asdict(config.jsd).items()}
            result = jsd_comparison(
                **options,
                seed=config.run.seed,
                device=device,
                progress=lambda message: bar.stage(f"JSD: {message}"),
                **checkpointing,
            )
            bar.update(bar.n + 1)
            report["jsd"] = result.summary()
            figures += _plot_jsd(result, out)
            lines.append(
                f"JSD: W1 at t = {result.times[-1]:g}: particles "
                f"{result.w1['particles'][-1]:.3g}, GAN {result.w1['gan'][-1]:.3g}, "
                f"Algorithm 2 {result.w1['algorithm2'][-1]:.3g}, FEM particles "
                f"{result.w1['fem_particles'][-1]:.3g}; |GAN - particles| "
                f"{result.gan_minus_particles:.1e}; gradient identity "
                f"{result.gradient_identity:.1e}"
            )
        if "lsgan" in config.run.experiments:
            results = []
            for separation in config.lsgan.separations:
                bar.stage(f"LSGAN, separation {separation:g}")
                lsgan = lsgan_comparison(
                    separation,
                    n_data=config.lsgan.n_data,
                    features=config.lsgan.features,
                    integrator=config.lsgan.integrator,
                    tau=config.lsgan.tau,
                    t_final=config.lsgan.t_final,
                    seed=config.run.seed,
                    device=device,
                    **checkpointing,
                )
                bar.update(bar.n + 1)
                results.append(lsgan)
                lines.append(
                    f"LSGAN M = {separation:g}: xi_min {lsgan.xi_min:.4g}, ranking "
                    f"{'agrees' if lsgan.ranking_agrees else 'DISAGREES'} "
                    f"(measured {np.round(lsgan.measured_rates, 3).tolist()}, predicted "
                    f"{np.round(lsgan.predicted_rates, 3).tolist()})"
                )
            report["lsgan"] = [r.summary() for r in results]
            figures += _plot_lsgan(results, out)
        if "wgan" in config.run.experiments:
            bar.stage("WGAN vs mean field")
            wgan = wgan_comparison(
                widths=tuple(config.wgan.widths),
                h=config.wgan.h,
                t_final=config.wgan.t_final,
                saves=config.wgan.saves,
                batch_size=config.wgan.batch_size,
                seed=config.run.seed,
                device=device,
                **checkpointing,
            )
            bar.update(bar.n + 1)
            report["wgan"] = wgan.summary()
            figures += _plot_wgan(wgan, out)
            lines.append(
                "WGAN: W2 slopes vs N "
                + ", ".join(f"{k} {v:.2f}" for k, v in wgan.slopes.items())
                + f"; wall mass at t = {wgan.times[-1]:g}: PDE {wgan.wall_pde[-1]:.3f}, "
                + f"networks {np.round(wgan.wall_networks[:, -1], 3).tolist()}"
            )
    write_results(out, report)
    # every result is written: the checkpoints have served their purpose
    for pattern in _CHECKPOINTS:
        for path in folder.glob(pattern):
            path.unlink(missing_ok=True)
    if folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
    if args.json:
        print_json(report)
        return 0
    source = args.config or "bundled compare.toml"
    print(
        f"compare ({source}, {level} size): "
        + "; ".join(lines)
        + f"; wrote {out}/results.json, "
        + ", ".join(figures)
    )
    return 0


def _plot_jsd(result: Any, out: Path) -> list[str]:
    """jsd_distance.png, jsd_densities.png, jsd_study.png
    (:func:`~gan_pde.plotting.plot_jsd_comparison`,
    :func:`~gan_pde.plotting.plot_jsd_comparison_samples`,
    :func:`~gan_pde.plotting.plot_jsd_study`)."""
    from gan_pde.plotting import (
        figure_file,
        plot_jsd_comparison,
        plot_jsd_comparison_samples,
        plot_jsd_study,
    )

    with figure_file(out / "jsd_distance.png", figsize=(7.5, 4.0)) as fig:
        plot_jsd_comparison(result, ax=fig.subplots())
    panels = min(4, len(result.times))
    with figure_file(out / "jsd_densities.png", figsize=(3.3 * panels + 2.2, 3.4)) as fig:
        plot_jsd_comparison_samples(result, fig=fig)
    with figure_file(out / "jsd_study.png", figsize=(3.8 * len(result.study) + 1.5, 3.4)) as fig:
        plot_jsd_study(result, fig=fig)
    return ["jsd_distance.png", "jsd_densities.png", "jsd_study.png"]


def _plot_lsgan(results: list, out: Path) -> list[str]:
    """lsgan_decay.png and lsgan_rates.png (:func:`gan_pde.plotting.plot_lsgan_decay`,
    :func:`~gan_pde.plotting.plot_lsgan_rates`)."""
    from gan_pde.plotting import figure_file, plot_lsgan_decay, plot_lsgan_rates

    with figure_file(out / "lsgan_decay.png", figsize=(4.6 * len(results) + 1.2, 3.8)) as fig:
        plot_lsgan_decay(results, fig=fig)
    with figure_file(out / "lsgan_rates.png", figsize=(7.0, 4.6)) as fig:
        plot_lsgan_rates(results, ax=fig.subplots())
    return ["lsgan_decay.png", "lsgan_rates.png"]


def _plot_wgan(result: Any, out: Path) -> list[str]:
    """wgan.png (:func:`gan_pde.plotting.plot_wgan_comparison`)."""
    from gan_pde.plotting import figure_file, plot_wgan_comparison

    with figure_file(out / "wgan.png", figsize=(4.0 * (len(result.w2) + 1) + 1.2, 3.5)) as fig:
        plot_wgan_comparison(result, fig=fig)
    return ["wgan.png"]
