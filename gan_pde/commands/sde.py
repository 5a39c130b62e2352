"""``gan-pde sde``: SDE approximations of GAN training (Cao & Guo, paper 000) from a config.

Writes ``weak_orders.png`` (exact weak errors of ALT/SML against ALT-SDE/SML-SDE),
``invariant.png`` (FEM stationary Fokker–Planck density, exact Gaussian moments and, with
torch, a Monte-Carlo long run), ``schedule.png`` (the FDR2 learning-rate schedule of
Remark 4.3 on a small GAN, with torch) and ``results.json``; prints a summary.
``--checkpoint DIR`` checkpoints the long runs (the Monte-Carlo long run and the two
schedule trainings) in DIR every ``--checkpoint-every`` seconds and at their ends;
``--resume`` continues an interrupted command from them to the results of an
uninterrupted one (finished runs are read back, not run again).
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
from gan_pde.config import option, parse_config, read_config_text
from gan_pde.errors import ConfigError, InvalidInputError

NAME = "sde"
HELP = "SDE approximations of GAN training (paper 000): weak orders, invariant measure, FDRs"


def _positive(section: str, **values: float) -> None:
    for key, value in values.items():
        if not (np.isfinite(value) and value > 0):
            msg = f"key {key!r} in [{section}] must be positive and finite; got {value!r}"
            raise ConfigError(msg)


@dataclass(frozen=True)
class DataConfig:
    """``[data]``: real samples N(real_mean, real_std²), latent samples N(0, 1)."""

    n_real: int = option("int", 8)
    n_latent: int = option("int", 8)
    real_mean: float = option("float", 1.0)
    real_std: float = option("float", 0.5)
    seed: int = option("int", 7)

    def check(self) -> None:
        if self.n_real < 1 or self.n_latent < 1:
            msg = f"[data] n_real and n_latent must be ≥ 1; got {self.n_real}, {self.n_latent}"
            raise ConfigError(msg)
        _positive("data", real_std=self.real_std)

    def samples(self) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng(self.seed)
        x = rng.normal(self.real_mean, self.real_std, self.n_real)
        return x, rng.normal(0.0, 1.0, self.n_latent)


@dataclass(frozen=True)
class WeakOrderConfig:
    """``[weak_order]``: the exact weak-order study on the location-scale WGAN."""

    weight_decay: float = option("float", 0.5)
    batch_size: int = option("int", 2)
    t_final: float = option("float", 1.0)
    etas: list = option("list[float]", factory=lambda: [0.2, 0.1, 0.05, 0.025, 0.0125])
    gamma0: list = option("list[float]", factory=lambda: [0.4, -0.1, -0.6])

    def check(self) -> None:
        _positive("weak_order", t_final=self.t_final)
        if len(self.etas) < 2 or not all(np.isfinite(e) and e > 0 for e in self.etas):
            msg = f"key 'etas' in [weak_order] needs ≥ 2 positive rates; got {self.etas}"
            raise ConfigError(msg)
        if len(self.gamma0) != 3:
            msg = f"key 'gamma0' in [weak_order] needs 3 entries (θ1, θ2, ω); got {self.gamma0}"
            raise ConfigError(msg)


@dataclass(frozen=True)
class InvariantConfig:
    """``[invariant]``: the invariant measure of the location GAN's ALT-SDE."""

    curvature: float = option("float", 0.5)
    weight_decay: float = option("float", 1.0)
    eta: float = option("float", 0.5)
    batch_size: int = option("int", 1)
    cells: int = option("int", 40)
    t_final: float = option("float", 8.0)
    n_paths: int = option("int", 2000)
    substeps: int = option("int", 4)

    def check(self) -> None:
        _positive("invariant", eta=self.eta, t_final=self.t_final)
        for key, low in (("cells", 2), ("n_paths", 0), ("substeps", 1)):
            if getattr(self, key) < low:
                msg = f"key {key!r} in [invariant] must be ≥ {low}; got {getattr(self, key)}"
                raise ConfigError(msg)


@dataclass(frozen=True)
class ScheduleConfig:
    """``[schedule]``: (SML) on the tanh GAN with the FDR2 schedule of Remark 4.3."""

    weight_decay: float = option("float", 0.1)
    eta: float = option("float", 0.1)
    batch_size: int = option("int", 8)
    steps: int = option("int", 1500)
    epsilon: float = option("float", 0.3)
    delta: float = option("float", 0.5)
    window: int = option("int", 50)

    def check(self) -> None:
        _positive("schedule", eta=self.eta)
        if self.steps < 0:
            msg = f"key 'steps' in [schedule] must be ≥ 0; got {self.steps}"
            raise ConfigError(msg)


