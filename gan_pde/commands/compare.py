"""``gan-pde compare``: network training beside the PDE limits (needs torch).

Runs the experiments of :mod:`gan_pde.compare.experiments` that the config lists and
writes ``compare.json`` (all measured numbers) and figures: ``jsd_distance.png`` (W₁ of
each run to the JSD flow over time), ``jsd_densities.png`` (samples over u(t)),
``jsd_study.png`` (W₁ vs particle count, discriminator steps, ε), ``lsgan_decay.png``
(‖D(t)‖² per setting), ``lsgan_rates.png`` (measured vs predicted η) and ``wgan.png`` (W₂
of the neuron laws to the mean-field PDE over time per N, and the mass at the wall of Q).
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

from gan_pde.config import option, parse_config, read_config_text
from gan_pde.errors import ConfigError

NAME = "compare"
HELP = "networks vs PDE limits (JSD flow, lGAN rates): figures and compare.json"

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
    steps: int = option("int", 30)
    n_particles: int = option("int", 500)
    discriminator_steps: int = option("int", 5)
    lr_discriminator: float = option("float", 0.01)
    batch_size: int = option("int", 256)
    n_data: int = option("int", 10000)
    hidden: list = option("list[int]", factory=lambda: [32, 32])
    generator_steps: int = option("int", 5)
    particle_counts: list = option("list[int]", factory=lambda: [125, 500, 2000])
    discriminator_step_counts: list = option("list[int]", factory=lambda: [1, 5, 20])
    epsilons: list = option("list[float]", factory=lambda: [0.2, 0.1, 0.05])


@dataclass(frozen=True)
class LSGANExperimentConfig:
    """``[lsgan]``: options of :func:`gan_pde.compare.experiments.lsgan_comparison`."""

    separations: list = option("list[float]", factory=lambda: [3.0, 4.0])
    n_data: int = option("int", 200)
    features: int = option("int", 12)
    integrator: str = option("str", "heun", choices=("sgd", "adam", "heun", "rk4"))
    tau: float = option("float", 0.02)
    t_final: float = option("float", 30.0)


@dataclass(frozen=True)
class WGANExperimentConfig:
    """``[wgan]``: options of :func:`gan_pde.compare.experiments.wgan_comparison`
    (the default mean-field model)."""

    widths: list = option("list[int]", factory=lambda: [50, 200, 800])
    h: float = option("float", 1.0)
    t_final: float = option("float", 8.0)
    saves: int = option("int", 5)
    batch_size: int = option("int", 1)


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
    parser.add_argument("--out", default="compare_output", help="output folder")
    parser.add_argument(
        "--device", choices=("cpu", "cuda"), default=None, help="default: cuda if available"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from gan_pde.compare.experiments import jsd_comparison, lsgan_comparison, wgan_comparison

    config = load_config(args.config)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    device = getattr(args, "device", None)
    report: dict[str, Any] = {"config": config.to_dict()}
    figures: list[str] = []
    lines: list[str] = []
    jobs = len(config.lsgan.separations) if "lsgan" in config.run.experiments else 0
    jobs += sum(name in config.run.experiments for name in ("jsd", "wgan"))
    disable = bool(getattr(args, "quiet", False)) or not sys.stderr.isatty()
    with tqdm(total=jobs, unit="experiment", disable=disable, file=sys.stderr) as bar:
        if "jsd" in config.run.experiments:
            options = {k: v for k, v in dataclasses.asdict(config.jsd).items()}
            result = jsd_comparison(
                **options,
                seed=config.run.seed,
                device=device,
                progress=lambda message: bar.set_description(message, refresh=True),
            )
            bar.update(1)
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
                bar.set_description(f"LSGAN, separation {separation:g}", refresh=True)
                lsgan = lsgan_comparison(
                    separation,
                    n_data=config.lsgan.n_data,
                    features=config.lsgan.features,
                    integrator=config.lsgan.integrator,
                    tau=config.lsgan.tau,
                    t_final=config.lsgan.t_final,
                    seed=config.run.seed,
                    device=device,
                )
                bar.update(1)
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
            bar.set_description("WGAN vs mean field", refresh=True)
            wgan = wgan_comparison(
                widths=tuple(config.wgan.widths),
                h=config.wgan.h,
                t_final=config.wgan.t_final,
                saves=config.wgan.saves,
                batch_size=config.wgan.batch_size,
                seed=config.run.seed,
                device=device,
            )
            bar.update(1)
            report["wgan"] = wgan.summary()
            figures += _plot_wgan(wgan, out)
            lines.append(
                "WGAN: W2 slopes vs N "
                + ", ".join(f"{k} {v:.2f}" for k, v in wgan.slopes.items())
                + f"; wall mass at t = {wgan.times[-1]:g}: PDE {wgan.wall_pde[-1]:.3f}, "
                + f"networks {np.round(wgan.wall_networks[:, -1], 3).tolist()}"
            )
    (out / "compare.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    source = args.config or "bundled compare.toml"
    print(
        f"compare ({source}): "
        + "; ".join(lines)
        + f"; wrote {out}/compare.json, "
        + ", ".join(figures)
    )
    return 0


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _plot_jsd(result: Any, out: Path) -> list[str]:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, values in result.w1.items():
        ax.plot(result.times, values, "o-", label=name)
    ax.set_xlabel("t = kε")
    ax.set_ylabel(r"$W_1$(samples, u(t))")
    ax.set_title("networks vs JSD flow (paper 002)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "jsd_distance.png")
    plt.close(fig)
    trajectory = result.trajectory
    lo, hi = (
        float(trajectory.densities[0].mesh.p.min()),
        float(trajectory.densities[0].mesh.p.max()),
    )
    x = np.linspace(lo, hi, 800)[:, None]
    shown = np.unique(np.linspace(0, result.times.size - 1, min(4, result.times.size)).round())
    fig, axes = plt.subplots(1, shown.size, figsize=(3.6 * shown.size, 3.2), sharey=True)
    for ax, k in zip(np.atleast_1d(axes), shown.astype(int), strict=True):
        for name in ("particles", "algorithm2"):
            ax.hist(
                result.runs[name].samples[k, :, 0], bins=50, density=True, alpha=0.45, label=name
            )
        ax.plot(x[:, 0], trajectory.densities[k].pdf(x), "k", label="u(t)")
        ax.set_title(f"t = {result.times[k]:g}")
        ax.set_xlim(-6.0, 6.0)
    np.atleast_1d(axes)[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "jsd_densities.png")
    plt.close(fig)
    fig, axes = plt.subplots(1, len(result.study), figsize=(4 * len(result.study), 3.4))
    for ax, (name, entry) in zip(np.atleast_1d(axes), result.study.items(), strict=True):
        ax.loglog(entry["values"], entry["mean_w1"], "o-", label="mean over t")
        ax.loglog(entry["values"], entry["final_w1"], "s--", label="final")
        ax.set_xlabel(name)
        ax.set_ylabel(r"$W_1$")
    np.atleast_1d(axes)[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "jsd_study.png")
    plt.close(fig)
    return ["jsd_distance.png", "jsd_densities.png", "jsd_study.png"]


def _plot_lsgan(results: list, out: Path) -> list[str]:
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(results), figsize=(5.5 * len(results), 3.8), squeeze=False)
    for ax, result in zip(axes[0], results, strict=True):
        for name, values in zip(result.names, result.d_norm2, strict=True):
            ax.semilogy(result.times, values, label=name)
        ax.set_title(f"M = {result.separation:g}, " + r"$\xi_{\min}$" + f" = {result.xi_min:.3g}")
        ax.set_xlabel("t")
        ax.set_ylabel(r"$\|D(t)\|^2$")
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "lsgan_decay.png")
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(5, 4.5))
    for result in results:
        ax.plot(
            result.predicted_rates, result.measured_rates, "o", label=f"M = {result.separation:g}"
        )
        for name, p, m in zip(
            result.names, result.predicted_rates, result.measured_rates, strict=True
        ):
            ax.annotate(name, (p, m), fontsize=6)
    low = min(min(r.predicted_rates.min(), r.measured_rates.min()) for r in results)
    ax.plot([low, 0], [low, 0], "k:", lw=0.8)
    ax.set_xlabel(r"predicted $\eta$ (FEM $\xi_{\min}$)")
    ax.set_ylabel(r"measured $\eta$ (networks)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "lsgan_rates.png")
    plt.close(fig)
    return ["lsgan_decay.png", "lsgan_rates.png"]


def _plot_wgan(result: Any, out: Path) -> list[str]:
    plt = _pyplot()
    names = list(result.w2)
    fig, axes = plt.subplots(1, len(names) + 1, figsize=(4.2 * (len(names) + 1), 3.4))
    for ax, name in zip(axes[:-1], names, strict=True):
        for n, values in zip(result.widths, result.w2[name], strict=True):
            ax.plot(result.times, values, "o-", label=f"N = {n}")
        ax.set_xlabel("t = nh/N")
        ax.set_ylabel(f"$W_2$ ({name})")
    axes[0].legend(fontsize=8)
    ax = axes[-1]
    ax.plot(result.times, result.wall_pde, "k-", lw=2, label="PDE")
    for n, values in zip(result.widths, result.wall_networks, strict=True):
        ax.plot(result.times, values, "o--", label=f"N = {n}")
    ax.set_xlabel("t")
    ax.set_ylabel("critic mass at the wall of Q")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "wgan.png")
    plt.close(fig)
    return ["wgan.png"]
