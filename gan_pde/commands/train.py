"""``gan-pde train``: train networks with a gan_pde.nn trainer from a config (needs torch).

Writes ``run.npz`` (:meth:`gan_pde.nn.TrainingRun.save`), ``summary.json``, ``losses.png``
and, for the JSD algorithms (``gan``, ``algorithm2``, ``particles``) on 1D data with
``[pde] overlay = true``, ``densities.png`` (histograms of the generated samples over the
JSD-flow solution u(t) at the same times) and ``distance.png`` (W₁ to u(t) over time).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gan_pde.config import DensityConfig, option, parse_config, read_config_text
from gan_pde.errors import ConfigError

NAME = "train"
HELP = "train GANs with torch (gan_pde.nn): run file, losses and density figures"

ALGORITHMS = ("gan", "algorithm2", "particles", "wgan", "lsgan")
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
    optimizer: str = option("str", "adam", choices=("sgd", "adam"))
    batch_size: int = option("int", 256)
    n_data: int = option("int", 20000)
    n_particles: int = option("int", 1000)
    hidden: list = option("list[int]", factory=lambda: [32, 32])
    alpha: float = option("float", 0.25)
    beta: float = option("float", -0.5)
    gamma: float = option("float", 0.0)
    integrator: str = option("str", "heun", choices=("sgd", "adam", "heun", "rk4"))
    lr: float = option("float", 0.01)
    width: int = option("int", 100)
    h: float = option("float", 1.0)
    critic_steps: int = option("int", 1)


@dataclass(frozen=True)
class PDEConfig:
    """``[pde]``: the JSD flow drawn under the samples."""

    overlay: bool = option("bool", True)
    bounds: list = option("list[float]", factory=lambda: [-10.0, 10.0])
    cells: int = option("int", 400)


@dataclass(frozen=True)
class InitialConfig(DensityConfig):
    """``[initial]``: the initial law of a particle table (default N(0, 1))."""

    kind: str = option("str", "gaussian", choices=("gaussian", "mixture", "uniform"))
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
    parser.add_argument("--out", default="train_output", help="output folder")
    parser.add_argument(
        "--device", choices=("cpu", "cuda"), default=None, help="default: cuda if available"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def train_from_config(config: TrainConfig, *, device: Any, progress: Any = None) -> Any:
    """Run the trainer that ``config`` describes; returns its TrainingRun."""
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
    from tqdm import tqdm

    config = load_config(args.config)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    disable = bool(args.quiet) or not sys.stderr.isatty()
    with tqdm(total=config.run.steps, unit="step", disable=disable, file=sys.stderr) as bar:

        def progress(step: int, losses: dict[str, float]) -> None:
            bar.update(step - bar.n)
            bar.set_postfix({k: f"{v:.3g}" for k, v in losses.items()}, refresh=False)

        result = train_from_config(config, device=args.device, progress=progress)
    result.config["file"] = config.to_dict()
    result.save(out / "run.npz")
    figures = ["losses.png"]
    _plot_losses(result, out / "losses.png")
    summary: dict[str, Any] = {
        "algorithm": result.algorithm,
        "device": result.device,
        "wall_time": result.wall_time,
        "steps_per_second": config.run.steps / max(result.wall_time, 1e-12),
        "times": result.times.tolist(),
        "final_losses": {k: float(np.mean(v[..., -1])) for k, v in result.losses.items()},
    }
    target = config.target.build()
    if config.pde.overlay and config.run.algorithm in _JSD and target.dim == 1:
        w1 = _overlay(config, result, target, out)
        summary["w1_to_pde"] = w1.tolist()
        figures += ["densities.png", "distance.png"]
    (out / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    source = args.config or "bundled train.toml"
    extra = (
        f", W1 to the JSD flow at the end {summary['w1_to_pde'][-1]:.3g}"
        if ("w1_to_pde" in summary)
        else ""
    )
    print(
        f"train ({source}): {config.run.algorithm}, {config.run.steps} steps on "
        f"{result.device} in {result.wall_time:.2f} s "
        f"({summary['steps_per_second']:.1f} steps/s){extra}; wrote {out}/run.npz, "
        f"summary.json, {', '.join(figures)}"
    )
    return 0


def _plot_losses(result: Any, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    steps = np.arange(1, next(iter(result.losses.values())).shape[-1] + 1)
    for name, values in result.losses.items():
        mean = values if values.ndim == 1 else values.mean(axis=0)
        ax.plot(steps, mean, label=name)
    ax.set_xlabel("training step")
    ax.legend()
    ax.set_title(f"{result.algorithm}: losses" + (" (ensemble mean)" if result.runs else ""))
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _overlay(config: TrainConfig, result: Any, target: Any, out: Path) -> np.ndarray:
    """JSD flow at the run's times; densities.png and distance.png; W₁ over time."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

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
    samples = result.samples if result.runs is None else result.samples[0]
    x = np.linspace(*config.pde.bounds, 800)[:, None]
    shown = np.unique(np.linspace(0, result.times.size - 1, min(4, result.times.size)).round())
    fig, axes = plt.subplots(1, shown.size, figsize=(3.6 * shown.size, 3.2), sharey=True)
    for ax, k in zip(np.atleast_1d(axes), shown.astype(int), strict=True):
        ax.fill_between(x[:, 0], target.pdf(x), color="0.85", label=r"$\rho_d$")
        ax.hist(samples[k, :, 0], bins=60, density=True, alpha=0.6, label="samples")
        ax.plot(x[:, 0], trajectory.densities[k].pdf(x), "k", label="u(t) (JSD flow)")
        ax.set_title(f"t = {result.times[k]:g}")
        ax.set_xlim(*config.pde.bounds)
    np.atleast_1d(axes)[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "densities.png")
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(distances["times"], distances["w1"], "o-", label=result.algorithm)
    if result.runs:
        ax.fill_between(
            distances["times"],
            distances["w1"] - 2 * distances["w1_stderr"],
            distances["w1"] + 2 * distances["w1_stderr"],
            alpha=0.3,
        )
    ax.set_xlabel("t = kε")
    ax.set_ylabel(r"$W_1$(samples, u(t))")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "distance.png")
    plt.close(fig)
    return np.asarray(distances["w1"])