@dataclass(frozen=True)
class SDEConfig:
    """The configuration of ``gan-pde sde``."""

    data: DataConfig
    weak_order: WeakOrderConfig
    invariant: InvariantConfig
    schedule: ScheduleConfig

    def to_dict(self) -> dict[str, Any]:
        """Plain dictionary (JSON/TOML-ready) of the configuration."""
        return dataclasses.asdict(self)


def load_config(path: str | Path | None = None) -> SDEConfig:
    """Read and validate a ``gan-pde sde`` config (the bundled default if None)."""
    text, name = read_config_text(path, "sde")
    sections = {
        "data": DataConfig,
        "weak_order": WeakOrderConfig,
        "invariant": InvariantConfig,
        "schedule": ScheduleConfig,
    }
    config = SDEConfig(**parse_config(text, name, sections))
    for section in (config.data, config.weak_order, config.invariant, config.schedule):
        section.check()
    return config


#: What ``--quick`` and ``--full`` set (over the config's values).
SIZES = {
    "quick": {
        "weak_order": {"etas": [0.2, 0.1, 0.05]},
        "invariant": {"cells": 24, "t_final": 4.0, "n_paths": 200},
        "schedule": {"steps": 300},
    },
    "full": {
        "weak_order": {"etas": [0.2, 0.1, 0.05, 0.025, 0.0125, 0.00625]},
        "invariant": {"cells": 80, "t_final": 16.0, "n_paths": 20000},
        "schedule": {"steps": 6000},
    },
}

#: Checkpoint file of each long run, in the folder of ``--checkpoint``.
CHECKPOINTS = {
    "long_run": "long_run.ckpt.npz",
    "schedule": "schedule.ckpt.npz",
    "constant": "constant.ckpt.npz",
}

#: The parts of the command, for progress and for the report of a Ctrl-C.
_STAGES = (
    "the weak-order study",
    "the invariant measure by FEM",
    "the Monte-Carlo long run",
    "the FDR2 schedule",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", nargs="?", help="TOML config (default: bundled example)")
    add_common_options(parser, out="sde_output")
    add_size_options(
        parser,
        quick=f"small sizes, seconds: {describe_sizes(SIZES['quick'])}",
        full=f"publication sizes, minutes: {describe_sizes(SIZES['full'])}",
    )
    parser.add_argument(
        "--checkpoint",
        metavar="DIR",
        help="checkpoint the long runs in DIR (created if missing: "
        + ", ".join(CHECKPOINTS.values())
        + ") every --checkpoint-every seconds and at their ends, for --resume",
    )
    parser.add_argument(
        "--checkpoint-every",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="seconds of wall time between checkpoints (default 30; 0: every step)",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue from the checkpoints in --checkpoint DIR (same config and size) to the "
        "uninterrupted results; runs without a checkpoint start from t = 0",
    )


def _has_torch() -> bool:
    import importlib.util

    return importlib.util.find_spec("torch") is not None


def run(args: argparse.Namespace) -> int:
    from gan_pde.errors import InvalidInputError
    from gan_pde.sde.quadratic import location_scale_wgan
    from gan_pde.sde.studies import exact_weak_orders

    args = with_defaults(args, add_arguments)
    config = load_config(args.config)
    level = size_level(args)
    if level != "default":
        config = apply_sizes(config, SIZES[level])
    out = output_folder(args.out)
    x, z = config.data.samples()
    wo = config.weak_order
    n_pairs = x.size * z.size
    if not 1 <= wo.batch_size <= n_pairs:
        msg = f"key 'batch_size' in [weak_order] must lie in [1, {n_pairs}]; got {wo.batch_size}"
        raise ConfigError(msg)
    _invariant_game(config, x, z)  # its config errors before any work
    checkpoints = _checkpoints(args)
    game = location_scale_wgan(x, z, weight_decay=wo.weight_decay)
    with Progress(0, unit="part", stages=_STAGES, quiet=args.quiet) as progress:
        progress.stage(_STAGES[0])
        try:
            study = exact_weak_orders(
                game, wo.gamma0, wo.etas, batch_size=wo.batch_size, t_final=wo.t_final
            )
        except InvalidInputError as err:
            raise ConfigError(f"[weak_order]: {err}") from err
        _plot_weak_orders(study, out / "weak_orders.png")
        results: dict[str, Any] = {"size": level, "config": config.to_dict(), "weak_order": study}
        progress.stage(_STAGES[1])
        results["invariant"] = _invariant(
            config, x, z, out / "invariant.png", progress, checkpoints
        )
        written = ["weak_orders.png", "invariant.png"]
        if config.schedule.steps > 0 and _has_torch():
            progress.stage(_STAGES[3])
            results["schedule"] = _schedule(config, x, z, out / "schedule.png", checkpoints)
            written.append("schedule.png")
    write_results(out, results)
    if args.json:
        print_json(results)
        return 0
    slopes = ", ".join(f"{k} {v:.2f}" for k, v in study["slopes"].items())
    inv = results["invariant"]
    fdr = inv.get("fdr", {})
    fdr_text = (
        f"ALT-SDE long run FDR1 gap {fdr['fdr1_gap'][0]:+.3g} ± {fdr['fdr1_gap'][1]:.2g} (95 %)"
        if fdr
        else ""
    )
    print(
        f"sde ({args.config or 'bundled sde.toml'}, {level} size): weak-order slopes {slopes}; "
        f"FEM invariant covariance error {inv['fem_covariance_error']:.2e}"
        + (f"; {fdr_text}" if fdr_text else "")
        + (
            f"; schedule lowered η to {results['schedule']['final_lr']:.3g}"
            if "schedule" in results
            else ""
        )
        + f"; wrote {out}/{', '.join(written)}, results.json"
    )
    return 0


def _checkpoints(args: argparse.Namespace) -> dict[str, Any]:
    """The engine's checkpoint options of each long run (``{}`` per run without
    ``--checkpoint``), checked before the work; sets the note for a Ctrl-C."""
    every = as_non_negative(args.checkpoint_every, "--checkpoint-every")
    if args.checkpoint is None:
        if args.resume:
            msg = "--resume needs --checkpoint DIR (the folder that the interrupted run wrote)"
            raise InvalidInputError(msg)
        return {name: {} for name in CHECKPOINTS}
    folder = output_folder(args.checkpoint, option="--checkpoint")
    if args.resume and not any((folder / name).exists() for name in CHECKPOINTS.values()):
        say(f"gan-pde sde: no checkpoint in {folder}: every run starts from t = 0")

    def note() -> str:
        kept = [name for name in CHECKPOINTS.values() if (folder / name).exists()]
        if kept:
            return f"{folder} holds {', '.join(kept)}; continue with: {resume_command()}"
        return (
            f"no checkpoint was written yet (one every {every:g} s of wall time, "
            "--checkpoint-every): running again starts from t = 0"
        )

    set_interrupt_note(note)
    return {
        name: {
            "checkpoint": folder / file,
            "checkpoint_interval": float(every),
            "resume": bool(args.resume),
        }
        for name, file in CHECKPOINTS.items()
    }


def _invariant_game(config: SDEConfig, x: np.ndarray, z: np.ndarray) -> Any:
    """The location GAN of ``[invariant]``; ConfigError for a bad batch or no invariant law."""
    from gan_pde.sde.quadratic import location_gan

    inv = config.invariant
    if not 1 <= inv.batch_size <= x.size * z.size:
        msg = (
            f"key 'batch_size' in [invariant] must lie in [1, {x.size * z.size}]; "
            f"got {inv.batch_size}"
        )
        raise ConfigError(msg)
    game = location_gan(x, z, curvature=inv.curvature, weight_decay=inv.weight_decay)
    if not game.is_dissipative("alt", eta=inv.eta):
        msg = (
            f"[invariant]: weight_decay = {inv.weight_decay} ≤ curvature = {inv.curvature}: the "
            "ALT-SDE is not dissipative and has no invariant measure (Theorem 4.1)"
        )
        raise ConfigError(msg)
    return game


def _invariant(
    config: SDEConfig,
    x: np.ndarray,
    z: np.ndarray,
    path: Path,
    progress: Progress,
    checkpoints: dict[str, Any],
) -> dict[str, Any]:
    """The invariant-measure study (its figure drawn into ``path``; ``checkpoints``: the
    options of :func:`_checkpoints`)."""
    from gan_pde.mesh import rectangle
    from gan_pde.sde.fokker_planck import stationary_fokker_planck
    from gan_pde.sde.quadratic import moments_of

    inv = config.invariant
    game = _invariant_game(config, x, z)
    mean, cov = moments_of(game.stationary_moments("alt", eta=inv.eta, batch_size=inv.batch_size))
    b, a, div = game.fokker_planck_coefficients("alt", eta=inv.eta, batch_size=inv.batch_size)
    half = 6 * np.sqrt(np.diag(cov))
    mesh = rectangle(
        (mean[0] - half[0], mean[0] + half[0]),
        (mean[1] - half[1], mean[1] + half[1]),
        n=(inv.cells, inv.cells),
    )
    fem = stationary_fokker_planck(b, a, mesh, divergence=div)
    result: dict[str, Any] = {
        "exact_mean": mean,
        "exact_covariance": cov,
        "fem_mean": fem.mean,
        "fem_covariance": fem.covariance,
        "fem_covariance_error": float(np.abs(fem.covariance - cov).max()),
    }
    samples = None
    if inv.n_paths > 0 and _has_torch():
        import torch

        from gan_pde.sde.coefficients import GANSDE
        from gan_pde.sde.longrun import long_run

        kappa, lam = inv.curvature, inv.weight_decay

        def loss(theta: Any, omega: Any, xj: Any, zi: Any) -> Any:
            g = theta[0] + zi
            critic = omega[0] * xj + 0.5 * kappa * xj**2 - omega[0] * g - 0.5 * kappa * g**2
            return critic + 0.5 * lam * (theta[0] ** 2 - omega[0] ** 2)

        sde = GANSDE(loss, torch.as_tensor(x), torch.as_tensor(z), d_theta=1, d_omega=1)
        progress.stage(_STAGES[2])
        run = long_run(
            sde,
            mean,
            eta=inv.eta,
            batch_size=inv.batch_size,
            t_final=inv.t_final,
            n_paths=inv.n_paths,
            substeps=inv.substeps,
            **checkpoints["long_run"],
        )
        _announce("the long run", run.info)
        samples = run.samples
        result.update(
            {
                "mc_mean": run.mean,
                "mc_covariance": run.covariance,
                "mc_covariance_stderr": run.covariance_stderr,
                "fdr": run.fdr,
                "resumed_from_step": run.info["resumed_from_step"],
            }
        )
    _plot_invariant(fem, mean, cov, samples, path)
    return result


def _announce(what: str, info: dict[str, Any]) -> None:
    """Say that a run continued from its checkpoint (nothing for a fresh run)."""
    if info["resumed_from_step"]:
        say(
            f"gan-pde sde: {what} resumed from step {info['resumed_from_step']} of "
            f"{info['n_steps']} (its checkpoint)"
        )


def _schedule(
    config: SDEConfig, x: np.ndarray, z: np.ndarray, path: Path, checkpoints: dict[str, Any]
) -> dict[str, Any]:
    import functools

    import torch

    from gan_pde.sde.coefficients import GANSDE, tanh_gan_loss
    from gan_pde.sde.scheduler import train_sml

    sc = config.schedule
    sde = GANSDE(
        functools.partial(tanh_gan_loss, weight_decay=sc.weight_decay),
        torch.as_tensor(x),
        torch.as_tensor(z),
        d_theta=2,
        d_omega=2,
    )
    gamma0 = [0.0, 0.5, 0.5, 0.0]
    options = {"epsilon": sc.epsilon, "delta": sc.delta, "window": sc.window}
    scheduled = train_sml(
        sde,
        gamma0,
        eta=sc.eta,
        batch_size=sc.batch_size,
        steps=sc.steps,
        schedule=options,
        **checkpoints["schedule"],
    )
    _announce("the scheduled training", scheduled["info"])
    constant = train_sml(
        sde,
        gamma0,
        eta=sc.eta,
        batch_size=sc.batch_size,
        steps=sc.steps,
        **checkpoints["constant"],
    )
    _announce("the constant-rate training", constant["info"])
    _plot_schedule(scheduled, constant, path)
    tail = max(1, sc.steps // 5)
    return {
        "final_lr": float(scheduled["lr"][-1]),
        "decreases": scheduled["decreases"],
        "grad_norm_tail_scheduled": float(scheduled["grad_norm"][-tail:].mean()),
        "grad_norm_tail_constant": float(constant["grad_norm"][-tail:].mean()),
        "resumed_from_step": {
            "scheduled": scheduled["info"]["resumed_from_step"],
            "constant": constant["info"]["resumed_from_step"],
        },
    }


def _plot_weak_orders(study: dict[str, Any], path: Path) -> None:
    """Weak errors against η (:func:`gan_pde.plotting.plot_weak_orders`)."""
    from gan_pde.plotting import figure_file, plot_weak_orders

    with figure_file(path, figsize=(7.5, 4.0)) as fig:
        plot_weak_orders(study, ax=fig.subplots())


def _plot_invariant(fem: Any, mean: np.ndarray, cov: np.ndarray, samples: Any, path: Path) -> None:
    """FEM invariant density, exact ellipse, long-run samples
    (:func:`gan_pde.plotting.plot_invariant_density`)."""
    from gan_pde.plotting import figure_file, plot_invariant_density

    with figure_file(path, figsize=(6.5, 5.6)) as fig:
        plot_invariant_density(fem, mean, cov, samples, ax=fig.subplots())


def _plot_schedule(scheduled: dict[str, Any], constant: dict[str, Any], path: Path) -> None:
    """η and ‖∇Φ‖ against the iteration (:func:`gan_pde.plotting.plot_lr_schedule`)."""
    from gan_pde.plotting import figure_file, plot_lr_schedule

    with figure_file(path, figsize=(10.0, 4.0)) as fig:
        plot_lr_schedule(scheduled, constant, fig=fig)
        fig.suptitle("Remark 4.3: FDR2 learning-rate schedule, (SML) on a tanh GAN")
